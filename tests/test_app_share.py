"""AppTest: links, presentation mode and exports in the running app."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from attention_core import PRESETS, LabConfig, run_lab
from attention_core.serialize import config_to_query
from tests.app_driver import edit_cell
from tests.test_app import fig, plain, z_of

ROOT = Path(__file__).resolve().parent.parent


def open_link(params: dict[str, str]) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def weights(at: AppTest) -> np.ndarray:
    return z_of(fig(at, "weights"))


@pytest.mark.parametrize("key", sorted(PRESETS))
def test_link_reproduces_each_preset_with_edits(key: str) -> None:
    cfg = PRESETS[key].config.with_edits({("W_q", 0, 0): 0.1 + 0.2})
    at = open_link(config_to_query(cfg))
    expected = run_lab(cfg).attention.heads[0]
    np.testing.assert_array_equal(weights(at), expected.weights.astype(np.float64))  # to the last digit
    assert not at.warning


def test_address_bar_follows_the_state_and_reopens_identically() -> None:
    at = open_link({})
    at.slider(key="seed_slider").set_value(11).run()
    at.toggle(key="causal").set_value(True).run()
    edit_cell(at, "W_k", 2, 5, -0.125)
    params = {
        k: at.query_params[k][0] if isinstance(at.query_params[k], list) else at.query_params[k]
        for k in at.query_params
    }
    assert params["seed"] == "11" and params["causal"] == "1" and params["e"] == "W_k:2:5:-0.125"
    fresh = open_link(params)
    np.testing.assert_array_equal(weights(fresh), weights(at))
    cfg = dataclasses.replace(LabConfig(), seed=11, causal=True).with_edits({("W_k", 2, 5): -0.125})
    np.testing.assert_allclose(weights(fresh), run_lab(cfg).attention.heads[0].weights, rtol=1e-6)


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"dm": "-4", "seed": "5"}, "'dm' (d_model): must be between 1 and 768"),
        ({"dm": "0", "seed": "5"}, "'dm' (d_model): must be between 1 and 768"),
        ({"dk": "100000", "seed": "5"}, "'dk' (d_k): must be between 1 and 768"),
        ({"dv": "2.5", "seed": "5"}, "'dv' (d_v)"),
        ({"h": "7", "seed": "5"}, "7 heads must divide"),
        ({"e": "W_q:0:0:zz", "seed": "5"}, "ignored 1 malformed edit(s)"),
        (
            {"<img src=x onerror=alert(1)>": "1", "seed": "5"},
            "ignored unknown parameter '<img src=x onerror=alert(1)>'",
        ),
        ({"s": "", "seed": "5"}, "has no tokens"),
        ({"junk": "A" * 100_000}, "ignored the whole link"),
    ],
)
def test_bad_links_give_a_message_and_a_working_app(params: dict, needle: str) -> None:
    at = open_link(params)
    shown = plain(
        " ".join(
            [w.value for w in at.warning]
            + [c.value for c in at.code]
            + [e.value for e in at.error]
            + [w.value for w in at.sidebar.warning]
        )
    )
    assert needle in shown, shown
    assert len(at.get("plotly_chart")) >= 2 or "has no tokens" in needle or "heads must divide" in needle


def test_presentation_mode_steps_through_the_stages() -> None:
    at = open_link({"present": "1"})
    assert at.main.header[-1].value == "Tokens"
    seen = []
    for _ in range(7):
        seen.append(at.main.header[-1].value)
        nxt = next(b for b in at.button if b.label == "Next")
        if nxt.disabled:
            break
        nxt.click().run()
        assert not at.exception
    assert seen == ["Tokens", "Embeddings", "Queries, keys, values", "Scores", "Scaling", "Weights", "Output"]
    np.testing.assert_allclose(
        weights(open_link({"present": "1", "step": "5"})),
        run_lab(LabConfig()).attention.heads[0].weights,
        rtol=1e-6,
    )
    assert at.query_params["step"] in ("6", ["6"])
    next(b for b in at.button if b.label == "Exit").click().run()
    assert at.slider(key="seed_slider").value == 123  # hidden settings kept their values
    assert len(at.get("plotly_chart")) >= 2  # the weights and the chosen step: the Playground is back


def open_exports(at: AppTest) -> AppTest:
    """Open the "Share and export" tab (its files are built only there)."""
    at.session_state["step_tab"] = "Share and export"
    return at.run()


def test_export_panel_shows_link_and_latex() -> None:
    at = open_exports(open_link({"seed": "3"}))
    codes = [c.value for c in at.code]
    assert any("seed=3" in c for c in codes)
    assert any(c.startswith("\\begin{bmatrix}") for c in codes)
    at.selectbox(key="export_matrix").set_value("weights").run()
    w = run_lab(dataclasses.replace(LabConfig(), seed=3)).attention.heads[0].weights
    latex = next(c.value for c in at.code if c.value.startswith("\\begin{bmatrix}"))
    assert latex.count("\\\\") == w.shape[0] - 1 and f"{w[0, 0]:.4g}" in latex


def test_large_matrix_latex_is_a_download_not_a_page_of_text() -> None:
    sentence = " ".join(f"w{i}" for i in range(30))  # weights 30 x 30 = 900 cells > MAX_LATEX_SHOWN
    at = open_exports(open_link({"s": sentence}))
    at.selectbox(key="export_matrix").set_value("weights").run()
    assert not at.exception
    assert not any(c.value.startswith("\\begin{bmatrix}") for c in at.code)
    labels = [b.proto.label for b in at.get("download_button")]
    assert "weights.tex" in labels and "weights.csv" in labels

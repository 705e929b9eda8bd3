"""AppTest: every page runs, and each control changes the drawn figures as the core predicts.

The figures are read back from the chart elements' Plotly JSON (what the browser
receives), and compared with a trace computed by attention_core directly.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from attention_core import PRESETS, LabConfig, run_lab
from tests.app_driver import edit_cell, show_step
from tests.plotly_json import decode, fig, figures

ROOT = Path(__file__).resolve().parent.parent
PAGES = [
    "pages/playground.py",
    "pages/r_vignette.py",
    "pages/numpy_notebook.py",
    "pages/pytorch_notebook.py",
    "pages/multihead_cross.py",
]


def z_of(spec: dict) -> np.ndarray:
    return decode(spec["data"][0]["z"])


def ticks(spec: dict, axis: str) -> list[str]:
    return list(spec["layout"][f"{axis}axis"]["ticktext"])


@pytest.fixture
def app() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def plain(text: str) -> str:
    """An alert body as the person reads it (ui.text.literal backslash-escapes it for Markdown)."""
    return text.replace("\\", "")


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_without_error(app: AppTest, page: str) -> None:
    app.switch_page(page).run()
    assert_clean(app)
    # The Playground draws the weights, one chosen step and the open tab; a walkthrough draws every step.
    assert len(app.get("plotly_chart")) >= (2 if page == "pages/playground.py" else 5)


def test_default_playground_matches_core(app: AppTest) -> None:
    trace = run_lab(LabConfig())
    w = fig(app, "weights")
    np.testing.assert_allclose(z_of(w), trace.attention.heads[0].weights, rtol=1e-6)
    assert ticks(w, "y") == list(trace.tokens_q.tokens)
    np.testing.assert_allclose(z_of(fig(app, "scores")), trace.attention.heads[0].scores, rtol=1e-6)


def test_sentence_changes_tokens_and_weights(app: AppTest) -> None:
    app.text_input(key="sentence").set_value("the cat sat on the mat").run()
    assert_clean(app)
    trace = run_lab(dataclasses.replace(LabConfig(), sentence="the cat sat on the mat"))
    w = fig(app, "weights")
    assert ticks(w, "x") == ["the", "cat", "sat", "on", "the", "mat"]  # repeated words keep their columns
    np.testing.assert_allclose(z_of(w), trace.attention.heads[0].weights, rtol=1e-6)


def test_seed_slider_regenerates_matrices(app: AppTest) -> None:
    before = z_of(fig(show_step(app, "Q"), "Q = X W_q"))
    app.slider(key="seed_slider").set_value(7).run()
    assert_clean(app)
    trace = run_lab(dataclasses.replace(LabConfig(), seed=7))
    after = z_of(fig(app, "Q = X W_q"))
    assert not np.allclose(before, after)
    np.testing.assert_allclose(after, trace.attention.heads[0].Q, rtol=1e-6)


def test_exact_seed_field_and_bad_seed_message(app: AppTest) -> None:
    show_step(app, "Q").text_input(key="seed_exact").set_value("4000000000").run()
    assert_clean(app)
    trace = run_lab(dataclasses.replace(LabConfig(), seed=4_000_000_000))
    np.testing.assert_allclose(z_of(fig(app, "Q = X W_q")), trace.attention.heads[0].Q, rtol=1e-6)
    app.text_input(key="seed_exact").set_value("twelve").run()
    assert not app.exception
    assert any("not a whole number" in plain(e.value) for e in app.error)
    np.testing.assert_allclose(z_of(fig(app, "Q = X W_q")), trace.attention.heads[0].Q, rtol=1e-6)


def test_scaling_choices(app: AppTest) -> None:
    scores = run_lab(LabConfig()).attention.heads[0].scores
    show_step(app, "scaled_scores")
    for mode, factor in (("none", 1.0), ("sqrt_n", 1 / math.sqrt(6)), ("sqrt_dk", 1 / math.sqrt(24))):
        app.radio(key="scale_mode").set_value(mode).run()
        assert_clean(app)
        np.testing.assert_allclose(z_of(fig(app, "scaled_scores")), scores * factor, rtol=1e-6)
        assert any(f"{factor:.6g}" in t.value for t in app.text), f"scale {factor} not printed"
    app.slider(key="scale_custom").set_value(2.5).run()
    assert app.radio(key="scale_mode").value == "custom"
    np.testing.assert_allclose(z_of(fig(app, "scaled_scores")), scores * 2.5, rtol=1e-6)


def test_causal_mask_zeroes_upper_triangle(app: AppTest) -> None:
    app.toggle(key="causal").set_value(True).run()
    assert_clean(app)
    w = z_of(fig(app, "weights"))
    assert np.all(w[np.triu_indices(6, 1)] == 0)
    assert "masked_scores" in " ".join(figures(show_step(app, "masked_scores")))


def test_heads_selector(app: AppTest) -> None:
    app.selectbox(key="n_heads").set_value(4).run()
    assert_clean(app)
    trace = run_lab(dataclasses.replace(LabConfig(), n_heads=4))
    np.testing.assert_allclose(z_of(fig(app, "weights")), trace.attention.heads[0].weights, rtol=1e-6)
    app.radio(key="head_shown").set_value(2).run()
    np.testing.assert_allclose(z_of(fig(app, "weights")), trace.attention.heads[2].weights, rtol=1e-6)
    np.testing.assert_allclose(
        z_of(fig(show_step(app, "final_output"), "final_output")), trace.attention.output, rtol=1e-6
    )


def test_matrix_edit_changes_weights_and_persists(app: AppTest) -> None:
    edit_cell(app, "W_q", 0, 0, 5.0)
    edit_cell(app, "W_q", 3, 2, -1.5)
    assert_clean(app)
    edited = run_lab(LabConfig().with_edits({("W_q", 0, 0): 5.0, ("W_q", 3, 2): -1.5}))
    np.testing.assert_allclose(z_of(fig(app, "weights")), edited.attention.heads[0].weights, rtol=1e-6)
    assert not np.allclose(edited.attention.heads[0].weights, run_lab(LabConfig()).attention.heads[0].weights)
    # Other interactions keep the edit.
    app.radio(key="scale_mode").set_value("none").run()
    app.toggle(key="causal").set_value(True).run()
    kept = run_lab(dataclasses.replace(edited.config, scale_mode="none", causal=True))
    np.testing.assert_allclose(z_of(fig(app, "weights")), kept.attention.heads[0].weights, rtol=1e-6)


@pytest.mark.parametrize("page", ["pages/numpy_notebook.py", "pages/r_vignette.py", "pages/real_model.py"])
def test_sentence_settings_and_edits_survive_a_visit_to_another_page(app: AppTest, page: str) -> None:
    # Streamlit drops a widget's value on a page that does not draw it, unless the widget
    # persists it for the session: a student who looks at a walkthrough must find their work.
    app.text_input(key="sentence").set_value("the lecture hall listens").run()
    app.toggle(key="causal").set_value(True).run()
    edit_cell(app, "W_q", 0, 0, 2.5)
    want = (
        run_lab(
            dataclasses.replace(LabConfig(), sentence="the lecture hall listens", causal=True).with_edits(
                {("W_q", 0, 0): 2.5}
            )
        )
        .attention.heads[0]
        .weights
    )
    np.testing.assert_allclose(z_of(fig(app, "weights")), want, rtol=1e-6)
    app.switch_page(page).run()
    assert not app.exception
    app.switch_page("pages/playground.py").run()
    assert_clean(app)
    assert (
        app.text_input(key="sentence").value == "the lecture hall listens" and app.toggle(key="causal").value
    )
    np.testing.assert_allclose(z_of(fig(app, "weights")), want, rtol=1e-6)
    assert app.query_params["s"] in ("the lecture hall listens", ["the lecture hall listens"])  # the link too


def test_new_seed_sets_edits_aside_and_brings_them_back(app: AppTest) -> None:
    edit_cell(app, "W_q", 0, 0, 5.0)
    app.slider(key="seed_slider").set_value(9).run()
    assert_clean(app)
    assert any("set aside" in plain(i.value) for i in app.info)
    regenerated = run_lab(dataclasses.replace(LabConfig(), seed=9))
    np.testing.assert_allclose(z_of(fig(app, "weights")), regenerated.attention.heads[0].weights, rtol=1e-6)
    next(b for b in app.button if b.label == "Bring them back").click().run()
    assert_clean(app)
    back = run_lab(dataclasses.replace(LabConfig(), seed=9).with_edits({("W_q", 0, 0): 5.0}))
    np.testing.assert_allclose(z_of(fig(app, "weights")), back.attention.heads[0].weights, rtol=1e-6)


@pytest.mark.parametrize("bad", ["abc", float("nan"), float("inf"), None])
def test_non_number_in_matrix_is_refused_and_last_good_kept(app: AppTest, bad: object) -> None:
    good = run_lab(LabConfig()).attention.heads[0].weights
    edit_cell(app, "W_k", 1, 1, bad)
    assert not app.exception
    assert any("Not a finite number in W_k" in plain(e.value) for e in app.error)
    np.testing.assert_allclose(z_of(fig(app, "weights")), good, rtol=1e-6)


def test_empty_sentence_message_keeps_last_good(app: AppTest) -> None:
    good = z_of(fig(app, "weights"))
    app.text_input(key="sentence").set_value("   ").run()
    assert not app.exception
    assert any("no tokens" in plain(e.value) for e in app.error)
    np.testing.assert_allclose(z_of(fig(app, "weights")), good)


def test_walkthrough_opens_preset_in_playground(app: AppTest) -> None:
    app.switch_page("pages/numpy_notebook.py").run()
    next(b for b in app.button if b.label.startswith("Open this configuration")).click().run()
    assert_clean(app)
    trace = PRESETS["numpy_notebook"].trace()
    np.testing.assert_allclose(z_of(fig(app, "weights")), trace.attention.heads[0].weights, rtol=1e-6)
    assert ticks(fig(app, "weights"), "y") == ["word_1", "word_2", "word_3", "word_4"]


def test_numpy_page_shows_printed_numbers(app: AppTest) -> None:
    app.switch_page("pages/numpy_notebook.py").run()
    trace = PRESETS["numpy_notebook"].trace()
    np.testing.assert_allclose(z_of(fig(app, "weights")), trace.attention.heads[0].weights, rtol=1e-6)
    text = plain(" ".join(m.value for m in app.markdown))
    assert "In [51]" in text and "In [52]" in text


def test_change_since_last_edit_toggle(app: AppTest) -> None:
    edit_cell(app, "W_q", 0, 0, 5.0)
    app.toggle(key="show_change").set_value(True).run()
    assert_clean(app)
    before = run_lab(LabConfig()).attention.heads[0].weights
    after = run_lab(LabConfig().with_edits({("W_q", 0, 0): 5.0})).attention.heads[0].weights
    np.testing.assert_allclose(z_of(fig(app, "change in weights")), after - before, atol=1e-12)


def test_reset_all_edits(app: AppTest) -> None:
    edit_cell(app, "W_v", 2, 3, 9.0)
    next(b for b in app.button if b.label == "Reset all edits").click().run()
    assert_clean(app)
    np.testing.assert_allclose(
        z_of(fig(show_step(app, "output"), "output = weights")),
        run_lab(LabConfig()).attention.heads[0].output,
        rtol=1e-6,
    )


def test_tables_behind_expanders_are_built_only_when_opened(app: AppTest) -> None:
    """The numbers of the weights and each row's entropy are sent only while their expander is open
    (every rerun paid for them before); opened, they hold the core's numbers."""
    h = run_lab(LabConfig()).attention.heads[0]

    def frames() -> list:
        return [d.value for d in app.dataframe]

    closed = len(frames())
    assert not any("entropy (nats)" in f.columns for f in frames())
    app.session_state["entropy_table"] = True
    app.session_state["numbers::weights"] = True
    app.run()
    assert not app.exception
    assert len(frames()) == closed + 2
    entropy = next(f for f in frames() if "entropy (nats)" in f.columns)
    np.testing.assert_allclose(entropy["entropy (nats)"].to_numpy(), h.row_entropy(), rtol=1e-12)
    np.testing.assert_allclose(
        entropy["share of ln n"].to_numpy(), h.row_entropy() / math.log(h.n_k), rtol=1e-12
    )
    weights = next(f for f in frames() if "row" in f.columns and f.shape == (h.n_q, h.n_k + 1))
    np.testing.assert_allclose(weights.drop(columns="row").to_numpy(dtype=float), h.weights, rtol=1e-12)
    text = next(t.value for t in app.text if "How peaked" in t.value)
    share = h.row_entropy() / math.log(h.n_k)
    assert f"from {share.min():.2f} to {share.max():.2f} of ln n = {math.log(h.n_k):.4f}" in text


def test_a_second_session_reuses_the_figures_and_tables_of_the_first() -> None:
    """What a session shows of a configuration (trace, Plotly figures, Arrow tables) is built once per
    server: a second session opening the same page computes none of it again."""
    from ui import shared

    cache = shared.shared_traces()
    first = AppTest.from_file(str(ROOT / "pages" / "playground.py"), default_timeout=60).run()
    assert not first.exception
    kinds = {k[2][0] for k in cache._entries if isinstance(k, tuple) and len(k) == 3 and k[0] == "view"}
    assert {"figure", "table"} <= kinds, kinds
    misses, hits = cache.misses, cache.hits
    second = AppTest.from_file(str(ROOT / "pages" / "playground.py"), default_timeout=60).run()
    assert not second.exception
    assert cache.misses == misses and cache.hits > hits
    assert [c.value for c in second.get("plotly_chart")] == [c.value for c in first.get("plotly_chart")]


def test_the_exact_value_box_shows_the_value_in_force_after_an_edit(app: AppTest) -> None:
    """A value set by the slider or typed ("+3") is what the exact-value box then holds, as a float."""
    edit_cell(app, "W_q", 1, 2, "+3")
    assert not app.exception
    assert app.text_input(key="nudge_text").value == "3"
    assert app.session_state["edits"][("W_q", 1, 2)] == 3.0

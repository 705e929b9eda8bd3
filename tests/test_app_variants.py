"""AppTest: the positions and attention variants as Playground settings, and the word-order demo."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from attention_core import LabConfig, run_lab
from attention_core.serialize import config_from_query, config_to_query
from tests.app_driver import show_step
from tests.plotly_json import decode, fig, figures

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def app() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    return at


def weights(at: AppTest) -> np.ndarray:
    return decode(fig(at, "weights")["data"][0]["z"])


@pytest.mark.parametrize(
    ("widget", "value", "options", "figure"),
    [
        ("positions", "sinusoidal", {"positions": "sinusoidal"}, "position_table"),
        ("positions", "learned", {"positions": "learned"}, "position_table"),
        ("positions", "rope", {"positions": "rope"}, None),
        ("positions", "alibi", {"positions": "alibi"}, "position_bias"),
        ("window", 3, {"window": 3}, "masked_scores"),
    ],
)
def test_each_variant_changes_the_weights_as_the_core_says(
    app: AppTest, widget: str, value: object, options: dict, figure: str | None
) -> None:
    if widget == "window":
        app.number_input(key="window").set_value(value).run()
    else:
        app.selectbox(key=widget).set_value(value).run()
    assert not app.exception
    expected = run_lab(dataclasses.replace(LabConfig(), **options)).attention.heads[0].weights
    np.testing.assert_allclose(weights(app), expected, rtol=1e-6)
    if figure:
        assert any(title.startswith(figure) for title in figures(show_step(app, figure)))


def test_three_query_heads_share_one_key_value_head(app: AppTest) -> None:
    app.number_input(key="d_k").set_value(24).run()
    app.selectbox(key="n_heads").set_value(4).run()
    app.selectbox(key="n_kv_heads").set_value(2).run()
    assert not app.exception
    trace = run_lab(dataclasses.replace(LabConfig(), n_heads=4, n_kv_heads=2))
    assert trace.attention.kv_heads == (0, 0, 1, 1) and trace.W_k.shape == (16, 12)
    np.testing.assert_allclose(weights(app), trace.attention.heads[0].weights, rtol=1e-6)


def test_variants_travel_in_links() -> None:
    cfg = dataclasses.replace(
        LabConfig(), positions="rope", rope_base=500.0, window=4, n_heads=2, n_kv_heads=1
    )
    back, messages = config_from_query(config_to_query(cfg))
    assert back == cfg and messages == []


def test_word_order_demo(app: AppTest) -> None:
    app.session_state["step_tab"] = "Word order"
    app.run()
    app.button(key="shuffle_words").click().run()
    assert any("cannot see word order" in t.value for t in app.text)
    app.selectbox(key="positions").set_value("sinusoidal").run()
    app.session_state["step_tab"] = "Word order"  # a new step (the position table) adds a tab
    app.run()
    assert any("make word order visible" in t.value for t in app.text)
    assert not app.exception


def test_the_palette_changes_colours_only_and_travels_in_the_link(app: AppTest) -> None:
    from ui.palettes import colorscales

    before = weights(app)
    app.selectbox(key="palette").set_value("colour-blind").run()
    spec = fig(app, "weights")
    assert spec["data"][0]["colorscale"] == [list(c) for c in colorscales("colour-blind")[0]]
    np.testing.assert_array_equal(weights(app), before)  # the numbers do not change
    assert app.query_params["pal"] in ("colour-blind", ["colour-blind"])
    again = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    again.query_params["pal"] = "high-contrast"
    again.run()
    assert again.session_state["palette"] == "high-contrast" and not again.exception

"""A link restores the view, not only the numbers: each view setting survives a round trip through the
address bar (open a state, read the address bar, reopen it in a fresh AppTest, the same view), and
generated view keys never show an exception element."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from attention_core import run_lab
from attention_core.lab import MAX_DIM
from attention_core.serialize import QUERY_KEYS, URL_EXTRA_KEYS, config_from_query
from attention_core.view import BLOG_VIEW, FAST_ATTENTION_VIEW, PLAYGROUND_VIEW, SECOND_VIEWS
from tests.app_driver import edit_cell
from tests.plotly_json import fig
from tests.test_app import z_of

ROOT = Path(__file__).resolve().parent.parent


def address(at: AppTest) -> dict[str, str]:
    """The address bar's parameters as a browser would send them back."""
    return {k: (v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()}


def open_link(params: dict[str, str], script: str = "app.py") -> AppTest:
    at = AppTest.from_file(str(ROOT / script), default_timeout=60)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def reopen(at: AppTest) -> AppTest:
    return open_link(address(at))


def test_link_keys_are_declared_once_and_never_collide() -> None:
    keys = [*QUERY_KEYS.values(), *URL_EXTRA_KEYS, "preset", "e", "z", "rh"]
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)
    for view in (PLAYGROUND_VIEW, FAST_ATTENTION_VIEW, BLOG_VIEW):
        assert all(spec.key in URL_EXTRA_KEYS for spec in view.values())


def test_the_lecturers_view_comes_back_from_the_link() -> None:
    """The issue's case: edit W_K, head 2, also show V, click a weight, open a tab."""
    at = open_link({"h": "4"})
    edit_cell(at, "W_k", 1, 2, 0.75)
    at.radio(key="head_shown").set_value(2).run()
    at.session_state["second_view"] = "V"
    at.run()
    at.session_state["explained"] = (3, 1)
    at.run()
    at.session_state["step_tab"] = "Word order"
    at.run()
    link = address(at)
    assert [link[k] for k in ("m", "hd", "also", "w", "tab")] == ["W_k", "2", "V", "3.1", "Word order"]
    fresh = reopen(at)
    assert fresh.radio(key="edit_matrix").value == "W_k"
    assert fresh.radio(key="head_shown").value == 2
    assert fresh.session_state["second_view"] == "V" and fresh.get("plotly_chart")  # its figure is drawn
    assert any("second_V" in str(c.proto.id) for c in fresh.get("plotly_chart"))
    assert tuple(fresh.session_state["explained"]) == (3, 1)
    assert any("(row 3)" in c.value and "(column 1)" in c.value for c in fresh.code)  # its arithmetic is open
    assert fresh.session_state["step_tab"] == "Word order"
    assert any(b.label == "Shuffle the words" for b in fresh.button)
    assert "No edited cells in W_K" not in " ".join(c.value for c in fresh.caption)
    np.testing.assert_array_equal(z_of(fig(fresh, "weights")), z_of(fig(at, "weights")))
    assert address(fresh) == link


def test_nothing_chosen_under_the_weights_comes_back_too() -> None:
    at = open_link({})
    at.session_state["second_view"] = None
    at.run()
    assert address(at)["also"] == "none"
    fresh = reopen(at)
    assert fresh.session_state["second_view"] is None
    assert not [c for c in fresh.get("plotly_chart") if "second_" in str(c.proto.id)]


def test_a_step_tab_comes_back() -> None:
    at = open_link({})
    at.session_state["step_tab"] = "Output"
    at.run()
    fresh = reopen(at)
    assert fresh.session_state["step_tab"] == "Output" and address(fresh)["tab"] == "Output"


def test_links_made_before_open_the_default_view() -> None:
    """A link without view keys (every link made before) opens as it always did: W_Q, head 0, scores."""
    at = open_link({"seed": "7", "e": "W_k:0:0:1.5"})
    assert at.radio(key="edit_matrix").value == "W_q"
    assert at.session_state["second_view"] == "scores" and at.session_state["explained"] is None
    assert not {"m", "hd", "also", "w", "tab"} & set(address(at))
    assert not at.warning


def test_a_link_to_a_weight_outside_the_matrix_is_dropped_quietly() -> None:
    at = open_link({"w": "50.50", "hd": "7", "m": "W_o", "tab": "No such tab"})
    assert at.session_state["explained"] is None and at.session_state["head_shown"] == 0
    assert at.session_state["edit_matrix"] == "W_q" and at.session_state["step_tab"] == "Tokens"
    assert not {"m", "hd", "w", "tab"} & set(address(at))


def test_unreadable_view_keys_are_named() -> None:
    at = open_link({"w": "x", "also": "Z", "hd": "-1"})
    shown = " ".join(c.value for c in at.code)
    assert "ignored 'w' (explained)" in shown and "ignored 'also' (second_view)" in shown
    assert "ignored 'hd' (head_shown)" in shown


def test_fast_attention_step_comes_back() -> None:
    at = open_link({}, "app.py")
    at.switch_page("pages/fast_attention.py").run()
    at.slider(key="fa_tokens").set_value(32).run()
    at.selectbox(key="fa_block").set_value(4).run()
    at.toggle(key="fa_causal").set_value(False).run()
    at.select_slider(key="fa_step").set_value(9).run()
    link = address(at)
    assert link == {"fa_tokens": "32", "fa_block": "4", "fa_causal": "0", "fa_step": "9"}
    fresh = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    fresh.switch_page("pages/fast_attention.py")
    for k, v in link.items():
        fresh.query_params[k] = v
    fresh.run()
    assert not fresh.exception
    assert (
        fresh.slider(key="fa_tokens").value,
        fresh.selectbox(key="fa_block").value,
        fresh.toggle(key="fa_causal").value,
        fresh.select_slider(key="fa_step").value,
    ) == (32, 4, False, 9)
    assert address(fresh) == link


def test_blog_tab_comes_back() -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.switch_page("pages/multihead_cross.py")
    at.query_params["blog_tab"] = "Cross-attention"
    at.run()
    assert not at.exception
    assert at.session_state["blog_tab"] == "Cross-attention"
    assert address(at) == {"blog_tab": "Cross-attention"}
    assert any("cross" in h.value.lower() for h in at.header)


VIEW_VALUES = st.one_of(
    st.sampled_from(
        [
            *SECOND_VIEWS,
            "none",
            "W_q",
            "W_o",
            "embeddings",
            "b_k",
            "Tokens",
            "Word order",
            "Output",
            "0",
            "1",
            "3",
            "2.1",
            "0.0",
            "999.999",
            str(MAX_DIM),
            "1.",
            ".1",
            "1.2.3",
            "-1",
            "١",
            "1e3",
        ]
    ),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=20),
)
VIEW_LINKS = st.dictionaries(
    st.sampled_from([spec.key for spec in PLAYGROUND_VIEW.values()]), VIEW_VALUES, max_size=5
).flatmap(
    lambda d: st.one_of(
        st.just(d),
        st.sampled_from([{"h": "4"}, {"h": "2", "s2": "a b c"}, {"causal": "1"}]).map(
            lambda extra: {**d, **extra}
        ),
    )
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(VIEW_LINKS)
def test_generated_view_keys_never_raise(params: dict[str, str]) -> None:
    at = open_link(params)
    expected_cfg, _ = config_from_query(params)
    heads = run_lab(expected_cfg).attention.heads
    shown = at.session_state["head_shown"]
    np.testing.assert_allclose(z_of(fig(at, "weights")), heads[shown].weights, rtol=1e-6)  # a head it has
    again = reopen(at)  # and what it wrote opens again
    assert not again.exception

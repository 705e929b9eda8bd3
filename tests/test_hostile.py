"""Hostile input: a catalogue of bad inputs, each with its expected outcome, and property
tests on every parser of user input. Fast cases run through AppTest and the core; markup
cases are also checked in the browser (tests/browser/test_markup.py)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from attention_core import LabConfig, ValidationError, run_lab, tokenize
from attention_core.serialize import config_from_query, state_from_json
from tests.app_driver import edit_cell
from tests.test_app import ROOT, fig, plain, z_of
from attention_core.settings import parse_number
from ui.figures import plotly_text

MARKUP = [
    "![x](http://127.0.0.1/t.png)", "$x$", ":red[x]", "<img src=x onerror=alert(1)>", "<b>", "<br>",
    '<a href="javascript:alert(1)">', "**bold** _it_ `code`", "\\(x\\) $$y$$", "&amp; &lt;",
]

# (sentence, needle of the message, or None when the sentence is fine)
SENTENCES: list[tuple[str, str | None]] = [
    ("", "no tokens"),
    ("?!.,;", "no tokens"),
    ("      ", "no tokens"),
    ("word", None),
    ("lorem ipsum " * 8_334, "the limit is"),  # 100,000 characters: cut at 20,000 by the widget, still > 1,024 tokens
    (" ".join(["w"] * 1_100), "1,100 tokens; the limit is 1,024"),
    ("I ❤️ tea 👩🏽‍💻", None),
    ("cafe\u0301 naïve", None),
    ("שלום עולם مرحبا", None),
    ("我爱你 東京", None),
    ("zero\u200bwidth\u200d joiner\ufeff", None),
    *[(m, None) for m in MARKUP],
]


@pytest.fixture
def app() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    return at


def errors(at: AppTest) -> str:
    return plain(" ".join(e.value for e in at.error))


@pytest.mark.parametrize(("sentence", "needle"), SENTENCES, ids=lambda v: repr(v)[:30] if isinstance(v, str) else v)
def test_sentence_catalogue(app: AppTest, sentence: str, needle: str | None) -> None:
    good = z_of(fig(app, "weights"))
    app.text_input(key="sentence").set_value(sentence).run()
    assert not app.exception, [e.value for e in app.exception]
    w = fig(app, "weights")
    if needle:
        assert needle in errors(app)
        np.testing.assert_array_equal(z_of(w), good)  # the last good state stays on screen
        return
    assert errors(app) == ""
    tokens = tokenize(sentence).tokens
    assert w["layout"]["xaxis"]["ticktext"] == [plotly_text(t) for t in tokens]  # escaped for Plotly, once
    expected = run_lab(dataclasses.replace(LabConfig(), sentence=sentence)).attention.heads[0].weights
    np.testing.assert_allclose(z_of(w), expected, rtol=1e-6)
    table = next(d.value for d in app.dataframe if "token" in d.value)  # a dataframe shows text literally
    assert list(table["token"]) == list(tokens)


@pytest.mark.parametrize(("value", "ok"), [("abc", False), (float("nan"), False), (float("inf"), False),
                                            (float("-inf"), False), ("1e308", True), (1e308, True),
                                            (-1e308, True), ("", False), (None, False), (True, False)])
def test_matrix_cell_catalogue(app: AppTest, value: object, ok: bool) -> None:
    good = z_of(fig(app, "weights"))
    edit_cell(app, "W_q", 0, 0, value)
    assert not app.exception
    w = z_of(fig(app, "weights"))
    if not ok:
        assert "Not a finite number in W_q" in errors(app)
        np.testing.assert_array_equal(w, good)
        return
    assert errors(app) == ""
    assert np.all(np.isfinite(w))  # softmax saturates without NaN
    np.testing.assert_allclose(w.sum(axis=1), 1.0)


@pytest.mark.parametrize(("source", "seed", "needle"), [
    ("numpy", "-5", "NumPy's legacy seed must be in 0"),
    ("torch", "4294967296", "outside the 32-bit range"),
    ("r", "3000000000", "R's set.seed takes an integer"),
    ("torch", "twelve", "not a whole number"),
    ("torch", "1e5", "not a whole number"),
    ("torch", "-7", None),
    ("r", "-2147483647", None),
])
def test_seed_catalogue(app: AppTest, source: str, seed: str, needle: str | None) -> None:
    app.selectbox(key="random_source").set_value(source).run()
    good = z_of(fig(app, "weights"))
    app.text_input(key="seed_exact").set_value(seed).run()
    assert not app.exception
    if needle:
        assert needle in errors(app), errors(app)
        np.testing.assert_array_equal(z_of(fig(app, "weights")), good)
    else:
        assert errors(app) == ""
        cfg = dataclasses.replace(LabConfig(), random_source=source, seed=int(seed),
                                  embedding_init="uniform" if source == "r" else "normal",
                                  init="uniform" if source == "r" else LabConfig().init)
        np.testing.assert_allclose(z_of(fig(app, "weights")), run_lab(cfg).attention.heads[0].weights, rtol=1e-6)


def test_all_equal_scores_give_uniform_weights(app: AppTest) -> None:
    app.slider(key="scale_custom").set_value(0.0).run()  # scale 0: every score is 0
    np.testing.assert_allclose(z_of(fig(app, "weights")), np.full((6, 6), 1 / 6))


def test_huge_scale_saturates_without_nan(app: AppTest) -> None:
    for r in range(3):
        for c in range(3):
            edit_cell(app, "W_q", r, c, 1e300)
    app.slider(key="scale_custom").set_value(3.0).run()
    assert not app.exception
    w = z_of(fig(app, "weights"))
    assert np.all(np.isfinite(w)) and np.allclose(w.sum(axis=1), 1.0)


# --------------------------------------------------------------------------- parsers, by property
@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=12), st.text(max_size=40), max_size=8))
def test_any_link_parses_to_a_config_or_a_message(params: dict[str, str]) -> None:
    cfg, messages = config_from_query(params)
    assert all(isinstance(m, str) and m for m in messages)
    try:
        trace = run_lab(cfg)
    except ValidationError:
        return
    for head in trace.attention.heads:
        assert np.all(np.isfinite(head.weights))


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=200), st.binary(max_size=200),
                 st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
                              lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                              max_leaves=20).map(lambda d: json.dumps({"config": d}, allow_nan=True))))
def test_any_state_file_gives_a_config_or_a_validation_error(text: str | bytes) -> None:
    try:
        cfg, _extra, _messages = state_from_json(text)
    except ValidationError as exc:
        assert str(exc)
        return
    try:
        run_lab(cfg)
    except ValidationError:
        pass


@given(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=30), st.binary(max_size=10)))
def test_any_cell_is_a_finite_float_or_refused(value: object) -> None:
    try:
        v = parse_number(value)
    except ValidationError:
        return
    assert isinstance(v, float) and np.isfinite(v)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
def test_any_sentence_runs_or_gives_a_validation_error(sentence: str) -> None:
    try:
        trace = run_lab(LabConfig(sentence=sentence, d_model=4, d_k=4, d_v=4))
    except ValidationError as exc:
        assert exc.field == "sentence"
        return
    w = trace.attention.heads[0].weights
    assert np.all(np.isfinite(w)) and np.allclose(w.sum(axis=1), 1.0)

"""Hostile input: a catalogue of bad inputs, each with its expected outcome, and property
tests on every parser of user input. Fast cases run through AppTest and the core; markup
cases are also checked in the browser (tests/browser/test_markup.py)."""

from __future__ import annotations

import base64
import dataclasses
import json
import zlib
from urllib.parse import urlencode

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from attention_core import LabConfig, ValidationError, run_lab, tokenize
from attention_core.serialize import MAX_LINK_CHARS, config_from_query, config_to_query, state_from_json
from attention_core.settings import parse_number
from tests.app_driver import edit_cell
from tests.plotly_json import decode
from tests.test_app import ROOT, fig, plain, z_of
from ui.figures import heatmap, plotly_text
from ui.text import WORD_JOINER

MARKUP = [
    "![x](http://127.0.0.1/t.png)",
    "$x$",
    ":red[x]",
    "<img src=x onerror=alert(1)>",
    "<b>",
    "<br>",
    '<a href="javascript:alert(1)">',
    "**bold** _it_ `code`",
    "\\(x\\) $$y$$",
    "&amp; &lt;",
]

# (sentence, needle of the message, or None when the sentence is fine)
SENTENCES: list[tuple[str, str | None]] = [
    ("", "no tokens"),
    ("?!.,;", "no tokens"),
    ("      ", "no tokens"),
    ("word", None),
    (
        "lorem ipsum " * 8_334,
        "the limit is",
    ),  # 100,000 characters: cut at 20,000 by the widget, still > 1,024 tokens
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


@pytest.mark.parametrize(
    ("sentence", "needle"), SENTENCES, ids=lambda v: repr(v)[:30] if isinstance(v, str) else v
)
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


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("abc", False),
        (float("nan"), False),
        (float("inf"), False),
        (float("-inf"), False),
        ("1e308", True),
        (1e308, True),
        (-1e308, True),
        ("", False),
        (None, False),
        (True, False),
    ],
)
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


@pytest.mark.parametrize(
    ("source", "seed", "needle"),
    [
        ("numpy", "-5", "NumPy's legacy seed must be in 0"),
        ("torch", "4294967296", None),  # torch.manual_seed takes it, and so does the box
        ("torch", str(2**64), "not a whole number from"),
        ("numpy", "4294967296", "NumPy's legacy seed must be in 0"),
        ("r", "3000000000", "R's set.seed takes an integer"),
        ("torch", "twelve", "not a whole number"),
        ("torch", "1e5", "not a whole number"),
        ("torch", "-7", None),
        ("r", "-2147483647", None),
    ],
)
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
        cfg = dataclasses.replace(
            LabConfig(),
            random_source=source,
            seed=int(seed),
            embedding_init="uniform" if source == "r" else "normal",
            init="uniform" if source == "r" else LabConfig().init,
        )
        np.testing.assert_allclose(
            z_of(fig(app, "weights")), run_lab(cfg).attention.heads[0].weights, rtol=1e-6
        )


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
    trace = run_lab(cfg)  # whatever the parser returns runs: the link's first run never fails
    for head in trace.attention.heads:
        assert np.all(np.isfinite(head.weights))


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.text(max_size=200),
        st.binary(max_size=200),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
            lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
            max_leaves=20,
        ).map(lambda d: json.dumps({"version": 1, "config": d}, allow_nan=True)),
    )
)
def test_any_state_file_gives_a_config_or_a_validation_error(text: str | bytes) -> None:
    try:
        cfg, _extra, _messages = state_from_json(text)
    except ValidationError as exc:
        assert str(exc)
        return
    run_lab(cfg)  # a file that is read at all gives a configuration that runs


@given(
    st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=30), st.binary(max_size=10)
    )
)
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


# --------------------------------------------------------------------------- links, files, cells (issue 15)
# Each entry is opened in the whole Playground on its first run (as a browser opens a link): no exception
# element, the message shown, and a lab on screen that is exactly the parser's configuration.
def open_link(params: dict[str, str]) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    return at


def shown_text(at: AppTest) -> str:
    """Every message on the page, as a person reads it (escapes and autolink breakers removed)."""
    parts = (
        [w.value for w in at.warning]
        + [c.value for c in at.code]
        + [e.value for e in at.error]
        + [w.value for w in at.sidebar.warning]
        + [e.value for e in at.sidebar.error]
    )
    return plain(" ".join(parts)).replace(WORD_JOINER, "")


def assert_lab_of(at: AppTest, params: dict[str, str]) -> None:
    assert not at.exception, [e.value for e in at.exception]
    cfg, _ = config_from_query(params)
    np.testing.assert_allclose(z_of(fig(at, "weights")), run_lab(cfg).attention.heads[0].weights, rtol=1e-6)


def pack(doc: object) -> str:
    """A state document in the app's compressed link form, written by hand: base64url(zlib(JSON))."""
    raw = json.dumps(doc, allow_nan=True).encode("ascii")
    return base64.urlsafe_b64encode(zlib.compress(raw)).decode().rstrip("=")


def bomb() -> str:
    """A 4,000-character link that would unpack to 4 MB."""
    return base64.urlsafe_b64encode(zlib.compress(b" " * 4_000_000, 9)).decode().rstrip("=")


LINKS: list[tuple[dict[str, str], str]] = [
    ({"dm": "١٢"}, "'dm' (d_model): must be a whole number"),  # other scripts' digits: int() takes them
    ({"dm": "1_6"}, "'dm' (d_model): must be a whole number"),  # int() takes "_" separators
    ({"seed": "١٢"}, "'seed' (seed): must be a whole number"),
    ({"sc": "custom", "sv": "9"}, "'sv' (scale_value): must be between -4 and 4"),  # outside the slider
    ({"sc": "custom", "sv": "٣"}, "'sv' (scale_value)"),
    ({"rb": "0.5", "pos": "rope"}, "'rb' (rope_base): must be between 1 and 1e+07"),
    ({"win": "2000"}, "'win' (window): must be between 0 and 1024"),
    ({"e": "W_q:99:0:1"}, "ignored 1 edit(s) outside this configuration's matrices: W_q[99, 0]"),
    ({"e": "embeddings:6:0:1"}, "embeddings[6, 0]"),  # 6 tokens: rows 0 … 5
    ({"e": "W_o:0:0:1"}, "W_o[0, 0] (no such matrix here)"),  # one head: no W_O
    ({"e": "embeddings_kv:0:0:1"}, "embeddings_kv[0, 0] (no such matrix here)"),  # no second sentence
    ({"e": "b_q:0:0:1"}, "b_q[0, 0] (no such matrix here)"),  # biases only come with a real head
    ({"h": "7"}, "ignored n_heads: 7 heads must divide d_k = 24 and d_v = 28"),
    ({"h": "4", "kvh": "3"}, "3 key/value heads must divide the 4 query heads"),
    ({"kvh": "2"}, "2 key/value heads must divide the 1 query heads"),
    ({"h": "2", "kvh": "2"}, "shared heads must be fewer than the query heads"),
    ({"pos": "rope", "dk": "3", "dv": "4"}, "RoPE turns pairs of features"),
    ({"proj": "0", "kvh": "1", "h": "2", "dm": "4"}, "shared key/value heads need the projections"),
    ({"emb": "one_hot", "dm": "2"}, "one-hot embeddings need d_model ≥ vocabulary size"),
    ({"preset": "r_vignette", "s": "a b c d e f g h"}, "kept the preset's sentence and d_model"),
    ({"src": "numpy", "seed": "-5"}, "NumPy's legacy seed must be in 0"),
    ({"src": "r", "seed": str(2**40)}, "ignored seed"),
    ({"src": "r"}, "ignored init: the R-compatible source offers integers 0..2 and uniform"),
    ({"src": "r", "init": "uniform", "pos": "learned"}, "ignored positions: a learned position table"),
    ({"s": ""}, "the sentence has no tokens"),
    ({"s": "a" + "\u0301" * 40}, "more than 30 combining marks in a row"),
    ({"s": " ".join(["w"] * 1100)}, "1,100 tokens; the limit is 1,024"),
    ({"s2": "?!"}, "the second sentence has no tokens"),
    ({"e": "W_q:0:0:1e200,embeddings:0:0:1e200"}, "ignored 2 edit(s) that overflow"),
    ({"step": "²"}, "ignored 'step': must be a whole number"),  # "²".isdigit() is True, int("²") fails
    ({"z": "!!!not base64"}, "ignored the whole link: the compressed state 'z'"),
    ({"z": pack([1, 2])}, "the state file has no 'config' object"),
    ({"z": bomb()}, "unpacks to more than 2,000,000 bytes"),
    ({"z": pack({"version": 1, "config": {"seed": 5}}), "seed": "6"}, "'z' holds the whole configuration"),
    ({"toolong": "1"}, "made from a state too large for a link"),
]


@pytest.mark.parametrize(
    ("params", "needle"), LINKS, ids=lambda v: repr(v)[:40] if isinstance(v, dict) else None
)
def test_link_catalogue(params: dict[str, str], needle: str) -> None:
    at = open_link(params)
    assert needle in shown_text(at), shown_text(at)
    assert_lab_of(at, params)


# State files: the same reader as a link's compressed form (and as the import button).
STATE_FILES: list[tuple[dict, str]] = [
    ({"d_model": "16"}, "'d_model': must be a whole number"),
    ({"d_model": True}, "'d_model': must be a whole number"),
    ({"causal": 1}, "'causal': must be true or false"),
    ({"sentence": 5}, "'sentence': must be text"),
    ({"sentence": "ok \ud800 no"}, "lone surrogate U+D800"),  # cannot be encoded as UTF-8
    ({"cross_sentence": ["a"]}, "'cross_sentence': must be text"),
    ({"scale_value": "1.5"}, "'scale_value': must be a number, not text"),
    ({"seed": 1.5}, "'seed': must be a whole number"),
    ({"embedding": None}, "'embedding': must be one of"),
    ({"preset": ["x"]}, "ignored 'preset': unknown preset"),  # unhashable: once a TypeError
    ({"edits": {"a": 1}}, "ignored 'edits': must be a list"),
    ({"edits": [["W_q", 0, 0, "1"]]}, "the value must be a finite number"),
    ({"edits": [["W_q", 1.0, 0, 1]]}, "row and column must be whole numbers"),
    ({"edits": [["W_q", 99, 0, 1.0]]}, "outside this configuration's matrices: W_q[99, 0]"),
    ({"n_heads": 7}, "7 heads must divide"),
    (
        {"n_heads": 2, "d_k": 24, "d_v": 28, "edits": [["W_o", 27, 15, 1.5], ["W_o", 28, 0, 1.0]]},
        "W_o[28, 0]",
    ),
]


@pytest.mark.parametrize(
    ("config", "needle"), STATE_FILES, ids=lambda v: repr(v)[:40] if isinstance(v, dict) else None
)
def test_state_file_catalogue(config: dict, needle: str) -> None:
    params = {"z": pack({"version": 1, "config": config})}
    at = open_link(params)
    assert needle in shown_text(at), shown_text(at)
    assert_lab_of(at, params)


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("http://x.org", False),
        ("a@b.org", False),
        ("www.x.org", False),
        ("1,5", False),
        ("١٢", False),
        ("1_0", False),
        ("0x10", False),
        ("1e999", False),
        ("<b>1</b>", False),
        ("−3", True),
        (" 2.5 ", True),
    ],
)
def test_more_typed_cells(app: AppTest, value: str, ok: bool) -> None:
    good = z_of(fig(app, "weights"))
    edit_cell(app, "W_q", 0, 0, value)
    assert not app.exception
    if ok:
        assert errors(app) == ""
        cfg = LabConfig().with_edits({("W_q", 0, 0): parse_number(value)})
        np.testing.assert_allclose(
            z_of(fig(app, "weights")), run_lab(cfg).attention.heads[0].weights, rtol=1e-6
        )
        return
    message = errors(app).replace(WORD_JOINER, "")
    assert "Not a finite number in W_q[0, 0]" in message, message
    assert all(
        "](" not in e.value and "<" not in e.value.replace("\\<", "") for e in app.error
    )  # no link markup
    np.testing.assert_array_equal(z_of(fig(app, "weights")), good)


def test_one_overflowing_cell_in_W_q_keeps_every_row_right(app: AppTest) -> None:
    """The core once zeroed every other row; rows are independent: each equals the core's own row."""
    edit_cell(app, "W_q", 0, 0, "1e308")
    assert not app.exception
    cfg = LabConfig().with_edits({("W_q", 0, 0): 1e308})
    trace = run_lab(cfg)
    w = z_of(fig(app, "weights"))
    np.testing.assert_array_equal(w, trace.attention.heads[0].weights)
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    assert trace.overflow_note and "scores at row" in trace.overflow_note  # a score beyond float64 is named
    for r in range(w.shape[0]):  # each row alone is the softmax of that row's scores: rows are independent
        alone = run_lab(dataclasses.replace(cfg, causal=False)).attention.heads[0].weights[r]
        np.testing.assert_array_equal(w[r], alone)


def test_two_overflowing_cells_give_a_message_and_keep_the_last_good_state(app: AppTest) -> None:
    edit_cell(app, "embeddings", 0, 0, "1e200")
    good = z_of(fig(app, "weights"))
    edit_cell(app, "W_q", 0, 0, "1e200")  # Q[0, 0] = X[0, 0] · W_q[0, 0] + … = 1e400: beyond float64
    assert not app.exception, [e.value for e in app.exception]
    assert "Q overflows float64 at row 0, column 0" in errors(app)
    np.testing.assert_array_equal(z_of(fig(app, "weights")), good)


def test_two_overflowing_cells_are_refused_by_the_core_naming_the_cell() -> None:
    cfg = LabConfig().with_edits({("embeddings", 0, 0): 1e200, ("W_q", 0, 0): 1e200})
    with pytest.raises(ValidationError, match=r"Q overflows float64 at row 0, column 0"):
        run_lab(cfg)


def test_values_near_the_float64_limits_are_drawn_as_themselves() -> None:
    """float32 would draw 1e300 as Infinity and 1e-300 as 0: such a matrix travels as float64."""
    z = np.full((80, 80), 0.5)
    z[0, 0], z[1, 1], z[2, 2] = 1e300, -1e300, 1e-300
    spec = heatmap(
        z,
        title="Q",
        row_labels=[str(i) for i in range(80)],
        col_labels=[str(i) for i in range(80)],
        kind="values",
    )
    np.testing.assert_array_equal(decode(spec["data"][0]["z"]), z)
    plain_z = np.full((80, 80), 0.25)
    assert (
        spec_dtype(
            heatmap(
                plain_z,
                title="Q",
                row_labels=[str(i) for i in range(80)],
                col_labels=[str(i) for i in range(80)],
                kind="values",
            )
        )
        == "f4"
    )  # still halved


def spec_dtype(spec: dict) -> str:
    return spec["data"][0]["z"].dtype.str[1:] if isinstance(spec["data"][0]["z"], np.ndarray) else "list"


def test_huge_values_in_a_large_matrix_reach_the_app_finite() -> None:
    words = " ".join(f"w{i}" for i in range(100))
    params = {"s": words, "dk": "64", "dv": "64", "e": "embeddings:0:0:1e300"}
    at = open_link(params)
    assert not at.exception
    at.segmented_control(key="second_view").set_value("Q").run()
    q = z_of(fig(at, "Q"))  # (100, 64): a float32-sized matrix
    expected = run_lab(config_from_query(params)[0]).attention.heads[0].Q
    assert np.isfinite(q).all() and np.abs(q).max() > 1e299
    np.testing.assert_array_equal(q, expected)


@pytest.mark.parametrize(
    "change",
    [
        lambda at: at.number_input(key="d_k").set_value(12).run(),
        lambda at: at.number_input(key="d_model").set_value(8).run(),
        lambda at: at.text_input(key="sentence").set_value("a b c").run(),
        lambda at: at.selectbox(key="n_heads").set_value(2).run(),
    ],
    ids=["d_k", "d_model", "sentence", "heads"],
)
def test_show_the_change_survives_a_shape_change(app: AppTest, change) -> None:
    edit_cell(app, "embeddings", 0, 0, "0.5")
    edit_cell(app, "W_q", 1, 1, "2.0")
    app.toggle(key="show_change").set_value(True).run()
    assert not app.exception and len([f for f in app.get("plotly_chart")]) > 0
    change(app)
    assert not app.exception, [e.value for e in app.exception]
    assert z_of(fig(app, "weights")).size
    back = [b for b in app.button if b.label == "Bring them back"]
    if back:  # the remembered edits, re-applied to the new shapes, with the change still shown
        back[0].click().run()
        assert not app.exception, [e.value for e in app.exception]
        assert app.session_state["edits"]


# --------------------------------------------------------------------------- every state can be shared
def query_of(at: AppTest) -> dict[str, str]:
    return {
        k: at.query_params[k][0] if isinstance(at.query_params[k], list) else at.query_params[k]
        for k in at.query_params
    }


def test_a_thousand_edits_come_back_from_the_address_bar_bit_for_bit() -> None:
    from tests.test_serialize import full_precision_edits

    cfg = full_precision_edits(LabConfig(), 1000, seed=3)
    at = open_link(config_to_query(cfg))
    assert not at.exception and not at.warning
    written = query_of(at)
    assert list(written) == ["z"] and len(urlencode(written)) <= MAX_LINK_CHARS  # what the address bar holds
    again = open_link(written)  # a reload: a new session from the address bar
    expected = run_lab(cfg).attention.heads[0].weights
    np.testing.assert_array_equal(z_of(fig(again, "weights")), expected)


def test_a_state_too_large_for_a_link_is_said_and_the_file_offered() -> None:
    from tests.test_serialize import full_precision_edits

    cfg = full_precision_edits(LabConfig(d_model=128, d_k=128, d_v=128), 5000, seed=4)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["pending_config"] = cfg  # as the import button leaves it
    at.run()
    assert not at.exception
    assert query_of(at) == {"toolong": "1"}  # never a stale or unreadable link
    assert any("no longer holds this state" in plain(t.value) for t in at.toast)  # said at once, on any tab
    at.session_state["step_tab"] = "Share and export"  # where the state file is offered
    at.run()
    said = plain(" ".join(w.value for w in at.warning))
    assert "No link for this state" in said and "download the state file" in said and "reload" in said
    assert any(b.label == "State file (to import later)" for b in at.get("download_button"))
    reopened = open_link({"toolong": "1"})  # a reload says what happened instead of resetting silently
    assert "made from a state too large for a link" in shown_text(reopened)

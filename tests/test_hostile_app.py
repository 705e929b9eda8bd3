"""The whole Playground on generated links and state files: whatever arrives, the app shows a lab.

Hypothesis writes links (every query key, any script, numbers in every spelling, edits of any
matrix and cell) and state files (every field, every JSON type, any Unicode including lone
surrogates, NaN, nesting), and AppTest opens the Playground with each, as a browser would on its
first run. Every time: no exception element, a weights figure on screen, and it is exactly the
figure of the configuration the one parser returned (so what the parser accepts, the widgets and
editors hold). State files travel in the app's own compressed link form (``z``), which is read
exactly like an imported file (``state_from_json``).
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from attention_core import run_lab
from attention_core.lab import EDITABLE, SETTINGS
from attention_core.serialize import COMPACT_KEY, QUERY_KEYS, config_from_query
from tests.app_driver import edit_cell
from tests.plotly_json import fig
from tests.test_app import z_of
from tests.test_hostile import open_link, pack

#: Text a browser can put in an address (it turns lone surrogates into U+FFFD itself).
ANY_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
NUMBERS = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(
        ["1e999", "-0", "٣", "١٢", "1_6", "0x10", "1,5", " 2 ", "+4", "−3", "²", "4.0", "1e-320"]
    ),
)
CHOICES = st.sampled_from(sorted({c for spec in SETTINGS.values() for c in spec.choices}))
CELL = st.tuples(
    st.sampled_from(EDITABLE + ("W_x", "")),
    st.integers(0, 40),
    st.integers(0, 40),
    st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([1e300, -1e200, 5e-324])),
)
EDITS = st.lists(CELL, max_size=8).map(lambda cells: ",".join(f"{m}:{r}:{c}:{v!r}" for m, r, c, v in cells))
LINK_VALUES = st.one_of(ANY_TEXT, NUMBERS, CHOICES, st.sampled_from(["0", "1"]))
LINKS = st.dictionaries(
    st.one_of(st.sampled_from(sorted(QUERY_KEYS.values()) + ["preset", "step", "e"]), ANY_TEXT.filter(bool)),
    LINK_VALUES,
    max_size=10,
).flatmap(lambda d: st.one_of(st.just(d), EDITS.map(lambda e: {**d, "e": e})))

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=30) | CHOICES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
JSON_EDIT = st.one_of(
    st.tuples(st.sampled_from(EDITABLE), st.integers(-2, 40), st.integers(-2, 40), st.floats()).map(list),
    JSON_VALUES,
)
STATE_FILES = st.fixed_dictionaries(
    {},
    optional={
        **{name: JSON_VALUES for name in QUERY_KEYS},
        "preset": st.one_of(st.sampled_from(["r_vignette", "numpy_seed", "nope"]), JSON_VALUES),
        "edits": st.one_of(st.lists(JSON_EDIT, max_size=8), JSON_VALUES),
    },
)


def check_lab(at: AppTest, params: dict[str, str]) -> None:
    assert not at.exception, (params, [e.value for e in at.exception])
    expected_cfg, _ = config_from_query(params)
    expected = run_lab(expected_cfg).attention.heads[0].weights
    np.testing.assert_allclose(
        z_of(fig(at, "weights")), expected, rtol=1e-6, atol=0
    )  # the parser's config, drawn
    edit_cell(at, "W_q", 0, 0, "0.5")  # and the editors hold it: a person can go on working
    assert not at.exception, (params, [e.value for e in at.exception])
    assert ("W_q", 0, 0) in at.session_state["edits"]


SLOW = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


@SLOW
@given(LINKS)
def test_any_link_opens_a_lab(params: dict[str, str]) -> None:
    check_lab(open_link(params), params)


@SLOW
@given(STATE_FILES)
def test_any_state_file_opens_a_lab(config: dict) -> None:
    params = {COMPACT_KEY: pack({"version": 1, "config": config})}
    check_lab(open_link(params), params)

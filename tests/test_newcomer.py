"""Words for a newcomer (issue 26): a sentence under each page title, grid rows that say what they are,
the exact-value box at 6 significant digits (the link keeps every digit), the contraction hint, the
walkthrough tables at the tutorials' decimals, and the "Mary and John" example explained."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from attention_core import LabConfig, run_lab
from attention_core.pretrained import smollm2
from tests.app_driver import edit_cell
from tests.test_app import plain
from ui.intro import INTROS

ROOT = Path(__file__).resolve().parent.parent


def page(path: str | None = None, **params: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    for k, v in params.items():
        at.query_params[k] = v
    if path:
        at.switch_page(path)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def captions(at: AppTest) -> str:
    return plain(" ".join(c.value for c in at.caption))


@pytest.mark.parametrize(
    ("path", "intro"),
    [
        (None, "playground"),
        ("pages/pytorch_notebook.py", "walkthrough"),
        ("pages/fast_attention.py", "fast_attention"),
        ("pages/real_model.py", "real_model"),
        ("pages/language_model.py", "language_model"),
    ],
)
def test_each_page_says_what_it_shows_and_what_to_try(path: str | None, intro: str) -> None:
    at = page(path)
    assert INTROS[intro] in captions(at)


def test_grid_rows_name_what_they_are() -> None:
    at = page(h="2")
    grid = at.dataframe[0]
    assert "emb dim 0" in str(grid.proto.arrow_data.data) or "emb dim 0" in grid.value.index[0]
    at.radio(key="edit_matrix").set_value("embeddings").run()
    assert list(at.dataframe[0].value.index[:2]) == ["0·Life", "1·is"]
    assert at.selectbox(key="nudge_row::embeddings").format_func(0) == "0·Life"  # the row picker too
    at.radio(key="edit_matrix").set_value("W_o").run()
    assert at.selectbox(key="nudge_row::W_o").format_func(15) == "head 1 out 1"  # d_v 28 / 2 heads = 14 each


def test_exact_value_box_shows_six_significant_digits_and_the_link_keeps_all() -> None:
    at = page()
    value = run_lab(LabConfig()).W_q[0, 0]
    assert at.text_input(key="nudge_text").value == f"{value:.6g}" != repr(float(value))
    edit_cell(at, "W_q", 1, 2, "0.12345678901234567")
    assert at.text_input(key="nudge_text").value == "0.123457"
    link = {k: (v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()}
    assert link["e"] == "W_q:1:2:0.12345678901234566"  # every digit (repr of the double typed)
    at.selectbox(key="nudge_col::W_q").set_value(3).run()  # moving away and back does not round the cell
    at.selectbox(key="nudge_col::W_q").set_value(2).run()
    assert at.session_state["edits"][("W_q", 1, 2)] == 0.12345678901234567


def test_a_split_contraction_is_pointed_out_and_can_be_kept_whole() -> None:
    at = page(s="I didn't know")
    hint = plain(" ".join(c.value for c in at.sidebar.caption))
    assert "Split at the apostrophe: didn't" in hint
    at.checkbox(key="keep_contractions").check().run()
    assert "Split at the apostrophe" not in plain(" ".join(c.value for c in at.sidebar.caption))
    link = {k: (v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()}
    assert link["kc"] == "1"
    again = page(**link)
    assert run_lab(LabConfig(sentence="I didn't know", keep_contractions=True)).tokens_q.tokens == (
        "I",
        "didn't",
        "know",
    )
    assert again.checkbox(key="keep_contractions").value is True


def test_hostile_text_in_the_hint_is_literal() -> None:
    at = page(s="a*b's_c__d__ [x](http://e.org)'y")
    raw = " ".join(c.value for c in at.sidebar.caption)
    assert "b\\'s\\_c\\_\\_d\\_\\_" in raw  # every mark escaped: shown as typed, never bold


def test_pytorch_walkthrough_tables_use_the_tutorials_decimals() -> None:
    at = page("pages/pytorch_notebook.py")
    formats = set()
    for frame in at.dataframe:
        config = json.loads(frame.proto.columns or "{}")
        formats |= {c.get("type_config", {}).get("format") for c in config.values()}
    assert "%.4f" in formats and "%.0f" in formats  # weights at 4 decimals, whole-number matrices at none
    assert None not in formats or len(formats) > 1


def test_mary_and_john_explains_the_task_and_the_heads() -> None:
    at = page("pages/language_model.py")
    at.button(key="lm_example").click().run()
    shown = plain(" ".join(i.value for i in at.info))
    assert "indirect-object identification" in shown
    assert "greedy search" in shown and "L23 H3" in shown and "L1 H5" in shown and "L24 H4" in shown
    assert at.session_state["lm_prompt"] == smollm2.EXAMPLE_PROMPT

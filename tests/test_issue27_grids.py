"""Issue 27, defect 5: grids key cells by position, never by token text.

A sentence that repeats words ("the cat the cat the") with an edited embedding used to replace the lab
with pandas' ``KeyError`` ("Styler.apply … non-unique index") as soon as "Embeddings X" was chosen:
the edited-cell styling used the tokens as the row index. Three clicks from the Learn page, whose
default sentence repeats words.
"""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from attention_core.learn import LEARN_CONFIG
from tests.test_hostile import open_link

ROOT = Path(__file__).resolve().parents[1]
HIGHLIGHT = "#ffd54f"  # the edited cells' background (ui.controls.matrix_grid)


def grid(at: AppTest) -> object:
    return at.dataframe[0]


def assert_edited_grid(at: AppTest, cell: tuple[int, int], tokens: list[str]) -> None:
    assert not at.exception, [e.value for e in at.exception]
    frame = grid(at).value
    assert list(frame.index) == [f"{i}·{t}" for i, t in enumerate(tokens)]  # one label per position
    styles = grid(at).proto.arrow_data.styler.styles
    assert HIGHLIGHT in styles  # the edited cell is still highlighted
    r, c = cell
    assert f"row{r}_col{c}" in styles


def test_repeated_words_with_an_edited_embedding_show_the_grid() -> None:
    at = open_link({"s": "the cat the cat the", "e": "embeddings:2:0:0.5"})
    assert not at.exception
    at.radio(key="edit_matrix").set_value("embeddings").run()
    assert_edited_grid(at, (2, 0), ["the", "cat", "the", "cat", "the"])
    assert grid(at).value.iloc[2, 0] == 0.5  # the edit sits on the third row, not the first "the"
    assert grid(at).value.iloc[0, 0] != 0.5


def test_from_the_learn_page_to_the_embeddings_grid() -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.switch_page("pages/learn.py").run()
    assert not at.exception
    at.button(key="learn_step_button").click().run()
    at.button(key="learn_to_playground").click().run()
    at.switch_page("pages/playground.py").run()  # AppTest stays on the page it was told; the app switched
    assert not at.exception
    tokens = LEARN_CONFIG.sentence.split()
    assert len(set(tokens)) < len(tokens)  # the Learn page's sentence repeats words
    at.radio(key="edit_matrix").set_value("embeddings").run()
    assert not at.exception, [e.value for e in at.exception]
    edited = sorted((r, c) for m, r, c in at.session_state["edits"] if m == "embeddings")
    assert edited
    assert_edited_grid(at, edited[0], list(grid(at).value.index.str.split("·", n=1).str[1]))

"""Hand edits: ``edits`` {(matrix, row, col): value} is the truth about what was typed.

``edit_bases`` keeps, for each edited matrix, a fingerprint of the generated matrix the edits were
typed on. When a new seed or shape changes that matrix, its edits are moved to ``stash`` (never
dropped) and the page offers them back. Undo keeps the last states of ``edits``; the nudge slider
and box edit one chosen cell.
"""

from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st

from attention_core import ValidationError
from attention_core.settings import parse_number
from ui.live_slider import received

Cell = tuple[str, int, int]


def fingerprint(m: np.ndarray) -> str:
    """A short hash of a matrix's shape and exact values."""
    h = hashlib.sha1(str(m.shape).encode())
    h.update(np.ascontiguousarray(m, dtype=np.float64).tobytes())
    return h.hexdigest()[:16]


def reconcile_edits(base: dict[str, np.ndarray]) -> list[str]:
    """Set aside the edits whose matrix was regenerated; return the matrices affected.

    Edits typed on W_q stay as long as W_q's generated values are the same
    (changing the scaling or the mask keeps them; a new seed does not).
    """
    edits: dict[Cell, float] = st.session_state["edits"]
    bases: dict[str, str] = st.session_state["edit_bases"]
    moved: dict[Cell, float] = {}
    for name in sorted({m for m, _, _ in edits}):
        current = fingerprint(base[name]) if name in base else None
        if name not in bases and current is not None:
            bases[name] = current  # first sight (e.g. loaded from a preset or a link)
        elif bases.get(name) != current:
            moved.update({cell: v for cell, v in edits.items() if cell[0] == name})
            bases.pop(name, None)
    if moved:
        st.session_state["edits"] = {c: v for c, v in edits.items() if c not in moved}
        st.session_state["stash"] = moved
        st.session_state["editor_generation"] += 1
    return sorted({m for m, _, _ in moved})


def restore_stash(base: dict[str, np.ndarray]) -> int:
    """Re-apply stashed edits to the current matrices (cells that still exist); return how many."""
    stash: dict[Cell, float] = st.session_state.get("stash") or {}
    kept = {
        (m, r, c): v
        for (m, r, c), v in stash.items()
        if m in base and r < base[m].shape[0] and c < base[m].shape[1]
    }
    st.session_state["edits"] = {**st.session_state["edits"], **kept}
    for m in {m for m, _, _ in kept}:
        st.session_state["edit_bases"][m] = fingerprint(base[m])
    st.session_state["stash"] = None
    st.session_state["editor_generation"] += 1
    return len(kept)


def discard_stash() -> None:
    st.session_state["stash"] = None


#: Undo remembers this many earlier states of the edits.
UNDO_DEPTH = 50


def set_matrix_edits(name: str, cells: dict[tuple[int, int], float], base: np.ndarray) -> None:
    """Replace the edits of matrix ``name`` by ``cells`` (typed on ``base``); the previous edits
    go on the undo stack."""
    history: list = st.session_state.setdefault("edit_history", [])
    history.append(dict(st.session_state["edits"]))
    del history[:-UNDO_DEPTH]
    st.session_state["edits_before_last_edit"] = dict(st.session_state["edits"])
    others = {c: v for c, v in st.session_state["edits"].items() if c[0] != name}
    st.session_state["edits"] = {**others, **{(name, r, c): v for (r, c), v in cells.items()}}
    st.session_state["edit_bases"][name] = fingerprint(base)


def undo_last_edit() -> None:
    """Back to the edits before the last change (the grids are rebuilt from them)."""
    history: list = st.session_state.get("edit_history") or []
    if history:
        st.session_state["edits"] = history.pop()
        st.session_state["editor_generation"] += 1
        st.session_state.pop("nudge_target", None)


def reset_edits() -> None:
    st.session_state.setdefault("edit_history", []).append(dict(st.session_state["edits"]))
    st.session_state["edits"] = {}
    st.session_state["edit_bases"] = {}
    st.session_state["stash"] = None
    st.session_state["editor_generation"] += 1


def refuse_last_edit(why: str) -> None:
    """The last edit made the lab fail (e.g. Q overflowed float64): undo it and say why, once."""
    undo_last_edit()
    st.session_state["edit_refused"] = f"{why}. The edit was undone."


def take_edit_refused() -> str | None:
    return st.session_state.pop("edit_refused", None)


def set_cell(name: str, r: int, c: int, value: float, base: np.ndarray) -> None:
    """One cell's new value (from the nudge slider or box), as a hand edit."""
    cells = {(rr, cc): v for (m, rr, cc), v in st.session_state["edits"].items() if m == name}
    cells[(r, c)] = float(value)
    set_matrix_edits(name, cells, base)
    # (the grid keeps its key: it shows the new value in place, and re-creating it on every value of a
    # drag is slow)
    st.session_state["nudge_target"] = (name, r, c, float(value))
    st.session_state["nudge_text"] = shown_value(float(value))  # the exact-value box follows the slider


def nudge_cell(name: str, rows: int, cols: int) -> tuple[int, int]:
    """The cell of matrix ``name`` chosen for nudging, kept inside its shape (before the row and
    column selectors are drawn: their keys hold the choice)."""
    cell = []
    for axis, size in (("row", rows), ("col", cols)):
        key = f"nudge_{axis}::{name}"
        value = st.session_state.get(key, 0)
        if not isinstance(value, int) or not 0 <= value < size:
            st.session_state[key] = value = 0
        cell.append(value)
    return cell[0], cell[1]


def grid_selected(name: str, r: int, c: int) -> None:
    """A cell selected in the grid chooses it for the nudge (only when the selection changed, so the
    row/column selectors keep working while the grid's selection stays)."""
    if st.session_state.get("grid_seen") != (name, r, c):
        st.session_state["grid_seen"] = (name, r, c)
        for axis, value in (("row", r), ("col", c)):
            st.session_state[f"nudge_{axis}::{name}"] = value


def shown_value(value: float) -> str:
    """A cell's value as the exact-value box shows it: 6 significant digits (the link, the state file
    and the exports keep all 17)."""
    return f"{value:.6g}"


def prime_nudge(name: str, r: int, c: int, value: float) -> None:
    """Before the nudge widgets are drawn: they show the chosen cell's value in force, to 6 significant
    digits (:func:`shown_value`; a newcomer met a cut-off 17-digit number). The cell keeps every digit
    until a number is typed: the box's callback runs only when its text changes."""
    if st.session_state.get("nudge_target") != (name, r, c, float(value)):
        st.session_state["nudge_target"] = (name, r, c, float(value))
        st.session_state["nudge_text"] = shown_value(float(value))
        st.session_state.pop("nudge_error", None)


def on_nudge_live(name: str, r: int, c: int, base: np.ndarray, lo: float, hi: float) -> None:
    """A value the live slider sent (during a drag, or a key press): ignored unless it is a finite
    number inside the slider's range."""
    value = received(st.session_state.get("nudge_live"), lo, hi)
    if value is not None:
        set_cell(name, r, c, value, base)
        st.session_state.pop("nudge_error", None)


def on_nudge_text(name: str, r: int, c: int, base: np.ndarray) -> None:
    text = st.session_state["nudge_text"]
    try:
        value = parse_number(text)
    except ValidationError as exc:
        st.session_state["nudge_error"] = (
            f"Not a finite number in {name}[{r}, {c}]: {exc}. It keeps its value."
        )
        return
    st.session_state.pop("nudge_error", None)
    set_cell(name, r, c, value, base)


def nudge_error() -> str | None:
    return st.session_state.get("nudge_error")

"""Session state of the Playground: widget values, hand edits, the last good trace.

Streamlit keeps each widget's value under its key in ``st.session_state``; this
module is the one place that maps those keys to a :class:`LabConfig` and back,
and that keeps the person's hand edits safe:

* ``edits``: {(matrix, row, col): value}, the truth about what was typed;
* ``edit_bases``: for each edited matrix, a fingerprint of the generated matrix
  the edits were typed on. When a new seed or shape changes that matrix, its
  edits are moved to ``stash`` (never dropped) and the page offers them back.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Hashable
from typing import Any, NamedTuple, TypeVar

import numpy as np
import streamlit as st

from attention_core import LabConfig, LabTrace, ValidationError, run_lab
from attention_core.budget import TRACE_BUDGET_BYTES
from attention_core.cache import ByteLRU, nbytes
from attention_core.lab import make_holdable
from attention_core.serialize import (
    TOO_LONG_KEY,
    HeadReference,
    LinkTooLong,
    config_from_query,
    config_to_query,
    link_reference,
)
from attention_core.settings import parse_number
from ui.live_slider import received
from ui.palettes import PALETTES
from ui.text import literal

T = TypeVar("T")

Cell = tuple[str, int, int]


def _fields(cfg: LabConfig) -> dict[str, Any]:
    return {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg) if f.name != "edits"}


class RealHead(NamedTuple):
    """The real model's head loaded in the Playground, and where it came from."""

    playground_sentence: str  # its WordPiece tokens spelled out for the Playground ("CLS life …")
    sentence: str  # the sentence the model read
    layer: int
    head: int
    model: str = "all-MiniLM-L6-v2"  # which model
    page: str = "Real model"  # the page it came from


def open_real_head(cfg: LabConfig, head: RealHead) -> None:
    """Ask the Playground to load a real model's head (``cfg`` holds its matrices)."""
    request_config(cfg)
    st.session_state["real_head"] = head


#: The page each real model's head is opened from.
REAL_HEAD_PAGES = {"all-MiniLM-L6-v2": "Real model", "SmolLM2-135M": "Language model"}


def head_reference(cfg: LabConfig) -> HeadReference | None:
    """Where the real head in ``cfg`` comes from (its link and state file carry this), or None."""
    head = st.session_state.get("real_head")
    if not cfg.given or head is None:
        return None
    return HeadReference(head.model, head.sentence, head.layer, head.head)


def remember_real_head(cfg: LabConfig, ref: HeadReference | None) -> None:
    """A link or state file opened a real model's head: the banner, the next link and file name it."""
    if cfg.given and ref is not None:
        st.session_state["real_head"] = RealHead(cfg.sentence, ref.sentence, ref.layer, ref.head, ref.model,
                                                 REAL_HEAD_PAGES.get(ref.model, "a model"))


def ensure_defaults() -> None:
    """Give every key a value once per session.

    Widget values outlive a run that does not draw them (presentation mode, another
    page) because every widget is created with ``persist_state="session"``.
    """
    for name, value in _fields(LabConfig()).items():
        st.session_state.setdefault(name, value)
    st.session_state.setdefault("seed_slider", min(LabConfig().seed, 1000))
    st.session_state.setdefault("seed_exact", str(st.session_state["seed"]))
    st.session_state.setdefault("scale_custom", float(st.session_state["scale_value"]))
    st.session_state.setdefault("present", False)
    st.session_state.setdefault("step", 0)
    st.session_state.setdefault("big_type", False)
    st.session_state.setdefault("palette", "default")
    st.session_state.setdefault("image_format", "png")
    st.session_state.setdefault("edit_matrix", "W_q")
    st.session_state.setdefault("edits", {})
    st.session_state.setdefault("edit_bases", {})
    st.session_state.setdefault("stash", None)
    st.session_state.setdefault("editor_generation", 0)


def load_config(cfg: LabConfig) -> None:
    """Put ``cfg`` (and its hand edits) into the session; call before widgets are drawn.

    ``cfg`` must be holdable (:func:`attention_core.lab.make_holdable`): every value then fits
    its widget and every edit its matrix. :func:`consume_pending` makes sure of that.
    """
    for name, value in _fields(cfg).items():
        st.session_state[name] = value
    st.session_state["seed_slider"] = cfg.seed if 0 <= cfg.seed <= 1000 else st.session_state.get("seed_slider", 0)
    st.session_state["seed_exact"] = str(cfg.seed)
    st.session_state["scale_custom"] = float(cfg.scale_value)
    st.session_state["edits"] = cfg.edit_dict()
    st.session_state["edit_bases"] = {}  # fingerprinted on the first run
    st.session_state["stash"] = None
    st.session_state["editor_generation"] += 1  # editors start afresh from the loaded matrices


#: The presentation step a link may ask for is a small whole number in ASCII digits.
_MAX_STEP = 100


def _link_step(text: str | None) -> tuple[int, str | None]:
    """(step, message): ``str.isdigit`` also takes "²" and "١", which ``int`` refuses."""
    if not text:
        return 0, None
    if text.isascii() and text.isdigit() and int(text) < _MAX_STEP:
        return int(text), None
    return 0, f"ignored 'step': must be a whole number below {_MAX_STEP}"


def load_url_once() -> None:
    """On a session's first run, take the configuration from the link it was opened with.

    What the link gets wrong is listed (``url_messages``) and ignored; the rest
    is applied (the parser never raises and returns a configuration the widgets hold).
    Later runs write the state back (:func:`write_url`), so a reload, a restarted
    server or a shared address bar brings the same state back.
    """
    if st.session_state.get("url_loaded"):
        return
    st.session_state["url_loaded"] = True
    params = {str(k): str(st.query_params.get(k) or "") for k in st.query_params}
    if not params:
        return
    cfg, messages = config_from_query(params)
    remember_real_head(cfg, link_reference(params) if cfg.given else None)
    if params.get(TOO_LONG_KEY):
        messages.append("this link was made from a state too large for a link, so it does not hold that state: "
                        "ask for its state file (Share, export, import)")
    st.session_state["pending_config"] = cfg
    st.session_state["present"] = params.get("present") == "1"
    st.session_state["step"], problem = _link_step(params.get("step"))
    if problem:
        messages.append(problem)
    if params.get("pal") in PALETTES:
        st.session_state["palette"] = params["pal"]
    elif "pal" in params:
        messages.append(f"ignored 'pal': the palettes are {', '.join(PALETTES)}")
    st.session_state["url_messages"] = messages


def write_url(cfg: LabConfig) -> None:
    """Keep the address bar equal to the state on screen (only when it changed).

    Never a link the app cannot read back: a state too large even for the compressed form
    leaves a marker instead (the reader says so), and ``link_problem`` tells the person once.
    """
    try:
        params = config_to_query(cfg, head_reference(cfg))
        problem = None
    except LinkTooLong as exc:
        params, problem = {TOO_LONG_KEY: "1"}, str(exc)
    except ValidationError as exc:  # a real model's head: its matrices do not travel in a link
        params, problem = {}, str(exc)
    if problem and st.session_state.get("link_problem") != problem and TOO_LONG_KEY in params:
        st.toast(literal(f"The address bar no longer holds this state: {problem}."), icon="⚠️")
    st.session_state["link_problem"] = problem
    if st.session_state.get("present"):
        params.update(present="1", step=str(st.session_state.get("step", 0)))
    if st.session_state.get("palette", "default") != "default":
        params["pal"] = st.session_state["palette"]
    # Compare with the address bar itself, not with what we last wrote: a page switch clears it.
    if {k: st.query_params.get(k) for k in st.query_params} != params:
        st.query_params.from_dict(params)


def link_problem() -> str | None:
    """Why the address bar does not hold the state on screen (too large, a real head), or None."""
    return st.session_state.get("link_problem")


def share_link(params: dict[str, str]) -> str:
    """The full address of this page with ``params``."""
    from urllib.parse import urlencode

    url = getattr(getattr(st, "context", None), "url", None) or ""
    base = url.split("?")[0]
    return f"{base}?{urlencode(params)}" if params else base


def request_config(cfg: LabConfig, messages: list[str] | None = None) -> None:
    """Ask the Playground to load ``cfg`` on its next run (a walkthrough page's button, a state
    file); ``messages`` say what of it was ignored and are shown with the lab."""
    st.session_state["pending_config"] = cfg
    if messages:
        st.session_state["url_messages"] = list(st.session_state.get("url_messages") or []) + list(messages)


def consume_pending() -> None:
    """Load the configuration a link, a file or another page asked for, made holdable first
    (a setting that does not fit goes back, an edit outside its matrix is dropped: each said)."""
    cfg = st.session_state.pop("pending_config", None)
    if cfg is None:
        return
    held, messages = make_holdable(cfg)
    if messages:
        st.session_state["url_messages"] = list(st.session_state.get("url_messages") or []) + messages
    load_config(held)


def config_without_edits() -> LabConfig:
    """The configuration the widgets describe, before hand edits."""
    return LabConfig(**{name: st.session_state[name] for name in _fields(LabConfig())})


# ----------------------------------------------------------------------------- widget callbacks
SEED_SLIDER_MAX = 1000


def replace_setting(name: str, value: object) -> None:
    """Put a setting back inside its widget's options (before the widget is drawn), e.g. a
    number of heads that no longer divides d_k."""
    st.session_state[name] = value


def on_seed_slider() -> None:
    st.session_state["seed"] = int(st.session_state["seed_slider"])
    st.session_state["seed_exact"] = str(st.session_state["seed"])
    st.session_state.pop("seed_error", None)


def on_seed_exact() -> None:
    text = str(st.session_state["seed_exact"]).strip()
    try:
        seed = int(text)
    except ValueError:
        st.session_state["seed_error"] = f"'{text[:40]}' is not a whole number; the seed stays {st.session_state['seed']}."
        return
    if not -(2**31) <= seed < 2**32:
        st.session_state["seed_error"] = (
            f"{text[:40]} is outside the 32-bit range (-2147483648 … 4294967295); "
            f"the seed stays {st.session_state['seed']}."
        )
        return
    st.session_state.pop("seed_error", None)
    st.session_state["seed"] = seed
    if 0 <= seed <= SEED_SLIDER_MAX:
        st.session_state["seed_slider"] = seed


def on_scale_slider() -> None:
    st.session_state["scale_mode"] = "custom"
    st.session_state["scale_value"] = float(st.session_state["scale_custom"])


def clamp_stage(n_stages: int) -> int:
    """The presentation stage in force, inside 0 … n_stages − 1 (a link may ask for any)."""
    step = max(0, min(n_stages - 1, int(st.session_state.get("step", 0))))
    st.session_state["step"] = step
    return step


def go_stage(delta: int, n_stages: int) -> None:
    st.session_state["step"] = max(0, min(n_stages - 1, int(st.session_state.get("step", 0)) + delta))


def mirror_sentence() -> None:
    """Presentation mode's sentence box starts from the sentence in force."""
    st.session_state["present_sentence"] = st.session_state["sentence"]


def on_present_sentence() -> None:
    st.session_state["sentence"] = st.session_state["present_sentence"]


def exit_presentation() -> None:
    st.session_state["present"] = False


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
        (m, r, c): v for (m, r, c), v in stash.items()
        if m in base and r < base[m].shape[0] and c < base[m].shape[1]
    }
    st.session_state["edits"] = {**st.session_state["edits"], **kept}
    for m in {m for m, _, _ in kept}:
        st.session_state["edit_bases"][m] = fingerprint(base[m])
    st.session_state["stash"] = None
    st.session_state["editor_generation"] += 1
    return len(kept)


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


def set_cell(name: str, r: int, c: int, value: float, base: np.ndarray) -> None:
    """One cell's new value (from the nudge slider or box), as a hand edit."""
    cells = {(rr, cc): v for (m, rr, cc), v in st.session_state["edits"].items() if m == name}
    cells[(r, c)] = float(value)
    set_matrix_edits(name, cells, base)
    # (the grid keeps its key: it shows the new value in place, and re-creating it on every value of a drag is slow)
    st.session_state["nudge_target"] = (name, r, c, float(value))
    st.session_state["nudge_text"] = repr(float(value))  # the exact-value box follows the slider


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


def prime_nudge(name: str, r: int, c: int, value: float) -> None:
    """Before the nudge widgets are drawn: they show the chosen cell's value in force."""
    if st.session_state.get("nudge_target") != (name, r, c, float(value)):
        st.session_state["nudge_target"] = (name, r, c, float(value))
        st.session_state["nudge_text"] = repr(float(value))
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
        st.session_state["nudge_error"] = f"Not a finite number in {name}[{r}, {c}]: {exc}. It keeps its value."
        return
    st.session_state.pop("nudge_error", None)
    set_cell(name, r, c, value, base)


def nudge_error() -> str | None:
    return st.session_state.get("nudge_error")


def select_weight(cell: tuple[int, int] | None) -> None:
    """The weight whose arithmetic is shown (None: none); it stays until another is chosen."""
    st.session_state["explained"] = cell


def shuffle_words(n: int) -> None:
    """A new seeded shuffle of n positions (the k-th press always gives the same one)."""
    count = int(st.session_state.get("shuffle_count", 0)) + 1
    st.session_state["shuffle_count"] = count
    st.session_state["shuffle_perm"] = np.random.default_rng(count).permutation(n).tolist()


def current_shuffle(n: int) -> list[int] | None:
    """The shuffle in force, if it still fits a sentence of n tokens."""
    perm = st.session_state.get("shuffle_perm")
    return perm if perm is not None and len(perm) == n else None


def focus_head(head: int, n_heads: int) -> None:
    """Show head ``head`` (a click on its tile among all heads)."""
    if 0 <= head < n_heads:
        st.session_state["head_shown"] = head


def keep_choice(key: str, options: list[str], default: str) -> None:
    """Before a choice widget is drawn: its value must be one of ``options`` (the matrices change)."""
    if st.session_state.get(key) not in options:
        st.session_state[key] = default


def keep_in_range(key: str, most: int) -> None:
    """Before a widget or view reads ``key``: a step counter stays within 0 … most."""
    if st.session_state.get(key, 0) > most:
        st.session_state[key] = most


def move_step(key: str, delta: int, most: int) -> None:
    """A previous/next button: move the step counter ``key`` by ``delta`` within 0 … most."""
    st.session_state[key] = max(0, min(most, int(st.session_state.get(key, 0)) + delta))


def take_url_messages() -> list[str]:
    return st.session_state.pop("url_messages", None) or []


def remember_good(trace: LabTrace) -> None:
    """The last configuration that computed, shown again while a setting is being fixed. Only the
    configuration is kept (bytes), not its trace (up to hundreds of MB): the shared cache has it."""
    st.session_state["last_good_config"] = trace.config


def last_good_trace() -> LabTrace | None:
    cfg = st.session_state.get("last_good_config")
    return None if cfg is None else cached_run_lab(cfg)


def discard_stash() -> None:
    st.session_state["stash"] = None


def reset_edits() -> None:
    st.session_state.setdefault("edit_history", []).append(dict(st.session_state["edits"]))
    st.session_state["edits"] = {}
    st.session_state["edit_bases"] = {}
    st.session_state["stash"] = None
    st.session_state["editor_generation"] += 1


#: Traces kept for all sessions of one server process together (a byte bound, not a count): the largest
#: trace the budget allows and its figures fit, so no allowed state is computed twice on a rerun that
#: changes nothing (at 200 MB a 282 MB trace was never kept: two computations per rerun).
SHARED_CACHE_BYTES = TRACE_BUDGET_BYTES + 64 * 2**20


@st.cache_resource(show_spinner=False)
def shared_traces() -> ByteLRU:
    """The process-wide trace cache (one object per server process, shared by every session)."""
    return ByteLRU(SHARED_CACHE_BYTES)


def cached_run_lab(cfg: LabConfig) -> LabTrace:
    """run_lab, once per distinct configuration per server: a hundred students opening the same link
    compute it once and share it (traces are never mutated)."""
    return shared_traces().get_or_compute(cfg, lambda: run_lab(cfg), nbytes)


def shared_view(trace: LabTrace, what: Hashable, build: Callable[[], T], size: Callable[[T], int]) -> T:
    """A display object derived from ``trace`` alone (a Plotly figure, an Arrow table), built once per
    server for every session that shows the same configuration, in the traces' byte-bounded cache.
    ``what`` names the object and every argument it was built with besides the trace."""
    return shared_traces().get_or_compute(("view", trace.config, what), build, size)


def refuse_last_edit(why: str) -> None:
    """The last edit made the lab fail (e.g. Q overflowed float64): undo it and say why, once."""
    undo_last_edit()
    st.session_state["edit_refused"] = f"{why}. The edit was undone."


def take_edit_refused() -> str | None:
    return st.session_state.pop("edit_refused", None)

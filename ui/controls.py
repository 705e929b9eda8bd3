"""Widgets of the Playground: the sidebar settings and the matrix editors.

Each widget writes to the session-state key of the LabConfig field it sets
(see :mod:`ui.state`). Messages about a setting are written into a placeholder
right under its widget, so they appear next to what the person touched.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import streamlit as st

from attention_core import LabConfig, LabTrace, ValidationError
from attention_core.serialize import cap_messages
from attention_core.settings import settings_of
from attention_core.tokenize import split_contractions
from ui import shared, state, views
from ui.live_slider import live_slider
from ui.palettes import PALETTES
from ui.state.widgets import SEED_SLIDER_MAX
from ui.text import literal

#: Every field's declared setting (attention_core.lab): the widgets read their limits from it.
FIELDS = settings_of(LabConfig)


def _limits(name: str) -> dict:
    """A number widget's min_value and max_value: the field's own."""
    return {"min_value": FIELDS[name].lo, "max_value": FIELDS[name].hi}


SCALE_LABELS = {
    "sqrt_dk": "1/√d_k (default)",
    "sqrt_n": "1/√n (R package)",
    "none": "none (1)",
    "custom": "custom (slider)",
}
SOURCE_LABELS = {"torch": "PyTorch-compatible", "numpy": "NumPy (legacy seed)", "r": "R-compatible"}
INIT_LABELS = {
    "kaiming": "normal × √(2/d_in) (He)",
    "int3": "integers 0, 1, 2",
    "uniform": "uniform [0, 1)",
    "normal": "normal N(0, 1)",
}
POSITION_LABELS = {
    "none": "none (order is invisible)",
    "sinusoidal": "sinusoidal table added to X",
    "learned": "learned table added to X (seeded)",
    "rope": "RoPE (rotates Q and K)",
    "alibi": "ALiBi (distance penalty on the scores)",
}
ORDER_LABELS = {
    "weights_first": "weights first (a new word keeps them)",
    "table_first": "embedding table first (the tutorials' order)",
}
EMBEDDING_LABELS = {"random": "seeded random (nn.Embedding)", "one_hot": "one-hot", "manual": "typed by hand"}


def _divisors(n: int) -> list[int]:
    return [k for k in range(1, n + 1) if n % k == 0]


def sidebar(present: bool = False) -> dict[str, st.delta_generator.DeltaGenerator]:
    """Draw the settings; return a message placeholder under each group, by field name.

    In presentation mode only the mode switch and the sentence are drawn; every
    other setting keeps its value (see :func:`ui.state.ensure_defaults`).
    """
    msg: dict[str, st.delta_generator.DeltaGenerator] = {}
    sb = st.sidebar
    sb.toggle(
        "Presentation mode (large type, one stage at a time; ← → to step)",
        key="present",
        persist_state="session",
    )
    if present:  # presentation mode draws the sentence itself, above the stage
        msg["sentence"] = st.empty()
        for name in (
            "cross_sentence",
            "embedding",
            "d_model",
            "d_k",
            "d_v",
            "projections",
            "random_source",
            "init",
            "embedding_init",
            "seed",
            "scale",
            "n_heads",
        ):
            msg[name] = msg["sentence"]
        return msg
    sb.header("Sentence")
    sb.text_input(
        "Sentence",
        key="sentence",
        persist_state="session",
        max_chars=FIELDS["sentence"].max_chars,
        help="Press Enter to apply.",
    )
    msg["sentence"] = sb.empty()
    sb.text_input(
        "Second sentence (cross-attention: keys and values come from it)",
        key="cross_sentence",
        persist_state="session",
        max_chars=FIELDS["cross_sentence"].max_chars,
        placeholder="leave empty for self-attention",
    )
    msg["cross_sentence"] = sb.empty()
    c1, c2 = sb.columns(2)
    c1.checkbox("lowercase", key="lowercase", persist_state="session")
    c2.checkbox("keep punctuation", key="keep_punctuation", persist_state="session")
    sb.checkbox(
        "keep contractions whole (didn't)",
        key="keep_contractions",
        persist_state="session",
        help='Off (the tutorials\' tokenizer): an apostrophe splits a word, "didn\'t" → "didn", "t".',
    )
    split = (
        []
        if st.session_state["keep_contractions"]
        else split_contractions(st.session_state["sentence"] + " " + st.session_state["cross_sentence"])
    )
    if split:
        sb.caption(
            literal(
                f"Split at the apostrophe: {', '.join(split[:4])}{' …' if len(split) > 4 else ''} "
                "(each becomes two tokens); tick 'keep contractions whole' to keep them as one."
            )
        )

    sb.header("Embeddings and sizes")
    sb.radio(
        "Embeddings",
        list(EMBEDDING_LABELS),
        format_func=EMBEDDING_LABELS.get,
        key="embedding",
        persist_state="session",
    )
    msg["embedding"] = sb.empty()
    c1, c2, c3 = sb.columns(3)
    c1.number_input("d_model", **_limits("d_model"), step=1, key="d_model", persist_state="session")
    c2.number_input(
        "d_k",
        **_limits("d_k"),
        step=1,
        key="d_k",
        persist_state="session",
        disabled=not st.session_state["projections"],
    )
    c3.number_input(
        "d_v",
        **_limits("d_v"),
        step=1,
        key="d_v",
        persist_state="session",
        disabled=not st.session_state["projections"],
    )
    sb.checkbox("Projections W_q, W_k, W_v (off: Q = K = V = X)", key="projections", persist_state="session")
    msg["d_model"] = msg["d_k"] = msg["d_v"] = msg["projections"] = sb.empty()

    sb.header("Random numbers")
    sb.selectbox(
        "Random source",
        list(SOURCE_LABELS),
        format_func=SOURCE_LABELS.get,
        key="random_source",
        persist_state="session",
    )
    msg["random_source"] = sb.empty()
    # R's vignette draws with runif only; its normal generator (inversion) is not reproduced here.
    inits = [
        k for k in INIT_LABELS if st.session_state["random_source"] != "r" or k not in ("normal", "kaiming")
    ]
    notes = []
    for key in ("init", "embedding_init"):
        if st.session_state[key] not in inits:
            state.replace_setting(key, "uniform")
            notes.append(f"The R-compatible source draws integers or uniform numbers; {key} is now uniform.")
    sb.selectbox("Weights drawn as", inits, format_func=INIT_LABELS.get, key="init", persist_state="session")
    if st.session_state["embedding"] == "random":
        sb.selectbox(
            "Embeddings drawn as",
            inits,
            format_func=INIT_LABELS.get,
            key="embedding_init",
            persist_state="session",
        )
    sb.selectbox(
        "Draw order",
        list(ORDER_LABELS),
        format_func=ORDER_LABELS.get,
        key="draw_order",
        persist_state="session",
        help="The tutorials draw the embedding table of the sentence's words "
        "first, so one new word changes every weight drawn after it.",
    )
    msg["init"] = msg["embedding_init"] = msg["draw_order"] = sb.empty()
    if notes:
        msg["init"].info(literal(" ".join(notes)))
    sb.slider(
        "Seed", 0, SEED_SLIDER_MAX, key="seed_slider", persist_state="session", on_change=state.on_seed_slider
    )
    sb.text_input(
        "Exact seed",
        key="seed_exact",
        help="Any whole number the random source takes, as its tool does: NumPy 0 … 2³² − 1, "
        "R −(2³¹ − 1) … 2³¹ − 1, torch −2⁶³ … 2⁶⁴ − 1.",
        persist_state="session",
        on_change=state.on_seed_exact,
    )
    msg["seed"] = sb.empty()
    if st.session_state.get("seed_error"):
        msg["seed"].error(literal(st.session_state["seed_error"]))
    sb.header("Scaling, mask, heads")
    sb.radio(
        "Scale the scores by",
        list(SCALE_LABELS),
        format_func=SCALE_LABELS.get,
        key="scale_mode",
        persist_state="session",
    )
    sb.slider(
        "Scale factor (custom)",
        FIELDS["scale_value"].lo,
        FIELDS["scale_value"].hi,
        step=0.01,
        key="scale_custom",
        persist_state="session",
        on_change=state.on_scale_slider,
    )
    msg["scale"] = sb.empty()
    sb.toggle(
        "Causal mask (a token sees only itself and earlier tokens)", key="causal", persist_state="session"
    )
    width_k = st.session_state["d_k"] if st.session_state["projections"] else st.session_state["d_model"]
    width_v = st.session_state["d_v"] if st.session_state["projections"] else st.session_state["d_model"]
    options = _divisors(math.gcd(int(width_k), int(width_v)))
    note = None
    if st.session_state["n_heads"] not in options:
        note = (
            f"{st.session_state['n_heads']} heads must divide d_k = {width_k} and d_v = {width_v}; "
            "using 1 head."
        )
        state.replace_setting("n_heads", 1)
    sb.selectbox("Heads (values that divide d_k and d_v)", options, key="n_heads", persist_state="session")
    msg["n_heads"] = sb.empty()
    if note:
        msg["n_heads"].warning(literal(note))
    n_heads = int(st.session_state["n_heads"])
    kv_options = [0] + [k for k in _divisors(n_heads) if k < n_heads]
    state.keep_choice("n_kv_heads", kv_options, 0)
    if n_heads > 1 and st.session_state["projections"]:  # (a disabled widget's faded label fails contrast)
        sb.selectbox(
            "Key/value heads (grouped-query attention)",
            kv_options,
            key="n_kv_heads",
            persist_state="session",
            format_func=lambda k: (
                "one per head" if k == 0 else f"{k} shared ({n_heads // k} query heads each)"
            ),
        )
    msg["n_kv_heads"] = sb.empty()

    sb.selectbox(
        "Colours",
        PALETTES,
        key="palette",
        persist_state="session",
        format_func={
            "default": "default (Viridis, blue–orange)",
            "colour-blind": "colour-blind safe (Cividis)",
            "high-contrast": "high contrast (projectors)",
        }.get,
        help="Every palette keeps its lightness order under red–green and blue–yellow colour blindness.",
    )
    sb.header("Positions")
    sb.selectbox(
        "Where a word stands",
        list(POSITION_LABELS),
        format_func=POSITION_LABELS.get,
        key="positions",
        persist_state="session",
    )
    if st.session_state["positions"] == "rope":
        sb.number_input("RoPE base", **_limits("rope_base"), key="rope_base", persist_state="session")
    sb.number_input(
        "Sliding window (0 = none; implies the causal mask)",
        **_limits("window"),
        step=1,
        key="window",
        persist_state="session",
    )
    msg["positions"] = msg["rope_base"] = msg["window"] = sb.empty()
    return msg


#: The sentence box on the page itself (its key); shown on narrow screens only (see views.COMPACT).
PAGE_SENTENCE = "page_sentence"


def page_sentence() -> None:
    """The sentence on the page, for a phone: there the sidebar starts collapsed, and a newcomer
    would not find the sentence in it. Wider screens hide this box (CSS) and use the sidebar's."""
    state.mirror_sentence(PAGE_SENTENCE)
    st.text_input(
        "Your sentence (press Enter)",
        key=PAGE_SENTENCE,
        max_chars=FIELDS["sentence"].max_chars,
        on_change=state.on_present_sentence,
        args=(PAGE_SENTENCE,),
        disabled=bool(st.session_state.get("given")),
    )


def _leave_real_head() -> None:
    """Back to the toy lab with the sentence the real head was computed for (default settings)."""
    loaded = st.session_state.pop("real_head", None)
    state.load_config(LabConfig(sentence=loaded.sentence if loaded else LabConfig().sentence))


def real_head_banner() -> None:
    """Say that a real model's head is loaded, what that fixes, and how to leave it."""
    loaded = st.session_state.get("real_head")
    which = f"layer {loaded.layer}, head {loaded.head} of {loaded.model}" if loaded else "a real model's head"
    page = loaded.page if loaded else "a model"
    c1, c2 = st.columns([4, 1])
    c1.info(
        literal(
            f"Loaded from the {page} page: {which}. Its embeddings (the layer's input vectors), W_Q, W_K, "
            "W_V and biases are given outright, so the sentence, sizes and random settings in the sidebar "
            "cannot change them; the scaling, the mask and every cell below can."
        )
    )
    c2.button(
        "Leave the real head",
        on_click=_leave_real_head,
        help="Back to the toy lab with your sentence and the default settings; edits to the real head are "
        "dropped (export them first if you want to keep them).",
    )


def row_labels(trace: LabTrace, name: str) -> list[str]:
    """How the rows of matrix ``name`` are labelled in editors and heatmaps."""
    if name == "embeddings":
        return list(trace.tokens_q.tokens)
    if name == "embeddings_kv":
        return list(trace.tokens_kv.tokens)
    if name.startswith("b_"):
        return ["bias"]
    rows = trace.base[name].shape[0]
    if name == "W_o":  # row i multiplies number i of the heads' outputs laid side by side
        per_head = max(1, rows // trace.attention.n_heads)
        return [
            f"head {i // per_head} out {i % per_head}" if trace.attention.n_heads > 1 else f"out dim {i}"
            for i in range(rows)
        ]
    # W_Q, W_K, W_V: row i multiplies number i of each token's embedding (x W: the row is x's dimension)
    return [f"emb dim {i}" for i in range(rows)]


def grid_row_labels(trace: LabTrace, name: str) -> list[str]:
    """A grid's row labels, one per position and never equal to another's: the styling of edited cells
    (pandas' Styler) keys cells by label, and a sentence repeats words ("the cat the cat the"), so a
    token row is labelled by its position and its text, as the heatmaps' hover names it ("2·the")."""
    labels = row_labels(trace, name)
    if name in ("embeddings", "embeddings_kv"):
        return [f"{i}·{t}" for i, t in enumerate(labels)]
    return labels


#: Edited cells are highlighted in grids up to this many cells (styling is per cell).
MAX_STYLED_CELLS = 4096


def matrix_grid(name: str, label: str, trace: LabTrace, *, height: int = 215) -> None:
    """Matrix ``name`` as a grid with its edited cells highlighted; selecting a cell chooses it for
    the nudge slider and the exact-value box below.

    The grid does not take typing: Streamlit's grid editor drops a first keystroke typed quickly
    ("1.5" at 30 ms per key became 5.0) and its number cells misread "1e-5" and "1,5", so a typed
    value goes through one text box parsed by the core, exactly or with a message.
    """
    base = trace.base[name]
    edited = {(r, c): v for (m, r, c), v in st.session_state["edits"].items() if m == name}

    def frame() -> pd.DataFrame:
        data = base.copy()
        for (r, c), v in edited.items():
            data[r, c] = v
        return pd.DataFrame(
            data,
            columns=[str(j) for j in range(base.shape[1])],
            index=pd.Index(grid_row_labels(trace, name), name="row"),
        )

    shown: pa.Table | pd.io.formats.style.Styler
    if edited and base.size <= MAX_STYLED_CELLS:
        marks = np.full(base.shape, "", dtype=object)
        for r, c in edited:
            marks[r, c] = "background-color: #ffd54f; color: #000; font-weight: 700"
        shown = frame().style.apply(lambda _: marks, axis=None).format(grid_number)
    else:  # the unedited grid (everyone opening a link sees it): converted to Arrow once per server
        shown = views.shared_table(trace, ("grid", name, tuple(sorted(edited.items()))), frame, index=True)
    event = st.dataframe(
        shown,
        key=f"grid::{name}::{st.session_state['editor_generation']}",
        height=height,
        on_select="rerun",
        selection_mode="single-cell",
    )
    cells = event.selection.get("cells", []) if event else []
    if cells:
        r, col = cells[0]
        state.grid_selected(name, int(r), int(col))
    # Always one caption, so that the first edit does not push the slider below it away from the
    # pointer in the middle of a drag (nor remount it: elements are placed by their index).
    st.caption(
        literal(
            f"{len(edited)} edited cell(s) in {label} (highlighted): "
            + ", ".join(f"[{r},{c}]" for r, c in sorted(edited)[:8])
            + (" …" if len(edited) > 8 else "")
        )
        if edited
        else f"No edited cells in {label} yet."
    )


def grid_number(v: float) -> str:
    """A number as the grid shows unedited ones (at most 4 decimals, no trailing zeros), so that an
    edited grid's columns keep their width: longer text is cut at its left, sign first."""
    if v != 0 and abs(v) < 1e-4:
        return f"{v:.2g}"
    return f"{v:.4f}".rstrip("0").rstrip(".")


def nudge(name: str, label: str, trace: LabTrace) -> Callable[[], None]:
    """Choose one cell of matrix ``name`` and move its value with a slider or type it exactly.

    The lecture gesture: dragging the slider sets the cell, the trace is recomputed and every
    heatmap on screen follows while the mouse is still down. The row and column selectors are the
    keyboard route to a cell. Returns the function that draws the slider: the page calls it after
    the heatmaps, so that the slider hears of a finished redraw only once the heatmaps have it.
    """
    base = trace.base[name]
    rows, cols = base.shape
    r0, c0 = state.nudge_cell(name, rows, cols)
    value = (
        trace.base[name][r0, c0]
        if (name, r0, c0) not in st.session_state["edits"]
        else st.session_state["edits"][(name, r0, c0)]
    )
    c1, c2, c4 = st.columns([1, 1, 1.3], vertical_alignment="bottom")
    shown_rows = grid_row_labels(trace, name)  # a repeated word is told apart by its position ("2·the")
    c1.selectbox("row", range(rows), key=f"nudge_row::{name}", format_func=lambda i: shown_rows[i][:16])
    c2.selectbox("column", range(cols), key=f"nudge_col::{name}")
    slot = st.container()
    span = max(1.0, 2 * float(np.max(np.abs(base)))) if base.size else 1.0
    lo, hi = round(min(-span, value - 1), 2), round(max(span, value + 1), 2)
    state.prime_nudge(name, r0, c0, value)
    c4.text_input(
        "exact value",
        key="nudge_text",
        on_change=state.on_nudge_text,
        args=(name, r0, c0, base),
        help="Shown to 6 significant digits; the link and the exports keep every digit. Type a "
        "number and press Enter to set the cell to exactly that.",
    )
    message = state.nudge_error()
    if message:
        st.error(literal(message))

    def draw_slider() -> None:
        with slot:
            live_slider(
                f"{label}[{r0}, {c0}]",
                lo,
                hi,
                value,
                key="nudge_live",
                on_change=lambda: state.on_nudge_live(name, r0, c0, base, lo, hi),
            )

    return draw_slider


MATRIX_TITLES = {
    "embeddings": "Embeddings X",
    "embeddings_kv": "Embeddings of the 2nd sentence",
    "W_q": "W_Q",
    "W_k": "W_K",
    "W_v": "W_V",
    "W_o": "W_O",
    "b_q": "bias b_Q",
    "b_k": "bias b_K",
    "b_v": "bias b_V",
}


def link_messages() -> None:
    """What a link or state file got wrong, once, shown literally."""
    messages = cap_messages(state.take_load_messages())  # several sources together: capped once more
    if messages:
        st.warning("Parts of the link or file could not be used and were ignored; the rest is applied:")
        st.code("\n".join(messages), language=None)


def base_trace(
    messages: dict[str, st.delta_generator.DeltaGenerator],
) -> tuple[LabTrace, LabConfig, bool] | None:
    """(trace without hand edits, its config, frozen?). A setting that cannot work is explained next to
    its widget and the last good state stays on screen (frozen); None if there has never been one."""
    try:
        cfg0 = state.config_without_edits()
        return shared.cached_run_lab(cfg0), cfg0, False
    except ValidationError as exc:
        hint = (
            " (a real model's head is loaded: leave it with the button above to change this)"
            if st.session_state["given"]
            else ""
        )
        messages.get(exc.field or "", messages["sentence"]).error(literal(str(exc) + hint))
        last = state.last_good_trace()
        if last is None:
            return None
        st.warning("Showing the last valid state until the setting above is fixed.")
        return last, last.config, True


def stash_notice(trace: LabTrace) -> None:
    """Edits set aside because their matrix was regenerated: bring them back or discard them."""
    stash = st.session_state.get("stash")
    if not stash:
        return
    names = ", ".join(sorted({m for m, _, _ in stash}))
    c1, c2, c3 = st.columns([4, 1, 1])
    c1.info(
        literal(f"The matrices were regenerated, so your {len(stash)} edit(s) to {names} were set aside.")
    )
    c2.button("Bring them back", on_click=state.restore_stash, args=(trace.base,))
    c3.button("Discard them", on_click=state.discard_stash)


def matrix_choice(trace: LabTrace) -> str:
    """Which matrix the grid and the nudge slider edit (one grid at a time: each costs every rerun)."""
    editable = [m for m in MATRIX_TITLES if m in trace.base]
    state.keep_choice("edit_matrix", editable, "W_q")
    return str(
        st.radio(
            "Matrix to edit",
            editable,
            format_func=MATRIX_TITLES.get,
            key="edit_matrix",
            horizontal=True,
            persist_state="session",
            label_visibility="collapsed",
        )
    )


def edit_buttons() -> None:
    c1, c2 = st.columns(2)
    c1.button(
        "Undo last edit", on_click=state.undo_last_edit, disabled=not st.session_state.get("edit_history")
    )
    c2.button("Reset all edits", on_click=state.reset_edits, disabled=not st.session_state["edits"])


def edit_refused() -> None:
    """Why the last edit was undone (it made the lab fail), shown once, literally."""
    why = state.take_edit_refused()
    if why:
        st.error(literal(why))

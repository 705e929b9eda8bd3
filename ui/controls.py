"""Widgets of the Playground: the sidebar settings and the matrix editors.

Each widget writes to the session-state key of the LabConfig field it sets
(see :mod:`ui.state`). Messages about a setting are written into a placeholder
right under its widget, so they appear next to what the person touched.
"""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from attention_core import LabConfig, LabTrace
from attention_core.lab import MAX_DIM, MAX_SENTENCE_CHARS, SCALE_LIMIT
from ui import state
from ui.state import SEED_SLIDER_MAX
from ui.text import literal

SCALE_LABELS = {
    "sqrt_dk": "1/√d_k (default)",
    "sqrt_n": "1/√n (R package)",
    "none": "none (1)",
    "custom": "custom (slider)",
}
SOURCE_LABELS = {"torch": "PyTorch-compatible", "numpy": "NumPy (legacy seed)", "r": "R-compatible"}
INIT_LABELS = {"kaiming": "normal × √(2/d_in) (He)", "int3": "integers 0, 1, 2", "uniform": "uniform [0, 1)",
               "normal": "normal N(0, 1)"}
ORDER_LABELS = {"weights_first": "weights first (a new word keeps them)",
                "table_first": "embedding table first (the tutorials' order)"}
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
    sb.toggle("Presentation mode (large type, one stage at a time; ← → to step)", key="present", persist_state="session")
    if present:  # presentation mode draws the sentence itself, above the stage
        msg["sentence"] = st.empty()
        for name in ("cross_sentence", "embedding", "d_model", "d_k", "d_v", "projections", "random_source",
                     "init", "embedding_init", "seed", "scale", "n_heads"):
            msg[name] = msg["sentence"]
        return msg
    sb.header("Sentence")
    sb.text_input("Sentence", key="sentence", persist_state="session", max_chars=MAX_SENTENCE_CHARS, help="Press Enter to apply.")
    msg["sentence"] = sb.empty()
    sb.text_input(
        "Second sentence (cross-attention: keys and values come from it)", key="cross_sentence", persist_state="session",
        max_chars=MAX_SENTENCE_CHARS, placeholder="leave empty for self-attention",
    )
    msg["cross_sentence"] = sb.empty()
    c1, c2 = sb.columns(2)
    c1.checkbox("lowercase", key="lowercase", persist_state="session")
    c2.checkbox("keep punctuation", key="keep_punctuation", persist_state="session")

    sb.header("Embeddings and sizes")
    sb.radio("Embeddings", list(EMBEDDING_LABELS), format_func=EMBEDDING_LABELS.get, key="embedding", persist_state="session")
    msg["embedding"] = sb.empty()
    c1, c2, c3 = sb.columns(3)
    c1.number_input("d_model", min_value=1, max_value=MAX_DIM, step=1, key="d_model", persist_state="session")
    c2.number_input("d_k", min_value=1, max_value=MAX_DIM, step=1, key="d_k", persist_state="session", disabled=not st.session_state["projections"])
    c3.number_input("d_v", min_value=1, max_value=MAX_DIM, step=1, key="d_v", persist_state="session", disabled=not st.session_state["projections"])
    sb.checkbox("Projections W_q, W_k, W_v (off: Q = K = V = X)", key="projections", persist_state="session")
    msg["d_model"] = msg["d_k"] = msg["d_v"] = msg["projections"] = sb.empty()

    sb.header("Random numbers")
    sb.selectbox("Random source", list(SOURCE_LABELS), format_func=SOURCE_LABELS.get, key="random_source", persist_state="session")
    msg["random_source"] = sb.empty()
    # R's vignette draws with runif only; its normal generator (inversion) is not reproduced here.
    inits = [k for k in INIT_LABELS if st.session_state["random_source"] != "r" or k not in ("normal", "kaiming")]
    notes = []
    for key in ("init", "embedding_init"):
        if st.session_state[key] not in inits:
            state.replace_setting(key, "uniform")
            notes.append(f"The R-compatible source draws integers or uniform numbers; {key} is now uniform.")
    sb.selectbox("Weights drawn as", inits, format_func=INIT_LABELS.get, key="init", persist_state="session")
    if st.session_state["embedding"] == "random":
        sb.selectbox("Embeddings drawn as", inits, format_func=INIT_LABELS.get, key="embedding_init", persist_state="session")
    sb.selectbox("Draw order", list(ORDER_LABELS), format_func=ORDER_LABELS.get, key="draw_order",
                 persist_state="session", help="The tutorials draw the embedding table of the sentence's words "
                 "first, so one new word changes every weight drawn after it.")
    msg["init"] = msg["embedding_init"] = msg["draw_order"] = sb.empty()
    if notes:
        msg["init"].info(literal(" ".join(notes)))
    sb.slider("Seed", 0, SEED_SLIDER_MAX, key="seed_slider", persist_state="session", on_change=state.on_seed_slider)
    sb.text_input("Exact seed (any 32-bit integer)", key="seed_exact", persist_state="session", on_change=state.on_seed_exact)
    msg["seed"] = sb.empty()
    if st.session_state.get("seed_error"):
        msg["seed"].error(literal(st.session_state["seed_error"]))
    sb.header("Scaling, mask, heads")
    sb.radio("Scale the scores by", list(SCALE_LABELS), format_func=SCALE_LABELS.get, key="scale_mode", persist_state="session")
    sb.slider("Scale factor (custom)", -SCALE_LIMIT, SCALE_LIMIT, step=0.01, key="scale_custom", persist_state="session", on_change=state.on_scale_slider)
    msg["scale"] = sb.empty()
    sb.toggle("Causal mask (a token sees only itself and earlier tokens)", key="causal", persist_state="session")
    width_k = st.session_state["d_k"] if st.session_state["projections"] else st.session_state["d_model"]
    width_v = st.session_state["d_v"] if st.session_state["projections"] else st.session_state["d_model"]
    options = _divisors(math.gcd(int(width_k), int(width_v)))
    note = None
    if st.session_state["n_heads"] not in options:
        note = (f"{st.session_state['n_heads']} heads must divide d_k = {width_k} and d_v = {width_v}; "
                "using 1 head.")
        state.replace_setting("n_heads", 1)
    sb.selectbox("Heads (values that divide d_k and d_v)", options, key="n_heads", persist_state="session")
    msg["n_heads"] = sb.empty()
    if note:
        msg["n_heads"].warning(literal(note))
    return msg


def _leave_real_head() -> None:
    """Back to the toy lab with the sentence the real head was computed for (default settings)."""
    loaded = st.session_state.pop("real_head", None)
    state.load_config(LabConfig(sentence=loaded.sentence if loaded else LabConfig().sentence))


def real_head_banner() -> None:
    """Say that a real model's head is loaded, what that fixes, and how to leave it."""
    loaded = st.session_state.get("real_head")
    which = f"layer {loaded.layer}, head {loaded.head} of all-MiniLM-L6-v2" if loaded else "a real model's head"
    c1, c2 = st.columns([4, 1])
    c1.info(literal(
        f"Loaded from the Real model page: {which}. Its embeddings (the layer's input vectors), W_Q, W_K, W_V and "
        "biases are given outright, so the sentence, sizes and random settings in the sidebar cannot change them; "
        "the scaling, the mask and every cell below can."))
    c2.button("Leave the real head", on_click=_leave_real_head,
              help="Back to the toy lab with your sentence and the default settings; edits to the real head are "
                   "dropped (export them first if you want to keep them).")


def token_table(trace: LabTrace) -> None:
    """Tokens with position and vocabulary id, shown literally (a dataframe renders no markup)."""
    tok = trace.tokens_q
    index = {t: i for i, t in enumerate(trace.vocabulary)}
    st.dataframe(
        pd.DataFrame({"position": tok.positions, "token": tok.tokens, "id": [index[t] for t in tok.tokens]}),
        hide_index=True, width="content",
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
    prefix = "v" if name == "W_o" else "x"
    return [f"{prefix}{i}" for i in range(rows)]


def _parse_cell(value: object) -> float | None:
    """A typed cell as a finite float, or None when it is not one."""
    if value is None or isinstance(value, bool):
        return None
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def matrix_editor(name: str, label: str, trace: LabTrace) -> None:
    """An editable grid for matrix ``name``; typed values become hand edits.

    The grid shows the generated matrix plus the edits made before it was
    created (its snapshot); Streamlit's own record of the cells typed since then
    is merged into the session's edits on every run. A value that is not a
    finite number is refused with a message beside the grid, and the grid is
    rebuilt from the last valid values.
    """
    base = trace.base[name]
    gen = st.session_state["editor_generation"]
    key = f"editor::{name}::{gen}"
    snapshots: dict[str, dict[tuple[int, int], float]] = st.session_state.setdefault("editor_snapshots", {})
    if key not in st.session_state or key not in snapshots:
        snapshots[key] = {(r, c): v for (m, r, c), v in st.session_state["edits"].items() if m == name}
    snapshot = snapshots[key]
    data = base.copy()
    for (r, c), v in snapshot.items():
        data[r, c] = v
    labels = row_labels(trace, name)
    columns = [str(j) for j in range(base.shape[1])]
    frame = pd.DataFrame(data, columns=columns)
    frame.insert(0, "row", labels)
    st.caption(literal(f"{label} — shape {base.shape[0]} × {base.shape[1]}"))
    st.data_editor(
        frame, key=key, hide_index=True, num_rows="fixed", disabled=["row"],
        column_config={c: st.column_config.NumberColumn(c, format="%.4f") for c in columns},
    )
    errors: dict[str, str] = st.session_state.setdefault("editor_errors", {})
    if errors.get(name):
        st.error(literal(errors[name]))
    delta = st.session_state.get(key) or {}
    cells = dict(snapshot)
    bad: list[str] = []
    for row, changes in (delta.get("edited_rows") or {}).items():
        for col, value in (changes or {}).items():
            r = int(row)
            if col not in columns or not 0 <= r < base.shape[0]:
                continue
            v = _parse_cell(value)
            if v is None:
                bad.append(f"row {labels[r]!r}, column {col}: {str(value)[:30]!r}")
            else:
                cells[(r, int(col))] = v
    if bad:
        errors[name] = (
            f"Not a finite number in {name} ({'; '.join(bad[:3])}). "
            "The last valid values are kept and shown."
        )
        st.session_state["editor_generation"] += 1
        st.rerun()
    current = {(r, c): v for (m, r, c), v in st.session_state["edits"].items() if m == name}
    if cells != current:
        errors.pop(name, None)
        st.session_state["edits_before_last_edit"] = dict(st.session_state["edits"])
        state.set_matrix_edits(name, cells, base)

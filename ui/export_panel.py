"""Share, export and import: the link, every matrix as CSV / JSON / LaTeX, a NumPy script,
a state file, and loading a state file back."""

from __future__ import annotations

import functools

import streamlit as st

from attention_core import LabConfig, LabTrace, ValidationError
from attention_core.export import matrices, python_script, to_csv, to_json, to_latex
from attention_core.serialize import (
    MAX_STATE_BYTES,
    REAL_HEAD_KEY,
    HeadReference,
    LinkTooLong,
    config_to_dict,
    config_to_query,
    real_head_to_json,
    reference_from_dict,
    state_from_json,
    state_to_json,
)
from ui import state
from ui.text import literal

#: Matrices up to this many cells have their LaTeX shown on the page (a slide holds no more).
MAX_LATEX_SHOWN = 400


def render(trace: LabTrace) -> None:
    cfg = trace.config
    st.subheader("Share, export, import")
    try:
        params = config_to_query(cfg, state.head_reference(cfg))
        st.text("A link to exactly this state (it is also kept in the address bar as you work):")
        st.code(state.share_link(params), language=None, wrap_lines=True)
    except LinkTooLong as exc:
        st.warning(literal(f"No link for this state: {exc}. The address bar does not hold it either, so a reload "
                           "would lose it: the state file below keeps every setting and edit."))
    except ValidationError as exc:
        st.info(literal(f"No link for this state: {exc}"))

    mats = matrices(trace)
    c1, c2 = st.columns([2, 3])
    name = c1.selectbox("Matrix", list(mats), key="export_matrix", persist_state="session")
    m, rows, cols = mats[name]
    # Files are made when their button is clicked (Streamlit calls the function then), so a
    # 1,024-token matrix costs nothing on the reruns that do not ask for it.
    c1.download_button(f"{name}.csv", data=functools.partial(to_csv, m, rows, cols), file_name=f"{name}.csv",
                       mime="text/csv", key="dl_csv")
    if m.size <= MAX_LATEX_SHOWN:
        c2.text("LaTeX (for slides):")
        c2.code(to_latex(m), language="latex")
    else:
        c2.text(f"LaTeX of this {m.shape[0]} × {m.shape[1]} matrix is too large to show here; download it:")
        c2.download_button(f"{name}.tex", data=functools.partial(to_latex, m), file_name=f"{name}.tex",
                           mime="application/x-tex", key="dl_tex")

    # The larger files are made only when asked for (Streamlit calls these on click).
    c1, c2, c3 = st.columns(3)
    c1.download_button("All matrices (JSON)", data=functools.partial(_all_json, trace), file_name="attention-lab.json",
                       mime="application/json", key="dl_json")
    c2.download_button("Reproduce in Python (NumPy script)", data=functools.partial(python_script, trace),
                       file_name="attention_lab.py", mime="text/x-python", key="dl_py")
    reference = state.head_reference(cfg)
    if cfg.given and reference is None:  # matrices given outright, origin unknown: nothing to write
        c3.info("This head's origin is not known, so it has no state file.")
    else:
        c3.download_button("State file (to import later)", data=functools.partial(_state, cfg, reference),
                           file_name="attention-lab-state.json", mime="application/json", key="dl_state")
    st.radio("Format of the heatmap download (the camera icon above each heatmap)", ["png", "svg"],
             key="image_format", persist_state="session", horizontal=True)

    upload = st.file_uploader("Import a state file (.json)", type=["json"],
                              key=f"import_{st.session_state['editor_generation']}")
    if upload is not None:
        _import(upload.getvalue())


def _all_json(trace: LabTrace) -> str:
    try:
        return to_json(trace, config_to_dict(trace.config))
    except ValidationError:
        return to_json(trace)


def _state(cfg: LabConfig, reference: HeadReference | None = None) -> str:
    """The state file: the configuration, or a real head's reference, free settings and edits."""
    if cfg.given and reference is not None:
        return real_head_to_json(cfg, reference)
    return state_to_json(cfg)


def _import(data: bytes) -> None:
    if len(data) > MAX_STATE_BYTES:
        st.error(literal(f"The file is {len(data):,} bytes; the limit is {MAX_STATE_BYTES:,}. Nothing was changed."))
        return
    try:
        cfg, _extra, messages = state_from_json(data)
    except ValidationError as exc:
        st.error(literal(f"{exc}. Nothing was changed."))
        return
    state.request_config(cfg, messages)
    state.remember_real_head(cfg, reference_from_dict(_extra[REAL_HEAD_KEY]) if cfg.given else None)
    st.session_state["editor_generation"] += 1  # a fresh uploader and fresh editors
    st.rerun()

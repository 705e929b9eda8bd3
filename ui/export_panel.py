"""Share, export and import: the link, every matrix as CSV / JSON / LaTeX, a NumPy script,
a state file, and loading a state file back."""

from __future__ import annotations

import functools
from collections.abc import Callable

import streamlit as st

from attention_core import LabConfig, LabTrace, ValidationError
from attention_core.export import estimated_bytes, json_bytes, matrices, script_bytes, to_csv, to_latex
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
        st.warning(
            literal(
                f"No link for this state: {exc}. The address bar does not hold it either, so a "
                "reload would lose it: the state file below keeps every setting and edit."
            )
        )
    except ValidationError as exc:
        st.info(literal(f"No link for this state: {exc}"))

    mats = matrices(trace)
    c1, c2 = st.columns([2, 3])
    name = c1.selectbox("Matrix", list(mats), key="export_matrix", persist_state="session")
    m, rows, cols = mats[name]
    # Files are made when their button is clicked (Streamlit calls the function then), so a
    # 1,024-token matrix costs nothing on the reruns that do not ask for it.
    c1.download_button(
        f"{name}.csv",
        data=lambda: to_csv(m, rows, cols).encode("utf-8"),  # bytes: no third copy
        file_name=f"{name}.csv",
        mime="text/csv",
        key="dl_csv",
    )
    if m.size <= MAX_LATEX_SHOWN:
        c2.text("LaTeX (for slides):")
        c2.code(to_latex(m), language="latex")
    else:
        c2.text(f"LaTeX of this {m.shape[0]} × {m.shape[1]} matrix is too large to show here; download it:")
        c2.download_button(
            f"{name}.tex",
            data=functools.partial(to_latex, m),
            file_name=f"{name}.tex",
            mime="application/x-tex",
            key="dl_tex",
        )

    # The larger files are made only when asked for (Streamlit calls these on click), with their size
    # shown first; a file larger than MAX_DOWNLOAD_BYTES is not made (the server would hold it in memory).
    c1, c2, c3 = st.columns(3)
    size = estimated_bytes(trace)
    _bounded_download(
        c1,
        "All matrices (JSON)",
        size["json"],
        functools.partial(_all_json, trace),
        file_name="attention-lab.json",
        mime="application/json",
        key="dl_json",
    )
    _bounded_download(
        c2,
        "Reproduce in Python (NumPy script)",
        size["script"],
        functools.partial(script_bytes, trace),
        file_name="attention_lab.py",
        mime="text/x-python",
        key="dl_py",
    )
    reference = state.head_reference(cfg)
    if cfg.given and reference is None:  # matrices given outright, origin unknown: nothing to write
        c3.info("This head's origin is not known, so it has no state file.")
    else:
        c3.download_button(
            "State file (to import later)",
            data=functools.partial(_state, cfg, reference),
            file_name="attention-lab-state.json",
            mime="application/json",
            key="dl_state",
        )
    st.radio(
        "Format of the heatmap download (the camera icon above each heatmap)",
        ["png", "svg"],
        key="image_format",
        persist_state="session",
        horizontal=True,
    )

    upload = st.file_uploader(
        "Import a state file (.json)", type=["json"], key=f"import_{st.session_state['editor_generation']}"
    )
    if upload is not None:
        _import(upload.getvalue())


#: The largest whole-trace file the app builds for a download: Streamlit keeps a made file in the
#: server's memory for the session, and the largest configuration's JSON was 700 MB (+3 GB while built).
MAX_DOWNLOAD_BYTES = 32 * 2**20


def _bounded_download(
    where: st.delta_generator.DeltaGenerator, label: str, size: int, build: Callable[[], bytes], **kwargs: str
) -> None:
    """A download button that names the file's size, or, above the bound, a message saying what to use."""
    if size > MAX_DOWNLOAD_BYTES:
        where.info(
            f"{label}: about {size / 2**20:,.0f} MB, more than the "
            f"{MAX_DOWNLOAD_BYTES / 2**20:,.0f} MB this app builds for a download. Download the "
            "matrices one by one (CSV above), or use a shorter sentence or fewer heads."
        )
        return
    where.download_button(f"{label}, about {_size(size)}", data=build, **kwargs)


def _size(n: int) -> str:
    return f"{n / 2**20:,.1f} MB" if n >= 2**20 else f"{max(1, round(n / 1024)):,} KB"


def _all_json(trace: LabTrace) -> bytes:
    try:
        return json_bytes(trace, config_to_dict(trace.config))
    except ValidationError:
        return json_bytes(trace)


def _state(cfg: LabConfig, reference: HeadReference | None = None) -> str:
    """The state file: the configuration, or a real head's reference, free settings and edits."""
    if cfg.given and reference is not None:
        return real_head_to_json(cfg, reference)
    return state_to_json(cfg)


def _import(data: bytes) -> None:
    if len(data) > MAX_STATE_BYTES:
        st.error(
            literal(
                f"The file is {len(data):,} bytes; the limit is {MAX_STATE_BYTES:,}. Nothing was changed."
            )
        )
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

"""Attention lab: the entry point. It only sets up the page and routes to pages/."""

from __future__ import annotations

import copy

import streamlit as st

from ui.memory import give_back_large_blocks

give_back_large_blocks()  # a large run's matrices go back to the system when freed (see ui/memory.py)
st.set_page_config(page_title="Attention lab", layout="wide")


@st.cache_resource(show_spinner=False)
def pages() -> tuple[st.Page, ...]:
    """The pages, made once per process: st.Page resolves its file on disk (a tenth of a follower's
    rerun). Each run navigates with copies, since st.navigation marks the page it returns as the one
    that run may execute, and sessions run at once."""
    return (
        st.Page("pages/playground.py", title="Playground", default=True),
        st.Page("pages/r_vignette.py", title="R vignette (000)"),
        st.Page("pages/numpy_notebook.py", title="NumPy notebook (001)"),
        st.Page("pages/pytorch_notebook.py", title="PyTorch notebook (002)"),
        st.Page("pages/multihead_cross.py", title="Multi-head and cross-attention (003)"),
        st.Page("pages/fast_attention.py", title="How attention is computed fast"),
        st.Page("pages/learn.py", title="Learn"),
        st.Page("pages/real_model.py", title="Real model (all-MiniLM-L6-v2)"),
        st.Page("pages/language_model.py", title="Language model (SmolLM2-135M)"),
    )


st.navigation([copy.copy(page) for page in pages()]).run()

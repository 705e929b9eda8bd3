"""The lab's pages, in the order the sidebar lists them."""

from __future__ import annotations

import copy
import functools

import streamlit as st


def pages() -> list[st.Page]:
    """The pages for one run's ``st.navigation``: copies of pages made once per process (st.Page resolves
    its file on disk, a tenth of a follower's rerun), since st.navigation marks the page it returns as
    the one that run may execute, and sessions run at once."""
    return [copy.copy(page) for page in _made()]


@functools.cache  # first called inside a script run, which st.Page needs
def _made() -> tuple[st.Page, ...]:
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

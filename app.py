"""Attention lab: the entry point. It sets up the page and the session, and routes to pages/."""

from __future__ import annotations

import streamlit as st

from ui import state

st.set_page_config(page_title="Attention lab", layout="wide")
# On every run, whatever the page: the Playground's settings live in the session, and a
# widget that a page does not draw would otherwise be forgotten (the sentence, the edits'
# matrices) when the user visits a walkthrough and comes back.
state.ensure_defaults()

pages = [
    st.Page("pages/playground.py", title="Playground", default=True),
    st.Page("pages/r_vignette.py", title="R vignette (000)"),
    st.Page("pages/numpy_notebook.py", title="NumPy notebook (001)"),
    st.Page("pages/pytorch_notebook.py", title="PyTorch notebook (002)"),
    st.Page("pages/multihead_cross.py", title="Multi-head and cross-attention (003)"),
    st.Page("pages/real_model.py", title="Real model (all-MiniLM-L6-v2)"),
]
st.navigation(pages).run()

"""Attention lab: the entry point. It only sets up the page and routes to pages/."""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="Attention lab", layout="wide")

pages = [
    st.Page("pages/playground.py", title="Playground", icon=":material/science:", default=True),
    st.Page("pages/r_vignette.py", title="R vignette (000)", icon=":material/menu_book:"),
    st.Page("pages/numpy_notebook.py", title="NumPy notebook (001)", icon=":material/menu_book:"),
    st.Page("pages/pytorch_notebook.py", title="PyTorch notebook (002)", icon=":material/menu_book:"),
    st.Page("pages/multihead_cross.py", title="Multi-head and cross-attention (003)", icon=":material/hub:"),
]
st.navigation(pages).run()

"""Blog (003): self-attention with Q = K = V = X, multi-head, and cross-attention."""

from __future__ import annotations

import streamlit as st

from attention_core.view import BLOG_VIEW, BlogView
from ui import state
from ui.text import literal
from ui.walkthrough import render

for problem in state.load_page_view_once(BLOG_VIEW, "blog_url_loaded"):  # the link's tab
    st.warning(literal(problem))
# Only the open tab is drawn (on_change="rerun"); the address bar names it, so a link opens it.
tabs = st.tabs(list(BLOG_VIEW["blog_tab"].choices), key="blog_tab", on_change="rerun")
for tab, key in zip(tabs, ("blog_self", "blog_multihead", "blog_cross"), strict=True):
    if tab.open:
        with tab:
            render(key)
state.write_page_view(BLOG_VIEW, BlogView())

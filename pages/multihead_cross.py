"""Blog (003): self-attention with Q = K = V = X, multi-head, and cross-attention."""

from __future__ import annotations

import streamlit as st

from ui.walkthrough import render

self_tab, multi_tab, cross_tab = st.tabs(["Q = K = V = X", "Multi-head", "Cross-attention"])
with self_tab:
    render("blog_self")
with multi_tab:
    render("blog_multihead")
with cross_tab:
    render("blog_cross")

"""Attention lab: the entry point. It only sets up the page and routes to pages/."""

from __future__ import annotations

import streamlit as st

from ui.memory import give_back_large_blocks
from ui.navigation import pages

give_back_large_blocks()  # a large run's matrices go back to the system when freed (see ui/memory.py)
st.set_page_config(page_title="Attention lab", layout="wide")
st.navigation(pages()).run()

"""Attention lab: the entry point. (Minimal first version; the full app routes to pages/.)"""

from __future__ import annotations

import dataclasses

import streamlit as st

from attention_core import LabConfig, ValidationError, run_lab
from ui.figures import heatmap

st.set_page_config(page_title="Attention lab", layout="wide")
st.title("Attention lab")
sentence = st.text_input("Sentence", value=LabConfig().sentence)
try:
    trace = run_lab(dataclasses.replace(LabConfig(), sentence=sentence))
except ValidationError as exc:
    st.error(str(exc))
    st.stop()
head = trace.attention.heads[0]
tokens = trace.tokens_q.tokens
st.plotly_chart(
    heatmap(head.weights, title="weights", row_labels=tokens, col_labels=trace.tokens_kv.tokens, kind="weights"),
    width="stretch",
)

"""The least a first screen can hold and still meet the one-screen issue: the sentence, one matrix's
editor (a grid to choose a cell, a slider and a box for its value) and the attention-weights heatmap,
computed by the lab's own core and drawn by its own heatmap builder, shared between sessions as the
lab shares them. No sidebar settings, no second chart, no step tabs, no arithmetic panel.

The budgets (``benchmarks.hall.element_budget``, ``benchmarks.one_screen.first_paint``) serve it
beside the floors: what a lab reduced to its core gesture costs in Streamlit, against a trivial page.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from attention_core import LabConfig, LabTrace
from attention_core.settings import parse_number
from attention_core.steps import BY_NAME
from ui import shared, views
from ui.figures import step_figure, with_click_layer

sentence = st.text_input("Sentence", "Life is short, eat dessert first")
base = shared.cached_run_lab(LabConfig(sentence=sentence))
name = str(st.radio("Matrix to edit", ["W_q", "W_k", "W_v"], horizontal=True))
grid = views.shared_table(
    base,
    ("minimal grid", name),
    lambda: pd.DataFrame(base.base[name], columns=[str(j) for j in range(base.base[name].shape[1])]),
)
event = st.dataframe(grid, on_select="rerun", selection_mode="single-cell", key=f"grid_{name}", height=215)
cells = event.selection.get("cells", []) if event else []
r, c = (int(cells[0][0]), int(cells[0][1])) if cells else (0, 0)
value = st.slider(f"{name}[{r}, {c}]", -2.0, 2.0, float(base.base[name][r, c]), key=f"nudge_{name}_{r}_{c}")
typed = st.text_input("exact value", f"{value:.6g}", key=f"exact_{name}_{r}_{c}")
try:  # the box wins when it holds a number (the Playground's own parser)
    value = parse_number(typed)
except ValueError:
    st.error("Not a number: the slider's value is used.")
trace: LabTrace = shared.cached_run_lab(base.config.with_edits({(name, r, c): value}))
fig = views.shared_figure(
    trace,
    ("minimal weights",),
    lambda: with_click_layer(step_figure(trace, BY_NAME["weights"], 0, height=340)),
)
st.plotly_chart(fig, width="stretch", key="weights", on_select="rerun", selection_mode="points")

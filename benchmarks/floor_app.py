"""The floor for the rerun and browser benchmarks: one data editor and three heatmaps of the sizes
the Playground shows after an edit (the weights and the scores, n x n; one n x d step), drawn
from precomputed arrays that change on every edit (identical figures would be sent only once)."""

import os

import numpy as np
import pandas as pd
import streamlit as st

n = int(st.session_state.get("n", os.environ.get("FLOOR_N", "6")))
d = int(st.session_state.get("d", os.environ.get("FLOOR_D", "24")))
frame = pd.DataFrame(np.zeros((16, d)), columns=[str(j) for j in range(d)])
frame.insert(0, "row", [f"x{i}" for i in range(16)])  # a read-only label column, as in the Playground
edited = st.data_editor(frame, key="floor_editor", hide_index=True, disabled=["row"])
shift = float(edited.drop(columns="row").to_numpy(dtype=float).sum())
rs = np.random.RandomState(0)
for shape, title in [((n, n), "weights"), ((n, n), "scores"), ((n, d), "output")]:
    z = (rs.rand(*shape) + shift).astype(np.float32 if shape[0] * shape[1] > 4096 else np.float64)
    st.plotly_chart(
        {"data": [{"type": "heatmap", "z": z}], "layout": {"title": {"text": title}}},
        key=title,
        width="stretch",
    )

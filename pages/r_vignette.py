"""R vignette (000): set.seed(0), runif weights filled by column, ComputeWeights' 1/√n."""

from __future__ import annotations

import streamlit as st

from attention_core import PRESETS, r_compute_weights
from ui import shared
from ui.walkthrough import render

render("r_vignette")
st.subheader("What the R package's ComputeWeights returns")
scores = shared.cached_run_lab(PRESETS["r_vignette"].config).attention.heads[0].scores
st.text(
    "ComputeWeights(scores) — 1/sqrt(nrow(scores)) = 1/2 here, row maximum subtracted, fixed 4 x 4 result:"
)
st.dataframe(r_compute_weights(scores))

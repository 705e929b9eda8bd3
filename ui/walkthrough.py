"""A seed walkthrough page: the tutorial's steps in its own order, each with its formula,
its matrix and its heatmap, and the numbers the tutorial printed beside ours."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from attention_core import PRESETS, Preset
from attention_core.steps import labels, steps_for
from ui import shared, state
from ui.figures import step_figures
from ui.text import literal


def matrix_frame(m: np.ndarray, rows: list[str]) -> pd.DataFrame:
    """A matrix as a table with literal row labels (dataframes render no markup)."""
    frame = pd.DataFrame(np.asarray(m, dtype=float), columns=[str(j) for j in range(m.shape[1])])
    frame.insert(0, "row", rows)
    return frame


def printed_comparison(preset: Preset, ours: dict[str, np.ndarray]) -> None:
    """The tutorial's printed numbers next to ours, with the largest difference."""
    if not preset.printed:
        return
    st.subheader("The numbers the tutorial printed")
    for name, spec in preset.printed.items():
        theirs = np.atleast_2d(np.array(spec.values, dtype=float))
        mine = np.atleast_2d(ours[name])
        dev = float(np.max(np.abs(theirs - mine))) if theirs.shape == mine.shape else float("nan")
        st.markdown(literal(f"{name} — printed in {spec.where} with {spec.decimals} decimals; "
                            f"largest difference from the app: {dev:.2g}"))
        c1, c2 = st.columns(2)
        c1.caption("printed by the tutorial")
        c1.dataframe(pd.DataFrame(theirs), hide_index=True)
        c2.caption("computed here")
        c2.dataframe(pd.DataFrame(mine), hide_index=True)


def render(key: str, *, show_printed: dict[str, np.ndarray] | None = None) -> None:
    """Draw the walkthrough of preset ``key``."""
    preset = PRESETS[key]
    trace = shared.cached_run_lab(preset.config)
    st.header(preset.title)
    st.caption(literal(preset.source))
    st.info(literal(preset.description))
    if st.button("Open this configuration in the Playground", key=f"open_{key}"):
        state.request_config(preset.config)
        st.switch_page("pages/playground.py")

    figs = step_figures(trace)
    h = trace.attention.heads[0]
    st.subheader("Tokens")
    st.dataframe(pd.DataFrame({"token": trace.tokens_q.tokens, "position": trace.tokens_q.positions,
                               "id": trace.tokens_q.ids}), hide_index=True)
    if trace.is_cross:
        st.text("keys and values from: " + " | ".join(trace.tokens_kv.tokens))
    st.subheader("Weights drawn from the seed")
    cols = st.columns(3 if trace.W_o is None else 4)
    for col, (name, m) in zip(cols, (("W_Q", trace.W_q), ("W_K", trace.W_k), ("W_V", trace.W_v),
                                     ("W_O", trace.W_o))):
        col.caption(name)
        col.dataframe(matrix_frame(m, [f"x{i}" for i in range(m.shape[0])]), hide_index=True)
    for step in steps_for(trace):  # the registry's order is the tutorials' order
        st.subheader(step.title)
        c1, c2 = st.columns([2, 3])
        with c1:
            st.latex(step.formula)
            if step.name == "scaled_scores":
                st.text(f"c = {h.scale:.6g}")
            value = step.value(trace, 0)
            st.dataframe(matrix_frame(value, labels(trace, step, value)[0]), hide_index=True)
        c2.plotly_chart(figs[step.name], width="stretch", key=f"{key}_{step.name}")
    ours = {"embeddings": trace.embeddings, "W_q": trace.W_q, "Q": h.Q, "K": h.K, "V": h.V,
            "scores": h.scores, "weights": h.weights, "output": trace.attention.output,
            "ids": np.array(trace.tokens_q.ids, dtype=float), **(show_printed or {})}
    printed_comparison(preset, ours)

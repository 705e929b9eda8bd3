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
from ui.intro import intro
from ui.text import literal

#: Decimals a walkthrough table shows, as PyTorch prints a tensor (``torch.set_printoptions``' default
#: precision); a matrix of whole numbers shows none. A table showed 0.00000000000000005 and cut columns off.
TABLE_DECIMALS = 4


def decimals_of(m: np.ndarray) -> int:
    """Decimals to show ``m`` with, as the tutorials print it: none for whole numbers, else 4."""
    values = np.asarray(m, dtype=float)
    finite = values[np.isfinite(values)]
    return 0 if finite.size and np.all(finite == np.round(finite)) else TABLE_DECIMALS


def table(where: st.delta_generator.DeltaGenerator, frame: pd.DataFrame, decimals: int) -> None:
    """A table of numbers at a fixed number of decimals (the values themselves stay exact: a copy or
    a download of the table has every digit)."""
    where.dataframe(
        frame,
        hide_index=True,
        column_config={
            str(c): st.column_config.NumberColumn(format=f"%.{decimals}f")
            for c in frame.columns
            if pd.api.types.is_float_dtype(frame[c])
        },
    )


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
        st.markdown(
            literal(
                f"{name} — printed in {spec.where} with {spec.decimals} decimals; "
                f"largest difference from the app: {dev:.2g}"
            )
        )
        c1, c2 = st.columns(2)
        c1.caption("printed by the tutorial")
        table(c1, pd.DataFrame(theirs, columns=[str(j) for j in range(theirs.shape[1])]), spec.decimals)
        c2.caption("computed here (as many decimals as the tutorial printed)")
        table(c2, pd.DataFrame(mine, columns=[str(j) for j in range(mine.shape[1])]), spec.decimals)


def render(key: str, *, show_printed: dict[str, np.ndarray] | None = None) -> None:
    """Draw the walkthrough of preset ``key``."""
    preset = PRESETS[key]
    trace = shared.cached_run_lab(preset.config)
    st.header(preset.title)
    intro("walkthrough")
    st.caption(literal(preset.source))
    st.info(literal(preset.description))
    if st.button("Open this configuration in the Playground", key=f"open_{key}"):
        state.request_config(preset.config)
        st.switch_page("pages/playground.py")

    figs = step_figures(trace)
    h = trace.attention.heads[0]
    st.subheader("Tokens")
    st.dataframe(
        pd.DataFrame(
            {"token": trace.tokens_q.tokens, "position": trace.tokens_q.positions, "id": trace.tokens_q.ids}
        ),
        hide_index=True,
    )
    if trace.is_cross:
        st.text("keys and values from: " + " | ".join(trace.tokens_kv.tokens))
    st.subheader("Weights drawn from the seed")
    cols = st.columns(3 if trace.W_o is None else 4)
    for col, (name, m) in zip(
        cols, (("W_Q", trace.W_q), ("W_K", trace.W_k), ("W_V", trace.W_v), ("W_O", trace.W_o)), strict=False
    ):  # no W_O with one head
        col.caption(name)
        what = "out dim" if name == "W_O" else "emb dim"  # the row multiplies that number of its input
        table(col, matrix_frame(m, [f"{what} {i}" for i in range(m.shape[0])]), decimals_of(m))
    for step in steps_for(trace):  # the registry's order is the tutorials' order
        st.subheader(step.title)
        c1, c2 = st.columns([2, 3])
        with c1:
            st.latex(step.formula)
            if step.name == "scaled_scores":
                st.text(f"c = {h.scale:.6g}")
            value = step.value(trace, 0)
            table(st, matrix_frame(value, labels(trace, step, value)[0]), decimals_of(value))
        c2.plotly_chart(figs[step.name], width="stretch", key=f"{key}_{step.name}")
    ours = {
        "embeddings": trace.embeddings,
        "W_q": trace.W_q,
        "Q": h.Q,
        "K": h.K,
        "V": h.V,
        "scores": h.scores,
        "weights": h.weights,
        "output": trace.attention.output,
        "ids": np.array(trace.tokens_q.ids, dtype=float),
        **(show_printed or {}),
    }
    printed_comparison(preset, ours)

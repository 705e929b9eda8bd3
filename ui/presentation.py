"""Presentation mode: one stage of the mechanism at a time, large enough for the back row.

Stages: tokens → embeddings → Q, K, V → scores → scaled scores → weights → output.
"Previous" and "Next" answer to the ← and → keys (Streamlit button shortcuts). The
sidebar is hidden so the heatmaps get the whole width of a projector; "Exit" returns.
"""

from __future__ import annotations

import streamlit as st

from attention_core import LabTrace
from ui.figures import FigureSpec, chart_config, step_figures, token_table

#: (title, formula, one sentence, figures shown)
STAGES: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("Tokens", r"\text{sentence} \rightarrow (t_1, \dots, t_n)",
     "The sentence is cut into tokens; each gets a position and an id in the sorted vocabulary.", ()),
    ("Embeddings", r"X \in \mathbb{R}^{n \times d_{model}}",
     "Each token becomes a row of numbers: its embedding.", ("embeddings",)),
    ("Queries, keys, values", r"Q = X W_Q,\quad K = X W_K,\quad V = X W_V",
     "Three learned matrices turn every embedding into a query, a key and a value.", ("Q", "K", "V")),
    ("Scores", r"S = Q K^\top",
     "Each query is compared with every key by a dot product: large means similar.", ("scores",)),
    ("Scaled scores", r"S' = c \cdot S",
     "The scores are multiplied by a factor (1/√d_k by default) so the softmax does not saturate.",
     ("scaled_scores", "masked_scores")),
    ("Weights", r"A = \operatorname{softmax}_{\text{row}}(S')",
     "Softmax turns each row of scores into weights between 0 and 1 that sum to 1.", ("weights",)),
    ("Output", r"Z = A V",
     "Each output row is the weighted average of the value rows: what the token gathers from the others.",
     ("output",)),
)

BIG_TYPE_CSS = """
<style>
[data-testid="stMain"] p, [data-testid="stMain"] li { font-size: 1.5rem !important; line-height: 1.4; }
[data-testid="stMain"] h1 { font-size: 3rem !important; }
[data-testid="stMain"] h2 { font-size: 2.4rem !important; }
[data-testid="stMain"] .katex { font-size: 2.2rem !important; }
[data-testid="stMain"] button p { font-size: 1.3rem !important; }
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"] { display: none !important; }
</style>
"""


def _go(delta: int) -> None:
    st.session_state["step"] = max(0, min(len(STAGES) - 1, int(st.session_state.get("step", 0)) + delta))


def _exit() -> None:
    st.session_state["present"] = False


def _big(fig: FigureSpec, height: int) -> FigureSpec:
    """The same figure in projector sizes (layout only; the data is untouched)."""
    layout = {**fig["layout"], "height": height, "font": {"size": 18}, "margin": {"l": 10, "r": 10, "t": 50, "b": 10}}
    for axis in ("xaxis", "yaxis"):
        if axis in layout:
            layout[axis] = {**layout[axis], "tickfont": {"size": 20}, "title": {**layout[axis].get("title", {}),
                                                                               "font": {"size": 18}}}
    layout["title"] = {**layout.get("title", {}), "font": {"size": 22}}
    data = [{**t, "textfont": {"size": 20}} if t.get("type") == "heatmap" else t for t in fig["data"]]
    return {"data": data, "layout": layout}


def render(trace: LabTrace) -> None:
    """Draw the current stage of ``trace`` and the previous / next controls."""
    st.html(BIG_TYPE_CSS)  # our own constant style sheet; no user text goes through st.html
    step = max(0, min(len(STAGES) - 1, int(st.session_state.get("step", 0))))
    title, formula, sentence, names = STAGES[step]
    figs = step_figures(trace, 0)
    shown = [n for n in names if n in figs]
    wide = len(shown) > 1
    left, right = st.columns([2, 3] if not wide else [1, 0.01])
    with left:
        c1, c2, c3 = st.columns(3)
        c1.button("← Previous", on_click=_go, args=(-1,), shortcut="Left", disabled=step == 0, key="prev_stage")
        c2.button("Next →", on_click=_go, args=(1,), shortcut="Right", disabled=step == len(STAGES) - 1,
                  key="next_stage")
        c3.button("Exit", on_click=_exit, key="exit_presentation", help="Back to the full Playground")
        st.progress((step + 1) / len(STAGES), text=f"Stage {step + 1} of {len(STAGES)}")
        st.header(title, anchor=False)
        st.latex(formula)
        st.write(sentence)
        if "scaled_scores" in names:
            st.write(f"c = {trace.attention.heads[0].scale:.4g}")
    if not shown:
        tok = trace.tokens_q
        right.plotly_chart(_big(token_table(tok.tokens, tok.positions, tok.ids), 560), width="stretch",
                           key="present_tokens", config=chart_config("tokens"))
        return
    where = st.columns(len(shown)) if wide else [right]
    for col, name in zip(where, shown):
        col.plotly_chart(_big(figs[name], 420 if wide else 600), width="stretch", key=f"present_{name}",
                         config=chart_config(name))

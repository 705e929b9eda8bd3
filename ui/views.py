"""The Playground's views of a trace: the weights with their clickable cells, the arithmetic of
one weight, every head at once, the other steps one click away. Figures come from
:mod:`ui.figures`, numbers from the trace; session-state writes go through :mod:`ui.state`."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pyarrow as pa
import streamlit as st

from attention_core import LabConfig, LabTrace, ValidationError, explain_weight, score_kinds
from attention_core.describe import describe_matrix, describe_weights
from attention_core.normalisers.base import MAX_TERMS
from attention_core.permutation import permutation_matrix, shuffle
from attention_core.steps import BY_NAME, Step, labels, steps_for
from attention_core.view import SECOND_VIEWS
from ui import export_panel, shared, state
from ui.figures import (
    MAX_CELLS_CLICKABLE,
    WEIGHTS_HEIGHT,
    FigureSpec,
    HeadView,
    chart_config,
    figure_bytes,
    head_weights_figure,
    heatmap,
    marked,
    on_phone,
    step_figure,
    step_head_view,
    with_click_layer,
    with_tile_click_layer,
)
from ui.text import literal

#: Our own constant style. Wide screens: less padding, so edit and effect share one screen; the sentence
#: box on the page is hidden (the sidebar has it). Narrow screens (a phone, 390 px): the title clears
#: Streamlit's top bar, the sentence is on the page, and the small controls beside the grid stay side by
#: side (Streamlit stacks every row of columns below 640 px), so the grid and the weights are one scroll
#: apart. Everywhere: the "Head" selector is one row, its label beside the options; a chosen weight's
#: arithmetic under the grid is at most as high as the screen leaves it (at 1280×720 it starts 459 px down:
#: 240 px, about ten lines; longer arithmetic scrolls inside it, the grid and the weights stay in view).
COMPACT = """
<style>
[data-testid="stMainBlockContainer"] { padding-top: 2.25rem !important; }
[data-testid="stMainBlockContainer"] > [data-testid="stVerticalBlock"] { gap: 0.25rem; }
[data-testid="stMain"] h1 { font-size: 1.6rem !important; line-height: 1.1 !important;
                             padding: 0 !important; }
.st-key-page_sentence { display: none !important; }
.st-key-head_shown .stRadio { display: flex; flex-direction: row; align-items: center; column-gap: 0.75rem; }
.st-key-head_shown .stRadio > [data-testid="stWidgetLabel"] { margin: 0; min-height: 0; flex: none; }
.st-key-head_shown [role="radiogroup"] { min-width: 0; }
.st-key-weight_arithmetic [data-testid="stCode"] { max-height: max(9rem, calc(100vh - 30rem));
                                                   overflow-y: auto; }
@media (max-width: 640px) {
  [data-testid="stMainBlockContainer"] { padding: 4rem 0.75rem 2rem 0.75rem !important; }
  [data-testid="stMain"] h1 { font-size: 1.35rem !important; padding-bottom: 0.45rem !important; }
  .st-key-page_sentence { display: block !important; }
  [data-testid="stMain"] [data-testid="stVerticalBlock"] { gap: 0.6rem; }
  [data-testid="stMain"] [role="radiogroup"] { flex-wrap: wrap !important; row-gap: 0.25rem; }
  [data-testid="stMain"] [data-testid="stElementContainer"]:has([data-testid="stDataFrame"]) {
    margin-top: 1.6rem; }  /* room for the grid's toolbar, which floats above it */
  [data-testid="stHorizontalBlock"] [data-testid="stHorizontalBlock"] {
    flex-wrap: nowrap !important; gap: 0.5rem; }
  [data-testid="stHorizontalBlock"] [data-testid="stHorizontalBlock"] > [data-testid="stColumn"] {
    min-width: 0 !important; width: auto !important; flex: 1 1 0 !important; }
}
</style>
"""


def palette() -> str:
    """The colour palette chosen in the sidebar (default, colour-blind, high-contrast)."""
    return str(st.session_state.get("palette", "default"))


def _chart(
    where: st.delta_generator.DeltaGenerator, fig: dict | go.Figure, key: str, **kwargs: object
) -> object:
    return where.plotly_chart(
        fig,
        width="stretch",
        key=key,
        config=chart_config(key, st.session_state.get("image_format", "png")),
        **kwargs,
    )


class FrozenFigure(go.Figure):
    """A figure checked by Plotly once, that also keeps the JSON-ready dict Plotly made of it.

    ``st.plotly_chart`` asks every session's chart for ``to_dict()``, which for a plain Figure deep-copies
    every array and encodes it to base64 again: measured, a third of a student's run in a room of 100.
    This figure answers with the dict made once (shared by every session: never change it)."""

    def __init__(self, spec: FigureSpec) -> None:
        super().__init__(spec)
        sent = json.loads(pio.to_json(self, validate=False))  # (calls to_dict: before _sent exists)
        self._sent = sent

    def to_dict(self) -> dict:
        sent = self.__dict__.get("_sent")
        return super().to_dict() if sent is None else sent


def shared_figure(trace: LabTrace, what: tuple, build: Callable[[], FigureSpec]) -> go.Figure:
    """The figure ``build()`` makes from ``trace``, checked by Plotly and made ready to send once per server,
    and shared by every session showing this configuration (see :class:`FrozenFigure`)."""
    size = 0  # taken from the spec while it is at hand

    def make() -> go.Figure:
        nonlocal size
        spec = build()
        size = 2 * figure_bytes(spec)  # the figure and the dict it sends
        return FrozenFigure(spec)

    # The layout depends on the room (a phone's is narrower): one shared figure per kind of screen.
    return shared.shared_view(trace, ("figure", on_phone(), *what), make, lambda _fig: size)


def shared_table(
    trace: LabTrace, what: tuple, build: Callable[[], pd.DataFrame], *, index: bool = False
) -> pa.Table:
    """The table ``build()`` makes from ``trace``, converted to Arrow once per server (Streamlit sends
    Arrow; a pandas frame is converted on every rerun). ``index``: keep the frame's index (shown as
    the grid's row labels, as for the frame itself)."""
    return shared.shared_view(
        trace,
        ("table", index, *what),
        lambda: pa.Table.from_pandas(build(), preserve_index=index),
        lambda t: int(t.nbytes) + 1024,
    )


#: Matrices up to this size also get their numbers as a table (a screen reader reads it cell by cell).
MAX_TABLE_SIDE = 12


def text_alternative(trace: LabTrace, step: Step, head: int) -> None:
    """What the heatmap shows, in words: one sentence, and up to 12 × 12 the numbers as a table."""
    value = step.value(trace, head)
    rows, cols = labels(trace, step, value)
    kinds = (
        score_kinds(trace.attention.heads[head], step.name)
        if step.name in ("scores", "scaled_scores", "biased_scores", "masked_scores")
        else None
    )
    sentence = (
        describe_weights(value, rows, cols)
        if step.name == "weights"
        else describe_matrix(value, rows, cols, step.name, kinds=kinds)
    )
    st.caption(literal(sentence))
    if max(value.shape) <= MAX_TABLE_SIDE:
        # Built only while open (on_change="rerun"): most people never open it, and every rerun paid for it.
        table = st.expander(
            f"{step.title}: the numbers as a table", key=f"numbers::{step.name}", on_change="rerun"
        )
        if table.open:

            def build() -> pd.DataFrame:
                frame = pd.DataFrame(value, columns=[f"{j}·{c}" for j, c in enumerate(cols)])
                frame.insert(0, "row", [f"{i}·{r}" for i, r in enumerate(rows)])
                return frame

            table.dataframe(shared_table(trace, ("numbers", step.name, head), build), hide_index=True)


def head_choice(trace: LabTrace) -> tuple[int, HeadView]:
    """With several heads: a selector, and every head's weights side by side (click one to focus it) above
    it when the one-screen room holds them with the weights, else under the weights (drawn by the page with
    :func:`heads_strip`). The builder decides that and the heights (:func:`ui.figures.head_view`).
    Returns (the head shown, that layout)."""
    n = trace.attention.n_heads
    state.keep_in_range("head_shown", n - 1)  # a widget never receives a value above its limit (nor a link)
    layout = step_head_view(trace, BY_NAME["weights"], n - 1)  # every head's the same (its widest title)
    if n == 1:
        return 0, layout
    if layout.strip_above:
        heads_strip(trace, layout)
    if n > MAX_HEAD_RADIO:  # hundreds of heads: a number box, not a row of hundreds of options
        return int(
            st.number_input(
                f"Head (0 … {n - 1})",
                min_value=0,
                max_value=n - 1,
                step=1,
                key="head_shown",
                persist_state="session",
            )
        ), layout
    # One row, its label beside the options (views.COMPACT): the weights keep the room.
    return int(
        st.radio("Head", list(range(n)), horizontal=True, key="head_shown", persist_state="session")
    ), layout


def heads_strip(trace: LabTrace, layout: HeadView) -> None:
    """Every head's weights side by side, ``layout.strip`` px high; a click on a tile focuses its head."""
    n, n_k = trace.attention.n_heads, trace.attention.heads[0].n_k
    if n == 1:
        return
    pal = palette()
    _chart(
        st,
        shared_figure(
            trace,
            ("all_heads", pal, layout.strip),
            lambda: with_tile_click_layer(
                head_weights_figure(trace, height=layout.strip, palette=pal),
                n,
                *trace.attention.heads[0].weights.shape,
            ),
        ),
        "all_heads",
        # A callback sees the click once, before the page's script runs (so before the selector is drawn,
        # wherever the strip stands); the selection itself stays in the chart over later reruns.
        on_select=functools.partial(_focus_clicked_head, n_k, n),
        selection_mode="points",
    )


def _focus_clicked_head(n_k: int, n: int) -> None:
    event = st.session_state.get("all_heads") or {}
    points = (event.get("selection") or {}).get("points") or []
    if points:  # x of the clicked tile cell -> its head
        state.focus_head(int(points[0].get("x", 0)) // (n_k + 1), n)


#: More heads than this are chosen with a number box (a radio of 768 options fills the screen).
MAX_HEAD_RADIO = 16


def weights_view(trace: LabTrace, cfg0: LabConfig, head: int, height: int = WEIGHTS_HEIGHT) -> None:
    """The weights heatmap, ``height`` px high (click a cell to explain it); optionally the change made by
    the edits."""
    h = trace.attention.heads[head]
    cell = st.session_state.get("explained")
    cell = tuple(cell) if cell and cell[0] < h.n_q and cell[1] < h.n_k else None
    if cell is None and st.session_state.get("explained") is not None:  # a link's cell outside this matrix
        state.select_weight(None)
    pal = palette()

    def build() -> FigureSpec:
        fig = step_figure(trace, BY_NAME["weights"], head, height=height, palette=pal)
        return with_click_layer(marked(fig, *cell) if cell else fig)

    event = _chart(
        st,
        shared_figure(trace, ("weights", head, pal, cell, height), build),
        "weights",
        on_select="rerun",
        selection_mode="points",
    )
    text_alternative(trace, BY_NAME["weights"], head)
    if (
        trace.overflow_note
    ):  # a score beyond float64: the weights are exact, the score is not shown as a number
        st.caption(literal(trace.overflow_note))
    points = (event or {}).get("selection", {}).get("points", []) if event else []
    if points:  # the click layer has one marker per cell: point_index = row · n_k + column
        i, j = divmod(int(points[0].get("point_index", -1)), h.n_k)
        if 0 <= i < h.n_q and 0 <= j < h.n_k and (i, j) != cell:
            state.select_weight((i, j))
            st.rerun(scope="fragment")
    show_change = st.toggle(
        "Show what my edits changed",
        key="show_change",
        persist_state="session",
        help="The weights minus the weights of the unedited matrices.",
    )
    if show_change and cfg0.edits != trace.config.edits:
        plain = shared.cached_run_lab(cfg0).attention.heads[head]
        if plain.weights.shape == h.weights.shape:
            _chart(
                st,
                heatmap(
                    h.weights - plain.weights,
                    title="change in weights (edited − unedited)",
                    kind="scores",
                    row_labels=trace.tokens_q.tokens,
                    col_labels=trace.tokens_kv.tokens,
                    height=300,
                ),
                "change",
            )


def explain_view(trace: LabTrace, head: int, shown: st.delta_generator.DeltaGenerator | None = None) -> None:
    """The arithmetic of the chosen weight, with row and column selectors as the keyboard route. The
    selectors stay where this is called; the arithmetic goes to ``shown`` (the page's place for it under
    the grid: the editor and the weights stay on the screen, and the selectors keep the keyboard's focus)."""
    h = trace.attention.heads[head]
    if h.weights.size > MAX_CELLS_CLICKABLE:
        return
    cell = st.session_state.get("explained")
    with st.expander(
        "The arithmetic of one weight (click a weight, or choose its row and column)",
        expanded=cell is not None,
    ):
        c1, c2, c3 = st.columns([1.6, 1.6, 1.1], vertical_alignment="bottom")
        q_tok, k_tok = trace.tokens_q.tokens, trace.tokens_kv.tokens
        i0, j0 = cell if cell and cell[0] < h.n_q and cell[1] < h.n_k else (0, 0)
        i = c1.selectbox("query (row)", range(h.n_q), index=i0, format_func=lambda r: f"{r}: {q_tok[r][:14]}")
        j = c2.selectbox(
            "key (column)", range(h.n_k), index=j0, format_func=lambda k: f"{k}: {k_tok[k][:14]}"
        )
        c3.button("Clear", on_click=state.select_weight, args=(None,), disabled=cell is None)
        if (i, j) != (i0, j0) or cell is None and (i, j) != (0, 0):
            state.select_weight((i, j))
        if st.session_state.get("explained") is None:
            return
        explained = shown or st.container()
        ex = explain_weight(h, i, j)
        if ex["exp_sum"] == 0:  # the mask hides every key from this row: there is no softmax to explain
            explained.code(
                f"query {q_tok[i]!r} (row {i}) sees no key: the mask hides every key from this row, so it "
                f"attends to nothing and every weight of the row is 0 (its output row is 0).",
                language=None,
                wrap_lines=True,
            )
            return
        terms = listed([f"({_number(a, 3)})" for a in ex["terms"]], " + ")
        kind = {
            "+overflow": "   (beyond float64: above +1.8e308, an overflow, not a mask)",
            "-overflow": "   (beyond float64: below −1.8e308, an overflow, not a mask)",
            "masked": "   (masked: −∞)",
        }.get(str(ex["kind"]), "")
        explained.code(  # the weight itself on the first line: in view whatever the panel's height
            f"query {q_tok[i]!r} (row {i}) → key {k_tok[j]!r} (column {j}): weight {ex['weight']:.6g}\n"
            f"score  = q_i · k_j = {terms} = {_number(ex['score'])}"
            + (f"   (the sum of all {len(ex['terms'])} terms)" if len(ex["terms"]) > MAX_TERMS else "")
            + "\n"
            f"scaled = {ex['scale']:.6g} × {_number(ex['score'])} = {_number(ex['scaled_score'])}"
            + (
                f"\nbiased = {_number(ex['scaled_score'])} + ALiBi bias {ex['position_bias']:.4g} = "
                f"{_number(ex['biased_score'])}"
                if h.position_bias is not None
                else ""
            )
            + kind
            + (
                "\n(q_i and k_j are already turned by RoPE: their dot product sees only i − j)"
                if h.Q_unrotated is not None
                else ""
            )
            + (
                "\n(this row's scores overflow float64: the weights come from the row minus its maximum, "
                "computed exactly from rescaled numbers)"
                if ex["row_overflowed"]
                else ""
            )
            + "\n"
            + "\n".join(ex["lines"])
            + "\n"  # the normaliser's own arithmetic (softmax: exp, Σ)
            f"w·v_j  = [{listed([f'{v:.3g}' for v in ex['contribution']])}] → output row {i}",
            language=None,
            wrap_lines=True,
        )


def listed(items: list[str], sep: str = ", ") -> str:
    """Every item up to MAX_TERMS, else the first MAX_TERMS and "… n more" (the panel never hides that it
    shows part of a list)."""
    more = f"{sep}… {len(items) - MAX_TERMS} more" if len(items) > MAX_TERMS else ""
    return sep.join(items[:MAX_TERMS]) + more


def _number(v: float, digits: int = 6) -> str:
    """A score as the panel writes it: ±∞ for a value beyond float64 (never a bare "inf")."""
    return f"{v:.{digits}g}" if math.isfinite(v) else ("+∞" if v > 0 else "−∞")


def second_view(trace: LabTrace, head: int) -> None:
    """One more step under the weights, chosen by the person (in view at 1920×1080)."""
    name = st.segmented_control(
        "Also show", SECOND_VIEWS, key="second_view", persist_state="session", default="scores"
    )
    if name and name in BY_NAME:
        pal = palette()
        _chart(
            st,
            shared_figure(
                trace,
                ("second", name, head, pal),
                lambda: step_figure(trace, BY_NAME[name], head, height=360, palette=pal),
            ),
            f"second_{name}",
        )


def every_step(trace: LabTrace, head: int) -> None:
    """Every registered step, one tab each (the registry's order)."""
    shown = {"weights", st.session_state.get("second_view")}  # already on screen above
    steps = [s for s in steps_for(trace) if s.name not in shown]
    # Only the open tab is computed and sent (on_change="rerun"): the others cost nothing per rerun.
    titles = ["Tokens", *(s.title for s in steps), "Word order", "Share and export"]
    state.keep_choice("step_tab", titles, titles[0])  # a link's tab that is not here: the first
    tabs = st.tabs(titles, key="step_tab", on_change="rerun")
    if tabs[0].open:
        with tabs[0]:
            token_tables(trace)
    if tabs[-2].open:
        with tabs[-2]:
            word_order(trace)
    if tabs[-1].open:  # the link, the files and the import: built only when asked for
        with tabs[-1]:
            export_panel.render(trace)
    for tab, s in zip(tabs[1:-2], steps):
        if not tab.open:
            continue
        with tab:
            st.latex(s.formula)
            pal = palette()
            _chart(
                tab,
                shared_figure(
                    trace,
                    ("step", s.name, head, pal),
                    lambda s=s, pal=pal: step_figure(trace, s, head, palette=pal),
                ),
                f"fig_{s.name}",
            )
            text_alternative(trace, s, head)
    h = trace.attention.heads[head]
    share = h.row_entropy_share()  # (n_q,)
    st.text(
        f"How peaked is each row? Entropy from {share.min():.2f} to {share.max():.2f} of ln n = "
        f"{math.log(max(h.n_k, 1)):.4f} nats "
        f"({h.normaliser.entropy_note}). Scale in force: {h.scale:.6g}"
    )
    # Each row's figures, built only while open: they change with every value of a slider drag.
    rows = st.expander("Entropy and largest weight of each row", key="entropy_table", on_change="rerun")
    if rows.open:
        rows.dataframe(
            shared_table(
                trace,
                ("entropy", head),
                lambda: pd.DataFrame(
                    {
                        "query": trace.tokens_q.tokens,
                        "entropy (nats)": h.row_entropy(),
                        "share of ln n": share,
                        "largest weight": h.row_max_weight(),
                    }
                ),
            ),
            hide_index=True,
        )
    if h.fully_masked_rows.any():
        st.warning(
            literal(
                f"{int(h.fully_masked_rows.sum())} query row(s) may attend to no key: their weights are 0."
            )
        )


def word_order(trace: LabTrace) -> None:
    """Shuffle the words: without positions and mask the weights shuffle with them (Π A Πᵀ)."""
    n = len(trace.tokens_q.tokens)
    st.button("Shuffle the words", key="shuffle_words", on_click=state.shuffle_words, args=(n,))
    perm = state.current_shuffle(n)
    if perm is None:
        st.caption("Shuffle the sentence and compare: is the new attention the old one, reordered?")
        return
    try:
        other, _expected, deviation = shuffle(trace, np.asarray(perm))
    except ValidationError as exc:
        st.info(literal(str(exc)))
        return
    tokens = trace.tokens_q.tokens
    shuffled = [tokens[i] for i in perm]
    c1, c2, c3 = st.columns([2, 3, 3])
    _chart(
        c1,
        heatmap(
            permutation_matrix(np.asarray(perm)),
            title="permutation Π (new row ← old column)",
            kind="weights",
            row_labels=shuffled,
            col_labels=tokens,
            row_title="new order",
            col_title="old order",
            height=300,
            text_width=250,
        ),
        "permutation",
    )
    _chart(
        c2,
        heatmap(
            trace.attention.heads[0].weights,
            title="weights A (as typed)",
            kind="weights",
            row_labels=tokens,
            col_labels=tokens,
            height=300,
        ),
        "order_before",
    )
    _chart(
        c3,
        heatmap(
            other.attention.heads[0].weights,
            title="weights of the shuffled words",
            kind="weights",
            row_labels=shuffled,
            col_labels=shuffled,
            height=300,
        ),
        "order_after",
    )
    verdict = (
        "the same weights, reordered: attention cannot see word order here"
        if deviation < 1e-9
        else "different weights: positions or the mask make word order visible"
    )
    st.text(f"max |A_shuffled − Π A Πᵀ| = {deviation:.3g}: {verdict}.")


def vocabulary_ids(trace: LabTrace, tokens: list[str]) -> list[int]:
    index = {t: i for i, t in enumerate(trace.vocabulary)}
    return [index[t] for t in tokens]


def token_tables(trace: LabTrace) -> None:
    """Tokens with position and vocabulary id, shown literally (a dataframe renders no markup)."""
    pairs = [("", trace.tokens_q)] + (
        [("Second sentence (keys and values)", trace.tokens_kv)] if trace.is_cross else []
    )
    for k, (col, (title, tok)) in enumerate(zip(st.columns(len(pairs)), pairs)):
        if title:
            col.caption(title)
        col.dataframe(
            shared_table(
                trace,
                ("tokens", k),
                lambda tok=tok: pd.DataFrame(
                    {"position": tok.positions, "token": tok.tokens, "id": vocabulary_ids(trace, tok.tokens)}
                ),
            ),
            hide_index=True,
            width="content",
        )


def image_note(trace: LabTrace) -> None:
    if np.prod(trace.attention.heads[0].weights.shape) > 256 * 256:
        st.caption(
            "Large matrices are drawn as pictures: hover names the row and column; the exact values are in "
            "the exports at the bottom."
        )

"""Playground: type a sentence, edit the matrices, watch every step of attention."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from attention_core import LabConfig, LabTrace, ValidationError, explain_weight
from ui import controls, export_panel, presentation, state
from ui.figures import (
    MAX_CELLS_AS_HEATMAP,
    MAX_CELLS_CLICKABLE,
    chart_config,
    heatmap,
    step_figures,
    with_click_layer,
)
from ui.text import literal

state.ensure_defaults()
state.load_url_once()
state.consume_pending()
present = bool(st.session_state["present"])
if not present:
    st.title("Attention Playground")
messages = controls.sidebar(present)
if st.session_state["given"] and not present:
    controls.real_head_banner()
if st.session_state.get("url_messages"):
    st.warning("Parts of the link or file could not be used and were ignored; the rest is applied:")
    st.code("\n".join(st.session_state.pop("url_messages")), language=None)

# 1. The configuration the widgets describe; a setting that cannot work is explained
#    next to its widget and the last good state stays on screen.
try:
    cfg0 = state.config_without_edits()
    base_trace = state.cached_run_lab(cfg0)
    frozen = False
except ValidationError as exc:
    hint = " (a real model's head is loaded: leave it with the button above to change this)" if st.session_state["given"] else ""
    messages.get(exc.field or "", messages["sentence"]).error(literal(str(exc) + hint))
    last = st.session_state.get("last_good_trace")
    if last is None:
        st.stop()
    st.warning("Showing the last valid state until the setting above is fixed.")
    base_trace, cfg0, frozen = last, last.config, True

# 2. Hand edits typed on matrices that have just been regenerated are set aside, never lost.
if not frozen:
    state.reconcile_edits(base_trace.base)
if st.session_state.get("stash") and not present:
    n = len(st.session_state["stash"])
    names = ", ".join(sorted({m for m, _, _ in st.session_state["stash"]}))
    c1, c2, c3 = st.columns([4, 1, 1])
    c1.info(literal(f"The matrices were regenerated, so your {n} edit(s) to {names} were set aside."))
    if c2.button("Bring them back"):
        state.restore_stash(base_trace.base)
        st.rerun()
    if c3.button("Discard them"):
        st.session_state["stash"] = None
        st.rerun()

# 3. Presentation mode: one stage at a time, in large type, from the same trace.
if present:
    trace = base_trace if frozen else state.cached_run_lab(cfg0.with_edits(st.session_state["edits"]))
    state.write_url(trace.config)
    presentation.render(trace)
    st.stop()

st.subheader("Tokens")
controls.token_table(base_trace)

# Everything below depends on the hand edits only, so it is one fragment: an edit reruns
# this part (editor, trace, heatmaps), not the sidebar and the tokenizer above.
@st.fragment
def lab(cfg0: LabConfig, base_trace: LabTrace, frozen: bool) -> None:
    # 4. The editable matrices.
    st.subheader("Matrices (click a cell, type a number, press Enter)")
    titles = {"embeddings": "Embeddings X", "embeddings_kv": "Embeddings of the 2nd sentence",
              "W_q": "W_Q", "W_k": "W_K", "W_v": "W_V", "W_o": "W_O", "b_q": "bias b_Q", "b_k": "bias b_K",
              "b_v": "bias b_V"}
    editable = [m for m in titles if m in base_trace.base]
    if st.session_state.get("edit_matrix") not in editable:
        st.session_state["edit_matrix"] = "W_q"
    # One grid at a time: each data editor costs a few ms on every rerun, for every session.
    name = st.radio("Matrix to edit", editable, format_func=titles.get, horizontal=True, key="edit_matrix", persist_state="session")
    controls.matrix_editor(name, titles[name], base_trace)
    if st.button("Reset all edits", disabled=not st.session_state["edits"]):
        state.reset_edits()
        st.rerun()

    # 5. The trace with the edits, and every step drawn from it.
    if frozen:
        trace = base_trace
    else:
        trace = state.cached_run_lab(cfg0.with_edits(st.session_state["edits"]))
        st.session_state["last_good_trace"] = trace
        state.write_url(trace.config)
    head = 0
    if trace.attention.n_heads > 1:
        head = st.radio("Head", list(range(trace.attention.n_heads)), horizontal=True, key="head_shown", persist_state="session")
    h = trace.attention.heads[head]
    st.text(f"Scale in force: {h.scale:.6g}   (scores are multiplied by this before the softmax)")
    if h.fully_masked_rows.any():
        st.warning(f"{int(h.fully_masked_rows.sum())} query row(s) may attend to no key: their weights are all 0.")

    figs = step_figures(trace, head)
    fmt = st.session_state["image_format"]

    def chart(where: st.delta_generator.DeltaGenerator, name: str, **kwargs: object) -> object:
        fig = kwargs.pop("fig", None) or figs[name]
        return where.plotly_chart(fig, width="stretch", key=f"fig_{name}", config=chart_config(name, fmt), **kwargs)


    st.subheader("Every step")
    if any(f["data"][0]["type"] == "image" for f in figs.values()):
        st.caption(f"Matrices of more than {MAX_CELLS_AS_HEATMAP:,} cells are drawn as pictures (much faster to "
                   "draw): hover names the row and column; the exact values are in the exports at the bottom.")
    for col, name in zip(st.columns(3), ("Q", "K", "V")):
        chart(col, name)
    c1, c2 = st.columns(2)
    chart(c1, "scores")
    chart(c2, "scaled_scores")
    if "masked_scores" in figs:
        chart(st, "masked_scores")

    c1, c2 = st.columns(2)
    with c1:
        show_change = st.toggle("Show the change in the weights since before my last edit", key="show_change", persist_state="session")
        before = st.session_state.get("edits_before_last_edit")
        if show_change and before is not None and not frozen:
            prev = state.cached_run_lab(cfg0.with_edits(before)).attention.heads[head]
            if prev.weights.shape == h.weights.shape:
                chart(st, "change", fig=heatmap(h.weights - prev.weights, title="change in weights", kind="scores",
                                               row_labels=trace.tokens_q.tokens, col_labels=trace.tokens_kv.tokens))
        event = chart(st, "weights", fig=with_click_layer(figs["weights"]), on_select="rerun", selection_mode="points")
        if h.weights.size <= MAX_CELLS_CLICKABLE:
            st.caption("Click a weight to see its arithmetic.")
    chart(c2, "output")

    # 6. Softmax saturation, per query row.
    st.subheader("How peaked is each row?")
    st.dataframe(pd.DataFrame({
        "query": trace.tokens_q.tokens,
        "entropy (nats)": h.row_entropy(),
        "largest weight": h.row_max_weight(),
    }), hide_index=True)

    # 7. The arithmetic of a clicked weight.
    points = (event or {}).get("selection", {}).get("points", []) if event else []
    if points:
        i, j = divmod(int(points[0].get("point_index", -1)), h.n_k)  # the click layer has one marker per cell
        if 0 <= i < h.n_q and 0 <= j < h.n_k:
            ex = explain_weight(h, i, j)
            st.subheader("The arithmetic of one weight")
            st.text(f"query {trace.tokens_q.tokens[i]!r} (row {i})  →  key {trace.tokens_kv.tokens[j]!r} (column {j})")
            st.latex(r"s_{ij} = \sum_d q_{i,d}\,k_{j,d}, \quad w_{ij} = \frac{e^{c\,s_{ij} - m}}{\sum_{j'} e^{c\,s_{ij'} - m}}")
            terms = " + ".join(f"({a:.4g})" for a in ex["terms"])
            st.code(
                f"score   = {terms}\n        = {ex['score']:.6g}\n"
                f"scaled  = {ex['scale']:.6g} × {ex['score']:.6g} = {ex['scaled_score']:.6g}\n"
                f"exp row = exp(scaled - {ex['row_max']:.6g}) = [{', '.join(f'{v:.4g}' for v in ex['exp_row'])}]\n"
                f"weight  = {ex['exp_row'][j]:.6g} / {ex['exp_sum']:.6g} = {ex['weight']:.6g}\n"
                f"v_j     = [{', '.join(f'{v:.4g}' for v in ex['value'])}]\n"
                f"w·v_j   = [{', '.join(f'{v:.4g}' for v in ex['contribution'])}]  (this key's share of output row {i})",
                language=None,
            )

    if trace.attention.n_heads > 1:
        st.subheader("All heads together")
        c1, c2 = st.columns(2)
        chart(c1, "concat")
        chart(c2, "final_output")

    st.divider()
    export_panel.render(trace)


lab(cfg0, base_trace, frozen)

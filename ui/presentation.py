"""Presentation mode: one stage of the mechanism at a time, sized for a 1280×720 projector.

The stages come from the step registry (:func:`attention_core.steps.stages_for`),
preceded by the tokens and followed, with several heads, by every head's weights
side by side. Next: →, PageDown (what presenter clickers send) or Space on the
focused button; previous: ← or PageUp. Streamlit binds ``r`` and ``c`` itself, so
those are left alone. The sentence stays editable, and "Larger type" enlarges
every number for a big hall.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from attention_core import LabTrace
from attention_core.lab import MAX_SENTENCE_CHARS
from attention_core.steps import Step, stages_for
from ui import state
from ui.figures import FigureSpec, chart_config, fit_margins, head_weights_figure, step_figure, token_table

#: Height of the figures of one stage: 720 px minus the bar of buttons, the title and the formula.
FIGURE_HEIGHT = 430
#: Cell numbers in presentation mode (the Playground uses 14 px): readable from the back row.
NUMBER_SIZE, BIG_NUMBER_SIZE = 20, 26

STYLE = """
<style>
[data-testid="stSidebar"], [data-testid="stExpandSidebarButton"] { display: none !important; }
[data-testid="stMainBlockContainer"] { padding-top: 2.2rem !important; padding-bottom: 0 !important; }
[data-testid="stMain"] h2 { font-size: 2rem !important; padding: 0 !important; }
[data-testid="stMain"] p { font-size: 1.25rem !important; }
[data-testid="stMain"] .katex { font-size: 1.6rem !important; }
.st-key-clicker_keys { position: absolute !important; width: 1px; height: 1px; overflow: hidden;
                       clip-path: inset(50%); }
</style>
"""


def stages(trace: LabTrace, *, join: bool = False) -> list[tuple[str, list[Step]]]:
    """Every stage in order: how to join (a lecture room), the tokens, the registry's stages, and all heads
    (several heads)."""
    out: list[tuple[str, list[Step]]] = [("Join", [])] if join else []
    out += [("Tokens", [])]
    out += stages_for(trace)
    if trace.attention.n_heads > 1:
        out.insert(len(out) - 1, ("All heads", []))  # before concatenation and W_O
    return out


def _big(fig: FigureSpec, height: int, number_size: int) -> FigureSpec:
    """The same figure in projector sizes (layout and text size only; the data is untouched)."""
    tick = {"tickfont": {"size": number_size - 2}}
    xaxis, yaxis = fig["layout"].get("xaxis", {}), fig["layout"].get("yaxis", {})
    margin = fit_margins(yaxis.get("ticktext", []), xaxis.get("ticktext", []), angled=bool(xaxis.get("tickangle")),
                         tick_px=number_size - 2, title_px=18) if xaxis.get("automargin") is False \
        else {"l": 10, "r": 10, "t": 40, "b": 10}
    layout = {**fig["layout"], "height": height, "font": {"size": 16}, "margin": margin,
              "xaxis": {**xaxis, **tick}, "yaxis": {**yaxis, **tick}}
    data = [{**t, "textfont": {"size": number_size}} if t.get("type") == "heatmap" else t for t in fig["data"]]
    return {"data": data, "layout": layout}


def render(trace: LabTrace, join: Callable[[], None] | None = None) -> None:
    """Draw the current stage of ``trace`` and the controls to move between stages; ``join`` draws the
    first stage, how to join the lecture room (when there is one)."""
    st.html(STYLE)  # our own constant style sheet; no user text goes through st.html
    all_stages = stages(trace, join=join is not None)
    step = state.clamp_stage(len(all_stages))
    title, steps = all_stages[step]
    size = BIG_NUMBER_SIZE if st.session_state.get("big_type") else NUMBER_SIZE

    bar = st.columns([1.5, 1.3, 0.8, 1.4, 4], vertical_alignment="center")
    bar[0].button("← Previous", on_click=state.go_stage, args=(-1, len(all_stages)), shortcut="Left",
                  disabled=step == 0, key="prev_stage")
    bar[1].button("Next →", on_click=state.go_stage, args=(1, len(all_stages)), shortcut="Right",
                  disabled=step == len(all_stages) - 1, key="next_stage")
    bar[2].button("Exit", on_click=state.exit_presentation, key="exit_presentation",
                  help="Back to the full Playground")
    bar[3].toggle("Larger type", key="big_type", persist_state="session")
    state.mirror_sentence()  # its own widget: the sidebar's sentence widget is not drawn here
    bar[4].text_input("Sentence", key="present_sentence", label_visibility="collapsed", max_chars=MAX_SENTENCE_CHARS,
                      on_change=state.on_present_sentence, help="Type a new sentence and press Enter.")
    with st.container(key="clicker_keys"):  # presenter clickers send PageDown / PageUp
        st.button("next", on_click=state.go_stage, args=(1, len(all_stages)), shortcut="PageDown", key="pg_next")
        st.button("previous", on_click=state.go_stage, args=(-1, len(all_stages)), shortcut="PageUp",
                  key="pg_prev")

    head, formula = st.columns([2, 3], vertical_alignment="center")
    head.header(title, anchor=False)
    head.caption(f"stage {step + 1} of {len(all_stages)}: → or PageDown for the next, ← or PageUp to go back")
    if steps:
        formula.latex(r",\quad ".join(s.formula for s in steps)
                      + (rf",\quad c = {trace.attention.heads[0].scale:.4g}" if title == "Scaling" else ""))
        st.caption(steps[0].explain)
    if title == "Join" and join is not None:
        join()
        return
    for (key, fig), col in zip(stage_figures(trace, title, steps, number_size=size, width=1200),
                               st.columns(max(1, len(steps)))):
        col.plotly_chart(fig, width="stretch", key=f"present_{key}", config=chart_config(key))


def stage_figures(trace: LabTrace, title: str, steps: list[Step], *, number_size: int, width: int,
                  height: int = FIGURE_HEIGHT, palette: str | None = None) -> list[tuple[str, FigureSpec]]:
    """The figures of one stage, (name, figure) side by side, at a screen ``width`` px wide: the lecturer's
    projector (1200) or a student's phone (360)."""
    pal = palette or str(st.session_state.get("palette", "default"))
    if title == "Tokens":
        tok = trace.tokens_q
        return [("tokens", _big(token_table(tok.tokens, tok.positions, tok.ids), height, number_size))]
    if title == "All heads":
        return [("heads", _big(head_weights_figure(trace, height=height), height, number_size))]
    return [(s.name, _big(step_figure(trace, s, 0, text_width=width // max(1, len(steps)), text_size=number_size,
                                      palette=pal), height, number_size)) for s in steps]

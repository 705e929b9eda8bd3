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
from ui.figures import (
    MIN_TEXT_SIZE,
    TICK_PX,
    FigureSpec,
    chart_config,
    head_weights_figure,
    step_figure,
    token_table,
)

#: Height of the figures of one stage: 720 px minus the bar of buttons, the title and the formula.
FIGURE_HEIGHT = 430
#: Cell numbers in presentation mode (the Playground uses 14 px): readable from the back row; never
#: smaller than NUMBER_SIZE (fewer digits, then none: the builder decides, see ui.figures.plan).
NUMBER_SIZE, BIG_NUMBER_SIZE = 20, 26
#: Tick labels in presentation mode, normal and larger type.
TICK_SIZE, BIG_TICK_SIZE = 16, 18
#: The width a stage's figures share at 1280×720 (the page's padding and the columns' gaps taken off).
STAGE_WIDTH = 1150

#: Presenter keys must work after any control is clicked: a toggle keeps the focus (and the keys go to it),
#: and so does the sentence after Enter. Our own constant script, no user text: it gives the focus back
#: to the page after a toggle changes or the sentence is sent, only while presenting.
KEYS_BACK = """
<script>
if (!window.__labPresenterKeys) {
  window.__labPresenterKeys = true;
  const presenting = () => document.querySelector('.st-key-clicker_keys') !== null;
  document.addEventListener('change', e => {
    const t = e.target;
    if (presenting() && t instanceof HTMLInputElement && (t.type === 'checkbox' || t.type === 'radio')) {
      setTimeout(() => t.blur(), 0);
    }
  }, true);
  // A control that kept the focus (a toggle, the sentence) swallows the presenter's keys: take them here.
  document.addEventListener('keydown', e => {
    const t = e.target;
    if (!presenting() || !(t instanceof HTMLInputElement)) return;
    const box = t.type === 'checkbox' || t.type === 'radio';
    const fwd = e.key === 'PageDown' || (box && e.key === 'ArrowRight');
    const back = e.key === 'PageUp' || (box && e.key === 'ArrowLeft');
    if (fwd || back) {
      const button = document.querySelector(fwd ? '.st-key-next_stage button' : '.st-key-prev_stage button');
      if (button && !button.disabled) {
        e.preventDefault();
        e.stopPropagation();
        t.blur();
        button.click();
      }
    } else if (e.key === 'Enter' && t.closest('.st-key-present_sentence')) {
      setTimeout(() => t.blur(), 0);
    }
  }, true);
}
</script>
"""

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


def _big(fig: FigureSpec, height: int) -> FigureSpec:
    """A figure that is not a heatmap (the tokens' table) in projector sizes: layout only."""
    return {**fig, "layout": {**fig["layout"], "height": height, "font": {"size": 16}}}


def render(
    trace: LabTrace, join: Callable[[], None] | None = None, teach: Callable[[], None] | None = None
) -> None:
    """Draw the current stage of ``trace`` and the controls to move between stages; ``join`` draws the
    first stage, how to join the lecture room (when there is one); ``teach`` draws, in the bar of buttons,
    the one that turns the lab into a room (when there is none)."""
    st.html(STYLE)  # our own constant style sheet; no user text goes through st.html
    all_stages = stages(trace, join=join is not None)
    step = state.clamp_stage(len(all_stages))
    title, steps = all_stages[step]
    big = bool(st.session_state.get("big_type"))

    bar = st.columns([1.5, 1.3, 0.8, 1.4, 1.1 if teach else 0.01, 3.3], vertical_alignment="center")
    # The shortcut's badge draws the arrow ("Previous ←", "Next →"): the labels carry none of their own.
    bar[0].button(
        "Previous",
        on_click=state.go_stage,
        args=(-1, len(all_stages)),
        shortcut="Left",
        disabled=step == 0,
        key="prev_stage",
    )
    bar[1].button(
        "Next",
        on_click=state.go_stage,
        args=(1, len(all_stages)),
        shortcut="Right",
        disabled=step == len(all_stages) - 1,
        key="next_stage",
    )
    bar[2].button(
        "Exit", on_click=state.exit_presentation, key="exit_presentation", help="Back to the full Playground"
    )
    bar[3].toggle("Larger type", key="big_type", persist_state="session")
    if teach is not None:
        with bar[4]:
            teach()
    state.mirror_sentence()  # its own widget: the sidebar's sentence widget is not drawn here
    bar[5].text_input(
        "Sentence",
        key="present_sentence",
        label_visibility="collapsed",
        max_chars=MAX_SENTENCE_CHARS,
        on_change=state.on_present_sentence,
        help="Type a new sentence and press Enter.",
    )
    with st.container(key="clicker_keys"):  # presenter clickers send PageDown / PageUp
        st.html(KEYS_BACK, unsafe_allow_javascript=True)  # in the hidden container: it takes no room
        st.button(
            "next", on_click=state.go_stage, args=(1, len(all_stages)), shortcut="PageDown", key="pg_next"
        )
        st.button(
            "previous", on_click=state.go_stage, args=(-1, len(all_stages)), shortcut="PageUp", key="pg_prev"
        )

    many = len(steps) > 2  # four formulas (RoPE's Q/K/V) need most of the width
    head, formula = st.columns([1.4, 3.6] if many else [2, 3], vertical_alignment="center")
    head.header(title, anchor=False)
    head.caption(f"stage {step + 1} of {len(all_stages)}: → or PageDown for the next, ← or PageUp to go back")
    if steps:
        formula.latex(
            (r",\;\; " if many else r",\quad ").join(s.formula for s in steps)
            + (rf",\quad c = {trace.attention.heads[0].scale:.4g}" if title == "Scaling" else "")
        )
        st.caption(steps[0].explain)
    if title == "Join" and join is not None:
        join()
        return
    for (key, fig), col in zip(
        stage_figures(trace, title, steps, big=big, width=STAGE_WIDTH),
        st.columns(max(1, len(steps))),
        strict=False,
    ):
        col.plotly_chart(fig, width="stretch", key=f"present_{key}", config=chart_config(key))


def stage_figures(
    trace: LabTrace,
    title: str,
    steps: list[Step],
    *,
    big: bool = False,
    width: int = STAGE_WIDTH,
    height: int = FIGURE_HEIGHT,
    palette: str | None = None,
    number_size: int | None = None,
) -> list[tuple[str, FigureSpec]]:
    """The figures of one stage, (name, figure) side by side, at a screen ``width`` px wide: the lecturer's
    projector (STAGE_WIDTH) or a student's phone (360). ``big``: larger type; ``number_size``: another size
    (a phone's 14 px, then the Playground's smallest numbers and ticks). The builder fits numbers and labels
    to each figure's share of the width (numbers of at least NUMBER_SIZE px on the projector, or none)."""
    pal = palette or str(st.session_state.get("palette", "default"))
    number_size, least, tick = (
        ((BIG_NUMBER_SIZE, NUMBER_SIZE, BIG_TICK_SIZE) if big else (NUMBER_SIZE, NUMBER_SIZE, TICK_SIZE))
        if number_size is None
        else (number_size, min(number_size, MIN_TEXT_SIZE), TICK_PX)
    )
    if title == "Tokens":
        tok = trace.tokens_q
        return [("tokens", _big(token_table(tok.tokens, tok.positions, tok.ids), height))]
    if title == "All heads":
        return [
            ("heads", head_weights_figure(trace, height=height, text_width=width, tick_px=tick, palette=pal))
        ]
    share = width // max(1, len(steps))
    return [
        (
            s.name,
            step_figure(
                trace,
                s,
                0,
                height=height,
                text_width=share,
                text_size=number_size,
                min_text_size=least,
                tick_px=tick,
                palette=pal,
            ),
        )
        for s in steps
    ]

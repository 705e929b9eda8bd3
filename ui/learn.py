"""The Learn page's state and figures: the one module that writes its ``learn_*`` session keys.

What a session keeps (everything under keys starting with ``learn_``):

* the widgets' values (task, sentence, causal mask, positions, optimiser, learning
  rate, number of steps, presentation layout, the painting selectors);
* ``learn_painted``: the cells of the painted target, a frozenset of (row, column);
* ``learn_key``: what the current training belongs to (configuration, task, positions,
  painted cells); when it changes the training starts again from step 0;
* ``learn_state``: the :class:`~attention_core.learn.LearnState` (matrices, Adam's
  memory, the loss history, the trace and gradients at the current matrices);
* ``learn_running``: whether Run is on; ``learn_message``: why it stopped, if not done.

The page's fragment calls :func:`tick` every TICK_SECONDS while Run is on: a bounded number
of steps (at most :data:`MAX_STEPS_PER_TICK`), so one rerun never holds the server for long.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any

import numpy as np
import streamlit as st

from attention_core import LabConfig, ValidationError, run_lab
from attention_core.learn import (
    DEFAULT_LR,
    LEARN_CONFIG,
    LearnProblem,
    LearnState,
    learn_step,
    make_problem,
    start,
    target_pattern,
    to_config,
)
from ui import state as playground_state
from ui.figures import TEXT_WIDTH, FigureSpec, heatmap, plotly_text

#: Seconds between two ticks of the running fragment. A tick takes as many steps as the time
#: since the last one asks for at STEPS_PER_SECOND (never more than MAX_STEPS_PER_TICK), so
#: the training advances at that pace however long the browser takes to draw a frame
#: (about 0.3-0.6 s for six small charts on the 2-core test machine).
TICK_SECONDS = 0.2
STEPS_PER_SECOND = 30
MAX_STEPS_PER_TICK = 40
#: The learning rates offered (Adam's good range is 0.003-0.1, gradient descent's 0.1-2).
LEARNING_RATES: tuple[float, ...] = (0.001, 0.003, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
MAX_STEPS = 5000
GRAD_TITLES = {"W_q": "dL/dW_Q", "W_k": "dL/dW_K", "W_v": "dL/dW_V"}

#: Presentation layout: no sidebar, little padding, so loss, weights and a gradient fit 1280 x 720.
PRESENT_CSS = """
<style>
[data-testid="stSidebar"], [data-testid="stExpandSidebarButton"] { display: none !important; }
[data-testid="stMainBlockContainer"] { padding-top: 3.2rem !important; padding-bottom: 0 !important;
  max-width: 100% !important; padding-left: 1.5rem !important; padding-right: 1.5rem !important; }
[data-testid="stMain"] button p { font-size: 1.15rem !important; }
[data-testid="stMetricValue"] { font-size: 1.6rem !important; }
</style>
"""


def _diagonal(n: int) -> frozenset[tuple[int, int]]:
    return frozenset((i, i) for i in range(n))


def ensure_defaults() -> None:
    """Give every ``learn_`` key a value once per session."""
    defaults: dict[str, Any] = {
        "learn_task": "previous",
        "learn_sentence": LEARN_CONFIG.sentence,
        "learn_causal": LEARN_CONFIG.causal,
        "learn_positions": True,
        "learn_optimiser": "adam",
        "learn_lr": DEFAULT_LR["adam"],
        "learn_steps": 300,
        "learn_present": False,
        "learn_grad_shown": "W_q",
        "learn_paint_row": 0,
        "learn_paint_col": 0,
        "learn_painted": _diagonal(8),
        "learn_paint_gen": 0,
        "learn_running": False,
        "learn_state": None,
        "learn_key": None,
        "learn_message": None,
        "learn_last_tick": None,
    }
    for key, value in defaults.items():
        st.session_state.setdefault(key, value)


def config() -> LabConfig:
    """The Playground configuration training starts from: LEARN_CONFIG with this page's sentence and mask."""
    return dataclasses.replace(
        LEARN_CONFIG,
        sentence=str(st.session_state["learn_sentence"]),
        causal=bool(st.session_state["learn_causal"]),
    )


@st.cache_resource(max_entries=64, show_spinner=False)
def _problem(
    cfg: LabConfig, task: str, positions: bool, painted: tuple[tuple[int, int], ...]
) -> LearnProblem:
    return make_problem(cfg, task, positions=positions, painted=painted)  # type: ignore[arg-type]


def tokens() -> tuple[str, ...]:
    """The tokens of the page's sentence (ValidationError when it cannot be used)."""
    return tuple(_tokens(str(st.session_state["learn_sentence"])))


@st.cache_data(max_entries=256, show_spinner=False)
def _tokens(sentence: str) -> tuple[str, ...]:
    return tuple(run_lab(dataclasses.replace(LEARN_CONFIG, sentence=sentence)).tokens_q.tokens)


def painted_cells(n: int, causal: bool) -> tuple[tuple[int, int], ...]:
    """The painted cells that exist in an n x n grid and that the mask allows, sorted."""
    return tuple(
        sorted(
            (i, j) for i, j in st.session_state["learn_painted"] if i < n and j < n and (j <= i or not causal)
        )
    )


def problem() -> LearnProblem:
    """The problem the settings describe (ValidationError when they cannot work)."""
    cfg = config()
    task = str(st.session_state["learn_task"])
    positions = bool(st.session_state["learn_positions"])
    if task == "painted":
        return _problem(cfg, task, positions, painted_cells(len(tokens()), cfg.causal))
    return _problem(cfg, task, positions, ())


def current(p: LearnProblem) -> LearnState:
    """The training of ``p``; a new problem (other task, sentence, cells…) starts at step 0."""
    key = (p.config, p.task, p.positions, p.pattern.tobytes())
    if st.session_state["learn_key"] != key or st.session_state["learn_state"] is None:
        st.session_state["learn_key"] = key
        st.session_state["learn_state"] = start(p)
        st.session_state["learn_running"] = False
        st.session_state["learn_message"] = None
    return st.session_state["learn_state"]


def is_running() -> bool:
    return bool(st.session_state["learn_running"])


def advance(p: LearnProblem, steps: int) -> LearnState:
    """Up to ``steps`` steps, never past the chosen number; stops Run when done or when the loss blows up."""
    s = current(p)
    goal = int(st.session_state["learn_steps"])
    optimiser, lr = str(st.session_state["learn_optimiser"]), float(st.session_state["learn_lr"])
    try:
        for _ in range(max(0, min(steps, goal - s.step))):
            s = learn_step(p, s, optimiser=optimiser, lr=lr)  # type: ignore[arg-type]
    except ValidationError as exc:
        st.session_state["learn_running"] = False
        st.session_state["learn_message"] = str(exc)
    st.session_state["learn_state"] = s
    if s.step >= goal:
        st.session_state["learn_running"] = False
    return s


def tick(p: LearnProblem) -> LearnState:
    """One tick of Run: the steps the time since the last tick asks for, between 1 and MAX_STEPS_PER_TICK."""
    now = time.monotonic()
    last = st.session_state["learn_last_tick"]
    elapsed = TICK_SECONDS if last is None else now - last
    st.session_state["learn_last_tick"] = now
    steps = max(1, min(MAX_STEPS_PER_TICK, math.ceil(STEPS_PER_SECOND * elapsed - 1e-9)))
    return advance(p, steps)


def at_the_limit(s: LearnState) -> bool:
    """At MAX_STEPS no button steps further (the number box, which shows the goal, stops there); say so."""
    if s.step < MAX_STEPS:
        return False
    st.session_state["learn_running"] = False
    st.session_state["learn_message"] = (
        f"step {s.step:,} is the limit ({MAX_STEPS:,} steps): press Reset to train again from step 0"
    )
    return True


def keep_steps_in_range() -> None:
    """Before the "Number of steps" box is drawn: its value stays within 1 … MAX_STEPS (a widget never
    receives a value above its own limit; Streamlit would reset it to 1)."""
    steps = st.session_state.get("learn_steps", 300)
    if isinstance(steps, bool) or not isinstance(steps, int):
        steps = 300
    if not 1 <= steps <= MAX_STEPS:
        st.session_state["learn_steps"] = min(MAX_STEPS, max(1, steps))


def step_once(p: LearnProblem) -> None:
    """The Step button: one step (even past the chosen number of steps, up to MAX_STEPS)."""
    s = current(p)
    if at_the_limit(s):
        return
    st.session_state["learn_steps"] = min(MAX_STEPS, max(int(st.session_state["learn_steps"]), s.step + 1))
    st.session_state["learn_running"] = False
    advance(p, 1)


def run(p: LearnProblem) -> None:
    """The Run button: keep stepping until the chosen number (raised if already reached)."""
    s = current(p)
    if at_the_limit(s):
        return
    if s.step >= int(st.session_state["learn_steps"]):
        st.session_state["learn_steps"] = min(MAX_STEPS, s.step + 300)
    st.session_state["learn_message"] = None
    st.session_state["learn_last_tick"] = None
    st.session_state["learn_running"] = True


def pause() -> None:
    st.session_state["learn_running"] = False


def reset() -> None:
    """Back to step 0 (the next run of the page starts the problem afresh)."""
    st.session_state["learn_state"] = None
    st.session_state["learn_running"] = False
    st.session_state["learn_message"] = None


def optimiser_changed() -> None:
    """A new optimiser gets its own good learning rate."""
    st.session_state["learn_lr"] = DEFAULT_LR[str(st.session_state["learn_optimiser"])]


def toggle_cell(i: int, j: int, causal: bool) -> None:
    """Mark or unmark cell (i, j) of the painted target; a cell the mask forbids is refused with a message."""
    if causal and j > i:
        st.session_state["learn_message"] = (
            f"cell ({i}, {j}) is above the diagonal: the causal mask forbids it "
            "(switch the mask off to paint there)"
        )
        return
    cells = set(st.session_state["learn_painted"])
    cells ^= {(i, j)}
    st.session_state["learn_painted"] = frozenset(cells)
    st.session_state["learn_message"] = None


def toggle_selected(causal: bool) -> None:
    """The keyboard route: toggle the cell chosen with the row and column selectors."""
    toggle_cell(int(st.session_state["learn_paint_row"]), int(st.session_state["learn_paint_col"]), causal)


def clamp_paint_selectors(n: int) -> None:
    """Keep the row and column selectors inside an n-token grid (the sentence may have shrunk)."""
    for key in ("learn_paint_row", "learn_paint_col"):
        if int(st.session_state[key]) >= n:
            st.session_state[key] = n - 1


def clear_painted() -> None:
    st.session_state["learn_painted"] = frozenset()


def paint_key() -> str:
    """The painting chart's widget key; it changes after every click so the next click is a new selection."""
    return f"learn_paint_{st.session_state['learn_paint_gen']}"


def on_paint_click(n_cols: int, causal: bool) -> None:
    """A click on the painting grid (its invisible marker layer) toggles that cell."""
    event = st.session_state.get(paint_key()) or {}
    points = (event.get("selection") or {}).get("points") or []
    if points:
        i, j = divmod(int(points[0].get("point_index", -1)), n_cols)
        if i >= 0:
            toggle_cell(i, j, causal)
    st.session_state["learn_paint_gen"] += 1


def send_to_playground(p: LearnProblem, s: LearnState) -> LabConfig:
    """Ask the Playground to open the learned matrices as hand edits; the caller switches page."""
    cfg = to_config(p, s.params)
    playground_state.request_config(cfg)
    return cfg


# ------------------------------------------------------------------------------------ figures
def projector(fig: FigureSpec) -> FigureSpec:
    """The same figure in larger type for the presentation layout (layout and text size only)."""
    layout = {
        **fig["layout"],
        "font": {"size": 16},
        "title": {**fig["layout"]["title"], "font": {"size": 20}},
    }
    data = [{**t, "textfont": {"size": 12}} if t.get("type") == "heatmap" else t for t in fig["data"]]
    return {"data": data, "layout": layout}


def loss_figure(s: LearnState, *, title: str, height: int) -> FigureSpec:
    """The loss after each step, on a log scale (a loss of exactly 0 is drawn at 1e-16)."""
    losses = np.asarray(s.losses, dtype=np.float64)  # (steps + 1,)
    shapes = []
    if s.reached_at is not None:  # where every row's largest weight first sat on its target
        shapes.append(
            {
                "type": "line",
                "x0": s.reached_at,
                "x1": s.reached_at,
                "yref": "paper",
                "y0": 0,
                "y1": 1,
                "line": {"dash": "dot", "color": "#2a7"},
            }
        )
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines",
                "x": np.arange(len(losses)),
                "y": np.maximum(losses, 1e-16),
                "customdata": losses,
                "line": {"width": 3},
                "hovertemplate": "step %{x}<br>loss %{customdata:.6g}<extra></extra>",
            }
        ],
        "layout": {
            "title": {"text": plotly_text(title)},
            "height": height,
            "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
            "xaxis": {"title": {"text": "step"}, "rangemode": "tozero"},
            "yaxis": {
                "title": {"text": "loss (log scale)"},
                "type": "log",
                "exponentformat": "power",
                "dtick": 1,
            },  # one label per power of ten
            "shapes": shapes,
            "showlegend": False,
        },
    }


def weights_figure(
    p: LearnProblem, s: LearnState, *, height: int | None = None, text_width: int = TEXT_WIDTH
) -> FigureSpec:
    return heatmap(
        s.now.trace.weights,
        title=f"weights at step {s.step}",
        row_labels=list(p.tokens),
        col_labels=list(p.tokens),
        kind="weights",
        height=height,
        text_width=text_width,
    )


def target_figure(
    p: LearnProblem, *, title: str = "target pattern", height: int | None = None, text_width: int = TEXT_WIDTH
) -> FigureSpec:
    return heatmap(
        p.pattern,
        title=title,
        row_labels=list(p.tokens),
        col_labels=list(p.tokens),
        kind="weights",
        height=height,
        text_width=text_width,
    )


def painted_figure(toks: tuple[str, ...], *, height: int | None = None) -> FigureSpec:
    """The painting grid: the painted cells as the target pattern they make (before the mask is applied)."""
    cells = [(i, j) for i, j in st.session_state["learn_painted"] if i < len(toks) and j < len(toks)]
    return heatmap(
        target_pattern("painted", toks, painted=cells),
        title="painted target (click a cell)",
        row_labels=list(toks),
        col_labels=list(toks),
        kind="weights",
        height=height,
    )


def gradient_figure(
    s: LearnState, name: str, *, height: int | None = None, text_width: int = TEXT_WIDTH
) -> FigureSpec:
    """dL/dW of one matrix at the current step (rows: d_model, columns: d_k or d_v)."""
    g = s.now.param_grads()[name]  # (d_model, d_k) or (d_model, d_v)
    fig = heatmap(
        g,
        title=f"{GRAD_TITLES[name]} at step {s.step}",
        row_labels=[str(i) for i in range(g.shape[0])],
        col_labels=[str(j) for j in range(g.shape[1])],
        kind="values",
        row_title="row (d_model)",
        col_title="dimension",
        height=height,
        text_width=text_width,
    )
    # Gradients are numbers like -3.217e-05: written in the cells they are unreadable, so the colour
    # tells the sign and size and hover gives the value.
    fig["data"][0] = {k: v for k, v in fig["data"][0].items() if k not in ("text", "texttemplate")}
    return fig


def output_figures(p: LearnProblem, s: LearnState) -> tuple[FigureSpec, FigureSpec]:
    """The output task: the output now and the target output."""
    if p.target_output is None:
        raise ValidationError("only the output task has a target output")
    dims = [str(j) for j in range(s.now.trace.output.shape[1])]
    return (
        heatmap(
            s.now.trace.output,
            title=f"output at step {s.step}",
            row_labels=list(p.tokens),
            col_labels=dims,
            kind="values",
            col_title="dimension",
        ),
        heatmap(
            p.target_output,
            title="target output (the previous token's row of X)",
            row_labels=list(p.tokens),
            col_labels=dims,
            kind="values",
            col_title="dimension",
        ),
    )

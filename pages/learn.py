"""Learn: gradient descent moves W_Q, W_K, W_V while the class watches the weights form a pattern."""

from __future__ import annotations

from functools import partial

import streamlit as st

from attention_core import ValidationError
from attention_core.learn import MAX_TOKENS, OPTIMISERS, TASKS
from ui import learn
from ui.figures import chart_config, with_click_layer
from ui.text import literal

learn.ensure_defaults()
present = bool(st.session_state["learn_present"])

# ------------------------------------------------------------------------------- settings
with st.sidebar:
    st.header("What to learn")
    st.selectbox("Task", list(TASKS), format_func=TASKS.get, key="learn_task")
    st.text_input(f"Sentence (at most {MAX_TOKENS} tokens)", key="learn_sentence")
    st.checkbox("Causal mask (each token sees itself and the tokens before it)", key="learn_causal")
    st.checkbox(
        "Add position encodings to the embeddings",
        key="learn_positions",
        help="Without positions two equal words have equal embeddings, so no weight matrix can make "
        "them attend differently: try it with the earlier-occurrence task.",
    )
    st.header("How")
    st.radio(
        "Optimiser",
        list(OPTIMISERS),
        format_func=OPTIMISERS.get,
        key="learn_optimiser",
        horizontal=True,
        on_change=learn.optimiser_changed,
    )
    st.select_slider("Learning rate", options=learn.LEARNING_RATES, key="learn_lr")
    learn.keep_steps_in_range()
    st.number_input(
        "Number of steps (Run stops there)",
        min_value=1,
        max_value=learn.MAX_STEPS,
        step=50,
        key="learn_steps",
    )

if not present:
    st.title("Learn attention")
    st.caption(
        "Gradient descent on W_Q, W_K and W_V, with the exact backward pass: press Run and watch the loss "
        "fall, the weights take the target's shape, and the gradient of each matrix."
    )

# ------------------------------------------------------------------------- painting the target
# Drawn before the problem is built: an empty grid has no problem yet, and must stay paintable.
if st.session_state["learn_task"] == "painted" and not present:
    try:
        tokens = learn.tokens()
    except ValidationError:
        tokens = ()  # the sentence's own error is shown below
    if tokens:
        st.subheader("Paint the target: click a cell to mark or unmark it")
        n, causal = len(tokens), bool(st.session_state["learn_causal"])
        c1, c2 = st.columns([3, 2])
        with c1:
            st.plotly_chart(
                with_click_layer(learn.painted_figure(tokens, height=360)),
                width="stretch",
                key=learn.paint_key(),
                on_select=partial(learn.on_paint_click, n, causal),
                selection_mode="points",
                config=chart_config("learn-painted-target"),
            )
        with c2:
            labels = [f"{i} · {t}" for i, t in enumerate(tokens)]
            learn.clamp_paint_selectors(n)
            st.selectbox("Row (query)", range(n), format_func=labels.__getitem__, key="learn_paint_row")
            st.selectbox("Column (key)", range(n), format_func=labels.__getitem__, key="learn_paint_col")
            st.button(
                "Mark / unmark this cell", on_click=learn.toggle_selected, args=(causal,), key="learn_toggle"
            )
            st.button("Clear the grid", on_click=learn.clear_painted, key="learn_clear")
            st.caption(
                "A row with several marked cells shares its target among them; a row with none is not "
                "trained."
            )
            hidden = len([c for c in st.session_state["learn_painted"] if c[0] < n and c[1] < n]) - len(
                learn.painted_cells(n, causal)
            )
            if hidden:
                st.caption(
                    f"{hidden} marked cell(s) above the diagonal are left out while the causal mask is on."
                )

try:
    problem = learn.problem()
except ValidationError as exc:
    if st.session_state["learn_message"]:
        st.warning(literal(st.session_state["learn_message"]))
    st.error(literal(str(exc)))
    st.stop()
learn.current(problem)  # a new problem (task, sentence, painted cells…) starts at step 0

# ------------------------------------------------------------------------------- controls
c_step, c_run, c_pause, c_reset, c_present, c_grad = st.columns([1, 1, 1, 1, 1.6, 2.4])
c_step.button(
    "Step",
    on_click=learn.step_once,
    args=(problem,),
    key="learn_step_button",
    help="One step of the optimiser",
)
c_run.button(
    "Run",
    on_click=learn.run,
    args=(problem,),
    key="learn_run_button",
    type="primary",
    disabled=learn.is_running(),
)
c_pause.button("Pause", on_click=learn.pause, key="learn_pause_button", disabled=not learn.is_running())
c_reset.button("Reset", on_click=learn.reset, key="learn_reset_button", help="Back to step 0")
c_present.toggle(
    "Presentation", key="learn_present", help="Loss, weights and one gradient side by side, large"
)
if present:
    c_grad.radio(
        "Gradient shown",
        list(learn.GRAD_TITLES),
        format_func=learn.GRAD_TITLES.get,
        horizontal=True,
        key="learn_grad_shown",
        label_visibility="collapsed",
    )
    st.html(learn.PRESENT_CSS)  # our own constant style sheet; no user text goes through st.html
    st.text(
        f"Task: {TASKS[problem.task]}   ·   {OPTIMISERS[str(st.session_state['learn_optimiser'])]}, "
        f"learning rate {st.session_state['learn_lr']}   ·   sentence: {' '.join(problem.tokens)}"
    )
if st.session_state["learn_message"]:
    st.warning(literal(st.session_state["learn_message"]))


# ------------------------------------------------------------------------------- training
#: The width of a figure in one of three columns at 1280×720 (the figure builder fits its labels and
#: numbers to it).
THIRD = 260


@st.fragment(run_every=learn.TICK_SECONDS if learn.is_running() else None)
def training() -> None:
    """One tick: a bounded number of steps, then the figures. When Run finishes, the page reruns once
    so the timer stops."""
    if learn.is_running():
        s = learn.tick(problem)
        if not learn.is_running():
            st.rerun(scope="app")
    else:
        s = learn.current(problem)
    reached = "not yet" if s.reached_at is None else f"step {s.reached_at}"
    m1, m2, m3 = st.columns(3)
    m1.metric("step", f"{s.step} / {int(st.session_state['learn_steps'])}")
    m2.metric(
        "loss",
        f"{s.losses[-1]:.4g}",
        delta=f"{s.losses[-1] - s.losses[0]:.3g} since step 0" if s.step else None,
        delta_color="inverse",
    )
    m3.metric("every row's largest weight on target", reached)
    loss_name = "mean squared error" if problem.target_output is not None else "cross-entropy"
    if present:
        height = 430
        c1, c2, c3 = st.columns(3)
        c1.plotly_chart(
            learn.projector(learn.loss_figure(s, title=f"loss ({loss_name})", height=height)),
            width="stretch",
            key="learn_fig_loss",
            config=chart_config("learn-loss"),
        )
        c2.plotly_chart(
            learn.projector(learn.weights_figure(problem, s, height=height, text_width=THIRD)),
            width="stretch",
            key="learn_fig_weights",
            config=chart_config("learn-weights"),
        )
        name = str(st.session_state["learn_grad_shown"])
        c3.plotly_chart(
            learn.projector(learn.gradient_figure(s, name, height=height, text_width=THIRD)),
            width="stretch",
            key="learn_fig_grad",
            config=chart_config(f"learn-grad-{name}"),
        )
        return
    c1, c2, c3 = st.columns(3)
    c1.plotly_chart(
        learn.loss_figure(s, title=f"loss ({loss_name})", height=360),
        width="stretch",
        key="learn_fig_loss",
        config=chart_config("learn-loss"),
    )
    c2.plotly_chart(
        learn.weights_figure(problem, s, height=360, text_width=THIRD),
        width="stretch",
        key="learn_fig_weights",
        config=chart_config("learn-weights"),
    )
    c3.plotly_chart(
        learn.target_figure(problem, height=360, text_width=THIRD),
        width="stretch",
        key="learn_fig_target",
        config=chart_config("learn-target"),
    )
    if problem.target_output is not None:
        out, target = learn.output_figures(problem, s)
        o1, o2 = st.columns(2)
        o1.plotly_chart(out, width="stretch", key="learn_fig_output", config=chart_config("learn-output"))
        o2.plotly_chart(
            target, width="stretch", key="learn_fig_target_output", config=chart_config("learn-target-output")
        )
    st.subheader("The gradient of each matrix (what the next step subtracts, times the learning rate)")
    if problem.target_output is None:
        st.caption(
            "dL/dW_V is 0 for a target pattern: the loss reads the weights, and W_V only shapes the values "
            "they average. The output task trains W_V too."
        )
    for col, name in zip(st.columns(3), learn.GRAD_TITLES, strict=True):
        col.plotly_chart(
            learn.gradient_figure(s, name, height=340, text_width=THIRD),
            width="stretch",
            key=f"learn_fig_grad_{name}",
            config=chart_config(f"learn-grad-{name}"),
        )


training()

if not present:
    st.divider()
    if st.button(
        "Take these matrices to the Playground",
        key="learn_to_playground",
        help="Opens the Playground with this sentence and the learned W_Q, W_K, W_V (and the embeddings "
        "with their positions) as hand edits; its link carries them.",
    ):
        learn.send_to_playground(problem, learn.current(problem))
        st.switch_page("pages/playground.py")
    st.caption(
        "Setup: the Playground's random embeddings (torch generator, seed 123) for this sentence, plus "
        "sinusoidal positions when chosen; d_model = d_k = d_v = 8; scale 1/√8; training starts from the "
        "drawn W_Q, W_K, W_V times 0.1 so that every row starts nearly uniform."
    )

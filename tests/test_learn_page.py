"""The Learn page in AppTest: step, run to the end, gradients drawn, painting, presentation,
Playground link."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from attention_core import run_lab
from attention_core.learn import LEARN_CONFIG, make_problem, train
from attention_core.serialize import config_from_query
from tests.plotly_json import decode
from tests.plotly_json import figures as charts

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "pages" / "learn.py"


@pytest.fixture
def at() -> AppTest:
    app = AppTest.from_file(str(PAGE), default_timeout=60).run()
    assert not app.exception
    return app


def chart_z(spec: dict) -> np.ndarray:
    """The heatmap's values as drawn (float64 below 64 x 64 cells: exact)."""
    return decode(spec["data"][0]["z"])


def metric(app: AppTest, label: str) -> str:
    return next(m.value for m in app.metric if m.label == label)


def run_to_end(app: AppTest, most: int = 200) -> AppTest:
    """Press Run, then let the fragment tick (each AppTest run is one tick) until Run stops."""
    app.button(key="learn_run_button").click().run()
    for _ in range(most):
        if not app.session_state["learn_running"]:
            break
        app.run()
    assert not app.session_state["learn_running"]
    return app


def test_page_starts_at_step_zero_with_every_figure(at: AppTest) -> None:
    assert metric(at, "step") == "0 / 300"
    assert metric(at, "every row's largest weight on target") == "not yet"
    titles = set(charts(at))
    assert {
        "loss (cross-entropy)",
        "weights at step 0",
        "target pattern",
        "dL/dW_Q at step 0",
        "dL/dW_K at step 0",
        "dL/dW_V at step 0",
    } <= titles


def test_step_moves_the_weights_by_one_optimiser_step(at: AppTest) -> None:
    at.button(key="learn_step_button").click().run()
    assert metric(at, "step") == "1 / 300"
    expected = train(make_problem(LEARN_CONFIG, "previous"), 1)
    np.testing.assert_array_equal(chart_z(charts(at)["weights at step 1"]), expected.now.trace.weights)
    for name, title in (("W_q", "dL/dW_Q"), ("W_k", "dL/dW_K"), ("W_v", "dL/dW_V")):
        np.testing.assert_array_equal(
            chart_z(charts(at)[f"{title} at step 1"]), expected.now.param_grads()[name]
        )


def test_run_reaches_the_previous_token_diagonal(at: AppTest) -> None:
    at.number_input(key="learn_steps").set_value(200).run()
    run_to_end(at)
    assert metric(at, "step") == "200 / 200"
    expected = train(make_problem(LEARN_CONFIG, "previous"), 200)  # the page's trajectory, bit for bit
    w = chart_z(charts(at)["weights at step 200"])
    np.testing.assert_array_equal(w, expected.now.trace.weights)
    assert [int(np.argmax(r)) for r in w] == [0, 0, 1, 2, 3, 4, 5, 6]  # each row on its previous token
    assert metric(at, "every row's largest weight on target") == f"step {expected.reached_at}"
    losses = decode(charts(at)["loss (cross-entropy)"]["data"][0]["customdata"])
    np.testing.assert_array_equal(losses, expected.losses)  # the curve: the loss after each of 0..200 steps
    assert float(metric(at, "loss")) < 0.01 < expected.losses[0]


def test_a_tick_takes_a_bounded_number_of_steps(at: AppTest) -> None:
    from ui.learn import MAX_STEPS_PER_TICK

    at.button(key="learn_run_button").click().run()  # the click's own run is the first tick
    first = at.session_state["learn_state"].step
    at.run()
    assert 1 <= first <= MAX_STEPS_PER_TICK
    assert 1 <= at.session_state["learn_state"].step - first <= MAX_STEPS_PER_TICK
    at.button(key="learn_pause_button").click().run()
    paused = at.session_state["learn_state"].step
    at.run()
    assert at.session_state["learn_state"].step == paused  # paused: nothing moves


def test_each_task_runs_on_the_page(at: AppTest) -> None:
    for task in ("same_word", "first", "output"):
        at.selectbox(key="learn_task").set_value(task).run()
        assert metric(at, "step").startswith("0 / ")  # a new task starts afresh
        at.number_input(key="learn_steps").set_value(300).run()
        run_to_end(at, most=400)
        assert not at.exception
        assert metric(at, "every row's largest weight on target").startswith("step "), task
    assert "output at step 300" in charts(at) and "loss (mean squared error)" in charts(at)


def test_painting_by_keyboard(at: AppTest) -> None:
    at.selectbox(key="learn_task").set_value("painted").run()
    assert at.session_state["learn_painted"] == frozenset((i, i) for i in range(8))  # starts as the diagonal
    at.selectbox(key="learn_paint_row").set_value(5).run()
    at.selectbox(key="learn_paint_col").set_value(0).run()
    at.button(key="learn_toggle").click().run()
    assert (5, 0) in at.session_state["learn_painted"]
    target = chart_z(charts(at)["target pattern"])
    assert target[5, 0] == 0.5 and target[5, 5] == 0.5
    at.selectbox(key="learn_paint_col").set_value(7).run()
    at.button(key="learn_toggle").click().run()  # above the diagonal: the causal mask forbids it
    assert (5, 7) not in at.session_state["learn_painted"]
    assert any("causal mask forbids" in w.value for w in at.warning)
    at.button(key="learn_clear").click().run()
    assert any("empty" in e.value for e in at.error)
    at.selectbox(key="learn_paint_row").set_value(2).run()  # an empty grid stays paintable
    at.selectbox(key="learn_paint_col").set_value(1).run()
    at.button(key="learn_toggle").click().run()
    assert not at.error
    assert chart_z(charts(at)["target pattern"])[2].tolist() == [0, 1, 0, 0, 0, 0, 0, 0]
    at.checkbox(key="learn_causal").uncheck().run()
    at.selectbox(key="learn_paint_col").set_value(6).run()
    at.button(key="learn_toggle").click().run()  # without the mask any cell may be marked
    assert chart_z(charts(at)["target pattern"])[2].tolist() == [0, 0.5, 0, 0, 0, 0, 0.5, 0]
    at.checkbox(key="learn_causal").check().run()  # back on: the cell above the diagonal is left out
    assert chart_z(charts(at)["target pattern"])[2].tolist() == [0, 1, 0, 0, 0, 0, 0, 0]
    assert any("left out" in c.value for c in at.caption)


def test_a_diverging_learning_rate_stops_run_with_a_message(at: AppTest) -> None:
    at.selectbox(key="learn_task").set_value("output").run()
    at.radio(key="learn_optimiser").set_value("gd").run()
    assert at.session_state["learn_lr"] == 0.5  # the optimiser's own default
    at.select_slider(key="learn_lr").set_value(5.0).run()
    at.number_input(key="learn_steps").set_value(1000).run()
    run_to_end(at, most=1500)  # the fragment is paced at 30 steps/s; this run overflows near step 250
    assert any("lower the learning rate" in w.value for w in at.warning)
    assert not at.exception


def test_too_long_a_sentence_is_a_message(at: AppTest) -> None:
    at.text_input(key="learn_sentence").input("one two three four five six seven eight nine ten eleven").run()
    assert any("at most 10" in e.value for e in at.error)
    assert not at.exception


def test_presentation_shows_loss_weights_and_one_gradient(at: AppTest) -> None:
    at.toggle(key="learn_present").set_value(True).run()
    assert set(charts(at)) == {"loss (cross-entropy)", "weights at step 0", "dL/dW_Q at step 0"}
    at.radio(key="learn_grad_shown").set_value("W_v").run()
    assert "dL/dW_V at step 0" in charts(at)
    assert not at.title  # no page title: the room is for the figures


@pytest.fixture
def app_with_learn(tmp_path: Path) -> AppTest:
    """app.py's navigation with the Learn page added (what the lead adds to app.py), run from a
    folder whose pages/ links to ours, so page paths resolve as in the real app."""
    (tmp_path / "pages").symlink_to(ROOT / "pages")
    (tmp_path / "app.py").write_text(
        "import streamlit as st\n"
        "st.navigation([st.Page('pages/playground.py', title='Playground', default=True),\n"
        "               st.Page('pages/learn.py', title='Learn')]).run()\n"
    )
    app = AppTest.from_file(str(tmp_path / "app.py"), default_timeout=60).run()
    return app.switch_page("pages/learn.py").run()


def test_take_the_matrices_to_the_playground(app_with_learn: AppTest) -> None:
    at = app_with_learn
    assert not at.exception
    at.number_input(key="learn_steps").set_value(60).run()
    run_to_end(at)
    learned = at.session_state["learn_state"]
    at.button(key="learn_to_playground").click().run()
    assert not at.exception
    at.switch_page("pages/playground.py").run()  # AppTest stays on the page it was told; the app switched
    assert not at.exception
    edits = at.session_state["edits"]
    assert {m for m, _, _ in edits} == {"W_q", "W_k", "W_v", "embeddings"}
    for (m, r, c), v in edits.items():
        if m != "embeddings":
            assert v == learned.params[m][r, c]
    assert at.session_state["sentence"] == LEARN_CONFIG.sentence
    lab = run_lab(LEARN_CONFIG.with_edits(edits))
    np.testing.assert_allclose(lab.attention.heads[0].weights, learned.now.trace.weights, rtol=0, atol=1e-15)
    link = {k: v[0] if isinstance(v, list) else v for k, v in dict(at.query_params).items()}
    assert config_from_query(link)[0] == LEARN_CONFIG.with_edits(edits)  # the address bar holds the edits

"""Losses, optimisers and the learning tasks: torch's numbers, determinism, and each task learned."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from attention_core import ValidationError, causal_mask, run_lab, self_attention
from attention_core.backward import attention_backward
from attention_core.learn import (
    LEARN_CONFIG,
    TASKS,
    make_problem,
    pattern_reached,
    start,
    target_pattern,
    to_config,
    train,
)
from attention_core.losses import output_squared_error, weights_cross_entropy
from attention_core.optim import adam_init, adam_step, gd_step
from attention_core.positions import sinusoidal_positions
from attention_core.serialize import MAX_QUERY_CHARS, config_from_query, config_to_query

FIXTURE = Path(__file__).parent / "fixtures" / "backward_reference.npz"
TOKENS = ("the", "cat", "saw", "the", "dog", "and", "the", "cat")


@pytest.fixture(scope="module")
def ref() -> dict[str, np.ndarray]:
    with np.load(FIXTURE) as data:
        return {k: data[k] for k in data.files}


# ------------------------------------------------------------------------------------ losses
@pytest.mark.parametrize("case", ["loss_pattern", "loss_output"])
def test_losses_and_their_gradients_match_torch(ref: dict[str, np.ndarray], case: str) -> None:
    p = case + "/"
    trace = self_attention(ref[p + "X"], ref[p + "W_q"], ref[p + "W_k"], ref[p + "W_v"], mask=causal_mask(5))
    if case == "loss_pattern":
        loss, d_weights = weights_cross_entropy(trace.weights, ref[p + "T"])
        g = attention_backward(trace, d_weights=d_weights)
        # -T / (R A) is large where a target weight is small (here up to ~1e6): compare relatively.
        np.testing.assert_allclose(d_weights, ref[p + "d_weights"], rtol=1e-12, atol=1e-12)
    else:
        loss, d_output = output_squared_error(trace.output, ref[p + "Y"])
        g = attention_backward(trace, d_output)
    assert abs(loss - float(ref[p + "loss"])) < 1e-12
    for name in ("d_W_q", "d_W_k", "d_W_v"):
        assert np.max(np.abs(getattr(g, name) - ref[p + name])) < 1e-9, name


def test_cross_entropy_values() -> None:
    T = np.array([[0.0, 1.0], [0.0, 0.0]])  # the second row does not count
    loss, d = weights_cross_entropy(np.array([[0.5, 0.5], [0.9, 0.1]]), T)
    assert loss == pytest.approx(np.log(2))
    assert d.tolist() == [[0.0, -2.0], [0.0, 0.0]]
    assert weights_cross_entropy(np.array([[0.0, 1.0]]), np.array([[0.0, 1.0]]))[0] == 0.0
    with pytest.raises(ValidationError, match="empty"):
        weights_cross_entropy(np.ones((2, 2)) / 2, np.zeros((2, 2)))
    with pytest.raises(ValidationError, match="negative"):
        weights_cross_entropy(np.ones((1, 2)) / 2, np.array([[-1.0, 2.0]]))
    with pytest.raises(ValidationError, match="shape"):
        weights_cross_entropy(np.ones((1, 2)) / 2, np.ones((2, 2)))
    # A weight that underflowed to 0 on a target cell gives a large but finite loss and gradient.
    loss, d = weights_cross_entropy(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]]))
    assert np.isfinite(loss) and np.all(np.isfinite(d))


def test_squared_error_values() -> None:
    loss, d = output_squared_error(np.array([[1.0, 2.0]]), np.array([[0.0, 0.0]]))
    assert loss == 2.5
    assert d.tolist() == [[1.0, 2.0]]


# ---------------------------------------------------------------------------------- optimisers
def test_adam_trajectory_matches_torch(ref: dict[str, np.ndarray]) -> None:
    """25 steps of our Adam on the previous-token problem against torch.optim.Adam(lr=0.05)."""
    problem = make_problem(LEARN_CONFIG, "previous")
    state = train(problem, 25, optimiser="adam", lr=0.05)
    np.testing.assert_allclose(state.losses, ref["adam/losses"], rtol=1e-10, atol=1e-12)
    for name in ("W_q", "W_k", "W_v"):
        assert np.max(np.abs(state.params[name] - ref[f"adam/{name}"])) < 1e-10, name


def test_optimiser_steps_by_hand() -> None:
    p, g = {"W": np.array([[1.0, -2.0]])}, {"W": np.array([[0.5, -4.0]])}
    assert gd_step(p, g, 0.1)["W"].tolist() == [[0.95, -1.6]]
    new, state = adam_step(p, g, adam_init(p), 0.1)
    # The first Adam step moves every entry by lr against the sign of its gradient (up to eps).
    np.testing.assert_allclose(new["W"], [[0.9, -1.9]], rtol=1e-7)
    assert state.t == 1 and p["W"].tolist() == [[1.0, -2.0]]  # the input is not changed
    with pytest.raises(ValidationError, match="learning rate"):
        gd_step(p, g, -1.0)
    with pytest.raises(ValidationError, match="shape"):
        gd_step(p, {"W": np.zeros((2, 2))}, 0.1)


@pytest.mark.parametrize("optimiser", ["adam", "gd"])
def test_same_settings_same_trajectory_bit_for_bit(optimiser: str) -> None:
    a = train(make_problem(LEARN_CONFIG, "same_word"), 40, optimiser=optimiser)
    b = train(make_problem(LEARN_CONFIG, "same_word"), 40, optimiser=optimiser)
    assert a.losses == b.losses
    for name in a.params:
        assert a.params[name].tobytes() == b.params[name].tobytes()
    c = train(make_problem(LEARN_CONFIG, "same_word"), 20, optimiser=optimiser)
    c = train(make_problem(LEARN_CONFIG, "same_word"), 20, optimiser=optimiser, state=c)  # resumed: the same
    assert c.losses == a.losses


# ----------------------------------------------------------------------------------- the tasks
def test_target_patterns() -> None:
    T = target_pattern("previous", TOKENS)
    assert [int(np.argmax(r)) for r in T] == [0, 0, 1, 2, 3, 4, 5, 6]
    T = target_pattern("same_word", TOKENS)
    # the(3) -> the(0), the(6) -> the(3), cat(7) -> cat(1); the others have no earlier twin: themselves.
    assert [int(np.argmax(r)) for r in T] == [0, 1, 2, 0, 4, 5, 3, 1]
    assert np.all(target_pattern("first", TOKENS)[:, 0] == 1.0)
    T = target_pattern("painted", TOKENS, painted=[(2, 0), (2, 1), (5, 5)])
    assert T[2].tolist()[:2] == [0.5, 0.5] and T[5, 5] == 1.0 and T.sum() == 2.0
    for task in ("previous", "same_word", "first"):
        assert np.all(target_pattern(task, TOKENS).sum(axis=1) == 1.0)


def test_positional_encoding_tells_equal_words_apart() -> None:
    P = sinusoidal_positions(4, 6)  # the one table, shared with the Playground
    assert P.shape == (4, 6)
    assert P[0].tolist() == [0.0, 1.0, 0.0, 1.0, 0.0, 1.0]
    assert P[1, 0] == pytest.approx(np.sin(1.0)) and P[1, 3] == pytest.approx(np.cos(1 / 10000 ** (2 / 6)))
    problem = make_problem(LEARN_CONFIG, "same_word")
    assert not np.array_equal(problem.X[0], problem.X[3])  # "the" at 0 and at 3
    flat = make_problem(LEARN_CONFIG, "same_word", positions=False)
    assert np.array_equal(flat.X[0], flat.X[3])


STEPS = 300


@pytest.mark.parametrize("task", ["previous", "same_word", "first", "painted", "output"])
@pytest.mark.parametrize("optimiser", ["adam", "gd"])
def test_each_task_is_learned(task: str, optimiser: str) -> None:
    painted = (
        [(0, 0), (1, 0), (2, 2), (3, 1), (4, 4), (5, 0), (5, 4), (6, 6), (7, 3)] if task == "painted" else ()
    )
    problem = make_problem(LEARN_CONFIG, task, painted=painted)
    before = start(problem)
    assert not pattern_reached(before.now.trace.weights, problem.pattern).all()  # not there at the start
    state = train(problem, STEPS, optimiser=optimiser)
    # The lowest loss possible is the target's own entropy (log 2 for a row shared by two cells).
    T = problem.pattern
    floor = 0.0 if task == "output" else -np.sum(T[T > 0] * np.log(T[T > 0])) / np.sum(T.sum(axis=1) > 0)
    assert state.losses[-1] - floor < 0.05 * (state.losses[0] - floor)  # 95 % of the way down
    assert state.reached_at is not None and state.reached_at < STEPS
    reached = pattern_reached(state.now.trace.weights, problem.pattern)
    assert reached.all()
    if task in ("previous", "output"):  # each row's largest weight on the previous token
        assert [int(np.argmax(r)) for r in state.now.trace.weights] == [0, 0, 1, 2, 3, 4, 5, 6]
    if task != "output":  # the pattern is sharp, not just barely on target
        on = problem.pattern > 0
        assert np.all((state.now.trace.weights * on).sum(axis=1) > 0.9)


def test_without_positions_repeated_words_cannot_be_told_apart() -> None:
    """The reason positions are added: equal words give equal keys, so the weight splits."""
    problem = make_problem(LEARN_CONFIG, "same_word", positions=False)
    w = train(problem, STEPS).now.trace.weights
    assert w[6, 3] == pytest.approx(w[6, 0]) and w[6, 3] == pytest.approx(w[6, 6])  # "the" x3, all equal


def test_painted_cells_the_mask_forbids_are_refused() -> None:
    with pytest.raises(ValidationError, match="forbids"):
        make_problem(LEARN_CONFIG, "painted", painted=[(1, 5)])
    with pytest.raises(ValidationError, match="empty"):
        make_problem(LEARN_CONFIG, "painted")
    free = dataclasses.replace(LEARN_CONFIG, causal=False)
    assert make_problem(free, "painted", painted=[(1, 5)]).pattern[1, 5] == 1.0
    with pytest.raises(ValidationError, match="task"):
        make_problem(LEARN_CONFIG, "nonsense")  # type: ignore[arg-type]


def test_a_bad_learning_rate_is_reported() -> None:
    with pytest.raises(ValidationError, match="learning rate"):
        train(make_problem(LEARN_CONFIG, "output"), 300, optimiser="gd", lr=10.0)


def test_learned_matrices_arrive_in_the_playground_as_edits_in_a_link() -> None:
    problem = make_problem(LEARN_CONFIG, "previous")
    state = train(problem, 60)
    cfg = to_config(problem, state.params)
    assert {m for m, _, _, _ in cfg.edits} == {"W_q", "W_k", "W_v", "embeddings"}
    lab = run_lab(cfg)
    np.testing.assert_array_equal(lab.W_q, state.params["W_q"])
    np.testing.assert_array_equal(lab.embeddings, problem.X)
    np.testing.assert_allclose(lab.attention.heads[0].weights, state.now.trace.weights, rtol=0, atol=1e-15)
    query = config_to_query(cfg)
    assert sum(len(k) + len(v) for k, v in query.items()) < MAX_QUERY_CHARS
    back, messages = config_from_query(query)
    assert messages == [] and back == cfg  # the link carries every learned digit


def test_every_task_has_a_name() -> None:
    assert set(TASKS) == {"previous", "same_word", "first", "painted", "output"}

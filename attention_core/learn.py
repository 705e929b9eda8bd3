"""Learning attention: toy tasks, and gradient descent on W_Q, W_K, W_V.

A *problem* fixes the input X (the Playground's embeddings, plus sinusoidal
position encodings so that two equal words at different places can be told
apart), the mask, the scale and a target; the *state* is the matrices being
learned after some number of steps. One step::

    trace = self_attention(X, W_q, W_k, W_v)             forward, every intermediate
    L, dL = loss(trace)                                   pattern: cross-entropy on the weights
                                                          output:  squared error on the output
    grads = attention_backward(trace, …)                  d_W_q, d_W_k, d_W_v
    W     ← optimiser step (gradient descent or Adam)

Tasks (the target pattern ``T`` has one row per query; see :func:`target_pattern`):

* ``previous``: each token attends to the token before it (the first to itself);
* ``same_word``: each token attends to the most recent earlier occurrence of the
  same word, and to itself when there is none (an induction-like pattern);
* ``first``: every token attends to the first token;
* ``painted``: any pattern, cell by cell;
* ``output``: the output of each token should be the input row of the token
  before it (a "copy the previous token" head), by squared error.

Everything is float64 and deterministic: the same configuration, task and
settings give the same trajectory bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from .attention import causal_mask, self_attention
from .backward import AttentionGrads, attention_backward
from .checks import check_count
from .errors import ValidationError
from .lab import LabConfig, run_lab
from .losses import output_squared_error, weights_cross_entropy
from .optim import AdamState, Params, adam_init, adam_step, gd_step
from .positions import sinusoidal_positions
from .trace import AttentionTrace

Task = Literal["previous", "same_word", "first", "painted", "output"]
Optimiser = Literal["adam", "gd"]

#: Task keys and how the page names them.
TASKS: dict[str, str] = {
    "previous": "attend to the previous token",
    "same_word": "attend to the earlier occurrence of the same word",
    "first": "attend to the first token",
    "painted": "a target pattern painted on a grid",
    "output": "fit a target output (copy the previous token)",
}
OPTIMISERS: dict[str, str] = {"adam": "Adam", "gd": "gradient descent"}
LEARNED: tuple[str, ...] = ("W_q", "W_k", "W_v")

#: The starting configuration: the Playground's defaults (torch generator, seed 123, random
#: embeddings, nn.Linear-style weights) on a sentence of 8 tokens with repeated words, with
#: d_model = d_k = d_v = 8 so that every learned cell fits into a shareable link as an edit.
LEARN_CONFIG = LabConfig(
    sentence="the cat saw the dog and the cat",
    d_model=8,
    d_k=8,
    d_v=8,
    causal=True,
    init="uniform",
    draw_order="table_first",
)  # the fixtures were made from these draws
#: Longest sentence a problem takes: 10 tokens keep every learned number of d_model = 8 in a link.
MAX_TOKENS = 10
#: Training starts from the drawn matrices times this (see :func:`make_problem`).
START_SCALE = 0.1
#: Good first learning rates (Adam takes steps of about lr per entry; gradient descent lr · gradient).
DEFAULT_LR: dict[str, float] = {"adam": 0.01, "gd": 0.5}


def target_pattern(
    task: Task, tokens: Sequence[str], *, painted: Iterable[tuple[int, int]] = ()
) -> np.ndarray:
    """The target weights of ``task`` (n, n): one-hot rows, or for ``painted`` each row's marked
    cells sharing the row equally (a row with no marked cell counts for nothing).

    ``output`` has no target pattern of its own; its natural one, checked by
    :func:`pattern_reached`, is ``previous``.
    """
    n = len(tokens)
    T = np.zeros((n, n))  # (n, n)
    if task in ("previous", "output"):
        for i in range(n):
            T[i, max(i - 1, 0)] = 1.0  # the first token has no previous one: itself
    elif task == "same_word":
        for i, tok in enumerate(tokens):
            earlier = [j for j in range(i) if tokens[j] == tok]
            T[i, earlier[-1] if earlier else i] = 1.0
    elif task == "first":
        T[:, 0] = 1.0
    elif task == "painted":
        for i, j in painted:
            if not (0 <= i < n and 0 <= j < n):
                raise ValidationError(f"painted cell ({i}, {j}) is outside the {n} x {n} grid")
            T[i, j] = 1.0
        sums = T.sum(axis=1, keepdims=True)  # (n, 1)
        T = np.divide(T, sums, out=np.zeros_like(T), where=sums > 0)  # (n, n) rows sum to 1 or 0
    else:
        raise ValidationError(f"task must be one of {tuple(TASKS)}, got {task!r}")
    return T


def shifted_rows(X: np.ndarray) -> np.ndarray:
    """The ``output`` task's target: row i is X's row i − 1 (row 0 is X's row 0), (n, d)."""
    return np.vstack([X[:1], X[:-1]])  # (n, d)


@dataclass(frozen=True)
class LearnProblem:
    """What is learned from what: fixed during training."""

    config: LabConfig  # the Playground configuration it starts from
    task: str
    tokens: tuple[str, ...]
    X: np.ndarray  # (n, d_model) the embeddings the attention reads (with positions if chosen)
    positions: bool  # whether X includes the sinusoidal position encoding
    mask: np.ndarray | None  # (n, n) True = may attend
    scale: float
    pattern: np.ndarray  # (n, n) where the weights should go (checked by pattern_reached)
    target_output: np.ndarray | None  # (n, d_v) for the output task, else None
    start: Params  # W_q, W_k, W_v as the configuration draws them (with its edits)
    base: dict[str, np.ndarray]  # the configuration's matrices before hand edits (for to_config)


def make_problem(
    cfg: LabConfig,
    task: Task,
    *,
    positions: bool = True,
    start_scale: float = START_SCALE,
    painted: Iterable[tuple[int, int]] = (),
) -> LearnProblem:
    """The problem of learning ``task`` from configuration ``cfg`` (one head, self-attention).

    Training starts from the configuration's W_q, W_k, W_v times ``start_scale``: the
    Playground's drawn matrices (uniform on [0, 1)) give scores so large that the softmax
    starts saturated, one weight near 1 in most rows, and nothing visibly forms; a tenth of
    them starts every row near uniform. Painted cells the causal mask forbids are refused:
    no weight can ever go there.
    """
    if isinstance(start_scale, bool) or not (
        isinstance(start_scale, (int, float)) and math.isfinite(start_scale) and start_scale > 0
    ):
        raise ValidationError(
            f"the start factor must be a positive number, got {start_scale!r}", field="start"
        )
    if task not in TASKS:
        raise ValidationError(f"task must be one of {tuple(TASKS)}, got {task!r}", field="task")
    if cfg.n_heads != 1 or cfg.cross_sentence.strip():
        raise ValidationError("learning works on one head of self-attention", field="n_heads")
    lab = run_lab(cfg)
    tokens = lab.tokens_q.tokens
    n = len(tokens)
    if n > MAX_TOKENS:
        raise ValidationError(
            f"the sentence has {n} tokens; learning takes at most {MAX_TOKENS}", field="sentence"
        )
    X = lab.embeddings + (sinusoidal_positions(n, cfg.d_model) if positions else 0.0)  # (n, d_model)
    mask = causal_mask(n, n) if cfg.causal else None  # (n, n)
    painted = sorted(set(painted))
    if mask is not None:
        forbidden = [(i, j) for i, j in painted if 0 <= i < n and 0 <= j < n and not mask[i, j]]
        if forbidden:
            raise ValidationError(f"the causal mask forbids the painted cell(s) {forbidden}", field="painted")
    pattern = target_pattern(task, tokens, painted=painted)  # (n, n)
    if not pattern.any():
        raise ValidationError("the target pattern is empty: mark at least one cell", field="painted")
    target_output = shifted_rows(X) if task == "output" else None  # (n, d_model)
    if target_output is not None and lab.W_v.shape[1] != X.shape[1]:
        raise ValidationError("the output task needs d_v = d_model", field="d_v")
    return LearnProblem(
        config=cfg,
        task=task,
        tokens=tuple(tokens),
        X=X,
        positions=positions,
        mask=mask,
        scale=lab.attention.heads[0].scale,
        pattern=pattern,
        target_output=target_output,
        start={name: start_scale * getattr(lab, name) for name in LEARNED},
        base=lab.base,
    )


@dataclass(frozen=True)
class Evaluation:
    """The loss at some matrices, with the forward trace and every gradient."""

    loss: float
    trace: AttentionTrace
    grads: AttentionGrads

    def param_grads(self) -> Params:
        """dL/dW_q, dL/dW_k, dL/dW_v by name."""
        return {"W_q": self.grads.d_W_q, "W_k": self.grads.d_W_k, "W_v": self.grads.d_W_v}


def evaluate(problem: LearnProblem, params: Params) -> Evaluation:
    """Forward, loss and backward at ``params``::

        pattern tasks: L = cross-entropy(weights, pattern),  backward from d_weights
        output task:   L = mean (output − target)²,          backward from d_output
    """  # fmt: skip
    trace = self_attention(
        problem.X, params["W_q"], params["W_k"], params["W_v"], scale=problem.scale, mask=problem.mask
    )
    # A learning rate that is too large makes the numbers overflow: learn_step reports that
    # as a ValidationError, so NumPy's warning would only repeat it.
    with np.errstate(over="ignore", invalid="ignore"):
        if problem.target_output is not None:
            loss, d_output = output_squared_error(trace.output, problem.target_output)  # (n, d_v)
            grads = attention_backward(trace, d_output)
        else:
            loss, d_weights = weights_cross_entropy(trace.weights, problem.pattern)  # (n, n)
            grads = attention_backward(trace, d_weights=d_weights)
    return Evaluation(loss=loss, trace=trace, grads=grads)


def pattern_reached(weights: np.ndarray, pattern: np.ndarray) -> np.ndarray:
    """(n,) bool: for each row with a target, is its largest weight on a target cell?

    Rows without a target count as reached.
    """
    best = np.argmax(weights, axis=1)  # (n,) column of each row's largest weight
    on_target = pattern[np.arange(pattern.shape[0]), best] > 0  # (n,)
    return on_target | (pattern.sum(axis=1) == 0)


@dataclass(frozen=True)
class LearnState:
    """The matrices after ``step`` steps, the optimiser's memory and the history."""

    step: int
    params: Params  # W_q, W_k, W_v now
    adam: AdamState  # Adam's moments (unused, and left at zero, by gradient descent)
    losses: tuple[float, ...]  # losses[k]: the loss after k steps (losses[-1] is now)
    now: Evaluation  # the loss, trace and gradients at params
    reached_at: int | None  # the first step at which every row's largest weight was on target


def start(problem: LearnProblem) -> LearnState:
    """Step 0: the configuration's own matrices."""
    now = evaluate(problem, problem.start)
    reached = 0 if pattern_reached(now.trace.weights, problem.pattern).all() else None
    return LearnState(
        step=0,
        params=dict(problem.start),
        adam=adam_init(problem.start),
        losses=(now.loss,),
        now=now,
        reached_at=reached,
    )


def learn_step(
    problem: LearnProblem, state: LearnState, *, optimiser: Optimiser = "adam", lr: float | None = None
) -> LearnState:
    """One optimiser step from ``state`` with the gradients already at hand, then re-evaluate."""
    if optimiser not in OPTIMISERS:
        raise ValidationError(f"optimiser must be one of {tuple(OPTIMISERS)}, got {optimiser!r}")
    lr = DEFAULT_LR[optimiser] if lr is None else lr  # a boolean is refused by the optimiser's check
    grads = state.now.param_grads()
    if optimiser == "adam":
        params, adam = adam_step(state.params, grads, state.adam, lr)
    elif optimiser == "gd":
        params, adam = gd_step(state.params, grads, lr), state.adam
    else:
        raise ValidationError(f"optimiser must be one of {tuple(OPTIMISERS)}, got {optimiser!r}")
    step = state.step + 1
    try:
        now = evaluate(problem, params)
    except ValidationError as exc:  # the matrices grew beyond float64 (scores overflowed)
        raise ValidationError(f"at step {step}: {exc}: lower the learning rate", field="lr") from None
    if not math.isfinite(now.loss):
        raise ValidationError(
            f"the loss became {now.loss} at step {step}: lower the learning rate", field="lr"
        )
    reached = state.reached_at
    if reached is None and pattern_reached(now.trace.weights, problem.pattern).all():
        reached = step
    return replace(
        state,
        step=step,
        params=params,
        adam=adam,
        losses=(*state.losses, now.loss),
        now=now,
        reached_at=reached,
    )


def train(
    problem: LearnProblem,
    steps: int,
    *,
    optimiser: Optimiser = "adam",
    lr: float | None = None,
    state: LearnState | None = None,
) -> LearnState:
    """``steps`` steps from ``state`` (default: the start)."""
    check_count("the number of steps", steps, lo=0)
    if lr is not None and (isinstance(lr, bool) or not isinstance(lr, (int, float))):
        raise ValidationError(f"the learning rate must be a positive number, got {lr!r}", field="lr")
    state = start(problem) if state is None else state
    for _ in range(steps):
        state = learn_step(problem, state, optimiser=optimiser, lr=lr)
    return state


def to_config(problem: LearnProblem, params: Params) -> LabConfig:
    """The Playground configuration that shows ``params``: the starting configuration with
    every cell of W_q, W_k, W_v (and of the embeddings, when positions were added) that
    differs from the drawn matrix as a hand edit. ``run_lab`` of it gives the same weights."""
    edits = problem.config.edit_dict()
    shown = {**params, "embeddings": problem.X}
    for name, m in shown.items():
        base = problem.base[name]
        for r, c in zip(*np.nonzero(m != base), strict=True):
            edits[(name, int(r), int(c))] = float(m[r, c])
        for r, c in zip(*np.nonzero(m == base), strict=True):
            edits.pop((name, int(r), int(c)), None)  # back at the drawn value: no edit needed
    return problem.config.with_edits(edits)

"""Losses for toy attention tasks, each returned with its gradient.

Two kinds of target:

* a **pattern**: for each query row, where its weights should go. The target
  ``T`` (n_q, n_k) has rows that sum to 1 (usually one 1 per row) or to 0 (a row
  that does not count). The loss is the cross-entropy between each counted
  row's target and its weights, averaged over the counted rows;
* an **output**: the matrix the attention output should equal, with the mean
  squared error.

Each function returns ``(loss, gradient)``: the gradient with respect to the
weights or the output, ready for :func:`~.backward.attention_backward`.
"""

from __future__ import annotations

import numpy as np

from .checks import as_matrix
from .errors import ValidationError

#: Weights below this are treated as this in the logarithm (a weight that
#: underflowed to 0 would give log 0 = -inf and an infinite gradient).
TINY = 1e-300


def _same_shape(a: np.ndarray, b: np.ndarray, what: str) -> None:
    if a.shape != b.shape:
        raise ValidationError(f"{what} has shape {b.shape}; it must have the shape {a.shape}")


def weights_cross_entropy(weights: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Cross-entropy between each query's weights and its target row, averaged over counted rows::

        R         = number of rows i with Σ_j T_ij > 0
        L         = −(1/R) Σ_i Σ_j T_ij · log A_ij             (a number)
        d_weights = −T / (R · A)   where T > 0, else 0         (n_q, n_k)

    ``weights`` A and ``target`` T are (n_q, n_k); T ≥ 0. A perfect pattern
    (A = T, one-hot rows) gives L = 0; uniform weights over n keys give log n.
    """
    A = as_matrix("weights", weights)  # (n_q, n_k)
    T = as_matrix("target", target)  # (n_q, n_k)
    _same_shape(A, T, "the target pattern")
    if (T < 0).any():
        raise ValidationError("the target pattern must not be negative")
    counted = T.sum(axis=1) > 0  # (n_q,) rows that have a target
    R = int(counted.sum())
    if R == 0:
        raise ValidationError("the target pattern is empty: mark at least one cell")
    A_safe = np.maximum(A, TINY)  # (n_q, n_k) no log 0 (an underflowed weight)
    on = T > 0  # (n_q, n_k) only target cells contribute (0 · log 0 = 0)
    loss = -float(np.sum(np.where(on, T * np.log(A_safe), 0.0))) / R
    d_weights = np.where(on, -T / (R * A_safe), 0.0)  # (n_q, n_k)
    return loss, d_weights


def output_squared_error(output: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean squared error between the output and a target output::

        L        = (1 / (n_q · d_v)) Σ_ij (O_ij − Y_ij)²       (a number)
        d_output = 2 (O − Y) / (n_q · d_v)                     (n_q, d_v)
    """  # fmt: skip
    O = as_matrix("output", output)  # (n_q, d_v)
    Y = as_matrix("target", target)  # (n_q, d_v)
    _same_shape(O, Y, "the target output")
    if O.size == 0:
        raise ValidationError("the output is empty")
    diff = O - Y  # (n_q, d_v)
    loss = float(np.sum(diff * diff)) / O.size
    return loss, 2.0 * diff / O.size  # (n_q, d_v)

"""Softmax: each row of scores becomes weights between 0 and 1 that sum to 1.

::

    weights[i, j] = exp(z_ij − m_i) / Σ_k exp(z_ik − m_i)      m_i = max_k z_ik
    backward:  dZ = A ⊙ (dA − rowsum(dA ⊙ A))
"""

from __future__ import annotations

import numpy as np

from ..errors import ValidationError
from .base import MAX_TERMS, Explained, Normaliser


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax: ``exp(x - max) / sum(exp(x - max))`` along ``axis``.

    Subtracting the row maximum changes nothing mathematically (softmax is
    invariant to adding a constant) but keeps ``exp`` from overflowing.
    Two edge cases are defined rather than left to produce NaN:

    * a slice that is entirely ``-inf`` (every key masked) gives all zeros;
    * a slice containing ``+inf`` shares the weight equally among its ``+inf``
      entries (the limit of softmax as those entries grow without bound).

    NaN in ``x`` is refused with a :class:`ValidationError`.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return x.copy()
    m = np.max(x, axis=axis, keepdims=True)  # row max; -inf for a fully masked row
    if np.isnan(m).any():  # max propagates NaN: checking it needs no n² temporary
        raise ValidationError("softmax input contains NaN")
    inf_rows = np.isposinf(m)  # (…, 1 …) slices holding +inf (rare: overflowed scores)
    if inf_rows.any():
        # Slices are independent: a +inf slice shares its weight among its +inf entries, every
        # other slice is an ordinary softmax (computed with the +inf slices blanked to 0).
        ordinary = softmax(np.where(inf_rows, 0.0, x), axis=axis)
        e = np.isposinf(x).astype(np.float64)
        e /= e.sum(axis=axis, keepdims=True).clip(min=1.0)
        return np.where(inf_rows, e, ordinary)
    # One n² buffer, reused in place (memory matters at 2,048 tokens x 8 heads).
    e = np.subtract(x, np.where(np.isfinite(m), m, 0.0))  # ≤ 0; -inf stays -inf
    np.exp(e, out=e)  # exp(-inf) = 0
    total = e.sum(axis=axis, keepdims=True)  # 0 only for a fully masked row
    # A fully masked row is all zeros: divide it by 1. (A plain divide, not ``where=``: the
    # masked ufunc loop is about twice as slow over n² entries.)
    np.divide(e, np.where(total > 0, total, 1.0), out=e)
    return e


def softmax_backward(weights: np.ndarray, d_weights: np.ndarray) -> np.ndarray:
    """The softmax Jacobian applied row by row: ``dZ = A ⊙ (dA − rowsum(dA ⊙ A))``.

    ``weights`` A = softmax(Z) along the last axis and ``d_weights`` = ∂L/∂A, both
    (…, n_k); returns ∂L/∂Z of the same shape. Where A is 0 (a masked key) the
    gradient is 0.
    """
    row_dot = np.sum(d_weights * weights, axis=-1, keepdims=True)  # (…, 1) Σ_j dA_j A_j
    return weights * (d_weights - row_dot)  # (…, n_k)


def explain(row: np.ndarray, j: int) -> Explained:
    """exp(z − max) for each key of the row, their sum, and weight j = exp_j / Σ."""
    row = np.asarray(row, dtype=np.float64)  # (n_k,)
    top = np.isposinf(row)
    finite = np.isfinite(row)
    if top.any():  # the limit: the +∞ keys share the row (see softmax)
        shift, numerators = np.inf, top.astype(np.float64)
    else:
        shift = float(row[finite].max()) if finite.any() else 0.0
        with np.errstate(over="ignore", invalid="ignore"):
            numerators = np.where(finite, np.exp(row - shift), 0.0)  # (n_k,)
    total = float(numerators.sum())
    weight = float(numerators[j] / total) if total > 0 else 0.0
    n = len(numerators)
    # Every term up to MAX_TERMS keys; beyond, the first MAX_TERMS and how many more, and the sum says it is
    # the sum of all n (not of the terms shown).
    more = f", … {n - MAX_TERMS} more" if n > MAX_TERMS else ""
    shown = ", ".join(f"{v:.4g}" for v in numerators[:MAX_TERMS]) + more
    what = "[1 on each +∞ key, 0 elsewhere]" if top.any() else f"exp(row − {shift:.4g})"
    total_is = f"{total:.4g} (Σ of all {n})" if n > MAX_TERMS else f"{total:.4g}"
    return Explained(
        numerators=numerators,
        denominator=total,
        shift=shift,
        weight=weight,
        lines=(
            f"exp    = {what} = [{shown}]",
            f"weight = {numerators[j]:.4g} / {total_is} = {weight:.6g}"
            + ("   (every key masked: the row is 0)" if total == 0 else ""),
        ),
    )


NORMALISER = Normaliser(
    name="softmax",
    title="softmax",
    formula=r"A = \operatorname{softmax}_{\text{row}}(S')",
    sentence="Softmax turns each row of scores into weights between 0 and 1 that sum to 1.",
    forward=softmax,
    backward=softmax_backward,
    explain=explain,
    distribution=lambda w: w,  # rows already sum to 1 (0 when fully masked)
    entropy_note="1: uniform, 0: one-hot",
)

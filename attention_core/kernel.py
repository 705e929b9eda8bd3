"""The mechanism for one head, in one place.

For queries ``Q`` (n_q, d_k), keys ``K`` (n_k, d_k), values ``V`` (n_k, d_v)
and one :class:`~.options.AttentionOptions`::

    scores        = Q Kᵀ                                   (n_q, n_k)
    scaled_scores = scale · scores                         scale = options.scale or 1/√d_k
    biased_scores = scaled_scores + bias                   (ALiBi's −m·|i − j|, or a bias given outright)
    masked_scores = biased_scores, −∞ where the mask hides a key
    weights       = normaliser(masked_scores) per row      (options.normaliser, softmax by default)
    output        = weights V                              (n_q, d_v)

:func:`attend` is the only function of the core that computes these; every
public entry point (:mod:`.attention`, :mod:`.gqa`, :mod:`.kv_cache`, the lab)
reaches it through :func:`.heads.attend_heads`, and :func:`explain_weight` reads
one weight's arithmetic back from the trace.

Overflow. Hand edits reach ±1.8e308, so ``Q Kᵀ`` can exceed float64. The scores
then hold ±∞ (the true value is beyond float64: an *overflow*, shown as such,
never as "masked"), and the normaliser reads each row shifted by its maximum,
computed exactly from rescaled numbers (:func:`stable_logits`); those shifted
rows are kept as ``trace.logits``. :func:`score_kinds` names every cell:
finite, masked, or overflowed up or down.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from .checks import check_count
from .errors import ValidationError
from .normalisers import Explained
from .options import AttentionOptions, causal_mask
from .trace import AttentionTrace

__all__ = [
    "AttentionOptions",
    "ScoreKind",
    "attend",
    "causal_mask",
    "explain_weight",
    "score_kinds",
    "stable_logits",
]

#: What a score cell is: an ordinary number, hidden by the mask, or beyond float64 above or below.
ScoreKind = Literal["finite", "masked", "+overflow", "-overflow"]


def stable_logits(
    Q: np.ndarray, K: np.ndarray, scale: float, mask: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """``scale · Q Kᵀ`` as (scores, logits): logits are safe to feed to the normaliser.

    With ordinary numbers the logits are simply the scaled scores, with -inf
    where the mask forbids. When the product overflows float64 (entries near
    1e300), ``Q Kᵀ`` would hold ±inf and even NaN (inf - inf inside the dot
    product). Then we factor out powers of two, ``Q = Q̃·2^a``, ``K = K̃·2^b``,
    ``scale = s̃·2^c``, compute ``s̃ Q̃ K̃ᵀ`` safely, subtract each row's maximum
    over the keys it may see, and only then multiply by ``2^(a+b+c)`` with
    ``ldexp``: the shifted logits are ≤ 0 and overflow to ``-inf`` (weight 0),
    never to NaN. Softmax is shift-invariant, so the weights are unchanged.
    """
    allowed = np.ones((Q.shape[0], K.shape[0]), dtype=bool) if mask is None else mask  # (n_q, n_k)
    with np.errstate(over="ignore", invalid="ignore"):
        scores = Q @ K.T  # (n_q, n_k)
        logits = scale * scores  # (n_q, n_k)
    if np.all(np.isfinite(logits)):
        return scores, np.where(allowed, logits, -np.inf)
    a = int(np.frexp(np.max(np.abs(Q)))[1]) if Q.size else 0  # exponent of the largest |Q|
    b = int(np.frexp(np.max(np.abs(K)))[1]) if K.size else 0
    c = int(np.frexp(scale)[1])
    raw = np.ldexp(Q, -a) @ np.ldexp(K, -b).T  # (n_q, n_k), |entries| ≤ d_k
    mant = np.where(allowed, raw * np.ldexp(scale, -c), -np.inf)
    row_max = mant.max(axis=-1, keepdims=True) if mant.size else np.zeros((Q.shape[0], 1))
    shifted = mant - np.where(np.isfinite(row_max), row_max, 0.0)  # ≤ 0, -inf where masked
    with np.errstate(over="ignore"):
        big_scores = np.ldexp(raw, a + b)  # ±inf where the true score exceeds float64
        rescaled = np.ldexp(shifted, a + b + c)  # (n_q, n_k)
    # The exponents a, b are global, so a row of ordinary size can underflow to 0 in ``raw``:
    # rows are independent, and a row whose logits were finite keeps them as they were.
    finite_rows = np.isfinite(logits).all(axis=-1, keepdims=True)  # (n_q, 1)
    return (
        np.where(finite_rows, scores, big_scores),
        np.where(finite_rows, np.where(allowed, logits, -np.inf), rescaled),
    )


def attend(
    Q: np.ndarray,
    K: np.ndarray,
    V: np.ndarray,
    options: AttentionOptions,
    *,
    mask: np.ndarray | None = None,
    bias: np.ndarray | None = None,
    **inputs: np.ndarray,
) -> AttentionTrace:
    """One head on checked inputs; ``inputs`` (x_q, W_q, Q_unrotated …) are recorded in the trace.

    ``mask`` (n_q, n_k) and ``bias`` (n_q, n_k) are what ``options`` resolve to for this head (the
    heads module builds the mask once per layer, and ALiBi's bias per head). Without a bias
    ``biased_scores`` is ``scaled_scores`` itself, without a mask ``masked_scores`` is too (no copy).
    """
    n_q, n_k = Q.shape[0], K.shape[0]
    s = options.scale_for(Q.shape[1])
    with np.errstate(over="ignore", invalid="ignore"):
        scores = Q @ K.T  # (n_q, n_k)
        scaled_scores = s * scores  # (n_q, n_k)
        biased_scores = scaled_scores if bias is None else scaled_scores + bias  # (n_q, n_k)
    if mask is not None:
        masked_scores = np.where(mask, biased_scores, -np.inf)  # (n_q, n_k)
        fully_masked = ~mask.any(axis=-1)  # (n_q,) no key to attend to
    else:
        masked_scores = biased_scores  # the same array: no mask, no copy
        fully_masked = np.full(n_q, n_k == 0)
    logits = masked_scores
    overflowed = False
    # min and max are finite only if every entry is (NaN propagates): no n² temporary.
    if biased_scores.size and not (np.isfinite(biased_scores.min()) and np.isfinite(biased_scores.max())):
        overflowed = True
        scores, logits = stable_logits(Q, K, s, mask)  # the product overflowed float64: rescale (rare)
        with np.errstate(over="ignore", invalid="ignore"):
            scaled_scores = s * scores  # ±inf where the true value exceeds float64
            biased_scores = scaled_scores if bias is None else scaled_scores + bias
        if bias is not None:  # the logits are the true ones shifted per row: the bias adds as usual
            logits = logits + bias  # (n_q, n_k); -inf (masked) stays -inf
        masked_scores = biased_scores if mask is None else np.where(mask, biased_scores, -np.inf)
    weights = options.normalise.forward(logits)  # (n_q, n_k); softmax: rows sum to 1 (0 if fully masked)
    output = weights @ V  # (n_q, d_v)
    return AttentionTrace(
        Q=Q,
        K=K,
        V=V,
        scale=s,
        mask=mask,
        scores=scores,
        scaled_scores=scaled_scores,
        masked_scores=masked_scores,
        weights=weights,
        output=output,
        fully_masked_rows=fully_masked,
        position_bias=bias,
        biased_scores=biased_scores,
        options=options,
        logits=logits if overflowed else None,
        **inputs,
    )


def score_kinds(trace: AttentionTrace, name: str = "masked_scores") -> np.ndarray:
    """(n_q, n_k) the kind of each cell of a score matrix of ``trace`` (scores, scaled_scores,
    biased_scores or masked_scores): "finite", "masked" (hidden by the mask, in masked_scores
    only), "+overflow" or "-overflow" (the true value is beyond ±1.8e308, held as ±∞)."""
    m = getattr(trace, name)
    kinds = np.full(m.shape, "finite", dtype=object)
    kinds[np.isposinf(m)] = "+overflow"
    kinds[np.isneginf(m)] = "-overflow"
    if name == "masked_scores" and trace.mask is not None:
        kinds[~trace.mask] = "masked"
    return kinds


def explain_weight(trace: AttentionTrace, i: int, j: int) -> dict[str, object]:
    """The arithmetic behind ``weights[i, j]``, term by term, from the trace.

    ::

        score      = Σ_d Q[i, d] · K[j, d]                 (the terms are listed)
        scaled     = scale · score
        biased     = scaled + position_bias[i, j]           (0 without a position bias)
        numerators = the normaliser's per-key terms         (softmax: exp(masked_scores[i, :] − max))
        weight     = numerators[j] / denominator            (softmax: Σ numerators)
        contribution of v_j to output row i = weight · V[j, :]

    When the row's scores overflowed float64 the normaliser's terms come from the exact
    shifted row (``trace.logits``), as the weights did. ``lines`` is the normaliser's own
    arithmetic in words; ``kind`` says whether the score is finite, masked or overflowed.
    Returned as plain numbers and arrays so any front end can print them.
    """
    for v in (i, j):
        check_count("a cell's row and column", v, lo=0)
    if not (0 <= i < trace.n_q and 0 <= j < trace.n_k):
        raise ValidationError(f"cell ({i}, {j}) is outside the weights of shape {trace.weights.shape}")
    row = (trace.masked_scores if trace.logits is None else trace.logits)[i]  # (n_k,) the normaliser's input
    ex: Explained = trace.normaliser.explain(row, j)
    overflowed = trace.logits is not None and not np.all(np.isfinite(trace.biased_scores[i]))
    with np.errstate(over="ignore"):  # a term beyond float64 is ±inf, as its score
        terms = trace.Q[i] * trace.K[j]  # (d_k,) q_i[d] · k_j[d]
    return {
        "terms": terms,
        "score": float(trace.scores[i, j]),
        "scale": trace.scale,
        "scaled_score": float(trace.scaled_scores[i, j]),
        "position_bias": 0.0 if trace.position_bias is None else float(trace.position_bias[i, j]),
        "biased_score": float(trace.biased_scores[i, j]),
        "masked": bool(trace.mask is not None and not trace.mask[i, j]),
        "kind": str(score_kinds(trace)[i, j]),
        "row_overflowed": bool(overflowed),
        "row_max": float(np.max(trace.masked_scores[i])) if overflowed else float(ex.shift),
        "exp_row": ex.numerators,
        "exp_sum": float(ex.denominator),
        "lines": ex.lines,
        "weight": float(trace.weights[i, j]),
        "value": trace.V[j],  # (d_v,)
        "contribution": trace.weights[i, j] * trace.V[j],  # (d_v,) this key's share of output row i
        "output_row": trace.output[i],  # (d_v,)
    }

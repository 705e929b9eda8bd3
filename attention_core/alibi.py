"""ALiBi: attention with linear biases (Press, Smith & Lewis, 2022).

No position is added to the tokens. Instead each head h adds a penalty that
grows linearly with the distance between query i and key j to its scaled
scores, with a head-specific slope::

    slopes (n_heads a power of two)  m_h = 2^(-8 (h + 1) / n_heads)      h = 0 … n_heads − 1
    position_bias[h, i, j]           = -m_h · |i − j|                      (n_heads, n_q, n_k)
    biased_scores                    = scaled_scores + position_bias[h]

For a head count that is not a power of two, ``p = 2^⌊log₂ n⌋``: the first p
slopes are those of p heads, and the remaining ``n − p`` are every other slope
of ``2p`` heads (``2^(-4·1/p), 2^(-4·3/p), …``), as in the paper's code and in
Bloom's ``build_alibi_tensor``.

Press et al. define the bias for causal models only: ``-m_h · (i − j)`` for the
keys ``j ≤ i`` a query sees. We use ``|i − j|``, which is the same on every
key a causal mask lets through; without a mask it penalises future keys as
much as past ones (the symmetric choice of bidirectional ALiBi, e.g.
MosaicBERT). Bloom adds ``+m_h · j`` instead: for query i that is
``-m_h (i − j) + m_h i``, a constant per row, and softmax ignores a constant
added to a row, so under a causal mask Bloom's weights equal ours exactly.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import ValidationError


def alibi_slopes(n_heads: int) -> np.ndarray:
    """(n_heads,) the slopes m_h: ``2^(-8(h+1)/n)`` for a power of two, interleaved otherwise."""
    if isinstance(n_heads, bool) or not isinstance(n_heads, (int, np.integer)) or n_heads < 1:
        raise ValidationError(f"n_heads must be a positive integer, got {n_heads!r}")
    p = 2 ** math.floor(math.log2(n_heads))  # largest power of two ≤ n_heads
    slopes = 2.0 ** (-8.0 * np.arange(1, p + 1) / p)  # (p,) the geometric sequence of p heads
    extra = 2.0 ** (-4.0 * np.arange(1, 2 * (n_heads - p), 2) / p)  # (n − p,) odd slopes of 2p heads
    return np.concatenate([slopes, extra])  # (n_heads,)


def alibi_bias(
    slopes: np.ndarray,
    n_q: int,
    n_k: int | None = None,
    *,
    q_positions: np.ndarray | None = None,
    k_positions: np.ndarray | None = None,
) -> np.ndarray:
    """(n_heads, n_q, n_k) ``-slope_h · |i − j|`` for query positions i and key positions j.

    Positions default to 0 … n − 1; a KV cache passes the true position of its one new
    query (``q_positions=[t]``) and of the cached keys.
    """
    n_k = n_q if n_k is None else n_k
    for name, v in (("n_q", n_q), ("n_k", n_k)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            raise ValidationError(f"{name} must be a non-negative whole number, got {v!r}")
    qi = np.arange(n_q, dtype=np.float64) if q_positions is None else np.asarray(q_positions, np.float64)
    kj = np.arange(n_k, dtype=np.float64) if k_positions is None else np.asarray(k_positions, np.float64)
    if qi.shape != (n_q,) or kj.shape != (n_k,):
        raise ValidationError(f"positions must have {n_q} and {n_k} entries, got {qi.shape} and {kj.shape}")
    distance = np.abs(qi[:, None] - kj[None, :])  # (n_q, n_k) |i − j|
    return -np.asarray(slopes, dtype=np.float64)[:, None, None] * distance  # (n_heads, n_q, n_k)

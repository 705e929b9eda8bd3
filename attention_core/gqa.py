"""Grouped-query attention: several query heads share one key/value head.

Multi-head attention gives every head its own keys and values. Grouped-query
attention (Ainslie et al., 2023) keeps ``n_heads`` query heads but only
``n_kv_heads`` key/value heads; query head ``i`` reads key/value head
``i // (n_heads / n_kv_heads)``, the layout of torch's
``scaled_dot_product_attention(..., enable_gqa=True)`` and of Llama::

    group      = n_heads / n_kv_heads                 query heads per key/value head
    kv(i)      = i // group
    head_i     = attention(Q_i, K_kv(i), V_kv(i))     every head's intermediates kept
    output     = [head_0 | head_1 | … ]               (n_q, n_heads · d_v)

Multi-query attention is ``n_kv_heads = 1``; ordinary multi-head attention is
``n_kv_heads = n_heads``. The key/value cache of a generating model shrinks by
the factor ``group``.
"""

from __future__ import annotations

import numpy as np

from .checks import as_matrix, check_flag
from .errors import ValidationError
from .heads import attend_heads, kv_head_of
from .options import AttentionOptions
from .trace import MultiHeadTrace

__all__ = ["grouped_query_attention", "kv_head_of"]


def grouped_query_attention(
    Q: np.ndarray,
    K: np.ndarray,
    V: np.ndarray,
    n_heads: int,
    n_kv_heads: int,
    *,
    causal: bool = False,
    scale: float | None = None,
) -> MultiHeadTrace:
    """Attention of ``n_heads`` query heads over ``n_kv_heads`` shared key/value heads.

    Q (n_q, n_heads·h), K (n_k, n_kv_heads·h), V (n_k, n_kv_heads·h_v); ``scale=None``
    means 1/√h. Returns a :class:`MultiHeadTrace` whose ``heads[i]`` is query head i's
    full trace and whose ``kv_heads[i]`` names the key/value head it read.
    """
    Q, K, V = as_matrix("Q", Q), as_matrix("K", K), as_matrix("V", V)
    kv = kv_head_of(n_heads, n_kv_heads)
    options = AttentionOptions(scale=scale, causal=check_flag("causal", causal))
    if Q.shape[1] % n_heads or K.shape[1] % n_kv_heads or V.shape[1] % n_kv_heads:
        raise ValidationError(
            f"Q {Q.shape} must split into {n_heads} heads and K {K.shape}, V {V.shape} into {n_kv_heads}"
        )
    h = Q.shape[1] // n_heads  # per-head query/key width
    if K.shape[1] // n_kv_heads != h:
        raise ValidationError(f"query heads have {h} features but key heads {K.shape[1] // n_kv_heads}")
    if K.shape[0] != V.shape[0]:
        raise ValidationError(f"K {K.shape} and V {V.shape} must have the same number of rows (n_k)")
    options.scale_for(h)  # refuses h = 0 without a scale before anything is computed
    heads = attend_heads(Q, K, V, kv, options)  # the code path multi_head_attention(n_kv_heads=…) takes
    concat = np.concatenate([t.output for t in heads], axis=1)  # (n_q, n_heads · h_v)
    return MultiHeadTrace(
        heads=heads, Q=Q, K=K, V=V, concat=concat, W_o=None, output=concat, kv_heads=kv, options=options
    )

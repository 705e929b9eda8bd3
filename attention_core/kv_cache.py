"""Generating one token at a time with a key/value cache.

A decoder generates token t after tokens 0 … t − 1. Its causal attention for
the new query only needs the keys and values of the tokens before it, and those
never change: so they are computed once and kept in a cache. Step t::

    q_t, k_t, v_t = x_t W_q, x_t W_k, x_t W_v          (1, n_heads·h) (1, n_kv·h) (1, n_kv·h_v)
    (RoPE: q_t, k_t rotated at position t; the cache stores rotated keys)
    K_cache = [K_cache ; k_t], V_cache = [V_cache ; v_t]   (t + 1, n_kv·h), (t + 1, n_kv·h_v)
    (sliding window: only the last ``window`` rows are kept)
    head_i  = attention(q_t, K_cache, V_cache) on head i's block, kv block i // group
    (ALiBi: bias −slope_h · (t − j) for the cached position j)
    out_t   = [head_0 | …] W_o                           (1, d_out)

No mask is needed: the cache holds only the past. Stacking out_0 … out_{n−1}
gives the full causal computation ``multi_head_attention(X, X, …, causal=True)``.
Its memory per token is ``n_kv · (h + h_v)`` numbers per layer: grouped-query
attention divides it by ``n_heads / n_kv``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .alibi import alibi_slopes
from .attention import options_from
from .checks import as_matrix, bias_vector, check_count, project
from .heads import attend_heads, combine_heads, head_layout
from .options import AttentionOptions
from .rope import rope_heads
from .trace import MultiHeadTrace


def kv_cache_bytes_per_token(
    n_kv_heads: int, head_dim: int, head_dim_v: int | None = None, itemsize: int = 8
) -> int:
    """Bytes one token adds to one layer's cache: ``n_kv · (h + h_v) · itemsize`` (keys and values)."""
    h_v = head_dim if head_dim_v is None else head_dim_v
    sizes = (("n_kv_heads", n_kv_heads), ("head_dim", head_dim), ("head_dim_v", h_v), ("itemsize", itemsize))
    for name, v in sizes:
        check_count(name, v, lo=0)
    return int(n_kv_heads * (head_dim + h_v) * itemsize)


@dataclass(frozen=True)
class DecodeStep:
    """Step t: the new token's query over the cache, and the cache after appending."""

    position: int  # t, the new token's position
    cached_positions: np.ndarray  # (n_cached,) the positions whose keys/values are in the cache
    K_cache: np.ndarray  # (n_cached, n_kv·h) cached keys (rotated when RoPE is on)
    V_cache: np.ndarray  # (n_cached, n_kv·h_v) cached values
    #: The new token's query over the cache, named as multi_head_attention names them: Q (1, n_heads·h)
    #: and K (n_cached, n_kv·h) before RoPE, Q_rotated / K_rotated (= K_cache) after; V = V_cache;
    #: heads[i].weights is (1, n_cached).
    attention: MultiHeadTrace
    output: np.ndarray  # (1, d_out) this token's attention output
    cache_bytes: int  # bytes held by K_cache and V_cache


@dataclass(frozen=True)
class KVCacheTrace:
    """Every decoding step and the outputs stacked."""

    steps: tuple[DecodeStep, ...]
    output: np.ndarray  # (n, d_out) row t = step t's output
    n_heads: int
    n_kv_heads: int
    bytes_per_token: int  # what one more cached token costs (float64)


def kv_cache_decode(
    X: np.ndarray,
    W_q: np.ndarray,
    W_k: np.ndarray,
    W_v: np.ndarray,
    W_o: np.ndarray | None,
    n_heads: int,
    *,
    scale: float | None = None,
    b_q: np.ndarray | None = None,
    b_k: np.ndarray | None = None,
    b_v: np.ndarray | None = None,
    n_kv_heads: int | None = None,
    rope_base: float | None = None,
    alibi: bool = False,
    window: int | None = None,
    options: AttentionOptions | None = None,
) -> KVCacheTrace:
    """Causal self-attention over X (n, d_model), one token at a time through a KV cache.

    Same weights and options as :func:`attention_core.attention.multi_head_attention`
    (causal self-attention); the outputs equal its ``output`` up to rounding. The options are
    one :class:`~.options.AttentionOptions` (causal, with the window), and each step's heads
    get them without the mask: the cache itself is the causal, windowed past.
    """
    X = as_matrix("X", X)
    W_q, W_k, W_v = as_matrix("W_q", W_q), as_matrix("W_k", W_k), as_matrix("W_v", W_v)
    kv_heads = head_layout(W_q, W_k, W_v, n_heads, n_kv_heads)
    n_kv, d_k = len(set(kv_heads)), W_q.shape[1]
    h, h_v = d_k // n_heads, W_v.shape[1] // n_kv  # per-head widths
    # Causal self-attention with these options; the window is how many rows the cache keeps.
    options = replace(
        options_from(options, scale=scale, window=window, alibi=alibi, rope_base=rope_base), causal=True
    )
    options.scale_for(h)  # one check of the scale for all heads
    # No mask inside a step: the cache holds only the past (and only the window's worth of it).
    step_options = replace(options, causal=False, window=None)
    w, base = options.window, options.rope_base
    slopes = alibi_slopes(n_heads) if options.alibi else None  # (n_heads,)
    bq, bk = bias_vector("b_q", b_q, d_k), bias_vector("b_k", b_k, W_k.shape[1])
    bv = bias_vector("b_v", b_v, W_v.shape[1])
    K_cache, V_cache = np.zeros((0, W_k.shape[1])), np.zeros((0, W_v.shape[1]))  # empty caches
    K_seen = K_cache  # under RoPE: the keys before rotation, for the trace only (a real cache keeps none)
    positions = np.zeros(0, dtype=np.int64)  # (n_cached,)
    steps = []
    for t in range(X.shape[0]):
        x_t = X[t : t + 1]  # (1, d_model)
        q = project("W_q", x_t, W_q) + bq  # (1, n_heads·h)
        k = project("W_k", x_t, W_k) + bk  # (1, n_kv·h)
        v = project("W_v", x_t, W_v) + bv  # (1, n_kv·h_v)
        q_raw, k_raw = q, k
        if base is not None:  # rotate at the token's true position, not at 0
            q = rope_heads(q, n_heads, base=base, positions=np.array([t]))  # (1, n_heads·h)
            k = rope_heads(k, n_kv, base=base, positions=np.array([t]))  # (1, n_kv·h)
        rotated = base is not None
        K_cache = np.concatenate([K_cache, k])  # (n_cached + 1, n_kv·h)
        K_seen = np.concatenate([K_seen, k_raw]) if rotated else K_cache  # (n_cached + 1, n_kv·h)
        V_cache = np.concatenate([V_cache, v])  # (n_cached + 1, n_kv·h_v)
        positions = np.append(positions, t)
        if w is not None and len(positions) > w:  # sliding window: forget the oldest token
            K_cache, V_cache, K_seen, positions = K_cache[-w:], V_cache[-w:], K_seen[-w:], positions[-w:]
        heads = attend_heads(
            q,
            K_cache,
            V_cache,
            kv_heads,
            step_options,  # ALiBi at the true positions
            q_positions=np.array([t]),
            k_positions=positions,
            Q_unrotated=q_raw if rotated else None,
            K_unrotated=K_seen if rotated else None,
        )
        concat, W_o_checked, out = combine_heads(heads, W_o)  # (1, n_heads·h_v), (1, d_out)
        trace = MultiHeadTrace(
            heads=heads,
            Q=q_raw,
            K=K_seen,
            V=V_cache,
            concat=concat,
            W_o=W_o_checked,
            output=out,
            kv_heads=kv_heads if n_kv_heads is not None else (),
            Q_rotated=q if rotated else None,
            K_rotated=K_cache if rotated else None,
            alibi_slopes=slopes,
            options=step_options,
        )
        steps.append(
            DecodeStep(
                position=t,
                cached_positions=positions,
                K_cache=K_cache,
                V_cache=V_cache,
                attention=trace,
                output=out,
                cache_bytes=int(K_cache.nbytes + V_cache.nbytes),
            )
        )
    d_out = W_v.shape[1] // n_kv * n_heads if W_o is None else as_matrix("W_o", W_o).shape[1]
    output = np.concatenate([st.output for st in steps]) if steps else np.zeros((0, d_out))  # (n, d_out)
    return KVCacheTrace(
        steps=tuple(steps),
        output=output,
        n_heads=int(n_heads),
        n_kv_heads=n_kv,
        bytes_per_token=kv_cache_bytes_per_token(n_kv, h, h_v),
    )

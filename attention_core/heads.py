"""Heads: how one layer splits into heads, which key/value head each reads, and how their
outputs are put back together.

Q (n_q, n_heads·h) holds every query head side by side, K (n_k, n_kv·h) and V (n_k, n_kv·h_v)
every key/value head; query head i reads key/value head ``kv_heads[i]``::

    head_i = kernel.attend(Q[:, i·h:(i+1)·h], K[:, g·h:(g+1)·h], V[:, g·h_v:(g+1)·h_v], options)
    concat = [head_0 | head_1 | … ]                       (n_q, n_heads·h_v)
    output = concat W_O                                   (n_q, d_out), or concat without W_O

Multi-head attention is ``kv_heads = (0, 1, …)``; grouped-query attention shares one
key/value head among ``n_heads / n_kv`` query heads (:func:`kv_head_of`).
"""

from __future__ import annotations

import numpy as np

from .alibi import alibi_bias, alibi_slopes
from .checks import as_matrix, check_count, project
from .errors import ValidationError
from .kernel import attend
from .options import AttentionOptions
from .trace import AttentionTrace


def kv_head_of(n_heads: int, n_kv_heads: int) -> tuple[int, ...]:
    """For each query head, the key/value head it reads: ``i // (n_heads / n_kv_heads)``."""
    check_count("n_heads", n_heads)
    check_count("n_kv_heads", n_kv_heads)
    if n_heads % n_kv_heads:
        raise ValidationError(f"n_kv_heads = {n_kv_heads} must divide n_heads = {n_heads}")
    group = n_heads // n_kv_heads
    return tuple(i // group for i in range(n_heads))


def head_layout(
    W_q: np.ndarray, W_k: np.ndarray, W_v: np.ndarray, n_heads: int, n_kv_heads: int | None
) -> tuple[int, ...]:
    """Check the projections' widths and return, per query head, the key/value head it reads.

    W_q (d_model, n_heads·h); W_k (d_model, n_kv·h) and W_v (d_model, n_kv·h_v) with
    n_kv = n_heads when ``n_kv_heads`` is None (plain multi-head: head i reads block i).
    """
    check_count("n_heads", n_heads)
    d_k = W_q.shape[1]
    if n_kv_heads is None:
        if W_k.shape != W_q.shape:
            raise ValidationError(f"W_q {W_q.shape} and W_k {W_k.shape} must have the same shape")
        if d_k % n_heads or W_v.shape[1] % n_heads:
            raise ValidationError(f"n_heads = {n_heads} must divide d_k = {d_k} and d_v = {W_v.shape[1]}")
        return tuple(range(n_heads))
    kv_heads, n_kv = kv_head_of(n_heads, n_kv_heads), int(n_kv_heads)
    if d_k % n_heads or W_v.shape[1] % n_kv:
        raise ValidationError(
            f"n_heads = {n_heads} must divide d_k = {d_k} and n_kv_heads = {n_kv} "
            f"the {W_v.shape[1]} columns of W_v"
        )
    if W_k.shape != (W_q.shape[0], n_kv * (d_k // n_heads)):
        raise ValidationError(
            f"W_k has shape {W_k.shape}; with {n_kv} key/value heads of {d_k // n_heads} features it "
            f"must be ({W_q.shape[0]}, {n_kv * (d_k // n_heads)})"
        )
    return kv_heads


def attend_heads(
    Q: np.ndarray,
    K: np.ndarray,
    V: np.ndarray,
    kv_heads: tuple[int, ...],
    options: AttentionOptions,
    *,
    mask: np.ndarray | None = None,
    q_positions: np.ndarray | None = None,
    k_positions: np.ndarray | None = None,
    Q_unrotated: np.ndarray | None = None,
    K_unrotated: np.ndarray | None = None,
    projections: dict[str, np.ndarray] | None = None,
) -> tuple[AttentionTrace, ...]:
    """Every query head through :func:`.kernel.attend`; query head i reads key/value head ``kv_heads[i]``.

    The options resolve here, once per layer: the mask (causal, window, AND ``mask`` given
    outright) and, with ``alibi``, each head's bias −slope_h·|i − j| at ``q_positions`` and
    ``k_positions`` (0 … n − 1 unless given: a KV cache passes the true ones). ``Q_unrotated``
    and ``K_unrotated`` (shaped as Q and K) are the projections before RoPE, recorded per head.
    ``projections`` holds x_q, x_kv, W_q, W_k, W_v to record (the W's sliced per head).
    """
    n_heads = len(kv_heads)
    n_q, n_k = Q.shape[0], K.shape[0]
    h = Q.shape[1] // n_heads  # query/key width per head
    n_kv = max(kv_heads) + 1 if kv_heads else 1
    hv = V.shape[1] // n_kv  # value width per head
    m = options.mask_for(n_q, n_k, mask)  # (n_q, n_k) or None, shared by every head
    bias = (
        alibi_bias(alibi_slopes(n_heads), n_q, n_k, q_positions=q_positions, k_positions=k_positions)
        if options.alibi
        else None
    )  # (n_heads, n_q, n_k)
    heads = []
    for i, g in enumerate(kv_heads):
        qs, ks, vs = slice(i * h, (i + 1) * h), slice(g * h, (g + 1) * h), slice(g * hv, (g + 1) * hv)
        extra: dict[str, np.ndarray] = {}
        if projections is not None:
            p = projections
            extra.update(
                x_q=p["x_q"], x_kv=p["x_kv"], W_q=p["W_q"][:, qs], W_k=p["W_k"][:, ks], W_v=p["W_v"][:, vs]
            )
        if Q_unrotated is not None and K_unrotated is not None:
            extra.update(Q_unrotated=Q_unrotated[:, qs], K_unrotated=K_unrotated[:, ks])
        heads.append(
            attend(
                Q[:, qs], K[:, ks], V[:, vs], options, mask=m, bias=None if bias is None else bias[i], **extra
            )
        )
    return tuple(heads)


def combine_heads(
    heads: tuple[AttentionTrace, ...], W_o: object
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """(concat, W_o, output): the heads' outputs side by side, then ``concat W_o`` (or concat)."""
    concat = np.concatenate([t.output for t in heads], axis=1)  # (n_q, n_heads·h_v)
    if W_o is None:
        return concat, None, concat
    W_o = as_matrix("W_o", W_o)
    return concat, W_o, project("W_o", concat, W_o)  # (n_q, d_out)

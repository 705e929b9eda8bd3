"""Tiled attention with the online softmax: FlashAttention's algorithm, step by step.

Exact attention builds the whole (n_q, n_k) score matrix. FlashAttention (Dao et
al., 2022; the loop order of FlashAttention-2) never does: it walks over tiles of
``block_q`` queries × ``block_k`` keys and keeps, for each query row, only three
running quantities — the largest score seen so far ``m``, the sum of
exponentials ``l`` (relative to ``m``) and the unnormalised output ``acc``. For
the tile of query rows r and key columns c::

    S        = scale · Q[r] K[c]ᵀ + bias[r, c], -inf where masked      (b_q, b_k)
    tile_max = max_j S                                                (b_q,)
    m_new    = max(m, tile_max)                                       (b_q,)
    α        = exp(m − m_new)          rescales what was summed so far (b_q,)
    P        = exp(S − m_new)                                         (b_q, b_k)
    l        = α · l + Σ_j P                                          (b_q,)
    acc      = α · acc + P V[c]                                       (b_q, d_v)
    partial_output = acc / l     the output if these were all the keys (b_q, d_v)

After the last tile of a row block ``output = acc / l`` equals softmax(S) V
exactly (up to rounding): rescaling by α is what lets a softmax be computed in
pieces. A tile the mask forbids entirely (above the diagonal under a causal
mask) is skipped: about half the tiles for causal attention. The weights are
never stored during the pass; like FlashAttention's backward pass we recompute
them per tile from the final ``m`` and ``l``: ``weights = exp(S − m) / l``.

This module *is* a second way of computing a softmax — the point of the page —
and the tests hold it to :func:`attention_core.attention.softmax` within 1e-12.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .checks import as_matrix, check_bias, check_count, check_flag
from .errors import ValidationError
from .options import AttentionOptions


@dataclass(frozen=True)
class TileStep:
    """One tile of the pass: which queries and keys, and the running state after it."""

    q_block: int  # index of the query block (rows q_start:q_stop)
    k_block: int  # index of the key block (columns k_start:k_stop)
    q_start: int
    q_stop: int
    k_start: int
    k_stop: int
    skipped: bool  # every (query, key) pair of the tile is masked: nothing computed
    scores: np.ndarray | None  # (b_q, b_k) S of the tile (scaled, biased, -inf where masked); None if skipped
    tile_max: np.ndarray | None  # (b_q,) row maxima of S; None if skipped
    running_max: np.ndarray  # (b_q,) m after this tile (-inf while a row has seen no key)
    running_sum: np.ndarray  # (b_q,) l after this tile
    partial_output: np.ndarray  # (b_q, d_v) acc / l after this tile (0 while l = 0)


@dataclass(frozen=True)
class TiledTrace:
    """The whole tiled pass: every tile's step, and the result."""

    Q: np.ndarray  # (n_q, d_k)
    K: np.ndarray  # (n_k, d_k)
    V: np.ndarray  # (n_k, d_v)
    scale: float
    mask: np.ndarray | None  # (n_q, n_k) bool, True = may attend
    block_q: int
    block_k: int
    steps: tuple[TileStep, ...]  # in the order computed: query blocks outer, key blocks inner
    running_max: np.ndarray  # (n_q,) final m = the row maxima of the masked scores
    running_sum: np.ndarray  # (n_q,) final l = Σ_j exp(S_ij − m_i)
    weights: np.ndarray  # (n_q, n_k) exp(S − m) / l, recomputed tile by tile (0 in skipped tiles)
    output: np.ndarray  # (n_q, d_v) acc / l

    @property
    def n_tiles(self) -> int:
        return len(self.steps)

    @property
    def n_skipped(self) -> int:
        return sum(st.skipped for st in self.steps)


def tiled_attention(
    Q: np.ndarray,
    K: np.ndarray,
    V: np.ndarray,
    *,
    block_q: int = 16,
    block_k: int = 16,
    scale: float | None = None,
    mask: np.ndarray | None = None,
    causal: bool = False,
    bias: np.ndarray | None = None,
) -> TiledTrace:
    """softmax(scale · Q Kᵀ + bias, masked) V computed tile by tile with the online softmax.

    Q (n_q, d_k), K (n_k, d_k), V (n_k, d_v); ``mask`` boolean (n_q, n_k), ANDed with the
    causal mask when ``causal``; ``bias`` (n_q, n_k) as in
    :func:`attention_core.attention.scaled_dot_product_attention`. Scores that overflow
    float64 are refused (the exact path rescales them; this one teaches the tiling).
    """
    Q, K, V = as_matrix("Q", Q), as_matrix("K", K), as_matrix("V", V)
    if Q.shape[1] != K.shape[1] or K.shape[0] != V.shape[0]:
        raise ValidationError(
            f"Q {Q.shape}, K {K.shape}, V {V.shape}: need Q, K of equal width, K, V of equal rows"
        )
    bq, bk = check_count("block_q", block_q), check_count("block_k", block_k)
    n_q, n_k, d_v = Q.shape[0], K.shape[0], V.shape[1]
    # The same options object as the exact path; the online softmax is softmax's own algorithm.
    options = AttentionOptions(scale=scale, causal=check_flag("causal", causal))
    s = options.scale_for(Q.shape[1])
    m = options.mask_for(n_q, n_k, mask)  # (n_q, n_k): the given mask AND the causal one
    b = check_bias(bias, n_q, n_k)

    steps: list[TileStep] = []
    row_max, row_sum = np.full(n_q, -np.inf), np.zeros(n_q)  # (n_q,) final m and l
    weights, output = np.zeros((n_q, n_k)), np.zeros((n_q, d_v))
    for qb in range(math.ceil(n_q / bq)):
        r = slice(qb * bq, min(n_q, (qb + 1) * bq))
        rows = r.stop - r.start
        m_run = np.full(rows, -np.inf)  # (b_q,) running max
        l_run = np.zeros(rows)  # (b_q,) running sum
        acc = np.zeros((rows, d_v))  # (b_q, d_v) unnormalised output
        tiles: list[tuple[slice, np.ndarray]] = []  # computed tiles' scores, for the weights
        for kb in range(math.ceil(n_k / bk)):
            c = slice(kb * bk, min(n_k, (kb + 1) * bk))
            allowed = None if m is None else m[r, c]  # (b_q, b_k)
            if allowed is not None and not allowed.any():  # the whole tile is masked: skip it
                steps.append(
                    TileStep(
                        qb,
                        kb,
                        r.start,
                        r.stop,
                        c.start,
                        c.stop,
                        True,
                        None,
                        None,
                        m_run.copy(),
                        l_run.copy(),
                        _normalise(acc, l_run),
                    )
                )
                continue
            with np.errstate(over="ignore", invalid="ignore"):
                S = s * (Q[r] @ K[c].T)  # (b_q, b_k)
            if b is not None:
                S = S + b[r, c]  # (b_q, b_k)
            if not np.all(np.isfinite(S)):
                raise ValidationError("a score overflows float64; tiled attention needs finite scores")
            if allowed is not None:
                S = np.where(allowed, S, -np.inf)  # (b_q, b_k)
            tile_max = S.max(axis=1)  # (b_q,)
            m_new = np.maximum(m_run, tile_max)  # (b_q,)
            shift = np.where(np.isfinite(m_new), m_new, 0.0)  # (b_q,) a row with no key yet: shift 0
            alpha = np.exp(m_run - shift)  # (b_q,) 0 while the row had seen nothing
            P = np.exp(S - shift[:, None])  # (b_q, b_k), 0 where masked
            l_run = alpha * l_run + P.sum(axis=1)  # (b_q,)
            acc = alpha[:, None] * acc + P @ V[c]  # (b_q, d_v)
            m_run = m_new
            tiles.append((c, S))
            steps.append(
                TileStep(
                    qb,
                    kb,
                    r.start,
                    r.stop,
                    c.start,
                    c.stop,
                    False,
                    S,
                    tile_max,
                    m_run.copy(),
                    l_run.copy(),
                    _normalise(acc, l_run),
                )
            )
        row_max[r], row_sum[r] = m_run, l_run
        output[r] = _normalise(acc, l_run)  # (b_q, d_v)
        shift = np.where(np.isfinite(m_run), m_run, 0.0)[:, None]  # (b_q, 1)
        denom = np.where(l_run > 0, l_run, 1.0)[:, None]  # (b_q, 1) a fully masked row stays 0
        for c, S in tiles:  # the backward pass's recomputation: weights from the final m and l
            weights[r, c] = np.exp(S - shift) / denom  # (b_q, b_k)
    return TiledTrace(
        Q=Q,
        K=K,
        V=V,
        scale=s,
        mask=m,
        block_q=bq,
        block_k=bk,
        steps=tuple(steps),
        running_max=row_max,
        running_sum=row_sum,
        weights=weights,
        output=output,
    )


def _normalise(acc: np.ndarray, l: np.ndarray) -> np.ndarray:
    """(b_q, d_v) acc / l, with 0 for a row that has seen no key (l = 0)."""
    return acc / np.where(l > 0, l, 1.0)[:, None]


@dataclass(frozen=True)
class TiledState:
    """The whole picture after step t, for drawing: NaN where a row or tile is not reached yet."""

    step: int
    running_max: np.ndarray  # (n_q,) m per query row
    running_sum: np.ndarray  # (n_q,) l per query row
    partial_output: np.ndarray  # (n_q, d_v) acc / l per query row
    weights_so_far: np.ndarray  # (n_q, n_k) exp(S − m) / l with the current m, l; NaN where not computed
    tile_status: np.ndarray  # (n_q_blocks, n_k_blocks) 0 pending, 1 computed, 2 skipped, 3 this step


def state_after(trace: TiledTrace, step: int) -> TiledState:
    """The state after ``trace.steps[step]`` as full-size arrays (rows not reached are NaN)."""
    check_count("step", step, lo=0)
    if not 0 <= step < trace.n_tiles:
        raise ValidationError(f"step must be between 0 and {trace.n_tiles - 1}, got {step}")
    n_q, n_k, d_v = trace.Q.shape[0], trace.K.shape[0], trace.V.shape[1]
    m, l = np.full(n_q, np.nan), np.full(n_q, np.nan)  # (n_q,)
    out = np.full((n_q, d_v), np.nan)  # (n_q, d_v)
    weights = np.full((n_q, n_k), np.nan)  # (n_q, n_k)
    status = np.zeros((math.ceil(n_q / trace.block_q), math.ceil(n_k / trace.block_k)), dtype=np.int8)
    for st in trace.steps[: step + 1]:
        r = slice(st.q_start, st.q_stop)
        m[r], l[r], out[r] = st.running_max, st.running_sum, st.partial_output
        status[st.q_block, st.k_block] = 2 if st.skipped else 1
        if st.skipped:
            weights[r, st.k_start : st.k_stop] = 0.0
    status[trace.steps[step].q_block, trace.steps[step].k_block] = 3
    # Weights of every computed tile, normalised with its row block's state *now*: they
    # settle on the final weights once the row block's last tile is done.
    for st in trace.steps[: step + 1]:
        if st.skipped:
            continue
        r = slice(st.q_start, st.q_stop)
        shift = np.where(np.isfinite(m[r]), m[r], 0.0)[:, None]  # (b_q, 1)
        denom = np.where(l[r] > 0, l[r], 1.0)[:, None]  # (b_q, 1)
        weights[r, st.k_start : st.k_stop] = np.exp(st.scores - shift) / denom  # (b_q, b_k)
    return TiledState(
        step=step,
        running_max=m,
        running_sum=l,
        partial_output=out,
        weights_so_far=weights,
        tile_status=status,
    )

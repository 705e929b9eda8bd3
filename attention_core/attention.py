"""Scaled dot-product attention, written out step by step.

The whole mechanism, for queries ``Q`` (n_q, d_k), keys ``K`` (n_k, d_k) and
values ``V`` (n_k, d_v)::

    scores        = Q Kᵀ                                   (n_q, n_k)
    scaled_scores = scale · scores     scale = 1/√d_k by default
    biased_scores = scaled_scores + position_bias          (only with a bias, e.g. ALiBi)
    masked_scores = biased_scores, with -inf where the mask forbids
    weights       = softmax(masked_scores) along each row  (n_q, n_k)
    output        = weights V                               (n_q, d_v)

Every function here returns all of those intermediates (see :mod:`.trace`), so
the UI draws them and never recomputes them. We use the row-vector convention of
the R and NumPy seed tutorials: a token is a row, ``Q = X @ W_q`` with ``W_q`` of
shape (d_model, d_k). The PyTorch seed writes ``q = W x`` with ``W`` of shape
(d_k, d_model); :func:`from_column_convention` converts.

Variants are options of this one mechanism, not forks of it: a position bias
(ALiBi) is one additive ``position_bias`` term, a sliding window is one more
mask, RoPE rotates Q and K before the scores, and grouped-query attention only
changes which key/value block a head reads (:func:`_attend_heads`).
"""

from __future__ import annotations

import math

import numpy as np

from .alibi import alibi_bias, alibi_slopes
from .errors import ValidationError
from .rope import rope_heads
from .trace import AttentionTrace, MultiHeadTrace
from .window import sliding_window_mask


# --------------------------------------------------------------------------- checks
def _as_matrix(name: str, a: object) -> np.ndarray:
    """``a`` as a finite float64 matrix, or a ValidationError naming ``name``."""
    try:
        m = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{name} must be a matrix of numbers ({exc})") from None
    if m.ndim != 2:
        raise ValidationError(f"{name} must be 2-D, got shape {m.shape}")
    if not np.all(np.isfinite(m)):
        bad = np.argwhere(~np.isfinite(m))[0]
        raise ValidationError(
            f"{name} has a non-finite value ({m[tuple(bad)]}) at row {bad[0]}, column {bad[1]}"
        )
    return m


def _check_scale(scale: float | None, d_k: int) -> float:
    """The scale in force: ``1/sqrt(d_k)`` when ``scale`` is None."""
    if scale is None:
        if d_k == 0:
            raise ValidationError("d_k is 0: there is no default scale 1/sqrt(d_k)")
        return 1.0 / math.sqrt(d_k)
    try:
        s = float(scale)
    except (TypeError, ValueError):
        raise ValidationError(f"scale must be a number, got {scale!r}") from None
    if not math.isfinite(s):
        raise ValidationError(f"scale must be finite, got {s}")
    return s


def _check_mask(mask: object, n_q: int, n_k: int) -> np.ndarray | None:
    if mask is None:
        return None
    m = np.asarray(mask)
    if m.dtype != np.bool_:
        raise ValidationError(f"mask must be boolean (True = may attend), got dtype {m.dtype}")
    if m.shape != (n_q, n_k):
        raise ValidationError(f"mask has shape {m.shape}, but scores have shape ({n_q}, {n_k})")
    return m


# --------------------------------------------------------------------------- softmax
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


def _stable_logits(
    Q: np.ndarray, K: np.ndarray, scale: float, mask: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """``scale · Q Kᵀ`` as (scores, logits): logits are safe to feed to softmax.

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
    return (np.where(finite_rows, scores, big_scores),
            np.where(finite_rows, np.where(allowed, logits, -np.inf), rescaled))


# --------------------------------------------------------------------------- attention
def causal_mask(n: int, n_k: int | None = None) -> np.ndarray:
    """(n, n_k) boolean mask, True on and below the diagonal: query i sees keys 0..i.

    With ``n_k`` different from ``n`` the diagonal starts at the top-left
    corner, as ``torch``'s ``is_causal`` does.
    """
    n_k = n if n_k is None else n_k
    if n < 0 or n_k < 0:
        raise ValidationError(f"causal_mask needs non-negative sizes, got ({n}, {n_k})")
    return np.tri(n, n_k, dtype=bool)  # one boolean allocation, no float temporary


def scaled_dot_product_attention(
    Q: np.ndarray,
    K: np.ndarray,
    V: np.ndarray,
    *,
    scale: float | None = None,
    mask: np.ndarray | None = None,
    bias: np.ndarray | None = None,
) -> AttentionTrace:
    """softmax(scale · Q Kᵀ + bias, masked) V, returning every intermediate.

    Q (n_q, d_k), K (n_k, d_k), V (n_k, d_v); ``scale=None`` means 1/√d_k;
    ``mask`` is boolean (n_q, n_k), True = may attend; ``bias`` (n_q, n_k) is an
    optional additive position bias (ALiBi: :func:`attention_core.alibi.alibi_bias`),
    added to the scaled scores before the mask. A query row whose keys are all
    masked gets zero weights and a zero output, flagged in ``fully_masked_rows``.
    """
    Q, K, V = _as_matrix("Q", Q), _as_matrix("K", K), _as_matrix("V", V)
    if Q.shape[1] != K.shape[1]:
        raise ValidationError(f"Q {Q.shape} and K {K.shape} must have the same number of columns (d_k)")
    if K.shape[0] != V.shape[0]:
        raise ValidationError(f"K {K.shape} and V {V.shape} must have the same number of rows (n_k)")
    n_q, n_k = Q.shape[0], K.shape[0]
    return _attend(Q, K, V, _check_scale(scale, Q.shape[1]), _check_mask(mask, n_q, n_k),
                   bias=_check_bias(bias, n_q, n_k))


def _check_bias(bias: object, n_q: int, n_k: int) -> np.ndarray | None:
    """An additive score bias as a finite float64 (n_q, n_k) matrix, or None."""
    if bias is None:
        return None
    b = _as_matrix("bias", bias)
    if b.shape != (n_q, n_k):
        raise ValidationError(f"bias has shape {b.shape}, but scores have shape ({n_q}, {n_k})")
    return b


def _attend(
    Q: np.ndarray,
    K: np.ndarray,
    V: np.ndarray,
    s: float,
    m: np.ndarray | None,
    *,
    bias: np.ndarray | None = None,
    **inputs: np.ndarray,
) -> AttentionTrace:
    """The mechanism itself, on inputs already checked; ``inputs`` are recorded in the trace.

    ``bias`` (n_q, n_k) is added to the scaled scores before masking (ALiBi's
    ``-slope · |i − j|``); without it ``biased_scores`` is ``scaled_scores`` itself (no copy).
    """
    n_q, n_k = Q.shape[0], K.shape[0]
    with np.errstate(over="ignore", invalid="ignore"):
        scores = Q @ K.T  # (n_q, n_k)
        scaled_scores = s * scores  # (n_q, n_k)
        biased_scores = scaled_scores if bias is None else scaled_scores + bias  # (n_q, n_k)
    if m is not None:
        masked_scores = np.where(m, biased_scores, -np.inf)  # (n_q, n_k)
        fully_masked = ~m.any(axis=-1)  # (n_q,) no key to attend to
    else:
        masked_scores = biased_scores  # the same array: no mask, no copy
        fully_masked = np.full(n_q, n_k == 0)
    logits = masked_scores
    # min and max are finite only if every entry is (NaN propagates): no n² temporary.
    if biased_scores.size and not (np.isfinite(biased_scores.min()) and np.isfinite(biased_scores.max())):
        scores, logits = _stable_logits(Q, K, s, m)  # the product overflowed float64: rescale (rare)
        with np.errstate(over="ignore", invalid="ignore"):
            scaled_scores = s * scores  # ±inf where the true value exceeds float64
            biased_scores = scaled_scores if bias is None else scaled_scores + bias
        if bias is not None:  # the logits are the true ones shifted per row: the bias adds as usual
            logits = logits + bias  # (n_q, n_k); -inf (masked) stays -inf
        masked_scores = biased_scores if m is None else np.where(m, biased_scores, -np.inf)
    weights = softmax(logits, axis=-1)  # (n_q, n_k), rows sum to 1 (0 if fully masked)
    output = weights @ V  # (n_q, d_v)
    return AttentionTrace(
        Q=Q, K=K, V=V, scale=s, mask=m,
        scores=scores, scaled_scores=scaled_scores, masked_scores=masked_scores,
        weights=weights, output=output, fully_masked_rows=fully_masked,
        position_bias=bias, biased_scores=biased_scores, **inputs,
    )


def _attend_heads(
    Q: np.ndarray,
    K: np.ndarray,
    V: np.ndarray,
    kv_heads: tuple[int, ...],
    s: float,
    m: np.ndarray | None,
    *,
    bias: np.ndarray | None = None,
    Q_unrotated: np.ndarray | None = None,
    K_unrotated: np.ndarray | None = None,
    projections: dict[str, np.ndarray] | None = None,
) -> tuple[AttentionTrace, ...]:
    """Every query head through :func:`_attend`; query head i reads key/value head ``g = kv_heads[i]``::

        head_i = attend(Q[:, i·h:(i+1)·h], K[:, g·h:(g+1)·h], V[:, g·h_v:(g+1)·h_v])

    Q (n_q, n_heads·h), K (n_k, n_kv·h), V (n_k, n_kv·h_v); ``bias`` (n_heads, n_q, n_k) is
    one additive bias per head. ``Q_unrotated`` and ``K_unrotated`` (shaped as Q and K) are
    the projections before RoPE, recorded per head. ``projections`` holds x_q, x_kv, W_q, W_k,
    W_v to record (the W's sliced per head). Multi-head attention is ``kv_heads = (0, 1, …)``;
    grouped-query attention shares one key/value head among ``n_heads / n_kv`` query heads.
    """
    n_heads = len(kv_heads)
    h = Q.shape[1] // n_heads  # query/key width per head
    n_kv = max(kv_heads) + 1 if kv_heads else 1
    hv = V.shape[1] // n_kv  # value width per head
    heads = []
    for i, g in enumerate(kv_heads):
        qs, ks, vs = slice(i * h, (i + 1) * h), slice(g * h, (g + 1) * h), slice(g * hv, (g + 1) * hv)
        extra: dict[str, np.ndarray] = {}
        if projections is not None:
            p = projections
            extra.update(x_q=p["x_q"], x_kv=p["x_kv"], W_q=p["W_q"][:, qs], W_k=p["W_k"][:, ks], W_v=p["W_v"][:, vs])
        if Q_unrotated is not None and K_unrotated is not None:
            extra.update(Q_unrotated=Q_unrotated[:, qs], K_unrotated=K_unrotated[:, ks])
        heads.append(_attend(Q[:, qs], K[:, ks], V[:, vs], s, m, bias=None if bias is None else bias[i], **extra))
    return tuple(heads)


def _project(name: str, x: np.ndarray, W: np.ndarray) -> np.ndarray:
    if x.shape[1] != W.shape[0]:
        raise ValidationError(
            f"cannot project: input {x.shape} has {x.shape[1]} columns but {name} {W.shape} has {W.shape[0]} rows"
        )
    return x @ W


def _bias(name: str, b: np.ndarray | None, width: int) -> np.ndarray | float:
    """A bias vector of length ``width`` (broadcast over rows), or 0 when there is none."""
    if b is None:
        return 0.0
    v = _as_matrix(name, np.reshape(np.asarray(b, dtype=np.float64), (1, -1)))[0]
    if v.shape != (width,):
        raise ValidationError(f"{name} has {v.shape[0]} entries; it must have {width}")
    return v


def cross_attention(
    x_q: np.ndarray,
    x_kv: np.ndarray,
    W_q: np.ndarray,
    W_k: np.ndarray,
    W_v: np.ndarray,
    *,
    scale: float | None = None,
    mask: np.ndarray | None = None,
) -> AttentionTrace:
    """Queries from ``x_q``, keys and values from ``x_kv``::

        Q = x_q W_q    (n_q, d_k)
        K = x_kv W_k   (n_k, d_k)
        V = x_kv W_v   (n_k, d_v)

    then :func:`scaled_dot_product_attention`. x_q (n_q, d_model),
    x_kv (n_k, d_model), W_q and W_k (d_model, d_k), W_v (d_model, d_v).
    """
    x_q, x_kv = _as_matrix("x_q", x_q), _as_matrix("x_kv", x_kv)
    W_q, W_k, W_v = _as_matrix("W_q", W_q), _as_matrix("W_k", W_k), _as_matrix("W_v", W_v)
    Q = _project("W_q", x_q, W_q)  # (n_q, d_k)
    K = _project("W_k", x_kv, W_k)  # (n_k, d_k)
    V = _project("W_v", x_kv, W_v)  # (n_k, d_v)
    if Q.shape[1] != K.shape[1]:
        raise ValidationError(f"Q {Q.shape} and K {K.shape} must have the same number of columns (d_k)")
    return _attend(Q, K, V, _check_scale(scale, Q.shape[1]), _check_mask(mask, Q.shape[0], K.shape[0]),
                   x_q=x_q, x_kv=x_kv, W_q=W_q, W_k=W_k, W_v=W_v)


def self_attention(
    X: np.ndarray,
    W_q: np.ndarray,
    W_k: np.ndarray,
    W_v: np.ndarray,
    *,
    scale: float | None = None,
    mask: np.ndarray | None = None,
) -> AttentionTrace:
    """Self-attention: queries, keys and values all from X (n, d_model).

    ``Q = X W_q``, ``K = X W_k``, ``V = X W_v``; see :func:`cross_attention`.
    """
    return cross_attention(X, X, W_q, W_k, W_v, scale=scale, mask=mask)


def from_column_convention(W: np.ndarray) -> np.ndarray:
    """Convert a weight written for ``q = W x`` (d_out, d_model) to ``Q = X W`` (d_model, d_out).

    The PyTorch seed (and ``nn.Linear.weight``) stores ``W`` as (d_out, d_in) and
    multiplies column vectors; our row convention needs its transpose. Example::

        W_query = TorchGenerator(123)...rand(24, 16)   # (d_q, d) as in the notebook
        self_attention(X, from_column_convention(W_query), ...)
    """
    return _as_matrix("W", W).T.copy()


def _head_layout(
    W_q: np.ndarray, W_k: np.ndarray, W_v: np.ndarray, n_heads: int, n_kv_heads: int | None
) -> tuple[int, ...]:
    """Check the projections' widths and return, per query head, the key/value head it reads.

    W_q (d_model, n_heads·h); W_k (d_model, n_kv·h) and W_v (d_model, n_kv·h_v) with
    n_kv = n_heads when ``n_kv_heads`` is None (plain multi-head: head i reads block i).
    """
    if isinstance(n_heads, bool) or not isinstance(n_heads, (int, np.integer)) or n_heads < 1:
        raise ValidationError(f"n_heads must be a positive integer, got {n_heads!r}")
    d_k = W_q.shape[1]
    if n_kv_heads is None:
        if W_k.shape != W_q.shape:
            raise ValidationError(f"W_q {W_q.shape} and W_k {W_k.shape} must have the same shape")
        if d_k % n_heads or W_v.shape[1] % n_heads:
            raise ValidationError(
                f"n_heads = {n_heads} must divide d_k = {d_k} and d_v = {W_v.shape[1]}"
            )
        return tuple(range(n_heads))
    from .gqa import kv_head_of  # gqa imports this module: imported here to avoid the cycle

    kv_heads, n_kv = kv_head_of(n_heads, n_kv_heads), int(n_kv_heads)
    if d_k % n_heads or W_v.shape[1] % n_kv:
        raise ValidationError(
            f"n_heads = {n_heads} must divide d_k = {d_k} and n_kv_heads = {n_kv} the {W_v.shape[1]} columns of W_v"
        )
    if W_k.shape != (W_q.shape[0], n_kv * (d_k // n_heads)):
        raise ValidationError(
            f"W_k has shape {W_k.shape}; with {n_kv} key/value heads of {d_k // n_heads} features it "
            f"must be ({W_q.shape[0]}, {n_kv * (d_k // n_heads)})"
        )
    return kv_heads


def _combine_heads(heads: tuple[AttentionTrace, ...], W_o: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """(concat, W_o, output): the heads' outputs side by side, then ``concat W_o`` (or concat)."""
    concat = np.concatenate([t.output for t in heads], axis=1)  # (n_q, n_heads·h_v)
    if W_o is None:
        return concat, None, concat
    W_o = _as_matrix("W_o", W_o)
    return concat, W_o, _project("W_o", concat, W_o)  # (n_q, d_out)


def multi_head_attention(
    x_q: np.ndarray,
    x_kv: np.ndarray,
    W_q: np.ndarray,
    W_k: np.ndarray,
    W_v: np.ndarray,
    W_o: np.ndarray | None,
    n_heads: int,
    *,
    causal: bool = False,
    scale: float | None = None,
    b_q: np.ndarray | None = None,
    b_k: np.ndarray | None = None,
    b_v: np.ndarray | None = None,
    n_kv_heads: int | None = None,
    rope_base: float | None = None,
    alibi: bool = False,
    window: int | None = None,
) -> MultiHeadTrace:
    """Multi-head attention with per-head traces::

        Q = x_q W_q, K = x_kv W_k, V = x_kv W_v          (n, d_k) (n, d_k) (n, d_v)
        head_h = attention(Q[:, block h], K[:, block h], V[:, block h])
        concat = [head_0 | head_1 | … ]                    (n_q, d_v)
        output = concat W_o                                 (n_q, d_out)

    Block h is columns ``h·d/n_heads … (h+1)·d/n_heads`` (contiguous, as in
    ``torch.nn.MultiheadAttention``: with ``bias=False, batch_first=True`` and
    ``W_q = in_proj_weight[:E].T`` etc., ``W_o = out_proj.weight.T`` the output
    is the same). ``scale=None`` means 1/√(d_k / n_heads) per head.
    ``W_o=None`` leaves the concatenation as the output. Optional biases
    ``b_q``, ``b_k`` (d_k,) and ``b_v`` (d_v,) are added after the projections
    (``Q = x_q W_q + b_q``), as in a pretrained BERT layer.

    Variants, all off by default (then the result is today's, bit for bit):

    * ``n_kv_heads``: grouped-query attention (multi-query for 1). W_k and W_v then
      have ``n_kv_heads · h`` and ``n_kv_heads · h_v`` columns (h = d_k / n_heads,
      h_v = d_v / n_heads, d_k and d_v being W_q's and the concat's widths); query
      head i reads key/value head ``i // (n_heads / n_kv_heads)``
      (:mod:`.gqa`); ``b_k``, ``b_v`` have K's and V's widths.
    * ``rope_base``: RoPE (:mod:`.rope`) rotates each head's block of Q and K after
      the projections (and biases), at positions 0 … n_q − 1 and 0 … n_k − 1.
      The trace keeps ``Q``/``K`` unrotated and adds ``Q_rotated``/``K_rotated``;
      each head's ``Q``/``K`` are the rotated blocks, with ``Q_unrotated``/``K_unrotated``.
    * ``alibi``: ALiBi (:mod:`.alibi`) adds ``-slope_h · |i − j|`` to head h's scaled
      scores (``heads[h].position_bias``; slopes in ``alibi_slopes``).
    * ``window``: a sliding-window mask (:mod:`.window`), query i sees keys
      ``i − window + 1 … i``; it is ANDed with the causal mask, so it implies ``causal``.
    """
    x_q, x_kv = _as_matrix("x_q", x_q), _as_matrix("x_kv", x_kv)
    W_q, W_k, W_v = _as_matrix("W_q", W_q), _as_matrix("W_k", W_k), _as_matrix("W_v", W_v)
    kv_heads = _head_layout(W_q, W_k, W_v, n_heads, n_kv_heads)
    n_kv, d_k = len(set(kv_heads)), W_q.shape[1]
    hk = d_k // n_heads  # per-head query/key width
    Q = _project("W_q", x_q, W_q) + _bias("b_q", b_q, d_k)  # (n_q, d_k)
    K = _project("W_k", x_kv, W_k) + _bias("b_k", b_k, W_k.shape[1])  # (n_k, n_kv·hk)
    V = _project("W_v", x_kv, W_v) + _bias("b_v", b_v, W_v.shape[1])  # (n_k, n_kv·hv)
    n_q, n_k = x_q.shape[0], x_kv.shape[0]
    if window is not None:
        mask = sliding_window_mask(n_q, window, n_k)  # (n_q, n_k) ⊂ causal mask: the AND is the band
    else:
        mask = causal_mask(n_q, n_k) if causal else None
    s = _check_scale(scale, hk)  # one check for all heads
    Q_rot = K_rot = slopes = bias = None
    if rope_base is not None:
        Q_rot = rope_heads(Q, n_heads, base=rope_base)  # (n_q, d_k) each head's block rotated
        K_rot = rope_heads(K, n_kv, base=rope_base)  # (n_k, n_kv·hk)
    if alibi:
        slopes = alibi_slopes(n_heads)  # (n_heads,)
        bias = alibi_bias(slopes, n_q, n_k)  # (n_heads, n_q, n_k)
    heads = _attend_heads(
        Q if Q_rot is None else Q_rot, K if K_rot is None else K_rot, V, kv_heads, s, mask, bias=bias,
        Q_unrotated=None if Q_rot is None else Q, K_unrotated=None if K_rot is None else K,
        projections={"x_q": x_q, "x_kv": x_kv, "W_q": W_q, "W_k": W_k, "W_v": W_v},
    )
    concat, W_o, output = _combine_heads(heads, W_o)  # (n_q, d_v), (n_q, d_out)
    return MultiHeadTrace(heads=heads, Q=Q, K=K, V=V, concat=concat, W_o=W_o, output=output,
                          kv_heads=() if n_kv_heads is None else kv_heads, Q_rotated=Q_rot, K_rotated=K_rot,
                          alibi_slopes=slopes)


def r_compute_weights(scores: np.ndarray) -> np.ndarray:
    """The R package ``attention``'s ``ComputeWeights(scores)``, quirks included.

    What it really does (package source, R/ComputeWeights.R, the version the
    R vignette calls with one argument)::

        size    = nrow(scores)                  # number of QUERIES, not d_k
        weights = 4 x 4 matrix of zeros         # fixed size, whatever the input
        row i   = softmax((scores[i,] - max(scores[i,])) / sqrt(size))

    So it scales by 1/√n (n = number of query rows) instead of 1/√d_k, and it
    only works for at most 4 query rows of exactly 4 keys: fewer rows leave
    zero rows in the 4 x 4 result; anything else is an R error. We reproduce
    that, raising :class:`ValidationError` where R would stop.
    """
    s = _as_matrix("scores", scores)
    size = s.shape[0]
    if size > 4 or s.shape[1] != 4:
        raise ValidationError(
            f"ComputeWeights only works on scores with at most 4 rows and exactly 4 columns "
            f"(its result is a fixed 4 x 4 matrix); got {s.shape}"
        )
    weights = np.zeros((4, 4))
    if size:
        weights[:size] = softmax((s - s.max(axis=1, keepdims=True)) / math.sqrt(size), axis=-1)
    return weights


def explain_weight(trace: AttentionTrace, i: int, j: int) -> dict[str, object]:
    """The arithmetic behind ``weights[i, j]``, term by term, from the trace.

    ::

        score      = Σ_d Q[i, d] · K[j, d]                 (the terms are listed)
        scaled     = scale · score
        biased     = scaled + position_bias[i, j]           (0 without a position bias)
        exp_row    = exp(masked_scores[i, :] - max)         (the softmax numerators)
        weight     = exp_row[j] / Σ exp_row
        contribution of v_j to output row i = weight · V[j, :]

    Returned as plain numbers and arrays so any front end can print them.
    """
    if not (0 <= i < trace.n_q and 0 <= j < trace.n_k):
        raise ValidationError(f"cell ({i}, {j}) is outside the weights of shape {trace.weights.shape}")
    row = trace.masked_scores[i]  # (n_k,)
    finite = np.isfinite(row)
    shift = row[finite].max() if finite.any() else 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        exp_row = np.where(finite, np.exp(row - shift), 0.0)  # (n_k,) softmax numerators
    return {
        "terms": trace.Q[i] * trace.K[j],  # (d_k,) q_i[d] · k_j[d]
        "score": float(trace.scores[i, j]),
        "scale": trace.scale,
        "scaled_score": float(trace.scaled_scores[i, j]),
        "position_bias": 0.0 if trace.position_bias is None else float(trace.position_bias[i, j]),
        "biased_score": float(trace.biased_scores[i, j]),
        "masked": bool(trace.mask is not None and not trace.mask[i, j]),
        "row_max": float(shift),
        "exp_row": exp_row,
        "exp_sum": float(exp_row.sum()),
        "weight": float(trace.weights[i, j]),
        "value": trace.V[j],  # (d_v,)
        "contribution": trace.weights[i, j] * trace.V[j],  # (d_v,) this key's share of output row i
        "output_row": trace.output[i],  # (d_v,)
    }

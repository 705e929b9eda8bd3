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
changes which key/value block a head reads (:mod:`.heads`). The mechanism of one
head is :func:`.kernel.attend`; its options are one :class:`~.options.AttentionOptions`.
"""

from __future__ import annotations

import math

import numpy as np

from .alibi import alibi_slopes
from .checks import as_matrix, bias_vector, check_bias, check_flag, check_mask, project
from .errors import ValidationError
from .heads import attend_heads, combine_heads, head_layout
from .kernel import attend, explain_weight
from .normalisers.softmax import softmax
from .options import AttentionOptions, causal_mask
from .rope import rope_heads
from .trace import AttentionTrace, MultiHeadTrace

__all__ = [
    "causal_mask",
    "cross_attention",
    "explain_weight",
    "from_column_convention",
    "multi_head_attention",
    "options_from",
    "r_compute_weights",
    "scaled_dot_product_attention",
    "self_attention",
    "softmax",
]


# --------------------------------------------------------------------------- attention
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
    Q, K, V = as_matrix("Q", Q), as_matrix("K", K), as_matrix("V", V)
    if Q.shape[1] != K.shape[1]:
        raise ValidationError(f"Q {Q.shape} and K {K.shape} must have the same number of columns (d_k)")
    if K.shape[0] != V.shape[0]:
        raise ValidationError(f"K {K.shape} and V {V.shape} must have the same number of rows (n_k)")
    n_q, n_k = Q.shape[0], K.shape[0]
    options = AttentionOptions(scale=scale)
    options.scale_for(Q.shape[1])  # refuses d_k = 0 without a scale before anything is computed
    return attend(Q, K, V, options, mask=check_mask(mask, n_q, n_k), bias=check_bias(bias, n_q, n_k))


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
    x_q, x_kv = as_matrix("x_q", x_q), as_matrix("x_kv", x_kv)
    W_q, W_k, W_v = as_matrix("W_q", W_q), as_matrix("W_k", W_k), as_matrix("W_v", W_v)
    Q = project("W_q", x_q, W_q)  # (n_q, d_k)
    K = project("W_k", x_kv, W_k)  # (n_k, d_k)
    V = project("W_v", x_kv, W_v)  # (n_k, d_v)
    if Q.shape[1] != K.shape[1]:
        raise ValidationError(f"Q {Q.shape} and K {K.shape} must have the same number of columns (d_k)")
    options = AttentionOptions(scale=scale)
    options.scale_for(Q.shape[1])  # refuses d_k = 0 without a scale before anything is computed
    return attend(
        Q,
        K,
        V,
        options,
        mask=check_mask(mask, Q.shape[0], K.shape[0]),
        x_q=x_q,
        x_kv=x_kv,
        W_q=W_q,
        W_k=W_k,
        W_v=W_v,
    )


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
    return as_matrix("W", W).T.copy()


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
    options: AttentionOptions | None = None,
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

    ``options``: all of the mechanism's options as one :class:`~.options.AttentionOptions`
    (any option, also one without a keyword here); then ``causal``, ``scale``, ``rope_base``,
    ``alibi`` and ``window`` must stay at their defaults.
    """
    x_q, x_kv = as_matrix("x_q", x_q), as_matrix("x_kv", x_kv)
    W_q, W_k, W_v = as_matrix("W_q", W_q), as_matrix("W_k", W_k), as_matrix("W_v", W_v)
    kv_heads = head_layout(W_q, W_k, W_v, n_heads, n_kv_heads)
    n_kv, d_k = len(set(kv_heads)), W_q.shape[1]
    options = options_from(
        options, scale=scale, causal=causal, window=window, alibi=alibi, rope_base=rope_base
    )
    options.scale_for(d_k // n_heads)  # one check of the scale for all heads
    Q = project("W_q", x_q, W_q) + bias_vector("b_q", b_q, d_k)  # (n_q, d_k)
    K = project("W_k", x_kv, W_k) + bias_vector("b_k", b_k, W_k.shape[1])  # (n_k, n_kv·hk)
    V = project("W_v", x_kv, W_v) + bias_vector("b_v", b_v, W_v.shape[1])  # (n_k, n_kv·hv)
    Q_rot = K_rot = None
    if options.rope_base is not None:
        Q_rot = rope_heads(Q, n_heads, base=options.rope_base)  # (n_q, d_k) each head's block rotated
        K_rot = rope_heads(K, n_kv, base=options.rope_base)  # (n_k, n_kv·hk)
    heads = attend_heads(
        Q if Q_rot is None else Q_rot,
        K if K_rot is None else K_rot,
        V,
        kv_heads,
        options,
        Q_unrotated=None if Q_rot is None else Q,
        K_unrotated=None if K_rot is None else K,
        projections={"x_q": x_q, "x_kv": x_kv, "W_q": W_q, "W_k": W_k, "W_v": W_v},
    )
    concat, W_o, output = combine_heads(heads, W_o)  # (n_q, d_v), (n_q, d_out)
    return MultiHeadTrace(
        heads=heads,
        Q=Q,
        K=K,
        V=V,
        concat=concat,
        W_o=W_o,
        output=output,
        kv_heads=() if n_kv_heads is None else kv_heads,
        Q_rotated=Q_rot,
        K_rotated=K_rot,
        alibi_slopes=alibi_slopes(n_heads) if options.alibi else None,
        options=options,
    )


def options_from(options: AttentionOptions | None, **keywords: object) -> AttentionOptions:
    """``options`` when given (the keywords must then be at their defaults), else the keywords as options."""
    defaults = AttentionOptions()
    if options is None:
        if "causal" in keywords:
            check_flag("causal", keywords["causal"])
        return AttentionOptions(**keywords)  # type: ignore[arg-type]
    if not isinstance(options, AttentionOptions):
        raise ValidationError(f"options must be an AttentionOptions, got {type(options).__name__}")
    clash = [k for k, v in keywords.items() if v != getattr(defaults, k)]
    if clash:
        raise ValidationError(f"give {', '.join(clash)} inside options, not beside it")
    return options


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
    s = as_matrix("scores", scores)
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

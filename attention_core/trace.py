"""Result types: every intermediate of an attention computation, by name.

The field names are the names the UI prints above each heatmap, so a reader can
go from a heatmap title ("scaled_scores") to the line of code that made it.
Shapes use ``n_q`` queries, ``n_k`` keys/values, ``d_model`` embedding width,
``d_k`` query/key width and ``d_v`` value width (per head where it applies).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .normalisers import Normaliser
from .options import AttentionOptions


@dataclass(frozen=True)
class AttentionTrace:
    """One head of scaled dot-product attention, step by step.

    ``x_q``, ``x_kv`` and the projection matrices are ``None`` when attention
    was called on Q, K, V directly (:func:`scaled_dot_product_attention`).
    """

    Q: np.ndarray  # (n_q, d_k) queries
    K: np.ndarray  # (n_k, d_k) keys
    V: np.ndarray  # (n_k, d_v) values
    scale: float  # factor applied to the scores (1/sqrt(d_k) by default)
    mask: np.ndarray | None  # (n_q, n_k) bool, True = may attend; None = all may
    scores: np.ndarray  # (n_q, n_k) Q @ K.T
    scaled_scores: np.ndarray  # (n_q, n_k) scale * scores
    masked_scores: np.ndarray  # (n_q, n_k) biased_scores, -inf where mask is False
    weights: np.ndarray  # (n_q, n_k) the normaliser (softmax by default) of masked_scores, row by row
    output: np.ndarray  # (n_q, d_v) weights @ V
    fully_masked_rows: np.ndarray  # (n_q,) bool: rows with no key to attend to (weights all 0)
    x_q: np.ndarray | None = None  # (n_q, d_model) query-side inputs
    x_kv: np.ndarray | None = None  # (n_k, d_model) key/value-side inputs
    W_q: np.ndarray | None = None  # (d_model, d_k)
    W_k: np.ndarray | None = None  # (d_model, d_k)
    W_v: np.ndarray | None = None  # (d_model, d_v)
    #: (n_q, n_k) additive bias added to scaled_scores before masking (ALiBi: -slope·|i − j|);
    #: None without one.
    position_bias: np.ndarray | None = None
    #: (n_q, n_k) scaled_scores + position_bias: the very array ``scaled_scores`` when there is
    #: no bias (filled in after construction, never copied).
    biased_scores: np.ndarray | None = None
    #: (n_q, d_k) / (n_k, d_k) this head's queries and keys before RoPE rotated them; None
    #: without RoPE. ``Q`` and ``K`` above are always what entered the scores (rotated), whereas
    #: :class:`MultiHeadTrace` ``.Q``/``.K`` are the unrotated projections of all heads.
    Q_unrotated: np.ndarray | None = None
    K_unrotated: np.ndarray | None = None
    #: The options the head was computed with (scale, mask, bias, normaliser …).
    options: AttentionOptions = field(default_factory=AttentionOptions)
    #: (n_q, n_k) what the normaliser read when the scores overflowed float64: each row shifted
    #: by its maximum, computed exactly from rescaled scores (see :func:`.kernel.stable_logits`);
    #: None when it read ``masked_scores`` itself (every score finite).
    logits: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.biased_scores is None:  # no bias: the biased scores are the scaled scores
            object.__setattr__(self, "biased_scores", self.scaled_scores)

    @property
    def n_q(self) -> int:
        return int(self.Q.shape[0])

    @property
    def n_k(self) -> int:
        return int(self.K.shape[0])

    @property
    def normaliser(self) -> Normaliser:
        """The normaliser that made the weights (softmax unless the options name another)."""
        return self.options.normalise

    def row_entropy(self) -> np.ndarray:
        """(n_q,) Shannon entropy of each row's distribution in nats (0 for a one-hot row); the
        distribution is the weights for softmax, what the normaliser says otherwise."""
        w = self.normaliser.distribution(self.weights)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(w > 0, -w * np.log(np.where(w > 0, w, 1.0)), 0.0)
        return terms.sum(axis=-1)

    def row_entropy_share(self) -> np.ndarray:
        """(n_q,) each row's entropy as a share of ln n_k, the entropy of a uniform row: 1 uniform,
        0 one-hot (0 when there is only one key)."""
        return self.row_entropy() / max(np.log(max(self.n_k, 1)), 1e-300)

    def row_max_weight(self) -> np.ndarray:
        """(n_q,) the largest weight in each row (1.0 when softmax has saturated)."""
        return self.weights.max(axis=-1) if self.weights.size else np.zeros(self.n_q)


@dataclass(frozen=True)
class MultiHeadTrace:
    """Several heads side by side, their concatenation and the output projection.

    Head ``h`` uses columns ``h*d_k/n_heads : (h+1)*d_k/n_heads`` of Q and K and
    the matching block of V: the layout of ``torch.nn.MultiheadAttention``. With
    grouped-query attention K and V hold ``n_kv_heads`` blocks and query head ``h``
    reads block ``kv_heads[h]``.
    """

    heads: tuple[AttentionTrace, ...]  # n_heads traces, each on its own column block
    Q: np.ndarray  # (n_q, d_k) all heads' queries, x_q @ W_q + b_q, before RoPE (see Q_rotated)
    K: np.ndarray  # (n_k, d_k)
    V: np.ndarray  # (n_k, d_v)
    concat: np.ndarray  # (n_q, d_v) heads' outputs side by side
    W_o: np.ndarray | None  # (d_v, d_out) output projection; None = identity
    output: np.ndarray  # (n_q, d_out) concat @ W_o
    #: Query head h reads key/value head ``kv_heads[h]`` (grouped-query attention); empty when
    #: every head has its own keys and values.
    kv_heads: tuple[int, ...] = ()
    #: (n_q, n_heads·h) and (n_k, n_kv_heads·h): Q and K after RoPE rotated each head's block;
    #: None without RoPE. ``Q`` and ``K`` above stay the unrotated projections, whereas each
    #: ``heads[h].Q``/``.K`` is the block that entered the scores (rotated; unrotated in
    #: ``heads[h].Q_unrotated``). Rotated: ``heads[h].Q == Q_rotated[:, block h]``.
    Q_rotated: np.ndarray | None = None
    K_rotated: np.ndarray | None = None
    #: (n_heads,) ALiBi slope of each head (its bias is in ``heads[h].position_bias``); None without.
    alibi_slopes: np.ndarray | None = None
    #: The options every head was computed with.
    options: AttentionOptions = field(default_factory=AttentionOptions)

    @property
    def n_heads(self) -> int:
        return len(self.heads)

    @property
    def n_kv_heads(self) -> int:
        return len(set(self.kv_heads)) if self.kv_heads else len(self.heads)

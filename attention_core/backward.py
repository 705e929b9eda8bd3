"""The exact backward pass of attention: every gradient, from a trace.

Given a trace of the forward pass (:mod:`.attention`) and ``d_output``, the
gradient of some loss L with respect to the output, we walk the forward
formulas backwards. ``d_X`` always means ∂L/∂X and has the shape of X. With
``A`` the weights and ``s`` the scale, the forward pass was::

    scores        = Q Kᵀ                  (n_q, n_k)
    scaled_scores = s · scores            (n_q, n_k)
    masked_scores = scaled_scores, -inf where the mask forbids
    A             = softmax(masked_scores) along each row
    output        = A V                   (n_q, d_v)

and the backward pass, line by line (each line of :func:`attention_backward`)::

    d_weights       = d_output Vᵀ                                       (n_q, n_k)
    d_V             = Aᵀ d_output                                       (n_k, d_v)
    d_masked_scores = A ⊙ (d_weights − rowsum(d_weights ⊙ A))           (n_q, n_k)
    d_scaled_scores = d_masked_scores  (0 where masked: A is 0 there)   (n_q, n_k)
    d_scores        = s · d_scaled_scores                               (n_q, n_k)
    d_Q             = d_scores K                                        (n_q, d_k)
    d_K             = d_scoresᵀ Q                                       (n_k, d_k)

The third line is the softmax Jacobian in its row form: for one row
``a = softmax(z)``, ∂a_j/∂z_m = a_j (δ_jm − a_m), so
``dz_m = Σ_j da_j a_j (δ_jm − a_m) = a_m (da_m − Σ_j da_j a_j)``. A masked
entry has a_m = 0 and so gets no gradient; a fully masked row (all weights 0)
gets none either. When the trace came from :func:`~.attention.cross_attention`
or :func:`~.attention.self_attention` (it holds the inputs and projections), the
chain continues through ``Q = x_q W_q``, ``K = x_kv W_k``, ``V = x_kv W_v``::

    d_W_q  = x_qᵀ d_Q                                                   (d_model, d_k)
    d_W_k  = x_kvᵀ d_K                                                  (d_model, d_k)
    d_W_v  = x_kvᵀ d_V                                                  (d_model, d_v)
    d_x_q  = d_Q W_qᵀ                                                   (n_q, d_model)
    d_x_kv = d_K W_kᵀ + d_V W_vᵀ                                        (n_k, d_model)

For self-attention x_q and x_kv are the same X, so ∂L/∂X = d_x_q + d_x_kv.
The gradients assume finite scores (the overflow rescue of the forward pass is
not differentiated). :func:`multi_head_backward` does the same per head and
through the output projection W_O.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .checks import as_matrix
from .errors import ValidationError
from .normalisers.softmax import softmax_backward
from .trace import AttentionTrace, MultiHeadTrace

__all__ = [
    "AttentionGrads",
    "MultiHeadGrads",
    "attention_backward",
    "multi_head_backward",
    "softmax_backward",
]


@dataclass(frozen=True)
class AttentionGrads:
    """∂L/∂(every intermediate) of one head; names follow :class:`~.trace.AttentionTrace`.

    The projection and input gradients are None when the trace was made from Q, K, V directly.
    """

    d_output: np.ndarray  # (n_q, d_v) the gradient we started from
    d_weights: np.ndarray  # (n_q, n_k)
    d_V: np.ndarray  # (n_k, d_v)
    d_masked_scores: np.ndarray  # (n_q, n_k) the gradient at the softmax input
    d_scaled_scores: np.ndarray  # (n_q, n_k) equal to d_masked_scores (0 where masked)
    d_scores: np.ndarray  # (n_q, n_k)
    d_Q: np.ndarray  # (n_q, d_k)
    d_K: np.ndarray  # (n_k, d_k)
    d_W_q: np.ndarray | None = None  # (d_model, d_k)
    d_W_k: np.ndarray | None = None  # (d_model, d_k)
    d_W_v: np.ndarray | None = None  # (d_model, d_v)
    d_x_q: np.ndarray | None = None  # (n_q, d_model)
    d_x_kv: np.ndarray | None = None  # (n_k, d_model)


def _check_d_output(d_output: object, shape: tuple[int, ...]) -> np.ndarray:
    d = as_matrix("d_output", d_output)
    if d.shape != shape:
        raise ValidationError(f"d_output has shape {d.shape}; the output has shape {shape}")
    return d


def attention_backward(
    trace: AttentionTrace, d_output: np.ndarray | None = None, *, d_weights: np.ndarray | None = None
) -> AttentionGrads:
    """Every gradient of one head, from its trace and ``d_output`` = ∂L/∂output (n_q, d_v).

    A loss that reads the weights themselves (a target pattern, see
    :func:`~.losses.weights_cross_entropy`) passes its ∂L/∂weights as ``d_weights``
    (n_q, n_k); it is added to what flows back from the output (None counts as 0).
    The formulas, one per line below (see the module docstring for why)::

        d_weights       = d_output Vᵀ  (+ the loss's own d_weights)
        d_V             = Aᵀ d_output
        d_masked_scores = A ⊙ (d_weights − rowsum(d_weights ⊙ A))   (the normaliser's backward)
        d_scaled_scores = d_masked_scores
        d_scores        = scale · d_scaled_scores
        d_Q             = d_scores K
        d_K             = d_scoresᵀ Q
        d_W_q = x_qᵀ d_Q,  d_W_k = x_kvᵀ d_K,  d_W_v = x_kvᵀ d_V
        d_x_q = d_Q W_qᵀ,  d_x_kv = d_K W_kᵀ + d_V W_vᵀ
    """
    if d_output is None:  # a loss on the weights alone: nothing flows back from the output
        dO = np.zeros_like(trace.output)  # (n_q, d_v)
    else:
        dO = _check_d_output(d_output, trace.output.shape)  # (n_q, d_v)
    allowed = np.ones(trace.scores.shape, dtype=bool) if trace.mask is None else trace.mask  # (n_q, n_k)
    if not np.all(np.isfinite(trace.scaled_scores[allowed])):
        raise ValidationError(
            "the scores overflowed float64 in the forward pass; their gradient is not defined"
        )
    A = trace.weights  # (n_q, n_k)
    d_weights_total = dO @ trace.V.T  # (n_q, n_k)
    if d_weights is not None:
        d_direct = as_matrix("d_weights", d_weights)  # (n_q, n_k)
        if d_direct.shape != A.shape:
            raise ValidationError(f"d_weights has shape {d_direct.shape}; the weights have shape {A.shape}")
        d_weights_total = d_weights_total + d_direct  # (n_q, n_k)
    d_V = A.T @ dO  # (n_k, d_v)
    # The normaliser's own backward (softmax: A ⊙ (dA − rowsum(dA ⊙ A))), 0 where masked (A = 0 there).
    d_masked = trace.normaliser.backward(A, d_weights_total)  # (n_q, n_k)
    d_scaled = d_masked  # (n_q, n_k) masking only replaced entries by -inf: identity elsewhere
    d_scores = trace.scale * d_scaled  # (n_q, n_k)
    d_Q = d_scores @ trace.K  # (n_q, d_k)
    d_K = d_scores.T @ trace.Q  # (n_k, d_k)
    grads = AttentionGrads(
        d_output=dO,
        d_weights=d_weights_total,
        d_V=d_V,
        d_masked_scores=d_masked,
        d_scaled_scores=d_scaled,
        d_scores=d_scores,
        d_Q=d_Q,
        d_K=d_K,
    )
    if trace.x_q is None or trace.x_kv is None or trace.W_q is None or trace.W_k is None or trace.W_v is None:
        return grads  # attention on Q, K, V directly: nothing further back
    return _with_projections(grads, trace.x_q, trace.x_kv, trace.W_q, trace.W_k, trace.W_v)


def _with_projections(
    g: AttentionGrads, x_q: np.ndarray, x_kv: np.ndarray, W_q: np.ndarray, W_k: np.ndarray, W_v: np.ndarray
) -> AttentionGrads:
    """``g`` continued through ``Q = x_q W_q``, ``K = x_kv W_k``, ``V = x_kv W_v``."""
    return AttentionGrads(
        **{
            k: getattr(g, k)
            for k in (
                "d_output",
                "d_weights",
                "d_V",
                "d_masked_scores",
                "d_scaled_scores",
                "d_scores",
                "d_Q",
                "d_K",
            )
        },
        d_W_q=x_q.T @ g.d_Q,  # (d_model, d_k)
        d_W_k=x_kv.T @ g.d_K,  # (d_model, d_k)
        d_W_v=x_kv.T @ g.d_V,  # (d_model, d_v)
        d_x_q=g.d_Q @ W_q.T,  # (n_q, d_model)
        d_x_kv=g.d_K @ W_k.T + g.d_V @ W_v.T,  # (n_k, d_model)
    )


@dataclass(frozen=True)
class MultiHeadGrads:
    """∂L/∂(every matrix) of multi-head attention; ``heads[h]`` holds head h's gradients."""

    heads: tuple[AttentionGrads, ...]  # per head, on its own column block
    d_output: np.ndarray  # (n_q, d_out)
    d_concat: np.ndarray  # (n_q, d_v)
    d_W_o: np.ndarray | None  # (d_v, d_out); None when there was no W_o
    d_Q: np.ndarray  # (n_q, d_k) all heads' blocks side by side
    d_K: np.ndarray  # (n_k, d_k)
    d_V: np.ndarray  # (n_k, d_v)
    d_W_q: np.ndarray  # (d_model, d_k)
    d_W_k: np.ndarray  # (d_model, d_k)
    d_W_v: np.ndarray  # (d_model, d_v)
    d_x_q: np.ndarray  # (n_q, d_model)
    d_x_kv: np.ndarray  # (n_k, d_model)


def multi_head_backward(trace: MultiHeadTrace, d_output: np.ndarray) -> MultiHeadGrads:
    """Every gradient of :func:`~.attention.multi_head_attention`, head by head::

        d_concat = d_output W_oᵀ          (n_q, d_v)      (= d_output when W_o is None)
        d_W_o    = concatᵀ d_output       (d_v, d_out)
        head h:    attention_backward(head_h, d_concat[:, block h])
        d_Q      = [d_Q_0 | d_Q_1 | …]    (n_q, d_k), likewise d_K, d_V
        d_W_q    = x_qᵀ d_Q               (d_model, d_k), likewise d_W_k = x_kvᵀ d_K, d_W_v = x_kvᵀ d_V
        d_x_q    = Σ_h d_x_q(h)           (n_q, d_model)  each head reads all of x_q
        d_x_kv   = Σ_h d_x_kv(h)          (n_k, d_model)
    """  # fmt: skip
    dO = _check_d_output(d_output, trace.output.shape)  # (n_q, d_out)
    if trace.W_o is None:
        d_concat, d_W_o = dO, None  # (n_q, d_v): the concatenation was the output
    else:
        d_concat = dO @ trace.W_o.T  # (n_q, d_v)
        d_W_o = trace.concat.T @ dO  # (d_v, d_out)
    heads: list[AttentionGrads] = []
    start = 0
    for h in trace.heads:
        width = h.V.shape[1]  # this head's d_v
        heads.append(attention_backward(h, d_concat[:, start : start + width]))
        start += width
    if any(g.d_W_q is None for g in heads):
        raise ValidationError("multi_head_backward needs heads that hold their inputs and projections")
    return MultiHeadGrads(
        heads=tuple(heads),
        d_output=dO,
        d_concat=d_concat,
        d_W_o=d_W_o,
        d_Q=np.concatenate([g.d_Q for g in heads], axis=1),  # (n_q, d_k)
        d_K=np.concatenate([g.d_K for g in heads], axis=1),  # (n_k, d_k)
        d_V=np.concatenate([g.d_V for g in heads], axis=1),  # (n_k, d_v)
        d_W_q=np.concatenate([g.d_W_q for g in heads], axis=1),  # (d_model, d_k)
        d_W_k=np.concatenate([g.d_W_k for g in heads], axis=1),  # (d_model, d_k)
        d_W_v=np.concatenate([g.d_W_v for g in heads], axis=1),  # (d_model, d_v)
        d_x_q=np.sum([g.d_x_q for g in heads], axis=0),  # (n_q, d_model)
        d_x_kv=np.sum([g.d_x_kv for g in heads], axis=0),  # (n_k, d_model)
    )

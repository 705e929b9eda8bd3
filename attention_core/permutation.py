"""Word order: without positions and without a mask, attention cannot see it.

Shuffle the tokens of a sentence with a permutation π (new position i holds old
token π(i)). Self-attention without positions and without a mask is
permutation-equivariant: the weights of the shuffled sentence are the old weights
with rows and columns shuffled the same way::

    A_shuffled = Π A Πᵀ        Π[i, π(i)] = 1
    A_shuffled[i, j] = A[π(i), π(j)]

Positions (a table added to X, RoPE, ALiBi) or a causal mask break this: the
difference from Π A Πᵀ is then what word order changed.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .errors import ValidationError
from .lab import LabConfig, LabTrace, run_lab


def permutation_matrix(perm: np.ndarray) -> np.ndarray:
    """(n, n) Π with Π[i, π(i)] = 1: ``Π @ M`` puts row π(i) of M at row i."""
    n = len(perm)
    P = np.zeros((n, n))
    P[np.arange(n), perm] = 1.0
    return P


def shuffled_config(trace: LabTrace, perm: np.ndarray) -> LabConfig:
    """``trace``'s configuration with its tokens in the order ``perm``.

    Hand edits of X follow their token.
    """
    cfg = trace.config
    tokens = trace.tokens_q.tokens
    perm = np.asarray(perm)
    if sorted(perm.tolist()) != list(range(len(tokens))):
        raise ValidationError(f"a permutation of {len(tokens)} positions is needed, got {perm.tolist()}")
    if trace.is_cross or cfg.embedding == "manual":
        raise ValidationError("the word-order demo needs self-attention with seeded or one-hot embeddings")
    new_row = np.argsort(perm)  # old position -> new position
    edits = {
        (m, int(new_row[r]) if m == "embeddings" else r, c): v for (m, r, c), v in cfg.edit_dict().items()
    }
    return dataclasses.replace(cfg, sentence=" ".join(tokens[i] for i in perm)).with_edits(edits)


def shuffle(trace: LabTrace, perm: np.ndarray) -> tuple[LabTrace, np.ndarray, float]:
    """(trace of the shuffled sentence, Π A Πᵀ, max |A_shuffled − Π A Πᵀ|) for head 0.

    The deviation is ~0 (rounding) exactly when attention is blind to word order.
    """
    other = run_lab(shuffled_config(trace, perm))
    if other.tokens_q.tokens != tuple(trace.tokens_q.tokens[i] for i in perm):
        raise ValidationError("the shuffled words tokenize differently; the demo needs plain words")
    P = permutation_matrix(np.asarray(perm))  # (n, n)
    expected = P @ trace.attention.heads[0].weights @ P.T  # (n, n) Π A Πᵀ
    return other, expected, float(np.max(np.abs(other.attention.heads[0].weights - expected)))

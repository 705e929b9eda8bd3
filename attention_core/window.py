"""Sliding-window attention: each query sees only the most recent keys (Mistral, Longformer).

Query i may attend to key j when ``i − window < j ≤ i``: itself and the
``window − 1`` keys before it. It is a causal mask cut to a band::

    sliding_window_mask[i, j] = (j ≤ i) and (i − j < window)        (n_q, n_k) bool

A generating model then needs to keep only the last ``window`` keys and values in its
cache. ``window ≥ n`` is the plain causal mask. It is the boolean mask torch's
``scaled_dot_product_attention(attn_mask=…)`` takes (True = may attend).
"""

from __future__ import annotations

import numpy as np

from .errors import ValidationError


def check_window(window: object) -> int:
    """``window`` as a positive int, or a ValidationError."""
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
        raise ValidationError(f"the window must be a positive whole number of tokens, got {window!r}")
    return int(window)


def sliding_window_mask(n: int, window: int, n_k: int | None = None) -> np.ndarray:
    """(n, n_k) bool: True where ``0 ≤ i − j < window`` (query i sees keys i − window + 1 … i)."""
    w = check_window(window)
    n_k = n if n_k is None else n_k
    if n < 0 or n_k < 0:
        raise ValidationError(f"sliding_window_mask needs non-negative sizes, got ({n}, {n_k})")
    # np.tri(k=0) is j ≤ i; subtracting np.tri(k=-window) removes j ≤ i − window.
    return np.tri(n, n_k, dtype=bool) & ~np.tri(n, n_k, k=-w, dtype=bool)  # (n, n_k)

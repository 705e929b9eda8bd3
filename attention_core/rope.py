"""Rotary position embedding (RoPE): a position rotates each pair of query/key features.

Su et al. (2021), in the "rotate-half" layout that Llama uses in ``transformers``
(``apply_rotary_pos_emb``): feature ``i`` of the first half is paired with
feature ``i + d/2`` of the second half, and the pair is turned by the angle
``m · θ_i`` at position ``m``::

    θ_i        = base^(-2i / d)                          i = 0 … d/2 − 1
    angle[m,i] = m · θ_i                                 (n, d/2)
    cos, sin   = cos([angle | angle]), sin([angle | angle])   (n, d)
    rope(x)    = x ⊙ cos + rotate_half(x) ⊙ sin
    rotate_half([x₁ | x₂]) = [−x₂ | x₁]

Because a rotation by m·θ followed by the dot product with a key rotated by
n·θ only sees the difference of the angles, the score between a query at
position m and a key at position n depends on m − n, not on m and n: that is
what makes RoPE a *relative* position encoding. It is applied to Q and K after
the projections and never to V.
"""

from __future__ import annotations

import numpy as np

from .errors import ValidationError


def rope_angles(n: int, d: int, *, base: float = 10000.0, positions: np.ndarray | None = None) -> np.ndarray:
    """(n, d/2) the rotation angle ``m · θ_i`` of each position m and feature pair i."""
    if d % 2:
        raise ValidationError(f"RoPE needs an even head size; got {d}")
    if isinstance(base, bool) or not base > 0:
        raise ValidationError(f"the RoPE base must be positive; got {base}")
    pos = np.arange(n, dtype=np.float64) if positions is None else np.asarray(positions, dtype=np.float64)
    if pos.shape != (n,):
        raise ValidationError(f"positions must have {n} entries, got shape {pos.shape}")
    inv_freq = 1.0 / base ** (np.arange(0, d, 2, dtype=np.float64) / d)  # (d/2,) θ_i
    return pos[:, None] * inv_freq[None, :]  # (n, d/2)


def rotate_half(x: np.ndarray) -> np.ndarray:
    """``[x₁ | x₂] → [−x₂ | x₁]`` along the last axis (the 90° turn of every feature pair)."""
    half = x.shape[-1] // 2
    return np.concatenate([-x[..., half:], x[..., :half]], axis=-1)  # (..., d)


def rope(x: np.ndarray, *, base: float = 10000.0, positions: np.ndarray | None = None) -> np.ndarray:
    """Rotate the rows of ``x`` (…, n, d) by their positions: ``x ⊙ cos + rotate_half(x) ⊙ sin``.

    ``positions`` (n,) defaults to 0, 1, …, n − 1 (a KV cache passes the true positions of
    the new rows). Leading axes (heads) are broadcast. Returns a new float64 array.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim < 2:
        raise ValidationError(f"rope needs rows of features (…, n, d); got shape {x.shape}")
    n, d = x.shape[-2], x.shape[-1]
    angle = rope_angles(n, d, base=base, positions=positions)  # (n, d/2)
    emb = np.concatenate([angle, angle], axis=-1)  # (n, d)
    return x * np.cos(emb) + rotate_half(x) * np.sin(emb)  # (…, n, d)


def rope_heads(
    x: np.ndarray, n_heads: int, *, base: float = 10000.0, positions: np.ndarray | None = None
) -> np.ndarray:
    """(n, n_heads·h) → (n, n_heads·h): :func:`rope` on each head's column block of ``x``.

    Each block of h contiguous columns is one head (the layout of the projections); the
    rotate-half pairing is inside each block, as Llama splits heads before rotating.
    """
    if (
        isinstance(base, bool)
        or not isinstance(base, (int, float, np.integer, np.floating))
        or not np.isfinite(base)
    ):
        raise ValidationError(f"the RoPE base must be a finite positive number, got {base!r}")
    if isinstance(n_heads, bool) or not isinstance(n_heads, (int, np.integer)) or n_heads < 1:
        raise ValidationError(f"n_heads must be a positive integer, got {n_heads!r}")
    x = np.asarray(x, dtype=np.float64)
    n, width = x.shape
    if width % n_heads:
        raise ValidationError(f"{width} columns do not split into {n_heads} heads")
    per_head = x.reshape(n, n_heads, width // n_heads).transpose(1, 0, 2)  # (n_heads, n, h)
    rotated = rope(per_head, base=base, positions=positions)  # (n_heads, n, h)
    return rotated.transpose(1, 0, 2).reshape(n, width)  # (n, n_heads·h)

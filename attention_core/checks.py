"""Checks shared by every public function of the core: each turns an argument into what the
mechanism computes with, or raises a :class:`~.errors.ValidationError` that names it.

Booleans are refused wherever a number is expected: ``True`` is an ``int`` to Python, and
``scale=True`` or ``lr=True`` is far more likely a slip than a wish for 1.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import ValidationError


def as_matrix(name: str, a: object) -> np.ndarray:
    """``a`` as a finite float64 matrix, or a ValidationError naming ``name``."""
    if isinstance(a, (bool, np.bool_)) or (isinstance(a, np.ndarray) and a.dtype == np.bool_):
        raise ValidationError(f"{name} must be a matrix of numbers, not of true/false values")
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


def check_number(name: str, value: object) -> float:
    """``value`` as a finite float; booleans and non-numbers refused."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValidationError(f"{name} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ValidationError(f"{name} must be finite, got {v}")
    return v


def check_count(name: str, value: object, *, lo: int = 1) -> int:
    """``value`` as an int ≥ ``lo``; booleans, floats and non-numbers refused."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < lo:
        what = "a positive integer" if lo == 1 else f"a whole number ≥ {lo}"
        raise ValidationError(f"{name} must be {what}, got {value!r}")
    return int(value)


def check_flag(name: str, value: object) -> bool:
    """``value`` as a bool: only True and False (1 and 0 are numbers, not switches)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValidationError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_scale(scale: float | None, d_k: int) -> float:
    """The scale in force: ``1/sqrt(d_k)`` when ``scale`` is None."""
    if scale is None:
        if d_k == 0:
            raise ValidationError("d_k is 0: there is no default scale 1/sqrt(d_k)")
        return 1.0 / math.sqrt(d_k)
    if isinstance(scale, (bool, np.bool_)):
        raise ValidationError(f"scale must be a number, got {scale!r}")
    try:
        s = float(scale)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValidationError(f"scale must be a number, got {scale!r}") from None
    if not math.isfinite(s):
        raise ValidationError(f"scale must be finite, got {s}")
    return s


def check_mask(mask: object, n_q: int, n_k: int) -> np.ndarray | None:
    """A boolean (n_q, n_k) mask (True = may attend), or None."""
    if mask is None:
        return None
    m = np.asarray(mask)
    if m.dtype != np.bool_:
        raise ValidationError(f"mask must be boolean (True = may attend), got dtype {m.dtype}")
    if m.shape != (n_q, n_k):
        raise ValidationError(f"mask has shape {m.shape}, but scores have shape ({n_q}, {n_k})")
    return m


def check_bias(bias: object, n_q: int, n_k: int) -> np.ndarray | None:
    """An additive score bias as a finite float64 (n_q, n_k) matrix, or None."""
    if bias is None:
        return None
    b = as_matrix("bias", bias)
    if b.shape != (n_q, n_k):
        raise ValidationError(f"bias has shape {b.shape}, but scores have shape ({n_q}, {n_k})")
    return b


def project(name: str, x: np.ndarray, W: np.ndarray) -> np.ndarray:
    """``x W`` (n, d_out), or a ValidationError when the widths do not meet."""
    if x.shape[1] != W.shape[0]:
        raise ValidationError(
            f"cannot project: input {x.shape} has {x.shape[1]} columns but {name} {W.shape} "
            f"has {W.shape[0]} rows"
        )
    return x @ W


def bias_vector(name: str, b: object, width: int) -> np.ndarray | float:
    """A projection bias of length ``width`` (broadcast over rows), or 0 when there is none."""
    if b is None:
        return 0.0
    if isinstance(b, (bool, np.bool_)):
        raise ValidationError(f"{name} must be numbers, got {b!r}")
    v = as_matrix(name, np.reshape(np.asarray(b, dtype=np.float64), (1, -1)))[0]
    if v.shape != (width,):
        raise ValidationError(f"{name} has {v.shape[0]} entries; it must have {width}")
    return v

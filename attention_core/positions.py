"""Absolute positional encodings: a table P (n, d_model) added to the embeddings, X + P.

Attention itself is blind to order (permuting the tokens permutes the output
rows the same way). The original Transformer (Vaswani et al., 2017, §3.5)
therefore adds a fixed sinusoidal table to the embeddings; GPT-2 and BERT add
a learned table instead. Both are rows indexed by position::

    ω_i                = 1 / 10000^(2i / d)                      i = 0 … ⌈d/2⌉ − 1
    sinusoidal[p, 2i]   = sin(p · ω_i)                            even columns
    sinusoidal[p, 2i+1] = cos(p · ω_i)                            odd columns
    learned[p, :]       = a row drawn at random (seeded), trained in a real model
    X_with_positions    = X + P[:n]                               (n, d_model)

RoPE (:mod:`.rope`) and ALiBi (:mod:`.alibi`) are relative alternatives that act
inside attention instead of on X.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from .checks import check_number
from .errors import ValidationError
from .rng import RandomSource, draw_matrix, make_generator

PositionKind = Literal["none", "sinusoidal", "learned"]
POSITION_KINDS: tuple[PositionKind, ...] = ("none", "sinusoidal", "learned")


def _check_size(n: int, d: int) -> None:
    for name, v in (("n", n), ("d", d)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            raise ValidationError(f"{name} must be a non-negative whole number, got {v!r}")


def sinusoidal_positions(n: int, d: int, *, base: float = 10000.0) -> np.ndarray:
    """(n, d) the original paper's table: ``sin(p·ω_i)`` in column 2i, ``cos(p·ω_i)`` in 2i + 1."""
    _check_size(n, d)
    check_number("the base", base)
    pos = np.arange(n, dtype=np.float64)[:, None]  # (n, 1)
    omega = 1.0 / base ** (np.arange(0, d, 2, dtype=np.float64) / d)  # (⌈d/2⌉,) ω_i
    angle = pos * omega[None, :]  # (n, ⌈d/2⌉)
    table = np.empty((n, d))  # (n, d)
    table[:, 0::2] = np.sin(angle)  # even columns
    table[:, 1::2] = np.cos(angle[:, : d // 2])  # odd columns (one fewer when d is odd)
    return table


def learned_positions(
    n: int, d: int, *, seed: int = 0, random_source: RandomSource = "numpy", std: float = 0.02
) -> np.ndarray:
    """(n, d) a "learned" table before training: ``std ·`` standard normal draws, seeded.

    GPT-2 initialises its position table ``wpe`` with N(0, 0.02²); a trained one would
    differ, but an untrained one shows what is added: one free vector per position.
    """
    _check_size(n, d)
    check_number("std", std)
    gen = make_generator(random_source, seed)
    return std * draw_matrix(gen, "normal", n, d)  # (n, d)


def position_table(
    kind: PositionKind, n: int, d: int, *, seed: int = 0, random_source: RandomSource = "numpy"
) -> np.ndarray | None:
    """(n, d) the table of ``kind``, or None for ``"none"`` (the registry the lab uses)."""
    if kind == "none":
        return None
    if kind == "sinusoidal":
        return sinusoidal_positions(n, d)
    if kind == "learned":
        return learned_positions(n, d, seed=seed, random_source=random_source)
    raise ValidationError(f"positional encoding must be one of {POSITION_KINDS}, got {kind!r}")


def add_positions(X: np.ndarray, table: np.ndarray | None) -> np.ndarray:
    """``X + table[:n]`` (n, d_model): row p of the table added to token p (X unchanged when None)."""
    if table is None:
        return X
    X = np.asarray(X, dtype=np.float64)
    if table.shape[0] < X.shape[0] or table.shape[1] != X.shape[1]:
        raise ValidationError(f"a position table of shape {table.shape} cannot be added to X {X.shape}")
    return X + table[: X.shape[0]]  # (n, d_model)

"""Optimiser steps, written out and deterministic.

Parameters are a dict of named matrices (``{"W_q": …, "W_k": …, "W_v": …}``);
a step returns new matrices and never changes the ones passed in. Everything
is elementwise float64 arithmetic in a fixed order, with no threads and no
random numbers, so the same start, gradients and settings give the same
trajectory bit for bit, on every run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import ValidationError

Params = dict[str, np.ndarray]


def _check(params: Params, grads: Params, lr: float) -> None:
    if isinstance(lr, bool) or not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ValidationError(f"the learning rate must be a positive number, got {lr!r}", field="lr")
    for name, p in params.items():
        if name not in grads:
            raise ValidationError(f"no gradient for {name}")
        if grads[name].shape != p.shape:
            raise ValidationError(
                f"the gradient of {name} has shape {grads[name].shape}; {name} has {p.shape}"
            )


def gd_step(params: Params, grads: Params, lr: float) -> Params:
    """Plain gradient descent: ``W ← W − lr · dL/dW`` for every matrix."""
    _check(params, grads, lr)
    return {name: p - lr * grads[name] for name, p in params.items()}


@dataclass(frozen=True)
class AdamState:
    """Adam's memory: the step count and the two running averages per matrix."""

    t: int  # steps taken
    m: Params  # first moment (running mean of the gradient), same shapes as the params
    v: Params  # second moment (running mean of the squared gradient)


def adam_init(params: Params) -> AdamState:
    """Adam before its first step: zero moments."""
    return AdamState(
        t=0,
        m={k: np.zeros_like(p) for k, p in params.items()},
        v={k: np.zeros_like(p) for k, p in params.items()},
    )


def adam_step(
    params: Params,
    grads: Params,
    state: AdamState,
    lr: float,
    *,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
) -> tuple[Params, AdamState]:
    """One Adam step (Kingma & Ba 2015; the same arithmetic as ``torch.optim.Adam``)::

        t  ← t + 1
        m  ← β₁ m + (1 − β₁) g                 (running mean of the gradient)
        v  ← β₂ v + (1 − β₂) g²                (running mean of its square)
        W  ← W − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)

    Each matrix takes steps of about ``lr`` per entry whatever the size of its
    gradient, which is why Adam needs no tuning per task here.
    """
    _check(params, grads, lr)
    t = state.t + 1
    bc1 = 1.0 - beta1**t  # bias corrections: the moments start at 0
    bc2 = 1.0 - beta2**t
    new_p: Params = {}
    new_m: Params = {}
    new_v: Params = {}
    for name, p in params.items():
        g = grads[name]  # same shape as p
        m = state.m[name] + (1.0 - beta1) * (g - state.m[name])  # = β₁ m + (1 − β₁) g, as torch writes it
        v = beta2 * state.v[name] + (1.0 - beta2) * (g * g)
        denom = np.sqrt(v) / math.sqrt(bc2) + eps
        new_p[name] = p - (lr / bc1) * (m / denom)
        new_m[name], new_v[name] = m, v
    return new_p, AdamState(t=t, m=new_m, v=new_v)

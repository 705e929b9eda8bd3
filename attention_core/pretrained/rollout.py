"""Attention rollout (Abnar & Zuidema, 2020): how much each input token reaches each position
after all layers, following the attention weights and the residual connections together.

.. math::
    R_l = \\mathrm{rownorm}\\big(r\\,I + (1 - r)\\,\\tfrac1H \\textstyle\\sum_h A_{l,h}\\big), \\qquad
    \\mathrm{rollout} = R_L\\,R_{L-1} \\cdots R_1

``r`` is the share given to the residual connection (0.5 in the paper: a layer's output is
half its input and half what attention brought). Row i of the result is how position i's
final state is made of the input tokens; every row sums to 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ValidationError


def rollout_layers(attentions: np.ndarray, *, residual: float = 0.5) -> np.ndarray:
    """(L, n, n) the rollout after each layer: ``[R_1, R_2 R_1, …, R_L ⋯ R_1]``.

    The last of them is :func:`rollout`.
    """
    if (
        isinstance(residual, bool)
        or not isinstance(residual, (int, float, np.number))
        or not 0 <= residual <= 1
    ):
        raise ValidationError(
            f"the residual share must be a number from 0 to 1, got {residual!r}", field="residual"
        )
    A = np.asarray(attentions, dtype=np.float64)  # (L, H, n, n)
    if A.ndim != 4 or A.shape[-1] != A.shape[-2]:
        raise ValidationError(
            f"attentions must be (layers, heads, n, n), got shape {A.shape}", field="attentions"
        )
    eye = np.eye(A.shape[-1])  # (n, n)
    out = np.empty((A.shape[0], *A.shape[2:]))  # (L, n, n)
    acc = eye
    for l in range(A.shape[0]):
        R = residual * eye + (1 - residual) * A[l].mean(axis=0)  # (n, n) residual + mean over heads
        R = R / R.sum(axis=-1, keepdims=True)  # (n, n) rows renormalised
        acc = out[l] = R @ acc  # (n, n) R_l ⋯ R_1
    return out


def rollout(result: Any, *, residual: float = 0.5) -> np.ndarray:
    """(n, n) attention rollout of a run or of the array itself.

    ``result`` is anything with ``attentions`` (L, H, n, n), or that array.
    """
    attentions = getattr(result, "attentions", result)
    return rollout_layers(attentions, residual=residual)[-1]  # (n, n)

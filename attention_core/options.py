"""The options of the mechanism, in one frozen object.

Every function that runs attention — :func:`~.attention.multi_head_attention`,
:func:`~.gqa.grouped_query_attention`, :func:`~.kv_cache.kv_cache_decode`,
:func:`~.tiled.tiled_attention`, the lab, the exports — builds one
:class:`AttentionOptions` and hands it to the kernel (:mod:`.kernel`), which is
the only place that reads it. A trace keeps the object it was made with, the
export writes it whole (:meth:`AttentionOptions.to_dict`) and the reproduce
script reads it whole. A new option of the mechanism is one field here and the
line of the kernel that uses it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from .checks import check_flag, check_mask, check_number, check_scale
from .errors import ValidationError
from .normalisers import NORMALISERS, Normaliser
from .window import check_window, sliding_window_mask


@dataclass(frozen=True)
class AttentionOptions:
    """How one layer of attention computes, the same for every head.

    ::

        scaled_scores = scale · Q Kᵀ             scale None: 1/√(head width)
        biased_scores = scaled_scores + bias     bias: ALiBi's −m_h·|i − j| when ``alibi``
        masked_scores = biased_scores, −∞ where the mask hides a key
                        mask: causal (j ≤ i), cut to the last ``window`` keys, AND ``mask``
        weights       = normaliser(masked_scores) along each row
    """

    #: The factor on the scores; None means 1/√(head width) for each head.
    scale: float | None = None
    #: Query i sees keys 0 … i only.
    causal: bool = False
    #: Query i sees keys i − window + 1 … i (implies ``causal``); None = no window.
    window: int | None = None
    #: ALiBi: head h adds −slope_h · |i − j| to its scaled scores (:mod:`.alibi`).
    alibi: bool = False
    #: RoPE: each head's block of Q and K is rotated by position before the scores (:mod:`.rope`).
    rope_base: float | None = None
    #: Which function turns a row of scores into weights (:mod:`.normalisers`).
    normaliser: str = "softmax"

    def __post_init__(self) -> None:
        if self.scale is not None:
            object.__setattr__(self, "scale", check_scale(self.scale, 1))
        object.__setattr__(self, "causal", check_flag("causal", self.causal))
        object.__setattr__(self, "alibi", check_flag("alibi", self.alibi))
        if self.window is not None:
            object.__setattr__(self, "window", check_window(self.window))
        if self.rope_base is not None:
            base = check_number("the RoPE base", self.rope_base)
            if not base > 0:
                raise ValidationError(
                    f"the RoPE base must be a finite positive number, got {self.rope_base!r}"
                )
            object.__setattr__(self, "rope_base", base)
        if self.normaliser not in NORMALISERS:
            raise ValidationError(f"normaliser must be one of {tuple(NORMALISERS)}, got {self.normaliser!r}")

    @property
    def normalise(self) -> Normaliser:
        """The registered normaliser this object names."""
        return NORMALISERS[self.normaliser]

    def scale_for(self, width: int) -> float:
        """The scale in force for heads of ``width`` query/key features."""
        return check_scale(self.scale, width)

    def mask_for(self, n_q: int, n_k: int, extra: object = None) -> np.ndarray | None:
        """(n_q, n_k) bool, True = may attend: causal and window from the options, ANDed with ``extra``
        (a boolean mask given outright); None when nothing is hidden."""
        given = check_mask(extra, n_q, n_k)
        if self.window is not None:
            # The band is inside the causal mask: no AND needed.
            built: np.ndarray | None = sliding_window_mask(n_q, self.window, n_k)
        elif self.causal:
            built = causal_mask(n_q, n_k)
        else:
            built = None
        if built is None:
            return given
        return built if given is None else built & given

    def to_dict(self) -> dict[str, Any]:
        """Every field, JSON-ready: what the export writes and the reproduce script reads."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AttentionOptions:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValidationError(f"unknown attention options: {sorted(unknown)}")
        return cls(**data)


def causal_mask(n: int, n_k: int | None = None) -> np.ndarray:
    """(n, n_k) boolean mask, True on and below the diagonal: query i sees keys 0..i.

    With ``n_k`` different from ``n`` the diagonal starts at the top-left
    corner, as ``torch``'s ``is_causal`` does.
    """
    n_k = n if n_k is None else n_k
    for v in (n, n_k):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            raise ValidationError(f"causal_mask needs whole-number sizes, got ({n!r}, {n_k!r})")
    if n < 0 or n_k < 0:
        raise ValidationError(f"causal_mask needs non-negative sizes, got ({n}, {n_k})")
    return np.tri(n, n_k, dtype=bool)  # one boolean allocation, no float temporary

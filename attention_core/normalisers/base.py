"""What a normaliser is: the function that turns a row of scores into weights, with everything
the rest of the house needs to know about it (its backward pass, its formula, its arithmetic
for one weight, what the entropy of a row means, and its plain-NumPy text for the script)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: The arithmetic of one weight lists every term up to this many keys, then "… n more".
MAX_TERMS = 12


@dataclass(frozen=True)
class Explained:
    """The normaliser's arithmetic for weight j of one row, in numbers and in words."""

    numerators: np.ndarray  # (n_k,) what each key contributes before dividing (softmax: exp(z − max))
    denominator: float  # what they are divided by (softmax: Σ exp(z − max); 1 for an element-wise normaliser)
    shift: float  # what was subtracted from the row first (softmax: its maximum; 0 if nothing)
    weight: float  # the weight of key j
    lines: tuple[str, ...]  # the arithmetic, one line each, for a code block


@dataclass(frozen=True)
class Normaliser:
    """One way of turning the masked scores into weights, registered by ``name``."""

    name: str  # the key in NORMALISERS, in links and in the exported options
    title: str  # "softmax": what a heading calls it
    formula: str  # LaTeX of the weights step
    sentence: str  # one sentence for the back row (the weights step's description)
    #: (…, n_k) logits → (…, n_k) weights along the last axis; −∞ (masked) must give weight 0.
    forward: Callable[[np.ndarray], np.ndarray]
    #: (weights A, ∂L/∂A) → ∂L/∂logits, same shapes.
    backward: Callable[[np.ndarray, np.ndarray], np.ndarray]
    #: (one row of logits as fed to ``forward``, column j) → the arithmetic of weight j.
    explain: Callable[[np.ndarray, int], Explained]
    #: (…, n_k) weights → the distribution whose entropy the entropy panel shows.
    distribution: Callable[[np.ndarray], np.ndarray]
    entropy_note: str  # what the entropy share means for this normaliser
    #: Plain-NumPy source defining a function called ``name`` for the reproduce script
    #: (empty: the script already has it).
    script: str = ""

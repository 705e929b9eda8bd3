"""The normalisers: each turns a row of scores into weights (softmax today).

A normaliser is one module in this package that defines ``NORMALISER``
(a :class:`~.base.Normaliser`: forward, backward, formula, arithmetic, entropy
meaning, script text); registering it is adding its module name to
:data:`_MODULES`. The kernel, the backward pass, the arithmetic panel, the
descriptions, the entropy panel and the reproduce script all read it from
:data:`NORMALISERS`.
"""

from __future__ import annotations

from importlib import import_module

from .base import Explained, Normaliser

#: The registered normaliser modules, in the order a menu lists them (the registration line).
_MODULES: tuple[str, ...] = ("softmax",)

#: {name: Normaliser} of every registered normaliser.
NORMALISERS: dict[str, Normaliser] = {
    n.name: n for n in (import_module(f"{__name__}.{m}").NORMALISER for m in _MODULES)
}

__all__ = ["NORMALISERS", "Explained", "Normaliser"]

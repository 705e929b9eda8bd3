"""Random generators that reproduce the seed tutorials' own generators, in pure NumPy.

* :class:`RGenerator` — R's ``set.seed(s); runif(...)`` (Mersenne-Twister with R's
  seed scrambling), for the R vignette.
* :class:`TorchGenerator` — ``torch.manual_seed(s); torch.rand / torch.randn`` on
  the CPU (float32), for the PyTorch notebook; ``nn.Embedding(n, d)`` is
  :func:`embedding_init`.
* :class:`NumpyGenerator` — NumPy's legacy ``np.random.seed(s)`` global stream
  (``RandomState``), for the NumPy notebook.

:func:`draw_matrix` is the one place that turns "generator + initialisation +
shape" into a matrix, in each source's own habits (R fills column-major; torch
draws a weight as (d_out, d_in) and applies it to column vectors).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from ..errors import ValidationError
from .r_mt import RGenerator, r_matrix
from .torch_mt import TorchGenerator, embedding_init

RandomSource = Literal["numpy", "r", "torch"]
Init = Literal["int3", "uniform", "normal", "kaiming"]
RANDOM_SOURCES: tuple[RandomSource, ...] = ("numpy", "r", "torch")
INITS: tuple[Init, ...] = ("int3", "uniform", "normal", "kaiming")


class NumpyGenerator:
    """``np.random.seed(seed)`` followed by the legacy global-stream calls.

    ``np.random.seed`` seeds the global ``RandomState``; a private
    ``RandomState(seed)`` draws the identical stream without touching global
    state (so two users of the app cannot disturb each other).
    """

    def __init__(self, seed: int) -> None:
        if not 0 <= int(seed) < 2**32:
            raise ValidationError(f"NumPy's legacy seed must be in 0 … 2**32 - 1, got {seed}")
        self._rs = np.random.RandomState(int(seed))

    def randint(self, high: int, size: tuple[int, ...]) -> np.ndarray:
        """== ``np.random.randint(high, size=size)`` (int64)."""
        return self._rs.randint(high, size=size)

    def rand(self, *shape: int) -> np.ndarray:
        """== ``np.random.rand(*shape)``: uniform [0, 1) float64."""
        return self._rs.rand(*shape)

    def randn(self, *shape: int) -> np.ndarray:
        """== ``np.random.randn(*shape)``: standard normal float64 (polar Box–Muller)."""
        return self._rs.randn(*shape)


def make_generator(source: RandomSource, seed: int) -> NumpyGenerator | RGenerator | TorchGenerator:
    """A fresh generator of ``source`` seeded as the tutorial seeds it.

    Each generator accepts the seeds its tool accepts (R: a 32-bit signed
    integer; NumPy: 0 … 2**32 - 1; torch: see :class:`TorchGenerator`); any
    other seed is a :class:`ValidationError` naming the range.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValidationError(f"the seed must be a whole number, got {seed!r}", field="seed")
    classes = {"numpy": NumpyGenerator, "r": RGenerator, "torch": TorchGenerator}
    if source not in classes:
        raise ValidationError(
            f"unknown random source {source!r}; choose one of {RANDOM_SOURCES}", field="random_source"
        )
    try:
        return classes[source](int(seed))
    except ValidationError as exc:
        raise ValidationError(str(exc), field="seed") from None
    except (ValueError, OverflowError) as exc:  # the generators' own range checks
        raise ValidationError(
            f"seed {seed} does not work with the {source} source: {exc}", field="seed"
        ) from None


def draw_matrix(
    gen: NumpyGenerator | RGenerator | TorchGenerator,
    init: Init,
    rows: int,
    cols: int,
    *,
    weight: bool = False,
) -> np.ndarray:
    """A (rows, cols) float64 matrix drawn the way each tutorial draws it.

    ``init``: ``"int3"`` integers 0, 1, 2 (R: ``floor(runif(n, 0, 3))``; NumPy:
    ``randint(3)``; torch: ``floor(3·rand)``), ``"uniform"`` [0, 1), ``"normal"``
    standard normal (R: not available, we refuse it), ``"kaiming"`` normal times
    √(2 / fan_in) (He initialisation; fan_in = rows of a weight).

    ``weight=True`` marks a projection matrix used as ``X @ W`` (rows = d_in).
    Torch tutorials draw such a weight as ``rand(d_out, d_in)`` and apply it to
    column vectors (``W.matmul(x)``), so for torch we draw (cols, rows) and
    transpose: the numbers are the notebook's, in our row convention.
    """
    for v in (rows, cols):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise ValidationError(f"matrix shape must be whole numbers, got ({rows!r}, {cols!r})")
    if rows < 0 or cols < 0:
        raise ValidationError(f"matrix shape must be non-negative, got ({rows}, {cols})")
    if init == "kaiming":  # He et al.: N(0, 2 / fan_in), so Q and K keep a unit-scale spread
        fan_in = rows if weight else cols
        return draw_matrix(gen, "normal", rows, cols, weight=weight) * np.sqrt(2.0 / max(fan_in, 1))
    if isinstance(gen, NumpyGenerator):
        if init == "int3":
            return gen.randint(3, size=(rows, cols)).astype(np.float64)  # (rows, cols), row-major stream
        if init == "uniform":
            return gen.rand(rows, cols)
        if init == "normal":
            return gen.randn(rows, cols)
    elif isinstance(gen, RGenerator):
        if init == "int3":
            return r_matrix(np.floor(gen.runif(rows * cols, 0.0, 3.0)), rows, cols)  # column-major fill
        if init == "uniform":
            return r_matrix(gen.runif(rows * cols), rows, cols)
        if init == "normal":
            raise ValidationError(
                "the R-compatible source offers integers 0..2 and uniform [0, 1) only", field="init"
            )
    elif isinstance(gen, TorchGenerator):
        shape = (cols, rows) if weight else (rows, cols)  # torch draws weights as (d_out, d_in)
        if init == "int3":
            m = np.floor(3.0 * gen.rand(*shape).astype(np.float64))
        elif init == "uniform":
            m = gen.rand(*shape).astype(np.float64)
        elif init == "normal":
            m = gen.randn(*shape).astype(np.float64)
        else:
            raise ValidationError(f"unknown initialisation {init!r}; choose one of {INITS}")
        return m.T.copy() if weight else m
    raise ValidationError(f"unknown initialisation {init!r}; choose one of {INITS}")


__all__ = [
    "INITS",
    "RANDOM_SOURCES",
    "Init",
    "NumpyGenerator",
    "RGenerator",
    "RandomSource",
    "TorchGenerator",
    "draw_matrix",
    "embedding_init",
    "make_generator",
    "r_matrix",
]

"""R's default random number generator, ``set.seed(seed); runif(n)``, in NumPy.

R's default ``RNGkind()`` is ``"Mersenne-Twister"`` (src/main/RNG.c). This
module reproduces it bit for bit, so that a lesson written in R
(``set.seed(0); matrix(floor(runif(9, 0, 3)), 3, 3)``) gives the same numbers
here. There are four parts.

1. Seeding, ``set.seed(seed)`` (``RNG_Init``)
   The seed is read as R's C type ``Int32``, which is *unsigned* 32-bit, so a
   negative seed wraps modulo 2³² (``-1`` becomes 4294967295). It is scrambled
   by 50 steps of the linear congruential generator (LCG)
   ``seed = 69069·seed + 1 (mod 2³²)``. Then the LCG keeps running and each
   step fills one of R's 625 seed slots: ``dummy[0]`` (which is MT's position
   ``mti``) and then ``mt[0] … mt[623]``, the Mersenne-Twister state.
   ``FixupSeeds`` finally sets ``mti = 624`` — "state used up" — so the first
   draw regenerates the whole state; the LCG value that went into slot 0 is
   simply overwritten (R keeps that step for historical consistency). It
   also re-seeds from the clock if all 624 state words are zero, which an LCG
   with increment 1 can never produce, so that branch is not reproduced.

2. State regeneration, the "twist" (MT19937, Matsumoto & Nishimura 1998),
   shared with the torch generator in :mod:`.mt19937`.

3. Output, ``MT_genrand``
   The next state word is "tempered" (four xor-shifts) into a 32-bit integer
   ``w``, and the draw is ``w · 2.3283064365386963e-10``. That constant is
   exactly 2⁻³², so every draw is an exact multiple of 2⁻³² in [0, 1).
   ``unif_rand`` passes it through ``fixup``, which moves 0 (and anything that
   rounded to 1) strictly inside (0, 1).

4. ``runif(n, min, max)`` (src/nmath/runif.c)
   ``min + (max - min)·u`` for each of n successive draws, left to right.
   When ``min == max`` R returns ``min`` *without drawing*, and for an invalid
   range it returns NaN, again without drawing; both keep the stream where it
   was, and we do the same (refusing the invalid range with an error).

R fills a matrix column by column: ``matrix(x, nrow, ncol)`` is
:func:`r_matrix`, the other half of reproducing an R tutorial's matrices.
"""

from __future__ import annotations

import math

import numpy as np

from .mt19937 import MT19937
from .mt19937 import N as _N

__all__ = ["R_INT_MAX", "RGenerator", "r_matrix"]

# --- R's constants ------------------------------------------------------------
_MT_SCALE = 2.3283064365386963e-10  # what MT_genrand multiplies by; == 2**-32 exactly
_I2_32M1 = 2.328306437080797e-10  # R's i2_32m1 = 1/(2^32 - 1), used by fixup()
_UINT32 = 0xFFFFFFFF  # mod 2^32 for Python ints
_RANDOM_SEED_KIND = 10403  # .Random.seed[1]: Mersenne-Twister + Inversion + Rejection

R_INT_MAX = 2147483647
"""Largest R integer. R's integers are -R_INT_MAX … R_INT_MAX: -2**31 is NA."""


def _lcg(seed: int) -> int:
    """One step of R's seeding LCG, on a Python int in 0 … 2**32 - 1."""
    return (69069 * seed + 1) & _UINT32


def _seed_slots(seed: int) -> np.ndarray:
    """(625,) uint32: R's seed slots right after ``RNG_Init`` (dummy[0], mt[0..623]).

    The LCG is inherently sequential (each value needs the previous one) and
    runs only 675 steps, so plain Python ints are the clearest way to write it.
    """
    s = seed & _UINT32  # R's Int32 is unsigned: negative seeds wrap mod 2^32
    for _ in range(50):  # "Initial scrambling"
        s = _lcg(s)
    slots = np.empty(_N + 1, dtype=np.uint32)  # (625,)
    for j in range(_N + 1):
        s = _lcg(s)
        slots[j] = s
    return slots


def _fixup(u: np.ndarray) -> np.ndarray:
    """R's ``fixup``: keep draws strictly inside (0, 1). (n,) float64 -> (n,) float64.

    With the 2⁻³² scale a draw is never ≥ 1 and is 0 only for the word 0,
    but R applies both checks, so we do too.
    """
    u = np.where(u <= 0.0, 0.5 * _I2_32M1, u)
    return np.where(1.0 - u <= 0.0, 1.0 - 0.5 * _I2_32M1, u)


def _check_count(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"the number of draws must be a whole number ≥ 0, got {n!r}")
    return int(n)


class RGenerator:
    """R's default generator: Mersenne-Twister seeded by R's ``set.seed``.

    ``RGenerator(s)`` is ``set.seed(s)`` with ``RNGkind()`` at its default
    ``"Mersenne-Twister"``; successive calls continue one stream, as
    successive ``runif`` calls in one R session do. Only uniform draws are
    provided (R's "Inversion" normal generator is not needed here).
    """

    def __init__(self, seed: int) -> None:
        """== ``set.seed(seed)``; seed is a whole number in -2147483647 … 2147483647."""
        # R's set.seed() takes an R integer; -2**31 is R's NA and is refused by R too.
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            # ValueError, not TypeError: callers catch ValueError for every bad seed.
            raise ValueError(f"R's set.seed takes a whole number, got {seed!r}")  # noqa: TRY004
        if not -R_INT_MAX <= int(seed) <= R_INT_MAX:
            # (wording relied on by the app's error messages: "R's set.seed takes an integer")
            raise ValueError(f"R's set.seed takes an integer in -{R_INT_MAX} … {R_INT_MAX}, got {int(seed)}")
        slots = _seed_slots(int(seed))  # (625,)
        # mt[0..623]; FixupSeeds sets dummy[0] = mti = 624: "regenerate before the first draw"
        self._mt = MT19937(slots[1:], pos=_N)

    def unif_rand(self, n: int) -> np.ndarray:
        """(n,) float64: R's ``unif_rand()`` called n times; == ``runif(n)``."""
        n = _check_count(n)
        # uint32 -> float64 is exact, and scaling by 2^-32 is exact: no rounding anywhere.
        return _fixup(self._mt.words(n).astype(np.float64) * _MT_SCALE)

    def runif(self, n: int, min: float = 0.0, max: float = 1.0) -> np.ndarray:
        """(n,) float64: == R's ``runif(n, min, max)``, continuing the stream."""
        n = _check_count(n)
        a, b = float(min), float(max)
        if not (math.isfinite(a) and math.isfinite(b)) or b < a:
            # R returns NaN (with a warning) and draws nothing; an error is more useful here.
            raise ValueError(f"runif needs finite min ≤ max, got min={min!r}, max={max!r}")
        if a == b:
            return np.full(n, a)  # R returns min without drawing: the stream does not move
        # Same operations in the same order as R's C code: a + (b - a) * u, in float64.
        return a + (b - a) * self.unif_rand(n)

    def random_seed(self) -> np.ndarray:
        """(626,) int32: the current state as R's ``.Random.seed`` shows it.

        ``c(10403, mti, mt[0], …, mt[623])``, the words read as R's signed
        integers. Right after ``set.seed`` mti is 624.
        """
        words = np.concatenate([np.array([self._mt.pos], dtype=np.uint32), self._mt.mt])  # (625,)
        return np.concatenate([np.array([_RANDOM_SEED_KIND], dtype=np.int32), words.view(np.int32)])


def r_matrix(values: np.ndarray, nrow: int, ncol: int) -> np.ndarray:
    """(nrow, ncol) float64: R's ``matrix(values, nrow, ncol)``, filled column by column.

    ``values`` is a 1-D sequence of exactly nrow·ncol numbers. Element j of
    ``values`` lands in row ``j % nrow``, column ``j // nrow`` (R is
    column-major), so ``r_matrix([1, 2, 3, 4, 5, 6], 2, 3)`` is
    ``[[1, 3, 5], [2, 4, 6]]``, as R prints ``matrix(1:6, 2, 3)``. R would
    recycle too-short data; here a length mismatch is always a mistake, so it
    is refused.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1:
        raise ValueError(f"r_matrix needs a 1-D vector of values, got shape {v.shape}")
    if nrow < 0 or ncol < 0:
        raise ValueError(f"r_matrix needs non-negative dimensions, got {nrow} x {ncol}")
    if v.size != nrow * ncol:
        raise ValueError(f"r_matrix needs {nrow * ncol} values for {nrow} x {ncol}, got {v.size}")
    # Filling C-order (ncol, nrow) row by row and transposing = filling (nrow, ncol) column by column.
    return v.reshape(ncol, nrow).T.copy()  # (nrow, ncol), a fresh C-contiguous array

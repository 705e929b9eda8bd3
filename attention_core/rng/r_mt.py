"""R's default random generator, ``set.seed(seed); runif(n, min, max)``, in NumPy.

R (src/main/RNG.c) uses MT19937 with its own seeding:

1. ``set.seed(s)`` takes the integer ``s`` as an unsigned 32-bit number
   (a negative seed wraps modulo 2³²) and scrambles it with 50 rounds of the
   linear congruential step ``s = 69069·s + 1 (mod 2³²)``;
2. the same step, repeated, fills R's 625 seed slots: slot 0 holds the MT
   position and slots 1 … 624 the state; R then sets the position to 624, so
   the first draw twists the state (slot 0's scrambled value is overwritten);
3. ``unif_rand()`` is ``word · 2.3283064365386963e-10`` (that is, / (2³² − 1)
   approximately), nudged into the open interval (0, 1);
4. ``runif(n, a, b)`` is ``a + (b − a)·u`` for each draw, in order.

R fills matrices column by column: ``matrix(x, nrow, ncol)`` is :func:`r_matrix`.
"""

from __future__ import annotations

import numpy as np

from .mt19937 import N, MT19937

_I2_32M1 = 2.328306437080797e-10  # 1 / (2^32 - 1), R's i2_32m1
_MT_SCALE = 2.3283064365386963e-10  # 2^-32, what MT_genrand multiplies by
_LCG_MASK = 0xFFFFFFFF


def _lcg(seed: int) -> int:
    return (69069 * seed + 1) & _LCG_MASK


class RGenerator:
    """== ``set.seed(seed)`` in R (RNGkind "Mersenne-Twister"); draws continue one stream."""

    def __init__(self, seed: int) -> None:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise ValueError(f"R's set.seed takes a whole number, got {seed!r}")
        if not -(2**31 - 1) <= int(seed) <= 2**31 - 1:
            raise ValueError(f"R's set.seed takes an integer in -2147483647 … 2147483647, got {seed}")
        s = int(seed) & _LCG_MASK  # R's Int32 is unsigned: negative seeds wrap
        for _ in range(50):  # initial scrambling
            s = _lcg(s)
        slots = []
        for _ in range(N + 1):  # dummy[0] (position) and mt[0..623]
            s = _lcg(s)
            slots.append(s)
        self._mt = MT19937(np.array(slots[1:], dtype=np.uint32), pos=N)  # FixupSeeds: position 624

    def unif_rand(self, n: int) -> np.ndarray:
        """(n,) float64: R's ``unif_rand()`` n times, each in the open interval (0, 1)."""
        u = self._mt.words(int(n)).astype(np.float64) * _MT_SCALE
        u = np.where(u <= 0.0, 0.5 * _I2_32M1, u)  # R's fixup()
        return np.where(1.0 - u <= 0.0, 1.0 - 0.5 * _I2_32M1, u)

    def runif(self, n: int, min: float = 0.0, max: float = 1.0) -> np.ndarray:  # noqa: A002 (R's names)
        """(n,) float64: == ``runif(n, min, max)`` in R, continuing the stream."""
        if n < 0:
            raise ValueError(f"runif needs n ≥ 0, got {n}")
        if min == max:
            return np.full(int(n), float(min))  # R returns min without drawing
        return min + (max - min) * self.unif_rand(n)


def r_matrix(values: np.ndarray, nrow: int, ncol: int) -> np.ndarray:
    """(nrow, ncol): R's ``matrix(values, nrow, ncol)``, which fills column by column."""
    v = np.asarray(values, dtype=np.float64)
    if v.size != nrow * ncol:
        raise ValueError(f"matrix() needs {nrow * ncol} values for {nrow} x {ncol}, got {v.size}")
    return v.reshape(ncol, nrow).T.copy()

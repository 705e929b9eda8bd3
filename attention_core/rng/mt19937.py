"""The Mersenne Twister MT19937 (Matsumoto & Nishimura, 1998), vectorised with NumPy.

R's default generator and PyTorch's CPU generator are both this algorithm; they
differ only in how a seed becomes the 624-word state (see :mod:`.r_mt` and
:mod:`.torch_mt`) and in how 32-bit words become numbers. This module owns the
part they share: the state "twist" and the output "tempering".

The recurrence, for k = 0 … 623 (indices mod 624)::

    y      = (mt[k] & 0x80000000) | (mt[k+1] & 0x7fffffff)
    mt[k]  = mt[k+397] ^ (y >> 1) ^ (0x9908b0df if y is odd else 0)

Written sequentially, mt[k+397] for k ≥ 227 is an already-updated word, so we
update in blocks whose inputs are all final: [0, 227), [227, 454), [454, 623)
and the last word alone. Each block is one vectorised NumPy expression.
"""

from __future__ import annotations

import numpy as np

N, M = 624, 397
MATRIX_A = np.uint32(0x9908B0DF)
UPPER, LOWER = np.uint32(0x80000000), np.uint32(0x7FFFFFFF)


def twist(mt: np.ndarray) -> np.ndarray:
    """The next 624-word state after ``mt`` (uint32, shape (624,)); ``mt`` is left unchanged.

    The textbook loop updates mt[k] in place for k = 0 … 623, and mt[k] reads
    mt[k+1] (not yet updated) and mt[(k+397) mod 624], which is *already*
    updated once k ≥ 227 = 624 − 397. So the loop splits into blocks in which
    every input is final before the block starts:

    * k in [0, 227):   partner k+397 in [397, 624) — old words;
    * k in [227, 454): partner k−227 in [0, 227)   — updated by block 1;
    * k in [454, 623): partner k−227 in [227, 396) — updated by block 2;
    * k = 623 alone:   it needs the *new* mt[0] as its "next" word.
    """
    old = mt.astype(np.uint32)
    new = old.copy()
    for lo, hi in ((0, N - M), (N - M, 2 * (N - M)), (2 * (N - M), N - 1)):
        k = np.arange(lo, hi)
        y = (new[k] & UPPER) | (new[k + 1] & LOWER)  # mt[k+1] is still the old word here
        new[k] = new[(k + M) % N] ^ (y >> np.uint32(1)) ^ np.where(y & np.uint32(1), MATRIX_A, np.uint32(0))
    y = (new[N - 1] & UPPER) | (new[0] & LOWER)  # the last word wraps around to the new mt[0]
    new[N - 1] = new[M - 1] ^ (y >> np.uint32(1)) ^ (MATRIX_A if y & np.uint32(1) else np.uint32(0))
    return new


def temper(y: np.ndarray) -> np.ndarray:
    """MT19937's output tempering of state words ``y`` (uint32, any shape)."""
    y = y.astype(np.uint32)
    y ^= y >> np.uint32(11)
    y ^= (y << np.uint32(7)) & np.uint32(0x9D2C5680)
    y ^= (y << np.uint32(15)) & np.uint32(0xEFC60000)
    y ^= y >> np.uint32(18)
    return y


class MT19937:
    """A state of 624 words and a position; ``words(n)`` continues the stream.

    ``pos`` is the index of the next word to hand out; ``pos == 624`` means
    "twist first" (both R and torch start a freshly seeded stream that way).
    """

    def __init__(self, state: np.ndarray, pos: int = N) -> None:
        self.mt = np.asarray(state, dtype=np.uint32).copy()  # (624,)
        if self.mt.shape != (N,):
            raise ValueError(f"MT19937 needs 624 state words, got {self.mt.shape}")
        self.pos = pos

    def words(self, n: int) -> np.ndarray:
        """The next ``n`` tempered 32-bit outputs, (n,) uint32."""
        out = np.empty(n, dtype=np.uint32)
        filled = 0
        while filled < n:
            if self.pos >= N:
                self.mt = twist(self.mt)
                self.pos = 0
            take = min(n - filled, N - self.pos)
            out[filled : filled + take] = temper(self.mt[self.pos : self.pos + take])
            self.pos += take
            filled += take
        return out

"""PyTorch's CPU generator, ``torch.manual_seed(seed); torch.rand / torch.randn``, in NumPy.

What torch does (ATen: ``core/MT19937RNGEngine.h``, ``CPUGeneratorImpl.cpp``,
``core/TransformationHelper.h``, ``core/DistributionsHelper.h``,
``native/cpu/DistributionTemplates.h``), and what we reproduce:

* **Seeding.** ``manual_seed(s)`` (s in −2⁶³ … 2⁶⁴ − 1, negative ones taken
  modulo 2⁶⁴) builds an MT19937 with the classic
  ``init_genrand``: ``mt[0] = s mod 2³²``, ``mt[i] = 1812433253·(mt[i−1] ^
  (mt[i−1] >> 30)) + i``. It also forgets any cached normal sample.
* **Words.** ``random()`` is one 32-bit MT output; ``random64()`` is two,
  the first as the high half: ``(w1 << 32) | w2``.
* **rand (float32).** Each element takes one word and keeps its low 24 bits:
  ``(w & 0xFFFFFF) / 2²⁴``, element by element in memory order. Bit-exact.
* **randn with 16 or more elements** (``normal_fill``): first every element
  gets a float32 uniform as above; then each block of 16 is turned into
  normals by Box–Muller, pairing element j with j + 8::

      u1 = 1 − data[j],  u2 = data[j + 8]
      data[j]     = √(−2 ln u1) · cos(2π u2)
      data[j + 8] = √(−2 ln u1) · sin(2π u2)

  When the count is not a multiple of 16, the *last 16* elements are given
  fresh uniforms and recomputed the same way (so they overlap the previous
  block). torch's vectorised kernels evaluate log/sin/cos with float SIMD
  polynomials whose last bits differ between CPU builds; we compute in double
  precision and round to float32, which agrees to about 1e-6.
* **randn with fewer than 16 elements**: one element at a time through
  ``normal_distribution<double>``: two doubles ``u1, u2`` from ``random64()``
  with 53 bits each, ``r = √(−2 log1p(−u2))``, ``θ = 2π u1``; the element is
  ``r cos θ`` and ``r sin θ`` is cached in the generator for the next such
  element, even across calls (a manual_seed clears the cache).
* ``nn.Embedding(n, d)`` initialises its weight with ``normal_(0, 1)``, the
  same draw as ``randn(n, d)``: :func:`embedding_init`.
"""

from __future__ import annotations

import math

import numpy as np

from .mt19937 import N, MT19937

_MASK24 = np.uint32(0xFFFFFF)
_MASK53 = (1 << 53) - 1


def _init_genrand(seed32: int) -> np.ndarray:
    """(624,) uint32: MT19937's reference seeding, as torch's mt19937 constructor does it."""
    mt = [seed32]
    for i in range(1, N):
        prev = mt[-1]
        mt.append((1812433253 * (prev ^ (prev >> 30)) + i) & 0xFFFFFFFF)
    return np.array(mt, dtype=np.uint32)


class TorchGenerator:
    """== ``torch.manual_seed(seed)`` on the default CPU generator, then rand/randn calls."""

    def __init__(self, seed: int) -> None:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise ValueError(f"torch.manual_seed takes a whole number, got {seed!r}")
        seed = int(seed)
        if not -(2**63) <= seed <= 2**64 - 1:
            raise ValueError(f"torch.manual_seed takes a seed in -2**63 … 2**64 - 1, got {seed}")
        if seed < 0:
            # torch reads the seed as a 64-bit two's complement number: -5 -> 2**64 - 5
            # (checked against torch 2.13.0; its docstring says 0xffff_ffff_ffff_ffff + seed).
            seed += 2**64
        self._mt = MT19937(_init_genrand(seed & 0xFFFFFFFF), pos=N)
        self._cached_normal: float | None = None  # next_double_normal_sample

    # -- uniforms -------------------------------------------------------------
    def _float_uniforms(self, n: int) -> np.ndarray:
        """(n,) float32 in [0, 1): 24 bits of one word each."""
        return ((self._mt.words(n) & _MASK24).astype(np.float64) / 2.0**24).astype(np.float32)

    def _double_uniform(self) -> float:
        """One float64 in [0, 1) from random64(): 53 bits of two words."""
        w1, w2 = (int(w) for w in self._mt.words(2))
        return (((w1 << 32) | w2) & _MASK53) / 2.0**53

    # -- public draws ---------------------------------------------------------
    def rand(self, *shape: int) -> np.ndarray:
        """float32 array of ``shape``: == ``torch.rand(*shape)``, bit for bit."""
        n = math.prod(shape)
        return self._float_uniforms(n).reshape(shape)

    def randn(self, *shape: int) -> np.ndarray:
        """float32 array of ``shape``: == ``torch.randn(*shape)`` to about 1e-6."""
        n = math.prod(shape)
        if n >= 16:
            return self._normal_fill(n).reshape(shape)
        return np.array([self._scalar_normal() for _ in range(n)], dtype=np.float32).reshape(shape)

    def _normal_fill(self, n: int) -> np.ndarray:
        data = self._float_uniforms(n).astype(np.float64)  # (n,) the uniforms, in float32 values
        out = np.empty(n, dtype=np.float64)
        full = (n // 16) * 16
        out[:full] = _box_muller_16(data[:full].reshape(-1, 16)).ravel()
        if n % 16:
            tail = self._float_uniforms(16).astype(np.float64)  # fresh uniforms for the last 16
            out[n - 16:] = _box_muller_16(tail.reshape(1, 16)).ravel()
        return out.astype(np.float32)

    def _scalar_normal(self) -> float:
        if self._cached_normal is not None:
            value, self._cached_normal = self._cached_normal, None
            return value
        u1 = self._double_uniform()
        u2 = self._double_uniform()
        r = math.sqrt(-2.0 * math.log1p(-u2))
        theta = 2.0 * math.pi * u1
        self._cached_normal = r * math.sin(theta)
        return r * math.cos(theta)


def _box_muller_16(u: np.ndarray) -> np.ndarray:
    """(blocks, 16) uniforms → normals, pairing column j with j + 8 (normal_fill_16)."""
    u1 = 1.0 - u[:, :8]  # (blocks, 8) in (0, 1]: safe for log
    u2 = u[:, 8:]  # (blocks, 8)
    radius = np.sqrt(-2.0 * np.log(u1))
    theta = 2.0 * np.pi * u2
    return np.concatenate([radius * np.cos(theta), radius * np.sin(theta)], axis=1)


def embedding_init(gen: TorchGenerator, num_embeddings: int, embedding_dim: int) -> np.ndarray:
    """(num_embeddings, embedding_dim) float32: ``nn.Embedding(n, d).weight`` (a normal_(0, 1) draw)."""
    return gen.randn(num_embeddings, embedding_dim)

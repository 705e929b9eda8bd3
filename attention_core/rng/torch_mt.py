"""PyTorch's CPU random generator in pure NumPy: ``torch.manual_seed(s)`` then ``rand`` / ``randn``.

The PyTorch seed notebook writes ``torch.manual_seed(123)``, builds
``nn.Embedding(6, 16)`` and draws ``W = torch.rand(24, 16)``. To show *the
notebook's own numbers* without shipping torch, this module re-implements the
few pieces of ATen involved. The file names below are those of the PyTorch
source tree (``aten/src/ATen/...``); the behaviour was checked against a real
torch 2.13.0 (``tests/fixtures/make_torch_fixtures.py``).

1. Seeding — ``CPUGeneratorImpl.cpp`` (``set_current_seed``) and
   ``core/MT19937RNGEngine.h`` (``init_with_uint32``).
   ``torch.manual_seed`` accepts −2⁶³ … 2⁶⁴ − 1 and stores the seed as an
   unsigned 64-bit number (a negative seed s becomes 2⁶⁴ + s). The Mersenne
   Twister only uses its low 32 bits, ``mt[0] = seed mod 2³²``, and fills the
   rest of its 624 words with Knuth's recurrence
   ``mt[i] = 1812433253 · (mt[i−1] xor (mt[i−1] >> 30)) + i  (mod 2³²)``.
   So seeds 5, 2³² + 5 and −(2⁶⁴ − 5) give the same stream. Seeding also
   forgets the cached normal sample of step 5.

2. Words — ``CPUGeneratorImpl.cpp``: ``random()`` is the next tempered 32-bit
   MT19937 output; ``random64()`` takes two, the *first* as the high half:
   ``(w₁ << 32) | w₂``. The twist and tempering are shared with the R generator
   (:mod:`.mt19937`).

3. ``torch.rand`` (float32) — ``core/TransformationHelper.h``
   (``uniform_real``) and ``uniform_kernel`` in ``native/cpu/DistributionTemplates.h``:
   one ``random()`` word per element, in memory (C) order, of which only the
   low 24 bits are kept (float32 has a 24-bit significand):
   ``u = (w & 0xFFFFFF) · 2⁻²⁴``, a multiple of 2⁻²⁴ in [0, 1). This is exact,
   so our ``rand`` is bit-for-bit torch's.

4. ``torch.randn`` with **16 or more** elements (float32, contiguous) —
   ``normal_fill`` in ``native/cpu/DistributionTemplates.h``:

   a. every element first receives a float32 uniform as in step 3;
   b. each complete block of 16 is turned into 16 normals by Box–Muller,
      pairing element j with element j + 8 (j = 0 … 7)::

          u₁ = 1 − data[j]          (in (0, 1], so the log is finite)
          u₂ = data[j + 8]
          r  = √(−2 ln u₁),  θ = 2π u₂
          data[j] = r cos θ,  data[j + 8] = r sin θ

   c. if the count is not a multiple of 16, the *last 16 elements* (which
      overlap the last complete block) get 16 *fresh* uniforms and step b is
      applied to them again.

   torch evaluates b in float32 with SIMD polynomials (``normal_fill_16_AVX2``
   and ``avx_mathfun.h``; which kernel runs depends on the CPU and the build,
   and a build without AVX2 uses a scalar float loop instead). We do not
   imitate any of them: we compute b in double precision from the same float32
   uniforms and round once to float32. The difference is mostly torch's float32
   rounding of θ, multiplied by the radius r, so it is largest when u₁ is tiny.
   Against torch 2.13.0 on an AVX-512 machine: 0.8e-6 at most on the test
   fixtures, 1.97e-6 at most over 30 million samples. That is why randn is
   promised to 2e-6, not bit for bit; values with r close to its maximum
   (√(−2 ln 2⁻²⁴) ≈ 5.8, about one sample in millions) can exceed it slightly.

5. ``torch.randn`` with **fewer than 16** elements — the element-by-element
   branch of ``normal_kernel`` (same file) through
   ``at::normal_distribution<double>`` (``core/DistributionsHelper.h``):

   * if the generator holds a cached sample, the element is that sample and the
     cache is emptied;
   * otherwise two float64 uniforms are drawn, each from one ``random64()``
     keeping its low 53 bits: ``u = (x & (2⁵³ − 1)) · 2⁻⁵³``; then
     ``r = √(−2 log1p(−u₂))``, ``θ = 2π u₁``; the element is ``r cos θ`` and
     ``r sin θ`` is cached *in the generator*.

   The cache survives between calls (``randn(5)`` leaves one sample behind for
   the next small ``randn``) and is untouched by ``rand`` and by step 4. This
   path is scalar double-precision libm code, which Python's ``math`` module
   reproduces exactly on the same C library (bit for bit against torch here).

6. ``nn.Embedding(n, d)`` initialises its weight with ``normal_(0, 1)``, which
   is the same kernel as ``randn(n, d)``: :func:`embedding_init`.
"""

from __future__ import annotations

import math

import numpy as np

from .mt19937 import MT19937, N

# The seeds torch.manual_seed accepts: it first tries to read the Python int as
# an unsigned 64-bit number, then (on overflow) as a signed one.
SEED_MIN = -(2**63)
SEED_MAX = 2**64 - 1

_LOW24 = np.uint32((1 << 24) - 1)  # the bits a float32 uniform keeps
_LOW53 = (1 << 53) - 1  # the bits a float64 uniform keeps
_RANDN_VECTOR_MIN = 16  # numel from which torch.randn switches to normal_fill


def torch_seed_to_uint64(seed: int) -> int:
    """The unsigned 64-bit seed torch stores for ``manual_seed(seed)`` (what ``initial_seed()`` reports).

    Raises ValueError for anything torch would refuse (outside −2⁶³ … 2⁶⁴ − 1) and,
    deliberately, for non-integers: torch would silently apply ``int()`` to 1.5,
    True or "3", which in an app is always a mistake worth reporting.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        # ValueError, not TypeError: callers catch ValueError for every bad seed (see above).
        raise ValueError(f"torch.manual_seed needs a whole number here, got {seed!r}")  # noqa: TRY004
    seed = int(seed)
    if not SEED_MIN <= seed <= SEED_MAX:
        raise ValueError(
            f"torch.manual_seed accepts seeds from -2**63 to 2**64 - 1 "
            f"(torch raises 'Overflow when unpacking long long'), got {seed}"
        )
    # Two's complement: -1 is stored as 2**64 - 1. (torch's docstring says
    # 0xffff_ffff_ffff_ffff + seed, which is one too small; torch 2.13.0 itself
    # reports initial_seed() == 2**64 - 1 after manual_seed(-1).)
    return seed % 2**64


def _mt_seed_state(seed32: int) -> np.ndarray:
    """(624,) uint32: the reference MT19937 initialisation (``init_genrand``) from a 32-bit seed."""
    state = [seed32]
    for i in range(1, N):
        prev = state[-1]
        # Knuth's multiplier spreads the seed's bits over all 624 words; "+ i"
        # keeps two words from ever being equal, even for seed 0.
        state.append((1812433253 * (prev ^ (prev >> 30)) + i) & 0xFFFFFFFF)
    return np.array(state, dtype=np.uint32)


def _parse_shape(shape: tuple) -> tuple[int, ...]:
    """Accept ``rand(2, 3)`` and, like torch, ``rand((2, 3))``; refuse negative or non-integer sizes."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    dims = []
    for size in shape:
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
            # ValueError, not TypeError: one exception type for every bad size, as for seeds.
            raise ValueError(f"tensor sizes must be whole numbers, got {size!r}")  # noqa: TRY004
        if size < 0:
            raise ValueError(f"trying to create a tensor with negative dimension {size}: {list(shape)}")
        dims.append(int(size))
    return tuple(dims)


class TorchGenerator:
    """== ``torch.manual_seed(seed)`` followed by ``torch.rand`` / ``torch.randn`` calls
    on the default CPU generator (float32).

    One instance is one generator stream: successive calls continue it exactly as
    successive torch calls do, including the normal sample torch caches between
    small ``randn`` calls. Arrays come back as float32, the dtype torch uses.

    >>> g = TorchGenerator(123)
    >>> embedding = g.randn(6, 16)     # nn.Embedding(6, 16).weight
    >>> W_query = g.rand(24, 16)       # torch.rand(24, 16), bit for bit
    """

    def __init__(self, seed: int) -> None:
        self.initial_seed: int = torch_seed_to_uint64(seed)  # == torch.initial_seed()
        # Only the low 32 bits reach the Mersenne Twister (init_with_uint32).
        # pos = N: the first word request twists the fresh state first, as
        # torch's engine does (it starts with left_ = 1).
        self._mt = MT19937(_mt_seed_state(self.initial_seed & 0xFFFFFFFF), pos=N)
        # CPUGeneratorImpl::next_double_normal_sample_: the sin half of the last
        # scalar Box-Muller pair, waiting for the next small randn.
        self._cached_normal: float | None = None

    # ---- the generator's two primitive draws (CPUGeneratorImpl) --------------
    def _random(self, n: int) -> np.ndarray:
        """(n,) uint32: n successive ``random()`` words."""
        return self._mt.words(n)

    def _random64(self) -> int:
        """One ``random64()``: two words, the first one as the high half."""
        hi, lo = (int(w) for w in self._mt.words(2))
        return (hi << 32) | lo

    # ---- uniforms (TransformationHelper.h: uniform_real) ---------------------
    def _uniform_float32(self, n: int) -> np.ndarray:
        """(n,) float32 in [0, 1): one word each, low 24 bits times 2⁻²⁴ (exact)."""
        words = self._random(n)  # (n,) uint32
        return ((words & _LOW24).astype(np.float64) * 2.0**-24).astype(np.float32)

    def _uniform_float64(self) -> float:
        """One float64 in [0, 1): a ``random64()``, low 53 bits times 2⁻⁵³ (exact)."""
        return (self._random64() & _LOW53) * 2.0**-53

    # ---- public draws --------------------------------------------------------
    def rand(self, *shape: int) -> np.ndarray:
        """== ``torch.rand(*shape)``: float32 uniforms in [0, 1), bit for bit."""
        dims = _parse_shape(shape)
        return self._uniform_float32(math.prod(dims)).reshape(dims)  # C order, as torch fills

    def randn(self, *shape: int) -> np.ndarray:
        """== ``torch.randn(*shape)``: float32 standard normals, within 2e-6 of torch.

        Which algorithm torch uses depends only on the element count, so two calls
        with the same numbers of elements consume the stream identically whatever
        their shapes.
        """
        dims = _parse_shape(shape)
        n = math.prod(dims)
        if n >= _RANDN_VECTOR_MIN:
            flat = self._normal_fill(n)
        else:
            flat = np.array([self._normal_scalar() for _ in range(n)], dtype=np.float64).astype(np.float32)
        return flat.reshape(dims)

    # ---- randn, 16 or more elements (normal_fill) ----------------------------
    def _normal_fill(self, n: int) -> np.ndarray:
        """(n,) float32 normals the way ``normal_fill`` makes them (module docstring, step 4)."""
        data = self._uniform_float32(n).astype(np.float64)  # (n,) every element a uniform first
        out = np.empty(n, dtype=np.float64)  # (n,)
        n_full = n - n % 16  # elements covered by complete blocks of 16
        out[:n_full] = _box_muller_blocks(data[:n_full].reshape(-1, 16)).ravel()
        if n_full < n:
            # The leftover elements are not paired with the uniforms already drawn
            # for them: torch draws 16 new uniforms for the last 16 positions
            # (overwriting part of the last full block) and transforms those.
            tail = self._uniform_float32(16).astype(np.float64)  # (16,)
            out[n - 16 :] = _box_muller_blocks(tail.reshape(1, 16)).ravel()
        return out.astype(np.float32)  # one rounding, from exact-as-possible doubles

    # ---- randn, fewer than 16 elements (normal_distribution<double>) ---------
    def _normal_scalar(self) -> float:
        """One float64 normal, using and refilling the generator's cached sample (step 5)."""
        if self._cached_normal is not None:
            value, self._cached_normal = self._cached_normal, None
            return value
        u1 = self._uniform_float64()  # drawn first: it becomes the angle
        u2 = self._uniform_float64()  # drawn second: it becomes the radius
        radius = math.sqrt(-2.0 * math.log1p(-u2))  # log1p(-u2) == log(1 - u2), finite as u2 < 1
        theta = 2.0 * math.pi * u1  # (2π)·u1, evaluated in the same order as torch
        self._cached_normal = radius * math.sin(theta)
        return radius * math.cos(theta)


def _box_muller_blocks(u: np.ndarray) -> np.ndarray:
    """(blocks, 16) float64 uniforms → (blocks, 16) normals, as ``normal_fill_16`` does.

    Columns 0–7 supply the radii and columns 8–15 the angles; the cosines land in
    columns 0–7 and the sines in columns 8–15.
    """
    u1 = 1.0 - u[:, :8]  # (blocks, 8) in (0, 1]: uniforms are < 1, so log(u1) is finite
    u2 = u[:, 8:]  # (blocks, 8) in [0, 1)
    radius = np.sqrt(-2.0 * np.log(u1))  # (blocks, 8)
    theta = 2.0 * np.pi * u2  # (blocks, 8)
    return np.concatenate([radius * np.cos(theta), radius * np.sin(theta)], axis=1)


def embedding_init(gen: TorchGenerator, num_embeddings: int, embedding_dim: int) -> np.ndarray:
    """(num_embeddings, embedding_dim) float32: ``nn.Embedding(n, d).weight`` right after construction.

    ``nn.Embedding.reset_parameters`` calls ``init.normal_(weight)`` (mean 0, std 1),
    the kernel ``randn(n, d)`` uses; row i is the vector of token id i, so a
    sentence's embeddings are ``embedding_init(...)[ids]``.
    """
    return gen.randn(num_embeddings, embedding_dim)


__all__ = ["SEED_MAX", "SEED_MIN", "TorchGenerator", "embedding_init", "torch_seed_to_uint64"]

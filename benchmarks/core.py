"""Core benchmark: a full trace against the NumPy seed's code and torch, same intermediates."""

from __future__ import annotations

import gc
import statistics
import time
import tracemalloc
from collections.abc import Callable

import numpy as np

from attention_core import multi_head_attention

D_MODEL = 64
SIZES = (6, 64, 512, 1024, 2048)
QUICK_SIZES = (6, 64)
CONFIGS = ((1, False), (1, True), (8, False), (8, True))  # (heads, causal)


def repeats(n: int) -> int:
    return 50 if n <= 64 else 15 if n <= 512 else 7 if n <= 1024 else 5


def medians_ms(fns: dict[str, Callable[[], object]], reps: int) -> dict[str, float]:
    """Median milliseconds of each function, run in turn within every repetition.

    Interleaving (A B C, A B C, …) exposes every contender to the same moments of a shared,
    noisy machine, so the ratios between them hold even when the absolute times drift.
    """
    for fn in fns.values():
        fn()  # warm up
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(reps):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - t0) * 1000)
    return {name: statistics.median(ts) for name, ts in times.items()}


def peak_bytes(fn: Callable[[], object]) -> int:
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    result = fn()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    del result
    return peak


def numpy_reference(x, W_q, W_k, W_v, W_o, heads: int, causal: bool) -> list[np.ndarray]:
    """The NumPy seed notebook's code, per head, keeping scores, scaled scores and weights."""
    Q, K, V = x @ W_q, x @ W_k, x @ W_v
    d = Q.shape[1] // heads
    kept, outs = [], []
    mask = np.tril(np.ones((len(x), len(x)), dtype=bool)) if causal else None
    for h in range(heads):
        q, k, v = Q[:, h * d : (h + 1) * d], K[:, h * d : (h + 1) * d], V[:, h * d : (h + 1) * d]
        scores = q @ k.T
        scaled = scores / k.shape[1] ** 0.5
        if mask is not None:
            scaled = np.where(mask, scaled, -np.inf)
        e = np.exp(scaled - scaled.max(axis=1, keepdims=True))  # scipy.special.softmax(…, axis=1)
        weights = e / e.sum(axis=1, keepdims=True)
        outs.append(weights @ v)
        kept += [scores, scaled, weights]
    return [*kept, np.concatenate(outs, axis=1) @ W_o]


def torch_functions(x, W_q, W_k, W_v, W_o, heads: int, causal: bool):
    try:
        import torch
    except ImportError:
        return None, None
    tx, tq, tk, tv, to = (torch.from_numpy(a) for a in (x, W_q, W_k, W_v, W_o))
    d = W_q.shape[1] // heads
    mask = torch.ones(len(x), len(x), dtype=torch.bool).tril() if causal else None

    def same_intermediates():
        Q, K, V = tx @ tq, tx @ tk, tx @ tv
        kept, outs = [], []
        for h in range(heads):
            q, k, v = Q[:, h * d : (h + 1) * d], K[:, h * d : (h + 1) * d], V[:, h * d : (h + 1) * d]
            scores = q @ k.T
            scaled = scores * d**-0.5
            if mask is not None:
                scaled = scaled.masked_fill(~mask, float("-inf"))
            weights = torch.softmax(scaled, dim=-1)
            outs.append(weights @ v)
            kept += [scores, scaled, weights]
        return kept, torch.cat(outs, dim=1) @ to

    def sdpa():  # materialises nothing: a floor, not a peer
        Q, K, V = ((tx @ w).view(len(x), heads, d).transpose(0, 1) for w in (tq, tk, tv))
        o = torch.nn.functional.scaled_dot_product_attention(Q, K, V, is_causal=causal)
        return o.transpose(0, 1).reshape(len(x), -1) @ to

    return same_intermediates, sdpa


def run(quick: bool = False) -> dict:
    rs = np.random.RandomState(0)
    out: dict = {
        k: {} for k in ("core_ms", "core_vs_numpy_ratio", "core_vs_torch_ratio", "core_peak_n2_per_head")
    }
    detail = []
    print("core: full trace, d_model 64 (ms, median)")
    for n in QUICK_SIZES if quick else SIZES:
        x = rs.randn(n, D_MODEL)
        W = [rs.randn(D_MODEL, D_MODEL) / 8 for _ in range(4)]
        worst_np, worst_torch, peak_units = 0.0, None, 0.0
        for heads, causal in CONFIGS:
            # Defaults bind this iteration's values (the lambdas are only called within it anyway).
            ours = lambda x=x, W=W, heads=heads, causal=causal: multi_head_attention(
                x, x, *W, heads, causal=causal
            )
            ref = lambda x=x, W=W, heads=heads, causal=causal: numpy_reference(x, *W, heads, causal)
            reps = repeats(n)
            same, sdpa = torch_functions(x, *W, heads, causal)
            fns = {"ours": ours, "numpy": ref, **({"torch": same, "sdpa": sdpa} if same else {})}
            t = medians_ms(fns, reps)
            t_ours, t_ref, t_torch, t_sdpa = t["ours"], t["numpy"], t.get("torch"), t.get("sdpa")
            units = peak_bytes(ours) / (8 * n * n * heads)
            worst_np = max(worst_np, t_ours / t_ref)
            if t_torch:
                worst_torch = max(worst_torch or 0.0, t_ours / t_torch)
            peak_units = max(peak_units, units)
            detail.append(
                {
                    "n": n,
                    "heads": heads,
                    "causal": causal,
                    "ours_ms": t_ours,
                    "numpy_ms": t_ref,
                    "torch_ms": t_torch,
                    "torch_sdpa_ms": t_sdpa,
                    "peak_n2_float64_per_head": units,
                }
            )
            print(
                f"  n={n:5d} heads={heads} causal={causal!s:5}  ours {t_ours:9.2f}  numpy {t_ref:9.2f}"
                + (f"  torch {t_torch:9.2f}  sdpa {t_sdpa:8.2f}" if t_torch else "")
                + f"  peak {units:.2f} n² float64/head"
            )
            if (heads, causal) == (8, True):
                out["core_ms"][str(n)] = t_ours
        out["core_vs_numpy_ratio"][str(n)] = worst_np
        out["core_vs_torch_ratio"][str(n)] = worst_torch
        out["core_peak_n2_per_head"][str(n)] = peak_units
    out["core_detail"] = detail
    return out

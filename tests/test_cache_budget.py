"""The shared trace cache (bounded by bytes, one computation per key) and the per-configuration budget."""

from __future__ import annotations

import dataclasses
import threading
import time
import tracemalloc

import numpy as np
import pytest

from attention_core import LabConfig, ValidationError, run_lab
from attention_core.budget import TRACE_BUDGET_BYTES, estimate_trace_bytes
from attention_core.cache import ByteLRU, nbytes


def test_the_cache_is_bounded_by_bytes_and_keeps_the_recent_entries() -> None:
    cache = ByteLRU(max_bytes=3 * 8000)
    for k in range(10):
        cache.get_or_compute(k, lambda k=k: np.full(1000, k, dtype=np.float64))  # 8,000 bytes each
        assert cache.bytes <= cache.max_bytes
    assert len(cache) == 3 and cache.bytes == 24_000
    cache.get_or_compute(7, lambda: pytest.fail("7 is still cached"))
    cache.get_or_compute(10, lambda: np.zeros(1000))  # evicts 8, the least recently used (7 was just used)
    cache.get_or_compute(7, lambda: pytest.fail("7 was used recently"))
    huge = cache.get_or_compute("huge", lambda: np.zeros(10_000))  # larger than the whole budget
    assert huge.shape == (10_000,) and "huge" not in cache._entries and cache.bytes <= cache.max_bytes


def test_many_threads_asking_for_one_key_compute_it_once() -> None:
    cache, calls = ByteLRU(10**6), []

    def slow() -> np.ndarray:
        calls.append(1)
        time.sleep(0.2)
        return np.ones(10)

    results: list[np.ndarray] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get_or_compute("link", slow))) for _ in range(20)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(results) == 20 and all(r is results[0] for r in results)


def test_a_failed_computation_is_not_kept_and_can_be_retried() -> None:
    cache = ByteLRU(10**6)
    with pytest.raises(ValidationError):
        cache.get_or_compute("bad", lambda: run_lab(LabConfig(sentence="   ")))
    assert cache.get_or_compute("bad", lambda: np.ones(3)).sum() == 3.0


@pytest.mark.parametrize(
    ("n", "heads", "options"),
    [
        (64, 2, {"causal": True}),
        (256, 4, {"positions": "alibi"}),
        (300, 2, {"positions": "rope"}),
        (512, 8, {"causal": True, "window": 16}),
    ],
)
def test_the_estimate_is_within_five_per_cent_of_what_a_trace_holds(
    n: int, heads: int, options: dict
) -> None:
    cfg = dataclasses.replace(
        LabConfig(sentence=" ".join(f"w{i}" for i in range(n)), n_heads=heads, d_v=24), **options
    )
    held = nbytes(run_lab(cfg))
    estimate = estimate_trace_bytes(
        n,
        n,
        16,
        24,
        24,
        heads,
        masked=cfg.causal or cfg.window > 0,
        alibi=cfg.positions == "alibi",
        rope=cfg.positions == "rope",
    )
    assert abs(estimate - held) <= 0.05 * held, (estimate, held)


def test_a_configuration_over_the_budget_is_refused_before_computing() -> None:
    worst = LabConfig(
        sentence=" ".join(f"w{i}" for i in range(1024)), d_k=512, d_v=512, n_heads=64, causal=True
    )
    tracemalloc.start()
    with pytest.raises(
        ValidationError, match=f"the limit for one configuration is {TRACE_BUDGET_BYTES // 2**20} MB"
    ):
        run_lab(worst)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 20 * 2**20  # refused from the sizes: none of its ~1.6 GB was allocated

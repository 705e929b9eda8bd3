"""A cache shared by every session of a server process, bounded by bytes, computing each key once.

A hundred students opening the lecturer's link ask for the same trace at the same moment: the
first computes it, the others wait for that result instead of computing it again. What is kept
is bounded by the bytes it holds (not by a count of entries, which says nothing when one trace
is 2 KB and another 2 GB); the least recently used entries go first, and an entry larger than
the whole budget is returned but never kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np


def nbytes(obj: Any, _seen: set[int] | None = None) -> int:
    """Bytes held by the NumPy arrays reachable from ``obj`` (dataclasses, dicts, lists, tuples),
    each array counted once (views count their base once)."""
    seen = set() if _seen is None else _seen
    if isinstance(obj, np.ndarray):
        base = obj if obj.base is None or not isinstance(obj.base, np.ndarray) else obj.base
        if id(base) in seen:
            return 0
        seen.add(id(base))
        return int(base.nbytes)
    if isinstance(obj, dict):
        return sum(nbytes(v, seen) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(nbytes(v, seen) for v in obj)
    if hasattr(obj, "__dataclass_fields__"):
        return sum(nbytes(getattr(obj, f), seen) for f in obj.__dataclass_fields__)
    return 0


class ByteLRU:
    """Least-recently-used cache bounded by bytes; thread-safe; one computation per key at a time."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = int(max_bytes)
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._pending: dict[Hashable, threading.Event] = {}
        self._lock = threading.Lock()
        self.bytes = 0
        self.hits = self.misses = 0

    def get_or_compute(
        self, key: Hashable, compute: Callable[[], Any], size: Callable[[Any], int] = nbytes
    ) -> Any:
        """The cached value of ``key``, or ``compute()`` (run once even if many threads ask at once)."""
        while True:
            with self._lock:
                if key in self._entries:
                    self._entries.move_to_end(key)
                    self.hits += 1
                    return self._entries[key][0]
                waiting = self._pending.get(key)
                if waiting is None:
                    self._pending[key] = threading.Event()
                    self.misses += 1
                    break
            waiting.wait()  # another thread computes it; then look again (it may have failed)
        try:
            value = compute()
            self._store(key, value, size(value))
            return value
        finally:
            with self._lock:
                self._pending.pop(key).set()

    def _store(self, key: Hashable, value: Any, n: int) -> None:
        if n > self.max_bytes:
            return  # larger than everything we may keep: used once, not kept
        with self._lock:
            if key in self._entries:
                self.bytes -= self._entries.pop(key)[1]
            self._entries[key] = (value, n)
            self.bytes += n
            while self.bytes > self.max_bytes:
                _, (_, old) = self._entries.popitem(last=False)
                self.bytes -= old

    def clear(self) -> None:
        """Forget every entry (benchmarks time cold runs); a computation under way still finishes."""
        with self._lock:
            self._entries.clear()
            self.bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

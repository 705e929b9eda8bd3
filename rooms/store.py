"""Where rooms live: a few Redis commands, served either by Redis itself or by a dict in this process.

The room logic (:mod:`rooms.room`) is written once against :class:`Store`, the handful of Redis
commands it needs (hashes, sorted sets, key expiry, one publish channel). Two stores implement it:

* :class:`MemoryStore`, the default: one dict per server process, so a single ``streamlit run``
  serves rooms with nothing else installed;
* :class:`RedisStore`: a real Redis server (``ATTENTION_LAB_REDIS_URL``), needed when several
  processes or machines serve one hall, since a lecturer on process A and a student on process B
  must see one room.

Both raise :class:`StoreUnavailable` when they cannot answer (Redis stopped, network gone); callers
show "room unavailable, reconnecting" and try again on their next run. The redis client reconnects by
itself once the server is back.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Protocol

#: The setting that chooses Redis (for example ``redis://127.0.0.1:6379/0``); unset: in-process.
REDIS_URL_ENV = "ATTENTION_LAB_REDIS_URL"
#: The one channel on which a change to any room is announced (the message is the room's code).
CHANNEL = "attention-lab:room-changed"


class StoreUnavailable(RuntimeError):
    """The store did not answer (Redis stopped or unreachable)."""


class Store(Protocol):
    """The Redis commands the rooms use, with Redis's meaning (strings in, strings out)."""

    def hget(self, key: str, field: str) -> str | None: ...
    def hgetall(self, key: str) -> dict[str, str]: ...
    def hset(self, key: str, mapping: Mapping[str, str]) -> None: ...
    def hsetnx(self, key: str, field: str, value: str) -> bool: ...
    def hincrby(self, key: str, field: str, amount: int = 1) -> int: ...
    def hlen(self, key: str) -> int: ...
    def hexists(self, key: str, field: str) -> bool: ...
    def zadd(self, key: str, member: str, score: float) -> None: ...
    def zscore(self, key: str, member: str) -> float | None: ...
    def zcount(self, key: str, low: float) -> int: ...
    def zcard(self, key: str) -> int: ...
    def zrem_below(self, key: str, score: float) -> list[str]: ...
    def expire(self, keys: list[str], seconds: int) -> None: ...
    def delete(self, keys: list[str]) -> None: ...
    def exists(self, key: str) -> bool: ...
    def publish(self, message: str) -> None: ...
    def listen(self, on_message: Callable[[str], None], stop: threading.Event) -> None: ...


class MemoryStore:
    """The Redis commands above on dicts in this process, under one lock; expiry is checked on access."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._data: dict[str, dict[str, str] | dict[str, float]] = {}
        self._expires: dict[str, float] = {}
        self._lock = threading.Lock()
        self._listeners: list[Callable[[str], None]] = []
        self._clock = clock

    def _live(self, key: str) -> dict | None:
        deadline = self._expires.get(key)
        if deadline is not None and deadline <= self._clock():
            self._data.pop(key, None)
            self._expires.pop(key, None)
        return self._data.get(key)

    def _hash(self, key: str) -> dict[str, str]:
        found = self._live(key)
        if found is None:
            found = self._data[key] = {}
        return found  # type: ignore[return-value]

    def hget(self, key: str, field: str) -> str | None:
        with self._lock:
            return (self._live(key) or {}).get(field)

    def hgetall(self, key: str) -> dict[str, str]:
        with self._lock:
            return dict(self._live(key) or {})

    def hset(self, key: str, mapping: Mapping[str, str]) -> None:
        with self._lock:
            self._hash(key).update({k: str(v) for k, v in mapping.items()})

    def hsetnx(self, key: str, field: str, value: str) -> bool:
        with self._lock:
            h = self._hash(key)
            if field in h:
                return False
            h[field] = str(value)
            return True

    def hincrby(self, key: str, field: str, amount: int = 1) -> int:
        with self._lock:
            h = self._hash(key)
            h[field] = str(int(h.get(field, "0")) + amount)
            return int(h[field])

    def hlen(self, key: str) -> int:
        with self._lock:
            return len(self._live(key) or {})

    def hexists(self, key: str, field: str) -> bool:
        with self._lock:
            return field in (self._live(key) or {})

    def zadd(self, key: str, member: str, score: float) -> None:
        with self._lock:
            self._hash(key)[member] = score  # type: ignore[assignment]

    def zscore(self, key: str, member: str) -> float | None:
        with self._lock:
            value = (self._live(key) or {}).get(member)
            return None if value is None else float(value)

    def zcount(self, key: str, low: float) -> int:
        with self._lock:
            return sum(1 for s in (self._live(key) or {}).values() if float(s) >= low)

    def zcard(self, key: str) -> int:
        return self.hlen(key)

    def zrem_below(self, key: str, score: float) -> list[str]:
        with self._lock:
            z = self._live(key) or {}
            gone = [m for m, s in z.items() if float(s) < score]
            for m in gone:
                del z[m]
            return gone

    def expire(self, keys: list[str], seconds: int) -> None:
        with self._lock:
            for key in keys:
                if self._live(key) is not None:
                    self._expires[key] = self._clock() + seconds

    def delete(self, keys: list[str]) -> None:
        with self._lock:
            for key in keys:
                self._data.pop(key, None)
                self._expires.pop(key, None)

    def exists(self, key: str) -> bool:
        with self._lock:
            return self._live(key) is not None

    def publish(self, message: str) -> None:
        for listener in list(self._listeners):
            listener(message)

    def listen(self, on_message: Callable[[str], None], stop: threading.Event) -> None:
        """Call ``on_message`` (on the publisher's thread) for every message until ``stop`` is set."""
        self._listeners.append(on_message)
        stop.wait()
        self._listeners.remove(on_message)


class RedisStore:
    """The same commands on a Redis server; every connection error becomes :class:`StoreUnavailable`."""

    def __init__(self, url: str) -> None:
        import redis  # only a deployment with Redis needs the client

        self._errors = (
            redis.exceptions.ConnectionError,
            redis.exceptions.TimeoutError,
            redis.exceptions.BusyLoadingError,
            OSError,
        )
        # Short timeouts: a page waiting for a dead Redis must say so within a second, not hang.
        self._redis = redis.Redis.from_url(
            url,
            decode_responses=True,
            socket_connect_timeout=0.5,
            socket_timeout=1.0,
            health_check_interval=10,
        )
        self.url = url

    def _call(self, fn: Callable[[], object]) -> object:
        try:
            return fn()
        except self._errors as exc:
            raise StoreUnavailable(f"Redis did not answer ({type(exc).__name__})") from None

    def hget(self, key: str, field: str) -> str | None:
        return self._call(lambda: self._redis.hget(key, field))  # type: ignore[return-value]

    def hgetall(self, key: str) -> dict[str, str]:
        return self._call(lambda: self._redis.hgetall(key))  # type: ignore[return-value]

    def hset(self, key: str, mapping: Mapping[str, str]) -> None:
        self._call(lambda: self._redis.hset(key, mapping=dict(mapping)))

    def hsetnx(self, key: str, field: str, value: str) -> bool:
        return bool(self._call(lambda: self._redis.hsetnx(key, field, value)))

    def hincrby(self, key: str, field: str, amount: int = 1) -> int:
        return int(self._call(lambda: self._redis.hincrby(key, field, amount)))  # type: ignore[arg-type]

    def hlen(self, key: str) -> int:
        return int(self._call(lambda: self._redis.hlen(key)))  # type: ignore[arg-type]

    def hexists(self, key: str, field: str) -> bool:
        return bool(self._call(lambda: self._redis.hexists(key, field)))

    def zadd(self, key: str, member: str, score: float) -> None:
        self._call(lambda: self._redis.zadd(key, {member: score}))

    def zscore(self, key: str, member: str) -> float | None:
        return self._call(lambda: self._redis.zscore(key, member))  # type: ignore[return-value]

    def zcount(self, key: str, low: float) -> int:
        return int(self._call(lambda: self._redis.zcount(key, low, "+inf")))  # type: ignore[arg-type]

    def zcard(self, key: str) -> int:
        return int(self._call(lambda: self._redis.zcard(key)))  # type: ignore[arg-type]

    def zrem_below(self, key: str, score: float) -> list[str]:
        def run() -> list[str]:
            pipe = self._redis.pipeline()
            pipe.zrangebyscore(key, "-inf", f"({score}")
            pipe.zremrangebyscore(key, "-inf", f"({score}")
            return pipe.execute()[0]

        return self._call(run)  # type: ignore[return-value]

    def expire(self, keys: list[str], seconds: int) -> None:
        def run() -> None:
            pipe = self._redis.pipeline()
            for key in keys:
                pipe.expire(key, seconds)
            pipe.execute()

        self._call(run)

    def delete(self, keys: list[str]) -> None:
        self._call(lambda: self._redis.delete(*keys))

    def exists(self, key: str) -> bool:
        return bool(self._call(lambda: self._redis.exists(key)))

    def publish(self, message: str) -> None:
        self._call(lambda: self._redis.publish(CHANNEL, message))

    def listen(self, on_message: Callable[[str], None], stop: threading.Event) -> None:
        """Call ``on_message`` for every announcement until ``stop`` is set, reconnecting while Redis is
        away (a change made meanwhile is caught by the pages' slow poll)."""
        while not stop.is_set():
            try:
                pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(CHANNEL)
                for message in _messages(pubsub, stop):
                    on_message(message)
                pubsub.close()
            except self._errors:
                stop.wait(0.5)


def _messages(pubsub: object, stop: threading.Event) -> Iterator[str]:
    while not stop.is_set():
        message = pubsub.get_message(timeout=0.5)  # type: ignore[attr-defined]
        if message and message.get("type") == "message":
            yield str(message["data"])


def open_store(url: str | None = None) -> Store:
    """Redis at ``url`` (default: ``$ATTENTION_LAB_REDIS_URL``) when set, else a new in-process store."""
    url = url if url is not None else os.environ.get(REDIS_URL_ENV, "").strip()
    return RedisStore(url) if url else MemoryStore()

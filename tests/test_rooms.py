"""The room contract, run against both stores: in-process and a real redis-server (Debian's)."""

from __future__ import annotations

import csv
import io
import threading
import tracemalloc
from collections.abc import Iterator

import pytest

from rooms import (
    ALPHABET,
    CODE_LENGTH,
    Limits,
    MemoryStore,
    Question,
    RedisStore,
    RoomError,
    Rooms,
    StoreUnavailable,
)
from tests.redis_server import RedisServer


class Clock:
    """A clock the test moves (expiry, lecturer offline) without sleeping."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    yield server
    server.close()


@pytest.fixture(params=["memory", "redis"])
def make_rooms(request: pytest.FixtureRequest, redis_server: RedisServer):
    """``make_rooms(limits=None, clock=None) -> Rooms`` on a fresh store of the parametrised kind."""

    def make(limits: Limits | None = None, clock: Clock | None = None) -> Rooms:
        if request.param == "memory":
            return Rooms(MemoryStore(clock or Clock()), limits, clock or Clock())
        store = RedisStore(redis_server.url)
        store._redis.flushdb()
        return Rooms(store, limits, clock or Clock())

    return make


def test_codes_are_short_unambiguous_and_keys_secret(make_rooms) -> None:
    rooms = make_rooms()
    code, key = rooms.create()
    assert len(code) == CODE_LENGTH >= 5 and set(code) <= set(ALPHABET)
    assert not set(ALPHABET) & set("0O1lI")
    assert len(key) >= 32  # 24 bytes of secrets.token_urlsafe: 192 bits
    assert rooms.is_lecturer(code, key)
    assert not rooms.is_lecturer(code, key[:-1] + ("A" if key[-1] != "A" else "B"))
    assert not rooms.is_lecturer(code, "") and not rooms.is_lecturer(code, None)
    # the key is never stored as itself
    assert key not in str(rooms.store.hgetall(f"room:{code}"))


def test_publish_and_follow(make_rooms) -> None:
    rooms = make_rooms()
    code, key = rooms.create()
    assert rooms.snapshot(code).state is None
    v1 = rooms.publish(code, key, '{"config": 1}')
    assert rooms.publish(code, key, '{"config": 1}') == v1  # nothing changed: same version
    v2 = rooms.publish(code, key, '{"config": 2}')
    assert v2 == v1 + 1 and rooms.version(code) == v2
    snap = rooms.snapshot(code)
    assert snap.state == '{"config": 2}' and snap.version == v2 and snap.lecturer_online
    with pytest.raises(RoomError):
        rooms.publish(code, "wrong", "{}")
    with pytest.raises(RoomError):
        rooms.publish(code, key, "x" * (rooms.limits.max_state_bytes + 1))
    assert (
        rooms.snapshot("NOSUCH") is None and rooms.snapshot("0") is None and rooms.version("ZZZZZZ") is None
    )


def test_publish_announces_the_room_on_the_channel(make_rooms) -> None:
    rooms = make_rooms()
    code, key = rooms.create()
    heard: list[str] = []
    got = threading.Event()
    stop = threading.Event()

    def on_message(message: str) -> None:
        heard.append(message)
        got.set()

    listener = threading.Thread(target=rooms.store.listen, args=(on_message, stop), daemon=True)
    listener.start()
    for _ in range(40):  # the subscriber needs a moment to subscribe (Redis)
        rooms.publish(code, key, f'{{"n": {len(heard)}, "t": {_}}}')
        if got.wait(0.1):
            break
    stop.set()
    listener.join(5)
    assert code in heard


def test_followers_and_lecturer_presence(make_rooms) -> None:
    clock = Clock()
    rooms = make_rooms(Limits(max_followers=3), clock)
    code, key = rooms.create()
    for s in ("a", "b", "c"):
        assert rooms.follower_seen(code, s)
    assert not rooms.follower_seen(code, "d")  # full: counted no more
    assert rooms.followers(code) == 3
    clock.now += rooms.limits.follower_window + 1
    assert rooms.followers(code) == 0  # nobody seen lately
    assert rooms.follower_seen(code, "d")  # the stale ones made room
    assert not rooms.snapshot(code).lecturer_online
    rooms.lecturer_seen(code, key)
    assert rooms.snapshot(code).lecturer_online


def test_rooms_expire_and_are_bounded(make_rooms) -> None:
    clock = Clock()
    rooms = make_rooms(Limits(max_rooms=2, idle_seconds=3600), clock)
    a, _ = rooms.create()
    rooms.create()
    with pytest.raises(RoomError, match="rooms already"):
        rooms.create()
    clock.now += 3601
    c, _ = rooms.create()  # the idle ones are gone
    assert rooms.exists(c)
    assert not isinstance(rooms.store, MemoryStore) or not rooms.exists(a)


def attend(options: tuple[str, ...] = ("the", "cat", "sat"), truth: float = 1.0) -> Question:
    return Question(
        "attend", "Which word does 'cat' attend to most?", options, truth, where={"head": 0, "row": 1}
    )


def test_questions_answers_and_reveal(make_rooms) -> None:
    rooms = make_rooms()
    code, key = rooms.create()
    with pytest.raises(RoomError):
        rooms.ask(code, "not the key", attend())
    q = rooms.ask(code, key, attend())
    assert q.status == "open" and rooms.snapshot(code).question == q
    assert rooms.answer(code, "s1", q.id, 1) == 1.0
    assert rooms.answer(code, "s1", q.id, 2) == 2.0  # changed, still one answer
    rooms.answer(code, "s2", q.id, 1)
    for bad in (3, -1, 1.5, True, "1", None, float("nan")):
        with pytest.raises(RoomError):
            rooms.answer(code, "s3", q.id, bad)
    assert rooms.tally(code, q) == [0, 1, 1]
    assert rooms.my_answer(code, "s1", q.id) == 2.0
    closed = rooms.set_status(code, key, "closed")
    with pytest.raises(RoomError, match="closed"):
        rooms.answer(code, "s4", q.id, 0)
    assert rooms.set_status(code, key, "revealed").status == "revealed" and closed.truth == 1.0
    with pytest.raises(RoomError):
        rooms.set_status(code, "x", "open")

    est = rooms.ask(code, key, Question("estimate", "Estimate weight (1, 2)", truth=0.37))
    for value in (0.0, 0.05, 0.37, 1.0):
        rooms.answer(code, f"e{value}", est.id, value)
    for bad in (1.01, -0.1, float("inf")):
        with pytest.raises(RoomError):
            rooms.answer(code, "e", est.id, bad)
    assert (
        rooms.tally(code, est)[0] == 2 and rooms.tally(code, est)[3] == 1 and rooms.tally(code, est)[9] == 1
    )
    with pytest.raises(RoomError, match="no longer asked"):
        rooms.answer(code, "s1", q.id, 0)  # the first question was replaced


def test_multiple_choice_text_is_kept_literally_and_bounded(make_rooms) -> None:
    rooms = make_rooms()
    code, key = rooms.create()
    for options in (("only one",), ("a", "b", "c", "d", "e", "f"), ("a", "")):
        with pytest.raises(RoomError):
            rooms.ask(code, key, Question("choice", "Which?", options))
    text = "**bold** <b>x</b> $x^2$ :red[y] http://e.org " + "z" * 500
    q = rooms.ask(code, key, Question("choice", text, ("=1+1", "<i>b</i>", "$c$"), truth=None))
    assert q.text == text[: rooms.limits.max_text].strip() and q.options == ("=1+1", "<i>b</i>", "$c$")
    rooms.answer(code, "s1", q.id, 0)
    rows = list(csv.reader(io.StringIO(rooms.answers_csv(code, key))))
    assert rows[0][:5] == ["question", "kind", "text", "student", "answer"]
    assert rows[1][5] == "'=1+1"  # a spreadsheet shows it, never runs it
    with pytest.raises(RoomError):
        rooms.answers_csv(code, "x")


def test_csv_has_every_answer_and_no_session_ids(make_rooms) -> None:
    rooms = make_rooms()
    code, key = rooms.create()
    q = rooms.ask(code, key, attend())
    for s, a in (("secret-session-1", 0), ("secret-session-2", 1), ("secret-session-3", 1)):
        rooms.answer(code, s, q.id, a)
    text = rooms.answers_csv(code, key)
    rows = list(csv.reader(io.StringIO(text)))
    assert [r[4] for r in rows[1:]] == ["0", "1", "1"] and [r[5] for r in rows[1:]] == ["the", "cat", "cat"]
    assert "secret-session" not in text and key not in text


def test_a_flood_of_answers_holds_bounded_memory(make_rooms) -> None:
    """One client sending 100,000 answers: the room keeps one answer per session, and the store's size
    stays that of one answer per session (a follower bound caps the sessions)."""
    rooms = make_rooms(Limits(max_followers=50))
    code, key = rooms.create()
    q = rooms.ask(code, key, Question("estimate", "Estimate weight (0, 0)", truth=0.5))
    n = 100_000 if isinstance(rooms.store, MemoryStore) else 5_000  # Redis: a round trip each
    tracemalloc.start()
    rooms.answer(code, "flood", q.id, 0.5)
    base, _ = tracemalloc.get_traced_memory()
    refused = 0
    for k in range(n):
        try:
            rooms.answer(code, f"flood{k % 200}", q.id, (k % 100) / 100)
        except RoomError:
            refused += 1
    now, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert rooms.store.hlen(f"room:{code}:answers:{q.id}") == 50  # the bound, not 200 sessions
    assert refused > 0
    assert now - base < 200_000, f"memory grew by {now - base} bytes over {n} answers"


def test_a_store_that_went_away_says_so(redis_server: RedisServer) -> None:
    server = RedisServer()
    try:
        rooms = Rooms(RedisStore(server.url))
        code, key = rooms.create()
        rooms.publish(code, key, '{"a": 1}')
        server.stop()
        with pytest.raises(StoreUnavailable):
            rooms.snapshot(code)
        with pytest.raises(StoreUnavailable):
            rooms.publish(code, key, '{"a": 2}')
        server.start()  # with persistence on, nothing is lost
        assert rooms.snapshot(code).state == '{"a": 1}'
        assert rooms.publish(code, key, '{"a": 2}') == 2
    finally:
        server.close()


def test_a_flood_of_changes_waits_as_one_per_room() -> None:
    """100,000 changes to one room, faster than anyone can be rerun: what waits is one entry."""
    from ui.push import Followers

    followers = Followers()
    followers.follow("ACEFHJ", "a-session")
    tracemalloc.start()
    for _ in range(100_000):
        followers.changed("ACEFHJ")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert followers.pending() <= 1 and peak < 1_000_000, (followers.pending(), peak)

"""A lecture room: the lecturer's lab state, who follows it, and the questions put to the hall.

A room is a short CODE that students type or scan (``?room=CODE``) and a secret KEY that only the
lecturer's address bar holds (``?room=CODE&key=KEY``). Whoever holds KEY changes the room, asks,
closes and reveals questions; everyone else only reads it and answers. The room keeps:

* ``state``: the lecturer's lab as a state file (the lab's one format for links and files) plus what
  is on the lecturer's screen (presentation stage, matrix, head, clicked weight), and a ``version``
  that grows with every change, which followers compare to know they are behind;
* followers: one entry per student session, with the time it was last seen;
* questions and their answers: one answer per student session, changeable until the question closes.

Everything is bounded: the number of rooms, followers per room, questions per room, the size of a
state, the length of a question's text. An idle room expires after ``Limits.idle_seconds``.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import math
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Literal

from rooms.store import Store

#: Room codes use letters and digits a person cannot mistake for one another when read off a
#: projector or typed on a phone (no 0/O/Q/D, 1/I/L, 2/Z, 5/S, 6/G, 8/B).
ALPHABET = "ACEFHJKMNPRTUVWXY3479"
CODE_LENGTH = 6
#: The lecturer's key: 24 random bytes from ``secrets`` (192 bits), URL-safe.
KEY_BYTES = 24

Kind = Literal["attend", "estimate", "choice"]
KINDS: tuple[Kind, ...] = ("attend", "estimate", "choice")
#: Estimates are tallied in this many bins of [0, 1].
ESTIMATE_BINS = 10


@dataclass(frozen=True)
class Limits:
    """The bounds of one store (the defaults serve a lecture hall)."""

    idle_seconds: int = 4 * 3600  # a room nobody touched for this long is gone
    max_rooms: int = 200
    max_followers: int = 1000  # per room: sessions counted and allowed to answer
    max_questions: int = 50  # per room
    max_state_bytes: int = 2_000_000  # the lab's own bound on a state file
    max_text: int = 300  # characters of a question
    max_option: int = 120  # characters of a multiple-choice option
    follower_window: float = 15.0  # a follower not seen for this long is not counted
    lecturer_window: float = 12.0  # the lecturer not seen for this long is "offline"


class RoomError(ValueError):
    """A request the room refuses (no such room, wrong key, a bound reached, an invalid answer)."""


@dataclass(frozen=True)
class Question:
    """One question to the hall, with the lab's true answer taken when it was asked.

    ``attend``: "Which word does ⟨query⟩ attend to most?", options are the key tokens, the answer an
    option index, ``truth`` the index of the largest weight. ``estimate``: "Estimate weight (i, j)",
    the answer a number in [0, 1], ``truth`` the weight. ``choice``: the lecturer's own options (2-5),
    the answer an option index, ``truth`` the option marked right (or None: no right answer).
    """

    kind: Kind
    text: str
    options: tuple[str, ...] = ()
    truth: float | None = None
    id: str = ""
    status: Literal["open", "closed", "revealed"] = "open"
    asked: float = 0.0
    where: dict[str, int] = field(default_factory=dict)  # head, row, column the question is about

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @staticmethod
    def from_json(text: str) -> Question:
        data = json.loads(text)
        data["options"] = tuple(data.get("options", ()))
        return Question(**data)

    def check(self, answer: object) -> float:
        """``answer`` as stored (an option index or a number in [0, 1]); RoomError if it is not one."""
        if isinstance(answer, bool) or not isinstance(answer, (int, float)):
            raise RoomError(f"an answer is a number, not {type(answer).__name__}")
        value = float(answer)
        if not math.isfinite(value):
            raise RoomError("an answer is a finite number")
        if self.kind == "estimate":
            if not (math.isfinite(value) and 0.0 <= value <= 1.0):
                raise RoomError("an estimate is a number from 0 to 1")
            return value
        if value != int(value) or not 0 <= int(value) < len(self.options):
            raise RoomError(f"an answer is one of the {len(self.options)} options")
        return float(int(value))

    def bins(self) -> list[str]:
        """The histogram's categories: the options, or ten ranges of [0, 1]."""
        if self.kind == "estimate":
            return [f"{k / ESTIMATE_BINS:.1f}–{(k + 1) / ESTIMATE_BINS:.1f}" for k in range(ESTIMATE_BINS)]
        return list(self.options)

    def bin_of(self, value: float) -> int:
        if self.kind == "estimate":
            return min(ESTIMATE_BINS - 1, int(value * ESTIMATE_BINS))
        return int(value)


@dataclass(frozen=True)
class Snapshot:
    """What a page needs of a room on one run."""

    code: str
    version: int
    state: str | None  # the lecturer's lab as a state file, None before the first publish
    lecturer_online: bool
    question: Question | None  # the latest question, whatever its status
    followers: int


def _hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()


def _clean(text: str, most: int) -> str:
    """A line of the lecturer's text: control characters out, at most ``most`` characters."""
    return "".join(ch for ch in str(text) if ch.isprintable())[:most].strip()


class Rooms:
    """Every room of one store. Safe to share between threads and sessions (the store is)."""

    def __init__(
        self, store: Store, limits: Limits | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.limits = limits or Limits()
        self.clock = clock

    # ------------------------------------------------------------------ keys of the store
    @staticmethod
    def _room(code: str) -> str:
        return f"room:{code}"

    def _keys(self, code: str, qids: Sequence[str] = ()) -> list[str]:
        return [self._room(code), f"room:{code}:followers", *(f"room:{code}:answers:{q}" for q in qids)]

    def _qids(self, code: str) -> list[str]:
        return [q for q in (self.store.hget(self._room(code), "qids") or "").split(",") if q]

    @staticmethod
    def valid_code(code: object) -> bool:
        return isinstance(code, str) and len(code) == CODE_LENGTH and all(c in ALPHABET for c in code)

    # ------------------------------------------------------------------ rooms
    def create(self) -> tuple[str, str]:
        """A new room: (CODE, KEY). RoomError when the store holds ``max_rooms`` rooms already."""
        now = self.clock()
        for stale in self.store.zrem_below("rooms", now - self.limits.idle_seconds):
            self.store.delete(self._keys(stale, self._qids(stale)))
        if self.store.zcard("rooms") >= self.limits.max_rooms:
            raise RoomError(f"this server holds {self.limits.max_rooms} rooms already; try again later")
        key = secrets.token_urlsafe(KEY_BYTES)
        while True:
            code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
            if self.store.hsetnx(self._room(code), "key", _hash_key(key)):
                break
        self.store.hset(self._room(code), {"created": repr(now), "version": "0", "lecturer_seen": repr(now)})
        self.store.zadd("rooms", code, now)
        self._touch(code, force=True)
        return code, key

    def exists(self, code: str) -> bool:
        return self.valid_code(code) and self.store.exists(self._room(code))

    def is_lecturer(self, code: str, key: object) -> bool:
        """Does ``key`` open room ``code``? Compared in constant time (of the hashes: equal length)."""
        if not isinstance(key, str) or not key or not self.valid_code(code):
            return False
        stored = self.store.hget(self._room(code), "key")
        return stored is not None and hmac.compare_digest(stored, _hash_key(key))

    def _lecturer(self, code: str, key: str) -> None:
        if not self.is_lecturer(code, key):
            raise RoomError("only the lecturer's key changes this room")

    def _touch(self, code: str, *, force: bool = False) -> None:
        """Keep a room alive ``idle_seconds`` more (at most once a minute: each costs a few commands)."""
        now = self.clock()
        last = float(self.store.hget(self._room(code), "touched") or 0.0)
        if force or now - last > 60:
            self.store.hset(self._room(code), {"touched": repr(now)})
            self.store.zadd("rooms", code, now)
            self.store.expire(self._keys(code, self._qids(code)), self.limits.idle_seconds)

    # ------------------------------------------------------------------ the lecturer's state
    def publish(self, code: str, key: str, state: str) -> int:
        """Put the lecturer's lab ``state`` in the room; the new version (the same if nothing changed)."""
        self._lecturer(code, key)
        if len(state) > self.limits.max_state_bytes:
            raise RoomError(f"a room holds states up to {self.limits.max_state_bytes:,} bytes")
        room = self._room(code)
        if self.store.hget(room, "state") == state:
            return int(self.store.hget(room, "version") or 0)
        self.store.hset(room, {"state": state})
        version = self.store.hincrby(room, "version")
        self._touch(code)
        self.store.publish(code)
        return version

    def lecturer_seen(self, code: str, key: str) -> None:
        """The lecturer's page is open (called by its periodic check)."""
        self._lecturer(code, key)
        was_online = self._online(code)
        self.store.hset(self._room(code), {"lecturer_seen": repr(self.clock())})
        self._touch(code)
        if not was_online:
            self.store.publish(code)  # followers drop "the lecturer is offline" at once

    def _online(self, code: str) -> bool:
        seen = float(self.store.hget(self._room(code), "lecturer_seen") or 0.0)
        return self.clock() - seen < self.limits.lecturer_window

    def version(self, code: str) -> int | None:
        """The room's version (None: no such room); what a follower's periodic check reads."""
        value = self.store.hget(self._room(code), "version") if self.valid_code(code) else None
        return None if value is None else int(value)

    def snapshot(self, code: str) -> Snapshot | None:
        if not self.valid_code(code):
            return None
        data = self.store.hgetall(self._room(code))
        if not data:
            return None
        question = Question.from_json(data["question"]) if data.get("question") else None
        return Snapshot(
            code=code,
            version=int(data.get("version", 0)),
            state=data.get("state"),
            lecturer_online=self.clock() - float(data.get("lecturer_seen", 0.0))
            < self.limits.lecturer_window,
            question=question,
            followers=self.followers(code),
        )

    # ------------------------------------------------------------------ followers
    def follower_seen(self, code: str, follower: str) -> bool:
        """Count ``follower`` as following now; False when the room is full (it may still watch)."""
        members = f"room:{code}:followers"
        now = self.clock()
        if self.store.zscore(members, follower) is None:
            self.store.zrem_below(members, now - self.limits.follower_window)
            if self.store.zcard(members) >= self.limits.max_followers:
                return False
        self.store.zadd(members, follower, now)
        return True

    def followers(self, code: str) -> int:
        return self.store.zcount(f"room:{code}:followers", self.clock() - self.limits.follower_window)

    # ------------------------------------------------------------------ questions
    def ask(self, code: str, key: str, question: Question) -> Question:
        """Put ``question`` to the hall (it becomes the room's current question, open)."""
        self._lecturer(code, key)
        if question.kind not in KINDS:
            raise RoomError(f"a question is one of {', '.join(KINDS)}")
        text = _clean(question.text, self.limits.max_text)
        options = tuple(_clean(o, self.limits.max_option) for o in question.options)
        if not text:
            raise RoomError("a question needs its text")
        if question.kind != "estimate" and not 2 <= len(options) <= (5 if question.kind == "choice" else 64):
            raise RoomError(
                "a multiple-choice question has 2 to 5 options"
                if question.kind == "choice"
                else "a question about words needs 2 to 64 of them"
            )
        if question.kind == "choice" and any(not o for o in options):
            raise RoomError("every option needs its text")
        qids = self._qids(code)
        if len(qids) >= self.limits.max_questions:
            raise RoomError(f"a room holds {self.limits.max_questions} questions")
        qid = str(self.store.hincrby(self._room(code), "asked"))
        asked = replace(question, text=text, options=options, id=qid, status="open", asked=self.clock())
        self.store.hset(
            self._room(code),
            {"question": asked.to_json(), f"q:{qid}": asked.to_json(), "qids": ",".join([*qids, qid])},
        )
        self._touch(code, force=True)
        self.store.publish(code)
        return asked

    def set_status(self, code: str, key: str, status: Literal["open", "closed", "revealed"]) -> Question:
        """Close (no more answers), reveal (the lab's answer beside the class's) or reopen the question.

        It acts on the current question.
        """
        self._lecturer(code, key)
        current = self.current_question(code)
        if current is None:
            raise RoomError("no question has been asked")
        changed = replace(current, status=status)
        self.store.hset(
            self._room(code), {"question": changed.to_json(), f"q:{changed.id}": changed.to_json()}
        )
        self.store.publish(code)
        return changed

    def current_question(self, code: str) -> Question | None:
        text = self.store.hget(self._room(code), "question")
        return Question.from_json(text) if text else None

    def answer(self, code: str, follower: str, qid: str, answer: object) -> float:
        """A student's answer to the open question ``qid`` (replacing their earlier one); RoomError if it
        is not valid, not open, or the room's answers are full."""
        question = self.current_question(code)
        if question is None or question.id != qid:
            raise RoomError("that question is no longer asked")
        if question.status != "open":
            raise RoomError("that question is closed")
        value = question.check(answer)
        answers = f"room:{code}:answers:{qid}"
        if (
            not self.store.hexists(answers, follower)
            and self.store.hlen(answers) >= self.limits.max_followers
        ):
            raise RoomError("this question has as many answers as a room has followers")
        self.store.hset(answers, {follower: repr(value)})
        self.store.expire([answers], self.limits.idle_seconds)
        return value

    def my_answer(self, code: str, follower: str, qid: str) -> float | None:
        value = self.store.hget(f"room:{code}:answers:{qid}", follower)
        return None if value is None else float(value)

    def tally(self, code: str, question: Question) -> list[int]:
        """How many answers fall in each of ``question.bins()``."""
        counts = [0] * len(question.bins())
        for value in self.store.hgetall(f"room:{code}:answers:{question.id}").values():
            counts[question.bin_of(float(value))] += 1
        return counts

    def answers_csv(self, code: str, key: str) -> str:
        """Every answer to every question of the room, anonymous (a number per student session), as CSV."""
        self._lecturer(code, key)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["question", "kind", "text", "student", "answer", "answer_text", "lab_answer"])
        data = self.store.hgetall(self._room(code))
        for qid in self._qids(code):
            q = Question.from_json(data[f"q:{qid}"])
            answers = self.store.hgetall(f"room:{code}:answers:{qid}")
            for n, value in enumerate(sorted(answers.values(), key=float), start=1):
                v = float(value)
                shown = repr(v) if q.kind == "estimate" else str(int(v))
                writer.writerow(
                    [
                        qid,
                        q.kind,
                        _csv_safe(q.text),
                        n,
                        shown,
                        "" if q.kind == "estimate" else _csv_safe(q.options[int(v)]),
                        "" if q.truth is None else repr(q.truth),
                    ]
                )
        return out.getvalue()


def _csv_safe(text: str) -> str:
    """Text a spreadsheet shows as text, never runs as a formula (=, +, -, @ at the start)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text

"""Lecture rooms: students follow the lecturer's lab live and answer questions (no Streamlit here).

    from rooms import Rooms, open_store
    rooms = Rooms(open_store())          # Redis if ATTENTION_LAB_REDIS_URL is set, else in-process
    code, key = rooms.create()
    rooms.publish(code, key, state_json)  # the lecturer's lab; followers see rooms.snapshot(code)
"""  # fmt: skip

from rooms.room import ALPHABET, CODE_LENGTH, Limits, Question, RoomError, Rooms, Snapshot
from rooms.store import REDIS_URL_ENV, MemoryStore, RedisStore, Store, StoreUnavailable, open_store

__all__ = [
    "ALPHABET",
    "CODE_LENGTH",
    "REDIS_URL_ENV",
    "Limits",
    "MemoryStore",
    "Question",
    "RedisStore",
    "RoomError",
    "Rooms",
    "Snapshot",
    "Store",
    "StoreUnavailable",
    "open_store",
]

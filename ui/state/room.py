"""The lecture room this session is in, and its role there.

* ``room_role``: ``None`` (no room), ``"lecturer"`` (holds the key: the full lab, published to the
  room), ``"follower"`` (the follow view of the lecturer's screen) or ``"explorer"`` (a student's own
  copy of the lecturer's state, with a way back to the lecture);
* ``room_code``; ``room_key`` (the lecturer's only: never published, exported or sent to a student);
* ``room_student``: this session's anonymous id in the room (answers are kept under it);
* ``room_published``: the last state this lecturer put in the room (nothing is sent while it holds).

The link carries the role: ``?room=CODE&key=KEY`` (lecturer), ``?room=CODE`` (follower),
``?room=CODE&explore=1&…`` (explorer, with the explored configuration), ``?teach=1`` (make a room).
"""

from __future__ import annotations

import secrets
import time

import streamlit as st

from attention_core.serialize import state_from_json
from rooms import RoomError, Rooms, Snapshot, StoreUnavailable


def load_room_once(params: dict[str, str], rooms: Rooms) -> list[str]:
    """On the session's first run: the role the link asks for (a wrong key gives the follow view).
    Returns messages about what could not be used."""
    code, key = params.get("room", "").strip().upper(), params.get("key", "")
    st.session_state["room_role"] = None
    try:
        if params.get("teach") == "1" and not code:
            return teach(rooms)
        if not code:
            return []
        if not rooms.exists(code):
            return [f"there is no room {code[:12]!r} (it may have ended): this is the lab on its own"]
    except StoreUnavailable as exc:
        if not code:
            return [f"could not make a room: {exc}"]
    except RoomError as exc:
        return [str(exc)]
    st.session_state["room_code"] = code
    if key and _holds_key(rooms, code, key):
        st.session_state["room_role"], st.session_state["room_key"] = "lecturer", key
    elif params.get("explore") == "1":
        st.session_state["room_role"] = "explorer"
    else:
        st.session_state["room_role"] = "follower"
    return []


def _holds_key(rooms: Rooms, code: str, key: str) -> bool:
    try:
        return rooms.is_lecturer(code, key)
    except StoreUnavailable:
        return False


def teach(rooms: Rooms) -> list[str]:
    """Make a room and teach it (the sidebar's button, ``?teach=1``)."""
    try:
        code, key = rooms.create()
    except (RoomError, StoreUnavailable) as exc:
        return [f"could not make a room: {exc}"]
    st.session_state.update(room_role="lecturer", room_code=code, room_key=key, room_published=None)
    return []


def on_teach(rooms: Rooms) -> None:
    st.session_state["room_error"] = "; ".join(teach(rooms)) or None
    if st.session_state.get("present") and st.session_state.get("room_role") == "lecturer":
        st.session_state["stage"] = 0  # presenting: straight to the stage with the link and its QR code


def end_teaching() -> None:
    """The lecturer leaves the room (it stays for its followers until it expires)."""
    for name in ("room_role", "room_code", "room_key", "room_published"):
        st.session_state.pop(name, None)


def role() -> str | None:
    return st.session_state.get("room_role")


def code() -> str:
    return str(st.session_state.get("room_code", ""))


def key() -> str:
    return str(st.session_state.get("room_key", ""))


def student() -> str:
    """This session's anonymous id in its room (made once)."""
    return st.session_state.setdefault("room_student", secrets.token_hex(8))


def link_params() -> dict[str, str]:
    """What the address bar adds for the room: the lecturer's key stays in the lecturer's own bar."""
    match role():
        case "lecturer":
            return {"room": code(), "key": key()}
        case "follower":
            return {"room": code()}
        case "explorer":
            return {"room": code(), "explore": "1"}
    return {}


def set_room_error(message: str) -> None:
    st.session_state["room_error"] = message


def take_room_error() -> str | None:
    return st.session_state.pop("room_error", None)


def mark_published(state: str) -> bool:
    """Remember ``state`` as published; False if it was already (nothing to send)."""
    if st.session_state.get("room_published") == state:
        return False
    st.session_state["room_published"] = state
    return True


def explore(state: str) -> None:
    """Open the full lab with exactly the lecturer's state, in this session alone."""
    cfg, extra, _ = state_from_json(state)
    st.session_state["pending_config"] = cfg
    st.session_state["room_role"] = "explorer"
    for name, widget in (("head", "head_shown"), ("matrix", "edit_matrix")):
        if isinstance(extra.get(name), (int, str)):
            st.session_state[widget] = extra[name]
    cell = extra.get("explained")
    st.session_state["explained"] = tuple(cell) if isinstance(cell, list) and len(cell) == 2 else None
    st.session_state["present"] = False


def back_to_lecture() -> None:
    st.session_state["room_role"] = "follower"


def answer_key(qid: str) -> str:
    return f"room_answer::{code()}::{qid}"


def reset_answer(qid: str, value: object) -> None:
    """Before the answer widget is drawn: it shows the answer the room holds for this session."""
    st.session_state.setdefault(answer_key(qid), value)


def send_answer(rooms: Rooms, qid: str) -> None:
    """The student's answer widget's value, sent to the room (validated there)."""
    value = st.session_state.get(answer_key(qid))
    if value is None:
        st.session_state["room_answer_message"] = "Choose an answer first."
        return
    try:
        rooms.answer(code(), student(), qid, value)
        st.session_state["room_answer_message"] = None
    except RoomError as exc:
        st.session_state["room_answer_message"] = f"Not sent: {exc}."
    except StoreUnavailable:
        st.session_state["room_answer_message"] = "Not sent: the room is unavailable; try again in a moment."


def take_answer_message() -> str | None:
    return st.session_state.pop("room_answer_message", None)


def keep_snapshot(snap: Snapshot | None) -> Snapshot | None:
    """The room as this student last saw it, shown again while the store is unreachable."""
    st.session_state["room_snapshot"] = snap
    return snap


def checked() -> None:
    """The follow view has just read its room."""
    st.session_state["room_checked_at"] = time.monotonic()


def due_for_check(seconds: float) -> bool:
    """Has the room not been read for ``seconds``?"""
    return time.monotonic() - float(st.session_state.get("room_checked_at", 0.0)) >= seconds


def last_snapshot() -> Snapshot | None:
    return st.session_state.get("room_snapshot")


def leave_room() -> None:
    """A room that ended: the lab on its own."""
    st.session_state["room_role"] = None

"""Followers see a change at once: the sessions of this process that follow a room are rerun when it changes.

Streamlit's public API has no way for one session to update another; what it has is a timer
(``st.fragment(run_every=…)``), which costs every follower a rerun per period whether anything changed
or not. Instead each follower registers its session here, and a change announced on the store's
channel (in-process: a direct call; Redis: pub/sub, so a lecturer on another process or machine
reaches them too) asks Streamlit to rerun exactly those sessions, as its own file watcher does when a
source file changes. The follow view keeps a slow timer as a safety net (a message lost while Redis
was away, a lecturer who went offline), so nothing depends on this path alone.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict

from streamlit import runtime
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.runtime.scriptrunner import get_script_run_ctx

from rooms.store import Store

_LOG = logging.getLogger(__name__)
#: Values a rerun must not repeat: a button press is delivered once.
_TRIGGERS = {"trigger_value", "json_trigger_value", "string_trigger_value", "chat_input_value"}
#: After a change, the followers' reruns wait until the run that published it (the lecturer's, when it is
#: on this process) has finished, so it reaches the lecturer's screen before a hall of reruns competes
#: with it for the process (measured: 73 ms alone, 115-121 ms with 100 followers pushed 30 ms after the
#: change); at most this long in all for one round of reruns (the lecturer's next runs while the hall is
#: being rerun count too), then at least PUSH_DELAY more.
PUBLISHER_WAIT = 0.5
PUSH_DELAY = 0.01
#: Between two followers' reruns: a hundred script threads started at once fight over one interpreter
#: lock and starve the event loop that sends everyone's messages; paced, each runs almost alone.
PUSH_SPACING = 0.004


def session_id() -> str | None:
    """The id of the session running this script (None outside a Streamlit server, e.g. AppTest)."""
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else None


class Followers:
    """Which sessions of this process follow which room, and the rerun that brings them up to date."""

    def __init__(self) -> None:
        self._rooms: dict[str, set[str]] = defaultdict(set)
        self._lock = threading.Lock()
        self._pending: set[str] = set()  # rooms changed since the last push
        self._wake = threading.Event()
        self._pusher: threading.Thread | None = None
        self._publisher: str | None = None

    def follow(self, code: str, session: str) -> None:
        with self._lock:
            for sessions in self._rooms.values():
                sessions.discard(session)
            self._rooms[code].add(session)

    def leave(self, session: str) -> None:
        with self._lock:
            for sessions in self._rooms.values():
                sessions.discard(session)

    def count(self, code: str) -> int:
        with self._lock:
            return len(self._rooms.get(code, ()))

    def published_by(self, session: str | None) -> None:
        """The session whose run is publishing a change: its followers here wait for that run to end, and
        for its next runs while they are being rerun (the lecturer's screen comes first)."""
        with self._lock:
            self._publisher = session

    def changed(self, code: str) -> None:
        """Room ``code`` changed: its followers here are rerun shortly (by :meth:`_push`'s thread). Changes
        that come faster than followers can be rerun are merged: what waits is a set of room codes, so a
        flood of changes holds no more memory than one change per room."""
        with self._lock:
            self._pending.add(code)
            if self._pusher is None:
                self._pusher = threading.Thread(target=self._push, name="room-followers", daemon=True)
                self._pusher.start()
        self._wake.set()

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def _push(self) -> None:
        while True:
            self._wake.wait()
            with self._lock:
                publisher = self._publisher
            waited = _wait_idle(publisher, PUBLISHER_WAIT)
            time.sleep(PUSH_DELAY)
            with self._lock:
                self._wake.clear()
                codes, self._pending = self._pending, set()
                batches = [(code, list(self._rooms.get(code, ()))) for code in codes]
            if not runtime.exists():
                continue
            for code, sessions in batches:
                gone = []
                for session in sessions:
                    # The lecturer changed something again while the hall is being rerun: their run goes
                    # first (the rest of the hall waits for it, at most PUBLISHER_WAIT in all).
                    waited += _wait_idle(publisher, PUBLISHER_WAIT - waited)
                    if not _rerun(session):
                        gone.append(session)
                    time.sleep(PUSH_SPACING)
                if gone:
                    with self._lock:
                        self._rooms[code].difference_update(gone)


def _wait_idle(session: str | None, most: float) -> float:
    """Until ``session``'s script run has ended (at most ``most`` seconds; at once if it is not here or
    not running); returns the seconds waited."""
    if session is None or most <= 0 or not runtime.exists():
        return 0.0
    app_session = runtime.get_instance().get_app_session(session)
    start = time.monotonic()
    while app_session is not None and time.monotonic() < start + most:
        if getattr(getattr(app_session, "_state", None), "name", "") != "APP_IS_RUNNING":
            break
        time.sleep(0.005)
    return time.monotonic() - start


def _rerun(session: str) -> bool:
    """Ask Streamlit to rerun ``session`` as its last run did, whole (not a fragment), pressing no button;
    False if the session is gone."""
    app_session = runtime.get_instance().get_app_session(session)
    if app_session is None:
        return False

    def request() -> None:  # on the session's event loop, where AppSession expects to be called
        state = ClientState()
        state.CopyFrom(app_session._client_state)
        state.fragment_id = ""
        kept = [w for w in state.widget_states.widgets if w.WhichOneof("value") not in _TRIGGERS]
        del state.widget_states.widgets[:]
        state.widget_states.widgets.extend(kept)
        app_session.request_rerun(state)

    try:
        app_session._call_soon_on_event_loop(request)
    except (AttributeError, RuntimeError):  # another Streamlit: the follow view's timer still works
        _LOG.debug("could not push a rerun to session %s", session, exc_info=True)
    return True


def start_listening(store: Store, followers: Followers) -> threading.Event:
    """A daemon thread that reruns this process's followers of every room announced on ``store``'s
    channel; set the returned event to stop it."""
    stop = threading.Event()
    threading.Thread(
        target=store.listen, args=(followers.changed, stop), name="room-push", daemon=True
    ).start()
    return stop

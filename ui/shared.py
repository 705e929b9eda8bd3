"""The process-wide cache: traces and the figures and tables derived from them, shared by every session
of one server process (not session state: a hundred students opening the same link compute it once)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable
from typing import NamedTuple, TypeVar

import streamlit as st

from attention_core import LabConfig, LabTrace, run_lab
from attention_core.budget import TRACE_BUDGET_BYTES
from attention_core.cache import ByteLRU, nbytes
from attention_core.serialize import state_from_json
from rooms import Rooms, open_store
from ui.push import Followers, start_listening

T = TypeVar("T")


#: Traces kept for all sessions of one server process together (a byte bound, not a count): the largest
#: trace the budget allows and its figures fit, so no allowed state is computed twice on a rerun that
#: changes nothing (at 200 MB a 282 MB trace was never kept: two computations per rerun).
SHARED_CACHE_BYTES = TRACE_BUDGET_BYTES + 64 * 2**20


@st.cache_resource(show_spinner=False)
def shared_traces() -> ByteLRU:
    """The process-wide trace cache (one object per server process, shared by every session)."""
    return ByteLRU(SHARED_CACHE_BYTES)


def cached_run_lab(cfg: LabConfig) -> LabTrace:
    """run_lab, once per distinct configuration per server: a hundred students opening the same link
    compute it once and share it (traces are never mutated)."""
    return shared_traces().get_or_compute(cfg, lambda: run_lab(cfg), nbytes)


def shared_view(trace: LabTrace, what: Hashable, build: Callable[[], T], size: Callable[[T], int]) -> T:
    """A display object derived from ``trace`` alone (a Plotly figure, an Arrow table), built once per
    server for every session that shows the same configuration, in the traces' byte-bounded cache.
    ``what`` names the object and every argument it was built with besides the trace."""
    return shared_traces().get_or_compute(("view", trace.config, what), build, size)


class Hall(NamedTuple):
    """This process's rooms (their store may be Redis, shared with other processes) and its followers."""

    rooms: Rooms
    followers: Followers


@st.cache_resource(show_spinner=False)
def hall() -> Hall:
    """One per server process: the room store chosen by ``ATTENTION_LAB_REDIS_URL`` (in-process when unset),
    and the thread that reruns this process's followers when their room changes."""
    store = open_store()
    followers = Followers()
    start_listening(store, followers)
    return Hall(Rooms(store), followers)


@functools.lru_cache(maxsize=64)
def room_screen(state: str) -> tuple[LabConfig, dict]:
    """A room's published state read once per process for all its followers (the lab's state-file reader):
    the configuration and what the lecturer's screen shows. Both are shared: never change them."""
    cfg, extra, _ = state_from_json(state)
    return cfg, extra

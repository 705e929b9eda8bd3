"""The address bar and what asks to be loaded: a link read once per session, written back after every
run (a reload brings the same state back), and configurations sent by a state file or another page.
What could not be used is kept as messages, shown once (:func:`take_load_messages`)."""

from __future__ import annotations

import streamlit as st

from attention_core import LabConfig, ValidationError
from attention_core.lab import make_holdable
from attention_core.serialize import (
    TOO_LONG_KEY,
    LinkTooLong,
    config_from_query,
    config_to_query,
    link_reference,
)
from attention_core.settings import Setting, format_value, parse
from attention_core.view import PLAYGROUND_VIEW, PlaygroundView
from ui import shared
from ui.palettes import PALETTES
from ui.state import room
from ui.state.session import head_reference, load_config, remember_real_head
from ui.text import literal

#: The presentation step a link may ask for is a small whole number in ASCII digits.
_MAX_STEP = 100


def _link_step(text: str | None) -> tuple[int, str | None]:
    """(step, message): ``str.isdigit`` also takes "²" and "١", which ``int`` refuses."""
    if not text:
        return 0, None
    if text.isascii() and text.isdigit() and int(text) < _MAX_STEP:
        return int(text), None
    return 0, f"ignored 'step': must be a whole number below {_MAX_STEP}"


def load_url_once() -> None:
    """On a session's first run, take the configuration from the link it was opened with.

    What the link gets wrong is listed (``load_messages``) and ignored; the rest
    is applied (the parser never raises and returns a configuration the widgets hold).
    Later runs write the state back (:func:`write_url`), so a reload, a restarted
    server or a shared address bar brings the same state back.
    """
    if st.session_state.get("url_loaded"):
        return
    st.session_state["url_loaded"] = True
    params = {str(k): str(st.query_params.get(k) or "") for k in st.query_params}
    if not params:
        return
    room_messages = room.load_room_once(params, shared.hall().rooms)
    if room.role() == "follower":  # the room holds the state a follower sees, not the link
        return
    cfg, messages = config_from_query(params)
    remember_real_head(cfg, link_reference(params) if cfg.given else None)
    if params.get(TOO_LONG_KEY):
        messages.append(
            "this link was made from a state too large for a link, so it does not hold that "
            "state: ask for its state file (Share, export, import)"
        )
    st.session_state["pending_config"] = cfg
    st.session_state["present"] = params.get("present") == "1"
    st.session_state["stage"], problem = _link_step(params.get("step"))
    if problem:
        messages.append(problem)
    if params.get("pal") in PALETTES:
        st.session_state["palette"] = params["pal"]
    elif "pal" in params:
        messages.append(f"ignored 'pal': the palettes are {', '.join(PALETTES)}")
    messages += load_view(PLAYGROUND_VIEW, params)
    st.session_state["load_messages"] = messages + room_messages


def load_view(view: dict[str, Setting], params: dict[str, str]) -> list[str]:
    """Put the view settings ``params`` carries into the session (field name = session key = widget
    key); one message per value that cannot be read (that setting keeps its value)."""
    messages = []
    for name, spec in view.items():
        if spec.key not in params:
            continue
        try:
            st.session_state[name] = parse(name, spec, params[spec.key], from_text=True)
        except ValidationError as exc:
            messages.append(f"ignored '{spec.key}' ({name}): {exc}")
    return messages


def view_params(view: dict[str, Setting], defaults: object) -> dict[str, str]:
    """The link keys of the view settings that differ from their defaults (``defaults``: the view's
    dataclass, e.g. ``PlaygroundView()``)."""
    params = {}
    for name, spec in view.items():
        value, default = st.session_state.get(name, getattr(defaults, name)), getattr(defaults, name)
        if isinstance(value, list):  # a cell kept as a list
            value = tuple(value)
        if value != default and (value is not None or spec.none is not None):
            params[spec.key] = format_value(spec, value)
    return params


def load_page_view_once(view: dict[str, Setting], flag: str) -> list[str]:
    """A page's first run (``flag``: its session key saying it is done): take its view settings from
    its link; returns what could not be read (for the page to show, literally), else nothing."""
    if st.session_state.get(flag):
        return []
    st.session_state[flag] = True
    params = {str(k): str(st.query_params.get(k) or "") for k in st.query_params}
    return load_view(view, params)


def write_page_view(view: dict[str, Setting], defaults: object) -> None:
    """A page's address bar: its view settings that differ from their defaults."""
    params = view_params(view, defaults)
    if {k: st.query_params.get(k) for k in st.query_params} != params:
        st.query_params.from_dict(params)


def write_url(cfg: LabConfig) -> None:
    """Keep the address bar equal to the state on screen (only when it changed).

    Never a link the app cannot read back: a state too large even for the compressed form
    leaves a marker instead (the reader says so), and a toast tells the person once.
    """
    try:
        params = config_to_query(cfg, head_reference(cfg))
        problem = None
    except LinkTooLong as exc:
        params, problem = {TOO_LONG_KEY: "1"}, str(exc)
    except ValidationError as exc:  # a real model's head: its matrices do not travel in a link
        params, problem = {}, str(exc)
    if problem and st.session_state.get("link_problem") != problem and TOO_LONG_KEY in params:
        st.toast(literal(f"The address bar no longer holds this state: {problem}."), icon="⚠️")
    st.session_state["link_problem"] = problem
    if st.session_state.get("present"):
        params.update(present="1", step=str(st.session_state.get("stage", 0)))
    if st.session_state.get("palette", "default") != "default":
        params["pal"] = st.session_state["palette"]
    params.update(view_params(PLAYGROUND_VIEW, PlaygroundView()))
    params.update(room.link_params())
    # Compare with the address bar itself, not with what we last wrote: a page switch clears it.
    if {k: st.query_params.get(k) for k in st.query_params} != params:
        st.query_params.from_dict(params)


def share_link(params: dict[str, str]) -> str:
    """The full address of this page with ``params``."""
    from urllib.parse import urlencode

    url = getattr(getattr(st, "context", None), "url", None) or ""
    base = url.split("?")[0]
    return f"{base}?{urlencode(params)}" if params else base


def request_config(cfg: LabConfig, messages: list[str] | None = None) -> None:
    """Ask the Playground to load ``cfg`` on its next run (a walkthrough page's button, a state
    file); ``messages`` say what of it was ignored and are shown with the lab."""
    st.session_state["pending_config"] = cfg
    if messages:
        st.session_state["load_messages"] = list(st.session_state.get("load_messages") or []) + list(messages)


def consume_pending() -> None:
    """Load the configuration a link, a file or another page asked for, made holdable first
    (a setting that does not fit goes back, an edit outside its matrix is dropped: each said)."""
    cfg = st.session_state.pop("pending_config", None)
    if cfg is None:
        return
    held, messages = make_holdable(cfg)
    if messages:
        st.session_state["load_messages"] = list(st.session_state.get("load_messages") or []) + messages
    load_config(held)


def take_load_messages() -> list[str]:
    """What a link, a state file or another page asked for and could not have, once."""
    return st.session_state.pop("load_messages", None) or []


def write_room_url(params: dict[str, str]) -> None:
    """The follow view's address: the room alone (the lecturer's state is the room's, not the link's)."""
    if {k: st.query_params.get(k) for k in st.query_params} != params:
        st.query_params.from_dict(params)

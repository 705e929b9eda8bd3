"""The Real model page's link: its own address carries the sentence (``s``), the head and the rollout share.

The page shows the Playground's sentence; a link's ``s`` replaces it until the Playground's
sentence changes (so a shared link opens the same sentence, and editing in the Playground
still moves this page). All of this page's session-state writes are here.
"""

from __future__ import annotations

import streamlit as st

from attention_core import settings
from attention_core.errors import ValidationError
from attention_core.lab import MAX_SENTENCE_CHARS
from attention_core.pretrained.loader import CONFIG

LAYER, HEAD, RESIDUAL, HIDE, LINKED, URL_DONE, MESSAGES = (
    "rm_layer",
    "rm_head",
    "rm_res",
    "rm_hide_special",
    "rm_link_sentence",
    "rm_url_loaded",
    "rm_url_messages",
)
#: The model's shape, as pinned (read before it is loaded).
N_LAYERS, N_HEADS = CONFIG.n_layers, CONFIG.n_heads
DEFAULT_RESIDUAL = 0.5


def load_link_once(playground_sentence: str) -> None:
    """On the page's first run, take ``s``, ``rm_layer``, ``rm_head``, ``rm_res`` and ``rm_hide``;
    never fail."""
    if st.session_state.get(URL_DONE):
        return
    st.session_state[URL_DONE] = True
    messages = []
    s = st.query_params.get("s")
    if s is not None:
        try:
            settings.check_text(s)
            ok = 0 < len(s) <= MAX_SENTENCE_CHARS
        except ValidationError:
            ok = False
        if ok:
            st.session_state[LINKED] = (s, playground_sentence)
        else:
            messages.append(f"ignored 's': a sentence of 1 to {MAX_SENTENCE_CHARS:,} characters")
    for key, hi in ((LAYER, N_LAYERS - 1), (HEAD, N_HEADS - 1)):
        value = st.query_params.get(key)
        if value is not None:
            n = settings.parse_whole(value, 0, hi, key)
            if n is None:
                messages.append(f"ignored '{key}': a whole number from 0 to {hi}")
            else:
                st.session_state[key] = n
    res = st.query_params.get(RESIDUAL)
    if res is not None:
        try:
            r = settings.parse_number(res)
        except ValidationError:
            r = None
        if r is None or not 0 <= r <= 1:
            messages.append(f"ignored '{RESIDUAL}': a number from 0 to 1")
        else:
            st.session_state[RESIDUAL] = round(r * 20) / 20  # the slider's steps
    hide = st.query_params.get("rm_hide")
    if hide in ("0", "1"):
        st.session_state[HIDE] = hide == "1"
    elif hide is not None:
        messages.append("ignored 'rm_hide': 0 or 1")
    st.session_state[MESSAGES] = messages


def sentence(playground_sentence: str) -> str:
    """The link's sentence while the Playground's is the one it replaced; else the Playground's."""
    linked = st.session_state.get(LINKED)
    if linked and linked[1] == playground_sentence:
        return linked[0]
    st.session_state.pop(LINKED, None)
    return playground_sentence


def take_messages() -> list[str]:
    return st.session_state.pop(MESSAGES, [])


def write_link(text: str, layer: int, head: int, residual: float, hide: bool) -> None:
    """Keep the address bar equal to what the page shows."""
    params = {"s": text}
    if layer:
        params[LAYER] = str(layer)
    if head:
        params[HEAD] = str(head)
    if residual != DEFAULT_RESIDUAL:
        params[RESIDUAL] = f"{residual:g}"
    if hide:
        params["rm_hide"] = "1"
    if {k: st.query_params.get(k) for k in st.query_params} != params:
        st.query_params.from_dict(params)

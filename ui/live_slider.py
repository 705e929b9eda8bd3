"""A slider that moves the heatmaps while it is dragged (Streamlit's own commits on release).

The JavaScript (``live_slider.js``) sends values during a drag, one at a time, each after the
rerun of the previous one has drawn the page; this module mounts it and checks what comes back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import streamlit as st

from attention_core import ValidationError
from attention_core.settings import parse_number

_CSS = """
.live { display: grid; grid-template-columns: 1fr auto; align-items: center; column-gap: 0.75rem;
        font-family: var(--st-font); color: var(--st-text-color); }
.live label { grid-column: 1 / 3; font-size: 0.875rem; }
.live input { width: 100%; accent-color: var(--st-primary-color); height: 1.75rem; margin: 0; }
.live output { font-size: 1.25rem; font-variant-numeric: tabular-nums; min-width: 4.5ch; text-align: right; }
"""
_mount = st.components.v2.component("attention_lab_live_slider", js=(Path(__file__).with_name("live_slider.js")).read_text(),
                                    css=_CSS)


def received(state: object, lo: float, hi: float) -> float | None:
    """The value a browser sent (the text ``"<number> <nonce>"``), or None if it is not a finite
    number inside the slider's range (anything can arrive over the websocket)."""
    sent = state.get("value") if isinstance(state, dict) else None
    if not isinstance(sent, str) or len(sent) > 64:
        return None
    try:
        value = parse_number(sent.split(" ", 1)[0])
    except ValidationError:
        return None
    return value if lo <= value <= hi else None


def live_slider(label: str, lo: float, hi: float, value: float, *, key: str, on_change: Callable[[], None],
                step: float = 0.01) -> None:
    """Mount the slider; ``on_change`` runs (as a widget callback) for every value it sends.

    ``run`` changes on every rerun, so the browser knows the page was drawn again.
    """
    _mount(key=key, data={"label": label, "lo": lo, "hi": hi, "step": step, "value": float(value),
                          "run": time.monotonic_ns()},
           default={"value": None}, on_value_change=on_change)

"""A slider that moves the heatmaps while it is dragged (Streamlit's own commits on release).

The JavaScript (``live_slider.js``) sends values during a drag, at most two unacknowledged, and
this module mounts it, checks what comes back and acknowledges it once the page is drawn.
"""

from __future__ import annotations

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
_mount = st.components.v2.component(
    "attention_lab_live_slider", js=(Path(__file__).with_name("live_slider.js")).read_text(), css=_CSS
)


def received(state: object, lo: float, hi: float) -> float | None:
    """The value a browser sent (the text ``"<number> <nonce>"``), or None if it is not a finite
    number inside the slider's range (anything can arrive over the websocket)."""
    sent = _sent(state)
    try:
        value = parse_number(sent.split(" ", 1)[0]) if sent else None
    except ValidationError:
        return None
    return value if value is not None and lo <= value <= hi else None


def _sent(state: object) -> str | None:
    sent = state.get("value") if isinstance(state, dict) else None
    return sent if isinstance(sent, str) and len(sent) <= 64 else None


def live_slider(
    label: str,
    lo: float,
    hi: float,
    value: float,
    *,
    key: str,
    on_change: Callable[[], None],
    step: float = 0.01,
) -> None:
    """Mount the slider; ``on_change`` runs (as a widget callback) for every value it sends.

    Call it after everything the value changes is drawn: ``ack`` (the nonce of the last value this
    session received) tells the browser that value's rerun has reached the page.
    """
    sent = _sent(st.session_state.get(key))
    _mount(
        key=key,
        data={
            "label": label,
            "lo": lo,
            "hi": hi,
            "step": step,
            "value": float(value),
            "ack": sent.split(" ", 1)[-1] if sent else None,
        },
        default={"value": None},
        on_value_change=on_change,
    )

"""What the live nudge slider's browser side may send, and what the server accepts of it.

The component sends ``"<number> <nonce>"``; anything can arrive over the websocket, so the value
goes through the core's one number parser and must lie inside the slider's range.
"""

from __future__ import annotations

import pytest

from ui.live_slider import received


@pytest.mark.parametrize(
    ("sent", "value"),
    [
        ("0.5 k3j2h1", 0.5),
        ("-1.25 x", -1.25),
        ("1e-5 n", 1e-5),
        ("2 n", 2.0),
        ("−0.75 n", -0.75),
    ],
)
def test_a_number_inside_the_range_is_taken(sent: str, value: float) -> None:
    assert received({"value": sent}, -2.0, 2.0) == value


@pytest.mark.parametrize(
    "state",
    [
        None,
        3,
        "0.5 n",
        {},
        {"value": None},
        {"value": 0.5},
        {"value": True},
        {"value": ["0.5 n"]},
        {"value": "nan n"},
        {"value": "inf n"},
        {"value": "1e999 n"},
        {"value": "1,5 n"},
        {"value": "abc n"},
        {"value": ""},
        {"value": " "},
        {"value": "2.5 n"},
        {"value": "-2.01 n"},
        {"value": "0.5 " + "n" * 100},
    ],
)
def test_anything_else_is_ignored(state: object) -> None:
    assert received(state, -2.0, 2.0) is None


def test_the_ends_of_the_range_are_inside() -> None:
    assert received({"value": "-2 n"}, -2.0, 2.0) == -2.0
    assert received({"value": "2 n"}, -2.0, 2.0) == 2.0
    assert received({"value": "0 n"}, -2.0, 2.0) == 0.0

"""Lecture rooms through the whole app (AppTest): the lecturer's Playground, the follow view, questions,
exploring and coming back, and a room whose Redis went away."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from attention_core import LabConfig
from tests.app_driver import edit_cell
from tests.plotly_json import chart_z
from tests.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[1]


def open_app(params: dict[str, str]) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for k, v in params.items():
        at.query_params[k] = v
    return at.run()


def lecturer() -> tuple[AppTest, str, str]:
    at = open_app({"teach": "1"})
    assert not at.exception
    return at, at.session_state["room_code"], at.session_state["room_key"]


def query(at: AppTest) -> dict[str, str]:
    return {
        k: (at.query_params[k][0] if isinstance(at.query_params[k], list) else at.query_params[k])
        for k in at.query_params
    }


def elements(node: object) -> int:
    """Every element and layout block drawn under ``node`` (what Streamlit sends, one message each)."""
    children = getattr(node, "children", None)
    if not children:
        return 1
    return 1 + sum(elements(c) for c in children.values())


def everything_sent(at: AppTest) -> str:
    """The text of every element a session received (protos, figures, captions), for searching."""
    return "\n".join(str(node.proto) for node in _walk(at._tree) if getattr(node, "proto", None) is not None)


def _walk(node: object) -> Iterator[object]:
    yield node
    for child in (getattr(node, "children", None) or {}).values():
        yield from _walk(child)


def test_teach_makes_a_room_and_the_address_bar_holds_code_and_key() -> None:
    at, code, key = lecturer()
    assert query(at) == {"room": code, "key": key}
    assert len(code) == 6 and len(key) >= 32
    assert any("Lecture room" in e.label for e in at.sidebar.expander)
    # the join panel shows the student link (never the key) and its QR code
    sent = everything_sent(at)
    assert f"?room={code}" in sent and "svg" in sent


def test_follow_view_is_lean_and_shows_the_lecturers_numbers() -> None:
    at, code, key = lecturer()
    edit_cell(at, "W_q", 0, 0, 2.5)
    assert not at.exception
    student = open_app({"room": code})
    assert not student.exception
    assert student.caption[0].value == f"following {code} · Playground"
    assert elements(student.main) <= 20 and len(student.sidebar.children) == 0
    lect = np.asarray(at.session_state["edits"][("W_q", 0, 0)])
    assert lect == 2.5
    charts = student.get("plotly_chart")
    assert len(charts) == 2  # the weights and the matrix being edited
    from ui import shared

    trace = shared.cached_run_lab(_lecturer_config(at))
    np.testing.assert_array_equal(chart_z(charts[0]), trace.attention.heads[0].weights)
    assert key not in everything_sent(student)


def _lecturer_config(at: AppTest) -> LabConfig:
    """The configuration on a Playground's screen (widget key = session key = field name)."""
    fields = {f: at.session_state[f] for f in LabConfig.__dataclass_fields__ if f != "edits"}
    return LabConfig(**fields).with_edits(at.session_state["edits"])


def test_a_lecturers_edit_reaches_the_follower_on_its_next_run() -> None:
    at, code, _ = lecturer()
    student = open_app({"room": code})
    before = chart_z(student.get("plotly_chart")[0])
    edit_cell(at, "W_k", 1, 1, -3.0)
    student.run()
    after = chart_z(student.get("plotly_chart")[0])
    assert not np.array_equal(before, after)
    from ui import shared

    np.testing.assert_array_equal(
        after, shared.cached_run_lab(_lecturer_config(at)).attention.heads[0].weights
    )


def test_presentation_stage_is_followed() -> None:
    at, code, _ = lecturer()
    at.session_state["present"] = True
    at.run()
    assert not at.exception
    assert at.session_state["stage"] == 0  # the first stage of a room: how to join
    assert any(
        f"?room={code}" in str(e.proto) for e in _walk(at._tree) if getattr(e, "proto", None) is not None
    )
    at.button(key="next_stage").click().run()
    at.button(key="next_stage").click().run()
    student = open_app({"room": code})
    from ui import presentation, shared

    n = len(presentation.stages(shared.cached_run_lab(_lecturer_config(at)), join=True))
    assert student.caption[0].value == f"following {code} · stage 3 of {n}"
    assert elements(student.main) <= 20 and not student.exception


def test_questions_answers_histogram_and_reveal() -> None:
    at, code, key = lecturer()
    students = [open_app({"room": code}) for _ in range(3)]
    at.selectbox(key="room_q_kind").set_value("attend").run()
    at.selectbox(key="room_q_row").set_value(1).run()
    at.button(key="room_ask").click().run()
    assert not at.exception
    for k, s in enumerate(students):
        s.run()
        s.radio(key=next(r.key for r in s.radio)).set_value(k % 2).run()
        s.button(key="room_send").click().run()
        assert not s.exception
    at.run()
    assert "Question 1, open: 3 answers" in [c.value for c in at.caption]
    bars = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    tally = next(b for b in bars if b["data"][0]["type"] == "bar")
    assert tally["data"][0]["y"][:2] == [2, 1]
    at.button(key="room_reveal").click().run()
    s = students[0].run()
    assert any("lab's answer" in str(c.proto.spec) for c in s.get("plotly_chart"))
    # the multiple-choice text is shown literally
    at.selectbox(key="room_q_kind").set_value("choice").run()
    at.text_input(key="room_q_text").set_value("**Is** <b>this</b> $x$?").run()
    at.text_area(key="room_q_options").set_value("*yes*\n[no](http://e.org)").run()
    at.button(key="room_ask").click().run()
    s.run()
    assert "**Is** <b>this</b> $x$?" in [t.value for t in s.text]
    assert key not in everything_sent(s)


def test_explore_and_come_back() -> None:
    at, code, _ = lecturer()
    edit_cell(at, "W_v", 0, 1, 1.25)
    student = open_app({"room": code})
    student.button(key="room_explore").click().run()
    assert not student.exception
    assert student.session_state["room_role"] == "explorer"
    assert student.session_state["edits"] == at.session_state["edits"]
    assert query(student)["room"] == code and query(student)["explore"] == "1" and "key" not in query(student)
    from ui import shared

    np.testing.assert_array_equal(
        shared.cached_run_lab(_lecturer_config(student)).attention.output,
        shared.cached_run_lab(_lecturer_config(at)).attention.output,
    )
    # a reload of the explorer's address opens the same state, still able to go back
    again = open_app(query(student))
    assert (
        again.session_state["room_role"] == "explorer"
        and again.session_state["edits"] == at.session_state["edits"]
    )
    student.button(key="room_back").click().run()
    assert student.session_state["room_role"] == "follower" and query(student) == {"room": code}
    assert student.caption[0].value.startswith(f"following {code}")


def test_wrong_or_missing_key_gives_the_follow_view_and_unknown_rooms_the_lab() -> None:
    _, code, key = lecturer()
    wrong = open_app({"room": code, "key": key[:-2] + "xx"})
    assert wrong.session_state["room_role"] == "follower" and not wrong.exception
    for bad in ("ZZZZZZ", "0", "x" * 500, "²３"):
        at = open_app({"room": bad})
        assert not at.exception and at.session_state["room_role"] is None
        assert at.get("plotly_chart")  # the lab itself


@pytest.fixture
def redis_hall(monkeypatch: pytest.MonkeyPatch) -> Iterator[RedisServer]:
    """The app's rooms on a real redis-server (persistence on), for this test only."""
    from ui import shared

    server = RedisServer()
    monkeypatch.setenv("ATTENTION_LAB_REDIS_URL", server.url)
    shared.hall.clear()
    yield server
    server.close()
    monkeypatch.delenv("ATTENTION_LAB_REDIS_URL")
    shared.hall.clear()


def test_redis_going_away_says_so_and_the_room_resumes(redis_hall: RedisServer) -> None:
    assert os.environ["ATTENTION_LAB_REDIS_URL"] == redis_hall.url
    at, code, _ = lecturer()
    edit_cell(at, "W_q", 0, 0, 1.5)
    student = open_app({"room": code})
    assert student.caption[0].value == f"following {code} · Playground"
    redis_hall.stop()
    student.run()
    assert not student.exception and any("Room unavailable" in w.value for w in student.warning)
    edit_cell(at, "W_q", 0, 1, 0.5)  # the lecturer's lab keeps working
    assert not at.exception and at.get("plotly_chart")
    redis_hall.start()
    at.run()  # published again once Redis is back
    student.run()
    assert not student.warning and student.caption[0].value == f"following {code} · Playground"
    from ui import shared

    np.testing.assert_array_equal(
        chart_z(student.get("plotly_chart")[0]),
        shared.cached_run_lab(_lecturer_config(at)).attention.heads[0].weights,
    )


def test_the_lecturers_exports_carry_no_key() -> None:
    at, _code, key = lecturer()
    edit_cell(at, "W_q", 0, 0, 1.5)
    at.session_state["step_tab"] = "Share and export"
    at.run()
    assert not at.exception
    main = "\n".join(str(n.proto) for n in _walk(at.main) if getattr(n, "proto", None) is not None)
    assert "W_q%3A0%3A0%3A1.5" in main or "W_q:0:0:1.5" in main  # the share link is there …
    assert key not in main  # … without the key
    from attention_core.export import python_script
    from attention_core.serialize import state_to_json
    from ui import shared

    trace = shared.cached_run_lab(_lecturer_config(at))
    assert key not in python_script(trace) and key not in state_to_json(trace.config)


def test_the_follow_view_stays_lean_with_a_question_and_a_stage() -> None:
    at, code, _ = lecturer()
    at.selectbox(key="room_q_kind").set_value("estimate").run()
    at.button(key="room_ask").click().run()
    student = open_app({"room": code})
    assert student.slider and elements(student.main) <= 20, elements(student.main)
    at.session_state["present"] = True
    at.run()
    at.button(key="next_stage").click().run()
    student.run()
    assert elements(student.main) <= 20 and "stage 2 of" in student.caption[0].value


def test_presentation_mode_has_its_own_teach_button_that_opens_the_join_stage() -> None:
    at = open_app({"present": "1", "step": "3"})
    assert not at.exception and at.session_state["room_role"] is None
    at.button(key="teach_present").click().run()
    assert not at.exception and at.session_state["room_role"] == "lecturer"
    assert at.session_state["stage"] == 0  # Join: the link and its QR code
    assert query(at)["room"] == at.session_state["room_code"] and query(at)["present"] == "1"
    assert not at.get("button") or "teach_present" not in [b.key for b in at.button]

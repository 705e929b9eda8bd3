"""Issue 27, defect 7: edges, through the whole app.

* Learn, "Step" at step 5,000 set "Number of steps" to 5,001 (above its maximum): Streamlit reset it to
  1, the metric read "5001 / 1" and Run did nothing. Widgets never receive values above their limits.
* Rows with no visible key (``?s=a b c d e f g&s2=x&win=2``) were described as "spreads its attention
  most evenly (largest weight 0.00)" and explained as "weight = 0 / 0 = 0": the app says what is true.
* A link or state file with thousands of bad parts printed a message per part (150,000 unknown keys:
  4.2 MB of warning): messages about bad input are counted and capped.
"""

from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

from attention_core.learn import LEARN_CONFIG, make_problem, train
from attention_core.serialize import MAX_MESSAGES, cap_messages
from tests.test_app import plain
from tests.test_hostile import open_link, pack
from tests.test_issue27_state import import_file
from ui.learn import MAX_STEPS

ROOT = Path(__file__).resolve().parents[1]


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_step_at_the_last_step_keeps_every_widget_inside_its_limits() -> None:
    at = AppTest.from_file(str(ROOT / "pages" / "learn.py"), default_timeout=60).run()
    at.session_state["learn_state"] = train(make_problem(LEARN_CONFIG, "previous"), MAX_STEPS)
    at.session_state["learn_steps"] = MAX_STEPS
    at.run()
    assert metric(at, "step") == f"{MAX_STEPS} / {MAX_STEPS}"
    at.button(key="learn_step_button").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.number_input(key="learn_steps").value == MAX_STEPS
    assert metric(at, "step") == f"{MAX_STEPS} / {MAX_STEPS}"  # not "5001 / 1"
    assert any(f"{MAX_STEPS:,} steps" in plain(w.value) and "Reset" in w.value for w in at.warning)
    at.button(key="learn_run_button").click().run()
    assert not at.exception and not at.session_state["learn_running"]
    assert at.number_input(key="learn_steps").value == MAX_STEPS
    at.button(key="learn_reset_button").click().run()
    at.button(key="learn_step_button").click().run()
    assert metric(at, "step") == f"1 / {MAX_STEPS}"  # Reset, then Step trains again


def test_a_number_of_steps_above_the_limit_is_brought_inside_it() -> None:
    at = AppTest.from_file(str(ROOT / "pages" / "learn.py"), default_timeout=60)
    at.session_state["learn_steps"] = MAX_STEPS + 1
    at.run()
    assert not at.exception
    assert at.number_input(key="learn_steps").value == MAX_STEPS


def test_rows_that_see_no_key_are_described_as_such() -> None:
    at = open_link({"s": "a b c d e f g", "s2": "x", "win": "2"})
    assert not at.exception
    sentence = next(plain(c.value) for c in at.caption if "attends most" in plain(c.value))
    assert "largest weight 0.00" not in sentence
    assert "5 row(s) see no key" in sentence and "'c' (row 2)" in sentence
    at.session_state["explained"] = (4, 0)
    at.run()
    assert not at.exception
    codes = [c.value for c in at.code]
    assert not any("0 / 0" in c for c in codes)
    assert any("query 'e' (row 4) sees no key" in c for c in codes)
    next(b for b in at.selectbox if b.label == "query (row)").set_value(1).run()  # a row that sees its key
    assert not at.exception
    assert any("weight = 1 / 1 = 1" in c.value for c in at.code)


def test_thousands_of_bad_edits_in_a_link_give_a_short_counted_message() -> None:
    bad = [["W_q", i, 0, "NaN"] for i in range(2_500)] + [["W_zz", i, 0, 1.0] for i in range(2_500)]
    at = open_link({"z": pack({"version": 1, "config": {"edits": bad}})})
    assert not at.exception
    (code,) = [c.value for c in at.code]
    lines = code.splitlines()
    assert len(lines) <= MAX_MESSAGES + 1
    assert "(× 2,500)" in code  # counted, not repeated


def test_a_state_file_with_a_hundred_thousand_unknown_keys() -> None:
    config = {f"k{i}": 0 for i in range(100_000)}
    text = json.dumps({"version": 1, "config": config}, separators=(",", ":"))
    at = import_file(text)
    code = "\n".join(c.value for c in at.code if "ignored" in c.value)
    assert len(code.splitlines()) == MAX_MESSAGES + 1 and len(code) < 2_000
    assert f"and {100_000 - MAX_MESSAGES:,} more" in code


def test_cap_messages() -> None:
    assert cap_messages(["a", "b", "a"]) == ["a (× 2)", "b"]
    many = [f"m{i}" for i in range(20)]
    assert cap_messages(many, 3) == ["m0", "m1", "m2", "… and 17 more message(s) about this link or file"]
    assert cap_messages([*cap_messages(many, 3), "x"], 3) == [
        "m0",
        "m1",
        "m2",
        "… and 18 more message(s) about this link or file",
    ]

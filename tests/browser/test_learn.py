"""The Learn page in Chromium: Run forms the diagonal at ≥ 20 steps per second, other sessions stay
responsive, the presentation layout fits 1280 x 720, and a click on the painting grid marks a cell."""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.browser.helpers import (
    error_elements,
    figure,
    goto_app,
    script_runs,
    set_selectbox,
    wait_idle,
)

ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path(tempfile.gettempdir()) / "attention-lab-learn"


@pytest.fixture(scope="module")
def learn_url(streamlit_factory: Callable[[Path], str]) -> str:
    return streamlit_factory(ROOT / "pages" / "learn.py")


@pytest.fixture
def small_page(browser: Any) -> Any:
    """A page at the projector size, 1280 x 720."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    context.close()


def step_shown(page: Any) -> int:
    """The step counter as drawn ("57 / 200" -> 57)."""
    text = page.locator("[data-testid=stMetric]").first.inner_text()
    return int(re.search(r"(\d+) /", text).group(1))


def click(page: Any, name: str) -> None:
    since = script_runs(page)
    page.get_by_role("button", name=name, exact=True).click()
    wait_idle(page, since=since)


def wait_until_done(page: Any, goal: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while step_shown(page) < goal:
        assert time.monotonic() < deadline, f"Run stopped at step {step_shown(page)} of {goal}"
        time.sleep(0.2)
    wait_idle(page)


def measure_rate(page: Any, seconds: float = 4.0) -> tuple[float, int]:
    """(steps per second shown by the counter, distinct frames) while Run is on.

    The rate runs from the first frame that changed the counter to the last one, so the
    wait for the first frame and the time since the last do not count as standing still.
    """
    changes = []  # (time, step) at each new frame
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        shown = step_shown(page)
        if not changes or shown != changes[-1][1]:
            changes.append((time.monotonic() - t0, shown))
        time.sleep(0.02)
    (t_a, s_a), (t_b, s_b) = changes[1], changes[-1]  # changes[0] is the counter before the first frame
    return (s_b - s_a) / (t_b - t_a), len(changes) - 1


@pytest.mark.alone  # it asserts a time: run alone (see pyproject.toml)
def test_run_forms_the_diagonal_at_twenty_steps_per_second(page: Any, learn_url: str) -> None:
    goto_app(page, learn_url)
    assert step_shown(page) == 0
    page.get_by_role("button", name="Run", exact=True).click()
    rate, frames = measure_rate(page)
    print(f"\nLearn page, browser: {rate:.1f} steps/s shown, {frames} distinct frames in 4 s")
    assert rate >= 20, f"{rate:.1f} steps per second"
    wait_until_done(page, 300)
    assert error_elements(page) == []
    w = np.array(figure(page, "weights at step 300")["traces"][0]["z"], dtype=float)
    assert [int(np.argmax(r)) for r in w] == [0, 0, 1, 2, 3, 4, 5, 6]  # the diagonal below the main one
    loss = figure(page, "loss (cross-entropy)")["traces"][0]["y"]
    assert len(loss) == 301 and loss[-1] < 0.01 * loss[0]
    for title in ("dL/dW_Q", "dL/dW_K", "dL/dW_V"):
        z = np.array(figure(page, f"{title} at step 300")["traces"][0]["z"], dtype=float)
        assert z.shape == (8, 8) and np.all(np.isfinite(z))


def test_running_does_not_block_another_session(browser: Any, learn_url: str) -> None:
    runner = browser.new_context(viewport={"width": 1280, "height": 720})
    other = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        a, b = runner.new_page(), other.new_page()
        goto_app(a, learn_url)
        goto_app(b, learn_url)
        a.locator("[data-testid=stNumberInput] input").fill("5000")
        a.keyboard.press("Enter")
        wait_idle(a)
        a.get_by_role("button", name="Run", exact=True).click()
        time.sleep(1.0)
        t0 = time.monotonic()
        b.get_by_role("button", name="Step", exact=True).click()
        b.wait_for_function(
            "() => /^step\\s*1 \\//.test(document.querySelector('[data-testid=stMetric]').innerText.trim())",
            timeout=10_000,
        )
        latency = time.monotonic() - t0
        print(f"\nanother session's Step while one runs: {latency * 1000:.0f} ms")
        assert latency < 5.0  # blocked, it would wait for the 5,000 steps (minutes)
        assert step_shown(a) > 0  # the first is still running
        a.get_by_role("button", name="Pause", exact=True).click()
        wait_idle(a)
        paused = step_shown(a)
        time.sleep(1.0)
        assert step_shown(a) == paused  # Pause stops it
    finally:
        runner.close()
        other.close()


def test_presentation_layout_fits_1280_by_720(small_page: Any, learn_url: str) -> None:
    page = small_page
    goto_app(page, learn_url)
    since = script_runs(page)
    page.get_by_text("Presentation", exact=True).click()
    wait_idle(page, since=since)
    page.get_by_role("button", name="Run", exact=True).click()
    time.sleep(2.5)
    click(page, "Pause")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "learn-presentation-1280x720.png"))
    plots = page.locator(".js-plotly-plot")
    assert plots.count() == 3
    titles = [
        re.sub(r"<[^>]+>", "", t)
        for t in page.evaluate(
            "() => Array.from(document.querySelectorAll('.js-plotly-plot'), e => e._fullLayout.title.text)"
        )
    ]
    assert (
        titles[0].startswith("loss")
        and titles[1].startswith("weights at step")
        and titles[2].startswith("dL/dW_Q")
    )
    boxes = [plots.nth(i).bounding_box() for i in range(3)]
    boxes += [page.get_by_role("button", name=n, exact=True).bounding_box() for n in ("Step", "Run", "Pause")]
    for box in boxes:
        assert box is not None
        assert box["x"] >= 0 and box["y"] >= 0
        assert box["x"] + box["width"] <= 1280 and box["y"] + box["height"] <= 720, box
    xs = sorted(b["x"] for b in boxes[:3])
    assert xs[1] - xs[0] > 300 and xs[2] - xs[1] > 300  # side by side, not stacked
    assert page.locator("[data-testid=stSidebar]").is_hidden()


_CELL_JS = """([title, row, col]) => {
  const el = Array.from(document.querySelectorAll('.js-plotly-plot'))
    .find(e => (e._fullLayout.title.text || '').replace(/<[^>]+>/g, '').startsWith(title));
  const L = el._fullLayout, r = el.getBoundingClientRect();
  const x = L.xaxis._categories[col], y = L.yaxis._categories[row];
  return {x: r.left + L.xaxis._offset + L.xaxis.d2p(x), y: r.top + L.yaxis._offset + L.yaxis.d2p(y)};
}"""


def test_a_click_on_the_painting_grid_marks_a_cell(page: Any, learn_url: str) -> None:
    goto_app(page, learn_url)
    set_selectbox(page, "Task", "a target pattern painted on a grid")
    before = np.array(figure(page, "target pattern")["traces"][0]["z"], dtype=float)
    assert before[5, 3] == 0.0 and before[5, 5] == 1.0
    at = page.evaluate(_CELL_JS, ["painted target", 5, 3])
    since = script_runs(page)
    page.mouse.click(at["x"], at["y"])
    wait_idle(page, since=since)
    after = np.array(figure(page, "target pattern")["traces"][0]["z"], dtype=float)
    assert after[5, 3] == 0.5 and after[5, 5] == 0.5  # row 5 now shares its target between two cells
    assert step_shown(page) == 0  # a new target: training starts afresh
    # A second click on the same cell unmarks it (the grid is a fresh widget after every click).
    at = page.evaluate(_CELL_JS, ["painted target", 5, 3])
    since = script_runs(page)
    page.mouse.click(at["x"], at["y"])
    wait_idle(page, since=since)
    again = np.array(figure(page, "target pattern")["traces"][0]["z"], dtype=float)
    np.testing.assert_array_equal(again, before)
    assert error_elements(page) == []

"""A lecture room served the way a hall is: two Streamlit processes behind the real nginx, rooms in the
real redis-server that ``deploy/serve.py`` starts. The lecturer is on one process and a student on the
other; the student follows. The student's process is killed: after reconnecting (to the other process)
the student follows again. Redis stops: both pages say so, with no exception element, and the lab keeps
working. Redis starts again: the room continues."""

from __future__ import annotations

import json
import os
import signal
import time
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from deploy.serve import Hall
from tests.browser.helpers import (
    CHART_DRAWN_JS,
    error_elements,
    goto_app,
    plotly_figures,
    set_cell,
    wait_idle,
)

CHANGED_JS = (
    "(old) => { const p = document.querySelectorAll('.js-plotly-plot')[0];"
    " return !!(p && p._fullData && p._fullData.length"
    " && JSON.stringify(Array.from(p._fullData[0].z, r => Array.from(r))) !== old); }"
)


def pinned(browser: Any, hall: Hall, backend: Any, viewport: dict[str, int]) -> tuple[Any, Any, str]:
    """A browser whose requests nginx routes to ``backend`` (by its routing cookie)."""
    route = hall.route_to(backend)
    context = browser.new_context(viewport=viewport)
    context.add_cookies([{"name": "attn_route", "value": route, "url": hall.url}])
    page = context.new_page()
    page.set_default_timeout(30_000)
    return context, page, route


def z(page: Any) -> str:
    return json.dumps(plotly_figures(page)[0]["traces"][0]["z"])


def follows(
    student: Any, lecturer: Any, matrix: str, row: int, col: int, value: str, timeout: float
) -> float:
    """The lecturer sets a cell; seconds until the student's heatmap shows the lecturer's new numbers."""
    old = z(student)
    start: list[float] = []
    set_cell(lecturer, matrix, row, col, value, before_commit=lambda: start.append(time.monotonic()))
    student.wait_for_function(CHANGED_JS, arg=old, timeout=timeout * 1000)
    took = time.monotonic() - start[0]  # from the lecturer's Enter key
    wait_idle(student)
    assert z(student) == z(lecturer)
    return took


@pytest.mark.alone  # it asserts a time: run alone (see pyproject.toml)
def test_a_room_across_two_processes_and_redis(browser: Any, hall: Hall) -> None:
    a, b = hall.backends
    lect_ctx, lect, lect_route = pinned(browser, hall, a, {"width": 1280, "height": 720})
    stud_ctx, student, stud_route = pinned(browser, hall, b, {"width": 390, "height": 844})
    try:
        goto_app(lect, f"{hall.url}/?teach=1")
        code = parse_qs(urlparse(lect.url).query)["room"][0]
        goto_app(student, f"{hall.url}/?room={code}")
        assert hall.served_by(lect_route) == a.address and hall.served_by(stud_route) == b.address
        assert student.get_by_text(f"following {code}").is_visible()
        assert follows(student, lect, "W_Q", 0, 0, "2", timeout=2.0) < 2.0  # across processes, through Redis

        # The student's process dies: the client reconnects through nginx to the other one and follows again.
        os.killpg(b.proc.pid, signal.SIGKILL)
        b.proc.wait(timeout=10)
        student.wait_for_function(
            "() => document.querySelector('[data-testid=stApp]')"
            ".getAttribute('data-test-connection-state') !== 'CONNECTED'",
            timeout=15_000,
        )
        student.wait_for_function(
            "() => document.querySelector('[data-testid=stApp]')"
            ".getAttribute('data-test-connection-state') === 'CONNECTED'",
            timeout=60_000,
        )
        wait_idle(student, 60_000)
        student.wait_for_function(CHART_DRAWN_JS, timeout=30_000)
        assert hall.served_by(stud_route) == a.address
        assert student.get_by_text(f"following {code}").is_visible()
        assert follows(student, lect, "W_Q", 0, 1, "-1.5", timeout=2.0) < 2.0

        # Redis goes away: "room unavailable", no exception; the lecturer's lab keeps working.
        assert hall.redis is not None
        hall.redis.stop()
        student.get_by_text("Room unavailable").first.wait_for(timeout=25_000)  # its 10-s check
        set_cell(lect, "W_Q", 1, 0, "0.75")
        lect.get_by_text("Room unavailable").first.wait_for(timeout=15_000)
        assert error_elements(student) == [] and error_elements(lect) == []

        # Redis is back (its append-only file kept the room): the room continues.
        hall.redis.start()
        took = follows(student, lect, "W_Q", 1, 1, "1.25", timeout=12.0)
        assert student.get_by_text("Room unavailable").count() == 0
        assert error_elements(student) == [] and error_elements(lect) == []
        print(f"\nafter Redis came back, the student followed in {took:.2f} s")
    finally:
        lect_ctx.close()
        stud_ctx.close()

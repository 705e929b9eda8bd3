"""A lecture in Chromium: one lecturer at a projector's 1280×720 and three students (two laptops, one
390×844 phone) following the room. The lecturer's edit reaches every student's heatmap within 2 s
without a reload; a question answered by the three shows 3 on the lecturer's histogram; no frame a
student receives contains the lecturer's key."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from tests.browser.helpers import error_elements, goto_app, plotly_figures, set_cell, wait_idle

DOCS = Path(__file__).resolve().parents[2] / "docs"
#: Rendered size of every cell number of the first heatmap: font size × the SVG's scale on screen.
NUMBER_PX_JS = """() => {
  const plot = document.querySelectorAll('.js-plotly-plot')[0];
  return Array.from(plot.querySelectorAll('.heatmaplayer text'))
    .map(t => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a);
}"""


def first_z(page: Any) -> list:
    figs = plotly_figures(page)
    return figs[0]["traces"][0]["z"] if figs else []


def student(browser: Any, url: str, viewport: dict[str, int]) -> tuple[Any, Any, list[bytes]]:
    """A student's own browser context on the room link; every websocket frame it receives is kept."""
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(30_000)
    frames: list[bytes] = []
    page.on(
        "websocket",
        lambda ws: ws.on(
            "framereceived",
            lambda payload: frames.append(payload if isinstance(payload, bytes) else str(payload).encode()),
        ),
    )
    goto_app(page, url)
    return context, page, frames


@pytest.mark.alone  # it asserts a time: run alone (see pyproject.toml)
def test_a_lecture_with_three_students(browser: Any, app_url: str) -> None:
    lect_ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    lect = lect_ctx.new_page()
    lect.set_default_timeout(30_000)
    contexts = [lect_ctx]
    try:
        goto_app(lect, f"{app_url}/?teach=1")
        query = parse_qs(urlparse(lect.url).query)
        code, key = query["room"][0], query["key"][0]
        assert re.fullmatch(r"[A-Z0-9]{6}", code) and len(key) >= 32
        lect.screenshot(path=str(DOCS / "room_lecturer_1280.png"))

        students = []
        for viewport in (
            {"width": 1366, "height": 768},
            {"width": 1280, "height": 800},
            {"width": 390, "height": 844},
        ):
            ctx, page, frames = student(browser, f"{app_url}/?room={code}", viewport)
            contexts.append(ctx)
            students.append((page, frames, viewport))
            caption = page.get_by_text(f"following {code} · Playground")
            b = caption.bounding_box()
            assert b and b["y"] >= 0 and b["y"] + b["height"] <= viewport["height"]
            # nothing (the top bar) covers it
            assert caption.evaluate(
                "(e) => { const r = e.getBoundingClientRect();"
                " return e.contains(document.elementFromPoint(r.x + 5, r.y + r.height / 2)); }"
            )

        phone, _, vp = students[2]
        assert phone.evaluate("() => document.scrollingElement.scrollWidth") <= vp["width"]
        plot = phone.locator(".js-plotly-plot").first.bounding_box()
        assert plot["x"] >= 0 and plot["x"] + plot["width"] <= vp["width"]
        sizes = phone.evaluate(NUMBER_PX_JS)
        assert sizes and min(sizes) >= 12, sizes
        phone.screenshot(path=str(DOCS / "room_follow_phone.png"), full_page=True)

        # The lecturer nudges a weight: every student's heatmap shows the new numbers within 2 s.
        before = [first_z(p) for p, _, _ in students]
        start: list[float] = []
        set_cell(lect, "W_Q", 0, 0, "3", before_commit=lambda: start.append(time.monotonic()))
        for (page, _, _), old in zip(students, before):
            page.wait_for_function(
                "(old) => { const p = document.querySelectorAll('.js-plotly-plot')[0];"
                " return p && p._fullData && JSON.stringify(Array.from(p._fullData[0].z,"
                " r => Array.from(r))) !== old; }",
                arg=json.dumps(old),
                timeout=2_000,
            )
        took = time.monotonic() - start[0]  # from the lecturer's Enter key
        assert took < 2.0, took
        lecturer_z = first_z(lect)
        for page, _, _ in students:
            wait_idle(page)
            assert first_z(page) == lecturer_z  # the same numbers as on the projector

        # A question: the three answer, the lecturer's histogram shows 3.
        lect.get_by_role("button", name="Ask", exact=True).click()
        wait_idle(lect)
        for k, (page, _, _) in enumerate(students):
            page.get_by_text("Which word does").wait_for(timeout=5_000)
            page.locator("[data-testid=stRadio] [role=radiogroup] label").nth(k % 2).click()
            wait_idle(page)
            page.get_by_role("button", name="Send my answer").click()
            wait_idle(page)
            assert not error_elements(page)
        lect.get_by_text("open: 3 answers").wait_for(timeout=6_000)  # the panel refreshes every 2 s
        bars = next(f for f in plotly_figures(lect) if f["traces"] and f["traces"][0]["type"] == "bar")
        assert sum(bars["traces"][0]["y"]) == 3
        lect.screenshot(path=str(DOCS / "room_question_1280.png"))

        # The presentation's first stage: the student link in large type and its QR code, on the projector.
        lect.get_by_text("Presentation mode").click()
        wait_idle(lect)
        lect.get_by_text("Join", exact=True).first.wait_for()
        stage = lect.locator("[data-testid=stMain]")  # (the sidebar's own join panel is hidden meanwhile)
        link = stage.get_by_text(f"?room={code}").first
        box, qr = link.bounding_box(), stage.locator("[data-testid=stImage] img").first.bounding_box()
        assert (
            box
            and qr
            and box["y"] + box["height"] <= 720
            and qr["y"] + qr["height"] <= 720
            and qr["width"] >= 300
        )
        assert float(link.evaluate("e => getComputedStyle(e).fontSize").removesuffix("px")) >= 32
        assert key not in lect.locator("[data-testid=stMain]").inner_text()
        lect.screenshot(path=str(DOCS / "room_join_1280.png"))

        # The key never reached a student, in any frame.
        for page, frames, _ in students:
            assert frames and not any(key.encode() in f for f in frames)
            assert key not in page.url and not error_elements(page)
    finally:
        for ctx in contexts:
            ctx.close()

"""The Playground on a phone (390×844): the title clears the top bar, the sentence is on the page (the
sidebar starts collapsed there), the chosen matrix's grid and the weights heatmap are one scroll apart,
and nothing is cut off at the screen's edges. Everything is measured from bounding boxes in Chromium.
The screenshot docs/phone_playground.png is taken here."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from tests.browser.helpers import error_elements, figure, goto_app, screenshot, script_runs, wait_idle

PHONE = {"width": 390, "height": 844}
DOCS = Path(__file__).resolve().parents[2] / "docs"

#: Boxes of what a person reads or touches on the page (visible ones only), to check against the edges.
BOXES_JS = """() => {
  const seen = s => Array.from(document.querySelectorAll(s)).filter(e => {
    const b = e.getBoundingClientRect();
    return b.width > 0 && b.height > 0 && getComputedStyle(e).visibility !== 'hidden';
  }).map(e => { const b = e.getBoundingClientRect();
    return {what: s, text: (e.innerText || '').slice(0, 40), left: b.left, right: b.right, top: b.top,
            bottom: b.bottom}; });
  const main = document.querySelector('[data-testid=stMain]');
  // Text cut short with an ellipsis (a label wider than its box): the box hides what overflows.
  const truncated = Array.from(main.querySelectorAll('[data-testid=stWidgetLabel] p, label p, h1'))
    .filter(e => e.getBoundingClientRect().width > 0 && e.scrollWidth > e.clientWidth + 1
                 && getComputedStyle(e).overflow !== 'visible')
    .map(e => e.innerText.slice(0, 60));
  return {
    truncated,
    header: document.querySelector('[data-testid=stHeader]').getBoundingClientRect().bottom,
    overflow: main.scrollWidth - main.clientWidth,
    parts: ['[data-testid=stMain] h1', '[data-testid=stMain] [data-testid=stWidgetLabel]',
            '[data-testid=stMain] [data-testid=stRadioOption]', '[data-testid=stMain] button',
            '[data-testid=stMain] [data-testid=stCaptionContainer]', '[data-testid=stMain] input',
            '[data-testid=stMain] .js-plotly-plot',
            '[data-testid=stMain] [data-testid=stDataFrame]'].flatMap(seen),
  };
}"""


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def rect(page: Any, selector: str) -> dict:
    b = page.locator(selector).first.bounding_box()
    assert b is not None, f"{selector} is not drawn"
    return {"top": b["y"], "bottom": b["y"] + b["height"], "left": b["x"], "right": b["x"] + b["width"]}


def page_top(page: Any, selector: str) -> float:
    """Where ``selector`` starts on the page (not the viewport): the main area scrolls itself."""
    return float(
        page.evaluate(
            "(s) => document.querySelector(s).getBoundingClientRect().top"
            " + document.querySelector('[data-testid=stMain]').scrollTop",
            selector,
        )
    )


def test_phone_layout(phone: Any, streamlit_app: str) -> None:
    goto_app(phone, streamlit_app)
    assert not error_elements(phone)
    found = phone.evaluate(BOXES_JS)
    header = found["header"]

    # The title clears the top bar and is on screen.
    title = rect(phone, "[data-testid=stMain] h1")
    assert title["top"] >= header - 0.5 and title["right"] <= PHONE["width"], (title, header)

    # The sentence is on the page, on the first screen, holding the sentence in force.
    sentence = rect(phone, ".st-key-page_sentence input")
    assert sentence["bottom"] <= PHONE["height"] and sentence["right"] <= PHONE["width"]
    assert phone.locator(".st-key-page_sentence input").input_value() == "Life is short, eat dessert first"
    assert rect(phone, "[data-testid=stSidebar]")["right"] <= 0  # collapsed: it had been the only way in

    # Nothing cut off at the screen's edges, and no sideways scrolling of the page.
    assert found["overflow"] <= 0, found["overflow"]
    cut = [p for p in found["parts"] if p["left"] < -0.5 or p["right"] > PHONE["width"] + 0.5]
    assert not cut, cut
    assert not found["truncated"], found["truncated"]
    toolbars = phone.evaluate("""() => Array.from(document.querySelectorAll('[data-testid=stElementToolbar]'))
      .map(e => e.getBoundingClientRect()).filter(b => b.width > 0).map(b => ({left: b.left, right: b.right,
      top: b.top, bottom: b.bottom}))""")
    options = [p for p in found["parts"] if p["what"].endswith("stRadioOption]")]
    for bar in toolbars:  # a grid's toolbar floats above it: not over the matrix choice
        for o in options:
            assert (
                bar["right"] <= o["left"]
                or bar["left"] >= o["right"]
                or bar["bottom"] <= o["top"]
                or bar["top"] >= o["bottom"]
            ), (bar, o)
    for a, b in pairwise(options):  # a row of options wraps instead of overlapping
        assert b["left"] >= a["right"] - 0.5 or b["top"] >= a["bottom"] - 0.5, (a, b)

    # The chosen matrix's grid and the weights heatmap are one scroll apart: one scroll position shows the
    # grid's top with the heatmap's top, another the grid's last rows with the whole heatmap.
    usable = PHONE["height"] - header
    grid_top = page_top(phone, "[data-testid=stMain] [data-testid=stDataFrame]")
    grid = rect(phone, "[data-testid=stMain] [data-testid=stDataFrame]")
    grid_bottom = grid_top + grid["bottom"] - grid["top"]
    plot = rect(phone, "[data-testid=stMain] .js-plotly-plot")
    plot_top = page_top(phone, "[data-testid=stMain] .js-plotly-plot")
    plot_bottom = plot_top + plot["bottom"] - plot["top"]
    assert plot_top - grid_top <= usable - 100, (grid_top, plot_top, usable)  # 100 px of the heatmap shows
    assert plot_bottom - grid_bottom <= usable, (grid_bottom, plot_bottom, usable)
    screenshot(phone, DOCS / "phone_playground.png", height=PHONE["height"] * 2)

    # Typing a sentence on the page changes the heatmap, as the sidebar's box does.
    box = phone.locator(".st-key-page_sentence input")
    runs = script_runs(phone)
    box.fill("the cat sat on the mat")
    box.press("Enter")
    wait_idle(phone, since=runs)
    phone.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length > 0")
    keys = " ".join(figure(phone, "weights")["ticktext_x"])
    assert "cat" in keys and "mat" in keys and "dessert" not in keys, keys
    assert not error_elements(phone)


def test_wide_screens_keep_the_sentence_in_the_sidebar(projector_page: Any, streamlit_app: str) -> None:
    goto_app(projector_page, streamlit_app)
    assert projector_page.locator(".st-key-page_sentence").first.bounding_box() is None  # display: none
    assert rect(projector_page, "[data-testid=stSidebar] input[aria-label='Sentence']")["right"] > 0

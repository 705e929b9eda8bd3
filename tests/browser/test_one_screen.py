"""The Playground as a lecturer uses it at a projector: edit and effect on one 1280×720 screen.

Bounding boxes say what is in the viewport after an edit, a slider move and a weight click;
rendered font sizes say the numbers are readable; values typed at 30 ms per key commit
exactly; every presentation stage fits 720 px and PageDown steps. Screenshots go to docs/.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest

from attention_core import LabConfig, run_lab
from tests.browser.helpers import (
    figure,
    goto_app,
    live_slider,
    script_runs,
    set_cell,
    set_live_slider,
    wait_idle,
)

DOCS = Path(__file__).resolve().parents[2] / "docs"
NUMBERS_JS = """(prefix) => {
  const plot = Array.from(document.querySelectorAll('.js-plotly-plot'))
    .find(e => (((e._fullLayout || {}).title || {}).text || '').replace(/<[^>]+>/g, '').startsWith(prefix));
  return Array.from(plot.querySelectorAll('.heatmaplayer text'))
    .map(t => t.getBoundingClientRect().height);
}"""


def box(page, selector: str, nth: int = 0) -> dict:
    b = page.locator(selector).nth(nth).bounding_box()
    assert b is not None, f"{selector} is not drawn"
    return b


def in_view(b: dict, viewport: dict) -> bool:
    return (
        b["y"] >= 0
        and b["y"] + b["height"] <= viewport["height"] + 1
        and b["x"] + b["width"] <= viewport["width"] + 1
    )


def weights_plot(page) -> str:
    return ".js-plotly-plot >> nth=0"


def type_value(page, row: int, col: int, text: str) -> None:
    """Choose cell (row, col) of W_Q in the grid, then type ``text`` into "exact value" at 30 ms per key
    and press Enter, as a person does; wait for the rerun."""
    set_cell(page, "W_Q", row, col, "0")  # choose the cell (and a known value)
    box = page.locator("[data-testid=stTextInput] input[aria-label='exact value']")
    box.click()
    page.keyboard.press("Control+A")
    runs = script_runs(page)
    page.keyboard.type(text, delay=30)
    page.keyboard.press("Enter")
    wait_idle(page, since=runs)


def edits_in_url(page) -> str:
    return parse_qs(urlparse(page.url).query).get("e", [""])[0]


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_sentence_editor_and_weights_share_one_screen(browser, app_url: str, size: tuple[int, int]) -> None:
    ctx = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = ctx.new_page()
    try:
        goto_app(page, app_url)
        vp = page.viewport_size
        sentence = box(page, "[data-testid=stSidebar] [data-testid=stTextInput] input")
        grid = box(page, "[data-testid=stDataFrame]")
        plots = page.locator(".js-plotly-plot")
        weights = plots.nth(0).bounding_box()
        assert all(in_view(b, vp) for b in (sentence, grid, weights)), (sentence, grid, weights)
        figure(page, "weights")  # exactly one weights heatmap on the page
        if size == (1920, 1080):  # one more chosen step in view as well
            assert in_view(plots.nth(1).bounding_box(), vp)
        heights = page.evaluate(NUMBERS_JS, "weights")
        assert heights and min(heights) >= 12, heights  # ≥ 12 px cell numbers at 6 tokens
        page.screenshot(path=str(DOCS / f"playground_{size[0]}.png"))
    finally:
        ctx.close()


def test_typed_values_commit_exactly_and_bad_text_is_refused(projector_page, app_url: str) -> None:
    page = projector_page
    goto_app(page, app_url)
    for typed, cell, expected in [
        ("1.5", (0, 0), "1.5"),
        ("1e-5", (0, 1), "1e-05"),
        ("2.5e3", (0, 2), "2500.0"),
        ("-0.25", (0, 3), "-0.25"),
        ("+3", (1, 0), "3.0"),
    ]:
        type_value(page, *cell, typed)
        assert f"W_q:{cell[0]}:{cell[1]}:{expected}" in edits_in_url(page), (typed, edits_in_url(page))
    before = edits_in_url(page)
    box = page.locator("[data-testid=stTextInput] input[aria-label='exact value']")
    box.click()
    page.keyboard.press("Control+A")
    runs = script_runs(page)
    page.keyboard.type("1,5", delay=30)
    page.keyboard.press("Enter")
    wait_idle(page, since=runs)
    assert "decimal comma" in page.locator("[data-testid=stAlertContentError]").first.inner_text()
    assert edits_in_url(page) == before  # the cell kept its value
    edits = {
        ("W_q", 0, 0): 1.5,
        ("W_q", 0, 1): 1e-5,
        ("W_q", 0, 2): 2500.0,
        ("W_q", 0, 3): -0.25,
        ("W_q", 1, 0): 3.0,
    }
    shown = np.array(figure(page, "weights")["traces"][0]["z"], dtype=float)
    np.testing.assert_allclose(
        shown, run_lab(LabConfig().with_edits(edits)).attention.heads[0].weights, rtol=1e-6
    )


WEIGHTS_ROW0_JS = """() => { const el = Array.from(document.querySelectorAll('.js-plotly-plot'))
  .find(e => (((e._fullLayout || {}).title || {}).text || '').includes('weights = softmax'));
  return el && el._fullData && el._fullData[0] ? JSON.stringify(el._fullData[0].z) : null; }"""


@pytest.mark.alone  # it counts redraws during a drag: run alone (see pyproject.toml)
def test_dragging_the_nudge_slider_moves_the_weights_before_the_mouse_is_released(
    projector_page, app_url: str
) -> None:
    """The lecture gesture: hold the slider's thumb and move it; the weights heatmap shows new numbers
    while the button is still down, and after release it holds exactly the core's weights for the
    value the slider ended at."""
    page = projector_page
    goto_app(page, app_url)
    thumb = live_slider(page, "W_Q[0, 0]").locator("input[type=range]")
    b = thumb.bounding_box()
    assert in_view(b, page.viewport_size)
    y = b["y"] + b["height"] / 2
    page.mouse.move(b["x"] + b["width"] * 0.5, y)
    page.mouse.down()
    seen = {page.evaluate(WEIGHTS_ROW0_JS)}
    for i in range(60):  # about 3 s of a slow drag to the right
        page.mouse.move(b["x"] + b["width"] * (0.5 + 0.4 * i / 60), y)
        page.wait_for_timeout(50)
        seen.add(page.evaluate(WEIGHTS_ROW0_JS))
    assert len(seen) >= 3, f"the weights were redrawn {len(seen) - 1} time(s) during the drag"
    page.mouse.up()
    page.wait_for_timeout(500)  # the last value of the drag leaves once the previous one is drawn
    wait_idle(page)
    final = float(live_slider(page, "W_Q[0, 0]").locator("output").inner_text())
    assert final > 0.5  # the thumb went right from the middle of a range symmetric about 0
    edits = parse_qs(urlparse(page.url).query)["e"][0]
    value = float(edits.split(":")[-1])
    assert abs(value - final) < 0.006
    box = page.locator("[data-testid=stTextInput] input[aria-label='exact value']")
    assert float(box.input_value()) == value  # the exact-value box followed the drag
    shown = np.array(figure(page, "weights")["traces"][0]["z"], dtype=float)
    np.testing.assert_allclose(
        shown, run_lab(LabConfig().with_edits({("W_q", 0, 0): value})).attention.heads[0].weights, rtol=1e-6
    )


def test_nudge_and_weight_click_stay_on_one_screen(projector_page, app_url: str) -> None:
    page = projector_page
    goto_app(page, app_url)
    before = np.array(figure(page, "weights")["traces"][0]["z"], dtype=float)
    set_live_slider(page, "W_Q[0, 0]", 1.5)
    assert page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollTop") == 0  # no jump
    vp = page.viewport_size
    assert in_view(page.locator(".js-plotly-plot").nth(0).bounding_box(), vp)
    after = np.array(figure(page, "weights")["traces"][0]["z"], dtype=float)
    expected = run_lab(LabConfig().with_edits({("W_q", 0, 0): 1.5})).attention.heads[0].weights
    np.testing.assert_allclose(after, expected, rtol=1e-6)
    assert not np.allclose(before, after)
    # Click weight (row 1, column 3): its cell is outlined and its arithmetic shows beside the heatmap.
    cell = page.evaluate("""() => {
      const el = document.querySelectorAll('.js-plotly-plot')[0]; const L = el._fullLayout;
      const r = el.getBoundingClientRect();
      return [r.left + L._size.l + L.xaxis.l2p(3) , r.top + L._size.t + L.yaxis.l2p(1)]; }""")
    runs = script_runs(page)
    page.mouse.click(cell[0], cell[1])
    wait_idle(page, since=runs)
    code = page.locator("[data-testid=stCode]").filter(has_text="score  = q_i").first
    code.wait_for(timeout=10_000)
    assert "(row 1)" in code.inner_text() and "(column 3)" in code.inner_text()
    assert in_view(code.bounding_box(), vp), code.bounding_box()
    shapes = page.evaluate(
        "() => (document.querySelectorAll('.js-plotly-plot')[0]._fullLayout.shapes || []).length"
    )
    assert shapes == 1
    page.screenshot(path=str(DOCS / "playground_weight_clicked_1280.png"))


def test_every_presentation_stage_fits_720_and_pagedown_steps(projector_page, app_url: str) -> None:
    page = projector_page
    goto_app(page, f"{app_url}/?present=1&h=2&causal=1&dk=24&dv=28", charts=False)
    titles = []
    for _ in range(12):
        title = page.locator("[data-testid=stMain] h2").first.inner_text()
        titles.append(title)
        # Measured once the stage's figures are drawn and laid out (a loaded machine lags behind "idle").
        page.wait_for_function(
            "() => Array.from(document.querySelectorAll('.js-plotly-plot'))"
            ".every(e => e._fullData && e._fullData.length)",
            timeout=30_000,
        )
        page.wait_for_timeout(500)
        height = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
        assert height <= 720, (title, height)
        for plot in page.locator(".js-plotly-plot").all():
            b = plot.bounding_box()
            assert b["y"] + b["height"] <= 721, (title, b)
        numbers = page.locator(".js-plotly-plot .heatmaplayer text").all()
        if numbers:
            assert min(float(n.evaluate("t => t.getBoundingClientRect().height")) for n in numbers[:20]) >= 20
        if title in ("Scaling", "Weights", "All heads"):
            page.screenshot(path=str(DOCS / f"present_{title.lower().replace(' ', '_')}_1280.png"))
        if page.get_by_role("button", name=re.compile("^Next")).is_disabled():
            break
        runs = script_runs(page)
        page.locator("[data-testid=stMain] h2").first.click()  # focus the page, not a widget
        page.keyboard.press("PageDown")
        wait_idle(page, since=runs)
    assert titles[:3] == ["Tokens", "Embeddings", "Queries, keys, values"]
    assert "All heads" in titles and titles[-1] == "Concatenation and W_O", titles

"""The Playground as a lecturer uses it at a projector: edit and effect on one 1280×720 screen.

Bounding boxes say what is in the viewport after an edit, a slider move and a weight click;
rendered font sizes say the numbers are readable; values typed at 30 ms per key commit
exactly; every presentation stage fits 720 px and PageDown steps. Screenshots go to docs/.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

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
from tests.browser.test_legibility import LONG_WORDS, MEASURE_JS, PHONE_UA, problems
from tests.browser.test_phone import BOXES_JS, PHONE, page_top, rect

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


#: Issue 26's one-screen rule, the hardest case: 12 long words (16+ letters), causal, RoPE.
LONG_CASE = {"s": LONG_WORDS, "causal": "1", "pos": "rope", "dk": "32", "dv": "32"}

#: What must share the screen, as the browser draws it: the sentence box (the sidebar's at a projector's
#: size, the page's on a phone), the grid, the weights heatmap and each of its drawn x tick labels (the
#: keys), the head selector and the heads' strip, the arithmetic of a clicked weight.
ONE_SCREEN_JS = """() => {
  const box = e => { if (!e) return null; const r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0 ? {x: r.left, y: r.top, width: r.width, height: r.height} : null; };
  const plot = prefix => Array.from(document.querySelectorAll('.js-plotly-plot')).find(e =>
    (((e._fullLayout || {}).title || {}).text || '').replace(/<[^>]+>/g, '').startsWith(prefix));
  const weights = plot('weights = softmax');
  return {
    sentence: box(document.querySelector('[data-testid=stSidebar] input[aria-label=Sentence]')),
    grid: box(document.querySelector('[data-testid=stMain] [data-testid=stDataFrame]')),
    weights: box(weights),
    keys: weights ? Array.from(weights.querySelectorAll('g.xtick text')).map(box).filter(b => b) : [],
    keyCount: weights ? weights._fullLayout.xaxis.tickvals.length : 0,
    selector: box(document.querySelector('.st-key-head_shown')),
    strip: box(plot('all ')),
    code: box(document.querySelector('.st-key-weight_arithmetic [data-testid=stCode]')),
    scrolled: document.querySelector('[data-testid=stMain]').scrollTop,
  };
}"""


def one_screen(page) -> dict:
    page.wait_for_timeout(200)  # Plotly's redraw after a rerun
    return page.evaluate(ONE_SCREEN_JS)


def click_weight_in_place(page, i: int, j: int) -> None:
    """Click weight (i, j) where the heatmap is drawn (no scrolling), wait for its arithmetic."""
    cell = page.evaluate(
        """([i, j]) => { const el = Array.from(document.querySelectorAll('.js-plotly-plot')).find(e =>
          ((e._fullLayout.title || {}).text || '').includes('weights = softmax'));
        const L = el._fullLayout, r = el.getBoundingClientRect();
        return [r.left + L._size.l + L.xaxis.l2p(j), r.top + L._size.t + L.yaxis.l2p(i)]; }""",
        [i, j],
    )
    runs = script_runs(page)
    page.mouse.click(cell[0], cell[1])
    wait_idle(page, since=runs)
    page.locator(".st-key-weight_arithmetic [data-testid=stCode]").first.wait_for(timeout=10_000)


#: The one-screen cases at 1280×720: the hardest (12 long words, causal, RoPE) with 1, 4 and 8 heads, and
#: fewer words, with and without the mask and RoPE (the builder gives them the same room).
ONE_SCREEN_CASES = {
    "12 long words, causal, RoPE, 1 head": {**LONG_CASE, "h": "1"},
    "12 long words, causal, RoPE, 4 heads": {**LONG_CASE, "h": "4"},
    "12 long words, causal, RoPE, 8 heads": {**LONG_CASE, "h": "8"},
    "3 tokens, 4 heads": {"s": "the cat sat", "h": "4"},
    "7 tokens, 8 heads, causal": {
        "s": "life is short eat dessert first and",
        "h": "8",
        "causal": "1",
        "dk": "32",
        "dv": "32",
    },
}


@pytest.mark.parametrize("case", list(ONE_SCREEN_CASES))
def test_every_head_count_keeps_sentence_editor_and_weights_on_one_screen(
    projector_page, app_url: str, case: str
) -> None:
    """1280×720 with 1, 4 or 8 heads: the sentence, the grid and the weights with every key label are on the
    screen, the heads' strip and the head selector too; and so they stay, unscrolled, after a click on a
    weight, whose arithmetic shows beside the heatmap."""
    page = projector_page
    heads = int(ONE_SCREEN_CASES[case]["h"])
    goto_app(page, f"{app_url}/?{urlencode(ONE_SCREEN_CASES[case])}")
    vp = page.viewport_size
    for clicked in (False, True):
        if clicked:
            click_weight_in_place(page, 2, 1)
        found = one_screen(page)
        where = f"{case}, {'a clicked weight' if clicked else 'no weight clicked'}: {found}"
        for part in ("sentence", "grid", "weights"):
            assert found[part] is not None and in_view(found[part], vp), (part, where)
        assert found["keys"] and len(found["keys"]) == found["keyCount"], where  # every key label drawn …
        assert all(in_view(k, vp) for k in found["keys"]), where  # … on the screen
        if heads > 1:
            assert found["selector"] is not None and in_view(found["selector"], vp), where
            assert found["strip"] is not None and in_view(found["strip"], vp), where
            assert found["strip"]["y"] < found["weights"]["y"], where  # above the weights it chooses among
        legible = problems(page.evaluate(MEASURE_JS), playground=True)  # the audit's rules, as drawn
        assert not legible, (where, legible)
        if clicked:
            assert found["code"] is not None and in_view(found["code"], vp), where
            code = page.locator(".st-key-weight_arithmetic [data-testid=stCode]").first.inner_text()
            assert "(row 2)" in code and "(column 1): weight " in code, code
            assert found["scrolled"] == 0, where
        if case.startswith("12 long words") and (heads == 4 or heads == 8 and clicked):
            shot = f"one_screen_12tok_{heads}heads_{'clicked_' if clicked else ''}1280.png"
            page.screenshot(path=str(DOCS / shot))


def test_a_strip_click_focuses_its_head_and_the_link_keeps_it(projector_page, app_url: str) -> None:
    """A click on a tile of the heads' strip focuses that head (the selector and the weights follow, the
    link holds it as hd); the selector still chooses another afterwards, and a later rerun keeps it."""
    page = projector_page
    goto_app(page, f"{app_url}/?{urlencode({**LONG_CASE, 'h': '4'})}")
    strip = page.locator(".js-plotly-plot").filter(has_text="all 4 heads").first
    spot = strip.evaluate(
        """(el) => { const L = el._fullLayout, r = el.getBoundingClientRect();
        // the middle of head 2's tile: tiles of 12 keys, one gap column between two
        return [r.left + L._size.l + L.xaxis.l2p(2 * 13 + 5.5), r.top + L._size.t + L.yaxis.l2p(8)]; }"""
    )
    runs = script_runs(page)
    page.mouse.click(*spot)
    wait_idle(page, since=runs)
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.js-plotly-plot'))"
        ".some(e => ((e._fullLayout.title || {}).text || '').includes('weights = softmax (head 2)'))"
    )
    assert parse_qs(urlparse(page.url).query).get("hd") == ["2"], page.url
    checked = page.locator(".st-key-head_shown input[type=radio]:checked").first
    assert checked.get_attribute("value") == "2"
    runs = script_runs(page)
    page.locator(".st-key-head_shown [data-testid=stRadioOption]").filter(has_text="1").click()
    wait_idle(page, since=runs)
    runs = script_runs(page)
    page.locator(".st-key-second_view button").filter(has_text=re.compile("^Q$")).click()  # another rerun
    wait_idle(page, since=runs)
    assert "weights = softmax (head 1)" in figure(page, "weights")["title"]
    assert parse_qs(urlparse(page.url).query).get("hd") == ["1"], page.url


def test_phone_with_four_heads_keeps_the_grid_and_the_weights_one_scroll_apart(browser, app_url: str) -> None:
    """390×844 (a phone's browser, which says so), 12 long words, 4 heads: nothing is cut off at the
    screen's edges, the page does not scroll sideways, and the chosen matrix's grid and the weights heatmap
    are one scroll apart (the heads' strip goes under the weights there)."""
    ctx = browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, user_agent=PHONE_UA, device_scale_factor=1
    )
    page = ctx.new_page()
    page.set_default_timeout(60_000)
    try:
        goto_app(page, f"{app_url}/?{urlencode({**LONG_CASE, 'h': '4'})}")
        found = page.evaluate(BOXES_JS)
        assert found["overflow"] <= 0, found["overflow"]  # no sideways scrolling
        assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
        cut = [p for p in found["parts"] if p["left"] < -0.5 or p["right"] > PHONE["width"] + 0.5]
        assert not cut, cut
        assert not found["truncated"], found["truncated"]
        usable = PHONE["height"] - found["header"]
        grid_top = page_top(page, "[data-testid=stMain] [data-testid=stDataFrame]")
        grid = rect(page, "[data-testid=stMain] [data-testid=stDataFrame]")
        plot = page.locator(".js-plotly-plot").filter(has_text="weights = softmax").first
        b = plot.bounding_box()
        plot_top = b["y"] + page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollTop")
        grid_bottom = grid_top + grid["bottom"] - grid["top"]
        assert plot_top - grid_top <= usable - 100, (grid_top, plot_top, usable)  # 100 px of it with the grid
        assert plot_top + b["height"] - grid_bottom <= usable, (grid_bottom, plot_top, b, usable)
        strip = page.locator(".js-plotly-plot").filter(has_text="all 4 heads").first
        assert strip.bounding_box()["y"] > b["y"]  # the strip under the weights
        figures = page.evaluate(MEASURE_JS)
        assert not problems(figures, playground=True), problems(figures, playground=True)
        plot.evaluate("e => e.scrollIntoView({block: 'end'})")
        page.wait_for_timeout(300)
        page.screenshot(path=str(DOCS / "one_screen_phone_12tok_4heads.png"))
    finally:
        ctx.close()


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

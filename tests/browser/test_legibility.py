"""The legibility contract, audited in Chromium on every page, every presentation stage and the
Playground's main views, from the SVG as drawn.

For each figure, every text's own box (``getBBox()`` mapped through ``getScreenCTM()``, so a rotated
tick label is the rotated rectangle it is, not its upright bounding box) is checked:

* no two cell numbers overlap, and no two tick labels of one axis overlap;
* no label (cell number, tick label, axis title, figure title) is clipped by the figure or runs
  past the viewport's left or right edge;
* cell numbers are at least 12 px (20 px in presentation mode) or absent, and in the Playground's
  weights they are shown up to 12 × 12 at 1280×720 and 1920×1080 (a phone may show fewer digits
  first, then none);
* every heatmap cell is at least 14 px on its shorter side, or the figure's title says it shows a
  picture; hover always has the value (on the heatmap, or on the click layer that replaces its hover).

How the cases were chosen. A full grid (5 lengths × 3 head counts × mask × positions × long words ×
3 sizes × ~30 screens) is thousands of page loads; the checks depend on what the builder is given: the
number of rows and columns, the width of the labels and the room. So the grid is covered pairwise on
those: 3, 7, 12, 24 and 64 tokens each appear, 1, 4 and 8 heads each appear, causal and not, RoPE and
none, and one case has 16+ character words; the lecturer's case of issue 26 (12 tokens, 4 heads,
causal, RoPE) is run at every size, on the Playground (with a clicked weight and every "Also show"
view) and through every presentation stage. The other cases run on the Playground at every size, and
through presentation at 1280×720. Pages with fixed content (the walkthroughs, Learn, the fast-attention
page, the real models) are audited at 1280×720 and on the phone: every figure is laid out for its room
at 1280×720 (or a phone's), so 1920×1080 only gives it more. One server and one browser context per
size; cases are set through links (``?s=…&h=4&causal=1&pos=rope``). About 3 minutes on 2 cores.

Set ``LEGIBILITY_REPORT=path.json`` to keep every finding (each size fails on its own). Screenshots of the
lecturer's case go to docs/ (legibility_*.png).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.helpers import goto_app, script_runs, wait_idle

SIZES = {"1280x720": (1280, 720), "1920x1080": (1920, 1080), "390x844": (390, 844)}
DOCS = Path(__file__).resolve().parents[2] / "docs"
#: Screenshots of the lecturer's case (look at them after a change to the figures).
SHOTS = {"1280x720": "legibility_playground_12tok_4heads_1280.png", "390x844": "legibility_phone.png"}
#: A phone's browser says so in its user agent (the app lays figures out for a phone's width then).
PHONE_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Mobile Safari/537.36"
)

TWELVE = "the painted neighbour said the cat saw the dog and the cat"
LONG_WORDS = (
    "internationalization counterrevolutionaries electroencephalograms the cat sat on "
    "uncharacteristically incomprehensibilities mat and deinstitutionalization"
)
PASSAGE = (
    "life is short eat dessert first and then tell the story of the meal to a friend who was not "
    "there because every story grows a little each time it is told and the dessert becomes larger the "
    "walk home longer and the rain heavier until one day the friend tells it back to you as their own "
    "and you both laugh at the table again"
)
WORDS = PASSAGE.split()

#: (name, link parameters): the Playground's cases (see the module's docstring for why these).
CASES: dict[str, dict[str, str]] = {
    "3 tokens, 1 head": {"s": "the cat sat"},
    "7 tokens, 4 heads, causal, RoPE": {"s": " ".join(WORDS[:7]), "h": "4", "causal": "1", "pos": "rope"},
    "12 tokens, 4 heads, causal, RoPE": {"s": TWELVE, "h": "4", "causal": "1", "pos": "rope"},
    "12 long words, 8 heads": {"s": LONG_WORDS, "h": "8", "dk": "32", "dv": "32"},
    "24 tokens, 1 head, causal": {"s": " ".join(WORDS[:24]), "causal": "1"},
    "64 tokens, 8 heads, RoPE": {"s": " ".join(WORDS[:64]), "h": "8", "dk": "32", "dv": "32", "pos": "rope"},
}
LECTURER = "12 tokens, 4 heads, causal, RoPE"
PRESENTED_EVERYWHERE = (LECTURER,)
PRESENTED_AT_1280 = ("3 tokens, 1 head", "64 tokens, 8 heads, RoPE")
PAGES = (
    "r_vignette",
    "numpy_notebook",
    "pytorch_notebook",
    "multihead_cross",
    "fast_attention",
    "learn",
    "real_model",
    "language_model",
)

#: Every figure on the page, measured: the boxes of its texts as drawn, its cells, its hover.
MEASURE_JS = r"""() => {
  const vw = window.innerWidth;
  const quad = t => {
    const b = t.getBBox(), m = t.getScreenCTM();
    return [[b.x, b.y], [b.x + b.width, b.y], [b.x + b.width, b.y + b.height], [b.x, b.y + b.height]]
      .map(([x, y]) => [m.a * x + m.c * y + m.e, m.b * x + m.d * y + m.f]);
  };
  const texts = (root, sel) => Array.from(root.querySelectorAll(sel))
    .filter(t => t.textContent.trim() && t.getBBox().width > 0)
    .map(t => ({text: t.textContent, quad: quad(t),
                px: parseFloat(getComputedStyle(t).fontSize)
                    * Math.hypot(t.getScreenCTM().b, t.getScreenCTM().d)}));
  const out = [];
  for (const el of document.querySelectorAll('.js-plotly-plot')) {
    const r = el.getBoundingClientRect();
    if (!el._fullLayout || r.width === 0 || r.height === 0 || el.offsetParent === null) continue;
    const L = el._fullLayout, D = el._fullData || [];
    const svg = el.querySelector('svg.main-svg').getBoundingClientRect();
    const title = ((L.title || {}).text || '').replace(/<[^>]+>/g, '');
    const axes = {};
    for (const k of Object.keys(L).filter(k => /^[xy]axis\d*$/.test(k))) {
      const a = L[k];
      axes[k] = {length: a._length, range: a.range ? [Number(a.range[0]), Number(a.range[1])] : null,
                 ticks: texts(el, `g.${k.replace('axis', '')}tick text`)};
    }
    const scatterHover = D.some(t => t.type === 'scatter' && /customdata\[0\]/.test(t.hovertemplate || ''));
    out.push({
      title, vw, figure: [svg.left, svg.top, svg.right, svg.bottom],
      cells: texts(el, '.heatmaplayer text'),
      titles: texts(el, '.gtitle, .g-xtitle text, .g-ytitle text'),
      axes,
      traces: D.map(t => ({type: t.type, xaxis: t.xaxis || 'x', yaxis: t.yaxis || 'y',
                           opacity: t.opacity === undefined ? 1 : t.opacity,
                           hover: t.type === 'heatmap'
                                  && ((t.hoverinfo !== 'skip' && /%\{z/.test(t.hovertemplate || ''))
                                      || scatterHover),
                           rows: t.z ? t.z.length : 0, cols: t.z && t.z[0] ? t.z[0].length : 0})),
    });
  }
  return out;
}"""


def _overlap(p: list[list[float]], q: list[list[float]], slack: float = 0.5) -> bool:
    """Do the convex quadrilaterals ``p`` and ``q`` overlap by more than ``slack`` px (separating axes)?"""
    for poly in (p, q):
        for k in range(4):
            (x0, y0), (x1, y1) = poly[k], poly[(k + 1) % 4]
            nx, ny = y0 - y1, x1 - x0
            norm = (nx * nx + ny * ny) ** 0.5 or 1.0
            a = [(x * nx + y * ny) / norm for x, y in p]
            b = [(x * nx + y * ny) / norm for x, y in q]
            if min(max(a), max(b)) - max(min(a), min(b)) <= slack:
                return False
    return True


def _inside(quad: list[list[float]], box: list[float], slack: float = 1.0) -> bool:
    return all(
        box[0] - slack <= x <= box[2] + slack and box[1] - slack <= y <= box[3] + slack for x, y in quad
    )


def problems(
    figs: list[dict], *, presenting: bool = False, playground: bool = False, numbers_required_up_to: int = 0
) -> list[str]:
    """What breaks the contract in the measured figures, one sentence each."""
    found: list[str] = []
    least = 20 if presenting else 12
    for f in figs:
        name = f["title"][:60] or "(untitled)"
        labels = f["cells"] + f["titles"] + [t for a in f["axes"].values() for t in a["ticks"]]
        for t in labels:
            if not _inside(t["quad"], f["figure"]):
                found.append(f"{name}: {t['text']!r} is clipped by the figure")
            elif min(x for x, _ in t["quad"]) < -1 or max(x for x, _ in t["quad"]) > f["vw"] + 1:
                found.append(f"{name}: {t['text']!r} runs past the viewport")
        cells = f["cells"]
        clash = sum(_overlap(a["quad"], b["quad"]) for i, a in enumerate(cells) for b in cells[i + 1 :])
        if clash:
            found.append(f"{name}: {clash} pairs of cell numbers overlap")
        small = [c for c in cells if c["px"] < least - 0.1]
        if small:
            found.append(f"{name}: cell numbers at {min(c['px'] for c in small):.1f} px (< {least})")
        for k, a in f["axes"].items():
            ticks = a["ticks"]
            pairs = [
                (s["text"], t["text"])
                for i, s in enumerate(ticks)
                for t in ticks[i + 1 :]
                if _overlap(s["quad"], t["quad"])
            ]
            if pairs:
                found.append(f"{name}: {len(pairs)} pairs of {k} tick labels overlap, e.g. {pairs[0]}")
        picture = "picture" in f["title"]
        for tr in f["traces"]:
            if tr["type"] == "image" and not picture:
                found.append(f"{name}: an image that does not say it is a picture")
            if tr["type"] != "heatmap" or tr["opacity"] == 0 or not tr["rows"]:
                continue
            if not tr["hover"]:
                found.append(f"{name}: hover does not give the value")
            xa = f["axes"].get(tr["xaxis"].replace("x", "xaxis", 1))
            ya = f["axes"].get(tr["yaxis"].replace("y", "yaxis", 1))
            if xa and ya and xa["range"] and ya["range"]:
                w = xa["length"] / abs(xa["range"][1] - xa["range"][0])
                h = ya["length"] / abs(ya["range"][1] - ya["range"][0])
                if min(w, h) < 14 - 0.05 and not picture:
                    found.append(f"{name}: cells {w:.1f} × {h:.1f} px (< 14), not said to be a picture")
            small_enough = max(tr["rows"], tr["cols"]) <= numbers_required_up_to
            unwritten = len(cells) < tr["rows"] * tr["cols"] / 2
            if playground and name.startswith("weights") and small_enough and unwritten:
                found.append(f"{name}: {tr['rows']}×{tr['cols']} weights without their numbers")
    return found


@pytest.fixture(params=list(SIZES), scope="module")
def sized(request: pytest.FixtureRequest, browser: Any) -> Iterator[tuple[str, Any]]:
    """One browser context (and page) per size, shared by every case at that size."""
    w, h = SIZES[request.param]
    phone = w < 500
    ctx = browser.new_context(
        viewport={"width": w, "height": h},
        is_mobile=phone,
        has_touch=phone,
        **({"user_agent": PHONE_UA} if phone else {}),
    )
    page = ctx.new_page()
    page.set_default_timeout(60_000)
    yield request.param, page
    ctx.close()


def _measure(page: Any) -> list[dict]:
    page.wait_for_timeout(150)  # Plotly's redraw after a resize or a rerun
    return page.evaluate(MEASURE_JS)


def _presentation(page: Any, url: str) -> Iterator[tuple[int, str]]:
    """Every stage of presentation mode, from the link's first to the last, moved by the → key."""
    goto_app(page, url)
    k = 0
    while True:
        head = page.locator("[data-testid=stMain] h2").first.inner_text()
        yield k, head
        nxt = page.get_by_role("button", name=re.compile("^Next"))
        if nxt.is_disabled():
            return
        runs = script_runs(page)
        nxt.click()
        wait_idle(page, since=runs)
        page.wait_for_function(
            "() => Array.from(document.querySelectorAll('.js-plotly-plot')).every(e => e._fullLayout)"
        )
        k += 1


def _click_weight(page: Any, i: int, j: int, n: int) -> None:
    chart = page.locator(".js-plotly-plot").filter(has_text="weights = softmax").first
    chart.scroll_into_view_if_needed()
    area = chart.locator(".nsewdrag").first.bounding_box()
    runs = script_runs(page)
    page.mouse.click(area["x"] + (j + 0.5) * area["width"] / n, area["y"] + (i + 0.5) * area["height"] / n)
    wait_idle(page, since=runs)


def test_every_figure_is_legible(sized: tuple[str, Any], app_url: str) -> None:
    size, page = sized
    desktop = not size.startswith("390")
    found: dict[str, list[str]] = {}

    def audit(where: str, **kw: Any) -> None:
        bad = problems(_measure(page), **kw)
        if bad:
            found[where] = bad

    for name, params in CASES.items():
        url = f"{app_url}/?{urlencode(params)}"
        goto_app(page, url)
        audit(f"Playground, {name}", playground=True, numbers_required_up_to=12 if desktop else 0)
        if name == LECTURER and size in SHOTS:
            if size.startswith("390"):  # the phone's screen with the weights on it
                weights = page.locator(".js-plotly-plot").filter(has_text="weights = softmax").first
                weights.evaluate("e => e.scrollIntoView({block: 'end'})")
                page.wait_for_timeout(300)
            page.screenshot(path=str(DOCS / SHOTS[size]))
        if name == LECTURER:
            for view in ("Q", "output"):  # the other "Also show" views (scores is the default)
                runs = script_runs(page)
                page.locator(".st-key-second_view button").filter(has_text=re.compile(f"^{view}$")).click()
                wait_idle(page, since=runs)
                audit(f"Playground, {name}, also show {view}", playground=True)
            _click_weight(page, 4, 2, 12)
            audit(
                f"Playground, {name}, a clicked weight",
                playground=True,
                numbers_required_up_to=12 if desktop else 0,
            )
        if name in PRESENTED_EVERYWHERE or (size == "1280x720" and name in PRESENTED_AT_1280):
            for k, stage in _presentation(page, f"{url}&present=1&step=0"):
                audit(f"Presentation, {name}, stage {k + 1} {stage!r}", presenting=True)
                if name == LECTURER and size == "1280x720" and stage == "Queries, keys, values":
                    page.screenshot(path=str(DOCS / "legibility_present_qkv_1280.png"))
    for p in PAGES if size != "1920x1080" else ():  # the roomiest size: laid out for 1280's room, see above
        try:
            goto_app(page, f"{app_url}/{p}")
        except (TimeoutError, PlaywrightTimeout) as exc:  # a page that draws no figure is a finding
            found[f"page {p}"] = [f"no figure drawn: {str(exc).splitlines()[0]}"]
            continue
        audit(f"page {p}")

    if os.environ.get("LEGIBILITY_REPORT"):
        path = os.environ["LEGIBILITY_REPORT"]
        old = json.loads(Path(path).read_text()) if os.path.exists(path) else {}
        old[size] = found
        Path(path).write_text(json.dumps(old, indent=1, ensure_ascii=False))
    report = "\n".join(f"{where}:\n  " + "\n  ".join(bad) for where, bad in found.items())
    count = sum(map(len, found.values()))
    assert not found, f"at {size}, {count} findings on {len(found)} screens:\n{report}"

"""Accessibility audit: axe-core (shipped inside the PyPI package axe-playwright-python, never
fetched at run time) on every page of app.py's navigation, as drawn in Chromium.

Every violation is printed with its impact and where it is. The test fails on a serious or
critical violation in the app's OWN elements: what the app's code decides (the Plotly figures'
colours and text, the text and headings it writes, its own HTML). Violations inside Streamlit's
own components (its header and toolbar, the navigation, widget internals such as the data
grid's canvas table or a slider's thumb, its theme's colours) are listed separately: the app
cannot fix them in its code; they are reported upstream or worked around by configuration.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

from tests.browser.conftest import ROOT
from tests.browser.helpers import goto_app, wait_idle

# Streamlit's own components, by the container a node sits in (Element.closest), for any rule.
STREAMLIT_PARTS = {
    "header and toolbar": "[data-testid=stHeader], [data-testid=stToolbar], [data-testid=stDecoration], "
    "[data-testid=stStatusWidget], [data-testid=stMainMenu]",
    "navigation": "[data-testid=stSidebarNav], [data-testid=stSidebarHeader], "
    "[data-testid=stSidebarCollapseButton], [data-testid=stSidebarCollapsedControl]",
    "data grid": "[data-testid=stDataFrame], [data-testid=stDataFrameResizable], .stDataFrame",
    "widget internals": "[data-testid=stWidgetLabel] ~ *, [data-baseweb], [data-testid=stSlider], "
    "[data-testid=stTooltipIcon], [data-testid=stExpanderToggleIcon], [data-testid=stBaseButton-header]",
}
# ... and for one rule: Streamlit draws formulas (st.latex, $$ in markdown) and code or text boxes
# (st.code, st.text) in scroll containers without tabindex, whatever the app puts in them.
STREAMLIT_SCROLL_BOXES = ".katex-display, [data-testid=stCode], [data-testid=stText], pre"
# Where upstream tracks a finding inside Streamlit's own components, by (rule, nearest data-testid).
UPSTREAM = {
    (
        "scrollable-region-focusable",
        "stMarkdownContainer",
    ): (
        "streamlit/streamlit#10071 made display formulas scroll horizontally (for #4304); "
        "the scroll box has no tabindex"
    ),
    (
        "scrollable-region-focusable",
        "stLatex",
    ): (
        "streamlit/streamlit#10071 made display formulas scroll horizontally (for #4304); "
        "the scroll box has no tabindex"
    ),
}
NOT_FOUND = (
    "no upstream Streamlit issue found in the stored issue index (searched for the rule and the component)"
)
# Everything else on the page is the app's own: its text, headings and figures, and its colours
# (Plotly's come from ui/figures.py, the text's from the theme in .streamlit/config.toml).

_WHERE_JS = """([target, rule, streamlit, scrollBoxes]) => {
  let el = null;
  try { el = document.querySelector(target); } catch (e) { return ['unknown (bad selector)', '']; }
  if (!el) return ['unknown (node gone)', ''];
  const testid = (el.closest('[data-testid]') || {dataset: {}}).dataset.testid || '';
  for (const [name, sel] of Object.entries(streamlit))
    if (el.closest(sel)) return ['streamlit: ' + name, testid];
  if (rule === 'scrollable-region-focusable' && el.closest(scrollBoxes))
    return ['streamlit: scroll box without tabindex', testid];
  return ['app', testid];
}"""


def navigation_pages() -> int:
    return len(re.findall(r"\bst\.Page\(", (ROOT / "app.py").read_text()))


def audit(page) -> list[dict]:
    """axe's violations on the current page, one dict per node: rule, impact, where ("app" or
    "streamlit: <part>"), element (the nearest data-testid), target (axe's selector), summary, html."""
    from axe_playwright_python.sync_playwright import Axe

    found = []
    for v in Axe().run(page).response["violations"]:
        for node in v["nodes"]:
            target = node["target"][-1] if node["target"] else ""
            target = target if isinstance(target, str) else " ".join(target)  # (shadow DOM: a list)
            where, element = page.evaluate(
                _WHERE_JS, [target, v["id"], STREAMLIT_PARTS, STREAMLIT_SCROLL_BOXES]
            )
            found.append(
                {
                    "rule": v["id"],
                    "impact": node.get("impact") or v["impact"],
                    "where": where,
                    "element": element,
                    "target": target,
                    "summary": (node.get("failureSummary") or "").replace("\n", " ")[:240],
                    "html": node.get("html", "")[:160],
                }
            )
    return found


def test_no_serious_violation_in_the_app_s_own_elements_on_any_page(page, streamlit_app: str) -> None:
    goto_app(page, streamlit_app)
    links = page.locator("[data-testid=stSidebarNav] a")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert len(hrefs) == navigation_pages(), hrefs
    own, theirs = [], []
    for href in hrefs:
        url = href if href.startswith("http") else f"{streamlit_app}/{href.lstrip('/')}"
        goto_app(page, url, charts=False)
        if page.locator(".js-plotly-plot").count():
            page.wait_for_function(
                "() => Array.from(document.querySelectorAll('.js-plotly-plot'))"
                ".every(e => e._fullData && e._fullData.length)",
                timeout=60_000,
            )
        wait_idle(page)
        name = urlparse(url).path.strip("/") or "(default page)"
        for v in audit(page):
            (own if v["where"] == "app" else theirs).append({"page": name, **v})
    print(f"\n== axe on {len(hrefs)} pages: the app's own elements ({len(own)} nodes) ==")
    for v in own:
        print(
            f"  [{v['impact']}] {v['rule']} on {v['page']} in {v['element']}: {v['target']}\n"
            f"      {v['summary']}\n      {v['html']}"
        )
    print(f"== inside Streamlit's own components ({len(theirs)} nodes) ==")
    for v in theirs:
        print(
            f"  [{v['impact']}] {v['rule']} on {v['page']} ({v['where']}, in {v['element']}): {v['target']}\n"
            f"      tracked: {UPSTREAM.get((v['rule'], v['element']), NOT_FOUND)}\n"
            f"      {v['summary']}\n      {v['html']}"
        )
    serious = [
        f"{v['page']}: {v['rule']} ({v['impact']}) in {v['element']}: {v['html']}"
        for v in own
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == [], serious

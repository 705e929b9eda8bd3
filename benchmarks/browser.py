"""Browser: from committing a matrix-cell edit to all heatmaps updated, in headless Chromium,
against a floor app with one data editor and the same number of same-size heatmaps."""

from __future__ import annotations

import os
import statistics
import subprocess
import time

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, ROOT
from tests.browser.helpers import edit_grid_cell, goto_app, set_cell, set_text_input, start_streamlit

SIZES = (6, 64, 512, 1024)


def last_value(title_part: str) -> str:
    """JS: z[0][0] of the chart whose title contains ``title_part`` (the last one drawn on the page)."""
    return f"""() => {{
      const el = Array.from(document.querySelectorAll('.js-plotly-plot'))
        .find(e => (e._fullLayout.title.text || '').includes({title_part!r}));
      const t = el && el._fullData[0];  // a heatmap's first value, or a picture's source
      return t ? (t.z ? t.z[0][0] : t.source) : null;
    }}"""


def timed_edits(page, url: str, edit, probe: str, edits: int) -> list[float]:
    """Edit cell (0, 0) ``edits`` times with new values; time each from Enter to the changed chart.

    Each edit starts from a freshly loaded page (the Playground restores its state from the
    address bar): a grid that has just committed an edit keeps a keyboard focus that the
    next scripted edit cannot rely on.
    """
    times = []
    for k in range(edits):
        goto_app(page, url)
        before = page.evaluate(probe)
        start: list[float] = []
        edit(page, f"{3 + 0.37 * (k + 1):.2f}", lambda start=start: start.append(time.perf_counter()))
        page.wait_for_function(f"() => ({probe})() !== {before!r}", polling="raf", timeout=60_000)
        times.append((time.perf_counter() - start[0]) * 1000)
    return times


def run(quick: bool = False) -> dict:
    from playwright.sync_api import sync_playwright

    out: dict = {"edit_to_render_ms": {}, "edit_to_render_floor_ms": {}, "edit_to_render_vs_floor_ratio": {}}
    edits = 3 if quick else 10
    print("browser: edit committed -> heatmaps updated (ms, median)")
    url, proc = start_streamlit(ROOT / "app.py")
    floors: list[subprocess.Popen] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            for n in (6,) if quick else SIZES:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                goto_app(page, url)
                if n != 6:
                    set_text_input(page, "Sentence", " ".join(f"w{i}" for i in range(n)))
                link = page.url  # the address bar holds the sentence
                ours = statistics.median(
                    timed_edits(
                        page,
                        link,
                        lambda pg, v, mark: set_cell(pg, "W_Q", 0, 0, v, before_commit=mark),
                        last_value("weights"),
                        edits,
                    )
                )
                page.close()
                os.environ["FLOOR_N"], os.environ["FLOOR_D"] = str(n), "24"
                furl, fproc = start_streamlit(ROOT / "benchmarks" / "floor_app.py")
                floors.append(fproc)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                floor = statistics.median(
                    timed_edits(
                        page,
                        furl,
                        lambda pg, v, mark: edit_grid_cell(
                            pg, pg.locator("[data-testid=stDataFrame]").first, 0, 0, v, before_commit=mark
                        ),
                        last_value("weights"),
                        edits,
                    )
                )
                page.close()
                fproc.terminate()
                out["edit_to_render_ms"][str(n)], out["edit_to_render_floor_ms"][str(n)] = ours, floor
                out["edit_to_render_vs_floor_ratio"][str(n)] = ours / floor
                print(f"  n={n:5d}  app {ours:8.0f}  floor {floor:8.0f}  ratio {ours / floor:.2f}")
            browser.close()
    finally:
        proc.terminate()
        for f in floors:
            f.terminate()
    return out

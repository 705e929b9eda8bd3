"""Time from committing a matrix-cell edit to the updated heatmaps, in headless Chromium.

    python -m benchmarks.edit_latency [N ...]        (default: 6 64)

For each token count N the Playground gets an N-token sentence; then W_Q[0, 0] is
edited ten times with new values, and we time from the Enter that commits the
edit until the scores heatmap in the page shows the new numbers (polled in the
page itself, every animation frame). Prints the median and the spread.
"""

from __future__ import annotations

import statistics
import sys
import time

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, ROOT
from tests.browser.helpers import choose_matrix, goto_app, set_text_input, start_streamlit, wait_idle

SCORES_00 = """() => {
  const el = Array.from(document.querySelectorAll('.js-plotly-plot'))
    .find(e => (e._fullLayout.title.text || '').includes('scores Q'));
  return el ? el._fullData[0].z[0][0] : null;
}"""


def measure(page, n: int, edits: int = 10) -> list[float]:
    sentence = "Life is short, eat dessert first" if n == 6 else " ".join(f"w{i}" for i in range(n))
    set_text_input(page, "Sentence", sentence)
    grid = choose_matrix(page, "W_Q")
    times = []
    for k in range(edits):
        before = page.evaluate(SCORES_00)
        grid.scroll_into_view_if_needed()
        editor = page.locator("[data-testid=portal] textarea, [data-testid=portal] input, .gdg-input").first
        grid.locator("[id^=glide-cell-]").first.focus()  # see tests/browser/helpers.edit_grid_cell
        page.keyboard.press("Enter")
        editor.wait_for(timeout=5000)
        page.keyboard.press("Escape")
        page.keyboard.press("ArrowRight")
        page.keyboard.press("Enter")
        editor.wait_for(timeout=5000)
        editor.fill(f"{3 + 0.37 * (k + 1):.2f}")
        t0 = time.perf_counter()
        page.keyboard.press("Enter")
        page.wait_for_function(f"() => ({SCORES_00})() !== {before!r}", polling="raf", timeout=30_000)
        times.append((time.perf_counter() - t0) * 1000)
        wait_idle(page)
    return times


def main(sizes: list[int]) -> None:
    from playwright.sync_api import sync_playwright

    url, proc = start_streamlit(ROOT / "app.py")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            for n in sizes:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})  # a fresh session per size
                goto_app(page, url)
                t = measure(page, n)
                page.close()
                print(f"n={n:5d}  edit -> scores heatmap updated: median {statistics.median(t):7.0f} ms "
                      f"(min {min(t):.0f}, max {max(t):.0f}, {len(t)} edits)")
            browser.close()
    finally:
        proc.terminate()


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [6, 64])

"""The one-screen Playground's speed, measured side by side in one run (``python -m benchmarks.one_screen``):

- core: a full trace with 8 heads at 512 and 1,024 tokens against the NumPy seed's code keeping the same
  intermediates (``benchmarks.core.numpy_reference``);
- edit -> every on-screen heatmap updated, in headless Chromium at 1280x720, against the floor app (one data
  editor, three same-size heatmaps) at 6, 64 and 512 tokens;
- the nudge slider dragged with the mouse for 3 s: how many times a second the weights heatmap shows
  new numbers;
- first paint: a fresh page until the first heatmap is drawn and the script is idle, against a trivial page
  with one Plotly heatmap; and the budget: the same page with a data grid, with seven common widgets, and with
  both, and the minimal lab (benchmarks/minimal_lab.py), so the ratio a first screen made of those parts can
  reach is measured beside the app's.

``python -m benchmarks.one_screen core|browser|slider|first`` runs one part.
"""

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from playwright.sync_api import sync_playwright

from attention_core import multi_head_attention
from benchmarks.browser import last_value, timed_edits
from benchmarks.core import medians_ms, numpy_reference
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, ROOT
from tests.browser.helpers import (
    CHART_DRAWN_JS,
    IDLE_STATES,
    STATE_JS,
    edit_grid_cell,
    goto_app,
    live_slider,
    set_cell,
    set_text_input,
    start_streamlit,
    stop_streamlit,
    wait_idle,
)

part = sys.argv[1] if len(sys.argv) > 1 else "all"
if part in ("all", "core"):
    rs = np.random.RandomState(0)
    for n in (512, 1024):
        x = rs.randn(n, 64)
        W = [rs.randn(64, 64) / 8 for _ in range(4)]
        for causal in (False, True):
            t = medians_ms(
                {
                    "ours": lambda x=x, W=W, causal=causal: multi_head_attention(x, x, *W, 8, causal=causal),
                    "numpy": lambda x=x, W=W, causal=causal: numpy_reference(x, *W, 8, causal),
                },
                7 if n == 1024 else 11,
            )
            print(
                f"core n={n} 8 heads causal={causal}: ours {t['ours']:.1f} ms numpy {t['numpy']:.1f} ms "
                f"ratio {t['ours'] / t['numpy']:.2f}",
                flush=True,
            )

#: First-paint pages: the trivial one (one Plotly heatmap) and the same with the parts of a first screen.
HEATMAP = (
    "import streamlit as st, numpy as np\n"
    'st.plotly_chart({"data": [{"type": "heatmap", "z": [[1, 2], [3, 4]]}]})\n'
)
GRID = (
    'st.dataframe(np.random.default_rng(0).random((8, 8)), on_select="rerun", selection_mode="single-cell",'
    ' key="grid")\n'
)
WIDGETS = (
    'st.text_input("a", "x")\nst.selectbox("b", [1, 2])\nst.slider("c", 0, 10, 1)\nst.number_input("d", 1)\n'
    'st.radio("e", [1, 2])\nst.checkbox("f")\nst.button("g")\n'
)
FIRST_PAINT_PAGES = {
    "one heatmap": HEATMAP,
    "+ a grid": HEATMAP + GRID,
    "+ 7 widgets": HEATMAP + WIDGETS,
    "+ a grid + 7 widgets": HEATMAP + GRID + WIDGETS,
}


#: Installed before the page's own scripts: on every animation frame until it is seen, whether a Plotly
#: chart has drawn its data while the app is idle (the same tests as ``goto_app`` and ``wait_idle``); the
#: time, from the start of the navigation, goes to ``window.__firstPaint``. Measured in the page, so that
#: no polling from here rounds it (Python-side polling made the one-heatmap page take 1.9 or 2.3 s from
#: one run to the next).
FIRST_PAINT_JS = f"""(() => {{
  const drawn = {CHART_DRAWN_JS};
  const state = {STATE_JS};
  const idleStates = {json.dumps(list(IDLE_STATES))};
  const idle = () => {{ const s = state();
    return idleStates.includes(s.script) && s.connection === 'CONNECTED' && !s.runningIcon; }};
  const tick = () => {{
    if (drawn() && idle()) {{ window.__firstPaint = performance.now(); }}
    else {{ requestAnimationFrame(tick); }}
  }};
  requestAnimationFrame(tick);
}})();"""


def first_paint(browser: Any, app_url: str, rounds: int = 5) -> dict[str, float]:
    """Fresh page (its own context: nothing cached) -> first heatmap drawn and script idle (measured in the
    page from the start of the navigation, ``FIRST_PAINT_JS``), in turns,
    ``rounds`` times after one untimed load each; medians in ms, by page ("app", "minimal lab" (the
    sentence, one matrix's editor and the weights heatmap: ``benchmarks/minimal_lab.py``) and
    FIRST_PAINT_PAGES)."""
    tmp = Path(tempfile.mkdtemp())
    started = {"minimal lab": start_streamlit(ROOT / "benchmarks" / "minimal_lab.py")}
    for i, (name, src) in enumerate(FIRST_PAINT_PAGES.items()):
        (tmp / f"page{i}.py").write_text(src)
        started[name] = start_streamlit(tmp / f"page{i}.py")
    urls = {"app": app_url, **{name: u for name, (u, _) in started.items()}}
    times: dict[str, list[float]] = {k: [] for k in urls}
    try:
        for r in range(rounds + 1):
            for name, u in urls.items():
                pg = browser.new_page(viewport={"width": 1280, "height": 720})
                pg.add_init_script(FIRST_PAINT_JS)
                goto_app(pg, u)
                if r:  # the first round is untimed: no server is measured cold
                    times[name].append(float(pg.evaluate("window.__firstPaint")))
                pg.close()
    finally:
        for _, proc in started.values():
            stop_streamlit(proc)
    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in med.items():
        print(
            f"first paint: {k:22s} {v:5.0f} ms  ratio to one heatmap {v / med['one heatmap']:.2f}", flush=True
        )
    return med


if part in ("all", "browser", "slider", "first"):
    url, proc = start_streamlit(ROOT / "app.py")
    floors = []
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        for n in (6, 64, 512) if part in ("all", "browser") else ():
            page = b.new_page(viewport={"width": 1280, "height": 720})
            goto_app(page, url)
            if n != 6:
                set_text_input(page, "Sentence", " ".join(f"w{i}" for i in range(n)))
            link = page.url
            ours = statistics.median(
                timed_edits(
                    page,
                    link,
                    lambda pg, v, mark: set_cell(pg, "W_Q", 0, 0, v, before_commit=mark),
                    last_value("weights"),
                    5,
                )
            )
            page.close()
            os.environ["FLOOR_N"], os.environ["FLOOR_D"] = str(n), "24"
            furl, fproc = start_streamlit(ROOT / "benchmarks" / "floor_app.py")
            floors.append(fproc)
            page = b.new_page(viewport={"width": 1280, "height": 720})
            floor = statistics.median(
                timed_edits(
                    page,
                    furl,
                    lambda pg, v, mark: edit_grid_cell(
                        pg, pg.locator("[data-testid=stDataFrame]").first, 0, 0, v, before_commit=mark
                    ),
                    last_value("weights"),
                    5,
                )
            )
            page.close()
            print(
                f"edit->render n={n}: app {ours:.0f} ms floor {floor:.0f} ms ratio {ours / floor:.2f}",
                flush=True,
            )
        if part != "first":
            # slider drag: hold the nudge slider's thumb with the mouse and move it for 3 s (a move every
            # 30 ms, as a hand does); count how often the weights heatmap shows new numbers meanwhile
            page = b.new_page(viewport={"width": 1280, "height": 720})
            goto_app(page, url)
            page.evaluate("""() => { window.__redraws = 0; let last = null;
                setInterval(() => { const el = Array.from(document.querySelectorAll('.js-plotly-plot'))
                    .find(e => ((e._fullLayout || {}).title || {}).text
                      && e._fullLayout.title.text.includes('weights = softmax'));
                  const d = el && el._fullData && el._fullData[0]; if (!d) return;
                  const v = JSON.stringify(d.z[0]);
                  if (last !== null && v !== last) window.__redraws += 1; last = v; }, 10); }""")
            thumb = live_slider(page, "W_Q[0, 0]").locator("input[type=range]")
            tb = thumb.bounding_box()
            y = tb["y"] + tb["height"] / 2
            page.mouse.move(tb["x"] + tb["width"] * 0.3, y)
            page.mouse.down()
            t0 = time.perf_counter()
            i = 0
            while time.perf_counter() - t0 < 3.0:
                i += 1
                page.mouse.move(tb["x"] + tb["width"] * (0.3 + 0.4 * ((i % 50) / 50)), y)
                page.wait_for_timeout(30)
            dt = time.perf_counter() - t0
            redraws = page.evaluate("() => window.__redraws")
            page.mouse.up()
            wait_idle(page)
            print(
                f"slider dragged with the mouse for {dt:.1f} s: {redraws} redraws of the weights while the "
                f"button was down = {redraws / dt:.1f} per second",
                flush=True,
            )
            page.close()
        if part in ("all", "browser", "first"):
            first_paint(b, url)
        b.close()
    stop_streamlit(proc)
    for f in floors:
        stop_streamlit(f)

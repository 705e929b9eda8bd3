"""Learn page: how fast training runs, in the core, in one fragment tick, and in the browser.

python -m benchmarks.learn [--quick] [--skip-browser]

1. core: optimiser steps per second (forward, loss, exact backward, Adam) at 8 tokens, d = 8,
   for each task; and per task the loss at step 0 and after 300 steps and the step at which
   every row's largest weight first sat on its target (Adam at the page's default rate, and
   gradient descent at its default rate);
2. tick: one fragment tick of the page in AppTest (the whole script: AppTest cannot rerun a
   fragment alone), ms per run with Run on;
3. browser: the page served alone in headless Chromium at 1280 x 720, Run pressed: steps per
   second the step counter shows, and distinct frames per second, over 5 s; the issue asks
   for at least 20 steps shown per second.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time

from attention_core.learn import DEFAULT_LR, LEARN_CONFIG, TASKS, make_problem, start, train
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, ROOT

PAINTED = [(0, 0), (1, 0), (2, 2), (3, 1), (4, 4), (5, 0), (5, 4), (6, 6), (7, 3)]


def core(quick: bool = False) -> dict:
    out: dict = {"core_steps_per_s": {}, "tasks": {}}
    steps = 100 if quick else 300
    for task in TASKS:
        problem = make_problem(LEARN_CONFIG, task, painted=PAINTED if task == "painted" else ())  # type: ignore[arg-type]
        for optimiser in ("adam", "gd"):
            s0 = start(problem)
            t0 = time.perf_counter()
            s = train(problem, steps, optimiser=optimiser, state=s0)  # type: ignore[arg-type]
            rate = steps / (time.perf_counter() - t0)
            out["core_steps_per_s"][f"{task}/{optimiser}"] = round(rate)
            out["tasks"][f"{task}/{optimiser}"] = {
                "lr": DEFAULT_LR[optimiser],
                "loss_start": s.losses[0],
                "loss_end": s.losses[-1],
                "steps": steps,
                "reached_at": s.reached_at,
            }
    return out


def tick(quick: bool = False) -> dict:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "pages" / "learn.py"), default_timeout=60).run()
    at.number_input(key="learn_steps").set_value(5000).run()
    at.button(key="learn_run_button").click().run()
    times = []
    for _ in range(10 if quick else 40):
        t0 = time.perf_counter()
        at.run()
        times.append((time.perf_counter() - t0) * 1000)
    return {"tick_ms_median": round(statistics.median(times), 1)}


def browser(quick: bool = False) -> dict:
    from playwright.sync_api import sync_playwright

    from tests.browser.helpers import goto_app, start_streamlit, stop_streamlit, wait_idle

    url, proc = start_streamlit(ROOT / "pages" / "learn.py")
    out: dict = {}
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            page = b.new_page(viewport={"width": 1280, "height": 720})
            goto_app(page, url)
            for layout in ("page", "presentation"):
                if layout == "presentation":
                    page.get_by_text("Presentation", exact=True).click()
                    wait_idle(page)
                    page.get_by_role("button", name="Reset", exact=True).click()
                    wait_idle(page)
                if layout == "page":  # Run must not stop at 200 steps while we measure
                    page.locator("[data-testid=stNumberInput] input").fill("5000")
                    page.keyboard.press("Enter")
                    wait_idle(page)
                page.get_by_role("button", name="Run", exact=True).click()
                changes = []  # (time, step) whenever the counter shows a new step: one per frame
                t0 = time.monotonic()
                while time.monotonic() - t0 < (3 if quick else 6):
                    text = page.locator("[data-testid=stMetric]").first.inner_text()
                    shown = int(re.search(r"(\d+) /", text).group(1))
                    if not changes or shown != changes[-1][1]:
                        changes.append((time.monotonic() - t0, shown))
                    time.sleep(0.02)
                # From the first frame to the last: the wait for the first frame is not a rate.
                (ta, sa), (tb, sb) = changes[1], changes[-1]
                out[f"browser_{layout}_steps_per_s"] = round((sb - sa) / (tb - ta), 1)
                out[f"browser_{layout}_frames_per_s"] = round((len(changes) - 2) / (tb - ta), 1)
                page.get_by_role("button", name="Pause", exact=True).click()
                wait_idle(page)
            b.close()
    finally:
        stop_streamlit(proc)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--skip-browser", action="store_true")
    args = ap.parse_args()
    results = core(args.quick)
    results.update(tick(args.quick))
    if not args.skip_browser and CHROMIUM.exists():
        results.update(browser(args.quick))
    print("core steps/s (8 tokens, d = 8):", json.dumps(results["core_steps_per_s"]))
    print(
        f"{'task/optimiser':<22} {'lr':>5} {'loss start':>11} {'loss end':>11} {'steps':>6} "
        f"{'on target at':>13}"
    )
    for key, r in results["tasks"].items():
        print(
            f"{key:<22} {r['lr']:>5} {r['loss_start']:>11.4g} {r['loss_end']:>11.4g} {r['steps']:>6} "
            f"{r['reached_at']!s:>13}"
        )
    for key in (
        "tick_ms_median",
        "browser_page_steps_per_s",
        "browser_page_frames_per_s",
        "browser_presentation_steps_per_s",
        "browser_presentation_frames_per_s",
    ):
        if key in results:
            print(f"{key}: {results[key]}")


if __name__ == "__main__":
    main()

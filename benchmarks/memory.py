"""Memory given back: RSS after 20 reruns of the worst link on each page, and peak RSS per request.

``python -m benchmarks.memory`` runs each page in its own subprocess (so each figure is that page's
own, not what an earlier page left behind), opens the worst link the page's controls allow, reruns it
20 times with a change that makes it compute again, and prints, per page: RSS before the link,
after the first request, after the 20th, the highest RSS reached during any one request, and the
seconds the 20 reruns took. The table is written to ``docs/benchmarks_memory.md``.

Sessions are driven by AppTest in the subprocess, with the project's server settings
(``runner.postScriptGC = false``: no full garbage collection after each run, as on the lecture
server). A page whose optional model is not installed is reported as skipped.

``python -m benchmarks.memory --page playground --reruns 20 --json`` prints one page's figures as
JSON (what the memory test runs).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "benchmarks_memory.md"
RERUNS = 20


def rss_mb() -> float:
    """This process's resident set size now, in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_mb() -> float:
    """The highest RSS since the last :func:`reset_peak`, in MB (VmHWM)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak() -> None:
    """Start a new peak (Linux: writing 5 to clear_refs resets VmHWM to the current RSS)."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


# ------------------------------------------------------------------------------ the worst links
def _words(n: int) -> str:
    return " ".join(f"w{i}" for i in range(n))


#: Per page: (page file, query parameters of its worst link, what one rerun changes).
#: Playground: the largest trace the budget allows (1,024 tokens, d 768, 8 heads: ~282 MB),
#: each rerun toggles "lowercase" (a new configuration: computed again). Learn: its longest sentence,
#: one Step per rerun. Real model: 128 WordPiece tokens, another layer per rerun. Language model: a
#: 250-token prompt, another layer per rerun. Fast attention: 64 tokens, one tile further per rerun.
def _playground(at: object, k: int) -> None:
    at.checkbox(key="lowercase").set_value(k % 2 == 1).run()


def _learn(at: object, k: int) -> None:
    at.button(key="learn_step_button").click().run()


def _real_model(at: object, k: int) -> None:
    at.selectbox(key="rm_layer").set_value(k % 6).run()


def _language_model(at: object, k: int) -> None:
    at.selectbox(key="lm_layer").set_value(k % 30).run()


def _fast_attention(at: object, k: int) -> None:
    at.button(key="fa_next").click().run()


PAGES: dict[str, tuple[str, dict[str, str], Callable[[object, int], None]]] = {
    "playground": (
        "pages/playground.py",
        {"s": _words(1024), "dm": "768", "dk": "768", "dv": "768", "h": "8"},
        _playground,
    ),
    "learn": ("pages/learn.py", {}, _learn),
    "real_model": ("pages/real_model.py", {}, _real_model),
    "language_model": (
        "pages/language_model.py",
        {"lm_prompt": " ".join(["the cat sat"] * 83)},
        _language_model,
    ),
    "fast_attention": ("pages/fast_attention.py", {}, _fast_attention),
}


def _prepare(at: object, page: str) -> None:
    """Session state a page's worst case needs that a link does not carry."""
    if page == "learn":
        at.session_state["learn_sentence"] = _words(10)
    elif page == "real_model":
        at.session_state["sentence"] = " ".join(["attention"] * 126)  # 126 words + [CLS] + [SEP] = 128
    elif page == "fast_attention":
        at.session_state["fa_tokens"] = 64


def _available(page: str) -> str | None:
    """Why ``page`` cannot be measured here (its optional model is missing), or None."""
    if page == "real_model":
        from attention_core import pretrained

        return None if pretrained.is_available() else "all-MiniLM-L6-v2 is not installed"
    if page == "language_model":
        from attention_core.pretrained import smollm2

        return None if smollm2.is_available() else "SmolLM2-135M is not installed"
    return None


def measure(page: str, reruns: int = RERUNS) -> dict:
    """Open ``page``'s worst link in this process and rerun it; the figures, in MB and seconds."""
    from streamlit import config
    from streamlit.testing.v1 import AppTest

    why = _available(page)
    if why:
        return {"page": page, "skipped": why}
    config.set_option("runner.postScriptGC", False)  # as the lecture server runs (.streamlit/config.toml)
    path, params, rerun = PAGES[page]
    AppTest.from_file(str(ROOT / "app.py"), default_timeout=900).run()  # the app loaded, one default session
    idle = rss_mb()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=900)
    for k, v in params.items():  # the link, as a browser opens it
        at.query_params[k] = v
    _prepare(at, page)
    reset_peak()
    start = time.perf_counter()
    at.run()
    if path != "pages/playground.py":
        for k, v in params.items():  # a page switch clears the address: the page's own link again
            at.query_params[k] = v
        at.switch_page(path).run()
    first_s = time.perf_counter() - start
    problems = [e.value for e in at.exception]
    first, peaks = rss_mb(), [peak_mb()]
    levels = [first]
    start = time.perf_counter()
    for k in range(1, reruns):
        reset_peak()
        rerun(at, k)
        problems += [e.value for e in at.exception]
        peaks.append(peak_mb())
        levels.append(rss_mb())
    return {
        "page": page,
        "idle_mb": idle,
        "first_mb": first,
        "last_mb": levels[-1],
        "highest_mb": max(levels),
        "peak_first_request_mb": peaks[0],
        "peak_request_mb": max(peaks),
        "first_request_s": first_s,
        "reruns": reruns,
        "reruns_s": time.perf_counter() - start,
        "levels_mb": levels,
        "exceptions": problems[:3],
    }


def measure_in_subprocess(page: str, reruns: int = RERUNS) -> dict:
    """:func:`measure` in a fresh interpreter (its RSS is that page's alone)."""
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.memory", "--page", page, "--reruns", str(reruns), "--json"],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=3600,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if out.returncode != 0:
        return {"page": page, "skipped": f"failed: {out.stderr.strip().splitlines()[-1:]}"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def table(rows: list[dict]) -> str:
    head = (
        "| page | idle MB | after the 1st request | after the 20th | highest after a request | "
        "peak during the 1st request | peak during any request | 1st request s | 19 reruns s |"
    )
    lines = [head, "|---" * 9 + "|"]
    for r in rows:
        if "skipped" in r:
            lines.append(f"| {r['page']} | skipped: {r['skipped']} |" + " |" * 7)
            continue
        lines.append(
            f"| {r['page']} | {r['idle_mb']:.0f} | {r['first_mb']:.0f} | {r['last_mb']:.0f} | "
            f"{r['highest_mb']:.0f} | {r['peak_first_request_mb']:.0f} | {r['peak_request_mb']:.0f} | "
            f"{r['first_request_s']:.1f} | {r['reruns_s']:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--page", choices=sorted(PAGES), help="measure one page in this process")
    ap.add_argument("--reruns", type=int, default=RERUNS)
    ap.add_argument("--json", action="store_true", help="print the figures of --page as JSON")
    args = ap.parse_args()
    if args.page:
        result = measure(args.page, args.reruns)
        print(json.dumps(result) if args.json else table([result]), flush=True)
        return
    rows = []
    for page in PAGES:
        rows.append(measure_in_subprocess(page, args.reruns))
        print(table(rows[-1:]).splitlines()[-1], flush=True)
    text = table(rows)
    print("\n" + text)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    OUT.write_text(
        "# Memory per page: RSS after 20 reruns of its worst link\n\n"
        f"Written by `python -m benchmarks.memory` on {stamp} ({os.cpu_count()} cores, Python "
        f"{sys.version.split()[0]}). Each page in its own process, AppTest sessions, the project's server "
        "settings (no full garbage collection after each run). MB are RSS; a peak is the highest RSS "
        "during one request (VmHWM, reset before each).\n\n" + text + "\n\n"
        "Worst links: " + "; ".join(f"{p}: {PAGES[p][0]} {sorted(PAGES[p][1])}" for p in PAGES) + ".\n",
        encoding="utf-8",
    )
    print(f"\nwrote {OUT}")


if __name__ == "__main__":
    main()

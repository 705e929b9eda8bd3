"""python -m benchmarks [--quick] [--skip-browser] [hall]: every speed and size figure in one run.

Each figure is a ratio against a floor measured in the same run on the same machine
(these machines are shared and noisy), printed as a table and written to docs/benchmarks.md
(the hall part to docs/benchmarks_hall.md; the rooms, memory and language-model benchmarks write
docs/benchmarks_room.md, docs/benchmarks_memory.md and docs/benchmarks_lm.md themselves):

1. core: a full trace (1 and 8 heads, causal and not, d_model 64) against the NumPy
   seed's own code and, when torch is installed, torch computing the same intermediates;
2. rerun: the script time of one rerun after a matrix edit (AppTest) against a minimal
   script drawing the same number of same-size heatmaps from precomputed arrays;
3. payload: bytes of figure data per rerun and per heatmap cell;
4. browser: edit committed -> all heatmaps updated, in headless Chromium, against a
   minimal app with one data editor and the same heatmaps;
5. real model: the NumPy forward pass of all-MiniLM-L6-v2 at 8, 32, 128 tokens and the
   Real model page's rerun at 32 tokens (when the optional model package is installed).

``python -m benchmarks hall`` runs only the lecture-hall part instead (about 25 minutes, see
benchmarks/hall.py): many websocket sessions on one process and on two behind nginx, and rooms.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
from pathlib import Path

from benchmarks import browser, core, hall, real_model, rerun

DOCS = Path(__file__).resolve().parent.parent / "docs"
OUT, HALL_OUT = DOCS / "benchmarks.md", DOCS / "benchmarks_hall.md"
#: The other benchmarks' own pages, listed on docs/benchmarks.md.
OTHERS = {
    "benchmarks_hall.md": "python -m benchmarks hall",
    "benchmarks_room.md": "python -m benchmarks.room",
    "benchmarks_memory.md": "python -m benchmarks.memory",
    "benchmarks_lm.md": "python -m benchmarks.smollm2 --interpret",
}


def header(title: str, command: str, when: str, m: dict) -> str:
    return (
        f"# {title}\n\nWritten by `{command}` on {when} ({m['cores']} cores, {m['cpu']}, Python "
        f"{m['python']}). Each ratio is against a floor measured in the same run on the same machine.\n"
    )


def machine() -> dict:
    model = ""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor()
    return {"cores": os.cpu_count(), "cpu": model, "python": platform.python_version()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes only (the smoke test uses this)")
    ap.add_argument("--skip-browser", action="store_true")
    ap.add_argument("part", nargs="?", choices=["hall"], help="hall: only the lecture-hall part (~20 min)")
    args = ap.parse_args()
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    if args.part == "hall":
        out = hall.run(quick=args.quick)  # prints its own table
        if not args.quick:
            HALL_OUT.write_text(
                header("The lecture hall", "python -m benchmarks hall", when, machine())
                + "\n"
                + hall.table(out)
                + "\n"
            )
            print(f"\nwrote {HALL_OUT}")
        return

    results: dict = {"machine": machine(), "measured_at": datetime.datetime.now(datetime.UTC).isoformat()}
    results.update(core.run(quick=args.quick))
    results.update(rerun.run(quick=args.quick))
    results.update(real_model.run(quick=args.quick))
    if not args.skip_browser:
        results.update(browser.run(quick=args.quick))
    print()
    print(table(results))
    if not args.quick:
        others = "\n".join(
            f"- [{name}]({name}): `{command}`" for name, command in OTHERS.items() if (DOCS / name).exists()
        )
        OUT.write_text(
            header("Speed and size", "python -m benchmarks", when, results["machine"])
            + "\n"
            + table(results)
            + "\n\nThe other benchmarks write their own pages:\n\n"
            + others
            + "\n"
        )
        print(f"\nwrote {OUT}")


def table(r: dict) -> str:
    keys = [
        "core_ms",
        "core_vs_numpy_ratio",
        "core_vs_torch_ratio",
        "core_peak_n2_per_head",
        "rerun_ms",
        "rerun_vs_floor_ratio",
        "bytes_per_cell",
        "bytes_per_rerun",
        "edit_to_render_ms",
        "edit_to_render_vs_floor_ratio",
        "real_model_forward_ms",
        "real_model_rerun_ms",
    ]
    ns = sorted({n for k in keys for n in (r.get(k) or {})}, key=int)
    lines = ["| metric | " + " | ".join(f"n={n}" for n in ns) + " |", "|---" * (len(ns) + 1) + "|"]
    for k in keys:
        if k not in r:
            continue
        row = r[k] or {}
        cells = []
        for n in ns:
            v = row.get(n)
            cells.append("" if v is None else (f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"))
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()

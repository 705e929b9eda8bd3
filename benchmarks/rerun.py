"""Server rerun after a matrix edit (AppTest) against a minimal floor script; bytes sent per rerun."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
SIZES = (6, 64, 512)
PAYLOAD_SIZES = (64, 512, 1024)


def sentence(n: int) -> str:
    return "Life is short, eat dessert first" if n == 6 else " ".join(f"w{i}" for i in range(n))


def playground(n: int) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.text_input(key="sentence").set_value(sentence(n)).run()
    return at


def edit_times(at: AppTest, edit, edits: int) -> list[float]:
    """Script time of the rerun after each of ``edits`` edits; ``edit(at, value)`` stages one."""
    times = []
    for k in range(edits):
        edit(at, 1.0 + 0.1 * k)
        t0 = time.perf_counter()
        at.run()
        times.append((time.perf_counter() - t0) * 1000)
    return times


def charts_bytes(at: AppTest) -> tuple[int, int]:
    """(bytes of figure JSON on the page, heatmap cells drawn)."""
    total, cells = 0, 0
    for chart in at.get("plotly_chart"):
        spec = chart.proto.spec
        total += len(spec.encode())
        for trace in json.loads(spec)["data"]:
            if trace.get("type") == "image" and "shape" in (
                trace.get("meta") or {}
            ):  # a large matrix as a picture
                r, c = trace["meta"]["shape"]
                cells += r * c
            elif trace.get("type") == "heatmap" and trace.get("opacity") != 0:  # not a colour-bar carrier
                z = trace["z"]
                shape = z.get("shape") if isinstance(z, dict) else None
                if shape:
                    r, c = (int(v) for v in str(shape).split(","))
                else:
                    r, c = len(z), len(z[0])
                cells += r * c
    return total, cells


def run(quick: bool = False) -> dict:
    out: dict = {
        "rerun_ms": {},
        "rerun_floor_ms": {},
        "rerun_vs_floor_ratio": {},
        "bytes_per_rerun": {},
        "bytes_per_cell": {},
    }
    edits = 4 if quick else 10
    print("rerun after a matrix edit (AppTest, ms, median)")
    for n in (6,) if quick else SIZES:
        at = playground(n)
        # The Playground's edit: W_Q[0, 0] typed into the exact-value box of the nudge panel.
        ours = statistics.median(
            edit_times(at, lambda a, v: a.text_input(key="nudge_text").set_value(repr(v)), edits)
        )
        floor = AppTest.from_file(str(ROOT / "benchmarks" / "floor_app.py"), default_timeout=120)
        floor.session_state["n"], floor.session_state["d"] = n, 24
        floor.run()
        base = statistics.median(
            edit_times(
                floor,
                lambda a, v: a.session_state.__setitem__(
                    "floor_editor", {"edited_rows": {0: {"0": v}}, "added_rows": [], "deleted_rows": []}
                ),
                edits,
            )
        )
        out["rerun_ms"][str(n)], out["rerun_floor_ms"][str(n)] = ours, base
        out["rerun_vs_floor_ratio"][str(n)] = ours / base
        print(f"  n={n:5d}  app {ours:8.1f}  floor {base:8.1f}  ratio {ours / base:.2f}")
    print("payload: figure JSON per rerun")
    for n in (64,) if quick else PAYLOAD_SIZES:
        at = playground(n)
        total, cells = charts_bytes(at)
        out["bytes_per_rerun"][str(n)], out["bytes_per_cell"][str(n)] = total, total / cells
        print(f"  n={n:5d}  {total:,} bytes, {cells:,} heatmap cells, {total / cells:.2f} bytes/cell")
    return out

"""The lecture hall: many sessions over Streamlit's websocket protocol (``deploy/ws_load.py``).

``python -m benchmarks hall`` (about 8 minutes) prints, all measured in the same run:

1. server time per sentence-change rerun (one session, back to back, median) at 6 and 64
   tokens, for the app and for the hall floor (a near-trivial app: one text input, three small
   heatmaps), and their ratio;
2. the join storm on one process: 50 and 100 sessions opening at once, median and slowest time
   to the first full render;
3. saturation: 20 sessions rerunning back to back, reruns per second;
4. one against two processes behind nginx (``deploy/``): 100 sessions joining at once, then each
   changing the sentence every 20 s for 2 minutes (slowest first render, p50, p95, errors), and
   saturation; the ratios two/one.

The load client runs on the same machine as the servers (loopback only): on a 2-core machine
it takes CPU from them, so the two-process figures understate what two cores of a server give.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from deploy.serve import Hall, free_port, start_backend, start_hall, stop_process, wait_healthy

ROOT = Path(__file__).resolve().parent.parent
WS_LOAD = ROOT / "deploy" / "ws_load.py"
#: The hall floor (the shared tools' trivial_app.py): one text input, three small heatmaps given as dicts.
TRIVIAL_APP = '''import streamlit as st, numpy as np
s = st.text_input("Sentence", "a b c d e f")
n = len(s.split())
z = np.random.default_rng(len(s)).random((n, n)).round(3).tolist()
for k in range(3):
    st.plotly_chart({"data": [{"type": "heatmap", "z": z, "texttemplate": "%{z:.2f}"}], "layout": {"height": 300}}, key=f"h{k}")
'''
TOKENS = (6, 64)
SATURATION = (20, 8)  # sessions, reruns each, back to back
HALL = (100, 6, 20.0)  # sessions, reruns each, seconds between a session's reruns (2 minutes)
_LINE = re.compile(r"(\w+)=([-\d.na]+)(?:ms|/s|s)?")


def ws_load(url: str, sessions: int, reruns: int, *, every: float | None = None, tokens: int | None = None,
            timeout: float = 700) -> dict[str, float]:
    """Run ``deploy/ws_load.py`` and return its figures: sessions, reruns, errors, exceptions,
    p50, p95 (ms), throughput (/s), wall (s), join_p50, join_max (ms); ``client_cpu_s``, the CPU
    time the load client itself used (it shares the machine with the servers); ``output`` its text."""
    cmd = [sys.executable, str(WS_LOAD), url, str(sessions), str(reruns)]
    cmd += ["--every", str(every)] if every else []
    cmd += ["--tokens", str(tokens)] if tokens else []
    before = os.times()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    after = os.times()
    if done.returncode:
        raise RuntimeError(f"ws_load failed ({done.returncode}):\n{done.stderr[-2000:]}")
    first = done.stdout.splitlines()[0]
    out: dict = {k: float(v) for k, v in _LINE.findall(first.replace("reruns=", "reruns_done=").split(" rss")[0])
                 if k != "reruns_done"}
    out["reruns"] = float(first.split("reruns=")[1].split("/")[0])
    out["load_avg"] = os.getloadavg()[0]  # the machine's 1-minute load at the end (other users' too)
    out["client_cpu_s"] = (after.children_user + after.children_system) - (before.children_user + before.children_system)
    out["output"] = done.stdout.strip()
    return out


def rerun_ms(url: str, tokens: int, reruns: int) -> float:
    """Median send -> script finished of one session changing its sentence back to back."""
    r = ws_load(url, 1, reruns, tokens=tokens)
    if r["errors"] or r["exceptions"]:
        raise RuntimeError(r["output"])
    return r["p50"]


def _serve(script: Path, prefix: Path) -> tuple[str, subprocess.Popen]:
    b = start_backend(script, free_port(), prefix)
    try:
        wait_healthy(b.url, b.proc, b.log, 90)
    except BaseException:
        stop_process(b.proc)
        raise
    ws_load(b.url, 1, 0)  # first run imports the pages' modules: not part of any figure
    return b.url, b.proc


def _warm(hall: Hall) -> None:
    for b in hall.backends:  # each process directly, so that none is cold when the hall joins
        ws_load(b.url, 1, 0)


def _fmt(r: dict) -> str:
    return f"{r['output'].splitlines()[0]} client_cpu={r['client_cpu_s']:.1f}s load_avg={r['load_avg']:.1f}"


def run(quick: bool = False) -> dict:
    """All figures as a dict (ms, reruns/s); ``quick`` shrinks every count (a smoke run, no figures to quote)."""
    edits, joins, sat, hall = (4, (5, 10), (4, 2), (10, 1, 2.0)) if quick else (12, (50, 100), SATURATION, HALL)
    out: dict = {"hall_rerun_ms": {}, "hall_rerun_floor_ms": {}, "hall_rerun_vs_floor_ratio": {},
                 "hall_join_p50_ms": {}, "hall_join_max_ms": {}}
    tmp = Path(tempfile.mkdtemp(prefix="attention-hall-bench-"))
    floor_script = tmp / "trivial_app.py"
    floor_script.write_text(TRIVIAL_APP)

    print("hall 1: server time per sentence-change rerun (one session, back to back, median ms)")
    app_url, app_proc = _serve(ROOT / "app.py", tmp)
    floor_url, floor_proc = _serve(floor_script, tmp)
    try:
        for n in TOKENS:
            ours, floor = rerun_ms(app_url, n, edits), rerun_ms(floor_url, n, edits)
            out["hall_rerun_ms"][str(n)], out["hall_rerun_floor_ms"][str(n)] = ours, floor
            out["hall_rerun_vs_floor_ratio"][str(n)] = ours / floor
            print(f"  {n:3d} tokens: app {ours:6.0f}  floor {floor:6.0f}  ratio {ours / floor:.2f}")
    finally:
        stop_process(floor_proc)
    try:
        print("hall 2: join storm, one process (every session opens at once)")
        for s in joins:
            r = ws_load(app_url, s, 0)
            out["hall_join_p50_ms"][str(s)], out["hall_join_max_ms"][str(s)] = r["join_p50"], r["join_max"]
            print(f"  {s:3d} sessions: median {r['join_p50']:6.0f} ms, slowest {r['join_max']:6.0f} ms, "
                  f"errors {r['errors']:.0f}")
        print(f"hall 3: saturation, one process ({sat[0]} sessions x {sat[1]} reruns back to back)")
        r = ws_load(app_url, *sat)
        out["hall_saturation_direct"] = r["throughput"]
        print(f"  {_fmt(r)}")
    finally:
        stop_process(app_proc)

    print(f"hall 4: behind nginx, 1 and 2 processes: {hall[0]} sessions join at once, then change the "
          f"sentence every {hall[2]:.0f} s ({hall[1]} times); then saturation")
    for procs in (1, 2):
        h = start_hall(procs, prefix=tmp / f"nginx-{procs}")
        try:
            _warm(h)
            r = ws_load(h.url, hall[0], hall[1], every=hall[2])
            print(f"  {procs} process(es), hall:       {_fmt(r)}")
            cpu = [b.cpu_seconds() for b in h.backends]
            s = ws_load(h.url, *sat)
            cpu = [b.cpu_seconds() - c for b, c in zip(h.backends, cpu)]
            print(f"  {procs} process(es), saturation: {_fmt(s)} server_cpu="
                  + "+".join(f"{c:.1f}" for c in cpu) + "s")
            print(f"  websockets per process: {dict(h.websockets_per_backend())}")
            out[f"hall_nginx_{procs}"] = {"join_max_ms": r["join_max"], "join_p50_ms": r["join_p50"],
                                          "p50_ms": r["p50"], "p95_ms": r["p95"], "errors": r["errors"],
                                          "exceptions": r["exceptions"], "reruns": r["reruns"],
                                          "saturation_per_s": s["throughput"], "saturation_errors": s["errors"]}
        finally:
            h.stop()
    one, two = out["hall_nginx_1"], out["hall_nginx_2"]
    out["hall_two_vs_one_saturation_ratio"] = two["saturation_per_s"] / one["saturation_per_s"]
    out["hall_two_vs_one_join_max_cut"] = 1 - two["join_max_ms"] / one["join_max_ms"]
    out["hall_two_vs_one_p95_ratio"] = two["p95_ms"] / one["p95_ms"]
    print()
    print(table(out))
    return out


def table(r: dict) -> str:
    one, two = r["hall_nginx_1"], r["hall_nginx_2"]
    rows = [
        "| hall figure | value |", "|---|---|",
        *(f"| rerun ms at {n} tokens: app / floor (ratio) | {r['hall_rerun_ms'][n]:.0f} / "
          f"{r['hall_rerun_floor_ms'][n]:.0f} ({r['hall_rerun_vs_floor_ratio'][n]:.2f}) |" for n in r["hall_rerun_ms"]),
        *(f"| join storm, {s} sessions, one process: median / slowest ms | {r['hall_join_p50_ms'][s]:.0f} / "
          f"{r['hall_join_max_ms'][s]:.0f} |" for s in r["hall_join_p50_ms"]),
        f"| saturation, one process, no proxy (reruns/s) | {r['hall_saturation_direct']:.1f} |",
        "| behind nginx | 1 process | 2 processes | 2 vs 1 |", "|---|---|---|---|",
        f"| join storm: slowest first render (ms) | {one['join_max_ms']:.0f} | {two['join_max_ms']:.0f} | "
        f"{100 * r['hall_two_vs_one_join_max_cut']:.0f}% shorter (aim ≥ 35%) |",
        f"| join storm: median first render (ms) | {one['join_p50_ms']:.0f} | {two['join_p50_ms']:.0f} | |",
        f"| every 20 s: rerun p50 (ms) | {one['p50_ms']:.0f} | {two['p50_ms']:.0f} | |",
        f"| every 20 s: rerun p95 (ms) | {one['p95_ms']:.0f} | {two['p95_ms']:.0f} | "
        f"x{r['hall_two_vs_one_p95_ratio']:.2f} |",
        f"| every 20 s: reruns done, errors, exceptions | {one['reruns']:.0f}, {one['errors']:.0f}, "
        f"{one['exceptions']:.0f} | {two['reruns']:.0f}, {two['errors']:.0f}, {two['exceptions']:.0f} | |",
        f"| saturation (reruns/s) | {one['saturation_per_s']:.1f} | {two['saturation_per_s']:.1f} | "
        f"x{r['hall_two_vs_one_saturation_ratio']:.2f} (aim ≥ 1.6) |",
    ]
    return "\n".join(rows)

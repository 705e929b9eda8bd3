"""The lecture hall: many sessions over Streamlit's websocket protocol (``deploy/ws_load.py``).

``python -m benchmarks hall`` (about 20 minutes) prints, all measured in the same run:

1. one process, the app against the hall floor (a near-trivial app: one text input, three small
   heatmaps) served two ways: with this project's server settings (``.streamlit/config.toml``:
   no file watching, no forced full garbage collection after each run) and as Streamlit ships
   (``runner.postScriptGC`` on): server CPU time per sentence-change rerun at 6 and 64 tokens (and
   its latency, which has a fixed part that is not server work: about 40 ms at 6 tokens); the
   join storm of 50 and 100 sessions (median and slowest time to the first full render); 100
   sessions each changing the sentence every 20 s for 2 minutes (p50, p95, errors); the ratios;
2. the element budget: the join storm of 100 on the floor with N one-line captions added (N = 0, 10,
   20, 40, 96), on the minimal lab (benchmarks/minimal_lab.py) and on the app, measured in turns in
   the same run, and each one's server CPU per sentence change: what Streamlit's cost per element
   alone adds, so which first screens can reach a given ratio to the floor;
3. saturation: 20 sessions rerunning back to back, reruns per second;
4. one against two processes behind nginx (``deploy/``): 100 sessions joining at once, then each
   changing the sentence every 20 s for 2 minutes (slowest first render, p50, p95, errors), and
   saturation; the ratios two/one;
5. lecture rooms (``benchmarks/room.py``): 100 and 300 followers joining a room against the floor, the
   time from the lecturer's change until every follower has the new numbers, the lecturer's own
   change with and without followers, memory per follower, and 300 followers on one and on two
   processes behind nginx with the rooms in Redis.

The load client runs on the same machine as the servers (loopback only): on a 2-core machine
it takes CPU from them, so the two-process figures understate what two cores of a server give.
The floor's join storm of 100 with this project's settings (about 0.5 s) is mostly the load
client opening 100 websockets.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from deploy.serve import Hall, cpu_seconds, free_port, start_backend, start_hall, stop_process, wait_healthy

ROOT = Path(__file__).resolve().parent.parent
WS_LOAD = ROOT / "deploy" / "ws_load.py"
#: The hall floor (the shared tools' trivial_app.py): one text input, three small heatmaps given as dicts.
TRIVIAL_APP = """import streamlit as st, numpy as np
s = st.text_input("Sentence", "a b c d e f")
n = len(s.split())
z = np.random.default_rng(len(s)).random((n, n)).round(3).tolist()
for k in range(3):
    st.plotly_chart({"data": [{"type": "heatmap", "z": z, "texttemplate": "%{z:.2f}"}], "layout": {"height": 300}}, key=f"h{k}")
"""  # noqa: E501 - a verbatim copy of ../shared/tools/trivial_app.py (the floor every hall figure is against)
#: How many one-line captions are added to the floor in the element budget (``element_budget``).
BUDGET_CAPTIONS = (0, 10, 20, 40, 96)
TOKENS = (6, 64)
SATURATION = (20, 8)  # sessions, reruns each, back to back
HALL = (100, 6, 20.0)  # sessions, reruns each, seconds between a session's reruns (2 minutes)
_LINE = re.compile(r"(\w+)=([-\d.na]+)(?:ms|/s|s)?")


def ws_load(
    url: str,
    sessions: int,
    reruns: int,
    *,
    every: float | None = None,
    tokens: int | None = None,
    timeout: float = 700,
) -> dict[str, float]:
    """Run ``deploy/ws_load.py`` and return its figures: sessions, reruns, errors, exceptions,
    p50, p95 (ms), throughput (/s), wall (s), join_p50, join_max (ms); ``client_cpu_s``, the CPU
    time the load client itself used (it shares the machine with the servers); ``output`` its text."""
    cmd = [sys.executable, str(WS_LOAD), url, str(sessions), str(reruns)]
    cmd += ["--every", str(every)] if every else []
    cmd += ["--tokens", str(tokens)] if tokens else []
    before = os.times()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT, check=False)
    after = os.times()
    if done.returncode:
        raise RuntimeError(f"ws_load failed ({done.returncode}):\n{done.stderr[-2000:]}")
    first = done.stdout.splitlines()[0]
    out: dict = {
        k: float(v)
        for k, v in _LINE.findall(first.replace("reruns=", "reruns_done=").split(" rss")[0])
        if k != "reruns_done"
    }
    out["reruns"] = float(first.split("reruns=")[1].split("/")[0])
    out["load_avg"] = os.getloadavg()[0]  # the machine's 1-minute load at the end (other users' too)
    out["client_cpu_s"] = (after.children_user + after.children_system) - (
        before.children_user + before.children_system
    )
    out["output"] = done.stdout.strip()
    return out


def rerun_cost(url: str, pid: int, tokens: int, reruns: int) -> tuple[float, float]:
    """One session changing its sentence back to back: (median send -> script finished, server CPU
    per rerun), both ms. The latency has a fixed part that is not the server's work (about 40 ms at
    6 tokens for the floor, whose CPU per rerun is about 7 ms): the CPU is the server time compared."""
    ws_load(url, 1, 3, tokens=tokens)  # this sentence length's first runs: not part of the figure
    before = cpu_seconds(pid)
    r = ws_load(url, 1, reruns, tokens=tokens)
    cpu = cpu_seconds(pid) - before
    if r["errors"] or r["exceptions"]:
        raise RuntimeError(r["output"])
    return r["p50"], 1000 * cpu / r["reruns"]


#: The floor served two ways: with this project's settings, and with Streamlit's default of a full
#: garbage collection after every script run (the one default ``.streamlit/config.toml`` changes
#: that costs time per session; file watching is off for every process here).
FLOORS = {"floor (same settings)": (), "floor (Streamlit defaults)": ("--runner.postScriptGC", "true")}


def serve(script: Path, prefix: Path, args: tuple[str, ...] = ()) -> tuple[str, subprocess.Popen]:
    b = start_backend(script, free_port(), prefix, args=args)
    try:
        wait_healthy(b.url, b.proc, b.log, 90)
    except BaseException:
        stop_process(b.proc)
        raise
    ws_load(b.url, 1, 0)  # first run imports the pages' modules: not part of any figure
    return b.url, b.proc


def element_budget(
    tmp: Path, sessions: int = 100, rounds: int = 2, reruns: int = 24
) -> dict[str, dict[str, float]]:
    """The join storm of ``sessions`` on the floor with N one-line captions added (``BUDGET_CAPTIONS``), on
    the minimal lab (``benchmarks/minimal_lab.py``: sentence, one matrix's editor, the weights heatmap) and
    on the lab, every process up at once and measured in turns, ``rounds`` times (same settings for all);
    then the server CPU per sentence change at 6 tokens (``reruns`` of them) of each.

    What Streamlit's cost per element alone adds to a join storm: the ratio a first screen of N
    elements can reach against the floor, whatever the app computes. Returns, by name ("floor+N",
    "minimal lab", "app"), the median over the rounds of the median and slowest first render (ms),
    the errors and ``cpu_ms``.
    """
    servers: dict[str, tuple[str, subprocess.Popen]] = {}
    try:
        for n in BUDGET_CAPTIONS:
            script = tmp / f"floor_plus_{n}.py"
            script.write_text(
                TRIVIAL_APP + (f"for i in range({n}):\n    st.caption(f'element {{i}}')\n" if n else "")
            )
            servers[f"floor+{n}"] = serve(script, tmp)
        servers["minimal lab"] = serve(ROOT / "benchmarks" / "minimal_lab.py", tmp)
        servers["app"] = serve(ROOT / "app.py", tmp)
        runs: dict[str, list[dict[str, float]]] = {k: [] for k in servers}
        for _ in range(rounds):
            for name, (url, _proc) in servers.items():
                runs[name].append(ws_load(url, sessions, 0))
        cpu = {name: rerun_cost(url, proc.pid, 6, reruns)[1] for name, (url, proc) in servers.items()}
    finally:
        for _url, proc in servers.values():
            stop_process(proc)
    return {
        name: {
            "p50_ms": statistics.median(r["join_p50"] for r in rs),
            "max_ms": statistics.median(r["join_max"] for r in rs),
            "errors": sum(r["errors"] for r in rs),
            "cpu_ms": cpu[name],
        }
        for name, rs in runs.items()
    }


def budget_table(budget: dict[str, dict[str, float]]) -> str:
    floor = budget["floor+0"]["max_ms"]
    cpu = budget["floor+0"]["cpu_ms"]
    rows = [
        (
            "| first screen | join storm: median / slowest (ms) | slowest ÷ floor | CPU per sentence change "
            "(ms) | ÷ floor |"
        ),
        "|---|---|---|---|---|",
    ]
    # (The kernel counts CPU in 10 ms ticks: a short smoke run can read 0 for the floor.)
    rows += [
        f"| {name} | {b['p50_ms']:.0f} / {b['max_ms']:.0f} | {b['max_ms'] / floor:.2f} | {b['cpu_ms']:.1f} | "
        + (f"{b['cpu_ms'] / cpu:.2f} |" if cpu > 0 else "– |")
        for name, b in budget.items()
    ]
    return "\n".join(rows)


def _warm(hall: Hall) -> None:
    for b in hall.backends:  # each process directly, so that none is cold when the hall joins
        ws_load(b.url, 1, 0)


def _fmt(r: dict) -> str:
    return f"{r['output'].splitlines()[0]} client_cpu={r['client_cpu_s']:.1f}s load_avg={r['load_avg']:.1f}"


def run(quick: bool = False) -> dict:
    """All figures as a dict (ms, reruns/s).

    ``quick`` shrinks every count (a smoke run, no figures to quote).
    """
    edits, joins, sat, hall = (
        (4, (5, 10), (4, 2), (10, 1, 2.0)) if quick else (24, (50, 100), SATURATION, HALL)
    )
    out: dict = {
        "hall_rerun_ms": {},
        "hall_rerun_floor_ms": {},
        "hall_rerun_vs_floor_ratio": {},
        "hall_join_p50_ms": {},
        "hall_join_max_ms": {},
    }
    tmp = Path(tempfile.mkdtemp(prefix="attention-hall-bench-"))
    floor_script = tmp / "trivial_app.py"
    floor_script.write_text(TRIVIAL_APP)

    print("hall 1: one process each; the app against the floor served two ways")
    servers = {"app": (ROOT / "app.py", ()), **{k: (floor_script, a) for k, a in FLOORS.items()}}
    for name, (script, args) in servers.items():
        url, proc = serve(script, tmp, args)
        try:
            costs = {str(n): rerun_cost(url, proc.pid, n, edits) for n in TOKENS}
            fig: dict = {
                "rerun_ms": {n: c[0] for n, c in costs.items()},
                "rerun_cpu_ms": {n: c[1] for n, c in costs.items()},
            }
            for s in joins:
                r = ws_load(url, s, 0)
                fig[f"join_{s}"] = {"p50_ms": r["join_p50"], "max_ms": r["join_max"], "errors": r["errors"]}
            r = ws_load(url, hall[0], hall[1], every=hall[2])
            fig["every"] = {
                "join_max_ms": r["join_max"],
                "p50_ms": r["p50"],
                "p95_ms": r["p95"],
                "errors": r["errors"],
                "exceptions": r["exceptions"],
                "reruns": r["reruns"],
            }
            if name == "app":
                print(f"  saturation ({sat[0]} sessions x {sat[1]} reruns back to back)")
                out["hall_saturation_direct"] = ws_load(url, *sat)["throughput"]
        finally:
            stop_process(proc)
        out.setdefault("hall_one_process", {})[name] = fig
        print(
            f"  {name:26s} rerun "
            + " / ".join(f"{v:.0f}" for v in fig["rerun_ms"].values())
            + " ms (server CPU "
            + " / ".join(f"{v:.1f}" for v in fig["rerun_cpu_ms"].values())
            + " ms); join "
            + "; ".join(
                f"{s}: {fig[f'join_{s}']['p50_ms']:.0f}/{fig[f'join_{s}']['max_ms']:.0f} ms" for s in joins
            )
            + f"; every {hall[2]:.0f} s: p50 {fig['every']['p50_ms']:.0f} p95 {fig['every']['p95_ms']:.0f} ms"
            f" errors {fig['every']['errors']:.0f}",
            flush=True,
        )
    print(
        f"hall 2: the element budget: the join storm of {joins[-1]} on the floor plus N captions, and on the "
        "app"
    )
    out["hall_element_budget"] = element_budget(tmp, joins[-1], rounds=1 if quick else 2)
    print(budget_table(out["hall_element_budget"]), flush=True)
    app = out["hall_one_process"]["app"]
    for name in FLOORS:
        f = out["hall_one_process"][name]
        out.setdefault("hall_ratio", {})[name] = {
            **{
                f"rerun_cpu_{n}": app["rerun_cpu_ms"][n] / max(f["rerun_cpu_ms"][n], 1e-9)
                for n in app["rerun_ms"]
            },
            **{f"rerun_latency_{n}": app["rerun_ms"][n] / f["rerun_ms"][n] for n in app["rerun_ms"]},
            **{f"join_{s}_max": app[f"join_{s}"]["max_ms"] / f[f"join_{s}"]["max_ms"] for s in joins},
            "every_p95": app["every"]["p95_ms"] / max(f["every"]["p95_ms"], 1.0),
        }
    # Kept under their old names for results.json readers.
    out["hall_rerun_ms"] = app["rerun_ms"]
    out["hall_rerun_floor_ms"] = out["hall_one_process"]["floor (same settings)"]["rerun_ms"]
    out["hall_rerun_vs_floor_ratio"] = {
        n: out["hall_ratio"]["floor (same settings)"][f"rerun_cpu_{n}"] for n in app["rerun_ms"]
    }
    out["hall_rerun_cpu_ms"] = app["rerun_cpu_ms"]
    out["hall_join_p50_ms"] = {str(s): app[f"join_{s}"]["p50_ms"] for s in joins}
    out["hall_join_max_ms"] = {str(s): app[f"join_{s}"]["max_ms"] for s in joins}

    print(
        f"hall 4: behind nginx, 1 and 2 processes: {hall[0]} sessions join at once, then change the "
        f"sentence every {hall[2]:.0f} s ({hall[1]} times); then saturation"
    )
    for procs in (1, 2):
        h = start_hall(procs, prefix=tmp / f"nginx-{procs}")
        try:
            _warm(h)
            r = ws_load(h.url, hall[0], hall[1], every=hall[2])
            print(f"  {procs} process(es), hall:       {_fmt(r)}")
            cpu = [b.cpu_seconds() for b in h.backends]
            s = ws_load(h.url, *sat)
            cpu = [b.cpu_seconds() - c for b, c in zip(h.backends, cpu)]
            print(
                f"  {procs} process(es), saturation: {_fmt(s)} server_cpu="
                + "+".join(f"{c:.1f}" for c in cpu)
                + "s"
            )
            print(f"  websockets per process: {dict(h.websockets_per_backend())}")
            out[f"hall_nginx_{procs}"] = {
                "join_max_ms": r["join_max"],
                "join_p50_ms": r["join_p50"],
                "p50_ms": r["p50"],
                "p95_ms": r["p95"],
                "errors": r["errors"],
                "exceptions": r["exceptions"],
                "reruns": r["reruns"],
                "saturation_per_s": s["throughput"],
                "saturation_errors": s["errors"],
            }
        finally:
            h.stop()
    one, two = out["hall_nginx_1"], out["hall_nginx_2"]
    out["hall_two_vs_one_saturation_ratio"] = two["saturation_per_s"] / one["saturation_per_s"]
    out["hall_two_vs_one_join_max_cut"] = 1 - two["join_max_ms"] / one["join_max_ms"]
    out["hall_two_vs_one_p95_ratio"] = two["p95_ms"] / one["p95_ms"]
    print("hall 5: lecture rooms")
    from benchmarks import room  # (imports this module)

    out["room"] = room.run(quick)
    print()
    print(table(out))
    return out


def table(r: dict) -> str:
    one, two = r["hall_nginx_1"], r["hall_nginx_2"]
    procs = r["hall_one_process"]
    names = list(procs)
    rows = [
        "| one process | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
        *(
            f"| sentence change at {n} tokens: server CPU / latency ms | "
            + " | ".join(f"{procs[k]['rerun_cpu_ms'][n]:.1f} / {procs[k]['rerun_ms'][n]:.0f}" for k in names)
            + " |"
            for n in procs["app"]["rerun_ms"]
        ),
        *(
            f"| join storm of {s}: median / slowest ms | "
            + " | ".join(
                f"{procs[k][f'join_{s}']['p50_ms']:.0f} / {procs[k][f'join_{s}']['max_ms']:.0f}"
                for k in names
            )
            + " |"
            for s in (50, 100)
            if f"join_{s}" in procs["app"]
        ),
        "| 100 sessions every 20 s: p50 / p95 ms, errors | "
        + " | ".join(
            f"{procs[k]['every']['p50_ms']:.0f} / {procs[k]['every']['p95_ms']:.0f}, "
            f"{procs[k]['every']['errors']:.0f}"
            for k in names
        )
        + " |",
        "",
        "| app ÷ floor | " + " | ".join(r["hall_ratio"]) + " |",
        "|---|" + "---|" * len(r["hall_ratio"]),
        *(
            f"| {m} | " + " | ".join(f"{v[m]:.2f}" for v in r["hall_ratio"].values()) + " |"
            for m in next(iter(r["hall_ratio"].values()))
        ),
        "",
        f"saturation, one process, no proxy: {r['hall_saturation_direct']:.1f} reruns/s",
        "",
        "| behind nginx | 1 process | 2 processes | 2 vs 1 |",
        "|---|---|---|---|",
        (
            f"| join storm: slowest first render (ms) | {one['join_max_ms']:.0f} | {two['join_max_ms']:.0f} "
            f"| {100 * r['hall_two_vs_one_join_max_cut']:.0f}% shorter (aim ≥ 35%) |"
        ),
        f"| join storm: median first render (ms) | {one['join_p50_ms']:.0f} | {two['join_p50_ms']:.0f} | |",
        f"| every 20 s: rerun p50 (ms) | {one['p50_ms']:.0f} | {two['p50_ms']:.0f} | |",
        (
            f"| every 20 s: rerun p95 (ms) | {one['p95_ms']:.0f} | {two['p95_ms']:.0f} | "
            f"x{r['hall_two_vs_one_p95_ratio']:.2f} |"
        ),
        (
            f"| every 20 s: reruns done, errors, exceptions | {one['reruns']:.0f}, {one['errors']:.0f}, "
            f"{one['exceptions']:.0f} | {two['reruns']:.0f}, {two['errors']:.0f}, {two['exceptions']:.0f} | |"
        ),
        (
            f"| saturation (reruns/s) | {one['saturation_per_s']:.1f} | {two['saturation_per_s']:.1f} | "
            f"x{r['hall_two_vs_one_saturation_ratio']:.2f} (aim ≥ 1.6) |"
        ),
    ]
    if "hall_element_budget" in r:
        rows += ["", budget_table(r["hall_element_budget"])]
    return "\n".join(rows)


if __name__ == "__main__":  # python -m benchmarks.hall budget: only the element budget (about 2 minutes)
    if sys.argv[1:] != ["budget"]:
        sys.exit("usage: python -m benchmarks.hall budget   (the whole hall part: python -m benchmarks hall)")
    print(budget_table(element_budget(Path(tempfile.mkdtemp(prefix="attention-hall-budget-")))))

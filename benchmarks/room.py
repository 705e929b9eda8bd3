"""A lecture room under load: a lecturer and many followers over Streamlit's websocket protocol.

``python -m benchmarks.room`` (about 6 minutes; also part of ``python -m benchmarks hall``) prints,
measured in one run on this machine, and writes them to ``docs/benchmarks_room.md``:

1. one process: 100 and 300 followers open the room link at once (slowest first render), beside the
   hall floor (``../shared/tools/trivial_app.py``: one text input, three small heatmaps) joined by as
   many sessions in the same run; then, with 100 followers, the lecturer changes the sentence and
   nudges a weight 10 times each: the time from the lecturer's change until each follower's session
   has received the new numbers and its script is idle (p50, p95, slowest), and the lecturer's own
   change → render with 100 followers against none; the server's RSS per follower;
2. behind nginx with Redis (``deploy/serve.py``): 1 process and 2 processes, 300 followers: the join,
   the propagation p95 and the saturation (reruns per second of 20 sessions back to back).

Followers here are protocol clients: "rendered" is the server's script_finished after the new numbers
were sent (a browser adds its own drawing, ~50-100 ms for these figures; the browser test measures the
whole path for three students). The load client shares the 2-core machine with the servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from urllib.parse import parse_qs

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

from benchmarks.hall import TRIVIAL_APP, serve, ws_load
from deploy.serve import cpu_seconds, start_hall, stop_process

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks_room.md"
CHANGES = 10  # lecturer changes of each kind


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) / 1024 for line in f if line.startswith("VmRSS"))


@dataclass
class Session:
    """One websocket session: runs the script, remembers its widgets, and watches what it is sent."""

    url: str
    query: str = ""
    cookie: str | None = None
    ws: object = None
    page: str = ""
    widgets: dict[str, str] = field(default_factory=dict)  # label-ish name -> widget id
    texts: list[str] = field(default_factory=list)  # st.text bodies of the last run
    figures: set[str] = field(default_factory=set)  # the Plotly specs of the last run that drew any
    query_seen: str = ""
    exceptions: int = 0

    async def open(self) -> float:
        ws_url = self.url.replace("http", "ws", 1) + "/_stcore/stream"
        assert "127.0.0.1" in ws_url or "localhost" in ws_url, "loopback only"
        self.ws = await websockets.connect(
            ws_url,
            subprotocols=["streamlit"],
            max_size=2**28,
            origin=self.url,
            open_timeout=60,
            ping_interval=None,
            additional_headers={"Cookie": self.cookie} if self.cookie else None,
        )
        return await self.run()

    async def run(self, states: list[WidgetState] | None = None) -> float:
        """Rerun the script (with ``states``); seconds until its script_finished."""
        m = BackMsg()
        m.rerun_script.query_string = self.query
        m.rerun_script.page_script_hash = self.page
        if states:
            m.rerun_script.widget_states.widgets.extend(states)
        t0 = time.perf_counter()
        await self.ws.send(m.SerializeToString())  # type: ignore[attr-defined]
        await self.until_finished()
        return time.perf_counter() - t0

    async def until_finished(
        self, marker: str | None = None, timeout: float = 120, *, new_figure: bool = False
    ) -> float:
        """Read messages until a script_finished (after a text containing ``marker``, if given; with
        ``new_figure``, after a run that drew a figure this session had not been sent in its last run
        with figures, e.g. a matrix with a nudged cell). Returns when (``time.perf_counter``)."""
        seen = marker is None and not new_figure
        self.texts = []
        specs: set[str] = set()
        while True:
            raw = await asyncio.wait_for(self.ws.recv(), timeout=timeout)  # type: ignore[attr-defined]
            f = ForwardMsg()
            f.ParseFromString(raw)
            kind = f.WhichOneof("type")
            if kind == "new_session":
                self.page = f.new_session.page_script_hash or self.page
            elif kind == "page_info_changed":
                self.query_seen = f.page_info_changed.query_string
            elif kind == "delta" and f.delta.WhichOneof("type") == "new_element":
                el = f.delta.new_element
                ek = el.WhichOneof("type")
                if ek == "exception":
                    self.exceptions += 1
                elif ek == "text":
                    self.texts.append(el.text.body)
                    seen = seen or (marker is not None and marker in el.text.body)
                elif ek == "text_input":
                    self.widgets.setdefault(el.text_input.label, el.text_input.id)
                elif ek == "plotly_chart":
                    specs.add(el.plotly_chart.spec)
            elif kind == "script_finished":
                if specs:
                    seen = seen or (new_figure and bool(self.figures) and not specs <= self.figures)
                    self.figures, specs = specs, set()
                if seen:
                    return time.perf_counter()

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()  # type: ignore[attr-defined]


def text_state(session: Session, label: str, text: str) -> list[WidgetState]:
    w = WidgetState()
    w.id = session.widgets[label]
    w.string_value = text
    return [w]


def sentence_state(session: Session, text: str) -> list[WidgetState]:
    return text_state(session, "Sentence", text)


def change(session: Session, r: int, tag: str) -> tuple[list[WidgetState], str | None]:
    """The lecturer's change of round ``r``: even rounds a new sentence (whose marker the followers'
    sentence line shows), odd rounds a nudge of W_Q[0, 0] typed in "exact value" (the followers' matrix
    figure changes). Returns the widget states and the marker (None: look for a new figure)."""
    if r % 2 == 0:
        marker = f"round{r}x{tag}"
        return sentence_state(session, f"the hall sees {marker} now"), marker
    return text_state(session, "exact value", f"{1.25 + 0.5 * r:.2f}"), None


def _crowd(conn: Connection, url: str, code: str, followers: int, cookies: list[str | None]) -> None:
    """The followers, in a process of their own: reading a hundred sessions' messages would otherwise
    hold up the reading of the lecturer's (a lecturer's browser has a machine of its own). Told a round's
    marker, it arms every follower, says so, and sends back when each one had the new numbers."""

    async def go() -> None:
        crowd = [Session(url, f"room={code}", cookies[(k + 1) % len(cookies)]) for k in range(followers)]
        t0 = time.perf_counter()
        joins = await asyncio.gather(*(s.open() for s in crowd), return_exceptions=True)
        conn.send(
            {
                "joins": [None if isinstance(j, BaseException) else j for j in joins],
                "wall": time.perf_counter() - t0,
            }
        )
        ok = [s for s, j in zip(crowd, joins) if not isinstance(j, BaseException)]
        while (order := await asyncio.to_thread(conn.recv)) is not None:
            marker = order[0]  # a round: (its marker or None); the end: None
            waiting = [
                asyncio.create_task(s.until_finished(marker, timeout=60, new_figure=marker is None))
                for s in ok
            ]
            await asyncio.sleep(0)  # every follower is reading before the lecturer changes anything
            conn.send("armed")
            done = await asyncio.gather(*waiting, return_exceptions=True)
            conn.send([None if isinstance(d, BaseException) else d for d in done])
        for s in crowd:
            with contextlib.suppress(Exception):  # a closed socket is what we want
                await s.close()
        conn.send(sum(s.exceptions for s in crowd))

    asyncio.run(go())


async def _room(url: str, followers: int, changes: int, cookies: list[str | None]) -> dict[str, float]:
    """A lecturer (``?teach=1``) and ``followers`` sessions on ``?room=CODE`` (in a process of their own);
    the lecturer changes the sentence and nudges a weight ``changes`` times each. Returns join and
    propagation figures (ms) and errors."""
    lecturer = Session(url, "teach=1", cookies[0])
    await lecturer.open()
    code = parse_qs(lecturer.query_seen)["room"][0]
    lecturer.query = ""
    await lecturer.run(sentence_state(lecturer, "the lecturer opens the room"))
    here, there = multiprocessing.get_context("spawn").Pipe()
    crowd = multiprocessing.get_context("spawn").Process(
        target=_crowd, args=(there, url, code, followers, cookies), daemon=True
    )
    crowd.start()
    try:
        joined = await asyncio.to_thread(here.recv)
        joins = [j for j in joined["joins"] if j is not None]
        errors = followers - len(joins)
        lags: list[float] = []
        own: list[float] = []
        for r in range(2 * changes):
            await asyncio.sleep(
                1.0
            )  # the followers' own periodic checks stay out of the way of the next change
            states, marker = change(lecturer, r, str(followers))
            here.send((marker,))
            armed = await asyncio.to_thread(here.recv)
            assert armed == "armed", armed
            t_change = time.perf_counter()
            own.append(await lecturer.run(states))
            done = await asyncio.to_thread(here.recv)
            errors += sum(d is None for d in done)
            lags += [d - t_change for d in done if d is not None]
        here.send(None)
        exceptions = await asyncio.to_thread(here.recv)
    finally:
        crowd.join(timeout=30)
        if crowd.is_alive():
            crowd.kill()
    await lecturer.close()
    q = statistics.quantiles(lags, n=20) if len(lags) > 1 else [float("nan")] * 19
    return {
        "join_max_ms": 1000 * max(joins, default=float("nan")),
        "join_wall_ms": 1000 * joined["wall"],
        "lag_p50_ms": 1000 * statistics.median(lags) if lags else float("nan"),
        "lag_p95_ms": 1000 * q[18],
        "lag_max_ms": 1000 * max(lags, default=float("nan")),
        "own_ms": 1000 * statistics.median(own) if own else float("nan"),
        "errors": errors,
        "exceptions": exceptions + lecturer.exceptions,
    }


def room(url: str, followers: int, changes: int = CHANGES, cookies: list[str | None] | None = None) -> dict:
    return asyncio.run(_room(url, followers, changes, cookies or [None]))


def lecturer_alone(url: str, changes: int = CHANGES) -> float:
    """The lecturer's change -> render (median ms) with nobody following: the same changes."""

    async def go() -> float:
        lecturer = Session(url, "teach=1")
        await lecturer.open()
        lecturer.query = ""
        times = []
        for r in range(2 * changes + 2):
            t = await lecturer.run(change(lecturer, r, "alone")[0])
            if r >= 2:
                times.append(t)
        await lecturer.close()
        return 1000 * statistics.median(times)

    return asyncio.run(go())


def run(quick: bool = False) -> dict:
    sizes = (5, 10) if quick else (100, 300)
    changes = 2 if quick else CHANGES
    tmp = Path(tempfile.mkdtemp(prefix="attention-room-bench-"))
    floor_script = tmp / "trivial_app.py"
    floor_script.write_text(TRIVIAL_APP)
    out: dict = {"when": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"), "sizes": sizes}
    print("room 1: one process, followers joining at once, beside the floor")
    floor_url, floor_proc = serve(floor_script, tmp)
    app_url, app_proc = serve(ROOT / "app.py", tmp)
    try:
        for n in sizes:
            f = ws_load(floor_url, n, 0)
            rss0 = rss_mb(app_proc.pid)
            cpu0 = cpu_seconds(app_proc.pid)
            r = room(app_url, n, changes)
            r["rss_per_follower_kb"] = 1024 * (rss_mb(app_proc.pid) - rss0) / n
            r["cpu_s"] = cpu_seconds(app_proc.pid) - cpu0
            r["floor_join_max_ms"], r["floor_errors"] = f["join_max"], f["errors"]
            out[f"one_{n}"] = r
            print(
                f"  {n} followers: slowest join {r['join_max_ms']:.0f} ms (floor {f['join_max']:.0f} ms, "
                f"x{r['join_max_ms'] / f['join_max']:.2f}); propagation p50/p95/max "
                f"{r['lag_p50_ms']:.0f}/{r['lag_p95_ms']:.0f}/{r['lag_max_ms']:.0f} ms; lecturer "
                f"{r['own_ms']:.0f} ms; errors {r['errors']}+{r['floor_errors']:.0f}; RSS "
                f"+{r['rss_per_follower_kb']:.0f} KB/follower",
                flush=True,
            )
        out["lecturer_alone_ms"] = lecturer_alone(app_url, changes)
        print(f"  the lecturer's change with nobody following: {out['lecturer_alone_ms']:.0f} ms", flush=True)
    finally:
        stop_process(floor_proc)
        stop_process(app_proc)

    print(f"room 2: behind nginx, rooms in Redis, {sizes[-1]} followers; 1 and 2 processes")
    for procs in (1, 2):
        h = start_hall(procs, prefix=tmp / f"nginx-{procs}")
        try:
            for b in h.backends:
                ws_load(b.url, 1, 0)
            cookies = [f"attn_route={h.route_to(b)}" for b in h.backends]
            r = room(h.url, sizes[-1], changes, cookies)
            s = ws_load(h.url, 20 if not quick else 4, 8 if not quick else 2)
            r["saturation_per_s"] = s["throughput"]
            out[f"nginx_{procs}"] = r
            print(
                f"  {procs} process(es): slowest join {r['join_max_ms']:.0f} ms; propagation p95 "
                f"{r['lag_p95_ms']:.0f} ms; saturation {s['throughput']:.1f} reruns/s; errors {r['errors']}",
                flush=True,
            )
        finally:
            h.stop()
    text = report(out)
    print(text)
    if not quick:
        DOC.write_text(text + "\n")
    return out


def report(r: dict) -> str:
    small, big = r["sizes"]
    rows = [
        (
            f"# Lecture rooms under load\n\nWritten by `python -m benchmarks.room` on {r['when']} "
            f"({os.cpu_count()} cores, Python {sys.version.split()[0]}). Followers are websocket-protocol "
            'clients on the same machine; "rendered" is the server\'s script_finished after it sent the '
            "new numbers. The floor is the hall floor (`../shared/tools/trivial_app.py`) joined by as many "
            "sessions in the same run.\n"
        ),
        "| one process | " + " | ".join(f"{n} followers" for n in (small, big)) + " |",
        "|---|---|---|",
    ]
    one = [r[f"one_{n}"] for n in (small, big)]
    rows += [
        "| slowest first render: room / floor (ms) | "
        + " | ".join(
            f"{x['join_max_ms']:.0f} / {x['floor_join_max_ms']:.0f} = "
            f"x{x['join_max_ms'] / x['floor_join_max_ms']:.2f}"
            for x in one
        )
        + " |",
        "| lecturer's change → every follower rendered: p50 / p95 / slowest (ms) | "
        + " | ".join(f"{x['lag_p50_ms']:.0f} / {x['lag_p95_ms']:.0f} / {x['lag_max_ms']:.0f}" for x in one)
        + " |",
        "| lecturer's own change → render (ms); ÷ nobody following | "
        + " | ".join(f"{x['own_ms']:.0f}; x{x['own_ms'] / r['lecturer_alone_ms']:.2f}" for x in one)
        + " |",
        "| server RSS per follower (KB) | "
        + " | ".join(f"{x['rss_per_follower_kb']:.0f}" for x in one)
        + " |",
        "| errors, exception elements | "
        + " | ".join(f"{x['errors']}, {x['exceptions']}" for x in one)
        + " |",
        "",
        f"The lecturer's change with nobody following: {r['lecturer_alone_ms']:.0f} ms.",
        "",
        f"| behind nginx, rooms in Redis, {big} followers | 1 process | 2 processes | 2 ÷ 1 |",
        "|---|---|---|---|",
    ]
    n1, n2 = r["nginx_1"], r["nginx_2"]
    rows += [
        (
            f"| slowest first render (ms) | {n1['join_max_ms']:.0f} | {n2['join_max_ms']:.0f} | "
            f"x{n2['join_max_ms'] / n1['join_max_ms']:.2f} |"
        ),
        (
            f"| propagation p95 (ms) | {n1['lag_p95_ms']:.0f} | {n2['lag_p95_ms']:.0f} | "
            f"x{n2['lag_p95_ms'] / n1['lag_p95_ms']:.2f} |"
        ),
        (
            f"| saturation (reruns/s, 20 sessions back to back) | {n1['saturation_per_s']:.1f} | "
            f"{n2['saturation_per_s']:.1f} | x{n2['saturation_per_s'] / n1['saturation_per_s']:.2f} |"
        ),
        (
            f"| errors, exception elements | {n1['errors']}, {n1['exceptions']} | {n2['errors']}, "
            f"{n2['exceptions']} | |"
        ),
    ]
    return "\n".join(rows)


if __name__ == "__main__":
    run(quick="--quick" in sys.argv)

"""Protocol-level load on a Streamlit app: S concurrent sessions over Streamlit's own websocket
protocol (no browser), each doing R reruns that set the first text input to a new sentence.
Measures per-rerun latency (send -> script_finished), the join storm (every session opens at once:
time to its first full render), errors (exception elements, disconnects) and, with --pid, the server's
RSS. Loopback only; bounded in count and time. The client sends no keepalive pings of its own (a
browser does not either), so a slow first render is measured, not turned into a disconnect.
Usage: ws_load.py URL SESSIONS RERUNS [--pid PID] [--every SECONDS] [--tokens N] [--cookie NAME=VALUE]
  --every paces each session (a person who changes something every few seconds);
  without it sessions rerun back to back (a saturation test).
  --tokens N: every sentence has exactly N words (N >= 2), all different between reruns.
  --cookie NAME=VALUE: sent with every websocket (e.g. a sticky-routing cookie of a proxy).

This is the project's copy of the shared tool ../shared/tools/ws_load.py (so that CI and an
operator checking a deployment have it), with two additions: --tokens, --cookie."""

import asyncio
import statistics
import sys
import time

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

url, S, R = sys.argv[1].rstrip("/"), int(sys.argv[2]), int(sys.argv[3])
pid = int(sys.argv[sys.argv.index("--pid") + 1]) if "--pid" in sys.argv else None
every = float(sys.argv[sys.argv.index("--every") + 1]) if "--every" in sys.argv else 0.0
tokens = int(sys.argv[sys.argv.index("--tokens") + 1]) if "--tokens" in sys.argv else None
assert tokens is None or tokens >= 2, "--tokens needs at least 2"
cookie = sys.argv[sys.argv.index("--cookie") + 1] if "--cookie" in sys.argv else None
ws_url = url.replace("http", "ws", 1) + "/_stcore/stream"
assert "127.0.0.1" in ws_url or "localhost" in ws_url, "loopback only"
lat, join, errors, exceptions = [], [], [], 0


def rss_mb(p):
    try:
        with open(f"/proc/{p}/status") as status:
            for line in status:
                if line.startswith("VmRSS"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None


async def run_script(ws, widget_states=None, page_hash=""):
    global exceptions
    m = BackMsg()
    m.rerun_script.query_string = ""
    m.rerun_script.page_script_hash = page_hash
    if widget_states:
        m.rerun_script.widget_states.widgets.extend(widget_states)
    t0 = time.perf_counter()
    await ws.send(m.SerializeToString())
    text_id, page = None, page_hash
    while True:
        raw = await asyncio.wait_for(ws.recv(), timeout=60)
        f = ForwardMsg()
        f.ParseFromString(raw)
        kind = f.WhichOneof("type")
        if kind == "new_session":
            page = f.new_session.page_script_hash or page
        if kind == "delta" and f.delta.WhichOneof("type") == "new_element":
            el = f.delta.new_element
            ek = el.WhichOneof("type")
            if ek == "exception":
                exceptions += 1
            if ek in ("text_input", "text_area") and text_id is None:
                text_id = (el.text_input if ek == "text_input" else el.text_area).id
        if kind == "script_finished":
            return time.perf_counter() - t0, text_id, page


async def session(k):
    try:
        async with websockets.connect(
            ws_url,
            subprotocols=["streamlit"],
            max_size=2**28,
            origin=url,
            open_timeout=30,
            ping_interval=None,
            additional_headers={"Cookie": cookie} if cookie else None,
        ) as ws:
            dt0, text_id, page = await run_script(ws)
            join.append(dt0)
            if text_id is None:
                errors.append("no text input found")
                return
            from streamlit.proto.WidgetStates_pb2 import WidgetState

            await asyncio.sleep(every * (k % 10) / 10)  # spread the sessions' phases
            for r in range(R):
                t_next = time.perf_counter() + every
                w = WidgetState()
                w.id = text_id
                w.string_value = (
                    f"session {k} says hello number {r} to the hall"
                    if tokens is None
                    else " ".join([f"s{k}", f"r{r}"] + [f"w{i}" for i in range(tokens - 2)])
                )
                dt, _, _ = await run_script(ws, [w], page)
                lat.append(dt)
                await asyncio.sleep(max(0.0, t_next - time.perf_counter()))
    except Exception as e:  # noqa: BLE001 - every failure is counted in the report
        errors.append(f"{type(e).__name__}: {e}"[:120])


async def main():
    before = rss_mb(pid) if pid else None
    t0 = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(session(k) for k in range(S))), timeout=600)
    wall = time.perf_counter() - t0
    after = rss_mb(pid) if pid else None
    q = statistics.quantiles(lat, n=20) if len(lat) > 1 else [float("nan")] * 19
    print(
        f"sessions={S} reruns={len(lat)}/{S * R} errors={len(errors)} exceptions={exceptions} "
        f"p50={statistics.median(lat) * 1000 if lat else float('nan'):.0f}ms p95={q[18] * 1000:.0f}ms "
        f"throughput={len(lat) / wall:.1f}/s wall={wall:.1f}s "
        f"join_p50={statistics.median(join) * 1000 if join else float('nan'):.0f}ms "
        f"join_max={max(join) * 1000 if join else float('nan'):.0f}ms"
        + (f" rss_mb={before:.0f}->{after:.0f}" if pid else "")
    )
    for e in errors[:3]:
        print("error:", e)


asyncio.run(main())

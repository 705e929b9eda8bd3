"""Streamlit sessions without a browser: the app's own websocket protocol, loopback only.

A session connects to ``/_stcore/stream``, asks for a script run, waits for
``script_finished``, and may then set the first text input (the Playground's sentence) and
run again, exactly what the browser sends when a person types a sentence. Used to open and
close many sessions cheaply (the 2-core test machine cannot run a hundred browsers).
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState


@dataclass
class Outcome:
    """What the sessions saw: exception elements, error alerts, protocol failures."""

    exceptions: int = 0
    errors: list[str] = field(default_factory=list)
    runs: int = 0


async def _run(
    ws, outcome: Outcome, widgets: list[WidgetState] | None = None, page: str = ""
) -> tuple[str | None, str]:
    """One script run; returns (the first text input's widget id, the page hash)."""
    msg = BackMsg()
    msg.rerun_script.query_string = ""
    msg.rerun_script.page_script_hash = page
    if widgets:
        msg.rerun_script.widget_states.widgets.extend(widgets)
    await ws.send(msg.SerializeToString())
    text_id = None
    while True:
        fwd = ForwardMsg()
        fwd.ParseFromString(await asyncio.wait_for(ws.recv(), timeout=60))
        kind = fwd.WhichOneof("type")
        if kind == "new_session":
            page = fwd.new_session.page_script_hash or page
        elif kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
            el = fwd.delta.new_element
            which = el.WhichOneof("type")
            if which == "exception":
                outcome.exceptions += 1
            elif which == "alert" and el.alert.format == el.alert.ERROR:
                outcome.errors.append(f"error alert: {el.alert.body[:100]}")
            elif which == "text_input" and text_id is None:
                text_id = el.text_input.id
        elif kind == "script_finished":
            outcome.runs += 1
            return text_id, page


async def _session(url: str, k: int, sentences: int, outcome: Outcome) -> None:
    ws_url = url.replace("http", "ws", 1).rstrip("/") + "/_stcore/stream"
    assert "127.0.0.1" in ws_url, "loopback only"
    try:
        async with websockets.connect(
            ws_url, subprotocols=["streamlit"], max_size=2**28, origin=url, open_timeout=30
        ) as ws:
            text_id, page = await _run(ws, outcome)
            for r in range(sentences):
                if text_id is None:
                    outcome.errors.append(f"session {k}: no text input")
                    return
                w = WidgetState()
                w.id, w.string_value = text_id, f"session {k} types sentence number {r}"
                await _run(ws, outcome, [w], page)
    except Exception as exc:  # noqa: BLE001 - any failure of a session is reported, not raised mid-gather
        outcome.errors.append(f"session {k}: {type(exc).__name__}: {exc}"[:160])


def open_and_close(url: str, first: int, count: int, *, sentences: int = 1, parallel: int = 4) -> Outcome:
    """Sessions ``first`` .. ``first + count - 1``, ``parallel`` at a time: open, type, close."""
    outcome = Outcome()

    async def main() -> None:
        gate = asyncio.Semaphore(parallel)

        async def one(k: int) -> None:
            async with gate:
                await _session(url, k, sentences, outcome)

        await asyncio.wait_for(asyncio.gather(*(one(k) for k in range(first, first + count))), timeout=600)

    # In a thread of its own: Playwright's sync API keeps an event loop running in this one,
    # and asyncio.run refuses to start a second loop in the same thread.
    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            failure.append(exc)

    worker = threading.Thread(target=run, name="ws-sessions")
    worker.start()
    worker.join()
    if failure:
        raise failure[0]
    return outcome


def rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` in MB (Linux)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")

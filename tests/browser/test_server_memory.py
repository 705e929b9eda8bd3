"""No leaks: the server's memory after 100 sessions opened and closed stays within 50 MB of
its memory after the first 10.

Each session (Streamlit's websocket protocol, loopback only, no browser) opens the
Playground, types a sentence of its own, and closes. Closed sessions stay in memory for
``server.disconnectedSessionTTL`` (120 s by default, so a student whose Wi-Fi drops comes
back to their work): what is measured is what a hall of 100 leaves behind meanwhile. A
dedicated server, so the other tests' sessions do not count.
"""

from __future__ import annotations

import gc
import time

from tests.browser.conftest import ROOT
from tests.browser.helpers import server_log, start_streamlit, stop_streamlit
from tests.browser.ws_sessions import open_and_close, rss_mb

FIRST, TOTAL = 10, 100
BUDGET_MB = 50.0


def settled_rss(pid: int) -> float:
    """RSS once the server has finished (two readings 0.5 s apart within 1 MB)."""
    gc.collect()
    last = rss_mb(pid)
    for _ in range(20):
        time.sleep(0.5)
        now = rss_mb(pid)
        if abs(now - last) < 1.0:
            return now
        last = now
    return last


def test_memory_after_100_sessions_is_within_50_mb_of_10() -> None:
    url, proc = start_streamlit(ROOT / "app.py")
    try:
        start = rss_mb(proc.pid)
        first = open_and_close(url, 0, FIRST)
        after_first = settled_rss(proc.pid)
        rest = open_and_close(url, FIRST, TOTAL - FIRST)
        after_all = settled_rss(proc.pid)
        print(
            f"server RSS: start {start:.0f} MB, after {FIRST} sessions {after_first:.0f} MB, "
            f"after {TOTAL} sessions {after_all:.0f} MB "
            f"({(after_all - after_first) / (TOTAL - FIRST):.2f} MB per extra session)"
        )
        for outcome in (first, rest):
            assert outcome.exceptions == 0 and not outcome.errors, (outcome.errors[:3], server_log(proc))
        assert first.runs == 2 * FIRST and rest.runs == 2 * (TOTAL - FIRST)  # each: opened, then a sentence
        assert after_all - after_first <= BUDGET_MB, (
            f"{after_all - after_first:.0f} MB more after {TOTAL} sessions than after {FIRST}"
        )
    finally:
        stop_streamlit(proc)

"""Small helpers for driving the Streamlit app in Playwright."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_streamlit(script: Path, port: int | None = None) -> tuple[str, subprocess.Popen]:
    """Serve ``script`` on 127.0.0.1 and wait until it is healthy; return (url, process)."""
    port = port or free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port),
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early:\n{proc.stdout.read() if proc.stdout else ''}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().decode().strip() == "ok":
                    return url, proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"streamlit did not become healthy on {url} within 60 s")


def wait_idle(page: Any, timeout: float = 30.0) -> None:
    """Wait until the script has finished its rerun (seen idle twice, 200 ms apart)."""
    deadline = time.monotonic() + timeout
    seen = 0
    time.sleep(0.2)  # let a rerun that was just triggered start
    while time.monotonic() < deadline:
        if page.locator(IDLE).count() and not page.locator("[data-testid=stStatusWidget]").count():
            seen += 1
            if seen >= 2:
                return
        else:
            seen = 0
        time.sleep(0.2)
    raise TimeoutError("the app did not become idle")


def goto_app(page: Any, url: str, *, charts: bool = True) -> None:
    page.goto(url)
    page.wait_for_selector("[data-testid=stApp]")
    if charts:
        page.wait_for_selector(".js-plotly-plot .main-svg")
    wait_idle(page)


def plotly_figures(page: Any) -> list[dict]:
    """Every chart as drawn: title, and each trace's z and the axes' tick texts."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(el => ({
            title: (el._fullLayout && el._fullLayout.title && el._fullLayout.title.text) || '',
            ticktext_x: Array.from((el._fullLayout.xaxis || {}).ticktext || []),
            ticktext_y: Array.from((el._fullLayout.yaxis || {}).ticktext || []),
            traces: (el._fullData || []).map(t => ({
                type: t.type,
                z: t.z ? Array.from(t.z, row => Array.from(row, v => (v === null || Number.isNaN(v)) ? null : v)) : null,
            })),
        }))"""
    )


def figure(page: Any, prefix: str) -> dict:
    # Streamlit's theme wraps chart titles in <b> tags; our titles hold no user text.
    found = [f for f in plotly_figures(page) if re.sub(r"<[^>]+>", "", f["title"]).startswith(prefix)]
    assert len(found) == 1, f"expected one figure titled {prefix!r}, got {[f['title'] for f in plotly_figures(page)]}"
    return found[0]


def set_text_input(page: Any, label: str, value: str) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(value)
    box.press("Enter")
    wait_idle(page)


def set_slider(page: Any, label: str, value: float) -> None:
    """Move a slider with the keyboard until its value equals ``value`` (one step per key)."""
    thumb = page.locator(f"[data-testid=stSlider] input[type=range][aria-label='{label}']").first
    thumb.focus()
    for _ in range(2000):
        now = float(thumb.input_value())
        if now == value:
            break
        thumb.press("ArrowRight" if now < value else "ArrowLeft")
    thumb.blur()  # Streamlit commits the slider when it is released or loses focus
    wait_idle(page)


def choose_matrix(page: Any, label: str) -> Any:
    """Pick the matrix to edit (``W_Q``, ``Embeddings X`` …); return its grid's locator."""
    option = page.locator("[data-testid=stRadio]").filter(has_text="Matrix to edit").locator("label").filter(
        has_text=re.compile(f"^{re.escape(label)}$"))
    if not option.locator("input").is_checked():  # clicking the chosen one would only steal the focus
        option.click()
        wait_idle(page)
    # The Playground's frames, top to bottom: the token table, then the editor of the chosen matrix.
    return page.locator("[data-testid=stDataFrame]").nth(1)


def edit_grid_cell(page: Any, grid: Any, row: int, col: int, value: str, before_commit: Any = None) -> None:
    """Type ``value`` into data cell (row, col) of the data editor ``grid`` (a locator).

    The grid is a canvas with an accessible table behind it. Focusing that table
    and pressing Enter opens the editor of the top-left cell (the row label);
    Escape closes it and keeps the selection there; the arrow keys then move to
    the target (one step right past the label column) and Enter opens it.
    """
    grid.scroll_into_view_if_needed()
    # The overlay editor; a closed one can linger in the DOM hidden, so only a visible one counts.
    editor = page.locator("[data-testid=portal] textarea:visible, [data-testid=portal] input:visible, "
                          ".gdg-input:visible").first
    grid.locator("[id^=glide-cell-]").first.focus()
    page.keyboard.press("Enter")
    editor.wait_for(timeout=5000)
    page.keyboard.press("Escape")
    for _ in range(col + 1):
        page.keyboard.press("ArrowRight")
    for _ in range(row):
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    editor.wait_for(timeout=5000)
    editor.fill(value)
    if before_commit is not None:
        before_commit()
    page.keyboard.press("Enter")
    wait_idle(page)


def error_elements(page: Any) -> list[str]:
    loc = page.locator("[data-testid=stException], [data-testid=stAlertContentError]")
    return [loc.nth(i).inner_text() for i in range(loc.count())]


def screenshot(page: Any, path: Path, height: int | None = None) -> None:
    """Save the page; Streamlit scrolls inside its own container, so grow the viewport to fit."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if height is None:
        height = page.evaluate(
            "() => Math.max(...Array.from(document.querySelectorAll('[data-testid=stMain], section.main, "
            "[data-testid=stAppViewContainer]'), e => e.scrollHeight), 1000)"
        )
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": min(int(height), 12000)})
    time.sleep(0.8)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)

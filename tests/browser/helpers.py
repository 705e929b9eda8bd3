"""Helpers for driving a Streamlit app in headless Chromium with Playwright.

Everything here works on what the browser shows (the DOM, Plotly's drawn data, the
data editor's accessibility table), never on server internals. Typical use::

    url, proc = start_streamlit(ROOT / "app.py")     # or the ``streamlit_app`` fixture
    goto_app(page, url)                              # loaded, idle, charts drawn
    set_text_input(page, "Sentence", "the cat sat")  # type + Enter, wait for the rerun
    figs = plotly_figures(page)                      # titles, z, axes as drawn

Waiting: every interaction helper notes how many script runs the page has seen,
acts, waits for a new run to start (up to ``start_grace`` ms: an action that changes
nothing starts none) and then for the app to settle, see :func:`wait_idle`.
Timeouts are in milliseconds, like Playwright's.
"""

from __future__ import annotations

import atexit
import json
import math
import re
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from deploy.serve import free_port, start_backend, stop_process, tail, wait_healthy

ROOT = Path(__file__).resolve().parents[2]

APP = "[data-testid=stApp]"
IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"
RUNNING_ICON = "[data-testid=stStatusWidgetRunningIcon]"
# The overlay editor of the data editor; a closed one can linger in the DOM hidden, so only a visible
# one counts.
GRID_EDITOR = (
    "[data-testid=portal] .gdg-input:visible, [data-testid=portal] textarea:visible, "
    "[data-testid=portal] input:visible, .gdg-input:visible"
)


# --------------------------------------------------------------------------------------------- the server


def start_streamlit(
    script: Path, port: int | None = None, *, timeout: float = 60.0, extra_args: list[str] | None = None
) -> tuple[str, subprocess.Popen]:
    """Serve ``script`` from the repo root on 127.0.0.1 and wait until it is healthy: the deployment's
    own :func:`deploy.serve.start_backend`, its log in a temporary directory.

    Returns ``(base_url, process)``. The server runs in its own process group with its output in a
    log file (``process.log_path``), so it can never block on a full pipe; if it exits or is not
    healthy within ``timeout`` seconds, it is stopped and ``RuntimeError`` says why, with the tail of
    its log. Stop it with :func:`stop_streamlit` (also registered to run at interpreter exit).
    """
    port = port or free_port()
    prefix = Path(tempfile.mkdtemp(prefix=f"streamlit-{port}-"))
    backend = start_backend(script, port, prefix, args=tuple(extra_args or ()))
    backend.proc.log_path = backend.log  # type: ignore[attr-defined]
    atexit.register(stop_streamlit, backend.proc)
    try:
        wait_healthy(backend.url, backend.proc, backend.log, timeout)
    except RuntimeError:
        stop_streamlit(backend.proc)
        raise
    return backend.url, backend.proc


def stop_streamlit(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """Stop a server from :func:`start_streamlit` and its children (its process group): TERM, then KILL."""
    stop_process(proc, timeout=timeout)


def server_log(proc: subprocess.Popen, chars: int = 4000) -> str:
    """The tail of a server's log (for failure messages)."""
    path = getattr(proc, "log_path", None)
    return f"--- server log ---\n{tail(path, chars) if path else ''}"


# -------------------------------------------------------------------------------------------- waiting

# Installs (once per document) a MutationObserver that counts script runs: every change of
# stApp's data-test-script-state into a busy state. Returns the count so far.
_RUNS_JS = """() => {
  const h = window.__stHarness || (window.__stHarness = {runs: 0, installed: false});
  if (!h.installed) {
    const busy = s => s === 'running' || s === 'rerunRequested' || s === 'stopRequested';
    new MutationObserver(records => {
      for (const r of records) {
        // r.oldValue is the state before this change; the state after it is the next record's
        // oldValue, or the current value for the last record of the element.
        const i = records.indexOf(r);
        const later = records.slice(i + 1).find(q => q.target === r.target);
        const now = later ? later.oldValue : r.target.getAttribute('data-test-script-state');
        if (busy(now) && !busy(r.oldValue)) h.runs += 1;
      }
    }).observe(document.documentElement, {subtree: true, attributes: true,
                                         attributeFilter: ['data-test-script-state'],
                                         attributeOldValue: true});
    h.installed = true;
  }
  return h.runs;
}"""

#: The app's state as the browser shows it (script, connection, running icon, runs counted so far).
STATE_JS = """() => {
  const app = document.querySelector('[data-testid=stApp]');
  return {
    script: app ? app.getAttribute('data-test-script-state') : null,
    connection: app ? app.getAttribute('data-test-connection-state') : null,
    runningIcon: !!document.querySelector('[data-testid=stStatusWidgetRunningIcon]'),
    runs: window.__stHarness ? window.__stHarness.runs : null,
  };
}"""

#: Script states in which the app is idle.
IDLE_STATES = ("notRunning", "compilationError")
#: True once some Plotly chart has drawn its data (mounted is not enough).
CHART_DRAWN_JS = (
    "() => Array.from(document.querySelectorAll('.js-plotly-plot'))"
    ".some(e => e._fullData && e._fullData.length)"
)


def script_runs(page: Any) -> int:
    """How many script runs (full or fragment) this page has seen start since the counter was installed.

    Take it before an action and pass it to ``wait_idle(page, since=...)``: that waits for
    the rerun the action causes instead of mistaking the quiet moment before it for idle.
    """
    return int(page.evaluate(_RUNS_JS))


def wait_idle(
    page: Any,
    timeout: float = 30_000,
    *,
    since: int | None = None,
    start_grace: float = 2_000,
    settle: float = 150,
) -> None:
    """Wait until the app has finished its script run and stays finished.

    Idle means: ``stApp`` has ``data-test-script-state`` notRunning (or compilationError),
    is CONNECTED, and no running indicator (``stStatusWidgetRunningIcon``) is shown, seen on
    two polls ``settle`` ms apart with no run starting in between (the attribute flickers
    between fragment and full reruns and while a debounced widget commits).

    ``since``: a :func:`script_runs` count taken before the action; first wait up to
    ``start_grace`` ms for a run to start after it (an action that changes nothing starts
    none, then this goes on after the grace). Without ``since``, pause ``settle`` ms first so
    that a rerun triggered just before can start. Raises ``TimeoutError`` with the last state.
    """
    deadline = time.monotonic() + timeout / 1000
    page.evaluate(_RUNS_JS)  # the counter, if this document has none yet
    if since is not None:
        grace = min(deadline, time.monotonic() + start_grace / 1000)
        while time.monotonic() < grace:
            st = page.evaluate(STATE_JS)
            if st["runs"] > since or st["script"] not in IDLE_STATES:
                break
            time.sleep(0.02)
    else:
        time.sleep(settle / 1000)
    seen, runs, st = 0, None, {}
    while time.monotonic() < deadline:
        st = page.evaluate(STATE_JS)
        idle = st["script"] in IDLE_STATES and st["connection"] == "CONNECTED" and not st["runningIcon"]
        if idle and (seen == 0 or st["runs"] == runs):
            seen += 1
            if seen >= 2:
                return
        else:
            seen = 0
        runs = st["runs"]
        time.sleep(settle / 1000 if idle else 0.03)
    raise TimeoutError(f"the app did not become idle within {timeout:.0f} ms; last seen: {st}")


# ----------------------------------------------------------------------------------------- navigation


def goto_app(page: Any, url: str, *, charts: bool = True, timeout: float = 60_000) -> None:
    """Open ``url``, wait until the app is idle and (``charts=True``) a Plotly chart is drawn."""
    page.goto(url, wait_until="domcontentloaded", timeout=timeout)
    page.wait_for_selector(APP, timeout=timeout)
    script_runs(page)
    if charts:
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=timeout)
    wait_idle(page, timeout)
    if charts:  # drawn, not merely mounted
        page.wait_for_function(CHART_DRAWN_JS, timeout=timeout)


# ------------------------------------------------------------------------------------------ reading

_FIGURES_JS = """() => {
  const num = v => (typeof v === 'number' && Number.isNaN(v)) ? null : v;
  const list = v => (v === undefined || v === null || typeof v === 'string') ? null : Array.from(v, num);
  const grid = v => {
    if (v === undefined || v === null) return null;
    return Array.from(v, row => (row !== null && typeof row === 'object' && typeof row.length === 'number')
      ? Array.from(row, num) : num(row));
  };
  return Array.from(document.querySelectorAll('.js-plotly-plot'), el => {
    const L = el._fullLayout || {};
    const axis = (id, letter) => L[String(id || letter).replace(/^([xy])/, '$1axis')] || {};
    const ticks = a => a.ticktext ? Array.from(a.ticktext, String) : null;
    return {
      title: (L.title && L.title.text) || '',
      ticktext_x: Array.from((L.xaxis || {}).ticktext || [], String),
      ticktext_y: Array.from((L.yaxis || {}).ticktext || [], String),
      traces: (el._fullData || []).map(t => ({
        type: t.type,
        name: t.name === undefined ? null : t.name,
        z: grid(t.z),
        x: list(t.x),
        y: list(t.y),
        ticktext_x: ticks(axis(t.xaxis, 'x')),
        ticktext_y: ticks(axis(t.yaxis, 'y')),
      })),
    };
  });
}"""


def plotly_figures(page: Any) -> list[dict]:
    """Every ``.js-plotly-plot`` on the page, in page order, as drawn (``_fullData``/``_fullLayout``).

    Each is ``{"title", "ticktext_x", "ticktext_y", "traces": [{"type", "name", "z", "x", "y",
    "ticktext_x", "ticktext_y"}]}``: ``z`` as nested lists (typed arrays converted, NaN → None),
    ``x``/``y`` as lists or None, a trace's ``ticktext_*`` from the axes it is drawn on (None
    when the axis has no tick texts), the figure's ``ticktext_*`` from the first axes ([] if none).
    Titles are raw Plotly text (Streamlit's theme may wrap them in ``<b>``).
    """
    return page.evaluate(_FIGURES_JS)


def figure(page: Any, prefix: str) -> dict:
    """The one figure whose title (tags stripped) starts with ``prefix``."""
    # Streamlit's theme wraps chart titles in <b> tags; our titles hold no user text.
    found = [f for f in plotly_figures(page) if re.sub(r"<[^>]+>", "", f["title"]).startswith(prefix)]
    assert len(found) == 1, (
        f"expected one figure titled {prefix!r}, got {[f['title'] for f in plotly_figures(page)]}"
    )
    return found[0]


def error_elements(page: Any) -> list[str]:
    """Texts of every exception box (``stException``) and error alert (``stAlertContentError``)."""
    loc = page.locator("[data-testid=stException], [data-testid=stAlertContentError]")
    return [loc.nth(i).inner_text() for i in range(loc.count())]


# ------------------------------------------------------------------------------------------ widgets


def widget(page: Any, testid: str, label: str) -> Any:
    """The one ``[data-testid=<testid>]`` element whose widget label is exactly ``label``."""
    exact = re.compile(rf"^\s*{re.escape(label)}\s*$")
    loc = page.locator(f"[data-testid={testid}]").filter(
        has=page.locator("[data-testid=stWidgetLabel]").filter(has_text=exact)
    )
    n = loc.count()
    if n != 1:
        labels = page.locator(f"[data-testid={testid}] [data-testid=stWidgetLabel]").all_inner_texts()
        raise LookupError(
            f"expected one {testid} labelled {label!r}, found {n}; labels on the page: {labels}"
        )
    return loc


def set_text_input(page: Any, label: str, value: str, *, timeout: float = 30_000) -> None:
    """Type ``value`` into the ``stTextInput`` labelled ``label``, press Enter, wait for the rerun."""
    box = widget(page, "stTextInput", label).locator("input")
    runs = script_runs(page)
    box.fill(value)
    box.press("Enter")  # fill() alone does not submit
    wait_idle(page, timeout, since=runs)


_SET_RANGE_JS = """(el, v) => {
  Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(el, String(v));
  el.dispatchEvent(new Event('input', {bubbles: true}));
  el.dispatchEvent(new Event('change', {bubbles: true}));
  return el.value;
}"""


def set_slider(page: Any, label: str, value: float, *, timeout: float = 30_000) -> None:
    """Move the (single-thumb) ``stSlider`` labelled ``label`` to ``value``; one key press commits it.

    Streamlit's slider (React Aria) commits at the end of every keyboard move, so pressing an
    arrow key N times sends N values and N reruns that can land while later keys are still
    being pressed (and move the thumb back). Instead: the thumb's range input is set one step
    short of ``value`` (this moves the thumb without committing), then ONE real ArrowRight
    (or ArrowLeft) commits ``value``. The value is checked before and after the rerun, with
    arrow-key corrections if needed. ``ValueError`` for a value off the slider's range or step
    grid; ``AssertionError`` if the slider does not end at ``value``.
    """
    thumb = widget(page, "stSlider", label).locator("input[type=range]").first
    lo, hi = float(thumb.get_attribute("min")), float(thumb.get_attribute("max"))
    step = float(thumb.get_attribute("step") or 1)
    k = (value - lo) / step
    if not lo - step / 1e6 <= value <= hi + step / 1e6 or abs(k - round(k)) > 1e-6:
        raise ValueError(f"slider {label!r} cannot take {value}: range [{lo}, {hi}], step {step}")

    def now() -> float:
        return float(thumb.input_value())

    def at(v: float) -> bool:
        return abs(now() - v) <= step / 1e6

    for attempt in range(3):
        if at(value):
            return
        runs = script_runs(page)
        thumb.focus()
        if abs(now() - value) > 1.5 * step and hi - lo >= step:
            key, short = (
                ("ArrowRight", value - step)
                if value - step >= lo - step / 1e6
                else ("ArrowLeft", value + step)
            )
            thumb.evaluate(_SET_RANGE_JS, f"{short:.12g}")
            if at(short):
                page.keyboard.press(key)
        for _ in range(8):  # one step away (or the shortcut did not take): plain arrow keys
            if at(value):
                break
            page.keyboard.press("ArrowRight" if now() < value else "ArrowLeft")
        thumb.blur()  # later key presses must not move it
        wait_idle(page, timeout, since=runs)
        page.wait_for_timeout(150)  # a value sent back by the rerun lands here, if any
    if not at(value):
        raise AssertionError(f"slider {label!r} is at {now()}, not {value}")


_SET_RANGE_QUIETLY_JS = """(el, v) => {
  Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(el, String(v));
  return el.value;
}"""


def live_slider(page: Any, label: str) -> Any:
    """The nudge panel's live slider (``ui/live_slider.js``, in a shadow root that Playwright's CSS
    selectors pierce) whose label is exactly ``label``."""
    exact = re.compile(rf"^\s*{re.escape(label)}\s*$")
    loc = page.locator(".live").filter(has=page.locator("label").filter(has_text=exact))
    if loc.count() != 1:
        raise LookupError(
            f"expected one live slider labelled {label!r}, found {loc.count()}: "
            f"{page.locator('.live label').all_inner_texts()}"
        )
    return loc


def set_live_slider(page: Any, label: str, value: float, *, timeout: float = 30_000) -> None:
    """Move the live slider labelled ``label`` to ``value`` as a keyboard user would finish it: the
    thumb is put one step short without an event, then ONE real arrow key sends ``value``."""
    thumb = live_slider(page, label).locator("input[type=range]")
    lo, hi = float(thumb.get_attribute("min")), float(thumb.get_attribute("max"))
    step = float(thumb.get_attribute("step") or 1)
    if not lo <= value <= hi:
        raise ValueError(f"live slider {label!r} cannot take {value}: range [{lo}, {hi}]")
    key, short = ("ArrowRight", value - step) if value - step >= lo else ("ArrowLeft", value + step)
    runs = script_runs(page)
    thumb.evaluate(_SET_RANGE_QUIETLY_JS, f"{short:.12g}")
    thumb.focus()
    page.keyboard.press(key)
    thumb.blur()
    wait_idle(page, timeout, since=runs)
    shown = float(live_slider(page, label).locator("output").inner_text())
    if abs(shown - value) > step / 2:
        raise AssertionError(f"live slider {label!r} shows {shown}, not {value}")


def _grid_cell_texts(grid: Any) -> dict[tuple[int, int], str]:
    """{(column, row): text} of the cells the grid's accessibility table holds (the visible ones)."""
    cells = grid.evaluate("""g => Array.from(g.querySelectorAll('td[id^=glide-cell-]'), td => {
        const m = td.id.match(/^glide-cell-(\\d+)-(\\d+)$/); return [+m[1], +m[2], td.textContent]; })""")
    return {(c, r): text for c, r, text in cells}


def _same_cell_value(shown: str, typed: str) -> bool | None:
    """Does the grid text ``shown`` display ``typed``? Numbers match up to the digits shown;
    None when they cannot be compared (a formatted display such as ``5 €``)."""
    if shown.strip() == typed.strip():
        return True
    try:
        s, t = float(shown.replace(",", "")), float(typed)
    except ValueError:
        return None
    if not (math.isfinite(s) and math.isfinite(t)):
        return s == t
    digits = len(shown.split(".")[1]) if "." in shown and "e" not in shown.lower() else 0
    return abs(s - t) <= 0.5 * 10.0**-digits + 1e-9 * max(1.0, abs(t))


def grid_columns(grid: Any) -> list[str]:
    """The header texts of a data editor / dataframe grid, index columns (empty headers) included."""
    return grid.locator("table[role=grid] th[role=columnheader]").all_text_contents()


def edit_data_editor_cell(
    page: Any,
    editor_index: int,
    row: int,
    col: int | str,
    value: str,
    *,
    index_columns: int | None = None,
    verify: bool = True,
    timeout: float = 30_000,
) -> str:
    """Type ``value`` into one cell of the ``editor_index``-th grid and commit it; return the cell's text.

    ``editor_index`` counts every ``[data-testid=stDataFrame]`` on the page in order (read-only
    ``st.dataframe`` grids too). ``row`` is the 0-based data row. ``col`` is either the column's
    header text (``str``) or its 0-based position among the data columns (``int``), that is after
    the index columns; ``index_columns`` defaults to the number of leading columns with an empty
    header, which is what Streamlit shows for an unnamed index (0 with ``hide_index=True``; pass
    it for a named index).

    The grid is a canvas; behind it sits an accessibility table of the visible cells
    (``glide-cell-<column>-<row>``). Focusing its first cell and pressing Enter opens that cell's
    editor; Escape closes it and leaves the selection there (Control+Home makes sure it is the
    first cell even if the grid kept an earlier selection); the arrow keys move to the target,
    Enter opens its editor, the value is typed, and Enter commits it, which reruns the app.
    With ``verify``, the cell's text in the grid must then show ``value`` (numbers compared to
    the digits the grid displays) or ``AssertionError`` is raised; pass ``verify=False`` when
    the app is expected to reject the value.
    """
    grid = page.locator("[data-testid=stDataFrame]").nth(editor_index)
    grid.wait_for(timeout=timeout)
    grid.scroll_into_view_if_needed()
    headers = grid_columns(grid)
    if index_columns is None:
        index_columns = next((i for i, h in enumerate(headers) if h.strip()), len(headers))
    if isinstance(col, str):
        if headers.count(col) != 1:
            raise LookupError(
                f"expected one column headed {col!r} in grid {editor_index}, headers: {headers}"
            )
        target_col = headers.index(col)
    else:
        target_col = index_columns + col
    if not 0 <= target_col < len(headers):
        raise IndexError(
            f"column {col!r} is outside grid {editor_index} (headers {headers}, "
            f"{index_columns} index column(s))"
        )
    editor = page.locator(GRID_EDITOR).first
    if editor.count():  # an editor left open elsewhere would swallow the keys
        page.keyboard.press("Escape")
    grid.locator("#glide-cell-0-0").focus()
    page.keyboard.press("Enter")
    editor.wait_for(timeout=5000)
    page.keyboard.press("Escape")
    editor.wait_for(state="hidden", timeout=5000)
    page.keyboard.press("Control+Home")
    for _ in range(target_col):
        page.keyboard.press("ArrowRight")
    for _ in range(row):
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    editor.wait_for(timeout=5000)
    before = _grid_cell_texts(grid).get((target_col, row))
    opened = editor.input_value()
    if verify and before is not None and opened.strip() and _same_cell_value(before, opened) is False:
        page.keyboard.press("Escape")
        raise AssertionError(
            f"opened a cell holding {opened!r}, but cell ({row}, {col!r}) shows {before!r}: "
            "the keyboard did not reach the intended cell"
        )
    runs = script_runs(page)
    editor.fill(value)
    page.keyboard.press("Enter")
    wait_idle(page, timeout, since=runs)
    shown = _grid_cell_texts(grid).get((target_col, row))
    if verify and (shown is None or not _same_cell_value(shown, value)):
        raise AssertionError(
            f"after the edit, cell ({row}, {col!r}) of grid {editor_index} shows {shown!r}, "
            f"not {value!r} (verify=False if the app may reject or reformat it)"
        )
    return shown if shown is not None else ""


# --------------------------------------------------------------------------- the Attention lab's own


def set_selectbox(page: Any, label: str, option: str, *, timeout: float = 30_000) -> None:
    """Choose ``option`` in the selectbox labelled ``label`` as a person does: open it, click the option.

    Streamlit's selectbox is a combobox (an ``input`` with the label as ``aria-label``) whose
    options appear in a listbox with role ``option``.
    """
    since = script_runs(page)
    page.locator(f"[data-testid=stSelectbox] input[aria-label={json.dumps(label)}]").click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_idle(page, timeout, since=since)


def choose_matrix(page: Any, label: str) -> Any:
    """Pick the matrix to edit (``W_Q``, ``Embeddings X`` …); return its grid's locator."""
    option = page.locator(".st-key-edit_matrix label").filter(has_text=re.compile(f"^{re.escape(label)}$"))
    if not option.locator("input").is_checked():  # clicking the chosen one would only steal the focus
        option.click()
        wait_idle(page)
    # The Playground's frames, top to bottom: the editor of the chosen matrix, then the token table.
    return page.locator("[data-testid=stDataFrame]").nth(0)


def set_cell(page: Any, matrix: str, row: int, col: int, value: str, before_commit: Any = None) -> None:
    """Set one cell of the Playground's ``matrix`` (``W_Q``, ``Embeddings X`` …) as a person does: choose
    the matrix, its row and column in the nudge panel, type the value into "exact value", press Enter."""
    choose_matrix(page, matrix)
    for label, option in (("row", row), ("column", col)):
        box = page.locator(f"[data-testid=stSelectbox] input[aria-label={json.dumps(label)}]")
        current = box.locator("xpath=ancestor::*[@data-testid='stSelectbox']").inner_text()
        if str(option) not in current.split() and not current.strip().endswith(str(option)):
            since = script_runs(page)
            box.click()
            options = page.get_by_role("option")
            options.nth(option).click()
            wait_idle(page, since=since)
    box = page.locator("[data-testid=stTextInput] input[aria-label='exact value']")
    box.fill(value)
    if before_commit is not None:
        before_commit()
    since = script_runs(page)
    box.press("Enter")
    wait_idle(page, since=since)


def edit_grid_cell(page: Any, grid: Any, row: int, col: int, value: str, before_commit: Any = None) -> None:
    """Type ``value`` into data cell (row, col) of the data editor ``grid`` (a locator).

    The grid is a canvas with an accessible table behind it. Focusing that table
    and pressing Enter opens the editor of the top-left cell (the row label);
    Escape closes it and keeps the selection there; the arrow keys then move to
    the target (one step right past the label column) and Enter opens it.
    """
    grid.scroll_into_view_if_needed()
    # The overlay editor; a closed one can linger in the DOM hidden, so only a visible one counts.
    editor = page.locator(
        "[data-testid=portal] textarea:visible, [data-testid=portal] input:visible, .gdg-input:visible"
    ).first
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


# ------------------------------------------------------------------------------------------- images


def screenshot(page: Any, path: Path | str, height: int | None = None) -> Path:
    """Save a full-page PNG at ``path`` (relative paths are under the repo root, e.g. ``docs/x.png``).

    Streamlit scrolls inside its own container, so a plain full-page shot would cut the app
    at the viewport: the viewport grows to the content's height first (at most 12000 px),
    then returns to its size. Returns the path written.
    """
    path = Path(path)
    if not path.is_absolute():
        path = ROOT / path
    path.parent.mkdir(parents=True, exist_ok=True)
    if height is None:
        height = page.evaluate(
            "() => Math.max(...Array.from(document.querySelectorAll('[data-testid=stMain], section.main, "
            "[data-testid=stAppViewContainer]'), e => e.scrollHeight), 1000)"
        )
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": min(int(height), 12000)})
    page.wait_for_timeout(800)  # Plotly redraws on resize
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)
    return path


# ---------------------------------------------------------------------- several pages at once


def press_text_input(page: Any, label: str, value: str) -> None:
    """Type ``value`` into the ``stTextInput`` labelled ``label`` and press Enter, WITHOUT waiting for the
    rerun (:func:`set_text_input` waits). For acting on several pages at once: see :func:`wait_all_shown`."""
    box = widget(page, "stTextInput", label).locator("input")
    box.fill(value)
    box.press("Enter")  # fill() alone does not submit


def press_cell(page: Any, matrix: str, row: int, col: int, value: str) -> None:
    """:func:`set_cell` up to its Enter in "exact value", WITHOUT waiting for that rerun; see
    :func:`wait_all_shown`. The cell's text can be read after the rerun with :func:`grid_cell_text`.

    The row and column are chosen (each waiting for its rerun) only when the nudge panel's live slider,
    labelled ``<matrix>[row, col]``, says another cell is chosen.
    """
    choose_matrix(page, matrix)
    chosen = re.compile(rf"^\s*{re.escape(f'{matrix}[{row}, {col}]')}\s*$")
    if page.locator(".live label").filter(has_text=chosen).count() != 1:
        for label, option in (("row", row), ("column", col)):
            since = script_runs(page)
            page.locator(f"[data-testid=stSelectbox] input[aria-label={json.dumps(label)}]").click()
            page.get_by_role("option").nth(option).click()
            wait_idle(page, since=since)
    box = page.locator("[data-testid=stTextInput] input[aria-label='exact value']")
    box.fill(value)
    box.press("Enter")


def wait_all_shown(pages: list[Any], shown: Any, timeout: float = 60_000) -> None:
    """Page after page, wait until ``shown(i, page)`` is true, then until that page is idle (wait_idle).

    For actions on several pages at once: act on every page first (:func:`press_text_input`,
    :func:`press_cell`, a click), then wait for all of them here, so that the sessions' reruns
    overlap. ``shown`` must tell from the page's content that the rerun its action causes has
    reached it (a chart that changed, an element of the new page). A :func:`script_runs` count
    cannot: a browser starved of CPU (several sessions rerunning on a small machine) may take in a
    whole run's messages at once and render them in one go, so that the running state never reaches
    the DOM and the count does not move (``wait_idle(since=...)`` then waits out its grace and goes on,
    right only if the run has arrived by then). Raises ``TimeoutError`` naming the page.
    """
    for i, page in enumerate(pages):
        deadline = time.monotonic() + timeout / 1000
        while not shown(i, page):
            if time.monotonic() > deadline:
                raise TimeoutError(f"page {i}: its rerun did not show within {timeout:.0f} ms")
            time.sleep(0.05)
        wait_idle(page, max(1000.0, (deadline - time.monotonic()) * 1000))


def grid_cell_text(grid: Any, row: int, col: int, *, index_columns: int = 1) -> str | None:
    """The text data cell (``row``, ``col``) of a grid (a ``stDataFrame`` locator) shows, after its
    ``index_columns`` leading index columns; None if the cell is not in the grid's accessibility table
    (only the visible cells are)."""
    return _grid_cell_texts(grid).get((index_columns + col, row))


def goto_all(pages: list[Any], urls: list[str], *, timeout: float = 60_000) -> None:
    """:func:`goto_app` for several pages at once: every page starts loading its url, then each is
    waited for in turn (the app idle, a Plotly chart drawn)."""
    for page, url in zip(pages, urls, strict=True):
        page.goto(url, wait_until="commit", timeout=timeout)
    for page in pages:
        page.wait_for_selector(APP, timeout=timeout)
        script_runs(page)
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=timeout)
        wait_idle(page, timeout)
        page.wait_for_function(CHART_DRAWN_JS, timeout=timeout)

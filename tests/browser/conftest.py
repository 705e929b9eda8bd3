"""Browser tests: the app served on 127.0.0.1, driven by Playwright in Debian's Chromium.

Fixtures
  ``streamlit_app``      session: ``app.py`` served (``start_streamlit``), yields its base URL.
  ``app_url``            the same URL (older name, kept for the existing tests).
  ``streamlit_factory``  session: ``start(script) -> url`` for other scripts, all stopped at the end.
  ``browser``            session: headless Chromium from /usr/bin/chromium (never ``playwright install``).
  ``page``               function: a fresh context (1400 x 1000) and page, closed after the test.
  ``hall``               function: the lecture-hall deployment (``deploy/serve.py``): nginx in front of
                         two app processes, rooms in a redis-server; stopped after the test.

Every test in this folder is marked ``browser``. Without Chromium or Playwright the tests
are skipped with the reason shown, except in CI (CI=true), where that is a failure.
A failing test that used ``page`` gets a screenshot, the page's console errors and the
tail of the server's log in its report.
"""

from __future__ import annotations

import importlib.util
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.helpers import server_log, start_streamlit, stop_streamlit

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "ROOT", "start_streamlit", "stop_streamlit"]

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
_SERVERS: pytest.StashKey[list] = pytest.StashKey()
_CONSOLE: pytest.StashKey[list] = pytest.StashKey()


def _missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM}: apt-get install chromium"
    if importlib.util.find_spec("playwright") is None:
        return (
            "no playwright Python package: pip install -r requirements-dev.txt (never `playwright install`)"
        )
    return None


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # This hook sees the whole session's items: touch only the ones in this folder.
    reason = _missing()
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.browser)
            if reason and not _in_ci():
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session", autouse=True)
def _browser_required() -> None:
    """Before any other fixture here: in CI a missing browser fails every test (locally they are skipped)."""
    reason = _missing()
    if reason:
        if _in_ci():
            pytest.fail(f"CI=true and the browser tests cannot run: {reason}", pytrace=False)
        pytest.skip(reason)


@pytest.fixture(scope="session")
def streamlit_factory(request: pytest.FixtureRequest) -> Iterator[Callable[[Path], str]]:
    """``start(script)``: serve a script from the repo root and return its base URL.

    Every server started is stopped at the end of the session.
    """
    procs = request.config.stash.setdefault(_SERVERS, [])
    mine: list = []

    def start(script: Path) -> str:
        url, proc = start_streamlit(Path(script))
        procs.append(proc)
        mine.append(proc)
        return url

    yield start
    for proc in mine:
        stop_streamlit(proc)
        procs.remove(proc)


@pytest.fixture(scope="session")
def streamlit_app(streamlit_factory: Callable[[Path], str]) -> str:
    """``app.py`` served on 127.0.0.1 for the whole session; the base URL (no trailing slash)."""
    return streamlit_factory(ROOT / "app.py")


@pytest.fixture(scope="session")
def app_url(streamlit_app: str) -> str:
    return streamlit_app


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    yield from _page(browser, request, {"width": 1400, "height": 1000})


@pytest.fixture
def projector_page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A page the size of a lecture hall's projector, 1280×720."""
    yield from _page(browser, request, {"width": 1280, "height": 720})


def _page(browser: Any, request: pytest.FixtureRequest, viewport: dict[str, int]) -> Iterator[Any]:
    """A fresh browser context (no shared cookies or storage) and its page; page errors are kept for the
    failure report."""
    context = browser.new_context(viewport=viewport)
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    console = request.node.stash.setdefault(_CONSOLE, [])
    pg.on("pageerror", lambda exc: console.append(f"pageerror: {exc}"))
    pg.on(
        "console",
        lambda msg: console.append(f"console.{msg.type}: {msg.text}") if msg.type == "error" else None,
    )
    yield pg
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    rep = outcome.get_result()
    funcargs = getattr(item, "funcargs", {})
    page = funcargs.get("page") or funcargs.get("projector_page")
    if rep.when != "call" or not rep.failed or page is None:
        return
    lines = []
    try:
        shots = Path(tempfile.gettempdir()) / "browser-test-failures"
        shots.mkdir(parents=True, exist_ok=True)
        path = shots / (re.sub(r"[^\w.-]+", "_", item.nodeid)[-120:] + ".png")
        page.screenshot(path=str(path), full_page=True)
        lines.append(f"screenshot: {path}")
    except Exception as exc:  # noqa: BLE001 - the page may be gone; the report matters more
        lines.append(f"no screenshot: {exc!r}")
    lines += item.stash.get(_CONSOLE, [])[-20:]
    for proc in item.config.stash.get(_SERVERS, []):
        lines.append(f"server pid {proc.pid}, exit code {proc.poll()}:\n{server_log(proc, 2000)}")
    rep.sections.append(("browser", "\n".join(lines)))


@pytest.fixture
def hall() -> Iterator[Any]:
    """Two app processes behind the real nginx, rooms in the real redis-server (Debian's packages): skipped
    with the reason locally without them, a failure in CI (CI=true)."""
    from deploy.serve import nginx_binary, redis_binary, start_hall

    missing = [
        name for name, found in (("nginx", nginx_binary()), ("redis-server", redis_binary())) if not found
    ]
    if missing:
        reason = f"no {' or '.join(missing)} (Debian: apt-get install -y nginx redis-server)"
        if _in_ci():
            pytest.fail(f"CI=true and the deployment tests cannot run: {reason}", pytrace=False)
        pytest.skip(reason)
    h = start_hall(2)
    try:
        yield h
    finally:
        h.stop()

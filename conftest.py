"""Before anything is collected: which test files can this interpreter run?

The core (``attention_core``) needs NumPy alone, and so do its tests: they run from any interpreter
with NumPy and pytest. The app's tests need Streamlit and Plotly, the browser tests Playwright, some
tests Hypothesis, Redis's client or the QR library. A test file whose imports need a package this
interpreter lacks (or has at the wrong version, read from ``requirements-dev.txt``) is not collected,
instead of failing with a traceback of its own (it is collected as no tests); the run then ends with
one line naming what is missing and the command that runs the whole suite, and exit code 4 (so such
a run is never green).
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
#: The distribution an import needs (project folders that import Streamlit count as Streamlit).
NEEDS = {
    "streamlit": "streamlit",
    "plotly": "plotly",
    "pandas": "streamlit",
    "pyarrow": "streamlit",
    "playwright": "playwright",
    "axe_playwright_python": "axe-playwright-python",
    "hypothesis": "hypothesis",
    "colorspacious": "colorspacious",
    "redis": "redis",
    "segno": "segno",
    "gguf": "gguf",
    "tokenizers": "tokenizers",
    "websockets": "streamlit",
    "ui": "streamlit",
    "pages": "streamlit",
    "benchmarks": "streamlit",
    "rooms": "redis",
    "tests": "streamlit",
}  # (deploy.serve: the standard library)
_IMPORT = re.compile(r"^\s*(?:from|import)\s+([A-Za-z_][\w]*)(?:\.(\w+))?", re.MULTILINE)
#: A test file that needs a package its imports do not show says so in a line ``# needs: name, name``.
_DECLARED = re.compile(r"^# needs: (.+)$", re.MULTILINE)
#: Test helpers that import only the core (a test importing them needs nothing more).
CORE_HELPERS = {"redis_server"}
_UNMET: pytest.StashKey[dict[str, str]] = pytest.StashKey()
_SKIPPED: pytest.StashKey[list[str]] = pytest.StashKey()


def unmet_requirements(path: Path) -> list[str]:
    """The requirements of ``path`` (and of the files it includes with ``-r``) that this interpreter
    does not satisfy, as "name (not installed)" or "name X.Y (wants SPEC)"."""
    from packaging.requirements import InvalidRequirement, Requirement

    unmet: list[str] = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("-r "):
            unmet += unmet_requirements(path.parent / line[3:].strip())
            continue
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue  # blank lines and pip options
        try:
            version = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            unmet.append(f"{req.name} (not installed)")
            continue
        if not req.specifier.contains(version, prereleases=True):
            unmet.append(f"{req.name} {version} (wants {req.specifier})")
    return unmet


def needed(path: Path) -> set[str]:
    """The distributions a test file's imports need (``tests.X`` helpers: what X needs, read the same way)."""
    text = path.read_text(errors="replace")
    found: set[str] = {name.strip() for line in _DECLARED.findall(text) for name in line.split(",")}
    for top, sub in _IMPORT.findall(text):
        if top == "tests" and sub in CORE_HELPERS:
            continue
        if top == "tests" and sub and (path.parent / f"{sub}.py").exists() and sub != path.stem:
            found |= needed(path.parent / f"{sub}.py")
            continue
        if top in NEEDS:
            found.add(NEEDS[top])
    return found


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_UNMET] = {u.split(" ", 1)[0]: u for u in unmet_requirements(ROOT / "requirements-dev.txt")}
    config.stash[_SKIPPED] = []


class NotRunnable(pytest.Module):
    """A test file this interpreter cannot import: collected as no tests (its imports never run)."""

    def collect(self) -> list:
        return []


def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    unmet = set(parent.config.stash.get(_UNMET, {}))
    if unmet and needed(Path(module_path)) & unmet:
        parent.config.stash[_SKIPPED].append(str(Path(module_path).relative_to(ROOT)))
        return NotRunnable.from_parent(parent, path=Path(module_path))
    return None


def _how() -> str:
    return (
        f"run {VENV_PYTHON} -m pytest"
        if VENV_PYTHON.exists()
        else "run the README's test command (it makes .venv and runs the suite in it)"
    )


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    skipped = config.stash.get(_SKIPPED, [])
    if skipped:
        unmet = ", ".join(config.stash[_UNMET].values())
        terminalreporter.write_line(
            f"{sys.executable} cannot run {len(skipped)} test file(s) of this suite: {unmet}; {_how()}."
        )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if session.config.stash.get(_SKIPPED, []) and exitstatus in (0, 5):
        session.exitstatus = 4

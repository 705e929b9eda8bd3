"""Before anything is collected: is the interpreter running pytest the one the README's test command sets up?

A `pytest` that is not the project's (the system's, another virtual environment) lacks Streamlit and
Plotly, and every test module that imports them would fail on its own: sixteen tracebacks and a
partial count. One line instead says what is missing and which command runs the suite.
"""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import InvalidRequirement, Requirement

ROOT = Path(__file__).resolve().parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"


def unmet_requirements(path: Path) -> list[str]:
    """The requirements of ``path`` (and of the files it includes with ``-r``) that this interpreter
    does not satisfy, as "name (not installed)" or "name X.Y (wants SPEC)"."""
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


def pytest_configure(config: pytest.Config) -> None:
    unmet = unmet_requirements(ROOT / "requirements-dev.txt")
    if unmet:
        how = (f"run {VENV_PYTHON} -m pytest" if VENV_PYTHON.exists()
               else "run the README's test command (it makes .venv and runs the suite in it)")
        pytest.exit(f"{sys.executable} cannot run this suite: {', '.join(unmet)}; {how}.", returncode=4)

"""The suite collects however pytest is started: the ``pytest`` command, ``python -m pytest``, from
any folder (the project root is put on the import path by pyproject.toml, not by the caller)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_suite_collects_from_another_folder(tmp_path: Path) -> None:
    pytest_command = Path(sys.executable).with_name("pytest")
    done = subprocess.run([str(pytest_command), "--collect-only", "-q", str(ROOT / "tests")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "error" not in done.stdout.splitlines()[-1], done.stdout.splitlines()[-1]
    assert int(done.stdout.splitlines()[-1].split()[0]) > 700  # "N tests collected in …"

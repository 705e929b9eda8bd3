"""The suite collects however pytest is started: the ``pytest`` command, ``python -m pytest``, from
any folder (the project root is put on the import path by pyproject.toml, not by the caller)."""

# needs: streamlit, playwright, hypothesis
# (these tests check the interpreter that runs the whole suite)

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_suite_collects_from_another_folder(tmp_path: Path) -> None:
    pytest_command = Path(sys.executable).with_name("pytest")
    done = subprocess.run(
        [str(pytest_command), "--collect-only", "-q", str(ROOT / "tests")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "error" not in done.stdout.splitlines()[-1], done.stdout.splitlines()[-1]
    assert int(done.stdout.splitlines()[-1].split()[0]) > 700  # "N tests collected in …"


def test_unmet_requirements_names_what_is_missing_or_the_wrong_version(tmp_path: Path) -> None:
    from conftest import unmet_requirements

    (tmp_path / "base.txt").write_text("# runtime\nnumpy>=1\nno-such-package-for-this-lab>=1\n")
    (tmp_path / "dev.txt").write_text("-r base.txt\npytest<1  # far too old a pin\n\n")
    assert unmet_requirements(tmp_path / "dev.txt") == [
        "no-such-package-for-this-lab (not installed)",
        f"pytest {installed_pytest()} (wants <1)",
    ]
    assert unmet_requirements(ROOT / "requirements-dev.txt") == []  # this interpreter runs the suite


def installed_pytest() -> str:
    from importlib import metadata

    return metadata.version("pytest")


def test_an_interpreter_without_the_packages_runs_the_core_tests_and_names_what_is_missing() -> None:
    # The interpreter running this test, with Streamlit made to look absent (as in a system Python with
    # NumPy).
    code = (
        "import sys, importlib.metadata as m; real = m.version\n"
        "def version(name):\n"
        "    if name == 'streamlit': raise m.PackageNotFoundError(name)\n"
        "    return real(name)\n"
        "m.version = version\n"
        "import pytest; sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', 'tests/test_attention.py', "
        "'tests/test_app.py', 'tests/browser']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    out = done.stdout + done.stderr
    assert done.returncode == 4, out[-3000:]  # never a green run that left files out
    assert re.search(r"\b\d+ passed\b", out) and "failed" not in out, out[-3000:]  # the NumPy-only tests ran
    assert re.search(
        r"cannot run \d+ test file\(s\) of this suite: streamlit \(not installed\); run ", out
    ), out[-3000:]
    assert "Traceback" not in out and "error" not in out.lower().replace("valueerror", ""), out[-3000:]


def test_a_core_test_needs_no_app_package() -> None:
    from conftest import needed

    assert needed(ROOT / "tests" / "test_attention.py") <= {"hypothesis"}
    assert "streamlit" in needed(ROOT / "tests" / "test_app.py")
    assert "streamlit" in needed(ROOT / "tests" / "test_room_app.py")  # through tests.app_driver

"""The house's habits, checked like behaviour: ruff is clean at the project's settings (the line-length
rule included), and every commit since the rule was set has a subject of at most 72 characters."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: The last commit before the rule: its subject and the ones before it are history, left as they are.
SUBJECT_RULE_SINCE = "29c6bb7"
MAX_SUBJECT = 72


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False)


def test_commit_subjects_are_at_most_72_characters() -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    if _git("cat-file", "-e", f"{SUBJECT_RULE_SINCE}^{{commit}}").returncode:
        pytest.skip(f"the history does not reach {SUBJECT_RULE_SINCE} (a shallow clone)")
    subjects = _git("log", "--format=%s", f"{SUBJECT_RULE_SINCE}..HEAD").stdout.splitlines()
    long = [s for s in subjects if len(s) > MAX_SUBJECT]
    assert subjects and not long, (
        f"subjects over {MAX_SUBJECT} characters (put the detail in the body): {long}"
    )


def test_ruff_is_clean_with_the_line_length_rule() -> None:
    ruff = Path(sys.executable).with_name("ruff")
    if not ruff.exists():
        pytest.skip("ruff is not installed beside this interpreter (requirements-dev.txt has it)")
    done = subprocess.run(
        [str(ruff), "check", "--no-cache", str(ROOT)], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert done.returncode == 0, done.stdout[-4000:]

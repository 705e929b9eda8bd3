"""The house's habits, checked like behaviour: every commit since the rule was set has a subject of at
most 72 characters."""

from __future__ import annotations

import shutil
import subprocess
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

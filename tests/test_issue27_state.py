"""Issue 27, defect 6 (the Playground's part): every state a page reaches has a link and a state file
that imports, and a state file of an unknown version is refused with a message naming the version.

Before: with a real model's head loaded, "State file" downloaded a file whose content was the sentence
"a configuration with matrices given outright … has no state file", importing it failed, and the
address bar held nothing; a state file with ``"version": 999``, ``"two"`` or none was read silently.
A real head now travels as its reference (model, sentence, layer, head), the settings it leaves
free and the hand edits; its matrices are recomputed from the installed model when it is opened.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from attention_core import pretrained, run_lab
from attention_core.pretrained import smollm2
from attention_core.serialize import COMPACT_KEY, state_from_json
from tests.app_driver import edit_cell
from tests.test_app import fig, plain, z_of
from tests.test_hostile import open_link, pack
from tests.test_real_model_page import _unavailable

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Callable[[], object]]]:
    """What each deferred download button would give on click, by its file id (AppTest cannot click one)."""
    seen: dict[str, Callable[[], object]] = {}
    original = MediaFileManager.add_deferred

    def add_deferred(
        self: MediaFileManager, data_callable: Callable[[], object], *args: object, **kw: object
    ) -> str:
        file_id = original(self, data_callable, *args, **kw)
        seen[file_id] = data_callable
        return file_id

    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    yield seen


def download(at: AppTest, seen: dict[str, Callable[[], object]], label: str) -> str:
    (button,) = [b for b in at.get("download_button") if b.proto.label == label]
    data = seen[button.proto.deferred_file_id]()
    return data.decode() if isinstance(data, bytes) else str(data)


def open_exports(at: AppTest) -> AppTest:
    at.session_state["step_tab"] = "Share and export"
    return at.run()


def address(at: AppTest) -> dict[str, str]:
    return {
        k: at.query_params[k][0] if isinstance(at.query_params[k], list) else at.query_params[k]
        for k in at.query_params
    }


def shown(at: AppTest) -> str:
    return plain(
        " ".join(
            [w.value for w in at.warning]
            + [c.value for c in at.code]
            + [e.value for e in at.error]
            + [i.value for i in at.info]
        )
    )


def import_file(text: str | bytes) -> AppTest:
    at = open_exports(open_link({}))
    (box,) = at.file_uploader
    box.set_value(
        ("state.json", text if isinstance(text, bytes) else text.encode(), "application/json")
    ).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_head(page: str, button: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page(page).run()
    at.button(key=button).click().run()
    at.switch_page("pages/playground.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["given"]
    return at


@pytest.mark.parametrize(
    ("page", "button", "available"),
    [
        ("pages/real_model.py", "rm_open", pretrained.is_available),
        ("pages/language_model.py", "lm_open", smollm2.is_available),
    ],
)
def test_a_real_head_has_a_state_file_and_a_link_that_bring_it_back(
    downloads: dict, page: str, button: str, available: Callable[[], bool]
) -> None:
    if not available():
        _unavailable(f"the model for {page} is not installed")
    at = open_head(page, button)
    edit_cell(at, "W_q", 1, 2, 0.75)
    at.toggle(key="causal").set_value(not at.session_state["causal"]).run()
    assert not at.exception
    expected = z_of(fig(at, "weights"))

    open_exports(at)
    text = download(at, downloads, "State file (to import later)")
    doc = json.loads(text)  # a state file, not a sentence
    assert doc["rh"]["model"] == at.session_state["real_head"].model
    assert doc["rh"]["sentence"] == at.session_state["real_head"].sentence
    assert ["W_q", 1, 2, 0.75] in doc["config"]["edits"]

    imported = import_file(text)
    assert (
        imported.session_state["given"]
        and imported.session_state["real_head"] == at.session_state["real_head"]
    )
    np.testing.assert_array_equal(z_of(fig(imported, "weights")), expected)  # to the last digit
    assert imported.session_state["edits"] == at.session_state["edits"]

    link = address(at)  # the address bar holds the head, its free settings and the edit
    assert link["rh"].startswith(doc["rh"]["model"]) and "e" in link
    reopened = open_link(link)
    assert not reopened.exception, [e.value for e in reopened.exception]
    np.testing.assert_array_equal(z_of(fig(reopened, "weights")), expected)
    assert reopened.session_state["real_head"] == at.session_state["real_head"]
    link_codes = [c.value for c in open_exports(reopened).code if "rh=" in c.value]
    assert link_codes  # the export panel shows the link too


@pytest.mark.parametrize(
    ("version", "named"),
    [
        (999, "version 999"),
        ("two", 'version "two"'),
        (None, "version null"),
        (2.5, "version 2.5"),
        (True, "version true"),
    ],
)
def test_a_state_file_of_another_version_is_refused_naming_it(version: object, named: str) -> None:
    good = json.loads(run_lab_state())
    doc = {**good, "version": version}
    at = import_file(json.dumps(doc))
    assert f"the state file is {named}; this app reads version 1 only" in shown(at)
    assert at.session_state["seed"] == 123  # nothing was changed
    link = open_link({COMPACT_KEY: pack(doc)})  # the same document inside a link
    assert not link.exception
    assert f"the state file is {named}" in shown(link)


def test_a_state_file_without_a_version_is_refused() -> None:
    doc = json.loads(run_lab_state())
    doc.pop("version")
    at = import_file(json.dumps(doc))
    assert "the state file has no 'version' (this app reads version 1)" in shown(at)
    assert at.session_state["seed"] == 123


def test_a_state_file_of_this_version_imports() -> None:
    at = import_file(run_lab_state())
    assert not at.error
    assert at.session_state["seed"] == 7 and at.session_state["edits"] == {("W_k", 1, 1): 0.5}


def run_lab_state() -> str:
    from attention_core import LabConfig
    from attention_core.serialize import state_to_json

    cfg = LabConfig(seed=7).with_edits({("W_k", 1, 1): 0.5})
    text = state_to_json(cfg)
    assert state_from_json(text)[0] == cfg
    run_lab(cfg)
    return text

"""A shared link in a fresh browser, presentation mode by keyboard, and importing a state file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from attention_core import LabConfig, run_lab
from attention_core.serialize import state_to_json
from tests.browser.helpers import (
    error_elements,
    figure,
    goto_app,
    script_runs,
    set_cell,
    set_slider,
    wait_idle,
)

DOCS = Path(__file__).resolve().parents[2] / "docs"


def weights(page) -> np.ndarray:
    return np.array(figure(page, "weights")["traces"][0]["z"], dtype=float)


def test_link_from_one_browser_reproduces_the_heatmaps_in_another(browser, page, app_url: str) -> None:
    goto_app(page, app_url)
    set_slider(page, "Seed", 130)
    set_cell(page, "W_K", 1, 2, "-0.75")
    wait_idle(page)
    link = page.url
    assert "seed=130" in link and "W_k%3A1%3A2%3A-0.75" in link
    original = weights(page)
    other = browser.new_context(viewport={"width": 1400, "height": 1000})  # no shared cookies or storage
    try:
        fresh = other.new_page()
        goto_app(fresh, link)
        np.testing.assert_array_equal(weights(fresh), original)
        assert error_elements(fresh) == []
    finally:
        other.close()


def test_presentation_mode_by_keyboard(projector_page, app_url: str) -> None:
    page = projector_page
    goto_app(page, f"{app_url}/?present=1", charts=False)
    titles = []
    for step in range(7):
        titles.append(page.locator("[data-testid=stMain] h2").first.inner_text())
        page.screenshot(path=str(DOCS / f"present_{step}.png"))
        page.locator("[data-testid=stMain] h2").first.click()  # focus the page, not a widget
        page.keyboard.press("ArrowRight")
        wait_idle(page)
    assert titles == [
        "Tokens",
        "Embeddings",
        "Queries, keys, values",
        "Scores",
        "Scaling",
        "Weights",
        "Output",
    ]
    assert "step=6" in page.url
    page.keyboard.press("ArrowLeft")
    wait_idle(page)
    assert page.locator("[data-testid=stMain] h2").first.inner_text() == "Weights"
    np.testing.assert_allclose(weights(page), run_lab(LabConfig()).attention.heads[0].weights, rtol=1e-6)


def open_exports(page) -> None:
    """Open the "Share and export" tab (built only when open), if it is not open yet."""
    tab = page.get_by_role("tab", name="Share and export")
    if tab.get_attribute("aria-selected") != "true":
        since = script_runs(page)
        tab.click()
        wait_idle(page, since=since)


def test_import_a_state_file(page, app_url: str, tmp_path: Path) -> None:
    cfg = LabConfig(sentence="we import this", seed=77).with_edits({("W_v", 0, 0): 2.5})
    good = tmp_path / "state.json"
    good.write_text(state_to_json(cfg))
    goto_app(page, app_url)
    open_exports(page)
    page.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files(str(good))
    wait_idle(page)
    page.wait_for_function("() => document.body.innerText.includes('import')")
    w = figure(page, "weights")
    assert w["ticktext_x"] == ["we", "import", "this"]
    np.testing.assert_allclose(weights(page), run_lab(cfg).attention.heads[0].weights, rtol=1e-6)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"version": 1, "config": {"seed": "x", "d_model": 0}}))
    open_exports(page)
    page.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files(str(bad))
    wait_idle(page)
    body = page.locator("[data-testid=stMain]").inner_text()
    assert "ignored 'seed': must be a whole number" in body and "ignored 'd_model'" in body
    assert error_elements(page) == []

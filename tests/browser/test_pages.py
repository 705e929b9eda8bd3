"""What a person sees: the Playground and every walkthrough page, in Chromium.

Screenshots land in docs/ (the README shows them); look at them after a change.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from attention_core import LabConfig, run_lab
from tests.browser.helpers import (
    error_elements,
    figure,
    goto_app,
    screenshot,
    set_cell,
    set_slider,
    set_text_input,
    wait_idle,
)

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGES = {
    "playground": "",
    "r_vignette": "r_vignette",
    "numpy_notebook": "numpy_notebook",
    "pytorch_notebook": "pytorch_notebook",
    "multihead_cross": "multihead_cross",
}


def z(fig: dict) -> np.ndarray:
    return np.array(fig["traces"][0]["z"], dtype=float)


@pytest.mark.parametrize("name", list(PAGES))
def test_page_renders_without_error(page, app_url: str, name: str) -> None:
    goto_app(page, f"{app_url}/{PAGES[name]}")
    assert error_elements(page) == []
    # The Playground shows the weights and one chosen step (the rest are tabs); walkthroughs every step.
    assert page.locator(".js-plotly-plot").count() >= (2 if name == "playground" else 5)
    screenshot(page, DOCS / f"{name}.png")


def test_typed_sentence_becomes_the_weight_axes(page, app_url: str) -> None:
    goto_app(page, app_url)
    set_text_input(page, "Sentence", "the cat sat on the mat")
    w = figure(page, "weights")
    assert w["ticktext_x"] == ["the", "cat", "sat", "on", "the", "mat"]
    assert w["ticktext_y"] == ["the", "cat", "sat", "on", "the", "mat"]
    expected = run_lab(dataclasses.replace(LabConfig(), sentence="the cat sat on the mat"))
    np.testing.assert_allclose(z(w), expected.attention.heads[0].weights, rtol=1e-6)


def test_grid_edit_of_w_q_updates_scores(page, app_url: str) -> None:
    goto_app(page, app_url)
    set_cell(page, "W_Q", 0, 0, "5")
    expected = run_lab(LabConfig().with_edits({("W_q", 0, 0): 5.0})).attention.heads[0]
    np.testing.assert_allclose(z(figure(page, "scores")), expected.scores, rtol=1e-6)
    assert not np.allclose(expected.scores, run_lab(LabConfig()).attention.heads[0].scores)
    screenshot(page, DOCS / "playground_after_edit.png", height=1000)


def test_seed_slider_changes_the_matrices(page, app_url: str) -> None:
    goto_app(page, app_url)
    page.get_by_role("tab", name="Queries Q").click()  # only the open tab is drawn
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.js-plotly-plot'))"
        ".some(e => (e._fullLayout.title.text || '').includes('Q = X W_q'))"
    )
    wait_idle(page)
    before = z(figure(page, "Q = X W_q"))
    set_slider(page, "Seed", 125)
    after = z(figure(page, "Q = X W_q"))
    assert not np.allclose(before, after)
    expected = run_lab(dataclasses.replace(LabConfig(), seed=125)).attention.heads[0].Q
    np.testing.assert_allclose(after, expected, rtol=1e-6)


def test_click_on_a_weight_explains_its_arithmetic(page, app_url: str) -> None:
    goto_app(page, app_url)
    chart = page.locator(".js-plotly-plot").filter(has_text="weights = softmax").first
    chart.scroll_into_view_if_needed()
    area = chart.locator(".nsewdrag").first.bounding_box()  # the plotting area, 6 x 6 cells
    i, j = 1, 4  # query "is", key "dessert": the notebook's omega_24
    page.mouse.click(area["x"] + (j + 0.5) * area["width"] / 6, area["y"] + (i + 0.5) * area["height"] / 6)
    wait_idle(page)
    page.get_by_text("The arithmetic of one weight").wait_for()
    body = page.locator("[data-testid=stMain]").inner_text()
    assert "query 'is' (row 1) → key 'dessert' (column 4)" in body
    h = run_lab(LabConfig()).attention.heads[0]
    assert f"= {h.scores[1, 4]:.6g}" in body  # omega_24 = 2.3206 in the notebook
    assert f"= {h.weights[1, 4]:.6g}" in body
    screenshot(page, DOCS / "playground_click_explain.png")

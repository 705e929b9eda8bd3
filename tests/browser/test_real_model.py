"""The Real model page in Chromium: the model's numbers on screen, and one head opened in the
Playground, where its weights are the model's until a cell of W_Q is edited.

Needs the optional model package (the README's test command installs it); without it the
test is skipped with the install command as reason, except in CI (CI=true): failed.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from attention_core import pretrained, run_lab
from tests.browser.helpers import (
    error_elements,
    figure,
    goto_app,
    screenshot,
    set_cell,
    set_selectbox,
    wait_idle,
)

DOCS = Path(__file__).resolve().parents[2] / "docs"
SENTENCE = "The lecturer's café explains attention."
LAYER, HEAD = 2, 5


@pytest.fixture
def model() -> None:
    if not pretrained.is_available():
        reason = f"the optional model package is not installed: {pretrained.INSTALL_COMMAND}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)


def z(fig: dict) -> np.ndarray:
    return np.array([[np.nan if v is None else v for v in row] for row in fig["traces"][0]["z"]], dtype=float)


def test_real_head_on_screen_then_edited_in_the_playground(page, app_url: str, model: None) -> None:
    expected = pretrained.run(SENTENCE)
    goto_app(page, f"{app_url}/?s={SENTENCE.replace(' ', '+')}")
    page.locator("[data-testid=stSidebarNav] a").filter(has_text="Real model").click()
    page.get_by_text("All 72 heads", exact=True).wait_for()
    wait_idle(page)
    assert error_elements(page) == []

    # The selected head: the model's weights, WordPiece tokens on both axes.
    head0 = figure(page, "layer 0, head 0: weights")
    assert head0["ticktext_y"] == expected.tokens and head0["ticktext_x"] == expected.tokens
    assert expected.tokens[0] == "[CLS]" and expected.tokens[-1] == "[SEP]"
    np.testing.assert_allclose(z(head0), expected.attentions[0, 0], atol=1e-6)
    grid = figure(page, "all 72 heads")
    assert grid["traces"][0]["type"] == "heatmap"
    screenshot(page, DOCS / "real_model.png")

    set_selectbox(page, "Layer", str(LAYER))
    set_selectbox(page, "Head", str(HEAD))
    shown = z(figure(page, f"layer {LAYER}, head {HEAD}: weights"))
    np.testing.assert_allclose(shown, expected.attentions[LAYER, HEAD], atol=1e-6)

    page.get_by_role("button", name="Open this head in the Playground").click()
    page.locator(".st-key-edit_matrix").wait_for()
    wait_idle(page)
    assert error_elements(page) == []
    in_playground = z(figure(page, "weights"))
    np.testing.assert_allclose(in_playground, expected.attentions[LAYER, HEAD], atol=1e-6)

    # Edit one number of the real head's W_Q: the Playground recomputes from the edited matrix.
    cfg = pretrained.head_config(expected, SENTENCE, LAYER, HEAD)
    set_cell(page, "W_Q", 0, 0, "3.5")
    wanted = run_lab(cfg.with_edits({("W_q", 0, 0): 3.5})).attention.heads[0].weights
    edited = z(figure(page, "weights"))
    np.testing.assert_allclose(edited, wanted, atol=1e-6)
    assert np.abs(edited - expected.attentions[LAYER, HEAD]).max() > 1e-3, (
        "the edit changed nothing on screen"
    )
    assert error_elements(page) == []
    screenshot(page, DOCS / "real_model_in_playground.png")

"""The page "How attention is computed fast" in Chromium: drawn without errors, the Next
button adds a tile to the picture, the last step shows the Playground's weights."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from attention_core import LabConfig, run_lab
from tests.browser.conftest import ROOT
from tests.browser.helpers import (
    error_elements,
    figure,
    goto_app,
    screenshot,
    script_runs,
    set_slider,
    wait_idle,
)

PAGE = ROOT / "pages" / "fast_attention.py"


def _weights(page) -> np.ndarray:
    z = figure(page, "weights so far")["traces"][0]["z"]
    return np.array([[np.nan if v is None else v for v in row] for row in z], dtype=float)


def test_tiles_step_by_step_end_at_the_playground_weights(
    page, streamlit_factory: Callable[[Path], str]
) -> None:
    goto_app(page, streamlit_factory(PAGE))
    assert error_elements(page) == []
    assert page.locator(".js-plotly-plot").count() >= 7
    first = _weights(page)  # step 1: the first 8 × 8 tile only
    assert np.isfinite(first).sum() == 64
    for _ in range(3):  # step 4: tiles (0,0), (0,1) and (0,2) skipped (zeros), (1,0)
        runs = script_runs(page)
        page.get_by_role("button", name="Next ▶").click()
        wait_idle(page, since=runs)
    assert np.isfinite(_weights(page)).sum() == 8 * 24 + 8 * 8
    set_slider(page, "Step (one tile per step)", 8)
    sentence = page.get_by_text("Sentence: ").inner_text()[len("Sentence: ") :]
    expected = run_lab(replace(LabConfig(), sentence=sentence, causal=True)).attention.heads[0].weights
    np.testing.assert_allclose(_weights(page), expected, rtol=0, atol=1e-12)
    assert "max |tiled − exact| = " in page.get_by_text("max |tiled − exact|").inner_text()
    screenshot(page, ROOT / "docs" / "fast_attention.png")

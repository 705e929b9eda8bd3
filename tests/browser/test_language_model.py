"""The Language model page in Chromium at 1280 x 720, opened from a link with knocked-out heads.

The link's prompt and heads are on screen; the bars before and after the knock-out are the
model's numbers (" Mary" becomes " John"); a click on a tile of the 270-head grid (a real
mouse click at the tile's pixel) opens that head below. A screenshot of the top of the page
is written to <tmp>/language_model_1280x720.png. Needs the optional model package; without
it the test is skipped with the install command as reason, except in CI (CI=true): failed.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from attention_core.pretrained import smollm2
from tests.browser.conftest import ROOT
from tests.browser.helpers import error_elements, figure, goto_app, script_runs, wait_idle

PAGE = "pages/language_model.py"
SHOT = Path(tempfile.gettempdir()) / "language_model_1280x720.png"


@pytest.fixture
def model() -> None:
    if not smollm2.is_available():
        reason = f"SmolLM2 is not installed: {smollm2.INSTALL_COMMAND}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)


@pytest.fixture
def lm_url(streamlit_factory: Callable[[Path], str], tmp_path_factory: pytest.TempPathFactory) -> str:
    """app.py once it lists the page; until then a two-page app (Playground + Language model)."""
    app = ROOT / "app.py"
    if PAGE not in app.read_text(encoding="utf-8"):
        folder = tmp_path_factory.mktemp("lm_app")
        (folder / "pages").symlink_to(ROOT / "pages")
        app = folder / "app.py"
        app.write_text(
            f"import sys\nsys.path.insert(0, {str(ROOT)!r})\nimport streamlit as st\n"
            "st.set_page_config(page_title='Attention lab', layout='wide')\n"
            "st.navigation([st.Page('pages/playground.py', title='Playground', default=True),\n"
            f"               st.Page({PAGE!r}, title='Language model')]).run()\n",
            encoding="utf-8",
        )
    return streamlit_factory(app)


_TILE_JS = """([layer, head, scroll]) => {
  const el = Array.from(document.querySelectorAll('.js-plotly-plot'))
    .find(e => (e._fullLayout.title.text || '').includes('270 heads'));
  if (scroll) el.scrollIntoView({block: 'center'});
  const L = el._fullLayout, pts = el._fullData[1], i = layer * 9 + head;
  const box = el.querySelector('.nsewdrag').getBoundingClientRect();
  return [box.left + L.xaxis.l2p(pts.x[i]), box.top + L.yaxis.l2p(pts.y[i])];
}"""


def click_tile(page: Any, layer: int, head: int) -> None:
    """A mouse click at the centre of tile (layer, head) of the grid, from Plotly's own axis mapping."""
    page.evaluate(_TILE_JS, [layer, head, True])
    page.wait_for_timeout(300)  # scrolled: positions settle
    x, y = page.evaluate(_TILE_JS, [layer, head, False])
    page.mouse.move(x, y)
    page.wait_for_timeout(200)
    before = script_runs(page)
    page.mouse.click(x, y)
    wait_idle(page, since=before)


def test_link_knockouts_bars_and_a_grid_click(browser: Any, lm_url: str, model: None) -> None:
    heads = smollm2.EXAMPLE_HEADS
    base = smollm2.run(smollm2.EXAMPLE_PROMPT)
    after = smollm2.run(smollm2.EXAMPLE_PROMPT, ablate=heads)
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        link = ",".join(f"{l}.{h}" for l, h in heads)
        goto_app(
            page,
            f"{lm_url}/language_model?lm_prompt={smollm2.EXAMPLE_PROMPT.replace(' ', '+')}&lm_ablate={link}",
            timeout=120_000,
        )
        page.get_by_text("All 270 heads", exact=True).wait_for()
        wait_idle(page)
        assert error_elements(page) == []
        page.screenshot(path=str(SHOT))

        trained = figure(page, "the model as trained")["traces"][0]
        changed = figure(page, "changed heads: L1 H5, L23 H3, L24 H4")["traces"][0]
        assert trained["y"][0] == "1. ␣Mary" and changed["y"][0] == "1. ␣John"
        np.testing.assert_allclose(trained["x"], [p for _, _, p in smollm2.top_k(base, 10)], rtol=1e-9)
        np.testing.assert_allclose(changed["x"], [p for _, _, p in smollm2.top_k(after, 10)], rtol=1e-9)
        assert page.url.endswith(f"lm_ablate={link.replace(',', '%2C')}") or "lm_ablate=" in page.url

        grid = figure(page, "all 270 heads")
        assert grid["traces"][0]["type"] == "image" and len(grid["traces"][1]["x"]) == 270
        click_tile(page, 23, 4)
        page.get_by_text("Layer 23, head 4", exact=True).wait_for()
        shown = figure(page, "layer 23, head 4: weights")["traces"][0]["z"]
        np.testing.assert_allclose(np.array(shown, dtype=float), after.attentions[23, 4], atol=1e-6)
        assert (
            page.get_by_text(
                "Query head 4 reads key/value head 1, which it shares with query heads 3, 5", exact=False
            ).count()
            == 1
        )
        assert error_elements(page) == []
    finally:
        context.close()

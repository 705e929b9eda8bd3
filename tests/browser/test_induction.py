"""'Find the induction heads' in Chromium at 1280 x 720: one click shows the induction stripe and the loss
drop, both inside the first screen (asserted from bounding boxes, no scrolling), with the model's numbers.

Opened from the link of the Head roles tab; the screenshot goes to <tmp>/induction_1280x720.png.
Needs the optional model package (skipped with the install command otherwise; failed in CI).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from attention_core.pretrained import smollm2
from tests.browser.helpers import error_elements, figure, goto_app, script_runs, wait_idle
from tests.browser.test_language_model import lm_url, model  # noqa: F401 (fixtures)
from ui import language_model as lm

SHOT = Path(tempfile.gettempdir()) / "induction_1280x720.png"

_BOX_JS = """(prefix) => {
  const el = Array.from(document.querySelectorAll('.js-plotly-plot'))
    .find(e => (e._fullLayout.title.text || '').replace(/<[^>]+>/g, '').startsWith(prefix));
  const r = el.querySelector('.nsewdrag').getBoundingClientRect();
  return [r.left, r.top, r.right, r.bottom, window.scrollY];
}"""


def test_find_the_induction_heads_in_one_click(browser: Any, lm_url: str, model: None) -> None:  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        goto_app(page, f"{lm_url}/language_model?lm_tab=roles", timeout=120_000)
        wait_idle(page)
        before = script_runs(page)
        page.get_by_role("button", name="Find the induction heads").click()
        wait_idle(page, since=before, timeout=60_000)
        page.get_by_text("Knocked out:", exact=False).wait_for()
        assert error_elements(page) == []
        page.mouse.move(5, 700)  # no tooltip over the page
        page.evaluate("window.scrollTo(0, 0)")
        page.wait_for_timeout(300)
        page.screenshot(path=str(SHOT))

        ids = lm.repeated_sequence(0)
        r = smollm2.run_ids(ids)
        scores = smollm2.head_scores(r)["induction"]
        best = divmod(int(np.nanargmax(scores)), 9)
        title = f"L{best[0]} H{best[1]}: the induction stripe"
        stripe = figure(page, title)["traces"][0]
        np.testing.assert_allclose(np.array(stripe["z"], dtype=float), r.attentions[best], atol=1e-6)
        loss = figure(page, "loss on each next token")["traces"]
        np.testing.assert_allclose(loss[0]["y"], smollm2.token_losses(r), atol=1e-9)
        assert (
            np.mean(loss[1]["y"][20:]) > np.mean(loss[0]["y"][20:]) + 2
        )  # knocked out: the repeat costs more

        for prefix in (title, "loss on each next token"):
            left, top, right, bottom, scroll = page.evaluate(_BOX_JS, prefix)
            assert scroll == 0
            assert 0 <= left < right <= 1280 and 0 <= top < bottom <= 720, (prefix, top, bottom)
        assert "lm_roles=1" in page.url and "lm_tab=roles" in page.url
    finally:
        context.close()

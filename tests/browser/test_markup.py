"""Markup typed as a sentence is shown literally: no new elements, no requests anywhere else."""

from __future__ import annotations

from attention_core import tokenize
from tests.browser.helpers import error_elements, figure, goto_app, set_text_input
from tests.test_hostile import MARKUP

COUNT_ELEMENTS = """() => ({
  img: document.querySelectorAll('[data-testid=stMain] img, [data-testid=stSidebar] img').length,
  a: document.querySelectorAll('[data-testid=stMain] a[href^="javascript"], a[href^="javascript"]').length,
  b: document.querySelectorAll('.js-plotly-plot b').length,
  br: document.querySelectorAll('.js-plotly-plot .xtick br, .js-plotly-plot .ytick br').length,
  katex: document.querySelectorAll('[data-testid=stSidebar] .katex').length,
})"""

WEIGHTS_PLOT = """Array.from(document.querySelectorAll('.js-plotly-plot')).filter(
  e => (e._fullLayout.title.text || '').includes('weights'))[0]"""
TICKS = f"() => {WEIGHTS_PLOT}.querySelectorAll('.xtick text')"
#: The columns that carry a label ("i·token": axes label as many as they have room for).
LABELLED = (
    f"() => Array.from({WEIGHTS_PLOT}._fullLayout.xaxis.tickvals, v => parseInt(String(v).split('·')[0]))"
)


def test_markup_samples_render_literally(page, app_url: str) -> None:
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    goto_app(page, app_url)
    before = page.evaluate(COUNT_ELEMENTS)
    keep = page.locator("[data-testid=stCheckbox]").filter(has_text="keep punctuation").locator("input")
    keep.check(force=True)  # keep '<', '>', '$' … as tokens, the harder case
    for sample in MARKUP:
        set_text_input(page, "Sentence", sample)
        assert error_elements(page) == []
        tokens = list(tokenize(sample, keep_punctuation=True).tokens)
        shown = page.evaluate(f"() => Array.from(({TICKS})(), t => t.textContent)")
        labelled = page.evaluate(LABELLED)
        assert len(labelled) >= min(len(tokens), 8), labelled
        assert shown == [tokens[i] for i in labelled], (
            sample,
            shown,
        )  # Plotly draws the typed text, literally
        assert page.evaluate(COUNT_ELEMENTS) == before, sample
        assert page.get_by_label("Sentence", exact=True).input_value() == sample
        w = figure(page, "weights")
        assert len(w["traces"][0]["x"]) == len(tokens)  # every column is there (and named on hover)
    outside = [
        u
        for u in requests
        if not u.startswith(app_url) and not u.startswith("data:") and not u.startswith("blob:")
    ]
    assert outside == [], outside

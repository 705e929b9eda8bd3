"""Every state the app reaches can be shared: long states travel compressed in the address bar and
survive a reload (F5) and a fresh browser, bit for bit.

Two states the old links lost silently (the app wrote an address longer than its own limit, and a
reload reset everything to the defaults): 1,000 full-precision hand edits, and a 15,000-character
sentence. Each is opened from a link, reloaded, and opened again from the address bar in a new
context (no shared cookies or storage); every time the weights drawn are the core's, to the bit.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import numpy as np
import pytest

from attention_core import LabConfig, run_lab
from attention_core.serialize import COMPACT_KEY, MAX_LINK_CHARS, config_to_query, link_length
from tests.browser.helpers import error_elements, figure, goto_app, wait_idle
from ui.figures import as_sent


def thousand_edits() -> LabConfig:
    """1,000 cells of W_q, W_k and W_v (1,216 cells in all) set to full-precision random doubles."""
    rng = np.random.default_rng(15)
    cfg = LabConfig()
    shapes = {"W_q": (16, 24), "W_k": (16, 24), "W_v": (16, 28)}
    cells = [(m, r, c) for m, (rows, cols) in shapes.items() for r in range(rows) for c in range(cols)]
    chosen = rng.choice(len(cells), size=1000, replace=False)
    return cfg.with_edits({cells[i]: float(rng.normal() * 10.0 ** rng.integers(-3, 3)) for i in chosen})


def long_sentence() -> LabConfig:
    """A 15,000-character sentence of 250 made-up words (250 tokens: a weights heatmap, not a picture)."""
    rng = np.random.default_rng(16)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyzäöüéñ"))
    words = ["".join(rng.choice(letters, 59)) for _ in range(250)]
    sentence = " ".join(words) + "s"  # 250 · 60 characters
    assert len(sentence) == 15_000
    return LabConfig(sentence=sentence)


def drawn_weights(page) -> np.ndarray:
    return np.array(figure(page, "weights")["traces"][0]["z"], dtype=np.float64)


def expected_weights(cfg: LabConfig) -> np.ndarray:
    """The core's weights as the heatmap sends them (float32 only when every value survives it)."""
    return as_sent(run_lab(cfg).attention.heads[0].weights).astype(np.float64)


def check(page, cfg: LabConfig) -> None:
    assert error_elements(page) == []
    np.testing.assert_array_equal(drawn_weights(page), expected_weights(cfg))
    query = urlsplit(page.url).query
    assert len(query) <= MAX_LINK_CHARS
    assert COMPACT_KEY in parse_qs(query)  # written compressed, one key


@pytest.mark.parametrize("make", [thousand_edits, long_sentence], ids=["1000-edits", "15000-chars"])
def test_long_state_survives_reload_and_a_fresh_browser(browser, page, app_url: str, make) -> None:
    cfg = make()
    params = config_to_query(cfg)
    print(
        f"\n{make.__name__}: link {link_length(params):,} characters (compressed); "
        f"plain form would be {len(urlencode(_plain(cfg))):,}"
    )
    goto_app(page, f"{app_url}/?{urlencode(params)}")
    check(page, cfg)
    if cfg.sentence != LabConfig().sentence:
        assert page.get_by_label("Sentence", exact=True).input_value() == cfg.sentence

    page.reload(wait_until="domcontentloaded")  # F5: a new session, the state comes from the address bar
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=60_000)
    wait_idle(page, 60_000)
    check(page, cfg)

    other = browser.new_context(viewport={"width": 1400, "height": 1000})  # no shared cookies or storage
    try:
        fresh = other.new_page()
        goto_app(fresh, page.url)
        check(fresh, cfg)
    finally:
        other.close()


def _plain(cfg: LabConfig) -> dict[str, str]:
    from attention_core.serialize import _plain_query

    return _plain_query(cfg)

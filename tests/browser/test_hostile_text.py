"""Text stays text in the browser: a URL or an e-mail address typed into the exact-value box comes back
in the error message as plain text, not as a link; a link carrying text no browser can lay out in
time is refused with a message, and the lab is drawn."""

from __future__ import annotations

import base64
import zlib
from urllib.parse import urlencode

import pytest

from attention_core import LabConfig
from tests.browser.helpers import error_elements, goto_app, set_cell
from ui.text import WORD_JOINER

TYPED = ["http://x.org", "a@b.org", "www.x.org", "HTTPS://evil.example/a?b=c", "mailto:a@b.org"]


def test_typed_urls_and_addresses_are_not_links(page, app_url: str) -> None:
    goto_app(page, app_url)
    links_before = page.locator("a").count()
    for typed in TYPED:
        set_cell(page, "W_Q", 0, 0, typed)
        shown = [t.replace(WORD_JOINER, "") for t in error_elements(page)]
        assert any(f"'{typed}' is not a finite number" in t for t in shown), shown
        assert page.locator("[data-testid=stAlertContentError] a").count() == 0, typed
        assert page.locator("a").count() == links_before, typed  # no link anywhere else either


def compact(doc: str) -> str:
    """A state document as the app's compressed link value (base64url of zlib), written by hand."""
    return base64.urlsafe_b64encode(zlib.compress(doc.encode("ascii"))).decode().rstrip("=")


@pytest.mark.parametrize(
    "query",
    [
        {"s": "a" + "\u0301" * 19_999, "seed": "9"},
        {"s": ("e" + "\u0308" * 31) * 3, "seed": "9"},
        # A browser turns a lone surrogate in an address into U+FFFD; a state document can carry one.
        {"z": compact('{"version": 1, "config": {"sentence": "ok \\ud800 no", "seed": 9}}')},
    ],
    ids=["19999-marks", "31-marks", "lone-surrogate"],
)
def test_text_a_browser_cannot_lay_out_or_encode_is_refused(page, app_url: str, query: dict) -> None:
    goto_app(page, f"{app_url}/?{urlencode(query)}")
    assert error_elements(page) == []
    assert page.get_by_label("Sentence", exact=True).input_value() == LabConfig().sentence
    warning = page.locator("[data-testid=stMain] [data-testid=stCode]").first.inner_text()
    assert "sentence" in warning and ("combining marks" in warning or "lone surrogate" in warning), warning
    assert "seed=9" in page.url  # the rest of the link was applied

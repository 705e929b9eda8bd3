"""Browser: how long Chromium takes to lay out the worst sentence a link could carry, before and
after the core's limit of combining marks in a row (``attention_core.settings.MAX_COMBINING_RUN``).

A sentence is drawn in a text box, in the token table and as heatmap tick labels; each is one
line of text the browser must shape. Thousands of combining marks stacked on one letter make
that shaping quadratic. Each text is put into an ``<input>`` and a ``<div>`` of a blank page
and laid out (``getBoundingClientRect``); the time from setting it to the layout is printed.

    python -m benchmarks.text_layout
"""

from __future__ import annotations

import time

from attention_core import LabConfig, ValidationError
from attention_core.lab import MAX_SENTENCE_CHARS, validate
from attention_core.settings import MAX_COMBINING_RUN
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

MARK = "\u0301"  # combining acute accent

#: name -> text; each is MAX_SENTENCE_CHARS long (the longest sentence the lab takes).
TEXTS = {
    "ascii words": ("lorem ipsum " * MAX_SENTENCE_CHARS)[:MAX_SENTENCE_CHARS],
    f"1 letter + {MAX_SENTENCE_CHARS - 1:,} marks (accepted before)": "a" + MARK * (MAX_SENTENCE_CHARS - 1),
    "100 marks on each letter (accepted before)": (("a" + MARK * 100) * MAX_SENTENCE_CHARS)[
        :MAX_SENTENCE_CHARS
    ],
    f"{MAX_COMBINING_RUN} marks on each letter (the worst accepted now)": (
        ("a" + MARK * MAX_COMBINING_RUN) * MAX_SENTENCE_CHARS
    )[:MAX_SENTENCE_CHARS],
}

LAYOUT_JS = """(text) => {
  document.body.innerHTML = '<input id=i style="width:600px"><div id=d style="width:600px"></div>';
  const t0 = performance.now();
  document.getElementById('i').value = text;
  document.getElementById('d').textContent = text;
  document.getElementById('i').getBoundingClientRect();
  document.getElementById('d').getBoundingClientRect();
  document.getElementById('i').focus();
  document.getElementById('i').setSelectionRange(text.length, text.length);
  return performance.now() - t0;
}"""


def accepted(text: str) -> bool:
    try:
        validate(LabConfig(sentence=text))
        return True
    except ValidationError:
        return False


def run() -> dict:
    from playwright.sync_api import sync_playwright

    out = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        for name, text in TEXTS.items():
            page = browser.new_page()
            page.set_default_timeout(120_000)
            wall = time.perf_counter()
            ms = page.evaluate(LAYOUT_JS, text)
            wall = time.perf_counter() - wall
            out[name] = {"layout_ms": round(ms, 1), "wall_s": round(wall, 2), "accepted_now": accepted(text)}
            print(f"{name:55s} layout {ms:9.1f} ms  (wall {wall:6.2f} s)  accepted now: {accepted(text)}")
            page.close()
        browser.close()
    return {"text_layout": out}


def app_times(url: str, names: tuple[str, ...] = tuple(TEXTS)) -> dict:
    """Seconds from opening a link whose sentence is each text to the Playground idle and drawn
    (``url``: a served app.py, this version or an older one)."""
    from urllib.parse import urlencode

    from playwright.sync_api import sync_playwright

    from tests.browser.helpers import goto_app

    out = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        for name in names:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            t0 = time.perf_counter()
            goto_app(page, f"{url}/?{urlencode({'s': TEXTS[name]})}", timeout=180_000)
            out[name] = round(time.perf_counter() - t0, 2)
            print(f"{name:55s} link opened and drawn in {out[name]:6.2f} s")
            page.close()
        browser.close()
    return {"text_layout_app": out}


if __name__ == "__main__":
    import sys

    run()
    if (
        len(sys.argv) > 2 and sys.argv[1] == "--app"
    ):  # python -m benchmarks.text_layout --app http://127.0.0.1:8501
        app_times(sys.argv[2])

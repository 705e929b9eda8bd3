"""Keyboard only: a student who cannot use a mouse reaches the arithmetic of a chosen weight,
sees where the focus is, and audits clean in presentation mode and with the panel open."""

from __future__ import annotations

from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.helpers import goto_app, script_runs, wait_idle
from tests.browser.test_a11y import audit

FOCUSED_JS = """() => { const e = document.activeElement; if (!e) return null;
  const s = getComputedStyle(e); const box = e.closest('[data-testid]');
  return {label: e.getAttribute('aria-label') || e.innerText || '', tag: e.tagName,
          outline: s.outlineStyle !== 'none' && s.outlineWidth !== '0px', shadow: s.boxShadow !== 'none',
          testid: box ? box.dataset.testid : ''}; }"""


def tab_to(page, predicate, most: int = 250) -> dict:
    """Press Tab until the focused element satisfies ``predicate``; return what is focused."""
    for _ in range(most):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED_JS)
        if focused and predicate(focused):
            return focused
    raise AssertionError(f"Tab never reached the element ({most} presses)")


FILTERED_TO_JS = """(o) => { const opts = Array.from(document.querySelectorAll('[role=option]'));
  return opts.length === 1 && opts[0].innerText.trim() === o; }"""


def choose_by_keyboard(page, label: str, option: str, attempts: int = 3) -> None:
    """Tab to the combobox ``label``, type the option's word and press Enter once the list shows only that
    option, as a person does. Keys typed while the panel above is still being redrawn can be lost (seen in
    CI: Enter then took the unfiltered list's first option); a person types again, and so does this."""
    tab_to(page, lambda f: f["label"] == label, most=20)
    for _ in range(attempts):
        page.keyboard.type(option.split(": ")[1])  # the combobox filters by what is typed
        try:
            page.wait_for_function(FILTERED_TO_JS, arg=option, timeout=3_000)
        except PlaywrightTimeout:  # the typing was lost: clear what got through and type again
            page.keyboard.press("Escape")
            page.keyboard.press("Control+A")
            page.keyboard.press("Backspace")
            continue
        runs = script_runs(page)
        page.keyboard.press("Enter")
        wait_idle(page, since=runs)
        return
    raise AssertionError(f"typing into {label!r} never filtered its list to {option!r}")


def test_keyboard_alone_reaches_the_arithmetic_of_a_chosen_weight(projector_page, app_url: str) -> None:
    page = projector_page
    goto_app(page, app_url)
    page.locator("body").focus()
    summary = tab_to(page, lambda f: f["tag"] == "SUMMARY" and "arithmetic of one weight" in f["label"])
    assert summary["outline"] or summary["shadow"], summary  # a visible focus
    runs = script_runs(page)
    page.keyboard.press("Enter")  # open the panel
    wait_idle(page, since=runs)
    for label, option in (("query (row)", "2: short"), ("key (column)", "3: eat")):
        choose_by_keyboard(page, label, option)
    code = page.locator("[data-testid=stCode]").filter(has_text="score  = q_i").first
    code.wait_for(timeout=10_000)
    assert "query 'short' (row 2) → key 'eat' (column 3)" in code.inner_text()
    own = [v for v in audit(page) if v["where"] == "app" and v["impact"] in ("serious", "critical")]
    assert own == [], [(v["target"], v["summary"], v["html"]) for v in own]  # the opened panel audits clean


def test_presentation_mode_audits_clean_and_steps_by_keyboard(projector_page, app_url: str) -> None:
    page = projector_page
    goto_app(page, f"{app_url}/?present=1&step=5", charts=False)
    own = [v for v in audit(page) if v["where"] == "app" and v["impact"] in ("serious", "critical")]
    assert own == [], own
    title = page.locator("[data-testid=stMain] h2").first.inner_text()
    page.locator("[data-testid=stMain] h2").first.click()
    runs = script_runs(page)
    page.keyboard.press("PageUp")
    wait_idle(page, since=runs)
    assert page.locator("[data-testid=stMain] h2").first.inner_text() != title

"""Several people at once: each browser session keeps its own sentence, seed and edits.

Bounded and loopback-only: 8 browser contexts, each doing 20 interactions (a new sentence, a new
seed, an edit of W_Q, a page switch and back through the sidebar). The interactions of a round are
concurrent: every session acts before any rerun is waited for, so the 8 sessions' reruns overlap on
one server. After every round each session's weights heatmap must equal what the core computes for
that session's own configuration, an edit must show its own typed value in the session's grid, and
no page may show an error. A seed or a sentence that redraws W_Q sets its edits aside (the app says
so): the expected configuration follows the same rule.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from attention_core import LabConfig, run_lab
from tests.browser.helpers import (
    error_elements,
    figure,
    goto_all,
    grid_cell_text,
    press_cell,
    press_text_input,
    wait_all_shown,
)

SESSIONS = 8
INTERACTIONS = 20
KINDS = ("sentence", "seed", "edit", "switch")
OPEN_IN_PLAYGROUND = "Open this configuration in the Playground"  # a button of the NumPy notebook


def weights(page) -> np.ndarray:
    return np.array(figure(page, "weights")["traces"][0]["z"], dtype=float)


def follow_rule(old: LabConfig, new: LabConfig) -> LabConfig:
    """The app's rule: edits stay while their matrix's drawn values stay, else they are set aside."""
    if np.array_equal(run_lab(old.with_edits({})).base["W_q"], run_lab(new.with_edits({})).base["W_q"]):
        return new
    return new.with_edits({})


def weights_now(page) -> np.ndarray | None:
    """The weights as drawn right now, None while there is no one weights heatmap."""
    try:
        return weights(page)
    except AssertionError:
        return None


def redrawn(before: list[np.ndarray]):
    """For wait_all_shown: page k's weights differ from ``before[k]`` (its rerun has drawn them)."""
    return lambda k, page: (now := weights_now(page)) is not None and not np.array_equal(now, before[k])


def switch(pages: list, title: str, sign: str) -> None:
    """Through the sidebar on every page, as a person does; then wait for each page to show ``sign``."""
    for page in pages:
        page.locator("[data-testid=stSidebarNav] a").filter(has_text=title).first.click()
    wait_all_shown(pages, lambda k, page: page.locator(sign).first.is_visible())


def test_sessions_never_see_each_others_work(browser, app_url: str) -> None:
    contexts = [browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(SESSIONS)]
    t0, done = time.monotonic(), 0
    try:
        pages = [c.new_page() for c in contexts]
        configs = [
            dataclasses.replace(LabConfig(), sentence=f"student {k} asks about attention", seed=100 + k)
            for k in range(SESSIONS)
        ]
        goto_all(
            pages, [f"{app_url}/?s=student+{k}+asks+about+attention&seed={100 + k}" for k in range(SESSIONS)]
        )
        for r in range(INTERACTIONS):
            kind = KINDS[r % len(KINDS)]
            values = [1.5 + k + 0.25 * r for k in range(SESSIONS)]  # each student's own number in W_Q
            if kind == "switch":  # to another page and back
                switch(pages, "NumPy notebook", f"button:has-text('{OPEN_IN_PLAYGROUND}')")
                switch(pages, "Playground", ".st-key-edit_matrix")
            else:  # every session acts first; then each one's rerun is waited for
                before = [weights(page) for page in pages]
                for k, page in enumerate(pages):
                    cfg = configs[k]
                    if kind == "sentence":
                        text = f"round {r} for student {k}"
                        press_text_input(page, "Sentence", text)
                        configs[k] = follow_rule(cfg, dataclasses.replace(cfg, sentence=text))
                    elif kind == "seed":
                        seed = 1000 * (k + 1) + r
                        press_text_input(page, "Exact seed", str(seed))
                        configs[k] = follow_rule(cfg, dataclasses.replace(cfg, seed=seed))
                    else:
                        press_cell(page, "W_Q", 0, 0, str(values[k]))
                        configs[k] = cfg.with_edits({**cfg.edit_dict(), ("W_q", 0, 0): values[k]})

                wait_all_shown(pages, redrawn(before))
            done += SESSIONS
            for k, page in enumerate(pages):
                where = f"session {k}, interaction {r} ({kind})"
                assert error_elements(page) == [], where
                if kind == "edit":  # the exact value typed, committed in this session's own grid
                    shown = grid_cell_text(page.locator("[data-testid=stDataFrame]").first, 0, 0)
                    assert shown is not None and abs(float(shown) - values[k]) < 5e-5, (
                        f"{where}: W_Q[0, 0] shows {shown!r}, not {values[k]}"
                    )
                expected = run_lab(configs[k]).attention.heads[0].weights
                np.testing.assert_allclose(weights(page), expected, rtol=1e-6, err_msg=where)
    finally:
        print(f"{done} interactions in {SESSIONS} sessions took {time.monotonic() - t0:.0f} s")
        for c in contexts:
            c.close()

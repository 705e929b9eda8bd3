"""Several people at once: each browser session keeps its own sentence, seed and edits.

Bounded and loopback-only: 8 browser contexts, each doing 20 interactions in turn (a new
sentence, a new seed, an edit of W_Q, a page switch and back through the sidebar), so the
sessions are interleaved on one server. After every round each session's weights heatmap
must equal what the core computes for that session's own configuration, and no page may
show an error. A seed or a sentence that redraws W_Q sets its edits aside (the app says so):
the expected configuration follows the same rule.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from attention_core import LabConfig, run_lab
from tests.browser.helpers import (
    error_elements,
    figure,
    goto_app,
    set_cell,
    set_text_input,
    wait_idle,
)

SESSIONS = 8
INTERACTIONS = 20
KINDS = ("sentence", "seed", "edit", "switch")


def weights(page) -> np.ndarray:
    return np.array(figure(page, "weights")["traces"][0]["z"], dtype=float)


def follow_rule(old: LabConfig, new: LabConfig) -> LabConfig:
    """The app's rule: edits stay while their matrix's drawn values stay, else they are set aside."""
    if np.array_equal(run_lab(old.with_edits({})).base["W_q"], run_lab(new.with_edits({})).base["W_q"]):
        return new
    return new.with_edits({})


def test_sessions_never_see_each_others_work(browser, app_url: str) -> None:
    contexts = [browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(SESSIONS)]
    t0, done = time.monotonic(), 0
    try:
        pages = [c.new_page() for c in contexts]
        configs = []
        for k, page in enumerate(pages):
            cfg = dataclasses.replace(LabConfig(), sentence=f"student {k} asks about attention", seed=100 + k)
            goto_app(page, f"{app_url}/?s=student+{k}+asks+about+attention&seed={100 + k}")
            configs.append(cfg)
        for r in range(INTERACTIONS):
            kind = KINDS[r % len(KINDS)]
            for k, page in enumerate(pages):
                cfg = configs[k]
                if kind == "sentence":
                    text = f"round {r} for student {k}"
                    set_text_input(page, "Sentence", text)
                    configs[k] = follow_rule(cfg, dataclasses.replace(cfg, sentence=text))
                elif kind == "seed":
                    seed = 1000 * (k + 1) + r
                    set_text_input(page, "Exact seed", str(seed))
                    configs[k] = follow_rule(cfg, dataclasses.replace(cfg, seed=seed))
                elif kind == "edit":  # this student's own number in W_Q
                    value = 1.5 + k + 0.25 * r
                    set_cell(page, "W_Q", 0, 0, str(value))
                    configs[k] = cfg.with_edits({**cfg.edit_dict(), ("W_q", 0, 0): value})
                else:  # to another page and back, through the sidebar as a person does
                    nav = page.locator("[data-testid=stSidebarNav] a")
                    nav.filter(has_text="NumPy notebook").click()
                    page.get_by_role("button", name="Open this configuration in the Playground").wait_for()
                    wait_idle(page)
                    nav.filter(has_text="Playground").first.click()
                    page.locator(".st-key-edit_matrix").wait_for()
                    wait_idle(page)
                done += 1
            for k, page in enumerate(pages):
                assert error_elements(page) == [], f"session {k}, interaction {r} ({kind})"
                expected = run_lab(configs[k]).attention.heads[0].weights
                np.testing.assert_allclose(
                    weights(page), expected, rtol=1e-6, err_msg=f"session {k}, interaction {r} ({kind})"
                )
    finally:
        print(f"{done} interactions in {SESSIONS} sessions took {time.monotonic() - t0:.0f} s")
        for c in contexts:
            c.close()

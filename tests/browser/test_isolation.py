"""Several people at once: each browser session keeps its own sentence, seed and edits.

Bounded and loopback-only: 4 browser contexts (the 2-core machine runs the browsers,
not just the server), 6 interleaved rounds of interactions each.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from attention_core import LabConfig, run_lab
from tests.browser.helpers import (
    choose_matrix,
    edit_grid_cell,
    error_elements,
    figure,
    goto_app,
    set_text_input,
)

SESSIONS = 4
ROUNDS = 6


def weights(page) -> np.ndarray:
    return np.array(figure(page, "weights")["traces"][0]["z"], dtype=float)


def test_sessions_never_see_each_others_work(browser, app_url: str) -> None:
    contexts = [browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(SESSIONS)]
    try:
        pages = [c.new_page() for c in contexts]
        configs = []
        for k, page in enumerate(pages):
            cfg = dataclasses.replace(LabConfig(), sentence=f"student {k} asks about attention", seed=100 + k)
            goto_app(page, f"{app_url}/?s=student+{k}+asks+about+attention&seed={100 + k}")
            configs.append(cfg)
        for r in range(ROUNDS):
            for k, page in enumerate(pages):
                if r % 3 == 0:  # an edit of this student's own W_Q
                    value = 1.5 + k + 0.25 * r
                    edit_grid_cell(page, choose_matrix(page, "W_Q"), 0, 0, str(value))
                    configs[k] = configs[k].with_edits({**configs[k].edit_dict(), ("W_q", 0, 0): value})
                elif r % 3 == 1:  # a new sentence
                    text = f"round {r} for student {k}"
                    set_text_input(page, "Sentence", text)
                    new = dataclasses.replace(configs[k], sentence=text)
                    # The app's rule: edits stay while their matrix's drawn values stay; a
                    # sentence with another vocabulary size redraws W_Q, and its edits are set aside.
                    if not np.array_equal(run_lab(configs[k].with_edits({})).base["W_q"],
                                          run_lab(new.with_edits({})).base["W_q"]):
                        new = new.with_edits({})
                    configs[k] = new
                else:  # a page switch and back
                    goto_app(page, f"{app_url}/numpy_notebook")
                    page.go_back()
                    goto_app(page, page.url)
            for k, page in enumerate(pages):
                assert error_elements(page) == []
                expected = run_lab(configs[k]).attention.heads[0].weights
                np.testing.assert_allclose(weights(page), expected, rtol=1e-6, err_msg=f"session {k}, round {r}")
    finally:
        for c in contexts:
            c.close()

"""A session whose server restarts gets its work back from the address bar.

The server is killed in the middle of a session (its process group, as a crash or a redeploy
would) and started again on the same port. The page reconnects by itself; the new server has
no session state at all, so what comes back comes from the address the app kept up to date.
"""

from __future__ import annotations

import time

import numpy as np

from attention_core import LabConfig, run_lab
from tests.browser.helpers import (
    ROOT,
    error_elements,
    figure,
    free_port,
    goto_app,
    script_runs,
    set_cell,
    set_slider,
    start_streamlit,
    stop_streamlit,
    wait_idle,
)


def weights(page) -> np.ndarray:
    return np.array(figure(page, "weights")["traces"][0]["z"], dtype=np.float64)


def test_work_survives_a_server_restart(browser) -> None:
    port = free_port()
    url, proc = start_streamlit(ROOT / "app.py", port)
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = ctx.new_page()
        goto_app(page, url)
        set_slider(page, "Seed", 42)
        set_cell(page, "W_Q", 1, 3, "0.1234567890123456789")
        set_cell(page, "W_V", 0, 0, "-2.5e-7")
        wait_idle(page)
        before = weights(page)
        expected = (
            run_lab(
                LabConfig(seed=42).with_edits({("W_q", 1, 3): 0.1234567890123456789, ("W_v", 0, 0): -2.5e-7})
            )
            .attention.heads[0]
            .weights
        )
        np.testing.assert_array_equal(before, expected)

        runs = script_runs(page)
        stop_streamlit(proc)  # the server dies: every session's state with it
        page.wait_for_function(
            "() => document.querySelector('[data-testid=stApp]')"
            ".getAttribute('data-test-connection-state') !== 'CONNECTED'",
            timeout=30_000,
        )
        url2, proc = start_streamlit(ROOT / "app.py", port)
        assert url2 == url
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the page reconnects by itself and reruns on the new server
            if (
                page.evaluate(
                    "() => document.querySelector('[data-testid=stApp]')"
                    ".getAttribute('data-test-connection-state')"
                )
                == "CONNECTED"
            ):
                break
            time.sleep(0.2)
        wait_idle(page, 60_000)
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=60_000)
        wait_idle(page, 60_000)
        assert script_runs(page) > runs  # drawn again by the new server, not left over on the page
        assert error_elements(page) == []
        np.testing.assert_array_equal(weights(page), before)  # same weights, to the bit
    finally:
        ctx.close()
        stop_streamlit(proc)

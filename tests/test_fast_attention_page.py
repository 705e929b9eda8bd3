"""AppTest of the page "How attention is computed fast" (pages/fast_attention.py).

The tiles end at the Playground's weights (run_lab of the same configuration), the step
controls move through the tiles, masked tiles are skipped, and the KV cache's memory and
outputs follow the core.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from attention_core import LabConfig, kv_cache_bytes_per_token, run_lab
from tests.plotly_json import decode, fig

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "fast_attention.py")


@pytest.fixture
def at() -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=60).run()
    assert_clean(app)
    return app


def assert_clean(app: AppTest) -> None:
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error, [e.value for e in app.error]


def texts(app: AppTest) -> str:
    return "\n".join(t.value for t in app.text)


def sentence(app: AppTest) -> str:
    return next(t.value for t in app.text if t.value.startswith("Sentence: "))[len("Sentence: ") :]


def test_last_tile_ends_at_the_playground_weights(at: AppTest) -> None:
    at.select_slider(key="fa_step").set_value(8).run()  # the last of 9 tiles
    assert_clean(at)
    expected = run_lab(replace(LabConfig(), sentence=sentence(at), causal=True)).attention.heads[0]
    z = decode(fig(at, "weights so far")["data"][0]["z"])
    np.testing.assert_allclose(z, expected.weights, rtol=0, atol=1e-15)
    out = decode(fig(at, "output so far")["data"][0]["z"])
    np.testing.assert_allclose(out, expected.output, rtol=0, atol=1e-12)
    gap = re.search(r"max \|tiled − exact\| = (\S+) on the weights, (\S+) on the output", texts(at))
    assert gap is not None and float(gap.group(1)) <= 1e-12 and float(gap.group(2)) <= 1e-12


def test_first_step_shows_one_tile_and_blank_rows(at: AppTest) -> None:
    z = decode(fig(at, "weights so far")["data"][0]["z"])  # blocks of 8, 24 tokens, causal
    assert np.isfinite(z[:8, :8]).all() and np.isnan(z[8:]).all() and np.isnan(z[:, 8:]).all()
    m = decode(fig(at, "m: running max")["data"][0]["z"])  # the tile's 8 query rows: m and ℓ
    assert m.shape == (8, 2)
    expected = run_lab(replace(LabConfig(), sentence=sentence(at), causal=True)).attention.heads[0]
    np.testing.assert_array_equal(m[:, 0], expected.masked_scores[:8, :8].max(axis=1))
    out = decode(fig(at, "output so far")["data"][0]["z"])
    assert np.isfinite(out[:8]).all() and np.isnan(out[8:]).all()
    assert "Step 1 of 9" in texts(at) and "skipped in the whole pass: 3 of 9" in texts(at)


def test_previous_and_next_move_one_tile_and_stay_in_range(at: AppTest) -> None:
    at.button(key="fa_prev").click().run()
    assert at.select_slider(key="fa_step").value == 0
    at.button(key="fa_next").click().run()
    at.button(key="fa_next").click().run()
    assert at.select_slider(key="fa_step").value == 2
    # Query blocks outer, key blocks inner (FlashAttention-2): step 3 is block 0 × key block 2.
    assert "Step 3 of 9: query block 0 (tokens 0–7) × key block 2 (tokens 16–23) — skipped" in texts(at)


def test_masked_tiles_are_skipped_and_counted(at: AppTest) -> None:
    at.slider(key="fa_tokens").set_value(64).run()
    at.selectbox(key="fa_block").set_value(4).run()
    assert_clean(at)
    assert "skipped in the whole pass: 120 of 256" in texts(at)  # 16 × 15 / 2 tiles above the diagonal
    at.select_slider(key="fa_step").set_value(1).run()  # query block 0 × key block 1: above the diagonal
    assert "skipped: every query–key pair in it is masked" in texts(at)
    assert at.info and "nothing is computed" in at.info[0].value
    at.toggle(key="fa_causal").set_value(False).run()
    assert "skipped in the whole pass: 0 of 256" in texts(at)


def test_step_is_clamped_when_the_tiles_get_fewer(at: AppTest) -> None:
    at.slider(key="fa_tokens").set_value(64).run()
    at.selectbox(key="fa_block").set_value(4).run()
    at.select_slider(key="fa_step").set_value(255).run()
    at.selectbox(key="fa_block").set_value(16).run()
    assert_clean(at)
    assert at.select_slider(key="fa_step").value == 15 and "Step 16 of 16" in texts(at)


def test_kv_cache_memory_and_outputs(at: AppTest) -> None:
    at.selectbox(key="fa_heads").set_value(4).run()
    at.selectbox(key="fa_kv_heads").set_value(2).run()
    at.slider(key="fa_token").set_value(10).run()
    assert_clean(at)
    per_token = kv_cache_bytes_per_token(2, 6, 7)  # d_k 24 / 4 heads, d_v 28 / 4 heads
    assert f"the cache holds 11 keys and values, {11 * per_token:,} bytes" in texts(at)
    assert f"{kv_cache_bytes_per_token(4, 6, 7)} bytes per token" in texts(at)
    k = decode(fig(at, "K_cache")["data"][0]["z"])
    assert k.shape == (11, 2 * 6)
    full = run_lab(replace(LabConfig(), sentence=sentence(at), causal=True, n_heads=4))
    np.testing.assert_allclose(k, (full.embeddings @ full.W_k[:, :12])[:11], rtol=0, atol=1e-12)
    gap = re.search(r"max \|cached − full causal\| = (\S+)", texts(at))
    assert gap is not None and float(gap.group(1)) <= 1e-12
    w = decode(fig(at, "weights of the new token")["data"][0]["z"])
    assert w.shape == (4, 11)
    np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=0, atol=1e-12)

"""The seed walkthroughs as presets: every number their tutorials printed, from run_lab.

Printed numbers live in attention_core/presets.py (copied from the seed files,
cell named); R numbers come from a real R run (tests/fixtures/r_reference.json).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from attention_core import PRESETS, r_compute_weights, run_lab
from attention_core.presets import FOUR_WORDS, Preset

FIXTURES = Path(__file__).parent / "fixtures"


def tolerance(decimals: int) -> float:
    """Half a unit in the last printed digit; at least 1e-4 for 4-digit float32 prints
    (some torch values sit on a rounding boundary)."""
    return 1e-4 if decimals == 4 else 0.5 * 10.0**-decimals + 1e-12


def printed(p: Preset, name: str) -> np.ndarray:
    return np.array(p.printed[name].values, dtype=float)


def test_numpy_notebook_every_printed_number() -> None:
    p = PRESETS["numpy_notebook"]
    t = p.trace()
    head = t.attention.heads[0]
    got = {
        "W_q": t.W_q,
        "Q": head.Q,
        "K": head.K,
        "V": head.V,
        "scores": head.scores,
        "weights": head.weights,
        "output": t.attention.output,
    }
    assert set(got) == set(p.printed)
    for name, value in got.items():
        spec = p.printed[name]
        if name == "weights":  # printed in scientific notation with 9 significant digits
            np.testing.assert_allclose(value, printed(p, name), rtol=5e-9, err_msg=name)
        else:
            np.testing.assert_allclose(value, printed(p, name), atol=tolerance(spec.decimals), err_msg=name)


def _r_fixture() -> dict:
    return json.loads((FIXTURES / "r_reference.json").read_text())


def _rows(x: object) -> np.ndarray:
    return np.array(x, dtype=float)


def test_r_vignette_matches_real_r_run() -> None:
    ref = _r_fixture()["vignette"]
    t = PRESETS["r_vignette"].trace()
    head = t.attention.heads[0]
    np.testing.assert_array_equal(t.embeddings, np.array(FOUR_WORDS))
    np.testing.assert_array_equal(t.W_q, _rows(ref["W_Q"]))
    np.testing.assert_array_equal(t.W_k, _rows(ref["W_K"]))
    np.testing.assert_array_equal(t.W_v, _rows(ref["W_V"]))
    np.testing.assert_array_equal(head.scores, _rows(ref["scores"]))
    np.testing.assert_allclose(head.weights, _rows(ref["weights"]), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(t.attention.output, _rows(ref["attention"]), rtol=1e-13, atol=1e-15)
    # ComputeWeights divides by sqrt(nrow(scores)) = sqrt(4), not sqrt(d_k) = sqrt(3).
    assert head.scale == pytest.approx(1 / math.sqrt(4))
    np.testing.assert_allclose(r_compute_weights(head.scores), head.weights, rtol=1e-15)


def test_r_vignette_first_weight_matrix_as_in_package_docs() -> None:
    # R package 'attention', RowMax documentation: set.seed(0); matrix(floor(runif(9,0,3)),3,3)
    np.testing.assert_array_equal(PRESETS["r_vignette"].trace().W_q, [[2, 1, 2], [0, 2, 2], [1, 0, 1]])


def test_pytorch_notebook_every_printed_number() -> None:
    p = PRESETS["pytorch_notebook"]
    t = p.trace()
    head = t.attention.heads[0]
    assert t.tokens_q.ids == tuple(int(i) for i in p.printed["ids"].values)
    np.testing.assert_allclose(t.embeddings, printed(p, "embeddings"), atol=1e-4)
    # The notebook's "is" is token 1; omega_2 = query_2 · keys (unscaled), In [22].
    np.testing.assert_allclose(head.scores[1], printed(p, "omega_2"), atol=1e-4)
    np.testing.assert_allclose(head.scores[1, 4], printed(p, "omega_24")[0], atol=1e-4)
    np.testing.assert_allclose(head.weights[1], printed(p, "attention_weights_2"), atol=1e-4)
    assert head.scale == pytest.approx(1 / math.sqrt(24))


def test_pytorch_notebook_matches_real_torch_run() -> None:
    ref = json.loads((FIXTURES / "torch_reference.json").read_text())["pytorch_seed"]
    t = PRESETS["pytorch_notebook"].trace()
    head = t.attention.heads[0]
    # Torch computed in float32; our maths is float64 on the same float32 draws.
    np.testing.assert_allclose(t.embeddings, _rows(ref["embedding"]), atol=2e-6)
    np.testing.assert_array_equal(t.W_q, _rows(ref["W_query"]).T)  # rand is bit-exact
    np.testing.assert_array_equal(t.W_v, _rows(ref["W_value"]).T)
    # torch sums 16 float32 products per score; its rounding reaches ~1.1e-4 on scores of ~30.
    np.testing.assert_allclose(head.scores, _rows(ref["omega"]), atol=2e-4, rtol=0)
    np.testing.assert_allclose(head.weights, _rows(ref["weights"]), atol=1e-6)


def test_blog_self_attention_has_no_projections() -> None:
    t = PRESETS["blog_self"].trace()
    head = t.attention.heads[0]
    np.testing.assert_array_equal(head.Q, t.embeddings)
    np.testing.assert_array_equal(head.K, t.embeddings)
    np.testing.assert_array_equal(head.V, t.embeddings)
    assert t.tokens_q.tokens == ("I", "ate", "an", "apple")
    # Uniform [0, 1) draws from np.random.seed(0), as np.random.rand would give.
    table = np.random.RandomState(0).rand(len(t.vocabulary), 4)
    np.testing.assert_array_equal(t.embedding_table, table)


def test_blog_multihead_concatenates_two_heads() -> None:
    t = PRESETS["blog_multihead"].trace()
    mh = t.attention
    assert mh.n_heads == 2 and t.W_o is not None and t.W_o.shape == (8, 8)
    np.testing.assert_allclose(mh.concat, np.hstack([h.output for h in mh.heads]))
    np.testing.assert_allclose(mh.output, mh.concat @ t.W_o)
    assert all(h.scale == pytest.approx(0.5) for h in mh.heads)


def test_blog_cross_attention_uses_second_sentence() -> None:
    t = PRESETS["blog_cross"].trace()
    head = t.attention.heads[0]
    assert t.tokens_kv.tokens == ("j", "ai", "mangé", "une", "pomme")
    assert head.weights.shape == (4, 5)
    np.testing.assert_allclose(head.weights.sum(axis=1), 1.0)
    np.testing.assert_array_equal(head.K, t.embeddings_kv @ t.W_k)


@pytest.mark.parametrize("key", sorted(PRESETS))
def test_every_preset_runs_and_is_deterministic(key: str) -> None:
    a, b = run_lab(PRESETS[key].config), run_lab(PRESETS[key].config)
    np.testing.assert_array_equal(a.attention.output, b.attention.output)
    assert PRESETS[key].description and PRESETS[key].title

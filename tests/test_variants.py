"""Attention variants as options of the one mechanism: the bias hook, ALiBi, sliding window,
RoPE, grouped-query attention, positional tables.

Reference numbers come from one-off runs of transformers / torch, stored in
tests/fixtures/variant_reference.npz by tests/fixtures/make_variant_fixtures.py
(no torch needed here).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attention_core import (
    ValidationError,
    alibi_bias,
    alibi_slopes,
    causal_mask,
    explain_weight,
    grouped_query_attention,
    kv_head_of,
    multi_head_attention,
    rope,
    scaled_dot_product_attention,
    sinusoidal_positions,
    sliding_window_mask,
    softmax,
)
from attention_core.rope import rope_heads

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def ref() -> dict[str, np.ndarray]:
    with np.load(FIXTURES / "variant_reference.npz") as f:
        return dict(f)


def _rand(seed: int, *shape: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape)


# ----------------------------------------------------------------------------- softmax rows
def test_softmax_inf_in_one_row_leaves_other_rows_alone() -> None:
    # Regression: a +inf in row 0 used to turn row 1 into all zeros.
    x = np.array([[1.0, np.inf, 3.0], [0.0, 1.0, 2.0], [-np.inf, -np.inf, -np.inf]])
    w = softmax(x)
    np.testing.assert_array_equal(w[0], [0.0, 1.0, 0.0])
    np.testing.assert_allclose(w[1], softmax(np.array([0.0, 1.0, 2.0])), rtol=0, atol=1e-15)
    np.testing.assert_array_equal(w[2], [0.0, 0.0, 0.0])


def test_softmax_inf_along_axis_0_is_per_column() -> None:
    x = np.array([[np.inf, 0.0], [np.inf, 1.0]])
    w = softmax(x, axis=0)
    np.testing.assert_array_equal(w[:, 0], [0.5, 0.5])
    np.testing.assert_allclose(w[:, 1], softmax(np.array([0.0, 1.0])), atol=1e-15)


# ----------------------------------------------------------------------------- the bias hook
def test_bias_is_added_to_scaled_scores_before_the_mask() -> None:
    Q, K, V = _rand(1, 5, 4), _rand(2, 5, 4), _rand(3, 5, 3)
    bias = _rand(4, 5, 5)
    t = scaled_dot_product_attention(Q, K, V, bias=bias, mask=causal_mask(5))
    np.testing.assert_array_equal(t.position_bias, bias)
    np.testing.assert_array_equal(t.biased_scores, t.scaled_scores + bias)
    expect = softmax(np.where(causal_mask(5), Q @ K.T / 2.0 + bias, -np.inf))
    np.testing.assert_allclose(t.weights, expect, rtol=0, atol=1e-15)
    ex = explain_weight(t, 3, 1)
    assert ex["position_bias"] == bias[3, 1]
    assert ex["biased_score"] == t.biased_scores[3, 1]


def test_no_bias_means_no_copy() -> None:
    Q, K, V = _rand(1, 4, 2), _rand(2, 4, 2), _rand(3, 4, 2)
    t = scaled_dot_product_attention(Q, K, V)
    assert t.position_bias is None
    assert t.biased_scores is t.scaled_scores and t.masked_scores is t.scaled_scores


def test_bias_of_wrong_shape_or_nonfinite_is_refused() -> None:
    Q = _rand(1, 3, 2)
    with pytest.raises(ValidationError, match="bias has shape"):
        scaled_dot_product_attention(Q, Q, Q, bias=np.zeros((3, 4)))
    with pytest.raises(ValidationError, match="non-finite"):
        scaled_dot_product_attention(Q, Q, Q, bias=np.full((3, 3), np.nan))


def test_bias_survives_the_overflow_path() -> None:
    # Scores near 1e300 take the rescaling path; a bias of ±inf-free size must still count there.
    Q = np.array([[1e200, 0.0], [0.0, 1.0]])
    K = np.array([[1e200, 0.0], [1e200, 0.0], [0.0, 1.0]])
    V = np.eye(3)
    bias = np.array([[0.0, np.log(3.0), 0.0], [0.0, 0.0, 0.0]])
    t = scaled_dot_product_attention(Q, K, V, scale=1.0, bias=bias)
    # Row 0: keys 0 and 1 tie at +huge; the bias log 3 makes key 1 three times as likely.
    np.testing.assert_allclose(t.weights[0], [0.25, 0.75, 0.0], atol=1e-15)
    # Row 1 is of ordinary size: it keeps its own scores and weights (rows are independent;
    # the global rescaling used to underflow it to a uniform row).
    np.testing.assert_array_equal(t.scores[1], [0.0, 0.0, 1.0])
    np.testing.assert_allclose(t.weights[1], softmax(np.array([0.0, 0.0, 1.0])), atol=1e-15)

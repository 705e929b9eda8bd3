"""The attention maths: softmax, scaled dot-product attention, masks, heads.

Reference numbers come from the NumPy seed notebook (seed 001, cells named) and
from real torch runs stored in tests/fixtures/torch_reference.json.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from attention_core import (
    ValidationError,
    causal_mask,
    cross_attention,
    from_column_convention,
    multi_head_attention,
    r_compute_weights,
    scaled_dot_product_attention,
    self_attention,
    softmax,
)

FIXTURES = Path(__file__).parent / "fixtures"

# NumPy seed notebook (001): the four words and W_Q, W_K, W_V from np.random.seed(42).
WORDS = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 1]], dtype=float)

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
huge = st.floats(min_value=-1e300, max_value=1e300, allow_nan=False, allow_infinity=False)


# ----------------------------------------------------------------------------- softmax
def test_softmax_matches_numpy_notebook_first_row() -> None:
    # NumPy seed 001, In [43]/[44]: scores [8, 2, 10, 2] / sqrt(3) -> printed weights.
    w = softmax(np.array([8, 2, 10, 2]) / 3**0.5)
    np.testing.assert_allclose(w, [0.23608986, 0.00738988, 0.74913039, 0.00738988], atol=5e-9)


def test_softmax_fully_masked_row_is_zero_not_nan() -> None:
    x = np.array([[0.0, 1.0], [-np.inf, -np.inf]])
    w = softmax(x)
    np.testing.assert_array_equal(w[1], [0.0, 0.0])
    assert np.isclose(w[0].sum(), 1.0)


def test_softmax_plus_inf_takes_all_weight() -> None:
    np.testing.assert_array_equal(softmax(np.array([1.0, np.inf, 3.0, np.inf])), [0, 0.5, 0, 0.5])


def test_softmax_refuses_nan() -> None:
    with pytest.raises(ValidationError, match="NaN"):
        softmax(np.array([1.0, np.nan]))


@given(arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 6)), elements=finite), finite)
def test_softmax_rows_sum_to_one_and_shift_invariant(x: np.ndarray, c: float) -> None:
    w = softmax(x, axis=-1)
    np.testing.assert_allclose(w.sum(axis=-1), 1.0, rtol=1e-12)
    assert np.all(w >= 0)
    shift = np.linspace(-1, 1, x.shape[0])[:, None] * c  # a different constant per row
    np.testing.assert_allclose(softmax(x + shift, axis=-1), w, atol=1e-9)


@given(arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(1, 5)), elements=huge))
def test_softmax_huge_finite_inputs_give_finite_weights(x: np.ndarray) -> None:
    w = softmax(x)
    assert np.all(np.isfinite(w))
    np.testing.assert_allclose(w.sum(axis=-1), 1.0, rtol=1e-12)


# ----------------------------------------------------------------------------- attention
def numpy_seed_matrices() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rs = np.random.RandomState(42)  # == np.random.seed(42) in the notebook
    return rs.randint(3, size=(3, 3)), rs.randint(3, size=(3, 3)), rs.randint(3, size=(3, 3))


def test_self_attention_reproduces_numpy_notebook() -> None:
    W_Q, W_K, W_V = numpy_seed_matrices()
    t = self_attention(WORDS, W_Q, W_K, W_V)
    # In [50]: scores, exact integers
    np.testing.assert_array_equal(t.scores, [[8, 2, 10, 2], [4, 0, 4, 0], [12, 2, 14, 2], [10, 4, 14, 3]])
    assert t.scale == pytest.approx(1 / math.sqrt(3))
    np.testing.assert_allclose(t.scaled_scores, t.scores / math.sqrt(3))
    # In [51]: weights printed with 9 significant digits
    np.testing.assert_allclose(
        t.weights,
        [
            [2.36089863e-01, 7.38987555e-03, 7.49130386e-01, 7.38987555e-03],
            [4.54826323e-01, 4.51736775e-02, 4.54826323e-01, 4.51736775e-02],
            [2.39275049e-01, 7.43870015e-04, 7.59237211e-01, 7.43870015e-04],
            [8.99501754e-02, 2.81554063e-03, 9.05653685e-01, 1.58059922e-03],
        ],
        rtol=5e-9,
    )
    # In [52] / In [53]: attention printed with 8 decimals
    np.testing.assert_allclose(
        t.output,
        [
            [0.98522025, 1.74174051, 0.75652026],
            [0.90965265, 1.40965265, 0.5],
            [0.99851226, 1.75849334, 0.75998108],
            [0.99560386, 1.90407309, 0.90846923],
        ],
        atol=5e-9,
    )


def test_trace_keeps_inputs_and_projections() -> None:
    W_Q, W_K, W_V = numpy_seed_matrices()
    t = self_attention(WORDS, W_Q, W_K, W_V)
    np.testing.assert_array_equal(t.Q, WORDS @ W_Q)
    np.testing.assert_array_equal(t.W_k, W_K)
    assert t.x_q is not None and t.x_kv is not None
    np.testing.assert_array_equal(t.x_kv, WORDS)
    assert not t.fully_masked_rows.any()


def test_causal_mask_and_weights_zero_above_diagonal() -> None:
    np.testing.assert_array_equal(causal_mask(3), [[1, 0, 0], [1, 1, 0], [1, 1, 1]])
    W_Q, W_K, W_V = numpy_seed_matrices()
    t = self_attention(WORDS, W_Q, W_K, W_V, mask=causal_mask(4))
    assert np.all(t.weights[np.triu_indices(4, 1)] == 0)
    assert np.all(np.isneginf(t.masked_scores[np.triu_indices(4, 1)]))
    assert t.weights[0, 0] == 1.0  # the first token can only see itself


def test_fully_masked_row_flagged_with_zero_output() -> None:
    mask = np.array([[True, False], [False, False]])
    t = scaled_dot_product_attention(np.ones((2, 2)), np.ones((2, 2)), np.ones((2, 3)), mask=mask)
    np.testing.assert_array_equal(t.fully_masked_rows, [False, True])
    np.testing.assert_array_equal(t.weights[1], [0, 0])
    np.testing.assert_array_equal(t.output[1], [0, 0, 0])


@pytest.mark.parametrize(
    ("Q", "K", "V", "needle"),
    [
        (np.ones((2, 3)), np.ones((2, 4)), np.ones((2, 2)), r"Q \(2, 3\) and K \(2, 4\)"),
        (np.ones((2, 3)), np.ones((4, 3)), np.ones((5, 2)), r"K \(4, 3\) and V \(5, 2\)"),
        (np.ones(3), np.ones((4, 3)), np.ones((4, 2)), r"Q must be 2-D, got shape \(3,\)"),
    ],
)
def test_shapes_that_do_not_fit_name_the_shapes(
    Q: np.ndarray, K: np.ndarray, V: np.ndarray, needle: str
) -> None:
    with pytest.raises(ValidationError, match=needle):
        scaled_dot_product_attention(Q, K, V)


def test_projection_shape_error_names_shapes() -> None:
    with pytest.raises(ValidationError, match=r"input \(4, 3\).*W_q \(5, 2\)"):
        self_attention(WORDS, np.ones((5, 2)), np.ones((5, 2)), np.ones((5, 2)))


def test_mask_shape_and_dtype_checked() -> None:
    with pytest.raises(ValidationError, match="mask has shape"):
        scaled_dot_product_attention(
            np.ones((2, 2)), np.ones((3, 2)), np.ones((3, 2)), mask=np.ones((2, 2), bool)
        )
    with pytest.raises(ValidationError, match="boolean"):
        scaled_dot_product_attention(np.ones((2, 2)), np.ones((2, 2)), np.ones((2, 2)), mask=np.ones((2, 2)))


def test_non_finite_inputs_refused() -> None:
    with pytest.raises(ValidationError, match=r"non-finite value \(nan\) at row 1, column 0"):
        self_attention(np.array([[1.0, 2.0], [np.nan, 0.0]]), np.eye(2), np.eye(2), np.eye(2))


def test_explicit_scale_used() -> None:
    t = scaled_dot_product_attention(np.eye(2), np.eye(2), np.eye(2), scale=0.0)
    np.testing.assert_allclose(t.weights, 0.5)  # scale 0: uniform weights
    with pytest.raises(ValidationError, match="finite"):
        scaled_dot_product_attention(np.eye(2), np.eye(2), np.eye(2), scale=float("inf"))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6), st.integers(1, 4), st.integers(0, 10_000), st.booleans())
def test_self_attention_is_permutation_equivariant(n: int, d: int, seed: int, masked: bool) -> None:
    rs = np.random.RandomState(seed)
    X, W_q, W_k, W_v = rs.randn(n, d), rs.randn(d, d), rs.randn(d, d), rs.randn(d, d + 1)
    perm = rs.permutation(n)
    t = self_attention(X, W_q, W_k, W_v)
    tp = self_attention(X[perm], W_q, W_k, W_v)
    np.testing.assert_allclose(tp.output, t.output[perm], atol=1e-10)
    np.testing.assert_allclose(tp.weights, t.weights[np.ix_(perm, perm)], atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 3)), elements=huge),
    st.integers(0, 10_000),
    st.booleans(),
)
def test_huge_finite_inputs_give_finite_weights(X: np.ndarray, seed: int, causal: bool) -> None:
    rs = np.random.RandomState(seed)
    d = X.shape[1]
    W = rs.choice([-1e3, -1.0, 0.0, 1.0, 1e3], size=(d, d))
    mask = causal_mask(X.shape[0]) if causal else None
    t = self_attention(X, W, W.T.copy(), np.eye(d), mask=mask)
    assert np.all(np.isfinite(t.weights))
    np.testing.assert_allclose(t.weights.sum(axis=-1), 1.0, rtol=1e-12)


def test_overflowing_scores_pick_the_largest_without_nan() -> None:
    # q·k_0 = 1e300 * 1e300 - 1e300 * 1e300 = 0 exactly, but inf - inf in float64.
    Q = np.array([[1e300, 1e300]])
    K = np.array([[1e300, -1e300], [1e300, 1e300]])
    t = scaled_dot_product_attention(Q, K, np.eye(2))
    np.testing.assert_array_equal(t.weights, [[0.0, 1.0]])
    assert not np.isnan(t.scores).any()


# ----------------------------------------------------------------------------- heads
def test_one_head_equals_self_attention() -> None:
    W_Q, W_K, W_V = numpy_seed_matrices()
    mh = multi_head_attention(WORDS, WORDS, W_Q, W_K, W_V, None, 1)
    single = self_attention(WORDS, W_Q, W_K, W_V)
    np.testing.assert_array_equal(mh.output, single.output)
    np.testing.assert_array_equal(mh.heads[0].weights, single.weights)


def test_heads_take_contiguous_blocks() -> None:
    rs = np.random.RandomState(3)
    X, W_q, W_k, W_v = rs.randn(5, 4), rs.randn(4, 6), rs.randn(4, 6), rs.randn(4, 6)
    mh = multi_head_attention(X, X, W_q, W_k, W_v, None, 3, causal=True)
    for h, head in enumerate(mh.heads):
        block = slice(2 * h, 2 * h + 2)
        ref = self_attention(X, W_q[:, block], W_k[:, block], W_v[:, block], mask=causal_mask(5))
        np.testing.assert_allclose(head.weights, ref.weights)
        np.testing.assert_allclose(mh.concat[:, block], ref.output)
        assert head.scale == pytest.approx(1 / math.sqrt(2))


def test_heads_must_divide() -> None:
    with pytest.raises(ValidationError, match="n_heads = 4 must divide d_k = 6"):
        multi_head_attention(
            np.ones((2, 3)), np.ones((2, 3)), np.ones((3, 6)), np.ones((3, 6)), np.ones((3, 6)), None, 4
        )


def _torch_mha_cases() -> list[dict]:
    path = FIXTURES / "torch_reference.json"
    if not path.exists():
        return []
    return json.loads(path.read_text())["multihead"]["cases"]


@pytest.mark.parametrize("case", _torch_mha_cases(), ids=lambda c: c["name"])
def test_multi_head_matches_torch_multiheadattention(case: dict) -> None:
    """torch.nn.MultiheadAttention(bias=False, batch_first=True), float64, from a real torch run."""
    E = case["E"]
    in_proj = np.array(case["in_proj_weight"])  # (3E, E), torch's column convention
    out_proj = np.array(case["out_proj_weight"])  # (E, E)
    mh = multi_head_attention(
        np.array(case["x_q"]),
        np.array(case["x_kv"]),
        from_column_convention(in_proj[:E]),
        from_column_convention(in_proj[E : 2 * E]),
        from_column_convention(in_proj[2 * E :]),
        from_column_convention(out_proj),
        case["num_heads"],
        causal=case["causal"],
    )
    np.testing.assert_allclose(mh.output, np.array(case["attn_output"]), atol=1e-12, rtol=1e-10)
    per_head = np.array(case["attn_weights"])  # (h, n_q, n_kv)
    for h, head in enumerate(mh.heads):
        np.testing.assert_allclose(head.weights, per_head[h], atol=1e-12)


def test_torch_fixture_present() -> None:
    assert len(_torch_mha_cases()) >= 4, "tests/fixtures/torch_reference.json lacks the multihead cases"


def test_cross_attention_shapes() -> None:
    rs = np.random.RandomState(0)
    t = cross_attention(rs.randn(3, 4), rs.randn(5, 4), rs.randn(4, 2), rs.randn(4, 2), rs.randn(4, 6))
    assert t.weights.shape == (3, 5) and t.output.shape == (3, 6)
    np.testing.assert_allclose(t.weights.sum(axis=1), 1.0)


# ----------------------------------------------------------------------------- R package
def test_r_compute_weights_matches_package_documentation() -> None:
    # bquast/attention, R/ComputeWeights.R roxygen example: the printed output of ComputeWeights.
    scores = np.array([[6, 4, 10, 5], [4, 6, 10, 6], [10, 10, 20, 11], [3, 1, 4, 2]], dtype=float)
    np.testing.assert_allclose(
        r_compute_weights(scores),
        [
            [0.10679806, 0.03928881, 0.7891368, 0.06477630],
            [0.03770440, 0.10249120, 0.7573132, 0.10249120],
            [0.00657627, 0.00657627, 0.9760050, 0.01084244],
            [0.27600434, 0.10153632, 0.4550542, 0.16740510],
        ],
        atol=5e-8,
    )


def test_r_compute_weights_quirks() -> None:
    w = r_compute_weights(np.array([[1.0, 2.0, 3.0, 4.0]]))  # one row: sqrt(1), padded to 4 x 4
    assert w.shape == (4, 4)
    np.testing.assert_allclose(w[0], softmax(np.array([1.0, 2.0, 3.0, 4.0])))
    np.testing.assert_array_equal(w[1:], 0.0)
    with pytest.raises(ValidationError, match="4 x 4"):
        r_compute_weights(np.ones((5, 5)))

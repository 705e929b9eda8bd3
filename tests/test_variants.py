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


def _heads_to_cols(a: np.ndarray) -> np.ndarray:
    """torch layout (1, heads, n, h) → ours (n, heads·h), head blocks side by side."""
    return a[0].transpose(1, 0, 2).reshape(a.shape[2], -1)


# ----------------------------------------------------------------------------- RoPE
def test_rope_matches_llama_apply_rotary_pos_emb(ref: dict[str, np.ndarray]) -> None:
    pos = ref["rope_positions"]
    np.testing.assert_allclose(
        rope(ref["rope_q"][0], positions=pos), ref["rope_q_out"][0], rtol=0, atol=1e-10
    )
    np.testing.assert_allclose(
        rope(ref["rope_k"][0], positions=pos), ref["rope_k_out"][0], rtol=0, atol=1e-10
    )
    # The same through the head-block layout the layer uses.
    np.testing.assert_allclose(
        rope_heads(_heads_to_cols(ref["rope_q"]), 3, positions=pos),
        _heads_to_cols(ref["rope_q_out"]),
        rtol=0,
        atol=1e-10,
    )


def test_rope_angles_agree_with_llama_rotary_embedding_in_float32(ref: dict[str, np.ndarray]) -> None:
    # LlamaRotaryEmbedding computes its angles in float32: agreement to float32 precision only.
    rotated = rope(np.ones((7, 8)), positions=ref["rope_positions"])  # cos + rotate_half(1)·sin
    half = np.concatenate([-np.ones((7, 4)), np.ones((7, 4))], axis=1)
    cos, sin = ref["rope_llama_cos"], ref["rope_llama_sin"]
    np.testing.assert_allclose(rotated, cos + half * sin, rtol=0, atol=1e-5)


@settings(max_examples=60, deadline=None)
@given(
    m=st.integers(0, 500),
    n=st.integers(0, 500),
    shift=st.integers(-200, 200),
    seed=st.integers(0, 2**32 - 1),
    half=st.integers(1, 8),
)
def test_rope_score_depends_only_on_the_distance(m: int, n: int, shift: int, seed: int, half: int) -> None:
    q, k = _rand(seed, 1, 2 * half), _rand(seed + 1, 1, 2 * half)
    m2, n2 = m + shift, n + shift
    if min(m2, n2) < 0:
        m2, n2 = m - shift, n - shift
    score = rope(q, positions=np.array([m])) @ rope(k, positions=np.array([n])).T
    moved = rope(q, positions=np.array([m2])) @ rope(k, positions=np.array([n2])).T
    np.testing.assert_allclose(score, moved, rtol=0, atol=1e-9 * (1 + abs(float(score[0, 0]))))


def test_rope_at_position_zero_is_identity_and_keeps_norms() -> None:
    x = _rand(3, 5, 6)
    np.testing.assert_array_equal(rope(x, positions=np.zeros(5)), x)
    np.testing.assert_allclose(np.linalg.norm(rope(x), axis=1), np.linalg.norm(x, axis=1), rtol=1e-13)
    with pytest.raises(ValidationError, match="even"):
        rope(_rand(1, 2, 3))


# ----------------------------------------------------------------------------- ALiBi
@pytest.mark.parametrize("heads", [8, 12, 6])
def test_alibi_slopes_match_bloom(ref: dict[str, np.ndarray], heads: int) -> None:
    np.testing.assert_allclose(alibi_slopes(heads), ref[f"alibi_slopes_{heads}"], rtol=1e-6, atol=0)
    # Bloom's tensor is +slope·j; ours −slope·|i − j|: they differ by slope·i, a constant per row.
    i = 4
    ours = alibi_bias(alibi_slopes(heads), 10)[:, i, :]  # (heads, 10) query i's row
    # On the keys a causal query sees (j ≤ i): Bloom − slope·i == ours.
    np.testing.assert_allclose(
        (ref[f"alibi_tensor_{heads}"] - alibi_slopes(heads)[:, None] * i)[:, : i + 1],
        ours[:, : i + 1],
        rtol=1e-6,
        atol=1e-6,
    )


def test_alibi_slopes_of_paper_for_powers_of_two() -> None:
    np.testing.assert_array_equal(alibi_slopes(8), 2.0 ** -np.arange(1, 9))
    np.testing.assert_array_equal(alibi_slopes(1), [2.0**-8])
    with pytest.raises(ValidationError):
        alibi_slopes(0)


def test_alibi_layer_equals_bloom_form_under_causal_mask(ref: dict[str, np.ndarray]) -> None:
    X = ref["mha_alibi_X"]
    t = multi_head_attention(
        X,
        X,
        ref["mha_alibi_W_q"],
        ref["mha_alibi_W_k"],
        ref["mha_alibi_W_v"],
        None,
        8,
        causal=True,
        alibi=True,
    )
    np.testing.assert_allclose(t.output, ref["mha_alibi_out"], rtol=0, atol=1e-10)
    np.testing.assert_array_equal(t.alibi_slopes, alibi_slopes(8))
    h = t.heads[3]
    i, j = np.indices((7, 7))
    np.testing.assert_array_equal(h.position_bias, -alibi_slopes(8)[3] * np.abs(i - j))
    np.testing.assert_array_equal(h.biased_scores, h.scaled_scores + h.position_bias)


# ----------------------------------------------------------------------------- grouped-query attention
@pytest.mark.parametrize("kvh", [2, 1])
@pytest.mark.parametrize("causal", [False, True])
def test_gqa_matches_torch_sdpa_enable_gqa(ref: dict[str, np.ndarray], kvh: int, causal: bool) -> None:
    Q, K, V = (_heads_to_cols(ref[f"gqa{kvh}_{x}"]) for x in "QKV")
    t = grouped_query_attention(Q, K, V, 8, kvh, causal=causal)
    expect = _heads_to_cols(ref[f"gqa{kvh}_out_{'causal' if causal else 'full'}"])
    np.testing.assert_allclose(t.output, expect, rtol=0, atol=1e-10)
    assert t.kv_heads == kv_head_of(8, kvh) and t.n_kv_heads == kvh


def test_whole_layer_rope_gqa_causal_matches_torch(ref: dict[str, np.ndarray]) -> None:
    p = {k[len("mha_rope_gqa_") :]: v for k, v in ref.items() if k.startswith("mha_rope_gqa_")}
    t = multi_head_attention(
        p["X"],
        p["X"],
        p["W_q"],
        p["W_k"],
        p["W_v"],
        p["W_o"],
        4,
        causal=True,
        n_kv_heads=2,
        rope_base=float(p["base"]),
    )
    np.testing.assert_allclose(t.output, p["out"], rtol=0, atol=1e-10)
    # What the trace holds: unrotated projections, rotated copies, per-head rotated Q/K.
    np.testing.assert_array_equal(t.Q, p["X"] @ p["W_q"])
    np.testing.assert_array_equal(t.K_rotated, rope_heads(t.K, 2, base=500.0))
    np.testing.assert_array_equal(t.heads[3].Q, t.Q_rotated[:, 18:24])
    np.testing.assert_array_equal(t.heads[3].K, t.K_rotated[:, 6:12])  # head 3 reads kv head 1
    np.testing.assert_array_equal(t.heads[3].Q_unrotated, t.Q[:, 18:24])
    assert t.kv_heads == (0, 0, 1, 1)


def test_mha_with_n_kv_heads_is_grouped_query_attention() -> None:
    X = _rand(1, 5, 6)
    W_q, W_k, W_v = _rand(2, 6, 12), _rand(3, 6, 4), _rand(4, 6, 6)
    t = multi_head_attention(X, X, W_q, W_k, W_v, None, 6, n_kv_heads=2)
    g = grouped_query_attention(X @ W_q, X @ W_k, X @ W_v, 6, 2)
    np.testing.assert_array_equal(t.output, g.output)
    with pytest.raises(ValidationError, match="W_k has shape"):
        multi_head_attention(X, X, W_q, W_q, W_v, None, 6, n_kv_heads=2)
    with pytest.raises(ValidationError, match="must divide"):
        multi_head_attention(X, X, W_q, W_k, W_v, None, 6, n_kv_heads=4)


def test_default_options_change_nothing() -> None:
    X = _rand(1, 5, 6)
    W = [_rand(s, 6, 8) for s in (2, 3, 4)]
    plain = multi_head_attention(X, X, *W, None, 2, causal=True)
    same = multi_head_attention(
        X, X, *W, None, 2, causal=True, n_kv_heads=None, rope_base=None, alibi=False, window=None
    )
    for a, b in zip(plain.heads, same.heads):
        np.testing.assert_array_equal(a.weights, b.weights)
        assert b.position_bias is None and b.Q_unrotated is None and b.biased_scores is b.scaled_scores
    assert same.Q_rotated is None and same.alibi_slopes is None and same.kv_heads == ()


# ----------------------------------------------------------------------------- sliding window
def test_sliding_window_mask_shape_and_band() -> None:
    m = sliding_window_mask(6, 3)
    i, j = np.indices((6, 6))
    np.testing.assert_array_equal(m, (j <= i) & (i - j < 3))
    np.testing.assert_array_equal(sliding_window_mask(6, 6), causal_mask(6))
    np.testing.assert_array_equal(sliding_window_mask(5, 1), np.eye(5, dtype=bool))
    with pytest.raises(ValidationError):
        sliding_window_mask(4, 0)


def test_sliding_window_matches_torch_sdpa(ref: dict[str, np.ndarray]) -> None:
    np.testing.assert_array_equal(sliding_window_mask(10, 3), ref["window_mask"])
    Q, K, V = (_heads_to_cols(ref[f"window_{x}"]) for x in "QKV")
    t = grouped_query_attention(Q, K, V, 4, 2)  # unmasked, to reuse the per-head layout below
    heads = [
        scaled_dot_product_attention(
            Q[:, 4 * i : 4 * i + 4],
            K[:, 4 * g : 4 * g + 4],
            V[:, 5 * g : 5 * g + 5],
            mask=sliding_window_mask(10, 3),
        )
        for i, g in enumerate(t.kv_heads)
    ]
    np.testing.assert_allclose(
        np.concatenate([h.output for h in heads], axis=1),
        _heads_to_cols(ref["window_out"]),
        rtol=0,
        atol=1e-10,
    )


def test_window_option_of_multi_head_attention() -> None:
    X = _rand(1, 7, 4)
    W = [_rand(s, 4, 4) for s in (2, 3, 4)]
    t = multi_head_attention(X, X, *W, None, 2, window=2)
    np.testing.assert_array_equal(t.heads[0].mask, sliding_window_mask(7, 2))
    t2 = multi_head_attention(X, X, *W, None, 2, window=2, causal=True)  # the window implies causal
    np.testing.assert_array_equal(t.output, t2.output)


# ----------------------------------------------------------------------------- positional tables
def test_sinusoidal_table_of_the_paper() -> None:
    P = sinusoidal_positions(50, 6)
    pos, i = 17, 1
    assert P[pos, 2 * i] == pytest.approx(np.sin(pos / 10000 ** (2 * i / 6)), abs=1e-15)
    assert P[pos, 2 * i + 1] == pytest.approx(np.cos(pos / 10000 ** (2 * i / 6)), abs=1e-15)
    np.testing.assert_array_equal(P[0], [0, 1, 0, 1, 0, 1])
    assert sinusoidal_positions(3, 5).shape == (3, 5)  # odd width: the last column is a sine


def test_learned_table_is_seeded_and_added_to_X() -> None:
    from attention_core import add_positions, learned_positions, position_table

    a, b = learned_positions(5, 4, seed=7), learned_positions(5, 4, seed=7)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, learned_positions(5, 4, seed=8))
    X = _rand(1, 3, 4)
    np.testing.assert_array_equal(add_positions(X, a), X + a[:3])
    assert position_table("none", 3, 4) is None
    np.testing.assert_array_equal(position_table("sinusoidal", 3, 4), sinusoidal_positions(3, 4))
    with pytest.raises(ValidationError):
        position_table("rotary", 3, 4)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- refused options
@pytest.mark.parametrize(
    ("opts", "message"),
    [
        ({"rope_base": 10000.0, "n_heads": 8}, "even head size"),  # 24 / 8 = 3 features per head
        ({"rope_base": -1.0}, "positive"),
        ({"rope_base": "10000"}, "RoPE base"),
        ({"window": 0}, "window"),
        ({"window": 2.5}, "window"),
        ({"n_kv_heads": 0}, "n_kv_heads"),
    ],
)
def test_bad_variant_options_are_validation_errors(opts: dict, message: str) -> None:
    X = _rand(1, 4, 6)
    n_heads = opts.pop("n_heads", 2)
    W_q, W_k, W_v = _rand(2, 6, 24), _rand(3, 6, 24), _rand(4, 6, 24)
    with pytest.raises(ValidationError, match=message):
        multi_head_attention(X, X, W_q, W_k, W_v, None, n_heads, **opts)

"""Tiled attention (online softmax) and KV-cache decoding against the exact computation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attention_core import (
    ValidationError,
    causal_mask,
    kv_cache_bytes_per_token,
    kv_cache_decode,
    multi_head_attention,
    scaled_dot_product_attention,
    state_after,
    tiled_attention,
)


def _rand(seed: int, *shape: int, scale: float = 1.0) -> np.ndarray:
    return scale * np.random.default_rng(seed).normal(size=shape)


# ----------------------------------------------------------------------------- tiled
@settings(max_examples=80, deadline=None)
@given(
    n_q=st.integers(1, 40),
    n_k=st.integers(1, 40),
    d=st.integers(1, 6),
    d_v=st.integers(1, 5),
    block_q=st.integers(1, 17),
    block_k=st.integers(1, 17),
    causal=st.booleans(),
    spread=st.sampled_from([0.1, 1.0, 10.0]),
    seed=st.integers(0, 2**32 - 1),
)
def test_tiled_equals_exact(
    n_q: int, n_k: int, d: int, d_v: int, block_q: int, block_k: int, causal: bool, spread: float, seed: int
) -> None:
    Q, K, V = (
        _rand(seed, n_q, d, scale=spread),
        _rand(seed + 1, n_k, d, scale=spread),
        _rand(seed + 2, n_k, d_v),
    )
    exact = scaled_dot_product_attention(Q, K, V, mask=causal_mask(n_q, n_k) if causal else None)
    tiled = tiled_attention(Q, K, V, block_q=block_q, block_k=block_k, causal=causal)
    np.testing.assert_allclose(tiled.output, exact.output, rtol=0, atol=1e-12 * max(1.0, np.abs(V).max()))
    np.testing.assert_allclose(tiled.weights, exact.weights, rtol=0, atol=1e-12)
    n_qb, n_kb = -(-n_q // block_q), -(-n_k // block_k)
    assert tiled.n_tiles == n_qb * n_kb
    # A tile is skipped exactly when the causal mask forbids all of it (its first row sees none of it).
    skipped = {(s.q_block, s.k_block) for s in tiled.steps if s.skipped}
    expect = {
        (a, b)
        for a in range(n_qb)
        for b in range(n_kb)
        if causal and b * block_k > min(n_q, (a + 1) * block_q) - 1
    }
    assert skipped == expect


def test_tiled_running_state_by_hand() -> None:
    # One query, keys in two tiles: m, l and the partial output follow the formulas.
    Q = np.array([[1.0]])
    K = np.array([[1.0], [2.0], [4.0]])
    V = np.array([[1.0], [10.0], [100.0]])
    t = tiled_attention(Q, K, V, block_q=1, block_k=2, scale=1.0)
    first, second = t.steps
    np.testing.assert_array_equal(first.running_max, [2.0])
    np.testing.assert_allclose(first.running_sum, [np.exp(-1.0) + 1.0], rtol=1e-15)
    np.testing.assert_allclose(first.partial_output, [[(np.exp(-1) * 1 + 10) / (np.exp(-1) + 1)]], rtol=1e-14)
    np.testing.assert_array_equal(second.running_max, [4.0])
    np.testing.assert_allclose(second.running_sum, [np.exp(-3.0) + np.exp(-2.0) + 1.0], rtol=1e-15)
    w = np.exp([1.0, 2.0, 4.0]) / np.exp([1.0, 2.0, 4.0]).sum()
    np.testing.assert_allclose(t.output, [[w @ [1, 10, 100]]], rtol=1e-14)


def test_tiled_with_bias_and_fully_masked_row() -> None:
    Q, K, V = _rand(1, 6, 3), _rand(2, 6, 3), _rand(3, 6, 2)
    mask = causal_mask(6)
    mask[2] = False  # row 2 sees nothing: zero weights and output, as the exact path gives
    bias = _rand(4, 6, 6)
    exact = scaled_dot_product_attention(Q, K, V, mask=mask, bias=bias)
    tiled = tiled_attention(Q, K, V, block_q=4, block_k=4, mask=mask, bias=bias)
    np.testing.assert_allclose(tiled.output, exact.output, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(tiled.weights[2], np.zeros(6))


def test_state_after_last_step_is_the_final_weights() -> None:
    Q, K, V = _rand(1, 20, 4), _rand(2, 20, 4), _rand(3, 20, 3)
    t = tiled_attention(Q, K, V, block_q=8, block_k=8, causal=True)
    exact = scaled_dot_product_attention(Q, K, V, mask=causal_mask(20))
    last = state_after(t, t.n_tiles - 1)
    np.testing.assert_allclose(last.weights_so_far, exact.weights, rtol=0, atol=1e-12)
    np.testing.assert_allclose(last.partial_output, exact.output, rtol=0, atol=1e-12)
    first = state_after(t, 0)
    assert np.isnan(first.running_max[8:]).all() and np.isfinite(first.running_max[:8]).all()
    assert first.tile_status[0, 0] == 3 and (first.tile_status.ravel()[1:] == 0).all()
    assert (last.tile_status == 2).sum() == t.n_skipped == 3
    with pytest.raises(ValidationError):
        state_after(t, t.n_tiles)


def test_tiled_refuses_bad_blocks_and_overflow() -> None:
    Q = _rand(1, 3, 2)
    with pytest.raises(ValidationError, match="block_q"):
        tiled_attention(Q, Q, Q, block_q=0)
    with pytest.raises(ValidationError, match="overflows"):
        tiled_attention(np.full((2, 2), 1e200), np.full((2, 2), 1e200), Q[:2])


# ----------------------------------------------------------------------------- KV cache
@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 12),
    n_kv=st.sampled_from([1, 2, 4]),
    h=st.sampled_from([2, 4]),
    rope_on=st.booleans(),
    alibi=st.booleans(),
    window=st.one_of(st.none(), st.integers(1, 6)),
    with_W_o=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_kv_cache_decoding_equals_full_causal(
    n: int, n_kv: int, h: int, rope_on: bool, alibi: bool, window: int | None, with_W_o: bool, seed: int
) -> None:
    n_heads, d = 4, 5
    X = _rand(seed, n, d)
    W_q, W_k, W_v = (
        _rand(seed + 1, d, n_heads * h),
        _rand(seed + 2, d, n_kv * h),
        _rand(seed + 3, d, n_kv * 3),
    )
    W_o = _rand(seed + 4, n_heads * 3, d) if with_W_o else None
    opts = {"n_kv_heads": n_kv, "rope_base": 100.0 if rope_on else None, "alibi": alibi, "window": window}
    full = multi_head_attention(X, X, W_q, W_k, W_v, W_o, n_heads, causal=True, **opts)
    dec = kv_cache_decode(X, W_q, W_k, W_v, W_o, n_heads, **opts)
    np.testing.assert_allclose(
        dec.output, full.output, rtol=0, atol=1e-12 * max(1.0, np.abs(full.output).max())
    )
    last = dec.steps[-1]
    assert len(last.cached_positions) == (n if window is None else min(n, window))
    assert last.cache_bytes == len(last.cached_positions) * dec.bytes_per_token
    # The new token's weights are the last row of the full computation's weights (on the cached keys).
    np.testing.assert_allclose(
        last.attention.heads[0].weights[0],
        full.heads[0].weights[-1, last.cached_positions],
        rtol=0,
        atol=1e-12,
    )


def test_kv_cache_memory_shrinks_by_the_group() -> None:
    assert kv_cache_bytes_per_token(8, 64) == 8 * 128 * 8
    assert kv_cache_bytes_per_token(8, 64) == 4 * kv_cache_bytes_per_token(2, 64)
    X = _rand(1, 4, 4)
    W_q = _rand(2, 4, 8)
    mha = kv_cache_decode(X, W_q, _rand(3, 4, 8), _rand(4, 4, 8), None, 4)
    mqa = kv_cache_decode(X, W_q, _rand(3, 4, 2), _rand(4, 4, 2), None, 4, n_kv_heads=1)
    assert mha.bytes_per_token == 4 * mqa.bytes_per_token == 4 * 2 * 2 * 8
    assert [s.cache_bytes for s in mqa.steps] == [32, 64, 96, 128]


def test_kv_cache_trace_names_match_the_layer() -> None:
    X = _rand(1, 5, 4)
    W_q, W_k, W_v = _rand(2, 4, 4), _rand(3, 4, 2), _rand(4, 4, 2)
    dec = kv_cache_decode(X, W_q, W_k, W_v, None, 2, n_kv_heads=1, rope_base=10.0)
    last, cache = dec.steps[-1].attention, dec.steps[-1].K_cache
    np.testing.assert_allclose(last.K, X @ W_k, rtol=0, atol=1e-14)  # keys before RoPE (row by row)
    np.testing.assert_array_equal(last.K_rotated, cache)  # what the cache holds
    h = last.heads[1]
    np.testing.assert_array_equal(h.K, cache)  # as in multi_head_attention: a head's K entered the scores
    np.testing.assert_array_equal(h.K_unrotated, last.K)
    np.testing.assert_array_equal(h.scores, h.Q @ cache.T)
    plain = kv_cache_decode(X, W_q, W_k, W_v, None, 2, n_kv_heads=1)
    assert plain.steps[-1].attention.K is plain.steps[-1].K_cache  # no RoPE: no second copy

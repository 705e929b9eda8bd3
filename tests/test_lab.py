"""LabConfig -> run_lab: drawing order, edits, validation, scaling modes."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attention_core import LabConfig, TorchGenerator, ValidationError, run_lab
from attention_core.lab import MAX_TOKENS, scale_for, token_seed


def test_default_config_is_the_pytorch_sentence() -> None:
    t = run_lab(LabConfig())
    assert t.tokens_q.tokens == ("Life", "is", "short", "eat", "dessert", "first")
    assert t.embeddings.shape == (6, 16) and t.W_q.shape == (16, 24) and t.W_v.shape == (16, 28)
    assert t.attention.output.shape == (6, 28)


def test_draw_order_embedding_then_weights() -> None:
    cfg = LabConfig(
        random_source="torch",
        seed=7,
        d_model=4,
        d_k=3,
        d_v=2,
        sentence="a b a",
        draw_order="table_first",
        init="uniform",
    )
    t = run_lab(cfg)
    g = TorchGenerator(7)
    table = g.randn(2, 4)  # vocabulary {a, b}
    W_q = g.rand(3, 4).T  # torch draws (d_out, d_in)
    np.testing.assert_array_equal(t.embedding_table, table.astype(np.float64))
    np.testing.assert_array_equal(t.embeddings, table[[0, 1, 0]].astype(np.float64))
    np.testing.assert_array_equal(t.W_q, W_q.astype(np.float64))


def test_weights_first_draws_weights_from_the_seed_and_each_embedding_from_its_token() -> None:
    cfg = LabConfig(random_source="torch", seed=7, d_model=4, d_k=3, d_v=2, sentence="a b a", init="uniform")
    t = run_lab(cfg)
    g = TorchGenerator(7)
    np.testing.assert_array_equal(t.W_q, g.rand(3, 4).T.astype(np.float64))  # the first draw of the seed
    np.testing.assert_array_equal(t.W_k, g.rand(3, 4).T.astype(np.float64))
    row_a = TorchGenerator(token_seed(7, "a")).randn(1, 4).astype(np.float64)[0]
    np.testing.assert_array_equal(t.embeddings[0], row_a)
    np.testing.assert_array_equal(t.embeddings[2], row_a)


def test_a_new_word_keeps_the_weights_and_the_edits() -> None:
    """The lecturer's "now try another sentence": W_q, W_k, W_v and the edits on them stay."""
    cfg = LabConfig().with_edits({("W_q", 1, 2): 3.5})
    longer = dataclasses.replace(cfg, sentence=cfg.sentence + " today")
    a, b = run_lab(cfg), run_lab(longer)
    for name in ("W_q", "W_k", "W_v"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert b.W_q[1, 2] == 3.5
    np.testing.assert_array_equal(a.embeddings, b.embeddings[:-1])  # every old word keeps its embedding


def test_default_example_is_neither_uniform_nor_one_hot() -> None:
    """Most rows of the default example have an entropy between 0.2 and 0.9 of ln n."""
    h = run_lab(LabConfig()).attention.heads[0]
    share = h.row_entropy() / math.log(h.n_k)  # (n_q,)
    assert np.mean((share >= 0.2) & (share <= 0.9)) > 0.5, share


def test_row_entropy_share_is_one_for_a_uniform_row_and_zero_for_a_one_hot_row() -> None:
    h = run_lab(LabConfig()).attention.heads[0]
    np.testing.assert_allclose(h.row_entropy_share(), h.row_entropy() / math.log(h.n_k), rtol=1e-15)
    flat = dataclasses.replace(h, weights=np.full((2, h.n_k), 1 / h.n_k))
    peaked = dataclasses.replace(h, weights=np.eye(3, h.n_k))
    np.testing.assert_allclose(flat.row_entropy_share(), [1.0, 1.0], rtol=1e-15)
    np.testing.assert_array_equal(peaked.row_entropy_share(), [0.0, 0.0, 0.0])


def test_edit_changes_only_that_cell_and_the_weights() -> None:
    cfg = LabConfig()
    base = run_lab(cfg)
    edited = run_lab(cfg.with_edits({("W_q", 0, 0): 5.0}))
    assert edited.W_q[0, 0] == 5.0
    diff = edited.W_q != base.W_q
    assert diff.sum() == 1
    np.testing.assert_array_equal(edited.base["W_q"], base.W_q)
    assert not np.allclose(edited.attention.heads[0].weights, base.attention.heads[0].weights)
    np.testing.assert_array_equal(edited.W_k, base.W_k)


def test_edit_outside_matrix_refused() -> None:
    with pytest.raises(ValidationError, match="outside the matrix"):
        run_lab(LabConfig().with_edits({("W_q", 99, 0): 1.0}))
    with pytest.raises(ValidationError, match="W_o"):
        run_lab(LabConfig().with_edits({("W_o", 0, 0): 1.0}))  # one head: there is no W_o


def test_one_hot_needs_room() -> None:
    t = run_lab(LabConfig(embedding="one_hot", d_model=6))
    np.testing.assert_array_equal(t.embeddings, np.eye(6)[[0, 4, 5, 2, 1, 3]])
    with pytest.raises(ValidationError, match="one-hot embeddings need d_model"):
        run_lab(LabConfig(embedding="one_hot", d_model=5))


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"sentence": ""}, "no tokens"),
        ({"sentence": "?!"}, "no tokens"),
        ({"sentence": " ".join(["w"] * (MAX_TOKENS + 1))}, "limit is 1,024"),
        ({"sentence": "x" * 30_000}, "characters long"),
        ({"d_model": 0}, "d_model must be between 1"),
        ({"d_k": -3}, "d_k must be between 1"),
        ({"d_v": 2.5}, "d_v must be a whole number"),
        ({"d_model": 10**9}, "d_model must be between"),
        ({"n_heads": 5}, "5 heads must divide"),
        ({"seed": -1, "random_source": "numpy"}, "seed must be in"),
        ({"scale_mode": "custom", "scale_value": float("nan")}, "finite number"),
        ({"random_source": "matlab"}, "random_source must be one of"),
        ({"init": "normal", "random_source": "r"}, "integers 0..2 and uniform"),
    ],
)
def test_invalid_configs_give_a_clear_message(change: dict, needle: str) -> None:
    with pytest.raises(ValidationError, match=needle):
        run_lab(dataclasses.replace(LabConfig(), **change))


def test_scale_modes() -> None:
    cfg = LabConfig()
    assert scale_for(cfg, 6) == pytest.approx(1 / math.sqrt(24))
    assert scale_for(dataclasses.replace(cfg, scale_mode="sqrt_n"), 6) == pytest.approx(1 / math.sqrt(6))
    assert scale_for(dataclasses.replace(cfg, scale_mode="none"), 6) == 1.0
    assert scale_for(dataclasses.replace(cfg, scale_mode="custom", scale_value=0.25), 6) == 0.25
    assert scale_for(dataclasses.replace(cfg, n_heads=4), 6) == pytest.approx(1 / math.sqrt(6))


def test_causal_and_heads() -> None:
    t = run_lab(LabConfig(causal=True, n_heads=4, d_k=24, d_v=28))
    assert t.W_o is not None and t.W_o.shape == (28, 16)
    for head in t.attention.heads:
        assert np.all(head.weights[np.triu_indices(6, 1)] == 0)


def test_cross_sentence_shares_vocabulary() -> None:
    t = run_lab(LabConfig(sentence="the cat", cross_sentence="the dog", embedding="random"))
    assert t.vocabulary == ("cat", "dog", "the")
    np.testing.assert_array_equal(t.embeddings[0], t.embeddings_kv[0])  # "the" in both
    assert t.attention.heads[0].weights.shape == (2, 2)


@settings(max_examples=40, deadline=None)
@given(
    st.text(alphabet="abc xyz,.", min_size=1, max_size=40),
    st.sampled_from(["numpy", "r", "torch"]),
    st.integers(0, 2**31 - 1),
    st.sampled_from([1, 2]),
    st.booleans(),
)
def test_random_configs_give_finite_weights(
    sentence: str, source: str, seed: int, heads: int, causal: bool
) -> None:
    cfg = LabConfig(
        sentence=sentence,
        random_source=source,
        seed=seed,
        n_heads=heads,
        causal=causal,
        d_model=4,
        d_k=4,
        d_v=4,
        init="uniform",
        embedding_init="uniform",
    )
    try:
        t = run_lab(cfg)
    except ValidationError as exc:
        assert "no tokens" in str(exc)
        return
    for head in t.attention.heads:
        assert np.all(np.isfinite(head.weights))
        np.testing.assert_allclose(head.weights.sum(axis=1), 1.0)


def test_given_matrices_and_biases_replace_the_draws() -> None:
    rs = np.random.RandomState(1)
    W_q, W_k, W_v = rs.randn(4, 2), rs.randn(4, 2), rs.randn(4, 3)
    b_q, b_k, b_v = rs.randn(2), rs.randn(2), rs.randn(3)
    X = rs.randn(3, 4)
    as_rows = lambda m: tuple(tuple(float(v) for v in r) for r in np.atleast_2d(m))
    cfg = LabConfig(
        sentence="a b c",
        embedding="manual",
        manual_embeddings=as_rows(X),
        d_model=4,
        d_k=2,
        d_v=3,
        given=tuple(
            (n, as_rows(m))
            for n, m in (("W_q", W_q), ("W_k", W_k), ("W_v", W_v), ("b_q", b_q), ("b_k", b_k), ("b_v", b_v))
        ),
    )
    t = run_lab(cfg)
    h = t.attention.heads[0]
    np.testing.assert_allclose(h.Q, X @ W_q + b_q)
    np.testing.assert_allclose(h.V, X @ W_v + b_v)
    from attention_core import softmax

    np.testing.assert_allclose(h.weights, softmax((X @ W_q + b_q) @ (X @ W_k + b_k).T / np.sqrt(2)))
    edited = run_lab(cfg.with_edits({("b_q", 0, 1): 3.0}))
    assert edited.attention.heads[0].Q[0, 1] == pytest.approx((X @ W_q)[0, 1] + 3.0)
    with pytest.raises(ValidationError, match="given W_q has shape"):
        run_lab(dataclasses.replace(cfg, given=(("W_q", as_rows(W_q.T)),)))

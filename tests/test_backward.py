"""The backward pass: against torch autograd (committed fixture) and central differences."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attention_core import ValidationError, causal_mask, cross_attention, multi_head_attention, self_attention
from attention_core.attention import scaled_dot_product_attention
from attention_core.backward import attention_backward, multi_head_backward, softmax_backward

FIXTURE = Path(__file__).parent / "fixtures" / "backward_reference.npz"
TOL = 1e-9  # the tolerance against torch autograd, float64


@pytest.fixture(scope="module")
def ref() -> dict[str, np.ndarray]:
    with np.load(FIXTURE) as data:
        return {k: data[k] for k in data.files}


def deviation(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape
    return float(np.max(np.abs(a - b)))


def test_self_attention_causal_matches_torch(ref: dict[str, np.ndarray]) -> None:
    p = "self_causal/"
    X = ref[p + "X"]
    trace = self_attention(X, ref[p + "W_q"], ref[p + "W_k"], ref[p + "W_v"], mask=causal_mask(6))
    assert deviation(trace.output, ref[p + "sdpa_output"]) < TOL  # the forward pass is torch's kernel's
    g = attention_backward(trace, ref[p + "G"])
    for name in ("d_Q", "d_K", "d_V", "d_scores", "d_weights", "d_W_q", "d_W_k", "d_W_v", "d_x_q", "d_x_kv"):
        assert deviation(getattr(g, name), ref[p + name]) < TOL, name
    assert np.all(g.d_scores[~causal_mask(6)] == 0.0)  # masked entries get no gradient


def test_cross_attention_custom_scale_matches_torch(ref: dict[str, np.ndarray]) -> None:
    p = "cross_scale/"
    trace = cross_attention(
        ref[p + "x_q"],
        ref[p + "x_kv"],
        ref[p + "W_q"],
        ref[p + "W_k"],
        ref[p + "W_v"],
        scale=float(ref[p + "scale"]),
    )
    assert trace.scale == 0.37
    assert deviation(trace.output, ref[p + "sdpa_output"]) < TOL
    g = attention_backward(trace, ref[p + "G"])
    for name in ("d_Q", "d_K", "d_V", "d_scores", "d_weights", "d_W_q", "d_W_k", "d_W_v", "d_x_q", "d_x_kv"):
        assert deviation(getattr(g, name), ref[p + name]) < TOL, name


def test_multi_head_with_w_o_matches_torch(ref: dict[str, np.ndarray]) -> None:
    p = "multihead/"
    X = ref[p + "X"]
    trace = multi_head_attention(
        X, X, ref[p + "W_q"], ref[p + "W_k"], ref[p + "W_v"], ref[p + "W_o"], 2, causal=True
    )
    assert deviation(trace.output, ref[p + "output"]) < TOL  # nn.MultiheadAttention's output
    g = multi_head_backward(trace, ref[p + "G"])
    for name in ("d_W_q", "d_W_k", "d_W_v", "d_W_o", "d_x_q", "d_x_kv"):
        assert deviation(getattr(g, name), ref[p + name]) < TOL, name
    for h in range(2):
        assert deviation(g.heads[h].d_scores, ref[p + f"head{h}/d_scores"]) < TOL
        assert deviation(g.heads[h].d_weights, ref[p + f"head{h}/d_weights"]) < TOL


def test_fixture_records_its_versions(ref: dict[str, np.ndarray]) -> None:
    assert str(ref["versions"]).startswith("torch 2.")


# ------------------------------------------------------------------------ central differences
def _num_grad(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar f at x, entry by entry."""
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + eps
        up = f()
        x[idx] = old - eps
        down = f()
        x[idx] = old
        g[idx] = (up - down) / (2 * eps)
    return g


def _close(analytic: np.ndarray, numeric: np.ndarray) -> None:
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-6)


shapes = st.tuples(
    st.integers(1, 5), st.integers(1, 5), st.integers(1, 4), st.integers(1, 4), st.integers(1, 3)
)


@settings(max_examples=25, deadline=None)
@given(
    shape=shapes,
    seed=st.integers(0, 2**32 - 1),
    scale=st.one_of(st.none(), st.floats(-2.0, 2.0)),
    mask_kind=st.sampled_from(["none", "causal", "random"]),
)
def test_cross_attention_gradients_by_central_differences(
    shape: tuple[int, ...], seed: int, scale: float | None, mask_kind: str
) -> None:
    n_q, n_k, d_model, d_k, d_v = shape
    rng = np.random.default_rng(seed)
    x_q, x_kv = rng.normal(size=(n_q, d_model)), rng.normal(size=(n_k, d_model))
    W = {
        "W_q": rng.normal(size=(d_model, d_k)),
        "W_k": rng.normal(size=(d_model, d_k)),
        "W_v": rng.normal(size=(d_model, d_v)),
    }
    mask = {"none": None, "causal": causal_mask(n_q, n_k), "random": rng.random((n_q, n_k)) < 0.6}[mask_kind]
    G, H = rng.normal(size=(n_q, d_v)), rng.normal(size=(n_q, n_k))  # the loss reads output and weights

    def run():
        return cross_attention(x_q, x_kv, W["W_q"], W["W_k"], W["W_v"], scale=scale, mask=mask)

    def loss() -> float:
        t = run()
        return float(np.sum(t.output * G) + np.sum(t.weights * H))

    trace = run()
    g = attention_backward(trace, G, d_weights=H)
    for name in ("W_q", "W_k", "W_v"):
        _close(getattr(g, "d_" + name), _num_grad(loss, W[name]))
    _close(g.d_x_q, _num_grad(loss, x_q))
    _close(g.d_x_kv, _num_grad(loss, x_kv))
    if mask is not None:
        assert np.all(g.d_scores[~mask] == 0.0)  # masked entries get no gradient
        assert np.all(g.d_Q[trace.fully_masked_rows] == 0.0)  # a row that sees nothing learns nothing


@settings(max_examples=15, deadline=None)
@given(
    n=st.integers(1, 5),
    heads=st.integers(1, 3),
    width=st.integers(1, 2),
    seed=st.integers(0, 2**32 - 1),
    causal=st.booleans(),
    with_w_o=st.booleans(),
    scale=st.one_of(st.none(), st.floats(0.1, 1.5)),
)
def test_multi_head_gradients_by_central_differences(
    n: int, heads: int, width: int, seed: int, causal: bool, with_w_o: bool, scale: float | None
) -> None:
    rng = np.random.default_rng(seed)
    d_model, d = 3, heads * width
    x_q, x_kv = rng.normal(size=(n, d_model)), rng.normal(size=(n + 1, d_model))
    W = {
        "W_q": rng.normal(size=(d_model, d)),
        "W_k": rng.normal(size=(d_model, d)),
        "W_v": rng.normal(size=(d_model, d)),
        "W_o": rng.normal(size=(d, 2)),
    }
    G = rng.normal(size=(n, 2 if with_w_o else d))

    def run():
        return multi_head_attention(
            x_q,
            x_kv,
            W["W_q"],
            W["W_k"],
            W["W_v"],
            W["W_o"] if with_w_o else None,
            heads,
            causal=causal,
            scale=scale,
        )

    def loss() -> float:
        return float(np.sum(run().output * G))

    g = multi_head_backward(run(), G)
    for name in ("W_q", "W_k", "W_v") + (("W_o",) if with_w_o else ()):
        _close(getattr(g, "d_" + name), _num_grad(loss, W[name]))
    assert (g.d_W_o is None) == (not with_w_o)
    _close(g.d_x_q, _num_grad(loss, x_q))
    _close(g.d_x_kv, _num_grad(loss, x_kv))


@settings(max_examples=20, deadline=None)
@given(
    n_q=st.integers(1, 5), n_k=st.integers(1, 5), seed=st.integers(0, 2**32 - 1), scale=st.floats(-3.0, 3.0)
)
def test_qkv_gradients_by_central_differences(n_q: int, n_k: int, seed: int, scale: float) -> None:
    """Attention on Q, K, V directly: d_Q, d_K, d_V and d_scores, no projections."""
    rng = np.random.default_rng(seed)
    M = {"Q": rng.normal(size=(n_q, 3)), "K": rng.normal(size=(n_k, 3)), "V": rng.normal(size=(n_k, 2))}
    G = rng.normal(size=(n_q, 2))

    def loss() -> float:
        return float(np.sum(scaled_dot_product_attention(M["Q"], M["K"], M["V"], scale=scale).output * G))

    g = attention_backward(scaled_dot_product_attention(M["Q"], M["K"], M["V"], scale=scale), G)
    assert g.d_W_q is None and g.d_x_q is None
    for name in ("Q", "K", "V"):
        _close(getattr(g, "d_" + name), _num_grad(loss, M[name]))


def test_softmax_backward_is_the_jacobian_product() -> None:
    """The row form A ⊙ (dA − rowsum(dA ⊙ A)) equals dA times the full Jacobian diag(a) − a aᵀ."""
    rng = np.random.default_rng(5)
    z = rng.normal(size=(3, 4))
    a = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    dA = rng.normal(size=(3, 4))
    full = np.stack([dA[i] @ (np.diag(a[i]) - np.outer(a[i], a[i])) for i in range(3)])
    np.testing.assert_allclose(softmax_backward(a, dA), full, rtol=1e-13, atol=1e-15)


def test_bad_gradient_shapes_are_refused() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3, 2))
    trace = self_attention(X, np.eye(2), np.eye(2), np.eye(2))
    with pytest.raises(ValidationError, match="d_output has shape"):
        attention_backward(trace, np.zeros((3, 3)))
    with pytest.raises(ValidationError, match="d_weights has shape"):
        attention_backward(trace, d_weights=np.zeros((2, 3)))
    with pytest.raises(ValidationError, match="non-finite"):
        attention_backward(trace, np.full((3, 2), np.nan))


def test_overflowed_scores_have_no_gradient() -> None:
    """The forward pass rescues scores beyond float64 (weights stay right); their gradient is refused."""
    Q = np.array([[1e200, 0.0]])
    trace = scaled_dot_product_attention(Q, Q, np.ones((1, 1)))
    assert trace.weights.tolist() == [[1.0]]
    with pytest.raises(ValidationError, match="overflowed"):
        attention_backward(trace, np.ones((1, 1)))

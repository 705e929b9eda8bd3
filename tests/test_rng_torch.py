"""TorchGenerator against a real torch 2.13.0 run (tests/fixtures/torch_reference.json, made by
make_torch_fixtures.py) and against the numbers printed in the PyTorch seed notebook (002)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from attention_core import TorchGenerator, embedding_init, from_column_convention, self_attention, softmax

REF = json.loads((Path(__file__).parent / "fixtures" / "torch_reference.json").read_text())
SEEDS = [s for s in REF["draws"] if s.lstrip("-").isdigit()]
RANDN_ATOL = 2e-6  # torch's vectorised log/sin/cos differ in the last bits between CPU builds


@pytest.mark.parametrize("seed", SEEDS)
def test_rand_bit_exact(seed: str) -> None:
    for key, values in REF["draws"][seed].items():
        if key.startswith("rand_"):
            shape = tuple(int(s) for s in key[5:].split("x"))
            got = TorchGenerator(int(seed)).rand(*shape)
            assert got.dtype == np.float32
            np.testing.assert_array_equal(got.astype(np.float64), np.array(values), err_msg=key)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n", [1, 3, 7, 15, 16, 32, 96, 17, 50, 100])
def test_randn_all_size_regimes(seed: str, n: int) -> None:
    # < 16: scalar Box-Muller with a cached second sample; multiples of 16: normal_fill;
    # other sizes >= 16: normal_fill plus a recomputed last block of 16.
    got = TorchGenerator(int(seed)).randn(n).astype(np.float64)
    np.testing.assert_allclose(got, REF["draws"][seed][f"randn_{n}"], atol=RANDN_ATOL, rtol=0)


def test_mixed_stream_continues() -> None:
    g = TorchGenerator(7)
    for call in REF["draws"]["stream_seed_7"]:
        got = getattr(g, call["call"])(*call["shape"]).astype(np.float64)
        if call["call"] == "rand":
            np.testing.assert_array_equal(got, np.array(call["values"]))
        else:
            np.testing.assert_allclose(got, np.array(call["values"]), atol=RANDN_ATOL, rtol=0)


def test_embedding_printed_in_notebook() -> None:
    # PyTorch seed notebook 002, In [6]/[7]: torch.manual_seed(123); nn.Embedding(6, 16)(ids).
    table = embedding_init(TorchGenerator(123), 6, 16)
    printed = np.array([
        [0.3374, -0.1778, -0.3035, -0.5880, 0.3486, 0.6603, -0.2196, -0.3792, 0.7671, -1.1925, 0.6984, -1.4097, 0.1794, 1.8951, 0.4954, 0.2692],
        [0.5146, 0.9938, -0.2587, -1.0826, -0.0444, 1.6236, -2.3229, 1.0878, 0.6716, 0.6933, -0.9487, -0.0765, -0.1526, 0.1167, 0.4403, -1.4465],
        [0.2553, -0.5496, 1.0042, 0.8272, -0.3948, 0.4892, -0.2168, -1.7472, -1.6025, -1.0764, 0.9031, -0.7218, -0.5951, -0.7112, 0.6230, -1.3729],
        [-1.3250, 0.1784, -2.1338, 1.0524, -0.3885, -0.9343, -0.4991, -1.0867, 0.8805, 1.5542, 0.6266, -0.1755, 0.0983, -0.0935, 0.2662, -0.5850],
        [-0.0770, -1.0205, -0.1690, 0.9178, 1.5810, 1.3010, 1.2753, -0.2010, 0.4965, -1.5723, 0.9666, -1.1481, -1.1589, 0.3255, -0.6315, -2.8400],
        [0.8768, 1.6221, -1.4779, 1.1331, -1.2203, 1.3139, 1.0533, 0.1388, 2.2473, -0.8036, -0.2808, 0.7697, -0.6596, -0.7979, 0.1838, 0.2293],
    ])
    ids = [0, 4, 5, 2, 1, 3]
    np.testing.assert_allclose(table[ids], printed, atol=1e-4)  # printed rows are in sentence order
    np.testing.assert_allclose(table[ids], REF["pytorch_seed"]["embedding"], atol=RANDN_ATOL)


def test_notebook_scores_and_weights_from_the_recipe() -> None:
    # The recipe the fixture recorded: manual_seed(123); randn(6, 16); rand(24, 16); rand(24, 16); rand(28, 16).
    ref = REF["pytorch_seed"]
    g = TorchGenerator(123)
    x = embedding_init(g, 6, 16)[[0, 4, 5, 2, 1, 3]].astype(np.float64)
    W_query, W_key, W_value = g.rand(24, 16), g.rand(24, 16), g.rand(28, 16)
    np.testing.assert_array_equal(W_query, np.array(ref["W_query"], dtype=np.float32))
    np.testing.assert_array_equal(W_value, np.array(ref["W_value"], dtype=np.float32))
    t = self_attention(x, from_column_convention(W_query), from_column_convention(W_key),
                       from_column_convention(W_value), scale=24**-0.5)
    # Printed in the notebook: In [19] omega_24, In [22] omega_2, In [36] attention_weights_2.
    assert t.scores[1, 4] == pytest.approx(2.3206, abs=1e-4)
    np.testing.assert_allclose(t.scores[1], [-7.0847, -4.5398, 3.9887, 10.2379, 2.3206, -10.5434], atol=1e-4)
    np.testing.assert_allclose(t.weights[1], [0.0185, 0.0312, 0.1778, 0.6368, 0.1265, 0.0092], atol=5e-5)
    np.testing.assert_allclose(softmax(t.scores[1] / 24**0.5), ref["attention_weights_2"], atol=1e-6)


@given(st.integers(0, 2**32 - 1), st.integers(0, 700), st.integers(0, 700))
def test_rand_split_calls_equal_one_call(seed: int, a: int, b: int) -> None:
    whole = TorchGenerator(seed).rand(a + b)
    g = TorchGenerator(seed)
    np.testing.assert_array_equal(np.concatenate([g.rand(a), g.rand(b)]), whole)
    assert np.all((whole >= 0) & (whole < 1))


@pytest.mark.parametrize("seed", [2**64, -(2**63) - 1, 1.5, "3"])
def test_unsupported_seed_refused(seed: object) -> None:
    with pytest.raises(ValueError, match="manual_seed"):
        TorchGenerator(seed)  # type: ignore[arg-type]

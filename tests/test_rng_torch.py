"""TorchGenerator (attention_core/rng/torch_mt.py) against a real torch 2.13.0 run and against the
numbers printed in the PyTorch seed notebook (002).

The reference run is tests/fixtures/torch_reference.json, written by
tests/fixtures/make_torch_fixtures.py; this file does not import torch.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attention_core.rng.torch_mt import TorchGenerator, embedding_init

REF = json.loads((Path(__file__).parent / "fixtures" / "torch_reference.json").read_text())
DRAWS = REF["draws"]

SEEDS = [0, 1, 42, 123, 2**31 - 1, 2**32 + 5, -5, 2**64 - 1]
RANDN_SIZES = [1, 3, 7, 15, 16, 32, 96, 17, 50, 100]
RAND_SHAPES = [(3,), (24, 16), (5, 7)]
# torch's vectorised Box-Muller (float32 SIMD log/sin/cos) and our double-precision one agree to
# about 1.7e-6; see the module docstring of torch_mt.
RANDN_ATOL = 2e-6

# PyTorch seed notebook 002, In [7]: embedded_sentence for "Life is short, eat dessert first",
# printed by torch to 4 decimals. Rows are in sentence order (ids 0, 4, 5, 2, 1, 3).
NOTEBOOK_IDS = [0, 4, 5, 2, 1, 3]
NOTEBOOK_EMBEDDING = np.array(
    [
        [
            0.3374,
            -0.1778,
            -0.3035,
            -0.5880,
            0.3486,
            0.6603,
            -0.2196,
            -0.3792,
            0.7671,
            -1.1925,
            0.6984,
            -1.4097,
            0.1794,
            1.8951,
            0.4954,
            0.2692,
        ],
        [
            0.5146,
            0.9938,
            -0.2587,
            -1.0826,
            -0.0444,
            1.6236,
            -2.3229,
            1.0878,
            0.6716,
            0.6933,
            -0.9487,
            -0.0765,
            -0.1526,
            0.1167,
            0.4403,
            -1.4465,
        ],
        [
            0.2553,
            -0.5496,
            1.0042,
            0.8272,
            -0.3948,
            0.4892,
            -0.2168,
            -1.7472,
            -1.6025,
            -1.0764,
            0.9031,
            -0.7218,
            -0.5951,
            -0.7112,
            0.6230,
            -1.3729,
        ],
        [
            -1.3250,
            0.1784,
            -2.1338,
            1.0524,
            -0.3885,
            -0.9343,
            -0.4991,
            -1.0867,
            0.8805,
            1.5542,
            0.6266,
            -0.1755,
            0.0983,
            -0.0935,
            0.2662,
            -0.5850,
        ],
        [
            -0.0770,
            -1.0205,
            -0.1690,
            0.9178,
            1.5810,
            1.3010,
            1.2753,
            -0.2010,
            0.4965,
            -1.5723,
            0.9666,
            -1.1481,
            -1.1589,
            0.3255,
            -0.6315,
            -2.8400,
        ],
        [
            0.8768,
            1.6221,
            -1.4779,
            1.1331,
            -1.2203,
            1.3139,
            1.0533,
            0.1388,
            2.2473,
            -0.8036,
            -0.2808,
            0.7697,
            -0.6596,
            -0.7979,
            0.1838,
            0.2293,
        ],
    ]
)
# Same notebook: In [19] omega_24, In [22] omega_2, In [36] attention_weights_2.
NOTEBOOK_OMEGA_24 = 2.3206
NOTEBOOK_OMEGA_2 = [-7.0847, -4.5398, 3.9887, 10.2379, 2.3206, -10.5434]
NOTEBOOK_WEIGHTS_2 = [0.0185, 0.0312, 0.1778, 0.6368, 0.1265, 0.0092]
# The generator history that produced them (found by make_torch_fixtures.find_notebook_recipe):
# the W cell drawn once, straight after the embedding.
NOTEBOOK_RECIPE = [
    ["manual_seed", 123],
    ["randn", [6, 16]],
    ["rand", [24, 16]],
    ["rand", [24, 16]],
    ["rand", [28, 16]],
]


def _softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _follow(recipe: list) -> tuple[np.ndarray, list[np.ndarray]]:
    """Run a fixture recipe with TorchGenerator: (last randn draw, all rand draws)."""
    gen, table, ws = None, None, []
    for op, arg in recipe:
        if op == "manual_seed":
            gen = TorchGenerator(arg)  # a new generator == torch.manual_seed on the default one
        elif op == "randn":
            table = gen.randn(*arg)
        elif op == "rand":
            ws.append(gen.rand(*arg))
        else:
            raise AssertionError(f"unknown recipe step {op!r}")
    return table, ws


def test_fixture_comes_from_torch_2_13_and_is_complete() -> None:
    assert REF["versions"]["torch"].startswith("2.13.0")
    assert sorted(map(int, DRAWS["seeds"])) == sorted(SEEDS)
    for seed in SEEDS:
        keys = set(DRAWS["seeds"][str(seed)])
        assert keys == {f"randn_{n}" for n in RANDN_SIZES} | {
            "rand_" + "x".join(map(str, s)) for s in RAND_SHAPES
        }


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", RAND_SHAPES, ids=str)
def test_rand_is_bit_exact(seed: int, shape: tuple[int, ...]) -> None:
    expected = np.array(DRAWS["seeds"][str(seed)]["rand_" + "x".join(map(str, shape))], dtype=np.float64)
    got = TorchGenerator(seed).rand(*shape)
    assert got.dtype == np.float32 and got.shape == shape
    np.testing.assert_array_equal(got.astype(np.float64), expected)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n", RANDN_SIZES)
def test_randn_in_every_size_regime(seed: int, n: int) -> None:
    # n < 16: scalar Box-Muller in double with the cached second sample; n a multiple of 16:
    # normal_fill; other n >= 16: normal_fill plus 16 fresh uniforms for the last 16 elements.
    expected = np.array(DRAWS["seeds"][str(seed)][f"randn_{n}"])
    got = TorchGenerator(seed).randn(n)
    assert got.dtype == np.float32 and got.shape == (n,)
    np.testing.assert_allclose(got.astype(np.float64), expected, atol=RANDN_ATOL, rtol=0)


@pytest.mark.parametrize("name", ["seed_7", "seed_2024_twist_boundary"])
def test_streams_continue_across_calls(name: str) -> None:
    stream = DRAWS["streams"][name]
    gen = TorchGenerator(stream["seed"])
    assert len(stream["calls"]) >= 6
    for i, call in enumerate(stream["calls"]):
        got = getattr(gen, call["call"])(*call["shape"])
        assert got.shape == tuple(call["shape"])
        expected = np.array(call["values"])
        if call["call"] == "rand":
            np.testing.assert_array_equal(got.astype(np.float64), expected, err_msg=f"call {i}")
        else:
            np.testing.assert_allclose(
                got.astype(np.float64), expected, atol=RANDN_ATOL, rtol=0, err_msg=f"call {i}"
            )


@pytest.mark.parametrize("seed", list(DRAWS["seed_equivalences"]))
def test_seeds_reduce_like_torch(seed: str) -> None:
    # torch stores a negative seed as 2**64 + seed and MT19937 keeps only the low 32 bits.
    ref = DRAWS["seed_equivalences"][seed]
    gen = TorchGenerator(int(seed))
    assert gen.initial_seed == int(ref["initial_seed"])
    np.testing.assert_array_equal(gen.rand(4).astype(np.float64), ref["rand_4"])


@pytest.mark.parametrize("seed", [*map(int, DRAWS["refused_seeds"]), 1.5, "3", True, None])
def test_unsupported_seeds_raise_value_error(seed: object) -> None:
    # 2**64 and -2**63 - 1 are refused by torch itself (see the fixture); non-integers, which
    # torch would pass through int(), are refused by us.
    with pytest.raises(ValueError, match="manual_seed"):
        TorchGenerator(seed)  # type: ignore[arg-type]


def test_largest_seeds_torch_accepts_are_accepted() -> None:
    assert TorchGenerator(2**64 - 1).initial_seed == 2**64 - 1
    assert TorchGenerator(-(2**63)).initial_seed == 2**63


def test_notebook_embedding_as_printed() -> None:
    table = embedding_init(TorchGenerator(123), 6, 16)  # (6, 16) nn.Embedding(6, 16).weight
    assert table.shape == (6, 16) and table.dtype == np.float32
    assert REF["pytorch_seed"]["ids"] == NOTEBOOK_IDS
    np.testing.assert_allclose(table[NOTEBOOK_IDS], NOTEBOOK_EMBEDDING, atol=1e-4, rtol=0)
    np.testing.assert_allclose(table[NOTEBOOK_IDS], REF["pytorch_seed"]["embedding"], atol=RANDN_ATOL, rtol=0)


def test_notebook_scores_and_weights_follow_the_recipe() -> None:
    assert REF["pytorch_seed_recipe"] == NOTEBOOK_RECIPE
    ref = REF["pytorch_seed"]
    table, (W_query, W_key, W_value) = _follow(NOTEBOOK_RECIPE)
    for name, W in (("W_query", W_query), ("W_key", W_key), ("W_value", W_value)):
        np.testing.assert_array_equal(W.astype(np.float64), ref[name], err_msg=name)
    # The notebook's maths in float64 on the float32 draws; torch weights are (d_out, d_in) and act
    # on column vectors, so the rows of X @ W.T are the notebook's W.matmul(x).
    x = table[NOTEBOOK_IDS].astype(np.float64)  # (6, 16)
    queries = x @ W_query.T.astype(np.float64)  # (6, 24)
    keys = x @ W_key.T.astype(np.float64)  # (6, 24)
    values = x @ W_value.T.astype(np.float64)  # (6, 28)
    omega = queries @ keys.T  # (6, 6)
    omega_2 = omega[1]  # (6,) the query of "is"
    weights_2 = _softmax(omega_2 / 24**0.5)
    assert omega_2[4] == pytest.approx(NOTEBOOK_OMEGA_24, abs=1e-4)
    np.testing.assert_allclose(omega_2, NOTEBOOK_OMEGA_2, atol=1e-4, rtol=0)
    np.testing.assert_allclose(weights_2, NOTEBOOK_WEIGHTS_2, atol=5e-5, rtol=0)
    # And against every matrix of the torch run (torch sums in float32: ~1e-4 on scores of ~30).
    np.testing.assert_allclose(queries, ref["queries"], atol=2e-5, rtol=0)
    np.testing.assert_allclose(keys, ref["keys"], atol=2e-5, rtol=0)
    np.testing.assert_allclose(values, ref["values"], atol=2e-5, rtol=0)
    np.testing.assert_allclose(omega, ref["omega"], atol=2e-4, rtol=0)
    weights = _softmax(omega / 24**0.5, axis=1)  # (6, 6)
    np.testing.assert_allclose(weights, ref["weights"], atol=1e-6, rtol=0)
    np.testing.assert_allclose(weights_2, ref["attention_weights_2"], atol=1e-6, rtol=0)
    np.testing.assert_allclose(weights @ values, ref["context"], atol=1e-4, rtol=0)


def test_the_blog_number_comes_from_reseeding_before_w() -> None:
    # The blog post's version of the same code prints omega_24 = 11.1466: it calls
    # torch.manual_seed(123) again before drawing W. The fixture's search recorded that recipe.
    blog = REF["pytorch_seed_recipe_search"]["blog_variant"]
    assert blog["omega_24"] == pytest.approx(11.1466, abs=1e-4)
    table, (W_query, W_key, _) = _follow(blog["recipe"])
    x = table[NOTEBOOK_IDS].astype(np.float64)
    omega_24 = (W_query.astype(np.float64) @ x[1]) @ (W_key.astype(np.float64) @ x[4])
    assert omega_24 == pytest.approx(11.1466, abs=1e-4)
    assert (
        REF["pytorch_seed_recipe_search"]["matches"]
        and REF["pytorch_seed_recipe_search"]["candidates_tried"] > 1
    )


@settings(max_examples=60, deadline=None)
@given(st.integers(-(2**63), 2**64 - 1), st.integers(0, 700), st.integers(0, 700))
def test_rand_is_uniform_on_the_24_bit_grid_and_splits(seed: int, a: int, b: int) -> None:
    whole = TorchGenerator(seed).rand(a + b)  # one 32-bit word per element
    gen = TorchGenerator(seed)
    np.testing.assert_array_equal(np.concatenate([gen.rand(a), gen.rand(b)]), whole)
    assert np.all((whole >= 0) & (whole < 1))
    scaled = whole.astype(np.float64) * 2**24
    np.testing.assert_array_equal(scaled, np.floor(scaled))  # multiples of 2**-24


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 15), st.integers(0, 15))
def test_small_randn_carries_its_cached_sample_over(seed: int, a: int, b: int) -> None:
    # Below 16 elements each value comes from one shared scalar Box-Muller stream, the cached
    # second sample included, so randn(a) then randn(b) continue exactly like randn(a + b).
    if a + b >= 16:
        b = 15 - a
    whole = TorchGenerator(seed).randn(a + b)
    gen = TorchGenerator(seed)
    np.testing.assert_array_equal(np.concatenate([gen.randn(a), gen.randn(b)]), whole)


def test_shapes_like_torch() -> None:
    np.testing.assert_array_equal(TorchGenerator(3).rand((2, 3)), TorchGenerator(3).rand(2, 3))
    assert TorchGenerator(3).randn(0).shape == (0,)
    with pytest.raises(ValueError, match="negative dimension"):
        TorchGenerator(3).rand(2, -1)

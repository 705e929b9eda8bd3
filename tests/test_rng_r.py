"""RGenerator and r_matrix against a real R run.

The reference numbers are in tests/fixtures/r_reference.json, written by
tests/fixtures/make_r_fixtures.R under R 4.2.2; R is not needed to run these
tests. Draws are compared for exact (bit-for-bit) equality.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attention_core.rng.r_mt import R_INT_MAX, RGenerator, r_matrix

REF = json.loads((Path(__file__).parent / "fixtures" / "r_reference.json").read_text())
SEEDS = [0, 1, 42, 123, -1, -7, 2147483647, -2147483647, 20261123]
VIGNETTE = REF["vignette"]


def _stream(seed: int) -> np.ndarray:
    """(1500,) float64: R's runif(1500) after set.seed(seed), decoded from the fixture."""
    words = np.array(REF["runif"][str(seed)]["runif_1500_times_2_32"], dtype=np.float64)
    return words * 2.0**-32  # exact: the fixture stores draw * 2^32, an integer < 2^32


def _softmax_rows_like_attention_pkg(scores: np.ndarray) -> np.ndarray:
    """NumPy twin of compute_weights_like_attention_pkg in make_r_fixtures.R (4 x 4 result)."""
    size = scores.shape[0]
    weights = np.zeros((4, 4))
    for i in range(size):
        e = np.exp((scores[i] - scores[i].max()) / math.sqrt(size))
        weights[i] = e / e.sum()
    return weights


# --- the fixture itself -------------------------------------------------------------


def test_fixture_is_a_complete_real_r_run() -> None:
    assert REF["r_version"].startswith("R version 4.")
    assert REF["rng_kind"] == "Mersenne-Twister / Inversion / Rejection"
    assert sorted(map(int, REF["runif"])) == sorted(SEEDS)
    for seed in SEEDS:
        entry = REF["runif"][str(seed)]
        assert len(entry["runif_1500_times_2_32"]) == 1500
        assert len(entry["runif_7_min_m2_max_5"]) == 7 and len(entry["then_runif_5"]) == 5
        # The integer encoding and R's own %.17g doubles agree.
        np.testing.assert_array_equal(_stream(seed)[:10], entry["runif_1500_first_10"])


# --- runif ----------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_runif_1500_bit_exact(seed: int) -> None:
    # 1500 draws regenerate the 624-word state three times (before draws 1, 625 and 1249).
    got = RGenerator(seed).runif(1500)
    assert got.shape == (1500,) and got.dtype == np.float64
    np.testing.assert_array_equal(got, _stream(seed))


@pytest.mark.parametrize("seed", SEEDS)
def test_unif_rand_is_runif_0_1(seed: int) -> None:
    np.testing.assert_array_equal(RGenerator(seed).unif_rand(1500), _stream(seed))


@pytest.mark.parametrize("seed", SEEDS)
def test_runif_min_max_then_continued_stream(seed: int) -> None:
    ref = REF["runif"][str(seed)]
    g = RGenerator(seed)
    np.testing.assert_array_equal(g.runif(7, -2, 5), ref["runif_7_min_m2_max_5"])
    np.testing.assert_array_equal(g.runif(5), ref["then_runif_5"])


@pytest.mark.parametrize("seed", SEEDS)
def test_stream_continues_across_many_small_calls(seed: int) -> None:
    # Calls of uneven sizes that straddle both state refreshes, against R's one long call.
    g = RGenerator(seed)
    sizes = [1, 622, 2, 0, 623, 2, 250]  # sums to 1500
    np.testing.assert_array_equal(np.concatenate([g.runif(k) for k in sizes]), _stream(seed))


def test_min_equal_max_draws_nothing() -> None:
    # R: runif(3, 1, 1) is c(1, 1, 1) and leaves the stream where it was.
    g = RGenerator(42)
    np.testing.assert_array_equal(g.runif(3, 1.0, 1.0), [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(g.runif(1500), _stream(42))


def test_invalid_range_is_refused_without_drawing() -> None:
    g = RGenerator(42)
    with pytest.raises(ValueError, match="min ≤ max"):
        g.runif(2, 3.0, 1.0)
    with pytest.raises(ValueError, match="min ≤ max"):
        g.runif(2, 0.0, math.inf)
    np.testing.assert_array_equal(g.runif(1500), _stream(42))


@pytest.mark.parametrize("n", [-1, 2.0, True])
def test_bad_draw_count_refused(n: object) -> None:
    with pytest.raises(ValueError, match="number of draws"):
        RGenerator(0).runif(n)  # type: ignore[arg-type]


# --- seeding --------------------------------------------------------------------


def test_state_after_set_seed_is_rs_random_seed() -> None:
    # .Random.seed = c(10403, mti, mt[0..623]); this checks the seeding without any twist.
    np.testing.assert_array_equal(RGenerator(42).random_seed(), REF["random_seed"]["after_set_seed_42"])


def test_state_after_1000_draws_is_rs_random_seed() -> None:
    g = RGenerator(42)
    g.runif(1000)
    state = g.random_seed()
    assert state[1] == 1000 - 624  # position inside the second state
    np.testing.assert_array_equal(state, REF["random_seed"]["after_set_seed_42_then_runif_1000"])


@pytest.mark.parametrize("seed", [R_INT_MAX + 1, -(R_INT_MAX + 1), 10**12, -(10**12)])
def test_seed_outside_r_integers_refused(seed: int) -> None:
    # -2**31 is R's NA_integer_: set.seed(NA) is an error in R as well.
    with pytest.raises(ValueError, match=r"set\.seed takes an integer in -2147483647 … 2147483647"):
        RGenerator(seed)


@pytest.mark.parametrize("seed", [1.5, 1.0, True, "1", None])
def test_seed_must_be_a_whole_number(seed: object) -> None:
    with pytest.raises(ValueError, match=r"set\.seed takes a whole number"):
        RGenerator(seed)  # type: ignore[arg-type]


def test_numpy_integer_seed_accepted() -> None:
    np.testing.assert_array_equal(RGenerator(np.int64(-7)).runif(1500), _stream(-7))


# --- r_matrix ---------------------------------------------------------------------


def test_r_matrix_is_column_major_like_r() -> None:
    got = r_matrix(np.arange(1.0, 7.0), 2, 3)
    assert got.shape == (2, 3) and got.dtype == np.float64
    np.testing.assert_array_equal(got, REF["matrix_1_to_6_nrow_2_ncol_3"])
    np.testing.assert_array_equal(got, [[1, 3, 5], [2, 4, 6]])


def test_r_matrix_first_vignette_weight() -> None:
    # set.seed(0); matrix(floor(runif(9, min=0, max=3)), nrow=3, ncol=3), as R prints it
    # (and as the 'attention' package's RowMax documentation example shows it).
    w_q = r_matrix(np.floor(RGenerator(0).runif(9, min=0, max=3)), nrow=3, ncol=3)
    np.testing.assert_array_equal(w_q, [[2, 1, 2], [0, 2, 2], [1, 0, 1]])
    np.testing.assert_array_equal(VIGNETTE["W_Q"], [[2, 1, 2], [0, 2, 2], [1, 0, 1]])


@pytest.mark.parametrize(
    ("values", "nrow", "ncol", "message"),
    [
        (np.arange(5.0), 2, 3, "needs 6 values"),
        (np.arange(7.0), 2, 3, "needs 6 values"),
        (np.ones((2, 3)), 2, 3, "1-D"),
        (np.arange(6.0), -2, -3, "non-negative"),
    ],
)
def test_r_matrix_refuses_mismatched_input(values: np.ndarray, nrow: int, ncol: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        r_matrix(values, nrow, ncol)


# --- the R vignette -------------------------------------------------------------------


def test_vignette_matrices_exactly() -> None:
    g = RGenerator(0)
    # Three successive calls on one stream, as the vignette writes them.
    W_Q, W_K, W_V = (r_matrix(np.floor(g.runif(9, min=0, max=3)), nrow=3, ncol=3) for _ in range(3))
    words = np.array(VIGNETTE["words"], dtype=np.float64)  # (4, 3)
    np.testing.assert_array_equal(words, [[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 1]])
    Q, K, V = words @ W_Q, words @ W_K, words @ W_V  # (4, 3) each
    for name, value in {
        "W_Q": W_Q,
        "W_K": W_K,
        "W_V": W_V,
        "Q": Q,
        "K": K,
        "V": V,
        "scores": Q @ K.T,
    }.items():
        np.testing.assert_array_equal(value, VIGNETTE[name], err_msg=name)


def test_vignette_weights_and_attention_from_r() -> None:
    # R's weights and attention agree with the same recipe in NumPy (a different libm, so
    # a few ulps are allowed) — this pins what the R function in the fixture script computes.
    scores = np.array(VIGNETTE["scores"], dtype=np.float64)
    weights = _softmax_rows_like_attention_pkg(scores)
    np.testing.assert_allclose(weights, VIGNETTE["weights"], rtol=1e-14, atol=0)
    np.testing.assert_allclose(
        weights @ np.array(VIGNETTE["V"], dtype=np.float64), VIGNETTE["attention"], rtol=1e-14, atol=0
    )


def test_r_function_reproduces_package_documentation() -> None:
    doc = REF["package_doc_example_from_documentation_not_run_here"]
    run = REF["package_doc_example_run_here"]
    assert doc["scores"] == run["scores"] == VIGNETTE["scores"]
    # The documentation prints at least 7 decimals (column 3: 0.7891368); R's run rounds to them.
    np.testing.assert_allclose(run["weights"], doc["weights_as_printed"], rtol=0, atol=5e-8)
    np.testing.assert_allclose(run["weights"], VIGNETTE["weights"], rtol=0, atol=0)


# --- properties -------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.integers(-R_INT_MAX, R_INT_MAX), st.integers(0, 1400), st.integers(0, 1400))
def test_split_calls_continue_one_stream(seed: int, a: int, b: int) -> None:
    whole = RGenerator(seed).runif(a + b)
    g = RGenerator(seed)
    np.testing.assert_array_equal(np.concatenate([g.runif(a), g.runif(b)]), whole)
    assert whole.shape == (a + b,)
    assert np.all((whole > 0.0) & (whole < 1.0))


@settings(max_examples=30, deadline=None)
@given(st.integers(-R_INT_MAX, R_INT_MAX), st.integers(1, 2000))
def test_twist_matches_numpys_own_mt19937(seed: int, n: int) -> None:
    # An independent MT19937 (NumPy's C implementation) started from R's seeded state
    # must give the same 32-bit words; draws are words * 2^-32.
    state = RGenerator(seed).random_seed()
    bit_gen = np.random.MT19937()
    bit_gen.state = {
        "bit_generator": "MT19937",
        "state": {"key": state[2:].view(np.uint32), "pos": int(state[1])},
    }
    words = bit_gen.random_raw(n).astype(np.float64)
    np.testing.assert_array_equal(RGenerator(seed).unif_rand(n) * 2.0**32, words)

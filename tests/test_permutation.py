"""Word order: attention without positions and mask is permutation-equivariant; positions break it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attention_core import LabConfig, ValidationError, run_lab
from attention_core.permutation import permutation_matrix, shuffle, shuffled_config

SENTENCE = "the cat sat on the mat because it was tired"


@settings(max_examples=30, deadline=None)
@given(st.permutations(list(range(10))), st.sampled_from(["random", "one_hot"]), st.sampled_from([1, 2]))
def test_without_positions_the_weights_permute_with_the_words(
    perm: list[int], embedding: str, heads: int
) -> None:
    trace = run_lab(LabConfig(sentence=SENTENCE, embedding=embedding, d_model=16, n_heads=heads))
    other, expected, deviation = shuffle(trace, np.array(perm))
    assert deviation < 1e-12
    np.testing.assert_allclose(other.attention.heads[0].weights, expected, atol=1e-12)


@pytest.mark.parametrize(
    "options",
    [
        {"positions": "sinusoidal"},
        {"positions": "learned"},
        {"positions": "rope"},
        {"causal": True},
        {"positions": "alibi", "n_heads": 2},
    ],
)
def test_positions_or_a_mask_make_order_visible(options: dict) -> None:
    trace = run_lab(dataclasses.replace(LabConfig(sentence=SENTENCE), **options))
    _, _, deviation = shuffle(trace, np.array([9, 3, 0, 7, 1, 8, 2, 6, 4, 5]))
    assert deviation > 1e-3


def test_edits_of_x_follow_their_token_and_bad_permutations_are_refused() -> None:
    trace = run_lab(LabConfig(sentence="a b c").with_edits({("embeddings", 0, 1): 4.0}))
    cfg = shuffled_config(trace, np.array([2, 0, 1]))
    assert cfg.sentence == "c a b" and cfg.edit_dict() == {("embeddings", 1, 1): 4.0}
    np.testing.assert_array_equal(permutation_matrix(np.array([2, 0, 1])) @ np.arange(3.0), [2.0, 0.0, 1.0])
    with pytest.raises(ValidationError):
        shuffled_config(trace, np.array([0, 0, 1]))

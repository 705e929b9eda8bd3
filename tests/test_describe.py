"""Text alternatives of heatmaps: the sentence names what a sighted student sees first."""

from __future__ import annotations

import numpy as np

from attention_core import LabConfig, run_lab
from attention_core.describe import describe_matrix, describe_weights


def test_weights_sentence_names_the_strongest_and_the_flattest_row() -> None:
    w = np.array([[0.1, 0.9], [0.5, 0.5]])
    text = describe_weights(w, ["it", "the"], ["cat", "mat"])
    assert text.startswith("'it' (row 0) attends most to 'mat' (column 1), weight 0.90")
    assert "'the' (row 1) spreads its attention most evenly (largest weight 0.50)" in text


def test_matrix_sentence_with_masked_cells() -> None:
    trace = run_lab(LabConfig(sentence="a b c", causal=True))
    h = trace.attention.heads[0]
    text = describe_matrix(h.masked_scores, ["a", "b", "c"], ["a", "b", "c"], "masked_scores")
    i, j = np.unravel_index(
        np.argmax(np.where(np.isfinite(h.masked_scores), h.masked_scores, -np.inf)), (3, 3)
    )
    assert f"largest {h.masked_scores[i, j]:.4g}" in text and "3 cells masked" in text

"""One sentence that says what stands out in a matrix: the text alternative of a heatmap.

A screen reader cannot see a heatmap; these sentences say what a sighted student sees first.
For attention weights: which query attends most strongly to which key, and which query spreads
its attention most evenly. For any other matrix: where its largest and smallest values are.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def describe_weights(weights: np.ndarray, queries: Sequence[str], keys: Sequence[str]) -> str:
    """E.g. "'it' attends most to 'cat' (0.42); 'the' spreads its attention most (largest weight 0.21)"."""
    w = np.asarray(weights, dtype=np.float64)  # (n_q, n_k)
    if w.size == 0:
        return "There are no weights."
    blind = ~(w > 0).any(axis=1)  # (n_q,) rows that see no key (the mask hides every one): all weights 0
    if blind.all():
        return f"No row sees any key: the mask hides every key from all {len(w)} rows, so every weight is 0."
    seeing = np.flatnonzero(~blind)
    i, j = np.unravel_index(int(np.argmax(w)), w.shape)
    flat = int(seeing[np.argmin(w[seeing].max(axis=1))])  # of the rows that see a key, the least peaked
    text = (
        f"{queries[i]!r} (row {i}) attends most to {keys[j]!r} (column {j}), weight {w[i, j]:.2f}; "
        f"{queries[flat]!r} (row {flat}) spreads its attention most evenly (largest weight "
        f"{w[flat].max():.2f})."
    )
    if blind.any():
        rows = np.flatnonzero(blind)
        named = ", ".join(f"{queries[r]!r} (row {r})" for r in rows[:5]) + (" …" if len(rows) > 5 else "")
        text += (
            f" {len(rows)} row(s) see no key (the mask hides every key from them; their weights are 0): "
            f"{named}."
        )
    return text


def describe_matrix(
    m: np.ndarray, rows: Sequence[str], cols: Sequence[str], name: str, kinds: np.ndarray | None = None
) -> str:
    """E.g. "scores: largest 11.9 at ('is', 'is'), smallest −35.8 at ('dessert', 'first')".

    ``kinds`` (from :func:`attention_core.kernel.score_kinds`) tells masked cells from scores
    beyond float64; without it every non-finite cell is counted as masked.
    """
    a = np.asarray(m, dtype=np.float64)
    finite = np.isfinite(a)
    if kinds is not None:
        masked = int((kinds == "masked").sum())
        over, under = int((kinds == "+overflow").sum()), int((kinds == "-overflow").sum())
        beyond = "".join(
            [
                f"; {over} cells above +1.8e308 (overflow)" if over else "",
                f"; {under} cells below −1.8e308 (overflow)" if under else "",
            ]
        )
        hidden = (f"; {masked} cells masked" if masked else "") + beyond
    else:
        hidden = f"; {int((~finite).sum())} cells masked" if not finite.all() else ""
    if not finite.any():
        return f"{name}: no finite values{hidden}."
    masked = np.where(finite, a, np.nan)
    hi = np.unravel_index(int(np.nanargmax(masked)), a.shape)
    lo = np.unravel_index(int(np.nanargmin(masked)), a.shape)
    return (
        f"{name}: largest {a[hi]:.4g} at ({rows[hi[0]]!r}, {cols[hi[1]]!r}), smallest {a[lo]:.4g} at "
        f"({rows[lo[0]]!r}, {cols[lo[1]]!r}){hidden}."
    )

"""How much memory a configuration will hold, known before computing it.

A trace keeps every intermediate: per head, the (n_q, n_k) matrices ``scores``,
``scaled_scores`` and ``weights``, plus ``masked_scores`` with a mask and
``position_bias`` and ``biased_scores`` with ALiBi, each 8 bytes a cell; then the
(n, d) projections. At 1,024 tokens one head's four n² matrices are 32 MB, and
the controls allow hundreds of heads: a single link could ask for tens of
gigabytes. :func:`check_budget` refuses such a configuration with a message that
names the limit, before anything is allocated.
"""

from __future__ import annotations

from .errors import ValidationError

#: What one configuration's trace may hold (a 1,024-token sentence with 8 heads and a mask is ~270 MB).
TRACE_BUDGET_BYTES = 320 * 2**20


def square_matrices_per_head(*, masked: bool, alibi: bool) -> int:
    """How many (n_q, n_k) float64 matrices a head keeps.

    Always scores, scaled and weights; plus masked with a mask, plus bias and biased with ALiBi.
    """
    return 3 + int(masked) + 2 * int(alibi)


def estimate_trace_bytes(
    n_q: int,
    n_k: int,
    d_model: int,
    d_k: int,
    d_v: int,
    n_heads: int,
    *,
    masked: bool,
    alibi: bool,
    rope: bool,
) -> int:
    """Bytes a trace of these sizes will hold (float64), within a few per cent of :func:`cache.nbytes`."""
    square = n_heads * square_matrices_per_head(masked=masked, alibi=alibi) * n_q * n_k * 8  # per-head n²
    mask = n_q * n_k if masked else 0  # one boolean mask shared by the heads
    rows = (
        (n_q + n_k) * (d_model + d_k + d_v) * 8 * (2 if rope else 1)
    )  # X, Q, K, V (rotated copies with RoPE)
    output = n_q * (2 * d_v + d_model) * 8  # per-head outputs, concat, final output
    params = d_model * (2 * d_k + d_v) * 8 + d_v * d_model * 8
    return square + mask + rows + output + params


def check_budget(estimate: int, budget: int = TRACE_BUDGET_BYTES) -> None:
    """Refuse a configuration whose trace would exceed ``budget`` bytes, saying by how much and what helps."""
    if estimate > budget:
        raise ValidationError(
            f"this configuration would hold about {estimate / 2**20:,.0f} MB of intermediate matrices; the "
            f"limit for one configuration is {budget / 2**20:,.0f} MB. Use fewer heads or a shorter "
            "sentence.",
            field="n_heads",
        )

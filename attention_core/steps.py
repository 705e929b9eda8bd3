"""The steps of the mechanism, in order: one registry that every view reads.

Each :class:`Step` names the trace field it shows (the heatmap's title and the
export's name are that field name), says how to draw it (colour kind, what the
rows and columns are), gives its formula and one sentence for a lecture, and
says when it applies (a mask, several heads, a second sentence). The
Playground, the walkthrough pages, presentation mode, the exports and the
reproduce script all iterate over :data:`STEPS`; a new step is one entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    from .lab import LabTrace

Kind = Literal["weights", "scores", "values"]  # colour scale: 0..1, or diverging around 0
Axis = Literal["query", "key", "dimension"]


@dataclass(frozen=True)
class Step:
    name: str  # the trace field, e.g. "scaled_scores"
    title: str  # "Scaled scores": a heading
    caption: str  # the heatmap's title; starts with the field name ("scaled_scores (× {c})", c = the scale)
    formula: str  # LaTeX
    kind: Kind
    rows: Axis  # what a row is: a query token or a key token
    cols: Axis  # what a column is: a key token or a feature dimension
    stage: str  # presentation mode shows the steps of one stage together
    explain: str  # one sentence for the back row
    value: Callable[[LabTrace, int], np.ndarray]  # (trace, head) -> the matrix
    per_head: bool = True  # one matrix per head (False: one for the whole layer)
    applies: Callable[[LabTrace], bool] = lambda trace: True


def _head(field: str) -> Callable[[LabTrace, int], np.ndarray]:
    return lambda trace, h: getattr(trace.attention.heads[h], field)


def _multi(trace: LabTrace) -> bool:
    return trace.attention.n_heads > 1


STEPS: tuple[Step, ...] = (
    Step(
        "embeddings",
        "Embeddings X",
        "embeddings X",
        r"X \in \mathbb{R}^{n \times d_{model}}",
        "values",
        "query",
        "dimension",
        "Embeddings",
        "Each token becomes a row of numbers: its embedding.",
        lambda t, h: t.embeddings,
        per_head=False,
    ),
    Step(
        "embeddings_kv",
        "Embeddings of the second sentence",
        "embeddings_kv (second sentence)",
        r"X_{kv} \in \mathbb{R}^{m \times d_{model}}",
        "values",
        "key",
        "dimension",
        "Embeddings",
        "Keys and values come from the second sentence's tokens.",
        lambda t, h: t.embeddings_kv,
        per_head=False,
        applies=lambda t: t.is_cross,
    ),
    Step(
        "position_table",
        "Positions P",
        "position_table P",
        r"X \leftarrow X + P",
        "values",
        "query",
        "dimension",
        "Embeddings",
        "Row p of a position table is added to the token at position p: now order counts.",
        lambda t, h: t.position_table[: t.embeddings.shape[0]],
        per_head=False,
        applies=lambda t: t.position_table is not None,
    ),
    Step(
        "Q_unrotated",
        "Queries before RoPE",
        "Q_unrotated = X W_q",
        r"Q_{\text{unrotated}} = X W_Q",
        "values",
        "query",
        "dimension",
        "Queries, keys, values",
        "RoPE will turn each pair of features by an angle that grows with the position.",
        _head("Q_unrotated"),
        applies=lambda t: t.attention.heads[0].Q_unrotated is not None,
    ),
    Step(
        "Q",
        "Queries Q",
        "Q = X W_q",
        r"Q = X W_Q",
        "values",
        "query",
        "dimension",
        "Queries, keys, values",
        "Three learned matrices turn every embedding into a query, a key and a value.",
        _head("Q"),
    ),
    Step(
        "K",
        "Keys K",
        "K = X W_k",
        r"K = X W_K",
        "values",
        "key",
        "dimension",
        "Queries, keys, values",
        "Three learned matrices turn every embedding into a query, a key and a value.",
        _head("K"),
    ),
    Step(
        "V",
        "Values V",
        "V = X W_v",
        r"V = X W_V",
        "values",
        "key",
        "dimension",
        "Queries, keys, values",
        "Three learned matrices turn every embedding into a query, a key and a value.",
        _head("V"),
    ),
    Step(
        "scores",
        "Scores",
        "scores Q·Kᵀ",
        r"S = Q K^\top",
        "scores",
        "query",
        "key",
        "Scores",
        "Each query is compared with every key by a dot product: large means similar.",
        _head("scores"),
    ),
    Step(
        "scaled_scores",
        "Scaled scores",
        "scaled_scores (× {c})",
        r"S' = c \cdot S",
        "scores",
        "query",
        "key",
        "Scaling",
        "The scores are multiplied by c (1/√d_k by default) so that the softmax does not saturate.",
        _head("scaled_scores"),
    ),
    Step(
        "position_bias",
        "ALiBi bias",
        "position_bias (ALiBi)",
        r"B_{ij} = -m_h\,|i - j|",
        "scores",
        "query",
        "key",
        "Scaling",
        "ALiBi adds a penalty that grows with the distance between query and key.",
        _head("position_bias"),
        applies=lambda t: t.attention.heads[0].position_bias is not None,
    ),
    Step(
        "biased_scores",
        "Biased scores",
        "biased_scores = scaled + bias",
        r"S'' = S' + B",
        "scores",
        "query",
        "key",
        "Scaling",
        "ALiBi adds a penalty that grows with the distance between query and key.",
        _head("biased_scores"),
        applies=lambda t: t.attention.heads[0].position_bias is not None,
    ),
    Step(
        "masked_scores",
        "Masked scores",
        "masked_scores",
        r"S'_{ij} = -\infty \text{ where } j > i",
        "scores",
        "query",
        "key",
        "Mask",
        "A causal mask hides the later tokens: their scores become −∞, their weights 0.",
        _head("masked_scores"),
        applies=lambda t: t.attention.heads[0].mask is not None,
    ),
    Step(
        "weights",
        "Weights",
        "weights = softmax",
        r"A = \operatorname{softmax}_{\text{row}}(S')",
        "weights",
        "query",
        "key",
        "Weights",
        "Softmax turns each row of scores into weights between 0 and 1 that sum to 1.",
        _head("weights"),
    ),
    Step(
        "output",
        "Output",
        "output = weights · V",
        r"Z = A V",
        "values",
        "query",
        "dimension",
        "Output",
        "Each output row is the weighted average of the value rows: what the token gathers from the others.",
        _head("output"),
    ),
    Step(
        "concat",
        "Heads concatenated",
        "concat (all heads)",
        r"[Z_1 \mid Z_2 \mid \dots]",
        "values",
        "query",
        "dimension",
        "Concatenation and W_O",
        "The heads' outputs are laid side by side …",
        lambda t, h: t.attention.concat,
        per_head=False,
        applies=_multi,
    ),
    Step(
        "final_output",
        "Output projection",
        "final_output = concat · W_o",
        r"O = [Z_1 \mid \dots] W_O",
        "values",
        "query",
        "dimension",
        "Concatenation and W_O",
        "… and one more matrix, W_O, mixes them into the layer's output.",
        lambda t, h: t.attention.output,
        per_head=False,
        applies=_multi,
    ),
)

BY_NAME: dict[str, Step] = {s.name: s for s in STEPS}


def steps_for(trace: LabTrace) -> list[Step]:
    """The steps that apply to ``trace``, in the order of the mechanism, worded for it: the weights
    step says what the trace's normaliser says (its formula and sentence), and under RoPE the
    Q and K steps say that they show the rotated blocks (what entered the scores)."""
    return [_worded(s, trace) for s in STEPS if s.applies(trace)]


def _worded(step: Step, trace: LabTrace) -> Step:
    if step.name == "weights":
        n = trace.attention.heads[0].normaliser
        return replace(step, caption=f"weights = {n.title}", formula=n.formula, explain=n.sentence)
    if step.name in ("Q", "K") and trace.attention.heads[0].Q_unrotated is not None:
        return replace(
            step,
            caption=f"{step.name} = RoPE(X W_{step.name.lower()})",
            formula=rf"{step.name} = \operatorname{{RoPE}}(X W_{step.name})",
        )
    return step


def stages_for(trace: LabTrace) -> list[tuple[str, list[Step]]]:
    """The steps grouped by stage, in order: what presentation mode shows one screen at a time."""
    out: list[tuple[str, list[Step]]] = []
    for s in steps_for(trace):
        if out and out[-1][0] == s.stage:
            out[-1][1].append(s)
        else:
            out.append((s.stage, [s]))
    return out


def labels(trace: LabTrace, step: Step, value: np.ndarray) -> tuple[list[str], list[str]]:
    """(row labels, column labels) of ``value`` as shown for ``step``: tokens or dimension numbers."""

    def axis(kind: Axis, n: int) -> list[str]:
        if kind == "query":
            return list(trace.tokens_q.tokens)
        if kind == "key":
            return list(trace.tokens_kv.tokens)
        return [str(j) for j in range(n)]

    return axis(step.rows, value.shape[0]), axis(step.cols, value.shape[1])

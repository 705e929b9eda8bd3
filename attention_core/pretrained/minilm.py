"""all-MiniLM-L6-v2 (6 layers x 12 heads, d = 384) in NumPy: its run, its cache, one head in the Playground.

The model and its tokenizer are :mod:`.bert` and :mod:`.wordpiece`, loaded by :mod:`.loader`;
:mod:`attention_core.pretrained` exports everything public here (see its docstring).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import ValidationError
from ..lab import MAX_SENTENCE_CHARS, LabConfig
from . import loader
from .common import ForwardCache, check_head, head_lab_config
from .loader import CONFIG, PretrainedModel, load_default

#: BERT's limit: 512 positions, [CLS] and [SEP] included.
MAX_POSITIONS = 512
#: The app's limit (an n x n heatmap per head, 72 heads): 128 positions including [CLS] and [SEP].
APP_MAX_TOKENS = 128
#: Forward results kept per process (an entry at 128 tokens is about 12 MB; one larger than this
#: whole budget, possible only outside the app, is computed and returned but not kept).
CACHE_BYTES = 96 * 2**20

__all__ = [
    "APP_MAX_TOKENS",
    "CACHE_BYTES",
    "CONFIG",
    "MAX_POSITIONS",
    "ModelRun",
    "head_config",
    "is_available",
    "run",
    "special_token_share",
    "without_special_tokens",
]


@dataclass(frozen=True, eq=False)
class ModelRun:
    """One sentence through the model. Arrays are read-only (they are shared by a cache)."""

    sentence: str
    tokens: list[str]  # (n,) WordPiece tokens with [CLS] first and [SEP] last
    ids: list[int]  # (n,) their vocabulary ids
    attentions: np.ndarray  # (layers, heads, n, n) softmax weights, rows sum to 1
    hidden_states: np.ndarray  # (layers + 1, n, d) x_0 = embeddings, x_l = output of layer l
    model: PretrainedModel = field(repr=False)

    @property
    def n_layers(self) -> int:
        return int(self.attentions.shape[0])

    @property
    def n_heads(self) -> int:
        return int(self.attentions.shape[1])

    def __len__(self) -> int:
        return len(self.tokens)


def is_available() -> bool:
    """Is the model package installed (located, not loaded)?"""
    return loader.locate_model_dir() is not None


_CACHE = ForwardCache(CACHE_BYTES)


def run(sentence: str, *, max_tokens: int = MAX_POSITIONS, model: PretrainedModel | None = None) -> ModelRun:
    """Tokenize ``sentence`` and run the model: tokens, ids, every attention and hidden state.

    ``max_tokens`` caps the WordPiece tokens, [CLS] and [SEP] included (at most 512, the
    model's positions). ``model`` defaults to all-MiniLM-L6-v2 from the installed package
    (:class:`ModelNotInstalled` without it). Forward passes are cached per token sequence.
    """
    if not isinstance(sentence, str):
        raise ValidationError("the sentence must be text", field="sentence")
    if len(sentence) > MAX_SENTENCE_CHARS:
        raise ValidationError(
            f"the sentence is {len(sentence):,} characters long; the limit is {MAX_SENTENCE_CHARS:,}",
            field="sentence",
        )
    model = model or load_default()
    limit = min(int(max_tokens), model.bert.config.max_position_embeddings)
    enc = model.tokenizer.encode(sentence)
    if len(enc.ids) > limit:
        raise ValidationError(
            f"the sentence has {len(enc.ids):,} WordPiece tokens including [CLS] and [SEP]; the limit here "
            f"is {limit}: shorten it",
            field="sentence",
        )
    ids = tuple(enc.ids)
    attentions, hidden = _CACHE.forward((model, ids), lambda: model.bert.forward(np.array(ids)))
    return ModelRun(
        sentence=sentence,
        tokens=list(enc.tokens),
        ids=list(enc.ids),
        attentions=attentions,
        hidden_states=hidden,
        model=model,
    )


def without_special_tokens(attentions: np.ndarray) -> np.ndarray:
    """Drop [CLS] and [SEP] (the first and last row and column) and renormalise each row.

    .. math:: \\tilde a_{ij} = a_{ij} / \\sum_{k=1}^{n-2} a_{ik}, \\quad 1 \\le i, j \\le n - 2

    ``attentions`` is ``(..., n, n)`` (one head, a layer, or all of them); the result is
    ``(..., n - 2, n - 2)``. A row that gave all its weight to [CLS]/[SEP] becomes zeros,
    not NaN. Many BERT heads park most of their weight on those two tokens; this shows
    how the rest is shared among the words.
    """
    a = np.asarray(attentions)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2] or a.shape[-1] < 3:
        raise ValidationError(f"need square (..., n, n) weights with n >= 3, got shape {a.shape}")
    inner = a[..., 1:-1, 1:-1]  # (..., n-2, n-2)
    total = inner.sum(axis=-1, keepdims=True)  # (..., n-2, 1)
    return np.divide(inner, total, out=np.zeros_like(inner), where=total > 0)


def special_token_share(attentions: np.ndarray) -> np.ndarray:
    """The mean share of each head's weight that goes to [CLS] and [SEP].

    .. math:: s = \\frac{1}{n} \\sum_i (a_{i,1} + a_{i,n})

    ``attentions`` ``(..., n, n)`` → ``(...)``; for a model run's ``(layers, heads, n, n)``
    a ``(layers, heads)`` table with values in [0, 1].
    """
    a = np.asarray(attentions)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2] or a.shape[-1] < 2:
        raise ValidationError(f"need square (..., n, n) weights with n >= 2, got shape {a.shape}")
    return (a[..., 0] + a[..., -1]).mean(axis=-1)  # (...)


# --------------------------------------------------------------------------- one head in the Playground
def head_config(result: ModelRun | str, layer: int | str, head: int, *older: int) -> LabConfig:
    """A Playground configuration that recomputes one head of ``result`` (or of a sentence, run here
    at the app's limit of :data:`APP_MAX_TOKENS`) exactly: the shape both real models share.

    Embeddings: the layer's input hidden states (n, d) typed in as "manual" embeddings;
    W_q, W_k, W_v: the head's 32 columns of the layer's projections (row convention,
    ``Q = X W + b``) with their biases, given outright; scale 1/√32; one head. The
    sentence is the WordPiece tokens as the Playground's tokenizer splits them
    (:func:`~.common.playground_tokens`), so the rows line up. Before any edit,
    ``run_lab(cfg).attention.heads[0].weights`` equals ``result.attentions[layer, head]``.

    The older form ``head_config(result, sentence, layer, head)`` still works: the sentence
    must be the one ``result`` was computed for.
    """
    if isinstance(layer, str):  # the older form: (result, sentence, layer, head)
        if len(older) != 1:
            raise TypeError(
                "head_config(result, sentence, layer, head): a layer and a head follow the sentence"
            )
        if not isinstance(result, ModelRun):
            raise ValidationError("head_config needs the result of attention_core.pretrained.run")
        if layer != result.sentence:
            raise ValidationError(
                "the sentence is not the one this result was computed for", field="sentence"
            )
        layer, head = head, older[0]
    elif older:
        raise TypeError("head_config takes (result, layer, head) or (result, sentence, layer, head)")
    if isinstance(result, str):
        result = run(result, max_tokens=APP_MAX_TOKENS)
    if not isinstance(result, ModelRun):
        raise ValidationError("head_config needs the result of attention_core.pretrained.run")
    layer, head = check_head(layer, head, result.n_layers, result.n_heads)
    s = result.model.bert.config.head_size
    weights = result.model.bert.layers[layer]
    cols = slice(head * s, (head + 1) * s)
    return head_lab_config(
        result.tokens,
        result.hidden_states[layer],
        weights.W_q[:, cols],
        weights.W_k[:, cols],
        weights.W_v[:, cols],
        biases=(weights.b_q[cols], weights.b_k[cols], weights.b_v[cols]),
        causal=False,
        field="sentence",
    )

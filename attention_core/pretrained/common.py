"""What the two real models share: their forward cache, and one head of theirs as a Playground configuration.

Both :mod:`.minilm` (all-MiniLM-L6-v2) and :mod:`.smollm2` (SmolLM2-135M) cache forward passes in a
:class:`ForwardCache` and answer ``head_config(result or text, layer, head)`` with a
:class:`~attention_core.lab.LabConfig` built by :func:`head_lab_config`, which recomputes that head
in the Playground: the layer's input as manual embeddings, the head's W_Q, W_K, W_V given outright.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence

import numpy as np

from ..cache import ByteLRU
from ..errors import ValidationError
from ..lab import LabConfig
from ..tokenize import tokenize


class ForwardCache(ByteLRU):
    """Forward passes of a real model, shared by every session of the process, bounded in bytes.

    The key names the model itself (hashed by identity and kept alive: the id of a dead object gets
    reused) and what it read (token ids, knock-outs). The arrays come back read-only, because every
    caller shares them.
    """

    def forward(self, key: Hashable, compute: Callable[[], tuple[np.ndarray, ...]]) -> tuple[np.ndarray, ...]:
        """The cached arrays of ``key``, or ``compute()``'s (run once even if many threads ask at once)."""

        def read_only() -> tuple[np.ndarray, ...]:
            arrays = tuple(compute())
            for a in arrays:
                a.setflags(write=False)
            return arrays

        return self.get_or_compute(key, read_only)


def check_head(
    layer: object, head: object, n_layers: int, n_heads: int, field: str | None = None
) -> tuple[int, int]:
    """(layer, head) as ints, or a ValidationError when either is not a whole number inside the model
    (booleans refused); the error's field is ``field``, else "layer" or "head"."""
    for name, value, top in (("layer", layer, n_layers), ("head", head, n_heads)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < top:
            raise ValidationError(
                f"{name} must be a whole number from 0 to {top - 1}, got {value!r}", field=field or name
            )
    return int(layer), int(head)  # type: ignore[call-overload]


def rows(m: np.ndarray) -> tuple[tuple[float, ...], ...]:
    """A matrix as the tuples of floats a :class:`LabConfig` holds (float64, exact)."""
    return tuple(tuple(float(v) for v in row) for row in np.asarray(m, dtype=np.float64))


# ---------------------------------------------------------------- tokens as the Playground splits them
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


def head_lab_config(
    tokens: Sequence[str],
    X: np.ndarray,
    W_q: np.ndarray,
    W_k: np.ndarray,
    W_v: np.ndarray,
    *,
    biases: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    causal: bool,
    rope_base: float | None = None,
    field: str,
) -> LabConfig:
    """The Playground configuration of one head: ``softmax(rope(X W_q + b_q) rope(X W_k + b_k)ᵀ / √s)``.

    ``tokens`` (T,) become the sentence, each as one Playground token (:func:`playground_tokens`),
    so the rows line up; ``X`` (T, d) the manual embeddings; ``W_q``, ``W_k``, ``W_v`` (d, s) and
    ``biases`` (b_q, b_k, b_v), each (s,), are given outright; scale 1/√s, one head; RoPE with
    ``rope_base`` when given. A ValidationError (on ``field``) when the tokens would not stay one each.
    """
    T, d = X.shape
    s = W_q.shape[1]
    labels = playground_tokens(list(tokens))
    text = " ".join(labels)
    got = len(tokenize(text, keep_punctuation=True))
    if got != T:
        raise ValidationError(f"the Playground would split {text!r} into {got} tokens, not {T}", field=field)
    given = [("W_q", rows(W_q)), ("W_k", rows(W_k)), ("W_v", rows(W_v))]
    if biases is not None:
        names = ("b_q", "b_k", "b_v")
        given += [(name, rows(np.reshape(b, (1, -1)))) for name, b in zip(names, biases, strict=True)]
    rope = {} if rope_base is None else {"positions": "rope", "rope_base": float(rope_base)}
    return LabConfig(
        sentence=text,
        lowercase=False,
        keep_punctuation=True,
        cross_sentence="",
        embedding="manual",
        manual_embeddings=rows(X),
        d_model=d,
        d_k=s,
        d_v=s,
        projections=True,
        n_heads=1,
        causal=causal,
        scale_mode="custom",
        scale_value=1.0 / math.sqrt(s),
        given=tuple(given),
        **rope,  # type: ignore[arg-type]
    )

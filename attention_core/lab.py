"""A whole lab configuration, as data, turned into a full trace.

:class:`LabConfig` is everything a person can set in the Playground (and
everything a seed walkthrough fixes): the sentence(s), tokenizer options, where
the embeddings come from, the dimensions, the random source and seed, the
scaling, the mask, the heads and the hand edits. :func:`run_lab` turns it into a
:class:`LabTrace` holding every matrix the app shows. The pipeline::

    tokens ─► embeddings X (n, d_model) ─► Q = X W_q, K = X W_k, V = X W_v
           ─► scores ─► scaled_scores ─► masked_scores ─► weights ─► output

Random numbers are drawn in a fixed order from one generator, as the
tutorials do: the embedding table first (when random), then W_q, W_k, W_v,
then W_o (only with several heads). Hand edits are applied on top of the drawn
matrices, cell by cell, so a configuration plus its edits is small and exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from .attention import multi_head_attention
from .errors import ValidationError
from .rng import INITS, RANDOM_SOURCES, Init, RandomSource, draw_matrix, make_generator
from .tokenize import Tokenization, tokenize
from .trace import MultiHeadTrace

EmbeddingSource = Literal["one_hot", "random", "manual"]
ScaleMode = Literal["sqrt_dk", "sqrt_n", "none", "custom"]

EMBEDDING_SOURCES: tuple[EmbeddingSource, ...] = ("one_hot", "random", "manual")
SCALE_MODES: tuple[ScaleMode, ...] = ("sqrt_dk", "sqrt_n", "none", "custom")
#: Matrices a person may edit by hand, in the order they are drawn.
EDITABLE: tuple[str, ...] = ("embeddings", "embeddings_kv", "W_q", "W_k", "W_v", "W_o", "b_q", "b_k", "b_v")
GIVABLE: tuple[str, ...] = ("W_q", "W_k", "W_v", "W_o", "b_q", "b_k", "b_v")

MAX_TOKENS = 1024  # the UI's cap on tokens per sentence
MAX_DIM = 512  # cap on d_model, d_k and d_v
MAX_SENTENCE_CHARS = 20_000  # refuse longer text before tokenizing it

DEFAULT_SENTENCE = "Life is short, eat dessert first"

#: One hand edit: (matrix name, row, column, value).
Edit = tuple[str, int, int, float]


@dataclass(frozen=True)
class LabConfig:
    """Everything that determines the numbers on screen. Frozen and hashable (cache key)."""

    sentence: str = DEFAULT_SENTENCE
    lowercase: bool = False
    keep_punctuation: bool = False
    cross_sentence: str = ""  # non-empty: keys and values come from this sentence
    embedding: EmbeddingSource = "random"
    manual_embeddings: tuple[tuple[float, ...], ...] | None = None  # (n, d_model) base for "manual"
    d_model: int = 16
    d_k: int = 24
    d_v: int = 28
    projections: bool = True  # False: W_q = W_k = W_v = identity, so Q = K = V = X
    random_source: RandomSource = "torch"
    seed: int = 123
    init: Init = "uniform"  # how W_q, W_k, W_v, W_o are drawn
    embedding_init: Init = "normal"  # how a random embedding table is drawn (nn.Embedding: normal)
    scale_mode: ScaleMode = "sqrt_dk"
    scale_value: float = 1.0  # the factor when scale_mode == "custom"
    causal: bool = False
    n_heads: int = 1
    #: Matrices given outright instead of drawn: ((name, rows), …) with name in W_q, W_k, W_v,
    #: W_o, b_q, b_k, b_v (biases as one row). A real model's head is loaded this way.
    given: tuple[tuple[str, tuple[tuple[float, ...], ...]], ...] = ()
    edits: tuple[Edit, ...] = field(default=())

    def with_edits(self, edits: dict[tuple[str, int, int], float]) -> LabConfig:
        """A copy with ``edits`` (cell → value) as its hand edits, in a canonical order."""
        return replace(self, edits=tuple((m, r, c, float(v)) for (m, r, c), v in sorted(edits.items())))

    def edit_dict(self) -> dict[tuple[str, int, int], float]:
        """The hand edits as {(matrix, row, col): value}; a later edit of a cell wins."""
        return {(m, r, c): v for m, r, c, v in self.edits}


@dataclass(frozen=True)
class LabTrace:
    """Every matrix of one configuration, by the name the UI gives it."""

    config: LabConfig
    tokens_q: Tokenization  # the query sentence
    tokens_kv: Tokenization  # the key/value sentence (== tokens_q for self-attention)
    vocabulary: tuple[str, ...]  # sorted unique tokens of both sentences; row i of the embedding table
    embedding_table: np.ndarray | None  # (vocab, d_model) when embeddings are random or one-hot
    embeddings: np.ndarray  # (n_q, d_model) X, after hand edits
    embeddings_kv: np.ndarray  # (n_k, d_model) X_kv (same values as `embeddings` for self-attention)
    W_q: np.ndarray  # (d_model, d_k)
    W_k: np.ndarray  # (d_model, d_k)
    W_v: np.ndarray  # (d_model, d_v)
    W_o: np.ndarray | None  # (d_v, d_model) with several heads, else None
    attention: MultiHeadTrace  # Q, K, V, per-head scores … weights, concat, output
    base: dict[str, np.ndarray]  # every editable matrix before hand edits (same names)
    biases: dict[str, np.ndarray] = field(default_factory=dict)  # b_q, b_k, b_v (1, d) after edits, if any

    @property
    def is_cross(self) -> bool:
        return bool(self.config.cross_sentence.strip())


def _check_int(name: str, value: object, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValidationError(f"{name} must be a whole number, got {value!r}", field=name)
    if not lo <= int(value) <= hi:
        raise ValidationError(f"{name} must be between {lo} and {hi}, got {value}", field=name)
    return int(value)


def _tokens(name: str, field: str, text: str, cfg: LabConfig) -> Tokenization:
    if not isinstance(text, str):
        raise ValidationError(f"{name} must be text", field=field)
    if len(text) > MAX_SENTENCE_CHARS:
        raise ValidationError(
            f"{name} is {len(text):,} characters long; the limit is {MAX_SENTENCE_CHARS:,}", field=field
        )
    tok = tokenize(text, lowercase=cfg.lowercase, keep_punctuation=cfg.keep_punctuation)
    if len(tok) == 0:
        raise ValidationError(f"{name} has no tokens: type at least one word", field=field)
    if len(tok) > MAX_TOKENS:
        raise ValidationError(
            f"{name} has {len(tok):,} tokens; the limit is {MAX_TOKENS:,}", field=field
        )
    return tok


def validate(cfg: LabConfig) -> None:
    """Raise :class:`ValidationError` naming the first setting that cannot work."""
    for name in ("d_model", "d_k", "d_v"):
        _check_int(name, getattr(cfg, name), 1, MAX_DIM)
    _check_int("n_heads", cfg.n_heads, 1, MAX_DIM)
    if cfg.embedding not in EMBEDDING_SOURCES:
        raise ValidationError(f"embedding must be one of {EMBEDDING_SOURCES}, got {cfg.embedding!r}")
    if cfg.random_source not in RANDOM_SOURCES:
        raise ValidationError(f"random source must be one of {RANDOM_SOURCES}, got {cfg.random_source!r}")
    for name in ("init", "embedding_init"):
        if getattr(cfg, name) not in INITS:
            raise ValidationError(f"{name} must be one of {INITS}, got {getattr(cfg, name)!r}")
    if cfg.scale_mode not in SCALE_MODES:
        raise ValidationError(f"scale mode must be one of {SCALE_MODES}, got {cfg.scale_mode!r}")
    if cfg.scale_mode == "custom" and not (
        isinstance(cfg.scale_value, (int, float)) and math.isfinite(cfg.scale_value)
    ):
        raise ValidationError(
            f"the scaling factor must be a finite number, got {cfg.scale_value!r}", field="scale"
        )
    d_k, d_v = (cfg.d_model, cfg.d_model) if not cfg.projections else (cfg.d_k, cfg.d_v)
    if d_k % cfg.n_heads or d_v % cfg.n_heads:
        raise ValidationError(f"{cfg.n_heads} heads must divide d_k = {d_k} and d_v = {d_v}", field="n_heads")
    for name, _rows in cfg.given:
        if name not in GIVABLE:
            raise ValidationError(f"a given matrix must be one of {GIVABLE}, got {name!r}")
    for edit in cfg.edits:
        if len(edit) != 4 or edit[0] not in EDITABLE:
            raise ValidationError(f"an edit must be (matrix, row, col, value) with matrix in {EDITABLE}: {edit!r}")
        if not isinstance(edit[3], (int, float)) or not math.isfinite(edit[3]):
            raise ValidationError(f"edited value in {edit[0]}[{edit[1]}, {edit[2]}] must be a finite number")


def scale_for(cfg: LabConfig, n_q: int) -> float:
    """The factor in force: 1/√(d_k per head), 1/√n (the R package), 1, or the custom value."""
    if cfg.scale_mode == "sqrt_dk":
        d_k = cfg.d_k if cfg.projections else cfg.d_model
        return 1.0 / math.sqrt(d_k // cfg.n_heads)
    if cfg.scale_mode == "sqrt_n":
        return 1.0 / math.sqrt(n_q)
    if cfg.scale_mode == "none":
        return 1.0
    return float(cfg.scale_value)


def _apply_edits(name: str, base: np.ndarray, edits: dict[tuple[str, int, int], float]) -> np.ndarray:
    m = base.copy()
    for (mat, r, c), v in edits.items():
        if mat != name:
            continue
        if not (0 <= r < m.shape[0] and 0 <= c < m.shape[1]):
            raise ValidationError(f"edit {name}[{r}, {c}] is outside the matrix of shape {m.shape}")
        m[r, c] = v
    return m


def run_lab(cfg: LabConfig) -> LabTrace:
    """Tokenize, embed, draw, edit and attend: the full trace of ``cfg``."""
    validate(cfg)
    tok_q = _tokens("the sentence", "sentence", cfg.sentence, cfg)
    cross = bool(cfg.cross_sentence.strip())
    tok_kv = _tokens("the second sentence", "cross_sentence", cfg.cross_sentence, cfg) if cross else tok_q
    vocabulary = tuple(sorted(set(tok_q.tokens) | set(tok_kv.tokens)))  # == tok_q.vocabulary without cross
    index = {t: i for i, t in enumerate(vocabulary)}
    ids_q = np.array([index[t] for t in tok_q.tokens])  # (n_q,)
    ids_kv = np.array([index[t] for t in tok_kv.tokens])  # (n_k,)
    d = cfg.d_model
    d_k, d_v = (cfg.d_k, cfg.d_v) if cfg.projections else (d, d)

    gen = make_generator(cfg.random_source, cfg.seed)
    table: np.ndarray | None = None
    if cfg.embedding == "one_hot":
        if len(vocabulary) > d:
            raise ValidationError(
                f"one-hot embeddings need d_model ≥ vocabulary size; {len(vocabulary)} words > d_model = {d}",
                field="embedding",
            )
        table = np.eye(len(vocabulary), d)  # (vocab, d_model): word i -> unit vector e_i
        X, X_kv = table[ids_q], table[ids_kv]
    elif cfg.embedding == "random":
        table = draw_matrix(gen, cfg.embedding_init, len(vocabulary), d)  # (vocab, d_model), as nn.Embedding
        X, X_kv = table[ids_q], table[ids_kv]
    else:
        X = np.zeros((len(tok_q), d))
        if cfg.manual_embeddings is not None:
            given = np.asarray(cfg.manual_embeddings, dtype=np.float64)
            if given.shape != X.shape:
                raise ValidationError(
                    f"typed embeddings have shape {given.shape}; expected {X.shape}", field="embedding"
                )
            X = given
        X_kv = np.zeros((len(tok_kv), d)) if cross else X

    if cfg.projections:
        W_q = draw_matrix(gen, cfg.init, d, d_k, weight=True)  # (d_model, d_k)
        W_k = draw_matrix(gen, cfg.init, d, d_k, weight=True)  # (d_model, d_k)
        W_v = draw_matrix(gen, cfg.init, d, d_v, weight=True)  # (d_model, d_v)
    else:
        W_q, W_k, W_v = np.eye(d), np.eye(d), np.eye(d)  # Q = K = V = X
    W_o = draw_matrix(gen, cfg.init, d_v, d, weight=True) if cfg.n_heads > 1 else None  # (d_v, d_model)

    base = {"embeddings": X, "W_q": W_q, "W_k": W_k, "W_v": W_v}
    for name, rows in cfg.given:  # given outright (a real model's head): replaces the drawn matrix
        m = np.asarray(rows, dtype=np.float64)
        expected = {"W_q": (d, d_k), "W_k": (d, d_k), "W_v": (d, d_v), "W_o": (d_v, d),
                    "b_q": (1, d_k), "b_k": (1, d_k), "b_v": (1, d_v)}[name]
        if m.shape != expected or not np.all(np.isfinite(m)):
            raise ValidationError(f"given {name} has shape {m.shape}; expected finite {expected}", field=name)
        base[name] = m
        if name == "W_o":
            W_o = m
    if cross:
        base["embeddings_kv"] = X_kv
    if W_o is not None:
        base["W_o"] = W_o
    edits = cfg.edit_dict()
    unknown = {m for m, _, _ in edits} - set(base)
    if unknown:
        raise ValidationError(f"edits name matrices this configuration does not have: {sorted(unknown)}")
    edited = {name: _apply_edits(name, m, edits) for name, m in base.items()}
    X = edited["embeddings"]
    X_kv = edited.get("embeddings_kv", X)

    bias = {name: edited[name][0] for name in ("b_q", "b_k", "b_v") if name in edited}  # (d,) each
    attention = multi_head_attention(
        X, X_kv, edited["W_q"], edited["W_k"], edited["W_v"], edited.get("W_o"), cfg.n_heads,
        causal=cfg.causal, scale=scale_for(cfg, len(tok_q)), **bias,
    )
    return LabTrace(
        config=cfg, tokens_q=tok_q, tokens_kv=tok_kv, vocabulary=vocabulary, embedding_table=table,
        embeddings=X, embeddings_kv=X_kv, W_q=edited["W_q"], W_k=edited["W_k"], W_v=edited["W_v"],
        W_o=edited.get("W_o"), attention=attention, base=base,
        biases={name: edited[name] for name in ("b_q", "b_k", "b_v") if name in edited},
    )

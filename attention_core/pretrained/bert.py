"""A BERT encoder's forward pass in NumPy (float64), every layer's attention kept.

The architecture of ``BertModel`` (post-LayerNorm), for token ids ``ids`` (n,)::

    x_0 = LayerNorm(word[ids] + position[0..n-1] + token_type[0])            (n, d)
    for each layer:
        Q = x W_q + b_q,  K = x W_k + b_k,  V = x W_v + b_v                  (n, d) each
        head h takes columns h·s … (h+1)·s (s = d / heads, the head size):
        A_h = softmax(Q_h K_hᵀ / √s)                                          (n, n)
        C   = [A_0 V_0 | A_1 V_1 | …]                                         (n, d)
        a   = LayerNorm(C W_o + b_o + x)                                      (n, d)
        x'  = LayerNorm(GELU(a W_i + b_i) W_out + b_out + a)                  (n, d)

LayerNorm normalises each row to mean 0 and (biased) variance 1 with ``eps`` inside
the square root, then scales and shifts; GELU is the exact one, ``x·Φ(x)`` with the
error function (:func:`erf`, accurate to a unit in the last place). Weights use our
row convention ``Q = X W`` (``W = Linear.weight.T``). Everything is computed in
float64 from the checkpoint's float32 weights, so a single head can be recomputed by
:func:`attention_core.run_lab` to 1e-12 (see ``attention_core.pretrained.head_config``).
The attention mask is all ones: one sentence, no padding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..attention import softmax
from ..errors import ValidationError


# --------------------------------------------------------------------------- erf and GELU
def _erf_table(step_inv: int, degree: int, top: float) -> np.ndarray:
    """Taylor coefficients of erf at the grid points k/step_inv, 0 ≤ k ≤ top·step_inv.

    Row 0 is erf(x0) from :func:`math.erf`; row k ≥ 1 is erf⁽ᵏ⁾(x0)/k!, using
    erf⁽ᵏ⁾(x) = (2/√π)·(−1)^(k−1)·H_(k−1)(x)·e^(−x²) with the Hermite polynomials
    H_0 = 1, H_1 = 2x, H_(j+1) = 2x·H_j − 2j·H_(j−1).
    """
    x0 = np.arange(int(top * step_inv) + 1) / step_inv
    table = np.empty((degree + 1, x0.size))
    table[0] = [math.erf(v) for v in x0]
    g = 2.0 / math.sqrt(math.pi) * np.exp(-x0 * x0)
    hermite = [np.ones_like(x0), 2.0 * x0]
    for j in range(1, degree):
        hermite.append(2.0 * x0 * hermite[j] - 2.0 * j * hermite[j - 1])
    for k in range(1, degree + 1):
        table[k] = g * (-1) ** (k - 1) * hermite[k - 1] / math.factorial(k)
    return table


#: Grid of 1/64 on [0, 6], degree 7: |x − x0| ≤ 1/128, so the first omitted term is below
#: 1e-17; measured against math.erf on 2·10⁶ points: max error 1.1e-16 (half an ulp of 1).
#: erf(x) rounds to exactly 1.0 in float64 for x ≥ 5.93, so beyond 6 it is 1.
_ERF_STEP_INV, _ERF_DEGREE, _ERF_TOP = 64, 7, 6.0
_ERF = _erf_table(_ERF_STEP_INV, _ERF_DEGREE, _ERF_TOP)


def erf(x: np.ndarray) -> np.ndarray:
    """The error function, elementwise, to about 1e-16 (NumPy only: no SciPy).

    A short Taylor series around the nearest point of a fine grid whose values come
    from :func:`math.erf`. About 15 ms per million values, 10 times faster than
    calling ``math.erf`` on each.
    """
    x = np.asarray(x, dtype=np.float64)
    a = np.abs(x)
    nan = np.isnan(a)
    a = np.where(nan, 0.0, np.minimum(a, _ERF_TOP))  # beyond 6 the top grid point (erf = 1) is exact
    idx = np.rint(a * _ERF_STEP_INV).astype(np.intp)
    d = a - idx / _ERF_STEP_INV  # |d| ≤ 1/128
    out = _ERF[_ERF_DEGREE][idx]
    for k in range(_ERF_DEGREE - 1, -1, -1):  # Horner
        out *= d
        out += _ERF[k][idx]
    out = np.copysign(out, x)
    if nan.any():
        out[nan] = np.nan
    return out


def gelu(x: np.ndarray) -> np.ndarray:
    """The exact GELU, x·Φ(x) = x/2 · (1 + erf(x/√2)), as ``torch.nn.functional.gelu``."""
    return 0.5 * x * (1.0 + erf(x * (1.0 / math.sqrt(2.0))))


def layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    """Each row to mean 0, variance 1 (biased, eps inside the root), then ·gamma + beta."""
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = np.mean(centred * centred, axis=-1, keepdims=True)
    return centred / np.sqrt(var + eps) * gamma + beta


# --------------------------------------------------------------------------- configuration
@dataclass(frozen=True)
class BertConfig:
    """The fields of ``config.json`` the forward pass needs, checked."""

    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    max_position_embeddings: int
    type_vocab_size: int
    layer_norm_eps: float

    @property
    def head_size(self) -> int:
        return self.hidden_size // self.num_attention_heads

    @property
    def n_layers(self) -> int:
        """``num_hidden_layers`` by the name SmolLM2's configuration uses: callers read either model alike."""
        return self.num_hidden_layers

    @property
    def n_heads(self) -> int:
        """``num_attention_heads``, by that shared name."""
        return self.num_attention_heads

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BertConfig:
        if d.get("model_type", "bert") != "bert":
            raise ValidationError(f"config.json describes a {d.get('model_type')!r} model, not BERT")
        if d.get("hidden_act", "gelu") != "gelu":
            raise ValidationError(
                f"hidden_act {d.get('hidden_act')!r} is not supported (only the exact 'gelu')"
            )
        if d.get("position_embedding_type", "absolute") != "absolute":
            raise ValidationError("only absolute position embeddings are supported")
        try:
            cfg = cls(**{f: d[f] for f in cls.__dataclass_fields__})
        except KeyError as exc:
            raise ValidationError(f"config.json lacks {exc.args[0]!r}") from None
        for name in (
            "vocab_size",
            "hidden_size",
            "num_hidden_layers",
            "num_attention_heads",
            "intermediate_size",
            "max_position_embeddings",
            "type_vocab_size",
        ):
            v = getattr(cfg, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValidationError(f"config.json: {name} must be a positive whole number, got {v!r}")
        if cfg.hidden_size % cfg.num_attention_heads:
            raise ValidationError(
                f"{cfg.num_attention_heads} heads do not divide hidden_size {cfg.hidden_size}"
            )
        if not (isinstance(cfg.layer_norm_eps, (int, float)) and cfg.layer_norm_eps > 0):
            raise ValidationError(f"config.json: layer_norm_eps must be positive, got {cfg.layer_norm_eps!r}")
        return cfg


@dataclass(frozen=True, eq=False)
class Layer:
    """One encoder layer, row convention (``W = Linear.weight.T``), float64."""

    W_q: np.ndarray  # (d, d)
    b_q: np.ndarray  # (d,)
    W_k: np.ndarray
    b_k: np.ndarray
    W_v: np.ndarray
    b_v: np.ndarray
    W_o: np.ndarray  # (d, d) attention output projection
    b_o: np.ndarray
    ln1_gamma: np.ndarray  # (d,) attention.output.LayerNorm
    ln1_beta: np.ndarray
    W_i: np.ndarray  # (d, intermediate)
    b_i: np.ndarray
    W_out: np.ndarray  # (intermediate, d)
    b_out: np.ndarray
    ln2_gamma: np.ndarray  # (d,) output.LayerNorm
    ln2_beta: np.ndarray


#: Our field -> (checkpoint tensor name after "encoder.layer.<i>.", transpose?)
LAYER_TENSORS: dict[str, tuple[str, bool]] = {
    "W_q": ("attention.self.query.weight", True),
    "b_q": ("attention.self.query.bias", False),
    "W_k": ("attention.self.key.weight", True),
    "b_k": ("attention.self.key.bias", False),
    "W_v": ("attention.self.value.weight", True),
    "b_v": ("attention.self.value.bias", False),
    "W_o": ("attention.output.dense.weight", True),
    "b_o": ("attention.output.dense.bias", False),
    "ln1_gamma": ("attention.output.LayerNorm.weight", False),
    "ln1_beta": ("attention.output.LayerNorm.bias", False),
    "W_i": ("intermediate.dense.weight", True),
    "b_i": ("intermediate.dense.bias", False),
    "W_out": ("output.dense.weight", True),
    "b_out": ("output.dense.bias", False),
    "ln2_gamma": ("output.LayerNorm.weight", False),
    "ln2_beta": ("output.LayerNorm.bias", False),
}
EMBEDDING_TENSORS: tuple[str, ...] = (
    "embeddings.word_embeddings.weight",
    "embeddings.position_embeddings.weight",
    "embeddings.token_type_embeddings.weight",
    "embeddings.LayerNorm.weight",
    "embeddings.LayerNorm.bias",
)


class Bert:
    """A BERT encoder ready to run: weights in float64 (the word table stays float32)."""

    def __init__(self, config: BertConfig, tensors: dict[str, np.ndarray]) -> None:
        self.config = config
        c = config
        d, inter = c.hidden_size, c.intermediate_size
        tensors = {k.removeprefix("bert."): v for k, v in tensors.items()}

        def get(name: str, shape: tuple[int, ...]) -> np.ndarray:
            if name not in tensors:
                raise ValidationError(f"the checkpoint lacks the tensor {name!r}")
            t = np.asarray(tensors[name])
            if t.shape != shape:
                raise ValidationError(f"tensor {name!r} has shape {t.shape}; config.json implies {shape}")
            if not np.all(np.isfinite(t)):
                raise ValidationError(f"tensor {name!r} holds non-finite values")
            return t

        self.word = np.ascontiguousarray(
            get(EMBEDDING_TENSORS[0], (c.vocab_size, d))
        )  # rows gathered per call
        self.position = get(EMBEDDING_TENSORS[1], (c.max_position_embeddings, d)).astype(np.float64)
        self.token_type = get(EMBEDDING_TENSORS[2], (c.type_vocab_size, d)).astype(np.float64)
        self.ln_gamma = get(EMBEDDING_TENSORS[3], (d,)).astype(np.float64)
        self.ln_beta = get(EMBEDDING_TENSORS[4], (d,)).astype(np.float64)
        shapes = {
            "W_q": (d, d),
            "W_k": (d, d),
            "W_v": (d, d),
            "W_o": (d, d),
            "W_i": (inter, d),
            "W_out": (d, inter),
            "b_i": (inter,),
        }
        self.layers: list[Layer] = []
        for i in range(c.num_hidden_layers):
            fields = {}
            for field, (suffix, transpose) in LAYER_TENSORS.items():
                t = get(f"encoder.layer.{i}.{suffix}", shapes.get(field, (d,))).astype(np.float64)
                fields[field] = np.ascontiguousarray(t.T) if transpose else t
            self.layers.append(Layer(**fields))
        for layer in self.layers:
            for arr in vars(layer).values():
                arr.setflags(write=False)

    def embed(self, ids: np.ndarray) -> np.ndarray:
        """x_0 = LayerNorm(word + position + token type 0), (n, d)."""
        n = ids.shape[0]
        x = self.word[ids].astype(np.float64) + self.position[:n] + self.token_type[0]
        return layer_norm(x, self.ln_gamma, self.ln_beta, self.config.layer_norm_eps)

    def forward(self, ids: np.ndarray | list[int]) -> tuple[np.ndarray, np.ndarray]:
        """(attentions (layers, heads, n, n), hidden_states (layers + 1, n, d)) for token ids (n,)."""
        c = self.config
        ids = np.asarray(ids, dtype=np.intp)
        n = ids.shape[0]
        if ids.ndim != 1 or n < 1:
            raise ValidationError(f"token ids must be a non-empty 1-D sequence, got shape {ids.shape}")
        if n > c.max_position_embeddings:
            raise ValidationError(f"{n} tokens; the model has {c.max_position_embeddings} positions")
        if ids.min() < 0 or ids.max() >= c.vocab_size:
            raise ValidationError(f"token ids must lie in 0..{c.vocab_size - 1}")
        H, s, eps = c.num_attention_heads, c.head_size, c.layer_norm_eps
        scale = 1.0 / math.sqrt(s)
        attentions = np.empty((c.num_hidden_layers, H, n, n))
        hidden = np.empty((c.num_hidden_layers + 1, n, c.hidden_size))
        x = hidden[0] = self.embed(ids)
        for i, L in enumerate(self.layers):
            q = (x @ L.W_q + L.b_q).reshape(n, H, s).transpose(1, 0, 2)  # (H, n, s)
            k = (x @ L.W_k + L.b_k).reshape(n, H, s).transpose(1, 0, 2)
            v = (x @ L.W_v + L.b_v).reshape(n, H, s).transpose(1, 0, 2)
            probs = softmax((q @ k.transpose(0, 2, 1)) * scale)  # (H, n, n), the lab's own softmax
            attentions[i] = probs
            context = (probs @ v).transpose(1, 0, 2).reshape(n, c.hidden_size)  # heads side by side
            a = layer_norm(context @ L.W_o + L.b_o + x, L.ln1_gamma, L.ln1_beta, eps)
            x = hidden[i + 1] = layer_norm(
                gelu(a @ L.W_i + L.b_i) @ L.W_out + L.b_out + a, L.ln2_gamma, L.ln2_beta, eps
            )
        return attentions, hidden

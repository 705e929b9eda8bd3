"""Reproduce the Attention lab's numbers with NumPy alone.

The app ships this file as "Reproduce in Python": it writes the configuration's
inputs (the embeddings after your hand edits, the position table, W_q, W_k, W_v,
W_o, the biases and the attention options, whole) into ``INPUTS`` below, with full
precision. The computation is written out again here in plain NumPy, independently
of the app's code, so that its output checks the app's numbers. Run::

    python attention_lab.py          # prints every matrix
    python attention_lab.py --json   # prints them exactly, as JSON (see NON_FINITE)

Scores beyond float64 (hand edits reach ±1.8e308) are printed as ±inf and called
*overflow*; the weights are still exact, because each row is normalised from its
scores minus the row's maximum, computed from rescaled numbers (see ``logits``).

Inside the app's package this module is also importable: ``reproduce(inputs)``.
"""

from __future__ import annotations

import json
import sys

import numpy as np

INPUTS: dict = json.loads("{}")  # the app writes the inputs here

#: How ``--json`` writes a number JSON has no word for.
NON_FINITE = {
    "null": "masked: the mask hides this key from this query (weight 0)",
    "+inf": "overflow: the true value is above +1.8e308, beyond float64",
    "-inf": "overflow: the true value is below -1.8e308, beyond float64",
}


def softmax(x: np.ndarray) -> np.ndarray:
    """Row-wise softmax; a row whose keys are all masked (-inf) gives zeros, +inf keys share the row."""
    m = np.max(x, axis=-1, keepdims=True)
    top = np.isposinf(x)
    if top.any():  # the limit of softmax as those scores grow without bound
        rows = np.isposinf(m)
        share = top / np.maximum(top.sum(axis=-1, keepdims=True), 1)
        return np.where(rows, share, softmax(np.where(rows, 0.0, x)))
    e = np.exp(x - np.where(np.isfinite(m), m, 0.0))
    s = e.sum(axis=-1, keepdims=True)
    return np.divide(e, s, out=np.zeros_like(e), where=s > 0)


#: The row normalisers by name (the app writes any other one it uses after this line).
NORMALISERS = {"softmax": softmax}


def logits(q: np.ndarray, k: np.ndarray, scale: float, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(scores, logits) of one head: ``q kᵀ`` and ``scale · q kᵀ``, -inf where not allowed.

    When a row's product exceeds float64, its scores hold ±inf, and its logits are the
    scaled scores minus the row's maximum, computed from q, k and scale divided by powers
    of two (2^a, 2^b, 2^c) and multiplied back only after the subtraction.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        scores = q @ k.T
        scaled = scale * scores
    if np.isfinite(scaled).all():
        return scores, np.where(allowed, scaled, -np.inf)
    a = int(np.frexp(np.abs(q).max())[1]) if q.size else 0
    b = int(np.frexp(np.abs(k).max())[1]) if k.size else 0
    c = int(np.frexp(scale)[1])
    small = np.ldexp(q, -a) @ np.ldexp(k, -b).T
    z = np.where(allowed, small * np.ldexp(scale, -c), -np.inf)
    top = z.max(axis=-1, keepdims=True)
    with np.errstate(over="ignore"):
        big = np.ldexp(small, a + b)
        shifted = np.ldexp(z - np.where(np.isfinite(top), top, 0.0), a + b + c)
    ok = np.isfinite(scaled).all(axis=-1, keepdims=True)  # rows that never overflowed keep their numbers
    return np.where(ok, scores, big), np.where(ok, np.where(allowed, scaled, -np.inf), shifted)


def rotate(x: np.ndarray, base: float) -> np.ndarray:
    """RoPE, rotate-half layout: feature i pairs with i + d/2, turned by position · base^(-2i/d)."""
    n, d = x.shape
    angle = np.arange(n)[:, None] * base ** (-np.arange(0, d, 2) / d)[None, :]  # (n, d/2)
    cos, sin = np.cos(np.tile(angle, 2)), np.sin(np.tile(angle, 2))
    return x * cos + np.concatenate([-x[:, d // 2 :], x[:, : d // 2]], axis=1) * sin


def matrix(value: object) -> np.ndarray:
    return np.array(value, dtype=np.float64)


def hidden(inputs: dict) -> np.ndarray | None:
    """(n_q, n_k) True where the mask hides key j from query i (causal, window), or None."""
    opts = inputs["options"]
    n_q, n_k = len(inputs["X"]), len(inputs["X_kv"])
    i, j = np.arange(n_q)[:, None], np.arange(n_k)[None, :]
    if not (opts["causal"] or opts["window"]):
        return None
    allowed = j <= i
    if opts["window"]:
        allowed = allowed & (j > i - opts["window"])
    return ~allowed


def reproduce(inputs: dict) -> dict[str, np.ndarray]:
    """Every matrix the app shows, by the app's names (``head{h}_…`` with several heads)."""
    opts = inputs["options"]  # scale, causal, window, alibi, rope_base, normaliser: as the app ran them
    X, X_kv = matrix(inputs["X"]), matrix(inputs["X_kv"])
    out: dict[str, np.ndarray] = {"embeddings": X}
    if inputs["cross"]:
        out["embeddings_kv"] = X_kv
    if inputs["P"] is not None:
        P = matrix(inputs["P"])
        out["position_table"] = P[: len(X)]
        X, X_kv = X + P[: len(X)], X_kv + P[: len(X_kv)]
    Q = X @ matrix(inputs["W_q"]) + matrix(inputs["b_q"])  # (n_q, d_k)
    K = X_kv @ matrix(inputs["W_k"]) + matrix(inputs["b_k"])  # (n_k, n_kv · h)
    V = X_kv @ matrix(inputs["W_v"]) + matrix(inputs["b_v"])  # (n_k, n_kv · h_v)
    n_heads, n_kv = inputs["n_heads"], inputs["n_kv_heads"]
    h, hv = Q.shape[1] // n_heads, V.shape[1] // n_kv
    n_q, n_k = len(X), len(X_kv)
    i, j = np.arange(n_q)[:, None], np.arange(n_k)[None, :]
    mask = hidden(inputs)
    allowed = np.ones((n_q, n_k), dtype=bool) if mask is None else ~mask
    scale = opts["scale"] if opts["scale"] is not None else 1.0 / np.sqrt(h)
    normalise = NORMALISERS[opts["normaliser"]]
    outputs = []
    for head in range(n_heads):
        p = f"head{head}_" if n_heads > 1 else ""
        g = head // (n_heads // n_kv)  # the key/value head this query head reads
        q, k, v = Q[:, head * h : (head + 1) * h], K[:, g * h : (g + 1) * h], V[:, g * hv : (g + 1) * hv]
        if opts["rope_base"] is not None:
            out[p + "Q_unrotated"] = q
            q, k = rotate(q, opts["rope_base"]), rotate(k, opts["rope_base"])
        out[p + "Q"], out[p + "K"], out[p + "V"] = q, k, v
        out[p + "scores"], z = logits(q, k, scale, allowed)
        with np.errstate(over="ignore", invalid="ignore"):
            out[p + "scaled_scores"] = biased = scale * out[p + "scores"]
        if opts["alibi"]:
            out[p + "position_bias"] = bias = -inputs["alibi_slopes"][head] * np.abs(i - j).astype(np.float64)
            out[p + "biased_scores"] = biased = biased + bias
            z = z + bias  # the logits are the scores shifted per row: the bias adds as usual
        if mask is not None:
            out[p + "masked_scores"] = np.where(mask, -np.inf, biased)
        out[p + "weights"] = normalise(z)
        out[p + "output"] = out[p + "weights"] @ v
        outputs.append(out[p + "output"])
    if n_heads > 1:
        out["concat"] = np.concatenate(outputs, axis=1)
        out["final_output"] = out["concat"] @ matrix(inputs["W_o"])
    return out


def as_json(name: str, m: np.ndarray, mask: np.ndarray | None) -> list[list[float | str | None]]:
    """Rows of exact floats; a masked cell of masked_scores is null, an overflow "+inf"/"-inf"."""
    masked = mask if mask is not None and name.endswith("masked_scores") else np.zeros(m.shape, dtype=bool)
    return [
        [
            None if hide else float(x) if np.isfinite(x) else ("+inf" if x > 0 else "-inf")
            for x, hide in zip(row, hide_row, strict=True)
        ]
        for row, hide_row in zip(m, masked, strict=True)
    ]


def main(argv: list[str]) -> None:
    results = reproduce(INPUTS)
    if "--json" in argv:
        mask = hidden(INPUTS)
        print(json.dumps({k: as_json(k, m, mask) for k, m in results.items()}))
        return
    np.set_printoptions(precision=6, suppress=True, linewidth=140)
    print("tokens:", INPUTS["tokens"])
    print("options:", INPUTS["options"])
    for name, m in results.items():
        print(name, m.shape)
        print(m)
    if any(not np.isfinite(m).all() for k, m in results.items() if not k.endswith("masked_scores")):
        print(
            "inf = overflow: a score beyond float64 (±1.8e308); the weights are exact, computed from "
            "the rows "
            "shifted by their maximum"
        )


if __name__ == "__main__":
    main(sys.argv)

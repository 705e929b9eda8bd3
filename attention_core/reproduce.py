"""Reproduce the Attention lab's numbers with NumPy alone.

The app ships this file as "Reproduce in Python": it writes the configuration's
inputs (the embeddings after your hand edits, the position table, W_q, W_k, W_v,
W_o, the biases and the options) into ``INPUTS`` below, with full precision.
The computation is written out again here in plain NumPy, independently of the
app's code, so that its output checks the app's numbers. Run::

    python attention_lab.py          # prints every matrix
    python attention_lab.py --json   # prints them exactly, as JSON (null = masked)

Inside the app's package this module is also importable: ``reproduce(inputs)``.
"""

from __future__ import annotations

import json
import sys

import numpy as np

INPUTS: dict = json.loads("{}")  # the app writes the inputs here


def softmax(x: np.ndarray) -> np.ndarray:
    """Row-wise softmax; a row whose keys are all masked (-inf) gives zeros."""
    m = np.max(x, axis=-1, keepdims=True)
    e = np.exp(x - np.where(np.isfinite(m), m, 0.0))
    s = e.sum(axis=-1, keepdims=True)
    return np.divide(e, s, out=np.zeros_like(e), where=s > 0)


def rotate(x: np.ndarray, base: float) -> np.ndarray:
    """RoPE, rotate-half layout: feature i pairs with i + d/2, turned by position · base^(-2i/d)."""
    n, d = x.shape
    angle = np.arange(n)[:, None] * base ** (-np.arange(0, d, 2) / d)[None, :]  # (n, d/2)
    cos, sin = np.cos(np.tile(angle, 2)), np.sin(np.tile(angle, 2))
    return x * cos + np.concatenate([-x[:, d // 2:], x[:, :d // 2]], axis=1) * sin


def matrix(value: object) -> np.ndarray:
    return np.array(value, dtype=np.float64)


def reproduce(inputs: dict) -> dict[str, np.ndarray]:
    """Every matrix the app shows, by the app's names (``head{h}_…`` with several heads)."""
    X, X_kv = matrix(inputs["X"]), matrix(inputs["X_kv"])
    out: dict[str, np.ndarray] = {"embeddings": X}
    if inputs["cross"]:
        out["embeddings_kv"] = X_kv
    if inputs["P"] is not None:
        P = matrix(inputs["P"])
        out["position_table"] = P[:len(X)]
        X, X_kv = X + P[:len(X)], X_kv + P[:len(X_kv)]
    Q = X @ matrix(inputs["W_q"]) + matrix(inputs["b_q"])  # (n_q, d_k)
    K = X_kv @ matrix(inputs["W_k"]) + matrix(inputs["b_k"])  # (n_k, n_kv · h)
    V = X_kv @ matrix(inputs["W_v"]) + matrix(inputs["b_v"])  # (n_k, n_kv · h_v)
    n_heads, n_kv = inputs["n_heads"], inputs["n_kv_heads"]
    h, hv = Q.shape[1] // n_heads, V.shape[1] // n_kv
    n_q, n_k = len(X), len(X_kv)
    i, j = np.arange(n_q)[:, None], np.arange(n_k)[None, :]
    mask = None
    if inputs["causal"] or inputs["window"]:
        mask = j <= i
        if inputs["window"]:
            mask = mask & (j > i - inputs["window"])
    outputs = []
    for head in range(n_heads):
        p = f"head{head}_" if n_heads > 1 else ""
        g = head // (n_heads // n_kv)  # the key/value head this query head reads
        q, k, v = Q[:, head * h:(head + 1) * h], K[:, g * h:(g + 1) * h], V[:, g * hv:(g + 1) * hv]
        if inputs["rope_base"] is not None:
            out[p + "Q_unrotated"] = q
            q, k = rotate(q, inputs["rope_base"]), rotate(k, inputs["rope_base"])
        out[p + "Q"], out[p + "K"], out[p + "V"] = q, k, v
        out[p + "scores"] = q @ k.T
        out[p + "scaled_scores"] = biased = inputs["scale"] * out[p + "scores"]
        if inputs["alibi_slopes"] is not None:
            out[p + "position_bias"] = -inputs["alibi_slopes"][head] * np.abs(i - j).astype(np.float64)
            out[p + "biased_scores"] = biased = biased + out[p + "position_bias"]
        if mask is not None:
            out[p + "masked_scores"] = biased = np.where(mask, biased, -np.inf)
        out[p + "weights"] = softmax(biased)
        out[p + "output"] = out[p + "weights"] @ v
        outputs.append(out[p + "output"])
    if n_heads > 1:
        out["concat"] = np.concatenate(outputs, axis=1)
        out["final_output"] = out["concat"] @ matrix(inputs["W_o"])
    return out


def main(argv: list[str]) -> None:
    results = reproduce(INPUTS)
    if "--json" in argv:
        print(json.dumps({k: [[float(x) if np.isfinite(x) else None for x in row] for row in m]
                          for k, m in results.items()}))
        return
    np.set_printoptions(precision=6, suppress=True, linewidth=140)
    print("tokens:", INPUTS["tokens"])
    for name, m in results.items():
        print(name, m.shape)
        print(m)


if __name__ == "__main__":
    main(sys.argv)

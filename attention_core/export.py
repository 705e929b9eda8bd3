"""Every number of a trace, out of the app: CSV, JSON, LaTeX and a NumPy script.

:func:`matrices` is the one list of what a trace shows, by the names the UI
uses; the writers below turn it into files a student can open elsewhere.
"""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

import numpy as np

from .lab import LabTrace
from .steps import labels, steps_for

#: Cells a spreadsheet would read as a formula if they started a CSV field.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def matrices(trace: LabTrace) -> dict[str, tuple[np.ndarray, list[str], list[str]]]:
    """{name: (matrix, row labels, column labels)} for every matrix the app shows.

    The parameters (W_q, W_k, W_v, biases, W_o, after hand edits), then every registered
    step (:data:`~attention_core.steps.STEPS`); per-head steps are named ``head{h}_{step}``
    when there are several heads.
    """
    cols = lambda m: [str(j) for j in range(m.shape[1])]
    out: dict[str, tuple[np.ndarray, list[str], list[str]]] = {}
    for name in ("W_q", "W_k", "W_v"):
        m = getattr(trace, name)
        out[name] = (m, [f"x{i}" for i in range(m.shape[0])], cols(m))
    for name, b in trace.biases.items():
        out[name] = (b, ["bias"], cols(b))
    if trace.W_o is not None:
        out["W_o"] = (trace.W_o, [f"v{i}" for i in range(trace.W_o.shape[0])], cols(trace.W_o))
    multi = trace.attention.n_heads > 1
    for step in steps_for(trace):
        for h in range(trace.attention.n_heads if step.per_head else 1):
            m = step.value(trace, h)
            out[f"head{h}_{step.name}" if multi and step.per_head else step.name] = (m, *labels(trace, step, m))
    return out


def _cell(text: str) -> str:
    """A label safe for spreadsheets: a leading formula character is quoted, text kept literal."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv(m: np.ndarray, rows: list[str], cols: list[str]) -> str:
    """A matrix as CSV with a header row and a label column; values with repr precision."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["", *(_cell(c) for c in cols)])
    for label, row in zip(rows, np.asarray(m, dtype=np.float64)):
        w.writerow([_cell(label), *(repr(float(v)) for v in row)])
    return buf.getvalue()


def to_latex(m: np.ndarray, digits: int = 4) -> str:
    """A LaTeX ``bmatrix`` of ``m`` (for slides); -inf as ``-\\infty``."""
    def fmt(v: float) -> str:
        if v == -math.inf:  # a plain comparison: np.isneginf on each scalar costs ~1 µs
            return r"-\infty"
        return f"{v:.{digits}g}"
    body = " \\\\\n".join("  " + " & ".join(fmt(float(v)) for v in row) for row in np.asarray(m, dtype=np.float64))
    return "\\begin{bmatrix}\n" + body + "\n\\end{bmatrix}"


def _json_matrix(m: np.ndarray) -> list[list[float | None]]:
    """Rows of floats; -inf (a masked score) becomes null, which JSON can carry."""
    return [[float(v) if np.isfinite(v) else None for v in row] for row in np.asarray(m, dtype=np.float64)]


def to_json(trace: LabTrace, config: dict[str, Any] | None = None) -> str:
    """Every matrix of the trace (and the configuration, when given) as one JSON document."""
    doc: dict[str, Any] = {
        "tokens": list(trace.tokens_q.tokens),
        "tokens_kv": list(trace.tokens_kv.tokens),
        "scale": trace.attention.heads[0].scale,
        "matrices": {name: {"rows": rows, "columns": cols, "values": _json_matrix(m)}
                     for name, (m, rows, cols) in matrices(trace).items()},
    }
    if config is not None:
        doc["config"] = config
    return json.dumps(doc)


_SCRIPT = '''"""Reproduce the Attention lab's numbers with NumPy alone.

Configuration: {summary}
The inputs below are the app's matrices after your hand edits ({n_edits} edited cell(s)),
written with full precision. Run:  python {filename}          (prints the matrices)
                                   python {filename} --json   (prints them exactly, as JSON)
"""

import json
import sys

import numpy as np

tokens = {tokens!r}
tokens_kv = {tokens_kv!r}
X = np.array({X})  # (n_q, d_model) embeddings
X_kv = np.array({X_kv})  # (n_k, d_model) key/value embeddings
W_q = np.array({W_q})  # (d_model, d_k)
W_k = np.array({W_k})  # (d_model, d_k)
W_v = np.array({W_v})  # (d_model, d_v)
b_q, b_k, b_v = {b_q}, {b_k}, {b_v}  # biases (0 when there are none)
W_o = {W_o}  # (d_v, d_model) output projection, or None for one head
n_heads = {n_heads}
scale = {scale!r}  # factor applied to the scores
causal = {causal!r}


def softmax(x):
    """Row-wise softmax; a row with every key masked gives zeros."""
    m = np.max(x, axis=-1, keepdims=True)
    e = np.exp(x - np.where(np.isfinite(m), m, 0.0))
    s = e.sum(axis=-1, keepdims=True)
    return np.divide(e, s, out=np.zeros_like(e), where=s > 0)


Q, K, V = X @ W_q + b_q, X_kv @ W_k + b_k, X_kv @ W_v + b_v
hk, hv = Q.shape[1] // n_heads, V.shape[1] // n_heads
mask = np.tril(np.ones((len(X), len(X_kv)), dtype=bool)) if causal else None
results, outputs = {{}}, []
for h in range(n_heads):
    p = f"head{{h}}_" if n_heads > 1 else ""
    q, k, v = Q[:, h * hk:(h + 1) * hk], K[:, h * hk:(h + 1) * hk], V[:, h * hv:(h + 1) * hv]
    scores = q @ k.T  # (n_q, n_k)
    scaled = scale * scores
    masked = np.where(mask, scaled, -np.inf) if causal else scaled
    weights = softmax(masked)
    out = weights @ v
    results.update({{p + "Q": q, p + "K": k, p + "V": v, p + "scores": scores, p + "scaled_scores": scaled,
                    p + "weights": weights, p + "output": out}})
    if causal:
        results[p + "masked_scores"] = masked
    outputs.append(out)
if n_heads > 1:
    results["concat"] = np.concatenate(outputs, axis=1)
    results["final_output"] = results["concat"] @ np.array(W_o)

if "--json" in sys.argv:
    print(json.dumps({{k: [[float(x) if np.isfinite(x) else None for x in row] for row in m]
                      for k, m in results.items()}}))
else:
    np.set_printoptions(precision=6, suppress=True, linewidth=140)
    for name, m in results.items():
        print(name, m.shape)
        print(m)
'''


def _lit(m: np.ndarray) -> str:
    return repr([[float(v) for v in row] for row in np.asarray(m, dtype=np.float64)])


def python_script(trace: LabTrace, filename: str = "attention_lab.py") -> str:
    """A self-contained NumPy script that rebuilds ``trace`` and prints the same matrices."""
    cfg = trace.config
    head = trace.attention.heads[0]
    bias = {n: f"np.array({[float(v) for v in trace.biases[n][0]]!r})" if n in trace.biases else "0.0"
            for n in ("b_q", "b_k", "b_v")}
    summary = (f"sentence {cfg.sentence!r}" + (f", second sentence {cfg.cross_sentence!r}" if trace.is_cross else "")
               + f"; {cfg.random_source} source, seed {cfg.seed}, {cfg.n_heads} head(s)")
    return _SCRIPT.format(
        summary=summary.replace('"""', "'''"), n_edits=len(cfg.edits), filename=filename,
        tokens=list(trace.tokens_q.tokens), tokens_kv=list(trace.tokens_kv.tokens),
        X=_lit(trace.embeddings), X_kv=_lit(trace.embeddings_kv), W_q=_lit(trace.W_q), W_k=_lit(trace.W_k),
        W_v=_lit(trace.W_v), b_q=bias["b_q"], b_k=bias["b_k"], b_v=bias["b_v"],
        W_o=_lit(trace.W_o) if trace.W_o is not None else "None", n_heads=cfg.n_heads, scale=head.scale,
        causal=cfg.causal,
    )

"""Every number of a trace, out of the app: CSV, JSON, LaTeX and a NumPy script.

:func:`matrices` is the one list of what a trace shows, by the names the UI
uses; the writers below turn it into files a student can open elsewhere.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .lab import LabTrace
from .steps import labels, steps_for

#: How the JSON export writes a number JSON has no word for (the reproduce script says the same).
NON_FINITE = {
    "null": "masked: the mask hides this key from this query (weight 0)",
    "+inf": "overflow: the true value is above +1.8e308, beyond float64",
    "-inf": "overflow: the true value is below -1.8e308, beyond float64",
}
#: The steps whose cells may be beyond float64 (a hand edit of ±1e308) or hidden by the mask.
_SCORE_STEPS = ("scores", "scaled_scores", "biased_scores", "masked_scores")

#: Cells a spreadsheet would read as a formula if they started a CSV field.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def matrices(trace: LabTrace) -> dict[str, tuple[np.ndarray, list[str], list[str]]]:
    """{name: (matrix, row labels, column labels)} for every matrix the app shows.

    The parameters (W_q, W_k, W_v, biases, W_o, after hand edits), then every registered
    step (:data:`~attention_core.steps.STEPS`); per-head steps are named ``head{h}_{step}``
    when there are several heads. A score matrix that holds ±inf, and masked_scores under a
    mask, come as :class:`numpy.ma.MaskedArray` whose mask is the cells the attention mask
    hides: the writers then tell a masked −∞ from a score that overflowed float64.
    """

    def cols(m: np.ndarray) -> list[str]:
        return [str(j) for j in range(m.shape[1])]

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
            if step.name in _SCORE_STEPS and step.per_head:
                m = _with_hidden_cells(trace, step.name, h, m)
            key = f"head{h}_{step.name}" if multi and step.per_head else step.name
            out[key] = (m, *labels(trace, step, m))
    return out


def _with_hidden_cells(trace: LabTrace, name: str, h: int, m: np.ndarray) -> np.ndarray:
    """``m`` as a masked array (mask = hidden by the attention mask) when that tells something apart."""
    head = trace.attention.heads[h]
    if name == "masked_scores" and head.mask is not None:
        return np.ma.MaskedArray(m, mask=~head.mask)
    if m.size and not (np.isfinite(m.min()) and np.isfinite(m.max())):  # overflow, nothing masked here
        return np.ma.MaskedArray(m, mask=np.zeros(m.shape, dtype=bool))
    return m


def _kinds(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(values, hidden): the float64 values and where the attention mask hides a cell; without a
    mask given, every −∞ counts as masked (a plain matrix cannot say more)."""
    if np.ma.isMaskedArray(m):
        return np.asarray(m.data, dtype=np.float64), np.ma.getmaskarray(m)
    values = np.asarray(m, dtype=np.float64)
    return values, np.isneginf(values)


def _cell(text: str) -> str:
    """A label safe for spreadsheets: a leading formula character is quoted, text kept literal."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv(m: np.ndarray, rows: list[str], cols: list[str]) -> str:
    """A matrix as CSV with a header row and a label column; values with repr precision."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["", *(_cell(c) for c in cols)])
    for label, row in zip(rows, np.asarray(m, dtype=np.float64), strict=True):
        w.writerow([_cell(label), *(repr(float(v)) for v in row)])
    return buf.getvalue()


def to_latex(m: np.ndarray, digits: int = 4) -> str:
    r"""A LaTeX ``bmatrix`` of ``m`` (for slides): a masked cell as ``-\infty``, a score beyond
    float64 as ``+\infty_{\text{overflow}}`` or ``-\infty_{\text{overflow}}``.

    A matrix from :func:`matrices` says which cells the mask hides; a plain one with −∞ is
    taken as masked.
    """
    values, hide = _kinds(m)

    def fmt(v: float, hidden: bool) -> str:
        if hidden:
            return r"-\infty"
        if v == math.inf:  # plain comparisons: np.isneginf on each scalar costs ~1 µs
            return r"+\infty_{\text{overflow}}"
        if v == -math.inf:
            return r"-\infty_{\text{overflow}}"
        return f"{v:.{digits}g}"

    body = " \\\\\n".join(
        "  " + " & ".join(fmt(v, x) for v, x in zip(row, hrow, strict=True))
        for row, hrow in zip(values.tolist(), hide.tolist(), strict=True)
    )
    return "\\begin{bmatrix}\n" + body + "\n\\end{bmatrix}"


def _json_matrix(m: np.ndarray) -> list[list[float | str | None]]:
    """Rows of floats; a masked cell becomes null, a score beyond float64 "+inf" or "-inf"
    (:data:`NON_FINITE`): JSON has no infinity."""
    values, hide = _kinds(m)
    return [
        [
            None if x else float(v) if math.isfinite(v) else ("+inf" if v > 0 else "-inf")
            for v, x in zip(row, hrow, strict=True)
        ]
        for row, hrow in zip(values.tolist(), hide.tolist(), strict=True)
    ]


def to_json(trace: LabTrace, config: dict[str, Any] | None = None) -> str:
    """Every matrix of the trace (and the configuration, when given) as one JSON document."""
    doc: dict[str, Any] = {
        "tokens": list(trace.tokens_q.tokens),
        "tokens_kv": list(trace.tokens_kv.tokens),
        "scale": trace.attention.heads[0].scale,
        "options": trace.attention.options.to_dict(),
        "non_finite": NON_FINITE,
        "matrices": {
            name: {"rows": rows, "columns": cols, "values": _json_matrix(m)}
            for name, (m, rows, cols) in matrices(trace).items()
        },
    }
    if config is not None:
        doc["config"] = config
    return json.dumps(doc)


def _lit(m: np.ndarray | None) -> list[list[float]] | None:
    return None if m is None else [[float(v) for v in row] for row in np.asarray(m, dtype=np.float64)]


def _script_fields(trace: LabTrace) -> dict[str, Any]:
    """What :mod:`.reproduce` needs to recompute ``trace``, matrices still as float64 arrays."""
    mh = trace.attention

    def as_array(m: np.ndarray | None) -> np.ndarray | None:
        return None if m is None else np.asarray(m, dtype=np.float64)

    def zero(name: str) -> np.ndarray | float:  # a bias the configuration has, or 0
        return np.asarray(trace.biases[name], dtype=np.float64) if name in trace.biases else 0.0

    return {
        "tokens": list(trace.tokens_q.tokens),
        "tokens_kv": list(trace.tokens_kv.tokens),
        "cross": trace.is_cross,
        "X": as_array(trace.embeddings),
        "X_kv": as_array(trace.embeddings_kv),
        "P": as_array(trace.position_table),
        "W_q": as_array(trace.W_q),
        "W_k": as_array(trace.W_k),
        "W_v": as_array(trace.W_v),
        "W_o": as_array(trace.W_o),
        "b_q": zero("b_q"),
        "b_k": zero("b_k"),
        "b_v": zero("b_v"),
        "n_heads": mh.n_heads,
        "n_kv_heads": mh.n_kv_heads,
        "options": mh.options.to_dict(),  # whole: scale, causal, window, alibi, rope_base, normaliser
        "alibi_slopes": None if mh.alibi_slopes is None else [float(s) for s in mh.alibi_slopes],
    }


def script_inputs(trace: LabTrace) -> dict[str, Any]:
    """What :mod:`.reproduce` needs to recompute ``trace``: its inputs, with full precision."""
    return {k: _lit(v) if isinstance(v, np.ndarray) else v for k, v in _script_fields(trace).items()}


def _script_json_pieces(trace: LabTrace) -> Iterator[str]:
    """``json.dumps(script_inputs(trace))``, the same text, in pieces of at most one matrix row:
    the whole document is never held as Python lists (~32 bytes per number, against ~20 as text)."""
    fields = _script_fields(trace)
    last = len(fields) - 1
    for k, (name, value) in enumerate(fields.items()):
        head = ("{" if k == 0 else "") + json.dumps(name) + ": "
        tail = "}" if k == last else ", "
        if not isinstance(value, np.ndarray):
            yield head + json.dumps(value) + tail
            continue
        yield head + "["
        for i, row in enumerate(value):
            yield json.dumps(row.tolist()) + (", " if i < len(value) - 1 else "")
        yield "]" + tail


#: The line of reproduce.py the app replaces with the inputs.
_INPUTS_MARKER = 'INPUTS: dict = json.loads("{}")  # the app writes the inputs here\n'


def script_bytes(trace: LabTrace) -> bytes:
    """The reproduce module (:mod:`.reproduce`, a real, linted file) with ``trace``'s inputs written in,
    as UTF-8. The inputs are one JSON document, written as adjacent string literals of one matrix row
    each, so what is held besides the file is one row (at 32 MB the whole text at once took 6x the file)."""
    source = Path(__file__).with_name("reproduce.py").read_text(encoding="utf-8")
    normaliser = trace.attention.options.normalise
    if normaliser.script:  # a normaliser the script does not have: its own plain-NumPy text
        registry = 'NORMALISERS = {"softmax": softmax}\n'
        source = source.replace(
            registry,
            f"{registry}\n\n{normaliser.script.strip()}\n\n\n"
            f"NORMALISERS[{normaliser.name!r}] = {normaliser.name}\n",
            1,
        )
    before, after = source.split(_INPUTS_MARKER, 1)
    out = io.BytesIO()
    out.write(before.encode("utf-8") + b"INPUTS: dict = json.loads(  # written by the app\n")
    for piece in _script_json_pieces(trace):
        out.write(b"    " + repr(piece).encode("utf-8") + b"\n")  # adjacent literals: Python joins them
    out.write(b")\n" + after.encode("utf-8"))
    return out.getvalue()  # BytesIO hands over its buffer (shrunk to size) rather than copying it


def python_script(trace: LabTrace) -> str:
    """:func:`script_bytes` as text (the app's download uses the bytes, which it holds once)."""
    return script_bytes(trace).decode("utf-8")


#: Characters a float takes in the files, on average, counted generously (repr: "-0.12345678901234567, ").
CHARS_PER_NUMBER = 24


def estimated_bytes(trace: LabTrace) -> dict[str, int]:
    """About how large each whole-trace file would be, known before it is built: {"json", "script"}."""
    shown = sum(int(m.size) for m, _, _ in matrices(trace).values())
    written = (
        trace.embeddings,
        trace.embeddings_kv,
        trace.position_table,
        trace.W_q,
        trace.W_k,
        trace.W_v,
        trace.W_o,
    )
    inputs = sum(int(np.asarray(m).size) for m in written if m is not None)
    return {"json": CHARS_PER_NUMBER * shown, "script": CHARS_PER_NUMBER * inputs + 8_000}


def json_bytes(trace: LabTrace, config: dict[str, Any] | None = None) -> bytes:
    """:func:`to_json`'s document as UTF-8, written matrix by matrix: what it holds besides the file is
    one matrix as lists, not every matrix at once (the largest file was 700 MB and took +3 GB)."""
    out = io.BytesIO()
    head = {
        "tokens": list(trace.tokens_q.tokens),
        "tokens_kv": list(trace.tokens_kv.tokens),
        "scale": trace.attention.heads[0].scale,
    }
    out.write(json.dumps(head)[:-1].encode() + b', "matrices": {')
    for k, (name, (m, rows, cols)) in enumerate(matrices(trace).items()):
        entry = {"rows": rows, "columns": cols, "values": _json_matrix(m)}
        out.write(
            (", " if k else "").encode() + json.dumps(name).encode() + b": " + json.dumps(entry).encode()
        )
        del entry
    out.write(b"}" + (b', "config": ' + json.dumps(config).encode() if config is not None else b"") + b"}")
    return out.getvalue()

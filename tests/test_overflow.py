"""Issue 27, defect 4: overflow is told the same way everywhere.

Hand edits reach ±1.8e308, so a score can be beyond float64. The core computes the weights
exactly from rescaled numbers; these tests hold the exported script, the arithmetic panel, the
descriptions, LaTeX and JSON to that: the script prints the app's numbers (run in a subprocess
and compared with the app's own trace), the panel's weight is the weight on the heatmap, and
an overflow is never written as "masked", a bare ``inf`` or ``null``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from attention_core import run_lab, score_kinds
from attention_core.describe import describe_matrix
from attention_core.export import matrices, python_script, to_json, to_latex
from attention_core.serialize import config_from_query
from tests.test_app import fig, z_of

ROOT = Path(__file__).resolve().parent.parent

#: The five configurations the issue names, and the negative twin of the first.
LINKS = {
    "1e308": {"e": "W_q:0:0:1e308"},
    "-1e308": {"e": "W_q:0:0:-1e308"},
    "embeddings 1e200": {"e": "embeddings:0:0:1e200"},
    "scale 4": {"sc": "custom", "sv": "4", "e": "W_q:0:0:3e307"},  # scores finite, scaled scores not
    "alibi": {"pos": "alibi", "e": "W_q:0:0:1e308"},
    "causal": {"causal": "1", "e": "W_q:0:0:1e308"},
}


def open_link(params: dict[str, str]) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _printed(values: list) -> np.ndarray:
    """The script's JSON rows as floats: null (masked) as NaN, "+inf"/"-inf" (overflow) as ±inf."""
    conv = {None: np.nan, "+inf": np.inf, "-inf": -np.inf}
    return np.array(
        [[conv[v] if v is None or isinstance(v, str) else v for v in row] for row in values], dtype=np.float64
    )


@pytest.mark.parametrize("name", sorted(LINKS))
def test_exported_script_prints_the_apps_numbers_at_overflow(tmp_path: Path, name: str) -> None:
    cfg, messages = config_from_query(LINKS[name])
    assert not messages
    trace = run_lab(cfg)
    head = trace.attention.heads[0]
    assert not np.all(np.isfinite(head.scaled_scores)), "the link must overflow a score"
    script = tmp_path / "attention_lab.py"
    script.write_text(python_script(trace))
    out = subprocess.run(
        [sys.executable, str(script), "--json"], capture_output=True, text=True, timeout=60, check=True
    )
    printed = json.loads(out.stdout)
    ours = matrices(trace)
    for key, values in printed.items():
        got = _printed(values)
        m = ours[key][0]
        expected = np.array(m.data if np.ma.isMaskedArray(m) else m, dtype=np.float64)
        if np.ma.isMaskedArray(m):
            expected = np.where(np.ma.getmaskarray(m), np.nan, expected)  # masked: null
        assert not np.isnan(got[~np.isnan(expected)]).any(), f"{key}: the script printed nan"
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12, err_msg=key)
    np.testing.assert_array_equal(_printed(printed["weights"]), head.weights)  # bit for bit
    human = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=True
    )
    assert "nan" not in human.stdout and "inf = overflow" in human.stdout


def _panel(at: AppTest, cell: tuple[int, int]) -> str:
    at.session_state["explained"] = cell
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return next(c.value for c in at.code if c.value.startswith("query "))


def test_arithmetic_panel_at_minus_1e308_puts_the_weight_where_the_heatmap_has_it() -> None:
    """`W_q:0:0:-1e308`: row 1's score on key 5 is above +1.8e308, so key 5 takes the whole row.
    The panel used to read "weight = 0 / 1 = 1" for cell [1, 5] and put the 1 on column 2."""
    at = open_link(LINKS["-1e308"])
    w = z_of(fig(at, "weights"))
    trace = run_lab(config_from_query(LINKS["-1e308"])[0])
    np.testing.assert_array_equal(w, trace.attention.heads[0].weights)
    assert w[1, 5] == 1.0
    text = _panel(at, (1, 5))
    assert "weight = 1 / 1 = 1" in text
    assert "+∞" in text and "overflow" in text and "masked" not in text
    assert " inf" not in text and "nan" not in text
    exp_line = next(line for line in text.splitlines() if line.startswith("exp"))
    shown = [float(v) for v in exp_line.split("[", 1)[1].rstrip("]").split(", ")]
    assert shown == [0.0, 0.0, 0.0, 0.0, 0.0, 1.0]  # the 1 on column 5, as on the heatmap
    other = _panel(at, (1, 2))
    assert "weight = 0 / 1 = 0" in other


@pytest.mark.parametrize("name", sorted(LINKS))
def test_arithmetic_panel_weight_is_the_heatmaps_in_every_overflowed_cell(name: str) -> None:
    at = open_link(LINKS[name])
    trace = run_lab(config_from_query(LINKS[name])[0])
    head = trace.attention.heads[0]
    rows = np.where(~np.isfinite(head.scaled_scores).all(axis=1))[0]
    for i in rows[:2]:
        for j in range(head.n_k):
            text = _panel(at, (int(i), j))
            weight_line = next(line for line in text.splitlines() if line.startswith("weight"))
            assert weight_line.endswith(f"= {head.weights[i, j]:.6g}"), (i, j, weight_line)
            assert "nan" not in text and not any(w == "inf" or w == "-inf" for w in text.split())


def test_latex_and_json_tell_overflow_from_masked() -> None:
    cfg = config_from_query(LINKS["causal"])[0]
    trace = run_lab(cfg)
    ms = matrices(trace)
    tex = to_latex(ms["masked_scores"][0])
    head = trace.attention.heads[0]
    n_masked = int((~head.mask).sum())
    n_over = int(((score_kinds(head) == "-overflow") | (score_kinds(head) == "+overflow")).sum())
    assert n_over > 0 and n_masked > 0
    assert tex.count(r"\infty_{\text{overflow}}") == n_over
    assert tex.count(r"-\infty") - tex.count(r"-\infty_{\text{overflow}}") == n_masked
    up = to_latex(matrices(run_lab(config_from_query(LINKS["-1e308"])[0]))["scores"][0])
    assert r"+\infty_{\text{overflow}}" in up and " inf" not in up and "& inf" not in up
    doc = json.loads(to_json(trace))
    values = doc["matrices"]["masked_scores"]["values"]
    assert sum(v is None for row in values for v in row) == n_masked
    assert sum(v in ("+inf", "-inf") for row in values for v in row) == n_over
    assert "masked" in doc["non_finite"]["null"] and "overflow" in doc["non_finite"]["-inf"]
    scores = doc["matrices"]["scores"]["values"]
    assert not any(v is None for row in scores for v in row)  # no score is masked: none is null


def test_descriptions_count_overflow_apart_from_masked() -> None:
    trace = run_lab(config_from_query(LINKS["causal"])[0])
    head = trace.attention.heads[0]
    kinds = score_kinds(head)
    rows = cols = list(trace.tokens_q.tokens)
    text = describe_matrix(head.masked_scores, rows, cols, "masked_scores", kinds=kinds)
    assert f"{int((~head.mask).sum())} cells masked" in text and "1.8e308 (overflow)" in text
    scores = describe_matrix(head.scores, rows, cols, "scores", kinds=score_kinds(head, "scores"))
    assert "masked" not in scores and "overflow" in scores
    assert "overflow" in trace.overflow_note and "masked" not in trace.overflow_note


def test_app_describes_overflowed_scores_as_overflow_not_masked() -> None:
    at = open_link(LINKS["1e308"])
    at.session_state["step_tab"] = "Scores"
    at.run()
    captions = " ".join(c.value for c in at.caption)
    assert "overflow" in captions
    assert "cells masked" not in captions

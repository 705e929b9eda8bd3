"""State files, links and exports: round trips are exact; bad input is named and ignored."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attention_core import PRESETS, LabConfig, ValidationError, run_lab
from attention_core.export import matrices, python_script, to_csv, to_json, to_latex
from attention_core.serialize import (
    config_from_query,
    config_to_dict,
    config_to_query,
    state_from_json,
    state_to_json,
)


def same_trace(a: LabConfig, b: LabConfig) -> None:
    ta, tb = run_lab(a), run_lab(b)
    ma, mb = matrices(ta), matrices(tb)
    assert ma.keys() == mb.keys()
    for name in ma:
        np.testing.assert_array_equal(ma[name][0], mb[name][0], err_msg=name)  # to the last digit
        assert ma[name][1] == mb[name][1]


@pytest.mark.parametrize("key", sorted(PRESETS))
def test_presets_round_trip_through_link_and_file(key: str) -> None:
    cfg = PRESETS[key].config.with_edits({("W_q", 0, 1): 0.1 + 0.2, ("embeddings", 1, 0): -1e-300})
    from_link, msgs = config_from_query(config_to_query(cfg))
    assert msgs == []
    same_trace(cfg, from_link)
    from_file, extra, msgs = state_from_json(state_to_json(cfg, page="playground", step=3))
    assert msgs == [] and extra == {"page": "playground", "step": 3}
    same_trace(cfg, from_file)


configs = st.builds(
    LabConfig,
    sentence=st.text(alphabet="ab cd,é😀<$", min_size=1, max_size=30).filter(
        lambda s: any(c.isalpha() for c in s)
    ),
    lowercase=st.booleans(),
    keep_punctuation=st.booleans(),
    embedding=st.sampled_from(["random", "manual"]),
    d_model=st.integers(1, 6),
    d_k=st.sampled_from([2, 4]),
    d_v=st.sampled_from([2, 4]),
    random_source=st.sampled_from(["numpy", "torch", "r"]),
    seed=st.integers(0, 2**31 - 1),
    init=st.sampled_from(["int3", "uniform"]),
    embedding_init=st.sampled_from(["int3", "uniform"]),
    scale_mode=st.sampled_from(["sqrt_dk", "sqrt_n", "none", "custom"]),
    scale_value=st.floats(-10, 10, allow_nan=False),
    causal=st.booleans(),
    n_heads=st.sampled_from([1, 2]),
)


@settings(max_examples=60, deadline=None)
@given(
    configs,
    st.lists(
        st.tuples(
            st.sampled_from(["W_q", "W_k", "W_v", "embeddings"]),
            st.integers(0, 1),
            st.integers(0, 1),
            st.floats(-1e6, 1e6, allow_nan=False),
        ),
        max_size=6,
    ),
)
def test_random_configs_with_edits_round_trip(cfg: LabConfig, edits: list) -> None:
    cfg = cfg.with_edits({(m, r, c): v for m, r, c, v in edits})
    try:
        run_lab(cfg)
    except ValidationError:
        return  # e.g. an edit outside a 1-wide matrix: nothing to share
    link, msgs = config_from_query(config_to_query(cfg))
    assert msgs == []
    same_trace(cfg, link)
    file_cfg, _, msgs = state_from_json(state_to_json(cfg))
    assert msgs == []
    same_trace(cfg, file_cfg)


BAD_LINKS = [
    ({"dm": "-3"}, "'dm' (d_model): must be between 1 and 768"),
    ({"dm": "99999999999999999999999999"}, "'dm' (d_model): must be a whole number"),
    ({"dk": "2.5"}, "'dk' (d_k): must be a whole number"),
    ({"h": "0"}, "'h' (n_heads)"),
    ({"seed": "abc"}, "'seed' (seed): must be a whole number"),
    ({"seed": str(2**70)}, "'seed' (seed)"),
    ({"sv": "nan"}, "'sv' (scale_value): 'nan' is not a finite number"),
    ({"sv": "inf"}, "'sv' (scale_value)"),
    ({"src": "matlab"}, "'src' (random_source): must be one of"),
    ({"causal": "yes"}, "'causal' (causal): must be true or false"),
    ({"preset": "nope"}, "ignored 'preset': unknown preset"),
    ({"zzz": "1"}, "ignored unknown parameter 'zzz'"),
    ({"e": "W_q:0:0:5.0,W_q:0:0:nan,junk,W_x:1:1:1"}, "ignored 3 malformed edit(s)"),
    ({"e": "W_q:0:0:" + "9" * 40_000}, "ignored the whole link"),
    ({"s": "x" * 30_000}, "'s' (sentence): is 30,000 characters long; the limit is 20,000"),
    ({"s": "x" * 40_000}, "ignored the whole link"),
    ({"e": "V0tfcTowOjA6NS4w"}, "ignored 1 malformed edit(s)"),  # base64 where plain text belongs
]


@pytest.mark.parametrize(("params", "needle"), BAD_LINKS)
def test_bad_links_name_what_was_ignored_and_keep_the_rest(params: dict, needle: str) -> None:
    cfg, msgs = config_from_query({**params, "sc": "none"} if "whole link" not in needle else params)
    assert any(needle in m for m in msgs), msgs
    run_lab(cfg)  # the rest still makes a working configuration
    if "whole link" not in needle:
        assert cfg.scale_mode == "none"  # the good parameter was applied


BAD_FILES = [
    ("", "not valid JSON"),
    ("{", "not valid JSON"),
    ("[1, 2]", "no 'config' object"),
    ('{"config": 3}', "no 'config' object"),
    ("x" * 2_000_001, "the limit is"),
    ("[" * 100_000 + "]" * 100_000, "not valid JSON"),
]


@pytest.mark.parametrize(("text", "needle"), BAD_FILES)
def test_unusable_state_files_are_refused_with_a_message(text: str, needle: str) -> None:
    with pytest.raises(ValidationError, match=needle):
        state_from_json(text)


def test_state_file_with_bad_keys_applies_the_rest() -> None:
    doc = {
        "version": 1,
        "config": {
            "d_model": -1,
            "seed": "7",
            "unknown": 1,
            "n_heads": 2,
            "d_k": 24,
            "d_v": 28,
            "edits": [["W_q", 0, 0, 2.0], ["W_q", 0, 0, "NaN"], "junk", ["nope", 0, 0, 1.0]],
        },
    }
    cfg, _, msgs = state_from_json(json.dumps(doc))
    text = "\n".join(msgs)
    for needle in (
        "'d_model': must be between",
        "'seed': must be a whole number",
        "unknown key 'unknown'",
        "finite number",
        "[matrix, row, column, value]",
        "unknown matrix 'nope'",
    ):
        assert needle in text
    assert cfg.n_heads == 2 and cfg.edits == (("W_q", 0, 0, 2.0),)
    run_lab(cfg)


def test_typed_embeddings_travel_as_edits() -> None:
    cfg = LabConfig(
        sentence="a b",
        embedding="manual",
        manual_embeddings=((1.5, 0.0), (0.0, -2.0)),
        d_model=2,
        d_k=2,
        d_v=2,
    )
    same_trace(cfg, config_from_query(config_to_query(cfg))[0])


PARAMETERS = {"W_q", "W_k", "W_v", "W_o", "b_q", "b_k", "b_v"}


@pytest.mark.parametrize(
    "options",
    [
        {"n_heads": 2, "causal": True},
        {"n_heads": 4, "n_kv_heads": 2, "positions": "rope", "window": 3, "causal": True},
        {"n_heads": 2, "positions": "alibi", "cross_sentence": "a b c d e"},
        {"positions": "sinusoidal", "cross_sentence": "one two three four five six seven eight"},
        {"positions": "learned", "n_heads": 2, "causal": True},
    ],
)
def test_exported_script_reproduces_every_variant(tmp_path: Path, options: dict) -> None:
    """The shipped reproduce module, with the app's inputs written in, prints every matrix the app
    exports (parameters aside) to 1e-12: positions, RoPE, ALiBi, windows and shared kv heads included."""
    trace = run_lab(dataclasses.replace(LabConfig(), **options).with_edits({("W_q", 0, 0): 2.5}))
    script = tmp_path / "attention_lab.py"
    script.write_text(python_script(trace))
    out = subprocess.run(
        [sys.executable, str(script), "--json"], capture_output=True, text=True, timeout=60, check=True
    )
    printed = json.loads(out.stdout)
    ours = matrices(trace)
    assert set(ours) - PARAMETERS == set(printed)
    for name, values in printed.items():
        expected = np.where(np.isfinite(ours[name][0]), ours[name][0], np.nan)
        got = np.array([[np.nan if v is None else v for v in row] for row in values])
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12, err_msg=name)


def test_exported_script_prints_readable_matrices(tmp_path: Path) -> None:
    trace = run_lab(dataclasses.replace(LabConfig(), n_heads=2, causal=True).with_edits({("W_q", 0, 0): 5.0}))
    script = tmp_path / "attention_lab.py"
    script.write_text(python_script(trace))
    human = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=True
    )
    assert "head1_weights (6, 6)" in human.stdout and "tokens: ['Life', 'is'" in human.stdout


def test_csv_latex_json_exports() -> None:
    trace = run_lab(LabConfig(sentence="=SUM(A1) is +risky", keep_punctuation=True))
    m, rows, cols = matrices(trace)["weights"]
    text = to_csv(m, rows, cols)
    lines = text.splitlines()
    assert rows[0] == "=" and lines[1].startswith("'=,")  # a formula start is quoted, not evaluated
    assert len(lines) == 1 + len(rows)
    np.testing.assert_array_equal([[float(x) for x in ln.split(",")[1:]] for ln in lines[1:]], m)
    tex = to_latex(np.array([[1.0, -np.inf], [0.25, 2.0]]))
    assert tex == "\\begin{bmatrix}\n  1 & -\\infty \\\\\n  0.25 & 2\n\\end{bmatrix}"
    doc = json.loads(to_json(trace, config_to_dict(trace.config)))
    np.testing.assert_array_equal(doc["matrices"]["weights"]["values"], m)
    assert doc["config"]["sentence"] == "=SUM(A1) is +risky"


# --------------------------------------------------------------------------- long states (issue 15)
from attention_core.serialize import (
    COMPACT_KEY,
    MAX_LINK_CHARS,
    MAX_PLAIN_LINK_CHARS,
    LinkTooLong,
    _plain_query,
    link_length,
)


def full_precision_edits(cfg: LabConfig, n: int, seed: int = 0) -> LabConfig:
    """``cfg`` with ``n`` cells of W_q, W_k, W_v set to random full-precision doubles."""
    from attention_core.lab import matrix_shapes

    rng = np.random.default_rng(seed)
    shapes = matrix_shapes(cfg)
    cells = [
        (m, r, c) for m in ("W_q", "W_k", "W_v") for r in range(shapes[m][0]) for c in range(shapes[m][1])
    ]
    chosen = rng.choice(len(cells), size=n, replace=False)
    return cfg.with_edits({cells[i]: float(rng.normal() * 10.0 ** rng.integers(-5, 5)) for i in chosen})


def test_short_states_keep_readable_links() -> None:
    params = config_to_query(dataclasses.replace(LabConfig(), seed=7).with_edits({("W_q", 0, 0): 0.1 + 0.2}))
    assert params == {"seed": "7", "e": "W_q:0:0:0.30000000000000004"}


@pytest.mark.parametrize(
    "cfg",
    [
        full_precision_edits(LabConfig(), 1000),
        LabConfig(sentence=" ".join(["wörd" + "x" * (i % 50) for i in range(600)])[:15_000]),
        # 15,000 characters in 715 words, 6 characters each once percent-encoded (CJK would be > 1,024 tokens)
        LabConfig(
            sentence=" ".join("привет" + "мир" * (i % 6) + "ёжик"[: i % 4] for i in range(1200))[:15_000]
        ),
    ],
    ids=["1000-edits", "15000-chars", "15000-cyrillic"],
)
def test_long_states_travel_compressed_and_come_back_exactly(cfg: LabConfig) -> None:
    params = config_to_query(cfg)
    assert list(params) == [COMPACT_KEY]
    assert link_length(params) <= MAX_LINK_CHARS
    assert link_length(_plain_query(cfg)) > MAX_PLAIN_LINK_CHARS
    back, messages = config_from_query(params)
    assert messages == [] and back == cfg  # every float to the last bit, every character
    same_trace(cfg, back)


def test_a_state_too_large_for_any_link_says_so_and_offers_the_file() -> None:
    cfg = full_precision_edits(LabConfig(d_model=128, d_k=128, d_v=128), 5000)
    with pytest.raises(LinkTooLong, match="download the state file"):
        config_to_query(cfg)
    back, _, messages = state_from_json(state_to_json(cfg))  # the file keeps it all
    assert messages == [] and back == cfg


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 1216), st.integers(0, 2**31))
def test_the_app_never_writes_a_link_it_cannot_read(n: int, seed: int) -> None:
    cfg = full_precision_edits(LabConfig(), n, seed)
    try:
        params = config_to_query(cfg)
    except LinkTooLong:
        return
    assert link_length(params) <= MAX_LINK_CHARS
    back, messages = config_from_query(params)
    assert messages == [] and back == cfg

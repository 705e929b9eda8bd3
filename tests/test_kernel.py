"""The mechanism in one place (issue 28) and booleans refused as numbers (issue 27).

* The import graph of ``attention_core``: no module imports another's private name, and
  no import loop (attention ↔ gqa had one, hidden in a function).
* One options object: what the entry points build, what the trace keeps, what the export
  writes whole and the reproduce script reads whole.
* The normaliser registry: softmax is registered with its backward, formula and arithmetic.
* Every public function that takes a number refuses ``True``/``False`` for it.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import attention_core as ac
from attention_core import learn, optim
from attention_core.export import script_inputs
from attention_core.lab import LabConfig, matrix_shapes, plan, run_lab
from attention_core.normalisers import NORMALISERS
from attention_core.options import AttentionOptions
from attention_core.positions import learned_positions, sinusoidal_positions
from attention_core.rng import draw_matrix, make_generator
from attention_core.rope import rope
from attention_core.tiled import state_after

CORE = Path(ac.__file__).resolve().parent


def _imports() -> dict[str, set[str]]:
    """{module: modules of attention_core it imports at any depth of its code}, private names checked."""
    graph: dict[str, set[str]] = {}
    for path in CORE.rglob("*.py"):
        name = ".".join(path.relative_to(CORE.parent).with_suffix("").parts).removesuffix(".__init__")
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level or (node.module or "").startswith("attention_core"):
                base = package
                for _ in range(max(node.level - 1, 0)):
                    base = base.rsplit(".", 1)[0]
                target = (f"{base}.{node.module}" if node.module else base) if node.level else node.module
                private = [
                    a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")
                ]
                assert not private, f"{name} imports private {private} from {target}"
                deps.add(target)
        graph[name] = deps
    return graph


def test_no_private_imports_and_no_import_loop() -> None:
    graph = _imports()
    core = {m for m in graph if not m.startswith("attention_core.pretrained")}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for d in graph.get(start, ()):
            if d == goal:
                return True
            if d not in seen and d != "attention_core":  # the package's __init__ re-exports everything
                seen.add(d)
                if reaches(d, goal, seen):
                    return True
        return False

    loops = [m for m in core if m != "attention_core" and reaches(m, m, set())]
    assert not loops, f"import loops through {sorted(loops)}"
    assert "attention_core.attention" not in graph["attention_core.gqa"]


def test_the_options_travel_whole_from_the_lab_to_the_script() -> None:
    cfg = dataclasses.replace(LabConfig(), n_heads=4, n_kv_heads=2, positions="rope", window=3, causal=True)
    trace = run_lab(cfg)
    opts = trace.attention.options
    assert opts == AttentionOptions(
        scale=trace.attention.heads[0].scale, causal=True, window=3, rope_base=cfg.rope_base
    )
    assert all(h.options is opts for h in trace.attention.heads)
    written = script_inputs(trace)["options"]
    assert written == opts.to_dict() and AttentionOptions.from_dict(written) == opts


def test_lab_run_draws_the_shapes_plan_decides() -> None:
    for cfg in (
        LabConfig(),
        dataclasses.replace(LabConfig(), n_heads=4, n_kv_heads=2, cross_sentence="a b c"),
        dataclasses.replace(LabConfig(), projections=False, n_heads=2),
    ):
        trace = run_lab(cfg)
        shapes = matrix_shapes(cfg)
        assert shapes == plan(cfg).shapes
        for name, shape in shapes.items():
            assert trace.base[name].shape == shape, name


def test_softmax_is_registered_with_its_backward_and_arithmetic() -> None:
    sm = NORMALISERS["softmax"]
    assert sm.forward is ac.softmax
    z = np.array([[0.5, -1.0, 2.0], [1.0, -np.inf, 0.0]])
    A = sm.forward(z)
    ex = sm.explain(z[0], 2)
    assert ex.weight == pytest.approx(A[0, 2]) and ex.denominator == pytest.approx(np.exp(z[0] - 2.0).sum())
    d = np.array([[0.1, 0.2, -0.3], [1.0, 0.0, 0.0]])
    np.testing.assert_allclose(sm.backward(A, d), A * (d - (d * A).sum(-1, keepdims=True)))
    with pytest.raises(ac.ValidationError, match="normaliser must be one of"):
        AttentionOptions(normaliser="nonesuch")


Q = np.arange(12, dtype=np.float64).reshape(3, 4) / 10
W = np.eye(4)
PROBLEM = learn.make_problem(learn.LEARN_CONFIG, "previous")

#: (what, call with the value under test): every public function of attention_core with a numeric argument.
CALLS: list[tuple[str, Callable[[object], object]]] = [
    ("sdpa scale", lambda v: ac.scaled_dot_product_attention(Q, Q, Q, scale=v)),
    ("self_attention scale", lambda v: ac.self_attention(Q, W, W, W, scale=v)),
    ("cross_attention scale", lambda v: ac.cross_attention(Q, Q, W, W, W, scale=v)),
    ("mha n_heads", lambda v: ac.multi_head_attention(Q, Q, W, W, W, None, v)),
    ("mha scale", lambda v: ac.multi_head_attention(Q, Q, W, W, W, None, 2, scale=v)),
    ("mha n_kv_heads", lambda v: ac.multi_head_attention(Q, Q, W, W[:, :2], W[:, :2], None, 2, n_kv_heads=v)),
    ("mha rope_base", lambda v: ac.multi_head_attention(Q, Q, W, W, W, None, 2, rope_base=v)),
    ("mha window", lambda v: ac.multi_head_attention(Q, Q, W, W, W, None, 2, window=v)),
    ("gqa n_heads", lambda v: ac.grouped_query_attention(Q, Q[:, :2], Q[:, :2], v, 1)),
    ("gqa n_kv_heads", lambda v: ac.grouped_query_attention(Q, Q[:, :2], Q[:, :2], 2, v)),
    ("gqa scale", lambda v: ac.grouped_query_attention(Q, Q[:, :2], Q[:, :2], 2, 1, scale=v)),
    ("kv_cache n_heads", lambda v: ac.kv_cache_decode(Q, W, W, W, None, v)),
    ("kv_cache scale", lambda v: ac.kv_cache_decode(Q, W, W, W, None, 2, scale=v)),
    ("kv_cache window", lambda v: ac.kv_cache_decode(Q, W, W, W, None, 2, window=v)),
    ("kv_cache rope_base", lambda v: ac.kv_cache_decode(Q, W, W, W, None, 2, rope_base=v)),
    ("kv_cache_bytes_per_token", lambda v: ac.kv_cache_bytes_per_token(v, 4)),
    ("tiled block_q", lambda v: ac.tiled_attention(Q, Q, Q, block_q=v)),
    ("tiled block_k", lambda v: ac.tiled_attention(Q, Q, Q, block_k=v)),
    ("tiled scale", lambda v: ac.tiled_attention(Q, Q, Q, scale=v)),
    ("state_after step", lambda v: state_after(ac.tiled_attention(Q, Q, Q, block_q=1), v)),
    ("causal_mask", lambda v: ac.causal_mask(v)),
    ("sliding_window_mask window", lambda v: ac.sliding_window_mask(3, v)),
    ("kv_head_of", lambda v: ac.kv_head_of(v, 1)),
    ("alibi_slopes", lambda v: ac.alibi_slopes(v)),
    ("alibi_bias n_q", lambda v: ac.alibi_bias(ac.alibi_slopes(2), v, 3)),
    ("rope base", lambda v: rope(Q, base=v)),
    ("rope_heads n_heads", lambda v: ac.rope_heads(Q, v)),
    ("rope_heads base", lambda v: ac.rope_heads(Q, 2, base=v)),
    ("sinusoidal_positions n", lambda v: sinusoidal_positions(v, 4)),
    ("sinusoidal_positions base", lambda v: sinusoidal_positions(3, 4, base=v)),
    ("learned_positions std", lambda v: learned_positions(3, 4, std=v)),
    ("draw_matrix rows", lambda v: draw_matrix(make_generator("numpy", 1), "uniform", v, 2)),
    ("make_generator seed", lambda v: make_generator("numpy", v)),
    ("explain_weight i", lambda v: ac.explain_weight(ac.scaled_dot_product_attention(Q, Q, Q), v, 0)),
    ("gd_step lr", lambda v: optim.gd_step({"W": W}, {"W": W}, v)),
    ("adam_step lr", lambda v: optim.adam_step({"W": W}, {"W": W}, optim.adam_init({"W": W}), v)),
    ("learn.train lr", lambda v: learn.train(PROBLEM, 1, lr=v)),
    ("learn.train steps", lambda v: learn.train(PROBLEM, v)),
    ("learn.learn_step lr", lambda v: learn.learn_step(PROBLEM, learn.start(PROBLEM), lr=v)),
    (
        "learn.make_problem start_scale",
        lambda v: learn.make_problem(learn.LEARN_CONFIG, "previous", start_scale=v),
    ),
    ("AttentionOptions scale", lambda v: AttentionOptions(scale=v)),
    ("AttentionOptions window", lambda v: AttentionOptions(window=v)),
    ("run_lab d_model", lambda v: run_lab(dataclasses.replace(LabConfig(), d_model=v))),
    (
        "run_lab scale_value",
        lambda v: run_lab(dataclasses.replace(LabConfig(), scale_mode="custom", scale_value=v)),
    ),
    ("r_compute_weights", lambda v: ac.r_compute_weights(np.full((2, 4), v))),
    (
        "a matrix of booleans",
        lambda v: ac.scaled_dot_product_attention(np.full((2, 2), v), Q[:2, :2], Q[:2, :2]),
    ),
]


@pytest.mark.parametrize(("what", "call"), CALLS, ids=[w for w, _ in CALLS])
def test_booleans_are_refused_as_numbers(what: str, call: Callable[[object], object]) -> None:
    """``True`` is 1 to Python; every public function refuses it where it wants a number
    (issue 27: ``learn.train(lr=True)`` trained with rate 1). The same call with a number works."""
    for flag in (True, False):
        with pytest.raises(ac.ValidationError):
            call(flag)


@pytest.mark.parametrize(("what", "call"), CALLS, ids=[w for w, _ in CALLS])
def test_the_same_calls_work_with_numbers(what: str, call: Callable[[object], object]) -> None:
    value = 1 if "step" not in what else 0
    if what.endswith(" lr"):
        value = 0.01
    if what in ("rope_heads n_heads", "mha n_heads", "kv_cache n_heads", "gqa n_heads"):
        value = 2
    call(value)


def test_switches_take_true_or_false_only() -> None:
    """The other way round: 1 or "yes" for a switch (causal, alibi) is refused, True works."""
    for kwargs in ({"causal": 1}, {"alibi": 1}, {"causal": "yes"}):
        with pytest.raises(ac.ValidationError, match="True or False"):
            ac.multi_head_attention(Q, Q, W, W, W, None, 2, **kwargs)
    with pytest.raises(ac.ValidationError, match="True or False"):
        ac.tiled_attention(Q, Q, Q, causal=1)
    ac.multi_head_attention(Q, Q, W, W, W, None, 2, causal=True, alibi=True)

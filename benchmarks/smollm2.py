"""The Language model page: SmolLM2-135M's forward pass in NumPy, the rerun after a knock-out, memory.

Forward: the full pass (30 layers, every attention map and hidden state, and the logits of
every position, which the page itself does not ask for: it needs the last row only) on prompts of
8, 32 and 128 tokens, the forward cache cleared before each repetition, one BLAS thread (the loader
sets it). Rerun: the page script through AppTest at 32 tokens after knocking out another head (a new,
uncached forward pass plus the page).
Memory: a fresh process that loads the model and runs 32 tokens reports its resident size
(VmRSS) and its peak (VmHWM). Targets (issue 14): forward ≤ 300 ms and rerun ≤ 500 ms at 32
tokens, ≤ 1 GB resident. Skipped, with the install command, when the package is absent.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from attention_core.pretrained import smollm2

ROOT = Path(__file__).resolve().parent.parent
SIZES = (8, 32, 128)
PAGE = ROOT / "pages" / "language_model.py"

_MEMORY_PROBE = """
import json, sys, time
sys.path.insert(0, {root!r})
t0 = time.perf_counter()
from attention_core.pretrained import smollm2
smollm2.load_default()
load = time.perf_counter() - t0
smollm2.run_ids(list(range(1000, 1032)))
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
print(json.dumps({{"load_s": load, "rss_mb": int(status["VmRSS"].split()[0]) / 1024,
                   "peak_mb": int(status["VmHWM"].split()[0]) / 1024}}))
"""


def prompt_of(tokens: int) -> str:
    """A prompt of exactly ``tokens`` tokens."""
    words = [" attention", " is", " a", " weighted", " average", " of", " values"]
    text = "Attention" + "".join(words[i % len(words)] for i in range(tokens - 1))
    assert len(smollm2.encode(text).ids) == tokens, text
    return text


def run(quick: bool = False) -> dict:
    if not smollm2.is_available():
        print(f"SmolLM2: skipped, the optional package is not installed ({smollm2.INSTALL_COMMAND})")
        return {"smollm2_forward_ms": None, "smollm2_rerun_ms": None, "smollm2_memory": None}
    out: dict = {"smollm2_forward_ms": {}, "smollm2_rerun_ms": {}}
    reps = 3 if quick else 10
    probe = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE.format(root=str(ROOT))],
        capture_output=True,
        text=True,
        check=True,
    )
    out["smollm2_memory"] = json.loads(probe.stdout.strip().splitlines()[-1])
    m = out["smollm2_memory"]
    print(
        f"SmolLM2: load {m['load_s']:.1f} s; resident {m['rss_mb']:.0f} MB after 32 tokens, peak "
        f"{m['peak_mb']:.0f} MB"
    )
    smollm2.load_default()
    print("SmolLM2: forward pass, cache cleared (ms, median)")
    for n in (8,) if quick else SIZES:
        text = prompt_of(n)
        times = []
        for _ in range(reps):
            smollm2._CACHE.clear()
            t0 = time.perf_counter()
            smollm2.run(text).logits  # noqa: B018 (the full pass: every position's logits too)
            times.append((time.perf_counter() - t0) * 1000)
        out["smollm2_forward_ms"][str(n)] = statistics.median(times)
        print(f"  T={n:4d}  {statistics.median(times):8.1f}")
    n = 8 if quick else 32
    at = AppTest.from_file(str(PAGE), default_timeout=120)
    at.session_state["lm_prompt"] = prompt_of(n)
    at.run()
    times = []
    for k in range(reps):  # a person knocks out another head: a new forward pass
        at.multiselect(key="lm_ablate").set_value([f"L{(7 * k) % 30} H{k % 9}"])
        t0 = time.perf_counter()
        at.run()
        times.append((time.perf_counter() - t0) * 1000)
    assert not at.exception, [e.value for e in at.exception]
    titles = [c.proto.spec for c in at.get("plotly_chart")]
    last = f"L{(7 * (reps - 1)) % 30} H{(reps - 1) % 9}"
    assert any(f"changed heads: {last}" in t for t in titles), "the page did not show the knock-out"
    out["smollm2_rerun_ms"][str(n)] = statistics.median(times)
    print(
        f"SmolLM2 page rerun after a knock-out at {n} tokens (AppTest, ms, median of {reps}): "
        f"{statistics.median(times):.1f}"
    )
    return out


# ---------------------------------------------------------------------------- issue 25: reading the model
DOC = ROOT / "docs" / "benchmarks_lm.md"


def _median_s(fn: object, reps: int) -> float:
    times = []
    for _ in range(reps):
        smollm2._CACHE.clear()
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _peak_mb(fn: object) -> float:
    """Peak bytes allocated by ``fn`` (tracemalloc sees NumPy's buffers), in MB."""
    import tracemalloc

    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()  # type: ignore[operator]
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def interpret(quick: bool = False) -> dict:
    """Issue 25's targets, each a ratio to a forward pass timed in the same run (one BLAS thread):
    head roles at 2 x 20 tokens <= 2x, patching 270 heads of a ~15-token pair <= 25x, logit lens at 64
    tokens <= 1.5x, and the lens's peak memory at 256 tokens. Writes docs/benchmarks_lm.md."""
    if not smollm2.is_available():
        print(f"SmolLM2 interpretability: skipped ({smollm2.INSTALL_COMMAND})")
        return {}
    from ui.language_model import CORRUPTED_EXAMPLE, repeated_sequence

    reps = 3 if quick else 7
    smollm2.load_default()
    out: dict = {}
    ids = repeated_sequence(0)
    fwd40 = _median_s(lambda: smollm2.run_ids(ids), reps)

    def roles() -> None:
        r = smollm2.run_ids(ids)
        smollm2.head_scores(r)
        smollm2.token_losses(r)

    roles_s = _median_s(roles, reps)

    def find() -> (
        None
    ):  # the whole button: roles, then the top 8 induction heads knocked out and the loss again
        r = smollm2.run_ids(ids)
        scores = smollm2.head_scores(r)["induction"]
        top = [divmod(int(i), 9) for i in np.argsort(-scores, axis=None)[:8]]
        smollm2.token_losses(r)
        smollm2.token_losses(smollm2.run_ids(ids, ablate=top))

    find_s = _median_s(find, reps)
    out["head_roles"] = {
        "forward_s": fwd40,
        "roles_s": roles_s,
        "ratio": roles_s / fwd40,
        "find_button_s": find_s,
        "find_ratio": find_s / fwd40,
    }

    clean, corrupt = smollm2.EXAMPLE_PROMPT, CORRUPTED_EXAMPLE
    n = len(smollm2.encode(clean).ids)
    fwd14 = _median_s(lambda: smollm2.run(clean), reps)
    a, b = smollm2.run(clean), smollm2.run(corrupt)
    t0 = time.perf_counter()
    smollm2.patch_heads(a, b, " Mary", " John")
    patch_s = time.perf_counter() - t0
    out["patching"] = {"tokens": n, "forward_s": fwd14, "patch_s": patch_s, "ratio": patch_s / fwd14}

    text64 = prompt_of(64)
    fwd64 = _median_s(lambda: smollm2.run(text64).logits_at(-1), reps)
    r64 = smollm2.run(text64)
    lens_s = statistics.median([_timed(lambda: smollm2.logit_lens(r64)) for _ in range(reps)])
    grid_s = _timed(lambda: smollm2.logit_lens_grid(r64, k=10, positions=range(48, 64)))
    r256 = smollm2.run(prompt_of(256))
    out["logit_lens"] = {
        "forward64_s": fwd64,
        "lens64_s": lens_s,
        "ratio": lens_s / fwd64,
        "grid16_of_64_s": grid_s,
        "grid16_ratio": grid_s / fwd64,
        "peak_mb_lens_256": _peak_mb(lambda: smollm2.logit_lens(r256)),
        "peak_mb_grid16_256": _peak_mb(
            lambda: smollm2.logit_lens_grid(r256, k=10, positions=range(240, 256))
        ),
        "peak_mb_losses_256": _peak_mb(lambda: smollm2.token_losses(r256)),
        "full_float64_lvt_mb_256": 30 * 256 * r256.model.config.vocab_size * 8 / 2**20,
    }
    h, p, lens = out["head_roles"], out["patching"], out["logit_lens"]
    lines = [
        "# Language model: reading the model (issue 25), measured",
        "",
        (
            "Written by `python -m benchmarks.smollm2 --interpret` (benchmarks/smollm2.py, `interpret`), "
            "one BLAS"
        ),
        (
            "thread, forward cache cleared before each timed pass; ratios against a forward pass timed in "
            "the same run."
        ),
        "",
        "| figure | measured | target |",
        "|---|---|---|",
        (
            f"| head roles, 2 x 20 tokens: forward + scores + losses / forward | {h['ratio']:.2f}x "
            f"({h['roles_s'] * 1e3:.0f} / {h['forward_s'] * 1e3:.0f} ms) | <= 2x |"
        ),
        (
            "| the whole 'Find the induction heads' click (adds a knocked-out pass) / forward | "
            f"{h['find_ratio']:.2f}x | - |"
        ),
        (
            f"| patching 270 heads, {p['tokens']}-token IOI pair / forward of one prompt | {p['ratio']:.1f}x "
            f"({p['patch_s']:.2f} s / {p['forward_s'] * 1e3:.0f} ms) | <= 25x |"
        ),
        (
            f"| logit lens at 64 tokens (one position, 30 layers) / forward | {lens['ratio']:.2f}x "
            f"({lens['lens64_s'] * 1e3:.0f} / {lens['forward64_s'] * 1e3:.0f} ms) | <= 1.5x |"
        ),
        (
            "| the page's lens grid, 16 positions x 30 layers, top 10 each / forward at 64 | "
            f"{lens['grid16_ratio']:.1f}x ({lens['grid16_of_64_s']:.2f} s) | - |"
        ),
        (
            f"| peak memory: logit lens at 256 tokens | {lens['peak_mb_lens_256']:.0f} MB | no (L, T, V) "
            f"float64 ({lens['full_float64_lvt_mb_256']:,.0f} MB) |"
        ),
        (
            f"| peak memory: lens grid of 16 positions at 256 tokens | {lens['peak_mb_grid16_256']:.0f} MB | "
            "bounded |"
        ),
        f"| peak memory: token losses at 256 tokens | {lens['peak_mb_losses_256']:.0f} MB | bounded |",
        "",
    ]
    DOC.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return out


def _timed(fn: object) -> float:
    t0 = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - t0


if __name__ == "__main__":
    if "--interpret" in sys.argv:
        interpret(quick="--quick" in sys.argv)
    else:
        run(quick="--quick" in sys.argv)

"""The Language model page: SmolLM2-135M's forward pass in NumPy, the rerun after a knock-out, memory.

Forward: the full pass (30 layers, every attention map and hidden state, and the logits of
every position, which the page itself does not ask for: it needs the last row only) on prompts of 8, 32 and 128 tokens, the forward cache cleared before each
repetition, one BLAS thread (the loader sets it). Rerun: the page script through AppTest at
32 tokens after knocking out another head (a new, uncached forward pass plus the page).
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
    probe = subprocess.run([sys.executable, "-c", _MEMORY_PROBE.format(root=str(ROOT))], capture_output=True,
                           text=True, check=True)
    out["smollm2_memory"] = json.loads(probe.stdout.strip().splitlines()[-1])
    m = out["smollm2_memory"]
    print(f"SmolLM2: load {m['load_s']:.1f} s; resident {m['rss_mb']:.0f} MB after 32 tokens, peak {m['peak_mb']:.0f} MB")
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
    print(f"SmolLM2 page rerun after a knock-out at {n} tokens (AppTest, ms, median of {reps}): "
          f"{statistics.median(times):.1f}")
    return out


if __name__ == "__main__":
    run(quick="--quick" in sys.argv)

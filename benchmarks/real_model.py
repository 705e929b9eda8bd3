"""The Real model page: forward pass of all-MiniLM-L6-v2 in NumPy, and the page's rerun.

Forward: the full pass (6 layers, every attention and hidden state kept) on a sentence of
8, 32 and 128 WordPiece tokens including [CLS] and [SEP], with the forward cache cleared
before each repetition. Rerun: the page script through AppTest at 32 tokens, the forward
pass cached (what a person changing the layer or head waits for). Skipped, with the
install command, when the optional model package is absent.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from attention_core import pretrained
from attention_core.pretrained import minilm

ROOT = Path(__file__).resolve().parent.parent
SIZES = (8, 32, 128)


def sentence_of(tokens: int) -> str:
    """A sentence of exactly ``tokens`` WordPiece tokens ([CLS] and [SEP] included)."""
    words = ["attention", "is", "a", "weighted", "average", "of", "values"]
    text = " ".join(words[i % len(words)] for i in range(tokens - 2))
    assert len(pretrained.run(text).tokens) == tokens, text
    return text


def run(quick: bool = False) -> dict:
    if not pretrained.is_available():
        print(f"real model: skipped, the optional package is not installed ({pretrained.INSTALL_COMMAND})")
        return {"real_model_forward_ms": None, "real_model_rerun_ms": None}
    out: dict = {"real_model_forward_ms": {}, "real_model_rerun_ms": {}}
    reps = 3 if quick else 10
    print("real model: forward pass, cache cleared (ms, median)")
    for n in (8,) if quick else SIZES:
        text = sentence_of(n)
        times = []
        for _ in range(reps):
            minilm._CACHE.clear()
            t0 = time.perf_counter()
            pretrained.run(text)
            times.append((time.perf_counter() - t0) * 1000)
        out["real_model_forward_ms"][str(n)] = statistics.median(times)
        print(f"  n={n:4d}  {statistics.median(times):8.1f}")
    n = 8 if quick else 32
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["sentence"] = sentence_of(n)
    at.run()
    at.switch_page("pages/real_model.py").run()
    times = []
    for k in range(reps):  # a person picks another head: the forward pass is cached
        at.selectbox(key="rm_head").set_value(k % minilm.CONFIG.n_heads)
        t0 = time.perf_counter()
        at.run()
        times.append((time.perf_counter() - t0) * 1000)
    assert not at.exception, [e.value for e in at.exception]
    titles = [c.proto.spec for c in at.get("plotly_chart")]
    chosen = f"head {(reps - 1) % minilm.CONFIG.n_heads}: weights"
    assert any(chosen in t for t in titles), "the page did not show the chosen head"
    out["real_model_rerun_ms"][str(n)] = statistics.median(times)
    print(
        f"real model page rerun at {n} tokens (AppTest, ms, median of {reps}): {statistics.median(times):.1f}"
    )
    return out

"""Server memory after the worst link the controls allow, and after 20 such links in a row
(``python -m benchmarks.worst_links``; AppTest sessions in this one process, which holds the shared cache)."""

import gc
from pathlib import Path

from streamlit.testing.v1 import AppTest


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024


def open_link(params):
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=600)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


idle_at = open_link({})
idle = rss_mb()
print(f"idle (one default session): {idle:.0f} MB", flush=True)
sentence = " ".join(f"w{i}" for i in range(1024))
worst = {"s": sentence, "dk": "512", "dv": "512", "h": "8", "causal": "1"}
at = open_link({**worst, "seed": "1"})
print(
    f"after the worst link (1,024 tokens, 8 heads, causal): {rss_mb():.0f} MB (+{rss_mb() - idle:.0f})",
    flush=True,
)
peak = rss_mb()
for k in range(2, 21):
    at = open_link({**worst, "seed": str(k)})
    peak = max(peak, rss_mb())
    del at
    gc.collect()
print(
    f"after 20 such links in a row: {rss_mb():.0f} MB (+{rss_mb() - idle:.0f}); highest seen {peak:.0f} MB "
    f"(+{peak - idle:.0f})",
    flush=True,
)
over = open_link({"s": sentence, "dk": "512", "dv": "512", "h": "64", "causal": "1"})
print(
    "a link over the budget:",
    [w.value[:160] for w in over.warning][:2] or [e.value[:160] for e in over.error][:2],
    flush=True,
)
print(f"after it: {rss_mb():.0f} MB", flush=True)

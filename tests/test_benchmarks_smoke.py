"""A quick run of the benchmark code (small sizes), so that `python -m benchmarks` keeps working.
The figures themselves come from `python -m benchmarks` (see README), not from the test run."""

from __future__ import annotations

from attention_core import pretrained
from benchmarks import core, real_model, rerun
from benchmarks.__main__ import table


def test_core_and_rerun_benchmarks_run_and_report_every_key() -> None:
    r = {**core.run(quick=True), **rerun.run(quick=True)}
    for key in (
        "core_ms",
        "core_vs_numpy_ratio",
        "core_peak_n2_per_head",
        "rerun_vs_floor_ratio",
        "bytes_per_cell",
    ):
        assert r[key] and all(v is None or v > 0 for v in r[key].values()), key
    assert r["core_peak_n2_per_head"]["64"] < 20  # the trace keeps a few n² arrays per head, not dozens
    assert "| core_ms |" in table(r)


def test_real_model_benchmark_runs_when_the_model_is_installed() -> None:
    r = real_model.run(quick=True)
    if not pretrained.is_available():  # reported as skipped, with the install command printed
        assert r == {"real_model_forward_ms": None, "real_model_rerun_ms": None}
        return
    assert r["real_model_forward_ms"]["8"] > 0 and r["real_model_rerun_ms"]["8"] > 0


def test_hall_element_budget_serves_every_first_screen(tmp_path) -> None:
    from benchmarks.hall import BUDGET_CAPTIONS, budget_table, element_budget

    b = element_budget(tmp_path, sessions=2, rounds=1, reruns=2)
    assert list(b) == [f"floor+{n}" for n in BUDGET_CAPTIONS] + ["minimal lab", "app"]
    assert all(
        v["errors"] == 0 and v["max_ms"] >= v["p50_ms"] > 0 and v["cpu_ms"] >= 0 for v in b.values()
    ), b
    assert budget_table(b).count("\n") == len(b) + 1  # a header, a rule and one row per first screen
    assert budget_table({k: {**v, "cpu_ms": 0.0} for k, v in b.items()}).count("– |") == len(
        b
    )  # 0 ticks of CPU

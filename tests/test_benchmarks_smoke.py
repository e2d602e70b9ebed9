"""The benchmark scripts import and their data builders work (tiny sizes, no timing).

The browser-marked tests start the app: one cold start of each page, and two
sessions for the memory benchmark (under a minute each). The slider benchmark
(``bench_browser.py``) has no run here: even one key press per slider takes
longer, as it starts two servers; only its summary is checked.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def _load(name: str) -> ModuleType:
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    module_name = f"_bench_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def core() -> ModuleType:
    return _load("bench_core")


@pytest.fixture(scope="module")
def live() -> ModuleType:
    return _load("bench_live")


def test_core_cohort_shape_and_columns(core: ModuleType) -> None:
    cohort = core.build_cohort(40, 400, seed=1)
    assert list(cohort.columns) == core.COLUMNS
    assert cohort.shape == (440, len(core.COLUMNS))
    assert int(cohort["treated"].sum()) == 40
    assert set(cohort["sex"]) <= {"F", "M"}
    assert set(cohort["risk_group"]) <= {"SR", "IR", "HR"}
    assert set(cohort["event"]) <= {0, 1}
    assert (cohort["time"] > 0).all()
    assert np.all(cohort["time"] * 2 == np.round(cohort["time"] * 2))  # half-month grid
    assert cohort["time"].nunique() < len(cohort)  # tied times


def test_core_cohort_is_reproducible(core: ModuleType) -> None:
    a = core.build_cohort(20, 200, seed=3)
    b = core.build_cohort(20, 200, seed=3)
    assert a.equals(b)


def test_core_matched_sample(core: ModuleType) -> None:
    cohort = core.build_cohort(40, 400, seed=1)
    m = core.matched_sample(cohort, caliper=None)
    assert list(m.columns) == ["time", "event", "treated", "pair", "status"]
    assert len(m) == 80
    assert m.groupby("pair")["treated"].sum().eq(1).all()


def test_core_steps_run_at_tiny_size(core: ModuleType) -> None:
    cohort = core.build_cohort(30, 300, seed=2)
    m = core.matched_sample(cohort)
    steps = core.run_blinastudy(cohort, m, repeats=1)
    assert set(steps) == {"glm", "match", "match_caliper", "km", "logrank", "cox"}
    assert steps["match"][1].n_pairs == 30
    assert core.max_rel_diff([1.0, np.nan], [1.0, np.nan]) == 0.0
    assert core.max_rel_diff([1.0], [1.0, 2.0]) == float("inf")


def test_core_scaling_rows(core: ModuleType) -> None:
    rows = core.scaling((200, 400), repeats=1, seed=1)
    assert [r["n_pool"] for r in rows] == [200, 400]
    assert [r["n"] for r in rows] == [220, 440]


def test_core_cohort_registry_columns(core: ModuleType) -> None:
    cohort = core.build_cohort(40, 400, seed=1)
    treated = cohort["treated"] == 1
    assert set(cohort["status"]) == {0, 1, 2}
    assert ((cohort["status"] > 0) == (cohort["event"] == 1)).all()
    assert cohort["treatment_start"].isna().eq(~treated).all()
    start = cohort.loc[treated, "treatment_start"]
    assert (start >= 0.5).all() and np.all(start * 2 == np.round(start * 2))
    assert cohort["id"].tolist() == list(range(1, 441))
    # the competing cohort of bench_cmprsk draws the same causes
    cmprsk = _load("bench_cmprsk")
    assert cmprsk.build_competing(40, 400, seed=1)["status"].equals(cohort["status"])


def test_core_registry_steps_run_at_tiny_size(core: ModuleType) -> None:
    cohort = core.build_cohort(30, 300, seed=2)
    m = core.matched_sample(cohort)
    steps = core.run_registry_steps(cohort, m, repeats=1)
    assert set(steps) == set(core.REGISTRY_STEPS)
    assert all(seconds > 0 for seconds, _ in steps.values())
    tests, curves = steps["cuminc"][1]
    assert all(np.isfinite(t.statistic) and t.statistic >= 0 for t in tests)
    assert sorted(curves) == ["0 1", "0 2", "1 1", "1 2"]
    for curve in curves.values():
        assert np.all(np.diff(curve["incidence"]) >= 0) and curve["incidence"].iloc[-1] < 1
    w = steps["weights"][1]
    assert (w[cohort["treated"] == 1] == 1).all()
    assert np.all(np.isfinite(w)) and (w > 0).all()
    exposed = int((cohort["treatment_start"] < cohort["time"]).sum())
    assert len(steps["split"][1]) == len(cohort) + exposed
    for key in ("weighted_cox", "tdc_cox"):
        table = steps[key][1]
        assert np.isfinite(table["hr"].iloc[0]) and table["se"].iloc[0] > 0
        assert table["method"].iloc[0] == "ml-robust"


def _as_r_output(steps: dict[str, Any]) -> dict[str, Any]:
    """What the R script would report if R gave BlinaStudy's numbers exactly."""
    tests, curves = steps["cuminc"][1]
    rows = steps["split"][1]

    def cox_part(table: Any) -> dict[str, Any]:
        return {"coef": np.log(table["hr"]).tolist(), "robust_se": table["se"].tolist()}

    def curve_part(curve: Any) -> dict[str, Any]:
        at = curve[(curve["n_events"] + curve["n_competing"]) > 0]
        return {
            "time": at["time"].tolist(),
            "est": at["incidence"].tolist(),
            "var": at["variance"].tolist(),
        }

    return {
        "cuminc": {key: curve_part(curve) for key, curve in curves.items()},
        "gray": {"stat": [t.statistic for t in tests], "cause": ["1", "2"]},
        "weights": steps["weights"][1].tolist(),
        "weighted_cox": cox_part(steps["weighted_cox"][1]),
        "split": {
            "rows": len(rows),
            "exposed": int(rows["exposed"].sum()),
            "events": int(rows["event"].sum()),
            "unexposed_time": float((rows["stop"] - rows["start"])[rows["exposed"] == 0].sum()),
        },
        "tdc_cox": cox_part(steps["tdc_cox"][1]),
    }


def test_core_registry_cross_check_finds_a_difference(core: ModuleType) -> None:
    cohort = core.build_cohort(30, 300, seed=2)
    steps = core.run_registry_steps(cohort, core.matched_sample(cohort), repeats=1)
    r = _as_r_output(steps)
    rows = core.cross_check_registry(steps, r)
    assert len(rows) == 8
    assert all(diff == 0.0 for _, _, diff in rows)
    r["weights"][-1] *= 1 + 1e-5
    r["cuminc"]["1 2"]["var"][-1] *= 1 + 1e-5
    r["split"]["events"] += 1
    worst = {quantity: diff for quantity, _, diff in core.cross_check_registry(steps, r)}
    assert worst["ATT weights"] == pytest.approx(1e-5, rel=1e-3)
    assert worst["cumulative incidence by arm (est, var)"] == pytest.approx(1e-5, rel=1e-3)
    assert worst["split rows, exposed rows, events; unexposed time"] == float("inf")


def test_core_report_gives_both_totals(
    core: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    cohort = core.build_cohort(30, 300, seed=2)
    m = core.matched_sample(cohort)
    py = core.run_blinastudy(cohort, m, repeats=1) | core.run_registry_steps(cohort, m, 1)
    refs = {"sort": 1e-4}
    assert core.report(py, refs, None)["target_met"] is None  # no R: no verdict
    keys = [k for k, _, _ in core.STEP_LABELS if k != "match_caliper"]
    fast = {"seconds": {"sort": 1e-4, **{k: 4 * py[k][0] for k in keys}}}
    ratios = core.report(py, refs, fast)
    assert ratios["total"]["vs_r"] == pytest.approx(0.25)
    assert ratios["total_all"]["vs_r"] == pytest.approx(0.25)
    assert ratios["target_met"] is True
    slow_registry = {"seconds": {**fast["seconds"], **{k: py[k][0] for k in core.REGISTRY_STEPS}}}
    ratios = core.report(py, refs, slow_registry)
    assert ratios["total"]["target_met"] and not ratios["total_all"]["target_met"]
    assert ratios["target_met"] is False
    assert "TOTAL with competing risks" in capsys.readouterr().out


def test_core_scaling_sizes_and_peak_memory(core: ModuleType) -> None:
    preset = core.FULL["scaling"]
    assert core.scaling_sizes(preset, None) == (1_000, 10_000, 100_000, 1_000_000)
    assert core.scaling_sizes(preset, 10_000) == (1_000, 10_000)
    assert core.scaling_sizes(preset, 250_000) == (1_000, 10_000, 100_000, 250_000)
    assert core.scaling_sizes(preset, 500) == (500,)
    small = core.scaling_point(400, repeats=1, seed=1)
    large = core.scaling_point(4_000, repeats=1, seed=1)
    assert small["n"] == 440 and large["n"] == 4_400
    assert 0 < small["peak_bytes"] < large["peak_bytes"] < small["max_rss_bytes"]
    assert large["seconds"] > 0


def test_live_inputs(live: ModuleType) -> None:
    inputs = live.build_inputs()
    assert len(inputs.cohort) == 1090
    assert {"pair", "_treated", "efs_months", "efs_event"} <= set(inputs.matched.columns)
    assert inputs.matched["_treated"].sum() * 2 == len(inputs.matched)
    assert inputs.by
    assert len(inputs.complete) <= len(inputs.cohort)
    spec = live.survival_page(inputs)
    assert "vconcat" in spec


def test_competing_cohort_builds() -> None:
    cmprsk = _load("bench_cmprsk")
    frame = cmprsk.build_competing(20, 200, seed=1)
    assert len(frame) == 220
    assert set(np.unique(frame.filter(like="status").to_numpy())) <= {0, 1, 2}


def test_controls_measure_one_change_at_tiny_size() -> None:
    controls = _load("bench_controls")
    rows = controls.measure(controls.CONTROLS[-3:-1], repeats=1, live_replicates=10)
    assert [r["control"] for r in rows] == [
        "first load (empty cache, Data page)",
        "MRD threshold (MRD)",
        "subgroup variables (Subgroups)",
    ]
    # the MRD page recomputes its groups, not the model, and not the other pages' parts
    assert "propensity" not in rows[1]["steps"] and "mrd" in rows[1]["steps"]
    assert "forest" not in rows[1]["steps"] and "endpoint" not in rows[1]["steps"]
    assert all(r["reference"] > 0 and r["headline"] <= r["cached"] for r in rows)


def test_browser_percentile_and_ratios_to_the_minimal_page() -> None:
    browser = _load("bench_browser")
    assert browser.percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert browser.percentile([float(i) for i in range(1, 10)], 0.95) == 9.0
    assert browser.percentile([float(i) for i in range(1, 21)], 0.95) == 19.0
    minimal, caliper = browser.SLIDERS[0].name, browser.SLIDERS[1].name
    rows = browser.summarise(
        {
            minimal: browser.Timings(number=[0.1, 0.2, 0.3], settled=[0.2, 0.3, 0.4]),
            caliper: browser.Timings(number=[0.4, 0.6, 0.9], settled=[0.6, 0.9, 1.2]),
        }
    )
    assert rows[0]["number_p50_ratio"] == 1.0
    assert rows[1]["number_p50_ratio"] == pytest.approx(3.0)
    assert rows[1]["number_p95_ratio"] == pytest.approx(3.0)
    assert rows[1]["settled_p50_ratio"] == pytest.approx(3.0)


@pytest.mark.browser
def test_start_one_pair() -> None:
    start = _load("bench_start")
    [(app, minimal)] = start.measure(1)
    assert app > 0 and minimal > 0


@pytest.mark.browser
def test_memory_two_sessions() -> None:
    memory = _load("bench_memory")
    after_one, after_two = memory.measure(2, settle_s=2)
    assert after_one > 50 * memory.MIB and after_two > 50 * memory.MIB


def test_heavy_cohort_and_its_summaries(tmp_path: Path) -> None:
    heavy = _load("bench_heavy")
    cohort = heavy.heavy_cohort(60)
    assert len(cohort) == 60 and cohort["patient_id"].is_unique
    assert cohort["patient_id"].iloc[0] == "H000000"
    assert set(cohort["arm"]) == {"blinatumomab", "chemotherapy"}
    assert heavy.quantiles([0.1, 0.3, 0.2, 5.0]) == (0.25, 5.0, 5.0)
    assert all(x != x for x in heavy.quantiles([]))
    log = tmp_path / "server.log"
    log.write_text(
        "noise\nblinastudy.timing page=Survival run=page cpu_ms=120 wall_ms=340\n"
        "blinastudy.timing page=Propensity_matching run=fragment:body cpu_ms=7 wall_ms=9\n"
    )
    assert heavy.server_runs(log, 0, log.stat().st_size) == [
        ("Survival", "page", 120, 340),
        ("Propensity_matching", "fragment:body", 7, 9),
    ]

"""The analysis as named steps with a step cache: same numbers by any path, fewer refits."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blinastudy.analysis import PARTS, STEPS, AnalysisResult, analyze, sweep_result
from blinastudy.analysis.settings import Settings
from blinastudy.analysis.stepcache import StepCache, approx_nbytes, step_key
from blinastudy.core.errors import InputError

REPS = 20  # bootstrap replicates: few, but the bootstrap runs


def assert_identical(a: Any, b: Any, where: str = "result") -> None:
    """Bit-for-bit equality of two analysis results, field by field."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} vs {type(b).__name__}"
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=where)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, check_exact=True, obj=where)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        np.testing.assert_array_equal(a, b, err_msg=where, strict=True)
    elif dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            assert_identical(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for key in a:
            assert_identical(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_identical(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), where
    else:
        assert a == b, f"{where}: {a} != {b}"


def _fresh(cohort: pd.DataFrame, s: Settings, sweep: bool) -> AnalysisResult:
    return analyze(cohort, s, sweep=sweep, replicates=REPS)


def _cached(cohort: pd.DataFrame, s: Settings, cache: StepCache, sweep: bool) -> AnalysisResult:
    return analyze(cohort, s, sweep=sweep, replicates=REPS, cache=cache)


BASE = Settings()
#: One path of control changes, each applied to the settings before it.
PATH: list[tuple[dict[str, Any], bool]] = [
    ({}, True),
    ({"matching__caliper": 0.1}, True),
    ({"mrd__threshold_pct": 0.01}, False),
    ({"origin": "landmark"}, False),
    ({"landmark_months": 6.0}, False),
    ({"endpoint": "os"}, False),
    ({"endpoint": "cir"}, False),
    ({"subgroup_filter": ("risk_group", "HR")}, False),
    ({"subgroup_filter": ("mrd_group", "MRD ≥ 0.01%")}, False),
    ({"mrd__threshold_pct": 0.1, "subgroup_filter": None}, False),
    ({"subgroups": ("sex", "age_band")}, False),
    ({"mrd__timepoint": "day15"}, False),
    ({"matching__ratio": 2, "matching__replace": True}, True),
    ({"population": "weighted"}, False),
    ({"matching__exact": ("risk_group",)}, False),
    ({"population": "matched", "matching__ratio": 1, "matching__replace": False}, False),
    ({"matching__caliper": 0.2, "matching__exact": (), "origin": "diagnosis"}, True),  # back
]


def test_any_path_of_control_changes_gives_the_uncached_numbers(cohort: pd.DataFrame) -> None:
    cache = StepCache()
    s = BASE
    for changes, sweep in PATH:
        s = s.update(**changes)
        assert_identical(_cached(cohort, s, cache, sweep), _fresh(cohort, s, sweep), str(changes))
    assert sum(cache.hits.values()) > 0  # the path did reuse steps


def test_back_and_forth_reuses_the_stored_steps_and_keeps_them_intact(
    cohort: pd.DataFrame,
) -> None:
    cache = StepCache()
    low = BASE.update(mrd__threshold_pct=0.01)
    first = _cached(cohort, BASE, cache, False)
    _cached(cohort, low, cache, False)  # reuses the match, with other MRD groups
    again = _cached(cohort, BASE, cache, False)
    assert_identical(again, first)
    assert_identical(again, _fresh(cohort, BASE, False))
    assert first.match is not None
    assert set(first.match.matched["mrd_group"].dropna()) == {"MRD < 0.1%", "MRD ≥ 0.1%"}


def _runs_after(cohort: pd.DataFrame, change: dict[str, Any]) -> dict[str, int]:
    """Which steps run when ``change`` follows the default settings (cache warm)."""
    cache = StepCache()
    _cached(cohort, BASE, cache, True)
    before = dict(cache.runs)
    _cached(cohort, BASE.update(**change), cache, True)
    names = set(STEPS) | set(cache.runs)
    return {step: cache.runs[step] - before.get(step, 0) for step in names}


def test_moving_the_mrd_threshold_refits_no_model_and_no_endpoint(cohort: pd.DataFrame) -> None:
    runs = _runs_after(cohort, {"mrd__threshold_pct": 0.01})
    for step in ("propensity", "matching", "balance", "endpoint:efs", "endpoint:os"):
        assert runs[step] == 0, step
    for step in ("immortal_time", "estimates", "competing", "weighting", "sweep"):
        assert runs[step] == 0, step
    assert runs["mrd"] == 1
    # the forest is cached per variable: only the MRD group's rows are recomputed
    assert runs["forest:mrd_group"] == 1
    forest_runs = {k: v for k, v in runs.items() if k.startswith("forest") and v}
    assert forest_runs == {"forest:mrd_group": 1}


def test_moving_the_caliper_rematches_without_refitting_the_model(cohort: pd.DataFrame) -> None:
    runs = _runs_after(cohort, {"matching__caliper": 0.05})
    assert runs["propensity"] == 0
    assert runs["weighting"] == 0
    assert runs["sweep"] == 0  # the sweep does not depend on the caliper
    assert runs["matching"] == 1
    assert runs["endpoint:efs"] == 1 and runs["forest"] == 1


def test_the_endpoint_and_the_subgroup_filter_redo_only_what_reads_them(
    cohort: pd.DataFrame,
) -> None:
    runs = _runs_after(cohort, {"endpoint": "os"})
    assert runs["endpoint:efs"] == runs["endpoint:os"] == runs["matching"] == 0
    assert runs["forest"] == runs["mrd"] == runs["estimates"] == 1
    runs = _runs_after(cohort, {"subgroup_filter": ("risk_group", "HR")})
    assert runs["endpoint:efs"] == runs["immortal_time"] == 1
    assert runs["forest"] == runs["mrd"] == runs["matching"] == 0
    # another subgroup variable: its rows alone are computed
    runs = _runs_after(cohort, {"subgroups": (*BASE.subgroups, "cns_status")})
    assert {k: v for k, v in runs.items() if v} == {"forest:cns_status": 1}


def test_progress_reports_every_step_in_order(cohort: pd.DataFrame) -> None:
    seen: list[tuple[str, float]] = []
    analyze(cohort, BASE, replicates=0, progress=lambda step, done: seen.append((step, done)))
    per_variable = [step for step, _ in seen if step.startswith("forest:")]
    assert per_variable == [f"forest:{v}" for v in BASE.subgroups]
    assert [step for step, _ in seen if step not in per_variable] == list(STEPS)
    fractions = [done for _, done in seen]
    assert fractions[0] == 0.0 and fractions == sorted(fractions) and fractions[-1] < 1.0


def test_the_cache_is_bounded_in_entries_and_bytes(cohort: pd.DataFrame) -> None:
    few = StepCache(max_entries=5)
    small = StepCache(max_bytes=300_000)
    for caliper in (0.1, 0.2, 0.3):
        s = BASE.update(matching__caliper=caliper)
        for cache in (few, small):
            assert_identical(_cached(cohort, s, cache, False), _fresh(cohort, s, False))
    assert len(few) == 5
    assert 0 < small.nbytes <= 300_000
    # a result larger than the whole cache is returned but not kept
    tiny = StepCache(max_bytes=10)
    assert tiny.get_or_compute("big", {"n": 1}, lambda: np.zeros(100)).size == 100
    assert len(tiny) == 0 and tiny.nbytes == 0


def test_a_failing_step_stores_nothing() -> None:
    cache = StepCache()

    def fail() -> int:
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        cache.get_or_compute("bad", {}, fail)
    assert len(cache) == 0 and cache.runs["bad"] == 0
    with pytest.raises(ValueError, match="room"):
        StepCache(max_entries=0)


@settings(max_examples=30, deadline=None)
@given(
    st.dictionaries(st.text(max_size=3), st.floats(allow_nan=False) | st.integers(), max_size=4),
    st.text(max_size=3),
)
def test_the_key_is_the_step_and_its_inputs(inputs: dict[str, Any], extra: str) -> None:
    key = step_key("step", inputs)
    assert key == step_key("step", dict(reversed(list(inputs.items()))))
    assert key != step_key("other", inputs)
    assert key != step_key("step", {**inputs, extra: "changed value"})


@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(0, 10_000), min_size=1, max_size=50))
def test_approx_nbytes_counts_arrays_at_least_by_their_bytes(sizes: list[int]) -> None:
    arrays = [np.zeros(n) for n in sizes]
    assert approx_nbytes(arrays) >= sum(a.nbytes for a in arrays)
    # an array reached twice counts once
    assert approx_nbytes([arrays[0], arrays[0]]) - approx_nbytes([arrays[0]]) < 64


def test_the_sweep_alone_equals_the_analysis_sweep_and_shares_its_model(
    cohort: pd.DataFrame,
) -> None:
    cache = StepCache()
    s = BASE.update(matching__caliper=0.05, sweep_calipers=(0.05, 0.2))
    _cached(cohort, s, cache, False)
    table = sweep_result(cohort, s, cache=cache)
    assert_identical(table, analyze(cohort, s, sweep=True, replicates=0).sweep)
    assert cache.runs["propensity"] == 1


@pytest.mark.parametrize("part", PARTS)
def test_a_part_alone_equals_that_part_of_the_whole_analysis(
    cohort: pd.DataFrame, part: str
) -> None:
    settings = BASE.update(endpoint="cir") if part == "competing" else BASE
    whole = _fresh(cohort, settings, False)
    cache = StepCache()
    alone = analyze(cohort, settings, sweep=False, replicates=REPS, cache=cache, parts=[part])
    assert alone.parts == frozenset({part})
    fields = {
        "matching": ["balance", "matching_summary", "overlap", "weighting", "flow", "unmatched"],
        "baseline": ["baseline_before", "baseline_after"],
        "survival": ["design"],
        "estimates": ["estimates"],
        "immortal": ["endpoints", "immortal_time", "time_dependent", "immortal_advice"],
        "competing": ["competing", "competing_note"],
        "forest": ["forest"],
        "mrd": ["mrd"],
    }[part]
    for name in fields:
        assert_identical(getattr(alone, name), getattr(whole, name), f"{part}: {name}")
    if part == "survival":
        assert_identical(alone.endpoint, whole.endpoint, "survival: endpoint")
    shown = {w.code for w in alone.warnings}
    assert shown <= {w.code for w in whole.warnings}
    # nothing another page shows was computed
    heavy = {"forest", "immortal_time", "estimates", "competing", "mrd", "balance"}
    computed = {step.split(":")[0] for step in cache.runs}
    expected = {
        "matching": {"balance"},
        "baseline": set(),
        "survival": set(),
        "estimates": {"estimates"},
        "immortal": {"immortal_time"},
        "competing": {"competing"},
        "forest": {"forest"},
        "mrd": {"mrd"},
    }[part]
    assert computed & heavy == expected, part


def test_the_parts_together_make_the_whole_analysis(cohort: pd.DataFrame) -> None:
    cache = StepCache()
    for part in PARTS:  # page by page, as a user opens them
        analyze(cohort, BASE, sweep=False, replicates=REPS, cache=cache, parts=[part])
    before = dict(cache.runs)
    again = analyze(cohort, BASE, sweep=False, replicates=REPS, cache=cache)
    assert dict(cache.runs) == before  # every step was already there
    assert_identical(again, _fresh(cohort, BASE, False))


def test_an_unknown_part_is_refused_in_one_line(cohort: pd.DataFrame) -> None:
    with pytest.raises(InputError, match=r"unknown analysis part.*forrest.*known: matching"):
        analyze(cohort, BASE, sweep=False, parts=["forrest"])

"""The app's pure helpers (:mod:`pages.common.ui_state`): options, keys, formats, mappings."""

from __future__ import annotations

import doctest
import itertools
import math

import pandas as pd
import pytest

from blinastudy.analysis.settings import Settings
from blinastudy.core.errors import InputError
from blinastudy.core.formatting import (
    fmt_num,
    fmt_p,
    hr_cell,
)
from blinastudy.data.demo import make_demo_cohort
from blinastudy.data.mapping import Mapping
from blinastudy.data.schema import Problem
from pages.common import ui_state
from pages.common.ui_state import (
    CALIPER_OPTIONS,
    KEEP_NAME,
    MARKED_THRESHOLDS,
    MRD_THRESHOLDS,
    adapt_settings,
    analysis_key,
    covariate_options,
    exact_options,
    mapping_from_table,
    mapping_table,
    problems_table,
    subgroup_options,
    sweep_settings,
)


def test_doctests() -> None:
    result = doctest.testmod(ui_state)
    assert result.failed == 0 and result.attempted > 15


def test_threshold_grid_is_log_spaced_and_holds_the_usual_cut_offs() -> None:
    assert MRD_THRESHOLDS[0] == 0.001 and MRD_THRESHOLDS[-1] == 10.0
    assert all(m in MRD_THRESHOLDS for m in MARKED_THRESHOLDS)
    steps = [math.log10(b / a) for a, b in itertools.pairwise(MRD_THRESHOLDS)]
    assert max(steps) < 0.41 and min(steps) > 0.29
    for value in MRD_THRESHOLDS:
        Settings().update(mrd__threshold_pct=value)  # every option is a valid setting
    for value in CALIPER_OPTIONS:
        Settings().update(matching__caliper=value)


def test_display_never_changes_the_analysis_key_but_numbers_do() -> None:
    s = Settings()
    assert analysis_key(s) == analysis_key(s.update(display__teaching=True))
    assert analysis_key(s) != analysis_key(s.update(matching__caliper=0.1))
    assert analysis_key(s) != analysis_key(s.update(mrd__threshold_pct=1.0))


def test_sweep_ignores_the_caliper_but_not_the_model() -> None:
    s = Settings()
    assert sweep_settings(s.update(matching__caliper=0.01)) == sweep_settings(s)
    assert sweep_settings(s.update(matching__ratio=2)) != sweep_settings(s)
    assert sweep_settings(s.update(sweep_calipers=(0.1,))) != sweep_settings(s)


def test_the_sweep_matches_the_analysis_pool() -> None:
    from blinastudy.analysis import sweep_result

    demo = make_demo_cohort()
    hr_only = Settings().update(eligibility__risk_groups=("HR",), matching__caliper=0.05)
    assert sweep_settings(hr_only) != sweep_settings(Settings())
    by_app = sweep_result(demo, sweep_settings(hr_only))
    pd.testing.assert_frame_equal(by_app, sweep_result(demo, hr_only), check_exact=True)
    everyone = sweep_result(demo, sweep_settings(Settings()))
    assert not by_app.equals(everyone)


def test_options_follow_the_cohort() -> None:
    demo = make_demo_cohort()
    covs = covariate_options(demo.columns)
    assert "age_years" in covs and "efs_months" not in covs and "patient_id" not in covs
    assert "blina_start_months" not in covs
    assert set(exact_options(demo)) >= {"risk_group", "sex"}
    assert "age_years" not in exact_options(demo)
    subs = subgroup_options(demo)
    assert subs[:6] == list(Settings().subgroups)
    extra = demo.assign(centre=(["A", "B", "C"] * len(demo))[: len(demo)])
    assert "centre" in subgroup_options(extra)


def test_adapt_settings_keeps_what_exists() -> None:
    frame = pd.DataFrame(
        {"patient_id": ["a"], "age_years": [3.0], "risk_group": ["HR"], "centre": ["A"]}
    )
    s = Settings().update(
        matching__exact=("risk_group", "cns_status"), subgroup_filter=("sex", "F")
    )
    out = adapt_settings(s, frame)
    assert out.matching.covariates == ("age_years", "risk_group")
    assert out.matching.exact == ("risk_group",)
    assert out.subgroup_filter is None
    bare = pd.DataFrame({"patient_id": ["a"]})
    assert adapt_settings(s, bare).matching.covariates == s.matching.covariates


def test_formats() -> None:
    assert fmt_num(0.0) == "0" and fmt_num(None) == "NA" and fmt_num(float("inf")) == "∞"
    assert hr_cell({"hr": float("nan"), "ci_lower": 1, "ci_upper": 2}) == "not estimable"
    assert fmt_p(0.001) == "0.001" and fmt_p(0.0009) == "< 0.001"


def test_mapping_table_round_trip() -> None:
    base = Mapping(
        columns={"PID": "patient_id", "EFS d": "efs_months"},
        time_unit="months",
        time_units={"efs_months": "days"},
        event_codes={"os_event": {"dead": 1, "alive": 0}},
    )
    table = mapping_table(["PID", "EFS d", "os_months", "centre"], base)
    assert table["becomes"].tolist() == ["patient_id", "efs_months", "os_months", KEEP_NAME]
    same = mapping_from_table(table, base, time_unit="months", mrd_unit="percent", arm=None)
    assert same.columns == base.columns and same.time_units == base.time_units
    assert same.event_codes == base.event_codes
    other = mapping_from_table(table, base, time_unit="days", mrd_unit="fraction", arm="chemo")
    assert other.time_units == {} and other.time_unit == "days"
    assert other.mrd_unit == "fraction" and other.arm == "chemotherapy"
    clash = table.assign(becomes=["patient_id", "patient_id", "os_months", KEEP_NAME])
    with pytest.raises(InputError, match="both mapped"):
        mapping_from_table(clash, base, time_unit="months", mrd_unit="percent", arm=None)
    with pytest.raises(InputError):
        mapping_from_table(table, base, time_unit="hours", mrd_unit="percent", arm=None)


def test_problems_table_never_loses_a_problem() -> None:
    problems = [
        Problem(None, "os_event", None, "required column is missing"),
        Problem(4, "sex", "", "blank", "pool.csv"),
    ]
    table = problems_table(problems)
    assert table.to_dict("records") == [
        {
            "file": "",
            "row": "",
            "column": "os_event",
            "value": "",
            "message": "required column is missing",
        },
        {"file": "pool.csv", "row": "4", "column": "sex", "value": "", "message": "blank"},
    ]


def test_a_failing_chart_download_gives_a_note_not_a_trace() -> None:
    from pages.common.ui import _deferred

    def broken() -> bytes:
        raise RuntimeError("patient BLN-001")

    note = _deferred(broken, "png")()
    assert isinstance(note, str) and "could not be drawn" in note and "BLN-001" not in note
    assert _deferred(lambda: b"ok", "png")() == b"ok"

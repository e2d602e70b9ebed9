"""Immortal time and model checks in the analysis: the time-dependent exposure rows,
Simon-Makuch curves, cox.zph of every hazard ratio and the restricted mean survival
difference, against R (tests/data/make_demo_reference.R), by hand and by properties."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blinastudy.analysis import AnalysisResult, analyze
from blinastudy.analysis.settings import Settings
from blinastudy.data.demo import make_demo_cohort
from blinastudy.stats.model_checks import MIN_BIN_EVENTS, ph_check, rmst_comparison
from blinastudy.stats.survival import (
    cox,
    kaplan_meier,
    logrank,
    restricted_mean,
    restricted_mean_replicates,
    survival_at,
)
from blinastudy.stats.timedep import time_dependent_exposure
from pages.common.ui_state import suggested_landmark

DATA = Path(__file__).parent / "data"
REL = 1e-6


@pytest.fixture(scope="module")
def result() -> AnalysisResult:
    return analyze(make_demo_cohort(), Settings(), sweep=False)


@pytest.fixture(scope="module")
def expected() -> dict[str, Any]:
    out: dict[str, Any] = json.loads((DATA / "demo.expected.json").read_text())
    return out


def _row(result: AnalysisResult, endpoint: str, analysis: str) -> pd.Series:
    it = result.immortal_time
    rows = it[(it["endpoint"] == endpoint) & (it["analysis"] == analysis)]
    assert len(rows) == 1
    return rows.iloc[0]


@pytest.mark.parametrize(
    ("analysis", "key"),
    [("time-dependent", "efs_td_matched"), ("time-dependent, all patients", "efs_td_all")],
)
def test_time_dependent_rows_equal_r(
    result: AnalysisResult,
    expected: dict[str, Any],
    analysis: str,
    key: str,
) -> None:
    want = expected[key]
    row = _row(result, "efs", analysis)
    for col in ("hr", "ci_lower", "ci_upper"):
        assert row[col] == pytest.approx(want["cox"][col], rel=REL), col
    assert row["method"] == "ml-robust"
    assert row["p_value"] == pytest.approx(want["mantel_byar"]["p_value"], rel=REL)
    assert row["test"].startswith("Mantel-Byar")
    assert row["ph_p"] == pytest.approx(want["zph_p"], rel=REL)
    assert row["events_exposed"] == want["events"]["exposed"]
    assert row["events_unexposed"] == want["events"]["unexposed"]
    td = (result.time_dependent if analysis == "time-dependent" else result.time_dependent_all)[
        "efs"
    ]
    assert td.hazard_ratio.iloc[0]["se"] == pytest.approx(want["cox"]["se"], rel=REL)
    assert td.test is not None
    assert td.test.statistic == pytest.approx(want["mantel_byar"]["statistic"], rel=REL)
    for state in ("exposed", "unexposed"):
        curve = td.curves[td.curves["state"] == state]
        at = curve[curve["time"] <= 24].iloc[-1]
        sm = want["simon_makuch_24"]
        assert at["survival"] == pytest.approx(sm[state], rel=REL)
        assert at["ci_lower"] == pytest.approx(sm[f"{state}_lower"], rel=REL)


def test_os_mantel_byar_equals_r_where_cox_is_infinite(
    result: AnalysisResult, expected: dict[str, Any]
) -> None:
    row = _row(result, "os", "time-dependent")
    assert row["events_exposed"] == 0
    assert row["method"] == "firth"  # no death while exposed: Firth, as for the arm
    assert row["p_value"] == pytest.approx(
        expected["os_td_matched_mantel_byar"]["p_value"], rel=REL
    )
    assert any("Firth" in n for n in result.time_dependent["os"].notes)


def test_ph_and_rmst_of_the_hazard_ratio_equal_r(
    result: AnalysisResult, expected: dict[str, Any]
) -> None:
    ep = result.endpoints["efs"]
    assert ep.ph is not None
    assert ep.ph.p_value == pytest.approx(expected["efs_zph_matched"]["p_value"], rel=REL)
    assert ep.ph.chisq == pytest.approx(expected["efs_zph_matched"]["chisq"], rel=REL)
    est = result.estimates.set_index("estimate")
    assert est.loc["crude", "ph_p"] == pytest.approx(expected["efs_zph_crude"]["p_value"], rel=REL)
    assert est.loc["matched", "ph_p"] == pytest.approx(ep.ph.p_value, rel=1e-12)
    for key in ("efs", "os"):
        rm = result.endpoints[key].rmst
        want = expected[f"{key}_rmst24"]
        assert rm is not None and rm.tau == 24
        for arm, r_arm in (("treated", "treated"), ("control", "control")):
            assert rm.rmst[arm] == pytest.approx(want[r_arm], rel=REL)
            assert rm.se[arm] == pytest.approx(want[f"{r_arm}_se"], rel=REL, abs=1e-12)
        assert rm.difference == pytest.approx(want["treated"] - want["control"], rel=REL)
        # matched pairs: the interval is the pair bootstrap's
        assert rm.bootstrap is not None and "matched sets" in rm.method
        assert rm.ci_lower < rm.difference < rm.ci_upper


def test_os_ph_is_not_testable_with_an_infinite_hazard_ratio(result: AnalysisResult) -> None:
    ph = result.endpoints["os"].ph
    assert ph is not None and np.isnan(ph.p_value)
    assert "not estimable" in ph.note


def test_landmark_and_advice_follow_the_settings() -> None:
    res = analyze(make_demo_cohort(), Settings(landmark_months=15.0), sweep=False, replicates=0)
    land = _row(res, "efs", "landmark")
    assert land["origin"] == "landmark 15 months"
    assert "15-month landmark" in res.immortal_advice["efs"]
    assert f"leaves out {int(land['excluded'])} patients" in res.immortal_advice["efs"]


def test_whole_cohort_row_only_for_matched_or_weighted_samples() -> None:
    cohort = make_demo_cohort()
    plain = analyze(cohort, Settings(population="all"), sweep=False, replicates=0)
    assert set(plain.immortal_time["analysis"]) == {"diagnosis", "landmark", "time-dependent"}
    assert plain.time_dependent_all == {}
    weighted = analyze(cohort, Settings(population="weighted"), sweep=False, replicates=0)
    row = _row(weighted, "efs", "time-dependent")
    assert row["test"] == "robust Wald (weighted Cox)"
    assert "time-dependent, all patients" in set(weighted.immortal_time["analysis"])
    # the unweighted whole-cohort analysis is the one of the 'all patients' population
    a = _row(plain, "efs", "time-dependent")
    b = _row(weighted, "efs", "time-dependent, all patients")
    assert a["hr"] == pytest.approx(b["hr"], rel=1e-12)


def test_missing_start_dates_are_listed_not_dropped_silently() -> None:
    cohort = make_demo_cohort()
    treated = cohort.index[cohort["arm"] == "blinatumomab"][:3]
    cohort.loc[treated, "blina_start_months"] = np.nan
    res = analyze(cohort, Settings(population="all"), sweep=False, replicates=0)
    td = res.time_dependent["efs"]
    assert set(td.excluded["patient_id"]) == set(cohort.loc[treated, "patient_id"].astype(str))
    assert set(td.excluded["reason"]) == {"blinatumomab start not recorded"}
    assert _row(res, "efs", "time-dependent")["excluded"] == 3


def test_no_start_column_advises_the_landmark() -> None:
    cohort = make_demo_cohort().drop(columns="blina_start_months")
    res = analyze(cohort, Settings(), sweep=False, replicates=0)
    assert "time-dependent" not in set(res.immortal_time["analysis"])
    assert "quote the landmark estimate" in res.immortal_advice["efs"]


def test_suggested_landmark_of_the_demo() -> None:
    cohort = make_demo_cohort()
    starts = cohort.loc[cohort["arm"] == "blinatumomab", "blina_start_months"]
    assert suggested_landmark(cohort) == np.ceil(starts.quantile(0.75))
    assert suggested_landmark(cohort) == 15.0


# ------------------------------------------------------------------------------------
# hand-computed cases


def test_time_dependent_exposure_by_hand() -> None:
    # A exposed from month 2, event at 4 (exposed); B never exposed, event at 3; C
    # exposed from month 1, censored at 5; D a control censored at 6.
    f = pd.DataFrame(
        {
            "arm": ["blinatumomab", "chemotherapy", "blinatumomab", "chemotherapy"],
            "t": [4.0, 3.0, 5.0, 6.0],
            "e": [1, 1, 0, 0],
            "x": [1, 0, 1, 0],
            "s": [2.0, np.nan, 1.0, np.nan],
        },
        index=pd.Index(list("ABCD"), name="patient_id"),
    )
    res = time_dependent_exposure(f, "t", "e", treated="x", start="s")
    c = res.counts
    assert (c["events_exposed"], c["events_unexposed"]) == (1, 1)
    assert c["months_exposed"] == pytest.approx((4 - 2) + (5 - 1))
    assert c["months_unexposed"] == pytest.approx(2 + 3 + 1 + 6)
    # at month 3 the risk set is A (exposed), B, C (exposed), D: 2 exposed of 4 and B
    # (unexposed) dies; at month 4 A (exposed), C (exposed), D: A dies.
    # Mantel-Byar: O - E for the exposed = (0 - 2/4) + (1 - 2/3) = -1/6;
    # V = 2/4 * 2/4 + 2/3 * 1/3 = 1/4 + 2/9 = 17/36
    assert res.test is not None
    assert res.test.statistic == pytest.approx((1 / 6) ** 2 / (17 / 36), rel=1e-12)
    # Simon-Makuch exposed curve: starts at the first dose (month 1) with one patient
    # entered; at month 4 two exposed are at risk and one dies: 1/2
    ex = res.curves[res.curves["state"] == "exposed"]
    assert ex["time"].iloc[0] == 1.0 and ex["n_at_risk"].iloc[0] == 1
    assert float(ex.loc[ex["time"] == 4.0, "survival"].iloc[0]) == pytest.approx(0.5)


def test_never_exposed_split_reproduces_the_plain_cox_and_km() -> None:
    rng = np.random.default_rng(3)
    n = 40
    f = pd.DataFrame(
        {
            "arm": np.where(np.arange(n) < 20, "blinatumomab", "chemotherapy"),
            "t": rng.exponential(10, n).round(1) + 0.1,
            "e": rng.integers(0, 2, n),
            "x": (np.arange(n) < 20).astype(int),
        },
        index=pd.Index([f"P{i}" for i in range(n)], name="patient_id"),
    )
    # treated exposed from time 0: one row each, the exposure is the arm
    res = time_dependent_exposure(
        f.assign(s=np.where(f["x"] == 1, 0.0, np.nan)), "t", "e", treated="x", start="s"
    )
    plain = cox(f.assign(id=f.index), "t", "e", ["x"], cluster="id")
    assert res.hazard_ratio.iloc[0]["hr"] == pytest.approx(plain.iloc[0]["hr"], rel=1e-10)
    assert res.hazard_ratio.iloc[0]["se"] == pytest.approx(plain.iloc[0]["se"], rel=1e-10)
    assert res.test is not None
    lr = logrank(f["t"], f["e"], f["x"])
    assert res.test.statistic == pytest.approx(lr.statistic, rel=1e-8)
    km = kaplan_meier(f.loc[f["x"] == 0, "t"], f.loc[f["x"] == 0, "e"])
    un = res.curves[res.curves["state"] == "unexposed"]
    assert survival_at(km, 5.0).survival == pytest.approx(
        float(un.loc[un["time"] <= 5.0, "survival"].iloc[-1]), rel=1e-12
    )


def test_rmst_comparison_by_hand_and_refusals() -> None:
    t = np.array([1.0, 2, 3, 4, 5, 6])
    e = np.array([1, 1, 1, 1, 1, 1])
    x = np.array([0.0, 0, 0, 1, 1, 1])
    res = rmst_comparison(t, e, x, 3.0)
    # control: S = 1 on [0,1), 2/3 on [1,2), 1/3 on [2,3): area 2; treated: 3
    assert res.rmst["control"] == pytest.approx(2.0)
    assert res.rmst["treated"] == pytest.approx(3.0)
    assert res.method.startswith("normal approximation")
    late = rmst_comparison(t, e, x, 4.0)
    assert np.isnan(late.difference) and "control arm ends before 4 months" in late.note


def test_ph_check_bins_hold_every_event_and_at_least_five() -> None:
    rng = np.random.default_rng(11)
    n = 120
    f = pd.DataFrame(
        {
            "t": rng.exponential(5, n).round(1) + 0.1,
            "e": rng.integers(0, 2, n),
            "x": rng.integers(0, 2, n),
        }
    )
    chk = ph_check(f, "t", "e", ["x"])
    assert int(chk.bins["events"].sum()) == int(f["e"].sum())
    assert (chk.bins["events"] >= MIN_BIN_EVENTS).all()
    # bins follow each other in time without overlap
    assert (chk.bins["time_from"].to_numpy()[1:] > chk.bins["time_to"].to_numpy()[:-1]).all()


# ------------------------------------------------------------------------------------
# properties

times = st.lists(st.integers(1, 30), min_size=2, max_size=25)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), t=times)
def test_rmst_replicates_equal_the_rmst_of_repeated_rows(data: st.DataObject, t: list[int]) -> None:
    n = len(t)
    e = data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    counts = data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    tau = float(data.draw(st.integers(1, 35)))
    rows = np.repeat(np.arange(n), counts)
    if rows.size == 0 or tau < min(t[i] for i in rows):
        return
    got = restricted_mean_replicates(t, e, np.array([counts]), tau)[0]
    want = restricted_mean(np.asarray(t)[rows], np.asarray(e)[rows], tau).rmst
    assert got == pytest.approx(want, rel=1e-12)


def test_rmst_difference_pair_bootstrap_on_matched_data(result: AnalysisResult) -> None:
    from blinastudy.core.errors import InputError
    from blinastudy.stats.survival import rmst_difference

    assert result.match is not None
    m = result.match.matched
    args = (m["efs_months"], m["efs_event"], m["_treated"], 24.0)
    plain = rmst_difference(*args)
    paired = rmst_difference(*args, clusters=m["pair"], replicates=400, random_state=5)
    again = rmst_difference(*args, clusters=m["pair"], replicates=400, random_state=5)
    assert paired.difference == plain.difference and paired.se == plain.se
    assert paired.bootstrap is not None and paired.bootstrap.clusters == 90
    assert (paired.ci_lower, paired.ci_upper) == (again.ci_lower, again.ci_upper)
    assert paired.ci_lower < paired.difference < paired.ci_upper
    assert np.isnan(paired.p_value) and plain.p_value < 0.05
    # the analysis' interval is this one, with the settings' seed and replicates
    s = result.settings.bootstrap
    same = rmst_difference(
        *args, clusters=m["pair"], replicates=s.replicates, random_state=s.random_state
    )
    rm = result.endpoints["efs"].rmst
    assert rm is not None and (rm.ci_lower, rm.ci_upper) == (same.ci_lower, same.ci_upper)
    with pytest.raises(InputError, match="delayed entry"):
        rmst_difference(*args, clusters=m["pair"], entry=np.zeros(len(m)))

"""analyze(): the one function behind every page, checked against R and by hand."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from blinastudy.analysis import (
    ARMS,
    TREATED,
    AnalysisResult,
    analyze,
    caliper_sweep,
    cohort_hash,
    derive_columns,
    mrd_label,
    prepare_cohort,
)
from blinastudy.analysis.settings import Settings
from blinastudy.core.errors import InputError
from blinastudy.data.demo import make_demo_cohort
from blinastudy.data.eligibility import Eligibility
from blinastudy.stats.matching import MatchResult, match
from blinastudy.stats.survival import LogRankResult, cox, kaplan_meier, logrank, survival_at
from tests._cells import num, one_row

DATA = Path(__file__).parent / "data"
REL = 1e-6


def matched_design(result: AnalysisResult) -> MatchResult:
    """The result's matching (the demo's settings match)."""
    assert result.match is not None
    return result.match


def logrank_run(logrank: LogRankResult | None) -> LogRankResult:
    """A log-rank test that was run."""
    assert logrank is not None
    return logrank


@pytest.fixture(scope="module")
def result(cohort: pd.DataFrame) -> AnalysisResult:
    return analyze(cohort, Settings(), sweep=False)


@pytest.fixture(scope="module")
def expected() -> dict[str, Any]:
    out: dict[str, Any] = json.loads((DATA / "demo.expected.json").read_text())
    return out


def test_propensity_equals_r_glm(result: AnalysisResult, expected: dict[str, Any]) -> None:
    ps = matched_design(result).propensity
    want = pd.Series(expected["propensity"])
    np.testing.assert_allclose(ps[want.index].to_numpy(), want.to_numpy(), rtol=1e-6)
    lp = matched_design(result).model.linear_predictor
    want_lp = pd.Series(expected["linear_predictor"])
    np.testing.assert_allclose(lp[want_lp.index].to_numpy(), want_lp.to_numpy(), rtol=1e-6)
    assert matched_design(result).caliper_width == pytest.approx(
        expected["caliper_width_logit_0.2"], rel=REL
    )


def test_matched_sample_is_the_stored_one(result: AnalysisResult) -> None:
    stored = pd.read_csv(DATA / "demo_matched.csv")
    got = matched_design(result).matched
    assert list(got.index) == list(stored["patient_id"])
    assert list(got["pair"]) == list(stored["pair"])


def test_efs_numbers_equal_r(result: AnalysisResult, expected: dict[str, Any]) -> None:
    ep = result.endpoints["efs"]
    hr = ep.hazard_ratio.iloc[0]
    for key, value in expected["efs_cox_cluster"].items():
        assert hr[key] == pytest.approx(value, rel=REL), key
    assert hr["method"] == "ml-robust"
    plain = logrank_run(ep.logrank_plain)
    assert plain.statistic == pytest.approx(expected["efs_logrank"]["statistic"], rel=REL)
    assert plain.p_value == pytest.approx(expected["efs_logrank"]["p_value"], rel=REL)
    # on 1:1 pairs the test shown is stratified by pair (survdiff(... + strata(pair)))
    assert ep.logrank is ep.logrank_stratified
    assert ep.logrank_label == "log-rank stratified by matched set"
    pairs = expected["efs_logrank_pairs"]
    assert logrank_run(ep.logrank).statistic == pytest.approx(pairs["statistic"], rel=REL)
    assert logrank_run(ep.logrank).p_value == pytest.approx(pairs["p_value"], rel=REL)
    ctl = ep.at_horizon.set_index("arm").loc["chemotherapy"]
    want = expected["efs_control_24_loglog"]
    for key in ("survival", "ci_lower", "ci_upper", "std_err"):
        assert ctl[key] == pytest.approx(want[key], rel=REL), key
    med = ep.medians.set_index("arm").loc["chemotherapy"]
    want = expected["efs_control_median_loglog"]
    for key, r_key in (("median", "quantile"), ("ci_lower", "lower"), ("ci_upper", "upper")):
        if want[r_key] is None:  # not reached (R's NA)
            assert np.isnan(med[key]), key
        else:
            assert med[key] == pytest.approx(want[r_key], rel=REL), key


def test_os_uses_firth_when_no_deaths_in_treated(
    result: AnalysisResult, expected: dict[str, Any]
) -> None:
    ep = result.endpoints["os"]
    assert ep.events["blinatumomab"] == 0
    hr = ep.hazard_ratio.iloc[0]
    assert hr["method"] == "firth"
    assert 0 < hr["ci_lower"] < hr["hr"] < hr["ci_upper"] < 1
    assert logrank_run(ep.logrank_plain).statistic == pytest.approx(
        expected["os_logrank"]["statistic"], rel=REL
    )
    assert logrank_run(ep.logrank).statistic == pytest.approx(
        expected["os_logrank_pairs"]["statistic"], rel=REL
    )


def test_forest_equals_r_subgroups(result: AnalysisResult, expected: dict[str, Any]) -> None:
    f = result.forest
    relabel = {
        "mrd_group": {"MRD < 0.1%": "low", "MRD ≥ 0.1%": "high"},
        "age_band": {"< 10 y": "young", "≥ 10 y": "older"},
        "wbc_band": {"WBC < 50": "low", "WBC ≥ 50": "high"},
    }
    checked = 0
    for key, want in expected["efs_subgroups"].items():
        var, level = key.split("=")
        rows = f[f["variable"] == var]
        row = rows[rows["level"].map(lambda x, v=var: relabel.get(v, {}).get(x, x)) == level].iloc[
            0
        ]
        # equal also under monotone likelihood: both stop at R's iter.max and eps
        assert row["p_interaction"] == pytest.approx(want["p_interaction"], rel=REL), key
        if want["cox_cluster"] is not None:
            assert row["method"] == "ml-robust"
            for k, v in want["cox_cluster"].items():
                if k == "se":
                    continue  # the forest reports HR, CI and p
                assert row[k] == pytest.approx(v, rel=REL), (key, k)
            checked += 1
        else:
            assert row["method"] in ("firth", "not estimable")
    assert checked >= 4


def test_study_claims_hold_on_demo(result: AnalysisResult) -> None:
    assert result.matching_summary["n_matched_treated"] == 90
    for key in ("efs", "os"):
        ep = result.endpoints[key]
        assert logrank_run(ep.logrank).p_value < 0.05
        assert ep.hazard_ratio.iloc[0]["ci_upper"] < 1
    efs = result.endpoints["efs"].at_horizon.set_index("arm")
    assert efs.loc["blinatumomab", "survival"] == pytest.approx(88 / 90)
    assert result.endpoints["os"].at_horizon.set_index("arm").loc["blinatumomab", "survival"] == 1


def test_immortal_time_landmark_shrinks_effect(result: AnalysisResult) -> None:
    it = result.immortal_time.set_index(["endpoint", "analysis"])
    assert it.loc[("efs", "landmark"), "origin"] == "landmark 12 months"
    diag = num(it.loc[("efs", "diagnosis"), "hr"])
    land = num(it.loc[("efs", "landmark"), "hr"])
    timedep = num(it.loc[("efs", "time-dependent"), "hr"])
    # the demo's honest story: the time-dependent estimate lies between the biased one
    # from diagnosis and the landmark one, and the sentence says so
    assert diag < timedep < land < 1
    assert "lies between the two" in result.immortal_advice["efs"]
    assert result.immortal_advice["efs"].startswith("Quote the time-dependent estimate")


def test_landmark_excludes_and_shifts(cohort: pd.DataFrame) -> None:
    s = Settings(
        origin="landmark", landmark_months=12.0, population="all", eligibility=Eligibility()
    )
    res = analyze(cohort, s, sweep=False)
    ep = res.endpoints["efs"]
    frame = prepare_cohort(cohort, s)
    early = frame["efs_months"] <= 12
    not_started = (frame["arm"] == "blinatumomab") & (frame["blina_start_months"] > 12)
    assert set(ep.excluded["patient_id"]) == set(frame.index[early | not_started])
    kept = frame[~(early | not_started)]
    km = kaplan_meier(
        kept.loc[kept.arm == "chemotherapy", "efs_months"] - 12,
        kept.loc[kept.arm == "chemotherapy", "efs_event"],
    )
    assert ep.km["chemotherapy"]["survival"].tolist() == km["survival"].tolist()
    assert sum(ep.n.values()) + len(ep.excluded) == len(frame)


def test_population_all_uses_every_patient(cohort: pd.DataFrame) -> None:
    everyone = Eligibility()
    res = analyze(cohort, Settings(population="all", eligibility=everyone), sweep=False)
    ep = res.endpoints["efs"]
    assert ep.n == {"blinatumomab": 90, "chemotherapy": 1000}
    # the default eligibility (the study's IR/HR pool) leaves out the low-risk controls
    restricted = analyze(cohort, Settings(population="all"), sweep=False).endpoints["efs"]
    n_lr = int(((cohort["arm"] == "chemotherapy") & (cohort["risk_group"] == "LR")).sum())
    assert restricted.n == {"blinatumomab": 90, "chemotherapy": 1000 - n_lr}
    frame = prepare_cohort(cohort, Settings())
    direct = cox(frame, "efs_months", "efs_event", [TREATED])
    assert ep.hazard_ratio.iloc[0]["hr"] == pytest.approx(direct.iloc[0]["hr"], rel=1e-12)
    assert ep.hazard_ratio.iloc[0]["method"] == "ml"


def test_risk_table_counts_by_hand(result: AnalysisResult) -> None:
    ep = result.endpoints["efs"]
    m = matched_design(result).matched
    for _, row in ep.risk_table.iterrows():
        sub = m[m["arm"] == row["arm"]]
        t, e = sub["efs_months"].to_numpy(), sub["efs_event"].to_numpy()
        assert row["at_risk"] == int((t >= row["time"]).sum())
        assert row["events"] == int(((t <= row["time"]) & (e == 1)).sum())
        if row["time"] > 0:
            assert row["censored"] == int(((t <= row["time"]) & (e == 0)).sum())


def test_survival_difference_ci(result: AnalysisResult, cohort: pd.DataFrame) -> None:
    # matched pairs: a pair-bootstrap percentile interval, within [-1, 1]
    ep = result.endpoints["efs"]
    h = ep.at_horizon.set_index("arm")
    est = num(h.loc["blinatumomab", "survival"]) - num(h.loc["chemotherapy", "survival"])
    boot = ep.difference_bootstrap
    assert boot is not None and boot.replicates == 1000 and boot.clusters == 90
    assert ep.difference["estimate"] == pytest.approx(est, rel=1e-15) == boot.estimate
    assert (ep.difference["ci_lower"], ep.difference["ci_upper"]) == (boot.ci_lower, boot.ci_upper)
    assert -1 <= boot.ci_lower < est < boot.ci_upper <= 1
    assert ep.difference_method == boot.method
    # all patients: Greenwood standard errors of independent arms
    ep = analyze(cohort, Settings(population="all"), sweep=False).endpoints["efs"]
    h = ep.at_horizon.set_index("arm")
    est = num(h.loc["blinatumomab", "survival"]) - num(h.loc["chemotherapy", "survival"])
    se = np.hypot(num(h.loc["blinatumomab", "std_err"]), num(h.loc["chemotherapy", "std_err"]))
    assert ep.difference_bootstrap is None
    assert ep.difference["estimate"] == pytest.approx(est)
    assert ep.difference["ci_lower"] == pytest.approx(est - 1.959963984540054 * se)
    assert ep.difference["ci_upper"] == pytest.approx(min(1.0, est + 1.959963984540054 * se))


def test_mrd_groups_and_changes(cohort: pd.DataFrame) -> None:
    s = Settings(mrd={"timepoint": "eoi", "threshold_pct": 0.01, "compare_threshold_pct": 0.1})  # type: ignore[arg-type]
    s = Settings.from_dict(
        s.to_dict()
        | {"mrd": {"timepoint": "eoi", "threshold_pct": 0.01, "compare_threshold_pct": 0.1}}
    )
    res = analyze(cohort, s, sweep=False)
    assert res.match is not None and res.mrd is not None
    pop = res.match.matched
    vals = pop["mrd_eoi_pct"]
    g = res.mrd.groups.set_index(["group", "arm"])
    low, high = mrd_label(0.01)
    for arm in ARMS:
        sel = pop["arm"] == arm
        assert g.loc[(high, arm), "n"] == int((vals[sel] >= 0.01).sum())
        assert g.loc[(low, arm), "n"] == int((vals[sel] < 0.01).sum())
    changed = set(res.mrd.changed["patient_id"])
    assert changed == set(pop.index[(vals >= 0.01) & (vals < 0.1)])


def test_subgroup_filter_restricts_survival(cohort: pd.DataFrame) -> None:
    res = analyze(cohort, Settings(subgroup_filter=("risk_group", "HR")), sweep=False)
    full = analyze(cohort, Settings(), sweep=False)
    assert full.match is not None
    assert sum(res.endpoints["efs"].n.values()) == int(
        (full.match.matched["risk_group"] == "HR").sum()
    )
    row = full.forest[(full.forest.variable == "risk_group") & (full.forest.level == "HR")].iloc[0]
    assert res.endpoints["efs"].hazard_ratio.iloc[0]["hr"] == pytest.approx(row["hr"], rel=1e-12)
    with pytest.raises(InputError, match="no patient"):
        analyze(cohort, Settings(subgroup_filter=("risk_group", "XX")), sweep=False)


def test_caliper_sweep_matches_direct_matching(cohort: pd.DataFrame) -> None:
    s = Settings(sweep_calipers=(0.005, 0.2))
    frame = prepare_cohort(cohort, s)
    sw = caliper_sweep(frame, s).set_index("caliper")
    for cal in (0.005, 0.2):
        res = match(frame, TREATED, s.matching.covariates, caliper=cal)
        assert one_row(sw, cal)["n_matched_treated"] == res.n_pairs
        hr = cox(res.matched, "efs_months", "efs_event", [TREATED], cluster="pair")
        assert one_row(sw, cal)["hr"] == pytest.approx(hr.iloc[0]["hr"], rel=1e-12)
    assert one_row(sw, 0.005)["n_matched_treated"] < one_row(sw, 0.2)["n_matched_treated"]


def test_missing_covariates_listed_not_dropped(cohort: pd.DataFrame) -> None:
    c = cohort.copy()
    c.loc[c.index[:3], "age_years"] = np.nan  # three treated patients
    c.loc[c.index[-2:], "mrd_eoi_pct"] = np.nan  # two controls
    res = analyze(c, Settings(eligibility=Eligibility()), sweep=False)
    ex = res.excluded_from_matching.set_index("patient_id")
    assert len(ex) == 5
    assert ex.loc[c["patient_id"].iloc[0], "reason"] == "missing age_years"
    assert ex.loc[c["patient_id"].iloc[-1], "reason"] == "missing mrd_eoi_pct"
    assert any("cannot be matched" in w for w in res.warnings)
    assert res.n == {"blinatumomab": 90, "chemotherapy": 1000}


def test_numbers_are_json_and_stable(result: AnalysisResult, cohort: pd.DataFrame) -> None:
    numbers = result.numbers()
    text = json.dumps(numbers, allow_nan=False)
    again = analyze(cohort, Settings.from_json(result.settings.to_json()), sweep=False).numbers()
    assert json.dumps(again, allow_nan=False) == text
    assert numbers["cohort_hash"] == cohort_hash(cohort)


def test_cohort_hash_changes_with_content(cohort: pd.DataFrame) -> None:
    c = cohort.copy()
    c.loc[0, "efs_months"] = num(c.loc[0, "efs_months"]) + 0.01
    assert cohort_hash(c) != cohort_hash(cohort)
    assert cohort_hash(cohort.copy()) == cohort_hash(cohort)


def test_derived_bands() -> None:
    f = pd.DataFrame(
        {
            "age_years": [9.99, 10.0, np.nan],
            "wbc_10e9_l": [49.9, 50.0, 1.0],
            "mrd_eoi_pct": [0.0999, 0.1, np.nan],
        }
    )
    d = derive_columns(f, Settings())
    assert d["age_band"].tolist()[:2] == ["< 10 y", "≥ 10 y"] and d["age_band"].iloc[2] is None
    assert d["wbc_band"].tolist() == ["WBC < 50", "WBC ≥ 50", "WBC < 50"]
    assert d["mrd_group"].tolist()[:2] == ["MRD < 0.1%", "MRD ≥ 0.1%"]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda c: c.drop(columns=["efs_event"]), "efs_event"),
        (lambda c: c.assign(arm="chemotherapy"), "single arm"),
        (lambda c: c.assign(arm=c["arm"].replace("chemotherapy", "chemo")), "arm must be"),
        (lambda c: c.assign(patient_id="X"), "duplicate patient_id"),
        (lambda c: c.assign(efs_months=-c["efs_months"]), "negative"),
        (lambda c: c.assign(os_event=2), "0/1"),
        (lambda c: c.iloc[0:0], "no rows"),
    ],
)
def test_bad_cohorts_get_clear_messages(
    cohort: pd.DataFrame, mutate: Callable[[pd.DataFrame], pd.DataFrame], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        analyze(mutate(cohort), Settings(), sweep=False)


def test_unknown_covariate_is_named(cohort: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="bogus"):
        analyze(cohort, Settings().update(matching__covariates=("bogus",)), sweep=False)


def test_no_match_reported_not_raised(cohort: pd.DataFrame) -> None:
    s = Settings().update(matching__caliper=0.0001)
    res = analyze(cohort, s, sweep=False)
    if res.match is None:
        assert res.match_error and "caliper" in res.match_error
        assert res.endpoints["efs"].n == {"blinatumomab": 90, "chemotherapy": 600}
    else:
        assert res.matching_summary["n_matched_treated"] < 90


def test_horizon_reads_km(result: AnalysisResult) -> None:
    ep = result.endpoints["efs"]
    for arm, km in ep.km.items():
        s = survival_at(km, 24.0)
        assert ep.at_horizon.set_index("arm").loc[arm, "survival"] == s.survival


def test_logrank_matches_direct(result: AnalysisResult) -> None:
    m = matched_design(result).matched
    lr = logrank(m["os_months"], m["os_event"], m[TREATED])
    ep = result.endpoints["os"]
    assert logrank_run(ep.logrank_plain).statistic == pytest.approx(lr.statistic, rel=1e-12)
    lr = logrank(m["os_months"], m["os_event"], m[TREATED], strata=m["pair"])
    assert logrank_run(ep.logrank).statistic == pytest.approx(lr.statistic, rel=1e-12)


def test_smd_uses_pooled_sd_when_treated_do_not_vary() -> None:
    from blinastudy.stats.balance import balance

    f = pd.DataFrame({"t": [1, 1, 1, 1, 0, 0, 0, 0], "lr": [0, 0, 0, 0, 1, 1, 0, 0]})
    smd = balance(f, "t", ["lr"]).loc["lr", "smd_before"]
    # treated p = 0, controls p = 0.5: pooled SD sqrt((0 + 0.25) / 2)
    assert smd == pytest.approx(-0.5 / np.sqrt(0.125))


def test_warns_about_levels_without_treated(cohort: pd.DataFrame) -> None:
    # without the study's eligibility the low-risk controls stay in the pool: said
    res = analyze(cohort, Settings(eligibility=Eligibility()), sweep=False, replicates=0)
    assert any("risk_group = LR" in w for w in res.warnings)


def test_eligibility_flow_and_caliper_lesson(cohort: pd.DataFrame) -> None:
    res = analyze(cohort, Settings(), sweep=False, replicates=0)
    flow = res.flow.set_index("step")
    n_pool = int((cohort["arm"] == "chemotherapy").sum())
    assert flow.loc["all patients", "chemotherapy"] == n_pool
    eligible = int(
        ((cohort["arm"] == "chemotherapy") & cohort["risk_group"].isin(["IR", "HR"])).sum()
    )
    assert flow.loc["eligible", "chemotherapy"] == eligible
    assert flow.loc["matched", "blinatumomab"] == 90  # the study's 90 matched pairs
    assert len(res.ineligible) == n_pool - eligible
    assert res.numbers()["flow"][-1]["step"] == "matched"
    # a narrow caliper costs patients on the demo cohort
    narrow = analyze(cohort, Settings().update(matching__caliper=0.02), sweep=False, replicates=0)
    assert narrow.matching_summary["n_matched_treated"] < 90


def test_mrd_side_of_the_boundary(cohort: pd.DataFrame) -> None:
    # a value exactly at the threshold goes high with "at_or_above" and low with "above"
    s = Settings.from_dict({"mrd": {"timepoint": "day15", "threshold_pct": 0.1}})
    at = cohort.loc[cohort["mrd_day15_pct"] == 0.1, "patient_id"].tolist()
    assert len(at) == 1
    for side, group in (("at_or_above", "MRD ≥ 0.1%"), ("above", "MRD ≤ 0.1%")):
        s2 = s.update(mrd__side=side)
        frame = prepare_cohort(cohort, s2)
        assert frame.loc[at[0], "mrd_group"] == group
        res = analyze(cohort, s2, sweep=False, replicates=0)
        assert res.mrd is not None
        assert set(res.mrd.groups["group"]) == {*mrd_label(0.1, side), "MRD missing"}


def test_notices_are_typed_records_chosen_by_topic() -> None:
    from blinastudy.analysis import NOTICE_TOPICS, Notice

    demo = make_demo_cohort()
    gaps = demo.copy()
    gaps.loc[gaps.index[:3], "efs_months"] = float("nan")
    gaps.loc[gaps.index[5:7], "wbc_10e9_l"] = float("nan")
    res = analyze(gaps, Settings(subgroups=("risk_group", "no_such_column")), sweep=False)
    by_code = {w.code: w for w in res.warnings}
    assert all(isinstance(w, Notice) for w in res.warnings)
    assert all(set(w.topics) <= set(NOTICE_TOPICS) for w in res.warnings)
    missing = by_code["data.missing_outcome"]
    assert missing.patients == tuple(str(p) for p in gaps["patient_id"].iloc[:3])
    assert "population" in missing.topics
    assert by_code["matching.missing_covariate"].patients == tuple(
        str(p) for p in gaps["patient_id"].iloc[5:7]
    )
    assert by_code["subgroups.missing_variable"].topics == ("subgroups",)
    numbers = res.numbers()
    assert numbers["warnings"] == [w.message for w in res.warnings]
    assert [n["code"] for n in numbers["notices"]] == [w.code for w in res.warnings]

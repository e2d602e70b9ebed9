"""The synthetic demo cohort: determinism, the shipped CSV, the reported figures,
the data dictionary, realistic controls, and the study-level results it must show."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from blinastudy.data import demo
from blinastudy.data.schema import CANONICAL_COLUMNS, check_cohort, validate_cohort
from blinastudy.stats.matching import MatchResult, match
from blinastudy.stats.survival import cox, kaplan_meier, logrank, median_survival, survival_at
from tests._cells import num

CSV = Path(__file__).resolve().parents[1] / "data" / "demo_cohort.csv"
LANDMARK_MONTHS = 11.0  # just after the reported 10.8-month median start of blinatumomab


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    return demo.make_demo_cohort(demo.DEFAULT_SEED)


@pytest.fixture(scope="module")
def treated(cohort: pd.DataFrame) -> pd.DataFrame:
    return cohort[cohort["arm"] == "blinatumomab"]


@pytest.fixture(scope="module")
def pool(cohort: pd.DataFrame) -> pd.DataFrame:
    return cohort[cohort["arm"] == "chemotherapy"]


@pytest.fixture(scope="module")
def matched_result(cohort: pd.DataFrame) -> MatchResult:
    return match(cohort, "arm", list(demo.DEFAULT_MATCH_COVARIATES), caliper=0.2, scale="logit")


@pytest.fixture(scope="module")
def matched(matched_result: MatchResult) -> pd.DataFrame:
    m = matched_result.matched.copy()
    m["blina"] = (m["arm"] == "blinatumomab").astype(int)
    return m


def _compare(frame: pd.DataFrame, duration: str, event: str) -> tuple[float, float, float]:
    """Log-rank p-value, Cox hazard ratio and its upper 95 % limit, blinatumomab vs control."""
    p = logrank(frame[duration], frame[event], frame["blina"]).p_value
    table = cox(frame, duration, event, ["blina"])
    return float(p), num(table.at["blina", "hr"]), num(table.at["blina", "ci_upper"])


def _landmark(frame: pd.DataFrame, at: float) -> pd.DataFrame:
    """Patients event-free and followed at ``at``; treated ones must have started by then."""
    keep = (frame["efs_months"] > at) & (
        (frame["blina"] == 0) | (frame["blina_start_months"] <= at)
    )
    out = frame[keep].copy()
    out["efs_months"] -= at
    out["os_months"] -= at
    return out


# --- determinism and the shipped file ------------------------------------------------


def test_same_seed_same_cohort_other_seed_differs() -> None:
    a = demo.make_demo_cohort(7)
    pd.testing.assert_frame_equal(a, demo.make_demo_cohort(7))
    assert not a.equals(demo.make_demo_cohort(8))


def test_generator_leaves_global_random_state_alone() -> None:
    np.random.seed(0)
    expected = np.random.random()
    np.random.seed(0)
    demo.make_demo_cohort(3)
    assert np.random.random() == expected


def test_shipped_csv_equals_generator(cohort: pd.DataFrame) -> None:
    loaded, problems = check_cohort(pd.read_csv(CSV))
    assert problems == []
    pd.testing.assert_frame_equal(loaded, cohort, check_exact=True)


def test_shipped_csv_parses_to_the_same_values_without_the_schema(cohort: pd.DataFrame) -> None:
    raw = pd.read_csv(
        CSV, dtype={c: "Int64" for c in ("blina_cycles", "crs_grade", "neurotox_grade", "hsct")}
    )
    expected = cohort.astype({c: object for c in cohort.columns if cohort[c].dtype == object})
    expected = expected.where(expected.notna(), np.nan)
    pd.testing.assert_frame_equal(raw, expected, check_exact=True, check_dtype=False)


def test_main_regenerates_the_shipped_csv_byte_for_byte(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "demo.csv"
    assert demo.main([str(out)]) == 0
    assert out.read_bytes() == CSV.read_bytes()


def test_main_seed_option(tmp_path: Path) -> None:
    out = tmp_path / "demo.csv"
    assert demo.main([str(out), "--seed", "5"]) == 0
    loaded, problems = check_cohort(pd.read_csv(out))
    assert problems == []
    pd.testing.assert_frame_equal(loaded, demo.make_demo_cohort(5))


def test_labelled_synthetic() -> None:
    assert demo.DEMO_LABEL == "Synthetic demo data"
    assert demo.__doc__ is not None and "Synthetic demo data" in demo.__doc__


# --- the data dictionary ---------------------------------------------------------------


def test_columns_are_the_canonical_ones_in_order(cohort: pd.DataFrame) -> None:
    assert tuple(cohort.columns) == demo.COLUMNS
    assert set(demo.COLUMNS) <= set(CANONICAL_COLUMNS)
    assert [c for c in CANONICAL_COLUMNS if c in demo.COLUMNS] == list(demo.COLUMNS)


def test_every_seed_satisfies_the_data_dictionary() -> None:
    for seed in (demo.DEFAULT_SEED, 1, 2):
        assert validate_cohort(demo.make_demo_cohort(seed), require_both_arms=True) == []


def test_rules_hold_directly(
    cohort: pd.DataFrame, treated: pd.DataFrame, pool: pd.DataFrame
) -> None:
    assert cohort["patient_id"].is_unique
    assert all(re.fullmatch(r"BLN-\d{3}", s) for s in treated["patient_id"])
    assert all(re.fullmatch(r"CTL-\d{4}", s) for s in pool["patient_id"])
    assert (cohort["efs_months"] >= 0).all()
    assert (cohort["efs_months"] <= cohort["os_months"]).all()
    assert ((cohort["event_type"] != "none") == (cohort["efs_event"] == 1)).all()
    assert (cohort.loc[cohort["os_event"] == 1, "efs_event"] == 1).all()
    assert (cohort["relapse_site"].notna() == (cohort["event_type"] == "relapse")).all()
    assert (treated["blina_start_months"] <= treated["efs_months"]).all()
    assert (
        pool[["indication", "blina_start_months", "blina_cycles", "crs_grade", "neurotox_grade"]]
        .isna()
        .all()
        .all()
    )
    baseline = [c for c in demo.DEFAULT_MATCH_COVARIATES] + ["mrd_day15_pct"]
    assert cohort[baseline].notna().all().all()
    assert cohort["age_years"].between(1, 19, inclusive="left").all()
    assert (cohort["wbc_10e9_l"] > 0).all()
    for col in ("mrd_day15_pct", "mrd_eoi_pct"):
        mrd = cohort[col]
        assert mrd.between(0, 100).all()
        assert ((mrd == 0) | (mrd >= 0.01)).all()  # undetectable is recorded as 0


# --- the blinatumomab arm reproduces the report ---------------------------------------


def test_treated_arm_composition(treated: pd.DataFrame) -> None:
    assert len(treated) == demo.N_TREATED == 90
    assert set(treated["risk_group"]) == {"IR", "HR"}
    assert set(treated["indication"]) == {"chemo-intolerance", "intermediate-risk", "high-risk"}
    by_risk = treated[treated["indication"] != "chemo-intolerance"]
    assert (
        by_risk["indication"]
        == by_risk["risk_group"].map({"IR": "intermediate-risk", "HR": "high-risk"})
    ).all()
    assert treated["blina_cycles"].between(1, 3).all()
    assert (treated["crs_grade"] <= 1).mean() >= 0.85
    assert (treated["neurotox_grade"] == 0).mean() >= 0.8
    assert 1 <= treated["hsct"].sum() <= 10


def test_median_time_to_blinatumomab(treated: pd.DataFrame) -> None:
    assert treated["blina_start_months"].median() == pytest.approx(10.8, abs=0.2)
    assert (treated["blina_start_months"] > 0).all()


def test_median_follow_up_by_reverse_kaplan_meier(treated: pd.DataFrame) -> None:
    reverse = kaplan_meier(treated["os_months"], 1 - treated["os_event"])
    assert median_survival(reverse).quantile == pytest.approx(26.8, abs=0.3)


def test_two_year_efs_and_os(treated: pd.DataFrame) -> None:
    efs = survival_at(kaplan_meier(treated["efs_months"], treated["efs_event"]), 24.0)
    os_ = survival_at(kaplan_meier(treated["os_months"], treated["os_event"]), 24.0)
    assert efs.survival == pytest.approx(88 / 90, abs=1e-12)
    assert round(100 * efs.survival, 1) == 97.8
    assert os_.survival == 1.0
    assert treated["os_event"].sum() == 0


def test_the_two_relapses(treated: pd.DataFrame) -> None:
    events = treated[treated["efs_event"] == 1]
    assert len(events) == 2
    assert set(events["event_type"]) == {"relapse"}
    assert sorted(events["genetic_subtype"]) == ["KMT2A-r", "TCF3-PBX1"]
    assert (events["efs_months"] < 24).all()
    assert (events["blina_start_months"] < events["efs_months"]).all()
    # nobody is censored before the relapses, so the KM estimate is exactly 88/90
    assert treated.loc[treated["efs_event"] == 0, "efs_months"].min() > events["efs_months"].max()


def test_treated_are_higher_risk_than_the_pool_but_overlap(
    treated: pd.DataFrame, pool: pd.DataFrame
) -> None:
    assert (treated["risk_group"] == "HR").mean() > 2 * (pool["risk_group"] == "HR").mean()
    assert (treated["mrd_eoi_pct"] >= 0.1).mean() > (pool["mrd_eoi_pct"] >= 0.1).mean()
    eligible = pool[pool["risk_group"] != "LR"]
    assert (eligible["risk_group"] == "HR").sum() > (treated["risk_group"] == "HR").sum()


# --- the historical pool looks like CCLG-ALL-2018 ------------------------------------


def test_pool_baseline_distributions(pool: pd.DataFrame) -> None:
    assert len(pool) == demo.N_POOL == 1000
    risk = pool["risk_group"].value_counts(normalize=True)
    assert 0.40 <= risk["LR"] <= 0.52
    assert 0.33 <= risk["IR"] <= 0.47
    assert 0.08 <= risk["HR"] <= 0.16
    gen = pool["genetic_subtype"].value_counts(normalize=True)
    assert 0.18 <= gen["ETV6-RUNX1"] <= 0.27
    assert 0.20 <= gen["high-hyperdiploid"] <= 0.30
    assert 0.03 <= gen["TCF3-PBX1"] <= 0.08
    assert 0.02 <= gen["BCR-ABL1"] <= 0.07
    assert 0.01 <= gen["KMT2A-r"] <= 0.05
    assert gen.get("hypodiploid", 0) <= 0.03
    assert 0.2 <= gen["B-other"] <= 0.35
    assert 3.5 <= pool["age_years"].median() <= 7
    assert pool["age_years"].between(2, 6, inclusive="left").mean() >= 0.4
    assert 8 <= pool["wbc_10e9_l"].median() <= 16
    assert 0.08 <= (pool["wbc_10e9_l"] >= 50).mean() <= 0.25
    assert 0.65 <= (pool["mrd_eoi_pct"] == 0).mean() <= 0.88
    assert 0.03 <= (pool["prednisone_response"] == "poor").mean() <= 0.15
    assert (pool["cns_status"] == "CNS1").mean() >= 0.75


def test_pool_mrd_follows_risk_group(pool: pd.DataFrame) -> None:
    positive = pool.groupby("risk_group")["mrd_eoi_pct"].apply(lambda s: (s > 0).mean())
    assert positive["LR"] == 0
    assert positive["HR"] > 0.7 > positive["IR"] > 0.1


def test_pool_outcomes(pool: pd.DataFrame) -> None:
    def efs_at(frame: pd.DataFrame, t: float) -> float:
        return float(survival_at(kaplan_meier(frame["efs_months"], frame["efs_event"]), t).survival)

    assert 0.76 <= efs_at(pool, 48) <= 0.88
    by_risk = {g: efs_at(s, 48) for g, s in pool.groupby("risk_group")}
    assert by_risk["LR"] > by_risk["IR"] > by_risk["HR"]
    assert by_risk["HR"] <= 0.7
    os4 = survival_at(kaplan_meier(pool["os_months"], pool["os_event"]), 48).survival
    assert 0.85 <= os4 <= 0.95
    types = pool["event_type"].value_counts(normalize=True)
    assert 0.005 <= types["death-in-remission"] <= 0.04
    assert types["relapse"] > 0.08
    # deaths follow relapses and some occur in remission
    assert pool.loc[pool["event_type"] == "relapse", "os_event"].sum() > 0
    # follow-up of the pool: diagnoses accrued over the protocol years (2-5 years)
    reverse = kaplan_meier(pool["os_months"], 1 - pool["os_event"])
    assert 30 <= median_survival(reverse).quantile <= 48
    assert pool["os_months"].max() <= 60


def test_pool_mrd_raises_relapse_risk(pool: pd.DataFrame) -> None:
    frame = pool.assign(
        mrd_pos=(pool["mrd_eoi_pct"] >= 0.01).astype(int),
        relapse=(pool["event_type"] == "relapse").astype(int),
    )
    adjusted = cox(frame, "efs_months", "relapse", ["mrd_pos", "risk_group"]).loc["mrd_pos"]
    assert 1.3 <= adjusted["hr"] <= 4


# --- the study-level results ---------------------------------------------------------


def test_every_treated_patient_is_matched(
    matched_result: MatchResult, treated: pd.DataFrame
) -> None:
    assert matched_result.n_pairs == len(treated) == 90
    assert matched_result.unmatched.empty
    assert len(matched_result.matched) == 180
    assert matched_result.pairs["control"].is_unique


def test_matched_efs_and_os_favour_blinatumomab(matched: pd.DataFrame) -> None:
    for duration, event in (("efs_months", "efs_event"), ("os_months", "os_event")):
        p, hr, upper = _compare(matched, duration, event)
        assert p < 0.05, (duration, p)
        assert hr < 1 and upper < 1, (duration, hr, upper)


@pytest.mark.parametrize(
    ("label", "select"),
    [
        ("high-risk", lambda f: f["risk_group"] == "HR"),
        ("EOI MRD >= 0.1 %", lambda f: f["mrd_eoi_pct"] >= 0.1),
    ],
)
def test_benefit_in_subgroups(
    matched: pd.DataFrame, label: str, select: Callable[[pd.DataFrame], pd.Series]
) -> None:
    sub = matched[select(matched)]
    assert sub["blina"].nunique() == 2
    for duration, event in (("efs_months", "efs_event"), ("os_months", "os_event")):
        p, hr, upper = _compare(sub, duration, event)
        assert p < 0.05, (label, duration, p)
        assert hr < 1 and upper < 1, (label, duration, hr, upper)


def test_landmark_analysis_shows_a_smaller_effect(matched: pd.DataFrame) -> None:
    # Blinatumomab patients are event-free until their first dose (immortal time);
    # the controls have part of their events before then.
    controls = matched[matched["blina"] == 0]
    early = controls[(controls["efs_event"] == 1) & (controls["efs_months"] < 10.8)]
    assert len(early) >= 0.15 * controls["efs_event"].sum()
    _, hr_diagnosis, _ = _compare(matched, "efs_months", "efs_event")
    landmark = _landmark(matched, LANDMARK_MONTHS)
    assert landmark["blina"].sum() >= 30
    _, hr_landmark, _ = _compare(landmark, "efs_months", "efs_event")
    assert hr_diagnosis < hr_landmark < 1
    assert hr_landmark >= 1.5 * hr_diagnosis


def test_the_shipped_copy_is_what_the_app_starts_on(cohort: pd.DataFrame) -> None:
    from blinastudy.data.cohort import content_hash

    assert content_hash(cohort) == demo.DEMO_HASH
    pd.testing.assert_frame_equal(demo.demo_cohort(), cohort, check_exact=True)


def test_a_changed_or_missing_copy_is_not_used(
    cohort: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    changed = tmp_path / "demo_cohort.csv"
    changed.write_text(CSV.read_text().replace("blinatumomab", "chemotherapy", 1))
    monkeypatch.setattr(demo, "BUNDLED", changed)
    pd.testing.assert_frame_equal(demo.demo_cohort(), cohort, check_exact=True)
    monkeypatch.setattr(demo, "BUNDLED", tmp_path / "absent.csv")
    pd.testing.assert_frame_equal(demo.demo_cohort(), cohort, check_exact=True)
    damaged = tmp_path / "damaged.csv"
    damaged.write_bytes(b"\x00\x01 not a table")
    monkeypatch.setattr(demo, "BUNDLED", damaged)
    pd.testing.assert_frame_equal(demo.demo_cohort(), cohort, check_exact=True)

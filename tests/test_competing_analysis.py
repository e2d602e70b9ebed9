"""Competing risks in the analysis: relapse with death in remission competing (CIR) and
death in remission (TRM), as the direct cmprsk-equal functions give them on the same sample."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from blinastudy.analysis import (
    TREATED,
    AnalysisResult,
    analyze,
    cause_codes,
    matched_sample,
)
from blinastudy.analysis.settings import Settings
from blinastudy.core.errors import InputError
from blinastudy.stats.survival import cox, cumulative_incidence, fine_gray, gray_test, kaplan_meier
from blinastudy.stats.survival.km import survival_at
from tests._cells import num


@pytest.fixture(scope="module")
def result(cohort: pd.DataFrame) -> AnalysisResult:
    return analyze(cohort, Settings(endpoint="cir"), sweep=False, replicates=200)


def test_cause_coding_follows_event_type(cohort: pd.DataFrame) -> None:
    codes = cause_codes(cohort, "cir", Settings())
    kinds = cohort["event_type"]
    assert (codes[kinds == "relapse"] == 1).all()
    assert (codes[kinds.isin(["death-in-remission", "second-malignancy"])] == 2).all()
    assert (codes[kinds == "induction-failure"] == 2).all()
    assert (codes[kinds == "none"] == 0).all()
    with_if = cause_codes(cohort, "cir", Settings(relapse_includes_induction_failure=True))
    assert (with_if[kinds == "induction-failure"] == 1).all()
    trm = cause_codes(cohort, "trm", Settings())
    assert (trm[kinds == "death-in-remission"] == 1).all() and (trm[kinds == "relapse"] == 2).all()


def test_cir_equals_the_direct_calls_on_the_matched_sample(result: AnalysisResult) -> None:
    assert result.match is not None
    units, _, _ = matched_sample(result.match)
    cr = result.competing["cir"]
    t = units["efs_months"].to_numpy()
    c = cause_codes(units, "cir", result.settings)
    x = units[TREATED].to_numpy()
    h = cr.at_horizon.set_index("arm")
    for arm, flag in (("blinatumomab", 1), ("chemotherapy", 0)):
        table = cumulative_incidence(t[x == flag], c[x == flag], cause=1)
        row = table[table["time"] <= 24.0].iloc[-1]
        assert h.loc[arm, "incidence"] == pytest.approx(row["incidence"], rel=1e-12)
        assert h.loc[arm, "ci_lower"] == pytest.approx(row["ci_lower"], rel=1e-12)
        assert cr.events[arm] == int((c[x == flag] == 1).sum())
        assert cr.competing[arm] == int((c[x == flag] == 2).sum())
        km = kaplan_meier(t[x == flag], (c[x == flag] == 1).astype(int))
        assert cr.one_minus_km[arm] == pytest.approx(1 - survival_at(km, 24.0).survival)
        # 1 - KM never understates the incidence
        assert cr.one_minus_km[arm] >= num(h.loc[arm, "incidence"]) - 1e-12
    gray = gray_test(t, c, x, cause=1)
    assert cr.gray is not None and cr.gray.statistic == pytest.approx(gray.statistic, rel=1e-12)
    frame = pd.DataFrame({"t": t, "c": c, TREATED: x})
    fg = fine_gray(frame, "t", "c", [TREATED])
    assert cr.fine_gray.iloc[0]["shr"] == pytest.approx(fg.iloc[0]["shr"], rel=1e-12)
    cs = cox(units.assign(rel=(c == 1).astype(int)), "efs_months", "rel", [TREATED], cluster="pair")
    assert cr.cause_specific.iloc[0]["hr"] == pytest.approx(cs.iloc[0]["hr"], rel=1e-12)
    assert cr.cause_specific.iloc[0]["se"] == pytest.approx(cs.iloc[0]["se"], rel=1e-12)
    boot = cr.difference
    assert -1 <= boot["ci_lower"] < boot["estimate"] < boot["ci_upper"] <= 1
    assert "percentile bootstrap" in cr.difference_method


def test_every_page_input_uses_the_cause(result: AnalysisResult) -> None:
    # subgroups on the cause-specific hazard, MRD groups by cumulative incidence
    relapses = result.competing["cir"].events
    overall = result.forest.iloc[0]
    assert overall["events_treated"] == relapses["blinatumomab"]
    assert overall["events_control"] == relapses["chemotherapy"]
    assert overall["competing_control"] == result.competing["cir"].competing["chemotherapy"]
    risk = result.forest[result.forest["variable"] == "risk_group"]
    assert risk["competing_control"].sum() == overall["competing_control"]
    assert result.mrd is not None and result.mrd.measure == "incidence"
    assert "incidence" in result.mrd.groups.columns
    numbers = result.numbers()
    assert numbers["competing"]["cir"]["gray"]["p_value"] == result.competing["cir"].gray.p_value  # type: ignore[union-attr]


def test_no_event_type_is_a_note_not_an_error(cohort: pd.DataFrame) -> None:
    bare = cohort.drop(columns=["event_type", "relapse_site"])
    res = analyze(bare, Settings(endpoint="cir"), sweep=False, replicates=0)
    assert res.competing == {}
    assert "no event_type column" in res.competing_note
    assert any("Cumulative incidence is not available" in w for w in res.warnings)
    assert res.endpoint.endpoint == "efs"  # the survival pages fall back to EFS
    with pytest.raises(InputError, match="event_type"):
        cause_codes(bare, "cir", Settings())


def test_incidences_and_event_free_survival_add_up(result: AnalysisResult) -> None:
    # relapse + death in remission + the rest of the competing events + EFS = 1 (no timefix
    # issue: demo times are on a 0.01-month grid)
    assert result.match is not None
    units, _, _ = matched_sample(result.match)
    t = units["efs_months"].to_numpy()
    kinds = units["event_type"].to_numpy()
    codes = np.select(
        [kinds == "relapse", kinds == "death-in-remission", kinds == "none"], [1, 2, 0], 3
    )
    total = sum(
        float(cumulative_incidence(t, codes, cause=k).set_index("time")["incidence"].iloc[-1])
        for k in (1, 2, 3)
        if (codes == k).any()
    )
    efs = kaplan_meier(t, (codes > 0).astype(int))["survival"].iloc[-1]
    assert total + efs == pytest.approx(1.0, abs=1e-12)

"""Weighting, the adjusted model, E-values and the MRD cut-point in the analysis: each
number equals the direct, R-checked function on the same sample."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from blinastudy.analysis import (
    TREATED,
    AnalysisResult,
    analyze,
    matching_pool,
    prepare_cohort,
)
from blinastudy.analysis.settings import Settings
from blinastudy.stats.balance import balance, effective_sample_size
from blinastudy.stats.sensitivity import e_value
from blinastudy.stats.survival import cox, cutpoint, kaplan_meier, survival_at
from blinastudy.stats.weighting import propensity_weights
from tests._cells import num


@pytest.fixture(scope="module")
def weighted(cohort: pd.DataFrame) -> AnalysisResult:
    s = Settings(population="weighted").update(weighting__estimand="ATO")
    return analyze(cohort, s, sweep=False, replicates=0)


def _pool(cohort: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    return matching_pool(prepare_cohort(cohort, settings), settings)


def test_weighted_sample_uses_the_weights_everywhere(
    cohort: pd.DataFrame, weighted: AnalysisResult
) -> None:
    s = weighted.settings
    pool = _pool(cohort, s)
    w = propensity_weights(pool, TREATED, s.matching.covariates, estimand="ATO")
    assert weighted.weighting is not None
    np.testing.assert_allclose(weighted.weighting.weights.to_numpy(), w.to_numpy(), rtol=1e-15)
    assert weighted.weighting.ess == effective_sample_size(pool[TREATED], w)
    bal = balance(pool, TREATED, s.matching.covariates, weights=w, estimand="ATO")
    pd.testing.assert_frame_equal(weighted.weighting.balance, bal)
    hr = cox(pool.assign(w=w.to_numpy()), "efs_months", "efs_event", [TREATED], weights="w")
    got = weighted.endpoints["efs"].hazard_ratio.iloc[0]
    assert got["hr"] == pytest.approx(hr.iloc[0]["hr"], rel=1e-12)
    assert got["se"] == pytest.approx(hr.iloc[0]["se"], rel=1e-12)
    chemo = pool[TREATED] == 0
    km = kaplan_meier(pool.loc[chemo, "efs_months"], pool.loc[chemo, "efs_event"], weights=w[chemo])
    h = weighted.endpoints["efs"].at_horizon.set_index("arm").loc["chemotherapy"]
    assert h["survival"] == pytest.approx(survival_at(km, 24.0).survival, rel=1e-12)
    assert "weighted" in weighted.design.description
    assert weighted.endpoints["efs"].logrank_label.startswith("log-rank, unweighted")


def test_four_estimates_with_e_values(cohort: pd.DataFrame) -> None:
    res = analyze(cohort, Settings(), sweep=False, replicates=0)
    est = res.estimates.set_index("estimate")
    assert list(est.index) == ["crude", "matched", "weighted", "adjusted"]
    assert est.loc["matched", "hr"] == pytest.approx(
        res.endpoints["efs"].hazard_ratio.iloc[0]["hr"], rel=1e-12
    )
    pool = _pool(cohort, res.settings)
    adjusted = cox(pool, "efs_months", "efs_event", [TREATED, *res.settings.matching.covariates])
    assert est.loc["adjusted", "hr"] == pytest.approx(adjusted.loc[TREATED, "hr"], rel=1e-12)
    for name in est.index:
        row = est.loc[name]
        ev = e_value(row["hr"], row["ci_lower"], row["ci_upper"], rare_outcome=False)
        assert row["e_value"] == pytest.approx(ev.point, rel=1e-12)
        assert row["e_value_ci"] == pytest.approx(ev.ci, rel=1e-12)
        assert row["e_value"] > row["e_value_ci"] > 1  # every estimate excludes 1 here


def test_adjusted_estimate_is_not_estimable_under_monotone_likelihood(
    cohort: pd.DataFrame,
) -> None:
    res = analyze(cohort, Settings(endpoint="os"), sweep=False, replicates=0)
    est = res.estimates.set_index("estimate")
    assert est.loc["adjusted", "method"] == "not estimable"  # no deaths with blinatumomab
    assert np.isnan(num(est.loc["adjusted", "e_value"]))
    assert est.loc["crude", "method"] == "firth"


def test_mrd_cutpoint_and_naive_threshold_p(cohort: pd.DataFrame) -> None:
    res = analyze(cohort, Settings(), sweep=False, replicates=0)
    assert res.match is not None and res.mrd is not None
    units = res.match.match_data
    cut = cutpoint(units["efs_months"], units["efs_event"], units["mrd_eoi_pct"])
    assert res.mrd.cutpoint is not None
    assert res.mrd.cutpoint.cutpoint == cut.cutpoint
    assert res.mrd.cutpoint.p_value == pytest.approx(cut.p_value, rel=1e-12)
    numbers = res.numbers()["mrd"]
    assert numbers["maximally_selected"]["cutpoint"] == cut.cutpoint
    assert 0 < numbers["threshold_p_naive"] < 1

"""Inference that respects the matched design, against R (``make_matched_design_reference.R``).

* 1:k sets of unequal size: MatchIt's weights in the Kaplan-Meier curves
  (``survfit(..., weights)``) and the Cox model (``coxph(..., weights, robust = TRUE,
  cluster = subclass)``), log-rank stratified by matched set.
* Reused controls: the Cox model on one row per use with Austin and Cafri's variance,
  curves on one row per patient with MatchIt's weights.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from blinastudy.analysis import TREATED, AnalysisResult, analyze, austin_cafri, matched_sample
from blinastudy.analysis.results import EndpointResult
from blinastudy.analysis.settings import Settings
from blinastudy.data.demo import make_demo_cohort
from blinastudy.stats.survival import cox_fit

DATA = Path(__file__).resolve().parent / "data"
REL = 1e-6
RATIO3 = Settings().update(matching__ratio=3, matching__caliper=0.05)
REPLACE = Settings().update(matching__replace=True, matching__ratio=2)


@pytest.fixture(scope="module")
def expected() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / "matched_design.expected.json").read_text())
    return data


@pytest.fixture(scope="module")
def ratio3() -> AnalysisResult:
    return analyze(make_demo_cohort(), RATIO3, sweep=False, replicates=200)


@pytest.fixture(scope="module")
def replace() -> AnalysisResult:
    return analyze(make_demo_cohort(), REPLACE, sweep=False, replicates=200)


def _stored(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / f"matched_{name}.csv")


def _same_sample(rows: pd.DataFrame, stored: pd.DataFrame) -> None:
    assert rows.index.tolist() == stored["patient_id"].tolist()
    np.testing.assert_allclose(rows["weight"], stored["weight"], rtol=1e-15)
    np.testing.assert_array_equal(rows[TREATED], stored["treated"])


def _hr(res: AnalysisResult, key: str = "efs") -> pd.Series:
    return res.endpoints[key].hazard_ratio.iloc[0]


def _efs_as_r(res: AnalysisResult, expected: dict[str, Any], name: str) -> EndpointResult:
    """Check the EFS hazard ratio and 24-month Kaplan-Meier of ``res`` against R's
    ``<name>_cox`` and ``<name>_km24``; return the EFS result."""
    hr = _hr(res)
    for key, value in expected[f"{name}_cox"].items():
        assert hr[key] == pytest.approx(value, rel=REL), key
    ep = res.endpoints["efs"]
    h = ep.at_horizon.set_index("arm")
    for arm, code in (("blinatumomab", "1"), ("chemotherapy", "0")):
        want = expected[f"{name}_km24"][code]
        for key in ("survival", "std_err", "ci_lower", "ci_upper"):
            assert h.loc[arm, key] == pytest.approx(want[key], rel=REL), (arm, key)
    return ep


def test_the_matched_samples_are_the_stored_ones(
    ratio3: AnalysisResult, replace: AnalysisResult
) -> None:
    assert ratio3.match is not None and replace.match is not None
    units, uses, design = matched_sample(ratio3.match)
    assert uses is None and design.weights == "weight" and design.strata == "pair"
    _same_sample(units, _stored("ratio3_units"))
    units, uses, design = matched_sample(replace.match)
    assert uses is not None and design.reused and design.strata is None
    _same_sample(units, _stored("replace_units"))
    _same_sample(uses, _stored("replace_uses"))


def test_unequal_sets_use_matchit_weights_as_r(
    ratio3: AnalysisResult, expected: dict[str, Any]
) -> None:
    ep = _efs_as_r(ratio3, expected, "ratio3")
    assert _hr(ratio3)["method"] == "ml-robust"
    assert ep.logrank_label == "log-rank stratified by matched set"
    want = expected["ratio3_logrank_sets"]
    assert ep.logrank is not None
    assert ep.logrank.statistic == pytest.approx(want["statistic"], rel=REL)
    assert ep.logrank.p_value == pytest.approx(want["p_value"], rel=REL)
    assert any("matched sets of unequal size" in w for w in ratio3.warnings)


def test_reused_controls_use_austin_cafri_as_r(
    replace: AnalysisResult, expected: dict[str, Any]
) -> None:
    ep = _efs_as_r(replace, expected, "replace")
    assert ep.logrank_stratified is None  # sets share controls: no stratified test
    assert ep.logrank_label.startswith("log-rank, unweighted")
    want = expected["replace_logrank_plain"]
    assert ep.logrank is not None
    assert ep.logrank.statistic == pytest.approx(want["statistic"], rel=REL)
    assert any("controls reused" in w for w in replace.warnings)


def test_austin_cafri_by_hand() -> None:
    # the formula, from the three robust variances computed separately
    rng = np.random.default_rng(4)
    n = 40
    x = np.tile([1.0, 0.0], n // 2)
    t = rng.exponential(10, n).round(1) + 0.1
    e = rng.integers(0, 2, n)
    sets = np.repeat(np.arange(n // 2), 2)
    ids = np.array([f"T{i}" if i % 2 == 0 else f"C{(i // 2) % 7}" for i in range(n)])
    w = np.ones(n)
    fit = cox_fit(x, t, e, cluster=sets)
    got = austin_cafri(fit, x, t, e, w, sets, ids)
    parts = [
        (cox_fit(x, t, e, weights=w, cluster=g, robust=True).var[0, 0], k)
        for g, k in ((sets, 20), (ids, len(set(ids))), (None, n))
    ]
    want = sum(s * k / (k - 1) * v for s, (v, k) in zip((1, 1, -1), parts, strict=True))
    assert got.se[0] == pytest.approx(np.sqrt(want), rel=1e-12)
    assert got.coef[0] == fit.coef[0]


def test_bootstrap_resamples_sets_with_weights(ratio3: AnalysisResult) -> None:
    ep = ratio3.endpoints["efs"]
    boot = ep.difference_bootstrap
    assert ratio3.match is not None
    assert boot is not None and boot.clusters == ratio3.match.n_pairs
    est = ep.difference["estimate"]
    assert -1 <= boot.ci_lower < est < boot.ci_upper <= 1
    # the same seed, the same interval
    again = analyze(make_demo_cohort(), RATIO3, sweep=False, replicates=200)
    assert again.endpoints["efs"].difference == ep.difference

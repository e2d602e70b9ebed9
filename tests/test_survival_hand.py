"""Survival estimators on cases small enough to compute by hand.

Each expected value is derived in the comments next to it (Kaplan-Meier products,
Greenwood sums, log-rank observed/expected/variance tables, Cox score equations),
or comes from an independent implementation written here (a brute-force Breslow
partial likelihood with a numerical information matrix) or from lifelines, which
agrees with R's ``coxph`` when there are no tied event times (and, for the point
estimates and model-based SEs, also with ties: it uses Efron's method).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import optimize, stats

from blinastudy.core.errors import InputError
from blinastudy.stats.survival import (
    cox,
    cox_fit,
    kaplan_meier,
    logrank,
    logrank_stratified,
    median_survival,
    number_at_risk,
    quantile_survival,
    survival_at,
)
from tests._cells import num, one_row
from tests._numeric import numerical_hessian

Z95 = float(stats.norm.ppf(0.975))
CHI2_95 = float(stats.chi2.ppf(0.95, 1))
FloatArray = npt.NDArray[np.float64]

# ---------------------------------------------------------------------------
# Kaplan-Meier
#
# Eight patients, tied events at t = 2 with a censoring at the same time, and a
# censoring at t = 4 alongside an event:
#
#   time  at risk  events  censored   S(t)                       Greenwood term d/(n(n-d))
#   1     8        1       0          7/8                        1/(8*7)  = 1/56
#   2     7        2       1          7/8 * 5/7 = 5/8            2/(7*5)  = 2/35
#   3     4        1       0          5/8 * 3/4 = 15/32          1/(4*3)  = 1/12
#   4     3        1       1          15/32 * 2/3 = 5/16         1/(3*2)  = 1/6
#   5     1        0       1          5/16                       0
#
# The censored patient at t = 2 is still at risk at t = 2 (n = 7), and leaves
# before t = 3 (n = 4 = 7 - 2 deaths - 1 censored).

KM_T = [1, 2, 2, 2, 3, 4, 4, 5]
KM_E = [1, 1, 1, 0, 1, 0, 1, 0]
KM_S = [7 / 8, 5 / 8, 15 / 32, 5 / 16, 5 / 16]
KM_GREENWOOD = np.cumsum([1 / 56, 2 / 35, 1 / 12, 1 / 6, 0.0])


def test_km_table_with_ties_and_censoring_at_event_times() -> None:
    km = kaplan_meier(KM_T, KM_E)
    assert km["time"].tolist() == [1, 2, 3, 4, 5]
    assert km["n_at_risk"].tolist() == [8, 7, 4, 3, 1]
    assert km["n_events"].tolist() == [1, 2, 1, 1, 0]
    assert km["n_censored"].tolist() == [0, 1, 0, 1, 1]
    np.testing.assert_allclose(km["survival"], KM_S, rtol=1e-14)
    # R's std.err: the Greenwood standard error of the cumulative hazard
    np.testing.assert_allclose(km.attrs["std_err"], np.sqrt(KM_GREENWOOD), rtol=1e-14)
    assert km.attrs["n"] == 8


def test_km_greenwood_variance_of_survival() -> None:
    # Var S(t) = S(t)^2 * sum d/(n(n-d)); at t = 3: (15/32)^2 * (1/56 + 2/35 + 1/12)
    km = kaplan_meier(KM_T, KM_E)
    var_s = (km["survival"] * km.attrs["std_err"]) ** 2
    assert var_s.iloc[2] == pytest.approx((15 / 32) ** 2 * (1 / 56 + 2 / 35 + 1 / 12), rel=1e-14)


@pytest.mark.parametrize("conf_level", [0.95, 0.90])
def test_km_ci_formulas(conf_level: float) -> None:
    z = float(stats.norm.ppf(1 - (1 - conf_level) / 2))
    s = np.array(KM_S)
    se = np.sqrt(KM_GREENWOOD)
    # log ("log" in R): exp(log S -+ z se), upper capped at 1
    lo_log, hi_log = s * np.exp(-z * se), np.minimum(s * np.exp(z * se), 1.0)
    # log-log (Kalbfleisch-Prentice): S ^ exp(+- z se / |log S|)
    lo_ll = s ** np.exp(z * se / np.abs(np.log(s)))
    hi_ll = s ** np.exp(-z * se / np.abs(np.log(s)))
    # plain: S -+ z S se, clipped to [0, 1]
    lo_pl, hi_pl = np.clip(s - z * s * se, 0, 1), np.clip(s + z * s * se, 0, 1)
    for conf_type, lo, hi in [
        ("log", lo_log, hi_log),
        ("log-log", lo_ll, hi_ll),
        ("plain", lo_pl, hi_pl),
    ]:
        km = kaplan_meier(KM_T, KM_E, conf_type=conf_type, conf_level=conf_level)  # type: ignore[arg-type]
        np.testing.assert_allclose(km["ci_lower"], lo, rtol=1e-12, err_msg=conf_type)
        np.testing.assert_allclose(km["ci_upper"], hi, rtol=1e-12, err_msg=conf_type)
        assert (km["ci_lower"] <= km["survival"]).all()
        assert (km["survival"] <= km["ci_upper"]).all()


def test_km_ci_undefined_where_r_gives_na() -> None:
    # Censored at 1 (S = 1), event at 2 (S = 1/2), last patient dies at 3 (S = 0).
    # log-log is undefined at S = 1; every interval is undefined at S = 0 (infinite
    # Greenwood term 1/(1*0)); log and plain give [1, 1] at S = 1.
    t, e = [1, 2, 3], [0, 1, 1]
    ll = kaplan_meier(t, e, conf_type="log-log")
    assert ll["survival"].tolist() == [1.0, 0.5, 0.0]
    assert math.isnan(ll["ci_lower"].iloc[0]) and math.isnan(ll["ci_upper"].iloc[0])
    assert math.isnan(ll["ci_lower"].iloc[2]) and math.isnan(ll["ci_upper"].iloc[2])
    for conf_type in ("log", "plain"):
        km = kaplan_meier(t, e, conf_type=conf_type)
        assert km["ci_lower"].iloc[0] == km["ci_upper"].iloc[0] == 1.0
        assert math.isnan(km["ci_lower"].iloc[2]) and math.isnan(km["ci_upper"].iloc[2])


def test_km_plain_ci_is_clipped() -> None:
    # Two patients, one event at 1: S = 1/2, se(log) = sqrt(1/(2*1)) = 0.7071;
    # plain half-width 1.96 * 0.5 * 0.7071 = 0.693 > 0.5, so [0, 1].
    km = kaplan_meier([1, 2], [1, 0], conf_type="plain")
    assert km["ci_lower"].iloc[0] == 0.0
    assert km["ci_upper"].iloc[0] == 1.0


def test_km_no_censoring_is_empirical_survival() -> None:
    km = kaplan_meier([3, 1, 2, 2, 5], [1, 1, 1, 1, 1])
    # fraction with T > t: 4/5, 2/5, 1/5, 0
    np.testing.assert_allclose(km["survival"], [4 / 5, 2 / 5, 1 / 5, 0.0], rtol=1e-14)


def test_median_first_time_below_half() -> None:
    # S drops from 5/8 to 15/32 < 1/2 at t = 3
    assert median_survival(kaplan_meier(KM_T, KM_E)).quantile == 3.0
    # 25th percentile: first time S <= 3/4 -> t = 2 (S = 5/8)
    assert quantile_survival(kaplan_meier(KM_T, KM_E), 0.25).quantile == 2.0


def test_median_midpoint_rule_when_curve_sits_at_half() -> None:
    # 1..4, all events: S = 3/4, 1/2, 1/4, 0; S = 1/2 on [2, 3) -> (2 + 3) / 2
    assert median_survival(kaplan_meier([1, 2, 3, 4], [1, 1, 1, 1])).quantile == 2.5
    # 1..6 with a censoring at 4: S = 5/6, 4/6, 3/6 at t = 3 (a product that is 1/2
    # only to rounding, within R's sqrt(eps) tolerance), flat through the censoring at
    # 4, then 1/4 at 5 -> midpoint (3 + 5) / 2 = 4
    km = kaplan_meier([1, 2, 3, 4, 5, 6], [1, 1, 1, 0, 1, 1])
    assert median_survival(km).quantile == 4.0
    # quantile 1/8 sits on the flat S = 7/8 over [1, 2) -> 1.5
    assert quantile_survival(kaplan_meier(KM_T, KM_E), 1 / 8).quantile == 1.5


def test_median_curve_ending_at_half_is_the_time_it_got_there() -> None:
    # S = 3/4, 1/2 then censorings at 3 and 4. print(survfit) (survmean's minmin) takes
    # the midpoint only when the curve later drops below 1/2; it never does, so the
    # median is 2, the first time S <= 1/2. quantile.survfit's findq instead takes the
    # midpoint of 2 and the last follow-up time 4 -> 3.
    km = kaplan_meier([1, 2, 3, 4], [1, 1, 0, 0])
    assert median_survival(km).quantile == 2.0
    assert quantile_survival(km, 0.5).quantile == 3.0


def test_median_limits_skip_undefined_interval_values() -> None:
    # Censored at 1 (S = 1), event at 2 (S = 1/2), event at 3 (S = 0). log-log limits
    # are NaN at S = 1 and S = 0. Median: S = 1/2 exactly at 2 and drops later at 3 ->
    # (2 + 3) / 2. Lower limit: the only defined value is at 2, below 1/2 -> 2. Upper:
    # the only defined value, at 2, is above 1/2 -> not reached.
    km = kaplan_meier([1, 2, 3], [0, 1, 1], conf_type="log-log")
    assert km["ci_lower"].iloc[1] < 0.5 < km["ci_upper"].iloc[1]
    med = median_survival(km)
    assert med.quantile == 2.5
    assert med.ci_lower == 2.0
    assert math.isnan(med.ci_upper)


def test_median_midpoint_reaches_past_censorings_to_the_next_drop() -> None:
    # 1..8 with censorings at 5 and 6: S = 7/8, ..., 4/8 at 4 (exactly 1/2), flat over the
    # censorings, then 4/8 * 1/2 at 7 -> the midpoint of 4 and 7.
    km = kaplan_meier(range(1, 9), [1, 1, 1, 1, 0, 0, 1, 1])
    assert median_survival(km).quantile == 5.5
    # first drop below 1/2 is a later event time, not the censoring at 5
    assert quantile_survival(km, 0.5).quantile == 5.5


def test_median_not_reached_is_nan() -> None:
    med = median_survival(kaplan_meier([1, 2, 3, 4], [1, 0, 0, 0]))  # S stays at 3/4
    assert math.isnan(med.quantile)
    assert math.isnan(med.ci_upper)


def test_quantiles_match_survival_package_test_case() -> None:
    # The data of the survival package's own quantile test (row with a missing
    # status dropped): S = 6/7 at 1, 6/7 * 3/5 at 6, then * 1/2 at 9. Expected
    # quantiles at 1 - (13/14, 6/7, 2/3, 1/2, 9/35, 1/10), log intervals.
    km = kaplan_meier([9, 1, 1, 6, 6, 8, 10], [1, 1, 0, 1, 1, 0, 0], conf_type="log")
    probs = [1 - q for q in (13 / 14, 6 / 7, 2 / 3, 0.5, 9 / 35, 0.1)]
    got = [quantile_survival(km, p) for p in probs]
    np.testing.assert_array_equal([g.quantile for g in got], [1, 3.5, 6, 9, 9.5, np.nan])
    np.testing.assert_array_equal([g.ci_lower for g in got], [1, 1, 1, 6, 6, 9])
    assert all(math.isnan(g.ci_upper) for g in got)


def test_survival_at_step_function() -> None:
    km = kaplan_meier(KM_T, KM_E)
    before = survival_at(km, 0.5)
    assert (before.survival, before.ci_lower, before.ci_upper) == (1.0, 1.0, 1.0)
    assert before.n_at_risk == 8
    assert survival_at(km, 0).survival == 1.0
    # right-continuous: at an event time the drop has happened
    assert survival_at(km, 2).survival == pytest.approx(5 / 8)
    assert survival_at(km, 2.999).survival == pytest.approx(5 / 8)
    assert survival_at(km, 3).ci_lower == km["ci_lower"].iloc[2]
    assert survival_at(km, 5).survival == pytest.approx(5 / 16)  # last time: still estimated
    after = survival_at(km, 5.5)
    assert math.isnan(after.survival) and math.isnan(after.ci_lower) and math.isnan(after.ci_upper)
    assert after.n_at_risk == 0


def test_number_at_risk_counts_t_greater_or_equal() -> None:
    km = kaplan_meier(KM_T, KM_E)
    # #{T >= t} for T = 1, 2, 2, 2, 3, 4, 4, 5
    expected = {0: 8, 1: 8, 1.5: 7, 2: 7, 2.5: 4, 3: 4, 4: 3, 4.5: 1, 5: 1, 6: 0}
    for t, n in expected.items():
        assert number_at_risk(km, t) == n, t


# ---------------------------------------------------------------------------
# weighted Kaplan-Meier


def test_km_integer_weights_count_patients_that_many_times() -> None:
    # t = 1, 2, 3 (event, event, censored) with weights 2, 1, 1 = rows 1, 1, 2, 3:
    #   time  at risk  events  S                 Greenwood d/(r(r-d))
    #   1     4        2       2/4 = 1/2         2/(4*2) = 1/4
    #   2     2        1       1/2 * 1/2 = 1/4   1/(2*1) = 1/2
    #   3     1        0       1/4               0
    km = kaplan_meier([1, 2, 3], [1, 1, 0], weights=[2, 1, 1])
    assert km["n_at_risk"].tolist() == [4, 2, 1]
    assert km["n_events"].tolist() == [2, 1, 0]
    assert km["n_censored"].tolist() == [0, 0, 1]
    np.testing.assert_allclose(km["survival"], [1 / 2, 1 / 4, 1 / 4], rtol=1e-15)
    np.testing.assert_allclose(km.attrs["std_err"], np.sqrt([1 / 4, 3 / 4, 3 / 4]), rtol=1e-15)
    assert km.attrs["logse"] is True
    rows = kaplan_meier([1, 1, 2, 3], [1, 1, 1, 0])
    pd.testing.assert_frame_equal(km, rows, check_like=False)
    np.testing.assert_array_equal(km.attrs["std_err"], rows.attrs["std_err"])


def test_km_zero_weight_rows_keep_their_time_as_r_does() -> None:
    # weights 1, 0, 1: the patient at 2 counts for nothing, but survfit keeps time 2 in
    # the table (weighted counts 1 at risk, 0 events, 0 censored) and S does not move
    km = kaplan_meier([1, 2, 3], [1, 1, 0], weights=[1, 0, 1])
    assert km["time"].tolist() == [1, 2, 3]
    assert km["n_at_risk"].tolist() == [2, 1, 1]
    assert km["n_events"].tolist() == [1, 0, 0]
    assert km["n_censored"].tolist() == [0, 0, 1]
    assert km["survival"].tolist() == [0.5, 0.5, 0.5]


def test_km_fractional_weights_use_the_infinitesimal_jackknife() -> None:
    # t = 1 (event, w = 1/2), 2 (censored, w = 3/2): r = 2, d = 1/2, h = d/r = 1/4, S = 3/4.
    # survfitkm's influence of each patient on S at t = 1 (S just before is 1):
    #   the event:        w h / r - w / r = 1/2 * 1/4 / 2 - 1/2 / 2 = 1/16 - 4/16 = -3/16
    #   the one at risk:  w h / r         = 3/2 * 1/4 / 2            = 3/16
    # SE(S) = sqrt(2 (3/16)^2) = 3 sqrt(2) / 16 (R's std.err, on the scale of S).
    km = kaplan_meier([1, 2], [1, 0], weights=[0.5, 1.5], conf_type="log")
    assert km["survival"].tolist() == [0.75, 0.75]
    assert km.attrs["logse"] is False
    np.testing.assert_allclose(km.attrs["std_err"], 3 * math.sqrt(2) / 16, rtol=1e-14)
    # the interval uses SE(log S) = SE(S) / S = sqrt(2) / 4
    se_log = math.sqrt(2) / 4
    assert km["ci_lower"].iloc[0] == pytest.approx(0.75 * math.exp(-Z95 * se_log), rel=1e-12)
    assert km["ci_upper"].iloc[0] == pytest.approx(min(1.0, 0.75 * math.exp(Z95 * se_log)))
    at = survival_at(km, 1.5)
    assert at.std_err == pytest.approx(3 * math.sqrt(2) / 16, rel=1e-14)
    assert at.n_at_risk == 1.5
    # Greenwood on the same weighted counts would be S sqrt(d/(r(r-d))) = 3/4 sqrt(1/6)
    assert at.std_err != pytest.approx(0.75 * math.sqrt(1 / 6), rel=1e-3)


def test_km_plain_interval_at_zero_with_jackknife_is_zero_to_zero() -> None:
    # Everyone dies: with the jackknife every influence is 0 once S = 0, so R's plain
    # interval is [0, 0] there (Greenwood's infinite term gives NA instead).
    km = kaplan_meier([1, 2, 3], [1, 1, 1], weights=[0.5, 1.5, 1], conf_type="plain")
    assert km["survival"].iloc[-1] == 0.0
    assert km.attrs["std_err"][-1] == 0.0
    assert (km["ci_lower"].iloc[-1], km["ci_upper"].iloc[-1]) == (0.0, 0.0)
    unweighted = kaplan_meier([1, 2, 3], [1, 1, 1], conf_type="plain")
    assert math.isnan(unweighted["ci_lower"].iloc[-1])


def test_km_weight_messages_name_the_patient_or_entry() -> None:
    with pytest.raises(InputError, match=r"weights must be >= 0; not at entry 2 \(-1\)$"):
        kaplan_meier([1, 2], [1, 0], weights=[1, -1])
    w = pd.Series([1.0, np.nan], index=["P7", "P9"])
    with pytest.raises(
        InputError, match=r"weights has missing or infinite values at patient 'P9' \(missing\)"
    ):
        kaplan_meier([1, 2], [1, 0], weights=w)
    with pytest.raises(InputError, match=r"weights must be numbers; not at entry 1 \('a'\)"):
        kaplan_meier([1, 2], [1, 0], weights=["a", 1])
    with pytest.raises(InputError, match=r"weights has 1 values for 2 rows"):
        kaplan_meier([1, 2], [1, 0], weights=[1])


# ---------------------------------------------------------------------------
# log-rank


def test_logrank_two_groups_by_hand() -> None:
    # group 0: events at 1, 2, 3; group 1: event 4, censored 5, event 6
    #   t   n0 n1  d  d0   E0 = d n0/n   V = d (n0/n)(n1/n)(n-d)/(n-1)
    #   1   3  3   1  1    3/6           1/4
    #   2   2  3   1  1    2/5           6/25
    #   3   1  3   1  1    1/4           3/16
    #   4   0  3   1  0    0             0
    #   6   0  1   1  0    0             0  (n = 1)
    # O0 - E0 = 3 - 23/20 = 37/20;  V = 1/4 + 6/25 + 3/16 = 271/400
    # chi2 = (37/20)^2 / (271/400) = 1369/271
    res = logrank([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 0, 1], [0, 0, 0, 1, 1, 1])
    assert res.statistic == pytest.approx(1369 / 271, rel=1e-12)
    assert res.dof == 1
    assert res.p_value == pytest.approx(stats.chi2.sf(1369 / 271, 1), rel=1e-10)
    np.testing.assert_allclose(res.table["observed"], [3, 2])
    np.testing.assert_allclose(res.table["expected"], [23 / 20, 5 - 23 / 20])
    assert res.table["n"].tolist() == [3, 3]


def test_logrank_tied_deaths_across_groups() -> None:
    # Two deaths at t = 1 (one per group), 2 x 2 table at that time:
    #   t   n0 n1  d   d0   E0         V = d (n0 n1 / n^2) (n - d)/(n - 1)
    #   1   2  2   2   1    1          2 * 1/4 * 2/3 = 1/3
    #   2   1  1   1   1    1/2        1/4
    # O0 - E0 = 2 - 3/2 = 1/2; chi2 = (1/4) / (7/12) = 3/7
    res = logrank([1, 2, 1, 3], [1, 1, 1, 0], ["a", "a", "b", "b"])
    assert res.statistic == pytest.approx(3 / 7, rel=1e-12)


def test_logrank_three_groups_by_hand() -> None:
    # A: events 1, 4; B: event 2, censored 5; C: events 3, 6
    #   t  nA nB nC  dies  E (A, B, C)          V_t = diag(f) - f f' (one death, n > 1)
    #   1  2  2  2   A     1/3, 1/3, 1/3        f = (1/3, 1/3, 1/3)
    #   2  1  2  2   B     1/5, 2/5, 2/5        f = (1/5, 2/5, 2/5)
    #   3  1  1  2   C     1/4, 1/4, 1/2        f = (1/4, 1/4, 1/2)
    #   4  1  1  1   A     1/3, 1/3, 1/3        f = (1/3, 1/3, 1/3)
    #   6  0  0  1   C     0,   0,   1          0 (n = 1)
    # O = (2, 1, 2); E = (67/60, 79/60, 154/60)
    res = logrank([1, 4, 2, 5, 3, 6], [1, 1, 1, 0, 1, 1], ["A", "A", "B", "B", "C", "C"])
    np.testing.assert_allclose(res.table["observed"], [2, 1, 2])
    np.testing.assert_allclose(res.table["expected"], [67 / 60, 79 / 60, 154 / 60], rtol=1e-12)
    d = np.array([2 - 67 / 60, 1 - 79 / 60])
    fs = [(1 / 3, 1 / 3), (1 / 5, 2 / 5), (1 / 4, 1 / 4), (1 / 3, 1 / 3)]
    v = np.sum([np.diag(f) - np.outer(f, f) for f in map(np.array, fs)], axis=0)
    # V_AA = 2/9 + 4/25 + 3/16 + 2/9, V_AB = -(1/9 + 2/25 + 1/16 + 1/9)
    assert v[0, 0] == pytest.approx(2 / 9 + 4 / 25 + 3 / 16 + 2 / 9)
    assert v[0, 1] == pytest.approx(-(1 / 9 + 2 / 25 + 1 / 16 + 1 / 9))
    chi2 = float(d @ np.linalg.solve(v, d))
    assert res.statistic == pytest.approx(chi2, rel=1e-12)
    assert res.dof == 2
    assert res.p_value == pytest.approx(stats.chi2.sf(chi2, 2), rel=1e-10)


def test_logrank_without_information_is_zero_on_zero_dof() -> None:
    # Arm a is censored at 1 and 2; both events (5, 6) happen with only arm b at risk:
    # E_a = 0, so survdiff drops arm a, leaving one group: statistic 0 on 0 df, p = 1.
    res = logrank([1, 2, 5, 6], [0, 0, 1, 1], ["a", "a", "b", "b"])
    assert (res.statistic, res.dof, res.p_value) == (0.0, 0, 1.0)
    np.testing.assert_array_equal(res.table["expected"], [0, 2])
    # the same within strata
    res = logrank_stratified(
        [1, 2, 5, 6, 1, 2, 3, 4], [0, 0, 1, 1, 0, 0, 1, 1], [0, 0, 1, 1] * 2, [0] * 4 + [1] * 4
    )
    assert (res.statistic, res.dof, res.p_value) == (0.0, 0, 1.0)


def test_logrank_group_without_expected_events_leaves_the_test() -> None:
    # Group c is censored (0.5, 0.6) before the first event: E_c = 0, so the test is the
    # two-group test of a and b on 1 df (not 2).
    t, e = [1, 2, 3, 4, 5, 6, 0.5, 0.6], [1, 1, 1, 0, 1, 1, 0, 0]
    res = logrank(t, e, list("aaabbbcc"))
    two = logrank(t[:6], e[:6], list("aaabbb"))
    assert res.dof == 1
    assert res.statistic == pytest.approx(two.statistic, rel=1e-12)
    assert res.statistic == pytest.approx(1369 / 271, rel=1e-12)  # the first test's table


def test_logrank_without_events_follows_r() -> None:
    # survdiff: every expected count is 0 -> df = 0 - 1 = -1, chi-square 0, p NA
    res = logrank([1, 2, 3, 4], [0, 0, 0, 0], [0, 0, 1, 1])
    assert (res.statistic, res.dof) == (0.0, -1)
    assert math.isnan(res.p_value)


def test_logrank_singular_variance_raises_as_survdiff_stops() -> None:
    # Both patients die at 1: V = 0 (n = d), while both groups expect an event
    with pytest.raises(InputError, match="singular"):
        logrank([1, 1], [1, 1], ["a", "b"])


def test_logrank_ties_near_equal_times() -> None:
    # 7 days as months two ways differ in the last bit; survdiff ties them, so the two
    # deaths are one tied death time (the 2 x 2 table of the tied-deaths test above)
    a, b = 7 / 365.25 * 12, 7 / (365.25 / 12)
    assert a != b
    res = logrank([a, 2, b, 3], [1, 1, 1, 0], ["a", "a", "b", "b"])
    assert res.statistic == pytest.approx(3 / 7, rel=1e-12)
    km = kaplan_meier([a, 2, b, 3], [1, 1, 1, 0])
    assert km["time"].tolist() == [min(a, b), 2, 3]
    assert km["n_events"].iloc[0] == 2


def test_stratified_logrank_sums_per_stratum_o_minus_e_and_v() -> None:
    rng = np.random.default_rng(11)
    n = 90
    t = np.ceil(rng.exponential(8, n))
    e = rng.integers(0, 2, n)
    g = rng.integers(0, 2, n)
    s = rng.choice(["LR", "SR", "HR"], n)
    num = 0.0
    var = 0.0
    obs = np.zeros(2)
    exp = np.zeros(2)
    for level in np.unique(s):
        m = s == level
        one = logrank(t[m], e[m], g[m])
        o_e = one.table["observed"].iloc[0] - one.table["expected"].iloc[0]
        num += o_e
        var += o_e**2 / one.statistic  # two groups: chi2 = (O - E)^2 / V
        obs += one.table["observed"].to_numpy()
        exp += one.table["expected"].to_numpy()
    res = logrank_stratified(t, e, g, s)
    assert res.statistic == pytest.approx(num**2 / var, rel=1e-10)
    assert res.dof == 1
    np.testing.assert_allclose(res.table["observed"], obs)
    np.testing.assert_allclose(res.table["expected"], exp, rtol=1e-12)
    same = logrank(t, e, g, strata=s)
    assert same.statistic == res.statistic
    # ignoring the strata gives a different test
    assert logrank(t, e, g).statistic != pytest.approx(res.statistic, rel=1e-6)


# ---------------------------------------------------------------------------
# Cox: closed forms and score equations


def test_cox_closed_form_three_patients() -> None:
    # (x=1, t=1, event), (x=0, t=2, event), (x=1, t=3, censored); u = exp(beta)
    # L = u/(2u + 1) * 1/(1 + u);  score 1 - 2u/(2u+1) - u/(1+u) = 0
    #   <=> 1/(2u+1) = u/(1+u) <=> u^2 = 1/2 -> HR = 1/sqrt(2)
    # information 2u/(2u+1)^2 + u/(1+u)^2 = 2 sqrt2/(3 + 2 sqrt2) = 6 sqrt2 - 8
    f = pd.DataFrame({"t": [1, 2, 3], "e": [1, 1, 0], "x": [1, 0, 1]})
    row = cox(f, "t", "e", ["x"]).loc["x"]
    beta = math.log(1 / math.sqrt(2))
    se = 1 / math.sqrt(6 * math.sqrt(2) - 8)
    assert row["method"] == "ml"
    assert row["hr"] == pytest.approx(1 / math.sqrt(2), rel=1e-9)
    assert row["se"] == pytest.approx(se, rel=1e-8)
    assert row["ci_lower"] == pytest.approx(math.exp(beta - Z95 * se), rel=1e-8)
    assert row["ci_upper"] == pytest.approx(math.exp(beta + Z95 * se), rel=1e-8)
    assert row["p_value"] == pytest.approx(2 * stats.norm.sf(abs(beta) / se), rel=1e-8)


def test_cox_closed_form_quadratic() -> None:
    # x = 0, 1, 0, 1 at t = 1..4, the last censored:
    # L = 1/(2 + 2u) * u/(1 + 2u) * 1/(1 + u)
    # score 1 - 2u/(1+u) - 2u/(1+2u) = 0  <=>  4u^2 + u - 1 = 0  ->  u = (sqrt17 - 1)/8
    fit = cox_fit([[0], [1], [0], [1]], [1, 2, 3, 4], [1, 1, 1, 0])
    assert fit.method == "ml"
    assert float(np.exp(fit.coef[0])) == pytest.approx((math.sqrt(17) - 1) / 8, rel=1e-9)


def test_cox_binary_no_ties_solves_score_equation() -> None:
    rng = np.random.default_rng(3)
    n = 60
    x = rng.integers(0, 2, n)
    t = rng.permutation(n) + 1.0  # distinct times
    e = rng.integers(0, 2, n)
    e[:4] = 1
    row = cox(pd.DataFrame({"t": t, "e": e, "x": x}), "t", "e", ["x"]).loc["x"]
    u = float(row["hr"])
    # at each event time: n1 e^b / (n0 + n1 e^b) = p; U = sum(x_i - p), I = sum p (1 - p)
    score = info = 0.0
    for ti in t[e == 1]:
        risk = t >= ti
        n1 = float(x[risk].sum())
        n0 = float(risk.sum()) - n1
        p = n1 * u / (n0 + n1 * u)
        score += float(x[t == ti][0]) - p
        info += p * (1 - p)
    assert abs(score) < 1e-9
    assert row["se"] == pytest.approx(1 / math.sqrt(info), rel=1e-9)


def _tied_frame(seed: int, n: int = 80) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    z = rng.integers(0, 2, n)
    return pd.DataFrame(
        {
            # whole months (many ties), log hazard ratios 0.5 for x and 0.7 for z
            "t": np.ceil(rng.exponential(6, n) * np.exp(-0.5 * x - 0.7 * z)),
            "e": (rng.uniform(size=n) < 0.7).astype(int),
            "x": x,
            "z": z,
            "w": rng.uniform(0, 2, n),
        }
    )


def _untied_frame(seed: int, n: int = 70) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "t": rng.permutation(n) + rng.uniform(0.01, 0.5),
            "e": (rng.uniform(size=n) < 0.7).astype(int),
            "x": rng.normal(size=n),
            "z": rng.integers(0, 2, n),
            "cl": np.arange(n) // 3,
        }
    )


def test_efron_equals_breslow_without_ties_and_differs_with_ties() -> None:
    f = _untied_frame(5)
    a = cox(f, "t", "e", ["x", "z"], ties="efron")
    b = cox(f, "t", "e", ["x", "z"], ties="breslow")
    np.testing.assert_allclose(a["hr"], b["hr"], rtol=1e-10)
    np.testing.assert_allclose(a["se"], b["se"], rtol=1e-10)
    g = _tied_frame(5)
    assert g.loc[g["e"] == 1, "t"].duplicated().sum() > 10
    for covs in (["x", "z"], ["z"]):  # the general path and the two-valued fast path
        a = cox(g, "t", "e", covs, ties="efron")
        b = cox(g, "t", "e", covs, ties="breslow")
        assert np.all(np.abs(np.log(a["hr"] / b["hr"])) > 1e-4)
        # Breslow estimates are typically attenuated towards 1
        assert np.all(np.abs(np.log(b["hr"])) < np.abs(np.log(a["hr"])))


def _breslow_loglik(beta: FloatArray, x: FloatArray, t: FloatArray, e: FloatArray) -> float:
    """Breslow log partial likelihood, one risk set per death, written plainly."""
    ll = 0.0
    for i in range(t.size):
        if e[i]:
            risk = t >= t[i]
            ll += float(x[i] @ beta) - math.log(float(np.sum(np.exp(x[risk] @ beta))))
    return ll


def test_breslow_estimate_maximises_brute_force_breslow_likelihood() -> None:
    g = _tied_frame(8, n=50)
    x = g[["x", "z"]].to_numpy(dtype=float)
    t, e = g["t"].to_numpy(dtype=float), g["e"].to_numpy(dtype=float)
    table = cox(g, "t", "e", ["x", "z"], ties="breslow")
    beta = np.log(table["hr"].to_numpy())
    h = 1e-5
    grad = [
        (_breslow_loglik(beta + h * d, x, t, e) - _breslow_loglik(beta - h * d, x, t, e)) / (2 * h)
        for d in np.eye(2)
    ]
    assert np.abs(grad).max() < 1e-6
    info = -numerical_hessian(lambda b: _breslow_loglik(b, x, t, e), beta, h=0.03)
    np.testing.assert_allclose(table["se"], np.sqrt(np.diag(np.linalg.inv(info))), rtol=1e-6)


# ---------------------------------------------------------------------------
# Cox vs lifelines

LIFELINES_OPTIONS = {"precision": 1e-12, "r_precision": 1e-15, "max_steps": 200}


def _lifelines(frame: pd.DataFrame, **kwargs: object) -> object:
    lifelines = pytest.importorskip("lifelines")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lifelines.CoxPHFitter().fit(frame, "t", "e", fit_options=LIFELINES_OPTIONS, **kwargs)


@pytest.mark.parametrize("covs", [["x", "z", "w"], ["z"], ["x"]])
def test_plain_cox_matches_lifelines_efron_with_ties(covs: list[str]) -> None:
    g = _tied_frame(21)
    assert g["t"].duplicated().sum() > 20
    ref = _lifelines(g[["t", "e", *covs]])
    ours = cox(g, "t", "e", covs)
    assert (ours["method"] == "ml").all()
    np.testing.assert_allclose(ours["hr"], np.exp(ref.params_[covs]), rtol=1e-6)  # type: ignore[attr-defined]
    np.testing.assert_allclose(ours["se"], ref.standard_errors_[covs], rtol=1e-6)  # type: ignore[attr-defined]
    np.testing.assert_allclose(ours["p_value"], ref.summary.loc[covs, "p"], rtol=1e-5)  # type: ignore[attr-defined]


@pytest.mark.parametrize("covs", [["x", "z"], ["z"]])
def test_robust_se_without_ties_matches_lifelines_cluster(covs: list[str]) -> None:
    f = _untied_frame(13)
    ref = _lifelines(f[["t", "e", "cl", *covs]], cluster_col="cl", robust=True)
    ours = cox(f, "t", "e", covs, cluster="cl")
    assert (ours["method"] == "ml-robust").all()
    np.testing.assert_allclose(ours["hr"], np.exp(ref.params_[covs]), rtol=1e-6)  # type: ignore[attr-defined]
    np.testing.assert_allclose(ours["se"], ref.standard_errors_[covs], rtol=1e-6)  # type: ignore[attr-defined]
    # the robust SE is not the model-based one
    plain = cox(f, "t", "e", covs)
    assert np.all(np.abs(ours["se"] / plain["se"] - 1) > 1e-3)


def test_robust_se_singleton_clusters_matches_lifelines_robust() -> None:
    f = _untied_frame(17).assign(id=lambda d: [f"p{i}" for i in range(len(d))])
    ref = _lifelines(f[["t", "e", "x", "z"]], robust=True)
    ours = cox(f, "t", "e", ["x", "z"], cluster="id")
    np.testing.assert_allclose(ours["se"], ref.standard_errors_[["x", "z"]], rtol=1e-6)  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------
# Firth (monotone likelihood) and degenerate fits
#
# Ten patients per arm, no event at all in arm 1; tied times in both arms so the
# Breslow handling (as coxphf) matters.

FIRTH = pd.DataFrame(
    {
        "t": [2, 3, 3, 5, 6, 7, 8, 8, 10, 12, 4, 6, 9, 11, 12, 13, 15, 15, 16, 18],
        "e": [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        "arm": [0] * 10 + [1] * 10,
        "age": [3, 5, 2, 8, 6, 4, 9, 1, 7, 5, 6, 2, 4, 8, 3, 5, 7, 1, 9, 6],
    }
)


def _penalised(beta: FloatArray, x: FloatArray) -> float:
    """Firth's penalised Breslow log partial likelihood, l(b) + 0.5 log det I(b)."""
    t = FIRTH["t"].to_numpy(dtype=float)
    e = FIRTH["e"].to_numpy(dtype=float)

    def ll(b: FloatArray) -> float:
        return _breslow_loglik(b, x, t, e)

    info = -numerical_hessian(ll, np.asarray(beta, dtype=float), h=0.03)
    return ll(np.asarray(beta, dtype=float)) + 0.5 * math.log(float(np.linalg.det(info)))


def test_firth_when_an_arm_has_no_events() -> None:
    row = cox(FIRTH, "t", "e", ["arm"]).loc["arm"]
    assert row["method"] == "firth"
    assert 0 < row["ci_lower"] < row["hr"] < row["ci_upper"] < 1
    assert np.isfinite([row["hr"], row["ci_lower"], row["ci_upper"], row["se"]]).all()
    assert row["hr"] > 1e-3  # shrunk away from the infinite ML estimate
    assert 0 < row["p_value"] < 0.05
    # firth=False keeps the (diverging) ordinary fit; it must not be reported as Firth
    with np.errstate(over="ignore"):  # exp of a huge upper limit
        plain = cox(FIRTH, "t", "e", ["arm"], firth=False).loc["arm"]
    assert plain["method"] != "firth"
    assert plain["hr"] < row["hr"]


def test_firth_estimate_maximises_penalised_likelihood() -> None:
    x = FIRTH[["arm"]].to_numpy(dtype=float)
    row = cox(FIRTH, "t", "e", ["arm"]).loc["arm"]
    beta = math.log(row["hr"])
    opt = optimize.minimize_scalar(
        lambda b: -_penalised(np.array([b]), x), bracket=(beta - 1, beta + 1), tol=1e-12
    )
    # the finite-difference information limits the brute force to ~1e-6
    assert opt.x == pytest.approx(beta, abs=1e-5)
    lmax = _penalised(np.array([beta]), x)
    assert lmax >= _penalised(np.array([beta - 1e-3]), x)
    assert lmax >= _penalised(np.array([beta + 1e-3]), x)
    # profile (here: penalised) likelihood interval: 2 (lmax - l(b)) = chi2_1(0.95)
    for end in (row["ci_lower"], row["ci_upper"]):
        gap = 2 * (lmax - _penalised(np.array([math.log(end)]), x))
        assert gap == pytest.approx(CHI2_95, abs=1e-6)
    # penalised likelihood-ratio p-value
    lr = 2 * (lmax - _penalised(np.array([0.0]), x))
    assert row["p_value"] == pytest.approx(stats.chi2.sf(lr, 1), rel=1e-5)


def test_firth_two_covariates_profile_interval() -> None:
    x = FIRTH[["arm", "age"]].to_numpy(dtype=float)
    table = cox(FIRTH, "t", "e", ["arm", "age"])
    assert (table["method"] == "firth").all()
    beta = np.log(table["hr"].to_numpy())
    opt = optimize.minimize(
        lambda b: -_penalised(b, x),
        x0=beta + 0.05,
        method="Nelder-Mead",
        options={"xatol": 1e-8, "fatol": 1e-12, "maxiter": 2000},
    )
    np.testing.assert_allclose(opt.x, beta, atol=1e-4)
    lmax = _penalised(beta, x)

    def profile(b: float) -> float:
        inner = optimize.minimize_scalar(
            lambda g: -_penalised(np.array([b, g]), x), bracket=(beta[1] - 0.3, beta[1] + 0.3)
        )
        return -float(inner.fun)

    for end in (num(table.loc["arm", "ci_lower"]), num(table.loc["arm", "ci_upper"])):
        assert 2 * (lmax - profile(math.log(end))) == pytest.approx(CHI2_95, abs=1e-5)


def test_not_estimable_without_events() -> None:
    table = cox(FIRTH.assign(e=0), "t", "e", ["arm", "age"])
    assert (table["method"] == "not estimable").all()
    assert table["hr"].isna().all()


def test_no_information_at_the_event_times_is_not_estimable() -> None:
    # Both deaths (t = 0.5) happen when only the two dying patients, with the same x,
    # are still at risk: every risk set is constant in x, the information is 0 and
    # the likelihood is flat. coxph reports NA; a zero SE with HR 1 (1 to 1) is wrong.
    f = pd.DataFrame(
        {
            "t": [0.5, 0.5, 0, 0, 0, 0],
            "e": [1, 1, 0, 0, 0, 0],
            "x": [-2.4, -2.4, 1.5, 1.5, -2.9, 1.5],
        }
    )
    for kwargs in ({}, {"cluster": "id"}):
        table = cox(f.assign(id=range(6)), "t", "e", ["x"], **kwargs)  # type: ignore[arg-type]
        assert table.loc["x", "method"] == "not estimable"
        assert np.isnan(
            one_row(table, "x")[["hr", "se", "ci_lower", "ci_upper"]].astype(float)
        ).all()


def test_constant_and_collinear_covariates_do_not_raise() -> None:
    g = _tied_frame(4).assign(const=1.0)
    g["x2"] = 2 * g["x"]
    g["notz"] = 1 - g["z"]
    alone = cox(g, "t", "e", ["x"]).loc["x"]
    for extra in (["const"], ["x2"]):
        table = cox(g, "t", "e", ["x", *extra])
        assert table.loc["x", "hr"] == pytest.approx(alone["hr"], rel=1e-9)
        assert table.loc["x", "se"] == pytest.approx(alone["se"], rel=1e-9)
        assert table.loc[extra[0], "method"] == "not estimable"
        assert math.isnan(num(table.loc[extra[0], "hr"]))
    table = cox(g, "t", "e", ["z", "notz"])
    assert table.loc["z", "method"] == "ml"
    assert table.loc["notz", "method"] == "not estimable"
    only_const = cox(g, "t", "e", ["const"])
    assert (only_const["method"] == "not estimable").all()


def test_a_filtered_table_cannot_lend_its_standard_errors_to_other_rows() -> None:
    km = kaplan_meier([1, 2, 3, 4, 5], [1, 0, 1, 1, 0])
    whole = survival_at(km, 3.5)
    assert whole.std_err > 0
    # the same rows, copied: still theirs
    assert survival_at(km.copy(), 3.5) == whole
    # fewer rows: the per-row errors would be read off the wrong rows
    with pytest.raises(InputError, match="filtered or changed after kaplan_meier"):
        survival_at(km[km["n_events"] > 0], 3.5)
    with pytest.raises(InputError, match="filtered or changed"):
        survival_at(km.iloc[::-1].sort_values("time").assign(time=km["time"] + 1), 3.5)


@settings(max_examples=100)
@given(
    rows=st.lists(
        st.tuples(st.integers(1, 6), st.booleans(), st.integers(0, 1), st.integers(0, 3)),
        min_size=4,
        max_size=30,
    )
)
def test_stratified_log_rank_sums_the_strata(rows: list[tuple[int, bool, int, int]]) -> None:
    """survdiff(... + strata(s)): O, E and V are the sums of each stratum's own."""
    t = np.array([r[0] for r in rows], dtype=float)
    e = np.array([r[1] for r in rows], dtype=int)
    g = np.array([r[2] for r in rows])
    s = np.array([r[3] for r in rows])
    assume(len(set(g.tolist())) == 2)
    try:
        both = logrank(t, e, g, strata=s)
    except InputError:
        return  # a singular variance: survdiff stops too
    obs = np.zeros(2)
    exp = np.zeros(2)
    for level in np.unique(s):
        sel = s == level
        if len(set(g[sel].tolist())) < 2:  # one group: its O = E, nothing to add but counts
            obs[g[sel][0]] += e[sel].sum()
            exp[g[sel][0]] += e[sel].sum()
            continue
        try:
            own = logrank(t[sel], e[sel], g[sel])
        except InputError:
            return
        obs += own.table["observed"].to_numpy()
        exp += own.table["expected"].to_numpy()
    np.testing.assert_allclose(both.table["observed"].to_numpy(), obs, rtol=1e-12)
    np.testing.assert_allclose(both.table["expected"].to_numpy(), exp, rtol=1e-12, atol=1e-12)

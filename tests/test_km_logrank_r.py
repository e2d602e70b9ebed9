"""Kaplan-Meier (plain and weighted), medians, quantiles and log-rank against R.

The inputs are ``tests/data/km_cases.csv`` and ``tests/data/km_logrank.csv``; the
numbers in ``tests/data/km.expected.json`` come from survival 3.5-3 (script:
``tests/data/make_km_reference.R``): ``survfit`` tables with ``std.err`` and the
three interval types, ``summary(fit)$table`` medians, ``quantile.survfit``,
``summary(fit, times=)`` and ``survdiff``. Every number is checked to 1e-6
relative, ``NA`` as ``NaN``. Hypothesis properties at the end check the same
rules on data R has not seen (integer weights are replicated rows, scaling
weights, the jackknife against ``survfitkm``'s own loop, the median's range,
``timefix``, and groups without expected events in the log-rank test).
"""

from __future__ import annotations

import json
import math
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from blinastudy.core.errors import InputError
from blinastudy.stats.survival import (
    kaplan_meier,
    logrank,
    median_survival,
    quantile_survival,
    survival_at,
)
from blinastudy.stats.survival.km import ConfType
from blinastudy.stats.survival.timefix import timefix
from tests._reference import DATA, KM_FIELDS, REL, assert_r

CONF_TYPES: list[ConfType] = ["log-log", "log", "plain"]


@cache
def expected() -> dict[str, Any]:
    out: dict[str, Any] = json.loads((DATA / "km.expected.json").read_text())
    return out


@cache
def km_inputs() -> pd.DataFrame:
    # round_trip: the near-equal times differ in their last bits
    return pd.read_csv(DATA / "km_cases.csv", float_precision="round_trip")


@cache
def logrank_inputs() -> pd.DataFrame:
    return pd.read_csv(
        DATA / "km_logrank.csv",
        float_precision="round_trip",
        dtype={"group": str, "stratum": str},
        keep_default_na=False,
    )


def km_case(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    rows = km_inputs()[km_inputs()["case"] == name]
    w = rows["weight"].to_numpy(dtype=float)
    return (
        rows["time"].to_numpy(dtype=float),
        rows["event"].to_numpy(dtype=int),
        None if np.isnan(w).all() else w,
    )


KM_CASES = list(expected()["km"])
WEIGHTED_CASES = [c for c in KM_CASES if km_case(c)[2] is not None]


def fit(name: str, conf_type: ConfType) -> pd.DataFrame:
    t, e, w = km_case(name)
    return kaplan_meier(t, e, weights=w, conf_type=conf_type)


@pytest.mark.parametrize("conf_type", CONF_TYPES)
@pytest.mark.parametrize("name", KM_CASES)
def test_km_table_and_std_err_as_survfit(name: str, conf_type: ConfType) -> None:
    ref = expected()["km"][name][conf_type]
    km = fit(name, conf_type)
    for field in KM_FIELDS:
        assert_r(km[field], ref[field], f"{name} {conf_type} {field}")
    assert_r(km.attrs["std_err"], ref["std_err"], f"{name} {conf_type} std.err")
    assert km.attrs["logse"] is ref["logse"]
    assert km.attrs["n"] == ref["n"]


@pytest.mark.parametrize("conf_type", CONF_TYPES)
@pytest.mark.parametrize("name", KM_CASES)
def test_median_as_summary_table(name: str, conf_type: ConfType) -> None:
    ref = expected()["km"][name][conf_type]
    med = median_survival(fit(name, conf_type))
    assert_r(med.quantile, ref["median"], f"{name} median")
    assert_r(med.ci_lower, ref["median_lower"], f"{name} median LCL")
    assert_r(med.ci_upper, ref["median_upper"], f"{name} median UCL")


@pytest.mark.parametrize("conf_type", CONF_TYPES)
@pytest.mark.parametrize("name", KM_CASES)
def test_quantiles_as_quantile_survfit(name: str, conf_type: ConfType) -> None:
    ref = expected()["km"][name][conf_type]
    km = fit(name, conf_type)
    got = [quantile_survival(km, p) for p in ref["probs"]]
    assert_r([g.quantile for g in got], ref["quantile"], f"{name} quantile")
    assert_r([g.ci_lower for g in got], ref["quantile_lower"], f"{name} quantile lower")
    assert_r([g.ci_upper for g in got], ref["quantile_upper"], f"{name} quantile upper")


@pytest.mark.parametrize("conf_type", CONF_TYPES)
@pytest.mark.parametrize("name", KM_CASES)
def test_survival_at_as_summary_times(name: str, conf_type: ConfType) -> None:
    ref = expected()["km"][name][conf_type]
    km = fit(name, conf_type)
    got = [survival_at(km, t) for t in ref["at_times"]]
    assert_r([g.survival for g in got], ref["at_survival"], f"{name} surv")
    assert_r([g.std_err for g in got], ref["at_std_err"], f"{name} std.err")
    assert_r([g.ci_lower for g in got], ref["at_lower"], f"{name} lower")
    assert_r([g.ci_upper for g in got], ref["at_upper"], f"{name} upper")
    assert_r([g.n_at_risk for g in got], ref["at_n_risk"], f"{name} n.risk")


@pytest.mark.parametrize("name", ["timefix_months", "w_timefix"])
def test_timefix_matters_and_matches_r(name: str) -> None:
    # R ties times a rounding error apart (days / 365.25 * 12 vs days / (365.25 / 12));
    # without that the table has more rows and another curve.
    t = km_case(name)[0]
    ref = expected()["km"][name]
    raw = ref["no_timefix"]
    assert np.unique(t).size == len(raw["time"]) > len(ref["log"]["time"])
    km = fit(name, "log")
    assert len(km) == len(ref["log"]["time"])
    # the untied curve differs from R's by far more than the tolerance
    untied = pd.Series(raw["survival"], index=raw["time"])
    tied = km.set_index("time")["survival"]
    diff = (untied - tied.reindex(untied.index, method="ffill")).abs().max()
    assert diff > 1e-3


def test_weights_scaled_keep_the_jackknife_std_err() -> None:
    # R: multiplying non-integer weights by a constant changes counts, not S or its SE
    a, b = expected()["km"]["w_fraction"]["log"], expected()["km"]["w_fraction_scaled"]["log"]
    np.testing.assert_allclose(a["std_err"], b["std_err"], rtol=1e-12)
    np.testing.assert_allclose(np.array(a["n_at_risk"]) * 3.7, b["n_at_risk"], rtol=1e-12)
    ours_a, ours_b = fit("w_fraction", "log"), fit("w_fraction_scaled", "log")
    np.testing.assert_allclose(ours_a.attrs["std_err"], ours_b.attrs["std_err"], rtol=1e-12)
    np.testing.assert_allclose(ours_a["survival"], ours_b["survival"], rtol=1e-14)


def test_reference_covers_both_variances() -> None:
    logse = {c: expected()["km"][c]["log"]["logse"] for c in WEIGHTED_CASES}
    assert {True, False} <= set(logse.values())
    assert not any(not expected()["km"][c]["log"]["logse"] for c in KM_CASES if c not in logse)


# --------------------------------------------------------------------------- log-rank


def lr_case(name: str) -> dict[str, Any]:
    rows = logrank_inputs()[logrank_inputs()["case"] == name]
    strata = rows["stratum"].to_numpy()
    return {
        "durations": rows["time"].to_numpy(dtype=float),
        "events": rows["event"].to_numpy(dtype=int),
        "groups": rows["group"].to_numpy(),
        "strata": None if (strata == "").all() else strata,
    }


LR_CASES = list(expected()["logrank"])


@pytest.mark.parametrize("name", LR_CASES)
def test_logrank_as_survdiff(name: str) -> None:
    ref = expected()["logrank"][name]
    if ref["error"]:
        with pytest.raises(InputError, match="singular"):
            logrank(**lr_case(name))
        return
    res = logrank(**lr_case(name))
    assert res.table.index.tolist() == ref["groups"]
    assert res.table["n"].tolist() == ref["n"]
    assert_r(res.table["observed"], ref["observed"], f"{name} observed")
    assert_r(res.table["expected"], ref["expected"], f"{name} expected")
    assert res.dof == ref["dof"]
    if ref["statistic"] == 0:
        assert res.statistic == 0.0
    else:
        assert res.statistic == pytest.approx(ref["statistic"], rel=REL)
    assert_r(res.p_value, ref["p_value"], f"{name} p")


def test_logrank_timefix_matters() -> None:
    ref = expected()["logrank"]["timefix_two_groups"]
    assert abs(ref["no_timefix_statistic"] - ref["statistic"]) > 0.1
    res = logrank(**lr_case("timefix_two_groups"))
    assert res.statistic == pytest.approx(ref["statistic"], rel=REL)
    assert not math.isclose(res.statistic, ref["no_timefix_statistic"], rel_tol=1e-3)


# --------------------------------------------------------------------------- properties
#
# Hypothesis checks of the same rules on data R has not seen.

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def weighted_data(draw: st.DrawFn, integer: bool) -> tuple[Any, Any, Any]:
    n = draw(st.integers(1, 30))
    times = np.array(draw(st.lists(st.integers(0, 10), min_size=n, max_size=n)), dtype=float)
    events = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    if integer:
        weights = np.array(draw(st.lists(st.integers(0, 4), min_size=n, max_size=n)), dtype=float)
    else:
        eighths = st.integers(0, 40).map(lambda k: k / 8)
        weights = np.array(draw(st.lists(eighths, min_size=n, max_size=n)), dtype=float)
    assume(weights.sum() > 0)
    return times * draw(st.sampled_from([1.0, 0.25, 7.5])), events, weights


def survfitkm_loop_std_err(t: Any, e: Any, w: Any) -> np.ndarray:
    """survfitkm's infinitesimal-jackknife loop (type 1, one cluster per row), step by step."""
    times = np.unique(t)
    inf = np.zeros(t.size)
    km, out, v = 1.0, [], 0.0
    for u in times:
        at = u == t
        r, d = w[t >= u].sum(), (w * e)[at].sum()
        if (e[at] == 1).any() and d > 0:
            haz = d / r
            inf = inf * (1 - haz) + np.where(t >= u, w, 0.0) * km * haz / r
            inf = inf - np.where(at & (e == 1), km * w / r, 0.0)
            km *= 1 - haz
            v = float((inf**2).sum())
        out.append(math.sqrt(v))
    return np.array(out)


@SETTINGS
@given(data=weighted_data(integer=True))
def test_integer_weights_equal_replicated_rows(data: tuple[Any, Any, Any]) -> None:
    t, e, w = data
    km = kaplan_meier(t, e, weights=w)
    reps = w.astype(int)
    assume(reps.sum() > 0)
    rows = kaplan_meier(np.repeat(t, reps), np.repeat(e, reps))
    # times carried only by zero-weight rows stay in the weighted table, with nothing in them
    kept = km["time"].isin(rows["time"]).to_numpy()
    assert (km.loc[~kept, ["n_events", "n_censored"]].to_numpy() == 0).all()
    same = km[kept].reset_index(drop=True)
    for col in KM_FIELDS:
        np.testing.assert_allclose(same[col], rows[col], rtol=1e-12, err_msg=col)
    np.testing.assert_allclose(km.attrs["std_err"][kept], rows.attrs["std_err"], rtol=1e-12)
    assert km.attrs["logse"] and rows.attrs["logse"]


@SETTINGS
@given(data=weighted_data(integer=False), c=st.sampled_from([0.3, 1.7, 3.7]))
def test_scaled_fractional_weights_keep_s_and_the_jackknife_se(
    data: tuple[Any, Any, Any], c: float
) -> None:
    t, e, w = data
    assume((w != np.floor(w)).any() and (c * w != np.floor(c * w)).any())
    a, b = kaplan_meier(t, e, weights=w), kaplan_meier(t, e, weights=c * w)
    assert not a.attrs["logse"] and not b.attrs["logse"]
    np.testing.assert_allclose(a["survival"], b["survival"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(a.attrs["std_err"], b.attrs["std_err"], rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(a["n_at_risk"] * c, b["n_at_risk"], rtol=1e-12)


@SETTINGS
@given(data=weighted_data(integer=True), c=st.integers(2, 5))
def test_scaled_whole_weights_shrink_the_greenwood_se(data: tuple[Any, Any, Any], c: int) -> None:
    # Greenwood on weighted counts: c times the weights is c times the data, so the
    # variance of log S is divided by c
    t, e, w = data
    a, b = kaplan_meier(t, e, weights=w), kaplan_meier(t, e, weights=c * w)
    np.testing.assert_allclose(a["survival"], b["survival"], rtol=1e-12, atol=1e-15)
    finite = np.isfinite(a.attrs["std_err"])
    np.testing.assert_allclose(
        a.attrs["std_err"][finite] / math.sqrt(c), b.attrs["std_err"][finite], rtol=1e-9
    )


@SETTINGS
@given(data=weighted_data(integer=False))
def test_jackknife_closed_form_equals_survfitkm_loop(data: tuple[Any, Any, Any]) -> None:
    t, e, w = data
    assume((w != np.floor(w)).any())
    km = kaplan_meier(t, e, weights=w)
    np.testing.assert_allclose(
        km.attrs["std_err"], survfitkm_loop_std_err(t, e, w), rtol=1e-9, atol=1e-14
    )


@SETTINGS
@given(
    data=st.one_of(weighted_data(integer=True), weighted_data(integer=False)),
    conf_type=st.sampled_from(CONF_TYPES),
)
def test_median_lies_between_first_and_last_event(
    data: tuple[Any, Any, Any], conf_type: ConfType
) -> None:
    t, e, w = data
    km = kaplan_meier(t, e, weights=w, conf_type=conf_type)
    med = median_survival(km)
    events = t[(e == 1) & (w > 0)]
    if math.isnan(med.quantile):
        assert (km["survival"] > 0.5 - 1e-8).all()
        return
    assert events.min() <= med.quantile <= events.max()
    for limit in (med.ci_lower, med.ci_upper):
        assert math.isnan(limit) or events.min() <= limit <= events.max()


@SETTINGS
@given(
    values=st.lists(
        st.floats(0, 1000, allow_nan=False).map(lambda v: round(v, 2)), min_size=1, max_size=30
    ),
    days=st.lists(st.integers(1, 10_000), min_size=1, max_size=10),
)
def test_timefix_is_idempotent_and_ties_only_rounding_noise(
    values: list[float], days: list[int]
) -> None:
    d = np.array(days, dtype=float)
    a, b = d / 365.25 * 12, d / (365.25 / 12)
    x = np.concatenate([np.array(values), a, b])
    (once,) = timefix(x)
    (twice,) = timefix(once)
    np.testing.assert_array_equal(once, twice)
    # the two conversions of the same day become one time
    np.testing.assert_array_equal(once[len(values) : len(values) + d.size], once[-d.size :])
    # times further apart than 1e-6 of the largest time (and than 1e-6 absolutely) stay apart
    distinct = np.unique(x)
    far = np.r_[True, np.diff(distinct) > 1e-6 * max(1.0, float(distinct[-1]))]
    kept = np.unique(once)
    assert np.isin(distinct[far], kept).all()
    assert kept.size >= far.sum()


@st.composite
def censored_group(draw: st.DrawFn) -> tuple[Any, Any, Any]:
    t, e, _ = draw(weighted_data(integer=True))
    g = np.array(draw(st.lists(st.integers(0, 1), min_size=t.size, max_size=t.size)))
    assume(np.unique(g).size == 2 and e.sum() > 0)
    return t, e, g


@SETTINGS
@given(data=censored_group())
def test_logrank_ignores_a_group_censored_before_the_first_event(
    data: tuple[Any, Any, Any],
) -> None:
    # a third group whose members are all censored before the first event has E = 0:
    # it changes neither the statistic nor the degrees of freedom
    t, e, g = data
    first = float(t[e == 1].min())
    assume(first > 0)
    try:
        two = logrank(t, e, g)
    except InputError:
        with pytest.raises(InputError, match="singular"):
            logrank(np.r_[t, first / 2, first / 3], np.r_[e, 0, 0], np.r_[g, 2, 2])
        return
    three = logrank(np.r_[t, first / 2, first / 3], np.r_[e, 0, 0], np.r_[g, 2, 2])
    assert three.dof == two.dof
    assert three.statistic == pytest.approx(two.statistic, rel=1e-9, abs=1e-12)
    assert three.p_value == pytest.approx(two.p_value, rel=1e-9, abs=1e-12)
    assert 0.0 <= three.p_value <= 1.0

"""Cumulative incidence and Gray's test against R's cmprsk 2.2-11, by hand, and by properties.

The inputs are ``tests/data/cmprsk_*.csv``; the numbers in
``tests/data/cmprsk.expected.json`` come from ``cuminc`` (script:
``tests/data/make_cmprsk_reference.R``): ``est`` and ``var`` read by
``timepoints`` at every distinct time, for every cause, and ``$Tests`` for
groups with and without strata. Every number is checked to 1e-6 relative.
"""

from __future__ import annotations

import json
import math
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from blinastudy.core.errors import InputError
from blinastudy.stats.survival import cumulative_incidence, gray_test, kaplan_meier
from blinastudy.stats.survival.timefix import timefix
from tests._reference import DATA, as_list, assert_r

MAIN_CASES = ("synthetic", "transplant", "mgus2")


@cache
def expected() -> dict[str, Any]:
    out: dict[str, Any] = json.loads((DATA / "cmprsk.expected.json").read_text())
    return out


@cache
def dataset(case: str) -> pd.DataFrame:
    """One reference data set: the three main ones by name, else a case of the edge file."""
    if case in MAIN_CASES:
        return pd.read_csv(DATA / f"cmprsk_{case}.csv", float_precision="round_trip")
    edge = pd.read_csv(DATA / "cmprsk_edge.csv", float_precision="round_trip")
    return edge[edge["case"] == case].reset_index(drop=True)


# ---------------------------------------------------------------------------
# against R


CUMINC_CASES = [
    (case, int(cause))
    for case, ref in expected()["cuminc"].items()
    for cause in as_list(ref["causes"])
]


@pytest.mark.parametrize(("case", "cause"), CUMINC_CASES)
def test_incidence_and_variance_as_cuminc(case: str, cause: int) -> None:
    ref = expected()["cuminc"][case]
    d = dataset(case)
    ci = cumulative_incidence(d["time"], d["cause"], cause=cause)
    assert_r(ci["time"], ref["time"], f"{case} times")
    assert_r(ci["incidence"], ref["est"][str(cause)], f"{case} cause {cause} est")
    assert_r(ci["variance"], ref["var"][str(cause)], f"{case} cause {cause} var")
    assert ci["n_at_risk"].iloc[0] == len(d)
    assert ci[["n_events", "n_competing", "n_censored"]].to_numpy().sum() == len(d)
    assert ci["n_events"].sum() == int((d["cause"] == cause).sum())


def test_reference_covers_the_edges() -> None:
    ref = expected()["cuminc"]
    # the cause reaches an incidence of 1
    assert ref["cause_to_one"]["est"]["1"][-1] == 1.0
    # events at time 0
    assert ref["zero_times"]["time"][0] == 0.0
    assert ref["transplant"]["time"][0] == 0.0


def test_near_equal_times_are_not_tied() -> None:
    """``cuminc`` keeps times a few ulps apart as distinct times (no ``aeqSurv``)."""
    d = dataset("near_ties")
    ci = cumulative_incidence(d["time"], d["cause"])
    (tied,) = timefix(d["time"].to_numpy())
    assert len(ci) == d["time"].nunique() > np.unique(tied).size
    assert len(ci) == len(expected()["cuminc"]["near_ties"]["time"])


GRAY_CASES = [
    (i, int(cause)) for i, ref in enumerate(expected()["gray"]) for cause in as_list(ref["causes"])
]


@pytest.mark.parametrize(("index", "cause"), GRAY_CASES)
def test_gray_test_as_cuminc_tests(index: int, cause: int) -> None:
    ref = expected()["gray"][index]
    d = dataset(ref["case"])
    strata = None if ref["strata"] is None else d[ref["strata"]]
    res = gray_test(
        d["time"], d["cause"], d[ref["group"]], cause=cause, strata=strata, rho=ref["rho"]
    )
    k = as_list(ref["causes"]).index(cause)
    what = f"{ref['case']} ~ {ref['group']} | {ref['strata']} rho {ref['rho']} cause {cause}"
    assert_r(res.statistic, as_list(ref["stat"])[k], f"{what}: statistic")
    assert_r(res.p_value, as_list(ref["p"])[k], f"{what}: p")
    # cuminc's own 1 - pchisq agrees to its rounding
    assert abs(res.p_value - as_list(ref["pv"])[k]) < 1e-14
    assert res.dof == as_list(ref["df"])[k]
    assert res.cause == cause
    assert res.n_strata == (1 if strata is None else strata.nunique())
    assert res.note == ""


def test_gray_groups_in_cumincs_order() -> None:
    d = dataset("transplant")
    assert gray_test(d["time"], d["cause"], d["abo"]).groups == ("A", "AB", "B", "O")
    levels = pd.Categorical(d["abo"], categories=["O", "A", "B", "AB"])
    res = gray_test(d["time"], d["cause"], pd.Series(levels))
    assert res.groups == ("O", "A", "B", "AB")
    # the statistic does not depend on which group's score is left out
    ref = expected()["gray"][5]
    assert (ref["case"], ref["group"]) == ("transplant", "abo")
    assert_r(res.statistic, as_list(ref["stat"])[0], "transplant abo, other order")


# ---------------------------------------------------------------------------
# by hand


def test_seven_patients_by_hand() -> None:
    # time   1  2  3  3  4  5  6
    # event  1  2  1  0  1  2  0   (1 relapse, 2 death in remission, 0 censored)
    # S(t-) is the all-cause Kaplan-Meier just before t; F jumps by S(t-) d1 / n:
    #   t=1: n=7, F = 1/7,                      S = 6/7
    #   t=2: n=6, death,                        S = 5/7
    #   t=3: n=5, F = 1/7 + (5/7)(1/5) = 2/7,  S = 4/7 (one censored at 3)
    #   t=4: n=3, F = 2/7 + (4/7)(1/3) = 10/21, S = 8/21
    #   t=5: n=2, death,                        S = 4/21
    # Deaths: 1/7 + (8/21)(1/2) = 1/3, and 10/21 + 1/3 + 4/21 = 1.
    # Variance at t=1 (cinc): fk = 1, fkn = 6/7, t6 = 1/49, t3 = 7/6,
    # t4 = 1 + (7/6)(1/7) = 7/6: v1 = v2 = v3 = 1/36 and
    # V = (1 + F^2 - 2F)/36 = (6/7)^2/36 = 1/49. cuminc records it at events of the
    # cause only, so the death at t=2 leaves it at 1/49.
    t = [1, 2, 3, 3, 4, 5, 6]
    e = [1, 2, 1, 0, 1, 2, 0]
    ci = cumulative_incidence(t, e)
    assert ci["time"].tolist() == [1, 2, 3, 4, 5, 6]
    assert ci["n_at_risk"].tolist() == [7, 6, 5, 3, 2, 1]
    assert ci["n_events"].tolist() == [1, 0, 1, 1, 0, 0]
    assert ci["n_competing"].tolist() == [0, 1, 0, 0, 1, 0]
    assert ci["n_censored"].tolist() == [0, 0, 1, 0, 0, 1]
    np.testing.assert_allclose(
        ci["incidence"], [1 / 7, 1 / 7, 2 / 7, 10 / 21, 10 / 21, 10 / 21], rtol=1e-15
    )
    np.testing.assert_allclose(ci["variance"].iloc[:2], [1 / 49, 1 / 49], rtol=1e-14)
    deaths = cumulative_incidence(t, e, cause=2)
    km = kaplan_meier(t, [int(x > 0) for x in e])
    np.testing.assert_allclose(deaths["incidence"].iloc[-1], 1 / 3, rtol=1e-15)
    np.testing.assert_allclose(km["survival"].iloc[-1], 4 / 21, rtol=1e-15)
    # log(-log) interval at F = 1/7, sd = 1/7: s = 1 / log 7
    z = stats.norm.ppf(0.975)
    assert ci["ci_lower"].iloc[0] == pytest.approx((1 / 7) ** math.exp(z / math.log(7)), rel=1e-12)
    assert ci["ci_upper"].iloc[0] == pytest.approx((1 / 7) ** math.exp(-z / math.log(7)), rel=1e-12)


def test_interval_edges() -> None:
    # before the first relapse F = 0: the interval is [0, 0]
    ci = cumulative_incidence([1, 2, 3, 4], [2, 1, 0, 1])
    assert ci["incidence"].iloc[0] == 0.0
    assert (ci["ci_lower"].iloc[0], ci["ci_upper"].iloc[0]) == (0.0, 0.0)
    # everyone relapses: F reaches 1 and the interval is [1, 1] (R: 1 ^ x = 1)
    one = cumulative_incidence([1, 2, 2, 3, 4], [1, 1, 1, 1, 1])
    assert one["incidence"].iloc[-1] == 1.0
    assert (one["ci_lower"].iloc[-1], one["ci_upper"].iloc[-1]) == (1.0, 1.0)
    inner = one.iloc[:-1]
    assert (inner["ci_lower"] < inner["incidence"]).all()
    assert (inner["incidence"] < inner["ci_upper"]).all()
    # a wider level widens the interval
    wide = cumulative_incidence([1, 2, 2, 3, 4], [1, 1, 1, 1, 1], conf_level=0.99)
    assert (wide["ci_lower"].iloc[:-1] < inner["ci_lower"]).all()


def test_gray_two_patients_by_hand() -> None:
    # One patient per group, relapses at t=1 (a) and t=2 (b). crst at t=1: both at
    # risk, h = (1, 1), tr = 2, tq = 2, pooled F = 1/2; a = [[1/2, -1/2], [-1/2, 1/2]],
    # c = a / 2; score of a = 1 - 1/2 = 1/2. Variance terms at t=1 (t4 = 1 for a,
    # whose S drops to 0, and 1/2 for b; t3 = 1/2 each) and t=2 (only b at risk,
    # t4 = 1, t3 = 1), plus the final c v3 and c v2 terms, add to
    # 1/32 + 9/128 + 1/16 + 3/32 - 1/128 = 1/4: statistic (1/2)^2 / (1/4) = 1.
    res = gray_test([1, 2], [1, 1], ["a", "b"])
    assert res.statistic == pytest.approx(1.0, rel=1e-14)
    assert res.dof == 1
    assert res.p_value == pytest.approx(stats.chi2.sf(1.0, 1), rel=1e-14)


def test_gray_singular_variance_is_nan() -> None:
    # group b is censored before the first relapse: no information about it
    res = gray_test([5, 6, 7, 1, 2], [1, 1, 2, 0, 0], ["a", "a", "a", "b", "b"])
    assert math.isnan(res.statistic) and math.isnan(res.p_value)
    assert "singular" in res.note


# ---------------------------------------------------------------------------
# properties


@st.composite
def competing_data(draw: Any, max_cause: int = 3) -> tuple[list[int], list[int]]:
    """Whole-number times (so Kaplan-Meier's timefix has nothing to tie) and causes."""
    n = draw(st.integers(2, 40))
    times = draw(st.lists(st.integers(0, 15), min_size=n, max_size=n))
    causes = draw(st.lists(st.integers(0, max_cause), min_size=n, max_size=n))
    if all(c == 0 for c in causes):
        causes[0] = 1
    return times, causes


@settings(max_examples=80, deadline=None)
@given(competing_data())
def test_incidences_and_survival_add_to_one(data: tuple[list[int], list[int]]) -> None:
    times, causes = data
    km = kaplan_meier(times, [int(c > 0) for c in causes])
    total = km["survival"].to_numpy().copy()
    for cause in sorted(set(causes) - {0}):
        ci = cumulative_incidence(times, causes, cause=cause)
        np.testing.assert_array_equal(ci["time"], km["time"])
        total += ci["incidence"].to_numpy()
    np.testing.assert_allclose(total, 1.0, rtol=0, atol=1e-12)


@settings(max_examples=80, deadline=None)
@given(competing_data(max_cause=1))
def test_without_competing_events_incidence_is_one_minus_km(
    data: tuple[list[int], list[int]],
) -> None:
    times, causes = data
    ci = cumulative_incidence(times, causes)
    km = kaplan_meier(times, causes)
    np.testing.assert_allclose(ci["incidence"], 1.0 - km["survival"], rtol=0, atol=1e-12)


@settings(max_examples=80, deadline=None)
@given(competing_data(), st.randoms(use_true_random=False))
def test_incidence_is_a_distribution_function_and_ignores_row_order(
    data: tuple[list[int], list[int]], rnd: Any
) -> None:
    times, causes = data
    cause = min(c for c in causes if c > 0)
    ci = cumulative_incidence(times, causes, cause=cause)
    f = ci["incidence"].to_numpy()
    assert (np.diff(f) >= 0).all() and f[0] >= 0 and f[-1] <= 1 + 1e-12
    assert (ci["variance"] >= -1e-15).all()
    assert (ci["ci_lower"] <= f + 1e-15).all() and (f <= ci["ci_upper"] + 1e-15).all()
    order = list(range(len(times)))
    rnd.shuffle(order)
    shuffled = cumulative_incidence(
        [times[i] for i in order], [causes[i] for i in order], cause=cause
    )
    pd.testing.assert_frame_equal(ci, shuffled, check_exact=False, rtol=1e-12)


@settings(max_examples=80, deadline=None)
@given(
    competing_data(),
    st.lists(st.sampled_from("abc"), min_size=40, max_size=40),
    st.lists(st.sampled_from("xy"), min_size=40, max_size=40),
    st.randoms(use_true_random=False),
)
def test_gray_p_in_unit_interval_and_ignores_order_and_labels(
    data: tuple[list[int], list[int]], groups: list[str], strata: list[str], rnd: Any
) -> None:
    times, causes = data
    n = len(times)
    g, s = groups[:n], strata[:n]
    if len(set(g)) < 2:
        g[0], g[-1] = "a", "b"
    cause = min(c for c in causes if c > 0)
    res = gray_test(times, causes, g, cause=cause, strata=s)
    if math.isnan(res.statistic):
        assert res.note
        return
    assert 0.0 <= res.p_value <= 1.0
    assert res.statistic >= -1e-9
    order = list(range(n))
    rnd.shuffle(order)
    again = gray_test(
        [times[i] for i in order],
        [causes[i] for i in order],
        [g[i] for i in order],
        cause=cause,
        strata=[s[i] for i in order],
    )
    assert again.statistic == pytest.approx(res.statistic, rel=1e-8, abs=1e-12)
    # renaming the groups changes which score is left out, not the statistic
    renamed = gray_test(
        times, causes, [{"a": "z", "b": "y", "c": "x"}[v] for v in g], cause=cause, strata=s
    )
    assert renamed.statistic == pytest.approx(res.statistic, rel=1e-7, abs=1e-10)


# ---------------------------------------------------------------------------
# messages


def check_message(exc: pytest.ExceptionInfo[InputError], *parts: str) -> None:
    msg = str(exc.value)
    for part in parts:
        assert part in msg, msg
    assert "np." not in msg and "array(" not in msg, msg


def test_bad_event_codes_are_named() -> None:
    events = pd.Series([1, 0, -1, 2], index=["P1", "P2", "P3", "P4"])
    with pytest.raises(InputError) as exc:
        cumulative_incidence(pd.Series([1.0, 2, 3, 4], index=events.index), events)
    check_message(exc, "patient 'P3' (-1)", "0 (censored) or a cause")
    with pytest.raises(InputError) as exc:
        cumulative_incidence([1, 2, 3], [1, 1.5, 0])
    check_message(exc, "entry 2 (1.5)")
    with pytest.raises(InputError) as exc:
        gray_test([1, 2, 3], [1, "relapse", 0], ["a", "b", "a"])
    check_message(exc, "entry 2 ('relapse')")
    with pytest.raises(InputError) as exc:
        cumulative_incidence([1, 2, 3], [1, np.nan, 0])
    check_message(exc, "entry 2 (missing)")


def test_cause_that_never_occurs() -> None:
    with pytest.raises(InputError) as exc:
        cumulative_incidence([1, 2, 3], [1, 0, 1], cause=2)
    check_message(exc, "cause 2 never occurs", "present are 1")
    with pytest.raises(InputError) as exc:
        gray_test([1, 2, 3], [0, 0, 0], ["a", "b", "a"])
    check_message(exc, "cause 1 never occurs", "present are none")
    # large codes are causes like any other
    big = cumulative_incidence([1, 2, 3], [10**9, 3, 0], cause=10**9)
    assert big["n_events"].tolist() == [1, 0, 0]
    for bad in (0, 1.5, "1", True):
        with pytest.raises(InputError) as exc:
            cumulative_incidence([1, 2], [1, 2], cause=bad)  # type: ignore[arg-type]
        check_message(exc, "cause must be a whole number")


def test_lengths_groups_and_levels() -> None:
    with pytest.raises(InputError) as exc:
        cumulative_incidence([1, 2, 3], [1, 0])
    check_message(exc, "events has 2 values but durations has 3")
    with pytest.raises(InputError) as exc:
        gray_test([1, 2, 3], [1, 0, 1], ["a", "b"])
    check_message(exc, "groups has 2 values but durations has 3")
    with pytest.raises(InputError) as exc:
        gray_test([1, 2, 3], [1, 0, 1], ["a", "a", "a"])
    check_message(exc, "single group ('a')")
    with pytest.raises(InputError) as exc:
        gray_test([1, 2, 3], [1, 0, 1], ["a", None, "b"])
    check_message(exc, "groups has missing values at entry 2")
    with pytest.raises(InputError) as exc:
        gray_test([1, 2, 3], [1, 0, 1], ["a", "b", "a"], strata=["x", "y"])
    check_message(exc, "strata has 2 values")
    with pytest.raises(InputError) as exc:
        cumulative_incidence([1, -2, 3], [1, 0, 1])
    check_message(exc, "negative times at entry 2 (-2)")
    with pytest.raises(InputError) as exc:
        cumulative_incidence([1, 2, 3], [1, 0, 1], conf_level=1.5)
    check_message(exc, "conf_level")

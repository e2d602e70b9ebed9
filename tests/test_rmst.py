"""Restricted mean survival time against R's ``print(survfit(...), rmean = tau)``.

Reference numbers from ``tests/data/make_tdc_reference.R`` (``tdc.expected.json``):
lung (by sex; tau inside the follow-up, at the last time and beyond it), the
heart data with delayed entry, veteran by treatment and left-truncated, and a
weighted curve, compared to 1e-6 relative. Then cases by hand, properties and
messages.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from blinastudy.core.errors import InputError
from blinastudy.stats.survival import kaplan_meier, restricted_mean, rmst_difference, survival_at
from tests._reference import assert_r
from tests.test_tdc import _csv, expected, heart, synth, veteran

LUNG_TAUS = sorted(expected()["rmst"]["lung"], key=float)
HEART_TAUS = sorted(expected()["rmst"]["heart"], key=float)
VET_TAUS = sorted(expected()["rmst"]["veteran"], key=float)


def lung() -> pd.DataFrame:
    return _csv("tdc_lung.csv")


@pytest.mark.parametrize("tau", LUNG_TAUS)
def test_rmst_is_survmean_on_lung(tau: str) -> None:
    ref = expected()["rmst"]["lung"][tau]
    data = lung()
    res = restricted_mean(data["time"], data["status"], float(tau))
    assert_r([res.rmst, res.se], [ref["all"]["rmst"], ref["all"]["se"]], "all")
    assert ref["by_sex"]["strata"] == ["sex=1", "sex=2"]
    for k, sex in enumerate((1, 2)):
        rows = data[data["sex"] == sex]
        one = restricted_mean(rows["time"], rows["status"], float(tau))
        assert_r(
            [one.rmst, one.se], [ref["by_sex"]["rmst"][k], ref["by_sex"]["se"][k]], f"sex {sex}"
        )


@pytest.mark.parametrize("tau", LUNG_TAUS)
def test_rmst_difference_on_lung(tau: str) -> None:
    ref = expected()["rmst"]["lung"][tau]["by_sex"]
    data = lung()
    diff = rmst_difference(data["time"], data["status"], data["sex"], float(tau), reference=1)
    assert (diff.group, diff.reference) == (2, 1)
    want = ref["rmst"][1] - ref["rmst"][0]
    se = math.hypot(ref["se"][0], ref["se"][1])
    z = stats.norm.ppf(0.975)
    assert_r(
        [diff.difference, diff.se, diff.ci_lower, diff.ci_upper, diff.p_value],
        [want, se, want - z * se, want + z * se, 2 * stats.norm.sf(abs(want / se))],
        "difference",
    )
    assert_r(
        [diff.rmst_group.rmst, diff.rmst_reference.rmst], [ref["rmst"][1], ref["rmst"][0]], "arms"
    )


@pytest.mark.parametrize("tau", HEART_TAUS)
def test_rmst_with_delayed_entry_is_survmean(tau: str) -> None:
    ref = expected()["rmst"]["heart"][tau]["all"]
    h = heart()
    res = restricted_mean(h["stop"], h["event"], float(tau), entry=h["start"])
    assert_r([res.rmst, res.se], [ref["rmst"], ref["se"]], "heart")
    assert res.tau == float(tau)


@pytest.mark.parametrize("tau", VET_TAUS)
def test_rmst_on_veteran(tau: str) -> None:
    ref = expected()["rmst"]["veteran"][tau]
    v = veteran()
    diff = rmst_difference(v["time"], v["status"], v["trt"], float(tau))
    assert (diff.group, diff.reference) == (2, 1)  # no 0/1 coding: the first sorted level
    assert_r(
        [
            diff.rmst_reference.rmst,
            diff.rmst_group.rmst,
            diff.rmst_reference.se,
            diff.rmst_group.se,
        ],
        [*ref["by_trt"]["rmst"], *ref["by_trt"]["se"]],
        "by trt",
    )
    late = restricted_mean(v["exit"], v["status"], float(tau) + 300, entry=v["entry"])
    assert_r([late.rmst, late.se], [ref["entry"]["rmst"], ref["entry"]["se"]], "entry")


def test_weighted_rmst_is_survmean() -> None:
    ref = expected()["rmst"]["synth"]
    s = synth()
    res = restricted_mean(s["futime"], s["status"], ref["tau"], weights=s["w"])
    assert_r([res.rmst, res.se], [ref["weighted"]["rmst"], ref["weighted"]["se"]], "weighted")


# --------------------------------------------------------------------------- by hand


def test_rmst_by_hand() -> None:
    # deaths at 1, 2, 3, 4 of four patients; tau = 3:
    # area = 1 * 1 + 1 * 3/4 + 1 * 1/2 = 2.25;
    # Greenwood terms d/(n(n-d)): 1/12 at t=1, 1/6 at t=2, 1/2 at t=3;
    # areas from each time to tau: 1.25, 0.5, 0; var = 1.25^2/12 + 0.5^2/6 = 0.171875
    res = restricted_mean([1, 2, 3, 4], [1, 1, 1, 1], 3)
    assert res.rmst == 2.25
    assert res.se == pytest.approx(math.sqrt(0.171875), rel=1e-12)
    # beyond the last time the curve (here 0 from t=4) is carried on flat
    assert restricted_mean([1, 2, 3, 4], [1, 1, 1, 1], 100).rmst == 2.5
    # censored last: S stays 1/2 after t=2, so tau = 10 adds 1/2 per unit time
    assert restricted_mean([1, 2, 3, 4], [1, 1, 0, 0], 10).rmst == 1 + 0.75 + 8 * 0.5


def test_rmst_difference_by_hand() -> None:
    # arm 1 dies at 4, 5, 6 (RMST to 6: 5), arm 0 at 1, 2, 3 (RMST 2): 1 minus 0 = 3
    d = rmst_difference([1, 2, 3, 4, 5, 6], [1] * 6, [0, 0, 0, 1, 1, 1], 6)
    assert (d.group, d.reference, d.difference) == (1, 0, 3.0)
    # arm 0 by hand: terms 1/6, 1/2 at t=1, 2 (t=3 has n = d: 0); areas to 6 after
    # them 1, 1/3: var = 1/6 + 1/18 = 2/9
    assert d.rmst_reference.se == pytest.approx(math.sqrt(2 / 9), rel=1e-12)
    assert d.se == pytest.approx(math.hypot(d.rmst_group.se, d.rmst_reference.se))
    labels = ["chemotherapy"] * 3 + ["blinatumomab"] * 3
    arms = rmst_difference([1, 2, 3, 4, 5, 6], [1] * 6, labels, 6)
    assert (arms.group, arms.reference, arms.difference) == ("blinatumomab", "chemotherapy", 3.0)
    flipped = rmst_difference([1, 2, 3, 4, 5, 6], [1] * 6, [0, 0, 0, 1, 1, 1], 6, reference=1)
    assert flipped.difference == -3.0 and flipped.p_value == d.p_value


# --------------------------------------------------------------------------- properties


@st.composite
def sample(draw: st.DrawFn) -> tuple[Any, Any, float]:
    n = draw(st.integers(1, 30))
    t = draw(st.lists(st.integers(1, 15), min_size=n, max_size=n))
    e = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    tau = draw(st.floats(min(t), 25.0, allow_nan=False))
    return np.asarray(t, dtype=float) * 0.5, np.asarray(e), tau * 0.5


def _area(km: pd.DataFrame, tau: float) -> float:
    """The integral of the step function S from 0 to tau, read point by point."""
    times = km["time"].to_numpy(dtype=float)
    cuts = np.concatenate([[0.0], times[times < tau], [tau]])
    last = float(km["survival"].iloc[-1])
    heights = [survival_at(km, c).survival if c <= times[-1] else last for c in cuts[:-1]]
    return float(np.sum(np.asarray(heights) * np.diff(cuts)))


@settings(max_examples=60, deadline=None)
@given(data=sample())
def test_rmst_is_the_area_under_the_km_curve(data: tuple[Any, Any, float]) -> None:
    t, e, tau = data
    res = restricted_mean(t, e, tau)
    assert res.rmst == pytest.approx(_area(kaplan_meier(t, e), tau), rel=1e-12, abs=1e-12)
    assert 0 <= res.rmst <= tau
    zero = restricted_mean(t, e, tau, entry=np.zeros(t.size))
    assert (zero.rmst, zero.se) == pytest.approx((res.rmst, res.se), rel=1e-12, abs=1e-15)


@settings(max_examples=40, deadline=None)
@given(data=sample(), extra=st.floats(0.5, 20.0))
def test_beyond_the_last_time_the_area_grows_at_the_last_survival(
    data: tuple[Any, Any, float], extra: float
) -> None:
    t, e, _ = data
    last = float(t.max())
    km = kaplan_meier(t, e)
    at_end = restricted_mean(t, e, last)
    beyond = restricted_mean(t, e, last + extra)
    slope = float(km["survival"].iloc[-1])
    assert beyond.rmst == pytest.approx(at_end.rmst + extra * slope, rel=1e-12, abs=1e-12)


# --------------------------------------------------------------------------- messages


def test_bad_tau_and_groups_say_why() -> None:
    with pytest.raises(InputError, match=r"tau \(0.5\) is before the first observed time \(1\)"):
        restricted_mean([1, 2, 3], [1, 0, 1], 0.5)
    with pytest.raises(InputError, match="tau must be a finite number > 0, got missing"):
        restricted_mean([1, 2, 3], [1, 0, 1], float("nan"))
    with pytest.raises(InputError, match="tau must be a number, got 'soon'"):
        restricted_mean([1, 2, 3], [1, 0, 1], "soon")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="exactly two arms for a difference; found 3"):
        rmst_difference([1, 2, 3], [1, 0, 1], ["a", "b", "c"], 2)
    with pytest.raises(InputError, match="reference 'x' is not one of the groups"):
        rmst_difference([1, 2, 3, 4], [1, 0, 1, 1], ["a", "b", "a", "b"], 2, reference="x")
    with pytest.raises(InputError, match=r"entry 2 \(entry 4, durations 2\)"):
        rmst_difference([1, 2, 3, 4], [1, 0, 1, 1], [0, 1, 0, 1], 2, entry=[0, 4, 0, 0])

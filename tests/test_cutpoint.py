"""Maximally selected log-rank cut-point (blinastudy.stats.survival.cutpoint) against R's maxstat.

The R reference (tests/data/make_cutpoint_reference.R) runs maxstat.test(Surv(time, event)
~ x, smethod = "LogRank", pmethod = "Lau92") on survival::lung, survival::veteran and a
synthetic data set with tied times and a tied marker, and stores every candidate cut-point
with its standardised statistic and the log-rank scores.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, reject, settings
from hypothesis import strategies as st

from blinastudy.core.errors import InputError
from blinastudy.stats.survival import CutpointResult, cutpoint
from blinastudy.stats.survival.cutpoint import logrank_scores, p_lausen92

DATA = Path(__file__).parent / "data"
REL = 1e-6
EXPECTED: dict[str, Any] = json.loads((DATA / "cutpoint.expected.json").read_text())
CASES = EXPECTED["cases"]
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _data(name: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    case = CASES[name]
    frame = pd.read_csv(DATA / case["data"])
    return frame[frame[case["x"]].notna()], case  # maxstat.test's na.omit


# ---------------------------------------------------------------------------
# R reference


@pytest.mark.parametrize("name", sorted(CASES))
def test_equals_maxstat(name: str) -> None:
    frame, case = _data(name)
    res = cutpoint(
        frame["time"],
        frame["event"],
        frame[case["x"]],
        minprop=case["minprop"],
        maxprop=case["maxprop"],
    )
    assert isinstance(res, CutpointResult)
    assert res.n == case["n"]
    assert res.cutpoint == case["estimate"]
    assert res.statistic == pytest.approx(case["statistic"], rel=REL)
    p = float(case["p_value"])  # "Inf" is stored as a string
    assert res.p_value_lau92 == (p if math.isinf(p) else pytest.approx(p, rel=REL))
    assert res.p_value == pytest.approx(min(p, 1.0), rel=REL)
    # every candidate, in maxstat's order, with its statistic
    np.testing.assert_array_equal(res.statistics.index.to_numpy(), np.array(case["cuts"]))
    np.testing.assert_allclose(res.statistics.to_numpy(), case["stats"], rtol=REL, atol=0)
    assert res.n_below == int(np.sum(frame[case["x"]] <= res.cutpoint))


@pytest.mark.parametrize("name", sorted(CASES))
def test_logrank_scores_equal_exactranktests(name: str) -> None:
    frame, case = _data(name)
    got = logrank_scores(frame["time"], frame["event"])
    np.testing.assert_allclose(got, case["scores"], rtol=REL, atol=1e-12)


def test_reference_exercises_what_it_is_meant_to() -> None:
    """Guard: tied deaths, deaths tied with censorings, tied markers and every p-value branch."""
    ties = pd.read_csv(DATA / "cutpoint_ties.csv")
    deaths = ties[ties["event"] == 1]
    assert deaths["time"].duplicated().any()
    assert ties[ties["event"] == 0]["time"].isin(deaths["time"]).any()
    assert ties["marker"].duplicated().any()
    p = {name: float(case["p_value"]) for name, case in CASES.items()}
    assert p["ties_marker_all"] == math.inf  # minprop = 0, maxprop = 1
    assert p["veteran_diagtime"] > 1 and p["ties_null_marker_wide"] > 1  # R does not cap
    assert p["veteran_karno"] < 0.001
    # minprop = 0 and maxprop = 1: maxstat leaves out the last distinct value but one too
    all_cuts = CASES["ties_marker_all"]["cuts"]
    assert all_cuts == sorted(set(ties["marker"]))[:-2]
    # lung's ph.karno has a missing value: the reference is on the complete cases
    lung = pd.read_csv(DATA / "cutpoint_lung.csv")
    assert lung["ph_karno"].isna().sum() == 1 and CASES["lung_ph_karno"]["n"] == len(lung) - 1


# ---------------------------------------------------------------------------
# by hand


def test_logrank_scores_by_hand_with_ties() -> None:
    # times 1, 1, 2, 3, 3 with events 1, 1, 0, 1, 0: N = 5. Ranks (times <= t): 2, 2, 3, 5, 5.
    # f = e / (N - r + 1): 1/4, 1/4, 0, 1/1, 0 -> cumulative at rank 2: 1/2, 3: 1/2, 5: 3/2
    got = logrank_scores([1, 1, 2, 3, 3], [1, 1, 0, 1, 0])
    np.testing.assert_allclose(got, [0.5, 0.5, -0.5, -0.5, -1.5], rtol=1e-15)
    # without ties: event minus the Nelson-Aalen cumulative hazard
    got = logrank_scores([4, 1, 3, 2], [1, 1, 0, 1])
    na = np.cumsum([1 / 4, 1 / 3, 0, 1 / 1])
    np.testing.assert_allclose(got, [1 - na[3], 1 - na[0], -na[2], 1 - na[1]], rtol=1e-15)


def test_statistic_by_hand() -> None:
    # scores of times 1..4, all events: 1 - H(t) with H = 1/4, 7/12, 13/12, 25/12
    t = [1.0, 2.0, 3.0, 4.0]
    a = 1 - np.cumsum([1 / 4, 1 / 3, 1 / 2, 1])
    x = [10.0, 20.0, 30.0, 40.0]  # marker in time order: the lower group dies first
    n, s, s2 = 4, a.sum(), (a**2).sum()
    stats = []
    for m in (1, 2, 3):  # minprop 0.25 -> m >= 1; maxprop 0.75 -> m <= 3
        e = m / n * s
        v = m * (n - m) / (n**2 * (n - 1)) * (n * s2 - s**2)
        stats.append(abs((a[:m].sum() - e) / math.sqrt(v)))
    res = cutpoint(t, [1, 1, 1, 1], x, minprop=0.25, maxprop=0.75)
    np.testing.assert_allclose(res.statistics.to_numpy(), stats, rtol=1e-14)
    assert list(res.statistics.index) == [10.0, 20.0, 30.0]
    best = int(np.argmax(stats))
    assert res.cutpoint == x[best] and res.statistic == pytest.approx(stats[best], rel=1e-14)
    assert res.n_below == best + 1


def test_candidates_follow_floor_bounds_and_tied_values() -> None:
    # 10 patients, marker with ties: m (patients below a distinct value) = 0, 3, 4, 7, 9;
    # minprop 0.3 -> m >= 3, maxprop 0.7 -> m <= 7: cut-points 1 (m = 3), 2 (4), 3 (7)
    x = [1, 1, 1, 2, 3, 3, 3, 4, 4, 5]
    t = [5, 3, 8, 2, 9, 1, 7, 4, 6, 10]
    e = [1, 0, 1, 1, 1, 1, 0, 1, 1, 0]
    res = cutpoint(t, e, x, minprop=0.3, maxprop=0.7)
    assert list(res.statistics.index) == [1.0, 2.0, 3.0]
    # the lower group of a cut-point is x <= cut-point
    assert res.n_below in (3, 4, 7)


def test_p_value_lausen92_by_hand() -> None:
    b = 2.5
    phi = math.exp(-b * b / 2) / math.sqrt(2 * math.pi)
    want = 4 * phi / b + phi * (b - 1 / b) * math.log(0.9 * 0.9 / (0.1 * 0.1))
    assert p_lausen92(b) == pytest.approx(want, rel=1e-14)
    assert p_lausen92(0.99) == 1.0
    assert p_lausen92(50.0) == 0.0  # phi(50) underflows: max(0, 0)
    assert p_lausen92(2.0, 0.0, 1.0) == math.inf


# ---------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        (
            {"values": pd.Series([1.0, np.nan, 3.0, 4.0], index=["a", "b", "c", "d"])},
            r"values has missing or infinite entries at patient 'b' \(missing\); leave those",
        ),
        ({"values": [1.0, 2.0, 3.0]}, r"values has 3 entries but durations has 4"),
        ({"values": ["a", 2.0, 3.0, 4.0]}, r"values must be numbers; not at entry 1 \('a'\)"),
        # m (patients below a distinct value) is 0 or 1; floor(4 x 0.5) = 2
        ({"values": [1.0, 2.0, 2.0, 2.0], "minprop": 0.5}, r"minprop = 0.5 is too large"),
        (
            {"minprop": 0.0, "maxprop": 0.1},
            r"no cut-point puts between 0 and 0.1 of the 4 patients in the lower group",
        ),
        ({"minprop": -0.1}, r"minprop must be a proportion in \[0, 1\]; got -0.1"),
        ({"maxprop": True}, r"maxprop must be a proportion in \[0, 1\]; got True"),
        ({"events": [0, 0, 0, 0]}, r"scores do not vary"),
        ({"durations": [1, -2, 3, 4]}, r"negative times at entry 2 \(-2\)"),
        ({"values": [1.0, 1.0, 2.0, 2.0], "minprop": 0.0, "maxprop": 1.0}, r"at least three"),
    ],
)
def test_rejects_bad_input(kwargs: dict[str, Any], pattern: str) -> None:
    args: dict[str, Any] = {
        "durations": [1, 2, 3, 4],
        "events": [1, 0, 1, 1],
        "values": [4.0, 3.0, 2.0, 1.0],
        "minprop": 0.25,
        "maxprop": 0.75,
    }
    args.update(kwargs)
    with pytest.raises(InputError, match=pattern) as info:
        cutpoint(
            args["durations"],
            args["events"],
            args["values"],
            minprop=args["minprop"],
            maxprop=args["maxprop"],
        )
    assert "np." not in str(info.value)


def test_no_runtime_warnings(recwarn: pytest.WarningsRecorder) -> None:
    cutpoint([1, 2, 3, 4, 5], [1, 1, 1, 1, 1], [1, 2, 3, 4, 5], minprop=0, maxprop=1)
    p_lausen92(3.0, 0.0, 0.5)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


# ---------------------------------------------------------------------------
# properties


@st.composite
def survival_data(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = draw(st.integers(6, 40))
    t = np.array(draw(st.lists(st.integers(1, 12), min_size=n, max_size=n)), dtype=float)
    e = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    x = np.array(draw(st.lists(st.integers(0, 8), min_size=n, max_size=n)), dtype=float)
    assume(e.sum() > 0 and np.unique(x).size >= 3)
    return t, e, x


def _run(t: np.ndarray, e: np.ndarray, x: np.ndarray, **kw: float) -> CutpointResult:
    """The cut-point of a drawn example; an example that cutpoint refuses is rejected."""
    try:
        return cutpoint(t, e, x, **kw)
    except InputError:
        reject()


@SETTINGS
@given(data=survival_data(), bounds=st.sampled_from([(0.1, 0.9), (0.25, 0.75), (0.01, 0.99)]))
def test_p_value_is_a_probability(
    data: tuple[np.ndarray, np.ndarray, np.ndarray], bounds: tuple[float, float]
) -> None:
    t, e, x = data
    res = _run(t, e, x, minprop=bounds[0], maxprop=bounds[1])
    assert 0.0 <= res.p_value <= 1.0
    assert res.p_value == min(res.p_value_lau92, 1.0)
    assert res.statistic == res.statistics.max() >= 0


@SETTINGS
@given(data=survival_data(), seed=st.integers(0, 10_000))
def test_invariant_to_increasing_transformations_of_the_marker(
    data: tuple[np.ndarray, np.ndarray, np.ndarray], seed: int
) -> None:
    """Only the order of the marker matters: an increasing map moves the cut-point with it."""
    t, e, x = data
    res = _run(t, e, x)
    levels = np.unique(x)
    new_levels = np.sort(np.random.default_rng(seed).uniform(-1e3, 1e3, levels.size))
    assume(np.unique(new_levels).size == levels.size)
    mapped = new_levels[np.searchsorted(levels, x)]
    moved = cutpoint(t, e, mapped)
    assert moved.statistic == res.statistic
    assert moved.p_value == res.p_value
    assert moved.cutpoint == new_levels[np.searchsorted(levels, res.cutpoint)]
    np.testing.assert_array_equal(moved.statistics.to_numpy(), res.statistics.to_numpy())


@SETTINGS
@given(data=survival_data(), seed=st.integers(0, 10_000))
def test_order_of_patients_does_not_matter(
    data: tuple[np.ndarray, np.ndarray, np.ndarray], seed: int
) -> None:
    t, e, x = data
    res = _run(t, e, x)
    perm = np.random.default_rng(seed).permutation(t.size)
    shuffled = cutpoint(t[perm], e[perm], x[perm])
    np.testing.assert_allclose(
        shuffled.statistics.to_numpy(), res.statistics.to_numpy(), rtol=1e-9, atol=1e-12
    )
    assert shuffled.cutpoint == res.cutpoint or math.isclose(
        shuffled.statistics[shuffled.cutpoint], res.statistic, rel_tol=1e-9
    )

"""Greedy nearest-neighbour matching, propensity scores and balance on hand cases.

With one covariate ``x`` the logit of the propensity score is ``a + b x``; every
case below checks that ``b > 0``, so "descending propensity" is "descending x"
and distances on the logit scale are ``b |dx|``: the expected pairs can be read
off the ``x`` values. The tie cases give the distance itself (a fitted model
with that linear predictor), so that equal differences are exactly equal.

MatchIt (>= 4.5.4) ``method = "nearest"`` semantics (C ``nn_matchC_vec``): all
units sorted by distance, equal distances in data order; treated units in
descending distance order (data order with replacement) each take the nearest
usable control to their left or right in that order, the left one when the two
absolute differences are equal; a side beyond ``caliper x sd(distance)`` has
none; with ``ratio = k`` every treated unit gets its first control before any
gets its second.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest

from blinastudy.stats.balance import balance
from blinastudy.stats.matching import (
    MatchResult,
    fit_propensity,
    match,
    propensity_scores,
)
from tests._cells import num
from tests._models import model_with_distance


def pairs(res: MatchResult) -> list[tuple[int, int]]:
    return [(int(t), int(c)) for t, c in res.pairs[["treated", "control"]].to_numpy()]


def assert_increasing_logit(frame: pd.DataFrame) -> None:
    coef = fit_propensity(frame, "t", ["x"]).coef
    assert coef["x"] > 0, "the hand cases assume the propensity increases with x"


# Rows 0, 1, 8 treated (x = 4.0, 5.0, 2.4); controls at 4.6, 3.0, 0, 1, 2, 5.5.
ORDER = pd.DataFrame(
    {"t": [1, 1, 0, 0, 0, 0, 0, 0, 1], "x": [4.0, 5.0, 4.6, 3.0, 0.0, 1.0, 2.0, 5.5, 2.4]}
)


def test_descending_propensity_order_closest_unused_control() -> None:
    assert_increasing_logit(ORDER)
    res = match(ORDER, "t", ["x"], caliper=None)
    # row 1 (x=5.0) first: 4.6 (0.4) beats 5.5 (0.5)             -> control 2
    # row 0 (x=4.0): 4.6 is used; 3.0 (1.0) beats 5.5 (1.5)       -> control 3
    # row 8 (x=2.4): 2.0 (0.4)                                    -> control 6
    assert pairs(res) == [(1, 2), (0, 3), (8, 6)]
    assert res.pairs["pair"].tolist() == [1, 2, 3]
    assert res.caliper_width == float("inf")
    assert res.unmatched.empty
    # matched rows: treated then its control, per pair, with ATT weights 1
    assert res.matched.index.tolist() == [1, 2, 0, 3, 8, 6]
    assert (res.matched["weight"] == 1).all()


def test_order_smallest_and_data() -> None:
    # smallest first: 8 (2.4) -> 2.0; 0 (4.0) -> 4.6 (0.6 < 1.0); 1 (5.0) -> 5.5
    assert pairs(match(ORDER, "t", ["x"], caliper=None, order="smallest")) == [
        (8, 6),
        (0, 2),
        (1, 7),
    ]
    # data order: 0 -> 4.6; 1 -> 5.5; 8 -> 2.0
    assert pairs(match(ORDER, "t", ["x"], caliper=None, order="data")) == [
        (0, 2),
        (1, 7),
        (8, 6),
    ]


def test_order_random_is_reproducible_and_greedy_in_its_order() -> None:
    seen = set()
    for seed in range(12):
        a = match(ORDER, "t", ["x"], caliper=None, order="random", random_state=seed)
        b = match(ORDER, "t", ["x"], caliper=None, order="random", random_state=seed)
        assert pairs(a) == pairs(b)
        # the same pairs as processing the treated rows in the order listed
        x = ORDER["x"].to_numpy()
        free = [i for i in range(len(ORDER)) if ORDER["t"].iloc[i] == 0]
        for t, c in pairs(a):
            best = min((abs(x[j] - x[t]), j) for j in free)[1]
            assert c == best
            free.remove(c)
        seen.add(tuple(pairs(a)))
    assert len(seen) > 1  # the order really is random


# Rows 3 and 5 are controls with the same x (so the same propensity score).
TIES = pd.DataFrame({"t": [1, 0, 0, 0, 1, 0, 0], "x": [3.0, 1.0, 5.0, 2.0, 4.2, 2.0, 0.5]})


def test_tie_on_the_left_goes_to_the_later_control_in_data_order() -> None:
    assert_increasing_logit(TIES)
    # sorted: 0.5 (6), 1.0 (1), 2.0 (3), 2.0 (5), 3.0 (T0), 4.2 (T4), 5.0 (2)
    # row 4 (4.2) -> 5.0; row 0 (3.0): walking left it meets row 5 before row 3
    assert pairs(match(TIES, "t", ["x"], caliper=None)) == [(4, 2), (0, 5)]


def test_tie_with_replacement_walks_left_and_right_round_by_round() -> None:
    # with replacement the treated units take their turns in data order
    assert pairs(match(TIES, "t", ["x"], caliper=None, replace=True)) == [(0, 5), (4, 2)]
    # two controls each: row 0 -> row 5, then row 3 (the next to its left, 1.0
    # away, beats 5.0 on its right); row 4 -> 5.0, then row 5 (nothing right)
    res = match(TIES, "t", ["x"], caliper=None, replace=True, ratio=2)
    assert pairs(res) == [(0, 5), (0, 3), (4, 2), (4, 5)]
    assert res.pairs["pair"].tolist() == [1, 1, 2, 2]


def test_caliper_excludes_with_reason() -> None:
    frame = pd.concat([ORDER, pd.DataFrame({"t": [1], "x": [9.0]})], ignore_index=True)
    assert_increasing_logit(frame)
    # caliper of 1.5 x-units: caliper * sd(logit) = caliper * b * sd(x)
    caliper = 1.5 / frame["x"].std()
    res = match(frame, "t", ["x"], caliper=caliper)
    b = fit_propensity(frame, "t", ["x"]).coef["x"]
    assert res.caliper_width == pytest.approx(caliper * np.std(res.distance, ddof=1))
    assert res.caliper_width == pytest.approx(1.5 * b)
    # row 9 (x=9.0) goes first; its nearest control 5.5 is 3.5 > 1.5 away
    assert pairs(res) == [(1, 2), (0, 3), (8, 6)]
    assert res.unmatched["treated"].tolist() == [9]
    reason = res.unmatched["reason"].iloc[0]
    assert "caliper" in reason and "7" in reason
    assert f"{3.5 * b:.4g}" in reason and f"{res.caliper_width:.4g}" in reason
    # every matched pair lies inside the caliper
    d = res.distance
    assert all(abs(d[t] - d[c]) <= res.caliper_width for t, c in pairs(res))


def test_caliper_exclusion_after_nearest_control_is_taken() -> None:
    # rows 0 (3.0) and 1 (3.05) both want control 2 (3.02); row 1 goes first and
    # takes it; the next control for row 0 (0.0) is far outside the caliper
    frame = pd.DataFrame({"t": [1, 1, 0, 0, 0, 0], "x": [3.0, 3.05, 3.02, 0.0, -0.2, 3.4]})
    assert_increasing_logit(frame)
    res = match(frame, "t", ["x"], caliper=0.1)
    b = fit_propensity(frame, "t", ["x"]).coef["x"]
    assert res.caliper_width == pytest.approx(0.1 * b * frame["x"].std())
    # row 1 -> 3.02; row 0: 3.4 is 0.4 away; 0.1 sd(x) = 0.1 * 1.59 = 0.159
    assert pairs(res) == [(1, 2)]
    assert res.unmatched["treated"].tolist() == [0]
    assert "nearest available control 5" in res.unmatched["reason"].iloc[0]


def test_ratio_two_first_controls_before_second() -> None:
    frame = pd.DataFrame(
        {"t": [1, 1, 0, 0, 0, 0, 0, 0, 1], "x": [5.0, 4.5, 5.05, 4.7, 3.8, 3.5, 0.0, 1.0, 1.2]}
    )
    assert_increasing_logit(frame)
    res = match(frame, "t", ["x"], caliper=None, ratio=2)
    # round 1: row 0 (5.0) -> 5.05; row 1 (4.5) -> 4.7; row 8 (1.2) -> 1.0
    # round 2: row 0 -> 3.8 (4.7 went to row 1 in round 1); row 1 -> 3.5; row 8 -> 0.0
    # (taking both controls at once would have given row 0 the 5.05 and the 4.7)
    assert pairs(res) == [(0, 2), (0, 4), (1, 3), (1, 5), (8, 7), (8, 6)]
    assert res.pairs["pair"].tolist() == [1, 1, 2, 2, 3, 3]
    assert res.n_pairs == 3
    # get_matches weights: 1/k per control of a 1:k set; MatchIt's weights rescale
    # them so that the controls' weights sum to the number of matched controls
    controls = res.matched[res.matched["t"] == 0]
    assert controls["weight"].tolist() == [0.5] * 6
    assert res.weights.tolist() == [1.0] * 9


def test_replace_reuses_a_control() -> None:
    frame = pd.DataFrame({"t": [1, 1, 0, 0, 0, 0], "x": [3.0, 3.2, 3.1, 1.0, 0.0, 2.0]})
    assert_increasing_logit(frame)
    # without replacement row 0 (3.0) gets 2.0 once 3.1 is taken by row 1 (3.2)
    assert pairs(match(frame, "t", ["x"], caliper=None)) == [(1, 2), (0, 5)]
    res = match(frame, "t", ["x"], caliper=None, replace=True)
    assert pairs(res) == [(0, 2), (1, 2)]  # turns in data order with replacement
    # get_matches rows: control 2 once per set, weight 1 in each 1:1 set
    controls = res.matched[res.matched["t"] == 0]
    assert controls.index.tolist() == [2, 2]
    assert controls["weight"].tolist() == [1.0, 1.0]
    # MatchIt weights: 1/1 + 1/1 = 2, rescaled by 1 matched control / 2 = 1
    assert res.weights.tolist() == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]
    assert res.match_data.index.tolist() == [0, 1, 2]
    assert res.match_data["pair"].isna().all()  # no subclass with replacement


def test_exact_strata_respected() -> None:
    frame = pd.DataFrame(
        {
            "t": [1, 0, 0, 1, 0, 0, 1, 0],
            "x": [3.0, 3.1, 2.0, 4.0, 4.1, 1.0, 2.5, 0.5],
            "sex": ["F", "M", "F", "M", "M", "F", "X", "M"],
        }
    )
    assert_increasing_logit(frame)
    # ignoring sex, row 0 (F, 3.0) would take row 1 (M, 3.1)
    assert (0, 1) in pairs(match(frame, "t", ["x"], caliper=None))
    res = match(frame, "t", ["x"], caliper=None, exact=["sex"])
    # row 3 (M, 4.0) -> row 4 (M, 4.1); row 0 (F, 3.0) -> row 2 (F, 2.0);
    # row 6 is the only "X": no control in its stratum
    assert pairs(res) == [(3, 4), (0, 2)]
    assert res.unmatched["treated"].tolist() == [6]
    assert "exact" in res.unmatched["reason"].iloc[0]
    for t, c in pairs(res):
        assert frame.loc[t, "sex"] == frame.loc[c, "sex"]


def test_labels_of_the_input_index_are_used() -> None:
    frame = ORDER.set_axis([f"P{i:02d}" for i in range(len(ORDER))])
    res = match(frame, "t", ["x"], caliper=None)
    assert res.pairs[["treated", "control"]].to_numpy().tolist() == [
        ["P01", "P02"],
        ["P00", "P03"],
        ["P08", "P06"],
    ]


# ---------------------------------------------------------------------------
# ties, walked as MatchIt's C loop does: hand cases on a given distance


def by_distance(
    d: list[float],
    t: list[int],
    stratum: list[str] | None = None,
    index: list[int] | None = None,
    **options: Any,
) -> MatchResult:
    """Match on the distance ``d`` itself (the linear predictor of a given model)."""
    frame = pd.DataFrame({"t": t, "d": d}, index=index)
    if stratum is not None:
        frame["s"] = stratum
    model = model_with_distance(frame["d"].astype(float))
    options.setdefault("caliper", None)
    return match(frame, "t", ["d"], model=model, **options)


def test_equal_differences_left_and_right_the_left_control_wins() -> None:
    # row 1 (2.0) has control 2 at 1.5 on its left and control 0 at 2.5 on its
    # right, both 0.5 away: the left one, although the right one comes first in data
    res = by_distance([2.5, 2.0, 1.5], [0, 1, 0])
    assert pairs(res) == [(1, 2)]
    # a strictly nearer control wins on either side
    assert pairs(by_distance([2.25, 2.0, 1.5], [0, 1, 0])) == [(1, 0)]


def test_tied_controls_on_the_left_the_later_in_data_order_is_nearer() -> None:
    # sorted: row 0 (1.0), row 1 (1.0), row 2 (treated, 2.0), row 3 (3.5):
    # walking left from row 2 meets row 1 first
    assert pairs(by_distance([1.0, 1.0, 2.0, 3.5], [0, 0, 1, 0])) == [(2, 1)]
    # on the right the first in data order is met first
    assert pairs(by_distance([3.0, 3.0, 2.0, 0.5], [0, 0, 1, 0])) == [(2, 0)]


def test_treated_unit_tied_with_controls_sits_among_them_by_data_order() -> None:
    # all at 1.0; sorted by data order: c0 c1 T2 c3 c4 T5. T2 goes first (ties in
    # data order): c1 on its left and c3 on its right are both 0 away -> c1;
    # T5 finds c4 directly on its left
    res = by_distance([1.0] * 6, [0, 0, 1, 0, 0, 1])
    assert pairs(res) == [(2, 1), (5, 4)]


def test_ratio_two_with_ties_round_by_round() -> None:
    # sorted: c1 (1.0), c2 (1.0), A0 (2.0), c3 (3.0), c4 (3.0), B5 (3.5)
    # round 1: B (largest) -> c4 (0.5, walking left); A: c2 and c3 both 1.0 away -> c2
    # round 2: B -> c3 (0.5); A: c1 on the left, nothing usable on the right -> c1
    res = by_distance([2.0, 1.0, 1.0, 3.0, 3.0, 3.5], [1, 0, 0, 0, 0, 1], ratio=2)
    assert pairs(res) == [(5, 4), (5, 3), (0, 2), (0, 1)]
    assert res.pairs["pair"].tolist() == [1, 1, 2, 2]


def test_replacement_with_ties_walks_outwards_and_weights_reused_controls() -> None:
    # sorted: c1 (-1), c3 (-1), X0 (0), c2 (1), c4 (1), Y6 (1), c5 (2); ratio 3
    # X: c3 (left, 1 = 1 on the right), c1 (left again), then c2 (nothing left)
    # Y: c4 (0 away), c2 (0 away), then c5 (1 away) beats c3 (2 away; X0 is treated)
    res = by_distance(
        [0.0, -1.0, 1.0, -1.0, 1.0, 2.0, 1.0], [1, 0, 0, 0, 0, 0, 1], ratio=3, replace=True
    )
    assert pairs(res) == [(0, 3), (0, 1), (0, 2), (6, 4), (6, 2), (6, 5)]
    assert res.pairs["pair"].tolist() == [1, 1, 1, 2, 2, 2]
    # MatchIt weights: each use 1/3; c2 serves both (2/3); the five controls' sum 2
    # is rescaled to 5: 1/3 -> 5/6 and 2/3 -> 5/3
    expected = [1.0, 5 / 6, 5 / 3, 5 / 6, 5 / 6, 5 / 6, 1.0]
    np.testing.assert_allclose(res.weights.to_numpy(), expected, rtol=1e-15)
    assert res.weights.index.tolist() == list(range(7))
    # get_matches rows: each set's treated row, then its controls in order, 1/3 each
    assert res.matched.index.tolist() == [0, 3, 1, 2, 6, 4, 2, 5]
    assert res.matched["pair"].tolist() == [1, 1, 1, 1, 2, 2, 2, 2]
    np.testing.assert_allclose(res.matched["weight"], [1] + [1 / 3] * 3 + [1] + [1 / 3] * 3)
    # match.data: every matched unit once, input order; no subclass with replacement
    assert res.match_data.index.tolist() == list(range(7))
    np.testing.assert_allclose(res.match_data["weight"].to_numpy(), expected, rtol=1e-15)
    assert res.match_data["pair"].isna().all()


def test_caliper_exactly_at_the_boundary_still_matches() -> None:
    # distances 0, 1, -1, 1, -1: mean 0, sd exactly 1, so caliper 1 is width 1
    d, t = [0.0, 1.0, -1.0, 1.0, -1.0], [1, 0, 0, 1, 0]
    res = by_distance(d, t, caliper=1.0, index=[101, 102, 103, 104, 105])
    assert res.caliper_width == 1.0
    # T104 (1.0) -> c102 (0 away); T101 (0.0): c105 on its left exactly 1.0 away
    # (c103, also 1.0 away, is farther left in the sorted order)
    assert res.pairs[["treated", "control"]].to_numpy().tolist() == [[104, 102], [101, 105]]
    res = by_distance(d, t, caliper=0.999, index=[101, 102, 103, 104, 105])
    assert res.pairs[["treated", "control"]].to_numpy().tolist() == [[104, 102]]
    assert res.unmatched["treated"].tolist() == [101]
    assert res.unmatched["reason"].tolist() == [
        "nearest available control 105 is 1 away, beyond the caliper width 0.999"
    ]


def test_exact_strata_walk_past_other_strata_among_ties() -> None:
    d, t = [1.0] * 6, [0, 0, 0, 1, 0, 1]
    s = ["A", "A", "B", "A", "A", "B"]
    # without strata: T3 -> c2 (directly left); T5 -> c4
    assert pairs(by_distance(d, t, s)) == [(3, 2), (5, 4)]
    # with strata: T3 (A) walks left past c2 (B) to c1; T5 (B) walks left past
    # c4 (A) and T3 to c2
    res = by_distance(d, t, s, exact=["s"])
    assert pairs(res) == [(3, 1), (5, 2)]


def test_incomplete_one_to_k_sets_weights_by_hand() -> None:
    # sorted: c3 (-0.5), A0 (0), c2 (0.5), c4 (9), B1 (10); ratio 2, B first
    # round 1: B -> c4; A: c3 and c2 both 0.5 away -> c3 (left)
    # round 2: B -> c2 (9.5 away); A: nothing usable left -> A's set stays 1:1
    res = by_distance([0.0, 10.0, 0.5, -0.5, 9.0], [1, 1, 0, 0, 0], ratio=2)
    assert pairs(res) == [(1, 4), (1, 2), (0, 3)]
    assert res.pairs["pair"].tolist() == [1, 1, 2]
    # MatchIt: c4, c2 get 1/2, c3 gets 1; sum 2 over 3 controls -> times 3/2
    assert res.weights.tolist() == [1.0, 1.0, 0.75, 1.5, 0.75]
    assert res.matched.index.tolist() == [1, 4, 2, 0, 3]
    assert res.matched["pair"].tolist() == [1, 1, 1, 2, 2]
    assert res.matched["weight"].tolist() == [1.0, 0.5, 0.5, 1.0, 1.0]
    assert res.match_data.index.tolist() == [0, 1, 2, 3, 4]
    assert res.match_data["weight"].tolist() == [1.0, 1.0, 0.75, 1.5, 0.75]
    assert res.match_data["pair"].tolist() == [2, 1, 1, 2, 1]
    assert res.unmatched.empty


def test_unmatched_units_weigh_zero_and_are_not_in_match_data() -> None:
    # width 0.5 sd = 2.15: T2 (5) goes first; c1 (4.75 away) and c3 (4 away) are both
    # beyond it, so T2 stays unmatched and c3 unused; T0 (0) -> c1
    d, t = [0.0, 0.25, 5.0, 9.0], [1, 0, 1, 0]
    res = by_distance(d, t, caliper=0.5, index=[7, 8, 9, 10])
    width = 0.5 * float(np.std(d, ddof=1))
    assert res.caliper_width == width
    assert res.pairs[["treated", "control"]].to_numpy().tolist() == [[7, 8]]
    assert res.weights.tolist() == [1.0, 1.0, 0.0, 0.0]
    assert res.weights.index.tolist() == [7, 8, 9, 10]
    assert res.match_data.index.tolist() == [7, 8]
    assert res.unmatched["treated"].tolist() == [9]
    reason = res.unmatched["reason"].iloc[0]
    assert reason == f"nearest available control 10 is 4 away, beyond the caliper width {width:.4g}"
    assert "np." not in reason


# ---------------------------------------------------------------------------
# propensity scores


def _random_cohort(seed: int, n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.uniform(1, 18, n)
    wbc = rng.lognormal(2, 1, n)
    male = rng.integers(0, 2, n)
    eta = -1 + 0.08 * age - 0.2 * np.log(wbc) + 0.4 * male
    t = (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(int)
    return pd.DataFrame({"t": t, "age": age, "wbc": wbc, "male": male})


@pytest.mark.parametrize("seed", [1, 2])
def test_propensity_equals_unpenalised_sklearn_logistic_regression(seed: int) -> None:
    linear_model = pytest.importorskip("sklearn.linear_model")
    frame = _random_cohort(seed)
    covs = ["age", "wbc", "male"]
    model = fit_propensity(frame, "t", covs)
    assert model.converged and not model.separation
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # C = inf: no penalty (the spelling of penalty=None in current scikit-learn)
        ref = linear_model.LogisticRegression(C=np.inf, tol=1e-12, max_iter=10000)
        ref.fit(frame[covs].to_numpy(), frame["t"].to_numpy())
    expected = ref.predict_proba(frame[covs].to_numpy())[:, 1]
    np.testing.assert_allclose(model.propensity.to_numpy(), expected, rtol=1e-6)
    # lbfgs stops with coefficients ~1e-7 from the exact optimum (IRLS is exact here)
    np.testing.assert_allclose(model.coef[covs].to_numpy(), ref.coef_[0], rtol=1e-5, atol=1e-6)
    assert model.coef["(Intercept)"] == pytest.approx(ref.intercept_[0], rel=1e-5)
    logit = np.log(expected / (1 - expected))
    np.testing.assert_allclose(model.linear_predictor.to_numpy(), logit, atol=1e-6)
    np.testing.assert_allclose(propensity_scores(frame, "t", covs), model.propensity)


def test_propensity_with_arm_labels_and_booleans() -> None:
    frame = _random_cohort(3, n=80)
    ps = propensity_scores(frame, "t", ["age"])
    labelled = frame.assign(t=frame["t"].map({1: "blinatumomab", 0: "chemotherapy"}))
    np.testing.assert_allclose(propensity_scores(labelled, "t", ["age"]), ps, rtol=1e-12)
    boolean = frame.assign(t=frame["t"].astype(bool))
    np.testing.assert_allclose(propensity_scores(boolean, "t", ["age"]), ps, rtol=1e-12)


def test_separation_gives_scores_near_zero_and_one() -> None:
    frame = pd.DataFrame(
        {"t": [0, 0, 0, 0, 0, 1, 1, 1, 1, 1], "x": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10.0]}
    )
    model = fit_propensity(frame, "t", ["x"])  # no exception
    assert model.separation
    ps = model.propensity.to_numpy()
    assert np.all(ps[:5] < 1e-6) and np.all(ps[5:] > 1 - 1e-6)
    # matching still runs; without a caliper every treated unit gets a control
    res = match(frame, "t", ["x"], caliper=None)
    assert res.model.separation
    assert len(res.pairs) == 5


def test_complete_separation_with_huge_linear_predictor_warns_nothing() -> None:
    # 25 controls below 25 treated on x: IRLS drives |eta| to ~900, beyond where
    # exp(eta) ** 2 and exp(eta) overflow; R's clamping makes those entries constants
    x = np.arange(50, dtype=float)
    frame = pd.DataFrame({"t": (x >= 25).astype(int), "x": x})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = fit_propensity(frame, "t", ["x"])
    assert model.separation
    assert model.linear_predictor.abs().max() > 710  # exp would overflow unclamped
    eps = np.finfo(float).eps
    ps = model.propensity.to_numpy()
    # R's linkinv: eta < -30 gives eps / (1 + eps), eta > 30 gives 1 / (1 + eps)
    assert ps[0] == eps / (1 + eps) and ps[-1] == (1 / eps) / (1 + 1 / eps)


# ---------------------------------------------------------------------------
# balance
#
#   treated: b = 1, 1, 0, 0  x = 1, 2, 3, 4     controls: b = 1, 0, 0, 0  x = 0, 0, 1, 3
# binary b: p_treated = 1/2, sd = sqrt(p (1 - p)) = 1/2; SMD = (1/2 - 1/4) / (1/2) = 1/2
# continuous x: sd of treated = sqrt(5/3); SMD = (2.5 - 1) / sqrt(5/3)
#   variance ratio = var_t / var_c = (5/3) / 2   (var_c: deviations -1, -1, 0, 2 -> 6/3)
# after matching with weights (treated x = 1, 2 weight 1; controls x = 0, 3 weight 1/2, 3/2):
#   weighted control mean = (0 * 1/2 + 3 * 3/2) / 2 = 9/4; SMD = (3/2 - 9/4) / sqrt(5/3)
#   (the denominator stays the treated SD of the full sample)
#   weighted variance (MatchIt): sum w (x - m)^2 * sum w / ((sum w)^2 - sum w^2)
#     = (1/2 * 81/16 + 3/2 * 9/16) * 2 / (4 - 5/2) = 4.5; treated var = 1/2; ratio 1/9
#   binary after: treated b = 1, 1 (mean 1), controls b = 1 (w 1/2), 0 (w 3/2): mean 1/4
#     SMD = (1 - 1/4) / (1/2) = 3/2

BAL = pd.DataFrame(
    {
        "t": [1, 1, 1, 1, 0, 0, 0, 0],
        "b": [1, 1, 0, 0, 1, 0, 0, 0],
        "x": [1.0, 2.0, 3.0, 4.0, 0.0, 0.0, 1.0, 3.0],
    }
)


def test_balance_before_by_hand() -> None:
    table = balance(BAL, "t", ["b", "x"])
    assert table.loc["b", "smd_before"] == pytest.approx(0.5, rel=1e-14)
    assert table.loc["x", "smd_before"] == pytest.approx(1.5 / np.sqrt(5 / 3), rel=1e-14)
    assert table.loc["x", "variance_ratio_before"] == pytest.approx((5 / 3) / 2, rel=1e-14)
    assert np.isnan(num(table.loc["b", "variance_ratio_before"]))  # two-valued: not reported
    assert table["smd_after"].isna().all()


def test_balance_after_weighted_by_hand() -> None:
    matched = pd.DataFrame(
        {
            "t": [1, 1, 0, 0],
            "b": [1, 1, 1, 0],
            "x": [1.0, 2.0, 0.0, 3.0],
            "weight": [1.0, 1.0, 0.5, 1.5],
        }
    )
    table = balance(BAL, "t", ["b", "x"], matched=matched)
    assert table.loc["x", "smd_after"] == pytest.approx((1.5 - 9 / 4) / np.sqrt(5 / 3), rel=1e-14)
    assert table.loc["x", "variance_ratio_after"] == pytest.approx(1 / 9, rel=1e-12)
    assert table.loc["b", "smd_after"] == pytest.approx(1.5, rel=1e-14)
    # before-matching columns do not depend on the matched sample
    before = balance(BAL, "t", ["b", "x"])
    np.testing.assert_allclose(table["smd_before"], before["smd_before"])


def test_balance_categorical_expands_all_levels() -> None:
    frame = BAL.assign(risk=["SR", "HR", "HR", "IR", "SR", "SR", "SR", "HR"])
    table = balance(frame, "t", ["risk"])
    assert list(table.index) == ["riskHR", "riskIR", "riskSR"]
    # HR: treated 2/4, control 1/4 -> (1/2 - 1/4) / sqrt(1/4) = 1/2
    assert table.loc["riskHR", "smd_before"] == pytest.approx(0.5)
    # IR: treated 1/4, control 0 -> (1/4) / sqrt(3/16)
    assert table.loc["riskIR", "smd_before"] == pytest.approx(0.25 / np.sqrt(3 / 16))

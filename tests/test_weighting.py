"""Propensity-score weights (blinastudy.stats.weighting) against R, by hand and by properties.

The R reference (tests/data/make_weighting_reference.R) fits glm(binomial), computes the
ATT, ATE and overlap weights, stabilisation and WeightIt's trim() rules in plain R, and
summarises each set of weights with MatchIt 4.5.1's summary() (the estimand's SD, and
the effective sample sizes of its nn()).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from blinastudy.core.errors import InputError
from blinastudy.stats.balance import balance, effective_sample_size
from blinastudy.stats.matching import propensity_scores
from blinastudy.stats.weighting import (
    propensity_weights,
    quantile_type3,
    trim_weights,
    weights_from_scores,
)
from tests._balance import R_COLUMNS, SETTINGS

DATA = Path(__file__).parent / "data"
REL = 1e-6
EXPECTED: dict[str, Any] = json.loads((DATA / "weighting.expected.json").read_text())
CASES = EXPECTED["cases"]
SCHEMES = [(case, scheme) for case in sorted(CASES) for scheme in sorted(CASES[case]["schemes"])]


def _frame(name: str) -> tuple[pd.DataFrame, str, list[str]]:
    case = CASES[name]
    frame = pd.read_csv(DATA / case["data"], index_col=case["id"])
    return frame, case.get("treatment_column", case["treatment"]), list(case["covariates"])


def _scheme_kwargs(scheme: dict[str, Any]) -> dict[str, Any]:
    return {
        "estimand": scheme["estimand"],
        "stabilize": scheme["stabilize"],
        "trim": scheme["trim"],
        "trim_lower": scheme["trim_lower"],
    }


def _by_id(values: dict[str, float], index: pd.Index) -> np.ndarray:
    return pd.Series(values, dtype=float).reindex(index).to_numpy()


def _assert_like_r(table: pd.DataFrame, expected: dict[str, Any], when: str, what: str) -> None:
    """Every column to 1e-6 relative; a mean difference MatchIt reports raw, to 1e-6 of the means.

    Below sqrt(eps) ``summary()`` reports the raw difference of the means instead of an
    SMD (overlap weights balance the model's covariates exactly, so their differences are
    rounding noise of about 1e-10): those are compared on the scale of the means.
    """
    assert list(table.index) == expected["covariate"]
    raw = np.abs(
        np.array(expected["means_treated"], dtype=float)
        - np.array(expected["means_control"], dtype=float)
    ) <= math.sqrt(np.finfo(float).eps)
    scale = np.maximum(
        np.abs(np.array(expected["means_treated"], dtype=float)),
        np.abs(np.array(expected["means_control"], dtype=float)),
    )
    for key, column in R_COLUMNS.items():
        want = np.array([np.nan if v is None else v for v in expected[key]], dtype=float)
        got = table[f"{column}_{when}"].to_numpy()
        keep = ~raw if key == "smd" else np.ones(want.size, dtype=bool)
        # atol: a weighted variance of a covariate constant in an arm is 0 up to rounding
        # (R: 2.7e-32 for the synthetic mrd), and so is its variance ratio
        np.testing.assert_allclose(
            got[keep], want[keep], rtol=REL, atol=1e-20, err_msg=f"{what} {key}"
        )
        if key == "smd" and raw.any():
            assert (np.abs(got[raw] - want[raw]) <= REL * scale[raw]).all(), f"{what} raw {key}"
            assert (np.abs(got[raw]) <= math.sqrt(np.finfo(float).eps)).all()


# ---------------------------------------------------------------------------
# R reference


@pytest.mark.parametrize("name", sorted(CASES))
def test_propensity_scores_equal_glm(name: str) -> None:
    frame, treatment, covariates = _frame(name)
    ps = propensity_scores(frame, treatment, covariates)
    want = _by_id(CASES[name]["propensity"], frame.index)
    np.testing.assert_allclose(ps.to_numpy(), want, rtol=REL, atol=0)


@pytest.mark.parametrize(("name", "scheme"), SCHEMES)
def test_weights_equal_r(name: str, scheme: str) -> None:
    frame, treatment, covariates = _frame(name)
    spec = CASES[name]["schemes"][scheme]
    w = propensity_weights(frame, treatment, covariates, **_scheme_kwargs(spec))
    assert w.index.equals(frame.index)
    np.testing.assert_allclose(w.to_numpy(), _by_id(spec["weights"], frame.index), rtol=REL, atol=0)
    assert w.attrs["estimand"] == spec["estimand"]
    assert w.attrs["stabilize"] == spec["stabilize"]


@pytest.mark.parametrize(("name", "scheme"), SCHEMES)
def test_weighted_balance_and_ess_equal_matchit_summary(name: str, scheme: str) -> None:
    """MatchIt's summary() of the weights: the estimand's SD, means, variance ratios, ESS."""
    frame, treatment, covariates = _frame(name)
    spec = CASES[name]["schemes"][scheme]
    ps = _by_id(CASES[name]["propensity"], frame.index)
    with_distance = frame.assign(distance=ps)[["distance", *frame.columns]]
    r_weights = pd.Series(_by_id(spec["weights"], frame.index), index=frame.index)
    ours = propensity_weights(frame, treatment, covariates, **_scheme_kwargs(spec))
    # MatchIt has no ATO: its summary() of overlap weights used the ATE object (pooled SD)
    estimand = spec["estimand"]
    for w in (r_weights, ours):
        table = balance(
            with_distance, treatment, ["distance", *covariates], weights=w, estimand=estimand
        )
        for part, when in (("sum_all", "before"), ("sum_matched", "after")):
            _assert_like_r(table, spec[part], when, f"{name} {scheme} {part}")
        ess = effective_sample_size(frame[treatment], w)
        assert ess["treated"] == pytest.approx(float(spec["ess_treated"]), rel=REL)
        assert ess["control"] == pytest.approx(float(spec["ess_control"]), rel=REL)


def test_reference_exercises_what_it_is_meant_to() -> None:
    """Guard: trimming bites, ties sit at the trimming quantile, and the SD conventions differ."""
    for name in CASES:
        schemes = CASES[name]["schemes"]
        index = list(schemes["att"]["weights"])
        treat = pd.read_csv(DATA / CASES[name]["data"], index_col=CASES[name]["id"])
        treated = (
            (treat[CASES[name].get("treatment_column", CASES[name]["treatment"])] == 1)
            | (treat.get("arm", pd.Series("", index=treat.index)) == "blinatumomab")
        ).reindex(index)
        att = pd.Series(schemes["att"]["weights"])
        att_trim = pd.Series(schemes["att_trim_90"]["weights"])
        # the treated keep weight 1 under ATT trimming; some controls are capped
        assert (att_trim[treated.to_numpy()] == 1).all()
        if name == "single":  # 8 patients: the 0.1 quantile is the minimum
            continue
        assert (att_trim < att).sum() > 0
        ate = pd.Series(schemes["ate"]["weights"])
        two_sided = pd.Series(schemes["ate_trim_10_two_sided"]["weights"])
        assert (two_sided > ate).any() and (two_sided < ate).any()
    # the ties data: the upper bound is a weight shared by several patients
    ate = pd.Series(CASES["ties"]["schemes"]["ate"]["weights"])
    trimmed = pd.Series(CASES["ties"]["schemes"]["ate_trim_95"]["weights"])
    top = trimmed.max()
    assert (ate == top).sum() > 1 and (ate > top).any()
    # ATE and ATT standardise differently: the SMDs before weighting differ
    lal = CASES["lalonde"]["schemes"]
    assert lal["ate"]["sum_all"]["smd"][1] != pytest.approx(lal["att"]["sum_all"]["smd"][1])


# ---------------------------------------------------------------------------
# by hand


def test_weights_by_estimand_by_hand() -> None:
    ps = pd.Series([0.8, 0.5, 0.2, 0.5, 0.25], index=["a", "b", "c", "d", "e"])
    t = [1, 1, 0, 0, 0]
    att = weights_from_scores(ps, t, estimand="ATT")
    assert att.tolist() == pytest.approx([1, 1, 0.25, 1, 1 / 3], rel=1e-15)
    assert list(att.index) == ["a", "b", "c", "d", "e"]
    ate = weights_from_scores(ps, t, estimand="ATE")
    assert ate.tolist() == pytest.approx([1.25, 2, 1.25, 2, 4 / 3], rel=1e-15)
    ato = weights_from_scores(ps, t, estimand="ATO")
    assert ato.tolist() == pytest.approx([0.2, 0.5, 0.2, 0.5, 0.25], rel=1e-15)
    # stabilised: the treated are 2 of 5, the controls 3 of 5
    stab = weights_from_scores(ps, t, estimand="ATE", stabilize=True)
    assert stab.tolist() == pytest.approx(
        [1.25 * 0.4, 2 * 0.4, 1.25 * 0.6, 2 * 0.6, 4 / 3 * 0.6], rel=1e-15
    )


def test_propensity_weights_use_the_glm_scores() -> None:
    f = pd.DataFrame(
        {"t": [1, 1, 0, 0, 1, 0, 1, 0], "x": [2.0, 1.0, 0.5, 1.5, 0.2, 0.1, 3.0, 2.5]},
        index=[f"P{i}" for i in range(8)],
    )
    ps = propensity_scores(f, "t", ["x"]).to_numpy()
    w = propensity_weights(f, "t", ["x"], estimand="ATE").to_numpy()
    t = f["t"].to_numpy()
    np.testing.assert_allclose(w, np.where(t == 1, 1 / ps, 1 / (1 - ps)), rtol=1e-15)


@pytest.mark.parametrize(
    ("n", "p", "position"),
    [
        # j = floor(n p - 0.5); the j-th order statistic when n p - 0.5 == j is even, else j + 1
        (10, 0.9, 9),  # 8.5: not an integer -> 9th
        (10, 0.95, 10),  # 9.0, odd -> 10th
        (10, 0.85, 8),  # 8.0, even -> 8th
        (5, 0.5, 2),  # 2.0, even -> 2nd (R: quantile(1:5, 0.5, type = 3) is 2)
        (4, 0.5, 2),  # 1.5 -> 2nd
        (7, 0.05, 1),  # -0.15: j = -1, clamped to the 1st
        (7, 0.0, 1),  # the minimum
        (7, 1.0, 7),  # the maximum
        (120, 0.9, 108),  # 107.5 -> 108th
    ],
)
def test_quantile_type3_by_hand(n: int, p: float, position: int) -> None:
    values = np.arange(1, n + 1, dtype=float)[::-1] * 1.5  # given unsorted
    assert quantile_type3(values, p) == 1.5 * position


def test_trim_att_caps_only_controls_at_their_quantile() -> None:
    # controls 0.5, 1, 2, 4, 8 (n = 5): 0.8 quantile, 5 * 0.8 - 0.5 = 3.5 -> 4th smallest = 4
    w = [1.0, 1.0, 0.5, 1.0, 2.0, 4.0, 8.0]
    t = [1, 1, 0, 0, 0, 0, 0]
    out = trim_weights(w, t, 0.8, estimand="ATT")
    assert out.tolist() == [1.0, 1.0, 0.5, 1.0, 2.0, 4.0, 4.0]
    assert out.attrs["trim_bounds"] == (0.5, 4.0)
    # a treated weight above the bound is not the controls' business
    out = trim_weights([9.0, 1.0, 0.5, 1.0, 2.0, 4.0, 8.0], t, 0.8, estimand="ATT")
    assert out.iloc[0] == 9.0


def test_trim_ate_two_sided_and_symmetric_quantile() -> None:
    # all 10 weights trimmable: 0.9 -> 9th smallest (8.5 not an integer), 0.1 -> 1 - 0.5 = 0.5
    # -> 1st smallest
    w = [10.0, 1.0, 3.0, 2.0, 7.0, 5.0, 4.0, 9.0, 6.0, 8.0]
    t = [1, 0, 1, 0, 1, 0, 1, 0, 1, 0]
    one = trim_weights(w, t, 0.9)
    assert one.tolist() == [9.0, 1.0, 3.0, 2.0, 7.0, 5.0, 4.0, 9.0, 6.0, 8.0]
    both = trim_weights(w, t, 0.8, lower=True)
    # 0.8: 7.5 -> 8th smallest = 8; 0.2: 1.5 -> 2nd smallest = 2
    assert both.tolist() == [8.0, 2.0, 3.0, 2.0, 7.0, 5.0, 4.0, 8.0, 6.0, 8.0]
    # at = 0.2 is at = 0.8 (WeightIt: max(at, 1 - at))
    assert trim_weights(w, t, 0.2, lower=True).tolist() == both.tolist()


def test_stabilised_weights_are_trimmed_after_stabilising() -> None:
    ps = [0.9, 0.8, 0.5, 0.5, 0.1, 0.2, 0.3, 0.4, 0.6, 0.7]
    t = [1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
    stab = weights_from_scores(ps, t, estimand="ATE", stabilize=True)
    both = weights_from_scores(ps, t, estimand="ATE", stabilize=True, trim=0.9)
    assert both.tolist() == trim_weights(stab, t, 0.9).tolist()
    assert both.attrs["trim"] == 0.9 and both.attrs["trim_bounds"] is not None


def test_weights_of_text_arms_and_labels() -> None:
    f = pd.DataFrame(
        {
            "arm": ["blinatumomab", "chemotherapy"] * 4,
            "age": [3.0, 5.0, 7.0, 2.0, 9.0, 4.0, 6.0, 8.0],
        },
        index=[f"BLN-{i}" for i in range(8)],
    )
    w = propensity_weights(f, "arm", ["age"])
    assert w.name == "weight" and w.index.equals(f.index)
    assert (w[f["arm"] == "blinatumomab"] == 1.0).all()


# ---------------------------------------------------------------------------
# bad input

P = pd.Series([0.5, 0.2, 1.0, 0.4], index=["p1", "p2", "p3", "p4"])


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (
            lambda: weights_from_scores(P, [1, 0, 1, 0]),
            r"strictly between 0 and 1; not at patient 'p3' \(1\)",
        ),
        (lambda: weights_from_scores([0.5, np.nan], [1, 0]), r"not at entry 2 \(missing\)"),
        (
            lambda: weights_from_scores([0.5, 0.5], [1, 0], estimand="ATC"),  # type: ignore[arg-type]
            r"estimand must be one of ATT, ATE, ATO; got 'ATC'",
        ),
        (
            lambda: weights_from_scores([0.5, 0.5], [1, 0], stabilize=True),
            r"stabilize applies to ATE weights only",
        ),
        (
            lambda: weights_from_scores([0.5, 0.5], [1, 0], estimand="ATO", stabilize=True),
            r"ATO weights are not stabilised",
        ),
        (
            lambda: weights_from_scores([0.5, 0.5], [1, 0], trim=1.0),
            r"trim must be a quantile strictly between 0 and 1; got 1",
        ),
        (lambda: weights_from_scores([0.5, 0.5], [1, 0], trim=0), r"got 0"),
        (lambda: weights_from_scores([0.5, 0.5], [1, 0], trim=True), r"got True"),
        (lambda: weights_from_scores([0.5, 0.5], [1, 0], trim=np.float64("nan")), r"got missing"),
        (
            lambda: weights_from_scores([0.5, 0.5, 0.5], [1, 0]),
            r"3 propensity scores for 2 patients",
        ),
        (lambda: weights_from_scores([0.5, 0.5], [1, 1]), r"single arm"),
        (
            lambda: weights_from_scores(P, pd.Series([1, 0, 1, 0], index=["p1", "p2", "p4", "p3"])),
            r"propensity scores must be indexed like the treatment",
        ),
        (
            lambda: trim_weights([1.0, -1.0], [1, 0], 0.9),
            r"weights must be >= 0; not at entry 2 \(-1\)",
        ),
        (
            lambda: propensity_weights(pd.DataFrame({"t": [1, 0], "x": [1.0, None]}), "t", ["x"]),
            r"missing",
        ),
        (
            lambda: propensity_weights(pd.DataFrame({"t": [1, 0], "x": [1.0, 2.0]}), "t", []),
            r"no covariates",
        ),
    ],
)
def test_rejects_bad_input(call: Any, pattern: str) -> None:
    with pytest.raises(InputError, match=pattern) as info:
        call()
    assert "np." not in str(info.value)


def test_no_runtime_warnings(recwarn: pytest.WarningsRecorder) -> None:
    # complete separation: R's clamped scores give extreme, finite weights
    f = pd.DataFrame({"t": [1, 1, 1, 0, 0, 0], "x": [5.0, 6.0, 7.0, 1.0, 2.0, 3.0]})
    for estimand in ("ATT", "ATE", "ATO"):
        w = propensity_weights(f, "t", ["x"], estimand=estimand, trim=0.9)
        assert np.isfinite(w).all()
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


# ---------------------------------------------------------------------------
# properties


@st.composite
def scored_arms(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n_t = draw(st.integers(1, 12))
    n_c = draw(st.integers(1, 20))
    t = np.array(draw(st.permutations([1] * n_t + [0] * n_c)))
    ps = np.array(
        draw(
            st.lists(
                st.floats(1e-6, 1 - 1e-6, allow_nan=False),
                min_size=n_t + n_c,
                max_size=n_t + n_c,
            )
        )
    )
    return ps, t


@SETTINGS
@given(data=scored_arms(), trim=st.one_of(st.none(), st.floats(0.05, 0.95)), lower=st.booleans())
def test_att_weights_are_one_on_every_treated_patient(
    data: tuple[np.ndarray, np.ndarray], trim: float | None, lower: bool
) -> None:
    ps, t = data
    w = weights_from_scores(ps, t, estimand="ATT", trim=trim, trim_lower=lower).to_numpy()
    assert (w[t == 1] == 1.0).all()
    assert (w[t == 0] > 0).all()


@SETTINGS
@given(data=scored_arms())
def test_stabilising_scales_each_arm_by_its_share(data: tuple[np.ndarray, np.ndarray]) -> None:
    ps, t = data
    plain = weights_from_scores(ps, t, estimand="ATE").to_numpy()
    stab = weights_from_scores(ps, t, estimand="ATE", stabilize=True).to_numpy()
    for arm in (0, 1):
        share = np.mean(t == arm)
        np.testing.assert_allclose(stab[t == arm], plain[t == arm] * share, rtol=1e-15)


@SETTINGS
@given(
    data=scored_arms(),
    estimand=st.sampled_from(["ATT", "ATE", "ATO"]),
    at=st.floats(0.01, 0.99),
    lower=st.booleans(),
)
def test_trimming_caps_within_bounds_and_keeps_order(
    data: tuple[np.ndarray, np.ndarray], estimand: str, at: float, lower: bool
) -> None:
    ps, t = data
    w = weights_from_scores(ps, t, estimand=estimand).to_numpy()  # type: ignore[arg-type]
    out = trim_weights(w, t, at, lower=lower, estimand=estimand)  # type: ignore[arg-type]
    lo, hi = out.attrs["trim_bounds"]
    trimmable = t == 0 if estimand == "ATT" else np.ones(t.size, dtype=bool)
    got = out.to_numpy()
    assert (got[~trimmable] == w[~trimmable]).all()
    assert ((got[trimmable] >= lo) & (got[trimmable] <= hi)).all()
    inside = trimmable & (w >= lo) & (w <= hi)
    assert (got[inside] == w[inside]).all()
    # bounds are weights that occur, and the order of the trimmable weights is kept
    assert lo in w[trimmable] and hi in w[trimmable]
    order = np.argsort(w[trimmable], kind="stable")
    assert (np.diff(got[trimmable][order]) >= 0).all()
    if not lower:
        assert lo == w[trimmable].min()


@SETTINGS
@given(
    values=st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=40),
    p=st.floats(0, 1),
)
def test_quantile_type3_is_an_order_statistic_splitting_the_sample(
    values: list[float], p: float
) -> None:
    x = np.array(values)
    q = quantile_type3(x, p)
    assert q in x
    n = x.size
    # at least ceil(n p - 0.5) values are <= q (type 3 rounds n p - 0.5 to even)
    assert np.sum(x <= q) >= min(n, max(1, math.floor(n * p - 0.5)))
    assert np.sum(x >= q) >= 1


@SETTINGS
@given(data=scored_arms(), c=st.sampled_from([0.3, 2.0, 17.0]))
def test_stabilising_does_not_change_weighted_balance(
    data: tuple[np.ndarray, np.ndarray], c: float
) -> None:
    ps, t = data
    assume(0 < t.sum() < t.size)
    x = np.round(ps * 10 + c, 3)
    frame = pd.DataFrame({"t": t, "x": x, "b": (ps > 0.5).astype(int)})
    plain = weights_from_scores(ps, t, estimand="ATE")
    stab = weights_from_scores(ps, t, estimand="ATE", stabilize=True)
    a = balance(frame, "t", ["x", "b"], weights=plain, estimand="ATE")
    b = balance(frame, "t", ["x", "b"], weights=stab, estimand="ATE")
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-9, atol=1e-12)
    ess_a = effective_sample_size(t, plain)
    ess_b = effective_sample_size(t, stab)
    assert ess_a["treated"] == pytest.approx(ess_b["treated"], rel=1e-12)
    assert ess_a["control"] == pytest.approx(ess_b["control"], rel=1e-12)

"""Fine-Gray regression against R's cmprsk 2.2-11 ``crr``, by hand, and by properties.

The inputs and ``tests/data/cmprsk.expected.json`` are those of
``tests/test_cuminc.py`` (script: ``tests/data/make_cmprsk_reference.R``):
``crr`` coefficients, standard errors from its ``$var``, Wald p-values and
intervals, and pseudo log-likelihoods, for numeric and categorical covariates,
one and several covariates, causes 1, 2 and 3, tied times, times of 0 and
near-equal times. Every number is checked to 1e-6 relative. Where ``crr``
diverges (monotone pseudo-likelihood) the fit must be "not estimable".
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blinastudy.core.errors import InputError
from blinastudy.stats.survival import cox, fine_gray
from tests._reference import as_list, assert_r
from tests.test_cuminc import check_message, dataset, expected

DIVERGING = ["monotone", "diverging", "rare_monotone"]
ESTIMABLE = [
    i
    for i, ref in enumerate(expected()["crr"])
    if ref["converged"] and ref["case"] not in DIVERGING
]


def fit_case(ref: dict[str, Any]) -> pd.DataFrame:
    d = dataset(ref["case"])
    return fine_gray(
        d,
        "time",
        "cause",
        as_list(ref["covariates"]),
        cause=ref["cause"],
        reference=ref["reference"] or None,
    )


@pytest.mark.parametrize("index", ESTIMABLE)
def test_fine_gray_as_crr(index: int) -> None:
    ref = expected()["crr"][index]
    table = fit_case(ref)
    what = f"{ref['case']} cause {ref['cause']} ~ {ref['covariates']}"
    assert list(table.index) == as_list(ref["names"]), what
    assert_r(np.log(table["shr"]), ref["coef"], f"{what}: coef")
    assert_r(table["se"], ref["se"], f"{what}: se")
    assert_r(table["p_value"], ref["p"], f"{what}: p")
    assert_r(table["ci_lower"], ref["lower"], f"{what}: lower")
    assert_r(table["ci_upper"], ref["upper"], f"{what}: upper")
    assert_r(table.attrs["loglik"], ref["loglik"], f"{what}: loglik")
    assert_r(table.attrs["loglik_null"], ref["loglik_null"], f"{what}: loglik.null")
    assert (table["method"] == "fine-gray").all()
    assert table.attrs["converged"] and table.attrs["note"] == ""


def test_reference_covers_ties_zero_times_and_categories() -> None:
    cases = {ref["case"] for ref in expected()["crr"]}
    assert {"synthetic", "transplant", "mgus2", "zero_times", "mixed_ties", "near_ties"} <= cases
    causes = {expected()["crr"][i]["cause"] for i in ESTIMABLE}
    assert causes == {1, 2, 3}
    refs = [fit_case(expected()["crr"][i])["reference"] for i in ESTIMABLE]
    assert any((r == "HR").any() for r in refs)  # a chosen reference level
    assert any((r == "SR").any() for r in refs)  # the default: the most frequent level


def test_near_equal_times_tie_only_in_the_censoring_distribution() -> None:
    # crr estimates G with survfit, which ties times a few ulps apart; breaking that
    # tie would change G just before the later time, and so the weights
    d = dataset("near_ties")
    ref = next(r for r in expected()["crr"] if r["case"] == "near_ties")
    snapped = d.assign(time=d["time"].round(9))
    moved = fine_gray(snapped, "time", "cause", ["x"])
    assert_r(np.log(fit_case(ref)["shr"]), ref["coef"], "near ties")
    assert not np.isclose(np.log(moved["shr"].iloc[0]), ref["coef"], rtol=1e-9, atol=0)


@pytest.mark.parametrize("case", DIVERGING)
def test_diverging_estimate_is_not_estimable(case: str) -> None:
    ref = next(r for r in expected()["crr"] if r["case"] == case)
    assert abs(ref["coef"]) > 5  # crr drifts off towards minus infinity
    table = fit_case(ref)
    assert table["shr"].isna().all() and table["se"].isna().all()
    assert table["p_value"].isna().all()
    assert (table["method"] == "not estimable").all()
    assert table.attrs["method"] == "not estimable"
    assert "monotone" in table.attrs["note"] or "diverges" in table.attrs["note"]


def test_rare_monotone_is_caught_although_crr_calls_it_converged() -> None:
    ref = next(r for r in expected()["crr"] if r["case"] == "rare_monotone")
    assert ref["converged"] is True  # crr's stopping rule is met at about -8
    table = fit_case(ref)
    assert "diverges" in table.attrs["note"]


def test_level_without_events_is_named() -> None:
    table = fit_case(next(r for r in expected()["crr"] if r["case"] == "monotone"))
    assert "no events of the cause where x = 1" in table.attrs["note"]


# ---------------------------------------------------------------------------
# by hand


def test_eight_patients_by_hand() -> None:
    # time   1  2  3  4  5  6  7  8
    # event  1  2  1  0  1  1  2  0     arm 0 for t <= 4, 1 after
    # Censoring Kaplan-Meier: G = 1 up to 4, 4/5 after (one of 5 censored at 4), so
    # G(t-) = 1 for t <= 4 and 4/5 for 4 < t <= 8. With r = exp(b) for arm 1, the
    # weighted risk sets at the events of cause 1:
    #   t=1: all 8                                  4 + 4r   (event in arm 0)
    #   t=3: T >= 3 (2 arm 0, 4 arm 1) + death at 2  3 + 4r   (arm 0)
    #   t=5: T >= 5 (4 arm 1) + death at 2 x G(5-)/G(2-) = 4/5   4/5 + 4r (arm 1)
    #   t=6: T >= 6 (3 arm 1) + the same 4/5          4/5 + 3r (arm 1)
    # Score: 2 - r/(1+r) - 4r/(3+4r) - 4r/(4/5+4r) - 3r/(4/5+3r) = 0. The first and
    # third terms add to 1 exactly when 4r^2 = 4/5, the second and fourth when
    # 12r^2 = 12/5: r = 1/sqrt(5).
    f = pd.DataFrame(
        {
            "t": [1, 2, 3, 4, 5, 6, 7, 8],
            "e": [1, 2, 1, 0, 1, 1, 2, 0],
            "arm": [0, 0, 0, 0, 1, 1, 1, 1],
        }
    )
    fg = fine_gray(f, "t", "e", ["arm"])
    assert fg.loc["arm", "shr"] == pytest.approx(5**-0.5, rel=1e-9)
    r = 5**-0.5
    loglik = 2 * math.log(r) - sum(
        math.log(v) for v in (4 + 4 * r, 3 + 4 * r, 0.8 + 4 * r, 0.8 + 3 * r)
    )
    assert fg.attrs["loglik"] == pytest.approx(loglik, rel=1e-9)
    assert fg.attrs["loglik_null"] == pytest.approx(-math.log(8 * 7 * 4.8 * 3.8), rel=1e-12)
    assert (fg.attrs["n_events"], fg.attrs["n_competing"]) == (4, 2)


# ---------------------------------------------------------------------------
# properties


@st.composite
def cohorts(draw: Any) -> pd.DataFrame:
    n = draw(st.integers(30, 80))
    rows = draw(
        st.lists(
            st.tuples(
                st.integers(1, 12),
                st.sampled_from([0, 1, 1, 2]),
                st.integers(0, 1),
                st.floats(-2, 2, allow_nan=False).map(lambda v: round(v, 2)),
            ),
            min_size=n,
            max_size=n,
        )
    )
    return pd.DataFrame(rows, columns=["t", "e", "arm", "x"])


def _estimable(table: pd.DataFrame) -> bool:
    return bool((table["method"] == "fine-gray").all())


@settings(max_examples=40, deadline=None)
@given(cohorts(), st.randoms(use_true_random=False))
def test_row_order_does_not_matter(frame: pd.DataFrame, rnd: Any) -> None:
    if not (frame["e"] == 1).any():
        frame.loc[0, "e"] = 1
    table = fine_gray(frame, "t", "e", ["arm", "x"])
    order = list(frame.index)
    rnd.shuffle(order)
    again = fine_gray(frame.loc[order], "t", "e", ["arm", "x"])
    assert list(again["method"]) == list(table["method"])
    if _estimable(table):
        np.testing.assert_allclose(again["shr"], table["shr"], rtol=1e-8)
        np.testing.assert_allclose(again["se"], table["se"], rtol=1e-8)


@settings(max_examples=40, deadline=None)
@given(cohorts())
def test_without_competing_events_the_coefficients_are_coxs(frame: pd.DataFrame) -> None:
    # no competing events: the weighted risk sets are the ordinary ones and the
    # pseudo-likelihood is Cox's with Breslow's ties (crr stops a little earlier)
    frame = frame.assign(e=np.where(frame["e"] == 2, 1, frame["e"]))
    if not (frame["e"] == 1).any():
        frame.loc[0, "e"] = 1
    table = fine_gray(frame, "t", "e", ["arm", "x"])
    if not _estimable(table):
        return
    ref = cox(frame, "t", "e", ["arm", "x"], ties="breslow", firth=False)
    gap = np.abs(np.log(table["shr"]) - np.log(ref["hr"]))
    assert (gap <= 1e-3 * table["se"]).all()


def test_aliased_covariate_is_not_estimable_and_the_rest_is_fitted() -> None:
    d = dataset("synthetic")
    d = d.assign(arm_copy=2 * d["arm"], const=1.0)
    table = fine_gray(d, "time", "cause", ["arm", "arm_copy", "const", "age"])
    alone = fine_gray(d, "time", "cause", ["arm", "age"])
    assert list(table["method"]) == ["fine-gray", "not estimable", "not estimable", "fine-gray"]
    assert table.loc[["arm_copy", "const"], "shr"].isna().all()
    np.testing.assert_allclose(table.loc[["arm", "age"], "shr"], alone["shr"], rtol=1e-9)
    np.testing.assert_allclose(table.loc[["arm", "age"], "se"], alone["se"], rtol=1e-9)
    assert "arm_copy" in table.attrs["note"] and "const" in table.attrs["note"]
    only = fine_gray(d, "time", "cause", ["const"])
    assert only.attrs["method"] == "not estimable"


def test_covariate_without_information_is_not_estimable() -> None:
    # x = 1 only for patients censored before the first event: never in a risk set
    d = pd.DataFrame(
        {"t": [0.5, 0.5, 2, 3, 4, 5, 6], "e": [0, 0, 1, 2, 1, 1, 0], "x": [1, 1, 0, 0, 0, 0, 0]}
    )
    table = fine_gray(d, "t", "e", ["x"])
    assert table.attrs["method"] == "not estimable"
    assert table["shr"].isna().all()


def test_zero_sandwich_variance_is_not_estimable() -> None:
    # two patients, both with the event at one time: b = 0 and each score residual is
    # (z - mean z)(1 - 2 r / S0) = 0, so crr's variance is 0 - no basis for an interval
    d = pd.DataFrame({"t": [3.0, 3.0], "e": [1, 1], "z": [1.0, -0.3]})
    table = fine_gray(d, "t", "e", ["z"])
    assert table.attrs["method"] == "not estimable"
    assert "sandwich variance is zero" in table.attrs["note"]


# ---------------------------------------------------------------------------
# messages


def test_messages_name_the_patient() -> None:
    d = pd.DataFrame(
        {"t": [1.0, 2, 3, 4], "e": [1, 0, -1, 2], "x": [0, 1, 0, 1]},
        index=["P1", "P2", "P3", "P4"],
    )
    with pytest.raises(InputError) as exc:
        fine_gray(d, "t", "e", ["x"])
    check_message(exc, "patient 'P3' (-1)")
    with pytest.raises(InputError) as exc:
        fine_gray(d.assign(e=[1, 0, 0.5, 2]), "t", "e", ["x"])
    check_message(exc, "patient 'P3' (0.5)")
    with pytest.raises(InputError) as exc:
        fine_gray(d.assign(e=[1, 0, 0, 2]), "t", "e", ["x"], cause=3)
    check_message(exc, "cause 3 never occurs", "present are 1, 2")
    with pytest.raises(InputError) as exc:
        fine_gray(d.assign(x=[0, np.nan, 1, 1], e=[1, 0, 0, 2]), "t", "e", ["x"])
    check_message(exc, "covariate 'x' has missing values at patient 'P2'")
    with pytest.raises(InputError) as exc:
        fine_gray(d.assign(e=[1, 0, 0, 2]), "t", "e", ["age"])
    check_message(exc, "missing column(s) 'age'")
    with pytest.raises(InputError) as exc:
        fine_gray(d.assign(e=[1, 0, 0, 2]), "t", "e", ["x"], conf_level=95)
    check_message(exc, "conf_level")
    with pytest.raises(InputError) as exc:
        fine_gray(d.assign(e=[1, 0, 0, 2], t=[1, -1, 2, 3]), "t", "e", ["x"])
    check_message(exc, "negative times at patient 'P2' (-1)")

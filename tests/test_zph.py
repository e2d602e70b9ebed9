"""The proportional-hazards test against R's ``cox.zph`` (survival 3.5-3).

Reference numbers from ``tests/data/make_tdc_reference.R`` (``tdc.expected.json``):
counting-process fits (heart, synthetic with a categorical covariate, weights),
right-censored fits with ties (veteran with a four-level cell type, strata;
lung with two and three covariates, Breslow), each for the ``km``, ``identity``
and ``rank`` transforms, compared to 1e-6 relative; the scaled Schoenfeld
residuals for three of them. Then a case by hand, properties and messages.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from blinastudy.core.errors import InputError
from blinastudy.stats.survival import cox, ph_residuals, ph_test, split_at
from tests._reference import assert_r
from tests.test_tdc import _csv, expected, heart, synth_split, veteran

TRANSFORMS = ["km", "identity", "rank"]


@cache
def lung() -> pd.DataFrame:
    return _csv("tdc_lung.csv")


def _args(case: str) -> tuple[pd.DataFrame, str, str, list[str], dict[str, Any]]:
    adeno = {"reference": {"celltype": "adeno"}}
    cases: dict[str, tuple[pd.DataFrame, str, str, list[str], dict[str, Any]]] = {
        "heart": (heart(), "stop", "event", ["transplant", "age", "surgery"],
                  {"start": "start", "cluster": "id"}),
        "synth": (synth_split(), "stop", "status", ["exposed", "risk", "age"],
                  {"start": "start", "cluster": "id", "reference": {"risk": "LR"}}),
        "synth_w": (synth_split(), "stop", "status", ["exposed", "age"],
                    {"start": "start", "cluster": "id", "weights": "w"}),
        "veteran": (veteran(), "time", "status", ["trt", "celltype", "karno"], adeno),
        "veteran_strata": (veteran(), "time", "status", ["karno", "celltype"],
                           {**adeno, "strata": "trt"}),
        "lung": (lung(), "time", "status", ["age", "sex", "ph.ecog"], {}),
        "lung_breslow": (lung(), "time", "status", ["age", "sex"], {"ties": "breslow"}),
    }  # fmt: skip
    return cases[case]


CASES = [(case, tr) for case in sorted(expected()["zph"]) for tr in TRANSFORMS]


@pytest.mark.parametrize(("case", "transform"), CASES)
def test_ph_test_is_cox_zph(case: str, transform: str) -> None:
    frame, duration, event, covs, kw = _args(case)
    table = ph_test(frame, duration, event, covs, transform=transform, **kw)  # type: ignore[arg-type]
    ref = expected()["zph"][case][transform]
    assert list(table.index) == ref["terms"]
    assert_r(table["chisq"], ref["chisq"], "chisq")
    assert table["df"].tolist() == ref["df"]
    assert_r(table["p_value"], ref["p_value"], "p")


def test_a_factor_is_one_term_with_its_columns_as_df() -> None:
    table = ph_test(*_args("veteran")[:4], **_args("veteran")[4])
    assert table.loc["celltype", "df"] == 3
    assert table.loc["GLOBAL", "df"] == 5


RESIDUAL_CASES = [(case, tr) for case in ("heart", "veteran", "synth") for tr in TRANSFORMS]


@pytest.mark.parametrize(("case", "transform"), RESIDUAL_CASES)
def test_scaled_schoenfeld_residuals_are_cox_zph(case: str, transform: str) -> None:
    frame, duration, event, covs, kw = _args(case)
    res = ph_residuals(frame, duration, event, covs, transform=transform, **kw)  # type: ignore[arg-type]
    ref = expected()["zph"][case][transform]
    assert_r(res["time"], ref["time"], "time")
    assert_r(res["transformed"], ref["x"], "x")
    assert list(res.columns[2:]) == list(ref["y"])
    for term, values in ref["y"].items():
        assert_r(res[term], values, f"y {term}")


def test_a_cluster_does_not_change_the_test() -> None:
    frame, duration, event, covs, kw = _args("heart")
    robust = ph_test(frame, duration, event, covs, **kw)
    plain = ph_test(frame, duration, event, covs, start="start")
    pd.testing.assert_frame_equal(robust, plain)


# --------------------------------------------------------------------------- by hand


def test_ph_test_by_hand() -> None:
    # Rows (start, stop] with x: A (0,1] x=1 death, B (0,2] x=0 death, C (1.5,3] x=1.
    # t=1: risk set {A, B} (C enters at 1.5), the death has x=1; t=2: {B, C}, x=0.
    # Score at 0: (1 - 1/2) + (0 - 1/2) = 0, so beta-hat = 0; each risk set has
    # variance 1/4. With g centred on the two event times (-a, +a, any transform):
    # U = -a (1 - 1/2) + a (0 - 1/2) = -a; I11 = 1/2, I12 = 0, I22 = a^2 / 2;
    # chi-square = a^2 / (a^2 / 2) = 2 on 1 df.
    frame = pd.DataFrame(
        {"start": [0.0, 0.0, 1.5], "stop": [1.0, 2.0, 3.0], "e": [1, 1, 0], "x": [1, 0, 1]}
    )
    for transform in TRANSFORMS:
        table = ph_test(frame, "stop", "e", ["x"], start="start", transform=transform)  # type: ignore[arg-type]
        assert table.loc["x", "chisq"] == pytest.approx(2.0, rel=1e-12)
        assert table.loc["GLOBAL", "p_value"] == pytest.approx(math.erfc(1.0), rel=1e-12)
    res = ph_residuals(frame, "stop", "e", ["x"], start="start", transform="identity")
    # Schoenfeld residuals 1/2 and -1/2, scaled by the mean information 1/4: +2, -2
    assert res["x"].tolist() == pytest.approx([2.0, -2.0], rel=1e-12)
    assert res["transformed"].tolist() == [1.0, 2.0]


# --------------------------------------------------------------------------- properties


@st.composite
def patients(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(6, 30))
    t = draw(st.lists(st.integers(1, 12), min_size=n, max_size=n))
    e = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    x = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    z = draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n))
    frame = pd.DataFrame({"pid": range(n), "t": t, "e": e, "x": x, "z": z})
    frame["cut"] = frame["t"] / 2.0
    return frame


def _fits(frame: pd.DataFrame) -> bool:
    if frame.loc[frame["e"] == 1, "t"].nunique() < 2:
        return False  # no change over time to test
    table = cox(frame, "t", "e", ["x", "z"])
    return bool((table["method"] == "ml").all() and (table["hr"].between(1e-3, 1e3)).all())


def _or_skip(run: Any) -> pd.DataFrame:
    """The result, or skip the example when the extended model is singular (no test)."""
    try:
        out: pd.DataFrame = run()
    except InputError as err:  # e.g. a single row at risk at the last event times
        assert "singular" in str(err)
        assume(False)
        raise
    return out


@settings(max_examples=40, deadline=None)
@given(frame=patients(), transform=st.sampled_from(["km", "identity"]))
def test_splitting_rows_leaves_the_test_unchanged(frame: pd.DataFrame, transform: str) -> None:
    assume(_fits(frame))
    rows = split_at(frame, id="pid", duration="t", event="e", at="cut")
    plain = _or_skip(lambda: ph_test(frame, "t", "e", ["x", "z"], transform=transform))  # type: ignore[arg-type]
    split = _or_skip(
        lambda: ph_test(rows, "stop", "e", ["x", "z"], start="start", transform=transform)  # type: ignore[arg-type]
    )
    # both fits stop at coxph's convergence rule, a hair apart: chi-squares that are 0
    # up to that noise differ in their last digits
    np.testing.assert_allclose(split["chisq"], plain["chisq"], rtol=1e-5, atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(frame=patients(), transform=st.sampled_from(TRANSFORMS))
def test_scaled_residuals_average_to_the_coefficient(frame: pd.DataFrame, transform: str) -> None:
    # the Schoenfeld residuals sum to the score, 0 at the estimate; scaled by the mean
    # information and shifted by beta they average to beta (one stratum, no weights)
    assume(_fits(frame))
    res = _or_skip(lambda: ph_residuals(frame, "t", "e", ["x", "z"], transform=transform))  # type: ignore[arg-type]
    coef = np.log(cox(frame, "t", "e", ["x", "z"], firth=False)["hr"].to_numpy())
    np.testing.assert_allclose(res[["x", "z"]].mean().to_numpy(), coef, rtol=1e-6, atol=1e-7)
    assert len(res) == frame["e"].sum()


@settings(max_examples=30, deadline=None)
@given(frame=patients(), seed=st.integers(0, 2**32 - 1))
def test_row_order_does_not_matter(frame: pd.DataFrame, seed: int) -> None:
    assume(_fits(frame))
    table = _or_skip(lambda: ph_test(frame, "t", "e", ["x", "z"]))
    shuffled = frame.sample(frac=1.0, random_state=np.random.default_rng(seed))
    again = ph_test(shuffled, "t", "e", ["x", "z"])
    np.testing.assert_allclose(again["chisq"], table["chisq"], rtol=1e-8, atol=1e-12)


# --------------------------------------------------------------------------- messages


def test_bad_requests_say_why() -> None:
    frame = pd.DataFrame({"t": [1.0, 2.0, 3.0], "e": [0, 0, 0], "x": [0, 1, 0]})
    with pytest.raises(InputError, match=r"not estimable.*no events"):
        ph_test(frame, "t", "e", ["x"])
    with pytest.raises(
        InputError, match="transform must be one of km, identity, rank, log; got 'spline'"
    ):
        ph_test(frame, "t", "e", ["x"], transform="spline")  # type: ignore[arg-type]
    monotone = pd.DataFrame(
        {"t": [1.0, 2, 3, 4, 5, 6], "e": [1, 1, 1, 0, 0, 0], "x": [0, 0, 0, 1, 1, 1]}
    )
    with pytest.raises(InputError, match="infinite hazard ratio"):
        ph_test(monotone, "t", "e", ["x"])
    once = pd.DataFrame(
        {"t": [1.0, 1, 1, 1, 2, 3], "e": [1, 1, 1, 1, 0, 0], "x": [0, 1, 0, 1, 1, 0]}
    )
    with pytest.raises(InputError, match="all events happen at one time"):
        ph_test(once, "t", "e", ["x"])
    with pytest.raises(InputError, match=r"patient 'b'"):
        ph_test(
            pd.DataFrame({"s": [0.0, 3.0], "t": [1.0, 2.0], "e": [1, 1], "x": [0, 1]}, index=["a", "b"]),
            "t", "e", ["x"], start="s",
        )  # fmt: skip

"""E-values (blinastudy.stats.sensitivity) from VanderWeele and Ding's (2017) definitions.

R's EValue package is not installed; the cases are computed here from the paper's
formulas: E = RR + sqrt(RR (RR - 1)) for RR >= 1 (an RR below 1 inverted first), the
HR of a common outcome converted by RR = (1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1/HR)), and
the interval's E-value from the limit closer to 1, or 1 when the interval contains 1.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blinastudy.core.errors import InputError
from blinastudy.stats.sensitivity import EValue, e_value, e_value_rr, hr_to_rr

SETTINGS = settings(max_examples=200, deadline=None)


def _e(rr: float) -> float:
    return rr + math.sqrt(rr * (rr - 1))


def _common(hr: float) -> float:
    return (1 - math.pow(0.5, math.sqrt(hr))) / (1 - math.pow(0.5, math.sqrt(1 / hr)))


# ---------------------------------------------------------------------------
# by hand


def test_papers_breastfeeding_example() -> None:
    # VanderWeele and Ding 2017: RR 3.9 (95% CI 1.8 to 8.7); the paper reports E-values 7.2
    # and 3.0 (3.9 + sqrt(3.9 x 2.9) = 7.26, 1.8 + sqrt(1.8 x 0.8) = 3.0)
    res = e_value(3.9, 1.8, 8.7)
    assert isinstance(res, EValue)
    assert res.point == pytest.approx(3.9 + math.sqrt(3.9 * 2.9), rel=1e-15)
    assert res.ci == pytest.approx(1.8 + math.sqrt(1.8 * 0.8), rel=1e-15)
    assert round(res.point, 1) == 7.3 and round(res.ci, 1) == 3.0
    assert res.risk_ratio == 3.9 and res.rare_outcome


def test_protective_hr_uses_the_upper_limit_after_inverting() -> None:
    res = e_value(0.5, 0.3, 0.8)
    assert res.point == pytest.approx(_e(2.0), rel=1e-15)  # 2 + sqrt(2) = 3.414
    assert res.point == pytest.approx(2 + math.sqrt(2), rel=1e-15)
    assert res.ci == pytest.approx(_e(1 / 0.8), rel=1e-15)  # 1.25 + sqrt(0.3125) = 1.809
    assert res.risk_ratio == 2.0


def test_common_outcome_converts_the_hr_first() -> None:
    # HR 2.5 (1.4, 4.4), outcome not rare
    res = e_value(2.5, 1.4, 4.4, rare_outcome=False)
    rr = (1 - 0.5 ** math.sqrt(2.5)) / (1 - 0.5 ** math.sqrt(0.4))
    assert res.risk_ratio == pytest.approx(rr, rel=1e-15)
    assert res.point == pytest.approx(rr + math.sqrt(rr * (rr - 1)), rel=1e-15)
    assert res.ci == pytest.approx(_e(_common(1.4)), rel=1e-15)
    # the conversion shrinks towards 1: a smaller E-value than for a rare outcome
    assert res.point < e_value(2.5, 1.4, 4.4).point
    # protective HR, common outcome: invert 0.6 -> 1/0.6, then convert
    res = e_value(0.6, 0.45, 0.8, rare_outcome=False)
    assert res.point == pytest.approx(_e(_common(1 / 0.6)), rel=1e-14)
    assert res.ci == pytest.approx(_e(_common(1 / 0.8)), rel=1e-14)


@pytest.mark.parametrize(
    ("hr", "lo", "hi"), [(1.3, 0.9, 1.8), (0.8, 0.6, 1.1), (1.0, 0.7, 1.4), (2.0, 1.0, 4.0)]
)
@pytest.mark.parametrize("rare", [True, False])
def test_interval_containing_one_gives_one(hr: float, lo: float, hi: float, rare: bool) -> None:
    assert e_value(hr, lo, hi, rare_outcome=rare).ci == 1.0


def test_hr_of_one_gives_one() -> None:
    for rare in (True, False):
        res = e_value(1.0, 1.0, 1.0, rare_outcome=rare)
        assert (res.point, res.ci, res.risk_ratio) == (1.0, 1.0, 1.0)


def test_helpers() -> None:
    assert e_value_rr(1.0) == 1.0
    assert e_value_rr(4.0) == 4 + math.sqrt(12)
    assert e_value_rr(0.25) == e_value_rr(4.0)
    assert hr_to_rr(1.0) == 1.0
    assert hr_to_rr(3.0) == pytest.approx(_common(3.0), rel=1e-15)


# ---------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize(
    ("args", "kwargs", "pattern"),
    [
        ((0.0, 0.5, 1.0), {}, r"hazard ratio must be a finite number above 0; got 0"),
        ((-1.0, 0.5, 1.0), {}, r"got -1"),
        ((float("nan"), 0.5, 1.0), {}, r"hazard ratio .* got missing"),
        ((1.2, float("inf"), 2.0), {}, r"lower confidence limit .* got inf"),
        ((1.2, 1.3, 2.0), {}, r"must bracket the hazard ratio \(lower 1.3 <= HR 1.2 <= upper 2\)"),
        ((1.2, 1.0, 1.1), {}, r"must bracket"),
        (("1.2", 1.0, 1.5), {}, r"hazard ratio must be a number; got '1.2'"),
        ((True, 1.0, 1.5), {}, r"hazard ratio must be a number; got True"),
        ((1.2, 1.0, 1.5), {"rare_outcome": "no"}, r"rare_outcome must be True or False"),
    ],
)
def test_rejects_bad_input(args: tuple[Any, ...], kwargs: dict[str, Any], pattern: str) -> None:
    with pytest.raises(InputError, match=pattern) as info:
        e_value(*args, **kwargs)
    assert "np." not in str(info.value)


# ---------------------------------------------------------------------------
# properties

hrs = st.floats(1e-3, 1e3, allow_nan=False, allow_infinity=False)


@SETTINGS
@given(a=hrs, b=hrs, rare=st.booleans())
def test_e_value_grows_as_the_hr_moves_away_from_one(a: float, b: float, rare: bool) -> None:
    near, far = sorted((a, b), key=lambda h: abs(math.log(h)))
    e_near = e_value(near, near, near, rare_outcome=rare).point
    e_far = e_value(far, far, far, rare_outcome=rare).point
    assert e_near >= 1.0
    assert e_far >= e_near * (1 - 1e-12)


@SETTINGS
@given(hr=hrs, rare=st.booleans())
def test_symmetric_in_the_direction_of_the_effect(hr: float, rare: bool) -> None:
    up = e_value(hr, hr, hr, rare_outcome=rare).point
    down = e_value(1 / hr, 1 / hr, 1 / hr, rare_outcome=rare).point
    assert up == pytest.approx(down, rel=1e-12)


@SETTINGS
@given(hr=hrs, low=st.floats(0.05, 1.0), high=st.floats(1.0, 20.0), rare=st.booleans())
def test_interval_e_value_is_at_most_the_point_e_value(
    hr: float, low: float, high: float, rare: bool
) -> None:
    res = e_value(hr, hr * low, hr * high, rare_outcome=rare)
    assert 1.0 <= res.ci <= res.point * (1 + 1e-12)
    assert res.point == pytest.approx(e_value_rr(res.risk_ratio), rel=1e-15)


@SETTINGS
@given(hr=hrs)
def test_common_outcome_conversion_moves_towards_one(hr: float) -> None:
    rr = hr_to_rr(hr)
    assert abs(math.log(rr)) <= abs(math.log(hr)) + 1e-12
    assert rr == pytest.approx(1 / hr_to_rr(1 / hr), rel=1e-12)

"""E-values for unmeasured confounding of a hazard ratio (VanderWeele and Ding 2017).

The E-value is the minimum strength of association, on the risk-ratio scale,
that an unmeasured confounder would need with both the treatment and the
outcome, beyond the measured covariates, to explain away the observed
association (VanderWeele TJ, Ding P. Sensitivity analysis in observational
research: introducing the E-value. Ann Intern Med 2017;167:268-274). It follows
R's ``EValue`` package (``evalues.HR``, ``evalues.RR``, ``threshold``):

1. A hazard ratio below 1 is inverted (``HR* = 1 / HR``, and its confidence
   limits likewise), so that the E-value measures the distance from 1 either way.
2. The hazard ratio is taken as a risk ratio: as it is when the outcome is rare
   (under about 15% by the end of follow-up, ``rare_outcome=True``); otherwise by
   the square-root conversion of the paper, ``RR = (1 - 0.5^sqrt(HR)) / (1 -
   0.5^sqrt(1 / HR))``. The conversion is symmetric (``RR(1 / HR) = 1 /
   RR(HR)``), so converting before or after step 1 is the same.
3. ``E = RR + sqrt(RR (RR - 1))`` for ``RR >= 1``.
4. For the confidence interval: 1 when the interval contains 1 (no
   confounding is needed to move it to the null); otherwise the E-value of the
   limit closer to 1 (the lower limit of an HR above 1, the upper limit of an
   HR below 1), after steps 1-3. At HR = 1 both E-values are 1.

In a paediatric leukaemia cohort relapse and death are seldom rare by the end
of follow-up: use ``rare_outcome=False`` unless the event proportion is small.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

from blinastudy.core.errors import InputError
from blinastudy.core.validate import describe_value

__all__ = ["EValue", "e_value", "e_value_rr", "hr_to_rr"]


@dataclass(frozen=True)
class EValue:
    """E-values of a hazard ratio and of its confidence interval.

    Attributes
    ----------
    point : float
        E-value of the point estimate (1 at HR = 1).
    ci : float
        E-value of the confidence limit closer to 1; 1 when the interval
        contains 1.
    risk_ratio : float
        The risk ratio the point E-value is computed from (step 1 and 2 of the
        module docstring: always >= 1).
    rare_outcome : bool
        Whether the hazard ratio was taken as a risk ratio as it is.
    """

    point: float
    ci: float
    risk_ratio: float
    rare_outcome: bool


def e_value_rr(rr: float) -> float:
    """E-value of a risk ratio: ``RR + sqrt(RR (RR - 1))``, after inverting an RR below 1.

    Examples
    --------
    >>> round(e_value_rr(3.9), 3)  # VanderWeele and Ding's breastfeeding example
    7.263
    >>> e_value_rr(1.0), e_value_rr(0.5) == e_value_rr(2.0)
    (1.0, True)
    """
    value = _positive(rr, "risk ratio")
    if value < 1:
        value = 1 / value
    return value + math.sqrt(value * (value - 1))


def hr_to_rr(hr: float) -> float:
    """A hazard ratio for a common outcome as a risk ratio: ``(1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1/HR))``.

    VanderWeele and Ding's (2017) approximation (``EValue``'s ``HR_to_RR``).

    Examples
    --------
    >>> round(hr_to_rr(2.0), 6)
    1.612547
    >>> hr_to_rr(1.0)
    1.0
    """
    value = _positive(hr, "hazard ratio")
    return (1 - math.pow(0.5, math.sqrt(value))) / (1 - math.pow(0.5, math.sqrt(1 / value)))


def _positive(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(f"the {name} must be a number; got {describe_value(value)}")
    out = float(value)
    if not math.isfinite(out) or out <= 0:
        raise InputError(f"the {name} must be a finite number above 0; got {describe_value(out)}")
    return out


def e_value(hr: float, ci_lower: float, ci_upper: float, *, rare_outcome: bool = True) -> EValue:
    """E-values of a hazard ratio and its confidence interval (VanderWeele and Ding 2017).

    As R's ``EValue::evalues.HR(est = hr, lo = ci_lower, hi = ci_upper, rare =
    rare_outcome)``; the steps are in the module docstring.

    Parameters
    ----------
    hr : float
        Hazard ratio, above 0.
    ci_lower, ci_upper : float
        Its confidence limits, ``0 < ci_lower <= hr <= ci_upper``.
    rare_outcome : bool, default True
        Take the HR as a risk ratio as it is (outcome under about 15% by the
        end of follow-up); ``False`` converts it by the square-root rule first.

    Returns
    -------
    EValue

    Raises
    ------
    InputError
        A value that is not a finite positive number, or limits that do not
        bracket the hazard ratio.

    Examples
    --------
    >>> res = e_value(3.9, 1.8, 8.7)  # rare outcome: the HR is taken as the RR
    >>> round(res.point, 2), round(res.ci, 2)
    (7.26, 3.0)
    >>> e_value(0.8, 0.6, 1.1).ci  # the interval contains 1
    1.0
    >>> res = e_value(0.5, 0.3, 0.8, rare_outcome=False)
    >>> round(res.risk_ratio, 6), round(res.point, 4)
    (1.612547, 2.6064)
    """
    est = _positive(hr, "hazard ratio")
    lo = _positive(ci_lower, "lower confidence limit")
    hi = _positive(ci_upper, "upper confidence limit")
    if not isinstance(rare_outcome, bool):
        raise InputError(f"rare_outcome must be True or False; got {describe_value(rare_outcome)}")
    if not lo <= est <= hi:
        raise InputError(
            "the confidence limits must bracket the hazard ratio "
            f"(lower {lo:g} <= HR {est:g} <= upper {hi:g})"
        )

    def as_rr(value: float) -> float:
        """Steps 1 and 2: invert below 1, then convert for a common outcome."""
        inverted = 1 / value if value < 1 else value
        return inverted if rare_outcome else hr_to_rr(inverted)

    rr = as_rr(est)
    # an interval containing 1 needs no confounding; else the limit closer to 1
    ci = 1.0 if lo <= 1 <= hi else e_value_rr(as_rr(lo if est > 1 else hi))
    return EValue(point=e_value_rr(rr), ci=ci, risk_ratio=rr, rare_outcome=rare_outcome)

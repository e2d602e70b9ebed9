"""Numbers as text: one set of formats for the pages, the report, the slides and the
teaching and methods text, so that a number reads the same wherever it appears.

Conventions: a missing value is ``NA``; p-values have three decimals (``< 0.001``
below); ratios and estimates two decimals from 0.1 to 10, one from 10, two
significant digits below 0.1 (never ``0.00``); percentages one decimal with a
space (``97.8 %``); intervals ``(lower to upper)``; the confidence level as set
(``90% CI`` when ``conf_level`` is 0.90).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = [
    "NA",
    "SHORT_LABELS",
    "ci_label",
    "fmt_ci",
    "fmt_hr",
    "fmt_level",
    "fmt_months",
    "fmt_num",
    "fmt_p",
    "fmt_pct",
    "fmt_ph",
    "fmt_survival",
    "fmt_value",
    "hr_cell",
    "is_finite",
    "method_label",
    "p_text",
    "words",
]

#: How a missing number is written.
NA = "NA"

#: Short axis labels for canonical and derived columns (others show as named).
SHORT_LABELS = {
    "age_years": "Age (years)",
    "sex": "Sex",
    "wbc_10e9_l": "WBC (10^9/L)",
    "cns_status": "CNS",
    "genetic_subtype": "Genetics",
    "risk_group": "Risk group",
    "prednisone_response": "Prednisone response",
    "mrd_day15_pct": "MRD day 15 (%)",
    "mrd_eoi_pct": "MRD end of induction (%)",
    "mrd_group": "MRD",
    "age_band": "Age",
    "wbc_band": "WBC",
}


def is_finite(x: Any) -> bool:
    """Whether ``x`` is a finite number (``None``, text and NaN are not).

    Examples
    --------
    >>> is_finite(0.5), is_finite(None), is_finite(float("nan")), is_finite("a")
    (True, False, False, False)
    """
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _infinite(x: Any) -> bool:
    try:
        return x is not None and math.isinf(float(x))
    except (TypeError, ValueError):
        return False


def fmt_num(x: Any) -> str:
    """A ratio or estimate with sensible precision; ``NA`` when missing.

    Examples
    --------
    >>> fmt_num(0.081032), fmt_num(0.3252), fmt_num(12.345), fmt_num(float("nan"))
    ('0.081', '0.33', '12.3', 'NA')
    >>> fmt_num(0.00025), fmt_num(0), fmt_num(float("inf"))  # e.g. an SMD that separates
    ('0.00025', '0', '∞')
    """
    if _infinite(x):
        return "∞" if float(x) > 0 else "-∞"
    if not is_finite(x):
        return NA
    v = float(x)
    if abs(v) >= 10:
        return f"{v:.1f}"
    if abs(v) >= 0.1:
        return f"{v:.2f}"
    if v == 0:
        return "0"
    return f"{v:.2g}"


def fmt_value(x: Any) -> str:
    """A measured value (a median, a quartile) with significant figures where it is small.

    One decimal from 1 up, none from 100 up, two significant figures below 1, so that
    an MRD of 0.0043 % does not read as 0.0.

    Examples
    --------
    >>> fmt_value(6.27), fmt_value(123.4), fmt_value(0.0043), fmt_value(0.00001), fmt_value(0)
    ('6.3', '123', '0.0043', '0.000010', '0')
    """
    if not is_finite(x):
        return NA
    v = float(x)
    if v == 0:
        return "0"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 1:
        return f"{v:.1f}"
    return str(np.format_float_positional(v, precision=2, unique=False, fractional=False))


def fmt_pct(x: Any, digits: int = 1) -> str:
    """A proportion as a percentage.

    Examples
    --------
    >>> fmt_pct(0.97778), fmt_pct(None)
    ('97.8 %', 'NA')
    """
    return f"{float(x) * 100:.{digits}f} %" if is_finite(x) else NA


def fmt_level(conf_level: float) -> str:
    """A confidence level as a percentage.

    Examples
    --------
    >>> fmt_level(0.95), fmt_level(0.9), fmt_level(0.975)
    ('95%', '90%', '97.5%')
    """
    return f"{round(100 * float(conf_level), 6):g}%"


def ci_label(conf_level: float) -> str:
    """``95% CI`` for a confidence level.

    Examples
    --------
    >>> ci_label(0.95), ci_label(0.9)
    ('95% CI', '90% CI')
    """
    return f"{fmt_level(conf_level)} CI"


def fmt_ci(lo: Any, hi: Any, *, pct: bool = False) -> str:
    """A confidence interval in brackets, of ratios or (``pct``) of proportions.

    Examples
    --------
    >>> fmt_ci(0.914, 0.994, pct=True), fmt_ci(0.02, 0.33), fmt_ci(None, 1, pct=True)
    ('(91.4 to 99.4 %)', '(0.02 to 0.33)', '(CI NA)')
    """
    if pct:
        if not (is_finite(lo) and is_finite(hi)):
            return f"(CI {NA})"
        return f"({float(lo) * 100:.1f} to {float(hi) * 100:.1f} %)"
    return f"({fmt_num(lo)} to {fmt_num(hi)})"


def fmt_p(p: Any) -> str:
    """A p-value: three decimals, ``< 0.001`` below that.

    Examples
    --------
    >>> fmt_p(1.28e-05), fmt_p(0.2484), fmt_p(0.0412), fmt_p(None)
    ('< 0.001', '0.248', '0.041', 'NA')
    """
    if not is_finite(p):
        return NA
    return "< 0.001" if float(p) < 0.001 else f"{float(p):.3f}"


def p_text(p: Any) -> str:
    """``p = 0.041`` or ``p < 0.001``.

    Examples
    --------
    >>> p_text(0.0412), p_text(0.00001)
    ('p = 0.041', 'p < 0.001')
    """
    shown = fmt_p(p)
    return f"p {shown}" if shown.startswith("<") else f"p = {shown}"


def fmt_ph(p: Any) -> str:
    """The proportional-hazards p of ``cox.zph``, flagged below 0.05.

    Examples
    --------
    >>> fmt_ph(0.4016), fmt_ph(0.012), fmt_ph(float("nan"))
    ('0.402', '0.012 ⚠', 'not testable')
    """
    if not is_finite(p):
        return "not testable"
    return fmt_p(p) + (" ⚠" if float(p) < 0.05 else "")


def hr_cell(row: Any) -> str:
    """``HR (lower to upper)`` for a table cell, from a row with ``hr``, ``ci_lower``,
    ``ci_upper``.

    Examples
    --------
    >>> hr_cell({"hr": 0.081, "ci_lower": 0.0202, "ci_upper": 0.325})
    '0.081 (0.02 to 0.33)'
    """
    if not is_finite(row["hr"]):
        return "not estimable"
    return f"{fmt_num(row['hr'])} {fmt_ci(row['ci_lower'], row['ci_upper'])}"


def fmt_hr(hr: Any, lo: Any, hi: Any, conf_level: float = 0.95) -> str:
    """A hazard ratio with its confidence interval, for a sentence.

    Examples
    --------
    >>> fmt_hr(0.081, 0.0202, 0.3252)
    'HR 0.081 (95% CI 0.02 to 0.33)'
    """
    if not is_finite(hr):
        return "HR not estimable"
    return f"HR {fmt_num(hr)} ({ci_label(conf_level)} {fmt_num(lo)} to {fmt_num(hi)})"


def fmt_survival(s: Any, lo: Any, hi: Any) -> str:
    """A survival probability with its confidence interval, as percentages.

    Examples
    --------
    >>> fmt_survival(0.9778, 0.9141, 0.9944)
    '97.8 % (91.4 to 99.4 %)'
    >>> fmt_survival(1.0, float("nan"), float("nan"))
    '100.0 % (CI not estimable)'
    """
    if not is_finite(lo) and not is_finite(hi):
        return f"{fmt_pct(s)} (CI not estimable)"
    return f"{fmt_pct(s)} {fmt_ci(lo, hi, pct=True)}"


def fmt_months(x: Any) -> str:
    """A time in months, or "not reached" for a median that is not reached.

    Examples
    --------
    >>> fmt_months(53.09), fmt_months(float("nan"))
    ('53.1 months', 'not reached')
    """
    return f"{float(x):.1f} months" if is_finite(x) else "not reached"


def words(items: Iterable[str]) -> str:
    """Join words as English does: ``a``, ``a and b``, ``a, b and c``.

    Examples
    --------
    >>> words(["age", "sex", "CNS status"])
    'age, sex and CNS status'
    """
    xs = list(items)
    if not xs:
        return ""
    if len(xs) == 1:
        return xs[0]
    return ", ".join(xs[:-1]) + " and " + xs[-1]


def method_label(method: Any) -> str:
    """What the ``method`` of a hazard-ratio row means, in words.

    Examples
    --------
    >>> method_label("ml-robust")
    'Cox, cluster-robust SE (matched sets)'
    >>> method_label("firth")
    'Firth penalised Cox (an arm has no events)'
    """
    text = str(method)
    return {
        "ml": "Cox, model-based SE",
        "ml-robust": "Cox, cluster-robust SE (matched sets)",
        "firth": "Firth penalised Cox (an arm has no events)",
        "not estimable": "not estimable",
    }.get(text, text)

"""MRD as laboratories write it: ``neg``, ``<0.01``, ``0.01%``, ``1x10^-4``.

The canonical MRD columns (``mrd_eoi_pct``, ``mrd_day15_pct``) hold a measured value in
percent. A result *below the detection limit* is not a value: it is kept as the limit
in a companion column (:data:`MRD_BELOW_COLUMNS`, e.g. ``mrd_eoi_below``, in percent),
with the MRD column itself left blank for that patient. So code that reads only
``mrd_eoi_pct`` never mistakes ``<0.1`` for 0.1 (it sees a missing value), and
:func:`mrd_class` classifies both together: a result below limit *L* is low for a
threshold at or above *L* (its value is under *L*) and undetermined for a threshold
below *L*.

Accepted cells (:func:`read_mrd_cell`; spaces and case do not matter):

* a plain number, ``0.05`` or ``1e-4``: in the column's unit (percent or fraction);
* a number with ``%``, ``0.01%``: percent, whatever the column's unit;
* a power of ten, ``1x10^-4``, ``1x10-4``, ``1 × 10⁻⁴``, ``10^-4``: a fraction of cells
  (laboratories write log levels this way), so ``10^-4`` is 0.01 %;
* ``<`` before any of these (``<0.01``, ``< 0.01 %``, ``<10^-4``): below that limit;
* ``neg``, ``negative``, ``not detected``, ``undetectable``, ``MRD negative``, ...:
  below the assay's detection limit, which the user states once per column.

Anything else (``pos``, ``≤0.01``, ``10-4``, ``n.d.``, which may mean *not done*) is
reported with the reason.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import numpy as np
import pandas as pd

from blinastudy.core.errors import InputError
from blinastudy.data.schema import is_missing, normalise_key, parse_number

__all__ = [
    "MRD_BELOW_COLUMNS",
    "MRD_CLASSES",
    "MRD_UNITS",
    "MrdCell",
    "MrdReading",
    "MrdUnit",
    "fraction_to_percent",
    "mrd_class",
    "mrd_reading",
    "read_mrd_cell",
]

MrdUnit = Literal["percent", "fraction"]
#: Units an MRD column can be written in.
MRD_UNITS: tuple[MrdUnit, ...] = ("percent", "fraction")

#: The companion column holding the detection limit (percent) of below-limit results.
MRD_BELOW_COLUMNS: dict[str, str] = {
    "mrd_day15_pct": "mrd_day15_below",
    "mrd_eoi_pct": "mrd_eoi_below",
}

#: What :func:`mrd_class` returns for each patient.
MRD_CLASSES: tuple[str, ...] = ("high", "low", "undetermined", "missing")

_NEGATIVE = frozenset(
    normalise_key(t)
    for t in (
        "neg",
        "negative",
        "not detected",
        "not detectable",
        "undetected",
        "undetectable",
        "non detectable",
        "none detected",
        "mrd neg",
        "mrd negative",
        "below detection",
        "below detection limit",
        "below limit of detection",
    )
)
_POSITIVE = frozenset(
    normalise_key(t) for t in ("pos", "positive", "detected", "mrd pos", "mrd positive")
)
_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
_NUMBER = r"(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][-+]?\d+)?"
_POWER = re.compile(
    rf"(?:(?P<mantissa>{_NUMBER})\s*[x×*]\s*10\s*(?:\^|\*\*)?\s*|10\s*(?:\^|\*\*)\s*)"
    r"(?P<exponent>[-−]\s*\d+)"
)
_PLAIN = re.compile(_NUMBER)


@dataclass(frozen=True)
class MrdCell:
    """One MRD cell as written, before its column's unit is applied.

    Parameters
    ----------
    kind
        ``"value"`` (a measured value), ``"below"`` (under the stated limit) or
        ``"negative"`` (under the assay's limit, not stated in the cell).
    number
        The value or the limit as written (``None`` for ``"negative"``).
    unit
        The unit the cell itself states (``%``: percent; a power of ten: fraction), or
        ``None`` when the column's unit applies.

    Examples
    --------
    >>> read_mrd_cell("< 0.01 %")
    MrdCell(kind='below', number=0.01, unit='percent')
    """

    kind: Literal["value", "below", "negative"]
    number: float | None
    unit: MrdUnit | None


@dataclass(frozen=True)
class MrdReading:
    """An MRD result in percent: a value, or below a limit (exactly one is set).

    Examples
    --------
    >>> mrd_reading(read_mrd_cell("1x10^-4"), "percent")
    MrdReading(value_pct=0.01, below_pct=None)
    """

    value_pct: float | None
    below_pct: float | None


def fraction_to_percent(value: float) -> float:
    """A fraction of cells in percent: x 100 in decimal, so ``0.07`` gives exactly ``7.0``.

    The result is the double nearest to 100 times the shortest decimal that reads
    back as ``value`` (the number as written in the file), so a result written at a
    threshold stays at it (plain ``0.07 * 100`` is ``7.000000000000001``).

    Examples
    --------
    >>> fraction_to_percent(0.07), fraction_to_percent(1e-4), fraction_to_percent(0.00123)
    (7.0, 0.01, 0.123)
    """
    return float(Decimal(repr(float(value))) * 100)


def _number(text: str, decimal_comma: bool) -> float:
    if "," in text and not decimal_comma:
        raise ValueError(f"{text!r} has a comma; write the decimal point as '.'")
    return float(text.replace(",", "."))


def read_mrd_cell(value: Any, *, decimal_comma: bool = False) -> MrdCell | None:
    """Read one MRD cell; a missing cell gives ``None``.

    Parameters
    ----------
    value
        The cell (text or number).
    decimal_comma
        Accept ``0,01`` for 0.01.

    Raises
    ------
    ValueError
        With the reason, for anything not listed in the module docstring.

    Examples
    --------
    >>> read_mrd_cell("neg"), read_mrd_cell(0.05)
    (MrdCell(kind='negative', number=None, unit=None), MrdCell(kind='value', number=0.05, unit=None))
    >>> read_mrd_cell("<1x10-4")
    MrdCell(kind='below', number=0.0001, unit='fraction')
    """
    if is_missing(value):
        return None
    if not isinstance(value, str):
        return MrdCell("value", parse_number(value), None)
    text = value.strip().translate(_SUPERSCRIPT)
    key = normalise_key(text)
    if key in _NEGATIVE:
        return MrdCell("negative", None, None)
    if key in _POSITIVE:
        raise ValueError(f"{value.strip()!r} gives no value; write the MRD level")
    kind: Literal["value", "below"] = "value"
    body = text
    if body.startswith("<"):
        if body.startswith("<="):
            raise ValueError(f"{value.strip()!r}: write '<' and the detection limit")
        kind, body = "below", body[1:].strip()
    elif body.startswith(("≤", ">", "≥")):
        raise ValueError(
            f"{value.strip()!r} is a bound, not a value; only '<' (below the limit) is read"
        )
    unit: MrdUnit | None = None
    if body.endswith("%"):
        unit, body = "percent", body[:-1].strip()
    power = _POWER.fullmatch(body)
    if power is not None:
        exponent = -int(re.sub(r"\D", "", power.group("exponent")))
        mantissa = power.group("mantissa")
        base = Decimal(1) if mantissa is None else Decimal(repr(_number(mantissa, decimal_comma)))
        number = float(base * Decimal(10) ** exponent)
        return MrdCell(kind, number, unit or "fraction")
    if _PLAIN.fullmatch(body):
        number = _number(body, decimal_comma)
        if not math.isfinite(number):
            raise ValueError(f"{value.strip()!r} is not a finite number")
        return MrdCell(kind, number, unit)
    if re.fullmatch(r"10\s*[-−]\s*\d+", body):
        raise ValueError(f"{value.strip()!r}: write a power of ten as 10^-4 or 1x10-4")
    raise ValueError(
        f"{value.strip()!r} is not an MRD result I can read (a number, '0.01%',"
        " '<0.01', '1x10^-4' or 'neg')"
    )


def mrd_reading(
    cell: MrdCell, unit: MrdUnit, negative_limit_pct: float | None = None
) -> MrdReading:
    """Put a cell in percent: its own unit if it states one, else the column's ``unit``.

    Parameters
    ----------
    cell
        From :func:`read_mrd_cell`.
    unit
        The column's unit, for cells that state none.
    negative_limit_pct
        The assay's detection limit (percent) for ``neg`` cells.

    Raises
    ------
    ValueError
        A ``neg`` cell without ``negative_limit_pct``, or a limit that is not above 0.

    Examples
    --------
    >>> mrd_reading(read_mrd_cell("<0.0001"), "fraction")
    MrdReading(value_pct=None, below_pct=0.01)
    >>> mrd_reading(read_mrd_cell("negative"), "percent", 0.01)
    MrdReading(value_pct=None, below_pct=0.01)
    """
    if cell.kind == "negative":
        if negative_limit_pct is None:
            raise ValueError("'negative' needs the assay's detection limit, which is not set")
        return MrdReading(None, float(negative_limit_pct))
    assert cell.number is not None
    number = fraction_to_percent(cell.number) if (cell.unit or unit) == "fraction" else cell.number
    if cell.kind == "below":
        if not number > 0:
            raise ValueError("a detection limit must be above 0")
        return MrdReading(None, number)
    return MrdReading(number, None)


def _floats(values: Any, what: str) -> np.ndarray[Any, np.dtype[np.float64]]:
    if isinstance(values, pd.Series):
        values = values.to_numpy(dtype=float, na_value=np.nan)
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be numbers (percent)") from None
    if arr.ndim != 1:
        raise InputError(f"{what} must be one-dimensional")
    return arr


def mrd_class(
    values: Sequence[float] | pd.Series[Any] | np.ndarray[Any, Any],
    limits: Sequence[float] | pd.Series[Any] | np.ndarray[Any, Any],
    threshold: float,
    side: str = "at_or_above",
) -> np.ndarray[Any, np.dtype[np.object_]]:
    """Classify MRD results against a threshold: high, low, undetermined or missing.

    A value is ``high`` when ``value >= threshold`` (``side="at_or_above"``, the
    default) or ``value > threshold`` (``side="above"``), and ``low`` otherwise. A result below limit *L* (its value blank, *L* in ``limits``) is
    ``low`` when ``L <= threshold`` (the true value is under *L*, so under the
    threshold) and ``undetermined`` when ``L > threshold``. No value and no limit is
    ``missing``.

    Parameters
    ----------
    values
        MRD values in percent (NaN where there is none), e.g. ``mrd_eoi_pct``.
    limits
        Detection limits in percent of below-limit results (NaN otherwise), e.g.
        ``mrd_eoi_below``.
    threshold
        Threshold in percent.
    side
        Where a value equal to the threshold goes: ``"at_or_above"`` (high) or
        ``"above"`` (low).

    Raises
    ------
    InputError
        Different lengths, a non-positive threshold, or an entry with both a value and
        a limit (counted from 1).

    Examples
    --------
    >>> nan = float("nan")
    >>> mrd_class([0.5, 0.05, nan, nan, nan], [nan, nan, 0.01, 0.1, nan], 0.01).tolist()
    ['high', 'high', 'low', 'undetermined', 'missing']
    """
    v = _floats(values, "values")
    lim = _floats(limits, "limits")
    if v.shape != lim.shape:
        raise InputError(f"values ({v.size}) and limits ({lim.size}) differ in length")
    if not (isinstance(threshold, int | float) and math.isfinite(threshold) and threshold > 0):
        raise InputError(f"threshold must be a positive number (percent), got {threshold}")
    both = ~np.isnan(v) & ~np.isnan(lim)
    if both.any():
        first = int(np.flatnonzero(both)[0]) + 1
        raise InputError(f"entry {first} has both a value and a detection limit")
    out = np.full(v.shape, "missing", dtype=object)
    has_value = ~np.isnan(v)
    if side not in ("at_or_above", "above"):
        raise InputError(f"side must be at_or_above or above, got {side}")
    high = v > threshold if side == "above" else v >= threshold
    out[has_value & high] = "high"
    out[has_value & ~high] = "low"
    has_limit = ~np.isnan(lim)
    out[has_limit & (lim <= threshold)] = "low"
    out[has_limit & (lim > threshold)] = "undetermined"
    return out

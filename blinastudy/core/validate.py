"""Argument validators shared by the statistical modules.

The statistics modules call these before computing anything, so every public
function rejects bad input with one clear :class:`~blinastudy.core.errors.InputError`
instead of an exception from numpy, scikit-learn or lifelines.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from blinastudy.core.errors import InputError

__all__ = [
    "as_durations",
    "as_events",
    "as_groups",
    "as_numbers",
    "as_treatment",
    "as_weights",
    "describe_entries",
    "describe_value",
    "require_columns",
    "require_conf_level",
    "require_finite",
    "require_frame",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


#: Largest magnitude a covariate may have: squares and sums of squares of a registry's
#: worth of such values stay finite in float64.
MAX_MAGNITUDE = 1e150


def describe_value(value: Any) -> str:
    """A cell value for a message: plain text, never a numpy repr.

    Examples
    --------
    >>> import numpy as np
    >>> describe_value(np.float64("nan")), describe_value(np.int64(2)), describe_value(-1.5)
    ('missing', '2', '-1.5')
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return "missing"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if np.isnan(f):
            return "missing"
        return str(int(f)) if f.is_integer() and abs(f) < 1e16 else repr(f)
    text = str(value)
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _positional(labels: Sequence[Any] | pd.Index | None, n: int) -> bool:
    """True when ``labels`` are just 0, 1, 2, ... (a default index): not patient names."""
    if labels is None:
        return True
    if isinstance(labels, pd.RangeIndex):
        return labels.start == 0 and labels.step == 1 and len(labels) == n
    return len(labels) == n and all(
        isinstance(lab, (int, np.integer)) and int(lab) == i for i, lab in enumerate(labels)
    )


def describe_entries(
    values: npt.NDArray[Any] | None,
    mask: npt.NDArray[np.bool_],
    labels: Sequence[Any] | pd.Index | None,
) -> str:
    """Where ``mask`` is true: patient labels (or 1-based entry numbers) with their values.

    ``labels`` are the patients' index labels; without them (or with a default
    0, 1, 2, ... index) entries are counted from 1. At most five are named;
    ``values=None`` names them without values.

    Examples
    --------
    >>> import numpy as np
    >>> describe_entries(np.array([1.0, -2.0]), np.array([False, True]), ["P1", "P2"])
    "patient 'P2' (-2)"
    >>> describe_entries(np.array([1.0, np.nan]), np.array([False, True]), None)
    'entry 2 (missing)'
    >>> describe_entries(None, np.array([True, True]), [0, 1])
    'entry 1, entry 2'
    """
    mask = np.asarray(mask, dtype=bool)
    idx = np.flatnonzero(mask)[:5]
    positional = _positional(labels, mask.size)
    parts = []
    for i in idx:
        where = (
            f"entry {int(i) + 1}"
            if positional or labels is None
            else f"patient {describe_value(labels[i])}"
        )
        parts.append(where if values is None else f"{where} ({describe_value(values[i])})")
    more = "" if mask.sum() <= 5 else f" and {int(mask.sum()) - 5} more"
    return ", ".join(parts) + more


def as_numbers(values: Any, name: str) -> FloatArray:
    """``values`` as floats, missing values as NaN, or raise naming the entries that are not numbers.

    The shape is kept as it is; checking it, and the values, is the caller's.

    Examples
    --------
    >>> as_numbers(pd.Series([1, None], index=["P1", "P2"]), "values").tolist()
    [1.0, nan]
    >>> as_numbers(pd.Series([1, "one"], index=["P1", "P2"]), "values")
    Traceback (most recent call last):
    ...
    blinastudy.core.errors.InputError: values must be numbers; not at patient 'P2' ('one')
    """
    try:
        if isinstance(values, pd.Series):
            return values.to_numpy(dtype=float, na_value=np.nan)
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raw = np.asarray(values, dtype=object).ravel()
        bad = (pd.to_numeric(pd.Series(raw), errors="coerce").isna() & pd.notna(raw)).to_numpy()
        raise InputError(
            f"{name} must be numbers; not at {describe_entries(raw, bad, _labels(values))}"
        ) from None


def as_weights(
    values: Any, n: int, *, allow_zero: bool = True, name: str = "weights", why: str = ""
) -> FloatArray:
    """Case weights as finite floats, one per row, >= 0 (or > 0 when ``allow_zero=False``).

    Entries are named as :func:`describe_entries` names them; ``why`` is added to
    the message about zero or negative weights.

    Examples
    --------
    >>> as_weights([1, 0.5], 2).tolist()
    [1.0, 0.5]
    >>> as_weights([1.0, 0.0], 2, allow_zero=False)
    Traceback (most recent call last):
    ...
    blinastudy.core.errors.InputError: weights must be positive; not at entry 2 (0)
    """
    labels = _labels(values)
    arr = as_numbers(values, name)
    if arr.ndim != 1:
        raise InputError(f"{name} must be one number per row, got {arr.ndim} dimensions")
    if arr.size != n:
        raise InputError(f"{name} has {arr.size} values for {n} rows")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise InputError(
            f"{name} has missing or infinite values at {describe_entries(arr, bad, labels)}"
        )
    bad = arr < 0 if allow_zero else arr <= 0
    if bad.any():
        rule = "must be >= 0" if allow_zero else "must be positive"
        reason = f" ({why})" if why else ""
        raise InputError(f"{name} {rule}{reason}; not at {describe_entries(arr, bad, labels)}")
    bad = arr > MAX_MAGNITUDE
    if bad.any():
        raise InputError(
            f"{name} must be at most {MAX_MAGNITUDE:g}; not at {describe_entries(arr, bad, labels)}"
        )
    return np.asarray(arr, dtype=np.float64)


def require_frame(frame: Any, what: str = "frame") -> pd.DataFrame:
    """Check that ``frame`` is a non-empty pandas DataFrame.

    Examples
    --------
    >>> import pandas as pd
    >>> require_frame(pd.DataFrame({"a": [1]})).shape
    (1, 1)
    """
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"{what} must be a pandas DataFrame, got {type(frame).__name__}")
    if len(frame) == 0:
        raise InputError(f"{what} has no rows")
    return frame


def require_finite(frame: pd.DataFrame, columns: Iterable[str], what: str = "frame") -> None:
    """Reject infinite or absurdly large values in the numeric ``columns`` (NaN is allowed:
    it means missing).

    Examples
    --------
    >>> require_finite(pd.DataFrame({"x": [1.0, float("nan")]}), ["x"])
    >>> require_finite(pd.DataFrame({"x": [1.0, float("inf")]}), ["x"])
    Traceback (most recent call last):
    ...
    blinastudy.core.errors.InputError: frame column 'x' has infinite or too large values (beyond 1e+150) at entry 2 (inf)
    """
    for col in columns:
        ser = frame[col]
        if not pd.api.types.is_numeric_dtype(ser) or pd.api.types.is_bool_dtype(ser):
            continue
        values = ser.to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            bad = np.isinf(values) | (np.abs(values) > MAX_MAGNITUDE)
        if bad.any():
            raise InputError(
                f"{what} column {col!r} has infinite or too large values "
                f"(beyond {MAX_MAGNITUDE:g}) at {describe_entries(values, bad, list(frame.index))}"
            )


def require_columns(frame: pd.DataFrame, columns: Iterable[str], what: str = "frame") -> None:
    """Raise :class:`InputError` naming every column of ``columns`` missing from ``frame``.

    Examples
    --------
    >>> import pandas as pd
    >>> require_columns(pd.DataFrame({"a": [1]}), ["a"])
    """
    cols = list(columns)
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise InputError(
            f"{what} is missing column(s) {', '.join(map(repr, missing))}; "
            f"it has {', '.join(map(repr, map(str, frame.columns[:20])))}"
        )


def require_conf_level(conf_level: float) -> None:
    """Raise :class:`InputError` unless ``conf_level`` is a real number strictly between 0 and 1.

    Booleans are refused although Python counts them as numbers.

    Examples
    --------
    >>> require_conf_level(0.95)
    >>> require_conf_level(95)
    Traceback (most recent call last):
    ...
    blinastudy.core.errors.InputError: conf_level must be strictly between 0 and 1, got 95
    """
    if (
        isinstance(conf_level, bool)
        or not isinstance(conf_level, numbers.Real)
        or not 0 < conf_level < 1
    ):
        raise InputError(
            f"conf_level must be strictly between 0 and 1, got {describe_value(conf_level)}"
        )


def _numeric(values: Any, name: str) -> FloatArray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        ser = pd.Series(np.asarray(values, dtype=object).ravel())
        bad = (pd.to_numeric(ser, errors="coerce").isna() & ser.notna()).to_numpy()
        raise InputError(
            f"{name} must be numeric; {describe_entries(ser.to_numpy(), bad, _labels(values))} "
            "not a number"
        ) from None
    if arr.ndim != 1:
        raise InputError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        raise InputError(f"{name} is empty")
    return arr


def _labels(values: Any) -> pd.Index | None:
    """The patients' labels of a Series (its index, not copied: read only on an error)."""
    return values.index if isinstance(values, pd.Series) else None


def as_durations(values: Any, name: str = "durations") -> FloatArray:
    """Return ``values`` as finite, non-negative floats, or raise naming the bad entries.

    Examples
    --------
    >>> as_durations([1, 2.5]).tolist()
    [1.0, 2.5]
    """
    arr = _numeric(values, name)
    labels = _labels(values)
    bad = ~np.isfinite(arr)
    if bad.any():
        raise InputError(
            f"{name} has missing or infinite values at {describe_entries(arr, bad, labels)}"
        )
    bad = arr < 0
    if bad.any():
        raise InputError(f"{name} has negative times at {describe_entries(arr, bad, labels)}")
    return arr


def as_events(values: Any, n: int | None = None, name: str = "events") -> IntArray:
    """Return ``values`` as a 0/1 integer array, or raise naming the entries that are not 0/1.

    Examples
    --------
    >>> as_events([1, 0, True]).tolist()
    [1, 0, 1]
    """
    arr = _numeric(values, name)
    labels = _labels(values)
    bad = ~np.isin(arr, (0.0, 1.0))
    if bad.any():
        raise InputError(f"{name} must be 0/1; at {describe_entries(arr, bad, labels)}")
    if n is not None and arr.size != n:
        raise InputError(f"{name} has {arr.size} values but durations has {n}")
    return np.asarray(arr.astype(np.int64), dtype=np.int64)


def as_treatment(values: Any, name: str = "treatment") -> IntArray:
    """Return a two-arm indicator as 0/1, requiring both arms to be present.

    Accepts 0/1, booleans, or the canonical arm labels ``"blinatumomab"`` (1) and
    ``"chemotherapy"`` (0).

    Examples
    --------
    >>> as_treatment(["blinatumomab", "chemotherapy"]).tolist()
    [1, 0]
    """
    ser = pd.Series(values)
    labels = _labels(values)
    if ser.isna().any():
        where = describe_entries(ser.to_numpy(), ser.isna().to_numpy(), labels)
        raise InputError(f"{name} has a missing value at {where}")
    if ser.dtype == object or isinstance(ser.dtype, pd.CategoricalDtype) or ser.dtype == "string":
        mapped = ser.astype(str).map({"blinatumomab": 1, "chemotherapy": 0, "1": 1, "0": 0})
        if mapped.isna().any():
            where = describe_entries(ser.to_numpy(), mapped.isna().to_numpy(), labels)
            raise InputError(f"{name} must be 0/1 or 'blinatumomab'/'chemotherapy'; at {where}")
        arr = np.asarray(mapped.to_numpy(dtype=np.int64), dtype=np.int64)
    else:
        arr = as_events(values if labels is not None else ser, name=name)
    if arr.min() == arr.max():
        raise InputError(f"{name} has a single arm ({int(arr[0])}); both arms are needed")
    return np.asarray(arr, dtype=np.int64)


def as_groups(values: Any, n: int, name: str = "groups") -> npt.NDArray[Any]:
    """Return group labels as an array of length ``n`` with no missing values.

    Examples
    --------
    >>> as_groups(["a", "b"], 2).tolist()
    ['a', 'b']
    """
    arr = np.asarray(values, dtype=object).ravel()
    if arr.size != n:
        raise InputError(f"{name} has {arr.size} values but durations has {n}")
    miss = pd.isna(pd.Series(arr)).to_numpy()
    if miss.any():
        raise InputError(
            f"{name} has missing values at {describe_entries(arr, miss, _labels(values))}"
        )
    return arr

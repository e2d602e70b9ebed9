"""Counting-process data: ``(start, stop]`` rows and a time-dependent exposure.

A treatment that starts some time after the time origin (blinatumomab a median
of months after diagnosis) cannot be compared as a fixed baseline group: a
patient had to stay event-free until it started (immortal time). The remedy is
a time-dependent exposure: each patient's follow-up is cut at the start of the
treatment into an unexposed row ``(0, at]`` and an exposed row ``(at, stop]``.
:func:`split_at` builds that table as R's ``tmerge`` does; the Cox model
(:func:`~blinastudy.stats.survival.coxph.cox` with ``start=``), the delayed-entry
Kaplan-Meier (:func:`~blinastudy.stats.survival.km.kaplan_meier` with ``entry=``) and
the Mantel-Byar test (:func:`~blinastudy.stats.survival.logrank_test.logrank` with
``entry=``) take it.

:func:`as_intervals` is the one check of ``(start, stop]`` times those
functions share: finite, ``0 <= start < stop``, near-equal times tied jointly
over both columns as R's ``aeqSurv``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from blinastudy.core.errors import InputError
from blinastudy.core.validate import (
    FloatArray,
    as_durations,
    as_events,
    describe_entries,
    describe_value,
    require_columns,
    require_frame,
)
from blinastudy.stats.survival.timefix import timefix

__all__ = ["as_intervals", "split_at"]


def _labels(values: Any) -> list[Any] | None:
    return list(values.index) if isinstance(values, pd.Series) else None


def _where_pairs(
    first: FloatArray,
    second: FloatArray,
    bad: npt.NDArray[np.bool_],
    labels: list[Any] | None,
    names: tuple[str, str],
) -> str:
    """Name the entries where ``bad`` holds, each with both of its times."""
    n = bad.size
    parts = []
    for i in np.flatnonzero(bad)[:5]:
        one = np.zeros(n, dtype=bool)
        one[i] = True
        where = describe_entries(None, one, labels)
        parts.append(
            f"{where} ({names[0]} {describe_value(first[i])}, "
            f"{names[1]} {describe_value(second[i])})"
        )
    more = "" if bad.sum() <= 5 else f" and {int(bad.sum()) - 5} more"
    return ", ".join(parts) + more


def as_intervals(
    start: Any,
    stop: Any,
    *,
    names: tuple[str, str] = ("start", "stop"),
) -> tuple[FloatArray, FloatArray]:
    """Check ``(start, stop]`` times and tie near-equal ones jointly, as R's ``aeqSurv``.

    R's ``Surv(start, stop, event)`` needs ``start < stop`` (it turns other
    rows into ``NA``; here they are an error), and ``survfit`` and ``coxph``
    then snap times equal up to rounding noise over both columns together
    (``aeqSurv``), stopping when that leaves an interval of length 0.

    Parameters
    ----------
    start, stop : array-like of float
        Entry (left-truncation or interval start) and exit times, one per row;
        finite, ``0 <= start < stop``.
    names : tuple of str, default ("start", "stop")
        What to call the two columns in messages.

    Returns
    -------
    tuple of numpy.ndarray
        ``start`` and ``stop`` after the joint time fix.

    Raises
    ------
    InputError
        Missing, infinite or negative times, lengths that differ, or a row with
        ``start >= stop`` (before or after the time fix); the message names
        the patient (index label of a Series) or the entry, counted from 1.

    Examples
    --------
    >>> a, b = as_intervals([0, 2], [3, 5])
    >>> a.tolist(), b.tolist()
    ([0.0, 2.0], [3.0, 5.0])
    >>> as_intervals([0, 6], [3, 5], names=("entry", "time"))
    Traceback (most recent call last):
    ...
    blinastudy.core.errors.InputError: entry must be less than time (an interval (entry, time] that is not empty); not at entry 2 (entry 6, time 5)
    """
    s = as_durations(start, name=names[0])
    t = as_durations(stop, name=names[1])
    if s.size != t.size:
        raise InputError(f"{names[0]} has {s.size} values but {names[1]} has {t.size}")
    labels = _labels(start) or _labels(stop)
    rule = f"{names[0]} must be less than {names[1]} (an interval ({names[0]}, {names[1]}] "
    bad = s >= t
    if bad.any():
        raise InputError(
            f"{rule}that is not empty); not at {_where_pairs(s, t, bad, labels, names)}"
        )
    fs, ft = timefix(s, t)
    bad = fs >= ft
    if bad.any():
        raise InputError(
            f"{rule}longer than rounding noise, as R's aeqSurv requires); not at "
            f"{_where_pairs(s, t, bad, labels, names)}"
        )
    return fs, ft


def split_at(
    frame: pd.DataFrame,
    *,
    id: str,
    duration: str,
    event: str,
    at: str,
    name: str = "exposed",
) -> pd.DataFrame:
    """Split each patient's follow-up at the start of an exposure, as R's ``tmerge``.

    Equal to ``tmerge(frame, frame, id, tstop = duration, event = event(duration,
    event), exposed = tdc(at))`` (survival 3.5-3), whose rule (``tmerge2.c``) is
    that a row is exposed when ``at <= start`` of the row:

    * ``at`` missing, or ``at >= duration`` (at or after the end of follow-up):
      one row ``(0, duration]``, unexposed;
    * ``at <= 0``: one row ``(0, duration]``, exposed from the start;
    * ``0 < at < duration``: two rows, ``(0, at]`` unexposed and
      ``(at, duration]`` exposed.

    The event stays on the last row only (the first of two rows ends censored).

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per patient.
    id : str
        Column of patient identifiers (unique; R's ``id``).
    duration : str
        Column of follow-up times, each > 0 (``tmerge``'s default start time is
        0 and it rejects an end time of 0 or less).
    event : str
        Column of 0/1 event indicators.
    at : str
        Column of exposure start times (missing: never exposed).
    name : str, default "exposed"
        Name of the 0/1 exposure column to add.

    Returns
    -------
    pandas.DataFrame
        One or two rows per patient, in the patients' order, each patient's
        rows in time order: the ``id`` column, ``start``, ``stop``, the
        ``event`` column (row-wise), the exposure column ``name``, then the
        other columns of ``frame`` (``duration`` is replaced by ``start`` and
        ``stop``). The index repeats each patient's index label, so messages
        about a row name the patient.

    Raises
    ------
    InputError
        Missing columns, duplicate or missing identifiers, missing, negative,
        zero or infinite durations, events that are not 0/1, non-numeric or
        infinite ``at`` values, or output names that clash with other columns.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"pid": [1, 2, 3], "t": [10.0, 8.0, 6.0], "e": [1, 0, 1],
    ...                   "blina": [4.0, None, 6.0]})
    >>> split_at(f, id="pid", duration="t", event="e", at="blina")
       pid  start  stop  e  exposed  blina
    0    1    0.0   4.0  0        0    4.0
    0    1    4.0  10.0  1        1    4.0
    1    2    0.0   8.0  0        0    NaN
    2    3    0.0   6.0  1        0    6.0
    """
    frame = require_frame(frame)
    require_columns(frame, [id, duration, event, at])
    clash = [c for c in ("start", "stop", name) if c in frame.columns and c != duration]
    if clash or name in ("start", "stop", id, event):
        taken = clash or [name]
        raise InputError(
            f"split_at adds the columns 'start', 'stop' and {name!r}; the frame already "
            f"has {', '.join(map(repr, map(str, taken)))}: rename it or choose another name"
        )
    labels = list(frame.index)
    ids = frame[id]
    missing = ids.isna().to_numpy()
    if missing.any():
        raise InputError(
            f"id column {id!r} has missing values at {describe_entries(None, missing, labels)}"
        )
    dup = ids.duplicated(keep=False).to_numpy()
    if dup.any():
        raise InputError(
            f"id column {id!r} must name each patient once (R's tmerge needs no duplicate "
            f"identifiers); repeated at {describe_entries(ids.to_numpy(), dup, labels)}"
        )
    stop = as_durations(frame[duration], name=f"duration column {duration!r}")
    bad = stop <= 0
    if bad.any():
        raise InputError(
            f"duration column {duration!r} must be > 0 (follow-up starts at 0, as in R's "
            f"tmerge); not at {describe_entries(stop, bad, labels)}"
        )
    ev = as_events(frame[event], n=stop.size, name=f"event column {event!r}")
    try:
        when = frame[at].to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError):
        raw = frame[at].to_numpy(dtype=object)
        notnum = (pd.to_numeric(frame[at], errors="coerce").isna() & frame[at].notna()).to_numpy()
        raise InputError(
            f"at column {at!r} must be numeric times (missing: never exposed); not at "
            f"{describe_entries(raw, notnum, labels)}"
        ) from None
    bad = np.isinf(when)
    if bad.any():
        raise InputError(
            f"at column {at!r} has infinite values (leave it missing for never exposed) at "
            f"{describe_entries(when, bad, labels)}"
        )
    known = ~np.isnan(when)
    split = known & (when > 0) & (when < stop)
    from_start = known & (when <= 0)
    reps = np.where(split, 2, 1)
    rows = np.repeat(np.arange(stop.size), reps)
    second = np.zeros(rows.size, dtype=bool)
    second[np.cumsum(reps)[split] - 1] = True  # the exposed piece of a split patient
    first_of_split = split[rows] & ~second
    start_col = np.where(second, when[rows], 0.0)
    stop_col = np.where(first_of_split, when[rows], stop[rows])
    event_col = np.where(first_of_split, 0, ev[rows])
    exposed = (from_start[rows] | second).astype(np.int64)
    others = [c for c in frame.columns if c not in (id, duration, event)]
    carried = frame.iloc[rows]
    out = pd.DataFrame(
        {
            id: carried[id].to_numpy(),
            "start": start_col,
            "stop": stop_col,
            event: event_col.astype(np.int64),
            name: exposed,
        },
        index=carried.index,
    )
    for col in others:
        out[col] = carried[col].array  # positional: the index repeats labels
    return out

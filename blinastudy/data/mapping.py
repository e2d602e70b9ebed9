"""Translate a user's own column names, units, codes and dates onto the canonical table.

A :class:`Mapping` records, for one file, which of its columns is which canonical
column, the unit of its times and MRD values, how its event columns code events
(``yes``/``no``, ``dead``/``alive``, ...), any extra category spellings, and an arm
for a file that holds one arm only. A file that gives dates instead of times maps its
date columns to *date roles* (diagnosis, first blinatumomab dose, relapse, induction
failure, second malignancy, death, last contact, birth) and optionally a status
column (``alive in CR1``, ``relapsed``, ``dead``) and a data cut-off; the times are
then derived (:mod:`blinastudy.data.dates`). It is a plain frozen value with a JSON form,
so a mapping confirmed once can be saved and reused.

:func:`suggest_mapping` proposes a mapping from a raw table's headers and values and
explains every guess in :attr:`Mapping.notes`. What it cannot decide is never
guessed: :func:`review_mapping` lists the columns offered for a role but left
unmapped (with the reason), the ambiguities the user must answer (day-first or
month-first dates, MRD percent or fraction, the detection limit of ``neg`` MRD), and
every category value against the canonical codes with a suggestion; the ``with_*``
methods of :class:`Mapping` record the answers. :func:`map_cohort` applies a mapping
and reports what it could not translate; :func:`date_derivation` shows, for any
patient, the dates beside the derived columns (``blinastudy.data.cohort.load_cohort``
applies a mapping before validating).

The functions that read a file's table take the :class:`~blinastudy.data.table.FileTable`
the reader returned (:func:`blinastudy.data.cohort.read_file`), whose file row numbers
name patients in messages and whose decimal-comma flag says how to read ``1,5``; a plain
DataFrame counts its rows from 2 (a header on row 1) and reads no decimal commas.

Times are converted to months with 1 month = 365.25 / 12 days and 1 week = 7 days,
MRD fractions to percent (x 100 in decimal, see
:func:`blinastudy.data.mrd_text.fraction_to_percent`). Conversions are plain arithmetic:
nothing is rounded.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import difflib
import json
import math
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal, TypeVar, cast

import numpy as np
import pandas as pd

from blinastudy.core.errors import InputError
from blinastudy.data.dates import (
    DATE_FORMATS,
    DATE_ROLES,
    DAYS_PER_MONTH,
    OUTCOME_ROLES,
    ROLE_LABELS,
    STATUS_CODES,
    AmbiguousDateError,
    DateFormat,
    DateRole,
    Derived,
    StatusCode,
    derive_outcome,
    detect_date_format,
    parse_date,
    readings,
)
from blinastudy.data.mrd_text import (
    MRD_BELOW_COLUMNS,
    MRD_UNITS,
    MrdCell,
    MrdUnit,
    fraction_to_percent,
    mrd_reading,
    read_mrd_cell,
)
from blinastudy.data.schema import (
    CANONICAL_COLUMNS,
    COLUMNS,
    CohortError,
    Problem,
    category_value,
    column_spec,
    is_missing,
    normalise_key,
    parse_number,
    show_value,
)
from blinastudy.data.table import FileTable, as_file_table

__all__ = [
    "AS_MISSING",
    "DAYS_PER_MONTH",
    "DERIVED_COLUMNS",
    "DIAGNOSIS_YEAR",
    "MRD_UNITS",
    "STATUS_TARGET",
    "TIME_UNITS",
    "Ambiguity",
    "ColumnOffer",
    "Mapping",
    "MappingReview",
    "MrdUnit",
    "TimeUnit",
    "ValueChoice",
    "apply_mapping",
    "code_key",
    "column_targets",
    "date_derivation",
    "date_target",
    "map_cohort",
    "rename_columns",
    "review_mapping",
    "suggest_mapping",
    "to_months",
]

TimeUnit = Literal["days", "weeks", "months", "years"]
TIME_UNITS: tuple[TimeUnit, ...] = ("days", "weeks", "months", "years")

#: Target of a status column in :meth:`Mapping.with_column` and :class:`ValueChoice`.
STATUS_TARGET = "status"
#: Prefix of date-role targets: ``"date:diagnosis"``, ``"date:relapse"``, ...
DATE_PREFIX = "date:"
#: A value choice meaning "read this spelling as a missing value".
AS_MISSING = "(missing)"
#: Extra column added when the diagnosis date is mapped: the calendar year of diagnosis
#: (for eligibility by period; not a canonical column).
DIAGNOSIS_YEAR = "diagnosis_year"
#: Canonical columns derived from dates when outcome dates or a status are mapped.
DERIVED_COLUMNS: tuple[str, ...] = (
    "efs_months",
    "efs_event",
    "os_months",
    "os_event",
    "event_type",
)

_TIME_COLUMNS = tuple(c.name for c in COLUMNS if c.time)
_MRD_COLUMNS = tuple(c.name for c in COLUMNS if c.mrd)
_BINARY_COLUMNS = tuple(c.name for c in COLUMNS if c.kind == "binary")
_CATEGORY_COLUMNS = tuple(c.name for c in COLUMNS if c.kind == "category")
_FORMAT_VERSION = 2
_READABLE_VERSIONS = (1, 2)


def date_target(role: DateRole) -> str:
    """The target naming date role ``role`` (``"date:relapse"``).

    Examples
    --------
    >>> date_target("diagnosis")
    'date:diagnosis'
    """
    return DATE_PREFIX + role


def column_targets() -> tuple[str, ...]:
    """Everything a file column can be mapped to: canonical columns, date roles, status.

    Examples
    --------
    >>> targets = column_targets()
    >>> targets[0], "date:death" in targets, targets[-1]
    ('patient_id', True, 'status')
    """
    return (*CANONICAL_COLUMNS, *(date_target(r) for r in DATE_ROLES), STATUS_TARGET)


def to_months(value: float, unit: TimeUnit) -> float:
    """Convert a time in ``unit`` to months (1 month = 365.25/12 days, 1 week = 7 days).

    Examples
    --------
    >>> to_months(365.25, "days"), to_months(2, "years"), to_months(3, "months")
    (12.0, 24.0, 3.0)
    """
    if unit == "months":
        return float(value)
    if unit == "days":
        return float(value) / DAYS_PER_MONTH
    if unit == "weeks":
        return float(value) * 7.0 / DAYS_PER_MONTH
    if unit == "years":
        return float(value) * 12.0
    raise InputError(f"unknown time unit {unit!r}; use one of {', '.join(TIME_UNITS)}")


def code_key(value: Any) -> str:
    """The key a cell is looked up by in event-code and category maps.

    Case, spaces, hyphens and underscores are ignored; numbers are written
    without a trailing ``.0`` so that Excel's ``1.0`` matches ``"1"``.

    Examples
    --------
    >>> code_key(" No Event "), code_key(1.0), code_key(True)
    ('noevent', '1', 'true')
    """
    if isinstance(value, str):
        return normalise_key(value)
    return normalise_key(show_value(value))


def _check_str(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{what} must be a non-empty string, got {value!r}")
    return value


def _check_time_unit(unit: Any, what: str) -> TimeUnit:
    if unit not in TIME_UNITS:
        raise InputError(f"{what} must be one of {', '.join(TIME_UNITS)}, got {unit!r}")
    return cast(TimeUnit, unit)


def _check_mrd_unit(unit: Any, what: str) -> MrdUnit:
    if unit not in MRD_UNITS:
        raise InputError(f"{what} must be one of {', '.join(MRD_UNITS)}, got {unit!r}")
    return cast(MrdUnit, unit)


def _as_dict(value: Any, what: str) -> dict[Any, Any]:
    if not isinstance(value, AbcMapping):
        raise InputError(f"{what} must be a mapping, got {type(value).__name__}")
    return dict(value)


def _check_cutoff(value: Any) -> _dt.date | None:
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        if value.time() != _dt.time(0, 0):
            raise InputError(f"cutoff must be a date without a time of day, got {value}")
        return value.date()
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, str):
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
                raise ValueError
            return _dt.date.fromisoformat(value.strip())
        except ValueError:
            raise InputError(f"cutoff must be a date written yyyy-mm-dd, got {value!r}") from None
    raise InputError(f"cutoff must be a date (yyyy-mm-dd), got {type(value).__name__}")


def _check_limit(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{what} must be a number (percent), got {show_value(value)!r}")
    limit = float(value)
    if not (math.isfinite(limit) and 0 < limit <= 100):
        raise InputError(f"{what} must be above 0 and at most 100 (percent), got {limit:g}")
    return limit


def _entries(
    value: Any, what: str, allowed: tuple[str, ...], kind: str
) -> Iterator[tuple[str, Any]]:
    """The entries of a per-column table, refusing (when reached) a key that is not allowed."""
    for col, entry in _as_dict(value, what).items():
        if col not in allowed:
            raise InputError(f"{what}: {col!r} is not {kind} ({', '.join(allowed)})")
        yield col, entry


def _check_columns(value: Any) -> tuple[dict[str, str], dict[str, str]]:
    """The column renames, and the same the other way round; no two columns share a target."""
    columns: dict[str, str] = {}
    targets: dict[str, str] = {}
    for src, dst in _as_dict(value, "columns").items():
        _check_str(src, "a mapped column name")
        _check_str(dst, f"the target of column {src!r}")
        if dst in targets:
            raise InputError(f"columns {targets[dst]!r} and {src!r} are both mapped to {dst!r}")
        targets[dst] = src
        columns[src] = dst
    return columns, targets


def _check_event_table(col: str, codes: Any) -> dict[str, int]:
    """One 0/1 column's codes by spelling key: each 0 or 1, one code per spelling."""
    table: dict[str, int] = {}
    for spelling, code in _as_dict(codes, f"event_codes[{col!r}]").items():
        if isinstance(code, bool) or code not in (0, 1):
            raise InputError(f"event_codes[{col!r}][{spelling!r}] must be 0 or 1, got {code!r}")
        key = code_key(spelling)
        if table.get(key, code) != code:
            raise InputError(f"event_codes[{col!r}] gives {spelling!r} two codes")
        table[key] = int(code)
    return table


def _check_spellings(col: str, values: Any) -> dict[str, str | None]:
    """One category column's spellings by key: a canonical value or None, one per spelling."""
    spellings: dict[str, str | None] = {}
    for spelling, value in _as_dict(values, f"categories[{col!r}]").items():
        canonical = None if value is None else category_value(col, value)
        if value is not None and canonical is None:
            raise InputError(
                f"categories[{col!r}][{spelling!r}]: {value!r} is not one of "
                f"{', '.join(column_spec(col).values)}"
            )
        key = code_key(spelling)
        if key in spellings and spellings[key] != canonical:
            raise InputError(f"categories[{col!r}] maps {spelling!r} two ways")
        spellings[key] = canonical
    return spellings


def _check_arm(arm: Any) -> str | None:
    """The canonical arm of a file without an arm column (None when not given)."""
    if arm is None:
        return None
    canonical = category_value("arm", arm)
    if canonical is None:
        raise InputError(f"arm must be one of {', '.join(column_spec('arm').values)}, got {arm!r}")
    return canonical


def _check_date_formats(value: Any) -> dict[str, DateFormat]:
    """The date format of each date column named."""
    date_formats: dict[str, DateFormat] = {}
    for col, fmt in _as_dict(value, "date_formats").items():
        _check_str(col, "a date_formats column name")
        if fmt not in DATE_FORMATS:
            raise InputError(
                f"date_formats[{col!r}] must be one of {', '.join(DATE_FORMATS)}, got {fmt!r}"
            )
        date_formats[col] = fmt
    return date_formats


def _check_status_codes(value: Any) -> dict[str, StatusCode | None]:
    """Status codes by spelling key: a status code or None, one per spelling."""
    status_codes: dict[str, StatusCode | None] = {}
    for spelling, code in _as_dict(value, "status_codes").items():
        if code is not None and code not in STATUS_CODES:
            raise InputError(
                f"status_codes[{spelling!r}] must be one of {', '.join(STATUS_CODES)} or"
                f" null, got {code!r}"
            )
        key = code_key(spelling)
        if key in status_codes and status_codes[key] != code:
            raise InputError(f"status_codes maps {spelling!r} two ways")
        status_codes[key] = code
    return status_codes


_V = TypeVar("_V")


def _with_entry(table: dict[str, _V], key: str, value: _V | None) -> dict[str, _V]:
    """A copy of ``table`` with ``key`` set to ``value`` (removed when ``value`` is None).

    Examples
    --------
    >>> _with_entry({"a": 1, "b": 2}, "a", None), _with_entry({"a": 1}, "b", 3)
    ({'b': 2}, {'a': 1, 'b': 3})
    """
    out = {k: v for k, v in table.items() if k != key}
    if value is not None:
        out[key] = value
    return out


@dataclass(frozen=True)
class Mapping:
    """How one file's columns, units, codes and dates translate to the canonical table.

    Parameters
    ----------
    columns
        ``{file column name: canonical column name}``. Columns not listed keep their
        names (a column already named canonically needs no entry).
    time_unit
        Unit of every time column (``efs_months``, ``os_months``,
        ``blina_start_months``): ``"days"``, ``"weeks"``, ``"months"`` or ``"years"``.
    time_units
        Per-column exceptions to ``time_unit``, keyed by canonical name.
    mrd_unit
        ``"percent"`` (0.1 means 0.1 %) or ``"fraction"`` (0.001 means 0.1 %).
    mrd_units
        Per-column units, keyed by canonical name. A column whose values are all <= 1
        and whose header states no unit (``%``, ``pct``, ``fraction``) must have an
        entry here, the user's answer (or ``mrd_unit`` must be ``"fraction"``, which
        is never a default); without one, loading reports the ambiguity.
    event_codes
        ``{canonical 0/1 column: {file spelling: 0 or 1}}``, e.g.
        ``{"os_event": {"dead": 1, "alive": 0}}``. Spellings are compared ignoring
        case, spaces, hyphens and underscores.
    categories
        ``{canonical category column: {file spelling: canonical value or None}}``,
        consulted before the schema's own aliases; ``None`` marks the spelling as a
        missing value (e.g. ``"unknown"``).
    arm
        Arm of every row of a file that has no arm column (``"blinatumomab"`` or
        ``"chemotherapy"``).
    notes
        Explanations of the guesses :func:`suggest_mapping` made (not used when applying).
    dates
        ``{date role: file column}`` (roles in :data:`blinastudy.data.dates.DATE_ROLES`). A
        date of diagnosis is the origin of every time and gives the extra column
        ``diagnosis_year``. With any outcome date (relapse, induction failure, second
        malignancy, death, last contact) or a status, the columns of
        :data:`DERIVED_COLUMNS` are derived; with ``blina_start``,
        ``blina_start_months``; with ``birth``, ``age_years`` (the date of birth is
        then dropped). The date columns themselves are not kept in the cohort.
    date_formats
        ``{file column: "dd/mm/yyyy" or "mm/dd/yyyy"}``: how a date column writes
        day/month/year dates; required where the column's cells do not prove it.
    cutoff
        Data cut-off date for the whole file (a ``datetime.date`` or ``"yyyy-mm-dd"``).
    status
        File column holding the patient status (``alive in CR1``, ``relapsed``, ...).
    status_codes
        ``{file spelling: status code or None}`` for the status column (codes in
        :data:`blinastudy.data.dates.STATUS_CODES`; ``None`` reads the spelling as blank).
    mrd_limits
        ``{canonical MRD column: detection limit in percent}`` for cells that say only
        ``neg`` / ``not detected``.

    Examples
    --------
    >>> m = Mapping(columns={"Patient ID": "patient_id"}, time_unit="days",
    ...             event_codes={"os_event": {"Dead": 1, "Alive": 0}})
    >>> m.event_codes
    {'os_event': {'dead': 1, 'alive': 0}}
    >>> Mapping.from_json(m.to_json()) == m
    True
    >>> d = Mapping(dates={"diagnosis": "Dx date", "death": "Died"}, cutoff="2024-06-30")
    >>> d.cutoff, d.derives_outcomes
    (datetime.date(2024, 6, 30), True)
    """

    columns: dict[str, str] = field(default_factory=dict)
    time_unit: TimeUnit = "months"
    time_units: dict[str, TimeUnit] = field(default_factory=dict)
    mrd_unit: MrdUnit = "percent"
    mrd_units: dict[str, MrdUnit] = field(default_factory=dict)
    event_codes: dict[str, dict[str, int]] = field(default_factory=dict)
    categories: dict[str, dict[str, str | None]] = field(default_factory=dict)
    arm: str | None = None
    notes: tuple[str, ...] = ()
    dates: dict[DateRole, str] = field(default_factory=dict)
    date_formats: dict[str, DateFormat] = field(default_factory=dict)
    cutoff: _dt.date | None = None
    status: str | None = None
    status_codes: dict[str, StatusCode | None] = field(default_factory=dict)
    mrd_limits: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        columns, targets = _check_columns(self.columns)
        _check_time_unit(self.time_unit, "time_unit")
        time_units = {
            col: _check_time_unit(unit, f"time_units[{col!r}]")
            for col, unit in _entries(self.time_units, "time_units", _TIME_COLUMNS, "a time column")
        }
        _check_mrd_unit(self.mrd_unit, "mrd_unit")
        mrd_units = {
            col: _check_mrd_unit(unit, f"mrd_units[{col!r}]")
            for col, unit in _entries(self.mrd_units, "mrd_units", _MRD_COLUMNS, "an MRD column")
        }
        event_codes = {
            col: _check_event_table(col, codes)
            for col, codes in _entries(
                self.event_codes, "event_codes", _BINARY_COLUMNS, "a 0/1 column"
            )
        }
        categories = {
            col: _check_spellings(col, values)
            for col, values in _entries(
                self.categories, "categories", _CATEGORY_COLUMNS, "a category column"
            )
        }
        arm = _check_arm(self.arm)
        notes = self.notes
        if isinstance(notes, str) or not all(isinstance(n, str) for n in notes):
            raise InputError("notes must be a sequence of strings")
        dates = self._check_dates(columns, targets)
        date_formats = _check_date_formats(self.date_formats)
        status_codes = _check_status_codes(self.status_codes)
        mrd_limits = {
            col: _check_limit(limit, f"mrd_limits[{col!r}]")
            for col, limit in _entries(self.mrd_limits, "mrd_limits", _MRD_COLUMNS, "an MRD column")
        }
        object.__setattr__(self, "columns", columns)
        object.__setattr__(self, "time_units", time_units)
        object.__setattr__(self, "mrd_units", mrd_units)
        object.__setattr__(self, "event_codes", event_codes)
        object.__setattr__(self, "categories", categories)
        object.__setattr__(self, "arm", arm)
        object.__setattr__(self, "notes", tuple(notes))
        object.__setattr__(self, "dates", dates)
        object.__setattr__(self, "date_formats", date_formats)
        object.__setattr__(self, "cutoff", _check_cutoff(self.cutoff))
        object.__setattr__(self, "status_codes", status_codes)
        object.__setattr__(self, "mrd_limits", mrd_limits)

    def _check_dates(self, columns: dict[str, str], targets: dict[str, str]) -> dict[DateRole, str]:
        dates: dict[DateRole, str] = {}
        used: dict[str, str] = {}
        for role, col in _as_dict(self.dates, "dates").items():
            if role not in DATE_ROLES:
                raise InputError(f"dates: {role!r} is not a date role ({', '.join(DATE_ROLES)})")
            _check_str(col, f"the column of date role {role!r}")
            if col in used:
                raise InputError(f"column {col!r} is mapped to two dates ({used[col]}, {role})")
            if col in columns:
                raise InputError(
                    f"column {col!r} is mapped to {columns[col]!r} and to the date role {role!r}"
                )
            used[col] = role
            dates[cast(DateRole, role)] = col
        status = self.status
        if status is not None:
            _check_str(status, "the status column")
            if status in used or status in columns:
                raise InputError(
                    f"column {status!r} is the status column and also mapped elsewhere"
                )
        if (dates or status is not None) and "diagnosis" not in dates:
            raise InputError(
                "dates and a status need the date of diagnosis (the origin of every time); map it"
            )
        derived: list[str] = []
        if status is not None or any(r in dates for r in OUTCOME_ROLES):
            derived.extend(DERIVED_COLUMNS)
        if "blina_start" in dates:
            derived.append("blina_start_months")
        if "birth" in dates:
            derived.append("age_years")
        for name in derived:
            if name in targets:
                raise InputError(
                    f"{name} is derived from the dates; column {targets[name]!r} cannot also be"
                    f" mapped to it"
                )
        return dates

    def __hash__(self) -> int:
        return hash(self.to_json())

    @property
    def derives_outcomes(self) -> bool:
        """Whether EFS and OS are derived from dates (an outcome date or a status is mapped).

        Examples
        --------
        >>> Mapping(dates={"diagnosis": "Dx"}).derives_outcomes
        False
        """
        return self.status is not None or any(r in self.dates for r in OUTCOME_ROLES)

    def unit_of(self, column: str) -> TimeUnit:
        """The time unit of canonical time column ``column`` in the file.

        Examples
        --------
        >>> Mapping(time_unit="days", time_units={"blina_start_months": "weeks"}).unit_of(
        ...     "blina_start_months")
        'weeks'
        """
        return self.time_units.get(column, self.time_unit)

    def mrd_unit_of(self, column: str) -> MrdUnit:
        """The MRD unit of canonical MRD column ``column`` in the file.

        Examples
        --------
        >>> Mapping(mrd_unit="fraction").mrd_unit_of("mrd_eoi_pct")
        'fraction'
        """
        return self.mrd_units.get(column, self.mrd_unit)

    def target_of(self, column: str) -> str | None:
        """What file column ``column`` is mapped to: a canonical name, ``"date:<role>"``,
        ``"status"``, or ``None`` (kept under its own name).

        Examples
        --------
        >>> m = Mapping(columns={"PID": "patient_id"}, dates={"diagnosis": "Dx"}, status="S")
        >>> m.target_of("PID"), m.target_of("Dx"), m.target_of("S"), m.target_of("x")
        ('patient_id', 'date:diagnosis', 'status', None)
        """
        if column in self.columns:
            return self.columns[column]
        for role, col in self.dates.items():
            if col == column:
                return date_target(role)
        return STATUS_TARGET if column == self.status else None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (see :meth:`from_dict`).

        Examples
        --------
        >>> Mapping(arm="chemo").to_dict()["arm"]
        'chemotherapy'
        """
        return {
            "version": _FORMAT_VERSION,
            "columns": dict(self.columns),
            "time_unit": self.time_unit,
            "time_units": dict(self.time_units),
            "mrd_unit": self.mrd_unit,
            "mrd_units": dict(self.mrd_units),
            "event_codes": {k: dict(v) for k, v in self.event_codes.items()},
            "categories": {k: dict(v) for k, v in self.categories.items()},
            "arm": self.arm,
            "notes": list(self.notes),
            "dates": dict(self.dates),
            "date_formats": dict(self.date_formats),
            "cutoff": None if self.cutoff is None else self.cutoff.isoformat(),
            "status": self.status,
            "status_codes": dict(self.status_codes),
            "mrd_limits": dict(self.mrd_limits),
        }

    @classmethod
    def from_dict(cls, data: AbcMapping[str, Any]) -> Mapping:
        """Rebuild a mapping from :meth:`to_dict` output; unknown keys are an error.

        Version 1 mappings (before dates) are read as they are.

        Examples
        --------
        >>> Mapping.from_dict({"columns": {"PID": "patient_id"}}).columns
        {'PID': 'patient_id'}
        """
        if not isinstance(data, AbcMapping):
            raise InputError(f"a mapping must be a JSON object, got {type(data).__name__}")
        known = {
            "version",
            "columns",
            "time_unit",
            "time_units",
            "mrd_unit",
            "mrd_units",
            "event_codes",
            "categories",
            "arm",
            "notes",
            "dates",
            "date_formats",
            "cutoff",
            "status",
            "status_codes",
            "mrd_limits",
        }
        unknown = sorted(str(k) for k in data if k not in known)
        if unknown:
            raise InputError(f"unknown mapping field(s): {', '.join(unknown)}")
        version = data.get("version", _FORMAT_VERSION)
        if isinstance(version, bool) or version not in _READABLE_VERSIONS:
            raise InputError(f"unsupported mapping version {version!r}")
        notes = data.get("notes", ())
        if not isinstance(notes, list | tuple):
            raise InputError("notes must be a list of strings")
        return cls(
            columns=data.get("columns", {}),
            time_unit=data.get("time_unit", "months"),
            time_units=data.get("time_units", {}),
            mrd_unit=data.get("mrd_unit", "percent"),
            mrd_units=data.get("mrd_units", {}),
            event_codes=data.get("event_codes", {}),
            categories=data.get("categories", {}),
            arm=data.get("arm"),
            notes=tuple(notes),
            dates=data.get("dates", {}),
            date_formats=data.get("date_formats", {}),
            cutoff=data.get("cutoff"),
            status=data.get("status"),
            status_codes=data.get("status_codes", {}),
            mrd_limits=data.get("mrd_limits", {}),
        )

    def to_json(self) -> str:
        """Serialise to JSON (keys sorted, so equal mappings give equal text).

        Examples
        --------
        >>> Mapping(time_unit="weeks").to_json()[:30]
        '{"arm": null, "categories": {}'
        """
        return json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> Mapping:
        """Parse :meth:`to_json` output; malformed text raises :class:`InputError`.

        Examples
        --------
        >>> Mapping.from_json('{"time_unit": "days"}').time_unit
        'days'
        """
        try:
            data = json.loads(text)
        except (ValueError, TypeError) as exc:
            raise InputError(f"the mapping is not valid JSON ({exc})") from None
        return cls.from_dict(data)

    # ----------------------------------------------------------------------------------
    # Recording the user's answers (each returns a new Mapping)
    # ----------------------------------------------------------------------------------

    def _replace(self, **changes: Any) -> Mapping:
        data = self.to_dict()
        data.update(changes)
        return Mapping.from_dict(data)

    def with_column(self, column: str, target: str | None) -> Mapping:
        """Map file column ``column`` to ``target`` (see :func:`column_targets`), or unmap it.

        Whatever ``column`` was mapped to before is released, and so is any other
        column that had ``target``.

        Raises
        ------
        InputError
            An unknown target, or a combination the mapping rejects (e.g. a derived
            column mapped while its dates are mapped).

        Examples
        --------
        >>> m = Mapping().with_column("Dx", "date:diagnosis").with_column("Status", "status")
        >>> m.dates, m.status
        ({'diagnosis': 'Dx'}, 'Status')
        >>> m.with_column("Status", None).status is None
        True
        """
        _check_str(column, "column")
        if target is not None and target not in column_targets():
            raise InputError(f"{target!r} is not a target; choose one of column_targets()")
        columns = {k: v for k, v in self.columns.items() if k != column and v != target}
        dates = {r: c for r, c in self.dates.items() if c != column}
        status = None if self.status == column or target == STATUS_TARGET else self.status
        if target is None:
            pass
        elif target == STATUS_TARGET:
            status = column
        elif target.startswith(DATE_PREFIX):
            dates[cast(DateRole, target[len(DATE_PREFIX) :])] = column
        elif target != column:
            columns[column] = target
        return self._replace(columns=columns, dates=dates, status=status)

    def with_value(self, target: str, spelling: Any, value: str | int | None) -> Mapping:
        """Record what a file spelling means in a category, 0/1 or status column.

        Parameters
        ----------
        target
            A canonical category column, a canonical 0/1 column or ``"status"``.
        spelling
            The cell as written in the file.
        value
            A canonical value (category), 0 or 1 (0/1 columns; ``"0"``/``"1"`` too, as
            :class:`ValueChoice` writes them), a status code, or ``None`` /
            :data:`AS_MISSING` to read the spelling as a missing value (for a 0/1
            column: to forget the spelling).

        Examples
        --------
        >>> m = Mapping().with_value("genetic_subtype", "normal karyotype", "B-other")
        >>> m.with_value("status", "Alive in CR1", "event-free").status_codes
        {'aliveincr1': 'event-free'}
        >>> m.categories
        {'genetic_subtype': {'normalkaryotype': 'B-other'}}
        """
        key = code_key(spelling)
        missing = value is None or value == AS_MISSING
        if target == STATUS_TARGET:
            codes = dict(self.status_codes)
            codes[key] = None if missing else cast(StatusCode, value)
            return self._replace(status_codes=codes)
        if target in _BINARY_COLUMNS:
            event = {k: dict(v) for k, v in self.event_codes.items()}
            table = event.setdefault(target, {})
            if missing:
                table.pop(key, None)
            else:
                # 0/1, or "0"/"1" as a ValueChoice writes them
                table[key] = int(value) if value in ("0", "1") else cast(int, value)
            return self._replace(event_codes=event)
        if target in _CATEGORY_COLUMNS:
            cats = {k: dict(v) for k, v in self.categories.items()}
            cats.setdefault(target, {})[key] = None if missing else str(value)
            return self._replace(categories=cats)
        raise InputError(f"{target!r} has no values to set; give a category, 0/1 column or status")

    def with_date_format(self, column: str, fmt: DateFormat | None) -> Mapping:
        """Say how date column ``column`` writes day/month/year (``None`` forgets it).

        Examples
        --------
        >>> Mapping().with_date_format("Dx", "dd/mm/yyyy").date_formats
        {'Dx': 'dd/mm/yyyy'}
        """
        return self._replace(date_formats=_with_entry(self.date_formats, column, fmt))

    def with_mrd_unit(self, column: str, unit: MrdUnit | None) -> Mapping:
        """Say whether canonical MRD column ``column`` is percent or fraction.

        Examples
        --------
        >>> Mapping().with_mrd_unit("mrd_eoi_pct", "percent").mrd_units
        {'mrd_eoi_pct': 'percent'}
        """
        return self._replace(mrd_units=_with_entry(self.mrd_units, column, unit))

    def with_mrd_limit(self, column: str, limit_pct: float | None) -> Mapping:
        """State the detection limit (percent) of ``neg`` cells in MRD column ``column``.

        Examples
        --------
        >>> Mapping().with_mrd_limit("mrd_eoi_pct", 0.01).mrd_limits
        {'mrd_eoi_pct': 0.01}
        """
        return self._replace(mrd_limits=_with_entry(self.mrd_limits, column, limit_pct))

    def with_cutoff(self, cutoff: _dt.date | str | None) -> Mapping:
        """Set (or, with ``None``, remove) the data cut-off date.

        Examples
        --------
        >>> Mapping().with_cutoff("2024-12-31").to_dict()["cutoff"]
        '2024-12-31'
        """
        checked = _check_cutoff(cutoff)
        return self._replace(cutoff=None if checked is None else checked.isoformat())


# --------------------------------------------------------------------------------------
# Applying a mapping
# --------------------------------------------------------------------------------------


def rename_columns(raw: pd.DataFrame | FileTable, mapping: Mapping | None = None) -> pd.DataFrame:
    """Rename ``raw``'s columns as ``mapping`` says and add a constant arm column.

    Values are untouched (see :func:`apply_mapping` for codes and units). ``raw`` is a
    DataFrame or a :class:`~blinastudy.data.table.FileTable` (whose frame is renamed).

    Raises
    ------
    CohortError
        If the mapping names a column the table lacks, two columns would end up
        with the same name, or the mapping sets an arm for a table that has one.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"PID": ["P1"], "EFS": [3]})
    >>> list(rename_columns(raw, Mapping(columns={"PID": "patient_id"}, arm="chemo")).columns)
    ['patient_id', 'EFS', 'arm']
    """
    frame = as_file_table(raw).frame
    mapping = Mapping() if mapping is None else mapping
    problems: list[Problem] = []
    names = [str(c) for c in frame.columns]
    for src in mapping.columns:
        if src not in names:
            problems.append(
                Problem(
                    None, src, None, "the mapping names this column but the file has no such column"
                )
            )
    for role, src in mapping.dates.items():
        if src not in names:
            problems.append(
                Problem(
                    None,
                    src,
                    None,
                    f"the mapping takes the {ROLE_LABELS[role]} date from this column but the"
                    " file has no such column",
                )
            )
    if mapping.status is not None and mapping.status not in names:
        problems.append(
            Problem(
                None,
                mapping.status,
                None,
                "the mapping takes the patient status from this column but the file has no"
                " such column",
            )
        )
    new_names = [mapping.columns.get(n, n) for n in names]
    seen: dict[str, str] = {}
    for old, new in zip(names, new_names, strict=True):
        if new in seen:
            problems.append(
                Problem(
                    None,
                    new,
                    None,
                    f"columns {seen[new]!r} and {old!r} would both be named {new!r}",
                )
            )
        else:
            seen[new] = old
    if mapping.arm is not None and "arm" in seen:
        problems.append(
            Problem(
                None,
                "arm",
                None,
                f"the mapping gives every row arm {mapping.arm!r} but the file also has an arm"
                f" column ({seen['arm']!r}); use one or the other",
            )
        )
    if problems:
        raise CohortError("the column mapping does not fit the file", problems)
    out = frame.copy()
    out.columns = pd.Index(new_names, dtype=object)
    if mapping.arm is not None:
        out["arm"] = [mapping.arm] * len(out)
    return out


def _map_codes(values: list[Any], table: AbcMapping[str, Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if is_missing(v):
            out.append(v)
            continue
        key = code_key(v)
        out.append(table.get(key, v))
    return out


def _convert(values: list[Any], fn: Callable[[float], float], decimal_comma: bool) -> list[Any]:
    out: list[Any] = []
    for v in values:
        try:
            number = parse_number(v, decimal_comma=decimal_comma)
        except ValueError:
            out.append(v)  # left for validation to report, with the original text
            continue
        out.append(v if math.isnan(number) else fn(number))
    return out


def _column(values: list[Any], name: str) -> pd.Series[Any]:
    if all(isinstance(v, float) for v in values):
        return pd.Series(values, dtype="float64", name=name)
    return pd.Series(values, dtype=object, name=name)


def _patient_labels(frame: pd.DataFrame, rows: Sequence[int]) -> list[str]:
    """How each row's patient is named in messages: its patient_id, else its row."""
    ids = frame["patient_id"].tolist() if "patient_id" in frame.columns else [None] * len(frame)
    return [
        f"patient {show_value(pid).strip()}" if not is_missing(pid) else f"the patient in row {row}"
        for pid, row in zip(ids, rows, strict=True)
    ]


# --------------------------------------------------------------------------------------
# Ambiguities the user must answer
# --------------------------------------------------------------------------------------

AmbiguityKind = Literal["date_format", "mrd_unit", "mrd_limit"]


@dataclass(frozen=True)
class Ambiguity:
    """A question about a column that the data cannot answer and that is never guessed.

    Parameters
    ----------
    kind
        ``"date_format"`` (day-first or month-first; answer with
        :meth:`Mapping.with_date_format`), ``"mrd_unit"`` (percent or fraction;
        :meth:`Mapping.with_mrd_unit`) or ``"mrd_limit"`` (the detection limit of
        ``neg`` results, in percent; :meth:`Mapping.with_mrd_limit`).
    column
        The file's column.
    target
        What the column is mapped to (``"date:relapse"``, ``"mrd_eoi_pct"``); the
        MRD setters take this name.
    message
        The question in words, with an example cell and its row.
    options
        The accepted answers (empty for a detection limit, which is a number).
    example
        The example cell as written, and ``example_row`` its row in the file.
    readings
        What the example means under each option, in the order of ``options``.
    suggestion
        An answer the rest of the file points to (never applied), with ``reason``.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"Dx": ["03/04/2019"], "Died": ["05/06/2020"]}, dtype=object)
    >>> m = Mapping(dates={"diagnosis": "Dx", "death": "Died"})
    >>> a = review_mapping(raw, m).ambiguities[0]
    >>> a.kind, a.options, a.readings
    ('date_format', ('dd/mm/yyyy', 'mm/dd/yyyy'), ('3 April 2019', '4 March 2019'))
    """

    kind: AmbiguityKind
    column: str
    target: str
    message: str
    options: tuple[str, ...]
    example: str | None
    example_row: int | None
    readings: tuple[str, ...]
    suggestion: str | None = None
    reason: str | None = None


def _date_ambiguity(
    column: str, role: DateRole, values: Sequence[Any], rows: Sequence[int], mapping: Mapping
) -> Ambiguity | None:
    if column in mapping.date_formats:
        return None
    evidence = detect_date_format(values)
    target = date_target(role)
    if evidence.status == "ambiguous":
        assert evidence.two_readings is not None
        pos, text = evidence.two_readings
        day_first, month_first = readings(text)
        return Ambiguity(
            "date_format",
            column,
            target,
            f"every day/month/year date in {column!r} fits both dd/mm/yyyy and mm/dd/yyyy:"
            f" {text!r} (row {rows[pos]}) is {day_first} (dd/mm/yyyy) or {month_first}"
            " (mm/dd/yyyy); say which format the column uses",
            DATE_FORMATS,
            text,
            rows[pos],
            (day_first, month_first),
        )
    if evidence.status == "conflict":
        assert evidence.day_first is not None and evidence.month_first is not None
        (p1, t1), (p2, t2) = evidence.day_first, evidence.month_first
        return Ambiguity(
            "date_format",
            column,
            target,
            f"{column!r} mixes day-first and month-first dates: {t1!r} (row {rows[p1]}) fits"
            f" only dd/mm/yyyy and {t2!r} (row {rows[p2]}) only mm/dd/yyyy; say which format"
            " the column uses (cells that do not fit it are then reported)",
            DATE_FORMATS,
            t1,
            rows[p1],
            readings(t1),
        )
    return None


def _header_states_unit(header: str) -> bool:
    return bool(set(_tokens(header)) & (_PERCENT_TOKENS | _FRACTION_TOKENS))


def _fmt_number(x: float) -> str:
    return f"{x:.10g}"


def _mrd_cells(values: Sequence[Any], decimal_comma: bool) -> list[Any]:
    """Each cell read by :func:`read_mrd_cell`, or the ValueError it raised."""
    out: list[Any] = []
    for v in values:
        try:
            out.append(read_mrd_cell(v, decimal_comma=decimal_comma))
        except ValueError as exc:
            out.append(exc)
    return out


def _mrd_ambiguities(
    column: str,
    target: str,
    values: Sequence[Any],
    rows: Sequence[int],
    mapping: Mapping,
    decimal_comma: bool,
) -> list[Ambiguity]:
    found: list[Ambiguity] = []
    cells = _mrd_cells(values, decimal_comma)
    stated = target in mapping.mrd_units or mapping.mrd_unit == "fraction"
    if not stated and not _header_states_unit(column):
        implied = [
            (pos, c.number)
            for pos, c in enumerate(cells)
            if isinstance(c, MrdCell) and c.unit is None and c.number is not None
        ]
        if implied and max(x for _, x in implied) <= 1:
            pos, number = next(((p, x) for p, x in implied if x > 0), implied[0])
            text = show_value(values[pos])
            as_pct = f"{_fmt_number(number)} %"
            as_frac = f"{_fmt_number(fraction_to_percent(number))} %"
            found.append(
                Ambiguity(
                    "mrd_unit",
                    column,
                    target,
                    f"every value of {column!r} ({target}) is <= 1 and neither the header nor"
                    f" the cells say '%': {text!r} (row {rows[pos]}) is {as_pct} (percent) or"
                    f" {as_frac} (fraction); say which unit the column uses",
                    MRD_UNITS,
                    text,
                    rows[pos],
                    (as_pct, as_frac),
                )
            )
    if target not in mapping.mrd_limits:
        for pos, cell in enumerate(cells):
            if isinstance(cell, MrdCell) and cell.kind == "negative":
                text = show_value(values[pos])
                found.append(
                    Ambiguity(
                        "mrd_limit",
                        column,
                        target,
                        f"{column!r} ({target}) says {text!r} (row {rows[pos]}) without the"
                        " detection limit; give the assay's limit in percent (0.01 for 10^-4)",
                        (),
                        text,
                        rows[pos],
                        (),
                    )
                )
                break
    return found


def _ambiguity_problem(a: Ambiguity) -> Problem:
    return Problem(None, a.column, None, a.message)


# --------------------------------------------------------------------------------------
# MRD text
# --------------------------------------------------------------------------------------


def _map_mrd(
    out: pd.DataFrame,
    target: str,
    mapping: Mapping,
    rows: Sequence[int],
    decimal_comma: bool,
    problems: list[Problem],
) -> None:
    """Translate one MRD column in place: units, ``<x`` limits, ``neg``, powers of ten."""
    values = out[target].tolist()
    unit = mapping.mrd_unit_of(target)
    limit = mapping.mrd_limits.get(target)
    new: list[Any] = []
    below: list[float] = []
    for pos, (v, cell) in enumerate(zip(values, _mrd_cells(values, decimal_comma), strict=True)):
        below.append(math.nan)
        try:
            number = parse_number(v, decimal_comma=decimal_comma)
        except ValueError:
            pass
        else:  # a plain number (or blank): the column's unit
            keep = unit != "fraction" or math.isnan(number)
            new.append(v if keep else fraction_to_percent(number))
            continue
        if isinstance(cell, ValueError):
            problems.append(Problem(rows[pos], target, show_value(v), str(cell)))
            new.append(None)
            continue
        assert isinstance(cell, MrdCell)
        if cell.kind == "negative" and limit is None:
            new.append(None)  # the column's missing detection limit is reported once
            continue
        try:
            reading = mrd_reading(cell, unit, limit)
        except ValueError as exc:
            problems.append(Problem(rows[pos], target, show_value(v), str(exc)))
            new.append(None)
            continue
        new.append(reading.value_pct)
        if reading.below_pct is not None:
            below[pos] = reading.below_pct
    out[target] = pd.Series(new, dtype=object).values
    if not all(math.isnan(b) for b in below):
        name = MRD_BELOW_COLUMNS[target]
        if name in out.columns:
            problems.append(
                Problem(
                    None,
                    name,
                    None,
                    f"the file has a column named {name!r}, which holds the detection limit of"
                    f" below-limit {target} results; rename it",
                )
            )
        else:
            out[name] = np.asarray(below, dtype=float)


# --------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------


@dataclass
class _DateWork:
    """Parsed dates, status and derived values of every row of one file."""

    parsed: dict[DateRole, list[_dt.date | None]]
    status: list[StatusCode | None]
    status_text: list[str | None]
    derived: list[Derived | None]
    issue_text: list[list[str]]
    problems: list[Problem]


def _status_code(mapping: Mapping, value: Any) -> StatusCode | None:
    """The status code of a cell: the mapping's, else the code itself spelled out."""
    key = code_key(value)
    if key in mapping.status_codes:
        return mapping.status_codes[key]
    for code in STATUS_CODES:
        if normalise_key(code) == key:
            return code
    raise KeyError(key)


def _work_dates(frame: pd.DataFrame, mapping: Mapping, rows: Sequence[int]) -> _DateWork:
    """Read the date and status columns of ``frame`` (renamed) and derive every row."""
    n = len(frame)
    labels = _patient_labels(frame, rows)
    problems: list[Problem] = []
    bad: list[set[DateRole | None]] = [set() for _ in range(n)]
    unread: list[list[str]] = [[] for _ in range(n)]  # why a cell could not be used
    parsed: dict[DateRole, list[_dt.date | None]] = {}
    for role, column in mapping.dates.items():
        values = frame[column].tolist()
        ambiguity = _date_ambiguity(column, role, values, rows, mapping)
        if ambiguity is not None:
            problems.append(_ambiguity_problem(ambiguity))
        fmt = mapping.date_formats.get(column) or detect_date_format(values).fmt
        out: list[_dt.date | None] = []
        for pos, v in enumerate(values):
            try:
                out.append(parse_date(v, fmt))
            except AmbiguousDateError as exc:  # the column's ambiguity is reported once
                out.append(None)
                bad[pos].add(role)
                unread[pos].append(f"{column!r}: {exc}")
            except ValueError as exc:
                out.append(None)
                bad[pos].add(role)
                unread[pos].append(f"{column!r}: {exc}")
                problems.append(Problem(rows[pos], column, show_value(v), f"{labels[pos]}: {exc}"))
        parsed[role] = out
    status: list[StatusCode | None] = [None] * n
    status_text: list[str | None] = [None] * n
    if mapping.status is not None:
        for pos, v in enumerate(frame[mapping.status].tolist()):
            if is_missing(v):
                continue
            status_text[pos] = show_value(v)
            try:
                status[pos] = _status_code(mapping, v)
            except KeyError:
                bad[pos].add(None)
                unread[pos].append(f"{mapping.status!r}: unknown status {show_value(v)!r}")
                problems.append(
                    Problem(
                        rows[pos],
                        mapping.status,
                        show_value(v),
                        f"{labels[pos]}: unknown status; say what it means (one of"
                        f" {', '.join(STATUS_CODES)})",
                    )
                )
    derived: list[Derived | None] = []
    issue_text: list[list[str]] = []
    for pos in range(n):
        dates = {role: parsed[role][pos] for role in parsed}
        result, issues = derive_outcome(
            dates,
            cutoff=mapping.cutoff,
            status=status[pos],
            status_text=status_text[pos],
            outcomes=mapping.derives_outcomes,
        )
        texts = list(unread[pos])
        for issue in issues:
            if issue.role in bad[pos] or (None in bad[pos] and issue.role is None):
                continue  # that cell is already reported as unreadable
            where: str | None = None
            if issue.role is not None:
                where = mapping.dates.get(issue.role)
            if where is None:
                where = mapping.status
            value = None if where is None else show_value(frame[where].iloc[pos])
            problems.append(Problem(rows[pos], where, value, f"{labels[pos]}: {issue.message}"))
            texts.append(issue.message)
        derived.append(None if issues or bad[pos] else result)
        issue_text.append(texts)
    return _DateWork(parsed, status, status_text, derived, issue_text, problems)


def _derived_columns(mapping: Mapping, work: _DateWork) -> dict[str, list[Any]]:
    def pick(name: str) -> list[Any]:
        return [None if d is None else getattr(d, name) for d in work.derived]

    new: dict[str, list[Any]] = {}
    if mapping.derives_outcomes:
        for name in DERIVED_COLUMNS:
            new[name] = pick(name)
    if "blina_start" in mapping.dates:
        new["blina_start_months"] = pick("blina_start_months")
    if "birth" in mapping.dates:
        new["age_years"] = pick("age_years")
    if "diagnosis" in mapping.dates:
        new[DIAGNOSIS_YEAR] = [
            math.nan if d is None else float(d.year) for d in work.parsed["diagnosis"]
        ]
    return new


def _map_dates(out: pd.DataFrame, mapping: Mapping, rows: Sequence[int]) -> list[Problem]:
    """Replace the date and status columns of ``out`` by the columns derived from them."""
    work = _work_dates(out, mapping, rows)
    problems = list(work.problems)
    new = _derived_columns(mapping, work)
    consumed = [*mapping.dates.values(), *([mapping.status] if mapping.status else [])]
    for name, values in new.items():
        if name in out.columns and name not in consumed:
            problems.append(
                Problem(
                    None,
                    name,
                    None,
                    f"the file has a column named {name!r} and the mapping derives it from the"
                    " dates; rename or remove one of them",
                )
            )
            continue
        out[name] = pd.Series(values, dtype=object).values
    if "relapse_site" in out.columns and mapping.cutoff is not None and "relapse" in work.parsed:
        # a relapse after the cut-off is not an event, so it has no site at the cut-off
        sites = out["relapse_site"].tolist()
        for pos, day in enumerate(work.parsed["relapse"]):
            if day is not None and day > mapping.cutoff:
                sites[pos] = None
        out["relapse_site"] = pd.Series(sites, dtype=object).values
    out.drop(columns=[c for c in consumed if c in out.columns], inplace=True)
    return problems


def map_cohort(
    raw: pd.DataFrame | FileTable, mapping: Mapping | None = None
) -> tuple[pd.DataFrame, list[Problem]]:
    """Apply ``mapping`` to a raw table and list what could not be translated.

    Renames columns, translates event codes, category spellings and status text,
    converts time and MRD units, reads MRD as laboratories write it (below-limit
    results go to the companion column, see :mod:`blinastudy.data.mrd_text`), and derives
    times from dates (:mod:`blinastudy.data.dates`). Cells this step does not own (an
    unknown category code, text in a time column) are left as they are for
    :func:`blinastudy.data.schema.check_cohort` to report. ``raw`` is a DataFrame or
    the :class:`~blinastudy.data.table.FileTable` read from the file, whose row numbers
    name the rows and whose decimal-comma flag reads ``1,5``.

    Returns
    -------
    (pandas.DataFrame, list of Problem)
        The mapped table, and its problems: ambiguities and column clashes by column
        first, then unreadable dates, MRD and status cells and impossible date
        sequences by row (naming the patient). Rows with a date problem have no
        derived values.

    Raises
    ------
    CohortError
        As :func:`rename_columns`.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"Dx": ["2019-03-14"], "Relapse": ["2019-01-02"],
    ...                     "Last": ["2021-06-01"]}, dtype=object)
    >>> m = Mapping(dates={"diagnosis": "Dx", "relapse": "Relapse", "last_contact": "Last"})
    >>> _, problems = map_cohort(raw, m)
    >>> print(problems[0])
    row 2, column 'Relapse', value '2019-01-02': the patient in row 2: relapse 2 January 2019 is before diagnosis 14 March 2019
    >>> from blinastudy.data.table import FileTable
    >>> _, problems = map_cohort(FileTable(raw, [7]), m)  # the patient is on row 7 of the file
    >>> problems[0].row
    7
    """
    mapping = Mapping() if mapping is None else mapping
    table = as_file_table(raw)
    out = rename_columns(table.frame, mapping)
    rows = table.rows.tolist()
    problems: list[Problem] = []
    decimal_comma = table.decimal_comma
    for col, codes in mapping.event_codes.items():
        if col in out.columns and codes:
            out[col] = pd.Series(_map_codes(out[col].tolist(), codes), dtype=object).values
    for col, spellings in mapping.categories.items():
        if col in out.columns and spellings:
            out[col] = pd.Series(_map_codes(out[col].tolist(), spellings), dtype=object).values
    for col in _TIME_COLUMNS:
        unit = mapping.unit_of(col)
        if col in out.columns and unit != "months":
            values = _convert(out[col].tolist(), partial(to_months, unit=unit), decimal_comma)
            out[col] = _column(values, col).values
    sources = {dst: src for src, dst in mapping.columns.items()}
    for col in _MRD_COLUMNS:
        if col in out.columns:
            header = sources.get(col, col)
            for a in _mrd_ambiguities(header, col, out[col].tolist(), rows, mapping, decimal_comma):
                problems.append(_ambiguity_problem(a))
            _map_mrd(out, col, mapping, rows, decimal_comma, problems)
    if mapping.dates or mapping.status is not None:
        problems.extend(_map_dates(out, mapping, rows))
    problems.sort(key=lambda p: -1 if p.row is None else p.row)  # stable: file order in a row
    return out, problems


def apply_mapping(raw: pd.DataFrame | FileTable, mapping: Mapping | None = None) -> pd.DataFrame:
    """Rename columns, translate codes and spellings, convert units, derive times from dates.

    Cells that cannot be translated (an unknown code, text in a time column) are left
    as they are, for :func:`blinastudy.data.schema.validate_cohort` to report with their
    row and value. Time columns become months and MRD columns percent (no rounding).
    ``raw`` is a DataFrame or the :class:`~blinastudy.data.table.FileTable` read from the
    file (whose row numbers and decimal-comma flag are then used). See
    :func:`map_cohort` for the problems this step finds itself.

    Raises
    ------
    CohortError
        As :func:`rename_columns`, or listing the problems :func:`map_cohort` found
        (unreadable dates, MRD or status cells, impossible date sequences,
        unanswered ambiguities).

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"EFS (days)": ["365.25", "x"], "Status": ["Dead", "alive"]})
    >>> m = Mapping(columns={"EFS (days)": "efs_months", "Status": "os_event"},
    ...             time_unit="days", event_codes={"os_event": {"dead": 1, "alive": 0}})
    >>> out = apply_mapping(raw, m)
    >>> out["efs_months"].tolist(), out["os_event"].tolist()
    ([12.0, 'x'], [1, 0])
    """
    out, problems = map_cohort(raw, mapping)
    if problems:
        n = len(problems)
        raise CohortError(f"the mapping found {n} problem{'s' if n != 1 else ''}", problems)
    return out


def date_derivation(
    raw: pd.DataFrame | FileTable, mapping: Mapping, patients: Sequence[Any] | None = None
) -> pd.DataFrame:
    """The dates of each patient beside the columns derived from them.

    One row per row of ``raw`` (or per patient in ``patients``, in that order):
    ``row`` (as the user counts it), ``patient_id``, each mapped date (ISO text),
    ``status`` and the ``cutoff``, then the derived ``efs_months``, ``efs_event``,
    ``event_type``, ``efs_end`` (date) and ``efs_end_reason`` (what ended EFS), the
    same for OS, ``blina_start_months``, ``age_years``, ``notes`` (what the cut-off
    changed) and ``problems`` (why nothing was derived: unreadable cells, impossible
    sequences, a column whose date format is not set).

    Parameters
    ----------
    raw
        The file as read (:func:`blinastudy.data.cohort.read_file`, whose row numbers
        name the rows; a plain DataFrame counts its rows from 2).
    mapping
        A mapping with dates.
    patients
        Patient identifiers to show (default: every row).

    Raises
    ------
    InputError
        The mapping has no dates, or a patient is not in the file.
    CohortError
        As :func:`rename_columns`.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"ID": ["P1", "P2"], "Dx": ["2019-01-01", "2019-06-01"],
    ...                     "Last": ["2020-01-01", "2021-06-01"],
    ...                     "Died": [None, "2020-06-01"]}, dtype=object)
    >>> m = Mapping(columns={"ID": "patient_id"},
    ...             dates={"diagnosis": "Dx", "last_contact": "Last", "death": "Died"})
    >>> t = date_derivation(raw, m, ["P2"])
    >>> t.loc[0, "problems"]
    'last contact 1 June 2021 is after death 1 June 2020'
    >>> raw.loc[1, "Last"] = "2020-06-01"
    >>> t = date_derivation(raw, m, ["P2"])
    >>> t[["patient_id", "diagnosis", "death", "os_end_reason", "os_event"]].values.tolist()
    [['P2', '2019-06-01', '2020-06-01', 'death', 1]]
    >>> float(t["os_months"].iloc[0]) == 366 / (365.25 / 12)
    True
    """
    if not mapping.dates:
        raise InputError("the mapping has no dates to derive from")
    read = as_file_table(raw)
    out = rename_columns(read.frame, mapping)
    rows = read.rows.tolist()
    work = _work_dates(out, mapping, rows)
    ids = (
        [None if is_missing(v) else show_value(v).strip() for v in out["patient_id"].tolist()]
        if "patient_id" in out.columns
        else [None] * len(out)
    )
    records: list[dict[str, Any]] = []
    for pos in range(len(out)):
        d = work.derived[pos] or Derived()
        record: dict[str, Any] = {"row": rows[pos], "patient_id": ids[pos]}
        for role in work.parsed:
            day = work.parsed[role][pos]
            record[role] = None if day is None else day.isoformat()
        record["status"] = work.status_text[pos]
        record["cutoff"] = None if mapping.cutoff is None else mapping.cutoff.isoformat()
        record.update(
            efs_months=d.efs_months,
            efs_event=d.efs_event,
            event_type=d.event_type,
            efs_end=None if d.efs_end is None else d.efs_end.isoformat(),
            efs_end_reason=d.efs_end_reason,
            os_months=d.os_months,
            os_event=d.os_event,
            os_end=None if d.os_end is None else d.os_end.isoformat(),
            os_end_reason=d.os_end_reason,
            blina_start_months=d.blina_start_months,
            age_years=d.age_years,
            notes="; ".join(d.notes),
            problems="; ".join(work.issue_text[pos]),
        )
        records.append(record)
    table = pd.DataFrame.from_records(records)
    if patients is None:
        return table
    where: dict[str, int] = {}
    for pos, pid in enumerate(ids):
        if pid is not None:
            where.setdefault(pid, pos)
    picked = []
    for p in patients:
        key = show_value(p).strip()
        if key not in where:
            raise InputError(f"patient {key} is not in the file")
        picked.append(where[key])
    return table.iloc[picked].reset_index(drop=True)


# --------------------------------------------------------------------------------------
# Suggesting a mapping
# --------------------------------------------------------------------------------------

_SYNONYMS: dict[str, tuple[str, ...]] = {
    "patient_id": (
        "patient id",
        "patient",
        "pid",
        "pt id",
        "ptid",
        "id",
        "subject",
        "subject id",
        "study id",
        "study number",
        "case id",
        "case",
        "patient code",
        "patient no",
        "patient number",
        "patient nr",
        "pat no",
        "pat nr",
        "pat id",
        "study no",
        "study nr",
        "study code",
        "record id",
        "upn",
        "trial no",
        "trial number",
        "subject no",
        "code",
    ),
    "arm": (
        "arm",
        "treatment arm",
        "treatment",
        "treatment group",
        "group",
        "cohort",
        "therapy",
        "study arm",
        "blina",
        "blinatumomab",
        "blinatumomab given",
        "received blinatumomab",
    ),
    "efs_months": (
        "efs",
        "efs time",
        "time efs",
        "efs duration",
        "event free survival",
        "event free survival time",
        "time to event",
    ),
    "efs_event": (
        "efs event",
        "event",
        "efs status",
        "status efs",
        "efs censor",
        "efs censored",
        "event status",
        "event free survival event",
        "event free survival status",
        "efs ind",
        "efs indicator",
    ),
    "os_months": (
        "os",
        "os time",
        "time os",
        "os duration",
        "overall survival",
        "overall survival time",
        "survival time",
    ),
    "os_event": (
        "os event",
        "os status",
        "status os",
        "os censor",
        "os censored",
        "death",
        "dead",
        "died",
        "vital status",
        "overall survival status",
        "overall survival event",
        "os ind",
        "os indicator",
    ),
    "sex": ("sex", "gender", "sex gender", "gender sex", "m f"),
    "age_years": ("age", "age at diagnosis", "age years", "age dx", "age at dx"),
    "wbc_10e9_l": (
        "wbc",
        "white cell count",
        "white blood cells",
        "white blood cell count",
        "leukocytes",
        "leucocytes",
        "leukocyte count",
        "wbc count",
    ),
    "cns_status": ("cns", "cns status", "cns involvement", "cns stage"),
    "genetic_subtype": (
        "genetic subtype",
        "genetics",
        "cytogenetics",
        "subtype",
        "genetic group",
        "molecular subtype",
        "molecular genetics",
        "cytogenetic group",
        "cytogenetic subtype",
        "genetic abnormality",
        "fusion",
        "fusion gene",
        "karyotype",
        "cytogenetic",
    ),
    "risk_group": (
        "risk",
        "risk group",
        "risk stratification",
        "risk stratum",
        "final risk",
        "final risk group",
        "stratum",
        "cclg risk",
    ),
    "prednisone_response": (
        "prednisone response",
        "pred response",
        "prednisone",
        "pgr",
        "ppr",
        "pgr ppr",
        "day 8 response",
        "d8 response",
        "steroid response",
        "prephase response",
    ),
    "mrd_day15_pct": (
        "mrd d15",
        "mrd day 15",
        "mrd day15",
        "mrd15",
        "mrd d19",
        "mrd day 19",
        "mrd d15 19",
        "day 15 mrd",
        "d15 mrd",
    ),
    "mrd_eoi_pct": (
        "mrd eoi",
        "eoi mrd",
        "mrd end of induction",
        "end of induction mrd",
        "mrd d33",
        "mrd day 33",
        "mrd day33",
        "mrd33",
        "mrd d46",
        "mrd day 46",
        "d33 mrd",
        "day 33 mrd",
    ),
    "indication": ("indication", "blina indication", "indication for blinatumomab", "reason"),
    "blina_start_months": (
        "blina start",
        "blinatumomab start",
        "start blina",
        "start of blinatumomab",
        "time to blina",
        "time to blinatumomab",
        "blina start time",
        "blina time",
    ),
    "blina_cycles": (
        "blina cycles",
        "blinatumomab cycles",
        "cycles",
        "number of cycles",
        "n cycles",
        "cycles blina",
    ),
    "crs_grade": ("crs", "crs grade", "cytokine release syndrome", "cytokine release"),
    "neurotox_grade": (
        "neurotox",
        "neurotox grade",
        "neurotoxicity",
        "neurotoxicity grade",
        "icans",
        "icans grade",
        "neurological toxicity",
    ),
    "hsct": (
        "hsct",
        "sct",
        "allo sct",
        "allo hsct",
        "transplant",
        "bmt",
        "hsct cr1",
        "transplanted",
    ),
    "event_type": ("event type", "type of event", "first event", "efs event type", "event kind"),
    "relapse_site": ("relapse site", "site of relapse", "relapse location"),
}

_UNIT_TOKENS: dict[str, TimeUnit] = {
    "d": "days",
    "day": "days",
    "days": "days",
    "dd": "days",
    "w": "weeks",
    "wk": "weeks",
    "wks": "weeks",
    "week": "weeks",
    "weeks": "weeks",
    "m": "months",
    "mo": "months",
    "mos": "months",
    "mon": "months",
    "mth": "months",
    "mths": "months",
    "month": "months",
    "months": "months",
    "y": "years",
    "yr": "years",
    "yrs": "years",
    "year": "years",
    "years": "years",
}

_NOISE_TOKENS = frozenset(
    {
        "at",
        "of",
        "the",
        "in",
        "dx",
        "diag",
        "diagnosis",
        "baseline",
        "initial",
        "x10",
        "10",
        "9",
        "l",
        "e9",
        "10e9",
        "x109",
        "value",
        "pct",
        "percent",
        "perc",
        "frac",
        "fraction",
        "proportion",
        "from",
    }
)

_FRACTION_TOKENS = frozenset({"frac", "fraction", "proportion"})
_PERCENT_TOKENS = frozenset({"pct", "percent", "perc"})


def _tokens(header: str) -> list[str]:
    text = unicodedata.normalize("NFKC", header)
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text)  # efsTime -> efs Time
    text = text.replace("%", " pct ").casefold()
    return re.findall(r"[^\W_]+", text)


def _base(tokens: list[str]) -> str:
    kept = [t for t in tokens if t not in _NOISE_TOKENS and t not in _UNIT_TOKENS]
    return " ".join(kept)


def _header_unit(tokens: list[str]) -> TimeUnit | None:
    units = {_UNIT_TOKENS[t] for t in tokens if t in _UNIT_TOKENS}
    return units.pop() if len(units) == 1 else None


_SYNONYM_BASES: dict[str, tuple[str, ...]] = {
    col: tuple(dict.fromkeys([_base(_tokens(col)), *(_base(_tokens(s)) for s in syns)]))
    for col, syns in _SYNONYMS.items()
}


_BRACKETS = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")


def _name_tokens(header: str) -> list[str]:
    """Tokens of a header without bracketed parts (``Sex (M/F)`` -> ``sex``), if any remain."""
    tokens = _tokens(_BRACKETS.sub(" ", header))
    return tokens if _base(tokens) else _tokens(header)


def _name_score(header: str, column: str) -> float:
    base = _base(_name_tokens(header))
    if not base:
        return 0.0
    compact = base.replace(" ", "")
    best = 0.0
    for syn in _SYNONYM_BASES[column]:
        if not syn:
            continue
        if base == syn:
            return 1.0
        syn_compact = syn.replace(" ", "")
        if compact == syn_compact:
            best = max(best, 0.98)
            continue
        if len(compact) >= 4 and len(syn_compact) >= 4:
            ratio = difflib.SequenceMatcher(None, compact, syn_compact).ratio()
            if ratio >= 0.88:
                best = max(best, 0.85 * ratio)
    return best


def _words(*items: str) -> frozenset[str]:
    return frozenset(normalise_key(i) for i in items)


_GENERIC_YES = _words("1", "yes", "y", "true", "t")
_GENERIC_NO = _words("0", "no", "n", "false", "f")
_EVENT_WORDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
_EVENT_WORDS["efs_event"] = (
    _GENERIC_YES
    | _words(
        "event",
        "relapse",
        "relapsed",
        "death",
        "dead",
        "died",
        "deceased",
        "induction failure",
        "failure",
        "second malignancy",
        "progression",
    ),
    _GENERIC_NO
    | _words("none", "no event", "censored", "censor", "ccr", "event free", "no relapse"),
)
_EVENT_WORDS["os_event"] = (
    _GENERIC_YES | _words("dead", "died", "deceased", "death", "event"),
    _GENERIC_NO
    | _words("alive", "living", "censored", "censor", "no event", "lost to follow up", "ltfu"),
)
_EVENT_WORDS["hsct"] = (
    _GENERIC_YES | _words("transplanted", "hsct", "allo hsct", "sct"),
    _GENERIC_NO | _words("not transplanted", "no hsct", "none"),
)

_CATEGORY_GUESSES: dict[str, dict[str, str]] = {
    "cns_status": {"1": "CNS1", "2": "CNS2", "3": "CNS3", "i": "CNS1", "ii": "CNS2", "iii": "CNS3"},
    "sex": {"boy": "M", "girl": "F", "man": "M", "woman": "F"},
    "risk_group": {"mr": "IR", "medium": "IR", "mediumrisk": "IR"},
}


def _status_words() -> dict[str, StatusCode]:
    spellings: dict[StatusCode, tuple[str, ...]] = {
        "event-free": (
            "alive in cr1",
            "alive in cr",
            "alive in ccr",
            "alive in ccr1",
            "alive in first cr",
            "alive in first remission",
            "alive in first complete remission",
            "alive in complete remission",
            "alive in continuous complete remission",
            "alive in remission",
            "alive cr1",
            "alive ccr",
            "in cr1",
            "in ccr",
            "cr1",
            "ccr",
            "ccr1",
            "alive no event",
            "alive without event",
            "alive event free",
            "alive and event free",
            "event free",
            "alive and well",
        ),
        "alive": ("alive", "living"),
        "relapse": (
            "relapse",
            "relapsed",
            "alive after relapse",
            "alive with relapse",
            "relapsed alive",
            "alive relapsed",
            "alive in cr2",
            "in cr2",
            "cr2",
            "alive in second remission",
        ),
        "induction-failure": (
            "induction failure",
            "refractory",
            "primary refractory",
            "non responder",
            "no remission",
            "resistant disease",
        ),
        "second-malignancy": (
            "second malignancy",
            "second malignant neoplasm",
            "secondary malignancy",
            "second cancer",
            "smn",
        ),
        "dead": (
            "dead",
            "deceased",
            "died",
            "death",
            "expired",
            "dead of disease",
            "died of disease",
            "dod",
            "death in cr",
            "death in cr1",
            "died in cr",
            "died in remission",
            "death in remission",
            "dead in cr1",
            "treatment related death",
            "toxic death",
            "trm",
        ),
    }
    return {normalise_key(s): code for code, words in spellings.items() for s in words}


#: Status spellings read without asking (suggest_mapping applies them, with a note).
_STATUS_WORDS = _status_words()

_B_OTHER_REASON = (
    "no recurrent abnormality was reported; B-other assumes the tests for ETV6::RUNX1,"
    " BCR::ABL1, KMT2A and TCF3::PBX1 were negative (a normal karyotype does not exclude the"
    " cryptic ETV6::RUNX1); confirm"
)
_NO_RESULT_REASON = "no result; read as a missing value"
#: Suggestions that need the user's judgement: shown by review_mapping, never applied.
_VALUE_JUDGEMENTS: dict[str, dict[str, tuple[str, str]]] = {
    "genetic_subtype": {
        **{
            normalise_key(s): ("B-other", _B_OTHER_REASON)
            for s in (
                "normal karyotype",
                "normal",
                "46,XX",
                "46,XY",
                "46 XX",
                "46 XY",
                "no abnormality",
                "no abnormalities",
                "no abnormality detected",
                "no recurrent abnormality",
                "other",
                "others",
                "B-other ALL",
                "negative",
            )
        },
        **{
            normalise_key(s): (AS_MISSING, _NO_RESULT_REASON)
            for s in ("not done", "n.d.", "nd", "unknown", "failed", "no metaphases", "na")
        },
    },
    STATUS_TARGET: {
        normalise_key(s): (
            "alive",
            "lost to follow-up: alive at the last contact; events come from their dates",
        )
        for s in ("lost to follow up", "ltfu", "lost", "lost to fu")
    },
}

_DATE_WORDS = frozenset({"date", "dt", "datum"})
_DATE_FILLER = frozenset({"of", "the", "at", "on"})


def _phrases(**roles: tuple[str, ...]) -> dict[str, DateRole]:
    return {
        " ".join(t for t in _tokens(p) if t not in _DATE_FILLER): cast(DateRole, role)
        for role, phrases in roles.items()
        for p in phrases
    }


#: Header phrases (after removing "date", "of", ...) naming a date role.
_DATE_ROLE_PHRASES = _phrases(
    diagnosis=("diagnosis", "dx", "diag", "initial diagnosis", "first diagnosis", "diagnosed"),
    blina_start=(
        "blinatumomab start",
        "blina start",
        "start blinatumomab",
        "start of blinatumomab",
        "start blina",
        "blinatumomab started",
        "blina started",
        "blinatumomab",
        "blina",
        "blincyto",
        "blincyto start",
        "first blinatumomab",
        "first blina",
        "first blinatumomab dose",
        "blinatumomab first dose",
        "first dose of blinatumomab",
    ),
    relapse=("relapse", "first relapse", "relapsed"),
    induction_failure=("induction failure", "if"),
    second_malignancy=(
        "second malignancy",
        "smn",
        "second malignant neoplasm",
        "secondary malignancy",
        "second cancer",
    ),
    death=("death", "died", "dead", "decease"),
    last_contact=(
        "last follow up",
        "last followup",
        "last fu",
        "last contact",
        "last seen",
        "last visit",
        "last news",
        "last known alive",
        "follow up",
        "followup",
        "fu",
        "lfu",
    ),
    birth=("birth",),
)
#: Headers naming a date role without the word "date" (taken when the values are dates).
_DATE_ROLE_BARE = _phrases(
    birth=("dob", "birthdate", "birth date", "d o b"),
    last_contact=(
        "last follow up",
        "last followup",
        "last fu",
        "last contact",
        "last seen",
        "dlfu",
        "date last follow up",
    ),
)
_STATUS_HEADERS = frozenset(
    " ".join(t for t in _tokens(p) if t not in _DATE_FILLER)
    for p in (
        "status",
        "outcome",
        "patient status",
        "current status",
        "status at last follow-up",
        "status at last contact",
        "status at last FU",
        "last status",
        "final status",
        "disease status",
        "clinical status",
        "outcome status",
        "follow-up status",
        "FU status",
        "vital status",
        "status at cut-off",
    )
)
_MRD_TIME_POINTS = ("mrd_day15_pct", "mrd_eoi_pct")
_TP_REASON = (
    "'{tp}' means different days in different protocols (in AIEOP-BFM flow MRD, TP1 is"
    " day 15 and TP2 the end of induction; elsewhere TP1 is the end of induction)"
)
#: Headers whose role is not clear: offered with the reason, never assigned.
_UNCLEAR_HEADERS: dict[str, tuple[tuple[str, ...], str]] = {
    **{
        base: (_MRD_TIME_POINTS, _TP_REASON.format(tp=tp))
        for base, tp in (
            ("mrd tp1", "TP1"),
            ("mrd tp 1", "TP1"),
            ("mrd1", "MRD1"),
            ("mrd 1", "MRD 1"),
            ("mrd time point 1", "time point 1"),
            ("mrd tp2", "TP2"),
            ("mrd tp 2", "TP2"),
            ("mrd2", "MRD2"),
            ("mrd 2", "MRD 2"),
            ("mrd time point 2", "time point 2"),
            ("mrd tp0", "TP0"),
        )
    },
    "mrd": (_MRD_TIME_POINTS, "the header does not say at which time point MRD was measured"),
}


def _distinct(series: pd.Series[Any], limit: int = 50) -> list[Any]:
    """Up to ``limit + 1`` distinct non-missing values, one per :func:`code_key`."""
    out: dict[str, Any] = {}
    for v in pd.unique(series.to_numpy(dtype=object)):
        if is_missing(v):
            continue
        key = code_key(v)
        if key not in out:
            out[key] = v
            if len(out) > limit:
                break
    return list(out.values())


def _numbers(series: pd.Series[Any], decimal_comma: bool) -> list[float]:
    out = []
    for v in series.tolist():
        try:
            x = parse_number(v, decimal_comma=decimal_comma)
        except ValueError:
            continue
        if not math.isnan(x):
            out.append(x)
    return out


def _looks_like_category(values: list[Any], column: str) -> bool:
    if len(values) < 2 or len(values) > 50:
        return False
    known = sum(category_value(column, v) is not None for v in values if isinstance(v, str))
    return known >= 2 and known >= 0.8 * len(values)


def _date_share(values: list[Any], *, numbers: bool) -> float:
    """Share of non-missing cells that read as dates (``numbers``: serials count too)."""
    cells = [v for v in values if not is_missing(v)]
    if not numbers:
        cells = [v for v in cells if not isinstance(v, int | float | np.integer | np.floating)]
        if len(cells) < len([v for v in values if not is_missing(v)]):
            return 0.0
    if not cells:
        return 0.0
    good = 0
    for v in cells:
        try:
            parse_date(v, None)
        except AmbiguousDateError:
            good += 1
        except ValueError:
            continue
        else:
            good += 1
    return good / len(cells)


def _date_role(header: str) -> tuple[DateRole | None, bool]:
    """The date role a header names, and whether it says "date" (else values must agree)."""
    tokens = _name_tokens(header)
    has_date = any(t in _DATE_WORDS for t in tokens)
    rest = " ".join(t for t in tokens if t not in _DATE_WORDS and t not in _DATE_FILLER)
    if has_date:
        return _DATE_ROLE_PHRASES.get(rest), True
    return _DATE_ROLE_BARE.get(rest), False


def _is_status_header(header: str) -> bool:
    return " ".join(t for t in _name_tokens(header) if t not in _DATE_FILLER) in _STATUS_HEADERS


def _status_share(values: list[Any]) -> float:
    if not values:
        return 0.0
    return sum(code_key(v) in _STATUS_WORDS for v in values) / len(values)


@dataclass(frozen=True)
class ColumnOffer:
    """A file column offered for a role but left unmapped until the user confirms it.

    Parameters
    ----------
    column
        The file's column.
    candidates
        The targets it may be (see :func:`column_targets`), most likely first.
    reason
        Why it is offered and why it was not taken.

    Examples
    --------
    >>> import pandas as pd
    >>> offer = review_mapping(pd.DataFrame({"MRD TP1 %": ["0.1"]}), Mapping()).offers[0]
    >>> offer.column, offer.candidates
    ('MRD TP1 %', ('mrd_day15_pct', 'mrd_eoi_pct'))
    """

    column: str
    candidates: tuple[str, ...]
    reason: str


@dataclass
class _Analysis:
    """What the headers and values say: columns taken, columns offered, notes."""

    assigned: dict[str, str]
    offers: list[ColumnOffer]
    notes: list[str]


def _date_headers(
    headers: list[str], distinct: Callable[[int], list[Any]]
) -> tuple[dict[str, DateRole], set[str], list[ColumnOffer]]:
    """Date columns by role, and the headers whose role is unclear (offered, not taken)."""
    date_roles: dict[str, DateRole] = {}
    skip: set[str] = set()
    offers: list[ColumnOffer] = []
    for i, header in enumerate(headers):
        if header in CANONICAL_COLUMNS:
            continue
        role, says_date = _date_role(header)
        if role is not None and (says_date or _date_share(distinct(i), numbers=False) >= 0.8):
            date_roles[header] = role
            skip.add(header)
            continue
        unclear = _UNCLEAR_HEADERS.get(_base(_name_tokens(header)))
        if unclear is not None:
            offers.append(ColumnOffer(header, unclear[0], unclear[1]))
            skip.add(header)
            continue
        if any(t in _DATE_WORDS for t in _name_tokens(header)) or (
            len(distinct(i)) >= 2 and _date_share(distinct(i), numbers=False) >= 0.8
        ):
            skip.add(header)
            offers.append(
                ColumnOffer(
                    header,
                    tuple(date_target(r) for r in DATE_ROLES),
                    "its values are dates but the header does not say which date",
                )
            )
    return date_roles, skip, offers


def _name_candidates(headers: list[str], skip: set[str]) -> list[tuple[float, int, int, str, str]]:
    """Every (header, canonical column) pair whose names match, best first."""
    candidates: list[tuple[float, int, int, str, str]] = []
    for i, header in enumerate(headers):
        if header in skip:
            continue
        if header in CANONICAL_COLUMNS:
            candidates.append((2.0, 0, i, header, header))
            continue
        for j, column in enumerate(CANONICAL_COLUMNS):
            score = _name_score(header, column)
            if score >= 0.75:
                candidates.append((score, -j, i, header, column))
    candidates.sort(key=lambda c: (-c[0], c[2], -c[1]))
    return candidates


def _assign_names(
    candidates: list[tuple[float, int, int, str, str]],
) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """Headers assigned greedily to canonical columns (both ways round), with notes."""
    assigned: dict[str, str] = {}  # header -> target
    taken: dict[str, str] = {}  # target -> header
    notes: list[str] = []
    for score, _, _, header, column in candidates:
        if header in assigned:
            continue
        if column in taken:
            notes.append(f"{header!r} also looks like {column}; {taken[column]!r} was used")
            continue
        if column == "age_years" and _header_unit(_tokens(header)) not in (None, "years"):
            notes.append(
                f"{header!r} looks like age but not in years; convert it to years in the file"
            )
            continue
        assigned[header] = column
        taken[column] = header
        if score < 0.98:
            notes.append(f"{header!r} was taken as {column} (similar name)")
    return assigned, taken, notes


def _assign_dates(
    date_roles: dict[str, DateRole], assigned: dict[str, str], taken: dict[str, str]
) -> tuple[list[ColumnOffer], list[str]]:
    """Take the date columns for their roles (updating assigned and taken), with notes."""
    offers: list[ColumnOffer] = []
    notes: list[str] = []
    for header, role in date_roles.items():
        target = date_target(role)
        if role == "birth":
            offers.append(
                ColumnOffer(
                    header,
                    (target,),
                    "a date of birth identifies a patient: map it to compute age at"
                    " diagnosis (the date is then dropped), or drop the column",
                )
            )
        elif target in taken:
            notes.append(
                f"{header!r} also looks like the {ROLE_LABELS[role]} date;"
                f" {taken[target]!r} was used"
            )
        else:
            assigned[header] = target
            taken[target] = header
    return offers, notes


def _release(assigned: dict[str, str], taken: dict[str, str], target: str) -> str:
    """Give a taken target's header back (updating assigned and taken) and return it."""
    header = taken.pop(target)
    del assigned[header]
    return header


def _release_dates(assigned: dict[str, str], taken: dict[str, str]) -> list[ColumnOffer]:
    """Release the dates that cannot be used as they are, offering them with the reason."""
    has_times = "efs_months" in taken or "os_months" in taken
    outcome_dates = [date_target(r) for r in OUTCOME_ROLES if date_target(r) in taken]
    release: dict[str, str] = {}
    if "date:diagnosis" not in taken:
        for target in [t for t in taken if t.startswith(DATE_PREFIX)]:
            release[target] = "no date of diagnosis was found; every time is measured from it"
    elif outcome_dates and has_times:
        for target in outcome_dates:
            release[target] = (
                "the file gives outcome times; map the dates instead to derive the times from them"
            )
    if "blina_start_months" in taken and "date:blina_start" in taken:
        release.setdefault(
            "date:blina_start",
            f"{taken['blina_start_months']!r} gives the time to blinatumomab already",
        )
    return [
        ColumnOffer(_release(assigned, taken, target), (target,), reason)
        for target, reason in release.items()
    ]


def _status_from_dates(
    headers: list[str],
    assigned: dict[str, str],
    taken: dict[str, str],
    skip: set[str],
    distinct: Callable[[int], list[Any]],
) -> tuple[list[ColumnOffer], list[str]]:
    """Release the columns derived from the dates and find the status (updating assigned, taken)."""
    offers: list[ColumnOffer] = []
    notes: list[str] = []
    for column in [
        *DERIVED_COLUMNS,
        *(["blina_start_months"] if "date:blina_start" in taken else []),
    ]:
        if column not in taken:
            continue
        header = _release(assigned, taken, column)
        i = headers.index(header)
        if _is_status_header(header) or _status_share(distinct(i)) >= 0.8:
            offers.append(
                ColumnOffer(
                    header,
                    (STATUS_TARGET,),
                    f"{column} is derived from the dates; this column can be the patient status",
                )
            )
        else:
            notes.append(
                f"{header!r} looks like {column}, which is derived from the dates;"
                " it is kept as an extra column"
            )
    for header in headers:
        if header in assigned or header in skip or STATUS_TARGET in taken:
            continue
        if _is_status_header(header):
            assigned[header] = STATUS_TARGET
            taken[STATUS_TARGET] = header
    if STATUS_TARGET not in taken:
        for i, header in enumerate(headers):
            if header in assigned or header in skip:
                continue
            if len(distinct(i)) >= 2 and _status_share(distinct(i)) >= 0.8:
                offers.append(
                    ColumnOffer(header, (STATUS_TARGET,), "its values read as patient status")
                )
    return offers, notes


def _value_offers(
    headers: list[str],
    passed: set[str],
    taken: dict[str, str],
    derive: bool,
    distinct: Callable[[int], list[Any]],
) -> list[ColumnOffer]:
    """Category and event columns recognised by their values only (offered, not taken)."""
    offers: list[ColumnOffer] = []
    for i, header in enumerate(headers):
        if header in passed:
            continue
        found = {code_key(v) for v in distinct(i)}
        targets: list[str] = []
        for column in _CATEGORY_COLUMNS:
            if column not in taken and _looks_like_category(distinct(i), column):
                targets.append(column)
        for column in ("os_event", "efs_event"):
            yes, no = _EVENT_WORDS[column]
            specific = (yes | no) - _GENERIC_YES - _GENERIC_NO
            if (
                column not in taken
                and not derive
                and len(found) >= 2
                and found <= yes | no
                and found & specific
            ):
                targets.append(column)
        if targets:
            offers.append(
                ColumnOffer(
                    header,
                    tuple(targets),
                    f"its values look like {' or '.join(targets)} but the header does not say so",
                )
            )
    return offers


def _analyse(raw: pd.DataFrame) -> _Analysis:
    """Match headers (and, for offers only, values) to targets."""
    headers = [str(c) for c in raw.columns]
    seen_values: dict[int, list[Any]] = {}

    def distinct(i: int) -> list[Any]:
        if i not in seen_values:
            seen_values[i] = _distinct(raw.iloc[:, i], limit=200)
        return seen_values[i]

    date_roles, skip, offers = _date_headers(headers, distinct)
    assigned, taken, notes = _assign_names(_name_candidates(headers, skip))
    date_offers, date_notes = _assign_dates(date_roles, assigned, taken)
    offers += date_offers
    notes += date_notes
    offers += _release_dates(assigned, taken)
    derive = "date:diagnosis" in taken and any(date_target(r) in taken for r in OUTCOME_ROLES)
    if derive:
        status_offers, status_notes = _status_from_dates(headers, assigned, taken, skip, distinct)
        offers += status_offers
        notes += status_notes
    offered = {o.column for o in offers}
    offers += _value_offers(headers, {*assigned, *skip, *offered}, taken, derive, distinct)
    return _Analysis(assigned, offers, notes)


def _taken_series(raw: pd.DataFrame, taken: dict[str, str]) -> dict[str, pd.Series[Any]]:
    """The file column of each taken target (the first of a repeated header)."""
    headers = [str(c) for c in raw.columns]
    return {target: raw.iloc[:, headers.index(header)] for target, header in taken.items()}


def _suggest_time_units(
    taken: dict[str, str], series: dict[str, pd.Series[Any]], decimal_comma: bool
) -> tuple[TimeUnit, dict[str, TimeUnit], list[str]]:
    """The file's time unit and per-column exceptions, from headers or magnitude, with notes."""
    notes: list[str] = []
    time_units: dict[str, TimeUnit] = {}
    declared = {c: _header_unit(_tokens(taken[c])) for c in _TIME_COLUMNS if c in taken}
    declared_units = {u for u in declared.values() if u is not None}
    for column, unit in declared.items():
        header = taken[column]
        if unit is not None:
            time_units[column] = unit
            if unit != "months":
                notes.append(f"{header!r} is read as {unit} (from its header)")
            continue
        if len(declared_units) == 1:
            time_units[column] = next(iter(declared_units))
            notes.append(
                f"{header!r} has no unit in its header; assumed {time_units[column]} like the"
                " other time columns"
            )
            continue
        values = _numbers(series[column], decimal_comma)
        largest = max(values) if values else None
        if largest is not None and largest > 300:
            time_units[column] = "days"
            notes.append(
                f"{header!r} has no unit in its header; assumed days because values reach"
                f" {show_value(largest)}, too long for months in a paediatric cohort"
            )
        else:
            time_units[column] = "months"
            notes.append(f"{header!r} has no unit in its header; assumed months")
    counts: dict[TimeUnit, int] = {}
    for unit in time_units.values():
        counts[unit] = counts.get(unit, 0) + 1
    time_unit: TimeUnit = max(counts, key=lambda u: counts[u]) if counts else "months"
    overrides = {c: u for c, u in time_units.items() if u != time_unit}
    return time_unit, overrides, notes


def _suggest_mrd_units(
    taken: dict[str, str],
    series: dict[str, pd.Series[Any]],
    rows: Sequence[int],
    renames: dict[str, str],
    decimal_comma: bool,
) -> tuple[dict[str, MrdUnit], list[str]]:
    """MRD units stated by the headers, with notes on the values left to the user."""
    notes: list[str] = []
    mrd_units: dict[str, MrdUnit] = {}
    partial_mapping = Mapping(columns=renames)
    for column in _MRD_COLUMNS:
        if column not in taken:
            continue
        header = taken[column]
        toks = set(_tokens(header))
        if toks & _FRACTION_TOKENS:
            mrd_units[column] = "fraction"
            notes.append(f"{header!r} is read as a fraction (from its header) and x100 to percent")
        elif toks & _PERCENT_TOKENS and header != column:
            mrd_units[column] = "percent"
        for a in _mrd_ambiguities(
            header, column, series[column].tolist(), rows, partial_mapping, decimal_comma
        ):
            notes.append(a.message)
    return mrd_units, notes


def _suggest_date_formats(
    taken: dict[str, str], series: dict[str, pd.Series[Any]], rows: Sequence[int]
) -> tuple[dict[str, DateFormat], list[str]]:
    """Date formats the cells of the date columns prove, with notes on the ones they do not."""
    notes: list[str] = []
    date_formats: dict[str, DateFormat] = {}
    for target, header in taken.items():
        if not target.startswith(DATE_PREFIX):
            continue
        evidence = detect_date_format(series[target].tolist())
        if evidence.fmt is not None:
            date_formats[header] = evidence.fmt
            proof = evidence.day_first or evidence.month_first
            assert proof is not None
            notes.append(f"{header!r} is read as {evidence.fmt} (from {proof[1]!r})")
        elif evidence.status != "none":
            amb = _date_ambiguity(
                header,
                cast(DateRole, target[len(DATE_PREFIX) :]),
                series[target].tolist(),
                rows,
                Mapping(),
            )
            if amb is not None:
                notes.append(amb.message)
    return date_formats, notes


def _event_codes_of(
    column: str, header: str, values: list[Any], types_mapped: bool
) -> tuple[dict[str, int] | None, list[str]]:
    """The 0/1 codes of one event column's spellings (None when not known), with notes."""
    keys = {code_key(v): v for v in values}
    if set(keys) <= {"0", "1"}:
        if {"censor", "censored", "cens"} & set(_tokens(header)):
            return {"1": 0, "0": 1}, [
                f"{header!r} looks like a censoring indicator: 1 (censored) is read as"
                f" {column} = 0 and 0 as 1; check this"
            ]
        return None, []
    notes: list[str] = []
    codes: dict[str, int] | None = None
    yes, no = _EVENT_WORDS[column]
    if set(keys) <= yes | no:
        codes = {k: (1 if k in yes else 0) for k in keys}
        pairs = ", ".join(f"{show_value(v)!r} -> {codes[k]}" for k, v in keys.items())
        notes.append(f"{header!r} codes read as {pairs}")
    else:
        unknown = [show_value(v) for k, v in keys.items() if k not in yes | no][:5]
        notes.append(
            f"{header!r} ({column}) has values that are not a known 0/1 spelling"
            f" ({', '.join(map(repr, unknown))}); set its event codes"
        )
    if (
        column == "efs_event"
        and keys
        and any(
            category_value("event_type", v) not in (None, "none")
            for v in values
            if isinstance(v, str)
        )
        and not types_mapped
    ):
        notes.append(
            f"{header!r} names event types; only its event/no-event meaning is used."
            " Add an event_type column to keep the type"
        )
    return codes, notes


def _suggest_event_codes(
    taken: dict[str, str], series: dict[str, pd.Series[Any]]
) -> tuple[dict[str, dict[str, int]], list[str]]:
    """Event codes of the mapped 0/1 columns whose spellings are known, with notes."""
    notes: list[str] = []
    event_codes: dict[str, dict[str, int]] = {}
    for column in _BINARY_COLUMNS:
        if column not in taken:
            continue
        codes, column_notes = _event_codes_of(
            column, taken[column], _distinct(series[column], limit=200), "event_type" in taken
        )
        if codes is not None:
            event_codes[column] = codes
        notes.extend(column_notes)
    return event_codes, notes


def _suggest_status_codes(
    taken: dict[str, str], series: dict[str, pd.Series[Any]]
) -> tuple[dict[str, StatusCode | None], list[str]]:
    """Known spellings of the status column's values, with notes on the unknown ones."""
    status_codes: dict[str, StatusCode | None] = {}
    if STATUS_TARGET not in taken:
        return status_codes, []
    header = taken[STATUS_TARGET]
    read_as: list[str] = []
    unknown_status: list[str] = []
    for v in _distinct(series[STATUS_TARGET], limit=200):
        key = code_key(v)
        if key in _STATUS_WORDS:
            status_codes[key] = _STATUS_WORDS[key]
            read_as.append(f"{show_value(v)!r} -> {_STATUS_WORDS[key]}")
        elif not any(normalise_key(c) == key for c in STATUS_CODES):
            unknown_status.append(repr(show_value(v)))
    notes = [f"{header!r} is the patient status, checked against the dates"]
    if read_as:
        notes.append(f"{header!r} status read as {', '.join(read_as)}")
    if unknown_status:
        notes.append(
            f"{header!r} has status values that are not recognised:"
            f" {', '.join(unknown_status)};"
            f" say what they mean ({', '.join(STATUS_CODES)})"
        )
    return status_codes, notes


def _arm_spellings(
    header: str, unknown_values: list[Any]
) -> tuple[dict[str, str | None], list[str]]:
    """Yes/no spellings of a blinatumomab column read as the arm, with the note that says so."""
    yes, no = _GENERIC_YES, _GENERIC_NO
    if not (all(code_key(v) in yes | no for v in unknown_values) and "blina" in header.casefold()):
        return {}, []
    spellings: dict[str, str | None] = {
        code_key(v): "blinatumomab" if code_key(v) in yes else "chemotherapy"
        for v in unknown_values
    }
    return spellings, [
        f"{header!r} is read as a blinatumomab yes/no column: yes -> blinatumomab,"
        " no -> chemotherapy"
    ]


def _guessed_spellings(
    header: str, column: str, unknown_values: list[Any]
) -> tuple[dict[str, str | None], list[str]]:
    """Category spellings guessed from the common ones, with the note that asks to check them."""
    guesses = _CATEGORY_GUESSES.get(column, {})
    spellings: dict[str, str | None] = {}
    for v in unknown_values:
        if code_key(v) in guesses:
            spellings[code_key(v)] = guesses[code_key(v)]
    if not spellings:
        return spellings, []
    pairs_text = ", ".join(f"{k!r} -> {v!r}" for k, v in spellings.items())
    return spellings, [f"{header!r} spellings guessed: {pairs_text}; check them"]


def _unrecognised_note(header: str, column: str, left: list[Any]) -> str:
    """The note listing a category column's values that are neither known nor guessed."""
    shown = ", ".join(repr(show_value(v)) for v in left[:6])
    more = f" and {len(left) - 6} more" if len(left) > 6 else ""
    judged = _VALUE_JUDGEMENTS.get(column, {})
    hints = [
        f"{show_value(v)!r} -> {judged[code_key(v)][0]}" for v in left if code_key(v) in judged
    ]
    hint = f" (suggested, to confirm: {', '.join(hints)})" if hints else ""
    return (
        f"{header!r} ({column}) has values that are not recognised: {shown}{more};"
        f" allowed: {', '.join(column_spec(column).values)}{hint}"
    )


def _suggest_categories(
    taken: dict[str, str], series: dict[str, pd.Series[Any]]
) -> tuple[dict[str, dict[str, str | None]], list[str]]:
    """Spellings guessed for the mapped category columns' unknown values, with notes."""
    notes: list[str] = []
    categories: dict[str, dict[str, str | None]] = {}
    for column in _CATEGORY_COLUMNS:
        if column not in taken:
            continue
        header = taken[column]
        observed = _distinct(series[column], limit=200)
        unknown_values = [v for v in observed if category_value(column, v) is None]
        if not unknown_values:
            continue
        if column == "arm":
            spellings, guessed = _arm_spellings(header, unknown_values)
        else:
            spellings, guessed = _guessed_spellings(header, column, unknown_values)
        notes.extend(guessed)
        left = [v for v in unknown_values if code_key(v) not in spellings]
        if left:
            notes.append(_unrecognised_note(header, column, left))
        if spellings:
            categories[column] = spellings
    return categories, notes


def _coverage_notes(
    headers: list[str], assigned: dict[str, str], taken: dict[str, str], offers: list[ColumnOffer]
) -> list[str]:
    """Notes on what is offered, which required columns are missing and what is left over."""
    notes = [
        f"{offer.column!r} may be {' or '.join(offer.candidates)}: {offer.reason};"
        " left unmapped until confirmed"
        for offer in offers
    ]
    derived = STATUS_TARGET in taken or any(date_target(r) in taken for r in OUTCOME_ROLES)
    for column in CANONICAL_COLUMNS:
        spec = column_spec(column)
        if spec.required and column not in taken and not (derived and column in DERIVED_COLUMNS):
            notes.append(f"no column found for required {column}; choose one")
    offered = {o.column for o in offers}
    extra = [h for h in headers if h not in assigned and h not in offered]
    if extra:
        shown = ", ".join(map(repr, extra[:10])) + (" ..." if len(extra) > 10 else "")
        notes.append(f"kept as extra columns: {shown}")
    return notes


def suggest_mapping(raw: pd.DataFrame | FileTable) -> Mapping:
    """Propose a :class:`Mapping` for a raw table from its headers and values.

    Headers are matched to canonical columns by normalised name and common synonyms
    (``Patient ID``, ``Study No.``, ``Pat. Nr.``, ``Record ID``, ``EFS (days)``,
    ``Event``, ``MRD EOI``, ``MRD_d33``, ``WBC at dx``, ``Sex (M/F)``, ``Age at dx
    (y)``, ``Risk group``, ``Cytogenetics``, ``Karyotype``, ...) and to date roles
    (``Date of diagnosis``, ``Date of blinatumomab start``, ``Date of relapse``,
    ``Date of death``, ``Date of last follow-up``, ...). When the file gives dates of
    diagnosis and outcome but no times, EFS and OS are derived from the dates and a
    ``Status`` column is read as the patient status. Time units come from the header
    or, failing that, from magnitude; date formats from cells that prove them
    (``25/03/2019``); MRD units from the header. Event codes and status spellings are
    proposed only when they are known spellings.

    What is not clear is never guessed, only explained in :attr:`Mapping.notes` and
    listed by :func:`review_mapping`: a column whose role is not clear from its
    header (``MRD TP1 %``, a column recognised only by its values, a date of birth) is
    left unmapped; a date column that fits both day-first and month-first, an MRD
    column of values <= 1 without a unit, ``neg`` MRD without a detection limit are
    left unanswered; unfamiliar category values (``normal karyotype``) are left for
    the user to confirm.

    ``raw`` is the file as read (:func:`blinastudy.data.cohort.read_file`: its row
    numbers name cells in the notes and its decimal-comma flag reads ``1,5``) or a
    plain DataFrame.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"Patient ID": ["a", "b"], "EFS (days)": ["400", "800"],
    ...                     "Event": ["relapse", "none"], "Sex/Gender": ["m", "f"]})
    >>> m = suggest_mapping(raw)
    >>> m.columns
    {'Patient ID': 'patient_id', 'EFS (days)': 'efs_months', 'Event': 'efs_event', 'Sex/Gender': 'sex'}
    >>> m.unit_of("efs_months"), m.event_codes
    ('days', {'efs_event': {'relapse': 1, 'none': 0}})
    >>> dated = pd.DataFrame({"Study No.": ["T1"], "Date of diagnosis": ["14/03/2019"],
    ...                       "Date of last follow-up": ["02/11/2021"],
    ...                       "Status": ["alive in CR1"]}, dtype=object)
    >>> s = suggest_mapping(dated)
    >>> s.columns, s.dates, s.status, s.date_formats
    ({'Study No.': 'patient_id'}, {'diagnosis': 'Date of diagnosis', 'last_contact': 'Date of last follow-up'}, 'Status', {'Date of diagnosis': 'dd/mm/yyyy'})
    """
    table = as_file_table(raw)
    frame, rows, decimal_comma = table.frame, table.rows.tolist(), table.decimal_comma
    headers = [str(c) for c in frame.columns]
    analysis = _analyse(frame)
    notes = list(analysis.notes)
    assigned = analysis.assigned
    taken = {t: h for h, t in assigned.items()}
    header_duplicates = [h for h in headers if headers.count(h) > 1]
    if header_duplicates:
        notes.append(f"the file repeats column name(s) {sorted(set(header_duplicates))}")
    series = _taken_series(frame, taken)
    renames = {h: c for h, c in assigned.items() if h != c and c in CANONICAL_COLUMNS}
    time_unit, overrides, time_notes = _suggest_time_units(taken, series, decimal_comma)
    mrd_units, mrd_notes = _suggest_mrd_units(taken, series, rows, renames, decimal_comma)
    date_formats, date_notes = _suggest_date_formats(taken, series, rows)
    event_codes, event_notes = _suggest_event_codes(taken, series)
    status_codes, status_notes = _suggest_status_codes(taken, series)
    categories, category_notes = _suggest_categories(taken, series)
    notes += [
        *time_notes,
        *mrd_notes,
        *date_notes,
        *event_notes,
        *status_notes,
        *category_notes,
        *_coverage_notes(headers, assigned, taken, analysis.offers),
    ]
    dates = {
        cast(DateRole, t[len(DATE_PREFIX) :]): h
        for h, t in assigned.items()
        if t.startswith(DATE_PREFIX)
    }
    return Mapping(
        columns=renames,
        time_unit=time_unit,
        time_units=overrides,
        mrd_unit="percent",
        mrd_units=mrd_units,
        event_codes=event_codes,
        categories=categories,
        notes=tuple(notes),
        dates=dates,
        date_formats=date_formats,
        status=taken.get(STATUS_TARGET),
        status_codes=status_codes,
    )


# --------------------------------------------------------------------------------------
# Reviewing a mapping: what the user still has to decide
# --------------------------------------------------------------------------------------

ValueSource = Literal["canonical", "alias", "mapping", "missing", "unrecognised"]


@dataclass(frozen=True)
class ValueChoice:
    """One distinct value of a category, 0/1 or status column, against the canonical codes.

    Parameters
    ----------
    target
        The canonical column (or ``"status"``) the file column is mapped to.
    column
        The file's column.
    value
        The spelling as written (the first one seen; spellings differing only in case,
        spaces, hyphens or underscores are one value).
    count
        How many rows hold it.
    current
        What it is read as now (a canonical value, ``"0"``/``"1"``, a status code), or
        ``None`` (missing or not recognised: see ``source``).
    source
        ``"canonical"`` (already a canonical spelling), ``"alias"`` (a recognised
        alias), ``"mapping"`` (the mapping says so), ``"missing"`` (the mapping reads
        it as blank) or ``"unrecognised"`` (loading would report it).
    suggestion, reason
        A proposed value (:data:`AS_MISSING` for "read as blank") and why; only for
        values not recognised. Never applied: record it with
        :meth:`Mapping.with_value`.
    allowed
        The values :meth:`Mapping.with_value` accepts for this target.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"Karyotype": ["normal karyotype", "t(12;21)"]})
    >>> choices = review_mapping(raw, Mapping(columns={"Karyotype": "genetic_subtype"})).values
    >>> [(c.value, c.current, c.source, c.suggestion) for c in choices]
    [('normal karyotype', None, 'unrecognised', 'B-other'), ('t(12;21)', 'ETV6-RUNX1', 'alias', None)]
    """

    target: str
    column: str
    value: str
    count: int
    current: str | None
    source: ValueSource
    suggestion: str | None
    reason: str | None
    allowed: tuple[str, ...]


@dataclass(frozen=True)
class MappingReview:
    """Everything a mapping leaves for the user, for one file (:func:`review_mapping`).

    Parameters
    ----------
    offers
        Columns offered for a role but unmapped (:class:`ColumnOffer`); confirm one
        with :meth:`Mapping.with_column`.
    ambiguities
        Questions that must be answered before the file loads (:class:`Ambiguity`).
    values
        Every distinct value of the mapped category, 0/1 and status columns
        (:class:`ValueChoice`); set one with :meth:`Mapping.with_value`.
    missing
        Required columns or dates not provided, in words.

    Examples
    --------
    >>> import pandas as pd
    >>> review_mapping(pd.DataFrame({"x": [1]}), Mapping()).missing[0]
    'no column is mapped to patient_id'
    """

    offers: tuple[ColumnOffer, ...]
    ambiguities: tuple[Ambiguity, ...]
    values: tuple[ValueChoice, ...]
    missing: tuple[str, ...]

    @property
    def ready(self) -> bool:
        """No ambiguity, nothing missing and every value recognised (offers are optional).

        Examples
        --------
        >>> import pandas as pd
        >>> review_mapping(pd.DataFrame({"x": [1]}), Mapping()).ready
        False
        """
        return (
            not self.ambiguities
            and not self.missing
            and all(v.source != "unrecognised" for v in self.values)
        )


def _allowed(target: str) -> tuple[str, ...]:
    if target == STATUS_TARGET:
        return STATUS_CODES
    if target in _BINARY_COLUMNS:
        return ("0", "1")
    return column_spec(target).values


def _read_value(mapping: Mapping, target: str, value: Any) -> tuple[str | None, ValueSource]:
    key = code_key(value)
    if target == STATUS_TARGET:
        if key in mapping.status_codes:
            code = mapping.status_codes[key]
            return code, "mapping" if code is not None else "missing"
        for status in STATUS_CODES:
            if normalise_key(status) == key:
                return status, "canonical"
        return None, "unrecognised"
    if target in _BINARY_COLUMNS:
        codes = mapping.event_codes.get(target, {})
        if key in codes:
            return str(codes[key]), "mapping"
        try:
            number = parse_number(value)
        except ValueError:
            return None, "unrecognised"
        if number in (0.0, 1.0):
            return str(int(number)), "canonical"
        return None, "unrecognised"
    spellings = mapping.categories.get(target, {})
    if key in spellings:
        canonical = spellings[key]
        return canonical, "mapping" if canonical is not None else "missing"
    canonical = category_value(target, value) if isinstance(value, str) else None
    if canonical is None:
        return None, "unrecognised"
    return canonical, "canonical" if normalise_key(canonical) == key else "alias"


def _suggest_value(target: str, column: str, value: Any) -> tuple[str | None, str | None]:
    key = code_key(value)
    if target == STATUS_TARGET:
        if key in _STATUS_WORDS:
            return _STATUS_WORDS[key], "a common spelling"
    elif target in _EVENT_WORDS:
        yes, no = _EVENT_WORDS[target]
        if key in yes:
            return "1", "a common spelling of an event"
        if key in no:
            return "0", "a common spelling of no event"
    elif target == "arm" and "blina" in column.casefold():
        if key in _GENERIC_YES:
            return "blinatumomab", "a blinatumomab yes/no column: yes"
        if key in _GENERIC_NO:
            return "chemotherapy", "a blinatumomab yes/no column: no"
    elif key in _CATEGORY_GUESSES.get(target, {}):
        return _CATEGORY_GUESSES[target][key], "a common spelling"
    judged = _VALUE_JUDGEMENTS.get(target, {}).get(key)
    if judged is not None:
        return judged
    return None, None


def _value_choices(raw: pd.DataFrame, mapping: Mapping) -> list[ValueChoice]:
    headers = [str(c) for c in raw.columns]
    sources = {dst: src for src, dst in mapping.columns.items()}
    targets: list[tuple[str, str]] = []
    for target in (*_CATEGORY_COLUMNS, *_BINARY_COLUMNS):
        column = sources.get(target)
        if column is None and target in headers and target not in mapping.columns:
            column = target
        if column is not None and column in headers:
            targets.append((target, column))
    if mapping.status is not None and mapping.status in headers:
        targets.append((STATUS_TARGET, mapping.status))
    choices: list[ValueChoice] = []
    for target, column in targets:
        counts: dict[str, int] = {}
        first: dict[str, Any] = {}
        for v in raw.iloc[:, headers.index(column)].tolist():
            if is_missing(v):
                continue
            key = code_key(v)
            counts[key] = counts.get(key, 0) + 1
            first.setdefault(key, v)
        for key, v in first.items():
            current, source = _read_value(mapping, target, v)
            suggestion, reason = (
                _suggest_value(target, column, v) if source == "unrecognised" else (None, None)
            )
            choices.append(
                ValueChoice(
                    target,
                    column,
                    show_value(v),
                    counts[key],
                    current,
                    source,
                    suggestion,
                    reason,
                    _allowed(target),
                )
            )
    return choices


def _missing(raw: pd.DataFrame, mapping: Mapping, needs_arm: bool) -> list[str]:
    headers = {str(c) for c in raw.columns}
    provided = {mapping.columns.get(h, h) for h in headers}
    if mapping.arm is not None:
        provided.add("arm")
    if mapping.derives_outcomes:
        provided.update(DERIVED_COLUMNS)
    missing = []
    for column in CANONICAL_COLUMNS:
        if not column_spec(column).required or column in provided:
            continue
        if column == "arm" and not needs_arm:
            continue
        missing.append(f"no column is mapped to {column}")
    if mapping.derives_outcomes and "last_contact" not in mapping.dates:
        missing.append(
            "no date of last contact is mapped: patients without an event cannot be censored"
        )
    return missing


def _with_format_hint(
    ambiguities: list[Ambiguity], renamed: pd.DataFrame, mapping: Mapping
) -> list[Ambiguity]:
    """Suggest (never apply) the day/month order the file's other date columns prove."""
    proven: dict[str, DateFormat] = {}
    for column in mapping.dates.values():
        fmt = mapping.date_formats.get(column) or detect_date_format(renamed[column].tolist()).fmt
        if fmt is not None:
            proven[column] = fmt
    if len(set(proven.values())) != 1:
        return ambiguities
    fmt = next(iter(proven.values()))
    reason = f"the file's other date columns ({', '.join(map(repr, proven))}) are {fmt}"
    return [
        dataclasses.replace(a, suggestion=fmt, reason=reason) if a.kind == "date_format" else a
        for a in ambiguities
    ]


def review_mapping(
    raw: pd.DataFrame | FileTable, mapping: Mapping, *, needs_arm: bool = True
) -> MappingReview:
    """What ``mapping`` leaves for the user to decide about file ``raw``.

    Parameters
    ----------
    raw
        The file as read (:func:`blinastudy.data.cohort.read_file`, whose row numbers
        name the rows; a plain DataFrame counts its rows from 2).
    mapping
        The mapping so far (e.g. from :func:`suggest_mapping`).
    needs_arm
        Whether the file must give the arm (``False`` for a file whose arm is given
        when stacking two files, as :func:`blinastudy.data.cohort.combine_cohorts` does).

    Returns
    -------
    MappingReview
        Offers (columns left unmapped, with candidates and reasons), ambiguities
        (with both readings of an example cell), every value of the mapped category,
        0/1 and status columns with a suggestion where not recognised, and what is
        missing. ``ready`` says whether loading can succeed as far as the mapping goes
        (cell problems are still reported by loading).

    Raises
    ------
    CohortError
        The mapping names columns the file does not have.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"Study No.": ["T1", "T2"], "Date of diagnosis": ["03/04/2019",
    ...                     "05/06/2019"], "Date of death": [None, "01/02/2020"],
    ...                     "Date of last follow-up": ["07/08/2021", "01/02/2020"],
    ...                     "Status": ["alive in CR1", "deceased"],
    ...                     "MRD TP1 %": ["0.1", "neg"]}, dtype=object)
    >>> m = suggest_mapping(raw)
    >>> r = review_mapping(raw, m, needs_arm=False)
    >>> [(a.kind, a.column) for a in r.ambiguities]
    [('date_format', 'Date of diagnosis'), ('date_format', 'Date of death'), ('date_format', 'Date of last follow-up')]
    >>> [(o.column, o.candidates) for o in r.offers]
    [('MRD TP1 %', ('mrd_day15_pct', 'mrd_eoi_pct'))]
    >>> for col in ("Date of diagnosis", "Date of death", "Date of last follow-up"):
    ...     m = m.with_date_format(col, "dd/mm/yyyy")
    >>> review_mapping(raw, m, needs_arm=False).ready
    True
    """
    table = as_file_table(raw)
    frame, rows, decimal_comma = table.frame, table.rows.tolist(), table.decimal_comma
    renamed = rename_columns(frame, mapping)  # checks the mapping fits the file
    ambiguities: list[Ambiguity] = []
    for role, column in mapping.dates.items():
        found = _date_ambiguity(column, role, renamed[column].tolist(), rows, mapping)
        if found is not None:
            ambiguities.append(found)
    ambiguities = _with_format_hint(ambiguities, renamed, mapping)
    sources = {dst: src for src, dst in mapping.columns.items()}
    for target in _MRD_COLUMNS:
        if target in renamed.columns:
            ambiguities.extend(
                _mrd_ambiguities(
                    sources.get(target, target),
                    target,
                    renamed[target].tolist(),
                    rows,
                    mapping,
                    decimal_comma,
                )
            )
    analysis = _analyse(frame)
    used_targets = {mapping.target_of(str(c)) or str(c) for c in frame.columns}
    offers = [
        o
        for o in analysis.offers
        if mapping.target_of(o.column) is None
        and o.column not in CANONICAL_COLUMNS
        and any(t not in used_targets for t in o.candidates)
    ]
    offered = {o.column for o in offers}
    for header, target in analysis.assigned.items():
        if (
            mapping.target_of(header) is None
            and header != target
            and header not in offered
            and target not in used_targets
        ):
            offers.append(ColumnOffer(header, (target,), f"its header looks like {target}"))
    return MappingReview(
        tuple(offers),
        tuple(ambiguities),
        tuple(_value_choices(frame, mapping)),
        tuple(_missing(frame, mapping, needs_arm)),
    )

"""Translate a user's own column names, units and codes onto the canonical cohort table.

A :class:`Mapping` records, for one file, which of its columns is which canonical
column, the unit of its times and MRD values, how its event columns code events
(``yes``/``no``, ``dead``/``alive``, ...), any extra category spellings, and an arm
for a file that holds one arm only. It is a plain frozen value with a JSON form,
so a mapping confirmed once can be saved and reused.

:func:`suggest_mapping` proposes a mapping from a raw table's headers and values
and explains every guess in :attr:`Mapping.notes`; :func:`apply_mapping` applies a
mapping (``blinastudy.cohort.load_cohort`` does this before validating).

Times are converted to months with 1 month = 365.25 / 12 days and 1 week = 7 days,
MRD fractions to percent (x 100). Conversions are plain floating-point arithmetic:
nothing is rounded.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import unicodedata
from collections.abc import Callable
from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal, cast

import pandas as pd

from blinastudy.errors import InputError
from blinastudy.schema import (
    CANONICAL_COLUMNS,
    COLUMNS,
    DECIMAL_COMMA_ATTR,
    ROWS_ATTR,
    CohortError,
    Problem,
    SharedTuple,
    category_value,
    column_spec,
    is_missing,
    normalise_key,
    parse_number,
    show_value,
)

__all__ = [
    "DAYS_PER_MONTH",
    "MRD_UNITS",
    "TIME_UNITS",
    "Mapping",
    "MrdUnit",
    "TimeUnit",
    "apply_mapping",
    "code_key",
    "rename_columns",
    "suggest_mapping",
    "to_months",
]

TimeUnit = Literal["days", "weeks", "months", "years"]
MrdUnit = Literal["percent", "fraction"]
TIME_UNITS: tuple[TimeUnit, ...] = ("days", "weeks", "months", "years")
MRD_UNITS: tuple[MrdUnit, ...] = ("percent", "fraction")

#: Days in one month (a Julian year of 365.25 days over 12 months).
DAYS_PER_MONTH = 365.25 / 12

_TIME_COLUMNS = tuple(c.name for c in COLUMNS if c.time)
_MRD_COLUMNS = tuple(c.name for c in COLUMNS if c.mrd)
_BINARY_COLUMNS = tuple(c.name for c in COLUMNS if c.kind == "binary")
_CATEGORY_COLUMNS = tuple(c.name for c in COLUMNS if c.kind == "category")
_FORMAT_VERSION = 1


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


@dataclass(frozen=True)
class Mapping:
    """How one file's columns, units and codes translate to the canonical table.

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
        Per-column exceptions to ``mrd_unit``, keyed by canonical name.
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

    Examples
    --------
    >>> m = Mapping(columns={"Patient ID": "patient_id"}, time_unit="days",
    ...             event_codes={"os_event": {"Dead": 1, "Alive": 0}})
    >>> m.event_codes
    {'os_event': {'dead': 1, 'alive': 0}}
    >>> Mapping.from_json(m.to_json()) == m
    True
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

    def __post_init__(self) -> None:
        columns: dict[str, str] = {}
        targets: dict[str, str] = {}
        for src, dst in _as_dict(self.columns, "columns").items():
            _check_str(src, "a mapped column name")
            _check_str(dst, f"the target of column {src!r}")
            if dst in targets:
                raise InputError(f"columns {targets[dst]!r} and {src!r} are both mapped to {dst!r}")
            targets[dst] = src
            columns[src] = dst
        _check_time_unit(self.time_unit, "time_unit")
        time_units: dict[str, TimeUnit] = {}
        for col, unit in _as_dict(self.time_units, "time_units").items():
            if col not in _TIME_COLUMNS:
                raise InputError(
                    f"time_units: {col!r} is not a time column ({', '.join(_TIME_COLUMNS)})"
                )
            time_units[col] = _check_time_unit(unit, f"time_units[{col!r}]")
        _check_mrd_unit(self.mrd_unit, "mrd_unit")
        mrd_units: dict[str, MrdUnit] = {}
        for col, unit in _as_dict(self.mrd_units, "mrd_units").items():
            if col not in _MRD_COLUMNS:
                raise InputError(
                    f"mrd_units: {col!r} is not an MRD column ({', '.join(_MRD_COLUMNS)})"
                )
            mrd_units[col] = _check_mrd_unit(unit, f"mrd_units[{col!r}]")
        event_codes: dict[str, dict[str, int]] = {}
        for col, codes in _as_dict(self.event_codes, "event_codes").items():
            if col not in _BINARY_COLUMNS:
                raise InputError(
                    f"event_codes: {col!r} is not a 0/1 column ({', '.join(_BINARY_COLUMNS)})"
                )
            table: dict[str, int] = {}
            for spelling, code in _as_dict(codes, f"event_codes[{col!r}]").items():
                if isinstance(code, bool) or code not in (0, 1):
                    raise InputError(
                        f"event_codes[{col!r}][{spelling!r}] must be 0 or 1, got {code!r}"
                    )
                key = code_key(spelling)
                if table.get(key, code) != code:
                    raise InputError(f"event_codes[{col!r}] gives {spelling!r} two codes")
                table[key] = int(code)
            event_codes[col] = table
        categories: dict[str, dict[str, str | None]] = {}
        for col, values in _as_dict(self.categories, "categories").items():
            if col not in _CATEGORY_COLUMNS:
                raise InputError(
                    f"categories: {col!r} is not a category column ({', '.join(_CATEGORY_COLUMNS)})"
                )
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
            categories[col] = spellings
        arm = self.arm
        if arm is not None:
            arm = category_value("arm", arm)
            if arm is None:
                raise InputError(
                    f"arm must be one of {', '.join(column_spec('arm').values)}, got {self.arm!r}"
                )
        notes = self.notes
        if isinstance(notes, str) or not all(isinstance(n, str) for n in notes):
            raise InputError("notes must be a sequence of strings")
        object.__setattr__(self, "columns", columns)
        object.__setattr__(self, "time_units", time_units)
        object.__setattr__(self, "mrd_units", mrd_units)
        object.__setattr__(self, "event_codes", event_codes)
        object.__setattr__(self, "categories", categories)
        object.__setattr__(self, "arm", arm)
        object.__setattr__(self, "notes", tuple(notes))

    def __hash__(self) -> int:
        return hash(self.to_json())

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
        }

    @classmethod
    def from_dict(cls, data: AbcMapping[str, Any]) -> Mapping:
        """Rebuild a mapping from :meth:`to_dict` output; unknown keys are an error.

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
        }
        unknown = sorted(str(k) for k in data if k not in known)
        if unknown:
            raise InputError(f"unknown mapping field(s): {', '.join(unknown)}")
        version = data.get("version", _FORMAT_VERSION)
        if version != _FORMAT_VERSION:
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


# --------------------------------------------------------------------------------------
# Applying a mapping
# --------------------------------------------------------------------------------------


def _carry_attrs(out: pd.DataFrame, raw: pd.DataFrame) -> pd.DataFrame:
    out.attrs.update(raw.attrs)
    if ROWS_ATTR not in out.attrs:
        out.attrs[ROWS_ATTR] = SharedTuple(range(2, len(raw) + 2))
    return out


def rename_columns(raw: pd.DataFrame, mapping: Mapping | None = None) -> pd.DataFrame:
    """Rename ``raw``'s columns as ``mapping`` says and add a constant arm column.

    Values are untouched (see :func:`apply_mapping` for codes and units).

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
    if not isinstance(raw, pd.DataFrame):
        raise InputError(f"raw must be a pandas DataFrame, got {type(raw).__name__}")
    mapping = Mapping() if mapping is None else mapping
    problems: list[Problem] = []
    names = [str(c) for c in raw.columns]
    for src in mapping.columns:
        if src not in names:
            problems.append(
                Problem(
                    None, src, None, "the mapping names this column but the file has no such column"
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
    out = raw.copy()
    out.columns = pd.Index(new_names, dtype=object)
    if mapping.arm is not None:
        out["arm"] = [mapping.arm] * len(out)
    return _carry_attrs(out, raw)


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


def _fraction_to_percent(value: float) -> float:
    return value * 100.0


def _column(values: list[Any], name: str) -> pd.Series[Any]:
    if all(isinstance(v, float) for v in values):
        return pd.Series(values, dtype="float64", name=name)
    return pd.Series(values, dtype=object, name=name)


def apply_mapping(raw: pd.DataFrame, mapping: Mapping | None = None) -> pd.DataFrame:
    """Rename columns, translate event codes and category spellings, and convert units.

    Cells that cannot be translated (an unknown code, text in a time column) are left
    as they are, for :func:`blinastudy.schema.validate_cohort` to report with their
    row and value. Time columns become months and MRD columns percent, by plain
    floating-point arithmetic (no rounding). ``raw.attrs`` (row numbers, decimal-comma
    flag) are carried over.

    Raises
    ------
    CohortError
        As :func:`rename_columns`.

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
    mapping = Mapping() if mapping is None else mapping
    out = rename_columns(raw, mapping)
    decimal_comma = bool(out.attrs.get(DECIMAL_COMMA_ATTR, False))
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
    for col in _MRD_COLUMNS:
        if col in out.columns and mapping.mrd_unit_of(col) == "fraction":
            values = _convert(out[col].tolist(), _fraction_to_percent, decimal_comma)
            out[col] = _column(values, col).values
    return _carry_attrs(out, raw)


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
        "mrd tp0",
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
        "mrd tp1",
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


def _name_score(header: str, column: str) -> float:
    base = _base(_tokens(header))
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


def suggest_mapping(raw: pd.DataFrame) -> Mapping:
    """Propose a :class:`Mapping` for a raw table from its headers and values.

    Headers are matched to canonical columns by normalised name and common synonyms
    (``Patient ID``, ``pid``, ``EFS (days)``, ``efs_time``, ``Event``, ``MRD EOI``,
    ``MRD_d33``, ``WBC``, ``Sex/Gender``, ``Risk``, ``Cytogenetics``, ...), and
    category columns with unfamiliar headers by their values. Time units come from
    the header (``(days)``, ``_wk``) or, failing that, from magnitude; MRD is read as
    a fraction only when the header says so. Event codes are proposed only when every
    value of the column is a known spelling (``yes``/``no``, ``dead``/``alive``,
    ``relapse``/``none``, ``event``/``censored``, ...). Every guess, and everything
    left undecided, is explained in :attr:`Mapping.notes`: review them before use.

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
    """
    if not isinstance(raw, pd.DataFrame):
        raise InputError(f"raw must be a pandas DataFrame, got {type(raw).__name__}")
    decimal_comma = bool(raw.attrs.get(DECIMAL_COMMA_ATTR, False))
    headers = [str(c) for c in raw.columns]
    notes: list[str] = []
    seen_values: dict[int, list[Any]] = {}

    def distinct(i: int) -> list[Any]:
        if i not in seen_values:
            seen_values[i] = _distinct(raw.iloc[:, i], limit=200)
        return seen_values[i]

    # 1. Names: score every (header, canonical column) pair, then assign greedily.
    candidates: list[tuple[float, int, int, str, str]] = []
    for i, header in enumerate(headers):
        if header in CANONICAL_COLUMNS:
            candidates.append((2.0, 0, i, header, header))
            continue
        for j, column in enumerate(CANONICAL_COLUMNS):
            score = _name_score(header, column)
            if score >= 0.75:
                candidates.append((score, -j, i, header, column))
    # 2. Values: category and event columns whose header is not recognised.
    for i, header in enumerate(headers):
        for j, column in enumerate(_CATEGORY_COLUMNS):
            if _looks_like_category(distinct(i), column):
                candidates.append((0.6, -j, i, header, column))
        found = {code_key(v) for v in distinct(i)}
        for column in ("os_event", "efs_event"):
            yes, no = _EVENT_WORDS[column]
            specific = (yes | no) - _GENERIC_YES - _GENERIC_NO
            if len(found) >= 2 and found <= yes | no and found & specific:
                candidates.append((0.6, -CANONICAL_COLUMNS.index(column), i, header, column))
    candidates.sort(key=lambda c: (-c[0], c[2], -c[1]))
    assigned: dict[str, str] = {}  # header -> canonical
    taken: dict[str, str] = {}  # canonical -> header
    for score, _, _, header, column in candidates:
        if header in assigned:
            continue
        if column in taken:
            if score >= 0.75:
                notes.append(f"{header!r} also looks like {column}; {taken[column]!r} was used")
            continue
        if column == "age_years" and _header_unit(_tokens(header)) not in (None, "years"):
            notes.append(
                f"{header!r} looks like age but not in years; convert it to years in the file"
            )
            continue
        assigned[header] = column
        taken[column] = header
        if score < 0.75:
            notes.append(f"{header!r} was taken as {column} because of its values")
        elif score < 0.98:
            notes.append(f"{header!r} was taken as {column} (similar name)")
    header_duplicates = [h for h in headers if headers.count(h) > 1]
    if header_duplicates:
        notes.append(f"the file repeats column name(s) {sorted(set(header_duplicates))}")

    def series(column: str) -> pd.Series[Any]:
        return raw.iloc[:, headers.index(taken[column])]

    # 3. Time units.
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
        values = _numbers(series(column), decimal_comma)
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

    # 4. MRD units.
    mrd_units: dict[str, MrdUnit] = {}
    for column in _MRD_COLUMNS:
        if column not in taken:
            continue
        header = taken[column]
        toks = set(_tokens(header))
        if toks & _FRACTION_TOKENS:
            mrd_units[column] = "fraction"
            notes.append(f"{header!r} is read as a fraction (from its header) and x100 to percent")
        else:
            mrd_units[column] = "percent"
            values = _numbers(series(column), decimal_comma)
            if not toks & _PERCENT_TOKENS and values and max(values) <= 1:
                notes.append(
                    f"{header!r}: all values are <= 1 and the header gives no unit; they are"
                    " read as percent (0.1 = 0.1 %). If they are fractions (0.001 = 0.1 %),"
                    " set the MRD unit to fraction"
                )
    mrd_counts = {u: list(mrd_units.values()).count(u) for u in MRD_UNITS}
    mrd_unit: MrdUnit = "fraction" if mrd_counts["fraction"] > mrd_counts["percent"] else "percent"
    mrd_overrides = {c: u for c, u in mrd_units.items() if u != mrd_unit}

    # 5. Event codes.
    event_codes: dict[str, dict[str, int]] = {}
    for column in _BINARY_COLUMNS:
        if column not in taken:
            continue
        header = taken[column]
        values = distinct(headers.index(taken[column]))
        keys = {code_key(v): v for v in values}
        if set(keys) <= {"0", "1"}:
            if {"censor", "censored", "cens"} & set(_tokens(header)):
                event_codes[column] = {"1": 0, "0": 1}
                notes.append(
                    f"{header!r} looks like a censoring indicator: 1 (censored) is read as"
                    f" {column} = 0 and 0 as 1; check this"
                )
            continue
        yes, no = _EVENT_WORDS[column]
        if set(keys) <= yes | no:
            event_codes[column] = {k: (1 if k in yes else 0) for k in keys}
            pairs = ", ".join(
                f"{show_value(v)!r} -> {event_codes[column][k]}" for k, v in keys.items()
            )
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
            and "event_type" not in taken
        ):
            notes.append(
                f"{header!r} names event types; only its event/no-event meaning is used."
                " Add an event_type column to keep the type"
            )

    # 6. Category spellings.
    categories: dict[str, dict[str, str | None]] = {}
    for column in _CATEGORY_COLUMNS:
        if column not in taken:
            continue
        header = taken[column]
        observed = distinct(headers.index(taken[column]))
        unknown = [v for v in observed if category_value(column, v) is None]
        if not unknown:
            continue
        guesses = _CATEGORY_GUESSES.get(column, {})
        spellings: dict[str, str | None] = {}
        if column == "arm":
            yes, no = _GENERIC_YES, _GENERIC_NO
            if (
                all(code_key(v) in yes | no for v in unknown)
                and "blina" in taken[column].casefold()
            ):
                spellings = {
                    code_key(v): "blinatumomab" if code_key(v) in yes else "chemotherapy"
                    for v in unknown
                }
                notes.append(
                    f"{header!r} is read as a blinatumomab yes/no column: yes -> blinatumomab,"
                    " no -> chemotherapy"
                )
        else:
            for v in unknown:
                if code_key(v) in guesses:
                    spellings[code_key(v)] = guesses[code_key(v)]
            if spellings:
                pairs = ", ".join(f"{k!r} -> {v!r}" for k, v in spellings.items())
                notes.append(f"{header!r} spellings guessed: {pairs}; check them")
        left = [v for v in unknown if code_key(v) not in spellings]
        if left:
            shown = ", ".join(repr(show_value(v)) for v in left[:6])
            more = f" and {len(left) - 6} more" if len(left) > 6 else ""
            notes.append(
                f"{header!r} ({column}) has values that are not recognised: {shown}{more};"
                f" allowed: {', '.join(column_spec(column).values)}"
            )
        if spellings:
            categories[column] = spellings

    # 7. What is still missing or left over.
    for column in CANONICAL_COLUMNS:
        spec = column_spec(column)
        if spec.required and column not in taken:
            notes.append(f"no column found for required {column}; choose one")
    extra = [h for h in headers if h not in assigned]
    if extra:
        shown = ", ".join(map(repr, extra[:10])) + (" ..." if len(extra) > 10 else "")
        notes.append(f"kept as extra columns: {shown}")
    renames = {h: c for h, c in assigned.items() if h != c}
    return Mapping(
        columns=renames,
        time_unit=time_unit,
        time_units=overrides,
        mrd_unit=mrd_unit,
        mrd_units=mrd_overrides,
        event_codes=event_codes,
        categories=categories,
        notes=tuple(notes),
    )

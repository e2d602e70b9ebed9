"""Calendar dates in hospital exports, and times in months derived from them.

Hospital exports give dates (diagnosis, first blinatumomab dose, relapse, death, last
follow-up), not times. This module reads date cells and turns one patient's dates
into the canonical outcome columns; :mod:`blinastudy.data.mapping` applies it to a table.

Reading dates (:func:`parse_date`). Accepted cells:

* Excel date cells (``datetime.date`` / ``datetime.datetime`` as openpyxl gives them,
  also ``pandas.Timestamp`` and ``numpy.datetime64``);
* Excel serial numbers (1900 date system: 43831 is 2020-01-01), whole numbers for
  dates from 1950-01-01 to 2100-12-31 (other numbers are not taken for dates);
* text ``yyyy-mm-dd`` (ISO), ``yyyy/mm/dd``, ``yyyy.mm.dd``, ``dd.mm.yyyy`` (dots are
  always day first), ``dd/mm/yyyy`` or ``mm/dd/yyyy`` (also with ``-``), and
  ``dd Mon yyyy`` / ``dd-Mon-yyyy`` with English month names.

A time of day is accepted only when it is midnight (``2019-03-04 00:00:00``, as
spreadsheets write dates): any other time is reported, never dropped. Two-digit years
are reported. Whether ``dd/mm/yyyy`` or ``mm/dd/yyyy`` applies is decided per column
(:func:`detect_date_format`): a cell whose first number is above 12 proves day first,
one whose second number is above 12 proves month first; a column with no such cell
(every day <= 12) is ambiguous and the user must say which, never guessed.

Deriving times (:func:`derive_outcome`). Months are days / (365.25 / 12). EFS ends at
the first of induction failure, relapse, second malignancy or death (on the same day,
in that order; a death that comes first is ``event_type`` ``death-in-remission``, the
data dictionary having no separate induction death); otherwise it is censored at the
last contact, or at the data cut-off when that is earlier. OS ends at death or is censored likewise. Events after the
cut-off are ignored: the patient is censored at the cut-off (the event proves the
patient was event-free, or alive, until then).

Impossible sequences are reported, never repaired:

* any date before diagnosis (an event, death, blinatumomab start, last contact) and a
  date of birth after diagnosis;
* death before relapse, induction failure or second malignancy;
* last contact before any event, death included (a patient who died was last in
  contact on the day of death: last contact must equal the death date or be blank),
  and last contact after death;
* blinatumomab started after the first event (or, without an event, after last contact);
* diagnosis or blinatumomab start after the cut-off (such a patient has no follow-up or
  was untreated at the cut-off). Events, deaths and last contacts after the cut-off
  are not errors: they are censored at the cut-off, as above.

A patient status (``alive in CR1``, ``relapsed``, ``dead``; see :data:`STATUS_CODES`)
is checked against the dates: an event-free patient with an event date, a dead
patient with no date of death, a relapsed patient with no date of relapse are
reported, naming what is missing.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections.abc import Mapping as AbcMapping
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from blinastudy.core.errors import InputError
from blinastudy.data.schema import is_missing

__all__ = [
    "DATE_FORMATS",
    "DATE_ROLES",
    "DAYS_PER_MONTH",
    "DAYS_PER_YEAR",
    "EVENT_ROLES",
    "OUTCOME_ROLES",
    "ROLE_LABELS",
    "STATUS_CODES",
    "AmbiguousDateError",
    "DateFormat",
    "DateFormatEvidence",
    "DateIssue",
    "DateRole",
    "Derived",
    "StatusCode",
    "derive_outcome",
    "detect_date_format",
    "format_date",
    "months_between",
    "parse_date",
    "readings",
]

#: Days in one month (a Julian year of 365.25 days over 12 months).
DAYS_PER_MONTH = 365.25 / 12
#: Days in one year (Julian), for ages computed from a date of birth.
DAYS_PER_YEAR = 365.25

DateRole = Literal[
    "diagnosis",
    "blina_start",
    "relapse",
    "induction_failure",
    "second_malignancy",
    "death",
    "last_contact",
    "birth",
]
#: Every date a mapping can take from a file.
DATE_ROLES: tuple[DateRole, ...] = get_args(DateRole)
#: EFS events, in the order that breaks a tie between two on the same day.
EVENT_ROLES: tuple[DateRole, ...] = ("induction_failure", "relapse", "second_malignancy", "death")
#: The dates that give EFS and OS.
OUTCOME_ROLES: tuple[DateRole, ...] = (*EVENT_ROLES, "last_contact")
#: How each date is named in messages.
ROLE_LABELS: dict[DateRole, str] = {
    "diagnosis": "diagnosis",
    "blina_start": "blinatumomab start",
    "relapse": "relapse",
    "induction_failure": "induction failure",
    "second_malignancy": "second malignancy",
    "death": "death",
    "last_contact": "last contact",
    "birth": "date of birth",
}
_EVENT_TYPE: dict[DateRole, str] = {
    "induction_failure": "induction-failure",
    "relapse": "relapse",
    "second_malignancy": "second-malignancy",
    "death": "death-in-remission",
}

DateFormat = Literal["dd/mm/yyyy", "mm/dd/yyyy"]
#: How a column writes day/month/year dates with ``/`` or ``-`` (dots are always day first).
DATE_FORMATS: tuple[DateFormat, ...] = ("dd/mm/yyyy", "mm/dd/yyyy")

StatusCode = Literal[
    "event-free", "alive", "relapse", "induction-failure", "second-malignancy", "dead"
]
#: What a status cell can say. ``event-free``: alive with no EFS event (no event date
#: may be given). ``alive``: no death date may be given; events come from the dates.
#: ``relapse``, ``induction-failure``, ``second-malignancy``: that event happened (its
#: date is required). ``dead``: the patient died (the date of death is required).
STATUS_CODES: tuple[StatusCode, ...] = (
    "event-free",
    "alive",
    "relapse",
    "induction-failure",
    "second-malignancy",
    "dead",
)
_STATUS_ROLE: dict[str, DateRole] = {
    "relapse": "relapse",
    "induction-failure": "induction_failure",
    "second-malignancy": "second_malignancy",
    "dead": "death",
}

_MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_MONTH_LOOKUP: dict[str, int] = {}
for _i, _name in enumerate(_MONTH_NAMES, start=1):
    _MONTH_LOOKUP[_name.casefold()] = _i
    _MONTH_LOOKUP[_name[:3].casefold()] = _i
_MONTH_LOOKUP["sept"] = 9

_EXCEL_EPOCH = _dt.date(1899, 12, 30)  # serial 1 = 1900-01-01 after Excel's 1900 leap-day bug
_SERIAL_FIRST = _dt.date(1950, 1, 1)
_SERIAL_LAST = _dt.date(2100, 12, 31)

_TIME = r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?"
_YEAR_FIRST = re.compile(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})" + _TIME)
_DOTTED = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})" + _TIME)
_SLASHED = re.compile(r"(\d{1,2})([/-])(\d{1,2})\2(\d{4})" + _TIME)
_NAMED = re.compile(r"(\d{1,2})[ -]([A-Za-z]{3,9})\.?,?[ -](\d{4})" + _TIME)
_SHORT_YEAR = re.compile(r"\d{1,2}[-/. ](?:\d{1,2}|[A-Za-z]{3,9})[-/. ]\d{2}")
_SERIAL_TEXT = re.compile(r"\d+(?:\.0*)?")


class AmbiguousDateError(ValueError):
    """A ``dd/mm/yyyy``-or-``mm/dd/yyyy`` cell read without knowing the column's format."""


def format_date(day: _dt.date) -> str:
    """A date in words, the same in every locale: ``3 April 2019``.

    Examples
    --------
    >>> import datetime
    >>> format_date(datetime.date(2019, 4, 3))
    '3 April 2019'
    """
    return f"{day.day} {_MONTH_NAMES[day.month - 1]} {day.year}"


def _make(year: int, month: int, day: int, text: str) -> _dt.date:
    try:
        return _dt.date(year, month, day)
    except ValueError:
        raise ValueError(f"{text!r} is not a real calendar date") from None


def _check_midnight(match: re.Match[str], first: int, text: str) -> None:
    hour, minute, second = match.group(first, first + 1, first + 2)
    if hour is None:
        return
    if int(hour) or int(minute) or (second is not None and int(second)):
        raise ValueError(f"{text!r} has a time of day; give the date only")


def _from_datetime(value: _dt.datetime) -> _dt.date:
    if value.time() != _dt.time(0, 0):
        raise ValueError(
            f"{value.isoformat(sep=' ')} has a time of day ({value.strftime('%H:%M')});"
            " give the date only"
        )
    return value.date()


def _from_serial(number: float, shown: str) -> _dt.date:
    if not math.isfinite(number) or not float(number).is_integer():
        raise ValueError(
            f"{shown} is not a whole number, so not an Excel date (a fraction is a time of day)"
        )
    first = (_SERIAL_FIRST - _EXCEL_EPOCH).days
    last = (_SERIAL_LAST - _EXCEL_EPOCH).days
    if not first <= number <= last:
        if 1900 <= number <= 2100:
            raise ValueError(f"{shown} looks like a year alone, not a date")
        raise ValueError(
            f"{shown} is a number but not an Excel date serial of 1950 to 2100 ({first} to {last})"
        )
    return _EXCEL_EPOCH + _dt.timedelta(days=int(number))


def _slash_parts(text: str) -> tuple[int, int, int] | None:
    """``(first, second, year)`` of a ``d/m/yyyy``-type cell, else ``None``."""
    match = _SLASHED.fullmatch(text)
    if match is None:
        return None
    _check_midnight(match, 5, text)
    return int(match.group(1)), int(match.group(3)), int(match.group(4))


def parse_date(value: Any, fmt: DateFormat | None = None) -> _dt.date | None:
    """Read one cell as a calendar date; a missing cell gives ``None``.

    Parameters
    ----------
    value
        The cell: text, an Excel date or serial number, a ``datetime``/``Timestamp``.
    fmt
        How the column writes ``d/m/yyyy`` cells (:data:`DATE_FORMATS`). Needed only
        for such cells; year-first, dotted and month-name cells never need it.

    Raises
    ------
    AmbiguousDateError
        A ``d/m/yyyy`` cell and ``fmt`` is ``None``.
    ValueError
        Anything that is not an accepted date, with the reason.

    Examples
    --------
    >>> parse_date("2019-03-04"), parse_date("04.03.2019"), parse_date(43528)
    (datetime.date(2019, 3, 4), datetime.date(2019, 3, 4), datetime.date(2019, 3, 4))
    >>> parse_date("03/04/2019", "mm/dd/yyyy"), parse_date("4 Mar 2019")
    (datetime.date(2019, 3, 4), datetime.date(2019, 3, 4))
    >>> parse_date("31/02/2019", "dd/mm/yyyy")
    Traceback (most recent call last):
    ...
    ValueError: '31/02/2019' is not a real calendar date
    """
    if is_missing(value):
        return None
    if not isinstance(value, str):
        return _date_of_object(value)
    return _date_of_text(value.strip(), fmt)


def _date_of_object(value: Any) -> _dt.date:
    """Read a cell that is not text: a date, datetime or Excel serial number."""
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    elif isinstance(value, np.datetime64):
        value = pd.Timestamp(value).to_pydatetime()
    if isinstance(value, _dt.datetime):
        return _from_datetime(value)
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, _dt.time):
        raise ValueError(f"{value.isoformat()} is a time of day, not a date")
    if isinstance(value, bool | np.bool_):
        raise ValueError(f"{value} is true/false, not a date")
    if isinstance(value, int | float | np.integer | np.floating):
        number = float(value)
        shown = str(int(number)) if math.isfinite(number) and number.is_integer() else str(number)
        return _from_serial(number, shown)
    raise ValueError(f"a {type(value).__name__} is not a date")


def _date_of_slashed(parts: tuple[int, int, int], text: str, fmt: DateFormat | None) -> _dt.date:
    """Read a ``d/m/yyyy``-type cell's parts in the column's format."""
    first, second, year = parts
    if fmt is None:
        raise AmbiguousDateError(f"{text!r} needs the column's date format")
    if fmt not in DATE_FORMATS:
        raise InputError(f"date format must be one of {', '.join(DATE_FORMATS)}, got {fmt!r}")
    day, month = (first, second) if fmt == "dd/mm/yyyy" else (second, first)
    if month > 12:
        raise ValueError(f"{text!r} does not fit the column's format {fmt}")
    return _make(year, month, day, text)


def _date_of_text(text: str, fmt: DateFormat | None) -> _dt.date:
    """Read a stripped text cell in any accepted format."""
    match = _YEAR_FIRST.fullmatch(text)
    if match is not None:
        _check_midnight(match, 5, text)
        return _make(int(match.group(1)), int(match.group(3)), int(match.group(4)), text)
    match = _DOTTED.fullmatch(text)
    if match is not None:
        _check_midnight(match, 4, text)
        return _make(int(match.group(3)), int(match.group(2)), int(match.group(1)), text)
    parts = _slash_parts(text)
    if parts is not None:
        return _date_of_slashed(parts, text, fmt)
    match = _NAMED.fullmatch(text)
    if match is not None:
        month_number = _MONTH_LOOKUP.get(match.group(2).casefold())
        if month_number is not None:
            _check_midnight(match, 4, text)
            return _make(int(match.group(3)), month_number, int(match.group(1)), text)
    if _SERIAL_TEXT.fullmatch(text):
        return _from_serial(float(text), text)
    if _SHORT_YEAR.fullmatch(text):
        raise ValueError(f"{text!r} has a two-digit year; write the year in full")
    raise ValueError(
        f"{text!r} is not a date in an accepted format (yyyy-mm-dd, dd/mm/yyyy,"
        " mm/dd/yyyy, dd.mm.yyyy, yyyy/mm/dd, an Excel date)"
    )


def readings(text: str) -> tuple[str, str]:
    """The two readings of a ``d/m/yyyy`` cell: day first, then month first.

    A reading that is not a real date is given as ``"not a date"``.

    Examples
    --------
    >>> readings("03/04/2019")
    ('3 April 2019', '4 March 2019')
    """
    out = []
    for fmt in DATE_FORMATS:
        try:
            day = parse_date(text, fmt)
        except ValueError:
            out.append("not a date")
            continue
        out.append("not a date" if day is None else format_date(day))
    return out[0], out[1]


@dataclass(frozen=True)
class DateFormatEvidence:
    """What a column's ``d/m/yyyy`` cells say about day-first versus month-first.

    Parameters
    ----------
    cells
        How many cells are written ``d/m/yyyy`` (with ``/`` or ``-``).
    day_first, month_first
        ``(position, text)`` of the first cell that is possible only day first (its
        first number is above 12) or only month first, if any.
    two_readings
        ``(position, text)`` of the first cell with two different valid readings.

    Examples
    --------
    >>> detect_date_format(["13/01/2020", "02/03/2020"]).fmt
    'dd/mm/yyyy'
    >>> detect_date_format(["02/03/2020", "2020-05-01"]).status
    'ambiguous'
    """

    cells: int
    day_first: tuple[int, str] | None
    month_first: tuple[int, str] | None
    two_readings: tuple[int, str] | None

    @property
    def status(self) -> Literal["none", "fixed", "ambiguous", "conflict"]:
        """``none`` (no such cells), ``fixed``, ``ambiguous`` or ``conflict`` (both proofs).

        Examples
        --------
        >>> detect_date_format(["2019-01-02"]).status
        'none'
        """
        if self.day_first is not None and self.month_first is not None:
            return "conflict"
        if self.day_first is not None or self.month_first is not None:
            return "fixed"
        if self.two_readings is not None:
            return "ambiguous"
        return "none"

    @property
    def fmt(self) -> DateFormat | None:
        """The format the cells prove, or ``None``.

        Examples
        --------
        >>> detect_date_format(["01/31/2019"]).fmt
        'mm/dd/yyyy'
        """
        if self.status != "fixed":
            return None
        return "dd/mm/yyyy" if self.day_first is not None else "mm/dd/yyyy"


def detect_date_format(values: Sequence[Any]) -> DateFormatEvidence:
    """Look at a column's cells for proof of day-first or month-first dates.

    Only text cells written ``d/m/yyyy`` (``/`` or ``-``) count; a cell whose two
    readings are the same day (``05/05/2020``) proves nothing and is not ambiguous.

    Examples
    --------
    >>> e = detect_date_format(["05/05/2020", "02/03/2020", "2/13/2020"])
    >>> e.status, e.fmt, e.month_first
    ('fixed', 'mm/dd/yyyy', (2, '2/13/2020'))
    >>> detect_date_format(["13/01/2020", "01/13/2020"]).status
    'conflict'
    """
    cells = 0
    day_first = month_first = two = None
    for pos, value in enumerate(values):
        if not isinstance(value, str):
            continue
        text = value.strip()
        try:
            parts = _slash_parts(text)
        except ValueError:
            parts = None
            match = _SLASHED.fullmatch(text)
            if match is not None:
                parts = int(match.group(1)), int(match.group(3)), int(match.group(4))
        if parts is None:
            continue
        cells += 1
        first, second, _ = parts
        if first > 12 >= second:
            day_first = day_first or (pos, text)
        elif second > 12 >= first:
            month_first = month_first or (pos, text)
        elif first != second and two is None and first <= 12 and second <= 12:
            a, b = readings(text)
            if a != "not a date" and b != "not a date":
                two = (pos, text)
    return DateFormatEvidence(cells, day_first, month_first, two)


def months_between(start: _dt.date, end: _dt.date) -> float:
    """Months from ``start`` to ``end``: whole days / (365.25 / 12).

    Examples
    --------
    >>> import datetime
    >>> months_between(datetime.date(2019, 1, 1), datetime.date(2020, 1, 1)) * 30.4375
    365.0
    """
    return (end - start).days / DAYS_PER_MONTH


@dataclass(frozen=True)
class DateIssue:
    """One impossible or incomplete piece of a patient's dates.

    Parameters
    ----------
    role
        The date the problem is about (its column is the one to fix), or ``None`` for
        the status.
    message
        What is wrong, naming both dates.

    Examples
    --------
    >>> DateIssue("relapse", "relapse 1 March 2019 is before diagnosis 5 May 2019").role
    'relapse'
    """

    role: DateRole | None
    message: str


@dataclass(frozen=True)
class Derived:
    """A patient's derived columns, with the dates they came from.

    Every number is ``None`` when it cannot be derived (the issues say why). The
    ``*_end`` fields give the date each time ends at and ``*_end_reason`` what it is
    (``relapse``, ``death``, ``last contact``, ``cut-off``, ...). ``notes`` lists what
    the cut-off changed.

    Examples
    --------
    >>> import datetime
    >>> d, _ = derive_outcome({"diagnosis": datetime.date(2019, 1, 1),
    ...                        "last_contact": datetime.date(2020, 1, 1)})
    >>> d.efs_end_reason, d.efs_event, round(d.efs_months, 6)
    ('last contact', 0, 11.991786)
    """

    efs_months: float | None = None
    efs_event: int | None = None
    event_type: str | None = None
    efs_end: _dt.date | None = None
    efs_end_reason: str | None = None
    os_months: float | None = None
    os_event: int | None = None
    os_end: _dt.date | None = None
    os_end_reason: str | None = None
    blina_start_months: float | None = None
    age_years: float | None = None
    notes: tuple[str, ...] = ()


def _label(role: DateRole, day: _dt.date) -> str:
    return f"{ROLE_LABELS[role]} {format_date(day)}"


def _diagnosis_order_issues(
    diagnosis: _dt.date,
    later: list[tuple[DateRole, _dt.date]],
    birth: _dt.date | None,
) -> list[DateIssue]:
    """Dates before the diagnosis that should come after it, and a birth after it."""
    issues: list[DateIssue] = []
    for role, day in later:
        if day < diagnosis:
            issues.append(
                DateIssue(role, f"{_label(role, day)} is before {_label('diagnosis', diagnosis)}")
            )
    if birth is not None and birth > diagnosis:
        issues.append(
            DateIssue(
                "birth", f"{_label('birth', birth)} is after {_label('diagnosis', diagnosis)}"
            )
        )
    return issues


def _death_order_issues(
    death: _dt.date, events: list[tuple[DateRole, _dt.date]]
) -> list[DateIssue]:
    """Events after the death."""
    return [
        DateIssue("death", f"{_label('death', death)} is before {_label(role, day)}")
        for role, day in events
        if role != "death" and death < day
    ]


def _last_contact_order_issues(
    last: _dt.date, death: _dt.date | None, events: list[tuple[DateRole, _dt.date]]
) -> list[DateIssue]:
    """Events after the last contact, and a last contact after the death."""
    issues: list[DateIssue] = []
    for role, day in events:
        if last < day:
            issues.append(
                DateIssue(
                    "last_contact",
                    f"{_label('last_contact', last)} is before {_label(role, day)}"
                    + (
                        "; for a patient who died, last contact is the date of death"
                        if role == "death"
                        else ""
                    ),
                )
            )
    if death is not None and last > death:
        issues.append(
            DateIssue(
                "last_contact",
                f"{_label('last_contact', last)} is after {_label('death', death)}",
            )
        )
    return issues


def _blina_start_order_issues(
    start: _dt.date, events: list[tuple[DateRole, _dt.date]], last: _dt.date | None
) -> list[DateIssue]:
    """A blinatumomab start after the first event or, without events, after the last contact."""
    if events:
        role, first = _first(events)
        if start > first:
            return [
                DateIssue(
                    "blina_start",
                    f"{_label('blina_start', start)} is after the first event,"
                    f" {_label(role, first)}",
                )
            ]
    elif last is not None and start > last:
        return [
            DateIssue(
                "blina_start",
                f"{_label('blina_start', start)} is after {_label('last_contact', last)}",
            )
        ]
    return []


def _cutoff_order_issues(
    dates: AbcMapping[DateRole, _dt.date | None], cutoff: _dt.date
) -> list[DateIssue]:
    """Origins (diagnosis, blinatumomab start) after the data cut-off."""
    issues: list[DateIssue] = []
    origin: tuple[DateRole, ...] = ("diagnosis", "blina_start")
    for role in origin:
        when = dates.get(role)
        if when is not None and when > cutoff:
            issues.append(
                DateIssue(
                    role,
                    f"{_label(role, when)} is after the data cut-off {format_date(cutoff)}",
                )
            )
    return issues


def _sequence_issues(
    dates: AbcMapping[DateRole, _dt.date | None], cutoff: _dt.date | None
) -> list[DateIssue]:
    """Dates out of order with one another or with the cut-off."""
    issues: list[DateIssue] = []
    diagnosis = dates.get("diagnosis")
    events = [(r, d) for r in EVENT_ROLES if (d := dates.get(r)) is not None]
    start = dates.get("blina_start")
    last = dates.get("last_contact")
    birth = dates.get("birth")
    death = dates.get("death")
    if diagnosis is not None:
        later: list[tuple[DateRole, _dt.date]] = [*events]
        if start is not None:
            later.append(("blina_start", start))
        if last is not None:
            later.append(("last_contact", last))
        issues += _diagnosis_order_issues(diagnosis, later, birth)
    if death is not None:
        issues += _death_order_issues(death, events)
    if last is not None:
        issues += _last_contact_order_issues(last, death, events)
    if start is not None:
        issues += _blina_start_order_issues(start, events, last)
    if cutoff is not None:
        issues += _cutoff_order_issues(dates, cutoff)
    return issues


def _first(events: Sequence[tuple[DateRole, _dt.date]]) -> tuple[DateRole, _dt.date]:
    return min(events, key=lambda e: (e[1], EVENT_ROLES.index(e[0])))


def _status_issues(
    dates: AbcMapping[DateRole, _dt.date | None], status: str, text: str
) -> list[DateIssue]:
    shown = f"status {text!r}"
    issues: list[DateIssue] = []
    if status == "event-free":
        for role in EVENT_ROLES:
            day = dates.get(role)
            if day is not None:
                issues.append(
                    DateIssue(role, f"{shown} says event-free, but {_label(role, day)} is given")
                )
    elif status == "alive":
        death = dates.get("death")
        if death is not None:
            issues.append(
                DateIssue("death", f"{shown} says alive, but {_label('death', death)} is given")
            )
    elif status in _STATUS_ROLE:
        role = _STATUS_ROLE[status]
        if dates.get(role) is None:
            what = "date of death" if role == "death" else f"date of {ROLE_LABELS[role]}"
            issues.append(
                DateIssue(role, f"{shown} needs a {what}, which is missing; EFS and OS need it")
            )
    return issues


def _cutoff_notes(
    events: list[tuple[DateRole, _dt.date]], last: _dt.date | None, cutoff: _dt.date | None
) -> list[str]:
    """What the cut-off changes: events it ignores, a follow-up it ends."""
    notes: list[str] = []
    for role, day in events:
        if cutoff is not None and day > cutoff:
            notes.append(f"{_label(role, day)} is after the cut-off {format_date(cutoff)}: ignored")
    if last is not None and cutoff is not None and last > cutoff:
        notes.append(
            f"{_label('last_contact', last)} is after the cut-off {format_date(cutoff)}:"
            " follow-up ends at the cut-off"
        )
    return notes


def _censor(
    last: _dt.date | None, cutoff: _dt.date | None, proof_after_cutoff: bool
) -> tuple[_dt.date, str] | None:
    """Where and why follow-up without an event ends (None when nothing says)."""
    if proof_after_cutoff:
        assert cutoff is not None
        return cutoff, "cut-off"
    if last is None:
        return None
    if cutoff is not None and cutoff < last:
        return cutoff, "cut-off"
    return last, "last contact"


def _unknown_follow_up(missing: str, outcome: str) -> tuple[Derived, tuple[DateIssue, ...]]:
    """No outcome, and why: no date of last contact and ``missing`` leave ``outcome`` unknown."""
    issue = DateIssue(
        "last_contact", f"no date of last contact and {missing}: {outcome} is unknown"
    )
    return Derived(), (issue,)


def derive_outcome(
    dates: AbcMapping[DateRole, _dt.date | None],
    *,
    cutoff: _dt.date | None = None,
    status: StatusCode | None = None,
    status_text: str | None = None,
    outcomes: bool = True,
) -> tuple[Derived, tuple[DateIssue, ...]]:
    """Derive one patient's EFS, OS, event type, blinatumomab start and age from dates.

    Parameters
    ----------
    dates
        ``{role: date or None}`` for the roles the file gives (see :data:`DATE_ROLES`).
    cutoff
        Data cut-off: later events are ignored and follow-up ends there at the latest.
    status
        What the patient's status cell says (:data:`STATUS_CODES`), checked against the
        dates; ``None`` when there is no status.
    status_text
        The status cell as written, for messages.
    outcomes
        Whether to derive EFS and OS (``False`` when the file gives only, e.g.,
        diagnosis and blinatumomab start).

    Returns
    -------
    (Derived, tuple of DateIssue)
        With any issue, no outcome is derived (the numbers are ``None``).

    Examples
    --------
    Relapse 14 months after diagnosis, death later, a cut-off between the two:

    >>> import datetime as dt
    >>> d, issues = derive_outcome(
    ...     {"diagnosis": dt.date(2019, 3, 14), "relapse": dt.date(2020, 5, 2),
    ...      "death": dt.date(2021, 2, 1), "last_contact": dt.date(2021, 2, 1)},
    ...     cutoff=dt.date(2020, 12, 31))
    >>> issues, d.event_type, d.efs_event, d.os_event, d.os_end_reason
    ((), 'relapse', 1, 0, 'cut-off')
    >>> (dt.date(2020, 5, 2) - dt.date(2019, 3, 14)).days / (365.25 / 12) == d.efs_months
    True
    """
    issues = _sequence_issues(dates, cutoff)
    if status is not None:
        if status not in STATUS_CODES:
            raise InputError(f"status must be one of {', '.join(STATUS_CODES)}, got {status!r}")
        issues.extend(_status_issues(dates, status, status_text or status))
    diagnosis = dates.get("diagnosis")
    if diagnosis is None:
        issues.append(DateIssue("diagnosis", "no date of diagnosis; times are measured from it"))
    if issues:
        return Derived(), tuple(issues)
    assert diagnosis is not None
    start = dates.get("blina_start")
    birth = dates.get("birth")
    blina = None if start is None else months_between(diagnosis, start)
    age = None if birth is None else (diagnosis - birth).days / DAYS_PER_YEAR
    if not outcomes:
        return Derived(blina_start_months=blina, age_years=age), ()
    events = [(r, d) for r in EVENT_ROLES if (d := dates.get(r)) is not None]
    counted = [(r, d) for r, d in events if cutoff is None or d <= cutoff]
    last = dates.get("last_contact")
    notes = _cutoff_notes(events, last, cutoff)
    # an event after the cut-off proves the patient event-free and alive until the cut-off
    after_cutoff = len(counted) < len(events)
    if counted:
        role, efs_end = _first(counted)
        efs = (efs_end, ROLE_LABELS[role], 1, _EVENT_TYPE[role])
    else:
        end = _censor(last, cutoff, after_cutoff)
        if end is None:
            return _unknown_follow_up("no event", "event-free follow-up")
        efs = (end[0], end[1], 0, "none")
    death = dates.get("death")
    if death is not None and (cutoff is None or death <= cutoff):
        os_ = (death, "death", 1)
    else:
        end = _censor(last, cutoff, after_cutoff)
        if end is None:
            return _unknown_follow_up("no date of death", "overall survival")
        os_ = (end[0], end[1], 0)
    return (
        Derived(
            efs_months=months_between(diagnosis, efs[0]),
            efs_event=efs[2],
            event_type=efs[3],
            efs_end=efs[0],
            efs_end_reason=efs[1],
            os_months=months_between(diagnosis, os_[0]),
            os_event=os_[2],
            os_end=os_[0],
            os_end_reason=os_[1],
            blina_start_months=blina,
            age_years=age,
            notes=tuple(notes),
        ),
        (),
    )

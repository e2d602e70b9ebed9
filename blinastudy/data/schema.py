"""The canonical cohort table as code: column specifications and the rules a cohort obeys.

This module is the single source of truth for ``docs/DATA_DICTIONARY.md``: the
validators, the column-mapping screen of the app and the rendered documentation
(:func:`schema_markdown`) all read :data:`COLUMNS`.

A cohort has one row per patient. Times are months from diagnosis and MRD is a
percentage. :func:`validate_cohort` reports every broken rule at once as a list
of :class:`Problem` (row as the user counts it, column, offending value, message);
:func:`check_cohort` additionally returns the cohort with canonical dtypes.

Category values are matched case-, space-, hyphen- and underscore-insensitively
and common aliases are recognised (``MLL-AF4`` and ``KMT2A::AFF1`` are
``KMT2A-r``, ``TEL-AML1`` is ``ETV6-RUNX1``, ``HeH`` is ``high-hyperdiploid``, ...);
see :func:`category_value`.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import numpy as np
import pandas as pd

from blinastudy.core.errors import InputError
from blinastudy.data.table import RowNumbers

__all__ = [
    "CANONICAL_COLUMNS",
    "COLUMNS",
    "COVARIATE_LABELS",
    "DEFAULT_COVARIATES",
    "MISSING_TOKENS",
    "REQUIRED_COLUMNS",
    "CohortError",
    "ColumnSpec",
    "Problem",
    "category_value",
    "check_cohort",
    "column_spec",
    "format_problems",
    "is_missing",
    "label",
    "normalise_key",
    "parse_number",
    "schema_markdown",
    "show_value",
    "validate_cohort",
]

Kind = Literal["text", "category", "number", "integer", "binary"]
Group = Literal["required", "baseline", "treatment"]

#: Relative tolerance of the time-order rules (OS >= EFS, start <= EFS): round-off of a
#: unit conversion must not reject a row whose times are equal in the file.
TIME_TOLERANCE = 1e-9

#: Cell texts read as a missing value (compared case-insensitively after trimming spaces).
MISSING_TOKENS: frozenset[str] = frozenset({"", "na", "n/a", "nan", "null", "#n/a", "<na>", "nat"})

_GROUP_TITLES: dict[Group, str] = {
    "required": "Required",
    "baseline": "Optional: baseline covariates (used for matching and subgroups)",
    "treatment": "Optional: treatment and outcome detail",
}

_KIND_LABELS: dict[Kind, str] = {
    "text": "text",
    "category": "category",
    "number": "number",
    "integer": "integer",
    "binary": "0/1",
}


@dataclass(frozen=True)
class ColumnSpec:
    """One column of the canonical cohort table.

    Parameters
    ----------
    name
        Canonical column name.
    kind
        ``"text"``, ``"category"``, ``"number"`` (float), ``"integer"`` or
        ``"binary"`` (0/1).
    required
        Whether the column must be present (and, unless ``missing_excludes``, every
        value non-missing).
    group
        Section of the data dictionary: ``"required"``, ``"baseline"`` or ``"treatment"``.
    meaning
        What the column holds (one line).
    values
        Allowed values of a category column, in display order.
    aliases
        ``(spelling, canonical value)`` pairs also accepted for a category column.
    low, high
        Numeric range; ``None`` means unbounded on that side.
    low_closed, high_closed
        Whether ``low`` / ``high`` themselves are allowed.
    min_column, max_column
        Another column whose value bounds this one in the same row
        (``os_months >= efs_months``; ``blina_start_months <= efs_months``).
    unique
        Whether the values must be unique (``patient_id``).
    time
        Whether the column is a time in months (converted from other units by a mapping).
    mrd
        Whether the column is an MRD percentage (converted from a fraction by a mapping).
    missing_excludes
        For the outcome columns: a missing value is not an error of the file; the
        analysis excludes that patient and lists them with the reason.

    Examples
    --------
    >>> spec = column_spec("age_years")
    >>> spec.kind, spec.low, spec.high, spec.high_closed
    ('number', 0.0, 19.0, False)
    >>> spec.allowed_text()
    '0 to < 19'
    """

    name: str
    kind: Kind
    required: bool
    group: Group
    meaning: str = ""
    values: tuple[str, ...] = ()
    aliases: tuple[tuple[str, str], ...] = ()
    low: float | None = None
    low_closed: bool = True
    high: float | None = None
    high_closed: bool = True
    min_column: str | None = None
    max_column: str | None = None
    unique: bool = False
    time: bool = False
    mrd: bool = False
    missing_excludes: bool = False

    @property
    def type_label(self) -> str:
        """The type as the data dictionary writes it (``0/1`` for binary columns).

        Examples
        --------
        >>> column_spec("efs_event").type_label
        '0/1'
        """
        return _KIND_LABELS[self.kind]

    def allowed_text(self) -> str:
        """The *allowed values* cell of the data dictionary for this column.

        Examples
        --------
        >>> column_spec("arm").allowed_text()
        '`blinatumomab`, `chemotherapy`'
        >>> column_spec("blina_start_months").allowed_text()
        '0 to efs_months'
        """
        if self.kind == "text":
            return "unique, non-empty" if self.unique else "any text"
        if self.kind == "category":
            return ", ".join(f"`{v}`" for v in self.values)
        if self.kind == "binary":
            return "0, 1"
        low = _fmt_bound(self.low) if self.low is not None else None
        high = _fmt_bound(self.high) if self.high is not None else self.max_column
        if self.min_column is not None:
            return f">= {self.min_column}"
        if low is not None and high is not None:
            if self.high is not None and not self.high_closed:
                return f"{low} to < {high}"
            return f"{low} to {high}"
        if low is not None:
            return f"{'>=' if self.low_closed else '>'} {low}"
        if high is not None:
            return f"{'<=' if self.high_closed else '<'} {high}"
        return "any number"

    def range_text(self) -> str:
        """The numeric range in words, used in problem messages.

        Examples
        --------
        >>> column_spec("wbc_10e9_l").range_text()
        'must be > 0'
        >>> column_spec("mrd_eoi_pct").range_text()
        'must be between 0 and 100'
        """
        parts = []
        if self.low is not None:
            parts.append(f"{'>=' if self.low_closed else '>'} {_fmt_bound(self.low)}")
        if self.high is not None:
            parts.append(f"{'<=' if self.high_closed else '<'} {_fmt_bound(self.high)}")
        if len(parts) == 2 and self.low_closed and self.high_closed:
            assert self.low is not None and self.high is not None
            return f"must be between {_fmt_bound(self.low)} and {_fmt_bound(self.high)}"
        return "must be " + " and ".join(parts) if parts else "any number"

    def in_range(self, value: float) -> bool:
        """Whether ``value`` lies within :attr:`low` .. :attr:`high` (honouring open ends).

        Examples
        --------
        >>> column_spec("age_years").in_range(18.99), column_spec("age_years").in_range(19)
        (True, False)
        """
        if self.low is not None and (
            value < self.low or (value == self.low and not self.low_closed)
        ):
            return False
        return not (
            self.high is not None
            and (value > self.high or (value == self.high and not self.high_closed))
        )


def _fmt_bound(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


_GENETIC_ALIASES: tuple[tuple[str, str], ...] = (
    # ETV6::RUNX1, t(12;21)
    ("TEL-AML1", "ETV6-RUNX1"),
    ("ETV6::RUNX1", "ETV6-RUNX1"),
    ("t(12;21)", "ETV6-RUNX1"),
    # High hyperdiploidy (51-67 chromosomes)
    ("hyperdiploid", "high-hyperdiploid"),
    ("hyperdiploidy", "high-hyperdiploid"),
    ("high hyperdiploidy", "high-hyperdiploid"),
    ("HeH", "high-hyperdiploid"),
    ("HHD", "high-hyperdiploid"),
    # TCF3::PBX1, t(1;19)
    ("E2A-PBX1", "TCF3-PBX1"),
    ("TCF3::PBX1", "TCF3-PBX1"),
    ("t(1;19)", "TCF3-PBX1"),
    # BCR::ABL1, t(9;22), Philadelphia-positive
    ("BCR::ABL1", "BCR-ABL1"),
    ("Ph+", "BCR-ABL1"),
    ("Ph-positive", "BCR-ABL1"),
    ("t(9;22)", "BCR-ABL1"),
    # KMT2A rearranged (MLL-r), any partner
    ("KMT2A", "KMT2A-r"),
    ("KMT2A rearranged", "KMT2A-r"),
    ("KMT2Ar", "KMT2A-r"),
    ("MLL", "KMT2A-r"),
    ("MLL-r", "KMT2A-r"),
    ("MLL rearranged", "KMT2A-r"),
    ("MLL-AF4", "KMT2A-r"),
    ("KMT2A::AFF1", "KMT2A-r"),
    ("KMT2A-AFF1", "KMT2A-r"),
    ("t(4;11)", "KMT2A-r"),
    # Ph-like (BCR::ABL1-like)
    ("BCR-ABL1-like", "Ph-like"),
    ("BCR::ABL1-like", "Ph-like"),
    # iAMP21, hypodiploid (< 44 chromosomes, including near-haploid and low-hypodiploid)
    ("iAMP-21", "iAMP21"),
    ("hypodiploidy", "hypodiploid"),
    ("near-haploid", "hypodiploid"),
    ("low-hypodiploid", "hypodiploid"),
    ("B other", "B-other"),
)

#: The canonical cohort table, in data-dictionary order.
COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec(
        "patient_id",
        "text",
        True,
        "required",
        "study identifier (never a name or a medical record number)",
        unique=True,
    ),
    ColumnSpec(
        "arm",
        "category",
        True,
        "required",
        "blinatumomab added to first-line therapy, or chemotherapy alone "
        "(e.g. historical CCLG-ALL-2018 controls)",
        values=("blinatumomab", "chemotherapy"),
        aliases=(
            ("blina", "blinatumomab"),
            ("Blincyto", "blinatumomab"),
            ("chemo", "chemotherapy"),
            ("chemo only", "chemotherapy"),
            ("chemotherapy only", "chemotherapy"),
            ("chemotherapy alone", "chemotherapy"),
        ),
    ),
    ColumnSpec(
        "efs_months",
        "number",
        True,
        "required",
        "diagnosis to first event (relapse, induction failure, second malignancy, "
        "death from any cause) or last contact",
        low=0.0,
        time=True,
        missing_excludes=True,
    ),
    ColumnSpec(
        "efs_event", "binary", True, "required", "1 = event at efs_months", missing_excludes=True
    ),
    ColumnSpec(
        "os_months",
        "number",
        True,
        "required",
        "diagnosis to death or last contact",
        low=0.0,
        min_column="efs_months",
        time=True,
        missing_excludes=True,
    ),
    ColumnSpec(
        "os_event", "binary", True, "required", "1 = died at os_months", missing_excludes=True
    ),
    ColumnSpec(
        "sex",
        "category",
        False,
        "baseline",
        values=("M", "F"),
        aliases=(("male", "M"), ("female", "F")),
    ),
    ColumnSpec(
        "age_years",
        "number",
        False,
        "baseline",
        "age at diagnosis",
        low=0.0,
        high=19.0,
        high_closed=False,
    ),
    ColumnSpec(
        "wbc_10e9_l",
        "number",
        False,
        "baseline",
        "white cell count at diagnosis, x10^9/L",
        low=0.0,
        low_closed=False,
    ),
    ColumnSpec("cns_status", "category", False, "baseline", values=("CNS1", "CNS2", "CNS3")),
    ColumnSpec(
        "genetic_subtype",
        "category",
        False,
        "baseline",
        "common aliases (e.g. `MLL-AF4`, `KMT2A::AFF1` -> `KMT2A-r`; `E2A-PBX1` -> "
        "`TCF3-PBX1`; `TEL-AML1` -> `ETV6-RUNX1`) are recognised",
        values=(
            "ETV6-RUNX1",
            "high-hyperdiploid",
            "TCF3-PBX1",
            "BCR-ABL1",
            "KMT2A-r",
            "Ph-like",
            "iAMP21",
            "hypodiploid",
            "B-other",
        ),
        aliases=_GENETIC_ALIASES,
    ),
    ColumnSpec(
        "risk_group",
        "category",
        False,
        "baseline",
        "CCLG-ALL-2018 risk group (low / intermediate / high)",
        values=("LR", "IR", "HR"),
        aliases=(
            ("low", "LR"),
            ("low risk", "LR"),
            ("intermediate", "IR"),
            ("intermediate risk", "IR"),
            ("high", "HR"),
            ("high risk", "HR"),
        ),
    ),
    ColumnSpec(
        "prednisone_response",
        "category",
        False,
        "baseline",
        "day-8 blood blasts < or >= 1x10^9/L",
        values=("good", "poor"),
        aliases=(
            ("PGR", "good"),
            ("prednisone good response", "good"),
            ("good response", "good"),
            ("PPR", "poor"),
            ("prednisone poor response", "poor"),
            ("poor response", "poor"),
        ),
    ),
    ColumnSpec(
        "mrd_day15_pct",
        "number",
        False,
        "baseline",
        "flow MRD at day 15-19 of induction, %",
        low=0.0,
        high=100.0,
        mrd=True,
    ),
    ColumnSpec(
        "mrd_eoi_pct",
        "number",
        False,
        "baseline",
        "flow MRD at end of induction (day 33-46), %",
        low=0.0,
        high=100.0,
        mrd=True,
    ),
    ColumnSpec(
        "indication",
        "category",
        False,
        "treatment",
        "why blinatumomab was given (blinatumomab arm)",
        values=("chemo-intolerance", "intermediate-risk", "high-risk"),
        aliases=(("chemotherapy intolerance", "chemo-intolerance"),),
    ),
    ColumnSpec(
        "blina_start_months",
        "number",
        False,
        "treatment",
        "diagnosis to first blinatumomab dose (blinatumomab arm; blank for controls)",
        low=0.0,
        max_column="efs_months",
        time=True,
    ),
    ColumnSpec("blina_cycles", "integer", False, "treatment", low=1.0),
    ColumnSpec(
        "crs_grade",
        "integer",
        False,
        "treatment",
        "worst cytokine release syndrome grade (ASTCT)",
        low=0.0,
        high=4.0,
    ),
    ColumnSpec(
        "neurotox_grade",
        "integer",
        False,
        "treatment",
        "worst neurotoxicity grade (ICANS)",
        low=0.0,
        high=4.0,
    ),
    ColumnSpec("hsct", "binary", False, "treatment", "allogeneic transplant in first remission"),
    ColumnSpec(
        "event_type",
        "category",
        False,
        "treatment",
        "first EFS event; `none` when efs_event = 0",
        values=("none", "relapse", "induction-failure", "death-in-remission", "second-malignancy"),
        aliases=(
            ("no event", "none"),
            ("relapsed", "relapse"),
            ("IF", "induction-failure"),
            ("DIR", "death-in-remission"),
            ("TRM in CR", "death-in-remission"),
            ("SMN", "second-malignancy"),
            ("second malignant neoplasm", "second-malignancy"),
            ("second cancer", "second-malignancy"),
        ),
    ),
    ColumnSpec(
        "relapse_site",
        "category",
        False,
        "treatment",
        "for relapses",
        values=("BM", "CNS", "testis", "combined"),
        aliases=(
            ("bone marrow", "BM"),
            ("marrow", "BM"),
            ("isolated BM", "BM"),
            ("isolated CNS", "CNS"),
            ("testicular", "testis"),
            ("testes", "testis"),
        ),
    ),
)

_SPECS: dict[str, ColumnSpec] = {c.name: c for c in COLUMNS}
#: Canonical column names in dictionary order.
CANONICAL_COLUMNS: tuple[str, ...] = tuple(_SPECS)
#: Names of the required columns.
REQUIRED_COLUMNS: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.required)

_KEY_DROP = re.compile(r"[\s_\-:\u2010-\u2015\u2212]+")


def normalise_key(text: str) -> str:
    """Fold a spelling to the key used to compare category values and codes.

    Unicode-normalises, case-folds and removes spaces, underscores, hyphens,
    dashes and colons, so ``"KMT2A::AFF1"``, ``"kmt2a-aff1"`` and ``"KMT2A AFF1"``
    compare equal. ``+`` and brackets are kept (``Ph+`` is not ``Ph``).

    Examples
    --------
    >>> normalise_key(" High_Hyperdiploid ")
    'highhyperdiploid'
    >>> normalise_key("KMT2A::AFF1") == normalise_key("KMT2A-AFF1")
    True
    """
    key = text
    for _ in range(4):  # casefolding can un-normalise; repeat until stable
        folded = _KEY_DROP.sub("", unicodedata.normalize("NFKC", key).casefold())
        if folded == key:
            break
        key = folded
    return key


def _build_alias_index() -> dict[str, dict[str, str]]:
    index: dict[str, dict[str, str]] = {}
    for spec in COLUMNS:
        if spec.kind != "category":
            continue
        table: dict[str, str] = {}
        for value in spec.values:
            table[normalise_key(value)] = value
        for alias, value in spec.aliases:
            if value not in spec.values:  # pragma: no cover - guarded by tests
                raise AssertionError(f"alias {alias!r} of {spec.name} targets unknown {value!r}")
            key = normalise_key(alias)
            if table.get(key, value) != value:  # pragma: no cover - guarded by tests
                raise AssertionError(f"alias {alias!r} of {spec.name} is ambiguous")
            table[key] = value
        index[spec.name] = table
    return index


_ALIASES = _build_alias_index()


def column_spec(name: str) -> ColumnSpec:
    """Return the :class:`ColumnSpec` of canonical column ``name``.

    Raises
    ------
    InputError
        If ``name`` is not a canonical column.

    Examples
    --------
    >>> column_spec("arm").values
    ('blinatumomab', 'chemotherapy')
    """
    try:
        return _SPECS[name]
    except KeyError:
        raise InputError(
            f"{name!r} is not a canonical cohort column; known: {', '.join(CANONICAL_COLUMNS)}"
        ) from None


def category_value(column: str, value: Any) -> str | None:
    """Return the canonical spelling of ``value`` in category ``column``, or ``None``.

    Matching ignores case, spaces, underscores, hyphens and colons and knows the
    aliases listed in the column's :attr:`ColumnSpec.aliases`.

    Examples
    --------
    >>> category_value("genetic_subtype", "MLL-AF4")
    'KMT2A-r'
    >>> category_value("genetic_subtype", "tel aml1")
    'ETV6-RUNX1'
    >>> category_value("sex", "X") is None
    True
    """
    spec = column_spec(column)
    if spec.kind != "category" or not isinstance(value, str):
        return None
    return _ALIASES[column].get(normalise_key(value))


# --------------------------------------------------------------------------------------
# Problems
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a cohort table, located as the user would find it.

    Parameters
    ----------
    row
        Row number as the user counts it (in a CSV or spreadsheet the header is
        row 1, so the first patient is row 2), or ``None`` for a whole-table problem.
    column
        Column name (the canonical name, or the file's own name when it is not mapped),
        or ``None``.
    value
        The offending cell as text (``""`` for a blank cell), or ``None``.
    message
        What is wrong, in words.
    source
        The file the row belongs to, when more than one file is involved.

    Examples
    --------
    >>> str(Problem(5, "efs_months", "-3", "must be >= 0"))
    "row 5, column 'efs_months', value '-3': must be >= 0"
    """

    row: int | None
    column: str | None
    value: str | None
    message: str
    source: str | None = None

    def __str__(self) -> str:
        where = []
        if self.source is not None:
            where.append(self.source)
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        if self.value is not None:
            where.append(f"value {self.value!r}" if self.value != "" else "blank cell")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


def format_problems(problems: Sequence[Problem], limit: int = 50) -> str:
    """Render problems one per line, listing at most ``limit`` and counting the rest.

    Examples
    --------
    >>> print(format_problems([Problem(2, "arm", "x", "unknown value")] * 3, limit=2))
    - row 2, column 'arm', value 'x': unknown value
    - row 2, column 'arm', value 'x': unknown value
    - and 1 more
    """
    lines = [f"- {p}" for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"- and {len(problems) - limit} more")
    return "\n".join(lines)


class CohortError(InputError):
    """A cohort file or table that cannot be used, with every problem found.

    ``str(error)`` is a message for a person: a headline followed by the problems,
    one per line (at most 50, then "and N more"). The full list is in
    :attr:`problems`. Also importable as :class:`blinastudy.data.cohort.CohortError`.

    Parameters
    ----------
    headline
        One-line summary (e.g. ``"cohort.csv is empty"``).
    problems
        Every problem found, in file order.

    Examples
    --------
    >>> err = CohortError("cohort.csv has 1 problem", [Problem(3, "sex", "X", "unknown value")])
    >>> print(err)
    cohort.csv has 1 problem:
    - row 3, column 'sex', value 'X': unknown value
    >>> len(err.problems)
    1
    """

    def __init__(self, headline: str, problems: Iterable[Problem] = ()) -> None:
        self.headline = headline
        self.problems: list[Problem] = list(problems)
        message = f"{headline}:\n{format_problems(self.problems)}" if self.problems else headline
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.headline, self.problems))


# --------------------------------------------------------------------------------------
# Cell parsing
# --------------------------------------------------------------------------------------

_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_COMMA_NUMBER_RE = re.compile(r"[+-]?\d*,\d+(?:[eE][+-]?\d+)?")


def is_missing(value: Any) -> bool:
    """Whether a cell counts as missing: ``None``, NaN/NaT/NA, blank, ``NA`` or ``N/A``.

    Examples
    --------
    >>> [is_missing(v) for v in (None, float("nan"), " ", "N/A", "na", "none", 0)]
    [True, True, True, True, True, False, False]
    """
    if value is None:
        return True
    kind = type(value)
    if kind is str:
        return value.strip().casefold() in MISSING_TOKENS
    if kind is float:
        return bool(value != value)
    if value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, str):
        return value.strip().casefold() in MISSING_TOKENS
    if isinstance(value, float | np.floating):
        return bool(np.isnan(value))
    if isinstance(value, np.datetime64 | np.timedelta64):
        return bool(np.isnat(value))
    return False


def show_value(value: Any) -> str:
    """Render a cell for a message: text as is (shortened), whole floats without ``.0``.

    Examples
    --------
    >>> show_value(-90.0), show_value(0.25), show_value(None), show_value("x" * 3)
    ('-90', '0.25', '', 'xxx')
    """
    if is_missing(value) and not isinstance(value, str):
        return ""
    if isinstance(value, str):
        return value if len(value) <= 60 else value[:57] + "..."
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, float | np.floating):
        f = float(value)
        return str(int(f)) if f.is_integer() and abs(f) < 1e16 else repr(f)
    if isinstance(value, _dt.datetime | _dt.date | _dt.time):
        return value.isoformat()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)


def parse_number(value: Any, *, decimal_comma: bool = False) -> float:
    """Read one cell as a finite float; missing cells give NaN.

    Text is trimmed and must be a plain number (``12``, ``-0.5``, ``1e-3``); with
    ``decimal_comma`` a comma may be the decimal separator (``1,5``). Anything else
    (dates, booleans, ``<0.01``, ``inf``, ``12 months``) raises ``ValueError``.

    Examples
    --------
    >>> parse_number(" 2.5 "), parse_number("1,5", decimal_comma=True), parse_number(3)
    (2.5, 1.5, 3.0)
    >>> import math; math.isnan(parse_number("N/A"))
    True
    """
    if is_missing(value):
        return math.nan
    if isinstance(value, bool | np.bool_):
        raise ValueError("is true/false, not a number")
    if isinstance(value, str):
        text = value.strip()
        if _NUMBER_RE.fullmatch(text):
            out = float(text)
        elif decimal_comma and _COMMA_NUMBER_RE.fullmatch(text):
            out = float(text.replace(",", "."))
        else:
            raise ValueError("is not a number")
    elif isinstance(value, int | float | Decimal | np.integer | np.floating):
        out = float(value)
    elif isinstance(value, _dt.datetime | _dt.date | _dt.time | pd.Timestamp | np.datetime64):
        raise ValueError("is a date or time, not a number")
    elif isinstance(value, _dt.timedelta | pd.Timedelta | np.timedelta64):
        raise ValueError("is a duration in a date/time format, not a number")
    else:
        raise ValueError("is not a number")
    if not math.isfinite(out):
        raise ValueError("is not a finite number")
    return out


def _parse_text(value: Any) -> str | None:
    if is_missing(value):
        return None
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_):
        return str(int(value))
    return show_value(value) if not isinstance(value, str) else value


# --------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------


def _resolve_rows(frame: pd.DataFrame, rows: RowNumbers | str | None) -> list[int]:
    n = len(frame)
    if isinstance(rows, str):
        if rows not in frame.columns:
            raise InputError(f"row-number column {rows!r} is not in the frame")
        out = []
        for v in frame[rows]:
            try:
                out.append(int(v))
            except (TypeError, ValueError):
                raise InputError(f"row-number column {rows!r} holds {v!r}") from None
        return out
    if rows is None:
        return list(range(2, n + 2))
    if isinstance(rows, np.ndarray) and rows.dtype.kind in "iu":
        seq: list[int] = rows.tolist()  # e.g. FileTable.rows: whole numbers already
    else:
        seq = [int(r) for r in rows]
    if len(seq) != n:
        raise InputError(f"rows has {len(seq)} entries but the frame has {n} rows")
    return seq


def check_cohort(
    frame: pd.DataFrame,
    *,
    rows: RowNumbers | str | None = None,
    original: pd.DataFrame | None = None,
    decimal_comma: bool | None = None,
    require_both_arms: bool = False,
    source: str | None = None,
) -> tuple[pd.DataFrame, list[Problem]]:
    """Validate a cohort table and return it with canonical dtypes plus every problem.

    Canonical columns come first in dictionary order, then any other columns unchanged.
    Text and category columns hold ``str`` (``None`` when missing; categories in their
    canonical spelling), number columns ``float64``, the required 0/1 columns
    ``int64`` and optional integer or 0/1 columns nullable ``Int64``. Cells that could
    not be read are missing in the returned frame, so use it only when the problem list
    is empty.

    Parameters
    ----------
    frame
        Table with canonical column names (see :mod:`blinastudy.data.mapping` to rename).
    rows
        Row numbers as the user counts them (e.g. ``FileTable.rows`` of the table read
        from the file), or the name of a column holding them. Default 2, 3, ... (a file
        whose header is row 1).
    original
        Same-shaped frame whose cells are shown in messages instead of ``frame``'s
        (the values before unit conversion).
    decimal_comma
        Accept ``1,5`` for 1.5 in number columns (e.g. ``FileTable.decimal_comma`` of
        the table read from the file). Default ``False``.
    require_both_arms
        Report a problem unless both arms are present (needed for any comparison).
    source
        File name recorded in each :class:`Problem`.

    Returns
    -------
    (pandas.DataFrame, list of Problem)

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"patient_id": ["P1"], "arm": ["Blina"], "efs_months": ["7"],
    ...                     "efs_event": [1], "os_months": [9.5], "os_event": ["0"]})
    >>> out, problems = check_cohort(raw)
    >>> problems
    []
    >>> out.loc[0, "arm"], out["efs_months"].dtype.name, out["os_event"].dtype.name
    ('blinatumomab', 'float64', 'int64')
    """
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"a cohort must be a pandas DataFrame, got {type(frame).__name__}")
    row_numbers = _resolve_rows(frame, rows)
    if original is not None and (
        not isinstance(original, pd.DataFrame) or len(original) != len(frame)
    ):
        raise InputError("original must be a DataFrame with the same number of rows as frame")
    checker = _Checker(frame, row_numbers, original, bool(decimal_comma), source)
    return checker.run(require_both_arms)


def validate_cohort(
    frame: pd.DataFrame,
    *,
    rows: RowNumbers | str | None = None,
    decimal_comma: bool | None = None,
    require_both_arms: bool = False,
) -> list[Problem]:
    """Return every way ``frame`` breaks the data dictionary (empty list: valid).

    Checks required columns, types, ranges, categories (aliases accepted), unique
    non-empty ``patient_id``, 0/1 event codes, ``efs_months <= os_months``,
    ``event_type`` against ``efs_event``, ``os_event = 1`` implying ``efs_event = 1``,
    ``blina_start_months <= efs_months`` for blinatumomab patients (blank for
    controls) and ``relapse_site`` only for relapses. Columns that are not canonical
    are not checked. See :func:`check_cohort` for the parameters.

    Examples
    --------
    >>> import pandas as pd
    >>> bad = pd.DataFrame({"patient_id": ["P1", "P1"], "arm": ["chemotherapy"] * 2,
    ...                     "efs_months": [5, -1], "efs_event": [0, 2],
    ...                     "os_months": [4, 3], "os_event": [0, 0]})
    >>> for p in validate_cohort(bad):
    ...     print(p)
    row 2, column 'os_months', value '4': os_months is before efs_months (5); OS must be >= EFS
    row 3, column 'patient_id', value 'P1': duplicate patient_id (first at row 2)
    row 3, column 'efs_months', value '-1': must be >= 0
    row 3, column 'efs_event', value '2': must be 0 or 1
    """
    return check_cohort(
        frame, rows=rows, decimal_comma=decimal_comma, require_both_arms=require_both_arms
    )[1]


_OK, _MISSING, _BAD = 0, 1, 2


#: The most problems listed per column and in all (the rest are counted, with the
#: true totals reported).
MAX_PROBLEMS_PER_COLUMN = 100
MAX_PROBLEMS = 1000


class _Checker:
    def __init__(
        self,
        frame: pd.DataFrame,
        rows: list[int],
        original: pd.DataFrame | None,
        decimal_comma: bool,
        source: str | None,
    ) -> None:
        self.frame = frame
        self.rows = rows
        self.original = original
        self.decimal_comma = decimal_comma
        self.source = source
        self.problems: list[Problem] = []
        self.counts: dict[str, int] = {}
        self.typed: dict[str, pd.Series[Any]] = {}
        # Positions whose value failed to parse, per column (excluded from row rules).
        self.bad: dict[str, np.ndarray[Any, np.dtype[np.bool_]]] = {}

    def add(self, pos: int | None, column: str | None, value: str | None, message: str) -> None:
        key = column or ""
        self.counts[key] = self.counts.get(key, 0) + 1
        if self.counts[key] > MAX_PROBLEMS_PER_COLUMN or len(self.problems) >= MAX_PROBLEMS:
            return  # counted, not listed: the report stays readable and small
        row = None if pos is None else self.rows[pos]
        self.problems.append(Problem(row, column, value, message, self.source))

    def shown(self, column: str, pos: int) -> str:
        src = self.original if self.original is not None else self.frame
        if column in src.columns:
            return show_value(src[column].iloc[pos])
        return show_value(self.frame[column].iloc[pos])

    def run(self, require_both_arms: bool) -> tuple[pd.DataFrame, list[Problem]]:
        frame = self.frame
        names = [str(c) for c in frame.columns]
        seen: dict[str, int] = {}
        for name in names:
            seen[name] = seen.get(name, 0) + 1
        for name, count in seen.items():
            if count > 1:
                self.add(None, name, None, f"column name appears {count} times")
        if any(count > 1 for count in seen.values()):
            return self.finish()
        for name in REQUIRED_COLUMNS:
            if name not in seen:
                self.add(None, name, None, "required column is missing")
        for spec in COLUMNS:
            if spec.name in frame.columns:
                self.parse_column(spec, frame[spec.name])
        self.row_rules()
        if require_both_arms and "arm" in self.typed:
            present = set(self.typed["arm"].dropna())
            for arm in column_spec("arm").values:
                if arm not in present:
                    self.add(None, "arm", None, f"no {arm} patients; both arms are needed")
        return self.finish()

    def finish(self) -> tuple[pd.DataFrame, list[Problem]]:
        order = {name: i for i, name in enumerate(CANONICAL_COLUMNS)}
        listed: dict[str, int] = {}
        for p in self.problems:
            listed[p.column or ""] = listed.get(p.column or "", 0) + 1
        for key, count in self.counts.items():
            if count > listed.get(key, 0):
                self.problems.append(
                    Problem(
                        None,
                        key or None,
                        None,
                        f"{count:,} problems in this column in all; "
                        + (
                            f"the first {listed[key]:,} are listed"
                            if listed.get(key)
                            else "none is listed (the report is full)"
                        ),
                        self.source,
                    )
                )
        self.problems.sort(
            key=lambda p: (
                -1 if p.row is None else p.row,
                order.get(p.column or "", len(order)),
            )
        )
        return self.build(), self.problems

    def build(self) -> pd.DataFrame:
        frame = self.frame
        canonical = [spec.name for spec in COLUMNS if spec.name in self.typed]
        extras = [i for i, name in enumerate(frame.columns) if name not in self.typed]
        typed = pd.DataFrame(self.typed, columns=canonical, index=pd.RangeIndex(len(frame)))
        return pd.concat([typed, frame.iloc[:, extras].reset_index(drop=True)], axis=1)

    def parse_column(self, spec: ColumnSpec, column: pd.Series[Any]) -> None:
        values = column.tolist()
        n = len(values)
        bad = np.zeros(n, dtype=bool)
        parsed: list[Any] = [None] * n
        cache: dict[tuple[type, Any], tuple[int, Any]] = {}
        for pos, value in enumerate(values):
            kind = type(value)
            if kind is str or kind is int or kind is float:
                key = (kind, value)
                result = cache.get(key)
                if result is None:
                    result = cache[key] = self.parse_cell(spec, value)
            else:
                result = self.parse_cell(spec, value)
            status, payload = result
            if status == _OK:
                parsed[pos] = payload
            elif status == _MISSING:
                if spec.required and not spec.missing_excludes:
                    self.add(pos, spec.name, "", "required value is missing")
                    bad[pos] = True
            else:
                self.add(pos, spec.name, self.shown(spec.name, pos), payload)
                bad[pos] = True
        self.bad[spec.name] = bad
        self.typed[spec.name] = self.to_series(spec, parsed, bad)

    def parse_cell(self, spec: ColumnSpec, value: Any) -> tuple[int, Any]:
        """Read one cell: ``(_OK, value)``, ``(_MISSING, None)`` or ``(_BAD, message)``."""
        if is_missing(value):
            return _MISSING, None
        if spec.kind == "text":
            return _OK, _parse_text(value)
        if spec.kind == "category":
            canonical = category_value(spec.name, value) if isinstance(value, str) else None
            if canonical is None:
                return _BAD, f"unknown value; allowed: {', '.join(spec.values)}"
            return _OK, canonical
        try:
            number = parse_number(value, decimal_comma=self.decimal_comma)
        except ValueError as exc:
            return _BAD, self.type_message(spec, exc)
        if spec.kind == "binary" and number not in (0.0, 1.0):
            return _BAD, "must be 0 or 1"
        if spec.kind == "integer" and not number.is_integer():
            return _BAD, "must be a whole number"
        if not spec.in_range(number):
            return _BAD, spec.range_text()
        return _OK, number

    def type_message(self, spec: ColumnSpec, exc: ValueError) -> str:
        if spec.kind == "binary":
            return "must be 0 or 1 (other event codes can be translated with a Mapping)"
        expected = "a whole number" if spec.kind == "integer" else "a number"
        reason = str(exc)
        if reason == "is not a number":
            return f"must be {expected}"
        return f"must be {expected}; the cell {reason}"

    def to_series(self, spec: ColumnSpec, parsed: list[Any], bad: Any) -> pd.Series[Any]:
        name = spec.name
        if spec.kind in ("text", "category"):
            return pd.Series(parsed, dtype=object, name=name)
        floats = np.array([math.nan if v is None else v for v in parsed], dtype=float)
        if spec.kind == "number":
            return pd.Series(floats, dtype="float64", name=name)
        ints = pd.array([None if v is None else int(v) for v in parsed], dtype="Int64")
        if spec.required and not bool(np.any(np.isnan(floats))):
            return pd.Series(ints.to_numpy(dtype="int64"), dtype="int64", name=name)
        return pd.Series(ints, name=name)

    def num(self, name: str) -> np.ndarray[Any, np.dtype[np.float64]] | None:
        series = self.typed.get(name)
        if series is None:
            return None
        return np.asarray(series.astype("float64").to_numpy(na_value=np.nan), dtype=float)

    def row_rules(self) -> None:  # noqa: C901 (listed: may only shrink)
        ids = self.typed.get("patient_id")
        if ids is not None:
            first: dict[str, int] = {}
            for pos, pid in enumerate(ids.tolist()):
                if pid is None:
                    continue
                if pid in first:
                    self.add(
                        pos,
                        "patient_id",
                        show_value(pid),
                        f"duplicate patient_id (first at row {self.rows[first[pid]]})",
                    )
                else:
                    first[pid] = pos
        efs = self.num("efs_months")
        os_ = self.num("os_months")
        efs_event = self.num("efs_event")
        os_event = self.num("os_event")
        if efs is not None and os_ is not None:
            # a relative tolerance absorbs round-off of unit conversion (days -> months)
            for hit in np.flatnonzero(os_ < efs - TIME_TOLERANCE * np.maximum(1.0, np.abs(efs))):
                self.add(
                    int(hit),
                    "os_months",
                    self.shown("os_months", int(hit)),
                    f"os_months is before efs_months ({self.shown('efs_months', int(hit))});"
                    " OS must be >= EFS",
                )
        if efs_event is not None and os_event is not None:
            for hit in np.flatnonzero((os_event == 1) & (efs_event == 0)):
                self.add(
                    int(hit),
                    "os_event",
                    self.shown("os_event", int(hit)),
                    "os_event is 1 (died) but efs_event is 0; death is an EFS event",
                )
        event_type = self.typed.get("event_type")
        if event_type is not None and efs_event is not None:
            for pos, kind in enumerate(event_type.tolist()):
                if kind is None or math.isnan(efs_event[pos]):
                    continue
                if kind != "none" and efs_event[pos] == 0:
                    self.add(
                        pos,
                        "event_type",
                        self.shown("event_type", pos),
                        f"event_type is {kind} but efs_event is 0",
                    )
                elif kind == "none" and efs_event[pos] == 1:
                    self.add(
                        pos,
                        "event_type",
                        self.shown("event_type", pos),
                        "event_type is none but efs_event is 1",
                    )
        site = self.typed.get("relapse_site")
        if site is not None and event_type is not None:
            for pos, (s, kind) in enumerate(zip(site.tolist(), event_type.tolist(), strict=True)):
                if s is not None and kind is not None and kind != "relapse":
                    self.add(
                        pos,
                        "relapse_site",
                        self.shown("relapse_site", pos),
                        f"relapse_site is given but event_type is {kind}, not relapse",
                    )
        start = self.num("blina_start_months")
        arm = self.typed.get("arm")
        if start is not None and arm is not None:
            arms = arm.tolist()
            for pos in range(len(arms)):
                if math.isnan(start[pos]):
                    continue
                if arms[pos] == "chemotherapy":
                    self.add(
                        pos,
                        "blina_start_months",
                        self.shown("blina_start_months", pos),
                        "chemotherapy patient has a blinatumomab start; leave it blank for"
                        " controls",
                    )
                elif (
                    arms[pos] == "blinatumomab"
                    and efs is not None
                    and not math.isnan(efs[pos])
                    and start[pos] > efs[pos] + TIME_TOLERANCE * max(1.0, abs(efs[pos]))
                ):
                    self.add(
                        pos,
                        "blina_start_months",
                        self.shown("blina_start_months", pos),
                        f"blinatumomab started after the EFS event or last contact"
                        f" (efs_months {self.shown('efs_months', pos)})",
                    )


# --------------------------------------------------------------------------------------
# Documentation
# --------------------------------------------------------------------------------------


def _row(cells: Sequence[str]) -> str:
    return "|" + "|".join(f" {c} " if c else " " for c in cells) + "|"


def schema_markdown(*, aliases: bool = False) -> str:
    """Render the column tables of the data dictionary as Markdown.

    ``docs/DATA_DICTIONARY.md`` holds exactly these tables (a test keeps them in
    agreement). With ``aliases=True`` a list of the recognised alternative
    spellings of category values follows the tables.

    Examples
    --------
    >>> text = schema_markdown()
    >>> text.splitlines()[0]
    '## Required'
    >>> "| efs_event | 0/1 | 0, 1 | 1 = event at efs_months |" in text
    True
    """
    parts: list[str] = []
    for group, title in _GROUP_TITLES.items():
        lines = [
            f"## {title}",
            "",
            _row(["column", "type", "allowed values", "meaning"]),
            _row(["---"] * 4),
        ]
        for spec in COLUMNS:
            if spec.group == group:
                lines.append(_row([spec.name, spec.type_label, spec.allowed_text(), spec.meaning]))
        parts.append("\n".join(lines))
    if aliases:
        lines = ["## Recognised spellings", ""]
        for spec in COLUMNS:
            if spec.aliases:
                pairs = "; ".join(f"`{a}` -> `{v}`" for a, v in spec.aliases)
                lines.append(f"- {spec.name}: {pairs}")
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


#: How a cohort column reads in a sentence.
COVARIATE_LABELS: dict[str, str] = {
    "age_years": "age",
    "sex": "sex",
    "wbc_10e9_l": "white cell count at diagnosis",
    "cns_status": "CNS status",
    "genetic_subtype": "genetic subtype",
    "risk_group": "CCLG-ALL-2018 risk group",
    "prednisone_response": "prednisone response",
    "mrd_day15_pct": "day-15 MRD",
    "mrd_eoi_pct": "end-of-induction MRD",
    "mrd_group": "MRD group",
    "age_band": "age band (< 10 vs ≥ 10 years)",
    "wbc_band": "WBC band (< 50 vs ≥ 50 ×10⁹/L)",
    "indication": "indication for blinatumomab",
    "hsct": "transplant in first remission",
}

#: Baseline covariates of the propensity model by default (those the study matched on).
DEFAULT_COVARIATES: tuple[str, ...] = (
    "age_years",
    "sex",
    "wbc_10e9_l",
    "cns_status",
    "genetic_subtype",
    "risk_group",
    "prednisone_response",
    "mrd_eoi_pct",
)


def label(column: str) -> str:
    """How a cohort column reads in a sentence (the column name when unknown).

    Examples
    --------
    >>> label("wbc_10e9_l"), label("my_column")
    ('white cell count at diagnosis', 'my_column')
    """
    return COVARIATE_LABELS.get(column, column)

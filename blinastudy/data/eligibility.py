"""Who may enter the comparison: eligibility criteria and a CONSORT-style flow.

A historical control pool usually holds patients the treated cohort could never have
included (another risk group, another era, Ph-positive leukaemia). :class:`Eligibility`
states the criteria; :func:`apply_eligibility` applies them in a fixed order (risk
group, period or other range, age, CNS status, excluded genetic subtypes) and
returns who is eligible, the counts per arm after each step, and every excluded
patient with the criterion that excluded them. Pure functions: nothing is read or
written.

A patient whose value of a criterion's column is missing cannot be shown to meet it:
they are excluded at that step and listed with the reason ``"<column> missing"``,
never kept or dropped silently. By default the criteria apply to the historical pool
(the chemotherapy arm) only.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping as AbcMapping
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np
import pandas as pd

from blinastudy.core.errors import InputError
from blinastudy.data.schema import category_value, column_spec, is_missing, show_value

__all__ = [
    "APPLIES_TO",
    "Eligibility",
    "EligibilityFlow",
    "apply_eligibility",
]

AppliesTo = Literal["pool", "treated", "all"]
#: Whom the criteria apply to: the pool (chemotherapy arm), the treated arm, or everyone.
APPLIES_TO: tuple[AppliesTo, ...] = ("pool", "treated", "all")
_ARM_OF: dict[str, str] = {"pool": "chemotherapy", "treated": "blinatumomab"}
_ARMS = column_spec("arm").values

_FIELDS = (
    "risk_groups",
    "range_column",
    "range_low",
    "range_high",
    "age_low",
    "age_high",
    "cns_statuses",
    "excluded_subtypes",
    "applies_to",
)


def _bound(value: Any, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{what} must be a number or null, got {show_value(value)!r}")
    number = float(value)
    if not math.isfinite(number):
        raise InputError(f"{what} must be a finite number, got {number}")
    return number


def _levels(column: str, values: Any, what: str) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise InputError(f"{what} must be a list of {column} values")
    out: list[str] = []
    for v in values:
        canonical = category_value(column, v) if isinstance(v, str) else None
        if canonical is None:
            allowed = ", ".join(column_spec(column).values)
            raise InputError(f"{what}: {v!r} is not one of {allowed}")
        if canonical not in out:
            out.append(canonical)
    return tuple(out)


@dataclass(frozen=True)
class Eligibility:
    """Eligibility criteria for the comparison (all optional; none means everyone).

    Parameters
    ----------
    risk_groups
        Risk groups allowed (``LR``, ``IR``, ``HR``), or ``None`` for any.
    range_column, range_low, range_high
        A range on a numeric column, both ends included: by default the year of
        diagnosis (``diagnosis_year``, added when a mapping takes the date of
        diagnosis), e.g. 2016 to 2019; any numeric column of the user's choice. No
        criterion when both ends are ``None``.
    age_low, age_high
        Age at diagnosis in years: ``age_low <= age_years < age_high`` (either end
        may be ``None``).
    cns_statuses
        CNS statuses allowed (``CNS1``, ``CNS2``, ``CNS3``), or ``None`` for any.
    excluded_subtypes
        Genetic subtypes excluded, e.g. ``("BCR-ABL1",)``.
    applies_to
        ``"pool"`` (default: the historical chemotherapy pool only), ``"treated"``
        or ``"all"``.

    Examples
    --------
    >>> e = Eligibility(risk_groups=("intermediate", "HR"), excluded_subtypes=("Ph+",),
    ...                 range_low=2016, range_high=2019)
    >>> e.risk_groups, e.excluded_subtypes
    (('IR', 'HR'), ('BCR-ABL1',))
    >>> Eligibility.from_json(e.to_json()) == e
    True
    """

    risk_groups: tuple[str, ...] | None = None
    range_column: str = "diagnosis_year"
    range_low: float | None = None
    range_high: float | None = None
    age_low: float | None = None
    age_high: float | None = None
    cns_statuses: tuple[str, ...] | None = None
    excluded_subtypes: tuple[str, ...] = ()
    applies_to: AppliesTo = "pool"

    def __post_init__(self) -> None:
        if self.risk_groups is not None:
            groups = _levels("risk_group", self.risk_groups, "risk_groups")
            if not groups:
                raise InputError("risk_groups must allow at least one group (or be null)")
            object.__setattr__(self, "risk_groups", groups)
        if self.cns_statuses is not None:
            statuses = _levels("cns_status", self.cns_statuses, "cns_statuses")
            if not statuses:
                raise InputError("cns_statuses must allow at least one status (or be null)")
            object.__setattr__(self, "cns_statuses", statuses)
        object.__setattr__(
            self,
            "excluded_subtypes",
            _levels("genetic_subtype", self.excluded_subtypes, "excluded_subtypes"),
        )
        if not isinstance(self.range_column, str) or not self.range_column.strip():
            raise InputError("range_column must be a column name")
        for name in ("range_low", "range_high", "age_low", "age_high"):
            object.__setattr__(self, name, _bound(getattr(self, name), name))
        if (
            self.range_low is not None
            and self.range_high is not None
            and self.range_low > self.range_high
        ):
            raise InputError(
                f"range_low ({self.range_low:g}) is above range_high ({self.range_high:g})"
            )
        if self.age_low is not None and self.age_low < 0:
            raise InputError(f"age_low must be >= 0, got {self.age_low:g}")
        if self.age_low is not None and self.age_high is not None and self.age_low >= self.age_high:
            raise InputError(
                f"age_low ({self.age_low:g}) must be below age_high ({self.age_high:g})"
            )
        if self.applies_to not in APPLIES_TO:
            raise InputError(
                f"applies_to must be one of {', '.join(APPLIES_TO)}, got {self.applies_to!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (see :meth:`from_dict`).

        Examples
        --------
        >>> Eligibility(age_low=1, age_high=18).to_dict()["age_high"]
        18.0
        """
        return {
            "risk_groups": None if self.risk_groups is None else list(self.risk_groups),
            "range_column": self.range_column,
            "range_low": self.range_low,
            "range_high": self.range_high,
            "age_low": self.age_low,
            "age_high": self.age_high,
            "cns_statuses": None if self.cns_statuses is None else list(self.cns_statuses),
            "excluded_subtypes": list(self.excluded_subtypes),
            "applies_to": self.applies_to,
        }

    @classmethod
    def from_dict(cls, data: AbcMapping[str, Any]) -> Eligibility:
        """Rebuild criteria from :meth:`to_dict` output; unknown keys are an error.

        Examples
        --------
        >>> Eligibility.from_dict({"cns_statuses": ["CNS1", "CNS2"]}).cns_statuses
        ('CNS1', 'CNS2')
        >>> Eligibility.from_dict({"risk": ["HR"]})
        Traceback (most recent call last):
        ...
        blinastudy.core.errors.InputError: unknown eligibility field(s): risk
        """
        if not isinstance(data, AbcMapping):
            raise InputError(f"eligibility must be a JSON object, got {type(data).__name__}")
        unknown = sorted(str(k) for k in data if k not in _FIELDS)
        if unknown:
            raise InputError(f"unknown eligibility field(s): {', '.join(unknown)}")
        kwargs: dict[str, Any] = dict(data)
        for name in ("risk_groups", "cns_statuses"):
            if kwargs.get(name) is not None:
                kwargs[name] = tuple(kwargs[name])
        if "excluded_subtypes" in kwargs:
            kwargs["excluded_subtypes"] = tuple(kwargs["excluded_subtypes"] or ())
        return cls(**kwargs)

    def to_json(self) -> str:
        """Serialise to JSON (keys sorted).

        Examples
        --------
        >>> Eligibility().to_json()[:20]
        '{"age_high": null, "'
        """
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> Eligibility:
        """Parse :meth:`to_json` output; malformed text raises :class:`InputError`.

        Examples
        --------
        >>> Eligibility.from_json('{"applies_to": "all"}').applies_to
        'all'
        """
        try:
            data = json.loads(text)
        except (ValueError, TypeError) as exc:
            raise InputError(f"the eligibility criteria are not valid JSON ({exc})") from None
        return cls.from_dict(data)


@dataclass(frozen=True)
class EligibilityFlow:
    """The flow of patients through the criteria.

    Parameters
    ----------
    counts
        One row per step: ``step`` (0 = everyone), ``criterion`` (in words), the
        patients remaining per arm (``blinatumomab``, ``chemotherapy``) and in
        ``total``, and the patients excluded at that step (``excluded_blinatumomab``,
        ``excluded_chemotherapy``, ``excluded_total``). The last row, ``eligible``,
        repeats the final counts.
    excluded
        One row per excluded patient: ``patient`` (its ``patient_id``, else the index
        label), ``arm``, ``criterion``, ``value`` (as shown; blank when missing) and
        ``reason``.

    Examples
    --------
    >>> f = pd.DataFrame({"patient_id": ["A", "B"], "arm": ["chemotherapy"] * 2,
    ...                   "risk_group": ["HR", None]})
    >>> _, flow = apply_eligibility(f, Eligibility(risk_groups=("HR",)))
    >>> flow.excluded[["patient_id", "reason"]].values.tolist()
    [['B', 'risk_group missing']]
    """

    counts: pd.DataFrame
    excluded: pd.DataFrame


def _range_text(low: float | None, high: float | None, *, open_high: bool) -> str:
    top = "<" if open_high else "<="
    if low is not None and high is not None:
        return f"{low:g} to {top} {high:g}" if open_high else f"{low:g} to {high:g}"
    if low is not None:
        return f">= {low:g}"
    return f"{top} {high:g}"


Kind = Literal["risk", "range", "age", "cns", "subtype"]


def _criteria(e: Eligibility) -> list[tuple[Kind, str, str]]:
    """``(kind, column, criterion in words)`` of each active criterion, in order."""
    out: list[tuple[Kind, str, str]] = []
    if e.risk_groups is not None:
        out.append(("risk", "risk_group", f"risk group {' or '.join(e.risk_groups)}"))
    if e.range_low is not None or e.range_high is not None:
        bounds = _range_text(e.range_low, e.range_high, open_high=False)
        out.append(("range", e.range_column, f"{e.range_column} {bounds}"))
    if e.age_low is not None or e.age_high is not None:
        bounds = _range_text(e.age_low, e.age_high, open_high=True)
        out.append(("age", "age_years", f"age {bounds} years"))
    if e.cns_statuses is not None:
        out.append(("cns", "cns_status", f"CNS status {' or '.join(e.cns_statuses)}"))
    if e.excluded_subtypes:
        out.append(("subtype", "genetic_subtype", f"not {' or '.join(e.excluded_subtypes)}"))
    return out


def _number(value: Any, column: str, label: str) -> float:
    if isinstance(value, bool | np.bool_) or not isinstance(
        value, int | float | np.integer | np.floating
    ):
        raise InputError(
            f"{column} must be numbers for a range criterion; patient {label} has"
            f" {show_value(value)!r}"
        )
    return float(value)


def _fails(e: Eligibility, kind: Kind, column: str, value: Any, number: float) -> str | None:
    """Why a patient's non-missing ``value`` fails a criterion (``None``: it passes)."""
    if kind == "risk":
        assert e.risk_groups is not None
        return None if value in e.risk_groups else f"risk group {value} not allowed"
    if kind == "cns":
        assert e.cns_statuses is not None
        return None if value in e.cns_statuses else f"{value} not allowed"
    if kind == "subtype":
        return f"{value} is excluded" if value in e.excluded_subtypes else None
    if kind == "age":
        if e.age_low is not None and number < e.age_low:
            return f"age {number:g} is below {e.age_low:g}"
        if e.age_high is not None and number >= e.age_high:
            return f"age {number:g} is not below {e.age_high:g}"
        return None
    if e.range_low is not None and number < e.range_low:
        return f"{column} {number:g} is below {e.range_low:g}"
    if e.range_high is not None and number > e.range_high:
        return f"{column} {number:g} is above {e.range_high:g}"
    return None


def apply_eligibility(
    frame: pd.DataFrame, eligibility: Eligibility
) -> tuple[pd.Series[bool], EligibilityFlow]:
    """Apply eligibility criteria: who is eligible, the flow per arm, who was excluded.

    Criteria are applied in order (risk group, range, age, CNS status, excluded
    subtypes); a patient is excluded at the first criterion they fail and counted
    there only. Patients outside ``eligibility.applies_to`` pass every step. A
    missing value of a criterion's column excludes the patient (listed with the
    reason ``"<column> missing"``).

    Parameters
    ----------
    frame
        A loaded cohort (:func:`blinastudy.data.cohort.load_cohort` or
        :func:`~blinastudy.data.cohort.combine_cohorts`) with an ``arm`` column.
    eligibility
        The criteria.

    Returns
    -------
    (pandas.Series of bool, EligibilityFlow)
        ``True`` for eligible patients (indexed like ``frame``), and the flow.

    Raises
    ------
    InputError
        No ``arm`` column, a criterion whose column is absent, or a range column
        that holds something other than numbers.

    Examples
    --------
    >>> import pandas as pd
    >>> cohort = pd.DataFrame({
    ...     "patient_id": ["T1", "C1", "C2", "C3", "C4"],
    ...     "arm": ["blinatumomab"] + ["chemotherapy"] * 4,
    ...     "risk_group": ["HR", "HR", "LR", "IR", "HR"],
    ...     "genetic_subtype": ["BCR-ABL1", "B-other", None, "BCR-ABL1", "KMT2A-r"]})
    >>> mask, flow = apply_eligibility(
    ...     cohort, Eligibility(risk_groups=("IR", "HR"), excluded_subtypes=("BCR-ABL1",)))
    >>> mask.tolist()
    [True, True, False, False, True]
    >>> columns = ["criterion", "blinatumomab", "chemotherapy", "excluded_chemotherapy"]
    >>> flow.counts[columns].values.tolist()
    [['all patients', 1, 4, 0], ['risk group IR or HR', 1, 3, 1], ['not BCR-ABL1', 1, 2, 1], ['eligible', 1, 2, 0]]
    >>> flow.excluded[["patient_id", "criterion", "reason"]].values.tolist()
    [['C2', 'risk group IR or HR', 'risk group LR not allowed'], ['C3', 'not BCR-ABL1', 'BCR-ABL1 is excluded']]
    """
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    if not isinstance(eligibility, Eligibility):
        raise InputError(f"eligibility must be an Eligibility, got {type(eligibility).__name__}")
    if "arm" not in frame.columns:
        raise InputError("the cohort has no arm column")
    criteria = _criteria(eligibility)
    for _, column, text in criteria:
        if column not in frame.columns:
            raise InputError(
                f"the criterion {text!r} needs column {column!r}, which the cohort lacks"
            )
    n = len(frame)
    arms = [str(a) for a in frame["arm"].tolist()]
    if "patient_id" in frame.columns:
        labels = [show_value(v) for v in frame["patient_id"].tolist()]
    else:
        labels = [show_value(v) for v in frame.index.tolist()]
    target = _ARM_OF.get(eligibility.applies_to)
    subject = [target is None or a == target for a in arms]
    remaining = np.ones(n, dtype=bool)

    def counts(step: int, text: str, keep: Any, dropped: Any) -> dict[str, Any]:
        row: dict[str, Any] = {"step": step, "criterion": text}
        for arm in _ARMS:
            row[arm] = int(sum(k and a == arm for k, a in zip(keep, arms, strict=True)))
        row["total"] = int(np.sum(keep))
        for arm in _ARMS:
            row[f"excluded_{arm}"] = int(
                sum(d and a == arm for d, a in zip(dropped, arms, strict=True))
            )
        row["excluded_total"] = int(np.sum(dropped))
        return row

    rows = [counts(0, "all patients", remaining, np.zeros(n, dtype=bool))]
    excluded: list[dict[str, Any]] = []
    for step, (kind, column, text) in enumerate(criteria, start=1):
        values = frame[column].tolist()
        dropped = np.zeros(n, dtype=bool)
        for pos in range(n):
            if not remaining[pos] or not subject[pos]:
                continue
            value = values[pos]
            if is_missing(value):
                reason: str | None = f"{column} missing"
            else:
                numeric = kind in ("range", "age")
                number = _number(value, column, labels[pos]) if numeric else math.nan
                reason = _fails(eligibility, kind, column, value, number)
            if reason is not None:
                dropped[pos] = True
                excluded.append(
                    {
                        "patient_id": labels[pos],
                        "arm": arms[pos],
                        "criterion": text,
                        "value": "" if is_missing(value) else show_value(value),
                        "reason": reason,
                    }
                )
        remaining &= ~dropped
        rows.append(counts(step, text, remaining, dropped))
    rows.append(counts(len(criteria) + 1, "eligible", remaining, np.zeros(n, dtype=bool)))
    flow = EligibilityFlow(
        pd.DataFrame(rows),
        pd.DataFrame(excluded, columns=["patient_id", "arm", "criterion", "value", "reason"]),
    )
    mask = pd.Series(remaining, index=frame.index, name="eligible", dtype=bool)
    return cast("pd.Series[bool]", mask), flow

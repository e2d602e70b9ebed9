"""Pure helpers for the app's pages: option lists, labels, number formats, the mapping review.

Nothing here imports Streamlit or computes a statistic. The pages use these
functions to turn :class:`~blinastudy.analysis.settings.Settings` and the tables of an
:class:`~blinastudy.analysis.AnalysisResult` into widget options and text, so
that the same rules can be tested without a browser.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from collections.abc import Mapping as AbcMapping
from typing import Any, cast

import pandas as pd

from blinastudy.analysis.settings import (
    DEFAULT_COVARIATES,
    DEFAULT_SUBGROUPS,
    DisplaySettings,
    MatchingSettings,
    Settings,
)
from blinastudy.core.errors import InputError
from blinastudy.core.formatting import SHORT_LABELS, is_finite
from blinastudy.data.dates import (
    DATE_FORMATS,
    DATE_ROLES,
    DAYS_PER_MONTH,
    DAYS_PER_YEAR,
    ROLE_LABELS,
    DateRole,
)
from blinastudy.data.mapping import (
    AS_MISSING,
    DATE_PREFIX,
    MRD_UNITS,
    STATUS_TARGET,
    TIME_UNITS,
    Ambiguity,
    Mapping,
    MappingReview,
    ValueChoice,
    column_targets,
    date_target,
    rename_columns,
)
from blinastudy.data.mrd_text import MRD_BELOW_COLUMNS
from blinastudy.data.schema import (
    CANONICAL_COLUMNS,
    COLUMNS,
    REQUIRED_COLUMNS,
    CohortError,
    Problem,
    column_spec,
    show_value,
)

__all__ = [
    "CALIPER_OPTIONS",
    "KEEP_NAME",
    "LEAVE_UNMAPPED",
    "MARKED_THRESHOLDS",
    "MRD_THRESHOLDS",
    "READ_AS_BLANK",
    "SUBGROUP_LABELS",
    "adapt_settings",
    "ambiguity_options",
    "analysis_key",
    "answer_ambiguity",
    "baseline_display",
    "column_reasons",
    "covariate_options",
    "current_target",
    "derivation_view",
    "edited_table",
    "exact_options",
    "get_field",
    "mapping_dicts",
    "mapping_from_table",
    "mapping_table",
    "mapping_with_values",
    "nearest",
    "problems_table",
    "restored_mapping",
    "still_needed",
    "subgroup_options",
    "suggested_landmark",
    "sweep_settings",
    "target_label",
    "target_options",
    "threshold_label",
    "value_changes",
    "value_groups",
    "value_options",
    "value_table",
    "with_default_arm",
]

#: Caliper widths offered by the slider, in SD of the logit propensity score.
CALIPER_OPTIONS: tuple[float, ...] = (
    0.005,
    0.01,
    0.02,
    0.03,
    0.05,
    0.075,
    0.1,
    0.15,
    0.2,
    0.25,
    0.3,
    0.4,
    0.5,
    0.75,
    1.0,
)

#: MRD thresholds (percent) on a log scale, 1-2-5 steps from 0.001 % to 10 %.
MRD_THRESHOLDS: tuple[float, ...] = (
    *(round(m * 10.0**e, 6) for e in range(-3, 1) for m in (1.0, 2.0, 5.0)),
    10.0,
)

#: The conventional cut-offs shown as marks on the threshold slider.
MARKED_THRESHOLDS: tuple[float, ...] = (0.01, 0.1, 1.0)

#: Readable names of subgroup variables (derived bands and canonical columns).
SUBGROUP_LABELS: dict[str, str] = {
    "risk_group": "Risk group",
    "mrd_group": "MRD group (current threshold)",
    "age_band": "Age band",
    "wbc_band": "WBC band",
    "genetic_subtype": "Genetics",
    "sex": "Sex",
    "cns_status": "CNS status",
    "prednisone_response": "Prednisone response",
    "indication": "Indication",
    "hsct": "Transplant",
}

#: Choice in the mapping editor that leaves a file column under its own name.
KEEP_NAME = "(keep its name)"
#: Choice for a column offered for a role: leave it unmapped (kept under its own name).
LEAVE_UNMAPPED = "(leave unmapped)"
#: Choice in a value table: read this spelling as a blank (missing) cell.
READ_AS_BLANK = "(read as blank)"

_DERIVED = ("mrd_group", "age_band", "wbc_band")
#: Detection limits of below-limit MRD results: read with their MRD column, never alone.
_MRD_LIMITS = frozenset(MRD_BELOW_COLUMNS.values())
_OUTCOME_OR_TREATMENT = (
    frozenset(c.name for c in COLUMNS if c.group in ("required", "treatment"))
    | frozenset(_DERIVED)
    | _MRD_LIMITS
)
_CATEGORY = frozenset(c.name for c in COLUMNS if c.kind in ("category", "binary"))


# --------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------


def get_field(settings: Settings, field: str) -> Any:
    """Value of a possibly nested settings field written as for :meth:`Settings.update`.

    Examples
    --------
    >>> get_field(Settings(), "matching__caliper")
    0.2
    >>> get_field(Settings(), "endpoint")
    'efs'
    """
    value: Any = settings
    for part in field.split("__"):
        value = getattr(value, part)
    return value


def analysis_key(settings: Settings) -> str:
    """Settings JSON with the display options reset: the key of a cached analysis.

    Presentation and teaching mode change how results look, never a number, so
    toggling them must not recompute anything.

    Examples
    --------
    >>> a = Settings()
    >>> b = a.update(display__presentation=True)
    >>> analysis_key(a) == analysis_key(b)
    True
    """
    return settings.update(display=DisplaySettings()).to_json()


def sweep_settings(settings: Settings) -> Settings:
    """The settings the caliper sweep depends on, everything else at its default.

    The sweep varies the caliper itself, so moving the caliper slider must not
    recompute it; nor should the endpoint or subgroup choices. The eligible pool and
    the MRD settings stay (the sweep matches the same patients as the analysis; the
    step cache reuses the sweep when only an MRD setting it does not read moved).

    Examples
    --------
    >>> s = Settings().update(matching__caliper=0.05, endpoint="os")
    >>> sweep_settings(s) == sweep_settings(Settings())
    True
    """
    return Settings(
        matching=MatchingSettings(
            covariates=settings.matching.covariates,
            caliper=MatchingSettings().caliper,
            scale=settings.matching.scale,
            ratio=settings.matching.ratio,
            replace=settings.matching.replace,
            order=settings.matching.order,
            exact=settings.matching.exact,
            random_state=settings.matching.random_state,
        ),
        # who may be matched: the eligible pool, and the MRD groups when matched on
        eligibility=settings.eligibility,
        mrd=settings.mrd,
        conf_level=settings.conf_level,
        conf_type=settings.conf_type,
        sweep_calipers=settings.sweep_calipers,
        subgroups=(),
    )


def covariate_options(columns: Iterable[str]) -> list[str]:
    """Columns that can enter the propensity model: baseline columns and extra ones.

    Outcomes, identifiers, treatment details and derived bands are left out.

    Examples
    --------
    >>> covariate_options(["patient_id", "arm", "age_years", "efs_months", "site"])
    ['age_years', 'site']
    """
    return [str(c) for c in columns if str(c) not in _OUTCOME_OR_TREATMENT]


def exact_options(cohort: pd.DataFrame, max_levels: int = 12) -> list[str]:
    """Columns usable as exact-matching strata: categorical with few levels.

    Examples
    --------
    >>> f = pd.DataFrame({"risk_group": ["HR", "IR"], "age_years": [3.0, 4.0]})
    >>> exact_options(f)
    ['risk_group']
    """
    out = []
    for col in covariate_options(cohort.columns):
        series = cohort[col]
        categorical = col in _CATEGORY or series.dtype == object or series.dtype.kind == "b"
        if categorical and 1 < series.nunique(dropna=True) <= max_levels:
            out.append(col)
    return out


def subgroup_options(cohort: pd.DataFrame, max_levels: int = 12) -> list[str]:
    """Variables a forest plot can split on: the default ones present, then any other
    column (uploaded ones included) with between 2 and ``max_levels`` distinct values.

    ``mrd_group``, ``age_band`` and ``wbc_band`` are offered when the columns they are
    derived from exist.

    Examples
    --------
    >>> f = pd.DataFrame({"sex": ["F", "M"], "age_years": [3.0, 12.0], "site": ["A", "B"],
    ...                   "mrd_eoi_pct": [0.0, 1.0]})
    >>> subgroup_options(f)
    ['mrd_group', 'age_band', 'sex', 'site']
    """
    sources = {"mrd_group": "mrd_eoi_pct", "age_band": "age_years", "wbc_band": "wbc_10e9_l"}
    present = set(map(str, cohort.columns))
    out: list[str] = []
    for var in DEFAULT_SUBGROUPS:
        if var in present or (var in sources and sources[var] in present):
            out.append(var)
    for col in cohort.columns:
        name = str(col)
        if name in out or name in REQUIRED_COLUMNS or name in sources.values():
            continue
        if name in ("blina_start_months",) or name in _MRD_LIMITS:
            continue
        n = cohort[col].nunique(dropna=True)
        if 1 < n <= max_levels:
            out.append(name)
    return out


def suggested_landmark(cohort: pd.DataFrame) -> float | None:
    """The landmark month a cohort suggests: the 75th percentile of months from
    diagnosis to the first blinatumomab dose, rounded up to a whole month (1 to 36).

    By then three in four blinatumomab patients have started, so the landmark
    analysis leaves out few of them, without waiting for the latest starters.
    ``None`` when the cohort records no start (R's ``quantile``, type 7).

    Examples
    --------
    >>> f = pd.DataFrame({"arm": ["blinatumomab"] * 4 + ["chemotherapy"],
    ...                   "blina_start_months": [4.0, 8.0, 10.0, 14.5, None]})
    >>> suggested_landmark(f)  # 75th percentile 11.125
    12.0
    >>> suggested_landmark(f.drop(columns="blina_start_months")) is None
    True
    """
    if "blina_start_months" not in cohort.columns or "arm" not in cohort.columns:
        return None
    starts = pd.to_numeric(
        cohort.loc[cohort["arm"].astype(str) == "blinatumomab", "blina_start_months"],
        errors="coerce",
    ).dropna()
    if starts.empty:
        return None
    return float(min(max(math.ceil(float(starts.quantile(0.75))), 1), 36))


def adapt_settings(settings: Settings, cohort: pd.DataFrame) -> Settings:
    """Fit settings to a newly loaded cohort: keep only covariates, strata and subgroup
    variables it has; drop a subgroup filter; take the landmark month from the
    cohort (:func:`suggested_landmark`). Everything else is kept.

    If none of the chosen covariates exists, the default covariates present are used;
    if none of those exists either, the settings are returned unchanged (the analysis
    then says which covariate is missing).

    Examples
    --------
    >>> f = pd.DataFrame({"patient_id": ["a"], "age_years": [3.0], "sex": ["F"]})
    >>> adapt_settings(Settings(), f).matching.covariates
    ('age_years', 'sex')
    """
    present = set(map(str, cohort.columns))
    covs = tuple(c for c in settings.matching.covariates if c in present)
    if not covs:
        covs = tuple(c for c in DEFAULT_COVARIATES if c in present)
    landmark = suggested_landmark(cohort)
    if landmark is not None:
        settings = settings.update(landmark_months=landmark)
    if not covs:
        return settings.update(subgroup_filter=None)
    exact = tuple(c for c in settings.matching.exact if c in present)
    allowed = set(subgroup_options(cohort))
    subgroups = tuple(v for v in settings.subgroups if v in allowed)
    return settings.update(
        matching__covariates=covs,
        matching__exact=exact,
        subgroups=subgroups,
        subgroup_filter=None,
    )


def threshold_label(value: float) -> str:
    """Label of an MRD threshold on the slider; the conventional cut-offs are marked.

    Examples
    --------
    >>> threshold_label(0.1), threshold_label(0.002)
    ('0.1 % ◆', '0.002 %')
    """
    text = f"{value:g} %"
    return f"{text} ◆" if any(math.isclose(value, m) for m in MARKED_THRESHOLDS) else text


def nearest(value: float, options: Sequence[float]) -> float:
    """The option closest to ``value`` on a log scale (for restoring loaded settings).

    Examples
    --------
    >>> nearest(0.12, MRD_THRESHOLDS)
    0.1
    """
    return min(options, key=lambda o: abs(math.log(o) - math.log(value)))


# --------------------------------------------------------------------------------------
# Numbers as text
# --------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------
# Files, mappings, problems
# --------------------------------------------------------------------------------------


#: The two SMD conventions, named wherever an SMD is shown.
BASELINE_SMD = "SMD (tableone)"
BALANCE_SMD = "SMD (MatchIt, ATT)"
SMD_CONVENTIONS = (
    "Two SMD conventions are shown, each named: the baseline table's 'SMD (tableone)' "
    "divides by the pooled SD of the two arms (Yang & Dalton's multi-level SMD for "
    "categories), as R's tableone; the love plot, the caliper sweep and the report's "
    "balance table use 'SMD (MatchIt, ATT)', the mean difference over the SD of the "
    "blinatumomab patients in the full sample, as MatchIt's summary()."
)


def baseline_display(table: pd.DataFrame) -> pd.DataFrame:
    """A baseline table as shown: variables by their labels with units, SMD to three
    decimals (blank where not defined) and readable column names. The numbers are
    those of the table, only formatted.

    Examples
    --------
    >>> t = pd.DataFrame({"variable": ["n", "age_years"], "smd": [float("nan"), 0.22893],
    ...                   "missing_blinatumomab": [0, 1]})
    >>> baseline_display(t).to_dict("list")
    {'variable': ['Patients', 'Age (years)'], 'SMD (tableone)': ['', '0.229'], 'missing (blinatumomab)': [0, 1]}
    """
    out = table.copy()
    if "variable" in out:
        out["variable"] = [
            "Patients" if v == "n" else SHORT_LABELS.get(str(v), str(v)) for v in out["variable"]
        ]
    if "smd" in out:
        out["smd"] = [f"{v:.3f}" if is_finite(v) else "" for v in out["smd"]]
    names = {"smd": BASELINE_SMD}
    for col in out.columns:
        if str(col).startswith("missing_"):
            names[col] = f"missing ({str(col)[len('missing_') :]})"
    return out.rename(columns=names)


def problems_table(problems: Sequence[Problem]) -> pd.DataFrame:
    """The validation report as a table: file, row, column, value, message.

    Examples
    --------
    >>> problems_table([Problem(3, "sex", "X", "unknown value")]).iloc[0].tolist()
    ['', '3', 'sex', 'X', 'unknown value']
    """
    rows = [
        {
            "file": p.source or "",
            "row": "" if p.row is None else str(p.row),
            "column": p.column or "",
            "value": "" if p.value is None else str(p.value),
            "message": p.message,
        }
        for p in problems
    ]
    return pd.DataFrame(rows, columns=["file", "row", "column", "value", "message"])


# --------------------------------------------------------------------------------------
# The mapping review: columns, questions, values, traceability
# --------------------------------------------------------------------------------------


def target_label(target: str) -> str:
    """How a mapping target is named in the column table: date roles and the status in
    words, canonical columns by their name.

    Examples
    --------
    >>> target_label("date:last_contact"), target_label("date:birth"), target_label("sex")
    ('date of last contact', 'date of birth', 'sex')
    >>> target_label("status")
    'patient status'
    """
    if target == STATUS_TARGET:
        return "patient status"
    if target.startswith(DATE_PREFIX):
        role = target[len(DATE_PREFIX) :]
        label = ROLE_LABELS.get(cast(DateRole, role), role)
        return label if label.startswith("date of") else f"date of {label}"
    return target


def target_options() -> list[str]:
    """The choices of the column table's "becomes" column: keep the name, or a target.

    Examples
    --------
    >>> options = target_options()
    >>> options[:2], "date:death" in options, options[-1]
    (['(keep its name)', 'patient_id'], True, 'status')
    """
    return [KEEP_NAME, *column_targets()]


def current_target(column: str, mapping: Mapping) -> str | None:
    """What file column ``column`` becomes under ``mapping``: its target, its own name
    when that is canonical, or ``None`` (an extra column).

    Examples
    --------
    >>> m = Mapping(columns={"PID": "patient_id"}, dates={"diagnosis": "Dx"})
    >>> [current_target(c, m) for c in ("PID", "Dx", "sex", "centre")]
    ['patient_id', 'date:diagnosis', 'sex', None]
    """
    target = mapping.target_of(column)
    if target is None and column in CANONICAL_COLUMNS:
        return column
    return target


def column_reasons(
    columns: Sequence[str], mapping: Mapping, suggested: Mapping, review: MappingReview
) -> dict[str, str]:
    """Why each file column becomes what it does, for the column table.

    A column offered for a role (``review.offers``) says it is left unmapped until
    confirmed, and why; a column as suggested gives the suggestion's notes about it; a
    column the user changed says so.

    Examples
    --------
    >>> from blinastudy.data.mapping import review_mapping, suggest_mapping
    >>> raw = pd.DataFrame({"Patient ID": ["a"], "MRD TP1 %": ["0.1"], "centre": ["A"]})
    >>> m = suggest_mapping(raw)
    >>> reasons = column_reasons(list(raw.columns), m, m, review_mapping(raw, m))
    >>> reasons["Patient ID"], reasons["centre"]
    ('the header names patient_id', 'not recognised: kept under its own name as an extra column')
    >>> reasons["MRD TP1 %"].startswith("may be mrd_day15_pct or mrd_eoi_pct: 'TP1' means")
    True
    >>> column_reasons(["centre"], m.with_column("centre", "sex"), m, review_mapping(raw, m))
    {'centre': 'your choice (suggested: (keep its name))'}
    """
    offers = {o.column: o for o in review.offers}
    out: dict[str, str] = {}
    for column in map(str, columns):
        target = current_target(column, mapping)
        offer = offers.get(column)
        if offer is not None and target is None:
            roles = " or ".join(target_label(c) for c in offer.candidates)
            out[column] = f"may be {roles}: {offer.reason}; left unmapped until you confirm it"
        elif target != (proposed := current_target(column, suggested)):
            was = KEEP_NAME if proposed is None else target_label(proposed)
            out[column] = f"your choice (suggested: {was})"
        else:
            prefix = f"{column!r} "
            notes = [n[len(prefix) :] for n in suggested.notes if n.startswith(prefix)]
            if notes:
                out[column] = "; ".join(notes)
            elif target is None:
                out[column] = "not recognised: kept under its own name as an extra column"
            elif target == column:
                out[column] = "already the canonical name"
            else:
                out[column] = f"the header names {target_label(target)}"
    return out


def mapping_table(
    columns: Sequence[str], mapping: Mapping, reasons: AbcMapping[str, str] | None = None
) -> pd.DataFrame:
    """The editable table of the mapping editor: each file column, what it becomes
    (a canonical column, a date role, the status, or :data:`KEEP_NAME`) and why.

    Examples
    --------
    >>> m = Mapping(columns={"PID": "patient_id"}, dates={"diagnosis": "Dx"})
    >>> t = mapping_table(["PID", "Dx", "age_years", "site"], m, {"PID": "a synonym"})
    >>> t.values.tolist()
    [['PID', 'patient_id', 'a synonym'], ['Dx', 'date:diagnosis', ''], ['age_years', 'age_years', ''], ['site', '(keep its name)', '']]
    """
    reasons = reasons or {}
    rows = []
    for col in columns:
        name = str(col)
        target = current_target(name, mapping)
        rows.append(
            {
                "file column": name,
                "becomes": KEEP_NAME if target is None else target,
                "why": reasons.get(name, ""),
            }
        )
    return pd.DataFrame(rows, columns=["file column", "becomes", "why"])


def edited_table(
    table: pd.DataFrame, edited_rows: AbcMapping[Any, AbcMapping[str, Any]]
) -> pd.DataFrame:
    """``table`` with the cell edits of a data editor applied (``{row position: {column:
    value}}``, the ``edited_rows`` of ``st.data_editor``'s state).

    Examples
    --------
    >>> t = pd.DataFrame({"file column": ["A", "B"], "becomes": ["sex", "(keep its name)"]})
    >>> edited_table(t, {"1": {"becomes": "arm"}})["becomes"].tolist()
    ['sex', 'arm']
    """
    out = table.copy()
    for row, changes in edited_rows.items():
        for column, value in changes.items():
            out.loc[out.index[int(row)], column] = value
    return out


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value == ""


def mapping_from_table(
    table: pd.DataFrame,
    base: Mapping,
    *,
    time_unit: str,
    mrd_unit: str,
    arm: str | None,
) -> Mapping:
    """Build the mapping the editor shows: column choices (canonical columns, date roles,
    the status) from ``table``, units and arm from the selectors, and every answer of
    ``base`` (event codes, category and status spellings, date formats, MRD units and
    detection limits, cut-off, notes) kept.

    Per-column unit exceptions of ``base`` are kept while the unit stays the suggested
    one; choosing another unit applies it to every time (or MRD) column.

    Raises
    ------
    InputError
        Two file columns mapped to the same target, an unknown target, or a bad unit,
        arm or combination (e.g. dates without a date of diagnosis).

    Examples
    --------
    >>> t = pd.DataFrame({"file column": ["PID", "t"], "becomes": ["patient_id", "efs_months"]})
    >>> m = mapping_from_table(t, Mapping(), time_unit="days", mrd_unit="percent", arm=None)
    >>> m.columns, m.time_unit
    ({'PID': 'patient_id', 't': 'efs_months'}, 'days')
    >>> base = Mapping(dates={"diagnosis": "Dx", "death": "Died"}, cutoff="2024-06-30",
    ...                date_formats={"Died": "dd/mm/yyyy"}, mrd_limits={"mrd_eoi_pct": 0.01})
    >>> t = pd.DataFrame({"file column": ["Dx", "Died", "State"],
    ...                   "becomes": ["date:diagnosis", "date:death", "status"]})
    >>> m = mapping_from_table(t, base, time_unit="months", mrd_unit="percent", arm=None)
    >>> m.dates, m.status, m.date_formats, str(m.cutoff), m.mrd_limits
    ({'diagnosis': 'Dx', 'death': 'Died'}, 'State', {'Died': 'dd/mm/yyyy'}, '2024-06-30', {'mrd_eoi_pct': 0.01})
    """
    if time_unit not in TIME_UNITS:
        raise InputError(f"time unit must be one of {', '.join(TIME_UNITS)}")
    if mrd_unit not in MRD_UNITS:
        raise InputError(f"MRD unit must be one of {', '.join(MRD_UNITS)}")
    targets = set(column_targets())
    owner: dict[str, str] = {}
    columns: dict[str, str] = {}
    dates: dict[str, str] = {}
    status: str | None = None
    for src, dst in zip(table["file column"], table["becomes"], strict=True):
        if _blank(dst) or str(dst) == KEEP_NAME:
            continue
        source, target = str(src), str(dst)
        if target not in targets:
            raise InputError(f"{target!r} (column {source!r}) is not a column BlinaStudy reads")
        if target in owner:
            raise InputError(
                f"columns {owner[target]!r} and {source!r} are both mapped to {target_label(target)!r}"
            )
        owner[target] = source
        if target == STATUS_TARGET:
            status = source
        elif target.startswith(DATE_PREFIX):
            dates[target[len(DATE_PREFIX) :]] = source
        elif target != source:
            columns[source] = target
    data = base.to_dict()
    data.update(
        columns=columns,
        dates=dates,
        status=status,
        time_unit=time_unit,
        time_units=data["time_units"] if time_unit == base.time_unit else {},
        mrd_unit=mrd_unit,
        mrd_units=data["mrd_units"] if mrd_unit == base.mrd_unit else {},
        arm=arm or None,
    )
    return Mapping.from_dict(data)


def with_default_arm(mapping: Mapping, columns: Sequence[str], arm: str) -> Mapping:
    """``mapping`` with every row given ``arm``, unless the file gives the arm (a column
    mapped to, or named, ``arm``) or the mapping already sets one.

    Examples
    --------
    >>> with_default_arm(Mapping(), ["PID"], "blina").arm
    'blinatumomab'
    >>> with_default_arm(Mapping(columns={"Group": "arm"}), ["Group"], "blina").arm is None
    True
    """
    if mapping.arm is not None or any(current_target(str(c), mapping) == "arm" for c in columns):
        return mapping
    return Mapping.from_dict({**mapping.to_dict(), "arm": arm})


def ambiguity_options(ambiguity: Ambiguity) -> dict[str, str]:
    """The answers to a question, each with what the example cell means under it.

    Empty for a detection limit, which is a number.

    Examples
    --------
    >>> from blinastudy.data.mapping import review_mapping
    >>> raw = pd.DataFrame({"Dx": ["03/04/2019"]}, dtype=object)
    >>> a = review_mapping(raw, Mapping(dates={"diagnosis": "Dx"})).ambiguities[0]
    >>> ambiguity_options(a)
    {'dd/mm/yyyy': "dd/mm/yyyy: '03/04/2019' is 3 April 2019", 'mm/dd/yyyy': "mm/dd/yyyy: '03/04/2019' is 4 March 2019"}
    """
    return {
        option: f"{option}: {ambiguity.example!r} is {reading}"
        for option, reading in zip(ambiguity.options, ambiguity.readings, strict=False)
    }


def answer_ambiguity(mapping: Mapping, ambiguity: Ambiguity, answer: str | float) -> Mapping:
    """Record the answer to a question with the setter its kind needs: the column's date
    format, the MRD column's unit, or its detection limit (percent).

    Raises
    ------
    InputError
        An answer the setter rejects (a format or unit not offered, a limit outside
        (0, 100]).

    Examples
    --------
    >>> from blinastudy.data.mapping import review_mapping
    >>> raw = pd.DataFrame({"Dx": ["03/04/2019"], "MRD d33": ["neg"]}, dtype=object)
    >>> m = Mapping(columns={"MRD d33": "mrd_eoi_pct"}, dates={"diagnosis": "Dx"})
    >>> date, limit = review_mapping(raw, m).ambiguities
    >>> m = answer_ambiguity(answer_ambiguity(m, date, "dd/mm/yyyy"), limit, 0.01)
    >>> m.date_formats, m.mrd_limits, review_mapping(raw, m).ambiguities
    ({'Dx': 'dd/mm/yyyy'}, {'mrd_eoi_pct': 0.01}, ())
    """
    if ambiguity.kind == "date_format":
        if answer not in DATE_FORMATS:
            raise InputError(f"the date format must be one of {', '.join(DATE_FORMATS)}")
        return mapping.with_date_format(ambiguity.column, answer)
    if ambiguity.kind == "mrd_unit":
        if answer not in MRD_UNITS:
            raise InputError(f"the MRD unit must be one of {', '.join(MRD_UNITS)}")
        return mapping.with_mrd_unit(ambiguity.target, answer)
    if isinstance(answer, str):
        raise InputError("the detection limit must be a number (percent)")
    return mapping.with_mrd_limit(ambiguity.target, float(answer))


def value_groups(choices: Sequence[ValueChoice]) -> list[list[ValueChoice]]:
    """The values of a review grouped by file column, in the review's order.

    Examples
    --------
    >>> from blinastudy.data.mapping import review_mapping
    >>> raw = pd.DataFrame({"Sex": ["m", "f"], "Risk": ["HR", "HR"]})
    >>> m = Mapping(columns={"Sex": "sex", "Risk": "risk_group"})
    >>> [[c.value for c in g] for g in value_groups(review_mapping(raw, m).values)]
    [['m', 'f'], ['HR']]
    """
    groups: dict[tuple[str, str], list[ValueChoice]] = {}
    for choice in choices:
        groups.setdefault((choice.target, choice.column), []).append(choice)
    return list(groups.values())


def value_options(choice: ValueChoice) -> list[str]:
    """What a value can be read as: the target's codes, and :data:`READ_AS_BLANK` (not
    for a 0/1 column, whose unknown spellings cannot be blanked by a mapping).

    Examples
    --------
    >>> from blinastudy.data.mapping import review_mapping
    >>> raw = pd.DataFrame({"Sex": ["m"], "Died": ["yes"]})
    >>> m = Mapping(columns={"Sex": "sex", "Died": "os_event"})
    >>> [value_options(c) for c in review_mapping(raw, m).values]
    [['M', 'F', '(read as blank)'], ['0', '1']]
    """
    options = list(choice.allowed)
    if choice.target == STATUS_TARGET or column_spec(choice.target).kind != "binary":
        options.append(READ_AS_BLANK)
    return options


def _shown(choice: ValueChoice) -> str | None:
    """What a value reads as now, as the table shows it (``None``: not recognised)."""
    if choice.source == "missing":
        return READ_AS_BLANK
    return choice.current


def value_table(choices: Sequence[ValueChoice]) -> pd.DataFrame:
    """The table of one column's distinct values: the value as written, how many rows
    hold it, what it is read as (a value not recognised shows the suggestion, to be
    confirmed), and why.

    Examples
    --------
    >>> from blinastudy.data.mapping import review_mapping
    >>> raw = pd.DataFrame({"Karyotype": ["normal karyotype", "t(12;21)", "t(12;21)", "xyz"]})
    >>> m = Mapping(columns={"Karyotype": "genetic_subtype"})
    >>> value_table(review_mapping(raw, m).values).values.tolist()
    [['normal karyotype', 1, 'B-other', 'suggested, to confirm: no recurrent abnormality was reported; B-other assumes the tests for ETV6::RUNX1, BCR::ABL1, KMT2A and TCF3::PBX1 were negative (a normal karyotype does not exclude the cryptic ETV6::RUNX1); confirm'], ['t(12;21)', 2, 'ETV6-RUNX1', 'a known spelling of ETV6-RUNX1'], ['xyz', 1, None, 'not recognised: choose what it means']]
    """
    rows = []
    for c in choices:
        shown = _shown(c)
        if c.source == "unrecognised" and c.suggestion is not None:
            shown = READ_AS_BLANK if c.suggestion == AS_MISSING else c.suggestion
            why = f"suggested, to confirm: {c.reason}"
        elif c.source == "unrecognised":
            why = "not recognised: choose what it means"
        elif c.source == "canonical":
            why = "the canonical value"
        elif c.source == "alias":
            why = f"a known spelling of {c.current}"
        elif c.source == "missing":
            why = "read as a blank cell (in the mapping)"
        else:
            why = "set in the mapping"
        rows.append({"value": c.value, "rows": c.count, "reads as": shown, "why": why})
    return pd.DataFrame(rows, columns=["value", "rows", "reads as", "why"])


def value_changes(
    table: pd.DataFrame, choices: Sequence[ValueChoice]
) -> list[tuple[str, str | None]]:
    """The values whose choice in ``table`` (a :func:`value_table`, possibly edited)
    differs from what the mapping reads now: ``(value as written, new reading)``, the
    reading ``None`` for :data:`READ_AS_BLANK`. A suggestion shown for a value not
    recognised counts until it is confirmed; a blank choice changes nothing.

    Examples
    --------
    >>> from blinastudy.data.mapping import review_mapping
    >>> raw = pd.DataFrame({"Karyotype": ["normal karyotype", "t(12;21)"]})
    >>> choices = review_mapping(raw, Mapping(columns={"Karyotype": "genetic_subtype"})).values
    >>> table = value_table(choices)
    >>> value_changes(table, choices)
    [('normal karyotype', 'B-other')]
    >>> table.loc[1, "reads as"] = "(read as blank)"
    >>> value_changes(table, choices)
    [('normal karyotype', 'B-other'), ('t(12;21)', None)]
    """
    changes: list[tuple[str, str | None]] = []
    for choice, chosen in zip(choices, table["reads as"], strict=True):
        if _blank(chosen) or str(chosen) == _shown(choice):
            continue
        changes.append((choice.value, None if str(chosen) == READ_AS_BLANK else str(chosen)))
    return changes


def mapping_with_values(
    mapping: Mapping, target: str, changes: Sequence[tuple[str, str | None]]
) -> Mapping:
    """``mapping`` with each ``(value as written, reading)`` of ``changes`` recorded for
    ``target`` (:meth:`Mapping.with_value`).

    Examples
    --------
    >>> m = mapping_with_values(Mapping(), "genetic_subtype",
    ...                         [("normal karyotype", "B-other"), ("not done", None)])
    >>> m.categories
    {'genetic_subtype': {'normalkaryotype': 'B-other', 'notdone': None}}
    """
    for value, reading in changes:
        mapping = mapping.with_value(target, value, reading)
    return mapping


def still_needed(review: MappingReview) -> list[str]:
    """What a file still needs before it can be loaded, in plain words: required columns
    and dates, unanswered questions, values not recognised.

    Examples
    --------
    >>> from blinastudy.data.mapping import review_mapping, suggest_mapping
    >>> raw = pd.DataFrame({"Study No.": ["T1"], "Date of diagnosis": ["03/04/2019"],
    ...                     "Date of death": ["05/06/2020"], "Karyotype": ["normal"]},
    ...                    dtype=object)
    >>> for line in still_needed(review_mapping(raw, suggest_mapping(raw))):
    ...     print(line)
    no column is mapped to arm
    no date of last contact is mapped: patients without an event cannot be censored
    say whether 'Date of diagnosis' writes dates dd/mm/yyyy or mm/dd/yyyy
    say whether 'Date of death' writes dates dd/mm/yyyy or mm/dd/yyyy
    say what 'normal' in 'Karyotype' (genetic_subtype) means (suggested: B-other)
    """
    needed = list(review.missing)
    for a in review.ambiguities:
        if a.kind == "date_format":
            needed.append(f"say whether {a.column!r} writes dates dd/mm/yyyy or mm/dd/yyyy")
        elif a.kind == "mrd_unit":
            needed.append(f"say whether {a.column!r} ({a.target}) is in percent or a fraction")
        else:
            needed.append(
                f"give the detection limit behind {a.example!r} in {a.column!r} ({a.target})"
            )
    for c in review.values:
        if c.source != "unrecognised":
            continue
        hint = ""
        if c.suggestion is not None:
            hint = f" (suggested: {READ_AS_BLANK if c.suggestion == AS_MISSING else c.suggestion})"
        what = "the patient status" if c.target == STATUS_TARGET else c.target
        needed.append(f"say what {c.value!r} in {c.column!r} ({what}) means{hint}")
    return needed


def restored_mapping(
    saved: Sequence[AbcMapping[str, Any]], index: int, raw: pd.DataFrame
) -> Mapping | None:
    """The mapping saved in the settings for file ``index`` (0: the treated file or the
    only file, 1: the pool), if there is one and it fits ``raw`` (names only columns the
    file has); otherwise ``None``.

    Examples
    --------
    >>> raw = pd.DataFrame({"PID": ["P1"]})
    >>> saved = ({"columns": {"PID": "patient_id"}},)
    >>> restored_mapping(saved, 0, raw).columns, restored_mapping(saved, 1, raw)
    ({'PID': 'patient_id'}, None)
    >>> restored_mapping(({"columns": {"Study No.": "patient_id"}},), 0, raw) is None
    True
    """
    if index >= len(saved):
        return None
    try:
        mapping = Mapping.from_dict(saved[index])
        rename_columns(raw, mapping)
    except (InputError, CohortError):
        return None
    return mapping


def mapping_dicts(mappings: Sequence[Mapping]) -> tuple[dict[str, Any], ...]:
    """The mappings of the loaded files as :attr:`Settings.mappings` holds them.

    The suggestion's notes are left out: they quote example cells of the file (a date,
    an MRD result) and are not used when a mapping is applied, while the settings are
    embedded in reports.

    Examples
    --------
    >>> m = Mapping(cutoff="2024-06-30", notes=("'Dx' is read as dd/mm/yyyy (from '14/03/2019')",))
    >>> s = Settings(mappings=mapping_dicts([m]))
    >>> again = Mapping.from_dict(Settings.from_json(s.to_json()).mappings[0])
    >>> again.cutoff, again.notes
    (datetime.date(2024, 6, 30), ())
    """
    return tuple({**m.to_dict(), "notes": []} for m in mappings)


def _days_text(months: Any, per: float, unit: str) -> str:
    if not is_finite(months):
        return "not derived"
    days = round(float(months) * per)
    return f"{float(months):.4f} {unit} ({days} days)"


def _cell(value: Any) -> str:
    """A cell of the derivation table as text, never shortened (``""`` when missing)."""
    return value if isinstance(value, str) else show_value(value)


def derivation_view(row: pd.Series[Any]) -> pd.DataFrame:
    """One patient's row of :func:`blinastudy.data.mapping.date_derivation` as a readable
    two-column table: the dates as read, then each derived time in months with its
    length in days, where it ends and why.

    Examples
    --------
    >>> from blinastudy.data.mapping import date_derivation
    >>> raw = pd.DataFrame({"ID": ["P1"], "Dx": ["2019-01-01"], "Last": ["2020-01-01"]},
    ...                    dtype=object)
    >>> m = Mapping(columns={"ID": "patient_id"},
    ...             dates={"diagnosis": "Dx", "last_contact": "Last"})
    >>> view = derivation_view(date_derivation(raw, m).iloc[0])
    >>> view.set_index("item")["value"].to_dict()["EFS"]
    '11.9918 months (365 days), censored at 2020-01-01 (last contact)'
    """
    items: list[tuple[str, str]] = [
        ("row in the file", _cell(row["row"])),
        ("patient", _cell(row["patient_id"]) or "(no patient_id)"),
    ]
    for role in DATE_ROLES:
        if role in row.index:
            label = target_label(date_target(role))
            items.append((label, _cell(row[role]) or "(blank)"))
    items.append(("status", _cell(row["status"]) or "(blank)"))
    items.append(("data cut-off", _cell(row["cutoff"]) or "(none)"))
    for name, months, event, end, why in (
        ("EFS", "efs_months", "efs_event", "efs_end", "efs_end_reason"),
        ("OS", "os_months", "os_event", "os_end", "os_end_reason"),
    ):
        text = _days_text(row[months], DAYS_PER_MONTH, "months")
        if is_finite(row[months]):
            ended = "event on" if row[event] == 1 else "censored at"
            text += f", {ended} {_cell(row[end])} ({_cell(row[why])})"
        items.append((name, text))
        if name == "EFS" and is_finite(row[months]):
            items.append(("EFS event", f"{_cell(row[event])} ({_cell(row['event_type'])})"))
        elif name == "OS" and is_finite(row[months]):
            items.append(("OS event", _cell(row[event])))
    if "blina_start" in row.index:
        items.append(
            (
                "time to blinatumomab",
                _days_text(row["blina_start_months"], DAYS_PER_MONTH, "months"),
            )
        )
    if "birth" in row.index:
        items.append(("age at diagnosis", _days_text(row["age_years"], DAYS_PER_YEAR, "years")))
    for name in ("notes", "problems"):
        if _cell(row[name]):
            items.append((name, _cell(row[name])))
    return pd.DataFrame(items, columns=["item", "value"])

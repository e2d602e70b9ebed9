"""Pure helpers for the app's pages: option lists, labels, number formats, mapping tables.

Nothing here imports Streamlit or computes a statistic. The pages use these
functions to turn :class:`~blinastudy.settings.Settings` and the tables of an
:class:`~blinastudy.analysis.AnalysisResult` into widget options and text, so
that the same rules can be tested without a browser.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from blinastudy.errors import InputError
from blinastudy.mapping import MRD_UNITS, TIME_UNITS, Mapping
from blinastudy.mrd_text import MRD_BELOW_COLUMNS
from blinastudy.schema import CANONICAL_COLUMNS, COLUMNS, REQUIRED_COLUMNS, Problem
from blinastudy.settings import (
    DEFAULT_COVARIATES,
    DEFAULT_SUBGROUPS,
    DisplaySettings,
    MatchingSettings,
    Settings,
)

__all__ = [
    "CALIPER_OPTIONS",
    "KEEP_NAME",
    "MARKED_THRESHOLDS",
    "MRD_THRESHOLDS",
    "SUBGROUP_LABELS",
    "adapt_settings",
    "analysis_key",
    "baseline_display",
    "ci_label",
    "covariate_options",
    "exact_options",
    "fmt_ci",
    "fmt_hr",
    "fmt_months",
    "fmt_num",
    "fmt_p",
    "fmt_pct",
    "get_field",
    "mapping_from_table",
    "mapping_table",
    "method_label",
    "nearest",
    "problems_table",
    "subgroup_options",
    "sweep_settings",
    "threshold_label",
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
    recompute it; nor should the endpoint, MRD or subgroup choices.

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


def adapt_settings(settings: Settings, cohort: pd.DataFrame) -> Settings:
    """Fit settings to a newly loaded cohort: keep only covariates, strata and subgroup
    variables it has; drop a subgroup filter. Everything else is kept.

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


def _finite(x: Any) -> bool:
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
    >>> fmt_num(float("inf"))  # e.g. the SMD of a covariate that separates the arms
    '∞'
    """
    if _infinite(x):
        return "∞" if float(x) > 0 else "-∞"
    if not _finite(x):
        return "NA"
    v = float(x)
    if abs(v) >= 10:
        return f"{v:.1f}"
    if abs(v) >= 0.1:
        return f"{v:.2f}"
    if v == 0:
        return "0"
    return f"{v:.2g}"


def fmt_pct(x: Any, digits: int = 1) -> str:
    """A proportion as a percentage.

    Examples
    --------
    >>> fmt_pct(0.97778), fmt_pct(None)
    ('97.8 %', 'NA')
    """
    return f"{float(x) * 100:.{digits}f} %" if _finite(x) else "NA"


def fmt_ci(lo: Any, hi: Any, *, pct: bool = False) -> str:
    """A confidence interval in brackets.

    Examples
    --------
    >>> fmt_ci(0.914, 0.994, pct=True), fmt_ci(0.02, 0.33)
    ('(91.4 to 99.4 %)', '(0.02 to 0.33)')
    """
    if pct:
        if not (_finite(lo) and _finite(hi)):
            return "(CI NA)"
        return f"({float(lo) * 100:.1f} to {float(hi) * 100:.1f} %)"
    return f"({fmt_num(lo)} to {fmt_num(hi)})"


def fmt_hr(row: Any) -> str:
    """``HR (lower to upper)`` from a row with ``hr``, ``ci_lower``, ``ci_upper``.

    Examples
    --------
    >>> fmt_hr({"hr": 0.081, "ci_lower": 0.0202, "ci_upper": 0.325})
    '0.081 (0.02 to 0.33)'
    """
    if not _finite(row["hr"]):
        return "not estimable"
    return f"{fmt_num(row['hr'])} {fmt_ci(row['ci_lower'], row['ci_upper'])}"


def fmt_p(p: Any) -> str:
    """A p-value: three decimals, ``< 0.001`` below that.

    Examples
    --------
    >>> fmt_p(1.28e-05), fmt_p(0.2484), fmt_p(None)
    ('< 0.001', '0.248', 'NA')
    """
    if not _finite(p):
        return "NA"
    return "< 0.001" if float(p) < 0.001 else f"{float(p):.3f}"


def fmt_months(x: Any) -> str:
    """A time in months, or "not reached" for a median that is not reached.

    Examples
    --------
    >>> fmt_months(53.09), fmt_months(float("nan"))
    ('53.1 months', 'not reached')
    """
    return f"{float(x):.1f} months" if _finite(x) else "not reached"


def ci_label(conf_level: float) -> str:
    """``95% CI`` for a confidence level.

    Examples
    --------
    >>> ci_label(0.95), ci_label(0.9)
    ('95% CI', '90% CI')
    """
    return f"{float(conf_level) * 100:g}% CI"


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
    """A baseline table as shown: SMD to three decimals (blank where not defined) and
    readable column names. The numbers are those of the table, only formatted.

    Examples
    --------
    >>> t = pd.DataFrame({"variable": ["n", "age"], "smd": [float("nan"), 0.22893],
    ...                   "missing_blinatumomab": [0, 1]})
    >>> baseline_display(t).to_dict("list")
    {'variable': ['n', 'age'], 'SMD (tableone)': ['', '0.229'], 'missing (blinatumomab)': [0, 1]}
    """
    out = table.copy()
    if "smd" in out:
        out["smd"] = [f"{v:.3f}" if _finite(v) else "" for v in out["smd"]]
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


def mapping_table(columns: Sequence[str], mapping: Mapping) -> pd.DataFrame:
    """The editable table of the mapping editor: each file column and what it becomes.

    Examples
    --------
    >>> t = mapping_table(["PID", "age_years", "site"], Mapping(columns={"PID": "patient_id"}))
    >>> t.values.tolist()
    [['PID', 'patient_id'], ['age_years', 'age_years'], ['site', '(keep its name)']]
    """
    rows = []
    for col in columns:
        name = str(col)
        target = mapping.columns.get(name)
        if target is None:
            target = name if name in CANONICAL_COLUMNS else KEEP_NAME
        rows.append({"file column": name, "becomes": target})
    return pd.DataFrame(rows, columns=["file column", "becomes"])


def mapping_from_table(
    table: pd.DataFrame,
    base: Mapping,
    *,
    time_unit: str,
    mrd_unit: str,
    arm: str | None,
) -> Mapping:
    """Build the mapping the editor shows: column choices from ``table``, units and arm
    from the selectors, event codes and category spellings from ``base``.

    Per-column unit exceptions of ``base`` are kept while the unit stays the suggested
    one; choosing another unit applies it to every time (or MRD) column.

    Raises
    ------
    InputError
        Two file columns mapped to the same canonical column, or a bad unit or arm.

    Examples
    --------
    >>> t = pd.DataFrame({"file column": ["PID", "t"], "becomes": ["patient_id", "efs_months"]})
    >>> m = mapping_from_table(t, Mapping(), time_unit="days", mrd_unit="percent", arm=None)
    >>> m.columns, m.time_unit
    ({'PID': 'patient_id', 't': 'efs_months'}, 'days')
    """
    if time_unit not in TIME_UNITS:
        raise InputError(f"time unit must be one of {', '.join(TIME_UNITS)}")
    if mrd_unit not in MRD_UNITS:
        raise InputError(f"MRD unit must be one of {', '.join(MRD_UNITS)}")
    columns: dict[str, str] = {}
    for src, dst in zip(table["file column"], table["becomes"], strict=True):
        if dst is None or (isinstance(dst, float) and math.isnan(dst)):
            continue
        if str(dst) in (KEEP_NAME, "") or str(dst) == str(src):
            continue
        columns[str(src)] = str(dst)
    tu = time_unit
    mu = mrd_unit
    return Mapping(
        columns=columns,
        time_unit=tu,
        time_units=dict(base.time_units) if tu == base.time_unit else {},
        mrd_unit=mu,
        mrd_units=dict(base.mrd_units) if mu == base.mrd_unit else {},
        event_codes={k: dict(v) for k, v in base.event_codes.items()},
        categories={k: dict(v) for k, v in base.categories.items()},
        arm=arm or None,
        notes=base.notes,
    )

"""One pure function from (cohort, settings) to everything the app shows.

:func:`analyze` validates the cohort's analysis columns, derives subgroup
bands, fits the propensity model, matches, measures balance, and computes for
EFS and OS the Kaplan-Meier curves, at-risk tables, survival at the horizon,
medians, log-rank and Cox hazard ratios (cluster-robust within matched pairs,
Firth when an arm has no events), the MRD analysis, the subgroup forest, the
immortal-time comparison and the caliper sweep. Pages only render the returned
:class:`AnalysisResult`; the report, the slides and the command line read the
same object, so their numbers are the app's.

Everything charted is aggregated (counts per time, per bin, per group): no
patient-level rows are needed to draw a chart.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import special

from blinastudy import __version__
from blinastudy.analysis.baseline import baseline_table
from blinastudy.analysis.results import (
    ARMS,
    CAUSE,
    COMPETING,
    ENDPOINTS,
    FILE_ROW,
    OUTCOME_COLUMNS,
    PAIR,
    PARTS,
    PATIENT,
    REQUIRED,
    TREATED,
    WEIGHT,
    AnalysisResult,
    CompetingResult,
    EndpointResult,
    MatchingSummary,
    MrdResult,
    Notice,
    SampleDesign,
    WeightingResult,
)
from blinastudy.analysis.settings import MatchingSettings, Settings
from blinastudy.analysis.stepcache import StepCache
from blinastudy.core._threads import single_blas_thread
from blinastudy.core.errors import InputError
from blinastudy.core.validate import (
    as_durations,
    as_events,
    describe_entries,
    require_columns,
    require_finite,
    require_frame,
)
from blinastudy.data.cohort import content_hash
from blinastudy.data.eligibility import Eligibility, EligibilityFlow, apply_eligibility
from blinastudy.data.mrd_text import MRD_BELOW_COLUMNS, mrd_class
from blinastudy.data.schema import label
from blinastudy.data.table import RowNumbers, as_file_rows
from blinastudy.stats.balance import effective_sample_size
from blinastudy.stats.bootstrap import BootstrapResult, cluster_bootstrap
from blinastudy.stats.matching import MatchResult, PropensityModel, balance, fit_propensity, match
from blinastudy.stats.model_checks import (
    PH_ALPHA,
    PhCheck,
    RmstComparison,
    ph_check,
    rmst_comparison,
)
from blinastudy.stats.sensitivity import e_value
from blinastudy.stats.subgroups import MISSING_LEVEL, forest
from blinastudy.stats.subgroups import OVERALL as OVERALL_ROW
from blinastudy.stats.survival import (
    COX_COLUMNS,
    CoxFit,
    LogRankResult,
    cox_fit,
    design_matrix,
    kaplan_meier,
    logrank,
    median_survival,
    survival_at,
    survival_at_replicates,
)
from blinastudy.stats.survival.coxph import firth_replicates
from blinastudy.stats.survival.cuminc import (
    GrayTest,
    cumulative_incidence,
    gray_test,
    incidence_at_replicates,
)
from blinastudy.stats.survival.cutpoint import CutpointResult, cutpoint
from blinastudy.stats.survival.finegray import fine_gray
from blinastudy.stats.timedep import TimeDependentResult, time_dependent_exposure
from blinastudy.stats.weighting import propensity_weights

__all__ = [
    "BASELINE_EXTRA",
    "IMMORTAL_ANALYSES",
    "MRD_COLUMNS",
    "MRD_MISSING",
    "MRD_UNDETERMINED",
    "PARTS",
    "STEPS",
    "TD_COUNTS",
    "CompleteCases",
    "EligiblePool",
    "StudyPopulation",
    "analyze",
    "applicable_eligibility",
    "austin_cafri",
    "baseline_variables",
    "caliper_sweep",
    "cause_codes",
    "cohort_hash",
    "competing_results",
    "complete_cases",
    "derive_columns",
    "effect_estimates",
    "eligible_pool",
    "endpoint_result",
    "forest_result",
    "matched_efs_hazard_ratio",
    "matched_sample",
    "matching_balance",
    "matching_pool",
    "missing_outcome",
    "mrd_groups",
    "mrd_label",
    "mrd_result",
    "patient_flow",
    "prepare_cohort",
    "propensity_model",
    "propensity_warnings",
    "run_matching",
    "study_population",
    "sweep_result",
    "weighting_result",
    "with_current_columns",
]


def matched_sample(res: MatchResult) -> tuple[pd.DataFrame, pd.DataFrame | None, SampleDesign]:
    """The matched sample as the survival analysis uses it.

    Returns one row per matched patient (MatchIt's ``match.data()``, with the
    matching weights in ``weight`` and the matched set in ``pair``), the rows per use
    of a patient (``get_matches()``) when controls are reused (else ``None``), and
    the :class:`SampleDesign` saying how to analyse them.

    Examples
    --------
    >>> from blinastudy.data.demo import make_demo_cohort
    >>> from blinastudy.stats.matching import match
    >>> frame = prepare_cohort(make_demo_cohort(), Settings())
    >>> res = match(frame.dropna(subset=list(Settings().matching.covariates)), "_treated",
    ...             Settings().matching.covariates)
    >>> units, uses, design = matched_sample(res)
    >>> len(units), uses is None, design.strata, design.weights
    (180, True, 'pair', None)
    """
    replace_ = bool(res.settings.get("replace"))
    n_sets = res.n_pairs
    if replace_:
        uses = res.matched.copy()
        uses[PATIENT] = uses.index.astype(str)
        units = res.match_data.copy()
        units[PATIENT] = units.index.astype(str)
        return (
            units,
            uses,
            SampleDesign(
                cluster=PAIR,
                strata=None,
                resample=PAIR,
                weights=WEIGHT,
                reused=True,
                description=(
                    f"{n_sets} matched sets with reused controls: {len(units)} patients, "
                    f"{len(uses)} rows"
                ),
            ),
        )
    units = res.match_data.copy()
    units[PAIR] = units[PAIR].astype(np.int64)
    unequal = units[WEIGHT].nunique() > 1
    return (
        units,
        None,
        SampleDesign(
            cluster=PAIR,
            strata=PAIR,
            resample=PAIR,
            weights=WEIGHT if unequal else None,
            description=f"{n_sets} matched sets, {len(units)} patients",
        ),
    )


# ---------------------------------------------------------------------------
# cohort preparation


def cohort_hash(cohort: pd.DataFrame) -> str:
    """SHA-256 of the cohort's content: :func:`blinastudy.data.cohort.content_hash`.

    The one cohort hash of the package (the app's cache key, the stamp of every
    export, the reproduction script's check): stable across machines and pandas
    versions, versioned in its own first bytes.

    Examples
    --------
    >>> import pandas as pd
    >>> from blinastudy.data.cohort import content_hash
    >>> f = pd.DataFrame({"a": [1]})
    >>> len(cohort_hash(f)), cohort_hash(f) == content_hash(f)
    (64, True)
    """
    return content_hash(cohort)


def _band(
    values: pd.Series, cuts: list[float], labels: list[str], *, right: bool = False
) -> pd.Series:
    """Bands of ``values`` at ``cuts``; a value equal to a cut goes up (``right=False``)
    or down (``right=True``)."""
    out = pd.Series(
        pd.cut(values, bins=[-np.inf, *cuts, np.inf], labels=labels, right=right), dtype=object
    )
    out[values.isna()] = None
    return out


def mrd_label(threshold: float, side: str = "at_or_above") -> tuple[str, str]:
    """Labels of the low and high MRD groups at ``threshold`` percent.

    ``side`` says where a value equal to the threshold goes: ``"at_or_above"``
    (< vs ≥) or ``"above"`` (≤ vs >, as "MRD > 0.1 %" in the study).

    Examples
    --------
    >>> mrd_label(0.1)
    ('MRD < 0.1%', 'MRD ≥ 0.1%')
    >>> mrd_label(0.1, "above")
    ('MRD ≤ 0.1%', 'MRD > 0.1%')
    """
    text = f"{threshold:g}%"
    if side == "above":
        return f"MRD ≤ {text}", f"MRD > {text}"
    return f"MRD < {text}", f"MRD ≥ {text}"


def derive_columns(cohort: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Add the derived subgroup columns: ``mrd_group``, ``age_band``, ``wbc_band``.

    Bands: age < 10 vs >= 10 years (NCI), WBC < 50 vs >= 50 x10^9/L (NCI), MRD at
    the chosen time point below vs above the threshold (:func:`mrd_groups`). A
    missing value stays missing (shown as its own level in forests).

    Examples
    --------
    >>> import pandas as pd
    >>> from blinastudy.analysis.settings import Settings
    >>> f = pd.DataFrame({"age_years": [3.0, 12.0], "mrd_eoi_pct": [0.0, 0.5]})
    >>> derive_columns(f, Settings())["mrd_group"].tolist()
    ['MRD < 0.1%', 'MRD ≥ 0.1%']
    """
    out = cohort.copy()
    if "age_years" in out:
        out["age_band"] = _band(out["age_years"], [10.0], ["< 10 y", "≥ 10 y"])
    if "wbc_10e9_l" in out:
        out["wbc_band"] = _band(out["wbc_10e9_l"], [50.0], ["WBC < 50", "WBC ≥ 50"])
    if settings.mrd.column in out:
        groups = mrd_groups(out, settings.mrd.threshold_pct, settings)
        groups[groups == MRD_MISSING] = None
        out["mrd_group"] = pd.Series(groups, index=out.index, dtype=object)
    return out


#: MRD group labels besides the low and high groups of :func:`mrd_label`.
MRD_MISSING = "MRD missing"
MRD_UNDETERMINED = "MRD undetermined"


def mrd_groups(
    frame: pd.DataFrame, threshold: float, settings: Settings
) -> npt.NDArray[np.object_]:
    """Each patient's MRD group at ``threshold`` (time point and side from ``settings``).

    A result the laboratory reported as below its detection limit (the limit in the
    ``mrd_*_below`` column, the value blank) is low when the limit is at or below
    the threshold, and :data:`MRD_UNDETERMINED` when the limit is above it (the true
    value may lie on either side); no result is :data:`MRD_MISSING`.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"mrd_eoi_pct": [0.5, None, None, None],
    ...                   "mrd_eoi_below": [None, 0.01, 0.5, None]})
    >>> mrd_groups(f, 0.1, Settings()).tolist()
    ['MRD ≥ 0.1%', 'MRD < 0.1%', 'MRD undetermined', 'MRD missing']
    """
    mrd = settings.mrd
    values = frame[mrd.column].to_numpy(dtype=float)
    below = MRD_BELOW_COLUMNS[mrd.column]
    limits = frame[below].to_numpy(dtype=float) if below in frame else np.full(len(frame), np.nan)
    classes = mrd_class(values, limits, threshold, mrd.side)
    low, high = mrd_label(threshold, mrd.side)
    names = {"high": high, "low": low, "undetermined": MRD_UNDETERMINED, "missing": MRD_MISSING}
    return np.asarray([names[c] for c in classes], dtype=object)


def prepare_cohort(
    cohort: pd.DataFrame,
    settings: Settings,
    *,
    file_rows: RowNumbers | None = None,
) -> pd.DataFrame:
    """Check the analysis columns and return the working frame indexed by patient_id.

    Parameters
    ----------
    cohort : pandas.DataFrame
        A canonical cohort.
    settings : Settings
        The analysis settings.
    file_rows : sequence of int, optional
        The row of the user's file each patient of ``cohort`` is on (``rows`` of the
        :class:`~blinastudy.data.table.FileTable` from
        :func:`blinastudy.data.cohort.load_file`), kept in the ``file_row`` column so
        that excluded patients are listed with their row. Without it there is no such
        column.

    Raises
    ------
    InputError
        Missing required columns, duplicate or empty identifiers, bad times or
        event codes, an arm other than ``blinatumomab``/``chemotherapy``, a single
        arm, or ``file_rows`` not giving one row number per patient.

    Examples
    --------
    >>> from blinastudy.data.demo import make_demo_cohort
    >>> from blinastudy.analysis.settings import Settings
    >>> cohort = make_demo_cohort()
    >>> int(prepare_cohort(cohort, Settings())["_treated"].sum())
    90
    >>> rows = range(2, len(cohort) + 2)  # a file with its header on row 1
    >>> prepare_cohort(cohort, Settings(), file_rows=rows)["file_row"].tolist()[:3]
    [2, 3, 4]
    """
    cohort = require_frame(cohort, "cohort")
    rows = None if file_rows is None else as_file_rows(file_rows, len(cohort), "file_rows")
    require_columns(cohort, REQUIRED, what="cohort")
    ids = cohort["patient_id"]
    if ids.isna().any() or (ids.astype(str).str.strip() == "").any():
        raise InputError("cohort has an empty patient_id")
    dup = ids[ids.duplicated()]
    if len(dup):
        raise InputError(f"cohort has duplicate patient_id values: {', '.join(map(str, dup[:5]))}")
    arm = cohort["arm"].astype(str)
    bad = ~arm.isin(ARMS)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"arm must be 'blinatumomab' or 'chemotherapy'; patient {ids.iloc[i]!r} has {arm.iloc[i]!r}"
        )
    if arm.nunique() < 2:
        raise InputError(f"cohort has a single arm ({arm.iloc[0]}); both arms are needed")
    outcomes: dict[str, npt.NDArray[np.float64]] = {}
    for tcol, ecol, _ in ENDPOINTS.values():
        for col in (tcol, ecol):
            floats = _as_float(cohort[col].set_axis(pd.Index(ids.astype(str))))
            known = pd.Series(floats, index=pd.Index(ids.astype(str)))[~np.isnan(floats)]
            if len(known):  # missing values: excluded later, listed with the reason
                if col == tcol:
                    as_durations(known, name=f"column {col!r}")
                else:
                    as_events(known, name=f"column {col!r}")
            outcomes[col] = floats
    require_finite(cohort, [c for c in cohort.columns if c not in outcomes], what="cohort")
    for col in settings.matching.covariates:
        if col not in cohort.columns:
            raise InputError(
                f"matching covariate {col!r} is not a column of the cohort; "
                f"available: {', '.join(c for c in cohort.columns if c not in REQUIRED)}"
            )
    frame = derive_columns(cohort, settings)  # a copy: the caller's cohort is untouched
    frame.index = pd.Index(ids.astype(str), name="patient_id")
    for col, values in outcomes.items():
        frame[col] = values  # float, NaN where missing
    frame[TREATED] = (arm == ARMS[0]).astype(int).to_numpy()
    if rows is not None:
        frame[FILE_ROW] = rows.astype(object)
    return frame


def _as_float(values: pd.Series) -> npt.NDArray[np.float64]:
    """A numeric column as float with NaN for missing (nullable integers included);
    text that is not a number raises naming the patient."""
    try:
        return np.asarray(values.astype("float64").to_numpy(na_value=np.nan), dtype=np.float64)
    except (TypeError, ValueError):
        return np.asarray(as_durations(values, name=f"column {values.name!r}"), dtype=float)


def _exclusion_table(
    frame: pd.DataFrame, mask: npt.NDArray[np.bool_], reasons: list[str]
) -> pd.DataFrame:
    """Excluded patients: patient_id, arm, the file row where known, and the reason."""
    out = pd.DataFrame(
        {
            "patient_id": frame.index[mask],
            "arm": frame.loc[mask, "arm"].to_numpy(),
            "reason": reasons,
        }
    )
    if FILE_ROW in frame.columns:
        out.insert(1, FILE_ROW, frame.loc[mask, FILE_ROW].to_numpy())
    return out


def matching_pool(frame: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """The patients of a prepared frame who can be matched: eligible (``settings.eligibility``,
    criteria whose column the cohort lacks skipped), outcome and every matching covariate
    known (the others are listed by :func:`missing_outcome` and in
    ``AnalysisResult.excluded_from_matching`` and ``AnalysisResult.ineligible``).

    Examples
    --------
    >>> from blinastudy.data.demo import make_demo_cohort
    >>> cohort = make_demo_cohort()
    >>> cohort.loc[0, "efs_event"] = float("nan")
    >>> len(matching_pool(prepare_cohort(cohort, Settings()), Settings()))
    617
    """
    criteria, _ = applicable_eligibility(settings.eligibility, list(frame.columns))
    eligible, _ = apply_eligibility(frame, criteria)
    m = settings.matching
    needed = list(dict.fromkeys([*OUTCOME_COLUMNS, *m.covariates, *m.exact]))
    return frame.loc[eligible.to_numpy() & frame[needed].notna().all(axis=1).to_numpy()]


_CRITERION_COLUMNS = {
    "risk_groups": "risk_group",
    "age_low": "age_years",
    "cns_statuses": "cns_status",
    "excluded_subtypes": "genetic_subtype",
}


def applicable_eligibility(
    eligibility: Eligibility, columns: Sequence[str]
) -> tuple[Eligibility, list[str]]:
    """The criteria this cohort's columns allow, and the columns of those it does not.

    A criterion whose column the cohort lacks is dropped (and said, never silently:
    the caller warns with the returned column names).

    Examples
    --------
    >>> e = Eligibility(risk_groups=("IR", "HR"), cns_statuses=("CNS1",))
    >>> kept, skipped = applicable_eligibility(e, ["arm", "risk_group"])
    >>> kept.risk_groups, kept.cns_statuses, skipped
    (('IR', 'HR'), None, ['cns_status'])
    """
    cols = set(columns)
    changes: dict[str, Any] = {}
    skipped: list[str] = []
    for name, col in _CRITERION_COLUMNS.items():
        value = getattr(eligibility, name)
        active = value not in (None, ()) or (name == "age_low" and eligibility.age_high is not None)
        if active and col not in cols:
            skipped.append(col)
            changes[name] = () if name == "excluded_subtypes" else None
            if name == "age_low":
                changes["age_high"] = None
    ranged = eligibility.range_low is not None or eligibility.range_high is not None
    if ranged and eligibility.range_column not in cols:
        skipped.append(eligibility.range_column)
        changes.update(range_low=None, range_high=None)
    return replace(eligibility, **changes), skipped


def missing_outcome(frame: pd.DataFrame) -> pd.DataFrame:
    """Patients of a prepared frame without a complete outcome, with the columns missing.

    Examples
    --------
    >>> import pandas as pd
    >>> from blinastudy.data.demo import make_demo_cohort
    >>> cohort = make_demo_cohort()
    >>> cohort.loc[0, "os_months"] = float("nan")
    >>> missing_outcome(prepare_cohort(cohort, Settings()))[["patient_id", "reason"]].values.tolist()
    [['BLN-001', 'missing os_months']]
    """
    cols = list(OUTCOME_COLUMNS)
    miss = frame[cols].isna().to_numpy()
    mask: npt.NDArray[np.bool_] = np.asarray(miss.any(axis=1), dtype=bool)
    reasons = [
        "missing " + ", ".join(c for c, m in zip(cols, row, strict=True) if m) for row in miss[mask]
    ]
    return _exclusion_table(frame, mask, reasons)


# ---------------------------------------------------------------------------
# result types


def _ticks(max_time: float) -> list[float]:
    step = 6.0 if max_time <= 72 else 12.0
    return [float(x) for x in np.arange(0.0, max_time + 1e-9, step)]


def _curve_points(km: pd.DataFrame) -> dict[str, np.ndarray]:
    """Step-curve points starting at (0, 1), with CI filled where R gives NA at S = 1."""
    surv = km["survival"].to_numpy()
    lo = km["ci_lower"].to_numpy()
    hi = km["ci_upper"].to_numpy()
    lo = np.where(np.isnan(lo) & (surv == 1), 1.0, lo)
    hi = np.where(np.isnan(hi) & (surv == 1), 1.0, hi)
    return {
        "time": np.r_[0.0, km["time"].to_numpy()],
        "survival": np.r_[1.0, surv],
        "ci_lower": np.r_[1.0, lo],
        "ci_upper": np.r_[1.0, hi],
    }


def _stack(parts: list[tuple[str, dict[str, np.ndarray]]], columns: list[str]) -> pd.DataFrame:
    """One frame from per-arm column arrays (an ``arm`` column first)."""
    if not parts:
        return pd.DataFrame(columns=["arm", *columns])
    data: dict[str, Any] = {
        "arm": np.concatenate(
            [np.full(len(cols[columns[0]]), arm, dtype=object) for arm, cols in parts]
        )
    }
    for col in columns:
        data[col] = np.concatenate([cols[col] for _, cols in parts])
    return pd.DataFrame(data)


def _risk_table(t: np.ndarray, e: np.ndarray, ticks: list[float]) -> dict[str, np.ndarray]:
    """At risk (T >= tick), and events and censorings up to each tick (KMunicate)."""
    tk = np.asarray(ticks, dtype=float)
    ts = np.sort(t)
    te = np.sort(t[e == 1])
    tc = np.sort(t[e == 0])
    return {
        "time": tk,
        "at_risk": (t.size - np.searchsorted(ts, tk, side="left")).astype(np.int64),
        "events": np.searchsorted(te, tk, side="right").astype(np.int64),
        "censored": np.where(tk > 0, np.searchsorted(tc, tk, side="right"), 0).astype(np.int64),
    }


def _landmark(
    data: pd.DataFrame, tcol: str, ecol: str, settings: Settings
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows still event-free (and, if treated, on blinatumomab) at the landmark, with times
    from the landmark; and the excluded patients with the reason."""
    lm = settings.landmark_months
    before = data[tcol] <= lm
    not_started = pd.Series(False, index=data.index)
    if "blina_start_months" in data:
        not_started = (data[TREATED] == 1) & (
            data["blina_start_months"].isna() | (data["blina_start_months"] > lm)
        )
    reason = np.where(
        before & (data[ecol] == 1),
        f"event at or before the {lm:g}-month landmark",
        np.where(
            before,
            f"follow-up ended at or before the {lm:g}-month landmark",
            f"blinatumomab not started by the {lm:g}-month landmark",
        ),
    )
    drop = (before | not_started).to_numpy()
    excluded = pd.DataFrame(
        {
            "patient_id": data.index[drop],
            "arm": data.loc[drop, "arm"].to_numpy(),
            "reason": reason[drop],
        }
    ).drop_duplicates("patient_id")
    kept = data.loc[~drop].copy()
    kept[tcol] = kept[tcol] - lm
    return kept, excluded


def _endpoint(
    frame: pd.DataFrame,
    key: str,
    settings: Settings,
    *,
    origin: str,
    design: SampleDesign,
    full: bool = True,
    replicates: int = 0,
    uses: pd.DataFrame | None = None,
    population: str = "",
) -> EndpointResult:
    """Survival comparison for one endpoint; ``full=False``: counts and hazard ratio only.

    ``frame`` has one row per patient; with reused controls ``uses`` has one row per
    use (``get_matches()``), where the hazard ratio and the bootstrap are computed.
    ``replicates`` > 0 adds the pair-bootstrap intervals on matched samples.
    """
    tcol, ecol, label = ENDPOINTS[key]
    data = frame
    excluded = pd.DataFrame(columns=["patient_id", "arm", "reason"])
    if origin == "landmark":
        data, excluded = _landmark(data, tcol, ecol, settings)
        if uses is not None:
            uses, _ = _landmark(uses, tcol, ecol, settings)
    kms: dict[str, pd.DataFrame] = {}
    curves: list[tuple[str, dict[str, np.ndarray]]] = []
    marks: list[tuple[str, dict[str, np.ndarray]]] = []
    risks: list[tuple[str, dict[str, np.ndarray]]] = []
    horizon: list[dict[str, Any]] = []
    medians: list[dict[str, Any]] = []
    n: dict[str, int] = {}
    events: dict[str, int] = {}
    t_all = data[tcol].to_numpy(dtype=float)
    e_all = data[ecol].to_numpy(dtype=float).astype(int)
    treated = data[TREATED].to_numpy(dtype=float)
    w_all = None if design.weights is None else data[design.weights].to_numpy(dtype=float)
    max_time = float(t_all.max()) if t_all.size else 0.0
    ticks = _ticks(max_time)
    at_h: dict[str, Any] = {}
    for arm, flag in zip(ARMS, (1.0, 0.0), strict=True):
        sel = treated == flag
        t, e = t_all[sel], e_all[sel]
        n[arm] = int(sel.sum())
        events[arm] = int(e.sum())
        if t.size == 0 or not full:
            continue
        km = kaplan_meier(
            t,
            e,
            weights=None if w_all is None else w_all[sel],
            conf_level=settings.conf_level,
            conf_type=settings.conf_type,
        )
        kms[arm] = km
        curves.append((arm, _curve_points(km)))
        # censoring marks and the KMunicate table count patients, also when weighted
        censored_at = pd.Series(1 - e).groupby(t).sum()
        at_times = censored_at.reindex(km["time"].to_numpy(), fill_value=0).to_numpy()
        cens = at_times > 0
        marks.append(
            (
                arm,
                {
                    "time": km["time"].to_numpy()[cens],
                    "survival": km["survival"].to_numpy()[cens],
                    "n_censored": at_times[cens].astype(np.int64),
                },
            )
        )
        risks.append((arm, _risk_table(t, e, ticks)))
        s = survival_at(km, settings.horizon_months)
        at_h[arm] = s
        horizon.append(
            {
                "arm": arm,
                "time": s.time,
                "survival": s.survival,
                "ci_lower": s.ci_lower,
                "ci_upper": s.ci_upper,
                "std_err": s.std_err,
                "n_at_risk": s.n_at_risk,
            }
        )
        med = median_survival(km)
        medians.append(
            {"arm": arm, "median": med.quantile, "ci_lower": med.ci_lower, "ci_upper": med.ci_upper}
        )
    horizon_note = ""
    horizon_max = float("nan")
    if full and kms and all(a in kms for a in ARMS):
        last = {a: float(kms[a]["time"].max()) for a in ARMS}
        horizon_max = float(np.floor(min(last.values())))
        short = [a for a in ARMS if settings.horizon_months > last[a]]
        if short:
            origin_text = "diagnosis" if origin == "diagnosis" else "the landmark"
            horizon_note = (
                f"No {' or '.join(short)} patient is followed to {settings.horizon_months:g} "
                f"months after {origin_text} (last follow-up "
                + ", ".join(f"{a} {last[a]:.1f}" for a in short)
                + f" months), so survival there is not estimated; the latest whole month with "
                f"both arms under follow-up is {horizon_max:g}."
            )
    # the rows of the hazard ratio and the bootstrap: per use when controls are reused
    rows = data if uses is None else uses
    tr = rows[tcol].to_numpy(dtype=float)
    er = rows[ecol].to_numpy(dtype=float).astype(int)
    xr = rows[TREATED].to_numpy(dtype=float)
    wr = None if design.weights is None else rows[design.weights].to_numpy(dtype=float)
    z = float(special.ndtri(1 - (1 - settings.conf_level) / 2))
    diff = {"estimate": np.nan, "ci_lower": np.nan, "ci_upper": np.nan}
    diff_method = ""
    diff_boot: BootstrapResult | None = None
    notes: list[str] = []
    if all(a in at_h for a in ARMS):
        s1, s0 = at_h[ARMS[0]], at_h[ARMS[1]]
        est = s1.survival - s0.survival
        se = float(np.sqrt(s1.std_err**2 + s0.std_err**2))
        # standard errors of independent arms; an interval for a difference of two
        # probabilities cannot leave [-1, 1]
        diff = {
            "estimate": est,
            "ci_lower": max(est - z * se, -1.0),
            "ci_upper": min(est + z * se, 1.0),
        }
        diff_method = "normal approximation, standard errors of independent arms"
        if design.resample is not None and replicates > 0 and np.isfinite(est):
            diff_boot = cluster_bootstrap(
                None,
                rows[design.resample].to_numpy(),
                batch=_difference_at(tr, er, xr, wr, settings.horizon_months),
                replicates=replicates,
                random_state=settings.bootstrap.random_state,
                conf_level=settings.conf_level,
            )
            diff = {"estimate": est, "ci_lower": diff_boot.ci_lower, "ci_upper": diff_boot.ci_upper}
            diff_method = diff_boot.method
    both = all(n[a] > 0 for a in ARMS)
    lr = lr_plain = lr_strat = None
    lr_label = ""
    hr_boot: BootstrapResult | None = None
    hr = pd.DataFrame(columns=COX_COLUMNS)
    ph: PhCheck | None = None
    rmst: RmstComparison | None = None
    if full and both:
        rmst = rmst_comparison(
            tr,
            er,
            xr,
            settings.horizon_months,
            weights=wr,
            resample=None if design.resample is None else rows[design.resample].to_numpy(),
            replicates=replicates,
            random_state=settings.bootstrap.random_state,
            conf_level=settings.conf_level,
        )
    if both and e_all.sum() > 0:
        lr_plain, lr_strat = _logranks(t_all, e_all, treated, data, design, notes)
        lr, lr_label = _chosen_logrank(settings, lr_plain, lr_strat, design)
        fit = _hazard_ratio(xr, tr, er, wr, rows, design, settings.conf_level)
        varying = wr is not None and np.ptp(wr) > 0
        ph = ph_check(rows, tcol, ecol, [TREATED], weights=design.weights if varying else None)
        hr = fit.table()
        hr.index = pd.Index(["blinatumomab vs chemotherapy"], name="comparison")
        if fit.method == "not estimable" and fit.note:
            notes.append(f"Hazard ratio not estimable: {fit.note}.")
        if fit.method == "firth" and design.matched:
            notes.append(
                "Firth's penalised estimate (an arm has no events): its profile-likelihood "
                "interval does not account for the pairing; the pair-bootstrap interval beside "
                "it does."
            )
            if any(events[a] == 0 for a in ARMS):
                notes.append(
                    "With no events in an arm, every bootstrap replicate has none there either: "
                    "the bootstrap interval cannot show how little that arm's zero tells us. "
                    "Read it beside the profile interval, not instead of it."
                )
            if full and replicates > 0 and design.resample is not None:
                hr_boot = cluster_bootstrap(
                    None,
                    rows[design.resample].to_numpy(),
                    batch=_firth_hr(xr, tr, er),
                    replicates=replicates,
                    random_state=settings.bootstrap.random_state,
                    conf_level=settings.conf_level,
                )
    return EndpointResult(
        endpoint=key,
        label=label,
        origin=origin if origin == "diagnosis" else f"landmark {settings.landmark_months:g} months",
        n=n,
        events=events,
        km=kms,
        curve=_stack(curves, ["time", "survival", "ci_lower", "ci_upper"]),
        censor_marks=_stack(marks, ["time", "survival", "n_censored"]),
        risk_table=_stack(risks, ["time", "at_risk", "events", "censored"]),
        at_horizon=pd.DataFrame(horizon),
        difference=diff,
        medians=pd.DataFrame(medians),
        logrank=lr,
        hazard_ratio=hr,
        excluded=excluded,
        logrank_plain=lr_plain,
        logrank_stratified=lr_strat,
        logrank_label=lr_label,
        difference_method=diff_method,
        difference_bootstrap=diff_boot,
        hazard_ratio_bootstrap=hr_boot,
        notes=notes,
        horizon_note=horizon_note,
        horizon_max=horizon_max,
        population=population or design.description,
        ph=ph,
        rmst=rmst,
    )


def _logranks(
    t: npt.NDArray[np.float64],
    e: npt.NDArray[np.int64],
    treated: npt.NDArray[np.float64],
    data: pd.DataFrame,
    design: SampleDesign,
    notes: list[str],
) -> tuple[LogRankResult | None, LogRankResult | None]:
    """The plain log-rank test and, for matched sets, the one stratified by set (``None``
    where undefined, with a note)."""
    tests: list[LogRankResult | None] = []
    for strata in (None, design.strata):
        if strata is None and tests:
            tests.append(None)
            continue
        try:
            tests.append(
                logrank(t, e, treated, strata=None if strata is None else data[strata].to_numpy())
            )
        except InputError as exc:
            notes.append(f"Log-rank test not computed: {exc}.")
            tests.append(None)
    return tests[0], tests[1]


def _hazard_ratio(
    x: npt.NDArray[np.float64],
    t: npt.NDArray[np.float64],
    e: npt.NDArray[np.int64],
    w: npt.NDArray[np.float64] | None,
    rows: pd.DataFrame,
    design: SampleDesign,
    conf_level: float,
) -> CoxFit:
    """The Cox model of the arm: robust on matched sets, weighted when the matching
    weights differ, and with Austin and Cafri's variance when controls are reused."""
    clusters = None if design.cluster is None else rows[design.cluster].to_numpy()
    if w is not None and np.ptp(w) == 0:
        w = None  # equal weights (1:1 with reuse): unweighted, so Firth stays available
    fit = cox_fit(x, t, e, names=[TREATED], weights=w, cluster=clusters, conf_level=conf_level)
    if not design.reused or fit.method != "ml-robust":
        return fit
    return austin_cafri(fit, x, t, e, w, clusters, rows.index.to_numpy(), conf_level)


def austin_cafri(
    fit: CoxFit,
    x: Any,
    durations: Any,
    events: Any,
    weights: Any,
    sets: Any,
    patients: Any,
    conf_level: float = 0.95,
) -> CoxFit:
    """Hazard ratio after matching with replacement, with Austin and Cafri's variance.

    ``fit`` is ``coxph(Surv(t, e) ~ treat, weights = w, cluster = subclass)`` on
    one row per use of a unit (MatchIt's ``get_matches()``). The variance clusters
    on matched set and on patient at once (Austin & Cafri 2020, as the MatchIt
    vignette on estimating effects computes it)::

        V = ks/(ks - 1) V_set + ki/(ki - 1) V_patient - kc/(kc - 1) V_row

    with ``k`` the numbers of sets, patients and rows and each ``V`` the robust
    variance clustered that way. A ``V`` that is not positive is reported as not
    estimable.

    Examples
    --------
    >>> import numpy as np
    >>> from blinastudy.stats.survival import cox_fit
    >>> x = np.array([1, 0, 1, 0, 1, 0, 1, 0], dtype=float)
    >>> t = np.array([5, 3, 8, 2, 9, 4, 7, 3.5]); e = np.array([1, 1, 0, 1, 1, 1, 0, 1])
    >>> sets = np.array([1, 1, 2, 2, 3, 3, 4, 4]); ids = np.array(list("ABCDEFGD"))
    >>> fit = cox_fit(x, t, e, cluster=sets)
    >>> ac = austin_cafri(fit, x, t, e, None, sets, ids)
    >>> bool(ac.coef[0] == fit.coef[0]), bool(ac.se[0] > 0)
    (True, True)
    """
    kinds = []
    for groups in (sets, patients, None):
        one = cox_fit(
            x,
            durations,
            events,
            weights=weights,
            cluster=groups,
            robust=True,
            conf_level=conf_level,
        )
        k = len(np.unique(np.asarray(groups, dtype=str))) if groups is not None else one.n
        kinds.append((one.var, k))
    var = sum(sign * k / (k - 1) * v for sign, (v, k) in zip((1.0, 1.0, -1.0), kinds, strict=True))
    se = np.sqrt(np.where(np.diag(var) > 0, np.diag(var), np.nan))
    z = float(special.ndtri(1 - (1 - conf_level) / 2))
    with np.errstate(invalid="ignore"):
        p = 2 * special.ndtr(-np.abs(fit.coef / se))
    ok = bool(np.all(np.isfinite(se)))
    return replace(
        fit,
        var=np.asarray(var, dtype=np.float64),
        se=se,
        ci_lower=fit.coef - z * se,
        ci_upper=fit.coef + z * se,
        p_value=p,
        method="ml-robust" if ok else "not estimable",
        estimable=fit.estimable & np.isfinite(se),
        note="" if ok else "Austin and Cafri's variance is not positive",
    )


def cause_codes(frame: pd.DataFrame, key: str, settings: Settings) -> npt.NDArray[np.int64]:
    """Competing-risks coding of each patient's first EFS event for endpoint ``key``:
    0 censored (no EFS event), 1 the cause of interest, 2 a competing event.

    Raises
    ------
    InputError
        No ``event_type`` column, or an EFS event whose type is missing (named).

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"efs_event": [0, 1, 1, 1],
    ...                   "event_type": ["none", "relapse", "death-in-remission",
    ...                                  "induction-failure"]})
    >>> cause_codes(f, "cir", Settings()).tolist()
    [0, 1, 2, 2]
    >>> cause_codes(f, "cir", Settings(relapse_includes_induction_failure=True)).tolist()
    [0, 1, 2, 1]
    """
    if "event_type" not in frame.columns:
        raise InputError(
            "the cohort has no event_type column, so relapse cannot be told from death in "
            "remission: cumulative incidence needs the type of each first EFS event"
        )
    interest: tuple[str, ...] = COMPETING[key][1]
    if key == "cir" and settings.relapse_includes_induction_failure:
        interest = (*interest, "induction-failure")
    kinds = frame["event_type"].to_numpy(dtype=object)
    event = frame["efs_event"].to_numpy(dtype=float) == 1
    unknown = event & pd.isna(kinds)
    if unknown.any():
        raise InputError(
            "event_type is missing for an EFS event at "
            + describe_entries(None, unknown, list(frame.index))
        )
    codes = np.where(event, np.where(np.isin(kinds, interest), 1, 2), 0)
    return np.asarray(codes, dtype=np.int64)


def _competing(
    frame: pd.DataFrame,
    key: str,
    settings: Settings,
    *,
    design: SampleDesign,
    population: str,
    replicates: int = 0,
    uses: pd.DataFrame | None = None,
) -> CompetingResult:
    """Cumulative incidence, Gray's test, Fine-Gray and the cause-specific hazard ratio."""
    label, _ = COMPETING[key]
    t_all = frame["efs_months"].to_numpy(dtype=float)
    c_all = cause_codes(frame, key, settings)
    treated = frame[TREATED].to_numpy(dtype=float)
    notes: list[str] = []
    if design.weights is not None:
        notes.append(
            "The cumulative incidence curves, Gray's test and Fine-Gray are unweighted "
            "(R's cmprsk takes no weights); the cause-specific hazard ratio uses the matching "
            "weights."
        )
    curves: list[tuple[str, dict[str, np.ndarray]]] = []
    risks: list[tuple[str, dict[str, np.ndarray]]] = []
    horizon: list[dict[str, Any]] = []
    n: dict[str, int] = {}
    events: dict[str, int] = {}
    competing: dict[str, int] = {}
    at_h: dict[str, tuple[float, float]] = {}
    one_minus_km: dict[str, float] = {}
    ticks = _ticks(float(t_all.max()) if t_all.size else 0.0)
    for arm, flag in zip(ARMS, (1.0, 0.0), strict=True):
        sel = treated == flag
        t, c = t_all[sel], c_all[sel]
        n[arm], events[arm], competing[arm] = (
            int(sel.sum()),
            int((c == 1).sum()),
            int((c == 2).sum()),
        )
        if t.size == 0:
            continue
        for cause, name in ((1, "interest"), (2, "competing")):
            if cause == 2 and competing[arm] == 0:
                continue
            table = (
                cumulative_incidence(t, c, cause=cause, conf_level=settings.conf_level)
                if (c == cause).any()
                else None
            )
            if table is None:
                pts = {"time": np.array([0.0]), "incidence": np.array([0.0])}
                pts.update(ci_lower=np.array([0.0]), ci_upper=np.array([0.0]))
            else:
                pts = {
                    "time": np.r_[0.0, table["time"].to_numpy()],
                    "incidence": np.r_[0.0, table["incidence"].to_numpy()],
                    "ci_lower": np.r_[0.0, table["ci_lower"].to_numpy()],
                    "ci_upper": np.r_[0.0, table["ci_upper"].to_numpy()],
                }
            pts["cause"] = np.full(pts["time"].size, name, dtype=object)
            curves.append((arm, pts))
            if cause == 1:
                at_h[arm] = _incidence_at(table, settings.horizon_months, float(t.max()))
        tk = np.asarray(ticks, dtype=float)
        risks.append(
            (
                arm,
                {
                    "time": tk,
                    "at_risk": (t[None, :] >= tk[:, None]).sum(axis=1).astype(np.int64),
                    "events": ((t[None, :] <= tk[:, None]) & (c == 1)).sum(axis=1).astype(np.int64),
                    "competing": ((t[None, :] <= tk[:, None]) & (c == 2))
                    .sum(axis=1)
                    .astype(np.int64),
                    "censored": ((t[None, :] <= tk[:, None]) & (c == 0) & (tk[:, None] > 0))
                    .sum(axis=1)
                    .astype(np.int64),
                },
            )
        )
        naive = survival_at(kaplan_meier(t, (c == 1).astype(int)), settings.horizon_months)
        one_minus_km[arm] = 1.0 - naive.survival
        value, var = at_h.get(arm, (np.nan, np.nan))
        lo, hi = _loglog_limits(value, var, settings.conf_level)
        horizon.append(
            {
                "arm": arm,
                "time": settings.horizon_months,
                "incidence": value,
                "variance": var,
                "ci_lower": lo,
                "ci_upper": hi,
            }
        )
    z = float(special.ndtri(1 - (1 - settings.conf_level) / 2))
    diff = {"estimate": np.nan, "ci_lower": np.nan, "ci_upper": np.nan}
    method = ""
    if all(a in at_h for a in ARMS):
        (f1, v1), (f0, v0) = at_h[ARMS[0]], at_h[ARMS[1]]
        est = f1 - f0
        se = float(np.sqrt(v1 + v0))
        diff = {
            "estimate": est,
            "ci_lower": max(est - z * se, -1.0),
            "ci_upper": min(est + z * se, 1.0),
        }
        method = "normal approximation, Aalen-Johansen variances of independent arms"
        rows = frame if uses is None else uses
        if design.resample is not None and replicates > 0 and np.isfinite(est):
            boot = cluster_bootstrap(
                None,
                rows[design.resample].to_numpy(),
                batch=_incidence_difference(
                    rows["efs_months"].to_numpy(dtype=float),
                    cause_codes(rows, key, settings),
                    rows[TREATED].to_numpy(dtype=float),
                    settings.horizon_months,
                ),
                replicates=replicates,
                random_state=settings.bootstrap.random_state,
                conf_level=settings.conf_level,
            )
            diff = {"estimate": est, "ci_lower": boot.ci_lower, "ci_upper": boot.ci_upper}
            method = boot.method
    gray: GrayTest | None = None
    ph: PhCheck | None = None
    fg = pd.DataFrame(columns=["shr", "ci_lower", "ci_upper", "se", "p_value", "method"])
    cs = pd.DataFrame(columns=COX_COLUMNS)
    if all(n[a] > 0 for a in ARMS) and (c_all == 1).any():
        gray = gray_test(t_all, c_all, treated, cause=1)
        if design.matched:
            notes.append(
                "Gray's test and Fine-Gray regard patients as independent (cmprsk has no "
                "clusters); the cause-specific hazard ratio is robust to the matched sets."
            )
        fg = fine_gray(
            pd.DataFrame({"t": t_all, "c": c_all, TREATED: treated}, index=frame.index),
            "t",
            "c",
            [TREATED],
            cause=1,
            conf_level=settings.conf_level,
        )
        fg.index = pd.Index(["blinatumomab vs chemotherapy"], name="comparison")
        rows = frame if uses is None else uses
        cause1 = (cause_codes(rows, key, settings) == 1).astype(int)
        fit = _hazard_ratio(
            rows[TREATED].to_numpy(dtype=float),
            rows["efs_months"].to_numpy(dtype=float),
            cause1,
            None if design.weights is None else rows[design.weights].to_numpy(dtype=float),
            rows,
            design,
            settings.conf_level,
        )
        cs = fit.table()
        cs.index = pd.Index(["blinatumomab vs chemotherapy"], name="comparison")
        varying = design.weights is not None and rows[design.weights].nunique() > 1
        ph = ph_check(
            rows.assign(**{CAUSE: cause1}),
            "efs_months",
            CAUSE,
            [TREATED],
            weights=design.weights if varying else None,
        )
        if fit.method == "not estimable" and fit.note:
            notes.append(f"Cause-specific hazard ratio not estimable: {fit.note}.")
    return CompetingResult(
        endpoint=key,
        label=label,
        origin="diagnosis",
        population=population,
        n=n,
        events=events,
        competing=competing,
        curve=_stack(curves, ["time", "incidence", "ci_lower", "ci_upper", "cause"]),
        risk_table=_stack(risks, ["time", "at_risk", "events", "competing", "censored"]),
        at_horizon=pd.DataFrame(horizon),
        difference=diff,
        difference_method=method,
        gray=gray,
        fine_gray=fg,
        cause_specific=cs,
        notes=notes,
        one_minus_km=one_minus_km,
        ph=ph,
    )


def _with_competing_counts(
    table: pd.DataFrame, pop: pd.DataFrame, key: str, settings: Settings
) -> pd.DataFrame:
    """Forest rows with the competing events per arm (``competing_treated``,
    ``competing_control``) beside the events of the cause."""
    codes = cause_codes(pop, key, settings)
    treated = pop[TREATED].to_numpy() == 1
    counts: dict[str, list[int]] = {"competing_treated": [], "competing_control": []}
    for row in table.to_dict("records"):
        if row["variable"] == OVERALL_ROW:
            sel = np.ones(len(pop), dtype=bool)
        else:
            values = pop[row["variable"]].to_numpy(dtype=object)
            sel = (
                pd.isna(values)
                if row["level"] == MISSING_LEVEL
                else values.astype(str) == str(row["level"])
            )
        counts["competing_treated"].append(int(((codes == 2) & sel & treated).sum()))
        counts["competing_control"].append(int(((codes == 2) & sel & ~treated).sum()))
    return table.assign(**counts)


def _incidence_at(table: pd.DataFrame | None, time: float, last: float) -> tuple[float, float]:
    """Incidence and its variance at ``time`` from a cumulative-incidence table (0 before
    the first event, NaN beyond the last follow-up)."""
    if time > last:
        return float("nan"), float("nan")
    if table is None:
        return 0.0, 0.0
    i = int(np.searchsorted(table["time"].to_numpy(), time, side="right")) - 1
    if i < 0:
        return 0.0, 0.0
    return float(table["incidence"].iloc[i]), float(table["variance"].iloc[i])


def _loglog_limits(value: float, variance: float, conf_level: float) -> tuple[float, float]:
    """The log(-log) interval of :func:`~blinastudy.stats.survival.cumulative_incidence`."""
    if not np.isfinite(value):
        return float("nan"), float("nan")
    if value <= 0 or value >= 1:
        return value, value
    z = float(special.ndtri(1 - (1 - conf_level) / 2))
    s = np.sqrt(variance) / (value * abs(np.log(value)))
    return float(value ** np.exp(z * s)), float(value ** np.exp(-z * s))


def _incidence_difference(
    t: npt.NDArray[np.float64],
    codes: npt.NDArray[np.int64],
    treated: npt.NDArray[np.float64],
    at: float,
) -> Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]]:
    """Batch statistic for the bootstrap: cumulative incidence of cause 1 at ``at``,
    blinatumomab minus chemotherapy."""
    arms = [treated == 1.0, treated == 0.0]

    def statistic(counts: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        f1, f0 = (incidence_at_replicates(t[a], codes[a], counts[:, a], at) for a in arms)
        return np.asarray(f1 - f0, dtype=np.float64)

    return statistic


def weighting_result(complete: pd.DataFrame, settings: Settings) -> WeightingResult:
    """Propensity-score weights of the matching pool, their balance and effective size.

    Examples
    --------
    >>> from blinastudy.data.demo import make_demo_cohort
    >>> s = Settings()
    >>> w = weighting_result(matching_pool(prepare_cohort(make_demo_cohort(), s), s), s)
    >>> w.estimand, bool((w.weights[w.weights.index.str.startswith("BLN")] == 1).all())
    ('ATT', True)
    """
    ws = settings.weighting
    m = settings.matching
    weights = propensity_weights(
        complete, TREATED, m.covariates, estimand=ws.estimand, stabilize=ws.stabilize, trim=ws.trim
    )
    treated = complete[TREATED].to_numpy() == 1
    bal = balance(complete, TREATED, m.covariates, weights=weights, estimand=ws.estimand)
    ess = effective_sample_size(complete[TREATED], weights)
    rows = []
    for arm, sel in (("blinatumomab", treated), ("chemotherapy", ~treated)):
        w = weights.to_numpy()[sel]
        q = np.quantile(w, [0.0, 0.25, 0.5, 0.75, 0.99, 1.0]) if w.size else [np.nan] * 6
        rows.append(
            {
                "arm": arm,
                "n": int(sel.sum()),
                "ess": ess["treated" if arm == ARMS[0] else "control"],
                "sum": float(w.sum()),
                "min": q[0],
                "q25": q[1],
                "median": q[2],
                "q75": q[3],
                "q99": q[4],
                "max": q[5],
            }
        )
    largest = (
        pd.DataFrame(
            {
                "patient_id": complete.index,
                "arm": complete["arm"].to_numpy(),
                "weight": weights.to_numpy(),
            }
        )
        .sort_values("weight", ascending=False, kind="stable")
        .head(10)
        .reset_index(drop=True)
    )
    notes = []
    top = float(weights.max())
    share = float(largest["weight"].iloc[0] / weights[~treated].sum()) if (~treated).any() else 0.0
    if top > 10 or share > 0.1:
        notes.append(
            f"Extreme weights: the largest is {top:.3g} and carries {share:.0%} of its arm's "
            "weight; estimates lean on a few patients (consider trimming or overlap weights)."
        )
    for arm, key in (("blinatumomab", "treated"), ("chemotherapy", "control")):
        n_arm = int((treated if arm == ARMS[0] else ~treated).sum())
        if n_arm and ess[key] < 0.5 * n_arm:
            notes.append(
                f"The {arm} arm's effective sample size is {ess[key]:.0f} of {n_arm} patients: "
                "the weights cost much precision."
            )
    return WeightingResult(
        estimand=ws.estimand,
        weights=weights,
        balance=bal,
        ess=ess,
        distribution=pd.DataFrame(rows),
        largest=largest,
        warnings=notes,
    )


def effect_estimates(
    frame: pd.DataFrame,
    complete: pd.DataFrame,
    res: MatchResult | None,
    weights: WeightingResult | None,
    key: str,
    settings: Settings,
) -> pd.DataFrame:
    """One question, four answers: the hazard ratio of the arm crude (all eligible
    patients), matched, weighted and adjusted (Cox with the covariates), each with its
    E-values (VanderWeele and Ding 2017).

    Columns ``estimate, population, n, events, hr, ci_lower, ci_upper, p_value, method,
    e_value, e_value_ci, ph_p`` (``ph_p``: the arm's proportional-hazards p of
    ``cox.zph``).
    """
    tcol, ecol, _ = ENDPOINTS[key]
    rows: list[dict[str, Any]] = []

    def add(name: str, population: str, fit: CoxFit, n: int, events: int, ph: PhCheck) -> None:
        with np.errstate(over="ignore"):
            hr, lo, hi = (float(np.exp(v[0])) for v in (fit.coef, fit.ci_lower, fit.ci_upper))
        ev = None
        if fit.estimable[0] and np.isfinite(hr) and np.isfinite(lo) and np.isfinite(hi):
            ev = e_value(hr, lo, hi, rare_outcome=settings.e_value_rare_outcome)
        rows.append(
            {
                "estimate": name,
                "population": population,
                "n": n,
                "events": events,
                "hr": hr if fit.estimable[0] else np.nan,
                "ci_lower": lo if fit.estimable[0] else np.nan,
                "ci_upper": hi if fit.estimable[0] else np.nan,
                "p_value": float(fit.p_value[0]) if fit.estimable[0] else np.nan,
                "method": fit.method if fit.estimable[0] else "not estimable",
                "e_value": np.nan if ev is None else ev.point,
                "e_value_ci": np.nan if ev is None else ev.ci,
                "ph_p": ph.p_value,
            }
        )

    def arrays(rows_: pd.DataFrame) -> tuple[Any, Any, Any]:
        return (
            rows_[TREATED].to_numpy(dtype=float),
            rows_[tcol].to_numpy(dtype=float),
            rows_[ecol].to_numpy(dtype=float).astype(int),
        )

    x, t, e = arrays(frame)
    crude = cox_fit(x, t, e, names=[TREATED], conf_level=settings.conf_level)
    add(
        "crude",
        f"all {len(frame)} eligible patients, unadjusted",
        crude,
        len(frame),
        int(e.sum()),
        ph_check(frame, tcol, ecol, [TREATED]),
    )
    if res is not None:
        units, uses, design = matched_sample(res)
        rows_ = units if uses is None else uses
        xm, tm, em = arrays(rows_)
        wm = None if design.weights is None else rows_[design.weights].to_numpy(dtype=float)
        fit = _hazard_ratio(xm, tm, em, wm, rows_, design, settings.conf_level)
        varying = wm is not None and np.ptp(wm) > 0
        add(
            "matched",
            design.description,
            fit,
            len(units),
            int(units[ecol].sum()),
            ph_check(rows_, tcol, ecol, [TREATED], weights=design.weights if varying else None),
        )
    if weights is not None:
        xw, tw, ew = arrays(complete)
        fit = cox_fit(
            xw,
            tw,
            ew,
            names=[TREATED],
            weights=weights.weights.to_numpy(),
            conf_level=settings.conf_level,
        )
        add(
            "weighted",
            f"{len(complete)} patients weighted ({weights.estimand}), robust SE",
            fit,
            len(complete),
            int(ew.sum()),
            ph_check(
                complete.assign(**{WEIGHT: weights.weights.to_numpy()}),
                tcol,
                ecol,
                [TREATED],
                weights=WEIGHT,
            ),
        )
    if complete.empty or not all((complete[TREATED] == f).any() for f in (1, 0)):
        return pd.DataFrame(rows)  # no patient of an arm has every covariate
    covs = list(settings.adjust_covariates or settings.matching.covariates)
    design_x = design_matrix(complete, covs)
    xa = np.column_stack([complete[TREATED].to_numpy(dtype=float), design_x.to_numpy(dtype=float)])
    _, ta, ea = arrays(complete)
    # monotone likelihood (e.g. an arm without events) is detected as coxph detects it; the
    # penalised multivariable fit's profile intervals are too slow to recompute live, so the
    # adjusted estimate is then reported as not estimable
    fit = cox_fit(
        xa,
        ta,
        ea,
        names=[TREATED, *design_x.columns],
        conf_level=settings.conf_level,
        firth="flag",
    )
    add(
        "adjusted",
        f"{len(complete)} patients, Cox adjusted for {', '.join(label(c) for c in covs)}",
        fit,
        len(complete),
        int(ea.sum()),
        ph_check(
            pd.concat([complete[[tcol, ecol, TREATED]], design_x], axis=1),
            tcol,
            ecol,
            [TREATED, *design_x.columns],
        )
        if fit.estimable[0]
        else PhCheck(float("nan"), note="the adjusted model is not estimable"),
    )
    return pd.DataFrame(rows)


def _chosen_logrank(
    settings: Settings,
    plain: LogRankResult | None,
    stratified: LogRankResult | None,
    design: SampleDesign,
) -> tuple[LogRankResult | None, str]:
    """The log-rank test to show and its label (``Settings.logrank``)."""
    if stratified is not None and settings.logrank in ("auto", "stratified"):
        return stratified, "log-rank stratified by matched set"
    if design.reused:
        return plain, "log-rank, unweighted (ignores the reuse of controls)"
    if design.weights is not None:
        return plain, "log-rank, unweighted (the weighted comparison is the Cox Wald test)"
    if settings.logrank == "stratified" and design.matched:
        return plain, "log-rank (the stratified test is undefined here)"
    return plain, "log-rank"


def _difference_at(
    t: npt.NDArray[np.float64],
    e: npt.NDArray[np.int64],
    treated: npt.NDArray[np.float64],
    weights: npt.NDArray[np.float64] | None,
    at: float,
) -> Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]]:
    """Batch statistic for the bootstrap: KM survival at ``at``, blinatumomab minus
    chemotherapy, for every replicate's frequency weights at once (times the matching
    weights, when given)."""
    arms = [treated == 1.0, treated == 0.0]

    def statistic(counts: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        c = counts if weights is None else counts * weights[None, :]
        s1, s0 = (survival_at_replicates(t[a], e[a], c[:, a], at) for a in arms)
        return np.asarray(s1 - s0, dtype=np.float64)

    return statistic


def _firth_hr(
    treated: npt.NDArray[np.float64], t: npt.NDArray[np.float64], e: npt.NDArray[np.int64]
) -> Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]]:
    """Batch statistic for the bootstrap: Firth's hazard ratio for every replicate."""

    def statistic(counts: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.asarray(np.exp(firth_replicates(treated, t, e, counts)), dtype=np.float64)

    return statistic


def _overlap(frame: pd.DataFrame, res: MatchResult | None, bins: int = 20) -> pd.DataFrame:
    """Histogram counts of the propensity score by arm, before and after matching."""
    if res is None:
        return pd.DataFrame(columns=["sample", "arm", "bin_start", "bin_end", "count"])
    edges = np.linspace(0.0, 1.0, bins + 1)
    rows: list[dict[str, Any]] = []
    ps_all = res.propensity
    arms_all = frame.loc[ps_all.index, "arm"]
    for sample, ps, arms in (
        ("before matching", ps_all.to_numpy(), arms_all.to_numpy()),
        ("after matching", res.matched["propensity"].to_numpy(), res.matched["arm"].to_numpy()),
    ):
        for arm in ARMS:
            counts, _ = np.histogram(ps[arms == arm], bins=edges)
            rows.extend(
                {
                    "sample": sample,
                    "arm": arm,
                    "bin_start": edges[i],
                    "bin_end": edges[i + 1],
                    "count": int(c),
                }
                for i, c in enumerate(counts)
            )
    return pd.DataFrame(rows)


def _mrd(frame: pd.DataFrame, settings: Settings, key: str) -> MrdResult | None:
    col = settings.mrd.column
    if col not in frame.columns:
        return None
    competing = key in COMPETING
    tcol, ecol, _ = ENDPOINTS["efs" if competing else key]
    measure = "incidence" if competing else "survival"
    thr, ref = settings.mrd.threshold_pct, settings.mrd.compare_threshold_pct
    low, high = mrd_label(thr, settings.mrd.side)
    values = frame[col]
    group = mrd_groups(frame, thr, settings)
    rows: list[dict[str, Any]] = []
    curves: list[tuple[str, dict[str, np.ndarray]]] = []
    t_all = frame[tcol].to_numpy(dtype=float)
    e_all = (
        cause_codes(frame, key, settings)
        if competing
        else frame[ecol].to_numpy(dtype=float).astype(int)
    )
    arm_all = frame["arm"].to_numpy()
    for g in (low, high, MRD_UNDETERMINED, MRD_MISSING):
        if g == MRD_UNDETERMINED and not (group == g).any():
            continue  # only where a laboratory limit lies above the threshold
        for arm in ARMS:
            sel = (group == g) & (arm_all == arm)
            t, e = t_all[sel], e_all[sel]
            row: dict[str, Any] = {
                "group": g,
                "arm": arm,
                "n": int(sel.sum()),
                "events": int((e == 1).sum()),
            }
            if t.size and competing:
                table = (
                    cumulative_incidence(t, e, cause=1, conf_level=settings.conf_level)
                    if (e == 1).any()
                    else None
                )
                value, var = _incidence_at(table, settings.horizon_months, float(t.max()))
                lo, hi = _loglog_limits(value, var, settings.conf_level)
                row.update(incidence=value, ci_lower=lo, ci_upper=hi)
                pts = {
                    "time": np.r_[0.0, table["time"].to_numpy()]
                    if table is not None
                    else np.r_[0.0],
                    "incidence": np.r_[0.0, table["incidence"].to_numpy()]
                    if table is not None
                    else np.r_[0.0],
                }
                pts["group"] = np.full(pts["time"].size, g, dtype=object)
                curves.append((arm, pts))
            elif t.size:
                km = kaplan_meier(
                    t, e, conf_level=settings.conf_level, conf_type=settings.conf_type
                )
                s = survival_at(km, settings.horizon_months)
                row.update(survival=s.survival, ci_lower=s.ci_lower, ci_upper=s.ci_upper)
                pts = _curve_points(km)
                pts["group"] = np.full(pts["time"].size, g, dtype=object)
                curves.append((arm, pts))
            else:
                row.update({measure: np.nan, "ci_lower": np.nan, "ci_upper": np.nan})
            rows.append(row)
    cut: CutpointResult | None = None
    threshold_p = float("nan")
    if not competing:
        known = values.notna().to_numpy()
        if known.sum() >= 10 and e_all[known].sum() > 0 and values[known].nunique() > 1:
            try:
                cut = cutpoint(t_all[known], e_all[known], values[known].to_numpy(dtype=float))
            except InputError:
                cut = None
        split = (group == high) | (group == low)
        if split.any() and (group == high).any() and (group == low).any():
            try:
                threshold_p = logrank(t_all[split], e_all[split], group[split] == high).p_value
            except InputError:
                threshold_p = float("nan")
    before = mrd_groups(frame, ref, settings)
    # the same side of two different thresholds has two labels: compare the sides
    side_now = np.where(group == high, "high", np.where(group == low, "low", group))
    ref_low, ref_high = mrd_label(ref, settings.mrd.side)
    side_before = np.where(before == ref_high, "high", np.where(before == ref_low, "low", before))
    changed_mask = (side_before != side_now) & (group != MRD_MISSING)
    changed = pd.DataFrame(
        {
            "patient_id": frame.index[changed_mask],
            "arm": frame.loc[changed_mask, "arm"].to_numpy(),
            col: values[changed_mask].to_numpy(),
            "group_at_reference": before[changed_mask],
            "group_now": group[changed_mask],
        }
    )
    return MrdResult(
        column=col,
        threshold_pct=thr,
        groups=pd.DataFrame(rows),
        curve=_stack(
            curves,
            ["time", "incidence", "group"]
            if competing
            else ["time", "survival", "ci_lower", "ci_upper", "group"],
        ),
        changed=changed,
        missing=int((group == MRD_MISSING).sum()),
        measure=measure,
        cutpoint=cut,
        threshold_p=threshold_p,
    )


def propensity_warnings(model: PropensityModel) -> list[str]:
    """The warnings R's ``glm`` gives for this propensity model, in plain words.

    R warns "glm.fit: algorithm did not converge" when IRLS needs more than 25
    iterations and "glm.fit: fitted probabilities numerically 0 or 1 occurred"
    when some fitted score is within 10 machine epsilons of 0 or 1 (complete or
    quasi-complete separation).

    Examples
    --------
    >>> import pandas as pd
    >>> from blinastudy.stats.matching import fit_propensity
    >>> f = pd.DataFrame({"t": [1, 1, 1, 0, 0, 0], "x": [5.0, 6, 7, 1, 2, 3]})
    >>> [w[:40] for w in propensity_warnings(fit_propensity(f, "t", ["x"]))]
    ['Some propensity scores are numerically 0']
    """
    out = []
    if not model.converged:
        out.append(
            f"The propensity model did not converge in {model.iterations} iterations (R: "
            '"glm.fit: algorithm did not converge"): its scores, and the matches built on '
            "them, are unreliable. A covariate probably separates the arms."
        )
    if model.separation:
        out.append(
            'Some propensity scores are numerically 0 or 1 (R: "glm.fit: fitted probabilities '
            'numerically 0 or 1 occurred"): a covariate separates the arms, completely or '
            "quasi-completely (e.g. a risk group with no blinatumomab patient). Those patients "
            "cannot be matched."
        )
    return out


def patient_flow(
    eligibility: EligibilityFlow,
    with_outcome: pd.DataFrame,
    complete: pd.DataFrame,
    res: MatchResult | None,
) -> pd.DataFrame:
    """CONSORT-style counts per arm: every patient, each eligibility criterion, outcome
    known, matching covariates known, matched.

    Columns ``step, blinatumomab, chemotherapy, total``.
    """
    rows = [
        {
            "step": r["criterion"],
            "blinatumomab": int(r["blinatumomab"]),
            "chemotherapy": int(r["chemotherapy"]),
        }
        for r in eligibility.counts.to_dict("records")
    ]

    def count(step: str, frame: pd.DataFrame) -> dict[str, Any]:
        arms = frame["arm"].to_numpy()
        return {"step": step, **{a: int((arms == a).sum()) for a in ARMS}}

    rows.append(count("outcome known", with_outcome))
    rows.append(count("matching covariates known", complete))
    if res is not None:
        units = res.match_data
        rows.append(count("matched", units))
    out = pd.DataFrame(rows)
    out["total"] = out["blinatumomab"] + out["chemotherapy"]
    return out


def _filtered(frame: pd.DataFrame, subgroup: tuple[str, str] | None) -> pd.DataFrame:
    """The rows of one subgroup level (all rows without a filter)."""
    if subgroup is None:
        return frame
    var, level = subgroup
    if var not in frame.columns:
        raise InputError(f"subgroup filter variable {var!r} is not a column of the cohort")
    return frame[frame[var].astype(str) == level]


@dataclass
class _Immortal:
    table: pd.DataFrame
    sample: dict[str, TimeDependentResult]
    all_patients: dict[str, TimeDependentResult]
    advice: dict[str, str]


#: Kinds of row of the immortal-time table, in order.
IMMORTAL_ANALYSES = {
    "diagnosis": "from diagnosis (biased)",
    "landmark": "landmark",
    "time-dependent": "time-dependent exposure",
    "time-dependent, all patients": "time-dependent exposure, all patients",
}


def _immortal_row(key: str, analysis: str, origin: str, population: str) -> dict[str, Any]:
    return {"endpoint": key, "analysis": analysis, "origin": origin, "population": population}


def _hr_fields(hr: pd.DataFrame) -> dict[str, Any]:
    one = len(hr) > 0
    return {
        "hr": float(hr["hr"].iloc[0]) if one else np.nan,
        "ci_lower": float(hr["ci_lower"].iloc[0]) if one else np.nan,
        "ci_upper": float(hr["ci_upper"].iloc[0]) if one else np.nan,
        "method": str(hr["method"].iloc[0]) if one else "not estimable",
    }


def _immortal_time(
    endpoints: dict[str, EndpointResult],
    pop: pd.DataFrame,
    uses: pd.DataFrame | None,
    everyone: pd.DataFrame,
    settings: Settings,
    *,
    design: SampleDesign,
    population: str,
) -> _Immortal:
    """The same comparison from diagnosis, from the landmark and with blinatumomab as a
    time-dependent exposure (on the sample analysed and, when that is matched or
    weighted, on all eligible patients), with the sentence saying which to quote."""
    rows: list[dict[str, Any]] = []
    sample: dict[str, TimeDependentResult] = {}
    all_patients: dict[str, TimeDependentResult] = {}
    advice: dict[str, str] = {}
    has_start = "blina_start_months" in pop.columns
    for key in ENDPOINTS:
        tcol, ecol, _ = ENDPOINTS[key]
        for origin in ("diagnosis", "landmark"):
            ep = (
                endpoints[key]
                if origin == settings.origin
                else _endpoint(
                    pop,
                    key,
                    settings,
                    origin=origin,
                    design=design,
                    full=False,
                    uses=uses,
                    population=population,
                )
            )
            rows.append(
                {
                    **_immortal_row(key, origin, ep.origin, ep.population),
                    "n_blinatumomab": ep.n[ARMS[0]],
                    "n_chemotherapy": ep.n[ARMS[1]],
                    "events_blinatumomab": ep.events[ARMS[0]],
                    "events_chemotherapy": ep.events[ARMS[1]],
                    **_hr_fields(ep.hazard_ratio),
                    "p_value": np.nan if ep.logrank is None else ep.logrank.p_value,
                    "test": ep.logrank_label,
                    "ph_p": np.nan if ep.ph is None else ep.ph.p_value,
                    "excluded": len(ep.excluded),
                }
            )
        if not has_start:
            advice[key] = (
                "The start of blinatumomab is not recorded (blina_start_months), so the "
                "time-dependent analysis is not available: quote the landmark estimate."
            )
            continue
        targets = [("time-dependent", pop if uses is None else uses, design)]
        if design.matched or design.weights is not None:
            targets.append(("time-dependent, all patients", everyone, SampleDesign()))
        for analysis, data, des in targets:
            if data.empty or not all((data[TREATED] == f).any() for f in (1, 0)):
                continue
            td = time_dependent_exposure(
                data,
                tcol,
                ecol,
                treated=TREATED,
                start="blina_start_months",
                cluster=PATIENT if des.reused else des.cluster,
                weights=des.weights,
                population=population if des is design else f"all {len(data)} eligible patients",
                conf_level=settings.conf_level,
                conf_type=settings.conf_type,
            )
            (sample if des is design else all_patients)[key] = td
            included = data.loc[~data.index.astype(str).isin(td.excluded["patient_id"])]
            rows.append(
                {
                    **_immortal_row(
                        key, analysis, "diagnosis, exposed from the first dose", td.population
                    ),
                    "n_blinatumomab": int((included[TREATED] == 1).sum()),
                    "n_chemotherapy": int((included[TREATED] == 0).sum()),
                    "events_blinatumomab": int(included.loc[included[TREATED] == 1, ecol].sum()),
                    "events_chemotherapy": int(included.loc[included[TREATED] == 0, ecol].sum()),
                    **_hr_fields(td.hazard_ratio),
                    "p_value": td.p_value,
                    "test": td.test_label,
                    "ph_p": td.ph.p_value,
                    "excluded": len(td.excluded),
                    **{k: td.counts[k] for k in TD_COUNTS},
                }
            )
        advice[key] = _immortal_advice(
            [r for r in rows if r["endpoint"] == key], settings.landmark_months
        )
    table = pd.DataFrame(rows)
    for col in TD_COUNTS:
        if col not in table:
            table[col] = np.nan
    return _Immortal(table, sample, all_patients, advice)


#: Columns of the time-dependent rows: events and months of follow-up per state.
TD_COUNTS = ("events_exposed", "events_unexposed", "months_exposed", "months_unexposed")


def _fmt_hr(row: dict[str, Any]) -> str:
    if not np.isfinite(row["hr"]):
        return "not estimable"
    return f"{row['hr']:.2f}"


def _immortal_advice(rows: list[dict[str, Any]], landmark: float) -> str:
    """Which estimate to quote, from the numbers of one endpoint's rows."""
    by = {r["analysis"]: r for r in rows}
    diag, land, td = by.get("diagnosis"), by.get("landmark"), by.get("time-dependent")
    if td is None or not np.isfinite(td["hr"]):
        return (
            "Quote the landmark estimate: the time-dependent model could not be estimated "
            "here, and the analysis from diagnosis credits blinatumomab with the months its "
            "patients had to survive to receive it."
        )
    out = [
        f"Quote the time-dependent estimate (HR {_fmt_hr(td)}): it keeps every patient and "
        "counts blinatumomab patients as unexposed until their first dose, so the months "
        "they had to stay event-free to receive it are not credited to the drug."
    ]
    if diag is not None and land is not None:
        out.append(
            f"From diagnosis (HR {_fmt_hr(diag)}) those months are credited to blinatumomab, "
            f"which biases the comparison in its favour; the {landmark:g}-month landmark "
            f"(HR {_fmt_hr(land)}) avoids that bias but leaves out {int(land['excluded'])} "
            "patients and depends on the month chosen."
        )
        d, lm, t = diag["hr"], land["hr"], td["hr"]
        if np.isfinite(d) and np.isfinite(lm):
            if min(d, lm) <= t <= max(d, lm):
                where = "lies between the two"
            elif t < min(d, lm):
                where = "is lower than both"
            else:
                where = "is higher than both"
            out.append(f"Here the time-dependent hazard ratio {where}.")
    if td.get("ph_p") is not None and np.isfinite(td["ph_p"]) and td["ph_p"] < PH_ALPHA:
        out.append(
            "Its proportional-hazards test rejects (p < 0.05): read the restricted mean "
            "survival difference beside it."
        )
    return " ".join(out)


def _start_median(frame: pd.DataFrame) -> float | None:
    """Median months from diagnosis to the first blinatumomab dose, where recorded."""
    if "blina_start_months" not in frame.columns:
        return None
    start = frame.loc[frame[TREATED] == 1, "blina_start_months"].dropna()
    return float(start.median()) if len(start) else None


def _max_abs_smd(bal: pd.DataFrame, column: str) -> float:
    vals = bal[column].abs()
    return float(vals.max()) if vals.notna().any() else float("nan")


def matched_efs_hazard_ratio(res: MatchResult, conf_level: float = 0.95) -> pd.DataFrame:
    """The EFS hazard ratio of the whole matched sample, analysed as its design asks
    (no subgroup restriction): the number the Matching page and the caliper sweep show.
    The columns of :data:`~blinastudy.stats.survival.COX_COLUMNS` and ``ph_p``, the
    proportional-hazards p of the model (``cox.zph``).

    Examples
    --------
    >>> from blinastudy.data.demo import make_demo_cohort
    >>> s = Settings()
    >>> frame = matching_pool(prepare_cohort(make_demo_cohort(), s), s)
    >>> hr = matched_efs_hazard_ratio(match(frame, TREATED, s.matching.covariates))
    >>> round(float(hr["hr"].iloc[0]), 3), str(hr["method"].iloc[0])
    (0.083, 'ml-robust')
    """
    units, uses, design = matched_sample(res)
    rows = units if uses is None else uses
    fit = _hazard_ratio(
        rows[TREATED].to_numpy(dtype=float),
        rows["efs_months"].to_numpy(dtype=float),
        rows["efs_event"].to_numpy(dtype=float).astype(int),
        None if design.weights is None else rows[design.weights].to_numpy(dtype=float),
        rows,
        design,
        conf_level,
    )
    table = fit.table()
    weighted = design.weights is not None and rows[design.weights].nunique() > 1
    table["ph_p"] = ph_check(
        rows, "efs_months", "efs_event", [TREATED], weights=design.weights if weighted else None
    ).p_value
    return table


@single_blas_thread
def caliper_sweep(
    frame: pd.DataFrame, settings: Settings, *, model: PropensityModel | None = None
) -> pd.DataFrame:
    """Matched N, worst |SMD| and the EFS hazard ratio across caliper widths.

    ``frame`` is the prepared working frame (:func:`prepare_cohort`), complete on
    the matching covariates. ``model`` is its propensity model
    (:func:`propensity_model`), fitted here if omitted: the caliper does not change it.

    Examples
    --------
    >>> from blinastudy.data.demo import make_demo_cohort
    >>> s = Settings(sweep_calipers=(0.1, 0.2))
    >>> caliper_sweep(prepare_cohort(make_demo_cohort(), s), s)["caliper"].tolist()
    [0.1, 0.2]
    """
    m = settings.matching
    rows = []
    if model is None:
        model = propensity_model(frame, m.covariates)
    for cal in settings.sweep_calipers:
        row: dict[str, Any] = {"caliper": cal}
        try:
            res = run_matching(frame, replace(m, caliper=cal), model)
        except InputError:
            row.update(
                caliper_width=np.nan,
                n_matched_treated=0,
                max_abs_smd=np.nan,
                hr=np.nan,
                ci_lower=np.nan,
                ci_upper=np.nan,
                method="no match",
                ph_p=np.nan,
            )
            rows.append(row)
            continue
        bal = balance(frame, TREATED, m.covariates, matched=res)
        hr = matched_efs_hazard_ratio(res, settings.conf_level)
        row.update(
            caliper_width=res.caliper_width,
            n_matched_treated=res.n_pairs,
            max_abs_smd=_max_abs_smd(bal, "smd_after"),
            hr=float(hr["hr"].iloc[0]),
            ci_lower=float(hr["ci_lower"].iloc[0]),
            ci_upper=float(hr["ci_upper"].iloc[0]),
            method=str(hr["method"].iloc[0]),
            ph_p=float(hr["ph_p"].iloc[0]),
        )
        rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------
# named steps
#
# analyze() runs these in order. Each takes only what it reads: settings
# sub-objects or fields, and the outputs of earlier steps. analyze() keys each
# step's cached result (StepCache) on the cohort's content hash and the settings
# fields the step reads, directly or through the steps before it.

#: The steps of :func:`analyze`, in the order they run (the names given to the
#: progress callback and used by :class:`~blinastudy.analysis.stepcache.StepCache`).
STEPS = (
    "prepare",
    "eligible_pool",
    "complete_cases",
    "propensity",
    "matching",
    "balance",
    "matched_efs_hr",
    "baseline_before",
    "baseline_after",
    "weighting",
    "endpoint:efs",
    "endpoint:os",
    "immortal_time",
    "estimates",
    "competing",
    "forest",
    "mrd",
    "sweep",
)

#: Working columns whose values depend on the MRD settings (time point, threshold, side).
MRD_COLUMNS = ("mrd_group",)


@dataclass(frozen=True)
class EligiblePool:
    """The eligible patients of a prepared frame (:func:`eligible_pool`).

    Attributes
    ----------
    frame : pandas.DataFrame
        The eligible rows of the prepared frame, in its order.
    flow : EligibilityFlow
        Counts per criterion and the patients each excludes.
    skipped : tuple of str
        Columns of criteria not applied because the cohort lacks them.
    """

    frame: pd.DataFrame
    flow: EligibilityFlow
    skipped: tuple[str, ...]


def eligible_pool(prepared: pd.DataFrame, eligibility: Eligibility) -> EligiblePool:
    """Who may enter the comparison: the criteria the cohort's columns allow, applied.

    Raises
    ------
    InputError
        When no patient of one arm is eligible.

    Examples
    --------
    >>> from blinastudy.data.demo import make_demo_cohort
    >>> s = Settings()
    >>> pool = eligible_pool(prepare_cohort(make_demo_cohort(), s), s.eligibility)
    >>> len(pool.frame), pool.skipped
    (618, ())
    """
    criteria, skipped = applicable_eligibility(eligibility, list(prepared.columns))
    eligible, flow = apply_eligibility(prepared, criteria)
    frame = prepared.loc[eligible.to_numpy()]
    if not all((frame["arm"] == arm).any() for arm in ARMS):
        raise InputError(
            "no patient of one arm meets the eligibility criteria: "
            + "; ".join(flow.counts["criterion"].tolist()[1:-1])
        )
    return EligiblePool(frame, flow, tuple(skipped))


@dataclass(frozen=True)
class CompleteCases:
    """The eligible patients with a known outcome, and those who can be matched.

    Attributes
    ----------
    with_outcome : pandas.DataFrame
        Eligible patients whose outcome is complete (every analysis uses them).
    excluded_outcome : pandas.DataFrame
        Eligible patients without a complete outcome (:func:`missing_outcome`).
    complete : pandas.DataFrame
        Of ``with_outcome``, those with every matching covariate and exact-matching
        column known: the matching pool (:func:`matching_pool`).
    excluded_matching : pandas.DataFrame
        Of ``with_outcome``, those lacking a matching covariate, with the columns missing.
    """

    with_outcome: pd.DataFrame
    excluded_outcome: pd.DataFrame
    complete: pd.DataFrame
    excluded_matching: pd.DataFrame


def complete_cases(
    eligible: pd.DataFrame, covariates: Sequence[str], exact: Sequence[str] = ()
) -> CompleteCases:
    """Split the eligible patients by what is known: outcome, matching covariates.

    Examples
    --------
    >>> from blinastudy.data.demo import make_demo_cohort
    >>> s = Settings()
    >>> pool = eligible_pool(prepare_cohort(make_demo_cohort(), s), s.eligibility)
    >>> cases = complete_cases(pool.frame, s.matching.covariates)
    >>> len(cases.with_outcome), len(cases.complete), len(cases.excluded_matching)
    (618, 618, 0)
    """
    excluded_outcome = missing_outcome(eligible)
    with_outcome = eligible.loc[~eligible.index.isin(excluded_outcome["patient_id"])]
    needed = list(dict.fromkeys([*covariates, *exact]))
    missing_cov = with_outcome[needed].isna().to_numpy()
    incomplete: npt.NDArray[np.bool_] = np.asarray(missing_cov.any(axis=1), dtype=bool)
    excluded_matching = _exclusion_table(
        with_outcome,
        incomplete,
        [
            "missing " + ", ".join(c for c, miss in zip(needed, row, strict=True) if miss)
            for row in missing_cov[incomplete]
        ],
    )
    known = eligible[list(dict.fromkeys([*OUTCOME_COLUMNS, *needed]))].notna().all(axis=1)
    return CompleteCases(
        with_outcome=with_outcome,
        excluded_outcome=excluded_outcome,
        complete=eligible.loc[known.to_numpy()],
        excluded_matching=excluded_matching,
    )


def propensity_model(complete: pd.DataFrame, covariates: Sequence[str]) -> PropensityModel:
    """The propensity model of the arm on ``covariates`` (R's ``glm``, binomial).

    Examples
    --------
    >>> from blinastudy.data.demo import make_demo_cohort
    >>> s = Settings()
    >>> complete = matching_pool(prepare_cohort(make_demo_cohort(), s), s)
    >>> propensity_model(complete, s.matching.covariates).converged
    True
    """
    return fit_propensity(complete, TREATED, covariates)


def run_matching(
    complete: pd.DataFrame, matching: MatchingSettings, model: PropensityModel | None = None
) -> MatchResult:
    """Match the pool as ``matching`` says, on ``model``'s scores (fitted here if omitted).

    Examples
    --------
    >>> from blinastudy.data.demo import make_demo_cohort
    >>> s = Settings()
    >>> complete = matching_pool(prepare_cohort(make_demo_cohort(), s), s)
    >>> run_matching(complete, s.matching).n_pairs
    90
    """
    return match(
        complete,
        TREATED,
        matching.covariates,
        caliper=matching.caliper,
        scale=matching.scale,
        ratio=matching.ratio,
        replace=matching.replace,
        order=matching.order,
        exact=matching.exact or None,
        random_state=matching.random_state,
        model=model,
    )


def with_current_columns(
    res: MatchResult, complete: pd.DataFrame, columns: Sequence[str] = MRD_COLUMNS
) -> MatchResult:
    """``res`` with ``columns`` of its patient frames taken from ``complete``.

    Matching does not read the MRD group (unless it is a covariate), but its frames
    carry every column of the pool. A match reused after the MRD threshold moved
    gets the current groups here, exactly as a fresh match would have them; ``res``
    itself is left unchanged (a copy is returned when a value differs).

    Examples
    --------
    >>> from blinastudy.data.demo import make_demo_cohort
    >>> s = Settings()
    >>> complete = matching_pool(prepare_cohort(make_demo_cohort(), s), s)
    >>> res = run_matching(complete, s.matching)
    >>> with_current_columns(res, complete) is res
    True
    >>> moved = complete.assign(mrd_group="MRD < 1%")
    >>> with_current_columns(res, moved).matched["mrd_group"].unique().tolist()
    ['MRD < 1%']
    """
    frames = {}
    for name in ("matched", "match_data"):
        frame: pd.DataFrame = getattr(res, name)
        current = {
            col: complete[col].loc[frame.index]
            for col in columns
            if col in frame.columns and col in complete.columns
        }
        changed = {
            col: values.to_numpy()
            for col, values in current.items()
            if not values.equals(frame[col])
        }
        if changed:
            frame = frame.copy()
            for col, values in changed.items():
                frame[col] = values
            frames[name] = frame
    if not frames:
        return res
    return replace(
        res,
        matched=frames.get("matched", res.matched),
        match_data=frames.get("match_data", res.match_data),
    )


def matching_balance(
    complete: pd.DataFrame, covariates: Sequence[str], res: MatchResult
) -> pd.DataFrame:
    """Covariate balance before and after matching (:func:`blinastudy.stats.matching.balance`).

    Examples
    --------
    >>> from blinastudy.data.demo import make_demo_cohort
    >>> s = Settings()
    >>> complete = matching_pool(prepare_cohort(make_demo_cohort(), s), s)
    >>> bal = matching_balance(complete, s.matching.covariates,
    ...                        run_matching(complete, s.matching))
    >>> {"smd_before", "smd_after"} <= set(bal.columns)
    True
    """
    if not len(complete):
        return pd.DataFrame()
    return balance(complete, TREATED, covariates, matched=res)


#: Besides the matching covariates, the baseline tables show these where present.
BASELINE_EXTRA = ("cns_status", "prednisone_response", "mrd_day15_pct")


def baseline_variables(columns: Sequence[str], covariates: Sequence[str]) -> list[str]:
    """The variables of the baseline tables: the covariates, then :data:`BASELINE_EXTRA`.

    Examples
    --------
    >>> baseline_variables(["age_years", "cns_status", "sex"], ["sex", "age_years"])
    ['sex', 'age_years', 'cns_status']
    """
    present = set(columns)
    return [c for c in dict.fromkeys([*covariates, *BASELINE_EXTRA]) if c in present]


@dataclass(frozen=True)
class StudyPopulation:
    """The sample the survival analysis uses (:func:`study_population`).

    Attributes
    ----------
    pop : pandas.DataFrame
        One row per patient of the sample (matched, weighted, or all patients).
    uses : pandas.DataFrame or None
        One row per use of a patient when controls are reused, else ``None``.
    design : SampleDesign
        How to analyse the sample.
    survival_pop, survival_uses : pandas.DataFrame, pandas.DataFrame or None
        The same restricted to the subgroup filter (the endpoints' sample).
    description : str
        The sample in words, with the subgroup restriction.
    warnings : tuple of Notice
        What the choice of sample means for the results.
    """

    pop: pd.DataFrame
    uses: pd.DataFrame | None
    design: SampleDesign
    survival_pop: pd.DataFrame
    survival_uses: pd.DataFrame | None
    description: str
    warnings: tuple[Notice, ...]


def study_population(
    with_outcome: pd.DataFrame,
    complete: pd.DataFrame,
    res: MatchResult | None,
    weighting: WeightingResult | None,
    population: str,
    subgroup_filter: tuple[str, str] | None = None,
) -> StudyPopulation:
    """The sample analysed: matched (``res``), weighted (``weighting``) or all patients.

    Falls back to all patients (with a warning) when the chosen sample is missing.

    Raises
    ------
    InputError
        When the subgroup filter leaves no patient.

    Examples
    --------
    >>> from blinastudy.data.demo import make_demo_cohort
    >>> s = Settings()
    >>> complete = matching_pool(prepare_cohort(make_demo_cohort(), s), s)
    >>> sample = study_population(complete, complete, run_matching(complete, s.matching),
    ...                           None, "matched")
    >>> sample.description
    '90 matched sets, 180 patients'
    """
    warnings: list[Notice] = []
    use_matched = population == "matched"
    if use_matched and res is None:
        warnings.append(
            Notice(
                "No matched sample: survival results use all patients.",
                code="population.unmatched",
                topics=("population", "matching"),
            )
        )
        use_matched = False
    if population == "weighted" and weighting is None:
        warnings.append(
            Notice(
                "No weights: survival results use all patients, unweighted.",
                code="population.unweighted",
                topics=("population", "weighting"),
            )
        )
    pop, uses, design = with_outcome, None, SampleDesign()
    if population == "weighted" and weighting is not None:
        pop = complete.assign(**{WEIGHT: weighting.weights.to_numpy()})
        design = SampleDesign(
            weights=WEIGHT,
            description=(
                f"{len(complete)} patients weighted for the {weighting.estimand} "
                "(propensity-score weights)"
            ),
        )
        warnings.extend(
            Notice(w, code="weighting.weights", topics=("weighting", "population"))
            for w in weighting.warnings
        )
    if use_matched and res is not None:
        pop, uses, design = matched_sample(res)
        if design.weights is not None:
            warnings.append(
                Notice(
                    "Matching weights are unequal ("
                    + ("controls reused" if design.reused else "matched sets of unequal size")
                    + "): curves, hazard ratios and intervals use MatchIt's matching weights, "
                    "as the MatchIt vignette on survival outcomes does.",
                    code="population.unequal_weights",
                    topics=("population", "matching"),
                    severity="info",
                )
            )
    survival_pop, survival_uses = pop, uses
    restricted = design.description
    if subgroup_filter is not None:
        restricted += f", restricted to {label(subgroup_filter[0])} = {subgroup_filter[1]}"
        survival_pop = _filtered(pop, subgroup_filter)
        if survival_pop.empty:
            var, level = subgroup_filter
            raise InputError(f"no patient in subgroup {var} = {level!r}")
        if uses is not None:
            survival_uses = _filtered(uses, subgroup_filter)
    return StudyPopulation(
        pop, uses, design, survival_pop, survival_uses, restricted, tuple(warnings)
    )


def endpoint_result(
    sample: StudyPopulation, key: str, settings: Settings, *, replicates: int = 0
) -> EndpointResult:
    """The survival comparison of one endpoint (``"efs"`` or ``"os"``) on the sample.

    Reads ``settings.origin``, ``landmark_months``, ``horizon_months``,
    ``conf_level``, ``conf_type``, ``logrank`` and ``bootstrap.random_state``;
    ``replicates`` > 0 adds pair-bootstrap intervals on matched samples.

    Examples
    --------
    >>> from blinastudy.data.demo import make_demo_cohort
    >>> s = Settings()
    >>> complete = matching_pool(prepare_cohort(make_demo_cohort(), s), s)
    >>> sample = study_population(complete, complete, run_matching(complete, s.matching),
    ...                           None, "matched")
    >>> endpoint_result(sample, "efs", s).n
    {'blinatumomab': 90, 'chemotherapy': 90}
    """
    return _endpoint(
        sample.survival_pop,
        key,
        settings,
        origin=settings.origin,
        design=sample.design,
        replicates=replicates,
        uses=sample.survival_uses,
        population=sample.description,
    )


def competing_results(
    sample: StudyPopulation, settings: Settings, *, replicates: int = 0
) -> dict[str, CompetingResult]:
    """Cumulative incidence, Gray's test and Fine-Gray of each competing endpoint.

    Raises
    ------
    InputError
        When the cohort lacks what competing risks need (the relapse and death columns).

    Examples
    --------
    >>> from blinastudy.data.demo import make_demo_cohort
    >>> s = Settings()
    >>> complete = matching_pool(prepare_cohort(make_demo_cohort(), s), s)
    >>> sample = study_population(complete, complete, None, None, "all")
    >>> sorted(competing_results(sample, s))
    ['cir', 'trm']
    """
    return {
        key: _competing(
            sample.survival_pop,
            key,
            settings,
            design=sample.design,
            population=sample.description,
            replicates=replicates,
            uses=sample.survival_uses,
        )
        for key in COMPETING
    }


def forest_result(
    sample: StudyPopulation,
    shown: str,
    subgroups: Sequence[str],
    settings: Settings,
    *,
    overall: bool = True,
) -> pd.DataFrame:
    """The subgroup forest of the endpoint ``shown`` on the whole sample (no filter).

    For a competing endpoint, the cause-specific hazard (competing events censored)
    with the counts of the cause. Subgroup variables the sample lacks are left out;
    ``overall=False`` leaves out the overall row (see
    :func:`~blinastudy.stats.subgroups.forest`).

    Examples
    --------
    >>> from blinastudy.data.demo import make_demo_cohort
    >>> s = Settings()
    >>> complete = matching_pool(prepare_cohort(make_demo_cohort(), s), s)
    >>> sample = study_population(complete, complete, run_matching(complete, s.matching),
    ...                           None, "matched")
    >>> forest_result(sample, "efs", ["sex"], s)["level"].tolist()[-2:]
    ['F', 'M']
    """
    pop, design = sample.pop, sample.design
    tcol, ecol, _ = ENDPOINTS["efs" if shown in COMPETING else shown]
    if shown in COMPETING:
        pop = pop.assign(**{CAUSE: (cause_codes(pop, shown, settings) == 1).astype(int)})
        ecol = CAUSE
    table = forest(
        pop,
        tcol,
        ecol,
        TREATED,
        [v for v in subgroups if v in pop.columns],
        conf_level=settings.conf_level,
        cluster=PATIENT if design.reused else design.cluster,
        weights=design.weights,
        overall=overall,
    )
    if shown in COMPETING:
        table = _with_competing_counts(table, pop, shown, settings)
    return table


def mrd_result(sample: StudyPopulation, shown: str, settings: Settings) -> MrdResult | None:
    """The comparison within MRD groups for the endpoint ``shown`` (``None`` without MRD).

    Examples
    --------
    >>> from blinastudy.data.demo import make_demo_cohort
    >>> s = Settings()
    >>> complete = matching_pool(prepare_cohort(make_demo_cohort(), s), s)
    >>> sample = study_population(complete, complete, None, None, "all")
    >>> mrd_result(sample, "efs", s) is not None
    True
    """
    pop = sample.pop
    if shown in COMPETING:
        pop = pop.assign(**{CAUSE: (cause_codes(pop, shown, settings) == 1).astype(int)})
    return _mrd(pop, settings, shown)


# ---------------------------------------------------------------------------
# the one entry point


def _fields(settings: Settings, *names: str) -> dict[str, Any]:
    """The settings fields ``names`` (dotted for sub-objects), for a step's cache key."""
    out: dict[str, Any] = {}
    for name in names:
        value: Any = settings
        for part in name.split("."):
            value = getattr(value, part)
        out[name] = value
    return out


def _reads_mrd(columns: Sequence[str | None]) -> bool:
    """Whether reading ``columns`` reads a column that depends on the MRD settings."""
    return any(c in MRD_COLUMNS for c in columns)


def _patient_ids(frame: pd.DataFrame) -> tuple[str, ...]:
    """The patient_ids of ``frame`` (empty when it has no such column)."""
    if "patient_id" not in frame.columns:
        return ()
    return tuple(str(v) for v in frame["patient_id"])


def _control_only_warnings(complete: pd.DataFrame, covariates: Sequence[str]) -> list[Notice]:
    """Covariate levels no treated patient has: those controls can never be matched."""
    warnings: list[Notice] = []
    treated = complete[TREATED].to_numpy() == 1
    for col in covariates:
        ser = complete[col]
        if pd.api.types.is_numeric_dtype(ser) and ser.nunique() > 2:
            continue
        codes, levels = pd.factorize(ser.astype(str), sort=True)
        with_treated = np.bincount(codes[treated], minlength=len(levels)) > 0
        only_control = [str(level) for level in levels[~with_treated]]
        if only_control:
            warnings.append(
                Notice(
                    f"No blinatumomab patient has {col} = {', '.join(only_control)}: those "
                    "controls can never be matched and push their propensity scores towards 0 "
                    "(widening a caliper set in SDs). Consider restricting the historical pool "
                    "to eligible patients.",
                    code="matching.control_only_level",
                    topics=("matching",),
                )
            )
    return warnings


def _cohort_key(cohort: Any, cache: StepCache | None, given: str | None) -> str | None:
    """The cohort's content hash for the step keys (``None`` without a cache)."""
    if given is not None or cache is None:
        return given
    return cohort_hash(require_frame(cohort, "cohort"))


@dataclass(frozen=True)
class _PoolSteps:
    prepared: pd.DataFrame
    pool: EligiblePool
    cases: CompleteCases
    model_reads: dict[str, Any]


def _file_rows_read(cohort: pd.DataFrame, file_rows: RowNumbers | None) -> dict[str, str]:
    """The file rows as a step input (their SHA-256; nothing without them): the frames
    carry them, so that the same content read from another file is another entry."""
    if file_rows is None:
        return {}
    rows = as_file_rows(file_rows, len(require_frame(cohort, "cohort")), "file_rows")
    return {"file_rows": hashlib.sha256(rows.tobytes()).hexdigest()}


def _pool_steps(
    cohort: pd.DataFrame,
    settings: Settings,
    run: _Runner,
    chash: str | None,
    file_rows: RowNumbers | None = None,
) -> _PoolSteps:
    """The steps up to the matching pool, and what the propensity model reads."""
    m = settings.matching
    rows_read = {} if chash is None else _file_rows_read(cohort, file_rows)
    # the frames carry every column, the MRD groups and the file rows included
    frame_reads = {
        "cohort": chash,
        **rows_read,
        **_fields(settings, "matching.covariates", "mrd", "eligibility"),
    }
    prepared = run(
        "prepare", frame_reads, lambda: prepare_cohort(cohort, settings, file_rows=file_rows)
    )
    # who may enter the comparison (by default the study's IR/HR historical pool)
    pool: EligiblePool = run(
        "eligible_pool", frame_reads, lambda: eligible_pool(prepared, settings.eligibility)
    )
    cases: CompleteCases = run(
        "complete_cases",
        {**frame_reads, **_fields(settings, "matching.exact")},
        lambda: complete_cases(pool.frame, m.covariates, m.exact),
    )
    # the propensity model reads neither the MRD groups (unless it is fitted on them)
    # nor anything downstream
    pool_columns = [*m.covariates, *m.exact, settings.eligibility.range_column]
    model_reads = {
        "cohort": chash,
        **rows_read,
        **_fields(settings, "matching.covariates", "matching.exact", "eligibility"),
        **(_fields(settings, "mrd") if _reads_mrd(pool_columns) else {}),
    }
    return _PoolSteps(prepared, pool, cases, model_reads)


def _sweep_reads(settings: Settings, model_reads: dict[str, Any]) -> dict[str, Any]:
    """What the caliper sweep reads: the model's inputs and the matching but its caliper."""
    return {
        **model_reads,
        "matching": replace(settings.matching, caliper=None),
        **_fields(settings, "sweep_calipers", "conf_level"),
    }


#: The parts that analyse the sample (matched, weighted or all patients).
_SAMPLE_PARTS = frozenset({"survival", "estimates", "immortal", "competing", "forest", "mrd"})


def _wanted_parts(parts: Collection[str] | None) -> frozenset[str]:
    """``parts`` checked against :data:`PARTS` (all of them when ``None``)."""
    if parts is None:
        return frozenset(PARTS)
    if isinstance(parts, str):
        parts = [parts]
    unknown = sorted(str(p) for p in parts if p not in PARTS)
    if unknown:
        raise InputError(
            f"unknown analysis part(s) {', '.join(unknown)}; known: {', '.join(PARTS)}"
        )
    return frozenset(parts)


def _pool_warnings(pool: EligiblePool, cases: CompleteCases) -> list[Notice]:
    """What the eligibility and complete-case steps leave out, as notices."""
    warnings = [
        Notice(
            f"Eligibility criterion on {col!r} not applied: this cohort has no such column.",
            code="data.eligibility_not_applied",
            topics=("data",),
        )
        for col in pool.skipped
    ]
    # patients without a complete outcome are excluded from every analysis: list them
    if len(cases.excluded_outcome):
        warnings.append(
            Notice(
                f"{len(cases.excluded_outcome)} patient(s) have a missing outcome and are "
                "excluded from every analysis (listed under 'excluded: missing outcome').",
                code="data.missing_outcome",
                topics=("data", "population"),
                patients=_patient_ids(cases.excluded_outcome),
            )
        )
    # patients without a complete propensity covariate set cannot be matched: list them
    if len(cases.excluded_matching):
        warnings.append(
            Notice(
                f"{len(cases.excluded_matching)} patient(s) lack a matching covariate and "
                "cannot be matched (listed under 'excluded from matching').",
                code="matching.missing_covariate",
                topics=("matching", "data"),
                patients=_patient_ids(cases.excluded_matching),
            )
        )
    return warnings


def _matching_summary(
    n: dict[str, int], pool: EligiblePool, match_error: str | None
) -> MatchingSummary:
    """The matching summary's fields known before matching."""
    return {
        "n_treated": n[ARMS[0]],
        "n_control_pool": n[ARMS[1]],
        "n_control_eligible": int((pool.frame["arm"] == ARMS[1]).sum()),
        "eligibility": [str(c) for c in pool.flow.counts["criterion"].tolist()[1:-1]],
        "n_matched_treated": 0,
        "n_matched_controls": 0,
        "caliper_width": None,
        "error": match_error,
    }


def _summarise_matching(
    summary: MatchingSummary,
    res: MatchResult,
    bal: pd.DataFrame,
    efs_hr: pd.Series[Any],
    m: MatchingSettings,
) -> None:
    """Add the matched sample's numbers to ``summary``."""
    summary["n_matched_treated"] = res.n_pairs
    summary["n_matched_controls"] = int(res.pairs["control"].nunique())
    summary["caliper_width"] = res.caliper_width if np.isfinite(res.caliper_width) else None
    summary["caliper_sd"] = m.caliper
    summary["scale"] = m.scale
    summary["max_abs_smd_before"] = _max_abs_smd(bal, "smd_before")
    summary["max_abs_smd_after"] = _max_abs_smd(bal, "smd_after")
    summary["efs_hazard_ratio"] = {
        "hr": float(efs_hr["hr"]),
        "ci_lower": float(efs_hr["ci_lower"]),
        "ci_upper": float(efs_hr["ci_upper"]),
        "method": str(efs_hr["method"]),
        "ph_p": float(efs_hr["ph_p"]),
    }


def _unmatched(res: MatchResult | None) -> pd.DataFrame:
    """Treated patients without a match (an empty table without matching)."""
    if res is None:
        return pd.DataFrame(columns=["patient_id", "propensity", "reason"])
    return res.unmatched.rename(columns={"treated": "patient_id"})


@dataclass(frozen=True)
class _Reads:
    """The inputs the sample's steps read (their step-cache keys)."""

    match: dict[str, Any]
    weight: dict[str, Any]
    pop: dict[str, Any]
    survival: dict[str, Any]
    replicates: int

    @classmethod
    def of(
        cls,
        settings: Settings,
        model_reads: dict[str, Any],
        match_reads: dict[str, Any],
        weight_reads: dict[str, Any],
        replicates: int,
    ) -> _Reads:
        pop_reads = {
            **model_reads,
            **_fields(settings, "population"),
            **(match_reads if settings.population == "matched" else {}),
            **(weight_reads if settings.population == "weighted" else {}),
        }
        flt = settings.subgroup_filter
        survival_reads = {
            **pop_reads,
            **_fields(
                settings,
                "subgroup_filter",
                "origin",
                "landmark_months",
                "horizon_months",
                "conf_level",
                "conf_type",
                "logrank",
                "bootstrap.random_state",
                "relapse_includes_induction_failure",
            ),
            **(_fields(settings, "mrd") if flt is not None and _reads_mrd([flt[0]]) else {}),
            "replicates": replicates,
        }
        return cls(match_reads, weight_reads, pop_reads, survival_reads, replicates)


def _survival_parts(
    result: AnalysisResult,
    want: frozenset[str],
    run: _Runner,
    reads: _Reads,
    sample: StudyPopulation,
    frame: pd.DataFrame,
    complete: pd.DataFrame,
) -> None:
    """The endpoints, the immortal-time table, the four estimates and competing risks."""
    settings = result.settings
    km_key = settings.endpoint if settings.endpoint in ENDPOINTS else "efs"
    keys = list(ENDPOINTS) if "immortal" in want else [km_key] if "survival" in want else []

    def one_endpoint(key: str) -> EndpointResult:
        return endpoint_result(sample, key, settings, replicates=reads.replicates)

    result.endpoints = {
        key: run(f"endpoint:{key}", reads.survival, functools.partial(one_endpoint, key))
        for key in keys
    }
    if "immortal" in want:
        endpoints = result.endpoints
        immortal: _Immortal = run(
            "immortal_time",
            reads.survival,
            lambda: _immortal_time(
                endpoints,
                sample.survival_pop,
                sample.survival_uses,
                _filtered(frame, settings.subgroup_filter),
                settings,
                design=sample.design,
                population=sample.description,
            ),
        )
        result.immortal_time = immortal.table
        result.time_dependent = immortal.sample
        result.time_dependent_all = immortal.all_patients
        result.immortal_advice = immortal.advice
    if "estimates" in want:
        adjust = list(settings.adjust_covariates or settings.matching.covariates)
        res, weighting = result.match, result.weighting
        result.estimates = run(
            "estimates",
            {
                **reads.match,
                **reads.weight,
                **_fields(settings, "conf_level", "e_value_rare_outcome", "adjust_covariates"),
                **(_fields(settings, "mrd") if _reads_mrd(adjust) else {}),
                "endpoint": km_key,
            },
            lambda: effect_estimates(frame, complete, res, weighting, km_key, settings),
        )
    # the forest and MRD groups of a competing endpoint need to know it is available
    if "competing" in want or (want & {"forest", "mrd"} and settings.endpoint in COMPETING):
        try:
            result.competing = run(
                "competing",
                reads.survival,
                lambda: competing_results(sample, settings, replicates=reads.replicates),
            )
        except InputError as exc:
            result.competing_note = f"Cumulative incidence is not available: {exc}."
            if settings.endpoint in COMPETING:
                result.warnings.append(
                    Notice(
                        result.competing_note, code="competing.unavailable", topics=("competing",)
                    )
                )


def _subgroup_parts(
    result: AnalysisResult,
    want: frozenset[str],
    run: _Runner,
    reads: _Reads,
    sample: StudyPopulation,
) -> None:
    """The subgroup forest (one cached step per variable) and the MRD groups."""
    settings = result.settings
    shown = settings.endpoint if settings.endpoint in ENDPOINTS or result.competing else "efs"
    endpoint_reads = {
        **reads.pop,
        **_fields(settings, "conf_level", "relapse_includes_induction_failure"),
        "endpoint": shown,
    }
    if "forest" in want:
        result.forest = _forest_steps(result, run, endpoint_reads, sample, shown)
    if "mrd" in want:
        result.mrd = run(
            "mrd",
            {**endpoint_reads, **_fields(settings, "mrd", "conf_type", "horizon_months")},
            lambda: mrd_result(sample, shown, settings),
        )


def _forest_steps(
    result: AnalysisResult,
    run: _Runner,
    endpoint_reads: dict[str, Any],
    sample: StudyPopulation,
    shown: str,
) -> pd.DataFrame:
    """The forest as one cached step for the overall row and one per subgroup variable,
    so that moving the MRD threshold recomputes only the MRD group's rows."""
    settings = result.settings
    by = [v for v in settings.subgroups if v in sample.pop.columns]
    missing_by = [v for v in settings.subgroups if v not in sample.pop.columns]
    if missing_by:
        result.warnings.append(
            Notice(
                f"Subgroup variable(s) not in this cohort: {', '.join(missing_by)}.",
                code="subgroups.missing_variable",
                topics=("subgroups",),
            )
        )
    overall = run("forest", endpoint_reads, lambda: forest_result(sample, shown, [], settings))
    parts = [overall]
    for var in by:
        var_reads = {**endpoint_reads, **(_fields(settings, "mrd") if _reads_mrd([var]) else {})}
        rows = run(
            f"forest:{var}",
            {**var_reads, "variable": var},
            functools.partial(forest_result, sample, shown, [var], settings, overall=False),
        )
        parts.append(rows)
    filled = [p for p in parts if len(p)]
    table: pd.DataFrame = pd.concat(filled, ignore_index=True) if len(filled) > 1 else overall
    few = table[(table["events_treated"] + table["events_control"]) < 5]
    if len(few):
        result.warnings.append(
            Notice(
                f"{len(few)} subgroup level(s) have fewer than 5 events: their hazard ratios "
                "are imprecise and should not be over-read.",
                code="subgroups.few_events",
                topics=("subgroups",),
                severity="info",
            )
        )
    return table


class _Runner:
    """Runs named steps, through a step cache when given, reporting progress."""

    def __init__(
        self, cache: StepCache | None, progress: Callable[[str, float], None] | None
    ) -> None:
        self.cache = cache
        self.progress = progress

    def __call__(self, step: str, inputs: dict[str, Any], compute: Callable[[], Any]) -> Any:
        if self.progress is not None:
            # a step run per item (the forest per variable: "forest:sex") counts as its base
            base = step if step in STEPS else step.split(":")[0]
            self.progress(step, STEPS.index(base) / len(STEPS))
        if self.cache is None:
            return compute()
        return self.cache.get_or_compute(step, inputs, compute)


@single_blas_thread
def analyze(
    cohort: pd.DataFrame,
    settings: Settings | None = None,
    *,
    sweep: bool = True,
    replicates: int | None = None,
    cache: StepCache | None = None,
    progress: Callable[[str, float], None] | None = None,
    cohort_key: str | None = None,
    parts: Collection[str] | None = None,
    file_rows: RowNumbers | None = None,
) -> AnalysisResult:
    """Compute everything the app shows for ``cohort`` under ``settings``.

    The analysis runs as the named steps of :data:`STEPS` (each a public function
    of this module). With a ``cache``, each step's result is kept under the
    cohort's content hash and the settings fields the step reads, so that a later
    call whose settings differ elsewhere reuses it; the result is identical to
    that of a call without a cache.

    Parameters
    ----------
    cohort : pandas.DataFrame
        A canonical cohort (see ``docs/DATA_DICTIONARY.md``), e.g. from
        :func:`blinastudy.data.cohort.load_cohort` or :func:`blinastudy.data.demo.make_demo_cohort`.
    settings : Settings, optional
        The analysis settings (defaults if omitted).
    sweep : bool, default True
        Also compute the caliper sweep (the heaviest part).
    replicates : int, optional
        Pair-bootstrap replicates for matched-sample intervals (default
        ``settings.bootstrap.replicates``; the app passes its live number; 0 skips
        the bootstrap).
    cache : StepCache, optional
        Where step results are kept and looked up (see :mod:`blinastudy.analysis.stepcache`).
        Cached results are shared between the results returned: do not modify them.
    progress : callable, optional
        Called as ``progress(step, fraction)`` before each step, ``fraction`` being
        the share of :data:`STEPS` before it (from 0 to below 1).
    cohort_key : str, optional
        The cohort's content hash (:func:`cohort_hash`) when the caller already has
        it; computed otherwise.
    parts : collection of str, optional
        The parts of the result to compute, from :data:`PARTS` (default: all). A
        page computes only what it shows; the result's :attr:`AnalysisResult.parts`
        says which were computed, and the fields of the others keep their empty
        defaults. Whatever is computed is identical to the same field of a full
        analysis.
    file_rows : sequence of int, optional
        The row of the user's file each patient is on (``rows`` of the
        :class:`~blinastudy.data.table.FileTable` from
        :func:`blinastudy.data.cohort.load_file` or
        :func:`~blinastudy.data.cohort.combine_files`): excluded patients are then
        listed with their ``file_row`` (see :func:`prepare_cohort`).

    Returns
    -------
    AnalysisResult

    Raises
    ------
    InputError
        When the cohort lacks what the analysis needs, or ``parts`` names an
        unknown part; the message says what.

    Examples
    --------
    >>> from blinastudy.data.demo import make_demo_cohort
    >>> res = analyze(make_demo_cohort(), Settings(), sweep=False)
    >>> res.n
    {'blinatumomab': 90, 'chemotherapy': 1000}

    With a step cache, moving the MRD threshold refits no propensity model:

    >>> from blinastudy.analysis.stepcache import StepCache
    >>> steps = StepCache()
    >>> cohort = make_demo_cohort()
    >>> _ = analyze(cohort, Settings(), sweep=False, replicates=0, cache=steps)
    >>> moved = Settings().update(mrd__threshold_pct=0.01)
    >>> _ = analyze(cohort, moved, sweep=False, replicates=0, cache=steps)
    >>> steps.runs["propensity"], steps.runs["matching"], steps.runs["mrd"]
    (1, 1, 2)

    Only what the MRD page shows:

    >>> only = analyze(cohort, moved, sweep=False, cache=steps, parts=["mrd"])
    >>> sorted(only.parts), only.forest.empty, only.mrd is not None
    (['mrd'], True, True)
    """
    settings = settings or Settings()
    want = _wanted_parts(parts)
    m = settings.matching
    run = _Runner(cache, progress)
    chash = _cohort_key(cohort, cache, cohort_key)
    reps = settings.bootstrap.replicates if replicates is None else replicates
    base = _pool_steps(cohort, settings, run, chash, file_rows)
    prepared, pool, cases, model_reads = base.prepared, base.pool, base.cases, base.model_reads
    n = {arm: int((prepared["arm"] == arm).sum()) for arm in ARMS}
    warnings = _pool_warnings(pool, cases)
    frame, complete = cases.with_outcome, cases.complete
    match_reads = {
        **model_reads,
        **_fields(settings, "matching"),
        "mrd_group_column": "mrd_group" in complete.columns,
    }
    res: MatchResult | None = None
    match_error: str | None = None
    model: PropensityModel | None = None
    try:
        model = run("propensity", model_reads, lambda: propensity_model(complete, m.covariates))
        fitted = model
        res = with_current_columns(
            run("matching", match_reads, lambda: run_matching(complete, m, fitted)), complete
        )
    except InputError as exc:
        match_error = str(exc)
        warnings.append(
            Notice(f"Matching failed: {exc}", code="matching.failed", topics=("matching",))
        )
    if model is not None:
        warnings.extend(
            Notice(w, code="matching.propensity_fit", topics=("matching",))
            for w in propensity_warnings(model)
        )
    warnings.extend(_control_only_warnings(complete, m.covariates))
    bal = pd.DataFrame()
    summary = _matching_summary(n, pool, match_error)
    if res is not None and "matching" in want:
        matched_res = res
        bal = run(
            "balance",
            match_reads,
            lambda: matching_balance(complete, m.covariates, matched_res),
        )
        efs_hr = run(
            "matched_efs_hr",
            {**match_reads, **_fields(settings, "conf_level")},
            lambda: matched_efs_hazard_ratio(matched_res, settings.conf_level),
        ).iloc[0]
        _summarise_matching(summary, res, bal, efs_hr, m)
    if model is not None:
        summary["propensity_converged"] = model.converged
        summary["propensity_iterations"] = model.iterations
        summary["separation"] = model.separation
    baseline_before = pd.DataFrame()
    baseline_after = None
    if "baseline" in want:
        base_vars = baseline_variables(list(frame.columns), m.covariates)
        base_mrd = _fields(settings, "mrd") if _reads_mrd(base_vars) else {}
        baseline_before = run(
            "baseline_before",
            {**model_reads, **base_mrd},
            lambda: baseline_table(frame, TREATED, base_vars),
        )
        if res is not None:
            matched_res = res
            baseline_after = run(
                "baseline_after",
                {**match_reads, **base_mrd},
                lambda: baseline_table(matched_res.matched, TREATED, base_vars),
            )
    weighting: WeightingResult | None = None
    weight_reads = {**model_reads, **_fields(settings, "weighting")}
    needs_weights = bool(want & {"matching", "estimates"}) or (
        settings.population == "weighted" and bool(want & _SAMPLE_PARTS)
    )
    if needs_weights and len(complete) and all((complete["arm"] == a).any() for a in ARMS):
        try:
            weighting = run("weighting", weight_reads, lambda: weighting_result(complete, settings))
        except InputError as exc:
            warnings.append(
                Notice(
                    f"Propensity weighting is not available: {exc}",
                    code="weighting.unavailable",
                    topics=("weighting",),
                )
            )
    result = AnalysisResult(
        settings=settings,
        cohort_hash=chash if chash is not None else cohort_hash(cohort),
        version=__version__,
        n=n,
        warnings=warnings,
        match=res,
        match_error=match_error,
        matching_summary=summary,
        unmatched=_unmatched(res),
        excluded_from_matching=cases.excluded_matching,
        excluded_outcome=cases.excluded_outcome,
        balance=bal,
        baseline_before=baseline_before,
        baseline_after=baseline_after,
        overlap=_overlap(frame, res) if "matching" in want else pd.DataFrame(),
        endpoints={},
        immortal_time=pd.DataFrame(),
        mrd=None,
        forest=pd.DataFrame(),
        blina_start_median=_start_median(frame),
        flow=patient_flow(pool.flow, frame, complete, res),
        ineligible=pool.flow.excluded,
        weighting=weighting,
        parts=frozenset(want),
    )
    if want & _SAMPLE_PARTS:
        sample = study_population(
            frame, complete, res, weighting, settings.population, settings.subgroup_filter
        )
        warnings.extend(sample.warnings)
        result.design = sample.design
        reads = _Reads.of(settings, model_reads, match_reads, weight_reads, reps)
        _survival_parts(result, want, run, reads, sample, frame, complete)
        _subgroup_parts(result, want, run, reads, sample)
    if sweep and len(complete):
        sweep_model = model
        result.sweep = run(
            "sweep",
            _sweep_reads(settings, model_reads),
            lambda: caliper_sweep(complete, settings, model=sweep_model),
        )
    return result


@single_blas_thread
def sweep_result(
    cohort: pd.DataFrame,
    settings: Settings | None = None,
    *,
    cache: StepCache | None = None,
    progress: Callable[[str, float], None] | None = None,
    cohort_key: str | None = None,
) -> pd.DataFrame:
    """The caliper sweep of ``cohort`` alone: ``analyze(cohort, settings).sweep``.

    Runs only the steps the sweep reads (cohort preparation, eligibility, complete
    cases, propensity model), with the same cache keys as :func:`analyze`, so that
    the propensity model is fitted once for both.

    Examples
    --------
    >>> from blinastudy.data.demo import make_demo_cohort
    >>> from blinastudy.analysis.stepcache import StepCache
    >>> steps = StepCache()
    >>> s = Settings(sweep_calipers=(0.1, 0.2))
    >>> table = sweep_result(make_demo_cohort(), s, cache=steps)
    >>> table["caliper"].tolist(), steps.runs["propensity"]
    ([0.1, 0.2], 1)
    """
    settings = settings or Settings()
    run = _Runner(cache, progress)
    base = _pool_steps(cohort, settings, run, _cohort_key(cohort, cache, cohort_key))
    complete = base.cases.complete
    if not len(complete):
        return pd.DataFrame()
    model = run(
        "propensity",
        base.model_reads,
        lambda: propensity_model(complete, settings.matching.covariates),
    )
    table: pd.DataFrame = run(
        "sweep",
        _sweep_reads(settings, base.model_reads),
        lambda: caliper_sweep(complete, settings, model=model),
    )
    return table

"""The result contract of an analysis: what :func:`~blinastudy.analysis.steps.analyze`
returns, field by field, and the working-column names its tables use.

:class:`AnalysisResult` holds everything the pages, the report, the slides and the
command line show; :class:`EndpointResult` one endpoint's survival comparison,
:class:`CompetingResult` one competing-risks endpoint, :class:`WeightingResult` the
propensity-weighted comparison, :class:`MrdResult` the MRD analysis and
:class:`SampleDesign` how the matched sample is analysed. Every table's columns and
units, and when a field is None, are documented on the class.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, TypedDict

import numpy as np
import pandas as pd

from blinastudy.analysis.settings import Settings
from blinastudy.stats.bootstrap import BootstrapResult
from blinastudy.stats.matching import MatchResult
from blinastudy.stats.model_checks import (
    PhCheck,
    RmstComparison,
)
from blinastudy.stats.survival import (
    LogRankResult,
)
from blinastudy.stats.survival.cuminc import (
    GrayTest,
)
from blinastudy.stats.survival.cutpoint import CutpointResult
from blinastudy.stats.timedep import TimeDependentResult

__all__ = [
    "ARMS",
    "CAUSE",
    "COMPETING",
    "COMPETING_LABELS",
    "ENDPOINTS",
    "ENDPOINT_LABELS",
    "FILE_ROW",
    "NOTICE_TOPICS",
    "OUTCOME_COLUMNS",
    "PAIR",
    "PARTS",
    "PATIENT",
    "REQUIRED",
    "TREATED",
    "WEIGHT",
    "AnalysisResult",
    "CompetingResult",
    "EndpointResult",
    "MatchedHazardRatio",
    "MatchingSummary",
    "MrdResult",
    "Notice",
    "SampleDesign",
    "WeightingResult",
]

ARMS = ("blinatumomab", "chemotherapy")
ENDPOINTS = {
    "efs": ("efs_months", "efs_event", "Event-free survival"),
    "os": ("os_months", "os_event", "Overall survival"),
}
#: The outcome columns: a patient missing any of them is excluded from every analysis.
OUTCOME_COLUMNS = tuple(c for tcol, ecol, _ in ENDPOINTS.values() for c in (tcol, ecol))
#: Display name of each endpoint.
ENDPOINT_LABELS = {key: label for key, (_, _, label) in ENDPOINTS.items()}
REQUIRED = ["patient_id", "arm", "efs_months", "efs_event", "os_months", "os_event"]
TREATED = "_treated"
#: Column of the working frame with the row number in the user's file, where known.
FILE_ROW = "file_row"
PAIR = "pair"
#: Working column: 1 where the first EFS event is the competing-risks cause shown.
CAUSE = "_cause"
WEIGHT = "weight"
#: Column of the patient identifier on rows per use of a patient (reused controls).
PATIENT = "_patient"


class MatchedHazardRatio(TypedDict):
    """The EFS hazard ratio of the whole matched sample (no subgroup restriction)."""

    hr: float
    ci_lower: float
    ci_upper: float
    method: str
    """How it was estimated (``"ml-robust"``, ``"firth"``, ...)."""
    ph_p: float
    """The proportional-hazards test's p (``cox.zph``, global)."""


class MatchingSummary(TypedDict, total=False):
    """The matching in numbers (:attr:`AnalysisResult.matching_summary`), JSON-ready.

    Always present: ``n_treated``, ``n_control_pool`` (all controls),
    ``n_control_eligible``, ``eligibility`` (criteria applied), ``n_matched_treated``,
    ``n_matched_controls``, ``caliper_width`` (absolute, on the distance scale, or
    None), ``error`` (why matching failed, or None). When matched: ``caliper_sd``,
    ``scale``, ``max_abs_smd_before``/``_after`` and ``efs_hazard_ratio``. With a
    propensity model: ``propensity_converged``, ``propensity_iterations``,
    ``separation``.
    """

    n_treated: int
    n_control_pool: int
    n_control_eligible: int
    eligibility: list[str]
    n_matched_treated: int
    n_matched_controls: int
    caliper_width: float | None
    error: str | None
    caliper_sd: float | None
    scale: str
    max_abs_smd_before: float
    max_abs_smd_after: float
    efs_hazard_ratio: MatchedHazardRatio
    propensity_converged: bool
    propensity_iterations: int
    separation: bool


#: What a notice is about; a page shows the notices of its topics.
NOTICE_TOPICS = ("data", "matching", "population", "weighting", "competing", "subgroups")


class Notice(str):
    """A sentence a reader must see, with what it is about, as a typed record.

    It is its message (a ``str``: printed, escaped and searched as before), and it
    carries ``code`` (a stable identifier, e.g. ``"matching.failed"``), ``topics``
    (from :data:`NOTICE_TOPICS`: the pages that show it), ``severity``
    (``"warning"`` or ``"info"``) and ``patients`` (the patient_ids it is about,
    where it names any), so that pages choose notices by topic, never by their text.

    Examples
    --------
    >>> n = Notice("2 patient(s) have a missing outcome.", code="data.missing_outcome",
    ...            topics=("data", "population"), patients=("P1", "P2"))
    >>> n.code, n.topics, "missing outcome" in n, n.message == n
    ('data.missing_outcome', ('data', 'population'), True, True)
    >>> import pickle
    >>> pickle.loads(pickle.dumps(n)).patients
    ('P1', 'P2')
    """

    code: str
    topics: tuple[str, ...]
    severity: str
    patients: tuple[str, ...]

    def __new__(
        cls,
        message: str,
        *,
        code: str,
        topics: tuple[str, ...],
        severity: str = "warning",
        patients: tuple[str, ...] = (),
    ) -> Notice:
        unknown = [t for t in topics if t not in NOTICE_TOPICS]
        if unknown or not topics:
            raise ValueError(f"notice topics must be among {NOTICE_TOPICS}; got {topics}")
        if severity not in ("warning", "info"):
            raise ValueError(f"notice severity must be 'warning' or 'info'; got {severity}")
        self = super().__new__(cls, message)
        self.code = code
        self.topics = tuple(topics)
        self.severity = severity
        self.patients = tuple(str(p) for p in patients)
        return self

    @property
    def message(self) -> str:
        """The sentence itself, as a plain ``str``."""
        return str.__str__(self)

    def __getnewargs_ex__(self) -> tuple[tuple[str], dict[str, Any]]:
        fields = {"code": self.code, "topics": self.topics, "severity": self.severity}
        return (self.message,), {**fields, "patients": self.patients}

    def record(self) -> dict[str, Any]:
        """The notice as a JSON-ready dictionary.

        Examples
        --------
        >>> Notice("x", code="a.b", topics=("data",)).record()["topics"]
        ['data']
        """
        return {
            "code": self.code,
            "topics": list(self.topics),
            "severity": self.severity,
            "message": self.message,
            "patients": list(self.patients),
        }


@dataclass
class EndpointResult:
    """Survival comparison of the two arms for one endpoint.

    ``logrank`` is the test shown (``logrank_label`` says which):
    ``logrank_stratified`` stratifies by matched set (``survdiff(... +
    strata(pair))``, only for matching without replacement), ``logrank_plain``
    ignores the matching. ``difference`` is survival at the horizon, blinatumomab
    minus chemotherapy, with ``difference_method`` saying how its interval was
    made (a pair bootstrap on matched samples, ``difference_bootstrap``).
    ``hazard_ratio_bootstrap`` is a pair-bootstrap interval for a Firth hazard
    ratio (whose profile interval ignores the pairing). ``notes`` are plain
    sentences a reader needs next to these numbers. The horizon counts from the time
    origin (``origin``); when an arm is not followed that long, ``horizon_note``
    says so and ``horizon_max`` is the latest month (whole months) with both arms
    still under follow-up. ``ph`` is the proportional-hazards test of the Cox model
    behind ``hazard_ratio`` (``cox.zph``) and ``rmst`` the restricted mean survival
    up to the horizon per arm and their difference (a pair-bootstrap interval on
    matched samples).
    """

    endpoint: str
    label: str
    origin: str
    n: dict[str, int]
    events: dict[str, int]
    km: dict[str, pd.DataFrame]
    curve: pd.DataFrame
    censor_marks: pd.DataFrame
    risk_table: pd.DataFrame
    at_horizon: pd.DataFrame
    difference: dict[str, float]
    medians: pd.DataFrame
    logrank: LogRankResult | None
    hazard_ratio: pd.DataFrame
    excluded: pd.DataFrame
    logrank_plain: LogRankResult | None = None
    logrank_stratified: LogRankResult | None = None
    logrank_label: str = ""
    difference_method: str = ""
    difference_bootstrap: BootstrapResult | None = None
    hazard_ratio_bootstrap: BootstrapResult | None = None
    notes: list[str] = field(default_factory=list)
    horizon_note: str = ""
    horizon_max: float = float("nan")
    population: str = ""
    ph: PhCheck | None = None
    rmst: RmstComparison | None = None


@dataclass(frozen=True)
class SampleDesign:
    """How the rows of the analysed sample relate to each other.

    Attributes
    ----------
    cluster : str or None
        Column of the robust-variance clusters (the matched set); ``None``:
        independent patients.
    strata : str or None
        Column of matched sets for the stratified log-rank test; ``None`` when
        sets share patients (matching with replacement) or there is no matching.
    resample : str or None
        Column of the units the bootstrap resamples (matched sets).
    weights : str or None
        Column of MatchIt's matching weights when they are not all equal (1:k
        sets of unequal size, reused controls): curves, Cox models and the
        bootstrap are weighted, as the MatchIt vignette on survival outcomes does.
    reused : bool
        Controls may be reused (matching with replacement): the hazard ratio is
        fitted on one row per use (``get_matches()``) with Austin and Cafri's
        variance, clustered on matched set and patient.
    description : str
        The sample in words, e.g. "90 matched pairs".
    """

    cluster: str | None = None
    strata: str | None = None
    resample: str | None = None
    weights: str | None = None
    reused: bool = False
    description: str = "all patients"

    @property
    def matched(self) -> bool:
        """Whether the sample is a matched one."""
        return self.resample is not None


#: Competing-risks endpoints: label, the event types of interest (induction failure
#: joins relapse when ``Settings.relapse_includes_induction_failure``).
COMPETING: dict[str, tuple[str, tuple[str, ...]]] = {
    "cir": ("Cumulative incidence of relapse", ("relapse",)),
    "trm": ("Treatment-related mortality (death in remission)", ("death-in-remission",)),
}
#: Display name of each competing-risks endpoint.
COMPETING_LABELS = {key: label for key, (label, _) in COMPETING.items()}


@dataclass
class CompetingResult:
    """Competing-risks comparison of the two arms for one cause (cmprsk conventions).

    ``curve`` holds the Aalen-Johansen cumulative incidence per arm (``cause``
    ``"interest"``) and of the competing events (``"competing"``) with the
    log(-log) interval; ``risk_table`` counts patients at risk and events of
    interest, competing events and censorings up to each tick; ``at_horizon`` the
    incidence of the cause at the horizon per arm; ``difference`` blinatumomab minus
    chemotherapy (``difference_method`` says how its interval was made); ``gray``
    Gray's test (``cuminc``'s ``Tests``); ``fine_gray`` the subdistribution hazard
    ratio (``crr``); ``cause_specific`` the cause-specific hazard ratio (Cox with
    competing events censored, robust by matched set on matched samples).
    """

    endpoint: str
    label: str
    origin: str
    population: str
    n: dict[str, int]
    events: dict[str, int]
    competing: dict[str, int]
    curve: pd.DataFrame
    risk_table: pd.DataFrame
    at_horizon: pd.DataFrame
    difference: dict[str, float]
    difference_method: str
    gray: GrayTest | None
    fine_gray: pd.DataFrame
    cause_specific: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    one_minus_km: dict[str, float] = field(default_factory=dict)
    """1 - Kaplan-Meier of the cause at the horizon per arm, competing events censored:
    the naive estimate that overstates the incidence (shown for teaching)."""
    ph: PhCheck | None = None
    """Proportional-hazards test (``cox.zph``) of the cause-specific Cox model."""


@dataclass
class WeightingResult:
    """Propensity-score weights of the comparison (``Settings.weighting``).

    ``weights`` per patient of the matching pool (index patient_id); ``balance`` the
    weighted balance table with the estimand's SD convention; ``ess`` Kish's
    effective sample size per arm; ``distribution`` quantiles of the weights per arm;
    ``largest`` the ten largest weights with their patients; ``warnings`` plain
    sentences about extreme weights.
    """

    estimand: str
    weights: pd.Series
    balance: pd.DataFrame
    ess: dict[str, float]
    distribution: pd.DataFrame
    largest: pd.DataFrame
    warnings: list[str]


@dataclass
class MrdResult:
    """Outcome by MRD group at the chosen time point and threshold.

    ``measure`` is ``"survival"`` (Kaplan-Meier, for EFS and OS) or ``"incidence"``
    (cumulative incidence of the cause, for CIR and TRM); ``groups`` holds it at the
    horizon per group and arm in that column with ``ci_lower``, ``ci_upper``, and
    ``curve`` the curves (``time``, the measure, limits, ``group``, ``arm``).
    """

    column: str
    threshold_pct: float
    groups: pd.DataFrame
    curve: pd.DataFrame
    changed: pd.DataFrame
    missing: int
    measure: str = "survival"
    cutpoint: CutpointResult | None = None
    threshold_p: float = float("nan")
    """Plain log-rank p of the chosen threshold (both arms): naive, since the threshold
    may have been chosen after seeing the curves; the maximally selected cut-point's
    p (``cutpoint.p_value``) accounts for the search."""


#: The parts of an analysis a caller may ask for (``analyze(parts=...)``), each what a
#: page shows. ``matching``: balance, matched hazard ratio, overlap and the weights;
#: ``baseline``: the two Table 1s; ``survival``: the selected endpoint's curves and
#: comparison; ``estimates``: the four estimates; ``immortal``: both endpoints and
#: the immortal-time table; ``competing``: cumulative incidence; ``forest`` and
#: ``mrd``: the subgroup forest and the MRD groups. The eligible pool, complete
#: cases, propensity model, matching, patient flow and warnings about them are
#: always computed.
PARTS = (
    "matching",
    "baseline",
    "survival",
    "estimates",
    "immortal",
    "competing",
    "forest",
    "mrd",
)


@dataclass
class AnalysisResult:
    """Everything the pages, report, slides and command line show.

    Every table is a pandas DataFrame with the columns listed; a patient table
    names patients by ``patient_id`` (the cohort's identifier). Times are months,
    proportions are 0 to 1, hazard ratios blinatumomab versus chemotherapy, and
    intervals at ``settings.conf_level``.
    """

    settings: Settings
    """The settings the analysis ran with (the whole state; JSON round-trip)."""
    cohort_hash: str
    """SHA-256 of the cohort's content (:func:`cohort_hash`)."""
    version: str
    """BlinaStudy version that computed it."""
    n: dict[str, int]
    """Eligible patients per arm (``"blinatumomab"``, ``"chemotherapy"``)."""
    warnings: list[Notice]
    """What a reader must see (excluded patients, failed matching, weights...), each a
    :class:`Notice`: its message, a code, its topics and the patients it names."""
    match: MatchResult | None
    """The matching (pairs, weights, propensity); ``None`` when it failed."""
    match_error: str | None
    """Why matching failed, or ``None``."""
    matching_summary: MatchingSummary
    """The matching in numbers (a typed record: :class:`MatchingSummary`)."""
    unmatched: pd.DataFrame
    """Treated patients without a match: ``patient_id, propensity, reason``."""
    excluded_from_matching: pd.DataFrame
    """Patients lacking a matching covariate: ``patient_id, arm, reason``."""
    excluded_outcome: pd.DataFrame
    """Patients without a complete outcome (left out of everything):
    ``patient_id, arm, reason`` (and ``file_row`` where known)."""
    balance: pd.DataFrame
    """Indexed by ``covariate`` (model term): ``smd_before, smd_after,
    variance_ratio_before, variance_ratio_after`` (NaN for 0/1 terms, as MatchIt)
    and the arm means before and after (MatchIt ``summary()``, ATT)."""
    baseline_before: pd.DataFrame
    """Table 1 of the eligible patients: ``variable, level, blinatumomab,
    chemotherapy`` (formatted text), ``smd`` (tableone convention),
    ``missing_blinatumomab, missing_chemotherapy``."""
    baseline_after: pd.DataFrame | None
    """The same for the matched sample; ``None`` without matching."""
    overlap: pd.DataFrame
    """Propensity histograms: ``sample`` (before/after matching), ``arm,
    bin_start, bin_end, count``."""
    endpoints: dict[str, EndpointResult]
    """EFS and OS (keys ``"efs"``, ``"os"``) on the population analysed."""
    immortal_time: pd.DataFrame
    """Per endpoint and ``analysis`` (``diagnosis``, ``landmark``,
    ``time-dependent``, ``time-dependent, all patients``): ``origin, population,
    n_/events_blinatumomab, n_/events_chemotherapy, hr, ci_lower, ci_upper, method,
    p_value`` (the ``test`` named), ``ph_p`` (cox.zph), ``excluded`` (patients left
    out) and for the time-dependent rows ``events_exposed, events_unexposed,
    months_exposed, months_unexposed``."""
    mrd: MrdResult | None
    """Outcome by MRD group; ``None`` without the MRD column."""
    forest: pd.DataFrame
    """Subgroup hazard ratios, columns of :data:`blinastudy.stats.subgroups.FOREST_COLUMNS`
    (the first row is the overall estimate)."""
    sweep: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Caliper sweep (when asked for): ``caliper, caliper_width, n_matched_treated,
    max_abs_smd, hr, ci_lower, ci_upper, method, ph_p``."""
    design: SampleDesign = field(default_factory=lambda: SampleDesign())
    """How the analysed rows relate (clusters, strata, weights)."""
    blina_start_median: float | None = None
    """Median months from diagnosis to the first dose (treated), where recorded."""
    flow: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Patient flow: ``step, blinatumomab, chemotherapy, total``."""
    ineligible: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Patients not eligible: ``patient_id, arm, criterion, value, reason``."""
    competing: dict[str, CompetingResult] = field(default_factory=dict)
    """CIR and TRM (keys ``"cir"``, ``"trm"``) when ``event_type`` is known."""
    competing_note: str = ""
    """Why cumulative incidence is not available, or empty."""
    weighting: WeightingResult | None = None
    """Propensity-score weights of the eligible pool; ``None`` when not estimable."""
    estimates: pd.DataFrame = field(default_factory=pd.DataFrame)
    """One question, four answers: ``estimate`` (crude, matched, weighted,
    adjusted), ``population, n, events, hr, ci_lower, ci_upper, p_value, method,
    e_value, e_value_ci, ph_p``."""
    time_dependent: dict[str, TimeDependentResult] = field(default_factory=dict)
    """Blinatumomab as a time-dependent exposure per endpoint, on the sample analysed."""
    time_dependent_all: dict[str, TimeDependentResult] = field(default_factory=dict)
    """The same on all eligible patients, unweighted, when the sample analysed is a
    matched or weighted one (matching does not apply to it)."""
    immortal_advice: dict[str, str] = field(default_factory=dict)
    """Per endpoint, which immortal-time estimate to quote and why, in plain words."""
    parts: frozenset[str] = field(default_factory=lambda: frozenset(PARTS))
    """The parts of :data:`PARTS` computed (all, unless the caller asked for fewer);
    the fields of the others keep their empty defaults."""

    @property
    def endpoint(self) -> EndpointResult:
        """The survival endpoint selected in the settings (EFS when a competing-risks
        endpoint is selected: its curves are in :attr:`competing`)."""
        key = self.settings.endpoint
        return self.endpoints[key if key in self.endpoints else "efs"]

    def numbers(self) -> dict[str, Any]:
        """The headline numbers as plain JSON-ready values (for results.json and tests).

        Examples
        --------
        >>> from blinastudy.analysis import analyze
        >>> from blinastudy.analysis.settings import Settings
        >>> from blinastudy.data.demo import make_demo_cohort
        >>> res = analyze(make_demo_cohort(), Settings())
        >>> res.numbers()["matching"]["n_matched_treated"]
        90
        """

        def clean(x: Any) -> Any:
            if isinstance(x, dict):
                return {str(k): clean(v) for k, v in x.items()}
            if isinstance(x, (list, tuple)):
                return [clean(v) for v in x]
            if isinstance(x, (np.integer,)):
                return int(x)
            if isinstance(x, (float, np.floating)):
                return None if not np.isfinite(x) else float(x)
            return x

        out: dict[str, Any] = {
            "version": self.version,
            "cohort_hash": self.cohort_hash,
            "settings": self.settings.to_dict(),
            "n": self.n,
            "excluded": {
                "missing_outcome": len(self.excluded_outcome),
                "missing_matching_covariate": len(self.excluded_from_matching),
            },
            "warnings": [w.message for w in self.warnings],
            "notices": [w.record() for w in self.warnings],
            "population": self.design.description,
            "flow": self.flow.to_dict(orient="records"),
            "matching": self.matching_summary,
            "endpoints": {},
            "forest": self.forest.to_dict(orient="records"),
            "immortal_time": self.immortal_time.to_dict(orient="records"),
            "immortal_advice": dict(self.immortal_advice),
        }
        for key, ep in self.endpoints.items():
            out["endpoints"][key] = {
                "n": ep.n,
                "events": ep.events,
                "at_horizon": ep.at_horizon.to_dict(orient="records"),
                "difference": ep.difference,
                "medians": ep.medians.to_dict(orient="records"),
                "logrank_p": None if ep.logrank is None else ep.logrank.p_value,
                "logrank_statistic": None if ep.logrank is None else ep.logrank.statistic,
                "logrank_test": ep.logrank_label,
                "logrank_plain_p": None if ep.logrank_plain is None else ep.logrank_plain.p_value,
                "difference_method": ep.difference_method,
                "hazard_ratio_bootstrap": None
                if ep.hazard_ratio_bootstrap is None
                else asdict(ep.hazard_ratio_bootstrap),
                "notes": list(ep.notes),
                "hazard_ratio": ep.hazard_ratio.reset_index().to_dict(orient="records"),
                "ph_test": None
                if ep.ph is None
                else {"p_value": ep.ph.p_value, "chisq": ep.ph.chisq, "note": ep.ph.note},
                "rmst": None if ep.rmst is None else asdict(ep.rmst),
            }
        if self.competing_note:
            out["competing_note"] = self.competing_note
        out["competing"] = {
            key: {
                "label": cr.label,
                "population": cr.population,
                "n": cr.n,
                "events": cr.events,
                "competing_events": cr.competing,
                "at_horizon": cr.at_horizon.to_dict(orient="records"),
                "difference": cr.difference,
                "difference_method": cr.difference_method,
                "gray": None
                if cr.gray is None
                else {
                    "statistic": cr.gray.statistic,
                    "dof": cr.gray.dof,
                    "p_value": cr.gray.p_value,
                },
                "fine_gray": cr.fine_gray.reset_index().to_dict(orient="records"),
                "cause_specific": cr.cause_specific.reset_index().to_dict(orient="records"),
                "cause_specific_ph_p": None if cr.ph is None else cr.ph.p_value,
                "notes": list(cr.notes),
            }
            for key, cr in self.competing.items()
        }
        out["estimates"] = self.estimates.to_dict(orient="records")
        if self.weighting is not None:
            out["weighting"] = {
                "estimand": self.weighting.estimand,
                "effective_sample_size": self.weighting.ess,
                "distribution": self.weighting.distribution.to_dict(orient="records"),
                "warnings": list(self.weighting.warnings),
            }
        if self.mrd is not None:
            cut = self.mrd.cutpoint
            out["mrd"] = {
                "measure": self.mrd.measure,
                "groups": self.mrd.groups.to_dict(orient="records"),
                "threshold_p_naive": self.mrd.threshold_p,
                "maximally_selected": None
                if cut is None
                else {
                    "cutpoint": cut.cutpoint,
                    "statistic": cut.statistic,
                    "p_value": cut.p_value,
                    "minprop": cut.minprop,
                    "maxprop": cut.maxprop,
                },
            }
        if not self.sweep.empty:
            out["sweep"] = self.sweep.to_dict(orient="records")
        cleaned: dict[str, Any] = clean(out)
        return cleaned


# ---------------------------------------------------------------------------
# pieces

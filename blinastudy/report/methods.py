"""A methods paragraph written from the settings (and, when given, the result).

:func:`methods_text` describes what :func:`blinastudy.analysis.analyze` did
under a :class:`~blinastudy.analysis.settings.Settings`: the propensity model, the
matching options, balance, the time origin, the survival estimators, the MRD
grouping and the subgroup tests. Every option that changes a number changes the
text. With an :class:`~blinastudy.analysis.AnalysisResult` it also gives the
absolute caliper width, the numbers matched and which estimates needed Firth's
correction.

The small formatting helpers (:func:`fmt_hr`, :func:`fmt_p`, ...) are shared by
the report, the slides and the teaching texts, so numbers read the same
everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from blinastudy import __version__
from blinastudy.analysis.settings import Settings
from blinastudy.core.formatting import fmt_level, fmt_num, is_finite, words
from blinastudy.data.schema import COVARIATE_LABELS, label

if TYPE_CHECKING:
    from blinastudy.analysis import AnalysisResult

__all__ = [
    "COVARIATE_LABELS",
    "ENDPOINT_NAMES",
    "label",
    "methods_text",
    "term_label",
]

#: Endpoint key -> (short name, name, definition).
ENDPOINT_NAMES: dict[str, tuple[str, str, str]] = {
    "efs": (
        "EFS",
        "event-free survival",
        "time to induction failure, relapse, second malignancy or death from any cause",
    ),
    "os": ("OS", "overall survival", "time to death from any cause"),
    "cir": (
        "CIR",
        "cumulative incidence of relapse",
        "time to relapse, with death in remission and second malignancy as competing events",
    ),
    "trm": (
        "TRM",
        "treatment-related mortality",
        "time to death in remission, with relapse, induction failure and second malignancy "
        "as competing events",
    ),
}

_CONF_TYPE = {
    "log-log": "on the log-log scale",
    "log": "on the log scale",
    "plain": "on the plain (linear) scale",
}

_ORDER = {
    "largest": "treated patients in descending propensity order (highest score first)",
    "smallest": "treated patients in ascending propensity order (lowest score first)",
    "data": "treated patients in the order of the data file",
}


# ---------------------------------------------------------------------------
# formatting


def term_label(term: str, covariates: Iterable[str]) -> str:
    """A balance-table or model term (``genetic_subtypeTCF3-PBX1``) in words.

    Examples
    --------
    >>> term_label("genetic_subtypeTCF3-PBX1", ["age_years", "genetic_subtype"])
    'genetic subtype TCF3-PBX1'
    >>> term_label("age_years", ["age_years"])
    'age'
    """
    for cov in sorted(covariates, key=len, reverse=True):
        if term == cov:
            return label(cov)
        if term.startswith(cov):
            return f"{label(cov)} {term[len(cov) :]}"
    return label(term)


# ---------------------------------------------------------------------------
# the paragraph


def _matching_sentences(settings: Settings, result: AnalysisResult | None) -> list[str]:
    m = settings.matching
    scale = "the logit of the propensity score" if m.scale == "logit" else "the propensity score"
    out = [
        "The propensity score (the probability of receiving blinatumomab given baseline "
        "characteristics) was estimated by logistic regression on "
        f"{words(label(c) for c in m.covariates)}."
    ]
    if m.replace:
        how = f"1:{m.ratio} nearest-neighbour matching with replacement on {scale}"
    else:
        how = f"1:{m.ratio} greedy nearest-neighbour matching without replacement on {scale}"
    parts = [how]
    if m.caliper is None:
        parts.append("without a caliper (every treated patient took its nearest control)")
    else:
        cal = f"caliper {m.caliper:g} SD of {scale}"
        width: Any = None if result is None else result.matching_summary.get("caliper_width")
        if is_finite(width):
            cal += f" (absolute width {float(width):.2f})"
        parts.append(cal)
    if m.order == "random":
        seed = "unseeded" if m.random_state is None else f"seed {m.random_state}"
        parts.append(f"treated patients in random order ({seed})")
    else:
        parts.append(_ORDER[m.order])
    sentence = "Blinatumomab patients were matched to historical controls by " + ", ".join(parts)
    if m.exact:
        sentence += (
            f"; matched patients had to agree exactly on {words(label(c) for c in m.exact)} "
            "(matching within strata)"
        )
    out.append(sentence + ".")
    ties = (
        "among controls at the same distance the one nearest in MatchIt's distance-sorted "
        "order was taken, the lower distance when two were equally near (MatchIt ≥ 4.5.4 "
        "nearest-neighbour rule, so an R cross-check gives the same pairs)"
    )
    if m.replace:
        out.append(
            "A control could serve several treated patients"
            + (f"; each treated patient took its {m.ratio} nearest controls" if m.ratio > 1 else "")
            + f"; {ties}; controls were weighted by MatchIt's matching weights."
        )
    elif m.ratio > 1:
        out.append(
            "Every treated patient received a first control before any received a second "
            f"(MatchIt's order of rounds); {ties}."
        )
    else:
        out.append(ties[0].upper() + ties[1:] + ".")
    if result is not None:
        s = result.matching_summary
        if s.get("error"):
            out.append(f"Matching failed ({s['error']}).")
        else:
            pool = f"a pool of {s['n_control_pool']}"
            eligible = s.get("n_control_eligible")
            if s.get("eligibility") and eligible is not None:
                pool = (
                    f"{eligible} eligible historical controls (of {s['n_control_pool']}; "
                    f"eligibility: {'; '.join(s['eligibility'])})"
                )
            text = (
                f"{s['n_matched_treated']} of {s['n_treated']} blinatumomab patients were "
                f"matched to {s['n_matched_controls']} controls from {pool}"
            )
            n_ex = len(result.excluded_from_matching)
            if n_ex:
                text += f"; {n_ex} patient(s) lacking a matching covariate could not be matched"
            out.append(text + ".")
        n_out = len(result.excluded_outcome)
        if n_out:
            out.append(
                f"{n_out} patient(s) without a complete outcome (time and event for EFS and OS) "
                "were excluded from every analysis."
            )
    balance = (
        "Balance was judged by standardised mean differences as MatchIt's summary() computes "
        "them for the ATT (mean difference over the SD of the blinatumomab patients in the "
        "full sample; |SMD| < 0.1 taken as negligible imbalance), not by significance tests"
    )
    if result is not None and is_finite(result.matching_summary.get("max_abs_smd_after")):
        s = result.matching_summary
        balance += (
            f"; the largest |SMD| was {fmt_num(s.get('max_abs_smd_before'))} before and "
            f"{fmt_num(s.get('max_abs_smd_after'))} after matching"
        )
    out.append(balance + ".")
    return out


def _matched(settings: Settings, result: AnalysisResult | None) -> bool:
    """Whether survival is compared in a matched sample."""
    return settings.population == "matched" and (result is None or result.match is not None)


def _survival_sentences(settings: Settings, result: AnalysisResult | None) -> list[str]:
    out: list[str] = []
    short, name, definition = ENDPOINT_NAMES[settings.endpoint]
    other = "os" if settings.endpoint == "efs" else "efs"
    o_short, o_name, o_definition = ENDPOINT_NAMES[other]
    m = settings.matching
    out.append(
        f"The primary endpoint was {name} ({short}: {definition}); {o_name} "
        f"({o_short}: {o_definition}) was secondary."
    )
    matched = _matched(settings, result)
    if matched:
        pop = "Survival was compared in the matched sample"
    elif settings.population == "matched":
        pop = "Matching failed, so survival was compared in all patients (unadjusted)"
    else:
        pop = (
            "Survival was compared in all patients without matching (an unadjusted "
            "comparison; matching is reported for balance only)"
        )
    if settings.subgroup_filter is not None:
        var, level = settings.subgroup_filter
        pop += f", restricted to patients with {label(var)} = {level}"
    out.append(pop + ".")
    lm = f"{settings.landmark_months:g}"
    if settings.origin == "diagnosis":
        out.append(
            f"Time was measured from diagnosis (time origin diagnosis); a landmark analysis at "
            f"{lm} months, excluding patients with an event or end of follow-up by then and "
            "blinatumomab patients who had not started blinatumomab by then, shows the size of "
            "immortal-time bias."
        )
    else:
        out.append(
            f"Time was measured from a landmark at {lm} months after diagnosis (time origin "
            f"landmark at {lm} months): patients with an event or end of follow-up at or before "
            f"{lm} months, and blinatumomab patients who had not started blinatumomab by "
            f"{lm} months, were excluded, to avoid immortal-time bias; the analysis from "
            "diagnosis is shown for comparison."
        )
    level = fmt_level(settings.conf_level)
    design = None if result is None else result.design
    weighted = design is not None and design.weights is not None
    out.append(
        "Survival curves were estimated by Kaplan-Meier"
        + (" weighted by MatchIt's matching weights (R survfit(..., weights))" if weighted else "")
        + f" with {level} pointwise confidence intervals {_CONF_TYPE[settings.conf_type]} "
        "(Greenwood variance, as R survfit"
        + ("; the infinitesimal-jackknife variance for non-integer weights" if weighted else "")
        + "), with KMunicate-style tables of patients at risk, censored and with an event; "
        f"medians as print(survfit) reports them. Survival at {settings.horizon_months:g} "
        "months was compared by its difference between arms, with "
        + (
            f"a percentile bootstrap interval resampling matched sets ({settings.bootstrap.replicates} "
            f"replicates, seed {settings.bootstrap.random_state}) so that the pairing is respected"
            if matched
            else "a normal-approximation confidence interval"
        )
        + "."
    )
    if matched and not m.replace:
        se = "cluster-robust standard errors (clusters: matched sets)"
        if weighted:
            se = "MatchIt's matching weights and " + se
        test = "the log-rank test stratified by matched set (survdiff(... + strata(pair)))"
    elif matched:
        se = (
            "weights and the standard errors of Austin & Cafri (2020), clustered on matched set "
            "and on patient, as controls could be reused (one row per use of a control)"
        )
        test = "the log-rank test (unweighted)"
    else:
        se = "model-based standard errors"
        test = "the log-rank test"
    out.append(
        f"Arms were compared by {test} and by Cox proportional hazards models with "
        f"Efron ties and {se}, giving hazard ratios with {level} confidence intervals; "
        "times equal up to rounding were treated as ties (R's timefix). Proportional hazards "
        "were tested for every Cox model with the scaled Schoenfeld residuals (R's cox.zph, "
        "Kaplan-Meier transform), and the restricted mean survival time to "
        f"{settings.horizon_months:g} months (area under the Kaplan-Meier curve, as "
        "print(survfit, rmean)) was compared between arms as a measure that does not need "
        "proportional hazards."
    )
    if result is None or result.time_dependent:
        out.append(
            "To remove immortal-time bias without a landmark, blinatumomab was also analysed "
            "as a time-dependent exposure: each patient's follow-up from diagnosis was split "
            "at the first dose (R's tmerge), patients counting as unexposed until then and as "
            "exposed afterwards, with a Cox model on the split follow-up (robust standard "
            "errors clustered on "
            + ("matched set" if matched else "patient")
            + "), the Mantel-Byar test and Simon-Makuch curves (Kaplan-Meier with delayed "
            "entry); matching does not apply when all patients are analysed this way."
        )
    if result is None or result.competing:
        interest = (
            "relapse or induction failure"
            if settings.relapse_includes_induction_failure
            else "relapse"
        )
        out.append(
            f"The cumulative incidence of {interest}, with death in remission and second "
            "malignancy as competing events, and of death in remission (treatment-related "
            "mortality) were estimated by the Aalen-Johansen method with log(-log) "
            f"{level} intervals and compared by Gray's test, with Fine-Gray subdistribution "
            "hazard ratios and cause-specific Cox hazard ratios (competing events censored), "
            "as R's cmprsk computes them."
        )
    firth = (
        "Firth's penalised likelihood with profile likelihood CIs replaced the ordinary "
        "estimate when an arm had no events (Heinze & Schemper 2001); it does not account for "
        "the pairing, so a pair-bootstrap interval is given beside it"
    )
    if result is not None:
        used = [
            ENDPOINT_NAMES[key][0]
            for key, ep in result.endpoints.items()
            if len(ep.hazard_ratio) and str(ep.hazard_ratio["method"].iloc[0]) == "firth"
        ]
        if used:
            firth += f"; it was needed for {words(used)}"
    out.append(firth + ".")
    return out


def _mrd_and_subgroups(settings: Settings, result: AnalysisResult | None) -> list[str]:
    out: list[str] = []
    mrd = settings.mrd
    when = "end-of-induction" if mrd.timepoint == "eoi" else "day-15"
    text = (
        f"For the MRD analysis, patients were grouped by {when} MRD below versus at or above "
        f"the MRD threshold of {mrd.threshold_pct:g}%"
    )
    if mrd.compare_threshold_pct != mrd.threshold_pct:
        text += (
            f"; the patients who change group against the reference threshold of "
            f"{mrd.compare_threshold_pct:g}% are listed (a threshold chosen after seeing the "
            "data inflates significance)"
        )
    out.append(text + ".")
    if settings.subgroups:
        out.append(
            f"Subgroup hazard ratios for {words(label(v) for v in settings.subgroups)} came from "
            "separate Cox models within each level; heterogeneity was assessed by tests of the "
            "treatment-by-subgroup interaction in a Cox model of the whole sample ("
            + (
                "the Wald test with the variance robust to the matched sets, or the likelihood "
                "ratio test where the Wald test was not defined"
                if _matched(settings, result)
                else "likelihood ratio test"
            )
            + "), not by comparing subgroup p-values."
        )
    else:
        out.append("No subgroup analyses were done.")
    if settings.sweep_calipers:
        lo, hi = min(settings.sweep_calipers), max(settings.sweep_calipers)
        out.append(
            f"As a sensitivity analysis, matching and the EFS hazard ratio were repeated for "
            f"{len(settings.sweep_calipers)} caliper widths from {lo:g} to {hi:g} SD."
        )
    return out


def methods_text(settings: Settings, result: AnalysisResult | None = None) -> str:
    """A methods paragraph describing the analysis ``settings`` define.

    Parameters
    ----------
    settings : Settings
        The analysis settings.
    result : AnalysisResult, optional
        The result computed under ``settings``; adds the absolute caliper width,
        the numbers matched, the worst SMDs, where Firth's correction was used
        and the software version.

    Returns
    -------
    str
        One paragraph of plain text (Unicode, no markup).

    Examples
    --------
    >>> from blinastudy.analysis.settings import Settings
    >>> text = methods_text(Settings())
    >>> "1:1 greedy nearest-neighbour matching without replacement" in text
    True
    >>> "caliper 0.2 SD of the logit of the propensity score" in text
    True
    >>> "without a caliper" in methods_text(Settings().update(matching__caliper=None))
    True
    """
    sentences = [
        "Children with B-cell acute lymphoblastic leukaemia who received blinatumomab during "
        "first-line therapy were compared with historical controls treated with chemotherapy "
        "alone (CCLG-ALL-2018)."
    ]
    sentences += _matching_sentences(settings, result)
    sentences += _survival_sentences(settings, result)
    sentences += _mrd_and_subgroups(settings, result)
    version = str(result.version) if result is not None else __version__
    sentences.append(
        f"Analyses used BlinaStudy {version}, whose estimators reproduce R's survival and "
        "MatchIt packages; every export is stamped with the settings, the cohort's SHA-256 "
        "content hash, the version and the date."
    )
    return " ".join(sentences)

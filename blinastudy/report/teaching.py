"""Short explanations for residents, shown beside the controls in teaching mode.

:data:`TEXTS` holds the fixed explanation of each topic (:data:`TITLES` their
headings). :func:`explain` returns the explanation followed, when settings or a
result are given, by what the current analysis shows: the caliper in use and how
many patients it matched, the worst SMDs, the hazard ratios from diagnosis and
from the landmark, the patients who change MRD group, the smallest interaction
p-value, the Firth estimates, the numbers at risk. An explanation adds to the
numbers on the page; it never replaces them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from blinastudy.analysis.results import PARTS
from blinastudy.analysis.settings import Settings
from blinastudy.core.errors import InputError
from blinastudy.core.formatting import (
    fmt_hr,
    fmt_num,
    fmt_pct,
    is_finite,
    p_text,
    words,
)
from blinastudy.report.methods import (
    ENDPOINT_NAMES,
    label,
    term_label,
)
from blinastudy.stats.subgroups import interaction_p

if TYPE_CHECKING:
    from blinastudy.analysis import AnalysisResult

__all__ = [
    "KEYS",
    "TEXTS",
    "TITLES",
    "explain",
    "sweep_summary",
]

#: Heading of each topic.
TITLES: dict[str, str] = {
    "propensity": "Propensity scores",
    "caliper": "The caliper: bias against sample size",
    "smd": "Balance: standardised differences, not p-values",
    "immortal_time": "Immortal time: landmark and time-dependent exposure",
    "mrd_threshold": "Choosing an MRD threshold after the fact",
    "forest": "Reading a forest plot and its interaction p-value",
    "firth": "Firth estimates when an arm has no events",
    "competing": "Competing risks: why 1 - Kaplan-Meier overstates relapse",
    "kmunicate": "The KMunicate table under a survival curve",
    "proportional_hazards": "Is the hazard ratio constant? cox.zph and restricted means",
}

#: The fixed explanation of each topic.
TEXTS: dict[str, str] = {
    "proportional_hazards": (
        "A hazard ratio is one number for the whole follow-up: it assumes the treatment "
        "lowers the hazard by the same factor in month 2 and in month 30. If blinatumomab "
        "helped mostly early, or its effect faded, that number would be an average of "
        "different effects. The cox.zph test (Grambsch and Therneau) asks whether the "
        "scaled Schoenfeld residuals drift with time; a small p-value (below 0.05) says the "
        "hazard ratio is probably not constant. The plot shows the hazard ratio over "
        "stretches of follow-up: a flat row of points around the dashed line is what "
        "proportional hazards look like. The restricted mean survival time does not need the "
        "assumption: it is the area under the Kaplan-Meier curve up to a chosen month, the "
        "average number of months alive (and event-free) in that window. The difference "
        "between the arms, in months, is an effect a family can picture."
    ),
    "competing": (
        "A child who dies in remission can no longer relapse. The Kaplan-Meier method, "
        "asked for relapse, censors that death: it assumes the child would have gone on "
        "with the same relapse risk as those still followed, so 1 - Kaplan-Meier overstates "
        "how many children relapse. The cumulative incidence (Aalen-Johansen) counts every "
        "child once, at their first event: the incidences of relapse and of death in "
        "remission add up, with the event-free survival, to 100 %. Gray's test compares the "
        "incidence curves; Fine-Gray's subdistribution hazard ratio describes the "
        "incidence, the cause-specific hazard ratio the rate among those still event-free."
    ),
    "propensity": (
        "The propensity score is each child's probability of having received blinatumomab, "
        "given the baseline characteristics in the model (a logistic regression). Children "
        "with similar scores are comparable on those characteristics, so pairing each "
        "blinatumomab patient with a control of similar score balances them. It balances only "
        "what was measured: historical controls were also treated earlier, with older "
        "supportive care, and no score corrects for that. The overlap chart shows whether the "
        "arms share a range of scores; a treated child whose score lies beyond every control "
        "cannot be matched."
    ),
    "caliper": (
        "The caliper is the largest distance allowed between a treated child and the control "
        "matched to them, in standard deviations of the logit of the propensity score. A "
        "narrow caliper gives closer pairs and so less bias from residual imbalance, but it "
        "leaves treated children unmatched: the estimate then describes only those matched, "
        "with fewer patients and wider intervals. A wide caliper keeps everyone but admits "
        "poor pairs. 0.2 SD of the logit (Austin 2011) removes most of the bias in most "
        "settings. Check the caliper sweep: if the hazard ratio hardly moves as the caliper "
        "narrows, the conclusion does not hang on this choice."
    ),
    "smd": (
        "Balance is judged with standardised mean differences (the difference between arms "
        "in a mean or a proportion, divided by a standard deviation), not with p-values. A "
        "p-value depends on the sample size: matching shrinks the sample, so p-values rise "
        "even when balance has not improved, and a large cohort flags trivial differences. "
        "Balance is a property of these patients, not a hypothesis about a population. An "
        "|SMD| below 0.1 is the usual target; the love plot shows each covariate before "
        "(grey) and after (green) matching."
    ),
    "immortal_time": (
        "Blinatumomab was not given at diagnosis: children received it after induction, in "
        "the reported study a median of 10.8 months after diagnosis. To be in the "
        "blinatumomab arm a child had to be alive and event-free until the first dose. When "
        "follow-up starts at diagnosis, those months count as event-free time for the treated "
        "arm although no event could happen in them ('immortal' time), while every early "
        "relapse of the controls counts. That flatters the treated arm. A landmark analysis "
        "starts the clock at the same time for everyone (e.g. 12 months), keeps only children "
        "alive and event-free then, and drops treated children who had not yet started "
        "blinatumomab; the hazard ratio usually moves towards 1, but the answer depends on the "
        "month chosen and the patients dropped. The third remedy keeps everyone: blinatumomab "
        "as a time-dependent exposure. Each child counts as unexposed from diagnosis until the "
        "first dose and as exposed afterwards, so the months before the first dose are "
        "credited to 'no blinatumomab yet' (Cox model on split follow-up, Mantel-Byar test). "
        "The Simon-Makuch curves draw it: the exposed curve starts at the first dose and each "
        "child joins it at their own first dose."
    ),
    "mrd_threshold": (
        "MRD thresholds such as 0.01% and 0.1% are protocol conventions. If several "
        "thresholds are tried and the one with the smallest p-value is reported, that "
        "p-value is no longer valid: with five looks at the same data, the chance that at "
        "least one gives p < 0.05 by chance alone is up to 23% instead of 5%. Fix the "
        "threshold before looking (the protocol's), report it, and present other thresholds "
        "as exploratory. The page lists the children who change group when the threshold "
        "moves: a 'significant' result carried by a handful of children is fragile."
    ),
    "forest": (
        "Each row is the hazard ratio of blinatumomab against chemotherapy within one "
        "subgroup, with its confidence interval; left of the dashed line at 1 favours "
        "blinatumomab. Symbol size shows the number of events, and wide intervals mean few "
        "events. Do not compare subgroups by their own p-values ('significant in HR, not in "
        "IR'): whether the effect differs between levels is what the interaction p-value "
        "tests, and it is the only p-value to read for a subgroup claim. Even then, many "
        "subgroups give chance findings: with six subgroup variables and no real difference, "
        "the chance of at least one interaction p < 0.05 is about 26%. Diamonds are Firth "
        "estimates (an arm without events in that subgroup)."
    ),
    "firth": (
        "When one arm has no events (for example no deaths among blinatumomab patients), "
        "the ordinary Cox estimate runs off towards a hazard ratio of 0 and its confidence "
        "interval means nothing. Firth's penalised likelihood (Heinze & Schemper 2001) adds "
        "a small penalty that keeps the estimate finite, with profile likelihood confidence "
        "intervals that are asymmetric and honest about the uncertainty. Read such an "
        "estimate as 'compatible with a large benefit, and at most as large as the upper "
        "limit', not as a precise number: the upper limit carries the information."
    ),
    "kmunicate": (
        "Under each Kaplan-Meier plot the KMunicate table gives, for each arm at each time "
        "mark, the number of children still at risk, and how many have so far been censored "
        "(left follow-up without an event) and had an event. The right end of a curve rests "
        "on few children: where few are at risk, each event moves the curve a lot and the "
        "confidence band widens. Censored children are not events; many censored children "
        "early on mean short follow-up. Read survival at a time point together with the "
        "number still at risk there."
    ),
}

#: The topics :func:`explain` knows.
KEYS: tuple[str, ...] = tuple(TEXTS)


def _hr_row(row: Any, conf_level: float) -> str:
    return fmt_hr(row["hr"], row["ci_lower"], row["ci_upper"], conf_level)


def _propensity(settings: Settings, result: AnalysisResult | None) -> list[str]:
    m = settings.matching
    out = [f"The model here uses {words(label(c) for c in m.covariates)}."]
    if result is not None:
        s = result.matching_summary
        if s.get("error"):
            out.append(f"Matching failed: {s['error']}")
        else:
            out.append(
                f"{s['n_matched_treated']} of {s['n_treated']} blinatumomab patients found a "
                f"control among {s['n_control_pool']}."
            )
        if s.get("separation"):
            out.append(
                "Some scores are numerically 0 or 1: a covariate separates the arms, and those "
                "patients cannot be matched."
            )
    return out


def _caliper(settings: Settings, result: AnalysisResult | None) -> list[str]:
    m = settings.matching
    scale = "logit" if m.scale == "logit" else "propensity-score"
    if m.caliper is None:
        out = ["No caliper is set: every treated child takes the nearest available control."]
    else:
        out = [f"The caliper is {m.caliper:g} SD"]
        if result is not None and is_finite(result.matching_summary.get("caliper_width")):
            out[0] += (
                f", an absolute width of {result.matching_summary['caliper_width']:.2f} on the "
                f"{scale} scale"
            )
        out[0] += "."
    if result is not None:
        s = result.matching_summary
        if not s.get("error"):
            out.append(
                f"It matched {s['n_matched_treated']} of {s['n_treated']} treated children "
                f"({len(result.unmatched)} unmatched); the largest |SMD| after matching is "
                f"{fmt_num(s.get('max_abs_smd_after'))}."
            )
        if len(result.sweep) >= 2:
            out.append(sweep_summary(result.sweep, settings.conf_level))
    return out


def _competing_numbers(settings: Settings, result: AnalysisResult | None) -> list[str]:
    if result is None or not getattr(result, "competing", None):
        return []
    key = settings.endpoint if settings.endpoint in result.competing else "cir"
    cr = result.competing[key]
    at = {r["arm"]: r["incidence"] for r in cr.at_horizon.to_dict(orient="records")}
    out = []
    for arm in ("blinatumomab", "chemotherapy"):
        if arm in at and arm in cr.one_minus_km and is_finite(at[arm]):
            out.append(
                f"{arm.capitalize()}: {fmt_pct(at[arm])} by cumulative incidence against "
                f"{fmt_pct(cr.one_minus_km[arm])} by 1 - Kaplan-Meier at "
                f"{settings.horizon_months:g} months ({cr.competing[arm]} competing events)."
            )
    return out


def sweep_summary(sweep: pd.DataFrame, conf_level: float = 0.95) -> str:
    """What the caliper sweep shows on these data, read off its numbers (never a general
    claim the numbers contradict).

    Examples
    --------
    >>> sw = pd.DataFrame({"caliper": [0.05, 0.5], "n_matched_treated": [70, 90],
    ...                    "max_abs_smd": [0.15, 0.08], "hr": [0.2, 0.1],
    ...                    "ci_lower": [0.05, 0.03], "ci_upper": [0.7, 0.4]})
    >>> sweep_summary(sw).split(";")[0]
    'Narrowing the caliper from 0.5 to 0.05 SD matches 70 instead of 90 treated patients'
    >>> "worsens (0.08 to 0.15)" in sweep_summary(sw)
    True
    """
    rows = sweep.dropna(subset=["max_abs_smd"]).sort_values("caliper")
    if len(rows) < 2:
        return "The sweep has fewer than two calipers with a matched sample."
    narrow, wide = rows.iloc[0], rows.iloc[-1]
    a, b = float(wide["max_abs_smd"]), float(narrow["max_abs_smd"])
    if abs(b - a) < 0.01:
        trend = f"stays about the same ({fmt_num(a)} to {fmt_num(b)})"
    elif b < a:
        trend = f"improves ({fmt_num(a)} to {fmt_num(b)})"
    else:
        trend = f"worsens ({fmt_num(a)} to {fmt_num(b)})"
    return (
        f"Narrowing the caliper from {wide['caliper']:g} to {narrow['caliper']:g} SD matches "
        f"{int(narrow['n_matched_treated'])} instead of {int(wide['n_matched_treated'])} "
        f"treated patients; the largest |SMD| after matching {trend}; the EFS hazard ratio "
        f"goes from {_hr_row(wide, conf_level)} to {_hr_row(narrow, conf_level)}."
    )


def _smd(settings: Settings, result: AnalysisResult | None) -> list[str]:
    if result is None or result.balance is None or len(result.balance) == 0:
        return []
    s = result.matching_summary
    out = [
        f"Here the largest |SMD| is {fmt_num(s.get('max_abs_smd_before'))} before and "
        f"{fmt_num(s.get('max_abs_smd_after'))} after matching."
    ]
    after = result.balance["smd_after"].abs()
    above = after[after >= 0.1].sort_values(ascending=False)
    if len(above):
        covs = settings.matching.covariates
        listed = [f"{term_label(str(name), covs)} ({value:.2f})" for name, value in above.items()]
        out.append(f"Still at or above 0.1 after matching: {words(listed)}.")
    else:
        out.append("Every covariate is below 0.1 after matching.")
    return out


def _immortal(settings: Settings, result: AnalysisResult | None) -> list[str]:
    out: list[str] = []
    lm = f"{settings.landmark_months:g}"
    out.append(
        f"The landmark is set at {lm} months; the current time origin is "
        f"{'diagnosis' if settings.origin == 'diagnosis' else 'the landmark'}."
    )
    if result is None:
        return out
    res = result.match
    if res is not None and "blina_start_months" in res.matched.columns:
        starts = res.matched.loc[res.matched["_treated"] == 1, "blina_start_months"].dropna()
        if len(starts):
            out.append(
                f"In the matched sample blinatumomab started a median of "
                f"{float(starts.median()):.1f} months after diagnosis."
            )
    table = result.immortal_time
    for key in ("efs", "os"):
        rows = table[table["endpoint"] == key] if len(table) else table
        by = {str(r["analysis"]): r for r in rows.to_dict(orient="records")}
        d, lmk = by.get("diagnosis"), by.get("landmark")
        if d is None or lmk is None:
            continue
        text = (
            f"{ENDPOINT_NAMES[key][0]}: from diagnosis {_hr_row(d, settings.conf_level)}; from "
            f"the {lm}-month landmark {_hr_row(lmk, settings.conf_level)}, with "
            f"{int(lmk['excluded'])} patients excluded at the landmark"
        )
        td = by.get("time-dependent")
        if td is not None:
            text += (
                f"; as a time-dependent exposure {_hr_row(td, settings.conf_level)}, with "
                f"{int(td['events_exposed'])} events in {td['months_exposed']:.0f} exposed "
                f"and {int(td['events_unexposed'])} in {td['months_unexposed']:.0f} unexposed "
                "patient-months"
            )
        out.append(text + ".")
        advice = result.immortal_advice.get(key)
        if advice and key == (settings.endpoint if settings.endpoint in ("efs", "os") else "efs"):
            out.append(advice)
    return out


def _mrd(settings: Settings, result: AnalysisResult | None) -> list[str]:
    mrd = settings.mrd
    out = [
        f"The threshold is {mrd.threshold_pct:g}% "
        f"({'end of induction' if mrd.timepoint == 'eoi' else 'day 15'}), the reference "
        f"{mrd.compare_threshold_pct:g}%."
    ]
    if result is None or result.mrd is None:
        return out
    out.append(
        f"Moving from the reference to the current threshold moves {len(result.mrd.changed)} "
        "patients to the other group."
    )
    groups = result.mrd.groups
    shown = [
        f"{r['group']}, {r['arm']}: {fmt_pct(r[result.mrd.measure])} (n = {int(r['n'])})"
        for _, r in groups.iterrows()
        if int(r["n"]) > 0
    ]
    if shown:
        out.append(
            f"{ENDPOINT_NAMES[settings.endpoint][0]} at {settings.horizon_months:g} months: "
            + "; ".join(shown)
            + "."
        )
    return out


def _forest(settings: Settings, result: AnalysisResult | None) -> list[str]:
    n_vars = len(settings.subgroups)
    out: list[str] = []
    if n_vars:
        chance = 1 - 0.95**n_vars
        out.append(
            f"{n_vars} subgroup variables are shown: with no real difference, the chance of at "
            f"least one interaction p < 0.05 is about {chance:.0%}."
        )
    if result is None or len(result.forest) == 0:
        return out
    f = result.forest
    overall = f[f["variable"] == "Overall"]
    if len(overall):
        out.append(f"Overall: {_hr_row(overall.iloc[0], settings.conf_level)}.")
    ints = f[f["variable"] != "Overall"].drop_duplicates("variable")
    shown = ints.apply(interaction_p, axis=1) if len(ints) else pd.Series(dtype=float)
    ints = ints.assign(_p=shown)[shown.map(is_finite)]
    if len(ints):
        best = ints.sort_values("_p").iloc[0]
        out.append(
            f"The smallest interaction p-value is for {label(str(best['variable']))} "
            f"({p_text(best['_p'])}, {best['interaction_test']} test)."
        )
    return out


def _firth(settings: Settings, result: AnalysisResult | None) -> list[str]:
    if result is None:
        return []
    out: list[str] = []
    for key, ep in result.endpoints.items():
        hr = ep.hazard_ratio
        if len(hr) and str(hr["method"].iloc[0]) == "firth":
            out.append(
                f"{ENDPOINT_NAMES[key][0]} ({ep.events['blinatumomab']} events with "
                f"blinatumomab, {ep.events['chemotherapy']} with chemotherapy): Firth "
                f"{_hr_row(hr.iloc[0], settings.conf_level)}."
            )
    n_forest = int((result.forest["method"] == "firth").sum()) if len(result.forest) else 0
    if n_forest:
        out.append(f"{n_forest} forest-plot rows are Firth estimates.")
    if not out:
        # an analysis of one page's parts (see AnalysisResult.parts) speaks only for them
        whole = set(PARTS) <= result.parts
        where = "in this analysis" if whole else "shown here"
        out.append(f"No estimate {where} needed Firth's correction.")
    return out


def _kmunicate(settings: Settings, result: AnalysisResult | None) -> list[str]:
    if result is None:
        return []
    ep = result.endpoint
    out: list[str] = []
    for _, r in ep.at_horizon.iterrows():
        out.append(
            f"{r['arm'].capitalize()}: {ENDPOINT_NAMES[ep.endpoint][0]} "
            f"{fmt_pct(r['survival'])} at {settings.horizon_months:g} months with "
            f"{int(r['n_at_risk'])} still at risk."
        )
    return out


def _proportional_hazards(settings: Settings, result: AnalysisResult | None) -> list[str]:
    if result is None:
        return []
    ep = result.endpoint
    out: list[str] = []
    if ep.ph is not None:
        if ep.ph.note:
            out.append(
                f"{ENDPOINT_NAMES[ep.endpoint][0]}: the test is not available ({ep.ph.note})."
            )
        else:
            verdict = (
                "the hazard ratio is probably not constant"
                if ep.ph.violated
                else "no evidence against a constant hazard ratio"
            )
            out.append(
                f"{ENDPOINT_NAMES[ep.endpoint][0]}: cox.zph p = {ep.ph.p_value:.3f}, {verdict}."
            )
    rm = ep.rmst
    if rm is not None and not rm.note:
        out.append(
            f"In the first {rm.tau:g} months blinatumomab patients had on average "
            f"{rm.rmst['treated']:.1f} months and chemotherapy patients "
            f"{rm.rmst['control']:.1f} months {'alive and event-free' if ep.endpoint == 'efs' else 'alive'}: a difference "
            f"of {rm.difference:+.1f} months."
        )
    return out


_NUMBERS = {
    "proportional_hazards": _proportional_hazards,
    "propensity": _propensity,
    "caliper": _caliper,
    "smd": _smd,
    "immortal_time": _immortal,
    "mrd_threshold": _mrd,
    "forest": _forest,
    "firth": _firth,
    "competing": _competing_numbers,
    "kmunicate": _kmunicate,
}


def explain(
    key: str, settings: Settings | None = None, result: AnalysisResult | None = None
) -> str:
    """The explanation of a topic, with the current analysis' numbers when given.

    Parameters
    ----------
    key : str
        One of :data:`KEYS`: ``propensity``, ``caliper``, ``smd``,
        ``immortal_time``, ``mrd_threshold``, ``forest``, ``firth``,
        ``kmunicate``.
    settings : Settings, optional
        The settings in use (default: those of ``result``).
    result : AnalysisResult, optional
        The current result; its numbers follow the explanation.

    Returns
    -------
    str
        The fixed text, then (with settings or a result) a blank line and a
        paragraph "In this analysis: ...".

    Raises
    ------
    InputError
        An unknown key.

    Examples
    --------
    >>> explain("caliper").startswith("The caliper is the largest distance")
    True
    >>> from blinastudy.analysis.settings import Settings
    >>> "0.1 SD" in explain("caliper", Settings().update(matching__caliper=0.1))
    True
    """
    if key not in TEXTS:
        raise InputError(f"unknown teaching topic {key!r}; known: {', '.join(KEYS)}")
    text = TEXTS[key]
    if settings is None and result is not None:
        settings = result.settings
    if settings is None:
        return text
    extra = _NUMBERS[key](settings, result)
    if not extra:
        return text
    return f"{text}\n\nIn this analysis: " + " ".join(extra)

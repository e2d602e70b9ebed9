"""Matching: propensity model, caliper, ratio, replacement and exact strata; overlap,
balance (love plot), who was not matched and why, and the caliper sweep."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

if TYPE_CHECKING:
    from blinastudy.analysis import AnalysisResult

from blinastudy.core.formatting import (
    ci_label,
    fmt_ci,
    fmt_num,
    fmt_ph,
)
from blinastudy.data.eligibility import APPLIES_TO
from blinastudy.data.schema import column_spec
from blinastudy.report.mdtext import md_text
from blinastudy.report.teaching import sweep_summary
from pages.common.ui import (
    FIT_SIDE,
    arrange,
    beside,
    bound,
    callback,
    csv_download,
    figure_and_numbers,
    fragment,
    presentation,
    render,
    result,
    show_figure,
    show_flash,
    store,
    sweep,
    table,
    teach,
    teach_topic,
    update_settings,
)
from pages.common.ui_state import (
    BALANCE_SMD,
    CALIPER_OPTIONS,
    SMD_CONVENTIONS,
    covariate_options,
    exact_options,
)

CALIPER_KEY = "w.matching__caliper"
APPLIES_TO_LABELS = {"pool": "historical pool", "treated": "treated cohort", "all": "everyone"}


def _caliper_on(on: bool) -> Any:
    return st.session_state.get(CALIPER_KEY, 0.2) if on else None


def controls() -> Any:
    s = store()
    m = s.settings.matching
    c1, c2, c3 = st.columns([3, 1, 1])
    with c1:
        bound(
            st.toggle,
            "Use a caliper",
            "matching__caliper",
            key=CALIPER_KEY + ".on",
            to_widget=lambda v: v is not None,
            from_widget=_caliper_on,
        )
        current = m.caliper if m.caliper is not None else 0.2
        bound(
            st.select_slider,
            "Caliper (SD of the logit propensity score)",
            "matching__caliper",
            key=CALIPER_KEY,
            options=sorted({*CALIPER_OPTIONS, current}),
            to_widget=lambda v: v if v is not None else 0.2,
            format_func=lambda v: f"{v:g} SD",
            disabled=m.caliper is None,
        )
        width_slot = st.empty()
    with c2:
        bound(
            st.number_input,
            "Controls per treated (1:k)",
            "matching__ratio",
            min_value=1,
            max_value=10,
            step=1,
        )
    with c3:
        bound(st.toggle, "With replacement", "matching__replace")
    teach(
        "1:k uses k controls per treated patient: more precision, usually worse pairs. "
        "With replacement a control can serve several treated patients (better pairs, "
        "fewer distinct controls; the confidence interval then does not cluster on pairs)."
    )
    cohort = s.cohort
    bound(
        st.multiselect,
        "Covariates in the propensity model",
        "matching__covariates",
        options=list(dict.fromkeys([*covariate_options(cohort.columns), *m.covariates])),
        to_widget=list,
        from_widget=tuple,
    )
    bound(
        st.multiselect,
        "Exact matching on (strata)",
        "matching__exact",
        options=list(dict.fromkeys([*exact_options(cohort), *m.exact])),
        to_widget=list,
        from_widget=tuple,
        help="Pairs only within the same level of these variables.",
    )
    return width_slot


def numbers(res: AnalysisResult, key: DeltaGenerator | None) -> None:
    """The matching in numbers. In presentation mode the matched blinatumomab patients,
    the largest |SMD| before and after and the hazard ratio go to ``key``, beside the
    love plot; the rest follows in a row."""
    summary = res.matching_summary
    if presentation():
        row = st.columns(3)
        place = beside(key)
        at = {"matched": place, "controls": row[0], "caliper": row[1]}
        at |= {"before": place, "after": place, "hr": place}
    else:
        first, second = st.columns(3), st.columns(3)
        at = {"matched": first[0], "controls": first[1], "caliper": first[2]}
        at |= {"before": second[0], "after": second[1], "hr": second[2]}
    at["matched"].metric(
        "Matched blinatumomab patients",
        f"{summary['n_matched_treated']} of {summary['n_treated']}",
    )
    at["controls"].metric("Matched controls", summary["n_matched_controls"])
    smd_help = f"{BALANCE_SMD}: MatchIt's summary() for the ATT. {SMD_CONVENTIONS}"
    at["before"].metric(
        "Largest |SMD| before matching",
        fmt_num(summary.get("max_abs_smd_before")),
        help=f"Over the rows of the love plot (each level of a category). {smd_help}",
    )
    at["after"].metric(
        "Largest |SMD| after matching",
        fmt_num(summary.get("max_abs_smd_after")),
        help=f"Over the rows of the love plot (each level of a category). {smd_help}",
    )
    width = summary.get("caliper_width")
    at["caliper"].metric(
        "Caliper width (logit scale)",
        "no caliper" if width is None else f"{width:.3f}",
        help="The caliper in SD times the SD of the logit propensity score.",
    )
    hr = summary.get("efs_hazard_ratio")
    at["hr"].metric(
        "EFS hazard ratio",
        fmt_num(hr["hr"]) if hr else "not estimable",
        help="Blinatumomab vs chemotherapy in the whole matched sample (no subgroup "
        "restriction), cluster-robust by matched set; watch it as the caliper moves.",
    )
    if hr:
        at["hr"].caption(
            f"{ci_label(res.settings.conf_level)} {fmt_ci(hr['ci_lower'], hr['ci_upper'])}; "
            f"matched sample, all patients; Cox, robust by matched set; PH test p (cox.zph) "
            f"{fmt_ph(hr.get('ph_p'))}"
        )


def _levels_or_any(values: Any) -> Any:
    """Widget list -> criterion: nothing chosen means any level (no criterion)."""
    return tuple(values) or None


def eligibility_controls() -> None:
    """Who may enter the comparison: the historical pool defined by criteria."""
    e = store().settings.eligibility
    cohort = store().cohort
    with st.expander("Eligible pool (who may be matched)", expanded=False):
        st.caption(
            "The historical pool is restricted to patients the treated cohort could have "
            "included; the flow below counts patients at each step. By default the study's "
            "intermediate- and high-risk patients."
        )
        c1, c2 = st.columns(2)
        with c1:
            bound(
                st.multiselect,
                "Risk groups (none chosen: any)",
                "eligibility__risk_groups",
                options=list(column_spec("risk_group").values),
                to_widget=lambda v: list(v or ()),
                from_widget=_levels_or_any,
            )
            bound(
                st.multiselect,
                "CNS status (none chosen: any)",
                "eligibility__cns_statuses",
                options=list(column_spec("cns_status").values),
                to_widget=lambda v: list(v or ()),
                from_widget=_levels_or_any,
            )
        with c2:
            bound(
                st.multiselect,
                "Genetic subtypes excluded",
                "eligibility__excluded_subtypes",
                options=list(column_spec("genetic_subtype").values),
                to_widget=list,
                from_widget=tuple,
            )
            bound(
                st.radio,
                "Criteria apply to",
                "eligibility__applies_to",
                options=list(APPLIES_TO),
                format_func=APPLIES_TO_LABELS.get,
                horizontal=True,
            )
        a1, a2, a3, a4 = st.columns(4)
        a1.number_input(
            "Age from (years)",
            min_value=0.0,
            max_value=19.0,
            value=e.age_low,
            step=1.0,
            key="eligibility_age_low",
            on_change=_set_from_widget,
            args=("eligibility__age_low", "eligibility_age_low"),
        )
        a2.number_input(
            "Age below (years)",
            min_value=0.0,
            max_value=19.0,
            value=e.age_high,
            step=1.0,
            key="eligibility_age_high",
            on_change=_set_from_widget,
            args=("eligibility__age_high", "eligibility_age_high"),
        )
        if e.range_column in cohort.columns:
            a3.number_input(
                f"{md_text(e.range_column)} from",
                value=e.range_low,
                step=1.0,
                key="eligibility_range_low",
                on_change=_set_from_widget,
                args=("eligibility__range_low", "eligibility_range_low"),
            )
            a4.number_input(
                f"{md_text(e.range_column)} to",
                value=e.range_high,
                step=1.0,
                key="eligibility_range_high",
                on_change=_set_from_widget,
                args=("eligibility__range_high", "eligibility_range_high"),
            )


@callback
def _set_from_widget(field_name: str, key: str) -> None:
    update_settings(**{field_name: st.session_state.get(key)})


def flow_section(res: AnalysisResult) -> None:
    if res.flow.empty:
        return
    st.subheader("Patient flow")
    table(res.flow.rename(columns={"step": "step (patients remaining per arm)"}))
    csv_download(res.flow, "patient-flow")
    if len(res.ineligible):
        with st.expander(f"{len(res.ineligible)} patient(s) not eligible"):
            table(res.ineligible)


METHODS = {"matched": "Nearest-neighbour matching", "weighted": "Propensity-score weighting"}
ESTIMANDS = {
    "ATT": "ATT: the treated patients' population",
    "ATE": "ATE: everyone",
    "ATO": "ATO: overlap weights",
}


def method_choice() -> str:
    """Matching or weighting: which adjusted sample the survival pages compare."""
    s = store().settings
    method = s.population if s.population in METHODS else "matched"
    st.radio(
        "Method",
        options=list(METHODS),
        format_func=METHODS.get,
        index=list(METHODS).index(method),
        horizontal=True,
        key="method_choice",
        on_change=_set_from_widget,
        args=("population", "method_choice"),
        help="Which sample the Survival, MRD and Subgroups pages compare; 'All patients' "
        "(unadjusted) is chosen there.",
    )
    if s.population == "all":
        st.caption("The Survival page compares all patients unadjusted (set there).")
    return method


def weighting_controls() -> None:
    c1, c2, c3 = st.columns([2, 1, 1])
    with c1:
        bound(
            st.radio,
            "Estimand",
            "weighting__estimand",
            options=list(ESTIMANDS),
            format_func=ESTIMANDS.get,
        )
    with c2:
        bound(
            st.toggle,
            "Stabilise (ATE only)",
            "weighting__stabilize",
            disabled=store().settings.weighting.estimand != "ATE",
        )
    with c3:
        bound(
            st.selectbox,
            "Trim weights at the quantile",
            "weighting__trim",
            options=[None, 0.9, 0.95, 0.99],
            format_func=lambda v: "no trimming" if v is None else f"{v:g}",
        )


def weighting_section(res: AnalysisResult, stage: DeltaGenerator) -> None:
    """Weights in numbers and the balance they give (the love plot beside the effective
    sample sizes in presentation mode)."""
    w = res.weighting
    if w is None:
        st.info("Propensity weighting is not available for these data.")
        return
    for note in w.warnings:
        st.warning(md_text(note))
    figure_place, key = figure_and_numbers(stage)
    cols = st.columns(4)
    places = [key, key, cols[0], cols[1]] if presentation() else cols
    arms = (("Blinatumomab", "treated"), ("Chemotherapy", "control"))
    for col, (arm, name) in zip(places[:2], arms, strict=True):
        n = int(w.distribution.set_index("arm")["n"].astype(int)[arm.lower()])
        col.metric(f"{arm}: effective sample size", f"{w.ess[name]:.1f} of {n}")
    largest = w.largest.iloc[0] if len(w.largest) else None
    places[2].metric("Largest weight", fmt_num(largest["weight"]) if largest is not None else "NA")
    places[3].metric("Estimand", w.estimand)
    if not presentation():
        st.subheader(f"Covariate balance after weighting (SMD (MatchIt, {w.estimand}))")
    with figure_place:
        show_figure(res, "love_weighted", fit=FIT_SIDE, width="stretch")
    st.caption(
        f"SMD (MatchIt, {w.estimand}): weighted mean difference over "
        + (
            "the SD of the blinatumomab patients in the full sample"
            if w.estimand == "ATT"
            else "the pooled SD of the two arms in the full sample"
        )
        + ". Grey: unweighted; green: weighted."
    )
    st.markdown("**Weights by arm**")
    table(w.distribution)
    with st.expander("The ten largest weights"):
        table(w.largest)


def settings_controls() -> Any:
    """Every control of the page: the method, its settings and the eligible pool.
    Returns where the caliper's absolute width goes (``None`` when weighting)."""
    if method_choice() == "weighted":
        weighting_controls()
        eligibility_controls()
        return None
    width_slot = controls()
    eligibility_controls()
    return width_slot


LOVE_CAPTION = (
    f"{BALANCE_SMD}: mean difference over the SD of the blinatumomab patients in the "
    "full sample (MatchIt's pooled-SD fallback where they do not vary), as MatchIt's "
    "summary(). Grey: before matching; green: after. Dashed line: |SMD| = 0.1."
)


@fragment
def body() -> None:
    show_flash()
    slots: list[Any] = []
    stage, rest = arrange(
        lambda: slots.append(settings_controls()),
        "Method, caliper, controls per patient, covariates and eligible pool",
    )
    with rest:
        res = result(parts=["matching"])
    if res is None:
        return
    if store().settings.population == "weighted":
        with rest:
            flow_section(res)
            weighting_section(res, stage)
        return
    width = res.matching_summary.get("caliper_width")
    if width is not None and slots and slots[0] is not None:
        slots[0].caption(f"= {width:.3f} on the logit scale (absolute width)")
    with rest:
        for w in res.warnings:
            if "matching" in w.topics:
                st.warning(md_text(w.message))
    if presentation():
        love_place, key = figure_and_numbers(stage)
        with love_place:
            if len(res.balance):
                show_figure(res, "love", fit=FIT_SIDE, width="stretch")
        with rest:
            numbers(res, key)
            st.caption(LOVE_CAPTION)
            teach_topic("smd", res)
            matching_details(res)
        return
    numbers(res, None)
    matching_details(res)
    st.subheader("Covariate balance (love plot)")
    teach_topic("smd", res)
    if len(res.balance):
        show_figure(res, "love", width="stretch")
        st.caption(LOVE_CAPTION)
    unmatched_and_sweep(res)


def matching_details(res: AnalysisResult) -> None:
    """Patient flow and the propensity-score overlap (in presentation mode also what
    follows the love plot)."""
    flow_section(res)
    teach_topic("caliper", res)
    st.subheader("Propensity score overlap")
    if len(res.overlap):
        show_figure(res, "overlap")
    teach_topic("propensity", res)
    if presentation():
        unmatched_and_sweep(res)


def unmatched_and_sweep(res: AnalysisResult) -> None:
    """Who was not matched, and the caliper sweep."""
    st.subheader("Not matched")
    if len(res.unmatched):
        st.markdown(f"**{len(res.unmatched)} blinatumomab patient(s) without a match**")
        table(res.unmatched)
    else:
        st.caption("Every blinatumomab patient with complete covariates was matched.")
    if len(res.excluded_from_matching):
        st.markdown("**Excluded from matching** (missing covariates)")
        table(res.excluded_from_matching)
    st.subheader("Caliper sweep")
    teach(
        "The sweep repeats the matching at each width: watch how many patients are matched, "
        "how balance changes and whether the hazard ratio is stable."
    )
    bound(
        st.multiselect,
        "Caliper widths in the sweep",
        "sweep_calipers",
        options=sorted({*CALIPER_OPTIONS, *store().settings.sweep_calipers}),
        to_widget=list,
        from_widget=lambda v: tuple(sorted(v)),
    )
    sw = sweep()
    if sw is not None and len(sw):
        teach(sweep_summary(sw, store().settings.conf_level))
        show_figure(res, "sweep", sweep=sw)


render(body, "Propensity matching")

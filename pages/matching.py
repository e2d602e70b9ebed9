"""Matching: propensity model, caliper, ratio, replacement and exact strata; overlap,
balance (love plot), who was not matched and why, and the caliper sweep."""

from __future__ import annotations

from typing import Any

import streamlit as st

from blinastudy.eligibility import APPLIES_TO
from blinastudy.formatting import (
    ci_label,
    fmt_ci,
    fmt_num,
    fmt_ph,
)
from blinastudy.mdtext import md_text
from blinastudy.schema import column_spec
from blinastudy.teaching import sweep_summary
from blinastudy.ui_state import (
    BALANCE_SMD,
    CALIPER_OPTIONS,
    SMD_CONVENTIONS,
    covariate_options,
    exact_options,
)
from pages.common.ui import (
    bound,
    callback,
    csv_download,
    fragment,
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


def numbers(res: Any) -> None:
    summary = res.matching_summary
    c1, c2, c3, c4, c5 = st.columns(5)
    c1.metric(
        "Matched blinatumomab patients",
        f"{summary['n_matched_treated']} of {summary['n_treated']}",
    )
    c2.metric("Matched controls", summary["n_matched_controls"])
    before = summary.get("max_abs_smd_before")
    after = summary.get("max_abs_smd_after")
    c3.metric(
        "Max |SMD| before → after",
        f"{fmt_num(before)} → {fmt_num(after)}",
        help=f"{BALANCE_SMD}: MatchIt's summary() for the ATT. {SMD_CONVENTIONS}",
    )
    width = summary.get("caliper_width")
    c4.metric(
        "Caliper width (logit scale)",
        "no caliper" if width is None else f"{width:.3f}",
        help="The caliper in SD times the SD of the logit propensity score.",
    )
    hr = summary.get("efs_hazard_ratio")
    c5.metric(
        "EFS hazard ratio",
        fmt_num(hr["hr"]) if hr else "not estimable",
        help="Blinatumomab vs chemotherapy in the whole matched sample (no subgroup "
        "restriction), cluster-robust by matched set; watch it as the caliper moves.",
    )
    if hr:
        c5.caption(
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


def flow_section(res: Any) -> None:
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


def weighting_section(res: Any) -> None:
    w = res.weighting
    if w is None:
        st.info("Propensity weighting is not available for these data.")
        return
    for note in w.warnings:
        st.warning(md_text(note))
    cols = st.columns(4)
    arms = (("Blinatumomab", "treated"), ("Chemotherapy", "control"))
    for col, (arm, key) in zip(cols[:2], arms, strict=True):
        n = int(w.distribution.set_index("arm").loc[arm.lower(), "n"])
        col.metric(f"{arm}: effective sample size", f"{w.ess[key]:.1f} of {n}")
    largest = w.largest.iloc[0] if len(w.largest) else None
    cols[2].metric("Largest weight", fmt_num(largest["weight"]) if largest is not None else "NA")
    cols[3].metric("Estimand", w.estimand)
    st.subheader(f"Covariate balance after weighting (SMD (MatchIt, {w.estimand}))")
    show_figure(res, "love_weighted", width="stretch")
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


@fragment
def body() -> None:
    show_flash()
    method = method_choice()
    if method == "weighted":
        weighting_controls()
        eligibility_controls()
        res = result()
        if res is not None:
            flow_section(res)
            weighting_section(res)
        return
    width_slot = controls()
    eligibility_controls()
    res = result()
    if res is None:
        return
    width = res.matching_summary.get("caliper_width")
    if width is not None:
        width_slot.caption(f"= {width:.3f} on the logit scale (absolute width)")
    for w in res.warnings:
        if "match" in w.lower() or "propensity" in w.lower():
            st.warning(md_text(w))
    numbers(res)
    flow_section(res)
    teach_topic("caliper", res)
    st.subheader("Propensity score overlap")
    if len(res.overlap):
        show_figure(res, "overlap")
    teach_topic("propensity", res)
    st.subheader("Covariate balance (love plot)")
    teach_topic("smd", res)
    if len(res.balance):
        show_figure(res, "love", width="stretch")
        st.caption(
            f"{BALANCE_SMD}: mean difference over the SD of the blinatumomab patients in the "
            "full sample (MatchIt's pooled-SD fallback where they do not vary), as MatchIt's "
            "summary(). Grey: before matching; green: after. Dashed line: |SMD| = 0.1."
        )
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


def main() -> None:
    st.title("Propensity matching")
    body()


render(main)

"""Survival: Kaplan-Meier curves with the KMunicate table, survival at a chosen month,
medians, log-rank, Cox hazard ratio, and diagnosis versus landmark (immortal time)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

if TYPE_CHECKING:
    from blinastudy.analysis import AnalysisResult, EndpointResult

from blinastudy.analysis import COMPETING_LABELS, ENDPOINT_LABELS
from blinastudy.core.formatting import (
    ci_label,
    fmt_ci,
    fmt_months,
    fmt_num,
    fmt_p,
    fmt_pct,
    fmt_ph,
    hr_cell,
    method_label,
)
from blinastudy.report.mdtext import md_text
from pages.common.ui import (
    FIT_SIDE,
    arrange,
    beside,
    bound,
    csv_download,
    figure_and_numbers,
    fragment,
    presentation,
    render,
    result,
    set_field,
    show_figure,
    show_flash,
    store,
    table,
    teach,
    teach_topic,
)
from pages.common.ui_state import (
    SUBGROUP_LABELS,
)

ALL_ENDPOINTS = {
    **ENDPOINT_LABELS,
    "cir": "Relapse (cumulative incidence)",
    "trm": "Death in remission (cumulative incidence)",
}
POPULATIONS = {
    "matched": "Matched pairs",
    "weighted": "Weighted (propensity score)",
    "all": "All patients",
}
ORIGINS = {"diagnosis": "Diagnosis", "landmark": "Landmark"}
ARM_NAMES = {"blinatumomab": "Blinatumomab", "chemotherapy": "Chemotherapy"}


def filter_banner() -> None:
    flt = store().settings.subgroup_filter
    if flt is None:
        return
    var, level = flt
    c1, c2 = st.columns([4, 1])
    c1.info(
        f"Restricted to **{md_text(SUBGROUP_LABELS.get(var, var))} = {md_text(level)}** "
        "(chosen on the "
        "Subgroups page). Every number on this page is for that subgroup only; the Matching, "
        "MRD and Subgroups pages still use the whole sample.",
        icon=":material/filter_alt:",
    )
    c2.button(
        "Clear filter",
        on_click=set_field,
        args=("subgroup_filter", None),
        icon=":material/filter_alt_off:",
        key="clear_filter",
    )


def controls() -> None:
    c1, c2, c3 = st.columns(3)
    with c1:
        bound(
            st.radio,
            "Endpoint",
            "endpoint",
            options=[*ENDPOINT_LABELS, *COMPETING_LABELS],
            format_func=ALL_ENDPOINTS.get,
            horizontal=True,
        )
        bound(
            st.radio,
            "Population",
            "population",
            options=list(POPULATIONS),
            format_func=POPULATIONS.get,
            horizontal=True,
        )
    with c2:
        bound(
            st.radio,
            "Time origin",
            "origin",
            options=list(ORIGINS),
            format_func=ORIGINS.get,
            horizontal=True,
        )
        landmark = store().settings.origin == "landmark"
        bound(
            st.slider,
            "Landmark (months after diagnosis)",
            "landmark_months",
            min_value=1.0,
            max_value=36.0,
            step=1.0,
            format="%.0f",
            disabled=not landmark,
        )
    with c3:
        bound(
            st.slider,
            "Survival at month",
            "horizon_months",
            min_value=1.0,
            max_value=120.0,
            step=1.0,
            format="%.0f",
        )


def estimates(ep: EndpointResult, res: AnalysisResult, key: DeltaGenerator | None) -> None:
    """The numbers of the endpoint: in presentation mode the survival of each arm at the
    month and the hazard ratio go to ``key``, beside the curves."""
    st.caption(
        f"Population: {md_text(ep.population)}; {md_text(ep.label)}, "
        f"time from {md_text(ep.origin)}."
    )
    if presentation():
        place = beside(key)
        for arm in ARM_NAMES:
            arm_at_horizon(place, ep, res, arm)
        hazard_ratio(place, ep, res)
        horizon_note(ep)
        c1, c2, c3 = st.columns(3)
        difference(c1, ep)
    else:
        cols = st.columns(3)
        for col, arm in zip(cols[:2], ARM_NAMES, strict=True):
            arm_at_horizon(col, ep, res, arm)
        horizon_note(ep)
        difference(cols[2], ep)
        c1, c2, c3 = st.columns(3)
        hazard_ratio(c1, ep, res)
    c2.metric(
        ep.logrank_label[:1].upper() + ep.logrank_label[1:] + " p"
        if ep.logrank_label
        else "Log-rank p",
        fmt_p(None if ep.logrank is None else ep.logrank.p_value),
    )
    if ep.logrank_stratified is not None and ep.logrank_plain is not None:
        c2.caption(f"Plain log-rank, ignoring the matching: p {fmt_p(ep.logrank_plain.p_value)}")
    meds = "; ".join(
        f"{ARM_NAMES.get(r['arm'], r['arm'])}: {fmt_months(r['median'])}"
        for r in ep.medians.to_dict(orient="records")
    )
    c3.markdown(f"**Median {ep.endpoint.upper()}** (print(survfit) rule)  \n{meds or 'NA'}")
    c3.caption(
        "Patients: "
        + ", ".join(
            f"{ARM_NAMES[a]} {ep.n.get(a, 0)} ({ep.events.get(a, 0)} events)" for a in ARM_NAMES
        )
    )
    model_checks(ep, res)
    hr = ep.hazard_ratio
    if len(hr) and str(hr.iloc[0]["method"]).startswith("firth"):
        st.warning(
            "**Firth penalised estimate.** One arm has no events, so the ordinary Cox "
            "hazard ratio is zero or infinite. Firth's correction gives a finite estimate "
            "with profile-likelihood limits; read it as 'strongly favours' rather than as "
            "a precise size of effect.",
            icon=":material/warning:",
        )
    for note in ep.notes:
        st.info(md_text(note), icon=":material/info:")
    teach(
        "HR below 1 favours blinatumomab. In matched pairs the confidence interval is "
        "cluster-robust (pairs are not independent), and the log-rank test is stratified by "
        "pair. The log-rank p tests whether the curves differ at all; the difference at a "
        "chosen month is what a family hears."
    )
    teach_topic("firth", res)


def arm_at_horizon(
    where: DeltaGenerator, ep: EndpointResult, res: AnalysisResult, arm: str
) -> None:
    """One arm's survival at the chosen month, with its interval and number at risk."""
    settings = store().settings
    r = {r["arm"]: r for r in ep.at_horizon.to_dict(orient="records")}.get(arm)
    weighted = res.design.weights is not None
    after = "after diagnosis" if ep.origin == "diagnosis" else f"after the {ep.origin}"
    where.metric(
        f"{ARM_NAMES[arm]}: {ep.endpoint.upper()} at {settings.horizon_months:g} months {after}",
        fmt_pct(r["survival"]) if r and pd.notna(r["survival"]) else "not estimated",
    )
    if r:
        at_risk = f"{r['n_at_risk']:.1f} weighted" if weighted else f"{r['n_at_risk']:g}"
        where.caption(
            f"Kaplan-Meier{' (MatchIt weights)' if weighted else ''}, "
            f"{ci_label(settings.conf_level)} "
            f"{fmt_ci(r['ci_lower'], r['ci_upper'], pct=True)} ({settings.conf_type}); "
            f"{at_risk} at risk"
        )


def horizon_note(ep: EndpointResult) -> None:
    """Why the chosen month cannot be read, with the nearest month that can."""
    if ep.horizon_note:
        n1, n2 = st.columns([4, 1])
        n1.info(ep.horizon_note, icon=":material/schedule:")
        if ep.horizon_max >= 1:
            n2.button(
                f"Use {ep.horizon_max:g} months",
                on_click=set_field,
                args=("horizon_months", float(ep.horizon_max)),
                key="nearest_horizon",
            )


def difference(where: DeltaGenerator, ep: EndpointResult) -> None:
    """The difference in survival at the month between the arms."""
    d = ep.difference
    est = d.get("estimate")
    where.metric(
        "Difference (blina − chemo)",
        "NA" if est is None or pd.isna(est) else f"{est * 100:+.1f} points",
    )
    where.caption(
        f"{ci_label(store().settings.conf_level)} "
        f"{fmt_ci(d.get('ci_lower'), d.get('ci_upper'), pct=True)}; {ep.difference_method}"
    )


def hazard_ratio(where: DeltaGenerator, ep: EndpointResult, res: AnalysisResult) -> None:
    """The hazard ratio with its interval, method and test (and the pair bootstrap)."""
    ci = ci_label(store().settings.conf_level)
    hr = ep.hazard_ratio
    if len(hr) and pd.notna(hr.iloc[0]["hr"]):
        row = hr.iloc[0]
        where.metric("Hazard ratio (blina vs chemo)", fmt_num(row["hr"]))
        how = method_label(row["method"])
        if res.design.reused and row["method"] == "ml-robust":
            how = "Cox, weighted, Austin-Cafri SE (matched set and patient)"
        elif res.design.weights is not None and row["method"] == "ml-robust":
            how = "Cox, MatchIt weights, cluster-robust SE (matched sets)"
        where.caption(
            f"{ci} {fmt_ci(row['ci_lower'], row['ci_upper'])}; {how}; "
            f"Wald p {fmt_p(row['p_value'])}"
        )
        boot = ep.hazard_ratio_bootstrap
        if boot is not None:
            where.caption(
                f"Pair bootstrap {ci} {fmt_ci(boot.ci_lower, boot.ci_upper)} ({boot.method})"
            )
    else:
        where.metric("Hazard ratio (blina vs chemo)", "not estimable")
        where.caption("No events, one arm empty, or an infinite estimate (see the notes below).")


def model_checks(ep: EndpointResult, res: AnalysisResult) -> None:
    """Proportional-hazards test of the hazard ratio, and the restricted mean survival
    difference at the horizon beside it."""
    c1, c2 = st.columns(2)
    ph = ep.ph
    c1.metric("Proportional hazards: cox.zph p", fmt_ph(None if ph is None else ph.p_value))
    c1.caption(
        "Test of a constant hazard ratio over follow-up (R `cox.zph`, Kaplan-Meier "
        "transform) for the model of the hazard ratio above"
        + (f"; {md_text(ph.note)}" if ph is not None and ph.note else "")
        + "."
    )
    rm = ep.rmst
    after = "after diagnosis" if ep.origin == "diagnosis" else f"after the {ep.origin}"
    if rm is not None and not rm.note:
        ci = ci_label(rm.conf_level)
        c2.metric(
            f"Restricted mean {ep.endpoint.upper()} to {rm.tau:g} months (blina − chemo)",
            f"{rm.difference:+.2f} months",
        )
        alive = "alive and event-free" if ep.endpoint == "efs" else "alive"
        c2.caption(
            f"{ci} {fmt_ci(rm.ci_lower, rm.ci_upper)} months; {rm.method}. Mean months "
            f"{alive} in the first {rm.tau:g} months {after}: blinatumomab "
            f"{rm.rmst['treated']:.2f}, chemotherapy {rm.rmst['control']:.2f} (area under the "
            "Kaplan-Meier curve, R `print(survfit, rmean = tau)`)."
        )
    else:
        c2.metric(f"Restricted mean {ep.endpoint.upper()} difference", "not estimated")
        c2.caption((rm.note[:1].upper() + rm.note[1:] + ": ") if rm is not None and rm.note else "")
    if ph is not None and ph.violated:
        st.warning(
            f"**The hazard ratio may not be constant** (cox.zph p = {fmt_p(ph.p_value)}): one "
            "number does not summarise the whole follow-up. Read the restricted mean survival "
            "difference, and the curves, beside it.",
            icon=":material/warning:",
        )
        show_figure(res, "ph")
    elif ph is not None and len(ph.bins):
        with st.expander("Hazard ratio over follow-up (scaled Schoenfeld residuals)"):
            show_figure(res, "ph")
    teach_topic("proportional_hazards", res)


def four_estimates(res: AnalysisResult) -> None:
    """One question, four answers, each with its E-value."""
    est = res.estimates
    if est.empty:
        return
    settings = store().settings
    key = settings.endpoint if settings.endpoint in ENDPOINT_LABELS else "efs"
    st.subheader(f"One question, four estimates ({key.upper()} hazard ratio)")
    ci = ci_label(settings.conf_level)
    shown = pd.DataFrame(
        {
            "estimate": est["estimate"],
            "population": est["population"],
            "events": est["events"],
            f"HR ({ci})": [hr_cell(r) for r in est.to_dict(orient="records")],
            "p": est["p_value"].map(fmt_p),
            "method": est["method"].map(method_label),
            "PH test p (cox.zph)": est["ph_p"].map(fmt_ph),
            "E-value (point / CI)": [
                "" if pd.isna(a) else f"{a:.2f} / {b:.2f}"
                for a, b in zip(est["e_value"], est["e_value_ci"], strict=True)
            ],
        }
    )
    table(shown)
    rare = "a rare outcome" if settings.e_value_rare_outcome else "a common outcome"
    st.caption(
        "E-value: how strongly an unmeasured confounder would have to be associated with "
        "both the arm and the outcome (as a risk ratio) to explain the estimate away "
        f"(VanderWeele & Ding 2017, hazard ratio read as for {rare}); the second number "
        "is for the confidence limit nearest 1."
    )
    csv_download(est, "four-estimates")


IMMORTAL_NAMES = {
    "diagnosis": "From diagnosis (biased)",
    "landmark": "Landmark",
    "time-dependent": "Time-dependent exposure",
    "time-dependent, all patients": "Time-dependent exposure, all patients",
}


def immortal_time(res: AnalysisResult) -> None:
    st.subheader("Immortal time: from diagnosis, from a landmark, or time-dependent")
    settings = store().settings
    start = res.blina_start_median
    when = (
        f"In this cohort, blinatumomab was started a median **{start:.1f} months** after diagnosis."
        if start is not None and pd.notna(start)
        else "In this cohort the start of blinatumomab is not recorded "
        "(`blina_start_months`); in the study it was a median 10.8 months after diagnosis."
    )
    st.markdown(
        f"{when} A patient had to stay event-free until then to receive it, so counting from "
        "diagnosis credits the blinatumomab arm with event-free time that the treatment "
        "could not have caused (*immortal time bias*). Two remedies: a **landmark** starts the "
        f"clock at month {settings.landmark_months:g} for everyone and leaves out patients who "
        "had an event, were lost, or had not started blinatumomab by then; a **time-dependent "
        "exposure** keeps everyone and counts each blinatumomab patient as unexposed until the "
        "first dose."
    )
    key = settings.endpoint if settings.endpoint in ENDPOINT_LABELS else "efs"
    it = res.immortal_time
    rows = it[it["endpoint"] == key] if len(it) else it
    if len(rows):
        ci = ci_label(settings.conf_level)
        shown = pd.DataFrame(
            {
                "analysis": rows["analysis"].map(IMMORTAL_NAMES),
                "population": rows["population"],
                "n (blina / chemo)": rows["n_blinatumomab"].astype(str)
                + " / "
                + rows["n_chemotherapy"].astype(str),
                "events (blina / chemo)": rows["events_blinatumomab"].astype(str)
                + " / "
                + rows["events_chemotherapy"].astype(str),
                f"HR ({ci})": [hr_cell(r) for r in rows.to_dict(orient="records")],
                "method": rows["method"].map(method_label),
                "p (test)": [
                    f"{fmt_p(p)} ({t})" for p, t in zip(rows["p_value"], rows["test"], strict=True)
                ],
                "PH test p (cox.zph)": rows["ph_p"].map(fmt_ph),
                "excluded": rows["excluded"],
            }
        )
        st.caption(
            f"{ENDPOINT_LABELS[key]}; hazard ratio blinatumomab versus chemotherapy (for the "
            "time-dependent rows: exposed versus unexposed follow-up), Cox model, Efron ties."
        )
        table(shown)
        csv_download(it, "immortal-time")
        advice = res.immortal_advice.get(key)
        if advice:
            st.info(md_text(advice), icon=":material/lightbulb:")
        td_all = res.time_dependent_all.get(key)
        if td_all is not None:
            st.caption(
                "Matching does not apply to the time-dependent analysis of all patients: it "
                f"uses {md_text(td_all.population)}, each unexposed until their first dose. The "
                "time-dependent row on the matched sample uses the matched patients, exposure "
                "starting at each treated patient's first dose."
            )
    td = res.time_dependent.get(key)
    if td is not None and len(td.curves):
        with st.expander("Simon-Makuch curves (exposed from the first dose)"):
            counts = td.counts
            st.caption(
                f"{md_text(td.population)}; {ENDPOINT_LABELS[key]}; Kaplan-Meier with delayed entry "
                f"({settings.conf_type} {ci_label(settings.conf_level)}): "
                f"{counts['events_exposed']:.0f} events in {counts['months_exposed']:.0f} "
                f"exposed and {counts['events_unexposed']:.0f} in "
                f"{counts['months_unexposed']:.0f} unexposed patient-months."
            )
            show_figure(res, "simon_makuch")
            for note in td.notes:
                st.info(md_text(note), icon=":material/info:")
    teach_topic("immortal_time", res)


@fragment
def body() -> None:
    show_flash()
    filter_banner()
    stage, rest = arrange(controls, "Endpoint, population, time origin and month")
    settings = store().settings
    # the headline first: the selected endpoint's curves and comparison
    headline = ["survival", "competing"] if settings.endpoint in COMPETING_LABELS else ["survival"]
    with rest:
        res = result(parts=headline)
    if res is None:
        return
    with rest:
        for w in res.warnings:
            if "population" in w.topics or (
                "competing" in w.topics and res.settings.endpoint in COMPETING_LABELS
            ):
                st.warning(md_text(w.message))
    if settings.endpoint in COMPETING_LABELS:
        if settings.endpoint in res.competing:
            competing_section(res, settings.endpoint, stage, rest)
            return
        with rest:
            st.info(res.competing_note or "Cumulative incidence is not available for this cohort.")
    ep = res.endpoint
    with rest:
        teach_topic("kmunicate", res)
    figure_place, key = figure_and_numbers(stage)
    with rest:  # the numbers reach the screen before the figure is drawn
        estimates(ep, res, key)
    with figure_place:
        if len(ep.curve):
            show_figure(res, f"km_{ep.endpoint}", fit=FIT_SIDE)
            csv_download(ep.risk_table, f"risk-table-{ep.endpoint}", "Numbers at risk (CSV)")
        else:
            st.info("No patients in this selection.")
    with rest:
        if len(ep.excluded):
            with st.expander(f"{len(ep.excluded)} patient(s) excluded at the landmark"):
                table(ep.excluded)
        # then what takes longer, once the headline is on screen
        more = result(parts=["survival", "estimates", "immortal"])
        if more is not None:
            four_estimates(more)
            immortal_time(more)


def competing_section(
    res: AnalysisResult, key: str, stage: DeltaGenerator, rest: DeltaGenerator
) -> None:
    """Cumulative incidence with death in remission (or relapse) as competing event: the
    curves with the incidence of each arm at the month beside them in presentation
    mode."""
    cr = res.competing[key]
    with rest:
        st.caption(
            f"Population: {md_text(cr.population)}; {md_text(cr.label)}, time from diagnosis; Aalen-Johansen "
            "estimates as R's cmprsk::cuminc."
        )
        show_competing = st.toggle(
            "Show the competing events' curve", value=False, key="show_competing"
        )
    figure_place, numbers_place = figure_and_numbers(stage)
    with figure_place:
        show_figure(res, key, fit=FIT_SIDE, competing=show_competing)
        csv_download(cr.risk_table, f"risk-table-{key}", "Numbers at risk (CSV)")
    with rest:
        competing_numbers(res, key, numbers_place)


def competing_numbers(res: AnalysisResult, key: str, numbers_place: DeltaGenerator) -> None:
    """The incidence of each arm at the month (to ``numbers_place`` in presentation
    mode), their difference, Gray's test and the two hazard ratios."""
    cr = res.competing[key]
    settings = store().settings
    ci = ci_label(settings.conf_level)
    cols = st.columns(3)
    places = [numbers_place, numbers_place, numbers_place] if presentation() else cols
    rows = {r["arm"]: r for r in cr.at_horizon.to_dict(orient="records")}
    for col, arm in zip(places[:2], ARM_NAMES, strict=True):
        r = rows.get(arm)
        ok = r is not None and pd.notna(r["incidence"])
        col.metric(
            f"{ARM_NAMES[arm]}: {key.upper()} at {settings.horizon_months:g} months",
            fmt_pct(r["incidence"]) if ok and r is not None else "not estimated",
        )
        if ok and r is not None:
            col.caption(f"{ci} {fmt_ci(r['ci_lower'], r['ci_upper'], pct=True)} (log-log)")
    d = cr.difference
    est = d.get("estimate")
    places[2].metric(
        "Difference (blina − chemo)",
        "NA" if est is None or pd.isna(est) else f"{est * 100:+.1f} points",
    )
    places[2].caption(
        f"{ci} {fmt_ci(d.get('ci_lower'), d.get('ci_upper'), pct=True)}; {cr.difference_method}"
    )
    c1, c2, c3 = st.columns(3)
    c1.metric("Gray's test p", fmt_p(None if cr.gray is None else cr.gray.p_value))
    if len(cr.fine_gray) and pd.notna(cr.fine_gray.iloc[0]["shr"]):
        fg = cr.fine_gray.iloc[0]
        c2.metric("Subdistribution HR (Fine-Gray)", fmt_num(fg["shr"]))
        c2.caption(f"{ci} {fmt_ci(fg['ci_lower'], fg['ci_upper'])}; p {fmt_p(fg['p_value'])}")
    else:
        c2.metric("Subdistribution HR (Fine-Gray)", "not estimable")
    if len(cr.cause_specific) and pd.notna(cr.cause_specific.iloc[0]["hr"]):
        cs = cr.cause_specific.iloc[0]
        c3.metric("Cause-specific HR", fmt_num(cs["hr"]))
        c3.caption(
            f"{ci} {fmt_ci(cs['ci_lower'], cs['ci_upper'])}; {method_label(cs['method'])}; "
            "competing events censored; proportional-hazards test (cox.zph) p "
            f"{fmt_ph(None if cr.ph is None else cr.ph.p_value)}"
        )
        if cr.ph is not None and cr.ph.violated:
            st.warning(
                f"The cause-specific hazard ratio may not be constant (cox.zph p = "
                f"{fmt_p(cr.ph.p_value)}): read the cumulative incidence curves and the "
                "difference at the horizon rather than one ratio.",
                icon=":material/warning:",
            )
    else:
        c3.metric("Cause-specific HR", "not estimable")
    st.caption(
        "Patients: "
        + ", ".join(
            f"{ARM_NAMES[a]} {cr.n.get(a, 0)} ({cr.events.get(a, 0)} events, "
            f"{cr.competing.get(a, 0)} competing)"
            for a in ARM_NAMES
        )
    )
    for note in cr.notes:
        st.info(md_text(note), icon=":material/info:")
    teach(
        "When death in remission competes with relapse, 1 - Kaplan-Meier for relapse treats "
        "the dead as if they could still relapse and so overstates the relapse risk; the "
        "cumulative incidence counts each child once, at their first event."
    )
    teach_topic("competing", res)


render(body, "Survival")

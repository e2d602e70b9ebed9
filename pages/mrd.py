"""MRD: outcome by MRD group and arm at a chosen time point and threshold, and which
patients change group as the threshold moves."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

if TYPE_CHECKING:
    from blinastudy.analysis import MrdResult

from blinastudy.analysis import COMPETING_LABELS, ENDPOINT_LABELS
from blinastudy.core.formatting import (
    ci_label,
    fmt_ci,
    fmt_p,
    fmt_pct,
)
from blinastudy.report.mdtext import md_text
from pages.common.ui import (
    FIT_SIDE,
    arrange,
    beside,
    bound,
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
    MARKED_THRESHOLDS,
    MRD_THRESHOLDS,
    threshold_label,
)

TIMEPOINTS = {"eoi": "End of induction", "day15": "Day 15"}


SIDES = {"at_or_above": "high (< vs ≥)", "above": "low (≤ vs >)"}


def controls() -> None:
    mrd = store().settings.mrd
    c1, c2 = st.columns([1, 3])
    with c1:
        bound(
            st.radio,
            "MRD time point",
            "mrd__timepoint",
            options=list(TIMEPOINTS),
            format_func=TIMEPOINTS.get,
        )
        bound(
            st.radio,
            "A value equal to the threshold is",
            "mrd__side",
            options=list(SIDES),
            format_func=SIDES.get,
            help="The study reported 'MRD > 0.1 %': choose 'low' to group 0.1 % with the "
            "lower values.",
        )
    with c2:
        bound(
            st.select_slider,
            "MRD threshold (log scale; ◆ marks the usual cut-offs)",
            "mrd__threshold_pct",
            options=sorted({*MRD_THRESHOLDS, mrd.threshold_pct}),
            format_func=threshold_label,
        )
        cols = st.columns(len(MARKED_THRESHOLDS) + 1)
        cols[0].caption("Jump to")
        for col, value in zip(cols[1:], MARKED_THRESHOLDS, strict=True):
            col.button(
                f"{value:g} %",
                on_click=set_field,
                args=("mrd__threshold_pct", value),
                key=f"mrd_jump_{value:g}",
                type="primary" if value == mrd.threshold_pct else "secondary",
            )
        bound(
            st.select_slider,
            "Compare with threshold",
            "mrd__compare_threshold_pct",
            options=sorted({*MRD_THRESHOLDS, mrd.compare_threshold_pct}),
            format_func=threshold_label,
            help="Patients whose group differs between the two thresholds are listed below.",
        )


def group_numbers(mrd: MrdResult, horizon: float, key: DeltaGenerator | None) -> None:
    """Patients and events per MRD group (to ``key``, beside the curves, in presentation
    mode), then the outcome per group and arm."""
    groups = mrd.groups
    groups = groups[(groups["group"] != "MRD missing") | (groups["n"] > 0)]
    shown = groups
    n_groups = max(1, shown["group"].nunique())
    cols = [beside(key)] * n_groups if presentation() else st.columns(n_groups)
    for col, (group, rows) in zip(cols, shown.groupby("group", sort=False), strict=False):
        n = int(rows["n"].sum())
        events = int(rows["events"].sum())
        col.metric(str(group), f"{n} patients", help="Both arms together.")
        col.caption(
            "; ".join(
                f"{md_text(r['arm'])}: n {r['n']}, {r['events']} events"
                for r in rows.to_dict("records")
            )
            + f" (total events {events})"
        )
    detail = pd.DataFrame(
        {
            "MRD group": groups["group"],
            "arm": groups["arm"],
            "n": groups["n"],
            "events": groups["events"],
            f"{mrd.measure} at {horizon:g} months": groups[mrd.measure].map(fmt_pct),
            ci_label(store().settings.conf_level): [
                fmt_ci(lo, hi, pct=True)
                for lo, hi in zip(groups["ci_lower"], groups["ci_upper"], strict=True)
            ],
        }
    )
    table(detail)


def cut_section(mrd: MrdResult) -> None:
    """The data-driven cut-point beside the chosen threshold, with honest p-values."""
    if mrd.cutpoint is None and pd.isna(mrd.threshold_p):
        return
    c1, c2 = st.columns(2)
    c1.metric(
        f"Plain log-rank p at {mrd.threshold_pct:g} %",
        fmt_p(mrd.threshold_p),
        help="Naive: valid only for a threshold fixed before seeing the outcomes.",
    )
    c1.caption("Naive p of the chosen threshold (both arms together).")
    cut = mrd.cutpoint
    if cut is not None:
        c2.metric(
            "Maximally selected cut-point",
            f"{cut.cutpoint:g} %",
            help="The threshold that separates the curves most (maxstat, log-rank scores).",
        )
        c2.caption(
            f"Adjusted p {fmt_p(cut.p_value)} (Lausen and Schumacher 1992, accounting for the "
            f"search over {cut.minprop:g}-{cut.maxprop:g} quantiles; R maxstat.test)"
        )
    teach(
        "Searching for the threshold that separates the curves best, then testing it as if "
        "it had been fixed in advance, gives a p-value far too small. The maximally selected "
        "log-rank statistic accounts for the search, so its adjusted p is larger than the "
        "plain p of the same cut; only a threshold fixed beforehand (the protocol's) earns a "
        "plain p-value."
    )


@fragment
def body() -> None:
    show_flash()
    stage, rest = arrange(controls, "MRD time point, threshold and comparison")
    with rest:
        st.warning(
            "**A threshold chosen after looking at the outcomes inflates significance.** "
            "Trying cut-offs until the curves separate is a hidden multiple comparison: the "
            "p-values and confidence intervals no longer mean what they say. Prefer a "
            "threshold fixed in advance (0.01 % or 0.1 % in current protocols).",
            icon=":material/warning:",
        )
        res = result(parts=["mrd"])
    if res is None:
        return
    with rest:
        teach_topic("mrd_threshold", res)
    settings = store().settings
    mrd = res.mrd
    if mrd is None:
        with rest:
            st.info(
                f"This cohort has no {md_text(settings.mrd.column)} column, so there is no MRD analysis."
            )
        return
    label = {**ENDPOINT_LABELS, **COMPETING_LABELS}.get(settings.endpoint, ENDPOINT_LABELS["efs"])
    figure_place, key = figure_and_numbers(stage)

    def curves() -> None:
        if len(mrd.curve):
            with figure_place:
                show_figure(res, "mrd", fit=FIT_SIDE, width="stretch")

    with rest:
        st.caption(
            f"{label} (endpoint chosen on the Survival page), "
            f"{'matched pairs' if settings.population == 'matched' else 'all patients'}, "
            f"MRD at {TIMEPOINTS[settings.mrd.timepoint].lower()}, "
            f"threshold {mrd.threshold_pct:g} %."
        )
        if presentation():
            curves()
        group_numbers(mrd, settings.horizon_months, key)
        cut_section(mrd)
        if mrd.missing:
            st.caption(f"{mrd.missing} patient(s) have no MRD value at this time point.")
        if not presentation():
            curves()
        changed_section(mrd, settings.mrd.compare_threshold_pct)


def changed_section(mrd: MrdResult, ref: float) -> None:
    """Patients whose group differs between the threshold and the comparison."""
    st.subheader("Patients who change group")
    if len(mrd.changed):
        st.markdown(
            f"**{len(mrd.changed)} patient(s)** are in a different group at "
            f"{mrd.threshold_pct:g} % than at {ref:g} %."
        )
        table(mrd.changed)
    else:
        st.caption(f"No patient changes group between {ref:g} % and {mrd.threshold_pct:g} %.")


render(body, "Minimal residual disease")

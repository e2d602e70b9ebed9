"""Subgroups: forest plot of the treatment hazard ratio by chosen variables, with
interaction tests; choosing a row restricts the Survival page to that subgroup."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from blinastudy.core.formatting import (
    ci_label,
    fmt_p,
    fmt_ph,
    hr_cell,
    method_label,
)
from blinastudy.report.charts import FOREST_SELECTION
from blinastudy.report.mdtext import md_text
from blinastudy.stats.subgroups import interaction_p
from pages.common.ui import (
    arrange,
    bound,
    callback,
    display_frame,
    fragment,
    presentation,
    render,
    result,
    set_field,
    show_figure,
    show_flash,
    store,
    table,
    teach_topic,
)
from pages.common.ui_state import (
    SUBGROUP_LABELS,
    subgroup_options,
)

FEW_EVENTS = 5
SELECT_KEY = "forest_rows"
CHART_KEY = "forest_chart"


def label(var: str) -> str:
    return SUBGROUP_LABELS.get(var, var)


def forest_table(forest: pd.DataFrame, conf_level: float) -> pd.DataFrame:
    """The forest numbers as shown: counts per arm, HR (CI), interaction p (and the
    competing events per arm on a competing-risks endpoint)."""
    shown = _forest_columns(forest, conf_level)
    if "competing_treated" in forest.columns:
        shown.insert(
            4,
            "competing (blina / chemo)",
            forest["competing_treated"].astype(str)
            + " / "
            + forest["competing_control"].astype(str),
        )
    return shown


def _forest_columns(forest: pd.DataFrame, conf_level: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "variable": forest["variable"].map(label),
            "level": forest["level"].astype(str),
            "blinatumomab n (events)": forest["n_treated"].astype(str)
            + " ("
            + forest["events_treated"].astype(str)
            + ")",
            "chemotherapy n (events)": forest["n_control"].astype(str)
            + " ("
            + forest["events_control"].astype(str)
            + ")",
            f"HR ({ci_label(conf_level)})": [hr_cell(r) for r in forest.to_dict(orient="records")],
            "estimate": forest["method"].map(method_label),
            "interaction p": [
                ""
                if r["variable"] == "Overall" or pd.isna(interaction_p(r))
                else f"{fmt_p(interaction_p(r))} ({r['interaction_test']})"
                for r in forest.to_dict(orient="records")
            ],
            "PH test p (cox.zph)": forest["ph_p"].map(fmt_ph) if "ph_p" in forest.columns else "",
        }
    )


@callback
def _select_point(forest: pd.DataFrame) -> None:
    state = st.session_state.get(CHART_KEY)
    selection = getattr(state, "selection", None) or {}
    points = list(selection.get(FOREST_SELECTION, []) or [])
    if points and "row" in points[0]:
        apply_filter(forest, int(points[0]["row"]))


@callback
def _select_row(forest: pd.DataFrame) -> None:
    state = st.session_state.get(SELECT_KEY)
    rows = list(getattr(getattr(state, "selection", None), "rows", []) or [])
    if not rows:
        return
    apply_filter(forest, rows[0])


def apply_filter(forest: pd.DataFrame, index: int) -> None:
    row = forest.iloc[index]
    if row["variable"] == "Overall":
        set_field("subgroup_filter", None)
        return
    set_field("subgroup_filter", (str(row["variable"]), str(row["level"])))


@callback
def _apply_choice(forest: pd.DataFrame) -> None:
    choice = st.session_state.get("forest_choice")
    if choice is not None:
        apply_filter(forest, int(choice))


def chooser(forest: pd.DataFrame) -> None:
    settings = store().settings
    options = [i for i in range(len(forest)) if forest.iloc[i]["variable"] != "Overall"]
    c1, c2 = st.columns([3, 1])
    c1.selectbox(
        "Show one subgroup on the Survival page",
        options,
        format_func=lambda i: (
            f"{label(str(forest['variable'].iloc[i]))} = {forest['level'].iloc[i]}"
        ),
        key="forest_choice",
        index=None,
        placeholder="Choose a subgroup (or select a row in the table)",
    )
    c2.button(
        "Restrict Survival page",
        on_click=_apply_choice,
        args=(forest,),
        icon=":material/filter_alt:",
        key="apply_subgroup",
    )
    if settings.subgroup_filter is not None:
        var, level = settings.subgroup_filter
        st.success(
            f"The Survival page is restricted to **{md_text(label(var))} = {md_text(level)}**.",
            icon=":material/filter_alt:",
        )
        st.page_link(
            "pages/survival.py", label="Open the Survival page", icon=":material/show_chart:"
        )


def split_by() -> None:
    s = store()
    bound(
        st.multiselect,
        "Split by",
        "subgroups",
        options=list(dict.fromkeys([*subgroup_options(s.cohort), *s.settings.subgroups])),
        format_func=label,
        to_widget=list,
        from_widget=tuple,
    )


@fragment
def body() -> None:
    show_flash()
    stage, rest = arrange(split_by, "Split by")
    with rest:
        res = result(parts=["forest"])
    if res is None:
        return
    with rest:
        teach_topic("forest", res)
        for w in res.warnings:
            if "subgroups" in w.topics:
                st.warning(md_text(w.message))
    forest = res.forest
    if forest.empty:
        with rest:
            st.info("No subgroup results.")
        return
    few = (forest["events_treated"] + forest["events_control"]) < FEW_EVENTS
    with rest:
        if few.any():
            st.warning(
                f"**{int(few.sum())} level(s) have fewer than {FEW_EVENTS} events** (marked ⚠ "
                "in the table). Their hazard ratios are imprecise: do not over-read them.",
                icon=":material/warning:",
            )
    with stage:
        show_figure(
            res,
            "forest",
            width="stretch",
            key=CHART_KEY,
            on_select=lambda: _select_point(forest),
        )
    with rest:
        numbers(forest, few)
        chooser(forest)


def numbers(forest: pd.DataFrame, few: pd.Series) -> None:
    """The forest in a table; selecting a row restricts the Survival page (in
    presentation mode a plain table in large type: choose the row with the plot or the
    box below it)."""
    shown = forest_table(forest, store().settings.conf_level)
    shown.insert(6, "note", ["⚠ few events" if f else "" for f in few])
    if presentation():
        st.caption("Click a row of the plot, or choose it below, to restrict the Survival page.")
        table(shown)
        return
    st.caption("Click a row of the plot, or select it in the table, to restrict the Survival page.")
    st.markdown("**Numbers** (select a row to restrict the Survival page to it)")
    st.dataframe(
        display_frame(shown),
        hide_index=True,
        on_select=lambda: _select_row(forest),
        selection_mode="single-row",
        key=SELECT_KEY,
    )


render(body, "Subgroups")

"""Altair charts drawn from the aggregated tables of an analysis.

Every builder takes a table from :class:`~blinastudy.analysis.AnalysisResult`
(curve points, counts at ticks, per-bin counts, per-level estimates): no
patient-level rows reach a chart. Arms have the same colour-blind- and
greyscale-safe colours (Paul Tol's high-contrast blue and red) everywhere, and in
survival and incidence curves a stroke of their own; ``presentation=True`` gives
larger text and thicker lines for a lecture hall. :func:`to_svg` and :func:`to_png` render any chart
offline with vl-convert.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, cast

import altair as alt
import numpy as np
import pandas as pd

from blinastudy.core.formatting import SHORT_LABELS, fmt_p, hr_cell, is_finite

if TYPE_CHECKING:
    from blinastudy.analysis import MrdResult
    from blinastudy.stats.model_checks import PhCheck

__all__ = [
    "ARM_COLORS",
    "ARM_DASHES",
    "ARM_LABELS",
    "FOREST_SELECTION",
    "SHORT_LABELS",
    "cir_chart",
    "forest_chart",
    "km_chart",
    "love_plot",
    "mrd_chart",
    "overlap_chart",
    "ph_chart",
    "simon_makuch_chart",
    "sweep_chart",
    "term_text",
    "titled",
    "to_png",
    "to_svg",
]

#: Paul Tol's high-contrast blue and red: distinguishable with every common colour-vision
#: deficiency and in greyscale (relative luminance 0.06 and 0.18, a contrast ratio of 2.1),
#: and each readable as text on white (contrast 9.6 and 4.6). In the Kaplan-Meier and
#: cumulative incidence curves the arms also differ by stroke (:data:`ARM_DASHES`).
ARM_COLORS = {"blinatumomab": "#004488", "chemotherapy": "#BB5566"}
#: Stroke of each arm's curve (Vega-Lite dash array): solid and dashed, for print.
ARM_DASHES = {"blinatumomab": [1, 0], "chemotherapy": [8, 4]}
ARM_LABELS = {"blinatumomab": "Blinatumomab", "chemotherapy": "Chemotherapy"}
_ARM_ORDER = list(ARM_COLORS)


def term_text(term: str) -> str:
    """A model or balance term in short words: ``risk_groupHR`` -> ``Risk group: HR``.

    Examples
    --------
    >>> term_text("genetic_subtypeTCF3-PBX1"), term_text("age_years"), term_text("x")
    ('Genetics: TCF3-PBX1', 'Age (years)', 'x')
    """
    for col in sorted(SHORT_LABELS, key=len, reverse=True):
        if term == col:
            return SHORT_LABELS[col]
        if term.startswith(col):
            return f"{SHORT_LABELS[col]}: {term[len(col) :]}"
    return term


HR_DOMAIN = (0.001, 100.0)


def _style(presentation: bool) -> dict[str, Any]:
    """Sizes of text, lines and views (pixels).

    For a page or a screen; or, with ``presentation``, for a lecture hall: larger
    type and thicker lines, and views sized so that a page's main figure fits beside
    its key numbers on one 16:9 screen of 1280 x 720 with the app's sidebar open
    (about 600 pixels across and 560 down for a figure).
    """
    if presentation:
        return {
            "font": 16.0,  # axis, legend and table text
            "title": 20.0,
            "subtitle": 16.0,
            "line": 4.0,
            "point": 150.0,
            "width": 380.0,  # plot area of a curve (KM, cumulative incidence, MRD)
            "aspect": 0.62,  # plot height over width, KM and cumulative incidence
            "mrd_aspect": 0.75,  # and MRD curves (no table under them)
            "table_row": 21.0,  # one row of the KMunicate table under a curve
            "forest_row": 18.0,  # one subgroup of the forest plot
            "forest_width": 275.0,  # its plot area: 55 pixels a decade
            "forest_legend": "bottom",  # under the whole figure: the width goes to the plot
            "forest_columns": (80.0, 85.0, 185.0, 60.0),  # n (events) twice, HR (CI), p
            "forest_bounds": "flush",
            "forest_header_lines": 2,  # "Blinatumomab" over "n (events)"
            "love_row": 17.0,  # one covariate of the love plot
            "love_width": 360.0,
            "legend": "top",  # over the plot, not beside it: the width goes to the plot
            "label_limit": 320.0,  # longest axis label drawn whole (love plot covariates)
        }
    return {
        "font": 12.0,
        "title": 14.0,
        "subtitle": 10.8,
        "line": 2.0,
        "point": 60.0,
        "width": 620.0,
        "aspect": 0.55,
        "mrd_aspect": 0.5,
        "table_row": 19.2,
        "forest_row": 24.0,
        "forest_width": 279.0,
        "forest_legend": "right",
        "forest_columns": (124.0, 124.0, 167.4, 74.4),
        "forest_bounds": "full",
        "forest_header_lines": 1,
        "love_row": 21.6,
        "love_width": 434.0,
        "legend": "right",
        "label_limit": 180.0,
    }


def _arm_color(orient: Literal["right", "top"] = "right", *, curve: bool = False) -> alt.Color:
    """The arm as colour; with ``curve``, its legend shows each arm's stroke."""
    return alt.Color(
        "arm:N",
        title="Arm",
        scale=alt.Scale(domain=_ARM_ORDER, range=[ARM_COLORS[a] for a in _ARM_ORDER]),
        legend=_arm_legend(orient, curve),
    )


def _arm_dash(orient: Literal["right", "top"] = "right") -> alt.StrokeDash:
    """The arm as the stroke of a curve (one legend with ``_arm_color(curve=True)``)."""
    return alt.StrokeDash(
        "arm:N",
        title="Arm",
        scale=alt.Scale(domain=_ARM_ORDER, range=[ARM_DASHES[a] for a in _ARM_ORDER]),
        legend=_arm_legend(orient, True),
    )


def _arm_legend(orient: Literal["right", "top"], curve: bool) -> alt.Legend:
    """The legend of the arms: their names, with a line of each arm's colour and stroke
    for curves (a dot otherwise)."""
    label = "datum.label == 'blinatumomab' ? 'Blinatumomab' : 'Chemotherapy'"
    if not curve:
        return _legend(orient, labelExpr=label)
    return _legend(
        orient,
        labelExpr=label,
        symbolType="stroke",
        symbolOpacity=1,
        symbolStrokeWidth=3,
        symbolSize=900,  # a line long enough to show its dashes
    )


def _legend(orient: Literal["right", "top", "bottom"], **kwargs: Any) -> alt.Legend:
    """A legend beside (right) or along (top, bottom: title at the left) its chart."""
    title: Literal["top", "left"] = "top" if orient == "right" else "left"
    return alt.Legend(orient=orient, titleOrient=title, **kwargs)


def _configure(chart: Any, presentation: bool) -> Any:
    st = _style(presentation)
    return (
        chart.configure_axis(labelFontSize=st["font"], titleFontSize=st["font"])
        .configure_legend(labelFontSize=st["font"], titleFontSize=st["font"])
        .configure_title(
            fontSize=st["title"], subtitleFontSize=st["subtitle"], subtitleColor="#333333"
        )
        .configure_text(fontSize=st["font"])
        .configure_header(labelFontSize=st["font"], titleFontSize=st["font"])
    )


def _curve_plot(
    layers: list[Any],
    horizon: float | None,
    x_max: float,
    x_scale: alt.Scale,
    st: dict[str, Any],
    title: Any,
) -> alt.LayerChart:
    """The curve layers, with a dashed rule at the horizon month when it is on the axis,
    at the size of the style."""
    if horizon is not None and horizon <= x_max:
        layers = [
            *layers,
            alt.Chart(pd.DataFrame({"time": [float(horizon)]}))
            .mark_rule(strokeDash=[4, 4], color="#555555")
            .encode(x=alt.X("time:Q", scale=x_scale)),
        ]
    plot = alt.layer(*layers).properties(
        width=st["width"], height=st["width"] * st["aspect"], title=title
    )
    return cast(alt.LayerChart, plot)


def _time_scale(
    risk_table: pd.DataFrame, curve: pd.DataFrame
) -> tuple[list[float], float, alt.Scale]:
    """The x ticks (the times of the numbers table), the last month drawn and the x scale."""
    ticks = sorted(risk_table["time"].unique()) if len(risk_table) else [0.0]
    x_max = float(max(ticks[-1], curve["time"].max() if len(curve) else 0.0))
    return [float(t) for t in ticks], x_max, alt.Scale(domain=[0, x_max], nice=False)


def _band_and_line(
    band: pd.DataFrame,
    line: pd.DataFrame,
    value: str,
    title: str,
    x: alt.X,
    st: dict[str, Any],
    **encoding: Any,
) -> tuple[alt.Chart, alt.Chart]:
    """Step curves of ``value`` (a share, drawn as percent) per arm over their CI bands.

    ``band`` holds the rows with ``ci_lower`` and ``ci_upper``; ``encoding`` adds
    channels to the line (stroke dash, tooltip).
    """
    area = (
        alt.Chart(band)
        .mark_area(opacity=0.18, interpolate="step-after")
        .encode(
            x=x, y=alt.Y("ci_lower:Q"), y2="ci_upper:Q", color=_arm_color(st["legend"], curve=True)
        )
    )
    steps = (
        alt.Chart(line)
        .mark_line(interpolate="step-after", strokeWidth=st["line"])
        .encode(
            x=x,
            y=alt.Y(value, scale=alt.Scale(domain=[0, 1]), title=title, axis=alt.Axis(format="%")),
            color=_arm_color(st["legend"], curve=True),
            **encoding,
        )
    )
    return area, steps


def km_chart(
    endpoint: Any,
    *,
    presentation: bool = False,
    horizon: float | None = None,
    title: str | None = None,
) -> alt.VConcatChart:
    """Kaplan-Meier curves per arm with CI bands, censor marks and a KMunicate table.

    The arms differ by colour and by stroke (:data:`ARM_DASHES`), so that they can be
    told apart in greyscale print.

    ``endpoint`` is an :class:`~blinastudy.analysis.EndpointResult`; the table
    under the plot gives, per arm and at each x tick, the number at risk and the
    cumulative numbers censored and with an event, aligned with the ticks.

    Examples
    --------
    >>> from blinastudy.analysis import analyze
    >>> from blinastudy.data.demo import make_demo_cohort
    >>> res = analyze(make_demo_cohort(), sweep=False)
    >>> chart = km_chart(res.endpoints["efs"])
    >>> "vconcat" in chart.to_dict()
    True
    """
    st = _style(presentation)
    curve = endpoint.curve.copy()
    ticks, x_max, x_scale = _time_scale(endpoint.risk_table, curve)
    x_axis = alt.Axis(
        values=ticks,
        title="Months"
        + (" from landmark" if endpoint.origin.startswith("landmark") else " from diagnosis"),
    )
    band, line = _band_and_line(
        curve,
        curve,
        "survival:Q",
        endpoint.label,
        alt.X("time:Q", scale=x_scale, axis=x_axis),
        st,
        strokeDash=_arm_dash(st["legend"]),
        tooltip=[
            alt.Tooltip("arm:N", title="Arm"),
            alt.Tooltip("time:Q", title="Month", format=".1f"),
            alt.Tooltip("survival:Q", title="Survival", format=".1%"),
            alt.Tooltip("ci_lower:Q", title="CI lower", format=".1%"),
            alt.Tooltip("ci_upper:Q", title="CI upper", format=".1%"),
        ],
    )
    marks = (
        alt.Chart(endpoint.censor_marks)
        .mark_point(shape="stroke", size=st["point"], angle=90, strokeWidth=st["line"] / 1.5)
        .encode(
            x=alt.X("time:Q", scale=x_scale),
            y="survival:Q",
            color=_arm_color(st["legend"], curve=True),
            tooltip=[alt.Tooltip("n_censored:Q", title="Censored here")],
        )
    )
    plot = _curve_plot(
        [band, line, marks], horizon, x_max, x_scale, st, endpoint.label if title is None else title
    )
    table = _numbers_table(
        endpoint.risk_table,
        (("at risk", "at_risk"), ("censored", "censored"), ("events", "events")),
        x_scale,
        st,
    )
    chart = alt.vconcat(plot, table, spacing=6).resolve_scale(x="shared", color="shared")
    return cast(alt.VConcatChart, _configure(chart, presentation))


def _numbers_table(
    risk_table: pd.DataFrame,
    rows_spec: tuple[tuple[str, str], ...],
    x_scale: alt.Scale,
    st: dict[str, float],
) -> alt.Chart:
    """The KMunicate table under a curve: per arm and x tick, one row per count in
    ``rows_spec`` (label, column of ``risk_table``), aligned with the ticks."""
    rows = [
        {
            "time": r["time"],
            "row": f"{ARM_LABELS.get(r['arm'], r['arm'])}: {name}",
            "value": int(r[col]),
            "arm": r["arm"],
        }
        for _, r in risk_table.iterrows()
        for name, col in rows_spec
    ]
    table_data = pd.DataFrame(rows, columns=["time", "row", "value", "arm"])
    order = [f"{ARM_LABELS[a]}: {name}" for a in _ARM_ORDER for name, _ in rows_spec]
    chart: alt.Chart = (
        alt.Chart(table_data)
        .mark_text(fontSize=st["font"])
        .encode(
            x=alt.X("time:Q", scale=x_scale, axis=None),
            y=alt.Y(
                "row:N", sort=order, title=None, axis=alt.Axis(labelLimit=260, labelPadding=22)
            ),
            text="value:Q",
            color=alt.Color(
                "arm:N",
                scale=alt.Scale(domain=_ARM_ORDER, range=[ARM_COLORS[a] for a in _ARM_ORDER]),
                legend=None,
            ),
        )
        .properties(width=st["width"], height=st["table_row"] * 2 * len(rows_spec))
    )
    return chart


def cir_chart(
    result: Any,
    *,
    presentation: bool = False,
    horizon: float | None = None,
    competing: bool = False,
    title: str | None = None,
) -> alt.VConcatChart:
    """Cumulative incidence per arm with log(-log) CI bands and the numbers table.

    ``result`` is a :class:`~blinastudy.analysis.CompetingResult`; with
    ``competing=True`` the competing events' incidence is drawn too (dashed; the arms
    then differ by colour and lightness), without it the arms differ by stroke as
    well (:data:`ARM_DASHES`). The table gives, per arm and tick, patients at risk and the cumulative numbers with
    the event, with a competing event and censored.

    Examples
    --------
    >>> from blinastudy.analysis import analyze
    >>> from blinastudy.data.demo import make_demo_cohort
    >>> res = analyze(make_demo_cohort(), sweep=False, replicates=0)
    >>> "vconcat" in cir_chart(res.competing["cir"], competing=True).to_dict()
    True
    """
    st = _style(presentation)
    curve = result.curve if competing else result.curve[result.curve["cause"] == "interest"]
    ticks, x_max, x_scale = _time_scale(result.risk_table, curve)
    x_axis = alt.Axis(values=ticks, title="Months from diagnosis")
    cause = alt.StrokeDash(
        "cause:N",
        title=None,
        scale=alt.Scale(domain=["interest", "competing"], range=[[1, 0], [6, 4]]),
        legend=alt.Legend(
            labelExpr="datum.label == 'interest' ? 'event of interest' : 'competing events'"
        )
        if competing
        else None,
    )
    band, line = _band_and_line(
        curve[curve["cause"] == "interest"],
        curve,
        "incidence:Q",
        "Cumulative incidence",
        alt.X("time:Q", scale=x_scale, axis=x_axis),
        st,
        # the arms by stroke too; with the competing events drawn, the stroke tells the
        # events apart and the arms differ by colour and lightness
        strokeDash=cause if competing else _arm_dash(st["legend"]),
        tooltip=[
            alt.Tooltip("arm:N", title="Arm"),
            alt.Tooltip("cause:N", title="Event"),
            alt.Tooltip("time:Q", title="Month", format=".1f"),
            alt.Tooltip("incidence:Q", title="Cumulative incidence", format=".1%"),
        ],
    )
    plot = _curve_plot(
        [band, line], horizon, x_max, x_scale, st, result.label if title is None else title
    )
    table = _numbers_table(
        result.risk_table,
        (
            ("at risk", "at_risk"),
            ("events", "events"),
            ("competing", "competing"),
            ("censored", "censored"),
        ),
        x_scale,
        st,
    )
    chart = alt.vconcat(plot, table, spacing=6).resolve_scale(x="shared", color="shared")
    return cast(alt.VConcatChart, _configure(chart, presentation))


#: Name of the forest plot's row selection (clicking a row restricts like the table).
FOREST_SELECTION = "forest_row"


def _forest_rows(forest: pd.DataFrame, conf_level: float) -> pd.DataFrame:
    """The forest table with the label, plotted limits, arrows and the text columns."""
    data = forest.copy().reset_index(drop=True)
    data["row"] = np.arange(len(data))
    data["label"] = np.where(
        data["variable"] == "Overall",
        "Overall",
        data["variable"].astype(str).map(lambda v: SHORT_LABELS.get(v, v))
        + ": "
        + data["level"].astype(str),
    )
    data["events"] = data["events_treated"] + data["events_control"]
    data["estimator"] = np.where(
        data["method"].astype(str).str.startswith("firth"),
        "Firth penalised",
        np.where(data["method"] == "not estimable", "not estimable", "Cox"),
    )
    data["treated_text"] = [
        f"{int(n)} ({int(e)})"
        for n, e in zip(data["n_treated"], data["events_treated"], strict=True)
    ]
    data["control_text"] = [
        f"{int(n)} ({int(e)})"
        for n, e in zip(data["n_control"], data["events_control"], strict=True)
    ]
    data["hr_text"] = [
        "not estimable" if est == "not estimable" else hr_cell(r)
        for est, r in zip(data["estimator"], data.to_dict(orient="records"), strict=True)
    ]
    first = ~data["variable"].duplicated()
    p_values = []
    for is_first, r in zip(first, data.to_dict(orient="records"), strict=True):
        shown = ""
        if is_first and r["variable"] != "Overall" and "interaction_test" in r:
            key = "p_interaction_wald" if "Wald" in str(r["interaction_test"]) else "p_interaction"
            shown = "" if not is_finite(r.get(key)) else fmt_p(r.get(key))
        p_values.append(shown)
    data["p_text"] = p_values
    data.attrs["conf_level"] = conf_level
    return data


def forest_chart(
    forest: pd.DataFrame,
    *,
    presentation: bool = False,
    title: str | None = None,
    conf_level: float = 0.95,
) -> alt.HConcatChart:
    """Forest plot as published: rows aligned with their numbers on the figure itself.

    Left of the plot each subgroup with patients (events) per arm; on the plot the
    hazard ratio with its interval (symbol size by events, Firth estimates as
    diamonds, arrows where an interval runs off the axis, "favours" under the axis);
    right of it the hazard ratio with its interval in figures and the interaction p
    (on the first row of each variable). Clicking a row selects it
    (:data:`FOREST_SELECTION`), as the table does.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"variable": ["Overall"], "level": ["All"], "events_treated": [2],
    ...     "events_control": [20], "hr": [0.1], "ci_lower": [0.02], "ci_upper": [0.4],
    ...     "method": ["ml"], "n_treated": [90], "n_control": [90], "p_interaction": [None]})
    >>> "hconcat" in forest_chart(f).to_dict()
    True
    """
    st = _style(presentation)
    data = _forest_rows(forest, conf_level)
    lo, hi = HR_DOMAIN
    est = data[data["estimator"] != "not estimable"].copy()
    finite = est[["ci_lower", "ci_upper"]].replace([np.inf, -np.inf], np.nan)
    # the axis spans the intervals (whole powers of ten), within 0.001 to 100
    low = float(np.nanmin(finite["ci_lower"])) if finite["ci_lower"].notna().any() else 0.1
    high = float(np.nanmax(finite["ci_upper"])) if finite["ci_upper"].notna().any() else 10.0
    lo = max(lo, 10 ** np.floor(np.log10(max(min(low, 0.5), 1e-12))))
    hi = min(hi, 10 ** np.ceil(np.log10(max(high, 2.0))))
    for col in ("hr", "ci_lower", "ci_upper"):
        est[col + "_plot"] = est[col].clip(lo, hi)
    order = list(data["label"])
    height = max(len(order), 1) * st["forest_row"]
    y = alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelLimit=320))
    no_axis = alt.Y("label:N", sort=order, title=None, axis=None)
    ticks = [t for t in (0.001, 0.01, 0.1, 1, 10, 100) if lo <= t <= hi]
    x_scale = alt.Scale(type="log", domain=[lo, hi])
    select = alt.selection_point(name=FOREST_SELECTION, fields=["row"], on="click")
    bars = (
        alt.Chart(est)
        .mark_rule(strokeWidth=st["line"])
        .encode(
            x=alt.X(
                "ci_lower_plot:Q",
                scale=x_scale,
                title="← favours blinatumomab   HR (log scale)   favours chemotherapy →",
                axis=alt.Axis(values=ticks, format="~g"),
            ),
            x2="ci_upper_plot:Q",
            y=no_axis,
        )
    )
    points = (
        alt.Chart(est)
        .mark_point(filled=True, color="#0072B2")
        .encode(
            x=alt.X("hr_plot:Q", scale=x_scale),
            y=no_axis,
            size=alt.Size(
                "events:Q",
                title="Events",
                scale=alt.Scale(range=[st["point"] / 2, st["point"] * 4]),
                legend=_legend(st["forest_legend"]),
            ),
            shape=alt.Shape(
                "estimator:N",
                title="Estimate",
                scale=alt.Scale(domain=["Cox", "Firth penalised"], range=["circle", "diamond"]),
                legend=_legend(st["forest_legend"]),
            ),
            opacity=alt.condition(select, alt.value(1.0), alt.value(0.35)),
            tooltip=[
                alt.Tooltip("label:N", title="Subgroup"),
                alt.Tooltip("hr:Q", title="HR", format=".3f"),
                alt.Tooltip("ci_lower:Q", title="CI lower", format=".3f"),
                alt.Tooltip("ci_upper:Q", title="CI upper", format=".3f"),
                alt.Tooltip("events_treated:Q", title="Events (blinatumomab)"),
                alt.Tooltip("events_control:Q", title="Events (chemotherapy)"),
                alt.Tooltip("estimator:N", title="Estimate"),
            ],
        )
        .add_params(select)
    )
    arrows = pd.concat(
        [
            est[est["ci_upper"] > hi].assign(x=hi, shape="triangle-right"),
            est[est["ci_lower"] < lo].assign(x=lo, shape="triangle-left"),
        ]
    )
    one = (
        alt.Chart(pd.DataFrame({"x": [1.0]}))
        .mark_rule(strokeDash=[4, 4], color="#555555")
        .encode(x=alt.X("x:Q", scale=x_scale))
    )
    layers: list[Any] = [one, bars, points]
    if len(arrows):
        layers.append(
            alt.Chart(arrows[["label", "x", "shape"]])
            .mark_point(filled=True, color="#000000", size=st["point"])
            .encode(
                x=alt.X("x:Q", scale=x_scale),
                y=no_axis,
                shape=alt.Shape("shape:N", scale=None, legend=None),
            )
        )
    missing = data[data["estimator"] == "not estimable"]
    if len(missing):
        layers.append(
            alt.Chart(missing.assign(x=1.0))
            .mark_text(text="not estimable", color="#555555", fontSize=st["font"])
            .encode(x=alt.X("x:Q", scale=x_scale), y=no_axis)
        )
    plot = alt.layer(*layers).properties(width=st["forest_width"], height=height)

    def column(field: str, header: str, width: float, axis: bool = False) -> alt.Chart:
        text = (
            alt.Chart(data)
            .mark_text(align="left", fontSize=st["font"], baseline="middle")
            .encode(y=y if axis else no_axis, text=f"{field}:N", x=alt.value(6))
            .properties(
                width=width,
                height=height,
                title=alt.TitleParams(
                    header.split(" ", 1) if st["forest_header_lines"] == 2 else header,
                    anchor="start",
                    fontSize=st["font"],
                ),
            )
        )
        return cast(alt.Chart, text)

    level = f"{round(100 * conf_level, 6):g}%"
    widths = st["forest_columns"]
    legends: Literal["shared", "independent"] = (
        "shared" if st["forest_legend"] == "bottom" else "independent"
    )
    chart = (
        alt.hconcat(
            column("treated_text", "Blinatumomab n (events)", widths[0], axis=True),
            column("control_text", "Chemotherapy n (events)", widths[1]),
            plot,
            column("hr_text", f"HR ({level} CI)", widths[2]),
            column("p_text", "Interaction p", widths[3]),
            spacing=4,
            # "flush": columns as wide as set, a header or the axis title may reach over
            # the empty space beside them
            bounds=st["forest_bounds"],
        )
        # legends under the whole figure (shared: the plot's) or beside the plot
        .resolve_scale(y="shared", size=legends, shape=legends)
        .properties(title="Treatment effect by subgroup" if title is None else title)
    )
    return cast(alt.HConcatChart, _configure(chart, presentation).configure_view(stroke=None))


def love_plot(
    balance: pd.DataFrame, *, presentation: bool = False, threshold: float = 0.1
) -> alt.LayerChart:
    """Absolute standardised mean differences before and after matching, with the 0.1 line.

    Examples
    --------
    >>> import pandas as pd
    >>> b = pd.DataFrame({"smd_before": [0.5], "smd_after": [0.05]}, index=["age"])
    >>> "layer" in love_plot(b).to_dict()
    True
    """
    st = _style(presentation)
    data = balance.reset_index().rename(columns={balance.index.name or "index": "covariate"})
    if "covariate" not in data.columns:
        data = data.rename(columns={data.columns[0]: "covariate"})
    data["covariate"] = data["covariate"].astype(str).map(term_text)
    long = data.melt(
        id_vars="covariate",
        value_vars=["smd_before", "smd_after"],
        var_name="sample",
        value_name="smd",
    )
    # the variance ratio of each sample beside its SMD (continuous covariates; blank
    # for indicators, as MatchIt)
    ratios = {"smd_before": "variance_ratio_before", "smd_after": "variance_ratio_after"}
    long["variance_ratio"] = [
        float(data.loc[data["covariate"] == c, ratios[smp]].iloc[0])
        if ratios[smp] in data.columns
        else np.nan
        for c, smp in zip(long["covariate"], long["sample"], strict=True)
    ]
    # an infinite SMD (a covariate that separates the arms) cannot be drawn: its row is
    # labelled instead
    long["abs_smd"] = long["smd"].abs().replace(np.inf, np.nan)
    infinite = set(long.loc[long["smd"].abs() == np.inf, "covariate"])
    long["covariate"] = [c + " (|SMD| ∞)" if c in infinite else c for c in long["covariate"]]
    data["covariate"] = [c + " (|SMD| ∞)" if c in infinite else c for c in data["covariate"]]
    long["sample"] = long["sample"].map(
        {"smd_before": "Before matching", "smd_after": "After matching"}
    )
    order = list(
        data.sort_values("smd_before", key=lambda s: s.abs(), ascending=False)["covariate"]
    )
    pts = (
        alt.Chart(long.dropna(subset=["abs_smd"]))
        .mark_point(filled=True, size=st["point"])
        .encode(
            x=alt.X("abs_smd:Q", title="|Standardised mean difference|"),
            y=alt.Y(
                "covariate:N",
                sort=order,
                title=None,
                axis=alt.Axis(labelLimit=st["label_limit"]),
            ),
            color=alt.Color(
                "sample:N",
                title=None,
                scale=alt.Scale(
                    domain=["Before matching", "After matching"], range=["#999999", "#009E73"]
                ),
                legend=_legend(st["legend"]),
            ),
            shape=alt.Shape("sample:N", legend=None),
            tooltip=[
                "covariate:N",
                "sample:N",
                alt.Tooltip("smd:Q", title="SMD", format=".3f"),
                alt.Tooltip("variance_ratio:Q", title="Variance ratio", format=".2f"),
            ],
        )
    )
    rule = (
        alt.Chart(pd.DataFrame({"x": [threshold]}))
        .mark_rule(strokeDash=[4, 4], color="#555555")
        .encode(x="x:Q")
    )
    chart = alt.layer(rule, pts).properties(
        width=st["love_width"],
        height=max(len(order), 1) * st["love_row"],
        title="Covariate balance",
    )
    return cast(alt.LayerChart, _configure(chart, presentation))


def overlap_chart(overlap: pd.DataFrame, *, presentation: bool = False) -> alt.FacetChart:
    """Propensity-score histograms by arm, before and after matching (binned counts).

    Examples
    --------
    >>> import pandas as pd
    >>> o = pd.DataFrame({"sample": ["before matching"], "arm": ["blinatumomab"],
    ...     "bin_start": [0.0], "bin_end": [0.05], "count": [3]})
    >>> "facet" in overlap_chart(o).to_dict()
    True
    """
    st = _style(presentation)
    chart = (
        alt.Chart(overlap)
        .mark_bar(opacity=0.85, binSpacing=0)
        .encode(
            x=alt.X(
                "bin_start:Q",
                bin="binned",
                title="Propensity score",
                scale=alt.Scale(domain=[0, 1]),
            ),
            x2="bin_end:Q",
            y=alt.Y("count:Q", stack=None, title="Patients"),
            color=_arm_color(st["legend"]),
            tooltip=[
                "arm:N",
                "count:Q",
                alt.Tooltip("bin_start:Q", format=".2f"),
                alt.Tooltip("bin_end:Q", format=".2f"),
            ],
        )
        .properties(width=st["width"] / 2 - 20, height=110)
        .facet(
            column=alt.Column("sample:N", sort=["before matching", "after matching"], title=None),
            row=alt.Row("arm:N", sort=_ARM_ORDER, title=None),
        )
        # one arm per row (no blended colours), each panel on its own count scale (the
        # matched sample is not flattened by the pool)
        .resolve_scale(y="independent")
    )
    return cast(alt.FacetChart, _configure(chart, presentation))


def sweep_chart(
    sweep: pd.DataFrame, *, presentation: bool = False, current: float | None = None
) -> alt.VConcatChart:
    """Matched N, worst |SMD| and EFS hazard ratio (with CI) across caliper widths.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"caliper": [0.1, 0.2], "n_matched_treated": [80, 90],
    ...     "max_abs_smd": [0.1, 0.2], "hr": [0.1, 0.2], "ci_lower": [0.05, 0.1], "ci_upper": [0.5, 0.6]})
    >>> "vconcat" in sweep_chart(s).to_dict()
    True
    """
    st = _style(presentation)
    x = alt.X(
        "caliper:Q",
        title="Caliper (SD of the logit propensity score, log scale)",
        scale=alt.Scale(type="log"),
        axis=alt.Axis(format="~g"),
    )
    base = alt.Chart(sweep)
    w, h = st["width"], 150

    def with_current(chart: Any) -> Any:
        if current is None:
            return chart
        rule = (
            alt.Chart(pd.DataFrame({"caliper": [current]}))
            .mark_rule(strokeDash=[4, 4], color="#555555")
            .encode(x="caliper:Q")
        )
        return alt.layer(chart, rule)

    n_chart = with_current(
        base.mark_line(point=True, strokeWidth=st["line"], color="#0072B2").encode(
            x=x,
            y=alt.Y("n_matched_treated:Q", title="Matched treated"),
            tooltip=["caliper:Q", "n_matched_treated:Q"],
        )
    ).properties(width=w, height=h)
    smd_rule = (
        alt.Chart(pd.DataFrame({"y": [0.1]}))
        .mark_rule(strokeDash=[4, 4], color="#555555")
        .encode(y="y:Q")
    )
    smd_chart = with_current(
        alt.layer(
            base.mark_line(point=True, strokeWidth=st["line"], color="#009E73").encode(
                x=x,
                y=alt.Y("max_abs_smd:Q", title="Max |SMD|"),
                tooltip=["caliper:Q", alt.Tooltip("max_abs_smd:Q", format=".3f")],
            ),
            smd_rule,
        )
    ).properties(width=w, height=h)
    hr_scale = alt.Scale(type="log")
    hr_data = sweep.dropna(subset=["hr"])
    hr_base = alt.Chart(hr_data)
    hr_chart = with_current(
        alt.layer(
            hr_base.mark_rule(strokeWidth=st["line"], color="#D55E00").encode(
                x=x,
                y=alt.Y("ci_lower:Q", scale=hr_scale, title="EFS hazard ratio"),
                y2="ci_upper:Q",
            ),
            hr_base.mark_point(filled=True, size=st["point"], color="#D55E00").encode(
                x=x,
                y=alt.Y("hr:Q", scale=hr_scale),
                tooltip=[
                    "caliper:Q",
                    alt.Tooltip("hr:Q", format=".3f"),
                    alt.Tooltip("ci_lower:Q", format=".3f"),
                    alt.Tooltip("ci_upper:Q", format=".3f"),
                ],
            ),
        )
    ).properties(width=w, height=h)
    chart = alt.vconcat(n_chart, smd_chart, hr_chart).properties(title="Caliper sweep")
    return cast(alt.VConcatChart, _configure(chart, presentation))


def mrd_chart(mrd: MrdResult, *, label: str = "Survival", presentation: bool = False) -> alt.Chart:
    """Kaplan-Meier (or cumulative incidence) curves by MRD group (dash) and arm (colour).

    ``mrd`` is a :class:`~blinastudy.analysis.MrdResult`; its ``measure`` says which
    column holds the curve.

    Examples
    --------
    >>> from blinastudy.analysis import analyze
    >>> from blinastudy.data.demo import make_demo_cohort
    >>> res = analyze(make_demo_cohort(), sweep=False)
    >>> "mark" in mrd_chart(res.mrd).to_dict()
    True
    """
    st = _style(presentation)
    chart = (
        alt.Chart(mrd.curve)
        .mark_line(interpolate="step-after", strokeWidth=st["line"])
        .encode(
            x=alt.X("time:Q", title="Months from diagnosis"),
            y=alt.Y(
                f"{mrd.measure}:Q",
                title=label,
                scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%"),
            ),
            color=_arm_color(st["legend"]),
            strokeDash=alt.StrokeDash("group:N", title="MRD group"),
            detail="group:N",
            tooltip=[
                "arm:N",
                "group:N",
                alt.Tooltip("time:Q", format=".1f"),
                alt.Tooltip(f"{mrd.measure}:Q", format=".1%"),
            ],
        )
        .properties(
            width=st["width"],
            height=st["width"] * st["mrd_aspect"],
            title=f"{label} by MRD group",
        )
    )
    return cast(alt.Chart, _configure(chart, presentation))


#: Colours of the exposure states: exposed as the blinatumomab arm.
STATE_COLORS = {"exposed": ARM_COLORS["blinatumomab"], "unexposed": "#555555"}


def simon_makuch_chart(
    td: Any, *, label: str = "Survival", presentation: bool = False
) -> alt.LayerChart:
    """Simon-Makuch curves: survival while exposed and while unexposed, by delayed entry.

    ``td`` is a :class:`~blinastudy.stats.timedep.TimeDependentResult`; the exposed curve
    starts at the first dose and each patient enters it at their own first dose.

    Examples
    --------
    >>> from blinastudy.analysis import analyze
    >>> from blinastudy.data.demo import make_demo_cohort
    >>> res = analyze(make_demo_cohort(), sweep=False)
    >>> "layer" in simon_makuch_chart(res.time_dependent["efs"]).to_dict()
    True
    """
    st = _style(presentation)
    color = alt.Color(
        "state:N",
        title="Blinatumomab",
        scale=alt.Scale(domain=list(STATE_COLORS), range=list(STATE_COLORS.values())),
    )
    base = alt.Chart(td.curves)
    x = alt.X("time:Q", title="Months from diagnosis")
    band = base.mark_area(opacity=0.15, interpolate="step-after").encode(
        x=x, y="ci_lower:Q", y2="ci_upper:Q", color=color
    )
    line = base.mark_line(interpolate="step-after", strokeWidth=st["line"]).encode(
        x=x,
        y=alt.Y(
            "survival:Q", title=label, scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")
        ),
        color=color,
        tooltip=[
            alt.Tooltip("state:N", title="State"),
            alt.Tooltip("time:Q", title="Month", format=".1f"),
            alt.Tooltip("survival:Q", title="Survival", format=".1%"),
            alt.Tooltip("n_at_risk:Q", title="At risk", format=".0f"),
        ],
    )
    chart = alt.layer(band, line).properties(
        width=st["width"],
        height=st["width"] * 0.5,
        title=f"{label}: Simon-Makuch curves (exposed from the first dose)",
    )
    return cast(alt.LayerChart, _configure(chart, presentation))


def ph_chart(ph: PhCheck, *, label: str = "", presentation: bool = False) -> alt.LayerChart:
    """The hazard ratio over follow-up: mean scaled Schoenfeld residual per bin of events.

    ``ph`` is a :class:`~blinastudy.stats.model_checks.PhCheck`; each point is the log
    hazard ratio over a stretch of follow-up (at least five events, with its 95 %
    interval), on the hazard-ratio scale; the dashed line is the model's constant
    hazard ratio. Points that wander away from it are what ``cox.zph`` tests.

    Examples
    --------
    >>> from blinastudy.stats.model_checks import ph_check
    >>> import pandas as pd
    >>> f = pd.DataFrame({"t": range(1, 13), "e": [1] * 12, "x": [1, 0] * 6})
    >>> "layer" in ph_chart(ph_check(f, "t", "e", ["x"])).to_dict()
    True
    """
    st = _style(presentation)
    bins = ph.bins.assign(
        hr=np.exp(ph.bins["beta"]),
        lo=np.exp(ph.bins["ci_lower"]),
        hi=np.exp(ph.bins["ci_upper"]),
        mid=(ph.bins["time_from"] + ph.bins["time_to"]) / 2,
    )
    for col in ("hr", "lo", "hi"):
        bins[col] = bins[col].clip(lower=HR_DOMAIN[0], upper=HR_DOMAIN[1])
    scale = alt.Scale(type="log", domain=list(HR_DOMAIN), clamp=True)
    y = alt.Y("hr:Q", title="Hazard ratio over follow-up", scale=scale)
    x = alt.X("mid:Q", title="Months (event times)")
    points = (
        alt.Chart(bins)
        .mark_point(filled=True, size=st["point"], color="#0072B2")
        .encode(
            x=x,
            y=y,
            tooltip=[
                alt.Tooltip("time_from:Q", title="From month", format=".1f"),
                alt.Tooltip("time_to:Q", title="To month", format=".1f"),
                alt.Tooltip("events:Q", title="Events"),
                alt.Tooltip("hr:Q", title="Hazard ratio", format=".2f"),
            ],
        )
    )
    bars = (
        alt.Chart(bins)
        .mark_rule(color="#0072B2")
        .encode(x=x, y=alt.Y("lo:Q", scale=scale), y2="hi:Q")
    )
    spans = (
        alt.Chart(bins)
        .mark_rule(color="#0072B2", opacity=0.4)
        .encode(x="time_from:Q", x2="time_to:Q", y="hr:Q")
    )
    constant = (
        alt.Chart(pd.DataFrame({"hr": [float(np.exp(ph.coef))]}))
        .mark_rule(strokeDash=[4, 4], color="#555555")
        .encode(y=alt.Y("hr:Q", scale=scale))
    )
    chart = alt.layer(spans, bars, points, constant).properties(
        width=st["width"],
        height=st["width"] * 0.45,
        title=(label + ": " if label else "")
        + f"proportional hazards (cox.zph p = {ph.p_value:.3g})",
    )
    return cast(alt.LayerChart, _configure(chart, presentation))


def titled(chart: Any, title: str, subtitle: list[str]) -> Any:
    """``chart`` with a title and subtitle lines at its top left (replacing its own).

    Examples
    --------
    >>> import pandas as pd
    >>> c = alt.Chart(pd.DataFrame({"x": [1]})).mark_point().encode(x="x:Q")
    >>> spec = titled(c, "Survival", ["90 matched pairs"]).to_dict()["title"]
    >>> spec["text"], spec["subtitle"]
    ('Survival', ['90 matched pairs'])
    """
    return chart.properties(
        title=alt.TitleParams(text=title, subtitle=list(subtitle), anchor="start")
    )


def to_svg(chart: Any) -> str:
    """Render a chart to SVG text, offline (vl-convert).

    Examples
    --------
    >>> import altair as alt, pandas as pd
    >>> to_svg(alt.Chart(pd.DataFrame({"x": [1]})).mark_point().encode(x="x:Q")).startswith("<svg")
    True
    """
    import vl_convert as vlc

    return str(vlc.vegalite_to_svg(chart.to_json()))


def to_png(chart: Any, scale: float = 4.0) -> bytes:
    """Render a chart to PNG bytes, offline (vl-convert).

    ``scale`` 4 gives about 3,600 pixels across a survival curve: over 300 dpi
    wherever a slide or a page places it.

    Examples
    --------
    >>> import altair as alt, pandas as pd
    >>> to_png(alt.Chart(pd.DataFrame({"x": [1]})).mark_point().encode(x="x:Q"))[:4]
    b'\\x89PNG'
    """
    import vl_convert as vlc

    return bytes(vlc.vegalite_to_png(chart.to_json(), scale=scale))

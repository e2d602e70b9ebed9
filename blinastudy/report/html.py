"""A self-contained HTML report of an analysis, and a PDF of it where an engine exists.

:func:`html_report` writes ONE HTML file that opens offline: figures inline as
SVG (:func:`blinastudy.report.charts.to_svg`), tables as escaped HTML, the methods
paragraph, warnings, the stamp, the settings JSON and how to reproduce the
analysis. It references no script, style sheet, font or image outside itself.
The synthetic-data label heads the report whenever the cohort is the demo.

:func:`result_charts` and :func:`result_tables` give the figures and tables of a
result by name; the slides and the command line use the same ones. Every table
passes through :func:`blinastudy.report.export.neutralise_formulas` before it is
written anywhere, so a cell such as ``=HYPERLINK(...)`` cannot become a formula
when a table is opened or pasted into a spreadsheet.

:func:`pdf_report` is the one function here with side effects: it runs a PDF
engine (WeasyPrint when importable, otherwise headless Chromium) in a temporary
directory and returns the PDF bytes, or ``None`` when no engine is available.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from blinastudy.core.formatting import (
    fmt_hr,
    fmt_level,
    fmt_p,
    fmt_pct,
    fmt_survival,
    p_text,
)
from blinastudy.report import charts
from blinastudy.report.codegen import show_code
from blinastudy.report.export import neutralise_formulas
from blinastudy.report.figures import result_figures
from blinastudy.report.methods import (
    ENDPOINT_NAMES,
    methods_text,
)
from blinastudy.report.stamp import stamp, stamp_line

if TYPE_CHECKING:
    from blinastudy.analysis import AnalysisResult

__all__ = [
    "CHROMIUM",
    "FIGURE_TITLES",
    "TABLE_TITLES",
    "competing_table",
    "headline_table",
    "html_report",
    "memory_folder",
    "pdf_report",
    "render_svgs",
    "result_charts",
    "result_tables",
]

#: Where :func:`pdf_report` looks for Chromium by default.
CHROMIUM = "/usr/bin/chromium"

#: Figure name -> caption, in report order.
FIGURE_TITLES: dict[str, str] = {
    "km_efs": "Event-free survival by arm (Kaplan-Meier, with the KMunicate table)",
    "km_os": "Overall survival by arm (Kaplan-Meier, with the KMunicate table)",
    "cir": "Cumulative incidence of relapse by arm (Aalen-Johansen; death in remission and "
    "second malignancy competing)",
    "love": "Covariate balance before and after matching (|SMD|)",
    "overlap": "Propensity-score overlap before and after matching",
    "forest": "Treatment effect by subgroup",
    "mrd": "Survival by MRD group and arm",
    "simon_makuch": "Simon-Makuch curves: follow-up exposed to blinatumomab (from the first "
    "dose) and unexposed (Kaplan-Meier with delayed entry)",
    "ph": "Hazard ratio over follow-up (scaled Schoenfeld residuals, cox.zph)",
    "sweep": "Caliper sweep: matched N, worst |SMD| and EFS hazard ratio",
}

#: Table name -> title, in report order.
TABLE_TITLES: dict[str, str] = {
    "headline": "Headline results",
    "competing": "Competing risks: cumulative incidence at the horizon, Gray's test, Fine-Gray "
    "and cause-specific hazard ratios",
    "estimates": "One question, four estimates: crude, matched, weighted and adjusted hazard "
    "ratios with E-values",
    "weighting": "Propensity-score weights by arm (effective sample size and distribution)",
    "weighted_balance": "Covariate balance after weighting (SMD with the estimand's SD)",
    "matching_summary": "Matching summary",
    "flow": "Patient flow: eligibility, outcome and covariates known, matched (patients per arm)",
    "balance": "Covariate balance: SMD (MatchIt, ATT: SD of the blinatumomab patients in the "
    "full sample) and variance ratios, as MatchIt's summary()",
    "baseline_before": "Baseline characteristics before matching (SMD: tableone, pooled SD)",
    "baseline_after": "Baseline characteristics after matching (SMD: tableone, pooled SD)",
    "forest": "Treatment effect by subgroup",
    "immortal_time": "Immortal time: from diagnosis (biased), from a landmark, and blinatumomab "
    "as a time-dependent exposure (Mantel-Byar p), each with its proportional-hazards p",
    "mrd_groups": "Survival by MRD group",
    "mrd_changed": "Patients who change MRD group against the reference threshold",
    "sweep": "Caliper sweep",
    "risk_table_efs": "Event-free survival: at risk, censored, events",
    "risk_table_os": "Overall survival: at risk, censored, events",
    "curve_efs": "Event-free survival curve points",
    "curve_os": "Overall survival curve points",
    "matched_pairs": "Matched sets",
    "unmatched": "Treated patients left unmatched",
    "excluded_from_matching": "Patients excluded from matching (missing covariate)",
    "excluded_outcome": "Patients excluded from every analysis (missing outcome)",
    "ineligible": "Patients not eligible for the comparison",
    "landmark_excluded": "Patients excluded at the landmark",
    "time_dependent_excluded": "Patients left out of the time-dependent analysis",
}

#: Tables that list patients (shown in the report's appendix, not its body).
PATIENT_TABLES = (
    "matched_pairs",
    "unmatched",
    "excluded_from_matching",
    "excluded_outcome",
    "ineligible",
    "landmark_excluded",
    "time_dependent_excluded",
    "mrd_changed",
)


# ---------------------------------------------------------------------------
# figures and tables of a result


def result_charts(result: AnalysisResult, *, presentation: bool | None = None) -> dict[str, Any]:
    """The figures of a result as Altair charts, keyed as :data:`FIGURE_TITLES`.

    A figure without data (for example the love plot when matching failed, the
    sweep when it was not computed) is left out, and so is the residual plot of the
    proportional-hazards test unless the test rejects. Each chart carries its
    context (:func:`blinastudy.report.figures.figure`).

    Parameters
    ----------
    result : AnalysisResult
    presentation : bool, optional
        Larger text and lines; default ``result.settings.display.presentation``.

    Examples
    --------
    >>> from blinastudy.analysis import analyze
    >>> from blinastudy.data.demo import make_demo_cohort
    >>> sorted(result_charts(analyze(make_demo_cohort(), sweep=False)))
    ['cir', 'forest', 'km_efs', 'km_os', 'love', 'mrd', 'overlap', 'simon_makuch']
    """
    out: dict[str, Any] = {}
    for name, fig in result_figures(result, presentation=presentation).items():
        ph = result.endpoint.ph
        if name == "ph" and (ph is None or not ph.violated):
            continue  # the residual plot joins the report when the test rejects
        out[name] = fig.chart
    return {k: out[k] for k in FIGURE_TITLES if k in out}


def render_svgs(
    chart_map: Mapping[str, Any], progress: Callable[[str], None] | None = None
) -> dict[str, str]:
    """Render charts to SVG text (offline), calling ``progress(name)`` before each.

    Examples
    --------
    >>> import altair as alt, pandas as pd
    >>> c = alt.Chart(pd.DataFrame({"x": [1]})).mark_point().encode(x="x:Q")
    >>> render_svgs({"dot": c})["dot"].startswith("<svg")
    True
    """
    out: dict[str, str] = {}
    for name, chart in chart_map.items():
        if progress is not None:
            progress(name)
        out[name] = charts.to_svg(chart)
    return out


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of ``frame`` as dictionaries keyed by column name."""
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]


def headline_table(result: AnalysisResult) -> pd.DataFrame:
    """One row per endpoint and arm: patients, events, survival at the horizon, median, HR
    (with its proportional-hazards p, ``hr_ph_p``) and the restricted mean survival to the
    horizon (``rmst_months`` per arm; the difference, its interval and method on the
    blinatumomab row).

    Examples
    --------
    >>> from blinastudy.analysis import analyze
    >>> from blinastudy.data.demo import make_demo_cohort
    >>> t = headline_table(analyze(make_demo_cohort(), sweep=False))
    >>> t[["endpoint", "arm", "patients", "events"]].values.tolist()[:2]
    [['EFS', 'blinatumomab', 90, 2], ['EFS', 'chemotherapy', 90, 25]]
    """
    s = result.settings
    rows: list[dict[str, Any]] = []
    for key, ep in result.endpoints.items():
        at = {r["arm"]: r for r in _records(ep.at_horizon)}
        med = {r["arm"]: r for r in _records(ep.medians)}
        hr = ep.hazard_ratio
        for arm in ("blinatumomab", "chemotherapy"):
            row: dict[str, Any] = {
                "endpoint": ENDPOINT_NAMES[key][0],
                "origin": ep.origin,
                "arm": arm,
                "patients": int(ep.n.get(arm, 0)),
                "events": int(ep.events.get(arm, 0)),
                "population": ep.population,
                "conf_level": float(s.conf_level),
                "horizon_months": float(s.horizon_months),
                "survival": np.nan,
                "ci_lower": np.nan,
                "ci_upper": np.nan,
                "median_months": np.nan,
            }
            if arm in at:
                row.update(
                    survival=float(at[arm]["survival"]),
                    ci_lower=float(at[arm]["ci_lower"]),
                    ci_upper=float(at[arm]["ci_upper"]),
                )
            if arm in med:
                row["median_months"] = float(med[arm]["median"])
            first = arm == "blinatumomab"
            row.update(
                hr=float(hr["hr"].iloc[0]) if first and len(hr) else np.nan,
                hr_ci_lower=float(hr["ci_lower"].iloc[0]) if first and len(hr) else np.nan,
                hr_ci_upper=float(hr["ci_upper"].iloc[0]) if first and len(hr) else np.nan,
                hr_p=float(hr["p_value"].iloc[0]) if first and len(hr) else np.nan,
                hr_method=str(hr["method"].iloc[0]) if first and len(hr) else "",
                logrank_p=float(ep.logrank.p_value) if first and ep.logrank is not None else np.nan,
                logrank_test=ep.logrank_label if first else "",
                difference=float(ep.difference["estimate"]) if first else np.nan,
                difference_ci_lower=float(ep.difference["ci_lower"]) if first else np.nan,
                difference_ci_upper=float(ep.difference["ci_upper"]) if first else np.nan,
                difference_method=ep.difference_method if first else "",
            )
            boot = ep.hazard_ratio_bootstrap
            row.update(
                hr_bootstrap_ci_lower=boot.ci_lower if first and boot is not None else np.nan,
                hr_bootstrap_ci_upper=boot.ci_upper if first and boot is not None else np.nan,
                hr_ph_p=ep.ph.p_value if first and ep.ph is not None else np.nan,
            )
            rm = ep.rmst
            ok = rm is not None and not rm.note
            side = "treated" if first else "control"
            row.update(
                rmst_months=rm.rmst[side] if ok and rm is not None else np.nan,
                rmst_difference=rm.difference if first and ok and rm is not None else np.nan,
                rmst_ci_lower=rm.ci_lower if first and ok and rm is not None else np.nan,
                rmst_ci_upper=rm.ci_upper if first and ok and rm is not None else np.nan,
                rmst_method=rm.method if first and ok and rm is not None else "",
            )
            rows.append(row)
    return pd.DataFrame(rows)


def competing_table(result: AnalysisResult) -> pd.DataFrame:
    """One row per competing-risks endpoint and arm: incidence at the horizon with its
    interval, events, competing events, and (on the first row) Gray's p, Fine-Gray's
    subdistribution and the cause-specific hazard ratios.

    Examples
    --------
    >>> from blinastudy.analysis import analyze
    >>> from blinastudy.data.demo import make_demo_cohort
    >>> t = competing_table(analyze(make_demo_cohort(), sweep=False, replicates=0))
    >>> t[["endpoint", "arm", "events", "competing_events"]].values.tolist()[:2]
    [['CIR', 'blinatumomab', 2, 0], ['CIR', 'chemotherapy', 21, 4]]
    """
    rows: list[dict[str, Any]] = []
    s = result.settings
    for key, cr in result.competing.items():
        at = {r["arm"]: r for r in cr.at_horizon.to_dict("records")}
        for arm in ("blinatumomab", "chemotherapy"):
            first = arm == "blinatumomab"
            fg = cr.fine_gray.iloc[0] if first and len(cr.fine_gray) else None
            cs = cr.cause_specific.iloc[0] if first and len(cr.cause_specific) else None
            r = at.get(arm, {})
            rows.append(
                {
                    "endpoint": ENDPOINT_NAMES[key][0],
                    "population": cr.population,
                    "arm": arm,
                    "patients": int(cr.n.get(arm, 0)),
                    "events": int(cr.events.get(arm, 0)),
                    "competing_events": int(cr.competing.get(arm, 0)),
                    "horizon_months": float(s.horizon_months),
                    "conf_level": float(s.conf_level),
                    "incidence": float(r.get("incidence", np.nan)),
                    "ci_lower": float(r.get("ci_lower", np.nan)),
                    "ci_upper": float(r.get("ci_upper", np.nan)),
                    "gray_p": float(cr.gray.p_value) if first and cr.gray is not None else np.nan,
                    "shr": float(fg["shr"]) if fg is not None else np.nan,
                    "shr_ci_lower": float(fg["ci_lower"]) if fg is not None else np.nan,
                    "shr_ci_upper": float(fg["ci_upper"]) if fg is not None else np.nan,
                    "cs_hr": float(cs["hr"]) if cs is not None else np.nan,
                    "cs_hr_ci_lower": float(cs["ci_lower"]) if cs is not None else np.nan,
                    "cs_hr_ci_upper": float(cs["ci_upper"]) if cs is not None else np.nan,
                    "cs_hr_method": str(cs["method"]) if cs is not None else "",
                    "cs_hr_ph_p": cr.ph.p_value
                    if first and cs is not None and cr.ph is not None
                    else np.nan,
                }
            )
    return pd.DataFrame(rows)


def result_tables(result: AnalysisResult) -> dict[str, pd.DataFrame]:
    """Every table of a result, keyed as :data:`TABLE_TITLES` (as computed, not neutralised).

    Examples
    --------
    >>> from blinastudy.analysis import analyze
    >>> from blinastudy.data.demo import make_demo_cohort
    >>> tables = result_tables(analyze(make_demo_cohort(), sweep=False))
    >>> "matched_pairs" in tables and "sweep" not in tables
    True
    """
    out: dict[str, pd.DataFrame] = {
        "headline": headline_table(result),
        "competing": competing_table(result),
        "estimates": result.estimates,
    }
    if result.weighting is not None:
        out["weighting"] = result.weighting.distribution
        wb = result.weighting.balance.copy()
        wb.index.name = "covariate"
        out["weighted_balance"] = wb.reset_index()
    out["matching_summary"] = pd.DataFrame(
        {
            "item": list(result.matching_summary),
            "value": [
                "" if v is None else str(v) if not isinstance(v, float) else f"{v:.6g}"
                for v in result.matching_summary.values()
            ],
        }
    )
    if len(result.balance):
        bal = result.balance.copy()
        bal.index.name = "covariate"
        out["balance"] = bal.reset_index()
    out["baseline_before"] = result.baseline_before
    if result.baseline_after is not None:
        out["baseline_after"] = result.baseline_after
    out["forest"] = result.forest
    out["immortal_time"] = result.immortal_time
    if result.mrd is not None:
        out["mrd_groups"] = result.mrd.groups
        out["mrd_changed"] = result.mrd.changed
    if len(result.sweep):
        out["sweep"] = result.sweep
    for key, ep in result.endpoints.items():
        out[f"risk_table_{key}"] = ep.risk_table
        out[f"curve_{key}"] = ep.curve
    if result.match is not None:
        out["matched_pairs"] = result.match.pairs
    out["unmatched"] = result.unmatched
    out["excluded_from_matching"] = result.excluded_from_matching
    out["excluded_outcome"] = result.excluded_outcome
    out["flow"] = result.flow
    out["ineligible"] = result.ineligible
    for name, parts in (
        ("landmark_excluded", result.endpoints),
        ("time_dependent_excluded", result.time_dependent),
    ):
        listed = [
            part.excluded.assign(endpoint=ENDPOINT_NAMES[key][0])
            for key, part in parts.items()
            if len(part.excluded)
        ]
        if listed:
            out[name] = pd.concat(listed, ignore_index=True)
    return {k: out[k].reset_index(drop=True) for k in TABLE_TITLES if k in out}


# ---------------------------------------------------------------------------
# HTML

_CSS = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
  color: #1a1a1a; margin: 0 auto; max-width: 1000px; padding: 1.5rem; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: 0.3rem; }
h2 { font-size: 1.25rem; border-bottom: 2px solid #0072B2; padding-bottom: 0.2rem;
  margin-top: 2rem; }
h3 { font-size: 1.05rem; }
.synthetic { background: #fff3cd; border: 2px solid #D55E00; color: #7a2e00; font-weight: 700;
  padding: 0.6rem 0.8rem; border-radius: 4px; }
.stamp { color: #444; font-size: 0.85rem; word-break: break-all; }
.warnings li { color: #7a2e00; }
figure { margin: 1rem 0; page-break-inside: avoid; break-inside: avoid; }
figure svg { max-width: 100%; height: auto; }
figcaption { font-size: 0.9rem; color: #333; margin-top: 0.3rem; }
.table-wrap { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; font-size: 0.82rem; margin: 0.5rem 0 1rem;
  font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ccc; padding: 0.2rem 0.45rem; text-align: left; vertical-align: top; }
th { background: #eef3f8; }
pre { background: #f6f6f6; border: 1px solid #ddd; padding: 0.6rem; font-size: 0.78rem;
  overflow-x: auto; white-space: pre-wrap; word-break: break-word; }
details { margin: 0.5rem 0; }
footer { margin-top: 2rem; border-top: 1px solid #ccc; padding-top: 0.5rem; }
@page { margin: 12mm; }
@media print { body { max-width: none; padding: 0; }
  h2 { page-break-after: avoid; break-after: avoid; }
  .table-wrap { overflow: visible; } table { font-size: 6.5pt; } th, td { padding: 1px 3px; } }
"""


def _cell(value: Any) -> str:
    if value is None or value is pd.NA:
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return "–" if not np.isfinite(value) else f"{float(value):.4g}"
    return str(value)


def _table_html(frame: pd.DataFrame, *, table_id: str | None = None) -> str:
    """An escaped HTML table of ``frame`` (neutralised first, then formatted)."""
    safe = neutralise_formulas(frame)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in safe.columns)
    body = []
    for row in safe.itertuples(index=False, name=None):
        cells = "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row)
        body.append(f"<tr>{cells}</tr>")
    attr = f' id="{html.escape(table_id)}"' if table_id else ""
    return (
        f'<div class="table-wrap"><table{attr}><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
        if len(safe)
        else f"<p{attr}><em>None.</em></p>"
    )


def _headline_html(result: AnalysisResult) -> str:
    s = result.settings
    level = fmt_level(s.conf_level)
    rows = []
    for key, ep in result.endpoints.items():
        at = ep.at_horizon.set_index("arm") if len(ep.at_horizon) else pd.DataFrame()
        surv = []
        for arm in ("blinatumomab", "chemotherapy"):
            if arm in at.index:
                r = at.loc[arm]
                surv.append(
                    f"{arm}: {fmt_survival(r['survival'], r['ci_lower'], r['ci_upper'])}; "
                    f"{ep.events.get(arm, 0)} events in {ep.n.get(arm, 0)}"
                )
        hr = ep.hazard_ratio
        hr_text = (
            fmt_hr(hr["hr"].iloc[0], hr["ci_lower"].iloc[0], hr["ci_upper"].iloc[0], s.conf_level)
            + f", {p_text(hr['p_value'].iloc[0])} ({hr['method'].iloc[0]})"
            if len(hr)
            else "not estimable"
        )
        lr = fmt_p(ep.logrank.p_value) if ep.logrank is not None else "–"
        diff = ep.difference
        rows.append(
            "<tr>"
            f"<td>{html.escape(ep.label)}<br><small>from {html.escape(ep.origin)}</small></td>"
            f"<td>{'<br>'.join(html.escape(x) for x in surv)}</td>"
            f"<td>{html.escape(fmt_pct(diff['estimate']))} ({html.escape(fmt_pct(diff['ci_lower']))}"
            f" to {html.escape(fmt_pct(diff['ci_upper']))})</td>"
            f"<td>{html.escape(hr_text)}</td><td>{html.escape(lr)}</td>"
            "</tr>"
        )
        del key
    return (
        '<table id="headline"><thead><tr><th>Endpoint</th>'
        f"<th>Survival at {s.horizon_months:g} months ({level} CI)</th>"
        f"<th>Difference ({level} CI)</th><th>Hazard ratio, blinatumomab vs chemotherapy</th>"
        f"<th>Log-rank p</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _figure(svgs: Mapping[str, str], name: str) -> str:
    if name not in svgs:
        return ""
    return (
        f'<figure id="figure-{name}">{svgs[name]}'
        f"<figcaption>{html.escape(FIGURE_TITLES[name])}</figcaption></figure>"
    )


_CLI_COMMAND = (
    "python -m blinastudy report COHORT.csv [POOL.csv] --settings settings.json "
    "--out results/ [--mapping mapping.json] [--mapping2 mapping2.json]"
)


def html_report(
    result: AnalysisResult,
    *,
    when: datetime | None = None,
    demo: bool | None = None,
    svgs: Mapping[str, str] | None = None,
    title: str = "Blinatumomab in first-line therapy versus matched historical controls",
) -> str:
    """One self-contained HTML file reporting ``result``.

    Parameters
    ----------
    result : AnalysisResult
    when : datetime, optional
        Date of the export for the stamp (default: now, UTC).
    demo : bool, optional
        Whether the cohort is the synthetic demo (default: detected from the
        cohort hash); the synthetic-data label then heads the report.
    svgs : mapping of str to str, optional
        Pre-rendered figures by name (:func:`render_svgs` of
        :func:`result_charts`); rendered here when omitted.
    title : str
        The report's heading.

    Returns
    -------
    str
        The HTML document (UTF-8 text). It loads nothing from outside itself.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> from blinastudy.analysis import analyze
    >>> from blinastudy.data.demo import make_demo_cohort
    >>> res = analyze(make_demo_cohort(), sweep=False)
    >>> page = html_report(res, when=datetime(2025, 1, 1, tzinfo=timezone.utc), svgs={})
    >>> page.startswith("<!DOCTYPE html>") and res.cohort_hash in page
    True
    >>> "Synthetic demo data" in page
    True
    """
    st = stamp(result, when=when, demo=demo)
    if svgs is None:
        svgs = render_svgs(result_charts(result))
    tables = result_tables(result)
    s = result.settings
    esc = html.escape
    # the demo cohort is rebuilt by the script; a real cohort is read from its file
    code = show_code(
        s, cohort_path=None if st["synthetic"] else "cohort.csv", cohort_hash=st["cohort_hash"]
    )
    parts: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="BlinaStudy {esc(st["version"])}">',
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>{esc(title)}</h1>",
    ]
    if st["synthetic"]:
        parts.append(
            f'<p class="synthetic" id="synthetic-label">{esc(st["label"])}: the cohort is '
            "generated from published summary figures; no row describes a real patient.</p>"
        )
    parts += [
        f'<p class="stamp">{esc(stamp_line(st))}</p></header>',
        '<section id="stamp"><h2>Stamp</h2><table><tbody>',
        f"<tr><th>Software</th><td>BlinaStudy {esc(st['version'])}</td></tr>",
        f"<tr><th>Cohort SHA-256</th><td><code>{esc(st['cohort_hash'])}</code></td></tr>",
        f"<tr><th>Exported</th><td>{esc(st['date'])}</td></tr>",
        f"<tr><th>Synthetic data</th><td>{'yes' if st['synthetic'] else 'no'}</td></tr>",
        "</tbody></table></section>",
    ]
    if result.warnings:
        items = "".join(f"<li>{esc(w)}</li>" for w in result.warnings)
        parts.append(f'<section id="warnings"><h2>Warnings</h2><ul class="warnings">{items}</ul>')
        parts.append("</section>")
    parts += [
        '<section id="results"><h2>Results</h2>',
        _headline_html(result),
        _figure(svgs, "km_efs"),
        _figure(svgs, "km_os"),
        "</section>",
        '<section id="competing"><h2>Competing risks</h2>',
        _figure(svgs, "cir"),
        _table_html(tables["competing"], table_id="competing")
        if len(tables["competing"])
        else f"<p>{esc(result.competing_note)}</p>",
        "</section>",
        '<section id="estimates"><h2>One question, four estimates</h2>',
        _table_html(tables["estimates"], table_id="estimates"),
        "</section>",
        '<section id="matching"><h2>Matching and balance</h2>',
        _table_html(tables["matching_summary"], table_id="matching-summary"),
        _figure(svgs, "love"),
        _figure(svgs, "overlap"),
    ]
    for name in ("balance", "baseline_before", "baseline_after"):
        if name in tables:
            parts.append(f"<h3>{esc(TABLE_TITLES[name])}</h3>")
            parts.append(_table_html(tables[name], table_id=name.replace("_", "-")))
    parts.append("</section>")
    parts += [
        '<section id="subgroups"><h2>Subgroups</h2>',
        _figure(svgs, "forest"),
        _table_html(tables["forest"], table_id="forest"),
        "</section>",
    ]
    if "mrd_groups" in tables:
        parts += [
            f'<section id="mrd"><h2>MRD (threshold {s.mrd.threshold_pct:g}%)</h2>',
            _figure(svgs, "mrd"),
            _table_html(tables["mrd_groups"], table_id="mrd-groups"),
            "</section>",
        ]
    shown = s.endpoint if s.endpoint in result.immortal_advice else "efs"
    parts += [
        '<section id="immortal-time"><h2>Time origin and immortal time</h2>',
        _table_html(tables["immortal_time"], table_id="immortal-time-table"),
        f'<p id="immortal-advice">{esc(result.immortal_advice.get(shown, ""))}</p>',
        _figure(svgs, "simon_makuch"),
        "</section>",
    ]
    if "ph" in svgs:
        parts += [
            '<section id="proportional-hazards"><h2>Proportional hazards</h2>',
            "<p>The proportional-hazards test (cox.zph) rejects for the hazard ratio shown: "
            "read the restricted mean survival difference in the headline table beside it.</p>",
            _figure(svgs, "ph"),
            "</section>",
        ]
    if "sweep" in tables:
        parts += [
            '<section id="sweep"><h2>Caliper sweep</h2>',
            _figure(svgs, "sweep"),
            _table_html(tables["sweep"], table_id="sweep-table"),
            "</section>",
        ]
    parts += [
        '<section id="methods"><h2>Methods</h2>',
        f'<p id="methods-text">{esc(methods_text(s, result))}</p></section>',
        '<section id="patients"><h2>Patient lists</h2>',
    ]
    for name in PATIENT_TABLES:
        if name in tables:
            parts.append(f"<details><summary>{esc(TABLE_TITLES[name])} ({len(tables[name])})")
            parts.append("</summary>")
            parts.append(_table_html(tables[name], table_id=name.replace("_", "-")))
            parts.append("</details>")
    parts += [
        "</section>",
        '<section id="reproduce"><h2>Reproducing this analysis</h2>',
        "<p>Save the settings below as <code>settings.json</code> and run, with the same "
        "cohort file(s) and BlinaStudy version:</p>",
        f"<pre>{esc(_CLI_COMMAND)}</pre>",
        "<p>Its <code>results.json</code> records the cohort SHA-256, which must equal the one "
        "above for the numbers to be the same. The Python script below repeats the analysis "
        "step by step.</p>",
        "<h3>Settings</h3>",
        f'<pre id="settings-json">{esc(s.to_json(), quote=False)}</pre>',
        "<details><summary>Python script</summary>",
        f'<pre id="python-code">{esc(code, quote=False)}</pre></details>',
        "<h3>Stamp</h3>",
        f'<pre id="stamp-json">{esc(json.dumps(st, indent=2, sort_keys=True), quote=False)}</pre>',
        "</section>",
        f'<footer class="stamp">{esc(stamp_line(st))}</footer>',
        "</body></html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"


# ---------------------------------------------------------------------------
# PDF


def _weasyprint(document: str) -> bytes | None:
    try:
        import weasyprint
    except Exception:  # not installed, or its system libraries are missing
        return None
    data = weasyprint.HTML(string=document).write_pdf()
    return bytes(data) if data else None


def memory_folder(mounts: str = "/proc/mounts") -> str | None:
    """A memory-backed folder (tmpfs) for Chromium's scratch files, if the system has one.

    The report page (with its patient lists) and the PDF pass through files that
    Chromium reads and writes; on ``/dev/shm`` (or a temporary folder that is itself
    tmpfs) they live in memory and never reach a disk. None when there is no such
    folder (then the system's temporary folder is used, and emptied at once).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     table = pathlib.Path(d, "mounts")
    ...     _ = table.write_text("/dev/sda1 / ext4 rw 0 0\\n")
    ...     print(memory_folder(str(table)))
    None
    """
    try:
        lines = Path(mounts).read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    in_memory = {
        parts[1]
        for parts in (line.split() for line in lines)
        if len(parts) > 2 and parts[2] in {"tmpfs", "ramfs"}
    }
    for folder in ("/dev/shm", tempfile.gettempdir()):
        if folder in in_memory and os.access(folder, os.W_OK | os.X_OK):
            return folder
    return None


def _chromium(document: str, executable: str, timeout: float) -> bytes | None:
    with tempfile.TemporaryDirectory(prefix="blinastudy-pdf-", dir=memory_folder()) as tmp:
        folder = Path(tmp)
        page = folder / "report.html"
        out = folder / "report.pdf"
        page.write_text(document, encoding="utf-8")
        command = [
            executable,
            "--headless",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            "--no-pdf-header-footer",
            f"--user-data-dir={folder / 'profile'}",
            f"--print-to-pdf={out}",
            page.as_uri(),
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.insert(1, "--no-sandbox")  # Chromium refuses to run as root otherwise
        try:
            subprocess.run(
                command,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=timeout,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        if not out.exists():
            return None
        data = out.read_bytes()
        return data if data.startswith(b"%PDF") else None


def pdf_report(
    document: str,
    *,
    chromium: str | None = CHROMIUM,
    use_weasyprint: bool = True,
    timeout: float = 180.0,
) -> bytes | None:
    """Print an HTML report to PDF with whatever engine is installed.

    Tries WeasyPrint (when importable), then headless Chromium at ``chromium``
    (run on a temporary copy of the page in a temporary directory, removed
    afterwards). Nothing else is read or written.

    Parameters
    ----------
    document : str
        The HTML (from :func:`html_report`).
    chromium : str or None
        Path of the Chromium executable (``None``: do not use Chromium). A bare
        name is looked up on ``PATH``.
    use_weasyprint : bool, default True
        Whether to try WeasyPrint first.
    timeout : float
        Seconds Chromium may take.

    Returns
    -------
    bytes or None
        The PDF, or ``None`` when no engine is available or printing failed.

    Examples
    --------
    >>> pdf_report("<p>x</p>", chromium=None, use_weasyprint=False) is None
    True
    """
    if use_weasyprint:
        data = _weasyprint(document)
        if data:
            return data
    if chromium is None:
        return None
    executable = chromium if os.path.sep in chromium else shutil.which(chromium)
    if executable is None or not os.access(executable, os.X_OK):
        return None
    return _chromium(document, executable, timeout)

"""Every figure of an analysis with the context a reader needs on the figure itself.

A figure that leaves the app (SVG, PNG, a slide, the report) is often seen alone. So
each one built here carries, in its title and subtitle, the population, the endpoint
and time origin, the method and confidence level, and "SYNTHETIC DEMO DATA" when the
cohort is the bundled demo; :attr:`Figure.file_stem` names the file after the same
facts. The pages, the report, the slides and the command line all draw these
figures, so the figure on screen is the one exported.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from blinastudy.core.formatting import ci_label, fmt_hr, fmt_num, fmt_p, method_label
from blinastudy.report import charts
from blinastudy.report.methods import ENDPOINT_NAMES
from blinastudy.report.stamp import is_demo

if TYPE_CHECKING:
    from blinastudy.analysis import AnalysisResult

__all__ = ["FIGURE_NAMES", "SYNTHETIC_MARK", "Figure", "figure", "result_figures"]

#: Added to the title of every figure drawn from the synthetic demo cohort.
SYNTHETIC_MARK = "SYNTHETIC DEMO DATA"


@dataclass(frozen=True)
class Figure:
    """A figure, the aggregated table behind it and the words that place it.

    Attributes
    ----------
    name : str
        Key of the figure (``km_efs``, ``forest``, ...).
    chart : altair chart
        The chart with its title and subtitle.
    table : pandas.DataFrame
        The numbers drawn (its text alternative and CSV download).
    title : str
        The title as drawn (with :data:`SYNTHETIC_MARK` on demo data).
    context : list of str
        The subtitle lines: population, endpoint and origin, method and level.
    file_stem : str
        A file name without extension saying what the figure is.
    """

    name: str
    chart: Any
    table: pd.DataFrame
    title: str
    context: list[str]
    file_stem: str


def _slug(text: str, limit: int = 48) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].rstrip("-")


def _hr_words(hr: pd.DataFrame, conf_level: float) -> str:
    if not len(hr):
        return "HR not estimable"
    row = hr.iloc[0]
    text = fmt_hr(row["hr"], row["ci_lower"], row["ci_upper"], conf_level)
    return f"{text}, {method_label(row['method'])}"


def _endpoint_key(result: AnalysisResult) -> str:
    key = str(result.settings.endpoint)
    return key if key in result.endpoints else "efs"


Built = tuple[Any, pd.DataFrame, str, list[str], str]
Builder = Callable[..., "Built | None"]


def _km(key: str) -> Builder:
    def build(result: AnalysisResult, big: bool, **options: Any) -> Built | None:
        ep = result.endpoints.get(key)
        if ep is None or not len(ep.curve):
            return None
        s = result.settings
        chart = charts.km_chart(ep, presentation=big, horizon=s.horizon_months, title="")
        test = f"; {ep.logrank_label} p {fmt_p(ep.logrank.p_value)}" if ep.logrank else ""
        lines = [
            f"{ep.population}; time from {ep.origin}",
            f"Kaplan-Meier with {ci_label(s.conf_level)} ({s.conf_type}); "
            f"{_hr_words(ep.hazard_ratio, s.conf_level)}{test}",
        ]
        stem = f"km-{key}-{_slug(ep.population)}-from-{_slug(ep.origin)}"
        return chart, ep.curve, f"{ep.label} by arm", lines, stem

    return build


def _competing(key: str) -> Builder:
    def build(result: AnalysisResult, big: bool, **options: Any) -> Built | None:
        cr = result.competing.get(key)
        if cr is None or not len(cr.curve):
            return None
        s = result.settings
        chart = charts.cir_chart(
            cr,
            presentation=big,
            horizon=s.horizon_months,
            competing=bool(options.get("competing", False)),
            title="",
        )
        gray = f"; Gray's test p {fmt_p(cr.gray.p_value)}" if cr.gray is not None else ""
        other = (
            "death in remission and second malignancy compete"
            if key == "cir"
            else "relapse and second malignancy compete"
        )
        lines = [
            f"{cr.population}; time from diagnosis",
            f"Aalen-Johansen with {ci_label(s.conf_level)} (log-log); {other}{gray}",
        ]
        return chart, cr.curve, cr.label, lines, f"{key}-{_slug(cr.population)}"

    return build


def _love(result: AnalysisResult, big: bool, **options: Any) -> Built | None:
    if not len(result.balance):
        return None
    summary = result.matching_summary
    chart = charts.love_plot(result.balance, presentation=big)
    lines = [
        f"{summary.get('n_treated')} blinatumomab patients and "
        f"{summary.get('n_control_eligible')} eligible controls before matching; "
        f"{summary.get('n_matched_treated')} blinatumomab patients matched",
        "|SMD| as MatchIt summary() for the ATT (SD of the blinatumomab patients); dashed line 0.1",
    ]
    table = result.balance.reset_index(names="covariate")
    return chart, table, "Covariate balance before and after matching", lines, "love-plot"


def _love_weighted(result: AnalysisResult, big: bool, **options: Any) -> Built | None:
    w = result.weighting
    if w is None or not len(w.balance):
        return None
    chart = charts.love_plot(w.balance, presentation=big)
    lines = [
        f"Eligible patients with every covariate, propensity-score weights for the "
        f"{w.estimand}; effective sample sizes {w.ess['treated']:.1f} and "
        f"{w.ess['control']:.1f}",
        f"|SMD| as MatchIt summary() for the {w.estimand}, before (grey) and after "
        "weighting; dashed line 0.1",
    ]
    table = w.balance.reset_index(names="covariate")
    return (
        chart,
        table,
        f"Covariate balance after weighting ({w.estimand})",
        lines,
        (f"love-plot-weighted-{w.estimand.lower()}"),
    )


def _overlap(result: AnalysisResult, big: bool, **options: Any) -> Built | None:
    if not len(result.overlap):
        return None
    chart = charts.overlap_chart(result.overlap, presentation=big)
    covs = len(result.settings.matching.covariates)
    lines = [
        "Eligible patients with every matching covariate, before and after matching",
        f"Propensity score: logistic regression of the arm on {covs} covariates",
    ]
    return chart, result.overlap, "Propensity-score overlap", lines, "propensity-overlap"


def _forest(result: AnalysisResult, big: bool, **options: Any) -> Built | None:
    table = options.get("forest", result.forest)
    if not len(table):
        return None
    s = result.settings
    key = s.endpoint
    name = ENDPOINT_NAMES[key][1] if key in ENDPOINT_NAMES else key
    cause = " (cause-specific hazard)" if key not in result.endpoints else ""
    chart = charts.forest_chart(table, presentation=big, title="", conf_level=s.conf_level)
    lines = [
        f"{result.design.description}; {name}{cause}, time from diagnosis",
        f"Cox hazard ratio blinatumomab vs chemotherapy per subgroup with "
        f"{ci_label(s.conf_level)}; interaction p of the treatment-by-subgroup term",
    ]
    return (
        chart,
        table,
        f"{name.capitalize()}: treatment effect by subgroup",
        lines,
        f"forest-{key}-{_slug(result.design.description)}",
    )


def _mrd(result: AnalysisResult, big: bool, **options: Any) -> Built | None:
    mrd = result.mrd
    if mrd is None or not len(mrd.curve):
        return None
    s = result.settings
    key = s.endpoint
    name = ENDPOINT_NAMES[key][1].capitalize() if key in ENDPOINT_NAMES else key
    chart = charts.mrd_chart(mrd, label=name, presentation=big)
    how = "Kaplan-Meier" if mrd.measure == "survival" else "Aalen-Johansen"
    lines = [
        f"{result.design.description}; {mrd.column} at {mrd.threshold_pct:g} % "
        f"({'at or above' if s.mrd.side == 'at_or_above' else 'above'} is high)",
        f"{how}; {mrd.missing} patients without MRD not shown",
    ]
    return chart, mrd.curve, f"{name} by MRD group and arm", lines, f"mrd-{key}"


def _sweep(result: AnalysisResult, big: bool, **options: Any) -> Built | None:
    sweep = options.get("sweep", result.sweep)
    if not len(sweep):
        return None
    s = result.settings
    chart = charts.sweep_chart(sweep, presentation=big, current=s.matching.caliper)
    lines = [
        f"Eligible pool; 1:{s.matching.ratio} nearest-neighbour matching on the "
        f"{s.matching.scale} propensity score at each caliper",
        "EFS hazard ratio of the whole matched sample (Cox, robust by matched set) with "
        f"{ci_label(s.conf_level)}; worst |SMD| as MatchIt summary()",
    ]
    return chart, sweep, "Caliper sweep", lines, "caliper-sweep"


def _simon_makuch(result: AnalysisResult, big: bool, **options: Any) -> Built | None:
    key = _endpoint_key(result)
    td = result.time_dependent.get(key)
    if td is None or not len(td.curves):
        return None
    s = result.settings
    name = ENDPOINT_NAMES[key][1].capitalize()
    chart = charts.simon_makuch_chart(td, label=name, presentation=big)
    lines = [
        f"{td.population}; time from diagnosis, exposed from the first blinatumomab dose",
        f"Kaplan-Meier with delayed entry, {ci_label(s.conf_level)} ({s.conf_type}); "
        f"{_hr_words(td.hazard_ratio, s.conf_level)}; {td.test_label} p {fmt_p(td.p_value)}",
    ]
    return chart, td.curves, f"{name}: Simon-Makuch curves", lines, f"simon-makuch-{key}"


def _ph(result: AnalysisResult, big: bool, **options: Any) -> Built | None:
    key = _endpoint_key(result)
    ep = result.endpoints[key]
    ph = ep.ph
    if ph is None or not len(ph.bins):
        return None
    chart = charts.ph_chart(ph, label=ep.label, presentation=big)
    lines = [
        f"{ep.population}; time from {ep.origin}",
        "Mean scaled Schoenfeld residual (hazard-ratio scale) per stretch of at least 5 "
        f"events with its 95% t-interval; cox.zph p {fmt_p(ph.p_value)}; dashed: HR "
        f"{fmt_num(2.718281828459045**ph.coef)}",
    ]
    return chart, ph.bins, f"{ep.label}: hazard ratio over follow-up", lines, f"ph-{key}"


_BUILDERS: dict[str, Builder] = {
    "km_efs": _km("efs"),
    "km_os": _km("os"),
    "cir": _competing("cir"),
    "trm": _competing("trm"),
    "love": _love,
    "love_weighted": _love_weighted,
    "overlap": _overlap,
    "forest": _forest,
    "mrd": _mrd,
    "simon_makuch": _simon_makuch,
    "ph": _ph,
    "sweep": _sweep,
}
#: The figures, in report order.
FIGURE_NAMES = tuple(_BUILDERS)


def figure(
    result: AnalysisResult, name: str, *, presentation: bool | None = None, **options: Any
) -> Figure | None:
    """One figure of ``result`` with its context, or ``None`` when it has no data.

    Parameters
    ----------
    result : AnalysisResult
    name : str
        One of :data:`FIGURE_NAMES`.
    presentation : bool, optional
        Larger text and lines (default ``result.settings.display.presentation``).
    **options
        Choices of the figure: ``competing=True`` draws the competing events'
        incidence too (``cir``, ``trm``); ``forest=`` and ``sweep=`` a table to draw
        instead of the result's (``forest``, ``sweep``).

    Examples
    --------
    >>> from blinastudy.analysis import analyze
    >>> from blinastudy.data.demo import make_demo_cohort
    >>> fig = figure(analyze(make_demo_cohort(), sweep=False, replicates=0), "km_efs")
    >>> fig.title
    'Event-free survival by arm · SYNTHETIC DEMO DATA'
    >>> fig.context[0], fig.file_stem
    ('90 matched sets, 180 patients; time from diagnosis', 'km-efs-90-matched-sets-180-patients-from-diagnosis-synthetic')
    """
    big = result.settings.display.presentation if presentation is None else presentation
    built = _BUILDERS[name](result, big, **options)
    if built is None:
        return None
    chart, table, title, lines, stem = built
    demo = is_demo(result)
    if demo:
        title = f"{title} · {SYNTHETIC_MARK}"
        stem = f"{stem}-synthetic"
    return Figure(
        name=name,
        chart=charts.titled(chart, title, lines),
        table=table,
        title=title,
        context=lines,
        file_stem=stem,
    )


def result_figures(
    result: AnalysisResult, *, presentation: bool | None = None
) -> dict[str, Figure]:
    """Every figure of ``result`` that has data, in report order.

    Examples
    --------
    >>> from blinastudy.analysis import analyze
    >>> from blinastudy.data.demo import make_demo_cohort
    >>> sorted(result_figures(analyze(make_demo_cohort(), sweep=False, replicates=0)))
    ['cir', 'forest', 'km_efs', 'km_os', 'love', 'love_weighted', 'mrd', 'overlap', 'ph', 'simon_makuch', 'trm']
    """
    out: dict[str, Figure] = {}
    for name in FIGURE_NAMES:
        fig = figure(result, name, presentation=presentation)
        if fig is not None:
            out[name] = fig
    return out

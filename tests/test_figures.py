"""Every exported figure carries its population, endpoint, method, confidence level and,
on demo data, the synthetic-data mark, in the rendered image itself."""

from __future__ import annotations

import html
import re

import pytest

from blinastudy.analysis import analyze
from blinastudy.analysis.settings import Settings
from blinastudy.report import charts
from blinastudy.report.figures import FIGURE_NAMES, SYNTHETIC_MARK, figure, result_figures
from blinastudy.report.html import result_charts
from tests._demo_result import demo_cohort, demo_result


def svg_text(chart: object) -> str:
    """The words of a rendered SVG (vl-convert writes text as <text> and <tspan>)."""
    svg = charts.to_svg(chart)
    return " ".join(html.unescape(t) for t in re.findall(r"<(?:text|tspan)[^>]*>([^<]+)<", svg))


def test_every_demo_figure_says_synthetic_population_and_method() -> None:
    res = demo_result()
    figs = result_figures(res)
    assert set(figs) == set(FIGURE_NAMES)  # the demo has data for every figure
    for name, fig in figs.items():
        assert fig.title.endswith(SYNTHETIC_MARK), name
        assert fig.file_stem.endswith("-synthetic"), name
        assert len(fig.context) == 2 and all(fig.context), name
        spec = fig.chart.to_dict()["title"]
        assert spec["text"] == fig.title and spec["subtitle"] == fig.context
    assert len({f.file_stem for f in figs.values()}) == len(figs)
    km = figs["km_efs"].context
    assert km[0] == "90 matched sets, 180 patients; time from diagnosis"
    assert "Kaplan-Meier with 95% CI (log-log)" in km[1]
    assert "log-rank stratified by matched set" in km[1]
    assert "Cox, cluster-robust SE (matched sets)" in km[1]


@pytest.mark.parametrize("name", ["km_efs", "forest", "simon_makuch"])
def test_the_rendered_image_holds_the_words(name: str) -> None:
    fig = result_figures(demo_result(sweep=False))[name]
    words = svg_text(fig.chart)
    assert SYNTHETIC_MARK in words
    for line in fig.context:
        assert line in words


def test_report_charts_are_the_figures_with_context() -> None:
    res = demo_result(sweep=False)
    for name, chart in result_charts(res).items():
        fig = figure(res, name)
        assert fig is not None, name
        assert chart.to_dict()["title"]["text"] == fig.title


def test_a_real_cohort_is_not_marked_and_the_level_follows_the_settings() -> None:
    cohort = demo_cohort().copy()
    cohort.loc[cohort.index[0], "age_years"] += 0.01  # no longer the demo's content hash
    s = Settings(conf_level=0.9, population="all", origin="landmark", landmark_months=12.0)
    res = analyze(cohort, s, sweep=False, replicates=0)
    fig = figure(res, "km_efs")
    assert fig is not None
    assert SYNTHETIC_MARK not in fig.title and not fig.file_stem.endswith("synthetic")
    assert "90% CI" in fig.context[1] and "95% CI" not in fig.context[1]
    assert fig.context[0].endswith("time from landmark 12 months")
    assert fig.file_stem.startswith("km-efs-all-")


def test_competing_option_and_missing_data() -> None:
    res = demo_result(sweep=False)
    plain = figure(res, "cir")
    both = figure(res, "cir", competing=True)
    assert plain is not None and both is not None
    assert "competing" in set(both.table["cause"]) and "competing" in set(plain.table["cause"])
    assert plain.chart.to_dict() != both.chart.to_dict()
    assert figure(res, "sweep") is None  # no sweep computed


@pytest.mark.parametrize("name", FIGURE_NAMES)
def test_presentation_text_is_at_least_16_pixels(name: str) -> None:
    """For the back of a lecture hall: every word of a figure drawn for presentation
    (axes, legends, titles, subtitles, headers, tables in the figure) is 16 px or more."""
    fig = figure(demo_result(), name, presentation=True)
    assert fig is not None
    svg = charts.to_svg(fig.chart)
    sizes = [float(s) for s in re.findall(r'<text[^>]*font-size="([\d.]+)(?:px)?"', svg)]
    assert len(sizes) > 5
    assert min(sizes) >= 16, (name, sorted(set(sizes)))

"""Charts are built from aggregated tables only and render offline."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from blinastudy.analysis import analyze
from blinastudy.analysis.settings import Settings
from blinastudy.data.demo import make_demo_cohort
from blinastudy.report import charts


@pytest.fixture(scope="module")
def result():  # type: ignore[no-untyped-def]
    return analyze(make_demo_cohort(), Settings(sweep_calipers=(0.01, 0.2)))


def _datasets(chart) -> list[list[dict]]:  # type: ignore[no-untyped-def,type-arg]
    return list(chart.to_dict()["datasets"].values())


def _all(result):  # type: ignore[no-untyped-def]
    return {
        "km": charts.km_chart(result.endpoints["efs"], horizon=24),
        "forest": charts.forest_chart(result.forest),
        "love": charts.love_plot(result.balance),
        "overlap": charts.overlap_chart(result.overlap),
        "sweep": charts.sweep_chart(result.sweep, current=0.2),
        "mrd": charts.mrd_chart(result.mrd),
    }


def test_no_patient_level_data_reaches_a_chart(result) -> None:  # type: ignore[no-untyped-def]
    ids = set(result.match.matched.index)
    forbidden = {"patient_id", "age_years", "wbc_10e9_l", "mrd_eoi_pct", "genetic_subtype"}
    for name, chart in _all(result).items():
        text = json.dumps(chart.to_dict())
        assert not any(pid in text for pid in ids), name
        for rows in _datasets(chart):
            for row in rows:
                assert not (forbidden & set(row)), (name, row)


def test_arm_colours_consistent(result) -> None:  # type: ignore[no-untyped-def]
    for name in ("km", "overlap", "mrd"):
        text = json.dumps(_all(result)[name].to_dict())
        assert (
            charts.ARM_COLORS["blinatumomab"] in text and charts.ARM_COLORS["chemotherapy"] in text
        )


def test_presentation_mode_is_larger(result) -> None:  # type: ignore[no-untyped-def]
    normal = charts.km_chart(result.endpoints["efs"]).to_dict()
    big = charts.km_chart(result.endpoints["efs"], presentation=True).to_dict()
    assert big["config"]["axis"]["labelFontSize"] > normal["config"]["axis"]["labelFontSize"]


def test_km_table_is_the_risk_table(result) -> None:  # type: ignore[no-untyped-def]
    chart = charts.km_chart(result.endpoints["efs"])
    rt = result.endpoints["efs"].risk_table
    rows = [r for d in _datasets(chart) for r in d if "row" in r]
    at_risk = {(r["row"], r["time"]): r["value"] for r in rows}
    for _, r in rt.iterrows():
        label = charts.ARM_LABELS[r["arm"]]
        assert at_risk[(f"{label}: at risk", r["time"])] == r["at_risk"]


def test_forest_marks_firth_and_not_estimable(result) -> None:  # type: ignore[no-untyped-def]
    text = json.dumps(charts.forest_chart(result.forest).to_dict())
    assert "Firth penalised" in text
    f = result.forest.copy()
    f.loc[1, ["hr", "ci_lower", "ci_upper"]] = float("nan")
    f.loc[1, "method"] = "not estimable"
    assert "not estimable" in json.dumps(charts.forest_chart(f).to_dict())


def test_forest_figure_carries_its_numbers_and_arrows(result) -> None:  # type: ignore[no-untyped-def]
    from blinastudy.core.formatting import hr_cell

    chart = charts.forest_chart(result.forest, conf_level=0.9)
    svg = charts.to_svg(chart)
    words = " ".join(re.findall(r"<text[^>]*>([^<]+)</text>", svg))
    overall = result.forest.iloc[0]
    assert f"{overall['n_treated']} ({overall['events_treated']})" in words
    assert hr_cell(overall) in words
    assert "HR (90% CI)" in words and "Interaction p" in words
    assert "favours blinatumomab" in words and "favours chemotherapy" in words
    # an interval beyond the axis ends in an arrow
    spec = json.dumps(chart.to_dict())
    assert "triangle-right" in spec or "triangle-left" in spec
    assert charts.FOREST_SELECTION in spec  # a row can be clicked


def test_svg_and_png_render(result) -> None:  # type: ignore[no-untyped-def]
    chart = charts.forest_chart(result.forest)
    svg = charts.to_svg(chart)
    assert svg.startswith("<svg") and "HR (log scale)" in svg
    png = charts.to_png(charts.love_plot(result.balance), scale=1)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_empty_tables_still_build() -> None:
    empty = pd.DataFrame(
        columns=["caliper", "n_matched_treated", "max_abs_smd", "hr", "ci_lower", "ci_upper"]
    )
    assert "vconcat" in charts.sweep_chart(empty).to_dict()

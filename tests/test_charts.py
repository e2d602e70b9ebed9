"""Charts are built from aggregated tables only and render offline."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import altair as alt
import pandas as pd
import pytest

from blinastudy.analysis import AnalysisResult, analyze
from blinastudy.analysis.settings import Settings
from blinastudy.data.demo import make_demo_cohort
from blinastudy.report import charts


@pytest.fixture(scope="module")
def result() -> AnalysisResult:
    return analyze(make_demo_cohort(), Settings(sweep_calipers=(0.01, 0.2)))


def _datasets(chart: alt.TopLevelMixin) -> list[list[dict[str, Any]]]:
    return list(chart.to_dict()["datasets"].values())


def _all(result: AnalysisResult) -> dict[str, alt.TopLevelMixin]:
    assert result.mrd is not None
    return {
        "km": charts.km_chart(result.endpoints["efs"], horizon=24),
        "forest": charts.forest_chart(result.forest),
        "love": charts.love_plot(result.balance),
        "overlap": charts.overlap_chart(result.overlap),
        "sweep": charts.sweep_chart(result.sweep, current=0.2),
        "mrd": charts.mrd_chart(result.mrd),
    }


def test_no_patient_level_data_reaches_a_chart(result: AnalysisResult) -> None:
    assert result.match is not None
    ids = set(result.match.matched.index)
    forbidden = {"patient_id", "age_years", "wbc_10e9_l", "mrd_eoi_pct", "genetic_subtype"}
    for name, chart in _all(result).items():
        text = json.dumps(chart.to_dict())
        assert not any(pid in text for pid in ids), name
        for rows in _datasets(chart):
            for row in rows:
                assert not (forbidden & set(row)), (name, row)


def test_arm_colours_consistent(result: AnalysisResult) -> None:
    for name in ("km", "overlap", "mrd"):
        text = json.dumps(_all(result)[name].to_dict())
        assert (
            charts.ARM_COLORS["blinatumomab"] in text and charts.ARM_COLORS["chemotherapy"] in text
        )


def test_presentation_mode_is_larger(result: AnalysisResult) -> None:
    normal = charts.km_chart(result.endpoints["efs"]).to_dict()
    big = charts.km_chart(result.endpoints["efs"], presentation=True).to_dict()
    assert big["config"]["axis"]["labelFontSize"] > normal["config"]["axis"]["labelFontSize"]


def test_km_table_is_the_risk_table(result: AnalysisResult) -> None:
    chart = charts.km_chart(result.endpoints["efs"])
    rt = result.endpoints["efs"].risk_table
    rows = [r for d in _datasets(chart) for r in d if "row" in r]
    at_risk = {(r["row"], r["time"]): r["value"] for r in rows}
    for _, r in rt.iterrows():
        label = charts.ARM_LABELS[r["arm"]]
        assert at_risk[(f"{label}: at risk", r["time"])] == r["at_risk"]


def test_forest_marks_firth_and_not_estimable(result: AnalysisResult) -> None:
    text = json.dumps(charts.forest_chart(result.forest).to_dict())
    assert "Firth penalised" in text
    f = result.forest.copy()
    f.loc[1, ["hr", "ci_lower", "ci_upper"]] = float("nan")
    f.loc[1, "method"] = "not estimable"
    assert "not estimable" in json.dumps(charts.forest_chart(f).to_dict())


def test_forest_figure_carries_its_numbers_and_arrows(result: AnalysisResult) -> None:
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


def test_svg_and_png_render(result: AnalysisResult) -> None:
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


# --------------------------------------------------------------------------------------
# Colour vision and greyscale print
# --------------------------------------------------------------------------------------

#: Machado, Oliveira & Fernandes (2009), "A physiologically-based model for simulation of
#: color vision deficiency", IEEE TVCG 15(6): the matrices for severity 1.0 (dichromacy),
#: applied to linear RGB.
MACHADO_2009 = {
    "protanopia": [
        [0.152286, 1.052583, -0.204868],
        [0.114503, 0.786281, 0.099216],
        [-0.003882, -0.048116, 1.051998],
    ],
    "deuteranopia": [
        [0.367322, 0.860646, -0.227968],
        [0.280085, 0.672501, 0.047413],
        [-0.011820, 0.042940, 0.968881],
    ],
    "tritanopia": [
        [1.255528, -0.076749, -0.178779],
        [-0.078411, 0.930809, 0.147602],
        [0.004733, 0.691367, 0.303900],
    ],
}


def _linear_rgb(hex_colour: str) -> list[float]:
    """sRGB ``#RRGGBB`` to linear RGB in [0, 1] (IEC 61966-2-1)."""
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    return [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]


def _luminance(rgb: list[float]) -> float:
    """Relative luminance of linear RGB (WCAG 2, the Y of CIE XYZ for sRGB)."""
    return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]


def _contrast(a: list[float], b: list[float]) -> float:
    """WCAG contrast ratio of two linear RGB colours (1 to 21)."""
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _lab(rgb: list[float]) -> list[float]:
    """CIE L*a*b* (D65 white) of linear RGB."""
    matrix = [[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]
    white = [sum(row) for row in matrix]  # of linear RGB (1, 1, 1)
    xyz = [
        sum(m * c for m, c in zip(row, rgb, strict=True)) / w
        for row, w in zip(matrix, white, strict=True)
    ]
    f = [t ** (1 / 3) if t > (6 / 29) ** 3 else t / (3 * (6 / 29) ** 2) + 4 / 29 for t in xyz]
    return [116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])]


def _delta_e(a: list[float], b: list[float]) -> float:
    """CIE 1976 colour difference of two linear RGB colours."""
    return math.sqrt(sum((x - y) ** 2 for x, y in zip(_lab(a), _lab(b), strict=True)))


def _simulate(matrix: list[list[float]], rgb: list[float]) -> list[float]:
    return [min(1.0, max(0.0, sum(m * c for m, c in zip(row, rgb, strict=True)))) for row in matrix]


def test_colour_helpers_on_known_values() -> None:
    white, black = _linear_rgb("#FFFFFF"), _linear_rgb("#000000")
    assert _contrast(white, black) == pytest.approx(21.0)
    # WCAG's worked grey: #777777 on white is 4.48
    assert _contrast(_linear_rgb("#777777"), white) == pytest.approx(4.48, abs=0.01)
    assert _lab(white) == pytest.approx([100.0, 0.0, 0.0], abs=0.01)
    # a grey is seen as the same grey by a dichromat (the rows of each matrix sum to 1)
    grey = _linear_rgb("#808080")
    for matrix in MACHADO_2009.values():
        assert _simulate(matrix, grey) == pytest.approx(grey, abs=1e-5)


def test_arm_colours_differ_in_greyscale() -> None:
    blina, chemo = (_linear_rgb(charts.ARM_COLORS[a]) for a in ("blinatumomab", "chemotherapy"))
    assert _contrast(blina, chemo) >= 1.5
    # and each is readable as text on white (the numbers-at-risk table is set in them)
    for colour in (blina, chemo):
        assert _contrast(colour, _linear_rgb("#FFFFFF")) >= 4.5


@pytest.mark.parametrize("deficiency", sorted(MACHADO_2009))
def test_arm_colours_differ_with_colour_blindness(deficiency: str) -> None:
    matrix = MACHADO_2009[deficiency]
    blina, chemo = (
        _simulate(matrix, _linear_rgb(charts.ARM_COLORS[a]))
        for a in ("blinatumomab", "chemotherapy")
    )
    assert _delta_e(blina, chemo) >= 20, deficiency
    assert _contrast(blina, chemo) >= 1.5, deficiency


def _stroke_by_arm(chart_dict: dict[str, Any]) -> list[dict[str, Any]]:
    """The encodings of the curves (step lines) of a chart's spec whose stroke dash
    follows the arm."""
    found: list[dict[str, Any]] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            mark = node.get("mark")
            kind = mark.get("type") if isinstance(mark, dict) else mark
            dash = node.get("encoding", {}).get("strokeDash", {})
            if kind == "line" and dash.get("field") == "arm":
                found.append(dash)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(chart_dict)
    return found


def test_km_and_cumulative_incidence_arms_differ_by_stroke(result: AnalysisResult) -> None:
    km = charts.km_chart(result.endpoints["efs"], horizon=24).to_dict()
    cir = charts.cir_chart(result.competing["cir"]).to_dict()
    for name, spec in (("km", km), ("cir", cir)):
        dashes = _stroke_by_arm(spec)
        assert dashes, name
        for dash in dashes:
            ranges = dict(zip(dash["scale"]["domain"], dash["scale"]["range"], strict=True))
            assert set(ranges) == set(charts.ARM_COLORS), name
            assert ranges["blinatumomab"] != ranges["chemotherapy"], name

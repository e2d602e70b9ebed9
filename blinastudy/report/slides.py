"""A PowerPoint deck of an analysis (python-pptx), stamped on every slide.

:func:`pptx_deck` builds eight 16:9 slides: a title slide (stamp, synthetic-data
label), Kaplan-Meier curves with their KMunicate table for EFS and for OS, the
cumulative incidence of relapse with death in remission competing, the
matching summary beside the love plot, the forest plot, the MRD analysis, and
the settings with the cohort hash, version and date. Figures are PNG renderings
of :func:`blinastudy.report.html.result_charts`; the speaker notes carry the teaching
explanation of each slide with the current numbers. Table cells pass through
:func:`blinastudy.report.export.neutralise_formulas`.
"""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.util import Emu, Inches, Pt

from blinastudy.core.formatting import (
    fmt_hr,
    fmt_level,
    fmt_num,
    fmt_p,
    fmt_pct,
    fmt_survival,
)
from blinastudy.report import charts
from blinastudy.report.export import neutralise_formulas
from blinastudy.report.html import result_charts
from blinastudy.report.stamp import stamp, stamp_line
from blinastudy.report.teaching import explain

if TYPE_CHECKING:
    from blinastudy.analysis import AnalysisResult

__all__ = ["SLIDE_FIGURES", "SLIDE_TITLES", "pptx_deck", "render_pngs"]

#: Slide titles, in order.
SLIDE_TITLES: tuple[str, ...] = (
    "Blinatumomab in first-line therapy versus matched historical controls",
    "Event-free survival",
    "Overall survival",
    "Cumulative incidence of relapse",
    "Matching and balance",
    "Treatment effect by subgroup",
    "MRD",
    "Settings and stamp",
)

#: Smallest type on any slide (points): readable from the back of a lecture hall.
MIN_PT = 18

#: Figures the deck shows (names of :func:`blinastudy.report.html.result_charts`).
SLIDE_FIGURES: tuple[str, ...] = ("km_efs", "km_os", "cir", "love", "forest", "mrd")

_WIDTH, _HEIGHT = Inches(13.333), Inches(7.5)
_ORANGE: Any = RGBColor(0xD5, 0x5E, 0x00)  # type: ignore[no-untyped-call]
_GREY: Any = RGBColor(0x55, 0x55, 0x55)  # type: ignore[no-untyped-call]


def render_pngs(result: AnalysisResult, names: tuple[str, ...] = SLIDE_FIGURES) -> dict[str, bytes]:
    """PNG renderings (offline) of the deck's figures that the result has.

    Examples
    --------
    >>> from blinastudy.analysis import analyze
    >>> from blinastudy.data.demo import make_demo_cohort
    >>> res = analyze(make_demo_cohort(), sweep=False)
    >>> render_pngs(res, ("forest",))["forest"][:4]
    b'\\x89PNG'
    """
    chart_map = result_charts(result)
    return {n: charts.to_png(chart_map[n]) for n in names if n in chart_map}


def _png_size(data: bytes) -> tuple[int, int]:
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return 4, 3
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def _place(shape: Any, left: float, top: float, width: float, height: float) -> None:
    shape.left, shape.top = Inches(left), Inches(top)
    shape.width, shape.height = Inches(width), Inches(height)


def _title(slide: Any, text: str) -> None:
    title = slide.shapes.title
    _place(title, 0.4, 0.25, 12.5, 1.0)
    title.text = text
    para = title.text_frame.paragraphs[0]
    para.font.size = Pt(30)


def _text(
    slide: Any,
    lines: list[str],
    left: int,
    top: int,
    width: int,
    height: int,
    *,
    size: float = MIN_PT,
    color: Any = None,
    bold: bool = False,
) -> Any:
    box = slide.shapes.add_textbox(left, top, width, height)
    frame = box.text_frame
    frame.word_wrap = True
    for i, line in enumerate(lines):
        para = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        para.text = line
        para.font.size = Pt(max(size, MIN_PT))
        para.font.bold = bold
        if color is not None:
            para.font.color.rgb = color
    return box


def _picture(slide: Any, data: bytes | None, left: int, top: int, width: int, height: int) -> None:
    if not data:
        _text(slide, ["(no figure: no data)"], left, top, width, Inches(0.5), color=_GREY)
        return
    w, h = _png_size(data)
    scale = min(width / w, height / h)
    pic_w, pic_h = int(w * scale), int(h * scale)
    slide.shapes.add_picture(
        io.BytesIO(data),
        Emu(left + (width - pic_w) // 2),
        Emu(top + (height - pic_h) // 2),
        Emu(pic_w),
        Emu(pic_h),
    )


def _table(slide: Any, frame: pd.DataFrame, left: int, top: int, width: int) -> None:
    safe = neutralise_formulas(frame)
    rows, cols = len(safe) + 1, len(safe.columns)
    shape = slide.shapes.add_table(rows, cols, left, top, width, Inches(0.45) * rows)
    table = shape.table
    for j, col in enumerate(safe.columns):
        table.cell(0, j).text = str(col)
    for i, row in enumerate(safe.itertuples(index=False, name=None), start=1):
        for j, value in enumerate(row):
            table.cell(i, j).text = "–" if value is None or pd.isna(value) else str(value)
    for r in range(rows):
        for c in range(cols):
            for para in table.cell(r, c).text_frame.paragraphs:
                para.font.size = Pt(MIN_PT)


def _footer(slide: Any, line: str, synthetic: bool) -> None:
    _text(
        slide,
        [line],
        Inches(0.3),
        _HEIGHT - Inches(0.55),
        _WIDTH - Inches(0.6),
        Inches(0.5),
        color=_ORANGE if synthetic else _GREY,
        bold=synthetic,
    )


def _notes(slide: Any, text: str) -> None:
    slide.notes_slide.notes_text_frame.text = text


def _arm_lines(at_horizon: pd.DataFrame, value: str, counts: Callable[[Any], str]) -> list[str]:
    """One line per arm of ``at_horizon``: its ``value`` with CI, then ``counts(arm)``."""
    return [
        f"{str(r['arm']).capitalize()}: "
        f"{fmt_survival(r[value], r['ci_lower'], r['ci_upper'])}, {counts(r['arm'])}"
        for _, r in at_horizon.iterrows()
    ]


def _endpoint_lines(result: AnalysisResult, key: str) -> list[str]:
    ep = result.endpoints[key]
    s = result.settings
    lines = [
        f"Time from {ep.origin}; {s.horizon_months:g}-month survival:",
        *_arm_lines(
            ep.at_horizon,
            "survival",
            lambda arm: f"{ep.events.get(arm, 0)} events in {ep.n.get(arm, 0)}",
        ),
    ]
    hr = ep.hazard_ratio
    if len(hr):
        lines.append(
            fmt_hr(hr["hr"].iloc[0], hr["ci_lower"].iloc[0], hr["ci_upper"].iloc[0], s.conf_level)
            + f" ({hr['method'].iloc[0]})"
            + _ph_text(ep.ph)
        )
    if ep.logrank is not None:
        lines.append(f"Log-rank p {fmt_p(ep.logrank.p_value)}")
    rm = ep.rmst
    if rm is not None and not rm.note:
        lines.append(
            f"Restricted mean to {rm.tau:g} months: {rm.difference:+.2f} months "
            f"({round(rm.conf_level * 100):d}% CI {rm.ci_lower:.2f} to {rm.ci_upper:.2f})"
        )
    return lines


def _ph_text(ph: Any) -> str:
    """The proportional-hazards p beside a hazard ratio, flagged when it rejects."""
    if ph is None or not np.isfinite(ph.p_value):
        return ""
    flag = " - hazards not proportional" if ph.violated else ""
    return f"; PH test p {fmt_p(ph.p_value)}{flag}"


def _competing_lines(result: AnalysisResult, key: str) -> list[str]:
    cr = result.competing.get(key)
    if cr is None:
        return [result.competing_note or "No event_type column: cumulative incidence unavailable."]
    s = result.settings
    lines = [
        f"From diagnosis; incidence at {s.horizon_months:g} months (Aalen-Johansen):",
        *_arm_lines(
            cr.at_horizon,
            "incidence",
            lambda arm: f"{cr.events.get(arm, 0)} events, {cr.competing.get(arm, 0)} competing",
        ),
    ]
    if cr.gray is not None:
        lines.append(f"Gray's test p {fmt_p(cr.gray.p_value)}")
    if len(cr.fine_gray):
        fg = cr.fine_gray.iloc[0]
        lines.append(
            "Fine-Gray s" + fmt_hr(fg["shr"], fg["ci_lower"], fg["ci_upper"], s.conf_level)
        )
    if len(cr.cause_specific):
        cs = cr.cause_specific.iloc[0]
        lines.append(
            "Cause-specific "
            + fmt_hr(cs["hr"], cs["ci_lower"], cs["ci_upper"], s.conf_level)
            + f" ({cs['method']})"
            + _ph_text(cr.ph)
        )
    return lines


def _settings_lines(settings: Any) -> list[str]:
    """The settings that decide the numbers, in words (every setting is in the notes)."""
    m = settings.matching
    caliper = "no caliper" if m.caliper is None else f"caliper {m.caliper:g} SD ({m.scale})"
    origin = (
        "from diagnosis"
        if settings.origin == "diagnosis"
        else f"from a {settings.landmark_months:g}-month landmark"
    )
    return [
        f"Population: {settings.population}",
        f"Matching: 1:{m.ratio}, {caliper}, {'with' if m.replace else 'without'} replacement",
        f"Endpoint {settings.endpoint.upper()}, time {origin}",
        f"Survival at {settings.horizon_months:g} months; "
        f"{fmt_level(settings.conf_level)} CI ({settings.conf_type})",
        f"Bootstrap: {settings.bootstrap.replicates} replicates, "
        f"seed {settings.bootstrap.random_state}",
        f"MRD: {settings.mrd.column} at {settings.mrd.threshold_pct:g} %",
    ]


def pptx_deck(
    result: AnalysisResult,
    *,
    when: datetime | None = None,
    demo: bool | None = None,
    images: Mapping[str, bytes] | None = None,
) -> bytes:
    """An eight-slide PowerPoint deck of ``result``.

    Parameters
    ----------
    result : AnalysisResult
    when : datetime, optional
        Date of the export for the stamp (default: now, UTC).
    demo : bool, optional
        Whether the cohort is the synthetic demo (default: detected from the
        cohort hash); the label then appears on every slide.
    images : mapping of str to bytes, optional
        Pre-rendered PNG figures by name (:func:`render_pngs`); rendered here
        when omitted.

    Returns
    -------
    bytes
        The ``.pptx`` file.

    Examples
    --------
    >>> import io
    >>> from pptx import Presentation
    >>> from blinastudy.analysis import analyze
    >>> from blinastudy.data.demo import make_demo_cohort
    >>> deck = pptx_deck(analyze(make_demo_cohort(), sweep=False), images={})
    >>> len(Presentation(io.BytesIO(deck)).slides)
    8
    """
    st = stamp(result, when=when, demo=demo)
    if images is None:
        images = render_pngs(result)
    synthetic = bool(st["synthetic"])
    footer = stamp_line(st, short_hash=True)
    s = result.settings
    prs = Presentation()
    prs.slide_width, prs.slide_height = _WIDTH, _HEIGHT
    title_layout, title_only = prs.slide_layouts[0], prs.slide_layouts[5]
    body_top = Inches(1.35)

    # 1. title
    slide = prs.slides.add_slide(title_layout)
    slide.shapes.title.text = SLIDE_TITLES[0]
    _place(slide.shapes.title, 0.8, 1.3, 11.7, 1.8)
    subtitle = slide.placeholders[1]
    _place(subtitle, 0.8, 3.2, 11.7, 1.8)
    subtitle.text = (
        "Propensity-matched survival analysis: blinatumomab added to first-line therapy "
        "for children with B-ALL vs CCLG-ALL-2018 chemotherapy controls"
    )
    slide.shapes.title.text_frame.paragraphs[0].font.size = Pt(40)
    subtitle.text_frame.paragraphs[0].font.size = Pt(24)
    stamp_lines = [
        f"BlinaStudy {st['version']}",
        f"Cohort SHA-256 {st['cohort_hash']}",
        f"Exported {st['date']}",
    ]
    _text(slide, stamp_lines, Inches(1), Inches(5.0), Inches(11.3), Inches(1.4))
    if synthetic:
        _text(
            slide,
            [f"{st['label']}: no row describes a real patient"],
            Inches(1),
            Inches(0.4),
            Inches(11.3),
            Inches(0.6),
            size=24,
            color=_ORANGE,
            bold=True,
        )
    _footer(slide, footer, synthetic)

    # 2-3. Kaplan-Meier
    for key, name in (("efs", SLIDE_TITLES[1]), ("os", SLIDE_TITLES[2])):
        slide = prs.slides.add_slide(title_only)
        _title(slide, name)
        _picture(slide, images.get(f"km_{key}"), Inches(0.3), body_top, Inches(8.6), Inches(5.6))
        if key in result.endpoints:
            _text(
                slide,
                _endpoint_lines(result, key),
                Inches(8.9),
                body_top,
                Inches(4.2),
                Inches(5.4),
            )
        _notes(
            slide, explain("kmunicate", s, result) + "\n\n" + explain("immortal_time", s, result)
        )
        _footer(slide, footer, synthetic)

    # 4. cumulative incidence of relapse (death in remission competing)
    slide = prs.slides.add_slide(title_only)
    _title(slide, SLIDE_TITLES[3])
    _picture(slide, images.get("cir"), Inches(0.3), body_top, Inches(8.6), Inches(5.6))
    _text(
        slide,
        _competing_lines(result, "cir"),
        Inches(8.9),
        body_top,
        Inches(4.2),
        Inches(5.4),
    )
    _notes(slide, explain("competing", s, result))
    _footer(slide, footer, synthetic)

    # 5. matching
    slide = prs.slides.add_slide(title_only)
    _title(slide, SLIDE_TITLES[4])
    m, ms = s.matching, result.matching_summary
    lines = [
        f"1:{m.ratio} nearest neighbour, {'with' if m.replace else 'without'} replacement, "
        f"on the {'logit of the ' if m.scale == 'logit' else ''}propensity score",
        "No caliper"
        if m.caliper is None
        else f"Caliper {m.caliper:g} SD (width {fmt_num(ms.get('caliper_width'))})",
    ]
    if ms.get("error"):
        lines.append(f"Matching failed: {ms['error']}")
    else:
        lines += [
            f"Matched {ms['n_matched_treated']} of {ms['n_treated']} blinatumomab patients",
            f"to {ms['n_matched_controls']} of {ms['n_control_pool']} historical controls",
            f"Largest |SMD|: {fmt_num(ms.get('max_abs_smd_before'))} before, "
            f"{fmt_num(ms.get('max_abs_smd_after'))} after",
        ]
    if m.exact:
        lines.append(f"Exact matching on {', '.join(m.exact)}")
    _text(slide, lines, Inches(0.4), body_top, Inches(4.6), Inches(5.4))
    _picture(slide, images.get("love"), Inches(5.1), body_top, Inches(7.9), Inches(5.6))
    _notes(slide, explain("caliper", s, result) + "\n\n" + explain("smd", s, result))
    _footer(slide, footer, synthetic)

    # 6. forest
    slide = prs.slides.add_slide(title_only)
    _title(slide, SLIDE_TITLES[5])
    # the figure carries the numbers and interaction p of every row
    _picture(slide, images.get("forest"), Inches(0.3), body_top, Inches(12.7), Inches(5.6))
    _notes(slide, explain("forest", s, result) + "\n\n" + explain("firth", s, result))
    _footer(slide, footer, synthetic)

    # 7. MRD
    slide = prs.slides.add_slide(title_only)
    _title(slide, f"{SLIDE_TITLES[6]}: threshold {s.mrd.threshold_pct:g}%")
    _picture(slide, images.get("mrd"), Inches(0.3), body_top, Inches(6.6), Inches(4.6))
    if result.mrd is not None:
        g = result.mrd.groups
        g = g[g["n"] > 0]
        shown = pd.DataFrame(
            {
                "Group": g["group"],
                "Arm": g["arm"],
                "N": g["n"].astype(int),
                "Events": g["events"].astype(int),
                f"{s.horizon_months:g} mo": [fmt_pct(v) for v in g[result.mrd.measure]],
            }
        )
        _table(slide, shown, Inches(7.0), body_top, Inches(6.0))
        _text(
            slide,
            [
                f"{len(result.mrd.changed)} patients change group against the reference "
                f"threshold of {s.mrd.compare_threshold_pct:g}%"
            ],
            Inches(0.4),
            Inches(6.1),
            Inches(12.5),
            Inches(0.7),
        )
    else:
        _text(slide, ["No MRD column in this cohort."], Inches(0.4), body_top, Inches(8), Inches(1))
    _notes(slide, explain("mrd_threshold", s, result))
    _footer(slide, footer, synthetic)

    # 8. settings
    slide = prs.slides.add_slide(title_only)
    _title(slide, SLIDE_TITLES[7])
    _text(slide, _settings_lines(s), Inches(0.4), body_top, Inches(8.2), Inches(4.9))
    _text(
        slide,
        [
            f"BlinaStudy {st['version']}",
            f"Date: {st['date']}",
            *([str(st["label"])] if synthetic else []),
            "Every setting: in the speaker notes and settings.json",
        ],
        Inches(8.8),
        body_top,
        Inches(4.3),
        Inches(4.9),
    )
    _text(
        slide,
        [f"Cohort SHA-256: {st['cohort_hash']}"],
        Inches(0.4),
        Inches(6.3),
        Inches(12.5),
        Inches(0.5),
        bold=True,
    )
    _notes(slide, "Settings JSON:\n" + s.to_json())
    _footer(slide, footer, synthetic)

    # the same deck for the same analysis and date: fixed document and archive times
    stamped = datetime.fromisoformat(str(st["date"])).replace(tzinfo=None)
    prs.core_properties.created = stamped
    prs.core_properties.modified = stamped
    buffer = io.BytesIO()
    prs.save(buffer)
    return _fixed_zip_times(buffer.getvalue(), stamped)


def _fixed_zip_times(data: bytes, when: datetime) -> bytes:
    """The archive ``data`` with every entry dated ``when`` (zip keeps no time zone)."""
    stamp_time = (max(when.year, 1980), when.month, when.day, when.hour, when.minute, when.second)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=stamp_time)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = info.external_attr
            dst.writestr(entry, src.read(info.filename))
    return out.getvalue()

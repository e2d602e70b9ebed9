"""The PowerPoint deck: eight slides, figures, stamp and synthetic label."""

from __future__ import annotations

import io

import pptx.presentation
import pytest
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE
from pptx.shapes.autoshape import Shape
from pptx.slide import Slide

from blinastudy.report.slides import SLIDE_FIGURES, SLIDE_TITLES, pptx_deck
from blinastudy.report.teaching import TEXTS
from tests._demo_result import WHEN, demo_pngs, demo_result


def texts(slide: Slide) -> str:
    return "\n".join(
        shape.text_frame.text
        for shape in slide.shapes
        if isinstance(shape, Shape) and shape.has_text_frame
    )


@pytest.fixture(scope="module")
def deck() -> pptx.presentation.Presentation:
    data = pptx_deck(demo_result(), when=WHEN, images=demo_pngs())
    assert data[:2] == b"PK"
    return Presentation(io.BytesIO(data))


def test_slide_count_and_titles(deck: pptx.presentation.Presentation) -> None:
    slides = list(deck.slides)
    assert len(slides) == len(SLIDE_TITLES) == 8
    for slide, title in zip(slides, SLIDE_TITLES, strict=True):
        assert slide.shapes.title.text.startswith(title)
    assert slides[6].shapes.title.text == "MRD: threshold 0.1%"


def test_figures_are_pictures(deck: pptx.presentation.Presentation) -> None:
    assert set(demo_pngs()) == set(SLIDE_FIGURES)
    pictures = [
        sum(shape.shape_type == MSO_SHAPE_TYPE.PICTURE for shape in slide.shapes)
        for slide in deck.slides
    ]
    assert pictures == [0, 1, 1, 1, 1, 1, 1, 0]
    blobs = {
        shape.image.blob
        for slide in deck.slides
        for shape in slide.shapes
        if shape.shape_type == MSO_SHAPE_TYPE.PICTURE
    }
    assert blobs == set(demo_pngs().values())


def test_stamp_and_label(deck: pptx.presentation.Presentation) -> None:
    res = demo_result()
    slides = list(deck.slides)
    for slide in (slides[0], slides[-1]):
        text = texts(slide)
        assert res.cohort_hash in text
        assert f"BlinaStudy {res.version}" in text
        assert "2025-03-14T09:26:53+00:00" in text
    for slide in slides:
        assert "Synthetic demo data" in texts(slide)  # every slide's footer
    settings_text = texts(slides[-1])
    assert "Matching: 1:1, caliper 0.2 SD (logit), without replacement" in settings_text
    assert "Bootstrap: 1000 replicates" in settings_text
    assert res.settings.to_json() in slides[-1].notes_slide.notes_text_frame.text


def test_no_type_smaller_than_18_points(deck: pptx.presentation.Presentation) -> None:
    from pptx.util import Pt

    from blinastudy.report.slides import MIN_PT

    assert MIN_PT == 18
    sizes = []
    for slide in deck.slides:
        for shape in slide.shapes:
            frames = []
            if shape.has_text_frame:
                frames.append(shape.text_frame)
            if getattr(shape, "has_table", False) and shape.has_table:
                frames += [c.text_frame for row in shape.table.rows for c in row.cells]
            for frame in frames:
                for para in frame.paragraphs:
                    if para.text.strip():
                        sizes.append(para.font.size)
    assert sizes and all(size is not None and size >= Pt(18) for size in sizes)


def test_numbers_and_notes(deck: pptx.presentation.Presentation) -> None:
    slides = list(deck.slides)
    efs = texts(slides[1])
    assert "Blinatumomab: 97.8 % (91.4 to 99.4 %), 2 events in 90" in efs
    assert "HR 0.083 (95% CI 0.019 to 0.36)" in efs
    assert "100.0 % (CI not estimable)" in texts(slides[2])
    cir = texts(slides[3])
    assert "Blinatumomab: 2.2 %" in cir and "0 competing" in cir and "Gray's test p" in cir
    assert TEXTS["competing"] in slides[3].notes_slide.notes_text_frame.text
    assert "Matched 90 of 90 blinatumomab patients" in texts(slides[4])
    assert TEXTS["kmunicate"] in slides[1].notes_slide.notes_text_frame.text
    assert TEXTS["forest"] in slides[5].notes_slide.notes_text_frame.text
    table = next(s for s in slides[6].shapes if s.has_table).table
    assert table.cell(0, 0).text == "Group"
    assert table.cell(1, 0).text == "MRD < 0.1%"


def test_no_label_for_a_real_cohort() -> None:
    data = pptx_deck(demo_result(), when=WHEN, images={}, demo=False)
    deck = Presentation(io.BytesIO(data))
    assert all("Synthetic demo data" not in texts(s) for s in deck.slides)
    assert "(no figure: no data)" in texts(list(deck.slides)[1])


def test_the_same_analysis_and_date_give_the_same_file() -> None:
    one = pptx_deck(demo_result(), when=WHEN, images={})
    two = pptx_deck(demo_result(), when=WHEN, images={})
    assert one == two
    deck = Presentation(io.BytesIO(one))
    assert deck.core_properties.modified == WHEN.replace(tzinfo=None)


def test_slide_figures_are_at_least_300_dpi() -> None:
    from blinastudy.report.slides import _png_size

    deck = Presentation(io.BytesIO(pptx_deck(demo_result(), when=WHEN)))
    for slide in deck.slides:
        for shape in slide.shapes:
            if shape.shape_type == 13:  # a picture
                width_px, _ = _png_size(shape.image.blob)
                assert width_px / (shape.width / 914400) >= 300

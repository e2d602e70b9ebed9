"""End to end: a real ``streamlit run`` server on localhost, driven by headless Chromium.

Uploads a CSV, moves the caliper slider with the keyboard, reads the new matched
N, and saves a screenshot of every page to ``test-output/``. Chromium comes from
Debian (``/usr/bin/chromium``); without it this test fails rather than skipping,
because CI installs it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests._apptest import MATCHED, csv_bytes
from tests._browser import file_payload, goto, idle, metric, metric_box, open_app, shot, uploader
from tests._demo_result import demo_subset

PAGES = ["Data", "Matching", "Survival", "MRD", "Subgroups", "Export"]

pytestmark = pytest.mark.browser


def test_upload_move_a_slider_and_see_every_page(browser_page: Page, server: str) -> None:
    page = browser_page
    errors = open_app(page, server)
    expect(page.get_by_text("Synthetic demo data").first).to_be_visible()
    shot(page, "01-data-demo")

    # Upload a cohort file and use it.
    uploader(page).set_input_files(
        files=file_payload("cohort.csv", csv_bytes(demo_subset(40, 300)))
    )
    expect(page.get_by_text("340 patients pass every check")).to_be_visible()
    idle(page)
    shot(page, "02-data-uploaded")
    page.get_by_role("button", name="Use this cohort").click()
    idle(page)
    expect(page.get_by_text("Cohort: cohort.csv")).to_be_visible()

    # Matching: move the caliper with the keyboard and read the new matched N.
    goto(page, "Matching")
    before = metric(page, MATCHED)
    assert before.endswith("of 40")
    slider = (
        page.locator('[data-testid="stSlider"]')
        .filter(has_text="Caliper (SD")
        .get_by_role("slider")
    )
    slider.focus()
    page.keyboard.press("Home")
    expect(metric_box(page, MATCHED)).not_to_have_text(before)
    idle(page)
    after = metric(page, MATCHED)
    assert after != before and after.endswith("of 40")
    shot(page, "03-matching")

    # The sidebar saves the current settings; a chart downloads as SVG.
    with page.expect_download() as saved:
        page.get_by_role("button", name="Save settings (JSON)").click()
    settings = json.loads(Path(saved.value.path()).read_text())
    assert settings["matching"]["caliper"] == 0.005
    with page.expect_download() as svg:
        page.get_by_role("button", name="SVG").first.click()
    assert Path(svg.value.path()).read_text().lstrip().startswith("<svg")

    for n, name in enumerate(PAGES[2:], start=4):
        goto(page, name)
        expect(page.locator("h1").first).to_be_visible()
        assert not page.get_by_text("error id").count()
        shot(page, f"{n:02d}-{name.lower()}")

    # The Export page makes the report, slides and everything else from the app.
    goto(page, "Export")
    page.get_by_role("button", name="Make the exports").click()
    idle(page)
    expect(page.get_by_text("Ready:")).to_be_visible()
    with page.expect_download() as bundle:
        page.get_by_role("button", name="Everything (ZIP").click()
    import zipfile

    names = zipfile.ZipFile(bundle.value.path()).namelist()
    assert {"report.html", "slides.pptx", "results.json", "figures/km_efs.svg"} <= set(names)
    with page.expect_download() as report:
        page.get_by_role("button", name="Report (HTML)").click()
    html = Path(report.value.path()).read_text(encoding="utf-8")
    # the uploaded cohort, not the demo: figures and numbers, no synthetic-data label
    assert "<svg" in html and "immortal time" in html and "Synthetic demo data" not in html
    shot(page, "06b-export-ready")

    # Presentation mode, on the survival page.
    goto(page, "Survival")
    page.get_by_text("Presentation mode").click()
    idle(page)
    shot(page, "07-survival-presentation")
    page.get_by_text("Presentation mode").click()
    page.get_by_text("Teaching mode").click()
    idle(page)
    goto(page, "Matching")
    expect(page.get_by_text("The caliper: bias against sample size")).to_be_visible()
    shot(page, "08-matching-teaching")

    # A bad file gives the validation report, not an error page.
    goto(page, "Data")
    bad = b"patient_id,arm,efs_months,efs_event,os_months,os_event\nP1,blina,-3,0,5,0\n"
    uploader(page).set_input_files(files=file_payload("bad.csv", bad))
    expect(page.get_by_text("bad.csv has")).to_be_visible()
    idle(page)
    assert not page.get_by_text("error id").count()
    shot(page, "09-data-bad-file")
    assert not errors, errors

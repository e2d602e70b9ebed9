"""End to end: a real ``streamlit run`` server on localhost, driven by headless Chromium.

Uploads a CSV, moves the caliper slider with the keyboard, reads the new matched
N, and saves a screenshot of every page to ``test-output/``. Chromium comes from
Debian (``/usr/bin/chromium``); without it this test fails rather than skipping,
because CI installs it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from blinastudy.data.demo import make_demo_cohort
from tests._server import CHROMIUM, CHROMIUM_ARGS, ROOT, require_chromium, streamlit_server

OUT = ROOT / "test-output"
PAGES = ["Data", "Matching", "Survival", "MRD", "Subgroups", "Export"]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with streamlit_server(OUT / "streamlit-e2e.log") as running:
        yield running.url


@pytest.fixture(scope="module")
def browser_page(server: str) -> Iterator[Page]:
    require_chromium()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1500, "height": 2600})
            page = context.new_page()
            page.set_default_timeout(90_000)
            expect.set_options(timeout=90_000)
            yield page
        finally:
            browser.close()


def _idle(page: Page) -> None:
    """Wait until the script has finished running and the page has settled."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
    page.wait_for_timeout(800)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')


def _metric(page: Page, label: str) -> str:
    box = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return str(box.locator('[data-testid="stMetricValue"]').inner_text()).strip()


def _goto(page: Page, name: str) -> None:
    nav = page.locator('[data-testid="stSidebarNav"]')
    nav.get_by_role("link", name=name, exact=True).click()
    _idle(page)


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)


def _cohort_csv() -> bytes:
    demo = make_demo_cohort()
    part = pd.concat(
        [
            demo[demo["arm"] == "blinatumomab"].head(40),
            demo[demo["arm"] == "chemotherapy"].head(300),
        ]
    )
    return part.to_csv(index=False).encode()


def test_upload_move_a_slider_and_see_every_page(browser_page: Page, server: str) -> None:
    page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server)
    _idle(page)
    expect(page.get_by_text("Synthetic demo data").first).to_be_visible()
    _shot(page, "01-data-demo")

    # Upload a cohort file and use it.
    uploader = page.locator(
        '[data-testid="stMain"] [data-testid="stFileUploader"] input[type="file"]'
    ).first
    uploader.set_input_files(
        files=[{"name": "cohort.csv", "mimeType": "text/csv", "buffer": _cohort_csv()}]
    )
    expect(page.get_by_text("340 patients pass every check")).to_be_visible()
    _idle(page)
    _shot(page, "02-data-uploaded")
    page.get_by_role("button", name="Use this cohort").click()
    _idle(page)
    expect(page.get_by_text("Cohort: cohort.csv")).to_be_visible()

    # Matching: move the caliper with the keyboard and read the new matched N.
    _goto(page, "Matching")
    before = _metric(page, "Matched blinatumomab patients")
    assert before.endswith("of 40")
    slider = (
        page.locator('[data-testid="stSlider"]')
        .filter(has_text="Caliper (SD")
        .get_by_role("slider")
    )
    slider.focus()
    page.keyboard.press("Home")
    value = page.locator('[data-testid="stMetric"]').filter(
        has_text="Matched blinatumomab patients"
    )
    expect(value.locator('[data-testid="stMetricValue"]')).not_to_have_text(before)
    _idle(page)
    after = _metric(page, "Matched blinatumomab patients")
    assert after != before and after.endswith("of 40")
    _shot(page, "03-matching")

    # The sidebar saves the current settings; a chart downloads as SVG.
    with page.expect_download() as saved:
        page.get_by_role("button", name="Save settings (JSON)").click()
    settings = json.loads(Path(saved.value.path()).read_text())
    assert settings["matching"]["caliper"] == 0.005
    with page.expect_download() as svg:
        page.get_by_role("button", name="SVG").first.click()
    assert Path(svg.value.path()).read_text().lstrip().startswith("<svg")

    for n, name in enumerate(PAGES[2:], start=4):
        _goto(page, name)
        expect(page.locator("h1").first).to_be_visible()
        assert not page.get_by_text("error id").count()
        _shot(page, f"{n:02d}-{name.lower()}")

    # The Export page makes the report, slides and everything else from the app.
    _goto(page, "Export")
    page.get_by_role("button", name="Make the exports").click()
    _idle(page)
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
    _shot(page, "06b-export-ready")

    # Presentation mode, on the survival page.
    _goto(page, "Survival")
    page.get_by_text("Presentation mode").click()
    _idle(page)
    _shot(page, "07-survival-presentation")
    page.get_by_text("Presentation mode").click()
    page.get_by_text("Teaching mode").click()
    _idle(page)
    _goto(page, "Matching")
    expect(page.get_by_text("The caliper: bias against sample size")).to_be_visible()
    _shot(page, "08-matching-teaching")

    # A bad file gives the validation report, not an error page.
    _goto(page, "Data")
    uploader = page.locator(
        '[data-testid="stMain"] [data-testid="stFileUploader"] input[type="file"]'
    )
    bad = b"patient_id,arm,efs_months,efs_event,os_months,os_event\nP1,blina,-3,0,5,0\n"
    uploader.first.set_input_files(
        files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": bad}]
    )
    expect(page.get_by_text("bad.csv has")).to_be_visible()
    _idle(page)
    assert not page.get_by_text("error id").count()
    _shot(page, "09-data-bad-file")
    assert not errors, errors

"""End to end: a clinician loads real hospital exports through the mapping review.

A real ``streamlit run`` server on localhost, driven by headless Chromium (Debian's
``/usr/bin/chromium``): upload the treated CSV and the pool XLSX, answer the questions
the page asks (date order, MRD unit, detection limit, an unclear MRD column, a date of
birth, 'normal karyotype'), see the load button enabled only then, check one
patient's dates beside the derived months, load, and save the settings with the
mappings. Screenshots go to ``test-output/``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests._apptest import EXPORTS, XLSX
from tests._browser import file_payload, idle, open_app, shot, uploader

pytestmark = pytest.mark.browser


def _choose(page: Page, label: str, option: str) -> None:
    """Pick ``option`` in the select box whose label contains ``label``."""
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text=label)
    combo = box.get_by_role("combobox")
    combo.scroll_into_view_if_needed()
    combo.click()
    combo.press_sequentially(option)
    page.get_by_role("option", name=option, exact=True).click()
    idle(page)
    expect(box).to_have_count(0)  # confirmed: no longer offered


def _settled(page: Page) -> Locator:
    return page.get_by_text("Every column, question and value of this file is settled.")


def test_upload_map_confirm_and_load_real_exports(browser_page: Page, server: str) -> None:
    page = browser_page
    errors = open_app(page, server)

    uploader(page, "Treated cohort").set_input_files(
        files=file_payload("treated.csv", (EXPORTS / "treated.csv").read_bytes())
    )
    idle(page)
    uploader(page, "Historical control pool").set_input_files(
        files=file_payload("pool.xlsx", (EXPORTS / "pool.xlsx").read_bytes(), XLSX)
    )
    idle(page)
    expect(page.get_by_text("Columns of treated.csv")).to_be_visible()
    expect(page.get_by_text("Columns of pool.xlsx")).to_be_visible()
    # what is still needed, in words; nothing can be loaded yet
    needed = page.locator('[data-testid="stAlert"]').filter(has_text="Still needed")
    expect(needed).to_have_count(2)
    expect(needed.first).to_contain_text(
        "say whether 'Date of death' writes dates dd/mm/yyyy or mm/dd/yyyy"
    )
    expect(needed.first).to_contain_text("give the detection limit behind 'neg' in 'MRD d33'")
    expect(needed.last).to_contain_text("say what 'normal karyotype' in 'Karyotype'")
    load = page.get_by_role("button", name="Use this cohort")
    expect(load).to_be_disabled()
    shot(page, "mapping-01-uploaded")

    # The date format of 'Date of death': both readings of an example cell.
    page.get_by_text("dd/mm/yyyy: '03/06/2021' is 3 June 2021").click()
    idle(page)
    expect(page.get_by_text("mm/dd/yyyy: '03/06/2021' is 6 March 2021")).to_have_count(0)
    # MRD d33: percent, and the detection limit behind 'neg'.
    page.get_by_text("percent: '<0.01' is 0.01 %").click()
    idle(page)
    limit = (
        page.locator('[data-testid="stNumberInput"]').filter(has_text="says 'neg'").locator("input")
    )
    limit.fill("0.01")
    limit.press("Enter")
    idle(page)
    # The unclear 'MRD TP1 %' column: day 15 in this protocol.
    _choose(page, "What is 'MRD TP1 %'?", "mrd_day15_pct")
    shot(page, "mapping-02-questions-answered")
    # 'normal karyotype': the suggestion is pre-selected and confirmed with one click.
    page.get_by_role("button", name="Confirm 1 value of 'Cytogenetics'").click()
    idle(page)
    expect(_settled(page)).to_have_count(1)
    expect(load).to_be_disabled()
    # The pool: map the date of birth (age at diagnosis), confirm 'normal karyotype'.
    _choose(page, "What is 'Date of birth'?", "date of birth")
    page.get_by_role("button", name="Confirm 1 value of 'Karyotype'").click()
    idle(page)
    expect(_settled(page)).to_have_count(2)
    expect(page.get_by_text("32 patients pass every check")).to_be_visible()
    expect(page.get_by_text("look like direct identifiers")).to_have_count(0)
    expect(load).to_be_enabled()
    shot(page, "mapping-03-settled")

    # Traceability: BL-01's dates beside the derived months.
    page.get_by_text("Dates behind the derived times (any patient)").first.click()
    idle(page)
    trace = page.locator('[data-testid="stExpander"]').filter(
        has_text="Dates behind the derived times"
    )
    expect(trace.first.get_by_role("combobox", name="Patient")).to_have_value("BL-01 (row 2)")
    expect(trace.first).to_contain_text("2019-03-14")
    expect(trace.first).to_contain_text("19.6797 months (599 days), event on 2020-11-02 (relapse)")
    shot(page, "mapping-04-trace")

    # Load, then save the settings: they hold both mappings.
    load.click()
    idle(page)
    expect(page.get_by_text("Cohort: treated.csv + pool.xlsx")).to_be_visible()
    expect(page.get_by_text("Now analysing treated.csv + pool.xlsx: 32 patients.")).to_be_visible()
    shot(page, "mapping-05-loaded")
    with page.expect_download() as saved:
        page.get_by_role("button", name="Save settings (JSON)").click()
    settings = json.loads(Path(saved.value.path()).read_text())
    treated, pool = settings["mappings"]
    assert treated["date_formats"]["Date of death"] == "dd/mm/yyyy"
    assert treated["mrd_limits"] == {"mrd_eoi_pct": 0.01}
    assert treated["columns"]["MRD TP1 %"] == "mrd_day15_pct"
    assert pool["dates"]["birth"] == "Date of birth"
    assert not page.get_by_text("error id").count()
    assert not errors, errors

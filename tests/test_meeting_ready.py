"""Meeting-ready: what a clinician sees, labelled, on the demo cohort in headless Chromium
at 1280 x 720 and 1440 x 900 (one ``streamlit run`` server for the module).

- Export: one click each for the report (HTML), the slides (PPTX) and everything
  (figures as SVG and PNG, tables as CSV) with a progress bar while they are made; the
  downloaded files equal those of :func:`blinastudy.report.bundle.build_bundle` (the
  command line's builder) for the same settings, their date stamps aside.
- A subgroup chosen on the Subgroups page restricts the Survival page under a banner
  naming it, cleared with one click; the Survival and Matching numbers state their
  population.
- From a landmark, a survival that cannot be read at the chosen month says why.
- Teaching mode quotes the caliper sweep shown on the page, in the sweep's direction.
- At a 90 % confidence level every interval on the Survival and Subgroups pages says so.
- The love plot has a legend and the variance ratio in its tooltip; the baseline table
  shows labels, not column names.
- With "above" as the high side, the MRD groups read "≤ 0.1%" and "> 0.1%".
- The forest plot carries n (events), HR (CI) and the interaction p as text; clicking a
  row's point restricts the Survival page.

Screenshots go to ``test-output/meeting-<w>x<h>-<topic>.png``.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import Download, Locator, Page, expect

from blinastudy.analysis import AnalysisResult, analyze
from blinastudy.analysis.settings import Settings
from blinastudy.core.formatting import fmt_num, fmt_p, hr_cell
from blinastudy.data.demo import make_demo_cohort
from blinastudy.report.bundle import Bundle, build_bundle
from blinastudy.stats.subgroups import interaction_p
from pages.common.ui_state import adapt_settings, baseline_display
from tests._browser import chromium_page, file_payload, goto, idle, metric, open_app, shot
from tests._demo_result import WHEN

pytestmark = pytest.mark.browser

VIEWPORTS = [(1280, 720), (1440, 900)]
#: How long the Export page may take to make every file (full bootstrap, sweep, PNGs).
EXPORT_MS = 300_000


# --------------------------------------------------------------------------------------
# The command line's files and numbers for the app's settings on the demo cohort
# --------------------------------------------------------------------------------------


def _settings() -> Settings:
    """The settings a new session starts with on the demo cohort."""
    return adapt_settings(Settings(), make_demo_cohort())


def _full_analysis() -> AnalysisResult:
    return analyze(make_demo_cohort(), _settings())


@pytest.fixture(scope="module", autouse=True)
def reference() -> Iterator[tuple[Future[AnalysisResult], Future[Bundle]]]:
    """The full analysis and the command line's bundle (stamped :data:`WHEN`), computed
    beside the browser from the start of the module."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        result = pool.submit(_full_analysis)
        bundle = pool.submit(lambda: build_bundle(result.result(), when=WHEN, chromium=None))
        yield result, bundle


@pytest.fixture(scope="module", params=VIEWPORTS, ids=[f"{w}x{h}" for w, h in VIEWPORTS])
def screen(request: pytest.FixtureRequest, server: str) -> Iterator[Page]:
    """A session of the app on the demo cohort at one viewport size."""
    width, height = request.param
    with chromium_page(height=height, width=width) as page:
        errors = open_app(page, server)
        yield page
        assert not errors, errors


def _name(page: Page, topic: str) -> str:
    size = page.viewport_size
    assert size is not None
    return f"meeting-{size['width']}x{size['height']}-{topic}"


# --------------------------------------------------------------------------------------
# Reading the page
# --------------------------------------------------------------------------------------


def _main(page: Page) -> Locator:
    return page.locator('[data-testid="stMain"]')


def _alert(page: Page, text: str) -> Locator:
    """The message boxes of the main area whose text contains ``text``."""
    return _main(page).locator('[data-testid="stAlert"]').filter(has_text=text)


def _radio(page: Page, label: str, option: str) -> None:
    """Choose ``option`` of the radio group labelled ``label`` and wait for the rerun."""
    group = _main(page).locator('[data-testid="stRadio"]').filter(has_text=label)
    group.get_by_text(option, exact=True).click()
    idle(page)


def _figure(page: Page, text: str) -> Locator:
    """The drawn figure (SVG) of the main area that shows ``text``."""
    chart = _main(page).locator('[data-testid="stVegaLiteChart"]').filter(has_text=text).first
    drawn = chart.locator("svg.marks")
    expect(drawn).to_be_visible()
    return drawn


def _texts(figure: Locator) -> list[str]:
    """Every text drawn in a figure."""
    found: list[str] = figure.evaluate(
        "svg => [...svg.querySelectorAll('text')].map(t => t.textContent.trim())"
    )
    return found


def _metrics(page: Page) -> dict[str, str]:
    """Label -> value of every metric in the main area."""
    found: dict[str, str] = _main(page).evaluate(
        """main => Object.fromEntries([...main.querySelectorAll('[data-testid="stMetric"]')]
             .map(m => [m.querySelector('[data-testid="stMetricLabel"]').innerText.trim(),
                        m.querySelector('[data-testid="stMetricValue"]').innerText.trim()]))"""
    )
    return found


def _all_text(page: Page) -> str:
    """All the text of the main area: paragraphs, tables, figure texts, expanders."""
    text: str = _main(page).evaluate("main => main.textContent")
    return text


def _download(page: Page, button: Locator) -> Download:
    with page.expect_download() as got:
        button.click()
    return got.value


def _data(download: Download) -> bytes:
    return Path(download.path()).read_bytes()


# --------------------------------------------------------------------------------------
# 1. Export
# --------------------------------------------------------------------------------------


def _date_forms(stamp_date: str) -> list[str]:
    """The ways a stamp's date is written in the exports, longest first."""
    when = datetime.fromisoformat(stamp_date)
    forms = {
        stamp_date,
        when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        when.strftime("%Y-%m-%dT%H:%M:%S"),
        when.strftime("%Y-%m-%d %H:%M UTC"),
        when.strftime("%Y-%m-%d %H:%M"),
        when.strftime("%Y-%m-%d"),
    }
    return sorted(forms, key=len, reverse=True)


def _undated(data: bytes, stamp_date: str) -> bytes:
    for form in _date_forms(stamp_date):
        data = data.replace(form.encode(), b"<date>")
    return data


def _members(data: bytes, stamp_date: str) -> dict[str, bytes]:
    """The files of a ZIP (a PPTX is one, and the ZIP holds one), each with its date
    stamp blanked."""
    found: dict[str, bytes] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for name in z.namelist():
            if name.endswith(".pptx"):
                inner = _members(z.read(name), stamp_date)
                found |= {f"{name}/{part}": value for part, value in inner.items()}
            else:
                found[name] = _undated(z.read(name), stamp_date)
    return found


def _same_members(got: dict[str, bytes], want: dict[str, bytes], what: str) -> None:
    assert list(got) == list(want), (what, sorted(set(got) ^ set(want)))
    differ = [n for n in want if got[n] != want[n]]
    assert not differ, f"{what}: these parts differ from the command line's: {differ}"


def test_export_downloads_equal_the_command_line(
    server: str, reference: tuple[Future[AnalysisResult], Future[Bundle]]
) -> None:
    width, height = VIEWPORTS[0]
    with chromium_page(height=height, width=width) as page:
        page.goto(server)
        idle(page)
        goto(page, "Export")
        page.get_by_role("button", name="Make the exports").click()
        # a progress bar while the files are made
        bar = _main(page).locator('[data-testid="stProgress"]')
        expect(bar).to_be_visible()
        expect(bar).to_contain_text(re.compile(r"Analysing|Made "))
        shot(page, _name(page, "export-progress"))
        expect(page.get_by_text("Ready:")).to_be_visible(timeout=EXPORT_MS)
        idle(page)
        expect(bar).to_have_count(0)
        buttons = {
            "report.html": page.get_by_role("button", name="Report (HTML)"),
            "slides.pptx": page.get_by_role("button", name="Slides (PowerPoint, 16:9)"),
            "blinastudy-results.zip": page.get_by_role("button", name="Everything (ZIP"),
        }
        for size in (VIEWPORTS[1], VIEWPORTS[0]):
            page.set_viewport_size({"width": size[0], "height": size[1]})
            for button in buttons.values():
                expect(button).to_be_visible()
                expect(button).to_be_enabled()
            shot(page, _name(page, "export-ready"))
        got = {}
        for name, button in buttons.items():
            download = _download(page, button)
            assert download.suggested_filename == name
            got[name] = _data(download)

    everything = zipfile.ZipFile(io.BytesIO(got["blinastudy-results.zip"]))
    names = everything.namelist()
    # figures as SVG and PNG, tables as CSV, in the one click
    assert any(re.fullmatch(r"figures/\w+\.svg", n) for n in names), names
    assert any(re.fullmatch(r"figures/\w+\.png", n) for n in names), names
    assert any(re.fullmatch(r"tables/\w+\.csv", n) for n in names), names
    stamp = json.loads(everything.read("stamp.json"))
    app_date = str(stamp["date"])
    want = reference[1].result(timeout=EXPORT_MS / 1000)
    ref_date = str(want.stamp["date"])
    assert everything.read("report.html") == got["report.html"]
    assert everything.read("slides.pptx") == got["slides.pptx"]
    # the same settings, and the same files, but for the date of the stamp
    assert stamp["settings"] == want.stamp["settings"]
    assert _undated(got["report.html"], app_date) == _undated(
        want.files["report.html"], ref_date
    ), "report.html differs from the command line's"
    _same_members(
        _members(got["slides.pptx"], app_date),
        _members(want.files["slides.pptx"], ref_date),
        "slides.pptx",
    )
    _same_members(
        _members(got["blinastudy-results.zip"], app_date),
        _members(want.zip_bytes(), ref_date),
        "the ZIP",
    )


# --------------------------------------------------------------------------------------
# 8. Forest plot: its numbers as text; a click restricts the Survival page
# --------------------------------------------------------------------------------------


def _restricted(page: Page, subgroup: str) -> None:
    """The Survival page is restricted to ``subgroup`` (``Risk group = HR``): a banner
    names it, its numbers state their population, and one click clears it."""
    goto(page, "Survival")
    banner = _alert(page, f"Restricted to {subgroup}")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Every number on this page is for that subgroup only")
    population = _main(page).locator('[data-testid="stCaptionContainer"]')
    stated = population.filter(has_text="Population:").first
    expect(stated).to_be_visible()
    expect(stated).to_contain_text(re.compile(f"restricted to .*{re.escape(subgroup)}", re.I))
    shot(page, _name(page, f"survival-restricted-{subgroup.split()[-1].lower()}"))
    page.get_by_role("button", name="Clear filter").click()
    idle(page)
    expect(_alert(page, "Restricted to")).to_have_count(0)
    expect(page.get_by_role("button", name="Clear filter")).to_have_count(0)


def test_forest_carries_its_numbers_and_a_click_restricts_survival(
    screen: Page, reference: tuple[Future[AnalysisResult], Future[Bundle]]
) -> None:
    page = screen
    goto(page, "Subgroups")
    figure = _figure(page, "Interaction p")
    texts = _texts(figure)
    forest = reference[0].result().forest
    for header in (
        "Blinatumomab n (events)",
        "Chemotherapy n (events)",
        "HR (95% CI)",
        "Interaction p",
    ):
        assert header in texts, (header, texts)
    for row in forest.to_dict(orient="records"):
        for arm in ("treated", "control"):
            shown = f"{row[f'n_{arm}']} ({row[f'events_{arm}']})"
            assert shown in texts, (row["variable"], row["level"], shown)
        if row["method"] != "not estimable":
            assert hr_cell(row) in texts, (row["variable"], row["level"], hr_cell(row))
    firsts = forest.drop_duplicates("variable")
    shown_p = [
        fmt_p(interaction_p(r))
        for r in firsts.to_dict(orient="records")
        if r["variable"] != "Overall" and pd.notna(interaction_p(r))
    ]
    assert shown_p
    for p in shown_p:
        assert p in texts, (p, texts)
    shot(page, _name(page, "forest"))

    # a click on a row's point restricts the Survival page to that row
    point = figure.locator('path[aria-label*="Subgroup: Risk group: HR;"]')
    expect(point).to_have_count(1)
    point.click(force=True)
    idle(page)
    expect(_alert(page, "The Survival page is restricted to Risk group = HR")).to_be_visible()
    _restricted(page, "Risk group = HR")


# --------------------------------------------------------------------------------------
# 2. A subgroup chosen on the Subgroups page: banner, one click to clear, populations
# --------------------------------------------------------------------------------------


def test_a_chosen_subgroup_is_named_where_it_applies(screen: Page) -> None:
    page = screen
    goto(page, "Subgroups")
    choice = (
        _main(page)
        .locator('[data-testid="stSelectbox"]')
        .filter(has_text="Show one subgroup on the Survival page")
    )
    choice.locator("input").click()
    page.keyboard.type("Risk group = IR")
    page.keyboard.press("Enter")
    expect(choice.get_by_role("combobox")).to_have_value("Risk group = IR")
    page.get_by_role("button", name="Restrict Survival page").click()
    idle(page)
    expect(_alert(page, "The Survival page is restricted to Risk group = IR")).to_be_visible()
    shot(page, _name(page, "subgroups-chosen"))
    # the pages the filter does not apply to say nothing of it, and state their sample
    goto(page, "Matching")
    expect(_alert(page, "Restricted to")).to_have_count(0)
    hr = _main(page).locator('[data-testid="stCaptionContainer"]').filter(has_text="CI")
    expect(hr.first).to_contain_text("matched sample, all patients")
    _restricted(page, "Risk group = IR")
    # unrestricted, the Survival page still states the population of its numbers
    expect(
        _main(page).locator('[data-testid="stCaptionContainer"]').filter(has_text="Population:")
    ).to_have_count(1)


# --------------------------------------------------------------------------------------
# 3. From a landmark: no survival at the month without a note saying why
# --------------------------------------------------------------------------------------

#: "... after the landmark 15 months": the landmark is 15 months after diagnosis
LANDMARK = "the landmark 15 months"
AT_MONTH = re.compile(rf"^(Blinatumomab|Chemotherapy): EFS at (\d+) months after {LANDMARK}$")


def test_landmark_survival_is_never_a_bare_na(screen: Page) -> None:
    page = screen
    goto(page, "Survival")
    _radio(page, "Time origin", "Landmark")
    shown = _metrics(page)
    arms = {k: v for k, v in shown.items() if AT_MONTH.match(k)}
    assert len(arms) == 2, shown
    # the demo's blinatumomab patients are followed to 19.6 months after the landmark
    assert arms[f"Blinatumomab: EFS at 24 months after {LANDMARK}"] == "not estimated"
    note = _alert(page, "so survival there is not estimated")
    expect(note).to_be_visible()
    expect(note).to_contain_text("No blinatumomab patient is followed to 24 months")
    nearest = page.get_by_role("button", name=re.compile(r"^Use \d+ months$"))
    expect(nearest).to_be_visible()
    for label, value in shown.items():
        assert value != "NA" or label == "Difference (blina − chemo)", (label, value)
    shot(page, _name(page, "landmark-note"))
    # one click to the latest month both arms are followed to: every number is read
    months = re.sub(r"\D", "", nearest.inner_text())
    nearest.click()
    idle(page)
    shown = _metrics(page)
    for arm in ("Blinatumomab", "Chemotherapy"):
        value = shown[f"{arm}: EFS at {months} months after {LANDMARK}"]
        assert re.fullmatch(r"\d+(\.\d)? %", value), (arm, value)
    assert shown["Difference (blina − chemo)"].endswith(" points")
    expect(_alert(page, "so survival there is not estimated")).to_have_count(0)
    _radio(page, "Time origin", "Diagnosis")


# --------------------------------------------------------------------------------------
# 7. MRD: "above" is high
# --------------------------------------------------------------------------------------


def test_mrd_groups_follow_the_chosen_side(screen: Page) -> None:
    page = screen
    goto(page, "MRD")
    assert {"MRD < 0.1%", "MRD ≥ 0.1%"} <= set(_metrics(page))
    _radio(page, "A value equal to the threshold is", "low (≤ vs >)")
    groups = {k for k in _metrics(page) if k.startswith("MRD ")}
    assert {"MRD ≤ 0.1%", "MRD > 0.1%"} <= groups, groups
    assert not groups & {"MRD < 0.1%", "MRD ≥ 0.1%"}, groups
    texts = " | ".join(_texts(_figure(page, "by MRD group and arm")))
    assert "> 0.1%" in texts and "≤ 0.1%" in texts, texts
    assert "≥ 0.1%" not in texts and "< 0.1%" not in texts, texts
    assert "(above is high)" in texts, texts
    shot(page, _name(page, "mrd-above"))
    _radio(page, "A value equal to the threshold is", "high (< vs ≥)")


# --------------------------------------------------------------------------------------
# 6. Love plot legend and variance ratio; baseline table labels
# --------------------------------------------------------------------------------------


def test_love_plot_and_baseline_table_are_labelled(
    screen: Page, reference: tuple[Future[AnalysisResult], Future[Bundle]]
) -> None:
    page = screen
    goto(page, "Data")
    grid = _main(page).locator('[data-testid="stDataFrame"]').filter(has_text="SMD (tableone)")
    shown = grid.first.locator("table").inner_text()
    res = reference[0].result()
    labels = baseline_display(res.baseline_before)["variable"].unique()
    for column, label in zip(res.baseline_before["variable"].unique(), labels, strict=True):
        assert label in shown, (column, label)
        if label != column:
            assert not re.search(rf"\b{re.escape(column)}\b", shown), column
    assert "WBC (10^9/L)" in shown and "wbc_10e9_l" not in shown
    shot(page, _name(page, "baseline"))

    goto(page, "Matching")
    love = _figure(page, "Covariate balance")
    texts = _texts(love)
    assert {"Before matching", "After matching"} <= set(texts), texts  # the legend
    point = love.locator('path[aria-label*="Variance ratio"]').first
    point.hover(force=True)
    tooltip = page.locator("#vg-tooltip-element")
    expect(tooltip).to_be_visible()
    expect(tooltip).to_contain_text("Variance ratio")
    expect(tooltip).to_contain_text("SMD")
    shot(page, _name(page, "love-tooltip"))
    page.mouse.move(0, 0)
    title = re.compile(r"Covariate balance.*: the numbers as a table")
    summary = _main(page).locator('[data-testid="stExpander"] summary').filter(has_text=title)
    expect(summary).to_have_count(1)
    summary.click()
    table = (
        _main(page)
        .locator('[data-testid="stExpander"]')
        .filter(has=page.locator("summary", has_text=title))
    )
    expect(table.locator("table")).to_contain_text(re.compile("variance", re.I))


# --------------------------------------------------------------------------------------
# 4. Teaching mode quotes the caliper sweep
# --------------------------------------------------------------------------------------


def test_teaching_quotes_the_caliper_sweep(screen: Page) -> None:
    page = screen
    page.locator('[data-testid="stSidebar"]').get_by_text("Teaching mode", exact=True).click()
    idle(page)
    goto(page, "Matching")
    told = _alert(page, "Narrowing the caliper from")
    expect(told).to_be_visible()
    text = told.inner_text()
    heading = _main(page).get_by_text("The caliper: bias against sample size")
    expect(heading).to_be_visible()
    csv_button = _main(page).get_by_role("button", name="Table (CSV)").last
    download = _download(page, csv_button)
    assert download.suggested_filename.startswith("caliper-sweep"), download.suggested_filename
    rows = list(csv.DictReader(io.StringIO(_data(download).decode("utf-8"))))
    swept = sorted(
        (r for r in rows if r["max_abs_smd"] not in ("", "nan")),
        key=lambda r: float(r["caliper"]),
    )
    assert len(swept) >= 2, rows
    narrow, wide = swept[0], swept[-1]
    a, b = float(wide["max_abs_smd"]), float(narrow["max_abs_smd"])
    for number in (
        f"from {float(wide['caliper']):g} to {float(narrow['caliper']):g} SD",
        f"matches {int(float(narrow['n_matched_treated']))} instead of "
        f"{int(float(wide['n_matched_treated']))} treated patients",
        f"({fmt_num(a)} to {fmt_num(b)})",
    ):
        assert number in text, (number, text)
    direction = "stays about the same" if abs(b - a) < 0.01 else "improves" if b < a else "worsens"
    assert f"largest |SMD| after matching {direction}" in text, (direction, text)
    # no text on the page says otherwise
    page_text = _all_text(page)
    if direction != "improves":
        assert not re.search(r"balance improves as the caliper narrows", page_text, re.I)
    shot(page, _name(page, "teaching-sweep"))
    page.locator('[data-testid="stSidebar"]').get_by_text("Teaching mode", exact=True).click()
    idle(page)


# --------------------------------------------------------------------------------------
# 5. Confidence level 0.90 from a settings file
# --------------------------------------------------------------------------------------


def test_a_90_percent_level_is_labelled_everywhere(screen: Page) -> None:
    page = screen
    settings = _settings().update(conf_level=0.9)
    upload = page.locator(
        '[data-testid="stSidebar"] [data-testid="stFileUploader"] input[type="file"]'
    )
    upload.set_input_files(
        files=file_payload("level-90.json", settings.to_json().encode(), "application/json")
    )
    idle(page)
    expect(page.get_by_text("Settings loaded from level-90.json")).to_be_visible()
    for name in ("Survival", "Subgroups"):
        goto(page, name)
        text = _all_text(page)
        assert "90% CI" in text, name
        assert "95% CI" not in text, (name, text[text.find("95% CI") - 200 :][:400])
        shot(page, _name(page, f"level-90-{name.lower()}"))
    assert "HR (90% CI)" in _texts(_figure(page, "Interaction p"))
    # the Survival page's headline intervals
    goto(page, "Survival")
    arm = _main(page).locator('[data-testid="stCaptionContainer"]').filter(has_text="Kaplan-Meier")
    expect(arm.first).to_contain_text("90% CI")
    assert metric(page, "Hazard ratio (blina vs chemo)")

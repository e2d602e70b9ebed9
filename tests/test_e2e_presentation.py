"""Presentation mode on a projector: a real ``streamlit run`` server driven by headless
Chromium at 1280 x 720 and 1440 x 900, the sidebar open.

With presentation mode switched on, each analysis page must open with its main figure
and its key numbers on the one screen, without scrolling: the figure's top and bottom
inside the viewport and its right edge (legend included) inside its column of the
main area, the key metrics inside the viewport. On every page nothing is cut: no
metric label or value ends in an ellipsis, no figure is wider than its place, the main
area does not scroll sideways. Text is large enough for the back of a room. A
screenshot of the viewport of each page goes to
``test-output/presentation-<w>x<h>-<page>.png``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from blinastudy.analysis import analyze
from blinastudy.demo import make_demo_cohort
from blinastudy.formatting import fmt_num
from blinastudy.settings import Settings
from blinastudy.ui_state import adapt_settings
from tests._server import CHROMIUM, CHROMIUM_ARGS, ROOT, require_chromium, streamlit_server

OUT = ROOT / "test-output"
VIEWPORTS = [(1280, 720), (1440, 900)]

#: Key numbers of each page: metric labels that must be on the first screen.
KEY_METRICS = {
    "Matching": [
        "Matched blinatumomab patients",
        "Largest |SMD| before matching",
        "Largest |SMD| after matching",
        "EFS hazard ratio",
    ],
    "Survival": [
        "Blinatumomab: EFS at 24 months after diagnosis",
        "Chemotherapy: EFS at 24 months after diagnosis",
        "Hazard ratio (blina vs chemo)",
    ],
    # the demo's MRD groups at the default threshold (0.1 %, end of induction)
    "MRD": ["MRD < 0.1%", "MRD ≥ 0.1%"],
    # the forest plot carries its numbers (n, events, HR with CI, interaction p)
    "Subgroups": [],
}

pytestmark = pytest.mark.browser

# Geometry of the page as the viewer sees it, read in the browser.
MEASURE = """() => {
  const box = el => { const r = el.getBoundingClientRect();
    return {left: r.left, right: r.right, top: r.top, bottom: r.bottom,
            width: r.width, height: r.height}; };
  const cut = el => el !== null && el.scrollWidth > el.clientWidth + 1;
  const main = document.querySelector('[data-testid="stMain"]');
  const block = document.querySelector('[data-testid="stMainBlockContainer"]');
  const style = getComputedStyle(block);
  const inner = box(block);
  inner.left += parseFloat(style.paddingLeft);
  inner.right -= parseFloat(style.paddingRight);
  const charts = [...main.querySelectorAll('[data-testid="stVegaLiteChart"]')].map(c => {
    const drawn = c.querySelector('canvas, svg.marks');
    const column = c.closest('[data-testid="stColumn"]');
    return {drawn: drawn ? box(drawn) : null, place: box(column || block),
            scrolls: cut(c) || cut(c.querySelector('.vega-embed'))};
  });
  const metrics = [...main.querySelectorAll('[data-testid="stMetric"]')].map(m => {
    const label = m.querySelector('[data-testid="stMetricLabel"]');
    const value = m.querySelector('[data-testid="stMetricValue"]');
    const parts = [label, value].flatMap(e => [e, ...e.querySelectorAll('div, p')]);
    return {label: label.innerText.trim(), value: value.innerText.trim(), box: box(m),
            cut: parts.some(cut),
            valueFont: parseFloat(getComputedStyle(value.querySelector('p') || value).fontSize)};
  });
  const tables = [...main.querySelectorAll('[data-testid="stTable"]')].map(t => ({
    cut: cut(t) || [...t.querySelectorAll('div')].some(cut),
    font: parseFloat(getComputedStyle(t.querySelector('td') || t).fontSize),
    text: t.innerText.slice(0, 200)}));
  const paragraph = block.querySelector('[data-testid="stMarkdownContainer"] p');
  return {
    width: window.innerWidth, height: window.innerHeight,
    top: box(document.querySelector('[data-testid="stHeader"]')).bottom,
    scrolled: main.scrollTop + document.scrollingElement.scrollTop,
    sideways: cut(main) || cut(block),
    inner, charts, metrics, tables,
    text: paragraph ? parseFloat(getComputedStyle(paragraph).fontSize) : null,
  };
}"""


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with streamlit_server(OUT / "streamlit-presentation.log") as running:
        yield running.url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require_chromium()
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module", params=VIEWPORTS, ids=[f"{w}x{h}" for w, h in VIEWPORTS])
def screen(request: pytest.FixtureRequest, browser: Browser, server: str) -> Iterator[Page]:
    """A page of the app at one viewport size, presentation mode switched on."""
    width, height = request.param
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        page.set_default_timeout(90_000)
        expect.set_options(timeout=90_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(server)
        _idle(page)
        page.get_by_text("Presentation mode").click()
        _idle(page)
        expect(page.get_by_role("switch", name="Presentation mode")).to_be_checked()
        yield page
        assert not errors, errors
    finally:
        context.close()


def _idle(page: Page) -> None:
    """Wait until the script has finished running and the page has settled."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
    page.wait_for_timeout(800)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')


def _goto(page: Page, name: str) -> None:
    nav = page.locator('[data-testid="stSidebarNav"]')
    nav.get_by_role("link", name=name, exact=True).click()
    _idle(page)


def _visit(page: Page, name: str) -> dict[str, Any]:
    """Open a page, save a screenshot of the viewport, and measure what it shows."""
    _goto(page, name)
    expect(page.locator("h1").first).to_be_visible()
    assert not page.get_by_text("error id").count()
    if name in KEY_METRICS:
        drawn = '[data-testid="stMain"] [data-testid="stVegaLiteChart"] :is(canvas, svg.marks)'
        page.locator(drawn).first.wait_for()
        page.wait_for_timeout(500)  # the figure has been laid out
    size = page.viewport_size
    assert size is not None
    page.screenshot(
        path=str(OUT / f"presentation-{size['width']}x{size['height']}-{name.lower()}.png")
    )
    geometry: dict[str, Any] = page.evaluate(MEASURE)
    return geometry


def _inside(box: dict[str, float], g: dict[str, Any]) -> bool:
    """Whether ``box`` is on the screen: under the app's header, above the bottom of the
    viewport, within the main area left and right."""
    return bool(
        box["top"] >= g["top"] - 1
        and box["bottom"] <= g["height"] + 1
        and box["left"] >= g["inner"]["left"] - 1
        and box["right"] <= min(g["inner"]["right"], g["width"]) + 1
    )


def _nothing_cut(g: dict[str, Any]) -> None:
    assert g["scrolled"] == 0, "the page was scrolled"
    assert not g["sideways"], "the main area scrolls sideways"
    for m in g["metrics"]:
        assert not m["cut"], f"metric {m['label']!r} ({m['value']!r}) is cut"
        assert m["valueFont"] >= 36, (m["label"], m["valueFont"])
    for c in g["charts"]:
        assert c["drawn"] is not None, "a figure was not drawn"
        assert not c["scrolls"], "a figure scrolls inside its place"
        assert c["drawn"]["right"] <= c["place"]["right"] + 1, (c["drawn"], c["place"])
        assert c["drawn"]["right"] <= g["inner"]["right"] + 1, (c["drawn"], g["inner"])
    for t in g["tables"]:
        assert not t["cut"], f"table cut: {t['text']!r}"
        assert t["font"] >= 19, (t["font"], t["text"])
    assert g["text"] is not None and g["text"] >= 20, g["text"]


def _first_screen(g: dict[str, Any], page_name: str) -> None:
    """The main figure and the key numbers are on the first screen."""
    assert g["charts"], f"{page_name}: no figure"
    main = g["charts"][0]["drawn"]
    assert _inside(main, g), f"{page_name}: main figure {main} not on the screen {g}"
    # large, not shrunk to fit: most of the height under the header
    assert main["height"] >= 0.55 * (g["height"] - g["top"]), (page_name, main)
    shown = {m["label"]: m for m in g["metrics"]}
    for label in KEY_METRICS[page_name]:
        assert label in shown, f"{page_name}: no metric {label!r}; have {list(shown)}"
        metric = shown[label]
        assert _inside(metric["box"], g), f"{page_name}: {label!r} not on the screen"
        # beside the figure, not over it
        assert metric["box"]["left"] >= main["right"] or metric["box"]["top"] >= main["bottom"]


@pytest.fixture(scope="module")
def matching_summary() -> dict[str, Any]:
    cohort = make_demo_cohort()
    res = analyze(cohort, adapt_settings(Settings(), cohort), sweep=False, replicates=0)
    return dict(res.matching_summary)


def test_data_page_nothing_cut(screen: Page) -> None:
    _nothing_cut(_visit(screen, "Data"))


def test_matching_love_plot_and_balance_on_one_screen(
    screen: Page, matching_summary: dict[str, Any]
) -> None:
    g = _visit(screen, "Matching")
    _nothing_cut(g)
    _first_screen(g, "Matching")
    shown = {m["label"]: m["value"] for m in g["metrics"]}
    # both balance numbers whole: the value after matching is not hidden
    assert shown["Largest |SMD| before matching"] == fmt_num(
        matching_summary["max_abs_smd_before"]
    )
    assert shown["Largest |SMD| after matching"] == fmt_num(matching_summary["max_abs_smd_after"])
    n = matching_summary
    assert shown["Matched blinatumomab patients"] == f"{n['n_matched_treated']} of {n['n_treated']}"


def test_survival_curves_and_estimates_on_one_screen(screen: Page) -> None:
    g = _visit(screen, "Survival")
    _nothing_cut(g)
    _first_screen(g, "Survival")


def test_mrd_curves_and_groups_on_one_screen(screen: Page) -> None:
    g = _visit(screen, "MRD")
    _nothing_cut(g)
    _first_screen(g, "MRD")
    groups = [m for m in g["metrics"] if m["label"] in KEY_METRICS["MRD"]]
    assert all(m["value"].endswith("patients") for m in groups), groups


def test_subgroups_forest_on_one_screen_and_its_table_large(screen: Page) -> None:
    g = _visit(screen, "Subgroups")
    _nothing_cut(g)
    _first_screen(g, "Subgroups")
    # the numbers under the plot in large type (a plain table, not the small grid)
    forest = [t for t in g["tables"] if "interaction p" in t["text"]]
    assert forest, [t["text"] for t in g["tables"]]


def test_export_page_nothing_cut(screen: Page) -> None:
    _nothing_cut(_visit(screen, "Export"))

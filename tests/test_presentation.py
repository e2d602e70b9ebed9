"""Presentation mode on a projector: a real ``streamlit run`` server (one for the module)
driven by headless Chromium at 1280 x 720 and 1440 x 900, the sidebar open.

With presentation mode switched on, every page of the app's navigation must open with
its main figure and its key numbers on the one screen: the figure's top above the fold
and the whole figure (legend included) inside the viewport and inside its column, the
key metrics inside the viewport. Nothing is cut: no metric value or label is wider than
its box (``scrollWidth <= clientWidth``), no figure or table is wider than its place,
the document does not scroll sideways; every text in a figure is 16 px or more; the main
figure has its text alternatives (a description and its numbers as a table). The
Presentation and Teaching switches show the one state on every page, and one click (or
the space bar) changes it everywhere. A screenshot of the
viewport of each page goes to ``test-output/presentation-<w>x<h>-<page>.png``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from blinastudy.analysis import analyze
from blinastudy.analysis.settings import Settings
from blinastudy.core.formatting import fmt_num
from blinastudy.data.demo import make_demo_cohort
from pages.common.ui_state import adapt_settings
from tests._browser import goto, idle, open_app
from tests._server import CHROMIUM, CHROMIUM_ARGS, ROOT, require_chromium, streamlit_server

OUT = ROOT / "test-output"
VIEWPORTS = [(1280, 720), (1440, 900)]

#: The pages of the app's navigation, in its order (read from app.py).
PAGES = re.findall(r'st\.Page\("pages/\w+\.py", title="([^"]+)"', (ROOT / "app.py").read_text())

#: Key numbers of each page: metric labels that must be whole on the first screen.
KEY_METRICS: dict[str, list[str]] = {
    "Data": ["Blinatumomab", "Chemotherapy"],
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
    "Export": [],
}
#: Pages whose first screen is a figure.
FIGURE_PAGES = {"Matching", "Survival", "MRD", "Subgroups"}

pytestmark = pytest.mark.browser

# Geometry of the page as the viewer sees it, read in the browser.
MEASURE = """() => {
  const box = el => { const r = el.getBoundingClientRect();
    return {left: r.left, right: r.right, top: r.top, bottom: r.bottom,
            width: r.width, height: r.height}; };
  const cut = el => el !== null && el.scrollWidth > el.clientWidth;
  const doc = document.scrollingElement;
  const main = document.querySelector('[data-testid="stMain"]');
  const block = document.querySelector('[data-testid="stMainBlockContainer"]');
  const charts = [...main.querySelectorAll('[data-testid="stVegaLiteChart"]')].map(c => {
    const drawn = c.querySelector('canvas, svg.marks');
    const column = c.closest('[data-testid="stColumn"]');
    // text as drawn on the screen: its font size times the scale of the figure
    const scale = drawn ? drawn.getBoundingClientRect().width / drawn.clientWidth : 1;
    const text = drawn ? [...drawn.querySelectorAll('text')].map(
      t => parseFloat(getComputedStyle(t).fontSize) * scale) : [];
    return {drawn: drawn ? box(drawn) : null, place: box(column || block),
            scrolls: cut(c) || cut(c.querySelector('.vega-embed')),
            smallestText: text.length ? Math.min(...text) : null,
            description: [c, ...c.querySelectorAll('div')].map(
              e => e.getAttribute('aria-label')).find(Boolean) || null};
  });
  const expanders = [...main.querySelectorAll('[data-testid="stExpander"] summary')].map(
    e => e.innerText);
  const metrics = [...main.querySelectorAll('[data-testid="stMetric"]')].map(m => {
    const label = m.querySelector('[data-testid="stMetricLabel"]');
    const value = m.querySelector('[data-testid="stMetricValue"]');
    const parts = el => [el, ...el.querySelectorAll('*')];
    return {label: label.innerText.trim(), value: value.innerText.trim(), box: box(m),
            valueCut: parts(value).some(cut), labelCut: parts(label).some(cut),
            valueFont: parseFloat(getComputedStyle(value).fontSize)};
  });
  // tables on the page (not those in a closed expander)
  const shown = el => el.getClientRects().length > 0 && el.innerText.trim() !== '';
  const tables = [...main.querySelectorAll('[data-testid="stTable"]')].filter(shown).map(t => ({
    cut: [t, ...t.querySelectorAll('div, table')].some(cut),
    text: t.innerText.slice(0, 120)}));
  return {
    width: window.innerWidth, height: window.innerHeight,
    top: box(document.querySelector('[data-testid="stHeader"]')).bottom,
    main: box(main),
    scrolled: main.scrollTop + doc.scrollTop,
    sideways: doc.scrollWidth > doc.clientWidth || cut(main) || cut(block),
    charts, metrics, tables, expanders,
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


def _open(browser: Browser, server: str, width: int, height: int) -> tuple[Page, list[str]]:
    """A new session of the app at one viewport size, and the list its errors go to."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(90_000)
    expect.set_options(timeout=90_000)
    return page, open_app(page, server)


@pytest.fixture(scope="module", params=VIEWPORTS, ids=[f"{w}x{h}" for w, h in VIEWPORTS])
def screen(request: pytest.FixtureRequest, browser: Browser, server: str) -> Iterator[Page]:
    """A session of the app at one viewport size, presentation mode switched on."""
    page, errors = _open(browser, server, *request.param)
    try:
        page.get_by_text("Presentation mode").click()
        idle(page)
        expect(page.get_by_role("switch", name="Presentation mode")).to_be_checked()
        yield page
        assert not errors, errors
    finally:
        page.context.close()


def _visit(page: Page, name: str) -> dict[str, Any]:
    """Open a page, save a screenshot of the viewport, and measure what it shows."""
    goto(page, name)
    expect(page.locator("h1").first).to_be_visible()
    assert not page.get_by_text("error id").count()
    if name in FIGURE_PAGES:
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


def _on_screen(box: dict[str, float], g: dict[str, Any]) -> bool:
    """Whether ``box`` is whole on the first screen: under the app's header, above the
    fold, inside the main area left and right."""
    return bool(
        box["top"] >= g["top"] - 1
        and box["bottom"] <= g["height"] + 1
        and box["left"] >= g["main"]["left"] - 1
        and box["right"] <= min(g["main"]["right"], g["width"]) + 1
    )


def _nothing_cut(g: dict[str, Any]) -> None:
    assert g["scrolled"] == 0, "the page was scrolled"
    assert not g["sideways"], "the document scrolls sideways"
    for m in g["metrics"]:
        assert not m["valueCut"], f"metric value {m['value']!r} ({m['label']!r}) is cut"
        assert not m["labelCut"], f"metric label {m['label']!r} is cut"
        assert m["valueFont"] >= 36, (m["label"], m["valueFont"])
    for c in g["charts"]:
        assert c["drawn"] is not None, "a figure was not drawn"
        assert not c["scrolls"], "a figure scrolls inside its place"
        assert c["drawn"]["right"] <= c["place"]["right"] + 1, (c["drawn"], c["place"])
        assert c["drawn"]["right"] <= g["width"], (c["drawn"], g["width"])
        assert c["smallestText"] is not None and c["smallestText"] >= 16, c
    for t in g["tables"]:
        assert not t["cut"], f"table wider than its place: {t['text']!r}"


def _first_screen(g: dict[str, Any], name: str) -> None:
    """The main figure and the key numbers are whole on the first screen."""
    if name in FIGURE_PAGES:
        assert g["charts"], f"{name}: no figure"
        fig = g["charts"][0]["drawn"]
        assert fig["top"] < g["height"], f"{name}: the figure starts below the fold"
        assert _on_screen(fig, g), f"{name}: main figure {fig} not whole on the screen"
        # large, not shrunk to fit: most of the height under the header
        assert fig["height"] >= 0.55 * (g["height"] - g["top"]), (name, fig)
        # its text alternatives: a description, and the numbers as a table
        description = g["charts"][0]["description"]
        assert description and "SYNTHETIC DEMO DATA" in description, (name, description)
        title = description.split(". ")[0]
        wanted = f"{title}: the numbers as a table"
        assert any(e.endswith(wanted) for e in g["expanders"]), (wanted, g["expanders"])
    shown = {m["label"]: m for m in g["metrics"]}
    for label in KEY_METRICS[name]:
        assert label in shown, f"{name}: no metric {label!r}; have {list(shown)}"
        box = shown[label]["box"]
        assert _on_screen(box, g), f"{name}: {label!r} not whole on the screen"
        if name in FIGURE_PAGES:  # beside the figure or under it, not over it
            fig = g["charts"][0]["drawn"]
            assert box["left"] >= fig["right"] or box["top"] >= fig["bottom"], (label, box)


def test_the_navigation_is_known() -> None:
    assert PAGES and set(PAGES) == set(KEY_METRICS), PAGES


@pytest.fixture(scope="module")
def matching_summary() -> dict[str, Any]:
    cohort = make_demo_cohort()
    res = analyze(cohort, adapt_settings(Settings(), cohort), sweep=False, replicates=0)
    return dict(res.matching_summary)


@pytest.mark.parametrize("name", PAGES)
def test_main_figure_and_key_numbers_on_one_screen(
    screen: Page, name: str, matching_summary: dict[str, Any]
) -> None:
    g = _visit(screen, name)
    _nothing_cut(g)
    _first_screen(g, name)
    if name == "Matching":
        _balance_numbers_whole(g, matching_summary)


def _balance_numbers_whole(g: dict[str, Any], s: dict[str, Any]) -> None:
    """'1.29 -> ...' no more: the largest |SMD| after matching is its own number."""
    shown = {m["label"]: m["value"] for m in g["metrics"]}
    assert shown["Largest |SMD| before matching"] == fmt_num(s["max_abs_smd_before"])
    assert shown["Largest |SMD| after matching"] == fmt_num(s["max_abs_smd_after"])
    assert shown["Matched blinatumomab patients"] == (
        f"{s['n_matched_treated']} of {s['n_treated']}"
    )


def _switch_state(page: Page, label: str) -> bool:
    return page.get_by_role("switch", name=label).is_checked()


def _large_text(page: Page) -> bool:
    """Whether the page is drawn in presentation mode (its large text), whatever the
    switch shows."""
    size = page.evaluate(
        """() => parseFloat(getComputedStyle(document.querySelector(
             '[data-testid="stMainBlockContainer"] [data-testid="stMarkdownContainer"] p'
           )).fontSize)"""
    )
    return bool(size >= 20)


def test_switches_show_one_state_on_every_page(browser: Browser, server: str) -> None:
    """Presentation and Teaching switches: one click on any page changes the state, and
    every page shows the state it is drawn in."""
    page, errors = _open(browser, server, 1280, 720)
    try:
        state = {"Presentation mode": False, "Teaching mode": False}
        # on on the first page; then, on the last page, reached with the state on,
        # teaching on and presentation off: each by one click
        steps = [
            (PAGES[0], {"Presentation mode": True}),
            (PAGES[-1], {"Teaching mode": True, "Presentation mode": False}),
        ]
        for where, changes in steps:
            goto(page, where)
            for label, after in changes.items():
                assert _switch_state(page, label) is not after, (label, where)
                page.get_by_text(label, exact=True).click()  # one click
                idle(page)
                state[label] = after
            for name in PAGES:
                goto(page, name)
                for switch, on in state.items():
                    assert _switch_state(page, switch) is on, (switch, name, state)
                assert _large_text(page) is state["Presentation mode"], (name, state)
        # and from the keyboard: the focused switch turns with the space bar
        page.get_by_role("switch", name="Teaching mode").focus()
        page.keyboard.press("Space")
        idle(page)
        goto(page, PAGES[0])
        assert not _switch_state(page, "Teaching mode")
        assert not errors, errors
    finally:
        page.context.close()

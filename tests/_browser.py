"""Driving the app in headless Chromium (Playwright): open a page, wait, upload, read."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from playwright.async_api import Page as AsyncPage
from playwright.sync_api import FilePayload, Locator, Page, expect, sync_playwright

from tests._server import CHROMIUM, CHROMIUM_ARGS, ROOT, require_chromium

#: Screenshots and server logs of the browser tests.
OUT = ROOT / "test-output"
#: The app's root element once its script has finished running.
READY = '[data-testid="stApp"][data-test-script-state="notRunning"]'
#: How long a page settles between two checks that the script is idle.
SETTLE_MS = 800
#: The file uploaders of the page (not the sidebar's settings upload).
MAIN_UPLOADER = '[data-testid="stMain"] [data-testid="stFileUploader"]'


@contextlib.contextmanager
def chromium_page(
    height: int = 2600, timeout_ms: int = 90_000, width: int = 1500
) -> Iterator[Page]:
    """A fresh page (1500 pixels wide unless told) in Debian's headless Chromium, closed
    afterwards."""
    require_chromium()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": width, "height": height})
            page = context.new_page()
            page.set_default_timeout(timeout_ms)
            expect.set_options(timeout=timeout_ms)
            yield page
        finally:
            browser.close()


def idle(page: Page) -> None:
    """Wait until the script has finished running and the page has settled."""
    page.wait_for_selector(READY)
    page.wait_for_timeout(SETTLE_MS)
    page.wait_for_selector(READY)


def open_app(page: Page, url: str) -> list[str]:
    """Open the app at ``url`` and wait until it is idle.

    Returns the list that the page's uncaught JavaScript errors go to from now on.
    """
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url)
    idle(page)
    return errors


async def idle_async(page: AsyncPage, settle_ms: int = SETTLE_MS) -> None:
    """:func:`idle` for an asynchronous Playwright page."""
    await page.wait_for_selector(READY)
    await page.wait_for_timeout(settle_ms)
    await page.wait_for_selector(READY)


def file_payload(name: str, data: bytes, mime: str = "text/csv") -> list[FilePayload]:
    """One in-memory file for ``set_input_files``."""
    return [{"name": name, "mimeType": mime, "buffer": data}]


def uploader(page: Page, label: str = "") -> Locator:
    """The file input of the first main-page uploader whose text contains ``label``."""
    box = page.locator(MAIN_UPLOADER)
    if label:
        box = box.filter(has_text=label)
    return box.locator('input[type="file"]').first


def metric_box(page: Page, label: str) -> Locator:
    """The value element of the first metric whose text contains ``label``."""
    box = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return box.locator('[data-testid="stMetricValue"]')


def metric(page: Page, label: str) -> str:
    """The text of the first metric whose label contains ``label``."""
    return str(metric_box(page, label).inner_text()).strip()


def goto(page: Page, name: str) -> None:
    """Open the page ``name`` from the sidebar navigation and wait until it is idle."""
    nav = page.locator('[data-testid="stSidebarNav"]')
    nav.get_by_role("link", name=name, exact=True).click()
    idle(page)


def shot(page: Page, name: str) -> None:
    """A full-page screenshot ``test-output/<name>.png``."""
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)

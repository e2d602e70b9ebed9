"""In Chromium: a cohort whose file name, a column name and a subgroup level hold a
Markdown image and a link makes no request leave the app's origin and no link to it.

A local HTTP listener stands in for the outside host and counts every request it gets;
the page is driven through the upload, the cohort's use, a settings file that restricts
the Survival page to the hostile level, and every page.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from blinastudy.settings import Settings
from tests._apptest import csv_bytes
from tests._browser import MAIN_UPLOADER, OUT, chromium_page, file_payload, idle
from tests._demo_result import demo_subset
from tests._server import counting_listener, streamlit_server

PAGES = ["Data", "Matching", "Survival", "MRD", "Subgroups", "Export"]

pytestmark = pytest.mark.browser


@pytest.fixture
def listener() -> Iterator[tuple[str, list[str]]]:
    with counting_listener(204, ("GET", "POST", "HEAD")) as (port, hits):
        # another host than the app's 127.0.0.1: the browser treats it as a foreign origin
        yield f"localhost:{port}", hits


def _foreign_links(page: Page, host: str) -> list[str]:
    hrefs: list[str] = page.eval_on_selector_all(
        "a[href], img[src], link[href], iframe[src]",
        "els => els.map(e => e.href || e.src)",
    )
    return [h for h in hrefs if host in h]


def test_hostile_markdown_makes_no_request_and_no_link(
    listener: tuple[str, list[str]], tmp_path: Path
) -> None:
    host, hits = listener
    image = f"![x](http://{host}/leak)"
    link = f"[click](http://{host}/click) <http://{host}/auto> http://{host}/bare"
    column = f"site {image} {link}"
    levels = (f"A {image}", f"B {link}")
    cohort = demo_subset(40, 300)[
        ["patient_id", "arm", "efs_months", "efs_event", "os_months", "os_event", "sex"]
    ]
    cohort = cohort.assign(**{column: [levels[i % 2] for i in range(len(cohort))]})
    settings = Settings().update(subgroups=(column,), subgroup_filter=(column, levels[1]))
    with (
        streamlit_server(OUT / "streamlit-e2e-markdown.log") as server,
        chromium_page(height=2400, timeout_ms=90_000, width=1400) as page,
    ):
        page.goto(server.url)
        idle(page)
        uploader = page.locator(f'{MAIN_UPLOADER} input[type="file"]').first
        uploader.set_input_files(files=file_payload(f"cohort {image}.csv", csv_bytes(cohort)))
        page.get_by_text("patients pass every check").wait_for()
        idle(page)
        assert (hits, _foreign_links(page, host)) == ([], [])
        main = page.locator('[data-testid="stMain"]').inner_text().replace("\u2060", "")
        assert f"Columns of cohort {image}.csv" in main  # the file name, as typed
        page.get_by_role("button", name="Use this cohort").click()
        idle(page)
        page.locator('[data-testid="stSidebar"] input[type="file"]').set_input_files(
            files=file_payload(
                f"settings {link}.json", settings.to_json().encode(), "application/json"
            )
        )
        idle(page)
        seen = []
        for name in PAGES:
            page.locator('[data-testid="stSidebarNav"]').get_by_role(
                "link", name=name, exact=True
            ).click()
            idle(page)
            seen.append(page.locator('[data-testid="stMain"]').inner_text())
            assert not _foreign_links(page, host), (name, _foreign_links(page, host))
        page.screenshot(path=str(OUT / "markdown-safety-subgroups.png"), full_page=True)
    shown = "\n".join(seen).replace("\u2060", "")
    assert f"Restricted to {column} = {levels[1]}" in shown  # the level, as typed
    assert hits == []

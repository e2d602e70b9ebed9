"""Patient data never leaves the session: not to a disk, a log, or another host.

A real server runs with its own empty HOME and TMPDIR; a browser uploads a cohort
whose patient ids and an extra column carry a unique marker, visits every page and
downloads files. Afterwards the marker must not appear in any file the server could
have written (the project tree, its HOME and TMPDIR) nor in its log, and the browser
must only have talked to localhost. Uploaded file names are never used as paths.
"""

from __future__ import annotations

import ast
import os
import re
import time
import tomllib
import uuid
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd
import pytest
from playwright.sync_api import Page, expect, sync_playwright
from streamlit.testing.v1 import AppTest

from blinastudy.data.demo import make_demo_cohort
from tests._server import CHROMIUM, CHROMIUM_ARGS, ROOT, require_chromium, streamlit_server

TIMEOUT_MS = 120_000
SKIP_DIRS = {".git", ".venv", "node_modules"}
PAGES = ["Data", "Matching", "Survival", "MRD", "Subgroups"]


def _marked_cohort(marker: str) -> bytes:
    demo = make_demo_cohort()
    part = pd.concat(
        [
            demo[demo["arm"] == "blinatumomab"].head(30),
            demo[demo["arm"] == "chemotherapy"].head(150),
        ],
        ignore_index=True,
    )
    part["patient_id"] = [f"{marker}-{k:04d}" for k in range(len(part))]
    part["ward_note"] = f"{marker}-NOTE"
    return part.to_csv(index=False).encode()


def _files_with(marker: str, roots: list[Path], since: float) -> list[str]:
    """Files under ``roots`` changed since ``since`` whose bytes hold ``marker``."""
    needle = marker.encode()
    found = []
    for root in roots:
        # os.walk skips what it cannot list (onerror) instead of raising mid-walk
        for folder, dirs, files in os.walk(root, onerror=lambda _exc: None):
            dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
            for name in files:
                path = Path(folder) / name
                try:
                    if not path.is_file() or path.stat().st_mtime < since:
                        continue
                    if needle in path.read_bytes():
                        found.append(str(path))
                except OSError:
                    continue
    return found


# --------------------------------------------------------------------------------------
# Without a browser
# --------------------------------------------------------------------------------------


def test_the_app_never_touches_the_file_system() -> None:
    """No page opens, writes or builds a path: uploads stay in memory."""
    banned = re.compile(
        r"\bopen\(|\bPath\(|\bos\.|\bshutil\b|\btempfile\b|\.to_(csv|excel|parquet)\(\s*['\"\w/]"
    )
    for path in [ROOT / "app.py", *sorted((ROOT / "pages").rglob("*.py"))]:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                text = ast.unparse(node.func)
                assert not banned.search(text + "("), f"{path.name}: {text}"
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + [getattr(node, "module", "") or ""]
                assert not {"os", "shutil", "tempfile", "pathlib"} & set(names), path.name


def test_usage_statistics_are_off() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["browser"]["gatherUsageStats"] is False
    assert config["client"]["showErrorDetails"] == "none"
    assert config["server"]["fileWatcherType"] == "none"


@pytest.mark.parametrize("name", ["../../etc/passwd.csv", "C:\\evil\\x.csv"])
def test_uploaded_file_names_are_never_used_as_paths(name: str) -> None:
    marker = f"LEAKCHECK-{uuid.uuid4().hex}"
    since = time.time() - 1
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    at.file_uploader(key="upload.treated").set_value(
        (name, _marked_cohort(marker), "text/csv")
    ).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("180 patients pass every check" in str(s.value) for s in at.success)
    at.button(key="use_cohort").click().run()
    assert not at.exception
    assert len(at.session_state["blinastudy.store"].cohort) == 180
    assert not _files_with(marker, [ROOT, Path("/etc"), Path("/tmp")], since)


# --------------------------------------------------------------------------------------
# A real server and browser
# --------------------------------------------------------------------------------------


def _idle(page: Page) -> None:
    ready = '[data-testid="stApp"][data-test-script-state="notRunning"]'
    page.wait_for_selector(ready)
    page.wait_for_timeout(600)
    page.wait_for_selector(ready)


@pytest.mark.browser
def test_patient_values_reach_no_disk_log_or_other_host(tmp_path: Path) -> None:
    require_chromium()
    marker = f"LEAKCHECK-{uuid.uuid4().hex}"
    home, tmp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    tmp.mkdir()
    log = tmp_path / "server.log"
    since = time.time() - 1
    hosts: set[str] = set()
    downloads: list[bytes] = []
    page_errors: list[str] = []
    texts: list[str] = []
    env = {"HOME": str(home), "TMPDIR": str(tmp), "TMP": str(tmp), "TEMP": str(tmp)}
    with streamlit_server(log, env) as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1500, "height": 2400})
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            expect.set_options(timeout=TIMEOUT_MS)
            page.on("request", lambda req: hosts.add(urlparse(req.url).hostname or req.url))
            page.on("pageerror", lambda exc: page_errors.append(str(exc)))
            page.goto(server.url)
            _idle(page)
            page.locator(
                '[data-testid="stMain"] [data-testid="stFileUploader"] input[type="file"]'
            ).first.set_input_files(
                files=[
                    {"name": "leak.csv", "mimeType": "text/csv", "buffer": _marked_cohort(marker)}
                ]
            )
            expect(page.get_by_text("180 patients pass every check")).to_be_visible()
            _idle(page)
            page.get_by_role("button", name="Use this cohort").click()
            _idle(page)
            expect(page.get_by_text("Cohort: leak.csv")).to_be_visible()
            with page.expect_download() as table:
                page.get_by_role("button", name="Table (CSV)").first.click()
            downloads.append(Path(table.value.path()).read_bytes())
            nav = page.locator('[data-testid="stSidebarNav"]')
            for name in PAGES[1:]:
                nav.get_by_role("link", name=name, exact=True).click()
                _idle(page)
                expect(page.locator("h1").first).to_be_visible()
                texts.append(page.locator("body").inner_text())
                if name == "Survival":
                    with page.expect_download() as chart:
                        page.get_by_role("button", name="SVG").first.click()
                    downloads.append(Path(chart.value.path()).read_bytes())
        finally:
            browser.close()
    # The server has stopped: everything it wrote is on disk now.
    assert downloads and all(downloads)
    assert not page_errors, page_errors
    for text in texts:
        assert "error id" not in text and "Traceback" not in text
    assert hosts <= {"127.0.0.1", "localhost"}, hosts
    leaked = _files_with(marker, [ROOT, home, tmp], since)
    assert not leaked, leaked
    server_log = log.read_text(errors="replace")
    assert marker not in server_log
    assert "Traceback" not in server_log

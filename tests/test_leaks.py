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

import pytest
from playwright.sync_api import expect

from tests._apptest import STORE, csv_bytes, start, upload
from tests._browser import chromium_page, file_payload, goto, idle, open_app, uploader
from tests._demo_result import demo_subset
from tests._server import ROOT, streamlit_server

TIMEOUT_MS = 120_000
SKIP_DIRS = {".git", ".venv", "node_modules"}
PAGES = ["Data", "Matching", "Survival", "MRD", "Subgroups"]


def _marked_cohort(marker: str) -> bytes:
    part = demo_subset(30, 150, marker)
    part["ward_note"] = f"{marker}-NOTE"
    return csv_bytes(part)


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
                assert not {"shutil", "tempfile", "pathlib"} & set(names), path.name
                assert not (isinstance(node, ast.ImportFrom) and node.module == "os"), path.name
            # ``os`` only for reading the environment (the timing switch), never files
            if isinstance(node, ast.Attribute) and ast.unparse(node.value) == "os":
                assert node.attr == "environ", f"{path.name}: os.{node.attr}"


def test_usage_statistics_are_off() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["browser"]["gatherUsageStats"] is False
    assert config["client"]["showErrorDetails"] == "none"
    assert config["server"]["fileWatcherType"] == "none"


@pytest.mark.browser  # a full app session per name: slow
@pytest.mark.parametrize("name", ["../../etc/passwd.csv", "C:\\evil\\x.csv"])
def test_uploaded_file_names_are_never_used_as_paths(name: str) -> None:
    marker = f"LEAKCHECK-{uuid.uuid4().hex}"
    since = time.time() - 1
    at = upload(start(), "upload.treated", name, _marked_cohort(marker))
    assert not at.exception, [e.value for e in at.exception]
    assert any("180 patients pass every check" in str(s.value) for s in at.success)
    at.button(key="use_cohort").click().run()
    assert not at.exception
    assert len(at.session_state[STORE].cohort) == 180
    assert not _files_with(marker, [ROOT, Path("/etc"), Path("/tmp")], since)


# --------------------------------------------------------------------------------------
# A real server and browser
# --------------------------------------------------------------------------------------


@pytest.mark.browser
def test_patient_values_reach_no_disk_log_or_other_host(tmp_path: Path) -> None:
    marker = f"LEAKCHECK-{uuid.uuid4().hex}"
    home, tmp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    tmp.mkdir()
    log = tmp_path / "server.log"
    since = time.time() - 1
    hosts: set[str] = set()
    downloads: list[bytes] = []
    texts: list[str] = []
    env = {"HOME": str(home), "TMPDIR": str(tmp), "TMP": str(tmp), "TEMP": str(tmp)}
    with (
        streamlit_server(log, env) as server,
        chromium_page(height=2400, timeout_ms=TIMEOUT_MS) as page,
    ):
        page.on("request", lambda req: hosts.add(urlparse(req.url).hostname or req.url))
        page_errors = open_app(page, server.url)
        uploader(page).set_input_files(files=file_payload("leak.csv", _marked_cohort(marker)))
        expect(page.get_by_text("180 patients pass every check")).to_be_visible()
        idle(page)
        page.get_by_role("button", name="Use this cohort").click()
        idle(page)
        expect(page.get_by_text("Cohort: leak.csv")).to_be_visible()
        with page.expect_download() as table:
            page.get_by_role("button", name="Table (CSV)").first.click()
        downloads.append(Path(table.value.path()).read_bytes())
        for name in PAGES[1:]:
            goto(page, name)
            expect(page.locator("h1").first).to_be_visible()
            texts.append(page.locator("body").inner_text())
            if name == "Survival":
                with page.expect_download() as chart:
                    page.get_by_role("button", name="SVG").first.click()
                downloads.append(Path(chart.value.path()).read_bytes())
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

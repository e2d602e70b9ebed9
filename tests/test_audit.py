"""The audit log (one JSON line per event, never a patient value) and the button that
forgets the session's data at once.

The app is driven headless with a cohort holding a unique marker in a cell and a
unique patient_id: the records of the upload, the analysis, a CSV download and an
export download hold the expected fields, and neither marker, nor the file name,
appears in any of them.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from streamlit.elements.widgets import button as button_module
from streamlit.runtime.caching.cache_data_api import _data_caches
from streamlit.testing.v1 import AppTest

from blinastudy.core.errors import InputError
from blinastudy.data.cohort import content_hash
from pages.common.audit import AUDIT_LOGGER, audit_line, configure_audit_log, settings_hash
from pages.common.ui_state import analysis_key
from tests._apptest import (
    APP,
    ROOT,
    STORE,
    TIMEOUT,
    LogLines,
    assert_clean,
    csv_bytes,
    logged_lines,
)
from tests._demo_result import demo_subset

MARKER = "ZQX-unique-cell-marker-4711"
PATIENT = "PID-unique-8642"
FILE = "cohort-secret-name.csv"
WHEN = dt.datetime(2026, 5, 6, 7, 8, 9, tzinfo=dt.UTC)


# --------------------------------------------------------------------------------------
# The line
# --------------------------------------------------------------------------------------


def test_audit_line_fields() -> None:
    line = audit_line("upload", "dr.who@example.org", WHEN, cohort_hash="ab" * 32, rows=340)
    assert json.loads(line) == {
        "time": "2026-05-06T07:08:09Z",
        "user": "dr.who@example.org",
        "action": "upload",
        "cohort_hash": "ab" * 32,
        "rows": 340,
    }
    assert "\n" not in line


@pytest.mark.parametrize(
    "fields",
    [
        {"value": MARKER + " text"},  # a space: free text, not a name
        {"cohort_hash": "not hex"},
        {"rows": -1},
        {"rows": 1.5},
        {"kind": "x" * 81},
        {"kind": "a/b"},
    ],
)
def test_audit_line_refuses_what_could_hold_data(fields: dict[str, Any]) -> None:
    with pytest.raises(InputError):
        audit_line("upload", "anonymous", WHEN, **fields)


def test_audit_line_refuses_bad_users_and_naive_times() -> None:
    with pytest.raises(InputError):
        audit_line("upload", "a\nb", WHEN)
    with pytest.raises(InputError):
        audit_line("upload", "anonymous", dt.datetime(2026, 1, 1))


def test_default_handler_writes_to_stderr_once() -> None:
    logger = configure_audit_log()
    assert logger is configure_audit_log()
    assert logger.name == AUDIT_LOGGER and logger.level == logging.INFO
    assert [type(h) for h in logger.handlers].count(logging.StreamHandler) == 1
    assert not logger.propagate
    # in a fresh process: the line goes to standard error, nothing to standard output
    code = (
        "from pages.common.audit import audit, configure_audit_log; configure_audit_log(); "
        "configure_audit_log(); audit('forget', 'anonymous')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert json.loads(line)["action"] == "forget"


# --------------------------------------------------------------------------------------
# The app
# --------------------------------------------------------------------------------------


@pytest.fixture
def records() -> Iterator[LogLines]:
    with logged_lines(logging.getLogger(AUDIT_LOGGER)) as handler:
        yield handler


def marked_cohort() -> pd.DataFrame:
    cohort = demo_subset(40, 300)
    cohort["patient_id"] = cohort["patient_id"].astype(str)
    cohort.loc[cohort.index[0], "patient_id"] = PATIENT
    cohort["note"] = ["fine"] * len(cohort)
    cohort.loc[cohort.index[1], "note"] = MARKER
    return cohort


class _Deferred:
    """Stands in for the server's media file manager: keeps the callables that download
    buttons register, so that a test can run one as a click in the browser would."""

    def __init__(self) -> None:
        self.made: dict[str, Any] = {}
        self.media_file_mgr = self

    def exists(self) -> bool:
        return True

    def get_instance(self) -> _Deferred:
        return self

    def add_deferred(self, data: Any, *args: Any, **kwargs: Any) -> str:
        file_id = f"deferred-{len(self.made)}"
        self.made[file_id] = data
        return file_id

    def remove_deferred(self, *args: Any, **kwargs: Any) -> None:
        return


@pytest.fixture
def deferred(monkeypatch: pytest.MonkeyPatch) -> _Deferred:
    fake = _Deferred()
    monkeypatch.setattr(button_module, "runtime", fake)
    return fake


def download(at: AppTest, deferred: _Deferred, key: str) -> bytes | str:
    """Click a download button whose data is made on click (what the browser does)."""
    button = next(e for e in _elements(at) if getattr(e.proto, "id", "").endswith(key))
    file_id = button.proto.deferred_file_id
    assert file_id, f"{key} is not made on click"
    data: bytes | str = deferred.made[file_id]()
    return data


def _elements(at: AppTest) -> Iterator[Any]:
    def walk(node: Any) -> Iterator[Any]:
        if hasattr(node, "proto") and not hasattr(node, "children"):
            yield node
        for child in getattr(node, "children", {}).values():
            yield from walk(child)

    yield from walk(at._tree)


def events(handler: LogLines) -> list[dict[str, Any]]:
    return [json.loads(line) for line in handler.lines]


def test_upload_analysis_and_downloads_are_audited_without_patient_values(
    records: LogLines, deferred: _Deferred
) -> None:
    cohort = marked_cohort()
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.file_uploader(key="upload.treated").set_value((FILE, csv_bytes(cohort), "text/csv")).run()
    at.button(key="use_cohort").click().run()
    assert_clean(at)
    store = at.session_state[STORE]
    assert MARKER in set(store.cohort["note"]) and PATIENT in set(store.cohort["patient_id"])
    at.switch_page("pages/survival.py").run()
    assert_clean(at)
    at.switch_page("pages/data.py").run()
    assert PATIENT.encode() not in download(at, deferred, "dl.baseline-before.csv")
    at.switch_page("pages/export.py").run()
    at.button(key="export.make").click().run()
    assert_clean(at)
    assert "<html" in str(download(at, deferred, "export.report.html"))

    found = events(records)
    for line in records.lines:
        assert MARKER not in line and PATIENT not in line and "secret" not in line
    assert all(set(e) >= {"time", "user", "action"} for e in found)
    assert {e["user"] for e in found} == {"test@example.com"}  # AppTest's signed-in user
    upload = [e for e in found if e["action"] == "upload"]
    assert upload == [
        {
            "time": upload[0]["time"],
            "user": "test@example.com",
            "action": "upload",
            "cohort_hash": content_hash(store.cohort),
            "rows": len(cohort),
            "columns": store.cohort.shape[1],
        }
    ]
    expected = settings_hash(analysis_key(store.settings))
    analyses = [e for e in found if e["action"] == "analysis"]
    assert {"cohort_hash": content_hash(store.cohort), "settings_hash": expected}.items() <= (
        analyses[-1].items()
    )
    kinds = [e["kind"] for e in found if e["action"] == "download"]
    assert kinds == ["csv:baseline-before", "export:report.html"]
    export = [e for e in found if e["action"] == "export"]
    assert export and export[0]["settings_hash"] == expected


# --------------------------------------------------------------------------------------
# Forget my data
# --------------------------------------------------------------------------------------


def _session_caches() -> dict[str, int]:
    """Entries of each session-scoped cached function (by name), over all sessions."""
    with _data_caches._caches_lock:
        caches = [c for sid, f in _data_caches._function_caches.items() if sid for c in f.values()]
    out: dict[str, int] = {}
    for cache in caches:
        name = cache.display_name.rsplit(".", 1)[-1]
        out[name] = out.get(name, 0) + len(cache.get_stats())
    return out


def test_forget_my_data_frees_the_session_at_once(records: LogLines) -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.file_uploader(key="upload.treated").set_value(
        (FILE, csv_bytes(marked_cohort()), "text/csv")
    ).run()
    at.button(key="use_cohort").click().run()
    at.switch_page("pages/survival.py").run()
    assert_clean(at)
    assert not at.session_state[STORE].is_demo
    before = _session_caches()
    at.sidebar.button(key="forget_data").click().run()
    assert_clean(at)
    after = _session_caches()
    # this session's caches of the upload are gone (the start page reads no file now)
    assert before["read_upload"] > 0 and before["validate"] > 0
    assert after.get("read_upload", 0) == 0 and after.get("validate", 0) == 0
    # back on the start page, on the demo cohort, with nothing of the upload left
    assert at.title[0].value == "Data"
    store = at.session_state[STORE]
    assert store.is_demo and not store.uploads
    assert MARKER not in store.cohort.to_string()
    assert at.file_uploader(key="upload.treated").value is None
    assert any("forgotten" in str(s.value) for s in at.success)
    assert [json.loads(x)["action"] for x in records.lines][-2:] == ["forget", "analysis"]


def test_the_reference_proxy_passes_the_user_to_the_app() -> None:
    conf = (ROOT / "docs" / "deploy" / "nginx.conf").read_text()
    # nginx passes a location none of the server block's proxy_set_header lines when
    # the location has its own: the user header must sit beside proxy_pass
    block = conf.split("location / {", 1)[1].split("\n    }", 1)[0]
    assert "proxy_pass http://blinastudy" in block
    assert "proxy_set_header X-Forwarded-User $remote_user;" in block
    deploy = (ROOT / "docs" / "DEPLOY.md").read_text()
    assert 'trustedUserHeaders = { "X-Forwarded-User" = "user" }' in deploy

"""Driving the Streamlit app headless with ``streamlit.testing.v1.AppTest``."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
#: Realistic hospital exports (a treated CSV, a pool XLSX).
EXPORTS = ROOT / "tests" / "data" / "exports"
#: The session-state key of the app's data store.
STORE = "blinastudy.store"
#: Seconds one script run may take.
TIMEOUT = 180
#: The matching page's headline metric.
MATCHED = "Matched blinatumomab patients"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def start(page: str | None = None) -> AppTest:
    """A fresh session of the app, run once, then switched to ``page`` if given."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    if page is not None:
        at.switch_page(page).run()
    return at


def assert_clean(at: AppTest) -> None:
    """No exception and no error box with an error id on the page."""
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error if "error id" in str(e.value)]
    assert not errors, errors


def texts(at: AppTest) -> str:
    """All text an element tree shows (markdown, captions, alerts, metrics)."""
    parts: list[str] = []
    for kind in (
        "markdown",
        "caption",
        "info",
        "warning",
        "error",
        "success",
        "title",
        "header",
        "subheader",
    ):
        parts.extend(str(e.value) for e in getattr(at, kind))
    parts.extend(f"{m.label}: {m.value}" for m in at.metric)
    return "\n".join(parts)


def metric(at: AppTest, label: str) -> str:
    """The value of the metric labelled ``label``."""
    found = [m.value for m in at.metric if m.label == label]
    assert found, f"no metric {label!r}; have {[m.label for m in at.metric]}"
    return str(found[0])


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def upload(at: AppTest, key: str, name: str, data: bytes, mime: str = "text/csv") -> AppTest:
    """Put a file into the uploader ``key`` and rerun."""
    return at.file_uploader(key=key).set_value((name, data, mime)).run()


def upload_settings(at: AppTest, data: bytes, name: str = "blinastudy-settings.json") -> AppTest:
    """Put a settings file into the sidebar's settings upload and rerun."""
    upload = at.sidebar.file_uploader(key="settings_upload")
    return upload.set_value((name, data, "application/json")).run()


def edit_cell(at: AppTest, key: str, row: int, column: str, value: object) -> AppTest:
    """Edit one cell of the data editor ``key`` (row by position) as a user would; rerun."""
    at.session_state[key] = {
        "edited_rows": {row: {column: value}},
        "added_rows": [],
        "deleted_rows": [],
    }
    return at.run()


class LogLines(logging.Handler):
    """Keeps the message of every record it is handed, in order, in ``lines``."""

    def __init__(self, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@contextlib.contextmanager
def logged_lines(logger: logging.Logger, level: int | None = None) -> Iterator[LogLines]:
    """The messages ``logger`` logs inside the block.

    With ``level`` the logger is turned on at that level for the block (and the
    handler takes that level and above only).
    """
    handler = LogLines(logging.NOTSET if level is None else level)
    before = logger.level
    logger.addHandler(handler)
    if level is not None:
        logger.setLevel(level)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        if level is not None:
            logger.setLevel(before)

"""Server-side timing: one line per script run on the ``blinastudy.timing`` logger.

Each line names the page (its title) and the kind of run, with the CPU milliseconds of
the script thread and the elapsed milliseconds, and nothing else: no file name, no
patient value, no user. The logger is off unless ``BLINASTUDY_TIMING=1``.
"""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from pages.common import ui
from tests._apptest import APP, ROOT, TIMEOUT, LogLines, assert_clean, csv_bytes, logged_lines
from tests._demo_result import demo_subset

LINE = re.compile(r"page=(\w+) run=(page|fragment:\w+) cpu_ms=(\d+) wall_ms=(\d+)")


@pytest.fixture
def timing() -> Iterator[LogLines]:
    """The timing lines logged while the test runs (the logger turned on for it)."""
    with logged_lines(ui.TIMING, logging.INFO) as lines:
        yield lines


def test_every_page_run_logs_one_line_with_its_times_and_no_data(timing: LogLines) -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert_clean(at)
    cohort = demo_subset(20, 120, "TIMEMARK")
    at.file_uploader(key="upload.treated").set_value(
        ("secret-file.csv", csv_bytes(cohort), "text/csv")
    ).run()
    at.button(key="use_cohort").click().run()
    at.switch_page("pages/matching.py").run()
    assert_clean(at)
    parsed = [LINE.fullmatch(line) for line in timing.lines]
    assert all(parsed), timing.lines
    pages = [(m[1], m[2]) for m in parsed if m]
    assert pages == [("Data", "page")] * 3 + [("Propensity_matching", "page")]
    times = [(int(m[3]), int(m[4])) for m in parsed if m]
    assert all(cpu <= wall + 1 for cpu, wall in times), times  # one thread's CPU, rounded
    assert times[-1][0] > 0  # the matching page runs the analysis: measurable CPU time
    text = "\n".join(timing.lines)
    assert "TIMEMARK" not in text and "secret-file" not in text


def test_the_timing_lines_are_off_unless_asked_for() -> None:
    code = (
        "import logging; from pages.common import ui; "
        "print(ui.TIMING.isEnabledFor(logging.INFO), bool(ui.TIMING.handlers))"
    )

    def enabled(env: dict[str, str]) -> str:
        done = subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env={"PATH": "/usr/bin:/bin", **env},
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    assert enabled({}) == "False False"
    assert enabled({ui.TIMING_ENV: "1"}) == "True True"

"""Server memory: resident size after many sessions opened and closed, against after one.

Starts the real app (``streamlit run app.py``) with closed sessions dropped two
seconds after their browser disconnects (``STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL=2``)
and opens sessions one after another in headless Debian Chromium (Playwright):
each is a new browser context that opens the Matching page of the demo cohort
(the analysis with the caliper sweep), then the Survival page, waits until both
are idle and closes. The resident memory (RSS) of the server and its children is
read a few seconds after the first session has closed and again after the
last of ``--sessions`` in all (default 25). Goal: the second within 10 % of the first
(ratio at most 1.10).

Run: ``python benchmarks/bench_memory.py [--quick] [--sessions N]``. Needs
/usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import ROOT, browser_main, fmt_ratio, print_table, ratio
from bench_browser import WAIT_S, wait_metric

sys.path.insert(0, str(ROOT))
from playwright.sync_api import Browser

from tests._browser import READY, chromium_page
from tests._server import streamlit_server

#: Seconds a closed session survives on the server.
SESSION_TTL_S = 2
MIB = 2**20


def session(browser: Browser, url: str) -> None:
    """One session: Matching, then Survival, each until idle; then the context closes."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(WAIT_S * 1000)
        page.goto(f"{url}/matching")
        wait_metric(page, "EFS hazard ratio")
        page.wait_for_selector(READY)
        page.goto(f"{url}/survival")
        wait_metric(page, "Hazard ratio")
        page.wait_for_selector(READY)
        page.wait_for_timeout(1000)
    finally:
        context.close()


def measure(sessions: int, settle_s: float) -> tuple[int, int]:
    """Server RSS in bytes after one session and after ``sessions`` in all."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        streamlit_server(
            Path(tmp) / "server.log",
            env={"STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": str(SESSION_TTL_S)},
        ) as server,
        chromium_page() as page,
    ):
        browser = page.context.browser
        assert browser is not None
        session(browser, server.url)
        time.sleep(settle_s)
        after_one = server.rss_bytes()
        for _ in range(sessions - 1):
            session(browser, server.url)
        time.sleep(settle_s)
        return after_one, server.rss_bytes()


def options(parser: argparse.ArgumentParser) -> None:
    """The memory benchmark's own options: how many sessions, how long to settle."""
    parser.add_argument("--sessions", type=int, default=None, help="sessions in all (default 25)")
    parser.add_argument(
        "--settle",
        type=float,
        default=4 * SESSION_TTL_S,
        help="seconds to wait after the last session closed before reading RSS",
    )


def report(args: argparse.Namespace) -> dict[str, Any]:
    """Measure the sessions ``args`` ask for, print the table and return what the JSON keeps."""
    sessions = args.sessions or (3 if args.quick else 25)
    after_one, after_n = measure(sessions, args.settle)
    growth = ratio(after_n, after_one)
    print(f"\nServer RSS (server and child processes), {args.settle:g} s after the last close")
    print_table(
        ["sessions opened and closed", "RSS (MiB)", "/ after 1"],
        [
            ["1", f"{after_one / MIB:.0f}", "1x"],
            [str(sessions), f"{after_n / MIB:.0f}", fmt_ratio(growth)],
        ],
    )
    print("\nGoal: within 10 % of the RSS after one session (at most 1.1x)")
    return {
        "sessions": sessions,
        "rss_after_1": after_one,
        "rss_after_n": after_n,
        "ratio": growth,
    }


def main(argv: list[str] | None = None) -> int:
    return browser_main(
        argv,
        __doc__,
        "memory",
        report,
        quick_help="3 sessions in all instead of 25",
        options=options,
    )


if __name__ == "__main__":
    sys.exit(main())

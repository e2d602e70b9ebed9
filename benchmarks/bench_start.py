"""Cold start: from ``streamlit run app.py`` to the first page's headline number on screen.

Each start runs a new Streamlit process and times, from just before the process
is started, until headless Debian Chromium (Playwright, launched beforehand)
shows the first number: on the app's Data page the "Blinatumomab" patient
count of the demo cohort, on the minimal page (``benchmarks/minimal_app.py``,
one slider and one number) its number. Starts of the two alternate, after one
untimed start of each (so that both find Python's and Streamlit's files in the
system's file cache); the ratio of each pair is reported, and the median of
those ratios. Goal: at most 1.5x the minimal page.

The server helper polls Streamlit's health endpoint every 0.5 s before the page
is opened, which adds up to 0.5 s to both sides alike.

Run: ``python benchmarks/bench_start.py [--quick] [--repeats N]``. Needs
/usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import ROOT, browser_main, fmt_ratio, print_table, ratio
from bench_browser import MINIMAL_APP, MINIMAL_METRIC, WAIT_S

sys.path.insert(0, str(ROOT))
from playwright.sync_api import Page

from tests._browser import chromium_page, metric_box
from tests._server import streamlit_server

#: The app's first page and the minimal page, with the metric each shows first.
STARTS = {
    "app": ("app.py", "Blinatumomab"),
    "minimal": (str(MINIMAL_APP), MINIMAL_METRIC),
}


def start_seconds(page: Page, which: str, log: Path) -> float:
    """Seconds from starting the server of ``which`` to its first metric visible in ``page``."""
    script, label = STARTS[which]
    start = time.perf_counter()
    with streamlit_server(log, script=script) as server:
        page.goto(server.url)
        metric_box(page, label).wait_for(state="visible", timeout=WAIT_S * 1000)
        seconds = time.perf_counter() - start
        page.goto("about:blank")  # close the session before the server stops
    return seconds


def measure(repeats: int) -> list[tuple[float, float]]:
    """``repeats`` pairs of (app, minimal page) start times, after one untimed start of each."""
    pairs = []
    with tempfile.TemporaryDirectory() as tmp, chromium_page(timeout_ms=WAIT_S * 1000) as page:
        log = Path(tmp) / "server.log"
        for which in STARTS:
            start_seconds(page, which, log)
        for i in range(repeats):
            # Alternate which goes first, so a drift of the load reaches both alike.
            order = ("app", "minimal") if i % 2 == 0 else ("minimal", "app")
            got = {which: start_seconds(page, which, log) for which in order}
            pairs.append((got["app"], got["minimal"]))
    return pairs


def report(args: argparse.Namespace) -> dict[str, Any]:
    """Time the starts ``args`` ask for, print the table and return what the JSON keeps."""
    repeats = args.repeats or (2 if args.quick else 5)
    pairs = measure(repeats)
    ratios = [ratio(a, m) for a, m in pairs]
    print(f"\nCold start to the first number on screen, {repeats} starts of each (wall clock)")
    print("ratio: the app's start / the minimal page's start beside it\n")
    print_table(
        ["start", "app / minimal page"],
        [[str(i + 1), fmt_ratio(r)] for i, r in enumerate(ratios)],
    )
    median = statistics.median(r for r in ratios if r is not None)
    print(f"\nMedian ratio {fmt_ratio(median)} (goal: at most 1.5x)")
    return {
        "repeats": repeats,
        "ratios": ratios,
        "median_ratio": median,
        "raw_seconds": [{"app": a, "minimal": m} for a, m in pairs],
    }


def main(argv: list[str] | None = None) -> int:
    return browser_main(argv, __doc__, "start", report, quick_help="two starts of each")


if __name__ == "__main__":
    sys.exit(main())

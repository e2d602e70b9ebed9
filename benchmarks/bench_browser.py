"""Browser latency of the app's sliders, as a ratio to a minimal Streamlit page.

Starts the real app (``streamlit run app.py``) and a minimal page with one slider
and one number (``benchmarks/minimal_app.py``) side by side on localhost, with
the same Streamlit, and drives both in headless Debian Chromium (Playwright).
For each slider (the caliper on Matching, the MRD threshold on MRD, the landmark
month on Survival, and the minimal page's slider) every round opens a new
session (the app's caches are per session), goes to the slider's page and
moves it with the keyboard to values not yet computed in that session. Each key
press is timed to two moments:

* the new number on screen: the text of the watched metric differs from before;
* a settled page: after that, the app's script state is ``notRunning`` again.

Rounds of the different sliders alternate, so that a change of load on a shared
machine reaches all of them alike. The table gives p50 and p95 of each, as a
ratio to the minimal page's p50 and p95 of the same moment. Goal: p50 to the new
number at most 2x the minimal page. Beside it, the caliper's p50 is also shown
as a ratio to one ``analyze()`` of the demo cohort at the same settings, timed
in this process: how much of the wait is the statistics.

Run: ``python benchmarks/bench_browser.py [--quick] [--repeats ROUNDS]``. Needs
/usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import ROOT, browser_main, fmt_ratio, print_table, ratio

sys.path.insert(0, str(ROOT))
from playwright.sync_api import Page

from blinastudy.analysis import analyze
from blinastudy.analysis.settings import Settings
from blinastudy.data.demo import make_demo_cohort
from tests._browser import READY, chromium_page
from tests._server import streamlit_server

#: The minimal page: one slider and one number derived from it.
MINIMAL_APP = ROOT / "benchmarks" / "minimal_app.py"
MINIMAL_METRIC = "Number squared"
#: How long one key press may take to show its number (seconds).
WAIT_S = 120

#: Text of every metric in the main area whose text contains ``label``, joined.
_METRIC_TEXT = """label => [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stMetric"]')]
    .filter(b => b.innerText.includes(label)).map(b => b.innerText).join("\\n")"""
_CHANGED = f"""([label, old]) => {{
    const now = ({_METRIC_TEXT})(label);
    return now !== "" && now !== old;
}}"""


def _choose_landmark_origin(page: Page) -> None:
    """Survival page: time origin "Landmark", which enables the landmark slider."""
    radio = page.locator('[data-testid="stRadio"]').filter(has_text="Time origin")
    radio.get_by_text("Landmark", exact=True).click()
    page.wait_for_timeout(300)
    page.wait_for_selector(READY)


@dataclass(frozen=True)
class Slider:
    """A slider to move and the metric that shows its consequence."""

    name: str
    app: str  # "app" or "minimal": which server
    page: str | None  # link in the sidebar navigation; None: the first page
    label: str  # text in the slider's label
    metric: str  # text in the watched metrics (label or value)
    #: Keys pressed in each round, each moving to a value new to the session.
    keys: tuple[str, ...] = ("Home", "ArrowRight", "ArrowRight")
    prepare: Callable[[Page], None] | None = None


SLIDERS = (
    Slider("minimal page: one slider, one number", "minimal", None, "Number", MINIMAL_METRIC),
    Slider("Matching: caliper", "app", "Matching", "Caliper (SD", "EFS hazard ratio"),
    # The group labels name the threshold ("MRD < 0.1%"), so the group row changes
    # at every move even where no patient changes group.
    Slider("MRD: threshold", "app", "MRD", "MRD threshold", "patients"),
    Slider(
        "Survival: landmark month",
        "app",
        "Survival",
        "Landmark (months",
        # "Chemotherapy: EFS at 24 months after the landmark N months": label and value.
        "Chemotherapy: EFS at",
        prepare=_choose_landmark_origin,
    ),
)


@dataclass
class Timings:
    """Seconds from each key press to the new number and to a settled page."""

    number: list[float] = field(default_factory=list)
    settled: list[float] = field(default_factory=list)


def metric_text(page: Page, label: str) -> str:
    """The joined text of the main area's metrics containing ``label``."""
    return str(page.evaluate(_METRIC_TEXT, label))


def wait_metric(page: Page, label: str) -> None:
    """Wait until a metric containing ``label`` is on screen."""
    page.wait_for_function(
        f"label => ({_METRIC_TEXT})(label) !== ''", arg=label, timeout=WAIT_S * 1000
    )


def open_page(page: Page, url: str, slider: Slider) -> None:
    """A new session on the slider's page, idle, with its metric on screen."""
    page.goto(url)
    page.wait_for_selector(READY)
    if slider.page is not None:
        nav = page.locator('[data-testid="stSidebarNav"]')
        nav.get_by_role("link", name=slider.page, exact=True).click()
    wait_metric(page, slider.metric)
    page.wait_for_selector(READY)
    if slider.prepare is not None:
        slider.prepare(page)
        wait_metric(page, slider.metric)


def one_round(page: Page, url: str, slider: Slider, out: Timings, moves: int) -> None:
    """Open a new session and time up to ``moves`` key presses on ``slider``."""
    open_page(page, url, slider)
    thumb = (
        page.locator('[data-testid="stSlider"]').filter(has_text=slider.label).get_by_role("slider")
    )
    for key in slider.keys[:moves]:
        before = metric_text(page, slider.metric)
        thumb.focus()
        start = time.perf_counter()
        page.keyboard.press(key)
        page.wait_for_function(_CHANGED, arg=[slider.metric, before], timeout=WAIT_S * 1000)
        out.number.append(time.perf_counter() - start)
        page.wait_for_selector(READY, timeout=WAIT_S * 1000)
        out.settled.append(time.perf_counter() - start)


def measure(moves: int, sliders: Sequence[Slider] = SLIDERS) -> dict[str, Timings]:
    """Key-press timings of each slider, ``moves`` each, rounds alternating between sliders."""
    found = {s.name: Timings() for s in sliders}
    with (
        tempfile.TemporaryDirectory() as tmp,
        streamlit_server(Path(tmp) / "app.log") as app,
        streamlit_server(Path(tmp) / "minimal.log", script=MINIMAL_APP) as minimal,
        chromium_page(height=1800, timeout_ms=WAIT_S * 1000) as page,
    ):
        urls = {"app": app.url, "minimal": minimal.url}
        # An untimed first visit of each page: the server's first imports and
        # the browser's first download of the front end are not what a key costs.
        for s in sliders:
            open_page(page, urls[s.app], s)
        while any(len(found[s.name].number) < moves for s in sliders):
            for s in sliders:
                left = moves - len(found[s.name].number)
                if left > 0:
                    one_round(page, urls[s.app], s, found[s.name], left)
    return found


def reference_seconds(calipers: list[float], repeats: int = 3) -> float:
    """Median time of one ``analyze()`` (no sweep) over the given caliper settings."""
    cohort = make_demo_cohort()
    times = []
    for _ in range(repeats):
        for cal in calipers:
            start = time.perf_counter()
            analyze(cohort, Settings().update(matching__caliper=cal), sweep=False)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile by the nearest-rank rule (p95 of 9 values is the largest)."""
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(q * len(ordered)))) - 1]


def summarise(found: dict[str, Timings]) -> list[dict[str, Any]]:
    """p50 and p95 of each slider, and each as a ratio to the minimal page's."""
    base = found[SLIDERS[0].name]
    ref = {
        (moment, q): percentile(getattr(base, moment), q)
        for moment in ("number", "settled")
        for q in (0.5, 0.95)
    }
    rows = []
    for name, t in found.items():
        row: dict[str, Any] = {"slider": name, "moves": len(t.number)}
        for moment in ("number", "settled"):
            for q, tag in ((0.5, "p50"), (0.95, "p95")):
                value = percentile(getattr(t, moment), q)
                row[f"{moment}_{tag}_s"] = value
                row[f"{moment}_{tag}_ratio"] = ratio(value, ref[(moment, q)])
        rows.append(row)
    return rows


def report(args: argparse.Namespace) -> dict[str, Any]:
    """Time the key presses ``args`` ask for, print the table and return what the JSON keeps."""
    rounds = args.repeats or (1 if args.quick else 3)
    moves = 3 * rounds
    found = measure(moves)
    ref = reference_seconds([0.005, 0.01, 0.02], repeats=1 if args.quick else 3)
    rows = summarise(found)
    print(f"\nKey press on each slider, {moves} presses each (new sessions, wall clock)")
    print("ratios: to the minimal page's p50 / p95 of the same moment, same run\n")
    print_table(
        ["slider", "new number p50", "p95", "settled page p50", "p95"],
        [
            [
                r["slider"],
                fmt_ratio(r["number_p50_ratio"]),
                fmt_ratio(r["number_p95_ratio"]),
                fmt_ratio(r["settled_p50_ratio"]),
                fmt_ratio(r["settled_p95_ratio"]),
            ]
            for r in rows
        ],
    )
    worst = max(r["number_p50_ratio"] or 0.0 for r in rows)
    print(f"\nGoal: p50 to the new number at most 2x the minimal page; worst {fmt_ratio(worst)}")
    caliper = next(r for r in rows if r["slider"].startswith("Matching"))
    print(
        "Caliper p50 to the new number / one analyze() of the demo cohort in this process: "
        f"{fmt_ratio(ratio(caliper['number_p50_s'], ref))}"
    )
    return {
        "moves": moves,
        "rows": rows,
        "analyze_reference_s": ref,
        "raw": {k: {"number": v.number, "settled": v.settled} for k, v in found.items()},
    }


def main(argv: list[str] | None = None) -> int:
    return browser_main(
        argv, __doc__, "browser", report, quick_help="one round (3 key presses) per slider"
    )


if __name__ == "__main__":
    sys.exit(main())

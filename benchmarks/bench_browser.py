"""Browser latency: from moving the caliper slider to the updated hazard ratio on screen.

Starts the real app (``streamlit run app.py``) on localhost, opens the Matching
page of the demo cohort in headless Debian Chromium (Playwright), and moves the
caliper slider with the keyboard to calipers not yet computed in that session,
timing each move until the "EFS hazard ratio" metric shows the new value.
The reference, timed in this same process, is one ``analyze()`` of the demo
cohort with the same two settings: the printed ratios say how much of what the
audience waits for is the statistics and how much is the round trip and drawing.

Run: ``python benchmarks/bench_browser.py [--moves 10]``. Needs /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT

sys.path.insert(0, str(ROOT))
from tests._server import CHROMIUM, CHROMIUM_ARGS, streamlit_server

HR_LABEL = "EFS hazard ratio"


def reference_seconds(calipers: list[float], repeats: int = 3) -> float:
    """Median time of one ``analyze()`` (no sweep) over the given caliper settings."""
    from blinastudy.analysis import analyze
    from blinastudy.analysis.settings import Settings
    from blinastudy.data.demo import make_demo_cohort

    cohort = make_demo_cohort()
    times = []
    for _ in range(repeats):
        for cal in calipers:
            start = time.perf_counter()
            analyze(cohort, Settings().update(matching__caliper=cal), sweep=False)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(moves: int) -> list[float]:
    """Seconds from each key press on the caliper slider to the new HR on screen."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, streamlit_server(Path(tmp) / "server.log") as server:
        url = server.url
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_context(viewport={"width": 1500, "height": 1800}).new_page()
            page.set_default_timeout(120_000)
            idle = '[data-testid="stApp"][data-test-script-state="notRunning"]'
            latencies = []
            # Each round is a new session (caches are per session): from the default
            # caliper to the smallest, then two steps up; the matched set and the HR
            # change at each of these three moves, and none is served from a cache.
            keys = ["Home", "ArrowRight", "ArrowRight"]
            while len(latencies) < moves:
                page.goto(url)
                page.wait_for_selector(idle)
                nav = page.locator('[data-testid="stSidebarNav"]')
                nav.get_by_role("link", name="Matching", exact=True).click()
                value = (
                    page.locator('[data-testid="stMetric"]')
                    .filter(has_text=HR_LABEL)
                    .locator('[data-testid="stMetricValue"]')
                )
                value.wait_for()
                page.wait_for_selector(idle)
                slider = (
                    page.locator('[data-testid="stSlider"]')
                    .filter(has_text="Caliper (SD")
                    .get_by_role("slider")
                )
                for key in keys[: moves - len(latencies)]:
                    before = value.inner_text()
                    slider.focus()
                    start = time.perf_counter()
                    page.keyboard.press(key)
                    page.wait_for_function(
                        """([label, old]) => {
                            const boxes = [...document.querySelectorAll('[data-testid="stMetric"]')];
                            const box = boxes.find(b => b.innerText.includes(label));
                            if (!box) return false;
                            const v = box.querySelector('[data-testid="stMetricValue"]');
                            return v && v.innerText !== old;
                        }""",
                        arg=[HR_LABEL, before],
                    )
                    latencies.append(time.perf_counter() - start)
                    page.wait_for_selector(idle)
            browser.close()
        return latencies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=9)
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is missing: apt-get install chromium", file=sys.stderr)
        return 2
    latencies = measure(args.moves)
    ref = reference_seconds([0.005, 0.01, 0.02])  # the calipers visited
    p50 = statistics.median(latencies)
    p95 = sorted(latencies)[max(0, round(0.95 * len(latencies)) - 1)]
    print(f"caliper slider -> new EFS hazard ratio on screen, {len(latencies)} moves")
    print("reference: one analyze() of the demo cohort at the same settings, in this process")
    print(f"  p50 latency / reference = {p50 / ref:6.2f}")
    print(f"  p95 latency / reference = {p95 / ref:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

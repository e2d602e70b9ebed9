"""Another session's page while one session does heavy work: does it wait?

Starts the real app (``streamlit run app.py``, ``BLINASTUDY_TIMING=1``) and two
sessions in headless Debian Chromium (Playwright). The light session is on the demo
cohort and moves between two pages (Survival and Minimal residual disease, both
drawn from its cached analysis) over and over; beside it a client asks the server's
health endpoint (``/_stcore/health``) four times a second. First alone (the
reference), then while the heavy session uploads a cohort of ``--patients`` patients
(default 100,000: a 10 MB CSV), uses it and opens the Matching page (the analysis and
the caliper sweep of that cohort, about 30 s of CPU).

Reported, alone and during the heavy work: the light session's server-side time per
page run (elapsed milliseconds of its script runs, from the server's timing lines),
the health endpoint's answer time and the light session's wait in the browser (a
click to an idle page), each as p50, p95 and maximum, and the ratio of the two
phases; with the heavy session's own CPU and elapsed time per run. Goal: heavy work
never makes the other session's page run, or the health check, take more than a
second (p95 and maximum at most 1 s).

Run: ``python benchmarks/bench_heavy.py [--quick] [--patients N]``. Needs
/usr/bin/chromium.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import re
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from _common import (
    ROOT,
    bench_parser,
    bench_setup,
    chromium_missing,
    fmt_ratio,
    machine_description,
    print_table,
    ratio,
    write_json,
)

sys.path.insert(0, str(ROOT))
from playwright.async_api import Page, async_playwright, expect

from blinastudy.data.demo import make_demo_cohort
from tests._browser import MAIN_UPLOADER, file_payload, idle_async
from tests._server import CHROMIUM, CHROMIUM_ARGS, Server, streamlit_server

#: The server's timing lines (pages/common/ui.py, ``timed``).
TIMING = re.compile(r"blinastudy\.timing page=(\w+) run=([\w:]+) cpu_ms=(\d+) wall_ms=(\d+)")
#: The light session's pages (never opened by the heavy session).
LIGHT_PAGES = ("Survival", "MRD")
LIGHT_TITLES = {"Survival", "Minimal_residual_disease"}
#: Seconds between two health checks.
HEALTH_EVERY_S = 0.25
#: How long any step of the heavy session may take (ms).
HEAVY_TIMEOUT_MS = 900_000
MATCHED = "Matched blinatumomab patients"


def heavy_cohort(patients: int, seed: int = 7) -> pd.DataFrame:
    """``patients`` demo patients drawn with replacement (new patient ids ``H000000`` ...),
    so that both arms and every column of the demo cohort are there at any size."""
    demo = make_demo_cohort()
    rng = np.random.default_rng(seed)
    part = demo.iloc[rng.integers(0, len(demo), patients)].reset_index(drop=True)
    part["patient_id"] = [f"H{k:06d}" for k in range(patients)]
    return part


def quantiles(values: Sequence[float]) -> tuple[float, float, float]:
    """p50, p95 (nearest rank) and maximum of ``values`` (NaN when there are none)."""
    if not values:
        return math.nan, math.nan, math.nan
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return statistics.median(ordered), p95, ordered[-1]


@dataclass
class Phase:
    """What the light session and the health checks saw in one phase."""

    name: str
    offset: int = 0
    end_offset: int = 0
    started: float = 0.0
    ended: float = 0.0
    browser_s: list[float] = field(default_factory=list)
    health_s: list[float] = field(default_factory=list)


def _health_latency(url: str) -> float:
    start = time.perf_counter()
    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=60) as answer:
        answer.read()
    return time.perf_counter() - start


@contextlib.contextmanager
def health_checks(url: str, into: list[float]) -> Iterator[None]:
    """Ask the health endpoint every :data:`HEALTH_EVERY_S` seconds inside the block."""
    done = threading.Event()

    def run() -> None:
        while not done.wait(HEALTH_EVERY_S):
            with contextlib.suppress(OSError):
                into.append(_health_latency(url))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(timeout=70)


async def _light(page: Page, phase: Phase, stop: asyncio.Event, least: int) -> None:
    """Move the light session between its pages until ``stop`` (at least ``least`` times)."""
    nav = page.locator('[data-testid="stSidebarNav"]')
    k = 0
    while not stop.is_set() or k < least:
        start = time.perf_counter()
        await nav.get_by_role("link", name=LIGHT_PAGES[k % 2], exact=True).click()
        await idle_async(page, settle_ms=200)
        phase.browser_s.append(time.perf_counter() - start - 0.2)
        k += 1


async def _heavy(page: Page, url: str, name: str, data: bytes) -> None:
    """Upload the large cohort, use it and open Matching (its analysis and sweep)."""
    await page.goto(url)
    await idle_async(page)
    await page.locator(f'{MAIN_UPLOADER} input[type="file"]').first.set_input_files(
        files=file_payload(name, data)
    )
    await expect(page.get_by_text("patients pass every check")).to_be_visible(
        timeout=HEAVY_TIMEOUT_MS
    )
    await idle_async(page)
    await page.get_by_role("button", name="Use this cohort").click()
    await expect(page.get_by_text(f"Cohort: {name}")).to_be_visible(timeout=HEAVY_TIMEOUT_MS)
    await idle_async(page)
    nav = page.locator('[data-testid="stSidebarNav"]')
    await nav.get_by_role("link", name="Matching", exact=True).click()
    await expect(page.locator('[data-testid="stMetric"]').filter(has_text=MATCHED)).to_be_visible(
        timeout=HEAVY_TIMEOUT_MS
    )
    await idle_async(page)


async def run_phases(
    server: Server, data: bytes, alone_s: float, least: int
) -> tuple[Phase, Phase]:
    alone, heavy = Phase("alone"), Phase("during heavy work")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            light_page = await (await browser.new_context()).new_page()
            light_page.set_default_timeout(HEAVY_TIMEOUT_MS)
            await light_page.goto(server.url)  # the router first, as a user arrives
            await idle_async(light_page)
            for name in LIGHT_PAGES:  # the light session's analysis, cached from here on
                nav = light_page.locator('[data-testid="stSidebarNav"]')
                await nav.get_by_role("link", name=name, exact=True).click()
                await idle_async(light_page)
            heavy_page = await (await browser.new_context()).new_page()
            heavy_page.set_default_timeout(HEAVY_TIMEOUT_MS)
            for phase in (alone, heavy):
                stop = asyncio.Event()
                phase.offset = server.log.stat().st_size
                phase.started = time.monotonic()
                with health_checks(server.url, phase.health_s):
                    light = asyncio.create_task(_light(light_page, phase, stop, least))
                    if phase is alone:
                        await asyncio.sleep(alone_s)
                    else:
                        await _heavy(heavy_page, server.url, "heavy.csv", data)
                    stop.set()
                    await light
                phase.ended = time.monotonic()
                phase.end_offset = server.log.stat().st_size
        finally:
            await browser.close()
    return alone, heavy


def server_runs(log: Path, start: int, end: int) -> list[tuple[str, str, int, int]]:
    """(page, run kind, CPU ms, elapsed ms) of each timed run logged between two offsets."""
    with log.open("rb") as handle:
        handle.seek(start)
        text = handle.read(end - start).decode("utf-8", "replace")
    return [(m[1], m[2], int(m[3]), int(m[4])) for m in TIMING.finditer(text)]


def _fmt_s(x: float) -> str:
    return "n/a" if x != x else f"{x:.2f}"


def report(alone: Phase, heavy: Phase, log: Path, patients: int) -> dict[str, object]:
    rows, out = [], {}
    for label, pick in (
        ("light page run, server elapsed (s)", "server"),
        ("health endpoint answer (s)", "health"),
        ("light page, browser click to idle (s)", "browser"),
    ):
        found = []
        for phase in (alone, heavy):
            if pick == "server":
                runs = server_runs(log, phase.offset, phase.end_offset)
                values = [w / 1000 for page, _, _, w in runs if page in LIGHT_TITLES]
            else:
                values = phase.health_s if pick == "health" else phase.browser_s
            found.append((len(values), *quantiles(values)))
        (n0, a50, a95, amax), (n1, h50, h95, hmax) = found
        rows.append(
            [
                label,
                f"{n0} / {n1}",
                f"{_fmt_s(a50)} / {_fmt_s(a95)} / {_fmt_s(amax)}",
                f"{_fmt_s(h50)} / {_fmt_s(h95)} / {_fmt_s(hmax)}",
                f"{fmt_ratio(ratio(h50, a50))} / {fmt_ratio(ratio(h95, a95))}",
            ]
        )
        out[pick] = {"alone": found[0], "heavy": found[1]}
    print(f"\nOne session works on {patients:,} patients while another moves between two pages")
    print_table(
        ["measure", "n alone / heavy", "alone p50 / p95 / max", "heavy p50 / p95 / max", "ratio"],
        rows,
    )
    heavy_runs = [
        r for r in server_runs(log, heavy.offset, heavy.end_offset) if r[0] not in LIGHT_TITLES
    ]
    print(f"\nThe heavy session's runs ({heavy.ended - heavy.started:.0f} s in all)")
    print_table(
        ["page", "run", "CPU (s)", "elapsed (s)"],
        [[p, k, f"{c / 1000:.1f}", f"{w / 1000:.1f}"] for p, k, c, w in heavy_runs],
    )
    out["heavy_runs"] = heavy_runs
    return out


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(
        __doc__.splitlines()[0],
        "heavy",
        quick_help="10,000 patients instead of 100,000",
        with_r=False,
        with_clock=False,
    )
    parser.add_argument("--patients", type=int, default=None, help="patients of the heavy cohort")
    parser.add_argument("--alone", type=float, default=20.0, help="seconds of the reference phase")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the server")
    args = parser.parse_args(argv)
    if chromium_missing(CHROMIUM):
        return 2
    patients = args.patients or (10_000 if args.quick else 100_000)
    data = heavy_cohort(patients).to_csv(index=False).encode()
    env = {"BLINASTUDY_TIMING": "1", **dict(e.split("=", 1) for e in args.env)}
    with bench_setup(args), tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "server.log"
        with streamlit_server(log, env) as server:
            alone, heavy = asyncio.run(run_phases(server, data, args.alone, least=4))
        found = report(alone, heavy, log, patients)
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print("\nGoal: the other session's page runs and the health check at most 1 s (p95, max)")
        print(f"Machine at the end: {machine_description()}; load average {load} (1, 5, 15 min)")
        write_json(
            args.json,
            {"machine": machine_description(), "patients": patients, "env": env, **found},
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Many users on one server: concurrent browser sessions with different cohorts.

One session runs alone first (it loads what every session shares); then twenty
Playwright contexts in one headless Chromium each upload their own small cohort (a
different number of treated patients and their own marker in the file name and patient
ids), use it, open the matching page and move the caliper slider a few times, reading
the matched N. Every session must only ever see its own cohort, no page may show an
error, and the server's memory must stay bounded.

Printed: the browser-side latency (time until the page is idle again), next to the
server-side time of the same interactions from the server's timing lines
(``BLINASTUDY_TIMING=1``: elapsed and CPU milliseconds of each script run), so that
rendering and queueing in the browser are told apart from work on the server; and the
server's memory after the first session and after all sessions closed and were dropped
(``server.disconnectedSessionTTL`` of 2 s; the server drops them and returns their memory
by itself), with the load average of the machine. The second may be at most
:data:`MAX_RSS_GROWTH` times the first.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import statistics
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import cast

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect
from playwright.async_api import TimeoutError as PlaywrightTimeout

from pages.common.serving import TRIM_INTERVAL
from tests._apptest import MATCHED, csv_bytes
from tests._browser import MAIN_UPLOADER, OUT, file_payload, idle_async
from tests._demo_result import demo_subset
from tests._server import CHROMIUM, CHROMIUM_ARGS, Server, require_chromium, streamlit_server

pytestmark = pytest.mark.browser

SESSIONS = 20
#: Most caliper moves per session, and the time after which no session starts another.
MOVES = 3
BUDGET_S = 30
MAX_RSS = 2.5 * 2**30
#: Most resident memory after all sessions closed, as a multiple of that after the first
#: (goal: 1.10; without returning memory it was 1.5).
MAX_RSS_GROWTH = 1.2
TIMEOUT_MS = 240_000
#: Seconds a closed session is kept for a reconnect before it is dropped.
TTL_S = 2
#: The app's root element while a script (or a fragment) runs.
RUNNING = '[data-testid="stApp"][data-test-script-state="running"]'
#: The server's timing lines (pages/common/ui.py, ``timed``).
TIMING = re.compile(
    r"blinastudy\.timing page=(\w+) run=(page|fragment:\w+) cpu_ms=(\d+) wall_ms=(\d+)"
)
#: What each kind of timed run is, in the words of the interactions of this test.
INTERACTIONS = {
    ("Data", "page"): "data page (open, upload, use cohort)",
    ("Propensity_matching", "page"): "open the matching page",
    ("Propensity_matching", "fragment:body"): "move the caliper slider",
}


def _cohort(i: int) -> tuple[str, bytes, int, int]:
    """Session ``i``'s file name, CSV bytes, treated count and total count."""
    n_treated, n_control = 20 + i, 120 + 5 * i
    part = demo_subset(n_treated, n_control, f"LOAD{i:02d}")
    return f"load{i:02d}.csv", csv_bytes(part), n_treated, len(part)


async def _idle(page: Page) -> None:
    await idle_async(page, settle_ms=500)


async def _rerun(page: Page) -> None:
    """Wait until the run a widget change started has finished (under load the server
    can take seconds to start it, so the page is idle at first)."""
    with contextlib.suppress(PlaywrightTimeout):  # over before it could be seen
        await page.wait_for_selector(RUNNING, timeout=30_000)
    await _idle(page)


async def _matched(page: Page) -> str:
    box = page.locator('[data-testid="stMetric"]').filter(has_text=MATCHED).first
    return str(await box.locator('[data-testid="stMetricValue"]').inner_text()).strip()


async def _session(browser: Browser, url: str, i: int, stop_at: float) -> dict[str, object]:
    name, data, n_treated, n_total = _cohort(i)
    context = await browser.new_context(viewport={"width": 1400, "height": 1800})
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    latencies: list[float] = []
    texts: list[str] = []
    try:
        started = time.monotonic()
        await page.goto(url)
        await _idle(page)
        uploader = page.locator(f'{MAIN_UPLOADER} input[type="file"]').first
        await uploader.set_input_files(files=file_payload(name, data))
        await expect(page.get_by_text(f"{n_total} patients pass every check")).to_be_visible(
            timeout=TIMEOUT_MS
        )
        await _idle(page)
        await page.get_by_role("button", name="Use this cohort").click()
        await _idle(page)
        await expect(page.get_by_text(f"Cohort: {name}")).to_be_visible(timeout=TIMEOUT_MS)
        nav = page.locator('[data-testid="stSidebarNav"]')
        await nav.get_by_role("link", name="Matching", exact=True).click()
        await _idle(page)
        ready = time.monotonic() - started
        slider = (
            page.locator('[data-testid="stSlider"]')
            .filter(has_text="Caliper (SD")
            .get_by_role("slider")
        )
        value = page.locator('[data-testid="stMetric"]').filter(has_text=MATCHED)
        values = [await _matched(page)]
        keys = ["Home", "End"]
        moves = 0
        while moves < 1 or (time.monotonic() < stop_at and moves < MOVES):
            await slider.focus()
            start = time.monotonic()
            await page.keyboard.press(keys[moves % 2])
            await _rerun(page)
            latencies.append(time.monotonic() - start)
            values.append(await _matched(page))
            texts.append(await page.locator("body").inner_text())
            moves += 1
        await expect(value.locator('[data-testid="stMetricValue"]')).to_have_text(values[-1])
        texts.append(await page.locator("body").inner_text())
    finally:
        await context.close()
    return {
        "i": i,
        "name": name,
        "n_treated": n_treated,
        "values": values,
        "texts": texts,
        "latencies": latencies,
        "ready": ready,
        "errors": errors,
    }


def _rss_mb(server: Server) -> float:
    return server.rss_bytes() / 2**20


async def _dropped_rss(server: Server) -> float:
    """The server's RSS in MB once the closed sessions are dropped and their memory is
    returned to the system: the app does both every ``TRIM_INTERVAL`` seconds, with no
    other session coming or going."""
    await asyncio.sleep(TTL_S + 2 * TRIM_INTERVAL + 2)
    return _rss_mb(server)


async def _phases(server: Server) -> dict[str, object]:
    """The first session alone, then all sessions at once; RSS after each."""
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            first = await _session(browser, server.url, SESSIONS, time.monotonic())
            rss_first = await _dropped_rss(server)
            offset = server.log.stat().st_size
            started = time.monotonic()
            stop_at = started + BUDGET_S
            results = list(
                await asyncio.gather(
                    *(_session(browser, server.url, i, stop_at) for i in range(SESSIONS))
                )
            )
            elapsed = time.monotonic() - started
            load = os.getloadavg()
            rss_end = await _dropped_rss(server)
        finally:
            await browser.close()
    return {
        "first": first,
        "results": results,
        "rss_first": rss_first,
        "rss_end": rss_end,
        "offset": offset,
        "elapsed": elapsed,
        "load": load,
    }


def _p50_p95(values: Sequence[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def _server_times(log: Path, offset: int) -> dict[str, list[tuple[int, int]]]:
    """(elapsed ms, CPU ms) of each timed run logged after ``offset``, by interaction."""
    with log.open("rb") as handle:
        handle.seek(offset)
        text = handle.read().decode("utf-8", "replace")
    found: dict[str, list[tuple[int, int]]] = {}
    for m in TIMING.finditer(text):
        kind = INTERACTIONS.get((m[1], m[2]), f"{m[1]} {m[2]}")
        found.setdefault(kind, []).append((int(m[4]), int(m[3])))
    return found


def _report(phases: dict[str, object], samples: list[float], log: Path) -> str:
    results: list[dict[str, object]] = phases["results"]  # type: ignore[assignment]
    latencies = [x for r in results for x in r["latencies"]]  # type: ignore[attr-defined]
    ready = [float(r["ready"]) for r in results]  # type: ignore[arg-type]
    lat50, lat95 = _p50_p95(latencies)
    ready50, ready95 = _p50_p95(ready)
    load = ", ".join(f"{x:.1f}" for x in phases["load"])  # type: ignore[attr-defined]
    lines = [
        f"{SESSIONS} sessions at once on {os.cpu_count()} cores, {phases['elapsed']:.0f} s,"
        f" load average {load} (1, 5, 15 min)",
        f"browser: ready (open, upload, use, open matching) p50 {ready50:.1f} s, p95"
        f" {ready95:.1f} s; caliper move ({len(latencies)}) p50 {lat50:.2f} s, p95 {lat95:.2f} s",
    ]
    server_times = _server_times(log, int(phases["offset"]))  # type: ignore[call-overload]
    for kind, runs in sorted(server_times.items()):
        wall50, wall95 = _p50_p95([w for w, _ in runs])
        cpu50, cpu95 = _p50_p95([c for _, c in runs])
        lines.append(
            f"server: {kind} ({len(runs)} runs) elapsed p50 {wall50:.0f} ms, p95 {wall95:.0f}"
            f" ms; CPU p50 {cpu50:.0f} ms, p95 {cpu95:.0f} ms"
        )
    first, end = float(phases["rss_first"]), float(phases["rss_end"])  # type: ignore[arg-type]
    lines.append(
        f"server RSS: start {samples[0]:.0f} MB, after the first session {first:.0f} MB, peak"
        f" {max(samples):.0f} MB, after all sessions closed and dropped {end:.0f} MB"
        f" ({end / first:.2f} times the first; at most {MAX_RSS_GROWTH})"
    )
    return "\n".join(lines)


def test_twenty_concurrent_sessions_stay_apart_and_memory_stays_bounded() -> None:
    require_chromium()
    log = OUT / "streamlit-load.log"
    env = {"BLINASTUDY_TIMING": "1", "STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": str(TTL_S)}
    with streamlit_server(log, env) as server:
        samples: list[float] = [_rss_mb(server)]
        done = threading.Event()

        def sample() -> None:
            while not done.wait(1.0):
                samples.append(_rss_mb(server))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            phases = asyncio.run(_phases(server))
        finally:
            done.set()
            sampler.join(timeout=10)
        samples.append(_rss_mb(server))

    results: list[dict[str, object]] = phases["results"]  # type: ignore[assignment]
    names = {r["name"] for r in results}
    assert len(names) == SESSIONS
    names.add(phases["first"]["name"])  # type: ignore[index]
    for r in [*results, phases["first"]]:
        assert isinstance(r, dict)
        values = [str(v) for v in r["values"]]
        assert values and all(v.endswith(f"of {r['n_treated']}") for v in values), values
        others = {f"LOAD{j:02d}-" for j in range(SESSIONS + 1) if j != r["i"]}
        other_names = names - {r["name"]}
        for text in r["texts"]:
            assert f"Cohort: {r['name']}" in text
            assert not any(o in text for o in others | other_names)
            assert "error id" not in text and "Traceback" not in text
        assert not r["errors"], r["errors"]
        assert len(r["latencies"]) >= 1
    server_times = _server_times(log, int(phases["offset"]))  # type: ignore[call-overload]
    # every interaction was timed on the server: one run per page view or slider move
    assert set(INTERACTIONS.values()) <= set(server_times)
    moves = sum(len(cast(list[float], r["latencies"])) for r in results)
    assert len(server_times["move the caliper slider"]) >= moves
    print("\n" + _report(phases, samples, log))
    assert max(samples) * 2**20 < MAX_RSS, f"server RSS peaked at {max(samples):.0f} MB"
    first, end = float(phases["rss_first"]), float(phases["rss_end"])  # type: ignore[arg-type]
    assert end <= MAX_RSS_GROWTH * first, f"RSS {end:.0f} MB after all, {first:.0f} after one"

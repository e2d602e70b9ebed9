"""Many users on one server: concurrent browser sessions with different cohorts.

Ten Playwright contexts in one headless Chromium each upload their own small cohort
(a different number of treated patients and their own marker in the file name and
patient ids), then keep moving the caliper slider and reading the matched N for a
bounded time. Every session must only ever see its own cohort, no page may show an
error, and the server's memory must stay bounded. Latency and memory are printed.
"""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright, expect

from tests._apptest import MATCHED, csv_bytes
from tests._browser import MAIN_UPLOADER, OUT, file_payload, idle_async
from tests._demo_result import demo_subset
from tests._server import CHROMIUM, CHROMIUM_ARGS, require_chromium, streamlit_server

pytestmark = pytest.mark.browser

SESSIONS = 10
BUDGET_S = 45  # for all sessions together (each moves the slider at least once)
MAX_RSS = 2.5 * 2**30
TIMEOUT_MS = 120_000


def _cohort(i: int) -> tuple[str, bytes, int, int]:
    """Session ``i``'s file name, CSV bytes, treated count and total count."""
    n_treated, n_control = 20 + i, 120 + 5 * i
    part = demo_subset(n_treated, n_control, f"LOAD{i:02d}")
    return f"load{i:02d}.csv", csv_bytes(part), n_treated, len(part)


async def _idle(page: Page) -> None:
    await idle_async(page, settle_ms=500)


async def _matched(page: Page) -> str:
    box = page.locator('[data-testid="stMetric"]').filter(has_text=MATCHED).first
    return str(await box.locator('[data-testid="stMetricValue"]').inner_text()).strip()


async def _session(browser: object, url: str, i: int, stop_at: float) -> dict[str, object]:
    name, data, n_treated, n_total = _cohort(i)
    context = await browser.new_context(viewport={"width": 1400, "height": 1800})  # type: ignore[attr-defined]
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    latencies: list[float] = []
    texts: list[str] = []
    try:
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
        slider = (
            page.locator('[data-testid="stSlider"]')
            .filter(has_text="Caliper (SD")
            .get_by_role("slider")
        )
        value = page.locator('[data-testid="stMetric"]').filter(has_text=MATCHED)
        values = [await _matched(page)]
        keys = ["Home", "End"]
        moves = 0
        while moves < 1 or (time.monotonic() < stop_at and moves < 12):
            await slider.focus()
            start = time.monotonic()
            await page.keyboard.press(keys[moves % 2])
            await _idle(page)
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
        "errors": errors,
    }


async def _run(url: str) -> list[dict[str, object]]:
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            stop_at = time.monotonic() + BUDGET_S
            return list(
                await asyncio.gather(*(_session(browser, url, i, stop_at) for i in range(SESSIONS)))
            )
        finally:
            await browser.close()


def test_ten_concurrent_sessions_stay_apart_and_memory_stays_bounded(tmp_path: Path) -> None:
    require_chromium()
    log = OUT / "streamlit-load.log"
    with streamlit_server(log) as server:
        samples: list[int] = [server.rss_bytes()]
        done = threading.Event()

        def sample() -> None:
            while not done.wait(1.0):
                samples.append(server.rss_bytes())

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.monotonic()
        try:
            results = asyncio.run(_run(server.url))
        finally:
            done.set()
            sampler.join(timeout=10)
        elapsed = time.monotonic() - started
        samples.append(server.rss_bytes())

    names = {r["name"] for r in results}
    assert len(names) == SESSIONS
    for r in results:
        values = [str(v) for v in r["values"]]  # type: ignore[attr-defined]
        assert values and all(v.endswith(f"of {r['n_treated']}") for v in values), values
        others = {f"LOAD{j:02d}-" for j in range(SESSIONS) if j != r["i"]}
        other_names = names - {r["name"]}
        for text in r["texts"]:  # type: ignore[attr-defined]
            assert f"Cohort: {r['name']}" in text
            assert not any(o in text for o in others | other_names)
            assert "error id" not in text and "Traceback" not in text
        assert not r["errors"], r["errors"]
        assert len(r["latencies"]) >= 1  # type: ignore[arg-type]

    latencies = sorted(x for r in results for x in r["latencies"])  # type: ignore[attr-defined]
    p50 = statistics.median(latencies)
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
    peak = max(samples)
    print(
        f"\n{SESSIONS} sessions, {len(latencies)} slider moves in {elapsed:.0f} s: "
        f"latency p50 {p50:.2f} s, p95 {p95:.2f} s; server RSS start "
        f"{samples[0] / 2**20:.0f} MB, peak {peak / 2**20:.0f} MB, "
        f"end {samples[-1] / 2**20:.0f} MB (growth {(samples[-1] - samples[0]) / 2**20:.0f} MB)"
    )
    assert peak < MAX_RSS, f"server RSS peaked at {peak / 2**20:.0f} MB"

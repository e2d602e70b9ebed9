"""Budgets of computing time and memory per piece of work (blinastudy/core/budget.py) and
how the app applies them per session (pages/common/budget.py).

CPU time is the thread's own (``time.thread_time``): a sleep, or another thread's work,
uses none of it; no test here reads a wall clock. The memory prediction is checked as
an upper bound of what an analysis allocates at its peak (``tracemalloc``, which counts
Python objects and numpy's arrays), in bytes.
"""

from __future__ import annotations

import doctest
import functools
import gc
import io
import math
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd
import pytest
from streamlit.runtime.caching import clear_session_data_cache

import pages.common.budget as app_budget
from blinastudy.analysis import STEPS, analyze, sweep_result
from blinastudy.analysis.settings import Settings
from blinastudy.core.budget import (
    BudgetExceeded,
    CpuBudget,
    CpuBudgetExceeded,
    MemoryBudget,
    MemoryBudgetExceeded,
    StepBudget,
    active,
    checkpoint,
    predict_analysis_bytes,
)
from blinastudy.data.cohort import read_table
from blinastudy.data.schema import CANONICAL_COLUMNS
from pages.common.budget import ANALYSIS_CPU_ENV, ANALYSIS_MEMORY_ENV, LOAD_CPU_ENV
from pages.common.ui_state import adapt_settings
from tests._apptest import MATCHED, assert_clean, csv_bytes, metric, start, texts
from tests._demo_result import demo_cohort

ADVICE = "analyse fewer patients."


def _burn(seconds: float) -> None:
    """Compute for ``seconds`` of this thread's CPU time."""
    until = time.thread_time() + seconds
    x = 0
    while time.thread_time() < until:
        x += sum(range(1000))


# --------------------------------------------------------------------------------------
# The budget objects
# --------------------------------------------------------------------------------------


def test_a_step_loop_over_a_tiny_budget_stops_with_one_sentence() -> None:
    budget = CpuBudget(0.05, "This analysis", ADVICE)
    reached: list[str] = []
    with pytest.raises(CpuBudgetExceeded) as info:
        for i, step in enumerate(STEPS):
            budget(step, i / len(STEPS))
            reached.append(step)
            _burn(0.02)
    assert str(info.value) == (
        "This analysis needs more than 0.05 s of computing time on this server; "
        "analyse fewer patients."
    )
    # it stopped at the first step after the budget was used up, not before, not later
    assert 2 <= len(reached) <= 4, reached
    assert budget.used() > 0.05


def test_sleeping_or_another_thread_computing_uses_none_of_the_budget() -> None:
    budget = CpuBudget(0.05, "This analysis", ADVICE)
    time.sleep(0.2)
    worker = threading.Thread(target=_burn, args=(0.2,))
    worker.start()
    worker.join()
    budget.check()
    assert budget.used() < 0.05
    _burn(0.06)
    with pytest.raises(CpuBudgetExceeded):
        budget.check()


def test_no_except_exception_swallows_an_exceeded_budget() -> None:
    budget = CpuBudget(0.0, "This analysis", ADVICE)
    _burn(0.001)
    swallowed = False
    with pytest.raises(BudgetExceeded):
        try:
            budget.check()
        except Exception:  # what a step that turns failures into warnings would do
            swallowed = True
    assert not swallowed


def test_the_analysis_stops_at_a_step_when_its_cpu_budget_is_used_up() -> None:
    budget = StepBudget(CpuBudget(0.001, "This analysis", ADVICE))
    reached: list[str] = []

    def progress(step: str, fraction: float) -> None:
        reached.append(step)
        budget(step, fraction)

    with pytest.raises(CpuBudgetExceeded, match=r"^This analysis needs more than 0\.001 s "):
        analyze(demo_cohort(), Settings(), sweep=False, replicates=0, progress=progress)
    assert 1 <= len(reached) < len(STEPS), reached


def test_an_analysis_predicted_over_its_memory_budget_never_starts() -> None:
    cohort = demo_cohort()
    needed = predict_analysis_bytes(len(cohort), cohort.shape[1])
    memory = MemoryBudget(needed - 1, "This analysis", ADVICE)
    budget = StepBudget(CpuBudget(math.inf, "This analysis", ADVICE), memory, needed)
    reached: list[str] = []

    def progress(step: str, fraction: float) -> None:
        reached.append(step)
        budget(step, fraction)

    with pytest.raises(MemoryBudgetExceeded, match=r"more than the 2\d MB a session may use"):
        analyze(cohort, Settings(), sweep=False, replicates=0, progress=progress)
    assert reached == [STEPS[0]]
    # within the budget, the same analysis runs to its end
    fits = StepBudget(
        CpuBudget(math.inf, "This analysis", ADVICE),
        MemoryBudget(needed, "This analysis", ADVICE),
        needed,
    )
    assert analyze(cohort, Settings(), sweep=False, replicates=0, progress=fits).n


def test_reading_a_file_stops_when_the_active_budget_is_used_up() -> None:
    data = csv_bytes(demo_cohort())

    def read() -> pd.DataFrame:
        handle = io.BytesIO(data)
        handle.name = "cohort.csv"
        return read_table(handle)

    assert len(read()) == len(demo_cohort())  # no budget active: read as always
    _burn(0.001)
    with (
        active(CpuBudget(1e-4, "Reading and checking these files", ADVICE)),
        pytest.raises(CpuBudgetExceeded, match=r"^Reading and checking these files needs"),
    ):
        _burn(0.001)
        read()
    with active(CpuBudget(60.0, "Reading and checking these files", ADVICE)):
        assert len(read()) == len(demo_cohort())
    checkpoint()  # nothing active any more


# --------------------------------------------------------------------------------------
# The memory prediction, against what an analysis allocates
# --------------------------------------------------------------------------------------


def _resampled(rows: int, columns: list[str] | None = None, extra: int = 0) -> pd.DataFrame:
    """``rows`` demo patients drawn with replacement (new ids), optionally only
    ``columns``, plus ``extra`` columns the analysis does not read (numbers and text)."""
    demo = demo_cohort()
    rng = np.random.default_rng(rows + extra)
    part = demo.iloc[rng.integers(0, len(demo), rows)].reset_index(drop=True)
    part["patient_id"] = [f"P{k:06d}" for k in range(rows)]
    if columns is not None:
        part = part[columns]
    for j in range(extra):
        part[f"note_{j}"] = (
            rng.normal(size=rows) if j % 2 else [f"text {v}" for v in rng.integers(0, 50, rows)]
        )
    return part


def _peak_bytes(work: Callable[[], object]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        work()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


FEW = ["patient_id", "arm", "efs_months", "efs_event", "os_months", "os_event", "sex", "age_years"]


@pytest.fixture(scope="module")
def peaks() -> Iterator[dict[str, tuple[int, int]]]:
    """Measured peak and predicted bytes of an analysis (and of the caliper sweep) by case."""
    cases = {
        "300 patients, all dictionary columns": _resampled(300),
        "4,000 patients, all dictionary columns": _resampled(4000),
        "3,000 patients, 8 columns": _resampled(3000, FEW),
        "2,000 patients, 23 + 20 other columns": _resampled(2000, extra=20),
    }
    found: dict[str, tuple[int, int]] = {}
    for name, cohort in cases.items():
        settings = adapt_settings(Settings(), cohort)
        analysed = sum(c in CANONICAL_COLUMNS for c in cohort.columns)
        predicted = predict_analysis_bytes(len(cohort), analysed, cohort.shape[1] - analysed)
        peak = _peak_bytes(
            functools.partial(
                analyze,
                cohort,
                settings,
                sweep=False,
                replicates=settings.bootstrap.live_replicates,
            )
        )
        sweep = _peak_bytes(functools.partial(sweep_result, cohort, settings))
        found[name] = (max(peak, sweep), predicted)
    yield found


def test_the_predicted_memory_of_an_analysis_is_an_upper_bound(
    peaks: dict[str, tuple[int, int]],
) -> None:
    for name, (peak, predicted) in peaks.items():
        assert peak <= predicted, f"{name}: peak {peak:,} B above the prediction {predicted:,} B"


def test_the_predicted_memory_is_not_far_above_what_a_large_analysis_uses(
    peaks: dict[str, tuple[int, int]],
) -> None:
    peak, predicted = peaks["4,000 patients, all dictionary columns"]
    assert predicted <= 2.5 * peak, f"prediction {predicted:,} B for a peak of {peak:,} B"
    # 4,000 patients use several times what 300 do: the prediction follows the size
    small, _ = peaks["300 patients, all dictionary columns"]
    assert peak > 4 * small


# --------------------------------------------------------------------------------------
# In the app
# --------------------------------------------------------------------------------------


#: The session id of every ``AppTest`` (Streamlit's): their session caches are shared.
APPTEST_SESSION = "test session id"


@pytest.fixture
def fresh_caches() -> Iterator[None]:
    """No analysis cached by an earlier AppTest (it would not run, so not be budgeted)."""
    clear_session_data_cache(APPTEST_SESSION)
    yield
    clear_session_data_cache(APPTEST_SESSION)


def test_the_app_side_of_the_budget_has_true_examples() -> None:
    result = doctest.testmod(app_budget, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 5 and result.failed == 0


def test_a_tiny_analysis_budget_shows_one_sentence_and_the_app_keeps_working(
    monkeypatch: pytest.MonkeyPatch, fresh_caches: None
) -> None:
    monkeypatch.setenv(ANALYSIS_CPU_ENV, "0.001")
    at = start()
    sentence = (
        "This analysis needs more than 0.001 s of computing time on this server; analyse "
        "fewer patients (a smaller file), or ask whoever runs this server to raise "
        "BLINASTUDY_ANALYSIS_CPU_SECONDS."
    )
    assert sentence in [str(e.value) for e in at.error]
    assert_clean(at)
    assert "Traceback" not in texts(at)
    at.switch_page("pages/matching.py").run()
    assert sentence in [str(e.value) for e in at.error]
    assert_clean(at)
    assert not [m for m in at.metric if m.label == MATCHED]
    monkeypatch.delenv(ANALYSIS_CPU_ENV)
    at.run()
    assert_clean(at)
    assert metric(at, MATCHED).endswith("of 90")
    assert "computing time" not in texts(at)


def test_a_cohort_predicted_over_the_memory_budget_is_refused_with_one_sentence(
    monkeypatch: pytest.MonkeyPatch, fresh_caches: None
) -> None:
    monkeypatch.setenv(ANALYSIS_MEMORY_ENV, "5")
    at = start("pages/matching.py")
    shown = [str(e.value) for e in at.error if "of memory on this server" in str(e.value)]
    assert shown and shown[0].startswith("This analysis would need about 2"), shown
    assert "more than the 5 MB a session may use" in shown[0]
    assert_clean(at)
    monkeypatch.setenv(ANALYSIS_MEMORY_ENV, "100")
    at.run()
    assert_clean(at)
    assert metric(at, MATCHED).endswith("of 90")


def test_a_tiny_reading_budget_stops_an_upload_and_the_app_keeps_working(
    monkeypatch: pytest.MonkeyPatch, fresh_caches: None
) -> None:
    at = start()
    monkeypatch.setenv(LOAD_CPU_ENV, "0.001")
    cohort = demo_cohort()
    at.file_uploader(key="upload.treated").set_value(("cohort.csv", csv_bytes(cohort), "text/csv"))
    # The server runs app.py (the router, which applies the reading budget) on every run.
    # AppTest runs a page's file directly after its first run (Streamlit's pages-folder
    # mode) unless the run starts from no page, as the server's first run does.
    at._finished_page_script_hash = ""
    at.run()
    shown = [str(e.value) for e in at.error]
    assert shown == [
        "Reading and checking these files needs more than 0.001 s of computing time on this "
        "server; upload a smaller file (fewer rows, or only the columns the analysis reads), "
        "or ask whoever runs this server to raise BLINASTUDY_LOAD_CPU_SECONDS."
    ]
    assert_clean(at)
    assert "pass every check" not in texts(at)
    monkeypatch.delenv(LOAD_CPU_ENV)
    at.run()
    assert_clean(at)
    assert f"{len(cohort)} patients pass every check" in texts(at)

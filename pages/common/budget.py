"""Each session's budget on the server: computing time for reading files and for each
analysis, and memory for each analysis (:mod:`blinastudy.core.budget`).

The limits come from the server's environment, read at every use (a changed value
holds from the next page run); a missing, empty or invalid value means the default:

- ``BLINASTUDY_LOAD_CPU_SECONDS`` (60): CPU seconds a page run may spend reading and
  checking uploaded files (the readers check it every few hundred rows);
- ``BLINASTUDY_ANALYSIS_CPU_SECONDS`` (120): CPU seconds of one analysis or caliper
  sweep (checked before each named step of the analysis);
- ``BLINASTUDY_ANALYSIS_MEMORY_MB`` (2048): the most working memory an analysis may be
  predicted to need (:func:`~blinastudy.core.budget.predict_analysis_bytes`, from the
  cohort's rows and columns), checked before it starts.

CPU time is that of the session's script thread, so waiting for the processor behind
other sessions does not count. The defaults let the demo cohort and a cohort of 100,000
patients through (its analysis takes about 20 s of CPU and is predicted to need 1.5 GB).
Work over a budget stops with one sentence on the page saying what to do; the session
keeps working.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
from collections.abc import Iterator, Mapping

import pandas as pd
import streamlit as st

from blinastudy.core.budget import (
    BudgetExceeded,
    CpuBudget,
    MemoryBudget,
    StepBudget,
    active,
    predict_analysis_bytes,
)
from blinastudy.data.schema import CANONICAL_COLUMNS
from blinastudy.report.mdtext import md_text

__all__ = [
    "ANALYSIS_CPU_ENV",
    "ANALYSIS_MEMORY_ENV",
    "DEFAULTS",
    "LOAD_CPU_ENV",
    "analysis_budget",
    "limit",
    "load_budget",
    "page_budget",
    "show_budget_exceeded",
]

LOG = logging.getLogger("blinastudy.app")

LOAD_CPU_ENV = "BLINASTUDY_LOAD_CPU_SECONDS"
ANALYSIS_CPU_ENV = "BLINASTUDY_ANALYSIS_CPU_SECONDS"
ANALYSIS_MEMORY_ENV = "BLINASTUDY_ANALYSIS_MEMORY_MB"
#: The default of each limit (seconds, or megabytes for the memory).
DEFAULTS: dict[str, float] = {
    LOAD_CPU_ENV: 60.0,
    ANALYSIS_CPU_ENV: 120.0,
    ANALYSIS_MEMORY_ENV: 2048.0,
}
_ADMIN = "ask whoever runs this server to raise"


def limit(name: str, environ: Mapping[str, str] = os.environ) -> float:
    """The limit ``name`` (one of :data:`DEFAULTS`) as the environment sets it: a
    positive number, else the default.

    Examples
    --------
    >>> limit(ANALYSIS_CPU_ENV, {})
    120.0
    >>> limit(ANALYSIS_CPU_ENV, {ANALYSIS_CPU_ENV: "2.5"})
    2.5
    >>> limit(ANALYSIS_CPU_ENV, {ANALYSIS_CPU_ENV: "-1"})
    120.0
    """
    text = environ.get(name, "").strip()
    if text:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if value > 0 and math.isfinite(value):
            return value
        LOG.warning("%s is not a positive number of %s; using the default", name, _unit(name))
    return DEFAULTS[name]


def _unit(name: str) -> str:
    return "megabytes" if name == ANALYSIS_MEMORY_ENV else "seconds"


def load_budget(environ: Mapping[str, str] = os.environ) -> CpuBudget:
    """The CPU budget of reading and checking uploaded files, starting now.

    Examples
    --------
    >>> load_budget({LOAD_CPU_ENV: "30"}).seconds
    30.0
    """
    return CpuBudget(
        limit(LOAD_CPU_ENV, environ),
        "Reading and checking these files",
        "upload a smaller file (fewer rows, or only the columns the analysis reads), "
        f"or {_ADMIN} {LOAD_CPU_ENV}.",
    )


def analysis_budget(cohort: pd.DataFrame, environ: Mapping[str, str] = os.environ) -> StepBudget:
    """The budget of one analysis of ``cohort`` (or its caliper sweep), starting now: its
    predicted memory is checked before the first step, its CPU time before each.

    Examples
    --------
    >>> big = pd.DataFrame(index=range(100_000), columns=list(CANONICAL_COLUMNS))
    >>> analysis_budget(big, {}).needed_bytes / 1e9
    1.49
    >>> analysis_budget(big, {ANALYSIS_MEMORY_ENV: "1000"})("prepare", 0.0)
    Traceback (most recent call last):
    ...
    blinastudy.core.budget.MemoryBudgetExceeded: This analysis would need about 1,490 MB \
of memory on this server, more than the 1,000 MB a session may use; analyse fewer \
patients or leave out columns the analysis does not read, or ask whoever runs this \
server to raise BLINASTUDY_ANALYSIS_MEMORY_MB.
    """
    analysed = sum(str(c) in CANONICAL_COLUMNS for c in cohort.columns)
    task = "This analysis"
    cpu = CpuBudget(
        limit(ANALYSIS_CPU_ENV, environ),
        task,
        f"analyse fewer patients (a smaller file), or {_ADMIN} {ANALYSIS_CPU_ENV}.",
    )
    memory = MemoryBudget(
        limit(ANALYSIS_MEMORY_ENV, environ) * 1e6,
        task,
        "analyse fewer patients or leave out columns the analysis does not read, "
        f"or {_ADMIN} {ANALYSIS_MEMORY_ENV}.",
    )
    needed = predict_analysis_bytes(len(cohort), analysed, cohort.shape[1] - analysed)
    return StepBudget(cpu, memory, needed)


def show_budget_exceeded(exc: BudgetExceeded) -> None:
    """Show why the work stopped (one sentence, no traceback) and log its kind."""
    LOG.warning("budget exceeded (%s)", type(exc).__name__)
    st.error(md_text(exc), icon=":material/hourglass_disabled:")


@contextlib.contextmanager
def page_budget(environ: Mapping[str, str] = os.environ) -> Iterator[None]:
    """Run a page with the CPU budget of reading files (:func:`load_budget`) active on
    its thread; work stopped by any budget in the run is shown, not raised."""
    try:
        with active(load_budget(environ)):
            yield
    except BudgetExceeded as exc:
        show_budget_exceeded(exc)

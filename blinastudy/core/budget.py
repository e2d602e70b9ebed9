"""Budgets of computing time and memory for one piece of work (reading a file, an analysis).

A server shared by several users must not let one upload or one analysis take minutes of
its processor or gigabytes of its memory. A :class:`CpuBudget` counts the CPU time of the
thread doing the work (``time.thread_time``: time spent computing, not waiting, so a busy
machine or a sleep does not use it up) and stops the work with :class:`BudgetExceeded`
once it goes over; its :meth:`~CpuBudget.check` can be passed as the ``progress`` callback
of :func:`blinastudy.analysis.analyze`, which calls it before each named step. A
:class:`MemoryBudget` refuses work whose predicted memory (:func:`predict_analysis_bytes`)
is more than allowed, before it starts. :class:`StepBudget` does both for an analysis.

Code that loops over many rows without a callback (the file readers) calls
:func:`checkpoint`, which checks the budget made :func:`active` on the calling thread, if
any; without one it does nothing.

:class:`BudgetExceeded` derives from :class:`BaseException`, like ``KeyboardInterrupt``:
it stops the work, and no ``except Exception`` on the way (a handler that turns a failed
step into a warning) may swallow it. Its message is one plain sentence for the user.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

__all__ = [
    "BudgetExceeded",
    "CpuBudget",
    "CpuBudgetExceeded",
    "MemoryBudget",
    "MemoryBudgetExceeded",
    "StepBudget",
    "active",
    "checkpoint",
    "predict_analysis_bytes",
]

#: Working memory of an analysis per patient (row), per analysed column of that row (a
#: column of the data dictionary), and per other column, in bytes. An upper bound of what
#: :func:`blinastudy.analysis.analyze` allocates at its peak (``tracemalloc``), measured
#: on cohorts of 1,000 to 30,000 patients: about 9,300 bytes per patient with all 23
#: dictionary columns, 2,700 with 8, plus about 27 per other column (tests/test_budget.py).
BYTES_PER_ROW = 1_000
BYTES_PER_ANALYSED_CELL = 600
BYTES_PER_OTHER_CELL = 100
#: Working memory of an analysis of any size (tables of fixed size, fitted models).
BYTES_FIXED = 10_000_000
#: Calls of :func:`checkpoint` between two readings of the clock.
CHECK_EVERY = 256


class BudgetExceeded(BaseException):
    """Work stopped because it went over its budget; ``str()`` is one sentence for the user.

    Examples
    --------
    >>> issubclass(BudgetExceeded, Exception)
    False
    """


class CpuBudgetExceeded(BudgetExceeded):
    """The work used more CPU time than its :class:`CpuBudget` allows."""


class MemoryBudgetExceeded(BudgetExceeded):
    """The work would need more memory than its :class:`MemoryBudget` allows."""


def _seconds(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else f"{value:.3g}"


def _megabytes(value: float) -> str:
    return f"{value / 1e6:,.0f}"


@dataclass
class CpuBudget:
    """At most ``seconds`` of CPU time of this thread for one piece of work.

    The clock starts when the budget is made. :meth:`check` raises
    :class:`CpuBudgetExceeded` once more than ``seconds`` have been used, with the
    sentence "``task`` needs more than N s of computing time on this server; ``advice``".
    The budget is itself a progress callback (``budget(step, fraction)`` checks).

    Parameters
    ----------
    seconds : float
        CPU seconds allowed (``float("inf")``: no limit).
    task : str
        The work, as the subject of the sentence ("This analysis").
    advice : str
        What the user can do, the end of the sentence.
    clock : callable, default time.thread_time
        The CPU clock of the thread doing the work.

    Examples
    --------
    >>> budget = CpuBudget(0.5, "This analysis", "try a smaller cohort.")
    >>> budget.check("prepare", 0.0)
    >>> ticks = iter([0.0, 0.2, 0.7])
    >>> budget = CpuBudget(0.5, "This analysis", "try a smaller cohort.", clock=lambda: next(ticks))
    >>> budget("prepare", 0.0)
    >>> budget("matching", 0.25)
    Traceback (most recent call last):
    ...
    blinastudy.core.budget.CpuBudgetExceeded: This analysis needs more than 0.5 s of \
computing time on this server; try a smaller cohort.
    """

    seconds: float
    task: str
    advice: str
    clock: Callable[[], float] = time.thread_time
    started: float = field(init=False)

    def __post_init__(self) -> None:
        self.started = self.clock()

    def used(self) -> float:
        """CPU seconds used since the budget was made."""
        return self.clock() - self.started

    def message(self) -> str:
        """The sentence shown when the budget is exceeded."""
        return (
            f"{self.task} needs more than {_seconds(self.seconds)} s of computing time on "
            f"this server; {self.advice}"
        )

    def check(self, step: str = "", fraction: float = 0.0) -> None:
        """Raise :class:`CpuBudgetExceeded` if more than :attr:`seconds` were used.

        ``step`` and ``fraction`` (what :func:`blinastudy.analysis.analyze` passes) are
        not used.
        """
        if self.used() > self.seconds:
            raise CpuBudgetExceeded(self.message())

    def __call__(self, step: str, fraction: float) -> None:
        self.check(step, fraction)


@dataclass(frozen=True)
class MemoryBudget:
    """At most ``limit_bytes`` of working memory for one piece of work.

    Examples
    --------
    >>> budget = MemoryBudget(100e6, "This analysis", "try a smaller cohort.")
    >>> budget.check(99e6)
    >>> budget.check(250e6)
    Traceback (most recent call last):
    ...
    blinastudy.core.budget.MemoryBudgetExceeded: This analysis would need about 250 MB of \
memory on this server, more than the 100 MB a session may use; try a smaller cohort.
    """

    limit_bytes: float
    task: str
    advice: str

    def check(self, needed_bytes: float) -> None:
        """Raise :class:`MemoryBudgetExceeded` if ``needed_bytes`` is over the limit."""
        if needed_bytes > self.limit_bytes:
            raise MemoryBudgetExceeded(
                f"{self.task} would need about {_megabytes(needed_bytes)} MB of memory on "
                f"this server, more than the {_megabytes(self.limit_bytes)} MB a session may "
                f"use; {self.advice}"
            )


def predict_analysis_bytes(rows: int, analysed_columns: int, other_columns: int = 0) -> int:
    """An upper bound of the working memory, in bytes, of one analysis of a cohort of
    ``rows`` patients with ``analysed_columns`` columns of the data dictionary and
    ``other_columns`` further columns (carried along, not analysed).

    The peak of :func:`blinastudy.analysis.analyze` grows in proportion to the cohort:
    :data:`BYTES_PER_ROW` per patient, :data:`BYTES_PER_ANALYSED_CELL` per analysed
    cell, :data:`BYTES_PER_OTHER_CELL` per other cell, plus :data:`BYTES_FIXED`.

    Examples
    --------
    >>> predict_analysis_bytes(100_000, 23) / 1e9
    1.49

    With no patients, the fixed part only:

    >>> predict_analysis_bytes(0, 23) == BYTES_FIXED
    True
    """
    per_row = (
        BYTES_PER_ROW
        + BYTES_PER_ANALYSED_CELL * max(analysed_columns, 0)
        + BYTES_PER_OTHER_CELL * max(other_columns, 0)
    )
    return BYTES_FIXED + max(rows, 0) * per_row


class StepBudget:
    """The budget of an analysis, as its progress callback: before the first step, its
    predicted memory against ``memory`` (:class:`MemoryBudget`); before every step, its
    CPU time against ``cpu`` (:class:`CpuBudget`).

    Examples
    --------
    >>> cpu = CpuBudget(float("inf"), "This analysis", "try a smaller cohort.")
    >>> memory = MemoryBudget(1e9, "This analysis", "try a smaller cohort.")
    >>> StepBudget(cpu, memory, predict_analysis_bytes(1_000, 23))("prepare", 0.0)
    >>> StepBudget(cpu, memory, predict_analysis_bytes(100_000, 23))("prepare", 0.0)
    Traceback (most recent call last):
    ...
    blinastudy.core.budget.MemoryBudgetExceeded: This analysis would need about 1,490 MB \
of memory on this server, more than the 1,000 MB a session may use; try a smaller cohort.
    """

    def __init__(
        self, cpu: CpuBudget, memory: MemoryBudget | None = None, needed_bytes: float = 0
    ) -> None:
        self.cpu = cpu
        self.memory = memory
        self.needed_bytes = needed_bytes
        self._started = False

    def __call__(self, step: str, fraction: float) -> None:
        if not self._started and self.memory is not None:
            self.memory.check(self.needed_bytes)
        self._started = True
        self.cpu.check(step, fraction)


class _Active(threading.local):
    def __init__(self) -> None:
        self.budgets: list[CpuBudget] = []
        self.calls = 0


_active = _Active()


@contextlib.contextmanager
def active(budget: CpuBudget) -> Iterator[CpuBudget]:
    """Make ``budget`` the one :func:`checkpoint` checks on this thread inside the block
    (an inner block's budget replaces an outer one's until it ends).

    Examples
    --------
    >>> ticks = iter([0.0, *[2.0] * CHECK_EVERY])
    >>> with active(CpuBudget(1.0, "Reading this file", "split it.", clock=lambda: next(ticks))):
    ...     for row in range(CHECK_EVERY):
    ...         checkpoint()
    Traceback (most recent call last):
    ...
    blinastudy.core.budget.CpuBudgetExceeded: Reading this file needs more than 1 s of \
computing time on this server; split it.
    >>> checkpoint()  # no budget is active any more: nothing to check
    """
    _active.budgets.append(budget)
    try:
        yield budget
    finally:
        _active.budgets.pop()


def checkpoint() -> None:
    """Check the budget :func:`active` on this thread, if any (the clock is read once in
    :data:`CHECK_EVERY` calls, so a loop may call this once per row).

    Raises
    ------
    CpuBudgetExceeded
        When the active budget's CPU time is used up.

    Examples
    --------
    >>> checkpoint()
    """
    budgets = _active.budgets
    if not budgets:
        return
    _active.calls += 1
    if _active.calls % CHECK_EVERY == 0:
        budgets[-1].check()

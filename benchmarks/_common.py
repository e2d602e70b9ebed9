"""Helpers shared by the benchmark scripts: timing, BLAS threads, machine line, tables.

Every script reports ratios (BlinaStudy against R, or against a reference
operation timed in the same process) rather than bare times, so that results
from different machines and different loads can be compared.
"""

from __future__ import annotations

import contextlib
import gc
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

T = TypeVar("T")


CLOCKS: dict[str, Callable[[], float]] = {
    "wall": time.perf_counter,  # elapsed time: what a user waits for
    "cpu": time.process_time,  # CPU time of this process: robust to other load
}
_clock: list[Callable[[], float]] = [time.perf_counter]


def use_clock(name: str) -> None:
    """Time with ``"wall"`` (``time.perf_counter``, the default) or ``"cpu"`` (``time.process_time``).

    On a shared machine other processes inflate wall times; CPU time of this
    process is far less sensitive to them (with one BLAS thread it equals the
    wall time of an idle machine, near enough).
    """
    _clock[0] = CLOCKS[name]


def median_time(fn: Callable[[], T], repeats: int, *, warmup: int = 1) -> tuple[float, T]:
    """Median time of ``repeats`` calls, after ``warmup`` calls (clock: :func:`use_clock`).

    Returns the median in seconds and the value of the last call.
    """
    clock = _clock[0]
    value = fn() if warmup else None
    for _ in range(max(warmup - 1, 0)):
        value = fn()
    times = []
    for _ in range(max(repeats, 1)):
        gc.collect()
        start = clock()
        value = fn()
        times.append(clock() - start)
    return statistics.median(times), value  # type: ignore[return-value]


@contextlib.contextmanager
def blas_threads(n: int | None) -> Iterator[None]:
    """Limit the BLAS thread pool to ``n`` threads inside the block (``None``: unchanged)."""
    if n is None:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        yield
        return
    with threadpool_limits(limits=n, user_api="blas"):
        yield


def blas_description() -> str:
    """The BLAS numpy uses and its current number of threads."""
    try:
        from threadpoolctl import threadpool_info

        info = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    except ImportError:  # pragma: no cover
        info = []
    if not info:
        return "BLAS: unknown"
    i = next((j for j in info if "numpy" in str(j.get("filepath", ""))), info[0])
    return f"BLAS: {i.get('internal_api')} {i.get('version')} ({i.get('num_threads')} threads)"


def machine_description() -> str:
    """One line: cores, CPU model, Python and numpy versions, BLAS threads, load."""
    import numpy as np

    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = ""
    with contextlib.suppress(OSError, AttributeError):
        load = f", load average {os.getloadavg()[0]:.2f}"
    return (
        f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}, "
        f"numpy {np.__version__}, {blas_description()}{load}"
    )


def fmt_ratio(x: float | None) -> str:
    """A ratio as ``0.123x``; ``n/a`` when missing."""
    if x is None or x != x:
        return "n/a"
    if x >= 100:
        return f"{x:.0f}x"
    if x >= 10:
        return f"{x:.1f}x"
    return f"{x:.3g}x"


def ratio(a: float | None, b: float | None) -> float | None:
    """``a / b``, or ``None`` when either is missing or ``b`` is zero."""
    if a is None or b is None or b <= 0:
        return None
    return a / b


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print a plain-text table with left-aligned first column."""
    cells = [[str(h) for h in headers], *[[str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(r: Sequence[str]) -> str:
        first = r[0].ljust(widths[0])
        rest = [c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest])

    print(line(cells[0]))
    print("  ".join("-" * w for w in widths))
    for r in cells[1:]:
        print(line(r))

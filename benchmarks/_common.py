"""Helpers shared by the benchmark scripts: options, timing, BLAS threads, R, machine line, tables.

Every script reports ratios (BlinaStudy against R, or against a reference
operation timed in the same process) rather than bare times, so that results
from different machines and different loads can be compared.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
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


def print_cross_check(checks: Sequence[tuple[str, str, float | None]], tolerance: float) -> None:
    """Print the maximum relative difference to R of each quantity (``-``: not compared)."""
    print(f"\nCross-check against R (tolerance {tolerance:g} relative)")
    print_table(
        ["quantity", "detail", "max rel. difference", "ok"],
        [
            [
                q,
                d,
                "-" if x is None else f"{x:.2e}",
                "-" if x is None else ("yes" if x <= tolerance else "NO"),
            ]
            for q, d, x in checks
        ],
    )


def bench_parser(
    description: str, name: str, *, quick_help: str, with_r: bool = True, with_clock: bool = True
) -> argparse.ArgumentParser:
    """The options every benchmark takes; ``with_r`` adds ``--no-r`` and ``--seed``.

    ``with_clock`` adds ``--clock`` (browser benchmarks time the wall clock only).

    ``--json`` defaults to ``benchmarks/out/<name>.json``.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per step")
    if with_r:
        parser.add_argument("--no-r", action="store_true", help="skip the R comparison")
        parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=1,
        help="numpy's BLAS threads (default 1, as R's reference BLAS; 0: leave as configured)",
    )
    if with_clock:
        parser.add_argument(
            "--clock",
            choices=sorted(CLOCKS),
            default="wall",
            help="wall time (default) or CPU time of each process (steadier on a shared machine)",
        )
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "out" / f"{name}.json")
    return parser


@contextlib.contextmanager
def bench_setup(args: argparse.Namespace) -> Iterator[None]:
    """Use the clock and BLAS threads that ``args`` ask for, and print the machine line."""
    use_clock(getattr(args, "clock", "wall"))
    with blas_threads(args.blas_threads or None):
        print(f"Machine: {machine_description()}")
        yield


def chromium_missing(chromium: Path) -> bool:
    """Whether a browser benchmark cannot run here for want of ``chromium`` (said on stderr)."""
    if chromium.exists():
        return False
    print(f"{chromium} is missing: apt-get install chromium", file=sys.stderr)
    return True


def browser_main(
    argv: list[str] | None,
    doc: str,
    name: str,
    run: Callable[[argparse.Namespace], dict[str, Any]],
    *,
    quick_help: str,
    options: Callable[[argparse.ArgumentParser], None] | None = None,
) -> int:
    """Run a browser benchmark: its options, the Chromium check, the timing and the JSON.

    The options are those of :func:`bench_parser` (first line of ``doc``, wall
    clock only) and whatever ``options`` adds. Returns 2 when Chromium is
    missing; otherwise calls ``run(args)`` inside :func:`bench_setup`, prints the
    machine line at the end and writes what ``run`` returned, after the machine
    line, to ``args.json``.
    """
    from tests._server import CHROMIUM

    parser = bench_parser(
        doc.splitlines()[0], name, quick_help=quick_help, with_r=False, with_clock=False
    )
    if options is not None:
        options(parser)
    args = parser.parse_args(argv)
    if chromium_missing(CHROMIUM):
        return 2
    with bench_setup(args):
        payload = run(args)
        print(f"Machine at the end: {machine_description()}")
        write_json(args.json, {"machine": machine_description(), **payload})
    return 0


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` as indented JSON, creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2))


def write_r_comparison(
    args: argparse.Namespace,
    sizes: dict[str, Any],
    repeats: int,
    ratios: dict[str, Any],
    checks: Sequence[tuple[str, str, float | None]],
    **extra: Any,
) -> None:
    """Write a comparison with R (ratios and cross-checks) to ``args.json``."""
    write_json(
        args.json,
        {
            "machine": machine_description(),
            "sizes": {k: v for k, v in sizes.items() if k != "scaling"},
            "repeats": repeats,
            "clock": args.clock,
            "ratios": ratios,
            "cross_check": [{"quantity": q, "detail": d, "max_rel_diff": x} for q, d, x in checks],
            **extra,
        },
    )


def r_available(packages: Sequence[str]) -> bool:
    """Whether ``Rscript`` runs and every one of the R ``packages`` loads."""
    if shutil.which("Rscript") is None:
        return False
    names = ",".join(f"'{p}'" for p in packages)
    probe = f"for (p in c({names})) if (!requireNamespace(p, quietly=TRUE)) quit(status=1)"
    try:
        done = subprocess.run(
            ["Rscript", "-e", probe], capture_output=True, timeout=120, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


#: What every R benchmark script starts with: its arguments (folder, repeats, clock),
#: the clock ``now()`` and ``time_step(fun, reps)``, R's counterpart of :func:`median_time`.
R_PRELUDE = r"""
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]; reps <- as.integer(args[2]); clock <- args[3]
now <- if (identical(clock, "cpu")) {
  function() { p <- proc.time(); p[["user.self"]] + p[["sys.self"]] }
} else {
  function() proc.time()[["elapsed"]]
}
# median over `reps` blocks of the time per call (proc.time: elapsed, or user +
# system for the CPU clock); a block repeats a fast step until it lasts min_block
# seconds, as proc.time has millisecond resolution
time_step <- function(fun, reps, min_block = 0.05) {
  t0 <- now(); val <- fun(); first <- now() - t0
  if (first >= 1) {  # slow step: the first call counts as a sample
    el <- first
    for (i in seq_len(max(reps - 1L, 0L))) {
      t0 <- now(); val <- fun()
      el <- c(el, now() - t0)
    }
    return(list(seconds = median(el), block = 1L, value = val))
  }
  k <- max(1L, as.integer(ceiling(min_block / max(first, 1e-4))))
  el <- numeric(reps)
  for (i in seq_len(reps)) {
    t0 <- now()
    for (j in seq_len(k)) val <- fun()
    el[i] <- (now() - t0) / k
  }
  list(seconds = median(el), block = k, value = val)
}
"""


def run_r_script(
    script: str,
    frames: dict[str, Any],
    args: Sequence[str],
    timeout: float,
) -> dict[str, Any]:
    """Run an R ``script`` on CSV files and return the JSON it prints.

    Each frame in ``frames`` is written as ``<key>.csv`` to a temporary folder; the
    script, after :data:`R_PRELUDE`, is called as ``Rscript --vanilla bench.R FOLDER *args``.
    """
    with tempfile.TemporaryDirectory(prefix="blinastudy-bench-") as tmp:
        folder = Path(tmp)
        for key, frame in frames.items():
            frame.to_csv(folder / f"{key}.csv", index=False)
        path = folder / "bench.R"
        path.write_text(R_PRELUDE + script)
        done = subprocess.run(
            ["Rscript", "--vanilla", str(path), str(folder), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"R benchmark failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def traced_peak(fn: Callable[[], T]) -> tuple[int, T]:
    """Peak memory in bytes that one call of ``fn`` holds at once (``tracemalloc``), and its value.

    Counts what ``fn`` allocates and has not yet freed at its worst moment
    (numpy and pandas report their buffers to ``tracemalloc``), not its inputs.
    Tracing slows the call down: time it separately.
    """
    import tracemalloc

    gc.collect()
    tracemalloc.start()
    try:
        value = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, value


def max_rss_bytes() -> int:
    """The largest resident set size this process has had so far, in bytes.

    On Linux the high-water mark of the process's own memory (``VmHWM`` in
    ``/proc/self/status``): ``getrusage``'s ``ru_maxrss`` survives ``exec``, so
    a process started by a larger one would report its parent's peak.
    Elsewhere ``ru_maxrss``.
    """
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # kB
    import resource  # Unix only

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024  # Linux: KiB


def call_in_child(script: Path, function: str, *args: Any, timeout: float = 3600) -> Any:
    """Call ``function(*args)`` of the benchmark ``script`` in a new Python process.

    For measurements that must not share a process (memory peaks of several
    sizes): the arguments and the returned value travel as JSON.
    """
    code = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(script.parent)!r})\n"
        f"import {script.stem} as bench\n"
        f"value = bench.{function}(*json.loads(sys.argv[1]))\n"
        "print('\\n' + json.dumps(value))\n"
    )
    command = [sys.executable, "-c", code, json.dumps(args)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"{script.name}: {function} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])

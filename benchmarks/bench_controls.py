"""Per-control benchmark: from one changed setting to the new result, with the step cache warm.

On the demo cohort, for each control of the app (caliper, ratio, replacement,
exact strata, endpoint, time origin, landmark month, MRD time point and
threshold, subgroup variables, method), this script warms a
:class:`~blinastudy.analysis.stepcache.StepCache` at the default settings (untimed),
moves that one control, and times what the app then computes for the page that
shows it: the parts of :func:`~blinastudy.analysis.analyze` that page asks for
(:data:`PAGE_PARTS`; live bootstrap replicates), first its headline and then the
rest, and on the Matching page the caliper sweep
(:func:`~blinastudy.analysis.sweep_result`).
Beside it, the same work without a step cache (every step recomputed, as before
steps were cached), and the first load (empty cache). Every time is a ratio to
one lifelines ``CoxPHFitter`` fit (clustered on the pair) of EFS on the matched
demo sample, timed in the same process; CPU time (``time.process_time``) by
default, medians of ``--repeats`` runs.

Run: ``python benchmarks/bench_controls.py [--quick] [--repeats N]``.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pandas as pd
from _common import ROOT, blas_threads, fmt_ratio, machine_description, print_table
from bench_live import build_inputs, lifelines_reference

from blinastudy.analysis import analyze, sweep_result
from blinastudy.analysis.settings import Settings
from blinastudy.analysis.stepcache import StepCache

#: What each page of the app asks the analysis for (``analyze(parts=...)``, as the
#: pages call it): the parts drawn first (the headline) and those drawn after it.
PAGE_PARTS: dict[str, tuple[tuple[str, ...], ...]] = {
    "Data": (("baseline",),),
    "Matching": (("matching",),),
    "Survival": (("survival",), ("survival", "estimates", "immortal")),
    "MRD": (("mrd",),),
    "Subgroups": (("forest",),),
}


@dataclass(frozen=True)
class Control:
    """One control of the app, the change timed, and the page that shows it (the
    Matching page also shows the caliper sweep)."""

    name: str
    changes: dict[str, Any]
    page: str

    @property
    def sweep(self) -> bool:
        return self.page == "Matching"


CONTROLS = (
    Control("caliper", {"matching__caliper": 0.1}, "Matching"),
    Control("ratio", {"matching__ratio": 2}, "Matching"),
    Control("replacement", {"matching__replace": True}, "Matching"),
    Control("exact strata", {"matching__exact": ("risk_group",)}, "Matching"),
    Control("endpoint", {"endpoint": "os"}, "Survival"),
    Control("time origin", {"origin": "landmark"}, "Survival"),
    Control("landmark month", {"landmark_months": 6.0}, "Survival"),
    Control("MRD time point", {"mrd__timepoint": "day15"}, "MRD"),
    Control("MRD threshold", {"mrd__threshold_pct": 0.01}, "MRD"),
    Control("subgroup variables", {"subgroups": ("sex", "age_band", "risk_group")}, "Subgroups"),
    Control("method (weighting)", {"population": "weighted"}, "Matching"),
)

#: The first load: the app opens on the Data page.
FIRST_PAGE = "Data"


def page_work(
    cohort: pd.DataFrame,
    settings: Settings,
    cache: StepCache | None,
    page: str,
    *,
    stage: str = "all",
) -> Callable[[], None]:
    """What the app computes for ``page``: its parts of the analysis in the order the
    page asks for them, and on the Matching page the caliper sweep. ``stage``:
    ``"headline"`` the first request alone, ``"rest"`` what follows it, ``"all"`` both."""
    requests = PAGE_PARTS[page]
    if stage == "headline":
        requests = requests[:1]
    elif stage == "rest":
        requests = requests[1:]

    def run() -> None:
        for parts in requests:
            analyze(
                cohort,
                settings,
                sweep=False,
                replicates=settings.bootstrap.live_replicates,
                cache=cache,
                parts=parts,
            )
        if page == "Matching" and stage != "headline":
            sweep_result(cohort, settings, cache=cache)

    return run


def _timed(fn: Callable[[], None], clock: Callable[[], float]) -> float:
    gc.collect()
    start = clock()
    fn()
    return clock() - start


def measure(
    controls: tuple[Control, ...] = CONTROLS,
    *,
    repeats: int = 5,
    live_replicates: int | None = None,
    clock: Callable[[], float] = time.process_time,
) -> list[dict[str, Any]]:
    """Rows per control: median times (seconds) with a warm step cache, without one,
    and of the reference fit timed just before, plus the steps recomputed."""
    inputs = build_inputs()
    base = inputs.settings
    if live_replicates is not None:
        base = base.update(bootstrap__live_replicates=live_replicates)
    cohort = inputs.cohort
    reference = lifelines_reference(inputs)
    reference()  # warm-up
    rows = []
    first = [
        (
            _timed(reference, clock),
            _timed(page_work(cohort, base, StepCache(), FIRST_PAGE), clock),
            _timed(page_work(cohort, base, None, FIRST_PAGE), clock),
        )
        for _ in range(repeats)
    ]
    rows.append(
        {
            "control": f"first load (empty cache, {FIRST_PAGE} page)",
            "reference": statistics.median(r for r, _, _ in first),
            "headline": statistics.median(t for _, t, _ in first),
            "cached": statistics.median(t for _, t, _ in first),
            "uncached": statistics.median(t for _, _, t in first),
            "steps": "all the Data page reads",
        }
    )
    for control in controls:
        moved = base.update(**control.changes)
        refs, head, warm, cold = [], [], [], []
        steps: list[str] = []
        for _ in range(repeats):
            cache = StepCache()
            for page in PAGE_PARTS:  # a session that has opened every page, untimed
                page_work(cohort, base, cache, page)()
            before = dict(cache.runs)
            refs.append(_timed(reference, clock))
            head.append(
                _timed(page_work(cohort, moved, cache, control.page, stage="headline"), clock)
            )
            rest = _timed(page_work(cohort, moved, cache, control.page, stage="rest"), clock)
            warm.append(head[-1] + rest)
            cold.append(_timed(page_work(cohort, moved, None, control.page), clock))
            steps = [s for s in cache.runs if cache.runs[s] > before.get(s, 0)]
        rows.append(
            {
                "control": f"{control.name} ({control.page})",
                "reference": statistics.median(refs),
                "headline": statistics.median(head),
                "cached": statistics.median(warm),
                "uncached": statistics.median(cold),
                "steps": ", ".join(steps) or "none",
            }
        )
    return rows


def step_profile(
    changes: dict[str, Any] | None = None,
    *,
    repeats: int = 3,
    clock: Callable[[], float] = time.process_time,
) -> dict[str, float]:
    """Where the time goes: median time per step (seconds, from the analysis' progress
    callback: the time from one step's start to the next) of the first load, or, with
    ``changes``, of that control's move with the step cache warm."""
    inputs = build_inputs()
    base = inputs.settings
    runs: list[dict[str, float]] = []
    for _ in range(repeats):
        cache = StepCache()
        if changes is not None:
            for page in PAGE_PARTS:  # warm, untimed
                page_work(inputs.cohort, base, cache, page)()
        settings = base if changes is None else base.update(**changes)
        marks: list[tuple[str, float]] = []

        def mark(step: str, _share: float, marks: list[tuple[str, float]] = marks) -> None:
            marks.append((step, clock()))

        gc.collect()
        analyze(
            inputs.cohort,
            settings,
            sweep=False,
            replicates=settings.bootstrap.live_replicates,
            cache=cache,
            progress=mark,
        )
        marks.append(("end", clock()))
        per_step: dict[str, float] = {}
        for (step, start), (_, stop) in itertools.pairwise(marks):
            per_step[step] = per_step.get(step, 0.0) + stop - start
        runs.append(per_step)
    return {step: statistics.median(r.get(step, 0.0) for r in runs) for step in runs[0]}


def report_profile(profiles: dict[str, dict[str, float]], reference: float) -> None:
    """Print each profile's steps as ratios to the reference fit, largest first."""
    for name, per_step in profiles.items():
        total = sum(per_step.values())
        print(f"\nWhere the time goes: {name} ({fmt_ratio(total / reference)} in all)")
        print_table(
            ["step", "/ one lifelines fit", "share"],
            [
                [step, fmt_ratio(seconds / reference), f"{100 * seconds / total:.0f}%"]
                for step, seconds in sorted(per_step.items(), key=lambda kv: -kv[1])
                if seconds / total >= 0.02
            ],
        )


def report(rows: list[dict[str, Any]]) -> None:
    """Print the ratios to the reference fit."""
    print_table(
        ["control (page)", "headline", "whole page", "no step cache", "steps recomputed"],
        [
            [
                r["control"],
                fmt_ratio(r["headline"] / r["reference"]),
                fmt_ratio(r["cached"] / r["reference"]),
                fmt_ratio(r["uncached"] / r["reference"]),
                r["steps"],
            ]
            for r in rows
        ],
    )
    ref_ms = 1000 * statistics.median(r["reference"] for r in rows)
    print(f"\nReference: one lifelines CoxPHFitter fit, median {ref_ms:.1f} ms here.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per control")
    parser.add_argument(
        "--clock", choices=["wall", "cpu"], default="cpu", help="cpu (default) or wall time"
    )
    parser.add_argument(
        "--json", type=Path, default=ROOT / "benchmarks" / "out" / "bench_controls.json"
    )
    parser.add_argument(
        "--profile", action="store_true", help="also print the time per analysis step"
    )
    args = parser.parse_args(argv)
    repeats = args.repeats or (2 if args.quick else 7)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    with blas_threads(1):
        print(f"Machine: {machine_description()}")
        print(f"Demo cohort, default settings; median of {repeats} runs, {args.clock} clock")
        print("Time from the changed setting to the page's results, / one lifelines Cox fit\n")
        rows = measure(repeats=repeats, clock=clock)
        report(rows)
        if args.profile:
            reference = statistics.median(r["reference"] for r in rows)
            profiles = {"first load": step_profile(repeats=repeats, clock=clock)}
            for control in CONTROLS:
                if control.name in ("caliper", "MRD threshold"):
                    moved = step_profile(control.changes, repeats=repeats, clock=clock)
                    profiles[f"{control.name} moved"] = moved
            report_profile(profiles, reference)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps({"machine": machine_description(), "repeats": repeats, "rows": rows}, indent=2)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

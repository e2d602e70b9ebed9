"""Live-use benchmark: what one change of a setting costs on the demo cohort (690 patients).

The app recomputes :func:`blinastudy.analysis.analyze` whenever a setting
changes. This script times, on the demo cohort with default settings:

* one full recomputation ``analyze(cohort, settings, sweep=False)`` (which
  includes the subgroup forest);
* the caliper sweep (``caliper_sweep``, 8 calipers by default);
* the subgroup forest alone (``forest`` on the matched sample);
* ``analyze`` with the sweep, as the first load of the app computes it;

each as a ratio to a reference run in the same process: one lifelines
``CoxPHFitter`` fit (clustered on the pair) of the EFS hazard ratio on the same
matched sample. It then prints the budget checks implied by those ratios at the
reference's nominal cost (``--reference-ms``, 15 ms per fit on an idle
2-core machine): analyze well under 100 ms; the survival page's server time
(analyze plus its Kaplan-Meier chart spec) at most 300 ms; sweep + forest at
most 1 s. ``--profile`` adds a cProfile of ``analyze``; ``--clock cpu`` times
CPU time instead of wall time (steadier on a shared machine).

Run: ``python benchmarks/bench_live.py [--quick] [--profile]``.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import statistics
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common
import pandas as pd

from blinastudy.analysis import (
    ENDPOINTS,
    PAIR,
    TREATED,
    analyze,
    caliper_sweep,
    prepare_cohort,
)
from blinastudy.analysis.settings import Settings
from blinastudy.data.demo import make_demo_cohort
from blinastudy.report.charts import km_chart
from blinastudy.stats.subgroups import forest

BUDGET_ANALYZE = 0.100  # seconds: analyze well under this
BUDGET_PAGE = 0.300  # seconds: server time of the survival page
BUDGET_SWEEP_FOREST = 1.0  # seconds: sweep + forest
REFERENCE_MS = 15.0  # one lifelines CoxPHFitter fit on the demo's matched sample, idle machine


@dataclass
class LiveInputs:
    """The demo cohort, the settings and what the timed steps take as input."""

    cohort: pd.DataFrame
    settings: Settings
    complete: pd.DataFrame  # prepared frame, complete on the matching covariates
    matched: pd.DataFrame  # matched sample of the default analysis
    by: list[str]  # subgroup variables present


def build_inputs(
    settings: Settings | None = None, cohort: pd.DataFrame | None = None
) -> LiveInputs:
    """Prepare the inputs of every timed step (one untimed ``analyze`` run)."""
    settings = settings or Settings()
    cohort = make_demo_cohort() if cohort is None else cohort
    frame = prepare_cohort(cohort, settings)
    needed = list(dict.fromkeys([*settings.matching.covariates, *settings.matching.exact]))
    complete = frame.loc[~frame[needed].isna().any(axis=1)]
    res = analyze(cohort, settings, sweep=False)
    if res.match is None:
        raise RuntimeError(f"the benchmark needs a matched sample: {res.match_error}")
    matched = res.match.matched
    by = [v for v in settings.subgroups if v in matched.columns]
    return LiveInputs(cohort, settings, complete, matched, by)


def lifelines_reference(inputs: LiveInputs) -> Any:
    """A callable fitting lifelines' clustered Cox model of EFS on the matched sample."""
    from lifelines import CoxPHFitter

    tcol, ecol, _ = ENDPOINTS[inputs.settings.endpoint]
    data = inputs.matched[[tcol, ecol, TREATED, PAIR]].reset_index(drop=True)

    def fit() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            CoxPHFitter().fit(data, tcol, ecol, cluster_col=PAIR)

    return fit


def time_steps(inputs: LiveInputs, repeats: int) -> dict[str, float]:
    """Median seconds of each live step and of the lifelines reference.

    The reference is timed again before every step and its median over all those
    runs is used, so that a change of machine load during the run moves both.
    """
    s = inputs.settings
    tcol, ecol, _ = ENDPOINTS[s.endpoint]
    reference = lifelines_reference(inputs)
    steps: dict[str, Any] = {
        "analyze": lambda: analyze(inputs.cohort, s, sweep=False),
        "sweep": lambda: caliper_sweep(inputs.complete, s),
        "forest": lambda: forest(
            inputs.matched, tcol, ecol, TREATED, inputs.by, conf_level=s.conf_level, cluster=PAIR
        ),
        "analyze_sweep": lambda: analyze(inputs.cohort, s, sweep=True),
        "page": lambda: survival_page(inputs),
    }
    out: dict[str, float] = {}
    ref_runs: list[float] = []
    for key, fn in steps.items():
        ref_runs.append(common.median_time(reference, repeats)[0])
        out[key] = common.median_time(fn, repeats)[0]
    out["reference"] = statistics.median(ref_runs)
    return out


def survival_page(inputs: LiveInputs) -> dict[str, Any]:
    """The survival page's server-side work: analyze, then its Kaplan-Meier chart as a spec.

    Streamlit sends the Vega-Lite spec (``to_dict``) to the browser, which draws it.
    """
    s = inputs.settings
    res = analyze(inputs.cohort, s, sweep=False)
    spec: dict[str, Any] = km_chart(res.endpoint, horizon=s.horizon_months).to_dict()
    return spec


def report(t: dict[str, float], reference_ms: float = REFERENCE_MS) -> dict[str, Any]:
    """Print the ratio table and the budget checks; return them."""
    ref = t["reference"]
    rows = [
        ("analyze(sweep=False): one recomputation", "analyze"),
        ("  of which the subgroup forest", "forest"),
        ("caliper sweep (8 calipers)", "sweep"),
        ("analyze(sweep=True): first load", "analyze_sweep"),
        ("survival page: analyze + KM chart spec", "page"),
    ]
    print("\nTime ratios to one lifelines CoxPHFitter fit (cluster = pair) on the matched sample")
    common.print_table(
        ["step", "/ lifelines fit", "share of analyze"],
        [
            [
                label,
                common.fmt_ratio(common.ratio(t[k], ref)),
                common.fmt_ratio(common.ratio(t[k], t["analyze"])),
            ]
            for label, k in rows
        ],
    )
    checks = [
        ("analyze < 100 ms", t["analyze"], BUDGET_ANALYZE),
        ("survival page server time <= 300 ms", t["page"], BUDGET_PAGE),
        ("sweep + forest <= 1 s", t["sweep"] + t["forest"], BUDGET_SWEEP_FOREST),
    ]
    print(
        f"\nBudget checks, implied by the ratios at {reference_ms:g} ms per reference fit "
        f"(measured here: {ref * 1e3:.1f} ms per fit)"
    )
    out: dict[str, Any] = {"ratios": {k: common.ratio(v, ref) for k, v in t.items()}, "budgets": {}}
    table = []
    for label, sec, budget in checks:
        implied = sec / ref * reference_ms / 1e3
        met = implied <= budget
        met_here = sec <= budget
        out["budgets"][label] = {
            "met": met,
            "implied_over_budget": implied / budget,
            "met_as_measured": met_here,
        }
        table.append(
            [
                label,
                common.fmt_ratio(common.ratio(sec, ref)),
                f"{implied * 1e3:.0f} ms",
                "MET" if met else "NOT MET",
                f"{sec * 1e3:.0f} ms",
                "MET" if met_here else "NOT MET",
            ]
        )
    common.print_table(
        [
            "budget",
            "/ lifelines fit",
            f"implied at {reference_ms:g} ms",
            "status",
            "measured here",
            "status here",
        ],
        table,
    )
    return out


def profile(inputs: LiveInputs, runs: int, top: int = 25) -> str:
    """cProfile of ``runs`` calls of ``analyze(sweep=False)``: top functions by cumulative time."""
    analyze(inputs.cohort, inputs.settings, sweep=False)
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(runs):
        analyze(inputs.cohort, inputs.settings, sweep=False)
    prof.disable()
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = common.bench_parser(
        __doc__.splitlines()[0], "bench_live", quick_help="fewer repeats", with_r=False
    )
    parser.add_argument("--profile", action="store_true", help="also cProfile analyze()")
    parser.add_argument(
        "--reference-ms",
        type=float,
        default=REFERENCE_MS,
        help="nominal cost of one reference fit for the implied budget checks",
    )
    args = parser.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 15)
    with common.bench_setup(args):
        inputs = build_inputs()
        print(
            f"Demo cohort: {len(inputs.cohort)} patients, matched sample {len(inputs.matched)} "
            f"rows, {len(inputs.settings.sweep_calipers)} sweep calipers, "
            f"forest by {', '.join(inputs.by)}; median of {repeats} runs, {args.clock} clock"
        )
        times = time_steps(inputs, repeats)
        out = report(times, args.reference_ms)
        if args.profile:
            text = profile(inputs, runs=max(repeats // 3, 3))
            print("\ncProfile of analyze(sweep=False)")
            print(text)
    out["machine"] = common.machine_description()
    out["repeats"] = repeats
    out["clock"] = args.clock
    common.write_json(args.json, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Competing-risks benchmark: cumulative incidence, Gray's test and Fine-Gray at registry size, against R.

The cohort of ``bench_core.py`` (10,000 treated patients and a 100,000-patient
control pool, half-month times, so heavy ties) with its events split into two
causes: relapse (1) and death in remission (2), death more likely for older
patients. The whole cohort goes through BlinaStudy and, when ``Rscript`` with
the cmprsk and jsonlite packages is available, through R's cmprsk:

1. cumulative incidence of both causes: ``cumulative_incidence`` once per
   cause vs ``cuminc(time, status)``;
2. by arm: Gray's test for both causes and the four arm-by-cause curves,
   ``gray_test`` + ``cumulative_incidence`` vs ``cuminc(time, status,
   treated)``, which computes the same in one call;
3. Fine-Gray with the treatment indicator: ``fine_gray`` vs ``crr(time,
   status, cbind(treated))`` with its variance.

R's ``crr`` computes its sandwich variance with nested loops over patients
(O(n^2) and worse): at the full size it runs for many minutes, so it is timed
once; BlinaStudy's ``fine_gray`` turns those loops into cumulative sums.
Timing is as in ``bench_core.py``: Python steps with ``time.perf_counter``
(median of N runs after a warm-up), R steps inside R with ``proc.time``
(median of N blocks, a block repeating a fast step until it lasts 50 ms), so
R's start-up is excluded; ``--clock cpu`` times CPU time on both sides. numpy's
BLAS runs on one thread. The script prints BlinaStudy/R ratios per step and in
total, and cross-checks every estimate against R (maximum relative difference;
at the full size ``crr``'s standard error is about 4e-7 off because ``crr``
squares numbers at risk above 46,340 in 32-bit integers, see
:mod:`blinastudy.stats.survival.finegray`).

Run: ``python benchmarks/bench_cmprsk.py`` (``--quick`` for a 1,000 / 10,000 cohort).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common
import numpy as np
import pandas as pd
from bench_core import (
    FULL,
    QUICK,
    TARGET_RATIO,
    TOLERANCE,
    build_cohort,
    max_rel_diff,
    ratio_rows,
)

from blinastudy.stats.survival import cumulative_incidence, fine_gray, gray_test

CAUSES = (1, 2)

# ---------------------------------------------------------------------------
# data


def build_competing(n_treated: int, n_pool: int, seed: int = 2024) -> pd.DataFrame:
    """``bench_core``'s cohort with ``status``: 0 censored, 1 relapse, 2 death in remission.

    Each event is a death in remission with probability 0.15 to 0.5 rising
    with age (and a little higher on treatment), otherwise a relapse.
    """
    cohort = build_cohort(n_treated, n_pool, seed)
    rng = np.random.default_rng(seed + 1)
    p_death = 0.15 + 0.02 * cohort["age_years"].to_numpy() + 0.05 * cohort["treated"].to_numpy()
    death = rng.random(len(cohort)) < p_death
    status = np.where(cohort["event"].to_numpy() == 1, np.where(death, 2, 1), 0)
    return cohort.drop(columns="event").assign(status=status.astype(np.int64))


# ---------------------------------------------------------------------------
# BlinaStudy side


def _incidence_both(c: pd.DataFrame) -> list[pd.DataFrame]:
    return [cumulative_incidence(c["time"], c["status"], cause=k) for k in CAUSES]


def _by_arm(c: pd.DataFrame) -> tuple[list[Any], list[pd.DataFrame]]:
    tests = [gray_test(c["time"], c["status"], c["treated"], cause=k) for k in CAUSES]
    curves = []
    for arm in (0, 1):
        sub = c.loc[c["treated"] == arm, ["time", "status"]]
        curves.extend(cumulative_incidence(sub["time"], sub["status"], cause=k) for k in CAUSES)
    return tests, curves


def run_blinastudy(c: pd.DataFrame, repeats: int) -> dict[str, Any]:
    """Median times (seconds) and results of each BlinaStudy step."""
    return {
        "cuminc": common.median_time(lambda: _incidence_both(c), repeats),
        "by_arm": common.median_time(lambda: _by_arm(c), repeats),
        "crr": common.median_time(lambda: fine_gray(c, "time", "status", ["treated"]), repeats),
    }


# ---------------------------------------------------------------------------
# R side

R_SCRIPT = r"""
suppressPackageStartupMessages({ library(cmprsk); library(jsonlite) })
d <- read.csv(file.path(dir, "cohort.csv"))

s_ci <- time_step(function() cuminc(d$time, d$status, cencode = 0), reps)
s_arm <- time_step(function() cuminc(d$time, d$status, d$treated, cencode = 0), reps)
s_crr <- time_step(function() crr(d$time, d$status, cov1 = cbind(treated = d$treated),
                                  failcode = 1, cencode = 0), 1L)
times <- sort(unique(d$time))
tp <- timepoints(s_ci$value, times)
fit <- s_crr$value
out <- list(
  seconds = list(cuminc = s_ci$seconds, by_arm = s_arm$seconds, crr = s_crr$seconds),
  versions = list(R = paste(R.version$major, R.version$minor, sep = "."),
                  cmprsk = as.character(packageVersion("cmprsk"))),
  cuminc = list(time = times, est1 = unname(tp$est["1 1", ]), var1 = unname(tp$var["1 1", ]),
                est2 = unname(tp$est["1 2", ]), var2 = unname(tp$var["1 2", ])),
  gray = list(stat = unname(s_arm$value$Tests[, "stat"])),
  crr = list(coef = unname(fit$coef), se = unname(sqrt(diag(fit$var))),
             converged = fit$converged)
)
cat(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null"))
"""


R_PACKAGES = ("cmprsk", "jsonlite")


def run_r(c: pd.DataFrame, repeats: int, clock: str = "wall") -> dict[str, Any]:
    """Write the cohort to a temporary folder, run the R steps, return their JSON output."""
    frames = {"cohort": c[["time", "status", "treated"]]}
    return common.run_r_script(R_SCRIPT, frames, [str(repeats), clock], timeout=6 * 3600)


# ---------------------------------------------------------------------------
# cross-checks and report


def cross_check(py: dict[str, Any], r: dict[str, Any]) -> list[tuple[str, str, float | None]]:
    """(quantity, detail, max relative difference) rows against R."""
    rows: list[tuple[str, str, float | None]] = []
    curves = py["cuminc"][1]
    for k, curve in zip(CAUSES, curves, strict=True):
        same = np.array_equal(curve["time"].to_numpy(), np.asarray(r["cuminc"]["time"], float))
        worst = (
            max(
                max_rel_diff(curve["incidence"], r["cuminc"][f"est{k}"]),
                max_rel_diff(curve["variance"], r["cuminc"][f"var{k}"]),
            )
            if same
            else float("inf")
        )
        rows.append((f"cumulative incidence, cause {k}", f"{len(curve)} times, est + var", worst))
    tests = py["by_arm"][1][0]
    rows.append(
        (
            "Gray's test statistic",
            ", ".join(f"{t.statistic:.6g}" for t in tests),
            max_rel_diff([t.statistic for t in tests], r["gray"]["stat"]),
        )
    )
    rows.extend(
        ratio_rows(
            py["crr"][1],
            "shr",
            r["crr"]["coef"],
            r["crr"]["se"],
            ("Fine-Gray log SHR", "Fine-Gray SE (crr's sandwich)"),
        )
    )
    return rows


STEP_LABELS = [
    ("cuminc", "cumulative incidence, both causes"),
    ("by_arm", "by arm: Gray's test + 4 curves"),
    ("crr", "Fine-Gray, treatment indicator"),
]


def report(py: dict[str, Any], r: dict[str, Any] | None) -> dict[str, Any]:
    """Print the ratio table; return the ratios."""
    r_sec = r["seconds"] if r else {}
    ratios: dict[str, Any] = {}
    rows = []
    for key, label in STEP_LABELS:
        ratios[key] = common.ratio(py[key][0], r_sec.get(key))
        rows.append([label, common.fmt_ratio(ratios[key])])
    total_py = sum(py[k][0] for k, _ in STEP_LABELS)
    total_r = sum(r_sec[k] for k, _ in STEP_LABELS) if r else None
    ratios["total"] = common.ratio(total_py, total_r)
    rows.append(["TOTAL", common.fmt_ratio(ratios["total"])])
    print("\nTime ratios (median of repeated runs; lower is faster for BlinaStudy)")
    common.print_table(["step", "BlinaStudy / R"], rows)
    if r is None:
        print("\nR (Rscript with cmprsk and jsonlite) not available: no R ratios.")
        ratios["target_met"] = None
        return ratios
    met = all(ratios[k] is not None and ratios[k] <= TARGET_RATIO for k, _ in STEP_LABELS)
    ratios["target_met"] = met
    print(
        f"\nTarget: every step <= 1/3 of R's time (ratio <= {TARGET_RATIO:.3f}): "
        f"{'MET' if met else 'NOT MET'}."
    )
    return ratios


def main(argv: list[str] | None = None) -> int:
    parser = common.bench_parser(
        __doc__.splitlines()[0], "bench_cmprsk", quick_help="1,000 treated / 10,000 pool"
    )
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    repeats = args.repeats or (3 if args.quick else 5)
    with common.bench_setup(args):
        cohort = build_competing(sizes["n_treated"], sizes["n_pool"], args.seed)
        counts = cohort["status"].value_counts()
        print(
            f"Cohort: {int(cohort['treated'].sum()):,} treated, "
            f"{int((cohort['treated'] == 0).sum()):,} pool, {int(counts.get(1, 0)):,} relapses, "
            f"{int(counts.get(2, 0)):,} deaths in remission, {cohort['time'].nunique()} distinct "
            f"times; median of {repeats} runs ({args.clock} clock; R's crr once)"
        )
        py = run_blinastudy(cohort, repeats)
        r = None
        if not args.no_r and common.r_available(R_PACKAGES):
            r = run_r(cohort, repeats, args.clock)
            print(f"R {r['versions']['R']}, cmprsk {r['versions']['cmprsk']}")
        ratios = report(py, r)
        checks: list[tuple[str, str, float | None]] = []
        if r is not None:
            checks = cross_check(py, r)
            common.print_cross_check(checks, TOLERANCE)
    common.write_r_comparison(args, sizes, repeats, ratios, checks)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

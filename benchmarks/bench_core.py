"""Core benchmark: propensity, greedy matching, Kaplan-Meier, log-rank and Cox at registry size.

A synthetic cohort of 10,000 treated patients and a 100,000-patient control pool
(four covariates, one of them categorical with three levels and one binary;
half-month survival times, so many ties) goes through the same pipeline in
BlinaStudy and, when ``Rscript`` with the survival, MatchIt and jsonlite
packages is available, in R:

1. propensity model: ``fit_propensity`` vs ``glm(family = binomial)``;
2. propensity + greedy 1:1 nearest-neighbour matching on the logit, no
   caliper: ``match(caliper=None)`` vs ``matchit(method = "nearest",
   distance = "glm", link = "linear.logit")`` (Debian's MatchIt 4.5.1 ignores
   calipers, MatchIt issue #163, so the like-for-like comparison has none);
3. BlinaStudy's matching with a 0.2 SD caliper (no R counterpart), whose
   matched sample is the input of steps 4-6 on both sides;
4. Kaplan-Meier per arm: ``kaplan_meier`` vs ``survfit(conf.type = "log-log")``;
5. log-rank: ``logrank`` vs ``survdiff``;
6. Cox with robust SEs clustered on the pair: ``cox(cluster="pair")`` vs
   ``coxph(..., cluster = pair)``.

Python steps are timed with ``time.perf_counter`` (median of N runs after a
warm-up); R steps are timed inside R with ``proc.time`` (median of N blocks,
each block repeating a fast step until it lasts 50 ms), so R's start-up and
package loading are excluded. ``--clock cpu`` times CPU time on both sides
instead (``time.process_time``; user + system of ``proc.time``), which other
processes on a shared machine disturb far less. numpy's BLAS runs on one thread
(``--blas-threads``), as R's reference BLAS does and as ``analyze`` does. The script prints BlinaStudy/R ratios per step
and in total, ratios to reference operations run in the same process (a numpy
sort of the cohort's size; lifelines' estimators on the same matched data),
cross-checks every estimate against R (maximum relative difference), and shows
how ``match`` scales with the pool size against n log n.

Run: ``python benchmarks/bench_core.py`` (``--quick`` for a 1,000 / 10,000 cohort).
"""

from __future__ import annotations

import math
import sys
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common
import numpy as np
import pandas as pd

from blinastudy.stats.matching import fit_propensity, match
from blinastudy.stats.survival import cox, kaplan_meier, logrank

COVARIATES = ["age_years", "sex", "log_wbc", "risk_group"]
COLUMNS = ["treated", *COVARIATES, "time", "event"]
TARGET_RATIO = 1 / 3  # BlinaStudy at most a third of R's time
TOLERANCE = 1e-6  # relative agreement with R
FULL = {"n_treated": 10_000, "n_pool": 100_000, "scaling": (1_000, 10_000, 100_000)}
QUICK = {"n_treated": 1_000, "n_pool": 10_000, "scaling": (1_000, 3_000, 10_000)}


# ---------------------------------------------------------------------------
# data


def build_cohort(n_treated: int, n_pool: int, seed: int = 2024) -> pd.DataFrame:
    """A registry-like cohort: exactly ``n_treated`` treated and ``n_pool`` controls.

    Columns: ``treated`` (0/1), ``age_years``, ``sex`` (F/M), ``log_wbc``,
    ``risk_group`` (SR/IR/HR), ``time`` (months, on a half-month grid, so
    tied) and ``event`` (0/1). Treatment depends on the covariates (older, high
    white count and high risk more often treated); treated patients are drawn
    without replacement with probability proportional to their odds (Gumbel
    top-k), so the arms overlap but differ.
    """
    rng = np.random.default_rng(seed)
    n = n_treated + n_pool
    age = rng.uniform(1.0, 18.0, n)
    sex = rng.choice(np.array(["F", "M"]), n, p=[0.45, 0.55])
    log_wbc = rng.normal(2.5, 1.2, n)
    risk = rng.choice(np.array(["SR", "IR", "HR"]), n, p=[0.5, 0.3, 0.2])
    lin = (
        0.08 * (age - 9.0)
        + 0.3 * (log_wbc - 2.5)
        + np.where(risk == "HR", 0.9, np.where(risk == "IR", 0.4, 0.0))
        + 0.1 * (sex == "M")
    )
    key = lin + rng.gumbel(size=n)
    treated = np.zeros(n, dtype=np.int64)
    treated[np.argpartition(-key, n_treated - 1)[:n_treated]] = 1
    hazard = 0.006 * np.exp(
        0.03 * (age - 9.0)
        + 0.25 * (log_wbc - 2.5)
        + np.where(risk == "HR", 0.8, np.where(risk == "IR", 0.35, 0.0))
        - 0.4 * treated
    )
    event_time = rng.exponential(1.0 / hazard)
    censor = rng.uniform(6.0, 120.0, n)
    time = np.ceil(np.minimum(event_time, censor) * 2.0) / 2.0  # half months: ties
    event = (event_time <= censor).astype(np.int64)
    return pd.DataFrame(
        {
            "treated": treated,
            "age_years": age,
            "sex": sex,
            "log_wbc": log_wbc,
            "risk_group": risk,
            "time": time,
            "event": event,
        },
        columns=COLUMNS,
    )


def matched_sample(cohort: pd.DataFrame, caliper: float | None = 0.2) -> pd.DataFrame:
    """The 1:1 matched sample (``time``, ``event``, ``treated``, ``pair``) of ``cohort``."""
    res = match(cohort, "treated", COVARIATES, caliper=caliper, scale="logit")
    out = res.matched[["time", "event", "treated", "pair"]].reset_index(drop=True)
    return out


# ---------------------------------------------------------------------------
# BlinaStudy side


def _km_both(m: pd.DataFrame) -> list[pd.DataFrame]:
    out = []
    for arm in (0, 1):
        sub = m[m["treated"] == arm]
        out.append(kaplan_meier(sub["time"], sub["event"], conf_type="log-log"))
    return out


def run_blinastudy(cohort: pd.DataFrame, m: pd.DataFrame, repeats: int) -> dict[str, Any]:
    """Median times (seconds) and results of each BlinaStudy step."""
    steps: dict[str, Any] = {}
    slow = max(1, min(repeats, 3)) if len(cohort) > 50_000 else repeats
    steps["glm"] = common.median_time(
        lambda: fit_propensity(cohort, "treated", COVARIATES), repeats
    )
    steps["match"] = common.median_time(
        lambda: match(cohort, "treated", COVARIATES, caliper=None, scale="logit"), slow
    )
    steps["match_caliper"] = common.median_time(
        lambda: match(cohort, "treated", COVARIATES, caliper=0.2, scale="logit"), slow
    )
    steps["km"] = common.median_time(lambda: _km_both(m), repeats)
    steps["logrank"] = common.median_time(
        lambda: logrank(m["time"], m["event"], m["treated"]), repeats
    )
    steps["cox"] = common.median_time(
        lambda: cox(m, "time", "event", ["treated"], cluster="pair"), repeats
    )
    return steps


def run_references(cohort: pd.DataFrame, m: pd.DataFrame, repeats: int) -> dict[str, float]:
    """In-process reference operations: numpy sort of the cohort's size; lifelines on ``m``."""
    rng = np.random.default_rng(7)
    x = rng.random(len(cohort))
    refs = {"sort": common.median_time(lambda: np.sort(x), max(repeats, 5))[0]}
    try:
        from lifelines import CoxPHFitter, KaplanMeierFitter
        from lifelines.statistics import logrank_test
    except ImportError:  # pragma: no cover - lifelines is a runtime requirement
        return refs
    t0, e0 = m.loc[m["treated"] == 0, "time"], m.loc[m["treated"] == 0, "event"]
    t1, e1 = m.loc[m["treated"] == 1, "time"], m.loc[m["treated"] == 1, "event"]

    def km() -> None:
        KaplanMeierFitter().fit(t0, e0)
        KaplanMeierFitter().fit(t1, e1)

    def cph() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            CoxPHFitter().fit(m, "time", "event", cluster_col="pair")

    refs["lifelines_km"] = common.median_time(km, repeats)[0]
    refs["lifelines_logrank"] = common.median_time(lambda: logrank_test(t1, t0, e1, e0), repeats)[0]
    refs["lifelines_cox"] = common.median_time(cph, repeats)[0]
    return refs


# ---------------------------------------------------------------------------
# R side

R_SCRIPT = r"""
suppressPackageStartupMessages({
  library(survival); library(MatchIt); library(jsonlite)
})
d <- read.csv(file.path(dir, "cohort.csv"), stringsAsFactors = FALSE)
m <- read.csv(file.path(dir, "matched.csv"), stringsAsFactors = FALSE)
f <- treated ~ age_years + sex + log_wbc + risk_group

x <- runif(nrow(d))
s_sort <- time_step(function() sort(x), reps)
s_glm <- time_step(function() glm(f, family = binomial, data = d), reps)
s_match <- time_step(function() matchit(f, data = d, method = "nearest", distance = "glm",
                                        link = "linear.logit"), reps)
s_km <- time_step(function() survfit(Surv(time, event) ~ treated, data = m,
                                     conf.type = "log-log"), reps)
s_lr <- time_step(function() survdiff(Surv(time, event) ~ treated, data = m), reps)
s_cox <- time_step(function() coxph(Surv(time, event) ~ treated, data = m, cluster = pair), reps)

g <- s_glm$value; mm <- s_match$value$match.matrix; km <- s_km$value
# untimed textbook greedy matching on the same linear predictor (a scan of all
# available controls per treated unit, ties to the first in data order): the
# pairs that MatchIt >= 4.5.4 would give; 4.5.1 differs from it
lp <- g$linear.predictors; tr <- d$treated == 1
t_order <- which(tr)[order(-lp[tr])]; avail <- which(!tr); greedy <- integer(length(t_order))
for (i in seq_along(t_order)) {
  k <- which.min(abs(lp[avail] - lp[t_order[i]])); greedy[i] <- avail[k]; avail <- avail[-k]
}
lr <- s_lr$value; cx <- s_cox$value
ok <- !is.na(mm[, 1])
out <- list(
  seconds = list(sort = s_sort$seconds, glm = s_glm$seconds, match = s_match$seconds,
                 km = s_km$seconds, logrank = s_lr$seconds, cox = s_cox$seconds),
  block = list(sort = s_sort$block, glm = s_glm$block, match = s_match$block,
               km = s_km$block, logrank = s_lr$block, cox = s_cox$block),
  versions = list(R = paste(R.version$major, R.version$minor, sep = "."),
                  survival = as.character(packageVersion("survival")),
                  MatchIt = as.character(packageVersion("MatchIt")),
                  BLAS = sessionInfo()$BLAS),
  glm = list(names = names(coef(g)), coef = unname(coef(g)), lp = unname(g$linear.predictors)),
  pairs = list(treated = as.integer(rownames(mm)[ok]) - 1L,
               control = as.integer(mm[ok, 1]) - 1L),
  greedy = list(treated = t_order - 1L, control = greedy - 1L),
  km = list(strata = unname(km$strata), time = km$time, n_risk = km$n.risk, surv = km$surv,
            std_err = km$std.err, lower = km$lower, upper = km$upper),
  logrank = list(chisq = lr$chisq, obs = as.numeric(lr$obs), exp = as.numeric(lr$exp)),
  cox = list(coef = unname(coef(cx)), robust_se = sqrt(diag(cx$var)),
             naive_se = sqrt(diag(cx$naive.var)))
)
cat(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null"))
"""


R_PACKAGES = ("survival", "MatchIt", "jsonlite")


def run_r(
    cohort: pd.DataFrame, m: pd.DataFrame, repeats: int, clock: str = "wall"
) -> dict[str, Any]:
    """Write the data to a temporary folder, run the R pipeline, return its JSON output."""
    frames = {"cohort": cohort, "matched": m}
    return common.run_r_script(R_SCRIPT, frames, [str(repeats), clock], timeout=3600)


# ---------------------------------------------------------------------------
# cross-checks


def max_rel_diff(a: Any, b: Any) -> float:
    """Largest ``|a - b| / max(|b|, 1e-12)``; ``inf`` on a shape or missing-value mismatch."""
    x = np.asarray(pd.to_numeric(pd.Series(np.ravel(a)), errors="coerce"), dtype=float)
    y = np.asarray(pd.to_numeric(pd.Series(np.ravel(b)), errors="coerce"), dtype=float)
    if x.shape != y.shape or bool(np.any(np.isnan(x) != np.isnan(y))):
        return math.inf
    ok = ~np.isnan(y)
    if not ok.any():
        return 0.0
    return float(np.max(np.abs(x[ok] - y[ok]) / np.maximum(np.abs(y[ok]), 1e-12)))


def ratio_rows(
    table: pd.DataFrame, ratio_column: str, r_coef: Any, r_se: Any, labels: tuple[str, str]
) -> list[tuple[str, str, float | None]]:
    """Cross-check rows for a regression table: log of ``ratio_column`` and ``se`` against R."""
    coef_label, se_label = labels
    log_ratio = np.log(table[ratio_column].to_numpy(dtype=float))
    return [
        (coef_label, f"{float(log_ratio[0]):.6g}", max_rel_diff(log_ratio, r_coef)),
        (se_label, f"{float(table['se'].iloc[0]):.6g}", max_rel_diff(table["se"], r_se)),
    ]


def cross_check(
    cohort: pd.DataFrame, m: pd.DataFrame, py: dict[str, Any], r: dict[str, Any]
) -> list[tuple[str, str, float | None]]:
    """(quantity, detail, max relative difference or None for counts) rows against R."""
    rows: list[tuple[str, str, float | None]] = []
    model = py["glm"][1]
    names = r["glm"]["names"]
    # R's glm takes the first level of a factor as reference, the propensity model the
    # most frequent: the coefficients differ in coding, the linear predictor may not
    rows.append(
        (
            "glm linear predictor",
            f"{len(names)} terms, {len(model.linear_predictor)} patients",
            max_rel_diff(model.linear_predictor, r["glm"]["lp"]),
        )
    )
    res = py["match"][1]
    ours = set(zip(res.pairs["treated"].tolist(), res.pairs["control"].tolist(), strict=True))
    theirs = set(zip(r["pairs"]["treated"], r["pairs"]["control"], strict=True))
    greedy = set(zip(r["greedy"]["treated"], r["greedy"]["control"], strict=True))
    rows.append(
        (
            "matched pairs, no caliper (count)",
            f"BlinaStudy {len(ours)}, MatchIt {len(theirs)}: "
            + ("equal" if len(ours) == len(theirs) else "DIFFERENT"),
            None,
        )
    )
    rows.append(
        (
            "identical pairs vs plain greedy in R",
            f"{len(ours & greedy)} of {len(greedy)}",
            None,
        )
    )
    rows.append(
        (
            "identical pairs vs MatchIt 4.5.1",
            f"{len(ours & theirs)} of {len(theirs)} (4.5.1's own greedy rule differs)",
            None,
        )
    )
    kms = py["km"][1]
    km_py = pd.concat([pd.DataFrame(k.to_dict("list")) for k in kms], ignore_index=True)
    se_py = np.concatenate([k.attrs["std_err"] for k in kms])
    strata = [len(k) for k in kms]
    same_grid = strata == list(r["km"]["strata"]) and np.array_equal(
        km_py["time"].to_numpy(), np.asarray(r["km"]["time"], dtype=float)
    )
    if same_grid:
        worst = max(
            max_rel_diff(km_py["survival"], r["km"]["surv"]),
            max_rel_diff(se_py, r["km"]["std_err"]),
            max_rel_diff(km_py["ci_lower"], r["km"]["lower"]),
            max_rel_diff(km_py["ci_upper"], r["km"]["upper"]),
            max_rel_diff(km_py["n_at_risk"], r["km"]["n_risk"]),
        )
    else:
        worst = math.inf
    rows.append(("Kaplan-Meier S(t), SE, CI, at risk", f"{len(km_py)} rows, 2 arms", worst))
    lr = py["logrank"][1]
    rows.append(
        (
            "log-rank chi-square",
            f"{lr.statistic:.6g}",
            max_rel_diff(lr.statistic, r["logrank"]["chisq"]),
        )
    )
    rows.extend(
        ratio_rows(
            py["cox"][1],
            "hr",
            r["cox"]["coef"],
            r["cox"]["robust_se"],
            ("Cox log HR", "Cox robust SE (cluster = pair)"),
        )
    )
    del cohort, m
    return rows


# ---------------------------------------------------------------------------
# scaling of match()


def scaling(sizes: tuple[int, ...], repeats: int, seed: int) -> list[dict[str, float]]:
    """Median time of ``match`` (caliper 0.2) for control pools of each size (treated = pool / 10)."""
    out = []
    for n_pool in sizes:
        cohort = build_cohort(max(n_pool // 10, 10), n_pool, seed)
        reps = repeats if n_pool <= 20_000 else max(1, min(repeats, 3))
        sec, _ = common.median_time(
            lambda c=cohort: match(c, "treated", COVARIATES, caliper=0.2, scale="logit"), reps
        )
        out.append({"n_pool": n_pool, "n": len(cohort), "seconds": sec})
    return out


def print_scaling(rows: list[dict[str, float]]) -> bool:
    """Print growth ratios of match() against n log n; return whether growth stayed within it."""
    print("\nScaling of match() (caliper 0.2, treated = pool / 10): growth vs n log n")
    base = rows[0]
    table = []
    within = True
    for prev, row in zip([None, *rows[:-1]], rows, strict=True):
        n0, n1 = base["n"], row["n"]
        growth = row["seconds"] / base["seconds"]
        nlogn = (n1 * math.log(n1)) / (n0 * math.log(n0))
        if prev is None:
            exponent = "-"
            nlogn_exp = "-"
        else:
            step = n1 / prev["n"]
            exponent = f"{math.log(row['seconds'] / prev['seconds']) / math.log(step):.2f}"
            local = (n1 * math.log(n1)) / (prev["n"] * math.log(prev["n"]))
            nlogn_exp = f"{math.log(local) / math.log(step):.2f}"
        within = within and growth <= 1.5 * nlogn
        table.append(
            [
                f"{int(row['n_pool']):,}",
                f"{int(row['n']):,}",
                common.fmt_ratio(growth),
                common.fmt_ratio(nlogn),
                common.fmt_ratio(growth / nlogn),
                exponent,
                nlogn_exp,
            ]
        )
    common.print_table(
        [
            "pool",
            "n",
            "time growth",
            "n log n growth",
            "time / n log n",
            "exponent",
            "n log n exponent",
        ],
        table,
    )
    verdict = "consistent with" if within else "GROWS FASTER THAN"
    print(f"match() growth is {verdict} O(n log n) (time growth <= 1.5 x n log n growth).")
    return within


# ---------------------------------------------------------------------------
# report


STEP_LABELS: list[tuple[str, str, str | None]] = [  # key, label, in-process reference
    ("glm", "propensity model (glm)", None),
    ("match", "propensity + greedy matching, no caliper", None),
    ("match_caliper", "propensity + greedy matching, caliper 0.2", None),
    ("km", "Kaplan-Meier, both arms", "lifelines_km"),
    ("logrank", "log-rank test", "lifelines_logrank"),
    ("cox", "Cox, robust SE clustered on pair", "lifelines_cox"),
]
TOTAL_STEPS = ("match", "km", "logrank", "cox")


def report(py: dict[str, Any], refs: dict[str, float], r: dict[str, Any] | None) -> dict[str, Any]:
    """Print the ratio table; return the ratios."""
    r_sec = r["seconds"] if r else {}
    rows = []
    ratios: dict[str, Any] = {}
    for key, label, ref_key in STEP_LABELS:
        ours = py[key][0]
        vs_r = common.ratio(ours, r_sec.get(key if key != "match_caliper" else "-"))
        ratios[key] = {
            "vs_r": vs_r,
            "vs_sort": common.ratio(ours, refs["sort"]),
            "r_vs_r_sort": common.ratio(r_sec.get(key), r_sec.get("sort")),
            "vs_lifelines": common.ratio(ours, refs.get(ref_key)) if ref_key else None,
        }
        rows.append(
            [
                label,
                common.fmt_ratio(vs_r) if key != "match_caliper" else "n/a (R caliper broken)",
                common.fmt_ratio(ratios[key]["vs_sort"]),
                common.fmt_ratio(ratios[key]["r_vs_r_sort"]),
                common.fmt_ratio(ratios[key]["vs_lifelines"]),
            ]
        )
    total_py = sum(py[k][0] for k in TOTAL_STEPS)
    total_r = sum(r_sec[k] for k in TOTAL_STEPS) if r else None
    total_ratio = common.ratio(total_py, total_r)
    ratios["total"] = {
        "vs_r": total_ratio,
        "vs_sort": common.ratio(total_py, refs["sort"]),
        "r_vs_r_sort": common.ratio(total_r, r_sec.get("sort")),
    }
    rows.append(
        [
            "TOTAL (matching no caliper + KM + log-rank + Cox)",
            common.fmt_ratio(total_ratio),
            common.fmt_ratio(ratios["total"]["vs_sort"]),
            common.fmt_ratio(ratios["total"]["r_vs_r_sort"]),
            "",
        ]
    )
    print("\nTime ratios (median of repeated runs; lower is faster for BlinaStudy)")
    common.print_table(
        ["step", "BlinaStudy / R", "BlinaStudy / np.sort", "R / R sort", "BlinaStudy / lifelines"],
        rows,
    )
    if r is None:
        print("\nR (Rscript with survival, MatchIt, jsonlite) not available: no R ratios.")
        ratios["target_met"] = None
    else:
        met = total_ratio is not None and total_ratio <= TARGET_RATIO
        ratios["target_met"] = met
        print(
            f"\nTarget: BlinaStudy total <= 1/3 of R's (ratio <= {TARGET_RATIO:.3f}): "
            f"{'MET' if met else 'NOT MET'} (ratio {common.fmt_ratio(total_ratio)})."
        )
        print(
            "Without-caliper matching ratio is like-for-like (MatchIt 4.5.1 has no working "
            "caliper); BlinaStudy's caliper matching costs "
            f"{common.fmt_ratio(common.ratio(py['match_caliper'][0], py['match'][0]))} its no-caliper matching."
        )
    return ratios


def main(argv: list[str] | None = None) -> int:
    parser = common.bench_parser(
        __doc__.splitlines()[0], "bench_core", quick_help="1,000 treated / 10,000 pool"
    )
    parser.add_argument("--no-scaling", action="store_true", help="skip the scaling table")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    repeats = args.repeats or (3 if args.quick else 5)
    with common.bench_setup(args):
        cohort = build_cohort(sizes["n_treated"], sizes["n_pool"], args.seed)
        m = matched_sample(cohort, caliper=0.2)
        print(
            f"Cohort: {int(cohort['treated'].sum()):,} treated, "
            f"{int((cohort['treated'] == 0).sum()):,} pool, {int(cohort['event'].sum()):,} events, "
            f"{cohort['time'].nunique()} distinct times; matched sample (caliper 0.2): "
            f"{int(m['pair'].nunique()):,} pairs; median of {repeats} runs, {args.clock} clock"
        )
        py = run_blinastudy(cohort, m, repeats)
        refs = run_references(cohort, m, repeats)
        r = None
        if not args.no_r and common.r_available(R_PACKAGES):
            r = run_r(cohort, m, repeats, args.clock)
            v = r["versions"]
            print(
                f"R {v['R']}, survival {v['survival']}, MatchIt {v['MatchIt']}, "
                f"BLAS {Path(v['BLAS']).name}"
            )
        ratios = report(py, refs, r)
        checks: list[tuple[str, str, float | None]] = []
        if r is not None:
            checks = cross_check(cohort, m, py, r)
            common.print_cross_check(checks, TOLERANCE)
        scale_rows: list[dict[str, float]] = []
        within = None
        if not args.no_scaling:
            scale_rows = scaling(sizes["scaling"], repeats, args.seed)
            within = print_scaling(scale_rows)
    common.write_r_comparison(
        args, sizes, repeats, ratios, checks, scaling=scale_rows, scaling_within_nlogn=within
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Core benchmark: matching, survival, competing risks, weighting and time-dependent Cox at registry size.

A synthetic cohort of 10,000 treated patients and a 100,000-patient control pool
(four covariates, one of them categorical with three levels and one binary;
half-month survival times, so many ties; relapse and death in remission as
competing events; a time to treatment for the treated) goes through the same
pipeline in BlinaStudy and, when ``Rscript`` with the survival, MatchIt, cmprsk
and jsonlite packages is available, in R:

1. propensity model: ``fit_propensity`` vs ``glm(family = binomial)``;
2. propensity + greedy 1:1 nearest-neighbour matching on the logit, no
   caliper: ``match(caliper=None)`` vs ``matchit(method = "nearest",
   distance = "glm", link = "linear.logit")`` (Debian's MatchIt 4.5.1 ignores
   calipers, MatchIt issue #163, so the like-for-like comparison has none);
3. BlinaStudy's matching with a 0.2 SD caliper (no R counterpart), whose
   matched sample is the input of steps 4-7 on both sides;
4. Kaplan-Meier per arm: ``kaplan_meier`` vs ``survfit(conf.type = "log-log")``;
5. log-rank: ``logrank`` vs ``survdiff``;
6. Cox with robust SEs clustered on the pair: ``cox(cluster="pair")`` vs
   ``coxph(..., cluster = pair)``;
7. competing risks on the matched sample: ``cumulative_incidence`` per arm and
   cause and ``gray_test`` per cause vs ``cuminc(time, status, treated)``;
8. ATT weights on the whole cohort: ``propensity_weights(estimand="ATT")`` vs
   ``glm`` and ``ps / (1 - ps)`` for the controls;
9. weighted Cox with robust SEs on the whole cohort: ``cox(weights=...)`` vs
   ``coxph(..., weights = w, robust = TRUE)``;
10. the follow-up split at the start of treatment: ``split_at`` vs
    ``tmerge(..., tdc(treatment_start))``;
11. time-dependent Cox with robust SEs by patient: ``cox(start=..., cluster=id)``
    vs ``coxph(Surv(tstart, tstop, event) ~ exposed, cluster = id)``.

Fine-Gray is left to ``bench_cmprsk.py``: R's ``crr`` is O(n^2) and takes
about 23 minutes at this size.

Python steps are timed with ``time.perf_counter`` (median of N runs after a
warm-up); R steps are timed inside R with ``proc.time`` (median of N blocks,
each block repeating a fast step until it lasts 50 ms), so R's start-up and
package loading are excluded. ``--clock cpu`` times CPU time on both sides
instead (``time.process_time``; user + system of ``proc.time``), which other
processes on a shared machine disturb far less. numpy's BLAS runs on one thread
(``--blas-threads``), as R's reference BLAS does and as ``analyze`` does. The
script prints BlinaStudy/R ratios per step and two totals (the matched pipeline,
steps 2 and 4-6, and that plus steps 7-11), ratios to reference operations run in the same process (a numpy
sort of the cohort's size; lifelines' estimators on the same matched data),
cross-checks every estimate against R (maximum relative difference), and shows
how ``match`` scales with the pool size against n log n, up to a
1,000,000-patient pool (``--max-pool``), with its peak memory; each size runs in
a process of its own, so that sizes do not share memory.

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
import numpy.typing as npt
import pandas as pd

from blinastudy.stats.matching import fit_propensity, match
from blinastudy.survival import (
    GrayTest,
    cox,
    cumulative_incidence,
    gray_test,
    kaplan_meier,
    logrank,
    split_at,
)
from blinastudy.weighting import propensity_weights

COVARIATES = ["age_years", "sex", "log_wbc", "risk_group"]
COLUMNS = ["treated", *COVARIATES, "time", "event", "status", "treatment_start", "id"]
CAUSES = (1, 2)  # relapse, death in remission
TARGET_RATIO = 1 / 3  # BlinaStudy at most a third of R's time
TOLERANCE = 1e-6  # relative agreement with R
FULL = {
    "n_treated": 10_000,
    "n_pool": 100_000,
    "scaling": (1_000, 10_000, 100_000, 1_000_000),
}
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

    Then, each from a generator of its own so that the columns above do not
    change: ``status`` (0 censored, 1 relapse, 2 death in remission; see
    :func:`competing_status`), ``treatment_start`` (months from the time origin
    to the start of treatment, missing for the controls; see
    :func:`treatment_start`) and ``id`` (1 to n).
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
            "status": competing_status(age, treated, event, seed + 1),
            "treatment_start": treatment_start(treated, seed + 2),
            "id": np.arange(1, n + 1),
        },
        columns=COLUMNS,
    )


def competing_status(
    age: npt.NDArray[np.float64],
    treated: npt.NDArray[np.int64],
    event: npt.NDArray[np.int64],
    seed: int,
) -> npt.NDArray[np.int64]:
    """Cause of each event: 0 censored, 1 relapse, 2 death in remission.

    An event is a death in remission with probability ``0.15 + 0.02 age + 0.05
    treated`` (0.17 to 0.56: rising with age, a little higher on treatment),
    otherwise a relapse; the draws come from a generator seeded with ``seed``.
    """
    rng = np.random.default_rng(seed)
    death = rng.random(age.size) < 0.15 + 0.02 * age + 0.05 * treated
    return np.where(event == 1, np.where(death, 2, 1), 0).astype(np.int64)


def treatment_start(treated: npt.NDArray[np.int64], seed: int) -> npt.NDArray[np.float64]:
    """Months from the time origin to the start of treatment; missing (NaN) for the controls.

    Exponential with a mean of 3 months, rounded up to the half-month grid of
    the follow-up times (so some starts tie with events, and a treated patient
    whose follow-up ends first stays unexposed); the draws come from a
    generator seeded with ``seed``.
    """
    rng = np.random.default_rng(seed)
    wait = np.ceil(rng.exponential(3.0, treated.size) * 2.0) / 2.0
    return np.where(treated == 1, wait, np.nan)


def matched_sample(cohort: pd.DataFrame, caliper: float | None = 0.2) -> pd.DataFrame:
    """The 1:1 matched sample (``time``, ``event``, ``treated``, ``pair``, ``status``) of ``cohort``."""
    res = match(cohort, "treated", COVARIATES, caliper=caliper, scale="logit")
    out = res.matched[["time", "event", "treated", "pair", "status"]].reset_index(drop=True)
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


def competing_by_arm(m: pd.DataFrame) -> tuple[list[GrayTest], dict[str, pd.DataFrame]]:
    """What ``cuminc(time, status, treated)`` computes on ``m``: Gray's test per cause, 4 curves.

    The curves are keyed as ``cuminc`` names them: ``"<arm> <cause>"``.
    """
    tests = [gray_test(m["time"], m["status"], m["treated"], cause=k) for k in CAUSES]
    curves = {}
    for arm in (0, 1):
        sub = m.loc[m["treated"] == arm, ["time", "status"]]
        for k in CAUSES:
            curves[f"{arm} {k}"] = cumulative_incidence(sub["time"], sub["status"], cause=k)
    return tests, curves


def run_registry_steps(cohort: pd.DataFrame, m: pd.DataFrame, repeats: int) -> dict[str, Any]:
    """Median times (seconds) and results of competing risks, weighting and time-dependent Cox.

    Competing risks run on the matched sample ``m``; the weights, the weighted
    Cox model, the split at the start of treatment and the time-dependent Cox
    model on the whole ``cohort``. The input of each Cox model (the weights,
    the split rows) is the value of the step before it.
    """
    steps: dict[str, Any] = {}
    steps["cuminc"] = common.median_time(lambda: competing_by_arm(m), repeats)
    steps["weights"] = common.median_time(
        lambda: propensity_weights(cohort, "treated", COVARIATES, estimand="ATT"), repeats
    )
    weighted = cohort[["time", "event", "treated"]].assign(w=steps["weights"][1].to_numpy())
    steps["weighted_cox"] = common.median_time(
        lambda: cox(weighted, "time", "event", ["treated"], weights="w", robust=True), repeats
    )
    slim = cohort[["id", "time", "event", "treatment_start"]]
    steps["split"] = common.median_time(
        lambda: split_at(slim, id="id", duration="time", event="event", at="treatment_start"),
        repeats,
    )
    rows = steps["split"][1]
    steps["tdc_cox"] = common.median_time(
        lambda: cox(rows, "stop", "event", ["exposed"], start="start", cluster="id"), repeats
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
  library(survival); library(MatchIt); library(cmprsk); library(jsonlite)
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
# competing risks on the matched sample; ATT weights, weighted Cox, the split at the
# start of treatment and the time-dependent Cox on the whole cohort
s_ci <- time_step(function() cuminc(m$time, m$status, m$treated, cencode = 0), reps)
att_weights <- function() {
  ps <- fitted(glm(f, family = binomial, data = d))
  ifelse(d$treated == 1, 1, ps / (1 - ps))
}
s_w <- time_step(att_weights, reps)
d$w <- s_w$value
s_wcox <- time_step(function() coxph(Surv(time, event) ~ treated, data = d, weights = w,
                                     robust = TRUE), reps)
base <- d[, c("id", "treatment_start")]
s_split <- time_step(function() tmerge(base, d, id = id, tstop = time, ev = event(time, event),
                                       exposed = tdc(treatment_start)), reps)
td <- s_split$value
s_tdc <- time_step(function() coxph(Surv(tstart, tstop, ev) ~ exposed, data = td,
                                    cluster = id), reps)

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
# the four curves at the event times (either cause) of their arm, as timepoints reads them
ci <- s_ci$value; curves <- list()
for (a in 0:1) {
  at <- sort(unique(m$time[m$treated == a & m$status > 0])); tp <- timepoints(ci, at)
  for (k in 1:2) {
    key <- paste(a, k)
    curves[[key]] <- list(time = at, est = unname(tp$est[key, ]), var = unname(tp$var[key, ]))
  }
}
wc <- s_wcox$value; tc <- s_tdc$value
steps <- list(sort = s_sort, glm = s_glm, match = s_match, km = s_km, logrank = s_lr,
              cox = s_cox, cuminc = s_ci, weights = s_w, weighted_cox = s_wcox,
              split = s_split, tdc_cox = s_tdc)
out <- list(
  seconds = lapply(steps, function(s) s$seconds),
  block = lapply(steps, function(s) s$block),
  versions = list(R = paste(R.version$major, R.version$minor, sep = "."),
                  survival = as.character(packageVersion("survival")),
                  MatchIt = as.character(packageVersion("MatchIt")),
                  cmprsk = as.character(packageVersion("cmprsk")),
                  BLAS = sessionInfo()$BLAS),
  glm = list(names = names(coef(g)), coef = unname(coef(g)), lp = unname(g$linear.predictors)),
  pairs = list(treated = as.integer(rownames(mm)[ok]) - 1L,
               control = as.integer(mm[ok, 1]) - 1L),
  greedy = list(treated = t_order - 1L, control = greedy - 1L),
  km = list(strata = unname(km$strata), time = km$time, n_risk = km$n.risk, surv = km$surv,
            std_err = km$std.err, lower = km$lower, upper = km$upper),
  logrank = list(chisq = lr$chisq, obs = as.numeric(lr$obs), exp = as.numeric(lr$exp)),
  cox = list(coef = unname(coef(cx)), robust_se = sqrt(diag(cx$var)),
             naive_se = sqrt(diag(cx$naive.var))),
  cuminc = curves,
  gray = list(stat = unname(ci$Tests[, "stat"]), cause = rownames(ci$Tests)),
  weights = unname(d$w),
  weighted_cox = list(coef = unname(coef(wc)), robust_se = sqrt(diag(wc$var))),
  split = list(rows = nrow(td), exposed = sum(td$exposed), events = sum(td$ev),
               unexposed_time = sum((td$tstop - td$tstart)[td$exposed == 0])),
  tdc_cox = list(coef = unname(coef(tc)), robust_se = sqrt(diag(tc$var)))
)
cat(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null"))
"""


R_PACKAGES = ("survival", "MatchIt", "cmprsk", "jsonlite")


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


def cox_rows(
    py: dict[str, Any], r: dict[str, Any], key: str, model: str, robust: str
) -> list[tuple[str, str, float | None]]:
    """Cross-check rows of the Cox model of step ``key``: log HR and robust SE against R's."""
    return ratio_rows(
        py[key][1],
        "hr",
        r[key]["coef"],
        r[key]["robust_se"],
        (f"{model} log HR", f"{model} robust SE ({robust})"),
    )


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
    rows.extend(cox_rows(py, r, "cox", "Cox", "cluster = pair"))
    del cohort, m
    return rows


def _incidence_rows(py: dict[str, Any], r: dict[str, Any]) -> list[tuple[str, str, float | None]]:
    """Cross-check rows of the competing-risks step: the four curves and Gray's test."""
    tests, curves = py["cuminc"][1]
    worst = 0.0
    points = 0
    for key, curve in curves.items():
        theirs = r["cuminc"][key]
        at_event = curve[(curve["n_events"] + curve["n_competing"]) > 0]
        points += len(at_event)
        if not np.array_equal(at_event["time"].to_numpy(), np.asarray(theirs["time"], float)):
            worst = math.inf
            continue
        worst = max(
            worst,
            max_rel_diff(at_event["incidence"], theirs["est"]),
            max_rel_diff(at_event["variance"], theirs["var"]),
        )
    same_causes = [str(k) for k in CAUSES] == list(r["gray"]["cause"])
    return [
        (
            "cumulative incidence by arm (est, var)",
            f"4 curves, {points} event times",
            worst,
        ),
        (
            "Gray's test statistic, causes 1 and 2",
            ", ".join(f"{t.statistic:.6g}" for t in tests),
            max_rel_diff([t.statistic for t in tests], r["gray"]["stat"])
            if same_causes
            else math.inf,
        ),
    ]


def _split_row(rows: pd.DataFrame, r: dict[str, Any]) -> tuple[str, str, float | None]:
    """Cross-check row of the split at the start of treatment: counts and unexposed time."""
    ours = [
        len(rows),
        int(rows["exposed"].sum()),
        int(rows["event"].sum()),
    ]
    theirs = [r["split"]["rows"], r["split"]["exposed"], r["split"]["events"]]
    unexposed = rows["exposed"] == 0
    time_diff = max_rel_diff(
        float((rows["stop"] - rows["start"])[unexposed].sum()), r["split"]["unexposed_time"]
    )
    return (
        "split rows, exposed rows, events; unexposed time",
        f"{ours[0]:,}, {ours[1]:,}, {ours[2]:,}: " + ("equal" if ours == theirs else "DIFFERENT"),
        time_diff if ours == theirs else math.inf,
    )


def cross_check_registry(
    py: dict[str, Any], r: dict[str, Any]
) -> list[tuple[str, str, float | None]]:
    """Cross-check rows of competing risks, weighting and the time-dependent Cox model."""
    rows = _incidence_rows(py, r)
    weights = py["weights"][1]
    rows.append(
        (
            "ATT weights",
            f"{len(weights):,} patients",
            max_rel_diff(weights.to_numpy(), r["weights"]),
        )
    )
    rows.extend(cox_rows(py, r, "weighted_cox", "weighted Cox", "weights"))
    rows.append(_split_row(py["split"][1], r))
    rows.extend(cox_rows(py, r, "tdc_cox", "time-dependent Cox", "cluster = id"))
    return rows


# ---------------------------------------------------------------------------
# scaling of match()


def scaling_sizes(preset: tuple[int, ...], max_pool: int | None) -> tuple[int, ...]:
    """The pools of ``preset`` up to ``max_pool``, and ``max_pool`` itself when not among them."""
    if max_pool is None:
        return preset
    kept = [size for size in preset if size <= max_pool]
    if not kept or kept[-1] < max_pool:
        kept.append(max_pool)
    return tuple(kept)


def scaling_point(
    n_pool: int, repeats: int, seed: int, clock: str = "wall", blas: int | None = 1
) -> dict[str, float]:
    """Time and peak memory of ``match`` (caliper 0.2) for one pool size (treated = pool / 10).

    Meant to run in a process of its own (:func:`scaling`): ``seconds`` is the
    median time (``clock``, numpy's BLAS on ``blas`` threads); ``peak_bytes``
    the most memory one call holds at once beyond the cohort
    (``tracemalloc``, in a further, untimed call); ``max_rss_bytes`` the
    process's largest resident set (interpreter, libraries and cohort included).
    """
    common.use_clock(clock)
    with common.blas_threads(blas):
        cohort = build_cohort(max(n_pool // 10, 10), n_pool, seed)

        def run() -> Any:
            return match(cohort, "treated", COVARIATES, caliper=0.2, scale="logit")

        reps = repeats if n_pool <= 20_000 else max(1, min(repeats, 3))
        sec, _ = common.median_time(run, reps)
        peak, _ = common.traced_peak(run)
    return {
        "n_pool": n_pool,
        "n": len(cohort),
        "seconds": sec,
        "peak_bytes": peak,
        "max_rss_bytes": common.max_rss_bytes(),
    }


def scaling(
    sizes: tuple[int, ...],
    repeats: int,
    seed: int,
    *,
    clock: str = "wall",
    blas: int | None = 1,
) -> list[dict[str, float]]:
    """:func:`scaling_point` for control pools of each size, each in a new Python process."""
    script = Path(__file__).resolve()
    return [
        common.call_in_child(script, "scaling_point", n_pool, repeats, seed, clock, blas)
        for n_pool in sizes
    ]


MIB = 2**20


def print_scaling(rows: list[dict[str, float]]) -> bool:
    """Print match()'s growth against n log n and its peak memory; return whether it stayed within.

    Within: time growth at most 1.5 x the growth of n log n, from the smallest pool.
    """
    print(
        "\nScaling of match() (caliper 0.2, treated = pool / 10): growth vs n log n; "
        "peak memory of one call (tracemalloc) and of its process (max RSS), one process per size"
    )
    base = rows[0]
    table = []
    within = True
    for prev, row in zip([None, *rows[:-1]], rows, strict=True):
        n0, n1 = base["n"], row["n"]
        growth = row["seconds"] / base["seconds"]
        nlogn = (n1 * math.log(n1)) / (n0 * math.log(n0))
        exponent = nlogn_exp = "-"
        if prev is not None:
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
                f"{row['peak_bytes'] / MIB:,.1f}",
                f"{row['peak_bytes'] / n1:,.0f}",
                f"{row['max_rss_bytes'] / MIB:,.0f}",
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
            "peak MiB",
            "peak bytes / patient",
            "process max RSS MiB",
        ],
        table,
    )
    verdict = "consistent with" if within else "GROWS FASTER THAN"
    print(f"match() growth is {verdict} O(n log n) (time growth <= 1.5 x n log n growth).")
    if len(rows) > 1:
        prev, last = rows[-2], rows[-1]
        nlogn_step = (last["n"] * math.log(last["n"])) / (prev["n"] * math.log(prev["n"]))
        per_nlogn = last["seconds"] / prev["seconds"] / nlogn_step
        print(
            f"From {int(prev['n_pool']):,} to {int(last['n_pool']):,}: time per n log n "
            f"x {per_nlogn:.2f}; peak memory per patient x "
            f"{(last['peak_bytes'] / last['n']) / (prev['peak_bytes'] / prev['n']):.2f}."
        )
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
    ("cuminc", "cumulative incidence by arm + Gray's test", None),
    ("weights", "ATT weights (propensity model + weights)", None),
    ("weighted_cox", "weighted Cox, robust SE", None),
    ("split", "split at the start of treatment (tmerge)", None),
    ("tdc_cox", "time-dependent Cox, robust SE by patient", None),
]
TOTAL_STEPS = ("match", "km", "logrank", "cox")
REGISTRY_STEPS = ("cuminc", "weights", "weighted_cox", "split", "tdc_cox")
TOTALS: list[tuple[str, tuple[str, ...], str]] = [  # key, steps, label
    ("total", TOTAL_STEPS, "TOTAL (matching no caliper + KM + log-rank + Cox)"),
    (
        "total_all",
        TOTAL_STEPS + REGISTRY_STEPS,
        "TOTAL with competing risks, weighting, time-dependent Cox",
    ),
]


def _step_row(
    key: str,
    label: str,
    ref_key: str | None,
    seconds: tuple[float, float | None],
    refs: dict[str, float],
    r_sec: dict[str, float],
) -> tuple[dict[str, Any], list[str]]:
    """Ratios of one step (BlinaStudy's and R's ``seconds``) and its table row."""
    ours, theirs = seconds
    ratios = {
        "vs_r": common.ratio(ours, theirs),
        "vs_sort": common.ratio(ours, refs["sort"]),
        "r_vs_r_sort": common.ratio(theirs, r_sec.get("sort")),
        "vs_lifelines": common.ratio(ours, refs.get(ref_key)) if ref_key else None,
    }
    vs_r = common.fmt_ratio(ratios["vs_r"]) if key != "match_caliper" else "n/a (R caliper broken)"
    row = [
        label,
        vs_r,
        common.fmt_ratio(ratios["vs_sort"]),
        common.fmt_ratio(ratios["r_vs_r_sort"]),
        common.fmt_ratio(ratios["vs_lifelines"]) if ref_key else "",
    ]
    return ratios, row


def _print_targets(py: dict[str, Any], ratios: dict[str, Any]) -> None:
    """Say whether each total meets the target, and what the caliper costs."""
    for key, _, label in TOTALS:
        value = ratios[key]["vs_r"]
        met = value is not None and value <= TARGET_RATIO
        ratios[key]["target_met"] = met
        factor = common.ratio(TARGET_RATIO, value) if met else common.ratio(value, TARGET_RATIO)
        print(
            f"Target for {label}: at most 1/3 of R's time (ratio <= {TARGET_RATIO:.3f}): "
            f"{'MET' if met else 'NOT MET'}, ratio {common.fmt_ratio(value)} "
            f"({'met' if met else 'missed'} by a factor of {common.fmt_ratio(factor)})"
        )
    print(
        "Without-caliper matching ratio is like-for-like (MatchIt 4.5.1 has no working "
        "caliper); BlinaStudy's caliper matching costs "
        f"{common.fmt_ratio(common.ratio(py['match_caliper'][0], py['match'][0]))} "
        "its no-caliper matching. Fine-Gray is compared in bench_cmprsk.py (R's crr is "
        "O(n^2): about 23 minutes at this size)."
    )


def report(py: dict[str, Any], refs: dict[str, float], r: dict[str, Any] | None) -> dict[str, Any]:
    """Print the ratio table with both totals; return the ratios."""
    r_sec: dict[str, float] = r["seconds"] if r else {}
    rows = []
    ratios: dict[str, Any] = {}
    for key, label, ref_key in STEP_LABELS:
        theirs = r_sec.get(key) if key != "match_caliper" else None
        ratios[key], row = _step_row(key, label, ref_key, (py[key][0], theirs), refs, r_sec)
        rows.append(row)
    for key, steps, label in TOTALS:
        total_r = sum(r_sec[k] for k in steps) if r else None
        ratios[key], row = _step_row(
            key, label, None, (sum(py[k][0] for k in steps), total_r), refs, r_sec
        )
        del ratios[key]["vs_lifelines"]
        rows.append(row)
    print("\nTime ratios (median of repeated runs; lower is faster for BlinaStudy)")
    common.print_table(
        ["step", "BlinaStudy / R", "BlinaStudy / np.sort", "R / R sort", "BlinaStudy / lifelines"],
        rows,
    )
    if r is None:
        print("\nR (Rscript with survival, MatchIt, cmprsk, jsonlite) not available: no R ratios.")
        ratios["target_met"] = None
        return ratios
    print()
    _print_targets(py, ratios)
    ratios["target_met"] = ratios["total"]["target_met"] and ratios["total_all"]["target_met"]
    return ratios


def describe(cohort: pd.DataFrame, m: pd.DataFrame, repeats: int, clock: str) -> None:
    """Print the cohort's and the matched sample's sizes."""
    status = cohort["status"].value_counts()
    exposed = cohort["treatment_start"] < cohort["time"]
    print(
        f"Cohort: {int(cohort['treated'].sum()):,} treated, "
        f"{int((cohort['treated'] == 0).sum()):,} pool, {int(cohort['event'].sum()):,} events "
        f"({int(status.get(1, 0)):,} relapses, {int(status.get(2, 0)):,} deaths in remission), "
        f"{cohort['time'].nunique()} distinct times, {int(exposed.sum()):,} treated exposed "
        f"before the end of follow-up; matched sample (caliper 0.2): "
        f"{int(m['pair'].nunique()):,} pairs; median of {repeats} runs, {clock} clock"
    )


def main(argv: list[str] | None = None) -> int:
    parser = common.bench_parser(
        __doc__.splitlines()[0], "bench_core", quick_help="1,000 treated / 10,000 pool"
    )
    parser.add_argument("--no-scaling", action="store_true", help="skip the scaling table")
    parser.add_argument(
        "--max-pool",
        type=int,
        default=None,
        help="largest control pool of the scaling table (default 1,000,000; 10,000 with --quick)",
    )
    args = parser.parse_args(argv)
    if args.max_pool is not None and args.max_pool < 100:
        parser.error("--max-pool must be at least 100")
    sizes = QUICK if args.quick else FULL
    repeats = args.repeats or (3 if args.quick else 5)
    with common.bench_setup(args):
        cohort = build_cohort(sizes["n_treated"], sizes["n_pool"], args.seed)
        m = matched_sample(cohort, caliper=0.2)
        describe(cohort, m, repeats, args.clock)
        py = run_blinastudy(cohort, m, repeats) | run_registry_steps(cohort, m, repeats)
        refs = run_references(cohort, m, repeats)
        r = None
        if not args.no_r and common.r_available(R_PACKAGES):
            r = run_r(cohort, m, repeats, args.clock)
            v = r["versions"]
            print(
                f"R {v['R']}, survival {v['survival']}, MatchIt {v['MatchIt']}, "
                f"cmprsk {v['cmprsk']}, BLAS {Path(v['BLAS']).name}"
            )
        ratios = report(py, refs, r)
        checks: list[tuple[str, str, float | None]] = []
        if r is not None:
            checks = cross_check(cohort, m, py, r) + cross_check_registry(py, r)
            common.print_cross_check(checks, TOLERANCE)
        scale_rows: list[dict[str, float]] = []
        within = None
        if not args.no_scaling:
            pools = scaling_sizes(sizes["scaling"], args.max_pool)
            scale_rows = scaling(
                pools, repeats, args.seed, clock=args.clock, blas=args.blas_threads or None
            )
            within = print_scaling(scale_rows)
    common.write_r_comparison(
        args, sizes, repeats, ratios, checks, scaling=scale_rows, scaling_within_nlogn=within
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

# Reference values for Cox models with near-tied times, case weights and chosen
# reference levels, computed with R's survival package (coxph).
# Run from the project root:  Rscript tests/data/make_cox_reference.R
# Writes tests/data/cox_ties.csv, cox_weights.csv, cox_levels.csv (the inputs)
# and tests/data/cox.expected.json. Every fit is made on the data read back from
# the CSV files, so R and Python start from the same numbers.
suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})
stopifnot(as.character(packageVersion("survival")) == "3.5.3")
dir <- "tests/data"

# One fitted model: per-coefficient estimates (named by R's model-matrix column),
# the standard error used for inference (robust se when robust), the model-based
# se, Wald limits, p-values, and the log partial likelihood at 0 and at the fit.
fit_record <- function(fit) {
  s <- summary(fit)
  co <- s$coefficients
  se_col <- if ("robust se" %in% colnames(co)) "robust se" else "se(coef)"
  naive <- if (is.null(fit$naive.var)) fit$var else fit$naive.var
  nm <- names(coef(fit))
  named <- function(v) as.list(setNames(as.numeric(v), nm))
  list(
    names = I(nm),
    coef = named(coef(fit)),
    hr = named(co[, "exp(coef)"]),
    se = named(co[, se_col]),
    naive_se = named(sqrt(diag(as.matrix(naive)))),
    ci_lower = named(s$conf.int[, 3]),
    ci_upper = named(s$conf.int[, 4]),
    p_value = named(co[, "Pr(>|z|)"]),
    robust = se_col == "robust se",
    loglik_null = fit$loglik[1],
    loglik = fit$loglik[2],
    n = fit$n,
    n_events = fit$nevent
  )
}

out <- list()

# ---------------------------------------------------------------------------
# 1. near-tied times: months from days by two conversions that differ in the last
#    bits (days / 365.25 * 12 for unit "a", days / (365.25 / 12) for unit "b").
set.seed(20240611)
n <- 60
cand <- (1:800)[(1:800) / 365.25 * 12 != (1:800) / (365.25 / 12)]
ties <- data.frame(
  id = sprintf("T%02d", 1:n),
  days = sample(cand[1:15], n, replace = TRUE),
  unit = rep(c("a", "b"), length.out = n),
  event = rbinom(n, 1, 0.65),
  treated = rbinom(n, 1, 0.5),
  age = round(runif(n, 1, 18), 1),
  pair = (seq_len(n) - 1) %/% 2 + 1
)
write.csv(ties, file.path(dir, "cox_ties.csv"), row.names = FALSE)
ties <- read.csv(file.path(dir, "cox_ties.csv"), stringsAsFactors = FALSE)
ties$months <- ifelse(ties$unit == "a", ties$days / 365.25 * 12, ties$days / (365.25 / 12))
stopifnot(length(unique(ties$months)) > length(unique(ties$days)))
nofix <- coxph.control(timefix = FALSE)
tie_fits <- list()
for (model in c("treated", "treated + age")) {
  f <- as.formula(paste("Surv(months, event) ~", model))
  key <- gsub(" \\+ ", "_", model)
  for (tm in c("efron", "breslow")) {
    tie_fits[[paste(key, tm, "timefix", sep = "/")]] <-
      fit_record(coxph(f, data = ties, ties = tm))
    tie_fits[[paste(key, tm, "no_timefix", sep = "/")]] <-
      fit_record(coxph(f, data = ties, ties = tm, control = nofix))
    tie_fits[[paste(key, tm, "timefix_cluster", sep = "/")]] <-
      fit_record(coxph(f, data = ties, ties = tm, cluster = pair))
    tie_fits[[paste(key, tm, "no_timefix_cluster", sep = "/")]] <-
      fit_record(coxph(f, data = ties, ties = tm, cluster = pair, control = nofix))
  }
}
out$ties <- tie_fits

# ---------------------------------------------------------------------------
# 2. case weights, whole-month times (many tied deaths), with and without clusters
set.seed(20240612)
n <- 80
x <- rnorm(n)
z <- rbinom(n, 1, 0.45)
wts <- data.frame(
  id = sprintf("W%02d", 1:n),
  t = ceiling(rexp(n, 1 / 8) * exp(-0.4 * x - 0.6 * z)),
  e = rbinom(n, 1, 0.7),
  x = round(x, 4),
  z = z,
  w_int = sample(1:3, n, replace = TRUE),
  w_real = round(runif(n, 0.2, 3), 3),
  cl = (seq_len(n) - 1) %/% 3 + 1,
  st = sample(c("A", "B"), n, replace = TRUE)
)
write.csv(wts, file.path(dir, "cox_weights.csv"), row.names = FALSE)
wts <- read.csv(file.path(dir, "cox_weights.csv"), stringsAsFactors = FALSE)
stopifnot(sum(duplicated(wts$t[wts$e == 1])) > 20)
w_fits <- list()
for (model in c("x + z", "z")) {
  f <- as.formula(paste("Surv(t, e) ~", model))
  key <- gsub(" \\+ ", "_", model)
  for (tm in c("efron", "breslow")) {
    for (wcol in c("w_int", "w_real")) {
      wts$w <- wts[[wcol]]
      w_fits[[paste(key, tm, wcol, "robust", sep = "/")]] <-
        fit_record(coxph(f, data = wts, ties = tm, weights = w, robust = TRUE))
      w_fits[[paste(key, tm, wcol, "cluster", sep = "/")]] <-
        fit_record(coxph(f, data = wts, ties = tm, weights = w, cluster = cl))
      w_fits[[paste(key, tm, wcol, "naive", sep = "/")]] <-
        fit_record(coxph(f, data = wts, ties = tm, weights = w, robust = FALSE))
    }
    # all weights scaled by 2.5: coefficient and robust se unchanged, naive se / sqrt(2.5)
    wts$w <- wts$w_real * 2.5
    w_fits[[paste(key, tm, "w_real_x2.5", "robust", sep = "/")]] <-
      fit_record(coxph(f, data = wts, ties = tm, weights = w, robust = TRUE))
    w_fits[[paste(key, tm, "w_real_x2.5", "cluster", sep = "/")]] <-
      fit_record(coxph(f, data = wts, ties = tm, weights = w, cluster = cl))
    # integer weights against replicated rows: Breslow equal, Efron not (a death of
    # weight 2 is one death in its Efron step, two replicated deaths are two)
    rep_rows <- wts[rep(seq_len(n), wts$w_int), ]
    w_fits[[paste(key, tm, "replicated", "naive", sep = "/")]] <-
      fit_record(coxph(f, data = rep_rows, ties = tm))
    # unweighted, robust without cluster
    w_fits[[paste(key, tm, "none", "robust", sep = "/")]] <-
      fit_record(coxph(f, data = wts, ties = tm, robust = TRUE))
  }
  wts$w <- wts$w_real
  w_fits[[paste(key, "efron", "w_real", "strata_cluster", sep = "/")]] <-
    fit_record(coxph(update(f, . ~ . + strata(st)), data = wts, weights = w, cluster = cl))
}
out$weights <- w_fits

# ---------------------------------------------------------------------------
# 3. reference levels: risk_group is a data-dictionary column (LR, IR, HR: reference
#    LR, the first in dictionary order); centre is not (reference: its most frequent
#    level, "beta", which is not the first in sorted order)
set.seed(20240613)
n <- 90
lev <- data.frame(
  id = sprintf("L%02d", 1:n),
  t = round(rexp(n, 1 / 10), 1) + 0.1,
  e = rbinom(n, 1, 0.7),
  risk_group = sample(c("LR", "IR", "HR"), n, replace = TRUE, prob = c(0.45, 0.35, 0.2)),
  centre = sample(c("alpha", "beta", "gamma"), n, replace = TRUE, prob = c(0.25, 0.45, 0.3)),
  age = round(runif(n, 1, 18), 1)
)
write.csv(lev, file.path(dir, "cox_levels.csv"), row.names = FALSE)
lev <- read.csv(file.path(dir, "cox_levels.csv"), stringsAsFactors = FALSE)
stopifnot(names(which.max(table(lev$centre))) == "beta")
level_fit <- function(ref_risk, ref_centre) {
  d <- lev
  d$risk_group <- relevel(factor(d$risk_group, levels = c("LR", "IR", "HR")), ref = ref_risk)
  d$centre <- relevel(factor(d$centre), ref = ref_centre)
  fit_record(coxph(Surv(t, e) ~ risk_group + centre + age, data = d))
}
out$levels <- list(
  default = c(level_fit("LR", "beta"), list(reference = list(risk_group = "LR", centre = "beta"))),
  chosen = c(level_fit("HR", "gamma"), list(reference = list(risk_group = "HR", centre = "gamma")))
)

out$source <- paste0(
  "R ", R.version$major, ".", R.version$minor, ", survival ",
  as.character(packageVersion("survival")), "; tests/data/make_cox_reference.R"
)
writeLines(
  toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null", na = "null"),
  file.path(dir, "cox.expected.json")
)

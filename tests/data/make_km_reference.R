# Reference values for Kaplan-Meier (plain and weighted), medians, quantiles and
# log-rank edge cases, computed with R's survival package (3.5-3).
# Run from the project root:  Rscript tests/data/make_km_reference.R
# Writes tests/data/km_cases.csv and tests/data/km_logrank.csv (the inputs, every
# number with 17 significant digits so that near-equal times survive the round trip)
# and tests/data/km.expected.json (what survfit, summary.survfit, quantile.survfit
# and survdiff return for them).
suppressPackageStartupMessages(library(survival))
stopifnot(packageVersion("survival") == "3.5.3")

num <- function(x) {
  out <- sprintf("%.17g", x)
  out[is.na(x)] <- "null"
  out[!is.na(x) & is.infinite(x)] <- ifelse(x[!is.na(x) & is.infinite(x)] > 0, "Infinity", "-Infinity")
  out
}
arr <- function(x) paste0("[", paste(num(x), collapse = ", "), "]")
obj <- function(lst) paste0("{", paste(sprintf('"%s": %s', names(lst), unlist(lst)), collapse = ", "), "}")
str <- function(x) sprintf('"%s"', x)

# Months from days, converted two ways: the results differ in the last bits for
# some days, which R's timefix ties again.
to_months_a <- function(days) days / 365.25 * 12
to_months_b <- function(days) days / (365.25 / 12)

set.seed(20240611)
km_cases <- list()
add_km <- function(name, time, event, weight = NULL) {
  km_cases[[name]] <<- list(time = time, event = event, weight = weight)
}
add_km("flat_half_to_end", c(1, 2, 3, 4), c(1, 1, 0, 0))
add_km("flat_half_then_drop", 1:6, c(1, 1, 1, 0, 1, 1))
add_km("exact_half_censored_then_drop", 1:8, c(1, 1, 1, 1, 0, 0, 1, 1))
add_km("never_below_half", c(1, 2, 3, 4), c(1, 0, 0, 0))
add_km("all_censored", c(1, 2, 3), c(0, 0, 0))
add_km("all_events_to_zero", c(2, 4, 6, 8), c(1, 1, 1, 1))
add_km("hundred_events", 1:100, rep(1, 100))
add_km("ties_and_censoring_at_events", c(0.5, 1, 2, 2, 2, 3, 4, 4, 5), c(0, 1, 1, 1, 0, 1, 0, 1, 0))
add_km("time_zero", c(0, 0, 1, 2, 3, 5), c(1, 0, 1, 0, 1, 0))
add_km("last_dies", c(1, 2, 3), c(0, 1, 1))
add_km("random_ties", ceiling(rexp(40, 1 / 10)), rbinom(40, 1, 0.6))
# 30 days whose two conversions differ, each converted both ways, plus 20 others
differ <- which(to_months_a(1:1500) != to_months_b(1:1500))
twice <- sample(differ, 30)
months <- c(to_months_a(twice), to_months_b(twice), to_months_b(sample(1:1500, 20)))
tf_event <- rbinom(80, 1, 0.5)
add_km("timefix_months", months, tf_event)
# weighted
add_km("w_integer", c(1, 2, 2, 3, 4, 5, 6, 6), c(1, 1, 0, 1, 0, 1, 1, 0), c(2, 0, 1, 3, 1, 0, 1, 2))
add_km("w_integer_replicated", c(1, 1, 2, 3, 3, 3, 4, 6, 6, 6), c(1, 1, 0, 1, 1, 1, 0, 1, 0, 0))
add_km("w_fraction", c(1, 2, 2, 3, 4, 5, 6, 6, 7), c(1, 1, 0, 1, 0, 1, 1, 0, 1),
       c(1, 0, 2, 0.5, 0, 1.5, 1, 2.25, 0.75))
add_km("w_fraction_scaled", c(1, 2, 2, 3, 4, 5, 6, 6, 7), c(1, 1, 0, 1, 0, 1, 1, 0, 1),
       3.7 * c(1, 0, 2, 0.5, 0, 1.5, 1, 2.25, 0.75))
add_km("w_fraction_to_zero", c(1, 2, 3, 3, 4), c(1, 0, 1, 1, 0), c(0.5, 1.5, 1, 0.25, 0))
add_km("w_fraction_flat_half", c(1, 2, 3, 4), c(1, 1, 0, 0), c(0.5, 0.5, 0.5, 0.5))
add_km("w_whole_floats", c(3, 1, 2, 2, 5), c(1, 1, 0, 1, 0), c(2, 1, 1, 3, 1))
n <- 100
ps <- runif(n, 0.15, 0.85)
add_km("w_ipw", round(to_months_a(sample(1:1800, n, replace = TRUE)), 2), rbinom(n, 1, 0.4),
       1 / ps)
add_km("w_timefix", months[1:40], tf_event[1:40], round(runif(40, 0.2, 3), 3))

conf_types <- c("log-log", "log", "plain")
probs <- c(0, 0.1, 0.25, 0.5, 0.75, 0.9, 1)

km_json <- c()
csv_rows <- c()
for (name in names(km_cases)) {
  cs <- km_cases[[name]]
  w <- cs$weight
  csv_rows <- c(csv_rows, sprintf("%s,%s,%s,%s", name, num(cs$time), cs$event,
                                  if (is.null(w)) "" else num(w)))
  per_type <- c()
  for (ct in conf_types) {
    fit <- if (is.null(w)) survfit(Surv(cs$time, cs$event) ~ 1, conf.type = ct)
           else survfit(Surv(cs$time, cs$event) ~ 1, weights = w, conf.type = ct)
    tab <- summary(fit)$table
    q <- quantile(fit, probs = probs)
    tt <- sort(unique(c(0, fit$time, (head(fit$time, -1) + tail(fit$time, -1)) / 2)))
    st <- summary(fit, times = tt)
    per_type <- c(per_type, sprintf('"%s": %s', ct, obj(list(
      time = arr(fit$time), n_at_risk = arr(fit$n.risk), n_events = arr(fit$n.event),
      n_censored = arr(fit$n.censor), survival = arr(fit$surv), std_err = arr(fit$std.err),
      ci_lower = arr(fit$lower), ci_upper = arr(fit$upper),
      logse = if (fit$logse) "true" else "false", n = num(fit$n),
      median = num(tab[["median"]]), median_lower = num(tab[["0.95LCL"]]),
      median_upper = num(tab[["0.95UCL"]]),
      probs = arr(probs), quantile = arr(q$quantile), quantile_lower = arr(q$lower),
      quantile_upper = arr(q$upper),
      at_times = arr(st$time), at_survival = arr(st$surv), at_std_err = arr(st$std.err),
      at_lower = arr(st$lower), at_upper = arr(st$upper), at_n_risk = arr(st$n.risk)
    ))))
  }
  # the same fit without timefix, to show that it matters
  raw <- if (is.null(w)) survfit(Surv(cs$time, cs$event) ~ 1, timefix = FALSE)
         else survfit(Surv(cs$time, cs$event) ~ 1, weights = w, timefix = FALSE)
  per_type <- c(per_type, sprintf('"no_timefix": %s', obj(list(
    time = arr(raw$time), survival = arr(raw$surv)))))
  km_json <- c(km_json, sprintf('"%s": {%s}', name, paste(per_type, collapse = ", ")))
}
writeLines(c("case,time,event,weight", csv_rows), "tests/data/km_cases.csv")

# ---------------------------------------------------------------- log-rank
lr_cases <- list()
add_lr <- function(name, time, event, group, stratum = NULL) {
  lr_cases[[name]] <<- list(time = time, event = event, group = group, stratum = stratum)
}
add_lr("one_arm_at_risk", c(1, 2, 5, 6), c(0, 0, 1, 1), c("a", "a", "b", "b"))
add_lr("three_groups_one_without_expected", c(1, 2, 3, 4, 5, 6, 0.5, 0.6),
       c(1, 1, 1, 0, 1, 1, 0, 0), c("a", "a", "a", "b", "b", "b", "c", "c"))
add_lr("no_events", c(1, 2, 3, 4), c(0, 0, 0, 0), c("a", "a", "b", "b"))
add_lr("singular", c(1, 1), c(1, 1), c("a", "b"))
add_lr("timefix_two_groups", months, tf_event, ifelse(seq_along(months) %% 3 == 0, "a", "b"))
add_lr("random_three_groups", ceiling(rexp(60, 1 / 12)), rbinom(60, 1, 0.6),
       sample(c("a", "b", "c"), 60, replace = TRUE))
st_t <- c(ceiling(rexp(50, 1 / 12)), 1, 2, 3, 0.5, 0.7)
st_e <- c(rbinom(50, 1, 0.6), 1, 1, 0, 0, 0)
st_g <- c(sample(c("a", "b"), 50, replace = TRUE), "a", "a", "b", "c", "c")
st_s <- c(sample(c("LR", "SR"), 50, replace = TRUE), "HR", "HR", "HR", "LR", "SR")
add_lr("stratified", st_t, st_e, st_g, st_s)
add_lr("stratified_one_arm_at_risk", c(1, 2, 5, 6, 1, 2, 3, 4), c(0, 0, 1, 1, 0, 0, 1, 1),
       c("a", "a", "b", "b", "a", "a", "b", "b"), c("x", "x", "x", "x", "y", "y", "y", "y"))

lr_json <- c()
lr_rows <- c()
for (name in names(lr_cases)) {
  cs <- lr_cases[[name]]
  s <- cs$stratum
  lr_rows <- c(lr_rows, sprintf("%s,%s,%s,%s,%s", name, num(cs$time), cs$event, cs$group,
                                if (is.null(s)) "" else s))
  fit <- tryCatch(
    if (is.null(s)) survdiff(Surv(cs$time, cs$event) ~ cs$group)
    else survdiff(Surv(cs$time, cs$event) ~ cs$group + strata(s)),
    error = function(e) NULL)
  if (is.null(fit)) {
    lr_json <- c(lr_json, sprintf('"%s": {"error": true}', name))
    next
  }
  # survdiff(timefix = FALSE) fails in 3.5-3 (the argument reaches model.frame), so the
  # untied statistic is survdiff's own computation on survdiff.fit
  raw <- survival:::survdiff.fit(Surv(cs$time, cs$event), factor(cs$group),
                                 if (is.null(s)) rep(1, length(cs$time)) else s)
  raw_o <- if (is.matrix(raw$observed)) rowSums(raw$observed) else raw$observed
  raw_e <- if (is.matrix(raw$expected)) rowSums(raw$expected) else raw$expected
  keep <- raw_e > 0
  raw_chi <- if (sum(keep) < 2) 0 else {
    dd <- ((raw_o - raw_e)[keep])[-1]
    sum(solve((raw$var[keep, keep])[-1, -1, drop = FALSE], dd) * dd)
  }
  obs <- if (is.matrix(fit$obs)) rowSums(fit$obs) else fit$obs
  expd <- if (is.matrix(fit$exp)) rowSums(fit$exp) else fit$exp
  df <- sum(expd > 0) - 1
  p <- suppressWarnings(pchisq(fit$chisq, df, lower.tail = FALSE))
  lr_json <- c(lr_json, sprintf('"%s": %s', name, obj(list(
    error = "false", groups = paste0("[", paste(str(sub("^.*=", "", names(fit$n))), collapse = ", "), "]"),
    n = arr(as.vector(fit$n)), observed = arr(obs), expected = arr(expd),
    statistic = num(fit$chisq), dof = num(df), p_value = num(fit$pvalue), p_check = num(p),
    no_timefix_statistic = num(raw_chi)))))
}
writeLines(c("case,time,event,group,stratum", lr_rows), "tests/data/km_logrank.csv")

writeLines(c("{", paste0('"source": ', str(paste("R", getRversion(), "survival", packageVersion("survival"))), ","),
             paste0('"km": {', paste(km_json, collapse = ",\n"), "},"),
             paste0('"logrank": {', paste(lr_json, collapse = ",\n"), "}"), "}"),
           "tests/data/km.expected.json")

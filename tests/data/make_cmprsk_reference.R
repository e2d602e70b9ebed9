# Reference values for competing risks, computed with R's cmprsk package (2.2-11):
# cumulative incidence (cuminc est/var read by timepoints), Gray's test (cuminc $Tests)
# and Fine-Gray regression (crr).
# Run from the project root:  Rscript tests/data/make_cmprsk_reference.R
# Writes tests/data/cmprsk_synthetic.csv, cmprsk_transplant.csv, cmprsk_mgus2.csv and
# cmprsk_edge.csv (the inputs, numbers with 17 significant digits) and
# tests/data/cmprsk.expected.json (what cmprsk returns for them).
suppressPackageStartupMessages({
  library(cmprsk)
  library(survival)
  library(jsonlite)
})
stopifnot(packageVersion("cmprsk") == "2.2.11")
out_dir <- file.path("tests", "data")

write_input <- function(d, name) {
  num <- vapply(d, is.numeric, logical(1))
  d[num] <- lapply(d[num], function(x) sprintf("%.17g", x))
  write.csv(d, file.path(out_dir, name), row.names = FALSE, quote = FALSE)
}

# --- data ------------------------------------------------------------------

# Synthetic cohort: half-month times (many ties, also across event types and
# censoring), three causes, three groups, two strata, numeric and categorical
# covariates.
set.seed(20240612)
n <- 400
age <- round(runif(n, 1, 18), 1)
risk <- sample(c("SR", "IR", "HR"), n, TRUE, prob = c(0.5, 0.3, 0.2))
arm <- rbinom(n, 1, 0.5)
centre <- sample(c("north", "south"), n, TRUE)
rate1 <- 0.012 * exp(0.5 * (risk == "HR") + 0.25 * (risk == "IR") - 0.4 * arm)
rate2 <- 0.006 * exp(0.04 * age)
rate3 <- 0.003
t1 <- rexp(n, rate1); t2 <- rexp(n, rate2); t3 <- rexp(n, rate3)
cens <- runif(n, 12, 96)
tt <- pmin(t1, t2, t3, cens)
cause <- ifelse(tt == cens, 0, ifelse(tt == t1, 1, ifelse(tt == t2, 2, 3)))
synthetic <- data.frame(
  time = ceiling(tt * 2) / 2, cause = cause, age = age, risk = risk, arm = arm,
  group = c("a", "b", "c")[1 + (risk == "IR") + 2 * (risk == "HR")], centre = centre
)

# Liver transplant waiting list (survival::transplant): death, transplant and
# withdrawal compete; whole days with ties and times of 0. Complete cases (age is
# missing for 18 patients).
tp <- survival::transplant
tp <- tp[complete.cases(tp), ]
transplant <- data.frame(
  time = tp$futime,
  cause = match(as.character(tp$event), c("death", "ltx", "withdraw"), nomatch = 0),
  age = tp$age, sex = as.character(tp$sex), abo = as.character(tp$abo)
)

# MGUS (survival::mgus2): progression to plasma cell malignancy (1) and death
# without it (2), months.
mg <- survival::mgus2
mgus2 <- data.frame(
  time = ifelse(mg$pstat == 1, mg$ptime, mg$futime),
  cause = ifelse(mg$pstat == 1, 1, 2 * mg$death),
  age = mg$age, sex = as.character(mg$sex)
)

# Small edge cases, one data set per `case`.
edge <- list()
add_edge <- function(case, time, cause, x = rep(0, length(time)), g = rep("a", length(time))) {
  edge[[case]] <<- data.frame(case = case, time = time, cause = cause, x = x, g = g)
}
add_edge("zero_times", c(0, 0, 0, 1, 2, 2, 3, 4, 5, 6), c(1, 2, 0, 1, 0, 1, 2, 1, 0, 1),
         c(0, 1, 1, 1, 1, 0, 1, 0, 1, 1), c("a", "b", "a", "b", "a", "b", "a", "b", "a", "b"))
add_edge("cause_to_one", c(1, 2, 2, 3, 4), c(1, 1, 1, 1, 1))
add_edge("last_competing", c(1, 2, 3, 4, 5, 6), c(1, 0, 2, 1, 1, 2))
add_edge("mixed_ties", c(1, 2, 2, 2, 2, 2, 3, 3, 4, 5, 5, 5, 6, 7),
         c(2, 1, 1, 2, 0, 0, 1, 2, 0, 1, 2, 0, 1, 0),
         c(1, 0, 1, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1),
         c("a", "a", "b", "b", "a", "b", "a", "b", "a", "b", "a", "b", "a", "b"))
# months from days converted two ways: equal days give times a few ulps apart,
# which cuminc keeps apart (no aeqSurv) and crr's censoring Kaplan-Meier
# (survfit) ties
set.seed(7)
days <- sample(20:900, 40, TRUE)
days <- c(days, days[1:15])
way <- c(rep(1, 40), rep(2, 15))
months <- ifelse(way == 1, days / 365.25 * 12, days / (365.25 / 12))
add_edge("near_ties", months, sample(0:2, 55, TRUE, prob = c(0.3, 0.45, 0.25)),
         rbinom(55, 1, 0.5), sample(c("a", "b"), 55, TRUE))
# no events of cause 1 where x = 1: crr's estimate diverges
add_edge("monotone", 1:16, c(1, 1, 2, 1, 0, 1, 2, 1, 2, 0, 2, 0, 2, 2, 0, 0),
         c(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1))
# x = 1 has one event of cause 1, at the last time, when only x = 1 is at risk:
# the estimate diverges although no level is free of events
add_edge("diverging", c(0, 0, 0, 1, 2, 2, 3, 4, 5, 6), c(1, 2, 0, 1, 0, 1, 2, 1, 0, 1),
         c(0, 1, 1, 0, 1, 0, 1, 0, 1, 1))
# four patients with x > 0 (four distinct values), none with an event of cause 1:
# crr stops after a few steps and calls it converged (coefficient about -8)
set.seed(12)
rare_cause <- sample(0:2, 1200, TRUE, prob = c(0.3, 0.4, 0.3))
rare_x <- rep(0, 1200)
rare_x[sample(which(rare_cause != 1), 4)] <- c(1, 1.5, 2, 2.5)
add_edge("rare_monotone", ceiling(rexp(1200, 0.02)), rare_cause, rare_x)
edge_frame <- do.call(rbind, unname(edge))

write_input(synthetic, "cmprsk_synthetic.csv")
write_input(transplant, "cmprsk_transplant.csv")
write_input(mgus2, "cmprsk_mgus2.csv")
write_input(edge_frame, "cmprsk_edge.csv")
datasets <- c(list(synthetic = synthetic, transplant = transplant, mgus2 = mgus2), edge)

# --- cumulative incidence ---------------------------------------------------

cuminc_ref <- list()
for (name in names(datasets)) {
  d <- datasets[[name]]
  fit <- cuminc(d$time, d$cause, cencode = 0)
  times <- sort(unique(d$time))
  tp <- timepoints(fit, times)
  causes <- sort(unique(d$cause[d$cause != 0]))
  est <- list(); vars <- list()
  for (k in causes) {
    row <- paste("1", k)
    est[[as.character(k)]] <- unname(tp$est[row, ])
    vars[[as.character(k)]] <- unname(tp$var[row, ])
  }
  cuminc_ref[[name]] <- list(time = times, causes = causes, est = est, var = vars)
}

# --- Gray's test ------------------------------------------------------------

gray_ref <- list()
add_gray <- function(case, group, strata = NULL, rho = 0) {
  d <- datasets[[case]]
  fit <- if (is.null(strata)) {
    cuminc(d$time, d$cause, d[[group]], rho = rho, cencode = 0)
  } else {
    cuminc(d$time, d$cause, d[[group]], d[[strata]], rho = rho, cencode = 0)
  }
  tests <- fit$Tests
  gray_ref[[length(gray_ref) + 1]] <<- list(
    case = case, group = group, strata = strata, rho = rho,
    causes = as.numeric(rownames(tests)), stat = unname(tests[, "stat"]),
    # upper tail without 1 - pchisq's cancellation
    p = pchisq(unname(tests[, "stat"]), unname(tests[, "df"]), lower.tail = FALSE),
    pv = unname(tests[, "pv"]), df = unname(tests[, "df"])
  )
}
add_gray("synthetic", "arm")
add_gray("synthetic", "group")
add_gray("synthetic", "group", "centre")
add_gray("synthetic", "arm", "group")
add_gray("synthetic", "group", rho = 1)
add_gray("transplant", "abo")
add_gray("transplant", "sex", "abo")
add_gray("mgus2", "sex")
add_gray("zero_times", "g")
add_gray("mixed_ties", "g")
add_gray("near_ties", "g")

# --- Fine-Gray --------------------------------------------------------------

crr_ref <- list()
add_crr <- function(case, covariates, cause = 1, reference = list()) {
  d <- datasets[[case]]
  for (v in names(reference)) d[[v]] <- relevel(factor(d[[v]]), reference[[v]])
  for (v in covariates) {
    if (is.character(d[[v]])) {  # the project's default: the most frequent level
      d[[v]] <- relevel(factor(d[[v]]), names(which.max(table(d[[v]]))))
    }
  }
  mm <- model.matrix(reformulate(covariates), d)[, -1, drop = FALSE]
  fit <- crr(d$time, d$cause, cov1 = mm, failcode = cause, cencode = 0)
  se <- sqrt(diag(fit$var))
  crr_ref[[length(crr_ref) + 1]] <<- list(
    case = case, covariates = covariates, cause = cause,
    reference = if (length(reference)) reference else setNames(list(), character(0)),
    names = colnames(mm), coef = unname(fit$coef), se = unname(se),
    p = unname(2 * pnorm(-abs(fit$coef / se))),
    lower = unname(exp(fit$coef - qnorm(0.975) * se)),
    upper = unname(exp(fit$coef + qnorm(0.975) * se)),
    loglik = fit$loglik, loglik_null = fit$loglik.null, converged = fit$converged
  )
}
add_crr("synthetic", "arm")
add_crr("synthetic", "age", cause = 2)
add_crr("synthetic", c("age", "risk"))
add_crr("synthetic", c("arm", "risk"), cause = 2, reference = list(risk = "HR"))
add_crr("synthetic", c("arm", "age"), cause = 3)
add_crr("transplant", "age", cause = 2)
add_crr("transplant", c("age", "abo"), cause = 1)
add_crr("transplant", c("sex", "age"), cause = 3)
add_crr("mgus2", c("age", "sex"))
add_crr("mgus2", "sex", cause = 2)
add_crr("zero_times", "x")
add_crr("mixed_ties", "x", cause = 2)
add_crr("near_ties", "x")
add_crr("monotone", "x")
add_crr("diverging", "x")
add_crr("rare_monotone", "x")

out <- list(
  versions = list(R = paste(R.version$major, R.version$minor, sep = "."),
                  cmprsk = as.character(packageVersion("cmprsk"))),
  cuminc = cuminc_ref, gray = gray_ref, crr = crr_ref
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null", null = "null"),
           file.path(out_dir, "cmprsk.expected.json"))

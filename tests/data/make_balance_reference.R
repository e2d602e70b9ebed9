# Reference values for blinastudy.stats.balance: MatchIt's summary() balance table (ATT).
# Run from the project root:  Rscript tests/data/make_balance_reference.R
# Needs MatchIt 4.5.1 and jsonlite. Writes tests/data/balance_*.csv (the data) and
# tests/data/balance.expected.json (for every case: MatchIt's weights and the
# "Means Treated", "Means Control", "Std. Mean Diff." and "Var. Ratio" columns of
# summary(m, standardize = TRUE)$sum.all and $sum.matched; their first row is the
# propensity score, exported as `distance`).
#
# The pairs of Debian's MatchIt 4.5.1 method = "nearest" are not the ones of
# MatchIt >= 4.5.4 (MatchIt issue #163). That does not matter here: the test feeds
# MatchIt's own weights to blinastudy.stats.balance and compares the balance table.
suppressPackageStartupMessages({
  library(MatchIt)
  library(jsonlite)
})
stopifnot(packageVersion("MatchIt") == "4.5.1")

out_dir <- "tests/data"
cols <- c(means_treated = "Means Treated", means_control = "Means Control",
          smd = "Std. Mean Diff.", var_ratio = "Var. Ratio")

# a named vector as a JSON object with 17 significant digits (jsonlite stops at 15):
# the weights must be MatchIt's to the last bit, or means that R finds equal differ by
# rounding noise
exact_by_id <- function(x, id) {
  structure(paste0("{", paste0('"', id, '":', sprintf("%.17g", unname(x)), collapse = ","), "}"),
            class = "json")
}

table_of <- function(tab) {
  res <- list(covariate = rownames(tab))
  for (k in names(cols)) res[[k]] <- unname(tab[, cols[[k]]])
  res
}

run_case <- function(data, id, formula, data_file, ...) {
  m <- suppressWarnings(matchit(formula, data = data, method = "nearest", ...))
  s <- summary(m, standardize = TRUE)
  args <- list(...)
  list(
    data = data_file,
    id = "id",
    treatment = all.vars(formula)[1],
    covariates = all.vars(formula)[-1],
    call = paste(deparse(m$call, width.cutoff = 500L), collapse = " "),
    ratio = if (is.null(args$ratio)) 1L else args$ratio,
    replace = isTRUE(args$replace),
    weights = exact_by_id(m$weights, id),
    distance = exact_by_id(m$distance, id),
    sum_all = table_of(s$sum.all),
    sum_matched = table_of(s$sum.matched)
  )
}

# ---- lalonde, race as a factor (black, hispan, white)
data("lalonde", package = "MatchIt")
lalonde$id <- rownames(lalonde)
write.csv(lalonde[, c("id", "treat", "age", "educ", "race", "married", "nodegree", "re74", "re75")],
          file.path(out_dir, "balance_lalonde.csv"), row.names = FALSE)
f_lalonde <- treat ~ age + educ + race + married + nodegree + re74 + re75

# ---- synthetic: codings that are two-valued but not 0/1, constants among the treated,
# a three-level category and a covariate whose mean differences are below sqrt(eps)
set.seed(20240611)
n1 <- 30
n0 <- 70
n <- n1 + n0
treat <- c(rep(1L, n1), rep(0L, n0))
synth <- data.frame(
  id = sprintf("P%03d", seq_len(n)),
  treat = treat,
  age = round(ifelse(treat == 1, runif(n, 2, 17), runif(n, 1, 18)), 1),
  sex = sample(1:2, n, replace = TRUE),                  # coded 1/2: not binary for MatchIt
  grade = ifelse(treat == 1, sample(2:3, n, TRUE, prob = c(0.3, 0.7)),
                 sample(2:3, n, TRUE, prob = c(0.6, 0.4))),
  mrd = ifelse(treat == 1, 0.25, round(runif(n, 0, 0.6), 3)),  # constant among the treated
  cns = ifelse(treat == 1, 0L, rbinom(n, 1, 0.3)),      # binary, all 0 among the treated
  risk = ifelse(treat == 1, sample(c("SR", "IR", "HR"), n, TRUE, prob = c(0.2, 0.3, 0.5)),
                sample(c("SR", "IR", "HR"), n, TRUE, prob = c(0.4, 0.4, 0.2))),
  tiny = round(rnorm(n), 3) * 1e-9,                      # mean differences below sqrt(eps)
  stringsAsFactors = FALSE
)
write.csv(synth, file.path(out_dir, "balance_synthetic.csv"), row.names = FALSE)
f_synth <- treat ~ age + sex + grade + mrd + cns + risk + tiny

# ---- a single treated patient: after 1:1 matching both arms have one unit (MatchIt's
# too.small: no SMD and no variance ratio), before matching the treated SD is undefined
single <- data.frame(
  id = sprintf("S%d", 1:8),
  treat = c(1L, 0L, 0L, 0L, 0L, 0L, 0L, 0L),
  x = c(3.5, 1.0, 2.0, 4.0, 6.5, 3.0, 5.0, 2.5),
  b = c(1L, 0L, 1L, 1L, 0L, 0L, 1L, 0L),
  stringsAsFactors = FALSE
)
write.csv(single, file.path(out_dir, "balance_single.csv"), row.names = FALSE)
f_single <- treat ~ x + b

cases <- list(
  lalonde_nearest = run_case(lalonde, lalonde$id, f_lalonde, "balance_lalonde.csv"),
  lalonde_ratio2 = run_case(lalonde, lalonde$id, f_lalonde, "balance_lalonde.csv", ratio = 2),
  lalonde_replace = run_case(lalonde, lalonde$id, f_lalonde, "balance_lalonde.csv",
                             replace = TRUE),
  synthetic_nearest = run_case(synth, synth$id, f_synth, "balance_synthetic.csv"),
  synthetic_ratio2 = run_case(synth, synth$id, f_synth, "balance_synthetic.csv", ratio = 2),
  synthetic_replace = run_case(synth, synth$id, f_synth, "balance_synthetic.csv",
                               replace = TRUE),
  single_nearest = run_case(single, single$id, f_single, "balance_single.csv")
)

out <- list(
  source = paste0("MatchIt ", packageVersion("MatchIt"), " summary(m, standardize = TRUE), ",
                  "estimand ATT; R ", getRversion(), "; made by make_balance_reference.R"),
  cases = cases
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", json_verbatim = TRUE, pretty = FALSE),
           file.path(out_dir, "balance.expected.json"))

# Reference values for blinastudy.stats.weighting and the weighted balance of blinastudy.stats.balance.
# Run from the project root:  Rscript tests/data/make_weighting_reference.R [OUT_DIR]
# OUT_DIR defaults to tests/data. Needs MatchIt 4.5.1 and jsonlite (WeightIt is not
# needed: its weights and trim() are written out below from its documented rules).
#
# Reads tests/data/balance_lalonde.csv, tests/data/balance_synthetic.csv,
# tests/data/balance_single.csv and data/demo_cohort.csv; writes to OUT_DIR
#   weighting_ties.csv         a synthetic cohort whose propensity score takes only a
#                              few values, so that many weights tie at the trimming
#                              quantile
#   weighting.expected.json    for every data set: the glm(binomial) propensity score
#                              and, for every weighting scheme below, the weights, the
#                              effective sample sizes per arm (MatchIt's nn(): Kish's
#                              sum(w)^2 / sum(w^2)) and MatchIt's summary() balance table
#                              ("Means Treated", "Means Control", "Std. Mean Diff.",
#                              "Var. Ratio") before ($sum.all) and after ($sum.matched)
#                              weighting, its first row being the propensity score
#
# The weights (WeightIt's get_w_from_ps() for a binary treatment):
#   ATT  treated 1, controls ps / (1 - ps)
#   ATE  treated 1 / ps, controls 1 / (1 - ps)
#   ATO  treated 1 - ps, controls ps
#   stabilize = TRUE (ATE): times the proportion of the sample in the unit's own arm
#   trim(w, at, lower): WeightIt's .trim_weights() for 0 < at < 1: at <- max(at, 1 - at);
#     the bounds are quantile(w[trimmable], c(if (lower) 1 - at else 0, at), type = 3)
#     and weights beyond them are set to the bound (winsorised, not recomputed);
#     for the ATT only the controls are trimmable (the treated, all 1, are the focal arm)
#   Stabilisation comes before trimming, as weightit(stabilize = TRUE) then trim().
#
# The balance tables: a matchit() object with method = NULL (the propensity model of
# matchit(distance = "glm")) and the estimand's SD convention ("ATT": the treated SD of
# the full sample; "ATE": the pooled SD sqrt((var_t + var_c) / 2), pooled_sd(contribution
# = "equal")); its weights are replaced by the weighting scheme's and it is summarised as
# a matched sample. MatchIt has no ATO estimand: overlap weights are summarised with the
# ATE object (pooled SD, cobalt's convention for the ATO), and the pooled-SD SMDs are
# checked below against the same formula computed by hand.
suppressPackageStartupMessages({
  library(MatchIt)
  library(jsonlite)
})
stopifnot(packageVersion("MatchIt") == "4.5.1")
# factor levels of text columns in code-point order (blinastudy.stats.balance.balance_design's
# order; the demo cohort's genetic subtypes mix upper and lower case)
invisible(Sys.setlocale("LC_COLLATE", "C"))

args <- commandArgs(trailingOnly = TRUE)
out_dir <- if (length(args) >= 1) args[1] else "tests/data"
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)

cols <- c(means_treated = "Means Treated", means_control = "Means Control",
          smd = "Std. Mean Diff.", var_ratio = "Var. Ratio")

# a named vector as a JSON object with 17 significant digits (jsonlite stops at 15)
exact_by_id <- function(x, id) {
  structure(paste0("{", paste0('"', id, '":', sprintf("%.17g", unname(x)), collapse = ","), "}"),
            class = "json")
}
exact <- function(x) structure(sprintf("%.17g", x), class = "json")

table_of <- function(tab) {
  res <- list(covariate = rownames(tab))
  for (k in names(cols)) res[[k]] <- unname(tab[, cols[[k]]])
  res
}

# ---- the weights, written out -------------------------------------------------

ps_weights <- function(ps, treat, estimand) {
  switch(estimand,
         ATT = ifelse(treat == 1, 1, ps / (1 - ps)),
         ATE = ifelse(treat == 1, 1 / ps, 1 / (1 - ps)),
         ATO = ifelse(treat == 1, 1 - ps, ps))
}

stabilize_w <- function(w, treat) {
  w * ifelse(treat == 1, mean(treat == 1), mean(treat == 0))
}

trim_w <- function(w, treat, at, lower, estimand) {
  at <- max(at, 1 - at)
  q <- if (lower) c(1 - at, at) else c(0, at)
  trimmable <- if (estimand == "ATT") treat == 0 else rep(TRUE, length(w))
  bounds <- quantile(w[trimmable], probs = q, type = 3, names = FALSE)
  w[trimmable & w < bounds[1]] <- bounds[1]
  w[trimmable & w > bounds[2]] <- bounds[2]
  w
}

# ---- weighted SMDs by hand: cobalt's pooled SD; MatchIt's fallback when it is ~0 or NaN --

hand_smd_pooled <- function(X, treat, w) {
  vapply(seq_len(ncol(X)), function(j) {
    x <- X[, j]
    binary <- all(x == 0 | x == 1)
    v <- function(a) {
      xa <- x[treat == a]
      if (binary) mean(xa) * (1 - mean(xa)) else var(xa)
    }
    sd_pooled <- sqrt((v(1) + v(0)) / 2)
    if (!is.finite(sd_pooled) || sd_pooled < sqrt(.Machine$double.eps)) {
      # MatchIt's fallback: each arm contributes in proportion to its size
      sd_pooled <- if (binary) {
        sqrt(sum(vapply(0:1, function(a) {
          s <- sum(x[treat == a])
          s * (1 - s / sum(treat == a))
        }, numeric(1))) / length(x))
      } else {
        centred <- x - ave(x, treat)
        sqrt(sum(centred^2) / (length(x) - 1))
      }
    }
    m1 <- sum(x[treat == 1] * w[treat == 1]) / sum(w[treat == 1])
    m0 <- sum(x[treat == 0] * w[treat == 0]) / sum(w[treat == 0])
    (m1 - m0) / sd_pooled
  }, numeric(1))
}

# ---- one data set ---------------------------------------------------------------

schemes <- list(
  att = list(estimand = "ATT"),
  ate = list(estimand = "ATE"),
  ato = list(estimand = "ATO"),
  ate_stabilized = list(estimand = "ATE", stabilize = TRUE),
  att_trim_90 = list(estimand = "ATT", trim = 0.9, lower = FALSE),
  ate_trim_95 = list(estimand = "ATE", trim = 0.95, lower = FALSE),
  ate_trim_10_two_sided = list(estimand = "ATE", trim = 0.1, lower = TRUE),
  ate_stabilized_trim_90_two_sided = list(estimand = "ATE", stabilize = TRUE, trim = 0.9,
                                          lower = TRUE),
  ato_trim_80 = list(estimand = "ATO", trim = 0.8, lower = FALSE)
)

run_data <- function(data, id, formula, data_file) {
  treat <- data[[all.vars(formula)[1]]]
  ps <- suppressWarnings(fitted(glm(formula, family = binomial, data = data)))
  objects <- list()
  for (est in c("ATT", "ATE")) {
    objects[[est]] <- suppressWarnings(
      matchit(formula, data = data, method = NULL, distance = "glm", estimand = est))
    stopifnot(isTRUE(all.equal(unname(objects[[est]]$distance), unname(ps), tolerance = 1e-12)))
  }
  out_schemes <- list()
  for (name in names(schemes)) {
    s <- schemes[[name]]
    w <- ps_weights(ps, treat, s$estimand)
    if (isTRUE(s$stabilize)) w <- stabilize_w(w, treat)
    if (!is.null(s$trim)) w <- trim_w(w, treat, s$trim, s$lower, s$estimand)
    m <- objects[[if (s$estimand == "ATT") "ATT" else "ATE"]]
    m$weights <- w
    m$info$method <- "weighting"  # summarise the weights as a matched sample
    sm <- summary(m, standardize = TRUE)
    if (s$estimand != "ATT") {
      X <- cbind(distance = m$distance, MatchIt:::get.covs.matrix(data = m$X))
      hand <- hand_smd_pooled(X, treat, w)
      big <- abs(sm$sum.matched[, "Means Treated"] - sm$sum.matched[, "Means Control"]) >
        sqrt(.Machine$double.eps)
      stopifnot(isTRUE(all.equal(unname(sm$sum.matched[big, "Std. Mean Diff."]), hand[big],
                                 tolerance = 1e-12)))
    }
    out_schemes[[name]] <- list(
      estimand = s$estimand,
      stabilize = isTRUE(s$stabilize),
      trim = if (is.null(s$trim)) NULL else s$trim,
      trim_lower = isTRUE(s$lower),
      weights = exact_by_id(w, id),
      ess_treated = exact(sm$nn["Matched (ESS)", "Treated"]),
      ess_control = exact(sm$nn["Matched (ESS)", "Control"]),
      sum_all = table_of(sm$sum.all),
      sum_matched = table_of(sm$sum.matched)
    )
  }
  list(
    data = data_file,
    id = "id",
    treatment = all.vars(formula)[1],
    covariates = all.vars(formula)[-1],
    propensity = exact_by_id(ps, id),
    schemes = out_schemes
  )
}

# ---- the data sets ---------------------------------------------------------------

lalonde <- read.csv("tests/data/balance_lalonde.csv", stringsAsFactors = FALSE)
f_lalonde <- treat ~ age + educ + race + married + nodegree + re74 + re75

synth <- read.csv("tests/data/balance_synthetic.csv", stringsAsFactors = FALSE)
f_synth <- treat ~ age + sex + grade + mrd + cns + risk

single <- read.csv("tests/data/balance_single.csv", stringsAsFactors = FALSE)
f_single <- treat ~ x + b

demo <- read.csv("data/demo_cohort.csv", stringsAsFactors = FALSE)
demo$id <- demo$patient_id
demo$treated <- as.integer(demo$arm == "blinatumomab")
f_demo <- treated ~ age_years + sex + wbc_10e9_l + cns_status + genetic_subtype +
  risk_group + prednisone_response + mrd_eoi_pct

# few distinct propensity scores: two binary covariates and a three-level one
set.seed(20240717)
n <- 120
ties <- data.frame(
  id = sprintf("T%03d", seq_len(n)),
  girl = rbinom(n, 1, 0.5),
  cns2 = rbinom(n, 1, 0.25),
  risk = sample(c("SR", "IR", "HR"), n, replace = TRUE, prob = c(0.4, 0.35, 0.25)),
  stringsAsFactors = FALSE
)
lin <- -1.2 + 0.4 * ties$girl + 0.9 * ties$cns2 + ifelse(ties$risk == "HR", 1.1,
                                                         ifelse(ties$risk == "IR", 0.5, 0))
ties$treat <- rbinom(n, 1, plogis(lin))
ties <- ties[, c("id", "treat", "girl", "cns2", "risk")]
write.csv(ties, file.path(out_dir, "weighting_ties.csv"), row.names = FALSE)
f_ties <- treat ~ girl + cns2 + risk

cases <- list(
  lalonde = run_data(lalonde, lalonde$id, f_lalonde, "balance_lalonde.csv"),
  synthetic = run_data(synth, synth$id, f_synth, "balance_synthetic.csv"),
  single = run_data(single, single$id, f_single, "balance_single.csv"),
  demo = run_data(demo, demo$id, f_demo, "../../data/demo_cohort.csv"),
  ties = run_data(ties, ties$id, f_ties, "weighting_ties.csv")
)
cases$demo$id <- "patient_id"
cases$demo$treatment_column <- "arm"

out <- list(
  source = paste0("glm(binomial) and WeightIt's weighting rules written out in R; MatchIt ",
                  packageVersion("MatchIt"), " summary(m, standardize = TRUE) of the weights; R ",
                  getRversion(), "; made by make_weighting_reference.R"),
  cases = cases
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", json_verbatim = TRUE,
                  null = "null", pretty = FALSE),
           file.path(out_dir, "weighting.expected.json"))

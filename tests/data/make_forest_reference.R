# Reference values for the forest table's treatment-by-subgroup interaction tests.
# Run from the project root:  Rscript tests/data/make_forest_reference.R
# Writes tests/data/forest_pairs.csv (the data), tests/data/forest_late.csv and
# tests/data/forest_slow.csv (two small monotone-likelihood cases) and
# tests/data/forest.expected.json. Needs survival and jsonlite.
#
# For each subgroup variable v:
#   robust Wald:  fit <- coxph(Surv(months, event) ~ treated * v, cluster = pair)   (Efron)
#                 b = the estimable (non-NA) interaction coefficients, V = their block of
#                 fit$var (the robust variance), W = b' V^-1 b, df = length(b),
#                 p = pchisq(W, df, lower.tail = FALSE)
#   model-based Wald: the same without cluster (V = inverse information)
#   likelihood ratio: anova(coxph(S ~ treated + v), coxph(S ~ treated * v))
#   infinite_terms: the terms of the interaction model for which coxph warns "coefficient
#                 may be infinite" (monotone likelihood); when an interaction term is among
#                 them, W is meaningless (blinastudy reports NaN).
#   converged:    FALSE when coxph warns "Ran out of iterations and did not converge"
#                 (its W then depends on where the iterations stopped; blinastudy: NaN).
suppressPackageStartupMessages(library(survival))

set.seed(20240611)
n_pairs <- 150
pair <- rep(seq_len(n_pairs), each = 2)
treated <- rep(c(1L, 0L), n_pairs)
# risk group: matched exactly (both members of a pair in the same level)
risk <- rep(sample(c("SR", "IR", "HR"), n_pairs, replace = TRUE, prob = c(0.4, 0.35, 0.25)), each = 2)
sex <- sample(c("F", "M"), 2 * n_pairs, replace = TRUE)
frailty <- rep(rnorm(n_pairs, 0, 0.6), each = 2)
rate <- 0.025 * exp(-0.6 * treated + c(SR = 0, IR = 0.5, HR = 1.1)[risk] +
                      0.7 * treated * (risk == "HR") + 0.3 * (sex == "M") + frailty)
latent <- rexp(2 * n_pairs, rate)
censor <- runif(2 * n_pairs, 12, 72)
months <- ceiling(pmin(latent, censor))  # whole months: many tied times
event <- as.integer(latent <= censor)

# cns: level CNS3 holds pairs whose treated member is censored, so the treated arm of
# CNS3 has no events (monotone likelihood for the interaction model)
free_pairs <- which(event[treated == 1] == 0)
cns_pairs <- sort(sample(free_pairs, 12))
cns <- rep(sample(c("CNS1", "CNS2"), n_pairs, replace = TRUE, prob = c(0.7, 0.3)), each = 2)
cns[pair %in% cns_pairs] <- "CNS3"
# site: site C has control patients only, so treated:siteC is aliased (NA in R)
site <- sample(c("A", "B"), 2 * n_pairs, replace = TRUE)
site[sample(which(treated == 0), 14)] <- "C"

d <- data.frame(id = sprintf("P%03d", seq_len(2 * n_pairs)), pair = pair, treated = treated,
                months = months, event = event, risk = risk, sex = sex, cns = cns, site = site)
write.csv(d, "tests/data/forest_pairs.csv", row.names = FALSE)

# a small case whose likelihood is monotone although every arm of every level has events:
# the events of group B occur only after everyone in group A has left the risk set
late <- data.frame(
  pair = rep(1:8, each = 2),
  treated = rep(c(1L, 0L), 8),
  months = c(2, 3, 4, 5, 6, 6, 7, 8, 20, 21, 22, 24, 25, 26, 27, 30),
  event = c(1, 1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1, 0),
  grp = rep(c("A", "B"), each = 8)
)
write.csv(late, "tests/data/forest_late.csv", row.names = FALSE)

# a small case where a main effect diverges so slowly that coxph runs out of iterations
# (level c: one control patient without an event); the interaction itself is finite
slow <- data.frame(
  pair = rep(0:4, each = 2),
  treated = rep(c(1L, 0L), 5),
  months = c(4, 2, 1, 4, 11, 7, 4, 10, 5, 1),
  event = c(1, 1, 1, 1, 1, 1, 1, 0, 1, 1),
  grp = c("b", "b", "a", "b", "a", "b", "a", "c", "b", "a")
)
write.csv(slow, "tests/data/forest_slow.csv", row.names = FALSE)

# the fit, and the terms coxph warns about ("Loglik converged before variable 2,5 ;
# coefficient may be infinite.")
fit_quiet <- function(formula, data, robust = FALSE) {
  flagged <- integer(0)
  ran_out <- FALSE
  fit <- withCallingHandlers(
    if (robust) coxph(formula, data = data, cluster = pair) else coxph(formula, data = data),
    warning = function(w) {
      msg <- conditionMessage(w)
      if (grepl("Ran out of iterations", msg)) ran_out <<- TRUE
      if (grepl("may be infinite", msg)) {
        vars <- sub(".*before variable *([0-9, ]+);.*", "\\1", msg)
        flagged <<- c(flagged, as.integer(strsplit(gsub(" ", "", vars), ",")[[1]]))
      }
      invokeRestart("muffleWarning")
    }
  )
  list(fit = fit, infinite = names(coef(fit))[flagged], converged = !ran_out)
}

wald <- function(fit) {
  b <- coef(fit)
  idx <- grep(":", names(b))
  idx <- idx[!is.na(b[idx]) & diag(fit$var)[idx] > 0]  # NA (aliased): left out
  v <- fit$var[idx, idx, drop = FALSE]
  w <- drop(t(b[idx]) %*% solve(v, b[idx]))
  list(statistic = w, df = length(idx), p_value = pchisq(w, length(idx), lower.tail = FALSE),
       terms = names(b)[idx], coef = unname(b[idx]), se = unname(sqrt(diag(v))))
}

tests_for <- function(data, v) {
  data$v <- factor(data[[v]])
  f1 <- as.formula("Surv(months, event) ~ treated * v")
  robust <- fit_quiet(f1, data, robust = TRUE)
  naive <- fit_quiet(f1, data)
  f0 <- fit_quiet(Surv(months, event) ~ treated + v, data)
  a <- anova(f0$fit, naive$fit)
  list(
    levels = levels(data$v),
    infinite_terms = I(robust$infinite),
    converged = robust$converged,
    robust = wald(robust$fit),
    model_based = wald(naive$fit),
    lr = list(statistic = a[2, "Chisq"], df = a[2, "Df"], p_value = a[2, "Pr(>|Chi|)"])
  )
}

out <- list(
  pairs = sapply(c("risk", "sex", "cns", "site"), function(v) tests_for(d, v), simplify = FALSE),
  late = list(grp = tests_for(late, "grp")),
  slow = list(grp = tests_for(slow, "grp")),
  source = paste0("R ", R.version$major, ".", R.version$minor, ", survival ",
                  as.character(packageVersion("survival")), "; tests/data/make_forest_reference.R")
)
jsonlite::write_json(out, "tests/data/forest.expected.json", auto_unbox = TRUE, digits = NA,
                     pretty = TRUE)

# Reference values for the analysis of matched samples whose matching weights differ,
# as the MatchIt vignette "Estimating Effects After Matching" analyses survival outcomes.
# Run from the project root:  Rscript tests/data/make_matched_design_reference.R
#
# Inputs (the demo cohort matched by blinastudy, since Debian's MatchIt 4.5.1 pairs are
# wrong, MatchIt issue #163; the formulas checked here do not depend on who matched):
#   matched_ratio3_units.csv   1:3 without replacement, caliper 0.05 SD: one row per patient
#                              (match.data()), MatchIt weights, matched set in `pair`
#   matched_replace_units.csv  1:2 with replacement: one row per patient, MatchIt weights
#   matched_replace_uses.csv   the same, one row per use (get_matches()), weights 1 / 1/k
suppressPackageStartupMessages(library(survival))
fmt <- function(x) if (is.null(x) || length(x) == 0 || is.na(x)) "null" else sprintf("%.17g", x)
obj <- function(lst) paste0("{", paste(sprintf('"%s": %s', names(lst), unlist(lst)), collapse = ", "), "}")

cox_obj <- function(fit, var = fit$var) {
  b <- unname(coef(fit)[1]); se <- sqrt(var[1, 1]); z <- qnorm(0.975)
  obj(list(hr = fmt(exp(b)), ci_lower = fmt(exp(b - z * se)), ci_upper = fmt(exp(b + z * se)),
           se = fmt(se), p_value = fmt(2 * pnorm(-abs(b / se)))))
}
km_obj <- function(data, time, event) {
  f <- as.formula(sprintf("Surv(%s, %s) ~ treated", time, event))
  fit <- survfit(f, data = data, weights = weight, conf.type = "log-log")
  s <- summary(fit, times = 24)
  arms <- sub("treated=", "", as.character(s$strata))
  paste0("{", paste(sprintf('"%s": %s', arms, sapply(seq_along(arms), function(i)
    obj(list(survival = fmt(s$surv[i]), std_err = fmt(s$std.err[i]),
             ci_lower = fmt(s$lower[i]), ci_upper = fmt(s$upper[i]))))), collapse = ", "), "}")
}

out <- list()
u <- read.csv("tests/data/matched_ratio3_units.csv", stringsAsFactors = FALSE)
for (ep in c("efs", "os")[1]) {
  f <- as.formula(sprintf("Surv(%s_months, %s_event) ~ treated", ep, ep))
  # the vignette: coxph(..., robust = TRUE, weights = weights, cluster = subclass)
  out$ratio3_cox <- cox_obj(coxph(f, data = u, weights = weight, robust = TRUE, cluster = pair))
  out$ratio3_km24 <- km_obj(u, sprintf("%s_months", ep), sprintf("%s_event", ep))
  lr <- survdiff(update(f, . ~ . + strata(pair)), data = u)
  out$ratio3_logrank_sets <- obj(list(statistic = fmt(lr$chisq), p_value = fmt(lr$pvalue)))
}

units <- read.csv("tests/data/matched_replace_units.csv", stringsAsFactors = FALSE)
gm <- read.csv("tests/data/matched_replace_uses.csv", stringsAsFactors = FALSE)
f <- Surv(efs_months, efs_event) ~ treated
# Austin & Cafri (2020), as in the vignette's section on matching with replacement
fs <- coxph(f, data = gm, robust = TRUE, weights = weight, cluster = pair)
fi <- coxph(f, data = gm, robust = TRUE, weights = weight, cluster = patient_id)
fc <- coxph(f, data = gm, robust = TRUE, weights = weight)
ks <- length(unique(gm$pair)); ki <- length(unique(gm$patient_id)); kc <- nrow(gm)
v <- (ks / (ks - 1)) * fs$var + (ki / (ki - 1)) * fi$var - (kc / (kc - 1)) * fc$var
out$replace_cox <- cox_obj(fc, v)
out$replace_km24 <- km_obj(units, "efs_months", "efs_event")
lr <- survdiff(f, data = units)
out$replace_logrank_plain <- obj(list(statistic = fmt(lr$chisq), p_value = fmt(lr$pvalue)))

json <- paste0("{\n", paste(sprintf('  "%s": %s', names(out), unlist(out)), collapse = ",\n"),
               ',\n  "source": "R ', R.version$major, ".", R.version$minor, ", survival ",
               as.character(packageVersion("survival")), '; tests/data/make_matched_design_reference.R"\n}\n')
writeLines(json, "tests/data/matched_design.expected.json")

# Reference values for the demo cohort, computed with R's survival package.
# Run from the project root:  Rscript tests/data/make_demo_reference.R
# Inputs: data/demo_cohort.csv (the bundled synthetic cohort) and
# tests/data/demo_matched.csv (the 1:1 matched sample at caliper 0.2 SD of the logit, written
# by tests/data/make_demo_matched.py). The comparison uses the study's eligible population:
# every blinatumomab patient and the intermediate- and high-risk historical controls.
suppressPackageStartupMessages(library(survival))
fmt <- function(x) if (is.null(x) || length(x) == 0 || is.na(x)) "null" else sprintf("%.15g", x)
obj <- function(lst) paste0("{", paste(sprintf('"%s": %s', names(lst), unlist(lst)), collapse = ", "), "}")

cohort <- read.csv("data/demo_cohort.csv", stringsAsFactors = FALSE)
cohort <- cohort[cohort$arm == "blinatumomab" | cohort$risk_group %in% c("IR", "HR"), ]
cohort$treated <- as.integer(cohort$arm == "blinatumomab")
ps_fit <- glm(treated ~ age_years + sex + wbc_10e9_l + cns_status + genetic_subtype +
                risk_group + prednisone_response + mrd_eoi_pct,
              family = binomial, data = cohort)
ps <- fitted(ps_fit)
lp <- ps_fit$linear.predictors

m <- read.csv("tests/data/demo_matched.csv", stringsAsFactors = FALSE)
out <- list()
out$propensity <- paste0("{", paste(sprintf('"%s": %s', cohort$patient_id, sapply(ps, fmt)), collapse = ", "), "}")
out$linear_predictor <- paste0("{", paste(sprintf('"%s": %s', cohort$patient_id, sapply(lp, fmt)), collapse = ", "), "}")
out$caliper_width_logit_0.2 <- fmt(0.2 * sd(lp))

cox_row <- function(fit) {
  s <- summary(fit)
  co <- s$coefficients
  se_col <- if ("robust se" %in% colnames(co)) "robust se" else "se(coef)"
  obj(list(hr = fmt(co[1, "exp(coef)"]), ci_lower = fmt(s$conf.int[1, "lower .95"]),
           ci_upper = fmt(s$conf.int[1, "upper .95"]), se = fmt(co[1, se_col]),
           p_value = fmt(co[1, "Pr(>|z|)"])))
}
out$efs_cox_cluster <- cox_row(coxph(Surv(efs_months, efs_event) ~ treated, data = m, cluster = pair))
lr <- survdiff(Surv(efs_months, efs_event) ~ treated, data = m)
out$efs_logrank <- obj(list(statistic = fmt(lr$chisq), p_value = fmt(1 - pchisq(lr$chisq, 1))))
lr <- survdiff(Surv(os_months, os_event) ~ treated, data = m)
out$os_logrank <- obj(list(statistic = fmt(lr$chisq), p_value = fmt(1 - pchisq(lr$chisq, 1))))
# the log-rank test stratified by matched pair (the default on 1:1 matched samples)
for (ep in c("efs", "os")) {
  f <- as.formula(sprintf("Surv(%s_months, %s_event) ~ treated + strata(pair)", ep, ep))
  lr <- survdiff(f, data = m)
  out[[paste0(ep, "_logrank_pairs")]] <- obj(list(statistic = fmt(lr$chisq), p_value = fmt(lr$pvalue)))
}

# subgroup hazard ratios (levels with events in both arms) and interaction LR tests
sub <- c()
for (v in c("risk_group", "mrd_group", "age_band", "wbc_band", "sex")) {
  m$v <- factor(m[[v]])
  f0 <- coxph(Surv(efs_months, efs_event) ~ treated + v, data = m)
  f1 <- coxph(Surv(efs_months, efs_event) ~ treated * v, data = m)
  a <- anova(f0, f1)
  pint <- a[2, "Pr(>|Chi|)"]
  for (lv in levels(m$v)) {
    d <- m[m$v == lv, ]
    ev_t <- sum(d$efs_event[d$treated == 1]); ev_c <- sum(d$efs_event[d$treated == 0])
    hr <- if (ev_t > 0 && ev_c > 0) cox_row(coxph(Surv(efs_months, efs_event) ~ treated, data = d, cluster = pair)) else "null"
    sub <- c(sub, sprintf('"%s=%s": {"p_interaction": %s, "cox_cluster": %s}', v, lv, fmt(pint), hr))
  }
}
out$efs_subgroups <- paste0("{", paste(sub, collapse = ", "), "}")
km <- survfit(Surv(efs_months, efs_event) ~ 1, data = m[m$treated == 0, ])
s24 <- summary(km, times = 24)
out$efs_control_24 <- obj(list(survival = fmt(s24$surv), ci_lower = fmt(s24$lower), ci_upper = fmt(s24$upper), std_err = fmt(s24$std.err)))
km <- survfit(Surv(efs_months, efs_event) ~ 1, data = m[m$treated == 0, ], conf.type = "log-log")
s24 <- summary(km, times = 24)
out$efs_control_24_loglog <- obj(list(survival = fmt(s24$surv), ci_lower = fmt(s24$lower), ci_upper = fmt(s24$upper), std_err = fmt(s24$std.err)))
q <- quantile(km, 0.5)
out$efs_control_median_loglog <- obj(list(quantile = fmt(q$quantile), lower = fmt(q$lower), upper = fmt(q$upper)))

# model checks: cox.zph of the matched EFS hazard ratio (transform "km", survival 3.x) and
# the restricted mean survival time to 24 months per arm (print(survfit, rmean = 24))
z <- cox.zph(coxph(Surv(efs_months, efs_event) ~ treated, data = m, cluster = pair))
out$efs_zph_matched <- obj(list(chisq = fmt(z$table["treated", "chisq"]), p_value = fmt(z$table["treated", "p"])))
z <- cox.zph(coxph(Surv(efs_months, efs_event) ~ treated, data = cohort))
out$efs_zph_crude <- obj(list(chisq = fmt(z$table["treated", "chisq"]), p_value = fmt(z$table["treated", "p"])))
for (ep in c("efs", "os")) {
  f <- as.formula(sprintf("Surv(%s_months, %s_event) ~ treated", ep, ep))
  tab <- summary(survfit(f, data = m), rmean = 24)$table
  out[[paste0(ep, "_rmst24")]] <- obj(list(
    control = fmt(tab["treated=0", "rmean"]), control_se = fmt(tab["treated=0", "se(rmean)"]),
    treated = fmt(tab["treated=1", "rmean"]), treated_se = fmt(tab["treated=1", "se(rmean)"])))
}

# blinatumomab as a time-dependent exposure: follow-up split at the first dose (tmerge),
# Cox robust by matched pair (matched sample) or by patient (all eligible patients),
# the Mantel-Byar test (score test of the same model without clusters), and the
# Simon-Makuch curves at 24 months
td_split <- function(d, ep) {
  d$time <- d[[paste0(ep, "_months")]]
  d$status <- d[[paste0(ep, "_event")]]
  d$start_at <- ifelse(d$treated == 1, d$blina_start_months, NA)
  d$id <- seq_len(nrow(d))
  tmerge(d[, c("id", "patient_id", "treated", if ("pair" %in% names(d)) "pair")], d, id = id,
         death = event(time, status), exposed = tdc(start_at))
}
td_row <- function(s, cl) {
  fit <- if (cl == "pair") coxph(Surv(tstart, tstop, death) ~ exposed, data = s, cluster = pair)
         else coxph(Surv(tstart, tstop, death) ~ exposed, data = s, cluster = id)
  sc <- summary(coxph(Surv(tstart, tstop, death) ~ exposed, data = s))$sctest
  sm <- summary(survfit(Surv(tstart, tstop, death) ~ exposed, data = s, conf.type = "log-log"),
                times = 24)
  paste0("{", paste(c(
    sprintf('"cox": %s', cox_row(fit)),
    sprintf('"mantel_byar": %s', obj(list(statistic = fmt(sc[["test"]]), p_value = fmt(sc[["pvalue"]])))),
    sprintf('"zph_p": %s', fmt(cox.zph(fit)$table["exposed", "p"])),
    sprintf('"simon_makuch_24": %s', obj(list(unexposed = fmt(sm$surv[1]), exposed = fmt(sm$surv[2]),
                                                unexposed_lower = fmt(sm$lower[1]), exposed_lower = fmt(sm$lower[2])))),
    sprintf('"events": %s', obj(list(exposed = fmt(sum(s$death[s$exposed == 1])),
                                      unexposed = fmt(sum(s$death[s$exposed == 0])))))
  ), collapse = ", "), "}")
}
out$efs_td_matched <- td_row(td_split(m, "efs"), "pair")
out$efs_td_all <- td_row(td_split(cohort, "efs"), "id")
s <- td_split(m, "os")
sc <- summary(coxph(Surv(tstart, tstop, death) ~ exposed, data = s))$sctest
out$os_td_matched_mantel_byar <- obj(list(statistic = fmt(sc[["test"]]), p_value = fmt(sc[["pvalue"]])))

json <- paste0("{\n", paste(sprintf('  "%s": %s', names(out), unlist(out)), collapse = ",\n"),
               ',\n  "source": "R ', R.version$major, ".", R.version$minor, ", survival ",
               as.character(packageVersion("survival")), '; tests/data/make_demo_reference.R"\n}\n')
writeLines(json, "tests/data/demo.expected.json")

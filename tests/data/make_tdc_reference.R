# Reference values for counting-process survival: tmerge splits at a
# time-dependent exposure, Kaplan-Meier with delayed entry, Cox models on
# (start, stop] rows (cluster, weights), the Mantel-Byar score test, cox.zph
# (three transforms) and the restricted mean survival time, computed with R's
# survival package 3.5-3.
# Run from the project root:  Rscript tests/data/make_tdc_reference.R [outdir]
# Writes tdc_heart.csv, tdc_jasa.csv, tdc_synth.csv, tdc_veteran.csv,
# tdc_lung.csv, tdc_neartie.csv (the inputs) and tdc.expected.json. Every number is computed on
# the data read back from the CSV files, so R and Python start from the same
# numbers. In the JSON, R's NA is "NA" and infinities are "Inf" and "-Inf".
suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})
stopifnot(as.character(packageVersion("survival")) == "3.5.3")
args <- commandArgs(trailingOnly = TRUE)
dir <- if (length(args)) args[1] else "tests/data"
dir.create(dir, showWarnings = FALSE, recursive = TRUE)

roundtrip <- function(frame, name) {
  path <- file.path(dir, name)
  write.csv(frame, path, row.names = FALSE)
  read.csv(path, stringsAsFactors = FALSE)
}

# ---------------------------------------------------------------------------
# inputs

# Stanford heart transplant, counting-process form (transplant a time-dependent
# covariate): the classic Mantel-Byar example.
heart_df <- roundtrip(heart[, c("id", "start", "stop", "event", "age", "year",
                                "surgery", "transplant")], "tdc_heart.csv")

# The same study one row per patient (jasa): days from acceptance to the end of
# follow-up (0 raised to 0.5, as tmerge needs a positive end) and to the
# transplant (missing when none). One patient's transplant falls on the day of
# the end of follow-up: tmerge leaves such a patient unexposed.
jasa_df <- with(jasa, data.frame(
  id = seq_len(nrow(jasa)),
  futime = pmax(0.5, futime),
  fustat = fustat,
  wait = wait.time,
  age = round(age, 2),
  surgery = surgery
))
jasa_df <- roundtrip(jasa_df, "tdc_jasa.csv")

# Synthetic, whole months (many ties between event, censoring and exposure
# times): exposure before the origin, at 0, at the end of follow-up, after it,
# missing; a three-level risk group, sex, age, non-integer weights, pairs.
set.seed(20240612)
n <- 90
futime <- sample(1:30, n, replace = TRUE)
at <- sample(c(-2, 0:30), n, replace = TRUE)
at[sample(n, 15)] <- NA
at[1:4] <- futime[1:4]          # exposure exactly at the end: stays unexposed
at[5:6] <- futime[5:6] + 3      # after the end: unexposed
synth <- data.frame(
  id = sprintf("S%02d", 1:n),
  futime = futime,
  status = rbinom(n, 1, 0.6),
  at = at,
  risk = sample(c("LR", "IR", "HR"), n, replace = TRUE, prob = c(0.4, 0.35, 0.25)),
  sex = sample(c("F", "M"), n, replace = TRUE),
  age = round(runif(n, 1, 18), 1),
  w = round(runif(n, 0.3, 2.5), 3),
  pair = (seq_len(n) - 1) %/% 2 + 1
)
synth <- roundtrip(synth, "tdc_synth.csv")

# Veteran lung cancer: left truncation by time from diagnosis (diagtime months,
# counted as 30 days) to randomisation; exit = entry + follow-up.
vet <- with(veteran, data.frame(
  trt = trt, celltype = as.character(celltype), time = time, status = status,
  karno = karno, entry = diagtime * 30, exit = diagtime * 30 + time
))
vet <- roundtrip(vet, "tdc_veteran.csv")

# NCCTG lung cancer (status 2 = death), complete on ph.ecog.
lng <- lung[!is.na(lung$ph.ecog), c("time", "status", "age", "sex", "ph.ecog")]
lng$status <- lng$status - 1
lng <- roundtrip(lng, "tdc_lung.csv")

# Near-tied (start, stop] times: start and stop in months converted from days two
# ways (days / 365.25 * 12 for starts, days / (365.25 / 12) for stops), which differ
# in the last bits for some days: aeqSurv ties them over both columns together,
# so a row starting "at" another row's event time is not at risk then.
cand <- (1:400)[(1:400) / 365.25 * 12 != (1:400) / (365.25 / 12)]
nt_n <- 70
nt_start <- sample(c(0, cand[1:12]), nt_n, replace = TRUE)
nt_stop <- nt_start + sample(cand[1:12], nt_n, replace = TRUE)
neartie <- data.frame(
  id = sprintf("N%02d", (seq_len(nt_n) - 1) %/% 2 + 1),
  start_days = nt_start,
  stop_days = nt_stop,
  event = rbinom(nt_n, 1, 0.7),
  x = rbinom(nt_n, 1, 0.5)
)
neartie <- roundtrip(neartie, "tdc_neartie.csv")
neartie$start <- neartie$start_days / 365.25 * 12
neartie$stop <- neartie$stop_days / (365.25 / 12)

# ---------------------------------------------------------------------------
# helpers

split_record <- function(frame, id, at_name, futime, status) {
  frame$id_ <- frame[[id]]
  frame$ft_ <- frame[[futime]]
  frame$st_ <- frame[[status]]
  frame$at_ <- frame[[at_name]]
  out <- tmerge(frame, frame, id = id_, tstop = ft_, ev = event(ft_, st_),
                exposed = tdc(at_))
  list(id = I(as.character(out$id_)), start = out$tstart, stop = out$tstop,
       event = out$ev, exposed = out$exposed)
}

km_record <- function(fit) {
  s <- fit
  list(time = s$time, n_at_risk = s$n.risk, n_events = s$n.event,
       n_censored = s$n.censor, survival = s$surv, std_err = s$std.err,
       ci_lower = s$lower, ci_upper = s$upper, logse = s$logse)
}

# weights: a vector, put into the data as column kmw (survfit evaluates it there)
km_cases <- function(formula, data, weights = NULL) {
  data$kmw <- if (is.null(weights)) rep(1, nrow(data)) else weights
  out <- list()
  for (ct in c("log-log", "log", "plain")) {
    fit <- if (is.null(weights)) survfit(formula, data = data, conf.type = ct)
           else survfit(formula, data = data, conf.type = ct, weights = kmw)
    out[[ct]] <- km_record(fit)
  }
  out
}

cox_record <- function(fit) {
  s <- summary(fit)
  co <- s$coefficients
  se_col <- if ("robust se" %in% colnames(co)) "robust se" else "se(coef)"
  naive <- if (is.null(fit$naive.var)) fit$var else fit$naive.var
  nm <- names(coef(fit))
  named <- function(v) as.list(setNames(as.numeric(v), nm))
  list(names = I(nm), coef = named(coef(fit)), se = named(co[, se_col]),
       naive_se = named(sqrt(diag(as.matrix(naive)))),
       p_value = named(co[, "Pr(>|z|)"]), robust = se_col == "robust se",
       loglik = fit$loglik[2], n = fit$n, n_events = fit$nevent)
}

sctest_record <- function(fit) {
  sc <- summary(fit)$sctest
  list(statistic = unname(sc["test"]), df = unname(sc["df"]),
       p_value = unname(sc["pvalue"]))
}

zph_record <- function(fit, transform, residuals = FALSE) {
  z <- cox.zph(fit, transform = transform)
  rec <- list(terms = I(rownames(z$table)), chisq = unname(z$table[, "chisq"]),
              df = unname(z$table[, "df"]), p_value = unname(z$table[, "p"]))
  if (residuals) {
    rec$time <- unname(z$time)
    rec$x <- unname(z$x)
    rec$y <- lapply(seq_len(ncol(z$y)), function(j) unname(z$y[, j]))
    names(rec$y) <- colnames(z$y)
  }
  rec
}

rmean_record <- function(fit, tau) {
  tab <- summary(fit, rmean = tau)$table
  if (is.matrix(tab)) {
    list(strata = I(rownames(tab)), rmst = unname(tab[, "rmean"]),
         se = unname(tab[, "se(rmean)"]))
  } else {
    list(rmst = unname(tab["rmean"]), se = unname(tab["se(rmean)"]))
  }
}

out <- list()

# ---------------------------------------------------------------------------
# 1. tmerge splits

out$split <- list(
  jasa = split_record(jasa_df, "id", "wait", "futime", "fustat"),
  synth = split_record(synth, "id", "at", "futime", "status")
)
jsplit <- tmerge(jasa_df, jasa_df, id = id, tstop = futime,
                 death = event(futime, fustat), exposed = tdc(wait))
ssplit <- tmerge(synth, synth, id = id, tstop = futime,
                 death = event(futime, status), exposed = tdc(at))

# ---------------------------------------------------------------------------
# 2. Kaplan-Meier with delayed entry

out$km <- list(
  heart = km_cases(Surv(start, stop, event) ~ 1, heart_df),
  neartie = km_cases(Surv(start, stop, event) ~ 1, neartie),
  veteran = km_cases(Surv(entry, exit, status) ~ 1, vet),
  synth_w = km_cases(Surv(tstart, tstop, death) ~ 1, ssplit, weights = ssplit$w),
  synth_intw = km_cases(Surv(tstart, tstop, death) ~ 1, ssplit,
                        weights = round(ssplit$w * 2))
)
# Simon-Makuch: one curve per exposure state, from the split rows
sm <- list()
for (g in 0:1) {
  sm[[as.character(g)]] <- km_cases(Surv(tstart, tstop, death) ~ 1,
                                    jsplit[jsplit$exposed == g, ])
}
out$km$jasa_exposed <- sm
heart_fit <- survfit(Surv(start, stop, event) ~ 1, data = heart_df)
times <- c(1, 30.5, 100, 365, 1000, 1799)
sm_heart <- summary(heart_fit, times = times, extend = TRUE)
out$km_at <- list(times = times, survival = sm_heart$surv, std_err = sm_heart$std.err,
                  n_at_risk = sm_heart$n.risk, ci_lower = sm_heart$lower,
                  ci_upper = sm_heart$upper)
med <- summary(heart_fit)$table
out$km_median <- list(median = unname(med["median"]), lower = unname(med["0.95LCL"]),
                      upper = unname(med["0.95UCL"]))

# ---------------------------------------------------------------------------
# 3. Cox models on (start, stop] rows

ssplit$risk <- relevel(factor(ssplit$risk), ref = "LR")
out$cox <- list(
  heart = cox_record(coxph(Surv(start, stop, event) ~ transplant + age + surgery,
                           data = heart_df, cluster = id)),
  heart_breslow = cox_record(coxph(Surv(start, stop, event) ~ transplant + age + surgery,
                                   data = heart_df, cluster = id, ties = "breslow")),
  heart_tx = cox_record(coxph(Surv(start, stop, event) ~ transplant, data = heart_df,
                              cluster = id)),
  heart_naive = cox_record(coxph(Surv(start, stop, event) ~ transplant + age,
                                 data = heart_df)),
  jasa = cox_record(coxph(Surv(tstart, tstop, death) ~ exposed + age, data = jsplit,
                          cluster = id)),
  synth = cox_record(coxph(Surv(tstart, tstop, death) ~ exposed + risk + age,
                           data = ssplit, cluster = id)),
  synth_w = cox_record(coxph(Surv(tstart, tstop, death) ~ exposed + risk + age,
                             data = ssplit, weights = w, robust = TRUE, cluster = id)),
  synth_w_pair = cox_record(coxph(Surv(tstart, tstop, death) ~ exposed + age,
                                  data = ssplit, weights = w, cluster = pair)),
  synth_w_rows = cox_record(coxph(Surv(tstart, tstop, death) ~ exposed, data = ssplit,
                                  weights = w)),
  synth_strata = cox_record(coxph(Surv(tstart, tstop, death) ~ exposed + age +
                                    strata(sex), data = ssplit, cluster = id)),
  veteran = cox_record(coxph(Surv(entry, exit, status) ~ trt + karno, data = vet)),
  neartie = cox_record(coxph(Surv(start, stop, event) ~ x, data = neartie, cluster = id))
)

# ---------------------------------------------------------------------------
# 4. Mantel-Byar: score test of the Cox model on the rows

out$mantel_byar <- list(
  heart = sctest_record(coxph(Surv(start, stop, event) ~ transplant, data = heart_df)),
  jasa = sctest_record(coxph(Surv(tstart, tstop, death) ~ exposed, data = jsplit)),
  synth = sctest_record(coxph(Surv(tstart, tstop, death) ~ exposed, data = ssplit)),
  synth_risk = sctest_record(coxph(Surv(tstart, tstop, death) ~ risk, data = ssplit)),
  synth_strata = sctest_record(coxph(Surv(tstart, tstop, death) ~ exposed + strata(sex),
                                     data = ssplit)),
  veteran = sctest_record(coxph(Surv(entry, exit, status) ~ trt, data = vet)),
  neartie = sctest_record(coxph(Surv(start, stop, event) ~ x, data = neartie))
)

# ---------------------------------------------------------------------------
# 5. cox.zph, three transforms

vet$celltype <- factor(vet$celltype)
zfits <- list(
  heart = coxph(Surv(start, stop, event) ~ transplant + age + surgery, data = heart_df,
                cluster = id),
  synth = coxph(Surv(tstart, tstop, death) ~ exposed + risk + age, data = ssplit,
                cluster = id),
  synth_w = coxph(Surv(tstart, tstop, death) ~ exposed + age, data = ssplit, weights = w,
                  cluster = id),
  veteran = coxph(Surv(time, status) ~ trt + celltype + karno, data = vet),
  veteran_strata = coxph(Surv(time, status) ~ karno + celltype + strata(trt), data = vet),
  lung = coxph(Surv(time, status) ~ age + sex + ph.ecog, data = lng),
  lung_breslow = coxph(Surv(time, status) ~ age + sex, data = lng, ties = "breslow")
)
out$zph <- list()
for (nm in names(zfits)) {
  out$zph[[nm]] <- list()
  for (tr in c("km", "identity", "rank")) {
    out$zph[[nm]][[tr]] <- zph_record(zfits[[nm]], tr,
                                      residuals = nm %in% c("heart", "veteran", "synth"))
  }
}
# a robust fit gives the same test as the model-based one
stopifnot(isTRUE(all.equal(cox.zph(zfits$heart)$table,
                           cox.zph(coxph(Surv(start, stop, event) ~ transplant + age +
                                           surgery, data = heart_df))$table)))

# ---------------------------------------------------------------------------
# 6. Restricted mean survival time

lng$sex <- factor(lng$sex)
rm_lung <- list()
for (tau in c(365, 730, 1022, 1500)) {  # 1022 is the last time; 1500 beyond it
  key <- as.character(tau)
  rm_lung[[key]] <- list(
    tau = tau,
    all = rmean_record(survfit(Surv(time, status) ~ 1, data = lng), tau),
    by_sex = rmean_record(survfit(Surv(time, status) ~ sex, data = lng), tau)
  )
}
rm_heart <- list()
for (tau in c(5, 365, 1000, 2500)) {
  rm_heart[[as.character(tau)]] <- list(
    tau = tau,
    all = rmean_record(survfit(Surv(start, stop, event) ~ 1, data = heart_df), tau)
  )
}
rm_vet <- list()
for (tau in c(100, 365, 2000)) {
  rm_vet[[as.character(tau)]] <- list(
    tau = tau,
    by_trt = rmean_record(survfit(Surv(time, status) ~ trt, data = vet), tau),
    entry = rmean_record(survfit(Surv(entry, exit, status) ~ 1, data = vet), tau + 300)
  )
}
rm_synth <- list(
  tau = 20,
  weighted = rmean_record(survfit(Surv(futime, status) ~ 1, data = synth, weights = w), 20)
)
out$rmst <- list(lung = rm_lung, heart = rm_heart, veteran = rm_vet, synth = rm_synth)

writeLines(
  toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null", na = "string"),
  file.path(dir, "tdc.expected.json")
)

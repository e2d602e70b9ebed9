# Reference values for blinastudy.stats.survival.cutpoint: maxstat's maximally selected
# log-rank statistic with Lausen and Schumacher's (1992) approximate p-value.
# Run from the project root:  Rscript tests/data/make_cutpoint_reference.R [OUT_DIR]
# OUT_DIR defaults to tests/data. Needs survival, maxstat (made with 0.7-25, whose log-rank
# scores come from exactRankTests 0.8-35) and jsonlite. Writes to OUT_DIR
#   cutpoint_lung.csv       survival::lung: time, event (status == 2), age, ph_karno,
#                           meal_cal, wt_loss (NA where missing)
#   cutpoint_veteran.csv    survival::veteran: time, event (status), karno, age, diagtime
#   cutpoint_ties.csv       synthetic: whole-month times with many ties (tied deaths and
#                           deaths tied with censorings) and a marker with many ties
#   cutpoint.expected.json  for every case: maxstat.test(Surv(time, event) ~ x, data,
#                           smethod = "LogRank", pmethod = "Lau92", minprop, maxprop) on
#                           the complete cases (model.frame's na.omit): the statistic,
#                           the estimated cut-point, the p-value, every candidate cut-point
#                           ($cuts) with its standardised statistic ($stats), and the
#                           log-rank scores (exactRankTests::cscores) of the case's data
suppressPackageStartupMessages({
  library(survival)
  library(maxstat)
  library(jsonlite)
})
stopifnot(packageVersion("maxstat") == "0.7.25")

args <- commandArgs(trailingOnly = TRUE)
out_dir <- if (length(args) >= 1) args[1] else "tests/data"
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)

exact <- function(x) structure(paste0("[", paste(sprintf("%.17g", x), collapse = ","), "]"),
                               class = "json")
# one number; "Inf" as a string (the Lau92 p-value is infinite when minprop = 0 or maxprop = 1)
exact1 <- function(x) {
  structure(if (is.finite(x)) sprintf("%.17g", x) else paste0('"', x, '"'), class = "json")
}

lung_out <- data.frame(time = lung$time, event = as.integer(lung$status == 2), age = lung$age,
                       ph_karno = lung$ph.karno, meal_cal = lung$meal.cal,
                       wt_loss = lung$wt.loss)
write.csv(lung_out, file.path(out_dir, "cutpoint_lung.csv"), row.names = FALSE, na = "")

vet_out <- data.frame(time = veteran$time, event = veteran$status, karno = veteran$karno,
                      age = veteran$age, diagtime = veteran$diagtime)
write.csv(vet_out, file.path(out_dir, "cutpoint_veteran.csv"), row.names = FALSE, na = "")

# synthetic: 80 patients, whole months (ties among deaths and between deaths and
# censorings), a marker on a 1-10 scale (many ties) that shortens survival above 6,
# and a null marker of few values
set.seed(20240718)
n <- 80
marker <- sample(1:10, n, replace = TRUE)
rate <- ifelse(marker > 6, 0.08, 0.03)
death <- ceiling(rexp(n, rate))
cens <- ceiling(runif(n, 5, 40))
ties_out <- data.frame(
  time = pmin(death, cens),
  event = as.integer(death <= cens),
  marker = marker,
  null_marker = sample(c(0.5, 1, 1.5, 2), n, replace = TRUE)
)
write.csv(ties_out, file.path(out_dir, "cutpoint_ties.csv"), row.names = FALSE)

run_case <- function(data, data_file, x, minprop = 0.1, maxprop = 0.9) {
  d <- data[!is.na(data[[x]]), c("time", "event", x)]
  names(d)[3] <- "x"
  mt <- maxstat.test(Surv(time, event) ~ x, data = d, smethod = "LogRank", pmethod = "Lau92",
                     minprop = minprop, maxprop = maxprop)
  list(
    data = data_file,
    x = x,
    minprop = minprop,
    maxprop = maxprop,
    n = nrow(d),
    statistic = exact1(unname(mt$statistic)),
    estimate = exact1(unname(mt$estimate)),
    p_value = exact1(mt$p.value),
    cuts = exact(mt$cuts),
    stats = exact(mt$stats),
    scores = exact(exactRankTests::cscores(Surv(d$time, d$event), type = "LogRank"))
  )
}

cases <- list(
  lung_age = run_case(lung_out, "cutpoint_lung.csv", "age"),
  lung_ph_karno = run_case(lung_out, "cutpoint_lung.csv", "ph_karno"),
  lung_ph_karno_20_80 = run_case(lung_out, "cutpoint_lung.csv", "ph_karno", 0.2, 0.8),
  lung_meal_cal = run_case(lung_out, "cutpoint_lung.csv", "meal_cal"),
  lung_wt_loss = run_case(lung_out, "cutpoint_lung.csv", "wt_loss", 0.25, 0.75),
  veteran_karno = run_case(vet_out, "cutpoint_veteran.csv", "karno"),
  veteran_age = run_case(vet_out, "cutpoint_veteran.csv", "age"),
  veteran_diagtime = run_case(vet_out, "cutpoint_veteran.csv", "diagtime", 0.05, 0.95),
  ties_marker = run_case(ties_out, "cutpoint_ties.csv", "marker"),
  ties_marker_all = run_case(ties_out, "cutpoint_ties.csv", "marker", 0, 1),
  ties_null_marker = run_case(ties_out, "cutpoint_ties.csv", "null_marker"),
  ties_null_marker_wide = run_case(ties_out, "cutpoint_ties.csv", "null_marker", 0.01, 0.99)
)

out <- list(
  source = paste0("maxstat ", packageVersion("maxstat"), " maxstat.test(smethod = \"LogRank\", ",
                  "pmethod = \"Lau92\"), exactRankTests ", packageVersion("exactRankTests"),
                  ", survival ", packageVersion("survival"), "; R ", getRversion(),
                  "; made by make_cutpoint_reference.R"),
  cases = cases
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", json_verbatim = TRUE,
                  pretty = FALSE),
           file.path(out_dir, "cutpoint.expected.json"))

# Reference pairs for blinastudy.stats.matching: MatchIt (>= 4.5.4) method = "nearest"
# on a given distance, tie rule included.
# Run from the project root:  Rscript tests/data/make_matching_reference.R [OUT_DIR]
# OUT_DIR defaults to tests/data. Reads tests/data/ties.csv; writes to OUT_DIR
#   ties.expected.json     the controls each treated unit of ties.csv takes, in the
#                          order taken, for 24 settings (ratio 1-3, with and without
#                          replacement, no caliper or 0.1 SD, exact on the stratum or not)
#   lalonde.csv            MatchIt::lalonde with race as 0/1 columns
#   lalonde.expected.json  glm(binomial) propensity scores, 1:1 matches within 0.2 SD
#                          on the propensity score and on its logit, and MatchIt's
#                          summary() standardised mean differences before and after
#                          the match on the logit
# Needs jsonlite and MatchIt (made with 4.5.1, whose pairs are never used: only its
# lalonde data set and its summary() of given weights).
# To check the stored files, write to another directory and compare, e.g.
#   Rscript tests/data/make_matching_reference.R /tmp/matching_ref &&
#   for f in ties.expected.json lalonde.expected.json lalonde.csv; do
#     cmp tests/data/$f /tmp/matching_ref/$f; done
#
# Why the matching is written out here: MatchIt 4.5.1 (Debian's) compares distances
# with an integer abs() in its nearest-neighbour code (MatchIt issue #163), so its
# pairs are not MatchIt's. nearest_neighbour() below follows the matching loop of
# MatchIt 4.5.5 (nn_matchC_vec() in src/nn_matchC_vec.cpp, driven by
# matchit2nearest()) for a distance vector, one treated unit at a time.
suppressPackageStartupMessages({
  library(jsonlite)
  library(MatchIt)
})

args <- commandArgs(trailingOnly = TRUE)
out_dir <- if (length(args) >= 1) args[1] else "tests/data"
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)

# ---- the matching -------------------------------------------------------------

# Nearest-neighbour matching on `distance` within one group of units.
#   treat      0/1 for each unit
#   distance   the distance of each unit
#   ratio      controls wanted per treated unit
#   reuse_max  how often a control may be taken (1: without replacement)
#   caliper    the caliper width in distance units, or NULL for none
#   m_order    the order in which treated units take turns: "largest" (descending
#              distance), "smallest" or "data"
# Returns a list with one element per treated unit (in data order): the positions
# (in treat) of the controls it took, in the order taken.
match_group <- function(treat, distance, ratio, reuse_max, caliper, m_order) {
  n <- length(treat)
  treated <- which(treat == 1)
  # all units sorted by distance; order() is stable, so units with equal distances
  # keep their data order
  sorted <- order(distance)
  d <- distance[sorted]
  is_treated <- treat[sorted] == 1
  place <- integer(n)
  place[sorted] <- seq_len(n)                  # where each unit sits in `sorted`

  turns <- switch(m_order,
                  largest = order(distance[treated], decreasing = TRUE),
                  smallest = order(distance[treated], decreasing = FALSE),
                  data = seq_along(treated))

  can_match <- rep(TRUE, n)                    # by place in `sorted`
  times_matched <- integer(n)
  taken <- rep(list(integer(0)), length(treated))

  # the nearest control on one side (step -1: left, +1: right) that this treated
  # unit may take, or NA; NA also when that control is beyond the caliper
  nearest_on_side <- function(i, step, already) {
    k <- i + step
    while (k >= 1 && k <= n) {
      if (!is_treated[k] && can_match[k] && !(sorted[k] %in% already)) {
        if (!is.null(caliper) && abs(d[i] - d[k]) > caliper) return(NA_integer_)
        return(k)
      }
      k <- k + step
    }
    NA_integer_
  }

  for (r in seq_len(ratio)) {
    for (j in turns) {
      i <- place[treated[j]]
      if (!can_match[i]) next
      left <- nearest_on_side(i, -1L, taken[[j]])
      right <- nearest_on_side(i, +1L, taken[[j]])
      if (!is.na(left) && !is.na(right)) {
        # the left one (lower distance) when the differences are equal
        k <- if (abs(d[left] - d[i]) <= abs(d[right] - d[i])) left else right
      } else if (!is.na(left)) {
        k <- left
      } else if (!is.na(right)) {
        k <- right
      } else {
        can_match[i] <- FALSE                  # no control left for it: it is done
        next
      }
      taken[[j]] <- c(taken[[j]], sorted[k])
      times_matched[i] <- times_matched[i] + 1L
      if (times_matched[i] >= ratio) can_match[i] <- FALSE
      times_matched[k] <- times_matched[k] + 1L
      if (times_matched[k] >= reuse_max) can_match[k] <- FALSE
    }
  }
  # (MatchIt also stops as soon as no treated unit or no control can be matched any
  # more; the remaining turns would take nothing, so the result is the same.)
  taken
}

# matchit(method = "nearest", distance = <given>, estimand = "ATT") for the pairs:
# a caliper in SD of the distance over all units, exact matching by matching each
# stratum separately (with that same caliper width), the turn order of treated units
# ignored with replacement (MatchIt then uses data order).
# Returns a list named by the treated ids (data order) of the control ids each took,
# in the order taken, and the caliper width.
nearest_neighbour <- function(id, treat, distance, ratio = 1L, replace = FALSE,
                              caliper = NULL, stratum = NULL, m_order = "largest") {
  reuse_max <- if (replace) .Machine$integer.max else 1L
  if (reuse_max >= sum(treat == 1)) m_order <- "data"
  width <- if (is.null(caliper)) NULL else caliper * sd(distance)
  if (is.null(stratum)) stratum <- rep("all", length(treat))
  taken <- rep(list(character(0)), sum(treat == 1))
  names(taken) <- id[treat == 1]
  for (s in unique(stratum)) {
    in_s <- which(stratum == s)
    if (!any(treat[in_s] == 1) || !any(treat[in_s] == 0)) next
    got <- match_group(treat[in_s], distance[in_s], ratio, reuse_max, width, m_order)
    treated_s <- id[in_s][treat[in_s] == 1]
    for (j in seq_along(got)) taken[[treated_s[j]]] <- id[in_s][got[[j]]]
  }
  list(controls = taken, caliper_width = width)
}

# ---- ties: every setting on a tie-heavy synthetic distance -------------------------

ties <- read.csv("tests/data/ties.csv", stringsAsFactors = FALSE)
cases <- list()
for (exact in c("none", "stratum")) {
  for (caliper in list("none", 0.1)) {
    for (replace in c(FALSE, TRUE)) {
      for (ratio in 1:3) {
        m <- nearest_neighbour(ties$id, ties$treat, ties$distance, ratio = ratio,
                               replace = replace,
                               caliper = if (identical(caliper, "none")) NULL else caliper,
                               stratum = if (exact == "none") NULL else ties$stratum)
        cases[[length(cases) + 1]] <- list(
          ratio = unbox(ratio), replace = unbox(replace), caliper = unbox(caliper),
          exact = unbox(exact), controls = m$controls)
      }
    }
  }
}
write(toJSON(list(
  source = unbox(paste(
    "synthetic; distance given (one decimal: many exact ties); matching on the distance",
    "itself with MatchIt >= 4.5.4 method = 'nearest' semantics, order 'largest' (data",
    "order with replacement); controls of each treated unit in the order taken; caliper",
    "in SD of the distance over all units")),
  cases = cases), pretty = TRUE, digits = NA), file.path(out_dir, "ties.expected.json"))

# ---- lalonde: 1:1 within 0.2 SD on the propensity score and on its logit -----------

data("lalonde", package = "MatchIt")
lalonde$id <- rownames(lalonde)
lalonde$black <- as.integer(lalonde$race == "black")
lalonde$hispan <- as.integer(lalonde$race == "hispan")
lalonde$race <- NULL
rownames(lalonde) <- NULL
write.csv(lalonde, file.path(out_dir, "lalonde.csv"), row.names = FALSE)

covariates <- c("age", "educ", "black", "hispan", "married", "nodegree", "re74", "re75")
formula <- reformulate(covariates, "treat")
fit <- glm(formula, data = lalonde, family = binomial)
scales <- list(ps = fitted(fit), logit = fit$linear.predictors)

# pairs listed in the order the treated units took their turns (descending distance)
caliper_match <- function(distance) {
  m <- nearest_neighbour(lalonde$id, lalonde$treat, distance, caliper = 0.2)
  treated <- lalonde$id[lalonde$treat == 1]
  turns <- treated[order(distance[lalonde$treat == 1], decreasing = TRUE)]
  turns <- turns[lengths(m$controls[turns]) > 0]
  list(pairs = data.frame(treated = turns, control = unlist(m$controls[turns]),
                          row.names = NULL),
       n_pairs = length(turns),
       caliper_width = m$caliper_width)
}
matches <- lapply(scales, caliper_match)

# Standardised mean differences as MatchIt's summary() gives them (ATT: divided by
# the SD among all treated units). summary() only needs a matchit object and its
# weights: the pairs of that object (MatchIt 4.5.1's own, not used) are replaced by
# the weights of the logit pairs above, 1 for every unit in a pair and 0 otherwise.
smd <- function(m, which) summary(m, standardize = TRUE)[[which]][covariates, "Std. Mean Diff."]
m <- suppressWarnings(matchit(formula, data = lalonde, method = "nearest",
                              distance = scales$logit))
paired <- unlist(matches$logit$pairs)
m$weights[] <- as.numeric(lalonde$id %in% paired)

write(toJSON(list(
  source = paste(
    "MatchIt::lalonde (NSW job training); id = row name; propensity = R glm(binomial);",
    "pairs = greedy nearest neighbour with MatchIt >= 4.5.4 semantics (see",
    "tests/data/README.md; tests/data/make_matching_reference.R); smd = MatchIt summary() ATT",
    "convention"),
  covariates = covariates,
  propensity = as.list(setNames(scales$ps, lalonde$id)),
  "match_ps_caliper_0.2" = matches$ps,
  "match_logit_caliper_0.2" = matches$logit,
  smd_before = as.list(setNames(smd(m, "sum.all"), covariates)),
  "smd_after_logit_caliper_0.2" = as.list(setNames(smd(m, "sum.matched"), covariates))
), pretty = TRUE, digits = NA, auto_unbox = TRUE), file.path(out_dir, "lalonde.expected.json"))

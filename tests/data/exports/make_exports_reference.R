# Reference EFS / OS / time to blinatumomab / age for the realistic exports, computed
# independently in base R (as.Date, difftime) with readxl for the workbook.
#
# Run from the repository root:  Rscript tests/data/exports/make_exports_reference.R
# Writes tests/data/exports/exports.expected.json: one object per patient.
#
# The rules (those of blinastudy.data.dates): months = days / (365.25 / 12); EFS ends at
# the first event (relapse, then death on the same day) on or before the cut-off,
# else is censored at the cut-off if some event falls after it, else at
# min(last contact, cut-off); OS ends at a death on or before the cut-off, else is
# censored the same way. Age = days from birth to diagnosis / 365.25.
# The confirmations: treated.csv dates are dd/mm/yyyy, cut-off 2024-06-30; the pool's
# cut-off is 2023-12-31; Excel serial numbers count days from 1899-12-30.

suppressPackageStartupMessages({
  library(readxl)
  library(jsonlite)
})

here <- "tests/data/exports"
days_per_month <- 365.25 / 12

derive <- function(dx, relapse, death, last, cutoff) {
  events <- c(relapse = relapse, death = death)
  events <- events[!is.na(events)]
  counted <- events[events <= cutoff]
  later <- length(events) > length(counted)
  censor <- if (later) cutoff else min(last, cutoff)
  if (length(counted)) {
    efs_end <- min(counted)
    efs_event <- 1L
  } else {
    efs_end <- censor
    efs_event <- 0L
  }
  if (!is.na(death) && death <= cutoff) {
    os_end <- death
    os_event <- 1L
  } else {
    os_end <- censor
    os_event <- 0L
  }
  list(
    efs_months = as.numeric(difftime(efs_end, dx, units = "days")) / days_per_month,
    efs_event = efs_event,
    os_months = as.numeric(difftime(os_end, dx, units = "days")) / days_per_month,
    os_event = os_event
  )
}

out <- list()

# treated.csv: text dates, day first
treated <- read.csv(file.path(here, "treated.csv"), colClasses = "character", check.names = FALSE)
dmy <- function(x) as.Date(ifelse(x == "", NA, x), format = "%d/%m/%Y")
cut_treated <- as.Date("2024-06-30")
for (i in seq_len(nrow(treated))) {
  r <- treated[i, ]
  dx <- dmy(r[["Date of diagnosis"]])
  res <- derive(
    dx,
    dmy(r[["Date of relapse"]]),
    dmy(r[["Date of death"]]),
    dmy(r[["Date of last follow-up"]]),
    cut_treated
  )
  start <- dmy(r[["Date of blinatumomab start"]])
  res$blina_start_months <- as.numeric(difftime(start, dx, units = "days")) / days_per_month
  out[[r[["Study No."]]]] <- res
}

# pool.xlsx: Excel date cells, ISO text, Excel serial numbers
pool <- read_excel(file.path(here, "pool.xlsx"), col_types = "list")
as_day <- function(x) {
  if (is.null(x) || (length(x) == 1 && is.na(x))) return(as.Date(NA))
  if (inherits(x, "POSIXct")) return(as.Date(format(x, "%Y-%m-%d", tz = "UTC")))
  if (is.numeric(x)) return(as.Date(x, origin = "1899-12-30"))
  as.Date(x, format = "%Y-%m-%d")
}
cut_pool <- as.Date("2023-12-31")
for (i in seq_len(nrow(pool))) {
  cell <- function(name) as_day(pool[[name]][[i]])
  dx <- cell("Date of diagnosis")
  res <- derive(dx, cell("Date of relapse"), cell("Date of death"),
                cell("Date of last follow-up"), cut_pool)
  res$age_years <- as.numeric(difftime(dx, cell("Date of birth"), units = "days")) / 365.25
  out[[pool[["Pat. Nr."]][[i]]]] <- res
}

write_json(out, file.path(here, "exports.expected.json"), auto_unbox = TRUE, digits = NA,
           pretty = TRUE)

"""Synthetic demo cohort: blinatumomab in first-line therapy versus historical controls.

**Synthetic demo data.** No row describes a real patient. The cohort is generated
from published summary figures so that the app can be tried without uploading
anything, and so that the analysis has a known, documented answer.

What it imitates
----------------
A single-centre report (Beijing Children's Hospital, ASH 2024 abstract) of 90
children with B-cell ALL who received blinatumomab during first-line therapy
(because of chemotherapy intolerance, intermediate risk or high risk), compared
with 90 propensity-matched historical controls treated with chemotherapy alone on
CCLG-ALL-2018. The blinatumomab arm reproduces the reported figures exactly or
within rounding (:data:`STUDY_TARGETS`):

* 90 patients, risk groups IR and HR only;
* median 10.8 months from diagnosis to the first blinatumomab dose;
* median follow-up 26.8 months, estimated by the reverse Kaplan-Meier method
  (overall survival with the censoring indicator reversed), measured from diagnosis;
* exactly two EFS events, both relapses, one in a TCF3-PBX1 and one in a KMT2A-r
  (KMT2A::AFF1) patient, both before 24 months with every patient still under
  follow-up, so the Kaplan-Meier 2-year EFS is 88/90 = 97.8 %;
* no deaths, so the 2-year OS is 100 %.

The historical pool (:data:`N_POOL` chemotherapy-only patients, all risk groups)
is simulated from the risk-factor model documented in the constant tables below,
each with the publication its magnitude comes from. The treated patients'
baseline characteristics come from the same population model, tilted towards
high risk and detectable MRD. What the report does not give (subtype mix,
toxicity grades, cycles, transplants, relapse sites, the controls' outcomes) is
an assumption documented next to its constant, not a reported figure.

Every blinatumomab patient is event-free until the first dose, whereas the
historical controls have about a quarter of their events before the 10.8-month
median start. An analysis from diagnosis therefore carries immortal-time bias and
a landmark analysis shows a smaller effect. That is deliberate: the demo shows
both.

Only :func:`main` does any I/O; :func:`make_demo_cohort` is a pure function of
its seed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from blinastudy.data.schema import DEFAULT_COVARIATES

__all__ = [
    "COLUMNS",
    "DEFAULT_MATCH_COVARIATES",
    "DEFAULT_OUTPUT",
    "DEFAULT_SEED",
    "DEMO_LABEL",
    "N_POOL",
    "N_TREATED",
    "STUDY_TARGETS",
    "demo_cohort",
    "main",
    "make_demo_cohort",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
StrArray = npt.NDArray[np.str_]

#: Shown wherever the demo cohort is displayed.
DEMO_LABEL: Final = "Synthetic demo data"

#: Seed of the shipped ``data/demo_cohort.csv``.
DEFAULT_SEED: Final = 2024

#: Where ``python -m blinastudy.data.demo`` writes the cohort (relative to the project root).
DEFAULT_OUTPUT: Final = Path("data") / "demo_cohort.csv"

#: The copy of the default demo cohort shipped with the source tree (``data/``).
BUNDLED: Final = Path(__file__).resolve().parents[2] / DEFAULT_OUTPUT

#: Content hash (:func:`blinastudy.data.cohort.content_hash`) of ``make_demo_cohort()``.
DEMO_HASH: Final = "6c918565eceaf83e63f66b1b30d6a1fd7dd4e6587fecde2b3e0d54abe4e1113a"

#: Blinatumomab patients (as reported).
N_TREATED: Final = 90

#: Historical chemotherapy-only patients on CCLG-ALL-2018 offered for matching (the
#: protocol enrolled thousands; 1,000 with about 55 % intermediate or high risk leave the
#: study's 90 treated patients enough eligible controls to be matched at 0.2 SD, while a
#: narrower caliper visibly costs patients).
N_POOL: Final = 1000

#: Canonical column order (docs/DATA_DICTIONARY.md).
COLUMNS: Final[tuple[str, ...]] = (
    "patient_id",
    "arm",
    "efs_months",
    "efs_event",
    "os_months",
    "os_event",
    "sex",
    "age_years",
    "wbc_10e9_l",
    "cns_status",
    "genetic_subtype",
    "risk_group",
    "prednisone_response",
    "mrd_day15_pct",
    "mrd_eoi_pct",
    "indication",
    "blina_start_months",
    "blina_cycles",
    "crs_grade",
    "neurotox_grade",
    "hsct",
    "event_type",
    "relapse_site",
)

#: Baseline covariates of the default propensity model (canonical column names,
#: entered as recorded; text columns become indicators). Post-baseline variables
#: (indication, HSCT, outcomes) are deliberately absent. With these, greedy 1:1
#: matching at 0.2 SD of the logit score matches every blinatumomab patient.
DEFAULT_MATCH_COVARIATES: Final[tuple[str, ...]] = DEFAULT_COVARIATES

# ---------------------------------------------------------------------------
# Reported figures the blinatumomab arm reproduces.
# Source: Beijing Children's Hospital, "blinatumomab in first-line treatment of
# paediatric B-ALL", abstract, ASH Annual Meeting 2024.
# ---------------------------------------------------------------------------
STUDY_TARGETS: Final[dict[str, float]] = {
    "n_treated": 90,
    "median_follow_up_months": 26.8,  # reverse Kaplan-Meier, from diagnosis
    "median_blina_start_months": 10.8,  # diagnosis to first dose
    "efs_2y": 88 / 90,  # 97.8 %: two relapses, no censoring before them
    "os_2y": 1.0,  # no deaths
    "n_efs_events": 2,  # relapses: TCF3-PBX1 and KMT2A::AFF1 (KMT2A-r)
}

# ---------------------------------------------------------------------------
# Baseline characteristics (both arms come from the same population; the
# blinatumomab arm is a risk-tilted sample of its IR/HR part).
# ---------------------------------------------------------------------------

#: Genetic subtype frequencies in childhood B-ALL. Inaba H, Mullighan CG. Pediatric
#: acute lymphoblastic leukemia. Haematologica 2020;105(11):2524-2539 (ETV6-RUNX1
#: ~22 %, high hyperdiploid ~25 %, TCF3-PBX1 ~5 %, BCR-ABL1 ~3-4 %, KMT2A-r ~2-3 %
#: beyond infancy, Ph-like ~10 %, iAMP21 ~2 %, hypodiploid < 44 chromosomes ~1 %, rest B-other).
GENETIC_FREQUENCIES: Final[dict[str, float]] = {
    "ETV6-RUNX1": 0.22,
    "high-hyperdiploid": 0.25,
    "TCF3-PBX1": 0.05,
    "BCR-ABL1": 0.04,
    "KMT2A-r": 0.025,
    "Ph-like": 0.10,
    "iAMP21": 0.02,
    "hypodiploid": 0.01,
    "B-other": 0.285,
}

#: Median age (years) by subtype, log-normal spread :data:`AGE_LOG_SD`; overall
#: median about 5 years with the 2-5-year peak (Inaba & Mullighan 2020). Infants
#: (< 1 year) are treated on separate protocols and are not simulated.
AGE_MEDIAN_YEARS: Final[dict[str, float]] = {
    "ETV6-RUNX1": 4.0,
    "high-hyperdiploid": 4.0,
    "TCF3-PBX1": 7.0,
    "BCR-ABL1": 9.0,
    "KMT2A-r": 6.0,
    "Ph-like": 8.5,
    "iAMP21": 9.0,
    "hypodiploid": 8.0,
    "B-other": 6.0,
}
AGE_LOG_SD: Final = 0.55
AGE_RANGE_YEARS: Final = (1.0, 18.9)

#: White cell count at diagnosis: log-normal, median about 12 x10^9/L overall, with
#: a multiplier by subtype (hyperleukocytosis in KMT2A-r and Ph-like, low counts in
#: high hyperdiploid). Magnitudes from Inaba & Mullighan 2020 and CCLG-ALL-2008
#: (Cui L et al. Am J Hematol 2018;93(7):913-920: WBC >= 50 in about 15-20 %).
WBC_MEDIAN: Final = 11.0
WBC_LOG_SD: Final = 1.2
WBC_SUBTYPE_FACTOR: Final[dict[str, float]] = {
    "ETV6-RUNX1": 1.0,
    "high-hyperdiploid": 0.6,
    "TCF3-PBX1": 2.0,
    "BCR-ABL1": 3.0,
    "KMT2A-r": 6.0,
    "Ph-like": 3.0,
    "iAMP21": 0.8,
    "hypodiploid": 0.8,
    "B-other": 1.2,
}

#: Proportion of boys (about 55 % in every large paediatric ALL series).
P_MALE: Final = 0.55

#: Latent chemoresistance score, shifted by subtype: drives prednisone response and
#: MRD, so that MRD, prednisone response and genetics are correlated as observed
#: (favourable ETV6-RUNX1 and high hyperdiploid clear fastest; KMT2A-r, BCR-ABL1,
#: Ph-like and hypodiploid slowest). Inaba & Mullighan 2020; Borowitz MJ et al.
#: Blood 2008;111(12):5477-5485.
RESISTANCE_SHIFT: Final[dict[str, float]] = {
    "ETV6-RUNX1": -0.5,
    "high-hyperdiploid": -0.4,
    "TCF3-PBX1": 0.0,
    "BCR-ABL1": 1.0,
    "KMT2A-r": 1.1,
    "Ph-like": 0.8,
    "iAMP21": 0.5,
    "hypodiploid": 0.8,
    "B-other": 0.2,
}

#: Day-15 flow MRD (log10 %): about 40 % < 0.1 %, 45-50 % 0.1-10 %, 10 % >= 10 %
#: (Basso G et al. J Clin Oncol 2009;27(31):5168-5174, AIEOP-BFM ALL 2000).
#: Values below the 0.01 % flow limit are recorded as 0 (undetectable).
MRD15_LOG10_MEAN: Final = -0.75
MRD15_LOG10_SLOPE: Final = 1.0
MRD15_LOG10_NOISE: Final = 0.8

#: End-of-induction flow MRD (log10 %): about 75 % < 0.01 % (undetectable, recorded
#: as 0), 15 % 0.01-0.1 %, 7 % 0.1-1 %, 3 % >= 1 % (Borowitz 2008; Conter V et al.
#: Blood 2010;115(16):3206-3214). Correlated with day-15 MRD.
MRDEOI_LOG10_MEAN: Final = -3.05
MRDEOI_LOG10_SLOPE: Final = 0.95
MRDEOI_FROM_DAY15: Final = 0.35
MRDEOI_LOG10_NOISE: Final = 0.85
MRD_DETECTION_LIMIT_PCT: Final = 0.01

#: Poor prednisone response (day-8 blasts >= 1x10^9/L) in about 8-10 %
#: (Möricke A et al. Blood 2008;111(9):4477-4489, ALL-BFM 95), more frequent with
#: high WBC and resistant subtypes: logit = intercept + slope * resistance + wbc term.
PPR_LOGIT: Final = (-2.9, 0.8, 0.6)  # intercept, per resistance SD, per log10(WBC/10)

#: CNS status: about 85 % CNS1, 10 % CNS2, 3-5 % CNS3, more CNS involvement with
#: TCF3-PBX1 and high WBC (Tang J et al. Blood 2021;138(4):331-343, CCCG-ALL-2015).
P_CNS2: Final = 0.09
P_CNS3: Final = 0.03
CNS_RISK_FACTOR: Final = 2.0  # multiplier for TCF3-PBX1 or WBC >= 50

# ---------------------------------------------------------------------------
# Risk assignment: a simplified form of the CCLG-ALL-2018 / CCCG-ALL-2015 rules
# (Yang W et al. Lancet Oncol 2021;22(9):1322-1332; Cui 2018). Target shares of
# the pool: LR ~45-50 %, IR ~35-40 %, HR ~10-15 %.
#   HR: KMT2A-r, hypodiploid, end-of-induction MRD >= 1 %, day-15 MRD >= 10 %
#       with end-of-induction MRD >= 0.1 %, or poor prednisone response with
#       detectable end-of-induction MRD.
#   LR: age 1-< 10, WBC < 50, CNS1/CNS2, ETV6-RUNX1 / high hyperdiploid / B-other,
#       good prednisone response, day-15 MRD < 1 % (< 10 % for ETV6-RUNX1 and high
#       hyperdiploid), undetectable end-of-induction MRD.
#   IR: everyone else (includes TCF3-PBX1, BCR-ABL1 with TKI, Ph-like, iAMP21).
# ---------------------------------------------------------------------------
HR_GENETICS: Final = frozenset({"KMT2A-r", "hypodiploid"})
LR_GENETICS: Final = frozenset({"ETV6-RUNX1", "high-hyperdiploid", "B-other"})

# ---------------------------------------------------------------------------
# Outcomes of chemotherapy alone (historical pool). Cause-specific hazards,
# piecewise constant per month, proportional effects, times from diagnosis.
# Calibrated so the pool shows 5-year EFS about 80 % and OS about 90 % overall
# (CCCG-ALL-2015: Yang 2021, 5-year EFS 80.3 %, OS 91.1 %), LR about 90 %, HR
# about 55-65 %.
# ---------------------------------------------------------------------------

#: Relapse baseline hazard (per month) for the reference profile (IR-like, MRD
#: undetectable, B-other, good prednisone response, age < 10, WBC < 50, CNS1).
#: Relapses peak in years 1-3 from diagnosis (Nguyen K et al. Leukemia
#: 2008;22(12):2142-2150, COG relapse timing).
RELAPSE_CUTS_MONTHS: Final = (0.0, 6.0, 12.0, 24.0, 36.0)
RELAPSE_BASE_RATE: Final = (0.0006, 0.0022, 0.0033, 0.0028, 0.0015)

#: Relapse hazard ratios (multiplicative, conditional on each other).
#: Risk group: IR x1.6, HR x2.8 over LR beyond their components (treatment
#: intensity only partly offsets risk; Yang 2021, Cui 2018).
RELAPSE_HR_RISK_GROUP: Final[dict[str, float]] = {"LR": 0.7, "IR": 1.0, "HR": 0.7}
#: End-of-induction MRD >= 0.01 % roughly doubles relapse risk, rising with level
#: (Borowitz 2008; Conter 2010): thresholds in %, cumulative multipliers.
RELAPSE_HR_MRD_EOI: Final = ((0.01, 2.0), (0.1, 1.5), (1.0, 1.4))
RELAPSE_HR_GENETICS: Final[dict[str, float]] = {
    "ETV6-RUNX1": 0.5,
    "high-hyperdiploid": 0.6,
    "TCF3-PBX1": 1.2,
    "BCR-ABL1": 1.6,
    "KMT2A-r": 2.2,
    "Ph-like": 1.6,
    "iAMP21": 1.6,
    "hypodiploid": 2.5,
    "B-other": 1.0,
}
RELAPSE_HR_POOR_PRED: Final = 1.5  # Möricke 2008
RELAPSE_HR_CNS3: Final = 1.5  # Tang 2021
RELAPSE_HR_AGE_10: Final = 1.4  # age >= 10 years (NCI high risk)
RELAPSE_HR_WBC_50: Final = 1.3  # WBC >= 50 x10^9/L (NCI high risk)
#: High-risk disease relapses earlier: the relapse clock runs this much faster for
#: HR patients or end-of-induction MRD >= 0.1 % (very early relapses < 18 months
#: are concentrated there; Nguyen 2008).
RELAPSE_ACCELERATION_HIGH: Final = 1.7

#: End-of-induction MRD at or above this level is induction failure (M3 marrow),
#: an EFS event at day 33-46; such patients are high risk.
INDUCTION_FAILURE_MRD_PCT: Final = 5.0

#: Death in remission (treatment-related mortality about 2-3 % overall; Yang 2021):
#: per-month hazard after induction, front-loaded.
TRM_CUTS_MONTHS: Final = (0.0, 1.2, 12.0, 30.0)
TRM_BASE_RATE: Final = (0.0, 0.0013, 0.0004, 0.0001)
TRM_HR_RISK_GROUP: Final[dict[str, float]] = {"LR": 0.6, "IR": 1.0, "HR": 2.0}
TRM_HR_AGE_10: Final = 1.5

#: Second malignancy: rare (< 1 % at 5 years).
SMN_RATE: Final = 0.00008

#: Death after relapse: about 45 % overall, higher after very early relapse
#: (< 18 months from diagnosis) or induction failure; time from the event to death
#: is log-normal with median 9 months (Locatelli F et al. Blood
#: 2012;120(14):2807-2816; Nguyen 2008).
P_DEATH_AFTER_EARLY_RELAPSE: Final = 0.65
P_DEATH_AFTER_LATE_RELAPSE: Final = 0.35
P_DEATH_AFTER_INDUCTION_FAILURE: Final = 0.5
P_DEATH_AFTER_SMN: Final = 0.4
EARLY_RELAPSE_MONTHS: Final = 18.0
DEATH_AFTER_EVENT_MEDIAN_MONTHS: Final = 9.0
DEATH_AFTER_EVENT_LOG_SD: Final = 0.6

#: Relapse sites: about 60 % isolated marrow, 20 % CNS, 15 % combined, 5 % testis
#: (Locatelli 2012).
RELAPSE_SITES: Final[dict[str, float]] = {"BM": 0.60, "CNS": 0.20, "combined": 0.15, "testis": 0.05}

#: Follow-up of the pool: diagnoses accrued evenly over the CCLG-ALL-2018 years so
#: that potential follow-up runs 2-5 years, plus a little loss to follow-up.
POOL_FOLLOW_UP_MONTHS: Final = (24.0, 60.0)
LOSS_TO_FOLLOW_UP_RATE: Final = 0.002  # per month

#: Allogeneic HSCT in first remission for very high-risk controls.
P_HSCT_VERY_HIGH_RISK: Final = 0.35

# ---------------------------------------------------------------------------
# Blinatumomab arm.
# ---------------------------------------------------------------------------

#: Selection of treated patients from the IR/HR population: relative weights tilt
#: the arm towards HR and detectable MRD (the reported indications) while keeping
#: it inside the pool's covariate range so every treated patient can be matched.
TREATED_WEIGHT_HR: Final = 3.0
TREATED_WEIGHT_MRD_EOI: Final = ((0.01, 1.5), (0.1, 1.5))
#: Share treated for chemotherapy intolerance (any IR/HR patient); the rest by risk.
P_CHEMO_INTOLERANCE: Final = 0.18
#: Follow-up from diagnosis: accrual spread evenly from 15.5 to about 38 months, then
#: stretched about the minimum so the reverse-KM median is the reported one. The
#: minimum exceeds both relapse times, so nobody is censored before a relapse.
TREATED_MIN_FOLLOW_UP_MONTHS: Final = 15.5
TREATED_MAX_FOLLOW_UP_MONTHS: Final = 38.0
#: Diagnosis to first dose: log-normal around the reported median, at least one
#: month (after induction) and at least one month before the end of follow-up.
BLINA_START_LOG_SD: Final = 0.5
BLINA_START_MIN_MONTHS: Final = 1.0
#: The two relapses: first dose before this landmark, relapse within this window.
RELAPSE_START_WINDOW_MONTHS: Final = (4.0, 10.5)
RELAPSE_WINDOW_MONTHS: Final = (12.0, 15.0)
#: Relapse sites of the two relapses (not reported): CNS for TCF3-PBX1, which carries
#: an increased CNS relapse risk (Jeha S et al. Leukemia 2009;23(8):1406-1409), and
#: marrow for KMT2A-r.
TREATED_RELAPSES: Final[dict[str, str]] = {"TCF3-PBX1": "CNS", "KMT2A-r": "BM"}
#: Cycles of blinatumomab (1-3), more for HR.
BLINA_CYCLES_P: Final[dict[str, tuple[float, float, float]]] = {
    "IR": (0.35, 0.50, 0.15),
    "HR": (0.15, 0.45, 0.40),
}
#: Cytokine release syndrome and neurotoxicity grades are mostly 0-1 when
#: blinatumomab is given in MRD-low remission (Gupta S et al. N Engl J Med
#: 2025;392(9):875-891, COG AALL1731; Locatelli F et al. JAMA 2021;325(9):843-854).
CRS_GRADE_P: Final = (0.68, 0.27, 0.04, 0.01, 0.0)
NEUROTOX_GRADE_P: Final = (0.90, 0.07, 0.03, 0.0, 0.0)
#: Allogeneic HSCT in first remission after blinatumomab, very high-risk only.
P_HSCT_TREATED_VERY_HIGH_RISK: Final = 0.3

_SUBTYPES: Final[tuple[str, ...]] = tuple(GENETIC_FREQUENCIES)


def _lookup(table: dict[str, float], keys: StrArray) -> FloatArray:
    return np.array([table[str(k)] for k in keys], dtype=float)


def _baseline(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Draw ``n`` patients' baseline characteristics and risk group."""
    probs = np.array([GENETIC_FREQUENCIES[s] for s in _SUBTYPES])
    genetics = rng.choice(np.array(_SUBTYPES), size=n, p=probs / probs.sum())
    sex = np.where(rng.random(n) < P_MALE, "M", "F")

    age = np.exp(np.log(_lookup(AGE_MEDIAN_YEARS, genetics)) + AGE_LOG_SD * rng.standard_normal(n))
    age = np.clip(age, *AGE_RANGE_YEARS)

    wbc_median = WBC_MEDIAN * _lookup(WBC_SUBTYPE_FACTOR, genetics)
    wbc = np.exp(np.log(wbc_median) + WBC_LOG_SD * rng.standard_normal(n))
    wbc = np.clip(wbc, 0.5, 900.0)

    cns_factor = np.where((genetics == "TCF3-PBX1") | (wbc >= 50.0), CNS_RISK_FACTOR, 1.0)
    u = rng.random(n)
    cns = np.where(
        u < P_CNS3 * cns_factor,
        "CNS3",
        np.where(u < (P_CNS3 + P_CNS2) * cns_factor, "CNS2", "CNS1"),
    )

    resistance = _lookup(RESISTANCE_SHIFT, genetics) + rng.standard_normal(n)
    a, b, c = PPR_LOGIT
    p_poor = 1.0 / (1.0 + np.exp(-(a + b * resistance + c * np.log10(wbc / 10.0))))
    pred = np.where(rng.random(n) < p_poor, "poor", "good")

    z15 = rng.standard_normal(n)
    log15 = MRD15_LOG10_MEAN + MRD15_LOG10_SLOPE * resistance + MRD15_LOG10_NOISE * z15
    logeoi = (
        MRDEOI_LOG10_MEAN
        + MRDEOI_LOG10_SLOPE * resistance
        + MRDEOI_FROM_DAY15 * MRD15_LOG10_NOISE * z15
        + MRDEOI_LOG10_NOISE * rng.standard_normal(n)
    )
    mrd15 = _mrd(log15)
    mrdeoi = _mrd(logeoi)

    age = np.asarray(np.round(age, 1), dtype=float)
    wbc = np.asarray(np.round(wbc, 1), dtype=float)
    risk = _risk_group(genetics, age, wbc, cns, pred, mrd15, mrdeoi)
    return pd.DataFrame(
        {
            "sex": sex,
            "age_years": age,
            "wbc_10e9_l": wbc,
            "cns_status": cns,
            "genetic_subtype": genetics,
            "risk_group": risk,
            "prednisone_response": pred,
            "mrd_day15_pct": mrd15,
            "mrd_eoi_pct": mrdeoi,
        }
    )


def _mrd(log10_pct: FloatArray) -> FloatArray:
    """MRD in % from its latent log10, saturating below 100 %, 0 below the flow limit."""
    latent = 10.0**log10_pct
    pct = 100.0 * latent / (100.0 + latent)
    pct = np.where(pct < MRD_DETECTION_LIMIT_PCT, 0.0, pct)
    return np.asarray(np.round(pct, 3), dtype=float)


def _risk_group(
    genetics: StrArray,
    age: FloatArray,
    wbc: FloatArray,
    cns: StrArray,
    pred: StrArray,
    mrd15: FloatArray,
    mrdeoi: FloatArray,
) -> StrArray:
    hr = (
        np.isin(genetics, list(HR_GENETICS))
        | (mrdeoi >= 1.0)
        | ((mrd15 >= 10.0) & (mrdeoi > 0.0))
        | ((pred == "poor") & (mrdeoi > 0.0))
    )
    favourable = np.isin(genetics, ["ETV6-RUNX1", "high-hyperdiploid"])
    lr = (
        (age < 10.0)
        & (wbc < 50.0)
        & (cns != "CNS3")
        & np.isin(genetics, list(LR_GENETICS))
        & (pred == "good")
        & (mrd15 < np.where(favourable, 10.0, 5.0))
        & (mrdeoi == 0.0)
    )
    return np.where(hr, "HR", np.where(lr, "LR", "IR"))


def _piecewise_time(
    rng: np.random.Generator,
    cuts: Sequence[float],
    rates: Sequence[float],
    multiplier: FloatArray,
    acceleration: FloatArray | float = 1.0,
) -> FloatArray:
    """Event times with hazard ``multiplier * a * h0(a * t)``, h0 piecewise constant.

    The last piece extends to infinity; a zero hazard everywhere gives ``inf``.
    """
    n = multiplier.shape[0]
    target = rng.exponential(size=n) / multiplier  # H0(a * t) = E / multiplier
    edges = np.asarray(cuts, dtype=float)
    r = np.asarray(rates, dtype=float)
    widths = np.diff(edges)
    cum = np.concatenate([[0.0], np.cumsum(r[:-1] * widths)])  # H0 at each cut
    k = np.searchsorted(cum, target, side="right") - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        u = edges[k] + (target - cum[k]) / r[k]
    u = np.where(r[k] > 0, u, np.inf)
    return np.asarray(u / np.broadcast_to(acceleration, (n,)), dtype=float)


def _mrd_multiplier(mrdeoi: FloatArray, table: Sequence[tuple[float, float]]) -> FloatArray:
    m = np.ones_like(mrdeoi)
    for threshold, factor in table:
        m = m * np.where(mrdeoi >= threshold, factor, 1.0)
    return m


def _very_high_risk(base: pd.DataFrame) -> BoolArray:
    genetics = base["genetic_subtype"].to_numpy()
    return np.asarray(
        np.isin(genetics, ["KMT2A-r", "hypodiploid"]) | (base["mrd_eoi_pct"].to_numpy() >= 1.0)
    )


def _death_after(rng: np.random.Generator, n: int) -> FloatArray:
    return np.asarray(
        DEATH_AFTER_EVENT_MEDIAN_MONTHS * np.exp(DEATH_AFTER_EVENT_LOG_SD * rng.standard_normal(n)),
        dtype=float,
    )


def _chemotherapy_outcomes(rng: np.random.Generator, base: pd.DataFrame) -> pd.DataFrame:
    """Simulate EFS/OS of chemotherapy alone for the baseline rows in ``base``."""
    n = len(base)
    genetics = base["genetic_subtype"].to_numpy().astype(str)
    risk = base["risk_group"].to_numpy().astype(str)
    mrdeoi = base["mrd_eoi_pct"].to_numpy(dtype=float)
    age = base["age_years"].to_numpy(dtype=float)
    wbc = base["wbc_10e9_l"].to_numpy(dtype=float)

    mult = (
        _lookup(RELAPSE_HR_RISK_GROUP, risk)
        * _lookup(RELAPSE_HR_GENETICS, genetics)
        * _mrd_multiplier(mrdeoi, RELAPSE_HR_MRD_EOI)
        * np.where(base["prednisone_response"].to_numpy() == "poor", RELAPSE_HR_POOR_PRED, 1.0)
        * np.where(base["cns_status"].to_numpy() == "CNS3", RELAPSE_HR_CNS3, 1.0)
        * np.where(age >= 10.0, RELAPSE_HR_AGE_10, 1.0)
        * np.where(wbc >= 50.0, RELAPSE_HR_WBC_50, 1.0)
    )
    accel = np.where((risk == "HR") | (mrdeoi >= 0.1), RELAPSE_ACCELERATION_HIGH, 1.0)
    t_relapse = _piecewise_time(rng, RELAPSE_CUTS_MONTHS, RELAPSE_BASE_RATE, mult, accel)

    trm_mult = _lookup(TRM_HR_RISK_GROUP, risk) * np.where(age >= 10.0, TRM_HR_AGE_10, 1.0)
    t_trm = _piecewise_time(rng, TRM_CUTS_MONTHS, TRM_BASE_RATE, trm_mult)
    t_smn = _piecewise_time(rng, (0.0,), (SMN_RATE,), np.ones(n))
    t_if = np.where(mrdeoi >= INDUCTION_FAILURE_MRD_PCT, rng.uniform(33, 46, n) / 30.44, np.inf)

    lo, hi = POOL_FOLLOW_UP_MONTHS
    censor = np.minimum(rng.uniform(lo, hi, n), rng.exponential(1.0 / LOSS_TO_FOLLOW_UP_RATE, n))

    times = np.column_stack([t_if, t_relapse, t_trm, t_smn])
    kinds = np.array(["induction-failure", "relapse", "death-in-remission", "second-malignancy"])
    first = np.argmin(times, axis=1)
    t_event = times[np.arange(n), first]
    has_event = t_event <= censor
    efs = np.where(has_event, t_event, censor)
    event_type = np.where(has_event, kinds[first], "none")

    p_death = np.select(
        [
            (event_type == "relapse") & (efs < EARLY_RELAPSE_MONTHS),
            event_type == "relapse",
            event_type == "induction-failure",
            event_type == "second-malignancy",
        ],
        [
            P_DEATH_AFTER_EARLY_RELAPSE,
            P_DEATH_AFTER_LATE_RELAPSE,
            P_DEATH_AFTER_INDUCTION_FAILURE,
            P_DEATH_AFTER_SMN,
        ],
        default=0.0,
    )
    dies = rng.random(n) < p_death
    t_death = np.where(
        event_type == "death-in-remission", efs, np.where(dies, efs + _death_after(rng, n), np.inf)
    )
    os_event = t_death <= censor
    os_months = np.where(os_event, t_death, censor)

    sites = np.array(list(RELAPSE_SITES))
    site_p = np.array(list(RELAPSE_SITES.values()))
    site = rng.choice(sites, size=n, p=site_p / site_p.sum())
    site = np.where((site == "testis") & (base["sex"].to_numpy() == "F"), "BM", site)  # boys only
    relapse_site = site.astype(object)
    relapse_site[event_type != "relapse"] = None

    hsct = (
        _very_high_risk(base)
        & (rng.random(n) < P_HSCT_VERY_HIGH_RISK)
        & ((efs > 6.0) | (event_type == "none"))
        & (event_type != "induction-failure")
    )

    efs_r = np.round(efs, 2)
    os_r = np.maximum(np.round(os_months, 2), efs_r)
    return pd.DataFrame(
        {
            "efs_months": efs_r,
            "efs_event": has_event.astype(np.int64),
            "os_months": os_r,
            "os_event": os_event.astype(np.int64),
            "hsct": pd.array(hsct.astype(np.int64), dtype="Int64"),
            "event_type": event_type,
            "relapse_site": relapse_site,
        }
    )


def _truncated_lognormal(
    rng: np.random.Generator, median: float, log_sd: float, lower: FloatArray, upper: FloatArray
) -> FloatArray:
    from scipy.special import ndtr, ndtri  # loaded when the demo is first built

    lo = ndtr((np.log(lower) - np.log(median)) / log_sd)
    hi = ndtr((np.log(upper) - np.log(median)) / log_sd)
    u = lo + (hi - lo) * rng.random(lower.shape[0])
    return np.asarray(np.exp(np.log(median) + log_sd * ndtri(u)), dtype=float)


def _select_treated(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """A risk-tilted sample of the IR/HR, in-remission population."""
    candidates = _baseline(rng, 40 * n)
    eligible = candidates[
        candidates["risk_group"].isin(["IR", "HR"])
        & (candidates["mrd_eoi_pct"] < INDUCTION_FAILURE_MRD_PCT)
    ].reset_index(drop=True)
    w = np.where(eligible["risk_group"].to_numpy() == "HR", TREATED_WEIGHT_HR, 1.0)
    w = w * _mrd_multiplier(eligible["mrd_eoi_pct"].to_numpy(dtype=float), TREATED_WEIGHT_MRD_EOI)
    pick = rng.choice(len(eligible), size=n, replace=False, p=w / w.sum())
    chosen = eligible.iloc[np.sort(pick)].reset_index(drop=True)
    # The two reported relapses need a TCF3-PBX1 and a KMT2A-r patient in the arm.
    for subtype in TREATED_RELAPSES:
        if not (chosen["genetic_subtype"] == subtype).any():
            spare = eligible.index[
                (eligible["genetic_subtype"] == subtype) & ~np.isin(eligible.index, pick)
            ]
            others = np.flatnonzero(~chosen["genetic_subtype"].isin(list(TREATED_RELAPSES)))
            slot = int(rng.choice(others))
            chosen.iloc[slot] = eligible.loc[int(rng.choice(spare))]
    return chosen


def _rescale_median(
    values: FloatArray, target: float, lower: float, upper: FloatArray
) -> FloatArray:
    """Scale ``values`` so their median is ``target``, keeping them in [lower, upper]."""
    out = values.copy()
    for _ in range(200):
        med = float(np.median(out))
        if abs(med - target) < 1e-9:
            break
        out = np.clip(out * target / med, lower, upper)
    return out


def _blinatumomab_arm(rng: np.random.Generator, n: int) -> pd.DataFrame:
    base = _select_treated(rng, n)
    risk = base["risk_group"].to_numpy().astype(str)

    # Follow-up from diagnosis; the 45th and 46th of 90 ordered times are tied at the
    # reported median so the reverse-KM median is exactly it.
    lo_f, hi_f = TREATED_MIN_FOLLOW_UP_MONTHS, TREATED_MAX_FOLLOW_UP_MONTHS
    target_fu = STUDY_TARGETS["median_follow_up_months"]
    follow = rng.uniform(lo_f, hi_f, n)
    order = np.argsort(follow)
    mid = 0.5 * (follow[order[n // 2 - 1]] + follow[order[n // 2]])
    follow = lo_f + (follow - lo_f) * (target_fu - lo_f) / (mid - lo_f)
    follow[order[n // 2 - 1]] = follow[order[n // 2]] = target_fu
    follow = np.round(follow, 2)

    target_start = STUDY_TARGETS["median_blina_start_months"]
    upper = follow - 1.0
    start = _truncated_lognormal(
        rng, target_start, BLINA_START_LOG_SD, np.full(n, BLINA_START_MIN_MONTHS), upper
    )
    start = np.round(_rescale_median(start, target_start, BLINA_START_MIN_MONTHS, upper), 2)

    # The two relapsing patients: first dose before the landmark, relapse soon after
    # it. Their start times are swapped with other patients' so the median stays put.
    genetics = base["genetic_subtype"].to_numpy()
    relapsers: list[int] = []
    for subtype in TREATED_RELAPSES:
        i = int(np.flatnonzero(genetics == subtype)[0])
        relapsers.append(i)
        s_lo, s_hi = RELAPSE_START_WINDOW_MONTHS
        if not s_lo <= start[i] <= s_hi:
            ok = np.flatnonzero(
                (start >= s_lo)
                & (start <= s_hi)
                & (upper >= start[i])
                & ~np.isin(np.arange(n), relapsers)
            )
            j = int(rng.choice(ok))
            start[i], start[j] = start[j], start[i]
    r_lo, r_hi = RELAPSE_WINDOW_MONTHS
    efs = follow.copy()
    event_type = np.full(n, "none", dtype=object)
    relapse_site = np.full(n, None, dtype=object)
    for i, site in zip(relapsers, TREATED_RELAPSES.values(), strict=True):
        efs[i] = round(float(rng.uniform(max(r_lo, start[i] + 2.0), r_hi)), 2)
        event_type[i] = "relapse"
        relapse_site[i] = site
    efs_event = (event_type == "relapse").astype(np.int64)

    intolerant = rng.random(n) < P_CHEMO_INTOLERANCE
    indication = np.where(
        intolerant, "chemo-intolerance", np.where(risk == "HR", "high-risk", "intermediate-risk")
    )

    cycles = np.array([1 + rng.choice(3, p=BLINA_CYCLES_P[r]) for r in risk], dtype=np.int64)
    room = np.maximum(np.floor((efs - start) / 1.5), 1).astype(np.int64)  # 6-week cycles
    cycles = np.minimum(cycles, room)
    crs = rng.choice(len(CRS_GRADE_P), size=n, p=CRS_GRADE_P)
    neuro = rng.choice(len(NEUROTOX_GRADE_P), size=n, p=NEUROTOX_GRADE_P)
    hsct = (
        _very_high_risk(base) & (rng.random(n) < P_HSCT_TREATED_VERY_HIGH_RISK) & (efs_event == 0)
    )

    out = base.copy()
    out["efs_months"] = efs
    out["efs_event"] = efs_event
    out["os_months"] = follow
    out["os_event"] = np.zeros(n, dtype=np.int64)
    out["indication"] = indication
    out["blina_start_months"] = start
    out["blina_cycles"] = pd.array(cycles, dtype="Int64")
    out["crs_grade"] = pd.array(crs, dtype="Int64")
    out["neurotox_grade"] = pd.array(neuro, dtype="Int64")
    out["hsct"] = pd.array(hsct.astype(np.int64), dtype="Int64")
    out["event_type"] = event_type
    out["relapse_site"] = relapse_site
    return out


def make_demo_cohort(seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """Generate the synthetic demo cohort (blinatumomab arm plus historical pool).

    The result has one row per patient in the canonical columns of
    ``docs/DATA_DICTIONARY.md`` (:data:`COLUMNS`): :data:`N_TREATED` blinatumomab
    patients (``BLN-001`` ...) reproducing the reported figures in
    :data:`STUDY_TARGETS`, followed by :data:`N_POOL` chemotherapy-only historical
    patients (``CTL-0001`` ...) simulated from the documented risk model. Values
    are rounded as in the shipped CSV (months to 2 decimals, age and WBC to 1,
    MRD to 3), so writing and reading back gives the same frame. Not-applicable
    cells (treatment detail of controls, relapse site without a relapse) are
    missing.

    Parameters
    ----------
    seed : int, default :data:`DEFAULT_SEED`
        Seed of the :class:`numpy.random.Generator`; the same seed always gives the
        same cohort.

    Returns
    -------
    pandas.DataFrame
        The cohort; it is synthetic (:data:`DEMO_LABEL`).

    Examples
    --------
    >>> cohort = make_demo_cohort()
    >>> cohort["arm"].value_counts().to_dict()
    {'chemotherapy': 1000, 'blinatumomab': 90}
    >>> float(cohort.loc[cohort["arm"] == "blinatumomab", "blina_start_months"].median())
    10.8
    >>> int(cohort.loc[cohort["arm"] == "blinatumomab", "efs_event"].sum())
    2
    """
    rng = np.random.default_rng(seed)
    treated = _blinatumomab_arm(rng, N_TREATED)
    treated.insert(0, "arm", "blinatumomab")
    treated.insert(0, "patient_id", [f"BLN-{i:03d}" for i in range(1, N_TREATED + 1)])

    pool_base = _baseline(rng, N_POOL)
    pool = pd.concat([pool_base, _chemotherapy_outcomes(rng, pool_base)], axis=1)
    pool.insert(0, "arm", "chemotherapy")
    pool.insert(0, "patient_id", [f"CTL-{i:04d}" for i in range(1, N_POOL + 1)])
    pool["indication"] = None
    pool["blina_start_months"] = np.nan
    for col in ("blina_cycles", "crs_grade", "neurotox_grade"):
        pool[col] = pd.array([pd.NA] * N_POOL, dtype="Int64")

    cohort = pd.concat([treated, pool], ignore_index=True)[list(COLUMNS)]
    text = [c for c in COLUMNS if cohort[c].dtype == object]
    for col in text:
        cohort[col] = cohort[col].astype(object)
        cohort.loc[cohort[col].isna(), col] = None
    return cohort


def demo_cohort() -> pd.DataFrame:
    """The default demo cohort: the shipped copy when it is there and intact, else generated.

    Reads :data:`BUNDLED` (its only input/output; :func:`main` writes that file),
    and returns it when its content hash is :data:`DEMO_HASH`, the hash of
    ``make_demo_cohort()``; otherwise (an installed package without ``data/``, a
    changed or damaged file) generates the cohort. Reading is several times quicker than
    generating, which also loads SciPy: the app shows the demo cohort on its first
    page before the statistics are loaded.

    Examples
    --------
    >>> demo_cohort().equals(make_demo_cohort())
    True
    """
    from blinastudy.core.errors import InputError
    from blinastudy.data.cohort import content_hash, load_cohort

    if BUNDLED.is_file():
        try:
            shipped = load_cohort(BUNDLED)
        except InputError:  # damaged: generate it instead
            return make_demo_cohort()
        if content_hash(shipped) == DEMO_HASH:
            return shipped
    return make_demo_cohort()


def main(argv: Sequence[str] | None = None) -> int:
    """Write the demo cohort to CSV (``python -m blinastudy.data.demo [PATH] [--seed N]``).

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments (default ``sys.argv[1:]``): an optional output path
        (default :data:`DEFAULT_OUTPUT`) and ``--seed``.

    Returns
    -------
    int
        Process exit status (0).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     main([str(pathlib.Path(d) / "demo.csv")])
    0
    """
    parser = argparse.ArgumentParser(
        prog="python -m blinastudy.data.demo",
        description=f"Write the BlinaStudy demo cohort ({DEMO_LABEL.lower()}) as CSV.",
    )
    parser.add_argument("output", nargs="?", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(sys.argv[1:] if argv is None else list(argv))
    cohort = make_demo_cohort(args.seed)
    out: Path = args.output
    out.parent.mkdir(parents=True, exist_ok=True)
    cohort.to_csv(out, index=False, lineterminator="\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Survival estimators: Kaplan-Meier, log-rank, Cox and competing risks, with R's numbers.

One estimator per module: :mod:`~blinastudy.stats.survival.km`,
:mod:`~blinastudy.stats.survival.logrank_test` (with the Mantel-Byar test),
:mod:`~blinastudy.stats.survival.coxph`, :mod:`~blinastudy.stats.survival.zph` (test of
proportional hazards), :mod:`~blinastudy.stats.survival.rmst` (restricted mean
survival), :mod:`~blinastudy.stats.survival.cutpoint` (maximally selected log-rank
cut-point), :mod:`~blinastudy.stats.survival.cuminc` (cumulative incidence, Gray's test)
and :mod:`~blinastudy.stats.survival.finegray` (Fine-Gray); :mod:`~blinastudy.stats.survival.tdc`
builds counting-process rows for a time-dependent exposure.

Examples
--------
>>> from blinastudy.stats.survival import kaplan_meier, median_survival
>>> median_survival(kaplan_meier([2, 4, 6, 8], [1, 1, 1, 1])).quantile
5.0
"""

from __future__ import annotations

from blinastudy.stats.survival.coxph import (
    COX_COLUMNS,
    CoxFit,
    cox,
    cox_fit,
    design_matrix,
    reference_levels,
)
from blinastudy.stats.survival.cuminc import (
    CUMINC_COLUMNS,
    GrayTest,
    cumulative_incidence,
    gray_test,
)
from blinastudy.stats.survival.cutpoint import CutpointResult, cutpoint
from blinastudy.stats.survival.finegray import FINE_GRAY_COLUMNS, fine_gray
from blinastudy.stats.survival.km import (
    KM_COLUMNS,
    MedianResult,
    SurvivalAt,
    confidence_band,
    kaplan_meier,
    median_survival,
    number_at_risk,
    quantile_survival,
    survival_at,
    survival_at_replicates,
)
from blinastudy.stats.survival.logrank_test import LogRankResult, logrank, logrank_stratified
from blinastudy.stats.survival.rmst import (
    RestrictedMean,
    RmstDifference,
    restricted_mean,
    restricted_mean_replicates,
    rmst_difference,
)
from blinastudy.stats.survival.tdc import as_intervals, split_at
from blinastudy.stats.survival.zph import PH_COLUMNS, ZphResult, cox_zph, ph_residuals, ph_test

__all__ = [
    "COX_COLUMNS",
    "CUMINC_COLUMNS",
    "FINE_GRAY_COLUMNS",
    "KM_COLUMNS",
    "PH_COLUMNS",
    "CoxFit",
    "CutpointResult",
    "GrayTest",
    "LogRankResult",
    "MedianResult",
    "RestrictedMean",
    "RmstDifference",
    "SurvivalAt",
    "ZphResult",
    "as_intervals",
    "confidence_band",
    "cox",
    "cox_fit",
    "cox_zph",
    "cumulative_incidence",
    "cutpoint",
    "design_matrix",
    "fine_gray",
    "gray_test",
    "kaplan_meier",
    "logrank",
    "logrank_stratified",
    "median_survival",
    "number_at_risk",
    "ph_residuals",
    "ph_test",
    "quantile_survival",
    "reference_levels",
    "restricted_mean",
    "restricted_mean_replicates",
    "rmst_difference",
    "split_at",
    "survival_at",
    "survival_at_replicates",
]

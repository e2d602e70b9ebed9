"""The estimators, one family per module, each equal to the R function it names.

:mod:`~blinastudy.stats.survival` (Kaplan-Meier, log-rank, Cox, cumulative incidence,
Gray's test, Fine-Gray, RMST, cut-points, proportional-hazards tests, time-dependent
rows), :mod:`~blinastudy.stats.matching` (propensity model and MatchIt-exact nearest
neighbour matching), :mod:`~blinastudy.stats.balance`, :mod:`~blinastudy.stats.weighting`,
:mod:`~blinastudy.stats.subgroups` (forest rows and interaction tests),
:mod:`~blinastudy.stats.sensitivity` (E-values), :mod:`~blinastudy.stats.model_checks`,
:mod:`~blinastudy.stats.timedep` and :mod:`~blinastudy.stats.bootstrap`. They take clean
arrays or frames and know nothing of settings or the app. Imports ``core`` and ``data``."""

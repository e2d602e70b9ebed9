"""The base every layer uses: :mod:`~blinastudy.core.errors` (the one error type of bad
input), :mod:`~blinastudy.core.validate` (checks of arrays at the boundary, so that inner
fits take clean arrays) and :mod:`~blinastudy.core.formatting` (how every number reads:
p-values, confidence intervals, percentages, hazard ratios, missing values)."""

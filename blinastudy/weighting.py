"""Stable import name: the code lives in :mod:`blinastudy.stats.weighting`.

Scripts written against ``blinastudy.weighting`` keep working; new code may import
either name (the objects are the same).
"""

from blinastudy.stats.weighting import (
    effective_sample_size,
    propensity_weights,
    quantile_type3,
    trim_weights,
    weights_from_scores,
)

__all__ = [
    "effective_sample_size",
    "propensity_weights",
    "quantile_type3",
    "trim_weights",
    "weights_from_scores",
]

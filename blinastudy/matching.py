"""Stable import name: the code lives in :mod:`blinastudy.stats.matching`.

Scripts written against ``blinastudy.matching`` keep working; new code may import
either name (the objects are the same).
"""

from blinastudy.stats.matching import (
    MatchResult,
    PropensityModel,
    balance,
    fit_propensity,
    match,
    propensity_scores,
)

__all__ = [
    "MatchResult",
    "PropensityModel",
    "balance",
    "fit_propensity",
    "match",
    "propensity_scores",
]

"""Stable import name: the code lives in :mod:`blinastudy.stats.subgroups`.

Scripts written against ``blinastudy.subgroups`` keep working; new code may import
either name (the objects are the same).
"""

from blinastudy.stats.subgroups import (
    FOREST_COLUMNS,
    INTERACTION_COLUMNS,
    LIKELIHOOD_RATIO,
    MAX_LEVELS,
    MISSING_LEVEL,
    ROBUST_WALD,
    forest,
    interaction_p,
    interaction_tests,
)

__all__ = [
    "FOREST_COLUMNS",
    "INTERACTION_COLUMNS",
    "LIKELIHOOD_RATIO",
    "MAX_LEVELS",
    "MISSING_LEVEL",
    "ROBUST_WALD",
    "forest",
    "interaction_p",
    "interaction_tests",
]

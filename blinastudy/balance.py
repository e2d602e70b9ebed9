"""Stable import name: the code lives in :mod:`blinastudy.stats.balance`.

Scripts written against ``blinastudy.balance`` keep working; new code may import
either name (the objects are the same).
"""

from blinastudy.stats.balance import (
    BALANCE_COLUMNS,
    ESTIMANDS,
    MEAN_COLUMNS,
    Estimand,
    balance,
    balance_design,
    effective_sample_size,
)

__all__ = [
    "BALANCE_COLUMNS",
    "ESTIMANDS",
    "MEAN_COLUMNS",
    "Estimand",
    "balance",
    "balance_design",
    "effective_sample_size",
]

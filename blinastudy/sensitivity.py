"""Stable import name: the code lives in :mod:`blinastudy.stats.sensitivity`.

Scripts written against ``blinastudy.sensitivity`` keep working; new code may import
either name (the objects are the same).
"""

from blinastudy.stats.sensitivity import (
    EValue,
    e_value,
    e_value_rr,
    hr_to_rr,
)

__all__ = [
    "EValue",
    "e_value",
    "e_value_rr",
    "hr_to_rr",
]

"""Stable import name: the code lives in :mod:`blinastudy.data.eligibility`.

Scripts written against ``blinastudy.eligibility`` keep working; new code may import
either name (the objects are the same).
"""

from blinastudy.data.eligibility import (
    APPLIES_TO,
    Eligibility,
    EligibilityFlow,
    apply_eligibility,
)

__all__ = [
    "APPLIES_TO",
    "Eligibility",
    "EligibilityFlow",
    "apply_eligibility",
]

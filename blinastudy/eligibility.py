"""Stable import name: the code lives in :mod:`blinastudy.data.eligibility`.

Scripts written against ``blinastudy.eligibility`` keep working; new code may import
either name (the objects are the same).
"""

from blinastudy.data.eligibility import *  # noqa: F403
from blinastudy.data.eligibility import __all__ as __all__

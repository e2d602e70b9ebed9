"""Stable import name: the code lives in :mod:`blinastudy.data.cohort`.

Scripts written against ``blinastudy.cohort`` keep working; new code may import
either name (the objects are the same).
"""

from blinastudy.data.cohort import *  # noqa: F403
from blinastudy.data.cohort import __all__ as __all__

"""Stable import name: the code lives in :mod:`blinastudy.stats.weighting`.

Scripts written against ``blinastudy.weighting`` keep working; new code may import
either name (the objects are the same).
"""

from blinastudy.stats.weighting import *  # noqa: F403
from blinastudy.stats.weighting import __all__ as __all__

"""Stable import name: the code lives in :mod:`blinastudy.stats.matching`.

Scripts written against ``blinastudy.matching`` keep working; new code may import
either name (the objects are the same).
"""

from blinastudy.stats.matching import *  # noqa: F403
from blinastudy.stats.matching import __all__ as __all__

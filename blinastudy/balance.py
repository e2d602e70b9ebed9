"""Stable import name: the code lives in :mod:`blinastudy.stats.balance`.

Scripts written against ``blinastudy.balance`` keep working; new code may import
either name (the objects are the same).
"""

from blinastudy.stats.balance import *  # noqa: F403
from blinastudy.stats.balance import __all__ as __all__

"""Stable import name: the code lives in :mod:`blinastudy.stats.sensitivity`.

Scripts written against ``blinastudy.sensitivity`` keep working; new code may import
either name (the objects are the same).
"""

from blinastudy.stats.sensitivity import *  # noqa: F403
from blinastudy.stats.sensitivity import __all__ as __all__

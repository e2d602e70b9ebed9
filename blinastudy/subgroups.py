"""Stable import name: the code lives in :mod:`blinastudy.stats.subgroups`.

Scripts written against ``blinastudy.subgroups`` keep working; new code may import
either name (the objects are the same).
"""

from blinastudy.stats.subgroups import *  # noqa: F403
from blinastudy.stats.subgroups import __all__ as __all__

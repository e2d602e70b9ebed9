"""Stable import name: the code lives in :mod:`blinastudy.stats.survival`.

Scripts written against ``blinastudy.survival`` keep working; new code may import
either name (the objects are the same).
"""

from blinastudy.stats.survival import *  # noqa: F403
from blinastudy.stats.survival import __all__ as __all__

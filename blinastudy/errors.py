"""Stable import name: the code lives in :mod:`blinastudy.core.errors`.

Scripts written against ``blinastudy.errors`` keep working; new code may import
either name (the objects are the same).
"""

from blinastudy.core.errors import *  # noqa: F403
from blinastudy.core.errors import __all__ as __all__

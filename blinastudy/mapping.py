"""Stable import name: the code lives in :mod:`blinastudy.data.mapping`.

Scripts written against ``blinastudy.mapping`` keep working; new code may import
either name (the objects are the same).
"""

from blinastudy.data.mapping import *  # noqa: F403
from blinastudy.data.mapping import __all__ as __all__

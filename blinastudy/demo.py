"""Stable import name: the code lives in :mod:`blinastudy.data.demo`.

Scripts written against ``blinastudy.demo`` keep working; new code may import
either name (the objects are the same).
"""

from blinastudy.data.demo import *  # noqa: F403
from blinastudy.data.demo import __all__ as __all__

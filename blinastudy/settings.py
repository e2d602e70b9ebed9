"""Stable import name: the code lives in :mod:`blinastudy.analysis.settings`.

Scripts written against ``blinastudy.settings`` keep working; new code may import
either name (the objects are the same).
"""

from blinastudy.analysis.settings import *  # noqa: F403
from blinastudy.analysis.settings import __all__ as __all__

"""Stable import name: the code lives in :mod:`blinastudy.data.schema`.

Scripts written against ``blinastudy.schema`` keep working; new code may import
either name (the objects are the same).
"""

from blinastudy.data.schema import *  # noqa: F403
from blinastudy.data.schema import __all__ as __all__

"""Stable import name: the code lives in :mod:`blinastudy.data.demo`.

Scripts written against ``blinastudy.demo`` keep working; new code may import
either name (the objects are the same).
"""

from blinastudy.data.demo import (
    COLUMNS,
    DEFAULT_MATCH_COVARIATES,
    DEFAULT_OUTPUT,
    DEFAULT_SEED,
    DEMO_LABEL,
    N_POOL,
    N_TREATED,
    STUDY_TARGETS,
    main,
    make_demo_cohort,
)

__all__ = [
    "COLUMNS",
    "DEFAULT_MATCH_COVARIATES",
    "DEFAULT_OUTPUT",
    "DEFAULT_SEED",
    "DEMO_LABEL",
    "N_POOL",
    "N_TREATED",
    "STUDY_TARGETS",
    "main",
    "make_demo_cohort",
]

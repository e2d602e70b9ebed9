"""Stable import name: the code lives in :mod:`blinastudy.data.cohort`.

Scripts written against ``blinastudy.cohort`` keep working; new code may import
either name (the objects are the same).
"""

from blinastudy.data.cohort import (
    NOTES_ATTR,
    SOURCE_ATTR,
    SOURCES_ATTR,
    CohortError,
    Limits,
    Problem,
    combine_cohorts,
    content_hash,
    drop_columns,
    identifier_columns,
    identifier_reasons,
    load_cohort,
    read_table,
)

__all__ = [
    "NOTES_ATTR",
    "SOURCES_ATTR",
    "SOURCE_ATTR",
    "CohortError",
    "Limits",
    "Problem",
    "combine_cohorts",
    "content_hash",
    "drop_columns",
    "identifier_columns",
    "identifier_reasons",
    "load_cohort",
    "read_table",
]

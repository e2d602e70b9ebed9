"""Stable import name: the code lives in :mod:`blinastudy.data.mapping`.

Scripts written against ``blinastudy.mapping`` keep working; new code may import
either name (the objects are the same).
"""

from blinastudy.data.mapping import (
    AS_MISSING,
    DAYS_PER_MONTH,
    DERIVED_COLUMNS,
    DIAGNOSIS_YEAR,
    MRD_UNITS,
    STATUS_TARGET,
    TIME_UNITS,
    Ambiguity,
    ColumnOffer,
    Mapping,
    MappingReview,
    MrdUnit,
    TimeUnit,
    ValueChoice,
    apply_mapping,
    code_key,
    column_targets,
    date_derivation,
    date_target,
    map_cohort,
    rename_columns,
    review_mapping,
    suggest_mapping,
    to_months,
)

__all__ = [
    "AS_MISSING",
    "DAYS_PER_MONTH",
    "DERIVED_COLUMNS",
    "DIAGNOSIS_YEAR",
    "MRD_UNITS",
    "STATUS_TARGET",
    "TIME_UNITS",
    "Ambiguity",
    "ColumnOffer",
    "Mapping",
    "MappingReview",
    "MrdUnit",
    "TimeUnit",
    "ValueChoice",
    "apply_mapping",
    "code_key",
    "column_targets",
    "date_derivation",
    "date_target",
    "map_cohort",
    "rename_columns",
    "review_mapping",
    "suggest_mapping",
    "to_months",
]

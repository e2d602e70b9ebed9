"""Stable import name: the code lives in :mod:`blinastudy.data.schema`.

Scripts written against ``blinastudy.schema`` keep working; new code may import
either name (the objects are the same).
"""

from blinastudy.data.schema import (
    CANONICAL_COLUMNS,
    COLUMNS,
    COVARIATE_LABELS,
    DECIMAL_COMMA_ATTR,
    DEFAULT_COVARIATES,
    MISSING_TOKENS,
    REQUIRED_COLUMNS,
    ROWS_ATTR,
    CohortError,
    ColumnSpec,
    Problem,
    SharedTuple,
    category_value,
    check_cohort,
    column_spec,
    format_problems,
    is_missing,
    label,
    normalise_key,
    parse_number,
    schema_markdown,
    show_value,
    validate_cohort,
)

__all__ = [
    "CANONICAL_COLUMNS",
    "COLUMNS",
    "COVARIATE_LABELS",
    "DECIMAL_COMMA_ATTR",
    "DEFAULT_COVARIATES",
    "MISSING_TOKENS",
    "REQUIRED_COLUMNS",
    "ROWS_ATTR",
    "CohortError",
    "ColumnSpec",
    "Problem",
    "SharedTuple",
    "category_value",
    "check_cohort",
    "column_spec",
    "format_problems",
    "is_missing",
    "label",
    "normalise_key",
    "parse_number",
    "schema_markdown",
    "show_value",
    "validate_cohort",
]

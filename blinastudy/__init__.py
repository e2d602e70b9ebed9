"""BlinaStudy: propensity-matched survival analysis for paediatric B-ALL cohorts.

The package is pure analysis (no user interface): cohort loading and schema,
the synthetic demo cohort, propensity scores and matching, balance, survival
estimators, subgroup forests, charts and reports. The Streamlit app in the
project root only lays out widgets and renders what these functions return.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]

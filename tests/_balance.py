"""What the balance and weighting tests share: R's column names and the property settings."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

#: ``bal.tab``-style columns in the R references, by BlinaStudy's balance column.
R_COLUMNS = {
    "means_treated": "mean_treated",
    "means_control": "mean_control",
    "smd": "smd",
    "var_ratio": "variance_ratio",
}
#: Hypothesis settings of the balance properties (large frames are slow to draw).
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

"""What the tests against R share: the reference folder, the tolerance, R's values from JSON."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

#: The R scripts, their inputs and the values they wrote.
DATA = Path(__file__).resolve().parent / "data"
#: Relative tolerance of a comparison with R.
REL = 1e-6
#: The columns of a Kaplan-Meier table compared with R's ``survfit``.
KM_FIELDS = ["time", "n_at_risk", "n_events", "n_censored", "survival", "ci_lower", "ci_upper"]

_SPECIAL = {"NA": math.nan, "NaN": math.nan, "Inf": math.inf, "-Inf": -math.inf}


def as_list(value: Any) -> list[Any]:
    """A JSON value as a list (R's ``auto_unbox`` writes length-1 vectors as scalars)."""
    return value if isinstance(value, list) else [value]


def r_values(wanted: Any) -> npt.NDArray[np.float64]:
    """R's numbers from the JSON: null, "NA" and "NaN" are NaN, "Inf" and "-Inf" infinities."""
    return np.asarray(
        [
            math.nan if v is None else _SPECIAL.get(v, v) if isinstance(v, str) else v
            for v in as_list(wanted)
        ],
        dtype=float,
    )


def assert_r(actual: Any, wanted: Any, what: str) -> None:
    """Equal to R's values to :data:`REL` relative; NaN where R has NA, Inf where R has Inf."""
    got = np.atleast_1d(np.asarray(actual, dtype=float))
    want = r_values(wanted)
    assert got.shape == want.shape, what
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=f"{what}: NA positions")
    np.testing.assert_allclose(got, want, rtol=REL, atol=0, err_msg=what)

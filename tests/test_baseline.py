"""Baseline table: summaries and SMDs by hand; missing values counted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from blinastudy.analysis.baseline import (
    BASELINE_COLUMNS,
    baseline_table,
    categorical_smd,
    continuous_smd,
)
from blinastudy.core.errors import InputError
from tests._cells import num


def test_continuous_row_by_hand() -> None:
    f = pd.DataFrame(
        {
            "arm": ["blinatumomab"] * 4 + ["chemotherapy"] * 4,
            "age": [1.0, 2.0, 3.0, 4.0, 2.0, 4.0, 6.0, np.nan],
        }
    )
    out = baseline_table(f, "arm", ["age"])
    assert list(out.columns) == BASELINE_COLUMNS
    row = out[out["variable"] == "age"].iloc[0]
    assert row["blinatumomab"] == "2.5 [1.8, 3.2]"
    assert row["chemotherapy"] == "4.0 [3.0, 5.0]"
    # pooled SD: sqrt((var(1..4) + var(2,4,6)) / 2) = sqrt((5/3 + 4) / 2)
    assert row["smd"] == pytest.approx((2.5 - 4.0) / np.sqrt((5 / 3 + 4) / 2))
    assert (row["missing_blinatumomab"], row["missing_chemotherapy"]) == (0, 1)
    assert out.iloc[0]["blinatumomab"] == "4" and out.iloc[0]["chemotherapy"] == "4"


def test_categorical_rows_by_hand() -> None:
    f = pd.DataFrame(
        {
            "arm": ["blinatumomab"] * 4 + ["chemotherapy"] * 4,
            "risk": ["HR", "HR", "IR", "IR", "HR", "IR", "IR", "LR"],
        }
    )
    out = baseline_table(f, "arm", ["risk"]).set_index("level")
    assert out.loc["HR", "blinatumomab"] == "2 (50.0%)"
    assert out.loc["LR", "blinatumomab"] == "0 (0.0%)"
    assert out.loc["LR", "chemotherapy"] == "1 (25.0%)"
    assert not np.isnan(num(out.loc["HR", "smd"])) and np.isnan(num(out.loc["IR", "smd"]))


def test_two_level_smd_equals_binary_formula() -> None:
    t = pd.Series(["a"] * 6 + ["b"] * 4)
    c = pd.Series(["a"] * 3 + ["b"] * 7)
    p1, p0 = 0.4, 0.7
    assert categorical_smd(t, c) == pytest.approx(
        abs(p1 - p0) / np.sqrt((p1 * (1 - p1) + p0 * (1 - p0)) / 2)
    )
    assert np.isnan(continuous_smd(np.array([1.0]), np.array([2.0, 3.0])))  # too few


def test_errors() -> None:
    f = pd.DataFrame({"arm": ["blinatumomab", "chemotherapy"], "x": [1, 2]})
    with pytest.raises(InputError, match="'y'"):
        baseline_table(f, "arm", ["y"])
    with pytest.raises(InputError, match="single arm"):
        baseline_table(f.assign(arm="chemotherapy"), "arm", ["x"])

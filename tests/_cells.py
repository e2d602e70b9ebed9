"""Typed reads out of pandas frames (pandas types a cell, or ``.loc[label]``, as any scalar)."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, SupportsFloat

import pandas as pd


def num(value: object) -> float:
    """A number read out of a frame or series, as a float."""
    assert isinstance(value, SupportsFloat), f"not a number: {value!r}"
    return float(value)


def one_row(frame: pd.DataFrame, label: Hashable) -> pd.Series[Any]:
    """The one row of ``frame`` labelled ``label``."""
    out = frame.xs(label)
    assert isinstance(out, pd.Series), f"{label!r} is not one row"
    return out

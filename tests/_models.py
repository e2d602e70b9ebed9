"""Propensity models made from a given distance, for tests that fix the distance by hand."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from blinastudy.stats.matching import PropensityModel


def model_with_distance(distance: pd.Series[Any]) -> PropensityModel:
    """A model whose linear predictor is ``distance`` (its propensity the logistic of it)."""
    return PropensityModel(
        coef=pd.Series([np.nan], index=["(Intercept)"]),
        propensity=pd.Series(
            1 / (1 + np.exp(-distance.to_numpy(dtype=float))),
            index=distance.index,
            name=distance.name,
        ),
        linear_predictor=distance,
        converged=True,
        separation=False,
        iterations=0,
    )

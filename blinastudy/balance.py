"""Covariate balance before and after matching, with ``MatchIt`` ``summary()`` conventions.

For the ATT: the standardised mean difference divides by the standard deviation
of the treated group in the full sample (``sqrt(p (1 - p))`` for two-valued
covariates, scaled by the gap between the two values) or, where the treated
group does not vary at all (MatchIt then has no finite SMD), by the pooled SD of
the two arms; means after matching use
the matching weights. Variance ratios (treated over control) are reported for
covariates with more than two values (``NaN`` for two-valued ones, as MatchIt).
Categorical covariates are expanded to one indicator per level, named
``column + level`` as in R.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from blinastudy.errors import InputError
from blinastudy.validate import as_treatment, require_columns, require_finite, require_frame

__all__ = ["BALANCE_COLUMNS", "balance", "balance_design"]

BALANCE_COLUMNS = ["smd_before", "smd_after", "variance_ratio_before", "variance_ratio_after"]
FloatArray = npt.NDArray[np.float64]


def balance_design(frame: pd.DataFrame, covariates: Sequence[str]) -> pd.DataFrame:
    """Numeric columns for balance: numbers as they are, categories as all-level indicators.

    Examples
    --------
    >>> import pandas as pd
    >>> list(balance_design(pd.DataFrame({"r": ["LR", "HR"]}), ["r"]).columns)
    ['rHR', 'rLR']
    """
    require_columns(frame, covariates)
    parts: dict[str, FloatArray] = {}
    for col in covariates:
        ser = frame[col]
        if ser.isna().any():
            rows = list(ser.index[ser.isna()][:5])
            raise InputError(f"covariate {col!r} has missing values at rows {rows}")
        if pd.api.types.is_bool_dtype(ser) or (
            pd.api.types.is_numeric_dtype(ser) and not isinstance(ser.dtype, pd.CategoricalDtype)
        ):
            parts[col] = ser.to_numpy(dtype=float)
            continue
        levels = (
            [lv for lv in ser.cat.categories if (ser == lv).any()]
            if isinstance(ser.dtype, pd.CategoricalDtype)
            else sorted(ser.astype(str).unique())
        )
        text = ser.astype(str)
        for lv in levels:
            parts[f"{col}{lv}"] = np.asarray((text == str(lv)).to_numpy(), dtype=np.float64)
    return pd.DataFrame(parts, index=frame.index)


def _wmean(x: FloatArray, w: FloatArray) -> float:
    return float(np.sum(w * x) / np.sum(w))


def _wvar(x: FloatArray, w: FloatArray) -> float:
    """Weighted variance with the reliability-weights correction (n - 1 when unweighted)."""
    sw = np.sum(w)
    denom = sw**2 - np.sum(w**2)
    if denom <= 0:
        return float("nan")
    m = np.sum(w * x) / sw
    return float(np.sum(w * (x - m) ** 2) * sw / denom)


def _pooled_sd(x: FloatArray, t: npt.NDArray[np.int64], two_valued: bool) -> float:
    parts = []
    for arm in (1, 0):
        xa = x[t == arm]
        if two_valued:
            values = np.unique(x)
            gap = float(values[-1] - values[0]) if values.size == 2 else 0.0
            p = float(np.mean(xa == values[-1])) if xa.size else 0.0
            parts.append((gap**2) * p * (1 - p))
        else:
            parts.append(float(np.var(xa, ddof=1)) if xa.size > 1 else 0.0)
    return float(np.sqrt((parts[0] + parts[1]) / 2))


def _smd_and_vr(
    x: FloatArray, t: npt.NDArray[np.int64], w: FloatArray, sd_t: float, two_valued: bool
) -> tuple[float, float]:
    tm, cm = t == 1, t == 0
    diff = _wmean(x[tm], w[tm]) - _wmean(x[cm], w[cm])
    smd = diff / sd_t if sd_t > 0 else (0.0 if diff == 0 else float("nan"))
    if two_valued:
        return smd, float("nan")
    vc = _wvar(x[cm], w[cm])
    vr = _wvar(x[tm], w[tm]) / vc if vc > 0 else float("nan")
    return smd, vr


def balance(
    frame: pd.DataFrame,
    treatment: str,
    covariates: Sequence[str],
    *,
    matched: Any = None,
) -> pd.DataFrame:
    """Standardised mean differences and variance ratios before and after matching.

    Parameters
    ----------
    frame : pandas.DataFrame
        The full (unmatched) sample.
    treatment : str
        Arm column (0/1, booleans or ``blinatumomab``/``chemotherapy``).
    covariates : sequence of str
        Covariates to assess.
    matched : MatchResult or pandas.DataFrame, optional
        The matched sample: a :class:`~blinastudy.matching.MatchResult`, or a
        frame of matched rows (with a ``weight`` column if not all weights are 1).

    Returns
    -------
    pandas.DataFrame
        Indexed by covariate (categories expanded): ``smd_before``,
        ``smd_after``, ``variance_ratio_before``, ``variance_ratio_after``
        (``NaN`` after when ``matched`` is None).

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"t": [1, 1, 0, 0], "x": [1.0, 3.0, 0.0, 2.0]})
    >>> float(balance(f, "t", ["x"]).loc["x", "smd_before"])
    0.7071067811865475
    """
    frame = require_frame(frame)
    require_columns(frame, [treatment, *covariates])
    require_finite(frame, covariates)
    if not covariates:
        raise InputError("no covariates given for the balance table")
    t = as_treatment(frame[treatment], name=f"treatment column {treatment!r}")
    design = balance_design(frame, covariates)
    if matched is not None:
        mframe = matched.matched if hasattr(matched, "matched") else matched
        if not isinstance(mframe, pd.DataFrame) or len(mframe) == 0:
            raise InputError("matched must be a MatchResult or a non-empty DataFrame")
        require_columns(mframe, [treatment, *covariates], what="matched sample")
        mt = as_treatment(mframe[treatment], name="matched treatment column")
        mdesign = balance_design(mframe, covariates).reindex(columns=design.columns, fill_value=0)
        mw = (
            mframe["weight"].to_numpy(dtype=float)
            if "weight" in mframe.columns
            else np.ones(len(mframe))
        )
    ones = np.ones(len(frame))
    rows = []
    for name in design.columns:
        x = design[name].to_numpy(dtype=float)
        values = np.unique(x)
        two_valued = values.size <= 2
        xt = x[t == 1]
        if two_valued and values.size == 2:
            p = float(np.mean(xt == values[1]))
            sd_t = float((values[1] - values[0]) * np.sqrt(p * (1 - p)))
        elif two_valued:
            sd_t = 0.0
        else:
            sd_t = float(np.std(xt, ddof=1)) if xt.size > 1 else float("nan")
        if not sd_t > 0:
            # The treated group does not vary (e.g. no blinatumomab patient is low risk):
            # the ATT denominator is 0, where MatchIt gives no finite SMD. Use the pooled
            # SD of the full sample so the largest imbalance is not hidden.
            sd_t = _pooled_sd(x, t, two_valued)
        smd_b, vr_b = _smd_and_vr(x, t, ones, sd_t, two_valued)
        if matched is not None:
            mx = mdesign[name].to_numpy(dtype=float)
            smd_a, vr_a = _smd_and_vr(mx, mt, mw, sd_t, two_valued)
        else:
            smd_a = vr_a = float("nan")
        rows.append((smd_b, smd_a, vr_b, vr_a))
    return pd.DataFrame(
        rows, columns=BALANCE_COLUMNS, index=pd.Index(design.columns, name="covariate")
    )

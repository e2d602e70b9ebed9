"""Kaplan-Meier estimator with Greenwood variance, as R's ``survfit``.

The table lists every distinct observed time (event or censoring), ascending,
like ``summary(survfit(...), censored = TRUE)``. ``n_at_risk`` counts the
patients with follow-up time ``T >= t``, the number R and KMunicate tables show.
Confidence intervals follow ``survival:::survfit_confint``: ``"log-log"``
(the default here, as in SAS and lifelines), ``"log"`` (R's default) and
``"plain"``. Where R returns ``NA`` (a log-log interval at S = 1, any interval at
S = 0), the table holds ``NaN``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from blinastudy.errors import InputError
from blinastudy.survival.timefix import timefix
from blinastudy.validate import as_durations, as_events

__all__ = [
    "KM_COLUMNS",
    "ConfType",
    "MedianResult",
    "SurvivalAt",
    "kaplan_meier",
    "median_survival",
    "number_at_risk",
    "quantile_survival",
    "survival_at",
    "survival_at_replicates",
]

ConfType = Literal["log-log", "log", "plain"]
KM_COLUMNS = ["time", "n_at_risk", "n_events", "n_censored", "survival", "ci_lower", "ci_upper"]
_CONF_TYPES = ("log-log", "log", "plain")
_TOL = float(np.sqrt(np.finfo(float).eps))

FloatArray = npt.NDArray[np.float64]


def _z(conf_level: float) -> float:
    if not (isinstance(conf_level, (int, float)) and 0.0 < float(conf_level) < 1.0):
        raise InputError(
            f"conf_level must be a number strictly between 0 and 1, got {conf_level!r}"
        )
    return float(stats.norm.ppf(1.0 - (1.0 - float(conf_level)) / 2.0))


def confidence_band(
    surv: FloatArray, se_log: FloatArray, z: float, conf_type: str
) -> tuple[FloatArray, FloatArray]:
    """Pointwise limits for a survival curve from the standard error of ``log S``.

    ``se_log`` is the Greenwood standard error of the cumulative hazard (R's
    ``std.err`` of a ``survfit`` object). The formulas are those of
    ``survival:::survfit_confint``.

    Examples
    --------
    >>> import numpy as np
    >>> lo, hi = confidence_band(np.array([0.5]), np.array([0.2]), 1.96, "log")
    >>> round(float(lo[0]), 4), round(float(hi[0]), 4)
    (0.3379, 0.74)
    """
    if conf_type not in _CONF_TYPES:
        raise InputError(f"conf_type must be one of {', '.join(_CONF_TYPES)}; got {conf_type!r}")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type == "plain":
            half = z * se_log * surv
            lower = np.maximum(surv - half, 0.0)
            upper = np.minimum(surv + half, 1.0)
            bad = surv == 0
        elif conf_type == "log":
            xx = np.where(surv == 0, np.nan, surv)
            lower = np.exp(np.log(xx) - z * se_log)
            upper = np.minimum(np.exp(np.log(xx) + z * se_log), 1.0)
            bad = surv == 0
        else:
            xx = np.where((surv == 0) | (surv == 1), np.nan, surv)
            se2 = z * se_log / np.log(xx)
            lower = np.exp(-np.exp(np.log(-np.log(xx)) - se2))
            upper = np.exp(-np.exp(np.log(-np.log(xx)) + se2))
            bad = (surv == 0) | (surv == 1)
    lower = np.where(bad, np.nan, lower)
    upper = np.where(bad, np.nan, upper)
    return lower, upper


def kaplan_meier(
    durations: Any,
    events: Any,
    *,
    conf_level: float = 0.95,
    conf_type: ConfType = "log-log",
) -> pd.DataFrame:
    """Kaplan-Meier table: one row per distinct observed time, as R ``survfit``.

    Parameters
    ----------
    durations : array-like of float
        Follow-up times (>= 0, finite).
    events : array-like of 0/1
        1 where the time is an event, 0 where it is censored.
    conf_level : float, default 0.95
        Level of the pointwise confidence interval.
    conf_type : {"log-log", "log", "plain"}, default "log-log"
        Transformation for the interval, as ``survfit(conf.type=)``.

    Returns
    -------
    pandas.DataFrame
        Columns ``time, n_at_risk, n_events, n_censored, survival, ci_lower,
        ci_upper``; ``attrs["std_err"]`` holds R's ``std.err`` (of the
        cumulative hazard) per row, ``attrs["n"]`` the sample size.

    Raises
    ------
    InputError
        Negative, missing or non-numeric times, events that are not 0/1,
        lengths that differ, an empty sample, or a bad ``conf_type``.

    Examples
    --------
    >>> km = kaplan_meier([1, 2, 2, 3], [1, 1, 0, 0], conf_type="log")
    >>> km[["time", "n_at_risk", "survival"]].to_numpy().tolist()
    [[1.0, 4.0, 0.75], [2.0, 3.0, 0.5], [3.0, 1.0, 0.5]]
    """
    t = as_durations(durations)
    e = as_events(events, n=t.size)
    z = _z(conf_level)
    if conf_type not in _CONF_TYPES:
        raise InputError(f"conf_type must be one of {', '.join(_CONF_TYPES)}; got {conf_type!r}")
    times, inverse = np.unique(t, return_inverse=True)
    n_events = np.bincount(inverse, weights=e, minlength=times.size)
    n_total = np.bincount(inverse, minlength=times.size).astype(float)
    n_censored = n_total - n_events
    n_at_risk = np.cumsum(n_total[::-1])[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = 1.0 - n_events / n_at_risk
        surv = np.cumprod(factor)
        term = np.where(n_events > 0, n_events / (n_at_risk * (n_at_risk - n_events)), 0.0)
    se_log = np.sqrt(np.cumsum(term))
    lower, upper = confidence_band(surv, se_log, z, conf_type)
    table = pd.DataFrame(
        {
            "time": times,
            "n_at_risk": n_at_risk,
            "n_events": n_events,
            "n_censored": n_censored,
            "survival": surv,
            "ci_lower": lower,
            "ci_upper": upper,
        }
    )
    table.attrs["std_err"] = se_log
    table.attrs["n"] = int(t.size)
    table.attrs["conf_type"] = conf_type
    table.attrs["conf_level"] = float(conf_level)
    return table


def _number(value: Any, name: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {value!r}") from None


def _check_km(km: Any) -> pd.DataFrame:
    if not isinstance(km, pd.DataFrame) or not set(KM_COLUMNS) <= set(km.columns):
        raise InputError("expected a table returned by kaplan_meier()")
    return km


@dataclass(frozen=True)
class SurvivalAt:
    """Survival probability at a time point with its confidence interval."""

    time: float
    survival: float
    ci_lower: float
    ci_upper: float
    n_at_risk: int
    std_err: float = 0.0
    """Greenwood standard error of the survival estimate (R's ``std.err`` times S)."""


def survival_at(km: pd.DataFrame, time: float) -> SurvivalAt:
    """Read a Kaplan-Meier table as a right-continuous step function at ``time``.

    Before the first observed time the survival is 1 (interval 1 to 1); after the
    last observed time the curve is not estimated and the result is ``NaN``, as
    ``summary(survfit, times=)`` does without ``extend``.

    Examples
    --------
    >>> km = kaplan_meier([1, 2, 3, 4], [1, 0, 1, 0])
    >>> survival_at(km, 2.5).survival
    0.75
    """
    km = _check_km(km)
    t = _number(time, "time")
    if not np.isfinite(t):
        raise InputError(f"time must be a finite number, got {time!r}")
    times = km["time"].to_numpy(dtype=float)
    n_risk = number_at_risk(km, t)
    nan = float("nan")
    if t > times[-1]:
        return SurvivalAt(t, nan, nan, nan, n_risk, nan)
    i = int(np.searchsorted(times, t, side="right")) - 1
    if i < 0:
        return SurvivalAt(t, 1.0, 1.0, 1.0, n_risk, 0.0)
    row = km.iloc[i]
    se_log = km.attrs.get("std_err")
    surv = float(row["survival"])
    std_err = surv * float(se_log[i]) if se_log is not None else nan
    return SurvivalAt(t, surv, float(row["ci_lower"]), float(row["ci_upper"]), n_risk, std_err)


def number_at_risk(km: pd.DataFrame, time: float) -> int:
    """Number of patients still at risk at ``time``: ``#{T >= time}``.

    Examples
    --------
    >>> number_at_risk(kaplan_meier([1, 2, 3], [1, 0, 1]), 2)
    2
    """
    km = _check_km(km)
    times = km["time"].to_numpy(dtype=float)
    counts = (km["n_events"] + km["n_censored"]).to_numpy(dtype=float)
    t = _number(time, "time")
    if np.isnan(t):
        raise InputError(f"time must be a number, got {time!r}")
    i = int(np.searchsorted(times, t, side="left"))
    return round(float(counts[i:].sum()))


def _findq(x: FloatArray, y: FloatArray, p: float, tol: float, xmax: float) -> float:
    """Where a horizontal line at ``p`` meets the step CDF ``y`` (R's ``findq``)."""
    keep = ~np.isnan(y)
    if not keep.any() or np.nanmax(y) < p:
        return float("nan")
    # Drop repeated levels (censorings), keeping the first time a level is reached.
    _, first = np.unique(y, return_index=True)
    dup = np.ones(y.size, dtype=bool)
    dup[first] = False
    nan_pos = np.flatnonzero(np.isnan(y))
    if nan_pos.size:
        dup[nan_pos] = True
        dup[nan_pos[0]] = False
    x, y = x[~dup], y[~dup]
    n = y.size
    valid = ~np.isnan(y)
    xs, idx = y[valid], np.arange(n)[valid]

    def step(shift: float) -> int | None:
        # approx(y + shift, 1:n, p, method = "constant", f = 1)
        knots = xs + shift
        if p < knots[0] or p > knots[-1]:
            return None
        j = int(np.searchsorted(knots, p, side="left"))
        return int(idx[j])

    i1, i2 = step(tol), step(-tol)
    quant = float("nan") if i1 is None or i2 is None else (x[i1] + x[i2]) / 2.0
    if p == 0:
        quant = float(x[0])
    if not np.isnan(y[-1]) and abs(p - y[-1]) < tol and i1 is not None:
        quant = (x[i1] + xmax) / 2.0
    return quant


@dataclass(frozen=True)
class MedianResult:
    """A survival quantile with its confidence limits (``NaN`` = not reached)."""

    quantile: float
    ci_lower: float
    ci_upper: float


def quantile_survival(km: pd.DataFrame, prob: float = 0.5) -> MedianResult:
    """Time by which a fraction ``prob`` have had the event, as R ``quantile.survfit``.

    Uses R's rules: the first time the curve reaches ``1 - prob``; where the curve
    is flat exactly at that level, the midpoint of the flat; limits from where the
    confidence band crosses the same level. ``NaN`` means not reached.

    Examples
    --------
    >>> km = kaplan_meier([1, 2, 3, 4], [1, 1, 1, 1])
    >>> quantile_survival(km, 0.5).quantile
    2.5
    """
    km = _check_km(km)
    p = _number(prob, "prob")
    if not 0.0 <= p <= 1.0:
        raise InputError(f"prob must be between 0 and 1, got {prob!r}")
    times = km["time"].to_numpy(dtype=float)
    x = np.concatenate([[0.0], times])
    xmax = float(times[-1])

    def curve(col: str) -> FloatArray:
        return np.concatenate([[0.0], 1.0 - km[col].to_numpy(dtype=float)])

    return MedianResult(
        float(_findq(x, curve("survival"), p, _TOL, xmax)),
        float(_findq(x, curve("ci_lower"), p, _TOL, xmax)),
        float(_findq(x, curve("ci_upper"), p, _TOL, xmax)),
    )


def median_survival(km: pd.DataFrame) -> MedianResult:
    """Median survival time with confidence limits, as ``print(survfit)``.

    Examples
    --------
    >>> km = kaplan_meier([1, 2, 3, 4], [1, 1, 0, 0])  # S = 0.5 from t = 2 to the end
    >>> median_survival(km).quantile  # R: midpoint of the flat, (2 + 4) / 2
    3.0
    """
    return quantile_survival(km, 0.5)


def survival_at_replicates(durations: Any, events: Any, counts: Any, time: float) -> FloatArray:
    """Kaplan-Meier survival at ``time`` for many frequency-weighted copies of one sample.

    Row ``b`` of ``counts`` says how often each patient appears in copy ``b`` (a
    bootstrap replicate); the result is what :func:`survival_at` gives on the
    sample with rows repeated that often, for every copy at once. ``NaN`` where
    ``time`` lies beyond a copy's last observed time, as :func:`survival_at`.

    Examples
    --------
    >>> import numpy as np
    >>> t, e = [1.0, 2.0, 3.0, 4.0], [1, 0, 1, 0]
    >>> counts = np.array([[1, 1, 1, 1], [2, 0, 1, 1]])
    >>> survival_at_replicates(t, e, counts, 3.0).tolist()
    [0.375, 0.25]
    >>> survival_at(kaplan_meier([1, 1, 3, 4], [1, 1, 1, 0]), 3.0).survival
    0.25
    """
    (t,) = timefix(as_durations(durations))
    e = as_events(events, n=t.size).astype(float)
    w = np.atleast_2d(np.asarray(counts, dtype=float))
    if w.shape[1] != t.size:
        raise InputError(f"counts has {w.shape[1]} columns but durations has {t.size} values")
    at = _number(time, "time")
    grid = np.unique(t[(e > 0) & (t <= at)])  # event times up to the time point
    at_risk = (t[:, None] >= grid[None, :]).astype(float)
    died = ((t[:, None] == grid[None, :]) & (e[:, None] > 0)).astype(float)
    n = w @ at_risk
    d = w @ died
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(n > 0, 1.0 - d / n, 1.0)
    surv = np.prod(factor, axis=1)
    last = np.max(np.where(w > 0, t[None, :], -np.inf), axis=1)
    return np.asarray(np.where(at > last, np.nan, surv), dtype=np.float64)

"""Kaplan-Meier estimator, plain or case-weighted, as R's ``survfit`` (survival 3.5-3).

The table lists every distinct observed time (event or censoring), ascending,
like ``summary(survfit(...), censored = TRUE)``. Times equal up to rounding noise
are tied first, as ``survfit``'s default ``timefix = TRUE`` does (see
:mod:`~blinastudy.stats.survival.timefix`), and the table reports the snapped times.
``n_at_risk`` is the (weighted) number with follow-up time ``T >= t``, the
number R and KMunicate tables show; with delayed entry (``entry=``, R's
``Surv(entry, time, event)``) the number entered before ``t`` and still at risk.

Standard errors follow ``survival:::survfitKM`` and its C routine ``survfitkm``:
the Greenwood formula on the (weighted) counts, or, when any case weight is not
a whole number, the infinitesimal-jackknife variance with every observation its
own cluster (``survfit``'s default ``robust = TRUE`` for such weights).
Confidence intervals follow ``survival:::survfit_confint``: ``"log-log"`` (the
default here, as in SAS and lifelines), ``"log"`` (R's default) and ``"plain"``.
Where R returns ``NA`` (a log-log interval at S = 1, a log or log-log interval
at S = 0, a plain interval at S = 0 with an infinite Greenwood term), the table
holds ``NaN``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from blinastudy.core.errors import InputError
from blinastudy.core.validate import FloatArray, as_durations, as_events, as_weights, describe_value
from blinastudy.stats.survival.tdc import as_intervals
from blinastudy.stats.survival.timefix import TIMEFIX_TOLERANCE, timefix

__all__ = [
    "KM_COLUMNS",
    "ConfType",
    "MedianResult",
    "SurvivalAt",
    "confidence_band",
    "kaplan_meier",
    "median_survival",
    "number_at_risk",
    "quantile_survival",
    "replicate_steps",
    "survival_at",
    "survival_at_replicates",
]

ConfType = Literal["log-log", "log", "plain"]
KM_COLUMNS = ["time", "n_at_risk", "n_events", "n_censored", "survival", "ci_lower", "ci_upper"]
_CONF_TYPES = ("log-log", "log", "plain")
#: R's ``sqrt(.Machine$double.eps)``: the tolerance of ``survmean`` and ``quantile.survfit``.
_TOL = TIMEFIX_TOLERANCE

BoolArray = npt.NDArray[np.bool_]


def _z(conf_level: Any) -> float:
    if not (
        isinstance(conf_level, (int, float, np.integer, np.floating))
        and not isinstance(conf_level, (bool, np.bool_))
        and 0.0 < float(conf_level) < 1.0
    ):
        raise InputError(
            f"conf_level must be a number strictly between 0 and 1, got {describe_value(conf_level)}"
        )
    return float(stats.norm.ppf(1.0 - (1.0 - float(conf_level)) / 2.0))


def _check_conf_type(conf_type: Any) -> None:
    if conf_type not in _CONF_TYPES:
        raise InputError(
            f"conf_type must be one of {', '.join(_CONF_TYPES)}; got {describe_value(conf_type)}"
        )


def confidence_band(
    surv: FloatArray, se_log: FloatArray, z: float, conf_type: str
) -> tuple[FloatArray, FloatArray]:
    """Pointwise limits for a survival curve from the standard error of ``log S``.

    The formulas are those of ``survival:::survfit_confint`` with ``logse =
    TRUE``: ``se_log`` is the standard error of ``log S`` (the cumulative
    hazard scale), R's ``std.err`` of an unweighted ``survfit`` object. ``NaN``
    stands for R's ``NA``.

    Examples
    --------
    >>> import numpy as np
    >>> lo, hi = confidence_band(np.array([0.5]), np.array([0.2]), 1.96, "log")
    >>> round(float(lo[0]), 4), round(float(hi[0]), 4)
    (0.3379, 0.74)
    """
    _check_conf_type(conf_type)
    surv = np.asarray(surv, dtype=np.float64)
    se_log = np.asarray(se_log, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type == "plain":
            half = se_log * surv * z
            lower = np.maximum(surv - half, 0.0)
            upper = np.minimum(surv + half, 1.0)
        elif conf_type == "log":
            xx = np.where(surv == 0, np.nan, surv)
            lower = np.exp(np.log(xx) - z * se_log)
            upper = np.minimum(np.exp(np.log(xx) + z * se_log), 1.0)
        else:
            xx = np.where((surv == 0) | (surv == 1), np.nan, surv)
            se2 = z * se_log / np.log(xx)
            lower = np.exp(-np.exp(np.log(-np.log(xx)) - se2))
            upper = np.exp(-np.exp(np.log(-np.log(xx)) + se2))
    return lower, upper


def _sum_by_time(inverse: npt.NDArray[np.intp], values: FloatArray, m: int) -> FloatArray:
    """Sums of ``values`` per distinct time (``inverse`` maps rows to times)."""
    return np.asarray(np.bincount(inverse, weights=values, minlength=m), dtype=np.float64)


def _ij_std_err(
    inverse: npt.NDArray[np.intp],
    entered: npt.NDArray[np.intp] | None,
    e: npt.NDArray[np.int64],
    w: FloatArray,
    w_risk: FloatArray,
    jump: BoolArray,
    greenwood: FloatArray,
    surv: FloatArray,
) -> FloatArray:
    """Infinitesimal-jackknife standard error of S, one cluster per observation.

    ``survfitkm`` updates each observation's influence on S at every event
    time it is at risk for. Summed in closed form: with ``G(t)`` the weighted
    Greenwood sum ``sum d/(r (r - d))`` up to ``t`` (``greenwood``) and ``a`` its
    value at the observation's entry time (0 without delayed entry), an
    observation still at risk after ``t`` has influence ``S(t) w (G(t) - a)``,
    one censored at ``u <= t`` has ``S(t) w (G(u) - a)`` and one with an event
    at ``u <= t`` has ``S(t) w (G(u-) - 1/r(u) - a)``; one not yet entered has
    none. The variance is the sum of their squares. Once S reaches 0 every
    influence is 0, as in R.

    ``entered[i]`` is the number of table times at or before observation
    ``i``'s entry (``None``: every observation at risk from the start).
    """
    m = surv.size
    green_before = np.concatenate([[0.0], greenwood[:-1]])
    with np.errstate(divide="ignore"):
        inv_risk = np.where(jump, 1.0 / w_risk, 0.0)
    at_entry = (
        np.zeros(inverse.size) if entered is None else np.concatenate([[0.0], greenwood])[entered]
    )
    # per observation: its constant influence factor once its own time has passed
    ev = (e == 1) & jump[inverse]
    w2 = w * w
    # G is infinite from the time S reaches 0 on; those rows are set to 0 below
    with np.errstate(invalid="ignore", over="ignore"):
        b = np.where(ev, green_before[inverse] - inv_risk[inverse], greenwood[inverse]) - at_entry
        gone = np.cumsum(_sum_by_time(inverse, w2 * b * b, m))

        def still(values: FloatArray) -> FloatArray:
            """Sums over observations entered before and still at risk after each time."""
            if entered is None:  # all entered at the start: the sum over T > t
                after = np.cumsum(_sum_by_time(inverse, values, m)[::-1])[::-1]
                return np.asarray(np.concatenate([after[1:], [0.0]]), dtype=np.float64)
            came = np.cumsum(np.bincount(entered, weights=values, minlength=m + 1))[:m]
            left = np.cumsum(_sum_by_time(inverse, values, m))
            return np.asarray(came - left, dtype=np.float64)

        if np.any(at_entry != 0):
            open_sq = (
                greenwood * greenwood * still(w2)
                - 2.0 * greenwood * still(w2 * at_entry)
                + still(w2 * at_entry * at_entry)
            )
        else:
            open_sq = greenwood * greenwood * still(w2)
        var = surv * surv * (open_sq + gone)
    var = np.where(surv == 0, 0.0, var)
    return np.asarray(np.sqrt(np.maximum(var, 0.0)), dtype=np.float64)


def kaplan_meier(
    durations: Any,
    events: Any,
    *,
    entry: Any = None,
    weights: Any = None,
    conf_level: float = 0.95,
    conf_type: ConfType = "log-log",
) -> pd.DataFrame:
    """Kaplan-Meier table: one row per distinct observed time, as R ``survfit``.

    Equal to ``survfit(Surv(durations, events) ~ 1, weights = weights,
    conf.type = conf_type, conf.int = conf_level)`` in survival 3.5-3: near-equal
    times tied (``timefix``), counts weighted, and the standard error from
    Greenwood's formula or, when any weight is not a whole number, from the
    infinitesimal jackknife (R's default ``robust = TRUE`` for such weights).

    With ``entry`` (delayed entry, left truncation; or the ``(start, stop]``
    rows of a time-dependent exposure from
    :func:`~blinastudy.stats.survival.tdc.split_at`) it is ``survfit(Surv(entry,
    durations, events) ~ 1)``: a row is at risk at ``t`` when ``entry < t <=
    durations``, the table lists the distinct ``durations`` (exit times) and
    ``n_at_risk`` counts the rows entered and still at risk. Without an ``id``
    (as here) ``survfit`` counts every row ending without an event as censored
    and takes each row as its own cluster for the infinitesimal jackknife.

    Parameters
    ----------
    durations : array-like of float
        Follow-up times (>= 0, finite): exit times when ``entry`` is given.
    events : array-like of 0/1
        1 where the time is an event, 0 where it is censored.
    entry : array-like of float, optional
        Entry times (finite, ``0 <= entry < durations``), one per row; near-equal
        entry and exit times are tied jointly, as ``aeqSurv``.
    weights : array-like of float, optional
        Case weights (finite, >= 0), one per patient. Rows with weight 0 stay in
        the table, as in R (their times appear, with weighted counts of 0).
    conf_level : float, default 0.95
        Level of the pointwise confidence interval.
    conf_type : {"log-log", "log", "plain"}, default "log-log"
        Transformation for the interval, as ``survfit(conf.type=)``.

    Returns
    -------
    pandas.DataFrame
        Columns ``time, n_at_risk, n_events, n_censored, survival, ci_lower,
        ci_upper`` (counts weighted when ``weights`` is given, as R reports
        them; ``n_at_risk`` is ``#{entry < t <= T}`` with ``entry``). ``attrs["std_err"]`` holds R's ``std.err`` per row: the standard
        error of the cumulative hazard ``-log S`` when ``attrs["logse"]`` is
        True (Greenwood), of S itself when it is False (infinitesimal
        jackknife). ``attrs["n"]`` is the number of patients,
        ``attrs["weighted"]`` whether weights were given.

    Raises
    ------
    InputError
        Negative, missing or non-numeric times, an entry time not before its
        exit time (naming the patient or entry), events that are not 0/1,
        weights that are negative, missing or infinite, lengths that differ, an
        empty sample, or a bad ``conf_type`` or ``conf_level``.

    Examples
    --------
    >>> km = kaplan_meier([1, 2, 2, 3], [1, 1, 0, 0], conf_type="log")
    >>> km[["time", "n_at_risk", "survival"]].to_numpy().tolist()
    [[1.0, 4.0, 0.75], [2.0, 3.0, 0.5], [3.0, 1.0, 0.5]]

    Integer weights count a patient that many times:

    >>> w = kaplan_meier([1, 2, 3], [1, 1, 0], weights=[2, 1, 1])
    >>> w["survival"].tolist() == kaplan_meier([1, 1, 2, 3], [1, 1, 1, 0])["survival"].tolist()
    True

    Delayed entry: the patient entering at 2.5 is not at risk at 2.

    >>> late = kaplan_meier([2, 3, 4], [1, 1, 0], entry=[0, 2.5, 0])
    >>> late[["time", "n_at_risk", "survival"]].to_numpy().tolist()
    [[2.0, 2.0, 0.5], [3.0, 2.0, 0.25], [4.0, 1.0, 0.25]]
    """
    if entry is None:
        (t,) = timefix(as_durations(durations))
    else:
        start, t = as_intervals(entry, durations, names=("entry", "durations"))
    e = as_events(events, n=t.size)
    weighted = weights is not None
    w = as_weights(weights, t.size) if weighted else np.ones(t.size)
    z = _z(conf_level)
    _check_conf_type(conf_type)
    times, inverse = np.unique(t, return_inverse=True)
    m = times.size
    event_count = _sum_by_time(inverse, e.astype(float), m)
    w_events = _sum_by_time(inverse, w * e, m)
    w_censored = _sum_by_time(inverse, w * (1 - e), m)
    w_risk = np.cumsum(_sum_by_time(inverse, w, m)[::-1])[::-1]
    entered = None
    if entry is not None:
        # survfitkm: at time t the rows with entry >= t are not yet at risk
        entered = np.searchsorted(times, start, side="right")
        late = np.cumsum(np.bincount(entered, weights=w, minlength=m + 1)[::-1])[::-1]
        w_risk = w_risk - late[1:]
    # survfitkm: a time changes the curve when it has an event of positive weight
    jump = (event_count > 0) & (w_events > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(jump, (w_risk - w_events) / w_risk, 1.0)
        surv = np.asarray(np.cumprod(factor), dtype=np.float64)
        # Greenwood's sum d / (r (r - d)) on the weighted counts
        greenwood = np.cumsum(np.where(jump, w_events / (w_risk * (w_risk - w_events)), 0.0))
    robust = bool(weighted and np.any(w != np.floor(w)))
    if robust:
        std_err = _ij_std_err(inverse, entered, e, w, w_risk, jump, greenwood, surv)
        with np.errstate(divide="ignore", invalid="ignore"):
            se_log = np.where(std_err == 0, 0.0, std_err / surv)
    else:
        std_err = np.sqrt(greenwood)
        se_log = std_err
    lower, upper = confidence_band(surv, se_log, z, conf_type)
    table = pd.DataFrame(
        {
            "time": times,
            "n_at_risk": w_risk,
            "n_events": w_events,
            "n_censored": w_censored,
            "survival": surv,
            "ci_lower": lower,
            "ci_upper": upper,
        }
    )
    table.attrs["std_err"] = std_err
    # the times the standard errors belong to: a filtered or reordered copy of the
    # table (pandas copies attrs) no longer matches them, and survival_at says so
    table.attrs["std_err_times"] = times
    table.attrs["logse"] = not robust
    table.attrs["n"] = int(t.size)
    table.attrs["weighted"] = weighted
    table.attrs["entry"] = entry is not None
    table.attrs["conf_type"] = conf_type
    table.attrs["conf_level"] = float(conf_level)
    return table


def _number(value: Any, name: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {describe_value(value)}") from None


def _check_km(km: Any) -> pd.DataFrame:
    if not isinstance(km, pd.DataFrame) or not set(KM_COLUMNS) <= set(km.columns):
        raise InputError("expected a table returned by kaplan_meier()")
    if len(km) == 0:
        raise InputError("the Kaplan-Meier table has no rows; expected one from kaplan_meier()")
    return km


@dataclass(frozen=True)
class SurvivalAt:
    """Survival probability at a time point with its confidence interval."""

    time: float
    survival: float
    ci_lower: float
    ci_upper: float
    n_at_risk: float
    """Number at risk (``T >= time``); weighted for a weighted table, as R reports it."""
    std_err: float = 0.0
    """Standard error of S, the ``std.err`` of ``summary(survfit, times=)``."""


def survival_at(km: pd.DataFrame, time: float) -> SurvivalAt:
    """Read a Kaplan-Meier table as a right-continuous step function at ``time``.

    The values of ``summary(fit, times = time)``: before the first observed
    time the survival is 1 (interval 1 to 1, standard error 0); after the last
    observed time the curve is not estimated and the result is ``NaN``, as
    ``summary`` does without ``extend``. ``std_err`` is the standard error of
    S itself (Greenwood's, or the infinitesimal jackknife's for a table with
    non-integer weights), as that summary reports it.

    Examples
    --------
    >>> km = kaplan_meier([1, 2, 3, 4], [1, 0, 1, 0])
    >>> survival_at(km, 2.5).survival
    0.75
    """
    km = _check_km(km)
    t = _number(time, "time")
    if not np.isfinite(t):
        raise InputError(f"time must be a finite number, got {describe_value(time)}")
    times = km["time"].to_numpy(dtype=float)
    n_risk = number_at_risk(km, t)
    nan = float("nan")
    if t > times[-1]:
        return SurvivalAt(t, nan, nan, nan, n_risk, nan)
    i = int(np.searchsorted(times, t, side="right")) - 1
    if i < 0:
        return SurvivalAt(t, 1.0, 1.0, 1.0, n_risk, 0.0)
    row = km.iloc[i]
    surv = float(row["survival"])
    raw = _aligned_std_err(km, times)
    if raw is None:
        std_err = nan
    elif km.attrs.get("logse", True):
        std_err = float(raw[i]) * surv  # R: std.err * surv (Inf * 0 is NaN)
    else:
        std_err = float(raw[i])
    return SurvivalAt(t, surv, float(row["ci_lower"]), float(row["ci_upper"]), n_risk, std_err)


def _aligned_std_err(km: pd.DataFrame, times: FloatArray) -> FloatArray | None:
    """The table's per-row standard errors (``attrs["std_err"]``) when they still belong
    to its rows; ``None`` for a table not made by :func:`kaplan_meier`.

    Raises
    ------
    InputError
        When the table was filtered, reordered or changed after :func:`kaplan_meier`
        (its standard errors no longer line up with its rows).
    """
    raw = km.attrs.get("std_err")
    if raw is None:
        return None
    made_for = km.attrs.get("std_err_times")
    if len(raw) != times.size or (made_for is not None and not np.array_equal(made_for, times)):
        raise InputError(
            "this Kaplan-Meier table was filtered or changed after kaplan_meier(): its "
            "standard errors no longer match its rows; read survival from the whole table"
        )
    return np.asarray(raw, dtype=float)


def number_at_risk(km: pd.DataFrame, time: float) -> float:
    """Number still at risk at ``time``: ``#{T >= time}``, weighted for a weighted table.

    R's ``summary(fit, times = time)$n.risk``: the ``n_at_risk`` of the first
    table row at or after ``time``, 0 after the last. For a delayed-entry table
    that is the number at risk at that row's time (patients entering between
    ``time`` and that row already count), as R reports it. A whole number (an
    ``int``) for an unweighted table.

    Examples
    --------
    >>> number_at_risk(kaplan_meier([1, 2, 3], [1, 0, 1]), 2)
    2
    >>> number_at_risk(kaplan_meier([1, 2, 3], [1, 0, 1], weights=[1, 0.5, 2]), 2)
    2.5
    """
    km = _check_km(km)
    t = _number(time, "time")
    if np.isnan(t):
        raise InputError(f"time must be a number, got {describe_value(time)}")
    times = km["time"].to_numpy(dtype=float)
    at_risk = km["n_at_risk"].to_numpy(dtype=float)
    i = int(np.searchsorted(times, t, side="left"))
    value = float(at_risk[i]) if i < times.size else 0.0
    return value if km.attrs.get("weighted", False) else round(value)


def _duplicated(y: FloatArray) -> BoolArray:
    """R's ``duplicated``: True for a value (NaN included) seen earlier in ``y``."""
    key = np.where(np.isnan(y), np.inf, y)  # NaN never occurs with Inf in 1 - S
    _, first = np.unique(key, return_index=True)
    dup = np.ones(y.size, dtype=bool)
    dup[first] = False
    return dup


def _approx_right(knots: FloatArray, p: float) -> int | None:
    """``approx(knots, seq_along(knots), p, method = "constant", f = 1)`` as a 0-based index.

    NaN knots are dropped and the rest sorted, as ``approx`` does (ties take the
    mean index, truncated as R truncates a fractional subscript); ``None`` is
    R's ``NA`` outside the knots' range.
    """
    idx = np.arange(1, knots.size + 1, dtype=float)
    ok = ~np.isnan(knots)
    xs, ys = knots[ok], idx[ok]
    values, inverse = np.unique(xs, return_inverse=True)
    means = np.bincount(inverse, weights=ys) / np.bincount(inverse)
    if values.size == 0 or p < values[0] or p > values[-1]:
        return None
    j = int(np.searchsorted(values, p, side="left"))
    return int(means[j]) - 1


def _findq(x: FloatArray, y: FloatArray, p: float, tol: float) -> float:
    """Where a horizontal line at ``p`` meets the step CDF ``y`` (R's ``findq``)."""
    if np.nanmax(y) < p:
        return float("nan")
    xmax = float(x[-1])
    keep = ~_duplicated(y)
    x, y = x[keep], y[keep]
    i1 = _approx_right(y + tol, p)
    i2 = _approx_right(y - tol, p)
    quant = float("nan") if i1 is None or i2 is None else (x[i1] + x[i2]) / 2.0
    if p == 0:
        quant = float(x[0])
    if not np.isnan(y[-1]) and abs(p - y[-1]) < tol:
        quant = float("nan") if i1 is None else (x[i1] + xmax) / 2.0
    return float(quant)


@dataclass(frozen=True)
class MedianResult:
    """A survival quantile with its confidence limits (``NaN`` = not reached)."""

    quantile: float
    ci_lower: float
    ci_upper: float


def quantile_survival(km: pd.DataFrame, prob: float = 0.5) -> MedianResult:
    """Time by which a fraction ``prob`` have had the event, as R ``quantile.survfit``.

    Follows ``quantile.survfit`` (its helper ``findq``), which differs from
    :func:`median_survival` (``print.survfit``) at the end of a curve: the
    first time the curve reaches ``1 - prob`` (within ``sqrt(eps)``); where the
    curve is flat at that level, the midpoint of the flat, and where the flat
    runs to the end of the curve, the midpoint of its start and the last
    observed time. The limits apply the same rule to the confidence band
    (``ci_lower`` from the lower curve). ``NaN`` means not reached.

    Examples
    --------
    >>> km = kaplan_meier([1, 2, 3, 4], [1, 1, 1, 1])
    >>> quantile_survival(km, 0.5).quantile
    2.5
    >>> quantile_survival(kaplan_meier([1, 2, 3, 4], [1, 1, 0, 0]), 0.5).quantile
    3.0
    """
    km = _check_km(km)
    p = _number(prob, "prob")
    if not 0.0 <= p <= 1.0:
        raise InputError(f"prob must be between 0 and 1, got {describe_value(prob)}")
    times = km["time"].to_numpy(dtype=float)
    x = np.concatenate([[0.0], times])

    def curve(col: str) -> FloatArray:
        return np.concatenate([[0.0], 1.0 - km[col].to_numpy(dtype=float)])

    return MedianResult(
        _findq(x, curve("survival"), p, _TOL),
        _findq(x, curve("ci_lower"), p, _TOL),
        _findq(x, curve("ci_upper"), p, _TOL),
    )


def _minmin(y: FloatArray, x: FloatArray) -> float:
    """First ``x`` where the curve ``y`` is at most 1/2, as ``survmean``'s ``minmin``.

    ``NaN`` values of ``y`` are skipped. When that first value equals 1/2
    within ``sqrt(eps)`` and the curve later drops below it, the result is the
    midpoint of the two times; ``NaN`` when the curve never reaches 1/2.
    """
    keep = ~np.isnan(y) & (y < 0.5 + _TOL)
    if not keep.any():
        return float("nan")
    x, y = x[keep], y[keep]
    below = np.flatnonzero(y < y[0])
    if abs(y[0] - 0.5) < _TOL and below.size:
        return float((x[0] + x[below[0]]) / 2.0)
    return float(x[0])


def median_survival(km: pd.DataFrame) -> MedianResult:
    """Median survival time with confidence limits, as ``print(survfit)``.

    The ``median``, ``LCL`` and ``UCL`` of ``summary(fit)$table`` (R's
    ``survmean``): the first time S is at most 1/2 (within ``sqrt(eps)``); when
    S equals 1/2 there and later drops below, the midpoint of that time and the
    time of the drop. A curve that stays at 1/2 to its end gives the time it
    reached 1/2 (unlike :func:`quantile_survival`). The limits apply the same
    rule to the lower and upper confidence curves, skipping ``NaN`` values.
    ``NaN`` means not reached.

    Examples
    --------
    >>> km = kaplan_meier([1, 2, 3, 4], [1, 1, 0, 0])  # S = 0.5 from t = 2 to the end
    >>> median_survival(km).quantile  # R prints 2: the curve never drops below 1/2
    2.0
    >>> median_survival(kaplan_meier([1, 2, 3, 4], [1, 1, 1, 1])).quantile  # (2 + 3) / 2
    2.5
    """
    km = _check_km(km)
    x = km["time"].to_numpy(dtype=float)
    return MedianResult(
        _minmin(km["survival"].to_numpy(dtype=float), x),
        _minmin(km["ci_lower"].to_numpy(dtype=float), x),
        _minmin(km["ci_upper"].to_numpy(dtype=float), x),
    )


def replicate_steps(
    durations: Any, events: Any, counts: Any, upto: float
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """The Kaplan-Meier factors of many frequency-weighted copies of one sample.

    Shared by :func:`survival_at_replicates` and the restricted mean's replicates:
    returns the (tied) times, the ``counts`` as a (copies x patients) matrix, the
    event times up to ``upto`` (``grid``) and per copy the factor ``1 - d / n`` at
    each of them (1 where a copy has nobody at risk).

    Examples
    --------
    >>> _, _, grid, factor = replicate_steps([1.0, 2.0, 3.0], [1, 1, 0], [[1, 1, 1]], 5.0)
    >>> grid.tolist(), factor.round(4).tolist()
    ([1.0, 2.0], [[0.6667, 0.5]])
    """
    (t,) = timefix(as_durations(durations))
    e = as_events(events, n=t.size).astype(float)
    w = np.atleast_2d(np.asarray(counts, dtype=float))
    if w.shape[1] != t.size:
        raise InputError(f"counts has {w.shape[1]} columns but durations has {t.size} values")
    grid = np.unique(t[(e > 0) & (t <= upto)])  # event times up to the limit
    at_risk = (t[:, None] >= grid[None, :]).astype(float)
    died = ((t[:, None] == grid[None, :]) & (e[:, None] > 0)).astype(float)
    n = w @ at_risk
    d = w @ died
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(n > 0, 1.0 - d / n, 1.0)
    return t, w, grid, np.asarray(factor, dtype=np.float64)


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
    at = _number(time, "time")
    t, w, _, factor = replicate_steps(durations, events, counts, at)
    surv = np.prod(factor, axis=1)
    last = np.max(np.where(w > 0, t[None, :], -np.inf), axis=1)
    return np.asarray(np.where(at > last, np.nan, surv), dtype=np.float64)

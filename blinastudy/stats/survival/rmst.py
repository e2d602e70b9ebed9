"""Restricted mean survival time (RMST), as R's ``print(survfit(...), rmean = tau)``.

The restricted mean is the area under the Kaplan-Meier curve from 0 to
``tau``; its standard error is the one R's ``survmean`` (in
``print.survfit.R``, survival 3.5-3) prints as ``se(rmean)``: with ``A(t)`` the
area under the curve from ``t`` to ``tau``,
``var = sum over event times t <= tau of A(t)^2 d / (n (n - d))``
(Greenwood's form, on the weighted counts for a weighted curve; a time where
everyone at risk has the event adds 0). Beyond the last observed time the curve
is carried on flat to ``tau`` and R does not object; a ``tau`` before the first
observed time is an error in R, and here too.

Two arms are compared by the difference of their restricted means, with the
standard error of two independent estimates, ``sqrt(se1^2 + se2^2)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from blinastudy.core.errors import InputError
from blinastudy.core.validate import (
    FloatArray,
    as_durations,
    as_events,
    as_groups,
    as_weights,
    describe_value,
)
from blinastudy.stats.bootstrap import BootstrapResult, cluster_bootstrap
from blinastudy.stats.survival.km import kaplan_meier, replicate_steps
from blinastudy.stats.survival.tdc import as_intervals
from blinastudy.stats.survival.timefix import timefix

__all__ = [
    "RestrictedMean",
    "RmstDifference",
    "restricted_mean",
    "restricted_mean_replicates",
    "rmst_difference",
]


@dataclass(frozen=True)
class RestrictedMean:
    """Restricted mean survival time up to ``tau`` with its standard error."""

    rmst: float
    """Area under the Kaplan-Meier curve from 0 to ``tau`` (R's ``rmean``)."""
    se: float
    """Standard error, R's ``se(rmean)``."""
    tau: float
    """The truncation time."""


@dataclass(frozen=True)
class RmstDifference:
    """Difference of restricted means, ``group`` minus ``reference``."""

    difference: float
    se: float
    """``sqrt(se_group^2 + se_reference^2)`` (independent arms)."""
    ci_lower: float
    ci_upper: float
    p_value: float
    """Two-sided, from ``difference / se`` on the normal distribution."""
    tau: float
    conf_level: float
    group: Any
    """The arm whose restricted mean comes first in the difference."""
    reference: Any
    """The arm subtracted."""
    rmst_group: RestrictedMean
    rmst_reference: RestrictedMean
    method: str = "normal approximation, standard errors of independent arms"
    """How ``ci_lower``, ``ci_upper`` and ``p_value`` were made."""
    bootstrap: BootstrapResult | None = None
    """The cluster bootstrap behind the interval, with ``clusters``."""


def _tau(tau: Any) -> float:
    try:
        value = float(tau)
    except (TypeError, ValueError):
        raise InputError(f"tau must be a number, got {describe_value(tau)}") from None
    if not np.isfinite(value) or value <= 0:
        raise InputError(f"tau must be a finite number > 0, got {describe_value(tau)}")
    return value


def _check_tau_reached(tau: float, first_time: float) -> None:
    if tau < first_time:
        raise InputError(
            f"tau ({describe_value(tau)}) is before the first observed time "
            f"({describe_value(first_time)}); R's print.survfit stops here too "
            "('Truncation point for the mean is < smallest survival')"
        )


def _survmean(km: pd.DataFrame, tau: float) -> RestrictedMean:
    """R's ``survmean`` (``pfun``) for one curve, integrating from 0 to ``tau``."""
    time = km["time"].to_numpy(dtype=float)
    surv = km["survival"].to_numpy(dtype=float)
    n_risk = km["n_at_risk"].to_numpy(dtype=float)
    n_event = km["n_events"].to_numpy(dtype=float)
    left = n_risk - n_event
    with np.errstate(divide="ignore", invalid="ignore"):
        hh = np.where(left == 0, 0.0, n_event / (n_risk * left))
    keep = time <= tau
    if not keep.any():  # tau before this curve's first time: the curve is 1 there
        return RestrictedMean(tau, 0.0, tau)
    grid = np.concatenate([time[keep], [tau]])
    height = np.concatenate([[1.0], surv[keep]])  # S on each interval of the grid
    hh = hh[keep]
    rectangles = np.diff(np.concatenate([[0.0], grid])) * height
    # area from each observed time to tau, paired with that time's Greenwood term
    after = np.cumsum(rectangles[::-1])[::-1][1:]
    var = float(np.sum(after * after * hh))
    return RestrictedMean(float(rectangles.sum()), float(np.sqrt(var)), tau)


def restricted_mean(
    durations: Any, events: Any, tau: float, *, entry: Any = None, weights: Any = None
) -> RestrictedMean:
    """Restricted mean survival time up to ``tau``, as ``print(survfit, rmean = tau)``.

    Equal to the ``rmean`` and ``se(rmean)`` of ``print(survfit(Surv(durations,
    events) ~ 1), rmean = tau)`` (R's ``survmean``, survival 3.5-3), or of
    ``Surv(entry, durations, events)`` with delayed entry: the area under the
    Kaplan-Meier curve of :func:`~blinastudy.stats.survival.km.kaplan_meier` from 0
    to ``tau`` (the curve is 1 before its first time and carried on flat after
    its last), and the standard error given in the module docstring.

    Parameters
    ----------
    durations, events : array-like
        Follow-up times and 0/1 event indicators.
    tau : float
        Truncation time, > 0 and not before the first observed time (R stops
        there); it may lie beyond the last observed time.
    entry : array-like of float, optional
        Delayed-entry times (``Surv(entry, time, event)``).
    weights : array-like of float, optional
        Case weights; the standard error then uses the weighted counts, as R.

    Returns
    -------
    RestrictedMean
        ``rmst``, ``se`` and ``tau``.

    Raises
    ------
    InputError
        Bad times, events or weights (as :func:`kaplan_meier`), or a ``tau``
        that is not a positive number or lies before the first observed time.

    Examples
    --------
    >>> res = restricted_mean([1, 2, 3, 4], [1, 1, 1, 1], 3)
    >>> res.rmst  # 1 + 0.75 + 0.5
    2.25
    >>> restricted_mean([1, 2, 3, 4], [1, 1, 1, 1], 10).rmst  # S = 0 from 4 on
    2.5
    """
    t = _tau(tau)
    km = kaplan_meier(durations, events, entry=entry, weights=weights)
    _check_tau_reached(t, float(km["time"].iloc[0]))
    return _survmean(km, t)


def restricted_mean_replicates(durations: Any, events: Any, counts: Any, tau: float) -> FloatArray:
    """Restricted mean up to ``tau`` for many frequency-weighted copies of one sample.

    Row ``b`` of ``counts`` says how often each patient appears in copy ``b`` (a
    bootstrap replicate); the result is the ``rmst`` of :func:`restricted_mean` on
    the sample with rows repeated that often, for every copy at once (the curve
    is 1 before its first event and carried on flat after its last time).

    Parameters
    ----------
    durations, events : array-like
        Follow-up times and 0/1 event indicators.
    counts : array-like, shape (copies, patients)
        Non-negative frequency weights per copy.
    tau : float
        Truncation time (> 0).

    Returns
    -------
    numpy.ndarray
        One restricted mean per copy.

    Examples
    --------
    >>> import numpy as np
    >>> t, e = [1.0, 2.0, 3.0, 4.0], [1, 1, 1, 1]
    >>> restricted_mean_replicates(t, e, np.array([[1, 1, 1, 1], [0, 1, 1, 2]]), 3).tolist()
    [2.25, 2.75]
    >>> restricted_mean([2, 3, 4, 4], [1, 1, 1, 1], 3).rmst
    2.75
    """
    limit = _tau(tau)
    _, w, grid, factor = replicate_steps(durations, events, counts, limit)
    # S on [0, g1), [g1, g2), ..., [g_last, tau]
    heights = np.concatenate([np.ones((w.shape[0], 1)), np.cumprod(factor, axis=1)], axis=1)
    widths = np.diff(np.concatenate([[0.0], grid, [limit]]))
    return np.asarray(heights @ widths, dtype=np.float64)


def _reference_level(levels: list[Any], reference: Any) -> Any:
    if reference is not None:
        matches = [lv for lv in levels if lv == reference or str(lv) == str(reference)]
        if not matches:
            raise InputError(
                f"reference {describe_value(reference)} is not one of the groups "
                f"({', '.join(describe_value(lv) for lv in levels)})"
            )
        return matches[0]
    text = {str(lv) for lv in levels}
    if text == {"0", "1"} or text == {"False", "True"} or text == {"0.0", "1.0"}:
        return next(lv for lv in levels if str(lv) in ("0", "False", "0.0"))
    if text == {"blinatumomab", "chemotherapy"}:
        return "chemotherapy"
    return sorted(levels, key=str)[0]


def rmst_difference(
    durations: Any,
    events: Any,
    groups: Any,
    tau: float,
    *,
    reference: Any = None,
    conf_level: float = 0.95,
    entry: Any = None,
    weights: Any = None,
    clusters: Any = None,
    replicates: int = 1000,
    random_state: int = 0,
) -> RmstDifference:
    """Difference in restricted mean survival time between two arms, up to ``tau``.

    Each arm's restricted mean and standard error are those of
    :func:`restricted_mean` (the per-curve rows of ``print(survfit(Surv(t, e) ~
    g), rmean = tau)``); the difference is the first arm minus the second,
    where the second (``reference``) is by default 0 for 0/1 or False/True
    groups (so 1 minus 0), ``"chemotherapy"`` for the arm labels
    ``"blinatumomab"``/``"chemotherapy"``, else the first level in sorted
    order. Its standard error is ``sqrt(se1^2 + se2^2)`` (independent arms),
    with a Wald interval at ``conf_level`` and a two-sided normal p-value.
    As R, ``tau`` must not precede the first observed time of the pooled data.

    Parameters
    ----------
    durations, events : array-like
        Follow-up times and 0/1 event indicators.
    groups : array-like
        Arm per patient, exactly two distinct values.
    tau : float
        Truncation time (> 0).
    reference : label, optional
        The arm subtracted (see above for the default).
    conf_level : float, default 0.95
        Level of the interval.
    entry : array-like of float, optional
        Delayed-entry times.
    weights : array-like of float, optional
        Case weights (each arm as :func:`restricted_mean` with ``weights``; the
        standard errors take the weights as fixed, as R's ``survmean`` does).
    clusters : array-like, optional
        Matched set of every patient. The interval is then the percentile
        interval of a bootstrap of whole sets
        (:func:`~blinastudy.stats.bootstrap.cluster_bootstrap`, ``replicates``,
        ``random_state``), which respects the pairing that the independent-arm
        standard error ignores; ``p_value`` is then ``NaN`` (``se`` stays the
        independent-arm one, for reference).
    replicates : int, default 1000
        Bootstrap replicates with ``clusters``.
    random_state : int, default 0
        Seed of the bootstrap.

    Returns
    -------
    RmstDifference

    Raises
    ------
    InputError
        Bad times or events, missing group labels, not exactly two groups, a
        reference that is not a group, a bad ``tau`` or ``conf_level``, or
        ``clusters`` together with ``entry``.

    Examples
    --------
    >>> d = rmst_difference([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 1, 1], [0, 0, 0, 1, 1, 1], 6)
    >>> d.group, d.reference, d.difference  # (4 + 5 + 6) / 3 - (1 + 2 + 3) / 3
    (1, 0, 3.0)
    >>> pairs = [1, 2, 3, 1, 2, 3]
    >>> b = rmst_difference([1, 2, 3, 4, 5, 6], [1] * 6, [0, 0, 0, 1, 1, 1], 6, clusters=pairs)
    >>> b.method.startswith("percentile bootstrap"), b.ci_lower <= 3.0 <= b.ci_upper
    (True, True)
    """
    if clusters is not None and entry is not None:
        raise InputError("clusters (a pair bootstrap) cannot be combined with delayed entry")
    # times are tied over both arms together, as survfit does before splitting
    if entry is None:
        s_all = None
        (t_all,) = timefix(as_durations(durations))
    else:
        s_all, t_all = as_intervals(entry, durations, names=("entry", "durations"))
    e_all = as_events(events, n=t_all.size)
    w_all = None if weights is None else as_weights(weights, t_all.size)
    labels = as_groups(groups, t_all.size)
    levels = list(pd.unique(pd.Series(labels, dtype=object)))
    if len(levels) != 2:
        raise InputError(
            f"groups must have exactly two arms for a difference; found {len(levels)} "
            f"({', '.join(describe_value(lv) for lv in levels[:5])})"
        )
    if (
        isinstance(conf_level, bool)
        or not isinstance(conf_level, (int, float, np.integer, np.floating))
        or not 0 < float(conf_level) < 1
    ):
        raise InputError(
            f"conf_level must be strictly between 0 and 1, got {describe_value(conf_level)}"
        )
    t = _tau(tau)
    ref = _reference_level(levels, reference)
    other = levels[1] if levels[0] is ref else levels[0]
    curves = []
    for level in (other, ref):
        mask = np.asarray([lab == level for lab in labels], dtype=bool)
        curves.append(
            kaplan_meier(
                t_all[mask],
                e_all[mask],
                entry=None if s_all is None else s_all[mask],
                weights=None if w_all is None else w_all[mask],
            )
        )
    _check_tau_reached(t, float(t_all.min()))
    one, two = (_survmean(km, t) for km in curves)
    diff = one.rmst - two.rmst
    se = float(np.hypot(one.se, two.se))
    z = float(special.ndtri(1 - (1 - float(conf_level)) / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = float(2 * special.ndtr(-abs(diff / se))) if se > 0 else float("nan")
    lo, hi = diff - z * se, diff + z * se
    method = "normal approximation, standard errors of independent arms"
    boot = None
    if clusters is not None:
        first = np.asarray([lab == other for lab in labels], dtype=bool)

        def statistic(counts: FloatArray) -> FloatArray:
            c = counts if w_all is None else counts * w_all[None, :]
            a = restricted_mean_replicates(t_all[first], e_all[first], c[:, first], t)
            b = restricted_mean_replicates(t_all[~first], e_all[~first], c[:, ~first], t)
            return np.asarray(a - b, dtype=np.float64)

        boot = cluster_bootstrap(
            None,
            clusters,
            batch=statistic,
            replicates=replicates,
            random_state=random_state,
            conf_level=float(conf_level),
        )
        lo, hi, p, method = boot.ci_lower, boot.ci_upper, float("nan"), boot.method
    return RmstDifference(
        difference=diff,
        se=se,
        ci_lower=lo,
        ci_upper=hi,
        p_value=p,
        tau=t,
        conf_level=float(conf_level),
        group=other,
        reference=ref,
        rmst_group=one,
        rmst_reference=two,
        method=method,
        bootstrap=boot,
    )

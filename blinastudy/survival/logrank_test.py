"""Log-rank test for two or more groups, plain or stratified, as R ``survdiff``.

Follows ``survdiff`` of survival 3.5-3 with ``rho = 0``, including its
``timefix = TRUE`` default (near-equal times tied, see
:mod:`~blinastudy.survival.timefix`) and its handling of groups with no expected
events.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from blinastudy.errors import InputError
from blinastudy.survival.timefix import timefix
from blinastudy.validate import as_durations, as_events, as_groups, describe_value

__all__ = ["LogRankResult", "logrank", "logrank_stratified"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class LogRankResult:
    """Result of a log-rank test.

    Attributes
    ----------
    statistic : float
        Chi-square statistic.
    dof : int
        Degrees of freedom: groups with a positive expected count, minus 1
        (``survdiff``'s rule; 0 when fewer than two such groups).
    p_value : float
        Upper-tail chi-square probability (1 on 0 degrees of freedom, as R).
    table : pandas.DataFrame
        Per group: ``n``, ``observed``, ``expected`` (summed over strata).
    """

    statistic: float
    dof: int
    p_value: float
    table: pd.DataFrame = field(repr=False)


def _observed_expected(
    t: FloatArray, e: npt.NDArray[np.int64], g: npt.NDArray[np.int64], k: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Observed, expected and variance matrix of one stratum (vectorised over times)."""
    times, idx = np.unique(t, return_inverse=True)
    m = times.size
    # per time x group: number at risk (T >= t) and deaths
    counts = np.zeros((m, k))
    deaths = np.zeros((m, k))
    np.add.at(counts, (idx, g), 1.0)
    np.add.at(deaths, (idx, g), e.astype(float))
    at_risk = np.cumsum(counts[::-1], axis=0)[::-1]
    d = deaths.sum(axis=1)
    n = at_risk.sum(axis=1)
    keep = d > 0
    at_risk, deaths, d, n = at_risk[keep], deaths[keep], d[keep], n[keep]
    observed = deaths.sum(axis=0)
    frac = at_risk / n[:, None]
    expected = (frac * d[:, None]).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(n > 1, d * (n - d) / (n - 1), 0.0)
    # V = sum_t scale_t * (diag(frac_t) - frac_t frac_t')
    var = np.diag((scale[:, None] * frac).sum(axis=0)) - np.einsum("t,ti,tj->ij", scale, frac, frac)
    return observed, expected, var


def _chi_square(diff: FloatArray, var: FloatArray, expected: FloatArray) -> tuple[float, int]:
    """``survdiff``'s statistic and degrees of freedom from O - E, V and E.

    Groups whose expected count is 0 are dropped; with fewer than two left the
    statistic is 0; otherwise it is solved on the variance of the groups left,
    less the first. Degrees of freedom: groups left minus 1.
    """
    keep = expected > 0
    dof = int(keep.sum()) - 1
    if keep.sum() < 2:
        return 0.0, dof
    d = diff[keep][1:]
    v = var[np.ix_(keep, keep)][1:, 1:]
    try:
        rcond = 1.0 / float(np.linalg.cond(v, 1))
    except np.linalg.LinAlgError:
        rcond = 0.0
    if not rcond >= np.finfo(float).eps:
        raise InputError(
            "the log-rank test is undefined here: the variance of observed minus expected "
            "events is singular (for example, every event happens when all patients still "
            "at risk have it); R's survdiff stops with the same problem"
        )
    return float(d @ np.linalg.solve(v, d)), dof


def logrank(durations: Any, events: Any, groups: Any, *, strata: Any = None) -> LogRankResult:
    """Log-rank test of equal survival across groups, as ``survdiff(Surv(t, e) ~ g)``.

    Follows ``survdiff`` (survival 3.5-3, ``rho = 0``): near-equal times are tied
    first (``timefix``); groups whose expected number of events is 0 (everyone
    censored before the first event) are left out of the statistic; the degrees
    of freedom are the number of groups left minus 1; with fewer than two groups
    left the statistic is 0 on 0 degrees of freedom, with p-value 1 (R's
    ``pchisq(0, 0, lower.tail = FALSE)``). Without any event R reports -1
    degrees of freedom and p-value ``NA``; so does this function (``NaN``).

    Parameters
    ----------
    durations : array-like of float
        Follow-up times.
    events : array-like of 0/1
        Event indicators.
    groups : array-like
        Group label per patient (two or more distinct values).
    strata : array-like, optional
        Stratum label per patient; observed, expected and variance are summed
        over strata, as ``survdiff(... + strata(s))``.

    Returns
    -------
    LogRankResult

    Raises
    ------
    InputError
        Bad times or events, missing group labels, a single group, or a
        singular variance (where ``survdiff`` stops too).

    Examples
    --------
    >>> res = logrank([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 0, 1], [0, 0, 0, 1, 1, 1])
    >>> round(res.statistic, 4), res.dof
    (5.0517, 1)

    Every event while only one arm is at risk: no test.

    >>> res = logrank([1, 2, 5, 6], [0, 0, 1, 1], [0, 0, 1, 1])
    >>> res.statistic, res.dof, res.p_value
    (0.0, 0, 1.0)
    """
    t = as_durations(durations)
    e = as_events(events, n=t.size)
    labels = as_groups(groups, t.size)
    levels, g = np.unique(
        labels.astype(str) if labels.dtype == object else labels, return_inverse=True
    )
    if levels.size < 2:
        raise InputError(
            f"groups has a single value ({describe_value(levels[0])}); at least two are needed"
        )
    k = int(levels.size)
    if strata is None:
        s = np.zeros(t.size, dtype=np.int64)
    else:
        _, s = np.unique(as_groups(strata, t.size, name="strata").astype(str), return_inverse=True)
    (t,) = timefix(t)
    obs = np.zeros(k)
    exp = np.zeros(k)
    var = np.zeros((k, k))
    for level in np.unique(s):
        sel = s == level
        o_, e_, v_ = _observed_expected(t[sel], e[sel], g[sel].astype(np.int64), k)
        obs += o_
        exp += e_
        var += v_
    statistic, dof = _chi_square(obs - exp, var, exp)
    # R: pchisq(0, 0, lower.tail = FALSE) is 1; with no events at all, df is -1 and p NaN
    p_value = float(stats.chi2.sf(statistic, dof)) if dof > 0 else 1.0 if dof == 0 else math.nan
    table = pd.DataFrame(
        {
            "n": np.bincount(g, minlength=k),
            "observed": obs,
            "expected": exp,
        },
        index=pd.Index(levels, name="group"),
    )
    return LogRankResult(statistic, dof, p_value, table)


def logrank_stratified(durations: Any, events: Any, groups: Any, strata: Any) -> LogRankResult:
    """Stratified log-rank test, as ``survdiff(Surv(t, e) ~ g + strata(s))``.

    Examples
    --------
    >>> res = logrank_stratified([1, 2, 3, 4], [1, 1, 1, 1], [0, 1, 0, 1], ["a", "a", "b", "b"])
    >>> res.dof
    1
    """
    return logrank(durations, events, groups, strata=strata)

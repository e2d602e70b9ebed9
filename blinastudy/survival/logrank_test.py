"""Log-rank test for two or more groups, plain or stratified, as R ``survdiff``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

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
        Degrees of freedom (rank of the variance matrix, groups - 1 usually).
    p_value : float
        Upper-tail chi-square probability.
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
    order = np.argsort(t, kind="stable")
    t, e, g = t[order], e[order], g[order]
    times, start = np.unique(t, return_index=True)
    m = times.size
    # per time x group: number at risk (T >= t) and deaths
    counts = np.zeros((m, k))
    deaths = np.zeros((m, k))
    idx = np.searchsorted(times, t)
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
    del start
    return observed, expected, var


def logrank(durations: Any, events: Any, groups: Any, *, strata: Any = None) -> LogRankResult:
    """Log-rank test of equal survival across groups, as ``survdiff(Surv(t, e) ~ g)``.

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
        Bad times or events, missing group labels, or a single group.

    Examples
    --------
    >>> res = logrank([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 0, 1], [0, 0, 0, 1, 1, 1])
    >>> round(res.statistic, 4), res.dof
    (5.0517, 1)
    """
    t = as_durations(durations)
    e = as_events(events, n=t.size)
    labels = as_groups(groups, t.size)
    levels, g = np.unique(
        labels.astype(str) if labels.dtype == object else labels, return_inverse=True
    )
    if levels.size < 2:
        from blinastudy.errors import InputError

        raise InputError(
            f"groups has a single value ({describe_value(levels[0])}); at least two are needed"
        )
    k = int(levels.size)
    if strata is None:
        s = np.zeros(t.size, dtype=np.int64)
    else:
        _, s = np.unique(as_groups(strata, t.size, name="strata").astype(str), return_inverse=True)
    obs = np.zeros(k)
    exp = np.zeros(k)
    var = np.zeros((k, k))
    for level in np.unique(s):
        sel = s == level
        o_, e_, v_ = _observed_expected(t[sel], e[sel], g[sel].astype(np.int64), k)
        obs += o_
        exp += e_
        var += v_
    diff = obs - exp
    sub = var[:-1, :-1]
    dof = int(np.linalg.matrix_rank(sub)) if sub.size else 0
    statistic = float(diff[:-1] @ np.linalg.pinv(sub) @ diff[:-1]) if dof > 0 else 0.0
    p_value = float(stats.chi2.sf(statistic, dof)) if dof > 0 else float("nan")
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

"""Log-rank test for two or more groups, plain or stratified, as R ``survdiff``.

Follows ``survdiff`` of survival 3.5-3 with ``rho = 0``, including its
``timefix = TRUE`` default (near-equal times tied, see
:mod:`~blinastudy.stats.survival.timefix`) and its handling of groups with no expected
events.

With delayed entry or counting-process rows (``entry=``, a group that may change
over a patient's rows: a time-dependent exposure) it is the Mantel-Byar test,
the score test of ``coxph(Surv(entry, time, event) ~ group)`` (Efron ties, as
``summary(fit)$sctest``), which ``survdiff`` does not compute.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from blinastudy.core.errors import InputError
from blinastudy.core.validate import FloatArray, as_durations, as_events, as_groups, describe_value
from blinastudy.stats.survival.coxph import _prepare
from blinastudy.stats.survival.tdc import as_intervals
from blinastudy.stats.survival.timefix import timefix

__all__ = ["LogRankResult", "logrank", "logrank_stratified"]


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
    t: FloatArray,
    e: npt.NDArray[np.int64],
    g: npt.NDArray[np.int64],
    k: int,
    s: npt.NDArray[np.int64] | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Observed, expected and variance matrix summed over the strata ``s`` (vectorised
    over strata and times: one row per distinct (stratum, time))."""
    strata = np.zeros(t.size, dtype=np.int64) if s is None else s
    order = np.lexsort((t, strata))
    ts, ss = t[order], strata[order]
    new = np.ones(t.size, dtype=bool)
    new[1:] = (ts[1:] != ts[:-1]) | (ss[1:] != ss[:-1])
    row = np.cumsum(new) - 1  # (stratum, time) row of each patient, in sorted order
    m = int(row[-1]) + 1 if t.size else 0
    # per (stratum, time) x group: number at risk (T >= t within the stratum) and deaths
    counts = np.zeros((m, k))
    deaths = np.zeros((m, k))
    np.add.at(counts, (row, g[order]), 1.0)
    np.add.at(deaths, (row, g[order]), e[order].astype(float))
    stratum_of_row = ss[new]
    # the first row of the next stratum: at risk = reverse sum up to it
    next_first = np.searchsorted(stratum_of_row, stratum_of_row, side="right")
    tail = np.vstack([np.cumsum(counts[::-1], axis=0)[::-1], np.zeros((1, k))])
    at_risk = tail[:-1] - tail[next_first]
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


def _mantel_byar(
    start: FloatArray,
    stop: FloatArray,
    e: npt.NDArray[np.int64],
    g: npt.NDArray[np.intp],
    k: int,
    s: npt.NDArray[np.int64],
) -> tuple[float, int, FloatArray, FloatArray]:
    """Score test at beta = 0 of a Cox model on the group indicators (Efron ties).

    Returns the statistic, its degrees of freedom (the rank of the information
    of the non-reference indicators), and observed and expected events per
    group, expected being observed minus the score of the group's indicator
    (so ``O - E`` are the score components; without ties, the usual sums of
    ``d n_g / n`` over the event times).
    """
    onehot = np.zeros((stop.size, k))
    onehot[np.arange(stop.size), g] = 1.0
    ev = np.asarray(e, dtype=np.float64)
    risk = _prepare(onehot, stop, ev, np.ones(stop.size), s, "efron", start)
    at_zero = risk.evaluate(np.zeros(k))
    observed = np.bincount(g, weights=ev, minlength=k).astype(np.float64)
    expected = observed - at_zero.score
    u = at_zero.score[1:]
    info = at_zero.info[1:, 1:]
    dof = int(np.linalg.matrix_rank(info)) if info.size else 0
    if dof == 0:
        return 0.0, 0, observed, expected
    return float(u @ np.linalg.pinv(info) @ u), dof, observed, expected


def logrank(
    durations: Any, events: Any, groups: Any, *, entry: Any = None, strata: Any = None
) -> LogRankResult:
    """Log-rank test of equal survival across groups, as ``survdiff(Surv(t, e) ~ g)``.

    Follows ``survdiff`` (survival 3.5-3, ``rho = 0``): near-equal times are tied
    first (``timefix``); groups whose expected number of events is 0 (everyone
    censored before the first event) are left out of the statistic; the degrees
    of freedom are the number of groups left minus 1; with fewer than two groups
    left the statistic is 0 on 0 degrees of freedom, with p-value 1 (R's
    ``pchisq(0, 0, lower.tail = FALSE)``). Without any event R reports -1
    degrees of freedom and p-value ``NA``; so does this function (``NaN``).

    With ``entry`` (delayed entry, or the ``(start, stop]`` rows of a
    time-dependent exposure from :func:`~blinastudy.stats.survival.tdc.split_at`,
    where ``groups`` may differ between a patient's rows) it is the Mantel-Byar
    test: the score test of ``coxph(Surv(entry, durations, events) ~
    factor(groups))`` with Efron ties, ``summary(fit)$sctest`` (statistic,
    df, p). A row is at risk at ``t`` when ``entry < t <= durations``. The
    degrees of freedom are the rank of the information of the group
    indicators (groups minus 1 unless a group is never at risk at an event);
    the table's ``n`` counts rows and ``expected`` is observed minus the score
    of each group's indicator. Without any event the statistic and p-value
    are ``NaN`` on 0 degrees of freedom.

    Parameters
    ----------
    durations : array-like of float
        Follow-up times (exit times with ``entry``).
    events : array-like of 0/1
        Event indicators.
    groups : array-like
        Group label per patient or row (two or more distinct values).
    entry : array-like of float, optional
        Entry times, ``0 <= entry < durations``: the Mantel-Byar test.
    strata : array-like, optional
        Stratum label per patient; observed, expected and variance are summed
        over strata, as ``survdiff(... + strata(s))``.

    Returns
    -------
    LogRankResult

    Raises
    ------
    InputError
        Bad times or events, an entry time not before its exit time (naming
        the patient or entry), missing group labels, a single group, or a
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

    Mantel-Byar: the second patient is exposed from time 2 on (two rows); by hand
    O - E = 1 - (1/3 + 1/2 + 1), V = 2/9 + 1/4, statistic 25/17.

    >>> mb = logrank([2, 2, 5, 3, 4], [0, 0, 1, 1, 1], [0, 0, 1, 0, 0], entry=[0, 0, 2, 0, 0])
    >>> round(mb.statistic, 4), mb.dof
    (1.4706, 1)
    """
    if entry is None:
        t = as_durations(durations)
        start = None
    else:
        start, t = as_intervals(entry, durations, names=("entry", "durations"))
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
    if start is not None:
        counts = np.bincount(g, minlength=k)
        if e.sum() == 0:
            statistic, dof = math.nan, 0
            obs = exp = np.zeros(k)
        else:
            statistic, dof, obs, exp = _mantel_byar(
                start, t, e, g.astype(np.intp), k, np.asarray(s, dtype=np.int64)
            )
        p_value = float(stats.chi2.sf(statistic, dof)) if dof > 0 else math.nan
        table = pd.DataFrame(
            {"n": counts, "observed": obs, "expected": exp}, index=pd.Index(levels, name="group")
        )
        return LogRankResult(statistic, dof, p_value, table)
    (t,) = timefix(t)
    obs, exp, var = _observed_expected(t, e, g.astype(np.int64), k, np.asarray(s, dtype=np.int64))
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

"""Maximally selected log-rank statistic for a cut-point of a continuous marker, as R ``maxstat``.

:func:`cutpoint` reproduces ``maxstat::maxstat.test(Surv(time, event) ~ x,
data, smethod = "LogRank", pmethod = "Lau92", minprop, maxprop)`` (maxstat
0.7-25, functions ``cmaxstat`` and ``pLausen92``; the scores are
``exactRankTests::cscores.Surv``, exactRankTests 0.8-35):

* **Log-rank scores.** Patients are ordered by time (R's stable ``order``);
  ``r_i`` is the number of patients whose time is at most ``t_i``
  (exactRankTests' integer rank ``irank``: tied times all get the *largest*
  rank of their group). With ``f_j = event_j / (N - r_j + 1)``, the score is
  ``a_i = event_i - sum of f_j over patients j with t_j <= t_i``. Without ties
  this is the usual ``event - Nelson-Aalen cumulative hazard``; with ``d``
  tied deaths among ``n`` at risk each adds ``1 / (n - d + 1)``, not ``1 / n``
  (maxstat's convention, kept as it is). Times are compared exactly: no
  ``timefix`` (``Surv`` alone does not apply it).
* **Candidates.** The marker is sorted (stably); a cut-point ``c`` splits the
  patients into ``x <= c`` and ``x > c``. ``m``, the number of patients below
  a distinct value, runs over the first positions of the distinct values, and
  only ``max(1, floor(N minprop)) <= m <= floor(N maxprop)`` are kept; the
  cut-point of ``m`` is the largest value among the ``m`` lowest. With
  ``minprop = 0`` and ``maxprop = 1`` maxstat keeps the distinct values but the
  first and the *last two* (its ``m[2:(length(m) - 1)]``), and so does this.
* **Statistic.** For each candidate, with ``S`` the sum of all scores,
  ``E = m S / N``, ``V = m (N - m) / (N^2 (N - 1)) (N sum(a^2) - S^2)`` and the
  standardised statistic ``|sum of the m lowest scores - E| / sqrt(V)``; the
  maximum over candidates is reported, with the first candidate reaching it as
  the estimated cut-point. Sums are accumulated beyond double precision, as
  R's ``sum`` and ``cumsum``.
* **p-value** (Lausen & Schumacher 1992, ``pLausen92``): 1 when the statistic
  ``b < 1``, else ``max(0, 4 phi(b) / b + phi(b) (b - 1 / b) log(maxprop (1 -
  minprop) / ((1 - maxprop) minprop)))``, ``phi`` the standard normal density.
  The approximation exceeds 1 for small statistics with wide bounds (and is
  infinite with ``minprop = 0`` or ``maxprop = 1``); R returns it as it is.
  ``p_value`` is capped at 1; ``p_value_lau92`` is R's value.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from blinastudy.core.errors import InputError
from blinastudy.core.validate import (
    FloatArray,
    IntArray,
    as_durations,
    as_events,
    as_numbers,
    describe_entries,
    describe_value,
)

__all__ = ["CutpointResult", "cutpoint", "logrank_scores", "p_lausen92"]


#: Whether numpy's long double is wider than a double (80-bit on x86), as R's accumulators.
_EXTENDED = bool(np.finfo(np.longdouble).nmant > np.finfo(np.float64).nmant)


@dataclass(frozen=True)
class CutpointResult:
    """A maximally selected log-rank statistic and its cut-point.

    Attributes
    ----------
    cutpoint : float
        Estimated cut-point: patients with ``x <= cutpoint`` form the lower group
        (R's ``estimate``).
    statistic : float
        Maximum standardised log-rank statistic ``M`` (R's ``statistic``).
    p_value : float
        Lausen-Schumacher (1992) approximate p-value, capped at 1.
    p_value_lau92 : float
        The same approximation as R returns it (may exceed 1, or be infinite
        with ``minprop = 0`` or ``maxprop = 1``).
    n : int
        Number of patients.
    n_below : int
        Patients with ``x <= cutpoint``.
    minprop, maxprop : float
        The bounds used.
    statistics : pandas.Series
        Standardised statistic per candidate cut-point (R's ``stats``, indexed
        by ``cuts``).
    """

    cutpoint: float
    statistic: float
    p_value: float
    p_value_lau92: float
    n: int
    n_below: int
    minprop: float
    maxprop: float
    statistics: pd.Series = field(repr=False)


def _cumsum(values: FloatArray) -> FloatArray:
    """R's ``cumsum``: accumulated in long double, each partial sum stored as a double."""
    if _EXTENDED:
        return np.asarray(np.cumsum(values, dtype=np.longdouble), dtype=np.float64)
    out = np.empty(values.size)
    acc: list[float] = []
    for i, v in enumerate(values.tolist()):
        acc.append(v)
        out[i] = math.fsum(acc)
    return out


def _sum(values: FloatArray) -> float:
    """R's ``sum``: accumulated beyond double precision, then rounded."""
    if _EXTENDED:
        return float(np.sum(values, dtype=np.longdouble))
    return math.fsum(values.tolist())


def logrank_scores(durations: Any, events: Any) -> FloatArray:
    """Log-rank scores of ``exactRankTests::cscores(Surv(time, event), "LogRank")``.

    ``a_i = event_i - sum_{j: t_j <= t_i} event_j / (N - r_j + 1)`` with ``r_j``
    the number of patients whose time is at most ``t_j`` (the largest rank of
    a tie). Times are compared exactly.

    Parameters
    ----------
    durations : array-like of float
        Follow-up times.
    events : array-like of 0/1
        Event indicators.

    Returns
    -------
    numpy.ndarray
        One score per patient, in input order.

    Examples
    --------
    >>> logrank_scores([1, 2, 3], [1, 1, 0]).round(6).tolist()
    [0.666667, 0.166667, -0.833333]

    Two tied deaths among three at risk each add 1 / (3 - 2 + 1):

    >>> logrank_scores([1, 1, 2], [1, 1, 0]).tolist()
    [0.0, 0.0, -1.0]
    """
    t = as_durations(durations)
    e = as_events(events, n=t.size).astype(np.float64)
    n = t.size
    order = np.argsort(t, kind="stable")
    # r_i: number of times <= t_i
    rank = np.searchsorted(t[order], t, side="right")
    fact = e / (n - rank + 1)
    cum = _cumsum(fact[order])
    return np.asarray(e - cum[rank - 1], dtype=np.float64)


def p_lausen92(statistic: float, minprop: float = 0.1, maxprop: float = 0.9) -> float:
    """Lausen and Schumacher's (1992) approximate p-value, as ``maxstat:::pLausen92``.

    1 when ``statistic < 1``; otherwise ``max(0, 4 phi(b) / b + phi(b) (b - 1/b)
    log(maxprop (1 - minprop) / ((1 - maxprop) minprop)))``. Not capped at 1.

    Examples
    --------
    >>> round(p_lausen92(3.0), 6)
    0.057844
    >>> p_lausen92(0.5)
    1.0
    """
    b = float(statistic)
    if b < 1:
        return 1.0
    db = float(stats.norm.pdf(b))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.float64(maxprop * (1 - minprop)) / np.float64((1 - maxprop) * minprop)
        p = 4 * db / b + db * (b - 1 / b) * float(np.log(ratio))
    return max(p, 0.0) if not math.isnan(p) else p


def _proportion(value: Any, name: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not 0.0 <= float(value) <= 1.0
    ):
        raise InputError(f"{name} must be a proportion in [0, 1]; got {describe_value(value)}")
    return float(value)


def _marker(values: Any, n: int) -> FloatArray:
    labels = list(values.index) if isinstance(values, pd.Series) else None
    x = as_numbers(values, "values")
    if x.ndim != 1 or x.size != n:
        raise InputError(f"values has {x.size} entries but durations has {n}")
    bad = ~np.isfinite(x)
    if bad.any():
        raise InputError(
            f"values has missing or infinite entries at {describe_entries(x, bad, labels)}; "
            "leave those patients out first (R's maxstat.test drops them by na.omit)"
        )
    return np.asarray(x, dtype=np.float64)


def _candidates(first: IntArray, n: int, minprop: float, maxprop: float) -> IntArray:
    """maxstat's candidate group sizes ``m`` from the first positions of distinct values."""
    if minprop == 0 and maxprop == 1:
        if first.size < 3:
            raise InputError(
                "with minprop = 0 and maxprop = 1 maxstat needs at least three distinct values"
            )
        return first[1:-1]
    lo = math.floor(n * minprop)
    hi = math.floor(n * maxprop)
    # (maxstat also stops with "maxprop too small" when every m > floor(N maxprop), which
    # cannot happen: the first distinct value always gives m = 0)
    if np.all(first < lo):
        raise InputError(f"minprop = {minprop:g} is too large: no cut-point leaves that many below")
    m = first[(first >= max(1, lo)) & (first <= hi)]
    if m.size < 1:
        raise InputError(
            f"no cut-point puts between {minprop:g} and {maxprop:g} of the {n} patients "
            "in the lower group"
        )
    return m


def cutpoint(
    durations: Any,
    events: Any,
    values: Any,
    *,
    minprop: float = 0.1,
    maxprop: float = 0.9,
) -> CutpointResult:
    """Maximally selected log-rank cut-point of a marker, as ``maxstat.test(..., "LogRank", "Lau92")``.

    Equal to ``maxstat::maxstat.test(Surv(time, event) ~ x, data, smethod =
    "LogRank", pmethod = "Lau92", minprop = minprop, maxprop = maxprop)``: the
    candidates, scores, standardisation and p-value are spelt out in the
    module docstring. A cut-point chosen this way is optimistic: report the
    p-value of the maximal statistic (this one), never a plain log-rank p-value
    of the chosen split.

    Parameters
    ----------
    durations : array-like of float
        Follow-up times.
    events : array-like of 0/1
        Event indicators.
    values : array-like of float
        The marker, one finite value per patient (leave out patients with a
        missing value first, as R's ``na.omit`` does).
    minprop, maxprop : float, default 0.1 and 0.9
        Smallest and largest proportion of patients in the lower group.

    Returns
    -------
    CutpointResult

    Raises
    ------
    InputError
        Bad times or events, missing or non-numeric values, proportions outside
        [0, 1], no candidate within the bounds (R stops too), or log-rank scores
        that do not vary (no events, or every event at one time with no
        censoring), where the statistic is undefined.

    Examples
    --------
    >>> res = cutpoint([2, 4, 6, 8, 10, 12, 14, 16], [1, 1, 1, 1, 0, 1, 0, 1],
    ...                [9, 8, 7, 6, 4, 3, 2, 1], minprop=0.25, maxprop=0.75)
    >>> res.cutpoint, round(res.statistic, 4), round(res.p_value, 4)
    (4.0, 2.3647, 0.1451)
    """
    t = as_durations(durations)
    e = as_events(events, n=t.size)
    x = _marker(values, t.size)
    lo_prop = _proportion(minprop, "minprop")
    hi_prop = _proportion(maxprop, "maxprop")
    n = t.size
    if n < 2:
        raise InputError("a cut-point needs at least two patients")
    scores = logrank_scores(t, e)
    order = np.argsort(x, kind="stable")
    y = scores[order]
    xs = x[order]
    first = np.flatnonzero(np.r_[True, xs[1:] != xs[:-1]]).astype(np.int64)
    m = _candidates(first, n, lo_prop, hi_prop)
    total = _sum(y)
    mf = m.astype(np.float64)
    expected = mf / n * total
    variance = (
        (m * (n - m)).astype(np.float64) / (float(n) ** 2 * (n - 1)) * (n * _sum(y**2) - total**2)
    )
    if not np.all(variance > 0):
        raise InputError(
            "the log-rank scores do not vary (no events, or every patient has the event at "
            "the same time): the maximally selected statistic is undefined"
        )
    test = np.abs((_cumsum(y)[m - 1] - expected) / np.sqrt(variance))
    best = int(np.argmax(test))
    statistic = float(test[best])
    p_raw = p_lausen92(statistic, lo_prop, hi_prop)
    cuts = xs[m - 1]
    return CutpointResult(
        cutpoint=float(cuts[best]),
        statistic=statistic,
        p_value=min(p_raw, 1.0),
        p_value_lau92=p_raw,
        n=n,
        n_below=int(m[best]),
        minprop=lo_prop,
        maxprop=hi_prop,
        statistics=pd.Series(test, index=pd.Index(cuts, name="cutpoint"), name="statistic"),
    )

"""Cumulative incidence under competing risks and Gray's test, as R ``cmprsk::cuminc``.

Follows cmprsk 2.2-11: the Aalen-Johansen estimate and its variance as the
Fortran routine ``cinc``, and Gray's (1988) k-sample test as ``crstm``. Events
are coded 0 for censored and 1, 2, ... for the causes. Unlike ``survfit``,
``cuminc`` does not tie near-equal times (no ``aeqSurv``), and neither does this
module: times are compared exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from blinastudy.core.errors import InputError
from blinastudy.core.validate import (
    FloatArray,
    IntArray,
    as_durations,
    as_groups,
    describe_entries,
    describe_value,
)
from blinastudy.stats.survival.coxph import independent_columns
from blinastudy.stats.survival.km import _z

__all__ = [
    "CUMINC_COLUMNS",
    "GrayTest",
    "as_causes",
    "as_times",
    "cumulative_incidence",
    "distinct_times",
    "gray_test",
    "incidence_at_replicates",
    "require_cause",
]


#: Columns of the :func:`cumulative_incidence` table.
CUMINC_COLUMNS = [
    "time",
    "n_at_risk",
    "n_events",
    "n_competing",
    "n_censored",
    "incidence",
    "variance",
    "ci_lower",
    "ci_upper",
]


# ---------------------------------------------------------------------------
# validation


def _numeric_values(values: Any) -> FloatArray | None:
    """``values`` as floats when they are a plain numeric (or boolean) vector, else ``None``."""
    if isinstance(values, pd.Series):
        if not (
            pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype)
        ):
            return None
        return np.asarray(values.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
    arr = np.asarray(values) if isinstance(values, np.ndarray) else None
    if arr is None or arr.dtype.kind not in "biuf":
        return None
    return np.asarray(arr, dtype=np.float64)


def as_times(values: Any, name: str = "durations") -> FloatArray:
    """Follow-up times as :func:`~blinastudy.core.validate.as_durations` checks them.

    A clean numeric Series is checked as an array, so the list of patient
    labels is built only when a value is bad and the message names it.

    Examples
    --------
    >>> as_times(pd.Series([1, 2.5], index=["P1", "P2"])).tolist()
    [1.0, 2.5]
    """
    arr = _numeric_values(values) if isinstance(values, pd.Series) else None
    if arr is not None:
        try:
            return as_durations(arr, name)
        except InputError:
            pass
    return as_durations(values, name)


def as_causes(values: Any, n: int | None = None, name: str = "events") -> IntArray:
    """Event codes as integers: 0 for censored, 1, 2, ... for the causes.

    Entries that are missing, not numbers, negative or not whole numbers are
    named (the patient's index label for a Series, else ``entry N`` counted
    from 1).

    Examples
    --------
    >>> as_causes([0, 1, 2.0]).tolist()
    [0, 1, 2]
    >>> as_causes([0, 1, -1])
    Traceback (most recent call last):
    ...
    blinastudy.core.errors.InputError: events must be 0 (censored) or a cause 1, 2, ...; not at entry 3 (-1)
    """
    numbers = _numeric_values(values)
    arr: npt.NDArray[Any] | None = None
    if numbers is None:
        raw = values.to_numpy(dtype=object) if isinstance(values, pd.Series) else values
        arr = np.asarray(raw, dtype=object)
        if arr.ndim != 1:
            raise InputError(f"{name} must be one-dimensional, got {arr.ndim} dimensions")
        numbers = pd.to_numeric(pd.Series(arr), errors="coerce").to_numpy(dtype=float)
        is_bool = np.array([isinstance(v, (bool, np.bool_)) for v in arr], dtype=bool)
        numbers[is_bool] = arr[is_bool].astype(float)
    if numbers.ndim != 1:
        raise InputError(f"{name} must be one-dimensional, got {numbers.ndim} dimensions")
    if numbers.size == 0:
        raise InputError(f"{name} is empty")
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(numbers) | (numbers < 0) | (numbers != np.floor(numbers))
    if bad.any():
        shown = numbers if arr is None else np.where(np.isnan(numbers), arr, numbers)
        labels = list(values.index) if isinstance(values, pd.Series) else None
        raise InputError(
            f"{name} must be 0 (censored) or a cause 1, 2, ...; not at "
            f"{describe_entries(shown, bad, labels)}"
        )
    if n is not None and numbers.size != n:
        raise InputError(f"{name} has {numbers.size} values but durations has {n}")
    return np.asarray(numbers.astype(np.int64), dtype=np.int64)


def distinct_times(t: FloatArray) -> tuple[FloatArray, npt.NDArray[np.intp]]:
    """Sorted distinct times and each row's position among them (``np.unique``'s inverse).

    Hashes first, so heavily tied registry times (a few hundred distinct
    values among 100,000 rows) are not sorted row by row.

    Examples
    --------
    >>> times, where = distinct_times(np.array([3.0, 1.0, 3.0, 2.0]))
    >>> times.tolist(), where.tolist()
    ([1.0, 2.0, 3.0], [2, 0, 2, 1])
    """
    codes, uniques = pd.factorize(t + 0.0)  # + 0.0: -0.0 becomes 0.0
    if 4 * uniques.size > t.size:
        times, inverse = np.unique(t + 0.0, return_inverse=True)
        return np.asarray(times, dtype=np.float64), np.asarray(inverse, dtype=np.intp)
    order = np.argsort(uniques, kind="stable")
    rank = np.empty(order.size, dtype=np.intp)
    rank[order] = np.arange(order.size)
    return np.asarray(uniques[order], dtype=np.float64), rank[codes]


def require_cause(cause: Any, codes: IntArray) -> int:
    """Check that ``cause`` is a positive whole number that occurs among the event codes.

    Examples
    --------
    >>> require_cause(2, np.array([0, 1, 2]))
    2
    >>> require_cause(3, np.array([0, 1, 2, 2]))
    Traceback (most recent call last):
    ...
    blinastudy.core.errors.InputError: cause 3 never occurs in events; the causes present are 1, 2
    """
    ok = isinstance(cause, (int, np.integer, float, np.floating)) and not isinstance(
        cause, (bool, np.bool_)
    )
    if not ok or not np.isfinite(float(cause)) or float(cause) != int(cause) or int(cause) < 1:
        raise InputError(
            f"cause must be a whole number 1, 2, ... (0 means censored); got {describe_value(cause)}"
        )
    if codes.max() <= 10_000:
        present = np.flatnonzero(np.bincount(codes)[1:]) + 1
    else:  # a few large codes: no table of counts as long as the largest
        present = np.unique(codes[codes > 0])
    if int(cause) not in set(present.tolist()):
        listed = ", ".join(str(int(c)) for c in present) if present.size else "none"
        raise InputError(
            f"cause {int(cause)} never occurs in events; the causes present are {listed}"
        )
    return int(cause)


# ---------------------------------------------------------------------------
# cumulative incidence


def _loglog_band(
    incidence: FloatArray, variance: FloatArray, z: float
) -> tuple[FloatArray, FloatArray]:
    """Pointwise limits on the log(-log) scale: ``F ** exp(+-z sd / (F |log F|))``.

    The limits of tidycmprsk's ``tidy(cuminc(...), conf.int = TRUE)``. Where
    ``F`` is 0 (before the first event of the cause) both limits are 0; where
    ``F`` is 1 both are 1 (R evaluates ``1 ^ x`` as 1); a variance rounded
    below zero counts as 0.
    """
    f = incidence
    sd = np.sqrt(np.maximum(variance, 0.0))
    inner = (f > 0) & (f < 1)
    safe = np.where(inner, f, 0.5)
    with np.errstate(over="ignore"):
        s = sd / (safe * np.abs(np.log(safe)))
        lower = np.where(inner, safe ** np.exp(z * s), f)
        upper = np.where(inner, safe ** np.exp(-z * s), f)
    return np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)


def _cinc(
    at_risk: FloatArray, d_cause: FloatArray, d_other: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Aalen-Johansen incidence and ``cinc``'s variance at each distinct time (ascending).

    ``cinc`` carries the overall Kaplan-Meier ``S(t-)`` and three running sums;
    its variance is recorded only where the cause has an event, so between two
    events of the cause it keeps the value of the earlier one (0 before the
    first), although the competing events in between enter the running sums.
    """
    rs = at_risk
    nd = d_cause + d_other
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(nd > 0, (rs - nd) / rs, 1.0)
        after = np.cumprod(factor)  # S(t)
        before = np.concatenate([[1.0], after[:-1]])  # S(t-)
        incidence = np.cumsum(np.where(d_cause > 0, before * d_cause / rs, 0.0))
        inv_after = np.where(after > 0, 1.0 / after, 0.0)
        # competing events (skipped where S(t) = 0)
        other = (d_other > 0) & (after > 0)
        t5 = np.where(d_other > 1, 1.0 - (d_other - 1.0) / (rs - 1.0), 1.0)
        t6 = np.where(other, before * before * t5 * d_other / (rs * rs), 0.0)
        t4 = incidence * inv_after
        v1 = t4 * t4 * t6
        v2 = inv_after * t4 * t6
        v3 = inv_after * inv_after * t6
        # events of the cause
        own = d_cause > 0
        t5 = np.where(d_cause > 1, 1.0 - (d_cause - 1.0) / (rs - 1.0), 1.0)
        t6 = np.where(own, before * before * t5 * d_cause / (rs * rs), 0.0)
        t4 = 1.0 + inv_after * incidence
        v1 = np.cumsum(v1 + t4 * t4 * t6)
        v2 = np.cumsum(v2 + inv_after * t4 * t6)
        v3 = np.cumsum(v3 + inv_after * inv_after * t6)
    recorded = v1 + incidence * incidence * v3 - 2.0 * incidence * v2
    last = np.maximum.accumulate(np.where(own, np.arange(rs.size), -1))
    variance = np.where(last >= 0, recorded[np.maximum(last, 0)], 0.0)
    return np.asarray(incidence, dtype=np.float64), np.asarray(variance, dtype=np.float64)


def cumulative_incidence(
    durations: Any, events: Any, *, cause: int = 1, conf_level: float = 0.95
) -> pd.DataFrame:
    """Cumulative incidence of one cause under competing risks, as ``cmprsk::cuminc``.

    ``incidence`` is the Aalen-Johansen estimate and ``variance`` its variance,
    equal to ``cuminc(ftime, fstatus, cencode = 0)`` (its ``est`` and ``var``,
    read at each time as ``timepoints`` reads them: the value of the step
    function at that time, right-continuous). ``cuminc``'s variance changes
    only at times with an event of the cause, and so does this column.

    Parameters
    ----------
    durations : array-like of float
        Follow-up times (>= 0, finite). Times are compared exactly: ``cuminc``
        does not tie near-equal times as ``survfit`` does.
    events : array-like of int
        0 where the time is censored, else the cause of the event (1, 2, ...).
    cause : int, default 1
        The cause whose incidence is estimated; the other causes compete.
    conf_level : float, default 0.95
        Level of the pointwise interval, on the log(-log) scale as tidycmprsk:
        with ``s = sqrt(variance) / (F |log F|)``, ``F ** exp(z s)`` to
        ``F ** exp(-z s)``. Where ``F`` is 0 (before the first event of the
        cause) both limits are 0, where ``F`` is 1 both are 1.

    Returns
    -------
    pandas.DataFrame
        One row per distinct observed time, ascending, columns
        :data:`CUMINC_COLUMNS`: ``time, n_at_risk`` (number with ``T >= t``),
        ``n_events`` (events of the cause at ``t``), ``n_competing`` (events
        of other causes), ``n_censored``, ``incidence, variance, ci_lower,
        ci_upper``. ``attrs`` holds ``cause``, ``n`` and ``conf_level``.

    Raises
    ------
    InputError
        Negative, missing or non-numeric times; event codes that are negative,
        missing or not whole numbers; lengths that differ; a ``cause`` that
        never occurs; a bad ``conf_level``.

    Examples
    --------
    Relapse (1) and death in remission (2); F jumps by S(t-) d / n at each relapse:

    >>> ci = cumulative_incidence([1, 2, 3, 4], [1, 2, 1, 0])
    >>> ci["incidence"].tolist()
    [0.25, 0.25, 0.5, 0.5]
    >>> ci["n_competing"].tolist()
    [0, 1, 0, 0]
    """
    t = as_times(durations)
    codes = as_causes(events, n=t.size)
    k = require_cause(cause, codes)
    z = _z(conf_level)
    times, inverse = distinct_times(t)
    m = times.size

    def count(mask: npt.NDArray[np.bool_]) -> FloatArray:
        return np.asarray(np.bincount(inverse, weights=mask, minlength=m), dtype=np.float64)

    d_cause = count(codes == k)
    d_other = count((codes > 0) & (codes != k))
    censored = count(codes == 0)
    at_risk = np.cumsum(np.bincount(inverse, minlength=m)[::-1])[::-1].astype(np.float64)
    incidence, variance = _cinc(at_risk, d_cause, d_other)
    lower, upper = _loglog_band(incidence, variance, z)
    table = pd.DataFrame(
        {
            "time": times,
            "n_at_risk": at_risk.astype(np.int64),
            "n_events": d_cause.astype(np.int64),
            "n_competing": d_other.astype(np.int64),
            "n_censored": censored.astype(np.int64),
            "incidence": incidence,
            "variance": variance,
            "ci_lower": lower,
            "ci_upper": upper,
        },
        columns=CUMINC_COLUMNS,
    )
    table.attrs.update({"cause": k, "n": int(t.size), "conf_level": float(conf_level)})
    return table


# ---------------------------------------------------------------------------
# Gray's test


@dataclass(frozen=True)
class GrayTest:
    """Gray's test that the cumulative incidence of a cause is the same in all groups.

    Attributes
    ----------
    statistic : float
        Chi-square statistic ``s' V^-1 s`` (``cuminc``'s ``stat``); ``NaN`` when
        the variance matrix is singular, where ``cuminc`` reports -1.
    dof : int
        Degrees of freedom: the number of groups minus 1.
    p_value : float
        Upper-tail chi-square probability (``NaN`` with the statistic; R's
        ``1 - pchisq`` rounds values below about 1e-16 to 0, this is exact).
    cause : int
        The cause tested.
    groups : tuple of str
        The groups in ``cuminc``'s order (the factor levels that occur).
    n_strata : int
        Number of strata the scores and variances were summed over.
    rho : float
        Power of the weight ``(1 - F(t-))^rho`` (``cuminc``'s default 0).
    note : str
        Why the statistic is ``NaN``, or ``""``.
    """

    statistic: float
    dof: int
    p_value: float
    cause: int
    groups: tuple[str, ...]
    n_strata: int
    rho: float = 0.0
    note: str = ""


def _group_codes(values: Any, n: int, name: str) -> tuple[list[Any], IntArray]:
    """Group labels as codes 0, 1, ... in R's ``as.factor`` order, with the levels.

    Levels are those that occur, sorted (a Categorical keeps its own order).
    Missing labels or a wrong length are reported by
    :func:`~blinastudy.core.validate.as_groups`.
    """
    raw = values.to_numpy() if isinstance(values, pd.Series) else np.asarray(values)
    if raw.ndim != 1 or raw.size != n or bool(pd.isna(raw).any()):
        raw = as_groups(values, n, name)  # raises, naming the entries
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy(dtype=np.int64)
        used = np.flatnonzero(np.bincount(codes, minlength=len(values.cat.categories)))
        levels = [values.cat.categories[int(i)] for i in used]
        remap = np.full(len(values.cat.categories), -1, dtype=np.int64)
        remap[used] = np.arange(used.size)
        return levels, np.asarray(remap[codes], dtype=np.int64)
    found, uniques = pd.factorize(raw)
    labels = list(uniques)
    try:
        order = sorted(range(len(labels)), key=lambda i: labels[i])
    except TypeError:
        order = sorted(range(len(labels)), key=lambda i: str(labels[i]))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return [labels[i] for i in order], np.asarray(rank[found], dtype=np.int64)


def _gray_stratum(
    inverse: npt.NDArray[np.intp], m: int, status: IntArray, g: IntArray, ng: int, rho: float
) -> tuple[FloatArray, FloatArray]:
    """Scores and variance matrix (all ``ng`` groups) of one stratum, as ``crst``.

    ``inverse`` places each row among ``m`` distinct times (ascending; times
    without rows in this stratum do no harm); ``status`` is 1 for the cause
    tested, 2 for another cause, 0 for censored. Every quantity of ``crst``'s
    loop over event times is computed for all event times at once; its
    running sums become cumulative sums.
    """
    cell = inverse * ng + g

    def table(mask: npt.NDArray[np.bool_] | None) -> FloatArray:
        w = None if mask is None else mask.astype(np.float64)
        return np.bincount(cell, weights=w, minlength=m * ng).reshape(m, ng).astype(np.float64)

    rs = np.cumsum(table(None)[::-1], axis=0)[::-1]
    d1 = table(status == 1)
    d2 = table(status == 2)
    keep = (d1 + d2).sum(axis=1) > 0
    if not keep.any():
        return np.zeros(ng), np.zeros((ng, ng))
    rs, d1, d2 = rs[keep], d1[keep], d2[keep]
    nd1 = d1.sum(axis=1)
    pos = rs > 0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        skm = np.cumprod(np.where(pos, (rs - d1 - d2) / rs, 1.0), axis=0)  # right-continuous
        skmm = np.vstack([np.ones((1, ng)), skm[:-1]])  # left-continuous
        f1 = np.cumsum(np.where(pos, skmm * d1 / rs, 0.0), axis=0)
        f1m = np.vstack([np.zeros((1, ng)), f1[:-1]])
        h = np.where(pos, rs / skmm, 0.0)  # Gray's h_r
        tr = h.sum(axis=1)
        tq = np.where(pos, rs * (1.0 - f1m) / skmm, 0.0).sum(axis=1)
        f = np.cumsum(nd1 / tr)  # pooled incidence, right-continuous
        fm = np.concatenate([[0.0], f[:-1]])
        fb = (1.0 - fm) ** rho
        a = fb[:, None, None] * (
            np.einsum("ti,ij->tij", h, np.eye(ng))
            - h[:, :, None] * h[:, None, :] / tr[:, None, None]
        )
        c = np.cumsum(
            np.where(nd1[:, None, None] > 0, a * (nd1 / (tr * (1.0 - fm)))[:, None, None], 0.0),
            axis=0,
        )
        score = np.where(
            pos, fb[:, None] * (d1 - nd1[:, None] * rs * (1.0 - f1m) / (skmm * tq[:, None])), 0.0
        ).sum(axis=0)
        # events of the cause
        own = pos & (nd1[:, None] > 0)
        t4 = np.where(skm > 0, 1.0 - (1.0 - f[:, None]) / skm, 1.0)
        t5 = np.where(
            nd1[:, None] > 1, 1.0 - (nd1[:, None] - 1.0) / (tr[:, None] * skmm - 1.0), 1.0
        )
        t3 = np.where(own, t5 * skmm * nd1[:, None] / (tr[:, None] * rs), 0.0)
        b = a - t4[:, None, :] * c
        v3 = (t4 * t4 * t3).sum(axis=0)
        v2 = np.einsum("tik,tk->ik", b, t4 * t3)
        v = np.einsum("tik,tjk,tk->ij", b, b, t3)
        # events of the other causes
        other = (skm > 0) & (d2 > 0)
        t4 = np.where(other, (1.0 - f[:, None]) / skm, 0.0)
        t5 = np.where(d2 > 1, 1.0 - (d2 - 1.0) / (rs - 1.0), 1.0)
        t3 = np.where(other, t5 * skmm * skmm * d2 / (rs * rs), 0.0)
        w = t4 * t4 * t3
        v3 = v3 + w.sum(axis=0)
        v2 = v2 - np.einsum("tik,tk->ik", c, w)
        v = v + np.einsum("tik,tjk,tk->ij", c, c, w)
    cf = c[-1]
    v = v + np.einsum("ik,jk,k->ij", cf, cf, v3) + cf @ v2.T + v2 @ cf.T
    return np.asarray(score, dtype=np.float64), np.asarray(v, dtype=np.float64)


def gray_test(
    durations: Any,
    events: Any,
    groups: Any,
    *,
    cause: int = 1,
    strata: Any = None,
    rho: float = 0.0,
) -> GrayTest:
    """Gray's test comparing the cumulative incidence of a cause across groups.

    Equal to ``cuminc(ftime, fstatus, group = groups, strata = strata, rho =
    rho, cencode = 0)$Tests`` for ``cause`` (cmprsk 2.2-11, routine
    ``crstm``): the scores of the first ``k - 1`` groups in ``cuminc``'s order
    (the sorted levels that occur, or a Categorical's own order) and their
    variance, summed over strata, give ``s' V^-1 s`` on ``k - 1`` degrees of
    freedom. The statistic does not depend on which group is left out. A
    singular variance (R's QR rank check, tolerance 1e-7) gives ``NaN``
    where ``cuminc`` reports -1.

    Parameters
    ----------
    durations : array-like of float
        Follow-up times (>= 0, finite), compared exactly (no tying of
        near-equal times).
    events : array-like of int
        0 where censored, else the cause of the event (1, 2, ...).
    groups : array-like
        Group of each patient (two or more groups).
    cause : int, default 1
        The cause tested; the other causes compete.
    strata : array-like, optional
        Stratum of each patient: scores and variances are summed over strata.
    rho : float, default 0
        Power of the weight ``(1 - F(t-))^rho`` (``cuminc``'s ``rho``).

    Returns
    -------
    GrayTest

    Raises
    ------
    InputError
        Bad times or event codes, lengths that differ, missing groups or
        strata, a single group, a ``cause`` that never occurs.

    Examples
    --------
    >>> res = gray_test([1, 2, 3, 4, 5, 6], [1, 1, 2, 0, 2, 1], ["a", "a", "a", "b", "b", "b"])
    >>> res.groups, res.dof, round(res.statistic, 4)
    (('a', 'b'), 1, 2.4381)
    """
    t = as_times(durations)
    n = t.size
    codes = as_causes(events, n=n)
    k = require_cause(cause, codes)
    levels, g = _group_codes(groups, n, "groups")
    if len(levels) < 2:
        raise InputError(
            f"groups has a single group ({describe_value(levels[0])}); "
            "Gray's test needs two or more"
        )
    if isinstance(rho, (bool, np.bool_)) or not isinstance(rho, (int, float, np.number)):
        raise InputError(f"rho must be a number, got {describe_value(rho)}")
    if strata is None:
        s = np.zeros(n, dtype=np.int64)
        n_strata = 1
    else:
        strata_levels, s = _group_codes(strata, n, "strata")
        n_strata = len(strata_levels)
    status = np.where(codes == k, 1, np.where(codes > 0, 2, 0)).astype(np.int64)
    times, inverse = distinct_times(t)
    ng = len(levels)
    score = np.zeros(ng)
    var = np.zeros((ng, ng))
    for stratum in range(n_strata):
        rows = slice(None) if n_strata == 1 else s == stratum
        sc, v = _gray_stratum(inverse[rows], times.size, status[rows], g[rows], ng, float(rho))
        score += sc
        var += v
    score, var = score[:-1], var[:-1, :-1]
    dof = ng - 1
    labels = tuple(str(lv) for lv in levels)
    if not np.all(np.isfinite(var)) or len(independent_columns(var)) < dof:
        return GrayTest(
            float("nan"),
            dof,
            float("nan"),
            k,
            labels,
            n_strata,
            float(rho),
            "singular variance matrix (R's cuminc reports a statistic of -1)",
        )
    statistic = float(score @ np.linalg.solve(var, score))
    p_value = float(stats.chi2.sf(statistic, dof))
    return GrayTest(statistic, dof, p_value, k, labels, n_strata, float(rho))


def incidence_at_replicates(
    durations: Any, events: Any, counts: Any, time: float, *, cause: int = 1
) -> FloatArray:
    """Cumulative incidence of ``cause`` at ``time`` for many frequency-weighted copies.

    Row ``b`` of ``counts`` says how often each patient appears in copy ``b`` (a
    bootstrap replicate); the result is the Aalen-Johansen estimate
    :func:`cumulative_incidence` gives at ``time`` on the sample with rows repeated
    that often, for every copy at once. ``NaN`` where ``time`` lies beyond a copy's
    last observed time.

    Examples
    --------
    >>> import numpy as np
    >>> t, e = [1.0, 2.0, 3.0, 4.0], [1, 2, 1, 0]
    >>> out = incidence_at_replicates(t, e, np.array([[1, 1, 1, 1], [2, 0, 1, 1]]), 3.0)
    >>> float(out[0]) == float(cumulative_incidence(t, e).set_index("time").loc[3.0, "incidence"])
    True
    >>> round(float(out[1]), 4)  # rows 1, 1, 3, 4: 2/4, then 1/2 x (1 - 2/4)
    0.75
    """
    t = as_times(durations)
    codes = as_causes(events, n=t.size)
    w = np.atleast_2d(np.asarray(counts, dtype=float))
    if w.shape[1] != t.size:
        raise InputError(f"counts has {w.shape[1]} columns but durations has {t.size} values")
    grid = np.unique(t[(codes > 0) & (t <= time)])  # event times (any cause) up to time
    at_risk = (t[:, None] >= grid[None, :]).astype(float)
    at_time = t[:, None] == grid[None, :]
    n = w @ at_risk
    d_all = w @ (at_time & (codes[:, None] > 0)).astype(float)
    d_cause = w @ (at_time & (codes[:, None] == cause)).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        hazard_all = np.where(n > 0, d_all / n, 0.0)
        hazard_cause = np.where(n > 0, d_cause / n, 0.0)
    surv_before = np.cumprod(np.hstack([np.ones((w.shape[0], 1)), 1 - hazard_all]), axis=1)
    incidence = np.sum(surv_before[:, :-1] * hazard_cause, axis=1)
    last = np.max(np.where(w > 0, t[None, :], -np.inf), axis=1)
    return np.asarray(np.where(time > last, np.nan, incidence), dtype=np.float64)

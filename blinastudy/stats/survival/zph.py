"""Test of proportional hazards, as R's ``cox.zph`` (survival 3.5-3).

``cox.zph`` of survival 3.x is a score test: the Cox model is extended by
``x * g(t)`` for a function ``g`` of time (the ``transform``), and the score
for those extra coefficients at the fitted ``beta`` (and 0 for the extras) is
tested against its information (``zph1.c``, ``zph2.c`` for ``(start, stop]``
rows). With ``terms = TRUE`` (R's default) the columns of one categorical
covariate form one term with as many degrees of freedom as it has columns;
``GLOBAL`` tests all columns together. The information is the model-based one
whatever the fit's variance: a ``cluster`` (robust) fit gives the same test.

The scaled Schoenfeld residuals of :func:`ph_residuals` are those ``cox.zph``
returns for its residual plot (``plot(cox.zph(fit))``): a smooth of them
against the transformed time estimates ``beta(t)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypedDict, Unpack

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from blinastudy.core.errors import InputError
from blinastudy.core.validate import (
    FloatArray,
    as_durations,
    as_events,
    as_weights,
    describe_value,
    require_columns,
    require_frame,
)
from blinastudy.stats.survival.coxph import (
    Ties,
    _design,
    _frame_fit,
    _labels_of,
    _prepare,
    _Risk,
    _term_moments,
    _terms,
)
from blinastudy.stats.survival.km import kaplan_meier
from blinastudy.stats.survival.tdc import as_intervals
from blinastudy.stats.survival.timefix import timefix

__all__ = [
    "PH_COLUMNS",
    "Transform",
    "ZphOptions",
    "ZphResult",
    "cox_zph",
    "ph_residuals",
    "ph_test",
]

Transform = Literal["km", "identity", "rank", "log"]
_TRANSFORMS = ("km", "identity", "rank", "log")
#: Columns of the :func:`ph_test` table.
PH_COLUMNS = ["chisq", "df", "p_value"]


class ZphOptions(TypedDict, total=False):
    """Keyword arguments of :func:`ph_test` and :func:`ph_residuals` (as :func:`cox_zph`)."""

    transform: Transform
    cluster: str | None
    start: str | None
    weights: str | None
    strata: str | None
    reference: Mapping[str, Any] | None
    ties: Ties


@dataclass(frozen=True)
class ZphResult:
    """What R's ``cox.zph`` returns, for one Cox model.

    Attributes
    ----------
    table : pandas.DataFrame
        The tests per term and ``GLOBAL`` (``chisq, df, p_value``), as :func:`ph_test`.
    residuals : pandas.DataFrame
        The scaled Schoenfeld residuals, as :func:`ph_residuals`.
    coef : dict of str to float
        The model's coefficient per design column (the level a residual plot's
        ``beta(t)`` is compared with).
    """

    table: pd.DataFrame
    residuals: pd.DataFrame
    coef: dict[str, float]


def _transform(
    name: str, t: FloatArray, e: npt.NDArray[np.int64], start: FloatArray | None
) -> FloatArray:
    """``cox.zph``'s ``g(t)`` at every row's (stop) time, before centring."""
    if name == "identity":
        return t.copy()
    if name == "rank":
        return np.asarray(stats.rankdata(t, method="average"), dtype=np.float64)
    if name == "log":
        if np.any(t <= 0):
            raise InputError("transform 'log' needs positive times")
        return np.asarray(np.log(t), dtype=np.float64)
    # "km": 1 - S(t-), the left-continuous Kaplan-Meier of all rows, unweighted
    km = kaplan_meier(t, e, entry=start)
    times = km["time"].to_numpy(dtype=float)
    surv = np.concatenate([[1.0], km["survival"].to_numpy(dtype=float)])
    before = np.searchsorted(times, t, side="left")  # number of curve times < t
    return np.asarray(1.0 - surv[before], dtype=np.float64)


def _event_order(
    t: FloatArray, s: npt.NDArray[np.int64], e: npt.NDArray[np.int64], counting: bool
) -> npt.NDArray[np.intp]:
    """Rows with an event in ``cox.zph``'s output order.

    Stratum, then time ascending; tied times in data order for right-censored
    data (``order(istrat, time)``), in reverse data order for ``(start, stop]``
    rows (``rev(order(-istrat, -stop))``).
    """
    idx = np.arange(t.size)
    order = np.lexsort((-idx if counting else idx, t, s))
    return np.asarray(order[e[order] == 1], dtype=np.intp)


def _extended_score(
    r: _Risk, mu: FloatArray, cov: FloatArray, g_all: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Score of the ``x g(t)`` coefficients and the information of the extended model.

    At the fitted beta and 0 for the extra coefficients, as ``zph1.c`` /
    ``zph2.c``: per Efron term, ``g`` at the term's event time weights the
    risk-set mean and covariance of ``x``. Returns the ``p`` scores and the
    ``2p x 2p`` information (blocks ``I``, ``I g``, ``I g^2``).
    """
    g_rows = g_all[r.order]
    g_term = g_rows[r.block_end - 1][r.jl_block]
    tw = r.term_wt
    dead = r.event > 0
    u2 = (r.wt[dead, None] * g_rows[dead, None] * r.x[dead]).sum(axis=0) - (
        (tw * g_term)[:, None] * mu
    ).sum(axis=0)
    i11 = np.einsum("t,tab->ab", tw, cov)
    i12 = np.einsum("t,tab->ab", tw * g_term, cov)
    i22 = np.einsum("t,tab->ab", tw * g_term * g_term, cov)
    return np.asarray(u2, dtype=np.float64), np.block([[i11, i12], [i12.T, i22]])


def _term_tests(
    u2: FloatArray, imat: FloatArray, groups: list[npt.NDArray[np.intp]], names: list[str]
) -> pd.DataFrame:
    """``cox.zph``'s table: each term's columns, then all (GLOBAL), with the score of
    the fitted coefficients set to 0 (its value at the estimate)."""
    p = u2.size
    u = np.concatenate([np.zeros(p), u2])
    chisq, dof = [], []
    for cols in [*groups, np.arange(p)]:
        kk = np.concatenate([np.arange(p), cols + p])
        sub = u[kk]
        try:
            chisq.append(float(sub @ np.linalg.solve(imat[np.ix_(kk, kk)], sub)))
        except np.linalg.LinAlgError:
            raise InputError(
                "no test of proportional hazards: the information matrix of the extended "
                "model is singular (R's cox.zph stops here too)"
            ) from None
        dof.append(int(cols.size))
    return pd.DataFrame(
        {"chisq": chisq, "df": dof, "p_value": stats.chi2.sf(chisq, dof)},
        index=pd.Index([*names, "GLOBAL"], name="term"),
    )


def _scaled_schoenfeld(
    r: _Risk,
    mu: FloatArray,
    x: FloatArray,
    beta: FloatArray,
    groups: list[npt.NDArray[np.intp]],
    names: list[str],
    s: npt.NDArray[np.int64],
    e: npt.NDArray[np.int64],
    t: FloatArray,
    i11: FloatArray,
    *,
    counting: bool,
) -> pd.DataFrame:
    """``cox.zph``'s ``$y``: Schoenfeld residuals scaled by the mean information, plus beta.

    Indexed by row position (of the input), in ``cox.zph``'s order of events.
    """
    p = beta.size
    nb = r.d.size
    # per block: the mean over its Efron terms of the risk-set mean (zph's "mean of means")
    mbar = np.zeros((nb, p))
    np.add.at(mbar, r.jl_block, mu)
    mbar /= r.d[:, None]
    schoen = np.zeros((t.size, p))
    dead_sorted = r.death_rows
    original = r.order[dead_sorted]
    schoen[original] = r.x[dead_sorted] - mbar[r.death_block]
    rows = _event_order(t, s, e, counting)
    resid = schoen[rows]
    # used[stratum, column]: events of the stratum when the column varies within it
    strata = np.unique(s)
    used = np.zeros((strata.size, p))
    for i, level in enumerate(strata):
        mine = s == level
        varies = (x[mine] != x[mine][0]).any(axis=0)
        used[i] = np.where(varies, e[mine].sum(), 0)
    wtmat = np.zeros((p, p))
    for row in used:
        wtmat += np.minimum.outer(row, row)
    vmean = i11 / np.where(wtmat == 0, 1.0, wtmat)
    nterm = len(groups)
    if any(cols.size > 1 for cols in groups):
        # a term of several columns: the residual of its linear predictor x beta
        temp = np.zeros((p, nterm))
        for k, cols in enumerate(groups):
            temp[cols, k] = 1.0 if cols.size == 1 else beta[cols]
        resid = resid @ temp
        vmean = temp.T @ vmean @ temp
        used = used[:, [int(cols[0]) for cols in groups]]
    stratum_of = s[rows]
    for i, level in enumerate(strata):
        live = np.flatnonzero(used[i] > 0)
        mine = np.flatnonzero(stratum_of == level)
        if live.size == 0 or mine.size == 0:
            continue
        block = np.asarray(resid[np.ix_(mine, live)], dtype=np.float64)
        scale = np.asarray(vmean[np.ix_(live, live)], dtype=np.float64)
        resid[np.ix_(mine, live)] = np.linalg.solve(scale, block.T).T
        other = np.setdiff1d(np.arange(nterm), live)
        resid[np.ix_(mine, other)] = np.nan
    for k, cols in enumerate(groups):
        resid[:, k] += beta[cols[0]] if cols.size == 1 else 1.0
    out = pd.DataFrame(resid, columns=names, index=pd.Index(rows))
    out.insert(0, "time", t[rows])
    return out


def cox_zph(
    frame: pd.DataFrame,
    duration: str,
    event: str,
    covariates: Sequence[str],
    *,
    transform: Transform = "km",
    cluster: str | None = None,
    start: str | None = None,
    weights: str | None = None,
    strata: str | None = None,
    reference: Mapping[str, Any] | None = None,
    ties: Ties = "efron",
) -> ZphResult:
    """The test, the residuals and the coefficients of ``cox.zph`` in one fit.

    :func:`ph_test` and :func:`ph_residuals` each return one part; this returns
    all of them from one Cox fit (arguments as :func:`ph_test`).

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6, 7, 8], "e": [1, 1, 0, 1, 1, 1, 0, 1],
    ...                   "arm": [0, 1, 0, 1, 1, 0, 0, 1]})
    >>> z = cox_zph(f, "t", "e", ["arm"], transform="identity")
    >>> list(z.table.index), list(z.coef), len(z.residuals)
    (['arm', 'GLOBAL'], ['arm'], 6)
    """
    frame = require_frame(frame)
    if transform not in _TRANSFORMS:
        raise InputError(
            f"transform must be one of {', '.join(_TRANSFORMS)}; got {describe_value(transform)}"
        )
    cols = [duration, event, *covariates]
    cols += [c for c in (cluster, start, weights, strata) if c is not None]
    require_columns(frame, cols)
    design, _ = _design(frame, covariates, reference)
    widths = [
        1 if levels is None else len(levels) - 1
        for _, levels in _terms(frame, covariates, reference)
    ]
    fit = _frame_fit(
        frame,
        design,
        duration,
        event,
        weights=weights,
        cluster=cluster,
        strata=strata,
        start=start,
        ties=ties,
        profile=False,
    )
    if fit.method not in ("ml", "ml-robust"):
        why = fit.note or "the likelihood is monotone (an infinite hazard ratio; Firth's fit)"
        raise InputError(f"no test of proportional hazards: the Cox model is not estimable ({why})")
    # the same data as the fit: times tied as aeqSurv, R's strata
    if start is None:
        st = None
        (t,) = timefix(as_durations(frame[duration]))
    else:
        st, t = as_intervals(frame[start], frame[duration], names=("start", "durations"))
    n = t.size
    e = as_events(frame[event], n=n)
    wt = np.ones(n) if weights is None else as_weights(frame[weights], n, allow_zero=False)
    if strata is None:
        s = np.zeros(n, dtype=np.int64)
    else:
        _, inv = np.unique(_labels_of(frame[strata], n, "strata").astype(str), return_inverse=True)
        s = np.asarray(inv, dtype=np.int64).ravel()
    # aliased columns (R's NA coefficients) leave the model and their terms with them
    term_of = np.repeat(np.arange(len(widths)), widths)
    keep = np.flatnonzero(fit.estimable)
    x = design.to_numpy(dtype=float)[:, keep]
    beta = fit.coef[keep]
    names = [covariates[i] for i in dict.fromkeys(term_of[keep].tolist())]
    groups = [
        np.flatnonzero(term_of[keep] == term) for term in dict.fromkeys(term_of[keep].tolist())
    ]
    p = keep.size
    # g(t), centred on its mean over the events
    g_raw = _transform(transform, t, e, st)
    g_all = g_raw - g_raw[e == 1].mean()
    if np.unique(g_all[e == 1]).size < 2:
        raise InputError(
            "no test of proportional hazards: all events happen at one time, so the "
            "hazard ratio cannot change over time (R's cox.zph stops: singular system)"
        )
    r = _prepare(x - x.mean(axis=0), t, e.astype(np.float64), wt, s, ties, st)
    mom = _term_moments(r, beta)
    u2, imat = _extended_score(r, mom.mu, mom.cov, g_all)
    table = _term_tests(u2, imat, groups, names)
    table.attrs["transform"] = transform
    i11 = imat[:p, :p]
    residuals = _scaled_schoenfeld(
        r, mom.mu, x, beta, groups, names, s, e, t, i11, counting=st is not None
    )
    rows = residuals.index.to_numpy()
    # the plot's x axis is g(t) before centring, as cox.zph's $x
    residuals.insert(1, "transformed", g_raw[rows])
    if strata is not None:
        residuals["stratum"] = frame[strata].to_numpy()[rows]
    residuals.index = frame.index[rows]
    coef = {str(name): float(c) for name, c in zip(design.columns, fit.coef, strict=True)}
    return ZphResult(table, residuals, coef)


def ph_test(
    frame: pd.DataFrame,
    duration: str,
    event: str,
    covariates: Sequence[str],
    **options: Unpack[ZphOptions],
) -> pd.DataFrame:
    """Test of proportional hazards per term and globally, as R's ``cox.zph``.

    Equal to ``cox.zph(coxph(Surv(duration, event) ~ covariates), transform =
    transform)`` of survival 3.5-3 (``terms = TRUE``, ``global = TRUE``), also
    for ``(start, stop]`` rows (``start=``), case weights and strata. The Cox
    model is the one :func:`~blinastudy.stats.survival.coxph.cox` fits (Efron ties
    by default, categorical covariates against their reference level).

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per patient, or per ``(start, stop]`` interval with ``start``.
    duration, event : str
        Columns of the follow-up (stop) time and the 0/1 event indicator.
    covariates : sequence of str
        Covariate columns; the indicator columns of a categorical covariate are
        tested together as one term (df = number of columns).
    transform : {"km", "identity", "rank", "log"}, default "km"
        ``g(t)``: ``1 - S(t-)`` of the (delayed-entry) Kaplan-Meier of all rows,
        the time itself, its rank among all rows' times (ties averaged), or
        its logarithm.
    cluster : str, optional
        Cluster column (``coxph(..., cluster = id)``). ``cox.zph`` uses the
        model-based information whatever the fit's variance, so the result is
        the same as without it; it is checked like :func:`cox` checks it.
    start : str, optional
        Start times of counting-process rows (``Surv(start, duration, event)``).
    weights : str, optional
        Case weights (``coxph(..., weights = w)``).
    strata : str, optional
        Stratum column (``strata()``).
    reference : mapping of str to level, optional
        Reference level per categorical covariate.
    ties : {"efron", "breslow"}, default "efron"
        Tie handling of the model.

    Returns
    -------
    pandas.DataFrame
        Indexed by term (the covariate names, then ``GLOBAL``), columns
        :data:`PH_COLUMNS`: ``chisq, df, p_value``; ``attrs["transform"]``.

    Raises
    ------
    InputError
        Bad columns or values (as :func:`cox`), an unknown ``transform``, or a
        model that is not estimable (no events, an infinite hazard ratio).

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6, 7, 8], "e": [1, 1, 0, 1, 1, 1, 0, 1],
    ...                   "arm": [0, 1, 0, 1, 1, 0, 0, 1]})
    >>> tab = ph_test(f, "t", "e", ["arm"], transform="identity")
    >>> list(tab.index), int(tab.loc["GLOBAL", "df"])
    (['arm', 'GLOBAL'], 1)
    >>> bool(tab.loc["arm", "chisq"] == tab.loc["GLOBAL", "chisq"])
    True
    """
    return cox_zph(frame, duration, event, covariates, **options).table


def ph_residuals(
    frame: pd.DataFrame,
    duration: str,
    event: str,
    covariates: Sequence[str],
    **options: Unpack[ZphOptions],
) -> pd.DataFrame:
    """Scaled Schoenfeld residuals for a proportional-hazards plot, as ``cox.zph``.

    The ``$y``, ``$x`` and ``$time`` of ``cox.zph`` (arguments as
    :func:`ph_test`): one row per event, ordered by stratum and time (tied
    times in data order; in reverse data order for ``(start, stop]`` rows, as
    R). Plotted against ``transformed`` with a smooth, a term's residuals
    estimate its coefficient over time, ``beta(t)``; a flat line is
    proportional hazards. For a categorical covariate (several columns) the
    residual is that of its linear predictor, whose coefficient is 1.

    Parameters
    ----------
    frame, duration, event, covariates, transform, cluster, start, weights, strata, reference, ties
        As :func:`ph_test`.

    Returns
    -------
    pandas.DataFrame
        Indexed by the event rows' index labels; columns ``time`` (the event
        time), ``transformed`` (``g(time)``, R's ``$x``), one column per term
        (R's ``$y``) and ``stratum`` with ``strata``. A term that is constant
        within a stratum is ``NaN`` there, as R.

    Raises
    ------
    InputError
        As :func:`ph_test` (R's ``cox.zph`` computes the test first as well).

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6, 7, 8], "e": [1, 1, 0, 1, 1, 1, 0, 1],
    ...                   "arm": [0, 1, 0, 1, 1, 0, 0, 1]})
    >>> res = ph_residuals(f, "t", "e", ["arm"], transform="identity")
    >>> list(res.columns), res["time"].tolist()
    (['time', 'transformed', 'arm'], [1.0, 2.0, 4.0, 5.0, 6.0, 8.0])
    """
    return cox_zph(frame, duration, event, covariates, **options).residuals

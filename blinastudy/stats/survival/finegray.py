"""Fine-Gray regression on the subdistribution hazard, as R ``cmprsk::crr``.

Follows cmprsk 2.2-11 (``crr`` and its Fortran routines ``crrfsv``, ``crrf``
and ``crrvv``), with one censoring group and no time-varying covariates:

* Risk sets at an event time ``s`` of the cause: everyone with ``T >= s``, plus
  those who had a competing event at ``t < s``, weighted ``G(s-) / G(t-)``,
  with ``G`` the Kaplan-Meier estimate of the censoring distribution (computed
  by ``crr`` through ``survfit``, so on times tied by ``aeqSurv``, and read
  just before each time). Times are otherwise compared exactly.
* Newton-Raphson from 0 exactly as ``crr``: at most 10 iterations, stopping
  when ``max |score| max(|b|, 1) < max(|loglik|, 1) 1e-6``, with step halving
  (at most 20 times) until the pseudo log-likelihood rises by 1e-4 of the
  predicted change. Coefficients are those of ``crr``, not iterated further.
* The variance is ``crr``'s sandwich ``I^-1 (sum_i (eta_i + psi_i)^2) I^-1``,
  whose ``psi_i`` accounts for the estimated censoring distribution. All of
  ``crrvv``'s nested loops become cumulative sums over time, so a fit costs
  O(n p^2) per iteration instead of ``crrvv``'s O(n^2). One deliberate
  difference: ``crrvv`` squares the number at risk at each censoring time in
  32-bit integer arithmetic, which overflows once more than 46,340 patients
  are at risk (and divides by zero at exactly 65,536); here the square is
  exact. Below that size the two agree to rounding; on the 110,000-patient
  cohort of ``benchmarks/bench_cmprsk.py`` ``crr``'s standard error is 4e-7
  (relative) off, and replaying the overflow gives the same difference.

Where ``crr`` would return a meaningless number the whole fit is "not
estimable" (``NaN``, with the reason in ``attrs["note"]``), detected as follows:

* a two-valued design column (a binary covariate or a level's indicator) one
  of whose values has no events of the cause (the pseudo-likelihood is
  monotone: the ratio is 0 or infinite), checked on the data before fitting;
* a covariate without information (a singular information matrix at 0);
* ``crr``'s iterations not converging (10 steps, or 20 halvings of a step);
* a diverging estimate: from ``crr``'s last iterate, Newton's method is
  continued (up to 30 steps); a finite maximum is reached in a step or two,
  while along a monotone direction each step moves the coefficients by about
  one unit of the covariate's range. More than 4 units (or more than 1 after
  30 steps) without a negligible step is divergence. ``crr`` calls some of
  these fits converged (its stopping rule scales with the log-likelihood);
* a sandwich variance of 0 (every score residual 0, e.g. all events of the
  cause in one risk set).

Design columns that are constant or combinations of others (R's ``NA``) are
not estimable on their own; the model is fitted without them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import special

from blinastudy.core.validate import (
    FloatArray,
    IntArray,
    describe_value,
    require_columns,
    require_conf_level,
    require_frame,
)
from blinastudy.stats.survival.coxph import _design, independent_columns
from blinastudy.stats.survival.cuminc import as_causes, as_times, require_cause
from blinastudy.stats.survival.timefix import timefix

__all__ = ["FINE_GRAY_COLUMNS", "fine_gray"]


#: Columns of the :func:`fine_gray` table.
FINE_GRAY_COLUMNS = ["shr", "ci_lower", "ci_upper", "se", "p_value", "method", "reference"]

_GTOL = 1e-6  # crr(gtol)
_MAXITER = 10  # crr(maxiter)
_MAX_HALVINGS = 20
_DOUBLE_EPS = float(np.finfo(float).eps)
#: Newton iterations past crr's stop that decide whether an estimate diverges.
_EXTRA_ITER = 30
#: Units of a covariate's range a diverging coefficient moves before it is called infinite.
_DRIFT = 4.0


def _censoring_before(t: FloatArray, censored: npt.NDArray[np.bool_]) -> FloatArray:
    """``G(t_i-)``: the censoring distribution's Kaplan-Meier estimate just before each time.

    As ``crr``: ``survfit(Surv(ftime, cenind) ~ 1)`` (so on times tied by
    ``aeqSurv``) read by ``approx(method = "constant", f = 0)`` at
    ``ftime * (1 - 100 eps)``, 1 before the first knot.
    """
    (tied,) = timefix(t)
    knots, inverse = np.unique(tied, return_inverse=True)
    m = knots.size
    at_risk = np.cumsum(np.bincount(inverse, minlength=m)[::-1])[::-1].astype(np.float64)
    lost = np.bincount(inverse, weights=censored.astype(np.float64), minlength=m)
    surv = np.cumprod((at_risk - lost) / at_risk)
    grid = np.concatenate([[min(0.0, knots[0]) - 10 * _DOUBLE_EPS], knots])
    values = np.concatenate([[1.0], surv])
    where = np.searchsorted(grid, t * (1 - 100 * _DOUBLE_EPS), side="right") - 1
    return np.asarray(values[np.clip(where, 0, m)], dtype=np.float64)


@dataclass
class _RiskSets:
    """Data sorted by time, with what the weighted risk sets of the cause's event times need."""

    x: FloatArray  # n x p, centred, sorted by time
    time: FloatArray
    status: IntArray  # 1 the cause, 2 another cause, 0 censored
    g_before: FloatArray  # G(t_i-)
    fail_times: FloatArray  # distinct event times of the cause, ascending
    d: FloatArray  # events of the cause at each of them
    first: IntArray  # first row with T >= that time
    g_fail: FloatArray  # G(s-) at each of them
    competing_weight: FloatArray  # 1 / G(t_i-) for competing events, else 0
    fail_rows: npt.NDArray[np.bool_]

    @classmethod
    def build(cls, x: FloatArray, t: FloatArray, status: IntArray) -> _RiskSets:
        order = np.argsort(t, kind="stable")
        xs, ts, ss = x[order], t[order], status[order]
        g_before = _censoring_before(ts, ss == 0)
        fail_times, d = np.unique(ts[ss == 1], return_counts=True)
        first = np.searchsorted(ts, fail_times, side="left").astype(np.int64)
        with np.errstate(divide="ignore"):
            weight = np.where(ss == 2, 1.0 / g_before, 0.0)
        return cls(
            x=xs,
            time=ts,
            status=ss,
            g_before=g_before,
            fail_times=fail_times,
            d=d.astype(np.float64),
            first=first,
            g_fail=g_before[first],
            competing_weight=weight,
            fail_rows=ss == 1,
        )

    def weights(self, b: FloatArray) -> tuple[FloatArray, float]:
        """``exp(x b - shift)`` per row and the shift (the largest ``x b``)."""
        eta = self.x @ b
        shift = float(eta.max())
        return np.exp(eta - shift), shift

    def sums(self, values: FloatArray) -> FloatArray:
        """Weighted risk-set sums of the columns of ``values`` at each event time of the cause.

        Everyone with ``T >= s`` counts in full; a competing event at ``t < s``
        counts ``G(s-) / G(t-)``.
        """
        later = np.cumsum(values[::-1], axis=0)[::-1]
        earlier = np.vstack(
            [
                np.zeros((1, values.shape[1])),
                np.cumsum(values * self.competing_weight[:, None], axis=0),
            ]
        )
        return np.asarray(
            later[self.first] + self.g_fail[:, None] * earlier[self.first], dtype=np.float64
        )

    def loglik(self, b: FloatArray) -> float:
        """Minus the log pseudo-likelihood (``crrf``); ``inf`` where a risk set underflows."""
        with np.errstate(divide="ignore", under="ignore", over="ignore", invalid="ignore"):
            r, shift = self.weights(b)
            s0 = self.sums(r[:, None])[:, 0]
            eta = self.x[self.fail_rows] @ b - shift
            value = float(np.sum(self.d * np.log(s0)) - np.sum(eta))
        return value if np.isfinite(value) else float("inf")

    def evaluate(self, b: FloatArray) -> _Evaluation:
        """Minus the log pseudo-likelihood, its gradient and Hessian (``crrfsv``)."""
        n, p = self.x.shape
        with np.errstate(divide="ignore", under="ignore", over="ignore", invalid="ignore"):
            r, shift = self.weights(b)
            outer = (self.x[:, :, None] * self.x[:, None, :]).reshape(n, p * p)
            s = self.sums(r[:, None] * np.hstack([np.ones((n, 1)), self.x, outer]))
            s0 = s[:, 0]
            xbar = s[:, 1 : 1 + p] / s0[:, None]
            second = s[:, 1 + p :].reshape(-1, p, p) / s0[:, None, None]
            eta = self.x[self.fail_rows] @ b - shift
            lik = float(np.sum(self.d * np.log(s0)) - np.sum(eta))
            grad = self.d @ xbar - self.x[self.fail_rows].sum(axis=0)
            hess = np.einsum("k,kab->ab", self.d, second - xbar[:, :, None] * xbar[:, None, :])
        return _Evaluation(lik if np.isfinite(lik) else float("inf"), grad, hess, r, s0, xbar)


@dataclass
class _Evaluation:
    lik: float  # minus the log pseudo-likelihood
    grad: FloatArray  # its gradient (minus the score)
    hess: FloatArray  # its Hessian (the information)
    r: FloatArray  # exp(x b - shift) per sorted row
    s0: FloatArray  # risk-set sums of r at the cause's event times
    xbar: FloatArray  # weighted risk-set means of x there


def _sandwich_middle(rs: _RiskSets, ev: _Evaluation) -> FloatArray:
    """``sum_i (eta_i + psi_i)(eta_i + psi_i)'``: the middle of ``crrvv``'s sandwich.

    ``eta_i`` is subject i's score residual against the weighted risk sets;
    ``psi_i`` is its term for the estimated censoring distribution: at each
    censoring time ``u``, ``q(u) / Y(u)`` times the censoring martingale
    increment, with ``q(u) = sum over the cause's events at s >= u of G(s-) / S0(s)
    times the weighted sum, over competing events before u, of x - xbar(s)``.
    """
    x, t, status, r = rs.x, rs.time, rs.status, ev.r
    s0, xbar, d, gf = ev.s0, ev.xbar, rs.d, rs.g_fail
    zero = np.zeros((1, x.shape[1]))
    # eta: hazard increments of the cause up to each row's time ...
    c0 = np.concatenate([[0.0], np.cumsum(d / s0)])
    c1 = np.vstack([zero, np.cumsum((d / s0)[:, None] * xbar, axis=0)])
    upto = np.searchsorted(rs.fail_times, t, side="right")  # cause's event times <= t_i
    resid = -r[:, None] * (x * c0[upto][:, None] - c1[upto])
    own = status == 1
    resid[own] += x[own] - xbar[upto[own] - 1]
    # ... and, for competing events, the IPCW-weighted increments after it
    e0 = np.concatenate([[0.0], np.cumsum(d * gf / s0)])
    e1 = np.vstack([zero, np.cumsum((d * gf / s0)[:, None] * xbar, axis=0)])
    comp = status == 2
    after0 = e0[-1] - e0[upto[comp]]
    after1 = e1[-1] - e1[upto[comp]]
    resid[comp] -= (r[comp] / rs.g_before[comp])[:, None] * (x[comp] * after0[:, None] - after1)
    # psi: the censoring martingale terms
    cens_times, n_cens = np.unique(t[status == 0], return_counts=True)
    if cens_times.size:
        lo = np.searchsorted(t, cens_times, side="left")
        y = (t.size - lo).astype(np.float64)  # number with T >= u
        cw = (r * rs.competing_weight)[:, None]
        a0 = np.concatenate([[0.0], np.cumsum(cw[:, 0])])[lo]
        a1 = np.vstack([zero, np.cumsum(cw * x, axis=0)])[lo]
        k = np.searchsorted(rs.fail_times, cens_times, side="left")  # cause's events at s >= u
        b0 = (e0[-1] - e0)[k]
        b1 = (e1[-1] - e1)[k]
        q = a1 * b0[:, None] - a0[:, None] * b1
        drift = np.vstack([zero, np.cumsum(q * (n_cens / y**2)[:, None], axis=0)])
        upto_u = np.searchsorted(cens_times, t, side="right")
        resid -= drift[upto_u]
        mine = np.flatnonzero(status == 0)
        at = upto_u[mine] - 1
        resid[mine] += q[at] / y[at][:, None]
    return np.asarray(resid.T @ resid, dtype=np.float64)


@dataclass
class _Newton:
    b: FloatArray
    ev: _Evaluation
    converged: bool
    iterations: int
    reason: str


def _crr_newton(rs: _RiskSets, p: int) -> _Newton:
    """``crr``'s Newton-Raphson from 0 with its stopping rule and step halving."""
    b = np.zeros(p)
    reason = ""
    for it in range(_MAXITER + 1):
        ev = rs.evaluate(b)
        if np.max(np.abs(ev.grad) * np.maximum(np.abs(b), 1.0)) < max(abs(ev.lik), 1.0) * _GTOL:
            return _Newton(b, ev, True, it, "")
        if it == _MAXITER:
            reason = f"crr's Newton iterations did not converge in {_MAXITER} steps"
            break
        try:
            step = -np.linalg.solve(ev.hess, ev.grad)
        except np.linalg.LinAlgError:
            reason = "singular information matrix"
            break
        bound = ev.lik + 1e-4 * float(step @ ev.grad)
        trial = b + step
        halvings = 0
        while not rs.loglik(trial) <= bound:
            halvings += 1
            step = step * 0.5
            bound = ev.lik + 1e-4 * float(step @ ev.grad)
            trial = b + step
            if halvings > _MAX_HALVINGS:
                break
        if halvings > _MAX_HALVINGS:
            reason = "crr's step halving failed to increase the pseudo-likelihood"
            break
        b = trial
    return _Newton(b, ev, False, it, reason)


def _keeps_moving(rs: _RiskSets, start: FloatArray, spread: FloatArray) -> bool:
    """Whether Newton's method, continued past ``crr``'s stop, drifts away (an infinite estimate).

    A finite maximum is reached in a few steps, after which the step is
    negligible; along a monotone direction every step moves the coefficients
    by about one unit of the covariate's range, without end. Diverging: a
    move of more than :data:`_DRIFT` units before any negligible step (checked
    early, before the pseudo-likelihood is flat to rounding and the steps are
    noise), or of more than one unit in :data:`_EXTRA_ITER` steps.
    """
    b = start.copy()
    for _ in range(_EXTRA_ITER):
        ev = rs.evaluate(b)
        try:
            step = -np.linalg.solve(ev.hess, ev.grad)
        except np.linalg.LinAlgError:
            return True
        if not np.all(np.isfinite(step)):
            return True
        if np.max(np.abs(step) * spread) < 1e-9:
            return False
        for _ in range(_MAX_HALVINGS + 1):
            if rs.loglik(b + step) <= ev.lik:
                break
            step = step * 0.5
        b = b + step
        if np.max(np.abs(b - start) * spread) > _DRIFT:
            return True
    return bool(np.max(np.abs(b - start) * spread) > 1.0)


@dataclass
class _Fit:
    coef: FloatArray
    se: FloatArray
    estimable: npt.NDArray[np.bool_]
    loglik: float
    loglik_null: float
    converged: bool
    iterations: int
    note: str


def _monotone_level(x: FloatArray, status: IntArray, names: Sequence[str]) -> str:
    """Why the pseudo-likelihood is monotone in a two-valued column, or ``""``.

    A column with two values, one of which has no events of the cause or all of
    them: the subdistribution hazard ratio is 0 or infinite.
    """
    fail = status == 1
    for j, name in enumerate(names):
        values = np.unique(x[:, j])
        if values.size != 2:
            continue
        events = [int(np.sum(fail & (x[:, j] == v))) for v in values]
        for v, count in zip(values, events, strict=True):
            if count == 0:
                return (
                    f"no events of the cause where {name} = {describe_value(v)}: "
                    "the pseudo-likelihood is monotone (an infinite subdistribution hazard ratio)"
                )
    return ""


def _fit(x: FloatArray, t: FloatArray, status: IntArray, names: Sequence[str]) -> _Fit:
    """Fit on the columns that are not aliased; the others are not estimable."""
    p = x.shape[1]
    nan = np.full(p, np.nan)
    xc = x - x.mean(axis=0)
    keep = independent_columns(xc)
    estimable = np.zeros(p, dtype=bool)
    estimable[keep] = True

    def failed(note: str, ll_null: float = float("nan")) -> _Fit:
        return _Fit(nan, nan, np.zeros(p, dtype=bool), float("nan"), ll_null, False, 0, note)

    if not keep:
        return failed("no covariate varies")
    xk = xc[:, keep]
    kept_names = [names[j] for j in keep]
    rs = _RiskSets.build(xk, t, status)
    ll_null = -rs.loglik(np.zeros(len(keep)))
    note = _monotone_level(x[:, keep], status, kept_names)
    if note:
        return failed(note, ll_null)
    info0 = rs.evaluate(np.zeros(len(keep))).hess
    if not np.all(np.isfinite(info0)) or len(independent_columns(info0)) < len(keep):
        return failed("a covariate has no information (constant within the risk sets)", ll_null)
    newton = _crr_newton(rs, len(keep))
    if _keeps_moving(rs, newton.b, np.ptp(xk, axis=0)):
        return failed(
            "the estimate diverges (monotone pseudo-likelihood: an infinite "
            "subdistribution hazard ratio)",
            ll_null,
        )
    if not newton.converged:
        return failed(newton.reason, ll_null)
    info = newton.ev.hess
    try:
        inv = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        return failed("singular information matrix", ll_null)
    var = inv @ _sandwich_middle(rs, newton.ev) @ inv.T
    diag = np.diag(var)
    if not np.all(diag > 1e-10 * np.abs(np.diag(inv))):
        # e.g. every event of the cause in one risk set: each score residual is 0
        return failed("the sandwich variance is zero: too few events to estimate it", ll_null)
    coef, se = nan.copy(), nan.copy()
    coef[keep] = newton.b
    se[keep] = np.sqrt(diag)
    dropped = [names[j] for j in range(p) if j not in keep]
    note = (
        f"not estimable: {', '.join(dropped)} (constant or a combination of other covariates)"
        if dropped
        else ""
    )
    return _Fit(coef, se, estimable, -newton.ev.lik, ll_null, True, newton.iterations, note)


def fine_gray(
    frame: pd.DataFrame,
    duration: str,
    event: str,
    covariates: Sequence[str],
    *,
    cause: int = 1,
    conf_level: float = 0.95,
    reference: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Subdistribution hazard ratios from a Fine-Gray model, as R ``cmprsk::crr``.

    Equal to ``crr(ftime, fstatus, cov1 = model.matrix(~ covariates)[, -1],
    failcode = cause, cencode = 0)`` in cmprsk 2.2-11 (its coefficients and the
    standard errors of its sandwich variance ``$var``) with Wald intervals and
    p-values as ``summary.crr`` (p-values not rounded: ``2 * pnorm(-|z|)``).
    A fit whose estimate is infinite (monotone pseudo-likelihood), that does
    not converge, or has no usable variance is "not estimable", with the
    reason in ``attrs["note"]`` (detection: :mod:`~blinastudy.stats.survival.finegray`).

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per patient.
    duration : str
        Column of follow-up times (>= 0). Times are compared exactly (only the
        censoring distribution is estimated on tied times, as ``crr`` does
        through ``survfit``).
    event : str
        Column of event codes: 0 censored, 1, 2, ... the cause of the event.
    covariates : sequence of str
        Covariate columns; text or categorical ones become indicators against a
        reference level as in :func:`~blinastudy.stats.survival.cox`
        (:func:`~blinastudy.stats.survival.reference_levels`).
    cause : int, default 1
        The cause of interest (``failcode``); the other causes compete.
    conf_level : float, default 0.95
        Level of the Wald intervals.
    reference : mapping of str to level, optional
        Reference level per categorical covariate (R's ``relevel``).

    Returns
    -------
    pandas.DataFrame
        Indexed by term (design column), columns :data:`FINE_GRAY_COLUMNS`:
        ``shr`` (subdistribution hazard ratio), ``ci_lower, ci_upper``, ``se``
        (of the log ratio), ``p_value``, ``method`` (``"fine-gray"`` or ``"not
        estimable"``), ``reference`` (a categorical term's reference level,
        ``""`` for numeric ones). ``attrs`` holds ``n``, ``n_events``,
        ``n_competing``, ``cause``, ``loglik`` and ``loglik_null`` (``crr``'s
        pseudo log-likelihoods), ``converged``, ``iterations``, ``method`` and
        ``note`` (why a term or the model is not estimable).

    Raises
    ------
    InputError
        Missing columns, bad times or event codes, missing covariate values, a
        ``cause`` that never occurs, a bad ``conf_level`` or reference level.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6, 7, 8], "e": [1, 2, 1, 0, 1, 1, 2, 0],
    ...                   "arm": [0, 0, 0, 0, 1, 1, 1, 1]})
    >>> fg = fine_gray(f, "t", "e", ["arm"])
    >>> fg.loc["arm", "method"], round(float(fg.loc["arm", "shr"]), 4)
    ('fine-gray', 0.4472)
    """
    frame = require_frame(frame)
    if isinstance(covariates, str):
        covariates = [covariates]
    require_columns(frame, [duration, event, *covariates])
    design, refs = _design(frame, covariates, reference)
    t = as_times(frame[duration])
    codes = as_causes(frame[event], n=t.size)
    k = require_cause(cause, codes)
    require_conf_level(conf_level)
    status = np.where(codes == k, 1, np.where(codes > 0, 2, 0)).astype(np.int64)
    names = list(design.columns)
    fit = _fit(design.to_numpy(dtype=np.float64), t, status, names)
    z = float(special.ndtri(1 - (1 - conf_level) / 2))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        p_value = 2 * special.ndtr(-np.abs(fit.coef / fit.se))
        table = pd.DataFrame(
            {
                "shr": np.exp(fit.coef),
                "ci_lower": np.exp(fit.coef - z * fit.se),
                "ci_upper": np.exp(fit.coef + z * fit.se),
                "se": fit.se,
                "p_value": p_value,
                "method": np.where(fit.estimable, "fine-gray", "not estimable"),
                "reference": [refs.get(name, "") for name in names],
            },
            index=pd.Index(names, name="covariate"),
        )
    table.attrs.update(
        {
            "n": int(t.size),
            "n_events": int(np.sum(status == 1)),
            "n_competing": int(np.sum(status == 2)),
            "cause": k,
            "loglik": fit.loglik,
            "loglik_null": fit.loglik_null,
            "converged": fit.converged,
            "iterations": fit.iterations,
            "method": "fine-gray" if fit.estimable.any() else "not estimable",
            "note": fit.note,
        }
    )
    return table

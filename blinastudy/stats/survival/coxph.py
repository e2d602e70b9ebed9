"""Cox proportional-hazards regression, as R ``coxph`` (and ``coxphf`` when needed).

* Near-equal times are tied first, as ``coxph`` does through ``aeqSurv``
  (:func:`~blinastudy.stats.survival.timefix.timefix`).
* Efron (default) or Breslow handling of tied event times, with case weights
  exactly as R's ``coxfit6.c`` (the tied deaths of an Efron step share the mean
  weight of those deaths).
* Newton-Raphson with step halving, converged well past R's tolerance.
* ``cluster=`` / ``robust=``: the robust sandwich variance of ``coxph(...,
  cluster=, robust = TRUE)``, built from weighted dfbeta residuals (``coxscore2.c``)
  that respect the tie method, summed per cluster (each row its own cluster when
  no cluster is given). The model-based variance is kept beside it.
* Monotone likelihood (for example an arm without events) is detected as R's
  ``coxph`` does ("coefficient may be infinite"); the fit then switches to
  Firth's penalised likelihood (Heinze & Schemper 2001) with profile penalised
  likelihood confidence intervals and penalised likelihood-ratio p-values, as
  R ``coxphf`` (which handles ties by Breslow's method, and takes no case
  weights: a weighted monotone fit is reported as not estimable).
* Categorical covariates are coded against a stated reference level
  (:func:`reference_levels`), reported in the ``reference`` column of :func:`cox`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import optimize, special

from blinastudy.core.errors import InputError
from blinastudy.core.validate import (
    FloatArray,
    as_durations,
    as_events,
    as_weights,
    describe_entries,
    describe_value,
    require_columns,
    require_conf_level,
    require_frame,
)
from blinastudy.data.schema import column_spec
from blinastudy.stats.survival.tdc import as_intervals
from blinastudy.stats.survival.timefix import timefix

__all__ = [
    "COX_COLUMNS",
    "CoxFit",
    "cox",
    "cox_fit",
    "design_matrix",
    "firth_replicates",
    "independent_columns",
    "reference_levels",
]

Ties = Literal["efron", "breslow"]
#: Columns of the :func:`cox` table (and of :meth:`CoxFit.table`).
COX_COLUMNS = ["hr", "ci_lower", "ci_upper", "se", "p_value", "method", "reference"]

_EPS = 1e-9  # R coxph.control(eps)
_ITER_MAX = 20  # R coxph.control(iter.max): where a diverging (monotone) fit stops
_TOLER_INF = float(np.sqrt(_EPS))


# ---------------------------------------------------------------------------
# messages


# ---------------------------------------------------------------------------
# design


def _dictionary_levels(column: str) -> tuple[str, ...]:
    """The data dictionary's values of a category column, in dictionary order (else empty)."""
    try:
        return column_spec(column).values
    except InputError:
        return ()


def _levels(ser: pd.Series, column: str, chosen: Any = None) -> list[str] | None:
    """Levels of a categorical covariate, reference first; ``None`` for a numeric one.

    The levels are in their natural order (a pandas Categorical's categories; a
    data-dictionary column's dictionary order, then any other values sorted; else
    sorted, as R's ``factor``), with the reference moved to the front as R's
    ``relevel`` does. Default reference: the first level present for a Categorical
    or a dictionary column, else the most frequent level (ties: the first sorted).
    ``chosen`` overrides it.
    """
    if pd.api.types.is_bool_dtype(ser) or (
        pd.api.types.is_numeric_dtype(ser) and not isinstance(ser.dtype, pd.CategoricalDtype)
    ):
        return None
    text = ser.astype(str)
    present = set(text)
    if isinstance(ser.dtype, pd.CategoricalDtype):
        levels = [str(lv) for lv in ser.cat.categories if str(lv) in present]
        ref = levels[0] if levels else None
    else:
        known = [lv for lv in _dictionary_levels(column) if lv in present]
        levels = known + sorted(present - set(known))
        if known or not levels:
            ref = levels[0] if levels else None
        else:
            counts = text.value_counts()
            top = int(counts.max())
            ref = min(str(lv) for lv, c in counts.items() if c == top)
    if chosen is not None:
        ref = str(chosen)
        if ref not in levels:
            raise InputError(
                f"reference level '{ref}' of covariate '{column}' does not occur in the "
                f"data; its levels are {', '.join(levels)}"
            )
    if ref is None:
        return levels
    return [ref] + [lv for lv in levels if lv != ref]


def _terms(
    frame: pd.DataFrame, covariates: Sequence[str], reference: Mapping[str, Any] | None
) -> list[tuple[str, list[str] | None]]:
    """Each covariate with its levels (reference first), ``None`` for numeric ones."""
    require_columns(frame, covariates)
    chosen = dict(reference or {})
    unknown = [f"'{c}'" for c in chosen if c not in covariates]
    if unknown:
        raise InputError(
            f"reference is given for {', '.join(unknown)}, which is not among the covariates"
        )
    terms: list[tuple[str, list[str] | None]] = []
    for col in covariates:
        ser = frame[col]
        missing = ser.isna().to_numpy()
        if missing.any():
            raise InputError(
                f"covariate '{col}' has missing values at "
                f"{describe_entries(None, missing, list(frame.index))}"
            )
        levels = _levels(ser, col, chosen.get(col))
        if levels is None and col in chosen:
            raise InputError(f"covariate '{col}' is numeric: it has no reference level")
        terms.append((col, levels))
    return terms


def _design(
    frame: pd.DataFrame, covariates: Sequence[str], reference: Mapping[str, Any] | None
) -> tuple[pd.DataFrame, dict[str, str]]:
    """The design matrix and, per design column, its reference level ("" if numeric)."""
    parts: list[pd.DataFrame] = []
    refs: dict[str, str] = {}
    for col, levels in _terms(frame, covariates, reference):
        ser = frame[col]
        if levels is None:
            values = ser.to_numpy(dtype=float)
            bad = ~np.isfinite(values)
            if bad.any():
                raise InputError(
                    f"covariate '{col}' has infinite values at "
                    f"{describe_entries(None, bad, list(frame.index))}"
                )
            parts.append(pd.DataFrame({col: values}, index=frame.index))
            refs[col] = ""
            continue
        if not levels:
            raise InputError(f"covariate '{col}' has no values")
        text = ser.astype(str)
        dummies = {f"{col}{lv}": (text == lv).to_numpy(dtype=float) for lv in levels[1:]}
        refs.update(dict.fromkeys(dummies, levels[0]))
        parts.append(pd.DataFrame(dummies, index=frame.index))
    if not parts:
        raise InputError("no covariates given")
    return pd.concat(parts, axis=1), refs


def design_matrix(
    frame: pd.DataFrame, covariates: Sequence[str], *, reference: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """Numeric design matrix with R's naming for categorical covariates.

    Numeric and boolean columns are used as they are; text or categorical
    columns become indicators for every level but the reference, named
    ``column + level`` as R's ``model.matrix`` does (treatment contrasts).

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per patient.
    covariates : sequence of str
        Covariate columns.
    reference : mapping of str to level, optional
        Reference level per categorical column, as R's ``relevel``. Columns not
        named get the default of :func:`reference_levels`.

    Returns
    -------
    pandas.DataFrame
        One column per numeric covariate and per non-reference level.

    Raises
    ------
    InputError
        Missing columns or values, infinite numbers, or a reference level that is
        not in the data.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"risk": ["LR", "HR", "IR"], "age": [3.0, 5.0, 7.0]})
    >>> list(design_matrix(f, ["risk", "age"]).columns)
    ['riskIR', 'riskLR', 'age']
    >>> list(design_matrix(f, ["risk"], reference={"risk": "LR"}).columns)
    ['riskHR', 'riskIR']
    """
    return _design(frame, covariates, reference)[0]


def reference_levels(
    frame: pd.DataFrame, covariates: Sequence[str], reference: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """The reference level of each categorical covariate (numeric ones are left out).

    The reference is, unless ``reference`` names one: for a pandas Categorical
    column, its first category that occurs; for a column of the data dictionary
    (:func:`blinastudy.data.schema.column_spec`), the first level in dictionary order
    that occurs (``risk_group``: ``LR``); otherwise the most frequent level, ties
    going to the first in sorted order.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per patient.
    covariates : sequence of str
        Covariate columns.
    reference : mapping of str to level, optional
        Chosen reference levels (R's ``relevel``).

    Returns
    -------
    dict of str to str
        Covariate name to its reference level.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"risk_group": ["HR", "IR", "IR", "LR"],
    ...                   "centre": ["b", "a", "b", "c"], "age": [3.0, 5.0, 7.0, 9.0]})
    >>> reference_levels(f, ["risk_group", "centre", "age"])
    {'risk_group': 'LR', 'centre': 'b'}
    >>> reference_levels(f, ["risk_group"], reference={"risk_group": "HR"})
    {'risk_group': 'HR'}
    """
    return {
        col: levels[0]
        for col, levels in _terms(frame, covariates, reference)
        if levels is not None and levels
    }


def independent_columns(x: Any) -> list[int]:
    """Indices of columns that are not linear combinations of earlier ones.

    R reports ``NA`` for aliased columns of a model matrix; callers drop them.

    Examples
    --------
    >>> independent_columns([[1, 2, 1], [1, 4, 1], [1, 5, 1]])
    [0, 1]
    """
    xa = np.asarray(x, dtype=float)
    keep: list[int] = []
    basis = np.zeros((xa.shape[0], 0))
    for j in range(xa.shape[1]):
        col = xa[:, j]
        norm = float(np.linalg.norm(col))
        if norm == 0:
            continue
        resid = col - basis @ (basis.T @ col)
        resid = resid - basis @ (basis.T @ resid)  # re-orthogonalise
        rnorm = float(np.linalg.norm(resid))
        if rnorm > 1e-7 * norm:  # R's qr tolerance
            keep.append(j)
            basis = np.column_stack([basis, resid / rnorm])
    return keep


# ---------------------------------------------------------------------------
# likelihood machinery


@dataclass
class _Risk:
    """Data sorted for risk-set sums: stratum ascending, time descending.

    With counting-process rows ``(start, stop]`` (``time`` is the stop time) a
    row is at risk at an event time ``t`` when ``start < t <= stop``, as in R's
    ``agfit4.c``: the rows with ``stop >= t`` (a prefix of the stratum) less
    those with ``start >= t`` (a prefix of the stratum in ``entry_order``).
    """

    x: FloatArray  # n x p, centred
    time: FloatArray
    event: FloatArray
    wt: FloatArray  # case weights
    stratum: npt.NDArray[np.int64]
    order: npt.NDArray[np.int64]
    # one entry per event time (stratum, time) with deaths
    block_end: npt.NDArray[np.int64]  # index (exclusive) of last row with T >= t in stratum
    stratum_start: npt.NDArray[np.int64]  # first row of that stratum
    death_rows: npt.NDArray[np.int64]  # rows of deaths, grouped by event block
    death_block: npt.NDArray[np.int64]  # block id per death row
    d: FloatArray  # deaths per block (rows, whatever their weights)
    # (block, l) expansion: one term per death, Efron fraction l/d
    jl_block: npt.NDArray[np.int64]
    jl_frac: FloatArray
    term_wt: FloatArray  # per term: mean case weight of the block's deaths (coxfit6 wtave)
    # counting process only: start times (sorted rows), the rows of each stratum by
    # start descending, and per event block the end of those with start >= t
    start: FloatArray | None = None
    entry_order: npt.NDArray[np.int64] | None = None
    entry_end: npt.NDArray[np.int64] | None = None

    def evaluate(self, beta: FloatArray, *, third: bool = False) -> _Eval:
        return _evaluate(self, beta, third=third)


def _prepare(
    x: FloatArray,
    time: FloatArray,
    event: FloatArray,
    wt: FloatArray,
    stratum: npt.NDArray[np.int64],
    ties: Ties,
    start: FloatArray | None = None,
) -> _Risk:
    order = np.lexsort((-time, stratum)).astype(np.int64)
    xs, ts, es, ws, ss = x[order], time[order], event[order], wt[order], stratum[order]
    n = ts.size
    # blocks of equal (stratum, time)
    new = np.ones(n, dtype=bool)
    new[1:] = (ts[1:] != ts[:-1]) | (ss[1:] != ss[:-1])
    block_id = np.cumsum(new) - 1
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], n)
    deaths_per_block = np.bincount(block_id, weights=es, minlength=starts.size)
    death_wt_per_block = np.bincount(block_id, weights=es * ws, minlength=starts.size)
    has = deaths_per_block > 0
    sstart_all = np.flatnonzero(np.r_[True, ss[1:] != ss[:-1]])
    stratum_first = sstart_all[np.searchsorted(sstart_all, starts, side="right") - 1]
    ev_blocks = np.flatnonzero(has)
    remap = -np.ones(starts.size, dtype=np.int64)
    remap[ev_blocks] = np.arange(ev_blocks.size)
    death_rows = np.flatnonzero(es > 0)
    death_block = remap[block_id[death_rows]]
    d = np.asarray(deaths_per_block[has], dtype=np.float64)
    di = d.astype(np.int64)
    jl_block = np.repeat(np.arange(ev_blocks.size), di)
    if ties == "efron":
        first = np.repeat(np.cumsum(di) - di, di)
        jl_frac = (np.arange(jl_block.size) - first) / d[jl_block]
    else:
        jl_frac = np.zeros(jl_block.size)
    block_end = ends[has].astype(np.int64)
    stratum_start = stratum_first[has].astype(np.int64)
    st = entry_order = entry_end = None
    if start is not None:
        st = np.asarray(start[order], dtype=np.float64)
        entry_order = np.lexsort((-st, ss)).astype(np.int64)
        entry_end = np.empty(block_end.size, dtype=np.int64)
        block_time = ts[block_end - 1]
        stratum_stop = np.append(sstart_all[1:], n)
        for first_row, last_row in zip(sstart_all, stratum_stop, strict=True):
            mine = stratum_start == first_row
            neg_start = -st[entry_order[first_row:last_row]]  # ascending
            late = np.searchsorted(neg_start, -block_time[mine], side="right")
            entry_end[mine] = first_row + late
    return _Risk(
        x=xs,
        time=ts,
        event=es,
        wt=ws,
        stratum=ss,
        order=order,
        block_end=ends[has].astype(np.int64),
        stratum_start=stratum_first[has].astype(np.int64),
        death_rows=death_rows.astype(np.int64),
        death_block=death_block,
        d=np.asarray(d, dtype=np.float64),
        jl_block=jl_block,
        jl_frac=jl_frac,
        term_wt=(death_wt_per_block[has] / d)[jl_block],
        start=st,
        entry_order=entry_order,
        entry_end=entry_end,
    )


def _risk_sums(r: _Risk, values: FloatArray) -> FloatArray:
    """Sum of ``values`` (rows x k) over each event block's risk set."""
    zero = np.zeros((1, values.shape[1]))
    csum = np.vstack([zero, np.cumsum(values, axis=0)])
    sums = csum[r.block_end] - csum[r.stratum_start]
    if r.entry_order is not None and r.entry_end is not None:
        # less the rows that enter at or after the event time (start >= t)
        late = np.vstack([zero, np.cumsum(values[r.entry_order], axis=0)])
        sums = sums - (late[r.entry_end] - late[r.stratum_start])
    return np.asarray(sums, dtype=np.float64)


def _death_sums(r: _Risk, values: FloatArray) -> FloatArray:
    # deaths are contiguous per event block in the sorted order
    starts = np.flatnonzero(np.r_[True, r.death_block[1:] != r.death_block[:-1]])
    return np.asarray(np.add.reduceat(values[r.death_rows], starts, axis=0), dtype=np.float64)


@dataclass
class _Eval:
    loglik: float
    score: FloatArray
    info: FloatArray
    s0: FloatArray | None = None
    xbar: FloatArray | None = None
    dinfo: FloatArray | None = None  # p x p x p: d I / d beta_r in [:, :, r]
    d2info: float | None = None  # one covariate: d^2 I / d beta^2


def _summed_third_cumulant(
    mu: FloatArray, m2: FloatArray, m3: FloatArray, term_wt: FloatArray
) -> FloatArray:
    """Weighted sum over terms of the third cumulant tensor from raw moments (d I / d beta)."""
    k3 = (
        m3
        - np.einsum("ta,tbc->tabc", mu, m2)
        - np.einsum("tb,tac->tabc", mu, m2)
        - np.einsum("tc,tab->tabc", mu, m2)
        + 2 * np.einsum("ta,tb,tc->tabc", mu, mu, mu)
    )
    return np.asarray(np.einsum("t,tabc->abc", term_wt, k3), dtype=np.float64)


def _evaluate(r: _Risk, beta: FloatArray, *, third: bool = False) -> _Eval:
    # Far along a diverging direction a whole risk set can underflow to zero weight;
    # the log-likelihood is then -inf and the caller halves its step.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        return _evaluate_sums(r, beta, third=third)


@dataclass
class _Moments:
    """Per (event time, Efron step) term: weighted risk-set moments of x at beta."""

    eta: FloatArray  # linear predictor of the sorted rows, shifted so its maximum is 0
    s0: FloatArray  # terms: sum of w exp(eta) (Efron-reduced)
    mu: FloatArray  # terms x p: weighted mean of x
    m2: FloatArray  # terms x p x p: weighted mean of x x'
    m3: FloatArray | None  # terms x p x p x p: weighted mean of x x x (when asked)

    @property
    def cov(self) -> FloatArray:
        """Weighted covariance of x in each term's risk set."""
        return np.asarray(self.m2 - self.mu[:, :, None] * self.mu[:, None, :], dtype=np.float64)


def _term_moments(r: _Risk, beta: FloatArray, *, third: bool = False) -> _Moments:
    """Risk-set moments of every Efron (or Breslow) term, as ``coxfit6.c`` / ``agfit4.c``."""
    x = r.x
    n, p = x.shape
    eta = x @ beta
    eta = eta - eta.max()
    w = np.exp(eta) * r.wt
    wx = w[:, None] * x
    outer = (x[:, :, None] * x[:, None, :]).reshape(n, p * p)
    cols = [w[:, None], wx, w[:, None] * outer]
    if third:
        trip = (outer[:, :, None] * x[:, None, :]).reshape(n, p * p * p)
        cols.append(w[:, None] * trip)
    stacked = np.hstack(cols)
    rs = _risk_sums(r, stacked)
    ds = _death_sums(r, stacked)
    j, f = r.jl_block, r.jl_frac
    s = rs[j] - f[:, None] * ds[j]
    s0 = s[:, 0]
    mu = s[:, 1 : 1 + p] / s0[:, None]
    m2 = s[:, 1 + p : 1 + p + p * p].reshape(-1, p, p) / s0[:, None, None]
    m3 = None
    if third:
        m3 = s[:, 1 + p + p * p :].reshape(-1, p, p, p) / s0[:, None, None, None]
    return _Moments(eta=eta, s0=s0, mu=mu, m2=m2, m3=m3)


def _evaluate_sums(r: _Risk, beta: FloatArray, *, third: bool = False) -> _Eval:
    mom = _term_moments(r, beta, third=third)
    x, eta, s0, mu = r.x, mom.eta, mom.s0, mom.mu
    # coxfit6.c: sum over deaths of weight * x beta, minus per term wtave * log(s0)
    dead = r.event > 0
    tw = r.term_wt
    loglik = float((r.wt[dead] * eta[dead]).sum() - (tw * np.log(s0)).sum())
    score = (r.wt[dead, None] * x[dead]).sum(axis=0) - (tw[:, None] * mu).sum(axis=0)
    info = np.einsum("t,tab->ab", tw, mom.cov)
    out = _Eval(loglik, score, info, s0=s0, xbar=mu)
    if third and mom.m3 is not None:
        out.dinfo = _summed_third_cumulant(mu, mom.m2, mom.m3, tw)
    return out


@dataclass
class _PatternRisk:
    """Few distinct covariate rows, one stratum: risk sets reduce to sums per pattern.

    Counting-process rows ``(start, stop]`` are counted at risk at ``t`` when
    ``start < t <= stop``.

    A treatment indicator, or treatment and subgroup indicators with their
    interactions, take only a handful of distinct rows ("patterns"). Every
    (event time, Efron step) term is then a sum over the patterns,
    ``s0 = sum_k a_k exp(x_k beta)`` with ``a_k`` the (case-weighted) number at
    risk, so one evaluation costs a few small matrix products over the event
    times instead of passes over all patients.
    """

    patterns: FloatArray  # K x p
    counts: FloatArray  # terms x K: Efron-weighted, case-weighted numbers at risk
    term_wt: FloatArray  # terms: mean case weight of the tied deaths (coxfit6 wtave)
    death_sum: FloatArray  # p: case-weighted sum of x over all deaths
    outer: FloatArray  # K x p*p
    triple: FloatArray  # K x p*p*p

    #: Above this many distinct rows the row-wise evaluation is used.
    MAX_PATTERNS = 64

    @classmethod
    def build(
        cls,
        x: FloatArray,
        t: FloatArray,
        e: FloatArray,
        wt: FloatArray,
        ties: Ties,
        start: FloatArray | None = None,
    ) -> _PatternRisk:
        patterns, pat = np.unique(x, axis=0, return_inverse=True)
        pat = np.asarray(pat).ravel()
        k, p = patterns.shape
        times, tinv = np.unique(t, return_inverse=True)
        m = times.size
        cell = tinv * k + pat
        n_tk = np.bincount(cell, weights=wt, minlength=m * k).reshape(m, k)
        d_tk = np.bincount(cell, weights=e * wt, minlength=m * k).reshape(m, k)
        at_risk = np.cumsum(n_tk[::-1], axis=0)[::-1]
        if start is not None:
            # (start, stop] rows are not at risk at the times t <= start
            entered = np.searchsorted(times, start, side="right")
            late = np.bincount(entered * k + pat, weights=wt, minlength=(m + 1) * k)
            at_risk = at_risk - np.cumsum(late.reshape(m + 1, k)[::-1], axis=0)[::-1][1:]
        d = np.bincount(tinv, weights=e, minlength=m)  # deaths (rows) per time
        has = d > 0
        di = d[has].astype(np.int64)
        j = np.repeat(np.arange(di.size), di)
        if ties == "efron":
            first = np.repeat(np.cumsum(di) - di, di)
            f = (np.arange(j.size) - first) / d[has][j]
        else:
            f = np.zeros(j.size)
        counts = at_risk[has][j] - f[:, None] * d_tk[has][j]
        term_wt = (d_tk.sum(axis=1)[has] / d[has])[j]
        outer = (patterns[:, :, None] * patterns[:, None, :]).reshape(k, p * p)
        triple = (outer[:, :, None] * patterns[:, None, :]).reshape(k, p * p * p)
        death_sum = d_tk.sum(axis=0) @ patterns
        return cls(patterns, counts, term_wt, death_sum, outer, triple)

    def evaluate(self, beta: FloatArray, *, third: bool = False) -> _Eval:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
            eta = self.patterns @ beta
            # per-term log-sum-exp: shift each risk set by its own largest linear
            # predictor, so a risk set never underflows to zero weight
            shift = np.where(self.counts > 0, eta[None, :], -np.inf).max(axis=1)
            weights = self.counts * np.exp(np.minimum(eta[None, :] - shift[:, None], 0.0))
            s0 = weights.sum(axis=1)
            tw = self.term_wt
            p = beta.size
            if p == 1:  # scalar moments: the common treatment-only model
                x = self.patterns[:, 0]
                m1 = (weights @ x) / s0
                m2s = (weights @ (x * x)) / s0
                var = m2s - m1 * m1
                ll = float(self.death_sum[0] * beta[0] - np.sum(tw * (np.log(s0) + shift)))
                one = _Eval(
                    ll,
                    np.array([self.death_sum[0] - (tw * m1).sum()]),
                    np.array([[(tw * var).sum()]]),
                )
                if third:
                    m3s = (weights @ (x * x * x)) / s0
                    m4s = (weights @ (x * x * x * x)) / s0
                    k3 = m3s - 3 * m1 * m2s + 2 * m1**3
                    k4 = m4s - 4 * m3s * m1 - 3 * m2s**2 + 12 * m2s * m1**2 - 6 * m1**4
                    one.dinfo = np.array([[[float((tw * k3).sum())]]])
                    one.d2info = float((tw * k4).sum())
                return one
            mu = (weights @ self.patterns) / s0[:, None]
            m2 = ((weights @ self.outer) / s0[:, None]).reshape(-1, p, p)
            loglik = float(self.death_sum @ beta - np.sum(tw * (np.log(s0) + shift)))
            cov = m2 - mu[:, :, None] * mu[:, None, :]
            score = self.death_sum - (tw[:, None] * mu).sum(axis=0)
            out = _Eval(loglik, score, np.einsum("t,tab->ab", tw, cov))
            if third:
                m3 = ((weights @ self.triple) / s0[:, None]).reshape(-1, p, p, p)
                out.dinfo = _summed_third_cumulant(mu, m2, m3, tw)
        return out


_Evaluator = _Risk | _PatternRisk


def _score_residuals(r: _Risk, beta: FloatArray, ev: _Eval) -> FloatArray:
    """Per-row score residuals (rows in sorted order) for the tie method in use.

    For ``(start, stop]`` rows only the event times inside the interval count,
    as in R's ``agscore3.c``.

    Unweighted residuals of weighted fits, as R's ``coxscore2.c``: the caller
    multiplies them by the case weights (``residuals(type = "dfbeta", weighted = TRUE)``).
    """
    assert ev.s0 is not None and ev.xbar is not None
    x = r.x
    n, p = x.shape
    eta = x @ beta
    eta = eta - eta.max()
    w = np.exp(eta)
    nb = r.d.size
    # hazard increment of each term: mean case weight of the tied deaths / s0 (coxscore2.c)
    inv = r.term_wt / ev.s0
    j, f = r.jl_block, r.jl_frac
    # per block: hazard increments summed over l, full weight and (1 - f) weight
    h0 = np.bincount(j, weights=inv, minlength=nb)
    h1 = np.zeros((nb, p))
    np.add.at(h1, j, ev.xbar * inv[:, None])
    a0 = np.bincount(j, weights=(1 - f) * inv, minlength=nb)
    a1 = np.zeros((nb, p))
    np.add.at(a1, j, ev.xbar * ((1 - f) * inv)[:, None])
    mbar = np.zeros((nb, p))
    np.add.at(mbar, j, ev.xbar)
    mbar /= r.d[:, None]
    # cumulative (within stratum, ascending time) over event blocks.
    # Blocks are ordered by stratum asc, time desc; reverse within each stratum.
    resid = np.zeros((n, p))
    strata_of_block = r.stratum[r.block_end - 1]
    for s in np.unique(r.stratum):
        rows = np.flatnonzero(r.stratum == s)
        blocks = np.flatnonzero(strata_of_block == s)
        if blocks.size == 0:
            continue
        asc = blocks[::-1]
        c0 = np.cumsum(h0[asc])
        c1 = np.cumsum(h1[asc], axis=0)
        tb = r.time[r.block_end[asc] - 1]  # event times ascending
        tr = r.time[rows]
        k = np.searchsorted(tb, tr, side="right") - 1  # last event time <= t_i
        has = k >= 0
        cum0 = np.where(has, c0[np.maximum(k, 0)], 0.0)
        cum1 = np.where(has[:, None], c1[np.maximum(k, 0)], 0.0)
        if r.start is not None:
            # (start, stop] rows: only the event times after the start count
            ks = np.searchsorted(tb, r.start[rows], side="right") - 1
            entered = ks >= 0
            cum0 = cum0 - np.where(entered, c0[np.maximum(ks, 0)], 0.0)
            cum1 = cum1 - np.where(entered[:, None], c1[np.maximum(ks, 0)], 0.0)
        xr, wr = x[rows], w[rows]
        dead = r.event[rows] > 0
        # censored: -w (x H0(t) - H1(t))
        res = -wr[:, None] * (xr * cum0[:, None] - cum1)
        if dead.any():
            # deaths: remove own-time block from the cumulative sums and use Efron weights
            own = asc[k[dead]]
            prev0 = cum0[dead] - h0[own]
            prev1 = cum1[dead] - h1[own]
            xd, wd = xr[dead], wr[dead]
            res[dead] = (
                (xd - mbar[own])
                - wd[:, None] * (xd * prev0[:, None] - prev1)
                - wd[:, None] * (xd * a0[own][:, None] - a1[own])
            )
        resid[rows] = res
    return resid


# ---------------------------------------------------------------------------
# fitting


@dataclass
class CoxFit:
    """A fitted Cox model (coefficients on the log-hazard scale).

    Attributes
    ----------
    names : list of str
        Covariate names (design columns).
    coef : numpy.ndarray
        Log hazard ratios.
    var : numpy.ndarray
        Variance matrix used for inference: the robust (sandwich) one when the
        fit is robust (``method == "ml-robust"``; R's ``fit$var``), else the
        model-based one.
    se : numpy.ndarray
        Square roots of the diagonal of ``var`` (R's ``robust se`` when robust).
    ci_lower, ci_upper, p_value : numpy.ndarray
        Wald (Firth: profile likelihood) limits on the log-hazard scale and p-values.
    loglik : float
        Maximised log partial likelihood (penalised for Firth; weighted when
        case weights are given).
    loglik_null : float
        Log partial likelihood at zero.
    method : str
        ``"ml"``, ``"ml-robust"``, ``"firth"`` or ``"not estimable"``.
    n, n_events : int
        Number of rows and of events (not weighted, as R's ``n`` and ``nevent``).
    converged : bool
        Whether the iterations met the convergence rule.
    estimable : numpy.ndarray of bool
        False for covariates that are constant or aliased (R's ``NA``).
    naive_var : numpy.ndarray
        Model-based variance, the inverse of the (weighted) information: R's
        ``fit$naive.var`` for robust fits, equal to ``var`` otherwise.
    naive_se : numpy.ndarray
        Square roots of the diagonal of ``naive_var`` (R's ``se(coef)``).
    note : str
        Why the model is not estimable, or ``""``.
    """

    names: list[str]
    coef: FloatArray
    var: FloatArray
    se: FloatArray
    ci_lower: FloatArray
    ci_upper: FloatArray
    p_value: FloatArray
    loglik: float
    loglik_null: float
    method: str
    n: int
    n_events: int
    converged: bool
    estimable: npt.NDArray[np.bool_]
    naive_var: FloatArray
    naive_se: FloatArray
    note: str = ""

    def table(self, reference: Mapping[str, str] | None = None) -> pd.DataFrame:
        """The hazard-ratio table, columns :data:`COX_COLUMNS`.

        Parameters
        ----------
        reference : mapping of str to str, optional
            Reference level per design column (``""`` or absent for numeric ones).

        Returns
        -------
        pandas.DataFrame
            Indexed by covariate (design column).

        Examples
        --------
        >>> fit = cox_fit([[0], [1], [0], [1]], [1, 2, 3, 4], [1, 1, 1, 0], names=["arm"])
        >>> list(fit.table({"arm": "0"}).loc["arm", ["method", "reference"]])
        ['ml', '0']
        """
        refs = reference or {}
        with np.errstate(over="ignore"):  # a diverging estimate's limits are infinite
            hr, lower, upper = np.exp(self.coef), np.exp(self.ci_lower), np.exp(self.ci_upper)
        return pd.DataFrame(
            {
                "hr": hr,
                "ci_lower": lower,
                "ci_upper": upper,
                "se": self.se,
                "p_value": self.p_value,
                "method": np.where(self.estimable, self.method, "not estimable"),
                "reference": [refs.get(name, "") for name in self.names],
            },
            index=pd.Index(self.names, name="covariate"),
        )


def _newton(  # noqa: C901 (listed: may only shrink)
    r: _Evaluator,
    p: int,
    *,
    firth: bool,
    fixed: dict[int, float] | None = None,
    max_iter: int = 200,
) -> tuple[FloatArray, _Eval, bool]:
    """Maximise the (penalised) log partial likelihood; ``fixed`` pins coordinates."""
    beta = np.zeros(p)
    fixed = fixed or {}
    for k, v in fixed.items():
        beta[k] = v
    free = np.array([k for k in range(p) if k not in fixed], dtype=np.int64)

    def objective(b: FloatArray) -> tuple[float, FloatArray, FloatArray, _Eval]:
        ev = r.evaluate(b, third=firth)
        if not firth:
            return ev.loglik, ev.score, ev.info, ev
        sign, logdet = np.linalg.slogdet(ev.info)
        if sign <= 0:
            return -np.inf, ev.score, ev.info, ev
        inv = np.linalg.inv(ev.info)
        assert ev.dinfo is not None
        pen_score = ev.score + 0.5 * np.einsum("ab,abr->r", inv, ev.dinfo)
        return ev.loglik + 0.5 * logdet, pen_score, ev.info, ev

    ll, score, info, ev = objective(beta)
    converged = free.size == 0
    for _ in range(max_iter):
        if free.size == 0:
            break
        sub = info[np.ix_(free, free)]
        if firth and ev.d2info is not None and ev.dinfo is not None and free.size == 1:
            # one covariate: the exact curvature of l + log(I) / 2
            i0, i1 = float(info[0, 0]), float(ev.dinfo[0, 0, 0])
            curv = i0 - 0.5 * (ev.d2info / i0 - (i1 / i0) ** 2)
            sub = np.array([[curv]]) if curv > 0 else sub
        elif firth:
            sub = _penalised_curvature(objective, beta, free, sub)
        try:
            step = np.linalg.solve(sub, score[free])
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(sub, score[free], rcond=None)[0]
        if firth:  # coxphf: at most maxstep (0.5) per coordinate
            big = np.abs(step).max()
            if big > 0.5:
                step *= 0.5 / big
        trial = beta.copy()
        trial[free] += step
        ll_new, score_new, info_new, ev_new = objective(trial)
        halvings = 0
        while (not np.isfinite(ll_new) or ll_new < ll - 1e-12 * abs(ll)) and halvings < 30:
            step /= 2
            trial = beta.copy()
            trial[free] += step
            ll_new, score_new, info_new, ev_new = objective(trial)
            halvings += 1
        if not np.isfinite(ll_new):
            break  # no finite point along the step: keep the last finite iterate
        change = abs(ll_new - ll)
        beta, ll, score, info, ev = trial, ll_new, score_new, info_new, ev_new
        if firth:
            # converged when the penalised score vanishes, or a full (unhalved) step is
            # negligible; a step shrunk by halving says nothing about convergence
            if np.abs(score[free]).max() < 1e-10 or (
                halvings == 0 and np.abs(step).max() <= 1e-11 * max(1.0, np.abs(beta).max())
            ):
                converged = True
                break
        elif change <= _EPS * abs(ll) or change <= 1e-12:  # R: |1 - old/new| <= eps
            converged = True
            break
    return beta, ev, converged


def _penalised_curvature(
    objective: Any, beta: FloatArray, free: npt.NDArray[np.int64], fallback: FloatArray
) -> FloatArray:
    """Minus the Jacobian of the penalised score, by central differences.

    The Fisher information alone (coxphf's choice) ignores the penalty's curvature
    and converges slowly where the penalty dominates (monotone likelihood); the
    full curvature gives Newton's quadratic convergence. Falls back to the
    information where the difference quotient is not positive definite.
    """
    k = free.size
    jac = np.empty((k, k))
    for j, col in enumerate(free):
        h = 1e-5 * max(1.0, abs(float(beta[col])))
        up, down = beta.copy(), beta.copy()
        up[col] += h
        down[col] -= h
        jac[:, j] = (objective(up)[1][free] - objective(down)[1][free]) / (2 * h)
    curv = -(jac + jac.T) / 2
    if not np.all(np.isfinite(curv)):
        return fallback
    try:
        np.linalg.cholesky(curv)
    except np.linalg.LinAlgError:
        return fallback
    return curv


def _diverging(
    beta: FloatArray,
    info: FloatArray,
    score: FloatArray,
    free: npt.NDArray[np.int64],
    spread: FloatArray,
) -> bool:
    """R coxph's test for an infinite coefficient: a last Newton step that is not negligible."""
    if free.size == 0:
        return False
    sub = info[np.ix_(free, free)]
    try:
        step = np.abs(np.linalg.lstsq(sub, score[free], rcond=None)[0])
    except np.linalg.LinAlgError:
        return True
    flagged = (step > _EPS) & (step > _TOLER_INF * np.abs(beta[free]))
    # a genuinely infinite coefficient has drifted far by then: HR beyond e^5 across the
    # covariate's range
    return bool(np.any(flagged & (np.abs(beta[free]) * spread[free] > 5.0)))


def _no_information(
    x: FloatArray,
    t: FloatArray,
    e: FloatArray,
    s: npt.NDArray[np.int64],
    start: FloatArray | None = None,
) -> npt.NDArray[np.bool_]:
    """Columns that are constant within every risk set that has a death.

    Such a coefficient has zero information at any value (R's ``coxph`` gives NA);
    checking the data directly avoids mistaking round-off for information.
    """
    if start is not None:
        return _no_information_intervals(x, t, e, s, start)
    varies = np.zeros(x.shape[1], dtype=bool)
    for stratum in np.unique(s):
        rows = np.flatnonzero(s == stratum)
        order = rows[np.argsort(-t[rows], kind="stable")]
        ts, xs = t[order], x[order]
        hi = np.maximum.accumulate(xs, axis=0)
        lo = np.minimum.accumulate(xs, axis=0)
        death_times = np.unique(ts[e[order] > 0])
        if death_times.size == 0:
            continue
        # last row (descending time) still at risk at each death time
        last = np.searchsorted(-ts, -death_times, side="right") - 1
        varies |= ((hi[last] - lo[last]) > 0).any(axis=0)
    return ~varies


def _no_information_intervals(
    x: FloatArray,
    t: FloatArray,
    e: FloatArray,
    s: npt.NDArray[np.int64],
    start: FloatArray,
) -> npt.NDArray[np.bool_]:
    """:func:`_no_information` for ``(start, stop]`` rows (risk sets are not nested).

    A sort-based screen first (:func:`_clearly_varies`: the spread of each column in
    every risk set from cumulative sums, O(n log n)); only columns it cannot show to
    vary are checked exactly, risk set by risk set.
    """
    varies = np.zeros(x.shape[1], dtype=bool)
    for stratum in np.unique(s):
        rows = np.flatnonzero(s == stratum)
        ts, ss, xs = t[rows], start[rows], x[rows]
        death_times = np.unique(ts[e[rows] > 0])
        if death_times.size == 0:
            continue
        varies |= _clearly_varies(xs, ss, ts, death_times)
        if varies.all():
            continue
        chunk = max(1, 2**22 // max(rows.size, 1))  # bound the rows x times masks
        for lo_i in range(0, death_times.size, chunk):
            dt = death_times[lo_i : lo_i + chunk]
            at = (ss[:, None] < dt[None, :]) & (ts[:, None] >= dt[None, :])
            for j in np.flatnonzero(~varies):
                col = xs[:, j, None]
                hi = np.where(at, col, -np.inf).max(axis=0)
                lo = np.where(at, col, np.inf).min(axis=0)
                varies[j] |= bool((hi > lo).any())
    return ~varies


def _clearly_varies(
    x: FloatArray, start: FloatArray, stop: FloatArray, death_times: FloatArray
) -> npt.NDArray[np.bool_]:
    """Columns of ``x`` that certainly take two values in some risk set
    ``{start < d <= stop}`` of a death time ``d``.

    The sum of squared deviations of each risk set, from cumulative sums over the rows
    sorted by start and by stop. Round-off in those sums is at most about
    ``n * eps * scale**2``; a column counts only where the sum exceeds ``1e-6 * size
    * scale**2``, far above it, so a ``True`` is never round-off (a ``False`` may be a
    tiny true spread, left to the exact check).
    """
    p = x.shape[1]
    centred = x - x.mean(axis=0)
    scale = np.abs(centred).max(axis=0)
    by_start, by_stop = np.argsort(start, kind="stable"), np.argsort(stop, kind="stable")
    entered = np.searchsorted(start[by_start], death_times, side="left")  # start < d
    left = np.searchsorted(stop[by_stop], death_times, side="left")  # stop < d
    size = (entered - left).astype(float)
    zero = np.zeros((1, p))
    totals = []
    for values in (centred, centred**2):
        in_sum = np.concatenate([zero, np.cumsum(values[by_start], axis=0)])
        out_sum = np.concatenate([zero, np.cumsum(values[by_stop], axis=0)])
        totals.append(in_sum[entered] - out_sum[left])
    s1, s2 = totals
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = np.where(size[:, None] > 0, s2 - s1**2 / size[:, None], 0.0)
    bound = 1e-6 * np.maximum(size, 1.0)[:, None] * scale[None, :] ** 2
    return np.asarray(((spread > bound) & (scale[None, :] > 0)).any(axis=0), dtype=bool)


def _empty_level(x: FloatArray, e: FloatArray) -> bool:
    """A two-valued covariate one of whose values has no events: the likelihood is monotone."""
    for col in x.T:
        values = np.unique(col)
        if values.size == 2 and (e[col == values[0]].sum() == 0 or e[col == values[1]].sum() == 0):
            return True
    return False


def _bracketed_newton(
    fn: Any, inside: float, outside: float, tol: float = 1e-11, max_iter: int = 100
) -> float:
    """Root of ``fn`` between ``inside`` (fn < 0) and ``outside`` (fn >= 0).

    Newton steps with the slope ``fn`` returns, falling back to bisection whenever
    a step would leave the bracket (as Numerical Recipes' ``rtsafe``).
    """
    lo, hi = inside, outside
    x = outside
    fx, dx = fn(x)
    for _ in range(max_iter):
        if fx == 0:
            return float(x)
        if fx < 0:
            lo = x
        else:
            hi = x
        step_ok = np.isfinite(fx) and np.isfinite(dx) and dx != 0
        new = x - fx / dx if step_ok else np.nan
        if not (min(lo, hi) < new < max(lo, hi)):
            new = (lo + hi) / 2
        if abs(new - x) <= tol * max(1.0, abs(new)):
            return float(new)
        x = new
        fx, dx = fn(x)
    return float(x)


def _profile_ci(
    r: _Evaluator, p: int, beta_hat: FloatArray, ll_max: float, k: int, se_k: float, crit: float
) -> tuple[float, float, float]:
    """Profile penalised-likelihood limits and LR p-value for coordinate ``k``."""

    def prof(b: float) -> float:
        if p == 1:
            ev = r.evaluate(np.array([b]), third=True)
            sign, logdet = np.linalg.slogdet(ev.info)
            return ev.loglik + 0.5 * logdet if sign > 0 else -np.inf
        _, ev, _ = _newton(r, p, firth=True, fixed={k: b})
        sign, logdet = np.linalg.slogdet(ev.info)
        return ev.loglik + 0.5 * logdet if sign > 0 else -np.inf

    def gap(b: float) -> float:
        return 2.0 * (ll_max - prof(b)) - crit

    def gap_and_slope(b: float) -> tuple[float, float]:
        ev = r.evaluate(np.array([b]), third=True)
        info = float(ev.info[0, 0])
        if not info > 0 or ev.dinfo is None:
            return np.inf, np.nan
        pen = ev.loglik + 0.5 * np.log(info)
        pen_score = float(ev.score[0]) + 0.5 * float(ev.dinfo[0, 0, 0]) / info
        return 2.0 * (ll_max - pen) - crit, -2.0 * pen_score

    width = max(se_k if np.isfinite(se_k) and se_k > 0 else 1.0, 0.1)
    if not gap(float(beta_hat[k])) < 0:
        # the profile does not peak at the estimate (a flat or singular penalised
        # likelihood): no interval can be read off it
        return float("nan"), float("nan"), float("nan")
    limits = []
    for direction in (-1.0, 1.0):
        lo = beta_hat[k]
        hi = lo + direction * width
        tries = 0
        while gap(hi) < 0 and tries < 60:
            lo, hi = hi, hi + direction * width * (2.0**tries)
            tries += 1
        if gap(hi) < 0:
            limits.append(direction * np.inf)
            continue
        a, b = (hi, lo) if direction < 0 else (lo, hi)
        if p == 1:
            limits.append(_bracketed_newton(gap_and_slope, lo, hi))
        else:
            limits.append(float(optimize.brentq(gap, a, b, xtol=1e-10, rtol=1e-12, maxiter=500)))
    lr = max(2.0 * (ll_max - prof(0.0)), 0.0)
    return limits[0], limits[1], float(special.chdtrc(1, lr))


def _labels_of(values: Any, n: int, what: str) -> npt.NDArray[Any]:
    """Cluster or stratum labels: one per row, none missing."""
    arr = np.asarray(values, dtype=object).ravel()
    if arr.shape[0] != n:
        raise InputError(f"{what} has {arr.shape[0]} values but durations has {n}")
    missing = pd.isna(pd.Series(arr)).to_numpy()
    if missing.any():
        where = describe_entries(
            None, missing, list(values.index) if isinstance(values, pd.Series) else None
        )
        raise InputError(f"{what} has missing values at {where}")
    return arr


def cox_fit(  # noqa: C901 (listed: may only shrink)
    x: Any,
    durations: Any,
    events: Any,
    *,
    names: Sequence[str] | None = None,
    weights: Any = None,
    cluster: Any = None,
    robust: bool | None = None,
    strata: Any = None,
    ties: Ties = "efron",
    conf_level: float = 0.95,
    firth: bool | Literal["auto", "flag"] = "auto",
    profile: bool = True,
    start: Any = None,
) -> CoxFit:
    """Fit a Cox model on a numeric design matrix (the engine behind :func:`cox`).

    Follows R's ``coxph`` (survival 3.5-3): times equal up to rounding are tied
    first (``aeqSurv``, :func:`~blinastudy.stats.survival.timefix.timefix`); case
    weights enter the Efron or Breslow partial likelihood as in ``coxfit6.c``.
    With ``start`` the rows are counting-process intervals ``(start, stop]``
    (``coxph(Surv(start, stop, event) ~ x)``, R's ``agfit4.c``): a row is at risk
    at an event time ``t`` when ``start < t <= stop``; start and stop times are
    tied jointly (``aeqSurv``). That is how a time-dependent exposure enters the
    model (rows from :func:`~blinastudy.stats.survival.tdc.split_at`); give the
    patient as ``cluster`` for the robust variance by patient. Firth's
    penalised likelihood uses the same risk sets, as ``coxphf`` does for
    counting-process data.

    Parameters
    ----------
    x : array-like, shape (n, p)
        Covariates.
    durations, events : array-like
        Follow-up (stop) times and 0/1 event indicators.
    names : sequence of str, optional
        Covariate names.
    weights : array-like, optional
        Case weights, finite and positive (``coxph(..., weights = w)``, which
        rejects zero weights). A weighted fit is robust unless ``robust=False``;
        with monotone likelihood it is not estimable (``coxphf`` takes no weights).
    cluster : array-like, optional
        Cluster labels: robust sandwich variance from the weighted dfbeta
        residuals summed per cluster, as ``coxph(..., cluster=)``.
    robust : bool, optional
        Robust variance (``coxph(..., robust = TRUE)``); without ``cluster`` each
        row is its own cluster. Default: robust when ``cluster`` or ``weights``
        is given. ``robust=False`` with weights gives the model-based variance
        (R's default for integer weights, read as frequency weights).
    strata : array-like, optional
        Stratum labels: separate baseline hazards, as ``strata()``.
    ties : {"efron", "breslow"}
        Tie handling for maximum likelihood (Firth always uses Breslow, as ``coxphf``).
    conf_level : float
        Confidence level.
    firth : bool or "auto"
        ``"auto"`` switches to Firth's penalised likelihood only when the
        ordinary estimate is infinite (monotone likelihood); not with weights.
        ``"flag"`` detects the same but reports the fit as not estimable (with the
        reason in ``note``) instead of fitting Firth's model.
    profile : bool, default True
        For Firth fits, compute the profile penalised-likelihood intervals and
        p-values; ``False`` leaves them ``NaN`` (a point estimate is enough, e.g.
        inside a bootstrap).
    start : array-like of float, optional
        Start times of counting-process rows (finite, ``0 <= start <
        durations``). ``robust=True`` then needs a ``cluster`` (R stops with "one
        of cluster or id is needed"); with weights alone each row is its own
        cluster, as R.

    Returns
    -------
    CoxFit

    Raises
    ------
    InputError
        Bad times (a start not before its stop time names the patient or
        entry), events, covariates, weights, clusters or strata, or
        contradictory options (``cluster`` with ``robust=False``, Firth with
        weights, ``robust=True`` with ``start`` but no ``cluster``).

    Examples
    --------
    >>> fit = cox_fit([[0], [1], [0], [1]], [1, 2, 3, 4], [1, 1, 1, 0])
    >>> fit.method, round(float(fit.coef[0]), 4)
    ('ml', -0.9406)
    >>> w = cox_fit([[0], [1], [0], [1]], [1, 2, 3, 4], [1, 1, 1, 0], weights=[1, 2, 1, 1])
    >>> w.method, round(float(w.coef[0]), 4), round(float(w.naive_se[0]), 4)
    ('ml-robust', -0.6529, 1.0274)

    Cutting a row in two without changing its covariate leaves the fit as it was:

    >>> cut = cox_fit([[0], [1], [0], [0], [1]], [1, 2, 1.5, 3, 4], [1, 1, 0, 1, 0],
    ...               start=[0, 0, 0, 1.5, 0])
    >>> round(float(cut.coef[0]), 4)
    -0.9406
    """
    if start is None:
        st = None
        (t,) = timefix(as_durations(durations))
    else:
        st, t = as_intervals(start, durations, names=("start", "durations"))
    n = t.size
    e = as_events(events, n=n).astype(float)
    try:
        xa = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise InputError("covariates must be numeric (use cox() for text columns)") from None
    if xa.ndim == 1:
        xa = xa[:, None]
    if xa.ndim != 2:
        raise InputError(f"covariates must be a table (rows x columns), got {xa.ndim} dimensions")
    if xa.shape[0] != n:
        raise InputError(f"covariates have {xa.shape[0]} rows but durations has {n}")
    bad = ~np.isfinite(xa).all(axis=1)
    if bad.any():
        raise InputError(
            f"covariates have missing or infinite values at {describe_entries(None, bad, None)}"
        )
    if ties not in ("efron", "breslow"):
        raise InputError(f"ties must be 'efron' or 'breslow', got {describe_value(ties)}")
    if not (firth is True or firth is False or firth in ("auto", "flag")):
        raise InputError(
            f"firth must be True, False, 'auto' or 'flag', got {describe_value(firth)}"
        )
    require_conf_level(conf_level)
    if not (robust is None or robust is True or robust is False):
        raise InputError(f"robust must be True, False or None, got {describe_value(robust)}")
    weighted = weights is not None
    # R 3.5-3 coxph rejects zero and negative weights ("Invalid weights, must be >0")
    wt = (
        as_weights(
            weights,
            n,
            allow_zero=False,
            why="R's coxph rejects zero and negative weights; leave those rows out",
        )
        if weighted
        else np.ones(n)
    )
    if weighted and firth is True:
        raise InputError(
            "Firth's penalised likelihood (R coxphf) takes no case weights; "
            "use firth='auto' or False with weights"
        )
    if cluster is not None and robust is False:
        raise InputError("cluster needs the robust variance: leave robust at None or True")
    if st is not None and robust is True and cluster is None:
        raise InputError(
            "with (start, stop] rows the robust variance needs a cluster (the patient), "
            "as R's coxph ('one of cluster or id is needed')"
        )
    if robust is None:
        robust = cluster is not None or weighted
    p = xa.shape[1]
    labels = list(names) if names is not None else [f"x{i + 1}" for i in range(p)]
    if len(labels) != p:
        raise InputError(f"names has {len(labels)} entries but the covariates have {p} columns")
    if strata is None:
        s = np.zeros(n, dtype=np.int64)
    else:
        _, s = np.unique(_labels_of(strata, n, "strata").astype(str), return_inverse=True)
        s = np.asarray(s, dtype=np.int64).ravel()
    groups = None
    if cluster is not None:
        groups = _labels_of(cluster, n, "cluster")
    elif robust:
        groups = np.arange(n)  # coxph(robust = TRUE) without cluster: each row its own
    n_events = int(e.sum())
    xc = xa - xa.mean(axis=0)
    keep = independent_columns(xc) if n_events > 0 else []
    if not keep:
        note = "no events" if n_events == 0 else "no covariate varies"
        return _not_estimable(labels, n, n_events, float("nan"), note)
    fit = _fit(xc[:, keep], t, e, wt, weighted, s, groups, ties, conf_level, firth, profile, st)
    if len(keep) == p:
        fit.names = labels
        return fit

    def expand(v: FloatArray) -> FloatArray:
        out = np.full(p, np.nan)
        out[keep] = v
        return out

    def expand_matrix(m: FloatArray) -> FloatArray:
        out = np.full((p, p), np.nan)
        out[np.ix_(keep, keep)] = m
        return out

    estimable = np.zeros(p, dtype=bool)
    estimable[keep] = fit.estimable
    return CoxFit(
        names=labels,
        coef=expand(fit.coef),
        var=expand_matrix(fit.var),
        se=expand(fit.se),
        ci_lower=expand(fit.ci_lower),
        ci_upper=expand(fit.ci_upper),
        p_value=expand(fit.p_value),
        loglik=fit.loglik,
        loglik_null=fit.loglik_null,
        method=fit.method,
        n=fit.n,
        n_events=fit.n_events,
        converged=fit.converged,
        estimable=estimable,
        naive_var=expand_matrix(fit.naive_var),
        naive_se=expand(fit.naive_se),
        note=fit.note,
    )


def _safe_sqrt(values: FloatArray) -> FloatArray:
    """Square roots of variances; a negative one (a singular fit) is not estimable: NaN."""
    out = np.full(values.shape, np.nan)
    ok = values >= 0
    out[ok] = np.sqrt(values[ok])
    return out


def _not_estimable(names: list[str], n: int, n_events: int, ll_null: float, note: str) -> CoxFit:
    p = len(names)
    nan = np.full(p, np.nan)
    return CoxFit(
        names=names,
        coef=nan,
        var=np.full((p, p), np.nan),
        se=nan,
        ci_lower=nan,
        ci_upper=nan,
        p_value=nan,
        loglik=float("nan"),
        loglik_null=ll_null,
        method="not estimable",
        n=n,
        n_events=n_events,
        converged=False,
        estimable=np.zeros(p, dtype=bool),
        naive_var=np.full((p, p), np.nan),
        naive_se=nan,
        note=note,
    )


#: Why a weighted fit with an infinite coefficient is not estimable.
_WEIGHTED_MONOTONE = (
    "monotone likelihood (the hazard ratio is infinite, e.g. no events in one arm); "
    "Firth's correction (R coxphf) takes no case weights"
)


_MONOTONE = (
    "monotone likelihood: a hazard ratio is infinite (e.g. no events in an arm or a "
    "covariate level), as R's coxph warns"
)


def _fit(
    xc: FloatArray,
    t: FloatArray,
    e: FloatArray,
    wt: FloatArray,
    weighted: bool,
    s: npt.NDArray[np.int64],
    groups: npt.NDArray[Any] | None,
    ties: Ties,
    conf_level: float,
    firth: bool | Literal["auto", "flag"],
    profile: bool = True,
    start: FloatArray | None = None,
) -> CoxFit:
    """Fit on a centred full-rank design with at least one event.

    ``groups`` are the clusters of the robust variance (``None``: model-based);
    ``start`` the start times of counting-process rows (``t`` their stop times).
    """
    p = xc.shape[1]
    n = t.size
    names = [f"x{i + 1}" for i in range(p)]
    n_events = int(e.sum())
    z = float(special.ndtri(1 - (1 - conf_level) / 2))
    few = np.unique(s).size == 1 and np.unique(xc, axis=0).shape[0] <= _PatternRisk.MAX_PATTERNS

    def risk(tie_method: Ties) -> _Evaluator:
        if few:
            return _PatternRisk.build(xc, t, e, wt, tie_method, start)
        return _prepare(xc, t, e, wt, s, tie_method, start)

    r = risk(ties)
    ll_null = r.evaluate(np.zeros(p)).loglik
    if _no_information(xc, t, e, s, start).any():
        # constant within every risk set with a death: flat (penalised) likelihood
        return _not_estimable(
            names, n, n_events, ll_null, "a covariate is constant within the risk sets at events"
        )
    detect = firth in ("auto", "flag")
    use_firth = firth is True or (detect and _empty_level(xc, e))
    if not use_firth:
        beta, ev, converged = _newton(r, p, firth=False, max_iter=_ITER_MAX)
        spread = np.ptp(xc, axis=0)
        if detect and (_diverging(beta, ev.info, ev.score, np.arange(p), spread) or not converged):
            use_firth = True
    if use_firth and firth == "flag":
        return _not_estimable(names, n, n_events, ll_null, _MONOTONE)
    if use_firth and weighted:
        return _not_estimable(names, n, n_events, ll_null, _WEIGHTED_MONOTONE)
    if not use_firth and (not np.all(np.isfinite(ev.info)) or np.linalg.matrix_rank(ev.info) < p):
        # No information about a coefficient (e.g. the covariate is constant within every
        # risk set with a death): coxph reports NA, not a zero standard error.
        return _not_estimable(names, n, n_events, ll_null, "singular information matrix")
    if not use_firth:
        naive = np.asarray(np.linalg.pinv(ev.info), dtype=np.float64)
        var = naive
        method = "ml"
        if groups is not None:
            var = _robust_variance(r, xc, t, e, wt, s, ties, beta, ev, naive, groups, start)
            method = "ml-robust"
        se = _safe_sqrt(np.diag(var))
        with np.errstate(divide="ignore", invalid="ignore"):  # se 0: no z (NaN, as R's NA)
            zstat = beta / se
        return CoxFit(
            names=names,
            coef=beta,
            var=var,
            se=se,
            ci_lower=beta - z * se,
            ci_upper=beta + z * se,
            p_value=2 * special.ndtr(-np.abs(zstat)),
            loglik=ev.loglik,
            loglik_null=ll_null,
            method=method,
            n=n,
            n_events=n_events,
            converged=converged,
            estimable=np.ones(p, dtype=bool),
            naive_var=naive,
            naive_se=_safe_sqrt(np.diag(naive)),
        )
    # Firth's penalised likelihood, Breslow ties as coxphf
    rb = risk("breslow")
    beta, ev, converged = _newton(rb, p, firth=True)
    sign, logdet = np.linalg.slogdet(ev.info)
    if sign <= 0:
        return _not_estimable(
            names, n, n_events, ll_null, "Firth's penalised likelihood has no maximum"
        )
    if not converged:
        return _not_estimable(
            names, n, n_events, ll_null, "Firth's penalised likelihood did not converge"
        )
    ll_max = ev.loglik + 0.5 * logdet
    var = np.asarray(np.linalg.inv(ev.info), dtype=np.float64)
    se = _safe_sqrt(np.diag(var))
    crit = float(special.chdtri(1, 1 - conf_level))
    lo, hi, pv = np.full(p, np.nan), np.full(p, np.nan), np.full(p, np.nan)
    for k in range(p if profile else 0):
        lo[k], hi[k], pv[k] = _profile_ci(rb, p, beta, ll_max, k, se[k], crit)
    ll0 = rb.evaluate(np.zeros(p), third=True)
    sign0, logdet0 = np.linalg.slogdet(ll0.info)
    return CoxFit(
        names=names,
        coef=beta,
        var=var,
        se=se,
        ci_lower=lo,
        ci_upper=hi,
        p_value=pv,
        loglik=ll_max,
        loglik_null=ll0.loglik + 0.5 * logdet0 if sign0 > 0 else float("nan"),
        method="firth",
        n=n,
        n_events=n_events,
        converged=converged,
        estimable=np.ones(p, dtype=bool),
        naive_var=var,
        naive_se=se,
    )


def _robust_variance(
    r: _Evaluator,
    xc: FloatArray,
    t: FloatArray,
    e: FloatArray,
    wt: FloatArray,
    s: npt.NDArray[np.int64],
    ties: Ties,
    beta: FloatArray,
    ev: _Eval,
    naive: FloatArray,
    groups: npt.NDArray[Any],
    start: FloatArray | None = None,
) -> FloatArray:
    """R's robust variance: weighted dfbeta residuals summed per cluster, ``D' D``.

    ``residuals(fit, type = "dfbeta", weighted = TRUE, collapse = cluster)``: each
    row's score residual times its case weight, times the model-based variance.
    """
    if not isinstance(r, _Risk):  # score residuals need the rows
        r = _prepare(xc, t, e, wt, s, ties, start)
        ev = r.evaluate(beta)
    resid = _score_residuals(r, beta, ev)
    dfbeta = (resid * r.wt[:, None]) @ naive
    _, cid = np.unique(groups[r.order].astype(str), return_inverse=True)
    cid = np.asarray(cid).ravel()
    summed = np.zeros((int(cid.max()) + 1, beta.size))
    np.add.at(summed, cid, dfbeta)
    return np.asarray(summed.T @ summed, dtype=np.float64)


def cox(
    frame: pd.DataFrame,
    duration: str,
    event: str,
    covariates: Sequence[str],
    *,
    weights: str | None = None,
    cluster: str | None = None,
    robust: bool | None = None,
    strata: str | None = None,
    reference: Mapping[str, Any] | None = None,
    ties: Ties = "efron",
    conf_level: float = 0.95,
    firth: bool | Literal["auto", "flag"] = "auto",
    start: str | None = None,
) -> pd.DataFrame:
    """Hazard ratios from a Cox model, as R ``summary(coxph(...))``.

    With ``start``, ``summary(coxph(Surv(start, duration, event) ~ ...,
    cluster = id))`` on counting-process rows (a time-dependent exposure, e.g.
    from :func:`~blinastudy.stats.survival.tdc.split_at`): see :func:`cox_fit`.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per patient, or per ``(start, stop]`` interval with ``start``.
    duration, event : str
        Column names of the follow-up (stop) time and the 0/1 event indicator.
        Times equal up to rounding are tied first, as ``coxph`` (``aeqSurv``).
    covariates : sequence of str
        Covariate columns; text or categorical columns become indicators with
        R's names (``risk_groupHR``) against a reference level
        (:func:`reference_levels`).
    weights : str, optional
        Column of case weights (finite, positive): ``coxph(..., weights = w,
        robust = TRUE)``; the standard errors are then robust unless
        ``robust=False``.
    cluster : str, optional
        Column of cluster labels (e.g. matched pair): robust sandwich standard
        errors, Wald CIs and p-values, as ``coxph(..., cluster=)``.
    robust : bool, optional
        Robust standard errors without a cluster column (each patient its own
        cluster), as ``coxph(..., robust = TRUE)``. Default: robust when
        ``cluster`` or ``weights`` is given.
    strata : str, optional
        Column of stratum labels (separate baseline hazards).
    reference : mapping of str to level, optional
        Reference level per categorical covariate (R's ``relevel``); the others
        get the default of :func:`reference_levels`.
    ties : {"efron", "breslow"}, default "efron"
        Tie handling (R's default is Efron).
    conf_level : float, default 0.95
        Confidence level.
    firth : bool or "auto", default "auto"
        When the ordinary estimate is infinite (monotone likelihood, e.g. no
        events in one arm), return Firth's penalised estimate with profile
        likelihood CIs, as R ``coxphf``; ``method`` says which was used. Not
        with weights: such a weighted fit is "not estimable".
    start : str, optional
        Column of start times of counting-process rows (``0 <= start <
        duration``); pass the patient column as ``cluster`` for robust
        standard errors by patient.

    Returns
    -------
    pandas.DataFrame
        Indexed by covariate, columns :data:`COX_COLUMNS`: ``hr, ci_lower,
        ci_upper, se, p_value, method, reference``; ``se`` is that of the log
        hazard ratio (robust when ``method`` is ``"ml-robust"``); ``reference``
        is the reference level of a categorical covariate's rows (``""`` for
        numeric ones). ``attrs`` holds ``n``, ``n_events``, ``loglik``,
        ``method`` and ``note`` (why not estimable).

    Raises
    ------
    InputError
        Missing columns, bad times, events or weights, missing covariate
        values, a reference level not in the data.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6], "e": [1, 1, 0, 1, 1, 0],
    ...                   "arm": [0, 1, 0, 1, 0, 1]})
    >>> round(float(cox(f, "t", "e", ["arm"]).loc["arm", "hr"]), 4)
    0.7604
    >>> g = f.assign(risk=["LR", "HR", "LR", "HR", "HR", "LR"])
    >>> cox(g, "t", "e", ["risk"]).loc["riskLR", "reference"]
    'HR'
    """
    frame = require_frame(frame)
    cols = [duration, event, *covariates]
    for extra in (weights, cluster, strata, start):
        if extra is not None:
            cols.append(extra)
    require_columns(frame, cols)
    design, refs = _design(frame, covariates, reference)
    fit = _frame_fit(
        frame,
        design,
        duration,
        event,
        weights=weights,
        cluster=cluster,
        strata=strata,
        start=start,
        robust=robust,
        ties=ties,
        conf_level=conf_level,
        firth=firth,
    )
    table = fit.table(refs)
    table.attrs.update(
        {
            "n": fit.n,
            "n_events": fit.n_events,
            "loglik": fit.loglik,
            "method": fit.method,
            "note": fit.note,
        }
    )
    return table


def _frame_fit(
    frame: pd.DataFrame,
    design: pd.DataFrame,
    duration: str,
    event: str,
    *,
    weights: str | None,
    cluster: str | None,
    strata: str | None,
    start: str | None,
    **options: Any,
) -> CoxFit:
    """:func:`cox_fit` of ``design`` with the named columns of ``frame`` (``None``: not used).

    ``options`` go to :func:`cox_fit` as they are.
    """

    def column(name: str | None) -> pd.Series[Any] | None:
        return None if name is None else frame[name]

    return cox_fit(
        design.to_numpy(),
        frame[duration],
        frame[event],
        names=list(design.columns),
        weights=column(weights),
        cluster=column(cluster),
        strata=column(strata),
        start=column(start),
        **options,
    )


def firth_replicates(treated: Any, durations: Any, events: Any, counts: Any) -> FloatArray:
    """Firth's log hazard ratio of a 0/1 covariate for many frequency-weighted copies.

    Row ``b`` of ``counts`` says how often each patient appears in copy ``b`` (a
    bootstrap replicate). The estimate maximises the penalised Breslow partial
    likelihood ``l(beta) + log(I(beta)) / 2``, the :func:`cox_fit` Firth fit (as R
    ``coxphf``) on the sample with rows repeated that often; with one binary
    covariate it depends only on counts at risk and deaths per arm and time, so
    all copies are solved at once by Newton's method with step halving. ``NaN``
    for a copy without an event or without one of the arms.

    Examples
    --------
    >>> import numpy as np
    >>> x, t, e = [1, 1, 1, 0, 0, 0], [5.0, 6, 7, 1, 2, 3], [0, 0, 0, 1, 1, 1]
    >>> b = firth_replicates(x, t, e, np.ones((1, 6)))[0]
    >>> bool(np.isclose(b, cox_fit(x, t, e, firth=True).coef[0], rtol=1e-9))
    True
    """
    (t,) = timefix(as_durations(durations))
    e = as_events(events, n=t.size).astype(float)
    x = np.asarray(treated, dtype=float).ravel()
    if x.size != t.size or not np.isin(x, (0.0, 1.0)).all():
        raise InputError("treated must be 0/1 with one value per duration")
    w = np.atleast_2d(np.asarray(counts, dtype=float))
    grid = np.unique(t[e > 0])
    at_risk = (t[:, None] >= grid[None, :]).astype(float)
    died = ((t[:, None] == grid[None, :]) & (e[:, None] > 0)).astype(float)
    n1, n0 = w @ (at_risk * x[:, None]), w @ (at_risk * (1 - x[:, None]))
    d1, d = w @ (died * x[:, None]), w @ died
    ok = (d.sum(axis=1) > 0) & ((w * x).sum(axis=1) > 0) & ((w * (1 - x)).sum(axis=1) > 0)

    def penalised(beta: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            r = n1 * np.exp(beta[:, None])
            s = n0 + r
            p = np.where(s > 0, r / s, 0.0)
            ll = (d1 * beta[:, None] - np.where(d > 0, d * np.log(s), 0.0)).sum(axis=1)
            info = (d * p * (1 - p)).sum(axis=1)
            i1 = (d * p * (1 - p) * (1 - 2 * p)).sum(axis=1)
            i2 = (d * p * (1 - p) * (1 - 6 * p + 6 * p * p)).sum(axis=1)
            score = (d1 - d * p).sum(axis=1) + 0.5 * i1 / info
            hess = -info + 0.5 * (i2 / info - (i1 / info) ** 2)
            return ll + 0.5 * np.log(info), score, hess

    beta = np.zeros(w.shape[0])
    obj, score, hess = penalised(beta)
    for _ in range(100):
        step = np.where(hess < 0, -score / hess, np.sign(score))
        step = np.clip(step, -5.0, 5.0)
        new = beta + step
        new_obj, new_score, new_hess = penalised(new)
        for _ in range(30):  # halve steps that do not increase the penalised likelihood
            worse = ~(new_obj >= obj - 1e-12)
            if not worse.any():
                break
            step = np.where(worse, step / 2, step)
            new = beta + step
            new_obj, new_score, new_hess = penalised(new)
        done = np.abs(new - beta) < 1e-12 * (1 + np.abs(beta))
        beta, obj, score, hess = new, new_obj, new_score, new_hess
        if done[ok].all():
            break
    return np.asarray(np.where(ok & np.isfinite(beta), beta, np.nan), dtype=np.float64)

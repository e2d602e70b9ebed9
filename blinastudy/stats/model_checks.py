"""Checks of a fitted hazard ratio: proportional hazards, and the restricted mean
survival difference to read beside it.

A hazard ratio summarises the whole follow-up in one number only when the hazards
are proportional. :func:`ph_check` runs R's ``cox.zph`` test on the model behind a
hazard ratio (survival 3.5-3, ``transform = "km"``, the default) and condenses the
scaled Schoenfeld residuals into bins of at least five events each, so a page can
draw ``beta(t)`` without sending a patient's residual to the browser.
:func:`rmst_comparison` gives the difference in restricted mean survival time up to
the horizon, which stays interpretable when the hazards cross.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from blinastudy.core.errors import InputError
from blinastudy.core.validate import FloatArray
from blinastudy.stats.bootstrap import BootstrapResult
from blinastudy.stats.survival import cox_zph
from blinastudy.stats.survival.rmst import rmst_difference

__all__ = [
    "PH_ALPHA",
    "PhCheck",
    "RmstComparison",
    "ph_check",
    "rmst_comparison",
]

#: Level below which the proportional-hazards p-value earns a warning.
PH_ALPHA = 0.05
#: Fewest events in a bin of the residual summary.
MIN_BIN_EVENTS = 5


@dataclass(frozen=True)
class PhCheck:
    """The proportional-hazards test of one Cox model (R's ``cox.zph``).

    Attributes
    ----------
    p_value : float
        p-value of ``term`` in ``cox.zph(fit, transform = "km")``; ``NaN`` when
        the model cannot be tested (``note`` says why).
    chisq : float
        Its chi-square statistic.
    df : int
        Its degrees of freedom.
    term : str
        The covariate tested (the first of the model), whose residuals ``bins``
        summarises.
    global_p : float
        The ``GLOBAL`` p-value (all covariates; equal to ``p_value`` with one).
    coef : float
        That covariate's log hazard ratio (the line ``beta(t)`` would follow under
        proportional hazards).
    bins : pandas.DataFrame
        Columns ``time_from``, ``time_to`` (months), ``events``, ``beta`` (mean
        scaled Schoenfeld residual, an estimate of the log hazard ratio over those
        months), ``ci_lower``, ``ci_upper`` (t interval of the mean at 95 %).
    note : str
        Why the test is missing, or empty.
    """

    p_value: float
    chisq: float = float("nan")
    df: int = 0
    term: str = ""
    global_p: float = float("nan")
    coef: float = float("nan")
    bins: pd.DataFrame = field(default_factory=pd.DataFrame)
    note: str = ""

    @property
    def violated(self) -> bool:
        """Whether the test rejects proportional hazards at :data:`PH_ALPHA`."""
        return bool(np.isfinite(self.p_value) and self.p_value < PH_ALPHA)


def _bins(residuals: pd.DataFrame, term: str) -> pd.DataFrame:
    """Mean scaled Schoenfeld residual per run of consecutive event times."""
    res = residuals[["time", term]].dropna().sort_values("time", kind="stable")
    n = len(res)
    k = n // MIN_BIN_EVENTS
    columns = ["time_from", "time_to", "events", "beta", "ci_lower", "ci_upper"]
    if k == 0:
        return pd.DataFrame(columns=columns)
    k = min(k, 8)
    times = res["time"].to_numpy(dtype=float)
    values = res[term].to_numpy(dtype=float)
    # cut between distinct times only, so that a tied time never straddles two bins
    cuts = np.unique(np.quantile(times, np.linspace(0, 1, k + 1)[1:-1], method="lower"))
    label = np.searchsorted(cuts, times, side="left")
    rows: list[dict[str, FloatArray]] = []
    for b in np.unique(label):
        v = values[label == b]
        t = times[label == b]
        if v.size < MIN_BIN_EVENTS and rows:
            # too few events at the end: join the previous bin
            prev = rows.pop()
            v = np.concatenate([prev["_v"], v])
            t = np.concatenate([prev["_t"], t])
        rows.append({"_v": v, "_t": t})
    if len(rows) > 1 and rows[0]["_v"].size < MIN_BIN_EVENTS:
        first = rows.pop(0)
        rows[0] = {
            "_v": np.concatenate([first["_v"], rows[0]["_v"]]),
            "_t": np.concatenate([first["_t"], rows[0]["_t"]]),
        }
    out = []
    for row in rows:
        v, t = row["_v"], row["_t"]
        mean = float(v.mean())
        half = (
            float(stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size))
            if v.size > 1
            else float("nan")
        )
        out.append(
            {
                "time_from": float(t.min()),
                "time_to": float(t.max()),
                "events": int(v.size),
                "beta": mean,
                "ci_lower": mean - half,
                "ci_upper": mean + half,
            }
        )
    return pd.DataFrame(out, columns=columns)


def ph_check(
    frame: pd.DataFrame,
    duration: str,
    event: str,
    covariates: Sequence[str],
    *,
    start: str | None = None,
    weights: str | None = None,
    strata: str | None = None,
) -> PhCheck:
    """Test proportional hazards for a Cox model, as ``cox.zph(coxph(...))``.

    The model is :func:`~blinastudy.stats.survival.cox` of ``covariates`` (the first
    is the one reported, e.g. the arm, the others adjust) (Efron ties;
    with ``start``, ``(start, stop]`` rows; case ``weights``; ``strata``) and the
    test that of :func:`~blinastudy.stats.survival.ph_test` with ``transform = "km"``.
    A model that cannot be fitted or tested (no events, an infinite hazard ratio)
    gives ``p_value`` ``NaN`` and a ``note`` instead of an error.

    Parameters
    ----------
    frame : pandas.DataFrame
        Clean rows (validated by the caller).
    duration, event : str
        Columns of the follow-up (stop) time and the 0/1 event.
    covariates : sequence of str
        Model covariates; the first is the one whose residuals are binned.
    start, weights, strata : str, optional
        Columns of counting-process start times, case weights, strata.

    Returns
    -------
    PhCheck

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    ...                   "e": [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
    ...                   "x": [1, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 1]})
    >>> chk = ph_check(f, "t", "e", ["x"])
    >>> chk.df, 0 < chk.p_value < 1, int(chk.bins["events"].sum())
    (1, True, 12)
    >>> ph_check(f.assign(e=0), "t", "e", ["x"]).note
    'not testable: no events'
    """
    if not (frame[event].to_numpy(dtype=float) > 0).any():
        return PhCheck(float("nan"), note="not testable: no events")
    term = covariates[0]
    try:
        zph = cox_zph(
            frame, duration, event, covariates, start=start, weights=weights, strata=strata
        )
    except InputError as exc:
        return PhCheck(float("nan"), note=str(exc))
    table, resid = zph.table, zph.residuals
    row = table.loc[term] if term in table.index else table.loc["GLOBAL"]
    # the residuals estimate beta(t); the line to compare them with is the model's beta
    coef = zph.coef.get(term, float("nan"))
    return PhCheck(
        p_value=float(row["p_value"]),
        chisq=float(row["chisq"]),
        df=int(row["df"]),
        term=term,
        global_p=float(table["p_value"].to_numpy(dtype=float)[-1]),  # GLOBAL is last
        coef=coef,
        bins=_bins(resid, term) if term in resid.columns else pd.DataFrame(),
    )


@dataclass(frozen=True)
class RmstComparison:
    """Restricted mean survival time up to ``tau`` per arm, and their difference.

    Attributes
    ----------
    tau : float
        Truncation time (months from the time origin).
    rmst : dict of str to float
        Restricted mean per arm (``"treated"``, ``"control"``).
    se : dict of str to float
        R's ``se(rmean)`` per arm.
    difference : float
        Treated minus control, in months.
    ci_lower, ci_upper : float
        Its interval at ``conf_level``.
    p_value : float
        Two-sided p of the normal approximation (``NaN`` with a bootstrap interval).
    conf_level : float
        Level of the interval.
    method : str
        How the interval was made.
    bootstrap : BootstrapResult or None
        The pair bootstrap behind the interval on a matched sample.
    note : str
        Why nothing is estimated, or empty.
    """

    tau: float
    rmst: dict[str, float]
    se: dict[str, float]
    difference: float
    ci_lower: float
    ci_upper: float
    p_value: float
    conf_level: float
    method: str
    bootstrap: BootstrapResult | None = None
    note: str = ""


def rmst_comparison(
    durations: FloatArray,
    events: npt.NDArray[np.int64],
    treated: FloatArray,
    tau: float,
    *,
    weights: FloatArray | None = None,
    resample: npt.NDArray[np.generic] | None = None,
    replicates: int = 0,
    random_state: int = 0,
    conf_level: float = 0.95,
) -> RmstComparison:
    """Restricted mean survival up to ``tau``: each arm and treated minus control.

    Each arm's restricted mean and standard error are those of
    :func:`~blinastudy.stats.survival.restricted_mean` (``print(survfit(...), rmean =
    tau)``, with case weights when given). Independent arms get the Wald
    interval of :func:`~blinastudy.stats.survival.rmst_difference`; with ``resample``
    (the matched set of every row) and ``replicates`` > 0 the interval is the
    percentile interval of a bootstrap of whole matched sets instead, which
    respects the pairing. When an arm is not followed up to ``tau`` the curve
    would be carried on flat; nothing is estimated then (``note`` says so).

    Parameters
    ----------
    durations, events, treated : numpy.ndarray
        Clean follow-up times, 0/1 events and 0/1 arm (1 treated) per row.
    tau : float
        Truncation time, > 0.
    weights : numpy.ndarray, optional
        Case weights per row (matching or propensity weights).
    resample : numpy.ndarray, optional
        Matched set per row, for the pair bootstrap.
    replicates : int, default 0
        Bootstrap replicates (0: normal approximation).
    random_state : int, default 0
        Seed of the bootstrap.
    conf_level : float, default 0.95
        Level of the interval.

    Returns
    -------
    RmstComparison

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([1.0, 2, 3, 4, 5, 6]); e = np.array([1, 1, 1, 1, 1, 1])
    >>> x = np.array([0.0, 0, 0, 1, 1, 1])
    >>> res = rmst_comparison(t, e, x, 3.0)
    >>> round(res.rmst["control"], 12), round(res.difference, 12)  # 3 - (1 + 2 + 3) / 3
    (2.0, 1.0)
    """
    arms = {"treated": treated == 1.0, "control": treated == 0.0}
    nan = float("nan")
    last = {k: float(durations[m].max()) if m.any() else nan for k, m in arms.items()}
    if not all(np.isfinite(v) for v in last.values()):
        return RmstComparison(
            tau, {}, {}, nan, nan, nan, nan, conf_level, "", note="an arm is empty"
        )
    short = [k for k, v in last.items() if v < tau]
    if short or tau < float(durations.min()):
        return RmstComparison(
            tau,
            {},
            {},
            nan,
            nan,
            nan,
            nan,
            conf_level,
            "",
            note=(
                f"follow-up of the {' and '.join(short)} arm ends before {tau:g} months"
                if short
                else f"{tau:g} months is before the first follow-up time"
            ),
        )
    two = rmst_difference(
        durations,
        events,
        treated,
        tau,
        reference=0.0,
        conf_level=conf_level,
        weights=weights,
        clusters=resample if replicates > 0 else None,
        replicates=replicates,
        random_state=random_state,
    )
    one = {"treated": two.rmst_group, "control": two.rmst_reference}
    method = two.method + (
        " (weights taken as fixed)" if weights is not None and two.bootstrap is None else ""
    )
    return RmstComparison(
        tau=tau,
        rmst={k: v.rmst for k, v in one.items()},
        se={k: v.se for k, v in one.items()},
        difference=two.difference,
        ci_lower=two.ci_lower,
        ci_upper=two.ci_upper,
        p_value=two.p_value,
        conf_level=conf_level,
        method=method,
        bootstrap=two.bootstrap,
    )

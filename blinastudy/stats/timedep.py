"""Blinatumomab as a time-dependent exposure: the remedy for immortal time.

Every patient counts as unexposed from diagnosis until the first blinatumomab
dose and as exposed afterwards (controls stay unexposed). The follow-up is split
at the first dose (:func:`~blinastudy.stats.survival.split_at`, R's ``tmerge``); the
hazard ratio is the Cox model on the ``(start, stop]`` rows
(``coxph(Surv(start, stop, event) ~ exposed, cluster = id)``), the test the
Mantel-Byar score test, and the curves Simon and Makuch's: a Kaplan-Meier per
exposure state with delayed entry, the exposed curve starting at the first dose.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from blinastudy.stats.model_checks import PhCheck, ph_check
from blinastudy.stats.survival import (
    COX_COLUMNS,
    LogRankResult,
    cox_fit,
    kaplan_meier,
    logrank,
    split_at,
)
from blinastudy.stats.survival.km import ConfType

__all__ = ["EXPOSED", "TimeDependentResult", "time_dependent_exposure"]

#: The exposure column of the split rows.
EXPOSED = "exposed"
_ID = "_row"
_AT = "_at"
#: Names of the two exposure states in :attr:`TimeDependentResult.curves`.
STATES = ("exposed", "unexposed")


@dataclass
class TimeDependentResult:
    """Blinatumomab as a time-dependent exposure, on one sample and endpoint.

    Attributes
    ----------
    population : str
        The sample in words.
    hazard_ratio : pandas.DataFrame
        One row (exposed versus unexposed), columns of
        :data:`~blinastudy.stats.survival.COX_COLUMNS`: the Cox model on the split rows,
        robust by ``cluster`` (the patient, or the matched set).
    test : LogRankResult or None
        The Mantel-Byar test (score test of the same model without clusters or
        weights); ``None`` for a weighted sample, where ``p_value`` is the
        robust Wald p of the weighted model.
    test_label : str
        Which test ``p_value`` is.
    p_value : float
        The p-value shown with the hazard ratio.
    counts : dict of str to float
        ``patients``, ``exposed_patients`` (with exposed follow-up), events and
        months of follow-up in each state (``events_exposed``,
        ``events_unexposed``, ``months_exposed``, ``months_unexposed``).
    curves : pandas.DataFrame
        Simon-Makuch curves: ``state`` (exposed/unexposed), ``time``,
        ``survival``, ``ci_lower``, ``ci_upper``, ``n_at_risk``; each curve
        starts at its first entry time with survival 1.
    ph : PhCheck
        The proportional-hazards test of the model.
    excluded : pandas.DataFrame
        ``patient_id``, ``arm``, ``reason`` of patients left out.
    notes : list of str
        Sentences to show beside the numbers.
    """

    population: str
    hazard_ratio: pd.DataFrame
    test: LogRankResult | None
    test_label: str
    p_value: float
    counts: dict[str, float]
    curves: pd.DataFrame
    ph: PhCheck
    excluded: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def _curve(km: pd.DataFrame, origin: float, entered: int, state: str) -> pd.DataFrame:
    """Curve points from ``(origin, 1)``; ``entered`` rows are at risk at the origin."""
    surv = km["survival"].to_numpy(dtype=float)
    lo = km["ci_lower"].to_numpy(dtype=float)
    hi = km["ci_upper"].to_numpy(dtype=float)
    return pd.DataFrame(
        {
            "state": state,
            "time": np.r_[origin, km["time"].to_numpy(dtype=float)],
            "survival": np.r_[1.0, surv],
            "ci_lower": np.r_[1.0, np.where(np.isnan(lo) & (surv == 1), 1.0, lo)],
            "ci_upper": np.r_[1.0, np.where(np.isnan(hi) & (surv == 1), 1.0, hi)],
            "n_at_risk": np.r_[entered, km["n_at_risk"].to_numpy()],
        }
    )


def time_dependent_exposure(
    frame: pd.DataFrame,
    duration: str,
    event: str,
    *,
    treated: str,
    start: str,
    cluster: str | None = None,
    weights: str | None = None,
    population: str = "all patients",
    conf_level: float = 0.95,
    conf_type: ConfType = "log-log",
) -> TimeDependentResult:
    """Compare exposed and unexposed follow-up, exposure starting at the first dose.

    Parameters
    ----------
    frame : pandas.DataFrame
        Clean rows, one per patient (or per use of a reused control), indexed by
        patient identifier, with ``arm``.
    duration, event : str
        Columns of the follow-up time from diagnosis and the 0/1 event.
    treated : str
        0/1 column: 1 for the blinatumomab arm.
    start : str
        Column of months from diagnosis to the first dose (treated patients).
    cluster : str, optional
        Column of the robust-variance cluster (the matched set); by default each
        row's patient, as ``coxph(..., cluster = id)``.
    weights : str, optional
        Column of case weights (propensity or matching weights).
    population : str
        The sample in words.
    conf_level : float, default 0.95
        Level of the intervals.
    conf_type : {"log-log", "log", "plain"}
        Interval of the Simon-Makuch curves.

    Returns
    -------
    TimeDependentResult

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"arm": ["blinatumomab"] * 4 + ["chemotherapy"] * 4,
    ...                   "t": [10.0, 12, 9, 14, 3, 8, 11, 6], "e": [0, 1, 0, 0, 1, 1, 0, 1],
    ...                   "x": [1, 1, 1, 1, 0, 0, 0, 0], "s": [4.0, 5, 2, 6, None, None, None, None]},
    ...                  index=pd.Index(list("ABCDEFGH"), name="patient_id"))
    >>> res = time_dependent_exposure(f, "t", "e", treated="x", start="s")
    >>> res.counts["exposed_patients"], res.counts["events_exposed"], res.test_label
    (4, 1, 'Mantel-Byar')
    >>> sorted(res.curves["state"].unique())
    ['exposed', 'unexposed']
    """
    is_treated = frame[treated].to_numpy(dtype=float) == 1.0
    at = frame[start].to_numpy(dtype=float) if start in frame else np.full(len(frame), np.nan)
    t = frame[duration].to_numpy(dtype=float)
    unknown = is_treated & np.isnan(at)
    no_time = t <= 0
    drop = unknown | no_time
    excluded = pd.DataFrame(
        {
            "patient_id": frame.index[drop].astype(str),
            "arm": frame["arm"].to_numpy()[drop],
            "reason": np.where(
                unknown[drop],
                "blinatumomab start not recorded",
                "no follow-up time (0 months)",
            ),
        }
    ).drop_duplicates("patient_id")
    keep = ~drop
    slim = pd.DataFrame(
        {
            _ID: np.arange(int(keep.sum())),
            duration: t[keep],
            event: frame[event].to_numpy(dtype=float)[keep].astype(np.int64),
            _AT: np.where(is_treated, at, np.nan)[keep],
        },
        index=frame.index[keep],
    )
    if cluster is not None:
        slim[cluster] = frame[cluster].to_numpy()[keep]
    if weights is not None:
        slim[weights] = frame[weights].to_numpy(dtype=float)[keep]
    rows = split_at(slim, id=_ID, duration=duration, event=event, at=_AT, name=EXPOSED)
    s = rows["start"].to_numpy(dtype=float)
    stop = rows["stop"].to_numpy(dtype=float)
    e = rows[event].to_numpy(dtype=np.int64)
    x = rows[EXPOSED].to_numpy(dtype=float)
    w = None if weights is None else rows[weights].to_numpy(dtype=float)
    groups = rows[cluster].to_numpy() if cluster is not None else rows[_ID].to_numpy()
    fit = cox_fit(
        x[:, None],
        stop,
        e,
        names=[EXPOSED],
        start=s,
        cluster=groups,
        weights=w,
        conf_level=conf_level,
    )
    hr = fit.table()
    hr.index = pd.Index(["blinatumomab exposure (time-dependent)"], name="comparison")
    notes: list[str] = []
    test: LogRankResult | None = None
    if w is None:
        test = logrank(stop, e, x, entry=s)
        label, p = "Mantel-Byar", float(test.p_value)
        if cluster is not None:
            label = "Mantel-Byar (ignores the matching)"
    else:
        label, p = "robust Wald (weighted Cox)", float(hr["p_value"].iloc[0])
    exposed = x == 1.0
    counts: dict[str, float] = {
        "patients": int(keep.sum()),
        "exposed_patients": int(np.unique(rows[_ID].to_numpy()[exposed]).size),
        "events_exposed": int(e[exposed].sum()),
        "events_unexposed": int(e[~exposed].sum()),
        "months_exposed": float((stop - s)[exposed].sum()),
        "months_unexposed": float((stop - s)[~exposed].sum()),
    }
    curves = []
    for state, mask in zip(STATES, (exposed, ~exposed), strict=True):
        if not mask.any():
            continue
        km = kaplan_meier(
            stop[mask],
            e[mask],
            entry=s[mask],
            weights=None if w is None else w[mask],
            conf_level=conf_level,
            conf_type=conf_type,
        )
        origin = float(s[mask].min())
        curves.append(_curve(km, origin, int((s[mask] <= origin).sum()), state))
    curve = (
        pd.concat(curves, ignore_index=True)
        if curves
        else pd.DataFrame(
            columns=["state", "time", "survival", "ci_lower", "ci_upper", "n_at_risk"]
        )
    )
    if exposed.any():
        early = curve[(curve["state"] == "exposed") & (curve["n_at_risk"] < 10)]
        if len(early) and float(early["time"].min()) < float(np.median(s[exposed])):
            notes.append(
                "The exposed curve starts with few patients at risk (the earliest first "
                "doses): its first steps are large and uncertain."
            )
    ph = ph_check(
        rows.assign(**{EXPOSED: x}),
        "stop",
        event,
        [EXPOSED],
        start="start",
        weights=weights,
    )
    if fit.method == "not estimable" and fit.note:
        notes.append(f"Hazard ratio not estimable: {fit.note}.")
    if fit.method == "firth":
        notes.append(
            "Firth's penalised estimate (no events in one exposure state): its "
            "profile-likelihood interval does not use the robust variance by "
            + ("matched set." if cluster is not None else "patient.")
        )
    return TimeDependentResult(
        population=population,
        hazard_ratio=hr.reindex(columns=COX_COLUMNS),
        test=test,
        test_label=label,
        p_value=p,
        counts=counts,
        curves=curve,
        ph=ph,
        excluded=excluded,
        notes=notes,
    )

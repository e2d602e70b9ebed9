"""Treatment effect by subgroup: the rows of a forest plot.

Each level of each ``by`` variable gets its own Cox model of the treatment
alone (Firth's penalised estimate when an arm has no events, "not estimable"
when the level has no events or a single arm). The interaction p-value is the
likelihood-ratio test of the treatment-by-variable interaction in a Cox model
of the whole sample (R: ``anova(coxph(S ~ treat + var), coxph(S ~ treat * var))``);
it uses the maximised ordinary partial likelihoods, which stay finite under
monotone likelihood. Missing values of a ``by`` variable form their own level,
``"(missing)"``, so no patient silently disappears from a forest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import special

from blinastudy.errors import InputError
from blinastudy.survival.coxph import cox_fit, independent_columns
from blinastudy.validate import (
    as_durations,
    as_events,
    as_treatment,
    require_columns,
    require_frame,
)

__all__ = ["FOREST_COLUMNS", "MAX_LEVELS", "MISSING_LEVEL", "forest"]

FOREST_COLUMNS = [
    "variable",
    "level",
    "n_treated",
    "events_treated",
    "n_control",
    "events_control",
    "hr",
    "ci_lower",
    "ci_upper",
    "p_value",
    "p_interaction",
    "method",
]
MISSING_LEVEL = "(missing)"
MAX_LEVELS = 20
OVERALL = "Overall"

FloatArray = npt.NDArray[np.float64]


def _levels(ser: pd.Series, name: str) -> tuple[npt.NDArray[Any], list[Any]]:
    """Level label per row and the ordered level list (categories keep their order)."""
    values = ser.to_numpy(dtype=object)
    missing = np.asarray(pd.isna(values), dtype=bool)
    labels = np.where(missing, MISSING_LEVEL, values)
    present = list(dict.fromkeys(values[~missing].tolist()))
    if isinstance(ser.dtype, pd.CategoricalDtype):
        order = [lv for lv in ser.cat.categories if lv in set(present)]
    else:
        try:
            order = sorted(present)
        except TypeError:
            order = sorted(present, key=str)
    if missing.any():
        order = [*order, MISSING_LEVEL]
    if len(order) > MAX_LEVELS:
        raise InputError(
            f"subgroup variable {name!r} has {len(order)} levels (at most {MAX_LEVELS}); "
            "group it into bands first"
        )
    return labels, order


def _loglik(x: FloatArray, t: FloatArray, e: FloatArray) -> tuple[float, int]:
    """Maximised ordinary log partial likelihood (Efron) and the model's rank."""
    keep = independent_columns(x - x.mean(axis=0))
    if not keep:
        return float("nan"), 0
    fit = cox_fit(x[:, keep], t, e, firth=False)
    return fit.loglik, len(keep)


def _interaction_p(
    treat: FloatArray, labels: npt.NDArray[Any], order: list[Any], t: FloatArray, e: FloatArray
) -> float:
    if len(order) < 2 or e.sum() == 0:
        return float("nan")
    dummies = np.column_stack([(labels == lv).astype(float) for lv in order[1:]])
    main = np.column_stack([treat, dummies])
    full = np.column_stack([main, dummies * treat[:, None]])
    ll0, r0 = _loglik(main, t, e)
    ll1, r1 = _loglik(full, t, e)
    df = r1 - r0
    if df <= 0 or not np.isfinite(ll0) or not np.isfinite(ll1):
        return float("nan")
    return float(special.chdtrc(df, max(2 * (ll1 - ll0), 0.0)))


def _row(
    variable: str,
    level: Any,
    sel: npt.NDArray[np.bool_],
    treat: FloatArray,
    t: FloatArray,
    e: FloatArray,
    cluster: npt.NDArray[Any] | None,
    conf_level: float,
) -> dict[str, Any]:
    tr = treat[sel] == 1
    ev = e[sel]
    row: dict[str, Any] = {
        "variable": variable,
        "level": level,
        "n_treated": int(tr.sum()),
        "events_treated": int(ev[tr].sum()),
        "n_control": int((~tr).sum()),
        "events_control": int(ev[~tr].sum()),
    }
    if row["n_treated"] == 0 or row["n_control"] == 0 or ev.sum() == 0:
        fit = None
    else:
        fit = cox_fit(
            treat[sel],
            t[sel],
            ev,
            cluster=None if cluster is None else cluster[sel],
            conf_level=conf_level,
        )
    if fit is None or not fit.estimable[0]:
        row.update(
            hr=np.nan, ci_lower=np.nan, ci_upper=np.nan, p_value=np.nan, method="not estimable"
        )
    else:
        row.update(
            hr=float(np.exp(fit.coef[0])),
            ci_lower=float(np.exp(fit.ci_lower[0])),
            ci_upper=float(np.exp(fit.ci_upper[0])),
            p_value=float(fit.p_value[0]),
            method=fit.method,
        )
    return row


def forest(
    frame: pd.DataFrame,
    duration: str,
    event: str,
    treatment: str,
    by: Sequence[str],
    *,
    conf_level: float = 0.95,
    cluster: str | None = None,
) -> pd.DataFrame:
    """Hazard ratio of treatment versus control overall and within each subgroup level.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per patient (e.g. the matched sample).
    duration, event : str
        Follow-up time and 0/1 event columns.
    treatment : str
        Arm column (0/1, booleans or ``blinatumomab``/``chemotherapy``).
    by : sequence of str
        Subgroup variables (categorical, or numeric with few values; band
        continuous variables first).
    conf_level : float, default 0.95
        Confidence level of the intervals.
    cluster : str, optional
        Cluster column (matched pair) for robust standard errors.

    Returns
    -------
    pandas.DataFrame
        Columns ``variable, level, n_treated, events_treated, n_control,
        events_control, hr, ci_lower, ci_upper, p_value, p_interaction,
        method``; the first row is the overall estimate (``variable ==
        "Overall"``). ``method`` is ``ml``, ``ml-robust``, ``firth`` or
        ``not estimable``.

    Raises
    ------
    InputError
        Missing columns, bad times or events, a single arm overall, or a
        ``by`` variable with too many levels.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"t": [5, 8, 3, 9, 2, 7, 4, 6], "e": [1, 0, 1, 0, 1, 1, 1, 0],
    ...                   "arm": [1, 1, 0, 1, 0, 0, 0, 1], "risk": list("HHHHLLLL")})
    >>> forest(f, "t", "e", "arm", ["risk"])["level"].tolist()
    ['All', 'H', 'L']
    """
    frame = require_frame(frame)
    by = list(by)
    cols = [duration, event, treatment, *by] + ([cluster] if cluster else [])
    require_columns(frame, cols)
    t = as_durations(frame[duration], name=f"column {duration!r}")
    e = as_events(frame[event], n=t.size, name=f"column {event!r}").astype(float)
    treat = as_treatment(frame[treatment], name=f"treatment column {treatment!r}").astype(float)
    clus = None if cluster is None else frame[cluster].to_numpy()
    if not 0 < conf_level < 1:
        raise InputError(f"conf_level must be strictly between 0 and 1, got {conf_level!r}")
    everyone = np.ones(t.size, dtype=bool)
    rows = [_row(OVERALL, "All", everyone, treat, t, e, clus, conf_level)]
    rows[0]["p_interaction"] = np.nan
    for var in by:
        labels, order = _levels(frame[var], var)
        p_int = _interaction_p(treat, labels, order, t, e)
        for lv in order:
            row = _row(var, lv, labels == lv, treat, t, e, clus, conf_level)
            row["p_interaction"] = p_int
            rows.append(row)
    return pd.DataFrame(rows, columns=FOREST_COLUMNS)

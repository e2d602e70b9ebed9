"""Treatment effect by subgroup: the rows of a forest plot.

Each level of each ``by`` variable gets its own Cox model of the treatment
alone (Firth's penalised estimate when an arm has no events, "not estimable"
when the level has no events or a single arm). The treatment-by-variable
interaction in a Cox model of the whole sample is tested twice
(:func:`interaction_tests`): by the likelihood ratio (R: ``anova(coxph(S ~
treat + var), coxph(S ~ treat * var))``), which uses the maximised ordinary
partial likelihoods and so stays finite under monotone likelihood but ignores
the matched pairs, and by the Wald test of the interaction terms with the
cluster-robust variance of ``coxph(S ~ treat * var, cluster = pair)``, the
test recommended for matched samples (Austin 2014). Missing values of a ``by``
variable form their own level, ``"(missing)"``, so no patient silently
disappears from a forest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import special
from scipy.sparse import csgraph

from blinastudy.core.errors import InputError
from blinastudy.core.validate import (
    FloatArray,
    as_durations,
    as_events,
    as_treatment,
    as_weights,
    require_columns,
    require_frame,
)
from blinastudy.stats.model_checks import ph_check
from blinastudy.stats.survival.coxph import cox_fit, independent_columns

__all__ = [
    "FOREST_COLUMNS",
    "INTERACTION_COLUMNS",
    "LIKELIHOOD_RATIO",
    "MAX_LEVELS",
    "MISSING_LEVEL",
    "ROBUST_WALD",
    "forest",
    "interaction_p",
    "interaction_tests",
]

#: Columns of :func:`forest` (described in its docstring); the last two were added after
#: ``method`` so that existing positions stay.
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
    "p_interaction_wald",
    "interaction_test",
    "ph_p",
]
INTERACTION_COLUMNS = [
    "variable",
    "lr_statistic",
    "lr_df",
    "p_lr",
    "wald_statistic",
    "wald_df",
    "p_wald",
    "wald_variance",
    "wald_note",
]
#: ``interaction_test`` labels: the test behind the interaction p-value to show for a row.
ROBUST_WALD = "Wald, robust (pairs)"
LIKELIHOOD_RATIO = "likelihood ratio"
MISSING_LEVEL = "(missing)"
MAX_LEVELS = 20
OVERALL = "Overall"


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


def _designs(
    treat: FloatArray, labels: npt.NDArray[Any], order: list[Any]
) -> tuple[FloatArray, FloatArray]:
    """Design matrices of ``treat + var`` and ``treat * var`` with R's column order.

    ``treat, var<level 2>, ..., var<level K>`` and then ``treat:var<level 2>, ...``;
    the first level of ``order`` is the reference.
    """
    dummies = np.column_stack([(labels == lv).astype(float) for lv in order[1:]])
    main = np.column_stack([treat, dummies])
    return main, np.column_stack([main, dummies * treat[:, None]])


def _loglik(x: FloatArray, t: FloatArray, e: FloatArray) -> tuple[float, int]:
    """Maximised ordinary log partial likelihood (Efron) and the model's rank."""
    keep = independent_columns(x - x.mean(axis=0))
    if not keep:
        return float("nan"), 0
    fit = cox_fit(x[:, keep], t, e, firth=False)
    return fit.loglik, len(keep)


def _likelihood_ratio(
    treat: FloatArray, labels: npt.NDArray[Any], order: list[Any], t: FloatArray, e: FloatArray
) -> tuple[float, int, float]:
    """LR statistic, df and p of the interaction (R: ``anova(main, full)``)."""
    nan = float("nan")
    if len(order) < 2 or e.sum() == 0:
        return nan, 0, nan
    main, full = _designs(treat, labels, order)
    ll0, r0 = _loglik(main, t, e)
    ll1, r1 = _loglik(full, t, e)
    df = r1 - r0
    if df <= 0 or not np.isfinite(ll0) or not np.isfinite(ll1):
        return nan, max(df, 0), nan
    stat = max(2 * (ll1 - ll0), 0.0)
    return stat, df, float(special.chdtrc(df, stat))


def _infinite_interaction(
    treat: FloatArray, level: npt.NDArray[np.int64], t: FloatArray, e: FloatArray
) -> bool:
    """Whether an interaction coefficient of ``treat * var`` is infinite (monotone likelihood).

    The model gives every (arm, level) cell its own log hazard ratio ``theta``. The
    likelihood is non-decreasing along a direction ``d`` of the ``theta`` exactly when
    every death's cell has the largest ``d`` among the cells at risk at its time (for
    Breslow and Efron alike), so the directions along which the estimate escapes to
    infinity (or is not identified) are the functions that do not increase along the
    edges "cell c has a death while cell c' is at risk"; they span the functions
    constant on the strongly connected components of that graph. An interaction
    coefficient is therefore infinite exactly when some component ``C`` gives
    ``[(treated, L) in C] - [(control, L) in C]`` different values for two levels ``L``
    that have both arms - this is when R's ``coxph`` warns "coefficient may be
    infinite" for an interaction term. A diverging main effect alone (a level whose
    events all happen after everyone else has left follow-up) leaves the interaction
    finite. ``level`` holds level numbers; every row must be at risk at some death.
    """
    cells, idx = np.unique(level * 2 + treat.astype(np.int64), return_inverse=True)
    first_death = np.full(cells.size, np.inf)
    np.minimum.at(first_death, idx[e > 0], t[e > 0])
    last_exit = np.full(cells.size, -np.inf)
    np.maximum.at(last_exit, idx, t)
    edges = first_death[:, None] <= last_exit[None, :]
    np.fill_diagonal(edges, False)
    _, component = csgraph.connected_components(edges, directed=True, connection="strong")
    comp = dict(zip(cells.tolist(), component.tolist(), strict=True))
    both = [lv for lv in np.unique(level).tolist() if 2 * lv in comp and 2 * lv + 1 in comp]
    return any(
        len({int(comp[2 * lv + 1] == c) - int(comp[2 * lv] == c) for lv in both}) > 1
        for c in set(component.tolist())
    )


@dataclass(frozen=True)
class _Interaction:
    """Tests of the treatment-by-variable interaction of one ``by`` variable."""

    lr_statistic: float
    lr_df: int
    p_lr: float
    wald_statistic: float
    wald_df: int
    p_wald: float
    wald_note: str


def _wald(
    treat: FloatArray,
    labels: npt.NDArray[Any],
    order: list[Any],
    t: FloatArray,
    e: FloatArray,
    cluster: npt.NDArray[Any] | None,
    weights: FloatArray | None = None,
) -> tuple[float, int, float, str]:
    """Wald test of the interaction terms of ``treat * var``: statistic, df, p, note.

    ``W = b' V^-1 b`` over the estimable interaction coefficients ``b`` of
    ``coxph(Surv(t, e) ~ treat * var, cluster = cluster)`` (Efron), with ``V`` their
    block of the robust variance (the inverse information without ``cluster``); R's
    aliased (``NA``) terms are left out of ``b`` and of the df. The note says why the
    statistic is NaN (and is empty otherwise).
    """
    nan = float("nan")
    if len(order) < 2:
        return nan, 0, nan, "a single level"
    if e.sum() == 0:
        return nan, 0, nan, "no events"
    # rows that leave before the first death are in no risk set: they change neither the
    # likelihood nor the score residuals, and R gives their empty cells NA coefficients
    rows = t >= t[e > 0].min()
    treat, labels, t, e = treat[rows], labels[rows], t[rows], e[rows]
    w = None if weights is None else weights[rows]
    main, full = _designs(treat, labels, order)
    terms = [j for j in independent_columns(full - full.mean(axis=0)) if j >= main.shape[1]]
    if not terms:
        return nan, 0, nan, "fewer than two levels have patients in both arms"
    level = np.asarray(pd.Index(order).get_indexer(labels), dtype=np.int64)
    if _infinite_interaction(treat, level, t, e):
        return nan, 0, nan, _infinite_note(treat, level, order, e)
    fit = cox_fit(
        full, t, e, weights=w, cluster=None if cluster is None else cluster[rows], firth=False
    )
    if fit.method == "not estimable" or not fit.estimable[terms].all():
        return nan, 0, nan, "the interaction model is not estimable"
    if not fit.converged:  # R: "Ran out of iterations and did not converge"
        return nan, 0, nan, "the interaction model did not converge"
    b = fit.coef[terms]
    v = fit.var[np.ix_(terms, terms)]
    with np.errstate(divide="ignore", invalid="ignore"):
        singular = not np.all(np.isfinite(v)) or 1 / np.linalg.cond(v, 1) < np.finfo(float).eps
    if singular:
        return nan, 0, nan, "the variance of the interaction coefficients is singular"
    stat = max(float(b @ np.linalg.solve(v, b)), 0.0)
    return stat, len(terms), float(special.chdtrc(len(terms), stat)), ""


def _infinite_note(
    treat: FloatArray, level: npt.NDArray[np.int64], order: list[Any], e: FloatArray
) -> str:
    """Why an interaction coefficient is infinite, naming a level when an arm has no events."""
    for k, name in enumerate(order):
        here = level == k
        arms = [(arm, treat[here] == value) for arm, value in (("treated", 1), ("control", 0))]
        if not all(sel.any() for _, sel in arms):
            continue
        empty = [arm for arm, sel in arms if e[here][sel].sum() == 0]
        if len(empty) == 2:
            return f"infinite interaction: no events in level {name}"
        if empty:
            return f"infinite interaction: no events among {empty[0]} patients in level {name}"
    return "infinite interaction (monotone likelihood: a coefficient diverges)"


def _interaction(
    treat: FloatArray,
    labels: npt.NDArray[Any],
    order: list[Any],
    t: FloatArray,
    e: FloatArray,
    cluster: npt.NDArray[Any] | None,
    weights: FloatArray | None = None,
) -> _Interaction:
    if weights is None:
        lr_stat, lr_df, p_lr = _likelihood_ratio(treat, labels, order, t, e)
    else:  # a weighted partial likelihood ratio has no chi-square distribution
        lr_stat, lr_df, p_lr = float("nan"), 0, float("nan")
    w_stat, w_df, p_w, note = _wald(treat, labels, order, t, e, cluster, weights)
    return _Interaction(lr_stat, lr_df, p_lr, w_stat, w_df, p_w, note)


def _row(
    variable: str,
    level: Any,
    sel: npt.NDArray[np.bool_],
    treat: FloatArray,
    t: FloatArray,
    e: FloatArray,
    cluster: npt.NDArray[Any] | None,
    conf_level: float,
    weights: FloatArray | None = None,
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
            weights=None if weights is None else weights[sel],
            cluster=None if cluster is None else cluster[sel],
            conf_level=conf_level,
        )
    if fit is None or not fit.estimable[0]:
        row.update(
            hr=np.nan,
            ci_lower=np.nan,
            ci_upper=np.nan,
            p_value=np.nan,
            method="not estimable",
            ph_p=np.nan,
        )
    else:
        w = None if weights is None else weights[sel]
        level_rows = pd.DataFrame({"t": t[sel], "e": ev, "x": treat[sel]})
        if w is not None:
            level_rows["w"] = w
        row.update(
            hr=float(np.exp(fit.coef[0])),
            ci_lower=float(np.exp(fit.ci_lower[0])),
            ci_upper=float(np.exp(fit.ci_upper[0])),
            p_value=float(fit.p_value[0]),
            method=fit.method,
            ph_p=ph_check(level_rows, "t", "e", ["x"], weights=None if w is None else "w").p_value,
        )
    return row


def _inputs(
    frame: pd.DataFrame,
    duration: str,
    event: str,
    treatment: str,
    by: Sequence[str],
    cluster: str | None,
) -> tuple[FloatArray, FloatArray, FloatArray, npt.NDArray[Any] | None]:
    """Validated times, events, 0/1 treatment and cluster labels."""
    frame = require_frame(frame)
    cols = [duration, event, treatment, *by] + ([cluster] if cluster else [])
    require_columns(frame, cols)
    t = as_durations(frame[duration], name=f"column {duration!r}")
    e = as_events(frame[event], n=t.size, name=f"column {event!r}").astype(float)
    treat = as_treatment(frame[treatment], name=f"treatment column {treatment!r}").astype(float)
    clus = None if cluster is None else frame[cluster].to_numpy()
    return t, e, treat, clus


def interaction_tests(
    frame: pd.DataFrame,
    duration: str,
    event: str,
    treatment: str,
    by: Sequence[str],
    *,
    cluster: str | None = None,
) -> pd.DataFrame:
    """Tests of the treatment-by-subgroup interaction, one row per ``by`` variable.

    Two tests of the interaction terms of the Cox model ``treat * var`` (Efron ties;
    levels as in :func:`forest`, missing values forming their own level):

    * likelihood ratio, R ``anova(coxph(S ~ treat + var), coxph(S ~ treat * var))``.
      It ignores ``cluster`` and stays finite under monotone likelihood.
    * Wald, ``W = b' V^-1 b`` with ``b`` the estimable interaction coefficients of
      ``coxph(S ~ treat * var, cluster = pair)`` and ``V`` their block of the robust
      (sandwich) variance, ``p = pchisq(W, df, lower.tail = FALSE)``, df the number
      of estimable interaction terms (R's ``NA`` terms, e.g. of a level with one arm
      only, are left out). This is the test recommended for matched samples (Austin
      2014). Without ``cluster`` ``V`` is the model-based variance (inverse
      information). When an interaction coefficient is infinite (monotone likelihood,
      e.g. an arm without events in a level with both arms; R's ``coxph`` then warns
      "coefficient may be infinite" for that term and prints a huge, meaningless
      ``W``) the Wald test is not meaningful: it is NaN and ``wald_note`` says why.
      This is decided exactly from the data (see the source), not from the
      iterations; a diverging main effect alone does not make the Wald test NaN,
      unless it keeps the fit from converging within coxph's 20 iterations (R then
      warns "Ran out of iterations" and prints a ``W`` that depends on where it
      stopped).

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per patient (e.g. the matched sample).
    duration, event : str
        Follow-up time and 0/1 event columns.
    treatment : str
        Arm column (0/1, booleans or ``blinatumomab``/``chemotherapy``).
    by : sequence of str
        Subgroup variables.
    cluster : str, optional
        Cluster column (matched pair) for the robust variance of the Wald test.

    Returns
    -------
    pandas.DataFrame
        Columns ``variable, lr_statistic, lr_df, p_lr, wald_statistic, wald_df,
        p_wald, wald_variance, wald_note``; ``wald_variance`` is ``"robust"`` or
        ``"model-based"``. When ``p_wald`` is NaN, ``wald_df`` is 0 and
        ``wald_note`` says why (empty otherwise).

    Raises
    ------
    InputError
        Missing columns, bad times or events, a single arm overall, or a
        ``by`` variable with too many levels.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"t": [2, 3, 5, 4, 8, 9, 1, 2, 6, 3, 7, 10],
    ...                   "e": [1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 0, 1],
    ...                   "arm": [1, 0] * 6, "pair": [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6],
    ...                   "risk": list("HHHHHHLLLLLL")})
    >>> out = interaction_tests(f, "t", "e", "arm", ["risk"], cluster="pair").iloc[0]
    >>> int(out["wald_df"]), round(float(out["p_wald"]), 4), round(float(out["p_lr"]), 4)
    (1, 0.74, 0.8847)
    """
    by = list(by)
    t, e, treat, clus = _inputs(frame, duration, event, treatment, by, cluster)
    variance = "model-based" if clus is None else "robust"
    rows = []
    for var in by:
        labels, order = _levels(frame[var], var)
        test = _interaction(treat, labels, order, t, e, clus)
        rows.append({"variable": var, "wald_variance": variance, **asdict(test)})
    return pd.DataFrame(rows, columns=INTERACTION_COLUMNS)


def forest(
    frame: pd.DataFrame,
    duration: str,
    event: str,
    treatment: str,
    by: Sequence[str],
    *,
    conf_level: float = 0.95,
    cluster: str | None = None,
    weights: str | None = None,
    overall: bool = True,
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
        Cluster column (matched pair) for robust standard errors and the
        robust Wald test of the interaction.
    weights : str, optional
        Column of case weights (MatchIt's matching weights after 1:k matching):
        every Cox model is weighted with the robust variance, as ``coxph(...,
        weights = w, robust = TRUE)``; the likelihood-ratio test is then not
        available (NaN) and the Wald test is the one shown.
    overall : bool, default True
        Begin with the overall row; ``False`` gives the subgroup rows alone (each
        variable's rows do not depend on the others', so a forest can be built
        and cached a variable at a time).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`FOREST_COLUMNS`; the first row is the overall estimate
        (``variable == "Overall"``, level ``"All"``, no interaction test).

        * ``variable, level``; ``n_treated, events_treated, n_control,
          events_control``: patients and events per arm in the level.
        * ``hr, ci_lower, ci_upper, p_value``: the level's own Cox model of
          the treatment (robust with ``cluster``).
        * ``p_interaction``: likelihood-ratio p of the interaction (the same
          on every row of a variable; ignores ``cluster``).
        * ``method``: ``ml``, ``ml-robust``, ``firth`` or ``not estimable``.
        * ``p_interaction_wald``: Wald p of the interaction terms, with the
          robust variance when ``cluster`` is given and the model-based one
          otherwise; NaN when an interaction coefficient is infinite
          (:func:`interaction_tests` gives the statistic, df and reason).
        * ``interaction_test``: which of the two p-values to show for the
          row: ``"Wald, robust (pairs)"`` (:data:`ROBUST_WALD`, then show
          ``p_interaction_wald``) on clustered data when that p exists,
          otherwise ``"likelihood ratio"`` (:data:`LIKELIHOOD_RATIO`, show
          ``p_interaction``); empty on the overall row.
        * ``ph_p``: the level's proportional-hazards p (``cox.zph``, transform
          ``"km"``, :func:`~blinastudy.stats.model_checks.ph_check`); NaN when the
          hazard ratio is not estimable or infinite (Firth).

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
    >>> out = forest(f, "t", "e", "arm", ["risk"])
    >>> out["level"].tolist(), out["interaction_test"].tolist()
    (['All', 'H', 'L'], ['', 'likelihood ratio', 'likelihood ratio'])
    """
    by = list(by)
    t, e, treat, clus = _inputs(frame, duration, event, treatment, by, cluster)
    if not 0 < conf_level < 1:
        raise InputError(f"conf_level must be strictly between 0 and 1, got {conf_level}")
    w = None
    if weights is not None:
        require_columns(frame, [weights])
        w = as_weights(frame[weights], t.size, allow_zero=False, name=f"column {weights!r}")
    rows = []
    if overall:
        everyone = np.ones(t.size, dtype=bool)
        rows.append(_row(OVERALL, "All", everyone, treat, t, e, clus, conf_level, w))
        rows[0].update(p_interaction=np.nan, p_interaction_wald=np.nan, interaction_test="")
    for var in by:
        labels, order = _levels(frame[var], var)
        test = _interaction(treat, labels, order, t, e, clus, w)
        robust = clus is not None or w is not None
        shown = ROBUST_WALD if robust and np.isfinite(test.p_wald) else LIKELIHOOD_RATIO
        for lv in order:
            row = _row(var, lv, labels == lv, treat, t, e, clus, conf_level, w)
            row.update(
                p_interaction=test.p_lr, p_interaction_wald=test.p_wald, interaction_test=shown
            )
            rows.append(row)
    return pd.DataFrame(rows, columns=FOREST_COLUMNS)


def interaction_p(row: Any) -> float:
    """The interaction p-value to show for a forest row (its ``interaction_test`` says which).

    Examples
    --------
    >>> interaction_p({"interaction_test": ROBUST_WALD, "p_interaction": 0.2,
    ...                "p_interaction_wald": 0.3})
    0.3
    >>> interaction_p({"interaction_test": LIKELIHOOD_RATIO, "p_interaction": 0.2,
    ...                "p_interaction_wald": 0.3})
    0.2
    """
    key = "p_interaction_wald" if row["interaction_test"] == ROBUST_WALD else "p_interaction"
    return float(row[key])

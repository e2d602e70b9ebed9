"""Propensity-score weights for the ATT, the ATE and the overlap population, as R ``WeightIt``.

:func:`propensity_weights` fits the propensity model of
:func:`blinastudy.stats.matching.propensity_scores` (R's ``glm(family = binomial)``)
and turns the scores ``ps`` into weights as ``WeightIt``'s ``get_w_from_ps``
does for a binary treatment:

========  =================  ==================
estimand  treated            control
========  =================  ==================
ATT       1                  ps / (1 - ps)
ATE       1 / ps             1 / (1 - ps)
ATO       1 - ps             ps
========  =================  ==================

* **Stabilisation** (``stabilize=True``, ATE only): each weight is multiplied
  by the proportion of the sample in the patient's own arm (``WeightIt``'s
  ``stabilize_w``: ``mean(treat == arm)``), so the weights of an arm sum to
  about its size. Stabilising multiplies each arm by a constant: weighted
  means, balance and hazard ratios do not change, only the spread of the
  weights in a pooled analysis. For the ATT the treated weights are 1 by
  definition and for the ATO the weights are already bounded by 1, so
  stabilisation is refused for them.
* **Trimming** (``trim=q``, :func:`trim_weights`) follows ``WeightIt``'s
  ``trim(w, at = q, lower = trim_lower)`` (its ``.trim_weights``) for a
  fraction ``0 < q < 1``:

  - ``q`` is replaced by ``max(q, 1 - q)`` (so ``trim=0.1`` is ``trim=0.9``);
  - the bounds are R's ``quantile(w, c(lo, q), type = 3)`` of the trimmable
    weights, with ``lo = 1 - q`` when ``trim_lower=True`` (two-sided) and
    ``lo = 0`` (the minimum: nothing trimmed below) otherwise. Type 3 is the
    SAS definition, an order statistic and never an interpolation: with ``n``
    weights sorted, ``j = floor(n p - 0.5)``, the ``j``-th smallest weight
    when ``n p - 0.5`` is the even integer ``j``, else the ``j + 1``-th
    (clamped to 1..n);
  - weights above the upper bound are set to it, weights below the lower bound
    to it (winsorised, capped: nobody is dropped and nothing is refitted or
    renormalised);
  - for the ATT only the **controls** are trimmable and the bounds are their
    quantiles (the treated are the focal arm, all 1); for the ATE and the ATO
    all weights are trimmed together, against the quantiles of all weights;
  - with ``stabilize=True`` the stabilised weights are trimmed
    (``weightit(stabilize = TRUE)`` then ``trim()``).

The returned Series carries what was done in ``attrs`` (``estimand``,
``stabilize``, ``trim``, ``trim_lower`` and the ``trim_bounds`` applied).
Balance after weighting is :func:`blinastudy.stats.balance.balance` with
``weights=`` and the same ``estimand=``; the effective sample sizes are
:func:`blinastudy.stats.balance.effective_sample_size`; weighted survival is
:func:`blinastudy.stats.survival.kaplan_meier` and :func:`blinastudy.stats.survival.cox`
with ``weights=`` (``survfit`` with case weights, ``coxph(robust = TRUE)``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from blinastudy.core.errors import InputError
from blinastudy.core.validate import (
    as_treatment,
    as_weights,
    describe_entries,
    describe_value,
)
from blinastudy.stats.balance import ESTIMANDS, Estimand, effective_sample_size
from blinastudy.stats.matching import fit_propensity

__all__ = [
    "effective_sample_size",
    "propensity_weights",
    "quantile_type3",
    "trim_weights",
    "weights_from_scores",
]


def _check_estimand(estimand: Any) -> Estimand:
    if not isinstance(estimand, str) or estimand not in ESTIMANDS:
        raise InputError(
            f"estimand must be one of {', '.join(ESTIMANDS)}; got {describe_value(estimand)}"
        )
    found: Estimand = estimand
    return found


def _labels(values: Any) -> list[Any] | None:
    return list(values.index) if isinstance(values, pd.Series) else None


def _require_same_patients(values: Any, treatment: Any, what: str) -> None:
    """Two Series must list the same patients in the same order (no silent realignment)."""
    if (
        isinstance(values, pd.Series)
        and isinstance(treatment, pd.Series)
        and not values.index.equals(treatment.index)
    ):
        raise InputError(f"{what} must be indexed like the treatment (same patients, same order)")


def quantile_type3(values: Any, prob: float) -> float:
    """R's ``quantile(values, prob, type = 3)``: the SAS nearest-even order statistic.

    With the ``n`` values sorted, ``j = floor(n * prob - 0.5)`` (computed in
    floating point as R does); the result is the ``j``-th smallest value when
    ``n * prob - 0.5`` equals ``j`` and ``j`` is even, else the ``j + 1``-th,
    the position clamped to ``1..n``. Never an interpolation.

    Parameters
    ----------
    values : array-like
        Finite numbers (at least one).
    prob : float
        Probability in [0, 1].

    Returns
    -------
    float

    Examples
    --------
    >>> quantile_type3([1.0, 2.0, 3.0, 4.0], 0.5)  # n p - 0.5 = 1.5: not an integer
    2.0
    >>> quantile_type3([1.0, 2.0, 3.0, 4.0, 5.0], 0.5)  # 2, even: the 2nd smallest
    2.0
    >>> quantile_type3([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 0.25)  # 1, odd: the 2nd
    2.0
    """
    x = np.sort(np.asarray(values, dtype=np.float64))
    n = x.size
    if n == 0:
        raise InputError("no values to take a quantile of")
    if not 0.0 <= prob <= 1.0:
        raise InputError(f"quantile probability must be in [0, 1]; got {describe_value(prob)}")
    nppm = n * prob - 0.5
    j = math.floor(nppm)
    step = nppm != j or j % 2 == 1
    k = min(max(j + 1 if step else j, 1), n)
    return float(x[k - 1])


def trim_weights(
    weights: Any,
    treatment: Any,
    at: float,
    *,
    lower: bool = False,
    estimand: Estimand = "ATE",
) -> pd.Series:
    """Trim (winsorise) weights at a quantile, as ``WeightIt``'s ``trim(w, at, lower)``.

    ``at`` is replaced by ``max(at, 1 - at)``; the bounds are the type-3
    quantiles (:func:`quantile_type3`) ``at`` and, when ``lower``, ``1 - at`` of
    the trimmable weights; weights beyond a bound are set to it. For the ATT
    only the controls are trimmable (and give the quantiles): the treated
    weights, all 1, stay as they are. For the ATE and the ATO every weight is.

    Parameters
    ----------
    weights : array-like or pandas.Series
        Finite, non-negative weights, one per patient.
    treatment : array-like or pandas.Series
        Arm per patient (0/1, booleans or ``blinatumomab``/``chemotherapy``).
    at : float
        Quantile, strictly between 0 and 1 (``WeightIt`` also takes a count of
        weights, not offered here).
    lower : bool, default False
        Also trim below the ``1 - at`` quantile (two-sided).
    estimand : {"ATT", "ATE", "ATO"}, default "ATE"
        The estimand the weights target; decides which arm is trimmable.

    Returns
    -------
    pandas.Series
        The trimmed weights (indexed like ``weights`` when it is a Series),
        with ``attrs["trim_bounds"]`` = (lower bound, upper bound) applied.

    Raises
    ------
    InputError
        ``at`` not strictly between 0 and 1, bad weights or treatment.

    Examples
    --------
    >>> w = trim_weights([1.0, 2.0, 3.0, 4.0, 50.0], [1, 0, 1, 0, 1], 0.8)
    >>> w.tolist(), w.attrs["trim_bounds"]
    ([1.0, 2.0, 3.0, 4.0, 4.0], (1.0, 4.0))
    """
    est = _check_estimand(estimand)
    if (
        isinstance(at, bool)
        or not isinstance(at, numbers.Real)
        or not math.isfinite(float(at))
        or not 0.0 < float(at) < 1.0
    ):
        raise InputError(
            f"trim must be a quantile strictly between 0 and 1; got {describe_value(at)}"
        )
    if not isinstance(lower, (bool, np.bool_)):
        raise InputError(f"trim_lower must be True or False; got {describe_value(lower)}")
    _require_same_patients(weights, treatment, "weights")
    t = as_treatment(treatment)
    w = as_weights(weights, t.size).copy()
    q = max(float(at), 1.0 - float(at))
    probs = (1.0 - q, q) if lower else (0.0, q)
    trimmable = t == 0 if est == "ATT" else np.ones(t.size, dtype=bool)
    lo, hi = (quantile_type3(w[trimmable], p) for p in probs)
    w[trimmable & (w < lo)] = lo
    w[trimmable & (w > hi)] = hi
    index = weights.index if isinstance(weights, pd.Series) else None
    out = pd.Series(w, index=index, name="weight")
    out.attrs["trim_bounds"] = (lo, hi)
    return out


def weights_from_scores(
    scores: Any,
    treatment: Any,
    *,
    estimand: Estimand = "ATT",
    stabilize: bool = False,
    trim: float | None = None,
    trim_lower: bool = False,
) -> pd.Series:
    """Weights from given propensity scores, as ``WeightIt``'s ``get_w_from_ps``.

    The rules (and stabilisation and trimming) are those of the module
    docstring; :func:`propensity_weights` fits the scores and calls this.

    Parameters
    ----------
    scores : array-like or pandas.Series
        Probability of treatment per patient, strictly between 0 and 1.
    treatment : array-like or pandas.Series
        Arm per patient (0/1, booleans or ``blinatumomab``/``chemotherapy``).
    estimand : {"ATT", "ATE", "ATO"}, default "ATT"
        ATT: treated 1, controls ps / (1 - ps); ATE: 1 / ps and 1 / (1 - ps);
        ATO (overlap weights): 1 - ps and ps.
    stabilize : bool, default False
        Multiply by the proportion of the sample in the patient's arm (ATE only).
    trim : float, optional
        Trim at this quantile (:func:`trim_weights`), after stabilisation.
    trim_lower : bool, default False
        Trim at ``1 - trim`` from below too.

    Returns
    -------
    pandas.Series
        One weight per patient (indexed like ``scores`` when it is a Series),
        named ``weight``; ``attrs`` record the options and ``trim_bounds``.

    Raises
    ------
    InputError
        Scores not strictly between 0 and 1, or of another length than
        ``treatment``; an unknown estimand; stabilisation other than for the
        ATE; a bad ``trim``.

    Examples
    --------
    >>> w = weights_from_scores([0.8, 0.5, 0.2, 0.5], [1, 1, 0, 0], estimand="ATE")
    >>> w.tolist()
    [1.25, 2.0, 1.25, 2.0]
    >>> weights_from_scores([0.8, 0.5, 0.2, 0.5], [1, 1, 0, 0], estimand="ATO").tolist()
    [0.19999999999999996, 0.5, 0.2, 0.5]
    """
    est = _check_estimand(estimand)
    if not isinstance(stabilize, (bool, np.bool_)):
        raise InputError(f"stabilize must be True or False; got {describe_value(stabilize)}")
    if stabilize and est != "ATE":
        raise InputError(
            f"stabilize applies to ATE weights only; the {est} weights are not stabilised "
            "(ATT: the treated weigh 1; ATO: the weights are already below 1)"
        )
    _require_same_patients(scores, treatment, "propensity scores")
    t = as_treatment(treatment)
    labels = _labels(scores)
    try:
        ps = (
            scores.to_numpy(dtype=float, na_value=np.nan)
            if isinstance(scores, pd.Series)
            else np.asarray(scores, dtype=float)
        )
    except (TypeError, ValueError):
        raise InputError("propensity scores must be numbers") from None
    if ps.ndim != 1 or ps.size != t.size:
        raise InputError(f"got {ps.size} propensity scores for {t.size} patients")
    with np.errstate(invalid="ignore"):
        bad = ~((ps > 0) & (ps < 1))
    if bad.any():
        raise InputError(
            "propensity scores must be strictly between 0 and 1; not at "
            f"{describe_entries(ps, bad, labels)}"
        )
    treated = t == 1
    if est == "ATT":
        w = np.where(treated, 1.0, ps / (1 - ps))
    elif est == "ATE":
        w = np.where(treated, 1 / ps, 1 / (1 - ps))
    else:
        w = np.where(treated, 1 - ps, ps)
    if stabilize:
        w = w * np.where(treated, np.mean(treated), np.mean(~treated))
    index = scores.index if isinstance(scores, pd.Series) else None
    out = pd.Series(np.asarray(w, dtype=np.float64), index=index, name="weight")
    bounds: tuple[float, float] | None = None
    if trim is not None:
        trimmed = trim_weights(out, t, trim, lower=trim_lower, estimand=est)
        bounds = trimmed.attrs["trim_bounds"]
        out = pd.Series(trimmed.to_numpy(), index=index, name="weight")
    elif not isinstance(trim_lower, (bool, np.bool_)):
        raise InputError(f"trim_lower must be True or False; got {describe_value(trim_lower)}")
    out.attrs.update(
        estimand=est,
        stabilize=bool(stabilize),
        trim=None if trim is None else max(float(trim), 1 - float(trim)),
        trim_lower=bool(trim_lower) if trim is not None else False,
        trim_bounds=bounds,
    )
    return out


def propensity_weights(
    frame: pd.DataFrame,
    treatment: str,
    covariates: Sequence[str],
    *,
    estimand: Estimand = "ATT",
    stabilize: bool = False,
    trim: float | None = None,
    trim_lower: bool = False,
) -> pd.Series:
    """Propensity-score weights for the ATT, ATE or ATO, as R ``WeightIt`` with a ``glm``.

    Fits the propensity model of :func:`blinastudy.stats.matching.fit_propensity`
    (R's ``glm(treat ~ covariates, family = binomial)``) and applies
    :func:`weights_from_scores`: the weights of ``weightit(method = "glm",
    estimand = estimand, stabilize = stabilize)``, then ``trim(at = trim,
    lower = trim_lower)``. The rules are in the module docstring.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per patient.
    treatment : str
        Arm column: 0/1, booleans, or ``blinatumomab``/``chemotherapy``.
    covariates : sequence of str
        Covariates of the propensity model (text and categorical columns become
        indicators).
    estimand : {"ATT", "ATE", "ATO"}, default "ATT"
        ATT: treated 1, controls ps / (1 - ps). ATE: 1 / ps and 1 / (1 - ps).
        ATO (overlap weights): 1 - ps and ps.
    stabilize : bool, default False
        ATE only: multiply each weight by the proportion of the sample in the
        patient's own arm.
    trim : float, optional
        Winsorise at the type-3 quantile ``max(trim, 1 - trim)`` (for the ATT
        among the controls only); ``None`` trims nothing.
    trim_lower : bool, default False
        With ``trim``, also raise the weights below the ``1 - trim`` quantile to it.

    Returns
    -------
    pandas.Series
        One weight per patient, indexed like ``frame``, named ``weight``;
        ``attrs`` hold ``estimand``, ``stabilize``, ``trim``, ``trim_lower``
        and ``trim_bounds`` (``None`` when not trimmed). Where the covariates
        separate the arms the scores are clamped as R clamps them and some
        weights are extreme: check ``fit_propensity(...).separation``.

    Raises
    ------
    InputError
        Missing columns or values, a single arm, no covariates, an unknown
        estimand, stabilisation other than for the ATE, or a ``trim`` that is
        not strictly between 0 and 1.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"t": [1, 1, 0, 0, 1, 0], "x": [2.0, 1.0, 0.5, 1.5, 0.2, 0.1]})
    >>> w = propensity_weights(f, "t", ["x"])
    >>> w[f["t"] == 1].tolist()
    [1.0, 1.0, 1.0]
    >>> round(float(propensity_weights(f, "t", ["x"], estimand="ATE").iloc[0]), 4)
    1.4074
    """
    est = _check_estimand(estimand)
    model = fit_propensity(frame, treatment, covariates)
    arm = frame[treatment]
    return weights_from_scores(
        model.propensity,
        arm,
        estimand=est,
        stabilize=stabilize,
        trim=trim,
        trim_lower=trim_lower,
    )

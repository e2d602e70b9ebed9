"""Covariate balance before and after matching or weighting, exactly as ``MatchIt``'s ``summary()``.

This is the balance table of ``summary(m.out, standardize = TRUE)`` for a
``matchit`` object with no sampling weights (``MatchIt`` 4.5.1, functions
``bal1var``, ``wvar``, ``wm`` and ``pooled_sd``), for the ATT by default:

* A covariate is *binary* only when every value is 0 or 1 (R's
  ``all(x == 0 | x == 1)``). Any other covariate, including two-valued ones
  coded 1/2 or 2/3, is continuous.
* The standardised mean difference (SMD) divides the difference in means
  (treated minus control) by an SD of the **full, unmatched and unweighted
  sample**, the same before and after matching or weighting. Which SD depends on
  the estimand (``summary()``'s ``s.d.denom``, the convention of ``cobalt`` too):

  - ``"ATT"`` (default): the SD of the **treated** group, ``sqrt(p (1 - p))``
    for a binary covariate, the sample SD (``n - 1``) for a continuous one;
  - ``"ATE"`` and ``"ATO"``: the **pooled** SD ``sqrt((var_t + var_c) / 2)``,
    each arm's variance as above (``pooled_sd(contribution = "equal")``, what
    ``summary()`` uses for ``estimand = "ATE"``; ``MatchIt`` has no ATO, and
    ``cobalt`` pools the same way for overlap weights).

  Where that SD is not finite or is below
  ``sqrt(.Machine$double.eps)`` (the treated do not vary, or there is a single
  treated patient), MatchIt divides by the pooled SD of the full sample with
  each arm contributing in proportion to its size: ``sqrt(sum_arm n_a p_a (1 -
  p_a) / n)`` for a binary covariate, the square root of the sum of squares
  about each arm's mean over ``n - 1`` for a continuous one. When the arms do
  not vary at all either, that SD is 0 and the SMD is infinite, as in R.
* When the absolute difference in means is not above
  ``sqrt(.Machine$double.eps)`` (about 1.5e-8), MatchIt reports the raw
  difference in the SMD column, and so does :func:`balance`.
* When fewer than two units carry weight in *both* arms, MatchIt reports no SMD
  (``NA``, here ``NaN``; a difference in means below the threshold is still
  reported raw) and no variance ratio.
* After matching, means are weighted by the matching weights (``m.out$weights``:
  one weight per patient, 0 when unmatched); after weighting, by the
  propensity-score weights (:mod:`blinastudy.stats.weighting`). The variance ratio (treated over
  control, continuous covariates only, ``NaN`` for binary ones) uses the
  reliability-weights variance of :func:`stats::cov.wt`.
* Categorical covariates are expanded to one 0/1 indicator per level (all levels,
  named ``column + level`` as ``MatchIt``'s ``get.covs.matrix``).

This is **not** the SMD of the baseline table (:mod:`blinastudy.analysis.baseline`), which
follows R's ``tableone``: the SD pooled over the two arms of the sample being
described, and one multi-level SMD per categorical variable (Yang & Dalton).
The two agree only by coincidence; pages should label them "SMD (MatchIt,
ATT)" (or ATE, ATO) and "SMD (tableone)".

:func:`effective_sample_size` gives Kish's effective sample size of each arm,
``sum(w)^2 / sum(w^2)``, the "Matched (ESS)" row of ``summary()``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd

from blinastudy.core.errors import InputError
from blinastudy.core.validate import (
    FloatArray,
    IntArray,
    as_treatment,
    as_weights,
    describe_entries,
    describe_value,
    require_columns,
    require_finite,
    require_frame,
)

__all__ = [
    "BALANCE_COLUMNS",
    "ESTIMANDS",
    "MEAN_COLUMNS",
    "Estimand",
    "balance",
    "balance_design",
    "effective_sample_size",
]

BALANCE_COLUMNS = ["smd_before", "smd_after", "variance_ratio_before", "variance_ratio_after"]
MEAN_COLUMNS = [
    "mean_treated_before",
    "mean_control_before",
    "mean_treated_after",
    "mean_control_after",
]
Estimand = Literal["ATT", "ATE", "ATO"]
#: The estimands :func:`balance` and :mod:`blinastudy.stats.weighting` know.
ESTIMANDS: tuple[Estimand, ...] = ("ATT", "ATE", "ATO")

#: R's ``sqrt(.Machine$double.eps)``: MatchIt's threshold for a mean difference and an SD.
SQRT_EPS = float(np.sqrt(np.finfo(np.float64).eps))


def balance_design(frame: pd.DataFrame, covariates: Sequence[str]) -> pd.DataFrame:
    """Numeric columns for balance: numbers as they are, categories as all-level indicators.

    Numeric and boolean columns are kept (booleans as 0/1, under the column's
    own name). Categorical columns become one 0/1 column per level that occurs,
    named ``column + level`` as ``MatchIt``'s ``get.covs.matrix`` does: in the
    order of the categories for a pandas ``Categorical`` (R's factor levels),
    sorted for text columns (R turns character columns into factors with sorted
    levels; R sorts in the session's locale, this sorts by code point, so only
    the order of mixed-case labels can differ).

    Parameters
    ----------
    frame : pandas.DataFrame
        The data.
    covariates : sequence of str
        Columns to expand.

    Returns
    -------
    pandas.DataFrame
        Float columns, indexed like ``frame``.

    Examples
    --------
    >>> import pandas as pd
    >>> list(balance_design(pd.DataFrame({"r": ["LR", "HR"]}), ["r"]).columns)
    ['rHR', 'rLR']
    """
    require_columns(frame, covariates)
    parts: dict[str, FloatArray] = {}
    for col in covariates:
        ser = frame[col]
        if ser.isna().any():
            where = describe_entries(None, ser.isna().to_numpy(), list(ser.index))
            raise InputError(f"covariate {col!r} has missing values at {where}")
        if pd.api.types.is_bool_dtype(ser) or (
            pd.api.types.is_numeric_dtype(ser) and not isinstance(ser.dtype, pd.CategoricalDtype)
        ):
            parts[col] = ser.to_numpy(dtype=float)
            continue
        levels = (
            [lv for lv in ser.cat.categories if (ser == lv).any()]
            if isinstance(ser.dtype, pd.CategoricalDtype)
            else sorted(ser.astype(str).unique())
        )
        text = ser.astype(str)
        for lv in levels:
            parts[f"{col}{lv}"] = np.asarray((text == str(lv)).to_numpy(), dtype=np.float64)
    return pd.DataFrame(parts, index=frame.index)


# ---------------------------------------------------------------------------
# MatchIt's building blocks


def _is_binary(x: FloatArray) -> bool:
    """``all(x == 0 | x == 1)``: MatchIt's test for a binary covariate."""
    return bool(np.all((x == 0) | (x == 1)))


#: Whether numpy's long double has more precision than a double (80-bit extended on x86).
EXTENDED_SUMS = bool(np.finfo(np.longdouble).nmant > np.finfo(np.float64).nmant)


def _fsum(values: FloatArray) -> float:
    """A sum as R's ``sum()``: accumulated beyond double precision, then rounded.

    R accumulates in long double (80-bit extended on x86), so means that R finds
    equal (a difference of exactly 0) must be equal here too, not apart by
    rounding noise that the SMD column would report. Summed in numpy's long
    double where it is wider than a double (as R's), else correctly rounded with
    :func:`math.fsum`.
    """
    if EXTENDED_SUMS:
        return float(np.sum(values, dtype=np.longdouble))
    return math.fsum(values.tolist())


class _Arm(NamedTuple):
    """One arm's units with weight: design rows, weights and the weight sums of MatchIt.

    Units of weight 0 are left out; they add exactly 0 to every sum of R's.
    """

    x: FloatArray  # design rows (Fortran order: one covariate is contiguous)
    w: FloatArray
    total: float  # sum(w), the denominator of wm()
    wn: FloatArray  # w / sum(w), the normalised weights of wvar()
    rel: float  # 1 - sum(wn^2), the reliability-weights correction of wvar()
    n_weighted: int


def _arm(x: FloatArray, w: FloatArray) -> _Arm:
    keep = w != 0
    wk = w[keep]
    total = _fsum(wk)
    wn = wk / total
    return _Arm(np.asfortranarray(x[keep]), wk, total, wn, 1 - _fsum(wn**2), int(keep.sum()))


def _arms(x: FloatArray, t: IntArray, w: FloatArray) -> tuple[_Arm, _Arm]:
    """The treated and the control arm of units ``x`` with arms ``t`` and weights ``w``."""
    return _arm(x[t == 1], w[t == 1]), _arm(x[t == 0], w[t == 0])


def _wm(x: FloatArray, arm: _Arm) -> float:
    """MatchIt's ``wm``: ``sum(x * w) / sum(w)``."""
    return _fsum(x * arm.w) / arm.total


def _wvar(x: FloatArray, arm: _Arm, binary: bool) -> float:
    """MatchIt's ``wvar``: ``mx (1 - mx)`` if binary, else the reliability-weights variance.

    ``mx`` is the mean with the normalised weights; a single unit with weight gives
    ``0 / 0 = NaN`` for a continuous covariate, as in R.
    """
    mx = _fsum(arm.wn * x)
    if binary:
        return mx * (1 - mx)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(_fsum(arm.wn * (x - mx) ** 2)) / np.float64(arm.rel))


def _pooled_sd(xt: FloatArray, xc: FloatArray, binary: bool) -> float:
    """MatchIt's ``pooled_sd(contribution = "proportional")`` with unit sampling weights.

    ``summary()`` passes the sampling weights (all 1) as a vector, so R takes the
    weighted branch: binary ``sqrt(sum_arm s_a (1 - s_a / n_a) / n)`` with ``s_a``
    the arm's sum; continuous, after centring each arm on its mean,
    ``sqrt(sum(w_ x^2) / (1 - sum(w_^2)))`` with ``w_ = 1 / n``, i.e. the sum of
    squares over ``n - 1``.
    """
    n = xt.size + xc.size
    if binary:
        total = 0.0
        for xa in (xt, xc):
            s = _fsum(xa)
            total += s * (1 - s / xa.size) / n
        return math.sqrt(total)
    centred = np.concatenate([xa - _fsum(xa) / xa.size for xa in (xt, xc)])
    wn = np.full(n, 1 / n)
    return math.sqrt(_fsum(wn * centred**2) / (1 - _fsum(wn**2)))


def _sqrt(var: float) -> float:
    """R's ``sqrt``: NaN for a negative or NaN argument."""
    return math.sqrt(var) if var >= 0 else float("nan")


def _sd_denominator(
    xt: FloatArray, xc: FloatArray, before: tuple[_Arm, _Arm], binary: bool, estimand: Estimand
) -> float:
    """The SMD denominator of ``bal1var``: the estimand's SD of the full sample, else pooled.

    ``before`` holds the treated and control arms of the full sample with unit
    weights. ATT: the treated SD (``s.d.denom = "treated"``). ATE, ATO: the mean
    of the two arms' variances, square-rooted (``pooled_sd(contribution =
    "equal")``, R's ``colMeans`` summing in extended precision). Either way, an
    SD that is not finite or is below ``sqrt(.Machine$double.eps)`` is replaced by
    :func:`_pooled_sd` (each arm in proportion to its size), as ``bal1var`` does.
    """
    treated, control = before
    if estimand == "ATT":
        sd = _sqrt(_wvar(xt, treated, binary))
    else:
        var_t, var_c = _wvar(xt, treated, binary), _wvar(xc, control, binary)
        pooled = _fsum(np.array([var_t, var_c])) / 2
        sd = _sqrt(pooled)
    if not math.isfinite(sd) or sd < SQRT_EPS:
        sd = _pooled_sd(xt, xc, binary)
    return sd


def _bal1var(
    j: int, treated: _Arm, control: _Arm, binary: bool, sd: float
) -> tuple[float, float, float, float]:
    """Means treated and control, SMD and variance ratio of covariate ``j`` (``bal1var``)."""
    xt, xc = treated.x[:, j], control.x[:, j]
    too_small = treated.n_weighted < 2 and control.n_weighted < 2
    mean_t = _wm(xt, treated)
    mean_c = _wm(xc, control)
    mdiff = mean_t - mean_c
    if abs(mdiff) > SQRT_EPS:
        with np.errstate(divide="ignore"):
            smd = float("nan") if too_small else float(np.float64(mdiff) / np.float64(sd))
    else:
        smd = mdiff
    if binary or too_small:
        vr = float("nan")
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            vr = float(
                np.float64(_wvar(xt, treated, binary)) / np.float64(_wvar(xc, control, binary))
            )
    return mean_t, mean_c, smd, vr


# ---------------------------------------------------------------------------
# inputs


def _require_both_arms(t: IntArray, w: FloatArray, what: str) -> None:
    for arm, name in ((1, "treated"), (0, "control")):
        if not np.any(w[t == arm] > 0):
            raise InputError(f"no {name} patient has a positive weight in the {what}")


def _frame_weights(frame: pd.DataFrame, weights: Any, t: IntArray) -> FloatArray:
    """Per-row matching weights aligned with ``frame`` (``MatchIt``'s ``m.out$weights``)."""
    if isinstance(weights, pd.Series) and not weights.index.equals(frame.index):
        if not (frame.index.is_unique and weights.index.is_unique):
            raise InputError(
                "weights must be indexed like the frame (one weight per patient, same labels)"
            )
        missing = frame.index.difference(weights.index)
        extra = weights.index.difference(frame.index)
        if len(missing) or len(extra):
            parts = []
            if len(missing):
                parts.append(f"no weight for patient(s) {missing[:5].tolist()}")
            if len(extra):
                parts.append(f"weights for patient(s) not in the frame {extra[:5].tolist()}")
            raise InputError("weights must be indexed like the frame: " + "; ".join(parts))
        weights = weights.reindex(frame.index)
    if not isinstance(weights, pd.Series):
        weights = pd.Series(np.asarray(weights, dtype=object).ravel(), dtype=object)
        if len(weights) == len(frame):
            weights.index = frame.index
    w = as_weights(weights, len(frame))
    _require_both_arms(t, w, "matching weights")
    return w


def _matched_units(
    matched: Any, treatment: str, covariates: Sequence[str], columns: pd.Index
) -> tuple[FloatArray, IntArray, FloatArray]:
    """One row per matched patient: covariates, arm and summed weight of its matched rows."""
    mframe = matched.matched if hasattr(matched, "matched") else matched
    if not isinstance(mframe, pd.DataFrame) or len(mframe) == 0:
        raise InputError("matched must be a MatchResult or a non-empty DataFrame")
    require_columns(mframe, [treatment, *covariates], what="matched sample")
    require_finite(mframe, covariates, what="matched sample")
    mt = as_treatment(mframe[treatment], name="matched treatment column")
    mdesign = balance_design(mframe, covariates)
    unknown = [c for c in mdesign.columns if c not in columns]
    if unknown:
        raise InputError(
            f"matched sample has covariate level(s) absent from the full sample: {unknown[:5]}"
        )
    x = mdesign.reindex(columns=columns, fill_value=0.0).to_numpy(dtype=np.float64)
    labels = mframe.index.tolist()
    if "weight" in mframe.columns:
        w = as_weights(mframe["weight"], len(mframe), name="matched sample column 'weight'")
    else:
        w = np.ones(len(mframe))
    codes, _ = pd.factorize(mframe.index, use_na_sentinel=False)
    _, first = np.unique(codes, return_index=True)
    lead = first[codes]
    differs = (mt != mt[lead]) | np.any(x != x[lead], axis=1)
    if differs.any():
        raise InputError(
            "matched rows with the same index label must be the same patient "
            f"(same arm and covariates); they differ at {describe_entries(None, differs, labels)}"
        )
    unit_w = np.asarray(np.bincount(codes, weights=w), dtype=np.float64)
    unit_t = mt[first]
    _require_both_arms(unit_t, unit_w, "matched sample")
    return x[first], unit_t, unit_w


# ---------------------------------------------------------------------------
# the table


def balance(
    frame: pd.DataFrame,
    treatment: str,
    covariates: Sequence[str],
    *,
    matched: Any = None,
    weights: Any = None,
    estimand: Estimand = "ATT",
) -> pd.DataFrame:
    """Standardised mean differences and variance ratios, as ``MatchIt``'s ``summary()``.

    Follows ``summary(m.out, standardize = TRUE)`` of ``MatchIt`` 4.5.1
    (``bal1var`` with unit sampling weights): for the ATT ``s.d.denom =
    "treated"``, for the ATE (and, with ``cobalt``'s convention, the ATO) the
    pooled SD of ``s.d.denom = "pooled"``; the conventions are spelt out in the
    module docstring.

    Parameters
    ----------
    frame : pandas.DataFrame
        The full (unmatched) sample, one row per patient.
    treatment : str
        Arm column (0/1, booleans or ``blinatumomab``/``chemotherapy``).
    covariates : sequence of str
        Covariates to assess.
    matched : MatchResult or pandas.DataFrame, optional
        The matched sample: a :class:`~blinastudy.stats.matching.MatchResult` (its
        ``matched`` rows are used), or a frame of matched rows. Rows are
        aggregated per index label: a control used several times (matching
        with replacement) counts once, with the sum of its ``weight`` column
        (1 per row when there is no ``weight`` column), as ``m.out$weights``.
    weights : array-like or pandas.Series, optional
        Matching weights, one per row of ``frame`` (0 = not matched), as
        ``m.out$weights``, or propensity-score weights
        (:func:`blinastudy.stats.weighting.propensity_weights`); a Series must be
        indexed like ``frame``. Give ``matched`` or ``weights``, not both.
    estimand : {"ATT", "ATE", "ATO"}, default "ATT"
        Chooses the SD that standardises the mean differences: the treated SD
        of the full sample for the ATT, the pooled SD ``sqrt((var_t + var_c) /
        2)`` of the full sample for the ATE and the ATO. Give the estimand the
        weights target. Means and variance ratios do not depend on it.

    Returns
    -------
    pandas.DataFrame
        Indexed by covariate (categories expanded): ``smd_before``,
        ``smd_after``, ``variance_ratio_before``, ``variance_ratio_after``,
        then ``mean_treated_before``, ``mean_control_before``,
        ``mean_treated_after``, ``mean_control_after`` (the ``_after`` columns
        are ``NaN`` without ``matched`` or ``weights``).

    Raises
    ------
    InputError
        On missing columns or values, a single arm, weights that are not
        finite and non-negative or leave an arm without weight, both
        ``matched`` and ``weights``, an unknown estimand, or matched rows that cannot be told apart
        by patient (a repeated label in ``frame``, or rows of one label that
        differ).

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"t": [1, 1, 0, 0], "x": [1.0, 3.0, 0.0, 2.0]})
    >>> float(balance(f, "t", ["x"]).loc["x", "smd_before"])
    0.7071067811865475

    Sex coded 1/2 is continuous for MatchIt (not 0/1), so it has a variance ratio:

    >>> g = pd.DataFrame({"t": [1, 1, 0, 0, 0], "sex": [1, 2, 1, 1, 2]})
    >>> row = balance(g, "t", ["sex"], weights=[1, 1, 0, 1, 1]).loc["sex"]
    >>> float(row["smd_after"]), float(row["variance_ratio_after"])
    (0.0, 1.0)

    With the ATE the SD is pooled over the arms. Treated 1, 3 (mean 2, variance
    2) against controls -1, 3 (mean 1, variance 8): the ATT divides the
    difference 1 by sqrt(2), the ATE by sqrt((2 + 8) / 2):

    >>> k = pd.DataFrame({"t": [1, 1, 0, 0], "x": [1.0, 3.0, -1.0, 3.0]})
    >>> float(balance(k, "t", ["x"]).loc["x", "smd_before"]) == 1 / 2**0.5
    True
    >>> float(balance(k, "t", ["x"], estimand="ATE").loc["x", "smd_before"]) == 1 / 5**0.5
    True
    """
    if estimand not in ESTIMANDS:
        raise InputError(
            f"estimand must be one of {', '.join(ESTIMANDS)}; got {describe_value(estimand)}"
        )
    frame = require_frame(frame)
    require_columns(frame, [treatment, *covariates])
    require_finite(frame, covariates)
    if not covariates:
        raise InputError("no covariates given for the balance table")
    if matched is not None and weights is not None:
        raise InputError("give either matched or weights, not both")
    t = as_treatment(frame[treatment], name=f"treatment column {treatment!r}")
    design = balance_design(frame, covariates)
    x_all = design.to_numpy(dtype=np.float64)
    after: tuple[_Arm, _Arm] | None = None
    if weights is not None:
        after = _arms(x_all, t, _frame_weights(frame, weights, t))
    elif matched is not None:
        if frame.index.has_duplicates:
            dup = frame.index[frame.index.duplicated()].unique()[:5].tolist()
            raise InputError(
                "matched rows are counted per patient by index label, but the frame's index "
                f"repeats {dup}; give every patient its own label"
            )
        after = _arms(*_matched_units(matched, treatment, covariates, design.columns))
    before = _arms(x_all, t, np.ones(len(frame)))
    nan4 = (float("nan"),) * 4
    rows = []
    for j in range(x_all.shape[1]):
        binary = _is_binary(x_all[:, j])
        sd = _sd_denominator(before[0].x[:, j], before[1].x[:, j], before, binary, estimand)
        mt_b, mc_b, smd_b, vr_b = _bal1var(j, *before, binary, sd)
        mt_a, mc_a, smd_a, vr_a = _bal1var(j, *after, binary, sd) if after else nan4
        rows.append((smd_b, smd_a, vr_b, vr_a, mt_b, mc_b, mt_a, mc_a))
    return pd.DataFrame(
        rows,
        columns=BALANCE_COLUMNS + MEAN_COLUMNS,
        index=pd.Index(design.columns, name="covariate"),
    )


def effective_sample_size(treatment: Any, weights: Any) -> dict[str, float]:
    """Kish's effective sample size of each arm, ``sum(w)^2 / sum(w^2)``.

    The "Matched (ESS)" row of ``MatchIt``'s ``summary()`` (its ``ESS``
    function, sums accumulated as R's ``sum()``) and the "Weighted" row of
    ``WeightIt``'s ``summary()``: the size of an unweighted sample about as
    precise as the weighted one. Units of weight 0 add nothing. Equal weights
    give the number of weighted patients; any spread of the weights gives less.

    Parameters
    ----------
    treatment : array-like or pandas.Series
        Arm per patient (0/1, booleans or ``blinatumomab``/``chemotherapy``).
    weights : array-like or pandas.Series
        One finite, non-negative weight per patient; a Series given with a
        Series ``treatment`` must carry the same index labels.

    Returns
    -------
    dict
        ``{"treated": ess_treated, "control": ess_control}``.

    Raises
    ------
    InputError
        A single arm, weights that are not finite and non-negative, of the
        wrong length or differently labelled, or an arm without positive weight.

    Examples
    --------
    >>> effective_sample_size([1, 1, 0, 0, 0], [1, 1, 2, 1, 1])
    {'treated': 2.0, 'control': 2.6666666666666665}
    """
    if (
        isinstance(treatment, pd.Series)
        and isinstance(weights, pd.Series)
        and not weights.index.equals(treatment.index)
    ):
        raise InputError("weights must be indexed like the treatment (same patients, same order)")
    t = as_treatment(treatment)
    w = as_weights(weights, t.size)
    _require_both_arms(t, w, "weights")
    out = {}
    for arm, name in ((1, "treated"), (0, "control")):
        wa = w[t == arm]
        out[name] = _fsum(wa) ** 2 / _fsum(wa**2)
    return out

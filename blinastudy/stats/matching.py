"""Propensity scores and greedy nearest-neighbour matching, as R ``glm`` and ``MatchIt``.

* :func:`propensity_scores` fits an unpenalised logistic regression with the
  iteratively reweighted least squares of R's ``glm.fit`` (same start, same
  convergence rule, same clamping of fitted probabilities), so scores equal
  R's also when a covariate separates the arms.
* :func:`match` implements ``MatchIt`` (>= 4.5.4) ``method = "nearest"``
  (R function ``matchit2nearest``, C function ``nn_matchC_vec``), ties included:

  - All units, treated and controls, are sorted by distance with a stable sort
    (R's ``order``: equal distances keep data order), so a treated unit tied
    with controls sits among them by data order. With ``exact`` the same holds
    within each stratum, and only controls of the unit's stratum are usable.
  - Treated units take turns: ``"largest"`` distance first (ties in data
    order), ``"smallest"`` first, in data order, or in a random permutation.
    With replacement MatchIt forces data order (the pairs do not depend on it).
  - In rounds 1..``ratio`` every treated unit still matchable, at its turn,
    takes one control: the nearest usable control to its left in the sorted
    order (the first met walking left that is a control, not used up without
    replacement, not already taken by this unit) or the nearest to its right,
    the left one when ``|d_left - d_i| <= |d_right - d_i|`` in floating point.
    A side whose control is farther than the caliper width has none; a unit
    with none on either side is unmatched from that round on.
  - So among controls at exactly the same distance the one taken is the one
    nearest in the sorted order (on the left the last in data order, on the
    right the first), not simply the first in data order.
  - The caliper width is ``caliper x sd(distance over all units)`` (R's ``sd``).
  - Weights are MatchIt's (``get_weights_from_mm``): 1 for a matched treated
    unit; for a control the sum over its treated units of 1/(their number of
    controls), rescaled so that the controls' weights sum to the number of
    matched controls; 0 when unmatched.

  Each stratum's sorted controls carry union-find "next available" pointers,
  so the whole match is O(n log n) rather than a scan of all controls per
  treated unit.
* :func:`balance` (re-exported from :mod:`blinastudy.stats.balance`) reports SMDs
  and variance ratios before and after matching.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import linalg

from blinastudy.core.errors import InputError
from blinastudy.core.validate import (
    FloatArray,
    IntArray,
    as_treatment,
    describe_entries,
    require_columns,
    require_finite,
    require_frame,
)
from blinastudy.stats.balance import balance
from blinastudy.stats.survival.coxph import design_matrix, independent_columns

__all__ = [
    "MatchResult",
    "PropensityModel",
    "balance",
    "fit_propensity",
    "match",
    "propensity_scores",
]

Scale = Literal["logit", "ps"]
Order = Literal["largest", "smallest", "random", "data"]

_DBL_EPS = float(np.finfo(float).eps)
_THRESH = 30.0


def _linkinv(eta: FloatArray) -> FloatArray:
    """R's ``binomial()$linkinv`` (C ``logit_linkinv``), clamped at |eta| > 30."""
    e = np.exp(np.clip(eta, -_THRESH, _THRESH))  # clipped: never an overflow warning
    tmp = np.where(eta < -_THRESH, _DBL_EPS, np.where(eta > _THRESH, 1 / _DBL_EPS, e))
    return np.asarray(tmp / (1 + tmp), dtype=np.float64)


def _mu_eta(eta: FloatArray) -> FloatArray:
    """R's ``binomial()$mu.eta`` (C ``logit_mu_eta``): ``DBL_EPSILON`` where |eta| > 30.

    The exponential is taken of eta clipped to [-30, 30], so no overflow is ever
    computed (the clipped entries are replaced by ``DBL_EPSILON`` anyway).
    """
    e = np.exp(np.clip(eta, -_THRESH, _THRESH))
    opexp = 1 + e
    out = np.where(np.abs(eta) > _THRESH, _DBL_EPS, e / (opexp * opexp))
    return np.asarray(out, dtype=np.float64)


def _deviance(y: FloatArray, mu: FloatArray) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(y > 0, y * np.log(y / mu), 0.0)
        b = np.where(y < 1, (1 - y) * np.log((1 - y) / (1 - mu)), 0.0)
    return float(2 * np.sum(a + b))


@dataclass(frozen=True)
class PropensityModel:
    """A fitted propensity model.

    Attributes
    ----------
    coef : pandas.Series
        Logistic regression coefficients (``(Intercept)`` first); aliased
        columns (collinear with earlier ones) are ``NaN`` as in R.
    propensity : pandas.Series
        Fitted probabilities of treatment, indexed like the input frame.
    linear_predictor : pandas.Series
        The logit of the propensity score (R's ``linear.predictors``).
    converged : bool
        Whether IRLS met R's convergence rule within 25 iterations.
    separation : bool
        True where fitted probabilities reached 0 or 1 numerically (a covariate
        separates the arms); R warns "fitted probabilities numerically 0 or 1".
    """

    coef: pd.Series
    propensity: pd.Series
    linear_predictor: pd.Series
    converged: bool
    separation: bool
    iterations: int


def fit_propensity(
    frame: pd.DataFrame, treatment: str, covariates: Sequence[str]
) -> PropensityModel:
    """Logistic regression of treatment on covariates, as R ``glm(family = binomial)``.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per patient.
    treatment : str
        Column with the arm: 0/1, booleans, or ``blinatumomab``/``chemotherapy``.
    covariates : sequence of str
        Covariate columns; text or categorical ones become indicators.

    Returns
    -------
    PropensityModel

    Raises
    ------
    InputError
        Missing columns, missing values, a single arm, no covariates.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"t": [1, 1, 0, 0, 1, 0], "x": [2.0, 1.0, 0.5, 1.5, 0.2, 0.1]})
    >>> fit_propensity(f, "t", ["x"]).converged
    True
    """
    frame = require_frame(frame)
    covariates = list(covariates)
    if not covariates:
        raise InputError("no covariates given for the propensity model")
    require_columns(frame, [treatment, *covariates])
    require_finite(frame, covariates)
    y = as_treatment(frame[treatment], name=f"treatment column {treatment!r}").astype(float)
    design = design_matrix(frame, covariates)
    x_all = np.column_stack([np.ones(len(frame)), design.to_numpy(dtype=float)])
    names = ["(Intercept)", *design.columns]
    keep = independent_columns(x_all)  # aliased columns are NA in R
    x = x_all[:, keep]
    mu = (y + 0.5) / 2
    eta = np.log(mu / (1 - mu))
    dev_old = _deviance(y, _linkinv(eta))
    converged = False
    coef = np.zeros(x.shape[1])
    iterations = 0
    for it in range(1, 26):  # glm.control(maxit = 25)
        iterations = it
        mu_eta = _mu_eta(eta)
        var = mu * (1 - mu)
        z = eta + (y - mu) / mu_eta
        w = np.sqrt(mu_eta**2 / var)
        q, r = np.linalg.qr(x * w[:, None])  # weighted least squares by QR, as Cdqrls
        coef = linalg.solve_triangular(r, q.T @ (z * w))
        eta = x @ coef
        mu = _linkinv(eta)
        dev = _deviance(y, mu)
        if abs(dev - dev_old) / (abs(dev) + 0.1) < 1e-8:  # glm.control(epsilon = 1e-8)
            converged = True
            break
        dev_old = dev
    full = np.full(x_all.shape[1], np.nan)
    full[keep] = coef
    separation = bool(np.any(mu < 10 * _DBL_EPS) or np.any(mu > 1 - 10 * _DBL_EPS))
    return PropensityModel(
        coef=pd.Series(full, index=names, name="coef"),
        propensity=pd.Series(mu, index=frame.index, name="propensity"),
        linear_predictor=pd.Series(eta, index=frame.index, name="logit_propensity"),
        converged=converged,
        separation=separation,
        iterations=iterations,
    )


def propensity_scores(frame: pd.DataFrame, treatment: str, covariates: Sequence[str]) -> pd.Series:
    """Propensity scores from an unpenalised logistic regression (R ``glm(binomial)``).

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"t": [1, 1, 0, 0, 1, 0], "x": [2.0, 1.0, 0.5, 1.5, 0.2, 0.1]})
    >>> round(float(propensity_scores(f, "t", ["x"]).iloc[0]), 4)
    0.7106
    """
    return fit_propensity(frame, treatment, covariates).propensity


# ---------------------------------------------------------------------------
# greedy nearest-neighbour matching


class _Pool:
    """The controls of one exact-matching stratum in sorted order.

    Union-find pointers give the nearest still-available control on each side of a
    slot in amortised near-constant time (matching without replacement).
    """

    def __init__(self, members: IntArray, rank: IntArray, dist: FloatArray) -> None:
        self.members = members[np.argsort(rank[members])]  # positions in the frame
        self.rank = rank[self.members]  # positions in the sort of all units
        self.values = dist[self.members]
        m = self.members.size
        self.right = np.arange(m + 1)  # right[i]: smallest available >= i (m: none)
        self.left = np.arange(m + 1)  # left[i + 1]: largest available <= i (0: none)

    def slot(self, rank: int) -> int:
        """Number of this stratum's controls that sort before the unit of ``rank``."""
        return int(np.searchsorted(self.rank, rank))

    @staticmethod
    def _find(parent: npt.NDArray[Any], i: int) -> int:
        root = i
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:
            parent[i], i = root, parent[i]
        return int(root)

    def available_left(self, slot: int) -> int:
        """Sorted position of the last available control before ``slot`` (-1: none)."""
        return self._find(self.left, slot) - 1

    def available_right(self, slot: int) -> int:
        """Sorted position of the first available control from ``slot`` on (size: none)."""
        return self._find(self.right, slot)

    def remove(self, k: int) -> None:
        """Mark the control at sorted position ``k`` as used."""
        self.right[k] = k + 1
        self.left[k + 1] = k


def _take(v: float, values: FloatArray, lf: int, rt: int, width: float) -> int:
    """MatchIt's choice between the nearest usable control on each side.

    ``lf`` and ``rt`` are the sorted positions of the nearest usable control to
    the left and to the right of the treated unit (-1 and ``values.size`` for
    none). A side whose control lies farther than ``width`` has none; of two, the
    left one is taken when its absolute difference is not larger (C
    ``nn_matchC_vec``: ``std::abs(d[k_left] - d_i) <= std::abs(d[k_right] - d_i)``).
    Returns the sorted position taken, or -1.
    """
    left = lf >= 0 and abs(values[lf] - v) <= width
    right = rt < values.size and abs(values[rt] - v) <= width
    if left and (not right or abs(values[lf] - v) <= abs(values[rt] - v)):
        return lf
    return rt if right else -1


def _turn_order(
    dist: FloatArray,
    t_pos: IntArray,
    order: Order,
    replace: bool,
    random_state: int | None,
) -> IntArray:
    """Positions of the treated units in the order they take their turns (MatchIt)."""
    if replace or order == "data":  # with replacement MatchIt forces m.order = "data"
        return t_pos
    if order == "largest":  # R's order(decreasing = TRUE) is stable: ties in data order
        return t_pos[np.argsort(-dist[t_pos], kind="stable")]
    if order == "smallest":
        return t_pos[np.argsort(dist[t_pos], kind="stable")]
    return np.random.default_rng(random_state).permutation(t_pos)


def _greedy(
    dist: FloatArray,
    treat: npt.NDArray[Any],
    strata: IntArray,
    turn: IntArray,
    width: float,
    ratio: int,
    replace: bool,
    labels: pd.Index,
) -> tuple[dict[int, list[int]], dict[int, str]]:
    """MatchIt's ``nn_matchC_vec`` loop: the controls each treated unit takes, in order.

    All units are sorted by distance with a stable sort; in each of ``ratio``
    rounds every treated unit still matchable (in ``turn`` order) takes the
    nearer (:func:`_take`) of the nearest usable controls on its left and right in
    that order. Usable: same stratum, not used (without replacement), not already
    taken by this unit. A unit that finds none stops for good.

    Returns the chosen frame positions per treated position, and a reason for
    each treated unit that got no control.
    """
    rank = np.empty(dist.size, dtype=np.int64)
    rank[np.argsort(dist, kind="stable")] = np.arange(dist.size)
    c_pos = np.flatnonzero(treat == 0)
    pools = {int(s): _Pool(c_pos[strata[c_pos] == s], rank, dist) for s in np.unique(strata[c_pos])}
    chosen: dict[int, list[int]] = {int(t): [] for t in turn}
    reason: dict[int, str] = {}
    slot: dict[int, int] = {}
    # with replacement the controls a unit has taken are the block lo + 1 .. hi - 1
    # around its slot, so its nearest usable ones are simply lo and hi
    lo: dict[int, int] = {}
    hi: dict[int, int] = {}
    active: list[int] = []
    for t in map(int, turn):
        pool = pools.get(int(strata[t]))
        if pool is None:
            reason[t] = "no control in the same exact-matching stratum"
            continue
        slot[t] = pool.slot(int(rank[t]))
        lo[t], hi[t] = slot[t] - 1, slot[t]
        active.append(t)
    for rnd in range(ratio):
        still: list[int] = []
        for t in active:
            pool = pools[int(strata[t])]
            if replace:
                lf, rt = lo[t], hi[t]
            else:
                lf, rt = pool.available_left(slot[t]), pool.available_right(slot[t])
            v = float(dist[t])
            k = _take(v, pool.values, lf, rt, width)
            if k < 0:
                if rnd == 0:
                    reason[t] = _unmatched_reason(v, pool, lf, rt, width, labels)
                continue
            chosen[t].append(int(pool.members[k]))
            still.append(t)
            if replace:
                lo[t], hi[t] = (lo[t] - 1, hi[t]) if k == lf else (lo[t], hi[t] + 1)
            else:
                pool.remove(k)
        active = still
    return chosen, reason


def _unmatched_reason(
    v: float, pool: _Pool, lf: int, rt: int, width: float, labels: pd.Index
) -> str:
    """Why a treated unit found no control in its first round."""
    k = _take(v, pool.values, lf, rt, float("inf"))
    if k < 0:
        return "all eligible controls were already matched"
    return (
        f"nearest available control {labels[int(pool.members[k])]} is "
        f"{abs(float(pool.values[k]) - v):.4g} away, beyond the caliper width {width:.4g}"
    )


def _matchit_weights(sets: npt.NDArray[np.int64], treat: npt.NDArray[Any]) -> FloatArray:
    """MatchIt's ``weights`` (``get_weights_from_mm``, C ``weights_matrixC``).

    ``sets`` has one row (treated position, control position, set number) per
    use. A matched treated unit weighs 1; a control the sum over the treated
    units it serves of 1 / (number of controls of that unit), added in the
    treated units' data order; then all control weights are multiplied by
    (number of controls with weight > 0) / (their sum). Unmatched units weigh 0.
    """
    w = np.zeros(treat.size)
    k = np.bincount(sets[:, 2])[sets[:, 2]]
    by_treated = np.argsort(sets[:, 0], kind="stable")
    np.add.at(w, sets[by_treated, 1], 1.0 / k[by_treated])
    w[sets[:, 0]] = 1.0
    controls = treat == 0
    cw = w[controls]
    w[controls] = cw * float(np.count_nonzero(cw > 0)) / math.fsum(cw)
    return w


@dataclass
class MatchResult:
    """Result of :func:`match` (MatchIt ``method = "nearest"``).

    Matched sets are numbered 1, 2, ... in the order they were made: the order
    in which the treated units took their first control. The sets are MatchIt's;
    only their numbers differ (``get_matches`` numbers them by the treated units'
    data order, ``match.data``'s ``subclass`` by the text of their row numbers).

    Attributes
    ----------
    pairs : pandas.DataFrame
        One row per (treated, control) use: ``treated`` and ``control`` (index
        labels of the input frame) and ``pair`` (the set number); sets in the
        order made, each set's controls in the order taken (MatchIt's
        ``match.matrix`` row by row).
    matched : pandas.DataFrame
        The rows of MatchIt's ``get_matches()``: per set, the treated unit's row
        then its controls' rows (a control reused with replacement appears once
        per set), with the input columns plus ``pair``, ``propensity``,
        ``distance`` and ``weight`` (``get_matches``' weights: 1 for the treated
        unit, 1/k for each of its k controls, not rescaled). Indexed by the input
        labels (repeated for reused controls).
    match_data : pandas.DataFrame
        MatchIt's ``match.data()``: one row per matched unit in input order, with
        the input columns plus ``propensity``, ``distance``, ``weight`` (the
        MatchIt weights, as :attr:`weights`) and ``pair`` (nullable integer: the
        unit's set; all missing with replacement, where sets overlap and MatchIt
        gives no ``subclass``).
    weights : pandas.Series
        MatchIt's ``m.out$weights`` for every row of the input frame (its
        index): 1 for a matched treated unit, 0 for an unmatched unit, and for a
        control the sum over the treated units it serves of 1/(their number of
        controls), rescaled so that the controls' weights sum to the number of
        matched controls.
    unmatched : pandas.DataFrame
        Treated units without any control: ``treated`` (label), ``propensity``
        and ``reason``, in the order of their turns.
    caliper_width : float
        Absolute caliper on the distance scale, caliper x sd(distance over all
        units) (``inf`` without a caliper).
    propensity : pandas.Series
        Propensity score of every row of the input frame.
    distance : pandas.Series
        The matching distance of every row (the logit of the score or the score).
    model : PropensityModel
        The fitted propensity model.
    settings : dict
        The matching options: covariates, caliper, scale, ratio, replace, order
        (as given; with replacement the turns are in data order, which does not
        change the pairs), exact.
    n_pairs : int
        Number of matched sets (matched treated units).
    """

    pairs: pd.DataFrame
    matched: pd.DataFrame
    match_data: pd.DataFrame
    caliper_width: float
    propensity: pd.Series
    distance: pd.Series
    unmatched: pd.DataFrame
    model: PropensityModel
    _weights: FloatArray = field(repr=False)
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def n_pairs(self) -> int:
        """Number of matched treated units."""
        return int(self.pairs["pair"].nunique())

    @property
    def weights(self) -> pd.Series:
        """MatchIt's ``weights``: one per row of the input frame, 0 when unmatched."""
        return pd.Series(self._weights, index=self.propensity.index, name="weight")


def _strata(frame: pd.DataFrame, exact: Sequence[str] | None) -> IntArray:
    if not exact:
        return np.zeros(len(frame), dtype=np.int64)
    require_columns(frame, exact)
    for col in exact:
        if frame[col].isna().any():
            where = describe_entries(None, frame[col].isna().to_numpy(), list(frame.index))
            raise InputError(f"exact-matching column {col!r} has missing values at {where}")
    keys = frame[list(exact)].astype(str).agg("\x1f".join, axis=1)
    _, codes = np.unique(keys.to_numpy(), return_inverse=True)
    return np.asarray(codes, dtype=np.int64)


def _shown(value: object) -> str:
    """An option value for a message: text quoted, numbers plain (never a numpy repr)."""
    return repr(str(value)) if isinstance(value, str) else str(value)


def _check_options(
    scale: object, order: object, ratio: object, caliper: object, random_state: object
) -> None:
    """Reject bad :func:`match` options with a plain-text message."""
    if scale not in ("logit", "ps"):
        raise InputError(f"scale must be 'logit' or 'ps', got {_shown(scale)}")
    if order not in ("largest", "smallest", "random", "data"):
        raise InputError(f"order must be largest, smallest, random or data; got {_shown(order)}")
    if not isinstance(ratio, (int, np.integer)) or isinstance(ratio, bool) or int(ratio) < 1:
        raise InputError(f"ratio must be a whole number >= 1, got {_shown(ratio)}")
    if caliper is not None and (
        isinstance(caliper, bool)
        or not isinstance(caliper, numbers.Real)
        or not (np.isfinite(float(caliper)) and float(caliper) > 0)
    ):
        raise InputError(f"caliper must be a positive number of SDs or None, got {_shown(caliper)}")
    if order == "random":
        try:
            np.random.default_rng(random_state)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise InputError(
                f"random_state must be a whole number, got {_shown(random_state)}"
            ) from None


def match(
    frame: pd.DataFrame,
    treatment: str,
    covariates: Sequence[str],
    *,
    caliper: float | None = 0.2,
    scale: Scale = "logit",
    ratio: int = 1,
    replace: bool = False,
    order: Order = "largest",
    exact: Sequence[str] | None = None,
    random_state: int | None = None,
    model: PropensityModel | None = None,
) -> MatchResult:
    """Greedy nearest-neighbour propensity matching, as ``MatchIt`` ``method = "nearest"``.

    Follows MatchIt (>= 4.5.4) with ``distance = "glm"`` (``link = "linear.logit"``
    for ``scale="logit"``), ``estimand = "ATT"`` and ``std.caliper = TRUE``; see
    the module docstring for the rule, ties included.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per patient; its index labels identify patients in the result.
    treatment : str
        Arm column (0/1, booleans or ``blinatumomab``/``chemotherapy``).
    covariates : sequence of str
        Propensity model covariates.
    caliper : float or None, default 0.2
        In standard deviations (n - 1) of the distance over all units; ``None``
        for no caliper.
    scale : {"logit", "ps"}, default "logit"
        Distance: the logit of the propensity score (Austin's recommendation)
        or the score itself.
    ratio : int, default 1
        Controls per treated unit; every treated unit gets its first control
        before any gets a second.
    replace : bool, default False
        Whether a control may serve several treated units (then, as MatchIt,
        the treated units take their turns in data order).
    order : {"largest", "smallest", "random", "data"}, default "largest"
        Order in which treated units choose, by distance (as MatchIt: the same as by
        propensity score except where scores are clamped at 0 or 1); ties in
        data order.
    exact : sequence of str, optional
        Columns on which matched units must agree (matching within strata).
    random_state : int, optional
        Seed of the numpy ``Generator`` that permutes the treated units for
        ``order="random"``.
    model : PropensityModel, optional
        A model already fitted by :func:`fit_propensity` on the same ``frame``,
        ``treatment`` and ``covariates`` (reused across a caliper sweep).

    Returns
    -------
    MatchResult

    Raises
    ------
    InputError
        Bad arguments, or no treated unit with a control inside the caliper.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"t": [1, 1, 0, 0, 0, 0], "x": [2.0, 1.0, 0.5, 1.4, 0.2, 2.2]})
    >>> res = match(f, "t", ["x"], caliper=None)
    >>> res.pairs[["treated", "control"]].to_numpy().tolist()
    [[0, 5], [1, 3]]
    >>> res.weights.tolist()
    [1.0, 1.0, 0.0, 1.0, 0.0, 1.0]
    """
    frame = require_frame(frame)
    _check_options(scale, order, ratio, caliper, random_state)
    if model is None:
        model = fit_propensity(frame, treatment, covariates)
    elif not model.propensity.index.equals(frame.index):
        raise InputError("model was fitted on other rows than frame; refit with fit_propensity")
    treat = as_treatment(frame[treatment], name=f"treatment column {treatment!r}")
    dist_series = model.linear_predictor if scale == "logit" else model.propensity
    dist = dist_series.to_numpy(dtype=float)
    ps = model.propensity.to_numpy(dtype=float)
    width = float(caliper * np.std(dist, ddof=1)) if caliper is not None else float("inf")
    labels = frame.index
    turn = _turn_order(dist, np.flatnonzero(treat == 1), order, replace, random_state)
    chosen, reason = _greedy(
        dist, treat, _strata(frame, exact), turn, width, int(ratio), replace, labels
    )
    made = [int(t) for t in turn if chosen[int(t)]]  # sets in the order they were made
    if not made:
        where = f"within the caliper (width {width:.4g} on the {scale} scale)"
        if caliper is None:
            where = "in the same exact-matching stratum"
        raise InputError(
            f"no treated patient has a control {where}; widen the caliper or review covariates"
        )
    sets = np.array(
        [(t, c, no) for no, t in enumerate(made, start=1) for c in chosen[t]], dtype=np.int64
    )
    pairs = pd.DataFrame(
        {"treated": labels[sets[:, 0]], "control": labels[sets[:, 1]], "pair": sets[:, 2]}
    )
    # get_matches rows: each set's treated unit, then its controls in the order taken
    n_controls = np.array([len(chosen[t]) for t in made])
    rows = np.concatenate([[t, *chosen[t]] for t in made]).astype(np.int64)
    row_pair = np.repeat(np.arange(1, len(made) + 1), n_controls + 1)
    row_weight = np.concatenate([[1.0, *[1.0 / len(chosen[t])] * len(chosen[t])] for t in made])
    matched = frame.iloc[rows].copy()
    matched["pair"] = row_pair
    matched["propensity"] = ps[rows]
    matched["distance"] = dist[rows]
    matched["weight"] = row_weight
    # match.data rows: every matched unit once, in input order, with MatchIt's weights
    weights = _matchit_weights(sets, treat)
    units = np.flatnonzero(weights > 0)
    unit_pair = pd.array([pd.NA] * treat.size, dtype="Int64")
    if not replace:
        unit_pair[sets[:, 0]] = sets[:, 2]
        unit_pair[sets[:, 1]] = sets[:, 2]
    match_data = frame.iloc[units].copy()
    match_data["propensity"] = ps[units]
    match_data["distance"] = dist[units]
    match_data["weight"] = weights[units]
    match_data["pair"] = unit_pair[units]
    lost = [int(t) for t in turn if not chosen[int(t)]]
    unmatched = pd.DataFrame(
        {
            "treated": labels[lost],
            "propensity": ps[lost],
            "reason": [reason.get(t, "no eligible control") for t in lost],
        }
    )
    return MatchResult(
        pairs=pairs,
        matched=matched,
        match_data=match_data,
        caliper_width=width,
        propensity=model.propensity,
        distance=dist_series.rename("distance"),
        unmatched=unmatched,
        model=model,
        _weights=weights,
        settings={
            "covariates": list(covariates),
            "caliper": caliper,
            "scale": scale,
            "ratio": int(ratio),
            "replace": bool(replace),
            "order": order,
            "exact": list(exact) if exact else [],
        },
    )

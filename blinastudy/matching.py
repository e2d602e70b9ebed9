"""Propensity scores and greedy nearest-neighbour matching, as R ``glm`` and ``MatchIt``.

* :func:`propensity_scores` fits an unpenalised logistic regression with the
  iteratively reweighted least squares of R's ``glm.fit`` (same start, same
  convergence rule, same clamping of fitted probabilities), so scores equal
  R's also when a covariate separates the arms.
* :func:`match` implements ``MatchIt`` (>= 4.5.4) ``method = "nearest"``:
  treated units in descending propensity order each take the closest unused
  control on the distance scale (ties: first in data order); a unit whose
  closest available control lies beyond ``caliper x SD(distance)`` stays
  unmatched. A sorted index with union-find "next available" pointers makes it
  O(n log n) rather than a scan of all controls per treated unit.
* :func:`balance` (re-exported from :mod:`blinastudy.balance`) reports SMDs
  and variance ratios before and after matching.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import linalg

from blinastudy.balance import balance
from blinastudy.errors import InputError
from blinastudy.survival.coxph import design_matrix, independent_columns
from blinastudy.validate import as_treatment, require_columns, require_finite, require_frame

__all__ = [
    "MatchResult",
    "PropensityModel",
    "balance",
    "fit_propensity",
    "match",
    "propensity_scores",
]

FloatArray = npt.NDArray[np.float64]
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


class _Available:
    """Sorted controls with union-find pointers to the nearest unused one on each side."""

    def __init__(self, values: FloatArray, members: npt.NDArray[np.int64]) -> None:
        order = np.lexsort((members, values))
        self.values = values[order]
        self.members = members[order]  # positions in the full frame (data order)
        m = self.values.size
        self.right = np.arange(m + 1)  # right[i]: smallest available >= i (m = none)
        self.left = np.arange(m + 1)  # left[i + 1]: largest available <= i (0 = none)
        self.remaining = m

    @staticmethod
    def _find(parent: npt.NDArray[Any], i: int) -> int:
        root = i
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:
            parent[i], i = root, parent[i]
        return int(root)

    def remove(self, k: int) -> None:
        self.right[k] = k + 1
        self.left[k + 1] = k
        self.remaining -= 1

    def _group_first(self, k: int) -> int:
        """First available position among the controls with exactly ``values[k]``."""
        return self._find(self.right, int(np.searchsorted(self.values, self.values[k], "left")))

    def nearest(self, v: float) -> tuple[int, float] | None:
        """Sorted position and distance of the nearest available control.

        Distances are ``|v - value|`` as computed in floating point (as MatchIt
        does), and among controls at the same distance the first in data order
        wins, also where different values round to the same distance.
        """
        if self.remaining == 0:
            return None
        m = self.values.size
        values = self.values
        pos = int(np.searchsorted(values, v, side="left"))
        r = self._find(self.right, pos)  # smallest available >= pos
        lf = self._find(self.left, pos) - 1  # largest available <= pos - 1
        dr = abs(values[r] - v) if r < m else np.inf
        dl = abs(v - values[lf]) if lf >= 0 else np.inf
        best_d = min(dr, dl)
        cands: list[int] = []
        k = r
        while k < m and abs(values[k] - v) == best_d:  # groups of equal distance, upwards
            cands.append(self._group_first(k))
            k = self._find(self.right, int(np.searchsorted(values, values[k], "right")))
        k = lf
        while k >= 0 and abs(v - values[k]) == best_d:  # and downwards
            cands.append(self._group_first(k))
            k = self._find(self.left, int(np.searchsorted(values, values[k], "left"))) - 1
        chosen = min(cands, key=lambda j: int(self.members[j]))
        return chosen, float(best_d)

    def k_nearest(self, v: float, k: int) -> list[tuple[int, float]]:
        """The ``k`` nearest controls, used or not (matching with replacement)."""
        m = self.values.size
        pos = int(np.searchsorted(self.values, v, side="left"))
        lo, hi = pos - 1, pos
        out: list[tuple[int, float]] = []
        while len(out) < k and (lo >= 0 or hi < m):
            dl = v - self.values[lo] if lo >= 0 else np.inf
            dr = self.values[hi] - v if hi < m else np.inf
            if dl < dr or (dl == dr and self.members[lo] < self.members[hi]):
                out.append((lo, float(dl)))
                lo -= 1
            else:
                out.append((hi, float(dr)))
                hi += 1
        if not out:
            return out
        # Walking left visits a run of equal values in reverse data order, so controls
        # tied at the k-th distance may have been taken out of order: gather every
        # control at that distance and keep the first ones in data order.
        last = out[-1][1]
        while lo >= 0 and v - self.values[lo] == last:
            out.append((lo, float(last)))
            lo -= 1
        while hi < m and self.values[hi] - v == last:
            out.append((hi, float(last)))
            hi += 1
        out.sort(key=lambda kd: (kd[1], int(self.members[kd[0]])))
        return out[:k]


@dataclass
class MatchResult:
    """Result of :func:`match`.

    Attributes
    ----------
    pairs : pandas.DataFrame
        Columns ``treated``, ``control`` (index labels of the input frame) and
        ``pair`` (1, 2, ...: the matched set of one treated unit).
    matched : pandas.DataFrame
        The matched rows (treated first in each set) plus ``pair``,
        ``propensity``, ``distance`` and ``weight`` (ATT matching weights).
    caliper_width : float
        Absolute caliper on the distance scale (``inf`` without a caliper).
    propensity, distance : pandas.Series
        For every row of the input frame.
    unmatched : pandas.DataFrame
        Treated units left unmatched, with the reason.
    """

    pairs: pd.DataFrame
    matched: pd.DataFrame
    caliper_width: float
    propensity: pd.Series
    distance: pd.Series
    unmatched: pd.DataFrame
    model: PropensityModel
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def n_pairs(self) -> int:
        """Number of matched treated units."""
        return int(self.pairs["pair"].nunique())

    @property
    def weights(self) -> pd.Series:
        """ATT matching weights of the matched rows, as ``MatchIt``'s ``weights``."""
        return self.matched["weight"]


def _strata(frame: pd.DataFrame, exact: Sequence[str] | None) -> npt.NDArray[np.int64]:
    if not exact:
        return np.zeros(len(frame), dtype=np.int64)
    require_columns(frame, exact)
    for col in exact:
        if frame[col].isna().any():
            rows = list(frame.index[frame[col].isna()][:5])
            raise InputError(f"exact-matching column {col!r} has missing values at rows {rows}")
    keys = frame[list(exact)].astype(str).agg("\x1f".join, axis=1)
    _, codes = np.unique(keys.to_numpy(), return_inverse=True)
    return np.asarray(codes, dtype=np.int64)


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
        Whether a control may serve several treated units.
    order : {"largest", "smallest", "random", "data"}, default "largest"
        Order in which treated units choose, by distance (as MatchIt: the same as by
        propensity score except where scores are clamped at 0 or 1).
    exact : sequence of str, optional
        Columns on which matched units must agree (matching within strata).
    random_state : int, optional
        Seed for ``order="random"``.
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
    """
    frame = require_frame(frame)
    if scale not in ("logit", "ps"):
        raise InputError(f"scale must be 'logit' or 'ps', got {scale!r}")
    if order not in ("largest", "smallest", "random", "data"):
        raise InputError(f"order must be largest, smallest, random or data; got {order!r}")
    if not isinstance(ratio, (int, np.integer)) or isinstance(ratio, bool) or ratio < 1:
        raise InputError(f"ratio must be a whole number >= 1, got {ratio!r}")
    if caliper is not None and (
        isinstance(caliper, bool)
        or not isinstance(caliper, numbers.Real)
        or not (np.isfinite(caliper) and caliper > 0)
    ):
        raise InputError(f"caliper must be a positive number of SDs or None, got {caliper!r}")
    if model is None:
        model = fit_propensity(frame, treatment, covariates)
    elif not model.propensity.index.equals(frame.index):
        raise InputError("model was fitted on other rows than frame; refit with fit_propensity")
    treat = as_treatment(frame[treatment], name=f"treatment column {treatment!r}")
    dist_series = model.linear_predictor if scale == "logit" else model.propensity
    dist = dist_series.to_numpy(dtype=float)
    ps = model.propensity.to_numpy(dtype=float)
    width = float(caliper * np.std(dist, ddof=1)) if caliper is not None else float("inf")
    strata = _strata(frame, exact)
    t_pos = np.flatnonzero(treat == 1)
    c_pos = np.flatnonzero(treat == 0)
    if order == "largest":
        t_order = t_pos[np.argsort(-dist[t_pos], kind="stable")]
    elif order == "smallest":
        t_order = t_pos[np.argsort(dist[t_pos], kind="stable")]
    elif order == "random":
        try:
            rng = np.random.default_rng(random_state)
        except (TypeError, ValueError):
            raise InputError(f"random_state must be a whole number, got {random_state!r}") from None
        t_order = rng.permutation(t_pos)
    else:
        t_order = t_pos
    pools: dict[int, _Available] = {}
    for s in np.unique(strata[c_pos]):
        members = c_pos[strata[c_pos] == s].astype(np.int64)
        pools[int(s)] = _Available(dist[members], members)
    labels = frame.index
    chosen: dict[int, list[int]] = {int(t): [] for t in t_order}
    reason: dict[int, str] = {}
    rounds = 1 if replace else ratio
    for rnd in range(rounds):
        for t in t_order:
            t = int(t)
            if rnd > 0 and len(chosen[t]) < rnd:
                continue  # unmatched in an earlier round
            pool = pools.get(int(strata[t]))
            if pool is None:
                reason[t] = "no control in the same exact-matching stratum"
                continue
            if replace:
                near = pool.k_nearest(float(dist[t]), ratio)
                inside = [(k, d) for k, d in near if d <= width]
                if not inside:
                    k0, d0 = near[0]
                    reason[t] = (
                        f"nearest control {labels[int(pool.members[k0])]!r} is {d0:.4g} away, "
                        f"beyond the caliper width {width:.4g}"
                    )
                chosen[t].extend(int(pool.members[k]) for k, _ in inside)
                continue
            found = pool.nearest(float(dist[t]))
            if found is None:
                if rnd == 0:
                    reason[t] = "all eligible controls were already matched"
                continue
            k, d = found
            if d > width:
                if rnd == 0:
                    reason[t] = (
                        f"nearest available control {labels[int(pool.members[k])]!r} is "
                        f"{d:.4g} away, beyond the caliper width {width:.4g}"
                    )
                continue
            chosen[t].append(int(pool.members[k]))
            pool.remove(k)
    rows: list[tuple[int, int, int]] = []
    pair_no = 0
    for t in t_order:
        t = int(t)
        if not chosen[t]:
            continue
        pair_no += 1
        rows.extend((t, c, pair_no) for c in chosen[t])
    if not rows:
        raise InputError(
            "no treated patient has a control within the caliper "
            f"(width {width:.4g} on the {scale} scale); widen the caliper or review covariates"
        )
    pos = np.array(rows, dtype=np.int64)
    pairs = pd.DataFrame(
        {"treated": labels[pos[:, 0]], "control": labels[pos[:, 1]], "pair": pos[:, 2]}
    )
    # matched rows: each set's treated unit, then its controls; ATT weights as MatchIt
    n_in_set = np.bincount(pos[:, 2])[pos[:, 2]]
    _, first_use = np.unique(pos[:, 0], return_index=True)
    set_t = pos[np.sort(first_use), 0]  # treated units in the order their sets were made
    t_rows = pd.DataFrame({"pos": set_t, "pair": np.arange(1, set_t.size + 1), "weight": 1.0})
    c_rows = pd.DataFrame({"pos": pos[:, 1], "pair": pos[:, 2], "weight": 1.0 / n_in_set})
    # per-use weight 1/k of its set, rescaled so the controls' weights sum to the number of
    # distinct matched controls (a unit's weights summed over its uses equal MatchIt's)
    c_rows["weight"] *= len(np.unique(pos[:, 1])) / set_t.size
    sets = pd.concat([t_rows.assign(_k=0), c_rows.assign(_k=1)], ignore_index=True)
    sets = sets.sort_values(["pair", "_k"], kind="stable")
    matched = frame.iloc[sets["pos"].to_numpy()].copy()
    matched["pair"] = sets["pair"].to_numpy()
    matched["propensity"] = ps[sets["pos"].to_numpy()]
    matched["distance"] = dist[sets["pos"].to_numpy()]
    matched["weight"] = sets["weight"].to_numpy()
    unmatched = pd.DataFrame(
        {
            "treated": [labels[t] for t in t_order if not chosen[int(t)]],
            "propensity": [ps[t] for t in t_order if not chosen[int(t)]],
            "reason": [
                reason.get(int(t), "no eligible control") for t in t_order if not chosen[int(t)]
            ],
        }
    )
    return MatchResult(
        pairs=pairs,
        matched=matched,
        caliper_width=width,
        propensity=model.propensity,
        distance=dist_series.rename("distance"),
        unmatched=unmatched,
        model=model,
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

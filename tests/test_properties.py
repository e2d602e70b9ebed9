"""Property-based tests (hypothesis) of the survival estimators, matching and balance.

Matching is checked against a literal, brute-force transcription of MatchIt's C
loop ``nn_matchC_vec`` written here (all units sorted by distance; every treated
unit at its turn walks left and right to the nearest usable control), for every
combination of ratio, replacement, order and exact matching, against MatchIt's
weights computed by brute force, and against the caliper invariant that MatchIt
4.5.1-4.5.3 broke (MatchIt issue #163).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from blinastudy.core.errors import InputError
from blinastudy.stats.balance import balance
from blinastudy.stats.matching import MatchResult, PropensityModel, fit_propensity, match
from blinastudy.stats.survival import cox, kaplan_meier, logrank
from tests._cells import num
from tests._models import model_with_distance

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def survival_data(draw: st.DrawFn, min_n: int = 1, max_n: int = 40) -> tuple[Any, Any]:
    n = draw(st.integers(min_n, max_n))
    # a small grid of times gives many ties, including events tied with censorings
    times = draw(st.lists(st.integers(0, 12), min_size=n, max_size=n))
    events = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    scale = draw(st.sampled_from([1.0, 0.5, 7.25]))
    return np.array(times, dtype=float) * scale, np.array(events)


# ---------------------------------------------------------------------------
# Kaplan-Meier


@SETTINGS
@given(data=survival_data(), conf_type=st.sampled_from(["log-log", "log", "plain"]))
def test_km_table_invariants(data: tuple[Any, Any], conf_type: str) -> None:
    t, e = data
    km = kaplan_meier(t, e, conf_type=conf_type)  # type: ignore[arg-type]
    s = km["survival"].to_numpy()
    assert np.all((s >= 0) & (s <= 1))
    assert np.all(np.diff(s) <= 1e-15)
    assert np.all(np.diff(km["n_at_risk"].to_numpy()) <= 0)
    assert km["n_at_risk"].iloc[0] == len(t)
    assert (km["n_events"] + km["n_censored"]).sum() == len(t)
    assert km["n_events"].sum() == e.sum()
    assert np.all(np.diff(km["time"].to_numpy()) > 0)
    lo, hi = km["ci_lower"].to_numpy(), km["ci_upper"].to_numpy()
    ok = ~np.isnan(lo) & ~np.isnan(hi)
    assert np.all(lo[ok] <= s[ok] + 1e-12) and np.all(s[ok] <= hi[ok] + 1e-12)
    assert np.all((lo[ok] >= 0) & (hi[ok] <= 1 + 1e-12))
    # intervals are missing only where R's are: S = 0, and S = 1 for log-log
    undefined = (s == 0) | ((s == 1) & (conf_type == "log-log"))
    assert np.array_equal(~ok, undefined)


@SETTINGS
@given(times=st.lists(st.integers(0, 15), min_size=1, max_size=40))
def test_km_without_censoring_is_empirical_survival(times: list[int]) -> None:
    t = np.array(times, dtype=float)
    km = kaplan_meier(t, np.ones_like(t))
    empirical = [(t > u).mean() for u in km["time"]]
    np.testing.assert_allclose(km["survival"], empirical, rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------------------
# log-rank


@st.composite
def grouped_data(draw: st.DrawFn) -> tuple[Any, Any, Any]:
    t, e = draw(survival_data(min_n=2))
    k = draw(st.integers(2, 3))
    g = np.array(draw(st.lists(st.integers(0, k - 1), min_size=len(t), max_size=len(t))))
    assume(np.unique(g).size >= 2)
    return t, e, g


@SETTINGS
@given(data=grouped_data(), seed=st.integers(0, 2**32 - 1))
def test_logrank_invariant_to_row_order_and_labels(data: tuple[Any, Any, Any], seed: int) -> None:
    t, e, g = data
    perm = np.random.default_rng(seed).permutation(len(t))
    names = np.array(["zeta", "mu", "alpha"])
    try:
        res = logrank(t, e, g)
    except InputError as err:
        # undefined (singular variance, as survdiff stops): whatever the order or labels
        assert "singular" in str(err)
        for args in ((t[perm], e[perm], g[perm]), (t, e, names[g])):
            with pytest.raises(InputError, match="singular"):
                logrank(*args)
        return
    assert res.statistic >= -1e-12
    assert res.table["n"].sum() == len(t)
    np.testing.assert_allclose(res.table["observed"].sum(), res.table["expected"].sum())
    shuffled = logrank(t[perm], e[perm], g[perm])
    assert shuffled.statistic == pytest.approx(res.statistic, rel=1e-8, abs=1e-10)
    assert shuffled.dof == res.dof
    # relabel groups so that their sorted order is reversed
    relabelled = logrank(t, e, names[g])
    assert relabelled.statistic == pytest.approx(res.statistic, rel=1e-8, abs=1e-10)
    assert relabelled.dof == res.dof


# ---------------------------------------------------------------------------
# Cox


@st.composite
def cox_data(draw: st.DrawFn) -> pd.DataFrame:
    t, e = draw(survival_data(min_n=4, max_n=30))
    n = len(t)
    x = draw(
        st.lists(
            st.floats(-3, 3, allow_nan=False, allow_subnormal=False).map(lambda v: round(v, 3)),
            min_size=n,
            max_size=n,
        )
    )
    return pd.DataFrame({"t": t, "e": e, "x": x})


def _same(a: pd.DataFrame, b: pd.DataFrame, transform: Any = None) -> None:
    assert a["method"].tolist() == b["method"].tolist()
    ca = np.log(a["hr"].to_numpy())
    cb = np.log(b["hr"].to_numpy())
    if transform is not None:
        cb = transform(cb)
    np.testing.assert_allclose(ca, cb, rtol=1e-6, atol=1e-6)


@SETTINGS
@given(frame=cox_data(), seed=st.integers(0, 2**32 - 1))
def test_cox_invariant_to_row_order(frame: pd.DataFrame, seed: int) -> None:
    perm = np.random.default_rng(seed).permutation(len(frame))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        a = cox(frame, "t", "e", ["x"])
        b = cox(frame.iloc[perm], "t", "e", ["x"])
    _same(a, b)
    np.testing.assert_allclose(a["se"], b["se"], rtol=1e-6)


@SETTINGS
@given(frame=cox_data(), c=st.sampled_from([-1.0, 0.5, 2.0, -10.0]))
def test_cox_coefficient_scales_inversely(frame: pd.DataFrame, c: float) -> None:
    # HR(c x) = HR(x)^(1/c); c = -1 is HR(-x) = 1/HR(x)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        a = cox(frame, "t", "e", ["x"])
        b = cox(frame.assign(x=frame["x"] * c), "t", "e", ["x"])
    _same(a, b, transform=lambda coef: coef * c)
    if (a["method"] != "not estimable").all():
        np.testing.assert_allclose(a["se"], b["se"] * abs(c), rtol=1e-6)


@SETTINGS
@given(frame=cox_data(), seed=st.integers(0, 2**32 - 1))
def test_robust_se_singleton_clusters_does_not_depend_on_labels(
    frame: pd.DataFrame, seed: int
) -> None:
    # The API has no "robust without clusters" switch: one cluster per patient is
    # that estimator (compared with lifelines' robust=True in test_survival_hand).
    rng = np.random.default_rng(seed)
    n = len(frame)
    labels = np.array([f"p{v}" for v in rng.permutation(n) * 7])
    # degenerate draws (every death in one risk set that dies entirely) give all-zero
    # score residuals, a robust SE of 0 and a 0/0 Wald statistic
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        a = cox(frame.assign(id=np.arange(n)), "t", "e", ["x"], cluster="id")
        b = cox(frame.assign(id=labels), "t", "e", ["x"], cluster="id")
    assert a["method"].tolist() == b["method"].tolist()
    np.testing.assert_allclose(a["se"], b["se"], rtol=1e-10, equal_nan=True)
    np.testing.assert_allclose(a["hr"], b["hr"], rtol=1e-10, equal_nan=True)


# ---------------------------------------------------------------------------
# matching


@st.composite
def matching_frames(draw: st.DrawFn) -> pd.DataFrame:
    n_t = draw(st.integers(1, 12))
    n_c = draw(st.integers(1, 25))
    n = n_t + n_c
    treat = np.array([1] * n_t + [0] * n_c)
    treat = treat[np.random.default_rng(draw(st.integers(0, 1000))).permutation(n)]
    # x on a coarse grid: many exactly tied propensity scores and distances
    x = np.array(draw(st.lists(st.integers(0, 10), min_size=n, max_size=n)), dtype=float)
    z = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    site = np.array(draw(st.lists(st.sampled_from(["A", "B"]), min_size=n, max_size=n)))
    # a given distance on a grid of halves: also equal differences to the left and right
    g = np.array(draw(st.lists(st.integers(-4, 4), min_size=n, max_size=n)), dtype=float)
    return pd.DataFrame({"t": treat, "x": x / 2, "z": z, "site": site, "g": g / 2})


MATCH_OPTIONS = st.fixed_dictionaries(
    {
        "caliper": st.sampled_from([None, 0.01, 0.1, 0.2, 0.5, 2.0]),
        "scale": st.sampled_from(["logit", "ps"]),
        "covariates": st.sampled_from([["x"], ["x", "z"], ["g"]]),
        "random_state": st.integers(0, 2**32 - 1),
    }
)


def given_distance_model(frame: pd.DataFrame) -> PropensityModel:
    """A model whose linear predictor is the frame's given distance ``g``."""
    return model_with_distance(frame["g"].astype(float))


def reference_nn_match(
    frame: pd.DataFrame,
    dist: np.ndarray,
    width: float,
    *,
    ratio: int,
    replace: bool,
    order: str,
    exact: list[str] | None,
    random_state: int,
) -> dict[int, list[int]]:
    """MatchIt's C loop ``nn_matchC_vec`` written out literally, O(n^2).

    Returns the controls of each treated unit in the order taken, the treated
    units in the order their sets were made.
    """
    treat = frame["t"].to_numpy()
    stratum = frame[exact[0]].to_numpy() if exact else np.zeros(len(frame))
    n = len(frame)
    d_ord = sorted(range(n), key=lambda i: dist[i])  # Python's sort is stable, as R's order
    treated = [i for i in range(n) if treat[i] == 1]
    if replace or order == "data":
        turns = treated
    elif order == "largest":
        turns = sorted(treated, key=lambda i: -dist[i])
    elif order == "smallest":
        turns = sorted(treated, key=lambda i: dist[i])
    else:
        turns = [int(i) for i in np.random.default_rng(random_state).permutation(treated)]
    used = [False] * n
    matchable = dict.fromkeys(turns, True)
    taken: dict[int, list[int]] = {i: [] for i in turns}

    def usable(k: int, i: int) -> bool:
        u = d_ord[k]
        return treat[u] == 0 and not used[u] and u not in taken[i] and stratum[u] == stratum[i]

    for _ in range(ratio):
        for i in turns:
            if not matchable[i]:
                continue
            ii = d_ord.index(i)
            k_left = ii - 1
            while k_left >= 0 and not usable(k_left, i):
                k_left -= 1
            if k_left >= 0 and abs(dist[i] - dist[d_ord[k_left]]) > width:
                k_left = -1
            k_right = ii + 1
            while k_right < n and not usable(k_right, i):
                k_right += 1
            if k_right < n and abs(dist[i] - dist[d_ord[k_right]]) > width:
                k_right = -1
            if k_right == n:
                k_right = -1
            if k_left >= 0 and k_right >= 0:
                di = dist[i]
                left = abs(dist[d_ord[k_left]] - di) <= abs(dist[d_ord[k_right]] - di)
                k = k_left if left else k_right
            elif k_left >= 0 or k_right >= 0:
                k = max(k_left, k_right)
            else:
                matchable[i] = False
                continue
            taken[i].append(d_ord[k])
            used[d_ord[k]] = not replace
    return {i: taken[i] for i in turns if taken[i]}


def reference_weights(taken: dict[int, list[int]], treat: np.ndarray) -> np.ndarray:
    """MatchIt's weights by brute force: 1/k per use, controls rescaled to their count."""
    w = np.zeros(treat.size)
    for i in sorted(taken):
        w[i] = 1.0
        for c in taken[i]:
            w[c] += 1.0 / len(taken[i])
    controls = treat == 0
    w[controls] *= np.count_nonzero(w[controls]) / w[controls].sum()
    return w


def _pairs(res: MatchResult) -> list[tuple[int, int]]:
    return [(int(t), int(c)) for t, c in res.pairs[["treated", "control"]].to_numpy()]


@pytest.mark.parametrize("ratio", [1, 2, 3])
@pytest.mark.parametrize("replace", [False, True])
@pytest.mark.parametrize("order", ["largest", "smallest", "data", "random"])
@pytest.mark.parametrize("exact", [None, ["site"]])
@settings(SETTINGS, max_examples=30)
@given(frame=matching_frames(), options=MATCH_OPTIONS)
def test_matching_properties(
    frame: pd.DataFrame,
    options: dict[str, Any],
    ratio: int,
    replace: bool,
    order: str,
    exact: list[str] | None,
) -> None:
    opts = dict(options)
    covariates = opts.pop("covariates")
    opts.update(ratio=ratio, replace=replace, order=order, exact=exact)
    model = given_distance_model(frame) if covariates == ["g"] else None
    try:
        res = match(frame, "t", covariates, model=model, **opts)
    except InputError as err:
        # only allowed when nothing can be matched: check that by brute force
        assert "no treated patient has a control" in str(err)
        model = model or fit_propensity(frame, "t", covariates)
        dist = (model.linear_predictor if opts["scale"] == "logit" else model.propensity).to_numpy()
        width = opts["caliper"] * np.std(dist, ddof=1) if opts["caliper"] else np.inf
        args = {k: opts[k] for k in ("ratio", "replace", "order", "exact", "random_state")}
        assert reference_nn_match(frame, dist, width, **args) == {}
        return
    dist = res.distance.to_numpy()
    width = res.caliper_width
    if opts["caliper"] is None:
        assert width == np.inf
    else:
        assert width == pytest.approx(opts["caliper"] * np.std(dist, ddof=1), rel=1e-12)
    got = _pairs(res)
    treat = frame["t"].to_numpy()
    # 1. no pair is farther apart than the caliper (MatchIt issue #163)
    for t, c in got:
        assert treat[t] == 1 and treat[c] == 0
        assert abs(dist[t] - dist[c]) <= width
    # 2. without replacement no control is used twice
    controls = [c for _, c in got]
    if not replace:
        assert len(controls) == len(set(controls))
    # 3. every treated unit has at most `ratio` controls, all distinct, in one set
    per_treated = res.pairs.groupby("treated")
    assert per_treated.size().max() <= ratio
    assert (per_treated["control"].nunique() == per_treated.size()).all()
    assert (per_treated["pair"].nunique() == 1).all()
    # 4. exact strata respected
    if exact:
        site = frame["site"].to_numpy()
        assert all(site[t] == site[c] for t, c in got)
    # 5. the same sets, in the same order, each with its controls in the order taken,
    #    as the literal re-run of MatchIt's C loop
    args = {k: opts[k] for k in ("ratio", "replace", "order", "exact", "random_state")}
    expected = reference_nn_match(frame, dist, width, **args)
    assert got == [(t, c) for t, cs in expected.items() for c in cs]
    assert res.pairs["pair"].tolist() == [
        no for no, cs in enumerate(expected.values(), start=1) for _ in cs
    ]
    assert set(res.unmatched["treated"]) == set(np.flatnonzero(treat == 1)) - set(expected)
    for reason in res.unmatched["reason"]:
        assert "caliper" in reason or "exact" in reason or "already matched" in reason
    # 6. MatchIt's weights over all rows, and the rows of match.data and get_matches
    w = reference_weights(expected, treat)
    np.testing.assert_allclose(res.weights.to_numpy(), w, rtol=1e-14, atol=0)
    assert res.weights.index.equals(frame.index)
    md = res.match_data
    assert md.index.tolist() == np.flatnonzero(w > 0).tolist()
    np.testing.assert_allclose(md["weight"].to_numpy(), w[w > 0], rtol=1e-14, atol=0)
    if replace:
        assert md["pair"].isna().all()
    else:
        set_of = {u: no for no, (t, cs) in enumerate(expected.items(), 1) for u in (t, *cs)}
        assert md["pair"].tolist() == [set_of[u] for u in md.index]
    rows = [(u, no) for no, (t, cs) in enumerate(expected.items(), 1) for u in (t, *cs)]
    assert list(zip(res.matched.index, res.matched["pair"], strict=True)) == rows
    k = {t: len(cs) for t, cs in expected.items()}
    assert res.matched["weight"].tolist() == [
        1.0 if treat[u] == 1 else 1 / k[list(expected)[no - 1]] for u, no in rows
    ]


@SETTINGS
@given(frame=matching_frames(), caliper=st.sampled_from([None, 0.2, 1.0]))
def test_balance_after_one_to_one_matching_is_direct_recomputation(
    frame: pd.DataFrame, caliper: float | None
) -> None:
    """1:1 without replacement: every matched patient has weight 1, so MatchIt's summary()
    reduces to plain means and (n - 1) variances of the matched rows; the SMD denominator
    is the treated SD of the full sample (pooled within arms when the treated do not vary).
    """
    frame = frame.assign(w=frame["x"] ** 2 + frame["z"], s=frame["z"] + 1)  # s coded 1/2
    covariates = ["x", "z", "w", "s"]
    try:
        res = match(frame, "t", ["x", "z"], caliper=caliper)
    except InputError:
        return
    table = balance(frame, "t", covariates, matched=res)
    t_rows = [t for t, _ in _pairs(res)]
    c_rows = [c for _, c in _pairs(res)]
    arms = frame.groupby("t")
    sqrt_eps = np.sqrt(np.finfo(float).eps)
    for col in covariates:
        v = frame[col]
        binary = bool(v.isin([0, 1]).all())  # 1/2 coding is not binary
        full_t = v[frame["t"] == 1]
        if binary:
            sd = np.sqrt(full_t.mean() * (1 - full_t.mean()))
        else:
            sd = full_t.std(ddof=1) if len(full_t) > 1 else np.nan
        if not (np.isfinite(sd) and sd >= sqrt_eps):  # pooled, arms in proportion to size
            if binary:
                sd = np.sqrt(sum(len(a) * a.mean() * (1 - a.mean()) for _, a in arms[col]))
                sd /= np.sqrt(len(v))
            else:
                ss = sum(((a - a.mean()) ** 2).sum() for _, a in arms[col])
                sd = np.sqrt(ss / (len(v) - 1))
        for when, xt, xc in (
            ("before", full_t, v[frame["t"] == 0]),
            ("after", v.loc[t_rows], v.loc[c_rows]),
        ):
            diff = xt.mean() - xc.mean()
            too_small = len(xt) < 2 and len(xc) < 2
            smd = diff if abs(diff) <= sqrt_eps else (np.nan if too_small else diff / sd)
            assert table.loc[col, f"smd_{when}"] == pytest.approx(
                smd, rel=1e-10, abs=1e-12, nan_ok=True
            )
            if binary or too_small:
                assert np.isnan(num(table.loc[col, f"variance_ratio_{when}"]))
            elif min(len(xt), len(xc)) > 1 and xc.var(ddof=1) > 0 and xt.var(ddof=1) > 0:
                assert table.loc[col, f"variance_ratio_{when}"] == pytest.approx(
                    xt.var(ddof=1) / xc.var(ddof=1), rel=1e-10
                )

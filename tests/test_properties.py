"""Property-based tests (hypothesis) of the survival estimators, matching and balance.

Matching is checked against a brute-force re-simulation of MatchIt's greedy
nearest-neighbour rules written here (every treated unit at its turn, in
descending propensity order, scans all still-available controls), and against
the caliper invariant that MatchIt 4.5.1-4.5.3 broke (MatchIt issue #163).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from blinastudy.balance import balance
from blinastudy.errors import InputError
from blinastudy.matching import MatchResult, fit_propensity, match
from blinastudy.survival import cox, kaplan_meier, logrank

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
    return pd.DataFrame({"t": treat, "x": x / 2, "z": z, "site": site})


MATCH_OPTIONS = st.fixed_dictionaries(
    {
        "caliper": st.sampled_from([None, 0.01, 0.1, 0.2, 0.5, 2.0]),
        "scale": st.sampled_from(["logit", "ps"]),
        "ratio": st.integers(1, 3),
        "replace": st.booleans(),
        "order": st.sampled_from(["largest", "smallest", "data"]),
        "exact": st.sampled_from([None, ["site"]]),
        "covariates": st.sampled_from([["x"], ["x", "z"]]),
    }
)


def reference_greedy(
    frame: pd.DataFrame,
    dist: np.ndarray,
    ps: np.ndarray,
    width: float,
    *,
    ratio: int,
    replace: bool,
    order: str,
    exact: list[str] | None,
) -> list[tuple[int, int]]:
    """MatchIt's greedy nearest neighbour, by brute force over all controls."""
    treat = frame["t"].to_numpy()
    key = (
        frame[exact].astype(str).agg("|".join, axis=1).to_numpy() if exact else np.zeros(len(frame))
    )
    treated = [i for i in range(len(frame)) if treat[i] == 1]
    if order == "largest":
        treated.sort(key=lambda i: -dist[i])  # by distance, as MatchIt; stable for ties
    elif order == "smallest":
        treated.sort(key=lambda i: dist[i])
    controls = [j for j in range(len(frame)) if treat[j] == 0]
    chosen: dict[int, list[int]] = {i: [] for i in treated}
    if replace:
        for i in treated:
            near = sorted((abs(dist[j] - dist[i]), j) for j in controls if key[j] == key[i])
            chosen[i] = [j for d, j in near[:ratio] if d <= width]
    else:
        used: set[int] = set()
        for rnd in range(ratio):
            for i in treated:
                if len(chosen[i]) < rnd:
                    continue
                free = [
                    (abs(dist[j] - dist[i]), j)
                    for j in controls
                    if j not in used and key[j] == key[i]
                ]
                if not free:
                    continue
                d, j = min(free)
                if d <= width:
                    chosen[i].append(j)
                    used.add(j)
    return [(i, j) for i in treated for j in chosen[i]]


def _pairs(res: MatchResult) -> list[tuple[int, int]]:
    return [(int(t), int(c)) for t, c in res.pairs[["treated", "control"]].to_numpy()]


@SETTINGS
@given(frame=matching_frames(), options=MATCH_OPTIONS)
def test_matching_properties(frame: pd.DataFrame, options: dict[str, Any]) -> None:
    opts = dict(options)
    covariates = opts.pop("covariates")
    try:
        res = match(frame, "t", covariates, **opts)
    except InputError as err:
        # only allowed when nothing can be matched: check that by brute force
        assert "no treated patient has a control" in str(err)
        model = fit_propensity(frame, "t", covariates)
        dist = (model.linear_predictor if opts["scale"] == "logit" else model.propensity).to_numpy()
        width = opts["caliper"] * np.std(dist, ddof=1) if opts["caliper"] else np.inf
        assert (
            reference_greedy(
                frame,
                dist,
                model.propensity.to_numpy(),
                width,
                ratio=opts["ratio"],
                replace=opts["replace"],
                order=opts["order"],
                exact=opts["exact"],
            )
            == []
        )
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
    if not opts["replace"]:
        assert len(controls) == len(set(controls))
    # 3. every treated unit has at most `ratio` controls, all distinct, in one set
    per_treated = res.pairs.groupby("treated")
    assert per_treated.size().max() <= opts["ratio"]
    assert (per_treated["control"].nunique() == per_treated.size()).all()
    assert (per_treated["pair"].nunique() == 1).all()
    # 4. exact strata respected
    if opts["exact"]:
        site = frame["site"].to_numpy()
        assert all(site[t] == site[c] for t, c in got)
    # 5. the same pairs, in the same order, as the brute-force greedy re-simulation;
    #    so every unmatched treated unit had no available control inside the caliper
    expected = reference_greedy(
        frame,
        dist,
        res.propensity.to_numpy(),
        width,
        ratio=opts["ratio"],
        replace=opts["replace"],
        order=opts["order"],
        exact=opts["exact"],
    )
    assert got == expected
    matched_t = {t for t, _ in got}
    assert set(res.unmatched["treated"]) == {i for i in np.flatnonzero(treat == 1)} - matched_t
    for reason in res.unmatched["reason"]:
        assert "caliper" in reason or "exact" in reason or "already matched" in reason


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
                assert np.isnan(table.loc[col, f"variance_ratio_{when}"])
            elif min(len(xt), len(xc)) > 1 and xc.var(ddof=1) > 0 and xt.var(ddof=1) > 0:
                assert table.loc[col, f"variance_ratio_{when}"] == pytest.approx(
                    xt.var(ddof=1) / xc.var(ddof=1), rel=1e-10
                )

"""Cox models with case weights, near-tied times and reference levels, by hand.

Expected values are closed forms derived in the comments, or come from a plain
loop over the event times written here from R's C code (``coxfit6.c`` for the
weighted Efron/Breslow log partial likelihood, ``coxscore2.c`` for the score
residuals behind the robust variance). The last part checks properties with
hypothesis: integer weights against replicated rows, scaling of the weights,
invariance to rounding noise in tied times, and reparametrisation by the
reference level.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from blinastudy.core.errors import InputError
from blinastudy.stats.survival import cox, cox_fit, design_matrix
from blinastudy.stats.survival.coxph import Ties, reference_levels
from tests._cells import num
from tests._numeric import numerical_hessian

FloatArray = npt.NDArray[np.float64]

# ---------------------------------------------------------------------------
# plain implementations of R's sums, one event time at a time


def weighted_loglik(
    beta: FloatArray, x: FloatArray, t: FloatArray, e: FloatArray, w: FloatArray, efron: bool
) -> float:
    """coxfit6.c: sum over deaths of w x beta, minus for each of the d tied deaths
    (step k = 0..d-1) the mean death weight times log(risk-set sum - k/d deaths' sum)."""
    risk_score = w * np.exp(x @ beta)
    ll = 0.0
    for time in np.unique(t[e == 1]):
        dead = (t == time) & (e == 1)
        at_risk = t >= time
        nd = int(dead.sum())
        mean_wt = float(w[dead].sum()) / nd
        ll += float((w[dead] * (x[dead] @ beta)).sum())
        for k in range(nd):
            frac = k / nd if efron else 0.0
            ll -= mean_wt * math.log(risk_score[at_risk].sum() - frac * risk_score[dead].sum())
    return ll


def score_residuals(
    beta: FloatArray, x: FloatArray, t: FloatArray, e: FloatArray, w: FloatArray, efron: bool
) -> FloatArray:
    """coxscore2.c: unweighted score residuals of a weighted fit."""
    score = np.exp(x @ beta)
    risk_score = w * score
    resid = np.zeros_like(x)
    for time in np.unique(t[e == 1]):
        dead = (t == time) & (e == 1)
        at_risk = t >= time
        nd = int(dead.sum())
        mean_wt = float(w[dead].sum()) / nd
        for k in range(nd):
            down = k / nd if efron else 0.0
            denom = risk_score[at_risk].sum() - down * risk_score[dead].sum()
            mean = (
                (risk_score[at_risk, None] * x[at_risk]).sum(axis=0)
                - down * (risk_score[dead, None] * x[dead]).sum(axis=0)
            ) / denom
            hazard = mean_wt / denom
            for i in np.flatnonzero(at_risk):
                if dead[i]:
                    resid[i] += (x[i] - mean) / nd - (x[i] - mean) * score[i] * hazard * (1 - down)
                else:
                    resid[i] -= (x[i] - mean) * score[i] * hazard
    return resid


def tied_weighted(seed: int, n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    z = rng.integers(0, 2, n)
    return pd.DataFrame(
        {
            "t": np.ceil(rng.exponential(5, n) * np.exp(-0.5 * x - 0.5 * z)),
            "e": (rng.uniform(size=n) < 0.75).astype(int),
            "x": x,
            "z": z,
            "w": rng.uniform(0.3, 2.5, n),
            "cl": np.arange(n) // 3,
        },
        index=[f"P{i:02d}" for i in range(n)],
    )


# ---------------------------------------------------------------------------
# weighted likelihood, closed form


def test_weighted_breslow_closed_form_is_replicated_rows() -> None:
    # (x=1, t=1, death, w=3), (x=0, t=2, death, w=1), (x=1, t=3, censored, w=1); u = e^beta
    # l = 3 (log u - log(3u + 1 + u)) - log(1 + u)
    # score 3/u - 12/(4u + 1) - 1/(1 + u) = 0  <=>  4u^2 - 2u - 3 = 0  ->  u = (1 + sqrt13)/4
    # information 3 * 4u/(4u + 1)^2 + u/(1 + u)^2 (weighted variance of x in each risk set)
    x, t, e, w = [[1], [0], [1]], [1, 2, 3], [1, 1, 0], [3, 1, 1]
    u = (1 + math.sqrt(13)) / 4
    info = 12 * u / (4 * u + 1) ** 2 + u / (1 + u) ** 2
    loglik = 3 * (math.log(u) - math.log(4 * u + 1)) - math.log(1 + u)
    for ties in ("efron", "breslow"):  # no tied deaths: the same likelihood
        fit = cox_fit(x, t, e, weights=w, ties=ties)
        assert float(np.exp(fit.coef[0])) == pytest.approx(u, rel=1e-10)
        assert float(fit.naive_se[0]) == pytest.approx(1 / math.sqrt(info), rel=1e-9)
        assert fit.loglik == pytest.approx(loglik, rel=1e-12)
        assert fit.loglik_null == pytest.approx(-3 * math.log(5) - math.log(2), rel=1e-12)
    # three copies of the first row: the same estimate and model-based se (Breslow) ...
    rep = cox_fit([[1], [1], [1], [0], [1]], [1, 1, 1, 2, 3], [1, 1, 1, 1, 0], ties="breslow")
    assert float(np.exp(rep.coef[0])) == pytest.approx(u, rel=1e-10)
    assert float(rep.se[0]) == pytest.approx(1 / math.sqrt(info), rel=1e-9)
    # ... but not the robust se: three patients are not three independent ones
    weighted = cox_fit(x, t, e, weights=w, ties="breslow")
    replicated = cox_fit(
        [[1], [1], [1], [0], [1]], [1, 1, 1, 2, 3], [1, 1, 1, 1, 0], ties="breslow", robust=True
    )
    assert weighted.method == replicated.method == "ml-robust"
    assert abs(float(weighted.se[0]) / float(replicated.se[0]) - 1) > 0.05


def test_weighted_robust_variance_by_hand_closed_form() -> None:
    # Same three patients, Breslow, at the estimate u. Death times 1 (risk sum 4u + 1,
    # weighted mean of x p = 4u/(4u+1), hazard 3/(4u+1)) and 2 (risk 1 + u, mean
    # q = u/(1+u), hazard 1/(1+u)). Score residuals (coxscore2.c, unweighted):
    #   r1 = (1 - p) - (1 - p) u h1                  (dies at 1)
    #   r2 = -(0 - p) h1 + (0 - q) - (0 - q) h2        (at risk at 1, dies at 2)
    #   r3 = -(1 - p) u h1 - (1 - q) u h2              (at risk at 1 and 2, censored)
    # dfbeta_i = w_i r_i / I;  robust var = sum dfbeta_i^2
    u = (1 + math.sqrt(13)) / 4
    p, h1 = 4 * u / (4 * u + 1), 3 / (4 * u + 1)
    q, h2 = u / (1 + u), 1 / (1 + u)
    r1 = (1 - p) - (1 - p) * u * h1
    r2 = -(0 - p) * 1 * h1 + (0 - q) - (0 - q) * 1 * h2
    r3 = -(1 - p) * u * h1 - (1 - q) * u * h2
    info = 12 * u / (4 * u + 1) ** 2 + u / (1 + u) ** 2
    robust = ((3 * r1) ** 2 + r2**2 + r3**2) / info**2
    fit = cox_fit([[1], [0], [1]], [1, 2, 3], [1, 1, 0], weights=[3, 1, 1])
    assert 3 * r1 + r2 + r3 == pytest.approx(0, abs=1e-12)  # weighted score at the estimate
    assert float(fit.se[0]) == pytest.approx(math.sqrt(robust), rel=1e-9)
    assert fit.var[0, 0] == pytest.approx(robust, rel=1e-9)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("covs", [["x", "z"], ["z"]])  # row-wise and pattern evaluators
def test_weighted_fit_maximises_plain_weighted_likelihood(covs: list[str], ties: Ties) -> None:
    g = tied_weighted(4)
    assert g.loc[g["e"] == 1, "t"].duplicated().sum() > 8
    x = g[covs].to_numpy(dtype=float)
    t, e, w = (g[c].to_numpy(dtype=float) for c in ("t", "e", "w"))
    efron = ties == "efron"
    fit = cox_fit(x, t, e, weights=w, robust=False, ties=ties)
    beta = fit.coef
    assert fit.method == "ml"
    assert fit.loglik == pytest.approx(weighted_loglik(beta, x, t, e, w, efron), rel=1e-12)
    assert fit.loglik_null == pytest.approx(
        weighted_loglik(np.zeros(len(covs)), x, t, e, w, efron), rel=1e-12
    )
    h = 1e-6
    grad = [
        (
            weighted_loglik(beta + h * d, x, t, e, w, efron)
            - weighted_loglik(beta - h * d, x, t, e, w, efron)
        )
        / (2 * h)
        for d in np.eye(len(covs))
    ]
    assert np.abs(grad).max() < 1e-6
    info = -numerical_hessian(lambda b: weighted_loglik(b, x, t, e, w, efron), beta, h=0.02)
    np.testing.assert_allclose(fit.naive_var, np.linalg.inv(info), rtol=1e-6)
    np.testing.assert_allclose(fit.se, fit.naive_se, rtol=0)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("covs", [["x", "z"], ["z"]])
@pytest.mark.parametrize("clustered", [False, True])
def test_weighted_robust_variance_from_plain_score_residuals(
    covs: list[str], ties: Ties, clustered: bool
) -> None:
    g = tied_weighted(6)
    x = g[covs].to_numpy(dtype=float)
    t, e, w = (g[c].to_numpy(dtype=float) for c in ("t", "e", "w"))
    table = cox(g, "t", "e", covs, weights="w", cluster="cl" if clustered else None, ties=ties)
    fit = cox_fit(x, t, e, weights=w, cluster=g["cl"] if clustered else None, ties=ties)
    assert (table["method"] == "ml-robust").all()
    resid = score_residuals(fit.coef, x, t, e, w, ties == "efron")
    dfbeta = (w[:, None] * resid) @ fit.naive_var
    groups = g["cl"].to_numpy() if clustered else np.arange(len(g))
    summed = np.array([dfbeta[groups == c].sum(axis=0) for c in np.unique(groups)])
    np.testing.assert_allclose(fit.var, summed.T @ summed, rtol=1e-9)
    np.testing.assert_allclose(table["se"], np.sqrt(np.diag(summed.T @ summed)), rtol=1e-9)


def test_efron_weights_are_shared_by_the_tied_deaths() -> None:
    # Two tied deaths at t=1 with weights 2 (x=1) and 1 (x=0), one censored x=1 at t=2.
    # coxfit6.c: both Efron steps carry the mean death weight 3/2;
    #   s1 = 2u + 1 + u,  s2 = s1 - (2u + 1)/2
    #   l = 2 log u - 3/2 (log s1 + log s2)
    x, t, e, w = [[1], [0], [1]], [1, 1, 2], [1, 1, 0], [2, 1, 1]
    fit = cox_fit(x, t, e, weights=w, ties="efron")
    u = float(np.exp(fit.coef[0]))
    s1 = 3 * u + 1
    s2 = s1 - (2 * u + 1) / 2
    assert fit.loglik == pytest.approx(2 * math.log(u) - 1.5 * (math.log(s1) + math.log(s2)))
    # score: 2 - 3/2 (3u/s1 + 2u/s2) = 0
    assert 2 - 1.5 * (3 * u / s1 + 2 * u / s2) == pytest.approx(0, abs=1e-10)
    # Breslow: l = 2 log u - 3 log s1, score 2 - 9u/(3u+1) = 0 -> u = 2/3
    b = cox_fit(x, t, e, weights=w, ties="breslow")
    assert float(np.exp(b.coef[0])) == pytest.approx(2 / 3, rel=1e-10)


# ---------------------------------------------------------------------------
# near-equal times


def test_near_equal_times_are_tied() -> None:
    # 7 days in months, converted two ways: equal up to the last bits
    a, b = 7 / 365.25 * 12, 7 / (365.25 / 12)
    assert a != b
    x = [[1], [0], [1], [0], [1]]
    e = [1, 1, 0, 1, 1]
    near = cox_fit(x, [a, b, 1.0, 2.0, 3.0], e)
    exact = cox_fit(x, [a, a, 1.0, 2.0, 3.0], e)
    assert float(near.coef[0]) == pytest.approx(float(exact.coef[0]), rel=1e-13)
    assert near.loglik == pytest.approx(exact.loglik, rel=1e-13)
    # Efron treats the tie, so the fit differs from one with two distinct times
    apart = cox_fit(x, [a, a + 1e-3, 1.0, 2.0, 3.0], e)
    assert abs(float(near.coef[0]) - float(apart.coef[0])) > 1e-3


# ---------------------------------------------------------------------------
# reference levels


def test_reference_defaults() -> None:
    f = pd.DataFrame(
        {
            "risk_group": ["HR", "IR", "HR", "HR"],  # dictionary LR, IR, HR: LR absent
            "centre": ["b", "c", "c", "a"],  # not in the dictionary: b and c tie, a once
            "mrd": pd.Categorical(["neg", "pos", "pos", "neg"], categories=["pos", "neg"]),
            "age": [1.0, 2.0, 3.0, 4.0],
        }
    )
    covs = ["risk_group", "centre", "mrd", "age"]
    assert reference_levels(f, covs) == {"risk_group": "IR", "centre": "c", "mrd": "pos"}
    design = design_matrix(f, covs)
    assert list(design.columns) == ["risk_groupHR", "centrea", "centreb", "mrdneg", "age"]
    assert design["risk_groupHR"].tolist() == [1.0, 0.0, 1.0, 1.0]
    assert design["centreb"].tolist() == [1.0, 0.0, 0.0, 0.0]


def test_dictionary_column_keeps_dictionary_order() -> None:
    f = pd.DataFrame({"risk_group": ["HR", "IR", "LR", "HR", "HR"]})
    # HR is the most frequent, but the dictionary puts LR first
    assert list(design_matrix(f, ["risk_group"]).columns) == ["risk_groupIR", "risk_groupHR"]
    chosen = design_matrix(f, ["risk_group"], reference={"risk_group": "HR"})
    assert list(chosen.columns) == ["risk_groupLR", "risk_groupIR"]


def test_cox_table_states_the_reference() -> None:
    g = tied_weighted(9).assign(
        grade=lambda d: np.where(d["x"] > 0.5, "high", np.where(d["x"] < -0.5, "low", "mid"))
    )
    table = cox(g, "t", "e", ["grade", "z"])
    counts = g["grade"].value_counts()
    assert counts.idxmax() == "mid"
    assert list(table.index) == ["gradehigh", "gradelow", "z"]
    assert table["reference"].tolist() == ["mid", "mid", ""]
    assert list(table.columns) == [
        "hr",
        "ci_lower",
        "ci_upper",
        "se",
        "p_value",
        "method",
        "reference",
    ]


@pytest.mark.parametrize(
    ("reference", "pattern"),
    [
        ({"grade": "top"}, r"reference level 'top' of covariate 'grade' does not occur"),
        ({"z": 1}, r"covariate 'z' is numeric"),
        ({"stage": "I"}, r"reference is given for 'stage'"),
    ],
)
def test_bad_reference(reference: dict[str, Any], pattern: str) -> None:
    g = tied_weighted(9).assign(grade=lambda d: np.where(d["x"] > 0, "high", "low"))
    with pytest.raises(InputError, match=pattern):
        cox(g, "t", "e", ["grade", "z"], reference=reference)


# ---------------------------------------------------------------------------
# bad weights and options; messages


def _message(fn: Any) -> str:
    with pytest.raises(InputError) as info:
        fn()
    text = str(info.value)
    assert "np." not in text and "array(" not in text
    return text


def test_weight_messages_name_the_patient() -> None:
    g = tied_weighted(2).head(8)
    bad = g.assign(w=g["w"].where(g.index != "P03", 0.0))
    assert "patient 'P03' (0)" in _message(lambda: cox(bad, "t", "e", ["x"], weights="w"))
    assert "coxph" in _message(lambda: cox(bad, "t", "e", ["x"], weights="w"))
    neg = g.assign(w=g["w"].where(g.index != "P05", -1.5))
    assert "patient 'P05' (-1.5)" in _message(lambda: cox(neg, "t", "e", ["x"], weights="w"))
    nan = g.assign(w=g["w"].where(~g.index.isin(["P01", "P06"]), np.nan))
    assert "patient 'P01' (missing), patient 'P06' (missing)" in _message(
        lambda: cox(nan, "t", "e", ["x"], weights="w")
    )
    text = g.assign(w=["1", "2", "x", "1", "1", "1", "1", "1"])
    assert "patient 'P02' ('x')" in _message(lambda: cox(text, "t", "e", ["x"], weights="w"))


def test_weight_messages_count_entries_from_one() -> None:
    x, t, e = [[0], [1], [0], [1]], [1, 2, 3, 4], [1, 1, 1, 0]
    assert "entry 1 (0)" in _message(lambda: cox_fit(x, t, e, weights=[0, 1, 1, 1]))
    assert "entry 2 (inf), entry 4 (inf)" in _message(
        lambda: cox_fit(x, t, e, weights=np.array([1, np.inf, 1, np.inf]))
    )
    assert "3 values for 4 rows" in _message(lambda: cox_fit(x, t, e, weights=[1, 1, 1]))
    assert "entry 2" in _message(lambda: cox_fit([[0], [np.nan], [0], [1]], t, e))


def test_covariate_and_label_messages_name_patients() -> None:
    g = tied_weighted(2).head(8)
    msg = _message(lambda: cox(g.assign(x=g["x"].where(g.index != "P04")), "t", "e", ["x"]))
    assert msg == "covariate 'x' has missing values at patient 'P04'"
    msg = _message(
        lambda: cox(g.assign(cl=g["cl"].where(g.index != "P07")), "t", "e", ["x"], cluster="cl")
    )
    assert msg == "cluster has missing values at patient 'P07'"
    many = g.assign(x=np.nan)
    assert "and 3 more" in _message(lambda: cox(many, "t", "e", ["x"]))
    assert "got 1.9" in _message(lambda: cox(g, "t", "e", ["x"], conf_level=np.float64(1.9)))


def test_weighted_monotone_likelihood_is_not_estimable() -> None:
    # no events in arm 1: the hazard ratio is infinite; coxphf takes no weights
    f = pd.DataFrame(
        {
            "t": [1, 2, 3, 4, 5, 6, 7, 8],
            "e": [1, 1, 1, 0, 0, 0, 0, 0],
            "arm": [0, 0, 0, 0, 1, 1, 1, 1],
            "w": [1.0, 2.0, 0.5, 1.0, 1.0, 1.5, 1.0, 1.0],
        }
    )
    table = cox(f, "t", "e", ["arm"], weights="w")
    assert table.loc["arm", "method"] == "not estimable"
    assert np.isnan(num(table.loc["arm", "hr"]))
    assert "coxphf" in table.attrs["note"]
    # unweighted: Firth
    assert cox(f, "t", "e", ["arm"]).loc["arm", "method"] == "firth"
    with pytest.raises(InputError, match=r"coxphf.*weights"):
        cox(f, "t", "e", ["arm"], weights="w", firth=True)


def test_cluster_needs_robust() -> None:
    g = tied_weighted(2)
    with pytest.raises(InputError, match="cluster needs the robust variance"):
        cox(g, "t", "e", ["x"], cluster="cl", robust=False)
    with pytest.raises(InputError, match="robust must be"):
        cox(g, "t", "e", ["x"], robust="yes")  # type: ignore[arg-type]


def test_robust_switch_and_naive_variance() -> None:
    g = tied_weighted(3)
    plain = cox_fit(g[["x"]].to_numpy(), g["t"], g["e"])
    robust = cox_fit(g[["x"]].to_numpy(), g["t"], g["e"], robust=True)
    assert plain.method == "ml" and robust.method == "ml-robust"
    np.testing.assert_array_equal(plain.naive_se, plain.se)
    np.testing.assert_allclose(robust.naive_se, plain.se, rtol=1e-12)
    assert abs(float(robust.se[0] / plain.se[0]) - 1) > 1e-3
    weighted_naive = cox_fit(g[["x"]].to_numpy(), g["t"], g["e"], weights=g["w"], robust=False)
    assert weighted_naive.method == "ml"


# ---------------------------------------------------------------------------
# properties

SETTINGS = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def weighted_data(draw: st.DrawFn, integer: bool) -> pd.DataFrame:
    n = draw(st.integers(6, 30))
    times = draw(st.lists(st.integers(1, 8), min_size=n, max_size=n))
    events = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    x = draw(st.lists(st.sampled_from([0.0, 1.0, -0.5, 2.0]), min_size=n, max_size=n))
    arm = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    if integer:
        w = np.asarray(draw(st.lists(st.integers(1, 3), min_size=n, max_size=n)), dtype=float)
    else:
        w = np.asarray(draw(st.lists(st.floats(0.1, 5.0), min_size=n, max_size=n)), dtype=float)
    return pd.DataFrame({"t": times, "e": events, "x": x, "arm": arm, "w": w})


def _estimable(table: pd.DataFrame) -> bool:
    return bool((table["method"] == "ml").all() or (table["method"] == "ml-robust").all())


@SETTINGS
@given(frame=weighted_data(integer=True))
def test_integer_weights_are_replicated_rows_for_the_estimate(frame: pd.DataFrame) -> None:
    covs = ["x", "arm"]
    assume(frame.groupby("arm")["e"].sum().min() >= 2)  # rarely monotone: few Firth fits
    replicated = frame.loc[frame.index.repeat(frame["w"].astype(int))].reset_index(drop=True)
    # Breslow: the same likelihood. Efron: the same when only censored rows carry
    # weights above 1 (a weight-2 death is one Efron death, replicated it is two).
    efron_frame = frame.assign(w=np.where(frame["e"] == 1, 1.0, frame["w"]))
    efron_rep = efron_frame.loc[efron_frame.index.repeat(efron_frame["w"].astype(int))]
    cases: list[tuple[Ties, pd.DataFrame, pd.DataFrame]] = [
        ("breslow", frame, replicated),
        ("efron", efron_frame, efron_rep),
    ]
    for ties, data, rep in cases:
        with np.errstate(all="ignore"):
            a = cox(data, "t", "e", covs, weights="w", ties=ties)
            b = cox(rep, "t", "e", covs, ties=ties)
        if not _estimable(b):
            assume(False)
        assert _estimable(a)
        np.testing.assert_allclose(np.log(a["hr"]), np.log(b["hr"]), rtol=1e-6, atol=1e-8)
        assert a.attrs["loglik"] == pytest.approx(b.attrs["loglik"], rel=1e-9, abs=1e-9)


@SETTINGS
@given(frame=weighted_data(integer=False), c=st.sampled_from([0.01, 0.3, 2.5, 40.0]))
def test_scaling_the_weights_leaves_estimate_and_robust_se(frame: pd.DataFrame, c: float) -> None:
    # as R (test_cox_r.test_scaling_the_weights_as_r): the model-based se scales by 1/sqrt(c)
    covs = ["x", "arm"]
    x = frame[covs].to_numpy(dtype=float)
    with np.errstate(all="ignore"):
        a = cox_fit(x, frame["t"], frame["e"], weights=frame["w"], names=covs)
        b = cox_fit(x, frame["t"], frame["e"], weights=frame["w"] * c, names=covs)
    assert a.method == b.method
    assume(a.method == "ml-robust")
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(a.se, b.se, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(a.naive_se, b.naive_se * math.sqrt(c), rtol=1e-6)


@SETTINGS
@given(
    frame=weighted_data(integer=False),
    signs=st.lists(st.sampled_from([-1.0, 0.0, 1.0]), min_size=30, max_size=30),
    scale=st.sampled_from([1.0, 1 / 7, 30.4375]),
)
def test_rounding_noise_in_tied_times_changes_nothing(
    frame: pd.DataFrame, signs: list[float], scale: float
) -> None:
    t = frame["t"].to_numpy(dtype=float) * scale
    noisy = t * (1 + 1e-12 * np.asarray(signs[: len(t)]))
    covs = ["x", "arm"]
    with np.errstate(all="ignore"):
        a = cox(frame.assign(t=t), "t", "e", covs, weights="w")
        b = cox(frame.assign(t=noisy), "t", "e", covs, weights="w")
    assert a["method"].tolist() == b["method"].tolist()
    for col in ("hr", "se", "p_value"):
        np.testing.assert_allclose(a[col], b[col], rtol=1e-9, equal_nan=True)


@SETTINGS
@given(
    frame=weighted_data(integer=False),
    groups=st.lists(st.sampled_from(["a", "b", "c"]), min_size=30, max_size=30),
    chosen=st.sampled_from(["a", "b", "c"]),
)
def test_reference_level_reparametrises(
    frame: pd.DataFrame, groups: list[str], chosen: str
) -> None:
    f = frame.assign(g=groups[: len(frame)])
    # two events or more in every level: no monotone likelihood, no Firth fits here
    assume(f["g"].nunique() == 3 and f.groupby("g")["e"].sum().min() >= 2)
    covs = ["g", "x"]
    with np.errstate(all="ignore"):
        a = cox(f, "t", "e", covs)
        b = cox(f, "t", "e", covs, reference={"g": chosen})
    assume(_estimable(a) and len(a) == 3)
    assert _estimable(b) and len(b) == 3
    assert a.attrs["loglik"] == pytest.approx(b.attrs["loglik"], rel=1e-9, abs=1e-9)
    ref_a = reference_levels(f, covs)["g"]
    assert b.loc["x", "reference"] == "" and set(b["reference"].iloc[:2]) == {chosen}
    # beta_l(ref chosen) = beta_l(ref a) - beta_chosen(ref a), with beta_ref(ref a) = 0
    coef_a = {lv: 0.0 for lv in "abc"}
    coef_a.update({name[1:]: float(np.log(a.loc[name, "hr"])) for name in a.index[:2]})
    assert set(a["reference"].iloc[:2]) == {ref_a}
    for name in b.index[:2]:
        expected = coef_a[name[1:]] - coef_a[chosen]
        assert float(np.log(b.loc[name, "hr"])) == pytest.approx(expected, rel=1e-5, abs=1e-7)
    assert b.loc["x", "hr"] == pytest.approx(a.loc["x", "hr"], rel=1e-6)


def test_firth_that_cannot_converge_is_not_estimable_not_a_crash() -> None:
    # two covariates on tiny degenerate data: R's coxph runs out of iterations, and the
    # penalised likelihood has no usable maximum either
    f = pd.DataFrame(
        {
            "t": [6, 8, 7, 2, 4, 3, 4, 4, 6],
            "e": [1, 1, 1, 0, 0, 0, 0, 0, 1],
            "x": [2, 1, -0.5, 0, 0, 2, -0.5, 0, -0.5],
            "g": ["c", "b", "a", "b", "a", "c", "a", "b", "a"],
        }
    )
    table = cox(f, "t", "e", ["g", "x"])
    assert (table["method"] == "not estimable").all()
    assert table.attrs["note"] == "Firth's penalised likelihood did not converge"


def test_flag_reports_monotone_likelihood_without_fitting_firth() -> None:
    f = pd.DataFrame(
        {
            "t": [1, 2, 3, 4, 5, 6, 7, 8],
            "e": [1, 1, 1, 0, 0, 0, 0, 0],
            "arm": [0, 0, 0, 0, 1, 1, 1, 1],
        }
    )
    fit = cox_fit(f[["arm"]].to_numpy(float), f["t"], f["e"], firth="flag")
    assert fit.method == "not estimable" and "monotone likelihood" in fit.note
    assert cox_fit(f[["arm"]].to_numpy(float), f["t"], f["e"]).method == "firth"
    finite = f.assign(e=[1, 1, 0, 1, 1, 0, 0, 0], arm=[0, 1, 0, 1, 0, 1, 0, 1])
    flagged = cox_fit(finite[["arm"]].to_numpy(float), finite["t"], finite["e"], firth="flag")
    plain = cox_fit(finite[["arm"]].to_numpy(float), finite["t"], finite["e"], firth=False)
    assert flagged.method == "ml" and flagged.coef[0] == plain.coef[0]

"""Subgroup forest: per-level fits, interaction likelihood-ratio and robust Wald tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lifelines import CoxPHFitter
from scipy import optimize, stats

from blinastudy.core.errors import InputError
from blinastudy.stats.subgroups import (
    FOREST_COLUMNS,
    LIKELIHOOD_RATIO,
    MISSING_LEVEL,
    ROBUST_WALD,
    forest,
    interaction_tests,
)
from blinastudy.stats.survival import cox
from tests._cells import one_row


def _frame(seed: int = 1, n: int = 240) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = rng.integers(0, 2, n)
    risk = rng.choice(["LR", "IR", "HR"], n)
    hazard = 0.02 * np.exp(-0.7 * arm + np.select([risk == "HR", risk == "IR"], [1.0, 0.4], 0.0))
    t = rng.exponential(1 / hazard)
    c = rng.uniform(10, 60, n)
    return pd.DataFrame(
        {
            "t": np.round(np.minimum(t, c), 1),
            "e": (t <= c).astype(int),
            "arm": arm,
            "risk": risk,
            "sex": rng.choice(["F", "M"], n),
        }
    )


def test_columns_and_overall_row() -> None:
    f = _frame()
    out = forest(f, "t", "e", "arm", ["risk", "sex"])
    assert list(out.columns) == FOREST_COLUMNS
    first = out.iloc[0]
    assert (first["variable"], first["level"]) == ("Overall", "All")
    direct = cox(f, "t", "e", ["arm"]).iloc[0]
    assert first["hr"] == pytest.approx(direct["hr"], rel=1e-12)
    assert first["ci_upper"] == pytest.approx(direct["ci_upper"], rel=1e-12)
    assert np.isnan(first["p_interaction"])


def test_each_level_is_its_own_cox_fit() -> None:
    f = _frame()
    out = forest(f, "t", "e", "arm", ["risk"])
    for _, row in out[out["variable"] == "risk"].iterrows():
        sub = f[f["risk"] == row["level"]]
        direct = cox(sub, "t", "e", ["arm"]).iloc[0]
        assert row["hr"] == pytest.approx(direct["hr"], rel=1e-12)
        assert row["p_value"] == pytest.approx(direct["p_value"], rel=1e-10)
        assert row["n_treated"] == int((sub["arm"] == 1).sum())
        assert row["events_control"] == int(sub.loc[sub["arm"] == 0, "e"].sum())


def test_interaction_p_equals_lifelines_likelihood_ratio() -> None:
    f = _frame(seed=3)
    out = forest(f, "t", "e", "arm", ["risk"])
    d = pd.get_dummies(f[["t", "e", "arm", "risk"]], columns=["risk"], drop_first=True, dtype=float)
    levels = [c for c in d.columns if c.startswith("risk_")]
    for lv in levels:
        d[f"arm_x_{lv}"] = d["arm"] * d[lv]
    opts = {"duration_col": "t", "event_col": "e"}
    main = CoxPHFitter().fit(d[["t", "e", "arm", *levels]], **opts)
    full = CoxPHFitter().fit(d, **opts)
    lr = 2 * (full.log_likelihood_ - main.log_likelihood_)
    want = stats.chi2.sf(lr, len(levels))
    got = out.loc[out["variable"] == "risk", "p_interaction"].unique()
    assert len(got) == 1
    assert got[0] == pytest.approx(want, rel=1e-5)


def test_zero_event_arm_gets_firth_and_empty_level_not_estimable() -> None:
    f = _frame(seed=5)
    f.loc[(f["risk"] == "LR") & (f["arm"] == 1), "e"] = 0
    f.loc[f["sex"] == "M", "e"] = 0
    out = forest(f, "t", "e", "arm", ["risk", "sex"]).set_index(["variable", "level"])
    lr = one_row(out, ("risk", "LR"))
    assert lr["method"] == "firth" and lr["events_treated"] == 0
    assert 0 < lr["ci_lower"] < lr["hr"] < lr["ci_upper"]
    m = one_row(out, ("sex", "M"))
    assert m["method"] == "not estimable" and np.isnan(m["hr"])


def test_missing_values_form_their_own_level() -> None:
    f = _frame()
    f["risk"] = f["risk"].astype(object)
    f.loc[f.index[:7], "risk"] = None
    out = forest(f, "t", "e", "arm", ["risk"])
    rows = out[out["variable"] == "risk"]
    assert MISSING_LEVEL in set(rows["level"])
    assert int((rows["n_treated"] + rows["n_control"]).sum()) == len(f)


def test_too_many_levels_is_a_clear_error() -> None:
    f = _frame()
    f["id"] = np.arange(len(f))
    with pytest.raises(InputError, match="'id' has 240 levels"):
        forest(f, "t", "e", "arm", ["id"])


def test_bad_input() -> None:
    f = _frame()
    with pytest.raises(InputError, match="nope"):
        forest(f, "t", "e", "arm", ["nope"])
    with pytest.raises(InputError, match="single arm"):
        forest(f.assign(arm=1), "t", "e", "arm", ["risk"])
    with pytest.raises(InputError, match="0/1"):
        forest(f.assign(e=2), "t", "e", "arm", ["risk"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.integers(12, 80))
def test_counts_add_up_and_order_does_not_matter(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    f = pd.DataFrame(
        {
            "t": rng.integers(1, 30, n).astype(float),
            "e": rng.integers(0, 2, n),
            "arm": np.r_[0, 1, rng.integers(0, 2, n - 2)],
            "g": rng.choice(["a", "b", "c"], n),
        }
    )
    out = forest(f, "t", "e", "arm", ["g"])
    rows = out[out["variable"] == "g"]
    assert int(rows[["n_treated", "n_control"]].to_numpy().sum()) == n
    assert int(rows[["events_treated", "events_control"]].to_numpy().sum()) == int(f["e"].sum())
    shuffled = forest(f.sample(frac=1.0, random_state=seed), "t", "e", "arm", ["g"])
    np.testing.assert_allclose(
        out["hr"].to_numpy(dtype=float), shuffled["hr"].to_numpy(dtype=float), rtol=1e-7
    )
    est = out.dropna(subset=["hr"])
    assert ((est["ci_lower"] <= est["hr"] + 1e-12) & (est["hr"] <= est["ci_upper"] + 1e-12)).all()


# ---------------------------------------------------------------------------
# interaction tests: robust Wald beside the likelihood ratio

DATA = Path(__file__).resolve().parent / "data"
REL = 1e-6
OLD_COLUMNS = [
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


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    return dict(json.loads((DATA / "forest.expected.json").read_text()))


def _case(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / f"forest_{name}.csv")


R_CASES = [("pairs", v) for v in ("risk", "sex", "cns", "site")] + [
    ("late", "grp"),
    ("slow", "grp"),
]
NOT_CONVERGED = "the interaction model did not converge"


@pytest.mark.parametrize("robust", [True, False], ids=["robust", "model-based"])
@pytest.mark.parametrize(("case", "var"), R_CASES)
def test_interaction_tests_match_r(
    reference: dict[str, Any], case: str, var: str, robust: bool
) -> None:
    want = reference[case][var]
    out = interaction_tests(
        _case(case), "months", "event", "treated", [var], cluster="pair" if robust else None
    ).iloc[0]
    assert out["wald_variance"] == ("robust" if robust else "model-based")
    lr = want["lr"]
    assert out["lr_statistic"] == pytest.approx(lr["statistic"], rel=REL)
    if not want["converged"]:
        # coxph ran out of iterations (a main effect diverging slowly): its W depends on
        # where it stopped, and its anova counts the all-zero column treated:grpc in the df
        assert np.isnan(out["p_wald"]) and out["wald_note"] == NOT_CONVERGED
        return
    assert out["lr_df"] == lr["df"]
    assert out["p_lr"] == pytest.approx(lr["p_value"], rel=REL)
    wald = want["robust" if robust else "model_based"]
    if any(":" in term for term in want["infinite_terms"]):
        # coxph: "coefficient may be infinite" for an interaction term; its W is meaningless
        assert np.isnan(out["wald_statistic"]) and np.isnan(out["p_wald"])
        assert out["wald_df"] == 0
        assert out["wald_note"].startswith("infinite interaction")
        return
    assert out["wald_note"] == ""
    assert out["wald_df"] == wald["df"]
    assert out["wald_statistic"] == pytest.approx(wald["statistic"], rel=REL)
    assert out["p_wald"] == pytest.approx(wald["p_value"], rel=REL)


def test_r_reference_covers_the_edge_cases(reference: dict[str, Any]) -> None:
    pairs = reference["pairs"]
    assert pairs["cns"]["infinite_terms"] == ["treated:vCNS3"]  # no treated events in CNS3
    assert pairs["cns"]["robust"]["statistic"] > 1000  # what R prints there
    assert pairs["site"]["robust"]["df"] == 1  # treated:siteC is NA (controls only)
    assert reference["late"]["grp"]["infinite_terms"] == ["vB"]  # a main effect only
    assert reference["late"]["grp"]["converged"]
    assert not reference["slow"]["grp"]["converged"]
    d = _case("pairs")
    assert d.groupby("pair")["risk"].nunique().max() == 1  # risk is matched within pairs
    assert d.loc[d["event"] == 1, "months"].duplicated().sum() > 50  # tied event times


def test_infinite_interaction_note_names_the_level() -> None:
    out = interaction_tests(_case("pairs"), "months", "event", "treated", ["cns"], cluster="pair")
    assert out.loc[0, "wald_note"] == (
        "infinite interaction: no events among treated patients in level CNS3"
    )


def test_forest_appends_the_wald_columns(reference: dict[str, Any]) -> None:
    assert FOREST_COLUMNS[: len(OLD_COLUMNS)] == OLD_COLUMNS
    assert FOREST_COLUMNS[len(OLD_COLUMNS) :] == ["p_interaction_wald", "interaction_test", "ph_p"]
    d = _case("pairs")
    by = ["risk", "sex", "cns", "site"]
    out = forest(d, "months", "event", "treated", by, cluster="pair")
    assert list(out.columns) == FOREST_COLUMNS
    overall = out.iloc[0]
    assert np.isnan(overall["p_interaction_wald"]) and overall["interaction_test"] == ""
    for var in by:
        rows = out[out["variable"] == var]
        want = reference["pairs"][var]
        assert len(rows) == len(want["levels"])
        np.testing.assert_allclose(rows["p_interaction"], want["lr"]["p_value"], rtol=REL)
        if var == "cns":
            assert rows["p_interaction_wald"].isna().all()
            assert set(rows["interaction_test"]) == {LIKELIHOOD_RATIO}
        else:
            np.testing.assert_allclose(
                rows["p_interaction_wald"], want["robust"]["p_value"], rtol=REL
            )
            assert set(rows["interaction_test"]) == {ROBUST_WALD}
    naive = forest(d, "months", "event", "treated", ["risk"]).iloc[1:]
    np.testing.assert_allclose(
        naive["p_interaction_wald"], reference["pairs"]["risk"]["model_based"]["p_value"], rtol=REL
    )
    assert set(naive["interaction_test"]) == {LIKELIHOOD_RATIO}


def test_two_level_wald_is_the_squared_robust_z() -> None:
    d = _case("pairs")
    d["male"] = (d["sex"] == "M").astype(float)
    d["treated_x_male"] = d["treated"] * d["male"]
    table = cox(d, "months", "event", ["treated", "male", "treated_x_male"], cluster="pair")
    term = table.loc["treated_x_male"]
    z = np.log(term["hr"]) / term["se"]
    out = interaction_tests(d, "months", "event", "treated", ["sex"], cluster="pair").iloc[0]
    assert out["wald_df"] == 1
    assert out["wald_statistic"] == pytest.approx(z**2, rel=1e-9)
    assert out["p_wald"] == pytest.approx(term["p_value"], rel=1e-9)
    # and the robust se is R's
    assert term["se"] == pytest.approx(0.267661775608786, rel=REL)


def _tiny(events_treated_b: int, events_control_b: int = 2) -> pd.DataFrame:
    """Two levels with interleaved follow-up; level 2's arms get the given event counts."""
    t = [2.0, 3.0, 5.0, 4.0, 8.0, 9.0, 1.0, 2.0, 6.0, 3.0, 7.0, 10.0]
    arm = [1, 0] * 6
    e = [1, 1, 1, 1, 0, 1] + [0] * 6
    treated_b = [6, 8, 10]
    control_b = [7, 9, 11]
    for i in treated_b[:events_treated_b]:
        e[i] = 1
    for i in control_b[:events_control_b]:
        e[i] = 1
    return pd.DataFrame({"t": t, "e": e, "arm": arm, "g": [1] * 6 + [2] * 6})


def test_wald_notes_are_plain() -> None:
    tests = interaction_tests(_tiny(0), "t", "e", "arm", ["g"]).iloc[0]
    assert tests["wald_note"] == "infinite interaction: no events among treated patients in level 2"
    tests = interaction_tests(_tiny(0, 0), "t", "e", "arm", ["g"]).iloc[0]
    assert tests["wald_note"] == "infinite interaction: no events in level 2"
    single = _tiny(2).assign(g=1)
    assert interaction_tests(single, "t", "e", "arm", ["g"]).loc[0, "wald_note"] == "a single level"
    none = _tiny(2).assign(e=0)
    assert interaction_tests(none, "t", "e", "arm", ["g"]).loc[0, "wald_note"] == "no events"
    # level 1 has both arms, level 2 only controls, level 3 only treated: no interaction left
    one_arm = _tiny(2).assign(g=lambda f: np.where(f.index < 6, 1, 3 - f["arm"]))
    tests = interaction_tests(one_arm, "t", "e", "arm", ["g"]).iloc[0]
    assert tests["wald_note"] == "fewer than two levels have patients in both arms"
    assert np.isnan(tests["p_wald"]) and tests["wald_df"] == 0


def test_rows_leaving_before_the_first_death_change_nothing() -> None:
    # R gives their cells NA coefficients; here they are in no risk set at all
    base = _tiny(2)
    extra = pd.DataFrame({"t": [0.5, 0.5, 0.5], "e": [0, 0, 0], "arm": [1, 0, 1], "g": [3, 3, 2]})
    more = pd.concat([base, extra], ignore_index=True)
    a = interaction_tests(base, "t", "e", "arm", ["g"]).iloc[0]
    b = interaction_tests(more, "t", "e", "arm", ["g"]).iloc[0]
    assert np.isfinite(a["wald_statistic"])
    assert b["wald_statistic"] == pytest.approx(a["wald_statistic"], rel=1e-9)
    assert b["wald_df"] == a["wald_df"] == 1


def _matched(seed: int, n_pairs: int, rate: float, matched_levels: bool) -> pd.DataFrame:
    """Random 1:1 pairs with tied whole-month times and a three-level subgroup."""
    rng = np.random.default_rng(seed)
    n = 2 * n_pairs
    g = rng.choice(["a", "b", "c"], n_pairs if matched_levels else n)
    return pd.DataFrame(
        {
            "t": rng.integers(1, 13, n).astype(float),
            "e": (rng.random(n) < rate).astype(int),
            "arm": np.tile([1, 0], n_pairs),
            "pair": np.repeat(np.arange(n_pairs), 2),
            "g": np.repeat(g, 2) if matched_levels else g,
        }
    )


def _infinite_by_linear_programming(f: pd.DataFrame) -> bool | None:
    """Whether some interaction contrast can grow along a direction that never lowers the
    partial likelihood (None: no interaction term to test).

    Straight from the definition: log hazards ``d`` per (level, arm) cell with every
    death's cell at least as high as every cell at risk at its time; maximise each
    interaction contrast over such ``d`` in [-1, 1].
    """
    t, e = f["t"].to_numpy(), f["e"].to_numpy()
    if e.sum() == 0:
        return None
    f = f[t >= t[e == 1].min()]
    t, e = f["t"].to_numpy(), f["e"].to_numpy()
    cell = list(zip(f["g"], f["arm"], strict=True))
    cells = sorted(set(cell))
    index = {c: k for k, c in enumerate(cells)}
    cid = np.array([index[c] for c in cell])
    both = sorted({g for g, _ in cells if (g, 0) in index and (g, 1) in index})
    if len(both) < 2:
        return None
    ordered = {
        (int(cid[i]), int(cid[j]))
        for i in np.flatnonzero(e == 1)
        for j in np.flatnonzero(t >= t[i])
        if cid[i] != cid[j]
    }
    a_ub = np.zeros((max(len(ordered), 1), len(cells)))
    for row, (dead, at_risk) in enumerate(sorted(ordered)):
        a_ub[row, at_risk], a_ub[row, dead] = 1.0, -1.0  # d[at risk] - d[dead] <= 0
    for g in both[1:]:
        c = np.zeros(len(cells))
        c[index[(g, 1)]] += 1
        c[index[(g, 0)]] -= 1
        c[index[(both[0], 1)]] -= 1
        c[index[(both[0], 0)]] += 1
        for sign in (1.0, -1.0):
            res = optimize.linprog(sign * c, A_ub=a_ub, b_ub=np.zeros(len(a_ub)), bounds=(-1, 1))
            assert res.status == 0
            if res.fun < -1e-9:
                return True
    return False


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n_pairs=st.integers(3, 40),
    rate=st.sampled_from([0.1, 0.3, 0.6, 0.9]),
    matched_levels=st.booleans(),
)
def test_wald_is_nan_exactly_when_the_interaction_is_infinite(
    seed: int, n_pairs: int, rate: float, matched_levels: bool
) -> None:
    f = _matched(seed, n_pairs, rate, matched_levels)
    infinite = _infinite_by_linear_programming(f)
    for cluster in ("pair", None):
        out = interaction_tests(f, "t", "e", "arm", ["g"], cluster=cluster).iloc[0]
        p = out["p_wald"]
        assert np.isnan(p) or 0.0 <= p <= 1.0
        if infinite is None:
            assert np.isnan(p) and out["wald_df"] == 0
            assert out["wald_note"] in {
                "no events",
                "a single level",
                "fewer than two levels have patients in both arms",
            }
        elif infinite:
            assert np.isnan(p), out["wald_note"]
            assert out["wald_note"].startswith("infinite interaction")
        elif out["wald_note"] != NOT_CONVERGED:  # as coxph, see the "slow" R case
            assert np.isfinite(p), out["wald_note"]
            assert out["wald_note"] == "" and out["wald_df"] >= 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n_pairs=st.integers(6, 40),
    rate=st.sampled_from([0.3, 0.6, 0.9]),
    matched_levels=st.booleans(),
    robust=st.booleans(),
)
def test_wald_ignores_the_reference_level_and_the_labels(
    seed: int, n_pairs: int, rate: float, matched_levels: bool, robust: bool
) -> None:
    f = _matched(seed, n_pairs, rate, matched_levels)
    cluster = "pair" if robust else None
    renamed = f.assign(g=f["g"].map({"a": "zeta", "b": "alpha", "c": "mu"}))
    reordered = f.assign(g=pd.Categorical(f["g"], categories=["c", "a", "b"]))
    results = [
        interaction_tests(x, "t", "e", "arm", ["g"], cluster=cluster).iloc[0]
        for x in (f, renamed, reordered)
    ]
    first = results[0]
    for other in results[1:]:
        assert other["wald_df"] == first["wald_df"]
        for key in ("wald_statistic", "p_wald"):
            if np.isnan(first[key]):
                assert np.isnan(other[key])
            else:
                assert other[key] == pytest.approx(first[key], rel=REL, abs=1e-12)

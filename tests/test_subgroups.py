"""Subgroup forest: per-level fits, interaction likelihood-ratio tests, robustness."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lifelines import CoxPHFitter
from scipy import stats

from blinastudy.errors import InputError
from blinastudy.subgroups import FOREST_COLUMNS, MISSING_LEVEL, forest
from blinastudy.survival import cox


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
    lr = out.loc[("risk", "LR")]
    assert lr["method"] == "firth" and lr["events_treated"] == 0
    assert 0 < lr["ci_lower"] < lr["hr"] < lr["ci_upper"]
    m = out.loc[("sex", "M")]
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

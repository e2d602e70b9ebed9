"""Cox models against R's ``coxph`` (survival 3.5-3): near-tied times, case weights,
robust variances and reference levels.

The numbers come from ``tests/data/make_cox_reference.R`` (inputs ``cox_*.csv``,
expected ``cox.expected.json``); every one is compared to 1e-6 relative.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from blinastudy.stats.survival import cox, cox_fit, coxph
from blinastudy.stats.survival.coxph import Ties, reference_levels
from tests._cells import num

DATA = Path(__file__).resolve().parent / "data"
REL = 1e-6
EXPECTED: dict[str, Any] = json.loads((DATA / "cox.expected.json").read_text())
FIELDS = ["hr", "ci_lower", "ci_upper", "se", "p_value"]


def _csv(name: str) -> pd.DataFrame:
    frame = pd.read_csv(DATA / name, float_precision="round_trip")
    return frame.set_index("id")


def _ties() -> pd.DataFrame:
    frame = _csv("cox_ties.csv")
    days = frame["days"].to_numpy(dtype=float)
    # the two conversions of days to months that differ in the last bits
    months = np.where(frame["unit"] == "a", days / 365.25 * 12, days / (365.25 / 12))
    return frame.assign(months=months)


TIES = _ties()
WEIGHTS = _csv("cox_weights.csv")
LEVELS = _csv("cox_levels.csv")


def assert_table(table: pd.DataFrame, expected: dict[str, Any]) -> None:
    assert list(table.index) == list(expected["names"])
    for name in expected["names"]:
        for field in FIELDS:
            assert table.loc[name, field] == pytest.approx(expected[field][name], rel=REL), (
                name,
                field,
            )
    method = "ml-robust" if expected["robust"] else "ml"
    assert (table["method"] == method).all()
    assert table.attrs["loglik"] == pytest.approx(expected["loglik"], rel=REL)
    assert table.attrs["n"] == expected["n"]
    assert table.attrs["n_events"] == expected["n_events"]


def _max_rel_diff(table: pd.DataFrame, expected: dict[str, Any]) -> float:
    return max(
        abs(num(table.loc[name, field]) / num(expected[field][name]) - 1)
        for name in expected["names"]
        for field in FIELDS
    )


# --------------------------------------------------------------------------- near ties


def test_the_two_conversions_give_near_equal_distinct_times() -> None:
    assert TIES["months"].nunique() > TIES["days"].nunique()
    a = TIES.loc[TIES["unit"] == "a", ["days", "months"]].drop_duplicates()
    b = TIES.loc[TIES["unit"] == "b", ["days", "months"]].drop_duplicates()
    both = a.merge(b, on="days", suffixes=("_a", "_b"))
    assert (both["months_a"] != both["months_b"]).all()
    np.testing.assert_allclose(both["months_a"], both["months_b"], rtol=1e-14)


TIE_CASES = [
    (covs, ties, clustered)
    for covs in (["treated"], ["treated", "age"])
    for ties in ("efron", "breslow")
    for clustered in (False, True)
]


def _tie_fit(covs: list[str], ties: Ties, clustered: bool) -> pd.DataFrame:
    return cox(
        TIES,
        "months",
        "event",
        covs,
        cluster="pair" if clustered else None,
        ties=ties,
    )


def _tie_key(covs: list[str], ties: Ties, clustered: bool, fix: bool) -> str:
    mode = ("timefix" if fix else "no_timefix") + ("_cluster" if clustered else "")
    return "_".join(covs) + f"/{ties}/{mode}"


@pytest.mark.parametrize(("covs", "ties", "clustered"), TIE_CASES)
def test_near_tied_times_are_ties_as_coxph(covs: list[str], ties: Ties, clustered: bool) -> None:
    table = _tie_fit(covs, ties, clustered)
    assert_table(table, EXPECTED["ties"][_tie_key(covs, ties, clustered, fix=True)])
    # far from what R gives on the untied times (coxph.control(timefix = FALSE))
    assert _max_rel_diff(table, EXPECTED["ties"][_tie_key(covs, ties, clustered, fix=False)]) > 0.05


@pytest.mark.parametrize(("covs", "ties", "clustered"), TIE_CASES)
def test_without_the_fix_the_fit_is_coxph_with_timefix_false(
    covs: list[str], ties: Ties, clustered: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the fit before near ties were tied: R's numbers with timefix = FALSE
    monkeypatch.setattr(coxph, "timefix", lambda *times: tuple(np.array(t) for t in times))
    table = _tie_fit(covs, ties, clustered)
    assert_table(table, EXPECTED["ties"][_tie_key(covs, ties, clustered, fix=False)])


# --------------------------------------------------------------------------- weights

WEIGHT_CASES = [
    (model, ties, wcol, kind)
    for model in ("x_z", "z")
    for ties in ("efron", "breslow")
    for wcol in ("w_int", "w_real", "w_real_x2.5")
    for kind in ("robust", "cluster", "naive")
    if not (wcol == "w_real_x2.5" and kind == "naive")
]


def _weighted(model: str, ties: Ties, wcol: str, kind: str) -> pd.DataFrame:
    frame = WEIGHTS.assign(w_real_x2_5=WEIGHTS["w_real"] * 2.5)
    return cox(
        frame,
        "t",
        "e",
        model.split("_"),
        weights=wcol.replace(".", "_"),
        cluster="cl" if kind == "cluster" else None,
        robust=kind != "naive",
        ties=ties,
    )


@pytest.mark.parametrize(("model", "ties", "wcol", "kind"), WEIGHT_CASES)
def test_weighted_cox_as_coxph(model: str, ties: Ties, wcol: str, kind: str) -> None:
    expected = EXPECTED["weights"][f"{model}/{ties}/{wcol}/{kind}"]
    assert_table(_weighted(model, ties, wcol, kind), expected)


@pytest.mark.parametrize(("model", "ties", "wcol", "kind"), WEIGHT_CASES)
def test_weighted_fit_keeps_both_variances(model: str, ties: Ties, wcol: str, kind: str) -> None:
    expected = EXPECTED["weights"][f"{model}/{ties}/{wcol}/{kind}"]
    frame = WEIGHTS.assign(w_real_x2_5=WEIGHTS["w_real"] * 2.5)
    covs = model.split("_")
    fit = cox_fit(
        frame[covs].to_numpy(dtype=float),
        frame["t"],
        frame["e"],
        names=covs,
        weights=frame[wcol.replace(".", "_")],
        cluster=frame["cl"] if kind == "cluster" else None,
        robust=kind != "naive",
        ties=ties,
    )
    np.testing.assert_allclose(fit.naive_se, [expected["naive_se"][c] for c in covs], rtol=REL)
    np.testing.assert_allclose(fit.se, [expected["se"][c] for c in covs], rtol=REL)
    np.testing.assert_allclose(np.sqrt(np.diag(fit.naive_var)), fit.naive_se, rtol=1e-12)
    assert fit.loglik_null == pytest.approx(expected["loglik_null"], rel=REL)


def test_weights_default_to_the_robust_variance() -> None:
    expected = EXPECTED["weights"]["x_z/efron/w_real/robust"]
    assert_table(cox(WEIGHTS, "t", "e", ["x", "z"], weights="w_real"), expected)


@pytest.mark.parametrize("model", ["x_z", "z"])
def test_weighted_strata_and_cluster_as_coxph(model: str) -> None:
    expected = EXPECTED["weights"][f"{model}/efron/w_real/strata_cluster"]
    table = cox(WEIGHTS, "t", "e", model.split("_"), weights="w_real", cluster="cl", strata="st")
    assert_table(table, expected)


@pytest.mark.parametrize(
    ("model", "ties"), [(m, t) for m in ("x_z", "z") for t in ("efron", "breslow")]
)
def test_robust_without_cluster_as_coxph(model: str, ties: Ties) -> None:
    expected = EXPECTED["weights"][f"{model}/{ties}/none/robust"]
    table = cox(WEIGHTS, "t", "e", model.split("_"), robust=True, ties=ties)
    assert_table(table, expected)
    # the same as one cluster per patient
    by_id = cox(WEIGHTS.reset_index(), "t", "e", model.split("_"), cluster="id", ties=ties)
    np.testing.assert_allclose(by_id["se"], table["se"], rtol=1e-12)


@pytest.mark.parametrize("model", ["x_z", "z"])
def test_scaling_the_weights_as_r(model: str) -> None:
    # R: scaling every weight by 2.5 leaves the coefficient and the robust se alone
    # and divides the model-based se by sqrt(2.5)
    for ties in ("efron", "breslow"):
        base = EXPECTED["weights"][f"{model}/{ties}/w_real/robust"]
        scaled = EXPECTED["weights"][f"{model}/{ties}/w_real_x2.5/robust"]
        for c in base["names"]:
            assert scaled["coef"][c] == pytest.approx(base["coef"][c], rel=1e-9)
            assert scaled["se"][c] == pytest.approx(base["se"][c], rel=1e-9)
            assert scaled["naive_se"][c] == pytest.approx(base["naive_se"][c] / np.sqrt(2.5))


@pytest.mark.parametrize("model", ["x_z", "z"])
def test_integer_weights_against_replicated_rows_as_r(model: str) -> None:
    covs = model.split("_")
    replicated = WEIGHTS.loc[WEIGHTS.index.repeat(WEIGHTS["w_int"])].reset_index()
    for ties in ("efron", "breslow"):
        expected = EXPECTED["weights"][f"{model}/{ties}/replicated/naive"]
        assert_table(cox(replicated, "t", "e", covs, ties=ties), expected)
        weighted = EXPECTED["weights"][f"{model}/{ties}/w_int/naive"]
        gap = max(abs(weighted["coef"][c] / expected["coef"][c] - 1) for c in covs)
        if ties == "breslow":  # the same likelihood
            assert gap < 1e-9
            assert weighted["loglik"] == pytest.approx(expected["loglik"], rel=1e-9)
        else:  # Efron: a weight-2 death is one death of its tied set, not two
            assert gap > 1e-4


# --------------------------------------------------------------------------- reference levels


@pytest.mark.parametrize("case", ["default", "chosen"])
def test_reference_levels_as_relevel(case: str) -> None:
    expected = EXPECTED["levels"][case]
    chosen = None if case == "default" else expected["reference"]
    table = cox(LEVELS, "t", "e", ["risk_group", "centre", "age"], reference=chosen)
    assert_table(table, expected)
    assert (
        reference_levels(LEVELS, ["risk_group", "centre", "age"], chosen) == (expected["reference"])
    )
    refs = expected["reference"]
    for name in table.index:
        column = next((c for c in refs if name.startswith(c)), None)
        assert table.loc[name, "reference"] == ("" if column is None else refs[column])


def test_reference_level_changes_coefficients_not_loglik_as_r() -> None:
    a, b = EXPECTED["levels"]["default"], EXPECTED["levels"]["chosen"]
    assert a["loglik"] == pytest.approx(b["loglik"], rel=1e-12)
    assert a["coef"]["age"] == pytest.approx(b["coef"]["age"], rel=1e-9)
    assert a["names"] != b["names"]

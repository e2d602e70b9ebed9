"""Agreement with R on the reference cases in ``tests/data`` (see its README).

Every number in the three ``*.expected.json`` files is checked to 1e-6 relative:
Kaplan-Meier tables (``survfit``, log-log and log intervals), the median,
log-rank (``survdiff``), Cox (``coxph``, Efron, plain and ``cluster(pair)``),
propensity scores (``glm(binomial)``), the exact lists of matched pairs in
matching order with their caliper widths (PS and logit scales), and the
standardised mean differences before and after matching (``summary.matchit``).
"""

from __future__ import annotations

import json
from typing import Any, Literal

import numpy as np
import pandas as pd
import pytest

from blinastudy.stats.balance import balance
from blinastudy.stats.matching import match, propensity_scores
from blinastudy.stats.survival import cox, kaplan_meier, logrank, median_survival
from tests._reference import DATA, KM_FIELDS, REL

COX_FIELDS = ["hr", "ci_lower", "ci_upper", "se", "p_value"]


def _load(case: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    frame = pd.read_csv(DATA / f"{case}.csv")
    expected = json.loads((DATA / f"{case}.expected.json").read_text())
    return frame, expected


@pytest.fixture(scope="module")
def aml() -> tuple[pd.DataFrame, dict[str, Any]]:
    return _load("aml")


@pytest.fixture(scope="module")
def tied() -> tuple[pd.DataFrame, dict[str, Any]]:
    return _load("matched_tied")


@pytest.fixture(scope="module")
def lalonde() -> tuple[pd.DataFrame, dict[str, Any]]:
    frame, expected = _load("lalonde")
    return frame.set_index("id"), expected


def assert_km_table(km: pd.DataFrame, rows: list[dict[str, float]]) -> None:
    assert len(km) == len(rows)
    assert list(km.columns[: len(KM_FIELDS)]) == KM_FIELDS
    for field in KM_FIELDS:
        expected = np.array([row[field] for row in rows], dtype=float)
        np.testing.assert_allclose(
            km[field].to_numpy(dtype=float), expected, rtol=REL, atol=0, err_msg=field
        )


def assert_cox_row(table: pd.DataFrame, expected: dict[str, dict[str, float]]) -> None:
    assert list(table.index) == list(expected)
    for name, values in expected.items():
        for field in COX_FIELDS:
            assert table.loc[name, field] == pytest.approx(values[field], rel=REL), field


# ------------------------------------------------- log-rank and Cox, aml and matched_tied

#: (case, time, event, group): the two-arm survival columns of a reference case.
TWO_ARM = {
    "aml": ("aml", "time", "status", "maintained"),
    "tied": ("matched_tied", "efs_months", "efs_event", "treated"),
}


@pytest.mark.parametrize(
    ("arms", "key"), [("aml", "logrank_maintained"), ("tied", "logrank_matched")]
)
def test_logrank_as_survdiff(arms: str, key: str) -> None:
    case, time, event, group = TWO_ARM[arms]
    frame, expected = _load(case)
    res = logrank(frame[time], frame[event], frame[group])
    exp = expected[key]
    assert res.statistic == pytest.approx(exp["statistic"], rel=REL)
    assert res.dof == exp["dof"]
    assert res.p_value == pytest.approx(exp["p_value"], rel=REL)


@pytest.mark.parametrize(
    ("arms", "cluster", "key", "method"),
    [
        ("aml", None, "cox_maintained", "ml"),
        ("tied", None, "cox_matched", "ml"),
        ("tied", "pair", "cox_matched_cluster", "ml-robust"),
    ],
)
def test_cox_as_coxph(arms: str, cluster: str | None, key: str, method: str) -> None:
    case, time, event, group = TWO_ARM[arms]
    frame, expected = _load(case)
    table = cox(frame, time, event, [group], cluster=cluster)
    assert_cox_row(table, expected[key])
    assert (table["method"] == method).all()


# --------------------------------------------------------------------------- aml


def test_aml_km_all_log_log(aml: tuple[pd.DataFrame, dict[str, Any]]) -> None:
    frame, expected = aml
    km = kaplan_meier(frame["time"], frame["status"], conf_type="log-log")
    assert_km_table(km, expected["km_all"])


def test_aml_km_all_log(aml: tuple[pd.DataFrame, dict[str, Any]]) -> None:
    frame, expected = aml
    km = kaplan_meier(frame["time"], frame["status"], conf_type="log")
    assert_km_table(km, expected["km_all_conf_type_log"])


def test_aml_km_maintained(aml: tuple[pd.DataFrame, dict[str, Any]]) -> None:
    frame, expected = aml
    arm = frame[frame["maintained"] == 1]
    assert_km_table(kaplan_meier(arm["time"], arm["status"]), expected["km_maintained"])


def test_aml_median(aml: tuple[pd.DataFrame, dict[str, Any]]) -> None:
    frame, expected = aml
    median = median_survival(kaplan_meier(frame["time"], frame["status"]))
    assert median.quantile == pytest.approx(expected["median_all"], rel=REL)


# ----------------------------------------------------------------- matched_tied


def test_tied_km_treated(tied: tuple[pd.DataFrame, dict[str, Any]]) -> None:
    frame, expected = tied
    arm = frame[frame["treated"] == 1]
    assert_km_table(kaplan_meier(arm["efs_months"], arm["efs_event"]), expected["km_treated"])


# ---------------------------------------------------------------------- lalonde


def test_lalonde_propensity_per_id(lalonde: tuple[pd.DataFrame, dict[str, Any]]) -> None:
    frame, expected = lalonde
    ps = propensity_scores(frame, "treat", expected["covariates"])
    exp = pd.Series(expected["propensity"], dtype=float)
    assert len(exp) == len(frame)
    assert set(exp.index) == set(ps.index)
    np.testing.assert_allclose(ps.loc[exp.index].to_numpy(), exp.to_numpy(), rtol=REL, atol=0)


@pytest.mark.parametrize(
    ("scale", "key"),
    [("ps", "match_ps_caliper_0.2"), ("logit", "match_logit_caliper_0.2")],
)
def test_lalonde_pairs_exact_order(
    lalonde: tuple[pd.DataFrame, dict[str, Any]], scale: Literal["ps", "logit"], key: str
) -> None:
    frame, expected = lalonde
    exp = expected[key]
    res = match(frame, "treat", expected["covariates"], caliper=0.2, scale=scale)
    assert res.caliper_width == pytest.approx(exp["caliper_width"], rel=REL)
    got = [(str(t), str(c)) for t, c in res.pairs[["treated", "control"]].to_numpy()]
    want = [(p["treated"], p["control"]) for p in exp["pairs"]]
    assert got == want  # same pairs, same matching order
    assert res.n_pairs == exp["n_pairs"] == len(want)
    # 1:1 without replacement: pair numbers run 1..n in matching order
    assert res.pairs["pair"].tolist() == list(range(1, len(want) + 1))
    # MatchIt's weights: 1 for the 2n matched units, 0 for the others; match.data
    # keeps the matched units in data order with their pair
    ids = {i for pair in want for i in pair}
    assert res.weights.tolist() == [float(str(i) in ids) for i in frame.index]
    assert res.match_data.index.tolist() == [i for i in frame.index if str(i) in ids]
    pair_of = {i: no for no, pair in enumerate(want, start=1) for i in pair}
    assert res.match_data["pair"].tolist() == [pair_of[str(i)] for i in res.match_data.index]


def test_lalonde_smd_before(lalonde: tuple[pd.DataFrame, dict[str, Any]]) -> None:
    frame, expected = lalonde
    table = balance(frame, "treat", expected["covariates"])
    exp = pd.Series(expected["smd_before"], dtype=float)
    assert list(table.index) == list(exp.index)
    np.testing.assert_allclose(table["smd_before"].to_numpy(), exp.to_numpy(), rtol=REL)
    assert table["smd_after"].isna().all()


def test_lalonde_smd_after_logit_caliper(lalonde: tuple[pd.DataFrame, dict[str, Any]]) -> None:
    frame, expected = lalonde
    covariates = expected["covariates"]
    res = match(frame, "treat", covariates, caliper=0.2, scale="logit")
    table = balance(frame, "treat", covariates, matched=res)
    before = pd.Series(expected["smd_before"], dtype=float)
    after = pd.Series(expected["smd_after_logit_caliper_0.2"], dtype=float)
    np.testing.assert_allclose(table.loc[before.index, "smd_before"], before, rtol=REL)
    np.testing.assert_allclose(table.loc[after.index, "smd_after"], after, rtol=REL)


def test_every_expected_number_is_covered() -> None:
    """Guard: the keys checked above are all the keys in the JSON files."""
    checked = {
        "aml": {
            "source",
            "km_all",
            "km_maintained",
            "km_all_conf_type_log",
            "median_all",
            "logrank_maintained",
            "cox_maintained",
        },
        "lalonde": {
            "source",
            "covariates",
            "propensity",
            "match_ps_caliper_0.2",
            "match_logit_caliper_0.2",
            "smd_before",
            "smd_after_logit_caliper_0.2",
        },
        "matched_tied": {
            "source",
            "cox_matched_cluster",
            "cox_matched",
            "logrank_matched",
            "km_treated",
        },
    }
    for case, keys in checked.items():
        expected = json.loads((DATA / f"{case}.expected.json").read_text())
        assert set(expected) == keys, case

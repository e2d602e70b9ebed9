"""Every public statistical function rejects bad input with an InputError that says what.

Each case names the function, the bad input and a pattern the message must
contain: the column or argument at fault and what is wrong with it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from blinastudy.core.errors import InputError
from blinastudy.stats.balance import balance
from blinastudy.stats.matching import fit_propensity, match, propensity_scores
from blinastudy.stats.survival import (
    confidence_band,
    cox,
    cox_fit,
    design_matrix,
    kaplan_meier,
    logrank,
    logrank_stratified,
    median_survival,
    number_at_risk,
    quantile_survival,
    survival_at,
)

RNG = np.random.default_rng(0)
N = 30
FRAME = pd.DataFrame(
    {
        "months": np.round(RNG.exponential(12, N), 1),
        "relapse": RNG.integers(0, 2, N),
        "age": RNG.uniform(1, 18, N),
        "arm": np.tile([0, 1], N // 2),
        "pair": np.repeat(np.arange(N // 2), 2),
        "site": np.tile(["A", "B", "C"], N // 3),
    }
)
KM = kaplan_meier([1, 2, 3, 4], [1, 0, 1, 0])


def with_value(column: str, row: int, value: Any) -> pd.DataFrame:
    out = FRAME.copy()
    out[column] = out[column].astype(object)
    out.loc[row, column] = value
    return out


def separated(gap: float = 100.0) -> pd.DataFrame:
    """Two arms far apart on the covariate, but not perfectly separated."""
    x = np.r_[np.linspace(0, 1, 10), np.linspace(gap, gap + 1, 10)]
    t = np.r_[np.zeros(9), 1, np.ones(9), 0]
    return pd.DataFrame({"t": t.astype(int), "x": x})


CASES: list[tuple[str, Callable[[], Any], str]] = [
    # ---- Kaplan-Meier
    ("km negative time", lambda: kaplan_meier([1, -2, 3], [1, 1, 0]), r"durations.*negative"),
    ("km NaN time", lambda: kaplan_meier([1, np.nan, 3], [1, 1, 0]), r"durations.*missing"),
    ("km inf time", lambda: kaplan_meier([1, np.inf], [1, 1]), r"durations.*infinite"),
    ("km text time", lambda: kaplan_meier(["1", "two"], [1, 1]), r"durations.*numeric.*two"),
    ("km event 2", lambda: kaplan_meier([1, 2, 3], [1, 2, 0]), r"events must be 0/1.*2"),
    ("km event NaN", lambda: kaplan_meier([1, 2], [1, np.nan]), r"events must be 0/1"),
    ("km lengths", lambda: kaplan_meier([1, 2, 3], [1, 0]), r"events has 2 values.*3"),
    ("km empty", lambda: kaplan_meier([], []), r"durations is empty"),
    ("km 2-d", lambda: kaplan_meier([[1, 2]], [[1, 0]]), r"one-dimensional"),
    ("km conf_type", lambda: kaplan_meier([1, 2], [1, 0], conf_type="logit"), r"conf_type.*logit"),  # type: ignore[arg-type]
    ("km conf_level 1", lambda: kaplan_meier([1, 2], [1, 0], conf_level=1.0), r"conf_level"),
    ("km conf_level 0", lambda: kaplan_meier([1, 2], [1, 0], conf_level=0), r"conf_level"),
    ("km conf_level 95", lambda: kaplan_meier([1, 2], [1, 0], conf_level=95), r"conf_level.*95"),
    ("km conf_level text", lambda: kaplan_meier([1, 2], [1, 0], conf_level="0.95"), r"conf_level"),  # type: ignore[arg-type]
    (
        "band conf_type",
        lambda: confidence_band(np.array([0.5]), np.array([0.1]), 1.96, "arcsine"),
        r"conf_type.*arcsine",
    ),
    ("survival_at NaN", lambda: survival_at(KM, float("nan")), r"time must be a finite number"),
    ("survival_at text", lambda: survival_at(KM, "soon"), r"time must be a number.*soon"),  # type: ignore[arg-type]
    ("survival_at None", lambda: survival_at(KM, None), r"time must be a number"),  # type: ignore[arg-type]
    ("survival_at not km", lambda: survival_at(FRAME, 3), r"kaplan_meier"),
    ("number_at_risk text", lambda: number_at_risk(KM, "x"), r"time must be a number"),  # type: ignore[arg-type]
    ("number_at_risk NaN", lambda: number_at_risk(KM, float("nan")), r"time must be a number"),
    ("number_at_risk not km", lambda: number_at_risk([1, 2], 1), r"kaplan_meier"),  # type: ignore[arg-type]
    ("quantile > 1", lambda: quantile_survival(KM, 1.5), r"prob.*between 0 and 1.*1.5"),
    ("quantile < 0", lambda: quantile_survival(KM, -0.1), r"prob.*between 0 and 1"),
    ("quantile NaN", lambda: quantile_survival(KM, float("nan")), r"prob"),
    ("quantile text", lambda: quantile_survival(KM, "half"), r"prob must be a number"),  # type: ignore[arg-type]
    ("median not km", lambda: median_survival(pd.DataFrame({"time": [1]})), r"kaplan_meier"),
    # ---- log-rank
    ("logrank single group", lambda: logrank([1, 2, 3], [1, 1, 0], [0, 0, 0]), r"groups.*single"),
    ("logrank NaN group", lambda: logrank([1, 2, 3], [1, 1, 0], [0, None, 1]), r"groups.*missing"),
    ("logrank group length", lambda: logrank([1, 2, 3], [1, 1, 0], [0, 1]), r"groups has 2"),
    ("logrank negative", lambda: logrank([1, -2, 3], [1, 1, 0], [0, 1, 1]), r"negative"),
    ("logrank event 2", lambda: logrank([1, 2, 3], [1, 2, 0], [0, 1, 1]), r"events.*0/1"),
    ("logrank NaN time", lambda: logrank([1, np.nan, 3], [1, 1, 0], [0, 1, 1]), r"missing"),
    (
        "logrank strata NaN",
        lambda: logrank_stratified([1, 2, 3, 4], [1, 1, 0, 1], [0, 1, 0, 1], ["a", None, "b", "b"]),
        r"strata.*missing",
    ),
    (
        "logrank strata length",
        lambda: logrank_stratified([1, 2, 3, 4], [1, 1, 0, 1], [0, 1, 0, 1], ["a", "b"]),
        r"strata has 2 values",
    ),
    # ---- Cox
    ("cox not a frame", lambda: cox([1, 2], "t", "e", ["x"]), r"DataFrame"),  # type: ignore[arg-type]
    ("cox empty frame", lambda: cox(FRAME.iloc[:0], "months", "relapse", ["arm"]), r"no rows"),
    ("cox missing time", lambda: cox(FRAME, "efs", "relapse", ["arm"]), r"missing column.*'efs'"),
    ("cox missing event", lambda: cox(FRAME, "months", "dead", ["arm"]), r"missing column.*'dead'"),
    ("cox missing covariate", lambda: cox(FRAME, "months", "relapse", ["mrd"]), r"'mrd'"),
    (
        "cox missing cluster",
        lambda: cox(FRAME, "months", "relapse", ["arm"], cluster="set"),
        r"missing column.*'set'",
    ),
    (
        "cox missing strata",
        lambda: cox(FRAME, "months", "relapse", ["arm"], strata="centre"),
        r"missing column.*'centre'",
    ),
    ("cox no covariates", lambda: cox(FRAME, "months", "relapse", []), r"no covariates"),
    (
        "cox negative time",
        lambda: cox(with_value("months", 3, -1.0), "months", "relapse", ["arm"]),
        r"negative times at entry 4 \(-1\)",
    ),
    (
        "cox NaN time",
        lambda: cox(with_value("months", 4, np.nan), "months", "relapse", ["arm"]),
        r"missing.*at entry 5 \(missing\)",
    ),
    (
        "cox event 2",
        lambda: cox(with_value("relapse", 5, 2), "months", "relapse", ["arm"]),
        r"0/1.*at entry 6 \(2\)",
    ),
    (
        "cox NaN event",
        lambda: cox(with_value("relapse", 6, np.nan), "months", "relapse", ["arm"]),
        r"0/1.*at entry 7 \(missing\)",
    ),
    (
        "cox NaN covariate",
        lambda: cox(with_value("age", 7, np.nan), "months", "relapse", ["age"]),
        r"covariate 'age' has missing values at entry 8$",
    ),
    (
        "cox inf covariate",
        lambda: cox(
            with_value("age", 8, np.inf).astype({"age": float}), "months", "relapse", ["age"]
        ),
        r"covariate 'age' has infinite values at entry 9$",
    ),
    (
        "cox NaN cluster",
        lambda: cox(with_value("pair", 2, None), "months", "relapse", ["arm"], cluster="pair"),
        r"cluster.*missing",
    ),
    (
        "cox NaN strata",
        lambda: cox(with_value("site", 2, None), "months", "relapse", ["arm"], strata="site"),
        r"strata.*missing",
    ),
    ("cox ties", lambda: cox(FRAME, "months", "relapse", ["arm"], ties="exact"), r"ties.*exact"),  # type: ignore[arg-type]
    (
        "cox conf_level",
        lambda: cox(FRAME, "months", "relapse", ["arm"], conf_level=1.2),
        r"conf_level.*1.2",
    ),
    (
        "cox conf_level text",
        lambda: cox(FRAME, "months", "relapse", ["arm"], conf_level="95%"),  # type: ignore[arg-type]
        r"conf_level",
    ),
    ("cox firth", lambda: cox(FRAME, "months", "relapse", ["arm"], firth="yes"), r"firth.*yes"),  # type: ignore[arg-type]
    ("cox_fit rows", lambda: cox_fit([[0], [1]], [1, 2, 3], [1, 0, 1]), r"2 rows.*3"),
    ("cox_fit NaN x", lambda: cox_fit([[0], [np.nan]], [1, 2], [1, 1]), r"covariates.*missing"),
    (
        "cox_fit text x",
        lambda: cox_fit([["a"], ["b"]], [1, 2], [1, 1]),
        r"covariates must be numeric",
    ),
    (
        "cox_fit cluster length",
        lambda: cox_fit([0, 1, 0], [1, 2, 3], [1, 1, 0], cluster=[1, 2]),
        r"cluster has 2",
    ),
    (
        "cox_fit strata length",
        lambda: cox_fit([0, 1, 0], [1, 2, 3], [1, 1, 0], strata=[1, 2]),
        r"strata has 2",
    ),
    ("design missing", lambda: design_matrix(FRAME, ["age", "wbc"]), r"missing column.*'wbc'"),
    # ---- propensity and matching
    ("ps empty frame", lambda: propensity_scores(FRAME.iloc[:0], "arm", ["age"]), r"no rows"),
    ("ps not a frame", lambda: propensity_scores(FRAME.to_dict(), "arm", ["age"]), r"DataFrame"),  # type: ignore[arg-type]
    ("ps missing treatment", lambda: propensity_scores(FRAME, "treated", ["age"]), r"'treated'"),
    ("ps missing covariate", lambda: propensity_scores(FRAME, "arm", ["age", "wbc"]), r"'wbc'"),
    ("ps no covariates", lambda: fit_propensity(FRAME, "arm", []), r"no covariates"),
    (
        "ps treatment 2",
        lambda: propensity_scores(with_value("arm", 4, 2), "arm", ["age"]),
        r"treatment column 'arm' must be 0/1.*at entry 5 \(2\)",
    ),
    (
        "ps treatment label",
        lambda: propensity_scores(with_value("arm", 4, "placebo"), "arm", ["age"]),
        r"treatment column 'arm'.*'placebo'",
    ),
    (
        "ps treatment NaN",
        lambda: propensity_scores(with_value("arm", 9, np.nan), "arm", ["age"]),
        r"treatment column 'arm' has a missing value at entry 10 \(missing\)",
    ),
    (
        "ps single arm",
        lambda: propensity_scores(FRAME.assign(arm=1), "arm", ["age"]),
        r"treatment column 'arm' has a single arm",
    ),
    (
        "ps NaN covariate",
        lambda: propensity_scores(with_value("age", 1, np.nan), "arm", ["age"]),
        r"covariate 'age' has missing values at entry 2$",
    ),
    ("match caliper 0", lambda: match(FRAME, "arm", ["age"], caliper=0), r"caliper.*0"),
    ("match caliper <0", lambda: match(FRAME, "arm", ["age"], caliper=-0.2), r"caliper.*-0.2"),
    ("match caliper NaN", lambda: match(FRAME, "arm", ["age"], caliper=float("nan")), r"caliper"),
    ("match caliper inf", lambda: match(FRAME, "arm", ["age"], caliper=float("inf")), r"caliper"),
    ("match caliper text", lambda: match(FRAME, "arm", ["age"], caliper="0.2"), r"caliper.*'0.2'"),  # type: ignore[arg-type]
    ("match ratio 0", lambda: match(FRAME, "arm", ["age"], ratio=0), r"ratio.*0"),
    ("match ratio 1.5", lambda: match(FRAME, "arm", ["age"], ratio=1.5), r"ratio.*1.5"),  # type: ignore[arg-type]
    ("match ratio True", lambda: match(FRAME, "arm", ["age"], ratio=True), r"ratio"),
    ("match scale", lambda: match(FRAME, "arm", ["age"], scale="probit"), r"scale.*probit"),  # type: ignore[arg-type]
    ("match order", lambda: match(FRAME, "arm", ["age"], order="oldest"), r"order.*oldest"),  # type: ignore[arg-type]
    (
        "match seed",
        lambda: match(FRAME, "arm", ["age"], order="random", random_state="x"),  # type: ignore[arg-type]
        r"random_state",
    ),
    ("match exact missing", lambda: match(FRAME, "arm", ["age"], exact=["sex"]), r"'sex'"),
    (
        "match exact NaN",
        lambda: match(with_value("site", 3, None), "arm", ["age"], exact=["site"]),
        r"exact-matching column 'site' has missing values at entry 4$",
    ),
    ("match missing treatment", lambda: match(FRAME, "blina", ["age"]), r"'blina'"),
    ("match single arm", lambda: match(FRAME.assign(arm=0), "arm", ["age"]), r"single arm"),
    ("match empty", lambda: match(FRAME.iloc[:0], "arm", ["age"]), r"no rows"),
    (
        "match nothing within caliper",
        lambda: match(separated(), "t", ["x"], caliper=0.001),
        r"no treated patient has a control within the caliper",
    ),
    # ---- balance
    ("balance missing covariate", lambda: balance(FRAME, "arm", ["age", "mrd"]), r"'mrd'"),
    ("balance missing treatment", lambda: balance(FRAME, "blina", ["age"]), r"'blina'"),
    ("balance no covariates", lambda: balance(FRAME, "arm", []), r"no covariates"),
    ("balance single arm", lambda: balance(FRAME.assign(arm=1), "arm", ["age"]), r"single arm"),
    (
        "balance treatment 2",
        lambda: balance(with_value("arm", 0, 2), "arm", ["age"]),
        r"treatment column 'arm' must be 0/1",
    ),
    (
        "balance NaN covariate",
        lambda: balance(with_value("age", 2, np.nan), "arm", ["age"]),
        r"covariate 'age'.*missing",
    ),
    ("balance empty", lambda: balance(FRAME.iloc[:0], "arm", ["age"]), r"no rows"),
    (
        "balance matched not frame",
        lambda: balance(FRAME, "arm", ["age"], matched=[1, 2]),
        r"matched",
    ),
    (
        "balance matched empty",
        lambda: balance(FRAME, "arm", ["age"], matched=FRAME.iloc[:0]),
        r"matched",
    ),
    (
        "balance matched missing column",
        lambda: balance(FRAME, "arm", ["age"], matched=FRAME[["arm"]]),
        r"matched sample is missing column.*'age'",
    ),
    (
        "balance matched single arm",
        lambda: balance(FRAME, "arm", ["age"], matched=FRAME[FRAME["arm"] == 1]),
        r"matched treatment column has a single arm",
    ),
]


@pytest.mark.parametrize(("fn", "pattern"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rejected_with_input_error(fn: Callable[[], Any], pattern: str) -> None:
    with pytest.raises(InputError, match=pattern) as info:
        fn()
    assert isinstance(info.value, ValueError)
    # plain words only: no numpy scalar reprs, no 0-based positions
    assert not re.search(r"np\.\w+\(|numpy\.|position", str(info.value)), str(info.value)


def test_patient_labels_are_named() -> None:
    frame = with_value("months", 3, -1.0).set_index(pd.Index([f"P{i:02d}" for i in range(30)]))
    with pytest.raises(InputError, match=r"negative times at patient 'P03' \(-1\)"):
        cox(frame, "months", "relapse", ["arm"])
    with pytest.raises(InputError, match=r"at patient 'P03' \(-1\)"):
        kaplan_meier(frame["months"], frame["relapse"])


def test_case_names_are_unique() -> None:
    names = [c[0] for c in CASES]
    assert len(names) == len(set(names))


def test_nothing_within_caliper_is_really_separated() -> None:
    # the same data match fine without a caliper: the error is about the caliper
    res = match(separated(), "t", ["x"], caliper=None)
    assert res.n_pairs == 10
    d = res.distance
    gaps = [abs(d[t] - d[c]) for t, c in res.pairs[["treated", "control"]].to_numpy()]
    assert min(gaps) > 0.001 * np.std(d, ddof=1)


def test_valid_edge_values_are_accepted() -> None:
    # the boundaries of the accepted ranges, and numpy scalars, are not errors
    kaplan_meier([0, 0, 1], [1, 0, 1], conf_level=np.float64(0.9))
    quantile_survival(KM, 0.0)
    quantile_survival(KM, 1.0)
    number_at_risk(KM, float("inf"))
    match(FRAME, "arm", ["age"], caliper=np.float64(0.5), ratio=np.int64(1))  # type: ignore[arg-type]
    match(FRAME, "arm", ["age"], caliper=None)
    cox(FRAME, "months", "relapse", ["arm"], conf_level=np.float64(0.9))

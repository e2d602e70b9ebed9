"""Matched sets under exact distance ties, against the reference in ``tests/data``.

``ties.csv``: 30 treated and 90 controls with a given distance on a grid of
tenths (many controls tied with each other and with treated units) and a
stratum. ``ties.expected.json`` lists, for each of 24 cases (ratio 1-3, with
and without replacement, no caliper or 0.1 SD, exact matching on the stratum or
not), the controls each treated unit takes in the order taken, by MatchIt
(>= 4.5.4) ``method = "nearest"`` (see ``tests/data/README.md``). The distance
is passed as the linear predictor of a given model, so matching runs on it
unchanged.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from blinastudy.stats.matching import PropensityModel, match
from tests._models import model_with_distance

DATA = Path(__file__).resolve().parent / "data"
EXPECTED = json.loads((DATA / "ties.expected.json").read_text())
CASES = EXPECTED["cases"]


@pytest.fixture(scope="module")
def ties() -> pd.DataFrame:
    # round_trip: the same doubles as R's parser gives for "-0.3" and the like
    return pd.read_csv(DATA / "ties.csv", float_precision="round_trip").set_index("id")


def given_distance(frame: pd.DataFrame) -> PropensityModel:
    return model_with_distance(frame["distance"].astype(float))


def test_reference_covers_every_combination(ties: pd.DataFrame) -> None:
    assert set(EXPECTED) == {"source", "cases"}
    combos = {(c["ratio"], c["replace"], c["caliper"], c["exact"]) for c in CASES}
    assert combos == set(
        itertools.product([1, 2, 3], [False, True], ["none", 0.1], ["none", "stratum"])
    )
    assert len(CASES) == 24
    assert (ties["treat"] == 1).sum() == 30 and (ties["treat"] == 0).sum() == 90
    # the case really is tie-heavy: most controls share their distance with another
    controls = ties.loc[ties["treat"] == 0, "distance"]
    assert controls.duplicated(keep=False).mean() > 0.5


def _case_id(case: dict[str, Any]) -> str:
    return (
        f"ratio{case['ratio']}-replace{case['replace']}-cal{case['caliper']}-exact{case['exact']}"
    )


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_controls_of_each_treated_unit_in_order(ties: pd.DataFrame, case: dict[str, Any]) -> None:
    res = match(
        ties,
        "treat",
        ["distance"],
        caliper=None if case["caliper"] == "none" else case["caliper"],
        ratio=case["ratio"],
        replace=case["replace"],
        exact=None if case["exact"] == "none" else [case["exact"]],
        model=given_distance(ties),
    )
    got: dict[str, list[str]] = {t: [] for t in ties.index[ties["treat"] == 1]}
    for t, c in res.pairs[["treated", "control"]].to_numpy():
        got[t].append(c)
    assert got == case["controls"]
    # the treated units without any control are the unmatched ones
    assert sorted(res.unmatched["treated"]) == sorted(t for t, cs in got.items() if not cs)
    # with replacement the sets are made in data order
    if case["replace"]:
        made = list(dict.fromkeys(res.pairs["treated"]))
        assert made == [t for t in ties.index if got.get(t)]

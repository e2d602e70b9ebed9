"""Eligibility criteria: the CONSORT-style flow, exclusions with reasons, JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blinastudy.core.errors import InputError
from blinastudy.data.cohort import combine_cohorts, read_table
from blinastudy.data.eligibility import Eligibility, apply_eligibility
from blinastudy.data.mapping import suggest_mapping

EXPORTS = Path(__file__).resolve().parent / "data" / "exports"
NAN = float("nan")


def small() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "patient_id": ["T1", "T2", "C1", "C2", "C3", "C4", "C5", "C6"],
            "arm": ["blinatumomab"] * 2 + ["chemotherapy"] * 6,
            "risk_group": ["LR", "HR", "HR", "IR", "LR", None, "HR", "IR"],
            "diagnosis_year": [2020.0, 2021.0, 2014.0, 2016.0, 2017.0, 2018.0, 2019.0, NAN],
            "age_years": [0.5, 12.0, 5.0, 18.0, 7.0, 3.0, 1.0, 9.0],
            "cns_status": ["CNS1", "CNS3", "CNS1", "CNS2", "CNS1", "CNS1", "CNS3", "CNS1"],
            "genetic_subtype": ["BCR-ABL1", None, "B-other", "ETV6-RUNX1", None, "BCR-ABL1",
                                "KMT2A-r", "B-other"],
        }
    )  # fmt: skip


def test_flow_by_hand() -> None:
    e = Eligibility(
        risk_groups=("IR", "HR"),
        range_low=2015,
        range_high=2019,
        age_low=1,
        age_high=18,
        cns_statuses=("CNS1", "CNS2"),
        excluded_subtypes=("BCR-ABL1",),
    )
    mask, flow = apply_eligibility(small(), e)
    # pool only (default): T1 (LR, infant, BCR-ABL1) and T2 (CNS3) stay in.
    # C1 HR 2014 -> out at the period; C2 IR 2016 age 18 -> out at age (< 18);
    # C3 LR -> out at risk; C4 risk missing -> out at risk; C5 HR 2019 age 1 CNS3 -> out at
    # CNS; C6 IR year missing -> out at the period. Nobody is left to reach the subtype.
    assert mask.tolist() == [True, True, False, False, False, False, False, False]
    counts = flow.counts
    assert counts["criterion"].tolist() == [
        "all patients",
        "risk group IR or HR",
        "diagnosis_year 2015 to 2019",
        "age 1 to < 18 years",
        "CNS status CNS1 or CNS2",
        "not BCR-ABL1",
        "eligible",
    ]
    assert counts["chemotherapy"].tolist() == [6, 4, 2, 1, 0, 0, 0]
    assert counts["excluded_chemotherapy"].tolist() == [0, 2, 2, 1, 1, 0, 0]
    assert counts["blinatumomab"].tolist() == [2] * 7
    assert counts["excluded_blinatumomab"].tolist() == [0] * 7
    assert counts["total"].tolist() == [8, 6, 4, 3, 2, 2, 2]
    assert flow.excluded.values.tolist() == [
        ["C3", "chemotherapy", "risk group IR or HR", "LR", "risk group LR not allowed"],
        ["C4", "chemotherapy", "risk group IR or HR", "", "risk_group missing"],
        ["C1", "chemotherapy", "diagnosis_year 2015 to 2019", "2014", "diagnosis_year 2014 is below 2015"],
        ["C6", "chemotherapy", "diagnosis_year 2015 to 2019", "", "diagnosis_year missing"],
        ["C2", "chemotherapy", "age 1 to < 18 years", "18", "age 18 is not below 18"],
        ["C5", "chemotherapy", "CNS status CNS1 or CNS2", "CNS3", "CNS3 not allowed"],
    ]  # fmt: skip


def test_applies_to_everyone_or_the_treated() -> None:
    e = Eligibility(excluded_subtypes=("BCR-ABL1",))
    mask, flow = apply_eligibility(
        small(), Eligibility(excluded_subtypes=("BCR-ABL1",), applies_to="all")
    )
    # T1 BCR-ABL1, T2 subtype missing (cannot be shown not BCR-ABL1), C3 missing, C4 BCR-ABL1
    assert mask.tolist() == [False, False, True, True, False, False, True, True]
    assert [r[:2] for r in flow.excluded[["patient_id", "reason"]].values.tolist()] == [
        ["T1", "BCR-ABL1 is excluded"],
        ["T2", "genetic_subtype missing"],
        ["C3", "genetic_subtype missing"],
        ["C4", "BCR-ABL1 is excluded"],
    ]
    treated_only, _ = apply_eligibility(
        small(), Eligibility(excluded_subtypes=("BCR-ABL1",), applies_to="treated")
    )
    assert treated_only.tolist() == [False, False] + [True] * 6
    pool_only, _ = apply_eligibility(small(), e)
    assert pool_only.tolist() == [True, True, True, True, False, False, True, True]


def test_no_criteria_keeps_everyone_and_index_is_kept() -> None:
    frame = small().set_index(pd.Index(list("abcdefgh")))
    mask, flow = apply_eligibility(frame, Eligibility())
    assert mask.all() and list(mask.index) == list("abcdefgh")
    assert flow.counts["criterion"].tolist() == ["all patients", "eligible"]
    assert flow.excluded.empty and list(flow.excluded.columns) == [
        "patient_id",
        "arm",
        "criterion",
        "value",
        "reason",
    ]


def test_range_on_a_column_of_the_users_choice() -> None:
    frame = small().assign(wbc_10e9_l=[5.0, 60.0, 12.0, 49.9, 50.0, 100.0, NAN, 3.0])
    e = Eligibility(range_column="wbc_10e9_l", range_high=50, applies_to="all")
    mask, flow = apply_eligibility(frame, e)
    assert mask.tolist() == [True, False, True, True, True, False, False, True]
    assert flow.counts["criterion"].tolist()[1] == "wbc_10e9_l <= 50"
    reasons = flow.excluded["reason"].tolist()
    assert reasons == [
        "wbc_10e9_l 60 is above 50",
        "wbc_10e9_l 100 is above 50",
        "wbc_10e9_l missing",
    ]


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"risk_groups": ("XR",)}, "risk_groups: 'XR' is not one of LR, IR, HR"),
        ({"risk_groups": ()}, "allow at least one group"),
        ({"risk_groups": "HR"}, "must be a list"),
        ({"cns_statuses": ("CNS4",)}, "is not one of CNS1, CNS2, CNS3"),
        ({"excluded_subtypes": ("Ph++",)}, "excluded_subtypes: 'Ph++' is not one of"),
        ({"range_low": 2020, "range_high": 2019}, "range_low (2020) is above range_high (2019)"),
        ({"range_low": "2019"}, "range_low must be a number or null"),
        ({"age_low": 10, "age_high": 10}, "age_low (10) must be below age_high (10)"),
        ({"age_low": -1}, "age_low must be >= 0"),
        ({"age_high": float("inf")}, "must be a finite number"),
        ({"applies_to": "control"}, "applies_to must be one of pool, treated, all"),
        ({"range_column": " "}, "range_column must be a column name"),
    ],
)
def test_invalid_criteria(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(InputError) as info:
        Eligibility(**kwargs)
    assert fragment in str(info.value)


def test_application_errors() -> None:
    with pytest.raises(InputError, match="needs column 'cns_status', which the cohort lacks"):
        apply_eligibility(small().drop(columns="cns_status"), Eligibility(cns_statuses=("CNS1",)))
    with pytest.raises(InputError, match="the cohort has no arm column"):
        apply_eligibility(small().drop(columns="arm"), Eligibility())
    text_years = small().assign(diagnosis_year=["2019"] * 8)
    with pytest.raises(InputError, match="patient C1 has '2019'"):
        apply_eligibility(text_years, Eligibility(range_low=2015))
    with pytest.raises(InputError, match="must be an Eligibility"):
        apply_eligibility(small(), {"risk_groups": ["HR"]})  # type: ignore[arg-type]


def test_json_round_trip_and_unknown_keys() -> None:
    e = Eligibility(
        risk_groups=("high risk",),
        range_low=2016,
        age_low=1,
        age_high=18,
        cns_statuses=("CNS1",),
        excluded_subtypes=("Ph+", "BCR::ABL1"),
        applies_to="all",
    )
    assert e.risk_groups == ("HR",) and e.excluded_subtypes == ("BCR-ABL1",)
    data = json.loads(e.to_json())
    assert data == {
        "risk_groups": ["HR"],
        "range_column": "diagnosis_year",
        "range_low": 2016.0,
        "range_high": None,
        "age_low": 1.0,
        "age_high": 18.0,
        "cns_statuses": ["CNS1"],
        "excluded_subtypes": ["BCR-ABL1"],
        "applies_to": "all",
    }
    assert Eligibility.from_json(e.to_json()) == e
    assert Eligibility.from_dict(e.to_dict()) == e
    with pytest.raises(InputError, match="unknown eligibility field"):
        Eligibility.from_dict({**data, "pool_only": True})
    with pytest.raises(InputError, match="not valid JSON"):
        Eligibility.from_json("{")
    with pytest.raises(InputError, match="must be a JSON object"):
        Eligibility.from_json("[]")


def test_on_the_realistic_exports() -> None:
    treated, pool = read_table(EXPORTS / "treated.csv"), read_table(EXPORTS / "pool.xlsx")
    m1 = (
        suggest_mapping(treated)
        .with_date_format("Date of death", "dd/mm/yyyy")
        .with_mrd_unit("mrd_eoi_pct", "percent")
        .with_mrd_limit("mrd_eoi_pct", 0.01)
        .with_value("genetic_subtype", "normal karyotype", "B-other")
    )
    m2 = suggest_mapping(pool).with_column("Date of birth", "date:birth")
    m2 = m2.with_value("genetic_subtype", "normal karyotype", "B-other")
    cohort = combine_cohorts(EXPORTS / "treated.csv", EXPORTS / "pool.xlsx", mappings=(m1, m2))
    e = Eligibility(range_low=2016, range_high=2019, excluded_subtypes=("BCR-ABL1",))
    mask, flow = apply_eligibility(cohort, e)
    # pool: 20 patients; diagnosed 2015: H-101..H-104 (4) out; then BCR-ABL1: H-106, H-118
    assert flow.counts[["criterion", "blinatumomab", "chemotherapy"]].values.tolist() == [
        ["all patients", 12, 20],
        ["diagnosis_year 2016 to 2019", 12, 16],
        ["not BCR-ABL1", 12, 14],
        ["eligible", 12, 14],
    ]
    assert flow.excluded["patient_id"].tolist() == [
        "H-101",
        "H-102",
        "H-103",
        "H-104",
        "H-106",
        "H-118",
    ]
    assert cohort.loc[mask, "patient_id"].str.startswith("BL-").sum() == 12  # BL-09 (BCR-ABL1) kept


patient = st.fixed_dictionaries(
    {
        "arm": st.sampled_from(["blinatumomab", "chemotherapy"]),
        "risk_group": st.sampled_from(["LR", "IR", "HR", None]),
        "diagnosis_year": st.sampled_from([2012.0, 2015.0, 2018.0, 2021.0, NAN]),
        "age_years": st.sampled_from([0.5, 1.0, 9.9, 10.0, 17.9, 18.0, NAN]),
        "cns_status": st.sampled_from(["CNS1", "CNS2", "CNS3", None]),
        "genetic_subtype": st.sampled_from(["BCR-ABL1", "B-other", "KMT2A-r", None]),
    }
)
criteria = st.builds(
    Eligibility,
    risk_groups=st.one_of(
        st.none(), st.sets(st.sampled_from(["LR", "IR", "HR"]), min_size=1).map(tuple)
    ),
    range_low=st.sampled_from([None, 2014.0, 2015.0]),
    range_high=st.sampled_from([None, 2018.0, 2020.0]),
    age_low=st.sampled_from([None, 1.0]),
    age_high=st.sampled_from([None, 10.0, 18.0]),
    cns_statuses=st.one_of(st.none(), st.just(("CNS1", "CNS2"))),
    excluded_subtypes=st.sampled_from([(), ("BCR-ABL1",)]),
    applies_to=st.sampled_from(["pool", "treated", "all"]),
)


@settings(max_examples=200, deadline=None)
@given(people=st.lists(patient, min_size=1, max_size=25), e=criteria)
def test_flow_accounts_for_every_patient(people: list[dict[str, Any]], e: Eligibility) -> None:
    frame = pd.DataFrame(people)
    frame.insert(0, "patient_id", [f"P{i}" for i in range(len(frame))])
    mask, flow = apply_eligibility(frame, e)
    counts = flow.counts
    # every patient is either eligible or listed once, with the step that excluded them
    assert int(mask.sum()) + len(flow.excluded) == len(frame)
    assert flow.excluded["patient_id"].is_unique
    assert set(flow.excluded["patient_id"]) == set(frame.loc[~mask, "patient_id"])
    # remaining counts fall by exactly the exclusions at each step
    for arm in ("blinatumomab", "chemotherapy"):
        remaining = counts[arm].tolist()
        dropped = counts[f"excluded_{arm}"].tolist()
        for before, after, out in zip(remaining, remaining[1:], dropped[1:], strict=False):
            assert before - out == after
        assert remaining[-1] == int((mask & (frame["arm"] == arm)).sum())
    # patients the criteria do not apply to are never excluded
    if e.applies_to != "all":
        other = "blinatumomab" if e.applies_to == "pool" else "chemotherapy"
        assert mask[frame["arm"] == other].all()


@settings(max_examples=150, deadline=None)
@given(people=st.lists(patient, min_size=1, max_size=25), e=criteria)
def test_adding_a_criterion_never_adds_patients(
    people: list[dict[str, Any]], e: Eligibility
) -> None:
    frame = pd.DataFrame(people)
    loose = Eligibility.from_dict({**e.to_dict(), "excluded_subtypes": []})
    strict = Eligibility.from_dict({**e.to_dict(), "excluded_subtypes": ["BCR-ABL1"]})
    loose_mask, _ = apply_eligibility(frame, loose)
    strict_mask, _ = apply_eligibility(frame, strict)
    assert not (strict_mask & ~loose_mask).any()

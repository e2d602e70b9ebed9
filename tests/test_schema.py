"""The data dictionary as code: specs, aliases, every validation rule, and the docs."""

from __future__ import annotations

import math
import pickle
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blinastudy.core.errors import InputError
from blinastudy.data.schema import (
    CANONICAL_COLUMNS,
    COLUMNS,
    REQUIRED_COLUMNS,
    CohortError,
    Problem,
    category_value,
    check_cohort,
    column_spec,
    format_problems,
    is_missing,
    normalise_key,
    parse_number,
    schema_markdown,
    show_value,
    validate_cohort,
)

DOCS = Path(__file__).resolve().parents[1] / "docs" / "DATA_DICTIONARY.md"


def cohort(**overrides: Any) -> pd.DataFrame:
    """A valid three-patient cohort; keyword arguments replace whole columns."""
    data: dict[str, Any] = {
        "patient_id": ["P1", "P2", "P3"],
        "arm": ["blinatumomab", "chemotherapy", "blinatumomab"],
        "efs_months": [12.0, 30.5, 7.25],
        "efs_event": [1, 0, 1],
        "os_months": [20.0, 30.5, 7.25],
        "os_event": [0, 0, 1],
    }
    data.update(overrides)
    return pd.DataFrame(data)


def messages(problems: list[Problem]) -> list[str]:
    return [str(p) for p in problems]


# --------------------------------------------------------------------------------------
# The docs agree with the schema
# --------------------------------------------------------------------------------------


def _doc_rows(text: str) -> dict[str, list[str]]:
    rows: dict[str, list[str]] = {}
    for line in text.splitlines():
        if not line.startswith("|") or line.startswith("| ---") or line.startswith("| column"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows[cells[0]] = cells
    return rows


def test_docs_tables_match_schema_exactly() -> None:
    docs = _doc_rows(DOCS.read_text(encoding="utf-8"))
    rendered = _doc_rows(schema_markdown())
    assert list(docs) == list(rendered) == list(CANONICAL_COLUMNS)
    assert docs == rendered


def test_docs_category_values_and_types_agree() -> None:
    docs = _doc_rows(DOCS.read_text(encoding="utf-8"))
    for spec in COLUMNS:
        _, type_label, allowed, _ = docs[spec.name]
        assert type_label == spec.type_label
        if spec.kind == "category":
            assert tuple(re.findall(r"`([^`]+)`", allowed)) == spec.values


def test_docs_sections_list_required_columns() -> None:
    text = DOCS.read_text(encoding="utf-8")
    required = text.split("## Required", 1)[1].split("## Optional", 1)[0]
    assert tuple(_doc_rows(required)) == REQUIRED_COLUMNS


def test_docs_aliases_in_meaning_are_recognised() -> None:
    meaning = _doc_rows(DOCS.read_text(encoding="utf-8"))["genetic_subtype"][3]
    claims = re.findall(r"((?:`[^`]+`,\s*)*`[^`]+`) -> `([^`]+)`", meaning)
    assert len(claims) == 3
    for aliases, target in claims:
        for alias in re.findall(r"`([^`]+)`", aliases):
            assert category_value("genetic_subtype", alias) == target


def test_schema_markdown_with_aliases_lists_spellings() -> None:
    text = schema_markdown(aliases=True)
    assert "## Recognised spellings" in text
    assert "`TEL-AML1` -> `ETV6-RUNX1`" in text


# --------------------------------------------------------------------------------------
# Specs and aliases
# --------------------------------------------------------------------------------------


def test_column_spec_lookup_and_unknown() -> None:
    assert column_spec("os_months").min_column == "efs_months"
    with pytest.raises(InputError, match="not a canonical"):
        column_spec("nope")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("MLL-AF4", "KMT2A-r"),
        ("KMT2A::AFF1", "KMT2A-r"),
        ("KMT2A-AFF1", "KMT2A-r"),
        ("MLL-r", "KMT2A-r"),
        ("mll_r", "KMT2A-r"),
        ("E2A-PBX1", "TCF3-PBX1"),
        ("TEL-AML1", "ETV6-RUNX1"),
        ("tel aml1", "ETV6-RUNX1"),
        ("ETV6\u2013RUNX1", "ETV6-RUNX1"),
        ("hyperdiploid", "high-hyperdiploid"),
        ("HeH", "high-hyperdiploid"),
        ("High Hyperdiploid", "high-hyperdiploid"),
        ("Ph+", "BCR-ABL1"),
        ("BCR::ABL1", "BCR-ABL1"),
        ("ph-like", "Ph-like"),
        ("IAMP21", "iAMP21"),
        ("b other", "B-other"),
        ("Ph", None),
        ("Ph-", None),
        ("other", None),
    ],
)
def test_genetic_aliases(value: str, expected: str | None) -> None:
    assert category_value("genetic_subtype", value) == expected


def test_other_category_aliases() -> None:
    assert category_value("arm", " Blina ") == "blinatumomab"
    assert category_value("arm", "CHEMO") == "chemotherapy"
    assert category_value("sex", "male") == "M"
    assert category_value("sex", "f") == "F"
    assert category_value("cns_status", "cns 2") == "CNS2"
    assert category_value("risk_group", "high risk") == "HR"
    assert category_value("event_type", "Induction Failure") == "induction-failure"
    assert category_value("event_type", "none") == "none"
    assert category_value("sex", 1) is None
    assert category_value("efs_months", "1") is None


def test_aliases_never_collide_across_values() -> None:
    for spec in COLUMNS:
        keys = [normalise_key(v) for v in spec.values]
        assert len(set(keys)) == len(keys), spec.name
        for alias, target in spec.aliases:
            assert target in spec.values
            assert category_value(spec.name, alias) == target


def test_specs_are_consistent() -> None:
    assert len(set(CANONICAL_COLUMNS)) == len(COLUMNS)
    for spec in COLUMNS:
        assert spec.required == (spec.group == "required")
        if spec.low is not None and spec.high is not None:
            assert spec.low < spec.high
        assert spec.kind in {"text", "category", "number", "integer", "binary"}
    assert column_spec("age_years").in_range(0)
    assert not column_spec("age_years").in_range(19)
    assert not column_spec("wbc_10e9_l").in_range(0)
    assert column_spec("mrd_eoi_pct").in_range(100)
    assert not column_spec("mrd_eoi_pct").in_range(100.0001)


# --------------------------------------------------------------------------------------
# Cell parsing
# --------------------------------------------------------------------------------------


def test_is_missing() -> None:
    for v in (None, np.nan, pd.NA, pd.NaT, "", "  ", "NA", "n/a", "N/A", "NaN", "null", "#N/A"):
        assert is_missing(v), v
    for v in ("none", "0", 0, 0.0, "-", "unknown", False):
        assert not is_missing(v), v


def test_parse_number() -> None:
    assert parse_number("1e-3") == 0.001
    assert parse_number("+4") == 4.0
    assert parse_number(".5") == 0.5
    assert parse_number(np.int64(3)) == 3.0
    assert parse_number("1,5", decimal_comma=True) == 1.5
    assert math.isnan(parse_number(" "))
    for bad in ("1,5", "12 months", "<0.01", "inf", "nan1", "1.2.3", "0x10", "1_000", True):
        with pytest.raises(ValueError):
            parse_number(bad)
    with pytest.raises(ValueError, match="date"):
        parse_number(pd.Timestamp("2020-01-01"))
    with pytest.raises(ValueError, match="finite"):
        parse_number(float("inf"))


def test_show_value() -> None:
    assert show_value(3.0) == "3"
    assert show_value(-0.5) == "-0.5"
    assert show_value("x" * 100).endswith("...")
    assert show_value(pd.Timestamp("2020-01-02")) == "2020-01-02T00:00:00"


# --------------------------------------------------------------------------------------
# validate_cohort: every rule
# --------------------------------------------------------------------------------------


def test_valid_cohort_has_no_problems_and_canonical_dtypes() -> None:
    frame = cohort(
        sex=["M", "female", None],
        genetic_subtype=["MLL-AF4", "HeH", "n/a"],
        hsct=[1, 0, None],
        crs_grade=["2", 0, None],
        mystery=["a", "b", "c"],
    )
    out, problems = check_cohort(frame)
    assert problems == []
    assert list(out.columns[:6]) == list(REQUIRED_COLUMNS)
    assert out.columns[-1] == "mystery"
    assert out["efs_months"].dtype == np.float64
    assert out["efs_event"].dtype == np.int64
    assert str(out["hsct"].dtype) == "Int64"
    assert str(out["crs_grade"].dtype) == "Int64"
    assert out["genetic_subtype"].tolist() == ["KMT2A-r", "high-hyperdiploid", None]
    assert out["sex"].tolist() == ["M", "F", None]


def test_missing_required_columns() -> None:
    problems = validate_cohort(cohort().drop(columns=["os_months", "arm"]))
    assert [(p.row, p.column) for p in problems] == [(None, "arm"), (None, "os_months")]
    assert all("required column is missing" in p.message for p in problems)


def test_duplicate_column_names() -> None:
    frame = pd.DataFrame([[1, 2]], columns=["efs_months", "efs_months"])
    problems = validate_cohort(frame)
    assert problems[0].column == "efs_months"
    assert "appears 2 times" in problems[0].message


@pytest.mark.parametrize(
    ("column", "value", "fragment"),
    [
        ("arm", "placebo", "unknown value; allowed: blinatumomab, chemotherapy"),
        ("efs_months", "-1", "must be >= 0"),
        ("efs_months", "twelve", "must be a number"),
        ("efs_event", "2", "must be 0 or 1"),
        ("efs_event", "yes", "must be 0 or 1"),
        ("os_event", "0.5", "must be 0 or 1"),
        ("patient_id", None, "required value is missing"),
        ("arm", "", "required value is missing"),
    ],
)
def test_cell_problems_name_row_column_value(column: str, value: Any, fragment: str) -> None:
    frame = cohort()
    frame[column] = frame[column].astype(object)
    frame.loc[1, column] = value
    problems = validate_cohort(frame)
    assert len(problems) >= 1
    p = problems[0]
    assert (p.row, p.column) == (3, column)
    assert fragment in p.message
    text = str(p)
    assert "row 3" in text and repr(column) in text
    if value:
        assert repr(value) in text


@pytest.mark.parametrize(
    ("column", "good", "bad", "fragment"),
    [
        ("age_years", 18.99, 19, "must be >= 0 and < 19"),
        ("age_years", 0, -0.1, "must be >= 0 and < 19"),
        ("wbc_10e9_l", 0.1, 0, "must be > 0"),
        ("mrd_eoi_pct", 100, 100.5, "must be between 0 and 100"),
        ("mrd_day15_pct", 0, -1, "must be between 0 and 100"),
        ("crs_grade", 4, 5, "must be between 0 and 4"),
        ("crs_grade", 1, 1.5, "must be a whole number"),
        ("neurotox_grade", 0, -1, "must be between 0 and 4"),
        ("blina_cycles", 1, 0, "must be >= 1"),
        ("hsct", 1, 3, "must be 0 or 1"),
        ("sex", "F", "X", "unknown value; allowed: M, F"),
        ("cns_status", "CNS3", "CNS4", "unknown value"),
        ("risk_group", "IR", "VHR", "unknown value"),
        ("prednisone_response", "poor", "bad", "unknown value"),
        ("indication", "high-risk", "other", "unknown value"),
        ("genetic_subtype", "Ph-like", "Ph-", "unknown value"),
    ],
)
def test_optional_column_ranges(column: str, good: Any, bad: Any, fragment: str) -> None:
    ok = cohort(**{column: [good, None, good]})
    if column == "indication":
        ok = cohort(**{column: [good, None, good]})
    assert validate_cohort(ok) == []
    problems = validate_cohort(cohort(**{column: [good, None, bad]}))
    assert len(problems) == 1
    assert (problems[0].row, problems[0].column, problems[0].value) == (4, column, show_value(bad))
    assert fragment in problems[0].message


def test_inf_and_dates_are_not_numbers() -> None:
    problems = validate_cohort(
        cohort(efs_months=[np.inf, 1.0, pd.Timestamp("2020-01-01")], os_months=[30, 30, 30])
    )
    assert [(p.row, p.column) for p in problems] == [(2, "efs_months"), (4, "efs_months")]
    assert "finite" in problems[0].message
    assert "date" in problems[1].message


def test_duplicate_patient_ids_reported_after_first() -> None:
    problems = validate_cohort(cohort(patient_id=["A", " A", "A"]))
    assert [(p.row, p.value) for p in problems] == [(3, "A"), (4, "A")]
    assert all("duplicate patient_id (first at row 2)" in p.message for p in problems)


def test_ids_compare_case_sensitively_and_numbers_become_text() -> None:
    out, problems = check_cohort(cohort(patient_id=[101, "a", "A"]))
    assert problems == []
    assert out["patient_id"].tolist() == ["101", "a", "A"]


def test_os_before_efs() -> None:
    problems = validate_cohort(cohort(os_months=[11.0, 30.5, 7.25]))
    assert len(problems) == 1
    p = problems[0]
    assert (p.row, p.column, p.value) == (2, "os_months", "11")
    assert "before efs_months (12)" in p.message


def test_os_event_implies_efs_event() -> None:
    problems = validate_cohort(cohort(os_event=[0, 1, 1]))
    assert [(p.row, p.column) for p in problems] == [(3, "os_event")]
    assert "death is an EFS event" in problems[0].message


def test_event_type_against_efs_event() -> None:
    problems = validate_cohort(
        cohort(event_type=["none", "relapse", "death in remission"], os_event=[0, 0, 1])
    )
    assert [(p.row, p.column, p.value) for p in problems] == [
        (2, "event_type", "none"),
        (3, "event_type", "relapse"),
    ]
    assert "event_type is none but efs_event is 1" in problems[0].message
    assert "event_type is relapse but efs_event is 0" in problems[1].message


def test_relapse_site_only_for_relapses() -> None:
    problems = validate_cohort(
        cohort(
            event_type=["relapse", "none", "second malignancy"], relapse_site=["BM", None, "CNS"]
        )
    )
    assert [(p.row, p.column) for p in problems] == [(4, "relapse_site")]


def test_blina_start_rules() -> None:
    problems = validate_cohort(cohort(blina_start_months=[3.0, 2.0, 7.5]))
    assert [(p.row, p.column, p.value) for p in problems] == [
        (3, "blina_start_months", "2"),
        (4, "blina_start_months", "7.5"),
    ]
    assert "leave it blank for controls" in problems[0].message
    assert "started after the EFS event" in problems[1].message
    assert validate_cohort(cohort(blina_start_months=[12.0, None, 0])) == []


def test_require_both_arms() -> None:
    frame = cohort(arm=["blinatumomab"] * 3, blina_start_months=[1.0, 1.0, 1.0])
    assert validate_cohort(frame) == []
    problems = validate_cohort(frame, require_both_arms=True)
    assert [p.message for p in problems] == ["no chemotherapy patients; both arms are needed"]


def test_rows_argument_and_column() -> None:
    frame = cohort(efs_months=[1.0, -1.0, 1.0], row_no=[10, 20, 30])
    assert validate_cohort(frame, rows="row_no")[0].row == 20
    assert validate_cohort(frame, rows=[5, 6, 7])[0].row == 6
    (problem,) = validate_cohort(frame, rows=np.array([7, 8, 9]))  # e.g. FileTable.rows
    assert problem.row == 8 and type(problem.row) is int
    frame.attrs["blinastudy.rows"] = [7, 8, 9]  # attrs are never read: 2, 3, 4
    assert validate_cohort(frame)[0].row == 3
    with pytest.raises(InputError):
        validate_cohort(frame, rows=[1])
    with pytest.raises(InputError):
        validate_cohort(frame, rows="missing")


def test_decimal_comma_only_when_asked() -> None:
    frame = cohort(efs_months=["1,5", "2", "3"], os_months=["40", "40", "40"])
    assert [p.column for p in validate_cohort(frame)] == ["efs_months"]
    assert validate_cohort(frame, decimal_comma=True) == []


def test_original_values_are_shown() -> None:
    frame = cohort(efs_months=[1.0, -2.0, 3.0])
    original = cohort(efs_months=["30", "-60", "90"])
    _, problems = check_cohort(frame, original=original, source="f.csv")
    assert problems[0].value == "-60"
    assert str(problems[0]).startswith("f.csv, row 3")


def test_problems_sorted_by_row_then_column_order() -> None:
    frame = cohort(efs_event=[1, 5, 1], arm=["x", "blinatumomab", "blinatumomab"])
    frame["patient_id"] = ["P1", "P1", "P3"]
    problems = validate_cohort(frame)
    assert [(p.row, p.column) for p in problems] == [
        (2, "arm"),
        (3, "patient_id"),
        (3, "efs_event"),
    ]


def test_not_a_frame() -> None:
    with pytest.raises(InputError):
        validate_cohort([1, 2])  # type: ignore[arg-type]


def test_empty_frame_reports_missing_columns_only() -> None:
    problems = validate_cohort(pd.DataFrame())
    assert {p.column for p in problems} == set(REQUIRED_COLUMNS)


# --------------------------------------------------------------------------------------
# Problem and CohortError
# --------------------------------------------------------------------------------------


def test_problem_str_forms() -> None:
    assert str(Problem(None, None, None, "bad")) == "bad"
    assert str(Problem(4, "arm", "", "required value is missing")) == (
        "row 4, column 'arm', blank cell: required value is missing"
    )


def test_cohort_error_caps_list_and_pickles() -> None:
    problems = [Problem(i, "arm", "x", "unknown value") for i in range(2, 80)]
    err = CohortError("f.csv has 78 problems", problems)
    text = str(err)
    assert text.count("\n- row") == 50
    assert text.endswith("- and 28 more")
    assert isinstance(err, InputError) and isinstance(err, ValueError)
    again = pickle.loads(pickle.dumps(err))
    assert again.problems == problems and str(again) == text
    assert format_problems([]) == ""


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=20))
def test_normalise_key_is_idempotent(text: str) -> None:
    key = normalise_key(text)
    assert normalise_key(key) == key
    assert normalise_key(text.upper().replace("-", " _ ")) == normalise_key(text.upper())


def test_problems_are_capped_with_true_totals_reported() -> None:
    from blinastudy.data.schema import MAX_PROBLEMS, MAX_PROBLEMS_PER_COLUMN, check_cohort

    n = 5000
    frame = pd.DataFrame(
        {
            "patient_id": [f"P{i}" for i in range(n)],
            "arm": ["x"] * n,
            "efs_months": ["a"] * n,
            "efs_event": ["z"] * n,
            "os_months": ["b"] * n,
            "os_event": ["q"] * n,
        }
    )
    _, problems = check_cohort(frame)
    assert len(problems) <= MAX_PROBLEMS + 20
    by_column: dict[str | None, int] = {}
    for p in problems:
        by_column[p.column] = by_column.get(p.column, 0) + 1
    assert all(v <= MAX_PROBLEMS_PER_COLUMN + 1 for v in by_column.values())
    totals = [p.message for p in problems if "in all" in p.message]
    assert f"{n:,} problems in this column in all; the first 100 are listed" in totals
    # the listed problems still name row, column and value
    first = next(p for p in problems if p.column == "efs_months" and p.row is not None)
    assert first.row == 2 and first.value == "a"

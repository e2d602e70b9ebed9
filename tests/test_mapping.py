"""Column mapping: the Mapping value, applying it, and suggesting one from messy files."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blinastudy.core.errors import InputError
from blinastudy.data.cohort import load_cohort, read_file, read_table
from blinastudy.data.dates import STATUS_CODES, DateRole
from blinastudy.data.mapping import (
    AS_MISSING,
    DAYS_PER_MONTH,
    Mapping,
    apply_mapping,
    code_key,
    column_targets,
    rename_columns,
    review_mapping,
    suggest_mapping,
    to_months,
)
from blinastudy.data.schema import CohortError
from blinastudy.data.table import FileTable


def raw_frame(data: dict[str, list[Any]]) -> pd.DataFrame:
    return pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in data.items()})


# --------------------------------------------------------------------------------------
# The Mapping value
# --------------------------------------------------------------------------------------


def test_defaults_are_identity() -> None:
    m = Mapping()
    assert m.columns == {} and m.time_unit == "months" and m.mrd_unit == "percent"
    assert m.arm is None and m.notes == ()
    frame = raw_frame({"patient_id": ["P1"], "efs_months": ["3"]})
    out = apply_mapping(frame, m)
    assert out.to_dict("list") == frame.to_dict("list")


def test_normalisation_on_construction() -> None:
    m = Mapping(
        # a number code as a spreadsheet reads it (not a str): normalised to "1"
        event_codes={"os_event": {" Dead ": 1, "ALIVE": 0, 1.0: 1}},  # type: ignore[dict-item]
        categories={"sex": {"Boy": "male", "Girl": "F", "unknown": None}},
        arm="Blina",
    )
    assert m.event_codes == {"os_event": {"dead": 1, "alive": 0, "1": 1}}
    assert m.categories == {"sex": {"boy": "M", "girl": "F", "unknown": None}}
    assert m.arm == "blinatumomab"


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"columns": {"A": "patient_id", "B": "patient_id"}}, "both mapped to 'patient_id'"),
        ({"columns": {"": "patient_id"}}, "non-empty string"),
        ({"columns": {"A": 3}}, "non-empty string"),
        ({"columns": ["A"]}, "must be a mapping"),
        ({"time_unit": "hours"}, "time_unit must be one of"),
        ({"time_units": {"age_years": "days"}}, "not a time column"),
        ({"time_units": {"efs_months": "fortnights"}}, "must be one of"),
        ({"mrd_unit": "log"}, "mrd_unit must be one of"),
        ({"mrd_units": {"wbc_10e9_l": "fraction"}}, "not an MRD column"),
        ({"event_codes": {"sex": {"m": 1}}}, "not a 0/1 column"),
        ({"event_codes": {"os_event": {"dead": 2}}}, "must be 0 or 1"),
        ({"event_codes": {"os_event": {"dead": True}}}, "must be 0 or 1"),
        ({"event_codes": {"os_event": {"Dead": 1, "dead ": 0}}}, "two codes"),
        ({"categories": {"efs_months": {"a": "b"}}}, "not a category column"),
        ({"categories": {"sex": {"x": "unknown"}}}, "is not one of M, F"),
        ({"categories": {"sex": {"x": "M", "X": "F"}}}, "two ways"),
        ({"arm": "placebo"}, "arm must be one of"),
        ({"notes": "a note"}, "notes must be"),
    ],
)
def test_invalid_mappings(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(InputError) as info:
        Mapping(**kwargs)
    assert fragment in str(info.value)


def test_frozen_and_hashable() -> None:
    m = Mapping(columns={"A": "patient_id"})
    with pytest.raises(AttributeError):
        m.time_unit = "days"  # type: ignore[misc]
    assert hash(m) == hash(Mapping(columns={"A": "patient_id"}))
    assert len({m, Mapping(columns={"A": "patient_id"})}) == 1


def test_inputs_are_copied() -> None:
    columns = {"A": "patient_id"}
    m = Mapping(columns=columns)
    columns["B"] = "arm"
    assert m.columns == {"A": "patient_id"}


VERSION_1_FIELDS = (
    "columns",
    "time_unit",
    "time_units",
    "mrd_unit",
    "mrd_units",
    "event_codes",
    "categories",
    "arm",
    "notes",
)

FULL = Mapping(
    columns={"Patient ID": "patient_id", "EFS (d)": "efs_months", "Статус": "os_event"},
    time_unit="days",
    time_units={"blina_start_months": "weeks"},
    mrd_unit="fraction",
    mrd_units={"mrd_day15_pct": "percent"},
    event_codes={"os_event": {"умер": 1, "жив": 0}, "efs_event": {"yes": 1, "no": 0}},
    categories={"genetic_subtype": {"other": "B-other", "n.d.": None}},
    arm="chemotherapy",
    notes=("a note",),
)


def test_json_and_dict_round_trip() -> None:
    assert Mapping.from_json(FULL.to_json()) == FULL
    assert Mapping.from_dict(FULL.to_dict()) == FULL
    assert Mapping.from_dict(json.loads(json.dumps(FULL.to_dict()))) == FULL
    assert "Статус" in FULL.to_json()
    assert FULL.to_dict()["version"] == 2  # version 2 added dates, status and MRD limits
    old = {k: v for k, v in FULL.to_dict().items() if k in VERSION_1_FIELDS}
    assert Mapping.from_dict({**old, "version": 1}) == FULL  # a saved version 1 still reads


def test_from_json_errors() -> None:
    with pytest.raises(InputError, match="not valid JSON"):
        Mapping.from_json("{nope")
    with pytest.raises(InputError, match="JSON object"):
        Mapping.from_json("[1, 2]")
    with pytest.raises(InputError, match="unknown mapping field"):
        Mapping.from_json('{"colums": {}}')
    with pytest.raises(InputError, match="unsupported mapping version"):
        Mapping.from_json('{"version": 99}')
    with pytest.raises(InputError, match="notes must be"):
        Mapping.from_json('{"notes": "x"}')
    with pytest.raises(InputError, match="must be 0 or 1"):
        Mapping.from_json('{"event_codes": {"os_event": {"x": "1"}}}')


NAMES = st.text(min_size=1, max_size=12).filter(lambda s: s.strip() != "")


@settings(max_examples=200, deadline=None)
@given(
    columns=st.dictionaries(
        NAMES, st.sampled_from(["patient_id", "arm", "x", "y", "z"]), max_size=3
    ),
    time_unit=st.sampled_from(["days", "weeks", "months", "years"]),
    codes=st.dictionaries(NAMES, st.sampled_from([0, 1]), max_size=4),
    arm=st.sampled_from([None, "blinatumomab", "chemo"]),
    notes=st.lists(st.text(max_size=20), max_size=3),
)
def test_round_trip_property(
    columns: dict[str, str],
    time_unit: Any,
    codes: dict[str, int],
    arm: str | None,
    notes: list[str],
) -> None:
    try:
        m = Mapping(
            columns=columns,
            time_unit=time_unit,
            event_codes={"hsct": codes},
            arm=arm,
            notes=tuple(notes),
        )
    except InputError:
        return  # e.g. two names mapped to one target, or two spellings folding together
    assert Mapping.from_json(m.to_json()) == m
    assert Mapping.from_dict(m.to_dict()) == m
    assert m.to_json() == Mapping.from_json(m.to_json()).to_json()


# --------------------------------------------------------------------------------------
# Units
# --------------------------------------------------------------------------------------


def test_to_months_factors_are_exact_definitions() -> None:
    assert DAYS_PER_MONTH == 365.25 / 12
    assert to_months(365.25, "days") == 12.0
    assert to_months(1, "days") == 1 / DAYS_PER_MONTH
    assert to_months(1, "weeks") == 7 / DAYS_PER_MONTH
    assert to_months(1.5, "years") == 18.0
    assert to_months(2.25, "months") == 2.25
    with pytest.raises(InputError):
        to_months(1, "hours")  # type: ignore[arg-type]


def test_apply_mapping_units_are_not_rounded() -> None:
    raw = raw_frame(
        {
            "efs_months": ["1", "100", "N/A", "abc"],
            "os_months": [1, 2, 3, 4],
            "blina_start_months": ["1", None, None, None],
            "mrd_eoi_pct": ["0.00123", "1", "", "<0.01"],
            "mrd_day15_pct": ["0.5", None, None, None],
        }
    )
    m = Mapping(
        time_unit="days",
        time_units={"os_months": "years", "blina_start_months": "weeks"},
        mrd_unit="fraction",
        mrd_units={"mrd_day15_pct": "percent"},
    )
    out = apply_mapping(raw, m)
    assert out["efs_months"].tolist()[:2] == [1 / DAYS_PER_MONTH, 100 / DAYS_PER_MONTH]
    assert out["efs_months"].tolist()[2:] == ["N/A", "abc"]  # left for validation
    assert out["os_months"].tolist() == [12.0, 24.0, 36.0, 48.0]
    assert out["os_months"].dtype == np.float64
    assert out["blina_start_months"].tolist()[0] == 7 / DAYS_PER_MONTH
    assert out["mrd_eoi_pct"].tolist() == [0.123, 100.0, "", None]
    # "<0.01" as a fraction is below 1 %: no value, the limit in the companion column
    assert out["mrd_eoi_below"].tolist()[3] == 1.0
    assert np.isnan(out["mrd_eoi_below"].tolist()[:3]).all()
    assert out["mrd_day15_pct"].tolist()[0] == "0.5"  # percent: untouched


def test_decimal_comma_of_the_file_used_for_conversion() -> None:
    raw = raw_frame({"efs_months": ["1,5"]})
    years = Mapping(time_unit="years")
    read = FileTable(raw, decimal_comma=True)
    assert apply_mapping(read, years)["efs_months"].tolist() == [18.0]
    assert apply_mapping(FileTable(raw), years)["efs_months"].tolist() == ["1,5"]
    assert apply_mapping(raw, years)["efs_months"].tolist() == ["1,5"]  # a plain frame
    raw.attrs["blinastudy.decimal_comma"] = True  # attrs are never read
    assert apply_mapping(raw, years)["efs_months"].tolist() == ["1,5"]


# --------------------------------------------------------------------------------------
# Codes, categories, renames
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "codes", "expected"),
    [
        (["Yes", "no", "YES "], {"yes": 1, "no": 0}, [1, 0, 1]),
        (["Y", "n"], {"y": 1, "n": 0}, [1, 0]),
        ([True, False], {"true": 1, "false": 0}, [1, 0]),
        (["TRUE", "False"], {"true": 1, "false": 0}, [1, 0]),
        (["Dead", "alive"], {"dead": 1, "alive": 0}, [1, 0]),
        (["died", "ALIVE"], {"died": 1, "alive": 0}, [1, 0]),
        (["Relapse", "none"], {"relapse": 1, "none": 0}, [1, 0]),
        (["event", "Censored"], {"event": 1, "censored": 0}, [1, 0]),
        ([2.0, 1.0], {"2": 1, "1": 0}, [1, 0]),
        (["maybe", None], {"yes": 1}, ["maybe", None]),
    ],
)
def test_event_codes(values: list[Any], codes: dict[str, int], expected: list[Any]) -> None:
    raw = raw_frame({"efs_event": values})
    out = apply_mapping(raw, Mapping(event_codes={"efs_event": codes}))
    assert out["efs_event"].tolist() == expected


def test_category_spellings_then_schema_aliases() -> None:
    raw = raw_frame({"genetic_subtype": ["other", "MLL-AF4", "n.d.", "weird"]})
    m = Mapping(categories={"genetic_subtype": {"Other": "B-other", "N.D.": None}})
    out = apply_mapping(raw, m)
    assert out["genetic_subtype"].tolist() == ["B-other", "MLL-AF4", None, "weird"]
    frame = raw_frame(
        {
            "patient_id": ["a", "b", "c", "d"],
            "arm": ["chemo"] * 4,
            "efs_months": [1] * 4,
            "efs_event": [0] * 4,
            "os_months": [1] * 4,
            "os_event": [0] * 4,
            "genetic_subtype": ["other", "MLL-AF4", "n.d.", "weird"],
        }
    )
    buf = io.BytesIO(frame.to_csv(index=False).encode())
    buf.name = "c.csv"
    with pytest.raises(CohortError) as info:
        load_cohort(buf, m)
    (problem,) = info.value.problems
    assert (problem.row, problem.column, problem.value) == (5, "genetic_subtype", "weird")


def test_code_key() -> None:
    assert code_key("No_Event") == code_key("no event") == "noevent"
    assert code_key(np.float64(1.0)) == "1"
    assert code_key(0) == "0"


def test_rename_problems() -> None:
    raw = raw_frame({"A": [1], "arm": ["x"], "B": [2]})
    with pytest.raises(CohortError) as info:
        rename_columns(raw, Mapping(columns={"Z": "patient_id", "B": "A"}, arm="chemo"))
    messages = [str(p) for p in info.value.problems]
    assert messages[0].startswith("column 'Z': the mapping names this column")
    assert "columns 'A' and 'B' would both be named 'A'" in messages[1]
    assert "also has an arm column ('arm')" in messages[2]


def test_rename_swaps_columns_of_a_frame_or_a_file_table() -> None:
    raw = raw_frame({"a": [1], "b": [2]})
    swap = Mapping(columns={"a": "b", "b": "a"})
    out = rename_columns(raw, swap)
    assert out.to_dict("list") == {"b": [1], "a": [2]}
    pd.testing.assert_frame_equal(rename_columns(FileTable(raw, [7]), swap), out)
    with pytest.raises(InputError):
        rename_columns([1], None)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------
# suggest_mapping
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Patient ID", "patient_id"),
        ("pid", "patient_id"),
        ("PatientID", "patient_id"),
        ("Study No", "patient_id"),
        ("Study No.", "patient_id"),
        ("Pat. Nr.", "patient_id"),
        ("Record ID", "patient_id"),
        ("Sex (M/F)", "sex"),
        ("Age at dx (y)", "age_years"),
        ("WBC at dx", "wbc_10e9_l"),
        ("Karyotype", "genetic_subtype"),
        ("MRD TP1 %", None),
        ("MRD", None),
        ("EFS (days)", "efs_months"),
        ("efs_time", "efs_months"),
        ("EFS, months", "efs_months"),
        ("Event-free survival (mo)", "efs_months"),
        ("Event", "efs_event"),
        ("EFS status", "efs_event"),
        ("OS time", "os_months"),
        ("Overall survival", "os_months"),
        ("Vital status", "os_event"),
        ("Death", "os_event"),
        ("MRD EOI", "mrd_eoi_pct"),
        ("MRD_d33", "mrd_eoi_pct"),
        ("MRD day 15 (%)", "mrd_day15_pct"),
        ("MRD_d15", "mrd_day15_pct"),
        ("WBC", "wbc_10e9_l"),
        ("WBC (x10^9/L)", "wbc_10e9_l"),
        ("Age", "age_years"),
        ("Age at diagnosis (years)", "age_years"),
        ("Sex/Gender", "sex"),
        ("Gender", "sex"),
        ("Risk", "risk_group"),
        ("Risk group", "risk_group"),
        ("Cytogenetics", "genetic_subtype"),
        ("CNS status", "cns_status"),
        ("Prednisone response", "prednisone_response"),
        ("HSCT", "hsct"),
        ("CRS grade", "crs_grade"),
        ("ICANS", "neurotox_grade"),
        ("Relapse site", "relapse_site"),
        ("Type of event", "event_type"),
        ("Treatment arm", "arm"),
        ("Blina start", "blina_start_months"),
        ("Number of cycles", "blina_cycles"),
        ("efs_months", "efs_months"),
        ("Hospital", None),
        ("Comment", None),
    ],
)
def test_suggest_from_single_header(header: str, expected: str | None) -> None:
    m = suggest_mapping(raw_frame({header: ["zzz"]}))
    if expected is None or header == expected:
        assert header not in m.columns
    else:
        assert m.columns == {header: expected}


def test_suggest_on_a_realistic_messy_file() -> None:
    raw = raw_frame(
        {
            "No.": ["1", "2", "3", "4"],
            "Patient ID": ["BL-01", "BL-02", "HC-07", "HC-09"],
            "Group": ["Blina", "Blina", "Chemo", "chemo"],
            "Sex/Gender": ["m", "F", "female", "M"],
            "Age, yrs": ["4.5", "12", "3.1", "16"],
            "WBC (x10^9/L)": ["12", "150.5", "3", "8"],
            "Cytogenetics": ["ETV6::RUNX1", "KMT2A-AFF1", "hyperdiploid", "other"],
            "Risk": ["IR", "HR", "IR", "LR"],
            "MRD_d33": ["0.01", "0.5", "0", "0.002"],
            "EFS (days)": ["400", "812", "1300", "95"],
            "Event": ["Relapse", "none", "None", "death"],
            "OS (days)": ["900", "812", "1300", "95"],
            "Status": ["alive", "alive", "ALIVE", "dead"],
            "Surname": ["A", "B", "C", "D"],
        }
    )
    m = suggest_mapping(raw)
    assert m.columns == {
        "Patient ID": "patient_id",
        "Group": "arm",
        "Sex/Gender": "sex",
        "Age, yrs": "age_years",
        "WBC (x10^9/L)": "wbc_10e9_l",
        "Cytogenetics": "genetic_subtype",
        "Risk": "risk_group",
        "MRD_d33": "mrd_eoi_pct",
        "EFS (days)": "efs_months",
        "Event": "efs_event",
        "OS (days)": "os_months",
    }
    assert m.time_unit == "days" and m.time_units == {}
    assert m.mrd_unit == "percent" and m.mrd_units == {}
    assert m.event_codes == {"efs_event": {"relapse": 1, "none": 0, "death": 1}}
    notes = "\n".join(m.notes)
    assert "'EFS (days)' is read as days (from its header)" in notes
    assert "'Cytogenetics' (genetic_subtype) has values that are not recognised: 'other'" in notes
    assert "(suggested, to confirm: 'other' -> B-other)" in notes
    assert "kept as extra columns: 'No.', 'Surname'" in notes
    # Changed: a column recognised only by its values is offered, not taken, and MRD
    # values all <= 1 with no unit in the header are a question, not read as percent.
    assert "'Status' may be os_event: its values look like os_event" in notes
    assert "every value of 'MRD_d33' (mrd_eoi_pct) is <= 1" in notes
    review = review_mapping(raw, m)
    assert [(o.column, o.candidates) for o in review.offers] == [("Status", ("os_event",))]
    assert [(a.kind, a.column, a.readings) for a in review.ambiguities] == [
        ("mrd_unit", "MRD_d33", ("0.01 %", "1 %"))
    ]
    buf = io.BytesIO(raw.to_csv(index=False).encode())
    buf.name = "messy.csv"
    with pytest.raises(CohortError) as info:
        load_cohort(buf, m)
    assert "required column is missing" in str(info.value)  # os_event: not confirmed
    assert "every value of 'MRD_d33'" in str(info.value)
    # The confirmations: the offered column, its suggested codes, the MRD unit, 'other'.
    fixed = m.with_column("Status", "os_event").with_mrd_unit("mrd_eoi_pct", "percent")
    for choice in review_mapping(raw, fixed).values:
        if choice.source == "unrecognised":
            assert choice.suggestion is not None, choice
            fixed = fixed.with_value(choice.target, choice.value, choice.suggestion)
    assert fixed.event_codes["os_event"] == {"alive": 0, "dead": 1}
    assert fixed.categories == {"genetic_subtype": {"other": "B-other"}}
    assert review_mapping(raw, fixed).ready
    frame = load_cohort(buf, fixed)
    assert frame["efs_months"].tolist()[0] == 400 / DAYS_PER_MONTH
    assert frame["genetic_subtype"].tolist() == [
        "ETV6-RUNX1",
        "KMT2A-r",
        "high-hyperdiploid",
        "B-other",
    ]
    assert frame["efs_event"].tolist() == [1, 0, 0, 1]
    assert frame["os_event"].tolist() == [0, 0, 0, 1]
    assert frame["mrd_eoi_pct"].tolist() == [0.01, 0.5, 0.0, 0.002]
    assert list(frame.columns[-2:]) == ["No.", "Surname"]


def test_suggest_uses_read_file_and_read_table_output() -> None:
    text = "PID;EFS_time;EFS_event;OS_time;OS_event;Arm\nA;12,5;0;12,5;0;blina\n"
    buf = io.BytesIO(text.encode())
    buf.name = "x.csv"
    read = read_file(buf)
    m = suggest_mapping(read)
    assert set(m.columns.values()) == {
        "patient_id",
        "efs_months",
        "efs_event",
        "os_months",
        "os_event",
        "arm",
    }
    assert suggest_mapping(read_table(buf)) == m
    buf.seek(0)
    assert load_cohort(buf, m)["efs_months"].tolist() == [12.5]
    assert load_cohort(read, m)["efs_months"].tolist() == [12.5]  # the file's decimal comma
    with pytest.raises(CohortError, match="'12,5'"):  # a bare frame says nothing of commas
        load_cohort(read_table(buf), m)


def test_time_unit_from_magnitude_is_noted() -> None:
    m = suggest_mapping(raw_frame({"EFS": ["30", "1200"], "OS": ["30", "1500"]}))
    assert m.time_unit == "days"
    assert any("assumed days because values reach 1200" in n for n in m.notes)
    m = suggest_mapping(raw_frame({"EFS": ["3", "12.5"], "OS": ["4", "20"]}))
    assert m.time_unit == "months"
    assert any("assumed months" in n for n in m.notes)


def test_time_units_mixed_and_inherited() -> None:
    m = suggest_mapping(
        raw_frame({"EFS (weeks)": ["3"], "OS (months)": ["4"], "blina start": ["1"]})
    )
    assert m.unit_of("efs_months") == "weeks"
    assert m.unit_of("os_months") == "months"
    assert m.unit_of("blina_start_months") == "months"
    m = suggest_mapping(raw_frame({"EFS, d": ["3"], "OS": ["4"]}))
    assert m.unit_of("os_months") == "days"
    assert any("like the other time columns" in n for n in m.notes)


def test_mrd_units() -> None:
    m = suggest_mapping(raw_frame({"MRD EOI (fraction)": ["0.001"], "MRD d15 %": ["0.1"]}))
    assert m.mrd_unit_of("mrd_eoi_pct") == "fraction"
    assert m.mrd_unit_of("mrd_day15_pct") == "percent"
    m = suggest_mapping(raw_frame({"MRD EOI": ["5", "20"]}))
    assert m.mrd_unit == "percent" and not any("<= 1" in n for n in m.notes)


def test_event_code_suggestions_are_conservative() -> None:
    m = suggest_mapping(
        raw_frame({"EFS censor": ["1", "0"], "OS status": ["1", "2"], "HSCT": ["yes", "no"]})
    )
    assert m.event_codes["efs_event"] == {"1": 0, "0": 1}
    assert any("censoring indicator" in n for n in m.notes)
    assert "os_event" not in m.event_codes
    assert any(
        "'OS status' (os_event) has values that are not a known 0/1 spelling" in n for n in m.notes
    )
    assert m.event_codes["hsct"] == {"yes": 1, "no": 0}
    m = suggest_mapping(raw_frame({"Death": ["relapse", "alive"]}))
    assert "os_event" not in m.event_codes  # relapse is not a death


def test_category_guesses_and_value_based_columns() -> None:
    m = suggest_mapping(
        raw_frame(
            {
                "CNS": ["1", "2", "3"],
                "Fusion gene": ["TEL-AML1", "E2A-PBX1", "MLL-AF4"],
                "Blinatumomab": ["yes", "no", "yes"],
                "Risk": ["SR", "MR", "HR"],
            }
        )
    )
    assert m.categories["cns_status"] == {"1": "CNS1", "2": "CNS2", "3": "CNS3"}
    assert m.columns["Fusion gene"] == "genetic_subtype"
    assert m.columns["Blinatumomab"] == "arm"
    assert m.categories["arm"] == {"yes": "blinatumomab", "no": "chemotherapy"}
    assert m.categories["risk_group"] == {"mr": "IR"}
    assert any("'SR'" in n for n in m.notes)


def test_suggest_age_not_in_years_and_missing_required() -> None:
    m = suggest_mapping(raw_frame({"Age (months)": ["50"]}))
    assert "Age (months)" not in m.columns
    assert any("not in years" in n for n in m.notes)
    assert any("no column found for required patient_id" in n for n in m.notes)


def test_suggest_two_candidates_for_one_column() -> None:
    m = suggest_mapping(raw_frame({"Patient ID": ["a"], "ID": ["b"]}))
    assert list(m.columns) == ["Patient ID"]
    assert any("'ID' also looks like patient_id" in n for n in m.notes)


def test_suggest_result_round_trips_and_rejects_non_frames() -> None:
    m = suggest_mapping(raw_frame({"Patient ID": ["a"], "EFS (days)": ["5"]}))
    assert Mapping.from_json(m.to_json()) == m
    with pytest.raises(InputError):
        suggest_mapping("not a frame")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------
# Dates, status and the review of what is left to the user
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"dates": {"onset": "X"}}, "'onset' is not a date role"),
        ({"dates": {"death": "X"}}, "need the date of diagnosis"),
        ({"status": "S"}, "need the date of diagnosis"),
        ({"dates": {"diagnosis": "X", "death": "X"}}, "mapped to two dates"),
        ({"dates": {"diagnosis": "X"}, "columns": {"X": "patient_id"}}, "and to the date role"),
        ({"dates": {"diagnosis": "X"}, "status": "X"}, "also mapped elsewhere"),
        (
            {"dates": {"diagnosis": "X", "death": "Y"}, "columns": {"OS": "os_months"}},
            "os_months is derived from the dates",
        ),
        (
            {"dates": {"diagnosis": "X", "birth": "B"}, "columns": {"Age": "age_years"}},
            "age_years is derived from the dates",
        ),
        ({"date_formats": {"X": "yyyy/dd/mm"}}, "must be one of dd/mm/yyyy, mm/dd/yyyy"),
        ({"cutoff": "31/12/2024"}, "cutoff must be a date written yyyy-mm-dd"),
        ({"cutoff": 20241231}, "cutoff must be a date"),
        ({"status_codes": {"x": "zombie"}}, "status_codes['x'] must be one of"),
        ({"status_codes": {"Dead": "dead", "dead ": "alive"}}, "maps 'dead ' two ways"),
        ({"mrd_limits": {"wbc_10e9_l": 0.01}}, "not an MRD column"),
        ({"mrd_limits": {"mrd_eoi_pct": 0}}, "above 0 and at most 100"),
        ({"mrd_limits": {"mrd_eoi_pct": True}}, "must be a number"),
    ],
)
def test_invalid_date_mappings(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(InputError) as info:
        Mapping(**kwargs)
    assert fragment in str(info.value)


DATED = Mapping(
    columns={"Study No.": "patient_id"},
    dates={"diagnosis": "Dx", "relapse": "Rel", "last_contact": "Last", "birth": "DOB"},
    date_formats={"Dx": "dd/mm/yyyy"},
    cutoff=dt.date(2024, 6, 30),
    status="Status",
    status_codes={"Alive in CR1": "event-free", "unknown": None},
    mrd_units={"mrd_eoi_pct": "percent"},
    mrd_limits={"mrd_eoi_pct": 0.01},
)


def test_dated_mapping_round_trips_through_json() -> None:
    text = DATED.to_json()
    assert Mapping.from_json(text) == DATED
    data = json.loads(text)
    assert data["cutoff"] == "2024-06-30"
    assert data["status_codes"] == {"aliveincr1": "event-free", "unknown": None}
    assert Mapping(cutoff=dt.datetime(2024, 6, 30)).cutoff == dt.date(2024, 6, 30)
    assert DATED.derives_outcomes and not Mapping(dates={"diagnosis": "Dx"}).derives_outcomes


def test_with_methods_record_answers_and_return_new_mappings() -> None:
    m = Mapping(columns={"A": "patient_id"})
    m2 = m.with_column("B", "patient_id")
    assert m.columns == {"A": "patient_id"} and m2.columns == {"B": "patient_id"}
    m3 = m2.with_column("Dx", "date:diagnosis").with_column("Dx2", "date:diagnosis")
    assert m3.dates == {"diagnosis": "Dx2"}
    m4 = m3.with_column("Dx2", "sex")
    assert m4.dates == {} and m4.columns == {"B": "patient_id", "Dx2": "sex"}
    assert m4.with_column("Dx2", None).columns == {"B": "patient_id"}
    assert m4.target_of("Dx2") == "sex"
    with pytest.raises(InputError, match="is not a target"):
        m.with_column("A", "age")
    v = m.with_value("os_event", "Verstorben", 1).with_value("sex", "Junge", "M")
    assert v.event_codes == {"os_event": {"verstorben": 1}}
    assert v.categories == {"sex": {"junge": "M"}}
    assert v.with_value("sex", "n/k", AS_MISSING).categories["sex"]["n/k"] is None
    assert v.with_value("os_event", "Verstorben", None).event_codes == {"os_event": {}}
    assert v.with_value("os_event", "lebt", "0").event_codes["os_event"]["lebt"] == 0
    with pytest.raises(InputError, match="must be 0 or 1"):
        v.with_value("os_event", "lebt", "yes")
    with pytest.raises(InputError, match="has no values to set"):
        m.with_value("efs_months", "x", 1)
    with pytest.raises(InputError, match="not one of M, F"):
        m.with_value("sex", "x", "boy")
    assert m.with_cutoff(dt.date(2020, 1, 1)).with_cutoff(None).cutoff is None
    assert m.with_date_format("Dx", "mm/dd/yyyy").with_date_format("Dx", None).date_formats == {}
    assert m.with_mrd_unit("mrd_eoi_pct", "fraction").mrd_unit_of("mrd_eoi_pct") == "fraction"
    assert (
        m.with_mrd_limit("mrd_eoi_pct", 0.001).with_mrd_limit("mrd_eoi_pct", None).mrd_limits == {}
    )
    assert "status" in column_targets() and "date:last_contact" in column_targets()


@pytest.mark.parametrize(
    ("header", "role"),
    [
        ("Date of diagnosis", "diagnosis"),
        ("Diagnosis date", "diagnosis"),
        ("dx_date", "diagnosis"),
        ("Date of blinatumomab start", "blina_start"),
        ("Date of first blinatumomab dose", "blina_start"),
        ("Date of relapse", "relapse"),
        ("Date of death", "death"),
        ("dateOfDeath", "death"),
        ("Date of last follow-up", "last_contact"),
        ("Date of last contact (dd/mm/yyyy)", "last_contact"),
        ("Date of second malignancy", "second_malignancy"),
        ("Date of induction failure", "induction_failure"),
    ],
)
def test_date_headers_are_recognised(header: str, role: DateRole) -> None:
    data = {header: ["2020-01-01"]}
    if role != "diagnosis":
        data["Diagnosis date"] = ["2019-01-01"]  # dates need a diagnosis date
    m = suggest_mapping(raw_frame(data))
    assert m.dates[role] == header


def test_date_headers_do_not_become_time_columns() -> None:
    # "Date of blinatumomab start" resembles "blinatumomab start" (a time column)
    raw = raw_frame({"Date of blinatumomab start": ["2019-03-01"], "Blina start": ["3.2"]})
    m = suggest_mapping(raw)
    assert m.columns == {"Blina start": "blina_start_months"}
    assert m.dates == {}  # no diagnosis date: offered, not taken
    review = review_mapping(raw, m, needs_arm=False)
    assert [(o.column, o.candidates) for o in review.offers] == [
        ("Date of blinatumomab start", ("date:blina_start",))
    ]
    assert "no date of diagnosis was found" in review.offers[0].reason


def test_outcome_dates_beside_outcome_times_are_offered_not_taken() -> None:
    raw = raw_frame(
        {
            "EFS (months)": ["3"],
            "OS (months)": ["4"],
            "Date of diagnosis": ["2019-01-01"],
            "Date of death": ["2019-05-01"],
        }
    )
    m = suggest_mapping(raw)
    assert m.columns == {"EFS (months)": "efs_months", "OS (months)": "os_months"}
    assert m.dates == {"diagnosis": "Date of diagnosis"}  # gives diagnosis_year only
    offer = review_mapping(raw, m, needs_arm=False).offers
    assert [(o.column, o.candidates) for o in offer] == [("Date of death", ("date:death",))]


def test_status_column_and_unknown_status_values() -> None:
    raw = raw_frame(
        {
            "Patient": ["a", "b", "c", "d"],
            "Date of diagnosis": ["2019-01-01"] * 4,
            "Date of last FU": ["2021-01-01"] * 4,
            "Outcome": ["CCR", "Dead", "LTFU", "alive in CR2"],
        }
    )
    m = suggest_mapping(raw)
    assert m.status == "Outcome"
    assert m.status_codes == {"ccr": "event-free", "dead": "dead", "aliveincr2": "relapse"}
    assert any("status values that are not recognised: 'LTFU'" in n for n in m.notes)
    review = review_mapping(raw, m, needs_arm=False)
    status = {v.value: v for v in review.values if v.target == "status"}
    assert status["CCR"].current == "event-free" and status["CCR"].source == "mapping"
    assert status["LTFU"].source == "unrecognised" and status["LTFU"].suggestion == "alive"
    assert status["LTFU"].allowed == STATUS_CODES
    assert not review.ready


def test_value_choices_cover_category_and_event_columns() -> None:
    raw = raw_frame(
        {
            "Sex": ["m", "F", "Boy", "boy", None],
            "hsct": ["1", "0", "yes", "1", "0"],
        }
    )
    m = Mapping(columns={"Sex": "sex"}, categories={"sex": {"m": "M"}})
    choices = review_mapping(raw, m).values
    assert [(c.target, c.value, c.count, c.current, c.source, c.suggestion) for c in choices] == [
        ("sex", "m", 1, "M", "mapping", None),
        ("sex", "F", 1, "F", "canonical", None),
        ("sex", "Boy", 2, None, "unrecognised", "M"),
        ("hsct", "1", 2, "1", "canonical", None),
        ("hsct", "0", 2, "0", "canonical", None),
        ("hsct", "yes", 1, None, "unrecognised", "1"),
    ]


def test_review_lists_missing_requirements_and_checks_the_file() -> None:
    raw = raw_frame({"Dx": ["2019-01-01"], "Status": ["dead"]})
    m = Mapping(dates={"diagnosis": "Dx"}, status="Status")
    review = review_mapping(raw, m)
    assert review.missing == (
        "no column is mapped to patient_id",
        "no column is mapped to arm",
        "no date of last contact is mapped: patients without an event cannot be censored",
    )
    assert "no column is mapped to arm" not in review_mapping(raw, m, needs_arm=False).missing
    with pytest.raises(CohortError) as info:
        review_mapping(raw, Mapping(dates={"diagnosis": "Date of diagnosis"}))
    assert "takes the diagnosis date from this column but the file has no such column" in str(
        info.value
    )


def test_value_based_guesses_are_offers_not_assignments() -> None:
    raw = raw_frame({"Gruppe": ["TEL-AML1", "E2A-PBX1", "MLL-AF4"], "x": ["1", "2", "3"]})
    m = suggest_mapping(raw)
    assert m.columns == {}
    review = review_mapping(raw, m)
    assert [(o.column, o.candidates) for o in review.offers] == [("Gruppe", ("genetic_subtype",))]
    assert review_mapping(raw, m.with_column("Gruppe", "genetic_subtype")).offers == ()

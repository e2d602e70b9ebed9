"""Exports neutralise formula-looking text and leave numbers alone."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blinastudy.core.errors import InputError
from blinastudy.data.cohort import load_cohort
from blinastudy.report.export import (
    FORMULA_PREFIXES,
    neutralise_formulas,
    to_csv_bytes,
    to_excel_bytes,
)

DANGEROUS = ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("http://x")']


def sample() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "patient_id": ["=1+1", "P2", "-P3"],
            "=evil": ["@SUM(A1)", "fine", None],
            "delta": [-5.0, 0.25, np.nan],
            "count": pd.array([-1, None, 3], dtype="Int64"),
            "n": [-7, 0, 7],
            "flag": [True, False, True],
            "cat": pd.Categorical(["+x", "y", "+x"]),
            "when": pd.to_datetime(pd.Series(["2020-01-02", None, "2021-03-04"])),
        }
    )


def read_xlsx(data: bytes) -> list[list[Any]]:
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    assert ws is not None
    return [[c.value for c in row] for row in ws.iter_rows()]


def test_neutralise_prefixes_text_and_names_only() -> None:
    frame = sample()
    out = neutralise_formulas(frame)
    assert list(out.columns) == [
        "patient_id",
        "'=evil",
        "delta",
        "count",
        "n",
        "flag",
        "cat",
        "when",
    ]
    assert out["patient_id"].tolist() == ["'=1+1", "P2", "'-P3"]
    assert out["'=evil"].tolist() == ["'@SUM(A1)", "fine", None]
    assert out["cat"].tolist() == ["'+x", "y", "'+x"]
    pd.testing.assert_series_equal(out["delta"], frame["delta"])
    pd.testing.assert_series_equal(out["count"], frame["count"])
    pd.testing.assert_series_equal(out["n"], frame["n"])
    pd.testing.assert_series_equal(out["when"], frame["when"])
    # the input is untouched
    assert frame["patient_id"].tolist()[0] == "=1+1"
    assert list(frame.columns)[1] == "=evil"


@pytest.mark.parametrize("text", DANGEROUS)
def test_every_prefix(text: str) -> None:
    out = neutralise_formulas(pd.DataFrame({"a": [text]}))
    assert out["a"].tolist() == ["'" + text]


def test_safe_text_unchanged_and_string_dtype() -> None:
    frame = pd.DataFrame({"a": pd.array(["x=1", " =1", "'=1", "=1"], dtype="string")})
    out = neutralise_formulas(frame)
    assert out["a"].tolist() == ["x=1", " =1", "'=1", "'=1"]
    assert isinstance(out["a"].dtype, pd.StringDtype)
    with pytest.raises(InputError):
        neutralise_formulas([1])  # type: ignore[arg-type]


def test_csv_export() -> None:
    data = to_csv_bytes(sample())
    rows = list(csv.reader(io.StringIO(data.decode())))
    assert rows[0] == ["patient_id", "'=evil", "delta", "count", "n", "flag", "cat", "when"]
    assert rows[1][:5] == ["'=1+1", "'@SUM(A1)", "-5.0", "-1", "-7"]
    assert rows[3][2] == "" and rows[2][3] == ""
    for row in rows:
        for cell in (row[0], row[1], row[6]):  # the text columns
            assert not cell.startswith(FORMULA_PREFIXES), cell
    assert to_csv_bytes(sample(), encoding="utf-8-sig").startswith(b"\xef\xbb\xbf")
    with pytest.raises(InputError):
        to_csv_bytes(pd.DataFrame({"a": ["é"]}), encoding="ascii")


def test_csv_numbers_round_trip_exactly() -> None:
    values = [0.1, -1e-300, 1 / 3, -123456789.123456789, 2.0**60]
    data = to_csv_bytes(pd.DataFrame({"x": values}))
    back = pd.read_csv(io.BytesIO(data), float_precision="round_trip")
    assert back["x"].tolist() == values


def test_excel_export_types() -> None:
    rows = read_xlsx(to_excel_bytes(sample()))
    assert rows[0] == ["patient_id", "'=evil", "delta", "count", "n", "flag", "cat", "when"]
    assert rows[1][:6] == ["'=1+1", "'@SUM(A1)", -5, -1, -7, True]
    assert rows[1][6] == "'+x"
    assert rows[1][7] == dt.datetime(2020, 1, 2)
    assert rows[2][3] is None and rows[2][7] is None and rows[3][2] is None
    ws = openpyxl.load_workbook(io.BytesIO(to_excel_bytes(sample()))).active
    assert ws is not None
    assert ws["C2"].data_type == "n" and ws["E2"].data_type == "n"
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    assert ws.title == "cohort"


def test_excel_errors() -> None:
    with pytest.raises(InputError, match="control characters"):
        to_excel_bytes(pd.DataFrame({"a": ["bell\x07"]}))
    with pytest.raises(InputError, match="time zones"):
        to_excel_bytes(pd.DataFrame({"t": pd.to_datetime(["2020-01-01"]).tz_localize("UTC")}))
    with pytest.raises(InputError, match="32,767"):
        to_excel_bytes(pd.DataFrame({"a": ["x" * 40_000]}))
    with pytest.raises(InputError, match="sheet_name"):
        to_excel_bytes(pd.DataFrame({"a": [1]}), sheet_name="")
    with pytest.raises(InputError, match="sheet_name"):
        to_excel_bytes(pd.DataFrame({"a": [1]}), sheet_name="a/b")
    assert read_xlsx(to_excel_bytes(pd.DataFrame({3: [1]}), sheet_name="x"))[0] == ["3"]


def test_exported_cohort_loads_back_with_prefixes_visible() -> None:
    text = (
        "patient_id,arm,efs_months,efs_event,os_months,os_event,note\n"
        "=1+1,chemo,-0,0,1.5,0,@x\nP2,blinatumomab,2,1,3,1,ok\n"
    )
    buf = io.BytesIO(text.encode())
    buf.name = "c.csv"
    cohort = load_cohort(buf)
    for data, name in ((to_csv_bytes(cohort), "e.csv"), (to_excel_bytes(cohort), "e.xlsx")):
        up = io.BytesIO(data)
        up.name = name
        back = load_cohort(up)
        assert back["patient_id"].tolist() == ["'=1+1", "P2"]
        assert back["note"].tolist() == ["'@x", "ok"]
        assert back["efs_months"].tolist() == cohort["efs_months"].tolist()


CELLS = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=False),
    st.integers(-(2**40), 2**40),
    st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc"]), max_size=10),
    st.sampled_from(DANGEROUS),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(CELLS, min_size=1, max_size=20))
def test_no_exported_text_starts_a_formula(cells: list[Any]) -> None:
    frame = pd.DataFrame({"c": pd.Series(cells, dtype=object)})
    out = neutralise_formulas(frame)
    for before, after in zip(cells, out["c"].tolist(), strict=True):
        if isinstance(before, str):
            assert not after.startswith(FORMULA_PREFIXES)
            assert after in (before, "'" + before)
        elif before is None:
            assert after is None
        else:
            assert after == before or (after != after and before != before)
    for row in read_xlsx(to_excel_bytes(frame)):
        for value in row:
            if isinstance(value, str):
                assert not value.startswith(FORMULA_PREFIXES)

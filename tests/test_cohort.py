"""Loading cohort files: formats, encodings, every error kind, limits, fuzzing, helpers."""

from __future__ import annotations

import datetime as dt
import io
import re
import struct
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blinastudy.core.errors import InputError
from blinastudy.data.cohort import (
    CohortError,
    FileTable,
    Limits,
    combine_cohorts,
    combine_files,
    content_hash,
    drop_columns,
    identifier_columns,
    identifier_reasons,
    load_cohort,
    load_file,
    read_file,
    read_table,
)
from blinastudy.data.mapping import Mapping
from blinastudy.data.schema import REQUIRED_COLUMNS

HEADER = "patient_id,arm,efs_months,efs_event,os_months,os_event"
ROWS = [
    "P1,blinatumomab,12,1,20,0",
    "P2,chemotherapy,30.5,0,30.5,0",
    "P3,blinatumomab,7.25,1,7.25,1",
]
GOOD_CSV = "\n".join([HEADER, *ROWS]) + "\n"


class Upload(io.BytesIO):
    """What a web framework hands over for an uploaded file."""

    def __init__(self, data: bytes, name: str) -> None:
        super().__init__(data)
        self.name = name
        self.size = len(data)


class ReadOnly:
    """An upload-like object with only ``name`` and ``read``."""

    def __init__(self, data: bytes, name: str) -> None:
        self.name = name
        self._data = data

    def read(self, n: int = -1) -> bytes:
        return self._data if n < 0 else self._data[:n]


def csv_bytes(*rows: str, header: str = HEADER, encoding: str = "utf-8") -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode(encoding)


def load(data: bytes, name: str = "cohort.csv", **kwargs: Any) -> pd.DataFrame:
    return load_cohort(Upload(data, name), **kwargs)


def load_table(data: bytes, name: str = "cohort.csv", **kwargs: Any) -> FileTable:
    return load_file(Upload(data, name), **kwargs)


def problems_of(data: bytes, name: str = "cohort.csv", **kwargs: Any) -> list[str]:
    with pytest.raises(CohortError) as info:
        load(data, name, **kwargs)
    return [str(p) for p in info.value.problems]


def frame_data() -> pd.DataFrame:
    return pd.read_csv(io.StringIO(GOOD_CSV), dtype={"patient_id": str})


def xlsx_bytes(rows: list[list[Any]], *, sheets: dict[str, list[list[Any]]] | None = None) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "cohort"
    for row in rows:
        ws.append(row)
    for title, more in (sheets or {}).items():
        extra = wb.create_sheet(title)
        for row in more:
            extra.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def rewrite_zip(data: bytes, member: str, edit: Any) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == member:
                content = edit(content)
            dst.writestr(info.filename, content)
    return out.getvalue()


def table_rows() -> list[list[Any]]:
    return [HEADER.split(","), *[[_num(c) for c in r.split(",")] for r in ROWS]]


def _num(cell: str) -> Any:
    try:
        return float(cell) if "." in cell else int(cell)
    except ValueError:
        return cell


# --------------------------------------------------------------------------------------
# Formats and encodings
# --------------------------------------------------------------------------------------


def test_plain_csv_canonical_dtypes_and_file_rows() -> None:
    frame = load(GOOD_CSV.encode())
    assert list(frame.columns) == list(REQUIRED_COLUMNS)
    assert frame["patient_id"].tolist() == ["P1", "P2", "P3"]
    assert frame["efs_months"].dtype == np.float64
    assert frame["efs_event"].dtype == np.int64
    assert frame["os_event"].tolist() == [0, 0, 1]
    assert isinstance(frame.index, pd.RangeIndex)
    assert frame.attrs == {}  # what the file says of its rows is in the FileTable
    table = load_table(GOOD_CSV.encode())
    pd.testing.assert_frame_equal(table.frame, frame)
    assert table.rows.tolist() == [2, 3, 4]
    assert table.source == "cohort.csv"
    assert "comma-separated" in table.notes[0]


@pytest.mark.parametrize(
    ("encoding", "label"),
    [
        ("utf-8", "UTF-8"),
        ("utf-8-sig", "UTF-8 with byte-order mark"),
        ("utf-16", "UTF-16"),
        ("utf-16-le", "UTF-16"),
        ("utf-16-be", "UTF-16"),
        ("utf-32", "UTF-32"),
        ("cp1252", "Windows-1252"),
        ("latin-1", "Windows-1252"),
    ],
)
def test_encodings(encoding: str, label: str) -> None:
    rows = ["Pé–1,blinatumomab,12,1,20,0" if encoding != "latin-1" else "Pé1,chemo,1,0,1,0"]
    if encoding == "latin-1":
        rows[0] = "Pé\xa31,chemo,1,0,1,0"
    data = csv_bytes(*rows, encoding=encoding)
    table = load_table(data)
    expected = rows[0].split(",")[0]
    assert table.frame["patient_id"].tolist() == [expected]
    assert label in table.notes[0]


def test_latin1_fallback_for_undefined_cp1252_bytes() -> None:
    data = csv_bytes("P\x81,chemo,1,0,1,0", encoding="latin-1")
    table = load_table(data)
    assert table.frame["patient_id"].tolist() == ["P\x81"]
    assert "Latin-1" in table.notes[0]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters_are_sniffed(delimiter: str) -> None:
    text = GOOD_CSV.replace(",", delimiter)
    frame = load(text.encode(), "cohort.txt")
    assert frame["efs_months"].tolist() == [12.0, 30.5, 7.25]


def test_tsv_with_commas_inside_cells() -> None:
    text = (HEADER + ",comment\n").replace(",", "\t") + "P1\tchemo\t1\t0\t1\t0\ta, b, c\n"
    frame = load(text.encode(), "cohort.tsv")
    assert frame["comment"].tolist() == ["a, b, c"]


def test_semicolon_file_with_decimal_commas_from_european_spreadsheet() -> None:
    text = (
        HEADER.replace(",", ";")
        + ";mrd_eoi_pct;weight\r\n"
        + "P1;blinatumomab;12,5;1;20;0;0,01;21,5\r\n"
        + "P2;chemotherapy;3;0;3,25;0;;18\r\n"
    )
    frame = load(text.encode("cp1252"))
    assert frame["efs_months"].tolist() == [12.5, 3.0]
    assert frame["os_months"].tolist() == [20.0, 3.25]
    assert frame["mrd_eoi_pct"].tolist()[0] == 0.01
    assert frame["weight"].tolist() == [21.5, 18.0]


def test_decimal_comma_not_accepted_in_comma_files() -> None:
    data = csv_bytes('P1,chemo,"1,5",0,2,0')
    (problem,) = problems_of(data)
    assert "row 2" in problem and "'efs_months'" in problem and "'1,5'" in problem


def test_thousands_point_in_decimal_comma_column_is_ambiguous() -> None:
    head = "patient_id;arm;efs_months;efs_event;os_months;os_event\n"
    # A point in a column without decimal commas is a plain decimal point.
    frame = load((head + "P1;chemo;1,5;0;12.5;0\nP2;chemo;2,5;0;3;0\n").encode())
    assert frame["os_months"].tolist() == [12.5, 3.0]
    # 1.234 next to decimal commas could be 1234: reported, not guessed.
    problems = problems_of((head + "P1;chemo;1,5;0;9;0\nP2;chemo;1.234;0;3000;0\n").encode())
    assert len(problems) == 1
    assert problems[0].startswith("row 3, column 'efs_months', value '1.234'")
    assert "decimal commas" in problems[0]


def test_excel_sep_directive_line() -> None:
    text = "sep=;\n" + GOOD_CSV.replace(",", ";").replace("P2;chemotherapy;30.5;0", "P2;x;30.5;0")
    problems = problems_of(text.encode())
    assert problems == [
        "row 4, column 'arm', value 'x': unknown value; allowed: blinatumomab, chemotherapy"
    ]


def test_messy_real_file_spaces_blank_lines_na_and_quotes() -> None:
    text = (
        " patient_id , arm ,efs_months,efs_event,os_months,os_event, sex ,note\r\n"
        '  P1 , Blina , 12 ,1, 20 ,0, NA ,"has, comma"\r\n'
        "\r\n"
        'P2,chemotherapy,30.5,0,30.5,0,N/A,"two\nlines"\r\n'
        "P3,blinatumomab,7.25,1,7.25,1,,n/a\r\n"
        ",,,,,,,\r\n"
        "\r\n\r\n\r\n"
    )
    frame = load(text.encode())
    assert frame["patient_id"].tolist() == ["P1", "P2", "P3"]
    assert frame["arm"].tolist() == ["blinatumomab", "chemotherapy", "blinatumomab"]
    assert frame["sex"].tolist() == [None, None, None]
    assert frame["note"].tolist() == ["has, comma", "two\nlines", None]
    assert load_table(text.encode()).rows.tolist() == [2, 4, 6]


def test_row_numbers_count_blank_lines_and_leading_blank_lines() -> None:
    text = "\n\n" + HEADER + "\nP1,chemo,1,0,1,0\n\nP2,chemo,-1,0,1,0\n"
    (problem,) = problems_of(text.encode())
    assert problem.startswith("row 6, column 'efs_months', value '-1'")


def test_sources_path_str_upload_readonly_and_bytes(tmp_path: Path) -> None:
    path = tmp_path / "cohort.csv"
    path.write_bytes(GOOD_CSV.encode())
    expected = load(GOOD_CSV.encode())
    for source in (path, str(path), ReadOnly(GOOD_CSV.encode(), "x/cohort.csv"), GOOD_CSV.encode()):
        frame = load_cohort(source)
        pd.testing.assert_frame_equal(frame, expected)
    assert load_file(ReadOnly(GOOD_CSV.encode(), "dir/c.csv")).source == "c.csv"


def test_missing_file_and_folder_and_wrong_type(tmp_path: Path) -> None:
    with pytest.raises(CohortError, match=r"nope\.csv: file not found"):
        load_cohort(tmp_path / "nope.csv")
    with pytest.raises(CohortError, match="not a usable file path"):
        load_cohort(str(tmp_path / "a\x00.csv"))
    with pytest.raises(CohortError, match="is a folder"):
        load_cohort(tmp_path)
    with pytest.raises(CohortError, match="cannot read a cohort from a int"):
        load_cohort(3)
    with pytest.raises(CohortError, match="mapping must be a Mapping"):
        load(GOOD_CSV.encode(), mapping={"a": "b"})


def test_xlsx_basic_and_same_content_hash_as_csv() -> None:
    frame = load(xlsx_bytes(table_rows()), "cohort.xlsx")
    assert load_table(xlsx_bytes(table_rows()), "cohort.xlsx").rows.tolist() == [2, 3, 4]
    pd.testing.assert_frame_equal(frame, load(GOOD_CSV.encode()), check_like=False)
    assert content_hash(frame) == content_hash(load(GOOD_CSV.encode()))


def test_xlsx_header_below_title_rows_and_sheet_numbering() -> None:
    rows = [[None], [None], *table_rows()]
    rows[4][2] = -5
    data = xlsx_bytes(rows)
    with pytest.raises(CohortError) as info:
        load(data, "c.xlsx")
    (problem,) = info.value.problems
    assert (problem.row, problem.column, problem.value) == (5, "efs_months", "-5")


def test_xlsx_dates_in_number_column_are_reported_and_kept_in_extras() -> None:
    rows = table_rows()
    rows[0].append("diagnosed")
    for r in rows[1:]:
        r.append(dt.datetime(2020, 1, 2))
    rows[2][2] = dt.datetime(2021, 5, 1)
    with pytest.raises(CohortError) as info:
        load(xlsx_bytes(rows), "c.xlsx")
    (problem,) = info.value.problems
    assert (problem.row, problem.column) == (3, "efs_months")
    assert "date" in problem.message and problem.value is not None and "2021-05-01" in problem.value
    rows[2][2] = 30.5
    frame = load(xlsx_bytes(rows), "c.xlsx")
    assert frame["diagnosed"].dtype.kind == "M"


def test_xlsx_formulas_never_evaluated() -> None:
    rows = table_rows()
    rows[0].append("note")
    rows[1].append("=1+1")
    rows[2].append("@SUM(A1)")
    rows[3].append("-2+3")
    wb_bytes = xlsx_bytes(rows)
    # openpyxl stored "=1+1" as a formula without a saved result: reported, not computed.
    with pytest.raises(CohortError) as info:
        load(wb_bytes, "c.xlsx")
    (problem,) = info.value.problems
    assert (problem.row, problem.column) == (2, "note")
    assert "formula with no saved result" in problem.message
    # With a saved result the saved value is used.
    saved = rewrite_zip(
        wb_bytes,
        "xl/worksheets/sheet1.xml",
        lambda xml: xml.replace(b"<f>1+1</f><v></v>", b"<f>1+1</f><v>2</v>"),
    )
    frame = load(saved, "c.xlsx")
    assert frame["note"].tolist()[1:] == ["@SUM(A1)", "-2+3"]
    assert frame["note"].tolist()[0] in (2, 2.0, "2")


def test_xlsx_text_cells_starting_with_equals_are_kept() -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    for row in table_rows():
        ws.append(row)
    cell = ws.cell(2, 1)
    cell.value = "=HYPERLINK(1)"
    cell.data_type = "s"
    out = io.BytesIO()
    wb.save(out)
    frame = load(out.getvalue(), "c.xlsx")
    assert frame["patient_id"].tolist()[0] == "=HYPERLINK(1)"


def test_xlsx_sheet_choice() -> None:
    data = xlsx_bytes([["nothing"], ["here"]], sheets={"data": table_rows()})
    frame = load(data, "c.xlsx", sheet="data")
    assert len(frame) == 3
    assert len(load(data, "c.xlsx", sheet=1)) == 3
    with pytest.raises(CohortError, match="no sheet 'nope'"):
        load(data, "c.xlsx", sheet="nope")
    with pytest.raises(CohortError, match="no sheet 5"):
        load(data, "c.xlsx", sheet=5)
    raw = read_file(Upload(data, "c.xlsx"))
    assert "the first of 2" in " ".join(raw.notes)


def test_xlsx_empty_sheet_and_header_only() -> None:
    with pytest.raises(CohortError, match="is empty"):
        load(xlsx_bytes([]), "c.xlsx")
    with pytest.raises(CohortError, match="header but no data rows"):
        load(xlsx_bytes([HEADER.split(",")]), "c.xlsx")


def test_parquet_roundtrip_and_row_numbers() -> None:
    buf = io.BytesIO()
    frame_data().to_parquet(buf)
    frame = load(buf.getvalue(), "c.parquet")
    assert load_table(buf.getvalue(), "c.parquet").rows.tolist() == [1, 2, 3]
    assert content_hash(frame) == content_hash(load(GOOD_CSV.encode()))
    bad = frame_data()
    bad.loc[1, "efs_event"] = 3
    buf = io.BytesIO()
    bad.to_parquet(buf)
    with pytest.raises(CohortError) as info:
        load(buf.getvalue(), "c.parquet")
    assert [(p.row, p.column, p.value) for p in info.value.problems] == [(2, "efs_event", "3")]


def test_parquet_nested_and_damaged() -> None:
    table = pa.table({"patient_id": ["a"], "x": [[1, 2]]})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    with pytest.raises(CohortError, match="nested"):
        load(buf.getvalue(), "c.parquet")
    with pytest.raises(CohortError, match="Parquet"):
        load(buf.getvalue()[:-20] + b"PAR1", "c.parquet")
    with pytest.raises(CohortError, match="not a real Parquet file"):
        load(GOOD_CSV.encode(), "c.parquet")


def test_format_from_content_when_extension_is_unknown() -> None:
    buf = io.BytesIO()
    frame_data().to_parquet(buf)
    assert len(load(buf.getvalue(), "export")) == 3
    assert len(load(xlsx_bytes(table_rows()), "export.bin")) == 3
    assert len(load(GOOD_CSV.encode(), "export")) == 3


# --------------------------------------------------------------------------------------
# Every error kind names column, row and value
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "column", "value", "fragment"),
    [
        ("P9,placebo,1,0,1,0", "arm", "placebo", "unknown value"),
        ("P9,chemo,500,0,500,0", None, None, None),
        ("P9,chemo,-2,0,1,0", "efs_months", "-2", "must be >= 0"),
        ("P9,chemo,abc,0,1,0", "efs_months", "abc", "must be a number"),
        ("P1,chemo,1,0,1,0", "patient_id", "P1", "duplicate patient_id (first at row 2)"),
        ("P9,chemo,5,1,4,0", "os_months", "4", "os_months is before efs_months (5)"),
        ("P9,chemo,5,yes,5,0", "efs_event", "yes", "must be 0 or 1"),
        ("P9,chemo,5,1,5,2", "os_event", "2", "must be 0 or 1"),
        ("P9,chemo,5,0,5,1", "os_event", "1", "death is an EFS event"),
        (",chemo,5,0,5,0", "patient_id", "", "required value is missing"),
    ],
)
def test_error_kinds(row: str, column: str | None, value: str | None, fragment: str | None) -> None:
    data = csv_bytes(*ROWS, row)
    if column is None:
        assert len(load(data)) == 4
        return
    with pytest.raises(CohortError) as info:
        load(data)
    err = info.value
    (problem,) = err.problems
    assert (problem.row, problem.column, problem.value) == (5, column, value)
    assert fragment is not None and fragment in problem.message
    text = str(err)
    assert text.startswith("cohort.csv has 1 problem:")
    assert "row 5" in text and repr(column) in text
    if value:
        assert repr(value) in text


def test_blinatumomab_started_after_efs_event() -> None:
    data = csv_bytes(
        "P1,blinatumomab,12,1,20,0,13",
        "P2,chemotherapy,3,0,3,0,",
        header=HEADER + ",blina_start_months",
    )
    (problem,) = problems_of(data)
    assert problem.startswith("row 2, column 'blina_start_months', value '13'")
    assert "after the EFS event" in problem


def test_event_type_rules_and_missing_column() -> None:
    data = csv_bytes(
        "P1,chemo,12,0,20,0,relapse",
        header=HEADER.replace(",os_event", "") + ",event_type",
    )
    problems = problems_of(data.replace(b",0,relapse", b",relapse"))
    assert "column 'os_event': required column is missing" in problems[0]


def test_all_problems_collected_at_once() -> None:
    data = csv_bytes(
        "P1,x,1,0,1,0", "P1,chemo,-1,0,1,0", "P3,chemo,1,0,0,0", "P4,chemo,1,5,1,0", header=HEADER
    )
    problems = problems_of(data)
    assert len(problems) == 5
    rows = [re.match(r"row (\d+)", p).group(1) for p in problems]  # type: ignore[union-attr]
    assert rows == ["2", "3", "3", "4", "5"]


def test_error_message_caps_at_fifty() -> None:
    rows = [f"P{i},chemo,-1,0,1,0" for i in range(120)]
    with pytest.raises(CohortError) as info:
        load(csv_bytes(*rows))
    # 100 listed for the column, plus one line with its true total
    assert len(info.value.problems) == 101
    assert any("120 problems in this column in all" in p.message for p in info.value.problems)
    assert str(info.value).endswith("- and 51 more")


def test_row_longer_than_header() -> None:
    (problem,) = problems_of(csv_bytes("P1,chemo,1,0,1,0,surprise", "P2,chemo,1,0,1,0,,"))
    assert problem.startswith("row 2, value 'surprise': the row has 7 cells but the header has 6")


def test_repeated_header_names() -> None:
    with pytest.raises(CohortError, match="repeated column names") as info:
        load(csv_bytes("P1,chemo,1,0,1,0,a,b", header=HEADER + ",x,x"))
    assert info.value.problems[0].column == "x"


def test_unnamed_columns_named_or_dropped_when_empty() -> None:
    frame = load(csv_bytes("P1,chemo,1,0,1,0,v,", header=HEADER + ",,"))
    assert list(frame.columns)[-1] == "column_7"
    assert frame["column_7"].tolist() == ["v"]


def test_pandas_index_column_is_kept() -> None:
    text = frame_data().to_csv()
    frame = load(text.encode())
    assert frame["column_1"].tolist() == [0.0, 1.0, 2.0]


def test_missing_required_columns_hint_at_similar_names() -> None:
    data = csv_bytes(
        "P1,chemo,1,0,1,0", header="Patient ID,arm,efs_months,efs_event,os_months,os_event"
    )
    (problem,) = problems_of(data)
    assert "column 'patient_id': required column is missing" in problem
    assert "'Patient ID' looks like it" in problem


def test_mapping_applied_and_original_value_shown() -> None:
    data = csv_bytes(
        "P1,chemo,365.25,0,730.5,alive",
        "P2,chemo,-30,0,10,alive",
        header=HEADER.replace("efs_months", "EFS").replace("os_months", "OS"),
    )
    mapping = Mapping(
        columns={"EFS": "efs_months", "OS": "os_months"},
        time_unit="days",
        event_codes={"os_event": {"alive": 0, "dead": 1}},
    )
    with pytest.raises(CohortError) as info:
        load(data, mapping=mapping)
    (problem,) = info.value.problems
    assert (problem.row, problem.column, problem.value) == (3, "efs_months", "-30")
    frame = load(data.replace(b"-30,0,10", b"30,0,40"), mapping=mapping)
    assert frame["efs_months"].tolist()[0] == 12.0
    assert frame["os_months"].tolist()[0] == 24.0


def test_mapping_naming_absent_column() -> None:
    with pytest.raises(CohortError) as info:
        load(GOOD_CSV.encode(), mapping=Mapping(columns={"Nope": "sex"}))
    assert info.value.problems[0].column == "Nope"


def test_constant_arm_for_a_file_without_arm() -> None:
    text = GOOD_CSV.replace(",arm", "").replace(",blinatumomab", "").replace(",chemotherapy", "")
    frame = load(text.encode(), mapping=Mapping(arm="chemotherapy"))
    assert frame["arm"].tolist() == ["chemotherapy"] * 3


# --------------------------------------------------------------------------------------
# Formula-looking text is kept verbatim; nothing is dropped
# --------------------------------------------------------------------------------------


def test_csv_injection_cells_kept_verbatim() -> None:
    cells = ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)"]
    rows = [f"{c if '|' not in c else chr(34) + c + chr(34)},chemo,1,0,1,0,{c}" for c in cells]
    rows = [r.replace("+cmd|' /C calc'!A0,chemo", "\"+cmd|' /C calc'!A0\",chemo") for r in rows]
    text = "\n".join([HEADER + ",note", *rows]) + "\n"
    frame = load_cohort(Upload(text.encode(), "c.csv"))
    assert frame["patient_id"].tolist() == cells
    assert frame["note"].tolist()[0] == "=1+1"
    assert frame["note"].tolist()[2] == "-2+3"
    assert frame["note"].tolist()[3] == "@SUM(A1:A9)"


def test_every_row_is_in_output() -> None:
    rows = [f"P{i},chemo,{i},0,{i},0" for i in range(500)]
    frame = load(csv_bytes(*rows))
    assert len(frame) == 500
    assert frame["patient_id"].tolist() == [f"P{i}" for i in range(500)]


def test_extra_columns_types() -> None:
    header = HEADER + ",code,score,mixed,big,flag"
    data = csv_bytes(
        "P1,chemo,1,0,1,0,007,1.5,a,12345678901234567,yes",
        "P2,chemo,1,0,1,0,010,-2,3,1,no",
    )
    frame = load(data.replace(HEADER.encode(), header.encode(), 1))
    assert frame["code"].tolist() == ["007", "010"]
    assert frame["score"].tolist() == [1.5, -2.0]
    assert frame["mixed"].tolist() == ["a", "3"]
    assert frame["big"].tolist() == ["12345678901234567", "1"]
    assert frame["flag"].tolist() == ["yes", "no"]


# --------------------------------------------------------------------------------------
# Fake, empty and binary files
# --------------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"", "c.csv", "c.csv is empty"),
        (b"  \n\r\n\t \n", "c.csv", "c.csv is empty"),
        (b"\xef\xbb\xbf", "c.csv", "c.csv is empty"),
        (HEADER.encode() + b"\n\n", "c.csv", "header but no data rows"),
        (PNG, "c.csv", "not a text table: it is a PNG image"),
        (b"%PDF-1.4 stuff", "c.csv", "PDF"),
        (b"\x1f\x8b\x08\x00", "c.csv", "gzip"),
        (b"PK\x03\x04" + bytes(60), "c.csv", "zip archive"),
        (b"PK\x03\x04" + bytes(60), "c.xlsx", "damaged zip"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(60), "c.xlsx", "old-style .xls"),
        (GOOD_CSV.encode(), "c.xlsx", "not a real .xlsx workbook (not a zip archive)"),
        (PNG, "c.xlsx", "PNG image"),
        (GOOD_CSV.encode(), "c.xls", "old-style Excel .xls"),
        (GOOD_CSV.encode(), "c.json", "JSON"),
        (bytes(range(256)) * 8, "c.csv", "binary data"),
        (b"a,b\x00c\n1,2\n", "c.csv", "binary data"),
        (b"\xff\xfe\x00\xd8", "c.csv", "not valid UTF-16"),
    ],
)
def test_fake_files_get_one_line_reason(data: bytes, name: str, message: str) -> None:
    with pytest.raises(CohortError) as info:
        load(data, name)
    text = str(info.value)
    assert message in text
    assert "\n" not in text
    assert "Traceback" not in text and "Error" not in text


def test_zip_that_is_not_a_workbook() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(CohortError, match="zip archive but not an Excel workbook"):
        load(out.getvalue(), "c.xlsx")


def test_workbook_with_broken_sheet_xml() -> None:
    data = rewrite_zip(xlsx_bytes(table_rows()), "xl/worksheets/sheet1.xml", lambda x: x[:200])
    with pytest.raises(CohortError, match="could not be read as an Excel workbook") as info:
        load(data, "c.xlsx")
    assert "\n" not in str(info.value)


# --------------------------------------------------------------------------------------
# Limits
# --------------------------------------------------------------------------------------


def test_byte_limit_for_paths_and_uploads(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes(GOOD_CSV.encode())
    small = Limits(max_bytes=50)
    with pytest.raises(CohortError, match="larger than the 50 bytes limit"):
        load_cohort(path, limits=small)
    with pytest.raises(CohortError, match="larger than"):
        load_cohort(Upload(GOOD_CSV.encode(), "c.csv"), limits=small)
    with pytest.raises(CohortError, match="larger than"):
        load_cohort(ReadOnly(GOOD_CSV.encode(), "c.csv"), limits=small)
    assert Limits().max_bytes == 50 * 1024 * 1024


def test_row_and_column_limits() -> None:
    rows = [f"P{i},chemo,1,0,1,0" for i in range(11)]
    with pytest.raises(CohortError, match="more than 10 data rows"):
        load(csv_bytes(*rows), limits=Limits(max_rows=10))
    assert len(load(csv_bytes(*rows[:10]), limits=Limits(max_rows=10))) == 10
    wide = HEADER + "".join(f",x{i}" for i in range(10))
    with pytest.raises(CohortError, match="16 columns; the limit is 15"):
        load(csv_bytes("P1,chemo,1,0,1,0" + ",1" * 10, header=wide), limits=Limits(max_columns=15))
    with pytest.raises(CohortError, match="limit"):
        load(xlsx_bytes(table_rows()), "c.xlsx", limits=Limits(max_rows=2))
    with pytest.raises(CohortError, match="limit"):
        load(xlsx_bytes(table_rows()), "c.xlsx", limits=Limits(max_columns=5))
    buf = io.BytesIO()
    frame_data().to_parquet(buf)
    with pytest.raises(CohortError, match="limit"):
        load(buf.getvalue(), "c.parquet", limits=Limits(max_rows=2))
    with pytest.raises(CohortError, match="limit"):
        load(buf.getvalue(), "c.parquet", limits=Limits(max_columns=5))


def test_bad_limits() -> None:
    with pytest.raises(InputError):
        Limits(max_rows=0)
    with pytest.raises(CohortError, match="limits must be a Limits"):
        load(GOOD_CSV.encode(), limits=5)


def test_zip_bomb_refused_from_declared_sizes() -> None:
    # A real, highly compressible sheet: 3 MB of XML packs into a few kB.
    filler = b"<!--" + b" " * (3 * 1024 * 1024) + b"-->"
    data = rewrite_zip(
        xlsx_bytes(table_rows()),
        "xl/worksheets/sheet1.xml",
        lambda xml: xml.replace(b"<sheetData>", filler + b"<sheetData>"),
    )
    assert len(data) < 100_000
    assert len(load(data, "c.xlsx")) == 3
    with pytest.raises(
        CohortError, match=re.escape("would unpack to 3.0 MB, over the 1.0 MB limit")
    ):
        load(data, "c.xlsx", limits=Limits(max_unpacked_bytes=1024 * 1024))


def test_zip_bomb_forged_size_refused_with_default_limits() -> None:
    data = bytearray(xlsx_bytes(table_rows()))
    start = data.index(b"PK\x01\x02")  # first central-directory entry
    struct.pack_into("<I", data, start + 24, 4_000_000_000)  # declared uncompressed size
    with pytest.raises(CohortError, match=r"would unpack to .* refusing to open it"):
        load(bytes(data), "c.xlsx")


def test_many_zip_members_refused() -> None:
    data = xlsx_bytes(table_rows())
    with pytest.raises(CohortError, match="files inside"):
        load(data, "c.xlsx", limits=Limits(max_archive_members=3))


# --------------------------------------------------------------------------------------
# read_table
# --------------------------------------------------------------------------------------


def test_read_table_raw_strings() -> None:
    raw = read_table(Upload(b"A;B\n 1,5 ; x \n;NA\n", "c.csv"))
    assert raw.to_dict("list") == {"A": ["1,5", None], "B": ["x", None]}
    table = read_file(Upload(b"A;B\n 1,5 ; x \n;NA\n", "c.csv"))
    pd.testing.assert_frame_equal(table.frame, raw)
    assert table.rows.tolist() == [2, 3] and table.decimal_comma
    with pytest.raises(CohortError):
        read_table(Upload(b"a,b\n1,2,3\n", "c.csv"))


# --------------------------------------------------------------------------------------
# content_hash
# --------------------------------------------------------------------------------------


def test_content_hash_properties() -> None:
    frame = load(GOOD_CSV.encode())
    h = content_hash(frame)
    assert re.fullmatch(r"[0-9a-f]{64}", h)
    assert content_hash(frame.copy()) == h
    assert content_hash(frame.set_index(pd.Index([5, 6, 7]))) == h
    assert content_hash(frame.iloc[[1, 0, 2]]) != h
    assert content_hash(frame[list(reversed(frame.columns))]) != h
    changed = frame.copy()
    changed.loc[0, "efs_months"] = 12.000000001
    assert content_hash(changed) != h
    as_text = frame.copy()
    as_text["efs_months"] = as_text["efs_months"].astype(str)
    assert content_hash(as_text) != h
    zeros = pd.DataFrame({"x": [0.0, np.nan]})
    assert content_hash(zeros) == content_hash(pd.DataFrame({"x": [-0.0, float("nan")]}))
    assert content_hash(pd.DataFrame({"a": ["ab", "c"]})) != content_hash(
        pd.DataFrame({"a": ["a", "bc"]})
    )
    assert content_hash(frame.rename(columns={"arm": "Arm"})) != h
    nullable = pd.DataFrame(
        {
            "n": pd.array([1, None], dtype="Int64"),
            "t": pd.to_datetime(pd.Series(["2020-01-01", None])),
        }
    )
    assert content_hash(nullable) == content_hash(nullable.copy())
    with pytest.raises(InputError):
        content_hash([1])  # type: ignore[arg-type]


def test_content_hash_known_value_is_stable() -> None:
    frame = pd.DataFrame({"a": [1.5, None], "b": ["x", None], "c": [1, 2]})
    assert content_hash(frame) == content_hash(pd.DataFrame(frame.to_dict("list")))


# --------------------------------------------------------------------------------------
# combine_cohorts
# --------------------------------------------------------------------------------------

NO_ARM = "patient_id,efs_months,efs_event,os_months,os_event"


def test_combine_assigns_arms_per_file(tmp_path: Path) -> None:
    treated = tmp_path / "treated.csv"
    pool = tmp_path / "pool.xlsx"
    treated.write_text(NO_ARM + ",hsct\nT1,5,0,5,0,1\nT2,6,1,9,0,0\n")
    pool.write_bytes(xlsx_bytes([[*NO_ARM.split(","), "centre"], ["C1", 7, 0, 7, 0, "A"]]))
    both = combine_cohorts(treated, pool)
    table = combine_files(treated, pool)
    pd.testing.assert_frame_equal(table.frame, both)
    assert both["patient_id"].tolist() == ["T1", "T2", "C1"]
    assert both["arm"].tolist() == ["blinatumomab", "blinatumomab", "chemotherapy"]
    assert str(both["hsct"].dtype) == "Int64"
    assert both["hsct"].isna().tolist() == [False, False, True]
    assert both["centre"].isna().tolist() == [True, True, False]
    assert table.sources == ("treated.csv", "treated.csv", "pool.xlsx")
    assert table.rows.tolist() == [2, 3, 2]
    assert table.source == "treated.csv + pool.xlsx"
    assert both["efs_event"].dtype == np.int64


def test_combine_patient_in_both_files() -> None:
    treated = pd.DataFrame(
        {
            "patient_id": ["A", "B"],
            "efs_months": [1, 2],
            "efs_event": [0, 0],
            "os_months": [1, 2],
            "os_event": [0, 0],
        }
    )
    pool = treated.copy()
    pool["patient_id"] = ["C", "A"]
    with pytest.raises(CohortError) as info:
        combine_cohorts(treated, FileTable(pool, source="pool.csv"))
    (problem,) = info.value.problems
    assert (problem.source, problem.row, problem.column, problem.value) == (
        "pool.csv",
        3,
        "patient_id",
        "A",
    )
    assert "also in treated (row 2)" in problem.message


def test_combine_keeps_existing_arm_and_requires_both_arms() -> None:
    base = {"efs_months": [1.0], "efs_event": [0], "os_months": [1.0], "os_event": [0]}
    treated = pd.DataFrame({"patient_id": ["A"], "arm": ["chemotherapy"], **base})
    pool = pd.DataFrame({"patient_id": ["B"], **base})
    with pytest.raises(CohortError, match="no blinatumomab patients"):
        combine_cohorts(treated, pool)
    both = combine_cohorts(treated, pool, require_both_arms=False)
    assert both["arm"].tolist() == ["chemotherapy", "chemotherapy"]
    swapped = combine_cohorts(pool, treated.assign(arm="blina"), arms=("chemo", "blinatumomab"))
    assert swapped["arm"].tolist() == ["chemotherapy", "blinatumomab"]


def test_combine_reports_problems_of_each_file_with_its_name() -> None:
    base = {"efs_event": [0], "os_months": [1.0], "os_event": [0]}
    treated = pd.DataFrame({"patient_id": ["A"], "efs_months": [-1.0], **base})
    pool = pd.DataFrame({"patient_id": ["B"], "efs_months": ["x"], **base})
    with pytest.raises(CohortError) as info:
        combine_cohorts(treated, pool)
    assert [(p.source, p.column) for p in info.value.problems] == [
        ("treated", "efs_months"),
        ("pool", "efs_months"),
    ]
    assert "treated, row 2, column 'efs_months'" in str(info.value)


def test_combine_with_mappings_and_bad_arms() -> None:
    treated = pd.DataFrame(
        {"ID": ["A"], "EFS": [30.0], "efs_event": [0], "os_months": [1.0], "os_event": [0]}
    )
    pool = pd.DataFrame(
        {"ID": ["B"], "EFS": [60.0], "efs_event": [0], "os_months": [2.0], "os_event": [0]}
    )
    m = Mapping(
        columns={"ID": "patient_id", "EFS": "efs_months"}, time_units={"efs_months": "days"}
    )
    both = combine_cohorts(treated, pool, mappings=(m, m))
    assert both["efs_months"].round(6).tolist() == [0.985626, 1.971253]
    with pytest.raises(CohortError, match="not one of"):
        combine_cohorts(treated, pool, arms=("x", "chemotherapy"))
    with pytest.raises(CohortError, match="two different arms"):
        combine_cohorts(treated, pool, arms=("chemo", "chemotherapy"))


# --------------------------------------------------------------------------------------
# Direct identifiers
# --------------------------------------------------------------------------------------


def test_identifier_columns_by_name() -> None:
    frame = pd.DataFrame(
        {
            "patient_id": ["S-001", "S-002", "S-003"],
            "age_years": [3.0, 4.0, 5.0],
            "Patient Name": ["x", "y", "z"],
            "Surname": ["x", "y", "z"],
            "MRN": ["1", "2", "3"],
            "Medical record number": ["1", "2", "3"],
            "DOB": ["a", "b", "c"],
            "dateOfBirth": ["a", "b", "c"],
            "Home address": ["a", "b", "c"],
            "Phone": ["a", "b", "c"],
            "e-mail": ["a", "b", "c"],
            "risk": ["LR", "IR", "HR"],
            "centre": ["A", "A", "B"],
        }
    )
    flagged = identifier_columns(frame)
    assert flagged == [
        "Patient Name",
        "Surname",
        "MRN",
        "Medical record number",
        "DOB",
        "dateOfBirth",
        "Home address",
        "Phone",
        "e-mail",
    ]


def test_identifier_columns_by_value() -> None:
    frame = pd.DataFrame(
        {
            "patient_id": ["Ivan Petrov", "Anna Smirnova", "John Smith", "Mary Jones"],
            "contact": ["a@b.org", "c@d.org", "e@f.ru", "g@h.com"],
            "tel_or_what": ["+7 495 123-45-67", "8 (916) 555-12-34", "+44 20 7946 0000", None],
            "seen": ["2015-03-02", "02/03/2014", "2016-11-30", "01.02.2013"],
            "when": pd.to_datetime(pd.Series(["2015-03-02", "2014-01-01", None, "2013-01-01"])),
            "who": ["SMITH, John", "Doe, Jane", "Иван Петров", "Ли Мин"],
            "risk": ["Low Risk", "Low Risk", "High Risk", "High Risk"],
            "wbc": [1.0, 2.0, 3.0, 4.0],
            "comment": ["relapse at d100", "ok", "CNS2 at diagnosis", "ok"],
        }
    )
    reasons = identifier_reasons(frame)
    assert set(reasons) == {"patient_id", "contact", "tel_or_what", "seen", "when", "who"}
    assert "personal names" in reasons["patient_id"]
    assert "e-mail" in reasons["contact"]
    assert "phone" in reasons["tel_or_what"]
    assert "dates" in reasons["seen"] and "dates" in reasons["when"]


def test_no_false_identifiers_on_a_clean_cohort() -> None:
    frame = load(GOOD_CSV.encode())
    frame["centre_code"] = ["A1", "B2", "C3"]
    frame["mrd_text"] = ["0.01", "1.25", "0.5"]
    assert identifier_columns(frame) == []


def test_drop_columns() -> None:
    frame = load(GOOD_CSV.encode())
    frame["Name"] = ["a", "b", "c"]
    out = drop_columns(frame, identifier_columns(frame))
    assert "Name" not in out.columns and "Name" in frame.columns
    with pytest.raises(InputError, match="cannot be dropped"):
        drop_columns(frame, ["patient_id"])
    with pytest.raises(InputError, match="no column"):
        drop_columns(frame, "nope")


# --------------------------------------------------------------------------------------
# Fuzzing: the outcome is always a DataFrame or a CohortError
# --------------------------------------------------------------------------------------

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def outcome(data: bytes, name: str, **kwargs: Any) -> pd.DataFrame | CohortError:
    try:
        return load_cohort(Upload(data, name), **kwargs)
    except CohortError as exc:
        assert str(exc)
        return exc


@FUZZ
@given(
    data=st.binary(max_size=2000),
    name=st.sampled_from(["f.csv", "f.xlsx", "f.parquet", "f", "f.tsv"]),
)
def test_fuzz_random_bytes(data: bytes, name: str) -> None:
    outcome(data, name)


@FUZZ
@given(
    text=st.text(max_size=600),
    encoding=st.sampled_from(["utf-8", "utf-16", "utf-8-sig"]),
)
def test_fuzz_random_text(text: str, encoding: str) -> None:
    outcome(text.encode(encoding, "surrogatepass"), "f.csv")


@FUZZ
@given(data=st.binary(max_size=300))
def test_fuzz_random_bytes_after_valid_header(data: bytes) -> None:
    result = outcome(HEADER.encode() + b"\n" + data, "f.csv")
    if isinstance(result, pd.DataFrame):
        assert list(result.columns[:6]) == list(REQUIRED_COLUMNS)


CELL = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "NA",
            "N/A",
            "0",
            "1",
            "2",
            "-1",
            "1.5",
            "1,5",
            "1e3",
            "inf",
            "nan",
            "yes",
            "blinatumomab",
            "chemo",
            "x",
            "=1+1",
            "@a",
            "+1",
            '"',
            '""',
            "\t",
            ";",
            "P1",
            "P2",
        ]
    ),
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=8),
)


@FUZZ
@given(
    rows=st.lists(st.lists(CELL, min_size=0, max_size=8), min_size=1, max_size=8),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
)
def test_fuzz_random_cells(rows: list[list[str]], delimiter: str) -> None:
    import csv

    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(HEADER.split(","))
    writer.writerows(rows)
    result = outcome(out.getvalue().encode(), "f.csv")
    if isinstance(result, pd.DataFrame):
        nonblank = [r for r in rows if any(c.strip() for c in r)]
        assert len(result) == len(nonblank)
        assert result["efs_months"].dtype == np.float64
        assert set(result["arm"]) <= {"blinatumomab", "chemotherapy"}


@FUZZ
@given(
    edits=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 5), CELL), min_size=0, max_size=4),
    delimiter=st.sampled_from([",", ";", "\t"]),
)
def test_fuzz_valid_file_with_a_few_edited_cells(
    edits: list[tuple[int, int, str]], delimiter: str
) -> None:
    import csv

    rows = [r.split(",") for r in ROWS]
    for i, j, cell in edits:
        rows[i][j] = cell
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(HEADER.split(","))
    writer.writerows(rows)
    result = outcome(out.getvalue().encode(), "f.csv")
    if not edits:
        assert isinstance(result, pd.DataFrame)
    if isinstance(result, pd.DataFrame):
        assert len(result) == 3
        assert result["patient_id"].notna().all()
    else:
        # rows are file lines; a quoted cell holding a line break spans two
        assert all(p.row is None or 2 <= p.row <= 10 for p in result.problems)


@settings(max_examples=60, deadline=None)
@given(
    cells=st.lists(
        st.one_of(
            st.none(),
            st.integers(-5, 5),
            st.floats(allow_nan=True, allow_infinity=True),
            st.booleans(),
            st.text(
                alphabet=st.characters(codec="utf-8", blacklist_categories=["Cc", "Cs"]), max_size=6
            ),
            st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2100, 1, 1)),
        ),
        min_size=6,
        max_size=18,
    )
)
def test_fuzz_random_xlsx_cells(cells: list[Any]) -> None:
    rows = [HEADER.split(",")]
    for i in range(0, len(cells), 6):
        rows.append(cells[i : i + 6])
    try:
        data = xlsx_bytes(rows)
    except Exception:  # openpyxl refuses some strings; not what is tested here
        return
    outcome(data, "f.xlsx")


def test_overlong_cell_is_one_line_reason() -> None:
    data = csv_bytes("P1,chemo,1,0,1,0," + '"' + "x" * 200_000 + '"', header=HEADER + ",note")
    with pytest.raises(CohortError, match="not a readable table") as info:
        load(data)
    assert "\n" not in str(info.value)


def test_numeric_headers_from_excel() -> None:
    rows = table_rows()
    rows[0].append(2020)
    for r in rows[1:]:
        r.append(1)
    frame = load(xlsx_bytes(rows), "c.xlsx")
    assert frame["2020"].tolist() == [1.0, 1.0, 1.0]


def test_xlsx_formula_with_saved_empty_text_is_a_blank_cell() -> None:
    rows = table_rows()
    rows[0].append("note")
    rows[1].append('=IF(A2="","x","")')
    data = rewrite_zip(
        xlsx_bytes(rows),
        "xl/worksheets/sheet1.xml",
        lambda xml: xml.replace(b'<c r="G2"><f>', b'<c r="G2" t="str"><f>'),
    )
    frame = load(data, "c.xlsx")
    assert frame["note"].isna().all()


def test_xlsx_row_of_only_uncomputed_formulas_is_reported() -> None:
    rows = [*table_rows(), [None, None, "=1+2"]]
    with pytest.raises(CohortError) as info:
        load(xlsx_bytes(rows), "c.xlsx")
    (problem,) = info.value.problems
    assert (problem.row, problem.column) == (5, "efs_months")


def test_mixed_utf8_and_windows_1252_is_refused_naming_row_and_column() -> None:
    head = "patient_id,arm,efs_months,efs_event,os_months,os_event,note\n"
    utf8 = (head + "P1,blinatumomab,5,0,5,0,café\n").encode("utf-8")
    cp1252 = "P2,chemotherapy,4,1,6,1,naïve €\n".encode("cp1252")
    with pytest.raises(CohortError) as info:
        load_cohort(utf8 + cp1252)
    message = str(info.value)
    assert "mixes UTF-8 with another encoding" in message
    assert "row 3 (note)" in message and "row 2" not in message
    # a file in one single-byte encoding is still read, without mojibake
    single = (head + "P1,blinatumomab,5,0,5,0,café €\n").encode("cp1252")
    assert load_cohort(single)["note"].tolist() == ["café €"]

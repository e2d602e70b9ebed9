"""File row numbers travel in a FileTable beside the frame, never in ``DataFrame.attrs``:
they stay right through filters, sorts and stacking, and no module reads ``attrs``."""

from __future__ import annotations

import ast
import copy
import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from blinastudy.core.errors import InputError
from blinastudy.data.cohort import (
    CohortError,
    FileTable,
    combine_files,
    load_cohort,
    load_file,
    read_file,
    read_table,
)
from blinastudy.data.mapping import Mapping, review_mapping, suggest_mapping

ROOT = Path(__file__).resolve().parents[1]

HEADER = "patient_id,arm,efs_months,efs_event,os_months,os_event"


def upload(text: str, name: str) -> io.BytesIO:
    handle = io.BytesIO(text.encode())
    handle.name = name
    return handle


def problem_rows(exc: pytest.ExceptionInfo[CohortError]) -> list[tuple[str | None, int | None]]:
    return [(p.source, p.row) for p in exc.value.problems]


# --------------------------------------------------------------------------------------
# The object
# --------------------------------------------------------------------------------------


def test_rows_are_checked_and_kept_read_only() -> None:
    frame = pd.DataFrame({"x": [1, 2, 3]})
    table = FileTable(frame, (4, 6, 7), source="c.csv", notes=["read as text"])
    assert table.rows.tolist() == [4, 6, 7] and table.rows.dtype == np.int64
    with pytest.raises(ValueError, match="read-only"):
        table.rows[0] = 9
    assert table.frame is frame and len(table) == 3 and table.notes == ("read as text",)
    assert repr(table) == "FileTable(source='c.csv', rows 4..7, 3 rows x 1 column)"
    cases: list[tuple[Any, str]] = [
        ([2, 3], "rows has 2 entries but the table has 3 rows"),
        ([2.0, 3.0, 4.0], "whole numbers"),
        (["2", "3", "4"], "whole numbers"),
        ([0, 1, 2], "1 or more"),
    ]
    for rows, message in cases:
        with pytest.raises(InputError, match=message):
            FileTable(frame, rows)
    with pytest.raises(InputError, match="sources has 1 entries"):
        FileTable(frame, sources=["a.csv"])
    with pytest.raises(InputError, match="holds a pandas DataFrame, got list"):
        FileTable([1, 2])  # type: ignore[arg-type]
    assert FileTable(pd.DataFrame()).rows.tolist() == []


def test_copies_and_pickles_keep_the_rows_read_only() -> None:
    table = FileTable(pd.DataFrame({"x": [1, 2]}), [3, 5], source="c.csv")
    for other in (pickle.loads(pickle.dumps(table)), copy.deepcopy(table), copy.copy(table)):
        assert other.rows.tolist() == [3, 5] and not other.rows.flags.writeable
        assert other.source == "c.csv" and other.frame.equals(table.frame)


def test_take_and_with_frame() -> None:
    table = FileTable(
        pd.DataFrame({"x": [10, 20, 30]}, index=[7, 8, 9]),
        [2, 4, 5],
        source="a.csv + b.csv",
        sources=["a.csv", "a.csv", "b.csv"],
    )
    kept = table.take(np.array([False, True, True]))
    assert kept.frame.index.tolist() == [0, 1] and kept.frame["x"].tolist() == [20, 30]
    assert kept.rows.tolist() == [4, 5] and kept.sources == ("a.csv", "b.csv")
    assert [kept.source_of(i) for i in range(2)] == ["a.csv", "b.csv"]
    assert table.take([]).rows.tolist() == []
    for bad in ([3], [-1], [0.5], np.array([True])):
        with pytest.raises(InputError):
            table.take(bad)
    renamed = table.with_frame(pd.DataFrame({"y": [1, 2, 3]}))
    assert renamed.rows is table.rows and renamed.sources == table.sources
    with pytest.raises(InputError, match="3 rows"):
        table.with_frame(pd.DataFrame({"y": [1]}))


# --------------------------------------------------------------------------------------
# Row numbers through operations that lose or misalign DataFrame.attrs
# --------------------------------------------------------------------------------------

GAPPY = "\n".join(
    [
        HEADER,
        "P1,blinatumomab,12,1,20,0",
        "",
        "P2,chemotherapy,30.5,0,30.5,0",
        "P3,blinatumomab,7.25,1,7.25,1",
        "",
        "P4,chemotherapy,5,0,-5,0",
    ]
)


def test_a_filter_and_reset_keeps_each_row_its_file_row() -> None:
    read = read_file(upload(GAPPY, "cohort.csv"))
    assert read.rows.tolist() == [2, 4, 5, 7]
    kept = read.take(read.frame["patient_id"] != "P2")  # a filter, then 0, 1, 2
    with pytest.raises(CohortError) as info:
        load_file(kept)
    assert problem_rows(info) == [(None, 7)]
    assert "row 7, column 'os_months', value '-5'" in str(info.value)
    assert info.value.headline == "cohort.csv has 1 problem"


def test_review_and_suggestions_name_the_file_rows() -> None:
    text = "ID;Dx;Last\nP1;2019-01-02;2020-01-02\n\nP2;03/04/2019;2020-01-02\n"
    read = read_file(upload(text, "dates.csv"))
    mapping = suggest_mapping(read).with_column("Dx", "date:diagnosis")
    mapping = mapping.with_column("Last", "date:last_contact")
    (ambiguity,) = [a for a in review_mapping(read, mapping).ambiguities if a.column == "Dx"]
    assert ambiguity.example_row == 4  # the blank line counts
    (plain,) = [a for a in review_mapping(read_table(upload(text, "d.csv")), mapping).ambiguities]
    assert plain.example_row == 3  # a bare frame: rows counted from 2


def test_a_concatenation_of_two_reads_has_no_stale_file_rows() -> None:
    # two files of the same name read alike: pandas keeps the first one's metadata on
    # the concatenation; the loader must not take it for the rows of the stacked frame
    first = read_table(upload(GAPPY.replace("-5", "5"), "cohort.csv"))
    second = read_table(upload(GAPPY.replace("P", "Q"), "cohort.csv"))
    both = pd.concat([first, second], ignore_index=True)
    with pytest.raises(CohortError) as info:
        load_cohort(both)
    assert problem_rows(info) == [(None, 9)]  # the eighth data row of a bare frame


def test_a_combined_cohort_names_the_file_and_row_of_each_problem() -> None:
    treated = upload(GAPPY.replace("-5", "5"), "treated.csv")
    pool = upload(GAPPY.replace("P", "Q").replace("Q3", "P3"), "pool.csv")
    with pytest.raises(CohortError) as info:
        combine_files(read_file(treated), read_file(pool))
    assert problem_rows(info) == [("pool.csv", 7), ("pool.csv", 5)]
    negative, duplicate = (str(p) for p in info.value.problems)
    assert "value 'P3': this patient is also in treated.csv (row 5)" in duplicate
    assert "row 7, column 'os_months', value '-5'" in negative
    pool = upload(GAPPY.replace("P", "Q").replace("-5", "5"), "pool.csv")
    table = combine_files(read_file(treated), pool)
    assert table.rows.tolist() == [2, 4, 5, 7] * 2
    assert table.sources == ("treated.csv",) * 4 + ("pool.csv",) * 4
    assert table.frame.index.equals(pd.RangeIndex(8))


def test_combined_rows_reach_the_checks_of_the_stacked_cohort() -> None:
    # a column given as text in one file and a number in the other is re-checked on the
    # stacked cohort: the problem still names the file and its row
    treated = upload(HEADER + ",hsct\nP1,blinatumomab,1,0,1,0,1\n", "treated.csv")
    pool = upload(HEADER + ",hsct\n\nC1,chemotherapy,1,0,1,0,0\n", "pool.csv")
    table = combine_files(treated, pool)
    assert table.rows.tolist() == [2, 3] and str(table.frame["hsct"].dtype) == "Int64"


def test_a_loaded_file_with_a_mapping_keeps_the_file_rows() -> None:
    text = GAPPY.replace("patient_id", "Study No.")
    table = load_file(
        upload(text.replace("-5", "5"), "c.csv"), Mapping(columns={"Study No.": "patient_id"})
    )
    assert table.rows.tolist() == [2, 4, 5, 7] and table.source == "c.csv"
    assert table.frame.attrs == {}


# --------------------------------------------------------------------------------------
# No module reads DataFrame.attrs for this metadata
# --------------------------------------------------------------------------------------


def _modules() -> list[Path]:
    folders = [ROOT / "blinastudy" / "data", ROOT / "blinastudy" / "analysis", ROOT / "pages"]
    return [*sorted(p for f in folders for p in f.rglob("*.py")), ROOT / "blinastudy" / "cli.py"]


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_reads_dataframe_attrs(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    reads = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr == "attrs"
        and isinstance(node.ctx, ast.Load)
    ]
    assert reads == [], f"{path.relative_to(ROOT)} reads .attrs on line(s) {reads}"


def test_the_attrs_check_sees_a_read() -> None:
    tree = ast.parse("rows = frame.attrs.get('rows')\nframe.attrs['x'] = 1\n")
    found = [n for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == "attrs"]
    assert [isinstance(n.ctx, ast.Load) for n in found] == [True, True]

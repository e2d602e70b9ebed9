"""A Parquet file is budgeted by the text it decodes to, not by what it declares.

A small file can hold one long string dictionary-encoded on every row: its declared
sizes are small, its decoded text is gigabytes. The reader measures the text through
the dictionary indices before any cell is materialised, refuses a cell longer than
:data:`~blinastudy.data.cohort.MAX_CELL_CHARS` (naming the row and column) and a file whose
text exceeds the limit a CSV file has (``Limits.max_bytes``), and stays within a small
memory bound doing so (measured in a fresh process with ``getrusage``).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from blinastudy.data.cohort import MAX_CELL_CHARS, Limits, read_table
from blinastudy.data.schema import CohortError
from tests._apptest import ROOT


def parquet_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def repeated(n: int, text: str) -> pa.Table:
    """``n`` patients whose ``note`` is one string, dictionary-encoded."""
    note = pa.DictionaryArray.from_arrays(pa.array([0] * n, pa.int32()), pa.array([text]))
    return pa.table({"patient_id": pa.array([f"P{i}" for i in range(n)]), "note": note})


def read(data: bytes, limits: Limits | None = None) -> object:
    handle = io.BytesIO(data)
    handle.name = "c.parquet"
    return read_table(handle) if limits is None else read_table(handle, limits=limits)


def test_a_long_cell_is_refused_with_its_row_and_column() -> None:
    notes = ["short", "x" * MAX_CELL_CHARS, "é" * (MAX_CELL_CHARS + 1), "short"]
    data = parquet_bytes(pa.table({"id": ["a", "b", "c", "d"], "comment": notes}))
    with pytest.raises(CohortError) as err:
        read(data)
    assert str(err.value) == (
        "c.parquet, row 3, column 'comment': a cell of 1,001 characters; cohort cells are "
        "short values (at most 1,000 characters)"
    )
    # exactly the limit is a cell like any other
    assert len(read(parquet_bytes(pa.table({"comment": notes[:2]})))) == 2  # type: ignore[arg-type]


def test_a_long_dictionary_value_is_refused_on_the_row_that_uses_it() -> None:
    indices = pa.array([0, 0, 1, 0], pa.int32())
    note = pa.DictionaryArray.from_arrays(indices, pa.array(["ok", "y" * 5_000]))
    with pytest.raises(CohortError, match=r"row 3, column 'note': a cell of 5,000 characters"):
        read(parquet_bytes(pa.table({"note": note})))
    # an unused long dictionary value is not a cell
    unused = pa.DictionaryArray.from_arrays(pa.array([0, 0], pa.int32()), note.dictionary)
    assert len(read(parquet_bytes(pa.table({"note": unused})))) == 2  # type: ignore[arg-type]


def test_decoded_text_over_the_budget_is_refused() -> None:
    data = parquet_bytes(repeated(1_000, "z" * 500))  # 500,000 characters decoded
    assert len(data) < 20_000
    with pytest.raises(CohortError) as err:
        read(data, Limits(max_bytes=400_000))
    assert str(err.value) == (
        "c.parquet holds more than 400,000 bytes of text once decoded (the limit for a "
        "cohort file); column 'note' takes it over"
    )
    assert len(read(data, Limits(max_bytes=600_000))) == 1_000  # type: ignore[arg-type]


MEASURE = """
import io, json, resource, sys
import pyarrow.compute, pyarrow.parquet, pandas
from blinastudy.data.cohort import read_table
from blinastudy.data.schema import CohortError
data = open(sys.argv[1], "rb").read()
handle = io.BytesIO(data)
handle.name = "c.parquet"
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    read_table(handle)
    message = None
except CohortError as exc:
    message = str(exc)
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps({"message": message, "grown_mb": grown / 1024}))
"""


def measure(data: bytes, tmp_path: Path) -> dict[str, object]:
    path = tmp_path / "c.parquet"
    path.write_bytes(data)
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize(
    ("n", "length", "message"),
    [
        # the reported file: one 20 KB string on 100,000 rows (2 GB of text)
        (100_000, 20_000, "row 1, column 'note': a cell of 20,000 characters"),
        # cells of a legal length, 188 MB of text in all
        (190_000, 990, "holds more than 50.0 MB of text once decoded"),
    ],
)
def test_a_small_file_that_decodes_to_gigabytes_is_refused_in_little_memory(
    n: int, length: int, message: str, tmp_path: Path
) -> None:
    data = parquet_bytes(repeated(n, "q" * length))
    assert len(data) < 2_000_000
    found = measure(data, tmp_path)
    assert message in str(found["message"])
    assert float(found["grown_mb"]) < 100  # type: ignore[arg-type]

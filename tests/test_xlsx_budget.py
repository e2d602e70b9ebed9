"""A small .xlsx whose sheet unpacks to hundreds of megabytes of XML is refused before
any of it is parsed.

Such a file is within the upload size limit (it packs to about half a megabyte) and,
at a few megabytes of XML per second, would keep the server busy for minutes. The
loader budgets the uncompressed size of what it would parse, from the sizes the archive
declares, and refuses at once with one line. The CPU time of the refusal is bounded
generously (the reading it replaces takes over a minute).
"""

from __future__ import annotations

import io
import re
import time
import zipfile

import openpyxl
import pytest

from blinastudy.data.cohort import CohortError, Limits, read_table
from blinastudy.data.schema import REQUIRED_COLUMNS

_MB = 1024 * 1024
#: Uncompressed size of the bomb's sheet (or of its shared strings).
BOMB_BYTES = 450 * _MB
#: A generous bound on the CPU seconds of refusing it.
MAX_CPU_S = 5.0
#: One more data row of the sheet: a cell of long text, about 2.7 kB, so that the bomb
#: stays within the row limit (the time goes into parsing, not into counting rows);
#: repeated, it packs several hundred to one.
ROW = b'<row><c t="inlineStr"><is><t>' + b"x" * 2700 + b"</t></is></c></row>"


def _workbook() -> bytes:
    """A real workbook: the required columns and one patient."""
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(list(REQUIRED_COLUMNS))
    ws.append(["P1", "blinatumomab", 12.0, 0, 12.0, 0][: len(REQUIRED_COLUMNS)])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


#: The closing tag of each part that can be padded, and what pads it: the sheet, and a
#: part parsed when the workbook is opened, whatever the sheet.
PADDING = {
    "xl/worksheets/sheet1.xml": (b"</sheetData>", ROW),
    "xl/styles.xml": (b"</styleSheet>", b" " * 1024),
}


def _padded(member: str, size: int) -> bytes:
    """The workbook with ``member`` padded to about ``size`` bytes of well-formed XML
    (whole rows or comments before its closing tag), deflated and streamed."""
    close, filler = PADDING[member]
    src = zipfile.ZipFile(io.BytesIO(_workbook()))
    assert member in src.namelist()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename != member:
                dst.writestr(info.filename, content)
                continue
            head, tail = content.rsplit(close, 1)
            count = (size - len(content)) // len(filler)
            per_chunk = _MB // len(filler)
            with dst.open(member, "w", force_zip64=True) as handle:
                handle.write(head)
                while count > 0:
                    handle.write(filler * min(count, per_chunk))
                    count -= per_chunk
                handle.write(close + tail)
    return out.getvalue()


def _refusal(data: bytes, limits: Limits | None = None) -> tuple[str, float]:
    """The one-line reason ``data`` (an .xlsx) is refused, and the CPU seconds it took."""
    start = time.process_time()
    with pytest.raises(CohortError) as info:
        read_table(_upload(data), limits=limits)
    return str(info.value), time.process_time() - start


def _upload(data: bytes) -> io.BytesIO:
    upload = io.BytesIO(data)
    upload.name = "pool.xlsx"
    return upload


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry for every workbook openpyxl opens while the test runs."""
    calls: list[int] = []
    real = openpyxl.load_workbook

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(openpyxl, "load_workbook", counted)
    return calls


@pytest.mark.parametrize("member", list(PADDING))
def test_450_mb_of_xml_in_a_small_xlsx_is_refused_at_once(member: str) -> None:
    data = _padded(member, BOMB_BYTES)
    assert len(data) < _MB  # far within the 50 MB upload limit
    assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None  # a sound archive
    message, cpu = _refusal(data)
    assert re.fullmatch(
        r"pool\.xlsx holds 450\.0 MB of sheet data to read, over the 100\.0 MB limit; "
        r"refusing to open it \(save the table as CSV, or keep only the cohort's rows and "
        r"columns\)",
        message,
    ), message
    assert cpu < MAX_CPU_S, f"{cpu:.1f} s of CPU to refuse it"


def test_the_budget_counts_the_sheet_read_and_the_parts_read_with_it(opened: list[int]) -> None:
    member = "xl/worksheets/sheet1.xml"
    data = _padded(member, 200_000)
    sizes = {i.filename: i.file_size for i in zipfile.ZipFile(io.BytesIO(data)).infolist()}
    parsed = sum(sizes.values())  # one sheet: every part of the archive is read
    rows = (200_000 - 2_000) // len(ROW)  # the sheet's own XML is under 2 kB
    assert len(read_table(_upload(data), limits=Limits(max_sheet_bytes=parsed))) > rows
    message, _ = _refusal(data, Limits(max_sheet_bytes=parsed - 1))
    assert message.startswith(f"pool.xlsx holds {parsed:,} bytes of sheet data to read, over")
    assert len(opened) == 2  # the sheet's size is checked once the workbook says which it is
    parts = parsed - sizes[member]
    message, _ = _refusal(data, Limits(max_sheet_bytes=parts - 1))
    assert message.startswith(f"pool.xlsx holds {parts:,} bytes of sheet data to read, over")
    assert len(opened) == 2  # refused before the workbook is opened


def test_the_sheet_budget_is_a_positive_integer() -> None:
    assert Limits().max_sheet_bytes == 100 * _MB
    with pytest.raises(ValueError, match="max_sheet_bytes must be a positive integer"):
        Limits(max_sheet_bytes=0)

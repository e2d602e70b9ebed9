"""Load a cohort file (CSV, TSV, Excel .xlsx, Parquet) into the canonical table.

:func:`load_cohort` reads a path or an uploaded file, applies a
:class:`~blinastudy.data.mapping.Mapping` (column names, units, codes), checks every rule
of the data dictionary (:mod:`blinastudy.data.schema`) and returns a frame with canonical
dtypes, or raises :class:`CohortError` listing every problem by row, column and
value. It never raises anything else for bad input, never evaluates spreadsheet
formulas, and never drops a row that holds a value.

Reading rules, in short:

* CSV/TSV: UTF-8 (with or without byte-order mark), UTF-16 and UTF-32 with a
  byte-order mark, otherwise Windows-1252/Latin-1. The delimiter is detected among
  ``,`` ``;`` tab and ``|``; with ``;`` a decimal comma (``1,5``) is accepted, as
  European spreadsheets write it. Rows are numbered as file lines: the header is
  line 1, so the first patient is normally row 2.
* Excel ``.xlsx``/``.xlsm``: the first sheet (or ``sheet=``), cell values as last
  saved by the spreadsheet program; a formula with no saved result is reported, never
  computed. Rows are numbered as the sheet numbers them.
* Parquet: rows are numbered from 1.
* Everywhere: spaces around values are trimmed; ``NA``, ``N/A`` and blank cells are
  missing; rows with no value at all are skipped; a cell beginning with ``=``, ``+``,
  ``-`` or ``@`` in a text column is kept exactly as written.
* Limits (:class:`Limits`): file size, rows, columns, and for ``.xlsx`` the
  uncompressed size declared in the archive, checked before parsing.

:func:`read_file`, :func:`load_file` and :func:`combine_files` return a
:class:`~blinastudy.data.table.FileTable`: the frame beside the file row of each row,
the file's name and the reader's notes, which the app and the command line pass on
(to mapping, validation and the analysis's lists of excluded patients).
:func:`read_table`, :func:`load_cohort` and :func:`combine_cohorts` return the frame
alone.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as _dt
import hashlib
import io
import math
import os
import re
import stat
import struct
import warnings
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from blinastudy.core.budget import checkpoint
from blinastudy.core.errors import InputError
from blinastudy.data.mapping import Mapping, map_cohort, rename_columns, suggest_mapping
from blinastudy.data.schema import (
    CANONICAL_COLUMNS,
    MISSING_TOKENS,
    REQUIRED_COLUMNS,
    CohortError,
    Problem,
    category_value,
    check_cohort,
    column_spec,
    is_missing,
    show_value,
)
from blinastudy.data.table import FileTable, as_file_table

__all__ = [
    "CohortError",
    "FileTable",
    "Limits",
    "Problem",
    "combine_cohorts",
    "combine_files",
    "content_hash",
    "drop_columns",
    "identifier_columns",
    "identifier_reasons",
    "load_cohort",
    "load_file",
    "read_file",
    "read_table",
]

_MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Size limits applied before and while reading a file.

    Parameters
    ----------
    max_bytes
        Largest file accepted, in bytes (default 50 MB); also the most text a Parquet
        file's cells may decode to (what a CSV file of that size could hold).
    max_rows
        Most data rows accepted (default 200,000).
    max_columns
        Most columns accepted (default 500).
    max_unpacked_bytes
        Largest total uncompressed size an ``.xlsx`` archive may declare, or a Parquet
        file's row groups may hold (default 500 MB).
    max_archive_members
        Most files an ``.xlsx`` archive may contain (default 10,000).
    max_sheet_bytes
        Most uncompressed XML an ``.xlsx`` workbook may give to parse: the sheet read
        plus the parts read with it (shared strings, styles, ...), checked from the sizes
        the archive declares before any of it is parsed (default 100 MB: about 150,000
        rows of 15 columns, and some 20 seconds of reading).

    Examples
    --------
    >>> Limits().max_rows
    200000
    >>> Limits(max_bytes=1024).max_bytes
    1024
    """

    max_bytes: int = 50 * _MB
    max_rows: int = 200_000
    max_columns: int = 500
    max_unpacked_bytes: int = 500 * _MB
    max_archive_members: int = 10_000
    max_sheet_bytes: int = 100 * _MB

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"Limits.{f.name} must be a positive integer, got {value!r}")


# --------------------------------------------------------------------------------------
# Getting the bytes
# --------------------------------------------------------------------------------------


def _mb(n: int) -> str:
    return f"{n / _MB:.1f} MB" if n >= _MB else f"{n:,} bytes"


def _too_big(name: str, limits: Limits) -> CohortError:
    return CohortError(f"{name} is larger than the {_mb(limits.max_bytes)} limit")


def _read_bytes(source: Any, limits: Limits) -> tuple[str, bytes]:  # noqa: C901 (listed: may only shrink)
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        name = path.name or str(path)
        try:
            if path.is_dir():
                raise CohortError(f"{name} is a folder, not a file")
            info = path.stat()
            if not stat.S_ISREG(info.st_mode):  # a pipe or a device would block or never end
                raise CohortError(f"{name} is not a regular file")
            size = info.st_size
            if size > limits.max_bytes:
                raise _too_big(name, limits)
            with path.open("rb") as handle:
                data = handle.read(limits.max_bytes + 1)
        except CohortError:
            raise
        except FileNotFoundError:
            raise CohortError(f"{name}: file not found") from None
        except ValueError:  # e.g. a NUL character in the path
            raise CohortError(f"{name!r} is not a usable file path") from None
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise CohortError(f"{name} could not be opened ({reason})") from None
    elif isinstance(source, bytes | bytearray | memoryview):
        name = "data"
        data = bytes(source)
    elif hasattr(source, "getvalue") or hasattr(source, "read"):
        name = Path(str(getattr(source, "name", None) or "upload")).name or "upload"
        declared = getattr(source, "size", None)
        if isinstance(declared, int) and declared > limits.max_bytes:
            raise _too_big(name, limits)
        try:
            if hasattr(source, "getvalue"):
                content = source.getvalue()
            else:
                if hasattr(source, "seek"):
                    source.seek(0)
                content = source.read(limits.max_bytes + 1)
        except Exception as exc:  # a broken upload object: report, do not crash
            raise CohortError(f"{name} could not be read ({type(exc).__name__})") from None
        if isinstance(content, str):
            content = content.encode("utf-8")
        if not isinstance(content, bytes | bytearray | memoryview):
            raise CohortError(f"{name} did not give bytes when read")
        data = bytes(content)
    else:
        raise CohortError(
            f"cannot read a cohort from a {type(source).__name__}; give a file path or an"
            " uploaded file"
        )
    if len(data) > limits.max_bytes:
        raise _too_big(name, limits)
    return name, data


# --------------------------------------------------------------------------------------
# What kind of file is it?
# --------------------------------------------------------------------------------------

_TEXT_EXTS = frozenset({".csv", ".tsv", ".txt", ".tab", ".dat"})
_EXCEL_EXTS = frozenset({".xlsx", ".xlsm"})
_PARQUET_EXTS = frozenset({".parquet", ".pq", ".parq"})
_UNSUPPORTED = {
    ".xls": "an old-style Excel .xls workbook; save it as .xlsx or CSV",
    ".ods": "an OpenDocument spreadsheet; save it as .xlsx or CSV",
    ".numbers": "an Apple Numbers file; export it as .xlsx or CSV",
    ".json": "JSON; save the table as CSV, .xlsx or Parquet",
    ".sav": "an SPSS file; save the table as CSV, .xlsx or Parquet",
    ".dta": "a Stata file; save the table as CSV, .xlsx or Parquet",
    ".sas7bdat": "a SAS file; save the table as CSV, .xlsx or Parquet",
    ".rds": "an R data file; save the table as CSV, .xlsx or Parquet",
    ".rdata": "an R data file; save the table as CSV, .xlsx or Parquet",
    ".docx": "a Word document, not a table file",
    ".doc": "a Word document, not a table file",
    ".pdf": "a PDF, not a table file",
    ".zip": "a zip archive; unpack it and load the table inside",
    ".gz": "a compressed file; unpack it first",
}

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),
    (b"PAR1", "parquet"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"BZh", "a bzip2-compressed file"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"\x7fELF", "a program"),
    (b"MZ", "a Windows program"),
    (b"RIFF", "a media file"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"SQLite format 3\x00", "an SQLite database"),
)


def _magic(data: bytes) -> str | None:
    for prefix, kind in _MAGIC:
        if data.startswith(prefix):
            return kind
    return None


def _describe(kind: str) -> str:
    return {
        "zip": "a zip archive (perhaps an Excel workbook with the wrong extension)",
        "parquet": "a Parquet file",
        "ole": "an old-style .xls workbook or a password-protected Excel file",
    }.get(kind, kind)


# --------------------------------------------------------------------------------------
# Text files
# --------------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _guess_utf16(data: bytes) -> str | None:
    sample = data[:4096]
    if len(sample) < 4 or b"\x00" not in sample:
        return None
    even, odd = sample[0::2], sample[1::2]
    even_zero = even.count(0) / len(even)
    odd_zero = odd.count(0) / len(odd)
    if odd_zero > 0.9 and even_zero < 0.1:
        return "utf-16-le"
    if even_zero > 0.9 and odd_zero < 0.1:
        return "utf-16-be"
    return None


def _decode(name: str, data: bytes) -> tuple[str, str]:
    boms = (
        (b"\xff\xfe\x00\x00", "utf-32", "UTF-32"),
        (b"\x00\x00\xfe\xff", "utf-32", "UTF-32"),
        (b"\xef\xbb\xbf", "utf-8-sig", "UTF-8 with byte-order mark"),
        (b"\xff\xfe", "utf-16", "UTF-16"),
        (b"\xfe\xff", "utf-16", "UTF-16"),
    )
    for bom, codec, label in boms:
        if data.startswith(bom):
            try:
                return data.decode(codec), label
            except UnicodeDecodeError:
                raise CohortError(
                    f"{name} starts with a {label} byte-order mark but is not valid {label}"
                ) from None
    guess = _guess_utf16(data)
    if guess is not None:
        try:
            return data.decode(guess), "UTF-16"
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    _refuse_mixed_encodings(name, data)
    try:
        return data.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "Latin-1"


#: A multi-byte UTF-8 character (a lead byte and its continuation bytes).
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


def _refuse_mixed_encodings(name: str, data: bytes) -> None:
    """Refuse a file whose lines are partly UTF-8 and partly another encoding.

    Read as Windows-1252, its UTF-8 characters would turn silently into two or three
    wrong ones ("é" into "Ã©"). The message names the first file rows and columns
    that are not UTF-8.
    """
    if not _UTF8_MULTIBYTE.search(data):
        return  # no UTF-8 character anywhere: a plain single-byte file
    lines = data.splitlines()
    header = lines[0].decode("utf-8", errors="replace") if lines else ""
    delimiter = max(_DELIMITERS, key=header.count)
    names = next(csv.reader([header], delimiter=delimiter), [])
    bad: list[str] = []
    for number, line in enumerate(lines, start=1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            cells = next(
                csv.reader([line.decode("utf-8", errors="replace")], delimiter=delimiter), []
            )
            columns = [
                names[i] if i < len(names) else f"column {i + 1}"
                for i, cell in enumerate(cells)
                if "\ufffd" in cell
            ]
            bad.append(f"row {number} ({', '.join(columns) or 'unknown column'})")
            if len(bad) == 5:
                break
    raise CohortError(
        f"{name} mixes UTF-8 with another encoding (e.g. Windows-1252): not UTF-8 in "
        f"{'; '.join(bad)}, while other rows are UTF-8. Save the file again as UTF-8 "
        "(in Excel: CSV UTF-8) so that no character is misread."
    )


def _check_text(name: str, text: str) -> str:
    text = text.rstrip("\x1a")  # DOS end-of-file marker
    if "\x00" in text:
        raise CohortError(f"{name} is not a text table (it holds binary data)")
    sample = text[:100_000]
    if sample and len(_CONTROL.findall(sample)) > max(2, len(sample) // 200):
        raise CohortError(f"{name} is not a text table (it holds binary data)")
    if not text.strip():
        raise CohortError(f"{name} is empty")
    return text


_DELIMITERS = (",", ";", "\t", "|")
_SEP_DIRECTIVE = re.compile(r"sep=([,;\t|])[ \t]*(?:\r\n|\r|\n)", re.IGNORECASE)
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}


def _sniff(text: str, prefer_tab: bool) -> str:
    sample = text[:65_536]
    if len(text) > len(sample):
        cut = max(sample.rfind("\n"), sample.rfind("\r"))
        if cut > 0:
            sample = sample[:cut]
    best: tuple[float, int, int, int] | None = None
    choice = "\t" if prefer_tab else ","
    for rank, delimiter in enumerate(_DELIMITERS):
        try:
            records = [
                r for r in csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter) if r
            ]
        except csv.Error:
            continue
        records = [r for r in records if any(c.strip() for c in r)][:200]
        if not records:
            continue
        width = len(records[0])
        if width < 2:
            continue
        consistent = sum(len(r) == width for r in records) / len(records)
        bonus = 1 if (prefer_tab and delimiter == "\t") else 0
        score = (consistent, bonus, width, -rank)
        if best is None or score > best:
            best = score
            choice = delimiter
    return choice


_THOUSANDS_LIKE = re.compile(r"[+-]?\d{1,3}(?:\.\d{3})+")
_COMMA_DECIMAL = re.compile(r"[+-]?\d*,\d+(?:[eE][+-]?\d+)?")


def _clean(value: str) -> str | None:
    text = value.strip()
    return None if not text or text.casefold() in MISSING_TOKENS else text


def _header_names(cells: Sequence[Any]) -> list[str]:
    """Column names from header cells; a blank header cell becomes ``column_<n>``."""
    names = []
    for i, cell in enumerate(cells, start=1):
        if is_missing(cell):
            text = ""
        elif isinstance(cell, str):
            text = cell.strip()
        else:
            text = show_value(cell).strip()  # a number or date used as a header
        names.append(text or f"column_{i}")
    return names


@dataclass
class _Raw:
    name: str
    header: list[Any]
    header_row: int | None
    rows: list[int]
    records: list[list[Any]]
    notes: list[str]
    decimal_comma: bool = False
    problems: list[Problem] = dataclasses.field(default_factory=list)


def _read_text(name: str, data: bytes, limits: Limits, ext: str) -> _Raw:
    text, encoding = _decode(name, data)
    text = _check_text(name, text)
    line = 0
    directive = _SEP_DIRECTIVE.match(text)
    if directive:  # Excel's "sep=;" first line names the delimiter
        delimiter = directive.group(1)
        text = text[directive.end() :]
        line = 1
    else:
        delimiter = _sniff(text, prefer_tab=ext in (".tsv", ".tab"))
    notes = [f"read as {_DELIMITER_NAMES[delimiter]}-separated text, {encoding}"]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    header: list[str] | None = None
    header_line = 0
    rows: list[int] = []
    records: list[list[Any]] = []
    problems: list[Problem] = []
    offset = line
    try:
        for cells in reader:
            checkpoint()  # the session's CPU budget (blinastudy.core.budget)
            start, line = line + 1, offset + reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if header is None:
                header = cells
                header_line = start
                if len(header) > limits.max_columns:
                    raise CohortError(
                        f"{name} has {len(header)} columns; the limit is {limits.max_columns}"
                    )
                continue
            if len(records) >= limits.max_rows:
                raise CohortError(f"{name} has more than {limits.max_rows:,} data rows (the limit)")
            width = len(header)
            if len(cells) > width:
                extra = [c for c in cells[width:] if c.strip()]
                if extra:
                    problems.append(
                        Problem(
                            start,
                            None,
                            show_value(extra[0].strip()),
                            f"the row has {len(cells)} cells but the header has {width} columns",
                        )
                    )
                cells = cells[:width]
            records.append([_clean(c) for c in cells] + [None] * (width - len(cells)))
            rows.append(start)
    except csv.Error as exc:
        raise CohortError(f"{name}, line {line + 1}: not a readable table ({exc})") from None
    if header is None:
        raise CohortError(f"{name} is empty")
    if header_line > 1:
        notes.append(f"the header is on line {header_line}")
    decimal_comma = delimiter == ";"
    if decimal_comma:
        notes.append("a decimal comma (1,5) is accepted in number columns")
    return _Raw(name, list(header), header_line, rows, records, notes, decimal_comma, problems)


# --------------------------------------------------------------------------------------
# Excel
# --------------------------------------------------------------------------------------

_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")


_WORKSHEET = re.compile(r"xl/worksheets/[^/]+\.xml")


def _is_worksheet(member: str) -> bool:
    return _WORKSHEET.fullmatch(member.lstrip("/")) is not None


def _shared_parts(archive: zipfile.ZipFile) -> int:
    """Uncompressed bytes of every part but the worksheets (read whatever the sheet)."""
    return sum(max(m.file_size, 0) for m in archive.infolist() if not _is_worksheet(m.filename))


def _check_sheet_size(name: str, archive: zipfile.ZipFile, sheet: int, limits: Limits) -> None:
    """Refuse a workbook whose parts to parse, with a ``sheet`` of that many bytes, unpack
    to more than ``limits.max_sheet_bytes`` (the time reading takes grows with it)."""
    total = _shared_parts(archive) + sheet
    if total > limits.max_sheet_bytes:
        raise CohortError(
            f"{name} holds {_mb(total)} of sheet data to read, over the"
            f" {_mb(limits.max_sheet_bytes)} limit; refusing to open it (save the table as"
            " CSV, or keep only the cohort's rows and columns)"
        )


def _check_archive(name: str, data: bytes, limits: Limits) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        OSError,
        ValueError,
        EOFError,
        struct.error,
        NotImplementedError,
        UnicodeDecodeError,
    ):
        raise CohortError(
            f"{name} is not a readable Excel workbook (damaged zip archive)"
        ) from None
    if len(members) > limits.max_archive_members:
        raise CohortError(f"{name} holds {len(members):,} files inside; not a normal workbook")
    total = sum(max(m.file_size, 0) for m in members)
    if total > limits.max_unpacked_bytes:
        raise CohortError(
            f"{name} would unpack to {_mb(total)}, over the {_mb(limits.max_unpacked_bytes)}"
            " limit; refusing to open it"
        )
    names = {m.filename for m in members}
    if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
        raise CohortError(f"{name} is a zip archive but not an Excel workbook")
    if any(m.flag_bits & 0x1 for m in members):
        raise CohortError(f"{name} is encrypted; save an unprotected copy")
    _check_sheet_size(name, archive, 0, limits)  # what opening the workbook parses
    return archive


def _sheet_bytes(archive: zipfile.ZipFile, member: Any) -> int:
    """Uncompressed size of the worksheet ``member`` (the largest one when unknown)."""
    sizes = {m.filename: max(m.file_size, 0) for m in archive.infolist()}
    if member is not None and str(member).lstrip("/") in sizes:
        return sizes[str(member).lstrip("/")]
    return max((size for path, size in sizes.items() if _is_worksheet(path)), default=0)


def _has_formulas(archive: zipfile.ZipFile, member: str) -> bool:
    try:
        with archive.open(member) as handle:
            tail = b""
            while chunk := handle.read(1 << 20):
                if _FORMULA_TAG.search(tail + chunk):
                    return True
                tail = chunk[-16:]
    except KeyError:
        return True  # cannot tell; do the careful check
    return False


def _excel_rows(
    name: str, ws: Any, limits: Limits
) -> tuple[list[Any] | None, int, list[int], list[list[Any]]]:
    header: list[Any] | None = None
    header_row = 0
    rows: list[int] = []
    records: list[list[Any]] = []
    ws.reset_dimensions()  # the stored dimensions may be wrong; read what is there
    for index, values in enumerate(ws.iter_rows(values_only=True), start=1):
        checkpoint()
        cells = [
            None if is_missing(v) else (v.strip() if isinstance(v, str) else v) for v in values
        ]
        while cells and cells[-1] is None:
            cells.pop()
        if not cells:
            continue
        if header is None:
            if len(cells) > limits.max_columns:
                raise CohortError(
                    f"{name} has {len(cells)} columns; the limit is {limits.max_columns}"
                )
            header, header_row = cells, index
            continue
        if len(cells) > limits.max_columns:
            raise CohortError(f"{name} has more than {limits.max_columns} columns (row {index})")
        if len(records) >= limits.max_rows:
            raise CohortError(f"{name} has more than {limits.max_rows:,} data rows (the limit)")
        rows.append(index)
        records.append(cells)
    return header, header_row, rows, records


def _read_excel(name: str, data: bytes, limits: Limits, sheet: str | int | None) -> _Raw:
    archive = _check_archive(name, data, limits)
    import openpyxl

    notes: list[str] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wb = openpyxl.load_workbook(
                io.BytesIO(data), read_only=True, data_only=True, keep_links=False
            )
            try:
                sheets = list(wb.worksheets)
                if not sheets:
                    raise CohortError(f"{name} has no worksheets")
                if sheet is None:
                    ws = sheets[0]
                    if len(sheets) > 1:
                        notes.append(f"read sheet {ws.title!r}, the first of {len(sheets)}")
                elif isinstance(sheet, int) and not isinstance(sheet, bool):
                    if not 0 <= sheet < len(sheets):
                        raise CohortError(f"{name} has {len(sheets)} sheet(s); no sheet {sheet}")
                    ws = sheets[sheet]
                elif isinstance(sheet, str) and sheet in wb.sheetnames:
                    ws = wb[sheet]
                else:
                    raise CohortError(
                        f"{name} has no sheet {sheet!r}; it has {', '.join(map(repr, wb.sheetnames))}"
                    )
                title = ws.title
                member = getattr(ws, "_worksheet_path", None)
                _check_sheet_size(name, archive, _sheet_bytes(archive, member), limits)
                header, header_row, rows, records = _excel_rows(name, ws, limits)
            finally:
                wb.close()
    except CohortError:
        raise
    except Exception:  # openpyxl can fail in many ways on a damaged workbook
        raise CohortError(
            f"{name} could not be read as an Excel workbook (damaged or not .xlsx)"
        ) from None
    if header is None:
        raise CohortError(f"{name}: sheet {title!r} is empty")
    notes.insert(0, f"read Excel sheet {title!r}")
    if header_row > 1:
        notes.append(f"the header is on row {header_row}")
    width = max([len(header), *(len(r) for r in records)])
    problems: list[Problem] = []
    header_full = list(header) + [None] * (width - len(header))
    records = [r + [None] * (width - len(r)) for r in records]
    if member is None:
        notes.append("formula cells could not be checked for saved results")
    elif _has_formulas(archive, str(member).lstrip("/")):
        problems.extend(
            _unsaved_formulas(name, archive, str(member).lstrip("/"), header_row, header_full)
        )
    return _Raw(name, header_full, header_row, rows, records, notes, False, problems)


def _unsaved_formulas(
    name: str, archive: zipfile.ZipFile, member: str, header_row: int, header: list[Any]
) -> list[Problem]:
    """Formula cells with no saved result (a blank would otherwise be read).

    A formula cell normally carries the value computed when the file was last saved
    (``<v>``); a string result, even an empty one, is marked ``t="str"``. A formula
    with neither was never computed (e.g. a file written by a script).
    """
    from xml.etree.ElementTree import ParseError, iterparse

    from openpyxl.utils.cell import column_index_from_string, coordinate_from_string

    names = _header_names(header)
    problems: list[Problem] = []
    try:
        with archive.open(member) as handle:
            for _, elem in iterparse(handle, events=("end",)):
                tag = elem.tag.rsplit("}", 1)[-1]
                if tag == "row":
                    elem.clear()
                    continue
                if tag != "c":
                    continue
                children = {child.tag.rsplit("}", 1)[-1]: child for child in elem}
                formula = children.get("f")
                value = children.get("v")
                ref = elem.get("r")
                if (
                    formula is None
                    or ref is None
                    or elem.get("t") == "str"
                    or (value is not None and (value.text or "") != "")
                ):
                    continue
                letters, row = coordinate_from_string(ref)
                col = column_index_from_string(letters)
                if row < header_row:
                    continue
                column = names[col - 1] if col <= len(names) else f"column_{col}"
                problems.append(
                    Problem(
                        row,
                        None if row == header_row else column,
                        None,
                        "the cell holds a formula with no saved result; open the file in a"
                        " spreadsheet program and save it, or paste values",
                    )
                )
    except (ParseError, KeyError, ValueError, OSError, zipfile.BadZipFile):
        raise CohortError(
            f"{name} could not be read as an Excel workbook (damaged or not .xlsx)"
        ) from None
    return problems


# --------------------------------------------------------------------------------------
# Parquet
# --------------------------------------------------------------------------------------


#: Longest text a cohort cell may hold, in characters: a longer cell is not a clinical
#: value (and would let a small Parquet file repeat it into gigabytes).
MAX_CELL_CHARS = 1_000


def _text_lengths(chunk: Any) -> Any:
    """Characters (bytes for binary) of each cell of a text column chunk, as decoded;
    ``None`` for a column that is not text. Dictionary-encoded chunks are measured
    through their indices, without decoding them."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(chunk.type):
        lengths = _text_lengths(chunk.dictionary)
        return None if lengths is None else pc.take(lengths, chunk.indices)
    if pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type):
        return pc.utf8_length(chunk)
    if pa.types.is_binary(chunk.type) or pa.types.is_large_binary(chunk.type):
        return pc.binary_length(chunk)
    return None


def _check_decoded_text(name: str, column: str, values: Any, total: int, limits: Limits) -> int:
    """Refuse a column with a cell over :data:`MAX_CELL_CHARS`, or that takes the text
    decoded so far over ``limits.max_bytes`` (what a CSV file may hold); return the new
    total."""
    import pyarrow.compute as pc

    offset = 0
    for chunk in values.chunks:
        lengths = _text_lengths(chunk)
        if lengths is not None and len(lengths):
            longest = pc.max(lengths).as_py() or 0
            if longest > MAX_CELL_CHARS:
                row = offset + pc.index(pc.greater(lengths, MAX_CELL_CHARS), True).as_py() + 1
                raise CohortError(
                    f"{name}, row {row}, column {column!r}: a cell of {longest:,} characters; "
                    f"cohort cells are short values (at most {MAX_CELL_CHARS:,} characters)"
                )
            total += int(pc.sum(lengths).as_py() or 0)
            if total > limits.max_bytes:
                raise CohortError(
                    f"{name} holds more than {_mb(limits.max_bytes)} of text once decoded "
                    f"(the limit for a cohort file); column {column!r} takes it over"
                )
        offset += len(chunk)
    return total


def _read_parquet(name: str, data: bytes, limits: Limits) -> _Raw:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if len(data) < 12 or not data.endswith(b"PAR1"):
        raise CohortError(f"{name} is not a complete Parquet file")
    try:
        handle = pq.ParquetFile(pa.BufferReader(data))
        meta = handle.metadata
        n_rows, n_cols = int(meta.num_rows), int(meta.num_columns)
        unpacked = sum(int(meta.row_group(i).total_byte_size) for i in range(meta.num_row_groups))
        schema = handle.schema_arrow
    except Exception:
        raise CohortError(
            f"{name} could not be read as a Parquet file (damaged or not Parquet)"
        ) from None
    if n_cols > limits.max_columns or len(schema) > limits.max_columns:
        raise CohortError(f"{name} has {len(schema)} columns; the limit is {limits.max_columns}")
    if n_rows > limits.max_rows:
        raise CohortError(f"{name} has {n_rows:,} rows; the limit is {limits.max_rows:,}")
    if unpacked > limits.max_unpacked_bytes:
        raise CohortError(
            f"{name} would unpack to {_mb(unpacked)}, over the {_mb(limits.max_unpacked_bytes)} limit"
        )
    for f in schema:
        if pa.types.is_nested(f.type):
            raise CohortError(f"{name}: column {f.name!r} holds nested values, not plain cells")
    # Column by column, text kept dictionary-encoded, so that the decoded size is known
    # before any cell is materialised: a short file can repeat one long string many times.
    text = [
        f.name
        for f in schema
        if pa.types.is_string(f.type)
        or pa.types.is_large_string(f.type)
        or pa.types.is_binary(f.type)
        or pa.types.is_large_binary(f.type)
    ]
    arrays = []
    total = 0
    for i in range(len(schema)):
        try:
            if i == 0:  # a reader that keeps text columns dictionary-encoded
                handle = pq.ParquetFile(pa.BufferReader(data), read_dictionary=text)
            values = handle.reader.read_column(i)  # by position: names may repeat
        except Exception:
            raise CohortError(
                f"{name} could not be read as a Parquet file (damaged or not Parquet)"
            ) from None
        total = _check_decoded_text(name, str(schema.names[i]), values, total, limits)
        arrays.append(values)
    try:
        columns = [values.to_pylist() for values in arrays]
    except Exception:
        raise CohortError(
            f"{name} could not be read as a Parquet file (damaged or not Parquet)"
        ) from None
    header = list(schema.names)
    records = (
        [
            [None if is_missing(v) else (v.strip() if isinstance(v, str) else v) for v in row]
            for row in zip(*columns, strict=True)
        ]
        if columns
        else []
    )
    rows = list(range(1, len(records) + 1))
    keep = [i for i, r in enumerate(records) if any(v is not None for v in r)]
    return _Raw(
        name,
        header,
        None,
        [rows[i] for i in keep],
        [records[i] for i in keep],
        ["read Parquet file; rows are numbered from 1"],
    )


# --------------------------------------------------------------------------------------
# Raw table
# --------------------------------------------------------------------------------------


def _to_table(raw: _Raw) -> FileTable:
    names = _header_names(raw.header)
    columns: dict[int, list[Any]] = {i: [] for i in range(len(names))}
    for record in raw.records:
        checkpoint()
        for i in range(len(names)):
            columns[i].append(record[i] if i < len(record) else None)
    # Unnamed columns with no values (trailing delimiters, empty spreadsheet columns) go.
    keep = [
        i
        for i, n in enumerate(names)
        if not (is_missing(raw.header[i]) and all(v is None for v in columns[i]))
    ]
    seen: dict[str, int] = {}
    for i in keep:
        seen[names[i]] = seen.get(names[i], 0) + 1
    duplicates = [n for n, k in seen.items() if k > 1]
    if duplicates:
        raise CohortError(
            f"{raw.name} has repeated column names",
            [
                Problem(raw.header_row, n, None, f"the column name appears {seen[n]} times")
                for n in duplicates
            ],
        )
    frame = pd.DataFrame(
        {names[i]: pd.Series(columns[i], dtype=object) for i in keep},
        index=pd.RangeIndex(len(raw.records)),
    )
    if not keep:
        frame = pd.DataFrame(index=pd.RangeIndex(len(raw.records)))
    notes = list(raw.notes)
    unnamed = [names[i] for i in keep if is_missing(raw.header[i])]
    if unnamed:
        notes.append(f"columns with no header were named {', '.join(unnamed)}")
    return FileTable(frame, raw.rows, source=raw.name, notes=notes, decimal_comma=raw.decimal_comma)


def _read(
    source: Any, limits: Limits | None, sheet: str | int | None
) -> tuple[FileTable, list[Problem]]:
    limits = Limits() if limits is None else limits
    if not isinstance(limits, Limits):
        raise CohortError(f"limits must be a Limits, got {type(limits).__name__}")
    name, data = _read_bytes(source, limits)
    if not data.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise CohortError(f"{name} is empty")
    ext = Path(name).suffix.casefold()
    kind = _magic(data)
    if ext in _UNSUPPORTED:
        raise CohortError(f"{name} is {_UNSUPPORTED[ext]}")
    known_ext = ext in _TEXT_EXTS | _EXCEL_EXTS | _PARQUET_EXTS
    if ext in _EXCEL_EXTS or (not known_ext and kind == "zip"):
        if kind != "zip":
            what = _describe(kind) if kind else "not a zip archive"
            raise CohortError(f"{name} is not a real .xlsx workbook ({what})")
        raw = _read_excel(name, data, limits, sheet)
    elif ext in _PARQUET_EXTS or (not known_ext and kind == "parquet"):
        if kind != "parquet":
            what = _describe(kind) if kind else "no Parquet signature"
            raise CohortError(f"{name} is not a real Parquet file ({what})")
        raw = _read_parquet(name, data, limits)
    elif kind is not None:
        raise CohortError(f"{name} is not a text table: it is {_describe(kind)}")
    else:
        raw = _read_text(name, data, limits, ext)
    if not raw.records:
        raise CohortError(f"{name} has a header but no data rows")
    return _to_table(raw), raw.problems


def read_file(
    source: Any, *, limits: Limits | None = None, sheet: str | int | None = None
) -> FileTable:
    """Read a file as it is, without mapping or validation, with the file row of each row.

    The frame's columns have object dtype: text cells are trimmed ``str`` (blank,
    ``NA`` and ``N/A`` become ``None``); Excel and Parquet cells keep their native
    types. Rows with no value are skipped. Beside the frame, the
    :class:`~blinastudy.data.table.FileTable` holds the row number of each row as the
    user counts them (the header on row 1 and blank rows counted; the sheet's numbers
    in Excel; from 1 in Parquet), the file name, whether decimal commas are read and
    notes on how the file was read. Give it to :func:`suggest_mapping`,
    :func:`~blinastudy.data.mapping.review_mapping` and :func:`load_file` so that their
    messages name the rows as the file numbers them.

    Parameters
    ----------
    source
        Path (``str`` or :class:`pathlib.Path`), an uploaded file (an object with
        ``.name`` and ``.getvalue()`` or ``.read()``) or raw ``bytes``.
    limits
        Size limits (default :class:`Limits`).
    sheet
        Excel sheet name or 0-based index (default: the first sheet).

    Raises
    ------
    CohortError
        For any file that cannot be read, with a one-line reason.

    Examples
    --------
    >>> import io
    >>> upload = io.BytesIO(b"Patient ID;EFS\\n\\nP1; 3,5 \\n\\n")
    >>> upload.name = "cohort.csv"
    >>> raw = read_file(upload)
    >>> raw.frame.to_dict("list"), raw.rows.tolist(), raw.source, raw.decimal_comma
    ({'Patient ID': ['P1'], 'EFS': ['3,5']}, [3], 'cohort.csv', True)
    >>> raw.notes[0]
    'read as semicolon-separated text, UTF-8'
    """
    table, problems = _read(source, limits, sheet)
    if problems:
        raise CohortError(_headline(str(table.source), problems), problems)
    return table


def read_table(
    source: Any, *, limits: Limits | None = None, sheet: str | int | None = None
) -> pd.DataFrame:
    """Read a file as it is, without mapping or validation: the frame of :func:`read_file`.

    The file row numbers, file name and reading notes are only in :func:`read_file`'s
    :class:`~blinastudy.data.table.FileTable`: pass that on to keep them (a frame given
    to :func:`load_cohort` counts its rows from 2).

    Parameters
    ----------
    source, limits, sheet
        As for :func:`read_file`.

    Raises
    ------
    CohortError
        As :func:`read_file`.

    Examples
    --------
    >>> read_table(b"ID,EFS\\nP1,3.5\\n").to_dict("list")
    {'ID': ['P1'], 'EFS': ['3.5']}
    """
    return read_file(source, limits=limits, sheet=sheet).frame


def _table_of(
    source: Any, limits: Limits | None, sheet: str | int | None
) -> tuple[FileTable, list[Problem]]:
    """A table already read (a FileTable, or a DataFrame with rows 2, 3, ...), or the
    file ``source`` read now."""
    if isinstance(source, FileTable | pd.DataFrame):
        return as_file_table(source), []
    return _read(source, limits, sheet)


def _headline(name: str, problems: Sequence[Problem]) -> str:
    n = len(problems)
    return f"{name} has {n} problem{'s' if n != 1 else ''}"


# --------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------

_LEADING_ZERO = re.compile(r"[+-]?0\d")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _infer_extra(series: pd.Series[Any], decimal_comma: bool) -> pd.Series[Any]:
    """An extra column of plain numbers becomes float; anything else stays as read.

    Texts with a leading zero (``007``) or more than 15 digits, and integers beyond
    2**53, stay as they are: a float would change them.
    """
    if series.dtype != object:
        return series
    values = [v for v in series.tolist() if not is_missing(v)]
    if not values:
        return series
    if all(isinstance(v, _dt.datetime) for v in values):
        try:
            return pd.to_datetime(series)
        except (ValueError, TypeError, OverflowError):
            return series
    out: list[float] = []
    for v in series.tolist():
        number = _extra_number(v, decimal_comma)
        if number is None:
            return series
        out.append(number)
    return pd.Series(out, index=series.index, dtype="float64", name=series.name)


def _extra_number(value: Any, decimal_comma: bool) -> float | None:
    """One extra-column cell as a float (NaN when missing), or None when it is not a plain number."""
    if is_missing(value):
        return math.nan
    if isinstance(value, bool | np.bool_):
        return None
    if isinstance(value, int | np.integer):
        return None if abs(int(value)) > 2**53 else float(value)
    if isinstance(value, float | np.floating):
        return float(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if _LEADING_ZERO.match(text) or sum(c.isdigit() for c in text) > 15:
        return None
    if _PLAIN_NUMBER.fullmatch(text):
        number = float(text)
    elif decimal_comma and _COMMA_DECIMAL.fullmatch(text):
        number = float(text.replace(",", "."))
    else:
        return None
    return number if math.isfinite(number) else None


def _decimal_problems(frame: pd.DataFrame, rows: Sequence[int]) -> list[Problem]:
    problems = []
    for spec_name in CANONICAL_COLUMNS:
        spec = column_spec(spec_name)
        if spec.kind not in ("number", "integer") or spec_name not in frame.columns:
            continue
        values = frame[spec_name].tolist()
        if not any(isinstance(v, str) and _COMMA_DECIMAL.fullmatch(v.strip()) for v in values):
            continue
        for pos, v in enumerate(values):
            if isinstance(v, str) and _THOUSANDS_LIKE.fullmatch(v.strip()):
                problems.append(
                    Problem(
                        rows[pos],
                        spec_name,
                        v,
                        "the column uses decimal commas but this cell has a point; write it with"
                        " a comma (or without a thousands separator)",
                    )
                )
    return problems


def _missing_column_hints(raw: pd.DataFrame, problems: list[Problem]) -> list[Problem]:
    missing = {
        p.column for p in problems if p.row is None and p.message == "required column is missing"
    }
    if not missing:
        return problems
    try:
        suggestion = suggest_mapping(raw)
    except InputError:
        return problems
    looks = {dst: src for src, dst in suggestion.columns.items()}
    out = []
    for p in problems:
        if p.row is None and p.column in missing and p.column in looks:
            p = dataclasses.replace(
                p,
                message=f"required column is missing; the file's column {looks[p.column]!r}"
                " looks like it (map it with a Mapping; see suggest_mapping)",
            )
        out.append(p)
    return out


def _conform(
    raw: FileTable,
    mapping: Mapping | None,
    *,
    source: str | None = None,
    require_both_arms: bool = False,
) -> tuple[FileTable, list[Problem]]:
    """Map and check one raw table; problems carry ``source`` when given."""
    try:
        renamed = rename_columns(raw.frame, mapping)
        mapped, mapping_problems = map_cohort(raw, mapping)
    except CohortError as exc:
        return raw, [dataclasses.replace(p, source=source) for p in exc.problems]
    decimal_comma = raw.decimal_comma
    extra = _decimal_problems(mapped, raw.rows.tolist()) if decimal_comma else []
    typed, problems = check_cohort(
        mapped,
        rows=raw.rows,
        original=renamed,
        decimal_comma=decimal_comma,
        require_both_arms=require_both_arms,
    )
    problems = _missing_column_hints(raw.frame, problems) + extra + mapping_problems
    problems = [dataclasses.replace(p, source=source) for p in problems]
    for name in typed.columns:
        if name not in CANONICAL_COLUMNS:
            typed[name] = _infer_extra(typed[name], decimal_comma)
    return raw.with_frame(typed), problems


def load_file(
    source: Any,
    mapping: Mapping | None = None,
    *,
    limits: Limits | None = None,
    sheet: str | int | None = None,
    require_both_arms: bool = False,
) -> FileTable:
    """Read, map and validate a cohort file; return the canonical table with its file rows.

    Parameters
    ----------
    source
        Path, uploaded file (``.name`` plus ``.getvalue()``/``.read()``) or ``bytes``.
        The format follows the extension (``.csv``, ``.tsv``, ``.txt``, ``.xlsx``,
        ``.xlsm``, ``.parquet``), or the content when the extension says nothing. A
        :class:`~blinastudy.data.table.FileTable` (from :func:`read_file`) is a file
        already read: it is mapped and checked without reading anything again, its
        rows named as the file numbers them. A DataFrame is a table already read whose
        rows are numbered 2, 3, ... (a header on row 1).
    mapping, limits, sheet, require_both_arms
        As for :func:`load_cohort`.

    Returns
    -------
    FileTable
        ``frame``: one row per data row of the file, in file order, with a fresh
        ``RangeIndex``. Canonical columns first (text and categories as ``str``,
        numbers ``float64``, required 0/1 columns ``int64``, optional integer and 0/1
        columns ``Int64``), then the file's other columns as read (plain-number columns
        as ``float64``). ``rows``: the file row of each (pass them to
        :func:`blinastudy.analysis.analyze` as ``file_rows`` to have excluded patients
        listed with their row); ``source`` and ``notes`` as read.

    Raises
    ------
    CohortError
        As :func:`load_cohort`.

    Examples
    --------
    >>> import io
    >>> text = (b"patient_id,arm,efs_months,efs_event,os_months,os_event\\n"
    ...         b"P1,Blina,12.5,0,12.5,0\\n\\n"
    ...         b"P2,chemotherapy,8,1,20,1\\n")
    >>> upload = io.BytesIO(text); upload.name = "cohort.csv"
    >>> table = load_file(upload)
    >>> table.frame["arm"].tolist(), table.rows.tolist(), table.source
    (['blinatumomab', 'chemotherapy'], [2, 4], 'cohort.csv')
    >>> bad = io.BytesIO(text.replace(b"8,1,20", b"8,1,7")); bad.name = "cohort.csv"
    >>> load_file(read_file(bad))  # a file already read: rows as the file numbers them
    Traceback (most recent call last):
    ...
    blinastudy.data.schema.CohortError: cohort.csv has 1 problem:
    - row 4, column 'os_months', value '7': os_months is before efs_months (8); OS must be >= EFS
    """
    if mapping is not None and not isinstance(mapping, Mapping):
        raise CohortError(f"mapping must be a Mapping, got {type(mapping).__name__}")
    raw, read_problems = _table_of(source, limits, sheet)
    typed, problems = _conform(raw, mapping, require_both_arms=require_both_arms)
    problems = read_problems + problems
    if problems:
        problems.sort(key=lambda p: -1 if p.row is None else p.row)
        raise CohortError(_headline(raw.source or "the file", problems), problems)
    return typed


def load_cohort(
    source: Any,
    mapping: Mapping | None = None,
    *,
    limits: Limits | None = None,
    sheet: str | int | None = None,
    require_both_arms: bool = False,
) -> pd.DataFrame:
    """Read, map and validate a cohort file; return the canonical table.

    The frame of :func:`load_file`, which also gives the file row of each row.

    Parameters
    ----------
    source
        Path, uploaded file (``.name`` plus ``.getvalue()``/``.read()``) or ``bytes``.
        The format follows the extension (``.csv``, ``.tsv``, ``.txt``, ``.xlsx``,
        ``.xlsm``, ``.parquet``), or the content when the extension says nothing. A
        :class:`~blinastudy.data.table.FileTable` (:func:`read_file`) or a DataFrame
        (:func:`read_table`) is taken as a file already read: it is mapped and checked
        without reading anything again (a DataFrame's rows are numbered 2, 3, ...).
    mapping
        How the file's columns, units and codes translate (default: the file already
        uses canonical names, months, percent and 0/1 codes).
    limits
        Size limits (default :class:`Limits`: 50 MB, 200,000 rows, 500 columns).
    sheet
        Excel sheet name or 0-based index (default: the first sheet).
    require_both_arms
        Also require patients in both arms.

    Returns
    -------
    pandas.DataFrame
        One row per data row of the file, in file order, with a fresh ``RangeIndex``.
        Canonical columns first (text and categories as ``str``, numbers ``float64``,
        required 0/1 columns ``int64``, optional integer and 0/1 columns ``Int64``),
        then the file's other columns as read (plain-number columns as ``float64``).

    Raises
    ------
    CohortError
        Listing every problem (column, row as the user counts it, value), or giving a
        one-line reason for a file that cannot be read at all.

    Examples
    --------
    >>> import io
    >>> text = (b"patient_id,arm,efs_months,efs_event,os_months,os_event,notes\\n"
    ...         b"P1,Blina,12.5,0,12.5,0,=HYPERLINK(1)\\n"
    ...         b"P2,chemotherapy,8,1,20,1,NA\\n")
    >>> upload = io.BytesIO(text); upload.name = "cohort.csv"
    >>> frame = load_cohort(upload)
    >>> frame[["patient_id", "arm", "efs_months", "notes"]].values.tolist()
    [['P1', 'blinatumomab', 12.5, '=HYPERLINK(1)'], ['P2', 'chemotherapy', 8.0, None]]
    >>> load_cohort(read_file(upload)).equals(frame)  # a file already read
    True
    >>> bad = io.BytesIO(text.replace(b"8,1,20", b"8,1,7")); bad.name = "cohort.csv"
    >>> load_cohort(bad)
    Traceback (most recent call last):
    ...
    blinastudy.data.schema.CohortError: cohort.csv has 1 problem:
    - row 3, column 'os_months', value '7': os_months is before efs_months (8); OS must be >= EFS
    """
    return load_file(
        source, mapping, limits=limits, sheet=sheet, require_both_arms=require_both_arms
    ).frame


# --------------------------------------------------------------------------------------
# Two files: treated cohort + historical pool
# --------------------------------------------------------------------------------------


def _patients_in_two_files(labels: list[str], parts: list[FileTable]) -> list[Problem]:
    """A problem for each patient id that an earlier file already has."""
    found: list[Problem] = []
    first: dict[str, tuple[str, int]] = {}
    for label, part in zip(labels, parts, strict=True):
        if "patient_id" not in part.frame.columns:
            continue
        rows = part.rows.tolist()
        for pos, pid in enumerate(part.frame["patient_id"].tolist()):
            if pid is None or (isinstance(pid, float) and math.isnan(pid)):
                continue
            key = str(pid)
            if key in first and first[key][0] != label:
                where, row = first[key]
                found.append(
                    Problem(
                        rows[pos],
                        "patient_id",
                        key,
                        f"this patient is also in {where} (row {row}); a patient can be in one"
                        " file only",
                        label,
                    )
                )
            else:
                first.setdefault(key, (label, rows[pos]))
    return found


def combine_files(
    treated: Any,
    pool: Any,
    *,
    arms: tuple[str, str] = ("blinatumomab", "chemotherapy"),
    mappings: tuple[Mapping | None, Mapping | None] = (None, None),
    require_both_arms: bool = True,
    limits: Limits | None = None,
) -> FileTable:
    """Stack a treated cohort and a historical control pool into one validated cohort,
    with the file and file row of each row.

    Each input is a file (as for :func:`load_file`), a
    :class:`~blinastudy.data.table.FileTable` (read or loaded) or a DataFrame (raw,
    mapped or already loaded; its rows numbered 2, 3, ... and named ``treated`` or
    ``pool`` in messages). A table without an ``arm`` column gets ``arms[0]``
    (treated) or ``arms[1]`` (pool) for every row; a table with one keeps its own
    values. Both tables are checked against the data dictionary and a ``patient_id``
    present in both is an error. Columns present in only one table are kept (missing
    for the other's rows).

    Parameters
    ----------
    treated, pool
        The two cohorts.
    arms
        Arm given to the rows of ``treated`` and ``pool`` that have no arm column.
    mappings
        Optional :class:`~blinastudy.data.mapping.Mapping` for each input.
    require_both_arms
        Report a problem unless the combined cohort has both arms.
    limits
        Size limits for inputs given as files.

    Returns
    -------
    FileTable
        ``frame``: treated rows first, then the pool, with canonical dtypes;
        ``sources`` and ``rows``: the file and file row of each row; ``source``: the
        two files' names joined by ``" + "``.

    Raises
    ------
    CohortError
        Listing the problems of both inputs, each naming its file.

    Examples
    --------
    >>> import io
    >>> head = b"patient_id,efs_months,efs_event,os_months,os_event\\n"
    >>> treated = io.BytesIO(head + b"T1,5,0,5,0\\n\\nT2,6,1,9,0\\n"); treated.name = "treated.csv"
    >>> pool = io.BytesIO(head + b"C1,7,0,7,0\\n"); pool.name = "pool.csv"
    >>> both = combine_files(treated, pool)
    >>> both.frame["arm"].tolist(), both.rows.tolist(), both.sources
    (['blinatumomab', 'blinatumomab', 'chemotherapy'], [2, 4, 2], ('treated.csv', 'treated.csv', 'pool.csv'))
    """
    if len(arms) != 2:
        raise CohortError("arms must name two arms, for the treated file and the pool")
    canonical_arms = []
    for arm in arms:
        canon = category_value("arm", arm)
        if canon is None:
            allowed = ", ".join(column_spec("arm").values)
            raise CohortError(f"arms: {arm!r} is not one of {allowed}")
        canonical_arms.append(canon)
    if canonical_arms[0] == canonical_arms[1]:
        raise CohortError("arms must be two different arms")
    if len(mappings) != 2:
        raise CohortError("mappings must give one mapping (or None) per input")
    parts: list[FileTable] = []
    labels: list[str] = []
    problems: list[Problem] = []
    for default, item, arm, mapping in (
        ("treated", treated, canonical_arms[0], mappings[0]),
        ("pool", pool, canonical_arms[1], mappings[1]),
    ):
        raw, read_problems = _table_of(item, limits, None)
        label = raw.source or default
        if label in labels:
            label = f"{label} ({default})"
        renamed_arm = mapping is not None and (
            mapping.arm is not None or "arm" in mapping.columns.values()
        )
        if not renamed_arm and "arm" not in raw.frame.columns:
            mapping = dataclasses.replace(mapping or Mapping(), arm=arm)
        typed, found = _conform(raw, mapping, source=label)
        problems.extend(dataclasses.replace(p, source=label) for p in read_problems)
        problems.extend(found)
        parts.append(typed)
        labels.append(label)
    problems.extend(_patients_in_two_files(labels, parts))
    headline = f"the combined cohort ({' + '.join(labels)})"
    if problems:
        raise CohortError(_headline(headline, problems), problems)
    rows = np.concatenate([p.rows for p in parts])
    sources = tuple(label for label, p in zip(labels, parts, strict=True) for _ in range(len(p)))
    stacked = pd.concat(
        [p.frame.reset_index(drop=True) for p in parts], ignore_index=True, sort=False
    )
    # Re-derive canonical dtypes (a column present in one file only is missing for the other).
    positions = list(range(len(stacked)))
    combined, problems = check_cohort(stacked, rows=positions, require_both_arms=require_both_arms)
    if problems:
        problems = [
            p
            if p.row is None
            else dataclasses.replace(p, row=int(rows[p.row]), source=sources[p.row])
            for p in problems
        ]
        raise CohortError(_headline(headline, problems), problems)
    for name in combined.columns:
        if name not in CANONICAL_COLUMNS:
            combined[name] = _infer_extra(combined[name], False)
    return FileTable(combined, rows, source=" + ".join(labels), sources=sources)


def combine_cohorts(
    treated: Any,
    pool: Any,
    *,
    arms: tuple[str, str] = ("blinatumomab", "chemotherapy"),
    mappings: tuple[Mapping | None, Mapping | None] = (None, None),
    require_both_arms: bool = True,
    limits: Limits | None = None,
) -> pd.DataFrame:
    """Stack a treated cohort and a historical control pool into one validated cohort.

    The frame of :func:`combine_files` (which also gives the file and file row of each
    row; see it for the rules). Each input is a file (as for :func:`load_cohort`), a
    :class:`~blinastudy.data.table.FileTable` or a DataFrame (raw, mapped or already
    loaded).

    Parameters
    ----------
    treated, pool, arms, mappings, require_both_arms, limits
        As for :func:`combine_files`.

    Returns
    -------
    pandas.DataFrame
        Treated rows first, then the pool, with canonical dtypes.

    Raises
    ------
    CohortError
        Listing the problems of both inputs, each naming its file.

    Examples
    --------
    >>> import pandas as pd
    >>> base = {"efs_months": [5.0], "efs_event": [0], "os_months": [5.0], "os_event": [0]}
    >>> both = combine_cohorts(pd.DataFrame({"patient_id": ["T1"], **base}),
    ...                        pd.DataFrame({"patient_id": ["C1"], **base}))
    >>> both[["patient_id", "arm"]].values.tolist()
    [['T1', 'blinatumomab'], ['C1', 'chemotherapy']]
    """
    return combine_files(
        treated,
        pool,
        arms=arms,
        mappings=mappings,
        require_both_arms=require_both_arms,
        limits=limits,
    ).frame


# --------------------------------------------------------------------------------------
# Content hash
# --------------------------------------------------------------------------------------


def _cell_bytes(value: Any) -> bytes:
    if value is None or value is pd.NA or value is pd.NaT:
        return b"n"
    if isinstance(value, str):
        raw = value.encode("utf-8", "surrogatepass")
        return b"s" + len(raw).to_bytes(8, "little") + raw
    if isinstance(value, bool | np.bool_):
        return b"b1" if value else b"b0"
    if isinstance(value, int | np.integer):
        return b"i" + str(int(value)).encode() + b";"
    if isinstance(value, float | np.floating):
        f = float(value)
        if math.isnan(f):
            return b"n"
        return b"f" + (0.0 if f == 0 else f).hex().encode() + b";"
    if isinstance(value, pd.Timestamp | _dt.datetime | _dt.date | _dt.time):
        text = value.isoformat().encode()
        return b"t" + len(text).to_bytes(8, "little") + text
    text = repr(value).encode("utf-8", "backslashreplace")
    return b"r" + len(text).to_bytes(8, "little") + text


def content_hash(frame: pd.DataFrame) -> str:
    """SHA-256 (hex) of a frame's column names, column kinds and values, in order.

    Identical content in identical row and column order gives the same hash on any
    machine and pandas version; reordering rows or columns changes it, as does any
    value or a column's kind (``"1"`` text is not ``1.0``). The index and ``attrs``
    are ignored; ``-0.0`` equals ``0.0`` and all missing values are alike.

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"x": [1.0, None], "y": ["a", "b"]})
    >>> content_hash(a) == content_hash(a.set_index(pd.Index([7, 8])))
    True
    >>> content_hash(a) == content_hash(a.iloc[::-1])
    False
    >>> len(content_hash(a))
    64
    """
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"content_hash needs a DataFrame, got {type(frame).__name__}")
    h = hashlib.sha256()
    h.update(b"blinastudy-content-v1\x00")
    h.update(f"{frame.shape[0]}x{frame.shape[1]}\x00".encode())
    for i in range(frame.shape[1]):
        h.update(_cell_bytes(str(frame.columns[i])))
        column = frame.iloc[:, i]
        dtype = column.dtype
        if dtype.kind == "f":
            arr = column.to_numpy(dtype="<f8", copy=True)
            arr[arr == 0] = 0.0
            arr[np.isnan(arr)] = np.nan
            h.update(b"F" + arr.tobytes())
        elif dtype.kind in "iu" and not isinstance(dtype, pd.api.extensions.ExtensionDtype):
            h.update(b"I" + column.to_numpy(dtype="<i8").tobytes())
        elif dtype.kind == "b" and not isinstance(dtype, pd.api.extensions.ExtensionDtype):
            h.update(b"B" + column.to_numpy(dtype=bool).tobytes())
        else:
            values = column.tolist()
            if all(type(v) is str or is_missing(v) for v in values):
                # Fast path for text: lengths (-1 = missing), then the UTF-8 bytes.
                encoded = [
                    v.encode("utf-8", "surrogatepass") if type(v) is str else b"" for v in values
                ]
                lengths = np.array(
                    [
                        len(e) if type(v) is str else -1
                        for v, e in zip(values, encoded, strict=True)
                    ],
                    dtype="<i8",
                )
                h.update(b"S" + lengths.tobytes() + b"".join(encoded))
            else:
                h.update(b"O")
                for value in values:
                    h.update(_cell_bytes(value))
        h.update(b"\x00")
    return h.hexdigest()


# --------------------------------------------------------------------------------------
# Direct identifiers
# --------------------------------------------------------------------------------------

_ID_NAME_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), why)
    for p, why in (
        (
            r"\b(first|last|given|family|full|sur|middle|maiden|patient|child|mother|father|"
            r"parent)s? ?names?\b|^names?$|^surname$|^fio$|^фио$",
            "a name",
        ),
        (
            r"\b(mrn|medical record|record (no|number|nr)|hospital (no|number|id)|case number|"
            r"nhs|chi number|insurance|ssn|social security|passport|national id|snils|polis|"
            r"medical card)\b",
            "a record or registry number",
        ),
        (r"\b(dob|d o b|date of birth|birth ?date|born|birthday)\b", "a date of birth"),
        (r"\b(address|street|city|town|postcode|post code|zip|zip code|residence)\b", "an address"),
        (r"\b(phone|telephone|tel|mobile|cell phone|fax)\b", "a phone number"),
        (r"\b(e ?mail)\b", "an e-mail address"),
        (r"\b(initials)\b", "initials"),
    )
)

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]{2,}")
_PHONE = re.compile(r"\+?[\d\s().-]{7,}")
_DECIMAL_NUMBER = re.compile(r"[1-9]\d*\.\d+|[1-9]\d*")
_DATE = re.compile(
    r"(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?"
)
_PERSON = re.compile(r"[^\W\d_][^\W\d_'.-]*(?:[- ,]+[^\W\d_][^\W\d_'.-]*){1,3}\.?")


def _header_words(name: str) -> str:
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", str(name))
    return " ".join(re.findall(r"[^\W_]+", text.casefold()))


def _value_reason(values: list[Any]) -> str | None:
    if not values:
        return None
    n = len(values)
    if all(isinstance(v, _dt.date | _dt.datetime | pd.Timestamp | np.datetime64) for v in values):
        return "exact dates (possibly dates of birth)"
    texts = [v.strip() for v in values if isinstance(v, str)]
    if len(texts) < max(1, n // 2):
        return None
    if sum(bool(_EMAIL.fullmatch(t)) for t in texts) >= 0.5 * len(texts):
        return "e-mail addresses"
    phones = [
        t
        for t in texts
        if _PHONE.fullmatch(t)
        and 9 <= sum(c.isdigit() for c in t) <= 15
        and not _DECIMAL_NUMBER.fullmatch(t)
        and (t.startswith(("+", "0", "(")) or re.search(r"\d[\s.-]\d", t))
    ]
    if len(phones) >= 0.5 * len(texts):
        return "phone numbers"
    if sum(bool(_DATE.fullmatch(t)) for t in texts) >= 0.8 * len(texts):
        return "exact dates (possibly dates of birth)"
    people = [
        t
        for t in texts
        if _PERSON.fullmatch(t)
        and all(w[:1].isupper() for w in re.split(r"[- ,]+", t.rstrip(".")) if w)
    ]
    distinct = len(set(texts))
    if len(people) >= 0.8 * len(texts) and distinct >= max(3, 0.8 * len(texts)):
        return "personal names"
    return None


def identifier_reasons(
    frame: pd.DataFrame, *, mapping: Mapping | None = None, sample: int = 1000
) -> dict[str, str]:
    """Columns that look like direct identifiers, each with the reason.

    Flags columns whose *name* suggests a name, medical record or registry number,
    date of birth, address, phone number or e-mail, and columns whose *values* look
    like e-mail addresses, phone numbers, exact dates or personal names ("Ivan
    Petrov", "SMITH, John"). Canonical columns other than ``patient_id`` are never
    flagged; ``patient_id`` is checked by value only. Only the first ``sample``
    non-missing values of a column are examined.

    With the file's ``mapping``, columns it maps are judged by what they become: a
    column mapped to a canonical column other than ``patient_id``, a date mapped to a
    role (diagnosis, relapse, ...) and the status column are not identifiers (their
    dates are turned into times and not kept; a date of birth mapped to compute age is
    dropped once the age is computed). Unmapped full dates are still flagged.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"patient_id": ["P1", "P2", "P3"], "MRN": ["1", "2", "3"],
    ...                       "contact": ["a@b.org", "c@d.org", "e@f.org"]})
    >>> identifier_reasons(frame)
    {'MRN': 'column name suggests a record or registry number', 'contact': 'values look like e-mail addresses'}
    >>> raw = pd.DataFrame({"Date of diagnosis": ["2019-03-14"], "Date of birth": ["2015-01-02"],
    ...                     "Date of HSCT": ["2019-09-01"]})
    >>> list(identifier_reasons(raw, mapping=Mapping(dates={"diagnosis": "Date of diagnosis"})))
    ['Date of birth', 'Date of HSCT']
    """
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"identifier_reasons needs a DataFrame, got {type(frame).__name__}")
    if mapping is not None and not isinstance(mapping, Mapping):
        raise InputError(f"mapping must be a Mapping, got {type(mapping).__name__}")
    found: dict[str, str] = {}
    for i in range(frame.shape[1]):
        name = str(frame.columns[i])
        if name in CANONICAL_COLUMNS and name != "patient_id":
            continue
        target = None if mapping is None else mapping.target_of(name)
        if target is not None and target != "patient_id":
            continue
        if name != "patient_id":
            words = _header_words(name)
            for pattern, why in _ID_NAME_PATTERNS:
                if pattern.search(words):
                    found[name] = f"column name suggests {why}"
                    break
            if name in found:
                continue
        column = frame.iloc[:, i]
        if column.dtype.kind == "M":
            if column.notna().any():
                found[name] = "values look like exact dates (possibly dates of birth)"
            continue
        if column.dtype.kind in "fiub":
            continue
        values = [v for v in column.tolist()[: sample * 4] if not is_missing(v)][:sample]
        reason = _value_reason(values)
        if reason is not None:
            found[name] = f"values look like {reason}"
    return found


def identifier_columns(frame: pd.DataFrame, *, mapping: Mapping | None = None) -> list[str]:
    """Names of columns that look like direct identifiers (see :func:`identifier_reasons`).

    Examples
    --------
    >>> import pandas as pd
    >>> identifier_columns(pd.DataFrame({"Surname": ["Ivanov"], "age_years": [4.0],
    ...                                  "Date of birth": ["2015-03-02"]}))
    ['Surname', 'Date of birth']
    """
    return list(identifier_reasons(frame, mapping=mapping))


def drop_columns(frame: pd.DataFrame, columns: str | Iterable[str]) -> pd.DataFrame:
    """Return a copy of ``frame`` without ``columns`` (e.g. flagged identifiers).

    Required canonical columns cannot be dropped; replace an identifying
    ``patient_id`` with a study code instead.

    Raises
    ------
    InputError
        If a column is absent or required.

    Examples
    --------
    >>> import pandas as pd
    >>> list(drop_columns(pd.DataFrame({"patient_id": ["P1"], "Name": ["A B"]}), "Name").columns)
    ['patient_id']
    """
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"drop_columns needs a DataFrame, got {type(frame).__name__}")
    names = [columns] if isinstance(columns, str) else list(columns)
    missing = [c for c in names if c not in frame.columns]
    if missing:
        raise InputError(f"no column(s) {', '.join(map(repr, missing))} to drop")
    required = [c for c in names if c in REQUIRED_COLUMNS]
    if required:
        raise InputError(f"required column(s) {', '.join(map(repr, required))} cannot be dropped")
    return frame.drop(columns=names)

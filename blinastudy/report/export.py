"""Export tables to CSV and Excel without spreadsheet formula injection.

A text cell such as ``=HYPERLINK(...)`` or ``@SUM(...)`` in an exported file can be
run as a formula when someone opens the file in a spreadsheet program. Every export
here first applies :func:`neutralise_formulas`, which puts an apostrophe in front
of text (cells and column names) beginning with ``=``, ``+``, ``-``, ``@``, a tab or
a carriage return. Numbers are never touched: ``-5`` stays the number -5, and floats
are written at full precision.
"""

from __future__ import annotations

import datetime as _dt
import io
import math
import re
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from blinastudy.core.errors import InputError

__all__ = ["FORMULA_PREFIXES", "neutralise_formulas", "to_csv_bytes", "to_excel_bytes"]

#: Leading characters that make a spreadsheet treat text as a formula.
FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")

_EXCEL_MAX_ROWS = 1_048_576
_EXCEL_MAX_COLUMNS = 16_384
_EXCEL_MAX_TEXT = 32_767
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# A signed number written as text ("-0.12", "+1.5e-3"): a spreadsheet reads it as that
# number, never as a formula.
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _is_formula(value: Any, keep_numbers: bool) -> bool:
    return (
        isinstance(value, str)
        and value.startswith(FORMULA_PREFIXES)
        and not (keep_numbers and _NUMBER.fullmatch(value))
    )


def _neutral(value: Any, keep_numbers: bool = False) -> Any:
    return "'" + value if _is_formula(value, keep_numbers) else value


def neutralise_formulas(frame: pd.DataFrame, *, keep_numbers: bool = False) -> pd.DataFrame:
    """Return a copy in which no text cell or column name can start a formula.

    Text beginning with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a
    leading apostrophe; every other cell, and every number, is unchanged. Text in
    categorical columns is handled too (the column becomes plain object dtype). With
    ``keep_numbers``, text that is only a signed number (``"-0.12"``, a formatted table
    cell) is kept as it is: for display, where the apostrophe would only be noise.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"=x": ["=1+1", "@SUM(A1)", "ok", None], "n": [-5.0, 1, 2, 3]})
    >>> out = neutralise_formulas(frame)
    >>> list(out.columns), out["'=x"].tolist(), out["n"].tolist()
    (["'=x", 'n'], ["'=1+1", "'@SUM(A1)", 'ok', None], [-5.0, 1.0, 2.0, 3.0])
    >>> neutralise_formulas(pd.DataFrame({"d": ["-0.12", "-1+2"]}), keep_numbers=True)["d"].tolist()
    ['-0.12', "'-1+2"]
    """
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"neutralise_formulas needs a DataFrame, got {type(frame).__name__}")
    out = frame.copy()
    out.attrs = dict(frame.attrs)
    for i in range(out.shape[1]):
        column = out.iloc[:, i]
        dtype = column.dtype
        if isinstance(dtype, pd.CategoricalDtype):
            column = column.astype(object)
        elif dtype.kind != "O" and not isinstance(dtype, pd.StringDtype):
            continue
        values = column.tolist()
        if any(_is_formula(v, keep_numbers) for v in values):
            new = pd.Series(
                [_neutral(v, keep_numbers) for v in values], index=out.index, dtype=column.dtype
            )
            out.isetitem(i, new.array)
        elif column.dtype != dtype:
            out.isetitem(i, column.array)
    out.columns = pd.Index([_neutral(c, keep_numbers) for c in out.columns], dtype=object)
    return out


def to_csv_bytes(frame: pd.DataFrame, *, encoding: str = "utf-8") -> bytes:
    """CSV bytes of ``frame`` (no index), after :func:`neutralise_formulas`.

    Numbers keep full precision (``repr`` of each float); missing values are blank.
    Use ``encoding="utf-8-sig"`` for spreadsheet programs that need a byte-order
    mark to recognise UTF-8.

    Examples
    --------
    >>> import pandas as pd
    >>> to_csv_bytes(pd.DataFrame({"id": ["-P1"], "x": [-0.1]}))
    b"id,x\\n'-P1,-0.1\\n"
    """
    safe = neutralise_formulas(frame)
    try:
        text = safe.to_csv(index=False, lineterminator="\n")
    except Exception as exc:  # an unusual cell type pandas cannot write
        raise InputError(f"the table could not be written as CSV ({type(exc).__name__})") from None
    try:
        return text.encode(encoding)
    except (LookupError, UnicodeEncodeError) as exc:
        raise InputError(f"the table cannot be encoded as {encoding} ({exc})") from None


def _excel_value(value: Any, column: str, row: int) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool | int | Decimal):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, _dt.datetime | _dt.time) and value.tzinfo is not None:
        raise InputError(
            f"column {column!r}, row {row}: Excel cannot store time zones; convert the"
            " column to local or UTC time first"
        )
    if isinstance(value, _dt.datetime | _dt.date | _dt.time | _dt.timedelta):
        return value
    if isinstance(value, pd.Timedelta):
        return value.to_pytimedelta()
    text = value if isinstance(value, str) else str(value)
    if _ILLEGAL.search(text):
        raise InputError(
            f"column {column!r}, row {row}: the text holds control characters that Excel"
            " cannot store; export the table as CSV or remove them"
        )
    if len(text) > _EXCEL_MAX_TEXT:
        raise InputError(
            f"column {column!r}, row {row}: text longer than Excel's {_EXCEL_MAX_TEXT:,}"
            " characters per cell"
        )
    return _neutral(text)


def to_excel_bytes(frame: pd.DataFrame, *, sheet_name: str = "cohort") -> bytes:
    """An ``.xlsx`` workbook of ``frame`` (no index), after :func:`neutralise_formulas`.

    Text cells are stored as text, numbers as numbers (``-5`` stays a number), dates
    as dates and missing values as empty cells. Nothing is written as a formula.

    Raises
    ------
    InputError
        If the table exceeds Excel's size limits, holds time-zone-aware times or
        characters Excel cannot store (control characters).

    Examples
    --------
    >>> import io, openpyxl, pandas as pd
    >>> data = to_excel_bytes(pd.DataFrame({"note": ["=1+1"], "x": [-5]}))
    >>> ws = openpyxl.load_workbook(io.BytesIO(data)).active
    >>> [[c.value for c in row] for row in ws.iter_rows()]
    [['note', 'x'], ["'=1+1", -5]]
    """
    import openpyxl

    safe = neutralise_formulas(frame)
    n_rows, n_cols = safe.shape
    if n_rows + 1 > _EXCEL_MAX_ROWS or n_cols > _EXCEL_MAX_COLUMNS:
        raise InputError(
            f"the table ({n_rows:,} rows x {n_cols:,} columns) is larger than an Excel sheet"
        )
    if (
        not isinstance(sheet_name, str)
        or not 1 <= len(sheet_name) <= 31
        or any(ch in sheet_name for ch in "[]:*?/\\")
    ):
        raise InputError("sheet_name must be 1 to 31 characters, none of [ ] : * ? / \\")
    names = [str(c) if not isinstance(c, str) else c for c in safe.columns]
    columns = [safe.iloc[:, i].tolist() for i in range(n_cols)]
    # Convert (and check) every cell before the workbook is opened.
    rows = [[_excel_value(name, name, 1) for name in names]]
    rows.extend(
        [_excel_value(columns[c][r], names[c], r + 2) for c in range(n_cols)] for r in range(n_rows)
    )
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet(title=sheet_name)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()

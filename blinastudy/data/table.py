"""A table read from a file, kept together with the file row of each of its rows.

Messages about a cohort name a patient by the row of the file the user sees: the header
is row 1, blank rows count, an Excel sheet numbers rows itself and Parquet counts from
1. Those row numbers, the file's name, the reader's notes and whether the file writes
decimal commas travel in a :class:`FileTable`, beside the frame, never in
``DataFrame.attrs`` (which pandas drops or leaves misaligned through concatenation,
filtering and some constructors). The readers
(:func:`blinastudy.data.cohort.read_file`), loading
(:func:`~blinastudy.data.cohort.load_file`) and stacking
(:func:`~blinastudy.data.cohort.combine_files`) return one; mapping and validation take
one wherever they take a table read from a file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from blinastudy.core.errors import InputError

__all__ = ["FileTable", "RowNumbers", "as_file_rows", "as_file_table"]

RowArray = npt.NDArray[np.int64]
#: Row numbers as callers give them: a sequence of ints or an integer array.
RowNumbers = Sequence[int] | npt.NDArray[np.integer[Any]]


def as_file_rows(rows: Any, n: int, what: str = "rows") -> RowArray:
    """Row numbers as the user counts them: a read-only ``int64`` array of ``n`` entries.

    Parameters
    ----------
    rows
        Whole numbers of at least 1, one per row (a sequence or an integer array).
    n
        How many rows the table has.
    what
        The argument's name, for messages.

    Raises
    ------
    InputError
        When ``rows`` is not one whole number of at least 1 per row.

    Examples
    --------
    >>> r = as_file_rows([2, 3, 5], 3)
    >>> r.tolist(), r.dtype.name, r.flags.writeable
    ([2, 3, 5], 'int64', False)
    >>> as_file_rows([2, 3], 3)
    Traceback (most recent call last):
    ...
    blinastudy.core.errors.InputError: rows has 2 entries but the table has 3 rows
    """
    if isinstance(rows, np.ndarray) and rows.dtype == np.int64 and not rows.flags.writeable:
        values = rows  # already checked and shared: made once, never copied
    else:
        given = np.asarray(rows)
        if given.size == 0:
            given = given.astype(np.int64)
        if given.dtype.kind not in "iu" or given.ndim != 1:
            raise InputError(f"{what} must be whole numbers, one per row")
        values = given.astype(np.int64, copy=True)
        values.flags.writeable = False
    if len(values) != n:
        raise InputError(f"{what} has {len(values)} entries but the table has {n} rows")
    if n and int(values.min()) < 1:
        raise InputError(f"{what} must be row numbers as the user counts them (1 or more)")
    return values


@dataclass(frozen=True, init=False, eq=False)
class FileTable:
    """A table read from a file, with the file row of each of its rows.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table, one row per data row of the file, in file order.
    rows : sequence of int, optional
        The file row of each row of ``frame`` as the user counts them: the header on row 1
        and blank rows counted, an Excel sheet's own numbers, Parquet from 1. Default
        2, 3, ... (a file whose header is row 1, without blank rows). Kept as a read-only
        ``int64`` array.
    source : str, optional
        The file's name (``None``: the table was not read from a named file).
    sources : sequence of str, optional
        For a combined cohort, the file of each row (``rows`` counts within that file).
    notes : sequence of str
        How the file was read (encoding, delimiter, sheet, ...).
    decimal_comma : bool
        Whether text numbers are written with a decimal comma (``1,5``).

    Raises
    ------
    InputError
        When ``frame`` is not a DataFrame or ``rows``/``sources`` do not give one entry
        per row.

    Notes
    -----
    The frame is the caller's (not copied): change a table through :meth:`take` or
    :meth:`with_frame`, never the frame in place, so that each row keeps its number.

    Examples
    --------
    >>> import pandas as pd
    >>> table = FileTable(pd.DataFrame({"patient_id": ["P1", "P2"]}), [2, 4],
    ...                   source="cohort.csv")
    >>> table
    FileTable(source='cohort.csv', rows 2..4, 2 rows x 1 column)
    >>> table.rows.tolist(), table.source_of(1)
    ([2, 4], 'cohort.csv')
    >>> FileTable(pd.DataFrame({"x": [1, 2, 3]})).rows.tolist()  # a header on row 1
    [2, 3, 4]
    """

    frame: pd.DataFrame
    rows: RowArray
    source: str | None
    sources: tuple[str, ...] | None
    notes: tuple[str, ...]
    decimal_comma: bool

    def __init__(
        self,
        frame: pd.DataFrame,
        rows: RowNumbers | None = None,
        *,
        source: str | None = None,
        sources: Sequence[str] | None = None,
        notes: Sequence[str] = (),
        decimal_comma: bool = False,
    ) -> None:
        if not isinstance(frame, pd.DataFrame):
            raise InputError(f"a FileTable holds a pandas DataFrame, got {type(frame).__name__}")
        n = len(frame)
        if rows is None:
            rows = np.arange(2, n + 2, dtype=np.int64)
        per_row = (
            sources if sources is None or isinstance(sources, tuple) else tuple(map(str, sources))
        )
        if per_row is not None and len(per_row) != n:
            raise InputError(f"sources has {len(per_row)} entries but the table has {n} rows")
        object.__setattr__(self, "frame", frame)
        object.__setattr__(self, "rows", as_file_rows(rows, n))
        object.__setattr__(self, "source", None if source is None else str(source))
        object.__setattr__(self, "sources", per_row)
        object.__setattr__(self, "notes", tuple(map(str, notes)))
        object.__setattr__(self, "decimal_comma", bool(decimal_comma))

    def __setstate__(self, state: dict[str, Any]) -> None:
        # a copy or an unpickled table keeps its row numbers read-only
        rows = np.array(state["rows"], dtype=np.int64)
        rows.flags.writeable = False
        self.__dict__.update(state, rows=rows)

    def __len__(self) -> int:
        return len(self.frame)

    def __repr__(self) -> str:
        n, k = self.frame.shape
        span = f"rows {self.rows.min()}..{self.rows.max()}, " if n else ""
        return (
            f"FileTable(source={self.source!r}, {span}{n} row{'s' if n != 1 else ''} x "
            f"{k} column{'s' if k != 1 else ''})"
        )

    def source_of(self, position: int) -> str | None:
        """The file the row at ``position`` (0-based) came from.

        Examples
        --------
        >>> import pandas as pd
        >>> both = FileTable(pd.DataFrame({"x": [1, 2]}), [2, 2], source="a.csv + b.csv",
        ...                  sources=["a.csv", "b.csv"])
        >>> both.source_of(1)
        'b.csv'
        """
        return self.source if self.sources is None else self.sources[position]

    def with_frame(self, frame: pd.DataFrame) -> FileTable:
        """The same file rows, name, notes and decimal-comma flag beside another frame of
        the same rows (the table mapped or checked).

        Raises
        ------
        InputError
            When ``frame`` has another number of rows.

        Examples
        --------
        >>> import pandas as pd
        >>> raw = FileTable(pd.DataFrame({"ID": ["P1"]}), [7], source="c.csv")
        >>> raw.with_frame(pd.DataFrame({"patient_id": ["P1"]})).rows.tolist()
        [7]
        """
        if not isinstance(frame, pd.DataFrame) or len(frame) != len(self.frame):
            raise InputError(
                f"the new frame must be a DataFrame of the table's {len(self.frame)} rows"
            )
        return FileTable(
            frame,
            self.rows,
            source=self.source,
            sources=self.sources,
            notes=self.notes,
            decimal_comma=self.decimal_comma,
        )

    def take(self, positions: Any) -> FileTable:
        """The rows at ``positions`` (0-based, or a boolean mask), each with its file row,
        in a frame indexed 0, 1, ... (a filter, a sort or a sample that keeps the numbers
        right).

        Examples
        --------
        >>> import pandas as pd
        >>> table = FileTable(pd.DataFrame({"x": [10, 20, 30]}), [2, 4, 5])
        >>> kept = table.take(table.frame["x"] > 10)
        >>> kept.frame["x"].tolist(), kept.rows.tolist()
        ([20, 30], [4, 5])
        >>> table.take([2, 0]).rows.tolist()
        [5, 2]
        """
        index = np.asarray(positions)
        if index.dtype == bool:
            if index.shape != (len(self.frame),):
                raise InputError("a mask must have one entry per row of the table")
            index = np.flatnonzero(index)
        elif index.size == 0:
            index = index.astype(np.intp)
        elif index.dtype.kind not in "iu" or index.ndim != 1:
            raise InputError("positions must be whole numbers (0-based) or a boolean mask")
        elif int(index.min()) < 0 or int(index.max()) >= len(self.frame):
            raise InputError(f"positions must lie in 0..{len(self.frame) - 1}")
        return FileTable(
            self.frame.iloc[index].reset_index(drop=True),
            self.rows[index],
            source=self.source,
            sources=None if self.sources is None else [self.sources[i] for i in index],
            notes=self.notes,
            decimal_comma=self.decimal_comma,
        )


def as_file_table(raw: Any, what: str = "raw") -> FileTable:
    """``raw`` as a :class:`FileTable`: itself, or a plain DataFrame with rows 2, 3, ...
    (a file whose header is row 1), no file name and no decimal commas.

    Raises
    ------
    InputError
        When ``raw`` is neither.

    Examples
    --------
    >>> import pandas as pd
    >>> as_file_table(pd.DataFrame({"x": [1.0, 2.0]})).rows.tolist()
    [2, 3]
    >>> as_file_table([1])
    Traceback (most recent call last):
    ...
    blinastudy.core.errors.InputError: raw must be a pandas DataFrame, got list
    """
    if isinstance(raw, FileTable):
        return raw
    if not isinstance(raw, pd.DataFrame):
        raise InputError(f"{what} must be a pandas DataFrame, got {type(raw).__name__}")
    return FileTable(raw)

"""The report's CSV files: the bytes of ``DataFrame.to_csv(index=False, lineterminator="\\n")``,
written faster (issue #18).

pandas hands every cell to the ``csv`` module's writer, which tests each character of each
cell for quoting: about 2 s for the 200k rows of a large report. Here each column becomes its
text once, with NumPy for numbers and times; only text that holds a comma, a quote or a line
break is quoted, the way ``csv.QUOTE_MINIMAL`` does; then rows are joined, a block of rows at a
time so the text never holds a whole file. Columns of another kind (categoricals, naive
times ...) leave the whole frame to pandas. ``tests/test_report_csv.py`` compares both.
"""

from __future__ import annotations

import csv
import io
import os

import numpy as np
import pandas as pd

#: Cells turned into text at a time (rows of a block x columns): bounds the text in memory.
BLOCK_CELLS = 200_000
#: Nullable columns whose numbers NumPy writes as pandas does (a Float32's would differ).
MASKED_NUMBERS = frozenset(
    ("boolean", "Float64", *(f"{u}Int{bits}" for u in ("", "U") for bits in (8, 16, 32, 64)))
)


def write_csv(frame: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write ``frame`` as a report CSV: UTF-8, a header row, no index, "\\n" line ends, empty
    cell for unknown, times with a zone as ISO 8601 UTC ("2026-11-24T06:00:00+00:00")."""
    columns = [_column_text_source(frame.iloc[:, i]) for i in range(frame.shape[1])]
    # a row of one empty cell is written '""', and a header of several levels has more rows
    if len(columns) < 2 or None in columns or frame.columns.nlevels > 1:
        _write_with_pandas(frame, path)
        return
    step = max(1, BLOCK_CELLS // len(columns))
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(_csv_row(list(frame.columns)))
        for begin in range(0, len(frame), step):
            cells = [text(begin, begin + step) for text in columns]
            handle.write("\n".join(map(",".join, zip(*cells, strict=True))) + "\n")


def iso_utc(times: pd.Series) -> np.ndarray:
    """ISO 8601 UTC text ("2026-11-24T06:00:00+00:00"), None for missing; vectorized."""
    naive = times.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[s]")
    # a report's times are a few hundred crawl nights: each distinct one is written out once
    distinct, where = np.unique(naive, return_inverse=True)
    text = np.char.add(np.datetime_as_string(distinct, unit="s"), "+00:00").astype(object)
    text[np.isnat(distinct)] = None
    return text[where.reshape(-1)]


def _write_with_pandas(frame: pd.DataFrame, path: str | os.PathLike) -> None:
    """The plain way, for frames with a column kind ``_column_text_source`` does not know."""
    out = frame.copy()
    for i in range(out.shape[1]):
        if isinstance(out.iloc[:, i].dtype, pd.DatetimeTZDtype):
            out.isetitem(i, iso_utc(out.iloc[:, i]))
    out.to_csv(path, index=False, lineterminator="\n")


def _csv_row(cells: list) -> str:
    """One row through the ``csv`` module itself (the header, and cells to check)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue()


def _column_text_source(column: pd.Series):
    """A function of (begin, end) giving the CSV text of those rows of ``column``, as
    ``to_csv`` writes them; None for a kind of column it does not know."""
    dtype = column.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        return _text_cells(iso_utc(column), quoted=False)
    if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
        values = column.to_numpy()
        return _number_cells(values, np.isnan(values) if dtype.kind == "f" else None)
    if isinstance(dtype, pd.api.extensions.ExtensionDtype) and dtype.name in MASKED_NUMBERS:
        values = column.to_numpy(dtype=dtype.numpy_dtype, na_value=dtype.numpy_dtype.type(0))
        return _number_cells(values, column.isna().to_numpy())
    if pd.api.types.is_object_dtype(dtype) or isinstance(dtype, pd.StringDtype):
        return _text_cells(column.to_numpy(dtype=object), quoted=True)
    return None


def _number_cells(values: np.ndarray, missing: np.ndarray | None):
    """Numbers as NumPy writes them (pandas' own way: ``astype(str)``), "" where missing."""
    # few distinct numbers (prices, years, days): each is written out once, compared by its
    # bits so that -0.0 stays apart from 0.0
    values = np.ascontiguousarray(values)
    bits, where = np.unique(values.view(f"u{values.dtype.itemsize}"), return_inverse=True)
    text = np.append(bits.view(values.dtype).astype(str).astype(object), "")
    where = where.reshape(-1)
    if missing is not None:
        where[missing] = len(text) - 1

    def cells(begin: int, end: int) -> list[str]:
        return text[where[begin:end]].tolist()

    return cells


def _text_cells(values: np.ndarray, *, quoted: bool):
    """Any values as the ``csv`` module writes them (``str()``), "" for unknown, quoted where
    it would (numbers' and times' text never needs it)."""

    def cells(begin: int, end: int) -> list[str]:
        part = values[begin:end].copy()
        part[pd.isna(part)] = ""
        if pd.api.types.infer_dtype(part, skipna=False) == "string":
            out = part.tolist()
        else:
            out = [value if type(value) is str else str(value) for value in part.tolist()]
        return _quote(out) if quoted else out

    return cells


def _quote(cells: list[str]) -> list[str]:
    """``cells`` with those that need it quoted as ``csv.QUOTE_MINIMAL`` does."""
    # most columns hold no comma, quote or line break at all: one search over the joined text
    joined = "\x00".join(cells)
    if "," not in joined and '"' not in joined and "\n" not in joined and "\r" not in joined:
        return cells
    for i, cell in enumerate(cells):
        if "," in cell or '"' in cell or "\n" in cell:
            cells[i] = '"' + cell.replace('"', '""') + '"'
        elif "\r" in cell:  # a lone "\r": quoted or not depending on the Python version
            cells[i] = _csv_row([cell, ""])[:-2]
    return cells

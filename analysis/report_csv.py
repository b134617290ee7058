"""The report's CSV files: the bytes of ``DataFrame.to_csv(index=False, lineterminator="\\n")``,
written faster (issue #18).

pandas hands every cell to the ``csv`` module's writer, which tests each character of each
cell for quoting: about 2 s for the 200k rows of a large report. Here each column becomes an
Arrow array of its cells' text: text columns as they are (pandas keeps them in Arrow already),
numbers and times by writing each distinct value once with NumPy and taking it for every row.
Only text that holds a comma, a quote or a line break is quoted, the way ``csv.QUOTE_MINIMAL``
does; Arrow's compute functions then join the cells into rows and lines, and the lines' bytes
go to the file as they are. All of it a block of rows at a time, text columns included, so the
text never holds a whole file nor a whole column (memory: deals.csv's text is 30 MB at 1M
history rows).
Columns of another kind (categoricals, naive times ...) leave the whole frame to pandas.
``tests/test_report_csv.py`` compares both.
"""

from __future__ import annotations

import csv
import io
import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: Cells turned into text at a time (rows of a block x columns): bounds the text in memory.
BLOCK_CELLS = 200_000
#: Nullable columns whose numbers NumPy writes as pandas does (a Float32's would differ).
MASKED_NUMBERS = frozenset(
    ("boolean", "Float64", *(f"{u}Int{bits}" for u in ("", "U") for bits in (8, 16, 32, 64)))
)
#: The bytes that make ``csv.QUOTE_MINIMAL`` quote a cell (with "\n" as the line end; a lone
#: "\r" is apart). UTF-8 never uses them inside another character's bytes.
_SPECIAL = np.zeros(256, dtype=bool)
_SPECIAL[[ord(","), ord('"'), ord("\n"), ord("\r")]] = True


def _text(value: str) -> pa.Scalar:
    """``value`` as an Arrow scalar of the cells' type (Arrow's joins take no mix of types)."""
    return pa.scalar(value, type=pa.large_string())


def write_csv(frame: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write ``frame`` as a report CSV: UTF-8, a header row, no index, "\\n" line ends, empty
    cell for unknown, times with a zone as ISO 8601 UTC ("2026-11-24T06:00:00+00:00")."""
    columns = [_column_text_source(frame.iloc[:, i]) for i in range(frame.shape[1])]
    # a row of one empty cell is written '""', and a header of several levels has more rows
    if len(columns) < 2 or None in columns or frame.columns.nlevels > 1:
        _write_with_pandas(frame, path)
        return
    step = max(1, BLOCK_CELLS // len(columns))
    with open(path, "wb") as handle:
        handle.write(_csv_row(list(frame.columns)).encode("utf-8"))
        for begin in range(0, len(frame), step):
            cells = [text(begin, min(begin + step, len(frame))) for text in columns]
            # the line end joined to the last cell: one more pass over a column, not a row
            cells[-1] = pc.binary_join_element_wise(cells[-1], _text(""), _text("\n"))
            handle.write(_bytes(pc.binary_join_element_wise(*cells, _text(","))))


def iso_utc(times: pd.Series) -> np.ndarray:
    """ISO 8601 UTC text ("2026-11-24T06:00:00+00:00"), None for missing; vectorized."""
    distinct, where = _distinct_times(times)
    return distinct[where]


def _distinct_times(times: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct times' ISO 8601 UTC text, None for missing; each row's place in it)."""
    naive = times.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[s]")
    # a report's times are a few hundred crawl nights: each distinct one is written out once
    where, distinct = pd.factorize(naive.view(np.int64))
    distinct = distinct.view("datetime64[s]")
    text = np.char.add(np.datetime_as_string(distinct, unit="s"), "+00:00").astype(object)
    text[np.isnat(distinct)] = None
    return text, where


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


def _offsets_and_bytes(text: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The start of each string of ``text`` in its bytes and the end of the last (n + 1
    offsets), and those bytes; without copying."""
    _, offsets, data = text.buffers()
    offsets = np.frombuffer(offsets, dtype=np.int64)[text.offset : text.offset + len(text) + 1]
    return offsets, np.frombuffer(data, dtype=np.uint8) if data is not None else np.empty(0)


def _bytes(text: pa.Array) -> np.ndarray:
    """The UTF-8 bytes of all of ``text``'s strings one after the other (none missing)."""
    offsets, data = _offsets_and_bytes(text)
    return data[offsets[0] : offsets[-1]]


def _column_text_source(column: pd.Series):
    """A function of (begin, end) giving the CSV text of those rows of ``column`` as an Arrow
    ``large_string`` array, as ``to_csv`` writes them; None for a kind of column it does not
    know."""
    dtype = column.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        distinct, where = _distinct_times(column)
        return _taken_cells(distinct, where, None)
    if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
        values = column.to_numpy()
        return _number_cells(values, np.isnan(values) if dtype.kind == "f" else None)
    if isinstance(dtype, pd.api.extensions.ExtensionDtype) and dtype.name in MASKED_NUMBERS:
        values = column.to_numpy(dtype=dtype.numpy_dtype, na_value=dtype.numpy_dtype.type(0))
        return _number_cells(values, column.isna().to_numpy())
    if isinstance(dtype, pd.StringDtype):
        return _block_cells(lambda begin, end: _as_arrow(column.iloc[begin:end]))
    if pd.api.types.is_object_dtype(dtype):
        values = column.to_numpy()  # the column's own array, not a copy
        return _block_cells(lambda begin, end: pc.fill_null(_object_text(values[begin:end]), ""))
    return None


def _number_cells(values: np.ndarray, missing: np.ndarray | None):
    """Numbers as NumPy writes them (pandas' own way: ``astype(str)``), "" where missing."""
    # few distinct numbers (prices, years, days): each is written out once, told apart by its
    # bits so that -0.0 stays apart from 0.0
    values = np.ascontiguousarray(values)
    where, bits = pd.factorize(values.view(f"u{values.dtype.itemsize}"))
    return _taken_cells(bits.view(values.dtype).astype(str).astype(object), where, missing)


def _taken_cells(text: np.ndarray, where: np.ndarray, missing: np.ndarray | None):
    """Cells of ``text[where]``, "" where ``missing`` or the text is None; taken by Arrow."""
    # the empty cell is one more distinct text
    distinct = pc.fill_null(pa.array(np.append(text, ""), type=pa.large_string()), "")
    # a place per row, held while the file is written: 32-bit when the texts allow it
    where = where.astype(np.int32 if len(distinct) < 1 << 31 else np.int64)
    if missing is not None:
        where[missing] = len(text)

    def cells(begin: int, end: int) -> pa.Array:
        return distinct.take(where[begin:end])

    return cells


def _block_cells(text):
    """Cells of the text ``text(begin, end)`` gives of those rows (an Arrow array, "" for
    unknown), quoted: made a block at a time, never for the whole column."""

    def cells(begin: int, end: int) -> pa.Array:
        return _quote(text(begin, end))

    return cells


def _object_text(values: np.ndarray) -> pa.Array:
    """Any values as the ``csv`` module writes them (``str()``), "" for unknown."""
    values = values.copy()
    values[pd.isna(values)] = None
    if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
        values = [v if v is None or type(v) is str else str(v) for v in values.tolist()]
    return pa.array(values, type=pa.large_string())


def _as_arrow(column: pd.Series) -> pa.Array:
    """``column``'s text as one Arrow ``large_string`` array, "" for unknown (pandas' Arrow
    text is taken as it is, not copied)."""
    text = pa.array(column, type=pa.large_string(), from_pandas=True)
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    return pc.fill_null(text, "")


def _quote(cells: pa.Array) -> pa.Array:
    """``cells`` with those that need it quoted as ``csv.QUOTE_MINIMAL`` does."""
    needs, lone_cr = _cells_to_quote(cells)
    if not len(needs) and not len(lone_cr):
        return cells
    quoted = pc.binary_join_element_wise(
        _text('"'), pc.replace_substring(cells.take(needs), '"', '""'), _text('"'), _text("")
    )
    # a lone "\r": quoted or not depending on the Python version, so left to the csv module
    by_csv = [_csv_row([cell, ""])[:-2] for cell in cells.take(lone_cr).to_pylist()]
    rows = np.concatenate([needs, lone_cr])
    mask = np.zeros(len(cells), dtype=bool)
    mask[rows] = True
    both = pa.concat_arrays([quoted, pa.array(by_csv, type=pa.large_string())])
    return pc.replace_with_mask(cells, mask, both.take(np.argsort(rows)))


def _cells_to_quote(cells: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The rows of ``cells`` with a comma, a quote or a "\n", and those whose only such
    character is a "\r"."""
    # the special bytes looked for in all the column's bytes at once, then their cells found
    offsets, data = _offsets_and_bytes(cells)
    text = data[offsets[0] : offsets[-1]]
    maybe = text == ord(",")
    maybe |= text == ord('"')
    maybe |= text < ord("\x0e")  # line breaks, and the few other control bytes text has
    at = np.flatnonzero(maybe)
    at = offsets[0] + at[_SPECIAL[text[at]]]
    rows = np.searchsorted(offsets, at, side="right") - 1
    carriage_return = data[at] == ord("\r")
    needs = np.unique(rows[~carriage_return])
    return needs, np.setdiff1d(rows[carriage_return], needs)

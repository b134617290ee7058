"""The report's CSV writer (``analysis.report_csv``) writes the bytes pandas' ``to_csv`` writes.

Every frame here is written both ways, byte for byte: the fast writer and pandas itself (with
times that have a zone as ISO 8601 UTC, what the report always did). The frames hold what a
report's columns hold (NaN, <NA>, floats, nullable integers and booleans, text with commas,
quotes, line breaks and non-ASCII, times with NaT) and what they could (mixed objects, -0.0,
infinities, a lone carriage return), in several blocks of rows; hypothesis adds random ones.
"""

from __future__ import annotations

import datetime as dt
import decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import report_csv

TEXTS = [
    "plain",
    "",
    "a, comma",
    'a "quote"',
    '"',
    "line\nbreak",
    "carriage\rreturn",
    "crlf\r\n",
    "  spaces  ",
    "日本の軽トラ",
    "émoji 🚚",
    "tab\there",
    "nul\x00",
    "\u2028separator",
    ",",
]


def _times(n: int) -> pd.Series:
    base = pd.Timestamp("2026-11-24 06:00", tz="UTC")
    times = pd.Series([base + pd.Timedelta(hours=7 * i) for i in range(n)], dtype="M8[us, UTC]")
    times[1::4] = pd.NaT
    return times


def _frame(n: int) -> pd.DataFrame:
    """Every kind of column a report CSV has, ``n`` rows, some of each missing."""
    i = np.arange(n)
    texts = [TEXTS[k % len(TEXTS)] for k in range(n)]
    return pd.DataFrame(
        {
            "source": pd.Series(texts, dtype="str").where(i % 5 != 3),
            "title": pd.Series(texts[::-1], dtype=object).where(i % 6 != 2, None),
            "price_usd": pd.array([None if k % 7 == 0 else 50 * k - 900 for k in i], "Int64"),
            "is_4wd": pd.array([[True, False, None][k % 3] for k in i], "boolean"),
            "discount_pct": pd.array([None if k % 4 == 1 else k / 7 for k in i], "Float64"),
            "share": np.where(i % 3 == 0, np.nan, i * 0.1 - 1.5),
            "listings": i * 3,
            "rated": i % 2 == 0,
            "seen_at": _times(n),
            "left_at": _times(n).dt.tz_convert("Asia/Tokyo").astype("datetime64[us, Asia/Tokyo]"),
        }
    )


def _both(frame: pd.DataFrame, tmp_path) -> tuple[bytes, bytes]:
    fast, plain = tmp_path / "fast.csv", tmp_path / "plain.csv"
    report_csv.write_csv(frame, fast)
    report_csv._write_with_pandas(frame, plain)
    return fast.read_bytes(), plain.read_bytes()


@pytest.fixture
def fast_only(monkeypatch):
    """The fast writer, with pandas' way out of reach (a test of it must not pass through it)."""

    def refuse(frame, path):
        raise AssertionError("written by pandas, not by the fast writer")

    reference = report_csv._write_with_pandas
    monkeypatch.setattr(report_csv, "_write_with_pandas", refuse)
    return reference


def _fast_and_pandas(frame, tmp_path, reference) -> tuple[bytes, bytes]:
    fast, plain = tmp_path / "fast.csv", tmp_path / "plain.csv"
    report_csv.write_csv(frame, fast)
    reference(frame, plain)
    return fast.read_bytes(), plain.read_bytes()


@pytest.mark.parametrize("rows", [0, 1, 2, 17, 300])
@pytest.mark.parametrize("block_cells", [1, 35, report_csv.BLOCK_CELLS])
def test_report_columns_are_written_as_pandas_writes_them(
    fast_only, tmp_path, monkeypatch, rows, block_cells
):
    monkeypatch.setattr(report_csv, "BLOCK_CELLS", block_cells)
    fast, plain = _fast_and_pandas(_frame(rows), tmp_path, fast_only)
    assert fast == plain
    assert fast.count(b"\n") >= rows + 1


def test_text_columns_are_made_a_block_of_rows_at_a_time(fast_only, tmp_path, monkeypatch):
    # memory: never a whole column's text at once (sold.csv's would be tens of MB)
    monkeypatch.setattr(report_csv, "BLOCK_CELLS", 30)  # 10 rows of 3 columns
    seen = {}
    for name in ("_as_arrow", "_object_text"):
        made = getattr(report_csv, name)

        def spy(values, _made=made, _name=name):
            seen.setdefault(_name, []).append(len(values))
            return _made(values)

        monkeypatch.setattr(report_csv, name, spy)
    frame = _frame(95).loc[:, ["source", "title", "price_usd"]]
    fast, plain = _fast_and_pandas(frame, tmp_path, fast_only)
    assert fast == plain
    assert seen == {"_as_arrow": [10] * 9 + [5], "_object_text": [10] * 9 + [5]}


OBJECTS = [
    1,
    2.5,
    np.float64(1.5),
    np.int64(7),
    True,
    None,
    np.nan,
    pd.NA,
    pd.NaT,
    ["a", "b"],
    ("t",),
    {"k": 1},
    decimal.Decimal("1.10"),
    dt.date(2026, 11, 24),
    pd.Timestamp("2026-11-24 06:00", tz="UTC"),
    "text, with comma",
    "",
    -0.0,
    float("inf"),
]


@pytest.mark.parametrize(
    "column",
    [
        pd.Series(OBJECTS, dtype=object),
        pd.Series([None, None, None], dtype=object),
        pd.Series([np.nan, np.nan, np.nan]),
        pd.Series([None, None, None], dtype="Int64"),
        pd.Series([None, None, None], dtype="boolean"),
        pd.Series([None, None, None], dtype="str"),
        pd.Series([0.0, -0.0, 1e16, 1e-7, 1 / 3, np.inf, -np.inf, np.nan, 123456.789, 5e-324]),
        pd.Series([0.0, -0.0, 1e22, 1 / 3, None, 2.5], dtype="Float64"),
        pd.Series([1.1, np.nan, -0.0, 3.4028235e38], dtype="float32"),
        pd.Series([0, -1, 2**63 - 1, -(2**63)], dtype="int64"),
        pd.Series([0, 255, None, 7], dtype="UInt8"),
        pd.Series([2**64 - 1, 0], dtype="uint64"),
        pd.Series([True, False]),
        pd.Series(["\r", "a\rb", "\r,", '\r"', "\n\r"], dtype="str"),
        pd.Series([pd.NaT, pd.NaT], dtype="datetime64[ns, UTC]"),
    ],
    ids=lambda column: str(column.dtype),
)
def test_odd_columns_are_written_as_pandas_writes_them(fast_only, tmp_path, column):
    frame = pd.DataFrame({"a": column, "b, c": range(len(column))})
    fast, plain = _fast_and_pandas(frame, tmp_path, fast_only)
    assert fast == plain


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame({"only": ["", "x", None]}),  # a row of one empty cell is '""'
        pd.DataFrame({"kind": pd.Categorical(["a", None, "b,c"]), "n": [1, 2, 3]}),
        pd.DataFrame({"naive": pd.to_datetime(["2026-01-01", None]), "n": [1, 2]}),
        pd.DataFrame({"late": pd.to_timedelta([1, None], unit="D"), "n": [1, 2]}),
        pd.DataFrame({"f32": pd.array([1.1, None], dtype="Float32"), "n": [1, 2]}),
        pd.DataFrame([[1, 2]], columns=["same", "same"]),
        pd.DataFrame([[1, 2]], columns=pd.MultiIndex.from_tuples([("a", "b"), ("a", "c")])),
        pd.DataFrame(),
    ],
    ids=[
        "one-column",
        "categorical",
        "naive",
        "timedelta",
        "float32",
        "same-names",
        "levels",
        "empty",
    ],
)
def test_other_frames_are_left_to_pandas(tmp_path, frame):
    fast, plain = _both(frame, tmp_path)
    assert fast == plain


def test_times_are_iso_utc_and_missing_is_empty(tmp_path):
    frame = pd.DataFrame({"at": _times(3), "n": [1, 2, 3]})
    report_csv.write_csv(frame, tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text(encoding="utf-8").splitlines() == [
        "at,n",
        "2026-11-24T06:00:00+00:00,1",
        ",2",
        "2026-11-24T20:00:00+00:00,3",
    ]


CELLS = st.one_of(
    st.none(),
    st.text(alphabet=st.sampled_from(list('ab ,"\n\r\té日🚚\x00')), max_size=6),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
)


@settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    texts=st.lists(CELLS, min_size=1, max_size=12),
    numbers=st.lists(st.one_of(st.none(), st.integers(-(2**40), 2**40)), min_size=1, max_size=12),
    floats=st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=12),
)
def test_random_frames_are_written_as_pandas_writes_them(
    fast_only, tmp_path, texts, numbers, floats
):
    n = min(len(texts), len(numbers), len(floats))
    frame = pd.DataFrame(
        {
            "mixed": pd.Series(texts[:n], dtype=object),
            "text": pd.Series([t if isinstance(t, str) else None for t in texts[:n]], dtype="str"),
            "n": pd.array(numbers[:n], dtype="Int64"),
            "f": np.array(floats[:n], dtype=float),
        }
    )
    fast, plain = _fast_and_pandas(frame, tmp_path, fast_only)
    assert fast == plain


def test_text_kept_by_pyarrow_is_written_as_pandas_writes_it(fast_only, tmp_path):
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame(
        {"title": pd.Series(TEXTS + [None], dtype="string[pyarrow]"), "n": range(len(TEXTS) + 1)}
    )
    fast, plain = _fast_and_pandas(frame, tmp_path, fast_only)
    assert fast == plain

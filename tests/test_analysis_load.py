"""The analysis reads: state as of a past date, the history window, narrow reads, no writes."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
from contextlib import closing

import pandas as pd
import pytest
from test_analysis_helpers import build_market, night, truck

from analysis import load


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    db = tmp_path_factory.mktemp("load") / "m.db"
    build_market(db)
    return db


def by_id(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index("listing_id")


class DriverRefusedError(Exception):
    """The Arrow driver was asked for a connection where it must not be used."""


def refuse_driver(path):
    raise DriverRefusedError(path)


@pytest.fixture(params=["arrow", "sqlite3"])
def reads_through(request, monkeypatch):
    """The reads of ``connect_arrow`` through the Arrow driver, or through Python's sqlite3
    (``use_sqlite3_reads``); checked on the way out that the driver was (or was not) used."""
    used = []
    if request.param == "sqlite3":
        monkeypatch.setattr(load, "_sqlite3_only", False)
        load.use_sqlite3_reads()
        monkeypatch.setattr(load, "_connect_driver", refuse_driver)
    else:
        connect = load._connect_driver
        monkeypatch.setattr(
            load, "_connect_driver", lambda path: used.append(path) or connect(path)
        )
    yield request.param
    assert bool(used) == (request.param == "arrow")


@pytest.mark.parametrize(
    ("value", "day"),
    [
        ("2026-11-05", dt.date(2026, 11, 5)),
        ("2026-11-05T23:59:00+00:00", dt.date(2026, 11, 5)),
        ("2026-11-05T20:00:00-05:00", dt.date(2026, 11, 6)),
        (dt.date(2026, 11, 5), dt.date(2026, 11, 5)),
    ],
)
def test_as_of_date(value, day):
    assert load.as_of_date(value) == day


def test_bad_as_of_is_a_value_error():
    with pytest.raises(ValueError, match="not a date"):
        load.as_of_date("next tuesday")


def test_listing_state_as_of_a_past_night(market):
    then = by_id(load.read_listings_as_of(market, "2026-11-05"))
    assert then.loc["A", "price_usd"] == 8000
    assert then.loc["E", "status"] == "active"
    assert then.loc["E", "price_usd"] == 5500
    assert then.loc["H", "status"] == "gone"
    assert then.loc["H", "gone_at"] == pd.Timestamp("2026-11-05T06:00:00Z")
    assert "G" not in then.index
    assert "S" not in then.index
    assert then["last_seen_at"].max() <= load.as_of_end("2026-11-05")


def test_listing_state_now(market):
    now = by_id(load.read_listings_as_of(market, "2026-11-12"))
    assert now.loc["A", "price_usd"] == 7500
    assert now.loc["E", "status"] == "gone"
    assert now.loc["G", "identity"] == "craigslist:B"
    assert now["lid"].is_unique


def test_window_read_keeps_the_row_before_the_window(market):
    history = load.read_history_window(market, dt.date(2026, 11, 9), "2026-11-12")
    lids = by_id(load.read_listings_as_of(market, "2026-11-12"))["lid"]
    a = history.loc[history["lid"] == lids["A"]]
    assert a["before"].tolist() == [True, False]
    assert a["price_usd"].tolist() == [8000, 7500]
    assert a["event"].tolist() == ["new", "price_change"]
    # a listing with no change inside the window is not read at all
    assert lids["D"] not in set(history["lid"])
    assert history["observed_at"].min() >= pd.Timestamp("2026-11-02T00:00:00Z")


def test_a_late_ingested_night_does_not_hide_the_window_s_other_rows(tmp_path):
    """A feed stored after later nights (a remote crawl ingested late): its rows have the
    largest ids and the earliest times. The window still holds every row observed in it."""
    db = tmp_path / "late.db"
    night(db, "2026-10-06", "craigslist", [truck("craigslist", "a", 6000)])
    night(db, "2026-10-08", "craigslist", [truck("craigslist", "a", 5500)])
    night(db, "2026-10-05", "beforward", [truck("beforward", "b", 4000, price_basis="fob")])
    history = load.read_history_window(db, dt.date(2026, 10, 5), "2026-10-08")
    assert sorted(history["price_usd"].tolist()) == [4000, 5500, 6000]


def test_window_of_a_past_date_stops_at_its_end(market):
    history = load.read_history_window(market, dt.date(2026, 11, 2), "2026-11-05")
    assert history["observed_at"].max() < load.as_of_end("2026-11-05")


def test_history_of_selected_listings(market):
    lids = by_id(load.read_listings_as_of(market, "2026-11-12"))["lid"]
    rows = load.read_history_of_lids(market, [lids["E"]], before=load.as_of_end("2026-11-12"))
    assert rows["event"].tolist() == ["new", "price_change", "gone"]
    assert load.read_history_of_lids(market, [lids["E"]], before=dt.date(2026, 11, 5))[
        "event"
    ].tolist() == ["new"]


def test_history_of_listings_by_key(market):
    rows = load.read_history_of(market, [("craigslist", "E"), ("craigslist", "A")], "2026-11-05")
    assert list(zip(rows["listing_id"], rows["event"], rows["price_usd"], strict=True)) == [
        ("A", "new", 8000),
        ("E", "new", 6000),
        ("E", "price_change", 5500),
    ]
    assert load.read_history_of(market, [], "2026-11-05").empty


def test_frame_number_text_is_read_only_where_it_may_hold_one(tmp_path):
    from test_analysis_helpers import night, truck

    db = tmp_path / "f.db"
    night(
        db,
        "2026-11-02",
        "craigslist",
        [
            truck("craigslist", "1", 8000, description="Frame DD51T-123456, clean"),
            truck("craigslist", "2", 8000, description="Runs great, 52,000 miles"),
        ],
    )
    listings = by_id(load.read_listings_as_of(db, "2026-11-02"))
    assert listings.loc["1", "description"] == "Frame DD51T-123456, clean"
    assert pd.isna(listings.loc["2", "description"])


def test_reads_are_read_only_and_a_missing_database_is_reported(tmp_path, market):
    with pytest.raises(load.DatabaseMissing, match="no database"):
        load.read_listings_as_of(tmp_path / "nope.db", "2026-11-12")
    with pytest.raises(load.DatabaseMissing, match="no database"):
        load.read_history_window(tmp_path / "nope.db", dt.date(2026, 11, 2), "2026-11-12")
    conn = load.connect_readonly(market)
    with pytest.raises(Exception, match="readonly"):
        conn.execute("DELETE FROM listings")
    conn.close()
    with closing(load.connect_arrow(market)) as conn, pytest.raises(sqlite3.OperationalError):
        load._rows(conn, "DELETE FROM listings")


def test_a_file_that_is_not_a_tracker_database_is_one_line_exit_4(tmp_path):
    from keitrucks.common_cli import EXIT_DATABASE, cli_error

    junk = tmp_path / "notes.db"
    junk.write_text("not a database " * 100)
    with pytest.raises(load.NotATrackerDatabase, match="not an SQLite database") as junk_error:
        load.read_history_window(junk, dt.date(2026, 11, 2), "2026-11-12")
    other = tmp_path / "other.db"
    with closing(sqlite3.connect(other)) as conn:
        conn.execute("CREATE TABLE listings (source TEXT, listing_id TEXT)")
    with pytest.raises(sqlite3.OperationalError) as missing_table:
        load.read_history_window(other, dt.date(2026, 11, 2), "2026-11-12")
    for error in (junk_error.value, missing_table.value):
        line = cli_error(error)
        assert line.exit_code == EXIT_DATABASE
        assert "\n" not in line.message
    assert cli_error(missing_table.value).message.startswith(
        "database problem: no such table: price_history ("  # and how to update an older one
    )


def _copy(market, path):
    shutil.copyfile(market, path)
    return path


def _reads(db) -> tuple[pd.DataFrame, pd.DataFrame]:
    return (
        load.read_listings_as_of(db, "2026-11-12", since=dt.date(2026, 11, 2)),
        load.read_history_window(db, dt.date(2026, 11, 2), "2026-11-12"),
    )


#: A crawl storing a price drop of listing A on the last night, and the row of its history.
CRAWL_WRITES = (
    "UPDATE listings SET price_usd = 7000 WHERE listing_id = 'A'",
    "INSERT INTO price_history (source, listing_id, observed_at, event, price_usd, status)"
    " VALUES ('craigslist', 'A', '2026-11-12T07:00:00+00:00', 'price_change', 7000, 'active')",
)


def _assert_reads_equal(got, expected):
    for frame, wanted in zip(got, expected, strict=True):
        pd.testing.assert_frame_equal(frame, wanted)


#: A crawl in its own process (as crawls run), writing when told: "write" (an open write
#: transaction), "commit", or "write commit" at once; it answers each with what it did, and
#: never waits for a lock (busy timeout 0): held up by a reader, it answers "locked".
CRAWL_PROCESS = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)
writes = sys.argv[2:]
for line in sys.stdin:
    try:
        for word in line.split():
            if word == "write":
                conn.execute("BEGIN IMMEDIATE")
                for sql in writes:
                    conn.execute(sql)
            elif word == "commit":
                conn.execute("COMMIT")
        print("done", flush=True)
    except sqlite3.OperationalError as exc:
        print("locked" if "locked" in str(exc) else f"error {exc}", flush=True)
"""


class Crawl:
    """The crawl process of ``CRAWL_PROCESS`` on ``db``."""

    def __init__(self, db):
        import subprocess
        import sys

        self.process = subprocess.Popen(
            [sys.executable, "-c", CRAWL_PROCESS, str(db), *CRAWL_WRITES],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def tell(self, words: str) -> str:
        self.process.stdin.write(words + "\n")
        self.process.stdin.flush()
        return self.process.stdout.readline().strip()

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()
        self.process.stdout.close()


def test_reads_neither_wait_for_nor_see_a_crawl_still_writing(market, tmp_path):
    """In WAL mode (the tracker's databases) a crawl's open write does not hold the report's
    reads up, and they read the database as it was before it."""
    db = _copy(market, tmp_path / "k.db")
    before = _reads(db)
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    crawl = Crawl(db)
    try:
        assert crawl.tell("write") == "done"
        _assert_reads_equal(_reads(db), before)
        assert crawl.tell("commit") == "done"
        listings, history = _reads(db)
    finally:
        crawl.close()
    assert by_id(listings).loc["A", "price_usd"] == 7000
    assert len(history) == len(before[1]) + 1


@pytest.mark.parametrize("read", ["listings", "window"])
def test_a_read_is_one_snapshot_and_does_not_hold_a_crawl_up(
    market, tmp_path, monkeypatch, read, reads_through
):
    """A crawl commits between the statements of one read: it does not wait for the read (it
    would say "locked" at once), and the read does not see it."""
    db = _copy(market, tmp_path / "k.db")
    before = dict(zip(["listings", "window"], _reads(db), strict=True))
    crawl = Crawl(db)
    answers = []
    hooked = "_columns" if read == "listings" else "_window_by_listing"
    original = getattr(load, hooked)

    def between(*args):
        if not answers:  # once, after the read's first statement
            answers.append(crawl.tell("write commit"))
        return original(*args)

    monkeypatch.setattr(load, hooked, between)
    try:
        got = dict(zip(["listings", "window"], _reads(db), strict=True))[read]
    finally:
        crawl.close()
    assert answers == ["done"]
    pd.testing.assert_frame_equal(got, before[read])
    monkeypatch.setattr(load, hooked, original)
    listings, history = _reads(db)
    assert by_id(listings).loc["A", "price_usd"] == 7000
    assert len(history) == len(before["window"]) + 1


#: Values SQLite's typing lets a tracker database hold, each a way a typed read could differ
#: from pandas' own: a number stored as text, integers in REAL columns, a column all NULL, a
#: NULL among booleans, a large price, empty text, text that is not ASCII or spans lines.
ODD_VALUES = (
    ("UPDATE listings SET model_code = 12345 WHERE listing_id = 'A'", ()),
    ("UPDATE listings SET latitude = 35, longitude = -86 WHERE listing_id = 'B'", ()),
    ("UPDATE listings SET mileage_mi = NULL", ()),
    ("UPDATE listings SET is_4wd = NULL WHERE listing_id = 'A'", ()),
    ("UPDATE listings SET price_usd = ? WHERE listing_id = 'D'", (2**40,)),
    ("UPDATE listings SET cab = '' WHERE listing_id = 'E'", ()),
    ("UPDATE listings SET title = ? WHERE listing_id = 'C'", ('Kei ✓ 4×4\n"clean", ¥',)),
    ("UPDATE listings SET description = ? WHERE listing_id = 'B'", ("DA63T-123456\nline",)),
)


@pytest.mark.parametrize(
    ("as_of", "since"),
    [("2026-11-12", None), ("2026-11-12", dt.date(2026, 11, 9)), ("2026-11-05", None)],
)
def test_listings_read_equals_pandas_own_read_of_odd_values(
    market, tmp_path, monkeypatch, as_of, since, reads_through
):
    """The listings read, through the Arrow driver or through sqlite3, equals the same SQL
    read by ``pd.read_sql_query`` from Python's sqlite3 (values and dtypes), on the night and
    on a past date."""
    db = _copy(market, tmp_path / "odd.db")
    with closing(sqlite3.connect(db)) as conn, conn:
        for sql, params in ODD_VALUES:
            conn.execute(sql, params)
    got = load.read_listings_as_of(db, as_of, since=since)

    def by_pandas(conn, sql, params=()):
        assert isinstance(conn, sqlite3.Connection)
        return pd.read_sql_query(sql, conn, params=params)

    monkeypatch.setattr(load, "_sqlite3_only", True)
    monkeypatch.setattr(load, "read_arrow", by_pandas)
    expected = load.read_listings_as_of(db, as_of, since=since)
    pd.testing.assert_frame_equal(got, expected)
    assert got.dtypes.astype(str).tolist() == expected.dtypes.astype(str).tolist()
    assert by_id(got).loc["A", "model_code"] == "12345"


def test_a_database_path_of_any_characters(market, tmp_path):
    """Spaces, quotes, ``#``, ``?`` and ``%`` in the path name that very file."""
    folder = tmp_path / "kei 'trucks' \"db\" #1?%20"
    folder.mkdir()
    db = _copy(market, folder / "my trucks #2?.db")
    _assert_reads_equal(_reads(db), _reads(market))
    pd.testing.assert_frame_equal(
        load.read_runs_until(db, "2026-11-12"), load.read_runs_until(market, "2026-11-12")
    )


def test_an_older_database_reads_without_what_it_lacks(market, tmp_path):
    """An older version's database: no listing_changes, a listings column it did not have."""
    db = _copy(market, tmp_path / "old.db")
    with closing(sqlite3.connect(db)) as conn, conn:
        for (view,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'view'"
        ).fetchall():
            conn.execute(f"DROP VIEW {view}")
        conn.execute("DROP TABLE listing_changes")
        conn.execute("ALTER TABLE listings DROP COLUMN road_claims")
    old, history = _reads(db)
    new, new_history = _reads(market)
    assert "road_claims" not in old.columns
    pd.testing.assert_frame_equal(old, new.drop(columns="road_claims"))
    pd.testing.assert_frame_equal(history, new_history)


#: Columns of a table read through Arrow, one row per tuple, each column testing one way
#: SQLite's loose typing can fill a column (the table declares no types: any value stays as
#: given); the first rows all NULL in some, as the Arrow driver's type guess would see them.
ARROW_COLUMNS = {
    "text": ("a", "b", None, "d", "e", None, "g"),
    "text_late": (None, None, None, "x", None, None, None),
    "all_null": (None,) * 7,
    "ints": (1, 2, 3, 4, 5, 6, 2**62),
    "ints_null_late": (1, 2, 3, 4, None, 6, 7),
    "ints_then_floats": (1, 2, 3, 4.5, 5, None, 7),
    "floats_late": (None, None, None, None, None, 0.25, None),
    "blob": (b"x", None, b"y", b"z", None, None, b"w"),
    "empty_text": ("", "", "", "", "", "", ""),
    "number_like_text": ("1", "2", "03", None, "4.5", "x", "7"),
}
#: Text and numbers in one column: Python objects of both through ``pd.read_sql_query``, text
#: through Arrow (a column of a declared type cannot hold both: SQLite converts on storing).
MIXED_COLUMNS = {
    "text_and_ints": ("a", "b", "c", 4, None, "f", "g"),
    "mixed_early": ("a", 2, None, "d", "e", "f", 2.5),
}


@pytest.fixture
def typed_table(tmp_path):
    import sqlite3
    from contextlib import closing

    db = tmp_path / "t.db"
    columns = {**ARROW_COLUMNS, **MIXED_COLUMNS}
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute(f"CREATE TABLE t ({', '.join(columns)})")
        rows = list(zip(*columns.values(), strict=True))
        conn.executemany(f"INSERT INTO t VALUES ({', '.join('?' * len(columns))})", rows)
    return db


@pytest.mark.parametrize(
    "where", ["", "WHERE rowid <= 3", "WHERE rowid > 3", "WHERE rowid = 5", "WHERE 0"]
)
def test_arrow_read_types_columns_as_read_sql_does(typed_table, where, reads_through):
    """Values and dtypes equal pandas' own read of the same rows (all, some, one, none), on
    both paths."""
    from contextlib import closing

    sql = f"SELECT rowid AS id, {', '.join(ARROW_COLUMNS)} FROM t {where} ORDER BY rowid"
    with closing(load.connect_readonly(typed_table)) as conn:
        expected = pd.read_sql_query(sql, conn)
    with closing(load.connect_arrow(typed_table)) as conn:
        got = load.read_arrow(conn, sql)
    pd.testing.assert_frame_equal(got, expected, check_index_type=True)
    assert got.dtypes.astype(str).tolist() == expected.dtypes.astype(str).tolist()


def test_arrow_read_of_text_and_numbers_in_one_column_is_text(typed_table, reads_through):
    from contextlib import closing

    with closing(load.connect_arrow(typed_table)) as conn:
        got = load.read_arrow(conn, f"SELECT {', '.join(MIXED_COLUMNS)} FROM t ORDER BY rowid")
    assert got["text_and_ints"].tolist()[:4] == ["a", "b", "c", "4"]
    assert got["mixed_early"].tolist()[:2] == ["a", "2"]
    assert float(got["mixed_early"].iloc[-1]) == 2.5  # in the driver's own notation
    assert (got.dtypes == "str").all()


def test_named_parameters_are_bound_in_order():
    sql, params = load._named_to_numbered(
        "SELECT :b, :a || ':' || :b, :a_2", {"a": 1, "b": "x", "a_2": 3, "unused": 4}
    )
    assert sql == "SELECT ?1, ?2 || ':' || ?1, ?3"
    assert params == ("x", 1, 3)


def test_listings_read_is_the_same_by_index_or_by_scan(market, monkeypatch):
    """The window's listings are the same whether SQLite seeks them by ``last_seen_at`` or
    scans the table (the plan chosen by how many listings are in the window)."""
    reads = []
    for most in (False, True):
        monkeypatch.setattr(load, "_mostly_seen_since", lambda conn, since, most=most: most)
        reads.append(load.read_listings_as_of(market, "2026-11-12", since=dt.date(2026, 11, 9)))
    pd.testing.assert_frame_equal(reads[0], reads[1])
    everything = load.read_listings_as_of(market, "2026-11-12")
    assert 0 < len(reads[0]) < len(everything)


def test_history_prices_of_any_size_and_null_read_back(market, tmp_path, reads_through):
    """price_usd shares a packed integer with the words: NULL, negative, and a price too large
    to pack (read back by id) come out as stored."""
    import shutil
    import sqlite3
    from contextlib import closing

    db = tmp_path / "prices.db"
    shutil.copyfile(market, db)
    stored = {1: 2**55, 2: -70, 3: None, 4: -(2**62), 5: 2**49 - 1, 6: -(2**49)}
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.executemany(
            "UPDATE price_history SET price_usd = ? WHERE id = ?",
            [(price, i) for i, price in stored.items()],
        )
    history = load.read_history_window(db, dt.date(2026, 1, 1), "2026-11-12")
    got = history.set_index("id")["price_usd"]
    for i, price in stored.items():
        assert (pd.isna(got[i]) and price is None) or got[i] == price
    assert history["price_usd"].dtype == "Int64"


def test_epoch_seconds_are_the_same_on_old_and_new_sqlite():
    import sqlite3
    from contextlib import closing

    times = ["2026-11-05T06:00:00+00:00", "2026-11-05T01:30:15.250-05:00", "2026-01-01"]
    with closing(sqlite3.connect(":memory:")) as conn:
        conn.execute("CREATE TABLE p (observed_at TEXT)")
        conn.executemany("INSERT INTO p VALUES (?)", [(t,) for t in times])
        old, new = (
            [r[0] for r in conn.execute(f"SELECT {load._epoch_sql(v)} FROM p")]
            for v in ((3, 37, 2), (3, 40, 1))
        )
    expected = [int(pd.Timestamp(t, tz="UTC").timestamp()) for t in times[::2]]
    assert old == new
    assert old[::2] == expected


@pytest.mark.parametrize("start", [dt.date(2026, 11, 2), dt.date(2026, 11, 9)])
def test_window_read_is_the_same_by_listing_or_by_row(market, monkeypatch, start):
    """The window's rows are the same whether SQLite walks them by listing or by id (the plan
    chosen by how many rows per listing the window holds)."""
    plans = {}
    for by_listing in (False, True):
        monkeypatch.setattr(load, "_window_by_listing", lambda conn, first_id, b=by_listing: b)
        plans[by_listing] = load.read_history_window(market, start, "2026-11-12")
    pd.testing.assert_frame_equal(plans[False], plans[True])
    assert len(plans[True]) > 0


def test_arrow_uses_the_system_allocator_unless_told_otherwise():
    """Arrow's own allocator keeps freed memory: the report's peak is 100 MB lower without."""
    import os

    import pyarrow as pa

    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        pytest.skip("the environment chooses Arrow's allocator")
    assert pa.default_memory_pool().backend_name == "system"


@pytest.mark.parametrize(
    "shape",
    [
        "by listing",
        "by row",
        "ids out of order",
        "times out of id order",
        "empty",
        "rows before, then by listing",
        "one second, ids out of order",
    ],
)
def test_history_rows_are_sorted_only_when_out_of_order(shape):
    """The sorted-already shortcut and the merge of runs in order give what a full sort
    gives, whatever order rows come in."""
    import numpy as np

    rng = np.random.default_rng(18)
    n = 0 if shape == "empty" else 2000
    lids = rng.integers(1, 300, n)
    lids = lids if shape == "by row" else np.sort(lids)  # by row: in id order, as stored
    ids = rng.permutation(n) if shape == "ids out of order" else np.arange(n)
    epochs = 1_700_000_000 + ids * 60
    if shape == "times out of id order":
        epochs = epochs - rng.integers(0, 600, n)
    if shape == "rows before, then by listing":  # each listing's first row moved ahead
        first = np.flatnonzero(np.diff(lids, prepend=-1))
        later = np.setdiff1d(np.arange(n), first)
        lids, ids, epochs = (np.concatenate([x[first], x[later]]) for x in (lids, ids, epochs))
    if shape == "one second, ids out of order":  # runs in key order, not in id order
        epochs = np.full(n, 1_700_000_000)
        ids = np.concatenate([np.arange(n // 2)[::-1], np.arange(n // 2, n)])
    rows = np.zeros(n, dtype=load._HISTORY_ROW)
    rows["id"], rows["key"] = ids, (lids << 32) | epochs
    order = load._time_order(rows)
    expected = np.lexsort((rows["id"], rows["key"]))
    got = np.arange(n) if order is None else order
    assert (rows[got] == rows[expected]).all()
    first_lids, first_ids = load._first_ids(lids, ids)
    sorted_rows = np.lexsort((ids, lids))
    first = np.append([True], np.diff(lids[sorted_rows]) != 0)[:n]
    assert first_lids.tolist() == lids[sorted_rows][first].tolist()
    assert first_ids.tolist() == ids[sorted_rows][first].tolist()


#: Columns whose kinds the Arrow driver widens as it reads (integers, then numbers, then text,
#: then bytes), each kind arriving before or after the others.
WIDENED_COLUMNS = {
    "int_then_big_int_and_float": (1, None, 2**62, 3, None, 0.5, 7),
    "float_then_text": (0.5, 1e300, -0.0, "t", None, 3, float("inf")),
    "text_then_numbers": ("a", None, 3, 1e-7, "e", -2, 2.0),
    "bytes_among_all": (None, 1, 2.5, "t", b"b", "✓", 7),
    "text_and_bytes": ("a", b"\x00b", None, "d", "e", "f", b"g"),
}


@pytest.mark.parametrize("chunk", [1, 3, 1000])
def test_sqlite3_rows_are_typed_as_the_driver_types_them(tmp_path, monkeypatch, chunk):
    """Columns mixing kinds, within and across the sqlite3 path's chunks of rows, read the
    same on both paths: the driver's own arrays are the reference."""
    db = tmp_path / "w.db"
    columns = {**ARROW_COLUMNS, **MIXED_COLUMNS, **WIDENED_COLUMNS}
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute(f"CREATE TABLE t ({', '.join(columns)})")
        rows = list(zip(*columns.values(), strict=True))
        conn.executemany(f"INSERT INTO t VALUES ({', '.join('?' * len(columns))})", rows)
    sql = f"SELECT {', '.join(columns)} FROM t ORDER BY rowid"
    with closing(load._connect_driver(db)) as conn:
        expected = load.read_arrow(conn, sql)
    monkeypatch.setattr(load, "CHUNK_ROWS", chunk)
    with closing(load.connect_readonly(db)) as conn:
        got = load.read_arrow(conn, sql)
    pd.testing.assert_frame_equal(got, expected)
    assert got["float_then_text"][0] == "5.000000e-01"
    assert got["bytes_among_all"][1] == b"1.000000e+00"  # a number came before the text
    assert got["text_then_numbers"][2] == "3"


def test_both_paths_read_the_report_the_same(market, tmp_path, monkeypatch):
    db = _copy(market, tmp_path / "k.db")
    lids = by_id(load.read_listings_as_of(db, "2026-11-12"))["lid"]

    def reads():
        return (
            *_reads(db),
            load.read_history_window(db, dt.date(2026, 11, 9), "2026-11-12"),
            load.read_history_of_lids(db, lids, before=dt.date(2026, 11, 9)),
            load.read_listings_as_of(db, "2026-11-05"),
        )

    by_driver = reads()
    monkeypatch.setattr(load, "_sqlite3_only", True)
    monkeypatch.setattr(load, "_connect_driver", refuse_driver)
    _assert_reads_equal(reads(), by_driver)


def _held_by_sqlite3(db, tmp_path):
    conn = sqlite3.connect(db)
    conn.execute("SELECT count(*) FROM listings").fetchone()
    return conn


def _held_by_another_name(db, tmp_path):
    (tmp_path / "link.db").symlink_to(db)
    return _held_by_sqlite3(tmp_path / "link.db", tmp_path)


class _Descriptor:
    """A bare file descriptor of one file (no SQLite)."""

    def __init__(self, path):
        self.fd = os.open(path, os.O_RDONLY)

    def close(self):
        os.close(self.fd)


#: What holds a database file open in this process while the reads run, and whether the Arrow
#: driver may then read it.
HOLDERS = {
    "nothing": (lambda db, tmp_path: None, True),
    "a sqlite3 connection": (_held_by_sqlite3, False),
    "a sqlite3 connection by another name": (_held_by_another_name, False),
    "only its -wal": (lambda db, tmp_path: _Descriptor(f"{db}-wal"), False),
    "only its -shm": (lambda db, tmp_path: _Descriptor(f"{db}-shm"), False),
    "another database": (
        lambda db, tmp_path: _held_by_sqlite3(_copy(db, tmp_path / "other.db"), tmp_path),
        True,
    ),
}


@pytest.mark.parametrize("holder", list(HOLDERS))
def test_the_driver_reads_only_where_no_sqlite3_handle_is_open(
    market, tmp_path, monkeypatch, holder
):
    """The driver's own copy of SQLite closing its files would drop the locks a sqlite3
    connection of this process holds on them: with one open (or any descriptor of the
    database, its -wal or its -shm), the reads go through sqlite3, and read the same."""
    db = _copy(market, tmp_path / "k.db")
    crawl = Crawl(db)  # another process with the database open, as a crawl: -wal and -shm stay
    try:
        assert crawl.tell("write commit") == "done"
        assert os.path.getsize(f"{db}-wal") > 0
        expected = _reads(db)
        hold, driver_allowed = HOLDERS[holder]
        used = []
        connect = load._connect_driver
        monkeypatch.setattr(
            load, "_connect_driver", lambda path: used.append(path) or connect(path)
        )
        held = hold(db, tmp_path)
        try:
            _assert_reads_equal(_reads(db), expected)
        finally:
            if held is not None:
                held.close()
    finally:
        crawl.close()
    assert bool(used) == driver_allowed


def test_descriptors_that_cannot_be_listed_keep_the_driver_out(market, tmp_path, monkeypatch):
    expected = _reads(market)
    monkeypatch.setattr(load, "FD_FOLDERS", (str(tmp_path / "no such folder"),))
    monkeypatch.setattr(load, "_connect_driver", refuse_driver)
    _assert_reads_equal(_reads(market), expected)


def test_keitrucks_serve_reads_through_sqlite3_before_datasette_starts(
    market, tmp_path, monkeypatch
):
    """Datasette opens its sqlite3 connections lazily, in its threads: after any check the
    reads could make. Serving switches the whole process to sqlite3 first."""
    import uvicorn

    from analysis import serve

    db = _copy(market, tmp_path / "k.db")
    monkeypatch.setattr(load, "_sqlite3_only", False)
    started = []

    def run(app, **kwargs):
        started.append(load._sqlite3_only)

    monkeypatch.setattr(uvicorn, "run", run)
    serve.serve(db, port=0)
    assert started == [True]
    monkeypatch.setattr(load, "_connect_driver", refuse_driver)
    assert len(load.read_listings_as_of(db, "2026-11-12")) > 0


#: ``listing_changes.old`` values of each kind SQLite stores in a column of no type, in sets
#: that pandas types differently: integers alone, integers with NULL (numbers), numbers, text,
#: bytes, a frame number in free text (kept) and free text without one (NULL), all mixed.
CHANGE_OLDS = {
    "integers": [("year", 1991), ("mileage_mi", 52000)],
    "integers and null": [("year", 1991), ("mileage_mi", None)],
    "numbers": [("latitude", 35.25), ("longitude", -86.0), ("year", 1990)],
    "text": [("model", "Carry"), ("cab", "")],
    "bytes": [("title", b"\x00raw")],
    "free text": [("description", "frame DD51T-123456"), ("attributes", "no frame here")],
    "mixed": [("model", "Hijet"), ("year", 1993), ("latitude", 2.5), ("title", None)],
    "none": [],
}


@pytest.mark.parametrize("olds", list(CHANGE_OLDS))
def test_changes_read_the_same_through_the_driver_as_through_sqlite3(tmp_path, olds):
    """The listings read takes a field's value as of then (``listing_changes``) in its own
    snapshot, on the driver's connection too: the same frame as ``pd.read_sql_query``'s."""
    db = tmp_path / "c.db"
    night(db, "2026-11-02", "craigslist", [truck("craigslist", "A", 8000)])
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.executemany(
            "INSERT INTO listing_changes (source, listing_id, changed_at, field, old)"
            " VALUES ('craigslist', 'A', '2026-11-09T06:00:00+00:00', ?, ?)",
            CHANGE_OLDS[olds],
        )
    end = load.as_of_end("2026-11-05")
    fields = [field for field, _ in CHANGE_OLDS["mixed"] + CHANGE_OLDS[olds]]
    with closing(load.connect_readonly(db)) as conn:
        expected = load._changes_from(conn, end, [*fields, "description", "attributes"])
    with closing(load._connect_driver(db)) as conn:
        got = load._changes_from(conn, end, [*fields, "description", "attributes"])
    pd.testing.assert_frame_equal(got, expected)
    assert [type(v) for v in got["old"]] == [type(v) for v in expected["old"]]
    assert len(got) == len(CHANGE_OLDS[olds])


@pytest.mark.parametrize(
    ("start", "as_of"), [("2026-10-05", "2026-10-08"), ("2026-10-06", "2026-10-06")]
)
def test_window_walk_apart_equals_the_joined_walk(tmp_path, reads_through, start, as_of):
    """The window read by listing as two reads matched by id gives the rows, in the order, of
    the one joined walk: with a night ingested late (ids inside the range, times before it),
    rows after the as-of date, and a history row whose listing is not stored."""
    db = tmp_path / "w.db"
    night(db, "2026-10-06", "craigslist", [truck("craigslist", "a", 6000)])
    night(
        db,
        "2026-10-07",
        "craigslist",
        [truck("craigslist", "a", 5900), truck("craigslist", "c", 1)],
    )
    night(db, "2026-10-08", "craigslist", [truck("craigslist", "a", 5500)])
    night(db, "2026-10-05", "beforward", [truck("beforward", "b", 4000, price_basis="fob")])
    night(db, "2026-10-09", "beforward", [truck("beforward", "b", 3900, price_basis="fob")])
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute(
            "INSERT INTO price_history (source, listing_id, observed_at, event, price_usd)"
            " VALUES ('craigslist', 'not stored', '2026-10-07T06:00:00+00:00', 'new', 1)"
        )
    begin = pd.Timestamp(start, tz="UTC")
    with closing(load.connect_arrow(db)) as conn:
        params = (
            load._first_id_from(conn, begin),
            load._iso(begin),
            load._iso(load.as_of_end(as_of)),
        )
        got = load._window_by_listing_apart(conn, params)
        joined = load._fetch_history(
            conn,
            f"{load._JOIN_BY_LISTING} WHERE p.id >= ? AND p.observed_at >= ? AND p.observed_at < ?",
            params,
        )
    assert got.tolist() == joined.tolist()
    assert len(got) > 0


class _InterruptedCursor:
    """A driver cursor whose query the driver manager ended as it does on Ctrl-C: SQLite's driver
    cannot cancel, so the manager raises 'NOT_IMPLEMENTED' from a KeyboardInterrupt."""

    def close(self):
        pass

    def execute(self, sql, params=()):
        import adbc_driver_manager

        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as interrupt:
            raise adbc_driver_manager.NotSupportedError("NOT_IMPLEMENTED") from interrupt


class _InterruptedConnection:
    def cursor(self):
        return _InterruptedCursor()


def test_ctrl_c_during_a_driver_read_is_an_interrupt_not_a_database_problem():
    with pytest.raises(KeyboardInterrupt):
        load._rows(_InterruptedConnection(), "SELECT 1")


def test_a_driver_error_of_its_own_is_still_a_database_problem():
    import adbc_driver_manager

    class Failing(_InterruptedCursor):
        def execute(self, sql, params=()):
            raise adbc_driver_manager.OperationalError(
                "IO: [SQLite] Failed to step query: disk I/O error",
                status_code=adbc_driver_manager.AdbcStatusCode.IO,
            )

    class Conn:
        def cursor(self):
            return Failing()

    with pytest.raises(sqlite3.OperationalError, match="^disk I/O error$"):
        load._rows(Conn(), "SELECT 1")

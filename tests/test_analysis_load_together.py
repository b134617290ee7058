"""Two reads at once (the report reads its history window in a thread while it reads the
listings): they must never have the database open through both copies of SQLite in this
process, the Arrow driver's and Python's sqlite3 (``analysis.load.connect_arrow`` says why),
and they must read what one read after the other reads."""

from __future__ import annotations

import datetime as dt
import gc
import os
import shutil
import sqlite3
import threading
from contextlib import closing
from pathlib import Path
from urllib.parse import unquote, urlparse

import pandas as pd
import pytest
from test_analysis_helpers import build_market

from analysis import load, report

#: Long enough for any loaded machine; only reached when a read waits for the other.
PATIENCE = 60


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    db = tmp_path_factory.mktemp("together") / "m.db"
    build_market(db)
    return db


def _file(path) -> tuple[int, int]:
    found = os.stat(path)
    return found.st_dev, found.st_ino


class Copies:
    """Which copy of SQLite has which database open, watched from outside ``load``'s own
    counting: a connection counts as open from before it is asked for until after it closed.
    ``mixed`` lists each time one copy opened a file the other had open."""

    def __init__(self, monkeypatch):
        self.lock = threading.Lock()
        self.open: dict[str, list[tuple[int, int]]] = {"driver": [], "sqlite3": []}
        self.mixed: list[str] = []
        self.opened: list[str] = []
        connect_driver, driver_close = load._connect_driver, load._DriverConnection.close
        sqlite3_connect, sqlite3_close = sqlite3.connect, load._Sqlite3Connection.close

        def by_driver(path):
            key = self._opening("driver", path)
            try:
                conn = connect_driver(path)
            except BaseException:
                self._closed("driver", key)
                raise
            conn.watched_key = key
            return conn

        def close_driver(conn):
            driver_close(conn)
            if getattr(conn, "watched_key", None) is not None:
                key, conn.watched_key = conn.watched_key, None
                self._closed("driver", key)

        def by_sqlite3(database, *args, **kwargs):
            if kwargs.get("factory") is not load._Sqlite3Connection:  # not a read of load's
                return sqlite3_connect(database, *args, **kwargs)
            key = self._opening("sqlite3", unquote(urlparse(str(database)).path))
            try:
                conn = sqlite3_connect(database, *args, **kwargs)
            except BaseException:
                self._closed("sqlite3", key)
                raise
            conn.watched_key = key
            return conn

        def close_sqlite3(conn):
            sqlite3_close(conn)
            if getattr(conn, "watched_key", None) is not None:
                key, conn.watched_key = conn.watched_key, None
                self._closed("sqlite3", key)

        monkeypatch.setattr(load, "_connect_driver", by_driver)
        monkeypatch.setattr(load._DriverConnection, "close", close_driver)
        monkeypatch.setattr(load._Sqlite3Connection, "close", close_sqlite3)
        monkeypatch.setattr(load._Sqlite3Connection, "watched_key", None, raising=False)
        monkeypatch.setattr(sqlite3, "connect", by_sqlite3)

    def _opening(self, copy: str, path) -> tuple[int, int]:
        key = _file(path)
        other = "sqlite3" if copy == "driver" else "driver"
        with self.lock:
            if key in self.open[other]:
                self.mixed.append(f"{copy} opened {path} while {other} had it open")
            self.open[copy].append(key)
            self.opened.append(copy)
        return key

    def _closed(self, copy: str, key: tuple[int, int]) -> None:
        with self.lock:
            self.open[copy].remove(key)

    def is_open(self, copy: str) -> bool:
        with self.lock:
            return bool(self.open[copy])


#: a past night (the listings read also reads the values as of then), with listings first seen
#: before the window that left the market in it (their earlier rows are read too)
DAY, SINCE, START = dt.date(2026, 11, 9), dt.date(2026, 11, 1), dt.date(2026, 11, 4)


def _one_after_the_other(db) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The listings, the window, and the rows before it of the listings that likely left."""
    listings = report.assign_truck_ids(
        report.add_family(load.read_listings_as_of(db, DAY, since=SINCE))
    )
    lids = report.likely_ended(listings, start=START)
    assert lids.size  # the market has listings first seen before the window that left
    before = load.read_history_of_lids(db, lids, before=START)
    return listings, load.read_history_window(db, START, DAY), before


def _held_by_sqlite3(db):
    conn = sqlite3.connect(db)
    conn.execute("SELECT count(*) FROM listings").fetchone()
    return conn


#: What else this process does with the database while the two reads run, and which copy
#: of SQLite the reads should then take.
SITUATIONS = {
    "nothing": (None, "driver"),
    "a sqlite3 connection held open": (_held_by_sqlite3, "sqlite3"),
    "keitrucks serve (use_sqlite3_reads)": ("serve", "sqlite3"),
}


@pytest.mark.parametrize("situation", list(SITUATIONS))
def test_two_reads_at_once_use_one_copy_of_sqlite(market, tmp_path, monkeypatch, situation):
    """The history read is held, its connection open, until the listings read (a past date:
    it also reads the values as of then, listing_changes) is over: the two run at once, and
    neither opens the database through the copy of SQLite the other has it open with. (The
    report reads one after the other through sqlite3, ``test_through_sqlite3_...``: here they
    are made to run at once anyway, as any two reads of this process may.)"""
    db = Path(shutil.copyfile(market, tmp_path / "k.db"))
    expected = _one_after_the_other(db)
    hold, copy = SITUATIONS[situation]
    monkeypatch.setattr(load, "_sqlite3_only", hold == "serve")
    monkeypatch.setattr(load, "reads_by_driver", lambda db_path: True)
    held = hold(db) if callable(hold) else None
    copies = Copies(monkeypatch)
    listings_read = threading.Event()
    overlapped = []
    first_ids, read_listings = load._first_ids, load.read_listings_as_of

    def history_waits(*args):  # inside the history read, its window fetched
        assert listings_read.wait(PATIENCE), "the listings read waited for the history read"
        return first_ids(*args)

    def listings_then_signal(*args, **kwargs):
        try:
            return read_listings(*args, **kwargs)
        finally:
            overlapped.append(copies.is_open(copy))
            listings_read.set()

    monkeypatch.setattr(load, "_first_ids", history_waits)
    monkeypatch.setattr(load, "read_listings_as_of", listings_then_signal)
    try:
        got = report._read_listings_and_history(db, DAY, since=SINCE, start=START)
    finally:
        if held is not None:
            held.close()
    assert copies.mixed == []
    assert overlapped == [True]  # the history read's connection was open meanwhile
    assert set(copies.opened) == {copy}
    listings, history, before = got
    for frame, wanted in zip((listings, history, before.rows), expected, strict=True):
        pd.testing.assert_frame_equal(frame, wanted)
    assert load._open_copies == {}


@pytest.mark.parametrize("situation", list(SITUATIONS))
def test_through_sqlite3_the_report_reads_one_after_the_other(
    market, tmp_path, monkeypatch, situation
):
    """Two reads through sqlite3 make Python objects of every value, holding the GIL: at once
    they would mostly wait for each other and hold both reads' rows at the same time."""
    db = Path(shutil.copyfile(market, tmp_path / "k.db"))
    hold, copy = SITUATIONS[situation]
    monkeypatch.setattr(load, "_sqlite3_only", hold == "serve")
    held = hold(db) if callable(hold) else None
    threads = set()
    read = load.read_history_window

    def history(*args):
        threads.add(threading.current_thread() is threading.main_thread())
        return read(*args)

    monkeypatch.setattr(load, "read_history_window", history)
    try:
        assert load.reads_by_driver(db) == (copy == "driver")
        report._read_listings_and_history(db, DAY, since=SINCE, start=START)
    finally:
        if held is not None:
            held.close()
    assert threads == {copy == "sqlite3"}


def test_a_sqlite3_read_waits_while_the_driver_has_the_file_open(market, tmp_path, monkeypatch):
    """A small read through sqlite3 (the runs) in another thread, while the driver has the
    database open: it opens its connection only once the driver's has closed."""
    db = Path(shutil.copyfile(market, tmp_path / "k.db"))
    copies = Copies(monkeypatch)
    asking = threading.Event()
    runs = []
    file_key = load._file_key

    def announced(path):
        asking.set()
        return file_key(path)

    def read_runs():
        runs.append(load.read_runs_until(db, DAY))

    conn = load.connect_arrow(db)
    try:
        assert copies.opened == ["driver"]
        monkeypatch.setattr(load, "_file_key", announced)
        other = threading.Thread(target=read_runs)
        other.start()
        assert asking.wait(PATIENCE)
        other.join(0.5)  # time for a read that does not wait to open its connection
    finally:
        conn.close()
    other.join(PATIENCE)
    assert copies.mixed == []
    assert copies.opened == ["driver", "sqlite3"]
    assert len(runs) == 1
    assert not runs[0].empty


def test_a_sqlite3_read_inside_a_driver_read_of_the_same_thread_is_an_error(market):
    """It would wait for itself for ever."""
    with closing(load.connect_arrow(market)) as conn:
        assert load._by_driver(conn)
        with pytest.raises(RuntimeError, match="through the driver"):
            load.connect_readonly(market)
    assert load._open_copies == {}
    with closing(load.connect_readonly(market)):
        pass


def test_an_error_of_the_history_read_is_raised_as_it_was(market, tmp_path, monkeypatch):
    """The history read's error, raised in its thread (the database locked by a crawl), reaches
    the caller unchanged: the CLI's one-line message and exit code. No connection is left
    counted open."""
    from keitrucks.common_cli import EXIT_DATABASE, cli_error

    def locked(*args):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(load, "_window_by_listing", locked)
    with pytest.raises(sqlite3.OperationalError) as raised:
        report._read_listings_and_history(market, DAY, since=SINCE, start=START)
    line = cli_error(raised.value)
    assert (line.exit_code, line.message) == (EXIT_DATABASE, "database problem: database is locked")
    assert load._open_copies == {}


def test_a_missing_database_is_reported_once(tmp_path):
    with pytest.raises(load.DatabaseMissing, match="no database"):
        report._read_listings_and_history(tmp_path / "nope.db", DAY, since=SINCE, start=START)
    assert load._open_copies == {}


def test_a_sqlite3_connection_left_to_the_collector_in_another_thread_is_uncounted(market):
    """Closed and uncounted wherever it is collected, so a driver read is not held up."""
    conn = load.connect_readonly(market)
    key = load._file_key(market)
    assert load._open_copies[key] == [0, 1]
    del conn  # a sqlite3 connection is in a reference cycle (its statement cache)
    gone = threading.Thread(target=gc.collect)
    gone.start()
    gone.join()
    assert load._open_copies == {}
    with closing(load.connect_arrow(market)) as conn:
        assert load._by_driver(conn)


def test_a_driver_connection_closed_by_another_thread_frees_its_opener(market):
    """The thread that opened a driver connection may read through sqlite3 once it is closed,
    whichever thread closed it."""
    conn = load.connect_arrow(market)
    closer = threading.Thread(target=conn.close)
    closer.start()
    closer.join()
    assert load._open_copies == {}
    with closing(load.connect_readonly(market)) as conn:
        assert not load._by_driver(conn)

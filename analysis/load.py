"""The one module of ``analysis`` that reads SQL: tables into typed DataFrames.

Everything else in ``analysis`` is pure DataFrame -> DataFrame functions. Reads are narrow on
purpose: the report needs the listings seen in its window and the history rows of that window
(plus, per listing, the one row before it), never the whole history, so a night's report costs
about the same on a year of history as on a week. All reads are as of a date: rows observed
after the end of ``as_of`` (UTC) are ignored, which makes any past report reproducible.
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
import logging
import os
import re
import sqlite3
import threading
from collections.abc import Collection, Iterable
from contextlib import closing, contextmanager
from pathlib import Path

import adbc_driver_manager
import adbc_driver_sqlite.dbapi
import numpy as np
import pandas as pd
import pyarrow as pa

# Arrow's own allocator (mimalloc) keeps what it freed for reuse: with it the report's peak
# memory at 1M history rows is 100 MB higher (1010 against 910 MB), and it is no faster.
# ARROW_DEFAULT_MEMORY_POOL, when set, still chooses.
if not os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
    pa.set_memory_pool(pa.system_memory_pool())

LISTING_DTYPES = {
    "year": "Int64",
    "build_month": "Int64",
    "engine_cc": "Int64",
    "mileage_mi": "Int64",
    "price": "Int64",
    "price_usd": "Int64",
    "landed_usd": "Int64",
    "is_4wd": "boolean",
    "eligible_25y": "boolean",
    "runs": "boolean",
    "sale_pending": "boolean",
    "last_run_id": "Int64",
    "latitude": "Float64",
    "longitude": "Float64",
}
LISTING_DATES = ("first_seen_at", "last_seen_at", "gone_at", "scraped_at")
HISTORY_DTYPES = {
    "price": "Int64",
    "price_usd": "Int64",
    "landed_usd": "Int64",
    "run_id": "Int64",
    "id": "int64",
    "lid": "int64",
}

#: The listing columns the report, deals and alerts use (latest static description of each
#: listing): the deal scores compare body, cab, transmission and mileage, and leave out trucks
#: that do not run, have a title problem or are sale pending.
REPORT_COLUMNS = (
    "source",
    "listing_id",
    "identity",
    "url",
    "title",
    "make",
    "model",
    "model_code",
    "year",
    "build_month",
    "is_4wd",
    "kind",
    "mileage_mi",
    "body",
    "cab",
    "transmission",
    "runs",
    "title_status",
    "sale_pending",
    "state",
    "road_claims",
    "price",
    "currency",
    "price_usd",
    "landed_usd",
    "price_basis",
    "eligible_25y",
    "eligible_from",
    "eligibility_basis",
    "status",
    "first_seen_at",
    "last_seen_at",
    "gone_at",
    "location_raw",
    "latitude",
    "longitude",
    "seller_type",
    "search_key",
)
#: The columns of history that carry the state of a listing.
STATE_COLUMNS = ("price", "currency", "price_usd", "landed_usd", "price_basis", "status")
HISTORY_COLUMNS = ("id", "source", "listing_id", "observed_at", "event", *STATE_COLUMNS)
#: The columns of the health check's verdicts (``source_health``) the alerts read.
HEALTH_COLUMNS = ("run_id", "source", "night", "status", "state", "failed_nights", "reasons")
#: Free-text columns read only where they may hold a frame number ("DD51T-123456").
FRAME_GLOB = "*[A-Za-z][0-9]*[- ][0-9][0-9][0-9][0-9][0-9]*"


logger = logging.getLogger(__name__)
#: A connection of ``connect_arrow``: ADBC's SQLite driver's, or Python's sqlite3's.
ReadConnection = adbc_driver_sqlite.dbapi.Connection | sqlite3.Connection


class DatabaseMissing(FileNotFoundError):  # noqa: N818 (name used by callers)
    """The database file does not exist (no crawl has run yet)."""


class NotATrackerDatabase(DatabaseMissing):
    """The file is there but is not SQLite, or holds no tracker tables (an empty file)."""


# -- as-of dates --------------------------------------------------------------------------------


def as_of_date(as_of: dt.date | dt.datetime | str | pd.Timestamp) -> dt.date:
    """The calendar date (UTC) of an as-of value: a date, datetime, Timestamp or ISO string."""
    if isinstance(as_of, str):
        text = as_of.strip()
        try:
            as_of = pd.Timestamp(text)
        except ValueError:
            raise ValueError(f"not a date (YYYY-MM-DD): {as_of!r}") from None
    if isinstance(as_of, pd.Timestamp | dt.datetime):
        ts = pd.Timestamp(as_of)
        if ts.tzinfo is not None:
            ts = ts.tz_convert("UTC")
        return ts.date()
    if isinstance(as_of, dt.date):
        return as_of
    raise ValueError(f"not a date: {as_of!r}")


def as_of_end(as_of) -> pd.Timestamp:
    """The exclusive end of the as-of date: midnight UTC after it."""
    return pd.Timestamp(as_of_date(as_of) + dt.timedelta(days=1), tz="UTC")


def _iso(ts: pd.Timestamp) -> str:
    return ts.tz_convert("UTC").isoformat()


# -- connections --------------------------------------------------------------------------------


def _existing(db_path: str | os.PathLike) -> Path:
    path = Path(db_path)
    if not path.is_file():
        raise DatabaseMissing(f"no database at {path}: run a crawl (or `keitrucks demo`) first")
    return path


def _readonly_uri(path: Path) -> str:
    """The read-only SQLite URI of a file; any character of its path (space, quote, ``?``,
    ``#``, ``%``) percent-encoded, so the path names that file and nothing else."""
    return f"{path.resolve().as_uri()}?mode=ro"


def connect_readonly(db_path: str | os.PathLike) -> sqlite3.Connection:
    """A read-only connection of Python's sqlite3; it waits while the Arrow driver has the
    database open in this process (``_claim``)."""
    path = _existing(db_path)
    key = _claim_sqlite3(path)
    try:
        conn = sqlite3.connect(
            _readonly_uri(path),
            uri=True,
            timeout=30,
            factory=_Sqlite3Connection,
            check_same_thread=False,  # so that a connection left to the collector closes
        )
    except BaseException:
        _release(key)
        raise
    conn.copy_key = key
    try:
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise NotATrackerDatabase(f"{path} is not an SQLite database ({exc})") from None
    return conn


def table_names(db_path: str | os.PathLike) -> set[str]:
    """The names of the tables and views of the SQLite file ``db_path``, read-only (a check of
    which file ``--db`` names, before anything reads or writes it). ``DatabaseMissing`` without
    a file, ``NotATrackerDatabase`` for a file that is no SQLite database; a file SQLite cannot
    open or read (locked, a read-only folder) raises its ``sqlite3.OperationalError``."""
    path = _existing(db_path)
    key = _claim_sqlite3(path)
    try:
        with closing(sqlite3.connect(_readonly_uri(path), uri=True)) as conn:
            return {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    except sqlite3.OperationalError:
        raise
    except sqlite3.DatabaseError as exc:
        raise NotATrackerDatabase(f"{path} is not an SQLite database ({exc})") from None
    finally:
        _release(key)


# -- which copy of SQLite has a database open -----------------------------------------------
#
# The Arrow driver carries its own copy of SQLite (``connect_arrow`` says why the two must never
# have one file open at once). The report reads listings and history at once, in two threads:
# a descriptor of the database may then be the driver's own, which the descriptor check cannot
# tell from sqlite3's. So the connections opened here are counted per file, and each new one
# goes by the counts: with a driver connection open, another driver connection (its copy keeps
# its own locks right) and never a sqlite3 one (it waits); with a sqlite3 one open, sqlite3.

#: Guards ``_open_copies``; notified when a connection closes.
_copies_changed = threading.Condition()
#: Per database file (device, inode): how many connections of the driver and of sqlite3 are
#: open (or opening) through this module.
_open_copies: dict[tuple[int, int], list[int]] = {}
#: Per database file: the threads that opened its driver connections (a sqlite3 connection
#: asked for by one of them would wait for itself for ever).
_driver_threads: dict[tuple[int, int], list[int]] = {}


def _file_key(path: Path) -> tuple[int, int]:
    found = os.stat(path)
    return found.st_dev, found.st_ino


def _counts(key: tuple[int, int]) -> list[int]:
    return _open_copies.setdefault(key, [0, 0])


def _claim_sqlite3(path: Path) -> tuple[int, int]:
    """Count a sqlite3 connection about to open ``path``, once no driver connection of this
    process has it open (waiting for it to close); to be ``_release``d once closed."""
    key = _file_key(path)
    with _copies_changed:
        if threading.get_ident() in _driver_threads.get(key, ()):
            raise RuntimeError(
                f"a sqlite3 read of {path} by a thread reading it through the driver"
            )
        _copies_changed.wait_for(lambda: not _open_copies.get(key, (0, 0))[0])
        _counts(key)[1] += 1
    return key


def _claim_driver(path: Path) -> tuple[tuple[int, int] | None, str]:
    """Count a driver connection about to open ``path`` when the driver is safe there (to be
    ``_release``d once closed), else say why not. Decided and counted at once: two reads that
    start together take the same copy of SQLite."""
    key = _file_key(path)
    with _copies_changed:
        why = _driver_refused(path, key)
        if why:
            return None, why
        _counts(key)[0] += 1
        _driver_threads.setdefault(key, []).append(threading.get_ident())
    return key, ""


def _driver_refused(path: Path, key: tuple[int, int]) -> str:
    """Why the driver may not open ``path`` now ("" when it may); under ``_copies_changed``."""
    driver, sqlite3_open = _open_copies.get(key, (0, 0))
    if _sqlite3_only:
        return "use_sqlite3_reads"
    if driver:  # the descriptors of the file are (also) the driver's own connections'
        return ""
    if sqlite3_open or (os.name != "nt" and _open_in_process(path)):
        return "sqlite3 has it open in this process"
    return ""


def reads_by_driver(db_path: str | os.PathLike) -> bool:
    """Whether a read of ``db_path`` starting now would go through the Arrow driver (only a
    hint: ``connect_arrow`` decides again when it connects). Reads through sqlite3 make Python
    objects of every value, holding the GIL: two of them at once gain little."""
    path = _existing(db_path).resolve()
    with _copies_changed:
        return not _driver_refused(path, _file_key(path))


def _release(key: tuple[int, int], *, driver: int | None = None) -> None:
    """A connection counted by ``_claim_sqlite3`` or ``_claim_driver`` has closed (``driver``:
    the thread that opened it, for a driver connection; it may close in another)."""
    with _copies_changed:
        counts = _counts(key)
        counts[0 if driver is not None else 1] -= 1
        if counts == [0, 0]:
            del _open_copies[key]
        if driver is not None:
            _driver_threads[key].remove(driver)
            if not _driver_threads[key]:
                del _driver_threads[key]
        _copies_changed.notify_all()


class _Counted:
    """A connection counted open (``_claim_sqlite3`` or ``_claim_driver``) until it is closed."""

    copy_key: tuple[int, int] | None = None
    #: The thread that opened it, for a driver connection (None: a sqlite3 one).
    opened_by: int | None = None

    def close(self) -> None:
        try:
            super().close()
        finally:
            key, self.copy_key = self.copy_key, None
            if key is not None:
                _release(key, driver=self.opened_by)


class _Sqlite3Connection(_Counted, sqlite3.Connection):
    """A read-only connection of Python's sqlite3, counted."""

    def __del__(self) -> None:  # left to the garbage collector (in any thread): closed now
        self.close()


class _DriverConnection(_Counted, adbc_driver_sqlite.dbapi.AdbcSqliteConnection):
    """A connection of the Arrow driver, counted."""


#: Where a process's open file descriptors are listed (Linux, then macOS and the BSDs).
FD_FOLDERS = ("/proc/self/fd", "/dev/fd")
#: Set by ``use_sqlite3_reads``: every read of this process goes through Python's sqlite3.
_sqlite3_only = False


def use_sqlite3_reads() -> None:
    """Read through Python's sqlite3 from now on, in this whole process (``keitrucks serve``
    sets it before Datasette starts: Datasette opens its connections lazily, in its threads,
    after any check ``connect_arrow`` could make)."""
    global _sqlite3_only
    _sqlite3_only = True


def _open_in_process(path: Path) -> bool:
    """Whether a file descriptor of this process refers to the database ``path`` or its -wal
    or -shm file (the same device and inode, by whatever name it was opened); True when the
    descriptors cannot be listed."""
    files = set()
    for name in (path.name, f"{path.name}-wal", f"{path.name}-shm"):
        try:
            found = os.stat(path.with_name(name))
        except OSError:
            continue
        files.add((found.st_dev, found.st_ino))
    for folder in FD_FOLDERS:
        try:
            fds = os.listdir(folder)
        except OSError:
            continue
        for fd in fds:
            try:
                found = os.fstat(int(fd))
            except (OSError, ValueError):
                continue  # the listing's own descriptor, closed since
            if (found.st_dev, found.st_ino) in files:
                return True
        return False
    return True


def connect_arrow(db_path: str | os.PathLike) -> ReadConnection:
    """A read-only connection for ``read_arrow`` and the history reads, in one read
    transaction (a snapshot of the database as of its first read: in WAL mode a crawl writing
    meanwhile neither waits for it nor shows in it). Through ADBC's SQLite driver, which hands
    results over as Arrow arrays (values copied in C, not made into Python objects one by one),
    when that is safe; else through Python's sqlite3, whose rows ``read_arrow`` makes into the
    same arrays: the same SQL gives the same frames either way.

    Safe means no other copy of SQLite in this process has the database open. The driver
    carries its own copy, and POSIX advisory locks belong to the process and the file: when one
    copy closes a descriptor of the database or of its -wal or -shm, every lock the process
    holds on that file goes, the other copy's too (its SHARED lock, its WAL read mark in the
    -shm). A crawl could then checkpoint over pages that copy is reading, or rebuild the -shm
    it still maps, and a later write through it could corrupt the database. So the driver is
    used only when no descriptor of this process refers to those files (a ``sqlite3``
    connection left open: Datasette's in ``keitrucks serve``) but the driver's own connections
    (two reads at once: ``_claim_driver``), and never after ``use_sqlite3_reads``; this
    module's sqlite3 connections wait while the driver has the file open. Windows locks per
    handle: there the driver is always safe.
    """
    path = _existing(db_path)
    key, why = _claim_driver(path.resolve())
    if key is None:
        logger.debug("reading %s through sqlite3, not the Arrow driver: %s", path, why)
        conn = connect_readonly(path)
        conn.execute("BEGIN")  # the snapshot taken now, as the driver's (on its first read)
        conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        return conn
    try:
        conn = _connect_driver(path)
    except BaseException:
        _release(key, driver=threading.get_ident())
        raise
    conn.copy_key, conn.opened_by = key, threading.get_ident()
    return conn


def _connect_driver(path: Path) -> _DriverConnection:
    """A read-only connection of ADBC's SQLite driver (only through ``connect_arrow``)."""
    database = adbc_driver_sqlite.connect(_readonly_uri(path))
    try:
        conn = _DriverConnection(database, adbc_driver_manager.AdbcConnection(database))
    except BaseException:
        database.close()
        raise
    try:
        _rows(conn, "PRAGMA busy_timeout = 30000")
        _rows(conn, "SELECT 1 FROM sqlite_master LIMIT 1")
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise NotATrackerDatabase(f"{path} is not an SQLite database ({exc})") from None
    return conn


def _by_driver(conn) -> bool:
    return not isinstance(conn, sqlite3.Connection)


@contextmanager
def _cursor(conn, *, one_batch: bool = False):
    """A cursor of ``conn``. On an Arrow connection the driver's errors are raised as
    ``sqlite3.OperationalError`` with SQLite's message, as on any other read (callers and the
    CLI's one-line error, exit 4, know those); ``one_batch``: see ``ONE_BATCH``."""
    try:
        with closing(conn.cursor()) as cursor:
            if one_batch and _by_driver(conn):
                cursor.adbc_statement.set_options(
                    **{"adbc.sqlite.query.batch_rows": str(ONE_BATCH)}
                )
            yield cursor
    except adbc_driver_manager.Error as exc:
        if isinstance(exc.__cause__, KeyboardInterrupt):
            # Ctrl-C during a driver call: the driver manager asks the driver to cancel, which
            # SQLite's driver cannot ("NOT_IMPLEMENTED"), and raises that once the call is done
            raise KeyboardInterrupt from None
        raise sqlite3.OperationalError(_driver_message(exc)) from exc


def _driver_message(exc: adbc_driver_manager.Error) -> str:
    """SQLite's own words in an ADBC error ("IO: [SQLite] Failed to step query: database is
    locked\nquery: ..." -> "database is locked")."""
    line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return re.sub(r"^.*?Failed to \w+ query: ", "", line)


def _rows(conn, sql: str, params=()) -> list[tuple]:
    """The rows of a small query, as Python tuples (on either kind of connection)."""
    with _cursor(conn) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _typed(df: pd.DataFrame, dtypes: dict[str, str], dates: tuple[str, ...]) -> pd.DataFrame:
    present = {c: t for c, t in dtypes.items() if c in df.columns}
    df = df.astype(present)
    for col in dates:
        if col in df.columns:
            df[col] = pd.to_datetime(df[col], utc=True, format="ISO8601")
    return df


def read_sql(db_path: str | os.PathLike, sql: str, params=()) -> pd.DataFrame:
    with closing(connect_readonly(db_path)) as conn:
        return pd.read_sql_query(sql, conn, params=params)


#: Rows per Arrow batch: more than any read holds, so each read is one batch. The driver types
#: a column by the values of its first batch (and fails on a later batch that does not fit):
#: typed by every value, a read types as ``pd.read_sql_query`` does.
ONE_BATCH = 1 << 30


def read_arrow(conn: ReadConnection, sql: str, params=()) -> pd.DataFrame:
    """The rows of a query as ``pd.read_sql_query`` types them: a column is text (``str``),
    integers (``int64``, or ``float64`` with NULLs), numbers (``float64``), bytes, or all NULL
    (``object``). A column mixing text and numbers, which only a column of no declared type
    can hold, reads as text (``pd.read_sql_query``: Python objects of both). On either kind
    of connection of ``connect_arrow``: the driver's Arrow arrays, or the same arrays made of
    sqlite3's rows (``_table_of_rows``)."""
    with _cursor(conn, one_batch=True) as cursor:
        cursor.execute(sql, params)
        table = cursor.fetch_arrow_table() if _by_driver(conn) else _table_of_rows(cursor)
    rows, columns = table.num_rows, {}
    for name in table.column_names:
        columns[name] = _pandas_column(table.column(0))
        table = table.remove_column(0)  # the driver's buffers of a column freed once copied
    return pd.DataFrame(columns, index=pd.RangeIndex(rows))


#: Rows made into Arrow arrays at a time on the sqlite3 path: the Python objects sqlite3
#: hands over live for one chunk only.
CHUNK_ROWS = 20_000


def _table_of_rows(cursor: sqlite3.Cursor) -> pa.Table:
    """The rows of a sqlite3 cursor as the Arrow driver would hand them over: each column an
    Arrow array of the type the driver gives the same values."""
    names = [d[0] for d in cursor.description]
    parts: list[list[pa.Array | tuple]] = [[] for _ in names]
    with _no_collection():
        while rows := cursor.fetchmany(CHUNK_ROWS):
            for part, values in zip(parts, zip(*rows, strict=True), strict=True):
                part.append(_driver_array(values))
    return pa.Table.from_arrays([_joined(part) for part in parts], names=names)


@contextmanager
def _no_collection():
    """The garbage collector paused: reading rows makes a tuple per row, which sets off a full
    collection every so many; rows hold no reference cycles."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


#: The Arrow types of the driver's columns (and of a chunk of NULLs).
_KINDS = (pa.null(), pa.int64(), pa.float64(), pa.string(), pa.binary())


def _driver_array(values: tuple) -> pa.Array | tuple:
    """One chunk of a column's values as an Arrow array when they are of one kind (integers,
    numbers, text, text and bytes); else the values, for ``_joined``."""
    try:
        array = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # kinds Arrow does not mix
        return values
    if array.type == pa.float64() and int in set(map(type, values)):
        return values  # integers among numbers: which were read before any text matters
    return array if array.type in _KINDS else values


def _joined(parts: list[pa.Array | tuple]) -> pa.ChunkedArray:
    """A column from its chunks, in the type the driver gives all its values."""
    types = {part.type for part in parts if isinstance(part, pa.Array)} - {pa.null()}
    if all(isinstance(part, pa.Array) for part in parts):
        if len(types) <= 1:
            kind = types.pop() if types else pa.null()
            return pa.chunked_array([part.cast(kind, safe=False) for part in parts], kind)
        for kinds in ({pa.int64(), pa.float64()}, {pa.string(), pa.binary()}):
            if types <= kinds:  # integers as numbers, text as bytes, wherever they come
                kind = pa.float64() if pa.float64() in kinds else pa.binary()
                return pa.chunked_array([part.cast(kind, safe=False) for part in parts], kind)
    values = [v for part in parts for v in (part if isinstance(part, tuple) else part.to_pylist())]
    return pa.chunked_array([_mixed_column(values)])


def _mixed_column(values: list) -> pa.Array:
    """A column of values of several kinds as the driver reads it, value by value: integers,
    widened to numbers at the first number, to text at the first text (numbers written as
    C's ``%e``, "2.500000e+00"; integers in digits, but as numbers when a number came before
    the text), to bytes at the first bytes (text as UTF-8)."""
    kinds = set(map(type, values))
    if not kinds & {str, bytes}:
        floats = float in kinds
        return pa.array(
            [None if v is None else float(v) if floats else v for v in values],
            pa.float64() if floats else pa.int64(),
        )
    text_at = next(i for i, v in enumerate(values) if isinstance(v, str | bytes))
    number_at = next((i for i, v in enumerate(values) if isinstance(v, float)), len(values))
    text = [
        v
        if v is None or isinstance(v, str | bytes)
        else f"{v:e}"
        if isinstance(v, float) or (number_at < text_at and i < text_at)
        else str(v)
        for i, v in enumerate(values)
    ]
    if bytes not in kinds:
        return pa.array(text, pa.string())
    return pa.array([v.encode() if isinstance(v, str) else v for v in text], pa.binary())


def _pandas_column(column: pa.ChunkedArray) -> pd.api.extensions.ExtensionArray | np.ndarray:
    """One Arrow column typed as ``pd.read_sql_query`` infers it from the same values.

    Text and integers are copied out of the driver's buffers, which are grown by doubling: a
    frame sharing them would keep their unused part (30 MB of the report's 200k listings).
    """
    if column.null_count == len(column):
        return np.full(len(column), None, dtype=object)
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        text = pa.concat_arrays([chunk.cast(pa.large_string()) for chunk in column.chunks])
        return pd.array(text, dtype="str")
    if pa.types.is_integer(column.type) and not column.null_count:
        return column.to_numpy().copy()
    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        return column.cast(pa.float64()).to_numpy()  # NULL as NaN
    return column.to_numpy(zero_copy_only=False)  # bytes, NULL as None


def _named_to_numbered(sql: str, params: dict) -> tuple[str, tuple]:
    """SQL with named parameters (``:name``) as numbered ones (``?1``), and their values in
    that order: the Arrow driver binds parameters by position."""
    order = list(dict.fromkeys(re.findall(r":(\w+)", sql)))
    numbered = re.sub(r":(\w+)", lambda m: f"?{order.index(m.group(1)) + 1}", sql)
    return numbered, tuple(params[name] for name in order)


def _columns(conn, table: str) -> list[str]:
    return [row[1] for row in _rows(conn, f"PRAGMA table_info({table})")]


def read_listings(db_path: str | os.PathLike, *, where: str = "", params=()) -> pd.DataFrame:
    """Every stored listing (latest state, all columns), typed; ``where`` filters in SQL."""
    sql = "SELECT * FROM listings" + (f" WHERE {where}" if where else "")
    return _typed(read_sql(db_path, sql, params), LISTING_DTYPES, LISTING_DATES)


def read_history(db_path: str | os.PathLike, *, since: str | None = None) -> pd.DataFrame:
    """The price_history rows (optionally observed at or after ``since``), oldest first."""
    sql = "SELECT * FROM price_history"
    params: tuple = ()
    if since:
        sql += " WHERE observed_at >= ?"
        params = (since,)
    df = read_sql(db_path, sql + " ORDER BY id", params)
    return _typed(df, HISTORY_DTYPES, ("observed_at",))


def read_runs(db_path: str | os.PathLike) -> pd.DataFrame:
    df = read_sql(db_path, "SELECT * FROM runs ORDER BY id")
    return _typed(df, {"items": "Int64"}, ("started_at", "finished_at"))


#: The columns of the runs a report's freshness banner reads (``analysis.freshness``).
RUN_COLUMNS = ("id", "source", "as_of", "status", "health_status", "health_reason", "healthy")


def read_runs_until(db_path: str | os.PathLike, as_of) -> pd.DataFrame:
    """The crawl runs of the nights by the end of ``as_of`` (their as-of stamp before it),
    ``RUN_COLUMNS``, oldest first; ``as_of`` as UTC times. Columns an older database lacks
    read as empty."""
    end = as_of_end(as_of)
    with closing(connect_readonly(db_path)) as conn:
        present = set(_columns(conn, "runs"))
        if not present:
            df = pd.DataFrame(columns=list(RUN_COLUMNS))
        else:
            cols = [c if c in present else f"NULL AS {c}" for c in RUN_COLUMNS]
            df = pd.read_sql_query(
                f"SELECT {', '.join(cols)} FROM runs WHERE as_of < ? ORDER BY id",
                conn,
                params=(_iso(end),),
            )
    df["as_of"] = pd.to_datetime(df["as_of"], utc=True, format="ISO8601")
    return df


def read_source_health(db_path: str | os.PathLike, run_ids: Iterable[int]) -> pd.DataFrame:
    """The health check's recorded verdicts (``source_health``, ``HEALTH_COLUMNS``) on these
    runs, by run id; no rows for a run not judged yet, or when the check never ran."""
    ids = sorted({int(x) for x in run_ids})
    empty = pd.DataFrame({c: pd.Series([], dtype="object") for c in HEALTH_COLUMNS})
    with closing(connect_readonly(db_path)) as conn:
        if not ids or not _columns(conn, "source_health"):
            return empty.astype({"run_id": "int64", "failed_nights": "Int64"})
        df = pd.read_sql_query(
            f"SELECT {', '.join(HEALTH_COLUMNS)} FROM source_health "
            f"WHERE run_id IN ({', '.join('?' * len(ids))}) ORDER BY run_id",
            conn,
            params=ids,
        )
    return df.astype({"run_id": "int64", "failed_nights": "Int64"})


# -- the report's reads -------------------------------------------------------------------------
#
# Rows of history carry ``lid``, the listing's rowid in ``listings`` (also a column of the
# listings these functions return): joins and groupings on one integer are far cheaper than
# on (source, listing_id) strings. History's event, price_basis and status come back as
# categoricals.


def _epoch_to_utc(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, unit="s", utc=True)


#: Listings seen after the as-of end, and the last history row of each before it.
_LATER_CTES = """
    WITH seen_later AS MATERIALIZED (
        SELECT source, listing_id FROM price_history WHERE observed_at >= :end
    ),
    later AS (SELECT DISTINCT source, listing_id FROM seen_later),
    asof AS (
        SELECT p.* FROM later a JOIN price_history p ON p.id = (
            SELECT p2.id FROM price_history p2
            WHERE p2.source = a.source AND p2.listing_id = a.listing_id
              AND p2.observed_at < :end
            ORDER BY p2.observed_at DESC, p2.id DESC LIMIT 1)
    )"""


def read_listings_as_of(
    db_path: str | os.PathLike,
    as_of,
    *,
    since: dt.date | str | None = None,
    models: Collection[str] | None = None,
    codes: Collection[str] | None = None,
    years: tuple[int, int] | None = None,
) -> pd.DataFrame:
    """Each listing first seen by the end of ``as_of``, as it was known then.

    The state columns (price, currency, price_usd, price_basis, status) come from the last
    history row observed by the end of ``as_of``; every other column (``REPORT_COLUMNS``) is
    the stored one, put back to the value it had then where a later write changed it
    (``listing_changes``: a mileage learned on a later night, a renormalize), so a past date
    reads exactly what that night read. ``last_seen_at`` is clamped to
    the as-of end, and for a listing gone as of then ``gone_at`` is when it went. ``since``
    keeps only listings last seen on or after that date (the report's window), and the
    earlier reposts of those. ``description``/``attributes`` are returned only where they may
    hold a frame number. ``lid`` is the listing's rowid. ``models`` (with ``codes``) keeps only
    listings of those models (without a model: of those chassis codes), of model years within
    ``years`` (first, last) when given, and every other listing of the same trucks
    (``keitrucks appraise`` reads the market of one family and year range).
    """
    end = as_of_end(as_of)
    with closing(connect_arrow(db_path)) as conn:
        present = set(_columns(conn, "listings"))
        if not present:
            raise NotATrackerDatabase(
                f"{db_path} is not a tracker database (no listings table): "
                "run a crawl (or `keitrucks demo`) into it first"
            )
        cols = [c for c in REPORT_COLUMNS if c in present]
        extras = [
            f"CASE WHEN l.{c} GLOB '{FRAME_GLOB}' THEN l.{c} END AS {c}"
            for c in ("description", "attributes")
            if c in present
        ]
        where = ["l.first_seen_at < :end"]
        params = {"end": _iso(end)}
        if since is not None:
            params["since"] = _iso(pd.Timestamp(as_of_date(since), tz="UTC"))
            seen = "+" if _mostly_seen_since(conn, params["since"]) else ""
            where.append(  # the latest last_seen_at: refined once it is known as of then
                f"({seen}l.last_seen_at >= :since OR l.identity IN (SELECT l2.identity"
                f" FROM listings l2 WHERE {seen}l2.last_seen_at >= :since"
                " AND l2.first_seen_at < :end"
                " AND l2.identity != l2.source || ':' || l2.listing_id))"
            )
        if models is not None:
            names = {f"m{i}": m for i, m in enumerate(sorted(models))}
            names |= {f"c{i}": c for i, c in enumerate(sorted(codes or ()))}
            model_in = ", ".join(f":{k}" for k in names if k[0] == "m") or "NULL"
            code_in = ", ".join(f":{k}" for k in names if k[0] == "c") or "NULL"
            like = (
                f"({{t}}.model IN ({model_in})"
                f" OR ({{t}}.model IS NULL AND {{t}}.model_code IN ({code_in})))"
            )
            if years is not None:
                like = f"({like} AND {{t}}.year BETWEEN :year_lo AND :year_hi)"
                names |= {"year_lo": int(years[0]), "year_hi": int(years[1])}
            where.append(
                f"({like.format(t='l')} OR l.identity IN (SELECT l3.identity FROM listings l3"
                f" WHERE {like.format(t='l3')}))"
            )
            params |= names
        # the state as of then needs history rows seen after it; on the night itself (the
        # nightly report) there are none, and the joins and their columns are left out
        any_later = _rows(
            conn, "SELECT 1 FROM price_history WHERE observed_at >= ? LIMIT 1", (params["end"],)
        )
        if any_later:
            later = ", ".join(f"h.{c} AS h_{c}" for c in STATE_COLUMNS)
            history_cols = f"h.observed_at AS h_observed_at, {later}, (a.source IS NOT NULL)"
            joins = """
            LEFT JOIN later a ON a.source = l.source AND a.listing_id = l.listing_id
            LEFT JOIN asof h ON h.source = l.source AND h.listing_id = l.listing_id"""
            ctes = _LATER_CTES
        else:
            history_cols, joins, ctes = "0", "", ""
        sql = f"""{ctes}
            SELECT l.rowid AS lid, {", ".join("l." + c for c in cols)},
                   {", ".join(extras) or "NULL AS description"},
                   {history_cols} AS h_later
            FROM listings l{joins}
            WHERE {" AND ".join(where)}
            ORDER BY l.rowid"""
        df = read_arrow(conn, *_named_to_numbered(sql, params))
        runs = read_arrow(
            conn,
            "SELECT source, search_key, as_of FROM runs WHERE complete = 1 AND as_of < ?",
            (_iso(end),),
        )
        changes = _changes_from(conn, end, [*cols, "description", "attributes"])
    df = _as_known_then(df, changes)
    later_rows = df["h_later"].astype(bool)
    if any_later:
        for col in STATE_COLUMNS:
            if col in df.columns:
                df[col] = df[col].where(~later_rows, df[f"h_{col}"])
        gone_then = pd.to_datetime(df["h_observed_at"], utc=True, format="ISO8601")
    df = df.drop(columns=[c for c in df.columns if c.startswith("h_")])
    df = _typed(df, LISTING_DTYPES, LISTING_DATES)
    cutoff = pd.Series(end, index=df.index, dtype="datetime64[ns, UTC]")
    if "gone_at" in df.columns:
        was_gone = (later_rows & (df["status"] == "gone")).to_numpy()
        if any_later:
            df["gone_at"] = df["gone_at"].where(~later_rows, gone_then.where(was_gone))
        cutoff[was_gone] = df.loc[was_gone, "gone_at"]
        df["gone_at"] = df["gone_at"].where(df["status"] == "gone")
    df["last_seen_at"] = _last_seen_before(df, cutoff, runs)
    if since is not None:
        df = _seen_since(df, pd.Timestamp(as_of_date(since), tz="UTC"))
    return df.reset_index(drop=True)


def _mostly_seen_since(conn, since: str) -> bool:
    """True when more than a sixth of the listings were last seen since ``since``.

    SQLite then reads them faster in one pass over the table (``+column`` keeps it off the
    index) than by the ``last_seen_at`` index, which costs a seek into the table per listing
    (at 200k listings all in the window: 0.6 s against 0.05 s).
    """
    total = _rows(conn, "SELECT max(rowid) FROM listings")[0][0] or 0
    recent = _rows(conn, "SELECT count(*) FROM listings WHERE last_seen_at >= ?", (since,))[0][0]
    return recent * 6 > total


def read_model_names(db_path: str | os.PathLike, *, since: dt.date | str) -> pd.DataFrame:
    """Each (model, year, model_code) of the listings last seen on or after ``since``, with how
    many listings (``n``) have it."""
    start = _iso(pd.Timestamp(as_of_date(since), tz="UTC"))
    return read_sql(
        db_path,
        "SELECT model, year, model_code, count(*) AS n FROM listings WHERE last_seen_at >= ?"
        " GROUP BY model, year, model_code",
        (start,),
    )


def _changes_from(conn: ReadConnection, end: pd.Timestamp, fields: list[str]) -> pd.DataFrame:
    """Per listing and field among ``fields``, the value it had before its first change at or
    after ``end`` (``listing_changes``): the value as of then. Free text is kept only where it
    may hold a frame number, as the listings read keeps it. ``old`` holds values of any type,
    typed as ``pd.read_sql_query`` types sqlite3's Python objects, on either connection."""
    columns = ["source", "listing_id", "field", "old"]
    if not _columns(conn, "listing_changes"):  # a read-only database of an older version
        return pd.DataFrame(columns=columns)
    names = ", ".join(f"'{f}'" for f in dict.fromkeys(fields))
    sql = f"""SELECT source, listing_id, field,
                   CASE WHEN field IN ('description', 'attributes')
                        AND NOT coalesce(old GLOB '{FRAME_GLOB}', 0) THEN NULL ELSE old END AS old
            FROM (SELECT c.*, row_number() OVER (
                      PARTITION BY source, listing_id, field ORDER BY changed_at, id) AS n
                  FROM listing_changes c WHERE changed_at >= ? AND field IN ({names}))
            WHERE n = 1"""
    if not _by_driver(conn):
        return pd.read_sql_query(sql, conn, params=(_iso(end),))
    # the driver types a column by its values: ``old`` comes as a column per SQLite type, made
    # back into the Python objects sqlite3 hands over (read in this snapshot, not another's)
    kinds = ", ".join(
        f"CASE typeof(old) WHEN '{kind}' THEN old END"
        for kind in ("integer", "real", "text", "blob")
    )
    with _cursor(conn, one_batch=True) as cursor:
        cursor.execute(f"SELECT source, listing_id, field, {kinds} FROM ({sql})", (_iso(end),))
        table = cursor.fetch_arrow_table()
    source, listing_id, field, *by_kind = (column.to_pylist() for column in table.columns)
    old = [
        next((v for v in values if v is not None), None) for values in zip(*by_kind, strict=True)
    ]
    rows = list(zip(source, listing_id, field, old, strict=True))
    # typed by pandas as ``pd.read_sql_query`` types the same rows
    return pd.DataFrame.from_records(rows, columns=columns, coerce_float=True)


def _as_known_then(df: pd.DataFrame, changes: pd.DataFrame) -> pd.DataFrame:
    """``df`` (listings rows as stored) with each changed field put back to its old value."""
    if changes.empty or df.empty:
        return df
    rows = pd.Series(
        np.arange(len(df)), index=pd.MultiIndex.from_arrays([df["source"], df["listing_id"]])
    )
    for name, group in changes.groupby("field", sort=False):
        if name not in df.columns:
            continue
        keys = pd.MultiIndex.from_arrays([group["source"], group["listing_id"]])
        at = rows.reindex(keys).to_numpy()
        found = ~pd.isna(at)
        if not found.any():
            continue
        values = df[name].astype("object").to_numpy(copy=True)
        values[at[found].astype(int)] = group["old"].astype("object").to_numpy()[found]
        df[name] = values
    return df


def _seen_since(df: pd.DataFrame, since: pd.Timestamp) -> pd.DataFrame:
    """The report's window on ``last_seen_at`` as of then: listings last seen since ``since``,
    and the earlier reposts of those."""
    recent = (df["last_seen_at"] >= since).fillna(False).to_numpy(dtype=bool)
    own = df["source"].astype(str) + ":" + df["listing_id"].astype(str)
    reposted = df["identity"].astype(str) != own
    identities = set(df.loc[recent & reposted.to_numpy(), "identity"])
    keep = recent | df["identity"].isin(identities).to_numpy()
    return df.loc[keep]


def _last_seen_before(df: pd.DataFrame, cutoff: pd.Series, runs: pd.DataFrame) -> pd.Series:
    """``last_seen_at`` as it stood before ``cutoff`` (the as-of end, or when it went gone).

    A listing seen again later was last seen, as of then, by the last complete run of its
    search before the cutoff; without such a run, the cutoff itself.
    """
    seen = df["last_seen_at"].astype("datetime64[ns, UTC]")
    later = (seen >= cutoff).to_numpy()
    if not later.any():
        return seen
    asked = pd.DataFrame(
        {
            "row": np.flatnonzero(later),
            "source": df["source"].astype("object").to_numpy()[later],
            "search_key": df["search_key"].astype("object").to_numpy()[later],
            "cutoff": cutoff.to_numpy()[later],
        }
    ).sort_values("cutoff")
    asked = asked.astype({"source": "str", "search_key": "str"})
    runs = runs.assign(
        source=runs["source"].astype("str"),
        search_key=runs["search_key"].astype("str"),
        run_at=pd.to_datetime(runs["as_of"], utc=True, format="ISO8601").astype(
            "datetime64[ns, UTC]"
        ),
    ).sort_values("run_at")
    found = pd.merge_asof(
        asked,
        runs[["source", "search_key", "run_at"]],
        left_on="cutoff",
        right_on="run_at",
        by=["source", "search_key"],
        allow_exact_matches=False,
        direction="backward",
    )
    fixed = found["run_at"].where(found["run_at"].notna(), found["cutoff"])
    seen.iloc[found["row"].to_numpy()] = fixed.to_numpy()
    return seen


#: The known words of history's text columns. SQLite sends each row's three words packed in
#: one small integer (``_CODE_SQL``); a NULL or a word outside these lists is read as text.
VOCABULARY = {
    "event": ("new", "price_change", "status_change", "relisted", "gone"),
    "price_basis": ("asking", "fob", "cnf", "cif", "sold", "bid_to", "bid"),
    "status": ("active", "sold", "ended", "gone"),
}
#: Code of a NULL and of a word outside ``VOCABULARY`` in the packed codes (4 bits each).
_NULL_CODE, _OTHER_CODE = 14, 15
#: price_usd shares its integer with the words' codes (bits 0-11): bit 12 says NULL, bit 13
#: says read apart (a price beyond +-2**49, read back by id), bits 14 and up hold the price.
_PRICE_NULL, _PRICE_APART, _PRICE_SHIFT = 1 << 12, 1 << 13, 14
_PRICE_LIMIT = 1 << 49


def _code_sql(column: str) -> str:
    cases = " ".join(f"WHEN '{word}' THEN {i}" for i, word in enumerate(VOCABULARY[column]))
    null = f"CASE WHEN p.{column} IS NULL THEN {_NULL_CODE} ELSE {_OTHER_CODE} END"
    return f"CASE p.{column} {cases} ELSE {null} END"


def _epoch_sql(version: tuple[int, ...] = sqlite3.sqlite_version_info) -> str:
    """SQL of ``p.observed_at`` as whole epoch seconds: ``unixepoch`` (SQLite 3.38 and later)
    is a fifth of the window read cheaper than formatting the seconds and parsing them back."""
    if version >= (3, 38):
        return "unixepoch(p.observed_at)"
    return "CAST(strftime('%s', p.observed_at) AS INTEGER)"


_PRICE_SQL = (
    f"CASE WHEN p.price_usd IS NULL THEN {_PRICE_NULL}"
    f" WHEN CAST(p.price_usd AS INTEGER) BETWEEN {-_PRICE_LIMIT} AND {_PRICE_LIMIT - 1}"
    f" THEN CAST(p.price_usd AS INTEGER) << {_PRICE_SHIFT} ELSE {_PRICE_APART} END"
)


@functools.cache
def _history_select(version: tuple[int, ...], lid: str | None = "l.rowid") -> str:
    """One history row as three integers (SQLite's << and | bind alike, left to right: hence
    the parentheses): id; the listing's rowid (``lid``) and the epoch second observed, as
    ``lid << 32 | epoch`` (without ``lid``: the epoch); price_usd and the words' codes, as
    ``price << 14 | flags << 12 | event << 8 | price_basis << 4 | status``. Few columns of
    plain integers are what makes reading a million rows cheap: the cost is per value SQLite
    computes and sends."""
    key = f"({lid} << 32) | {_epoch_sql(version)}" if lid else _epoch_sql(version)
    return (
        f"p.id, {key}, ({_PRICE_SQL}) "
        f"| (({_code_sql('event')}) << 8) | (({_code_sql('price_basis')}) << 4) "
        f"| ({_code_sql('status')})"
    )


def _sqlite_version(conn) -> tuple[int, ...]:
    return tuple(int(part) for part in _rows(conn, "SELECT sqlite_version()")[0][0].split("."))


_HISTORY_ROW = np.dtype([("id", "i8"), ("key", "i8"), ("codes", "i8")])


def _fetch_history(conn: ReadConnection, joins: str, params=()) -> np.ndarray:
    """The packed history rows (``_history_select``) of ``FROM ...`` ``joins``."""
    sql = f"SELECT {_history_select(_sqlite_version(conn))} {joins}"
    return _fetch_ints(conn, sql, params, _HISTORY_ROW)


def _fetch_ints(conn: ReadConnection, sql: str, params, dtype: np.dtype) -> np.ndarray:
    """The rows of a query of integer columns (never NULL), as a structured array."""
    if not _by_driver(conn):
        return np.fromiter(conn.execute(sql, params), dtype=dtype)
    with _cursor(conn, one_batch=True) as cursor:
        cursor.execute(sql, params)
        table = cursor.fetch_arrow_table()
    rows = np.empty(table.num_rows, dtype=dtype)
    for name in dtype.names:
        rows[name] = table.column(0).to_numpy()
        table = table.remove_column(0)  # the driver's buffers of a column freed once copied
    return rows


_ID_LID = np.dtype([("id", "i8"), ("lid", "i8")])


def _window_by_listing_apart(conn: ReadConnection, params: tuple) -> np.ndarray:
    """The window's packed rows (``params``: first id, begin, end) in the order of a walk by
    listing, from two reads SQLite does cheaply, matched by id: the table's rows of the window
    in id order (a sequential pass; ``+`` keeps SQLite off the time index) and the listing
    index walked alone for each row's (id, listing), no table row looked up per history row.
    At 1M rows 0.8 CPU s, against 1.1 for the one joined walk, whose table lookup per row in
    listing order is a random read."""
    version = _sqlite_version(conn)
    rows = _fetch_ints(
        conn,
        f"SELECT {_history_select(version, lid=None)} FROM price_history p "
        "WHERE p.id >= ? AND +p.observed_at >= ? AND +p.observed_at < ? ORDER BY p.id",
        params,
        _HISTORY_ROW,
    )
    if not rows.size:
        return rows
    first, last = int(rows["id"][0]), int(rows["id"][-1])
    walk = _fetch_ints(
        conn,
        f"SELECT p.id, l.rowid {_JOIN_BY_LISTING} WHERE p.id BETWEEN ? AND ?",
        (first, last),
        _ID_LID,
    )
    at = np.full(last - first + 1, -1, dtype=np.int32)  # a row's position by its id
    at[rows["id"] - first] = np.arange(rows.size, dtype=np.int32)
    found = at[walk["id"] - first]
    taken = found >= 0  # rows of the walk observed outside the window are not in ``rows``
    rows = rows[found[taken]]
    rows["key"] |= walk["lid"][taken] << 32
    return rows


def _words(
    conn: ReadConnection,
    rows: np.ndarray,
    column: str,
    shift: int,
    whole: bool,
) -> pd.Categorical:
    """The words of one packed column: the vocabulary's, NULL as missing, any other word read
    back as text by id (a rare, small query).

    The categories are the whole vocabulary, in its order, when ``whole`` and every row holds
    a known word; otherwise the words present, sorted (as pandas infers them from text).
    """
    codes = (rows["codes"] >> shift) & 15
    words = list(VOCABULARY[column])
    other = codes == _OTHER_CODE
    if other.any():
        ids = rows["id"][other].tolist()
        known = ", ".join(f"'{word}'" for word in words)
        found = dict(
            _rows(
                conn,
                f"SELECT id, {column} FROM price_history WHERE id BETWEEN ? AND ? "
                f"AND {column} NOT IN ({known})",
                (min(ids), max(ids)),
            )
        )
        words += sorted({str(found[i]) for i in ids} - set(words))
        codes = codes.copy()
        codes[other] = [words.index(str(found[i])) for i in ids]
    null = codes == _NULL_CODE
    if whole and not null.any() and not other.any():
        return pd.Categorical.from_codes(codes, categories=words)
    if not rows.size:
        return pd.Series([], dtype="object").map({}).astype("category").array
    present = np.flatnonzero(np.bincount(codes[~null]))  # np.unique hashes: 6x slower
    text = np.array(words, dtype=object)[present]
    order = np.argsort(text, kind="stable")
    recode = np.full(len(words) + 1, -1)
    recode[present[order]] = np.arange(present.size)
    return pd.Categorical.from_codes(
        recode[np.where(null, len(words), codes)], categories=text[order].tolist()
    )


def _prices(conn: ReadConnection, rows: np.ndarray, null: np.ndarray) -> np.ndarray:
    """price_usd of packed rows (0 where NULL); a price too large to pack read back by id."""
    price = np.where(null, 0, rows["codes"] >> _PRICE_SHIFT)
    apart = (rows["codes"] & _PRICE_APART).astype(bool)
    if apart.any():
        ids = rows["id"][apart]
        found = dict(
            _rows(
                conn,
                "SELECT id, CAST(price_usd AS INTEGER) FROM price_history WHERE id BETWEEN ? AND ?"
                f" AND CAST(price_usd AS INTEGER) NOT BETWEEN {-_PRICE_LIMIT}"
                f" AND {_PRICE_LIMIT - 1}",
                (int(ids.min()), int(ids.max())),
            )
        )
        price[apart] = [found[i] for i in ids.tolist()]
    return price


def _history_frame(
    conn: ReadConnection, parts: list[np.ndarray], *, before: bool = False
) -> pd.DataFrame:
    """The typed frame of fetched rows (``_HISTORY_ROW``), sorted by listing, then time.

    ``parts`` are the reads concatenated (with ``before``: the rows before the window, then
    the window's rows, flagged in a ``before`` column). Their words are categoricals over the
    whole vocabulary when every part has rows and every row a known word, else over the words
    present: the categories a frame read in parts has always had.
    """
    rows = np.concatenate(parts)
    order = _time_order(rows)
    whole = all(part.size for part in parts)
    rows = rows if order is None else rows[order]
    null = (rows["codes"] & _PRICE_NULL).astype(bool)
    df = pd.DataFrame(
        {
            "lid": rows["key"] >> 32,
            "id": rows["id"],
            # (no rows: typed as an empty read of text always was)
            "observed_at": _epoch_to_utc(
                rows["key"] & 0xFFFFFFFF if rows.size else np.array([], dtype=object)
            ),
            "event": _words(conn, rows, "event", 8, whole),
            "price_usd": pd.arrays.IntegerArray(_prices(conn, rows, null), null),
            "price_basis": _words(conn, rows, "price_basis", 4, whole),
            "status": _words(conn, rows, "status", 0, whole),
        }
    )
    if before:
        flags = np.arange(rows.size) < parts[0].size
        df["before"] = flags if order is None else flags[order]
    return df


def _time_order(rows: np.ndarray) -> np.ndarray | None:
    """The order of packed rows by listing, then time, then id; None when they are in it
    already (a window read by listing, with no row before it, is: a sort would cost 0.1 s)."""
    keys, ids = rows["key"], rows["id"]
    if _in_time_order(keys, ids):
        return None
    # reads come as runs in order (the rows before the window, then the window by listing),
    # which a stable sort of the keys merges in linear time (timsort): 0.01 s at 1.2M rows,
    # where lexsort sorts from scratch (0.3 s). Rows of one key keep the order they came in,
    # which is by id unless a run was not: then the full sort
    order = np.argsort(keys, kind="stable")
    if _in_time_order(keys[order], ids[order]):
        return order
    return np.lexsort((ids, keys))


def _in_time_order(keys: np.ndarray, ids: np.ndarray) -> bool:
    step = np.diff(keys)
    return bool(((step > 0) | ((step == 0) & (np.diff(ids) > 0))).all())


def _first_ids(lids: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each listing's smallest id among rows: (lids ascending, their first ids). Rows read
    by listing come grouped by listing, and are then not sorted again."""
    if (np.diff(lids) < 0).any():
        order = np.argsort(lids, kind="stable")
        lids, ids = lids[order], ids[order]
    starts = np.flatnonzero(np.diff(lids, prepend=lids[:1] - 1))
    if not starts.size:
        return lids, ids
    return lids[starts], np.minimum.reduceat(ids, starts)


def _first_id_from(conn, start: pd.Timestamp) -> int | None:
    """The smallest id of a row observed from ``start`` on. Not the id of the earliest row
    observed: a feed ingested late (a remote crawl stored after later nights) has the largest
    ids and the earliest times, and the window would start after the other nights' rows."""
    # "id + 0": SQLite would answer min(id) by walking the ids from the first until a row is
    # late enough (0.6 s at 10M rows); over the time index it reads only the window's entries
    rows = _rows(
        conn, "SELECT min(id + 0) FROM price_history WHERE observed_at >= ?", (_iso(start),)
    )
    return rows[0][0] if rows else None


#: The window's rows joined to their listings by listing: a seek into the history's listing
#: index per listing, then its rows (CROSS JOIN keeps that order; the window's walk reads the
#: index alone, ``_window_by_listing_apart``); or row by row in id order, a seek into the
#: listings per row.
_JOIN_BY_LISTING = (
    "FROM listings l CROSS JOIN price_history p"
    " ON p.source = l.source AND p.listing_id = l.listing_id"
)
_JOIN_BY_ROW = (
    "FROM price_history p JOIN listings l ON l.source = p.source AND l.listing_id = p.listing_id"
)


def _window_by_listing(conn, first_id: int) -> bool:
    """By listing when the window holds more than two rows per listing, else by row: the
    text-key seek per row is most of the cost of a large window (1M rows: 1.8 -> 1.5 s), and
    a seek per listing is wasted on a short one (35k rows: 0.07 -> 0.2 s)."""
    ((last_id, listings),) = _rows(
        conn, "SELECT (SELECT max(id) FROM price_history), (SELECT max(rowid) FROM listings)"
    )
    return (last_id or 0) - first_id > 2 * (listings or 0)


def _temp_table(conn, table: str, columns: dict[str, np.ndarray]) -> None:
    """A temporary table (``name (columns...)``) filled with these integer columns, bound
    as one Arrow batch."""
    name = table.split(" ", 1)[0]
    with _cursor(conn) as cursor:
        cursor.execute(f"CREATE TEMP TABLE {table}")
        if len(next(iter(columns.values()))):
            marks = ", ".join("?" * len(columns))
            rows = (
                pa.table(columns)
                if _by_driver(conn)
                else zip(*(values.tolist() for values in columns.values()), strict=True)
            )
            cursor.executemany(f"INSERT INTO temp.{name} VALUES ({marks})", rows)


def read_history_window(db_path: str | os.PathLike, start, as_of) -> pd.DataFrame:
    """History rows observed from ``start`` (a date) to the end of ``as_of``, plus, for each
    listing with such rows, its last row before ``start`` (``before`` = True), so the state at
    any time in the window can be rebuilt. Columns: lid, id, observed_at (UTC), event,
    price_usd, price_basis, status, before; sorted by listing, then time.

    History is appended in time order (each crawl after the previous one), so the window is a
    range of ids read sequentially, and a listing's row before it is the one with the largest
    smaller id: one index seek per listing, whatever the length of the history.
    """
    end = as_of_end(as_of)
    begin = pd.Timestamp(as_of_date(start), tz="UTC")
    with closing(connect_arrow(db_path)) as conn:
        first_id = _first_id_from(conn, begin)
        params = (first_id, _iso(begin), _iso(end))
        if first_id is None:
            window = np.zeros(0, dtype=_HISTORY_ROW)
        elif _window_by_listing(conn, first_id):
            window = _window_by_listing_apart(conn, params)
        else:
            window = _fetch_history(
                conn,
                f"{_JOIN_BY_ROW} WHERE p.id >= ? AND p.observed_at >= ? AND p.observed_at < ?",
                params,
            )
        lids, first_ids = _first_ids(window["key"] >> 32, window["id"])
        _temp_table(
            conn,
            "firsts (lid INTEGER PRIMARY KEY, first_id INTEGER)",
            {"lid": lids, "first_id": first_ids},
        )
        before = _fetch_history(
            conn,
            "FROM temp.firsts f "
            "JOIN listings l ON l.rowid = f.lid "
            "JOIN price_history p ON p.id = (SELECT max(p2.id) FROM price_history p2 "
            "  WHERE p2.source = l.source AND p2.listing_id = l.listing_id AND p2.id < f.first_id)",
        )
        return _history_frame(conn, [before, window], before=True)


def read_history_of_lids(
    db_path: str | os.PathLike, lids: Iterable[int], *, before
) -> pd.DataFrame:
    """Every history row observed before ``before`` (a date or timestamp, exclusive) of the
    listings with these rowids (``lid``); same columns as ``read_history_window`` without
    ``before``. One index seek per listing.
    """
    unique = sorted({int(x) for x in lids})
    cutoff = (
        before if isinstance(before, pd.Timestamp) else pd.Timestamp(as_of_date(before), tz="UTC")
    )
    with closing(connect_arrow(db_path)) as conn:
        _temp_table(conn, "wanted (lid INTEGER PRIMARY KEY)", {"lid": np.array(unique, "i8")})
        rows = _fetch_history(
            conn,
            "FROM temp.wanted w "
            "JOIN listings l ON l.rowid = w.lid "
            "JOIN price_history p ON p.source = l.source AND p.listing_id = l.listing_id "
            "WHERE p.observed_at < ?",
            (_iso(cutoff),),
        )
        return _history_frame(conn, [rows])


def read_history_of(
    db_path: str | os.PathLike, keys: Iterable[tuple[str, str]], as_of
) -> pd.DataFrame:
    """Every history row observed by the end of ``as_of`` of the given (source, listing_id)
    listings, all columns of price_history, sorted by listing then time (for the alerts)."""
    end = as_of_end(as_of)
    unique = sorted({(str(s), str(i)) for s, i in keys})
    columns = ("id", "source", "listing_id", "observed_at", "event", *STATE_COLUMNS)
    if not unique:
        empty = pd.DataFrame({c: pd.Series([], dtype="object") for c in columns})
        return _typed(empty, {"price": "Int64", "price_usd": "Int64"}, ("observed_at",))
    with closing(connect_readonly(db_path)) as conn:
        conn.execute("CREATE TEMP TABLE wanted_keys (source TEXT, listing_id TEXT)")
        conn.executemany("INSERT INTO temp.wanted_keys VALUES (?, ?)", unique)
        df = pd.read_sql_query(
            f"SELECT {', '.join('p.' + c for c in columns)} FROM temp.wanted_keys w "
            "JOIN price_history p ON p.source = w.source AND p.listing_id = w.listing_id "
            "WHERE p.observed_at < ?",
            conn,
            params=(_iso(end),),
        )
    df = _typed(df, {"price": "Int64", "price_usd": "Int64", "id": "int64"}, ("observed_at",))
    return df.sort_values(["source", "listing_id", "observed_at", "id"], kind="stable").reset_index(
        drop=True
    )


def read_example_values(db_path: str | os.PathLike) -> tuple[str | None, str | None]:
    """Examples for Datasette's query forms: a listing ("source:listing_id", the last whose
    price changed, else any) and the most common state; None where the database has none."""
    with closing(connect_readonly(db_path)) as conn:
        found = (
            conn.execute(
                "SELECT source, listing_id FROM price_history WHERE event = 'price_change' "
                "ORDER BY id DESC LIMIT 1"
            ).fetchone()
            or conn.execute("SELECT source, listing_id FROM listings LIMIT 1").fetchone()
        )
        state = conn.execute(
            "SELECT state FROM listings WHERE state IS NOT NULL "
            "GROUP BY state ORDER BY count(*) DESC, state LIMIT 1"
        ).fetchone()
    return (f"{found[0]}:{found[1]}" if found else None), (state[0] if state else None)

"""The one module of ``analysis`` that reads SQL: tables into typed DataFrames.

Everything else in ``analysis`` is pure DataFrame -> DataFrame functions.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path

import pandas as pd

LISTING_DTYPES = {
    "year": "Int64",
    "build_month": "Int64",
    "engine_cc": "Int64",
    "mileage_mi": "Int64",
    "price": "Int64",
    "price_usd": "Int64",
    "is_4wd": "boolean",
    "eligible_25y": "boolean",
    "last_run_id": "Int64",
}
LISTING_DATES = ("first_seen_at", "last_seen_at", "gone_at", "scraped_at")
HISTORY_DTYPES = {"price": "Int64", "price_usd": "Int64", "run_id": "Int64"}


class DatabaseMissingError(FileNotFoundError):
    """The database file does not exist (no crawl has run yet)."""


def connect_readonly(db_path: str | os.PathLike) -> sqlite3.Connection:
    path = Path(db_path)
    if not path.is_file():
        raise DatabaseMissingError(f"no database at {path}: run a crawl (or `keitrucks demo`) first")
    conn = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True, timeout=30)
    conn.execute("PRAGMA busy_timeout = 30000")
    return conn


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


def read_listings(db_path: str | os.PathLike, *, where: str = "", params=()) -> pd.DataFrame:
    """Every stored listing (latest state), typed; ``where`` filters in SQL."""
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

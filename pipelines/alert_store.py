"""The ``alerts`` table: every alert raised, one row per delivery channel, and its delivery state.

This is the memory that stops a truck being announced twice and keeps a failed send from being
lost. ``analysis.alerts`` decides what to raise and sends it; this module is the only one that
reads or writes the table. A row is written ``pending`` before the send and updated to ``sent``
or ``failed`` after it, each batch in one transaction, so a crash in between leaves ``pending``
rows that the next run delivers (at least once, never silently dropped). Without any channel
configured an alert is recorded once, on the ``local`` channel, as ``not_sent``: it was printed
and written to the digest, and sent nowhere.

Columns (see ``pipelines.schema.SCHEMA``): ``kind`` (the rule), ``identity`` (the truck across
reposts, or ``<source>/run/<id>`` for a source alert), ``price_usd`` (the price alerted at),
``reason``, ``channel`` (a channel's safe name, never its URL), ``status`` (pending, sent,
failed, not_sent; ``dry_run`` rows are never treated as raised), ``created_at`` (the as-of
night, UTC), ``sent_at`` (when it was delivered, UTC), ``error`` (the last failure, secrets
removed).
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.schema import StorageError, open_db

#: Statuses of rows still owed a delivery.
UNDELIVERED = ("pending", "failed")
#: The channel and status of an alert raised while no channel was configured: printed and in
#: the digest only. Never retried: it was owed to no channel.
LOCAL_CHANNEL, NOT_SENT = "local", "not_sent"
#: The columns an alert carries into the table (besides channel, status and times).
ALERT_FIELDS = ("kind", "identity", "source", "listing_id", "price_usd", "reason")


@dataclass(frozen=True)
class AlertMemory:
    """What the table already holds of one (kind, identity): how often, and the lowest price."""

    count: int
    lowest_price_usd: int | None


@contextmanager
def alert_db(db_path: str | os.PathLike, *, readonly: bool = False) -> Iterator[sqlite3.Connection]:
    """A connection to the database for alert bookkeeping; ``readonly`` never writes a byte.

    Writing opens through ``pipelines.schema.open_db`` (WAL, schema ensured). Raises
    ``StorageError`` when the database cannot be opened (or, read-only, does not exist).
    """
    path = Path(db_path)
    if readonly:
        if not path.is_file():
            raise StorageError(f"no database at {path}")
        conn = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True, timeout=30)
    else:
        conn = open_db(path).conn
        _settle_local_rows(conn)
    conn.row_factory = sqlite3.Row
    with closing(conn):
        yield conn


def _settle_local_rows(conn: sqlite3.Connection) -> None:
    """Rows of earlier versions said ``sent`` on the ``local`` channel, where nothing was sent."""
    with conn:
        conn.execute(
            "UPDATE alerts SET status = ?, sent_at = NULL WHERE channel = ? AND status = 'sent'",
            [NOT_SENT, LOCAL_CHANNEL],
        )


def _has_table(conn: sqlite3.Connection) -> bool:
    row = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alerts'")
    return row.fetchone() is not None


def _day_bounds(day: dt.date) -> tuple[str, str]:
    return day.isoformat(), (day + dt.timedelta(days=1)).isoformat()


def night_stamp(day: dt.date) -> str:
    """``created_at`` of alerts raised for the night of ``day``."""
    return f"{day.isoformat()}T00:00:00+00:00"


def read_alert_memory(conn: sqlite3.Connection) -> dict[tuple[str, str], AlertMemory]:
    """(kind, identity) -> AlertMemory over every raised alert (all channels, not dry runs)."""
    if not _has_table(conn):
        return {}
    rows = conn.execute(
        "SELECT kind, identity, count(DISTINCT coalesce(price_usd, '') || '@' || created_at) AS n, "
        "min(price_usd) AS low FROM alerts WHERE status != 'dry_run' GROUP BY kind, identity"
    )
    return {(r["kind"], r["identity"]): AlertMemory(r["n"], r["low"]) for r in rows}


def count_raised_on(conn: sqlite3.Connection, day: dt.date, kinds: Iterable[str]) -> int:
    """How many distinct alerts of ``kinds`` were raised for the night of ``day``."""
    kinds = list(kinds)
    if not kinds or not _has_table(conn):
        return 0
    start, end = _day_bounds(day)
    row = conn.execute(
        "SELECT count(*) FROM (SELECT DISTINCT kind, identity, price_usd FROM alerts "
        f"WHERE status != 'dry_run' AND created_at >= ? AND created_at < ? "
        f"AND kind IN ({', '.join('?' * len(kinds))}))",
        [start, end, *kinds],
    ).fetchone()
    return int(row[0])


def record_alerts(
    conn: sqlite3.Connection,
    alerts: Sequence[dict[str, Any]],
    channels: Sequence[str],
    *,
    created_at: str,
    status: str = "pending",
    sent_at: str | None = None,
) -> list[dict[str, Any]]:
    """Insert one row per alert and channel in one transaction; return the rows with their id.

    Each returned row also carries ``alert`` (the index of its alert in ``alerts``).
    """
    sql = (
        f"INSERT INTO alerts ({', '.join(ALERT_FIELDS)}, channel, status, created_at, sent_at) "
        f"VALUES ({', '.join('?' * (len(ALERT_FIELDS) + 4))})"
    )
    out = []
    with conn:
        for index, alert in enumerate(alerts):
            values = [alert.get(f) for f in ALERT_FIELDS]
            for channel in channels:
                cursor = conn.execute(sql, [*values, channel, status, created_at, sent_at])
                out.append(
                    {
                        **dict(zip(ALERT_FIELDS, values, strict=True)),
                        "id": cursor.lastrowid,
                        "alert": index,
                        "channel": channel,
                        "status": status,
                        "created_at": created_at,
                        "sent_at": sent_at,
                        "error": None,
                    }
                )
    return out


def read_undelivered(conn: sqlite3.Connection, channels: Iterable[str]) -> list[dict[str, Any]]:
    """Rows still owed to one of ``channels`` (pending or failed), oldest first."""
    channels = list(channels)
    if not channels or not _has_table(conn):
        return []
    rows = conn.execute(
        f"SELECT * FROM alerts WHERE status IN ({', '.join('?' * len(UNDELIVERED))}) "
        f"AND channel IN ({', '.join('?' * len(channels))}) ORDER BY id",
        [*UNDELIVERED, *channels],
    )
    return [dict(r) for r in rows]


def count_orphaned(conn: sqlite3.Connection, channels: Iterable[str]) -> int:
    """Undelivered rows whose channel is no longer configured (they wait for it to return)."""
    channels = list(channels)
    if not _has_table(conn):
        return 0
    where = f" AND channel NOT IN ({', '.join('?' * len(channels))})" if channels else ""
    row = conn.execute(
        f"SELECT count(*) FROM alerts WHERE status IN ('pending', 'failed') "
        f"AND channel != ?{where}",
        [LOCAL_CHANNEL, *channels],
    ).fetchone()
    return int(row[0])


def mark_delivery(
    conn: sqlite3.Connection, outcomes: Iterable[tuple[int, bool, str | None]], *, at: str
) -> None:
    """Record (row id, delivered?, error) outcomes in one transaction."""
    sent = [(at, row_id) for row_id, ok, _ in outcomes if ok]
    failed = [(error or "delivery failed", row_id) for row_id, ok, error in outcomes if not ok]
    with conn:
        conn.executemany(
            "UPDATE alerts SET status = 'sent', sent_at = ?, error = NULL WHERE id = ?", sent
        )
        conn.executemany("UPDATE alerts SET status = 'failed', error = ? WHERE id = ?", failed)


def read_alerts_on(conn: sqlite3.Connection, day: dt.date) -> list[dict[str, Any]]:
    """The distinct alerts raised for the night of ``day`` with their channels' states.

    One dict per (kind, identity, price_usd): the alert fields, ``created_at`` and
    ``deliveries`` ({channel: status}). Oldest first.
    """
    if not _has_table(conn):
        return []
    start, end = _day_bounds(day)
    rows = conn.execute(
        "SELECT * FROM alerts WHERE status != 'dry_run' AND created_at >= ? AND created_at < ? "
        "ORDER BY id",
        [start, end],
    )
    alerts: dict[tuple, dict[str, Any]] = {}
    for row in rows:
        key = (row["kind"], row["identity"], row["price_usd"])
        entry = alerts.setdefault(
            key,
            {
                **{f: row[f] for f in ALERT_FIELDS},
                "created_at": row["created_at"],
                "deliveries": {},
            },
        )
        entry["deliveries"][row["channel"]] = row["status"]
    return list(alerts.values())

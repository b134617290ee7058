"""SQLite storage: latest listing state, append-only price history, runs and alerts.

One writer (a crawl) and any number of readers (Datasette, sqlite3, the report) share the
database in WAL mode. Writes are batched in transactions, so a crash loses at most the batch in
flight and never leaves half a batch behind. The split follows the dogsheep tools:

- ``open_db(path)`` / ``ensure_schema(db)``: idempotent schema, safe on every open;
- ``start_run`` / ``save_listings`` / ``finish_run`` / ``mark_gone``: the writes of one crawl;
- ``SQLitePipeline``: the thin Scrapy pipeline that calls them.

"Gone" is derived, never guessed: a listing becomes gone only when a healthy, complete run of
its source over the same search (``search_key``) no longer sees it.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import time
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from scrapy import signals
from sqlite_utils import Database

from keitrucks.core.dates import now_iso
from scrapers.items import RAW_FIELDS, Listing

logger = logging.getLogger(__name__)

#: Fields stored as JSON text.
JSON_FIELDS = {"attributes", "image_urls"}
#: Columns of ``listings`` that the crawl bookkeeping owns (not Listing fields).
TRACKING_COLUMNS = {
    "identity": "TEXT",
    "first_seen_at": "TEXT",
    "last_seen_at": "TEXT",
    "last_run_id": "INTEGER",
    "search_key": "TEXT",
    "gone_at": "TEXT",
}
#: The fields whose change writes a price_history row.
HISTORY_FIELDS = ("price", "currency", "price_usd", "price_basis", "status")
#: Stored on each history row as observed, but a change in them alone is no event (the landed
#: estimate moves with exchange rates and fee tables, not with the seller's price).
HISTORY_EXTRAS = ("landed_usd",)
COVERAGE_FIELDS = ("price_usd", "year", "model", "is_4wd", "mileage_mi")


class StorageError(Exception):
    """The database cannot be opened or written (path, permissions, corruption)."""


def _sql_type(hint: Any) -> str:
    args = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
    base = typing.get_origin(args[0]) or args[0]
    if base in (bool, int):
        return "INTEGER"
    if base is float:
        return "REAL"
    return "TEXT"


def _listing_columns() -> dict[str, str]:
    hints = typing.get_type_hints(Listing)
    return {f.name: _sql_type(hints[f.name]) for f in fields(Listing)}


LISTING_COLUMNS = _listing_columns()

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    search_key TEXT,
    as_of TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    -- running, finished, blocked, failed, abandoned (killed: never finished)
    status TEXT NOT NULL DEFAULT 'running',
    finish_reason TEXT,
    complete INTEGER NOT NULL DEFAULT 0,
    healthy INTEGER NOT NULL DEFAULT 0,
    health_reason TEXT,
    items INTEGER NOT NULL DEFAULT 0,
    drops INTEGER NOT NULL DEFAULT 0,
    errors INTEGER NOT NULL DEFAULT 0,
    requests INTEGER NOT NULL DEFAULT 0,
    blocked_reason TEXT,
    gone_marked INTEGER NOT NULL DEFAULT 0,
    coverage TEXT,
    stats TEXT,
    pid INTEGER
);
CREATE INDEX IF NOT EXISTS runs_source_started ON runs (source, started_at);

CREATE TABLE IF NOT EXISTS price_history (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    listing_id TEXT NOT NULL,
    run_id INTEGER REFERENCES runs(id),
    observed_at TEXT NOT NULL,
    -- new, price_change, status_change, relisted, gone
    event TEXT NOT NULL,
    price INTEGER,
    currency TEXT,
    price_usd INTEGER,
    price_basis TEXT,
    status TEXT,
    landed_usd INTEGER
);
CREATE INDEX IF NOT EXISTS price_history_listing ON price_history (source, listing_id, id);
CREATE INDEX IF NOT EXISTS price_history_observed ON price_history (observed_at);

CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    identity TEXT NOT NULL,
    source TEXT,
    listing_id TEXT,
    price_usd INTEGER,
    reason TEXT,
    channel TEXT,
    -- pending, sent, failed, dry_run
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS alerts_identity ON alerts (kind, identity);
"""


def open_db(path: str | os.PathLike) -> Database:
    """Open (creating if needed) the database at ``path`` in WAL mode, schema ensured."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = Database(path)
        db.execute("PRAGMA busy_timeout = 30000")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
        ensure_schema(db)
    except Exception as exc:  # sqlite3 and OS errors, reworded for the user
        raise StorageError(f"cannot open database {path}: {exc}") from exc
    return db


def ensure_schema(db: Database) -> None:
    """Create tables, indexes and views if missing; add columns new fields need. Idempotent."""
    with db.conn:
        db.conn.executescript(SCHEMA)
        if not db["listings"].exists():
            cols = ",\n    ".join(
                f"{name} {kind}" for name, kind in {**LISTING_COLUMNS, **TRACKING_COLUMNS}.items()
            )
            db.execute(
                f"CREATE TABLE listings (\n    {cols},\n    PRIMARY KEY (source, listing_id))"
            )
        if "landed_usd" not in db["price_history"].columns_dict:  # databases from before it
            db.execute("ALTER TABLE price_history ADD COLUMN landed_usd INTEGER")
        existing = set(db["listings"].columns_dict)
        for name, kind in {**LISTING_COLUMNS, **TRACKING_COLUMNS}.items():
            if name not in existing:
                db.execute(f"ALTER TABLE listings ADD COLUMN {name} {kind}")
        db.execute("CREATE INDEX IF NOT EXISTS listings_status ON listings (source, status)")
        db.execute("CREATE INDEX IF NOT EXISTS listings_identity ON listings (identity)")
        for name, sql in VIEWS.items():
            db.execute(f"DROP VIEW IF EXISTS {name}")
            db.execute(f"CREATE VIEW {name} AS {sql}")


VIEWS = {
    "active_trucks": """
        SELECT source, listing_id, title, make, model, model_code, year, is_4wd, mileage_mi,
               price_usd, price_basis, price_band, eligible_25y, location_raw, url,
               first_seen_at, last_seen_at
        FROM listings WHERE status = 'active' AND kind = 'kei_truck'""",
    "latest_runs": """
        SELECT r.* FROM runs r
        WHERE r.id = (SELECT max(id) FROM runs r2 WHERE r2.source = r.source)""",
}


# -- runs -------------------------------------------------------------------------------------


def start_run(db: Database, source: str, *, search_key: str, as_of: str, started_at: str) -> int:
    """Insert a ``running`` run row; earlier runs of the source still ``running`` were killed."""
    with db.conn:
        db.execute(
            "UPDATE runs SET status = 'abandoned', finish_reason = coalesce(finish_reason, "
            "'killed'), complete = 0, healthy = 0 WHERE source = ? AND status = 'running'",
            [source],
        )
        cursor = db.execute(
            "INSERT INTO runs (source, search_key, as_of, started_at, status, pid) "
            "VALUES (?, ?, ?, ?, 'running', ?)",
            [source, search_key, as_of, started_at, os.getpid()],
        )
    return cursor.lastrowid


def abandon_run(db_path: str | os.PathLike, run_id: int, reason: str) -> dict[str, Any]:
    """Record a run whose crawl died before it finished as abandoned; return the run row.

    ``start_run`` does the same for a source's earlier runs, but only at its next run; the
    night's report, alerts and health check need to see it now.
    """
    db = open_db(db_path)
    try:
        with db.conn:
            db.execute(
                "UPDATE runs SET status = 'abandoned', finish_reason = ?, finished_at = ?, "
                "complete = 0, healthy = 0, health_reason = ? WHERE id = ? AND status = 'running'",
                [reason, now_iso(), reason, run_id],
            )
        return next(db.query("SELECT * FROM runs WHERE id = ?", [run_id]))
    finally:
        db.close()


def count_summary(db_path: str | os.PathLike) -> dict[str, int]:
    """Headline counts of the database: listings, kei trucks, active, sources, history events."""
    queries = {
        "listings": "SELECT count(*) FROM listings",
        "trucks": "SELECT count(*) FROM listings WHERE kind = 'kei_truck'",
        "active": "SELECT count(*) FROM listings WHERE status = 'active'",
        "sources": "SELECT count(DISTINCT source) FROM listings",
        "price_changes": "SELECT count(*) FROM price_history WHERE event = 'price_change'",
        "gone": "SELECT count(*) FROM price_history WHERE event = 'gone'",
        "relisted": "SELECT count(*) FROM price_history WHERE event = 'relisted'",
        "alerts": "SELECT count(*) FROM alerts",
    }
    db = open_db(db_path)
    try:
        return {name: db.execute(sql).fetchone()[0] for name, sql in queries.items()}
    finally:
        db.close()


@dataclass(frozen=True)
class RunVerdict:
    complete: bool
    healthy: bool
    reason: str


#: Stats that mean part of the crawl failed, so the run did not see everything.
INCOMPLETE_STATS = {
    "keitrucks/blocked": "blocked",
    "keitrucks/budget_exhausted": "request budget spent",
    "keitrucks/request_failed": "requests failed",
    "keitrucks/empty_page": "page with no listings (layout change?)",
    "spider_exceptions/count": "parser exceptions",
    "retry/max_reached": "retries exhausted",
    "httperror/response_ignored_count": "HTTP errors",
}


def judge_run(
    finish_reason: str,
    stats: dict[str, Any],
    items: int,
    recent_items: Sequence[int],
    min_ratio: float = 0.5,
) -> RunVerdict:
    """Was the run complete (saw everything it searched) and healthy (a plausible result)?

    Only a complete and healthy run may mark listings gone. ``recent_items`` are the item
    counts of the source's recent healthy runs over the same search.
    """
    if finish_reason != "finished":
        return RunVerdict(False, False, f"finished as {finish_reason!r}")
    for key, why in INCOMPLETE_STATS.items():
        if stats.get(key):
            return RunVerdict(False, False, why)
    if items == 0:
        return RunVerdict(True, False, "no listings")
    if recent_items:
        median = statistics.median(recent_items)
        if items < min_ratio * median:
            return RunVerdict(True, False, f"{items} listings, recent median {median:g}")
    return RunVerdict(True, True, "ok")


def recent_item_counts(db: Database, source: str, search_key: str, limit: int = 7) -> list[int]:
    return [
        row["items"]
        for row in db.query(
            "SELECT items FROM runs WHERE source = ? AND search_key = ? AND healthy = 1 "
            "ORDER BY id DESC LIMIT ?",
            [source, search_key, limit],
        )
    ]


def finish_run(
    db: Database,
    run_id: int,
    *,
    finished_at: str,
    finish_reason: str,
    verdict: RunVerdict,
    stats: dict[str, Any],
    items: int,
    coverage: dict[str, float],
    gone_marked: int = 0,
) -> None:
    blocked = stats.get("keitrucks/blocked")
    status = "blocked" if blocked else ("finished" if finish_reason == "finished" else "failed")
    with db.conn:
        db.execute(
            "UPDATE runs SET finished_at = ?, status = ?, finish_reason = ?, complete = ?, "
            "healthy = ?, health_reason = ?, items = ?, drops = ?, errors = ?, requests = ?, "
            "blocked_reason = ?, gone_marked = ?, coverage = ?, stats = ? WHERE id = ?",
            [
                finished_at,
                status,
                finish_reason,
                int(verdict.complete),
                int(verdict.healthy),
                verdict.reason,
                items,
                int(stats.get("item_dropped_count", 0)),
                int(stats.get("log_count/ERROR", 0)),
                int(stats.get("downloader/request_count", 0)),
                blocked,
                gone_marked,
                json.dumps(coverage, sort_keys=True),
                json.dumps(stats, sort_keys=True, default=str),
                run_id,
            ],
        )


# -- listings and history ---------------------------------------------------------------------


#: (position, name) of the JSON columns in a ``listings`` row (LISTING_COLUMNS order).
_JSON_POSITIONS = [(i, name) for i, name in enumerate(LISTING_COLUMNS) if name in JSON_FIELDS]


def _listing_row(item: dict[str, Any], tracking: dict[str, Any]) -> list[Any]:
    """One ``listings`` row in ``LISTING_COLUMNS + TRACKING_COLUMNS`` order (sqlite3 stores
    booleans as 0/1 itself; only the JSON columns need encoding)."""
    row = [item.get(name) for name in LISTING_COLUMNS]
    for position, name in _JSON_POSITIONS:
        row[position] = _db_value(name, row[position])
    row.extend(tracking[name] for name in TRACKING_COLUMNS)
    return row


def _db_value(name: str, value: Any) -> Any:
    if name in JSON_FIELDS:
        return json.dumps(
            value if value is not None else ([] if name == "image_urls" else {}),
            ensure_ascii=False,
            sort_keys=True,
        )
    if isinstance(value, bool):
        return int(value)
    return value


def _history_state(row: dict[str, Any]) -> tuple:
    return tuple(row.get(f) for f in HISTORY_FIELDS)


def _identity(item: dict[str, Any], known: dict[tuple[str, str], dict]) -> str:
    """One truck, one identity across reposts: a repost inherits its predecessor's identity."""
    own = f"{item['source']}:{item['listing_id']}"
    previous = item.get("repost_of")
    if previous:
        before = known.get((item["source"], str(previous)))
        return (before or {}).get("identity") or f"{item['source']}:{previous}"
    return own


def save_listings(
    db: Database,
    items: Iterable[Listing | dict[str, Any]],
    *,
    run_id: int,
    seen_at: str,
    search_key: str | None = None,
) -> dict[str, int]:
    """Upsert a batch in one transaction; append history rows for new or changed listings.

    Returns counts of history events written ({"new": 3, "price_change": 1, ...}).
    """
    # a shallow copy: asdict() deep-copies every field and costs more than the whole write
    batch = [dict(vars(i)) if isinstance(i, Listing) else dict(i) for i in items]
    if not batch:
        return {}
    keys = [(b["source"], str(b["listing_id"])) for b in batch]
    for b, (_, lid) in zip(batch, keys, strict=True):
        b["listing_id"] = lid
    repost_keys = [(b["source"], str(b["repost_of"])) for b in batch if b.get("repost_of")]
    known = _fetch_known(db, keys + repost_keys)

    columns = list(LISTING_COLUMNS) + list(TRACKING_COLUMNS)
    update_cols = [c for c in columns if c not in ("source", "listing_id", "first_seen_at")]
    upsert_sql = (
        f"INSERT INTO listings ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
        f"ON CONFLICT(source, listing_id) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in update_cols)
    )
    history_sql = (
        "INSERT INTO price_history (source, listing_id, run_id, observed_at, event, "
        + ", ".join(HISTORY_FIELDS + HISTORY_EXTRAS)
        + ") VALUES (?, ?, ?, ?, ?, "
        + ", ".join("?" * len(HISTORY_FIELDS + HISTORY_EXTRAS))
        + ")"
    )
    rows, history, events = [], [], {}
    for item, key in zip(batch, keys, strict=True):
        before = known.get(key)
        item["status"] = item.get("status") or "active"
        tracking = {
            "identity": (before or {}).get("identity") or _identity(item, known),
            "first_seen_at": (before or {}).get("first_seen_at") or seen_at,
            "last_seen_at": seen_at,
            "last_run_id": run_id,
            "search_key": search_key or (before or {}).get("search_key"),
            "gone_at": None,
        }
        rows.append(_listing_row(item, tracking))
        event = _history_event(before, item)
        if event:
            events[event] = events.get(event, 0) + 1
            extras = [item.get(f) for f in HISTORY_EXTRAS]
            history.append([*key, run_id, seen_at, event, *_history_state(item), *extras])
        known[key] = {**item, **tracking}
    with db.conn:
        db.conn.executemany(upsert_sql, rows)
        db.conn.executemany(history_sql, history)
    return events


def _history_event(before: dict[str, Any] | None, item: dict[str, Any]) -> str | None:
    if before is None:
        return "new"
    if before.get("status") == "gone":
        return "relisted"
    if _history_state(before) == _history_state(item):
        return None
    if before.get("status") != item.get("status"):
        return "status_change"
    return "price_change"


def _fetch_known(db: Database, keys: list[tuple[str, str]]) -> dict[tuple[str, str], dict]:
    known: dict[tuple[str, str], dict] = {}
    unique = list(dict.fromkeys(keys))
    for start in range(0, len(unique), 400):
        chunk = unique[start : start + 400]
        where = " OR ".join(["(source = ? AND listing_id = ?)"] * len(chunk))
        params = [v for k in chunk for v in k]
        sql = (
            f"SELECT source, listing_id, identity, first_seen_at, search_key, "
            f"{', '.join(HISTORY_FIELDS)} FROM listings WHERE {where}"
        )
        for row in db.query(sql, params):
            known[(row["source"], row["listing_id"])] = row
    return known


def mark_gone(db: Database, *, source: str, search_key: str, run_id: int, at: str) -> int:
    """Mark active listings of this search that ``run_id`` did not see as gone; return how many.

    Call only after a healthy, complete run (see ``judge_run``).
    """
    where = "source = ? AND search_key = ? AND status = 'active' AND last_run_id != ?"
    params = [source, search_key, run_id]
    with db.conn:
        gone = list(
            db.query(
                f"SELECT listing_id, {', '.join(HISTORY_FIELDS + HISTORY_EXTRAS)} "
                f"FROM listings WHERE {where}",
                params,
            )
        )
        db.conn.executemany(
            "INSERT INTO price_history (source, listing_id, run_id, observed_at, event, price, "
            "currency, price_usd, price_basis, status, landed_usd) "
            "VALUES (?, ?, ?, ?, 'gone', ?, ?, ?, ?, 'gone', ?)",
            [
                [
                    source,
                    g["listing_id"],
                    run_id,
                    at,
                    g["price"],
                    g["currency"],
                    g["price_usd"],
                    g["price_basis"],
                    g["landed_usd"],
                ]
                for g in gone
            ],
        )
        db.execute(f"UPDATE listings SET status = 'gone', gone_at = ? WHERE {where}", [at, *params])
    return len(gone)


def read_known_listings(db_path: str | os.PathLike, source: str) -> dict[str, dict[str, Any]]:
    """What the database already holds of a source: listing_id -> its raw fields and status.

    Spiders use it to skip detail pages of listings that have not changed, carrying the stored
    raw fields forward instead. JSON columns come back decoded. An absent database gives {}.
    """
    if not Path(db_path).is_file():
        return {}
    columns = ["listing_id", "url", "status", *RAW_FIELDS]
    db = Database(db_path)
    try:
        if not db["listings"].exists():
            return {}
        known = {}
        sql = f"SELECT {', '.join(columns)} FROM listings WHERE source = ?"
        for row in db.query(sql, [source]):
            for name in JSON_FIELDS:
                row[name] = json.loads(row[name]) if row[name] else None
            known[row["listing_id"]] = row
        return known
    finally:
        db.close()


def read_known_listing_ids(db_path: str | os.PathLike, source: str) -> set[str]:
    return set(read_known_listings(db_path, source))


def read_known_postings(db_path: str | os.PathLike, source: str) -> dict[str, tuple]:
    """listing_id -> (price_raw, posted_raw) for Craigslist's detail-page skip rule."""
    return {
        k: (v["price_raw"], v["posted_raw"])
        for k, v in read_known_listings(db_path, source).items()
    }


def field_coverage(items: Sequence[dict[str, Any]]) -> dict[str, float]:
    if not items:
        return {f: 0.0 for f in COVERAGE_FIELDS}
    return {
        f: round(sum(1 for i in items if i.get(f) is not None) / len(items), 3)
        for f in COVERAGE_FIELDS
    }


# -- the Scrapy pipeline ----------------------------------------------------------------------


class SQLitePipeline:
    """Buffer items and write them in batches; record the run; mark gone after healthy runs."""

    def __init__(self, crawler):
        self.crawler = crawler
        settings = crawler.settings
        self.db_path = settings.get("KEITRUCKS_DB_PATH")
        self.batch_size = settings.getint("KEITRUCKS_BATCH_SIZE", 200)
        self.min_ratio = settings.getfloat("KEITRUCKS_MIN_ITEMS_RATIO", 0.5)
        self.buffer: list[dict[str, Any]] = []
        self.coverage_rows: list[dict[str, Any]] = []
        self.saved = 0
        self.last_flush = time.monotonic()
        self.db: Database | None = None
        self.run_id: int | None = None
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    @property
    def spider(self):
        return self.crawler.spider

    def open_spider(self) -> None:
        self.db = open_db(self.db_path)
        self.run_id = start_run(
            self.db,
            self.spider.name,
            search_key=self.spider.search_key,
            as_of=self.spider.scraped_at,
            started_at=now_iso(),
        )
        self.crawler.stats.set_value("keitrucks/run_id", self.run_id)

    def process_item(self, item: Listing) -> Listing:
        row = dict(vars(item))  # shallow: the item is final here, and asdict() is slow
        self.buffer.append(row)
        self.coverage_rows.append({f: row.get(f) for f in COVERAGE_FIELDS})
        if len(self.buffer) >= self.batch_size or time.monotonic() - self.last_flush > 5:
            self.flush()
        return item

    def flush(self) -> None:
        if not self.buffer or self.db is None:
            return
        events = save_listings(
            self.db,
            self.buffer,
            run_id=self.run_id,
            seen_at=self.spider.scraped_at,
            search_key=self.spider.search_key,
        )
        for event, n in events.items():
            self.crawler.stats.inc_value(f"keitrucks/history/{event}", n)
        self.saved += len(self.buffer)
        self.buffer = []
        self.last_flush = time.monotonic()

    def close_spider(self) -> None:
        self.flush()

    def spider_closed(self, spider, reason: str) -> None:
        if self.db is None:
            return
        self.flush()
        stats = dict(self.crawler.stats.get_stats())
        recent = recent_item_counts(self.db, spider.name, spider.search_key)
        verdict = judge_run(reason, stats, self.saved, recent, self.min_ratio)
        coverage = field_coverage(self.coverage_rows)
        from keitrucks.health import HealthRules, review_verdict  # health reads storage

        verdict = review_verdict(
            self.db,
            spider.name,
            spider.search_key,
            verdict,
            coverage,
            HealthRules.from_config(spider.config),
        )
        gone = 0
        if verdict.complete and verdict.healthy:
            gone = mark_gone(
                self.db,
                source=spider.name,
                search_key=spider.search_key,
                run_id=self.run_id,
                at=spider.scraped_at,
            )
        elif verdict.reason != "ok":
            logger.warning("Run not healthy (%s): nothing marked gone", verdict.reason)
        finish_run(
            self.db,
            self.run_id,
            finished_at=now_iso(),
            finish_reason=reason,
            verdict=verdict,
            stats=stats,
            items=self.saved,
            coverage=coverage,
            gone_marked=gone,
        )
        self.db.close()
        self.db = None


def read_runs_after(db_path: str | os.PathLike, after_id: int = 0) -> list[dict[str, Any]]:
    """Runs with id greater than ``after_id``, oldest first (what a night just recorded)."""
    if not Path(db_path).is_file():
        return []
    db = Database(db_path)
    try:
        if not db["runs"].exists():
            return []
        return list(db.query("SELECT * FROM runs WHERE id > ? ORDER BY id", [after_id]))
    finally:
        db.close()


def last_run_id(db_path: str | os.PathLike) -> int:
    if not Path(db_path).is_file():
        return 0
    db = Database(db_path)
    try:
        if not db["runs"].exists():
            return 0
        return next(db.query("SELECT coalesce(max(id), 0) AS n FROM runs"))["n"]
    finally:
        db.close()


#: The fields the normalizers derive; renormalize rewrites exactly these.
NORMALIZED_FIELDS = tuple(
    name
    for name in LISTING_COLUMNS
    if name not in RAW_FIELDS and name not in ("source", "listing_id", "url", "scraped_at")
)


def renormalize_listings(
    db: Database,
    normalize: Any,
    *,
    batch_size: int = 500,
    progress: Any = None,
) -> int:
    """Re-derive the normalized fields of every stored listing from its raw fields.

    ``normalize(raw: dict) -> dict`` of normalized fields. History rows are observations and
    stay as they were. Each batch is one transaction; returns the number of listings updated.
    """
    raw_columns = ["source", "listing_id", "url", "scraped_at", *RAW_FIELDS, "status"]
    total = next(db.query("SELECT count(*) AS n FROM listings"))["n"]
    assignments = ", ".join(f"{name} = ?" for name in NORMALIZED_FIELDS)
    update_sql = f"UPDATE listings SET {assignments} WHERE source = ? AND listing_id = ?"
    done, last = 0, ("", "")
    while True:
        batch = list(
            db.query(
                f"SELECT {', '.join(raw_columns)} FROM listings "
                "WHERE (source, listing_id) > (?, ?) "
                f"ORDER BY source, listing_id LIMIT ?",
                [*last, batch_size],
            )
        )
        if not batch:
            return done
        updates = []
        for row in batch:
            for name in JSON_FIELDS:
                row[name] = json.loads(row[name]) if row[name] else None
            stored_status = row.pop("status")
            derived = normalize(row)
            if stored_status == "gone":
                derived["status"] = "gone"  # gone is the crawl's verdict, not the page's
            updates.append(
                [_db_value(n, derived.get(n)) for n in NORMALIZED_FIELDS]
                + [row["source"], row["listing_id"]]
            )
        with db.conn:
            db.conn.executemany(update_sql, updates)
        done += len(batch)
        last = (batch[-1]["source"], batch[-1]["listing_id"])
        if progress:
            progress(done, total)

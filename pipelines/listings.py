"""Listings and their history: the writes of a crawl, gone-marking, readers, renormalize.

- ``save_listings``: upsert a batch of listings in one transaction, appending a
  ``price_history`` row for each new or changed one, and moving only the bookkeeping of those
  seen again unchanged (same norm key);
- ``mark_gone``: after a complete, healthy run (``RunVerdict.may_mark_gone``), the active
  listings of its search that it did not see become gone;
- ``read_known_listings``: what the database holds of a source, for the spiders' skip rules;
- ``read_normalized``: the norm keys and normalized fields of a source, for the normalizer's;
- ``count_summary``: the demo's headline counts;
- ``renormalize_listings``: re-derive the normalized (and derived) fields from the raw ones.

"Gone" is derived, never guessed: a listing becomes gone only when a healthy, complete run of
its source over the same search (``search_key``) no longer sees it.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import typing
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from pipelines.landed import LandedCostPipeline
from pipelines.schema import JSON_FIELDS, LISTING_COLUMNS, TRACKING_COLUMNS, open_db
from scrapers.items import DERIVED_FIELDS, IDENTITY, RAW_FIELDS, Listing, fields_with_role
from scrapers.items import NORMALIZED_FIELDS as ITEM_NORMALIZED_FIELDS

logger = logging.getLogger(__name__)

#: The fields whose change writes a price_history row.
HISTORY_FIELDS = ("price", "currency", "price_usd", "price_basis", "status")
#: Stored on each history row as observed, but a change in them alone is no event (the landed
#: estimate moves with exchange rates and fee tables, not with the seller's price).
HISTORY_EXTRAS = ("landed_usd",)
#: The fields the normalizers derive; renormalize rewrites exactly these.
NORMALIZED_FIELDS = ITEM_NORMALIZED_FIELDS
#: What renormalize reads of a stored listing: identity, the as-of time and the raw fields.
RENORMALIZE_INPUTS = (*fields_with_role(IDENTITY), "scraped_at", *RAW_FIELDS)


# -- listings and history ---------------------------------------------------------------------


#: (position, name) of the JSON columns in a ``listings`` row (LISTING_COLUMNS order).
_JSON_POSITIONS = [(i, name) for i, name in enumerate(LISTING_COLUMNS) if name in JSON_FIELDS]
_COLUMNS = (*LISTING_COLUMNS, *TRACKING_COLUMNS)
_UPDATED = [c for c in _COLUMNS if c not in ("source", "listing_id", "first_seen_at")]
_UPSERT_SQL = (
    f"INSERT INTO listings ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))}) "
    "ON CONFLICT(source, listing_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _UPDATED)
)
_HISTORY_SQL = (
    "INSERT INTO price_history (source, listing_id, run_id, observed_at, event, "
    + ", ".join(HISTORY_FIELDS + HISTORY_EXTRAS)
    + ") VALUES (?, ?, ?, ?, ?, "
    + ", ".join("?" * len(HISTORY_FIELDS + HISTORY_EXTRAS))
    + ")"
)
#: A re-crawl of an unchanged listing (``unchanged`` of ``save_listings``): the crawl's
#: bookkeeping only; the listing keeps its fields, identity, first sighting and status.
_TOUCH_SQL = (
    "UPDATE listings SET scraped_at = ?, last_seen_at = ?, last_run_id = ?, "
    "search_key = coalesce(?, search_key), gone_at = NULL "
    "WHERE source = ? AND listing_id = ? AND status != 'gone'"
)
#: What ``save_listings`` reads of a stored listing before writing it.
_KNOWN_COLUMNS = ("listing_id", "identity", "first_seen_at", "search_key", *HISTORY_FIELDS)


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
    unchanged: Iterable[tuple[str, str, str | None]] = (),
) -> dict[str, int]:
    """Upsert a batch in one transaction; append history rows for new or changed listings.

    ``unchanged`` are (source, listing_id, scraped_at) of listings seen again exactly as stored
    (same norm key, not gone: see ``pipelines.normalize.fingerprint``): in the same transaction
    they get only the crawl's bookkeeping (``scraped_at``, ``last_seen_at``, ``last_run_id``,
    ``search_key``), no history row. An item may carry its ``norm_key``; without one the stored
    key is cleared. Returns counts of history events written ({"new": 3, "price_change": 1, ...}).
    """
    # a shallow copy: asdict() deep-copies every field and costs more than the whole write
    batch = [dict(vars(i)) if isinstance(i, Listing) else dict(i) for i in items]
    touched = [
        (scraped_at, seen_at, run_id, search_key, source, str(listing_id))
        for source, listing_id, scraped_at in unchanged
    ]
    if not batch and not touched:
        return {}
    keys = []
    for b in batch:
        b["listing_id"] = lid = str(b["listing_id"])
        keys.append((b["source"], lid))
    repost_keys = [(b["source"], str(b["repost_of"])) for b in batch if b.get("repost_of")]
    known = _fetch_known(db, keys + repost_keys) if batch else {}

    rows, history, events = [], [], {}
    for item, key in zip(batch, keys, strict=True):
        before = known.get(key)
        item["status"] = item.get("status") or "active"
        if before is None:
            identity, first_seen, stored_search = _identity(item, known), seen_at, None
        else:
            identity = before["identity"] or _identity(item, known)
            first_seen = before["first_seen_at"] or seen_at
            stored_search = before["search_key"]
        tracking = {
            "identity": identity,
            "first_seen_at": first_seen,
            "last_seen_at": seen_at,
            "last_run_id": run_id,
            "search_key": search_key or stored_search,
            "gone_at": None,
            "norm_key": item.get("norm_key"),
        }
        rows.append(_listing_row(item, tracking))
        event = _history_event(before, item)
        if event:
            events[event] = events.get(event, 0) + 1
            extras = [item.get(f) for f in HISTORY_EXTRAS]
            history.append([*key, run_id, seen_at, event, *_history_state(item), *extras])
        # what a later item of this batch (a repost, the same listing twice) needs of this one
        known[key] = {
            "identity": identity,
            "first_seen_at": first_seen,
            "search_key": tracking["search_key"],
            **{f: item.get(f) for f in HISTORY_FIELDS},
        }
    with db.conn:
        if touched:
            db.conn.executemany(_TOUCH_SQL, touched)
        if rows:
            db.conn.executemany(_UPSERT_SQL, rows)
        if history:
            db.conn.executemany(_HISTORY_SQL, history)
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
    """What ``save_listings`` needs of the stored listings with these keys, by key."""
    known: dict[tuple[str, str], dict] = {}
    by_source: dict[str, list[str]] = {}
    for source, listing_id in dict.fromkeys(keys):
        by_source.setdefault(source, []).append(listing_id)
    for source, ids in by_source.items():
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            sql = (
                f"SELECT {', '.join(_KNOWN_COLUMNS)} FROM listings "
                f"WHERE source = ? AND listing_id IN ({', '.join('?' * len(chunk))})"
            )
            for row in db.conn.execute(sql, [source, *chunk]):
                known[(source, row[0])] = dict(zip(_KNOWN_COLUMNS, row, strict=True))
    return known


def mark_gone(db: Database, *, source: str, search_key: str, run_id: int, at: str) -> int:
    """Mark active listings of this search that ``run_id`` did not see as gone; return how many.

    Call only after a run whose verdict ``may_mark_gone`` (see ``pipelines.run_health``).
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


# -- readers ------------------------------------------------------------------------------------


def _decode_json(row: dict[str, Any]) -> dict[str, Any]:
    for name in JSON_FIELDS:
        if name in row:
            row[name] = json.loads(row[name]) if row[name] else None
    return row


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
        sql = f"SELECT {', '.join(columns)} FROM listings WHERE source = ?"
        return {row["listing_id"]: _decode_json(row) for row in db.query(sql, [source])}
    finally:
        db.close()


#: What ``read_normalized`` gives of each listing, after its norm key, in this order.
STORED_RESULT_FIELDS = (*NORMALIZED_FIELDS, *DERIVED_FIELDS)


def read_normalized(db_path: str | os.PathLike, source: str) -> dict[str, tuple]:
    """listing_id -> (norm_key, *STORED_RESULT_FIELDS) of a source's stored listings that have a
    norm key and are not gone: what a re-crawl may copy instead of normalizing again (see
    ``pipelines.normalize.fingerprint``). Booleans come back as booleans. {} when the database,
    its table or its ``norm_key`` column (a database from before it) is not there yet."""
    if not Path(db_path).is_file():
        return {}
    sql = (
        f"SELECT listing_id, norm_key, {', '.join(STORED_RESULT_FIELDS)} FROM listings "
        "WHERE source = ? AND norm_key IS NOT NULL AND status != 'gone'"
    )
    flags = [i for i, name in enumerate(STORED_RESULT_FIELDS, 1) if name in _BOOLEAN_FIELDS]
    conn = sqlite3.connect(db_path, timeout=30)
    try:
        rows = conn.execute(sql, [source]).fetchall()
    except sqlite3.OperationalError as exc:  # no table or no column yet: nothing to copy
        logger.debug("No stored norm keys in %s: %s", db_path, exc)
        return {}
    finally:
        conn.close()
    out = {}
    for listing_id, *values in rows:
        for i in flags:
            if values[i] is not None:
                values[i] = bool(values[i])
        out[listing_id] = tuple(values)
    return out


#: Listing fields stored as 0/1.
_BOOLEAN_FIELDS = frozenset(
    name for name, hint in typing.get_type_hints(Listing).items() if "bool" in str(hint)
)


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


# -- renormalize --------------------------------------------------------------------------------


def landed_deriver(config: Mapping | None = None) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A ``derive`` for ``renormalize_listings``: a listing with its normalized fields filled ->
    its derived fields (``DERIVED_FIELDS``), computed by the crawl's own ``LandedCostPipeline``
    with ``config``: the landed cost on the listing's as-of date (``scraped_at``), None when
    there is none (US asking prices, no price, no date, no exchange rate)."""
    pipeline = LandedCostPipeline(config=config or {})

    def derive(listing: dict[str, Any]) -> dict[str, Any]:
        item = {**listing, **dict.fromkeys(DERIVED_FIELDS)}
        pipeline.process_item(item)
        return {name: item[name] for name in DERIVED_FIELDS}

    return derive


def renormalize_listings(
    db: Database,
    normalize: Callable[[dict[str, Any]], dict[str, Any]],
    *,
    derive: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    batch_size: int = 500,
    progress: Callable[[int, int], Any] | None = None,
) -> int:
    """Re-derive the normalized fields of every stored listing from its raw fields.

    ``normalize(raw: dict) -> dict`` of normalized fields. ``derive(listing: dict) -> dict``
    (e.g. ``landed_deriver(config)``) recomputes the derived fields from the
    new normalized ones; without it they stay as stored. History rows are observations and stay
    as they were. The norm keys are cleared (``normalize`` may be any function), so the next
    crawl normalizes each listing it sees once more. Each batch is one transaction; returns the
    number of listings updated.
    """
    written = NORMALIZED_FIELDS + (DERIVED_FIELDS if derive else ())
    total = next(db.query("SELECT count(*) AS n FROM listings"))["n"]
    assignments = ", ".join(f"{name} = ?" for name in written) + ", norm_key = NULL"
    update_sql = f"UPDATE listings SET {assignments} WHERE source = ? AND listing_id = ?"
    done, last = 0, ("", "")
    while True:
        batch = list(
            db.query(
                f"SELECT {', '.join(RENORMALIZE_INPUTS)}, status FROM listings "
                "WHERE (source, listing_id) > (?, ?) "
                f"ORDER BY source, listing_id LIMIT ?",
                [*last, batch_size],
            )
        )
        if not batch:
            return done
        updates = []
        for row in batch:
            stored_status = _decode_json(row).pop("status")
            fresh = normalize(row)
            if stored_status == "gone":
                fresh["status"] = "gone"  # gone is the crawl's verdict, not the page's
            if derive:
                fresh.update(derive({**row, **fresh}))
            updates.append(
                [_db_value(n, fresh.get(n)) for n in written] + [row["source"], row["listing_id"]]
            )
        with db.conn:
            db.conn.executemany(update_sql, updates)
        done += len(batch)
        last = (batch[-1]["source"], batch[-1]["listing_id"])
        if progress:
            progress(done, total)

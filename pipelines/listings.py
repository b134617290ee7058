"""Listings and their history: the writes of a crawl, gone-marking, readers, renormalize.

- ``save_listings``: upsert a batch of listings in one transaction, appending a
  ``price_history`` row for each new or changed one, a ``listing_changes`` row for each
  other field (``CHANGE_FIELDS``) whose value changed, holding the value it replaced, and moving
  only the bookkeeping of those seen again unchanged (same norm key);
- ``mark_gone``: after a complete, healthy run (``RunVerdict.may_mark_gone``), the active
  listings of its search that it did not see become gone;
- ``read_known_listings``: what the database holds of a source, for the spiders' skip rules;
- ``read_normalized``: the norm keys and normalized fields of a source, for the normalizer's;
- ``count_summary``: the demo's headline counts;
- ``renormalize_listings``: re-derive the normalized (and derived) fields from the raw ones.

"Gone" is derived, never guessed: a listing becomes gone only when a healthy, complete run of
its source over the same search (``search_key``) no longer sees it.

The ``listings`` row is the latest of everything; what it said on an earlier night is its
price and status from ``price_history`` and every other field read back through
``listing_changes`` (``analysis.load.read_listings_as_of``), so a past report regenerated
later equals the one made that night, even after a later crawl filled in a mileage.
"""

from __future__ import annotations

import json
import logging
import operator
import os
import sqlite3
import typing
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from keitrucks.core import tables
from keitrucks.core.dates import now_iso
from pipelines.landed import LandedCostPipeline
from pipelines.recrawl import norm_mark
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
#: The fields a listing is read with as of a past date (report, deals, alerts) besides the
#: price and status its history rows carry: the raw fields shown or matched on, every
#: normalized and derived field, and the search it was last seen by. A write that changes one
#: logs the value it replaces in ``listing_changes`` (``tests/test_report_asof.py`` checks that
#: every column ``analysis.load`` reads is here or in history).
CHANGE_FIELDS = (
    "url",
    "title",
    "description",
    "attributes",
    "location_raw",
    "latitude",
    "longitude",
    "seller_type",
    *(f for f in (*ITEM_NORMALIZED_FIELDS, *DERIVED_FIELDS) if f not in HISTORY_FIELDS),
    "search_key",
)
_CHANGES_SQL = (
    "INSERT INTO listing_changes (source, listing_id, run_id, changed_at, field, old) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
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
#: Before a touch: the search key it replaces, when the crawl's differs (``listing_changes``).
_TOUCH_CHANGES_SQL = (
    "INSERT INTO listing_changes (source, listing_id, run_id, changed_at, field, old) "
    "SELECT source, listing_id, ?, ?, 'search_key', search_key FROM listings "
    "WHERE source = ? AND listing_id = ? AND status != 'gone' AND ? IS NOT NULL "
    "AND search_key IS NOT ?"
)
#: What ``save_listings`` reads of a stored listing before writing it: identity, history
#: state, and the change-logged fields (``listing_changes``).
_KNOWN_COLUMNS = tuple(
    dict.fromkeys(
        ("listing_id", "identity", "first_seen_at", "search_key", *HISTORY_FIELDS, *CHANGE_FIELDS)
    )
)


#: The column plan of a ``listings`` row, computed once: where each column sits in a row.
_POSITION = {name: i for i, name in enumerate(_COLUMNS)}
_SOURCE, _LISTING_ID = _POSITION["source"], _POSITION["listing_id"]
_STATUS, _REPOST_OF = _POSITION["status"], _POSITION["repost_of"]
#: A Listing's values in ``LISTING_COLUMNS`` order, read in one call (no copy of the item).
_LISTING_VALUES = operator.attrgetter(*LISTING_COLUMNS)
#: The history state (``HISTORY_FIELDS``) and extras (``HISTORY_EXTRAS``) of a row.
_HISTORY_VALUES = operator.itemgetter(*(_POSITION[f] for f in HISTORY_FIELDS + HISTORY_EXTRAS))
_STATE_SIZE = len(HISTORY_FIELDS)
_STATE_STATUS = HISTORY_FIELDS.index("status")
#: The JSON encoder of the stored JSON columns, made once (``json.dumps`` with options builds
#: one per call); an absent value is stored as the empty list or object.
_ENCODE_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode
_EMPTY_JSON = {name: "[]" if name == "image_urls" else "{}" for name in JSON_FIELDS}


def _listing_values(item: Listing | Mapping[str, Any]) -> tuple[list[Any], str | None]:
    """(the item's values in ``LISTING_COLUMNS`` order, its ``norm_key``): a Listing read by
    attribute, with the key of its mark (``pipelines.recrawl``), a mapping by key (a missing
    key is None); the item itself is not changed."""
    if isinstance(item, Listing):
        found = norm_mark(item)
        return list(_LISTING_VALUES(item)), found[0] if found is not None else None
    return list(map(item.get, LISTING_COLUMNS)), item.get("norm_key")


def _encode_json(values: list[Any]) -> None:
    """Encode the JSON columns of a row in place (sqlite3 stores booleans as 0/1 itself)."""
    for position, name in _JSON_POSITIONS:
        value = values[position]
        values[position] = _EMPTY_JSON[name] if value is None else _ENCODE_JSON(value)


def _db_value(name: str, value: Any) -> Any:
    if name in JSON_FIELDS:
        return _EMPTY_JSON[name] if value is None else _ENCODE_JSON(value)
    if isinstance(value, bool):
        return int(value)
    return value


def _history_state(row: Mapping[str, Any]) -> tuple:
    return tuple(row.get(f) for f in HISTORY_FIELDS)


def _identity(
    source: str, listing_id: str, repost_of: Any, known: dict[tuple[str, str], dict]
) -> str:
    """One truck, one identity across reposts: a repost inherits its predecessor's identity."""
    if repost_of:
        before = known.get((source, str(repost_of)))
        return (before or {}).get("identity") or f"{source}:{repost_of}"
    return f"{source}:{listing_id}"


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
    # each item's row, read straight from its fields in the column plan's order (no copy of the
    # item as a dict: a batch of new listings is mostly this and the executemany)
    batch = [_listing_values(i) for i in items]
    touched = [
        (scraped_at, seen_at, run_id, search_key, source, str(listing_id))
        for source, listing_id, scraped_at in unchanged
    ]
    if not batch and not touched:
        return {}
    keys, repost_keys, later, seen = [], [], set(), set()
    for values, _ in batch:
        values[_LISTING_ID] = lid = str(values[_LISTING_ID])
        values[_STATUS] = values[_STATUS] or "active"
        key = (values[_SOURCE], lid)
        if key in seen:
            later.add(key)  # the same listing twice: the second reads what the first wrote
        seen.add(key)
        keys.append(key)
        if values[_REPOST_OF]:
            repost_keys.append((values[_SOURCE], str(values[_REPOST_OF])))
    later.update(repost_keys)  # a repost of a listing of this batch reads its identity
    known = _fetch_known(db, keys + repost_keys) if batch else {}

    rows, history, changes, events = [], [], [], {}
    for (row, norm_key), key in zip(batch, keys, strict=True):
        before = known.get(key)
        if before is None:
            identity = _identity(*key, row[_REPOST_OF], known)
            first_seen, stored_search = seen_at, None
        else:
            identity = before["identity"] or _identity(*key, row[_REPOST_OF], known)
            first_seen = before["first_seen_at"] or seen_at
            stored_search = before["search_key"]
        _encode_json(row)
        # TRACKING_COLUMNS: identity, first_seen_at, last_seen_at, last_run_id, search_key,
        # gone_at, norm_key
        row += (identity, first_seen, seen_at, run_id, search_key or stored_search, None, norm_key)
        rows.append(row)
        observed = _HISTORY_VALUES(row)
        event = _history_event(before, observed[:_STATE_SIZE])
        if event:
            events[event] = events.get(event, 0) + 1
            history.append([*key, run_id, seen_at, event, *observed])
        if before is not None or key in later:
            stored = dict(zip(_COLUMNS, row, strict=True))  # as the listings row now holds it
            if before is not None:
                changes += [
                    [*key, run_id, seen_at, name, old]
                    for name, old in changed_fields(before, stored).items()
                ]
            # what a later item of this batch (a repost, the same listing twice) needs of it
            known[key] = stored
    with db.conn:
        if touched:
            if search_key is not None:
                db.conn.executemany(
                    _TOUCH_CHANGES_SQL,
                    [(run_id, seen_at, t[4], t[5], search_key, search_key) for t in touched],
                )
            db.conn.executemany(_TOUCH_SQL, touched)
        if rows:
            db.conn.executemany(_UPSERT_SQL, rows)
        if history:
            db.conn.executemany(_HISTORY_SQL, history)
        if changes:
            db.conn.executemany(_CHANGES_SQL, changes)
    return events


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """``CHANGE_FIELDS`` whose stored value differs, each with its value ``before``. Both are
    as the ``listings`` row holds them (JSON as text; a flag as 0/1 or a bool, equal)."""
    return {
        name: before.get(name)
        for name in CHANGE_FIELDS
        if name in after and before.get(name) != after[name]
    }


def _history_event(before: dict[str, Any] | None, state: tuple) -> str | None:
    """The history event of a listing whose ``HISTORY_FIELDS`` are now ``state``."""
    if before is None:
        return "new"
    if before.get("status") == "gone":
        return "relisted"
    if _history_state(before) == state:
        return None
    if before.get("status") != state[_STATE_STATUS]:
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
    """Headline counts of the database: listings, kei trucks, active (any kind), active kei
    trucks, for sale (``pipelines.schema.FOR_SALE_WHERE``), sources (crawled ones, not the
    listings typed in by hand), history events."""
    by_hand = ", ".join(f"'{s}'" for s in sorted(tables.sources_where("by_hand"))) or "''"
    queries = {
        "listings": "SELECT count(*) FROM listings",
        "trucks": "SELECT count(*) FROM listings WHERE kind = 'kei_truck'",
        "active": "SELECT count(*) FROM listings WHERE status = 'active'",
        "active_trucks": "SELECT count(*) FROM active_trucks",
        "for_sale": "SELECT count(*) FROM for_sale",
        "sources": f"SELECT count(DISTINCT source) FROM listings WHERE source NOT IN ({by_hand})",
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
    changed_at: str | None = None,
) -> int:
    """Re-derive the normalized fields of every stored listing from its raw fields.

    ``normalize(raw: dict) -> dict`` of normalized fields. ``derive(listing: dict) -> dict``
    (e.g. ``landed_deriver(config)``) recomputes the derived fields from the
    new normalized ones; without it they stay as stored. History rows are observations and stay
    as they were; each value replaced is logged in ``listing_changes`` at ``changed_at``
    (default now), so a report of an earlier night still reads what it read then. The norm keys
    are cleared (``normalize`` may be any function), so the next crawl normalizes each listing
    it sees once more. Each batch is one transaction; returns the number of listings updated.
    """
    changed_at = changed_at or now_iso()
    written = NORMALIZED_FIELDS + (DERIVED_FIELDS if derive else ())
    logged = [name for name in written if name in CHANGE_FIELDS]
    total = next(db.query("SELECT count(*) AS n FROM listings"))["n"]
    assignments = ", ".join(f"{name} = ?" for name in written) + ", norm_key = NULL"
    update_sql = f"UPDATE listings SET {assignments} WHERE source = ? AND listing_id = ?"
    done, last = 0, ("", "")
    while True:
        batch = list(
            db.query(
                f"SELECT {', '.join(RENORMALIZE_INPUTS)}, status, "
                f"{', '.join(f'{n} AS stored_{n}' for n in logged) or 'NULL AS stored_'} "
                "FROM listings WHERE (source, listing_id) > (?, ?) "
                f"ORDER BY source, listing_id LIMIT ?",
                [*last, batch_size],
            )
        )
        if not batch:
            return done
        updates, changes = [], []
        for row in batch:
            stored = {n: row.pop(f"stored_{n}") for n in logged}
            row.pop("stored_", None)
            stored_status = _decode_json(row).pop("status")
            fresh = normalize(row)
            if stored_status == "gone":
                fresh["status"] = "gone"  # gone is the crawl's verdict, not the page's
            if derive:
                fresh.update(derive({**row, **fresh}))
            values = [_db_value(n, fresh.get(n)) for n in written]
            updates.append(values + [row["source"], row["listing_id"]])
            new = {n: v for n, v in zip(written, values, strict=True) if n in stored}
            changes += [
                [row["source"], row["listing_id"], None, changed_at, name, old]
                for name, old in changed_fields(stored, new).items()
            ]
        with db.conn:
            db.conn.executemany(update_sql, updates)
            db.conn.executemany(_CHANGES_SQL, changes)
        done += len(batch)
        last = (batch[-1]["source"], batch[-1]["listing_id"])
        if progress:
            progress(done, total)

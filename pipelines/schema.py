"""The whole database shape in one place: tables, indexes, the views users query, migration.

``open_db(path)`` opens (creating if needed) the database in WAL mode with ``ensure_schema``
applied; ``ensure_schema`` is idempotent and safe on every open. It creates what is missing and
adds the columns an older database lacks (``ADDED_COLUMNS``, and every Listing field), so a
database from any earlier version opens as the current shape. Views are recreated on every open,
so sqlite3 and Datasette users always query the current definitions.

Tables: ``listings`` (latest state, one row per source and listing id), ``price_history``
(append-only), ``listing_changes`` (append-only: a field's value before it changed), ``runs``
(one row per crawl, with its health verdict, see ``pipelines.run_health``), ``source_health``
(the nightly health check's verdict per run and the source's state, see ``keitrucks.health``),
``alerts`` (see ``pipelines.alert_store``), ``ingested_jobs`` (Scrapyd jobs whose feed is
stored, see ``keitrucks.remote_ingest``).
"""

from __future__ import annotations

import os
import typing
from collections.abc import Iterable
from dataclasses import fields
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from keitrucks.core import states
from scrapers.items import Listing

#: What each price basis is, in the words a buyer reads (report tables, CSVs, views, alerts).
#: "landed" is not a listing's basis: it is an exporter's price landed in the US (landed_usd).
PRICE_LABELS = {
    "asking": "US asking",
    "sold": "sold",
    "bid": "current bid",
    "bid_to": "bid (not sold)",
    "fob": "Japan FOB",
    "cnf": "Japan C&F",
    "cif": "Japan CIF",
    "landed": "landed in the US",
}


def price_label_sql(column: str) -> str:
    """A SQL CASE naming the basis in ``column`` with ``PRICE_LABELS`` (else the basis)."""
    cases = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in PRICE_LABELS.items())
    return f"CASE {column} {cases} ELSE {column} END"


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
    #: what the normalized fields were computed from (``pipelines.normalize.fingerprint``): a
    #: re-crawl that finds the same key copies them instead; NULL: normalize again.
    "norm_key": "TEXT",
}


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


#: Every Listing field as a ``listings`` column, in declaration order.
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
    -- the verdict (pipelines.run_health.judge_run), recorded when the run ends:
    -- complete: it saw everything it searched; healthy: complete and a plausible result.
    -- Only a complete and healthy run marks listings gone.
    complete INTEGER NOT NULL DEFAULT 0,
    healthy INTEGER NOT NULL DEFAULT 0,
    -- the reasons joined by '; ', 'ok' when none
    health_reason TEXT,
    -- ok, unhealthy, failed, blocked; NULL while running (and on rows from before it)
    health_status TEXT,
    -- JSON list of one-line reasons; [] when ok
    health_reasons TEXT,
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

-- Scrapyd jobs whose feed has been ingested (keitrucks.remote_ingest): a feed read twice is
-- stored once.
CREATE TABLE IF NOT EXISTS ingested_jobs (
    job_id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    server TEXT,
    run_id INTEGER REFERENCES runs(id),
    items INTEGER NOT NULL DEFAULT 0,
    ingested_at TEXT NOT NULL
);

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

-- append-only: the value a listing's field had before a crawl (or renormalize) changed it, so
-- a read as of an earlier date puts back what was known then (pipelines.listings writes it)
CREATE TABLE IF NOT EXISTS listing_changes (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    listing_id TEXT NOT NULL,
    -- the crawl run that saw the new value; NULL for renormalize
    run_id INTEGER,
    -- when the new value was first seen (UTC): the old one held before this
    changed_at TEXT NOT NULL,
    field TEXT NOT NULL,
    -- the value before, as the listings column stored it (no type affinity: kept as it was)
    old
);
CREATE INDEX IF NOT EXISTS listing_changes_changed ON listing_changes (changed_at);

CREATE TABLE IF NOT EXISTS source_health (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id),
    source TEXT NOT NULL,
    -- the night (YYYY-MM-DD) of the run's as-of time
    night TEXT NOT NULL,
    checked_at TEXT NOT NULL,
    -- ok, unhealthy, failed, blocked
    status TEXT NOT NULL,
    -- the source after this run: ok, failing, dead
    state TEXT NOT NULL,
    -- nights in a row, up to this one, without a healthy run
    failed_nights INTEGER NOT NULL,
    -- JSON list of one-line reasons; [] when ok
    reasons TEXT NOT NULL,
    items INTEGER,
    median_items REAL,
    -- JSON {field: share} of this run and the recent median
    coverage TEXT,
    coverage_median TEXT
);
CREATE INDEX IF NOT EXISTS source_health_source_night ON source_health (source, night);

-- every alert raised, one row per delivery channel (pipelines.alert_store reads and writes it)
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY,
    -- the rule that raised it
    kind TEXT NOT NULL,
    -- the truck across reposts, or <source>/run/<id> for a source alert
    identity TEXT NOT NULL,
    source TEXT,
    listing_id TEXT,
    -- the price alerted at
    price_usd INTEGER,
    reason TEXT,
    -- a channel's safe name, never its URL
    channel TEXT,
    -- pending, sent, failed, dry_run; not_sent on channel local: no channel was configured
    status TEXT NOT NULL,
    -- the as-of night (UTC)
    created_at TEXT NOT NULL,
    -- when it was delivered (UTC)
    sent_at TEXT,
    -- the last failure, secrets removed
    error TEXT
);
CREATE INDEX IF NOT EXISTS alerts_identity ON alerts (kind, identity);

-- Kei truck road rules per state (see keitrucks/core/states.py): the shipped table, with the
-- user's own rows (origin 'user') in place of the shipped ones they override.
CREATE TABLE IF NOT EXISTS state_rules (
    state TEXT PRIMARY KEY,
    road_status TEXT NOT NULL,
    road_status_words TEXT,
    max_speed_road_mph INTEGER,
    interstate_allowed TEXT,
    regime TEXT,
    title_class TEXT,
    grandfathering TEXT,
    law_ref TEXT,
    effective_date TEXT,
    effective_from TEXT,
    source_url TEXT,
    source_date TEXT,
    source_dated TEXT,
    source_type TEXT,
    confidence TEXT NOT NULL,
    origin TEXT NOT NULL
);

-- The report's deal score of each active kei truck (analysis.deals.score_deals), as stored by
-- the latest night's report (pipelines.deal_store): Datasette and sqlite3 read the very numbers
-- of report.html and deals.csv instead of computing their own.
CREATE TABLE IF NOT EXISTS deal_scores (
    source TEXT NOT NULL,
    listing_id TEXT NOT NULL,
    -- the report's as-of night (YYYY-MM-DD)
    as_of TEXT NOT NULL,
    identity TEXT,
    truck_id TEXT,
    price_usd INTEGER,
    price_basis TEXT,
    -- the figure compared and its basis: the listing's own price, or an exporter's landed cost
    value_usd INTEGER,
    basis TEXT,
    price_label TEXT,
    fair_price_usd INTEGER,
    -- 100 * (fair - value) / fair, one decimal; positive = under the fair price
    discount_pct REAL,
    n_comparables INTEGER,
    comparables_median_usd INTEGER,
    comparables_low_usd INTEGER,
    comparables_high_usd INTEGER,
    -- "source:listing_id" of the comparables, closest first, separated by spaces
    comparables TEXT,
    rated INTEGER NOT NULL,
    why TEXT,
    PRIMARY KEY (source, listing_id)
);
CREATE INDEX IF NOT EXISTS deal_scores_rated ON deal_scores (rated, discount_pct);
CREATE INDEX IF NOT EXISTS price_history_event ON price_history (event);
"""

#: Columns added after a table's first release: table -> {column: type}. ``ensure_schema``
#: adds the missing ones to an older database (``listings`` gains every new Listing field too).
ADDED_COLUMNS = {
    "price_history": {"landed_usd": "INTEGER"},
    "runs": {"health_status": "TEXT", "health_reasons": "TEXT"},
    "listings": {**LISTING_COLUMNS, **TRACKING_COLUMNS},
}

#: Indexes of ``listings``: the crawl's lookups, then what the views, the canned queries and
#: Datasette's facets filter or group on (``tests/test_analysis_serve.py`` times none of them,
#: ``bench/serve.py`` does).
LISTING_INDEXES = {
    "listings_status": "listings (source, status)",
    "listings_identity": "listings (identity)",
    # truck_history finds a truck by its bare listing id
    "listings_listing_id": "listings (listing_id)",
    # every view and question of active (buyable) trucks
    "listings_status_kind": "listings (status, kind)",
    # eligible_soon's "month of the last crawl"
    "listings_last_seen": "listings (last_seen_at)",
    "listings_eligible_from": "listings (eligible_from)",
    # the facets of the listings page
    "listings_model": "listings (model)",
    "listings_is_4wd": "listings (is_4wd)",
    "listings_state": "listings (state)",
}

# -- the questions users ask most: Datasette's canned queries and, without parameters, views ---

#: Title statuses a buyer cannot simply register (``analysis.deals.TITLE_PROBLEMS``' keys).
TITLE_PROBLEM_STATUSES = ("salvage", "branded", "rebuilt", "no_title", "offroad_only")

#: A listing a buyer can take at its price: an active kei truck not said not to run, without a
#: title problem, not sale pending (``analysis.deals.buyable`` in SQL).
_BUYABLE = f"""status = 'active' AND kind = 'kei_truck' AND coalesce(runs, 1) != 0
      AND coalesce(title_status, '') NOT IN ({", ".join(f"'{t}'" for t in TITLE_PROBLEM_STATUSES)})
      AND coalesce(sale_pending, 0) = 0"""

_ACTIVE_TRUCKS = f"""
    SELECT source, listing_id, identity, title, model, model_code, year, is_4wd, mileage_mi,
           price_usd, price_basis, location_raw, url
    FROM listings
    WHERE {_BUYABLE} AND price_usd IS NOT NULL
      AND is_4wd IS NOT NULL AND model IS NOT NULL"""


def number_or(param: str, default: int, kind: str = "REAL") -> str:
    """SQL for a numeric query parameter, ``default`` when empty or not a number: compared as
    text, "abc" or "15 %" matched no row, and an empty answer read as "no deals tonight"."""
    given = f"trim({param})"
    return f"coalesce(CASE WHEN {given} GLOB '*[0-9]*' THEN CAST({given} AS {kind}) END, {default})"


#: Active 4WD kei trucks the nightly report rated at least :pct_under % (default 15) under
#: their fair price: the report's own scores (``deal_scores``), never a second computation. An
#: exporter's truck is rated on its landed cost, and listed only when old enough to import.
UNDERPRICED_4WD = f"""
SELECT l.title, l.model, l.year, d.discount_pct AS pct_under, d.value_usd AS price_usd,
       d.price_label, d.fair_price_usd, d.n_comparables AS comparables, d.comparables_low_usd,
       d.comparables_high_usd, l.mileage_mi, l.location_raw, d.why, l.model_code, l.url,
       d.source, d.listing_id, d.as_of AS scored_on
FROM deal_scores d
JOIN listings l ON l.source = d.source AND l.listing_id = d.listing_id
WHERE d.rated = 1 AND l.is_4wd = 1 AND l.status = 'active'
  AND (d.basis != 'landed' OR l.eligible_25y = 1)
  AND d.discount_pct >= {number_or(":pct_under", 15)}
ORDER BY d.discount_pct DESC, d.value_usd
"""

ELIGIBLE_SOON = f"""
WITH today AS (SELECT substr(max(last_seen_at), 1, 7) AS month FROM listings)
SELECT l.eligible_from, l.title, l.model, l.model_code, l.year, l.build_month,
       l.eligibility_basis, l.price_usd, l.price_basis,
       {price_label_sql("l.price_basis")} AS price_label, l.location_raw, l.url, l.source,
       l.listing_id
FROM listings l, today
WHERE l.status = 'active' AND l.kind IN ('kei_truck', 'kei_van') AND l.eligible_from IS NOT NULL
  AND l.eligible_from >= today.month
  AND l.eligible_from <= strftime('%Y-%m', today.month || '-01',
                                  '+' || {number_or(":months", 12, "INTEGER")} || ' months')
ORDER BY l.eligible_from, l.price_usd
"""

#: Each change of the last 7 days (up to the last crawl) to a lower price on the same basis
#: than the listing's row before it. The row before is found by the history's index (source,
#: listing_id, id), so the cost follows the week's changes, not the whole history.
PRICE_DROPS_THIS_WEEK = f"""
WITH week AS (
    SELECT p.*, (SELECT max(q.id) FROM price_history q
                 WHERE q.source = p.source AND q.listing_id = p.listing_id AND q.id < p.id)
               AS previous_id
    FROM price_history p
    WHERE p.observed_at >= (SELECT datetime(max(observed_at), '-7 days') FROM price_history)
      AND p.price_usd IS NOT NULL
)
SELECT s.observed_at, l.title, l.model, l.year, l.is_4wd, b.price_usd AS previous_usd,
       s.price_usd, b.price_usd - s.price_usd AS drop_usd,
       round(100.0 * (b.price_usd - s.price_usd) / b.price_usd, 1) AS drop_pct,
       s.price_basis, {price_label_sql("s.price_basis")} AS price_label, l.location_raw, l.url,
       s.source, s.listing_id
FROM week s
JOIN price_history b ON b.id = s.previous_id
JOIN listings l ON l.source = s.source AND l.listing_id = s.listing_id
WHERE s.price_usd < b.price_usd AND s.price_basis = b.price_basis
ORDER BY drop_pct DESC, s.observed_at, s.source, s.listing_id
"""

MEDIAN_BY_MODEL_YEAR = f"""
WITH trucks AS ({_ACTIVE_TRUCKS}),
ranked AS (
    SELECT model, year, is_4wd, price_basis, price_usd,
           row_number() OVER w AS rn,
           count(*) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS n
    FROM trucks
    -- one window (one sort) for the rank and the count
    WINDOW w AS (PARTITION BY model, year, is_4wd, price_basis ORDER BY price_usd)
)
SELECT model, year, CASE is_4wd WHEN 1 THEN '4WD' ELSE '2WD' END AS drive, price_basis,
       {price_label_sql("price_basis")} AS price_label,
       max(n) AS listings, CAST(round(avg(price_usd)) AS INTEGER) AS median_usd
FROM ranked WHERE rn IN ((n + 1) / 2, (n + 2) / 2)
GROUP BY model, year, is_4wd, price_basis
ORDER BY model, year, drive, price_basis
"""

#: The truck of :listing (a listing id, source:listing_id or an identity), as SQL.
LISTING_PARAM = "trim(:listing)"


def truck_history_sql(default: str | None = None) -> str:
    """``TRUCK_HISTORY`` showing the truck ``default`` (source:listing_id) when :listing is
    empty, so the question opens on an example instead of no rows."""
    if default is None:
        return TRUCK_HISTORY
    quoted = "'" + default.replace("'", "''") + "'"
    return TRUCK_HISTORY.replace(LISTING_PARAM, f"coalesce(nullif({LISTING_PARAM}, ''), {quoted})")


#: Every price and status change of one truck, all its reposts joined, oldest first.
TRUCK_HISTORY = f"""
WITH wanted AS (SELECT {LISTING_PARAM} AS key)
SELECT p.observed_at, p.event, p.price_usd, {price_label_sql("p.price_basis")} AS price_label,
       p.status, p.price, p.currency, p.price_basis, p.landed_usd, l.title, p.source,
       p.listing_id, l.identity, l.url
FROM price_history p
JOIN listings l ON l.source = p.source AND l.listing_id = p.listing_id
WHERE l.identity = (
    SELECT identity FROM listings, wanted
    WHERE listing_id = wanted.key OR identity = wanted.key
       OR source = substr(wanted.key, 1, instr(wanted.key, ':') - 1)
          AND listing_id = substr(wanted.key, instr(wanted.key, ':') + 1)
    LIMIT 1)
ORDER BY p.observed_at, p.id
"""


def state_code_sql(param: str) -> str:
    """SQL turning a state's two letters or its name (any case) in ``param`` into its code: a
    user typing "Tennessee" must not read that Tennessee gives no road use."""
    given = f"upper(trim({param}))"
    names = " ".join(
        f"WHEN '{name.upper()}' THEN '{code}'"
        for code, name in sorted(states.us_state_names().items())
    )
    return f"CASE {given} {names} ELSE {given} END"


#: Trucks a buyer in :state could put on some public road there, with the rule, its limit,
#: source, date and confidence beside each. Empty when the state's rule gives no road use (or
#: is not yet in force): the ``state_rules`` table says why. Only trucks a buyer can take
#: (``_BUYABLE``): one said to have no title, a salvage or off-road-only title, or not to run
#: is no truck to register, and a pending sale is no truck to buy.
TRUCKS_I_CAN_REGISTER = f"""
WITH rule AS (
    SELECT * FROM state_rules
    WHERE state = {state_code_sql(":state")}
      AND road_status IN ('registrable', 'registrable_restricted', 'local_option')
      AND (effective_from IS NULL OR effective_from <= date('now'))
)
SELECT l.title, l.model, l.model_code, l.year, l.is_4wd, l.mileage_mi,
       CASE WHEN l.price_basis IN ('fob', 'cnf', 'cif') THEN l.landed_usd ELSE l.price_usd END
           AS price_usd,
       CASE WHEN l.price_basis IN ('fob', 'cnf', 'cif') THEN 'landed in the US'
            ELSE {price_label_sql("l.price_basis")} END AS price_is,
       l.location_raw AS seller_location, l.url,
       rule.state || ': ' || rule.road_status_words AS your_state_rule,
       l.road_claims AS seller_says,
       rule.max_speed_road_mph AS road_limit_mph, rule.interstate_allowed,
       rule.source_date AS rule_source_date, rule.confidence AS rule_confidence,
       rule.source_url AS rule_source, l.source, l.listing_id
FROM listings l, rule
WHERE {_BUYABLE} AND l.eligible_25y = 1
  AND (l.price_basis IN ('asking', 'bid_to', 'bid') OR l.landed_usd IS NOT NULL)
ORDER BY price_usd
"""

#: The views every database has (created on open), for sqlite3 and Datasette users; the
#: parameters of the canned queries take their defaults.
#: What a US buyer can act on: buyable kei trucks at a US asking price, and exporters' trucks
#: that can be imported (``eligible_25y``) at their landed cost, never their FOB price; one
#: figure, ``us_price_usd``, that ranks them all on the same axis.
#: "For sale", the one definition (the ``for_sale`` view, the ``for_sale`` flag of
#: ``active_trucks``, the demo's summary and the report's headline all use it): an active kei
#: truck a buyer can take at its price (runs, no title problem, not sale pending) with a US price
#: to pay: a US asking price, or an importable exporter's truck at its landed cost.
FOR_SALE_WHERE = f"""{_BUYABLE}
  AND (price_basis = 'asking' AND price_usd IS NOT NULL
       OR price_basis IN ('fob', 'cnf', 'cif') AND eligible_25y = 1 AND landed_usd IS NOT NULL)"""

FOR_SALE = f"""
SELECT CASE WHEN price_basis = 'asking' THEN price_usd ELSE landed_usd END AS us_price_usd,
       {price_label_sql("CASE WHEN price_basis = 'asking' THEN 'asking' ELSE 'landed' END")}
           AS price_label,
       CASE WHEN price_basis = 'asking' THEN NULL ELSE price_usd END AS quoted_usd,
       CASE WHEN price_basis = 'asking' THEN NULL ELSE {price_label_sql("price_basis")} END
           AS quoted_label,
       title, model, model_code, year, is_4wd, mileage_mi, runs, title_status, state,
       road_claims AS seller_says, location_raw, url, source, listing_id, first_seen_at,
       last_seen_at
FROM listings
WHERE {FOR_SALE_WHERE}
ORDER BY us_price_usd, source, listing_id
"""

#: Active kei trucks with a map position (``pipelines.normalize.geo``), for
#: datasette-cluster-map: ``latitude``/``longitude`` and a ``popup`` (title, link, what and where,
#: "approximate" when the position is a ZIP code's or a city's centre).
ACTIVE_TRUCKS_MAP = f"""
SELECT geo_latitude AS latitude, geo_longitude AS longitude, geo_basis,
       CASE geo_basis WHEN 'site_pin' THEN 0 ELSE 1 END AS approximate,
       title, model, year, is_4wd, price_usd, price_basis,
       {price_label_sql("price_basis")} AS price_label, location_raw, state, url, source,
       listing_id,
       json_object(
           'title', coalesce(title, model, 'kei truck'),
           'link', url,
           'description',
           coalesce('$' || price_usd || ' (' || {price_label_sql("price_basis")} || ')',
                    'no price')
           || coalesce(' · ' || location_raw, '')
           || CASE geo_basis WHEN 'site_pin' THEN ''
                             WHEN 'zip_centroid' THEN ' · approximate: centre of its ZIP code'
                             ELSE ' · approximate: centre of its city' END
       ) AS popup
FROM listings
WHERE status = 'active' AND kind = 'kei_truck' AND geo_latitude IS NOT NULL"""

VIEWS = {
    "active_trucks": f"""
        SELECT source, listing_id, title, make, model, model_code, year, is_4wd, mileage_mi,
               price_usd, price_basis, {price_label_sql("price_basis")} AS price_label,
               landed_usd, price_band, eligible_25y, runs, title_status, sale_pending, state,
               road_claims AS seller_says, location_raw, url, first_seen_at, last_seen_at,
               CASE WHEN {FOR_SALE_WHERE} THEN 1 ELSE 0 END AS for_sale
        FROM listings WHERE status = 'active' AND kind = 'kei_truck'""",
    "for_sale": FOR_SALE,
    "active_trucks_map": ACTIVE_TRUCKS_MAP,
    "latest_runs": """
        SELECT r.* FROM runs r
        WHERE r.id = (SELECT max(id) FROM runs r2 WHERE r2.source = r.source)""",
    "underpriced_4wd": UNDERPRICED_4WD.replace(":pct_under", "NULL"),
    "price_drops_this_week": PRICE_DROPS_THIS_WEEK,
    "median_price_by_model_year": MEDIAN_BY_MODEL_YEAR,
    "eligible_soon": ELIGIBLE_SOON.replace(":months", "NULL"),
}


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


def _listings_ddl() -> str:
    cols = ",\n    ".join(f"{name} {kind}" for name, kind in ADDED_COLUMNS["listings"].items())
    return f"CREATE TABLE listings (\n    {cols},\n    PRIMARY KEY (source, listing_id))"


def ensure_schema(db: Database) -> None:
    """Create tables, indexes and views if missing; add the columns an older database lacks.

    Idempotent, and safe when several processes open the database at once (two crawls of one
    night do): every change is made under one write lock, and only where the database differs
    from this shape, so an up-to-date database is not written at all."""
    db.conn.executescript(SCHEMA)  # CREATE ... IF NOT EXISTS only: safe side by side
    with db.conn:
        db.execute("BEGIN IMMEDIATE")  # the checks below and their changes, one writer at a time
        if not db["listings"].exists():
            db.execute(_listings_ddl())
        for table, columns in ADDED_COLUMNS.items():
            existing = set(db[table].columns_dict)
            for name, kind in columns.items():
                if name not in existing:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
        for name, on in LISTING_INDEXES.items():
            db.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {on}")
        views = dict(db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'view'"))
        for name, sql in VIEWS.items():
            wanted = f"CREATE VIEW {name} AS {sql}"
            if views.get(name) != wanted:
                db.execute(f"DROP VIEW IF EXISTS {name}")
                db.execute(wanted)
        shipped = list(states.state_rules().values())
        if not _reference_rules_current(db, shipped):
            _write_state_rules(db, shipped, replace_user_rows=False)


def _reference_rules_current(db: Database, shipped: list[states.StateRule]) -> bool:
    """Whether the stored shipped rows equal ``shipped`` (states the user overrode aside)."""
    cursor = db.execute("SELECT * FROM state_rules")
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    user = {row["state"] for row in rows if row["origin"] == "user"}
    stored = {row["state"]: row for row in rows if row["origin"] == "reference"}
    wanted = {r.state: states.rule_row(r) for r in shipped if r.state not in user}
    return stored == wanted


def save_state_rules(db: Database, rules: Iterable[states.StateRule]) -> None:
    """Store the rules in force for this user: the shipped table with their overrides."""
    with db.conn:
        _write_state_rules(db, rules, replace_user_rows=True)


def _write_state_rules(
    db: Database, rules: Iterable[states.StateRule], *, replace_user_rows: bool
) -> None:
    rows = [states.rule_row(rule) for rule in rules]
    if replace_user_rows:
        db.execute("DELETE FROM state_rules")
    else:  # a shipped refresh keeps the rows the user set
        db.execute("DELETE FROM state_rules WHERE origin = 'reference'")
        user = {r[0] for r in db.execute("SELECT state FROM state_rules").fetchall()}
        rows = [row for row in rows if row["state"] not in user]
    if rows:
        names = list(rows[0])
        db.conn.executemany(
            f"INSERT INTO state_rules ({', '.join(names)}) VALUES "
            f"({', '.join('?' for _ in names)})",
            [[row[n] for n in names] for row in rows],
        )

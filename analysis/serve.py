"""Datasette over the tracker's database: read-only, on 127.0.0.1, with metadata and canned queries.

``build_datasette(db_path)`` returns the Datasette instance (tests drive it in-process with
``ds.client``); ``serve(db_path, port)`` runs it with uvicorn bound to 127.0.0.1. The database
is opened read-only (SQLite ``mode=ro``) and every write connection is refused, so browsing
never competes with the nightly crawl. ``METADATA`` documents tables, columns, units and sources;
``CANNED_QUERIES`` are the questions users ask most. The deal query is a plain-SQL version of
the report's deal score (median of the same model, drive and basis, no recency weighting);
``deals.csv`` of the nightly report has the full score with its comparables.
"""

from __future__ import annotations

import copy
import logging
import os
from pathlib import Path
from typing import Any

from datasette.app import Datasette
from datasette.database import Database

from analysis.load import DatabaseMissing

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
DEFAULT_PORT = 8001

SOURCES = {
    "craigslist": "Craigslist (US classifieds, owner and dealer posts): https://www.craigslist.org",
    "bringatrailer": "Bring a Trailer (US auctions; sold and bid-to prices): "
    "https://bringatrailer.com",
    "beforward": "BE FORWARD (Japanese exporter; FOB and C&F prices): https://www.beforward.jp",
    "sbtjapan": "SBT Japan (Japanese exporter; FOB and C&F prices): https://www.sbtjapan.com",
    "carfromjapan": "CAR FROM JAPAN (Japanese exporter; FOB and C&F prices): "
    "https://carfromjapan.com",
    "tcv": "TCV (marketplace of Japanese exporters; FOB and C&F prices): https://www.tc-v.com",
    "ebay": "eBay Motors (US; asking prices and bids): https://www.ebay.com",
    "dealer_jsonld": "US dealer sites you configure (schema.org vehicle offers; asking prices)",
}

_ACTIVE_TRUCKS = """
    SELECT source, listing_id, identity, title, model, model_code, year, is_4wd, mileage_mi,
           price_usd, price_basis, location_raw, url
    FROM listings
    WHERE status = 'active' AND kind = 'kei_truck' AND price_usd IS NOT NULL
      AND is_4wd IS NOT NULL AND model IS NOT NULL"""

UNDERPRICED_4WD = f"""
WITH trucks AS ({_ACTIVE_TRUCKS}),
ranked AS (
    SELECT model, is_4wd, price_basis, price_usd,
           row_number() OVER (PARTITION BY model, is_4wd, price_basis ORDER BY price_usd) AS rn,
           count(*) OVER (PARTITION BY model, is_4wd, price_basis) AS n
    FROM trucks
),
medians AS (
    SELECT model, is_4wd, price_basis, avg(price_usd) AS median_usd, max(n) AS n
    FROM ranked WHERE rn IN ((n + 1) / 2, (n + 2) / 2)
    GROUP BY model, is_4wd, price_basis
)
SELECT t.title, t.model, t.model_code, t.year, t.mileage_mi, t.price_usd, t.price_basis,
       CAST(round(m.median_usd) AS INTEGER) AS median_usd, m.n - 1 AS comparables,
       round(100.0 * (m.median_usd - t.price_usd) / m.median_usd, 1) AS pct_under,
       t.location_raw, t.url, t.source, t.listing_id
FROM trucks t
JOIN medians m ON m.model = t.model AND m.is_4wd = t.is_4wd AND m.price_basis = t.price_basis
WHERE t.is_4wd = 1 AND t.price_basis = 'asking' AND m.n - 1 >= 3
  AND t.price_usd <= m.median_usd * (1 - coalesce(nullif(:pct_under, ''), 15) / 100.0)
ORDER BY pct_under DESC, t.price_usd
"""

ELIGIBLE_SOON = """
WITH today AS (SELECT substr(max(last_seen_at), 1, 7) AS month FROM listings)
SELECT l.eligible_from, l.title, l.model, l.model_code, l.year, l.build_month,
       l.eligibility_basis, l.price_usd, l.price_basis, l.location_raw, l.url, l.source,
       l.listing_id
FROM listings l, today
WHERE l.status = 'active' AND l.kind IN ('kei_truck', 'kei_van') AND l.eligible_from IS NOT NULL
  AND l.eligible_from >= today.month
  AND l.eligible_from <= strftime('%Y-%m', today.month || '-01',
                                  '+' || coalesce(nullif(:months, ''), 12) || ' months')
ORDER BY l.eligible_from, l.price_usd
"""

PRICE_DROPS_THIS_WEEK = """
WITH steps AS (
    SELECT source, listing_id, observed_at, event, price_usd, price_basis,
           lag(price_usd) OVER (PARTITION BY source, listing_id ORDER BY observed_at, id)
               AS previous_usd,
           lag(price_basis) OVER (PARTITION BY source, listing_id ORDER BY observed_at, id)
               AS previous_basis
    FROM price_history
    WHERE source || ':' || listing_id IN (
        SELECT source || ':' || listing_id FROM price_history
        WHERE observed_at >= (SELECT datetime(max(observed_at), '-7 days') FROM price_history))
)
SELECT s.observed_at, l.title, l.model, l.year, l.is_4wd, s.previous_usd, s.price_usd,
       s.previous_usd - s.price_usd AS drop_usd,
       round(100.0 * (s.previous_usd - s.price_usd) / s.previous_usd, 1) AS drop_pct,
       s.price_basis, l.location_raw, l.url, s.source, s.listing_id
FROM steps s JOIN listings l ON l.source = s.source AND l.listing_id = s.listing_id
WHERE s.price_usd < s.previous_usd AND s.price_basis = s.previous_basis
  AND s.observed_at >= (SELECT datetime(max(observed_at), '-7 days') FROM price_history)
ORDER BY drop_pct DESC
"""

MEDIAN_BY_MODEL_YEAR = f"""
WITH trucks AS ({_ACTIVE_TRUCKS}),
ranked AS (
    SELECT model, year, is_4wd, price_basis, price_usd,
           row_number() OVER (PARTITION BY model, year, is_4wd, price_basis ORDER BY price_usd)
               AS rn,
           count(*) OVER (PARTITION BY model, year, is_4wd, price_basis) AS n
    FROM trucks
)
SELECT model, year, CASE is_4wd WHEN 1 THEN '4WD' ELSE '2WD' END AS drive, price_basis,
       max(n) AS listings, CAST(round(avg(price_usd)) AS INTEGER) AS median_usd
FROM ranked WHERE rn IN ((n + 1) / 2, (n + 2) / 2)
GROUP BY model, year, is_4wd, price_basis
ORDER BY model, year, drive, price_basis
"""

TRUCK_HISTORY = """
SELECT p.observed_at, p.event, p.price, p.currency, p.price_usd, p.price_basis, p.status,
       l.title, p.source, p.listing_id, l.identity, l.url
FROM price_history p
JOIN listings l ON l.source = p.source AND l.listing_id = p.listing_id
WHERE l.identity = (
    SELECT identity FROM listings
    WHERE listing_id = :listing OR identity = :listing OR source || ':' || listing_id = :listing
    LIMIT 1)
ORDER BY p.observed_at, p.id
"""

CANNED_QUERIES: dict[str, dict[str, Any]] = {
    "underpriced_4wd": {
        "title": "Underpriced 4WD kei trucks now",
        "description": "Active 4WD kei trucks asking at least pct_under % (default 15) below "
        "the median US asking price of the same model, with at least 3 comparables. Exporter "
        "trucks are rated on their landed cost in the report's deals.csv. A simpler "
        "version of the report's deal score (deals.csv), which also groups rebadges, weighs "
        "recent prices more and counts a truck listed on two sites once.",
        "sql": UNDERPRICED_4WD,
        "params": ["pct_under"],
    },
    "eligible_soon": {
        "title": "Becoming eligible for US import soon",
        "description": "Active kei trucks and vans turning 25 between the month of the last "
        "crawl and months (default 12) months later.",
        "sql": ELIGIBLE_SOON,
        "params": ["months"],
    },
    "price_drops_this_week": {
        "title": "Price drops this week",
        "description": "Price drops (same price basis) in the 7 days up to the last crawl.",
        "sql": PRICE_DROPS_THIS_WEEK,
    },
    "median_price_by_model_year": {
        "title": "Median price by model and year",
        "description": "Active kei trucks per model, year, drive and price basis: count and "
        "median price in US dollars.",
        "sql": MEDIAN_BY_MODEL_YEAR,
    },
    "truck_history": {
        "title": "A truck's full price history",
        "description": "Every price and status change of a truck, all its reposts joined. "
        "listing: a listing id, or source:listing_id.",
        "sql": TRUCK_HISTORY,
        "params": ["listing"],
    },
}

#: The same questions as views, for sqlite3 users (needs no parameters); storage may install them.
SQL_VIEWS = {
    "underpriced_4wd": UNDERPRICED_4WD.replace(":pct_under", "NULL"),
    "price_drops_this_week": PRICE_DROPS_THIS_WEEK,
    "median_price_by_model_year": MEDIAN_BY_MODEL_YEAR,
    "eligible_soon": ELIGIBLE_SOON.replace(":months", "NULL"),
}

_LISTING_COLUMNS = {
    "source": "Where the listing was found (see the database's sources).",
    "listing_id": "The site's own id of the listing.",
    "identity": "One id per truck across reposts: a repost carries its first listing's id.",
    "url": "The listing page.",
    "title": "Title as the seller wrote it.",
    "price_raw": "Price exactly as displayed.",
    "price": "Price in whole units of currency.",
    "currency": "ISO 4217 currency of price.",
    "price_usd": "Price converted to US dollars (whole dollars).",
    "price_basis": "What the price is: asking, fob, cnf, cif (exporters), sold, bid_to, bid "
    "(auctions). Prices of different bases are never compared.",
    "price_band": "below / in / above the configured band (default $5,000-$12,000).",
    "model": "Canonical model, e.g. Honda Acty.",
    "model_code": "Chassis code without the emissions prefix, e.g. HA4.",
    "year": "Model or build year.",
    "build_month": "Build or registration month (1-12) when the listing gives it.",
    "is_4wd": "1 = 4WD, 0 = 2WD, empty = the listing does not say.",
    "mileage_mi": "Odometer in miles (kilometres converted).",
    "kind": "kei_truck, kei_van, other_vehicle, parts, wanted or toy.",
    "eligible_25y": "1 when 25 years old (US import rule) at crawl time.",
    "eligible_from": "Month (YYYY-MM) the vehicle turns 25.",
    "status": "active, sold, ended (auction without sale) or gone (no longer listed).",
    "first_seen_at": "First crawl that saw the listing (UTC).",
    "last_seen_at": "Last crawl that saw the listing (UTC).",
    "gone_at": "When a healthy, complete crawl first missed it (UTC).",
}


def metadata(name: str = "keitrucks") -> dict[str, Any]:
    """Datasette metadata for the database served under ``name``."""
    return {
        "title": "Kei Truck Tracker",
        "description": "Used Japanese kei truck listings crawled nightly: latest state, full "
        "price history, crawl runs and alerts. Prices in US dollars unless a column says "
        "otherwise.",
        "source": "; ".join(SOURCES.values()),
        "license": "Listings remain the property of their sites; for personal research.",
        "databases": {
            name: {
                "title": "Kei truck listings and price history",
                "source": "; ".join(SOURCES.values()),
                "tables": {
                    "listings": {
                        "title": "Listings (latest state)",
                        "description": "One row per listing and site, as last seen.",
                        "columns": _LISTING_COLUMNS,
                        "units": {"mileage_mi": "mile", "engine_cc": "cc"},
                        "sortable_columns": [
                            "price_usd",
                            "year",
                            "mileage_mi",
                            "first_seen_at",
                            "last_seen_at",
                        ],
                        "facets": ["source", "status", "model", "kind"],
                    },
                    "price_history": {
                        "title": "Price history",
                        "description": "Append-only: a row when a listing first appears and "
                        "whenever its price or status changes.",
                        "columns": {
                            "event": "new, price_change, status_change, relisted or gone.",
                            "observed_at": "Crawl time of the change (UTC).",
                            "price_usd": _LISTING_COLUMNS["price_usd"],
                            "price_basis": _LISTING_COLUMNS["price_basis"],
                            "run_id": "The crawl run (runs.id) that saw the change.",
                        },
                        "facets": ["event", "source"],
                    },
                    "runs": {
                        "title": "Crawl runs",
                        "description": "One row per source per night: healthy runs alone may "
                        "mark listings gone.",
                        "facets": ["source", "status", "healthy"],
                    },
                    "alerts": {
                        "title": "Alerts raised",
                        "description": "Every alert raised and where it was sent.",
                        "facets": ["kind", "status"],
                    },
                },
                "queries": copy.deepcopy(CANNED_QUERIES),
            }
        },
    }


class ReadOnlyDatabase(Database):
    """A file database that Datasette may only read (``mode=ro``; write connections refused)."""

    def connect(self, write: bool = False):
        if write:
            raise PermissionError("keitrucks serve is read-only")
        return super().connect(write=False)


def build_datasette(db_path: str | os.PathLike, *, name: str | None = None) -> Datasette:
    """A read-only Datasette over ``db_path`` with ``metadata(name)``.

    Raises ``analysis.load.DatabaseMissing`` when the file does not exist.
    """
    path = Path(db_path)
    if not path.is_file():
        raise DatabaseMissing(f"no database at {path}: run a crawl (or `keitrucks demo`) first")
    name = name or path.stem
    ds = Datasette(
        files=[],
        metadata=metadata(name),
        settings={"sql_time_limit_ms": 5000, "default_page_size": 50},
    )
    ds.add_database(ReadOnlyDatabase(ds, path=str(path.resolve()), is_mutable=True), name=name)
    return ds


def serve(db_path: str | os.PathLike, *, port: int = DEFAULT_PORT) -> None:
    """Serve the database on http://127.0.0.1:<port>/ until interrupted."""
    import uvicorn

    ds = build_datasette(db_path)
    logger.info("Datasette on http://%s:%d/", HOST, port)
    uvicorn.run(ds.app(), host=HOST, port=port, log_level="warning")

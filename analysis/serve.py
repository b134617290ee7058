"""Datasette over the tracker's database: read-only, on 127.0.0.1, with metadata and canned queries.

``build_datasette(db_path)`` returns the Datasette instance (tests drive it in-process with
``ds.client``); ``serve(db_path, port)`` runs it with uvicorn bound to 127.0.0.1. The database
is opened read-only (SQLite ``mode=ro``) and every write connection is refused, so browsing
never competes with the nightly crawl. ``METADATA`` documents tables, columns, units and sources;
``CANNED_QUERIES`` are the questions users ask most; their SQL lives with the database shape in
``pipelines.schema``, which also installs them (parameters at their defaults) as views every
database has, for sqlite3 users. The deal query is a plain-SQL version of
the report's deal score (median of the same model, drive and basis, no recency weighting);
``deals.csv`` of the nightly report has the full score with its comparables.
"""

from __future__ import annotations

import copy
import logging
import os
import socket
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from datasette.app import Datasette
from datasette.database import Database

from analysis.load import DatabaseMissing, NotATrackerDatabase
from pipelines.schema import (
    ELIGIBLE_SOON,
    MEDIAN_BY_MODEL_YEAR,
    PRICE_DROPS_THIS_WEEK,
    TRUCK_HISTORY,
    TRUCKS_I_CAN_REGISTER,
    UNDERPRICED_4WD,
)

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

CANNED_QUERIES: dict[str, dict[str, Any]] = {
    "underpriced_4wd": {
        "title": "Underpriced 4WD kei trucks now",
        "description": "Active 4WD kei trucks at a US asking price at least pct_under % "
        "(default 15) below the median US asking price of the same model, with at least 3 "
        "comparables; never trucks that do not run, have a title problem or are sale "
        "pending. Exporter trucks are rated on their landed cost in the report's deals.csv. "
        "A simpler version of the report's deal score (deals.csv), which also groups "
        "rebadges, weighs recent prices more and counts a truck listed on two sites once.",
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
        "description": "Active kei trucks a buyer can take at their price, per model, year, "
        "drive and price basis (price_label: US asking, Japan FOB, sold ...): count and median "
        "price in US dollars. Medians of different bases are not comparable.",
        "sql": MEDIAN_BY_MODEL_YEAR,
    },
    "trucks_i_can_register": {
        "title": "Trucks I can register in my state",
        "description": "Active, import-eligible kei trucks, when your state's rule lets a kei "
        "truck on some public road (state: two letters, e.g. TN). Each row shows the rule, its "
        "road limit, and the date and confidence of its source: rules change often, so check "
        "with your state DMV before buying. No rows means your state's rule gives no road use "
        "yet: see the state_rules table.",
        "sql": TRUCKS_I_CAN_REGISTER,
        "params": ["state"],
    },
    "truck_history": {
        "title": "A truck's full price history",
        "description": "Every price and status change of a truck, all its reposts joined. "
        "listing: a listing id, or source:listing_id.",
        "sql": TRUCK_HISTORY,
        "params": ["listing"],
    },
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
    "price_usd": "The listing's price in US dollars (whole dollars), on its price_basis: a US "
    "asking price, a sold price, a bid, or an exporter's Japan-side FOB / C&F / CIF price. "
    "Never rank a FOB price beside an asking price: use for_sale.",
    "price_basis": "What the price is: asking (US asking), fob, cnf, cif (Japan FOB / C&F / CIF, "
    "exporters), sold, bid_to, bid (auctions). Prices of different bases are never compared.",
    "price_label": "price_basis in words: US asking, sold, current bid, bid (not sold), Japan "
    "FOB, Japan C&F, Japan CIF.",
    "landed_usd": "Estimated cost landed in the US of an exporter's truck (price + freight + "
    "insurance + duty + fees), US dollars; empty for US listings.",
    "runs": "1 = runs, 0 = does not run, empty = the listing does not say.",
    "title_status": "clean, salvage, rebuilt, no_title, offroad_only; empty = not stated.",
    "sale_pending": "1 when the listing says a sale is pending.",
    "state": "Two-letter US state of the listing's location.",
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
                    "for_sale": {
                        "title": "For sale to a US buyer",
                        "description": "What a US buyer can act on, cheapest first: active kei "
                        "trucks that are not said not to run, have no title problem and are not "
                        "sale pending, at a US asking price, and exporters' trucks old enough to "
                        "import at their landed cost (never their FOB price).",
                        "columns": {
                            "us_price_usd": "The price to compare, US dollars: the US asking "
                            "price, or an exporter's landed cost.",
                            "price_label": "What us_price_usd is: US asking or landed in the US.",
                            "quoted_usd": "An exporter's own price (US dollars), for reference.",
                            "quoted_label": "What quoted_usd is: Japan FOB, C&F or CIF.",
                        }
                        | {
                            k: _LISTING_COLUMNS[k]
                            for k in ("runs", "title_status", "state", "mileage_mi", "is_4wd")
                        },
                    },
                    "active_trucks": {
                        "title": "Active kei trucks",
                        "description": "Every active kei truck listing, whatever its price "
                        "basis: read price_label before comparing two prices.",
                        "columns": {
                            k: _LISTING_COLUMNS[k]
                            for k in (
                                "price_usd",
                                "price_basis",
                                "price_label",
                                "landed_usd",
                                "runs",
                                "title_status",
                                "sale_pending",
                            )
                        },
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
                            "landed_usd": _LISTING_COLUMNS["landed_usd"],
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
                        "description": "Every alert raised and where it was sent; not_sent: "
                        "no notification channel was configured (printed and in the digest only).",
                        "facets": ["kind", "status"],
                    },
                    "listing_changes": {
                        "title": "Listing changes",
                        "description": "Append-only: a listing field's value before a later "
                        "crawl (or renormalize) changed it, so past reports read what was known "
                        "then.",
                        "facets": ["field", "source"],
                    },
                    "state_rules": {
                        "title": "State road rules for kei trucks",
                        "description": "Whether each state (and DC) lets a 25-year kei truck on "
                        "its roads, with the law, its source, the source's own date and our "
                        "confidence. Guidance, not a legal determination: rules changed in many "
                        "states since 2021; rows with low confidence or an old or missing "
                        "source date need checking with the state DMV. origin = user: your own "
                        "row from the configuration.",
                        "facets": ["road_status", "confidence", "source_type"],
                        "columns": {
                            "road_status": "registrable, registrable_restricted (special "
                            "class or some roads only), local_option, offroad_only, "
                            "no_new_registrations or unclear.",
                            "max_speed_road_mph": "Highest posted speed of roads the truck "
                            "may use; empty: no such limit found, or unknown.",
                            "interstate_allowed": "no where a source bars interstates; empty: "
                            "not stated.",
                            "effective_from": "When the rule takes effect (a future date: not "
                            "yet in force).",
                            "source_date": "The source's own date as shown (n.d.: none).",
                            "confidence": "high (statute or DMV text), medium, low "
                            "(aggregator or dealer only, or conflicting sources).",
                        },
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


def check_database(db_path: Path) -> None:
    """Raise ``DatabaseMissing`` (or ``NotATrackerDatabase``) unless ``db_path`` is one to serve."""
    if not db_path.is_file():
        raise DatabaseMissing(f"no database at {db_path}: run a crawl (or `keitrucks demo`) first")
    try:
        with closing(sqlite3.connect(f"file:{db_path.resolve()}?mode=ro", uri=True)) as conn:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError as exc:
        raise NotATrackerDatabase(f"{db_path} is not an SQLite database ({exc})") from None
    if "listings" not in tables:
        raise NotATrackerDatabase(f"{db_path} is not a tracker database (no listings table)")


def port_in_use(port: int, host: str = HOST) -> bool:
    """Whether something already listens on ``host:port`` (checked before announcing a URL)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def serve(db_path: str | os.PathLike, *, port: int = DEFAULT_PORT) -> None:
    """Serve the database on http://127.0.0.1:<port>/ until interrupted."""
    import uvicorn

    ds = build_datasette(db_path)
    logger.info("Datasette on http://%s:%d/", HOST, port)
    uvicorn.run(ds.app(), host=HOST, port=port, log_level="warning")

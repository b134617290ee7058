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
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from datasette.app import Datasette
from datasette.database import Database
from datasette.plugins import pm
from markupsafe import escape

from analysis import appraise_web
from analysis.load import (
    DatabaseMissing,
    NotATrackerDatabase,
    read_example_values,
    table_names,
    use_sqlite3_reads,
)
from analysis.serve_plugins import PLUGINS
from analysis.serve_plugins.config import PLUGIN_NAME
from pipelines.schema import (
    ELIGIBLE_SOON,
    MEDIAN_BY_MODEL_YEAR,
    PRICE_DROPS_THIS_WEEK,
    TRUCK_HISTORY,
    TRUCKS_I_CAN_REGISTER,
    UNDERPRICED_4WD,
    truck_history_sql,
)

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
DEFAULT_PORT = 8001

#: Our templates (``_description_source_license.html``: descriptions once per page).
TEMPLATES = Path(__file__).resolve().parent / "serve_templates"

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
    "manual": "Listings you track by hand with `keitrucks track` (US asking prices)",
}

#: The canned query that shows one truck's price history (every listing links to it).
HISTORY_QUERY = "truck_history"

#: The sources' names, for the one-line "Data source" of every page's footer.
SOURCE_NAMES = (
    "Craigslist",
    "eBay Motors",
    "Bring a Trailer",
    "BE FORWARD",
    "SBT Japan",
    "CAR FROM JAPAN",
    "TCV",
    "your dealers",
)

#: datasette-cluster-map: its markers link to the listing; no map where no coordinates.
MAP_PLUGIN: dict[str, Any] = {}
#: The listings table maps the coordinates the pipeline chose (``geo_*``), not the raw pin.
LISTINGS_MAP_COLUMNS = {"latitude_column": "geo_latitude", "longitude_column": "geo_longitude"}

CANNED_QUERIES: dict[str, dict[str, Any]] = {
    "underpriced_4wd": {
        "title": "Underpriced 4WD kei trucks now",
        "description": "Active 4WD kei trucks that the nightly report rated at least pct_under "
        "percent (default 15) under their fair price: the report's own deal scores, the same "
        "numbers as report.html and deals.csv (see the deal_scores table). The fair price is the "
        "recency-weighted median of at least 3 comparable trucks (same model family, drive and "
        "price basis, model year within two years of the truck's). An exporter's truck is rated "
        "on its landed cost against US asking prices, and listed only when it is old enough to "
        "import. "
        "Trucks that do not run, have a title problem or are sale pending are never listed.",
        "sql": UNDERPRICED_4WD,
        "params": ["pct_under"],
    },
    "eligible_soon": {
        "title": "Becoming eligible for US import soon",
        "description": "Active kei trucks and vans turning 25 (the US import rule) between the "
        "month of the last crawl and the given number of months later (months, default 12).",
        "sql": ELIGIBLE_SOON,
        "params": ["months"],
    },
    "price_drops_this_week": {
        "title": "Price drops this week",
        "description": "Price drops on the same price basis in the 7 days up to the last crawl, "
        "largest percentage first.",
        "sql": PRICE_DROPS_THIS_WEEK,
    },
    "median_price_by_model_year": {
        "title": "Median price by model and year",
        "description": "Active kei trucks a buyer can take at their price, per model, year, "
        "drive and price basis (price_label: US asking, Japan FOB, sold ...): how many, and "
        "their median price in US dollars. Medians of different bases are not comparable.",
        "sql": MEDIAN_BY_MODEL_YEAR,
    },
    "trucks_i_can_register": {
        "title": "Trucks I can register in my state",
        "description": "Active, import-eligible kei trucks a buyer can take (said to run, "
        "no title problem, no sale pending), when your state's rule lets a kei truck on some "
        "public roads (state: two letters or the name, e.g. TN or Tennessee). Each row shows "
        "the rule, its road limit, and the date and confidence of its source: rules change "
        "often, so check with your state DMV before buying. No rows: your state's rule allows "
        "no road use yet (see the state_rules table), or state is not a US state. seller_says "
        "is what the seller claims about road use (street legal, titled and tagged ...): their "
        "claim, beside the rule, never a fact.",
        "sql": TRUCKS_I_CAN_REGISTER,
        "params": ["state"],
    },
    HISTORY_QUERY: {
        "title": "A truck's full price history",
        "description": "Every price and status change of one truck, all its reposts joined, "
        "oldest first. listing: a listing id, source:listing_id, or a truck's identity; every "
        "listing in the tables links here. Without a listing, it shows the example below.",
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
    "insurance + duty + fees), US dollars; empty for US listings. Estimated whatever the "
    "truck's age: one under 25 years old (eligible_25y 0) cannot be imported yet.",
    "runs": "1 = runs, 0 = does not run, empty = the listing does not say.",
    "title_status": "clean, salvage, branded (brand not named), rebuilt, no_title, offroad_only; "
    "empty = not stated.",
    "sale_pending": "1 when the listing says a sale is pending.",
    "state": "Two-letter US state of the listing's location.",
    "road_claims": "What the seller says about road use, e.g. street legal in TN; titled and "
    "tagged; not street legal; farm use. The seller's claim, never a fact: check the "
    "state_rules table and your DMV.",
    "seller_says": "The listing's road_claims: what the seller says about road use (street "
    "legal in TN, titled and tagged ...). Their claim, not a fact.",
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
    "latitude": "Latitude of the map pin the site itself shows, as the site gives it.",
    "longitude": "Longitude of the map pin the site itself shows, as the site gives it.",
    "geo_latitude": "Latitude used for the map: the site's own pin, or the centre of the "
    "listing's US ZIP code or city (approximate, see geo_basis); empty when the listing gives "
    "no place that can be located.",
    "geo_longitude": "Longitude used for the map (see geo_latitude).",
    "geo_basis": "How geo_latitude/geo_longitude were found: site_pin (the site's own map "
    "pin), zip_centroid (approximate: the centre of the listing's ZIP code) or city_centroid "
    "(approximate: the centre of the ZIP codes of its city and state).",
}

#: What the report's deal score columns mean (the ``deal_scores`` table).
_DEAL_COLUMNS = {
    "as_of": "The night of the report that scored the listing (YYYY-MM-DD).",
    "truck_id": "One id per physical truck across sites (the report's matching).",
    "value_usd": "The figure compared with the fair price, US dollars: the listing's own "
    "price, or an exporter's landed cost.",
    "basis": "The basis of value_usd: the listing's price_basis, or landed for an exporter's "
    "truck (compared with US asking prices).",
    "price_label": "What value_usd is, in words: US asking, landed in the US ...",
    "fair_price_usd": "Recency-weighted median price of the comparables, US dollars.",
    "discount_pct": "How far under the fair price, in percent: 100 * (fair - value) / fair. "
    "Negative: over the fair price.",
    "n_comparables": "How many comparable trucks the fair price comes from.",
    "comparables_low_usd": "The middle half of the comparables' prices: its low end.",
    "comparables_high_usd": "The middle half of the comparables' prices: its high end.",
    "comparables": "The comparables, as source:listing_id, closest first.",
    "rated": "1 when the listing has a fair price (enough comparables, a rated price basis).",
    "why": "The score in one line, as report.html writes it.",
}


def _sources_html() -> str:
    """The sources, one per line with its address, for the database page."""
    items = []
    for text in SOURCES.values():
        words, _, url = text.rpartition(": ")
        if not url.startswith("https://"):
            words, url = text, ""
        link = f' <a href="{escape(url)}">{escape(url)}</a>' if url else ""
        items.append(f"<li>{escape(words)}{link}</li>")
    return "<ul>" + "".join(items) + "</ul>"


def _query_metadata(examples: dict[str, dict[str, str]]) -> dict[str, dict[str, Any]]:
    """``CANNED_QUERIES`` with, for each query with parameters, a link to a worked example."""
    queries = copy.deepcopy(CANNED_QUERIES)
    for name, query in queries.items():
        query["hide_sql"] = True  # people read the rows; "show" is one click away
        example = examples.get(name)
        if not example:
            continue
        shown = ", ".join(f"{k} = {v}" for k, v in example.items())
        query["description_html"] = (
            f"<p>{escape(query['description'])}</p><p>Example: "
            f'<a href="{escape(name)}?{escape(urlencode(example))}">{escape(shown)}</a></p>'
        )
    if HISTORY_QUERY in examples:
        queries[HISTORY_QUERY]["sql"] = truck_history_sql(examples[HISTORY_QUERY]["listing"])
    return queries


def metadata(name: str = "keitrucks", examples: dict | None = None) -> dict[str, Any]:
    """Datasette metadata for the database served under ``name``; ``examples`` (as
    ``query_examples`` returns) are shown in the canned queries' descriptions and forms."""
    examples = examples or {}
    return {
        "title": "Kei Truck Tracker",
        "description": "Used Japanese kei truck listings crawled nightly: latest state, full "
        "price history, crawl runs and alerts. Prices are in US dollars unless a column says "
        "otherwise.",
        "source": ", ".join(SOURCE_NAMES),
        "license": "Listings remain the property of their sites; for personal research.",
        "plugins": {"datasette-cluster-map": MAP_PLUGIN},
        "databases": {
            name: {
                "title": "Kei truck listings and price history",
                "description_html": "<p>Used Japanese kei trucks for sale, as last seen on "
                "these sites, with their price history:</p>" + _sources_html(),
                "plugins": {
                    PLUGIN_NAME: {"history_query": HISTORY_QUERY, "examples": examples},
                },
                "tables": _tables(),
                "queries": _query_metadata(examples),
            }
        },
    }


def _tables() -> dict[str, dict[str, Any]]:
    return {
        "listings": {
            "title": "Listings (latest state)",
            "description": "One row per listing and site, as last seen. Each listing id links "
            "to the truck's full price history.",
            "columns": _LISTING_COLUMNS,
            # no unit on mileage_mi: Datasette scales it to "81.39 kmi", which reads as 81 km
            "units": {"engine_cc": "cc"},
            "sortable_columns": [
                "price_usd",
                "year",
                "mileage_mi",
                "first_seen_at",
                "last_seen_at",
            ],
            "facets": ["model", "is_4wd", "status", "source", "state"],
            "plugins": {"datasette-cluster-map": LISTINGS_MAP_COLUMNS},
        },
        "for_sale": {
            "title": "For sale to a US buyer",
            "description": "What a US buyer can act on, cheapest first: active kei trucks not "
            "said to be non-running, with no title problem and no sale pending, at their US "
            "asking price, and exporters' trucks old enough to import at their landed cost "
            "(never their FOB price).",
            "columns": {
                "us_price_usd": "The price to compare, US dollars: the US asking price, or an "
                "exporter's landed cost.",
                "price_label": "What us_price_usd is: US asking or landed in the US.",
                "quoted_usd": "An exporter's own price (US dollars), for reference.",
                "quoted_label": "What quoted_usd is: Japan FOB, C&F or CIF.",
            }
            | {
                k: _LISTING_COLUMNS[k]
                for k in ("runs", "title_status", "state", "seller_says", "mileage_mi", "is_4wd")
            },
        },
        "active_trucks": {
            "title": "Active kei trucks",
            "description": "Every active kei truck listing, whatever its price basis: read "
            "price_label before comparing two prices. for_sale = 1 marks the rows of the "
            "for_sale view.",
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
                    "seller_says",
                )
            }
            | {
                "for_sale": "1 when the listing is for sale: it runs, has no title problem, is "
                "not sale pending and has a US price (US asking, or landed cost of an importable "
                "truck); the rows of for_sale."
            },
        },
        "active_trucks_map": {
            "title": "Map of active kei trucks",
            "description": "Active kei truck listings that can be placed on a map: at the "
            "site's own map pin, or (marked approximate) at the centre of the listing's US ZIP "
            "code or city. Listings that give no place are left out, never guessed.",
            "columns": {
                "latitude": _LISTING_COLUMNS["geo_latitude"],
                "longitude": _LISTING_COLUMNS["geo_longitude"],
                "geo_basis": _LISTING_COLUMNS["geo_basis"],
                "approximate": "1 when the position is a ZIP code's or a city's centre, not "
                "the seller's own pin.",
            },
        },
        "price_history": {
            "title": "Price history",
            "description": "Append-only: a row when a listing first appears and whenever its "
            "price or status changes.",
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
        "deal_scores": {
            "title": "Deal scores of the latest report",
            "description": "The nightly report's fair price and discount of every active kei "
            "truck a buyer can take at its price: the very numbers of report.html and "
            "deals.csv. The underpriced question reads this table.",
            "columns": {k: _LISTING_COLUMNS[k] for k in ("price_usd", "price_basis")}
            | _DEAL_COLUMNS,
            "facets": ["rated", "basis", "source"],
            "sortable_columns": ["discount_pct", "value_usd", "fair_price_usd"],
        },
        "runs": {
            "title": "Crawl runs",
            "description": "One row per source per night: only healthy runs may mark listings "
            "gone.",
            "facets": ["source", "status", "healthy"],
        },
        "alerts": {
            "title": "Alerts raised",
            "description": "Every alert raised and where it was sent; not_sent: no notification "
            "channel was configured (printed and in the digest only).",
            "facets": ["kind", "status"],
        },
        "listing_changes": {
            "title": "Listing changes",
            "description": "Append-only: a listing field's value before a later crawl (or "
            "renormalize) changed it, so past reports read what was known then.",
            "facets": ["field", "source"],
        },
        "state_rules": {
            "title": "State road rules for kei trucks",
            "description": "Whether each state (and DC) lets a 25-year-old kei truck on its "
            "roads, with the law, its source, the source's own date and our confidence. "
            "Guidance, not a legal determination: rules have changed in many states since "
            "2021; rows with low confidence or an old or missing source date need checking "
            "with the state DMV. origin = user: your own row from the configuration.",
            "facets": ["road_status", "confidence", "source_type"],
            "columns": {
                "road_status": "registrable, registrable_restricted (special class or some "
                "roads only), local_option, offroad_only, no_new_registrations or unclear.",
                "max_speed_road_mph": "Highest posted speed of the roads the truck may use; "
                "empty: no such limit found, or unknown.",
                "interstate_allowed": "no where a source bars interstates; empty: not stated.",
                "effective_from": "When the rule takes effect (a future date: not yet in force).",
                "source_date": "The source's own date as shown (n.d.: none).",
                "confidence": "high (statute or DMV text), medium, low (aggregator or dealer "
                "only, or conflicting sources).",
            },
        },
    }


def query_examples(db_path: str | os.PathLike) -> dict[str, dict[str, str]]:
    """An example value for each parameter of the canned queries, from the database when it
    has one: the last truck whose price changed (else any listing), the most common state."""
    examples: dict[str, dict[str, str]] = {
        "underpriced_4wd": {"pct_under": "15"},
        "eligible_soon": {"months": "12"},
    }
    found, state = read_example_values(db_path)
    if found:
        examples[HISTORY_QUERY] = {"listing": found}
    examples["trucks_i_can_register"] = {"state": state or "TN"}
    return examples


class ReadOnlyDatabase(Database):
    """A file database that Datasette may only read (``mode=ro``; write connections refused)."""

    def connect(self, write: bool = False):
        if write:
            raise PermissionError("keitrucks serve is read-only")
        return super().connect(write=False)


#: Datasette's settings for people browsing a big database: no facet suggestions (each one
#: scans every column, 5.8 s on 200k listings), room for the explicit facets. Facets are set
#: on tables whose facet columns are indexed, never on the views (each facet of a view computes
#: the view again; bench/serve.py).
SETTINGS = {
    "sql_time_limit_ms": 5000,
    "facet_time_limit_ms": 1000,
    "suggest_facets": False,
    "default_page_size": 50,
}


def register_plugins() -> None:
    """Register ``analysis.serve_plugins.PLUGINS`` with Datasette (once per process)."""
    for module in PLUGINS:
        if not pm.is_registered(module):
            pm.register(module)


def build_datasette(
    db_path: str | os.PathLike, *, name: str | None = None, config: dict | None = None
) -> Datasette:
    """A read-only Datasette over ``db_path`` with ``metadata(name)``, our templates and
    plugins, no ``_memory`` database, and the appraisal page (``analysis.appraise_web``, at
    ``/-/appraise``) with ``config``.

    Raises ``analysis.load.DatabaseMissing`` when the file does not exist.
    """
    path = Path(db_path)
    if not path.is_file():
        raise DatabaseMissing(f"no database at {path}: run a crawl (or `keitrucks demo`) first")
    name = name or path.stem
    register_plugins()
    appraise_web.register()
    ds = Datasette(
        files=[],
        metadata=metadata(name, query_examples(path)),
        settings=SETTINGS,
        template_dir=str(TEMPLATES),
    )
    ds.remove_database("_memory")
    ds.add_database(ReadOnlyDatabase(ds, path=str(path.resolve()), is_mutable=True), name=name)
    appraise_web.configure(ds, config)
    return ds


#: The tables the served pages read: the query forms' examples and the canned queries
#: (``CANNED_QUERIES``). A database of an older version may lack some; serve cannot add them.
SERVED_TABLES = ("price_history", "deal_scores", "state_rules")


def check_database(db_path: Path) -> None:
    """Raise ``DatabaseMissing`` (or ``NotATrackerDatabase``) unless ``db_path`` is one to serve:
    checked before the URL is announced."""
    tables = table_names(db_path)
    if "listings" not in tables:
        raise NotATrackerDatabase(f"{db_path} is not a tracker database (no listings table)")
    missing = [name for name in SERVED_TABLES if name not in tables]
    if missing:
        raise NotATrackerDatabase(
            f"{db_path} is a database from an older version (no {missing[0]} table): "
            f"`keitrucks renormalize --db {db_path}` updates it"
        )


def port_in_use(port: int, host: str = HOST) -> bool:
    """Whether something already listens on ``host:port`` (checked before announcing a URL)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def serve(
    db_path: str | os.PathLike, *, port: int = DEFAULT_PORT, config: dict | None = None
) -> None:
    """Serve the database on http://127.0.0.1:<port>/ until interrupted."""
    import uvicorn

    # Datasette keeps sqlite3 connections open, opened in its threads whenever: the reads of
    # the appraisal page must not use a second copy of SQLite beside them (load.connect_arrow)
    use_sqlite3_reads()
    ds = build_datasette(db_path, config=config)
    logger.info("Datasette on http://%s:%d/", HOST, port)
    uvicorn.run(ds.app(), host=HOST, port=port, log_level="warning")

"""Datasette over the database, in-process with its own test client: metadata, canned queries,
read-only, the pages people see (no _memory, descriptions once, history links, examples, the
map), the report's own deal scores, and every page of a big generated database answering."""

from __future__ import annotations

import asyncio
import csv
import importlib.util
import re
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from test_analysis_helpers import build_market, night, truck

from analysis.load import DatabaseMissing
from analysis.report import write_report
from analysis.serve import CANNED_QUERIES, HOST, SOURCES, build_datasette
from keitrucks.night import store_deal_scores
from pipelines.schema import open_db

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    db = tmp_path_factory.mktemp("serve") / "market.db"
    build_market(db)
    night(
        db,
        "2026-11-11",
        "craigslist",
        [
            truck("craigslist", "A", 7500),
            truck("craigslist", "C", 9000, mileage_mi=51234),
            truck("craigslist", "D", 13000, model="Suzuki Carry", year=1991, is_4wd=False),
            truck("craigslist", "G", 8800, repost_of="B"),
            truck("craigslist", "cheap", 5000),
            truck("beforward", "J", 3100, price_basis="fob", eligible_from="2027-02"),
        ],
    )
    report = write_report(db, db.parent / "reports", as_of="2026-11-11")
    assert store_deal_scores(db, report)
    datasette = build_datasette(db)
    datasette.report_folder = report.folder
    yield datasette
    for database in datasette.databases.values():
        database.close()


def get(ds, path):
    return asyncio.run(ds.client.get(path))


def rows(ds, query, *, db="market", **params):
    qs = "&".join(f"{k}={v}" for k, v in params.items())
    response = get(ds, f"/{db}/{query}.json?_shape=array&{qs}")
    assert response.status_code == 200, response.text
    return response.json()


def test_metadata_titles_descriptions_units_and_sources(ds):
    meta = get(ds, "/-/metadata.json").json()
    tables = meta["databases"]["market"]["tables"]
    assert tables["listings"]["units"] == {"engine_cc": "cc"}
    assert "US dollars" in tables["listings"]["columns"]["price_usd"]
    assert "craigslist" in meta["source"].lower()
    page = get(ds, "/market/listings")
    assert page.status_code == 200
    assert "Listings (latest state)" in page.text
    assert set(meta["databases"]["market"]["queries"]) == set(CANNED_QUERIES)


def deals_csv(ds) -> dict[str, dict]:
    with open(ds.report_folder / "deals.csv", encoding="utf-8") as f:
        return {r["listing_id"]: r for r in csv.DictReader(f)}


def test_underpriced_4wd_shows_the_reports_own_scores(ds):
    found = rows(ds, "underpriced_4wd")
    report = deals_csv(ds)
    wanted = {
        lid
        for lid, r in report.items()
        if r["rated"] == "True" and r["is_4wd"] == "True" and float(r["discount_pct"]) >= 15
    }
    assert wanted  # the market has a deal to show
    assert {r["listing_id"] for r in found} == wanted
    for r in found:  # one number per truck, everywhere
        deal = report[r["listing_id"]]
        assert r["pct_under"] == float(deal["discount_pct"])
        assert r["fair_price_usd"] == int(deal["fair_price_usd"])
        assert r["comparables"] == int(deal["n_comparables"])
        assert r["why"] == deal["why"]
    assert rows(ds, "underpriced_4wd", pct_under=99) == []
    # a threshold that is no number is the default, never "no deals tonight"
    for typed in ("abc", "15%25", "%2015%20"):
        assert rows(ds, "underpriced_4wd", pct_under=typed) == found, typed


def test_an_older_report_leaves_the_newer_scores(ds, tmp_path):
    db = Path(ds.get_database("market").path)
    older = write_report(db, tmp_path, as_of="2026-11-05")
    assert not store_deal_scores(db, older)
    assert {r["as_of"] for r in rows(ds, "deal_scores")} == {"2026-11-11"}


def test_eligible_soon(ds):
    found = rows(ds, "eligible_soon")
    assert [(r["listing_id"], r["eligible_from"]) for r in found] == [("J", "2027-02")]
    assert rows(ds, "eligible_soon", months=2) == []
    assert rows(ds, "eligible_soon", months="twelve") == found


def test_price_drops_this_week(ds):
    found = rows(ds, "price_drops_this_week")  # the 7 days up to the last crawl, Nov 11
    assert [(r["listing_id"], r["previous_usd"], r["price_usd"]) for r in found] == [
        ("E", 6000, 5500),
        ("A", 8000, 7500),
    ]


def test_median_price_by_model_and_year(ds):
    found = {
        (r["model"], r["year"], r["drive"], r["price_basis"]): r
        for r in rows(ds, "median_price_by_model_year")
    }
    acty = found[("Honda Acty", 1996, "4WD", "asking")]
    assert (acty["listings"], acty["median_usd"]) == (5, 8800)  # 5000 7500 8800 9000 9000


def test_truck_history_joins_reposts(ds):
    found = rows(ds, "truck_history", listing="G")
    assert [(r["listing_id"], r["event"]) for r in found] == [
        ("B", "new"),
        ("G", "new"),
        ("B", "gone"),
    ]


def test_read_only(ds):
    database = ds.get_database("market")
    with pytest.raises(PermissionError):
        asyncio.run(database.execute_write("DELETE FROM listings"))
    with pytest.raises(sqlite3.OperationalError):
        database.connect().execute("DELETE FROM listings")


def test_bound_to_localhost_and_missing_database(tmp_path):
    assert HOST == "127.0.0.1"
    with pytest.raises(DatabaseMissing):
        build_datasette(tmp_path / "nope.db")


def test_storage_installs_the_questions_as_views_for_sqlite3_users(ds):
    conn = sqlite3.connect(ds.get_database("market").path)
    views = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'view'")}
    counts = {
        name: len(conn.execute(f"SELECT * FROM {name}").fetchall())
        for name in ("underpriced_4wd", "eligible_soon", "price_drops_this_week")
    }
    conn.close()
    assert {"underpriced_4wd", "eligible_soon", "median_price_by_model_year"} <= views
    assert counts == {
        "underpriced_4wd": len(rows(ds, "underpriced_4wd")),
        "eligible_soon": 1,
        "price_drops_this_week": 2,
    }


def test_every_price_column_of_the_questions_says_what_it_is(ds):
    assert {r["price_label"] for r in rows(ds, "underpriced_4wd")} <= {
        "US asking",
        "landed in the US",
    }
    assert [r["price_label"] for r in rows(ds, "eligible_soon")] == ["Japan FOB"]
    medians = rows(ds, "median_price_by_model_year")
    assert {(r["price_basis"], r["price_label"]) for r in medians} >= {("asking", "US asking")}
    meta = get(ds, "/-/metadata.json").json()["databases"]["market"]["tables"]
    assert "Japan FOB" in meta["listings"]["columns"]["price_label"]
    assert "landed cost" in meta["for_sale"]["columns"]["us_price_usd"]


def view_rows(db, sql: str) -> list[dict]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql)]
    finally:
        conn.close()


def test_junk_is_left_out_of_the_deal_views_and_for_sale_ranks_one_us_axis(tmp_path):
    db = tmp_path / "junk.db"
    good = [truck("craigslist", f"g{n}", 8000 + 100 * n) for n in range(4)]
    junk = [
        truck("craigslist", "dead", 1000, runs=False),
        truck("craigslist", "salvage", 1100, title_status="salvage"),
        truck("craigslist", "pending", 1200, sale_pending=True),
        truck("craigslist", "parts", 300, kind="parts"),
    ]
    exporters = [
        truck("beforward", "old", 2500, price_basis="fob", eligible_25y=True, landed_usd=6400),
        truck("beforward", "young", 1500, price_basis="fob", eligible_25y=False, landed_usd=5000),
        truck("beforward", "unknown", 1400, price_basis="fob", landed_usd=4900),
    ]
    night(db, "2026-11-11", "craigslist", [*good, truck("craigslist", "cheap", 5000), *junk])
    night(db, "2026-11-11", "beforward", exporters)
    store_deal_scores(db, write_report(db, tmp_path / "reports", as_of="2026-11-11"))
    under = view_rows(db, "SELECT listing_id, comparables FROM underpriced_4wd")
    medians = view_rows(
        db, "SELECT listings FROM median_price_by_model_year WHERE price_basis = 'asking'"
    )
    for_sale = view_rows(
        db, "SELECT listing_id, us_price_usd, price_label, quoted_label FROM for_sale"
    )
    # the report rates the exporter's importable truck on its landed cost; never the young one
    assert under == [
        {"listing_id": "cheap", "comparables": 4},
        {"listing_id": "old", "comparables": 5},
    ]
    assert medians == [{"listings": 5}]
    assert [(r["listing_id"], r["us_price_usd"], r["price_label"]) for r in for_sale] == [
        ("cheap", 5000, "US asking"),
        ("old", 6400, "landed in the US"),
        *((f"g{n}", 8000 + 100 * n, "US asking") for n in range(4)),
    ]
    assert [r["quoted_label"] for r in for_sale][:2] == [None, "Japan FOB"]


# -- the pages people see -----------------------------------------------------------------------


def test_the_index_shows_only_the_tracker_database(ds):
    assert list(get(ds, "/.json").json()) == ["market"]
    assert "_memory" not in get(ds, "/").text


def test_descriptions_and_sources_are_shown_once(ds):
    table = get(ds, "/market/listings").text
    assert table.count("One row per listing and site, as last seen.") == 1
    assert table.count("Data source:") == 1  # the footer's one line
    for text in SOURCES.values():
        assert text.split(":")[0] not in table  # the long source list is not repeated here
    database = get(ds, "/market").text
    assert database.count("https://www.craigslist.org") == 2  # one link: its href and its text
    assert database.count("Data source:") == 1


def test_every_description_reads_cleanly():
    for name, query in CANNED_QUERIES.items():
        text = query["description"]
        assert not re.search(r"\b(\w+) \1\b", text, re.I), name  # no doubled words
        for param in query.get("params", []):
            assert param in text, f"{name} does not say what {param} is"
        assert text.endswith("."), name


def test_a_listings_page_reads_down_a_line_per_column_with_what_it_means(ds):
    page = get(ds, "/market/listings/craigslist,C").text
    lines = dict(
        re.findall(r'<th scope="row">([^<]+)</th>\s*<td class="value[^"]*">(.*?)</td>', page, re.S)
    )
    assert lines["listing_id"].startswith("C ")
    assert lines["price_usd"] == "9000"
    # the odometer as the miles it is: with a unit Datasette wrote "51.234 kmi", read as km
    assert lines["mileage_mi"] == "51234"
    assert "Odometer in miles (kilometres converted)." in page
    assert get(ds, "/market/listings/craigslist,nope").status_code == 404


def test_every_listing_links_to_its_price_history(ds):
    history = "/market/truck_history?listing=craigslist%3AG"
    table = get(ds, "/market/listings?source=craigslist").text
    assert f'href="{history}"' in table
    row = get(ds, "/market/listings/craigslist,G").text
    assert f'href="{history}"' in row
    assert f'link.href = "{history}"' in row  # and once more under the row's title
    view = get(ds, "/market/for_sale").text  # a view links to the listing's row too
    assert 'href="/market/listings/craigslist,G"' in view
    found = rows(ds, "truck_history", listing="craigslist%3AG")
    assert [(r["listing_id"], r["event"]) for r in found] == [
        ("B", "new"),
        ("G", "new"),
        ("B", "gone"),
    ]


def test_query_forms_show_a_real_example(ds):
    page = get(ds, "/market/truck_history").text
    # the last truck whose price changed: A, 8000 -> 7500 on Nov 9
    assert 'href="truck_history?listing=craigslist%3AA"' in page
    assert '"listing": "craigslist:A"' in page  # the parameter box's placeholder
    shown = rows(ds, "truck_history", listing="craigslist%3AA")
    assert [(r["event"], r["price_usd"]) for r in shown] == [("new", 8000), ("price_change", 7500)]
    assert rows(ds, "truck_history") == shown  # it opens on the example, not on no rows
    state = get(ds, "/market/trucks_i_can_register").text
    assert 'href="trucks_i_can_register?state=TN"' in state
    assert "e.g. " in get(ds, "/market/underpriced_4wd").text


def test_listings_facets_are_explicit_and_suggestions_off(ds):
    data = get(ds, "/market/listings.json?_extra=facet_results&_extra=suggested_facets").json()
    facets = data["facet_results"]
    facets = facets.get("results", facets)
    assert set(facets) == {"model", "is_4wd", "status", "source", "state"}
    assert data["suggested_facets"] == []


def test_map_of_active_trucks_never_invents_a_place(tmp_path):
    db = tmp_path / "map.db"
    pin = {"geo_latitude": 35.96, "geo_longitude": -83.92, "geo_basis": "site_pin"}
    zip_centre = {"geo_latitude": 36.07, "geo_longitude": -79.77, "geo_basis": "zip_centroid"}
    night(
        db,
        "2026-11-11",
        "craigslist",
        [
            truck("craigslist", "pin", 7000, latitude=35.96, longitude=-83.92, **pin),
            truck("craigslist", "zip", 7100, **zip_centre),
            truck("craigslist", "nowhere", 7200, location_raw="United States"),
            truck("craigslist", "parts", 300, kind="parts", **pin),
        ],
    )
    datasette = build_datasette(db)
    try:
        found = rows(datasette, "active_trucks_map", db="map")
        page = get(datasette, "/map/active_trucks_map").text
    finally:
        for database in datasette.databases.values():
            database.close()
    assert [(r["listing_id"], r["approximate"]) for r in found] == [("pin", 0), ("zip", 1)]
    assert "approximate" in found[1]["popup"]
    assert "datasette-cluster-map" in page


# -- a big database: every page answers ---------------------------------------------------------


def _bench_serve():
    spec = importlib.util.spec_from_file_location("bench_serve", ROOT / "bench" / "serve.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """A generated database of 20,000 listings and 100,000 history rows (bench/serve.py)."""
    bench = _bench_serve()
    db = tmp_path_factory.mktemp("big") / "big.db"
    bench.report_bench.generate(db, 20_000, 100_000)
    open_db(db).close()
    bench.enrich(db)
    datasette = build_datasette(db)
    yield datasette, bench.pages(datasette, "big")
    for database in datasette.databases.values():
        database.close()


def test_every_page_of_a_big_database_answers_in_time(big):
    datasette, pages = big
    assert {"listings", "price_history", "deal_scores", "active_trucks_map"} <= set(pages)
    assert {f"query:{q}" for q in CANNED_QUERIES} <= set(pages)
    for name, path in pages.items():
        response = get(datasette, path)
        assert response.status_code == 200, (name, response.text[:300])
        assert "took too long" not in response.text, name
        if not name.startswith("query:"):
            data = get(datasette, path.replace(f"/{name}", f"/{name}.json")).json()
            assert data.get("facets_timed_out", []) == [], name
    assert "_memory" not in get(datasette, "/").text


def test_an_empty_database_serves_every_question(tmp_path):
    db = tmp_path / "empty.db"
    open_db(db).close()
    datasette = build_datasette(db)
    try:
        for query in CANNED_QUERIES:
            assert rows(datasette, query, db="empty") == [], query
        assert "Example:" not in get(datasette, "/empty/truck_history").text  # none to show
    finally:
        for database in datasette.databases.values():
            database.close()


@pytest.mark.parametrize(
    "tables",
    [
        ["listings (source, listing_id, title)"],  # the first versions: listings only
        ["listings (source, listing_id, title)", "price_history (source, listing_id)"],
    ],
)
def test_serve_refuses_a_database_of_an_older_version_before_announcing_a_url(
    tmp_path, monkeypatch, tables
):
    """It printed 'Datasette on http://127.0.0.1:8001/', then failed on 'no such table'."""
    from click.testing import CliRunner

    from keitrucks.cli import cli

    db = tmp_path / "old.db"
    with closing(sqlite3.connect(db)) as conn, conn:
        for table in tables:
            conn.execute(f"CREATE TABLE {table}")

    def serve(path, **kwargs):  # the real one reads those tables before it listens
        raise sqlite3.OperationalError("no such table: price_history")

    monkeypatch.setattr("analysis.serve.serve", serve)
    monkeypatch.setattr("analysis.serve.port_in_use", lambda port: False)
    result = CliRunner().invoke(cli, ["serve", "--db", str(db)], obj={})
    assert result.exit_code == 4, result.output
    assert "http://" not in result.output
    assert result.output.startswith(f"Error: {db} is a database from an older version (no ")
    assert result.output.endswith(f"table): `keitrucks renormalize --db {db}` updates it\n")

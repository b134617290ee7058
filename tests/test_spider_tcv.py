"""TCV spider: list URLs with ``?pn=`` paging, detail pages for new or re-priced stock (which
add the seller and the total), stored fields carried forward, three nights of the sample site
end to end, and a 429 that stops the source.

The exporter crawl itself is tested with the SBT Japan spider that defines it; here only what
TCV does differently.
"""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import asdict
from pathlib import Path

import pytest
import scrapy
from scrapy.utils.test import get_crawler

from keitrucks.sample import render_tcv
from keitrucks.sample.catalog import NIGHTS, listings_on
from keitrucks.sample.site import SampleServer, write_night
from keitrucks.sample.trucks_tcv import seller_of, trucks
from scrapers.blocking import block_reason
from scrapers.items import Listing
from scrapers.parsers import tcv as parser
from scrapers.spiders.tcv import TcvSpider, list_path
from tests.conftest import FIXTURES, response_for, rows, shared_path

HERE = FIXTURES / "tcv"
BASE = "http://127.0.0.1:8999"
CARRY = {"make": "suzuki", "model": "carry truck"}
CATALOG = trucks(random.Random("2026-tcv"))


def make_spider(tmp_path: Path) -> TcvSpider:
    crawler = get_crawler(TcvSpider, {"KEITRUCKS_DB_PATH": str(tmp_path / "none.db")})
    crawler.stats.open_spider()
    spider = TcvSpider.from_crawler(crawler, base_url=BASE, as_of="2026-11-24")
    crawler.spider = spider
    return spider


def started(spider) -> list[scrapy.Request]:
    async def collect():
        return [request async for request in spider.start()]

    return asyncio.run(collect())


def run_list(spider, fixture: str, search=CARRY, page: int = 1):
    url = spider.url("www", spider.search_path(search, page))
    out = list(spider.parse_list(response_for(HERE / fixture, url), search, page))
    return [x for x in out if isinstance(x, Listing)], [
        x for x in out if isinstance(x, scrapy.Request)
    ]


# -- URLs and start -------------------------------------------------------------------------------


def test_list_path_is_the_one_the_probe_fetched():
    path = shared_path("fixtures", "reachability", "asia_export_sites_probe_2026-07-17.json")
    tcv = next(r for r in json.loads(path.read_text())["results"] if r["site"] == "tcv")
    assert "https://www.tc-v.com" + list_path("nissan", "datsun pickup") == tcv["search"]["url"]
    assert tcv["search"]["status"] == 200  # TCV answers datacenter IPs
    assert list_path("suzuki", "carry truck", 3) == "/used_car/suzuki/carry%20truck/?pn=2"


def test_start_makes_one_request_per_kei_model(tmp_path):
    spider = make_spider(tmp_path)
    requests = started(spider)
    assert len(requests) == len(TcvSpider.default_config["models"]) == 8
    assert requests[0].cb_kwargs == {"search": CARRY, "page": 1}
    assert requests[0].url == f"{BASE}/tcv/www/used_car/suzuki/carry%20truck/"
    assert all((r.meta["expect"], r.meta["anchor"]) == ("html", "used_car") for r in requests)
    live = TcvSpider.from_crawler(
        get_crawler(TcvSpider, {"KEITRUCKS_DB_PATH": str(tmp_path / "x")})
    )
    assert (
        live.url("www", list_path("honda", "acty truck"))
        == "https://www.tc-v.com/used_car/honda/acty%20truck/"
    )


def test_anchors_are_on_every_page_we_write():
    for body in [p.read_bytes() for p in HERE.glob("*.html")] + [
        r.body for r in render_tcv.render(CATALOG, 2)
    ]:
        anchor = "Specific information" if b"Specific information" in body else "used_car"
        assert block_reason(200, body, expect="html", anchor=anchor) is None


# -- paging, details, stored stock ----------------------------------------------------------------


def test_new_cards_wait_for_details_and_the_next_pn_is_asked(tmp_path):
    spider = make_spider(tmp_path)
    started(spider)
    listings, requests = run_list(spider, "list.html")
    assert [x.listing_id for x in listings] == ["43907715"]  # sold out
    assert [r.url for r in requests] == [f"{BASE}/tcv/www/used_car/suzuki/carry%20truck/?pn=1"]
    for search in spider.searches():
        if search != CARRY:
            list(spider.end_search(spider.search_label(search)))
    details = list(spider.end_search("suzuki/carry truck"))
    assert [r.url for r in details] == [
        f"{BASE}/tcv/www/used_car/suzuki/carry%20truck/43912007/",
        f"{BASE}/tcv/www/used_car/suzuki/carry%20truck/43899120/",
    ]
    assert details[0].meta["anchor"] == "Specific information"
    (merged,) = spider.parse_detail(
        response_for(HERE / "detail.html", details[0].url), **details[0].cb_kwargs
    )
    assert (merged.total_price_raw, merged.attributes["Seller"]) == (
        "US$ 5,830",
        "Kansai Auto Export",
    )


def test_a_stored_vehicle_keeps_its_total_and_seller_while_its_fob_is_unchanged(tmp_path):
    spider = make_spider(tmp_path)
    started(spider)
    card = parser.parse_search(response_for(HERE / "list.html", f"{BASE}/l")).listings[0]
    detail = parser.parse_detail(response_for(HERE / "detail.html", f"{BASE}/d/43912007/"))
    merged = parser.merge_detail(card, detail)
    merged.attributes["detail_read_at"] = "2026-11-23T06:00:00+00:00"
    row = asdict(merged) | {"status": "active"}
    spider.known = {"43912007": row}
    listings, _ = run_list(spider, "list.html")
    restored = next(x for x in listings if x.listing_id == "43912007")
    assert (restored.total_price_raw, restored.destination_port) == ("US$ 5,830", "Baltimore")
    assert (restored.transmission_raw, restored.location_raw) == ("Manual", "Osaka, Japan")

    spider = make_spider(tmp_path)
    started(spider)
    spider.known = {"43912007": row | {"price_raw": "US$ 4,390"}}
    listings, _ = run_list(spider, "list.html")
    assert "43912007" in [x.listing_id for x in spider._awaiting_detail]


# -- end to end -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tcv_sample")
    for night in range(len(NIGHTS)):
        write_night(render_tcv.render(CATALOG, night), root / f"night{night + 1}")
    return root


def expected(night: int) -> dict[str, tuple]:
    return {
        t.listing_id: (
            t.title,
            f"US$ {t.nights[night].price:,}" if t.nights[night].price else None,
            t.nights[night].status,
        )
        for t in listings_on(CATALOG, "tcv", night)
    }


def stored_rows(db) -> dict[str, dict]:
    return {r["listing_id"]: r for r in rows(db, "SELECT * FROM listings WHERE source = 'tcv'")}


def check_catalog_fields(table: dict[str, dict], night: int) -> None:
    for truck in listings_on(CATALOG, "tcv", night):
        row, state = table[truck.listing_id], truck.nights[night]
        attributes = json.loads(row["attributes"])
        assert attributes["Model Code"] == truck.model_code, truck.key
        assert attributes["Seller"] == seller_of(truck)[0]
        assert row["location_raw"] == truck.location
        assert row["drive_raw"] == ("4WD" if truck.is_4wd else "2WD")
        assert row["transmission_raw"] == (
            "Manual" if truck.transmission == "manual" else "Automatic"
        )
        assert row["mileage_raw"] == f"{truck.mileage:,} km"
        assert row["year_raw"] == f"{truck.year}/{truck.month:02d}"
        if state.status == "active":
            total = truck.totals[night]
            assert row["total_price_raw"] == (f"US$ {total:,}" if total else None), truck.key
            assert row["destination_port"] == truck.destination_port


@pytest.mark.slow
def test_sample_nights_end_to_end(sample_root, crawl, tmp_path):
    db = tmp_path / "tcv.db"
    with SampleServer(sample_root, night=1) as server:
        result = crawl("tcv", server, NIGHTS[0], db=db)
        assert result.returncode == 0, result.stderr_tail
        table = stored_rows(db)
        assert {i: (r["title"], r["price_raw"], r["status"]) for i, r in table.items()} == expected(
            0
        )
        check_catalog_fields(table, 0)
        (run,) = rows(db, "SELECT * FROM runs WHERE source = 'tcv'")
        assert (run["finish_reason"], run["complete"], run["healthy"]) == ("finished", 1, 1)

        server.night, seen = 3, len(server.requests)
        assert crawl("tcv", server, NIGHTS[2], db=db).returncode == 0
        details = {
            p.rstrip("/").rsplit("/", 1)[-1]
            for p in server.requests[seen:]
            if p.rstrip("/").rsplit("/", 1)[-1].isdigit()
        }
    night1, night3 = expected(0), expected(2)
    moved = {
        i for i, v in night3.items() if i in night1 and v[2] == "active" and v[1] != night1[i][1]
    }
    new = {i for i, v in night3.items() if i not in night1 and v[2] == "active"}
    assert moved
    assert details == moved | new
    table = stored_rows(db)
    assert {
        i: (table[i]["title"], table[i]["price_raw"], table[i]["status"]) for i in night3
    } == night3
    check_catalog_fields(table, 2)
    assert "0000-0000" not in json.dumps(list(table.values()))  # the seller's phone row
    assert {table[i]["status"] for i in set(night1) - set(night3)} == {"gone"}


@pytest.mark.slow
def test_a_429_stops_the_run_as_blocked(sample_root, crawl, tmp_path):
    db = tmp_path / "tcv.db"
    with SampleServer(sample_root, night=1) as server:
        server.override(
            "/tcv/www" + list_path("daihatsu", "hijet truck"), status=429, body=b"Too Many Requests"
        )
        result = crawl("tcv", server, NIGHTS[0], db=db)
    assert result.returncode == 0, result.stderr_tail
    (run,) = rows(db, "SELECT * FROM runs WHERE source = 'tcv'")
    assert (run["finish_reason"], run["blocked_reason"], run["complete"]) == (
        "blocked",
        "http_429",
        0,
    )

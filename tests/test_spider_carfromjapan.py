"""CAR FROM JAPAN spider: model URLs, the detail prices that win over card prices (also for
stored cars), the HTTP 202 challenge, and three nights of the sample site end to end.

The exporter crawl itself (paging, once-per-run stock, budget, stored fields) is tested with the
SBT Japan spider that defines it; here only what CFJ does differently.
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

from keitrucks.sample import render_carfromjapan
from keitrucks.sample.catalog import NIGHTS, listings_on
from keitrucks.sample.render_carfromjapan import MONTHS
from keitrucks.sample.site import SampleServer, write_night
from keitrucks.sample.trucks_carfromjapan import CARD_LIST_PRICE, DRIVE_AS_ACCESSORY, trucks
from scrapers.blocking import block_reason
from scrapers.items import Listing
from scrapers.parsers import carfromjapan as parser
from scrapers.spiders.carfromjapan import CarfromjapanSpider, model_path
from tests.conftest import FIXTURES, response_for, rows, shared_path

HERE = FIXTURES / "carfromjapan"
BASE = "http://127.0.0.1:8999"
HIJET = {"model": "daihatsu-hijet-truck"}
CATALOG = trucks(random.Random("2026-carfromjapan"))


def make_spider(tmp_path: Path) -> CarfromjapanSpider:
    crawler = get_crawler(CarfromjapanSpider, {"KEITRUCKS_DB_PATH": str(tmp_path / "none.db")})
    crawler.stats.open_spider()
    spider = CarfromjapanSpider.from_crawler(crawler, base_url=BASE, as_of="2026-11-24")
    crawler.spider = spider
    return spider


def started(spider) -> list[scrapy.Request]:
    async def collect():
        return [request async for request in spider.start()]

    return asyncio.run(collect())


def run_list(spider, fixture: str, search=HIJET, page: int = 1):
    url = spider.url("www", spider.search_path(search, page))
    out = list(spider.parse_list(response_for(HERE / fixture, url), search, page))
    return [x for x in out if isinstance(x, Listing)], [
        x for x in out if isinstance(x, scrapy.Request)
    ]


def probe(site: str) -> dict:
    path = shared_path("fixtures", "reachability", "asia_export_sites_probe_2026-07-17.json")
    return next(r for r in json.loads(path.read_text())["results"] if r["site"] == site)


# -- URLs, start and the challenge ----------------------------------------------------------------


def test_model_path_is_the_one_the_probe_fetched():
    assert (
        "https://carfromjapan.com" + model_path("nissan-datsun-pickup")
        == probe("carfromjapan")["search"]["url"]
    )
    assert (
        model_path("daihatsu-hijet-truck", 2) == "/cheap-used-daihatsu-hijet-truck-for-sale?page=2"
    )
    assert model_path("daihatsu-hijet-truck", country="kenya").startswith("/kenya/cheap-used-")


def test_start_makes_one_request_per_kei_model(tmp_path):
    spider = make_spider(tmp_path)
    requests = started(spider)
    assert [r.cb_kwargs["search"]["model"] for r in requests] == CarfromjapanSpider.default_config[
        "models"
    ]
    assert requests[1].url == f"{BASE}/carfromjapan/www/cheap-used-daihatsu-hijet-truck-for-sale"
    assert all(r.meta["expect"] == "html" and r.meta["anchor"] == "carfromjapan" for r in requests)
    crawler = get_crawler(CarfromjapanSpider, {"KEITRUCKS_DB_PATH": str(tmp_path / "none.db")})
    live = CarfromjapanSpider.from_crawler(crawler)
    assert (
        live.url("www", model_path("honda-acty-truck"))
        == "https://carfromjapan.com/cheap-used-honda-acty-truck-for-sale"
    )


def test_the_datacenter_challenge_the_probe_met_is_a_block():
    answer = probe("carfromjapan")["root"]
    assert (answer["status"], answer["bytes"]) == (202, 2035)
    assert (
        block_reason(answer["status"], b"x" * answer["bytes"], expect="html", anchor="carfromjapan")
        == "challenge_202"
    )


def test_anchors_are_on_every_page_we_write():
    pages = [p.read_bytes() for p in HERE.glob("*.html")]
    pages += [r.body for r in render_carfromjapan.render(CATALOG, 2)]
    assert all(
        block_reason(200, body, expect="html", anchor="carfromjapan") is None for body in pages
    )


# -- card prices and detail prices ----------------------------------------------------------------


def card_and_detail():
    card = parser.parse_search(response_for(HERE / "search.html", f"{BASE}/s")).listings[0]
    detail = parser.parse_detail(response_for(HERE / "detail.html", HIJET_URL))
    return card, detail


HIJET_URL = (
    f"{BASE}/carfromjapan/www/"
    "cheap-used-daihatsu-hijet-truck-2022-for-sale-6a1f03c2d94e7b0a5c318e27"
)


def test_a_new_car_waits_for_its_detail_page_whose_prices_win(tmp_path):
    spider = make_spider(tmp_path)
    started(spider)
    listings, requests = run_list(spider, "search.html")
    assert [x.listing_id for x in listings] == ["5b9e22d07a13c4f8e6d10b94"]  # the sold one
    assert [r.cb_kwargs["page"] for r in requests] == [2]
    for search in spider.searches():
        if search != HIJET:
            list(spider.end_search(spider.search_label(search)))
    details = list(spider.end_search("daihatsu-hijet-truck"))
    assert details[0].url == HIJET_URL
    (merged,) = spider.parse_detail(
        response_for(HERE / "detail.html", HIJET_URL), **details[0].cb_kwargs
    )
    assert (merged.price_raw, merged.total_price_raw) == ("US$ 7,905", "US$ 9,470")
    assert merged.attributes["card_total"] == "US$ 9,120"


def test_a_stored_car_with_an_unchanged_card_keeps_its_detail_prices(tmp_path):
    spider = make_spider(tmp_path)
    started(spider)
    card, detail = card_and_detail()
    merged = parser.merge_detail(card, detail)
    merged.attributes["detail_read_at"] = "2026-11-23T06:00:00+00:00"
    spider.known = {card.listing_id: asdict(merged) | {"status": "active"}}
    listings, _ = run_list(spider, "search.html")
    restored = next(x for x in listings if x.listing_id == card.listing_id)
    assert (restored.price_raw, restored.total_price_raw) == ("US$ 7,905", "US$ 9,470")
    assert restored.attributes["total_includes"] == "Inspection, Insurance"
    assert restored.attributes["VIN / Chassis No."] == "S510P0412***"
    assert restored.drive_raw == "4WD"
    assert card.listing_id not in [x.listing_id for x in spider._awaiting_detail]


def test_a_stored_car_whose_card_total_moved_gets_its_detail_page_again(tmp_path):
    spider = make_spider(tmp_path)
    started(spider)
    card, detail = card_and_detail()
    merged = parser.merge_detail(card, detail)
    merged.attributes.update(card_total="US$ 9,300", detail_read_at="2026-11-23T06:00:00+00:00")
    spider.known = {card.listing_id: asdict(merged) | {"status": "active"}}
    run_list(spider, "search.html")
    assert card.listing_id in [x.listing_id for x in spider._awaiting_detail]


def test_a_changed_card_whose_page_is_not_read_tonight_keeps_the_stored_offer(tmp_path):
    """A block stops the source before the detail page of a re-priced car: its card prices are
    not the site's price (the card total is US$ 350 under the detail's), so the stored offer
    stands, and so does the stored card, so that the next night still sees a changed card and
    reads the page. (Storing the card price recorded a false price change.)"""
    spider = make_spider(tmp_path)
    started(spider)
    card, detail = card_and_detail()
    merged = parser.merge_detail(card, detail)
    merged.attributes.update(card_total="US$ 9,300", detail_read_at="2026-11-23T06:00:00+00:00")
    stored = asdict(merged) | {"status": "active"}
    spider.known = {card.listing_id: stored}
    restored = spider.restore(card, stored)
    assert (restored.price_raw, restored.total_price_raw) == ("US$ 7,905", "US$ 9,470")
    assert restored.attributes["card_total"] == "US$ 9,300"
    assert restored.attributes["total_includes"] == "Inspection, Insurance"
    assert not spider.unchanged(card, asdict(restored) | {"status": "active"})


# -- end to end -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("carfromjapan_sample")
    for night in range(len(NIGHTS)):
        write_night(render_carfromjapan.render(CATALOG, night), root / f"night{night + 1}")
    return root


def expected(night: int) -> dict[str, tuple]:
    return {
        t.listing_id: (
            t.title,
            f"US$ {t.nights[night].price:,}" if t.nights[night].price else None,
            t.nights[night].status,
        )
        for t in listings_on(CATALOG, "carfromjapan", night)
    }


def stored_rows(db) -> dict[str, dict]:
    return {
        r["listing_id"]: r for r in rows(db, "SELECT * FROM listings WHERE source = 'carfromjapan'")
    }


def check_catalog_fields(table: dict[str, dict], night: int) -> None:
    for truck in listings_on(CATALOG, "carfromjapan", night):
        row, state = table[truck.listing_id], truck.nights[night]
        attributes = json.loads(row["attributes"])
        assert attributes["Model Code"] == truck.model_code, truck.key
        assert row["drive_raw"] == ("4WD" if truck.is_4wd else "2WD"), truck.key
        assert ("Drive Type" in attributes) is (truck.key not in DRIVE_AS_ACCESSORY)
        assert row["transmission_raw"] == (
            "Manual" if truck.transmission == "manual" else "Automatic"
        )
        assert row["mileage_raw"].startswith(f"{truck.mileage:,} km")
        assert row["year_raw"] == f"{truck.year} / {MONTHS[truck.month - 1]}"
        assert attributes["VIN / Chassis No."].endswith("***")
        if state.status == "active":
            assert row["total_price_raw"] == f"US$ {truck.totals[night]:,}", truck.key
            assert row["destination_port"] == f"{truck.destination_port} (Port)"
            assert attributes["price_condition"] == "C&F"


@pytest.mark.slow
def test_sample_nights_end_to_end(sample_root, crawl, tmp_path):
    db = tmp_path / "cfj.db"
    with SampleServer(sample_root, night=1) as server:
        result = crawl("carfromjapan", server, NIGHTS[0], db=db)
        assert result.returncode == 0, result.stderr_tail
        table = stored_rows(db)
        assert {i: (r["title"], r["price_raw"], r["status"]) for i, r in table.items()} == expected(
            0
        )
        check_catalog_fields(table, 0)
        listed = {t.listing_id for t in CATALOG if t.key in CARD_LIST_PRICE}
        assert all(
            json.loads(table[i]["attributes"])["card_price"] != table[i]["price_raw"]
            for i in listed
        )
        (run,) = rows(db, "SELECT * FROM runs WHERE source = 'carfromjapan'")
        assert (run["finish_reason"], run["complete"], run["healthy"]) == ("finished", 1, 1)

        server.night, seen = 3, len(server.requests)
        assert crawl("carfromjapan", server, NIGHTS[2], db=db).returncode == 0
        details = {p.rsplit("-", 1)[-1] for p in server.requests[seen:] if "-for-sale-" in p}
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
    assert {table[i]["status"] for i in set(night1) - set(night3)} == {"gone"}


@pytest.mark.slow
def test_a_202_challenge_stops_the_run_as_blocked(sample_root, crawl, tmp_path):
    db = tmp_path / "cfj.db"
    with SampleServer(sample_root, night=1) as server:
        target = "/carfromjapan/www" + model_path("suzuki-carry-truck")
        server.override(
            target, status=202, body=b"<html><body><script>challenge()</script></body></html>" * 30
        )
        result = crawl("carfromjapan", server, NIGHTS[0], db=db)
    assert result.returncode == 0, result.stderr_tail
    (run,) = rows(db, "SELECT * FROM runs WHERE source = 'carfromjapan'")
    assert (run["finish_reason"], run["blocked_reason"], run["complete"]) == (
        "blocked",
        "challenge_202",
        0,
    )

"""dealer_jsonld spider: dealer configuration, URL mapping, the kei filter in the crawl, budgets.

Unit tests drive the callbacks with our fixture pages (tests/fixtures/dealer_jsonld/). The
end-to-end test renders the two sample dealers (``keitrucks.sample.render_dealer_jsonld``) for the
three nights into a temporary folder, serves them, and crawls them through a real Scrapy
subprocess into a database with ``SAMPLE_DEALERS`` as the configured dealer list.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from pathlib import Path

import pytest
import scrapy
from scrapy.utils.test import get_crawler

from keitrucks.sample import render_dealer_jsonld as render
from keitrucks.sample.catalog import NIGHTS, listings_on
from keitrucks.sample.site import SampleServer, write_night
from keitrucks.sample.trucks_dealer_jsonld import dealer_of, trucks
from scrapers.items import Listing
from scrapers.spiders.dealer_jsonld import DealerConfigError, DealerJsonldSpider, load_dealer
from tests.conftest import FIXTURES, response_for, rows

HERE = FIXTURES / "dealer_jsonld"
BASE = "http://127.0.0.1:8999"
SOURCE = "dealer_jsonld"
CATALOG = trucks(random.Random(f"2026-{SOURCE}"))
FOOTHILLS = {
    "name": "Foothills Kei Motors",
    "start_urls": ["https://www.foothillskei.example/used-inventory/index.htm"],
    "platform": "dealercom",
    "listing_links": ".vehicle-card-title a",
    "next_page": ".pagination-next a",
    "max_pages": 2,
}


def make_spider(tmp_path: Path, dealers: list[dict], base_url: str | None = None):
    config = tmp_path / "keitrucks.toml"
    config.write_text(render.dealers_toml(dealers), encoding="utf-8")
    crawler = get_crawler(DealerJsonldSpider, {"KEITRUCKS_CONFIG": str(config)})
    crawler.stats.open_spider()
    spider = DealerJsonldSpider.from_crawler(crawler, base_url=base_url, as_of="2026-11-24")
    crawler.spider = spider
    return spider


def started(spider) -> list[scrapy.Request]:
    async def collect():
        return [request async for request in spider.start()]

    return asyncio.run(collect())


def stat(spider, key):
    return spider.crawler.stats.get_value(f"keitrucks/{key}")


def split(results) -> tuple[list[Listing], list[scrapy.Request]]:
    results = list(results)
    return [x for x in results if isinstance(x, Listing)], [
        x for x in results if isinstance(x, scrapy.Request)
    ]


def page(name: str, url: str | None = None):
    meta = json.loads((HERE / name).with_suffix(".meta.json").read_text(encoding="utf-8"))
    return response_for(HERE / name, url or meta["url"])


# -- configuration --------------------------------------------------------------------------------


def test_absolute_start_urls_on_the_real_site():
    dealer = load_dealer(FOOTHILLS, base_url=None, source=SOURCE)
    assert (dealer.key, dealer.root, dealer.host) == (
        "www.foothillskei.example",
        "https://www.foothillskei.example",
        "www.foothillskei.example",
    )
    assert dealer.start_paths == ("/used-inventory/index.htm",)
    assert dealer.domain == "foothillskei.example"
    assert (dealer.max_pages, dealer.request_budget) == (2, 60)


def test_absolute_start_urls_under_base_url_live_at_their_host_key():
    dealer = load_dealer(FOOTHILLS, base_url=BASE, source=SOURCE)
    assert dealer.root == f"{BASE}/{SOURCE}/www.foothillskei.example"
    assert dealer.start_paths == ("/used-inventory/index.htm",)


def test_relative_start_urls_are_relative_to_the_sample_base():
    dealer = load_dealer(render.SAMPLE_DEALERS[0], base_url=BASE, source=SOURCE)
    assert (dealer.key, dealer.root, dealer.host) == (
        "blueridge",
        f"{BASE}/{SOURCE}/blueridge",
        None,
    )
    assert dealer.start_paths == ("/used-inventory/index.htm",)
    assert dealer.domain == "blueridgekeitrucks.example"


@pytest.mark.parametrize(
    ("table", "base_url", "message"),
    [
        ({"name": "A", "start_urls": ["/a/inventory"]}, None, "only with -a base_url"),
        ({"start_urls": ["https://a.example/"]}, None, "needs a name"),
        ({"name": "A", "start_urls": []}, None, "needs a name"),
        ({"name": "A", "start_urls": ["inventory.htm"]}, None, "is not a URL"),
        (
            {"name": "A", "start_urls": ["https://a.example/x", "https://b.example/y"]},
            None,
            "one site",
        ),
        ("https://a.example/", None, "must be a table"),
    ],
)
def test_unusable_dealer_tables_say_why(table, base_url, message):
    with pytest.raises(DealerConfigError, match=message):
        load_dealer(table, base_url=base_url, source=SOURCE)


@pytest.mark.parametrize(
    ("link", "base_url", "expected"),
    [
        (
            "https://www.foothillskei.example/used/x.htm#photos",
            None,
            "https://www.foothillskei.example/used/x.htm",
        ),
        (
            "https://foothillskei.example/used/x.htm",
            None,
            "https://foothillskei.example/used/x.htm",
        ),
        ("https://www.partner-finance.example/apply", None, None),
        (
            f"{BASE}/used/x.htm?a=1",
            BASE,
            f"{BASE}/{SOURCE}/www.foothillskei.example/used/x.htm?a=1",
        ),
        (
            f"{BASE}/{SOURCE}/www.foothillskei.example/used/y.htm",
            BASE,
            f"{BASE}/{SOURCE}/www.foothillskei.example/used/y.htm",
        ),
        (
            "https://www.foothillskei.example/used/z.htm",
            BASE,
            f"{BASE}/{SOURCE}/www.foothillskei.example/used/z.htm",
        ),
        ("https://www.partner-finance.example/apply", BASE, None),
    ],
)
def test_links_are_kept_on_the_dealer_site_and_re_rooted_under_base_url(link, base_url, expected):
    dealer = load_dealer(FOOTHILLS, base_url=base_url, source=SOURCE)
    assert dealer.site_url(link, base_url) == expected


def test_without_dealers_the_spider_does_nothing_and_says_so(tmp_path, caplog):
    spider = make_spider(tmp_path, [])
    with caplog.at_level(logging.WARNING):
        assert started(spider) == []
    assert "No dealers configured" in caplog.text
    assert spider.request_budget == 0


def test_a_bad_dealer_is_skipped_with_an_error_and_the_others_crawled(tmp_path, caplog):
    with caplog.at_level(logging.ERROR):
        spider = make_spider(tmp_path, [{"name": "Broken", "start_urls": ["/x/y"]}, FOOTHILLS])
    assert "Dealer skipped" in caplog.text
    assert list(spider.dealers) == ["www.foothillskei.example"]


def test_start_requests_one_per_start_url(tmp_path):
    spider = make_spider(tmp_path, render.SAMPLE_DEALERS, base_url=BASE)
    requests = started(spider)
    assert [r.url for r in requests] == [
        f"{BASE}/{SOURCE}/blueridge/used-inventory/index.htm",
        f"{BASE}/{SOURCE}/piedmont/inventory",
    ]
    for request, dealer in zip(requests, render.SAMPLE_DEALERS, strict=True):
        assert request.meta == {"expect": "html", "anchor": dealer["anchor"]}
        assert request.errback == spider.on_error
        assert request.cb_kwargs["page"] == 1
    assert spider.request_budget == 2 * 60


# -- callbacks ------------------------------------------------------------------------------------


def test_inventory_page_follows_kei_links_and_the_next_page_only(tmp_path):
    spider = make_spider(tmp_path, [FOOTHILLS])
    listings, requests = split(
        spider.parse_inventory(page("inventory_ddc.html"), "www.foothillskei.example", 1)
    )
    assert listings == []
    assert [r.url for r in requests] == [
        "https://www.foothillskei.example/used/Suzuki/1997-Suzuki-Carry-DD51T-4x4-0c1d2e.htm",
        "https://www.foothillskei.example/used/Honda/1995-Honda-Acty-4WD-77af01.htm",
        "https://www.foothillskei.example/used-inventory/index.htm?start=18",
    ]
    assert requests[-1].cb_kwargs == {"dealer_key": "www.foothillskei.example", "page": 2}
    assert stat(spider, "skipped_not_kei_link") == 2  # the Tacoma and the Ranger
    assert stat(spider, "offsite_link") == 1
    assert stat(spider, "empty_page") is None


def test_inventory_pages_stop_at_max_pages_and_the_run_is_incomplete(tmp_path):
    spider = make_spider(tmp_path, [FOOTHILLS])
    _, requests = split(
        spider.parse_inventory(page("inventory_ddc.html"), "www.foothillskei.example", 2)
    )
    assert all("start=18" not in r.url for r in requests)
    assert stat(spider, "max_pages_reached") == 1
    assert stat(spider, "budget_exhausted") == 1


def test_inventory_listings_are_yielded_straight_away(tmp_path):
    dealer = {"name": "Delta Kei Supply", "start_urls": ["https://deltakei.example/inventory/"]}
    spider = make_spider(tmp_path, [dealer])
    listings, requests = split(
        spider.parse_inventory(page("inventory_itemlist.html"), "deltakei.example", 1)
    )
    assert [x.listing_id for x in listings] == ["DC51T-402288"]
    assert listings[0].attributes["dealer"] == "Delta Kei Supply"
    assert listings[0].seller_type == "dealer"
    assert [r.url for r in requests] == [
        "https://deltakei.example/vdp/5521/1998-daihatsu-hijet-s110p",
        "https://deltakei.example/vdp/5540/1999-honda-acty-sdx",
        "https://deltakei.example/inventory/?page=3",
    ]


def test_an_empty_lot_is_not_an_error_but_a_page_without_vehicles_is(tmp_path, caplog):
    dealer = {
        "name": "Tidewater Kei",
        "start_urls": ["https://tidewaterkei.example/inventory"],
        "listing_links": "a.inventory-card__link",
    }
    spider = make_spider(tmp_path, [dealer])
    assert (
        list(spider.parse_inventory(page("inventory_empty.html"), "tidewaterkei.example", 1)) == []
    )
    assert stat(spider, "empty_page") is None
    changed = page("inventory_empty.html").replace(body=b"<html><body><main></main></body></html>")
    with caplog.at_level(logging.ERROR):
        assert list(spider.parse_inventory(changed, "tidewaterkei.example", 1)) == []
    assert stat(spider, "empty_page") == 1
    assert "layout change" in caplog.text


def test_vehicle_page_yields_kei_trucks_once(tmp_path):
    spider = make_spider(tmp_path, [FOOTHILLS])
    key = "www.foothillskei.example"
    (listing,) = spider.parse_vehicle(page("vdp_dealercom.html"), key)
    assert (listing.listing_id, listing.price_raw) == ("DD51T-533107", "7995")
    assert listing.attributes["dealer"] == "Foothills Kei Motors"
    assert list(spider.parse_vehicle(page("vdp_dealercom.html"), key)) == []
    assert stat(spider, "duplicate_listing") == 1


def test_vehicle_page_of_another_make_is_skipped_and_a_broken_one_reported(tmp_path):
    spider = make_spider(tmp_path, [FOOTHILLS])
    key = "www.foothillskei.example"
    datsun = page("vdp_dealercom.html").body.replace(b'"name": "Suzuki"', b'"name": "Datsun"')
    datsun = datsun.replace(b"Carry", b"620").replace(b"DD51T", b"P620")
    assert list(spider.parse_vehicle(page("vdp_dealercom.html").replace(body=datsun), key)) == []
    assert stat(spider, "skipped_not_kei") == 1
    assert list(spider.parse_vehicle(page("vdp_no_vehicle.html"), key)) == []
    assert stat(spider, "empty_page") == 1


def test_each_dealer_keeps_to_its_request_budget(tmp_path):
    spider = make_spider(tmp_path, [{**FOOTHILLS, "request_budget": 2}])
    (start,) = started(spider)
    _, requests = split(
        spider.parse_inventory(page("inventory_ddc.html"), start.cb_kwargs["dealer_key"], 1)
    )
    assert len(requests) == 1  # the start page and one vehicle page
    assert stat(spider, "dealer_budget_spent") == 2
    assert stat(spider, "budget_exhausted") == 1


# -- sample marketplace ---------------------------------------------------------------------------


def test_sample_trucks_cover_the_nightly_events():
    ids = [t.listing_id for t in CATALOG]
    assert len(ids) == len(set(ids)) >= 10
    assert {dealer_of(t) for t in CATALOG} == {"blueridge", "piedmont"}
    assert any(
        t.nights[0] and t.nights[1] and t.nights[0].price != t.nights[1].price for t in CATALOG
    )
    assert any(t.nights[1] is not None and t.nights[2] is None for t in CATALOG)  # gone
    assert any(t.nights[0] is None and t.nights[2] is not None for t in CATALOG)  # new
    assert any(n is not None and n.status == "sold" for t in CATALOG for n in t.nights)
    assert min(t.year for t in CATALOG) < 1970
    assert any(":" in t.listing_id for t in CATALOG)  # a truck without a frame number


def test_every_rendered_page_carries_its_dealer_anchor():
    anchors = {d["start_urls"][0].split("/")[1]: d["anchor"] for d in render.SAMPLE_DEALERS}
    for night in range(3):
        for route in render.render(CATALOG, night):
            key = route.target.split("/")[2]  # /dealer_jsonld/<key>/...
            assert anchors[key].encode() in route.body, route.target


@pytest.fixture(scope="module")
def sample_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("dealer_sample")
    for night in range(3):
        write_night(render.render(CATALOG, night), root / f"night{night + 1}")
    (root / "keitrucks.toml").write_text(render.dealers_toml(), encoding="utf-8")
    return root


def stored(db: Path) -> dict[str, dict]:
    return {
        r["listing_id"]: r for r in rows(db, "SELECT * FROM listings WHERE source = ?", (SOURCE,))
    }


def on_night(night: int) -> dict[str, tuple]:
    return {
        t.listing_id: (t.title, t.nights[night].price, t.nights[night].status)
        for t in listings_on(CATALOG, SOURCE, night)
    }


def check_catalog_fields(rows_by_id: dict[str, dict], night: int) -> None:
    """Every field of the catalog truck the markup carries arrived in the database row."""
    for truck in listings_on(CATALOG, SOURCE, night):
        row = rows_by_id[truck.listing_id]
        attributes = json.loads(row["attributes"])
        assert row["price_raw"] == str(truck.nights[night].price), truck.key
        assert row["make_model_raw"].split()[0] == truck.make, truck.key
        assert row["year_raw"][:4] == str(truck.year), truck.key
        assert row["mileage_raw"] == f"{truck.mileage} {truck.mileage_unit}", truck.key
        drive = "FourWheelDriveConfiguration" if truck.is_4wd else "RearWheelDriveConfiguration"
        assert row["drive_raw"] == drive, truck.key
        assert ("Manual" in row["transmission_raw"]) == (truck.transmission == "manual")
        assert row["location_raw"] == truck.location, truck.key
        assert row["description"] == truck.description, truck.key
        assert row["seller_type"] == truck.seller_type, truck.key
        assert attributes["vehicleEngine.engineDisplacement"] == f"{truck.engine_cc} cc"
        assert attributes["color"] == truck.color
        month = f"{truck.year}-{truck.month:02d}" if truck.month else None
        assert attributes.get("productionDate") == month, truck.key
        assert attributes["dealer"] in {d["name"] for d in render.SAMPLE_DEALERS}
        if truck.model_code and ":" not in truck.listing_id:
            assert truck.listing_id.startswith(truck.model_code + "-"), truck.key


@pytest.mark.slow
def test_sample_nights_end_to_end(sample_root, crawl, tmp_path):
    db = tmp_path / "dealers.db"
    config = sample_root / "keitrucks.toml"
    with SampleServer(sample_root, night=1) as server:
        for night in range(3):
            server.night = night + 1
            result = crawl(SOURCE, server, NIGHTS[night], db=db, config=config)
            assert result.returncode == 0, result.stderr_tail
            listed = {
                i: (r["title"], r["price"], r["status"])
                for i, r in stored(db).items()
                if r["last_seen_at"].startswith(NIGHTS[night])
            }
            assert listed == on_night(night)
            if night == 1:
                check_catalog_fields(stored(db), night)
        requested = list(server.requests)
    runs = rows(db, "SELECT * FROM runs WHERE source = ? ORDER BY id", (SOURCE,))
    assert [(r["complete"], r["healthy"]) for r in runs] == [(1, 1)] * 3
    final = stored(db)
    gone = {t.listing_id for t in CATALOG if t.nights[2] is None and any(t.nights)}
    assert {final[i]["status"] for i in gone} == {"gone"}
    assert set(final) == {t.listing_id for t in CATALOG}  # no decoy stored
    assert not any("/Ford/" in r or "/Kubota/" in r for r in requested)  # skipped by their links
    assert any(r.endswith("/vehicle/1077") for r in requested)  # read, then skipped

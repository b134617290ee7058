"""BE FORWARD spider: keyword URLs, pagination, once-per-run rows, detail pages for new Ref Nos.

Unit tests drive the callbacks with our fixture pages; the end-to-end tests crawl the sample
marketplace rendered by ``keitrucks.sample.render_beforward`` (written to a temporary folder, so
they need no other source's renderer) through a real Scrapy subprocess into a database.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import scrapy
from scrapy.utils.test import get_crawler

from keitrucks.core.config import DEFAULT_CONFIG
from keitrucks.sample import render_beforward
from keitrucks.sample.catalog import NIGHTS, build_catalog, listings_on
from keitrucks.sample.site import SampleServer, write_night
from scrapers.items import Listing
from scrapers.spiders import exporter
from scrapers.spiders.beforward import ANCHOR, BeforwardSpider, stocklist_path
from tests.conftest import FIXTURES, response_for, rows, shared_path

HERE = FIXTURES / "beforward"
BASE = "http://127.0.0.1:8999"
KEYWORDS = DEFAULT_CONFIG["sources"]["beforward"]["keywords"]
USA = DEFAULT_CONFIG["sources"]["beforward"]["destination_country_id"]
CATALOG = build_catalog()


def make_spider(tmp_path: Path, **kwargs) -> BeforwardSpider:
    crawler = get_crawler(BeforwardSpider, {"KEITRUCKS_DB_PATH": str(tmp_path / "none.db")})
    crawler.stats.open_spider()
    spider = BeforwardSpider.from_crawler(crawler, base_url=BASE, as_of="2026-11-24", **kwargs)
    crawler.spider = spider
    return spider


def started(spider: BeforwardSpider) -> list[scrapy.Request]:
    async def collect():
        return [request async for request in spider.start()]

    return asyncio.run(collect())


def page(spider: BeforwardSpider, fixture: str, keyword: str, number: int = 1):
    url = spider.url("www", stocklist_path(keyword, number, country_id=USA))
    return response_for(HERE / fixture, url)


def run_list(spider, fixture, keyword, number=1) -> tuple[list[Listing], list[scrapy.Request]]:
    out = list(spider.parse_list(page(spider, fixture, keyword, number), keyword, number))
    return [x for x in out if isinstance(x, Listing)], [
        x for x in out if isinstance(x, scrapy.Request)
    ]


def stat(spider, key):
    return spider.crawler.stats.get_value(f"keitrucks/{key}")


# -- URLs and start -------------------------------------------------------------------------------


def test_stocklist_path_uses_path_segments():
    assert stocklist_path("Suzuki Carry Truck", country_id=90) == (
        "/stocklist/sortkey=n/keyword=Suzuki%20Carry%20Truck/kmode=and/tp_country_id=90/view_cnt=50/"
    )
    assert stocklist_path("Honda Acty Truck", 3).startswith("/stocklist/page=3/sortkey=n/")
    assert "tp_country_id" not in stocklist_path("Honda Acty Truck")


def test_start_requests_one_search_per_keyword(tmp_path):
    spider = make_spider(tmp_path)
    requests = started(spider)
    assert [r.cb_kwargs for r in requests] == [{"search": k, "page": 1} for k in KEYWORDS]
    assert requests[0].url == (
        f"{BASE}/beforward/www/stocklist/sortkey=n/keyword=Suzuki%20Carry%20Truck/kmode=and/"
        "tp_country_id=90/view_cnt=50/"
    )
    for request in requests:
        assert request.meta["expect"] == "html"
        assert request.meta["anchor"] == ANCHOR
        assert request.errback == spider.list_failed


def test_real_site_urls_by_default(tmp_path):
    crawler = get_crawler(BeforwardSpider, {"KEITRUCKS_DB_PATH": str(tmp_path / "none.db")})
    spider = BeforwardSpider.from_crawler(crawler)
    assert spider.url("www", "/stocklist/") == "https://www.beforward.jp/stocklist/"
    assert spider.request_budget <= 60


def test_anchor_is_on_every_page_we_write():
    bodies = [p.read_bytes() for p in HERE.glob("*.html")]
    bodies += [r.body for r in render_beforward.render(CATALOG, 2)]
    assert all(ANCHOR.encode() in body for body in bodies)


def test_anchor_is_on_every_real_page():
    pages = list(shared_path("fixtures", "beforward").glob("*.html"))
    assert len(pages) == 3
    assert all(ANCHOR.encode() in p.read_bytes() for p in pages)


def known(*ids: str) -> dict[str, dict]:
    """Stored rows as pipelines.listings.read_known_listings gives them."""
    return {
        i: {
            "listing_id": i,
            "url": f"https://www.beforward.jp/x/{i}/",
            "status": "active",
            "attributes": {"Chassis No.": f"CHASSIS-{i}"},
            "image_urls": [f"https://image.example/{i}.jpg"],
            "price_raw": "$1",
        }
        for i in ids
    }


# -- list pages -----------------------------------------------------------------------------------


def test_rows_are_yielded_and_the_next_page_requested(tmp_path):
    spider = make_spider(tmp_path)
    started(spider)
    spider.known = known("CB412007", "CA377150", "CC508811")
    listings, requests = run_list(spider, "stocklist.html", "Daihatsu Hijet Truck")
    assert [x.listing_id for x in listings] == ["CB412007", "CA377150", "CC508811"]
    assert all(x.scraped_at == "2026-11-24T06:00:00+00:00" for x in listings)
    (following,) = requests
    assert following.cb_kwargs == {"search": "Daihatsu Hijet Truck", "page": 2}
    assert "/stocklist/page=2/sortkey=n/keyword=Daihatsu%20Hijet%20Truck/" in following.url


def test_empty_page_after_page_one_ends_the_search_quietly(tmp_path):
    spider = make_spider(tmp_path)
    started(spider)
    listings, requests = run_list(spider, "stocklist_empty.html", "Mazda Scrum Truck", 1)
    assert (listings, requests) == ([], [])
    assert "Mazda Scrum Truck" not in spider._open_searches
    assert stat(spider, "empty_page") is None


def test_first_page_without_rows_or_no_result_message_is_an_error(tmp_path, caplog):
    spider = make_spider(tmp_path)
    started(spider)
    listings, requests = run_list(spider, "detail.html", "Honda Acty Truck", 1)
    assert (listings, requests) == ([], [])
    assert stat(spider, "empty_page") == 1
    assert any(r.levelname == "ERROR" and "layout change" in r.message for r in caplog.records)


def test_a_truck_under_two_keywords_is_yielded_once(tmp_path):
    spider = make_spider(tmp_path)
    started(spider)
    spider.known = known("CB412007", "CA377150", "CC508811")
    first, _ = run_list(spider, "stocklist.html", "Daihatsu Hijet Truck")
    second, requests = run_list(spider, "stocklist.html", "Suzuki Carry Truck")
    assert len(first) == 3
    assert second == []
    assert stat(spider, "duplicate_across_keywords") == 3
    assert [r.cb_kwargs["page"] for r in requests] == [2]  # the other search goes on


def test_a_page_repeating_earlier_rows_ends_the_search(tmp_path):
    spider = make_spider(tmp_path)
    started(spider)
    spider.known = known("CB412007", "CA377150", "CC508811")
    run_list(spider, "stocklist.html", "Daihatsu Hijet Truck", 1)
    listings, requests = run_list(spider, "stocklist.html", "Daihatsu Hijet Truck", 2)
    assert (listings, requests) == ([], [])
    assert "Daihatsu Hijet Truck" not in spider._open_searches


# -- detail pages ---------------------------------------------------------------------------------


def finish_other_searches(spider, keep: str) -> list:
    out = []
    for keyword in KEYWORDS:
        if keyword != keep:
            out += list(spider.end_search(keyword))
    return out


def test_new_ids_get_a_detail_page_after_every_search_has_ended(tmp_path):
    spider = make_spider(tmp_path)
    started(spider)
    spider.known = known("CC508811")
    assert finish_other_searches(spider, "Daihatsu Hijet Truck") == []
    listings, requests = run_list(spider, "stocklist.html", "Daihatsu Hijet Truck")
    # known and sold rows at once; the new truck waits for its detail page
    assert [x.listing_id for x in listings] == ["CA377150", "CC508811"]
    assert len(requests) == 1
    out = list(
        spider.parse_list(
            page(spider, "stocklist_empty.html", "Daihatsu Hijet Truck", 2),
            "Daihatsu Hijet Truck",
            2,
        )
    )
    (detail,) = out
    assert detail.url == f"{BASE}/beforward/www/daihatsu/hijet-truck/cb412007/id/14412007/"
    assert detail.cb_kwargs["listing"].listing_id == "CB412007"
    assert detail.callback == spider.parse_detail
    assert detail.errback == spider.detail_failed

    response = response_for(HERE / "detail.html", detail.url)
    (merged,) = spider.parse_detail(response, **detail.cb_kwargs)
    assert merged.listing_id == "CB412007"
    assert merged.attributes["Chassis No."] == "S510P-0281144"
    assert merged.total_price_raw == "$9,135"
    assert len(merged.image_urls) == 4


def test_detail_pages_stay_within_the_request_budget(tmp_path):
    spider = make_spider(tmp_path)
    started(spider)
    spider.known = {}
    spider.request_budget = spider.requests_made + 1 + exporter.BUDGET_MARGIN + 1
    run_list(spider, "stocklist.html", "Daihatsu Hijet Truck")
    out = finish_other_searches(spider, "Daihatsu Hijet Truck")
    out += list(spider.end_search("Daihatsu Hijet Truck"))
    kinds = [type(x).__name__ for x in out]
    assert kinds == ["Request", "Listing"]  # one detail page fits; the other row goes as it is
    assert stat(spider, "detail_skipped_budget") == 1


def test_a_failed_detail_page_still_yields_the_row(tmp_path):
    spider = make_spider(tmp_path)
    row = Listing(source="beforward", listing_id="CB412007", url="https://www.beforward.jp/x/")

    class Failure:
        request = scrapy.Request("https://www.beforward.jp/x/", cb_kwargs={"listing": row})
        value = "HTTP 404"

    assert list(spider.detail_failed(Failure())) == [row]
    assert stat(spider, "detail_failed") == 1
    assert stat(spider, "request_failed") is None


def test_a_detail_page_of_another_vehicle_keeps_the_row(tmp_path):
    spider = make_spider(tmp_path)
    row = Listing(source="beforward", listing_id="CA000001", url="https://www.beforward.jp/x/")
    response = response_for(HERE / "detail.html", "https://www.beforward.jp/x/")
    assert list(spider.parse_detail(response, row)) == [row]
    assert stat(spider, "detail_unusable") == 1


def test_a_known_vehicle_keeps_what_its_detail_page_added(tmp_path):
    spider = make_spider(tmp_path)
    started(spider)
    spider.known = known("CC508811")
    listings, _ = run_list(spider, "stocklist.html", "Daihatsu Hijet Truck")
    (stored,) = [x for x in listings if x.listing_id == "CC508811"]
    assert stored.attributes["Chassis No."] == "CHASSIS-CC508811"
    assert stored.image_urls == ["https://image.example/CC508811.jpg"]
    assert stored.price_raw is not None  # tonight's row wins over what was stored


# -- end to end -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("beforward_sample")
    for night in range(len(NIGHTS)):
        write_night(render_beforward.render(CATALOG, night), root / f"night{night + 1}")
    return root


def expected_rows(night: int) -> dict[str, tuple]:
    out = {}
    for truck in listings_on(CATALOG, "beforward", night):
        state = truck.nights[night]
        price = f"${state.price:,}" if state.price is not None else None
        out[truck.listing_id] = (truck.title, price, state.status)
    return out


def detail_requests(paths: list[str]) -> set[str]:
    """Ref Nos of the detail pages among requested paths.

    Those paths look like ``/beforward/www/<make>/<model>/<ref>/id/<n>/``.
    """
    return {p.split("/")[5].upper() for p in paths if "/id/" in p}


@pytest.mark.slow
def test_sample_nights_end_to_end(sample_root, crawl, tmp_path):
    db = tmp_path / "bf.db"
    with SampleServer(sample_root, night=1) as server:
        result = crawl("beforward", server, NIGHTS[0], db=db)
        assert result.returncode == 0, result.stderr_tail
        first_details = detail_requests(server.requests)
        stored = {
            r["listing_id"]: (r["title"], r["price_raw"], r["status"])
            for r in rows(db, "SELECT * FROM listings WHERE source = 'beforward'")
        }
        assert stored == expected_rows(0)
        assert first_details == set(expected_rows(0))  # a fresh database knows no Ref No.
        (run,) = rows(db, "SELECT * FROM runs WHERE source = 'beforward'")
        assert (run["finish_reason"], run["complete"], run["healthy"]) == ("finished", 1, 1)

        server.night, seen = 3, len(server.requests)
        result = crawl("beforward", server, NIGHTS[2], db=db)
        assert result.returncode == 0, result.stderr_tail
        second_details = detail_requests(server.requests[seen:])
    night3 = expected_rows(2)
    new_unsold = {i for i, (_, _, status) in night3.items() if status == "active"}
    assert second_details == new_unsold - set(expected_rows(0))
    stored = {
        r["listing_id"]: r for r in rows(db, "SELECT * FROM listings WHERE source = 'beforward'")
    }
    for listing_id, (title, price, status) in night3.items():
        row = stored[listing_id]
        assert (row["title"], row["price_raw"], row["status"]) == (title, price, status), listing_id
    gone = set(expected_rows(0)) - set(night3)
    assert gone
    assert {stored[i]["status"] for i in gone} == {"gone"}


@pytest.mark.slow
def test_sample_rows_carry_the_catalog_fields(sample_root, crawl, tmp_path):
    db = tmp_path / "bf.db"
    with SampleServer(sample_root, night=2) as server:
        assert crawl("beforward", server, NIGHTS[1], db=db).returncode == 0
    stored = {
        r["listing_id"]: r for r in rows(db, "SELECT * FROM listings WHERE source = 'beforward'")
    }
    for truck in listings_on(CATALOG, "beforward", 1):
        row = stored[truck.listing_id]
        attributes = json.loads(row["attributes"])
        assert attributes["Model code"] == truck.model_code, truck.key
        assert row["drive_raw"] == ("4WD" if truck.is_4wd else "2WD"), truck.key
        assert row["transmission_raw"] == ("MT" if truck.transmission == "manual" else "AT")
        assert row["mileage_raw"] == f"{truck.mileage:,} km"
        assert row["year_raw"] == (
            f"{truck.year}/{truck.month}" if truck.month else str(truck.year)
        )
        assert row["location_raw"] == truck.stock_area
        assert row["total_price_raw"] == f"${truck.totals[1]:,}"
        assert row["destination_port"] == truck.destination_port
        assert row["seller_type"] == truck.seller_type
        assert attributes["Engine"] == f"{truck.engine_cc}cc"


@pytest.mark.slow
def test_a_202_challenge_stops_the_run_as_blocked(sample_root, crawl, tmp_path):
    db = tmp_path / "bf.db"
    with SampleServer(sample_root, night=1) as server:
        target = "/beforward/www" + stocklist_path(KEYWORDS[0], 1, country_id=USA)
        server.override(target, status=202, body=b"<html><body>One moment, please</body></html>")
        result = crawl("beforward", server, NIGHTS[0], db=db)
    assert result.returncode == 0, result.stderr_tail
    (run,) = rows(db, "SELECT * FROM runs WHERE source = 'beforward'")
    assert run["finish_reason"] == "blocked"
    assert run["blocked_reason"] == "challenge_202"
    assert run["complete"] == 0

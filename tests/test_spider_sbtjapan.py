"""SBT Japan spider and the exporter crawl it shares: URLs, paging, once-per-run stock, detail
pages for new or re-priced stock, stored fields carried forward, end to end on the sample site.

Unit tests drive the callbacks with our fixture pages; the end-to-end tests crawl the sample
marketplace rendered by ``keitrucks.sample.render_sbtjapan`` from this source's own catalog
entries (written to a temporary folder) through a real Scrapy subprocess into a database.
"""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path

import pytest
import scrapy
from scrapy.utils.test import get_crawler

from keitrucks.sample import render_sbtjapan
from keitrucks.sample.catalog import NIGHTS, listings_on
from keitrucks.sample.site import SampleServer, write_night
from keitrucks.sample.trucks_sbtjapan import trucks
from scrapers.blocking import block_reason
from scrapers.items import Listing
from scrapers.spiders import sbtjapan as spider_module
from scrapers.spiders.exporter import BUDGET_MARGIN
from scrapers.spiders.sbtjapan import SbtjapanSpider, search_path
from tests.conftest import FIXTURES, response_for, rows, shared_path

HERE = FIXTURES / "sbtjapan"
BASE = "http://127.0.0.1:8999"
HIJET = {"make_id": 8, "model": "HIJET-TRUCK"}
SEARCHES = SbtjapanSpider.default_config["searches"]
CATALOG = trucks(random.Random("2026-sbtjapan"))


def make_spider(tmp_path: Path, **kwargs) -> SbtjapanSpider:
    crawler = get_crawler(SbtjapanSpider, {"KEITRUCKS_DB_PATH": str(tmp_path / "none.db")})
    crawler.stats.open_spider()
    spider = SbtjapanSpider.from_crawler(crawler, base_url=BASE, as_of="2026-11-24", **kwargs)
    crawler.spider = spider
    return spider


def started(spider) -> list[scrapy.Request]:
    async def collect():
        return [request async for request in spider.start()]

    return asyncio.run(collect())


def run_list(spider, fixture: str, search=HIJET, page: int = 1):
    response = response_for(
        HERE / fixture, spider.url("www", search_path(search["make_id"], search["model"], page))
    )
    out = list(spider.parse_list(response, search, page))
    return [x for x in out if isinstance(x, Listing)], [
        x for x in out if isinstance(x, scrapy.Request)
    ]


def finish_other_searches(spider, keep: str = "8/HIJET-TRUCK") -> list:
    out = []
    for search in SEARCHES:
        label = spider.search_label(search)
        if label != keep:
            out += list(spider.end_search(label))
    return out


def stat(spider, key):
    return spider.crawler.stats.get_value(f"keitrucks/{key}")


def stored(listing: Listing, **changes) -> dict:
    """A database row of ``read_known_listings`` for a listing whose detail page was read."""
    from dataclasses import asdict

    row = asdict(listing)
    row["attributes"] = {**listing.attributes, "detail_read_at": "2026-11-23T06:00:00+00:00"}
    row.update({"status": "active", **changes})
    return row


# -- URLs and start -------------------------------------------------------------------------------


def test_search_path_is_the_one_sbt_redirects_to():
    probe = json.loads(
        shared_path(
            "fixtures", "reachability", "asia_export_sites_probe_2026-07-17.json"
        ).read_text()
    )
    sbt = next(r for r in probe["results"] if r["site"] == "sbtjapan")
    final = sbt["search"]["final_url"]
    assert "https://www.sbtjapan.com" + search_path(3, "DATSUN-TRUCK") == final
    assert sbt["search"]["status"] == 200  # SBT answers datacenter IPs


def test_search_path_pages():
    assert search_path(9, "CARRY-TRUCK", 3) == (
        "/used-cars/search?make_id=9&model%5B%5D=CARRY-TRUCK&isModel=1&page=3"
    )


def test_start_makes_one_search_per_kei_line(tmp_path):
    spider = make_spider(tmp_path)
    requests = started(spider)
    assert [r.cb_kwargs["search"] for r in requests] == SEARCHES
    assert {s["make_id"] for s in SEARCHES} == {2, 3, 4, 5, 6, 7, 8, 9}
    assert requests[1].url == f"{BASE}/sbtjapan/www" + search_path(8, "HIJET-TRUCK")
    for request in requests:
        assert (request.meta["expect"], request.meta["anchor"]) == ("html", "search-result")
        assert request.errback == spider.list_failed
        assert request.cb_kwargs["page"] == 1


def test_real_site_by_default_and_a_budget(tmp_path):
    crawler = get_crawler(SbtjapanSpider, {"KEITRUCKS_DB_PATH": str(tmp_path / "none.db")})
    spider = SbtjapanSpider.from_crawler(crawler)
    assert spider.url("www", "/used-cars/AJ4108") == "https://www.sbtjapan.com/used-cars/AJ4108"
    assert 0 < spider.request_budget <= 100


def test_a_toml_table_replaces_the_searches(tmp_path):
    config = tmp_path / "k.toml"
    config.write_text('[sources.sbtjapan]\nsearches = [{make_id = 9, model = "CARRY-TRUCK"}]\n')
    crawler = get_crawler(SbtjapanSpider, {"KEITRUCKS_CONFIG": str(config)})
    spider = SbtjapanSpider.from_crawler(crawler, base_url=BASE)
    assert [r.cb_kwargs["search"] for r in started(spider)] == [
        {"make_id": 9, "model": "CARRY-TRUCK"}
    ]


def test_anchors_are_on_every_page_we_write_and_not_on_a_challenge():
    pages = [p.read_bytes() for p in HERE.glob("*.html")]
    pages += [r.body for r in render_sbtjapan.render(CATALOG, 2)]
    for body in pages:
        anchor = "product-detail" if b"product-detail__name" in body else "search-result"
        assert block_reason(200, body, expect="html", anchor=anchor) is None
    challenge = (
        b"<html><body><p>Please wait while we check your browser</p>"
        + b" " * 6000
        + b"</body></html>"
    )
    assert block_reason(200, challenge, expect="html", anchor="search-result") is not None


# -- search pages ---------------------------------------------------------------------------------


def test_new_cards_wait_for_their_detail_page_and_the_next_page_is_asked(tmp_path):
    spider = make_spider(tmp_path)
    started(spider)
    listings, requests = run_list(spider, "search.html")
    assert [x.listing_id for x in listings] == ["AI0954"]  # sold: nothing left to read
    assert [x.listing_id for x in spider._awaiting_detail] == ["AH7312", "AJ2207"]
    (following,) = requests
    assert following.cb_kwargs == {"search": HIJET, "page": 2}
    assert following.url.endswith("&page=2")


def test_the_last_page_ends_the_search_without_asking_for_more(tmp_path):
    spider = make_spider(tmp_path)
    started(spider)
    listings, requests = run_list(spider, "search_last.html", page=2)
    assert requests == []
    assert "8/HIJET-TRUCK" not in spider._open_searches


def test_a_page_without_pagination_asks_for_the_next_until_one_is_empty(tmp_path):
    spider = make_spider(tmp_path)
    started(spider)
    body = (HERE / "search_last.html").read_text().split('<nav class="pagination">')[
        0
    ] + "</div></main></body></html>"
    response = scrapy.http.HtmlResponse(url=f"{BASE}/x", body=body.encode(), encoding="utf-8")
    out = list(spider.parse_list(response, HIJET, 2))
    assert [x.cb_kwargs["page"] for x in out if isinstance(x, scrapy.Request)] == [3]
    listings, requests = run_list(spider, "search_empty.html", page=3)
    assert (listings, requests) == ([], [])
    assert stat(spider, "empty_page") is None


def test_an_empty_search_is_fine_but_a_first_page_without_cards_is_an_error(tmp_path, caplog):
    spider = make_spider(tmp_path)
    started(spider)
    assert run_list(spider, "search_empty.html", {"make_id": 2, "model": "PIXIS-TRUCK"}) == ([], [])
    assert stat(spider, "empty_page") is None
    assert run_list(spider, "detail.html", {"make_id": 9, "model": "CARRY-TRUCK"}) == ([], [])
    assert stat(spider, "empty_page") == 1
    assert any(r.levelname == "ERROR" and "layout change" in r.message for r in caplog.records)


def test_a_vehicle_under_two_searches_is_taken_once(tmp_path):
    spider = make_spider(tmp_path)
    started(spider)
    run_list(spider, "search.html")
    listings, _ = run_list(spider, "search.html", {"make_id": 7, "model": "SAMBAR-TRUCK"})
    assert listings == []
    assert stat(spider, "duplicate_across_searches") == 3


def test_a_page_repeating_earlier_cards_ends_the_search(tmp_path):
    spider = make_spider(tmp_path)
    started(spider)
    run_list(spider, "search.html", page=1)
    assert run_list(spider, "search.html", page=2) == ([], [])
    assert "8/HIJET-TRUCK" not in spider._open_searches


def test_a_failed_search_page_counts_and_closes_its_search(tmp_path):
    spider = make_spider(tmp_path)
    started(spider)

    class Failure:
        request = scrapy.Request(f"{BASE}/x", cb_kwargs={"search": HIJET, "page": 1})
        value = "HTTP 500"

    assert list(spider.list_failed(Failure())) == []
    assert stat(spider, "request_failed") == 1
    assert "8/HIJET-TRUCK" not in spider._open_searches


# -- detail pages and stored stock ----------------------------------------------------------------


def test_detail_pages_come_after_every_search_and_merge_into_the_card(tmp_path):
    spider = make_spider(tmp_path)
    started(spider)
    assert finish_other_searches(spider) == []
    run_list(spider, "search.html")
    out = list(spider.end_search("8/HIJET-TRUCK"))
    assert [r.cb_kwargs["listing"].listing_id for r in out] == ["AH7312", "AJ2207"]
    first = out[0]
    assert first.url == f"{BASE}/sbtjapan/www/used-cars/AH7312"
    assert (first.callback, first.errback) == (spider.parse_detail, spider.detail_failed)
    assert first.meta["anchor"] == "product-detail"
    (merged,) = spider.parse_detail(
        response_for(HERE / "detail.html", first.url), **first.cb_kwargs
    )
    assert (merged.price_raw, merged.attributes["Freight"]) == ("6,980", "1,250")
    assert merged.url == "https://www.sbtjapan.com/used-cars/AH7312"
    assert merged.attributes["detail_read_at"] == "2026-11-24T06:00:00+00:00"
    assert stat(spider, "detail_read") == 1


def test_detail_pages_stay_within_the_request_budget(tmp_path):
    spider = make_spider(tmp_path)
    started(spider)
    run_list(spider, "search.html")
    spider.request_budget = spider.requests_made + BUDGET_MARGIN + 1
    out = finish_other_searches(spider) + list(spider.end_search("8/HIJET-TRUCK"))
    assert [type(x).__name__ for x in out] == ["Request", "Listing"]
    assert stat(spider, "detail_skipped_budget") == 1


def test_no_detail_pages_once_the_source_is_blocked(tmp_path):
    spider = make_spider(tmp_path)
    started(spider)
    run_list(spider, "search.html")
    spider.crawler.stats.set_value("keitrucks/blocked", "challenge_202")
    out = finish_other_searches(spider) + list(spider.end_search("8/HIJET-TRUCK"))
    assert [x.listing_id for x in out] == ["AH7312", "AJ2207"]


def test_a_known_unchanged_vehicle_is_completed_from_storage_without_a_detail_page(tmp_path):
    spider = make_spider(tmp_path)
    started(spider)
    detail = spider_module.parser.parse_detail(response_for(HERE / "detail.html", f"{BASE}/d"))
    card = spider_module.parser.parse_search(
        response_for(HERE / "search.html", f"{BASE}/s")
    ).listings[0]
    spider.known = {"AH7312": stored(spider_module.parser.merge_detail(card, detail))}
    listings, _ = run_list(spider, "search.html")
    restored = next(x for x in listings if x.listing_id == "AH7312")
    assert restored.attributes["Chassis No."] == "S510P-0287***"
    assert restored.attributes["Freight"] == "1,250"
    assert len(restored.image_urls) == 5
    assert (restored.price_raw, restored.total_price_raw) == ("6,980", "8,512")
    assert restored.scraped_at == "2026-11-24T06:00:00+00:00"
    assert [x.listing_id for x in spider._awaiting_detail] == ["AJ2207"]
    assert stat(spider, "restored_from_storage") == 1


def test_a_known_vehicle_whose_card_price_changed_gets_its_detail_page_again(tmp_path):
    spider = make_spider(tmp_path)
    started(spider)
    card = spider_module.parser.parse_search(
        response_for(HERE / "search.html", f"{BASE}/s")
    ).listings[0]
    spider.known = {"AH7312": stored(card, price_raw="7,200", total_price_raw="8,732")}
    run_list(spider, "search.html")
    assert "AH7312" in [x.listing_id for x in spider._awaiting_detail]


def test_a_stored_vehicle_whose_detail_page_was_never_read_gets_it_now(tmp_path):
    spider = make_spider(tmp_path)
    started(spider)
    card = spider_module.parser.parse_search(
        response_for(HERE / "search.html", f"{BASE}/s")
    ).listings[0]
    spider.known = {"AH7312": stored(card, attributes=card.attributes)}  # skipped for the budget
    run_list(spider, "search.html")
    assert "AH7312" in [x.listing_id for x in spider._awaiting_detail]


def test_a_stored_sold_mark_does_not_stick_to_a_relisted_vehicle(tmp_path):
    spider = make_spider(tmp_path)
    started(spider)
    card = spider_module.parser.parse_search(
        response_for(HERE / "search.html", f"{BASE}/s")
    ).listings[0]
    spider.known = {"AH7312": stored(card, status_raw="SOLD", status="sold")}
    listings, _ = run_list(spider, "search.html")
    restored = next(x for x in listings if x.listing_id == "AH7312")
    assert (restored.status_raw, restored.price_raw) == (None, "6,980")


def test_a_sold_card_keeps_no_stored_offer(tmp_path):
    spider = make_spider(tmp_path)
    started(spider)
    sold = spider_module.parser.parse_search(
        response_for(HERE / "search.html", f"{BASE}/s")
    ).listings[1]
    spider.known = {
        "AI0954": stored(
            sold,
            price_raw="3,100",
            currency_raw="USD",
            price_basis="fob",
            total_price_raw="4,650",
            destination_port="BALTIMORE",
            status_raw=None,
            attributes={
                **sold.attributes,
                "price_condition": "C&F",
                "Chassis No.": "S500P-0155***",
            },
        )
    }
    listings, _ = run_list(spider, "search.html")
    restored = next(x for x in listings if x.listing_id == "AI0954")
    assert (restored.status_raw, restored.price_raw, restored.total_price_raw) == (
        "SOLD",
        None,
        None,
    )
    assert (restored.price_basis, restored.destination_port) == (None, None)
    assert "price_condition" not in restored.attributes
    assert restored.attributes["Chassis No."] == "S500P-0155***"


def test_a_failed_or_unusable_detail_page_still_yields_the_card(tmp_path):
    spider = make_spider(tmp_path)
    card = Listing(
        source="sbtjapan", listing_id="AH7312", url="https://www.sbtjapan.com/used-cars/AH7312"
    )

    class Failure:
        request = scrapy.Request(f"{BASE}/d", cb_kwargs={"listing": card})
        value = "HTTP 404"

    assert list(spider.detail_failed(Failure())) == [card]
    assert (stat(spider, "detail_failed"), stat(spider, "request_failed")) == (1, None)
    other = Listing(
        source="sbtjapan", listing_id="AJ0000", url="https://www.sbtjapan.com/used-cars/AJ0000"
    )
    assert list(spider.parse_detail(response_for(HERE / "detail.html", f"{BASE}/d"), other)) == [
        other
    ]
    assert stat(spider, "detail_unusable") == 1


def test_without_a_database_every_vehicle_is_new(tmp_path):
    spider = make_spider(tmp_path)
    started(spider)
    assert spider.known == {}
    run_list(spider, "search.html")
    assert len(spider._awaiting_detail) == 2


# -- end to end -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sbtjapan_sample")
    for night in range(len(NIGHTS)):
        write_night(render_sbtjapan.render(CATALOG, night), root / f"night{night + 1}")
    return root


def expected(night: int) -> dict[str, tuple]:
    out = {}
    for truck in listings_on(CATALOG, "sbtjapan", night):
        state = truck.nights[night]
        out[truck.listing_id] = (
            truck.title,
            f"{state.price:,}" if state.price else None,
            state.status,
        )
    return out


def stored_rows(db) -> dict[str, dict]:
    return {
        r["listing_id"]: r for r in rows(db, "SELECT * FROM listings WHERE source = 'sbtjapan'")
    }


def detail_ids(paths: list[str]) -> set[str]:
    return {p.rsplit("/", 1)[-1] for p in paths if "/used-cars/" in p and "search" not in p}


def check_catalog_fields(table: dict[str, dict], night: int) -> None:
    """Every field the SBT format carries is stored as the catalog says."""
    for truck in listings_on(CATALOG, "sbtjapan", night):
        row = table[truck.listing_id]
        attributes = json.loads(row["attributes"])
        assert attributes["Model Code"] == truck.model_code, truck.key
        assert attributes["Chassis No."].startswith(truck.model_code.split("-")[1])  # detail page
        assert row["drive_raw"] == ("4WD" if truck.is_4wd else "2WD")
        assert row["transmission_raw"] == ("MT" if truck.transmission == "manual" else "AT")
        assert row["mileage_raw"] == f"{truck.mileage:,}km"
        assert row["year_raw"] == (
            f"{truck.year}/{truck.month}" if truck.month else str(truck.year)
        )
        assert row["location_raw"] == truck.location
        assert row["seller_type"] == truck.seller_type
        assert attributes["Engine"] == f"{truck.engine_cc}cc"
        assert (row["model_code"], row["is_4wd"]) == (
            truck.model_code.split("-")[1],
            int(truck.is_4wd),
        )
        if truck.nights[night].status == "active":
            assert row["total_price_raw"] == f"{truck.totals[night]:,}"
            assert row["destination_port"] == truck.destination_port.upper()
            assert row["price_basis"] == "fob"
            assert attributes["price_condition"] == "C&F"
            assert attributes["Freight"]  # the breakdown, from the detail page


@pytest.mark.slow
def test_sample_nights_end_to_end(sample_root, crawl, tmp_path):
    db = tmp_path / "sbt.db"
    with SampleServer(sample_root, night=1) as server:
        result = crawl("sbtjapan", server, NIGHTS[0], db=db)
        assert result.returncode == 0, result.stderr_tail
        night1 = {i: (r["title"], r["price_raw"], r["status"]) for i, r in stored_rows(db).items()}
        assert night1 == expected(0)
        assert detail_ids(server.requests) == set(expected(0))  # a fresh database knows nothing
        check_catalog_fields(stored_rows(db), 0)
        (run,) = rows(db, "SELECT * FROM runs WHERE source = 'sbtjapan'")
        assert (run["finish_reason"], run["complete"], run["healthy"]) == ("finished", 1, 1)

        server.night, seen = 3, len(server.requests)
        assert crawl("sbtjapan", server, NIGHTS[2], db=db).returncode == 0
        details = detail_ids(server.requests[seen:])
    night3 = expected(2)
    repriced = {
        i
        for i, (_, price, status) in night3.items()
        if i in night1 and status == "active" and night1[i][1] != price
    }
    assert repriced
    sold = {i for i, v in night3.items() if v[2] == "sold"}
    assert sold
    assert details == (set(night3) - set(night1) - sold) | repriced
    rows3 = stored_rows(db)
    for listing_id, (title, price, status) in night3.items():
        row = rows3[listing_id]
        assert (row["title"], row["price_raw"], row["status"]) == (title, price, status), listing_id
    check_catalog_fields(rows3, 2)  # known trucks keep what their detail page gave on night 1
    gone = set(night1) - set(night3)
    assert gone
    assert {rows3[i]["status"] for i in gone} == {"gone"}


@pytest.mark.slow
def test_a_challenge_page_stops_the_run_as_blocked(sample_root, crawl, tmp_path):
    db = tmp_path / "sbt.db"
    with SampleServer(sample_root, night=1) as server:
        target = "/sbtjapan/www" + search_path(8, "HIJET-TRUCK")
        body = (
            b"<html><head><title>Just a moment...</title></head><body>"
            + b"." * 9000
            + b"</body></html>"
        )
        server.override(target, status=200, body=body)
        result = crawl("sbtjapan", server, NIGHTS[0], db=db)
    assert result.returncode == 0, result.stderr_tail
    (run,) = rows(db, "SELECT * FROM runs WHERE source = 'sbtjapan'")
    assert (run["finish_reason"], run["blocked_reason"], run["complete"]) == (
        "blocked",
        "missing_anchor",
        0,
    )

"""Craigslist spider and sample pages: requests, callbacks, the stored-copy skip, end to end.

Callbacks are driven directly with our own fixture pages (tests/fixtures/craigslist/) and small
JSON answers built here; the end-to-end test renders the sample Craigslist answers and posting
pages from the catalog into a temporary folder, serves them on 127.0.0.1 and crawls three nights
through Scrapy into one temporary database.
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import parse_qs, urlsplit

import pytest
import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, TextResponse
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from keitrucks.core.config import DEFAULT_CONFIG
from keitrucks.crawl import run_crawl
from keitrucks.sample import render_craigslist as render_cl
from keitrucks.sample.catalog import NIGHTS, build_catalog, listings_on
from keitrucks.sample.site import SampleServer, normalize_target, write_night
from scrapers.items import Listing
from scrapers.parsers import craigslist
from scrapers.spiders.craigslist import CraigslistSpider, Search, restorable, restore, unchanged
from tests.conftest import FIXTURES, response_for, rows

HERE = FIXTURES / "craigslist"
AS_OF = "2026-11-24T06:00:00+00:00"
BASE = "http://127.0.0.1:8765"
CONFIG = DEFAULT_CONFIG["sources"]["craigslist"]
KNOX = Search("knoxville", "kei", "owner")
CATALOG = build_catalog()


def make_spider(settings: dict | None = None, **kwargs) -> CraigslistSpider:
    crawler = get_crawler(CraigslistSpider, settings or {})
    return CraigslistSpider.from_crawler(crawler, as_of=AS_OF, **kwargs)


def stat(spider, key: str):
    return spider.crawler.stats.get_value(f"keitrucks/{key}")


def start_requests_of(spider) -> list[scrapy.Request]:
    async def collect():
        return [r async for r in spider.start()]

    return asyncio.run(collect())


def split(outputs) -> tuple[list[Listing], list[scrapy.Request]]:
    outputs = list(outputs)
    return (
        [o for o in outputs if isinstance(o, Listing)],
        [o for o in outputs if isinstance(o, scrapy.Request)],
    )


def fixture(name: str, url: str = "https://sapi.craigslist.org/web/v8/postings/search/full"):
    return response_for(HERE / name, url)


def api(payload: dict, url: str = "https://sapi.craigslist.org/web/v8/postings/search/full"):
    return TextResponse(url=url, body=json.dumps(payload).encode(), encoding="utf-8")


def full_answer(count: int, total: int | None = None, first_id: int = 0) -> dict:
    """A search/full answer with ``count`` plain items."""
    items = [
        [
            first_id + n,
            n,
            145,
            5000 + n,
            "1:1~35.96~-83.92",
            "0CI0t2",
            [13, f"uuid{first_id + n:018d}"],
            [6, f"slug-{n}"],
            [10, f"${5000 + n:,}"],
            f"Suzuki Carry {n}",
        ]
        for n in range(count)
    ]
    return {
        "data": {
            "areas": {"261": {"currency": "USD"}},
            "cacheTs": 1795499880,
            "decode": {
                "locationDescriptions": [0, "Knoxville"],
                "locations": [0, [261, "knoxville"]],
                "minPostedDate": 1795400000,
                "minPostingId": 7968000000,
            },
            "items": items,
            "totalResultCount": count if total is None else total,
        },
        "errors": [],
    }


def search_listing(**kwargs) -> Listing:
    fields = dict(
        source="craigslist",
        listing_id="7968916123",
        url="https://www.craigslist.org/view/d/knoxville-1995-suzuki-carry-4x4-mini/Kx3vQm8LrT2pWn5YhB7cDe",
        price_raw="$7,800",
        posted_raw="2026-11-24T01:04:10+00:00",
        title="1995 Suzuki Carry 4x4 mini truck",
    )
    return Listing(**{**fields, **kwargs})


# --- start and configuration -------------------------------------------------------------------


def test_start_searches_every_area_query_and_purveyor():
    spider = make_spider()
    requests = start_requests_of(spider)
    expected = len(CONFIG["areas"]) * len(CONFIG["queries"]) * len(CONFIG["purveyors"])
    assert len(requests) == expected == 108
    first = requests[0]
    parts = urlsplit(first.url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "sapi.craigslist.org",
        "/web/v8/postings/search/full",
    )
    assert parse_qs(parts.query) == {
        "batch": ["0-0-360-0-0"],
        "cat": ["cta"],
        "cc": ["us"],
        "lang": ["en"],
        "purveyor": ["owner"],
        "query": ["kei"],
        "searchPath": ["area/knoxville"],
    }
    for request in requests:
        assert request.meta == {"expect": "json"}
        assert request.errback == spider.request_failed


def test_every_search_the_spider_sends_is_a_sample_route():
    spider = make_spider(base_url=BASE)
    sent = {normalize_target(r.url.removeprefix(BASE)) for r in start_requests_of(spider)}
    routes = {
        normalize_target(route.target)
        for route in render_cl.render(CATALOG, 0)
        if "/sapi/" in route.target
    }
    assert sent == routes


def test_request_budget_covers_the_searches_and_a_posting_allowance():
    assert make_spider().request_budget == 108 + 150
    spider = make_spider()
    spider.source_config = {**spider.source_config, "request_budget": 40}
    assert spider.request_budget == 40


def test_search_scope_is_what_was_searched():
    spider = make_spider()
    assert spider.search_scope() == {k: CONFIG[k] for k in ("areas", "queries", "purveyors")}


# --- search answers ----------------------------------------------------------------------------


def test_full_answer_requests_each_posting_page_once():
    spider = make_spider()
    listings, requests = split(spider.parse_full(fixture("api_full.json"), search=KNOX))
    assert listings == []
    assert [r.cb_kwargs["listing"].listing_id for r in requests] == [
        "7968916123",
        "7968914210",
        "7968913500",
        "7968912000",
    ]
    first = requests[0]
    assert (
        first.url
        == "https://www.craigslist.org/view/d/knoxville-1995-suzuki-carry-4x4-mini/Kx3vQm8LrT2pWn5YhB7cDe"
    )
    assert first.meta == {"expect": "html", "anchor": "post id:"}
    assert first.errback == spider.posting_failed
    again = Search("knoxville", "mini truck", "owner")
    assert list(spider.parse_full(fixture("api_full.json"), search=again)) == []


def test_posting_pages_are_requested_under_the_sample_base_url():
    spider = make_spider(base_url=BASE)
    _, requests = split(spider.parse_full(fixture("api_full.json"), search=KNOX))
    assert requests[0].url == (
        f"{BASE}/craigslist/www/view/d/knoxville-1995-suzuki-carry-4x4-mini/Kx3vQm8LrT2pWn5YhB7cDe"
    )


def test_an_empty_search_is_not_an_error():
    spider = make_spider()
    assert list(spider.parse_full(fixture("api_full_empty.json"), search=KNOX)) == []
    assert stat(spider, "empty_page") is None


def test_results_reported_but_none_read_is_an_empty_page():
    spider = make_spider()
    answer = full_answer(0, total=12)
    assert list(spider.parse_full(api(answer), search=KNOX)) == []
    assert stat(spider, "empty_page") == 1


def test_unreadable_items_are_counted():
    spider = make_spider()
    answer = full_answer(2)
    answer["data"]["items"].append(["not", "an", "item"])
    _, requests = split(spider.parse_full(api(answer), search=KNOX))
    assert len(requests) == 2
    assert stat(spider, "item_unparsed") == 1
    assert stat(spider, "empty_page") == 1  # the run missed a result: nothing may go gone


def test_unreadable_paging_answers_make_the_run_incomplete():
    spider = make_spider()
    bad = api({"data": {"cacheId": ""}})
    assert list(spider.parse_paging_setup(bad, search=KNOX, cache_ts=1, total=900)) == []
    assert stat(spider, "empty_page") == 1


def test_json_of_the_wrong_shape_falls_back_to_the_static_page():
    spider = make_spider()
    outputs = list(spider.parse_full(api({"data": {"results": []}}), search=KNOX))
    assert len(outputs) == 1
    request = outputs[0]
    parts = urlsplit(request.url)
    assert (parts.netloc, parts.path) == ("www.craigslist.org", "/search/area/knoxville")
    assert parse_qs(parts.query) == {"cat": ["cta"], "purveyor": ["owner"], "query": ["kei"]}
    assert request.callback == spider.parse_static
    assert request.meta["expect"] == "html"
    assert stat(spider, "unexpected_shape") == 1


def test_static_fallback_reads_each_row_through_its_posting_page():
    spider = make_spider()
    response = fixture("search_static.html", "https://www.craigslist.org/search/area/knoxville")
    listings, requests = split(spider.parse_static(response, search=KNOX))
    assert listings == []
    assert len(requests) == 5
    uuid_row = requests[0].cb_kwargs["listing"]
    assert uuid_row.listing_id == "Kx3vQm8LrT2pWn5YhB7cDe"
    page = fixture("posting_kei_truck.html", requests[0].url)
    (merged,) = spider.parse_posting(page, listing=uuid_row)
    assert merged.listing_id == "7968916123"
    assert merged.year_raw == "1995"
    assert stat(spider, "static_fallback") == 1


def test_a_static_page_without_results_list_is_an_error():
    spider = make_spider()
    response = HtmlResponse(url="https://www.craigslist.org/x", body=b"<html><body></body></html>")
    assert list(spider.parse_static(response, search=KNOX)) == []
    assert stat(spider, "empty_page") == 1


# --- paging ------------------------------------------------------------------------------------


def test_a_full_first_page_sets_up_paging():
    spider = make_spider()
    outputs = list(spider.parse_full(api(full_answer(360, total=2000)), search=KNOX))
    paging = [r for r in outputs if r.callback == spider.parse_paging_setup]
    assert len(paging) == 1
    query = parse_qs(urlsplit(paging[0].url).query)
    assert query["batch"] == ["0-1795499880-0-1-0"]
    assert query["query"] == ["kei"]
    assert len(outputs) == 361


def test_a_short_first_page_does_not_page():
    spider = make_spider()
    outputs = list(spider.parse_full(api(full_answer(359)), search=KNOX))
    assert all(r.callback == spider.parse_posting for r in outputs)


def test_batches_follow_until_the_total_is_reached():
    spider = make_spider()
    setup_answer = api({"data": {"cacheId": "c1", "maxPostedTs": 1795482250}})
    (batch_request,) = spider.parse_paging_setup(
        setup_answer, search=KNOX, cache_ts=1795499880, total=2000
    )
    parts = urlsplit(batch_request.url)
    assert parts.path == "/web/v8/postings/search/batch"
    assert parse_qs(parts.query) == {
        "batch": ["0-0-1080-1-0-1795482250-1795499880"],
        "cacheId": ["c1"],
        "cc": ["us"],
        "lang": ["en"],
    }
    batch = {
        "data": {
            "batch": [[n, f"Carry {n}", [], [13, f"u{n:021d}"], [6, "s"]] for n in range(1080)],
            "minPostingId": 7960000000,
        }
    }
    outputs = list(spider.parse_batch(api(batch), **batch_request.cb_kwargs))
    following = [r for r in outputs if r.callback == spider.parse_batch]
    assert len(following) == 1
    assert parse_qs(urlsplit(following[0].url).query)["batch"] == [
        "0-1080-1080-1-0-1795482250-1795499880"
    ]
    last = list(spider.parse_batch(api(batch), **following[0].cb_kwargs))
    assert not [r for r in last if r.callback == spider.parse_batch]  # 2160 >= total 2000


# --- posting pages -----------------------------------------------------------------------------


def test_posting_page_completes_the_search_result():
    spider = make_spider()
    search = craigslist.parse_search_full(fixture("api_full.json"), AS_OF).listings[0]
    page = fixture("posting_kei_truck.html", search.url)
    (merged,) = spider.parse_posting(page, listing=search)
    assert merged.listing_id == "7968916123"
    assert merged.url == search.url
    assert (merged.year_raw, merged.drive_raw, merged.mileage_raw) == ("1995", "4wd", "48,200")
    assert merged.location_raw == "Knoxville"
    assert merged.latitude == 35.9606
    assert merged.description.startswith("1995 Suzuki Carry DD51T")


def test_a_page_for_another_posting_keeps_the_search_result():
    spider = make_spider()
    search = search_listing(listing_id="7968000001")
    (kept,) = spider.parse_posting(fixture("posting_kei_truck.html", search.url), listing=search)
    assert kept == search
    assert stat(spider, "posting_mismatch") == 1


def test_an_unreadable_posting_page_keeps_the_search_result():
    spider = make_spider()
    search = search_listing()
    page = HtmlResponse(url=search.url, body=b"<html><body>post id: none</body></html>")
    assert list(spider.parse_posting(page, listing=search)) == [search]
    assert stat(spider, "posting_unparsed") == 1


def test_a_failed_posting_page_still_yields_the_search_result():
    spider = make_spider()
    search = search_listing()
    failure = Failure(IgnoreRequest("blocked"))
    failure.request = spider.posting_request(search)
    assert list(spider.posting_failed(failure)) == [search]
    assert stat(spider, "request_failed") == 1


def test_a_failed_page_of_a_uuid_only_row_yields_nothing():
    spider = make_spider()
    row = search_listing(listing_id="Kx3vQm8LrT2pWn5YhB7cDe")
    failure = Failure(IgnoreRequest("timeout"))
    failure.request = spider.posting_request(row)
    assert list(spider.posting_failed(failure)) == []
    assert stat(spider, "posting_lost") == 1


# --- the stored-copy skip ----------------------------------------------------------------------


def stored_row(**kwargs) -> dict:
    row = dict(
        listing_id="7968916123",
        status="active",
        price_raw="$7,800",
        posted_raw="2026-11-23T20:04:10-0500",
        attributes=json.dumps(
            {
                "year": "1995",
                "makemodel": "suzuki carry",
                "drive": "4wd",
                "odometer": "48,200",
                "transmission": "manual",
            }
        ),
        description="1995 Suzuki Carry DD51T, 4x4.",
        repost_of=None,
        location_raw="Knoxville",
    )
    return {**row, **kwargs}


@pytest.mark.parametrize(
    ("row", "listing", "expected"),
    [
        (stored_row(), search_listing(), True),
        (stored_row(price_raw="$8,200"), search_listing(), False),
        (stored_row(price_raw="7800"), search_listing(), True),
        (stored_row(status="gone"), search_listing(), False),
        (None, search_listing(), False),
        (stored_row(), search_listing(posted_raw="2026-11-24T09:00:00+00:00"), False),
        (
            stored_row(attributes=json.dumps({"updated": "2026-11-24T08:31:55-0500"})),
            search_listing(posted_raw="2026-11-24T09:00:00+00:00"),
            True,
        ),
    ],
    ids=["same", "new-price", "price-forms", "gone", "unknown", "newer-time", "updated-later"],
)
def test_unchanged(row, listing, expected):
    assert unchanged(row, listing) is expected


def test_restore_completes_the_search_result_from_the_stored_page_fields():
    restored = restore(search_listing(image_urls=["new.jpg"]), stored_row())
    assert (restored.year_raw, restored.make_model_raw, restored.drive_raw) == (
        "1995",
        "suzuki carry",
        "4wd",
    )
    assert (restored.mileage_raw, restored.transmission_raw) == ("48,200", "manual")
    assert restored.description == "1995 Suzuki Carry DD51T, 4x4."
    assert restored.posted_raw == "2026-11-23T20:04:10-0500"
    assert (restored.price_raw, restored.image_urls) == ("$7,800", ["new.jpg"])


def test_stored_copies_skip_unchanged_pages_and_refetch_changed_ones(tmp_path):
    db = tmp_path / "known.db"
    db.write_bytes(b"")
    known = {
        "7968916123": stored_row(),
        "7968914210": stored_row(listing_id="7968914210", price_raw="$4,900"),
    }
    spider = make_spider(
        {"KEITRUCKS_DB_PATH": str(db), "KEITRUCKS_KNOWN_LISTINGS": lambda path, source: known}
    )
    start_requests_of(spider)
    listings, requests = split(spider.parse_full(fixture("api_full.json"), search=KNOX))
    assert [x.listing_id for x in listings] == ["7968916123"]
    assert listings[0].year_raw == "1995"
    assert listings[0].description
    assert [r.cb_kwargs["listing"].listing_id for r in requests] == [
        "7968914210",
        "7968913500",
        "7968912000",
    ]
    assert stat(spider, "posting_unchanged") == 1


def test_stored_copies_without_page_fields_are_not_used(tmp_path):
    db = tmp_path / "known.db"
    db.write_bytes(b"")
    partial = {"7968916123": {"listing_id": "7968916123", "price_raw": "$7,800"}}
    assert not restorable(partial["7968916123"])
    spider = make_spider(
        {"KEITRUCKS_DB_PATH": str(db), "KEITRUCKS_KNOWN_LISTINGS": lambda path, source: partial}
    )
    start_requests_of(spider)
    assert spider.known == {}


def test_no_database_means_every_page_is_read(tmp_path):
    def must_not_read(path, source):
        pytest.fail("must not read")

    spider = make_spider(
        {
            "KEITRUCKS_DB_PATH": str(tmp_path / "absent.db"),
            "KEITRUCKS_KNOWN_LISTINGS": must_not_read,
        }
    )
    start_requests_of(spider)
    assert spider.known == {}


# --- the sample renderer -----------------------------------------------------------------------


@pytest.mark.parametrize("night", range(len(NIGHTS)))
def test_every_sample_listing_is_found_by_some_search(night):
    found: set[str] = set()
    routes = render_cl.render(CATALOG, night)
    for route in routes:
        if "/sapi/" in route.target:
            page = craigslist.parse_search_full(api(json.loads(route.body)), AS_OF)
            assert page.total == len(page.listings) == page.item_count
            found |= {x.listing_id for x in page.listings}
    shown = listings_on(CATALOG, "craigslist", night)
    assert found == {t.listing_id for t in shown}
    postings = [r for r in routes if "/www/view/d/" in r.target]
    assert len(postings) == len(shown)
    assert len(routes) == 108 + len(shown)


def test_sample_search_answers_hold_matching_listings_only():
    routes = {r.target: r for r in render_cl.render(CATALOG, 1)}
    target = render_cl.search_target("asheville", "hijet", "owner")
    page = craigslist.parse_search_full(api(json.loads(routes[target].body)), AS_OF)
    by_id = {t.listing_id: t for t in CATALOG}
    assert page.listings
    for listing in page.listings:
        truck = by_id[listing.listing_id]
        assert render_cl.area_of(truck) == "asheville"
        assert truck.seller_type == "owner"
        assert "hijet" in f"{truck.title} {truck.description}".lower()
        assert listing.title == truck.title
        assert listing.price_raw == f"${truck.nights[1].price:,}"


def test_sample_posting_pages_carry_the_catalog_fields():
    km_truck = next(t for t in CATALOG if t.source == "craigslist" and t.mileage_unit == "km")
    two_wd = next(t for t in CATALOG if t.source == "craigslist" and t.is_4wd is False)
    wanted = next(t for t in CATALOG if t.kind == "wanted")
    repost = next(t for t in CATALOG if t.repost_of)
    for truck in (km_truck, two_wd, wanted, repost):
        night = next(n for n, s in enumerate(truck.nights) if s is not None)
        url = f"https://www.craigslist.org{render_cl.posting_path(truck)}"
        page = HtmlResponse(url=url, body=render_cl.posting_page(truck, night).encode())
        listing = craigslist.parse_posting(page, AS_OF)
        assert listing.listing_id == truck.listing_id
        assert (listing.title, listing.description) == (truck.title, truck.description)
        assert listing.location_raw == truck.location
        assert listing.repost_of == truck.repost_of
        assert listing.seller_type == truck.seller_type
        price = truck.nights[night].price
        assert listing.price_raw == (f"${price:,}" if price is not None else None)
    assert (
        craigslist.parse_posting(
            HtmlResponse(url="https://x", body=render_cl.posting_page(km_truck, 0).encode())
        ).mileage_raw
        is None
    )
    two_wd_night = next(n for n, s in enumerate(two_wd.nights) if s is not None)
    assert (
        craigslist.parse_posting(
            HtmlResponse(
                url="https://x", body=render_cl.posting_page(two_wd, two_wd_night).encode()
            )
        ).drive_raw
        == "rwd"
    )


def test_sample_uuids_are_stable_and_times_fit_the_nights():
    truck = next(t for t in CATALOG if t.key == "cl-040")  # new on night 2
    assert render_cl.posting_uuid(truck.listing_id) == render_cl.posting_uuid(truck.listing_id)
    assert len(render_cl.posting_uuid(truck.listing_id)) == 22
    posted = render_cl.posted_at(truck).isoformat()
    assert f"{NIGHTS[0]}T06:00:00+00:00" < posted < f"{NIGHTS[1]}T06:00:00+00:00"
    dropped = next(t for t in CATALOG if t.key == "cl-steal-2")  # price drop on night 3
    assert render_cl.updated_at(dropped, 1) is None
    changed = render_cl.updated_at(dropped, 2).isoformat()
    assert f"{NIGHTS[1]}T06:00:00+00:00" < changed < f"{NIGHTS[2]}T06:00:00+00:00"


# --- end to end --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def three_nights(tmp_path_factory):
    """Three sample nights crawled into one database: [(requests, listings rows, run row)]."""
    folder = tmp_path_factory.mktemp("craigslist")
    for night in range(len(NIGHTS)):
        write_night(render_cl.render(CATALOG, night), folder / f"night{night + 1}")
    db = folder / "crawl.db"
    results = []
    with SampleServer(root=folder) as server:
        for night in range(len(NIGHTS)):
            server.night = night + 1
            server.requests.clear()
            result = run_crawl(
                "craigslist",
                db=db,
                base_url=server.base_url,
                as_of=NIGHTS[night],
                log_path=folder / f"night{night + 1}.log",
                timeout=300,
            )
            assert result.returncode == 0, result.stderr_tail
            listings = rows(db, "SELECT * FROM listings WHERE source = 'craigslist'")
            run = rows(db, "SELECT * FROM runs WHERE source = 'craigslist' ORDER BY id")[-1]
            results.append((list(server.requests), listings, run))
    return results


@pytest.mark.slow
@pytest.mark.parametrize("night", range(len(NIGHTS)))
def test_crawl_stores_exactly_the_nights_listings(three_nights, night):
    requests, listings, run = three_nights[night]
    assert (run["complete"], run["healthy"]) == (1, 1), run["health_reason"]
    shown = {t.listing_id: t for t in listings_on(CATALOG, "craigslist", night)}
    active = {r["listing_id"]: r for r in listings if r["status"] == "active"}
    assert set(active) == set(shown)
    for listing_id, truck in shown.items():
        row = active[listing_id]
        price = truck.nights[night].price
        assert row["title"] == truck.title, truck.key
        assert row["price_raw"] == (f"${price:,}" if price is not None else None), truck.key
        assert row["description"] == truck.description, truck.key
        assert row["location_raw"] == truck.location, truck.key
        assert row["seller_type"] == truck.seller_type, truck.key
        assert row["repost_of"] == truck.repost_of, truck.key
        assert row["year_raw"] == (str(truck.year) if truck.year else None), truck.key
        assert row["make_model_raw"] == truck.model, truck.key
        assert row["transmission_raw"] == truck.transmission, truck.key
        drive = None if truck.is_4wd is None else ("4wd" if truck.is_4wd else "rwd")
        assert row["drive_raw"] == drive, truck.key
        # a seller who types a km reading into the odometer field shows it as miles
        odometer_mi = truck.mileage_unit == "mi" or "km_as_miles" in truck.tags
        miles = f"{truck.mileage:,}" if truck.mileage and odometer_mi else None
        assert row["mileage_raw"] == miles, truck.key
    gone = {r["listing_id"] for r in listings if r["status"] == "gone"}
    ever = {t.listing_id for n in range(night + 1) for t in listings_on(CATALOG, "craigslist", n)}
    assert gone == ever - set(shown)
    searches = [r for r in requests if "/sapi/" in r]
    assert len(searches) == 108
    assert len([r for r in requests if "/www/view/d/" in r]) <= len(shown)

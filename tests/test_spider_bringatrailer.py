"""Bring a Trailer spider and sample pages: requests, callbacks, back-fill, and a crawl end to end.

Callbacks are driven directly with our own fixture pages (tests/fixtures/bringatrailer/); the
end-to-end test renders the sample Bring a Trailer pages from the catalog into a temporary
folder, serves them on 127.0.0.1 and crawls them through Scrapy into a temporary database.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import datetime

import pytest
import scrapy
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from keitrucks.sample import render_bringatrailer as render_bat
from keitrucks.sample.catalog import NIGHTS, build_catalog, listings_on
from keitrucks.sample.site import SampleServer, write_night
from scrapers.items import Listing
from scrapers.parsers import bringatrailer as bat
from scrapers.spiders.bringatrailer import BringatrailerSpider, newly_finished
from tests.conftest import FIXTURES, response_for, rows

HERE = FIXTURES / "bringatrailer"
ACTY = "https://bringatrailer.com/honda/acty/"
MODELS = [
    "suzuki/carry",
    "suzuki/every",
    "honda/acty",
    "daihatsu/hijet",
    "subaru/sambar",
    "mitsubishi/minicab",
]
#: Two days after the fixture's newest completed auction (2026-11-21T20:00Z) minus 2 hours.
AS_OF = "2026-11-23T18:00:00+00:00"


def make_spider(**kwargs) -> BringatrailerSpider:
    crawler = get_crawler(BringatrailerSpider)
    return BringatrailerSpider.from_crawler(crawler, as_of=AS_OF, **kwargs)


def stat(spider, key: str):
    return spider.crawler.stats.get_value(f"keitrucks/{key}")


def start_requests_of(spider) -> list[scrapy.Request]:
    async def collect():
        return [r async for r in spider.start()]

    return asyncio.run(collect())


def model_response(name: str = "model_page", url: str = ACTY) -> HtmlResponse:
    return response_for(HERE / f"{name}.html", url)


def split(outputs) -> tuple[list[Listing], list[scrapy.Request]]:
    outputs = list(outputs)
    return (
        [o for o in outputs if isinstance(o, Listing)],
        [o for o in outputs if isinstance(o, scrapy.Request)],
    )


# ---- start ----


def test_start_requests_every_configured_model_page():
    spider = make_spider()
    requests = start_requests_of(spider)
    assert [r.url for r in requests] == [f"https://bringatrailer.com/{m}/" for m in MODELS]
    for request in requests:
        assert request.meta["expect"] == "html"
        assert request.meta["anchor"] == "auctionsCompletedInitialData"
        assert request.errback == spider.on_error


def test_start_under_a_sample_base_url():
    spider = make_spider(base_url="http://127.0.0.1:8765/")
    urls = [r.url for r in start_requests_of(spider)]
    assert urls[0] == "http://127.0.0.1:8765/bringatrailer/www/suzuki/carry/"
    assert spider.local("https://bringatrailer.com/listing/x-2/") == (
        "http://127.0.0.1:8765/bringatrailer/www/listing/x-2/"
    )


def test_nightly_budget_and_backfill_budget():
    assert make_spider().request_budget == 30
    spider = make_spider(backfill="1", backfill_pages="3")
    assert spider.request_budget == 30 + 3 * len(MODELS)
    assert spider.search_key != make_spider().search_key


# ---- model page ----


def test_model_page_yields_live_and_completed_and_fetches_just_finished():
    spider = make_spider()
    listings, requests = split(spider.parse_model_page(model_response(), model="honda/acty"))
    assert [x.listing_id for x in listings] == [
        "112500101",
        "112500202",
        "112400022",
        "112400033",
        "112400044",
    ]
    # only the auction that ended within 48 hours gets its listing page opened
    assert len(requests) == 1
    detail = requests[0]
    assert detail.url == "https://bringatrailer.com/listing/1997-honda-acty-9/"
    assert detail.cb_kwargs["base"].listing_id == "112400011"
    assert detail.method == "GET"
    assert stat(spider, "empty_page") is None
    assert stat(spider, "bringatrailer/item_without_id") == 1


def test_no_backfill_unless_asked():
    _, requests = split(make_spider().parse_model_page(model_response(), model="honda/acty"))
    assert all(r.method == "GET" for r in requests)


def test_backfill_posts_to_listings_filter_with_nonce_and_base_filter():
    spider = make_spider(backfill="1")
    _, requests = split(spider.parse_model_page(model_response(), model="honda/acty"))
    (post,) = [r for r in requests if r.method == "POST"]
    assert post.url == "https://bringatrailer.com/wp-json/bringatrailer/1.0/data/listings-filter"
    assert post.headers["X-WP-Nonce"] == b"a1b2c3d4e5"
    assert post.headers["Content-Type"] == b"application/json"
    assert post.meta["expect"] == "json"
    assert json.loads(post.body) == {
        "page": 1,
        "per_page": 48,
        "get_items": 1,
        "sort": "td",
        "base_filter": {"keyword_pages": [60012345, 60012399]},
    }


def test_backfill_pages_until_the_last_or_the_page_budget():
    spider = make_spider(backfill="1", backfill_pages="5")
    _, requests = split(spider.parse_model_page(model_response(), model="honda/acty"))
    (post,) = [r for r in requests if r.method == "POST"]
    answer = response_for(HERE / "listings_filter.json", post.url)
    listings, more = split(spider.parse_backfill(answer, **{**post.cb_kwargs, "page": 1}))
    assert [x.listing_id for x in listings] == ["98700111", "98700222", "98700333"]
    assert [json.loads(r.body)["page"] for r in more] == [2]
    # the answer's last page (2 of 2) ends the back-fill
    assert split(spider.parse_backfill(answer, **{**post.cb_kwargs, "page": 2}))[1] == []
    # a page budget of 1 stops after the first page
    small = make_spider(backfill="1", backfill_pages="1")
    assert split(small.parse_backfill(answer, **{**post.cb_kwargs, "page": 1}))[1] == []


def test_backfill_answer_that_is_not_results_is_an_error():
    spider = make_spider(backfill="1")
    response = scrapy.http.TextResponse(
        "https://bringatrailer.com/wp-json/bringatrailer/1.0/data/listings-filter",
        body=b'{"code":"rest_cookie_invalid_nonce"}',
        encoding="utf-8",
    )
    state = {"model": "honda/acty"}
    assert list(spider.parse_backfill(response, state=state, page=1)) == []
    assert stat(spider, "empty_page") == 1


def test_empty_model_page_is_not_an_error():
    spider = make_spider(backfill="1")
    url = "https://bringatrailer.com/suzuki/every/"
    outputs = list(spider.parse_model_page(model_response("model_page_empty", url), "suzuki/every"))
    assert outputs == []
    assert stat(spider, "empty_page") is None


def test_model_page_without_its_data_is_a_layout_change():
    spider = make_spider()
    broken = HtmlResponse(
        ACTY, body=b"<html><script>var auctionsCompletedInitialData = {oops</script>"
    )
    assert list(spider.parse_model_page(broken, model="honda/acty")) == []
    assert stat(spider, "empty_page") == 1


def test_model_page_reporting_results_but_listing_none_is_a_layout_change():
    spider = make_spider()
    body = (HERE / "model_page.html").read_text(encoding="utf-8")
    start = body.index('"items":[') + len('"items":')
    end = body.index(',"items_per_page"')
    response = HtmlResponse(
        ACTY, body=(body[:start] + "[]" + body[end:]).encode(), encoding="utf-8"
    )
    listings, _ = split(spider.parse_model_page(response, model="honda/acty"))
    assert [x.status_raw for x in listings] == ["live", "live"]
    assert stat(spider, "empty_page") == 1


def test_a_listing_seen_on_two_model_pages_is_yielded_once():
    spider = make_spider()
    first, _ = split(spider.parse_model_page(model_response(), model="honda/acty"))
    again, requests = split(spider.parse_model_page(model_response(), model="honda/acty"))
    assert first
    assert again == []
    assert requests == []


# ---- listing pages ----


def detail_request(spider) -> scrapy.Request:
    _, requests = split(spider.parse_model_page(model_response(), model="honda/acty"))
    return requests[0]


def test_listing_page_completes_the_model_page_listing():
    spider = make_spider()
    request = detail_request(spider)
    response = response_for(HERE / "listing_4wd.html", request.url)
    (listing,) = spider.parse_listing(response, **request.cb_kwargs)
    assert listing.listing_id == "112400011"
    assert (listing.drive_raw, listing.transmission_raw) == (
        "Selectable 4WD",
        "Five-Speed Manual Transmission",
    )
    assert (listing.price_raw, listing.price_basis) == ("USD $9,400", "sold")
    assert stat(spider, "bringatrailer/details") == 1


def test_listing_page_of_another_auction_keeps_the_model_page_facts():
    spider = make_spider()
    request = detail_request(spider)
    response = response_for(HERE / "listing_missing.html", request.url)
    (listing,) = spider.parse_listing(response, **request.cb_kwargs)
    assert listing is request.cb_kwargs["base"]
    assert stat(spider, "bringatrailer/listing_page_mismatch") == 1


def test_failed_listing_page_still_yields_the_listing_and_marks_the_run():
    spider = make_spider()
    request = detail_request(spider)
    failure = Failure(ConnectionRefusedError("refused"))
    failure.request = request
    assert list(spider.on_listing_error(failure)) == [request.cb_kwargs["base"]]
    assert stat(spider, "request_failed") == 1


@pytest.mark.parametrize(
    ("status_raw", "ended", "expected"),
    [
        ("sold", "2026-11-22T06:00:00+00:00", True),
        ("ended", "2026-11-21T19:00:00+00:00", True),
        ("sold", "2026-11-21T17:59:00+00:00", False),  # 48 h and a minute before
        ("sold", "2026-11-24T06:00:00+00:00", False),  # after as-of: not finished yet
        ("live", "2026-11-23T06:00:00+00:00", False),
    ],
)
def test_newly_finished(status_raw, ended, expected):
    end = int(datetime.fromisoformat(ended).timestamp())
    listing = Listing(
        "bringatrailer", "1", "u", status_raw=status_raw, attributes={"timestamp_end": str(end)}
    )
    assert newly_finished(listing, AS_OF, 48) is expected


def test_detail_requests_are_capped():
    spider = make_spider()
    spider.detail_limit = 0
    listings, requests = split(spider.parse_model_page(model_response(), model="honda/acty"))
    assert requests == []
    assert len(listings) == 6
    assert stat(spider, "bringatrailer/details_over_limit") == 1


# ---- the sample pages ----


@pytest.fixture(scope="module")
def catalog():
    return build_catalog()


@pytest.mark.parametrize("night", [0, 1, 2])
def test_sample_pages_show_exactly_the_nights_listings(catalog, night):
    routes = render_bat.render(catalog, night)
    targets = [r.target for r in routes]
    assert len(targets) == len(set(targets))
    seen: list[Listing] = []
    for route in routes:
        if "/listing/" in route.target:
            continue
        response = HtmlResponse(f"http://127.0.0.1:1{route.target}", body=route.body)
        page = bat.parse_model_page(response, NIGHTS[night])
        assert page.completed is not None
        assert page.toolbar.rest_nonce
        assert page.completed.items_total == len(page.completed.listings)
        seen += page.completed.listings + page.live
    expected = listings_on(catalog, "bringatrailer", night)
    by_id = {x.listing_id: x for x in seen}
    assert sorted(by_id) == sorted(t.listing_id for t in expected)
    assert len(seen) == len(by_id)  # each truck on exactly one page
    for truck in expected:
        listing = by_id[truck.listing_id]
        state = truck.nights[night]
        assert listing.title == truck.title
        assert listing.price_raw == f"USD ${state.price:,}"
        assert (
            listing.status_raw == {"active": "live", "sold": "sold", "ended": "ended"}[state.status]
        )
        assert listing.description == truck.description
        assert listing.location_raw == truck.location
        assert listing.attributes["timestamp_end"] == str(truck.auction_end)


def test_sample_pages_place_twins_and_the_toy(catalog):
    routes = {r.target: r for r in render_bat.render(catalog, 0)}
    carry = routes["/bringatrailer/www/suzuki/carry/"].body.decode()
    sambar = routes["/bringatrailer/www/subaru/sambar/"].body.decode()
    assert "Mazda Scrum" in carry
    assert "1:18 Scale Subaru Sambar Truck Model" in sambar
    every = HtmlResponse(
        "http://127.0.0.1:1/bringatrailer/www/suzuki/every/",
        body=routes["/bringatrailer/www/suzuki/every/"].body,
    )
    page = bat.parse_model_page(every, NIGHTS[0])
    assert (page.completed.listings, page.completed.items_total, page.live) == ([], 0, [])


def test_sample_listing_pages_carry_the_trucks_facts(catalog):
    night = 2
    truck = next(t for t in catalog if t.key == "bat-011")
    routes = {r.target: r for r in render_bat.render(catalog, night)}
    slug = render_bat.slugs(catalog)[truck.listing_id]
    body = routes[f"/bringatrailer/www/listing/{slug}/"].body
    listing = bat.parse_listing_page(HtmlResponse("http://127.0.0.1:1/x", body=body), None)
    assert listing.listing_id == truck.listing_id
    assert listing.mileage_raw == f"{truck.mileage // 1000}k Miles Shown"
    assert listing.drive_raw == ("Part-Time 4WD" if truck.is_4wd else "Rear-Wheel Drive")
    assert listing.transmission_raw == "Five-Speed Manual Transaxle"
    assert listing.attributes["Engine"] == f"{truck.engine_cc}cc Three-Cylinder"
    assert listing.seller_type == "Private Party"
    assert (listing.price_raw, listing.status_raw) == (
        f"USD ${truck.nights[night].price:,}",
        "sold",
    )


# ---- end to end ----


@pytest.mark.slow
def test_crawl_sample_nights_into_the_database(tmp_path, crawl, catalog):
    root = tmp_path / "sample"
    for night in range(len(NIGHTS)):
        write_night(render_bat.render(catalog, night), root / f"night{night + 1}")
    db = tmp_path / "bat.db"
    with SampleServer(root) as server:
        for night in (0, 2):
            server.night = night + 1
            result = crawl("bringatrailer", server, NIGHTS[night], db=db)
            assert result.returncode == 0, result.stderr_tail
            expected = {t.listing_id: t for t in listings_on(catalog, "bringatrailer", night)}
            stored = {
                r["listing_id"]: r
                for r in rows(db, "SELECT * FROM listings WHERE source = 'bringatrailer'")
            }
            assert set(stored) == set(expected)
            for lid, truck in expected.items():
                state = truck.nights[night]
                assert stored[lid]["title"] == truck.title
                assert stored[lid]["price_raw"] == f"USD ${state.price:,}"
                assert stored[lid]["status"] == state.status
            run = rows(db, "SELECT * FROM runs WHERE source = 'bringatrailer' ORDER BY id DESC")[0]
            assert (run["complete"], run["healthy"], run["items"]) == (1, 1, len(expected))
        # night 3: the three auctions that ended since night 2 got their listing pages read
        finished = [t for t in expected.values() if t.key in ("bat-011", "bat-012", "bat-013")]
        for truck in finished:
            row = stored[truck.listing_id]
            assert row["mileage_raw"] == f"{truck.mileage // 1000}k Miles Shown"
            assert row["drive_raw"] == ("Part-Time 4WD" if truck.is_4wd else "Rear-Wheel Drive")
        listing_hits = Counter("/listing/" in path for path in server.requests)
        assert listing_hits[True] == 1 + len(finished)  # night 1: one auction ended 2 days ago

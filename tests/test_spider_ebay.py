"""eBay spider and sample pages: both modes, the item-call skip, budgets, end to end.

Callbacks are driven directly with our own fixture pages (tests/fixtures/ebay/) and small
answers built here. The end-to-end tests render the sample eBay answers and pages from
``keitrucks.sample.trucks_ebay`` into a temporary folder, serve them on 127.0.0.1 and crawl
them through Scrapy into temporary databases: three nights through the Browse API (fake
credentials in the subprocess environment), and the HTML fallback for a night and for a night
that meets a challenge page.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
from urllib.parse import parse_qs, urlsplit

import pytest
import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, TextResponse
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from keitrucks.crawl import run_crawl
from keitrucks.sample import render_ebay
from keitrucks.sample.catalog import NIGHTS, listings_on
from keitrucks.sample.site import SampleServer, write_night
from keitrucks.sample.trucks_ebay import trucks
from scrapers.items import Listing
from scrapers.parsers import ebay
from scrapers.spiders.ebay import (
    EbaySpider,
    api_search_path,
    carry_forward,
    has_detail,
    html_search_path,
    local_path,
)
from tests.conftest import FIXTURES, response_for, rows

HERE = FIXTURES / "ebay"
AS_OF = "2026-11-24T06:00:00+00:00"
BASE = "http://127.0.0.1:8765"
CATALOG = trucks(random.Random("2026-ebay"))
QUERIES = EbaySpider.default_config["queries"]
CLIENT_ID, CLIENT_SECRET = "KeiTruck-Sample-PRD-0123456789", "PRD-sample-secret-4f1e"


@pytest.fixture
def api_mode(monkeypatch):
    monkeypatch.setenv("EBAY_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("EBAY_CLIENT_SECRET", CLIENT_SECRET)


@pytest.fixture
def html_mode(monkeypatch):
    monkeypatch.delenv("EBAY_CLIENT_ID", raising=False)
    monkeypatch.delenv("EBAY_CLIENT_SECRET", raising=False)


def make_spider(settings: dict | None = None, **kwargs) -> EbaySpider:
    crawler = get_crawler(EbaySpider, settings or {})
    return EbaySpider.from_crawler(crawler, as_of=AS_OF, **kwargs)


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


def fixture(name: str, url: str | None = None) -> TextResponse:
    page = HERE / name
    meta = json.loads(page.with_name(f"{page.stem}.meta.json").read_text(encoding="utf-8"))
    return response_for(page, url or meta["url"])


def api(payload: dict, url: str = "https://api.ebay.com/buy/browse/v1/item_summary/search?q=x"):
    return TextResponse(url=url, body=json.dumps(payload).encode(), encoding="utf-8")


def token_answer() -> TextResponse:
    return api({"access_token": "v^1.1#sample-token", "expires_in": 7200}, "https://api.ebay.com/t")


def api_spider(settings: dict | None = None, **kwargs) -> EbaySpider:
    """A spider in API mode that already holds its token, with one open search ("kei truck")."""
    spider = make_spider(settings, **kwargs)
    start_requests_of(spider)
    list(spider.parse_token(token_answer()))
    spider._open_searches = {"kei truck"}
    return spider


def stored_row(**kwargs) -> dict:
    row = dict(
        listing_id="146201337780",
        status="active",
        price_raw="8750.00",
        location_raw="Maryville, TN, 377**, US",
        year_raw="1996",
        make_model_raw="Suzuki Carry",
        mileage_raw="41250",
        drive_raw="4WD",
        transmission_raw="Manual",
        description="1996 Suzuki Carry DD51T 4x4",
        seller_type="dealer",
        status_raw="IN_STOCK",
        attributes={"Year": "1996", "Make": "Suzuki", "VIN (Vehicle Identification Number)": "X"},
    )
    return {**row, **kwargs}


# --- start, modes and URLs ---------------------------------------------------------------------


def test_without_credentials_the_html_search_pages_are_read(html_mode):
    spider = make_spider()
    assert spider.mode == "html"
    requests = start_requests_of(spider)
    assert [r.url for r in requests][:2] == [
        "https://www.ebay.com/sch/i.html?_nkw=kei+truck&_sop=10&_ipg=60",
        "https://www.ebay.com/sch/i.html?_nkw=mini+truck&_sop=10&_ipg=60",
    ]
    assert len(requests) == len(QUERIES) == 7
    assert requests[0].meta["anchor"] == ebay.SEARCH_ANCHOR == "srp-results"
    assert requests[0].meta["expect"] == "html"
    assert spider.request_budget == 45


def test_with_credentials_a_token_is_asked_first(api_mode):
    spider = make_spider()
    (token,) = start_requests_of(spider)
    assert (token.method, token.url) == ("POST", "https://api.ebay.com/identity/v1/oauth2/token")
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert token.headers["Authorization"] == f"Basic {basic}".encode()
    assert parse_qs(token.body.decode()) == {
        "grant_type": ["client_credentials"],
        "scope": ["https://api.ebay.com/oauth/api_scope"],
    }
    assert token.meta["expect"] == "json"
    assert CLIENT_SECRET not in repr(token)
    assert CLIENT_SECRET not in repr(spider.__dict__)


def test_the_token_starts_one_search_per_query(api_mode):
    spider = make_spider()
    start_requests_of(spider)
    searches = list(spider.parse_token(token_answer()))
    assert len(searches) == 7
    first = searches[0]
    parts = urlsplit(first.url)
    assert (parts.netloc, parts.path) == ("api.ebay.com", "/buy/browse/v1/item_summary/search")
    assert parse_qs(parts.query) == {"q": ["kei truck"], "limit": ["200"], "sort": ["newlyListed"]}
    assert first.headers["Authorization"] == b"Bearer v^1.1#sample-token"
    assert first.headers["X-EBAY-C-MARKETPLACE-ID"] == b"EBAY_US"
    assert first.meta == {**first.meta, "expect": "json", "anchor": '"total"'}


def test_a_failed_token_request_is_an_error_without_searches(api_mode):
    spider = make_spider()
    (token,) = start_requests_of(spider)
    failure = Failure(IgnoreRequest("401"))
    failure.request = token
    assert spider.token_failed(failure) is None
    assert stat(spider, "request_failed") == 1
    unreadable = list(spider.parse_token(api({"error": "invalid_client"})))
    assert unreadable == []
    assert stat(spider, "empty_page") == 1


def test_category_and_aspect_filters():
    config = {
        "category_ids": ["6001"],
        "aspect_filter": {"Make": ["Suzuki", "Honda"]},
        "filter": "itemLocationCountry:US",
        "sort": "newlyListed",
    }
    query = parse_qs(urlsplit(api_search_path("kei truck", config)).query)
    assert query["category_ids"] == ["6001"]
    assert query["aspect_filter"] == ["categoryId:6001,Make:{Suzuki|Honda}"]
    assert query["filter"] == ["itemLocationCountry:US"]
    without_category = parse_qs(
        urlsplit(api_search_path("kei truck", {**config, "category_ids": []})).query
    )
    assert "aspect_filter" not in without_category
    assert parse_qs(urlsplit(html_search_path("kei truck", config)).query)["_sacat"] == ["6001"]


def test_sample_hosts_live_under_the_base_url(api_mode):
    spider = make_spider(base_url=BASE)
    (token,) = start_requests_of(spider)
    assert token.url == f"{BASE}/ebay/auth/identity/v1/oauth2/token"
    search = next(iter(spider.parse_token(token_answer())))
    assert search.url.startswith(f"{BASE}/ebay/api/buy/browse/v1/item_summary/search?q=kei+truck")
    assert local_path("https://api.ebay.com/a/b?x=1&y=2") == "/a/b?x=1&y=2"


# --- API search and item calls -----------------------------------------------------------------


def test_api_paging_follows_next_on_the_same_host(api_mode):
    spider = api_spider(base_url=BASE)
    listings, requests = split(spider.parse_api_search(fixture("api_search.json"), "kei truck", 1))
    assert listings == []  # new items wait for their item call
    (following,) = requests
    assert following.url == (
        f"{BASE}/ebay/api/buy/browse/v1/item_summary/search"
        "?q=kei+truck&limit=4&sort=newlyListed&offset=4"
    )
    assert following.cb_kwargs == {"query": "kei truck", "page": 2}


def test_new_items_get_their_item_call_after_the_last_search(api_mode):
    spider = api_spider()
    list(spider.parse_api_search(fixture("api_search.json"), "kei truck", 1))
    listings, details = split(
        spider.parse_api_search(fixture("api_search_odd.json"), "kei truck", 2)
    )
    assert listings == []
    assert [r.url for r in details][:2] == [
        "https://api.ebay.com/buy/browse/v1/item/v1%7C146201337780%7C0",
        "https://api.ebay.com/buy/browse/v1/item/v1%7C266812004519%7C0",
    ]
    assert len(details) == 6
    assert details[0].headers["Authorization"] == b"Bearer v^1.1#sample-token"
    assert details[0].meta["handle_httpstatus_list"] == [404, 410]
    # the odd page holds a summary without an item number: results were lost
    assert stat(spider, "item_unparsed") == 1
    assert stat(spider, "empty_page") == 1


def test_known_items_carry_their_stored_fields_forward(api_mode):
    spider = api_spider()
    spider.known = {"146201337780": stored_row()}
    listings, requests = split(spider.parse_api_search(fixture("api_search.json"), "kei truck", 1))
    (known,) = listings
    assert (known.year_raw, known.drive_raw, known.seller_type) == ("1996", "4WD", "dealer")
    assert known.description == "1996 Suzuki Carry DD51T 4x4"
    assert known.price_raw == "8750.00"  # tonight's price
    assert known.location_raw == "Maryville, TN, 377**, US"
    assert known.attributes["VIN (Vehicle Identification Number)"] == "X"
    assert known.attributes["buyingOptions"] == "FIXED_PRICE, BEST_OFFER"
    assert stat(spider, "detail_carried") == 1
    spider._open_searches.clear()
    details = list(spider.end_search("kei truck"))
    assert "146201337780" not in " ".join(r.url for r in details)
    assert len(details) == 3


def test_items_found_by_two_queries_are_yielded_once(api_mode):
    spider = api_spider()
    spider._open_searches = {"kei truck", "mini truck"}
    list(spider.parse_api_search(fixture("api_search_odd.json"), "kei truck", 1))
    list(spider.parse_api_search(fixture("api_search_odd.json"), "mini truck", 1))
    assert stat(spider, "duplicate_across_queries") == 2
    assert len(spider._awaiting_detail) == 0  # both queries ended: item calls were issued


def test_empty_api_search_is_not_an_error(api_mode):
    spider = api_spider()
    spider._open_searches = {"mitsubishi minicab", "kei truck"}
    assert (
        list(spider.parse_api_search(fixture("api_search_empty.json"), "mitsubishi minicab", 1))
        == []
    )
    assert stat(spider, "empty_page") is None


def test_an_unreadable_api_answer_loses_results(api_mode):
    spider = api_spider()
    assert list(spider.parse_api_search(api({"errors": [{"errorId": 1}]}), "kei truck", 1)) == []
    assert stat(spider, "empty_page") == 1


def test_the_call_budget_stops_paging_and_item_calls(api_mode):
    spider = api_spider(settings={})
    spider.source_config = {**spider.source_config, "api_call_budget": spider.calls}
    listings, requests = split(spider.parse_api_search(fixture("api_search.json"), "kei truck", 1))
    assert requests == []
    assert len(listings) == 4  # yielded without their item call
    assert stat(spider, "budget_exhausted") == 1
    assert stat(spider, "detail_skipped_budget") == 4


def test_max_pages_is_a_cut_short_search(api_mode):
    spider = api_spider()
    spider.source_config = {**spider.source_config, "max_pages": 1}
    _, requests = split(spider.parse_api_search(fixture("api_search.json"), "kei truck", 1))
    assert all("/item/" in r.url for r in requests)
    assert stat(spider, "budget_exhausted") == 1


def test_the_item_call_completes_the_summary(api_mode):
    spider = api_spider()
    summary = ebay.parse_api_search(fixture("api_search.json"), AS_OF).listings[0]
    (merged,) = spider.parse_detail(fixture("api_item.json"), listing=summary)
    assert (merged.year_raw, merged.make_model_raw, merged.mileage_raw) == (
        "1996",
        "Suzuki Carry",
        "41250",
    )
    assert merged.location_raw == "Maryville, TN, 377**, US"
    assert merged.status_raw == "IN_STOCK"
    assert merged.url == "https://www.ebay.com/itm/146201337780"


def test_item_call_problems_keep_the_summary(api_mode):
    spider = api_spider()
    summary = ebay.parse_api_search(fixture("api_search.json"), AS_OF).listings[1]
    gone = TextResponse(url="https://api.ebay.com/x", status=404, body=b'{"errors": []}')
    assert list(spider.parse_detail(gone, listing=summary)) == [summary]
    assert stat(spider, "detail_missing") == 1
    other = list(spider.parse_detail(fixture("api_item.json"), listing=summary))
    assert other == [summary]
    assert stat(spider, "detail_mismatch") == 1
    failure = Failure(IgnoreRequest("timeout"))
    failure.request = spider.detail_request(summary)
    assert list(spider.detail_failed(failure)) == [summary]
    assert stat(spider, "detail_failed") == 1
    assert stat(spider, "request_failed") is None  # the run stays complete


# --- HTML fallback -----------------------------------------------------------------------------


def test_html_page_follows_next_and_reads_item_pages(html_mode):
    spider = make_spider(base_url=BASE)
    start_requests_of(spider)
    spider._open_searches = {"kei truck"}
    listings, requests = split(
        spider.parse_html_search(fixture("search_scard.html"), "kei truck", 1)
    )
    assert listings == []
    (following,) = requests
    assert following.url == f"{BASE}/ebay/www/sch/i.html?_nkw=kei+truck&_sop=10&_ipg=60&_pgn=2"
    empty = fixture("search_scard_empty.html")
    _, items = split(spider.parse_html_search(empty, "kei truck", 2))
    assert [r.url for r in items][:1] == [f"{BASE}/ebay/www/itm/146201337780"]
    assert items[0].meta["anchor"] == ebay.ITEM_ANCHOR
    assert stat(spider, "empty_page") is None


def test_html_item_page_completes_the_card(html_mode):
    spider = make_spider()
    card = ebay.parse_search_html(fixture("search_scard.html"), AS_OF).listings[0]
    (merged,) = spider.parse_detail(fixture("item_page.html"), listing=card)
    assert (merged.price_raw, merged.year_raw, merged.seller_type) == (
        "$8,750.00",
        "1996",
        "dealer",
    )


def test_fewer_words_results_are_not_taken_and_end_paging(html_mode):
    spider = make_spider()
    start_requests_of(spider)
    spider._open_searches = {"honda acty ha4", "kei truck"}
    spider.source_config = {**spider.source_config, "item_pages": False}
    listings, requests = split(
        spider.parse_html_search(fixture("search_scard_sold.html"), "honda acty ha4", 1)
    )
    assert [x.listing_id for x in listings] == ["266812004519", "297268998836"]
    assert requests == []


def test_an_unknown_html_layout_loses_results(html_mode):
    spider = make_spider()
    start_requests_of(spider)
    body = b'<html><body><ul class="srp-results"><li class="su-item-card">x</li></ul></body></html>'
    page = HtmlResponse(url="https://www.ebay.com/sch/i.html?_nkw=kei+truck", body=body)
    assert list(spider.parse_html_search(page, "kei truck", 1)) == []
    assert stat(spider, "empty_page") == 1
    no_cards = HtmlResponse(
        url=page.url, body=b'<html><body><ul class="srp-results"></ul></body></html>'
    )
    list(spider.parse_html_search(no_cards, "mini truck", 1))
    assert stat(spider, "empty_page") == 2


def test_a_failed_search_page_ends_its_search(html_mode):
    spider = make_spider()
    requests = start_requests_of(spider)
    failure = Failure(IgnoreRequest("blocked"))
    failure.request = requests[0]
    assert list(spider.search_failed(failure)) == []
    assert "kei truck" not in spider._open_searches
    assert stat(spider, "request_failed") == 1


# --- stored copies -----------------------------------------------------------------------------


def test_has_detail():
    assert has_detail(stored_row())
    assert has_detail({"attributes": {"Condition": "Used"}})
    assert not has_detail({"attributes": {"condition": "Used", "buyingOptions": "AUCTION"}})
    assert not has_detail({"description": None, "status_raw": None, "attributes": None})


def test_carry_forward_keeps_tonights_values():
    summary = ebay.parse_api_search(fixture("api_search.json"), AS_OF).listings[0]
    restored = carry_forward(summary, stored_row(price_raw="9100.00", location_raw="Elsewhere"))
    assert restored.price_raw == "8750.00"
    assert restored.location_raw == "377**, US"  # the stored place is not the same place
    assert restored.year_raw == "1996"


# --- the sample renderer -----------------------------------------------------------------------


def answer(route) -> TextResponse:
    cls = TextResponse if route.content_type.startswith("application/json") else HtmlResponse
    return cls(url=f"https://sample{route.target}", body=route.body, encoding="utf-8")


@pytest.mark.parametrize("night", range(len(NIGHTS)))
def test_every_sample_listing_is_found_in_both_forms(night):
    routes = render_ebay.render(CATALOG, night)
    api_found, html_found = set(), set()
    for route in routes:
        if "/item_summary/search" in route.target:
            api_found |= {x.listing_id for x in ebay.parse_api_search(answer(route)).listings}
        elif "/sch/i.html" in route.target:
            page = ebay.parse_search_html(answer(route))
            html_found |= {x.listing_id for x in page.listings}
            assert page.listings or ebay.is_empty_result(page, answer(route))
    shown = {t.listing_id for t in listings_on(CATALOG, "ebay", night)}
    assert api_found == html_found == shown
    assert len([r for r in routes if "/buy/browse/v1/item/" in r.target]) == len(shown)
    assert len([r for r in routes if "/www/itm/" in r.target]) == len(shown)


def test_sample_catalog_has_the_events_a_user_must_see():
    states = [t.nights for t in CATALOG]
    assert 10 <= len(CATALOG) <= 15
    assert any(n[0] and n[1] and n[0].price != n[1].price for n in states)  # a drop on night 2
    assert any(n[0] and n[2] is None for n in states)  # gone on night 3
    assert any(n[0] is None and n[1] for n in states)
    assert any(n[1] is None and n[2] for n in states)
    assert all(len(t.listing_id) == 12 and t.listing_id.isdigit() for t in CATALOG)
    assert len({t.listing_id for t in CATALOG}) == len(CATALOG)
    assert {t.mileage_unit for t in CATALOG if t.kind == "kei_truck"} == {"mi", "km"}


def test_sample_search_pages_page_and_the_empty_search_is_empty():
    routes = {r.target: r for r in render_ebay.render(CATALOG, 0)}
    first = routes[f"/ebay/www{html_search_path('mini truck', EbaySpider.default_config)}"]
    page = ebay.parse_search_html(answer(first))
    assert len(page.listings) == render_ebay.PAGE_SIZE
    assert page.next_url.endswith("&_pgn=2")
    empty = routes[f"/ebay/api{api_search_path('mitsubishi minicab', EbaySpider.default_config)}"]
    assert ebay.parse_api_search(answer(empty)).total == 0


def test_sample_item_answers_carry_the_catalog_fields():
    routes = {r.target: r for r in render_ebay.render(CATALOG, 0)}
    for truck in listings_on(CATALOG, "ebay", 0):
        item = ebay.parse_api_item(
            answer(routes[f"/ebay/api/buy/browse/v1/item/v1%7C{truck.listing_id}%7C0"])
        )
        page = ebay.parse_item_page(answer(routes[f"/ebay/www/itm/{truck.listing_id}"]))
        assert item.title == page.title == truck.title
        assert item.description == truck.description
        assert item.seller_type == truck.seller_type
        assert item.location_raw.startswith(truck.location)
        if truck.kind == "kei_truck":
            for listing in (item, page):
                assert (listing.year_raw, listing.make_model_raw) == (str(truck.year), truck.model)
                assert listing.mileage_raw == str(truck.mileage)
                assert listing.drive_raw == ("4WD" if truck.is_4wd else "RWD")
                assert listing.transmission_raw.lower() == truck.transmission
                vin = listing.attributes["VIN (Vehicle Identification Number)"]
                assert vin.startswith(f"{truck.model_code}-")
                assert listing.attributes["Engine"].startswith(f"{truck.engine_cc}cc")
        assert "kei_import_depot" not in json.dumps(item.attributes)


# --- end to end --------------------------------------------------------------------------------


def sample_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ebay")
    for night in range(len(NIGHTS)):
        write_night(render_ebay.render(CATALOG, night), folder / f"night{night + 1}")
    return folder


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return sample_folder(tmp_path_factory)


@pytest.fixture(scope="module")
def api_nights(site):
    """Three nights through the Browse API into one database: [(requests, rows, run, log)]."""
    db = site / "api.db"
    results = []
    with pytest.MonkeyPatch.context() as mp, SampleServer(root=site) as server:
        mp.setenv("EBAY_CLIENT_ID", CLIENT_ID)
        mp.setenv("EBAY_CLIENT_SECRET", CLIENT_SECRET)
        for night in range(len(NIGHTS)):
            server.night = night + 1
            server.requests.clear()
            log = site / f"api{night + 1}.log"
            result = run_crawl(
                "ebay",
                db=db,
                base_url=server.base_url,
                as_of=NIGHTS[night],
                log_path=log,
                timeout=120,
                settings={"LOG_LEVEL": "DEBUG"} if night == 0 else None,
            )
            assert result.returncode == 0, result.stderr_tail
            listings = rows(db, "SELECT * FROM listings WHERE source = 'ebay'")
            run = rows(db, "SELECT * FROM runs WHERE source = 'ebay' ORDER BY id")[-1]
            results.append((list(server.requests), listings, run, log.read_text()))
    return results


@pytest.mark.slow
@pytest.mark.parametrize("night", range(len(NIGHTS)))
def test_api_crawl_stores_exactly_the_nights_listings(api_nights, night):
    requests, listings, run, _ = api_nights[night]
    assert (run["complete"], run["healthy"]) == (1, 1), run["health_reason"]
    shown = {t.listing_id: t for t in listings_on(CATALOG, "ebay", night)}
    active = {r["listing_id"]: r for r in listings if r["status"] == "active"}
    assert set(active) == set(shown)
    for listing_id, truck in shown.items():
        row = active[listing_id]
        assert row["title"] == truck.title, truck.key
        assert row["price"] == truck.nights[night].price, truck.key
        assert row["price_raw"] == f"{truck.nights[night].price:.2f}", truck.key
        assert row["description"] == truck.description, truck.key
        assert row["seller_type"] == truck.seller_type, truck.key
        assert row["location_raw"].startswith(truck.location), truck.key
        if truck.kind == "kei_truck":
            assert row["year_raw"] == str(truck.year), truck.key
            assert row["make_model_raw"] == truck.model, truck.key
            assert row["mileage_raw"] == str(truck.mileage), truck.key
            assert row["is_4wd"] == int(truck.is_4wd), truck.key
            assert row["transmission"] == truck.transmission, truck.key
            assert row["model_code"] == truck.model_code, truck.key
    gone = {r["listing_id"] for r in listings if r["status"] == "gone"}
    ever = {t.listing_id for n in range(night + 1) for t in listings_on(CATALOG, "ebay", n)}
    assert gone == ever - set(shown)


@pytest.mark.slow
def test_api_crawl_calls_getitem_only_for_new_items(api_nights):
    for night, (requests, _, _, _) in enumerate(api_nights):
        item_calls = {r.rsplit("/", 1)[-1] for r in requests if "/buy/browse/v1/item/" in r}
        before = {t.listing_id for n in range(night) for t in listings_on(CATALOG, "ebay", n)}
        new = {t.listing_id for t in listings_on(CATALOG, "ebay", night)} - before
        assert item_calls == {f"v1%7C{i}%7C0" for i in new}, night
        assert sum("/oauth2/token" in r for r in requests) == 1
        pages = [r for r in requests if "/item_summary/search" in r]
        assert len(pages) == len(QUERIES) + 2  # kei truck and mini truck have a second page
        assert not any("/www/" in r for r in requests)


@pytest.mark.slow
def test_api_crawl_never_logs_the_secret_or_the_token(api_nights):
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    for _, _, run, log in api_nights:
        for secret in (CLIENT_SECRET, basic, render_ebay.TOKEN, "sample-application-token"):
            assert secret not in log
            assert secret not in (run["stats"] or "")
    assert "Crawled (200) <POST" in api_nights[0][3]  # the debug log was really written


CHALLENGE = (
    b"<!DOCTYPE html><html><head><title>Security Measure | eBay</title></head><body>"
    b"<h1>Checking your browser before you access eBay.</h1>"
    b"<p>This takes a few seconds. Your request will be sent shortly.</p></body></html>"
)


@pytest.fixture(scope="module")
def html_nights(site):
    """HTML fallback: night 1 normally, then night 2 meeting a challenge page."""
    db = site / "html.db"
    results = []
    with pytest.MonkeyPatch.context() as mp, SampleServer(root=site) as server:
        mp.delenv("EBAY_CLIENT_ID", raising=False)
        mp.delenv("EBAY_CLIENT_SECRET", raising=False)
        for night in (0, 1):
            server.night = night + 1
            server.requests.clear()
            if night == 1:
                target = f"/ebay/www{html_search_path('mini truck', EbaySpider.default_config)}"
                server.override(target, body=CHALLENGE)
            result = run_crawl(
                "ebay",
                db=db,
                base_url=server.base_url,
                as_of=NIGHTS[night],
                log_path=site / f"html{night + 1}.log",
                timeout=120,
            )
            assert result.returncode == 0, result.stderr_tail
            listings = rows(db, "SELECT * FROM listings WHERE source = 'ebay'")
            run = rows(db, "SELECT * FROM runs WHERE source = 'ebay' ORDER BY id")[-1]
            results.append((list(server.requests), listings, run))
    return results


@pytest.mark.slow
def test_html_crawl_stores_the_nights_listings(html_nights):
    requests, listings, run = html_nights[0]
    assert (run["complete"], run["healthy"]) == (1, 1), run["health_reason"]
    shown = {t.listing_id: t for t in listings_on(CATALOG, "ebay", 0)}
    stored = {r["listing_id"]: r for r in listings}
    assert set(stored) == set(shown)
    for listing_id, truck in shown.items():
        row = stored[listing_id]
        assert (row["title"], row["price"]) == (truck.title, truck.nights[0].price), truck.key
        assert row["price_raw"] == f"${truck.nights[0].price:,.2f}", truck.key
        assert row["status"] == "active", truck.key
        if truck.kind == "kei_truck":
            assert row["year_raw"] == str(truck.year), truck.key
            assert row["is_4wd"] == int(truck.is_4wd), truck.key
    auction = next(t for t in shown.values() if "auction" in t.tags)
    assert stored[auction.listing_id]["price_basis"] == "bid"
    assert len([r for r in requests if "/www/itm/" in r]) == len(shown)
    assert len([r for r in requests if "/sch/i.html" in r]) == len(QUERIES) + 2


@pytest.mark.slow
def test_a_challenge_page_stops_the_source_and_nothing_goes_gone(html_nights):
    requests, listings, run = html_nights[1]
    assert run["status"] == "blocked"
    assert run["blocked_reason"] == "challenge_page"
    assert (run["complete"], run["healthy"]) == (0, 0)
    assert {r["status"] for r in listings} == {"active"}
    assert not any("/www/itm/" in r for r in requests)

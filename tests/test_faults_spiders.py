"""When a source stops mid-run, listings the spider has already read must still be stored.

A block (or a spent budget) closes the spider: Scrapy then drops every request still queued,
without calling its callback or errback. A spider that holds a listing back until its detail or
posting page has been read therefore loses that listing for the night, although its search
result was read. The errback of the request that stopped the source is the last code that runs
with the chance to yield them. These tests drive the callbacks directly, so they are exact where
the end-to-end fault tests (test_faults_crawl.py) depend on timing.
"""

from __future__ import annotations

import asyncio

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from keitrucks.core.config import DEFAULT_CONFIG
from scrapers.items import Listing
from scrapers.spiders.beforward import BeforwardSpider, stocklist_path
from scrapers.spiders.craigslist import CraigslistSpider, Search
from tests.conftest import FIXTURES, response_for

BASE = "http://127.0.0.1:8999"


def _blocked(spider, request: scrapy.Request) -> Failure:
    spider.crawler.stats.set_value("keitrucks/blocked", "http_429")
    failure = Failure(IgnoreRequest("blocked: http_429"))
    failure.request = request
    return failure


def _outputs(result) -> list:
    return list(result) if result is not None else []


def _listings(outputs) -> set[str]:
    return {o.listing_id for o in outputs if isinstance(o, Listing)}


def _started(spider) -> list[scrapy.Request]:
    async def collect():
        return [r async for r in spider.start()]

    return asyncio.run(collect())


def test_beforward_rows_waiting_for_their_detail_page_survive_a_block(tmp_path):
    crawler = get_crawler(BeforwardSpider, {"KEITRUCKS_DB_PATH": str(tmp_path / "none.db")})
    crawler.stats.open_spider()
    spider = BeforwardSpider.from_crawler(crawler, base_url=BASE, as_of="2026-11-24")
    crawler.spider = spider
    _started(spider)  # every keyword search is open; the database knows no Ref No.
    keyword = DEFAULT_CONFIG["sources"]["beforward"]["keywords"][0]
    country = DEFAULT_CONFIG["sources"]["beforward"]["destination_country_id"]
    url = spider.url("www", stocklist_path(keyword, 1, country_id=country))
    page = response_for(FIXTURES / "beforward" / "stocklist.html", url)
    first = list(spider.parse_list(page, keyword, 1))
    on_page = {"CB412007", "CA377150", "CC508811"}
    assert _listings(first) < on_page  # the new, unsold row waits for its detail page
    (following,) = [o for o in first if isinstance(o, scrapy.Request)]

    # The site blocks page 2; the spider closes and no other callback will run.
    last = _outputs(spider.list_failed(_blocked(spider, following)))
    assert _listings(first) | _listings(last) == on_page


def test_craigslist_results_waiting_for_their_posting_page_survive_a_block():
    crawler = get_crawler(CraigslistSpider, {})
    spider = CraigslistSpider.from_crawler(crawler, as_of="2026-11-24T06:00:00+00:00")
    crawler.spider = spider
    search = Search("knoxville", "kei", "owner")
    answer = response_for(
        FIXTURES / "craigslist" / "api_full.json",
        "https://sapi.craigslist.org/web/v8/postings/search/full",
    )
    queued = [o for o in spider.parse_full(answer, search=search) if isinstance(o, scrapy.Request)]
    waiting = {r.cb_kwargs["listing"].listing_id for r in queued}
    assert len(waiting) == 4

    # Another search is blocked; the posting requests above are dropped from the queue.
    other = spider.search_request(Search("nashville", "kei", "owner"))
    last = _outputs(other.errback(_blocked(spider, other)))
    assert _listings(last) == waiting


def test_a_failed_request_that_does_not_stop_the_source_yields_nothing_extra():
    """The other side of the fix: an ordinary failure keeps the queued pages coming."""
    crawler = get_crawler(CraigslistSpider, {})
    spider = CraigslistSpider.from_crawler(crawler, as_of="2026-11-24T06:00:00+00:00")
    crawler.spider = spider
    answer = response_for(
        FIXTURES / "craigslist" / "api_full.json",
        "https://sapi.craigslist.org/web/v8/postings/search/full",
    )
    list(spider.parse_full(answer, search=Search("knoxville", "kei", "owner")))
    other = spider.search_request(Search("nashville", "kei", "owner"))
    failure = Failure(IgnoreRequest("HTTP 404"))
    failure.request = other
    assert _listings(_outputs(other.errback(failure))) == set()
    assert spider.crawler.stats.get_value("keitrucks/request_failed") == 1

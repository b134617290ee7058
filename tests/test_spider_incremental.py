"""The incremental base spider: the known-listings hook named in settings, and release on stop."""

from __future__ import annotations

import json
import logging

import pytest
import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import TextResponse
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from scrapers import settings as project_settings
from scrapers.items import Listing
from scrapers.spiders.ebay import EbaySpider
from scrapers.spiders.sbtjapan import SbtjapanSpider
from tests.conftest import FIXTURES, response_for

AS_OF = "2026-11-24T06:00:00+00:00"
STORED = {"AH7312": {"listing_id": "AH7312", "price_raw": "7,200"}}


def known_reader(db_path: str, source: str) -> dict[str, dict]:
    """A reader named by dotted path in the setting, as the project names storage's."""
    return {key: {**row, "read_from": (db_path, source)} for key, row in STORED.items()}


def failing_reader(db_path: str, source: str) -> dict[str, dict]:
    raise RuntimeError("database is locked")


def spider_with(tmp_path, hook, db_name: str = "k.db") -> SbtjapanSpider:
    db = tmp_path / db_name
    db.write_bytes(b"")
    crawler = get_crawler(
        SbtjapanSpider, {"KEITRUCKS_DB_PATH": str(db), "KEITRUCKS_KNOWN_LISTINGS": hook}
    )
    return SbtjapanSpider.from_crawler(crawler, as_of=AS_OF)


def test_the_project_names_storage_as_the_known_listings_reader():
    assert project_settings.KEITRUCKS_KNOWN_LISTINGS == "pipelines.listings.read_known_listings"


def test_known_listings_come_from_the_reader_the_setting_names(tmp_path):
    spider = spider_with(tmp_path, "tests.test_spider_incremental.known_reader")
    known = spider.read_known()
    assert list(known) == ["AH7312"]
    assert known["AH7312"]["read_from"] == (str(tmp_path / "k.db"), "sbtjapan")


@pytest.mark.parametrize("hook", ["", None])
def test_an_empty_setting_disables_the_reader(tmp_path, hook):
    assert spider_with(tmp_path, hook).read_known() == {}


def test_a_failing_reader_is_a_warning_and_every_page_is_read(tmp_path, caplog):
    spider = spider_with(tmp_path, failing_reader)
    with caplog.at_level(logging.WARNING):
        assert spider.read_known() == {}
    assert "database is locked" in caplog.text


def test_an_unknown_reader_path_is_a_warning_too(tmp_path, caplog):
    spider = spider_with(tmp_path, "tests.test_spider_incremental.no_such_reader")
    with caplog.at_level(logging.WARNING):
        assert spider.read_known() == {}
    assert "no_such_reader" in caplog.text


# -- eBay: its copy of the hold-and-release logic was missing before the base spider ------------


def _blocked(spider, request: scrapy.Request) -> Failure:
    spider.crawler.stats.set_value("keitrucks/blocked", "http_429")
    failure = Failure(IgnoreRequest("blocked: http_429"))
    failure.request = request
    return failure


def _ebay_in_api_mode(monkeypatch) -> EbaySpider:
    monkeypatch.setenv("EBAY_CLIENT_ID", "id")
    monkeypatch.setenv("EBAY_CLIENT_SECRET", "secret")
    spider = EbaySpider.from_crawler(get_crawler(EbaySpider, {}), as_of=AS_OF)
    spider._token = "token"
    spider._open_searches = {"kei truck"}
    return spider


def test_ebay_items_waiting_for_their_item_call_survive_a_block(monkeypatch):
    spider = _ebay_in_api_mode(monkeypatch)
    page = FIXTURES / "ebay" / "api_search_odd.json"
    meta = json.loads(page.with_name("api_search_odd.meta.json").read_text(encoding="utf-8"))
    out = list(spider.parse_api_search(response_for(page, meta["url"]), "kei truck", 1))
    details = [o for o in out if isinstance(o, scrapy.Request)]
    waiting = {r.cb_kwargs["listing"].listing_id for r in details}
    assert len(waiting) >= 2
    assert not [o for o in out if isinstance(o, Listing)]

    # The first item call is blocked; the other item calls are dropped from the queue.
    first = details[0]
    released = list(first.errback(_blocked(spider, first)))
    assert {x.listing_id for x in released} == waiting
    assert len(released) == len(waiting)

    # An item answer already on its way yields nothing twice.
    late = details[1]
    answer = TextResponse(url=late.url, body=b"{}", encoding="utf-8")
    assert list(late.callback(answer, **late.cb_kwargs)) == []

"""scrapers.logformatter: Scrapy's per-page and per-item DEBUG records only when DEBUG shows."""

from __future__ import annotations

import pytest
from scrapy import Spider
from scrapy.http import HtmlResponse, Request
from scrapy.utils.test import get_crawler

from scrapers.items import Listing
from scrapers.logformatter import LogFormatter


@pytest.mark.parametrize(
    ("level", "made"),
    [
        ("DEBUG", True),
        ("debug", True),
        ("INFO", False),
        ("WARNING", False),
        (10, True),
        (20, False),
    ],
)
def test_crawled_and_scraped_records_follow_the_log_level(level, made):
    crawler = get_crawler(Spider, {"LOG_LEVEL": level})
    formatter = LogFormatter.from_crawler(crawler)
    request = Request("http://127.0.0.1/p/1")
    response = HtmlResponse(request.url, body=b"<html></html>", request=request)
    item = Listing(source="craigslist", listing_id="1", url="http://127.0.0.1/p/1")
    spider = Spider(name="s")
    crawled = formatter.crawled(request, response, spider)
    scraped = formatter.scraped(item, response, spider)
    assert (crawled is not None, scraped is not None) == (made, made)
    if made:
        assert crawled["msg"].startswith("Crawled")
        assert scraped["msg"].startswith("Scraped from")


def test_the_crawl_settings_use_it():
    from scrapers import settings

    assert settings.LOG_FORMATTER == "scrapers.logformatter.LogFormatter"

"""Block detection: what makes a response a refusal rather than a page of listings."""

from __future__ import annotations

import pytest
from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, TextResponse
from scrapy.utils.test import get_crawler

from scrapers.blocking import block_reason
from scrapers.middlewares import BlockDetectionMiddleware, BudgetMiddleware
from tests.conftest import shared_path

PAGE = b"<html><body>" + b"<li class='s-card'>truck</li>" * 400 + b"</body></html>"
JSON = b'{"data": {"items": []}}'
CHALLENGE = (
    b"<html><head><title>Just a moment</title></head><body>checking your browser</body></html>"
)


@pytest.mark.parametrize(
    ("status", "body", "url", "expect", "anchor", "reason"),
    [
        (200, PAGE, "https://x.test/s", "html", "s-card", None),
        (200, JSON, "https://x.test/api", "json", None, None),
        (403, PAGE, "https://x.test/s", None, None, "http_403"),
        (429, b"", "https://x.test/s", None, None, "http_429"),
        (202, b"<html>wait</html>", "https://x.test/s", "html", None, "challenge_202"),
        (202, PAGE, "https://x.test/s", "html", None, None),
        (
            200,
            b"<!DOCTYPE html><html>blocked</html>",
            "https://x.test/api",
            "json",
            None,
            "html_instead_of_json",
        ),
        (200, b"garbage", "https://x.test/api", "json", None, "not_json"),
        (200, JSON, "https://x.test/s", "html", None, "json_instead_of_html"),
        (200, CHALLENGE, "https://x.test/s", "html", None, "challenge_page"),
        (200, PAGE, "https://x.test/login?next=/s", "html", None, "login_redirect"),
        (
            200,
            b"<html><body>new layout</body></html>",
            "https://x.test/s",
            "html",
            "s-card",
            "missing_anchor",
        ),
        (503, b"", "https://x.test/s", "html", "s-card", None),
        (404, b"", "https://x.test/s", "html", "s-card", None),
    ],
    ids=[
        "page",
        "json",
        "403",
        "429",
        "202-small",
        "202-large",
        "html-for-json",
        "garbage-for-json",
        "json-for-html",
        "challenge-text",
        "login-redirect",
        "layout-change",
        "503-is-retry-business",
        "404-is-not-a-block",
    ],
)
def test_block_reason(status, body, url, expect, anchor, reason):
    assert block_reason(status, body, url, expect=expect, anchor=anchor) == reason


def test_the_real_ebay_error_page_is_the_edge_refusing():
    """eBay's "Something went wrong on our end", with the Akamai reference id: the edge refused
    or failed the request. It read "missing_anchor", whose advice is to ask the parser about a
    new layout."""
    page = shared_path("fixtures", "ebay", "error_page_akamai_reference_2026-08.html").read_bytes()
    for url, anchor in (
        ("https://www.ebay.com/sch/i.html", "s-card"),
        ("https://www.ebay.com/itm/1", "x-item-title"),
    ):
        assert block_reason(200, page, url, expect="html", anchor=anchor) == "edge_error_page"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            b"<html><h1>Access Denied</h1>Reference #18.6a2c1702.1700000000.1b2c3d4e</html>",
            "challenge_page",
        ),
        (
            b"<html><p>Sorry, an error.</p><span>Reference 0.5c39c717.1785158953.407f3f</span>",
            "edge_error_page",
        ),
        # a listing id, a price and a time are no reference
        (b"<html><div class=s-card>1996 Carry 4.5 1785158953 $6,500.00</div></html>", None),
        (b"<html><div class=s-card>version 1.2.3.4 of the page</div></html>", None),
    ],
)
def test_an_edge_error_page_by_its_reference_id(body, reason):
    assert block_reason(200, body, "https://x.test/", expect="html", anchor="s-card") == reason


class _Engine:
    def __init__(self):
        self.closed = []

    def close_spider_async(self, reason):
        self.closed.append(reason)


def _crawler(**settings):
    crawler = get_crawler(settings_dict=settings)
    crawler.engine = _Engine()
    crawler.stats.open_spider()
    return crawler


def test_the_middleware_stops_the_source_and_records_why():
    crawler = _crawler()
    mw = BlockDetectionMiddleware.from_crawler(crawler)
    request = Request("https://x.test/api", meta={"expect": "json"})
    ok = TextResponse("https://x.test/api", body=JSON, request=request)
    assert mw.process_response(request, ok) is ok
    blocked = HtmlResponse("https://x.test/api", status=429, body=b"", request=request)
    with pytest.raises(IgnoreRequest):
        mw.process_response(request, blocked)
    with pytest.raises(IgnoreRequest):
        mw.process_response(request, blocked)
    assert crawler.stats.get_value("keitrucks/blocked") == "http_429"
    assert crawler.engine.closed == ["blocked"]


def test_the_budget_middleware_stops_after_the_budget():
    crawler = _crawler(KEITRUCKS_REQUEST_BUDGET=2)
    crawler.spider = type("S", (), {"request_budget": None})()
    mw = BudgetMiddleware.from_crawler(crawler)
    assert mw.process_request(Request("https://x.test/robots.txt")) is None
    assert mw.process_request(Request("https://x.test/1")) is None
    assert mw.process_request(Request("https://x.test/2")) is None
    with pytest.raises(IgnoreRequest, match="budget of 2"):
        mw.process_request(Request("https://x.test/3"))
    assert crawler.stats.get_value("keitrucks/budget_exhausted") == 1
    assert crawler.engine.closed == ["budget_exhausted"]

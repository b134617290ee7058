"""The layout rule every parser follows (scrapers/parsers/shape.py) and ``keitrucks parse``.

A page of an unknown or unsupported layout is refused, a known listings layout read as empty
carries a shape warning, a page the block detector flags is "blocked". The pages here are small
pieces of markup written for the test; the real saved pages are in test_conformance_real_pages.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from scrapy.http import HtmlResponse, TextResponse

from keitrucks.cli import cli
from scrapers.items import Listing
from scrapers.parsers import craigslist
from scrapers.parsers.shape import Layout, LayoutError, read_page, unique_listings

LAYOUTS = (
    Layout("api answer", text='"results"', json=True),
    Layout("no results", css=".none", listings=False),
    Layout("results", css="ul.results"),
    Layout("old results", css="table.old", unsupported="retired in 2020"),
)


def html(body: str) -> HtmlResponse:
    return HtmlResponse(url="https://site.example/s", body=body.encode(), encoding="utf-8")


def one_per_item(response, scraped_at=None) -> list[Listing]:
    ids = response.css("li::attr(data-id)").getall()
    return [Listing(source="x", listing_id=i, url=f"https://site.example/{i}") for i in ids]


@pytest.mark.parametrize(
    ("body", "layout", "count", "warning"),
    [
        ('<ul class="results"><li data-id="1"></li><li data-id="2"></li></ul>', "results", 2, None),
        ('<ul class="results"><li data-id="1"></li><li data-id="1"></li></ul>', "results", 1, None),
        ('<ul class="results"></ul>', "results", 0, "yielded zero listings"),
        ('<p class="none">nothing found</p><ul class="results"></ul>', "no results", 0, None),
    ],
)
def test_reading_a_known_layout(body, layout, count, warning):
    reading = read_page(LAYOUTS, one_per_item, html(body))
    assert reading.layout.name == layout
    assert len(reading.listings) == count
    assert (warning in reading.warning) if warning else reading.warning is None


def test_json_layouts_match_json_answers_only():
    answer = TextResponse(url="https://api.example/", body=b'{"results": []}', encoding="utf-8")
    assert read_page(LAYOUTS, lambda r, t: [], answer).layout.name == "api answer"
    with pytest.raises(LayoutError, match="unknown page layout"):
        read_page(LAYOUTS, one_per_item, html('<script>var x = {"results": 1}</script>'))


def test_unknown_and_unsupported_layouts_are_refused():
    with pytest.raises(LayoutError, match="unknown page layout"):
        read_page(LAYOUTS, one_per_item, html("<p>something else</p>"))
    with pytest.raises(LayoutError, match="old results layout is not supported: retired"):
        read_page(LAYOUTS, one_per_item, html('<table class="old"></table>'))


def test_a_forced_reading_of_an_unknown_layout_is_a_warning():
    reading = read_page(LAYOUTS, one_per_item, html("<li data-id='7'></li>"), forced=True)
    assert reading.layout is None
    assert [x.listing_id for x in reading.listings] == ["7"]
    assert "unknown page layout" in reading.warning


def test_unique_listings_keeps_the_first_of_each_id():
    listings = [
        Listing(source="x", listing_id=i, url=f"https://site.example/{n}")
        for n, i in enumerate("abab")
    ]
    assert [x.url[-1] for x in unique_listings(listings)] == ["0", "1"]


def test_craigslist_pre_2023_result_rows_are_named_unsupported():
    page = html('<ul class="rows"><li class="result-row" data-pid="7012345678"></li></ul>')
    with pytest.raises(LayoutError, match="pre-2023 search results layout is not supported"):
        read_page(craigslist.LAYOUTS, craigslist.parse_page, page)


def run_parse(tmp_path, source: str, body: str, name: str = "page.html"):
    page = tmp_path / name
    page.write_text(body, encoding="utf-8")
    return CliRunner().invoke(cli, ["parse", source, str(page), "--url", "https://x.example/s"])


def test_parse_says_blocked_for_a_challenge_page(tmp_path):
    body = "<html><title>Pardon Our Interruption...</title><p>browser check</p></html>"
    result = run_parse(tmp_path, "ebay", body)
    assert result.exit_code == 1
    assert "blocked: challenge page" in result.output


def test_parse_refuses_an_unknown_layout(tmp_path):
    result = run_parse(tmp_path, "craigslist", "<html><p>a search page of another site</p></html>")
    assert result.exit_code == 1
    assert "unknown page layout" in result.output
    assert "no post id" not in result.output


def test_parse_warns_on_a_known_layout_read_as_empty(tmp_path):
    body = '<ul class="srp-results srp-list"></ul>'
    result = run_parse(tmp_path, "ebay", body)
    assert result.exit_code == 2
    assert "shape warning" in result.output
    assert "search results layout" in result.output


def test_parse_prints_the_listings_of_a_rendered_craigslist_page(tmp_path):
    body = (
        '<div data-pid="7866046901" class="cl-search-result"><div class="result-node">'
        '<div class="result-info"><div>Henderson</div><div class="title-blob">'
        '<a class="posting-title" href="https://lasvegas.craigslist.org/cto/d/x/7866046901.html">'
        '<span class="label">1991 Suzuki Carry</span></a></div><div class="meta">'
        '<span title="Tue Jul 15 2025 18:35:30 GMT-0700">48m ago</span>'
        '<span class="priceinfo">$4,500</span>62k mi</div></div></div></div>'
    )
    result = run_parse(tmp_path, "craigslist", body)
    assert result.exit_code == 0, result.output
    listing = json.loads(result.stdout.splitlines()[0])
    assert listing["listing_id"] == "7866046901"
    assert listing["title"] == "1991 Suzuki Carry"
    assert listing["price_raw"] == "$4,500"
    assert listing["location_raw"] == "Henderson"
    assert listing["seller_type"] == "owner"
    assert listing["attributes"] == {"meta": "62k mi"}

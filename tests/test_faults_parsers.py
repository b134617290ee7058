"""Every source's parser, fed arbitrary bytes, text, HTML and JSON, never raises unexpectedly.

Sites answer with error pages, half pages, pages of another layout and JSON of another shape;
a parser may return no listings, or raise its module's documented ``UnexpectedShapeError``, but
nothing else: any other exception would crash the callback and lose the rest of the page. The
inputs are built by hypothesis from four strategies: raw bytes, unicode text, HTML trees made of
the tags, classes and ids the parsers look for (so the parsers get past their first selector), and
JSON made of the keys the API parsers read, bare or embedded as a script variable. Every parser
gets them as an HTML page (``HtmlResponse``: what Scrapy builds for a ``text/html`` answer, be it
an error page, garbage or JSON mislabelled); the parsers of sources with a JSON API also get JSON
answers as ``TextResponse`` (what the API callbacks and ``keitrucks parse`` of a saved answer get).
Every listing returned must be a ``Listing`` of the source, with ``None`` rather than ``""`` for
anything unknown.

Modules are found in ``scrapers.parsers`` (every module with a ``parse_page``), so a new source
is covered the day it lands.
"""

from __future__ import annotations

import html
import importlib
import json
import pkgutil
from dataclasses import fields

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from scrapy.http import HtmlResponse, TextResponse

import scrapers.parsers
from scrapers.items import Listing

PARSERS = {
    info.name: module
    for info in pkgutil.iter_modules(scrapers.parsers.__path__)
    if hasattr(module := importlib.import_module(f"scrapers.parsers.{info.name}"), "parse_page")
}
URL = "https://www.example.test/used/1234567/?p=1"
SCRAPED_AT = "2026-11-24T06:00:00+00:00"
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
    database=None,
)

# -- strategies -------------------------------------------------------------------------------

TAGS = (
    "div",
    "p",
    "span",
    "a",
    "li",
    "ul",
    "ol",
    "table",
    "tbody",
    "tr",
    "td",
    "th",
    "h1",
    "h3",
    "section",
    "strong",
    "b",
    "time",
    "dl",
    "dt",
    "dd",
    "ins",
    "del",
    "form",
)
VOID_TAGS = ("img", "input", "meta", "link", "br")
#: Class names and ids the parsers select on (a sample: enough to reach their inner code).
CLASSES = (
    "stocklist-row-wrap",
    "stocklist-row",
    "make-model",
    "vehicle-url-link",
    "veh-stock-no",
    "price-col",
    "price",
    "price-col-sold",
    "total-price",
    "price-condition",
    "destination-port",
    "table-detailed-spec",
    "th",
    "val",
    "stock-area",
    "year",
    "mileage",
    "trans",
    "engine",
    "specification",
    "car-info-flex-box",
    "results-pagination",
    "stocklist-no-result",
    "attrgroup",
    "attr",
    "labl",
    "valu",
    "important",
    "postinginfos",
    "postinginfo",
    "postingtitletext",
    "cl-static-search-results",
    "cl-static-search-result",
    "title",
    "details",
    "location",
    "listing-card",
    "bid-formatted",
    "item-results",
    "essentials",
    "item",
    "listing-available-info",
    "date",
    "post-title",
    "post-excerpt",
    "listing-stats",
    "listing-stats-label",
    "listing-stats-value",
    "thumbnail",
    "s-card",
    "s-item",
    "srp-results",
    "s-card__title",
    "s-card__price",
    "s-item__title",
    "s-item__price",
    "ux-labels-values",
    "search-result__item",
    "car-price",
    "product-detail__price",
    "card-product__total-price",
)
IDS = (
    "titletextonly",
    "postingbody",
    "map",
    "thumbs",
    "display-date",
    "ld_posting_data",
    "fn-vehicle-price-total-price",
    "id-selected-currency",
    "bat-theme-auctions-completed-initial-data",
)
LABELS = (
    "Ref. No.",
    "Mileage",
    "Drive",
    "Transmission",
    "Model Code",
    "Registration Year/month",
    "post id: 7968912000",
    "posted:",
    "Listing Details",
    "Location",
    "Lot",
    "FOB Price",
    "Total Price (C&F)",
    "Sold for USD $5,000 on 1/2/24",
    "Bid to USD $4,444",
    "odometer:",
)
WORDS = st.one_of(
    st.text(max_size=30),
    st.sampled_from(LABELS),
    st.from_regex(r"\$[0-9]{1,3}(,[0-9]{3})?", fullmatch=True),
    st.from_regex(r"(19|20)[0-9]{2}(/[0-9]{1,2})?", fullmatch=True),
)
VALUES = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        (
            "/",
            "//img.test/a.jpg",
            "https://www.example.test/x/ca123456/id/1234/",
            "javascript:void(0)",
            "?p=12",
            "1795500000",
            "-",
            "ASK",
            "35.9;-83.9",
        )
    ),
)
ATTRIBUTES = st.dictionaries(
    st.sampled_from(
        (
            "class",
            "id",
            "href",
            "src",
            "alt",
            "title",
            "content",
            "name",
            "value",
            "datetime",
            "data-listing_id",
            "data-timestamp_end",
            "data-latitude",
            "data-path",
            "data-car-id",
            "data-testid",
            "rel",
            "type",
        )
    ),
    VALUES,
    max_size=3,
) | st.fixed_dictionaries(
    {"class": st.lists(st.sampled_from(CLASSES), min_size=1, max_size=3).map(" ".join)},
    optional={"id": st.sampled_from(IDS), "href": VALUES},
)


def _attrs(attributes: dict[str, str]) -> str:
    return "".join(f' {k}="{html.escape(v, quote=True)}"' for k, v in attributes.items())


def _element(tag: str, attributes: dict, children: list[str]) -> str:
    return f"<{tag}{_attrs(attributes)}>{''.join(children)}</{tag}>"


HTML_NODES = st.recursive(
    WORDS | st.builds(lambda t, a: f"<{t}{_attrs(a)}>", st.sampled_from(VOID_TAGS), ATTRIBUTES),
    lambda inner: st.builds(
        _element, st.sampled_from(TAGS), ATTRIBUTES, st.lists(inner, max_size=4)
    ),
    max_leaves=30,
)
JSON_KEYS = (
    "data",
    "items",
    "decode",
    "minPostingId",
    "minPostedDate",
    "locationDescriptions",
    "locations",
    "areas",
    "totalResultCount",
    "cacheTs",
    "batch",
    "postingId",
    "postingUuid",
    "title",
    "price",
    "priceString",
    "attributes",
    "label",
    "value",
    "images",
    "location",
    "body",
    "id",
    "url",
    "year",
    "sold_text",
    "timestamp_end",
    "current_bid",
    "current_bid_formatted",
    "active",
    "country",
    "country_code",
    "thumbnail_url",
    "lat",
    "lon",
    "items_total",
    "pages_total",
    "base_filter",
    "keyword_pages",
    "itemSummaries",
    "itemId",
    "price",
    "currency",
    "@type",
    "@graph",
    "name",
    "offers",
    "brand",
    "model",
    "vehicleModelDate",
    "mileageFromOdometer",
)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(
        (
            "$7,500",
            "USD $4,444",
            "1:1~35.96~-83.92",
            "3:00h0h_4R4y4ghJzOC_0CI0t2",
            "Vehicle",
            "Car",
            "Sold for USD $5,000 on 1/2/24",
            "<b>x</b>",
        )
    ),
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(st.sampled_from(JSON_KEYS) | st.text(max_size=4), inner, max_size=6)
    ),
    max_leaves=40,
)


def _json_page(value, wrap: str) -> bytes:
    text = json.dumps(value)
    return {
        "bare": text,
        "data": json.dumps({"data": value}),
        "script": f"<html><body><script>var auctionsCompletedInitialData = {text};</script>"
        f"<script type='application/ld+json'>{text}</script></body></html>",
    }[wrap].encode()


#: Objects made of the keys parsers read (what a changed API most likely sends), or any JSON.
JSON_TOP = st.dictionaries(st.sampled_from(JSON_KEYS), JSON_VALUES, min_size=1, max_size=6)
JSON_DOCS = st.builds(
    _json_page, JSON_TOP | JSON_VALUES, st.sampled_from(("bare", "data", "script"))
)
BODIES = st.one_of(
    st.binary(max_size=2048),
    st.text(max_size=2048).map(lambda t: t.encode("utf-8")),
    st.lists(HTML_NODES, max_size=4).map(
        lambda nodes: ("<html><body>" + "".join(nodes) + "</body></html>").encode()
    ),
    JSON_DOCS,
)
#: Sources whose sites answer JSON too (an API), so their parse_page reads JSON answers.
JSON_SOURCES = ("craigslist", "bringatrailer", "ebay")

# -- the check --------------------------------------------------------------------------------


def check_parsers(name: str, response: TextResponse) -> None:
    module = PARSERS[name]
    expected = getattr(module, "UnexpectedShapeError", ())
    functions = {"parse_page": module.parse_page, **getattr(module, "PAGE_PARSERS", {})}
    for kind, parse in functions.items():
        try:
            listings = parse(response.replace(), SCRAPED_AT)
        except expected:
            continue
        assert isinstance(listings, list), kind
        for listing in listings:
            assert isinstance(listing, Listing), kind
            assert listing.source == module.SOURCE
            empty = [f.name for f in fields(listing) if getattr(listing, f.name) == ""]
            assert empty == [], f"{kind}: '' where None is meant: {empty}"


BAT_ITEMS_NOT_A_LIST = (
    b"<html><script>var auctionsCompletedInitialData = "
    b'{"items": 2561, "items_total": 3};</script></html>'
)


@pytest.mark.parametrize("name", sorted(PARSERS))
@FUZZ
@given(body=BODIES)
@example(body=BAT_ITEMS_NOT_A_LIST)
@example(body=b"")
@example(body=b"\x00\xff\xfe garbage \x1b[31m")
@example(body=b"<html><body><p>We changed everything</p></body></html>")
@example(body=b'{"data": {"items": [[1, 2, "x"]]}}')
def test_any_page_served_as_html_parses_or_says_unexpected_shape(name, body):
    """What every HTML callback gets: the site's answer labelled text/html, whatever it holds."""
    check_parsers(name, HtmlResponse(url=URL, body=body, encoding="utf-8"))


@pytest.mark.parametrize("name", JSON_SOURCES)
@FUZZ
@given(body=JSON_DOCS.filter(lambda b: b[:1] in (b"{", b"[")))
@example(body=b"[]")
@example(body=b'[{"data": {"items": []}}]')
@example(body=b"{}")
@example(body=b'{"data": null, "items": "none"}')
def test_any_json_answer_parses_or_says_unexpected_shape(name, body):
    """What the API callbacks and `keitrucks parse` of a saved answer get: a TextResponse."""
    check_parsers(name, TextResponse(url=URL, body=body, encoding="utf-8"))


def test_every_source_with_a_spider_has_a_fuzzed_parser():
    from scrapy.spiderloader import SpiderLoader
    from scrapy.utils.project import get_project_settings

    spiders = set(SpiderLoader.from_settings(get_project_settings()).list())
    assert spiders <= set(PARSERS)
    assert set(JSON_SOURCES) <= set(PARSERS)

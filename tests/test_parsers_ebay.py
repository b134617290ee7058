"""eBay parsers: golden files on the project's own pages, and conformance on real captures.

Golden cases are every page in ``tests/fixtures/ebay/`` (written for the project in eBay's
markup and Browse API shapes; see each ``.meta.json``). Conformance cases are the real captures
in ``shared/fixtures/ebay/`` with the values ``shared/sources/ebay.md`` section 6 lists for them.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest
from scrapy.http import TextResponse

from scrapers.blocking import block_reason
from scrapers.parsers import ebay, ebay_facts
from tests.conftest import FIXTURES, check_golden, response_for, shared_path

HERE = FIXTURES / "ebay"
SCRAPED_AT = "2026-11-24T06:00:00+00:00"
PAGES = sorted(p for p in HERE.iterdir() if p.suffix in (".html", ".json") and len(p.suffixes) == 1)
REAL = ("fixtures", "ebay")


def meta(page: Path) -> dict:
    return json.loads(page.with_name(f"{page.stem}.meta.json").read_text(encoding="utf-8"))


def load(name: str) -> TextResponse:
    page = HERE / name
    return response_for(page, meta(page)["url"])


def search_data(page: ebay.SearchPage) -> dict:
    return {
        "total": page.total,
        "next_url": page.next_url,
        "layout": page.layout,
        "exact_count": page.exact_count,
        "count_text": page.count_text,
        "listings": [asdict(x) for x in page.listings],
    }


def parse_fixture(page: Path) -> dict:
    """The parser's output for one fixture, as JSON-able data (kind from the file name)."""
    response = response_for(page, meta(page)["url"])
    kind = page.stem
    if kind.startswith("api_search"):
        return search_data(ebay.parse_api_search(response, SCRAPED_AT))
    if kind.startswith("api_item"):
        return asdict(ebay.parse_api_item(response, SCRAPED_AT))
    if kind.startswith("search"):
        return search_data(ebay.parse_search_html(response, SCRAPED_AT))
    return asdict(ebay.parse_item_page(response, SCRAPED_AT))


def no_seller_names(listing) -> bool:
    text = json.dumps(asdict(listing))
    return not any(
        name in text
        for name in (
            "smoky_mtn_imports",
            "backforty_farm",
            "gulfcoast_kei",
            "pnw_projects",
            "osaka_kei_export",
            "hilltop_haulers",
            "Smoky Mountain Imports",
        )
    )


# --- golden files ------------------------------------------------------------------------------


def test_every_page_kind_has_fixtures():
    kinds = [p.stem for p in PAGES]
    assert len([k for k in kinds if k.startswith("api_search")]) >= 3
    assert len([k for k in kinds if k.startswith("api_item")]) >= 2
    assert len([k for k in kinds if k.startswith("search_scard")]) >= 3
    assert "search_sitem" in kinds
    assert len([k for k in kinds if k.startswith("item_page")]) >= 2


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_golden(page, update_golden):
    check_golden(parse_fixture(page), page.with_name(f"{page.stem}.expected.json"), update_golden)


# --- Browse API --------------------------------------------------------------------------------


def test_api_search_reads_summaries_and_paging():
    page = ebay.parse_api_search(load("api_search.json"), SCRAPED_AT)
    assert (page.total, len(page.listings)) == (57, 4)
    assert page.next_url.endswith("&offset=4")
    fixed, auction, no_bids, project = page.listings
    assert fixed.listing_id == "146201337780"
    assert fixed.url == "https://www.ebay.com/itm/146201337780"
    assert (fixed.price_raw, fixed.currency_raw, fixed.price_basis) == ("8750.00", "USD", "asking")
    assert fixed.location_raw == "377**, US"
    assert fixed.posted_raw == "2026-11-23T17:42:05.000Z"
    assert len(fixed.image_urls) == 3
    assert fixed.attributes["buyingOptions"] == "FIXED_PRICE, BEST_OFFER"
    assert fixed.attributes["categories"] == "Other Makes | eBay Motors | Cars & Trucks"
    assert (auction.price_raw, auction.price_basis) == ("4350.00", "bid")
    assert auction.attributes["bidCount"] == "14"
    assert auction.attributes["itemEndDate"] == "2026-11-27T01:15:00.000Z"
    assert (no_bids.price_raw, no_bids.price_basis) == ("7900.00", "asking")
    assert project.image_urls == []
    assert project.location_raw is None
    assert all(no_seller_names(x) for x in page.listings)


def test_api_search_without_results_is_a_legitimate_empty_page():
    page = ebay.parse_api_search(load("api_search_empty.json"), SCRAPED_AT)
    assert (page.listings, page.total, page.next_url) == ([], 0, None)


def test_api_search_odd_items():
    response = load("api_search_odd.json")
    page = ebay.parse_api_search(response, SCRAPED_AT)
    assert ebay.api_item_count(response) == 3
    no_legacy, no_price = page.listings  # the third has no item number
    assert no_legacy.listing_id == "387700215512"
    assert no_legacy.location_raw == "Maryville, Tennessee, 378**, US"
    assert "865" not in no_legacy.title
    assert (no_price.price_raw, no_price.price_basis, no_price.image_urls) == (None, None, [])
    assert page.next_url is None


def test_api_item_gives_the_motors_aspects():
    item = ebay.parse_api_item(load("api_item.json"), SCRAPED_AT)
    assert item.listing_id == "146201337780"
    assert (item.year_raw, item.make_model_raw, item.mileage_raw) == (
        "1996",
        "Suzuki Carry",
        "41250",
    )
    assert (item.drive_raw, item.transmission_raw) == ("4WD", "Manual")
    assert item.attributes["VIN (Vehicle Identification Number)"] == "DD51T-418822"
    assert item.attributes["itemEndDate"] == "2026-12-23T17:42:05.000Z"
    assert item.seller_type == "dealer"
    assert item.status_raw == "IN_STOCK"
    assert item.location_raw == "Maryville, TN, 377**, US"
    assert item.description.splitlines()[0] == "1996 Suzuki Carry DD51T 4x4"
    assert "New tires" in item.description
    assert "555" not in item.description
    assert "@" not in item.description
    assert "trk" not in item.description
    assert no_seller_names(item)


def test_api_item_with_few_aspects():
    item = ebay.parse_api_item(load("api_item_minimal.json"), SCRAPED_AT)
    assert (item.year_raw, item.mileage_raw, item.drive_raw) == ("1994", None, None)  # title year
    assert item.make_model_raw == "Honda Acty"
    assert item.description == "Runs and drives, needs a clutch. Sold as is."
    assert (item.price_raw, item.price_basis) == ("5125.00", "bid")
    assert item.status_raw == "OUT_OF_STOCK"
    assert (item.seller_type, item.image_urls) == (None, [])


def test_token_answer_and_bad_answers():
    answer = TextResponse(
        url="https://api.ebay.com/identity/v1/oauth2/token",
        body=b'{"access_token": "v^1.1#i^1#sample", "expires_in": 7200}',
    )
    token = ebay.parse_token(answer)
    assert (token.access_token, token.expires_in) == ("v^1.1#i^1#sample", 7200)
    assert "sample" not in repr(token)
    assert ebay.parse_page(answer) == []
    error = TextResponse(url="https://api.ebay.com/x", body=b'{"errors": [{"errorId": 1001}]}')
    with pytest.raises(ebay.UnexpectedShapeError):
        ebay.parse_token(error)
    with pytest.raises(ebay.UnexpectedShapeError):
        ebay.parse_api_search(error)
    with pytest.raises(ebay.UnexpectedShapeError):
        ebay.parse_api_item(error)


# --- HTML search pages -------------------------------------------------------------------------


def test_scard_page_skips_placeholders_and_river_answers():
    page = ebay.parse_search_html(load("search_scard.html"), SCRAPED_AT)
    ids = [x.listing_id for x in page.listings]
    assert ids == ["146201337780", "266812004519", "356177420063", "340391800849", "205533190246"]
    assert "123456" not in ids
    assert "389900112233" not in ids
    assert (page.total, page.layout, page.exact_count) == (214, "s-card", None)
    assert page.next_url == "https://www.ebay.com/sch/i.html?_nkw=kei+truck&_sop=10&_ipg=60&_pgn=2"
    assert page.count_text == "214 results for kei truck"


def test_scard_fields_matched_by_text():
    fixed, auction, no_bids, parts, no_price = ebay.parse_search_html(
        load("search_scard.html"), SCRAPED_AT
    ).listings
    assert fixed.title == "1996 Suzuki Carry DD51T 4x4 Kei Mini Truck 5 Speed Hi/Lo"
    assert (fixed.price_raw, fixed.attributes["originalPrice"]) == ("$8,750.00", "$9,400.00")
    assert fixed.location_raw == "United States"
    assert fixed.attributes["shipping"] == "+$1,450.00 delivery"
    assert fixed.attributes["watchers"] == "23 watchers"
    assert (auction.price_basis, auction.attributes["bids"]) == ("bid", "14 bids")
    assert auction.attributes["timeLeft"] == "1d 3h left (Thu, 05:15 PM)"
    assert no_bids.price_basis == "asking"
    assert parts.price_raw == "$45.00 to $89.00"
    assert parts.image_urls == []
    assert parts.location_raw == "Canada"
    assert parts.attributes["condition"] == "Brand New"
    assert parts.attributes["caption"] == "NEW LOW PRICE"
    assert (no_price.price_raw, no_price.price_basis) == (None, None)
    assert "555" not in no_price.title
    assert all("Opens in a new window" not in x.title for x in (fixed, auction, parts))
    assert all(no_seller_names(x) for x in (fixed, auction, no_bids, parts, no_price))


def test_sold_page_captions_and_fewer_words_separator():
    page = ebay.parse_search_html(load("search_scard_sold.html"), SCRAPED_AT)
    assert [x.listing_id for x in page.listings] == ["266812004519", "297268998836", "188006882528"]
    assert page.exact_count == 2
    assert [x.listing_id for x in page.exact_listings] == ["266812004519", "297268998836"]
    first, offer, _ = page.listings
    assert (first.status_raw, first.price_basis) == ("Sold Nov 27, 2026", "sold")
    assert offer.status_raw == "Sold Oct 30, 2026"
    assert offer.attributes["bestOffer"] == "Best offer accepted"
    assert page.next_url is None


def test_empty_search_page_is_legitimately_empty():
    response = load("search_scard_empty.html")
    page = ebay.parse_search_html(response, SCRAPED_AT)
    assert (page.listings, page.total, page.layout) == ([], 0, "empty")
    assert ebay.is_empty_result(page, response)
    assert (
        block_reason(200, response.body, response.url, expect="html", anchor=ebay.SEARCH_ANCHOR)
        is None
    )


def test_legacy_sitem_layout():
    page = ebay.parse_search_html(load("search_sitem.html"), SCRAPED_AT)
    assert page.layout == "s-item"
    new, auction, parts = page.listings
    assert new.listing_id == "356429812199"
    assert new.title == "1995 Daihatsu Hijet S110P 4WD Mini Truck"
    assert new.location_raw == "Japan"
    assert new.attributes["bestOffer"] == "or Best Offer"
    assert (auction.price_basis, auction.attributes["timeLeft"]) == ("bid", "2d 4h left")
    assert parts.price_raw == "$20.00 to $35.00"
    assert parts.attributes["originalPrice"] == "$42.00"
    assert page.next_url.endswith("_pgn=2")
    assert all(no_seller_names(x) for x in page.listings)


def test_an_unknown_layout_fails_loudly():
    body = (
        b'<html><body><ul class="srp-results"><li class="su-item-card s-item-card--search-evo">'
        b'<div class="su-item-card__title">1995 Honda Acty</div></li></ul></body></html>'
    )
    response = TextResponse(url="https://www.ebay.com/sch/i.html?_nkw=acty", body=body)
    with pytest.raises(ebay.UnexpectedShapeError, match="unknown result entries"):
        ebay.parse_search_html(response)
    bare = TextResponse(url="https://www.ebay.com/sch/i.html", body=b"<html><body></body></html>")
    with pytest.raises(ebay.UnexpectedShapeError, match="no ul.srp-results"):
        ebay.parse_search_html(bare)


# --- item pages --------------------------------------------------------------------------------


def test_item_page_specifics():
    item = ebay.parse_item_page(load("item_page.html"), SCRAPED_AT)
    assert item.listing_id == "146201337780"
    assert (item.title, item.price_raw) == (
        "1996 Suzuki Carry DD51T 4x4 Kei Mini Truck 5 Speed Hi/Lo",
        "US $8,750.00",
    )
    assert (item.year_raw, item.make_model_raw, item.mileage_raw) == (
        "1996",
        "Suzuki Carry",
        "41,250",
    )
    assert (item.drive_raw, item.transmission_raw, item.seller_type) == ("4WD", "Manual", "dealer")
    assert item.attributes["Condition"].endswith("at least one previous owner.")
    assert "Read more" not in item.attributes["Condition"]
    assert item.attributes["categories"] == "eBay Motors | Cars & Trucks | Other Makes"
    assert len(item.image_urls) == 2
    assert no_seller_names(item)


def test_sparse_item_page():
    item = ebay.parse_item_page(load("item_page_sparse.html"), SCRAPED_AT)
    assert item.title == "Subaru Sambar KS4 Mini Truck 4WD Project"
    assert (item.price_raw, item.price_basis, item.image_urls) == (None, None, [])
    assert item.seller_type == "owner"
    assert item.status_raw.startswith("This listing sold on")
    assert item.url == "https://www.ebay.com/itm/205533190246"


def test_merge_keeps_the_search_price_and_adds_the_item_fields():
    summary = ebay.parse_search_html(load("search_scard.html"), SCRAPED_AT).listings[0]
    merged = ebay.merge_detail(summary, ebay.parse_item_page(load("item_page.html"), SCRAPED_AT))
    assert (merged.price_raw, merged.price_basis) == ("$8,750.00", "asking")
    assert merged.year_raw == "1996"
    assert merged.attributes["watchers"] == "23 watchers"
    assert merged.attributes["Make"] == "Suzuki"
    assert len(merged.image_urls) == 2


def test_parse_page_dispatches_every_kind():
    assert len(ebay.parse_page(load("api_search.json"))) == 4
    assert ebay.parse_page(load("api_item.json"))[0].year_raw == "1996"
    assert len(ebay.parse_page(load("search_sitem.html"))) == 3
    assert ebay.parse_page(load("item_page.html"))[0].drive_raw == "4WD"
    assert set(ebay.PAGE_PARSERS) == {"search", "detail"}
    assert len(ebay.PAGE_PARSERS["search"](load("search_scard.html"), None)) == 5
    assert ebay.PAGE_PARSERS["detail"](load("api_item_minimal.json"), None)[0].price_basis == "bid"


# --- conformance on the real captures ----------------------------------------------------------


def real(name: str, url: str) -> TextResponse:
    return response_for(shared_path(*REAL, name), url)


def test_real_browse_api_search():
    response = real(
        "browse_api_item_summary_search_trimmed_2026-09.json",
        "https://api.ebay.com/buy/browse/v1/item_summary/search?q=pokemon+charizard",
    )
    page = ebay.parse_api_search(response)
    assert page.total == 349
    assert "offset=50" in page.next_url
    assert [(x.listing_id, x.price_raw, x.currency_raw) for x in page.listings] == [
        ("257719387397", "195.00", "USD"),
        ("257606940182", "205.99", "USD"),
        ("167236883977", "219.99", "USD"),
    ]
    first = page.listings[0]
    assert first.location_raw == "786**, US"
    assert first.posted_raw == "2026-09-02T23:15:16.000Z"
    assert first.attributes["buyingOptions"] == "FIXED_PRICE"
    assert first.attributes["categoryId"] == "183454"
    assert all(x.title and x.image_urls and x.price_basis == "asking" for x in page.listings)
    assert "seller_1" not in json.dumps([asdict(x) for x in page.listings])


def test_real_scard_active_page():
    url = "https://www.ebay.com/sch/i.html?_nkw=kitchen+accessories&_sop=12"
    response = real("search_scard_kitchen_accessories_newly_listed_2026-04.html", url)
    page = ebay.parse_search_html(response)
    assert (len(page.listings), page.layout, page.exact_count) == (60, "s-card", None)
    assert len({x.listing_id for x in page.listings}) == 60
    first = page.listings[0]
    assert (first.listing_id, first.price_raw, first.location_raw) == (
        "155888203360",
        "$21.99",
        "Thailand",
    )
    assert page.total == 9100
    assert page.count_text.startswith("9,100+ results")
    assert page.next_url.endswith("&_pgn=2")
    assert all(x.title and x.price_raw and x.location_raw for x in page.listings)
    assert all("Opens in a new window" not in x.title for x in page.listings)
    assert all(x.image_urls for x in page.listings)
    assert "2500219655424533" not in {x.listing_id for x in page.listings}
    ranges = [x for x in page.listings if " to " in x.price_raw]
    assert len(ranges) == 14
    assert page.listings[1].attributes["originalPrice"] == "$3.42"
    assert "manochtom" not in json.dumps(asdict(first))
    assert block_reason(200, response.body, url, expect="html", anchor=ebay.SEARCH_ANCHOR) is None


def test_real_scard_sold_page():
    url = "https://www.ebay.com/sch/i.html?_nkw=2011+volkswagen+jetta+cold+air+intake+apr&_sop=12"
    response = real("search_scard_sold_2011_vw_jetta_intake_2026-05.html", url)
    page = ebay.parse_search_html(response)
    assert len(page.listings) == 60
    first = page.listings[0]
    assert first.listing_id == "135533719878"
    assert first.status_raw == "Sold Mar 4, 2026"
    assert first.location_raw == "United States"
    assert all(x.price_basis == "sold" and x.status_raw.startswith("Sold ") for x in page.listings)
    assert all(x.title and x.price_raw for x in page.listings)
    assert "2500219655424533" not in {x.listing_id for x in page.listings}
    assert (page.total, page.exact_count, page.next_url) == (1, 1, None)


def test_real_legacy_sitem_page():
    url = "https://www.ebay.com/sch/i.html?_nkw=nintendo+switch&_sop=12"
    response = real("search_sitem_legacy_nintendo_switch_2025-05.html", url)
    assert len(response.css("li.s-item")) == 62
    page = ebay.parse_search_html(response)
    assert (len(page.listings), page.layout) == (60, "s-item")
    first = page.listings[0]
    assert first.listing_id == "125098319434"
    assert first.title.startswith("ニンテンドースイッチ")
    assert first.price_raw.startswith("3,858 円")
    assert all(x.title != "Shop on eBay" for x in page.listings)
    assert all(x.price_raw and x.location_raw for x in page.listings)
    assert page.total == 7400


def test_real_item_specifics_excerpt():
    url = "https://www.ebay.co.uk/itm/336671046336"
    response = real("item_page_excerpt_item_specifics_ebay_uk_2026-07.html", url)
    assert len(ebay.parse_item_specifics(response)) == 7
    item = ebay.parse_item_page(response)
    assert item.listing_id == "336671046336"
    assert item.attributes["Brand"] == "MSI"
    assert item.attributes["Country of Origin"] == "China"
    assert item.attributes["Condition"].startswith("Used: An item that has been previously used.")
    assert item.title == "MSI NVIDIA GeForce RTX 2070 SUPER GAMING X TRIO Graphics Card"
    assert "danlally91" not in json.dumps(asdict(item))
    assert block_reason(200, response.body, url, expect="html", anchor=ebay.ITEM_ANCHOR) is None


def test_real_error_page_is_a_block():
    page = shared_path(*REAL, "error_page_akamai_reference_2026-08.html")
    body = page.read_bytes()
    search = "https://www.ebay.com/sch/i.html?_nkw=kei+truck&_sop=10&_ipg=60"
    assert block_reason(200, body, search, expect="html", anchor=ebay.SEARCH_ANCHOR)
    assert block_reason(
        200, body, "https://www.ebay.com/itm/1", expect="html", anchor=ebay.ITEM_ANCHOR
    )
    with pytest.raises(ebay.UnexpectedShapeError):
        ebay.parse_search_html(response_for(page, search))


@pytest.mark.parametrize(
    ("title", "categories", "expected"),
    [
        ("1994 Honda Acty HA4 4WD", None, {"year_raw": "1994"}),
        (
            "Kei truck, runs",
            "eBay Motors | Cars & Trucks | Honda | Acty",
            {"make_model_raw": "Honda Acty"},
        ),
        ("Mini truck", "eBay Motors | Cars & Trucks | Other Makes", {}),
        ("Mud Flaps for Suzuki Carry 1996", "eBay Motors | Parts & Accessories", {}),
    ],
)
def test_year_and_make_from_title_and_category(title, categories, expected):
    assert ebay_facts.year_and_make(title, categories) == expected


def test_international_seller_location_keeps_its_words():
    assert ebay._row_kind("aus Großbritannien") == "location"
    assert ebay._LOCATION_PREFIX.sub("", "aus Großbritannien") == "aus Großbritannien"

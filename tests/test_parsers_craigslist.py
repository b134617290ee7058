"""Craigslist parsers: golden files on the project's own pages, and conformance on real captures.

Golden cases are every page in ``tests/fixtures/craigslist/`` (written for the project in the
site's markup and JSON shapes; see each ``.meta.json``). Conformance cases are the real captures
in ``shared/fixtures/craigslist/``, with the values the source guide lists for them.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse, TextResponse

from scrapers.items import Listing
from scrapers.parsers import craigslist
from tests.conftest import FIXTURES, check_golden, response_for, shared_path

HERE = FIXTURES / "craigslist"
SCRAPED_AT = "2026-11-24T06:00:00+00:00"
PAGES = sorted(p for p in HERE.iterdir() if p.suffix in (".html", ".json") and len(p.suffixes) == 1)


def meta(page: Path) -> dict:
    return json.loads(page.with_name(f"{page.stem}.meta.json").read_text(encoding="utf-8"))


def load(name: str) -> TextResponse:
    page = HERE / name
    return response_for(page, meta(page)["url"])


def parse_fixture(page: Path) -> dict | list:
    """The parser's output for one fixture, as JSON-able data (kind from the file name)."""
    info = meta(page)
    response = response_for(page, info["url"])
    purveyor = info.get("purveyor")
    kind = page.stem
    if kind.startswith(("api_full", "api_batch", "search_static")):
        if kind.startswith("api_full"):
            result = craigslist.parse_search_full(response, SCRAPED_AT, purveyor=purveyor)
        elif kind.startswith("api_batch"):
            result = craigslist.parse_search_batch(response, SCRAPED_AT, purveyor=purveyor)
        else:
            result = craigslist.parse_search_static(response, SCRAPED_AT, purveyor=purveyor)
        return {
            "total": result.total,
            "item_count": result.item_count,
            "cache_ts": result.cache_ts,
            "listings": [asdict(x) for x in result.listings],
        }
    if kind.startswith("api_detail"):
        return asdict(craigslist.parse_posting_api(response, SCRAPED_AT))
    return asdict(craigslist.parse_posting(response, SCRAPED_AT))


# --- golden files ------------------------------------------------------------------------------


def test_every_page_kind_has_fixtures():
    kinds = {p.stem.split("_")[0] for p in PAGES}
    assert {"api", "posting", "search"} <= kinds
    assert len([p for p in PAGES if p.stem.startswith("api_full")]) >= 2
    assert len([p for p in PAGES if p.stem.startswith("posting")]) >= 3


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_golden(page, update_golden):
    check_golden(parse_fixture(page), page.with_name(f"{page.stem}.expected.json"), update_golden)


# --- key fields on the project's pages ---------------------------------------------------------


def test_full_answer_reads_ids_prices_and_places_by_tag():
    page = craigslist.parse_search_full(load("api_full.json"), SCRAPED_AT, purveyor="owner")
    assert (page.total, page.item_count, page.cache_ts) == (4, 4, 1795499880)
    first, no_photo, junk, no_odometer = page.listings
    assert first.listing_id == "7968916123"  # 7968912000 + 4123
    assert first.posted_raw == "2026-11-24T01:04:10+00:00"  # 1795420000 + 61250
    assert first.url.endswith("/view/d/knoxville-1995-suzuki-carry-4x4-mini/Kx3vQm8LrT2pWn5YhB7cDe")
    assert (first.price_raw, first.mileage_raw, first.currency_raw) == ("$7,800", "48200", "USD")
    assert (first.latitude, first.longitude, first.location_raw) == (35.9606, -83.9207, "Knoxville")
    assert len(first.image_urls) == 3
    assert no_photo.image_urls == []
    assert no_photo.location_raw == "Oak Ridge, TN"
    assert junk.location_raw is None
    assert junk.price_raw == "$1"
    assert no_odometer.mileage_raw is None


def test_odd_layouts_still_give_every_field():
    page = craigslist.parse_search_full(
        load("api_full_odd_layout.json"), SCRAPED_AT, purveyor="dealer"
    )
    extra_negative, no_code, no_price, other_area = page.listings
    assert extra_negative.seller_type == "dealer"
    assert extra_negative.price_raw == "$8,950"
    assert extra_negative.latitude == 35.5951
    assert no_code.price_raw == "6500"
    assert no_code.seller_type == "dealer"
    assert no_code.url.endswith("/Lk8jHg6fDs4aQw2eRt0yUi")
    assert no_price.price_raw is None
    assert no_price.price_basis is None
    assert "555" not in no_price.title
    assert other_area.location_raw == "Gastonia (near Charlotte)"


def test_an_empty_answer_is_a_legitimate_empty_page():
    page = craigslist.parse_search_full(load("api_full_empty.json"), SCRAPED_AT)
    assert (page.listings, page.total, page.item_count) == ([], 0, 0)


def test_batch_ids_come_from_its_own_min_posting_id():
    page = craigslist.parse_search_batch(load("api_batch.json"), SCRAPED_AT, purveyor="owner")
    assert [x.listing_id for x in page.listings] == ["7968916123", "7968914210", "7968865877"]
    assert page.listings[0].title == "1995 Suzuki Carry 4x4 mini truck"
    assert page.listings[1].image_urls == []
    assert page.listings[2].price_raw is None
    assert page.listings[2].mileage_raw is None
    assert {x.seller_type for x in page.listings} == {"owner"}


def test_kei_truck_posting_gives_every_attribute():
    listing = craigslist.parse_posting(load("posting_kei_truck.html"), SCRAPED_AT)
    assert listing.listing_id == "7968916123"
    assert (listing.year_raw, listing.make_model_raw) == ("1995", "suzuki carry 4x4")
    assert (listing.drive_raw, listing.transmission_raw, listing.mileage_raw) == (
        "4wd",
        "manual",
        "48,200",
    )
    assert listing.attributes["VIN"] == "DD51T-412345"
    assert listing.attributes["title status"] == "clean"
    assert listing.attributes["updated"] == "2026-11-24T08:31:55-0500"
    assert listing.posted_raw == "2026-11-23T20:04:10-0500"
    assert (listing.price_raw, listing.currency_raw) == ("$7,800", "USD")
    assert (listing.seller_type, listing.location_raw) == ("owner", "Knoxville")
    assert len(listing.image_urls) == 3
    assert listing.repost_of is None


def test_posting_keeps_no_contact_details():
    listing = craigslist.parse_posting(load("posting_kei_truck.html"), SCRAPED_AT)
    text = json.dumps(asdict(listing))
    assert "555-0188" not in text
    assert "example.net" not in text
    assert "contact" not in listing.attributes
    assert "[phone removed]" in listing.description


def test_posting_without_price_or_photos():
    listing = craigslist.parse_posting(load("posting_no_price_no_photos.html"), SCRAPED_AT)
    assert listing.price_raw is None
    assert listing.price_basis is None
    assert listing.currency_raw is None
    assert listing.image_urls == []
    assert listing.year_raw is None
    assert listing.drive_raw is None
    assert listing.seller_type == "dealer"


def test_old_form_repost_with_images_only_in_the_script():
    listing = craigslist.parse_posting(load("posting_old_form_repost.html"), SCRAPED_AT)
    assert (listing.listing_id, listing.repost_of) == ("7968811234", "7968701111")
    assert listing.location_raw == "Maryville / Alcoa"
    assert len(listing.image_urls) == 2
    assert listing.mileage_raw is None
    assert listing.drive_raw == "rwd"


def test_detail_api_posting():
    listing = craigslist.parse_posting_api(load("api_detail.json"), SCRAPED_AT)
    assert (listing.listing_id, listing.price_raw, listing.year_raw) == (
        "7968916123",
        "$7,800",
        "1995",
    )
    assert (listing.drive_raw, listing.mileage_raw) == ("4wd", "48,200")
    assert "contact" not in listing.attributes
    assert "555" not in json.dumps(asdict(listing))
    assert "@" not in listing.description


def test_static_page_rows_and_ids():
    page = craigslist.parse_search_static(load("search_static.html"), SCRAPED_AT, purveyor="owner")
    ids = [x.listing_id for x in page.listings]
    assert ids == [
        "Kx3vQm8LrT2pWn5YhB7cDe",
        "Ab1_Cd2-Ef3gHi4jKl5mNo",
        "Pq6rSt7uVw8xYz9aBc0dEf",
        "7968811234",
        "7968930001",
    ]
    carry, twin, _, sambar, wanted = page.listings
    assert (carry.latitude, carry.longitude) == (35.9606, -83.9207)
    assert twin.latitude is None  # two rows share the title: no safe match in the JSON-LD
    assert sambar.latitude == 35.7565
    assert wanted.price_raw is None
    assert wanted.location_raw is None


# --- small functions ---------------------------------------------------------------------------

SCRUB_CASES = [
    ("call (865) 555-0142 today", "call [phone removed] today"),
    ("text 865.555.0142", "text [phone removed]"),
    ("+1 865 555 0142", "[phone removed]"),
    ("Please call (414) 807-453five for more", "Please call [phone removed] for more"),
    ("eight six five five five five zero one four two", "[phone removed]"),
    ("mail joe.doe@example.com now", "mail [email removed] now"),
    ("1996 1997 1998 Carry, 140,000 miles", "1996 1997 1998 Carry, 140,000 miles"),
    ("VIN JN1AZ36A75M759937, 2005-2008 models", "VIN JN1AZ36A75M759937, 2005-2008 models"),
]


@pytest.mark.parametrize(("text", "expected"), SCRUB_CASES, ids=[c[0] for c in SCRUB_CASES])
def test_scrub_contacts(text, expected):
    assert craigslist.scrub_contacts(text) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://knoxville.craigslist.org/cto/d/slug-words/7968811234.html", "7968811234"),
        (
            "https://www.craigslist.org/view/d/slug-words/Kx3vQm8LrT2pWn5YhB7cDe",
            "Kx3vQm8LrT2pWn5YhB7cDe",
        ),
        (
            "https://www.craigslist.org/view/d/new-york-cozy/4mk_Ee1k8RGnO5-kAiTQUQ",
            "4mk_Ee1k8RGnO5-kAiTQUQ",
        ),
        ("https://www.craigslist.org/search/area/knoxville?cat=cta", None),
    ],
)
def test_listing_id_from_url(url, expected):
    assert craigslist.listing_id_from_url(url) == expected


def test_merge_prefers_page_fields_but_keeps_search_identity():
    search = Listing(
        source="craigslist",
        listing_id="7968916123",
        url="https://www.craigslist.org/view/d/s/u",
        price_raw="$7,800",
        mileage_raw="48200",
        image_urls=["a"],
    )
    page = Listing(
        source="craigslist",
        listing_id="7968916123",
        url="https://elsewhere.test/p",
        mileage_raw="48,200",
        year_raw="1995",
    )
    merged = craigslist.merge_listings(search, page)
    assert merged.url == search.url
    assert (merged.price_raw, merged.mileage_raw, merged.year_raw) == ("$7,800", "48,200", "1995")
    assert merged.image_urls == ["a"]


MERGE_CASES = [
    # (search result fields, posting page fields)
    ({"price_raw": "$7,800", "attributes": {"a": "1"}}, {"attributes": {"b": "2"}, "title": "T"}),
    ({"listing_id": "Kx3vQm8LrT2pWn5YhB7cDe", "image_urls": ["a"]}, {"image_urls": []}),
    ({"attributes": {}}, {"attributes": {"year": "1995"}, "latitude": 0.0, "description": ""}),
]


@pytest.mark.parametrize(("search_fields", "page_fields"), MERGE_CASES)
def test_merge_is_the_search_result_replaced_by_the_page_fields(search_fields, page_fields):
    from dataclasses import replace

    from scrapers.items import RAW_FIELDS

    base = {"source": "craigslist", "listing_id": "7968916123", "url": "https://x/u"}
    search = Listing(**{**base, **search_fields})
    page = Listing(**{**base, "url": "https://y/p", **page_fields})
    updates = {
        n: getattr(page, n) for n in RAW_FIELDS if getattr(page, n) not in (None, "", [], {})
    }
    if search.attributes and page.attributes:
        updates["attributes"] = {**search.attributes, **page.attributes}
    if not search.listing_id.isdigit():
        updates["listing_id"] = page.listing_id
    merged = craigslist.merge_listings(search, page)
    assert type(merged) is Listing
    assert vars(merged) == vars(replace(search, **updates))
    assert merged is not search


def test_merge_gives_a_static_row_the_pages_posting_id():
    row = Listing(source="craigslist", listing_id="Kx3vQm8LrT2pWn5YhB7cDe", url="https://x/u")
    page = Listing(source="craigslist", listing_id="7968916123", url="https://x/u")
    assert craigslist.merge_listings(row, page).listing_id == "7968916123"


@pytest.mark.parametrize(
    "body",
    [b'{"data": {"unexpected": []}}', b'{"errors": ["bad"]}', b"[1, 2]", b"{not json"],
)
def test_unknown_api_shapes_raise(body):
    response = TextResponse(url="https://sapi.craigslist.org/x", body=body, encoding="utf-8")
    with pytest.raises(craigslist.UnexpectedShapeError):
        craigslist.parse_search_full(response)


def test_items_without_decode_raise():
    body = json.dumps({"data": {"items": [[1, 2, 145, 5, "title"]], "decode": {}}}).encode()
    response = TextResponse(url="https://sapi.craigslist.org/x", body=body, encoding="utf-8")
    with pytest.raises(craigslist.UnexpectedShapeError):
        craigslist.parse_search_full(response)


def test_paging_setup():
    body = b'{"data": {"cacheId": "abc123", "maxPostedTs": 1795481250}, "errors": []}'
    response = TextResponse(url="https://sapi.craigslist.org/x", body=body, encoding="utf-8")
    assert craigslist.parse_paging_setup(response) == craigslist.PagingSetup("abc123", 1795481250)
    with pytest.raises(craigslist.UnexpectedShapeError):
        craigslist.parse_paging_setup(
            TextResponse(url="https://x", body=b'{"data": {}}', encoding="utf-8")
        )


def test_a_page_without_post_id_raises():
    response = HtmlResponse(url="https://x", body=b"<html><body>gone</body></html>")
    with pytest.raises(craigslist.UnexpectedShapeError):
        craigslist.parse_posting(response)


def test_static_page_without_result_list_raises():
    response = HtmlResponse(url="https://x", body=b"<html><body><main></main></body></html>")
    with pytest.raises(craigslist.UnexpectedShapeError):
        craigslist.parse_search_static(response)


@pytest.mark.parametrize(
    ("name", "count"),
    [
        ("api_full.json", 4),
        ("api_batch.json", 3),
        ("api_detail.json", 1),
        ("posting_kei_truck.html", 1),
        ("search_static.html", 5),
    ],
)
def test_parse_page_recognises_each_kind(name, count):
    assert len(craigslist.parse_page(load(name), SCRAPED_AT)) == count


# --- conformance on real captures --------------------------------------------------------------

REAL = ("fixtures", "craigslist")
FULL_URL = (
    "https://sapi.craigslist.org/web/v8/postings/search/full?batch=0-0-360-0-0&cat=cta"
    "&purveyor=owner&searchPath=area%2Forangecounty&lang=en&cc=us"
)


def real(name: str, url: str) -> TextResponse:
    return response_for(shared_path(*REAL, name), url)


def test_real_full_answer():
    page = craigslist.parse_search_full(
        real("sapi_search_full_cta_owner_orangecounty_2026-09.json", FULL_URL),
        SCRAPED_AT,
        purveyor="owner",
    )
    assert (page.total, page.item_count, len(page.listings)) == (1508, 20, 20)
    first = page.listings[0]
    assert first.listing_id == "7968808449"
    assert (first.price_raw, first.mileage_raw) == ("$7,500", "140000")
    assert first.url.endswith("/rbFpehbubddhXXYr61UQG5")
    assert first.title == "2015 MERCEDES BENZ C300 FULLY LOADED VERY CLEAN!!!"
    assert (first.latitude, first.longitude) == (33.5145, -117.7084)
    assert first.location_raw == "Laguna Niguel"
    assert first.currency_raw == "USD"
    assert sum(1 for x in page.listings if not x.image_urls) == 2
    for listing in page.listings:
        assert listing.listing_id.isdigit()
        assert listing.title
        assert listing.price_raw
        assert listing.mileage_raw is not None
        assert listing.latitude is not None
        assert listing.longitude is not None
        assert listing.seller_type == "owner"


def test_real_batch_answer():
    page = craigslist.parse_search_batch(
        real("sapi_search_batch_cta_owner_orangecounty_2026-09.json", FULL_URL),
        SCRAPED_AT,
        purveyor="owner",
    )
    assert (page.item_count, len(page.listings)) == (20, 20)
    assert page.listings[0].listing_id == "7968808449"
    assert all(
        x.title and x.url.startswith("https://www.craigslist.org/view/d/") for x in page.listings
    )


def test_real_detail_api():
    listing = craigslist.parse_posting_api(
        real(
            "sapi_posting_detail_fuo_albuquerque_2026-09.json",
            "https://sapi.craigslist.org/web/v8/postings/hjF91PRY1XsMyUXyvdYdHL?lang=en&cc=US",
        )
    )
    assert listing.listing_id == "7963232772"
    assert listing.attributes["condition"] == "good"
    assert (listing.price_raw, listing.latitude) == ("$250", 34.941947)
    assert listing.seller_type == "owner"
    assert len(listing.image_urls) == 16


def test_real_350z_posting():
    listing = craigslist.parse_posting(
        real(
            "posting_cto_2005_nissan_350z_losangeles_2026-05.html",
            "https://losangeles.craigslist.org/sfv/cto/d/sherman-oaks-2005-nissan-350z-roadster/7936311079.html",
        ),
        SCRAPED_AT,
    )
    assert (listing.listing_id, listing.repost_of) == ("7936311079", "7935930521")
    assert listing.title == "2005 Nissan 350z roadster 6psd manual"
    assert (listing.year_raw, listing.make_model_raw) == ("2005", "Nissan 350Z")
    assert (listing.drive_raw, listing.mileage_raw, listing.transmission_raw) == (
        "rwd",
        "85,000",
        "manual",
    )
    assert listing.attributes["VIN"] == "JN1AZ36A75M759937"
    assert (listing.price_raw, listing.currency_raw) == ("$10,900", "USD")
    assert (listing.latitude, listing.longitude) == (34.1514, -118.4603)
    assert listing.location_raw == "Valley village"
    assert listing.posted_raw == "2026-05-23T13:11:38-0700"
    assert len(listing.image_urls) == 21
    assert listing.seller_type == "owner"


def test_real_trimmed_attributes_page_keeps_no_phone():
    listing = craigslist.parse_posting(
        real(
            "posting_detail_trimmed_attrs_2026-09.html",
            "https://www.craigslist.org/view/d/laguna-niguel-2015-mercedes-benz-c300/rbFpehbubddhXXYr61UQG5",
        ),
        SCRAPED_AT,
    )
    assert listing.listing_id == "7968808449"
    assert listing.mileage_raw == "140,000"
    assert listing.attributes["odometer"] == "140,000"
    assert listing.transmission_raw == "automatic"
    output = json.dumps(asdict(listing))
    assert "555" not in output
    assert "949" not in output


@pytest.mark.parametrize(
    ("name", "url", "post_id"),
    [
        (
            "posting_apa_milwaukee_2026-05.html",
            "https://milwaukee.craigslist.org/apa/d/milwaukee-wauwatosa-bdrm-bath-near-mcw/7936415355.html",
            "7936415355",
        ),
        (
            "posting_apa_newyork_2026-06.html",
            "https://newyork.craigslist.org/mnh/apa/d/new-york-no-fee-bright-1br-central-park/7942602776.html",
            "7942602776",
        ),
    ],
)
def test_real_housing_postings_parse_without_auto_attributes(name, url, post_id):
    listing = craigslist.parse_posting(real(name, url), SCRAPED_AT)
    assert listing.listing_id == post_id
    assert listing.title
    assert listing.price_raw
    assert listing.latitude is not None
    assert (listing.year_raw, listing.make_model_raw, listing.drive_raw) == (None, None, None)
    assert (listing.mileage_raw, listing.transmission_raw) == (None, None)
    assert not any(key.startswith("auto_") for key in listing.attributes)


def test_real_housing_posting_loses_its_spelled_out_phone_number():
    listing = craigslist.parse_posting(
        real(
            "posting_apa_milwaukee_2026-05.html",
            "https://milwaukee.craigslist.org/apa/d/milwaukee-wauwatosa-bdrm-bath-near-mcw/7936415355.html",
        )
    )
    assert "807" not in listing.description
    assert "[phone removed]" in listing.description


def test_real_static_manhattan_page():
    page = craigslist.parse_search_static(
        real(
            "search_static_apa_manhattan_2026-07.html",
            "https://www.craigslist.org/search/subarea/mnh?cat=apa",
        )
    )
    assert page.item_count == 153
    assert len(page.listings) == 153
    assert page.listings[0].price_raw == "$3,499"
    assert page.listings[0].url.startswith("https://www.craigslist.org/view/d/")
    assert all(x.title for x in page.listings)


def test_real_static_milwaukee_page_old_links():
    page = craigslist.parse_search_static(
        real(
            "search_static_apa_milwaukee_2026-05.html",
            "https://milwaukee.craigslist.org/search/apa?query=wauwatosa",
        )
    )
    assert len(page.listings) == 37
    assert page.listings[0].url.endswith("/7936415355.html")
    assert page.listings[0].listing_id == "7936415355"
    assert all(x.listing_id.isdigit() for x in page.listings)

"""Conformance: every parser over EVERY real page saved in ../shared/fixtures/<source>/.

Each real page has one row in PAGES: what the parser must make of it, with values read off the
page by hand. A page is either read (its layout, its record count, and key fields of records
named by id) or refused (blocked, or a layout the parser does not know). A page saved in a
source's folder without a row fails ``test_every_real_page_has_a_row``: add its row (see the
README, "A page the parser does not read?"). Skipped when ../shared is absent.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

import pytest
from scrapy.http import HtmlResponse, TextResponse

from scrapers.blocking import block_reason, looks_like_json
from scrapers.parsers.shape import LayoutError, read_page
from tests.conftest import SHARED, shared_path

#: Source folders of ../shared/fixtures that have a parser (the others hold no pages we read).
PARSED_SOURCES = (
    "beforward",
    "bringatrailer",
    "carfromjapan",
    "craigslist",
    "dealer_jsonld",
    "ebay",
    "sbtjapan",
)


@dataclass(frozen=True)
class Page:
    source: str
    file: str
    url: str
    #: the layout name the parser must find; None when the page must be refused
    layout: str | None = None
    count: int = 0
    #: listing_id -> raw fields that record must carry
    fields: dict[str, dict[str, object]] = field(default_factory=dict)
    #: text the refusal must contain ("blocked: challenge_page", "unknown page layout" ...)
    refused: str | None = None
    #: a shape warning the reading must carry (a known layout that yields nothing)
    warning: str | None = None


SCRAPER_OUTPUT = "unknown page layout"  # scraper output saved as JSON is not a page

PAGES = (
    # --- Bring a Trailer
    Page(
        "bringatrailer",
        "auctions_live_page_2025-02-27.html",
        "https://bringatrailer.com/auctions/",
        layout="live auctions page",
        count=811,
        fields={
            "89677863": {
                "title": "1995 Daihatsu HiJet Pickup 4WD 5-Speed",
                "price_raw": "USD $4,600",
                "currency_raw": "USD",
                "year_raw": "1995",
                "drive_raw": "4WD",
                "transmission_raw": "5-Speed",
                "status_raw": "live",
                "price_basis": "bid",
                "location_raw": "United States",
            },
            "89491562": {"mileage_raw": "48k-Mile", "year_raw": "2013", "price_raw": "USD $34,500"},
        },
    ),
    Page(
        "bringatrailer",
        "model_page_completed_porsche_911_gt3_2026-04.html",
        "https://bringatrailer.com/porsche/911-gt3/",
        layout="model page",
        count=31,
        fields={
            "110973652": {
                "title": "2022 Porsche 911 GT3",
                "price_raw": "USD $225,000",
                "year_raw": "2022",
                "status_raw": "ended",
            }
        },
    ),
    Page(
        "bringatrailer",
        "models_directory_trimmed_2025-09.html",
        "https://bringatrailer.com/models/",
        layout="models directory",
    ),
    # --- Craigslist
    Page(
        "craigslist",
        "posting_apa_milwaukee_2026-05.html",
        "https://milwaukee.craigslist.org/apa/d/wauwatosa-wauwatosa-bdrm-bath-near-mcw/7936415355.html",
        layout="posting page",
        count=1,
        fields={"7936415355": {"price_raw": "$1,325", "location_raw": "Wauwatosa"}},
    ),
    Page(
        "craigslist",
        "posting_apa_newyork_2026-06.html",
        "https://newyork.craigslist.org/mnh/apa/d/new-york-no-fee-bright-1br/7942602776.html",
        layout="posting page",
        count=1,
        fields={"7942602776": {"price_raw": "$3,850", "location_raw": "Upper West Side"}},
    ),
    Page(
        "craigslist",
        "posting_cto_2005_nissan_350z_losangeles_2026-05.html",
        "https://losangeles.craigslist.org/sfv/cto/d/valley-village-2005-nissan-350z/7936311079.html",
        layout="posting page",
        count=1,
        fields={
            "7936311079": {
                "price_raw": "$10,900",
                "year_raw": "2005",
                "make_model_raw": "Nissan 350Z",
                "mileage_raw": "85,000",
                "drive_raw": "rwd",
                "transmission_raw": "manual",
                "seller_type": "owner",
            }
        },
    ),
    Page(
        "craigslist",
        "posting_detail_trimmed_attrs_2026-09.html",
        "https://orangecounty.craigslist.org/cto/d/laguna-niguel-2015-mercedes-benz/7968808449.html",
        layout="posting page",
        count=1,
        fields={"7968808449": {"mileage_raw": "140,000", "transmission_raw": "automatic"}},
    ),
    Page(
        "craigslist",
        "sapi_posting_detail_fuo_albuquerque_2026-09.json",
        "https://sapi.craigslist.org/web/v8/postings/7963232772",
        layout="posting API",
        count=1,
        fields={"7963232772": {"price_raw": "$250", "seller_type": "owner"}},
    ),
    Page(
        "craigslist",
        "sapi_search_batch_cta_owner_orangecounty_2026-09.json",
        "https://sapi.craigslist.org/web/v8/postings/search/batch",
        layout="search API batch",
        count=20,
        fields={"7968808449": {"price_raw": "$7,500", "mileage_raw": "140000"}},
    ),
    Page(
        "craigslist",
        "sapi_search_full_cta_owner_orangecounty_2026-09.json",
        "https://sapi.craigslist.org/web/v8/postings/search/full",
        layout="search API first page",
        count=20,
        fields={
            "7968808449": {
                "price_raw": "$7,500",
                "location_raw": "Laguna Niguel",
                "seller_type": "owner",
            }
        },
    ),
    Page(
        "craigslist",
        "search_rendered_gallery_ggg_lasvegas_2025-07.html",
        "https://lasvegas.craigslist.org/search/ggg",
        layout="browser-rendered search results",
        count=200,
        fields={
            "7866046901": {
                "title": "EXCLUSIVE NETWORKING MANSION EVENT",
                "posted_raw": "Tue Jul 15 2025 18:35:30 GMT-0700 (Pacific Daylight Time)",
                "url": "https://lasvegas.craigslist.org/evg/d/las-vegas-exclusive-networking-mansion/7866046901.html",
            },
            "7866014551": {"location_raw": "Las Vegas"},
        },
    ),
    Page(
        "craigslist",
        "search_static_apa_manhattan_2026-07.html",
        "https://www.craigslist.org/search/subarea/mnh?cat=apa",
        layout="static search results",
        count=153,
        fields={"mfYChGx8GdfQTDbasSzkQq": {"price_raw": "$3,499", "location_raw": "East Village"}},
    ),
    Page(
        "craigslist",
        "search_static_apa_milwaukee_2026-05.html",
        "https://milwaukee.craigslist.org/search/apa",
        layout="static search results",
        count=37,
        fields={"7936415355": {"price_raw": "$1,325", "location_raw": "Wauwatosa"}},
    ),
    # --- eBay
    Page(
        "ebay",
        "blocked_pardon_our_interruption_2026-07.html",
        "https://www.ebay.com/sch/i.html?_nkw=kei+truck",
        refused="blocked: challenge_page",
    ),
    Page(
        "ebay",
        "error_page_akamai_reference_2026-08.html",
        "https://www.ebay.com/itm/123",
        refused="blocked: edge_error_page",  # the Akamai reference id (it was "unknown layout")
    ),
    Page(
        "ebay",
        "browse_api_item_summary_search_trimmed_2026-09.json",
        "https://api.ebay.com/buy/browse/v1/item_summary/search?q=charizard",
        layout="Browse API search",
        count=3,
        fields={
            "257719387397": {
                "price_raw": "195.00",
                "currency_raw": "USD",
                "location_raw": "786**, US",
            }
        },
    ),
    Page(
        "ebay",
        "item_page_excerpt_item_specifics_ebay_uk_2026-07.html",
        "https://www.ebay.co.uk/itm/336671046336",
        layout="item page",
        count=1,
        fields={"336671046336": {"url": "https://www.ebay.co.uk/itm/336671046336"}},
    ),
    Page(
        "ebay",
        "search_scard_kitchen_accessories_newly_listed_2026-04.html",
        "https://www.ebay.com/sch/i.html?_nkw=kitchen+accessories&_sop=12",
        layout="search results",
        count=60,
        fields={"155888203360": {"price_raw": "$21.99", "location_raw": "Thailand"}},
    ),
    Page(
        "ebay",
        "search_scard_sold_2011_vw_jetta_intake_2026-05.html",
        "https://www.ebay.com/sch/i.html?_nkw=2011+vw+jetta+intake&LH_Sold=1",
        layout="search results",
        count=60,
        fields={"135533719878": {"price_raw": "$280.95", "status_raw": "Sold Mar 4, 2026"}},
    ),
    Page(
        "ebay",
        "search_sitem_legacy_nintendo_switch_2025-05.html",
        "https://www.ebay.com/sch/i.html?_nkw=nintendo+switch",
        layout="search results",
        count=60,
        fields={"125098319434": {"location_raw": "英国"}},
    ),
    # --- BE FORWARD
    Page(
        "beforward",
        "detail_toyota_corolla_axio_CE566767_excerpt.html",
        "https://www.beforward.jp/toyota/corolla-axio/ce566767/id/16468163/",
        layout="vehicle page",
        count=1,
        fields={
            "CE566767": {
                "price_raw": "$6,180",
                "year_raw": "2019/3",
                "mileage_raw": "108,333 km",
                "drive_raw": "2wheel drive",
            }
        },
    ),
    Page(
        "beforward",
        "scraped_detail_record_CC260209_2026-05-20.json",
        "https://www.beforward.jp/",
        refused=SCRAPER_OUTPUT,
    ),
    Page(
        "beforward",
        "stocklist_rows_mixed_incl_hijet_truck_2026-05-17.html",
        "https://www.beforward.jp/stocklist/",
        layout="stock list",
        count=25,
        fields={
            "CA866914": {
                "title": "2025 DAIHATSU HIJET TRUCK",
                "price_raw": "$7,680",
                "year_raw": "2025/10",
                "drive_raw": "4WD",
                "transmission_raw": "MT",
            },
            "BW726274": {"status_raw": "SOLD"},
        },
    ),
    Page(
        "beforward",
        "stocklist_toyota_corolla_axio_excerpt.html",
        "https://www.beforward.jp/stocklist/sortkey=n/keyword=Toyota%20Corolla%20Axio/kmode=and/",
        layout="stock list",
        count=2,
        fields={"CE550145": {"price_raw": "$6,910", "mileage_raw": "90,579 km"}},
    ),
    # --- CAR FROM JAPAN and SBT Japan: scraper output only, no saved page
    Page(
        "carfromjapan",
        "scraped_detail_records_2026-05-20.json",
        "https://carfromjapan.com/",
        refused=SCRAPER_OUTPUT,
    ),
    Page(
        "carfromjapan",
        "scraped_listing_cards_2026-05-20.json",
        "https://carfromjapan.com/",
        refused=SCRAPER_OUTPUT,
    ),
    Page(
        "sbtjapan",
        "scraped_detail_records_2026-05-17.json",
        "https://www.sbtjapan.com/",
        refused=SCRAPER_OUTPUT,
    ),
    Page(
        "sbtjapan",
        "scraped_detail_records_2026-05-20_incl_acty.json",
        "https://www.sbtjapan.com/",
        refused=SCRAPER_OUTPUT,
    ),
    # --- dealer pages (schema.org)
    Page(
        "dealer_jsonld",
        "autotrader_ca_bmw_ontario_search_nonoffer_car_jsonld_2026-04.html",
        "https://www.autotrader.ca/cars/bmw/on/",
        layout="schema.org JSON-LD",
        warning="yielded zero listings",
    ),
    Page(
        "dealer_jsonld",
        "classiccars_search_car_jsonld_trimmed_2026-07.html",
        "https://classiccars.com/listings/find/all-years/datsun/620",
        layout="schema.org JSON-LD",
        count=2,
        fields={
            "classiccars.com:CC-2079740": {
                "title": "1979 Datsun 620",
                "price_raw": "27995",
                "year_raw": "1979",
                "make_model_raw": "Datsun 620",
            }
        },
    ),
)


def _response(page: Page) -> TextResponse:
    body = shared_path("fixtures", page.source, page.file).read_bytes()
    cls = TextResponse if looks_like_json(body) else HtmlResponse
    return cls(url=page.url, body=body, encoding="utf-8")


def _read(page: Page):
    """What ``keitrucks parse`` does: block detection, then the layout-checked reading."""
    response = _response(page)
    blocked = block_reason(200, response.body, page.url)
    if blocked:
        raise LayoutError(f"blocked: {blocked}")
    module = importlib.import_module(f"scrapers.parsers.{page.source}")
    return read_page(module.LAYOUTS, module.parse_page, response)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: f"{p.source}/{p.file}")
def test_real_page(page: Page):
    if page.refused:
        with pytest.raises(LayoutError, match=page.refused):
            _read(page)
        return
    reading = _read(page)
    assert reading.layout is not None
    assert reading.layout.name == page.layout
    assert len(reading.listings) == page.count
    assert len({x.listing_id for x in reading.listings}) == page.count, "one record per listing"
    if page.warning:
        assert page.warning in (reading.warning or "")
    else:
        assert reading.warning is None
    by_id = {x.listing_id: x for x in reading.listings}
    for listing_id, expected in page.fields.items():
        assert listing_id in by_id, f"{listing_id} not read"
        actual = {name: getattr(by_id[listing_id], name) for name in expected}
        assert actual == expected


@pytest.mark.parametrize("source", PARSED_SOURCES)
def test_every_real_page_has_a_row(source: str):
    folder = shared_path("fixtures", source)
    saved = {p.name for p in folder.iterdir() if p.name != "SOURCES.md"}
    rows = {p.file for p in PAGES if p.source == source}
    assert saved - rows == set(), "saved pages without a conformance row"
    assert rows - saved == set(), "rows for pages that are not saved"


def test_shared_folder_is_where_the_rows_point():
    if not SHARED.exists():
        pytest.skip("../shared is absent")
    assert {p.source for p in PAGES} == set(PARSED_SOURCES)

"""dealer_jsonld parsers: golden tests on our own pages, conformance on the real ClassicCars page.

Our pages (tests/fixtures/dealer_jsonld/) are written in the markup of the platforms the source
guide describes (shared/sources/dealer_jsonld.md §2-4): Dealer.com VDPs (MSRP echoed as the
JSON-LD price and corrected from DDC.dataLayer; a finance payment with no data layer), a
DealerFire VDP (fees in the JSON-LD price), a dealr.cloud VDP (no VIN, control characters,
trailing commas), legacy microdata, an Offer whose itemOffered is the truck, a VDP that lost its
markup, and inventory pages (Dealer.com cards, a JSON-LD ItemList, an empty lot). The table-driven
kei filter cases are the quirks the guide lists (the schema.org reader's cases are in
test_parsers_schemaorg.py). The conformance values come from the guide's §7 table.
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace

import pytest

from keitrucks.core import tables
from scrapers.items import Listing
from scrapers.parsers import dealer_jsonld as dj
from tests.conftest import FIXTURES, check_golden, response_for, shared_path

HERE = FIXTURES / "dealer_jsonld"
SCRAPED_AT = "2026-11-24T06:00:00+00:00"
PAGES = sorted(p.name for p in HERE.glob("*.html"))
REAL_PAGE = "classiccars_search_car_jsonld_trimmed_2026-07.html"
REAL_URL = "https://classiccars.com/listings/find/all-years/datsun/620"


def meta(name: str) -> dict:
    return json.loads((HERE / name).with_suffix(".meta.json").read_text(encoding="utf-8"))


def load(name: str):
    return response_for(HERE / name, meta(name)["url"])


def hints(name: str) -> dj.DealerHints:
    dealer = meta(name).get("dealer") or {}
    return dj.DealerHints(platform=dealer.get("platform"))


def parse_any(name: str):
    response, dealer = load(name), meta(name).get("dealer") or {}
    if name.startswith("inventory"):
        page = dj.parse_inventory(
            response,
            SCRAPED_AT,
            hints(name),
            link_css=dealer.get("listing_links"),
            next_css=dealer.get("next_page"),
        )
        return {
            "listings": [asdict(x) for x in page.listings],
            "links": [asdict(x) for x in page.links],
            "next_url": page.next_url,
            "no_results": page.no_results,
        }
    return [asdict(x) for x in dj.parse_vehicles(response, SCRAPED_AT, hints(name))]


def vehicle(name: str) -> Listing:
    (listing,) = dj.parse_vehicles(load(name), SCRAPED_AT, hints(name))
    return listing


# -- golden ---------------------------------------------------------------------------------------


def test_every_fixture_page_has_meta_and_golden_files():
    assert len(PAGES) >= 10
    for name in PAGES:
        assert (HERE / name).with_suffix(".meta.json").is_file(), name
        assert (HERE / name).with_suffix(".expected.json").is_file(), name


@pytest.mark.parametrize("name", PAGES)
def test_golden(name, update_golden):
    check_golden(parse_any(name), (HERE / name).with_suffix(".expected.json"), update_golden)


@pytest.mark.parametrize("name", PAGES)
def test_no_contact_details_are_kept(name):
    text = json.dumps(parse_any(name))
    assert "555" not in text
    assert "@" not in text.replace('"@', "")  # no e-mail addresses (JSON-LD keys aside)


# -- platform corrections -------------------------------------------------------------------------


def test_dealercom_msrp_echo_is_replaced_by_the_data_layer_internet_price():
    listing = vehicle("vdp_dealercom.html")
    assert listing.listing_id == "DD51T-533107"
    assert listing.price_raw == "7995"
    assert listing.attributes["price_jsonld"] == "8495"
    assert listing.attributes["price_source"] == "DDC.dataLayer internetPrice"
    assert listing.attributes["msrp"] == "8495"
    assert listing.price_basis == "asking"


def test_dealercom_reads_graph_references_and_skips_the_lease_offer():
    listing = vehicle("vdp_dealercom.html")
    assert listing.location_raw == "Boone, NC"  # seller given by @id in the @graph
    assert listing.seller_type == "dealer"
    assert listing.url == (
        "https://www.foothillskei.example/used/Suzuki/1997-Suzuki-Carry-DD51T-4x4-0c1d2e.htm"
    )
    assert listing.year_raw == "1997"
    assert listing.mileage_raw == "33,912 mi"
    assert listing.drive_raw == "FourWheelDriveConfiguration"
    assert listing.attributes["vehicleEngine.engineDisplacement"] == "657 cc"
    assert listing.image_urls == [
        "https://pictures.dealer.com/f/foothillskei/1201/aa01.jpg",
        "https://pictures.dealer.com/f/foothillskei/1201/aa02.jpg",
    ]


def test_dealercom_finance_payment_is_not_a_price():
    listing = vehicle("vdp_dealercom_payment.html")
    assert listing.attributes["platform"] == "dealercom"  # fingerprinted, not configured
    assert listing.price_raw is None
    assert listing.price_basis is None
    assert listing.attributes["price_jsonld"] == "189.00"
    assert listing.listing_id == "foothillskei.example:FK2240"  # "N/A" is no VIN
    assert listing.mileage_raw == "40210 mi"  # no unit code: a US dealer means miles


def test_dealerfire_price_without_fees_comes_from_the_data_layer():
    listing = vehicle("vdp_dealerfire.html")
    assert listing.price_raw == "6700"
    assert listing.attributes["price_jsonld"] == "7489"
    assert listing.attributes["price_source"] == "DataLayer sellingPrice"
    assert listing.mileage_raw == "71400 km"
    assert listing.image_urls == [
        "https://www.lowcountryminitrucks.example/inventoryphotos/11802/s83p118204/ip/1.jpg"
    ]


def test_dealrcloud_missing_vin_comes_from_vehicle_inquiry():
    listing = vehicle("vdp_dealrcloud.html")
    assert listing.listing_id == "KS4-091544"
    assert listing.attributes["vin_source"] == "vehicle-inquiry"
    assert listing.attributes["sku"] == "TK-0318"
    assert listing.price_raw == "9,250"
    assert "Supercharged" in listing.description  # the JSON had a raw line break and a tab
    assert listing.image_urls == []


def test_without_a_match_the_vin_is_not_guessed():
    page = response_for(HERE / "vdp_dealrcloud.html", meta("vdp_dealrcloud.html")["url"])
    body = page.body.replace(b"KS4-091544|1993|Subaru|Sambar", b"KS4-091544|1991|Subaru|Sambar")
    (listing,) = dj.parse_vehicles(page.replace(body=body), SCRAPED_AT)
    assert listing.listing_id == "tidewaterkei.example:TK-0318"


# -- other shapes ---------------------------------------------------------------------------------


def test_microdata_is_read_when_there_is_no_json_ld():
    listing = vehicle("vdp_microdata.html")
    assert listing.attributes["source_format"] == "microdata"
    assert listing.listing_id == "U42T-0051277"
    assert (listing.price_raw, listing.currency_raw) == ("5200", "USD")
    assert listing.status_raw == "Sold Out"
    assert listing.make_model_raw == "Mitsubishi Minicab"
    assert listing.location_raw == "Sevierville, TN"
    assert listing.image_urls == []


def test_item_offered_product_with_vehicle_properties():
    listings = dj.parse_vehicles(load("vdp_item_offered.html"), SCRAPED_AT)
    assert [x.title for x in listings] == ["1966 Mazda Porter Cab Kei Truck"]  # not its similar car
    (listing,) = listings
    assert listing.price_raw == "14900"
    assert listing.seller_type == "owner"  # a consignor (Person)
    assert (listing.year_raw, listing.attributes["year_property"]) == ("1966", "productionDate")
    assert listing.make_model_raw == "Mazda Porter Cab"
    assert listing.listing_id == "heritage-imports.example:inventory/1966-mazda-porter-cab"


def test_a_page_without_vehicle_markup_gives_nothing():
    assert dj.parse_vehicles(load("vdp_no_vehicle.html"), SCRAPED_AT) == []


def test_inventory_cards_links_and_next_page():
    page = dj.parse_inventory(
        load("inventory_ddc.html"),
        SCRAPED_AT,
        link_css=".vehicle-card-title a",
        next_css=".pagination-next a",
    )
    assert page.listings == []
    assert [link.text for link in page.links] == [
        "1997 Suzuki Carry DD51T 4x4",
        "2018 Toyota Tacoma SR5",
        "1995 Honda Acty 4WD Attack",
        "2020 Polaris Ranger XP 1000",
        "Apply for financing",
    ]
    assert page.links[2].url.endswith("/used/Honda/1995-Honda-Acty-4WD-77af01.htm")  # no #photos
    assert page.next_url == "https://www.foothillskei.example/used-inventory/index.htm?start=18"
    assert [dj.link_may_be_kei(link) for link in page.links] == [True, False, True, False, True]


def test_inventory_item_list():
    page = dj.parse_inventory(load("inventory_itemlist.html"), SCRAPED_AT)
    assert [x.listing_id for x in page.listings] == ["DC51T-402288"]
    assert page.listings[0].url == "https://deltakei.example/vdp/5534/1996-suzuki-carry-kc"
    assert [link.url for link in page.links] == [
        "https://deltakei.example/vdp/5521/1998-daihatsu-hijet-s110p",
        "https://deltakei.example/vdp/5530/",
        "https://deltakei.example/vdp/5540/1999-honda-acty-sdx",
    ]
    assert page.next_url == "https://deltakei.example/inventory/?page=3"
    assert page.no_results is False


def test_an_empty_lot_is_a_legitimate_empty_page():
    page = dj.parse_inventory(load("inventory_empty.html"), SCRAPED_AT, link_css="a.x")
    assert (page.listings, page.links, page.no_results) == ([], [], True)


def test_a_vdp_read_as_an_inventory_page_is_not_empty():
    page = dj.parse_inventory(load("vdp_dealrcloud.html"), SCRAPED_AT)
    assert [x.listing_id for x in page.listings] == ["KS4-091544"]


# -- kei filter -----------------------------------------------------------------------------------

KEI_LISTINGS = [
    ({"title": "1996 Suzuki Carry 4WD"}, True),
    ({"make_model_raw": "Honda Acty"}, True),
    ({"title": "1994 Hijet Jumbo"}, True),
    ({"title": "Mitsubishi Minicab dump"}, True),
    ({"title": "1991 Truck", "listing_id": "DD51T-123456"}, True),
    ({"title": "Subaru Sambar Dias van"}, True),
    ({"title": "Japanese mini truck 4x4", "make_model_raw": None}, True),
    ({"title": "1998 Kei truck, runs great"}, True),
    ({"title": "Carry-all trailer"}, False),
    ({"title": "2020 Polaris Ranger", "description": "Better than a mini truck!"}, False),
    ({"title": "2018 Toyota Tacoma SR5"}, False),
    ({"title": "1979 Datsun 620"}, False),
    ({"title": "1989 Suzuki Jimny"}, False),
    ({"title": "2014 Ford F-150", "description": "Will trade for a Suzuki Carry"}, False),
]


@pytest.mark.parametrize(
    ("fields", "expected"), KEI_LISTINGS, ids=[str(f) for f, _ in KEI_LISTINGS]
)
def test_is_kei_listing(fields, expected):
    listing = Listing(
        source=dj.SOURCE, listing_id=fields.pop("listing_id", "x:1"), url="u", **fields
    )
    assert dj.is_kei_listing(listing) is expected


@pytest.mark.parametrize(
    ("url", "text", "follow"),
    [
        ("https://d.example/used/Suzuki/1996-Suzuki-Carry-abc.htm", None, True),
        ("https://d.example/vdp/5521/", "1998 Daihatsu Hijet", True),
        ("https://d.example/used/Ford/2014-Ford-F-150-xyz.htm", None, False),
        ("https://d.example/vdp/5530/", "2012 Chevrolet Colorado", False),
        ("https://d.example/vehicle/1077", None, True),
        ("https://d.example/vehicle/1999", "View details", True),
        ("https://d.example/inventory/kubota-rtv", None, False),
        ("https://d.example/vdp/88/", "Mini truck special", True),
    ],
)
def test_link_may_be_kei(url, text, follow):
    assert dj.link_may_be_kei(dj.Link(url, text)) is follow


def test_the_kei_lexicon_comes_from_the_project_tables():
    """Every kei alias and free-text chassis code of keitrucks/core/data is recognised."""
    aliases = tables.aliases()
    for alias in aliases:
        if alias.category in dj.KEI_ALIAS_CATEGORIES:
            text = f"{alias.make} {alias.alias}" if alias.needs_make else alias.alias
            assert dj.names_kei_model(text), alias
        elif alias.category == "other_make":
            assert dj.names_other_make(alias.alias), alias
    codes = [c for c, info in tables.model_codes().items() if info.text_match]
    assert codes
    assert all(dj.names_kei_model(f"frame {c}-012345") for c in codes)


# -- keitrucks parse ------------------------------------------------------------------------------


def test_page_parsers_for_keitrucks_parse():
    assert set(dj.PAGE_PARSERS) == {"search", "detail"}
    assert [x.listing_id for x in dj.parse_page(load("vdp_dealerfire.html"))] == ["S83P-118204"]
    assert [x.listing_id for x in dj.PAGE_PARSERS["search"](load("inventory_itemlist.html"))] == [
        "DC51T-402288"
    ]


# -- conformance: the real ClassicCars page -------------------------------------------------------


def real_listings() -> list[Listing]:
    page = shared_path("fixtures", "dealer_jsonld", REAL_PAGE)
    return dj.parse_page(response_for(page, REAL_URL), SCRAPED_AT)


def test_real_page_both_lower_case_car_blocks_are_found():
    assert [x.attributes["sku"] for x in real_listings()] == ["CC-2079740", "CC-9990001"]


def test_real_page_block_1_values():
    listing = real_listings()[0]
    assert listing.listing_id == "classiccars.com:CC-2079740"
    assert listing.title == "1979 Datsun 620"
    assert (listing.year_raw, listing.attributes["year_property"]) == ("1979", "modelDate")
    assert listing.make_model_raw == "Datsun 620"  # plain-string brand
    assert (listing.price_raw, listing.currency_raw, listing.price_basis) == (
        "27995",
        "USD",
        "asking",
    )
    assert listing.status_raw is None  # availability "n/a": unknown
    assert listing.attributes["availability"] == "n/a"
    assert listing.url == (
        "https://classiccars.com/listings/view/2079740/"
        "1979-datsun-620-for-sale-in-cadillac-michigan-49601"
    )
    assert listing.image_urls == [
        "https://photos.classiccars.com/cc-temp/listing/207/9740/59766614-1979-datsun-620-thumb.jpg"
    ]
    assert listing.description.startswith("1979 Datsun 620 Pickup Fully restored")


def test_real_page_a_datsun_is_not_a_kei_truck():
    assert [dj.is_kei_listing(x) for x in real_listings()] == [False, False]


def test_real_page_as_an_inventory_page():
    page = dj.parse_inventory(
        response_for(shared_path("fixtures", "dealer_jsonld", REAL_PAGE), REAL_URL), SCRAPED_AT
    )
    assert len(page.listings) == 2
    assert (page.links, page.next_url, page.no_results) == ([], None, False)


# -- conformance: a real page whose only Car describes the page ------------------------------------

DESCRIPTOR_PAGE = "autotrader_ca_bmw_ontario_search_nonoffer_car_jsonld_2026-04.html"
DESCRIPTOR_URL = "https://www.autotrader.ca/cars/bmw/reg_on/ot_used"


def test_a_page_descriptor_car_is_no_listing():
    """AutoTrader.ca's search page: its JSON-LD ``Car`` ("Used BMW Cars for Sale in Ontario")
    has no offer, price, VIN, sku or URL of its own: not a vehicle for sale."""
    page = response_for(shared_path("fixtures", "dealer_jsonld", DESCRIPTOR_PAGE), DESCRIPTOR_URL)
    assert dj.parse_page(page, SCRAPED_AT) == []
    assert dj.parse_inventory(page, SCRAPED_AT).listings == []


def test_a_descriptor_in_json_ld_does_not_hide_microdata_vehicles():
    page = load("vdp_microdata.html")
    descriptor = (
        b'<script type="application/ld+json">{"@type": "Car", "name": "Used trucks"}</script>'
    )
    body = page.body.replace(b"</head>", descriptor + b"</head>", 1)
    assert descriptor in body
    (listing,) = dj.parse_vehicles(page.replace(body=body), SCRAPED_AT)
    assert listing.listing_id == "U42T-0051277"


@pytest.mark.parametrize(
    ("mileage", "currency", "expected"),
    [
        ("26,775", "USD", "26,775 mi"),  # a US dealer's bare odometer means miles
        ("26775", None, "26775 mi"),
        ("26,775", "CAD", "26,775"),  # another market: left for the normalizer to judge
        ("26,775 km", "USD", "26,775 km"),
        ("TMU", "USD", "TMU"),
        (None, "USD", None),
    ],
)
def test_bare_odometer_gets_the_unit_a_us_dealer_means(mileage, currency, expected):
    listing = Listing(
        source="dealer_jsonld", listing_id="x", url="https://d.example/x", currency_raw=currency
    )
    listing = replace(listing, mileage_raw=mileage)
    assert dj.with_odometer_unit(listing).mileage_raw == expected

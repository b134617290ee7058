"""TCV parsers: golden tests on our own pages (no TCV page or record is saved anywhere).

Our pages (tests/fixtures/tcv/) carry what shared/sources/tcv.md documents and nothing more,
since no class name is verified: list cards marked ``data-car-id`` whose text reads like the
guide's example ("STOCK 2001 NISSAN CIMA FOB Price US$ 2,567 Registration Year 2001/03 ..."),
with a SOLD OUT card and a card with gaps; an empty list; a detail page with the guide's
"Specific information" labels, a C&F total, a similar-vehicles block and a seller block with
phone and e-mail rows (never stored); a detail page with an ASK total and missing rows. The
guide's example card text is also parsed as it is written there.
"""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest
from scrapy.http import HtmlResponse

from scrapers.parsers import tcv
from tests.conftest import FIXTURES, check_golden, response_for

HERE = FIXTURES / "tcv"
SCRAPED_AT = "2026-11-24T06:00:00+00:00"
PAGES = sorted(p.name for p in HERE.glob("*.html"))
#: The card text given in shared/sources/tcv.md §2 (from a public parser of the live site).
GUIDE_CARD = (
    "STOCK 2001 NISSAN CIMA FOB Price US$ 2,567 Registration Year 2001/03 Engine Capacity "
    "3,000cc Mileage 64,100 km RHD Gasoline/Petrol 2WD"
)


def load(name: str):
    page = HERE / name
    meta = json.loads(page.with_suffix(".meta.json").read_text(encoding="utf-8"))
    return response_for(page, meta["url"])


def parse_any(name: str):
    response = load(name)
    if name.startswith("detail"):
        listing = tcv.parse_detail(response, SCRAPED_AT)
        return asdict(listing) if listing else None
    page = tcv.parse_search(response, SCRAPED_AT)
    return {
        "listings": [asdict(x) for x in page.listings],
        "has_next": page.has_next,
        "no_results": page.no_results,
    }


def test_every_fixture_page_has_meta_and_golden_files():
    assert len(PAGES) >= 4
    for name in PAGES:
        assert (HERE / name).with_suffix(".meta.json").is_file(), name
        assert (HERE / name).with_suffix(".expected.json").is_file(), name


@pytest.mark.parametrize("name", PAGES)
def test_golden(name, update_golden):
    check_golden(parse_any(name), (HERE / name).with_suffix(".expected.json"), update_golden)


# -- list page ------------------------------------------------------------------------------------


def test_the_guides_card_text_is_read_field_by_field():
    link = '<a href="/used_car/nissan/cima/43847281/">'
    body = f'<ul><li data-car-id="43847281">{link}{GUIDE_CARD}</a></li></ul>'
    response = HtmlResponse(
        url="https://www.tc-v.com/used_car/nissan/cima/", body=body.encode(), encoding="utf-8"
    )
    (card,) = tcv.parse_search(response).listings
    assert (card.listing_id, card.url) == (
        "43847281",
        "https://www.tc-v.com/used_car/nissan/cima/43847281/",
    )
    assert (card.price_raw, card.currency_raw, card.price_basis) == ("US$ 2,567", "USD", "fob")
    assert (card.year_raw, card.mileage_raw, card.drive_raw) == ("2001/03", "64,100 km", "2WD")
    assert card.attributes == {
        "Registration Year": "2001/03",
        "Engine Capacity": "3,000cc",
        "Mileage": "64,100 km",
        "Steering": "RHD",
        "Fuel": "Gasoline/Petrol",
        "Drive": "2WD",
    }


def test_list_page_reads_every_card_by_its_words():
    page = tcv.parse_search(load("list.html"), SCRAPED_AT)
    assert [x.listing_id for x in page.listings] == ["43912007", "43907715", "43899120"]
    assert (page.has_next, page.no_results) == (True, False)
    first = page.listings[0]
    assert first.title == "2016 SUZUKI CARRY TRUCK"
    assert first.url == "https://www.tc-v.com/used_car/suzuki/carry%20truck/43912007/"
    assert (first.price_raw, first.year_raw, first.drive_raw) == ("US$ 4,180", "2016/03", "4WD")
    assert first.image_urls == ["https://img.tc-v.com/usedcar/4391/43912007/01.jpg"]


def test_a_sold_out_card_and_a_card_with_gaps():
    _, sold, gaps = tcv.parse_search(load("list.html")).listings
    assert (sold.status_raw, sold.price_raw, sold.price_basis) == ("SOLD", None, None)
    assert (gaps.year_raw, gaps.mileage_raw, gaps.drive_raw) == ("2019", None, None)
    assert gaps.image_urls == []  # a placeholder, not a photo of the truck


def test_an_empty_list_and_the_last_page():
    empty = tcv.parse_search(load("list_empty.html"))
    assert (empty.listings, empty.no_results, empty.has_next) == ([], True, None)
    pager = (
        '<div class="pager"><a href="/used_car/suzuki/carry%20truck/">1</a> <span>2</span></div>'
    )
    html = (HERE / "list.html").read_text().split('<div class="pager">')[0] + pager
    last = HtmlResponse(
        url="https://www.tc-v.com/used_car/suzuki/carry%20truck/?pn=1",
        body=html.encode(),
        encoding="utf-8",
    )
    assert tcv.parse_search(last).has_next is False  # its only page link leads back to page 1


# -- detail page ----------------------------------------------------------------------------------


def test_detail_page_reads_the_specific_information_labels():
    detail = tcv.parse_detail(load("detail.html"), SCRAPED_AT)
    attributes = detail.attributes
    assert detail.listing_id == "43912007"
    assert attributes["Model Code"] == "EBD-DA16T"
    assert attributes["VIN (Vehicle Identification Number) /Serial No."] == "DA16T-287***"
    assert attributes["Manufacture Year / Month"] == "Confirm with the Seller"
    assert (detail.year_raw, detail.drive_raw, detail.transmission_raw) == (
        "2016/03",
        "4wheel drive",
        "Manual",
    )
    assert attributes["ID"] == "521478-380810"
    assert "BodyStyle2" not in attributes  # "-"
    assert (detail.price_raw, detail.total_price_raw, detail.destination_port) == (
        "US$ 4,180",
        "US$ 5,830",
        "Baltimore",
    )
    assert attributes["price_condition"] == "C&F"
    assert (attributes["Seller"], detail.location_raw) == ("Kansai Auto Export", "Osaka, Japan")
    assert len(detail.image_urls) == 5  # the similar vehicle's photo is not one of them


def test_no_contact_details_are_stored():
    detail = tcv.parse_detail(load("detail.html"))
    text = json.dumps(asdict(detail))
    assert "0000-0000" not in text
    assert "@" not in text
    assert not {"TEL", "E-mail"} & set(detail.attributes)


def test_detail_page_with_an_ask_total_and_missing_rows():
    detail = tcv.parse_detail(load("detail_ask.html"))
    assert (detail.total_price_raw, detail.destination_port) == (None, None)
    assert "price_condition" not in detail.attributes
    assert (detail.drive_raw, detail.transmission_raw, detail.mileage_raw) == (None, None, None)
    assert detail.image_urls == []


def test_merge_keeps_the_card_price_and_adds_the_detail():
    card = tcv.parse_search(load("list.html")).listings[0]
    merged = tcv.merge_detail(card, tcv.parse_detail(load("detail.html")))
    assert (merged.price_raw, merged.drive_raw, merged.transmission_raw) == (
        "US$ 4,180",
        "4WD",
        "Manual",
    )
    assert (merged.total_price_raw, merged.attributes["Model Code"]) == ("US$ 5,830", "EBD-DA16T")
    assert merged.attributes["Engine Capacity"] == "660cc"


def test_parse_page_tells_the_page_kinds_apart():
    assert [x.listing_id for x in tcv.parse_page(load("detail.html"))] == ["43912007"]
    assert len(tcv.parse_page(load("list.html"))) == 3
    assert tcv.parse_detail(load("list.html")) is None

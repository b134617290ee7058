"""BE FORWARD parsers: golden tests on our own pages, and conformance on the real captures.

Our pages (tests/fixtures/beforward/) are written in the real markup: a Hijet Truck search page
with a discount, a SOLD row, a van and banner rows; a CIF/Karachi last page with odd rows; an empty
result; a kei-truck detail page with an "ASK" total and one with a quoted total and no photos.
The conformance values come from shared/sources/beforward.md (sections 2 and 6).
"""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from scrapers.items import Listing
from scrapers.parsers import beforward
from tests.conftest import FIXTURES, check_golden, response_for, shared_path

HERE = FIXTURES / "beforward"
SCRAPED_AT = "2026-11-24T06:00:00+00:00"
PAGES = sorted(p.name for p in HERE.glob("*.html"))
REAL = ("fixtures", "beforward")
REAL_MIXED_URL = "https://www.beforward.jp/stocklist/sar=steering/steering=Right/tp_country_id=27"
REAL_COROLLA_URL = (
    "https://www.beforward.jp/stocklist/sortkey=n/keyword=Toyota%20Corolla%20Axio/kmode=and/"
)
REAL_DETAIL_URL = (
    "https://www.beforward.jp/toyota/corolla-axio/ce566767/id/16468163/?tp_country_id=125"
)


def load(name: str):
    page = HERE / name
    meta = json.loads(page.with_suffix(".meta.json").read_text(encoding="utf-8"))
    return response_for(page, meta["url"])


def parse_any(name: str) -> dict | None:
    response = load(name)
    if name.startswith("detail"):
        listing = beforward.parse_detail(response, SCRAPED_AT)
        return asdict(listing) if listing else None
    page = beforward.parse_stock_list(response, SCRAPED_AT)
    return {
        "listings": [asdict(x) for x in page.listings],
        "next_url": page.next_url,
        "no_results": page.no_results,
    }


def by_id(listings: list[Listing]) -> dict[str, Listing]:
    return {x.listing_id: x for x in listings}


# -- golden ---------------------------------------------------------------------------------------


def test_every_fixture_page_has_meta_and_golden_files():
    assert {"stocklist.html", "stocklist_cif.html", "stocklist_empty.html", "detail.html"} <= set(
        PAGES
    )
    for name in PAGES:
        assert (HERE / name).with_suffix(".meta.json").is_file(), name
        assert (HERE / name).with_suffix(".expected.json").is_file(), name


@pytest.mark.parametrize("name", PAGES)
def test_golden(name, update_golden):
    check_golden(parse_any(name), (HERE / name).with_suffix(".expected.json"), update_golden)


# -- stock list: key fields -----------------------------------------------------------------------


def test_stock_list_keeps_vehicle_rows_and_skips_banners():
    page = beforward.parse_stock_list(load("stocklist.html"), SCRAPED_AT)
    assert [x.listing_id for x in page.listings] == ["CB412007", "CA377150", "CC508811"]
    assert page.no_results is False
    assert page.next_url == (
        "https://www.beforward.jp/stocklist/page=2/sortkey=n/keyword=Daihatsu%20Hijet%20Truck/"
        "kmode=and/tp_country_id=90/view_cnt=50/"
    )


def test_stock_list_row_fields_of_a_kei_truck():
    truck = by_id(beforward.parse_stock_list(load("stocklist.html"), SCRAPED_AT).listings)[
        "CB412007"
    ]
    assert truck.url == "https://www.beforward.jp/daihatsu/hijet-truck/cb412007/id/14412007/"
    assert truck.title == "2019 DAIHATSU HIJET TRUCK JUMBO SA III T"
    assert truck.make_model_raw == "DAIHATSU HIJET TRUCK"
    assert (truck.year_raw, truck.mileage_raw, truck.transmission_raw) == (
        "2019/7",
        "23,410 km",
        "MT",
    )
    assert (truck.drive_raw, truck.location_raw) == ("4WD", "Kobe")
    assert (truck.price_raw, truck.currency_raw, truck.price_basis) == ("$7,260", "USD", "fob")
    assert (truck.total_price_raw, truck.destination_port) == ("$9,135", "Baltimore")
    assert truck.attributes["Model code"] == "3BD-S510P"
    assert truck.attributes["Engine"] == "650cc"
    assert truck.attributes["price_condition"] == "C&F"
    assert truck.attributes["price_condition_text"] == "C&F Inspect to"
    assert (truck.attributes["save_rate"], truck.attributes["original_vehicle_price"]) == (
        "6%",
        "7,720",
    )
    assert truck.seller_type == "dealer"
    assert truck.scraped_at == SCRAPED_AT
    assert truck.image_urls == [
        "https://image-cdn.beforward.jp/medium/202611/14412007/CB412007_a41c07.jpg?w=200"
    ]


def test_sold_row_has_status_and_no_price():
    sold = by_id(beforward.parse_stock_list(load("stocklist.html"), SCRAPED_AT).listings)[
        "CA377150"
    ]
    assert sold.status_raw == "SOLD"
    assert sold.price_raw is sold.currency_raw is sold.price_basis is sold.total_price_raw is None
    assert "Engine code" not in sold.attributes  # "-" is no value


def test_cif_page_quote_port_and_missing_values():
    page = beforward.parse_stock_list(load("stocklist_cif.html"), SCRAPED_AT)
    old, new = page.listings
    assert page.next_url is None
    assert (old.total_price_raw, old.destination_port) == ("$4,415", "Karachi")
    assert old.attributes["price_condition"] == "CIF"
    assert old.attributes["shipping_method"] == "Container"
    assert old.year_raw == "1998"
    assert old.drive_raw is None
    assert "Steering" not in old.attributes
    assert new.image_urls == []
    assert new.total_price_raw is None
    assert new.destination_port is None
    assert "price_condition" not in new.attributes
    assert "Engine" not in new.attributes


def test_empty_result_page():
    page = beforward.parse_stock_list(load("stocklist_empty.html"), SCRAPED_AT)
    assert page.listings == []
    assert page.no_results is True
    assert page.next_url is None


def test_a_page_without_rows_or_message_is_not_a_no_results_page():
    response = response_for(HERE / "detail.html", "https://www.beforward.jp/stocklist/")
    page = beforward.parse_stock_list(response)
    assert page.listings == []
    assert page.no_results is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Ref No. CA866914", "CA866914"), ("Ref No.CE550145", "CE550145"), ("Stock", None)],
)
def test_ref_no(text, expected):
    from parsel import Selector

    row = Selector(text=f'<p class="veh-stock-no"><span>{text}</span></p>')
    assert beforward.parse_ref_no(row) == expected


# -- detail page ----------------------------------------------------------------------------------


def test_detail_of_a_kei_truck_with_ask_total():
    truck = beforward.parse_detail(load("detail.html"), SCRAPED_AT)
    assert truck.listing_id == "CB412007"
    assert truck.url == "https://www.beforward.jp/daihatsu/hijet-truck/cb412007/id/14412007/"
    assert truck.title == "2019 DAIHATSU HIJET TRUCK JUMBO SA III T"
    assert truck.make_model_raw == "DAIHATSU HIJET TRUCK"
    assert truck.price_raw == "$7,260"
    assert truck.currency_raw == "USD"
    assert truck.total_price_raw is None
    assert truck.destination_port is None
    assert "price_condition" not in truck.attributes
    assert truck.drive_raw == "4wheel drive"
    assert truck.transmission_raw == "Manual"
    assert truck.year_raw == "2019/7"
    assert truck.location_raw == "KOBE"
    assert truck.attributes["Chassis No."] == "S510P-0281144"
    assert truck.attributes["Model Code"] == "3BD-S510P"
    assert "Manufacture Year/month" not in truck.attributes
    assert truck.attributes["features"] == "Power Steering, A/C, Airbag, Back Tire"
    assert truck.attributes["fob_price_not_adjustment"] == "7241"
    assert truck.attributes["veh_id"] == "14412007"
    assert len(truck.image_urls) == 4
    assert all(u.startswith("https://image-cdn.beforward.jp/large/") for u in truck.image_urls)


def test_detail_with_quoted_total_and_no_photos():
    truck = beforward.parse_detail(load("detail_quoted.html"), SCRAPED_AT)
    assert truck.url == "https://www.beforward.jp/honda/acty-truck/cc730455/id/15730455/"
    assert truck.total_price_raw == "$5,245"
    assert truck.destination_port == "Jacksonville"
    assert truck.attributes["price_condition"] == "C&F"
    assert truck.attributes["Manufacture Year/month"] == "1996/2"
    assert "features" not in truck.attributes
    assert "Weight" not in truck.attributes
    assert truck.image_urls == []
    assert truck.make_model_raw == "HONDA ACTY TRUCK"


def test_a_page_without_a_vehicle_gives_no_detail():
    response = response_for(HERE / "stocklist_empty.html", "https://www.beforward.jp/x/y/ca1/id/1/")
    assert beforward.parse_detail(response) is None


def test_merge_keeps_row_prices_and_adds_detail_specs_and_gallery():
    row = by_id(beforward.parse_stock_list(load("stocklist.html"), SCRAPED_AT).listings)["CB412007"]
    detail = beforward.parse_detail(load("detail.html"), SCRAPED_AT)
    merged = beforward.merge_detail(row, detail)
    assert merged.total_price_raw == "$9,135"
    assert merged.destination_port == "Baltimore"
    assert merged.drive_raw == "4WD"
    assert merged.transmission_raw == "MT"
    assert merged.attributes["price_condition"] == "C&F"
    assert merged.attributes["Chassis No."] == "S510P-0281144"
    assert merged.attributes["Model code"] == "3BD-S510P"
    assert merged.image_urls == detail.image_urls
    assert (merged.title, merged.url) == (row.title, row.url)


def test_merge_keeps_the_row_thumbnail_when_the_detail_has_no_photos():
    row = Listing(source="beforward", listing_id="CC730455", url="u", image_urls=["https://t"])
    detail = beforward.parse_detail(load("detail_quoted.html"))
    merged = beforward.merge_detail(row, detail)
    assert merged.image_urls == ["https://t"]
    assert merged.price_raw == "$3,390"
    assert merged.year_raw == "1996/5"


# -- conformance on the real captures -------------------------------------------------------------


def real(name: str, url: str):
    return response_for(shared_path(*REAL, name), url)


def test_real_mixed_stock_list_rows():
    response = real("stocklist_rows_mixed_incl_hijet_truck_2026-05-17.html", REAL_MIXED_URL)
    assert len(response.css("table.stocklist-row-wrap tr.stocklist-row")) == 28
    page = beforward.parse_stock_list(response, SCRAPED_AT)
    assert len(page.listings) == 25
    assert len({x.listing_id for x in page.listings}) == 25
    assert all(x.title and x.url.startswith("https://www.beforward.jp/") for x in page.listings)
    assert not any("Login" in (x.title or "") for x in page.listings)

    hijet = by_id(page.listings)["CA866914"]
    assert hijet.title == "2025 DAIHATSU HIJET TRUCK"
    assert hijet.url == "https://www.beforward.jp/daihatsu/hijet-truck/ca866914/id/12956635/"
    assert (hijet.year_raw, hijet.mileage_raw, hijet.transmission_raw) == ("2025/10", "4 km", "MT")
    assert hijet.attributes["Engine"] == "660cc"
    assert hijet.attributes["Model code"] == "S510P"
    assert hijet.drive_raw == "4WD"
    assert hijet.attributes["Drive"] == "4WD"
    assert (hijet.price_raw, hijet.currency_raw, hijet.price_basis) == ("$7,680", "USD", "fob")
    assert (hijet.total_price_raw, hijet.destination_port) == ("$9,609", "Mombasa")
    assert hijet.attributes["price_condition"] == "C&F"
    assert hijet.attributes["price_condition_text"] == "C&F Inspect to"
    assert hijet.location_raw == "Yokohama"
    assert hijet.image_urls[0].startswith("https://image-cdn.beforward.jp/medium/202605/12956635/")

    jimny = next(x for x in page.listings if x.title.startswith("1989 SUZUKI JIMNY"))
    assert jimny.attributes["Model code"] == "M-JA71V"
    assert (jimny.drive_raw, jimny.year_raw) == ("4WD", "1989")

    sold = [x for x in page.listings if x.status_raw == "SOLD"]
    assert [x.title for x in sold] == ["2015 TOYOTA SIENTA DICE-G"]
    assert sold[0].price_raw is None
    assert sold[0].total_price_raw is None


def test_real_mixed_stock_list_discounts_and_badges():
    response = real("stocklist_rows_mixed_incl_hijet_truck_2026-05-17.html", REAL_MIXED_URL)
    page = beforward.parse_stock_list(response)
    discounted = {
        x.attributes["original_vehicle_price"] for x in page.listings if "save_rate" in x.attributes
    }
    assert {"3,730", "6,320", "19,100"} <= discounted
    badges = {x.attributes.get("special_price") for x in page.listings}
    assert "Mombasa Local Stock for Uganda" in badges
    # a campaign badge is not the location
    assert "Mombasa Local Stock for Uganda" not in {x.location_raw for x in page.listings}


def test_real_corolla_keyword_excerpt():
    page = beforward.parse_stock_list(
        real("stocklist_toyota_corolla_axio_excerpt.html", REAL_COROLLA_URL), SCRAPED_AT
    )
    # two full rows; the partial row holding only a price cell is not a vehicle row
    assert [x.listing_id for x in page.listings] == ["CE550145", "CE598085"]
    corolla = page.listings[0]
    assert (corolla.price_raw, corolla.total_price_raw) == ("$6,910", "$8,948")
    assert corolla.attributes["price_condition"] == "CIF"
    assert corolla.attributes["price_condition_text"] == "CIF Inspect to"
    assert corolla.destination_port == "Karachi"
    assert corolla.title == "2021 TOYOTA COROLLA AXIO EX"
    assert corolla.make_model_raw == "TOYOTA COROLLA AXIO"
    assert corolla.image_urls == []  # the capture's images are browser-saved local copies
    partial = page.listings[1]
    assert partial.price_raw == "$5,650"
    assert partial.total_price_raw is None


def test_real_detail_excerpt():
    detail = beforward.parse_detail(
        real("detail_toyota_corolla_axio_CE566767_excerpt.html", REAL_DETAIL_URL), SCRAPED_AT
    )
    assert detail.listing_id == "CE566767"
    assert detail.url == "https://www.beforward.jp/toyota/corolla-axio/ce566767/id/16468163/"
    assert detail.title == "2019 TOYOTA COROLLA AXIO HYBRID G"
    assert detail.attributes["model_code_ref"] == "DAA-NKE165 CE566767"
    assert detail.attributes["Model Code"] == "DAA-NKE165"
    assert detail.price_raw == "$6,180"
    assert detail.currency_raw == "USD"
    assert detail.attributes["fob_price_not_adjustment"] == "6159"
    assert detail.total_price_raw is None
    assert detail.attributes["Chassis No."] == "NKE165-7161960"
    assert detail.drive_raw == "2wheel drive"
    assert detail.attributes["Drive"] == "2wheel drive"
    assert detail.attributes["Registration Year/month"] == "2019/3"
    assert detail.year_raw == "2019/3"
    assert "Manufacture Year/month" not in detail.attributes
    assert detail.location_raw == "NAGOYA"
    assert len(detail.image_urls) == 5
    assert detail.image_urls[0] == (
        "https://image-cdn.beforward.jp/large/202608/16468163/CE566767_689f14.jpg"
    )
    assert detail.attributes["veh_id"] == "16468163"
    assert detail.attributes["features"] == (
        "Power Steering, Power Window, A/C, Airbag, Push Start, Keyless Entry"
    )
    assert detail.make_model_raw == "TOYOTA COROLLA AXIO"


def test_carry_forward_keeps_detail_facts_but_not_yesterdays_price():
    from scrapers.parsers.beforward import carry_forward

    stored = Listing(
        source="beforward",
        listing_id="CA1",
        url="https://www.beforward.jp/x/",
        price_raw="$3,060",
        total_price_raw="$4,800",
        destination_port="Baltimore",
        attributes={"Chassis No.": "S510P-1", "save_rate": "3%", "Drive": "4WD"},
        image_urls=["https://img/1.jpg", "https://img/2.jpg"],
    )
    sold_tonight = Listing(
        source="beforward",
        listing_id="CA1",
        url="https://www.beforward.jp/x/",
        status_raw="SOLD",
        attributes={"Drive": "4WD"},
        image_urls=["https://img/t.jpg"],
    )
    merged = carry_forward(sold_tonight, stored)
    assert (merged.price_raw, merged.total_price_raw, merged.destination_port) == (None,) * 3
    assert merged.status_raw == "SOLD"
    assert merged.attributes == {"Chassis No.": "S510P-1", "Drive": "4WD"}
    assert merged.image_urls == ["https://img/1.jpg", "https://img/2.jpg"]


def test_parse_page_tells_the_page_kinds_apart():
    stocklist = beforward.parse_stock_list(load("stocklist.html"), SCRAPED_AT)
    assert beforward.parse_page(load("stocklist.html"), SCRAPED_AT) == stocklist.listings
    assert stocklist.has_next is (stocklist.next_url is not None)
    (detail,) = beforward.parse_page(load("detail.html"), SCRAPED_AT)
    assert detail == beforward.parse_detail(load("detail.html"), SCRAPED_AT)
    assert beforward.PAGE_PARSERS["detail"](load("stocklist_empty.html"), SCRAPED_AT) == []

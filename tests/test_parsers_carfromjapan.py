"""CAR FROM JAPAN parsers: golden tests on our own pages, and conformance on the real records.

Our pages (tests/fixtures/carfromjapan/) are written in the Next.js/Tailwind markup of
shared/sources/carfromjapan.md §2: a Hijet model page (a card with its CFJ reference, a SOLD card,
a banner, a card with its spec blocks in another order and a card price above its own total); an
empty model page; a detail page shaped like the real CFJ1568485 record (no Drive Type, "4WD"
only among the accessories), one with an ASK total, one sold. The real files in
shared/fixtures/carfromjapan/ are scraper OUTPUT (100 cards, 100 detail records of the same cars),
not pages: every record is written into our markup and parsed back, and the raw values must come
out exactly as CFJ displays them (§2.3), with the detail prices winning over the card prices.
"""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest
from scrapy.http import HtmlResponse

from keitrucks.sample.render_carfromjapan import card_html, detail_html, search_page
from pipelines.normalize import normalize_listing
from scrapers.parsers import carfromjapan
from tests.conftest import FIXTURES, check_golden, response_for, shared_path

HERE = FIXTURES / "carfromjapan"
SCRAPED_AT = "2026-11-24T06:00:00+00:00"
PAGES = sorted(p.name for p in HERE.glob("*.html"))
HIJET_2021 = "https://carfromjapan.com/cheap-used-daihatsu-hijet-truck-2021-for-sale-68a7c82cc49cc5ebcf1a4eae"
HIJET_2024 = "https://carfromjapan.com/cheap-used-daihatsu-hijet-truck-2024-for-sale-692a31d907500f365b23d1b0"


def load(name: str):
    page = HERE / name
    meta = json.loads(page.with_suffix(".meta.json").read_text(encoding="utf-8"))
    return response_for(page, meta["url"])


def parse_any(name: str):
    response = load(name)
    if name.startswith("detail"):
        listing = carfromjapan.parse_detail(response, SCRAPED_AT)
        return asdict(listing) if listing else None
    page = carfromjapan.parse_search(response, SCRAPED_AT)
    return {
        "listings": [asdict(x) for x in page.listings],
        "has_next": page.has_next,
        "no_results": page.no_results,
    }


# -- golden ---------------------------------------------------------------------------------------


def test_every_fixture_page_has_meta_and_golden_files():
    assert len(PAGES) >= 5
    for name in PAGES:
        assert (HERE / name).with_suffix(".meta.json").is_file(), name
        assert (HERE / name).with_suffix(".expected.json").is_file(), name


@pytest.mark.parametrize("name", PAGES)
def test_golden(name, update_golden):
    check_golden(parse_any(name), (HERE / name).with_suffix(".expected.json"), update_golden)


# -- model page: key fields -----------------------------------------------------------------------


def test_model_page_reads_every_car_card_and_no_banner():
    page = carfromjapan.parse_search(load("search.html"), SCRAPED_AT)
    assert [x.listing_id for x in page.listings] == [
        "6a1f03c2d94e7b0a5c318e27",
        "5b9e22d07a13c4f8e6d10b94",
        "69c4e0a1f2b35d7e8a906c11",
    ]
    assert (page.has_next, page.no_results) == (True, False)


def test_a_card_is_read_by_its_labels():
    card = carfromjapan.parse_search(load("search.html")).listings[0]
    assert (
        card.url
        == "https://carfromjapan.com/cheap-used-daihatsu-hijet-truck-2022-for-sale-6a1f03c2d94e7b0a5c318e27"
    )
    assert (card.year_raw, card.mileage_raw, card.transmission_raw) == (
        "2022 / Mar",
        "31,000 km",
        "Manual",
    )
    assert card.attributes["Model code"] == "3BD-S510P"
    assert card.attributes["Reference No."] == "CFJ2231907"
    assert "Grade" not in card.attributes  # "-"
    assert (card.price_raw, card.total_price_raw, card.destination_port) == (
        "US$ 7,905",
        "US$ 9,120",
        "Baltimore (Port)",
    )
    assert (card.attributes["card_price"], card.attributes["card_total"]) == (
        "US$ 7,905",
        "US$ 9,120",
    )
    assert (card.attributes["price_condition"], card.price_basis) == ("C&F", "fob")
    assert card.attributes["photo_count"] == "38"
    assert card.image_urls[0].endswith("_259_170")


def test_a_sold_card_and_a_card_in_another_order():
    _, sold, other = carfromjapan.parse_search(load("search.html")).listings
    assert (sold.status_raw, sold.price_raw, sold.total_price_raw, sold.destination_port) == (
        "SOLD",
        None,
        None,
        None,
    )
    assert "Reference No." not in sold.attributes
    assert (other.mileage_raw, other.attributes["Model code"]) == ("13,000 km", "S510P")
    assert other.attributes["Grade"] == "Standard Agricultural Special"
    assert (other.price_raw, other.total_price_raw) == ("US$ 8,735", "US$ 8,090")


def test_an_empty_model_page_is_not_a_layout_change():
    empty = carfromjapan.parse_search(load("search_empty.html"))
    assert (empty.listings, empty.no_results, empty.has_next) == ([], True, None)
    not_a_list = carfromjapan.parse_search(load("detail.html"))
    assert (not_a_list.listings, not_a_list.no_results) == ([], False)


# -- detail page: key fields ----------------------------------------------------------------------


def test_detail_page_reads_the_spec_table_by_label():
    detail = carfromjapan.parse_detail(load("detail.html"), SCRAPED_AT)
    assert detail.listing_id == "6a1f03c2d94e7b0a5c318e27"
    assert detail.attributes["Reference No."] == "CFJ2231907"
    assert detail.attributes["Model Code"] == "3BD-S510P"
    assert detail.year_raw == "2022 / Mar"
    assert detail.mileage_raw == "31,000 km(Approx. 19,263 miles)"
    assert detail.attributes["VIN / Chassis No."] == "S510P0412***"
    assert "Manufacture Year" not in detail.attributes  # empty on the page
    assert (detail.price_raw, detail.total_price_raw) == ("US$ 7,905", "US$ 9,470")
    assert (detail.destination_port, detail.attributes["price_condition"]) == (
        "Baltimore (Port)",
        "C&F",
    )
    assert detail.attributes["total_includes"] == "Inspection, Insurance"
    assert [u.rsplit("_", 2)[-2:] for u in detail.image_urls] == [["640", "0"]] * 3


def test_drive_falls_back_to_the_4wd_accessory():
    detail = carfromjapan.parse_detail(load("detail.html"))
    assert "Drive Type" not in detail.attributes
    assert detail.drive_raw == "4WD"
    assert "バッグ" in detail.attributes["Accessories"]


def test_detail_pages_with_an_ask_total_or_sold():
    ask = carfromjapan.parse_detail(load("detail_ask.html"))
    assert (ask.price_raw, ask.total_price_raw, ask.destination_port) == ("US$ 6,571", None, None)
    assert (ask.image_urls, ask.drive_raw) == ([], "4WD")
    assert ask.attributes["Manufacture Year"] == "2024 / Apr"
    assert "price_condition" not in ask.attributes
    sold = carfromjapan.parse_detail(load("detail_sold.html"))
    assert (sold.status_raw, sold.price_raw, sold.price_basis) == ("SOLD", None, None)


def test_the_detail_prices_win_over_the_card_prices():
    card = carfromjapan.parse_search(load("search.html")).listings[0]
    merged = carfromjapan.merge_detail(card, carfromjapan.parse_detail(load("detail.html")))
    assert (merged.price_raw, merged.total_price_raw) == ("US$ 7,905", "US$ 9,470")
    assert merged.attributes["card_total"] == "US$ 9,120"
    assert merged.url == card.url
    assert merged.drive_raw == "4WD"


def test_parse_page_tells_the_page_kinds_apart():
    assert len(carfromjapan.parse_page(load("search.html"))) == 3
    assert [x.listing_id for x in carfromjapan.parse_page(load("detail.html"))] == [
        "6a1f03c2d94e7b0a5c318e27"
    ]
    saved = HtmlResponse(
        url="file:///tmp/page.html", body=(HERE / "detail.html").read_bytes(), encoding="utf-8"
    )
    assert [x.listing_id for x in carfromjapan.parse_page(saved)] == ["6a1f03c2d94e7b0a5c318e27"]


# -- conformance: the real scraped records --------------------------------------------------------


def records(name: str):
    return json.loads(shared_path("fixtures", "carfromjapan", name).read_text(encoding="utf-8"))


CARD_SPECS = (
    ("Registration year", "registration_year"),
    ("Mileage", "mileage"),
    ("Model code", "model_code"),
    ("Engine", "engine"),
    ("Grade", "grade"),
    ("Transmission", "transmission"),
)
DETAIL_SPECS = (
    ("Reference No.", "reference_no"),
    ("Model Code", "model_code"),
    ("Registration Year", "registration_year"),
    ("Manufacture Year", "manufacture_year"),
    ("Model Grade", "model_grade"),
    ("Transmission", "transmission"),
    ("Mileage", "mileage"),
    ("Engine Capacity", "engine_capacity"),
    ("Fuel Type", "fuel_type"),
    ("No. of Seats", "seats"),
    ("No. of Doors", "doors"),
    ("Steering", "steering"),
    ("Drive Type", "drive_type"),
    ("Dimension", "dimension"),
    ("VIN / Chassis No.", "vin_chassis_no"),
    ("Exterior Color", "exterior_color"),
)


def real_cards():
    """The 100 real card records written into one model page of our markup, and parsed."""
    cards = list(records("scraped_listing_cards_2026-05-20.json").values())
    html = search_page(
        [
            card_html(
                {
                    "url": c["url"].removeprefix("https://carfromjapan.com"),
                    "title": c["title"],
                    "reference": c["cfj_id"] or None,
                    "photo_count": c["photo_count"],
                    "thumbnail": c["thumbnail_url"],
                    "specs": [(label, c.get(key) or "-") for label, key in CARD_SPECS],
                    "price": c["car_price"],
                    "total": c["total_cnf"],
                    "port": c["delivery_port"],
                    "sold": False,
                }
            )
            for c in cards
        ],
        count=len(cards),
        page=1,
        last_page=1,
        slug="cars",
    )
    response = HtmlResponse(
        url="https://carfromjapan.com/kenya/cheap-used-cars-for-sale",
        body=html.encode(),
        encoding="utf-8",
    )
    return cards, carfromjapan.parse_search(response, SCRAPED_AT).listings


def real_detail(record: dict):
    thumbs = [u.replace("_640_0", "_100_100") for u in record.get("image_urls", [])]
    values = {
        "url": record["car_url"],
        "title": record["title"],
        "images": thumbs,
        "price": record["car_price"],
        "total": record["total_cnf"],
        "condition": "C&F",
        "includes": "Inspection",
        "port": record["delivery_port"],
        "specs": [(label, record.get(key) or "") for label, key in DETAIL_SPECS],
        "accessories": record["accessories"],
        "sold": False,
    }
    response = HtmlResponse(
        url=record["car_url"], body=detail_html(values).encode(), encoding="utf-8"
    )
    return carfromjapan.parse_detail(response, SCRAPED_AT)


def test_all_100_real_cards_come_through_verbatim():
    cards, listings = real_cards()
    assert len(cards) == len(listings) == 100
    for card, listing in zip(cards, listings, strict=True):
        assert listing.listing_id == carfromjapan.listing_id_from_url(card["url"])
        assert (listing.url, listing.title) == (card["url"], card["title"])
        mileage = None if card["mileage"] == "- km" else card["mileage"]  # one card's blank
        assert (listing.year_raw, listing.mileage_raw) == (card["registration_year"], mileage)
        assert listing.transmission_raw == card["transmission"]
        assert listing.attributes["Model code"] == card["model_code"]
        assert listing.attributes["Engine"] == card["engine"]
        assert listing.attributes.get("Grade") == card.get("grade")
        assert (listing.price_raw, listing.attributes["card_price"]) == (card["car_price"],) * 2
        assert (listing.total_price_raw, listing.attributes["card_total"]) == (
            card["total_cnf"],
        ) * 2
        assert (listing.destination_port, listing.currency_raw) == (card["delivery_port"], "USD")
        assert listing.image_urls == [card["thumbnail_url"]]
        assert listing.attributes["photo_count"] == str(card["photo_count"])
    assert sum("grade" in c for c in cards) == 32


def test_all_100_real_detail_records_come_through_verbatim():
    details = records("scraped_detail_records_2026-05-20.json")
    assert len(details) == 100
    drives = {"table": 0, "accessories": 0, "none": 0}
    for url, record in details.items():
        listing = real_detail(record)
        assert listing.listing_id == url.rsplit("-", 1)[-1]
        assert listing.url == url
        for label, key in DETAIL_SPECS:
            assert listing.attributes.get(label) == (record.get(key) or None), (url, label)
        assert (listing.price_raw, listing.total_price_raw) == (
            record["car_price"],
            record["total_cnf"],
        )
        assert listing.destination_port == record["delivery_port"] == "Mombasa (Port)"
        assert listing.image_urls == record["image_urls"]
        assert listing.year_raw == record["registration_year"]
        if record.get("drive_type"):
            assert listing.drive_raw == record["drive_type"]
            drives["table"] += 1
        elif listing.drive_raw:
            drives["accessories"] += 1
        else:
            drives["none"] += 1
    assert drives["table"] == 75
    assert drives["accessories"] >= 1


def test_the_two_real_hijet_trucks():
    details = records("scraped_detail_records_2026-05-20.json")
    old = real_detail(details[HIJET_2021])
    assert (old.attributes["Reference No."], old.attributes["Model Code"]) == (
        "CFJ1568485",
        "3BD-S510P",
    )
    assert old.drive_raw == "4WD"  # only among the accessories
    assert (old.year_raw, old.mileage_raw) == ("2021 / Jul", "56,000 km(Approx. 34,804 miles)")
    assert (old.price_raw, old.total_price_raw) == ("US$ 6,834", "US$ 8,279")
    result = normalize_listing(asdict(old))
    assert (result["model_code"], result["year"], result["build_month"]) == ("S510P", 2021, 7)
    assert (result["date_basis"], result["is_4wd"]) == ("registration_month", True)
    assert result["mileage_mi"] == round(56000 * 0.621371)
    assert (result["engine_cc"], result["price"], result["currency"]) == (660, 6834, "USD")

    new = real_detail(details[HIJET_2024])
    assert (new.attributes["Reference No."], new.drive_raw) == ("CFJ2019345", "4WD")
    assert new.attributes["VIN / Chassis No."] == "S510P-0571***"  # masked: never a full VIN
    assert normalize_listing(asdict(new))["model_code"] == "S510P"


def test_detail_prices_win_for_every_real_car():
    """Card and detail disagree (the detail total is US$ 350 higher for all 100 cars; the 2024
    Hijet's card even shows US$ 8,735 over its own US$ 8,090 total): the merge keeps the
    detail's."""
    cards, listings = real_cards()
    details = records("scraped_detail_records_2026-05-20.json")
    for card, listing in zip(cards, listings, strict=True):
        record = details[card["url"]]
        merged = carfromjapan.merge_detail(listing, real_detail(record))
        assert (merged.price_raw, merged.total_price_raw) == (
            record["car_price"],
            record["total_cnf"],
        )
        assert merged.attributes["card_total"] == card["total_cnf"] != record["total_cnf"]
    hijet = next(c for c in cards if c["url"] == HIJET_2024)
    assert (hijet["car_price"], hijet["total_cnf"]) == ("US$ 8,735", "US$ 8,090")

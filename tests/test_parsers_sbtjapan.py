"""SBT Japan parsers: golden tests on our own pages, and conformance on the real scraped records.

Our pages (tests/fixtures/sbtjapan/) are written in the markup of shared/sources/sbtjapan.md §2: a
Hijet search page with a sale price, a SOLD card, an advertising tile and an older-markup card; its
last page; an empty search; a detail page with the price breakdown, one with an ASK total and gaps,
one sold. The real files in shared/fixtures/sbtjapan/ are scraper OUTPUT (150 detail records), not
pages, so they test value formats, not selectors: each record is written into our detail markup
and parsed back, and the raw fields must come out exactly as SBT displays them (§2.3), and the
normalizer must read them as the guide says ("EBD-HH5" -> HH5, "2016/4", "111,000km", "4WD").
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict

import pytest

from keitrucks.sample.render_sbtjapan import detail_html
from pipelines.normalize import normalize_listing
from scrapers.parsers import sbtjapan
from tests.conftest import FIXTURES, check_golden, response_for, shared_path

HERE = FIXTURES / "sbtjapan"
SCRAPED_AT = "2026-11-24T06:00:00+00:00"
PAGES = sorted(p.name for p in HERE.glob("*.html"))
RECORD_FILES = {
    "scraped_detail_records_2026-05-17.json": 100,
    "scraped_detail_records_2026-05-20_incl_acty.json": 50,
}


def load(name: str):
    page = HERE / name
    meta = json.loads(page.with_suffix(".meta.json").read_text(encoding="utf-8"))
    return response_for(page, meta["url"])


def parse_any(name: str):
    response = load(name)
    if name.startswith("detail"):
        listing = sbtjapan.parse_detail(response, SCRAPED_AT)
        return asdict(listing) if listing else None
    page = sbtjapan.parse_search(response, SCRAPED_AT)
    return {
        "listings": [asdict(x) for x in page.listings],
        "has_next": page.has_next,
        "no_results": page.no_results,
    }


# -- golden ---------------------------------------------------------------------------------------


def test_every_fixture_page_has_meta_and_golden_files():
    assert len(PAGES) >= 6
    for name in PAGES:
        assert (HERE / name).with_suffix(".meta.json").is_file(), name
        assert (HERE / name).with_suffix(".expected.json").is_file(), name


@pytest.mark.parametrize("name", PAGES)
def test_golden(name, update_golden):
    check_golden(parse_any(name), (HERE / name).with_suffix(".expected.json"), update_golden)


# -- search page: key fields ----------------------------------------------------------------------


def test_search_page_keeps_vehicle_cards_and_skips_the_advert():
    page = sbtjapan.parse_search(load("search.html"), SCRAPED_AT)
    assert [x.listing_id for x in page.listings] == ["AH7312", "AI0954", "AJ2207"]
    assert (page.has_next, page.no_results) == (True, False)
    assert all(x.scraped_at == SCRAPED_AT for x in page.listings)


def test_the_sale_price_wins_and_the_total_keeps_its_basis():
    card = sbtjapan.parse_search(load("search.html")).listings[0]
    assert (card.price_raw, card.currency_raw, card.price_basis) == ("6,980", "USD", "fob")
    assert card.attributes["original_price"] == "7,480"
    assert (card.total_price_raw, card.destination_port) == ("8,512", "BALTIMORE")
    assert card.attributes["price_condition"] == "C&F"
    assert card.attributes["Model Code"] == "3BD-S510P"
    assert (card.attributes["Engine"], card.attributes["Engine Code"]) == ("660cc", "KF")
    assert (card.year_raw, card.make_model_raw) == ("2019/11", "DAIHATSU HIJET TRUCK")
    assert (card.mileage_raw, card.drive_raw, card.transmission_raw) == ("24,000km", "4WD", "MT")


def test_a_sold_card_is_sold_without_prices():
    sold = sbtjapan.parse_search(load("search.html")).listings[1]
    assert (sold.status_raw, sold.price_raw, sold.total_price_raw) == ("SOLD", None, None)
    assert sold.price_basis is None
    assert "price_condition" not in sold.attributes


def test_an_older_card_with_gaps_is_read_by_its_words():
    card = sbtjapan.parse_search(load("search.html")).listings[2]
    assert card.url == "https://www.sbtjapan.com/used-cars/AJ2207"
    assert (card.title, card.year_raw) == ("2015 DAIHATSU HIJET TRUCK", "2015")
    assert (card.mileage_raw, card.drive_raw, card.total_price_raw) == (None, None, None)
    assert "Engine Code" not in card.attributes
    assert card.image_urls[0].startswith("https://img.sbtjapan.com/dealercarphoto/")


def test_the_last_page_says_so_and_reads_a_cif_total():
    page = sbtjapan.parse_search(load("search_last.html"))
    assert page.has_next is False
    (card,) = page.listings
    assert (card.attributes["price_condition"], card.destination_port) == ("CIF", "TACOMA")


def test_an_empty_search_is_not_a_layout_change():
    empty = sbtjapan.parse_search(load("search_empty.html"))
    assert (empty.listings, empty.no_results) == ([], True)
    not_a_search = sbtjapan.parse_search(load("detail.html"))
    assert (not_a_search.listings, not_a_search.no_results) == ([], False)


# -- detail page: key fields ----------------------------------------------------------------------


def test_detail_page_reads_labels_breakdown_and_total():
    detail = sbtjapan.parse_detail(load("detail.html"), SCRAPED_AT)
    assert (detail.listing_id, detail.url) == (
        "AH7312",
        "https://www.sbtjapan.com/used-cars/AH7312",
    )
    assert (detail.price_raw, detail.total_price_raw) == ("6,980", "8,512")
    assert (detail.destination_port, detail.attributes["price_condition"]) == ("BALTIMORE", "C&F")
    attributes = detail.attributes
    assert attributes["Chassis No."] == "S510P-0287***"
    assert [attributes[k] for k in ("Freight", "Inspection", "Insurance", "Vanning")] == [
        "1,250",
        "250",
        "32",
        "0",
    ]
    assert "Max Loading Capacity" not in attributes  # "—kg" is SBT's blank
    assert "Navigation System" not in attributes["options"]  # not -available
    assert len(detail.image_urls) == 5


def test_detail_page_with_an_ask_total_and_gaps():
    detail = sbtjapan.parse_detail(load("detail_ask.html"))
    assert (detail.total_price_raw, detail.destination_port) == (None, None)
    assert "price_condition" not in detail.attributes
    assert (detail.year_raw, detail.mileage_raw, detail.drive_raw) == ("2015", None, None)
    assert detail.image_urls == []


def test_detail_page_of_a_sold_truck():
    detail = sbtjapan.parse_detail(load("detail_sold.html"))
    assert (detail.status_raw, detail.price_raw, detail.price_basis) == ("SOLD", None, None)


def test_a_search_page_is_no_detail_page():
    assert sbtjapan.parse_detail(load("search.html")) is None


def test_the_card_price_stands_and_the_detail_adds_the_breakdown():
    card = sbtjapan.parse_search(load("search.html")).listings[0]
    merged = sbtjapan.merge_detail(card, sbtjapan.parse_detail(load("detail.html")))
    assert (merged.price_raw, merged.total_price_raw) == ("6,980", "8,512")
    assert merged.attributes["Freight"] == "1,250"
    assert merged.attributes["original_price"] == "7,480"
    assert len(merged.image_urls) == 5


def test_parse_page_tells_the_page_kinds_apart():
    assert [x.listing_id for x in sbtjapan.parse_page(load("detail.html"))] == ["AH7312"]
    assert len(sbtjapan.parse_page(load("search.html"))) == 3
    assert set(sbtjapan.PAGE_PARSERS) == {"search", "detail"}


# -- conformance: the real scraped records --------------------------------------------------------


def records(name: str) -> list[dict]:
    path = shared_path("fixtures", "sbtjapan", name)
    return json.loads(path.read_text(encoding="utf-8"))


def record_page(record: dict):
    """A real record written into our detail-page markup, as SBT would have shown it."""
    options = record.get("car_options") or record.get("options") or {}
    values = {
        "title": record["title"],
        "model_code": record["model_code"],
        "year_text": sbtjapan.title_date(record["title"]),
        "body": record["body_type"],
        "stock": record["stock_id"],
        "location": record["location"],
        "images": record["image_urls"],
        "currency": record["currency"],
        "price": record["vehicle_price"],
        "sold": False,
        "status": [(label, record[key]) for label, key in STATUS],
        "info": [(label, record[key]) for label, key in INFO],
        "options": {cat: [(o, True) for o in items] for cat, items in options.items()},
        "breakdown": {
            "vehicle_price": record["vehicle_price_breakdown"],
            **{
                f"{k}_amount": record[f"{k}_amount"]
                for k in ("freight", "inspection", "insurance", "vanning")
            },
        },
        "total": record["total_price"],
        "total_label": "Total Price",
        "country": None,
        "port": None,
        "form": {
            "make": record["make"],
            "model": record["model"],
            "name": record["model_name"],
            "year": record["manufacture_year"],
            "month": record["manufacture_month"],
            "grade": record["grade"],
            "make_id": record["make_id"],
            "body_type": record["body_type"],
            "mileage": record["mileage_raw"],
        },
    }
    html = detail_html(values).encode()
    return response_for_bytes(html, record["car_url"])


STATUS = (
    ("Mileage", "mileage"),
    ("Engine", "engine"),
    ("Transmission", "transmission"),
    ("Drive", "drive"),
    ("Steering", "steering"),
    ("Fuel", "fuel"),
    ("Door", "doors"),
    ("Seats", "seats"),
)
INFO = (
    ("Body Color", "body_color"),
    ("Dimension", "dimension"),
    ("M3", "m3"),
    ("Vehicle Weight", "vehicle_weight"),
    ("Gross Vehicle Weight", "gross_vehicle_weight"),
    ("Max Loading Capacity", "max_loading_capacity"),
)


def response_for_bytes(body: bytes, url: str):
    from scrapy.http import HtmlResponse

    return HtmlResponse(url=url, body=body, encoding="utf-8")


def squash(text: str) -> str:
    return " ".join(text.split())


def blank(text: str) -> bool:
    return not text or bool(re.fullmatch(r"[-—]+\s*[a-z]*", text))


@pytest.mark.parametrize(("name", "count"), RECORD_FILES.items())
def test_every_real_record_comes_through_verbatim(name, count):
    rows = records(name)
    assert len(rows) == count
    for record in rows:
        listing = sbtjapan.parse_detail(record_page(record), SCRAPED_AT)
        stock = record["stock_id"]
        assert listing is not None, stock
        assert (listing.listing_id, listing.url) == (stock, record["car_url"])
        assert listing.title == squash(record["title"])  # HTML shows runs of spaces as one
        assert (listing.price_raw, listing.currency_raw) == (record["vehicle_price"], "USD")
        assert (listing.total_price_raw, listing.price_basis) == (record["total_price"], "fob")
        assert listing.destination_port is None  # the records do not say which port was chosen
        assert listing.location_raw == record["location"]
        assert listing.mileage_raw == record["mileage"]
        assert (listing.drive_raw, listing.transmission_raw) == (
            record["drive"],
            record["transmission"],
        )
        assert listing.attributes["Model Code"] == record["model_code"]
        assert listing.attributes["Engine"] == record["engine"]
        assert listing.attributes["Steering"] == record["steering"]
        for label, key in STATUS + INFO:
            assert listing.attributes.get(label) == (None if blank(record[key]) else record[key])
        assert listing.attributes["Freight"] == record["freight_amount"]
        year, month = record["manufacture_year"], record["manufacture_month"]
        assert listing.year_raw == (f"{year}/{month}" if month else year), stock
        assert listing.image_urls == record["image_urls"]


@pytest.mark.parametrize(
    ("name", "fours"), [(n, f) for n, f in zip(RECORD_FILES, (17, 8), strict=True)]
)
def test_real_value_formats_normalize_as_the_guide_says(name, fours):
    rows = records(name)
    normalized = [
        normalize_listing(asdict(sbtjapan.parse_detail(record_page(r), SCRAPED_AT))) for r in rows
    ]
    assert sum(n["is_4wd"] is True for n in normalized) == fours
    for record, result in zip(rows, normalized, strict=True):
        km = int(record["mileage_raw"])
        assert re.fullmatch(r"[\d,]+km", record["mileage"]), record["mileage"]
        assert result["mileage_mi"] == round(km * 0.621371), record["stock_id"]
        assert result["price"] == int(record["vehicle_price"].replace(",", ""))
        assert result["currency"] == "USD"
        assert result["year"] == int(record["manufacture_year"])
        assert result["date_basis"].startswith("registration")


def test_the_acty_and_the_jimny_records():
    acty = next(
        r
        for r in records("scraped_detail_records_2026-05-20_incl_acty.json")
        if r["stock_id"] == "AJ4108"
    )
    listing = sbtjapan.parse_detail(record_page(acty), SCRAPED_AT)
    assert listing.title == "2016/4 HONDA ACTY VAN SDX"
    assert (listing.price_raw, listing.total_price_raw) == ("2,040", "3,460")
    assert [listing.attributes[k] for k in ("Freight", "Inspection", "Insurance", "Vanning")] == [
        "1,150",
        "250",
        "20",
        "0",
    ]
    assert (listing.location_raw, listing.make_model_raw) == ("HAKATA, JAPAN", "HONDA ACTY VAN")
    result = normalize_listing(asdict(listing))
    assert (result["model_code"], result["year"], result["build_month"]) == ("HH5", 2016, 4)
    assert (result["is_4wd"], result["date_basis"]) == (False, "registration_month")

    jimny = next(
        r for r in records("scraped_detail_records_2026-05-17.json") if r["stock_id"] == "AJ0466"
    )
    listing = sbtjapan.parse_detail(record_page(jimny), SCRAPED_AT)
    assert (listing.title, listing.attributes["Model Code"]) == (
        "2002/10 SUZUKI JIMNY XC",
        "GF-JB23W",
    )
    assert (listing.price_raw, listing.total_price_raw) == ("1,600", "2,919")
    assert listing.attributes["Freight"] == "1,050"
    result = normalize_listing(asdict(listing))
    assert (result["model_code"], result["is_4wd"], result["transmission"]) == (
        "JB23W",
        True,
        "automatic",
    )
    assert result["mileage_mi"] == round(157000 * 0.621371)
    assert result["engine_cc"] == 660


def test_real_detail_urls_give_the_stock_id():
    for name in RECORD_FILES:
        for record in records(name):
            assert sbtjapan.stock_id_from_url(record["car_url"]) == record["stock_id"]

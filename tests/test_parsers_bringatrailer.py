"""Bring a Trailer parsers: golden tests on our own pages, conformance on the real saved pages.

Our pages (tests/fixtures/bringatrailer/) are hand-written in BaT's markup: a model page with
completed and live auctions, an empty model page, a listings-filter answer, two listing pages and
a directory slice. The real pages (../shared/fixtures/bringatrailer/) are a Porsche 911 GT3 model
page and the makes & models directory; their expected values come from the source guide.
"""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest
from scrapy.http import HtmlResponse, TextResponse

from scrapers.items import Listing
from scrapers.parsers import bringatrailer as bat
from scrapers.parsers import bringatrailer_text as bat_text
from tests.conftest import FIXTURES, check_golden, response_for, shared_path

HERE = FIXTURES / "bringatrailer"
KEI_MODEL_URLS = [
    "https://bringatrailer.com/suzuki/carry/",
    "https://bringatrailer.com/suzuki/every/",
    "https://bringatrailer.com/honda/acty/",
    "https://bringatrailer.com/daihatsu/hijet/",
    "https://bringatrailer.com/subaru/sambar/",
    "https://bringatrailer.com/mitsubishi/minicab/",
]


def meta(name: str) -> dict:
    return json.loads((HERE / f"{name}.meta.json").read_text(encoding="utf-8"))


def page(name: str, suffix: str = ".html"):
    info = meta(name)
    return response_for(HERE / f"{name}{suffix}", info["url"]), info["fetched_at"]


def results_json(results: bat.ResultsPage | None) -> dict | None:
    if results is None:
        return None
    out = asdict(results)
    out["listings"] = [asdict(x) for x in results.listings]
    return out


def model_page_json(response, scraped_at: str) -> dict:
    model = bat.parse_model_page(response, scraped_at)
    return {
        "completed": results_json(model.completed),
        "live": [asdict(x) for x in model.live],
        "toolbar": asdict(model.toolbar) if model.toolbar else None,
    }


GOLDEN = {
    "model_page": lambda r, t: model_page_json(r, t),
    "model_page_empty": lambda r, t: model_page_json(r, t),
    "listings_filter": lambda r, t: results_json(bat.parse_listings_filter(r, t)),
    "listing_4wd": lambda r, t: asdict(bat.parse_listing_page(r, t)),
    "listing_missing": lambda r, t: asdict(bat.parse_listing_page(r, t)),
    "models_directory": lambda r, t: bat.parse_models_directory(r),
}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden(name, update_golden):
    suffix = ".json" if name == "listings_filter" else ".html"
    response, scraped_at = page(name, suffix)
    check_golden(GOLDEN[name](response, scraped_at), HERE / f"{name}.expected.json", update_golden)


def test_every_fixture_has_meta_and_expected():
    pages = [p for p in HERE.iterdir() if p.suffix in (".html", ".json")]
    pages = [p for p in pages if not p.name.endswith((".meta.json", ".expected.json"))]
    assert {p.stem for p in pages} == set(GOLDEN)
    for p in pages:
        assert (HERE / f"{p.stem}.meta.json").exists()
        assert (HERE / f"{p.stem}.expected.json").exists()


# ---- our model page: key fields ----


@pytest.fixture(scope="module")
def acty():
    response, scraped_at = page("model_page")
    return bat.parse_model_page(response, scraped_at)


def test_model_page_completed_items(acty):
    ids = [x.listing_id for x in acty.completed.listings]
    assert ids == ["112400011", "112400022", "112400033", "112400044"]
    assert acty.completed.skipped == 1  # the item with "id": null
    sold, bid_to, no_reserve, withdrawn = acty.completed.listings
    assert (sold.price_raw, sold.price_basis, sold.status_raw) == ("USD $9,400", "sold", "sold")
    assert sold.mileage_raw == "31k-Mile"
    assert sold.year_raw == "1997"
    assert sold.attributes["ended_at"] == "2026-11-21T20:00:00+00:00"
    assert (bid_to.price_raw, bid_to.price_basis, bid_to.status_raw) == (
        "USD $7,250",
        "bid_to",
        "ended",
    )
    assert no_reserve.title == "No Reserve: 1993 Honda Acty \u201cAttack\u201d 2WD"
    assert no_reserve.image_urls == []
    assert no_reserve.location_raw == "Canada"
    assert no_reserve.attributes["no_reserve"] == "yes"
    assert (withdrawn.price_raw, withdrawn.price_basis, withdrawn.status_raw) == (
        None,
        None,
        "withdrawn",
    )
    assert withdrawn.year_raw == "1990"  # the JSON's own year when it has one
    assert withdrawn.description is None


def test_model_page_totals_and_toolbar(acty):
    assert (acty.completed.items_total, acty.completed.pages_total) == (57, 3)
    assert acty.completed.keyword_pages == [60012345, 60012399]
    assert acty.toolbar == bat.Toolbar(
        "a1b2c3d4e5", "https://bringatrailer.com/wp-json/bringatrailer/1.0/data/listings-filter"
    )


def test_model_page_live_cards(acty):
    truck, parts = acty.live
    assert (truck.listing_id, truck.price_raw, truck.price_basis, truck.status_raw) == (
        "112500101",
        "USD $6,100",
        "bid",
        "live",
    )
    assert truck.url == "https://bringatrailer.com/listing/1995-honda-acty-12/"
    assert truck.attributes["ends_at"] == "2026-11-27T17:20:00+00:00"
    # parts are kept: telling kei trucks from parts is normalization's job
    assert parts.title == "Honda Acty Tailgate and Side Gates"
    assert parts.location_raw == "Canada"


def test_card_template_script_is_not_a_live_card(acty):
    assert len(acty.live) == 2


def test_empty_model_page_is_valid_and_empty():
    response, scraped_at = page("model_page_empty")
    model = bat.parse_model_page(response, scraped_at)
    assert model.completed is not None
    assert (model.completed.listings, model.completed.items_total) == ([], 0)
    assert model.live == []


def test_page_without_embedded_data():
    response = response_for(HERE / "listing_4wd.html", "https://bringatrailer.com/honda/acty/")
    model = bat.parse_model_page(response, None)
    assert model.completed is None
    assert model.toolbar is None


# ---- listings-filter ----


def test_listings_filter_answer():
    response, scraped_at = page("listings_filter", ".json")
    results = bat.parse_listings_filter(response, scraped_at)
    assert (results.items_total, results.pages_total, results.page_current) == (57, 2, 2)
    sold, bid_to, active = results.listings
    assert (sold.price_basis, bid_to.price_basis) == ("sold", "bid_to")
    assert bid_to.mileage_raw == "22k-Mile"
    assert (active.price_raw, active.price_basis, active.status_raw) == (
        "USD $2,600",
        "bid",
        "live",
    )


def test_listings_filter_rejects_non_results():
    url = "https://bringatrailer.com/wp-json/bringatrailer/1.0/data/listings-filter"
    for body in (b'{"code":"rest_forbidden"}', b"<html></html>"):
        assert (
            bat.parse_listings_filter(TextResponse(url, body=body, encoding="utf-8"), None) is None
        )


def test_listings_filter_body_puts_the_model_inside_base_filter():
    body = bat.listings_filter_body([2015688, 55778434], 3)
    assert body == {
        "page": 3,
        "per_page": 48,
        "get_items": 1,
        "sort": "td",
        "base_filter": {"keyword_pages": [2015688, 55778434]},
    }


# ---- listing pages ----


def test_listing_page_4wd_manual_with_chassis():
    response, scraped_at = page("listing_4wd")
    listing = bat.parse_listing_page(response, scraped_at)
    assert listing.listing_id == "112400011"
    assert listing.drive_raw == "Selectable 4WD"
    assert listing.transmission_raw == "Five-Speed Manual Transmission"
    assert listing.mileage_raw == "31k Miles Shown"
    assert listing.attributes["Chassis"] == "HA4-2312345"
    assert listing.attributes["Engine"] == "656cc Three-Cylinder"
    assert listing.attributes["Bids"] == "27"
    assert listing.attributes["Lot"] == "212,011"
    assert listing.seller_type == "Dealer"
    assert listing.location_raw == "Knoxville, Tennessee 37902"
    assert (listing.price_raw, listing.price_basis, listing.status_raw) == (
        "USD $9,400",
        "sold",
        "sold",
    )
    assert listing.image_urls == [
        "https://bringatrailer.com/wp-content/uploads/2026/11/1997_honda_acty_side-20011.jpg"
    ]
    assert "acty-yard" not in json.dumps(asdict(listing))  # the seller's handle is not kept


def test_listing_page_missing_drive_and_transmission():
    response, scraped_at = page("listing_missing")
    listing = bat.parse_listing_page(response, scraped_at)
    assert (listing.drive_raw, listing.transmission_raw, listing.location_raw) == (None, None, None)
    assert listing.mileage_raw == "TMU"
    assert listing.attributes["Chassis"] == "HH3-1012345"
    assert (listing.price_basis, listing.status_raw) == ("bid_to", "ended")
    assert listing.seller_type == "Private Party"
    assert listing.image_urls == []


def test_listing_page_id_falls_back_to_the_known_id():
    body = (HERE / "listing_missing.html").read_text(encoding="utf-8")
    body = body.replace(
        "<link rel='shortlink' href='https://bringatrailer.com/?p=112400022' />", ""
    )
    url = meta("listing_missing")["url"]
    response = HtmlResponse(url, body=body.encode(), encoding="utf-8")
    assert bat.parse_listing_page(response, None) is None
    assert bat.parse_listing_page(response, None, listing_id="112400022").listing_id == "112400022"


def test_merge_details_fills_the_model_page_listing():
    response, scraped_at = page("model_page")
    base = bat.parse_model_page(response, scraped_at).completed.listings[0]
    response, _ = page("listing_4wd")
    merged = bat.merge_details(base, bat.parse_listing_page(response, scraped_at))
    assert merged.listing_id == base.listing_id
    assert (merged.price_raw, merged.price_basis) == ("USD $9,400", "sold")
    assert (merged.drive_raw, merged.transmission_raw) == (
        "Selectable 4WD",
        "Five-Speed Manual Transmission",
    )
    assert merged.mileage_raw == "31k Miles Shown"
    assert merged.attributes["Chassis"] == "HA4-2312345"
    assert merged.attributes["sold_text"] == base.attributes["sold_text"]
    assert merged.image_urls == base.image_urls
    assert bat.merge_details(base, None) is base


# ---- small pure helpers ----


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Sold for USD $305,000 <span> on 4/1/26 </span>",
            ("sold", "sold", "USD $305,000", "4/1/26"),
        ),
        (
            "Bid to USD $225,000 <span> on 4/2/26 </span>",
            ("bid_to", "ended", "USD $225,000", "4/2/26"),
        ),
        ("Sold for $19,750", ("sold", "sold", "$19,750", None)),
        ("Current Bid: USD $4,444", ("bid", "live", "USD $4,444", None)),
    ],
    ids=["sold", "bid-to", "no-currency-code", "current-bid"],
)
def test_parse_result_text(text, expected):
    result = bat_text.parse_result_text(text)
    assert (result.price_basis, result.status_raw, result.amount, result.date) == expected


@pytest.mark.parametrize("text", [None, "", "Withdrawn on 10/21/26", "Ends in 2 days"])
def test_parse_result_text_without_an_outcome(text):
    assert bat_text.parse_result_text(text) is None


def test_extract_js_object_stops_at_the_end_of_the_object():
    text = 'var x = {"a": {"b": "};"}, "c": [1]}; /* ]]> */ var y = {"z": 1};'
    assert bat_text.extract_js_object(text, "x") == {"a": {"b": "};"}, "c": [1]}
    assert bat_text.extract_js_object(text, "y") == {"z": 1}
    assert bat_text.extract_js_object(text, "missing") is None
    assert bat_text.extract_js_object('var x = {"broken": ', "x") is None


@pytest.mark.parametrize(
    ("title", "year", "mileage"),
    [
        ("15k-Mile 2018 Porsche 911 GT3", "2018", "15k-Mile"),
        ("2000-Mile 1995 Honda Acty 4WD", "1995", "2000-Mile"),
        ("752-Mile Gulf Blue 2023 Porsche 911 GT3 Touring 6-Speed", "2023", "752-Mile"),
        ("1:18 Scale Subaru Sambar Truck Model", None, None),
        ("Porsche Sport Bucket Seats", None, None),
    ],
)
def test_year_and_mileage_from_titles(title, year, mileage):
    item = {"id": 1, "title": title, "url": "/listing/x/"}
    listing = bat.parse_result_item(item, None, "https://bringatrailer.com/")
    assert (listing.year_raw, listing.mileage_raw) == (year, mileage)


def test_ended_at():
    assert bat_text.ended_at(1775156828) == "2026-04-02T19:07:08+00:00"
    assert bat_text.ended_at("1775156828") == "2026-04-02T19:07:08+00:00"
    assert bat_text.ended_at(None) is None
    assert bat_text.ended_at("soon") is None


def test_parse_listings_dispatches_on_page_kind():
    response, scraped_at = page("model_page")
    assert len(bat.parse_listings(response, scraped_at)) == 6
    response, scraped_at = page("listings_filter", ".json")
    assert len(bat.parse_listings(response, scraped_at)) == 3
    response, scraped_at = page("listing_4wd")
    assert [x.listing_id for x in bat.parse_listings(response, scraped_at)] == ["112400011"]
    assert all(isinstance(x, Listing) for x in bat.parse_listings(response, scraped_at))


# ---- conformance: the real saved pages ----

REAL_MODEL_PAGE = "model_page_completed_porsche_911_gt3_2026-04.html"


@pytest.fixture(scope="module")
def porsche():
    path = shared_path("fixtures", "bringatrailer", REAL_MODEL_PAGE)
    response = response_for(path, "https://bringatrailer.com/porsche/911-gt3/")
    return bat.parse_model_page(response, "2026-04-03T06:00:00+00:00")


def test_real_model_page_completed_results(porsche):
    listings = porsche.completed.listings
    assert len(listings) == 24
    assert all(x.price_basis in ("sold", "bid_to") for x in listings)
    assert sum(x.price_basis == "sold" for x in listings) == 19
    assert sum(x.price_basis == "bid_to" for x in listings) == 5
    assert all(x.status_raw == {"sold": "sold", "bid_to": "ended"}[x.price_basis] for x in listings)
    assert all(x.price_raw and x.attributes.get("ended_at") for x in listings)
    assert (porsche.completed.items_total, porsche.completed.pages_total) == (1491, 63)
    assert porsche.completed.keyword_pages == [2015688, 55778434, 55778221, 55778351]


def test_real_model_page_first_items(porsche):
    first, second = porsche.completed.listings[:2]
    assert first.listing_id == "110973652"
    assert first.attributes["sold_text"].startswith("Bid to")
    assert (first.price_raw, first.price_basis) == ("USD $225,000", "bid_to")
    assert first.attributes["timestamp_end"] == "1775156828"
    assert first.attributes["ended_at"] == "2026-04-02T19:07:08+00:00"
    assert first.url == "https://bringatrailer.com/listing/2022-porsche-911-gt3-135/"
    assert (second.price_raw, second.price_basis, second.status_raw) == (
        "USD $305,000",
        "sold",
        "sold",
    )


def test_real_model_page_live_cards(porsche):
    assert len(porsche.live) == 7
    first = porsche.live[0]
    assert first.listing_id == "111205833"
    assert first.price_raw == "USD $4,444"
    assert first.attributes["timestamp_end"] == "1775245680"
    assert first.title == "4.0L Porsche 997 GT3 Flat-Six Engine Project"
    assert first.url == "https://bringatrailer.com/listing/engine-254/"
    assert first.location_raw == "United States"


def test_real_model_page_toolbar(porsche):
    assert porsche.toolbar.rest_nonce == "390fff6644"
    assert porsche.toolbar.rest_url == (
        "https://bringatrailer.com/wp-json/bringatrailer/1.0/data/listings-filter"
    )


def test_real_models_directory():
    path = shared_path("fixtures", "bringatrailer", "models_directory_trimmed_2025-09.html")
    urls = bat.parse_models_directory(response_for(path, "https://bringatrailer.com/models/"))
    assert set(KEI_MODEL_URLS) <= set(urls)
    assert not [u for u in urls if "scrum" in u or "clipper" in u]
    assert len(urls) == len(set(urls)) > 100

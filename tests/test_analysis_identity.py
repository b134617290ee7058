"""Cross-source identity and platform families, on small hand-built listing tables."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.identity import (
    MATCH_THRESHOLD,
    add_family,
    assign_truck_ids,
    family_of,
    fingerprint_confidence,
    parse_frame_number,
)


@pytest.mark.parametrize(
    ("model", "year", "code", "family"),
    [
        ("Suzuki Carry", 1996, None, "Suzuki Carry"),
        ("Mazda Scrum", 1996, "DL51T", "Suzuki Carry"),
        ("Nissan Clipper", 2005, "U71T", "Mitsubishi Minicab"),
        ("Nissan NT100 Clipper", 2018, None, "Suzuki Carry"),
        (None, 2016, "EBD-DA16T", "Suzuki Carry"),
        ("Mitsubishi Minicab", 1998, "U42T", "Mitsubishi Minicab"),
        ("Mitsubishi Minicab", 2016, None, "Suzuki Carry"),
        ("Toyota Pixis", 2015, None, "Daihatsu Hijet"),
        ("Subaru Sambar", 1998, "KS4", "Subaru Sambar"),
        ("Subaru Sambar", 2014, "S510J", "Daihatsu Hijet"),
        ("Honda Acty", 1996, "HA4", "Honda Acty"),
        (None, None, None, None),
    ],
)
def test_family_of_groups_rebadges_on_their_platform(model, year, code, family):
    assert family_of(model, year, code) == family


def test_add_family_works_on_a_frame_with_missing_values():
    df = pd.DataFrame(
        {"model": ["Mazda Scrum", None], "year": [1996, None], "model_code": [None, None]}
    )
    family = add_family(df)["family"]
    assert family[0] == "Suzuki Carry"
    assert pd.isna(family[1])


@pytest.mark.parametrize(
    ("texts", "frame"),
    [
        (("Frame no. DD51T-123456, runs great",), "DD51T-123456"),
        (("1996 Acty", "chassis HA4 1012345"), "HA4-1012345"),
        (('{"Chassis No.": "s110p-012345"}',), "S110P-012345"),
        (("VIN JH4KA7532MC012345 on title",), "JH4KA7532MC012345"),
        (("1996 Suzuki Carry 4x4, 52,000 miles",), None),
        ((None, ""), None),
    ],
)
def test_parse_frame_number(texts, frame):
    assert parse_frame_number(*texts) == frame


def row(source, listing_id, **kw) -> dict:
    base = {
        "source": source,
        "listing_id": listing_id,
        "identity": f"{source}:{listing_id}",
        "model": "Suzuki Carry",
        "model_code": "DD51T",
        "year": 1996,
        "is_4wd": True,
        "mileage_mi": 52000,
        "price_usd": 7600,
        "price_basis": "asking",
        "location_raw": "Knoxville, TN",
        "title": "1996 Suzuki Carry DD51T 4WD",
    }
    base.update(kw)
    return base


def test_the_same_truck_on_two_sites_gets_one_truck_id():
    listings = pd.DataFrame(
        [
            row("craigslist", "1"),
            row(
                "ebay",
                "9",
                title="Suzuki Carry 4x4 DD51T 1996 kei truck",
                mileage_mi=52010,
                price_usd=7800,
            ),
            row("craigslist", "2", mileage_mi=88000, title="1996 Suzuki Carry 4WD dump"),
        ]
    )
    out = assign_truck_ids(listings).set_index("listing_id")
    assert out.loc["1", "truck_id"] == out.loc["9", "truck_id"] == "craigslist:1"
    assert out.loc["1", "match_confidence"] >= MATCH_THRESHOLD
    assert out.loc["2", "truck_id"] == "craigslist:2"
    assert pd.isna(out.loc["2", "match_confidence"])


def test_a_similar_but_different_truck_is_not_merged():
    # same model, year and town, close but not equal mileage, different price: two trucks
    a = row("craigslist", "1")
    b = row("craigslist", "2", mileage_mi=53200, price_usd=8900, title="96 Carry 4x4 DD51T")
    assert fingerprint_confidence(a, b) < MATCH_THRESHOLD
    assert assign_truck_ids(pd.DataFrame([a, b]))["truck_id"].nunique() == 2


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"is_4wd": False}, "drive differs"),
        ({"year": 1997}, "year differs"),
        ({"model_code": "DA52T"}, "code differs"),
        ({"model": "Honda Acty", "model_code": None}, "platform differs"),
        ({"mileage_mi": 60000}, "mileage far apart"),
    ],
)
def test_conflicting_facts_never_match(change, reason):
    assert fingerprint_confidence(row("a", "1"), row("b", "2", **change)) == 0.0, reason


def test_frame_numbers_decide_alone():
    a = row("craigslist", "1", title="1996 Carry DD51T-123456")
    b = row("dealer_jsonld", "x", title="Suzuki Carry truck, frame DD51T-123456", mileage_mi=84000)
    c = row("ebay", "7", title="Carry DD51T-999999")
    out = assign_truck_ids(pd.DataFrame([a, b, c])).set_index("listing_id")
    assert out.loc["1", "truck_id"] == out.loc["x", "truck_id"]
    assert out.loc["x", "match_confidence"] == 1.0
    assert out.loc["7", "truck_id"] == "ebay:7"  # identical fingerprint, different frame


def test_reposts_keep_the_identity_storage_gave_them():
    listings = pd.DataFrame(
        [row("craigslist", "1"), row("craigslist", "2", identity="craigslist:1", mileage_mi=None)]
    )
    out = assign_truck_ids(listings)
    assert out["truck_id"].tolist() == ["craigslist:1", "craigslist:1"]
    assert out["match_confidence"].tolist() == [1.0, 1.0]

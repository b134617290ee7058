"""Map positions of listings (pipelines.normalize.geo): the site's pin, else the centre of a US
ZIP code or city, marked by how it was found; never a guessed place."""

from __future__ import annotations

import pytest

from pipelines.normalize import normalize_listing
from pipelines.normalize.geo import CITY_CENTROID, SITE_PIN, ZIP_CENTROID, position

KNOXVILLE_37902 = (35.9625, -83.9209)  # the zipcodes package's centre of ZIP 37902

CASES = [
    # (latitude, longitude, location, postal code, state, us) -> basis, near (lat, lon)
    ((35.9606, -83.9207, "Knoxville", None, "TN", True), SITE_PIN, (35.9606, -83.9207)),
    (("35.9606", "-83.9207", None, None, None, True), SITE_PIN, (35.9606, -83.9207)),
    ((34.69, 135.19, "Kobe", None, None, False), SITE_PIN, (34.69, 135.19)),  # a site's own pin
    ((0, 0, "Knoxville, TN 37902", None, "TN", True), ZIP_CENTROID, KNOXVILLE_37902),
    ((None, None, "Knoxville, Tennessee 37902", None, "TN", True), ZIP_CENTROID, KNOXVILLE_37902),
    ((None, None, "Knoxville, TN", "37902-1234", "TN", True), ZIP_CENTROID, KNOXVILLE_37902),
    ((None, None, "Greensboro, NC", None, "NC", True), CITY_CENTROID, (36.07, -79.8)),
    ((None, None, "Maryville, Tennessee, 378**, US", None, "TN", True), CITY_CENTROID, None),
    ((95.0, 10.0, "Boone, NC", None, "NC", True), CITY_CENTROID, None),  # pin out of range
    # ZIP of another state than the listing's: not trusted, the city decides
    ((None, None, "Boone, NC 37902", None, "NC", True), CITY_CENTROID, None),
]

NOWHERE_CASES = [
    (None, None, "United States", None, None, True),
    (None, None, "Kobe", None, None, False),
    (None, None, "Yokohama, Japan", None, None, False),
    (None, None, "Knoxville", None, "TN", True),  # a city without its state's comma form
    (None, None, "Springfield, XX", None, None, True),  # no state known
    (None, None, "Nowhereville, TN", None, "TN", True),
    (None, None, "Knoxville, TN 37902", None, "TN", False),  # an exporter: only its own pin
    ("abc", "def", None, None, None, True),
]


@pytest.mark.parametrize(("given", "basis", "near"), CASES)
def test_position_and_how_it_was_found(given, basis, near):
    lat, lon, location, postal, state, us = given
    found = position(lat, lon, location=location, postal_code=postal, state=state, us=us)
    assert found.basis == basis
    assert -90 <= found.latitude <= 90
    assert -180 <= found.longitude <= 180
    if near is not None:
        assert found.latitude == pytest.approx(near[0], abs=0.1)
        assert found.longitude == pytest.approx(near[1], abs=0.1)


@pytest.mark.parametrize("given", NOWHERE_CASES)
def test_no_position_is_ever_guessed(given):
    lat, lon, location, postal, state, us = given
    found = position(lat, lon, location=location, postal_code=postal, state=state, us=us)
    assert (found.latitude, found.longitude, found.basis) == (None, None, None)


def test_the_normalizer_fills_the_map_fields_for_every_source():
    craigslist = normalize_listing(
        {
            "source": "craigslist",
            "listing_id": "1",
            "url": "https://knoxville.craigslist.org/cto/d/x/1.html",
            "title": "1996 Honda Acty 4x4",
            "latitude": 35.9606,
            "longitude": -83.9207,
        }
    )
    dealer = normalize_listing(
        {
            "source": "dealer_jsonld",
            "listing_id": "2",
            "url": "https://dealer.example/2",
            "title": "1996 Honda Acty 4x4",
            "location_raw": "Hickory, NC",
        }
    )
    exporter = normalize_listing(
        {
            "source": "beforward",
            "listing_id": "3",
            "url": "https://www.beforward.jp/3",
            "title": "1996 HONDA ACTY TRUCK",
            "location_raw": "Yokohama",
        }
    )
    assert (craigslist["geo_basis"], craigslist["geo_latitude"]) == (SITE_PIN, 35.9606)
    assert dealer["geo_basis"] == CITY_CENTROID
    assert dealer["state"] == "NC"
    assert (exporter["geo_latitude"], exporter["geo_basis"]) == (None, None)

"""The schema.org reader: tolerant JSON-LD, vehicle types, model years, sale offers and prices.

The table-driven cases are the quirks the dealer source guide lists (shared/sources/
dealer_jsonld.md §2): Dealer.com's bad escapes, dealr.cloud's control characters and trailing
commas, lower-case and prefixed types, lease and finance offers beside the sale offer.
"""

from __future__ import annotations

import json

import pytest
from scrapy.http import HtmlResponse

from scrapers.parsers import schemaorg

PAGE_URL = "https://dealer.example/inventory/"

# -- tolerant JSON --------------------------------------------------------------------------------

JSON_CASES = [
    ('{"@type": "Car", "name": "a"}', {"@type": "Car", "name": "a"}),
    ('{"name": "line\nbreak\tand tab"}', {"name": "line\nbreak\tand tab"}),
    ('{"name": "x", "offers": {"price": "1",},}', {"name": "x", "offers": {"price": "1"}}),
    ('{"accountName": "A \\- B"}', {"accountName": "A - B"}),
    ('<!-- {"a": 1} -->', {"a": 1}),
    ('//<![CDATA[\n{"a": 1}\n//]]>', {"a": 1}),
    ('[{"a": 1}, {"b": 2},]', [{"a": 1}, {"b": 2}]),
    ('{"a": 1}\n{"b": 2}', [{"a": 1}, {"b": 2}]),
    ("", None),
    ("   ", None),
    ('{"a": ', None),
]


@pytest.mark.parametrize(
    ("text", "expected"), JSON_CASES, ids=[str(i) for i in range(len(JSON_CASES))]
)
def test_load_json_ld(text, expected):
    assert schemaorg.load_json_ld(text) == expected


# -- types, years, offers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        ({"@type": "Car"}, True),
        ({"@type": "car"}, True),
        ({"@type": "https://schema.org/Vehicle"}, True),
        ({"@type": ["Product", "Vehicle"]}, True),
        ({"@type": "Product", "name": "Carry tailgate"}, False),
        ({"@type": "Product", "vehicleModelDate": "1995"}, True),
        ({"vehicleIdentificationNumber": "HA4-1"}, True),
        ({"@type": "Organization", "vehicleModelDate": "1995"}, False),
        ({"@type": "Offer"}, False),
    ],
)
def test_is_vehicle(node, expected):
    assert schemaorg.is_vehicle(node) is expected


@pytest.mark.parametrize(
    ("node", "max_year", "expected"),
    [
        ({"vehicleModelDate": "1996"}, 2027, ("1996", "vehicleModelDate")),
        ({"vehicleModelDate": "2025-01-01"}, 2027, ("2025-01-01", "vehicleModelDate")),
        ({"modelDate": 1979}, 2027, ("1979", "modelDate")),
        ({"productionDate": "1958-04"}, 2027, ("1958-04", "productionDate")),
        (
            {"dateVehicleFirstRegistered": "H8/3 1996"},
            2027,
            ("H8/3 1996", "dateVehicleFirstRegistered"),
        ),
        ({"vehicleModelDate": "1954"}, 2027, (None, None)),
        ({"vehicleModelDate": "2031"}, 2027, (None, None)),
        ({"vehicleModelDate": "0", "modelDate": "1992"}, 2027, ("1992", "modelDate")),
        ({"VEHICLEMODELDATE": "1997"}, None, ("1997", "vehicleModelDate")),
        ({"name": "1991 Daihatsu Hijet 4x4"}, 2027, ("1991", "name")),
        ({"name": "Polaris XP 1000, 2019 model"}, 2027, ("2019", "name")),
        ({"name": "Hijet, 1954 or 2031?"}, 2027, (None, None)),
        ({"productionDate": "1992", "name": "1996 Suzuki Carry"}, 2027, ("1992", "productionDate")),
        ({"modelDate": "n/a", "name": "1979 Datsun 620"}, 2027, ("1979", "name")),
        ({"name": "Used BMW Cars for Sale in Ontario"}, 2027, (None, None)),
    ],
)
def test_year_property(node, max_year, expected):
    assert schemaorg.year_property(node, max_year) == expected


@pytest.mark.parametrize(
    ("offer", "sale"),
    [
        ({"@type": "Offer", "price": 7900}, True),
        ({"@type": "Offer", "price": 139, "paymentFrequency": "monthly"}, False),
        (
            {"@type": "Offer", "businessFunction": "http://purl.org/goodrelations/v1#LeaseOut"},
            False,
        ),
        (
            {
                "@type": "Offer",
                "priceSpecification": {
                    "@type": "UnitPriceSpecification",
                    "price": 199,
                    "unitCode": "MON",
                },
            },
            False,
        ),
        ({"@type": "Offer", "name": "Lease special", "price": 249}, False),
        ({"@type": "Offer", "description": "Finance from $199 per month", "price": 199}, False),
        ({"@type": "Offer", "businessFunction": "http://purl.org/goodrelations/v1#Sell"}, True),
        (
            {"@type": "Offer", "description": "Financing available, trades welcome", "price": 7900},
            True,
        ),
    ],
)
def test_is_sale_offer(offer, sale):
    assert schemaorg.is_sale_offer(offer) is sale


def test_price_from_a_one_off_price_specification():
    offer = {
        "@type": "Offer",
        "priceSpecification": [
            {"@type": "UnitPriceSpecification", "price": 99, "unitCode": "MON"},
            {"@type": "PriceSpecification", "price": "6,450", "priceCurrency": "USD"},
        ],
    }
    assert (schemaorg.offer_price(offer), schemaorg.offer_currency(offer)) == ("6,450", "USD")


# -- items for sale, page descriptors ------------------------------------------------------------

DESCRIPTOR = {"@type": "Car", "name": "Used BMW Cars for Sale in Ontario", "manufacturer": "BMW"}
PRICED = {"@type": "Offer", "price": "7900", "priceCurrency": "USD"}


@pytest.mark.parametrize(
    ("node", "for_sale"),
    [
        (DESCRIPTOR, False),
        ({**DESCRIPTOR, "url": "https://dealer.example/cars/bmw"}, False),  # a URL, no id
        ({**DESCRIPTOR, "sku": "A12"}, False),  # an id, no URL of its own
        ({**DESCRIPTOR, "offers": PRICED}, True),
        ({**DESCRIPTOR, "offers": {"@type": "Offer", "availability": "InStock"}}, False),
        ({**DESCRIPTOR, "offers": {**PRICED, "paymentFrequency": "monthly"}}, False),  # a lease
        ({"@type": "Car", "sku": "A12", "url": "/vdp/a12"}, True),
        ({"@type": "Car", "vehicleIdentificationNumber": "DD51T-412233", "url": "/v/1"}, True),
        ({"@type": "Car", "vehicleIdentificationNumber": "N/A", "url": "/v/1"}, False),
        ({"@type": "Car", "serialNumber": "S-9", "@id": "https://dealer.example/v/9"}, True),
        ({"@type": "Car", "sku": "A12", "offers": {"@type": "Offer", "url": "/v/a12"}}, True),
    ],
)
def test_is_item_for_sale(node, for_sale):
    (vehicle,) = schemaorg.vehicle_nodes([node], "json-ld")
    assert schemaorg.is_item_for_sale(vehicle) is for_sale


def test_an_offer_whose_item_offered_is_the_car_is_for_sale():
    offer = {**PRICED, "itemOffered": {"@type": "Car", "name": "1996 Suzuki Carry"}}
    (vehicle,) = schemaorg.vehicle_nodes([offer], "json-ld")
    assert schemaorg.is_item_for_sale(vehicle)


# -- listing ------------------------------------------------------------------------------------


def listing_of(node: dict):
    body = f'<script type="application/ld+json">{json.dumps(node)}</script>'
    response = HtmlResponse(url=PAGE_URL, body=body.encode(), encoding="utf-8")
    (vehicle,) = schemaorg.vehicle_nodes(schemaorg.json_ld_data(response), "json-ld")
    return schemaorg.listing_from_node(
        vehicle, response, "2026-11-24T06:00:00+00:00", source="test", domain="dealer.example"
    )


@pytest.mark.parametrize(
    ("seller", "location"),
    [
        (
            {"@type": "AutoDealer", "address": {"@type": "PostalAddress", "postalCode": "49601"}},
            "49601",
        ),
        (
            {
                "@type": "AutoDealer",
                "address": {"addressLocality": "Hickory", "postalCode": "28601"},
            },
            "Hickory",
        ),
        ({"@type": "AutoDealer", "address": {"addressCountry": "US"}}, None),
    ],
)
def test_seller_location(seller, location):
    listing = listing_of({"@type": "Car", "sku": "A1", "offers": {**PRICED, "seller": seller}})
    assert listing.location_raw == location


def test_listing_year_from_the_name_and_its_own_url():
    listing = listing_of(
        {"@type": "Car", "name": "1991 Daihatsu Hijet", "sku": "A1", "url": "v/a1"}
    )
    assert (listing.year_raw, listing.attributes["year_property"]) == ("1991", "name")
    assert (listing.listing_id, listing.url) == ("dealer.example:A1", PAGE_URL + "v/a1")
    assert listing.source == "test"

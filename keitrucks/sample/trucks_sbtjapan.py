"""The SBT Japan trucks of the sample marketplace: kei trucks in SBT's stock format.

Stock ids as SBT writes them ("AJ4108"), titles "YYYY/M MAKE MODEL TRUCK GRADE" (one with the year
only), model codes with their emission prefix, mileage in km, US-dollar vehicle prices with a C&F
total to a US port, yards in Japan. Over the three nights: price drops, a sale, a truck that goes,
trucks that arrive on nights 2 and 3, one standing discount, and no Toyota Pixis at all (so that
search comes back empty).
"""

from __future__ import annotations

import random

from keitrucks.sample.catalog import NightState, SampleTruck, exporter_truck

SOURCE = "sbtjapan"
#: make, canonical model, title words, 2WD code, 4WD code, first/last year, cc, typical FOB.
LINES = (
    ("Suzuki", "Suzuki Carry", "CARRY TRUCK", "EBD-DA16T", "EBD-DA16T", 2014, 2021, 658, 4300),
    ("Daihatsu", "Daihatsu Hijet", "HIJET TRUCK", "EBD-S500P", "EBD-S510P", 2015, 2021, 658, 4900),
    ("Honda", "Honda Acty", "ACTY TRUCK", "EBD-HA8", "EBD-HA9", 2010, 2020, 658, 4100),
    ("Subaru", "Subaru Sambar", "SAMBAR TRUCK", "LE-TT1", "LE-TT2", 2005, 2011, 658, 3000),
    (
        "Mitsubishi",
        "Mitsubishi Minicab",
        "MINICAB TRUCK",
        "EBD-DS16T",
        "EBD-DS16T",
        2014,
        2020,
        658,
        4200,
    ),
    ("Mazda", "Mazda Scrum", "SCRUM TRUCK", "EBD-DG16T", "EBD-DG16T", 2014, 2020, 658, 4000),
    (
        "Nissan",
        "Nissan NT100 Clipper",
        "CLIPPER TRUCK",
        "EBD-DR16T",
        "EBD-DR16T",
        2014,
        2020,
        658,
        4100,
    ),
)
GRADES = {
    "Suzuki Carry": ("KC", "KC AGRI", "KX"),
    "Daihatsu Hijet": ("STANDARD", "JUMBO", "EXTRA"),
    "Honda Acty": ("SDX", "ATTACK", "TOWN"),
    "Subaru Sambar": ("TB", "TC"),
    "Mitsubishi Minicab": ("M", "G"),
    "Mazda Scrum": ("KC", "KX"),
    "Nissan NT100 Clipper": ("DX", "GX"),
}
YARDS = ("YOKOHAMA", "OSAKA", "KOBE", "NAGOYA", "HAKATA")
PORTS = ("Baltimore", "Jacksonville", "Long Beach", "Tacoma")
COLORS = ("WHITE", "SILVER", "WHITE", "BLUE")
#: Trucks (by key) shown with a struck-through original price beside a sale price.
ON_SALE = {"sbt-001"}


#: Inspection charge in every total.
INSPECTION = 250


def charges(listing_id: str) -> tuple[int, int]:
    """(freight, insurance) of a truck's total, fixed per stock id."""
    n = int(listing_id[2:])
    return (1150, 1250, 1350)[n % 3], (20, 45, 90)[n // 3 % 3]


def total(listing_id: str, price: int | None) -> int | None:
    """The total as SBT itemises it: vehicle + freight + inspection + insurance (+ vanning 0)."""
    freight, insurance = charges(listing_id)
    return price + freight + INSPECTION + insurance if price else None


def _truck(n: int, rng: random.Random, line: tuple, nights: list) -> SampleTruck:
    make, model, words, code2, code4, y0, y1, cc, typical = line
    is_4wd = rng.random() < 0.7
    year = rng.randint(y0, y1)
    month = None if n == 10 else rng.randint(1, 12)
    grade = rng.choice(GRADES[model])
    date = f"{year}/{month}" if month else str(year)
    listing_id = f"A{'HIJ'[n % 3]}{4100 + n * 317}"
    yard = YARDS[n % len(YARDS)]
    return exporter_truck(
        key=f"sbt-{n:03d}",
        source=SOURCE,
        listing_id=listing_id,
        make=make,
        model=model,
        model_code=code4 if is_4wd else code2,
        year=year,
        month=month,
        is_4wd=is_4wd,
        transmission="automatic" if n % 4 == 3 else "manual",
        engine_cc=cc,
        mileage=rng.randint(8, 160) * 1000,
        title=f"{date} {make.upper()} {words} {grade}",
        location=f"{yard}, JAPAN",
        nights=tuple(nights),
        color=COLORS[n % len(COLORS)],
        totals=tuple(total(listing_id, s.price if s else None) for s in nights),
        destination_port=PORTS[n % len(PORTS)],
        stock_area=yard.title(),
    )


def trucks(rng: random.Random) -> list[SampleTruck]:
    out = []
    for n in range(13):
        line = LINES[n % len(LINES)]
        price = int(round(line[8] * rng.uniform(0.8, 1.3) / 10) * 10)
        nights = [NightState(price), NightState(price), NightState(price)]
        if n % 5 == 2:
            nights[1] = nights[2] = NightState(int(round(price * 0.95 / 10) * 10))
        if n == 3:
            nights[2] = NightState(price - 200)
        if n == 4:
            nights[2] = NightState(None, "sold")
        if n == 6:
            nights[2] = None
        if n >= 11:
            nights[0] = None
        out.append(_truck(n, rng, line, nights))
    late = [None, None, NightState(int(round(LINES[0][8] * rng.uniform(0.9, 1.2) / 10) * 10))]
    out.append(_truck(13, rng, LINES[0], late))
    return out

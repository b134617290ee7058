"""Sample eBay Motors listings: kei trucks listed by US importers, dealers and private sellers.

Thirteen listings across the three sample nights: fixed-price trucks with price drops, an auction
whose current bid rises until it ends (gone on night 3), a truck gone on night 3, trucks new on
nights 2 and 3, a truck whose odometer reads in kilometres (eBay's Mileage field is miles, so the
seller says so in the description), and a parts listing. Item numbers are 12 digits, as eBay's
legacy item ids are. Nobody lists a Mitsubishi Minicab, so that search is empty every night.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

from keitrucks.sample.catalog import NIGHTS, NightState, SampleTruck

#: key, make, model, code, year, 4wd, transmission, cc, title, location, seller, prices, tags
_SPECS = (
    (
        "eb-carry-97",
        "Suzuki",
        "Suzuki Carry",
        "DD51T",
        1997,
        True,
        "manual",
        657,
        "1997 Suzuki Carry DD51T 4x4 Mini Truck 5-Speed Kei Truck",
        "Knoxville, TN",
        "dealer",
        (8995, 8995, 8495),
        (),
    ),
    (
        "eb-acty-95",
        "Honda",
        "Honda Acty",
        "HA4",
        1995,
        True,
        "manual",
        656,
        "1995 Honda Acty HA4 4WD Kei Mini Truck Low Miles",
        "Charlotte, NC",
        "owner",
        (7800, 7400, 7400),
        (),
    ),
    (
        "eb-hijet-96",
        "Daihatsu",
        "Daihatsu Hijet",
        "S110P",
        1996,
        True,
        "manual",
        659,
        "1996 Daihatsu Hijet Jumbo S110P 4WD Japanese Mini Truck",
        "Jacksonville, FL",
        "dealer",
        (8450, 8450, 8450),
        ("km",),
    ),
    (
        "eb-sambar-93",
        "Subaru",
        "Subaru Sambar",
        "KS4",
        1993,
        True,
        "manual",
        658,
        "1993 Subaru Sambar KS4 4WD Kei Truck No Reserve",
        "Portland, OR",
        "owner",
        (4100, 5250, None),
        ("auction",),
    ),
    (
        "eb-scrum-96",
        "Mazda",
        "Mazda Scrum",
        "DL51T",
        1996,
        True,
        "manual",
        657,
        "1996 Mazda Scrum 4x4 Mini Truck DL51T 5 Speed",
        "Houston, TX",
        "dealer",
        (None, 7950, 7950),
        (),
    ),
    (
        "eb-carry-00",
        "Suzuki",
        "Suzuki Carry",
        "DA52T",
        2000,
        False,
        "automatic",
        658,
        "2000 Suzuki Carry DA52T 2WD Automatic Kei Truck",
        "Atlanta, GA",
        "owner",
        (6200, 6200, 5900),
        (),
    ),
    (
        "eb-hijet-92",
        "Daihatsu",
        "Daihatsu Hijet",
        "S83P",
        1992,
        True,
        "manual",
        659,
        "1992 Daihatsu Hijet S83P 4x4 Mini Truck Runs Great",
        "Denver, CO",
        "owner",
        (5600, 5600, None),
        (),
    ),
    (
        "eb-acty-91",
        "Honda",
        "Honda Acty",
        "HA3",
        1991,
        False,
        "manual",
        656,
        "1991 Honda Acty HA3 2WD Mini Truck Kei Truck",
        "Richmond, VA",
        "dealer",
        (4950, 4950, 4950),
        (),
    ),
    (
        "eb-carry-98",
        "Suzuki",
        "Suzuki Carry",
        "DD51T",
        1998,
        True,
        "manual",
        657,
        "1998 Suzuki Carry KC 4WD Mini Truck Hi/Lo Diff Lock",
        "Lancaster, PA",
        "dealer",
        (None, None, 9750),
        (),
    ),
    (
        "eb-sambar-95",
        "Subaru",
        "Subaru Sambar",
        "KS3",
        1995,
        False,
        "manual",
        658,
        "1995 Subaru Sambar KS3 Kei Truck 2WD 5-Speed",
        "Seattle, WA",
        "owner",
        (5400, 4990, 4990),
        (),
    ),
    (
        "eb-hijet-97",
        "Daihatsu",
        "Daihatsu Hijet",
        "S100P",
        1997,
        False,
        "automatic",
        659,
        "1997 Daihatsu Hijet S100P Automatic Mini Truck",
        "Tampa, FL",
        "dealer",
        (6750, 6750, 6750),
        ("no_photos",),
    ),
    (
        "eb-acty-99",
        "Honda",
        "Honda Acty",
        "HA4",
        1999,
        True,
        "manual",
        656,
        "1999 Honda Acty 4x4 Kei Truck Dump Bed Attack",
        "Nashville, TN",
        "dealer",
        (10900, 10900, 10900),
        (),
    ),
)

_PARTS = (
    "eb-parts",
    "Suzuki Carry DA63T Tailgate - Used OEM Parts",
    "Dallas, TX",
    (385, 385, 385),
)
_PREFIXES = ("13", "14", "16", "18", "20", "22", "25", "26", "27", "28", "33", "35", "36", "38")


def _item_numbers(rng: random.Random, n: int) -> list[str]:
    numbers: list[str] = []
    while len(numbers) < n:
        number = f"{rng.choice(_PREFIXES)}{rng.randint(0, 10**10 - 1):010d}"
        if number not in numbers:
            numbers.append(number)
    return numbers


def _description(spec: tuple, mileage: int, km: bool) -> str:
    _, _, model, code, year, is_4wd, trans, cc, _, _, seller, _, tags = spec
    drive = "4x4 with hi/lo transfer" if is_4wd else "2WD"
    gearbox = "5 speed manual" if trans == "manual" else "3 speed automatic"
    odometer = f"Odometer reads in km: {mileage:,} km." if km else f"{mileage:,} miles."
    who = (
        "Imported from Japan by us, clean title in hand, we can help with shipping."
        if seller == "dealer"
        else "Selling my farm truck, clean title in my name."
    )
    sale = " No reserve, high bidder wins." if "auction" in tags else ""
    return f"{year} {model} {code}, {drive}, {gearbox}, {cc}cc. {odometer} {who}{sale}"


def trucks(rng: random.Random) -> list[SampleTruck]:
    """The sample eBay listings (deterministic for a given generator state)."""
    numbers = _item_numbers(rng, len(_SPECS) + 1)
    out = []
    for spec, number in zip(_SPECS, numbers, strict=False):
        key, make, model, code, year, is_4wd, trans, cc, title, location, seller, prices, tags = (
            spec
        )
        km = "km" in tags
        mileage = rng.randint(22, 68) * 1000 + rng.randint(0, 999)
        ends = None
        if "auction" in tags:
            # ends between the second and the third night's crawl
            ends = int(_night_start(1)) + 20 * 3600
        out.append(
            SampleTruck(
                key=key,
                source="ebay",
                listing_id=number,
                kind="kei_truck",
                make=make,
                model=model,
                model_code=code,
                year=year,
                is_4wd=is_4wd,
                transmission=trans,
                engine_cc=cc,
                mileage=mileage,
                mileage_unit="km" if km else "mi",
                title=title,
                description=_description(spec, mileage, km),
                location=location,
                seller_type=seller,
                nights=tuple(NightState(p) if p is not None else None for p in prices),
                body="dump" if "Dump" in title else "truck",
                color=rng.choice(("White", "Silver", "Red", "Blue")),
                auction_end=ends,
                tags=tuple(tags),
            )
        )
    key, title, location, prices = _PARTS
    out.append(
        SampleTruck(
            key=key,
            source="ebay",
            listing_id=numbers[-1],
            kind="parts",
            junk_reason="parts",
            title=title,
            description="Used tailgate off a DA63T Carry, straight, original paint, no rust "
            "holes. Freight shipping only.",
            location=location,
            seller_type="dealer",
            nights=tuple(NightState(p) for p in prices),
        )
    )
    return out


def _night_start(night: int) -> float:
    """Unix seconds of a night's as-of time (06:00 UTC)."""
    return datetime.fromisoformat(NIGHTS[night]).replace(hour=6, tzinfo=UTC).timestamp()

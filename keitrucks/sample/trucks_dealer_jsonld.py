"""Sample kei trucks of two US dealers for the ``dealer_jsonld`` source.

Blue Ridge Kei Trucks (Hickory, NC) runs a Dealer.com-style site: VDPs with Vehicle JSON-LD in an
``@graph`` plus the ``DDC.dataLayer`` whose internet price is the real price (two trucks' JSON-LD
price is wrong: an MSRP echo and a finance payment). Piedmont Mini Trucks (Greensboro, NC) runs a
dealr.cloud-style site: Car JSON-LD without a VIN, with raw control characters, and the frame
number in the page's ``vehicle-inquiry`` attribute; one truck has no frame number at all, so its
id is ``<dealer domain>:<stock number>``. Other ids are Japanese frame numbers, as kei dealers put
them in the VIN field. Over the three nights: price drops, a truck sold (still shown, marked
sold), one gone, two new, a 1968 truck, a build month, odometers in miles and in kilometres.
"""

from __future__ import annotations

import random

from keitrucks.sample.catalog import NightState, SampleTruck

SOURCE = "dealer_jsonld"
#: Catalog key prefix -> the sample dealer it belongs to (see render_dealer_jsonld.SAMPLE_DEALERS).
DEALER_PREFIXES = {"dj-br": "blueridge", "dj-pm": "piedmont"}
_LOCATIONS = {"dj-br": "Hickory, NC", "dj-pm": "Greensboro, NC"}
_COLORS = ("White", "Silver", "Red", "Blue", "Green")

# key, frame number (the listing id), make, model, code, year, month, 4wd, transmission, cc,
# mileage, unit, title, description, nights (price, status per night; None = not listed).
_TRUCKS = (
    (
        "dj-br-01",
        "DD51T-412233",
        "Suzuki",
        "Suzuki Carry",
        "DD51T",
        1996,
        None,
        True,
        "manual",
        657,
        41200,
        "mi",
        "1996 Suzuki Carry 4WD Mini Truck",
        "Clean 1996 Suzuki Carry DD51T with part-time 4WD and hi/lo, 5-speed manual, 41,200 miles. "
        "Titled, inspected, new tires.",
        ((7900, "active"), (7900, "active"), (7900, "active")),
    ),
    (
        "dj-br-02",
        "HA4-2034112",
        "Honda",
        "Honda Acty",
        "HA4",
        1997,
        None,
        True,
        "manual",
        656,
        38400,
        "mi",
        "1997 Honda Acty 4x4 Kei Truck",
        "Honda Acty HA4 four wheel drive with diff lock, 5-speed, 38,400 miles, "
        "dump-style bed liner.",
        ((6900, "active"), (6500, "active"), (6500, "active")),
    ),
    (
        "dj-br-03",
        "S110P-093311",
        "Daihatsu",
        "Daihatsu Hijet",
        "S110P",
        1995,
        None,
        True,
        "manual",
        659,
        52800,
        "mi",
        "1995 Daihatsu Hijet Jumbo 4WD",
        "Hijet Jumbo cab S110P, 4x4, 5-speed manual, 52,800 miles. A/C blows cold.",
        ((8200, "active"), (8200, "active"), (8200, "sold")),
    ),
    (
        "dj-br-04",
        "KS4-202311",
        "Subaru",
        "Subaru Sambar",
        "KS4",
        1994,
        None,
        True,
        "manual",
        658,
        61000,
        "km",
        "1994 Subaru Sambar Truck 4WD",
        "Subaru Sambar KS4 with the four-cylinder EN07, 4WD, 5-speed, odometer reads 61,000 km.",
        ((9400, "active"), (9400, "active"), None),
    ),
    (
        "dj-br-05",
        "U42T-0301234",
        "Mitsubishi",
        "Mitsubishi Minicab",
        "U42T",
        1998,
        None,
        True,
        "automatic",
        657,
        29700,
        "mi",
        "1998 Mitsubishi Minicab 4WD Automatic",
        "Minicab U42T 4WD with a 3-speed automatic, 29,700 miles, one owner in Japan.",
        ((6200, "active"), (6200, "active"), (5900, "active")),
    ),
    (
        "dj-br-06",
        "DB52T-104321",
        "Suzuki",
        "Suzuki Carry",
        "DB52T",
        1999,
        None,
        True,
        "manual",
        658,
        45100,
        "mi",
        "1999 Suzuki Carry 4x4 Kei Truck",
        "1999 Suzuki Carry DB52T 4x4, 5-speed, 45,100 miles. Just arrived, fresh import.",
        (None, (8900, "active"), (8900, "active")),
    ),
    (
        "dj-br-07",
        "TN360-1012345",
        "Honda",
        "Honda TN360 / TN-V / TN7",
        None,
        1968,
        None,
        False,
        "manual",
        354,
        21300,
        "km",
        "1968 Honda TN360 Kei Truck",
        "Rare 1968 Honda TN360, air-cooled twin, 4-speed manual, rear wheel drive, 21,300 km.",
        ((12500, "active"), (12500, "active"), (12500, "active")),
    ),
    (
        "dj-pm-01",
        "HA4-2101876",
        "Honda",
        "Honda Acty",
        "HA4",
        1996,
        None,
        True,
        "manual",
        656,
        44650,
        "mi",
        "1996 Honda Acty 4x4",
        "Honda Acty 4WD with hi/lo, 5-speed manual, 44,650 miles. Bed mat and rear window guard.",
        ((8450, "active"), (8450, "active"), (8450, "active")),
    ),
    (
        "dj-pm-02",
        None,
        "Daihatsu",
        "Daihatsu Hijet",
        "S83P",
        1992,
        None,
        True,
        "manual",
        659,
        67300,
        "mi",
        "1992 Daihatsu Hijet Climber 4WD",
        "Hijet Climber S83P 4WD, 5-speed, 67,300 miles. Sold as is, runs and drives.",
        ((5900, "active"), (5900, "active"), (5600, "active")),
    ),
    (
        "dj-pm-03",
        "TT2-004512",
        "Subaru",
        "Subaru Sambar",
        "TT2",
        1999,
        3,
        True,
        "manual",
        658,
        52000,
        "km",
        "1999 Subaru Sambar TT2 4WD",
        "Subaru Sambar TT2 built March 1999, 4WD, 5-speed manual, 52,000 km on the gauge.",
        ((9800, "active"), (9800, "active"), (9800, "active")),
    ),
    (
        "dj-pm-04",
        "DL51T-130987",
        "Mazda",
        "Mazda Scrum",
        "DL51T",
        1998,
        None,
        True,
        "manual",
        657,
        35900,
        "mi",
        "1998 Mazda Scrum 4WD Mini Truck",
        "Mazda Scrum truck (Carry twin), 4WD hi/lo, 5-speed, 35,900 miles.",
        ((7300, "active"), (6950, "active"), (6950, "active")),
    ),
    (
        "dj-pm-05",
        "U42T-0123456",
        "Mitsubishi",
        "Mitsubishi Minicab",
        "U42T",
        1991,
        None,
        True,
        "manual",
        548,
        58800,
        "mi",
        "1991 Mitsubishi Minicab 4WD",
        "Early Minicab U42T 4WD, 5-speed, 58,800 miles, some surface rust on the bed.",
        (None, None, (5400, "active")),
    ),
    (
        "dj-pm-06",
        "DD51T-377410",
        "Suzuki",
        "Suzuki Carry",
        "DD51T",
        1997,
        None,
        True,
        "manual",
        657,
        49900,
        "mi",
        "1997 Suzuki Carry 4WD",
        "Suzuki Carry 4x4, 5-speed, 49,900 miles, new clutch.",
        ((7600, "active"), None, None),
    ),
)

#: The dealers' own domains: a truck without a frame number is known by domain:stock number.
DOMAINS = {"dj-br": "blueridgekeitrucks.example", "dj-pm": "piedmontminitrucks.example"}


def stock_number(key: str) -> str:
    """The dealer's stock number of a catalog truck ("BR1001", "PMT-1042")."""
    n = int(key.rsplit("-", 1)[1])
    return f"BR{1000 + n}" if key.startswith("dj-br") else f"PMT-{1040 + n}"


def dealer_of(truck: SampleTruck) -> str:
    return DEALER_PREFIXES[truck.key[:5]]


def trucks(rng: random.Random) -> list[SampleTruck]:
    out = []
    for row in _TRUCKS:
        key, vin, make, model, code, year, month, four, trans, cc, miles, unit, title, desc = row[
            :14
        ]
        nights = tuple(NightState(n[0], n[1]) if n else None for n in row[14])
        listing_id = vin or f"{DOMAINS[key[:5]]}:{stock_number(key)}"
        out.append(
            SampleTruck(
                key=key,
                source=SOURCE,
                listing_id=listing_id,
                kind="kei_truck",
                make=make,
                model=model,
                model_code=code,
                year=year,
                month=month,
                is_4wd=four,
                transmission=trans,
                engine_cc=cc,
                mileage=miles,
                mileage_unit=unit,
                title=title,
                description=desc,
                location=_LOCATIONS[key[:5]],
                seller_type="dealer",
                nights=nights,
                color=rng.choice(_COLORS),
            )
        )
    return out

"""The truth behind the bundled sample marketplace: every truck, and what each night shows of it.

The sample pages in ``data/sample/`` are rendered from this catalog in each source's real markup
(``keitrucks.sample.render_<source>``), so tests can check that a crawl of the pages stores
exactly what the catalog says. The catalog is deterministic: a seeded generator for the bulk,
plus hand-written trucks for the events a user must see (price drops, gone listings, a relisted
truck, a repost, underpriced 4WD trucks, ineligible young trucks, parts and wanted ads).
"""

from __future__ import annotations

import datetime as dt
import importlib
import random
from dataclasses import dataclass, field, replace

#: The three sample nights, as-of 06:00 UTC each (the crawl's "now").
NIGHTS = ("2026-11-24", "2026-11-25", "2026-11-26")
#: Weekly nights before them: the months of market the demo crawls first.
HISTORY_WEEKS = 25
HISTORY = tuple(
    (dt.date.fromisoformat(NIGHTS[0]) - dt.timedelta(weeks=weeks)).isoformat()
    for weeks in range(HISTORY_WEEKS, 0, -1)
)
#: Every night of the demo, oldest first: the weekly history, then the three nights.
TIMELINE = HISTORY + NIGHTS
SOURCES = (
    "craigslist",
    "bringatrailer",
    "beforward",
    "dealer_jsonld",
    "ebay",
    "sbtjapan",
    "carfromjapan",
    "tcv",
)


@dataclass(frozen=True)
class NightState:
    #: whole dollars; None when the page shows no price (SOLD row, "call").
    price: int | None
    #: active (for sale / live auction), sold, ended (auction over, reserve not met).
    status: str = "active"


@dataclass(frozen=True, kw_only=True)
class SampleTruck:
    """One sample listing; a fact its page does not give (a parts ad's year) is left out: None."""

    key: str
    source: str
    listing_id: str
    #: kei_truck, kei_van, other_vehicle, parts, wanted.
    kind: str
    make: str | None = None
    model: str | None = None
    model_code: str | None = None
    year: int | None = None
    month: int | None = None
    is_4wd: bool | None = None
    transmission: str | None = None
    engine_cc: int | None = None
    mileage: int | None = None
    mileage_unit: str = "mi"
    title: str
    description: str = ""
    location: str
    latitude: float | None = None
    longitude: float | None = None
    seller_type: str
    #: one entry per night in NIGHTS (or in TIMELINE, see ``history``); None = not listed.
    nights: tuple[NightState | None, ...]
    #: the night (0-2) it was first posted, and its day offset before that night.
    body: str = "truck"
    color: str = "White"
    repost_of: str | None = None
    #: exporters: C&F total and port, per night (same index as ``nights``).
    totals: tuple[int | None, ...] = (None, None, None)
    destination_port: str | None = None
    stock_area: str | None = None
    #: Bring a Trailer: auction end (unix seconds) once completed.
    auction_end: int | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)
    #: the title the seller declares on the page (clean, salvage, rebuilt, missing, off_road);
    #: None when the page does not say (renderers then show what they always did).
    title_status: str | None = None
    #: why this listing must not be scored as a deal (parts, not_running, title, pending,
    #: clone, misdated, not_kei, wanted, toy); None for an honest listing.
    junk_reason: str | None = None
    #: a clean, running, titled truck priced under its comparables on purpose: must alert.
    intended_deal: bool = False

    def on_night(self, night: int) -> NightState | None:
        return self.nights[night]

    @property
    def is_truck(self) -> bool:
        return self.kind == "kei_truck"


# make, model, 2WD code, 4WD code, first year, last year, engine cc, typical US price.
_PLATFORMS = (
    ("Suzuki", "Suzuki Carry", "DC51T", "DD51T", 1991, 1998, 657, 7800),
    ("Suzuki", "Suzuki Carry", "DA52T", "DB52T", 1999, 2001, 658, 8900),
    ("Honda", "Honda Acty", "HA3", "HA4", 1990, 1999, 656, 7900),
    ("Daihatsu", "Daihatsu Hijet", "S100P", "S110P", 1994, 1998, 659, 7600),
    ("Daihatsu", "Daihatsu Hijet", "S82P", "S83P", 1990, 1993, 659, 6900),
    ("Subaru", "Subaru Sambar", "KS3", "KS4", 1990, 1998, 658, 8200),
    ("Mitsubishi", "Mitsubishi Minicab", "U41T", "U42T", 1991, 1998, 657, 7200),
    ("Mazda", "Mazda Scrum", "DK51T", "DL51T", 1992, 1998, 657, 7400),
)
_AREAS = (
    ("knoxville", "Knoxville, TN", 35.9606, -83.9207),
    ("nashville", "Nashville, TN", 36.1627, -86.7816),
    ("asheville", "Asheville, NC", 35.5951, -82.5515),
    ("atlanta", "Atlanta, GA", 33.7490, -84.3880),
    ("charlotte", "Charlotte, NC", 35.2271, -80.8431),
    ("raleigh", "Raleigh, NC", 35.7796, -78.6382),
)
_COLORS = ("White", "Silver", "Blue", "Red", "Green")
_PORTS = ("Baltimore", "Jacksonville", "Long Beach", "Tacoma")
_STOCK_AREAS = ("Yokohama", "Kobe", "Nagoya", "Osaka", "Kyushu")


def _round(value: float, step: int = 100) -> int:
    return int(round(value / step) * step)


def _drive_words(is_4wd: bool, rng: random.Random) -> str:
    if is_4wd:
        return rng.choice(("4x4", "4WD", "4wd hi/lo", "4x4 with diff lock"))
    return rng.choice(("2wd", "2WD", "rear wheel drive"))


#: What an exporter's stock in Japan shows alike (the ``fields`` of :func:`exporter_truck`).
_EXPORTER = {
    "kind": "kei_truck",
    "mileage_unit": "km",
    "location": "Japan",
    "seller_type": "dealer",
}


def exporter_truck(**fields) -> SampleTruck:
    """A listing of an exporter's stock in Japan; ``fields`` give its facts and what differs."""
    return SampleTruck(**{**_EXPORTER, **fields})


def totals_with(nights, freight: int) -> tuple[int | None, ...]:
    """Each night's C&F total: the price plus ``freight``; None when the night shows no price."""
    return tuple(state.price + freight if state and state.price else None for state in nights)


def listed_from(price: int, first: int = 0) -> tuple[NightState | None, ...]:
    """Nights of a listing shown at ``price`` from night ``first`` (0-2) on."""
    return tuple(None if n < first else NightState(price) for n in range(len(NIGHTS)))


def _craigslist_trucks(rng: random.Random) -> list[SampleTruck]:
    trucks = []
    for n in range(44):
        make, model, c2, c4, y0, y1, cc, typical = _PLATFORMS[n % len(_PLATFORMS)]
        year = rng.randint(y0, min(y1, 1999))
        is_4wd = rng.random() < 0.7
        trans = "manual" if rng.random() < 0.8 else "automatic"
        km = rng.random() < 0.4
        mileage = rng.randint(18, 95) * 1000 + rng.randint(0, 999)
        base = typical * (1.0 if is_4wd else 0.85) * rng.uniform(0.8, 1.25)
        if n % 11 == 5:
            base = rng.uniform(12600, 14500)  # above the band: restored, low miles
        elif n % 13 == 7:
            base = rng.uniform(3900, 4800) if not is_4wd else base  # cheap 2WD project trucks
        price = _round(base)
        area, loc, lat, lon = _AREAS[n % len(_AREAS)]
        words = _drive_words(is_4wd, rng)
        short = model.split(" ", 1)[1]
        code = c4 if is_4wd else c2
        show_code = rng.random() < 0.35
        title = (
            f"{year} {model} {words} mini truck" if n % 3 else f"{year} {short} kei truck {words}"
        )
        unit = "km" if km else "miles"
        desc = (
            f"{year} {model}{' ' + code if show_code else ''}, {words}, "
            f"{'5 speed manual' if trans == 'manual' else '3 speed automatic'}, "
            f"{mileage:,} {unit}. Imported and titled. Runs and drives great. Serious buyers only."
        )
        nights = [NightState(price), NightState(price), NightState(price)]
        if n % 6 == 1:
            nights[1] = nights[2] = NightState(_round(price * 0.92))  # drop on night 2
        if n % 7 == 2:
            nights[2] = NightState(_round(price * 0.9))  # drop on night 3
        if n % 10 == 3 and n < 36:
            nights[2] = None  # gone on night 3 (sold or deleted)
        if n % 15 == 4 and n < 36:
            nights[1] = nights[2] = None  # gone on night 2
        if n >= 36:
            nights[0] = None  # new on night 2
        if n >= 41:
            nights[1] = None  # new on night 3
        trucks.append(
            SampleTruck(
                key=f"cl-{n:03d}",
                source="craigslist",
                listing_id=str(7968900000 + n * 137),
                kind="kei_truck",
                make=make,
                model=model,
                model_code=code if show_code else None,
                year=year,
                is_4wd=is_4wd,
                transmission=trans,
                engine_cc=cc,
                mileage=mileage,
                mileage_unit="km" if km else "mi",
                title=title,
                description=desc,
                location=loc,
                latitude=lat,
                longitude=lon,
                seller_type="dealer" if n % 5 == 0 else "owner",
                nights=tuple(nights),
                color=rng.choice(_COLORS),
            )
        )
    return trucks


#: Hand-written Craigslist listings for the events a user must see, in catalog order; a row
#: with ``like`` copies that earlier listing and changes what it names (a repost).
_CRAIGSLIST_SPECIALS = (
    dict(
        key="cl-relist",
        listing_id="7968810001",
        make="Honda",
        model="Honda Acty",
        model_code="HA4",
        year=1996,
        is_4wd=True,
        transmission="manual",
        engine_cc=656,
        mileage=61200,
        mileage_unit="km",
        title="1996 Honda Acty HA4 4x4 - runs great",
        description=(
            "Honda Acty HA4 4WD, 5 speed, 61,200 km. Back on the market, buyer fell through."
        ),
        nights=(NightState(8200), None, NightState(7900)),
    ),
    dict(
        key="cl-repost-a",
        listing_id="7968810101",
        area="asheville",
        make="Daihatsu",
        model="Daihatsu Hijet",
        model_code="S110P",
        year=1997,
        is_4wd=True,
        transmission="manual",
        engine_cc=659,
        mileage=44000,
        title="1997 Daihatsu Hijet S110P 4WD jumbo",
        description="Hijet jumbo cab 4x4, hi/lo and diff lock, 5 speed, 44,000 miles.",
        nights=(NightState(9400), None, None),
    ),
    dict(
        like="cl-repost-a",
        key="cl-repost-b",
        listing_id="7968830202",
        repost_of="7968810101",
        title="1997 Daihatsu Hijet S110P 4WD jumbo - price drop",
        nights=(None, NightState(8700), NightState(8700)),
    ),
    dict(
        key="cl-steal-1",
        listing_id="7968840303",
        area="nashville",
        make="Honda",
        model="Honda Acty",
        model_code="HA4",
        year=1995,
        is_4wd=True,
        transmission="manual",
        engine_cc=656,
        mileage=38900,
        title="1995 Honda Acty 4x4 mini truck - must sell this week",
        description="Moving, must sell. HA4 4WD, 5 speed, 38,900 miles, clean title, no rust.",
        nights=(None, NightState(4100), NightState(4100)),
        tags=("underpriced",),
        intended_deal=True,
    ),
    dict(
        key="cl-steal-2",
        listing_id="7968850404",
        make="Suzuki",
        model="Suzuki Carry",
        model_code="DD51T",
        year=1996,
        is_4wd=True,
        transmission="manual",
        engine_cc=657,
        mileage=52000,
        title="1996 Suzuki Carry DD51T 4WD",
        description="Suzuki Carry 4x4 hi/lo, 5 speed, 52,000 miles, new tires. Price drop!",
        nights=(NightState(7600), NightState(7600), NightState(4300)),
        tags=("underpriced",),
        intended_deal=True,
    ),
    dict(
        key="cl-wanted",
        listing_id="7968860505",
        kind="wanted",
        title="WANTED: kei mini truck 4x4, Carry or Hijet",
        description="Looking for a kei truck, 4wd preferred. Cash buyer.",
        nights=(NightState(None), NightState(None), NightState(None)),
        junk_reason="wanted",
    ),
    dict(
        key="cl-parts",
        listing_id="7968870606",
        kind="parts",
        title="Suzuki Carry DA63T tailgate and mirrors - parts",
        description="Tailgate, both mirrors, and a seat from a parted out Carry.",
        nights=(NightState(250), NightState(250), NightState(250)),
        junk_reason="parts",
    ),
)


def area_fields(name: str) -> dict:
    """Location and coordinates of a Craigslist area of :data:`_AREAS`."""
    _, location, latitude, longitude = next(a for a in _AREAS if a[0] == name)
    return {"location": location, "latitude": latitude, "longitude": longitude}


def _craigslist_specials() -> list[SampleTruck]:
    built: dict[str, SampleTruck] = {}
    for row in _CRAIGSLIST_SPECIALS:
        fields = dict(row)
        if "like" in fields:
            built[fields["key"]] = replace(built[fields.pop("like")], **fields)
            continue
        common = {"source": "craigslist", "kind": "kei_truck", "seller_type": "owner"}
        area = area_fields(fields.pop("area", "knoxville"))
        built[fields["key"]] = SampleTruck(**{**common, **area, **fields})
    return list(built.values())


def _bringatrailer_trucks(rng: random.Random) -> list[SampleTruck]:
    # Completed auctions end two to forty days before night 1; some are live and end later.
    night0 = 1795500000  # 2026-11-24 06:40 UTC
    trucks = []
    for n in range(16):
        make, model, c2, c4, y0, y1, cc, typical = _PLATFORMS[(n * 3) % len(_PLATFORMS)]
        year = rng.randint(y0, min(y1, 1999))
        is_4wd = rng.random() < 0.75
        miles = rng.randint(3, 60) * 1000
        final = _round(typical * rng.uniform(0.9, 1.5) * (1.0 if is_4wd else 0.85), 50)
        drive = "4WD" if is_4wd else "RWD"
        title = (
            f"{miles // 1000}k-Mile {year} {model} {drive}" if n % 2 else f"{year} {model} {drive}"
        )
        desc = (
            f"This {year} {model} is a {'four' if is_4wd else 'two'}-wheel-drive kei truck "
            f"powered by a {cc}cc three-cylinder paired with a five-speed manual transaxle."
        )
        if n < 11:
            status = "sold" if n % 4 else "ended"
            end = night0 - rng.randint(2, 40) * 86400
            state = NightState(final, status)
            nights = (state, state, state)
        else:
            end = night0 + (n - 10) * 86400 // 2 + 3600
            b1, b2 = _round(final * 0.55, 50), _round(final * 0.75, 50)
            last = NightState(final, "sold") if end < night0 + 2 * 86400 else NightState(b2)
            nights = (NightState(b1), NightState(b2), last)
        trucks.append(
            SampleTruck(
                key=f"bat-{n:03d}",
                source="bringatrailer",
                listing_id=str(111300000 + n * 911),
                kind="kei_truck",
                make=make,
                model=model,
                year=year,
                is_4wd=is_4wd,
                transmission="manual",
                engine_cc=cc,
                mileage=miles,
                title=title,
                description=desc,
                location="United States",
                seller_type="owner",
                nights=nights,
                auction_end=end,
                color=rng.choice(_COLORS),
            )
        )
    toy = SampleTruck(
        key="bat-toy",
        source="bringatrailer",
        listing_id="111399999",
        kind="toy",
        title="1:18 Scale Subaru Sambar Truck Model",
        description="A display model of a Sambar.",
        location="United States",
        seller_type="owner",
        nights=(NightState(150, "sold"),) * 3,
        junk_reason="toy",
        auction_end=night0 - 5 * 86400,
    )
    return [*trucks, toy]


#: Hand-written BE FORWARD stock: search noise that is no kei truck (a van, a Jimny).
_BEFORWARD_SPECIALS = (
    dict(
        key="bf-van",
        source="beforward",
        listing_id="CH999111",
        kind="kei_van",
        make="Daihatsu",
        model="Daihatsu Hijet",
        model_code="EBD-S321V",
        year=2016,
        month=3,
        is_4wd=False,
        transmission="automatic",
        engine_cc=658,
        mileage=88000,
        title="2016 DAIHATSU HIJET VAN",
        nights=(NightState(3900),) * 3,
        totals=(5680,) * 3,
        destination_port="Baltimore",
        stock_area="Kobe",
        body="van",
        junk_reason="not_kei",
    ),
    dict(
        key="bf-jimny",
        source="beforward",
        listing_id="CH999222",
        kind="other_vehicle",
        make="Suzuki",
        model="Suzuki Jimny",
        model_code="M-JA71V",
        year=1989,
        is_4wd=True,
        transmission="manual",
        engine_cc=547,
        mileage=120500,
        title="1989 SUZUKI JIMNY",
        junk_reason="not_kei",
        nights=(NightState(4200),) * 3,
        totals=(6100,) * 3,
        destination_port="Baltimore",
        stock_area="Yokohama",
        body="suv",
    ),
)


def _beforward_trucks(rng: random.Random) -> list[SampleTruck]:
    exporter_lines = (
        ("Suzuki", "Suzuki Carry", "EBD-DA16T", 2014, 2022, 658, 4500),
        ("Daihatsu", "Daihatsu Hijet", "EBD-S510P", 2015, 2025, 658, 5200),
        ("Honda", "Honda Acty", "GBD-HA9", 2010, 2020, 658, 4800),
        ("Subaru", "Subaru Sambar", "GD-TT2", 1999, 2011, 658, 3200),
        ("Mitsubishi", "Mitsubishi Minicab", "GD-U62T", 1999, 2013, 657, 2900),
        ("Nissan", "Nissan NT100 Clipper", "EBD-DR16T", 2014, 2021, 658, 4700),
        ("Suzuki", "Suzuki Carry", "V-DD51T", 1992, 1998, 657, 2600),
        ("Daihatsu", "Daihatsu Hijet", "V-S110P", 1994, 1998, 659, 2400),
    )
    trucks = []
    for n in range(26):
        make, model, code, y0, y1, cc, typical = exporter_lines[n % len(exporter_lines)]
        year = rng.randint(y0, y1)
        month = rng.randint(1, 12)
        bare = code.split("-", 1)[1]
        is_4wd = bare in ("DA16T", "S510P", "HA9", "TT2", "U62T", "DR16T", "DD51T", "S110P")
        is_4wd = is_4wd if n % 5 else False
        if not is_4wd and bare in ("DD51T", "S110P"):
            is_4wd = True  # these codes are 4WD only
        km = rng.randint(4, 140) * 1000 + rng.randint(0, 999)
        price = _round(typical * rng.uniform(0.85, 1.3), 10)
        freight = rng.choice((1650, 1780, 1920))
        nights = [NightState(price), NightState(price), NightState(price)]
        if n % 8 == 2:
            nights[1] = nights[2] = NightState(_round(price * 0.95, 10))
        if n % 9 == 4:
            nights[2] = NightState(None, "sold")
        if n % 12 == 6:
            nights[2] = None
        if n >= 22:
            nights[0] = None
        short = model.split(" ", 1)[1].upper()
        trucks.append(
            exporter_truck(
                key=f"bf-{n:03d}",
                source="beforward",
                listing_id=f"C{'ABCDEFGH'[n % 8]}{860000 + n * 373}",
                make=make,
                model=model,
                model_code=code,
                year=year,
                month=month,
                is_4wd=is_4wd,
                transmission="manual" if n % 4 else "automatic",
                engine_cc=cc,
                mileage=km,
                title=f"{year} {make.upper()} {short} TRUCK",
                nights=tuple(nights),
                totals=totals_with(nights, freight),
                destination_port=_PORTS[n % len(_PORTS)],
                stock_area=_STOCK_AREAS[n % len(_STOCK_AREAS)],
                color=rng.choice(_COLORS),
            )
        )
    return [*trucks, *(exporter_truck(**row) for row in _BEFORWARD_SPECIALS)]


def build_catalog(seed: int = 2026) -> list[SampleTruck]:
    """Every sample listing across sources, in a stable order.

    The first three sources share one random stream; every later source has a module
    ``keitrucks.sample.trucks_<source>`` with ``trucks(rng) -> list[SampleTruck]`` and a
    stream of its own, so adding a source never changes the others' trucks. The messy market
    (``keitrucks.sample.messy``: junk priced like deals, intended deals) comes last.
    """
    rng = random.Random(seed)
    catalog = [
        *_craigslist_trucks(rng),
        *_craigslist_specials(),
        *_bringatrailer_trucks(rng),
        *_beforward_trucks(rng),
    ]
    for source in SOURCES[3:]:
        module = importlib.import_module(f"keitrucks.sample.trucks_{source}")
        catalog.extend(module.trucks(random.Random(f"{seed}-{source}")))
    messy = importlib.import_module("keitrucks.sample.messy")
    return [*catalog, *messy.trucks()]


def night_date(night: int, nights: int = len(NIGHTS)) -> str:
    """The date of index ``night`` in a truck's ``nights`` of length ``nights``.

    A catalog's nights end on the last night of :data:`TIMELINE`: three entries for the
    three nights, ``len(TIMELINE)`` for the demo's whole history.
    """
    return TIMELINE[len(TIMELINE) - nights + night]


def listings_on(catalog: list[SampleTruck], source: str, night: int) -> list[SampleTruck]:
    """The listings a source shows on a night, in catalog order."""
    return [t for t in catalog if t.source == source and t.nights[night] is not None]

"""The truth behind the bundled sample marketplace: every truck, and what each night shows of it.

The sample pages in ``data/sample/`` are rendered from this catalog in each source's real markup
(``keitrucks.sample.render_<source>``), so tests can check that a crawl of the pages stores
exactly what the catalog says. The catalog is deterministic: a seeded generator for the bulk,
plus hand-written trucks for the events a user must see (price drops, gone listings, a relisted
truck, a repost, underpriced 4WD trucks, ineligible young trucks, parts and wanted ads).
"""

from __future__ import annotations

import importlib
import random
from dataclasses import dataclass, field, replace

#: The three sample nights, as-of 06:00 UTC each (the crawl's "now").
NIGHTS = ("2026-11-24", "2026-11-25", "2026-11-26")
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


@dataclass(frozen=True)
class SampleTruck:
    key: str
    source: str
    listing_id: str
    #: kei_truck, kei_van, other_vehicle, parts, wanted.
    kind: str
    make: str | None
    model: str | None
    model_code: str | None
    year: int | None
    month: int | None
    is_4wd: bool | None
    transmission: str | None
    engine_cc: int | None
    mileage: int | None
    mileage_unit: str
    title: str
    description: str
    location: str
    latitude: float | None
    longitude: float | None
    seller_type: str
    #: one entry per night in NIGHTS; None = not listed that night.
    nights: tuple[NightState | None, NightState | None, NightState | None]
    #: the night (0-2) it was first posted, and its day offset before that night.
    body: str = "truck"
    color: str = "White"
    repost_of: str | None = None
    #: exporters: C&F total and port, per night (same index as ``nights``).
    totals: tuple[int | None, int | None, int | None] = (None, None, None)
    destination_port: str | None = None
    stock_area: str | None = None
    #: Bring a Trailer: auction end (unix seconds) once completed.
    auction_end: int | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)

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
                month=None,
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


def _craigslist_specials() -> list[SampleTruck]:
    common = dict(
        source="craigslist",
        make=None,
        model=None,
        model_code=None,
        year=None,
        month=None,
        is_4wd=None,
        transmission=None,
        engine_cc=None,
        mileage=None,
        mileage_unit="mi",
        location="Knoxville, TN",
        latitude=35.9606,
        longitude=-83.9207,
        seller_type="owner",
    )
    relisted = SampleTruck(
        key="cl-relist",
        listing_id="7968810001",
        kind="kei_truck",
        **{
            **common,
            **dict(
                make="Honda",
                model="Honda Acty",
                model_code="HA4",
                year=1996,
                is_4wd=True,
                transmission="manual",
                engine_cc=656,
                mileage=61200,
                mileage_unit="km",
            ),
        },
        title="1996 Honda Acty HA4 4x4 - runs great",
        description=(
            "Honda Acty HA4 4WD, 5 speed, 61,200 km. Back on the market, buyer fell through."
        ),
        nights=(NightState(8200), None, NightState(7900)),
    )
    repost_first = SampleTruck(
        key="cl-repost-a",
        listing_id="7968810101",
        kind="kei_truck",
        **{
            **common,
            **dict(
                make="Daihatsu",
                model="Daihatsu Hijet",
                model_code="S110P",
                year=1997,
                is_4wd=True,
                transmission="manual",
                engine_cc=659,
                mileage=44000,
                location="Asheville, NC",
                latitude=35.5951,
                longitude=-82.5515,
            ),
        },
        title="1997 Daihatsu Hijet S110P 4WD jumbo",
        description="Hijet jumbo cab 4x4, hi/lo and diff lock, 5 speed, 44,000 miles.",
        nights=(NightState(9400), None, None),
    )
    repost_second = replace(
        repost_first,
        key="cl-repost-b",
        listing_id="7968830202",
        repost_of="7968810101",
        title="1997 Daihatsu Hijet S110P 4WD jumbo - price drop",
        nights=(None, NightState(8700), NightState(8700)),
    )
    steal_1 = SampleTruck(
        key="cl-steal-1",
        listing_id="7968840303",
        kind="kei_truck",
        **{
            **common,
            **dict(
                make="Honda",
                model="Honda Acty",
                model_code="HA4",
                year=1995,
                is_4wd=True,
                transmission="manual",
                engine_cc=656,
                mileage=38900,
                location="Nashville, TN",
                latitude=36.1627,
                longitude=-86.7816,
            ),
        },
        title="1995 Honda Acty 4x4 mini truck - must sell this week",
        description="Moving, must sell. HA4 4WD, 5 speed, 38,900 miles, clean title, no rust.",
        nights=(None, NightState(4100), NightState(4100)),
        tags=("underpriced",),
    )
    steal_2 = SampleTruck(
        key="cl-steal-2",
        listing_id="7968850404",
        kind="kei_truck",
        **{
            **common,
            **dict(
                make="Suzuki",
                model="Suzuki Carry",
                model_code="DD51T",
                year=1996,
                is_4wd=True,
                transmission="manual",
                engine_cc=657,
                mileage=52000,
            ),
        },
        title="1996 Suzuki Carry DD51T 4WD",
        description="Suzuki Carry 4x4 hi/lo, 5 speed, 52,000 miles, new tires. Price drop!",
        nights=(NightState(7600), NightState(7600), NightState(4300)),
        tags=("underpriced",),
    )
    wanted = SampleTruck(
        key="cl-wanted",
        listing_id="7968860505",
        kind="wanted",
        **common,
        title="WANTED: kei mini truck 4x4, Carry or Hijet",
        description="Looking for a kei truck, 4wd preferred. Cash buyer.",
        nights=(NightState(None), NightState(None), NightState(None)),
    )
    parts = SampleTruck(
        key="cl-parts",
        listing_id="7968870606",
        kind="parts",
        **common,
        title="Suzuki Carry DA63T tailgate and mirrors - parts",
        description="Tailgate, both mirrors, and a seat from a parted out Carry.",
        nights=(NightState(250), NightState(250), NightState(250)),
    )
    return [relisted, repost_first, repost_second, steal_1, steal_2, wanted, parts]


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
                model_code=None,
                year=year,
                month=None,
                is_4wd=is_4wd,
                transmission="manual",
                engine_cc=cc,
                mileage=miles,
                mileage_unit="mi",
                title=title,
                description=desc,
                location="United States",
                latitude=None,
                longitude=None,
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
        make=None,
        model=None,
        model_code=None,
        year=None,
        month=None,
        is_4wd=None,
        transmission=None,
        engine_cc=None,
        mileage=None,
        mileage_unit="mi",
        title="1:18 Scale Subaru Sambar Truck Model",
        description="A display model of a Sambar.",
        location="United States",
        latitude=None,
        longitude=None,
        seller_type="owner",
        nights=(NightState(150, "sold"),) * 3,
        auction_end=night0 - 5 * 86400,
    )
    return [*trucks, toy]


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
        totals = tuple(s.price + freight if s and s.price else None for s in nights)
        short = model.split(" ", 1)[1].upper()
        trucks.append(
            SampleTruck(
                key=f"bf-{n:03d}",
                source="beforward",
                listing_id=f"C{'ABCDEFGH'[n % 8]}{860000 + n * 373}",
                kind="kei_truck",
                make=make,
                model=model,
                model_code=code,
                year=year,
                month=month,
                is_4wd=is_4wd,
                transmission="manual" if n % 4 else "automatic",
                engine_cc=cc,
                mileage=km,
                mileage_unit="km",
                title=f"{year} {make.upper()} {short} TRUCK",
                description="",
                location="Japan",
                latitude=None,
                longitude=None,
                seller_type="dealer",
                nights=tuple(nights),
                totals=totals,
                destination_port=_PORTS[n % len(_PORTS)],
                stock_area=_STOCK_AREAS[n % len(_STOCK_AREAS)],
                color=rng.choice(_COLORS),
            )
        )
    van = SampleTruck(
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
        mileage_unit="km",
        title="2016 DAIHATSU HIJET VAN",
        description="",
        location="Japan",
        latitude=None,
        longitude=None,
        seller_type="dealer",
        nights=(NightState(3900),) * 3,
        totals=(5680,) * 3,
        destination_port="Baltimore",
        stock_area="Kobe",
        body="van",
    )
    jimny = SampleTruck(
        key="bf-jimny",
        source="beforward",
        listing_id="CH999222",
        kind="other_vehicle",
        make="Suzuki",
        model="Suzuki Jimny",
        model_code="M-JA71V",
        year=1989,
        month=None,
        is_4wd=True,
        transmission="manual",
        engine_cc=547,
        mileage=120500,
        mileage_unit="km",
        title="1989 SUZUKI JIMNY",
        description="",
        location="Japan",
        latitude=None,
        longitude=None,
        seller_type="dealer",
        nights=(NightState(4200),) * 3,
        totals=(6100,) * 3,
        destination_port="Baltimore",
        stock_area="Yokohama",
        body="suv",
    )
    return [*trucks, van, jimny]


def build_catalog(seed: int = 2026) -> list[SampleTruck]:
    """Every sample listing across sources, in a stable order.

    The first three sources share one random stream; every later source has a module
    ``keitrucks.sample.trucks_<source>`` with ``trucks(rng) -> list[SampleTruck]`` and a
    stream of its own, so adding a source never changes the others' trucks.
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
    return catalog


def listings_on(catalog: list[SampleTruck], source: str, night: int) -> list[SampleTruck]:
    """The listings a source shows on a night, in catalog order."""
    return [t for t in catalog if t.source == source and t.nights[night] is not None]

"""Months of market before the three sample nights: what the demo crawls first.

The three nights of :mod:`keitrucks.sample.catalog` show one week of market. The demo crawls
the weekly nights of :data:`~keitrucks.sample.catalog.HISTORY` before them, so its report has
trends to draw. :func:`history_catalog` gives every sample listing one state per night of
:data:`~keitrucks.sample.catalog.TIMELINE`, and adds the trucks that came and went (sold)
during those months:

- a kei truck listed on the first of the three nights was listed some weeks before (none for
  intended deals, auctions and listings new that week), at an asking price a few percent
  higher the longer it had been listed (sellers come down);
- trucks that sold during the span are new listings of each source, priced by the market of
  their week (:func:`market_index`: 4WD asking prices rise into the autumn, 2WD ones ease, and
  cheap project trucks are a bigger share of the early summer), listed for one to ten weeks;
- closed Bring a Trailer auctions show from the first night after they ended;
- two exporter trucks are listed through the months and turn 25 during them
  (:data:`TURNING_25`).

The catalog's three nights are kept: ``history_catalog()[i].nights[-3:]`` is the catalog's
``nights`` for each of its listings. Deterministic: every choice is a hash of the listing's key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import random
import re
from dataclasses import replace

from keitrucks.sample.catalog import (
    HISTORY,
    NIGHTS,
    SOURCES,
    TIMELINE,
    NightState,
    SampleTruck,
    _beforward_trucks,
    _craigslist_trucks,
    build_catalog,
    exporter_truck,
    night_date,
    totals_with,
)
from keitrucks.sample.trucks_dealer_jsonld import stock_number

#: Sources whose listings carry a history before the three nights (auctions do not).
ASKING_SOURCES = tuple(s for s in SOURCES if s != "bringatrailer")
#: Trucks that came and sold during the history, per source.
SOLD_IN_HISTORY = {
    "craigslist": 70,
    "beforward": 24,
    "dealer_jsonld": 12,
    "ebay": 14,
    "sbtjapan": 12,
    "carfromjapan": 12,
    "tcv": 10,
}
#: (week listed, weeks on sale) of each source's first sold trucks: one on sale every week.
ANCHORS = ((0, 10), (8, 10), (16, 8))
#: Price change over the whole history, by drive: the first week's market is (1 - this) of
#: today's. 4WD asking prices climb into the autumn; 2WD ones ease.
DRIFT = {True: 0.12, False: -0.07}
#: Per model, added to :data:`DRIFT` (the Carry and Hijet move most).
MODEL_DRIFT = {"Suzuki Carry": 0.03, "Daihatsu Hijet": 0.02, "Honda Acty": -0.02}
#: Weeks listed per asking-price step down, and the step.
WEEKS_PER_DROP, DROP = 6, 0.03


def _hash(*parts: object) -> int:
    return int.from_bytes(hashlib.sha1(repr(parts).encode()).digest()[:8], "big")


def market_index(model: str | None, is_4wd: bool | None, week: int) -> float:
    """Asking price of ``week`` (0 = first history night) as a share of today's."""
    drift = DRIFT[bool(is_4wd)] + MODEL_DRIFT.get(model or "", 0.0)
    return 1.0 - drift * (1.0 - week / len(HISTORY))


def _step(source: str) -> int:
    return 100 if source in ("craigslist", "ebay", "dealer_jsonld") else 10


def _price(value: float, source: str) -> int:
    step = _step(source)
    return int(round(value / step) * step)


def _has_history(truck: SampleTruck) -> bool:
    # messy kei truck listings (project trucks, clones, misdated ones ...) are on the market
    # all year too; parts, wanted ads and other vehicles are not kei trucks
    return (
        truck.source in ASKING_SOURCES
        and truck.kind == "kei_truck"
        and not truck.intended_deal
        and truck.auction_end is None
        and truck.nights[0] is not None
        and truck.nights[0].status == "active"
        and truck.nights[0].price is not None
    )


def weeks_listed(truck: SampleTruck) -> int:
    """How many history weeks a listing of the first night was already listed (0-26)."""
    return _hash("listed", truck.key) % (len(HISTORY) + 1) if _has_history(truck) else 0


def _freight(truck: SampleTruck) -> int | None:
    first = truck.nights[0]
    total = truck.totals[0] if truck.totals else None
    return total - first.price if first and first.price and total else None


def _asking_history(truck: SampleTruck) -> tuple[list[NightState | None], list[int | None]]:
    """History states and C&F totals of a listing of the first night."""
    listed = weeks_listed(truck)
    price, freight = truck.nights[0].price, _freight(truck)
    states: list[NightState | None] = []
    for week in range(len(HISTORY)):
        before = len(HISTORY) - week  # weeks before the first night
        if before > listed:
            states.append(None)
            continue
        steps = before // WEEKS_PER_DROP
        states.append(NightState(_price(price * (1 + DROP * steps), truck.source)))
    totals = [s.price + freight if s and freight else None for s in states]
    return states, totals


def _auction_history(truck: SampleTruck) -> list[NightState | None]:
    """A closed auction shows, as it closed, from the first night after its end."""
    first = truck.nights[0]
    if first is None or first.status == "active" or truck.auction_end is None:
        return [None] * len(HISTORY)
    nights = len(TIMELINE)
    return [
        first if _night_start(night_date(w, nights)) > truck.auction_end else None
        for w in range(len(HISTORY))
    ]


def _night_start(date: str) -> int:
    moment = dt.datetime.fromisoformat(date).replace(hour=6, tzinfo=dt.UTC)
    return int(moment.timestamp())


def extended(truck: SampleTruck) -> SampleTruck:
    """``truck`` with one state per night of :data:`TIMELINE`."""
    if _has_history(truck):
        states, totals = _asking_history(truck)
    elif truck.source == "bringatrailer":
        states, totals = _auction_history(truck), [None] * len(HISTORY)
    else:
        states, totals = [None] * len(HISTORY), [None] * len(HISTORY)
    own_totals = tuple(truck.totals) if truck.totals else (None,) * len(NIGHTS)
    return replace(
        truck,
        nights=(*states, *truck.nights),
        totals=(*totals, *own_totals),
    )


def _new_id(listing_id: str, serial: int) -> str:
    """Another listing id of the same shape: the last run of digits moved by ``serial``."""
    found = list(re.finditer(r"\d+", listing_id))
    if not found:
        raise ValueError(f"no digits to change in listing id {listing_id!r}")
    last = found[-1]
    width = len(last.group())
    number = (int(last.group()) + 7919 * (serial + 1) + 10 ** (width - 1) // 3) % 10**width
    number = max(number, 10 ** (width - 1))
    return f"{listing_id[: last.start()]}{number:0{width}d}{listing_id[last.end() :]}"


def _listing_id(base: SampleTruck, key: str, serial: int, taken: set[str]) -> str:
    """A new listing's id, shaped as ``base``'s: a dealer's truck without a frame number is
    known by its stock number, which comes from its key."""
    if base.source == "dealer_jsonld" and ":" in base.listing_id:
        return f"{base.listing_id.split(':', 1)[0]}:{stock_number(key)}"
    listing_id, attempt = _new_id(base.listing_id, serial), serial
    while listing_id in taken:
        attempt += 1000
        listing_id = _new_id(base.listing_id, attempt)
    return listing_id


def _source_trucks(source: str, seed: int) -> list[SampleTruck]:
    """Fresh honest trucks of ``source`` from its own generator, with another random stream."""
    rng = random.Random(f"history-{seed}-{source}")
    if source == "craigslist":
        made = _craigslist_trucks(rng)
    elif source == "beforward":
        made = _beforward_trucks(rng)
    else:
        made = importlib.import_module(f"keitrucks.sample.trucks_{source}").trucks(rng)
    return [
        t
        for t in made
        if t.kind == "kei_truck"
        and t.junk_reason is None
        and not t.intended_deal
        and t.auction_end is None
        and "auction" not in t.tags
        and next((s for s in t.nights if s is not None), None) is not None
        and next(s for s in t.nights if s is not None).price
    ]


def _sold_in_history(source: str, count: int, seed: int, taken: set[str]) -> list[SampleTruck]:
    """``count`` trucks of ``source`` listed and sold (gone) during the history."""
    pool = _source_trucks(source, seed)
    out = []
    for serial in range(count):
        base = pool[serial % len(pool)]
        key = f"{base.key}{serial + 10:02d}"
        listing_id = _listing_id(base, key, serial, taken)
        taken.add(listing_id)
        if serial < len(ANCHORS):  # every source shows something every week
            arrive, stay = ANCHORS[serial]
        else:
            arrive = _hash("arrive", key) % (len(HISTORY) - 2)
            stay = 1 + _hash("stay", key) % 10
        gone = min(arrive + stay, len(HISTORY) - 1)
        price0 = next(s.price for s in base.nights if s is not None and s.price)
        price = price0 * market_index(base.model, base.is_4wd, arrive)
        # early summer: more cheap project trucks under the band
        if _hash("project", key) % 100 < 40 * (1 - arrive / len(HISTORY)):
            price *= 0.62
        freight = _freight(base) or next(
            (t - s.price for s, t in zip(base.nights, base.totals, strict=False) if s and t), None
        )
        states: list[NightState | None] = []
        for week in range(len(HISTORY)):
            if arrive <= week < gone:
                drop = (week - arrive) // 4
                states.append(NightState(_price(price * (1 - DROP * drop), source)))
            else:
                states.append(None)
        totals = [s.price + freight if s and freight else None for s in states]
        out.append(
            replace(
                base,
                key=key,
                listing_id=listing_id,
                nights=(*states, None, None, None),
                totals=(*totals, None, None, None),
                repost_of=None,
            )
        )
    return out


#: Exporter stock listed through the months that turns 25 during them (a truck turning 25 in a
#: month is importable from the next): the watch list shows it coming, then it can be imported.
#: (fields, FOB price, first week listed)
TURNING_25 = (
    (
        dict(
            key="bf-turns-25-carry",
            listing_id="CF999777",
            make="Suzuki",
            model="Suzuki Carry",
            model_code="GD-DB52T",
            year=2001,
            month=7,
            is_4wd=True,
            transmission="manual",
            engine_cc=658,
            mileage=68000,
            title="2001 SUZUKI CARRY TRUCK",
        ),
        3600,
        1,
    ),
    (
        dict(
            key="bf-turns-25-acty",
            listing_id="CG999888",
            make="Honda",
            model="Honda Acty",
            model_code="GD-HA7",
            year=2001,
            month=9,
            is_4wd=True,
            transmission="manual",
            engine_cc=656,
            mileage=91000,
            title="2001 HONDA ACTY TRUCK",
        ),
        3300,
        6,
    ),
)


def _turning_25() -> list[SampleTruck]:
    out = []
    for fields, price, first in TURNING_25:
        nights = tuple(None if n < first else NightState(price) for n in range(len(TIMELINE)))
        out.append(
            exporter_truck(
                source="beforward",
                **fields,
                nights=nights,
                totals=totals_with(nights, 1780),
                destination_port="Baltimore",
                stock_area="Yokohama",
            )
        )
    return out


def history_catalog(seed: int = 2026) -> list[SampleTruck]:
    """Every listing of the demo, each with one state per night of :data:`TIMELINE`: the
    catalog's (:func:`extended`), the trucks sold during the history, and :data:`TURNING_25`."""
    catalog = [extended(t) for t in build_catalog(seed)]
    taken = {t.listing_id for t in catalog}
    for source, count in SOLD_IN_HISTORY.items():
        catalog.extend(_sold_in_history(source, count, seed, taken))
    return [*catalog, *_turning_25()]

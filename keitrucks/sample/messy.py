"""The messy part of the sample market: listings the real market has and a deal hunter must see.

Parts priced like trucks, trucks that do not run, salvage or missing titles, off-road-only
trucks, sales already pending, clones that are no kei truck, misdated ads, kilometres shown as
miles, keyword-stuffed titles, a van in katakana, and trucks that turn 25 in the next months.
Every junk listing is priced to look like a deal; its ``junk_reason`` records the truth. A few
clean, running, titled 4WD trucks are priced under their comparables on purpose
(``intended_deal``): the alerts must find those and none of the junk.
"""

from __future__ import annotations

from keitrucks.sample.catalog import (
    NightState,
    SampleTruck,
    exporter_truck,
    listed_from,
    totals_with,
)
from keitrucks.sample.messy_craigslist import craigslist

#: eBay Motors: the page's "Vehicle Title" item specific gives the title.
_EBAY = (
    dict(
        key="eb-salvage",
        listing_id="256641300011",
        make="Suzuki",
        model="Suzuki Carry",
        model_code="DD51T",
        year=1996,
        is_4wd=True,
        transmission="manual",
        engine_cc=657,
        mileage=52000,
        title="1996 Suzuki Carry DD51T 4x4 Kei Mini Truck Salvage Title",
        description="1996 Suzuki Carry DD51T, 4x4, 5 speed. Salvage title, hail damage.",
        location="Nashville, TN",
        nights=listed_from(3400),
        title_status="salvage",
        junk_reason="title",
    ),
    dict(
        key="eb-not-running",
        listing_id="256641300022",
        make="Honda",
        model="Honda Acty",
        model_code="HA4",
        year=1995,
        is_4wd=True,
        transmission="manual",
        engine_cc=656,
        mileage=64000,
        title="1995 Honda Acty HA4 4WD Mini Truck Project Not Running",
        description="1995 Honda Acty HA4, 4WD. Not running, turns over but no spark. "
        "Project truck, sold as is.",
        location="Atlanta, GA",
        nights=listed_from(2100, 1),
        title_status="clean",
        junk_reason="not_running",
    ),
    dict(
        key="eb-deal-hijet",
        listing_id="256641300033",
        make="Daihatsu",
        model="Daihatsu Hijet",
        model_code="S110P",
        year=1997,
        is_4wd=True,
        transmission="manual",
        engine_cc=659,
        mileage=39000,
        title="1997 Daihatsu Hijet S110P 4x4 Mini Truck Clean Title",
        description="1997 Daihatsu Hijet S110P, 4x4 hi/lo, 5 speed, 39,000 miles. Runs and "
        "drives great, clean title in hand.",
        location="Charlotte, NC",
        nights=listed_from(4600),
        title_status="clean",
        intended_deal=True,
    ),
)


def _ebay() -> list[SampleTruck]:
    common = {"source": "ebay", "kind": "kei_truck", "seller_type": "owner"}
    return [SampleTruck(**{**common, **fields}) for fields in _EBAY]


#: BE FORWARD stock: a truck under offer (商談中), a van titled in katakana, and trucks that turn
#: 25 (US import eligible) in the coming months. Vehicle price FOB plus freight to the port.
_BEFORWARD = (
    dict(
        key="bf-pending",
        listing_id="CB999333",
        make="Suzuki",
        model="Suzuki Carry",
        model_code="GD-DB52T",
        year=2001,
        month=11,
        is_4wd=True,
        transmission="manual",
        engine_cc=658,
        mileage=61000,
        title="2001 SUZUKI CARRY TRUCK 商談中",
        nights=listed_from(1400),
        junk_reason="pending",
    ),
    dict(
        key="bf-van-kana",
        listing_id="CC999444",
        kind="kei_van",
        make="Daihatsu",
        model="Daihatsu Hijet",
        model_code="GD-S200V",
        year=2003,
        month=6,
        is_4wd=False,
        transmission="automatic",
        engine_cc=659,
        mileage=97000,
        title="2003 ダイハツ ハイゼットバン",
        nights=listed_from(1300),
        body="van",
        junk_reason="not_kei",
    ),
    dict(
        key="bf-25-soon-hijet",
        listing_id="CD999555",
        make="Daihatsu",
        model="Daihatsu Hijet",
        model_code="GD-S210P",
        year=2002,
        month=1,
        is_4wd=False,
        transmission="manual",
        engine_cc=659,
        mileage=83000,
        title="2002 DAIHATSU HIJET TRUCK",
        nights=listed_from(3200),
    ),
    dict(
        key="bf-25-soon-carry",
        listing_id="CE999666",
        make="Suzuki",
        model="Suzuki Carry",
        model_code="GD-DA52T",
        year=2002,
        month=4,
        is_4wd=False,
        transmission="manual",
        engine_cc=658,
        mileage=76000,
        title="2002 SUZUKI CARRY TRUCK",
        nights=listed_from(2900, 1),
    ),
)


def _beforward() -> list[SampleTruck]:
    out = []
    for n, fields in enumerate(_BEFORWARD):
        out.append(
            exporter_truck(
                source="beforward",
                **fields,
                totals=totals_with(fields["nights"], 1780),
                destination_port="Baltimore",
                stock_area=("Yokohama", "Kobe", "Nagoya", "Osaka")[n],
            )
        )
    return out


#: Dealers (``dealer_jsonld``; the key names the dealer and its stock number): the truth is in
#: the description, as dealers write it.
_DEALERS = (
    dict(
        key="dj-br-20",
        listing_id="DB52T-771204",
        make="Suzuki",
        model="Suzuki Carry",
        model_code="DB52T",
        year=1999,
        is_4wd=True,
        transmission="manual",
        engine_cc=658,
        mileage=45800,
        title="1999 Suzuki Carry 4WD - Rebuilt Title",
        description="Suzuki Carry 4x4, 5-speed, 45,800 miles. Rebuilt title, priced accordingly.",
        location="Hickory, NC",
        nights=listed_from(3900),
        title_status="rebuilt",
        junk_reason="title",
    ),
    dict(
        key="dj-pm-20",
        listing_id="S110P-093317",
        make="Daihatsu",
        model="Daihatsu Hijet",
        model_code="S110P",
        year=1995,
        is_4wd=True,
        transmission="manual",
        engine_cc=659,
        mileage=67300,
        title="1995 Daihatsu Hijet 4WD Jumbo",
        description="Hijet jumbo 4x4. Sale pending, deposit received. Ask about our next shipment.",
        location="Greensboro, NC",
        nights=listed_from(4300, 1),
        junk_reason="pending",
    ),
    dict(
        key="dj-br-21",
        listing_id="HA4-2208145",
        make="Honda",
        model="Honda Acty",
        model_code="HA4",
        year=1996,
        is_4wd=True,
        transmission="manual",
        engine_cc=656,
        mileage=33400,
        title="1996 Honda Acty 4WD",
        description="Honda Acty 4x4, 5-speed, 33,400 miles, runs and drives great, clean "
        "title. Manager's special.",
        location="Hickory, NC",
        nights=listed_from(4700),
        title_status="clean",
        intended_deal=True,
    ),
)


def _dealers() -> list[SampleTruck]:
    common = {"source": "dealer_jsonld", "kind": "kei_truck", "seller_type": "dealer"}
    return [SampleTruck(**{**common, **fields}) for fields in _DEALERS]


#: Bring a Trailer: a non-running project sold at a project's price.
_BRINGATRAILER = (
    dict(
        key="bat-project",
        listing_id="111398765",
        make="Subaru",
        model="Subaru Sambar",
        year=1991,
        is_4wd=True,
        transmission="manual",
        engine_cc=658,
        mileage=72000,
        title="Non-Running 1991 Subaru Sambar 4WD Project",
        description="This 1991 Subaru Sambar is a four-wheel-drive kei truck offered as a "
        "non-running project: the engine turns over but does not start. Sold on a bill of sale.",
        nights=(NightState(1900, "sold"),) * 3,
        auction_end=1795500000 - 9 * 86400,
        title_status="missing",
        junk_reason="not_running",
    ),
)


def _bringatrailer() -> list[SampleTruck]:
    common = {"source": "bringatrailer", "kind": "kei_truck", "seller_type": "owner"}
    return [
        SampleTruck(**{**common, "location": "United States", **fields})
        for fields in _BRINGATRAILER
    ]


def trucks() -> list[SampleTruck]:
    """The messy listings of every source, in a stable order."""
    return [*craigslist(), *_bringatrailer(), *_beforward(), *_dealers(), *_ebay()]

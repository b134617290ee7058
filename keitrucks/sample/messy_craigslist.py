"""The messy Craigslist listings of the sample market (see :mod:`keitrucks.sample.messy`).

Private sellers write the truth into the title and description, and sometimes into Craigslist's
"title status" attribute; parts, clones and a keyword-stuffed side-by-side come up under the same
searches as the trucks.
"""

from __future__ import annotations

from keitrucks.sample.catalog import SampleTruck, area_fields, listed_from

#: Craigslist: (area, fields). Prices far under the ~$7,000-9,000 of a running 4WD truck.
_CRAIGSLIST = (
    (
        "knoxville",
        dict(
            key="cl-wheels",
            listing_id="7968880011",
            kind="parts",
            title="Hijet mini truck wheels and tires (set of 4)",
            description="Four 12 inch steel wheels with tires off a 1996 Daihatsu Hijet. "
            "Tires about half tread. Wheels and tires only, no truck.",
            nights=listed_from(350),
            junk_reason="parts",
        ),
    ),
    (
        "nashville",
        dict(
            key="cl-engine",
            listing_id="7968880022",
            kind="parts",
            title="Suzuki Carry F6A engine and 5 speed transmission - kei truck",
            description="F6A 660cc engine with the 5 speed transmission out of a Carry "
            "mini truck. Ran when pulled. Engine and transmission only.",
            nights=listed_from(900),
            junk_reason="parts",
        ),
    ),
    (
        "asheville",
        dict(
            key="cl-dump-bed",
            listing_id="7968880033",
            kind="parts",
            title="Dump bed for Hijet mini truck - bed only",
            description="Hydraulic dump bed off a Daihatsu Hijet kei truck, pump works. "
            "Dump bed only, the truck is not included.",
            nights=listed_from(1200, 1),
            junk_reason="parts",
        ),
    ),
    (
        "atlanta",
        dict(
            key="cl-seized",
            listing_id="7968880044",
            make="Subaru",
            model="Subaru Sambar",
            model_code="KS4",
            year=1994,
            is_4wd=True,
            transmission="manual",
            engine_cc=658,
            mileage=58000,
            title="1994 Subaru Sambar 4x4 mini truck - engine seized",
            description="Sambar 4wd, sat in the barn for six years and the engine is seized. "
            "Does not run. Clean title. Bring a trailer.",
            nights=listed_from(2200),
            title_status="clean",
            junk_reason="not_running",
        ),
    ),
    (
        "charlotte",
        dict(
            key="cl-needs-engine",
            listing_id="7968880055",
            make="Honda",
            model="Honda Acty",
            model_code="HA4",
            year=1993,
            is_4wd=True,
            transmission="manual",
            engine_cc=656,
            mileage=71000,
            title="1993 Honda Acty 4wd mini truck needs engine",
            description="Acty 4x4, spun a bearing, needs engine. Not running, "
            "body and frame good. Title in hand.",
            nights=listed_from(2500),
            title_status="clean",
            junk_reason="not_running",
        ),
    ),
    (
        "raleigh",
        dict(
            key="cl-salvage",
            listing_id="7968880066",
            make="Suzuki",
            model="Suzuki Carry",
            model_code="DD51T",
            year=1997,
            is_4wd=True,
            transmission="manual",
            engine_cc=657,
            mileage=49000,
            title="1997 Suzuki Carry 4x4 kei truck salvage title",
            description="Carry DD51T 4wd, 5 speed, runs and drives. Salvage title from a "
            "flood, priced to sell.",
            nights=listed_from(3900),
            title_status="salvage",
            junk_reason="title",
        ),
    ),
    (
        "knoxville",
        dict(
            key="cl-rebuilt",
            listing_id="7968880077",
            make="Daihatsu",
            model="Daihatsu Hijet",
            model_code="S110P",
            year=1995,
            is_4wd=True,
            transmission="manual",
            engine_cc=659,
            mileage=53000,
            title="1995 Daihatsu Hijet 4wd mini truck rebuilt title",
            description="Hijet S110P 4x4, rolled it once, fixed. Rebuilt title. Runs good.",
            nights=listed_from(4200, 1),
            title_status="rebuilt",
            junk_reason="title",
        ),
    ),
    (
        "nashville",
        dict(
            key="cl-no-title",
            listing_id="7968880088",
            make="Mitsubishi",
            model="Mitsubishi Minicab",
            model_code="U42T",
            year=1996,
            is_4wd=True,
            transmission="manual",
            engine_cc=657,
            mileage=44000,
            title="1996 Mitsubishi Minicab 4x4 mini truck - no title",
            description="Minicab U42T 4wd, runs and drives. No title, bill of sale only. "
            "Cash only.",
            nights=listed_from(3000),
            title_status="missing",
            junk_reason="title",
        ),
    ),
    (
        "asheville",
        dict(
            key="cl-off-road",
            listing_id="7968880099",
            make="Suzuki",
            model="Suzuki Carry",
            model_code="DD51T",
            year=1998,
            is_4wd=True,
            transmission="manual",
            engine_cc=657,
            mileage=39000,
            title="1998 Suzuki Carry 4x4 mini truck farm use only",
            description="Carry 4wd, ATV title, farm use only, not street legal. Has the "
            "25 mph governor. Runs great.",
            nights=listed_from(3800),
            title_status="off_road",
            junk_reason="title",
        ),
    ),
    (
        "atlanta",
        dict(
            key="cl-pending",
            listing_id="7968880110",
            make="Honda",
            model="Honda Acty",
            model_code="HA4",
            year=1996,
            is_4wd=True,
            transmission="manual",
            engine_cc=656,
            mileage=47000,
            title="1996 Honda Acty 4x4 mini truck - SALE PENDING",
            description="Acty HA4 4wd, 5 speed, clean title. Sale pending, deposit taken. "
            "Will update if the buyer backs out.",
            nights=listed_from(4500, 1),
            title_status="clean",
            junk_reason="pending",
        ),
    ),
    (
        "charlotte",
        dict(
            key="cl-chery",
            listing_id="7968880121",
            kind="other_vehicle",
            make="Chery",
            is_4wd=True,
            transmission="manual",
            title="New Chery mini truck 4x4 - like a kei truck",
            description="Brand new Chinese Chery mini truck, 4wd, 1.0 liter. Off road use "
            "only, sold with a certificate of origin.",
            nights=listed_from(3900),
            seller_type="dealer",
            junk_reason="clone",
        ),
    ),
    (
        "raleigh",
        dict(
            key="cl-golf-cart",
            listing_id="7968880132",
            kind="other_vehicle",
            make="Club Car",
            title="Club Car golf cart with dump bed - mini truck",
            description="Club Car Carryall golf cart, gas, dump bed. Great little mini "
            "truck for the farm.",
            nights=listed_from(2800),
            junk_reason="clone",
        ),
    ),
    (
        "knoxville",
        dict(
            key="cl-2012",
            listing_id="7968880143",
            make="Suzuki",
            model="Suzuki Carry",
            model_code="DA63T",
            year=2012,
            is_4wd=True,
            transmission="manual",
            engine_cc=658,
            mileage=31000,
            title="2012 Suzuki Carry 4x4 kei truck",
            description="2012 Carry DA63T 4wd, low miles. Off road use only, no title.",
            nights=listed_from(4800),
            title_status="missing",
            junk_reason="misdated",
        ),
    ),
    (
        "nashville",
        dict(
            key="cl-2000-obo",
            listing_id="7968880154",
            make="Suzuki",
            model="Suzuki Carry",
            model_code="DD51T",
            year=1992,
            is_4wd=True,
            transmission="manual",
            engine_cc=657,
            mileage=88000,
            title="Suzuki Carry 4x4 mini truck 2000 obo",
            description="1992 Carry 4wd, needs a clutch, does not run right now. 2000 obo.",
            nights=listed_from(2000),
            junk_reason="misdated",
        ),
    ),
    (
        "asheville",
        dict(
            key="cl-km-as-miles",
            listing_id="7968880165",
            make="Mazda",
            model="Mazda Scrum",
            model_code="DL51T",
            year=1995,
            is_4wd=True,
            transmission="manual",
            engine_cc=657,
            mileage=41000,
            mileage_unit="km",
            title="1995 Mazda Scrum 4x4 mini truck low miles",
            description="Scrum 4wd, 5 speed, only 41,000 on the clock (the speedo is in km).",
            nights=listed_from(7600),
            tags=("km_as_miles",),
            junk_reason="km_as_miles",
        ),
    ),
    (
        "atlanta",
        dict(
            key="cl-stuffed",
            listing_id="7968880176",
            kind="other_vehicle",
            make="Kubota",
            title="kei truck mini truck carry acty hijet sambar minicab 4x4 utv side by side",
            description="Kubota RTV side by side, diesel, 4x4. Better than a kei truck, "
            "carry acty hijet sambar scrum clipper minicab.",
            nights=listed_from(3500),
            junk_reason="not_kei",
        ),
    ),
    (
        "charlotte",
        dict(
            key="cl-deal-sambar",
            listing_id="7968880187",
            make="Subaru",
            model="Subaru Sambar",
            model_code="KS4",
            year=1996,
            is_4wd=True,
            transmission="manual",
            engine_cc=658,
            mileage=36000,
            title="1996 Subaru Sambar 4x4 mini truck",
            description="Sambar KS4 4wd, 5 speed, 36,000 miles, runs and drives great, "
            "clean title in my name. Divorce sale.",
            nights=listed_from(4400, 1),
            title_status="clean",
            intended_deal=True,
        ),
    ),
    (
        "raleigh",
        dict(
            key="cl-deal-scrum",
            listing_id="7968880198",
            make="Mazda",
            model="Mazda Scrum",
            model_code="DL51T",
            year=1997,
            is_4wd=True,
            transmission="manual",
            engine_cc=657,
            mileage=42000,
            title="1997 Mazda Scrum 4wd mini truck",
            description="Scrum DL51T 4x4, 5 speed, 42,000 miles, runs great, clean title. "
            "Moving overseas, need it gone.",
            nights=listed_from(4200),
            title_status="clean",
            intended_deal=True,
        ),
    ),
)


def craigslist() -> list[SampleTruck]:
    common = {"source": "craigslist", "kind": "kei_truck", "seller_type": "owner"}
    return [
        SampleTruck(**{**common, **area_fields(area), **fields}) for area, fields in _CRAIGSLIST
    ]

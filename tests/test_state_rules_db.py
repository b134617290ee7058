"""The database carries the state road rules, and "Trucks I can register in my state" uses them."""

from keitrucks.core import states
from pipelines.listings import save_listings
from pipelines.runs import start_run
from pipelines.schema import TRUCKS_I_CAN_REGISTER, open_db, save_state_rules

AT = "2026-11-26T06:00:00+00:00"


def _truck(listing_id, **fields):
    base = {
        "source": "craigslist",
        "listing_id": listing_id,
        "url": f"https://knoxville.craigslist.org/cto/d/x/{listing_id}.html",
        "scraped_at": AT,
        "title": f"Truck {listing_id}",
        "kind": "kei_truck",
        "model": "Honda Acty",
        "year": 1996,
        "eligible_25y": True,
        "price": 5000,
        "currency": "USD",
        "price_usd": 5000,
        "price_basis": "asking",
        "status": "active",
    }
    return base | fields


#: Trucks no buyer can register (or buy): never listed, whatever the state's rule.
PROJECTS = [
    _truck("no-title", title_status="no_title"),
    _truck("salvage", title_status="salvage"),
    _truck("off-road", title_status="offroad_only"),
    _truck("dead", runs=False),
    _truck("pending", sale_pending=True),
]


def _db(tmp_path):
    db = open_db(tmp_path / "k.db")
    run = start_run(db, "craigslist", search_key="all", as_of=AT, started_at=AT)
    items = [
        _truck("1"),
        _truck("2", eligible_25y=False, year=2012),
        _truck("3", kind="parts"),
        _truck("4", source="beforward", price_basis="fob", price_usd=2500, landed_usd=6100),
        _truck("5", source="beforward", price_basis="fob", price_usd=2000, landed_usd=None),
        *PROJECTS,
    ]
    save_listings(db, items, run_id=run, seen_at=AT, search_key="all")
    return db


def rows(db, state):
    cursor = db.execute(TRUCKS_I_CAN_REGISTER, {"state": state})
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def test_every_database_carries_the_shipped_rules(tmp_path):
    db = _db(tmp_path)
    assert db["state_rules"].count == 51
    ga = next(db["state_rules"].rows_where("state = 'GA'"))
    assert ga["road_status"] == "offroad_only"
    assert ga["origin"] == "reference"
    assert ga["source_url"]
    assert ga["source_date"]


def test_a_registrable_state_lists_eligible_trucks_with_the_rule_beside_them(tmp_path):
    found = rows(_db(tmp_path), "tn")
    assert [r["listing_id"] for r in found] == ["1", "4"]
    assert found[0]["your_state_rule"].startswith("TN: ")
    assert found[0]["price_is"] == "US asking"
    assert found[1]["price_is"] == "landed in the US"
    assert found[1]["price_usd"] == 6100
    assert all(r["rule_source_date"] for r in found)


def test_a_state_reads_by_its_code_or_its_name(tmp_path):
    db = _db(tmp_path)
    for given in ("TN", "tn", " Tennessee ", "TENNESSEE", "tennessee"):
        assert [r["listing_id"] for r in rows(db, given)] == ["1", "4"], given
    assert rows(db, "Georgia") == rows(db, "GA") == []


def test_a_live_auctions_price_says_it_is_a_bid(tmp_path):
    db = _db(tmp_path)
    run = start_run(db, "bringatrailer", search_key="all", as_of=AT, started_at=AT)
    live = _truck("bat", source="bringatrailer", price_basis="bid", price_usd=7000)
    save_listings(db, [live], run_id=run, seen_at=AT, search_key="all")
    found = {r["listing_id"]: r["price_is"] for r in rows(db, "TN")}
    assert found["bat"] == "current bid"


def test_a_state_without_road_use_lists_nothing(tmp_path):
    db = _db(tmp_path)
    assert rows(db, "GA") == []
    assert rows(db, "CO") == []  # not in force until 2027-07-01
    assert rows(db, "ZZ") == []


def test_a_user_override_counts_and_survives_reopening(tmp_path):
    db = _db(tmp_path)
    override = {
        "state": "GA",
        "road_status": "registrable",
        "confidence": "medium",
        "source_url": "https://example.org/ga",
        "source_date": "2026-11-30",
    }
    save_state_rules(db, states.rules_with([override]).values())
    db = open_db(tmp_path / "k.db")
    assert [r["listing_id"] for r in rows(db, "GA")] == ["1", "4"]
    assert next(db["state_rules"].rows_where("state = 'GA'"))["origin"] == "user"

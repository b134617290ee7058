"""Small hand-built histories for the analysis tests, written through the real storage layer.

``night(db, day, source, trucks)`` stores one healthy, complete run of a source: the listings it
saw (``truck(...)`` dicts) are saved and the others of that source are marked gone, exactly as a
crawl would. The helpers are imported by the other ``test_analysis_*`` modules; the tests here
check that the builder itself gives the history they assume.
"""

from __future__ import annotations

from pipelines.listings import mark_gone, save_listings
from pipelines.run_health import RunVerdict
from pipelines.runs import finish_run, start_run
from pipelines.schema import open_db

SEARCH = "test-search"


def at(day: str) -> str:
    return f"{day}T06:00:00+00:00"


def truck(source: str, listing_id: str, price: int | None, **kw) -> dict:
    """A normalized kei truck listing (4WD Honda Acty 1996 unless told otherwise)."""
    model = kw.pop("model", "Honda Acty")
    year = kw.pop("year", 1996)
    base = {
        "source": source,
        "listing_id": listing_id,
        "url": f"https://{source}.example/{listing_id}",
        "title": f"{year} {model} {listing_id}",
        "kind": "kei_truck",
        "make": model.split()[0],
        "model": model,
        "year": year,
        "is_4wd": True,
        "mileage_mi": None,  # no mileage: no fingerprint match unless a test asks for one
        "price": price,
        "currency": "USD" if price else None,
        "price_usd": price,
        "price_basis": "asking",
        "status": "active",
        "location_raw": "Knoxville, TN",
    }
    base.update(kw)
    return base


def night(db_path, day: str, source: str, trucks: list[dict]) -> int:
    """One healthy, complete run of ``source`` on ``day`` that saw exactly ``trucks``."""
    db = open_db(db_path)
    try:
        run_id = start_run(db, source, search_key=SEARCH, as_of=at(day), started_at=at(day))
        save_listings(db, trucks, run_id=run_id, seen_at=at(day), search_key=SEARCH)
        gone = mark_gone(db, source=source, search_key=SEARCH, run_id=run_id, at=at(day))
        finish_run(
            db,
            run_id,
            finished_at=at(day),
            finish_reason="finished",
            verdict=RunVerdict(True, True, "ok"),
            stats={},
            items=len(trucks),
            coverage={},
            gone_marked=gone,
        )
    finally:
        db.close()
    return run_id


def history_rows(db_path) -> list[tuple]:
    db = open_db(db_path)
    try:
        return [
            (r["listing_id"], r["observed_at"][:10], r["event"], r["price_usd"], r["status"])
            for r in db.query("SELECT * FROM price_history ORDER BY id")
        ]
    finally:
        db.close()


def test_night_builder_writes_new_change_and_gone_rows(tmp_path):
    db = tmp_path / "h.db"
    night(
        db,
        "2026-11-02",
        "craigslist",
        [truck("craigslist", "1", 8000), truck("craigslist", "2", 7000)],
    )
    night(db, "2026-11-03", "craigslist", [truck("craigslist", "1", 7500)])
    assert history_rows(db) == [
        ("1", "2026-11-02", "new", 8000, "active"),
        ("2", "2026-11-02", "new", 7000, "active"),
        ("1", "2026-11-03", "price_change", 7500, "active"),
        ("2", "2026-11-03", "gone", 7000, "gone"),
    ]


CL, BF, EB, BAT = "craigslist", "beforward", "ebay", "bringatrailer"


def _market_nights() -> list[tuple[str, str, list[dict]]]:
    """A small market over two ISO weeks (W45: Nov 2-8, W46: Nov 9-15, 2026).

    - A: 4WD Acty, 8000 -> 7500 on Nov 9 (a price drop);
    - B: 4WD Acty 7000, reposted on Nov 9 as G (repost_of B) at 8800: one truck;
    - C: 4WD Acty 9000 on Craigslist, also on eBay as X (same mileage, town, price): one truck;
    - D: 2WD Carry 1991 at 13000 (above the band); E: 2WD Acty 6000 -> 5500, gone on Nov 9;
    - H: 4WD Acty 9400, gone on Nov 5 and reposted as H2 at 8700, gone on Nov 9 (sold);
    - F: exporter FOB price (never mixed with asking prices); S: an auction sold on Nov 10.
    """
    a = truck(CL, "A", 8000)
    b = truck(CL, "B", 7000)
    c = truck(CL, "C", 9000, mileage_mi=51234)
    x = truck(EB, "X", 9000, mileage_mi=51234, title="1996 Honda Acty X 4x4")
    d = truck(CL, "D", 13000, model="Suzuki Carry", year=1991, is_4wd=False)
    e = truck(CL, "E", 6000, is_4wd=False)
    h = truck(CL, "H", 9400)
    f = truck(BF, "F", 3000, price_basis="fob", location_raw="Yokohama")
    return [
        ("2026-11-02", CL, [a, b, c, d, e, h]),
        ("2026-11-02", BF, [f]),
        ("2026-11-03", EB, [x]),
        (
            "2026-11-05",
            CL,
            [
                a,
                b,
                c,
                d,
                {**e, "price": 5500, "price_usd": 5500},
                truck(CL, "H2", 8700, repost_of="H"),
            ],
        ),
        (
            "2026-11-09",
            CL,
            [{**a, "price": 7500, "price_usd": 7500}, c, d, truck(CL, "G", 8800, repost_of="B")],
        ),
        ("2026-11-10", BAT, [truck(BAT, "S", 9500, price_basis="sold", status="sold")]),
    ]


def build_market(db_path, *, until: str | None = None) -> None:
    """Store the nights of ``_market_nights`` up to and including ``until``."""
    for day, source, trucks in _market_nights():
        if until is None or day <= until:
            night(db_path, day, source, trucks)


def test_market_history_has_the_events_the_analysis_tests_rely_on(tmp_path):
    db = tmp_path / "m.db"
    build_market(db)
    rows = history_rows(db)
    assert ("A", "2026-11-09", "price_change", 7500, "active") in rows
    assert ("E", "2026-11-09", "gone", 5500, "gone") in rows
    assert ("H", "2026-11-05", "gone", 9400, "gone") in rows
    assert ("S", "2026-11-10", "new", 9500, "sold") in rows
    database = open_db(db)
    identities = {r["listing_id"]: r["identity"] for r in database.query("SELECT * FROM listings")}
    database.close()
    assert identities["G"] == "craigslist:B"
    assert identities["H2"] == "craigslist:H"

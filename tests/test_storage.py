"""Storage: idempotent upserts, history only on change, gone only after healthy complete runs."""

from __future__ import annotations

import json

import pytest

from pipelines.storage import (
    RunVerdict,
    ensure_schema,
    finish_run,
    judge_run,
    mark_gone,
    open_db,
    read_known_listings,
    save_listings,
    start_run,
)
from scrapers.items import Listing

KEY = "craigslist:abc"
NIGHT1, NIGHT2, NIGHT3 = (
    "2026-11-24T06:00:00+00:00",
    "2026-11-25T06:00:00+00:00",
    "2026-11-26T06:00:00+00:00",
)


def truck(listing_id: str, price: int | None = 6500, status: str = "active", **kw) -> Listing:
    return Listing(
        source="craigslist",
        listing_id=listing_id,
        url=f"https://example.test/{listing_id}",
        title=f"1996 Suzuki Carry {listing_id}",
        price_raw=f"${price}" if price else None,
        price=price,
        currency="USD" if price else None,
        price_usd=price,
        price_basis="asking",
        status=status,
        attributes={"drive": "4wd"},
        **kw,
    )


@pytest.fixture
def db(tmp_path):
    database = open_db(tmp_path / "t.db")
    yield database
    database.close()


def run(db, at=NIGHT1, source="craigslist"):
    return start_run(db, source, search_key=KEY, as_of=at, started_at=at)


def history(db, listing_id=None):
    sql = "SELECT listing_id, event, price, status, run_id FROM price_history"
    if listing_id:
        return list(db.query(sql + " WHERE listing_id = ? ORDER BY id", [listing_id]))
    return list(db.query(sql + " ORDER BY id"))


def test_open_db_uses_wal_and_schema_is_idempotent(db):
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    before = {t: db[t].columns_dict for t in db.table_names()}
    ensure_schema(db)
    ensure_schema(db)
    assert {t: db[t].columns_dict for t in db.table_names()} == before
    assert {"listings", "price_history", "runs", "alerts"} <= set(db.table_names())


def test_saving_the_same_listing_twice_leaves_one_row_and_one_history_row(db):
    r1 = run(db)
    save_listings(db, [truck("1")], run_id=r1, seen_at=NIGHT1, search_key=KEY)
    r2 = run(db, NIGHT2)
    events = save_listings(db, [truck("1")], run_id=r2, seen_at=NIGHT2, search_key=KEY)
    assert events == {}
    assert db["listings"].count == 1
    assert [h["event"] for h in history(db)] == ["new"]
    row = next(db.query("SELECT * FROM listings"))
    assert row["first_seen_at"] == NIGHT1
    assert row["last_seen_at"] == NIGHT2
    assert row["last_run_id"] == r2
    assert json.loads(row["attributes"]) == {"drive": "4wd"}


def test_price_change_and_status_change_add_history_rows(db):
    save_listings(db, [truck("1", 6500)], run_id=run(db), seen_at=NIGHT1, search_key=KEY)
    save_listings(db, [truck("1", 5900)], run_id=run(db, NIGHT2), seen_at=NIGHT2, search_key=KEY)
    save_listings(
        db, [truck("1", 5900, "sold")], run_id=run(db, NIGHT3), seen_at=NIGHT3, search_key=KEY
    )
    assert [(h["event"], h["price"], h["status"]) for h in history(db)] == [
        ("new", 6500, "active"),
        ("price_change", 5900, "active"),
        ("status_change", 5900, "sold"),
    ]


def test_mark_gone_only_touches_unseen_active_listings_of_the_same_search(db):
    r1 = run(db)
    save_listings(
        db,
        [truck("1"), truck("2"), truck("3", status="sold")],
        run_id=r1,
        seen_at=NIGHT1,
        search_key=KEY,
    )
    save_listings(db, [truck("9")], run_id=r1, seen_at=NIGHT1, search_key="craigslist:other")
    r2 = run(db, NIGHT2)
    save_listings(db, [truck("1")], run_id=r2, seen_at=NIGHT2, search_key=KEY)
    assert mark_gone(db, source="craigslist", search_key=KEY, run_id=r2, at=NIGHT2) == 1
    status = {r["listing_id"]: r["status"] for r in db.query("SELECT * FROM listings")}
    assert status == {"1": "active", "2": "gone", "3": "sold", "9": "active"}
    assert history(db, "2")[-1]["event"] == "gone"
    assert mark_gone(db, source="craigslist", search_key=KEY, run_id=r2, at=NIGHT2) == 0


def test_a_gone_listing_that_returns_is_relisted(db):
    r1 = run(db)
    save_listings(db, [truck("1"), truck("2")], run_id=r1, seen_at=NIGHT1, search_key=KEY)
    r2 = run(db, NIGHT2)
    save_listings(db, [truck("1")], run_id=r2, seen_at=NIGHT2, search_key=KEY)
    mark_gone(db, source="craigslist", search_key=KEY, run_id=r2, at=NIGHT2)
    r3 = run(db, NIGHT3)
    save_listings(db, [truck("2", 6100)], run_id=r3, seen_at=NIGHT3, search_key=KEY)
    assert [h["event"] for h in history(db, "2")] == ["new", "gone", "relisted"]
    row = next(db.query("SELECT status, gone_at FROM listings WHERE listing_id = '2'"))
    assert row == {"status": "active", "gone_at": None}


def test_a_repost_inherits_the_identity_of_its_predecessor(db):
    save_listings(db, [truck("100")], run_id=run(db), seen_at=NIGHT1, search_key=KEY)
    save_listings(
        db, [truck("200", repost_of="100")], run_id=run(db, NIGHT2), seen_at=NIGHT2, search_key=KEY
    )
    identities = {r["listing_id"]: r["identity"] for r in db.query("SELECT * FROM listings")}
    assert identities == {"100": "craigslist:100", "200": "craigslist:100"}


@pytest.mark.parametrize(
    ("reason", "stats", "items", "recent", "expected"),
    [
        ("finished", {}, 40, [42, 40, 41], RunVerdict(True, True, "ok")),
        ("finished", {}, 40, [], RunVerdict(True, True, "ok")),
        (
            "blocked",
            {"keitrucks/blocked": "http_403"},
            3,
            [40],
            RunVerdict(False, False, "finished as 'blocked'"),
        ),
        (
            "finished",
            {"keitrucks/blocked": "http_429"},
            3,
            [40],
            RunVerdict(False, False, "blocked"),
        ),
        ("finished", {}, 0, [40], RunVerdict(True, False, "no listings")),
        (
            "finished",
            {},
            12,
            [40, 42, 41],
            RunVerdict(True, False, "12 listings, recent median 41"),
        ),
        (
            "finished",
            {"keitrucks/request_failed": 1},
            40,
            [40],
            RunVerdict(False, False, "requests failed"),
        ),
        (
            "finished",
            {"spider_exceptions/count": 2},
            40,
            [40],
            RunVerdict(False, False, "parser exceptions"),
        ),
        (
            "finished",
            {"keitrucks/empty_page": 1},
            40,
            [40],
            RunVerdict(False, False, "page with no listings (layout change?)"),
        ),
        (
            "budget_exhausted",
            {"keitrucks/budget_exhausted": 1},
            40,
            [40],
            RunVerdict(False, False, "finished as 'budget_exhausted'"),
        ),
        ("shutdown", {}, 40, [40], RunVerdict(False, False, "finished as 'shutdown'")),
    ],
    ids=[
        "healthy",
        "first-run",
        "closed-blocked",
        "blocked-stat",
        "empty",
        "suspiciously-small",
        "failed-request",
        "parser-exception",
        "layout-change",
        "budget",
        "ctrl-c",
    ],
)
def test_judge_run(reason, stats, items, recent, expected):
    assert judge_run(reason, stats, items, recent) == expected


def test_a_new_run_marks_a_run_left_running_as_abandoned(db):
    killed = run(db)
    save_listings(db, [truck("1")], run_id=killed, seen_at=NIGHT1, search_key=KEY)
    nxt = run(db, NIGHT2)
    rows = {r["id"]: r for r in db.query("SELECT * FROM runs")}
    assert rows[killed]["status"] == "abandoned"
    assert rows[killed]["complete"] == 0
    assert rows[nxt]["status"] == "running"


def test_finish_run_records_verdict_and_stats(db):
    r = run(db)
    finish_run(
        db,
        r,
        finished_at=NIGHT1,
        finish_reason="blocked",
        verdict=RunVerdict(False, False, "blocked"),
        stats={"keitrucks/blocked": "http_403", "downloader/request_count": 3},
        items=0,
        coverage={"price_usd": 0.0},
    )
    row = next(db.query("SELECT * FROM runs"))
    assert (row["status"], row["blocked_reason"], row["requests"], row["healthy"]) == (
        "blocked",
        "http_403",
        3,
        0,
    )


def test_read_known_listings(tmp_path, db):
    assert read_known_listings(tmp_path / "absent.db", "craigslist") == {}
    save_listings(db, [truck("1")], run_id=run(db), seen_at=NIGHT1, search_key=KEY)
    known = read_known_listings(db.conn.execute("PRAGMA database_list").fetchone()[2], "craigslist")
    assert known["1"]["price_raw"] == "$6500"


def test_a_batch_is_all_or_nothing(db):
    r1 = run(db)
    bad = truck("2")
    bad.attributes = {"x": object()}  # not JSON-serializable: the batch must fail whole
    with pytest.raises(TypeError):
        save_listings(db, [truck("1"), bad], run_id=r1, seen_at=NIGHT1, search_key=KEY)
    assert db["listings"].count == 0
    assert history(db) == []

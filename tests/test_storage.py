"""Storage: idempotent upserts, history only on change, gone only after healthy complete runs."""

from __future__ import annotations

import json
import sqlite3

import pytest
from click.testing import CliRunner

from keitrucks.cli import cli
from pipelines.landed import LandedCostPipeline
from pipelines.listings import (
    landed_deriver,
    mark_gone,
    read_known_listings,
    renormalize_listings,
    save_listings,
)
from pipelines.normalize import normalize_listing
from pipelines.run_health import (
    BLOCKED,
    FAILED,
    OK,
    UNHEALTHY,
    RunVerdict,
    judge_run,
    recorded_verdict,
)
from pipelines.runs import finish_run, start_run
from pipelines.schema import ADDED_COLUMNS, VIEWS, ensure_schema, open_db
from scrapers.items import RAW_FIELDS, Listing

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


def runs_with(*items: int) -> list[dict]:
    """Recent healthy runs as ``recent_healthy_runs`` returns them, newest first."""
    return [{"items": n, "coverage": None} for n in items]


@pytest.mark.parametrize(
    ("reason", "stats", "items", "recent", "expected"),
    [
        ("finished", {}, 40, [42, 40, 41], (OK, ())),
        ("finished", {}, 40, [], (OK, ())),
        ("blocked", {"keitrucks/blocked": "http_403"}, 3, [40], (BLOCKED, ("blocked (http_403)",))),
        (
            "finished",
            {"keitrucks/blocked": "http_429"},
            3,
            [40],
            (BLOCKED, ("blocked (http_429)",)),
        ),
        ("finished", {}, 0, [40], (UNHEALTHY, ("no listings",))),
        ("finished", {}, 12, [40, 42, 41], (UNHEALTHY, ("12 listings, recent median 41",))),
        (
            "finished",
            {"keitrucks/request_failed": 1},
            40,
            [40],
            (FAILED, ("incomplete (requests failed)",)),
        ),
        (
            "finished",
            {"spider_exceptions/count": 2},
            40,
            [40],
            (FAILED, ("incomplete (parser exceptions)",)),
        ),
        (
            "finished",
            {"keitrucks/empty_page": 1},
            40,
            [40],
            (FAILED, ("incomplete (page with no listings (layout change?))",)),
        ),
        (
            "budget_exhausted",
            {"keitrucks/budget_exhausted": 1},
            40,
            [40],
            (FAILED, ("did not finish (budget_exhausted)",)),
        ),
        ("shutdown", {}, 40, [40], (FAILED, ("did not finish (shutdown)",))),
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
def test_judge_run_on_what_the_pipeline_knows_when_the_crawl_closes(
    reason, stats, items, recent, expected
):
    facts = {"finish_reason": reason, "stats": stats, "items": items, "coverage": {}}
    verdict = judge_run(facts, runs_with(*recent))
    assert (verdict.status, verdict.reasons) == expected
    assert verdict.reason == ("; ".join(expected[1]) or "ok")
    assert verdict.complete == (expected[0] in (OK, UNHEALTHY))
    assert verdict.healthy == verdict.may_mark_gone == (expected[0] == OK)


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


def test_an_abandoned_run_records_a_failed_verdict(db):
    killed = run(db)
    run(db, NIGHT2)
    row = next(db.query("SELECT * FROM runs WHERE id = ?", [killed]))
    assert (row["health_status"], json.loads(row["health_reasons"])) == (
        FAILED,
        ["did not finish (killed)"],
    )
    assert recorded_verdict(row) == RunVerdict(
        False, False, "did not finish (killed)", FAILED, ("did not finish (killed)",)
    )


def test_finish_run_records_the_judged_verdict_for_others_to_read(db):
    r = run(db)
    facts = {"finish_reason": "finished", "stats": {}, "items": 3, "coverage": {}}
    verdict = judge_run(facts, runs_with(40, 42))
    finish_run(
        db,
        r,
        finished_at=NIGHT1,
        finish_reason="finished",
        verdict=verdict,
        stats={},
        items=3,
        coverage={},
    )
    row = next(db.query("SELECT * FROM runs"))
    assert (row["complete"], row["healthy"], row["health_status"]) == (1, 0, UNHEALTHY)
    assert json.loads(row["health_reasons"]) == ["3 listings, recent median 41"]
    assert recorded_verdict(row) == verdict


def test_an_older_database_gains_the_missing_columns_and_the_views(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE listings (source TEXT, listing_id TEXT, url TEXT, title TEXT, "
        "PRIMARY KEY (source, listing_id));"
        "CREATE TABLE runs (id INTEGER PRIMARY KEY, source TEXT NOT NULL, search_key TEXT, "
        "as_of TEXT, started_at TEXT NOT NULL, finished_at TEXT, status TEXT NOT NULL, "
        "finish_reason TEXT, complete INTEGER, healthy INTEGER, health_reason TEXT, items INTEGER,"
        " drops INTEGER, errors INTEGER, requests INTEGER, blocked_reason TEXT, gone_marked "
        "INTEGER, coverage TEXT, stats TEXT, pid INTEGER);"
        "CREATE TABLE price_history (id INTEGER PRIMARY KEY, source TEXT NOT NULL, listing_id "
        "TEXT NOT NULL, run_id INTEGER, observed_at TEXT NOT NULL, event TEXT NOT NULL, price "
        "INTEGER, currency TEXT, price_usd INTEGER, price_basis TEXT, status TEXT);"
        "INSERT INTO listings VALUES ('craigslist', 'old', 'https://x.test/old', 'Carry');"
    )
    conn.close()
    for _ in range(2):  # idempotent
        db = open_db(path)
        for table, columns in ADDED_COLUMNS.items():
            assert set(columns) <= set(db[table].columns_dict), table
        assert set(VIEWS) <= set(db.view_names())
        assert next(db.query("SELECT title, cab FROM listings")) == {"title": "Carry", "cab": None}
        db.close()


def test_a_jumbo_cab_is_stored(db):
    save_listings(db, [truck("1", cab="jumbo")], run_id=run(db), seen_at=NIGHT1, search_key=KEY)
    assert next(db.query("SELECT cab FROM listings"))["cab"] == "jumbo"


def exporter_truck() -> dict:
    """A BE FORWARD listing as the crawl stores it: raw, normalized, then landed."""
    raw = dict(
        source="beforward",
        listing_id="BF1",
        url="https://example.test/BF1",
        scraped_at=NIGHT1,
        title="1996 Honda Acty Truck 4WD",
        price_raw="US$3,100",
        price_basis="fob",
        year_raw="1996",
        make_model_raw="Honda Acty",
    )
    item = {**raw, **normalize_listing(raw)}
    return LandedCostPipeline(config={}).process_item(item)


def stored_landed(db) -> int | None:
    return next(db.query("SELECT landed_usd FROM listings"))["landed_usd"]


def test_renormalize_keeps_the_landed_cost_of_exporter_listings(db):
    item = exporter_truck()
    assert item["landed_usd"] is not None
    save_listings(db, [item], run_id=run(db), seen_at=NIGHT1, search_key=KEY)
    dearer = {"landed": {"ocean_freight_usd": 5000}}
    expected = LandedCostPipeline(config=dearer).process_item(dict(item))["landed_usd"]
    assert expected != item["landed_usd"]

    renormalize_listings(db, normalize_listing)  # no deriver: derived fields left untouched
    assert stored_landed(db) == item["landed_usd"]
    renormalize_listings(db, normalize_listing, derive=landed_deriver())
    assert stored_landed(db) == item["landed_usd"]
    renormalize_listings(db, normalize_listing, derive=landed_deriver(dearer))
    assert stored_landed(db) == expected


def test_renormalize_rewrites_exactly_the_normalized_fields(db):
    save_listings(db, [truck("1", cab="jumbo", year=1990)], run_id=run(db), seen_at=NIGHT1)
    seen = []

    def normalize(raw):
        seen.append(set(raw))
        return {"year": 1996, "cab": None, "title": "not a normalized field"}

    assert renormalize_listings(db, normalize) == 1
    row = next(db.query("SELECT year, cab, title, price_raw, status FROM listings"))
    assert row == {
        "year": 1996,
        "cab": None,
        "title": "1996 Suzuki Carry 1",
        "price_raw": "$6500",
        "status": None,  # the normalizer gave none; stored status is a normalized field too
    }
    assert seen == [{"source", "listing_id", "url", "scraped_at", *RAW_FIELDS}]


def test_the_renormalize_command_keeps_exporter_landed_costs(tmp_path):
    path = tmp_path / "k.db"
    database = open_db(path)
    item = exporter_truck()
    save_listings(database, [item], run_id=run(database), seen_at=NIGHT1, search_key=KEY)
    database.close()
    result = CliRunner().invoke(cli, ["renormalize", "--db", str(path)], obj={})
    assert result.exit_code == 0, result.output
    database = open_db(path)
    assert stored_landed(database) == item["landed_usd"] is not None
    database.close()


def _open_many(path, times):
    from pipelines.schema import open_db as opener

    for _ in range(times):
        opener(path).close()


def test_processes_opening_one_database_at_once_never_trip_over_each_other(tmp_path):
    """Two crawls of a night open the database together: a schema check that dropped and
    re-created the views on every open failed one of them ("view ... already exists")."""
    import multiprocessing

    path = tmp_path / "k.db"
    procs = [multiprocessing.Process(target=_open_many, args=(path, 10)) for _ in range(4)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
    assert [proc.exitcode for proc in procs] == [0, 0, 0, 0]
    db = open_db(path)
    assert db["state_rules"].count == 51
    assert {v for v in db.view_names()} >= {"active_trucks", "underpriced_4wd"}


def storage_of(db_path, source: str):
    """A storage pipeline of one crawl of ``source`` into ``db_path``, not yet opened."""
    from types import SimpleNamespace

    from scrapy.settings import Settings
    from scrapy.signalmanager import SignalManager
    from scrapy.statscollectors import StatsCollector

    from keitrucks.core.config import load_config
    from pipelines.storage import SQLitePipeline

    crawler = SimpleNamespace(settings=Settings({"KEITRUCKS_DB_PATH": str(db_path)}))
    crawler.signals = SignalManager(crawler)
    crawler.stats = StatsCollector(crawler)
    crawler.spider = SimpleNamespace(
        name=source, search_key=KEY, scraped_at=NIGHT1, config=load_config(None)
    )
    return SQLitePipeline(crawler)


def test_one_crawl_of_a_source_writes_at_a_time(tmp_path):
    """Two crawls of one source at once (a `keitrucks crawl` beside the night, a crawl left
    behind by a killed night) each took the listings the other saw last for gone: 52 trucks
    on sale marked gone in one run. The second now refuses before it writes anything."""
    from pipelines.storage import SourceBusyError

    path = tmp_path / "t.db"
    first = storage_of(path, "craigslist")
    first.open_spider()
    with pytest.raises(SourceBusyError, match=r"another crawl of craigslist .*\(pid \d+"):
        storage_of(path, "craigslist").open_spider()
    other_source = storage_of(path, "ebay")
    other_source.open_spider()  # another source crawls alongside
    first.spider_closed(first.spider, "finished")
    again = storage_of(path, "craigslist")
    again.open_spider()  # free once the first ended
    for crawl in (other_source, again):
        crawl.spider_closed(crawl.spider, "finished")
    database = open_db(path)
    try:
        started = [r["source"] for r in database.query("SELECT source FROM runs ORDER BY id")]
    finally:
        database.close()
    assert started == ["craigslist", "ebay", "craigslist"]

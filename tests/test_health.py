"""Source health rules, table-driven.

The cases are the ways a nightly source goes wrong in practice: a block page, a crawl killed
or stopped part-way, a search that suddenly returns a handful of listings, a layout change that
leaves titles but loses years or 4WD, and a source that stays broken night after night.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlite_utils import Database

from keitrucks.core.config import ConfigError
from keitrucks.health import (
    OK,
    STATE_DEAD,
    STATE_FAILING,
    STATE_NEVER,
    STATE_OK,
    UNHEALTHY,
    HealthRules,
    assess_history,
    assess_run,
    check_health,
)
from keitrucks.health_cli import health
from pipelines.run_health import BLOCKED, FAILED, judge_run
from pipelines.runs import finish_run, recent_healthy_runs, start_run
from pipelines.schema import ensure_schema
from tests.conftest import rows

COVERAGE = {"price_usd": 1.0, "year": 0.95, "model": 0.95, "is_4wd": 0.9, "mileage_mi": 0.8}


def run(id_=10, night="2026-11-24", **changes):
    """A runs row as storage writes it: a finished, complete, healthy run by default."""
    base = {
        "id": id_,
        "source": "beforward",
        "search_key": "beforward:abc",
        "as_of": f"{night}T06:00:00+00:00",
        "started_at": f"{night}T06:00:01+00:00",
        "status": "finished",
        "finish_reason": "finished",
        "complete": 1,
        "healthy": 1,
        "health_reason": "ok",
        "items": 40,
        "blocked_reason": None,
        "coverage": json.dumps(COVERAGE),
    }
    return {**base, **changes}


RECENT = [run(9, items=42), run(8, items=38), run(7, items=40)]


def cov(**changes):
    return json.dumps({**COVERAGE, **changes})


RUN_CASES = [
    ("ok", run(), RECENT, OK, []),
    ("first run has no median", run(items=3), [], OK, []),
    ("exactly half the median is enough", run(items=20), RECENT, OK, []),
    ("too few listings", run(items=15), RECENT, UNHEALTHY, ["15 listings, recent median 40"]),
    (
        "no listings",
        run(items=0, healthy=0, health_reason="no listings"),
        RECENT,
        UNHEALTHY,
        ["no listings"],
    ),
    (
        "blocked",
        run(
            status="blocked",
            finish_reason="blocked",
            complete=0,
            healthy=0,
            blocked_reason="http 403",
        ),
        RECENT,
        BLOCKED,
        ["blocked (http 403)"],
    ),
    (
        "killed",
        run(
            status="abandoned", finish_reason="killed: timed out after 1800s", complete=0, healthy=0
        ),
        RECENT,
        FAILED,
        ["did not finish (killed: timed out after 1800s)"],
    ),
    (
        "stopped by SIGTERM",
        run(status="failed", finish_reason="shutdown", complete=0, healthy=0),
        RECENT,
        FAILED,
        ["did not finish (shutdown)"],
    ),
    (
        "part of the search failed",
        run(complete=0, healthy=0, health_reason="requests failed"),
        RECENT,
        FAILED,
        ["incomplete (requests failed)"],
    ),
    (
        "year coverage fell",
        run(coverage=cov(year=0.3)),
        RECENT,
        UNHEALTHY,
        ["field coverage fell: year 95% -> 30%"],
    ),
    (
        "4WD and price coverage fell",
        run(coverage=cov(is_4wd=0.1, price_usd=0.5)),
        RECENT,
        UNHEALTHY,
        ["field coverage fell: price_usd 100% -> 50%, is_4wd 90% -> 10%"],
    ),
    ("a small dip is fine", run(coverage=cov(year=0.8)), RECENT, OK, []),
    ("fields not watched may fall", run(coverage=cov(mileage_mi=0.0)), RECENT, OK, []),
    ("no coverage recorded", run(coverage=None), RECENT, OK, []),
    (
        "few listings and lost coverage",
        run(items=10, coverage=cov(model=0.2)),
        RECENT,
        UNHEALTHY,
        ["10 listings, recent median 40", "field coverage fell: model 95% -> 20%"],
    ),
    (
        "the crawl's own verdict counts",
        run(healthy=0, health_reason="odd"),
        RECENT,
        UNHEALTHY,
        ["odd"],
    ),
]


@pytest.mark.parametrize(
    ("run_row", "recent", "status", "reasons"),
    [case[1:] for case in RUN_CASES],
    ids=[case[0] for case in RUN_CASES],
)
def test_assess_run(run_row, recent, status, reasons):
    verdict = assess_run(run_row, recent, HealthRules())
    assert (verdict.status, list(verdict.reasons)) == (status, reasons)


def test_thresholds_come_from_the_configuration():
    rules = HealthRules.from_config({"health": {"min_items_ratio": 0.9, "coverage_drop": 0.1}})
    assert assess_run(run(items=30), RECENT, rules).status == UNHEALTHY
    assert assess_run(run(coverage=cov(year=0.8)), RECENT, rules).status == UNHEALTHY
    assert assess_run(run(items=30), RECENT, HealthRules()).status == OK


@pytest.mark.parametrize(
    "table",
    [
        {"min_items_ratio": 2},
        {"coverage_drop": "a lot"},
        {"dead_after": 0},
        {"window": 1.5},
        {"dead_after": True},
        {"deadafter": 3},
    ],
)
def test_bad_health_settings_are_config_errors(table):
    with pytest.raises(ConfigError, match=r"\[health\]"):
        HealthRules.from_config({"health": table})


def _failed(id_, night):
    return run(id_, night, status="abandoned", finish_reason="killed", complete=0, healthy=0)


def _blocked(id_, night):
    return run(id_, night, status="blocked", complete=0, healthy=0, blocked_reason="http 429")


HISTORY_CASES = [
    ("all ok", [run(1, "2026-11-01"), run(2, "2026-11-02")], STATE_OK, 0),
    ("one bad night", [run(1, "2026-11-01"), _failed(2, "2026-11-02")], STATE_FAILING, 1),
    (
        "two bad nights",
        [run(1, "2026-11-01"), _failed(2, "2026-11-02"), _blocked(3, "2026-11-03")],
        STATE_FAILING,
        2,
    ),
    (
        "three bad nights is dead",
        [
            run(1, "2026-11-01"),
            _failed(2, "2026-11-02"),
            _blocked(3, "2026-11-03"),
            run(4, "2026-11-04", items=1),
        ],
        STATE_DEAD,
        3,
    ),
    (
        "recovered",
        [
            _failed(1, "2026-11-01"),
            _failed(2, "2026-11-02"),
            _failed(3, "2026-11-03"),
            run(4, "2026-11-04"),
        ],
        STATE_OK,
        0,
    ),
    (
        "a good re-run saves the night",
        [run(1, "2026-11-01"), _failed(2, "2026-11-02"), run(3, "2026-11-02")],
        STATE_OK,
        0,
    ),
    (
        "a run still going is not judged",
        [run(1, "2026-11-01"), run(2, "2026-11-02", status="running")],
        STATE_OK,
        0,
    ),
]


@pytest.mark.parametrize(
    ("runs", "state", "failed_nights"),
    [case[1:] for case in HISTORY_CASES],
    ids=[case[0] for case in HISTORY_CASES],
)
def test_assess_history(runs, state, failed_nights):
    latest = assess_history(runs, HealthRules())[-1]
    assert (latest.state, latest.failed_nights) == (state, failed_nights)


@pytest.mark.parametrize(
    ("again_started_at", "judged", "marks"),
    [
        # an ingest killed halfway, then the same job's feed ingested again: one crawl
        ("2026-11-02T05:40:00+00:00", [1, 3], ".."),
        # a crawl killed, then crawled again: two crawls, the first failed
        ("2026-11-02T07:15:00+00:00", [1, 2, 3], ".F."),
    ],
)
def test_a_crawl_stored_again_is_listed_once(again_started_at, judged, marks):
    feed_started = "2026-11-02T05:40:00+00:00"
    runs = [
        run(1, "2026-11-01"),
        run(
            2,
            "2026-11-02",
            status="abandoned",
            finish_reason="killed",
            complete=0,
            healthy=0,
            items=0,
            started_at=feed_started,
        ),
        run(3, "2026-11-02", started_at=again_started_at),
    ]
    verdicts = assess_history(runs, HealthRules())
    assert [v.run_id for v in verdicts] == judged
    assert "".join("." if v.ok else "F" for v in verdicts) == marks
    assert verdicts[-1].state == STATE_OK


def test_a_failing_source_says_since_when():
    runs = [run(1, "2026-11-01"), _failed(2, "2026-11-02"), _blocked(3, "2026-11-03")]
    latest = assess_history(runs, HealthRules())[-1]
    assert latest.since == "2026-11-02"
    assert latest.line == "blocked since 2026-11-02 (2 night(s) in a row): blocked (http 429)"
    assert assess_history(runs[:1], HealthRules())[-1].since is None


#: (status, reasons, words the advice must hold): a blocked source was told "fix its spider".
ADVICE_CASES = [
    ("blocked", ["blocked (challenge_page)"], "not a broken spider"),
    ("blocked", ["blocked (http 429)"], "home or office connection"),
    # an empty 200 page: no refusal, maybe a new layout
    ("blocked", ["blocked (missing_anchor)"], "keitrucks parse ebay page.html"),
    ("blocked", ["blocked (html_instead_of_json)"], "without its usual markup"),
    ("failed", ["did not finish (shutdown)"], "keitrucks crawl --source ebay"),
    ("failed", ["did not finish (killed: timed out after 1800s)"], "crawl_timeout_minutes"),
    ("failed", ["did not finish (killed by signal 9)"], "died before it ended"),
    ("failed", ["did not finish (its ingest stopped (KeyboardInterrupt))"], "keitrucks ingest"),
    ("failed", ["did not finish (its ingest stopped (killed))"], "keitrucks ingest"),
    # a job killed on its Scrapyd host: its log is there, not "beside the database"
    (
        "failed",
        ["did not finish (the job stopped before it finished: no run record in its feed)"],
        "log on its Scrapyd server",
    ),
    ("failed", ["incomplete (page with no listings (layout change?))"], "keitrucks parse ebay"),
    ("failed", ["incomplete (HTTP errors)"], "crawl's log"),
    ("unhealthy", ["field coverage fell: year 90% -> 10%"], "fewer fields"),
    ("unhealthy", ["3 listings, recent median 40"], "fewer listings than usual"),
    ("ok", [], ""),
]


@pytest.mark.parametrize(("status", "reasons", "words"), ADVICE_CASES)
def test_a_source_that_is_not_ok_says_what_to_do(status, reasons, words):
    from keitrucks.health import advice_for

    advice = advice_for("ebay", status, reasons)
    assert words in advice
    assert bool(advice) == (status != "ok")
    assert "fix its spider" not in advice


def test_unhealthy_runs_do_not_drag_the_baseline_down():
    runs = [
        run(1, "2026-11-01"),
        run(2, "2026-11-02"),
        run(3, "2026-11-03", items=5),
        run(4, "2026-11-04", items=6),
        run(5, "2026-11-05", items=5),
    ]
    judged = assess_history(runs, HealthRules())
    assert [v.status for v in judged] == [OK, OK, UNHEALTHY, UNHEALTHY, UNHEALTHY]
    assert judged[-1].median_items == 40
    assert judged[-1].state == STATE_DEAD


def test_the_baseline_is_per_search():
    runs = [run(1, "2026-11-01"), run(2, "2026-11-02", items=5, search_key="beforward:other")]
    assert assess_history(runs, HealthRules())[-1].status == OK


# -- the pipeline hook and the stored verdicts --------------------------------------------------


def _db_with_runs(path, specs):
    """A database whose runs table holds ``specs`` [(night, items, coverage, reason)], written
    through storage's own run API."""
    db = Database(path)
    ensure_schema(db)
    for night, items, coverage, reason in specs:
        run_id = start_run(
            db,
            "beforward",
            search_key="beforward:abc",
            as_of=f"{night}T06:00:00+00:00",
            started_at=f"{night}T06:00:01+00:00",
        )
        facts = {"finish_reason": reason, "items": items, "coverage": coverage}
        verdict = judge_run(facts, recent_healthy_runs(db, "beforward", "beforward:abc"))
        finish_run(
            db,
            run_id,
            finished_at=f"{night}T06:10:00+00:00",
            finish_reason=reason,
            verdict=verdict,
            stats={},
            items=items,
            coverage=coverage,
        )
    return db


def test_a_run_that_lost_coverage_may_not_mark_anything_gone(tmp_path):
    db = _db_with_runs(tmp_path / "k.db", [("2026-11-01", 40, COVERAGE, "finished")] * 3)
    recent = recent_healthy_runs(db, "beforward", "beforward:abc")
    facts = {"finish_reason": "finished", "items": 40, "coverage": COVERAGE}
    assert judge_run(facts, recent).may_mark_gone
    lost = judge_run({**facts, "coverage": {**COVERAGE, "year": 0.1}}, recent)
    assert (lost.complete, lost.may_mark_gone) == (True, False)
    assert lost.reasons == ("field coverage fell: year 95% -> 10%",)


@pytest.mark.parametrize("case", RUN_CASES, ids=[case[0] for case in RUN_CASES])
def test_the_recorded_verdict_is_read_not_judged_again(case):
    _, row, recent, status, reasons = case
    judged = assess_run(row, recent, HealthRules())
    # what the crawl recorded wins, even where the rules would now say otherwise
    recorded = {**row, "health_status": BLOCKED, "health_reasons": '["recorded"]'}
    assert assess_run(recorded, recent, HealthRules()).status == BLOCKED
    assert assess_run(recorded, recent, HealthRules()).reasons == ("recorded",)
    assert (judged.status, list(judged.reasons)) == (status, reasons)


def test_check_health_records_one_row_per_run_and_is_idempotent(tmp_path):
    path = tmp_path / "k.db"
    _db_with_runs(
        path, [("2026-11-01", 40, COVERAGE, "finished"), ("2026-11-02", 0, {}, "shutdown")]
    ).close()
    for _ in range(2):
        states = check_health(
            path,
            ["beforward", "craigslist"],
            rules=HealthRules(),
            checked_at="2026-11-02T07:00:00+00:00",
        )
    assert [(s.source, s.state) for s in states] == [
        ("beforward", STATE_FAILING),
        ("craigslist", STATE_NEVER),
    ]
    stored = rows(path, "SELECT run_id, status, state, failed_nights, reasons FROM source_health")
    assert stored == [
        {"run_id": 1, "status": "ok", "state": "ok", "failed_nights": 0, "reasons": "[]"},
        {
            "run_id": 2,
            "status": "failed",
            "state": "failing",
            "failed_nights": 1,
            "reasons": '["did not finish (shutdown)"]',
        },
    ]
    db = Database(path)
    ensure_schema(db)  # idempotent on an existing table
    assert db["source_health"].count == 2


def test_the_health_command_prints_a_table_and_can_fail_a_probe(tmp_path):
    path = tmp_path / "k.db"
    specs = [("2026-11-01", 40, COVERAGE, "finished")] + [
        (f"2026-11-0{n}", 0, {}, "shutdown") for n in (2, 3, 4)
    ]
    _db_with_runs(path, specs).close()
    result = CliRunner().invoke(health, ["--db", str(path)], obj={})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:6] == ["source", "state", "last", "night", "status", "items"]
    beforward = next(line for line in lines if line.startswith("beforward"))
    assert beforward.split()[:5] == ["beforward", "dead", "2026-11-04", "failed", "0"]
    assert ".FFF" in beforward
    assert "did not finish (shutdown)" in beforward
    assert any(line.startswith("craigslist") and "never run" in line for line in lines)
    # under the table: since when, and what to do
    assert "beforward: DEAD since 2026-11-02 (3 nights without a healthy run)" in result.output
    assert "  what to do: the crawl was stopped before it ended" in result.output
    assert Database(path)["source_health"].count == 0  # reading only, unless --record

    probe = CliRunner().invoke(health, ["--db", str(path), "--check", "--record"], obj={})
    assert probe.exit_code == 1
    assert "not healthy: " in probe.output
    assert "beforward" in probe.output
    assert Database(path)["source_health"].count == 4


def test_the_health_command_needs_a_database(tmp_path):
    result = CliRunner().invoke(health, ["--db", str(tmp_path / "none.db")], obj={})
    assert result.exit_code == 4  # a database problem
    assert "no database at" in result.output


@pytest.mark.parametrize(
    ("error", "args", "words"),
    [
        # a read-only folder: WAL cannot make its -shm, even to read
        ("unable to open database file", [], "cannot open {db}: unable to open database file"),
        ("attempt to write a readonly database", ["--record"], "--record writes the verdicts"),
        ("file is not a database", [], "{db} is not a tracker database (file is not a database)"),
    ],
)
def test_a_database_health_cannot_open_says_why(tmp_path, monkeypatch, error, args, words):
    """A read-only demo database read 'is not a tracker database'."""
    import sqlite3

    import keitrucks.health

    path = tmp_path / "k.db"
    _db_with_runs(path, [("2026-11-01", 40, COVERAGE, "finished")]).close()

    def cannot(*a, **k):
        raise sqlite3.OperationalError(error)

    monkeypatch.setattr(keitrucks.health, "check_health", cannot)
    result = CliRunner().invoke(health, ["--db", str(path), *args], obj={})
    assert result.exit_code == 4
    assert words.format(db=path) in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_night_killed_with_its_crawls_shows_as_failed(tmp_path):
    """A night killed whole (the power cut, `kill -9` of its process group) left its crawls'
    runs 'running': health went on saying the source was ok on the night before, and only the
    source's next run recorded them abandoned. A running run whose source no crawl holds is
    shown as failed; one whose crawl still runs is not judged yet."""
    from pipelines.storage import source_lock

    path = tmp_path / "k.db"
    db = _db_with_runs(path, [("2026-11-01", 40, COVERAGE, "finished")])
    start_run(db, "beforward", search_key="beforward:abc", as_of=NIGHTS_3, started_at=NIGHTS_3)
    db.close()
    crawling = source_lock(path, "beforward")  # a crawl of beforward is still writing
    try:
        (still,) = check_health(path, ["beforward"], rules=HealthRules(), checked_at=NIGHTS_3)
    finally:
        crawling.close()
    assert (still.state, still.latest.night) == (STATE_OK, "2026-11-01")
    (dead,) = check_health(path, ["beforward"], rules=HealthRules(), checked_at=NIGHTS_3)
    assert (dead.state, dead.latest.night, dead.latest.status) == (
        STATE_FAILING,
        "2026-11-03",
        FAILED,
    )
    assert dead.latest.reasons == ("did not finish (killed: its crawl is gone)",)
    assert "run it again" in dead.latest.advice
    assert rows(path, "SELECT status FROM runs ORDER BY id")[-1]["status"] == "running"


NIGHTS_3 = "2026-11-03T06:00:00+00:00"


def test_the_night_s_log_says_what_to_do_about_a_failing_source(tmp_path, caplog):
    path = tmp_path / "k.db"
    specs = [("2026-11-01", 40, COVERAGE, "finished"), ("2026-11-02", 10, COVERAGE, "shutdown")]
    _db_with_runs(path, specs).close()
    check_health(path, ["beforward"], rules=HealthRules(), checked_at=NIGHTS_3)
    (warning,) = [r.getMessage() for r in caplog.records if r.name == "keitrucks.health"]
    assert warning.startswith("beforward: failed since 2026-11-02 (1 night(s) in a row)")
    assert "; what to do: the crawl was stopped before it ended" in warning

"""A whole night as the scheduler runs it: crawl, report, health, alerts, in that order.

Against the sample marketplace: ``scheduler.py --once`` runs a full night; a crawl over its
time is stopped and recorded as failed with nothing gone; one source failing, or one step
failing, never stops the rest.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import scheduler
from keitrucks import night as night_module
from keitrucks.cli import cli
from keitrucks.core.config import enabled_sources, load_config
from keitrucks.crawl import CrawlResult
from keitrucks.health import HealthRules, check_health
from keitrucks.night import (
    crawl_sources,
    describe,
    lock_path,
    night_lock,
    prune_logs,
    run_night,
)
from keitrucks.sample.catalog import NIGHTS, build_catalog, listings_on
from pipelines.runs import abandon_run, start_run
from pipelines.schema import open_db
from tests.conftest import TESTS_DIR, rows

CATALOG = build_catalog()
MAIN_SOURCES = ("craigslist", "bringatrailer", "beforward")


@pytest.mark.slow
def test_once_runs_a_full_night_on_the_sample_marketplace(tmp_path, sample_server):
    db, out, log = tmp_path / "k.db", tmp_path / "reports", tmp_path / "scheduler.log"
    sources = enabled_sources(load_config(None))
    assert set(MAIN_SOURCES) <= set(sources)
    code = scheduler.main(
        [
            "--once",
            "--db",
            str(db),
            "--out",
            str(out),
            "--base-url",
            sample_server.base_url,
            "--as-of",
            NIGHTS[0],
            "--log-file",
            str(log),
        ]
    )
    text = log.read_text()
    assert code == 0, text

    for source in sources:
        stored = rows(db, "SELECT listing_id, title FROM listings WHERE source = ?", [source])
        expected = {(t.listing_id, t.title) for t in listings_on(CATALOG, source, 0)}
        assert expected, source
        assert {(r["listing_id"], r["title"]) for r in stored} == expected, source
    runs = rows(db, "SELECT source, healthy, complete FROM runs ORDER BY source")
    assert [(r["source"], r["healthy"], r["complete"]) for r in runs] == [
        (s, 1, 1) for s in sorted(sources)
    ]
    health = rows(db, "SELECT source, status, state FROM source_health ORDER BY source")
    assert health == [{"source": s, "status": "ok", "state": "ok"} for s in sorted(sources)]
    assert (out / NIGHTS[0] / "report.html").is_file()
    assert (out / NIGHTS[0] / f"alerts-{NIGHTS[0]}.md").is_file()

    # crawl -> report -> health -> alerts, and the night says how it ended
    order = [
        text.index(marker)
        for marker in (
            f"crawl {sources[0]}: ok",
            f"report for {NIGHTS[0]}",
            f"health {sources[0]}",
            f"alerts {NIGHTS[0]}:",
            "ends: all sources ok",
        )
    ]
    assert order == sorted(order)
    with night_lock(lock_path(db)):  # released
        pass


#: Long enough for a crawl process to start and reach the stalled pages on a loaded machine
#: (its start alone took over 6 s at a load average of 14), short next to the server's stall.
CRAWL_TIMEOUT = 20


def _crawl_once_then_slow(db: Path, server, **kw):
    """Night 1 of BE FORWARD crawled cleanly; night 2 crawled from a server that stalls. Both
    watched as a terminal would (``on_counts``): {} at the start, the counts as they change,
    None at the end, whether the crawl ended well or was stopped."""
    seen: list = []
    (first,) = crawl_sources(
        db,
        ["beforward"],
        as_of=NIGHTS[0],
        base_url=server.base_url,
        timeout=120,
        on_counts=lambda source, counts: seen.append((source, counts)),
    )
    assert first.ok, first.line
    assert seen[0] == ("beforward", {})
    assert seen[-1] == ("beforward", None)
    last = seen[-2][1]  # the crawl's final write, read once the process ended
    assert (last["finished"], last["items"]) == (True, first.run["items"])
    assert last["pages"] > 0
    seen.clear()
    server.night = 2
    server.slow_after = (len(server.requests) + 3, 60.0)
    started = time.monotonic()
    # Stalled requests give up after 3 s: a clean shutdown is quick.
    (second,) = crawl_sources(
        db,
        ["beforward"],
        as_of=NIGHTS[1],
        base_url=server.base_url,
        log_dir=db.parent / "logs",
        # A stalled request times out after 3 s and is retried until the crawl's own timeout
        # stops it, so the crawl is still running then however long its start took.
        settings={"DOWNLOAD_TIMEOUT": "3", "RETRY_TIMES": "100"},
        on_counts=lambda source, counts: seen.append((source, counts)),
        **kw,
    )
    server.slow_after = None
    assert (seen[0], seen[-1]) == (("beforward", {}), ("beforward", None))
    return first, second, time.monotonic() - started


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kill_grace", "status", "reason"),
    [(0, "abandoned", f"killed: timed out after {CRAWL_TIMEOUT}s"), (40, "failed", "shutdown")],
    ids=["sigkill", "sigterm-then-clean-shutdown"],
)
def test_a_crawl_over_its_time_is_stopped_recorded_as_failed_and_marks_nothing_gone(
    tmp_path, sample_server, kill_grace, status, reason
):
    db = tmp_path / "k.db"
    first, second, took = _crawl_once_then_slow(
        db, sample_server, timeout=CRAWL_TIMEOUT, kill_grace=kill_grace
    )
    assert took < CRAWL_TIMEOUT + min(kill_grace, 3) + 30
    assert not second.ok
    assert f"timed out after {CRAWL_TIMEOUT}s" in second.line
    assert "nothing marked gone" in second.line

    runs = rows(db, "SELECT * FROM runs ORDER BY id")
    killed = runs[-1]
    assert (killed["status"], killed["finish_reason"]) == (status, reason)
    assert (killed["complete"], killed["healthy"], killed["gone_marked"]) == (0, 0, 0)
    assert killed["finished_at"] is not None
    assert rows(db, "SELECT count(*) AS n FROM price_history WHERE event = 'gone'")[0]["n"] == 0
    active = rows(db, "SELECT count(*) AS n FROM listings WHERE status = 'active'")[0]["n"]
    assert active >= first.run["items"]
    assert rows(db, "PRAGMA integrity_check")[0]["integrity_check"] == "ok"
    (state,) = check_health(db, ["beforward"], rules=HealthRules(), checked_at="now")
    assert (state.latest.status, state.state) == ("failed", "failing")


@pytest.mark.slow
def test_one_source_failing_never_stops_the_others(tmp_path, sample_server):
    db = tmp_path / "k.db"
    lines = []
    result = run_night(
        db,
        tmp_path / "r",
        config=load_config(None),
        sources=["no_such_source", "beforward"],
        as_of=NIGHTS[0],
        base_url=sample_server.base_url,
        echo=lines.append,
    )
    broken, fine = result.outcomes
    assert not broken.ok
    assert broken.line.startswith("did not start: ")
    assert "no_such_source" in broken.line
    assert fine.ok
    assert fine.line.startswith("ok: ")
    assert not result.ok
    assert result.errors == {}
    assert result.report_folder is not None
    assert result.report_folder.is_dir()
    assert result.alerts is not None
    states = {h.source: h.state for h in result.health}
    assert states == {"no_such_source": "never run", "beforward": "ok"}
    assert "health beforward      ok" in lines


@pytest.mark.slow
def _crawl_started(db) -> bool:
    """A crawl has recorded its run (the database may exist before its tables do)."""
    try:
        return db.exists() and bool(rows(db, "SELECT pid FROM runs"))
    except sqlite3.OperationalError:  # another process is still creating the tables
        return False


def test_sigterm_stops_the_night_and_leaves_no_crawl_behind(tmp_path, sample_server):
    db, log = tmp_path / "k.db", tmp_path / "scheduler.log"
    sample_server.slow_after = (3, 3.0)  # a slow site: the crawl is still going when stopped
    cmd = [
        sys.executable,
        "scheduler.py",
        "--once",
        "--db",
        str(db),
        "--out",
        str(tmp_path / "r"),
        "--base-url",
        sample_server.base_url,
        "--as-of",
        NIGHTS[0],
        "--log-file",
        str(log),
    ]
    night = subprocess.Popen(
        cmd, cwd=TESTS_DIR.parent, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while not _crawl_started(db):
            assert night.poll() is None, "the night ended before it could be stopped"
            assert time.monotonic() < deadline, "no crawl started"
            time.sleep(0.2)
        night.send_signal(signal.SIGTERM)  # to the night only, as `kill` would
        assert night.wait(60) == 143
    finally:
        if night.poll() is None:
            night.kill()
    crawls = rows(db, "SELECT pid, status, finish_reason, complete, gone_marked FROM runs")
    assert 1 <= len(crawls) <= night_module.DEFAULT_PARALLEL
    for crawl in crawls:
        with pytest.raises(ProcessLookupError):
            os.kill(crawl["pid"], 0)
        # a crawl that had finished starting shuts down cleanly; one caught while still
        # starting never reaches its close and is recorded as abandoned: neither completes
        assert crawl["status"] in ("failed", "abandoned"), crawl
        assert crawl["finish_reason"] == "shutdown" or crawl["status"] == "abandoned", crawl
        assert (crawl["complete"], crawl["gone_marked"]) == (0, 0)
    assert "SIGTERM: stopping the night" in log.read_text()
    with night_lock(lock_path(db)):
        pass


def test_a_broken_step_does_not_stop_the_steps_after_it(tmp_path, monkeypatch):
    import analysis.report

    db = tmp_path / "k.db"
    open_db(db).close()
    monkeypatch.setattr(night_module, "crawl_sources", lambda *a, **k: [])

    def broken_report(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(analysis.report, "write_report", broken_report)
    lines = []
    result = run_night(
        db,
        tmp_path / "r",
        config=load_config(None),
        sources=["beforward"],
        as_of=NIGHTS[0],
        echo=lines.append,
    )
    assert result.errors == {"report": "OSError: disk full"}
    assert result.alerts is not None  # the alerts still ran
    assert [h.state for h in result.health] == ["never run"]  # and the health check
    assert not result.ok
    assert "report FAILED: OSError: disk full" in lines


def test_the_night_records_source_health_before_it_raises_alerts(tmp_path, monkeypatch):
    import analysis.alerts

    db = tmp_path / "k.db"
    database = open_db(db)
    run_id = start_run(database, "beforward", search_key="k", as_of=NIGHTS[0], started_at=NIGHTS[0])
    database.close()
    abandon_run(db, run_id, "killed")
    monkeypatch.setattr(night_module, "crawl_sources", lambda *a, **k: [])
    seen_by_alerts = []

    def alerts_reading_health(db_path, **kwargs):
        seen_by_alerts.extend(rows(db_path, "SELECT run_id, status FROM source_health"))

    monkeypatch.setattr(analysis.alerts, "run_alerts", alerts_reading_health)
    run_night(db, tmp_path / "r", config=load_config(None), sources=["beforward"], as_of=NIGHTS[0])
    assert seen_by_alerts == [{"run_id": run_id, "status": "failed"}]


def _result(**kw):
    return CrawlResult(
        **{"spider": "beforward", "returncode": 0, "log_path": None, "stderr_tail": "", **kw}
    )


RUN = {
    "status": "finished",
    "blocked_reason": None,
    "healthy": 1,
    "items": 3,
    "health_reason": "ok",
    "finish_reason": "finished",
    "gone_marked": 0,
    "stats": "{}",
}

BLOCK_AT = '{"keitrucks/blocked_url": "https://x.test/a"}'

DESCRIBE_CASES = [
    (
        "timed out before a run",
        _result(returncode=-9, timed_out=True, timeout=60.0),
        None,
        False,
        "did not start: timed out after 60s, before it recorded a run",
    ),
    (
        "crashed at start",
        _result(returncode=1, stderr_tail="Traceback\nKeyError: 'x'\n"),
        None,
        False,
        "did not start: KeyError: 'x'",
    ),
    (
        "another crawl of the source was writing",
        _result(
            returncode=1,
            stderr_tail="Traceback\npipelines.storage.SourceBusyError: another crawl of beforward"
            " is writing to this database (pid 7); this one stopped before it started\n",
        ),
        None,
        False,
        "did not start: another crawl of beforward is writing to this database (pid 7); this one"
        " stopped before it started",
    ),
    (
        "killed",
        _result(returncode=-9),
        {**RUN, "status": "abandoned"},
        False,
        "did not finish (killed); nothing marked gone",
    ),
    (
        "timed out and killed",
        _result(returncode=-9, timed_out=True, timeout=6.0),
        {**RUN, "status": "abandoned"},
        False,
        "did not finish (timed out after 6s); nothing marked gone",
    ),
    (
        "stopped cleanly after its time",
        _result(timed_out=True, timeout=6.0),
        {**RUN, "status": "failed", "healthy": 0, "finish_reason": "shutdown"},
        False,
        "failed: timed out after 6s; 3 listings kept, nothing marked gone",
    ),
    (
        "blocked",
        _result(),
        {**RUN, "status": "blocked", "healthy": 0, "blocked_reason": "http_429", "stats": BLOCK_AT},
        False,
        "blocked (http_429) at https://x.test/a; stopped the source, nothing marked gone",
    ),
    (
        # an empty 200 page read as a block: a new layout does the same
        "a page without its markup",
        _result(),
        {**RUN, "status": "blocked", "healthy": 0, "blocked_reason": "missing_anchor"}
        | {"stats": BLOCK_AT},
        False,
        "stopped at a page without its usual markup (missing_anchor: an empty or error page, "
        "or a new layout?) at https://x.test/a; nothing marked gone",
    ),
    ("ok", _result(), RUN, True, "ok: 3 listings"),
]


@pytest.mark.parametrize(
    ("crawl", "run", "ok", "line"),
    [c[1:] for c in DESCRIBE_CASES],
    ids=[c[0] for c in DESCRIBE_CASES],
)
def test_describe(crawl, run, ok, line):
    outcome = describe("beforward", crawl, run)
    assert (outcome.ok, outcome.line) == (ok, line)


def test_old_crawl_logs_are_pruned(tmp_path):
    now = time.time()
    old, new = tmp_path / "2026-01-01-beforward.log", tmp_path / "2026-03-01-beforward.log"
    other = tmp_path / "scheduler.log"
    for path in (old, new, other):
        path.write_text("x")
    os.utime(old, (now - 40 * 86400,) * 2)
    os.utime(other, (now - 400 * 86400,) * 2)
    assert prune_logs(tmp_path, keep_days=30, now=now) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [new.name, other.name]


def test_nightly_with_an_unreachable_scrapyd_says_so_and_crawls_nothing(tmp_path, refused_url):
    db = tmp_path / "k.db"
    result = CliRunner().invoke(
        cli, ["nightly", "--db", str(db), "--scrapyd", f"{refused_url}/"], obj={}
    )
    assert result.exit_code == 1
    assert f"Scrapyd at {refused_url}/ unreachable" in result.output
    assert not db.exists()

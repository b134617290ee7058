"""A night that goes wrong: a crawl killed mid-way, and no network at all.

Nothing may be lost or invented: the database stays consistent, the broken run is recorded as
not completed, and nothing is marked gone.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time

import pytest
from click.testing import CliRunner

from keitrucks.cli import cli
from keitrucks.crawl import crawl_command, crawl_env
from keitrucks.sample.catalog import NIGHTS
from tests.conftest import rows

pytestmark = pytest.mark.slow


def _count(db, sql) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=1) as conn:
            return conn.execute(sql).fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def test_a_crawl_killed_mid_way_leaves_a_consistent_database(tmp_path, sample_server, crawl):
    db = tmp_path / "k.db"
    assert crawl("beforward", sample_server, NIGHTS[0], db=db).returncode == 0
    first = rows(db, "SELECT count(*) AS n FROM listings WHERE status = 'active'")[0]["n"]

    sample_server.night = 2
    sample_server.slow_after = (len(sample_server.requests) + 3, 60.0)
    cmd = crawl_command(
        "beforward",
        db=db,
        base_url=sample_server.base_url,
        as_of=NIGHTS[1],
        settings={"KEITRUCKS_BATCH_SIZE": "1"},
    )
    proc = subprocess.Popen(
        cmd, env=crawl_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while _count(db, "SELECT count(*) FROM listings WHERE last_run_id > 1") == 0:
            assert time.monotonic() < deadline, "the crawl saved nothing before the kill"
            assert proc.poll() is None, "the crawl ended before it could be killed"
            time.sleep(0.1)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    sample_server.slow_after = None

    assert rows(db, "PRAGMA integrity_check")[0]["integrity_check"] == "ok"
    killed = rows(db, "SELECT * FROM runs ORDER BY id")[-1]
    assert (killed["status"], killed["complete"], killed["finished_at"]) == ("running", 0, None)
    assert rows(db, "SELECT count(*) AS n FROM price_history WHERE event = 'gone'")[0]["n"] == 0
    assert rows(db, "SELECT count(*) AS n FROM listings WHERE status = 'active'")[0]["n"] == first

    # The next night finds the killed run, records it as abandoned, and crawls normally.
    sample_server.night = 3
    assert crawl("beforward", sample_server, NIGHTS[2], db=db).returncode == 0
    runs = rows(db, "SELECT status, complete, healthy FROM runs ORDER BY id")
    assert [r["status"] for r in runs] == ["finished", "abandoned", "finished"]
    assert runs[-1]["healthy"] == 1
    dupes = rows(
        db,
        "SELECT source, listing_id, run_id, event, count(*) AS n FROM price_history "
        "GROUP BY source, listing_id, run_id, event HAVING n > 1",
    )
    assert dupes == []


def test_nightly_without_network_records_failures_and_marks_nothing_gone(
    tmp_path, monkeypatch, refused_url
):
    db = tmp_path / "k.db"
    # A proxy on a local port that refuses: every request fails at once, as with no network.
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(var, refused_url)
    monkeypatch.setenv("KEITRUCKS_DOWNLOAD_DELAY", "0")
    result = CliRunner().invoke(
        cli,
        [
            "nightly",
            "--db",
            str(db),
            "--out",
            str(tmp_path / "r"),
            "--source",
            "beforward",
            "--source",
            "bringatrailer",
        ],
        obj={},
    )
    assert result.exit_code != 0
    lines = [ln for ln in result.output.splitlines() if ln.startswith("crawl ")]
    assert len(lines) == 2
    for line in lines:
        assert "FAIL" in line
        assert "connection refused" in line
    runs = rows(db, "SELECT source, complete, healthy, gone_marked FROM runs")
    assert {r["source"] for r in runs} == {"beforward", "bringatrailer"}
    assert all(r["complete"] == 0 and r["healthy"] == 0 and r["gone_marked"] == 0 for r in runs)
    assert "2 source(s) failed" in result.output

"""Scale-out on Scrapyd: the egg, the client, the job polling, and a real Scrapyd end to end.

The polling cases are scripted answers of ``listjobs.json`` on a fake clock: jobs that finish,
that Scrapyd refuses, that run over their time and stop on SIGTERM or only on SIGKILL, that
never leave the queue, that vanish, and a server that stops answering.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import zipfile
from io import BytesIO
from pathlib import Path

import pytest

from keitrucks.core.config import load_config
from keitrucks.crawl import LOCAL_SETTINGS
from keitrucks.night import run_night
from keitrucks.sample.catalog import NIGHTS, build_catalog, listings_on
from keitrucks.scrapyd import (
    ScrapydClient,
    ScrapydError,
    build_egg,
    crawl_on_scrapyd,
    deploy,
    deploy_url,
)
from tests.conftest import refused_port, rows


def test_the_egg_carries_the_packages_their_data_and_the_settings_entry_point():
    egg = zipfile.ZipFile(BytesIO(build_egg("123")))
    names = set(egg.namelist())
    assert (
        egg.read("EGG-INFO/entry_points.txt").decode() == "[scrapy]\nsettings = scrapers.settings\n"
    )
    assert "Version: 123" in egg.read("EGG-INFO/PKG-INFO").decode()
    for needed in (
        "scrapers/settings.py",
        "scrapers/spiders/beforward.py",
        "pipelines/storage.py",
        "keitrucks/core/config.py",
        "keitrucks/core/data/models.csv",
    ):
        assert needed in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert not [n for n in names if n.startswith(("tests/", "data/", ".venv/"))]


def test_client_urls_and_credentials():
    client = ScrapydClient("bob:s3cret@scrapyd.local:6800")
    assert client.url == "http://scrapyd.local:6800/"
    assert client._auth == "Basic Ym9iOnMzY3JldA=="
    assert ScrapydClient("https://h.example/scrapyd").url == "https://h.example/scrapyd/"
    with pytest.raises(ScrapydError, match="not a Scrapyd URL"):
        ScrapydClient("http://")
    assert deploy_url() == "http://127.0.0.1:6800/"


# -- polling, scripted --------------------------------------------------------------------------


class FakeScrapyd:
    """Scripted Scrapyd: ``script[source]`` is the job's state at each poll (the last one
    repeats); ``after_cancel[(source, signal)]`` replaces the script when that signal is sent."""

    url = "http://fake:6800/"
    poll_interval = 5.0

    def __init__(self, script, *, refuse=(), after_cancel=None, down_after=None):
        self.script = {s: list(states) for s, states in script.items()}
        self.refuse = set(refuse)
        self.after_cancel = after_cancel or {}
        self.down_after = down_after
        self.polls = 0
        self.scheduled = []
        self.cancels = []

    def schedule(self, spider, *, settings, args, jobid=None):
        if spider in self.refuse:
            raise ScrapydError(f"Scrapyd schedule.json: spider '{spider}' not found")
        self.scheduled.append((spider, dict(settings), dict(args)))
        return f"job-{spider}"

    def list_jobs(self):
        self.polls += 1
        if self.down_after is not None and self.polls > self.down_after:
            raise ScrapydError("Scrapyd at http://fake:6800/ unreachable: refused")
        out = {"pending": [], "running": [], "finished": []}
        for source, states in self.script.items():
            state = states.pop(0) if len(states) > 1 else states[0]
            if state != "missing":
                out[state].append({"id": f"job-{source}", "log_url": f"/logs/{source}.log"})
        return out

    def cancel(self, jobid, signal="TERM"):
        source = jobid.removeprefix("job-")
        self.cancels.append((source, signal))
        before = self.script[source][0]
        if (source, signal) in self.after_cancel:
            self.script[source] = list(self.after_cancel[(source, signal)])
        return before

    def log_tail(self, log_url, size=4000):
        return f"log of {log_url}"


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def _run(fake, sources, **kw):
    clock, done = FakeClock(), []
    results = crawl_on_scrapyd(
        fake,
        sources,
        db="/srv/k.db",
        as_of="2026-11-24T06:00:00+00:00",
        clock=clock,
        sleep=clock.sleep,
        on_done=lambda s, r: done.append(s),
        **kw,
    )
    return results, done, clock


def test_jobs_that_finish_are_reported_as_they_finish():
    fake = FakeScrapyd(
        {
            "beforward": ["pending", "running", "running", "finished"],
            "craigslist": ["running", "finished"],
        }
    )
    results, done, _ = _run(
        fake,
        ["beforward", "craigslist"],
        base_url="http://127.0.0.1:1",
        config="/srv/k.toml",
        timeout=600,
    )
    assert done == ["craigslist", "beforward"]
    assert [(r.returncode, r.timed_out) for r in results.values()] == [(0, False), (0, False)]
    assert results["beforward"].stderr_tail == "log of /logs/beforward.log"
    spider, settings, args = fake.scheduled[0]
    assert settings == {
        "KEITRUCKS_DB_PATH": "/srv/k.db",
        "KEITRUCKS_CONFIG": "/srv/k.toml",
        **LOCAL_SETTINGS,
    }
    assert args == {"base_url": "http://127.0.0.1:1", "as_of": "2026-11-24T06:00:00+00:00"}


def test_a_source_scrapyd_refuses_fails_alone():
    fake = FakeScrapyd({"beforward": ["running", "finished"]}, refuse={"nosuch"})
    results, done, _ = _run(fake, ["nosuch", "beforward"], timeout=600)
    assert results["nosuch"].returncode == -1
    assert results["nosuch"].stderr_tail == (
        "not scheduled: Scrapyd schedule.json: spider 'nosuch' not found"
    )
    assert results["beforward"].returncode == 0
    assert done == ["nosuch", "beforward"]


@pytest.mark.parametrize(
    ("after_cancel", "cancels", "code"),
    [
        ({("beforward", "TERM"): ["running", "finished"]}, [("beforward", "TERM")], -15),
        ({("beforward", "KILL"): ["finished"]}, [("beforward", "TERM"), ("beforward", "KILL")], -9),
    ],
    ids=["stops-on-sigterm", "needs-sigkill"],
)
def test_a_job_over_its_time_is_cancelled(after_cancel, cancels, code):
    fake = FakeScrapyd({"beforward": ["running"]}, after_cancel=after_cancel)
    results, _, clock = _run(fake, ["beforward"], timeout=20, kill_grace=10)
    result = results["beforward"]
    assert fake.cancels == cancels
    assert (result.returncode, result.timed_out) == (code, True)
    assert result.stderr_tail.startswith("timed out after 20s (cancelled on Scrapyd)\n")
    assert clock.now <= 20 + 10 + 3 * fake.poll_interval


def test_a_job_that_never_leaves_the_queue_is_taken_off_it():
    fake = FakeScrapyd({"beforward": ["pending"]})
    results, _, _ = _run(fake, ["beforward"], timeout=20)
    assert fake.cancels == [("beforward", "TERM")]
    assert results["beforward"].stderr_tail == "never started within 20s on Scrapyd"
    assert results["beforward"].timed_out


def test_a_vanished_job_and_a_silent_server_end_the_wait():
    vanished, _, _ = _run(
        FakeScrapyd({"beforward": ["running", "missing"]}), ["beforward"], timeout=600
    )
    assert vanished["beforward"].returncode == -1
    assert "no longer known to Scrapyd" in vanished["beforward"].stderr_tail
    silent = FakeScrapyd({"beforward": ["running"]}, down_after=1)
    lost, _, _ = _run(silent, ["beforward"], timeout=600)
    assert lost["beforward"].stderr_tail.startswith("lost track: Scrapyd at http://fake:6800/")
    assert silent.polls == 6


def test_a_night_stopped_while_waiting_cancels_its_jobs():
    fake = FakeScrapyd({"beforward": ["running"], "craigslist": ["running"]})

    def interrupted(seconds):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        crawl_on_scrapyd(
            fake, ["beforward", "craigslist"], db="/srv/k.db", timeout=600, sleep=interrupted
        )
    assert fake.cancels == [("beforward", "TERM"), ("craigslist", "TERM")]


# -- a real Scrapyd -----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def scrapyd_server(tmp_path):
    """A Scrapyd on 127.0.0.1 (a free port), its files under tmp_path/scrapyd."""
    home = tmp_path / "scrapyd"
    home.mkdir()
    port = _free_port()
    (home / "scrapyd.conf").write_text(
        "[scrapyd]\nbind_address = 127.0.0.1\n"
        f"http_port = {port}\npoll_interval = 0.2\nmax_proc = 2\nlogs_dir = logs\n"
        "eggs_dir = eggs\ndbs_dir = dbs\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "scrapyd"],
        cwd=home,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = ScrapydClient(f"http://127.0.0.1:{port}", timeout=10, poll_interval=0.3)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                client.daemon_status()
                break
            except ScrapydError:
                assert proc.poll() is None, "scrapyd exited"
                assert time.monotonic() < deadline, "scrapyd did not start"
                time.sleep(0.2)
        yield client, home
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.slow
def test_a_night_dispatched_to_a_real_scrapyd(tmp_path, scrapyd_server, sample_server):
    client, home = scrapyd_server
    deploy(client, version="1")
    assert {"beforward", "bringatrailer", "craigslist"} <= set(client.list_spiders())

    db = tmp_path / "k.db"
    sources = ["beforward", "bringatrailer"]
    result = run_night(
        db,
        tmp_path / "reports",
        config=load_config(None),
        sources=sources,
        as_of=NIGHTS[0],
        base_url=sample_server.base_url,
        scrapyd=client,
    )
    assert [o.line.split(":")[0] for o in result.outcomes] == ["ok", "ok"], [
        o.line for o in result.outcomes
    ]
    catalog = build_catalog()
    for source in sources:
        stored = rows(db, "SELECT listing_id, price FROM listings WHERE source = ?", [source])
        expected = {(t.listing_id, t.nights[0].price) for t in listings_on(catalog, source, 0)}
        assert {(r["listing_id"], r["price"]) for r in stored} == expected, source
    runs = rows(db, "SELECT source, healthy, pid FROM runs ORDER BY id")
    assert sorted(r["source"] for r in runs) == sources
    assert all(r["healthy"] == 1 and r["pid"] not in (None, os.getpid()) for r in runs)
    # the crawls ran as Scrapyd jobs: Scrapyd kept their logs
    for source in sources:
        assert list((home / "logs" / "keitrucks" / source).glob("*.log")), source
    # and the night went on here: report, alerts, health
    assert (tmp_path / "reports" / NIGHTS[0] / "report.html").is_file()
    assert result.alerts is not None
    assert [(h.source, h.state) for h in result.health] == [(s, "ok") for s in sources]
    assert result.ok


def test_scrapyd_errors_are_one_line(tmp_path, scrapyd_server):
    client, _ = scrapyd_server
    with pytest.raises(
        ScrapydError, match="Scrapyd listspiders.json: project 'keitrucks' not found"
    ):
        client.list_spiders()
    with refused_port() as port, pytest.raises(ScrapydError, match="unreachable"):
        ScrapydClient(f"http://127.0.0.1:{port}", timeout=2).daemon_status()
    Path(tmp_path / "unused").touch()

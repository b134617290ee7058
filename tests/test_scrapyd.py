"""Scale-out on Scrapyd: the egg, the client, the job polling, and a real Scrapyd end to end.

The polling cases are scripted answers of ``listjobs.json`` on a fake clock: jobs that finish,
that Scrapyd refuses, that run over their time and stop on SIGTERM or only on SIGKILL, that
never leave the queue, that vanish, and a server that stops answering.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import zipfile
from io import BytesIO
from pathlib import Path

import pytest
from click.testing import CliRunner
from scrapy.utils.test import get_crawler

from keitrucks import remote_ingest
from keitrucks.cli import cli
from keitrucks.core.config import ConfigError, load_config
from keitrucks.crawl import LOCAL_SETTINGS
from keitrucks.night import run_night
from keitrucks.remote_ingest import Feed, ingest_feed, read_feed
from keitrucks.sample.catalog import NIGHTS, build_catalog, listings_on
from keitrucks.sample.site import SampleServer
from keitrucks.scrapyd import (
    ScrapydClient,
    ScrapydError,
    build_egg,
    crawl_on_scrapyd,
    deploy,
    deploy_url,
    known_snapshot,
    servers_from_config,
    spread_sources,
)
from pipelines.listings import read_known_listings
from scrapers import settings as scrapy_settings
from scrapers.spiders.incremental import (
    IncrementalSpider,
    decode_known,
    encode_known,
    snapshot_arguments,
)
from tests.conftest import refused_port, rows
from tests.test_demo import expected_events, final_status


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

    def __init__(
        self, script, *, refuse=(), after_cancel=None, down_after=None, url=None, end_times=None
    ):
        self.url = url or self.url
        self.end_times = end_times or {}
        self.ids = {}
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
        self.ids[spider] = jobid
        return jobid

    def list_jobs(self):
        self.polls += 1
        if self.down_after is not None and self.polls > self.down_after:
            raise ScrapydError(f"Scrapyd at {self.url} unreachable: refused")
        out = {"pending": [], "running": [], "finished": []}
        for source, states in self.script.items():
            state = states.pop(0) if len(states) > 1 else states[0]
            if state != "missing" and source in self.ids:
                job = {"id": self.ids[source], "log_url": f"/logs/{source}.log"}
                if state == "finished" and source in self.end_times:
                    job["end_time"] = self.end_times[source]
                out[state].append(job)
        return out

    def feed(self, spider, jobid):
        if self.down_after is not None and self.polls > self.down_after:
            raise ScrapydError(f"Scrapyd at {self.url} unreachable: refused")
        return f'{{"job": "{jobid}"}}\n'.encode()

    def cancel(self, jobid, signal="TERM"):
        source = next(s for s, i in self.ids.items() if i == jobid)
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


def _run(fake, sources, plan=None, **kw):
    clock, done = FakeClock(), []
    jobs = crawl_on_scrapyd(
        plan or [(fake, sources)],
        db="/nowhere/k.db",
        as_of="2026-11-24T06:00:00+00:00",
        clock=clock,
        sleep=clock.sleep,
        on_done=lambda job: done.append(job.source),
        **kw,
    )
    return {job.source: job.result for job in jobs}, done, clock


def test_jobs_that_finish_are_reported_as_they_finish():
    fake = FakeScrapyd(
        {
            "beforward": ["pending", "running", "running", "finished"],
            "craigslist": ["running", "finished"],
        }
    )
    config = load_config(None)
    results, done, _ = _run(
        fake,
        ["beforward", "craigslist"],
        base_url="http://127.0.0.1:1",
        config=config,
        timeout=600,
    )
    assert done == ["craigslist", "beforward"]
    assert [(r.returncode, r.timed_out) for r in results.values()] == [(0, False), (0, False)]
    assert results["beforward"].stderr_tail == "log of /logs/beforward.log"
    spider, settings, args = fake.scheduled[0]
    # remote mode, and this source's table: the Scrapyd host needs no database, no config file
    assert settings == {
        "KEITRUCKS_REMOTE": "1",
        "KEITRUCKS_SOURCE_CONFIG": json.dumps(config["sources"]["beforward"], sort_keys=True),
        **LOCAL_SETTINGS,
    }
    assert args == {"base_url": "http://127.0.0.1:1", "as_of": "2026-11-24T06:00:00+00:00"}
    assert fake.ids["beforward"].startswith("2026-11-24-beforward-")


def test_jobs_seen_ended_in_one_poll_are_handed_on_in_the_order_they_ended():
    fake = FakeScrapyd(
        {"beforward": ["running", "finished"], "craigslist": ["running", "finished"]},
        end_times={"beforward": "2026-11-24 06:03:10.5", "craigslist": "2026-11-24 06:02:59.1"},
    )
    _, done, _ = _run(fake, ["beforward", "craigslist"], timeout=600)
    assert done == ["craigslist", "beforward"]


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


class HangingScrapyd(FakeScrapyd):
    """A server whose ``listjobs.json`` hangs (as one does until its HTTP timeout) until the
    test lets it answer; ``answered`` says whether it has."""

    def __init__(self, script, **kw):
        super().__init__(script, url="http://hangs:6800/", **kw)
        self.release = threading.Event()
        self.answered = False

    def list_jobs(self):
        self.release.wait(timeout=60)
        self.answered = True
        return super().list_jobs()


def test_a_hanging_server_holds_up_only_its_own_jobs():
    hanging = HangingScrapyd({"beforward": ["finished"]})
    healthy = FakeScrapyd({"craigslist": ["running", "finished"]})
    healthy.poll_interval = hanging.poll_interval = 0.05
    seen = []

    def done(job):
        seen.append((job.source, hanging.answered))
        hanging.release.set()

    clock = FakeClock()
    crawl_on_scrapyd(
        [(hanging, ["beforward"]), (healthy, ["craigslist"])],
        db="/nowhere/k.db",
        clock=clock,
        sleep=clock.sleep,
        on_done=done,
        timeout=600,
    )
    # the healthy server's job was handed on while the hanging server had not answered yet
    assert seen == [("craigslist", False), ("beforward", True)]


def test_a_night_stopped_while_waiting_cancels_its_jobs():
    fake = FakeScrapyd({"beforward": ["running"], "craigslist": ["running"]})

    def interrupted(seconds):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        crawl_on_scrapyd(
            [(fake, ["beforward", "craigslist"])],
            db="/nowhere/k.db",
            timeout=600,
            sleep=interrupted,
        )
    assert fake.cancels == [("beforward", "TERM"), ("craigslist", "TERM")]


def test_a_silent_server_fails_only_its_own_sources():
    home = FakeScrapyd({"craigslist": ["running"]}, down_after=1, url="http://home:6800/")
    vps = FakeScrapyd({"beforward": ["running", "finished"]}, url="http://vps:6800/")
    clock, jobs_done = FakeClock(), []
    jobs = crawl_on_scrapyd(
        [(home, ["craigslist"]), (vps, ["beforward"])],
        db="/nowhere/k.db",
        timeout=600,
        clock=clock,
        sleep=clock.sleep,
        on_done=jobs_done.append,
    )
    by_source = {j.source: j for j in jobs}
    assert by_source["beforward"].result.returncode == 0
    assert by_source["beforward"].feed.startswith(b'{"job": "')
    lost = by_source["craigslist"]
    assert lost.result.stderr_tail.startswith("lost track: Scrapyd at http://home:6800/")
    assert lost.feed is None
    assert "unreachable" in lost.feed_error
    assert [j.source for j in jobs_done] == ["beforward", "craigslist"]


@pytest.mark.parametrize(
    ("servers", "expected"),
    [
        ([("a", None), ("b", None)], {"a": ["s1", "s3"], "b": ["s2", "s4"]}),
        ([("a", ["s2", "s3"]), ("b", None)], {"a": ["s2", "s3"], "b": ["s1", "s4"]}),
        ([("a", ["s1"]), ("b", ["s2", "s9"])], {"a": ["s1", "s3"], "b": ["s2", "s4"]}),
        ([("a", None), ("b", ["s1", "s2", "s3", "s4"])], {"b": ["s1", "s2", "s3", "s4"]}),
    ],
    ids=["even", "listed-then-even", "all-listed", "one-takes-all"],
)
def test_sources_are_spread_over_the_servers(servers, expected):
    plan = spread_sources(servers, ["s1", "s2", "s3", "s4"])
    assert dict(plan) == expected


def test_servers_come_from_the_configuration():
    config = load_config(None)
    assert servers_from_config(config) == []
    config["scrapyd"] = {
        "servers": [
            {"url": "http://home.lan:6800", "sources": ["beforward"]},
            {"url": "https://vps.example:6800", "auth_env": "VPS_SCRAPYD"},
        ]
    }
    with pytest.raises(ConfigError, match="VPS_SCRAPYD is not set"):
        servers_from_config(config, env={})
    (home, listed), (vps, rest) = servers_from_config(config, env={"VPS_SCRAPYD": "bob:pw"})
    assert (home.url, listed, home._auth) == ("http://home.lan:6800/", ["beforward"], None)
    assert (vps.url, rest, vps._auth) == ("https://vps.example:6800/", None, "Basic Ym9iOnB3")
    config["scrapyd"]["servers"][1]["sources"] = ["tcv", "nosuch"]
    with pytest.raises(ConfigError, match="unknown source 'nosuch'"):
        servers_from_config(config, env={"VPS_SCRAPYD": "bob:pw"})
    config["scrapyd"]["servers"][1]["sources"] = ["tcv", "beforward"]
    with pytest.raises(ConfigError, match="beforward is listed on http://home.lan:6800 and"):
        servers_from_config(config, env={"VPS_SCRAPYD": "bob:pw"})


def test_a_scrapyd_section_with_a_typo_is_refused(tmp_path):
    path = tmp_path / "k.toml"
    path.write_text('[[scrapyd.servers]]\nurl = "http://h:6800"\nsource = ["tcv"]\n')
    with pytest.raises(ConfigError, match="source.*did you mean 'sources'"):
        load_config(path)


# -- a real Scrapyd -----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Scrapyd:
    """A Scrapyd on 127.0.0.1 in its own folder, the project deployed, its own process group.

    Its environment points KEITRUCKS_DB_PATH at a file that must never appear: the jobs store
    nothing themselves."""

    def __init__(self, home: Path):
        self.home = home
        home.mkdir(parents=True)
        self.nowhere = home / "nowhere" / "keitrucks.db"
        for _attempt in range(5):
            port = _free_port()
            (home / "scrapyd.conf").write_text(
                "[scrapyd]\nbind_address = 127.0.0.1\n"
                f"http_port = {port}\npoll_interval = 0.2\nmax_proc = 2\nlogs_dir = logs\n"
                "eggs_dir = eggs\ndbs_dir = dbs\nitems_dir = items\n"
            )
            env = {**os.environ, "KEITRUCKS_DB_PATH": str(self.nowhere)}
            env.pop("KEITRUCKS_CONFIG", None)
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "scrapyd"],
                cwd=home,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            self.client = ScrapydClient(f"http://127.0.0.1:{port}", timeout=10, poll_interval=0.3)
            if self._started():
                return
            self.stop()  # the port was taken between the look and the bind: another one
        raise AssertionError("scrapyd did not start")

    def _started(self) -> bool:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                self.client.daemon_status()
                return True
            except ScrapydError:
                if self.proc.poll() is not None:
                    return False
                time.sleep(0.2)
        return False

    def kill(self) -> None:
        """The machine goes away: Scrapyd and its jobs, at once."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture(scope="module")
def two_hosts(tmp_path_factory):
    """Two Scrapyd servers sharing nothing (their own folders), the project deployed on both
    by ``keitrucks deploy`` from a configuration listing them."""
    root = tmp_path_factory.mktemp("scrapyd")
    servers = []
    try:
        for name in ("home", "vps"):
            servers.append(Scrapyd(root / name))
        config = root / "k.toml"
        config.write_text(
            "".join(f'[[scrapyd.servers]]\nurl = "{h.client.url}"\n\n' for h in servers)
        )
        deployed = CliRunner().invoke(
            cli, ["--config", str(config), "deploy", "--version", "1"], obj={}
        )
        yield servers, deployed
    finally:
        for server in servers:
            server.stop()


def test_deploy_goes_to_every_configured_server(two_hosts):
    servers, deployed = two_hosts
    assert deployed.exit_code == 0, deployed.output
    assert deployed.output.splitlines() == [
        f"deployed keitrucks version 1 to {h.client.url}" for h in servers
    ]
    for host in servers:
        assert {"beforward", "craigslist"} <= set(host.client.list_spiders())


@pytest.fixture(scope="module")
def sample_market():
    with SampleServer() as server:
        yield server


#: Sources of the two-host nights: an incremental one (its second night uses the known-listings
#: snapshot) on the home host, an exporter (incremental too) on the server.
REMOTE_SOURCES = {"home": ["craigslist"], "vps": None}
TWO_HOST_SOURCES = ["craigslist", "beforward"]


def _night(db, tmp_path, night: int, plan, market):
    market.night = night + 1
    return run_night(
        db,
        tmp_path / "reports",
        config=load_config(None),
        sources=TWO_HOST_SOURCES,
        as_of=NIGHTS[night],
        base_url=market.base_url,
        scrapyd=plan,
    )


@pytest.fixture(scope="module")
def two_host_nights(two_hosts, sample_market, tmp_path_factory):
    """Two nights of the sample market crawled on the two hosts, stored in one database here."""
    tmp_path = tmp_path_factory.mktemp("night")
    db = tmp_path / "k.db"
    (home, vps), _ = two_hosts
    plan = [(home.client, REMOTE_SOURCES["home"]), (vps.client, REMOTE_SOURCES["vps"])]
    results = [_night(db, tmp_path, night, plan, sample_market) for night in (0, 1)]
    return db, results


@pytest.mark.slow
def test_nights_crawled_on_two_hosts_store_exactly_the_catalog(two_hosts, two_host_nights):
    db, results = two_host_nights
    for result in results:
        assert [o.line.split(":")[0] for o in result.outcomes] == ["ok"] * len(TWO_HOST_SOURCES), [
            o.line for o in result.outcomes
        ]
        assert result.ok
    nights = len(results)
    catalog = [
        dataclasses.replace(t, nights=t.nights[:nights])
        for t in build_catalog()
        if t.source in TWO_HOST_SOURCES
    ]
    stored = {(r["source"], r["listing_id"]): r for r in rows(db, "SELECT * FROM listings")}
    shown = [t for t in catalog if any(t.nights)]
    assert set(stored) == {(t.source, t.listing_id) for t in shown}
    for truck in shown:
        row = stored[(truck.source, truck.listing_id)]
        last_seen = [n for n in truck.nights if n is not None][-1]
        assert (row["status"], row["price"]) == (final_status(truck), last_seen.price), truck.key
        history = rows(
            db,
            "SELECT event, price, status FROM price_history WHERE source = ? AND listing_id = ? "
            "ORDER BY id",
            (truck.source, truck.listing_id),
        )
        assert [tuple(h.values()) for h in history] == expected_events(truck), truck.key
    assert rows(db, "SELECT count(*) AS n FROM price_history WHERE event = 'gone'")[0]["n"] > 0
    runs = rows(db, "SELECT source, healthy, complete, pid, as_of FROM runs ORDER BY id")
    assert sorted((r["source"], r["as_of"][:10]) for r in runs) == sorted(
        (s, NIGHTS[n]) for s in TWO_HOST_SOURCES for n in range(nights)
    )
    assert all(r["healthy"] == 1 and r["complete"] == 1 for r in runs)
    assert all(r["pid"] not in (None, 0, os.getpid()) for r in runs)
    # each source ran where it was sent, and no host could see (or made) a database
    home, vps = two_hosts[0]
    jobs = rows(db, "SELECT source, server FROM ingested_jobs")
    assert {(j["source"], j["server"]) for j in jobs} == {
        ("craigslist", home.client.url),
        ("beforward", vps.client.url),
    }
    for host in two_hosts[0]:
        assert not host.nowhere.parent.exists()
    # the second night of the incremental source read only new or changed postings' pages
    requests = [
        r["requests"]
        for r in rows(db, "SELECT requests FROM runs WHERE source = ?", ["craigslist"])
    ]
    assert requests[1] < requests[0]


@pytest.mark.slow
def test_the_snapshot_sent_is_what_the_database_knows(two_host_nights):
    db, _ = two_host_nights
    known = read_known_listings(db, "craigslist")
    assert len(known) > 10
    arguments = known_snapshot(db, "craigslist")
    assert decode_known("".join(arguments.values())) == known
    assert known_snapshot(db, "craigslist", limit=100) == {}  # too big: every page is read
    assert known_snapshot(db, "nosuch") == {}


@pytest.mark.slow
def test_a_feed_ingested_again_changes_nothing(two_hosts, two_host_nights):
    db, _ = two_host_nights
    before = {
        table: rows(db, f"SELECT * FROM {table} ORDER BY rowid")
        for table in ("listings", "price_history", "runs", "ingested_jobs")
    }
    servers = {h.client.url: h.client for h in two_hosts[0]}
    jobs = rows(db, "SELECT * FROM ingested_jobs ORDER BY run_id")
    url = f"{jobs[0]['server']}items/keitrucks/{jobs[0]['source']}/{jobs[0]['job_id']}.jl"
    by_hand = CliRunner().invoke(cli, ["ingest", url, "--db", str(db)], obj={})
    assert by_hand.exit_code == 0, by_hand.output
    assert by_hand.output == (
        f"{jobs[0]['source']}: job {jobs[0]['job_id']} was stored before "
        f"(run {jobs[0]['run_id']}); nothing changed\n"
    )
    for job in jobs:
        feed = read_feed(servers[job["server"]].feed(job["source"], job["job_id"]).splitlines())
        again = ingest_feed(db, feed, job_id=job["job_id"], source=job["source"], as_of=NIGHTS[0])
        assert again.already
        assert again.run_id == job["run_id"]
    for table, was in before.items():
        assert rows(db, f"SELECT * FROM {table} ORDER BY rowid") == was, table


@pytest.mark.slow
def test_a_crash_after_the_run_is_finished_does_not_store_the_feed_twice(
    two_hosts, two_host_nights, tmp_path, monkeypatch
):
    """The night dies right after the feed's run is finished: the job is already remembered
    (same transaction), so storing it again is a no-op, not a second run of the same job."""
    db, _ = two_host_nights
    (home, _), _ = two_hosts
    job = rows(db, "SELECT * FROM ingested_jobs WHERE source = 'craigslist' ORDER BY run_id")[0]
    feed = read_feed(home.client.feed("craigslist", job["job_id"]).splitlines())
    fresh = tmp_path / "fresh.db"

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(remote_ingest, "record_ingested_job", crash)
    with pytest.raises(KeyboardInterrupt):
        ingest_feed(fresh, feed, job_id=job["job_id"], source="craigslist", as_of=NIGHTS[0])
    monkeypatch.undo()
    again = ingest_feed(fresh, feed, job_id=job["job_id"], source="craigslist", as_of=NIGHTS[0])
    assert again.already
    assert rows(fresh, "SELECT count(*) AS n FROM runs") == [{"n": 1}]
    assert rows(fresh, "SELECT job_id, run_id FROM ingested_jobs") == [
        {"job_id": job["job_id"], "run_id": again.run_id}
    ]


@pytest.mark.slow
def test_a_job_killed_mid_run_ingests_as_an_unfinished_run(two_hosts, two_host_nights, tmp_path):
    db, _ = two_host_nights
    (home, _), _ = two_hosts
    first, second = rows(
        db, "SELECT job_id FROM ingested_jobs WHERE source = 'craigslist' ORDER BY run_id"
    )
    fresh = tmp_path / "fresh.db"
    saved = tmp_path / f"{first['job_id']}.jl"
    saved.write_bytes(home.client.feed("craigslist", first["job_id"]))
    by_hand = CliRunner().invoke(cli, ["ingest", str(saved), "--db", str(fresh)], obj={})
    assert by_hand.exit_code == 0, by_hand.output
    assert by_hand.output.startswith(f"craigslist: job {first['job_id']} stored, ")
    assert by_hand.output.endswith(", run 1 (finished)\n")
    feeds = [
        read_feed(home.client.feed("craigslist", j["job_id"]).splitlines()) for j in (first, second)
    ]
    # the second night's job killed halfway: half its items, no run record, a line cut short
    cut = Feed(feeds[1].items[: len(feeds[1].items) // 2], None)
    done = ingest_feed(fresh, cut, job_id="night-2", source="craigslist", as_of=NIGHTS[1])
    assert done.items == len(cut.items)
    assert not done.already
    assert rows(fresh, "SELECT healthy, gone_marked FROM runs WHERE id = 1") == [
        {"healthy": 1, "gone_marked": 0}
    ]
    run = rows(fresh, "SELECT * FROM runs WHERE id = ?", [done.run_id])[0]
    assert (run["status"], run["complete"], run["healthy"], run["gone_marked"]) == (
        "abandoned",
        0,
        0,
        0,
    )
    assert "no run record" in run["finish_reason"]
    # cancelled over its time: Scrapy closed it ("shutdown") and the record says so
    cancelled = Feed(cut.items, {**feeds[1].record, "finish_reason": "shutdown"})
    done = ingest_feed(fresh, cancelled, job_id="night-2b", source="craigslist", as_of=NIGHTS[1])
    run = rows(fresh, "SELECT * FROM runs WHERE id = ?", [done.run_id])[0]
    assert (run["status"], run["complete"], run["healthy"], run["gone_marked"]) == (
        "failed",
        0,
        0,
        0,
    )
    assert rows(fresh, "SELECT count(*) AS n FROM listings WHERE status = 'gone'")[0]["n"] == 0


@pytest.mark.slow
def test_a_server_killed_mid_night_fails_only_its_sources(
    two_hosts, two_host_nights, sample_market, tmp_path
):
    """The next night on a copy of the two nights' database, craigslist sent to a third host
    that goes down while its job runs."""
    (_, vps), _ = two_hosts
    db = tmp_path / "k.db"
    with sqlite3.connect(two_host_nights[0]) as source, sqlite3.connect(db) as copy:
        source.backup(copy)
    active = rows(
        db, "SELECT listing_id FROM listings WHERE source = 'craigslist' AND status = 'active'"
    )
    doomed = Scrapyd(tmp_path / "doomed")
    try:
        deploy(doomed.client, version="1")

        class Dies(ScrapydClient):
            """Goes down, jobs and all, once its job is seen running."""

            def list_jobs(self):
                answer = super().list_jobs()
                if answer["running"]:
                    doomed.kill()
                return answer

        dying = Dies(doomed.client.url, timeout=30, poll_interval=0.1)
        sample_market.night = 3
        result = run_night(
            db,
            tmp_path / "reports",
            config=load_config(None),
            sources=["craigslist", "beforward"],
            as_of=NIGHTS[2],
            base_url=sample_market.base_url,
            scrapyd=[(dying, ["craigslist"]), (vps.client, None)],
        )
    finally:
        doomed.kill()
    lines = {o.source: o.line for o in result.outcomes}
    assert lines["beforward"].startswith("ok: "), lines
    assert lines["craigslist"].startswith("failed on Scrapyd (lost track: Scrapyd at"), lines
    assert lines["craigslist"].endswith("; nothing marked gone")
    assert not result.ok
    runs = rows(
        db, "SELECT source, status, healthy, gone_marked FROM runs WHERE as_of >= ?", [NIGHTS[2]]
    )
    assert sorted((r["source"], r["status"], r["healthy"]) for r in runs) == [
        ("beforward", "finished", 1),
        ("craigslist", "abandoned", 0),
    ]
    # the sample's third night drops craigslist postings: none of them went gone
    shown = {t.listing_id for t in listings_on(build_catalog(), "craigslist", 2)}
    assert {r["listing_id"] for r in active} - shown
    still = rows(
        db, "SELECT listing_id FROM listings WHERE source = 'craigslist' AND status = 'active'"
    )
    assert still == active
    since = "SELECT event FROM price_history WHERE source = 'craigslist' AND observed_at >= ?"
    assert rows(db, since, [NIGHTS[2]]) == []


def test_scrapyd_errors_are_one_line(two_hosts):
    client = ScrapydClient(two_hosts[0][0].client.url, project="nosuch")
    with pytest.raises(ScrapydError, match="Scrapyd listspiders.json: project 'nosuch' not found"):
        client.list_spiders()
    with pytest.raises(ScrapydError, match="no feed for job nojob .*items_dir"):
        client.feed("beforward", "nojob")
    with refused_port() as port, pytest.raises(ScrapydError, match="unreachable"):
        ScrapydClient(f"http://127.0.0.1:{port}", timeout=2).daemon_status()


# -- what travels: the known listings out, the feed back -----------------------------------------


class Probe(IncrementalSpider):
    name = "probe"


KNOWN = {"7968": {"price_raw": "$7,800", "status": "active", "année": "1994"}}


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"known_listings": encode_known(KNOWN)}, 1),
        (snapshot_arguments(encode_known(KNOWN), 7), 1),
        ({"known_listings": "not a snapshot"}, 0),
        ({}, 0),
    ],
    ids=["snapshot", "in-parts", "garbled", "none"],
)
def test_a_remote_job_knows_listings_only_from_its_snapshot(tmp_path, arguments, expected):
    db = tmp_path / "k.db"
    db.touch()  # a database on the job's host is never read when a snapshot is given
    project = {k: getattr(scrapy_settings, k) for k in dir(scrapy_settings) if k.isupper()}
    crawler = get_crawler(
        Probe, {**project, "KEITRUCKS_REMOTE": True, "KEITRUCKS_DB_PATH": str(db)}
    )
    if crawler.settings["KEITRUCKS_DB_PATH"]:  # the add-ons are applied when the crawl starts
        crawler.addons.load_settings(crawler.settings)
    if len(arguments) > 1:
        assert list(arguments)[:3] == ["known_listings", "known_listings_2", "known_listings_3"]
        assert max(len(part) for part in arguments.values()) <= 7
    spider = Probe.from_crawler(crawler, **dict(reversed(arguments.items())))
    known = spider.read_known()
    assert len(known) == expected
    if expected:
        assert known["7968"]["année"] == "1994"
    assert crawler.settings["KEITRUCKS_DB_PATH"] == ""
    assert list(crawler.settings.getdict("ITEM_PIPELINES")) == [
        "pipelines.validate.ValidatePipeline",
        "pipelines.dedupe.DedupePipeline",
    ]


def test_a_feed_reads_as_items_and_its_run_record_and_survives_a_cut_line():
    lines = [
        b'{"source": "tcv", "listing_id": "1", "url": "https://t/1"}',
        b"",
        b'{"keitrucks_run": {"finish_reason": "finished", "stats": {"item_scraped_count": 1}}}',
    ]
    feed = read_feed(lines)
    assert [i["listing_id"] for i in feed.items] == ["1"]
    assert feed.record["finish_reason"] == "finished"
    cut = read_feed([lines[0], b'{"source": "tcv", "listing_id": "2", "ur'])
    assert (len(cut.items), cut.record, cut.broken) == (1, None, 1)


def test_ingest_of_a_feed_that_is_not_there_says_so_in_one_line(tmp_path):
    result = CliRunner().invoke(
        cli, ["ingest", str(tmp_path / "job.jl"), "--db", str(tmp_path / "k.db")], obj={}
    )
    assert result.exit_code == 1
    assert result.output == f"Error: cannot read {tmp_path / 'job.jl'}: No such file or directory\n"
    assert not (tmp_path / "k.db").exists()


def _feed_file(folder: Path, record_source: str | None) -> Path:
    """A saved job feed of one Craigslist truck, with a run record naming ``record_source``
    (None: the job was killed, no record)."""
    row = {
        "source": "craigslist",
        "listing_id": "7001",
        "url": "https://knoxville.craigslist.org/cto/d/7001.html",
        "scraped_at": NIGHTS[0],
        "title": "1996 Suzuki Carry 4x4",
        "price_raw": "$6,500",
    }
    lines = [json.dumps(row)]
    if record_source:
        record = {
            "source": record_source,
            "as_of": NIGHTS[0],
            "started_at": NIGHTS[0],  # the job's own start, replayed by every ingest of it
            "finish_reason": "finished",
        }
        lines.append(json.dumps({"keitrucks_run": record}))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "job-1.jl"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    ("record_source", "args", "code", "words"),
    [
        # the feed is Craigslist's: stored as eBay's run, eBay read healthy with 1 listing
        ("craigslist", ["--source", "ebay"], 2, "is a job of craigslist, not ebay"),
        ("craigslist", ["--source", "nosuch"], 2, "Invalid value for '--source': 'nosuch'"),
        # a killed job's feed saved in a folder of the user's: stored as source 'saved'
        (None, [], 0, "craigslist: job job-1 stored, 1 listings"),
        (None, ["--source", "craigslist"], 0, "craigslist: job job-1 stored, 1 listings"),
    ],
)
def test_ingest_stores_a_feed_as_the_source_it_is(tmp_path, record_source, args, code, words):
    feed = _feed_file(tmp_path / "saved", record_source)
    db = tmp_path / "k.db"
    result = CliRunner().invoke(cli, ["ingest", str(feed), "--db", str(db), *args], obj={})
    assert result.exit_code == code, result.output
    assert words in result.output
    if code:
        assert not db.exists()  # nothing stored
    else:
        assert rows(db, "SELECT source FROM runs") == [{"source": "craigslist"}]


def test_ingest_beside_a_crawl_of_the_same_source_waits_its_turn(tmp_path):
    from pipelines.storage import source_lock

    feed = _feed_file(tmp_path / "saved", "craigslist")
    db = tmp_path / "k.db"
    crawling = source_lock(db, "craigslist")
    try:
        result = CliRunner().invoke(cli, ["ingest", str(feed), "--db", str(db)], obj={})
    finally:
        crawling.close()
    assert result.exit_code == 1, result.output
    assert "Error: craigslist: another crawl of craigslist is writing" in result.output
    assert "try again when it ends" in result.output
    again = CliRunner().invoke(cli, ["ingest", str(feed), "--db", str(db)], obj={})
    assert again.exit_code == 0, again.output


#: An ingest killed with SIGKILL halfway through its feed: no handler runs, its run stays
#: 'running' with the source's lock released by the kernel.
KILLED_INGEST = """
import os, signal, sys
from keitrucks.remote_ingest import ingest_feed, read_feed
from pipelines.storage import SQLitePipeline
SQLitePipeline.process_item = lambda self, item: os.kill(os.getpid(), signal.SIGKILL)
feed = read_feed(open(sys.argv[2]).read().splitlines())
ingest_feed(sys.argv[1], feed, job_id="job-1", source="craigslist", as_of=sys.argv[3])
"""


def test_an_ingest_killed_halfway_says_to_store_the_feed_again(tmp_path):
    """kill -9 of `keitrucks ingest` (or of the night storing a Scrapyd job's feed): health
    read it as a crawl that died and said 'run it again with `keitrucks crawl --source
    craigslist`', which crawls from this host and leaves the job's feed unstored."""
    from keitrucks.health import HealthRules, check_health

    feed = _feed_file(tmp_path / "saved", "craigslist")
    db = tmp_path / "k.db"
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_INGEST, str(db), str(feed), NIGHTS[0]],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        timeout=120,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert [r["status"] for r in rows(db, "SELECT status FROM runs")] == ["running"]
    (health,) = check_health(db, ["craigslist"], rules=HealthRules(), checked_at=NIGHTS[0])
    assert health.latest.reasons == ("did not finish (its ingest stopped (killed))",)
    assert "`keitrucks ingest FEED`" in health.latest.advice
    assert "keitrucks crawl" not in health.latest.advice
    done = ingest_feed(
        db,
        read_feed(feed.read_text().splitlines()),
        job_id="job-1",
        source="craigslist",
        as_of=NIGHTS[0],
    )
    assert (done.items, done.already) == (1, False)
    (health,) = check_health(db, ["craigslist"], rules=HealthRules(), checked_at=NIGHTS[0])
    assert [r.status for r in health.recent] == ["ok"]  # one crawl, stored whole


def test_an_ingest_stopped_halfway_says_so_at_once_and_stores_whole_next_time(
    tmp_path, monkeypatch
):
    """Ctrl-C during `keitrucks ingest` left its run 'running' until the source's next run."""
    from keitrucks.health import HealthRules, check_health
    from pipelines.storage import SQLitePipeline, source_lock_held

    feed = read_feed(_feed_file(tmp_path / "saved", "craigslist").read_text().splitlines())
    db = tmp_path / "k.db"
    keep = SQLitePipeline.process_item

    def interrupted(self, item):
        raise KeyboardInterrupt

    monkeypatch.setattr(SQLitePipeline, "process_item", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ingest_feed(db, feed, job_id="job-1", source="craigslist", as_of=NIGHTS[0])
    (stopped,) = rows(db, "SELECT status, finish_reason FROM runs")
    assert stopped == {
        "status": "abandoned",
        "finish_reason": "its ingest stopped (KeyboardInterrupt)",
    }
    assert not source_lock_held(db, "craigslist")
    monkeypatch.setattr(SQLitePipeline, "process_item", keep)
    done = ingest_feed(db, feed, job_id="job-1", source="craigslist", as_of=NIGHTS[0])
    assert (done.items, done.already) == (1, False)
    (health,) = check_health(db, ["craigslist"], rules=HealthRules(), checked_at=NIGHTS[0])
    assert [r.status for r in health.recent] == ["ok"]  # one crawl, stored whole

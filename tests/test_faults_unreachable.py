"""No network, no such host, nothing listening: every source fails in seconds and says why.

Offline by construction: a hostname under ``.invalid`` never resolves (RFC 2606), and a port
just closed on 127.0.0.1 refuses connections. The crawls keep the real sites' politeness
(delays, autothrottle, two retries), which is what made a night without network take minutes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from keitrucks.cli import cli
from keitrucks.crawl import run_crawl
from keitrucks.night import describe
from keitrucks.sample.render_dealer_jsonld import SAMPLE_DEALERS, dealers_toml
from scrapers.blocking import retry_after_seconds, unreachable_reason
from tests.conftest import refused_port, rows

pytestmark = pytest.mark.slow

SOURCES = (
    "craigslist",
    "ebay",
    "bringatrailer",
    "beforward",
    "sbtjapan",
    "carfromjapan",
    "tcv",
    "dealer_jsonld",
)
#: The live crawl policy (crawl.LOCAL_SETTINGS relaxes it for the sample server).
LIVE_POLITENESS = {
    "DOWNLOAD_DELAY": "1.5",
    "DOWNLOAD_DELAY_JITTER": "0.5",
    "AUTOTHROTTLE_ENABLED": "True",
    "RETRY_TIMES": "2",
    "DOWNLOAD_TIMEOUT": "30",
}
#: Seconds an unreachable source's spider may stay open (Scrapy's ``elapsed_time_seconds``: the
#: process start-up, slow on a loaded machine, is not counted), and the requests it may make.
#: Before the fix Craigslist made over 200 requests, at 1.5 s each, until its 30-minute timeout;
#: now about 0.1 s and a few requests (robots.txt, and what was already on the wire).
FAST = 10
FEW = 12


def _quick(run: dict) -> None:
    """The run stopped at once: few requests, no retries, seconds, not minutes."""
    stats = json.loads(run["stats"])
    assert stats["elapsed_time_seconds"] < FAST, stats
    assert stats.get("downloader/request_count", 0) <= FEW, stats
    assert "retry/count" not in stats


def _dealers(tmp_path, *, live: bool = False) -> Path:
    """A configuration with the sample dealers (without one dealer_jsonld has nothing to do);
    ``live``: at their own domains, as a real configuration names them."""
    dealers = [dict(d) for d in SAMPLE_DEALERS]
    if live:
        for dealer in dealers:
            paths = [url.split("/", 2)[2] for url in dealer["start_urls"]]
            dealer["start_urls"] = [f"https://{dealer['domain']}/{path}" for path in paths]
    config = tmp_path / "keitrucks.toml"
    config.write_text(dealers_toml(dealers), encoding="utf-8")
    return config


def _crawl(source: str, base_url: str, tmp_path):
    db = tmp_path / "k.db"
    result = run_crawl(
        source,
        db=db,
        base_url=base_url,
        settings=LIVE_POLITENESS,
        config=_dealers(tmp_path),
        log_path=tmp_path / f"{source}.log",
        timeout=120,
    )
    runs = rows(db, "SELECT * FROM runs WHERE source = ?", [source])
    return result, runs


@pytest.mark.parametrize("source", SOURCES)
def test_a_host_that_does_not_resolve_fails_the_source_in_seconds(source, tmp_path):
    result, runs = _crawl(source, "http://keitrucks-sample.invalid", tmp_path)
    assert result.returncode == 0, result.stderr_tail
    assert not result.timed_out
    (run,) = runs
    _quick(run)
    assert (run["complete"], run["healthy"], run["gone_marked"]) == (0, 0, 0)
    line = describe(source, result, run).line
    assert line.startswith("failed: no network (DNS lookup failed) (keitrucks-sample.invalid)")
    assert "nothing marked gone" in line


@pytest.mark.parametrize("source", ["craigslist", "tcv"])
def test_a_refused_connection_fails_the_source_in_seconds(source, tmp_path):
    with refused_port() as port:
        result, runs = _crawl(source, f"http://127.0.0.1:{port}", tmp_path)
    (run,) = runs
    _quick(run)
    assert describe(source, result, run).line.startswith(
        f"failed: connection refused (127.0.0.1:{port})"
    )
    # robots.txt was the first request: nothing else was tried, and nothing retried
    log = (tmp_path / f"{source}.log").read_text()
    assert "Retrying" not in log
    assert "Gave up retrying" not in log


def test_nightly_without_network_finishes_in_seconds_with_one_line_per_source(
    tmp_path, monkeypatch
):
    """The live sites through a proxy that does not resolve: as with no network at all. (On an
    idle machine the whole night, report and alerts included, takes about 30 s: each crawl is
    mostly its process starting.)"""
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(var, "http://proxy.keitrucks.invalid:3128")
    monkeypatch.setenv("KEITRUCKS_CONFIG", str(_dealers(tmp_path, live=True)))
    db = tmp_path / "k.db"
    args = ["nightly", "--db", str(db), "--out", str(tmp_path / "r")]
    for source in SOURCES:
        args += ["--source", source]
    result = CliRunner().invoke(cli, args, obj={})
    for run in rows(db, "SELECT * FROM runs"):
        _quick(run)
    lines = [ln for ln in result.output.splitlines() if ln.startswith("crawl ")]
    assert len(lines) == len(SOURCES), result.output
    for line in lines:
        assert "FAIL" in line
        assert "no network (DNS lookup failed)" in line, line
    assert f"{len(SOURCES)} source(s) failed" in result.output


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        ("scrapy.exceptions.CannotResolveHostError", "no network (DNS lookup failed)"),
        ("twisted.internet.error.DNSLookupError", "no network (DNS lookup failed)"),
        ("scrapy.exceptions.DownloadConnectionRefusedError", "connection refused"),
        ("twisted.internet.error.NoRouteError", "no route to host"),
        ("scrapy.exceptions.DownloadTimeoutError", None),
        ("scrapy.exceptions.ResponseDataLossError", None),
    ],
)
def test_unreachable_reason_names_only_errors_of_reaching_the_site(error, reason):
    from scrapy.utils.misc import load_object

    assert unreachable_reason(load_object(error)("x")) == reason


def test_unreachable_reason_reads_the_wrapped_cause():
    from scrapy.exceptions import DownloadFailedError
    from twisted.internet.error import DNSLookupError

    wrapped = DownloadFailedError("failed")
    wrapped.__cause__ = DNSLookupError("no such host")
    assert unreachable_reason(wrapped) == "no network (DNS lookup failed)"


def test_retry_after_reads_seconds_and_http_dates():
    from datetime import UTC, datetime

    now = datetime(2026, 12, 4, 22, 0, tzinfo=UTC)
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds(b" 7 ") == 7
    assert retry_after_seconds("Fri, 04 Dec 2026 22:01:30 GMT", now) == 90
    assert retry_after_seconds("Fri, 04 Dec 2026 21:00:00 GMT", now) == 0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None) is None

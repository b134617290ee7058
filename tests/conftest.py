"""Shared test fixtures: saved pages as Scrapy responses, the sample server, crawls, databases."""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse, TextResponse

from keitrucks.crawl import run_crawl
from keitrucks.sample.site import SampleServer
from scrapers.items import DERIVED_FIELDS, NORMALIZED_FIELDS

TESTS_DIR = Path(__file__).parent
FIXTURES = TESTS_DIR / "fixtures"
#: The team's shared folder of real pages and reference facts; absent on users' machines.
SHARED = TESTS_DIR.parents[1] / "shared"


def pytest_addoption(parser):
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite the expected JSON of golden tests from the current parsers (review the diff)",
    )


#: The temporary folder this run made for itself (see pytest_configure).
_OWN_BASETEMP = pytest.StashKey[Path]()


#: Variables of the user's shell that would change what the suite does: a configuration or home
#: folder of their own, notification channels (the suite would send real messages), eBay API
#: keys (the spider would use the API instead of the sample's pages) and proxies (the crawls of
#: 127.0.0.1 would go through them). Tests that need one set it themselves.
USER_ENVIRONMENT = (
    "KEITRUCKS_HOME",
    "KEITRUCKS_CONFIG",
    "KEITRUCKS_NOTIFY_URLS",
    "EBAY_CLIENT_ID",
    "EBAY_CLIENT_SECRET",
    "http_proxy",
    "https_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    """Give each run its own temporary folder. pytest's default, /tmp/pytest-of-<user>/, is
    shared by every copy of the project on the machine, and each run deletes all but the newest
    three numbered folders there: another copy's run, still using its folder, included. xdist
    workers get a folder inside this one; ``--basetemp`` still chooses one."""
    if config.option.basetemp is None and not hasattr(config, "workerinput"):
        config.option.basetemp = tempfile.mkdtemp(prefix="keitrucks-pytest-")
        config.stash[_OWN_BASETEMP] = Path(config.option.basetemp)
    for name in USER_ENVIRONMENT:  # before any test module reads them at import
        os.environ.pop(name, None)


def pytest_sessionfinish(session, exitstatus):
    """The run's own temporary folder goes when every test passed (kept to look into else)."""
    own = session.config.stash.get(_OWN_BASETEMP, None)
    if own is not None and exitstatus == 0:
        shutil.rmtree(own, ignore_errors=True)


@contextmanager
def refused_port() -> Iterator[int]:
    """A port of 127.0.0.1 that refuses every connection while inside: bound by this process
    and never listening, so the connection is refused at once and no other process (another
    copy of the suite) can take the port in the meantime."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def refused_url() -> Iterator[str]:
    """``http://127.0.0.1:<port>`` of a :func:`refused_port`, for the whole test."""
    with refused_port() as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def update_golden(request) -> bool:
    return request.config.getoption("--update-golden")


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test when the folder is not there."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not available (shared material lives outside the project)")
    return path


def response_for(path: Path, url: str, *, status: int = 200) -> TextResponse:
    """A saved page as Scrapy would hand it to a callback."""
    body = path.read_bytes()
    cls = TextResponse if path.suffix == ".json" else HtmlResponse
    return cls(url=url, body=body, encoding="utf-8", status=status)


#: Fields the pipelines fill: a parser leaves them None, so golden files of parser output leave
#: them out (a new normalized field then changes no golden file; a parser that set one would).
_PIPELINE_FIELDS = frozenset(NORMALIZED_FIELDS) | frozenset(DERIVED_FIELDS)


def parser_view(value):
    """``value`` with the unset pipeline fields dropped from every listing (dict) inside it."""
    if isinstance(value, list):
        return [parser_view(v) for v in value]
    if isinstance(value, dict):
        is_listing = "listing_id" in value and "source" in value
        return {
            k: parser_view(v)
            for k, v in value.items()
            if not (is_listing and k in _PIPELINE_FIELDS and v is None)
        }
    return value


def check_golden(actual, expected_path: Path, update: bool) -> None:
    """Compare JSON-able ``actual`` with the file; ``--update-golden`` rewrites it instead."""
    actual = parser_view(actual)
    text = json.dumps(actual, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if update or not expected_path.exists():
        if not update:
            pytest.fail(f"no golden file {expected_path}; run pytest --update-golden and review")
        expected_path.write_text(text, encoding="utf-8")
        return
    assert json.loads(text) == json.loads(expected_path.read_text(encoding="utf-8"))


@pytest.fixture
def sample_server():
    with SampleServer() as server:
        yield server


@pytest.fixture
def crawl(tmp_path):
    """crawl(spider, server, night_as_of, **kw) -> CrawlResult, into tmp_path/'crawl.db'."""

    def _crawl(spider: str, server: SampleServer, as_of: str, db: Path | None = None, **kw):
        db = db or tmp_path / "crawl.db"
        return run_crawl(
            spider,
            db=db,
            base_url=server.base_url,
            as_of=as_of,
            log_path=tmp_path / f"{spider}.log",
            timeout=300,
            **kw,
        )

    return _crawl


def rows(db: Path, sql: str, params=()) -> list[dict]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()

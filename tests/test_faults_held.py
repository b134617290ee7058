"""A source blocked while listings wait for their detail page: every one of them is still stored.

Each incremental spider (``scrapers.spiders.incremental.IncrementalSpider``) holds a new listing
back until its detail (posting, item) page is read. Here the sample site answers every detail page
of the source with HTTP 429 on the third night, after night 1 is stored: the first detail request
stops the source, Scrapy drops the others, and the held listings must come out anyway. The run
must be recorded as blocked, every listing on the search pages the site served must be stored by
this run, and nothing may be marked gone.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse, TextResponse

from keitrucks.crawl import run_crawl
from keitrucks.sample.catalog import NIGHTS
from keitrucks.sample.site import SampleServer
from scrapers.parsers import beforward, craigslist, ebay, sbtjapan
from tests.conftest import rows

pytestmark = pytest.mark.slow

FAULT_NIGHT = 2  # index into NIGHTS: the third night, with new and changed listings


def _html(target: str, body: bytes) -> HtmlResponse:
    return HtmlResponse(url="http://127.0.0.1" + target, body=body, encoding="utf-8")


def _json(target: str, body: bytes) -> TextResponse:
    return TextResponse(url="http://127.0.0.1" + target, body=body, encoding="utf-8")


@dataclass(frozen=True)
class Source:
    name: str
    #: Is this target (a path on the sample server) a detail page of the source?
    is_detail: Callable[[str], bool]
    #: The listing ids the spider reads from a search page, or None for other pages.
    search_ids: Callable[[str, bytes], set[str] | None]


def _beforward_ids(target: str, body: bytes) -> set[str] | None:
    if "/stocklist/" not in target:
        return None
    return {x.listing_id for x in beforward.parse_stock_list(_html(target, body)).listings}


def _sbtjapan_ids(target: str, body: bytes) -> set[str] | None:
    if "/used-cars/search" not in target:
        return None
    return {x.listing_id for x in sbtjapan.parse_search(_html(target, body)).listings}


def _craigslist_ids(target: str, body: bytes) -> set[str] | None:
    if "/postings/search/full" in target:
        page = craigslist.parse_search_full(_json(target, body))
    elif "/postings/search/batch" in target:
        page = craigslist.parse_search_batch(_json(target, body))
    else:
        return None
    return {x.listing_id for x in page.listings}


def _ebay_ids(target: str, body: bytes) -> set[str] | None:
    if "/sch/i.html" not in target:
        return None
    return {x.listing_id for x in ebay.parse_search_html(_html(target, body)).exact_listings}


SOURCES = [
    Source("beforward", lambda t: "/id/" in t, _beforward_ids),
    Source(
        "sbtjapan", lambda t: "/used-cars/" in t and "/used-cars/search" not in t, _sbtjapan_ids
    ),
    Source(
        "craigslist",
        lambda t: t.startswith("/craigslist/www/") and "/search/" not in t,
        _craigslist_ids,
    ),
    Source("ebay", lambda t: t.startswith("/ebay/www/itm/"), _ebay_ids),
]


def _copy(src: Path, dst: Path) -> Path:
    """A consistent copy of a WAL database (the backup API, never a file copy)."""
    source, target = sqlite3.connect(src), sqlite3.connect(dst)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    return dst


@pytest.fixture(scope="module")
def night1(tmp_path_factory):
    """The sample's first night of every source here, stored; and the server, still running."""
    folder = tmp_path_factory.mktemp("held")
    mp = pytest.MonkeyPatch()
    mp.delenv("EBAY_CLIENT_ID", raising=False)  # the crawl reads eBay's HTML pages
    mp.delenv("EBAY_CLIENT_SECRET", raising=False)
    with SampleServer() as server:
        baseline = folder / "night1.db"
        for source in SOURCES:
            result = run_crawl(
                source.name, db=baseline, base_url=server.base_url, as_of=NIGHTS[0], timeout=120
            )
            assert result.returncode == 0, result.stderr_tail
        yield server, baseline
    mp.undo()


@pytest.mark.parametrize("source", SOURCES, ids=[s.name for s in SOURCES])
def test_a_block_at_the_detail_pages_stores_every_held_listing(night1, source, tmp_path):
    server, baseline = night1
    db = _copy(baseline, tmp_path / "night3.db")
    before = {
        r["listing_id"]: r["status"]
        for r in rows(db, "SELECT listing_id, status FROM listings WHERE source = ?", [source.name])
    }
    server.night = FAULT_NIGHT + 1
    details = [t for t in server.routes() if t.startswith(f"/{source.name}/")]
    details = [t for t in details if source.is_detail(t)]
    assert details
    for target in details:
        server.fault(target, "status", status=429)
    start = len(server.requests)
    try:
        result = run_crawl(
            source.name,
            db=db,
            base_url=server.base_url,
            as_of=NIGHTS[FAULT_NIGHT],
            log_path=tmp_path / "crawl.log",
            timeout=120,
        )
    finally:
        server.faults.clear()
    assert result.returncode == 0, result.stderr_tail

    (run,) = rows(db, "SELECT * FROM runs WHERE source = ? ORDER BY id DESC LIMIT 1", [source.name])
    stats = json.loads(run["stats"])
    assert (run["status"], run["blocked_reason"]) == ("blocked", "http_429")
    assert (run["complete"], run["healthy"], run["gone_marked"]) == (0, 0, 0)
    # listings were held for their detail page when the block stopped the source
    assert stats.get("keitrucks/held_released_on_stop", 0) >= 1, stats

    # every listing on the search pages the site served is stored by this run: none lost
    seen: set[str] = set()
    for target in dict.fromkeys(server.requests[start:]):
        status, _, body, _ = server.answer(target)
        ids = source.search_ids(target, body) if status == 200 else None
        seen |= ids or set()
    stored = {
        r["listing_id"]
        for r in rows(db, "SELECT listing_id FROM listings WHERE last_run_id = ?", [run["id"]])
    }
    assert seen
    assert seen - stored == set()
    assert int(stats.get("item_scraped_count", 0)) == len(stored)

    # nothing marked gone, nothing vanished
    after = {
        r["listing_id"]: r["status"]
        for r in rows(db, "SELECT listing_id, status FROM listings WHERE source = ?", [source.name])
    }
    assert set(before) <= set(after)
    assert [i for i, s in after.items() if s == "gone" and before.get(i) != "gone"] == []
    gone_events = rows(
        db,
        "SELECT count(*) AS n FROM price_history WHERE event = 'gone' AND run_id = ?",
        [run["id"]],
    )
    assert gone_events[0]["n"] == 0

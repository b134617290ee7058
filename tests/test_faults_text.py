"""Hostile listing text is stored exactly as written and never executed, rendered or run.

Sellers write what they like, and a scraped page can carry anything: script tags, SQL, control
and direction characters, template and Markdown syntax, ``javascript:`` links, megabyte titles.
These listings go through the real item pipelines (``ITEM_PIPELINES`` of the project settings,
in order: validate, dedupe, normalize, landed cost, SQLite storage) into a database, then into the
HTML report and the alerts digest. Storage must keep every character (parameterised SQL, the
tables intact), and every output must escape it.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from dataclasses import replace

import pytest
from scrapy import signals
from scrapy.http import HtmlResponse
from scrapy.utils.misc import build_from_crawler, load_object
from scrapy.utils.project import get_project_settings
from scrapy.utils.test import get_crawler

from analysis.alerts import run_alerts
from analysis.report import write_report
from keitrucks.core.config import load_config
from keitrucks.sample.catalog import build_catalog
from keitrucks.sample.render_craigslist import posting_page
from scrapers.items import Listing
from scrapers.parsers import craigslist
from scrapers.spiders.base import ListingSpider
from tests.conftest import rows

SCRIPT = '<script>alert("pwned")</script><img src=x onerror=alert(1)>'
SQL = "Robert'); DROP TABLE listings;-- \" OR 1=1 --"
CONTROL = "tab\there nul\x00 bell\x07 esc\x1b[31m rlo\u202eevil bom\ufeff cr\r\nline"
TEMPLATE = "{{7*7}} ${7*7} %s %(x)s {0}"
MARKDOWN = "**bold** [click](javascript:alert(1)) `code` <b>html</b> | pipe |"
UNICODE = "🚚 軽トラ ハイゼット Ｈｉｊｅｔ"
HUGE = ("1995 Suzuki Carry 4WD mini truck " * 32_000)[:1_000_000]
EVIL_URL = "javascript:alert(document.cookie)"
NIGHT = "2026-11-24"
AS_OF = f"{NIGHT}T06:00:00+00:00"


class TextSpider(ListingSpider):
    name = "craigslist"


def plain_listings() -> list[Listing]:
    """Ordinary 4WD Carry trucks at ordinary prices: the comparables of the hostile ones."""
    return [
        Listing(
            source="craigslist",
            listing_id=f"79688{n:05d}",
            url=f"https://www.craigslist.org/view/d/plain-{n}",
            scraped_at=AS_OF,
            title="1995 Suzuki Carry 4x4 mini truck",
            description="4WD, 5 speed manual.",
            price_raw=f"${8000 + 150 * n:,}",
            location_raw="Knoxville, TN",
            year_raw="1995",
            make_model_raw="suzuki carry",
            drive_raw="4wd",
            transmission_raw="manual",
            mileage_raw="52000",
            seller_type="owner",
            price_basis="asking",
        )
        for n in range(10)
    ]


def hostile_listings() -> list[Listing]:
    """4WD trucks at half the price of their comparables (so they are alerted on), each carrying
    hostile text."""
    texts = {
        "script": SCRIPT,
        "sql": SQL,
        "control": CONTROL,
        "template": TEMPLATE,
        "markdown": MARKDOWN,
        "unicode": UNICODE,
        "huge": HUGE,
    }
    listings = []
    for n, (name, text) in enumerate(texts.items()):
        listings.append(
            Listing(
                source="craigslist",
                listing_id=f"79689{n:05d}",
                url=EVIL_URL if name == "script" else f"https://www.craigslist.org/view/d/{n}",
                scraped_at=AS_OF,
                title=f"1995 Suzuki Carry 4x4 {text}",
                description=f"4WD, 5 speed manual. {text}",
                price_raw=f"${3900 + n}",
                location_raw=text[:200],
                year_raw="1995",
                make_model_raw="suzuki carry",
                drive_raw="4wd",
                transmission_raw="manual",
                mileage_raw="48000",
                attributes={"condition": text[:200], text[:50]: "key"},
                seller_type="owner",
                price_basis="asking",
                image_urls=["https://images.craigslist.org/x_600x450.jpg", EVIL_URL],
            )
        )
    return listings


def run_pipelines(db, listings: list[Listing], as_of: str = AS_OF, failed: bool = False) -> dict:
    """Push ``listings`` through the project's item pipelines as one run; return the stats.

    ``failed``: a request of the run failed, so the run is not complete (nothing goes gone).
    """
    pipelines = get_project_settings().getdict("ITEM_PIPELINES")
    crawler = get_crawler(
        TextSpider,
        {"KEITRUCKS_DB_PATH": str(db), "KEITRUCKS_AS_OF": as_of, "ITEM_PIPELINES": pipelines},
    )
    crawler.spider = crawler._create_spider()
    crawler.stats.open_spider()
    crawler.signals.send_catch_log(signal=signals.spider_opened, spider=crawler.spider)
    order = sorted(pipelines.items(), key=lambda kv: kv[1])
    stages = [build_from_crawler(load_object(path), crawler) for path, _ in order]
    for stage in stages:
        if hasattr(stage, "open_spider"):
            stage.open_spider()
    for listing in listings:
        item = replace(listing)
        for stage in stages:
            item = stage.process_item(item)
    if failed:
        crawler.stats.inc_value("keitrucks/request_failed")
    for stage in stages:
        if hasattr(stage, "close_spider"):
            stage.close_spider()
    crawler.signals.send_catch_log(
        signal=signals.spider_closed, spider=crawler.spider, reason="finished"
    )
    return crawler.stats.get_stats()


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("hostile") / "hostile.db"
    started = time.monotonic()
    stats = run_pipelines(db, plain_listings() + hostile_listings())
    assert time.monotonic() - started < 20, "a 1 MB title must not stall the pipelines"
    assert stats.get("item_dropped_count") is None
    return db


def test_hostile_text_is_stored_verbatim(hostile_db):
    conn = sqlite3.connect(hostile_db)
    conn.row_factory = sqlite3.Row
    try:
        stored = {r["listing_id"]: dict(r) for r in conn.execute("SELECT * FROM listings")}
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()
    assert {"listings", "price_history", "runs", "alerts"} <= tables
    for listing in hostile_listings():
        row = stored[listing.listing_id]
        for name in ("title", "description", "location_raw", "url", "price_raw"):
            assert row[name] == getattr(listing, name), (listing.listing_id, name)
        assert json.loads(row["attributes"]) == listing.attributes
        assert json.loads(row["image_urls"]) == listing.image_urls
    assert len(stored[hostile_listings()[-1].listing_id]["title"]) > 999_000


def test_hostile_text_is_normalized_as_any_other_listing(hostile_db):
    trucks = rows(
        hostile_db,
        "SELECT model, is_4wd, year, price_usd, status FROM listings "
        "WHERE listing_id LIKE '79689%'",
    )
    assert {(t["model"], t["is_4wd"], t["year"], t["status"]) for t in trucks} == {
        ("Suzuki Carry", 1, 1995, "active")
    }
    assert sorted(t["price_usd"] for t in trucks) == list(range(3900, 3907))


def test_the_html_report_escapes_hostile_text_and_links_only_http(hostile_db, tmp_path):
    result = write_report(hostile_db, tmp_path, as_of=NIGHT, config=load_config(None))
    page = (result.folder / "report.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(" in page  # the title is shown, escaped
    assert "<script>alert(" not in page
    assert "<img src=x" not in page
    assert "<b>html</b>" not in page
    assert not re.search(r"""(href|src)\s*=\s*["']?\s*javascript:""", page, re.I)
    assert TEMPLATE in page  # shown as written: no template or format string ever saw it
    assert "Robert&#x27;); DROP TABLE listings;--" in page


def test_the_html_report_carries_no_control_or_direction_characters(hostile_db, tmp_path):
    result = write_report(hostile_db, tmp_path, as_of=NIGHT, config=load_config(None))
    page = (result.folder / "report.html").read_text(encoding="utf-8")
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", page)
    assert not re.search("[\u202a-\u202e\u2066-\u2069]", page)


@pytest.fixture(scope="module")
def digest(hostile_db, tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("digest")
    db = folder / "alerts.db"
    source, target = sqlite3.connect(hostile_db), sqlite3.connect(db)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    run = run_alerts(db, as_of=NIGHT, config=load_config(None), digest_dir=folder)
    assert {a["listing_id"] for a in run.raised} >= {x.listing_id for x in hostile_listings()}
    return run.digest_path.read_text(encoding="utf-8")


def test_the_alerts_digest_escapes_hostile_text(digest):
    assert "<script>" not in digest
    assert "<img" not in digest
    assert not re.search(r"(?<!\\)\]\(javascript:", digest)  # a Markdown link, unescaped
    assert "\\*\\*bold\\*\\*" in digest


def test_the_alerts_digest_carries_no_control_or_direction_characters(digest):
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", digest)
    assert not re.search("[\u202a-\u202e\u2066-\u2069]", digest)


def test_a_posting_page_keeps_hostile_text_verbatim():
    """The site escapes the text in its HTML; the parser gives back exactly what was written."""
    truck = next(t for t in build_catalog() if t.source == "craigslist")
    title = f"1995 Suzuki Carry 4x4 {SCRIPT} {SQL} {TEMPLATE} {UNICODE}"
    hostile = replace(truck, title=title, description=f"Runs great. {SCRIPT} {SQL}")
    page = posting_page(hostile, 0).encode()
    assert SCRIPT.encode() not in page  # the renderer escapes it, as the real site does
    url = "https://www.craigslist.org/view/d/knoxville-1995-suzuki-carry/Kx3vQm8LrT2pWn5YhB7cDe"
    posting = craigslist.parse_posting(HtmlResponse(url=url, body=page, encoding="utf-8"), AS_OF)
    assert posting.title == title
    assert posting.description == hostile.description


def test_a_megabyte_title_on_a_posting_page_is_read_whole_and_quickly():
    truck = next(t for t in build_catalog() if t.source == "craigslist")
    page = posting_page(replace(truck, title=HUGE.strip()), 0).encode()
    started = time.monotonic()
    posting = craigslist.parse_posting(
        HtmlResponse(
            url="https://www.craigslist.org/view/d/x/Kx3vQm8LrT2pWn5YhB7cDe",
            body=page,
            encoding="utf-8",
        ),
        AS_OF,
    )
    assert time.monotonic() - started < 10
    assert posting.title == HUGE.strip()

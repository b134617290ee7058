"""Re-crawls at write speed: a listing seen again with the same raw fields, under the same
normalizer, reference tables, configuration, as-of month and rates, is not normalized again (nor
landed): its stored fields stay and only the crawl's bookkeeping is written. Anything else that
went into its fields normalizes it again."""

from __future__ import annotations

import sqlite3
from dataclasses import replace

import pytest
from scrapy import signals
from scrapy.utils.misc import build_from_crawler, load_object
from scrapy.utils.project import get_project_settings
from scrapy.utils.test import get_crawler

from keitrucks.core.config import DEFAULT_CONFIG
from pipelines.listings import renormalize_listings, save_listings
from pipelines.normalize import fingerprint, normalize_listing
from pipelines.normalize import pipeline as normalize_pipeline
from pipelines.runs import start_run
from pipelines.schema import open_db
from scrapers.items import Listing
from scrapers.spiders.base import ListingSpider

NIGHT1, NIGHT2 = "2026-11-24T06:00:00+00:00", "2026-11-25T06:00:00+00:00"
NEXT_MONTH = "2026-12-02T06:00:00+00:00"


class RecrawlSpider(ListingSpider):
    name = "craigslist"


def listings(at: str = NIGHT1) -> list[Listing]:
    """A US asking price, an exporter's FOB price (landed cost) and a yen price."""
    return [
        Listing(
            source="craigslist",
            listing_id="100",
            url="https://knoxville.craigslist.org/cto/d/100.html",
            scraped_at=at,
            title="1998 Honda Acty 4x4 kei truck",
            description="Runs great, 5 speed manual, clean title.",
            price_raw="$6,500",
            mileage_raw="41,000 mi",
            location_raw="Knoxville, TN",
            price_basis="asking",
            attributes={"condition": "good", "title status": "clean"},
            image_urls=["https://images.example.test/100.jpg"],
        ),
        Listing(
            source="beforward",
            listing_id="CC1",
            url="https://www.beforward.jp/suzuki/carry-truck/cc1/id/1/",
            scraped_at=at,
            title="1996 SUZUKI CARRY TRUCK",
            price_raw="$2,980",
            currency_raw="USD",
            price_basis="fob",
            year_raw="1996/5",
            mileage_raw="48,000 km",
            drive_raw="4WD",
            attributes={"Model code": "DD51T"},
        ),
        Listing(
            source="ebay",
            listing_id="JP1",
            url="https://www.ebay.com/itm/JP1",
            scraped_at=at,
            title="1997 Daihatsu Hijet jumbo 4WD",
            price_raw="¥650,000",
            price_basis="asking",
        ),
    ]


def crawl(db_path, items: list[Listing], at: str, config_file=None) -> dict:
    """``items`` through the project's ITEM_PIPELINES as one crawl; returns its stats."""
    settings = {"KEITRUCKS_DB_PATH": str(db_path), "KEITRUCKS_AS_OF": at, "LOG_LEVEL": "WARNING"}
    if config_file:
        settings["KEITRUCKS_CONFIG"] = str(config_file)
    crawler = get_crawler(RecrawlSpider, settings)
    crawler.spider = crawler._create_spider()
    crawler.stats.open_spider()
    crawler.signals.send_catch_log(signals.spider_opened, spider=crawler.spider)
    pipelines = get_project_settings().getdict("ITEM_PIPELINES")
    stages = [
        build_from_crawler(load_object(path), crawler)
        for path, _ in sorted(pipelines.items(), key=lambda kv: kv[1])
    ]
    for stage in stages:
        if hasattr(stage, "open_spider"):
            stage.open_spider()
    for item in items:
        for stage in stages:
            item = stage.process_item(replace(item) if stage is stages[0] else item)
    crawler.signals.send_catch_log(signals.spider_closed, spider=crawler.spider, reason="finished")
    return crawler.stats.get_stats()


def stored(db_path) -> dict[str, dict]:
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    try:
        return {r["listing_id"]: dict(r) for r in conn.execute("SELECT * FROM listings")}
    finally:
        conn.close()


def history(db_path) -> list[tuple]:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute("SELECT listing_id, event FROM price_history ORDER BY id").fetchall()
    finally:
        conn.close()


@pytest.fixture
def normalized(monkeypatch) -> list[str]:
    """The listing ids the crawl's NormalizePipeline actually normalizes."""
    seen: list[str] = []

    def counting(raw, **kw):
        seen.append(raw["listing_id"])
        return normalize_listing(raw, **kw)

    monkeypatch.setattr(normalize_pipeline, "normalize_listing", counting)
    return seen


def test_an_unchanged_listing_gets_only_the_crawls_bookkeeping(tmp_path, normalized):
    db = tmp_path / "k.db"
    crawl(db, listings(NIGHT1), NIGHT1)
    before = stored(db)
    assert sorted(normalized) == ["100", "CC1", "JP1"]
    assert before["CC1"]["landed_usd"]
    assert before["JP1"]["price_usd"]
    normalized.clear()

    stats = crawl(db, listings(NIGHT2), NIGHT2)

    assert normalized == []
    assert stats["keitrucks/normalize/unchanged"] == 3
    assert stats["keitrucks/history/unchanged"] == 3
    assert "keitrucks/landed/filled" not in stats
    after = stored(db)
    bookkeeping = {"scraped_at", "last_seen_at", "last_run_id"}
    for lid, row in after.items():
        assert row["scraped_at"] == row["last_seen_at"] == NIGHT2
        assert row["last_run_id"] == before[lid]["last_run_id"] + 1
        assert row["first_seen_at"] == NIGHT1
        assert {k: v for k, v in row.items() if k not in bookkeeping} == {
            k: v for k, v in before[lid].items() if k not in bookkeeping
        }
    assert [e for _, e in history(db)] == ["new"] * 3


def test_the_copied_fields_are_what_normalizing_again_gives(tmp_path):
    db = tmp_path / "k.db"
    crawl(db, listings(NIGHT1), NIGHT1)
    crawl(db, listings(NIGHT2), NIGHT2)
    copied = stored(db)
    fresh = tmp_path / "fresh.db"
    crawl(fresh, listings(NIGHT2), NIGHT2)
    volatile = {"first_seen_at", "last_run_id", "norm_key"}
    for lid, row in stored(fresh).items():
        assert {k: v for k, v in row.items() if k not in volatile} == {
            k: v for k, v in copied[lid].items() if k not in volatile
        }


def test_a_changed_raw_field_normalizes_that_listing_again(tmp_path, normalized):
    db = tmp_path / "k.db"
    crawl(db, listings(NIGHT1), NIGHT1)
    normalized.clear()
    night2 = listings(NIGHT2)
    night2[0] = replace(night2[0], price_raw="$5,900")
    night2[2] = replace(night2[2], attributes={"Drive": "4WD"})

    stats = crawl(db, night2, NIGHT2)

    assert sorted(normalized) == ["100", "JP1"]
    assert stats["keitrucks/normalize/unchanged"] == 1
    rows = stored(db)
    assert rows["100"]["price_usd"] == 5900
    assert rows["JP1"]["attributes"] == '{"Drive": "4WD"}'
    assert ("100", "price_change") in history(db)


@pytest.mark.parametrize(
    "change",
    ["reference tables", "configuration", "as-of month"],
)
def test_what_the_fields_are_computed_from_normalizes_everything_again(
    tmp_path, normalized, monkeypatch, change
):
    db = tmp_path / "k.db"
    crawl(db, listings(NIGHT1), NIGHT1)
    normalized.clear()
    at, config = NIGHT2, None
    if change == "reference tables":
        monkeypatch.setattr(fingerprint, "normalizer_fingerprint", lambda: "a new terms.csv")
    elif change == "configuration":
        config = tmp_path / "band.toml"
        config.write_text("[band]\nlow = 4000\nhigh = 9000\n", encoding="utf-8")
    else:
        at = NEXT_MONTH

    crawl(db, listings(at), at, config_file=config)

    assert sorted(normalized) == ["100", "CC1", "JP1"]
    if change == "configuration":
        assert stored(db)["100"]["price_band"] == "in"


def test_a_new_exchange_rate_normalizes_the_listings_it_converts(tmp_path, normalized):
    rates = tmp_path / "fx.csv"
    rates.write_text(
        "date,currency,usd_per_unit\n2026-01-01,JPY,0.0070\n2026-11-25,JPY,0.0060\n",
        encoding="utf-8",
    )
    config = tmp_path / "fx.toml"
    config.write_text(f'[normalize]\nfx_table = "{rates.as_posix()}"\n', encoding="utf-8")
    db = tmp_path / "k.db"
    crawl(db, listings(NIGHT1), NIGHT1, config_file=config)
    assert stored(db)["JP1"]["price_usd"] == 4550
    normalized.clear()

    crawl(db, listings(NIGHT2), NIGHT2, config_file=config)

    # only the yen price takes the new rate; the dollar prices (FOB and asking) do not use it
    assert normalized == ["JP1"]
    assert stored(db)["JP1"]["price_usd"] == 3900


def test_a_gone_listing_that_returns_is_normalized_and_relisted(tmp_path, normalized):
    db = tmp_path / "k.db"
    crawl(db, listings(NIGHT1), NIGHT1)
    conn = sqlite3.connect(db)
    with conn:
        conn.execute(
            "UPDATE listings SET status = 'gone', gone_at = ? WHERE listing_id = '100'", [NIGHT1]
        )
    conn.close()
    normalized.clear()

    crawl(db, listings(NIGHT2), NIGHT2)

    assert normalized == ["100"]
    assert stored(db)["100"]["status"] == "active"
    assert ("100", "relisted") in history(db)


def test_renormalize_forgets_the_keys_so_the_next_crawl_normalizes(tmp_path, normalized):
    db = tmp_path / "k.db"
    crawl(db, listings(NIGHT1), NIGHT1)
    database = open_db(db)
    renormalize_listings(database, lambda raw: normalize_listing(raw, config=DEFAULT_CONFIG))
    database.close()
    assert {row["norm_key"] for row in stored(db).values()} == {None}
    normalized.clear()

    crawl(db, listings(NIGHT2), NIGHT2)

    assert sorted(normalized) == ["100", "CC1", "JP1"]
    assert all(row["norm_key"] for row in stored(db).values())


def test_bookkeeping_and_upserts_of_a_batch_are_one_transaction(tmp_path):
    db = open_db(tmp_path / "k.db")
    run1 = start_run(db, "craigslist", search_key="s", as_of=NIGHT1, started_at=NIGHT1)
    save_listings(db, [listings()[0]], run_id=run1, seen_at=NIGHT1)
    run2 = start_run(db, "craigslist", search_key="s", as_of=NIGHT2, started_at=NIGHT2)
    broken = replace(listings()[0], listing_id="101", title=object())  # SQLite cannot store it
    with pytest.raises(sqlite3.Error):
        save_listings(
            db,
            [broken],
            run_id=run2,
            seen_at=NIGHT2,
            unchanged=[("craigslist", "100", NIGHT2)],
        )
    row = next(db.query("SELECT last_seen_at, last_run_id FROM listings WHERE listing_id = '100'"))
    assert row == {"last_seen_at": NIGHT1, "last_run_id": run1}
    db.close()

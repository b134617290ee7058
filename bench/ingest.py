"""Benchmark of ingestion: listings per second through the whole item pipeline into SQLite.

Builds N distinct raw listings from the sample catalog (every truck repeated with its own id,
price, mileage and description, raw fields as the sample pages show them; titles repeat, as
sellers' titles do), then times, in the same run:

- the project's pipeline: the project's ``ITEM_PIPELINES`` in order (validate, dedupe, normalize,
  landed cost, storage with price history and the ``runs`` row), driven in process as Scrapy
  drives them, into a fresh WAL database;
- the ceiling: raw ``sqlite3`` ``executemany`` upserts of the very rows the pipeline stored, in
  one transaction, into the same schema (no normalization, no history: just the writes);
- the usual pipeline: sqlite-utils ``table.upsert(row, pk=...)`` per row, each its own commit,
  of the same rows, in a database as ``sqlite_utils.Database(path)`` makes it (rollback journal,
  ``synchronous=FULL``: a sync per commit); and the same loop tuned as ours is (WAL,
  ``synchronous=NORMAL``), which only leaves sqlite-utils' per-call cost. Both on a subset, as they
  are slow; their rate is what counts.

Every timed span begins with a garbage collection, so the listings built for it up front are not
the collector's work inside the span (the pipeline's own garbage still is). Each twice: a first
crawl (every listing new, the normalizer's per-text caches emptied before it: each round
ingests the same listings, which a real first crawl reads for the first time) and a re-crawl
the next night where 3% of the prices changed (history rows only for those). Wall-clock
time, best of ``--rounds`` interleaved rounds. Prints ``listings/s`` lines and
``ratio ingest_<first|recrawl>/<baseline> <v>``
(pipeline listings/s over baseline listings/s: higher is better; targets >= 0.25 on the first
crawl and >= 0.5 on the re-crawl against raw executemany, >= 10 against sqlite-utils per row),
the storage stage alone against the ceiling, the pipeline against the ceiling in process CPU
time (``ratio ingest_<night>_cpu/raw_executemany_cpu``, best of the rounds: on a shared machine
wall time adds waits, the most to the longer contender), and the CPU microseconds each
pipeline stage spends per listing on both nights, to show where the time goes.

    .venv/bin/python bench/ingest.py                 # 20,000 listings, best of 3
    .venv/bin/python bench/ingest.py --listings 100000
"""

from __future__ import annotations

import argparse
import gc
import random
import sqlite3
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scrapy import signals  # noqa: E402
from scrapy.utils.misc import build_from_crawler, load_object  # noqa: E402
from scrapy.utils.project import get_project_settings  # noqa: E402
from scrapy.utils.test import get_crawler  # noqa: E402
from sqlite_utils import Database  # noqa: E402

from keitrucks.sample.catalog import NIGHTS, build_catalog  # noqa: E402
from pipelines.normalize import clear_caches, geo  # noqa: E402
from pipelines.schema import ensure_schema, open_db  # noqa: E402
from scrapers.items import Listing  # noqa: E402
from scrapers.spiders.base import ListingSpider  # noqa: E402

FIRST = f"{NIGHTS[0]}T06:00:00+00:00"
NEXT = f"{NIGHTS[1]}T06:00:00+00:00"
STORAGE = "pipelines.storage.SQLitePipeline"


class BenchSpider(ListingSpider):
    name = "craigslist"


def raw_listing(truck, n: int, rng: random.Random) -> Listing:
    """One raw listing as the sample sources show ``truck``, made distinct by ``n``."""
    state = next((s for s in truck.nights if s and s.price), None)
    price = (state.price if state else 7000) + rng.randint(-900, 900)
    unit = "km" if truck.mileage_unit == "km" else "mi"
    mileage = (truck.mileage or 40000) + rng.randint(0, 9999)
    base = dict(
        source=truck.source,
        listing_id=f"{truck.listing_id}-{n}",
        url=f"https://example.test/{truck.source}/{truck.listing_id}-{n}",
        scraped_at=FIRST,
        title=truck.title,
        # each seller writes their own text: a repeated description would be read once and
        # then found in the normalizer's per-text caches, which a real first crawl rarely does
        description=f"{truck.description or ''} Ask for unit {n}.".strip(),
        location_raw=truck.location,
        seller_type=truck.seller_type,
        image_urls=[
            f"https://images.example.test/{truck.listing_id}-{n}_{i}.jpg" for i in range(3)
        ],
    )
    if truck.source == "beforward":
        return Listing(
            **base,
            price_raw=f"${price:,}",
            currency_raw="USD",
            price_basis="fob",
            year_raw=f"{truck.year}/{truck.month}" if truck.month else str(truck.year),
            make_model_raw=truck.title.split(" ", 1)[1],
            mileage_raw=f"{mileage:,} km",
            drive_raw="4WD" if truck.is_4wd else "2WD",
            transmission_raw="MT" if truck.transmission == "manual" else "AT",
            total_price_raw=f"${price + 1780:,}",
            destination_port=truck.destination_port,
            attributes={"Model code": truck.model_code or "-", "Engine": f"{truck.engine_cc}cc"},
        )
    if truck.source == "bringatrailer":
        return Listing(
            **base,
            price_raw=f"USD ${price:,}",
            currency_raw="USD",
            price_basis="sold",
            status_raw="sold",
            mileage_raw=f"{mileage // 1000}k miles",
            year_raw=str(truck.year) if truck.year else None,
            attributes={"sold_text": f"Sold for USD ${price:,} on 11/1/26"},
        )
    return Listing(
        **base,
        price_raw=f"${price:,}",
        price_basis="asking",
        year_raw=str(truck.year) if truck.year else None,
        make_model_raw=truck.model.lower() if truck.model else None,
        mileage_raw=f"{mileage:,} {unit}",
        drive_raw=("4wd" if truck.is_4wd else "rwd") if truck.is_4wd is not None else None,
        transmission_raw=truck.transmission,
        latitude=truck.latitude,
        longitude=truck.longitude,
        attributes={"condition": "good", "title status": "clean"},
    )


def make_listings(count: int, seed: int = 7) -> list[Listing]:
    rng = random.Random(seed)
    catalog = [t for t in build_catalog() if any(t.nights)]
    return [raw_listing(catalog[n % len(catalog)], n, rng) for n in range(count)]


def next_night(listings: list[Listing], share: float, seed: int = 11) -> list[Listing]:
    """The same listings a night later, ``share`` of them with a new price."""
    rng = random.Random(seed)
    out = []
    for listing in listings:
        price_raw = listing.price_raw
        if rng.random() < share and price_raw:
            digits = int("".join(c for c in price_raw if c.isdigit()))
            price_raw = price_raw.replace(f"{digits:,}", f"{digits - 250:,}")
        out.append(replace(listing, scraped_at=NEXT, price_raw=price_raw))
    return out


# -- the three ways of writing ----------------------------------------------------------------


def forget_texts() -> None:
    """Empty the normalizer's per-text caches before a first crawl's timed span: the rounds
    ingest the same listings, and from the second round on the caches kept from the first
    would answer every description a real first crawl reads for the first time. The tables
    those caches also held (the ZIP table) are loaded again here, as a crawl loads them once."""
    clear_caches()
    geo.city_centre("knoxville", "TN")


def settled() -> None:
    """Collect garbage before a timed span: the listings built for it up front (tens of
    thousands of objects at once, which a crawl never holds) would otherwise make the collector
    walk every object in the process during the span, on whichever stage allocates next."""
    gc.collect()


def run_pipeline(
    db: Path,
    listings: list[Listing],
    as_of: str,
    only_storage: bool = False,
    cpu: list[float] | None = None,
    cold: bool = False,
):
    """The project's item pipelines over ``listings`` as one crawl; returns seconds (and appends
    the process CPU seconds of the same span to ``cpu``)."""
    pipelines = get_project_settings().getdict("ITEM_PIPELINES")
    if only_storage:
        pipelines = {STORAGE: pipelines[STORAGE]}
    crawler = get_crawler(
        BenchSpider,
        {
            "KEITRUCKS_DB_PATH": str(db),
            "KEITRUCKS_AS_OF": as_of,
            "ITEM_PIPELINES": pipelines,
            "LOG_LEVEL": "WARNING",
        },
    )
    items = [replace(x) for x in listings]  # the pipelines fill fields in place
    if cold:
        forget_texts()
    settled()
    start, cpu_start = time.perf_counter(), time.process_time()
    crawler.spider = crawler._create_spider()
    crawler.stats.open_spider()
    crawler.signals.send_catch_log(signal=signals.spider_opened, spider=crawler.spider)
    stages = [
        build_from_crawler(load_object(path), crawler)
        for path, _ in sorted(pipelines.items(), key=lambda kv: kv[1])
    ]
    for stage in stages:
        if hasattr(stage, "open_spider"):
            stage.open_spider()
    for item in items:
        for stage in stages:
            item = stage.process_item(item)
    for stage in stages:
        if hasattr(stage, "close_spider"):
            stage.close_spider()
    crawler.signals.send_catch_log(
        signal=signals.spider_closed, spider=crawler.spider, reason="finished"
    )
    if cpu is not None:
        cpu.append(time.process_time() - cpu_start)
    return time.perf_counter() - start


def stored_rows(db: Path) -> tuple[list[str], list[tuple]]:
    conn = sqlite3.connect(db)
    try:
        cursor = conn.execute("SELECT * FROM listings ORDER BY rowid")
        return [d[0] for d in cursor.description], cursor.fetchall()
    finally:
        conn.close()


def raw_executemany(
    db: Path, columns: list[str], rows: list[tuple], cpu: list[float] | None = None
) -> float:
    """The ceiling: one transaction of executemany upserts; returns seconds (and appends the
    process CPU seconds to ``cpu``)."""
    update = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in ("source", "listing_id"))
    sql = (
        f"INSERT INTO listings ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
        f"ON CONFLICT(source, listing_id) DO UPDATE SET {update}"
    )
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    try:
        settled()
        start, cpu_start = time.perf_counter(), time.process_time()
        conn.execute("BEGIN")
        conn.executemany(sql, rows)
        conn.execute("COMMIT")
        if cpu is not None:
            cpu.append(time.process_time() - cpu_start)
        return time.perf_counter() - start
    finally:
        conn.close()


def sqlite_utils_per_row(db: Path, columns: list[str], rows: list[tuple], tuned: bool) -> float:
    """The usual pipeline: ``upsert`` one row at a time, each committed; returns seconds."""
    database = Database(db)
    if tuned:
        database.enable_wal()
        database.execute("PRAGMA synchronous = NORMAL")
    table = database["listings"]
    try:
        settled()
        start = time.perf_counter()
        for row in rows:
            table.upsert(dict(zip(columns, row, strict=True)), pk=("source", "listing_id"))
        return time.perf_counter() - start
    finally:
        database.close()


def fresh(folder: Path, name: str, wal: bool = True) -> Path:
    """An empty database in the tracker's schema; ``wal=False``: as sqlite-utils creates one."""
    db = folder / f"{name}.db"
    for path in folder.glob(f"{name}.db*"):
        path.unlink()
    if wal:
        open_db(db).close()
    else:
        database = Database(db)
        ensure_schema(database)
        database.close()
    return db


def stage_costs(
    db: Path, listings: list[Listing], as_of: str, cold: bool = False
) -> dict[str, float]:
    """CPU microseconds per listing spent in each pipeline's process_item (flushes included)."""
    pipelines = get_project_settings().getdict("ITEM_PIPELINES")
    crawler = get_crawler(
        BenchSpider,
        {
            "KEITRUCKS_DB_PATH": str(db),
            "KEITRUCKS_AS_OF": as_of,
            "ITEM_PIPELINES": pipelines,
            "LOG_LEVEL": "WARNING",
        },
    )
    crawler.spider = crawler._create_spider()
    crawler.stats.open_spider()
    crawler.signals.send_catch_log(signal=signals.spider_opened, spider=crawler.spider)
    order = sorted(pipelines.items(), key=lambda kv: kv[1])
    stages = [
        (path.rsplit(".", 1)[-1], build_from_crawler(load_object(path), crawler))
        for path, _ in order
    ]
    spent = dict.fromkeys((name for name, _ in stages), 0.0)
    for _, stage in stages:
        if hasattr(stage, "open_spider"):
            stage.open_spider()
    items = [replace(x) for x in listings]
    if cold:
        forget_texts()
    settled()
    for item in items:
        for name, stage in stages:
            start = time.process_time()
            item = stage.process_item(item)
            spent[name] += time.process_time() - start
    start = time.process_time()
    for _, stage in stages:
        if hasattr(stage, "close_spider"):
            stage.close_spider()
    crawler.signals.send_catch_log(
        signal=signals.spider_closed, spider=crawler.spider, reason="finished"
    )
    spent["close (last batch, runs row, gone)"] = time.process_time() - start
    return {name: 1e6 * seconds / len(listings) for name, seconds in spent.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--listings", type=int, default=20_000)
    parser.add_argument(
        "--peer-listings",
        type=int,
        default=2_000,
        help="rows timed for the per-row baseline tuned as ours (WAL)",
    )
    parser.add_argument(
        "--usual-listings",
        type=int,
        default=300,
        help="rows timed for the per-row baseline as sqlite-utils makes it",
    )
    parser.add_argument("--changed", type=float, default=0.03, help="share repriced on night 2")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (best is kept)")
    args = parser.parse_args(argv)
    first = make_listings(args.listings)
    second = next_night(first, args.changed)
    n, peer_n = len(first), min(args.peer_listings, len(first))
    usual_n = min(args.usual_listings, len(first))
    print(
        f"listings {n}; re-crawl with {args.changed:.0%} repriced; per-row sqlite-utils on "
        f"{usual_n} (as created) and {peer_n} (WAL)"
    )

    best: dict[str, float] = {}

    def keep(name: str, seconds: float) -> None:
        best[name] = min(best.get(name, float("inf")), seconds)

    cpu: dict[str, list[float]] = {
        k: [] for k in ("pipeline_first", "pipeline_recrawl", "raw_first", "raw_recrawl")
    }

    with tempfile.TemporaryDirectory(prefix="kt-ingest-") as tmp:
        folder = Path(tmp)
        for _ in range(args.rounds):
            db = fresh(folder, "pipeline")
            keep(
                "pipeline_first",
                run_pipeline(db, first, FIRST, cpu=cpu["pipeline_first"], cold=True),
            )
            columns, rows_first = stored_rows(db)
            keep("pipeline_recrawl", run_pipeline(db, second, NEXT, cpu=cpu["pipeline_recrawl"]))
            _, rows_second = stored_rows(db)

            db = fresh(folder, "storage")
            keep(
                "storage_first",
                run_pipeline(db, rows_as_listings(columns, rows_first), FIRST, only_storage=True),
            )
            keep(
                "storage_recrawl",
                run_pipeline(db, rows_as_listings(columns, rows_second), NEXT, only_storage=True),
            )

            db = fresh(folder, "raw")
            keep("raw_first", raw_executemany(db, columns, rows_first, cpu["raw_first"]))
            keep("raw_recrawl", raw_executemany(db, columns, rows_second, cpu["raw_recrawl"]))

            db = fresh(folder, "usual", wal=False)
            keep("usual_first", sqlite_utils_per_row(db, columns, rows_first[:usual_n], False))
            keep("usual_recrawl", sqlite_utils_per_row(db, columns, rows_second[:usual_n], False))

            db = fresh(folder, "tuned")
            keep("tuned_first", sqlite_utils_per_row(db, columns, rows_first[:peer_n], True))
            keep("tuned_recrawl", sqlite_utils_per_row(db, columns, rows_second[:peer_n], True))
        conn = sqlite3.connect(folder / "pipeline.db")
        history = conn.execute(
            "SELECT event, count(*) FROM price_history GROUP BY event ORDER BY event"
        ).fetchall()
        conn.close()
        stages_db = fresh(folder, "stages")
        costs = {
            "first": stage_costs(stages_db, first, FIRST, cold=True),
            "recrawl": stage_costs(stages_db, second, NEXT),
        }
    print(f"history rows of the last round: {dict(history)}")

    sizes = {"usual": usual_n, "tuned": peer_n}
    rate = {k: sizes.get(k.split("_")[0], n) / v for k, v in best.items()}
    for name in ("pipeline", "storage", "raw", "usual", "tuned"):
        for night in ("first", "recrawl"):
            print(f"listings/s {name}_{night} {rate[f'{name}_{night}']:,.0f}")
    for night, spent in costs.items():
        for stage, micros in spent.items():
            print(f"cpu us/listing {night} {stage} {micros:.1f}")
        print(f"cpu us/listing {night} total {sum(spent.values()):.1f}")
    for night in ("first", "recrawl"):
        pipeline = rate[f"pipeline_{night}"]
        print(f"ratio ingest_{night}/raw_executemany {pipeline / rate[f'raw_{night}']:.2f}")
        print(f"ratio ingest_{night}/sqlite_utils_per_row {pipeline / rate[f'usual_{night}']:.1f}")
        print(
            f"ratio ingest_{night}/sqlite_utils_per_row_wal {pipeline / rate[f'tuned_{night}']:.1f}"
        )
        print(
            f"ratio store_{night}/raw_executemany "
            f"{rate[f'storage_{night}'] / rate[f'raw_{night}']:.2f}"
        )
        # the same ratio in process CPU time, best of the rounds: what the code costs, without
        # the waits a shared machine adds to wall time (and to the slower contender the most)
        print(
            f"ratio ingest_{night}_cpu/raw_executemany_cpu "
            f"{min(cpu[f'raw_{night}']) / min(cpu[f'pipeline_{night}']):.2f}"
        )
    return 0


def rows_as_listings(columns: list[str], rows: list[tuple]) -> list[Listing]:
    """Stored rows back as already-normalized Listings (for timing the storage stage alone)."""
    import json

    names = set(Listing.field_names())
    out = []
    for row in rows:
        data = {c: v for c, v in zip(columns, row, strict=True) if c in names}
        for key in ("attributes", "image_urls"):
            data[key] = json.loads(data[key]) if data.get(key) else None
        data["is_4wd"] = None if data.get("is_4wd") is None else bool(data["is_4wd"])
        data["eligible_25y"] = (
            None if data.get("eligible_25y") is None else bool(data["eligible_25y"])
        )
        out.append(Listing(**data))
    return out


if __name__ == "__main__":
    raise SystemExit(main())

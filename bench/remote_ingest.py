"""Benchmark of storing a Scrapyd job's feed against storing the same crawl locally.

A remote job (``pipelines.remote``) sends its raw listings home as JSON Lines; the night's host
replays them through the same pipelines (``keitrucks.remote_ingest``). What the replay adds is
reading the feed (JSON parsing, Listing rebuilt), the stand-in crawler and the job bookkeeping.
This times, in the same run and on the same N raw listings (``bench/ingest.py``'s generator):

- the baseline: the project's ``ITEM_PIPELINES`` driven in process as a local crawl drives them
  (``bench/ingest.py``'s ``run_pipeline``), into a fresh database;
- the contender: the listings as the job's feed (Scrapy's JSON Lines exporter, plus the run
  record line), read with ``read_feed`` and stored with ``ingest_feed`` into a fresh database;

a first night (every listing new) and the next night (3% repriced) each. Wall-clock time, best
of ``--rounds`` interleaved rounds. Prints ``time`` lines and ``ratio remote_<night>/local
<v>`` (the feed's seconds over the local pipeline's: lower is better; 1.0 would mean the
replay costs nothing beyond the pipelines themselves).

    .venv/bin/python bench/remote_ingest.py            # 5,000 listings, best of 3
    .venv/bin/python bench/remote_ingest.py --listings 20000
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ingest import FIRST, NEXT, BenchSpider, fresh, make_listings, next_night, run_pipeline  # noqa: E402
from scrapy.exporters import JsonLinesItemExporter  # noqa: E402

from keitrucks.remote_ingest import ingest_feed, read_feed  # noqa: E402
from pipelines.remote import RUN_RECORD_KEY  # noqa: E402


def feed_of(listings, as_of: str) -> bytes:
    """The listings as a remote job's feed: one JSON line each, then the run record."""
    out = io.BytesIO()
    exporter = JsonLinesItemExporter(out)
    exporter.start_exporting()
    for listing in listings:
        exporter.export_item(replace(listing))
    exporter.finish_exporting()
    record = {
        "source": BenchSpider.name,
        "search_key": f"{BenchSpider.name}:bench",
        "as_of": as_of,
        "started_at": as_of,
        "finished_at": as_of,
        "finish_reason": "finished",
        "pid": 1,
        "stats": {"item_scraped_count": len(listings), "downloader/request_count": 1},
    }
    out.write(json.dumps({RUN_RECORD_KEY: record}).encode() + b"\n")
    return out.getvalue()


def run_feed(db: Path, feed: bytes, job_id: str, as_of: str) -> float:
    start = time.perf_counter()
    ingest_feed(
        db, read_feed(feed.splitlines()), job_id=job_id, source=BenchSpider.name, as_of=as_of
    )
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--listings", type=int, default=5_000)
    parser.add_argument("--changed", type=float, default=0.03, help="share repriced on night 2")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (best is kept)")
    args = parser.parse_args(argv)
    first = make_listings(args.listings)
    second = next_night(first, args.changed)
    feeds = {"first": feed_of(first, FIRST), "next": feed_of(second, NEXT)}
    print(
        f"listings {len(first)}; next night with {args.changed:.0%} repriced; feed "
        f"{len(feeds['first']) / 1e6:.1f} MB"
    )
    best: dict[str, float] = {}

    def keep(name: str, seconds: float) -> None:
        best[name] = min(best.get(name, float("inf")), seconds)

    with tempfile.TemporaryDirectory(prefix="kt-remote-") as tmp:
        folder = Path(tmp)
        for n in range(args.rounds):
            db = fresh(folder, "local")
            keep("local_first", run_pipeline(db, first, FIRST))
            keep("local_next", run_pipeline(db, second, NEXT))
            db = fresh(folder, "remote")
            keep("remote_first", run_feed(db, feeds["first"], f"job-{n}-1", FIRST))
            keep("remote_next", run_feed(db, feeds["next"], f"job-{n}-2", NEXT))
    for name, seconds in best.items():
        print(f"time {name} {seconds:.3f}s ({len(first) / seconds:,.0f} listings/s)")
    for night in ("first", "next"):
        print(f"ratio remote_{night}/local {best[f'remote_{night}'] / best[f'local_{night}']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark of the demo's crawl: its nights in one Scrapy process against one process per source.

The demo crawls 25 weekly nights of sample history and then three nights (``keitrucks demo``).
It runs them all in one ``keitrucks.demo_crawl`` process; a night of ``keitrucks nightly``
starts one ``scrapy crawl`` process per source instead (``keitrucks.night.crawl_sources``, two
at a time). This script crawls the same nights of the sample's history both ways, each into a
fresh database, on one ``SampleServer`` rendering the pages in memory (127.0.0.1, a port the
OS chooses), and checks that both databases hold the same listings and price history.

Prints the wall-clock seconds of each, then ``ratio demo_one_process/process_per_source <v>``
(the per-source crawl's seconds over the one process's: higher is better).

    .venv/bin/python bench/demo.py              # the last 3 weeks of history
    .venv/bin/python bench/demo.py --weeks 25   # the whole history
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from keitrucks.demo import DemoCrawl, _render_timeline, crawl_plan  # noqa: E402
from keitrucks.night import crawl_sources  # noqa: E402
from keitrucks.sample.build import sample_config_toml  # noqa: E402
from keitrucks.sample.catalog import HISTORY  # noqa: E402
from keitrucks.sample.history import history_catalog  # noqa: E402
from keitrucks.sample.site import SampleServer  # noqa: E402


def stored(db: Path) -> tuple[list, list]:
    """What a crawl stored: listings (id, status, price) and history (id, event, price)."""
    conn = sqlite3.connect(db)
    try:
        listings = conn.execute(
            "SELECT source, listing_id, status, price FROM listings ORDER BY 1, 2"
        ).fetchall()
        history = conn.execute(
            "SELECT source, listing_id, event, price, status FROM price_history "
            "ORDER BY 1, 2, observed_at, id"
        ).fetchall()
    finally:
        conn.close()
    return listings, history


def one_process(plan, server, config: Path, folder: Path) -> float:
    db = folder / "one.db"
    started = time.perf_counter()
    with DemoCrawl(
        db, plan, base_url=server.base_url, config_path=config, log_dir=folder / "one"
    ) as crawl:
        for _ in crawl.nights():
            pass
    return time.perf_counter() - started


def process_per_source(plan, server, config: Path, folder: Path) -> float:
    db = folder / "per-source.db"
    started = time.perf_counter()
    for night in plan:
        server.night = night["night"]
        outcomes = crawl_sources(
            db,
            night["sources"],
            as_of=night["as_of"],
            base_url=server.base_url,
            config_path=str(config),
            log_dir=folder / "per-source",
        )
        failed = [o.line for o in outcomes if not o.ok]
        if failed:
            raise SystemExit(f"a per-source crawl failed: {failed[0]}")
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weeks", type=int, default=3, help="last weeks of history to crawl")
    args = parser.parse_args(argv)
    weeks = max(1, min(args.weeks, len(HISTORY)))
    catalog = history_catalog()
    plan = crawl_plan(catalog)[len(HISTORY) - weeks : len(HISTORY)]
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp:
        folder = Path(tmp)
        config = folder / "sample-sources.toml"
        config.write_text(sample_config_toml(), encoding="utf-8")
        with SampleServer(render=partial(_render_timeline, catalog)) as server:
            ours = one_process(plan, server, config, folder)
            baseline = process_per_source(plan, server, config, folder)
        if stored(folder / "one.db") != stored(folder / "per-source.db"):
            print("the two crawls stored different listings or history", file=sys.stderr)
            return 1
    crawls = sum(len(n["sources"]) for n in plan)
    print(f"{weeks} nights, {crawls} source crawls")
    print(f"demo_one_process      {ours:7.1f} s")
    print(f"process_per_source    {baseline:7.1f} s")
    print(f"ratio demo_one_process/process_per_source {baseline / ours:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

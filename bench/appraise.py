"""Benchmark of ``keitrucks appraise`` on a year of synthetic history, against the report's own
deal scoring of the same listing.

The database is ``bench/report.py``'s generator at its constant rate of history rows per night,
sized to a year of nights (2.5M price_history rows, 200k listings by default). One listing of the
market (an active 4WD asking-price truck, repriced to half) is appraised: ``read_market`` and
``analysis.appraise.appraise``, what the command and the web page do after their imports. The
baseline is how the nightly report scores that listing: ``read_listings_as_of`` over the report
window and ``score_deals`` on the whole state with the listing in it. Both run in this process
after a warm-up, interleaved, best of ``--rounds``; prints ``time`` lines, ``ratio
appraise/report_scoring`` (our seconds over the baseline's: lower is better) and ``cpu_ratio``.

    .venv/bin/python bench/appraise.py             # generates the year once (a few minutes)
    .venv/bin/python bench/appraise.py --rows 1000000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from report import ROWS_PER_NIGHT, generate, schema_key  # noqa: E402

from pipelines.schema import open_db  # noqa: E402

YEAR_ROWS = 365 * ROWS_PER_NIGHT
#: The report's window (``analysis.report``: weeks shown, with its margin before them).
REPORT_WEEKS = 12


def market_db(workdir: Path, listings: int, rows: int) -> tuple[Path, dt.date]:
    db = workdir / f"appraise-{listings}-{rows}-{schema_key()}.db"
    meta = db.with_suffix(".json")
    if db.is_file() and meta.is_file():
        open_db(db).close()
        return db, dt.date.fromisoformat(json.loads(meta.read_text())["as_of"])
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    started = time.perf_counter()
    as_of = generate(db, listings, rows)
    meta.write_text(json.dumps({"as_of": as_of.isoformat()}))
    print(f"generated {rows:,} history rows in {time.perf_counter() - started:.0f}s", flush=True)
    return db, as_of


def subject(db: Path) -> dict:
    """An active 4WD truck of the market at an asking price, repriced to half, as a new
    listing (another source and id: not the stored one)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    row = conn.execute(
        "SELECT * FROM listings WHERE status = 'active' AND is_4wd = 1 AND price_basis = 'asking'"
        " ORDER BY rowid LIMIT 1"
    ).fetchone()
    conn.close()
    listing = dict(row)
    half = int(listing["price_usd"]) // 2
    listing.update(
        source="pasted",
        listing_id="bench-subject",
        identity=None,
        price=half,
        price_usd=half,
        is_4wd=True,
        kind="kei_truck",
        runs=True,
        title_status="clean",
        eligible_25y=True,
        landed_usd=None,
        landed=None,
        normalize_notes=[],
    )
    return listing


def run_appraise(db: Path, day: dt.date, listing: dict) -> dict:
    from analysis.appraise import appraise, read_market

    return appraise(listing, read_market(db, day, {}, listing), as_of=day, config={})


def run_report_scoring(db: Path, day: dt.date, listing: dict):
    import pandas as pd

    from analysis.deals import score_deals
    from analysis.load import read_listings_as_of

    since = day - dt.timedelta(weeks=REPORT_WEEKS)
    state = read_listings_as_of(db, day, since=since)
    seen = pd.Timestamp(day, tz="UTC") + pd.Timedelta(hours=6)
    mine = {c: listing.get(c) for c in state.columns if c in listing}
    mine |= {"status": "active", "first_seen_at": seen, "last_seen_at": seen}
    frame = pd.concat([state, pd.DataFrame([mine])], ignore_index=True)
    scores = score_deals(frame, as_of=day, config={})
    return scores.loc[scores["listing_id"] == "bench-subject"].iloc[0]


def timed(fn, *args) -> tuple[float, float, object]:
    cpu, wall = time.process_time(), time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - wall, time.process_time() - cpu, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listings", type=int, default=200_000)
    parser.add_argument("--rows", type=int, default=YEAR_ROWS, help="history rows (a year)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "keitrucks-bench")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    db, day = market_db(args.dir, args.listings, args.rows)
    listing = subject(db)
    print(f"== {args.rows:,} history rows, {args.listings:,} listings, as of {day}", flush=True)
    run_appraise(db, day, listing)  # warm-up: imports, caches, the file in the page cache
    run_report_scoring(db, day, listing)
    best = {"appraise": (1e9, 1e9), "report_scoring": (1e9, 1e9)}
    for _ in range(args.rounds):
        wall, cpu, result = timed(run_appraise, db, day, listing)
        best["appraise"] = (min(best["appraise"][0], wall), min(best["appraise"][1], cpu))
        wall, cpu, score = timed(run_report_scoring, db, day, listing)
        best["report_scoring"] = (
            min(best["report_scoring"][0], wall),
            min(best["report_scoring"][1], cpu),
        )
    fair = result["fair_price"] or {}
    same = fair.get("fair_price_usd") == (
        None if score["fair_price_usd"] is None else int(score["fair_price_usd"])
    )
    print(
        f"appraisal: deal {result['deal']}, fair {fair.get('fair_price_usd')} "
        f"({fair.get('n_comparables')} comparables); report scoring: fair "
        f"{score['fair_price_usd']} ({score['n_comparables']}); same fair price: {same}",
        flush=True,
    )
    for name, (wall, cpu) in best.items():
        print(f"time {name} {wall:.3f}s cpu {cpu:.3f}s", flush=True)
    ratio = best["appraise"][0] / best["report_scoring"][0]
    print(f"ratio appraise/report_scoring {ratio:.3f}", flush=True)
    print(
        f"cpu_ratio appraise/report_scoring {best['appraise'][1] / best['report_scoring'][1]:.3f}"
    )


if __name__ == "__main__":
    main()

"""Benchmark of ``keitrucks report`` on a synthetic history, against two baselines.

Generates a database in the tracker's schema (200k listings; 1M price_history rows by default,
10M with ``--large``) at a constant rate of history rows per night, so a bigger history is a
longer one, as it would be for a user. Then times, each in its own process (so the peak RSS is
its own): the report (``analysis.report.write_report``), a plain SQLite GROUP BY of the whole
history (weekly count/avg/min/max per model and drive), and pandas ``read_sql`` of the whole
history followed by the same weekly median groupby. Prints ``time``/``rss`` lines and
``ratio report/<baseline> <value>`` lines (report wall seconds over the baseline's), and
``cpu_ratio`` lines with CPU seconds (steadier on a shared machine). Peak memory is each
child's ``ru_maxrss``.

Then it adds one more night to copies of the database, one with 1% and one with 10% as many new
history rows as the history holds (new listings and price changes), and times the report of
that night in each: ``ratio report_night_10pct/report_night_1pct`` says how the report's cost
grows with what the night changed (1.0: not at all; 10: in proportion).

    .venv/bin/python bench/report.py            # 1M rows, a minute or two on 2 cores
    .venv/bin/python bench/report.py --large    # also 10M rows (several minutes to generate)
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import inspect
import json
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines import schema  # noqa: E402
from pipelines.schema import open_db  # noqa: E402

MODELS = (
    ("Suzuki", "Suzuki Carry", 7800),
    ("Honda", "Honda Acty", 7900),
    ("Daihatsu", "Daihatsu Hijet", 7600),
    ("Subaru", "Subaru Sambar", 8200),
    ("Mitsubishi", "Mitsubishi Minicab", 7200),
    ("Mazda", "Mazda Scrum", 7400),
    ("Nissan", "Nissan Clipper", 7000),
    ("Toyota", "Toyota Pixis", 7300),
)
SOURCES = (("craigslist", "asking"), ("beforward", "fob"), ("dealer", "asking"))
ROWS_PER_NIGHT = 7000
#: One synthetic listing row (``generate`` and ``add_night``).
INSERT_LISTING = (
    "INSERT INTO listings (source, listing_id, url, title, make, model, year, is_4wd, "
    "kind, mileage_mi, price, currency, price_usd, price_basis, status, identity, "
    "first_seen_at, last_seen_at, gone_at, location_raw) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
FIRST_NIGHT = dt.date(2022, 1, 3)


def generate(path: Path, listings: int, rows: int, seed: int = 7) -> dt.date:
    """Write a synthetic history; returns the last night (the report's as-of date)."""
    rng = np.random.default_rng(seed)
    per = rows / listings  # history rows per listing
    span = max(int(rows / ROWS_PER_NIGHT), 30)
    life = rng.integers(int(per) + 5, int(3 * per) + 60, listings)
    first = rng.integers(0, np.maximum(span - life // 2, 1), listings)
    end = first + life
    gone = end < span
    end = np.minimum(end, span - 1)
    changes = np.maximum(np.round(rng.normal(per - 1 - gone, 1.0)).astype(int), 0)
    changes = np.minimum(changes, np.maximum(end - first - 1, 0))
    model = rng.integers(0, len(MODELS), listings)
    source = rng.integers(0, len(SOURCES), listings)
    is_4wd = rng.random(listings) < 0.65
    miles = rng.integers(5000, 120000, listings)
    place = rng.integers(0, 60, listings)
    base = np.array([m[2] for m in MODELS])[model] * np.where(is_4wd, 1.0, 0.85)
    start_price = np.round(base * rng.uniform(0.6, 1.5, listings) / 50) * 50
    source_scale = np.where(source == 1, 0.45, 1.0)  # exporters' FOB prices
    start_price = start_price * source_scale

    # every event: listing index, day, kind (0 new, 1 price change, 2 gone), step index
    n_events = 1 + changes + gone
    owner = np.repeat(np.arange(listings), n_events)
    step = np.arange(n_events.sum()) - np.repeat(np.cumsum(n_events) - n_events, n_events)
    span_days = end - first
    day = first[owner] + np.where(
        step == 0, 0, np.floor(step * span_days[owner] / (changes[owner] + 1 + gone[owner]))
    ).astype(int)
    kind = np.where(step == 0, 0, np.where(gone[owner] & (step == n_events[owner] - 1), 2, 1))
    day = np.where(kind == 2, end[owner], day)
    factor = np.where(kind == 1, rng.uniform(0.93, 1.04, owner.size), 1.0)
    # cumulative product of factors per listing gives the price after each change
    log_f = np.log(factor)
    cum = np.cumsum(log_f)
    cum -= np.repeat(
        cum[np.cumsum(n_events) - n_events] - log_f[np.cumsum(n_events) - n_events], n_events
    )
    price = np.round(start_price[owner] * np.exp(cum) / 50) * 50
    last_index = np.cumsum(n_events) - 1

    days = [
        (FIRST_NIGHT + dt.timedelta(days=int(d))).isoformat() + "T06:00:00+00:00"
        for d in range(span)
    ]
    ids = [str(300000000 + i) for i in range(listings)]
    events = ("new", "price_change", "gone")
    db = open_db(path)
    db.close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = OFF")
    with conn:
        conn.executemany(
            "INSERT INTO runs (source, search_key, as_of, started_at, finished_at, status, "
            "complete, healthy, items) VALUES (?, 'bench', ?, ?, ?, 'finished', 1, 1, 1)",
            [(s[0], d, d, d) for d in days for s in SOURCES],
        )
        listing_rows = []
        for i in range(listings):
            j = last_index[i]
            src, basis = SOURCES[source[i]]
            make, name, _ = MODELS[model[i]]
            p = int(price[j - 1] if gone[i] else price[j])
            year = 1990 + int((i * 7919) % 16)
            listing_rows.append(
                (
                    src,
                    ids[i],
                    f"https://{src}.example/{ids[i]}",
                    f"{year} {name} #{i}",
                    make,
                    name,
                    year,
                    int(is_4wd[i]),
                    "kei_truck",
                    int(miles[i]),
                    p,
                    "USD",
                    p,
                    basis,
                    "gone" if gone[i] else "active",
                    f"{src}:{ids[i]}",
                    days[first[i]],
                    days[end[i] - 1 if gone[i] else end[i]],
                    days[end[i]] if gone[i] else None,
                    f"Town {place[i]}, TN",
                )
            )
        conn.executemany(INSERT_LISTING, listing_rows)
    del listing_rows
    order = np.lexsort((owner, day))
    chunk = 250_000
    for lo in range(0, order.size, chunk):
        idx = order[lo : lo + chunk]
        batch = []
        for k in idx:
            i = owner[k]
            src, basis = SOURCES[source[i]]
            p = int(price[k - 1]) if kind[k] == 2 else int(price[k])
            batch.append(
                (
                    src,
                    ids[i],
                    days[day[k]],
                    events[kind[k]],
                    p,
                    "USD",
                    p,
                    basis,
                    "gone" if kind[k] == 2 else "active",
                )
            )
        with conn:
            conn.executemany(
                "INSERT INTO price_history (source, listing_id, observed_at, event, price, "
                "currency, price_usd, price_basis, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                batch,
            )
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("ANALYZE")
    conn.close()
    return FIRST_NIGHT + dt.timedelta(days=span - 1)


def add_night(src: Path, dst: Path, as_of: dt.date, fraction: float, seed: int = 11) -> dt.date:
    """Copy ``src`` to ``dst`` and add the next night to the copy: ``fraction`` of the history's
    row count as new history rows, half new listings and half price changes of active ones.
    Returns the new night (the report's as-of date)."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{dst}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(src, dst)
    rng = np.random.default_rng(seed)
    night = as_of + dt.timedelta(days=1)
    when = night.isoformat() + "T06:00:00+00:00"
    conn = sqlite3.connect(dst)
    conn.execute("PRAGMA synchronous = OFF")
    total = conn.execute("SELECT count(*) FROM price_history").fetchone()[0]
    rows = max(int(total * fraction), 2)
    active = conn.execute(
        "SELECT source, listing_id, price_usd, price_basis FROM listings WHERE status = 'active'"
    ).fetchall()
    changed = [active[i] for i in rng.choice(len(active), min(rows // 2, len(active)), False)]
    fresh = rows - len(changed)
    with conn:
        conn.executemany(
            "INSERT INTO runs (source, search_key, as_of, started_at, finished_at, status, "
            "complete, healthy, items) VALUES (?, 'bench', ?, ?, ?, 'finished', 1, 1, 1)",
            [(s[0], when, when, when) for s in SOURCES],
        )
        history = []
        for (src_name, listing_id, price, basis), f in zip(
            changed, rng.uniform(0.9, 0.99, len(changed)), strict=True
        ):
            new_price = int(round(price * f / 50) * 50)
            history.append((src_name, listing_id, when, "price_change", new_price, basis))
        conn.executemany(
            "UPDATE listings SET price = ?, price_usd = ?, last_seen_at = ? "
            "WHERE source = ? AND listing_id = ?",
            [(h[4], h[4], when, h[0], h[1]) for h in history],
        )
        listing_rows = []
        for k in range(fresh):
            src_name, basis = SOURCES[k % len(SOURCES)]
            make, name, base = MODELS[int(rng.integers(0, len(MODELS)))]
            listing_id = f"9{night:%Y%m%d}{k:07d}"
            price = int(round(base * rng.uniform(0.6, 1.5) / 50) * 50)
            year = 1990 + k % 16
            listing_rows.append(
                (
                    src_name,
                    listing_id,
                    f"https://{src_name}.example/{listing_id}",
                    f"{year} {name} new {k}",
                    make,
                    name,
                    year,
                    int(rng.random() < 0.65),
                    "kei_truck",
                    int(rng.integers(5000, 120000)),
                    price,
                    "USD",
                    price,
                    basis,
                    "active",
                    f"{src_name}:{listing_id}",
                    when,
                    when,
                    None,
                    f"Town {k % 60}, TN",
                )
            )
            history.append((src_name, listing_id, when, "new", price, basis))
        conn.executemany(INSERT_LISTING, listing_rows)
        conn.executemany(
            "INSERT INTO price_history (source, listing_id, observed_at, event, price, "
            "currency, price_usd, price_basis, status) "
            "VALUES (?, ?, ?, ?, ?, 'USD', ?, ?, 'active')",
            [(h[0], h[1], h[2], h[3], h[4], h[4], h[5]) for h in history],
        )
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return night


# -- what is measured (each in a child process) --------------------------------------------------


def measure_report(db: str, as_of: str) -> None:
    from analysis.report import write_report

    with tempfile.TemporaryDirectory() as out:
        write_report(db, out, as_of=as_of)


BASELINE_SQL = """
SELECT strftime('%Y-%W', p.observed_at) AS week, l.model, l.is_4wd, count(*) AS n,
       avg(p.price_usd), min(p.price_usd), max(p.price_usd)
FROM price_history p JOIN listings l ON l.source = p.source AND l.listing_id = p.listing_id
GROUP BY week, l.model, l.is_4wd
"""


def measure_sqlite_groupby(db: str, as_of: str) -> None:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    conn.execute(BASELINE_SQL).fetchall()
    conn.close()


def measure_pandas_full(db: str, as_of: str) -> None:
    import pandas as pd

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    history = pd.read_sql_query("SELECT * FROM price_history", conn)
    listings = pd.read_sql_query("SELECT * FROM listings", conn)
    conn.close()
    df = history.merge(
        listings[["source", "listing_id", "model", "is_4wd"]], on=["source", "listing_id"]
    )
    df["week"] = pd.to_datetime(df["observed_at"], utc=True, format="ISO8601").dt.strftime("%G-W%V")
    df.groupby(["week", "model", "is_4wd"])["price_usd"].agg(["count", "median", "min", "max"])


MEASURES = {
    "report": measure_report,
    "sqlite_groupby": measure_sqlite_groupby,
    "pandas_full": measure_pandas_full,
}


def child(what: str, db: str, as_of: str) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = usage.ru_utime + usage.ru_stime
    started = time.perf_counter()
    MEASURES[what](db, as_of)
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - cpu_before
    print(json.dumps({"seconds": seconds, "cpu": cpu, "rss_mb": usage.ru_maxrss / 1024}))


def run_child(what: str, db: Path, as_of: dt.date) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", what, str(db), as_of.isoformat()],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def schema_key() -> str:
    """A short hash of the storage schema and of the generator: a cached database made under
    another schema (e.g. before ``price_history.landed_usd``) is never reused."""
    parts = [
        schema.SCHEMA,
        json.dumps(schema.ADDED_COLUMNS, sort_keys=True),
        json.dumps(schema.VIEWS, sort_keys=True),
        inspect.getsource(generate),
    ]
    return hashlib.sha1("\0".join(parts).encode()).hexdigest()[:10]


#: Issue #18's limits per history size: (measure, limit, its name in the ratio line).
LIMITS = {
    1_000_000: (("rss_mb", 500, "500MB"),),
    10_000_000: (("seconds", 5, "5s"), ("rss_mb", 1000, "1GB")),
}


def bench_name(rows: int) -> str:
    """ "report" at the default 1M rows, "report_10m" at 10M, "report_20k" at 20,000 (one name
    per size in the table)."""
    if rows == 1_000_000:
        return "report"
    return f"report_{rows // 1_000_000}m" if rows % 1_000_000 == 0 else f"report_{rows // 1000}k"


def bench_size(
    workdir: Path, listings: int, rows: int, measures: list[str], nights: bool = True
) -> None:
    db = workdir / f"bench-{listings}-{rows}-{schema_key()}.db"
    meta = db.with_suffix(".json")
    if db.is_file() and meta.is_file():
        as_of = dt.date.fromisoformat(json.loads(meta.read_text())["as_of"])
        open_db(db).close()  # belt and braces: columns added since are created
        print(f"== {rows:,} history rows, {listings:,} listings (reusing {db})", flush=True)
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        started = time.perf_counter()
        as_of = generate(db, listings, rows)
        meta.write_text(json.dumps({"as_of": as_of.isoformat()}))
        print(
            f"== {rows:,} history rows, {listings:,} listings "
            f"(generated in {time.perf_counter() - started:.0f}s)",
            flush=True,
        )
    conn = sqlite3.connect(db)
    actual = conn.execute("SELECT count(*) FROM price_history").fetchone()[0]
    first = conn.execute("SELECT min(observed_at) FROM price_history").fetchone()[0]
    conn.close()
    print(f"history rows {actual:,} from {first[:10]} to {as_of}", flush=True)
    results = {}
    for what in measures:
        results[what] = run_child(what, db, as_of)
        r = results[what]
        print(
            f"time {what} {r['seconds']:.2f}s cpu {r['cpu']:.2f}s peak_rss {r['rss_mb']:.0f}MB",
            flush=True,
        )
    baselines = [b for b in ("sqlite_groupby", "pandas_full") if b in results]
    if "report" not in results:
        return
    name = bench_name(rows)
    for baseline in baselines:
        ratio = results["report"]["seconds"] / results[baseline]["seconds"]
        print(f"ratio {name}/{baseline} {ratio:.2f}", flush=True)
    # wall time suffers when the machine is shared; CPU time is the steadier comparison
    for baseline in baselines:
        ratio = results["report"]["cpu"] / results[baseline]["cpu"]
        print(f"cpu_ratio {name}/{baseline} {ratio:.2f}", flush=True)
    # the issue's own limits, as ratios to them (at most 1 meets them)
    for measure, limit, label in LIMITS.get(rows, ()):
        value = results["report"][measure] / limit
        print(f"ratio {name}{'_rss' if measure == 'rss_mb' else ''}/{label} {value:.2f}")
    if nights:
        bench_nights(db, as_of, name)


def bench_nights(db: Path, as_of: dt.date, name: str = "report") -> None:
    """The report of one more night adding 1% and 10% new history rows, on copies of ``db``."""
    nights = {}
    for pct in (1, 10):
        copy = db.with_name(f"{db.stem}-night{pct}pct.db")
        night = add_night(db, copy, as_of, pct / 100)
        r = nights[pct] = run_child("report", copy, night)
        print(
            f"time {name}_night_{pct}pct {r['seconds']:.2f}s cpu {r['cpu']:.2f}s "
            f"peak_rss {r['rss_mb']:.0f}MB",
            flush=True,
        )
        for suffix in ("", "-wal", "-shm"):
            Path(f"{copy}{suffix}").unlink(missing_ok=True)
    ratio = nights[10]["seconds"] / nights[1]["seconds"]
    print(f"ratio {name}_night_10pct/{name}_night_1pct {ratio:.2f}", flush=True)
    ratio = nights[10]["cpu"] / nights[1]["cpu"]
    print(f"cpu_ratio {name}_night_10pct/{name}_night_1pct {ratio:.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listings", type=int, default=200_000)
    parser.add_argument(
        "--rows", type=int, nargs="*", default=[1_000_000], help="history sizes to run (default 1M)"
    )
    parser.add_argument("--large", action="store_true", help="also run 10M history rows")
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "keitrucks-bench",
        help="where generated databases are kept (reused)",
    )
    parser.add_argument(
        "--measure",
        default=",".join(MEASURES),
        help="comma-separated subset of: " + ", ".join(MEASURES),
    )
    parser.add_argument(
        "--no-nights", action="store_true", help="skip the 1%%/10%% new-night reports"
    )
    parser.add_argument("--child", nargs=3, metavar=("WHAT", "DB", "AS_OF"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    args.dir.mkdir(parents=True, exist_ok=True)
    sizes = list(args.rows) + ([10_000_000] if args.large and 10_000_000 not in args.rows else [])
    measures = [m for m in args.measure.split(",") if m]
    unknown = set(measures) - set(MEASURES)
    if unknown:
        parser.error(f"unknown measure(s): {', '.join(sorted(unknown))}")
    for rows in sizes:
        bench_size(args.dir, args.listings, rows, measures, not args.no_nights)


if __name__ == "__main__":
    main()

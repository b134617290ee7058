"""Benchmark of ``pipelines.normalize.normalize_listing`` in listings per second, on one core.

Builds raw listings the way the parsers hand them over (Craigslist attributes, Bring a Trailer
results, BE FORWARD spec tables, Japanese dealer pages, JSON-LD dealers) from the bundled sample
catalog and a few Japanese-page templates, then times, in the same run:

- the baseline: a JSON round-trip of the same rows (``json.loads(json.dumps(row))``), the
  cheapest thing any consumer of a listing does;
- ``normalize_listing`` on distinct rows (every price, mileage, year and id differs, so the
  per-string caches mostly miss: the first night of a crawl);
- ``normalize_listing`` on the same rows again (caches warm: the next nights of the same
  listings, or ``keitrucks renormalize``).

Prints ``listings/s`` lines and ``ratio normalize/json_roundtrip <value>`` (normalize time over
baseline time, distinct rows). Target: at least 20,000 listings/s on distinct rows.

Each figure is the best of ``--repeat`` passes (the normalizer's caches are cleared before each
pair of passes), which keeps a busy machine from lowering it; times are CPU time of this process.

``--readers`` also prints where the time goes: the CPU microseconds per listing each field reader
of ``pipelines.normalize.listing`` takes (``us/listing reader <name> <cold> <warm>``, best of the
passes, less the cost of the timing wrapper), on the distinct rows with caches cleared (cold)
and again (warm), and what is left to ``normalize_listing`` itself (``rest``).

    .venv/bin/python bench/normalize.py            # 30,000 rows, best of 3
    .venv/bin/python bench/normalize.py --rows 100000 --repeat 1
    .venv/bin/python bench/normalize.py --readers
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from keitrucks.sample.catalog import NIGHTS, build_catalog  # noqa: E402
from pipelines.normalize import clear_caches, listing, normalize_listing  # noqa: E402

JAPANESE_TEMPLATES = (
    ("ダイハツ ハイゼットトラック 4WD 5MT", "V-S110P", "平成{h}年{m}月", "{km:,}km", "{man}万円"),
    ("スズキ キャリイ KC 農繁仕様 4WD", "EBD-DA16T", "H{h}.{m}", "{man}万km", "¥{yen:,}"),
    ("三菱 ミニキャブトラック ２ＷＤ ５ＭＴ", "GD-U61T", "平成{h}年{m}月", "{km:,}km", "¥{yen:,}"),
    ("ホンダ アクティトラック アタック 4WD", "EBD-HA9", "H{h}.{m}", "{km:,}km", "{man}万円"),
)


def catalog_rows(rng: random.Random) -> list[dict]:
    """One raw listing per sample truck, with the raw fields each source's parser fills (as in
    the golden outputs under tests/fixtures): Craigslist detail pages and search rows, Bring a
    Trailer results, BE FORWARD stock rows."""
    rows = []
    for n, truck in enumerate(build_catalog()):
        state = next((s for s in truck.nights if s), None)
        if state is None:
            continue
        raw = {
            "source": truck.source,
            "listing_id": truck.listing_id,
            "url": f"https://example.test/{truck.listing_id}",
            "scraped_at": f"{NIGHTS[0]}T06:00:00Z",
            "title": truck.title,
            "location_raw": truck.location,
            "attributes": {},
        }
        unit = "km" if truck.mileage_unit == "km" else "mi"
        drive = None if truck.is_4wd is None else ("4wd" if truck.is_4wd else "rwd")
        if truck.source == "craigslist":
            raw["price_raw"] = f"${state.price:,}" if state.price else None
            raw["price_basis"] = "asking"
            if truck.mileage:
                raw["mileage_raw"] = f"{truck.mileage}"
            if n % 2:  # a posting page: attributes and the description
                raw["description"] = truck.description
                raw["year_raw"] = str(truck.year) if truck.year else None
                raw["drive_raw"] = drive
                raw["transmission_raw"] = truck.transmission
                raw["make_model_raw"] = (
                    truck.model.split(" ", 1)[1].lower() if truck.model else None
                )
                raw["attributes"] = {
                    "condition": "good",
                    "title status": "clean",
                    "drive": drive,
                    "transmission": truck.transmission,
                    "odometer": raw.get("mileage_raw"),
                }
        elif truck.source == "bringatrailer":
            word = "Sold for" if state.status == "sold" else "Bid to"
            raw["price_raw"] = f"USD ${state.price:,}" if state.price else None
            raw["price_basis"] = "sold" if state.status == "sold" else "bid_to"
            raw["status_raw"] = "sold" if state.status == "sold" else "ended"
            raw["year_raw"] = str(truck.year) if truck.year else None
            raw["description"] = truck.description
            raw["attributes"] = {"sold_text": f"{word} USD ${state.price:,} on 11/1/26"}
        else:
            raw["price_raw"] = f"${state.price:,}" if state.price else None
            raw["currency_raw"] = "USD"
            raw["price_basis"] = "fob"
            raw["year_raw"] = f"{truck.year}/{truck.month or 1}"
            raw["make_model_raw"] = " ".join(truck.title.split()[1:])
            raw["mileage_raw"] = f"{truck.mileage:,} {unit}" if truck.mileage else None
            raw["drive_raw"] = "4WD" if truck.is_4wd else "2WD"
            raw["transmission_raw"] = "MT" if truck.transmission == "manual" else "AT"
            raw["attributes"] = {
                "Model code": truck.model_code or "-",
                "Engine": f"{truck.engine_cc}cc" if truck.engine_cc else "-",
                "Drive": raw["drive_raw"],
                "Steering": "Right",
                "Fuel": "Petrol",
                "price_condition": "C&F",
            }
        rows.append({k: v for k, v in raw.items() if v is not None})
    for i in range(40):
        title, code, date, mileage, price = JAPANESE_TEMPLATES[i % len(JAPANESE_TEMPLATES)]
        h, m = rng.randint(3, 30), rng.randint(1, 12)
        rows.append(
            {
                "source": "tcv",
                "listing_id": f"JP{i}",
                "url": f"https://example.test/jp{i}",
                "scraped_at": f"{NIGHTS[0]}T06:00:00Z",
                "title": title,
                "price_raw": price.format(
                    man=rng.randint(20, 150), yen=rng.randint(20, 150) * 10000
                ),
                "currency_raw": "JPY",
                "attributes": {
                    "型式": code,
                    "年式": date.format(h=h, m=m),
                    "走行距離": mileage.format(
                        km=rng.randint(1, 200) * 1000, man=rng.randint(1, 20)
                    ),
                    "ミッション": "5MT",
                },
            }
        )
    return rows


def distinct_rows(base: list[dict], count: int, rng: random.Random) -> list[dict]:
    """``count`` rows cycling over ``base`` with every number changed, so strings rarely repeat."""
    out = []
    for i in range(count):
        raw = json.loads(json.dumps(base[i % len(base)]))
        bump = rng.randint(1, 9999)
        raw["listing_id"] = f"{raw['listing_id']}-{i}"
        if raw.get("price_raw"):
            raw["price_raw"] = raw["price_raw"].replace(",", f"{bump % 10},", 1)
        if raw.get("title"):
            raw["title"] = f"{raw['title']} #{i}"
        if raw.get("description"):
            raw["description"] = f"{raw['description']} Stock {i}-{bump}."
        if raw.get("mileage_raw"):
            raw["mileage_raw"] = raw["mileage_raw"].replace("0", str(bump % 10), 1)
        for key, value in list(raw["attributes"].items()):
            if isinstance(value, str) and any(c.isdigit() for c in value) and "年" not in key:
                raw["attributes"][key] = value.replace("0", str(bump % 10), 1)
        out.append(raw)
    return out


def timed(func, rows: list[dict]) -> float:
    """CPU seconds of this process for one pass (wall time would count other processes' load)."""
    start = time.process_time()
    for row in rows:
        func(row)
    return time.process_time() - start


#: The field readers ``normalize_listing`` calls, by the names it calls them with.
READERS = (
    "_Raw",
    "parse_scraped_at",
    "_make_model",
    "_description_model",
    "_model_code",
    "_dates",
    "kind_of",
    "status",
    "_state",
    "_position",
    "_condition",
    "_drive",
    "_transmission",
    "_engine",
    "_body",
    "cab_in",
    "_mileage",
    "_price",
    "normalize_price_band",
    "normalize_eligibility",
    "eligibility_from_code",
)


def reader_costs(rows: list[dict], repeat: int) -> dict[str, tuple[float, float]]:
    """CPU microseconds per listing of each reader in ``READERS`` and of the rest of
    ``normalize_listing``: (cold, warm), each the best of ``repeat`` passes."""
    spent: dict[str, float] = {}
    clock = time.process_time

    def timing(name, func):
        def wrapper(*args, **kwargs):
            start = clock()
            try:
                return func(*args, **kwargs)
            finally:
                spent[name] += clock() - start

        return wrapper

    def idle():
        return None

    # what the wrapper itself costs per call: inside its timed span (taken off each reader's
    # time) and outside it (taken off the rest)
    calls = 200_000
    spent["idle"] = 0.0
    wrapped_idle = timing("idle", idle)
    start = clock()
    for _ in range(calls):
        wrapped_idle()
    inside = spent["idle"] / calls
    outside = (clock() - start) / calls - inside
    originals = {name: getattr(listing, name) for name in READERS}
    counts = dict.fromkeys(READERS, 0)

    def counting(name, func):
        def wrapper(*args, **kwargs):
            counts[name] += 1
            return func(*args, **kwargs)

        return wrapper

    for name, func in originals.items():
        setattr(listing, name, counting(name, func))
    try:
        for row in rows:
            listing.normalize_listing(row)
    finally:
        for name, func in originals.items():
            setattr(listing, name, func)
    best = {name: [float("inf"), float("inf")] for name in (*READERS, "rest")}
    try:
        for name, func in originals.items():
            setattr(listing, name, timing(name, func))
        for _ in range(max(1, repeat)):
            clear_caches()
            for slot in (0, 1):
                spent.update(dict.fromkeys(READERS, 0.0))
                total = timed(listing.normalize_listing, rows)
                for name in READERS:
                    own = spent[name] - counts[name] * inside
                    best[name][slot] = min(best[name][slot], own)
                readers = sum(spent[name] + counts[name] * outside for name in READERS)
                best["rest"][slot] = min(best["rest"][slot], total - readers)
    finally:
        for name, func in originals.items():
            setattr(listing, name, func)
    return {name: (1e6 * c / len(rows), 1e6 * w / len(rows)) for name, (c, w) in best.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=30_000, help="listings per timed pass")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="passes; the best one counts")
    parser.add_argument(
        "--readers", action="store_true", help="also time each field reader (cold and warm)"
    )
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    base = catalog_rows(rng)
    rows = distinct_rows(base, args.rows, rng)

    baseline = cold = warm = float("inf")
    for _ in range(max(1, args.repeat)):
        baseline = min(
            baseline, timed(lambda row: json.loads(json.dumps(row, ensure_ascii=False)), rows)
        )
        clear_caches()
        cold = min(cold, timed(normalize_listing, rows))
        warm = min(warm, timed(normalize_listing, rows))

    count = len(rows)
    print(f"rows {count} (from {len(base)} templates)")
    print(f"listings/s json_roundtrip {count / baseline:,.0f}")
    print(f"listings/s normalize_distinct {count / cold:,.0f}")
    print(f"listings/s normalize_repeated {count / warm:,.0f}")
    print(f"ratio normalize/json_roundtrip {cold / baseline:.2f}")
    print(
        "target 20,000 listings/s (distinct rows): "
        + ("met" if count / cold >= 20_000 else "NOT met")
    )
    if args.readers:
        costs = reader_costs(rows, args.repeat)
        for name, (cold_us, warm_us) in sorted(costs.items(), key=lambda kv: -kv[1][0]):
            print(f"us/listing reader {name} {cold_us:.1f} {warm_us:.1f}")
        total_cold = sum(c for c, _ in costs.values())
        total_warm = sum(w for _, w in costs.values())
        print(f"us/listing reader total {total_cold:.1f} {total_warm:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

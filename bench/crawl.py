"""Benchmark of a whole crawl: pages per second of the full Craigslist spider against a bare one.

Generates a large sample marketplace (10,000 Craigslist postings by default, spread over 40
areas so each search answer stays under the API's 360 results; one posting page each) with the
project's own renderer, serves it on 127.0.0.1 with ``SampleServer``, and crawls it twice through
the real Scrapy downloader, each crawl its own process as ``keitrucks`` runs them
(``keitrucks.crawl.LOCAL_SETTINGS``: no politeness delay on our own server):

- the full spider (``scrapy crawl craigslist``): search API answers, every posting page parsed,
  every pipeline (validate, dedupe, normalize, landed cost, SQLite storage with history and
  the runs row), into a fresh database;
- a bare spider (``BareSpider`` below, run with ``scrapy runspider``): the same URLs, the same
  settings and middlewares, no pipelines, and a callback that only yields a small dict;
- the full spider again, watched as a terminal watches a night (``on_progress``: the crawl
  writes its counts file every second, the parent reads it), for ``ratio crawl_watched/crawl``
  (watched pages/s over unwatched; 1.0 is no cost) and ``cpu_ratio crawl_watched/crawl``
  (the crawl process's CPU seconds per page, watched over unwatched). ``--rounds N`` runs
  the two N times, interleaved, and keeps the best of each.

Pages/s is responses received over the crawl's own elapsed time (Scrapy's
``elapsed_time_seconds``: spider open to close, so process start-up is left out). Prints both,
then ``ratio crawl/bare_spider <v>`` (full pages/s over bare pages/s; target >= 0.8), and the
CPU milliseconds per page of each crawl process (start-up included) with their ratio
``crawl_cpu/bare_spider_cpu``, which a busy machine disturbs less than the elapsed time.

    .venv/bin/python bench/crawl.py                    # 10,000 listing pages
    .venv/bin/python bench/crawl.py --postings 2000    # a quick look
    .venv/bin/python bench/crawl.py --postings 1500 --rounds 3   # the cost of watching
    .venv/bin/python bench/crawl.py --attribute       # where each crawl's CPU time goes

``--attribute`` runs instead one full and one bare crawl with ``CostMeter``, an extension that
times each part of a crawl (``METERED``: the parser, each pipeline, the spider's callbacks, our
middlewares, logging, Scrapy's stats and signals, the garbage collector; each exclusive of the
parts it calls) in the crawl process, and prints the CPU milliseconds per page of each part in
both crawls and their difference. The timers cost a little themselves: use its numbers for the
shares, the plain runs' for the speed.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import inspect
import json
import os
import re
import resource
import sqlite3
import string
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import replace
from itertools import product
from pathlib import Path

import scrapy

ROOT = Path(__file__).resolve().parents[1]

#: How many requests one crawl may make; far above what the benchmark needs.
BUDGET = 10**6


class BareSpider(scrapy.Spider):
    """Fetches the URLs listed in the file ``-a urls=FILE``; yields one small dict per page."""

    name = "bare"
    request_budget = BUDGET
    custom_settings = {"ITEM_PIPELINES": {}}

    def __init__(self, *args, urls: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.start_urls = Path(urls).read_text(encoding="utf-8").split()

    def parse(self, response):
        yield {"url": response.url, "status": response.status, "size": len(response.body)}


# -- where a crawl's CPU time goes (--attribute) ------------------------------------------------

#: The parts of a crawl the meter times, by where they live: (module, attribute, part name).
#: Each is timed exclusively (a part called inside another is the inner one's only), so the
#: parts and the rest add up to the process's CPU time. Only code that never waits is timed
#: (a coroutine that waits would lend its part the time of whatever runs meanwhile): the
#: asynchronous signals (item_scraped ...) and the retry middleware are in the rest.
METERED = [
    ("scrapy.http.response.text", "TextResponse.selector", "parse: building the tree"),
    ("scrapers.parsers.craigslist", "parse_posting", "parse: posting page (extraction)"),
    ("scrapers.parsers.craigslist", "parse_search_full", "parse: search API answers"),
    ("scrapers.parsers.craigslist", "parse_search_batch", "parse: search API answers"),
    ("scrapers.parsers.craigslist", "merge_listings", "spider: merge search + page"),
    ("scrapers.spiders.craigslist", "CraigslistSpider.parse_posting", "spider: callbacks"),
    ("scrapers.spiders.craigslist", "CraigslistSpider.parse_full", "spider: callbacks"),
    ("scrapers.spiders.craigslist", "CraigslistSpider.start", "spider: callbacks"),
    ("pipelines.validate", "ValidatePipeline.process_item", "pipe: validate"),
    ("pipelines.dedupe", "DedupePipeline.process_item", "pipe: dedupe"),
    ("pipelines.normalize.pipeline", "normalize_listing", "pipe: normalize (normalize_listing)"),
    ("pipelines.normalize.pipeline", "NormalizePipeline.process_item", "pipe: normalize (key)"),
    ("pipelines.landed", "LandedCostPipeline.process_item", "pipe: landed cost"),
    ("pipelines.storage", "SQLitePipeline.process_item", "pipe: storage (buffer)"),
    ("pipelines.storage", "SQLitePipeline.flush", "pipe: storage (write batches)"),
    ("pipelines.storage", "SQLitePipeline.open_spider", "pipe: storage (open, run row)"),
    ("pipelines.storage", "SQLitePipeline.spider_closed", "pipe: storage (judge, gone, run)"),
    ("scrapers.middlewares", "BudgetMiddleware.process_request", "our downloader middlewares"),
    (
        "scrapers.middlewares",
        "BlockDetectionMiddleware.process_response",
        "our downloader middlewares",
    ),
    ("scrapers.progress", "ProgressFile.write", "progress file"),
    ("scrapy.logformatter", "LogFormatter.crawled", "logging"),
    ("scrapy.logformatter", "LogFormatter.scraped", "logging"),
    ("scrapy.logformatter", "LogFormatter.dropped", "logging"),
    ("logging", "Logger.handle", "logging"),
    ("scrapy.statscollectors", "StatsCollector.inc_value", "scrapy: stats"),
    ("scrapy.statscollectors", "StatsCollector.set_value", "scrapy: stats"),
    ("scrapy.statscollectors", "StatsCollector.get_value", "scrapy: stats"),
    ("scrapy.statscollectors", "StatsCollector.max_value", "scrapy: stats"),
    ("scrapy.signalmanager", "SignalManager.send_catch_log", "scrapy: signals (handlers too)"),
    (
        "scrapy.spidermiddlewares.referer",
        "RefererMiddleware.get_processed_request",
        "scrapy: spider mw per request",
    ),
    (
        "scrapy.spidermiddlewares.depth",
        "DepthMiddleware.get_processed_request",
        "scrapy: spider mw per request",
    ),
    (
        "scrapy.spidermiddlewares.urllength",
        "UrlLengthMiddleware.get_processed_request",
        "scrapy: spider mw per request",
    ),
    (
        "scrapy.spidermiddlewares.metacopy",
        "MetaCopyDetectionMiddleware.get_processed_request",
        "scrapy: spider mw per request",
    ),
    (
        "scrapy.spidermiddlewares.start",
        "StartSpiderMiddleware.get_processed_request",
        "scrapy: spider mw per request",
    ),
]
#: The process's CPU time before the spider opened, and what is not any metered part.
STARTUP, REST = "start-up (imports, settings, spider)", "the rest: Scrapy, Twisted, HTTP"
GC = "garbage collector"


class _Meter:
    """Exclusive CPU time per part: entering a part pauses the one it was called from."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = defaultdict(float)
        self.calls: Counter = Counter()
        self.stack: list[list] = []

    def enter(self, name: str) -> None:
        now = time.process_time()
        if self.stack:
            self.cpu[self.stack[-1][0]] += now - self.stack[-1][1]
        self.stack.append([name, now])
        self.calls[name] += 1

    def exit(self) -> None:
        now = time.process_time()
        name, since = self.stack.pop()
        self.cpu[name] += now - since
        if self.stack:
            self.stack[-1][1] = now


def _timed(meter: _Meter, name: str, func):
    if inspect.isasyncgenfunction(func):

        async def agen(*args, **kwargs):
            it = func(*args, **kwargs).__aiter__()
            while True:
                meter.enter(name)
                try:
                    value = await it.__anext__()
                except StopAsyncIteration:
                    return
                finally:
                    meter.exit()
                yield value

        return agen
    if inspect.isgeneratorfunction(func):

        def gen(*args, **kwargs):
            it = func(*args, **kwargs)
            while True:
                meter.enter(name)
                try:
                    value = next(it)
                except StopIteration:
                    return
                finally:
                    meter.exit()
                yield value

        return gen

    params = inspect.signature(func).parameters
    # a signal handler is given only the arguments it names (pydispatch reads the signature)
    takes = None if any(p.kind is p.VAR_KEYWORD for p in params.values()) else set(params)

    def call(*args, **kwargs):
        if takes is not None:
            kwargs = {k: v for k, v in kwargs.items() if k in takes}
        meter.enter(name)
        try:
            return func(*args, **kwargs)
        finally:
            meter.exit()

    return call


class CostMeter:
    """Scrapy extension of ``--attribute`` runs only: times each part of ``METERED`` (and the
    garbage collector) in the crawl process and writes the CPU seconds per part to the file
    ``KEITRUCKS_BENCH_METER`` when the process exits."""

    def __init__(self, path: str) -> None:
        import importlib

        self.meter = meter = _Meter()
        self.path = path
        self.opened: float | None = None
        #: CPU seconds of the metered parts before the spider opened (not start-up's own).
        self.before_open = 0.0
        for module_name, attribute, name in METERED:
            holder = importlib.import_module(module_name)
            *owner, leaf = attribute.split(".")
            for part in owner:
                holder = getattr(holder, part)
            found = inspect.getattr_static(holder, leaf, None)
            if isinstance(found, property):
                setattr(holder, leaf, property(_timed(meter, name, found.fget)))
            elif found is not None:
                setattr(holder, leaf, _timed(meter, name, getattr(holder, leaf)))

        def collector(phase, info):
            if self.opened is None:  # a collection during start-up is start-up's
                return
            if phase == "start":
                meter.enter(GC)
            elif meter.stack and meter.stack[-1][0] == GC:
                meter.exit()

        gc.callbacks.append(collector)
        atexit.register(self.write)

    @classmethod
    def from_crawler(cls, crawler):
        from scrapy import signals

        extension = cls(crawler.settings.get("KEITRUCKS_BENCH_METER"))
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        return extension

    def spider_opened(self, spider) -> None:
        self.opened = time.process_time()
        self.before_open = sum(self.meter.cpu.values())
        self.meter.enter(REST)

    def write(self) -> None:
        total = time.process_time()
        cpu = dict(self.meter.cpu)
        cpu[STARTUP] = (self.opened or 0.0) - self.before_open
        cpu[REST] = total - sum(v for k, v in cpu.items() if k != REST)
        Path(self.path).write_text(json.dumps({"total": total, "cpu": cpu}), encoding="utf-8")


def _area_names(count: int) -> list[str]:
    """Letters only: the renderer derives a posting's area from its city's letters."""
    pairs = ("".join(p) for p in product(string.ascii_lowercase, repeat=2))
    return [f"bench{pair}" for pair, _ in zip(pairs, range(count), strict=False)]


def build_sample(folder: Path, postings: int, areas: int) -> dict:
    """Render ``postings`` Craigslist postings over ``areas`` areas into ``folder/night1``."""
    sys.path.insert(0, str(ROOT))
    from keitrucks.sample import render_craigslist as render
    from keitrucks.sample.catalog import NightState, build_catalog
    from keitrucks.sample.site import Route, write_night

    models = [t for t in build_catalog() if t.source == "craigslist" and t.kind == "kei_truck"]
    names = _area_names(areas)
    trucks = []
    for n in range(postings):
        model = models[n % len(models)]
        price = (next((s.price for s in model.nights if s and s.price), 7000)) + (n % 997)
        trucks.append(
            replace(
                model,
                key=f"bench-{n}",
                listing_id=str(7_900_000_000 + n * 7),
                repost_of=None,
                location=f"{names[n % areas].capitalize()}, TN",
                nights=(NightState(price),) * 3,
                seller_type="dealer" if n % 5 == 0 else "owner",
            )
        )
    routes, searches = [], 0
    for area in names:
        local = [t for t in trucks if render.area_of(t) == area]
        for purveyor in ("owner", "dealer"):
            found = [t for t in local if t.seller_type == purveyor]
            answer = render.search_answer(found, 0, area, "truck", purveyor)
            body = json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode()
            routes.append(
                Route(
                    render.search_target(area, "truck", purveyor),
                    body,
                    "application/json; charset=utf-8",
                )
            )
            searches += 1
    for truck in trucks:
        routes.append(
            Route(
                f"/craigslist/www{render.posting_path(truck)}",
                render.posting_page(truck, 0).encode(),
            )
        )
    write_night(routes, folder / "night1")
    config = folder / "bench.toml"
    config.write_text(
        "[sources.craigslist]\n"
        f"areas = {json.dumps(names)}\n"
        'queries = ["truck"]\npurveyors = ["owner", "dealer"]\n'
        f"request_budget = {BUDGET}\n",
        encoding="utf-8",
    )
    return {"config": config, "targets": [r.target for r in routes], "searches": searches}


def _stat(log: str, key: str) -> float:
    match = re.search(rf"'{re.escape(key)}': ([0-9.]+)", log)
    return float(match.group(1)) if match else 0.0


def _meter_settings(folder: Path, name: str) -> dict[str, str]:
    """Settings of a metered crawl (``CostMeter`` added to the project's extensions); the
    crawl process finds this module on ``PYTHONPATH``."""
    from scrapers.settings import EXTENSIONS

    bench = str(Path(__file__).resolve().parent)
    paths = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    if bench not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([bench, *filter(None, paths)])
    extensions = {**EXTENSIONS, f"{Path(__file__).stem}.CostMeter": 1000}
    return {
        "EXTENSIONS": json.dumps(extensions),
        "KEITRUCKS_BENCH_METER": str(folder / f"{name}.meter.json"),
    }


def full_crawl(
    base_url: str, folder: Path, config: Path, name: str = "full", metered: bool = False
) -> dict:
    """The full spider, as ``keitrucks`` runs it; ``name`` "watched" also follows its progress
    as a terminal does (the counts file written and read every second)."""
    sys.path.insert(0, str(ROOT))
    from keitrucks.crawl import run_crawl
    from keitrucks.sample.catalog import NIGHTS

    db, log = folder / f"{name}.db", folder / f"{name}.log"
    for old in folder.glob(f"{name}.db*"):
        old.unlink()
    seen: list[dict] = []
    cpu_before = _children_cpu()
    started = time.perf_counter()
    result = run_crawl(
        "craigslist",
        db=db,
        base_url=base_url,
        as_of=NIGHTS[0],
        config=config,
        log_path=log,
        timeout=1800,
        on_progress=seen.append if name == "watched" else None,
        settings=_meter_settings(folder, name) if metered else None,
    )
    wall = time.perf_counter() - started
    cpu = _children_cpu() - cpu_before
    if result.returncode != 0:
        raise SystemExit(f"{name} crawl failed ({result.returncode}): {result.reason}")
    conn = sqlite3.connect(db)
    try:
        run = conn.execute("SELECT items, healthy, stats FROM runs").fetchone()
    finally:
        conn.close()
    stats = json.loads(run[2])
    return {
        "pages": stats["response_received_count"],
        "seconds": stats["elapsed_time_seconds"],
        "wall": wall,
        "cpu": cpu,
        "items": run[0],
        "healthy": run[1],
        "updates": len(seen),
        "meter": _read_meter(folder, name) if metered else None,
    }


def _read_meter(folder: Path, name: str) -> dict:
    return json.loads((folder / f"{name}.meter.json").read_text(encoding="utf-8"))


def _children_cpu() -> float:
    """CPU seconds used so far by this process's ended children (the crawls)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _best(runs: list[dict]) -> dict:
    """The round with the most pages per second (the least disturbed by other work)."""
    return max(runs, key=lambda run: run["pages"] / run["seconds"])


def bare_crawl(base_url: str, folder: Path, urls: list[str], metered: bool = False) -> dict:
    sys.path.insert(0, str(ROOT))
    from keitrucks.crawl import LOCAL_SETTINGS

    name = "bare_metered" if metered else "bare"
    url_file, log = folder / "urls.txt", folder / f"{name}.log"
    url_file.write_text("\n".join(urls) + "\n", encoding="utf-8")
    cmd = [
        sys.executable,
        "-m",
        "scrapy",
        "runspider",
        str(Path(__file__).resolve()),
        "-a",
        f"urls={url_file}",
        "-s",
        f"LOG_FILE={log}",
        "-s",
        "LOG_LEVEL=INFO",
    ]
    for key, value in {
        **LOCAL_SETTINGS,
        **(_meter_settings(folder, name) if metered else {}),
    }.items():
        cmd += ["-s", f"{key}={value}"]
    started, cpu = time.perf_counter(), _children_cpu()
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, timeout=1800)
    wall, cpu = time.perf_counter() - started, _children_cpu() - cpu
    text = log.read_text(encoding="utf-8")
    return {
        "pages": int(_stat(text, "response_received_count")),
        "seconds": _stat(text, "elapsed_time_seconds"),
        "wall": wall,
        "cpu": cpu,
        "items": int(_stat(text, "item_scraped_count")),
        "meter": _read_meter(folder, name) if metered else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postings", type=int, default=10_000, help="listing pages to serve")
    parser.add_argument("--areas", type=int, default=40, help="areas the postings spread over")
    parser.add_argument(
        "--rounds", type=int, default=1, help="full and watched crawls, interleaved; best kept"
    )
    parser.add_argument(
        "--attribute",
        action="store_true",
        help="instead: one metered full and bare crawl each, CPU ms per page of each part",
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from keitrucks.sample.site import SampleServer

    if args.attribute:
        return attribute(args.postings, args.areas)

    with tempfile.TemporaryDirectory(prefix="kt-crawl-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        sample = build_sample(folder, args.postings, args.areas)
        print(
            f"sample: {args.postings} posting pages and {sample['searches']} search answers "
            f"rendered in {time.perf_counter() - started:.1f}s"
        )
        with SampleServer(root=folder, night=1) as server:
            fulls, watches = [], []
            for _ in range(args.rounds):  # interleaved, so a busy spell slows both alike
                fulls.append(full_crawl(server.base_url, folder, sample["config"]))
                watches.append(full_crawl(server.base_url, folder, sample["config"], "watched"))
            full, watched = _best(fulls), _best(watches)
            urls = [server.base_url + "/robots.txt"] + [
                server.base_url + t for t in sample["targets"]
            ]
            bare = bare_crawl(server.base_url, folder, urls)
    if full["items"] != args.postings or not full["healthy"]:
        raise SystemExit(f"the full crawl stored {full['items']} of {args.postings} listings")
    if watched["items"] != args.postings or not watched["updates"]:
        raise SystemExit(f"the watched crawl: {watched}")
    print(f"progress updates seen while watched: {watched['updates']}")
    for name, run in (("full_spider", full), ("watched_spider", watched), ("bare_spider", bare)):
        print(
            f"crawl {name}: {run['pages']:,} pages in {run['seconds']:.1f}s "
            f"({run['wall']:.1f}s with process start), {run['items']:,} items"
        )
        print(f"pages/s {name} {run['pages'] / run['seconds']:,.0f}")
        print(f"cpu ms/page {name} {1000 * run['cpu'] / run['pages']:.2f}")
    ratio = (full["pages"] / full["seconds"]) / (bare["pages"] / bare["seconds"])
    print(f"ratio crawl/bare_spider {ratio:.2f}")
    watched_ratio = (watched["pages"] / watched["seconds"]) / (full["pages"] / full["seconds"])
    print(f"ratio crawl_watched/crawl {watched_ratio:.2f}")
    for name, runs in (("full_spider", fulls), ("watched_spider", watches)):
        per_page = ", ".join(f"{1000 * r['cpu'] / r['pages']:.1f}" for r in runs)
        print(f"cpu ms/page {name} by round: {per_page}")
    cpu = min(r["cpu"] / r["pages"] for r in watches) / min(r["cpu"] / r["pages"] for r in fulls)
    print(f"cpu_ratio crawl_watched/crawl {cpu:.2f}")
    # the same over CPU time (process start included): steadier on a machine others share
    cpu_ratio = (bare["cpu"] / bare["pages"]) / (full["cpu"] / full["pages"])
    print(f"ratio crawl_cpu/bare_spider_cpu {cpu_ratio:.2f}")
    return 0


def attribute(postings: int, areas: int) -> int:
    """The ``--attribute`` run: where each crawl's CPU time goes, in ms per page received."""
    from keitrucks.sample.site import SampleServer

    with tempfile.TemporaryDirectory(prefix="kt-crawl-") as tmp:
        folder = Path(tmp)
        sample = build_sample(folder, postings, areas)
        with SampleServer(root=folder, night=1) as server:
            full = full_crawl(server.base_url, folder, sample["config"], metered=True)
            urls = [server.base_url + "/robots.txt"] + [
                server.base_url + t for t in sample["targets"]
            ]
            bare = bare_crawl(server.base_url, folder, urls, metered=True)
    if full["items"] != postings:
        raise SystemExit(f"the full crawl stored {full['items']} of {postings} listings")
    per_page = {
        name: {part: 1000 * v / run["pages"] for part, v in run["meter"]["cpu"].items()}
        for name, run in (("full", full), ("bare", bare))
    }
    parts = sorted(
        set(per_page["full"]) | set(per_page["bare"]), key=lambda p: -per_page["full"].get(p, 0)
    )
    print(f"{'CPU ms per page (metered crawls)':40s} {'full':>7s} {'bare':>7s} {'extra':>7s}")
    for part in parts:
        f, b = per_page["full"].get(part, 0.0), per_page["bare"].get(part, 0.0)
        print(f"{part:40s} {f:7.3f} {b:7.3f} {f - b:+7.3f}")
    totals = [1000 * run["meter"]["total"] / run["pages"] for run in (full, bare)]
    print(f"{'total':40s} {totals[0]:7.3f} {totals[1]:7.3f} {totals[0] - totals[1]:+7.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

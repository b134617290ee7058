"""Store a remote crawl: replay a Scrapyd job's feed through the storage-side pipelines.

A job in remote mode (``pipelines.remote``) writes the raw listings it scraped and, when it
closes, one run record (when it started and ended, why it ended, its Scrapy stats: requests,
errors, blocks, budget, search key). ``ingest_feed`` reads that feed on the night's host and
replays it through the project's ``ITEM_PIPELINES`` as a local crawl runs them (validate,
dedupe, normalize, landed cost, storage), on a stand-in crawler whose stats start from the
record. Storage then records and judges the run exactly as it does a local one: only a
complete, healthy run marks listings gone.

- A feed without its run record (the job was killed, or the feed was cut short) stores its
  listings and records a run that did not finish: nothing is marked gone.
- Each job is ingested once: its id goes into ``ingested_jobs`` with the run it made, and a
  second ingest of the same job (a retry after a crash here) changes nothing.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from scrapy import signals
from scrapy.exceptions import DropItem, NotConfigured
from scrapy.settings import Settings
from scrapy.signalmanager import SignalManager
from scrapy.statscollectors import StatsCollector
from scrapy.utils.conf import build_component_list
from scrapy.utils.misc import build_from_crawler, load_object

from keitrucks.core.config import load_config
from keitrucks.core.dates import now_iso
from keitrucks.health import INGEST_JOB_STAT
from pipelines.remote import RUN_RECORD_KEY
from pipelines.runs import (
    abandon_run,
    read_ingested_job,
    record_ingested_job,
    set_run_stats,
    start_run,
)
from pipelines.schema import open_db
from pipelines.storage import SQLitePipeline
from scrapers.items import Listing

logger = logging.getLogger(__name__)

_LISTING_FIELDS = {f.name for f in dataclasses.fields(Listing)}


@dataclass(frozen=True)
class Feed:
    """A job's feed read: its raw listings and its run record (None: it never closed)."""

    items: list[dict[str, Any]]
    record: dict[str, Any] | None
    #: lines that were not JSON (the last one, cut short by a kill).
    broken: int = 0


@dataclass(frozen=True)
class Ingested:
    job_id: str
    run_id: int | None
    items: int
    #: True when the job had been ingested before: nothing was changed this time.
    already: bool = False


def read_feed(lines: Iterable[str | bytes]) -> Feed:
    """A JSON Lines feed of a remote job, as ``Feed``."""
    items, record, broken = [], None, 0
    for line in lines:
        text = line.decode("utf-8", errors="replace") if isinstance(line, bytes) else line
        if not text.strip():
            continue
        try:
            row = json.loads(text)
        except ValueError:
            broken += 1
            continue
        if not isinstance(row, dict):
            broken += 1
        elif RUN_RECORD_KEY in row:
            record = row[RUN_RECORD_KEY]
        else:
            items.append(row)
    return Feed(items, record, broken)


def listing_of(row: dict[str, Any]) -> Listing:
    """A feed line back into the Listing the job's spider yielded."""
    if row.keys() == _LISTING_FIELDS:  # a whole Listing, as the feed exporter writes one
        listing = object.__new__(Listing)
        listing.__dict__.update(row)
        return listing
    return Listing(**{k: v for k, v in row.items() if k in _LISTING_FIELDS})


def already_ingested(db_path: str | os.PathLike, job_id: str) -> Ingested | None:
    row = read_ingested_job(db_path, job_id)
    return Ingested(job_id, row["run_id"], row["items"], already=True) if row else None


def _call(method, spider) -> Any:
    """A pipeline method, with the spider argument when it still takes one."""
    return method(spider) if inspect.signature(method).parameters else method()


def replay_settings(
    db_path: str | os.PathLike,
    *,
    config_path: str | os.PathLike | None,
    record: Mapping[str, Any] | None,
    settings: Mapping[str, str] | None = None,
    job_id: str | None = None,
    server: str | None = None,
) -> Settings:
    """The project's Scrapy settings for replaying one feed into ``db_path``."""
    out = Settings()
    out.setmodule("scrapers.settings", priority="project")
    out.set("KEITRUCKS_DB_PATH", str(db_path), priority="cmdline")
    out.set("KEITRUCKS_CONFIG", str(config_path) if config_path else None, priority="cmdline")
    replayed = {k: (record or {}).get(k) for k in ("started_at", "finished_at", "pid")}
    # the job is remembered as stored in the transaction that finishes its run: a crash
    # between the two would store the feed again as a second run
    replayed.update(job_id=job_id, server=server)
    out.set("KEITRUCKS_REPLAYED_RUN", replayed, priority="cmdline")
    for key, value in (settings or {}).items():
        out.set(key, value, priority="cmdline")
    return out


def ingest_feed(
    db_path: str | os.PathLike,
    feed: Feed,
    *,
    job_id: str,
    source: str,
    as_of: str,
    server: str | None = None,
    config_path: str | os.PathLike | None = None,
    settings: Mapping[str, str] | None = None,
) -> Ingested:
    """Store one job's feed as one run, once (see the module docstring)."""
    before = already_ingested(db_path, job_id)
    if before:
        logger.info("%s: job %s was ingested before: nothing to do", source, job_id)
        return before
    record = feed.record or {}
    scrapy_settings = replay_settings(
        db_path,
        config_path=config_path,
        record=feed.record,
        settings=settings,
        job_id=job_id,
        server=server,
    )
    crawler = SimpleNamespace(settings=scrapy_settings, spider=None)
    crawler.signals = SignalManager(crawler)
    crawler.stats = StatsCollector(crawler)
    crawler.stats.set_stats(dict(record.get("stats") or {}))
    crawler.stats.set_value(INGEST_JOB_STAT, job_id)
    crawler.spider = spider = SimpleNamespace(
        name=source,
        search_key=record.get("search_key"),
        scraped_at=record.get("as_of") or as_of,
        config=load_config(config_path),
        crawler=crawler,
        logger=logger,
    )
    pipelines = []
    for path in build_component_list(scrapy_settings.getwithbase("ITEM_PIPELINES")):
        try:
            pipelines.append(build_from_crawler(load_object(path), crawler))
        except NotConfigured:
            continue
    for pipe in pipelines:
        if hasattr(pipe, "open_spider"):
            _call(pipe.open_spider, spider)
    _mark_ingest(pipelines, job_id)
    try:
        stored = _replay(feed, pipelines, crawler, spider, record)
    except BaseException as exc:  # Ctrl-C, a crash: say so now, not at the source's next run
        _stopped(db_path, pipelines, f"its ingest stopped ({type(exc).__name__})")
        raise
    storage = next((p for p in pipelines if isinstance(p, SQLitePipeline)), None)
    run_id = storage.run_id if storage else None
    if feed.record is None and storage is not None and storage.db is not None:
        why = "the job stopped before it finished: no run record in its feed"
        _stopped(db_path, pipelines, why)
    record_ingested_job(db_path, job_id, source, server, run_id, stored)
    logger.info("%s: ingested job %s: %d listings (run %s)", source, job_id, stored, run_id)
    return Ingested(job_id, run_id, stored)


def _mark_ingest(pipelines, job_id: str) -> None:
    """The open run's stats name its job from the start: an ingest killed halfway (kill -9, a
    power cut) leaves it running, and health then says to store the feed again, not to crawl."""
    storage = next((p for p in pipelines if isinstance(p, SQLitePipeline)), None)
    if storage is None or storage.db is None:
        return
    set_run_stats(storage.db, storage.run_id, {INGEST_JOB_STAT: job_id})


def _stopped(db_path, pipelines, why: str) -> None:
    """Record the replayed run as abandoned for ``why``, and let the source crawl again."""
    storage = next((p for p in pipelines if isinstance(p, SQLitePipeline)), None)
    if storage is None or storage.db is None:
        return
    storage.db.close()
    storage.db = None
    storage.release()
    abandon_run(db_path, storage.run_id, why)


def _replay(feed: Feed, pipelines, crawler, spider, record) -> int:
    """The feed's listings through the pipelines, then the run closed if the feed has its
    record; how many were stored."""
    stored = 0
    for row in feed.items:
        item = listing_of(row)
        try:
            for pipe in pipelines:
                item = pipe.process_item(item)
            stored += 1
        except DropItem as exc:
            crawler.stats.inc_value("item_dropped_count")
            crawler.stats.inc_value(f"item_dropped_reasons_count/{type(exc).__name__}")
    for pipe in pipelines:
        if hasattr(pipe, "close_spider"):
            _call(pipe.close_spider, spider)
    if feed.record is not None:
        crawler.signals.send_catch_log(
            signals.spider_closed, spider=spider, reason=record.get("finish_reason") or "unknown"
        )
    return stored


def record_lost_job(
    db_path: str | os.PathLike,
    *,
    source: str,
    as_of: str,
    reason: str,
    server: str | None = None,
) -> dict[str, Any]:
    """A job whose feed cannot be had (its server down, never scheduled): a failed run, so the
    night, the health check and the alerts see the source failed; nothing is marked gone. The
    job is not remembered as ingested: its feed, fetched later, can still be stored."""
    db = open_db(db_path)
    try:
        run_id = start_run(db, source, search_key=None, as_of=as_of, started_at=now_iso(), pid=0)
    finally:
        db.close()
    logger.info("%s: no feed from %s: recorded as failed", source, server or "Scrapyd")
    return abandon_run(db_path, run_id, reason)

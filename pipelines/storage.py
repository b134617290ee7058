"""The Scrapy pipeline that stores a crawl: listings in batches, the run and its verdict.

One writer (a crawl) and any number of readers (Datasette, sqlite3, the report) share the
database in WAL mode. Writes are batched in transactions, so a crash loses at most the batch in
flight and never leaves half a batch behind. The work is done by:

- ``pipelines.schema``: ``open_db`` and the whole database shape;
- ``pipelines.runs``: ``start_run`` / ``finish_run``, the run's row and recorded verdict;
- ``pipelines.run_health``: ``judge_run``, the one judgement of a run;
- ``pipelines.listings``: ``save_listings`` / ``mark_gone``, listings and their history.

Listings go gone only after a run whose verdict ``may_mark_gone`` (complete and healthy).

One crawl of a source writes to a database at a time: the run holds ``source_lock`` (an
``flock`` beside the database, released when the crawl ends or dies) from its start to its
end. Two at once would each take the listings the other saw last for gone; a second crawl of
the source refuses to start (``SourceBusyError``) instead.

A listing seen again unchanged (``pipelines.recrawl``: its norm key is the stored one, so the
normalizer copied its stored fields) is not upserted: the batch's transaction only moves its
``scraped_at``, ``last_seen_at``, ``last_run_id`` and ``search_key``, and it writes no history.
Every other listing is upserted with its new norm key. A batch is ``KEITRUCKS_BATCH_SIZE``
listings or 5 seconds, whichever comes first; a crash loses only the batch not yet written.
"""

from __future__ import annotations

import dataclasses
import fcntl
import logging
import operator
import os
import time
from pathlib import Path

from scrapy import signals
from sqlite_utils import Database

from keitrucks.core.dates import now_iso
from pipelines.listings import mark_gone, save_listings
from pipelines.recrawl import norm_mark
from pipelines.run_health import COVERAGE_FIELDS, HealthRules, coverage_of_counts, judge_run
from pipelines.runs import finish_run, recent_healthy_runs, start_run
from pipelines.schema import open_db
from scrapers.items import Listing

logger = logging.getLogger(__name__)

#: Listings buffered before one write transaction, unless ``KEITRUCKS_BATCH_SIZE`` says
#: otherwise: each commit writes every page of the table and its indexes the batch touched,
#: so fewer, larger batches write less per listing (``bench/ingest.py``, bench/README.md).
BATCH_SIZE = 1000
#: The fields whose coverage the run records, read off an item in one call.
_COVERAGE_VALUES = operator.attrgetter(*COVERAGE_FIELDS)


class SourceBusyError(RuntimeError):
    """Another crawl of the same source is writing to the same database."""


def source_lock_path(db_path: str | os.PathLike, source: str) -> Path:
    """``data/keitrucks.db``, ``craigslist`` -> ``data/keitrucks.craigslist.lock``."""
    return Path(db_path).resolve().with_suffix(f".{source}.lock")


def source_lock(db_path: str | os.PathLike, source: str):
    """The open lock file of ``source``'s crawls on ``db_path``, locked; close it to release.
    Raises SourceBusyError, naming the holder, when another crawl holds it."""
    path = source_lock_path(db_path, source)
    handle = open(path, "a+")  # noqa: SIM115 (held until the crawl ends)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        who = handle.read().strip() or "unknown"
        handle.close()
        raise SourceBusyError(
            f"another crawl of {source} is writing to this database ({who}); "
            "this one stopped before it started"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}, since {now_iso()}")
    handle.flush()
    return handle


def source_lock_held(db_path: str | os.PathLike, source: str) -> bool:
    """Whether a crawl of ``source`` is writing to ``db_path`` now (it holds ``source_lock``).
    Reads only: creates no file."""
    try:
        fd = os.open(source_lock_path(db_path, source), os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


class SQLitePipeline:
    """Buffer items and write them in batches; record the run; mark gone after healthy runs."""

    def __init__(self, crawler):
        self.crawler = crawler
        settings = crawler.settings
        self.db_path = settings.get("KEITRUCKS_DB_PATH")
        self.batch_size = settings.getint("KEITRUCKS_BATCH_SIZE", BATCH_SIZE)
        self.min_ratio = settings.getfloat("KEITRUCKS_MIN_ITEMS_RATIO", 0.5)
        self.flush_seconds = 5.0
        #: listings to upsert (``save_listings`` reads their norm key off their mark).
        self.buffer: list[Listing] = []
        #: (source, listing_id, scraped_at) of listings seen again unchanged (see
        #: ``pipelines.recrawl``): only the crawl's bookkeeping is written for them.
        self.unchanged: list[tuple[str, str, str | None]] = []
        #: per ``COVERAGE_FIELDS``, how many of the listings given so far have it.
        self.filled = [0] * len(COVERAGE_FIELDS)
        #: listings this crawl gave the storage (stored or not yet).
        self.counted = 0
        self.saved = 0
        self.last_flush = time.monotonic()
        self.db: Database | None = None
        self.run_id: int | None = None
        #: the source's lock file while the run is open (``source_lock``).
        self.lock = None
        #: a remote job's run replayed from its feed: its own started_at, finished_at and pid.
        self.replayed = settings.getdict("KEITRUCKS_REPLAYED_RUN")
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    @property
    def spider(self):
        return self.crawler.spider

    def open_spider(self) -> None:
        self.lock = source_lock(self.db_path, self.spider.name)
        self.db = open_db(self.db_path)
        self.run_id = start_run(
            self.db,
            self.spider.name,
            search_key=self.spider.search_key,
            as_of=self.spider.scraped_at,
            started_at=self.replayed.get("started_at") or now_iso(),
            pid=self.replayed.get("pid"),
        )
        self.crawler.stats.set_value("keitrucks/run_id", self.run_id)

    def process_item(self, item: Listing) -> Listing:
        found = norm_mark(item)
        if found is not None and found[1]:  # seen again as stored: the bookkeeping only
            self.unchanged.append((item.source, item.listing_id, item.scraped_at))
        else:
            self.buffer.append(item)  # final here: its row is read from it at the flush
        self.counted += 1
        filled = self.filled
        for i, value in enumerate(_COVERAGE_VALUES(item)):
            if value is not None:
                filled[i] += 1
        pending = len(self.buffer) + len(self.unchanged)
        if pending >= self.batch_size or time.monotonic() - self.last_flush > self.flush_seconds:
            self.flush()
        return item

    def flush(self) -> None:
        """Write the buffered listings in one transaction (all or nothing)."""
        if (not self.buffer and not self.unchanged) or self.db is None:
            return
        events = save_listings(
            self.db,
            self.buffer,
            run_id=self.run_id,
            seen_at=self.spider.scraped_at,
            search_key=self.spider.search_key,
            unchanged=self.unchanged,
        )
        for event, n in events.items():
            self.crawler.stats.inc_value(f"keitrucks/history/{event}", n)
        if self.unchanged:
            self.crawler.stats.inc_value("keitrucks/history/unchanged", len(self.unchanged))
        self.saved += len(self.buffer) + len(self.unchanged)
        self.buffer = []
        self.unchanged = []
        self.last_flush = time.monotonic()

    def close_spider(self) -> None:
        self.flush()

    def spider_closed(self, spider, reason: str) -> None:
        if self.db is None:
            return
        try:
            self._close_run(spider, reason)
        finally:
            self.release()

    def _close_run(self, spider, reason: str) -> None:
        self.flush()
        stats = dict(self.crawler.stats.get_stats())
        coverage = coverage_of_counts(
            dict(zip(COVERAGE_FIELDS, self.filled, strict=True)), self.counted
        )
        rules = dataclasses.replace(
            HealthRules.from_config(spider.config), min_items_ratio=self.min_ratio
        )
        recent = recent_healthy_runs(self.db, spider.name, spider.search_key, rules.window)
        facts = {"finish_reason": reason, "stats": stats, "items": self.saved, "coverage": coverage}
        verdict = judge_run(facts, recent, rules)
        gone = 0
        if verdict.may_mark_gone:
            gone = mark_gone(
                self.db,
                source=spider.name,
                search_key=spider.search_key,
                run_id=self.run_id,
                at=spider.scraped_at,
            )
        else:
            logger.warning("Run not healthy (%s): nothing marked gone", verdict.reason)
        finish_run(
            self.db,
            self.run_id,
            finished_at=self.replayed.get("finished_at") or now_iso(),
            finish_reason=reason,
            verdict=verdict,
            stats=stats,
            items=self.saved,
            coverage=coverage,
            gone_marked=gone,
            job=(self.replayed["job_id"], self.replayed.get("server"))
            if self.replayed.get("job_id")
            else None,
        )
        self.db.close()
        self.db = None

    def release(self) -> None:
        """Let the next crawl of the source start."""
        if self.lock is not None:
            self.lock.close()
            self.lock = None

"""A crawl that stores nothing itself: raw items and the run's facts to the job's feed.

A Scrapyd job on a host without the database runs in *remote* mode (the ``KEITRUCKS_REMOTE``
setting). ``RemoteMode``, a Scrapy add-on, then keeps only the raw-item stages of
``ITEM_PIPELINES`` (the ``KEITRUCKS_RAW_PIPELINES`` setting: validate, dedupe), so the job's
feed (Scrapy ``FEEDS``, which Scrapyd points at its ``items_dir``) receives the raw listings.
``RunRecord`` adds one last line to that feed when the spider closes: the run's own facts
(``run_record``), which the night's host reads back in ``keitrucks.remote_ingest`` to replay
the items through the storage-side pipelines and judge the run exactly as a local crawl's.

A job killed before it closes leaves a feed without that line: it ingests as a run that did
not finish.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.extensions.feedexport import FeedExporter

from keitrucks.core.dates import now_iso

logger = logging.getLogger(__name__)

#: The key of the feed's last line, the run record; every other line is a raw listing.
RUN_RECORD_KEY = "keitrucks_run"


class RemoteMode:
    """Scrapy add-on: in remote mode keep only the raw-item stages, read no database."""

    def update_settings(self, settings) -> None:
        if not settings.getbool("KEITRUCKS_REMOTE"):
            return
        priority = settings.getpriority("ITEM_PIPELINES") or 0
        raw = settings.getdict("KEITRUCKS_RAW_PIPELINES")
        settings.set("ITEM_PIPELINES", raw, priority=priority)
        # whatever path this host would default to is not the night's database
        settings.set("KEITRUCKS_DB_PATH", "", priority=max(priority, 40))


def run_record(crawler, spider, reason: str, started_at: str | None) -> dict[str, Any]:
    """What the night's host needs to record and judge the run: the facts storage records."""
    return {
        RUN_RECORD_KEY: {
            "source": spider.name,
            "search_key": spider.search_key,
            "as_of": spider.scraped_at,
            "started_at": started_at,
            "finished_at": now_iso(),
            "finish_reason": reason,
            "pid": os.getpid(),
            "stats": {
                k: v if isinstance(v, int | float | str | bool) or v is None else str(v)
                for k, v in crawler.stats.get_stats().items()
            },
        }
    }


class RunRecord:
    """Extension (remote mode only): the run record as the feed's last line."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.started_at: str | None = None
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        # connected before the FeedExporter (a lower EXTENSIONS order), so its feed is open
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        if not crawler.settings.getbool("KEITRUCKS_REMOTE"):
            raise NotConfigured
        return cls(crawler)

    def spider_opened(self, spider) -> None:
        self.started_at = now_iso()
        if not self.crawler.settings.getdict("FEEDS"):
            logger.error("Remote mode without a feed: set items_dir in scrapyd.conf")

    def spider_closed(self, spider, reason: str) -> None:
        feeds = self.crawler.get_extension(FeedExporter)
        if feeds is None or not feeds.slots:
            logger.error("No open feed for the run record: the run will count as unfinished")
            return
        feeds.item_scraped(run_record(self.crawler, spider, reason, self.started_at), spider)

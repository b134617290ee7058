"""A crawl's progress, written where the process that started it can read it.

``ProgressFile`` is a Scrapy extension, on only when the ``KEITRUCKS_PROGRESS_FILE`` setting
names a file (``keitrucks.crawl`` sets it for a crawl whose progress is shown). Every
``KEITRUCKS_PROGRESS_INTERVAL`` seconds (default 1) and when the spider closes, it writes the
crawl's counts (:func:`progress_counts` of the stats) to that file as one small JSON object,
replacing the file atomically, so a reader never sees half of it. Nothing is written when the
counts did not change. The reader is :func:`read_progress`.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.asyncio import create_looping_call

logger = logging.getLogger(__name__)

#: The count in the progress file -> the Scrapy stat it is read from.
COUNTS = {
    "pages": "response_received_count",
    "items": "item_scraped_count",
    "dropped": "item_dropped_count",
    "errors": "log_count/ERROR",
}


def progress_counts(stats: dict[str, Any], *, finished: bool = False) -> dict[str, Any]:
    """The counts a progress reader sees, from a crawl's stats."""
    counts: dict[str, Any] = {name: int(stats.get(key) or 0) for name, key in COUNTS.items()}
    counts["finished"] = finished
    return counts


def write_progress(path: Path, counts: dict[str, Any]) -> None:
    """Replace ``path`` with ``counts`` as JSON, atomically (a temporary file, then rename)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(counts), encoding="utf-8")
    os.replace(tmp, path)


def read_progress(path: Path) -> dict[str, Any] | None:
    """The counts last written to ``path``; None while there are none (or the file is bad)."""
    try:
        counts = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return counts if isinstance(counts, dict) else None


class ProgressFile:
    """Write the crawl's counts to ``KEITRUCKS_PROGRESS_FILE`` as it goes."""

    def __init__(self, stats, path: Path, interval: float = 1.0) -> None:
        self.stats = stats
        self.path = path
        self.interval = interval
        self.task = None
        self.last: dict[str, Any] | None = None

    @classmethod
    def from_crawler(cls, crawler):
        path = crawler.settings.get("KEITRUCKS_PROGRESS_FILE")
        if not path:
            raise NotConfigured
        interval = crawler.settings.getfloat("KEITRUCKS_PROGRESS_INTERVAL", 1.0)
        extension = cls(crawler.stats, Path(path), interval)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def write(self, finished: bool = False) -> None:
        counts = progress_counts(self.stats.get_stats(), finished=finished)
        if counts == self.last:
            return
        try:
            write_progress(self.path, counts)
        except OSError as exc:  # progress is a courtesy: never let it stop a crawl
            logger.debug("cannot write progress to %s: %s", self.path, exc)
            return
        self.last = counts

    def spider_opened(self, spider) -> None:
        self.write()
        self.task = create_looping_call(self.write)
        self.task.start(self.interval, now=False)

    def spider_closed(self, spider, reason) -> None:
        if self.task is not None and self.task.running:
            self.task.stop()
        self.write(finished=True)

"""Python's garbage collector during a crawl: the start-up heap frozen, young objects collected
less often.

CPython's cyclic collector runs a young collection every 700 new container objects, a middle
one every tenth of those, and now and then one over the whole heap. A crawl allocates thousands
of short-lived objects per page (element proxies, requests, items, deferreds) on top of a large
heap it keeps for the whole crawl (Scrapy, lxml, pandas, the normalizer's vocabularies): in the
full crawl of ``bench/crawl.py`` the collector took 9% of the CPU time, a third of it walking
that heap (issue #18; docs/architecture.md, "What a crawl pays per page").

``CrawlHeap`` (a Scrapy extension) acts when the spider opens: it moves every object alive then
out of the collector's sight (``gc.freeze()``: they live as long as the crawl anyway; reference
counting still frees them, and a cycle among them waits for the close), and sets the young
generation's threshold to ``KEITRUCKS_GC_THRESHOLD`` (0 keeps Python's own). Memory is
reclaimed as before: most objects are freed by reference counting the moment they are dropped,
and cycles are still collected, a little later. When the spider closes it gives the frozen
objects back and restores the thresholds, so a process that runs more than one crawl (the demo)
starts each alike.
"""

from __future__ import annotations

import gc
import logging

from scrapy import signals
from scrapy.exceptions import NotConfigured

logger = logging.getLogger(__name__)


class CrawlHeap:
    """Freeze the heap at spider open and collect the young generation less often.

    Crawls that run side by side in one process (a demo night) share the collector: the first
    to open saves its thresholds and the last to close gives them back."""

    #: Crawls of this process between their open and close, and the thresholds found before.
    _open = 0
    _saved: tuple[int, int, int] | None = None
    _froze = False

    def __init__(self, threshold: int, freeze: bool = True) -> None:
        self.threshold = threshold
        self.freeze = freeze
        self.opened = False

    @classmethod
    def from_crawler(cls, crawler):
        threshold = crawler.settings.getint("KEITRUCKS_GC_THRESHOLD", 0)
        freeze = crawler.settings.getbool("KEITRUCKS_GC_FREEZE", True)
        if not freeze and threshold <= 0:
            raise NotConfigured
        extension = cls(threshold, freeze)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_opened(self, spider) -> None:
        if self.opened:
            return
        self.opened = True
        cls = type(self)
        if cls._open == 0:
            cls._saved = gc.get_threshold()
        cls._open += 1
        if self.freeze:  # no collection first: it would cost each night of the demo a full one
            gc.freeze()
            cls._froze = True
        if self.threshold > 0:
            gc.set_threshold(self.threshold, *gc.get_threshold()[1:])
        logger.debug("Heap frozen: %s; GC thresholds %s", self.freeze, gc.get_threshold())

    def spider_closed(self, spider, reason) -> None:
        if not self.opened:
            return
        self.opened = False
        cls = type(self)
        cls._open -= 1
        if cls._open == 0:
            if cls._froze:
                gc.unfreeze()
            cls._froze = False
            if cls._saved is not None:
                gc.set_threshold(*cls._saved)
            cls._saved = None

"""Scrapy's log lines, without the two a night never shows.

Scrapy makes a DEBUG record for every response ("Crawled (200) <GET ...>") and every item
("Scraped from <200 ...>" with the whole item) and only then lets the handler drop it at the
usual INFO level: two log records per page that nobody reads. This formatter does not make them
unless the crawl's ``LOG_LEVEL`` shows DEBUG (``KEITRUCKS_LOG_LEVEL=DEBUG``), where they are
written as before. Every other line (dropped items, errors) is Scrapy's own.
"""

from __future__ import annotations

import logging

from scrapy import logformatter


class LogFormatter(logformatter.LogFormatter):
    def __init__(self, debug: bool = True) -> None:
        super().__init__()
        self.debug = debug

    @classmethod
    def from_crawler(cls, crawler):
        level = crawler.settings.get("LOG_LEVEL") or "DEBUG"
        if isinstance(level, str):
            level = logging.getLevelName(level.upper())
        return cls(debug=not isinstance(level, int) or level <= logging.DEBUG)

    def crawled(self, request, response, spider):
        return super().crawled(request, response, spider) if self.debug else None

    def scraped(self, item, response, spider):
        return super().scraped(item, response, spider) if self.debug else None

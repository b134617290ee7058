"""Downloader middlewares enforcing the crawl policy: a request budget and stop-at-first-block."""

from __future__ import annotations

import inspect
import logging

from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.defer import deferred_from_coro

from scrapers.blocking import block_reason

logger = logging.getLogger(__name__)


class _SpiderCloser:
    def __init__(self, crawler):
        self.crawler = crawler
        self.closing = False

    def _close(self, reason: str) -> None:
        if self.closing:
            return
        self.closing = True
        # spiders read it: the queued requests are dropped, so held listings must go out now
        if not self.crawler.stats.get_value("keitrucks/stopped"):
            self.crawler.stats.set_value("keitrucks/stopped", reason)
        closing = self.crawler.engine.close_spider_async(reason=reason)
        if inspect.iscoroutine(closing):
            deferred_from_coro(closing)


class BudgetMiddleware(_SpiderCloser):
    """Stop a source once it has made its nightly number of requests.

    The budget is the spider's ``request_budget`` attribute, else ``KEITRUCKS_REQUEST_BUDGET``.
    A run cut short by its budget is not complete, so it never marks listings gone.
    """

    def __init__(self, crawler):
        super().__init__(crawler)
        self.sent = 0

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    @property
    def budget(self) -> int:
        spider = self.crawler.spider
        own = getattr(spider, "request_budget", None)
        return int(
            own if own is not None else self.crawler.settings.getint("KEITRUCKS_REQUEST_BUDGET")
        )

    def process_request(self, request: Request):
        if request.url.endswith("/robots.txt"):
            return None
        if self.sent >= self.budget:
            self.crawler.stats.set_value("keitrucks/budget_exhausted", 1)
            if not self.closing:
                logger.warning("Request budget of %d spent; stopping the source", self.budget)
            self._close("budget_exhausted")
            raise IgnoreRequest(f"request budget of {self.budget} spent")
        self.sent += 1
        return None


class BlockDetectionMiddleware(_SpiderCloser):
    """Stop the source at the first block and record why (stats ``keitrucks/blocked``).

    Requests may carry ``meta["expect"]`` ("json"/"html") and ``meta["anchor"]``.
    """

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_response(self, request: Request, response: Response):
        if request.url.endswith("/robots.txt"):
            return response
        reason = block_reason(
            response.status,
            response.body,
            response.url,
            expect=request.meta.get("expect"),
            anchor=request.meta.get("anchor"),
        )
        if reason is None:
            return response
        stats = self.crawler.stats
        if not stats.get_value("keitrucks/blocked"):
            stats.set_value("keitrucks/blocked", reason)
            stats.set_value("keitrucks/blocked_url", response.url)
            logger.error("Blocked (%s) at %s: stopping the source", reason, response.url)
        self._close("blocked")
        raise IgnoreRequest(f"blocked: {reason}")

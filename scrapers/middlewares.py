"""Downloader middlewares enforcing the crawl policy: a request budget, stop at the first block,
stop at once when the site cannot be reached, and retries that honour ``Retry-After``."""

from __future__ import annotations

import inspect
import logging

from scrapy import Request
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.asyncio import sleep
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.httpobj import urlparse_cached
from twisted.python.failure import Failure

from scrapers.blocking import block_reason, retry_after_seconds, unreachable_reason

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

    def _block(self, reason: str, url: str) -> None:
        """Record the first block (stats ``keitrucks/blocked``) and stop the source."""
        stats = self.crawler.stats
        if not stats.get_value("keitrucks/blocked"):
            stats.set_value("keitrucks/blocked", reason)
            stats.set_value("keitrucks/blocked_url", url)
            logger.error("Blocked (%s) at %s: stopping the source", reason, url)
        self._close("blocked")


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
        self._block(reason, response.url)
        raise IgnoreRequest(f"blocked: {reason}")


class UnreachableMiddleware(_SpiderCloser):
    """Stop the source at the first sign that its site cannot be reached at all: no network
    (DNS lookup failed), nothing listening, no route. Retrying those only turns a night without
    network into minutes per source. robots.txt goes through here too, so a failed robots.txt
    stops the source before its start requests wait on it. Records stats
    ``keitrucks/unreachable`` (the reason) and ``keitrucks/unreachable_host``.
    """

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_exception(self, request: Request, exception: Exception):
        reason = unreachable_reason(exception)
        if reason is None:
            return None
        stats = self.crawler.stats
        host = urlparse_cached(request).netloc
        if not stats.get_value("keitrucks/unreachable"):
            stats.set_value("keitrucks/unreachable", reason)
            stats.set_value("keitrucks/unreachable_host", host)
            logger.error("%s: %s; stopping the source", host, reason)
        self._close("unreachable")
        self._drop_queued(reason)
        return None

    def _drop_queued(self, reason: str) -> None:
        """Fail the requests waiting in the downloader's queues now: each would only wait out
        its politeness delay to fail the same way (their errbacks still run)."""
        slots = getattr(getattr(self.crawler.engine, "downloader", None), "slots", {})
        for slot in slots.values():
            while slot.queue:
                _, waiting = slot.queue.popleft()
                waiting.errback(Failure(IgnoreRequest(f"source unreachable: {reason}")))


class PoliteRetryMiddleware(RetryMiddleware, _SpiderCloser):
    """Scrapy's retry, but a retried status that carries ``Retry-After`` (seconds or an HTTP
    date) waits that long first, up to ``KEITRUCKS_RETRY_AFTER_MAX`` seconds; a longer wait
    stops the source as blocked (``http_<status>_retry_after``) instead of waiting.
    """

    def __init__(self, crawler):
        RetryMiddleware.__init__(self, crawler.settings)
        _SpiderCloser.__init__(self, crawler)
        self.max_wait = crawler.settings.getfloat("KEITRUCKS_RETRY_AFTER_MAX")

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    async def process_response(self, request: Request, response: Response):
        if request.meta.get("dont_retry") or response.status not in self.retry_http_codes:
            return response
        wait = retry_after_seconds(response.headers.get(b"Retry-After"))
        if not wait:
            return super().process_response(request, response)
        if wait > self.max_wait:
            self._block(f"http_{response.status}_retry_after", response.url)
            raise IgnoreRequest(f"Retry-After {wait:g}s is over {self.max_wait:g}s")
        retry = self._retry(request, f"{response.status} Retry-After")
        if retry is None:
            return response
        self.crawler.stats.inc_value("keitrucks/retry_after_waited", wait)
        logger.info("%s asks to retry after %gs: waiting", response.url, wait)
        await sleep(wait)
        return retry

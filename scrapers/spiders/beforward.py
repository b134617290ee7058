"""BE FORWARD (https://www.beforward.jp): keyword searches of the stock list, one per kei model.

For each configured keyword the spider reads ``/stocklist/[page=N/]sortkey=n/keyword=<kw>/
kmode=and/tp_country_id=<id>/view_cnt=50/`` (totals quoted to the configured destination, USA by
default) and follows ``page=N+1/`` until a page has no vehicle rows. The rows already carry every
field we need, so detail pages are read only for Ref Nos the database does not know yet, after all
list pages, and only within the night's request budget. A vehicle found under two keywords is
yielded once. An HTTP 202 challenge (datacenter IPs) stops the source through the block middleware.

A row held back for its detail page stays in one dict until it is yielded. When the source is
stopped (a block or the spent budget), Scrapy drops the queued requests without their callbacks or
errbacks, so the errback that sees the stop yields every row still held.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlsplit

import scrapy

from pipelines.storage import read_known_listings
from scrapers.items import Listing
from scrapers.parsers import beforward as parser
from scrapers.spiders.base import ListingSpider

#: Rows per page requested from the site (it offers 25, 50 or 100).
VIEW_CNT = 50
#: Text every BE FORWARD page carries, an empty result page too (menu and search form links).
ANCHOR = "stocklist"
#: Requests kept in reserve for retries when detail pages are planned against the budget.
BUDGET_MARGIN = 5
LIST_PRIORITY = 10


def stocklist_path(
    keyword: str, page: int = 1, *, country_id: int | None = None, view_cnt: int = VIEW_CNT
) -> str:
    """The path-segment keyword search; ``page=N/`` comes right after ``/stocklist/``."""
    segments = [f"page={page}"] if page > 1 else []
    segments += ["sortkey=n", f"keyword={quote(keyword, safe='')}", "kmode=and"]
    if country_id is not None:
        segments.append(f"tp_country_id={country_id}")
    segments.append(f"view_cnt={view_cnt}")
    return "/stocklist/" + "/".join(segments) + "/"


class BeforwardSpider(ListingSpider):
    name = "beforward"
    hosts = {"www": "https://www.beforward.jp"}
    request_budget = 60

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.seen_ids: set[str] = set()
        #: Stored raw fields by Ref No: known vehicles carry them forward instead of a detail page.
        self.known: dict[str, dict[str, Any]] = {}
        self.requests_made = 0
        self._open_searches: set[str] = set()
        self._ids_by_keyword: dict[str, set[str]] = {}
        #: Rows held back for their detail page by Ref No, until yielded.
        self._held: dict[str, Listing] = {}
        #: Held Ref Nos whose detail page has been requested.
        self._detail_requested: set[str] = set()
        #: Ref Nos yielded from the held rows when the source stopped.
        self._released_on_stop: set[str] = set()

    @property
    def keywords(self) -> list[str]:
        return list(self.source_config.get("keywords", []))

    @property
    def country_id(self) -> int | None:
        return self.source_config.get("destination_country_id")

    async def start(self):
        self.known = read_known_listings(self.settings.get("KEITRUCKS_DB_PATH"), self.name)
        self._open_searches = set(self.keywords)
        for keyword in self.keywords:
            yield self.list_request(keyword, 1)

    def list_request(self, keyword: str, page: int) -> scrapy.Request:
        self.requests_made += 1
        path = stocklist_path(keyword, page, country_id=self.country_id)
        return scrapy.Request(
            self.url("www", path),
            callback=self.parse_list,
            errback=self.list_failed,
            cb_kwargs={"keyword": keyword, "page": page},
            meta={"expect": "html", "anchor": ANCHOR},
            priority=LIST_PRIORITY,
        )

    def parse_list(self, response, keyword: str, page: int) -> Iterator[Any]:
        result = parser.parse_stock_list(response, self.scraped_at)
        if not result.listings:
            if page == 1 and not result.no_results:
                self.logger.error("No vehicle rows on %s: layout change?", response.url)
                self.count("empty_page")
            else:
                self.logger.debug("End of results for %r at page %d", keyword, page)
            yield from self.end_search(keyword)
            return
        on_keyword = self._ids_by_keyword.setdefault(keyword, set())
        fresh = [item for item in result.listings if item.listing_id not in on_keyword]
        on_keyword.update(item.listing_id for item in result.listings)
        for listing in fresh:
            yield from self.take(listing)
        if fresh:
            yield self.list_request(keyword, page + 1)
        else:
            # the site served rows already seen (a page past the end echoed back): stop here
            self.logger.info("Page %d of %r repeats earlier rows; search ends", page, keyword)
            yield from self.end_search(keyword)

    def list_failed(self, failure) -> Iterator[Any]:
        self.on_error(failure)
        if self.stopped():
            yield from self.release_held()
            return
        yield from self.end_search(failure.request.cb_kwargs["keyword"])

    def stopped(self) -> bool:
        """Has a block or the spent budget stopped the source (queued requests are dropped)?"""
        stats = self.crawler.stats
        return bool(
            stats.get_value("keitrucks/blocked") or stats.get_value("keitrucks/budget_exhausted")
        )

    def release(self, listing: Listing) -> bool:
        """Take a row out of the held ones; False when the stop already yielded it."""
        self._detail_requested.discard(listing.listing_id)
        self._held.pop(listing.listing_id, None)
        return listing.listing_id not in self._released_on_stop

    def release_held(self) -> Iterator[Listing]:
        """Yield every row still held: the source stopped, their detail pages will not come."""
        held, self._held = self._held, {}
        self._detail_requested.clear()
        self._released_on_stop.update(held)
        if held:
            self.count("held_released_on_stop", len(held))
            self.logger.info("Source stopped: yielding %d rows held for detail pages", len(held))
        yield from held.values()

    def take(self, listing: Listing) -> Iterator[Listing]:
        """Yield a listing once per run; hold new, unsold ones back for their detail page."""
        if listing.listing_id in self.seen_ids:
            self.count("duplicate_across_keywords")
            return
        self.seen_ids.add(listing.listing_id)
        stored = self.known.get(listing.listing_id)
        if stored is not None:
            # what an earlier night's detail page added (chassis no., gallery) stays on record
            yield parser.carry_forward(listing, Listing.from_dict({**stored, "source": self.name}))
        elif listing.status_raw is None:
            self._held[listing.listing_id] = listing
        else:
            yield listing

    def end_search(self, keyword: str) -> Iterator[Any]:
        """Close one keyword's page chain; after the last one, read the planned detail pages."""
        self._open_searches.discard(keyword)
        if self._open_searches:
            return
        spare = self.request_budget - self.requests_made - BUDGET_MARGIN
        if self.stopped():
            spare = 0
        waiting = [
            listing for key, listing in self._held.items() if key not in self._detail_requested
        ]
        for n, listing in enumerate(waiting):
            if n < spare:
                self._detail_requested.add(listing.listing_id)
                yield self.detail_request(listing)
            elif self.release(listing):
                yield listing
        if len(waiting) > max(spare, 0):
            self.count("detail_skipped_budget", len(waiting) - max(spare, 0))

    def detail_request(self, listing: Listing) -> scrapy.Request:
        self.requests_made += 1
        return scrapy.Request(
            self.url("www", urlsplit(listing.url).path),
            callback=self.parse_detail,
            errback=self.detail_failed,
            cb_kwargs={"listing": listing},
            meta={"expect": "html", "anchor": ANCHOR},
        )

    def parse_detail(self, response, listing: Listing) -> Iterator[Listing]:
        detail = parser.parse_detail(response, self.scraped_at)
        if detail is None or detail.listing_id != listing.listing_id:
            self.logger.warning("No vehicle %s on %s", listing.listing_id, response.url)
            self.count("detail_unusable")
            if self.release(listing):
                yield listing
            return
        if self.release(listing):
            yield parser.merge_detail(listing, detail)

    def detail_failed(self, failure) -> Iterator[Listing]:
        """A detail page only enriches a row already read, so the run stays complete."""
        self.count("detail_failed")
        self.logger.warning("Detail page failed: %s (%s)", failure.request.url, failure.value)
        listing = failure.request.cb_kwargs["listing"]
        if self.release(listing):
            yield listing
        if self.stopped():
            yield from self.release_held()

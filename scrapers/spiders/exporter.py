"""The crawl shared by the Japanese exporter spiders (SBT Japan, CAR FROM JAPAN, TCV).

Searches with paging, each vehicle once per run, and detail pages only for new or re-priced
stock, read after all searches and within the night's request budget. Known, unchanged vehicles
are yielded from tonight's card completed with their stored raw fields, so nothing a detail page
once gave is lost. A vehicle whose detail page was read carries ``attributes["detail_read_at"]``
(the night's as-of time); one stored without it gets its detail page on a later night.

Holding cards for their detail page and releasing them when the source stops is
``scrapers.spiders.incremental.IncrementalSpider``; the known vehicles come through its
``KEITRUCKS_KNOWN_LISTINGS`` hook.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from types import ModuleType
from typing import Any, ClassVar
from urllib.parse import urlsplit

import scrapy

from scrapers.items import RAW_FIELDS, Listing
from scrapers.parsers import common
from scrapers.spiders.incremental import IncrementalSpider

#: Requests kept in reserve for retries when detail pages are planned against the budget.
BUDGET_MARGIN = 5
LIST_PRIORITY = 10
#: Fields that describe tonight's offer: taken from tonight's card, or from the stored row only
#: while the card's price signature is unchanged (a sold card keeps none of them).
PRICE_FIELDS = ("price_raw", "currency_raw", "total_price_raw", "destination_port", "price_basis")
#: Attributes that belong to a quoted total and go when the total goes.
TOTAL_ATTRIBUTES = ("price_condition",)
#: Fields only tonight's page may set (a stored "SOLD" must not stick to a relisted vehicle).
TONIGHT_ONLY = ("status_raw",)
#: Attribute the spider stamps (the night's as-of time) on a vehicle whose detail page it read;
#: a stored vehicle without it (its page was skipped for the budget) gets its page next time.
DETAIL_READ = "detail_read_at"


class ExporterSpider(IncrementalSpider):
    """The exporter crawl. Leaf spiders set ``name``, ``hosts``, ``request_budget``,
    ``default_config``, ``list_anchor``/``detail_anchor`` (text every valid page holds),
    ``parser`` (a module with ``parse_search``, ``parse_detail`` and ``merge_detail``), and:

    - ``searches()``: the configured searches, ``search_label(search)`` for logs;
    - ``search_path(search, page)``: the path of one results page on host ``"www"``;
    - ``price_signature(listing)``: what, when it changes, sends the detail page again;
    - ``detail_prices_win``: True when stored detail prices beat tonight's card prices.
    """

    parser: ClassVar[ModuleType]
    list_anchor: ClassVar[str] = ""
    detail_anchor: ClassVar[str] = ""
    detail_prices_win: ClassVar[bool] = False
    #: Stamp ``attributes[DETAIL_READ]`` on a vehicle whose detail page was read.
    stamps_detail_read: ClassVar[bool] = True
    #: Stats key counting a vehicle found again by another search.
    duplicate_stat: ClassVar[str] = "duplicate_across_searches"

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.seen_ids: set[str] = set()
        self.requests_made = 0
        self._open_searches: set[str] = set()
        self._ids_by_search: dict[str, set[str]] = {}

    # -- hooks ------------------------------------------------------------------------------------

    def searches(self) -> list[Any]:
        return [dict(s) for s in self.source_config.get("searches", [])]

    def search_label(self, search: Any) -> str:
        return " ".join(str(v) for v in search.values())

    def search_path(self, search: Any, page: int) -> str:
        raise NotImplementedError

    def parse_search_page(self, response) -> common.SearchPage:
        return self.parser.parse_search(response, self.scraped_at)

    def parse_detail_page(self, response) -> Listing | None:
        return self.parser.parse_detail(response, self.scraped_at)

    def merge(self, card: Listing, detail: Listing) -> Listing:
        return self.parser.merge_detail(card, detail)

    def price_signature(self, listing: Listing) -> tuple:
        return (listing.price_raw, listing.total_price_raw)

    # -- searches ---------------------------------------------------------------------------------

    async def start(self):
        self.known = self.read_known()
        searches = self.searches()
        self._open_searches = {self.search_label(s) for s in searches}
        for search in searches:
            yield self.list_request(search, 1)

    def list_request(self, search: Any, page: int) -> scrapy.Request:
        self.requests_made += 1
        return scrapy.Request(
            self.url("www", self.search_path(search, page)),
            callback=self.parse_list,
            errback=self.list_failed,
            cb_kwargs={"search": search, "page": page},
            meta={"expect": "html", "anchor": self.list_anchor},
            priority=LIST_PRIORITY,
        )

    def parse_list(self, response, search: Any, page: int) -> Iterator[Any]:
        label = self.search_label(search)
        result = self.parse_search_page(response)
        if not result.listings:
            if page == 1 and not result.no_results:
                self.logger.error("No vehicle cards on %s: layout change?", response.url)
                self.count("empty_page")
            else:
                self.logger.debug("End of results for %s at page %d", label, page)
            yield from self.end_search(label)
            return
        on_search = self._ids_by_search.setdefault(label, set())
        fresh = [item for item in result.listings if item.listing_id not in on_search]
        on_search.update(item.listing_id for item in result.listings)
        for listing in fresh:
            yield from self.take(listing)
        if fresh and result.has_next is not False:
            yield self.list_request(search, page + 1)
        else:
            if not fresh:  # the site served cards already seen (a page past the end echoed back)
                self.logger.info("Page %d of %s repeats earlier cards; search ends", page, label)
            yield from self.end_search(label)

    def list_failed(self, failure) -> Iterator[Any]:
        self.on_error(failure)
        if self.stopped():
            yield from self.release_on_stop()
            return
        yield from self.end_search(self.search_label(failure.request.cb_kwargs["search"]))

    # -- stock ------------------------------------------------------------------------------------

    def take(self, listing: Listing) -> Iterator[Listing]:
        """Yield a vehicle once per run; hold new or re-priced ones back for their detail page."""
        if listing.listing_id in self.seen_ids:
            self.count(self.duplicate_stat)
            return
        self.seen_ids.add(listing.listing_id)
        stored = self.known.get(listing.listing_id)
        if self.wants_detail(listing, stored) and not self.stopped():
            self.hold(listing)
        else:
            yield self.restore(listing, stored)

    def wants_detail(self, listing: Listing, stored: dict[str, Any] | None) -> bool:
        if listing.status_raw is not None:
            return False  # sold: nothing left to read
        if stored is None or not (stored.get("attributes") or {}).get(DETAIL_READ):
            return True
        return not self.unchanged(listing, stored)

    def unchanged(self, listing: Listing, stored: dict[str, Any]) -> bool:
        return self.price_signature(listing) == self.price_signature(self.as_listing(stored))

    def as_listing(self, stored: dict[str, Any]) -> Listing:
        return Listing.from_dict(
            {**stored, "source": self.name, "attributes": stored.get("attributes") or {}}
        )

    def restore(self, card: Listing, stored: dict[str, Any] | None) -> Listing:
        """Tonight's card completed with what the database holds of the vehicle.

        Descriptive fields the card lacks come from the stored row. The offer (price, total,
        port) is tonight's card; the stored offer is used only while the card's price signature
        is unchanged, where the card lacks it, or always when ``detail_prices_win``. With
        ``detail_prices_win`` a changed card whose detail page is not read tonight (the source
        stopped, or the request budget ran out) keeps the stored offer and the stored card: its
        card prices are not the site's price, and the unchanged signature would hide the change
        from the next night, which now reads the page.
        """
        if not stored:
            return card
        old = self.as_listing(stored)
        sold = card.status_raw is not None
        same_offer = not sold and self.unchanged(card, stored)
        stale_offer = self.detail_prices_win and not sold and not same_offer
        filled = {}
        for name in RAW_FIELDS:
            if name in ("attributes", "image_urls", *TONIGHT_ONLY):
                continue
            mine, theirs = getattr(card, name), getattr(old, name)
            if theirs is None:
                continue
            if name in PRICE_FIELDS:
                if stale_offer or same_offer and (mine is None or self.detail_prices_win):
                    filled[name] = theirs
            elif mine is None:
                filled[name] = theirs
        attributes = {**old.attributes, **card.attributes}
        if stale_offer:  # the stored card too, so that tomorrow's card still differs from it
            attributes = {**card.attributes, **old.attributes}
        restored = replace(card, **filled, image_urls=old.image_urls or card.image_urls)
        if restored.total_price_raw is None:
            attributes = {k: v for k, v in attributes.items() if k not in TOTAL_ATTRIBUTES}
        elif (same_offer or stale_offer) and self.detail_prices_win:
            attributes.update(
                {k: old.attributes[k] for k in TOTAL_ATTRIBUTES if k in old.attributes}
            )
        restored.attributes = attributes
        self.count("restored_from_storage")
        return restored

    def end_search(self, label: str) -> Iterator[Any]:
        """Close one search's page chain; after the last one, read the planned detail pages."""
        self._open_searches.discard(label)
        if self._open_searches:
            return
        spare = self.request_budget - self.requests_made - BUDGET_MARGIN
        if self.stopped():
            spare = 0
        waiting = self._awaiting_detail
        for n, listing in enumerate(waiting):
            if n < spare:
                self.hold(listing, requested=True)
                yield self.detail_request(listing)
            elif self.release(listing):
                yield self.restore(listing, self.known.get(listing.listing_id))
        if len(waiting) > max(spare, 0):
            self.count("detail_skipped_budget", len(waiting) - max(spare, 0))

    # -- detail pages -----------------------------------------------------------------------------

    def detail_request(self, listing: Listing) -> scrapy.Request:
        self.requests_made += 1
        return scrapy.Request(
            self.url("www", urlsplit(listing.url).path),
            callback=self.parse_detail,
            errback=self.detail_failed,
            cb_kwargs={"listing": listing},
            meta={"expect": "html", "anchor": self.detail_anchor},
        )

    def parse_detail(self, response, listing: Listing) -> Iterator[Listing]:
        if not self.release(listing):
            return  # already yielded when the source stopped
        detail = self.parse_detail_page(response)
        stored = self.known.get(listing.listing_id)
        if detail is None or detail.listing_id != listing.listing_id:
            self.logger.warning("No vehicle %s on %s", listing.listing_id, response.url)
            self.count("detail_unusable")
            yield self.restore(listing, stored)
            return
        self.count("detail_read")
        merged = self.merge(listing, detail)
        if self.stamps_detail_read:
            merged.attributes[DETAIL_READ] = self.scraped_at
        yield merged

    def detail_failed(self, failure) -> Iterator[Listing]:
        """A detail page only enriches a card already read, so the run stays complete."""
        self.count("detail_failed")
        self.logger.warning("Detail page failed: %s (%s)", failure.request.url, failure.value)
        listing = failure.request.cb_kwargs["listing"]
        if self.release(listing):
            yield self.restore(listing, self.known.get(listing.listing_id))
        yield from self.release_on_stop()

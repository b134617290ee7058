"""Craigslist spider: the JSON search API per area, query and purveyor, then each posting page.

Source: https://www.craigslist.org, through the search API its own results grid calls
(``https://sapi.craigslist.org/web/v8/postings/search/full``; ``search/batch`` pages only when a
first page comes back full). Postings found under several queries are fetched once. The posting
page (``/view/d/<slug>/<uuid>``) supplies year, make/model, drive, transmission, odometer and the
description. It is read only for postings that are new or changed since the database last saw
them, and only when the stored copy holds every page field, so an unchanged posting is yielded
complete from its stored page fields plus tonight's search result (the stored copies come
through the ``KEITRUCKS_KNOWN_LISTINGS`` hook). A posting whose page cannot be read is
still yielded from its search result, so it never looks gone. When the API answers JSON of an
unknown shape, the static search page is read instead.

A search result waiting for its posting page is held until it is yielded, and released when the
source stops: ``scrapers.spiders.incremental.IncrementalSpider``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import scrapy

from scrapers.items import RAW_FIELDS, Listing
from scrapers.parsers import craigslist
from scrapers.spiders.incremental import IncrementalSpider, KnownListings

#: Posting pages allowed per night on top of one request per search.
POSTING_ALLOWANCE = 150
#: Fields only the posting page gives: a stored copy must hold them to stand in for the page.
PAGE_FIELDS = ("attributes", "description", "repost_of")
#: Fields tonight's search result refreshes even when the page is not read again.
SEARCH_FIELDS = (
    "title",
    "price_raw",
    "price_basis",
    "image_urls",
    "latitude",
    "longitude",
    "seller_type",
    "currency_raw",
)


@dataclass(frozen=True)
class Search:
    area: str
    query: str
    purveyor: str


def _digits(price_raw: str | None) -> str | None:
    """``"$7,500"`` and ``"7500"`` both -> ``"7500"`` (the API gives either form)."""
    if price_raw is None:
        return None
    return "".join(c for c in str(price_raw).split(".")[0] if c.isdigit()) or None


def _moment(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for name in ("attributes", "image_urls"):
        if isinstance(out.get(name), str):
            try:
                out[name] = json.loads(out[name])
            except ValueError:
                out[name] = None
    return out


def restorable(row: dict[str, Any]) -> bool:
    """Does the stored copy hold every field only the posting page gives?"""
    return all(name in row for name in PAGE_FIELDS)


def unchanged(row: dict[str, Any] | None, listing: Listing) -> bool:
    """True when the stored copy of a posting is still current, so its page need not be read.

    Current: stored and active, the same price, and no search-level time later than the stored
    "updated" (else "posted") time of the page.
    """
    if row is None or row.get("status") not in (None, "active"):
        return False
    data = _decoded(row)
    if _digits(data.get("price_raw")) != _digits(listing.price_raw):
        return False
    attributes = data.get("attributes") if isinstance(data.get("attributes"), dict) else {}
    stored = _moment(attributes.get("updated") or data.get("posted_raw"))
    seen = _moment(listing.posted_raw)
    return not (seen and stored and seen > stored)


def restore(listing: Listing, row: dict[str, Any]) -> Listing:
    """Tonight's search result completed with the stored copy of its posting page."""
    data = _decoded(row)
    page = {
        name: data[name]
        for name in RAW_FIELDS
        if name not in SEARCH_FIELDS and data.get(name) not in (None, "", [], {})
    }
    attributes = page.get("attributes") if isinstance(page.get("attributes"), dict) else {}
    for name, value in craigslist.raw_fields_from_attributes(attributes).items():
        page.setdefault(name, value)
    stored = Listing(source=listing.source, listing_id=listing.listing_id, url=listing.url, **page)
    return craigslist.merge_listings(listing, stored)


class CraigslistSpider(IncrementalSpider):
    name = "craigslist"
    hosts = {"sapi": "https://sapi.craigslist.org", "www": "https://www.craigslist.org"}

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.seen: set[str] = set()

    # --- configuration -------------------------------------------------------------------------

    @property
    def api_version(self) -> str:
        return str(self.source_config.get("api_version", "v8"))

    @property
    def page_size(self) -> int:
        return int(self.source_config.get("page_size", 360))

    @property
    def batch_size(self) -> int:
        return int(self.source_config.get("batch_size", 1080))

    @property
    def request_budget(self) -> int:  # type: ignore[override]
        """The configured ``request_budget``, else one per search plus the posting allowance."""
        configured = getattr(self, "source_config", {}).get("request_budget")
        if configured:
            return int(configured)
        return len(self.searches()) + POSTING_ALLOWANCE

    def searches(self) -> list[Search]:
        config = getattr(self, "source_config", {})
        return [
            Search(area, query, purveyor)
            for area in config.get("areas", [])
            for query in config.get("queries", [])
            for purveyor in config.get("purveyors", ["owner", "dealer"])
        ]

    def search_scope(self) -> Any:
        config = self.source_config
        return {key: config.get(key) for key in ("areas", "queries", "purveyors")}

    def usable_known(self, known: KnownListings) -> KnownListings:
        """Stored copies that can stand in for their posting page."""
        usable = {key: row for key, row in known.items() if restorable(row)}
        if known and not usable:
            self.logger.info(
                "Stored copies lack page fields %s: reading every posting", PAGE_FIELDS
            )
        return usable

    # --- requests ------------------------------------------------------------------------------

    def _api_url(self, endpoint: str, params: dict[str, str]) -> str:
        path = f"/web/{self.api_version}/postings/search/{endpoint}"
        return self.url("sapi", f"{path}?{urlencode(params)}")

    def _search_params(self, search: Search) -> dict[str, str]:
        return {
            "cat": "cta",
            "cc": "us",
            "lang": "en",
            "purveyor": search.purveyor,
            "query": search.query,
            "searchPath": f"area/{search.area}",
        }

    def search_request(self, search: Search) -> scrapy.Request:
        params = {"batch": f"0-0-{self.page_size}-0-0", **self._search_params(search)}
        return scrapy.Request(
            self._api_url("full", params),
            callback=self.parse_full,
            errback=self.request_failed,
            meta={"expect": "json"},
            cb_kwargs={"search": search},
        )

    def static_request(self, search: Search) -> scrapy.Request:
        params = {"cat": "cta", "purveyor": search.purveyor, "query": search.query}
        return scrapy.Request(
            self.url("www", f"/search/area/{search.area}?{urlencode(params)}"),
            callback=self.parse_static,
            errback=self.request_failed,
            meta={"expect": "html"},
            cb_kwargs={"search": search},
        )

    def posting_request(self, listing: Listing) -> scrapy.Request:
        self.hold(listing, requested=True)
        return scrapy.Request(
            listing.url,
            callback=self.parse_posting,
            errback=self.posting_failed,
            meta={"expect": "html", "anchor": "post id:"},
            cb_kwargs={"listing": listing},
        )

    async def start(self):
        self.known = self.read_known()
        if self.known:
            self.logger.info("%d postings already stored", len(self.known))
        for search in self.searches():
            yield self.search_request(search)

    # --- callbacks -----------------------------------------------------------------------------

    def _unexpected(self, response, search: Search, exc: Exception) -> Iterator[scrapy.Request]:
        self.count("unexpected_shape")
        self.logger.warning(
            "Unexpected API answer at %s (%s): reading the static search page", response.url, exc
        )
        yield self.static_request(search)

    def parse_full(self, response, search: Search):
        try:
            page = craigslist.parse_search_full(
                response, self.scraped_at, purveyor=search.purveyor, www_base=self.url("www")
            )
        except craigslist.UnexpectedShapeError as exc:
            yield from self._unexpected(response, search, exc)
            return
        self._check_page(response, page, page.total)
        yield from self.follow_listings(page.listings)
        if page.item_count >= self.page_size and page.cache_ts is not None:
            params = {"batch": f"0-{page.cache_ts}-0-1-0", **self._search_params(search)}
            yield scrapy.Request(
                self._api_url("full", params),
                callback=self.parse_paging_setup,
                errback=self.request_failed,
                meta={"expect": "json"},
                cb_kwargs={"search": search, "cache_ts": page.cache_ts, "total": page.total},
            )

    def parse_paging_setup(self, response, search: Search, cache_ts: int, total: int | None):
        try:
            setup = craigslist.parse_paging_setup(response)
        except craigslist.UnexpectedShapeError as exc:
            self._lost_results(f"cannot page {search} beyond the first page: {exc}")
            return
        yield self.batch_request(search, setup, cache_ts, 0, total)

    def batch_request(self, search, setup, cache_ts: int, offset: int, total: int | None):
        batch = f"0-{offset}-{self.batch_size}-1-0-{setup.max_posted_ts}-{cache_ts}"
        params = {"batch": batch, "cacheId": setup.cache_id, "cc": "us", "lang": "en"}
        return scrapy.Request(
            self._api_url("batch", params),
            callback=self.parse_batch,
            errback=self.request_failed,
            meta={"expect": "json"},
            cb_kwargs={
                "search": search,
                "setup": setup,
                "cache_ts": cache_ts,
                "offset": offset,
                "total": total,
            },
        )

    def parse_batch(self, response, search, setup, cache_ts: int, offset: int, total):
        try:
            page = craigslist.parse_search_batch(
                response, self.scraped_at, purveyor=search.purveyor, www_base=self.url("www")
            )
        except craigslist.UnexpectedShapeError as exc:
            self._lost_results(f"unexpected batch answer at {response.url}: {exc}")
            return
        self._check_page(response, page, None)
        yield from self.follow_listings(page.listings)
        following = offset + self.batch_size
        if page.item_count >= self.batch_size and (total is None or following < total):
            yield self.batch_request(search, setup, cache_ts, following, total)

    def _lost_results(self, why: str) -> None:
        """Results the site has but this run could not read: the run is not complete."""
        self.logger.error("Results lost (layout change?): %s", why)
        self.count("empty_page")

    def _check_page(self, response, page: craigslist.SearchPage, total: int | None) -> None:
        unread = page.item_count - len(page.listings)
        if unread:
            self.count("item_unparsed", unread)
            self._lost_results(f"{unread} of {page.item_count} items unreadable at {response.url}")
        elif page.item_count == 0 and total:
            self._lost_results(f"{total} results reported, none given at {response.url}")

    def parse_static(self, response, search: Search):
        try:
            page = craigslist.parse_search_static(
                response, self.scraped_at, purveyor=search.purveyor
            )
        except craigslist.UnexpectedShapeError as exc:
            self._lost_results(f"neither the API nor the static page is readable: {exc}")
            return
        self.count("static_fallback")
        yield from self.follow_listings(page.listings)

    def follow_listings(self, listings: list[Listing]):
        """Each posting once per run: its page when new or changed, else the search result."""
        for listing in listings:
            if listing.listing_id in self.seen:
                continue
            self.seen.add(listing.listing_id)
            stored = self.known.get(listing.listing_id)
            if unchanged(stored, listing):
                self.count("posting_unchanged")
                yield from self.emit(restore(listing, stored))
            elif self.base_url and not listing.url.startswith(self.url("www")):
                yield from self.emit(listing)  # an old-form link would leave the sample site
            elif self.stopped():  # a page read after the stop: its posting will not come
                yield from self.without_detail(listing)
            else:
                yield self.posting_request(listing)

    def parse_posting(self, response, listing: Listing):
        try:
            posting = craigslist.parse_posting(response, self.scraped_at)
        except craigslist.UnexpectedShapeError as exc:
            self.count("posting_unparsed")
            self.logger.error("Unreadable posting page %s: %s", response.url, exc)
            yield from self.emit(listing)
            return
        if listing.listing_id.isdigit() and posting.listing_id != listing.listing_id:
            self.count("posting_mismatch")
            self.logger.error(
                "Posting page %s shows id %s, search said %s",
                response.url,
                posting.listing_id,
                listing.listing_id,
            )
            yield from self.emit(listing)
            return
        yield from self.emit(craigslist.merge_listings(listing, posting))

    def posting_failed(self, failure):
        """Count the failure, and keep the posting alive from its search result."""
        self.on_error(failure)
        yield from self.keep_alive(failure.request.cb_kwargs["listing"])
        yield from self.release_on_stop()

    def request_failed(self, failure):
        """Count the failure; when it stopped the source, yield the results still waiting."""
        self.on_error(failure)
        yield from self.release_on_stop()

    def keep_alive(self, listing: Listing):
        """A posting whose page will not be read, yielded from its search result."""
        if self.release(listing):
            yield from self.without_detail(listing)

    def without_detail(self, listing: Listing):
        """Only a numeric posting id is stable enough to store without its page."""
        if listing.listing_id.isdigit():
            yield listing
        else:
            self.count("posting_lost")

    def emit(self, listing: Listing):
        if self.release(listing):
            yield listing

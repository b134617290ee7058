"""eBay Motors spider: the official Browse API when credentials are set, else the search pages.

Source: https://www.ebay.com. With ``EBAY_CLIENT_ID`` and ``EBAY_CLIENT_SECRET`` in the
environment the spider asks ``https://api.ebay.com/identity/v1/oauth2/token`` for an application
token (client-credentials grant; the secret and the token are never logged), runs
``/buy/browse/v1/item_summary/search`` for each configured query (optional category ids and
eBay's own ``aspect_filter``/``filter``), follows ``next`` under a per-night call budget, and
calls ``getItem`` only for items the database does not hold yet: a known item is yielded from
tonight's summary completed with its stored raw fields (the ``KEITRUCKS_KNOWN_LISTINGS`` hook),
so nothing is lost. Without credentials it reads the HTML search pages
(``/sch/i.html?_nkw=<query>&_sop=10&_ipg=60``, ``_pgn`` paging through ``a.pagination__next``)
and the item pages of new items; a challenge or error page stops the source (block middleware).
An item found by several queries is yielded once. A new item waiting for its item call is held
and released when the source stops (``scrapers.spiders.incremental.IncrementalSpider``).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import scrapy

from keitrucks.core.config import source_defaults
from scrapers.items import RAW_FIELDS, Listing
from scrapers.parsers import ebay as parser
from scrapers.spiders.incremental import IncrementalSpider

TOKEN_PATH = "/identity/v1/oauth2/token"
API_SCOPE = "https://api.ebay.com/oauth/api_scope"
API_SEARCH_PATH = "/buy/browse/v1/item_summary/search"
API_ITEM_PATH = "/buy/browse/v1/item/"
HTML_SEARCH_PATH = "/sch/i.html"
#: Results per HTML page (eBay offers 60, 120 or 240).
HTML_PAGE_SIZE = 60
#: "Time: newly listed" sort of the HTML search.
HTML_SORT = "10"
#: Requests kept in reserve for retries on top of the planned calls.
BUDGET_MARGIN = 5
SEARCH_PRIORITY = 10
#: Item-specifics names (and fields) that only an item answer gives: a stored copy with any of
#: them stands in for the item call.
DETAIL_LABELS = ("Year", "Make", "Model", "Condition", "For Sale By")


def _ids(values: Any) -> list[str]:
    if isinstance(values, str | int):
        values = [values]
    return [str(v).strip() for v in values or [] if str(v).strip()]


def aspect_filter(config: dict[str, Any]) -> str | None:
    """eBay's ``aspect_filter``: a string as given, or built from a table of aspect -> values.

    The API wants the category id inside the filter too (``categoryId:6001,Make:{Suzuki|Honda}``),
    so a table is only usable with ``category_ids``; without them the filter is None.
    """
    wanted = config.get("aspect_filter")
    categories = _ids(config.get("category_ids"))
    if not wanted or not categories:
        return None
    if isinstance(wanted, str):
        return wanted
    parts = [f"categoryId:{categories[0]}"]
    for name, values in wanted.items():
        values = [values] if isinstance(values, str) else list(values)
        parts.append(f"{name}:{{{'|'.join(str(v) for v in values)}}}")
    return ",".join(parts)


def api_search_path(query: str, config: dict[str, Any]) -> str:
    """The first ``item_summary/search`` call of a query (later pages follow ``next``)."""
    params = {"q": query, "limit": str(int(config.get("api_limit", 200)))}
    categories = _ids(config.get("category_ids"))
    if categories:
        params["category_ids"] = ",".join(categories)
    aspects = aspect_filter(config)
    if aspects:
        params["aspect_filter"] = aspects
    if config.get("filter"):
        params["filter"] = str(config["filter"])
    if config.get("sort"):
        params["sort"] = str(config["sort"])
    return f"{API_SEARCH_PATH}?{urlencode(params)}"


def html_search_path(query: str, config: dict[str, Any]) -> str:
    """The first HTML search page of a query (later pages follow the page's next link)."""
    params = {"_nkw": query, "_sop": HTML_SORT, "_ipg": str(HTML_PAGE_SIZE)}
    categories = _ids(config.get("category_ids"))
    if categories:
        params["_sacat"] = categories[0]
    return f"{HTML_SEARCH_PATH}?{urlencode(params)}"


def api_item_path(item_id: str) -> str:
    """``getItem`` of a RESTful item id ("v1|<legacy id>|0"), bars escaped."""
    return API_ITEM_PATH + quote(item_id, safe="")


def local_path(url: str) -> str:
    """Path and query of an absolute URL, to be requested on the same host key."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def has_detail(row: dict[str, Any]) -> bool:
    """Does the stored copy hold what only an item answer gives (so no item call is needed)?"""
    attributes = row.get("attributes") if isinstance(row.get("attributes"), dict) else {}
    return bool(
        row.get("description")
        or row.get("status_raw")
        or any(label in attributes for label in DETAIL_LABELS)
    )


def carry_forward(listing: Listing, row: dict[str, Any]) -> Listing:
    """Tonight's search result completed with the stored raw fields it does not carry itself."""
    updates: dict[str, Any] = {
        name: row[name]
        for name in RAW_FIELDS
        if getattr(listing, name) in (None, "", [], {}) and row.get(name) not in (None, "", [], {})
    }
    stored = row.get("attributes") if isinstance(row.get("attributes"), dict) else {}
    updates["attributes"] = {**stored, **listing.attributes}
    place = row.get("location_raw")
    if isinstance(place, str) and listing.location_raw and place.endswith(listing.location_raw):
        # a summary gives "379**, US"; the item gave "Knoxville, TN, 379**, US"
        updates["location_raw"] = place
    return replace(listing, **updates)


class EbaySpider(IncrementalSpider):
    name = "ebay"
    hosts = {
        "api": "https://api.ebay.com",
        "auth": "https://api.ebay.com",
        "www": "https://www.ebay.com",
    }
    #: [sources.ebay] defaults; their one home is keitrucks.core.config.DEFAULT_CONFIG.
    default_config = source_defaults("ebay")

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        client_id = os.environ.get("EBAY_CLIENT_ID", "").strip()
        client_secret = os.environ.get("EBAY_CLIENT_SECRET", "").strip()
        self._basic = (
            base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
            if client_id and client_secret
            else None
        )
        self._token: str | None = None
        self.mode = "api" if self._basic else "html"
        self.seen: set[str] = set()
        self.calls = 0
        self._open_searches: set[str] = set()

    # --- configuration -------------------------------------------------------------------------

    @property
    def queries(self) -> list[str]:
        return [q for q in getattr(self, "source_config", {}).get("queries", []) if q.strip()]

    @property
    def call_budget(self) -> int:
        config = getattr(self, "source_config", {})
        key = "api_call_budget" if self.mode == "api" else "html_request_budget"
        return int(config.get(key, self.default_config[key]))

    @property
    def request_budget(self) -> int:  # type: ignore[override]
        """The downloader's hard stop: the planned calls plus a margin for retries."""
        configured = getattr(self, "source_config", {}).get("request_budget")
        return int(configured) if configured else self.call_budget + BUDGET_MARGIN

    @property
    def max_pages(self) -> int:
        return int(self.source_config.get("max_pages", 10))

    def search_scope(self) -> Any:
        config = self.source_config
        return {k: config.get(k) for k in ("queries", "category_ids", "aspect_filter", "filter")}

    # --- budget --------------------------------------------------------------------------------

    def spend(self) -> bool:
        """Take one call from tonight's budget; False when it is spent."""
        if self.calls >= self.call_budget:
            return False
        self.calls += 1
        return True

    def _lost_results(self, why: str) -> None:
        """Results the site has but this run could not read: the run is not complete."""
        self.logger.error("Results lost: %s", why)
        self.count("empty_page")

    def _cut_short(self, what: str) -> None:
        """Pages left unread (budget or page cap): the run is not complete."""
        self.logger.warning("Search cut short: %s not read", what)
        self.count("budget_exhausted")

    # --- start ---------------------------------------------------------------------------------

    async def start(self):
        self.known = self.read_known()
        self._open_searches = set(self.queries)
        self.logger.info(
            "eBay %s mode, %d queries, %d items already stored",
            "Browse API" if self.mode == "api" else "HTML (no API credentials)",
            len(self.queries),
            len(self.known),
        )
        if self.mode == "api":
            if self.spend():
                yield self.token_request()
            return
        for query in self.queries:
            request = self.search_request(query, html_search_path(query, self.source_config))
            if request is not None:
                yield request

    # --- Browse API ----------------------------------------------------------------------------

    def token_request(self) -> scrapy.Request:
        body = urlencode({"grant_type": "client_credentials", "scope": API_SCOPE})
        return scrapy.Request(
            self.url("auth", TOKEN_PATH),
            method="POST",
            body=body,
            headers={
                "Authorization": f"Basic {self._basic}",
                "Content-Type": "application/x-www-form-urlencoded",
            },
            callback=self.parse_token,
            errback=self.token_failed,
            meta={"expect": "json", "anchor": parser.TOKEN_ANCHOR},
            priority=SEARCH_PRIORITY + 1,
            dont_filter=True,
        )

    def token_failed(self, failure) -> None:
        self.on_error(failure)
        self.logger.error(
            "No eBay application token: check EBAY_CLIENT_ID / EBAY_CLIENT_SECRET; "
            "no search tonight"
        )

    def parse_token(self, response):
        try:
            self._token = parser.parse_token(response).access_token
        except parser.UnexpectedShapeError as exc:
            self._lost_results(f"unreadable token answer ({exc})")
            return
        for query in self.queries:
            request = self.search_request(query, api_search_path(query, self.source_config))
            if request is not None:
                yield request

    def _api_headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._token}",
            "X-EBAY-C-MARKETPLACE-ID": str(self.source_config.get("marketplace_id", "EBAY_US")),
            "Accept": "application/json",
        }

    def search_request(self, query: str, path: str, page: int = 1) -> scrapy.Request | None:
        """One results page of a query, in this run's mode; None when the budget is spent."""
        if not self.spend():
            self._cut_short(f"page {page} of {query!r} (call budget of {self.call_budget})")
            self._open_searches.discard(query)
            return None
        if self.mode == "api":
            host, headers, callback = "api", self._api_headers(), self.parse_api_search
            meta = {"expect": "json", "anchor": parser.API_SEARCH_ANCHOR}
        else:
            host, headers, callback = "www", {}, self.parse_html_search
            meta = {"expect": "html", "anchor": parser.SEARCH_ANCHOR}
        return scrapy.Request(
            self.url(host, path),
            headers=headers,
            callback=callback,
            errback=self.search_failed,
            meta=meta,
            cb_kwargs={"query": query, "page": page},
            priority=SEARCH_PRIORITY,
        )

    def next_page(self, query: str, page: int, next_url: str) -> Iterator[Any]:
        """The query's following page (within ``max_pages`` and the budget), else its end."""
        if page >= self.max_pages:
            self._cut_short(f"pages after {page} of {query!r} (max_pages)")
        else:
            following = self.search_request(query, local_path(next_url), page + 1)
            if following is not None:
                yield following
                return
        yield from self.end_search(query)

    def parse_api_search(self, response, query: str, page: int):
        self.count("pages")
        try:
            result = parser.parse_api_search(response, self.scraped_at)
        except parser.UnexpectedShapeError as exc:
            self._lost_results(f"{exc} at {response.url}")
            yield from self.end_search(query)
            return
        unread = parser.api_item_count(response) - len(result.listings)
        if unread:
            self.count("item_unparsed", unread)
            self._lost_results(f"{unread} summaries without an item number at {response.url}")
        for listing in result.listings:
            yield from self.take(listing)
        if result.next_url and result.listings:
            yield from self.next_page(query, page, result.next_url)
        else:
            yield from self.end_search(query)

    def search_failed(self, failure) -> Iterator[Any]:
        self.on_error(failure)
        if self.stopped():
            yield from self.release_on_stop()
            return
        yield from self.end_search(failure.request.cb_kwargs["query"])

    # --- HTML fallback -------------------------------------------------------------------------

    def parse_html_search(self, response, query: str, page: int):
        self.count("pages")
        try:
            result = parser.parse_search_html(response, self.scraped_at)
        except parser.UnexpectedShapeError as exc:
            self._lost_results(f"unknown search page layout: {exc}")
            yield from self.end_search(query)
            return
        if not result.listings and not parser.is_empty_result(result, response):
            self._lost_results(f"no result cards on {response.url} (layout change?)")
        for listing in result.exact_listings:
            yield from self.take(listing)
        # past a "fewer words" separator the results no longer match the query
        if result.next_url and result.listings and result.exact_count is None:
            yield from self.next_page(query, page, result.next_url)
        else:
            yield from self.end_search(query)

    # --- items ---------------------------------------------------------------------------------

    def take(self, listing: Listing) -> Iterator[Listing]:
        """Each item once per run: new ones wait for their item call, known ones carry forward."""
        if listing.listing_id in self.seen:
            self.count("duplicate_across_queries")
            return
        self.seen.add(listing.listing_id)
        stored = self.known.get(listing.listing_id)
        if stored is not None and has_detail(stored):
            self.count("detail_carried")
            yield carry_forward(listing, stored)
        elif self.stopped() or not (
            self.mode == "api" or self.source_config.get("item_pages", True)
        ):
            yield self._with_stored(listing)
        else:
            self.hold(listing)

    def restore(self, listing: Listing, stored: dict[str, Any] | None) -> Listing:
        return carry_forward(listing, stored) if stored else listing

    def _with_stored(self, listing: Listing) -> Listing:
        return self.restore(listing, self.known.get(listing.listing_id))

    def end_search(self, query: str) -> Iterator[Any]:
        """Close one query; after the last one, read the new items within the budget left."""
        self._open_searches.discard(query)
        if self._open_searches:
            return
        skipped = 0
        for listing in self._awaiting_detail:
            if not self.stopped() and self.spend():
                self.hold(listing, requested=True)
                yield self.detail_request(listing)
            elif self.release(listing):
                skipped += 1
                yield self._with_stored(listing)
        if skipped:
            self.count("detail_skipped_budget", skipped)
            self.logger.info("%d new items yielded without their item call (budget)", skipped)

    def detail_request(self, listing: Listing) -> scrapy.Request:
        if self.mode == "api":
            item_id = listing.attributes.get("itemId") or f"v1|{listing.listing_id}|0"
            url = self.url("api", api_item_path(item_id))
            meta = {"expect": "json", "anchor": parser.API_ITEM_ANCHOR}
            headers = self._api_headers()
        else:
            url = self.url("www", f"/itm/{listing.listing_id}")
            meta = {"expect": "html", "anchor": parser.ITEM_ANCHOR}
            headers = {}
        return scrapy.Request(
            url,
            headers=headers,
            callback=self.parse_detail,
            errback=self.detail_failed,
            meta={**meta, "handle_httpstatus_list": [404, 410]},
            cb_kwargs={"listing": listing},
        )

    def parse_detail(self, response, listing: Listing) -> Iterator[Listing]:
        if not self.release(listing):
            return  # already yielded when the source stopped
        if response.status in (404, 410):
            self.count("detail_missing")
            self.logger.info(
                "Item %s is no longer served (%d)", listing.listing_id, response.status
            )
            yield listing
            return
        read = parser.parse_api_item if self.mode == "api" else parser.parse_item_page
        try:
            detail = read(response, self.scraped_at)
        except parser.UnexpectedShapeError as exc:
            self.count("detail_unusable")
            self.logger.warning("Unreadable item answer %s: %s", response.url, exc)
            yield self._with_stored(listing)
            return
        if detail.listing_id != listing.listing_id:
            self.count("detail_mismatch")
            self.logger.error(
                "Item answer %s is item %s, not %s",
                response.url,
                detail.listing_id,
                listing.listing_id,
            )
            yield self._with_stored(listing)
            return
        yield parser.merge_detail(listing, detail)

    def detail_failed(self, failure) -> Iterator[Listing]:
        """An item call only completes a search result already read: the run stays complete."""
        self.count("detail_failed")
        self.logger.warning("Item call failed: %s (%s)", failure.request.url, failure.value)
        listing = failure.request.cb_kwargs["listing"]
        if self.release(listing):
            yield self._with_stored(listing)
        yield from self.release_on_stop()

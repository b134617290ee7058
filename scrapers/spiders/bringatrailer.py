"""Bring a Trailer (https://bringatrailer.com): sold prices and live bids of the kei model pages.

Each night the spider GETs the configured model pages (``/suzuki/carry/`` ...), yields their
completed auctions (sold price or high bid, end time) and live auction cards (current bid), and
opens the listing page of each auction that finished within ``detail_hours`` of the night's
as-of time, to add mileage, drivetrain, transmission and chassis. With ``-a backfill=1`` (or the
``KEITRUCKS_BAT_BACKFILL`` setting) it also pages back through each model's history with the
``listings-filter`` REST endpoint, at most ``backfill_pages`` pages of 48 per model.

The live auctions page (``/auctions/``, ``bat.parse_live_page``) lists every live auction on the
site in one request, but not the completed results (sold prices) that only the model pages
carry, and each model page already shows its live auctions: reading it too would add a request
a night and save none, so the spider does not.

Arguments (``-a``) and source configuration keys: ``backfill``, ``backfill_pages`` (default 5),
``detail_hours`` (default 48).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import scrapy

from scrapers.items import Listing
from scrapers.parsers import bringatrailer as bat
from scrapers.spiders.base import ListingSpider

NIGHTLY_BUDGET = 30
DEFAULT_BACKFILL_PAGES = 5
DEFAULT_DETAIL_HOURS = 48
FINISHED = ("sold", "ended")


def is_on(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def model_path(model: str) -> str:
    """ "honda/acty" -> "/honda/acty/"."""
    return f"/{model.strip().strip('/')}/"


def newly_finished(listing: Listing, as_of: str, hours: float) -> bool:
    """Did this auction end within ``hours`` before ``as_of`` (ISO 8601)?"""
    if listing.status_raw not in FINISHED:
        return False
    try:
        end = int(listing.attributes["timestamp_end"])
    except (KeyError, ValueError):
        return False
    age = datetime.fromisoformat(as_of).timestamp() - end
    return 0 <= age <= hours * 3600


class BringatrailerSpider(ListingSpider):
    name = "bringatrailer"
    hosts = {"www": "https://bringatrailer.com"}
    request_budget = NIGHTLY_BUDGET

    def __init__(
        self,
        *args: Any,
        backfill: str | None = None,
        backfill_pages: str | None = None,
        detail_hours: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self._args = {
            "backfill": backfill,
            "backfill_pages": backfill_pages,
            "detail_hours": detail_hours,
        }
        self._seen: set[str] = set()
        self._details = 0

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.configure(crawler.settings)
        return spider

    def _option(self, name: str, default: Any = None) -> Any:
        if self._args.get(name) is not None:
            return self._args[name]
        return self.source_config.get(name, default)

    def configure(self, settings) -> None:
        self.models: list[str] = list(self.source_config.get("models", []))
        self.backfill = is_on(self._option("backfill", settings.get("KEITRUCKS_BAT_BACKFILL")))
        self.backfill_pages = int(self._option("backfill_pages", DEFAULT_BACKFILL_PAGES))
        self.detail_hours = float(self._option("detail_hours", DEFAULT_DETAIL_HOURS))
        if self.backfill:
            # a back-fill is a one-off: its page budget comes on top of the nightly requests
            self.request_budget = NIGHTLY_BUDGET + self.backfill_pages * len(self.models)
        # model pages and a margin stay reserved out of the budget; listing pages get the rest
        self.detail_limit = max(0, NIGHTLY_BUDGET - len(self.models) - 2)

    def search_scope(self) -> Any:
        if self.backfill:
            return {**self.source_config, "backfill_pages": self.backfill_pages}
        return self.source_config

    def local(self, url: str) -> str:
        """A real-site URL moved under ``base_url`` when crawling the sample marketplace."""
        real = self.hosts["www"]
        if self.base_url and url.startswith(real):
            parts = urlsplit(url)
            return self.url("www", parts.path + (f"?{parts.query}" if parts.query else ""))
        return url

    async def start(self):
        if not self.models:
            self.logger.error("No Bring a Trailer model pages configured")
        for model in self.models:
            yield scrapy.Request(
                self.url("www", model_path(model)),
                callback=self.parse_model_page,
                errback=self.on_error,
                meta={"expect": "html", "anchor": bat.MODEL_PAGE_ANCHOR},
                cb_kwargs={"model": model},
            )

    def parse_model_page(self, response, model: str):
        page = bat.parse_model_page(response, self.scraped_at)
        completed = page.completed
        if completed is None:
            self.logger.error(
                "No readable %s on %s: layout change?", bat.COMPLETED_VAR, response.url
            )
            self.count("empty_page")
        elif not completed.listings and (completed.items_total != 0 or completed.skipped):
            self.logger.error(
                "No completed auctions on %s although it reports %s: layout change?",
                response.url,
                completed.items_total,
            )
            self.count("empty_page")
        if completed is not None and completed.skipped:
            self.count("bringatrailer/item_without_id", completed.skipped)
        for listing in page.live:
            if self._first_sight(listing):
                self.count("bringatrailer/live")
                yield listing
        for listing in completed.listings if completed else []:
            if self._first_sight(listing):
                self.count("bringatrailer/completed")
                yield from self._with_details(listing)
        if self.backfill and completed is not None:
            yield from self._backfill_start(response, model, page.toolbar, completed)

    def _first_sight(self, listing: Listing) -> bool:
        if listing.listing_id in self._seen:
            return False
        self._seen.add(listing.listing_id)
        return True

    def _with_details(self, listing: Listing):
        """The listing itself, or a request for its listing page when it has just finished."""
        if not newly_finished(listing, self.scraped_at, self.detail_hours):
            yield listing
            return
        if self._details >= self.detail_limit:
            self.count("bringatrailer/details_over_limit")
            yield listing
            return
        self._details += 1
        yield scrapy.Request(
            self.local(listing.url),
            callback=self.parse_listing,
            errback=self.on_listing_error,
            meta={"expect": "html"},
            cb_kwargs={"base": listing},
        )

    def parse_listing(self, response, base: Listing):
        detail = bat.parse_listing_page(response, self.scraped_at, listing_id=base.listing_id)
        if detail is None or detail.listing_id != base.listing_id:
            self.logger.warning("Listing page %s is not auction %s", response.url, base.listing_id)
            self.count("bringatrailer/listing_page_mismatch")
            yield base
            return
        if not any((detail.mileage_raw, detail.drive_raw, detail.transmission_raw)):
            self.logger.warning("No Listing Details on %s: layout change?", response.url)
            self.count("bringatrailer/listing_details_missing")
        self.count("bringatrailer/details")
        yield bat.merge_details(base, detail)

    def on_listing_error(self, failure):
        """A failed listing page still leaves the model page's facts: keep them."""
        self.on_error(failure)
        yield failure.request.cb_kwargs["base"]

    def _backfill_start(self, response, model: str, toolbar, completed):
        if not (toolbar and toolbar.rest_nonce and toolbar.rest_url and completed.keyword_pages):
            self.logger.error(
                "No REST toolbar or keyword pages on %s: cannot back-fill", response.url
            )
            self.count("bringatrailer/backfill_unavailable")
            return
        if not completed.items_total or completed.items_total <= len(completed.listings):
            return
        state = {
            "model": model,
            "nonce": toolbar.rest_nonce,
            "url": self.local(response.urljoin(toolbar.rest_url)),
            "keyword_pages": completed.keyword_pages,
            "referer": response.url,
        }
        yield self.backfill_request(state, 1)

    def backfill_request(self, state: dict, page: int) -> scrapy.Request:
        body = bat.listings_filter_body(state["keyword_pages"], page)
        return scrapy.Request(
            state["url"],
            method="POST",
            body=json.dumps(body),
            headers={
                "X-WP-Nonce": state["nonce"],
                "Content-Type": "application/json",
                "Accept": "application/json",
                "Referer": state["referer"],
            },
            callback=self.parse_backfill,
            errback=self.on_error,
            meta={"expect": "json"},
            cb_kwargs={"state": state, "page": page},
        )

    def parse_backfill(self, response, state: dict, page: int):
        results = bat.parse_listings_filter(response, self.scraped_at)
        if results is None:
            self.logger.error("listings-filter answer on %s is not a results object", response.url)
            self.count("empty_page")
            return
        if not results.listings and page <= (results.pages_total or 0):
            self.logger.error("Empty listings-filter page %d for %s", page, state["model"])
            self.count("empty_page")
        for listing in results.listings:
            if self._first_sight(listing):
                self.count("bringatrailer/backfilled")
                yield listing
        if page < min(results.pages_total or 0, self.backfill_pages):
            yield self.backfill_request(state, page + 1)

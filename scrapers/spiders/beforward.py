"""BE FORWARD (https://www.beforward.jp): keyword searches of the stock list, one per kei model.

For each configured keyword the spider reads ``/stocklist/[page=N/]sortkey=n/keyword=<kw>/
kmode=and/tp_country_id=<id>/view_cnt=50/`` (totals quoted to the configured destination, USA by
default) and follows ``page=N+1/`` until a page has no vehicle rows. The rows already carry every
field we need, so detail pages are read only for Ref Nos the database does not know yet, after all
list pages, and only within the night's request budget. A vehicle found under two keywords is
yielded once. An HTTP 202 challenge (datacenter IPs) stops the source through the block middleware.

The crawl (paging, held rows, release when the source stops) is
``scrapers.spiders.exporter.ExporterSpider``: BE FORWARD's rows need a detail page only when new,
and a known row carries forward what an earlier night's detail page added.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from scrapers.items import Listing
from scrapers.parsers import beforward as parser
from scrapers.parsers import common
from scrapers.spiders.exporter import ExporterSpider

#: Rows per page requested from the site (it offers 25, 50 or 100).
VIEW_CNT = 50
#: Text every BE FORWARD page carries, an empty result page too (menu and search form links).
ANCHOR = "stocklist"


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


class BeforwardSpider(ExporterSpider):
    """Searches are the configured keywords themselves (each its own label)."""

    name = "beforward"
    hosts = {"www": "https://www.beforward.jp"}
    request_budget = 60
    parser = parser
    list_anchor = ANCHOR
    detail_anchor = ANCHOR
    stamps_detail_read = False
    duplicate_stat = "duplicate_across_keywords"

    @property
    def keywords(self) -> list[str]:
        return list(self.source_config.get("keywords", []))

    @property
    def country_id(self) -> int | None:
        return self.source_config.get("destination_country_id")

    def searches(self) -> list[str]:
        return self.keywords

    def search_label(self, search: str) -> str:
        return search

    def search_path(self, search: str, page: int) -> str:
        return stocklist_path(search, page, country_id=self.country_id)

    def parse_search_page(self, response) -> common.SearchPage:
        """Rows are read while a page brings new ones (no pagination check)."""
        page = parser.parse_stock_list(response, self.scraped_at)
        return common.SearchPage(page.listings, None, page.no_results)

    def wants_detail(self, listing: Listing, stored: dict[str, Any] | None) -> bool:
        """Only a new, unsold row: a known one already has what its detail page gave."""
        return stored is None and listing.status_raw is None

    def restore(self, card: Listing, stored: dict[str, Any] | None) -> Listing:
        """What an earlier night's detail page added (chassis no., gallery) stays on record."""
        if stored is None:
            return card
        return parser.carry_forward(card, Listing.from_dict({**stored, "source": self.name}))

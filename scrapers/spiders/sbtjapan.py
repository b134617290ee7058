"""SBT Japan (https://www.sbtjapan.com): one make/model search per kei truck line, then details.

For each configured search the spider reads ``/used-cars/search?make_id=<id>&model[]=<MODEL>&
isModel=1[&page=N]`` and follows the pages while the pagination links a next one (or, on a page
without pagination, until a page has no cards). The cards carry the price, the total and most
specs; a detail page (``/used-cars/<STOCK>``) is read only for a stock id the database does not
know yet, or whose card price or total changed, after all searches and within the night's request
budget. Known, unchanged vehicles are yielded from their card completed with the stored raw
fields, so nothing a detail page once gave is lost. SBT answered datacenter IPs in the 2026-07
probe; a challenge, a 403/429 or a page without the search markup still stops the source through
the block middleware.

A vehicle whose detail page was read carries ``attributes["detail_read_at"]`` (the night's as-of
time); one stored without it (its page was skipped to keep within the budget) gets its detail page
on a later night.

The crawl itself is ``scrapers.spiders.exporter.ExporterSpider``, shared with CAR FROM JAPAN
and TCV.
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlencode

from keitrucks.core.config import source_defaults
from scrapers.parsers import sbtjapan as parser
from scrapers.spiders.exporter import ExporterSpider


def search_path(make_id: int, model: str, page: int = 1) -> str:
    """``/used-cars/search?make_id=9&model%5B%5D=CARRY-TRUCK&isModel=1[&page=N]``."""
    query = [("make_id", str(make_id)), ("model[]", model), ("isModel", "1")]
    if page > 1:
        query.append(("page", str(page)))
    return "/used-cars/search?" + urlencode(query)


class SbtjapanSpider(ExporterSpider):
    name = "sbtjapan"
    hosts = {"www": "https://www.sbtjapan.com"}
    parser = parser
    request_budget = 80
    #: Text every search page holds, an empty one too (the results block's BEM prefix).
    list_anchor = "search-result"
    detail_anchor = "product-detail"
    #: make_id values are verified (shared/sources/sbtjapan.md §1); the model[] slugs of the kei
    #: trucks are inferred from DATSUN-TRUCK and must be checked on /used-cars/maker/<brand>.
    #: [sources.sbtjapan] defaults; their one home is keitrucks.core.config.DEFAULT_CONFIG.
    default_config: ClassVar[dict[str, Any]] = source_defaults("sbtjapan")

    def search_label(self, search: dict[str, Any]) -> str:
        return f"{search['make_id']}/{search['model']}"

    def search_path(self, search: dict[str, Any], page: int) -> str:
        return search_path(search["make_id"], search["model"], page)

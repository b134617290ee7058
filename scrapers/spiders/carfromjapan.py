"""CAR FROM JAPAN (https://carfromjapan.com): one model page per kei truck line, then details.

For each configured model slug the spider reads ``/cheap-used-<slug>-for-sale[?page=N]`` (under
``/<country>/`` when a storefront country is configured) and follows the pages while the
pagination links a next one, or, without pagination, until a page has no cards. Card prices are
unreliable on this site (shared/sources/carfromjapan.md §2.3), so the detail page is read for every
new car and for every car whose card price or card total changed; a known car whose card is
unchanged keeps the detail prices stored earlier. CFJ answers datacenter IPs with an HTTP 202
challenge of about 2 KB: the block middleware turns that into a stop with reason
``challenge_202``, recorded in the run, and the saved-search e-mail alerts remain the fallback.
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlencode

from keitrucks.core.config import source_defaults
from scrapers.items import Listing
from scrapers.parsers import carfromjapan as parser
from scrapers.spiders.exporter import ExporterSpider


def model_path(slug: str, page: int = 1, country: str | None = None) -> str:
    """``/cheap-used-daihatsu-hijet-truck-for-sale[?page=N]``, under ``/<country>`` if given."""
    path = f"/cheap-used-{slug}-for-sale"
    if country:
        path = f"/{country}{path}"
    return path + (f"?{urlencode({'page': page})}" if page > 1 else "")


class CarfromjapanSpider(ExporterSpider):
    name = "carfromjapan"
    hosts = {"www": "https://carfromjapan.com"}
    parser = parser
    request_budget = 60
    #: Text every valid CFJ page holds (results and detail pages alike); a challenge lacks it.
    list_anchor = "carfromjapan"
    detail_anchor = "carfromjapan"
    detail_prices_win = True
    #: Model slugs are inferred from the detail URLs (``cheap-used-daihatsu-hijet-truck-...``).
    #: ``country`` (e.g. "kenya") picks a storefront and with it the delivery port; the US
    #: storefront's path is not known yet, so by default none is set and the page's own default
    #: port is recorded with each total.
    #: [sources.carfromjapan] defaults; their one home is keitrucks.core.config.DEFAULT_CONFIG.
    default_config: ClassVar[dict[str, Any]] = source_defaults("carfromjapan")

    def searches(self) -> list[dict[str, Any]]:
        return [{"model": slug} for slug in self.source_config.get("models", [])]

    def search_label(self, search: dict[str, Any]) -> str:
        return search["model"]

    def search_path(self, search: dict[str, Any], page: int) -> str:
        return model_path(search["model"], page, self.source_config.get("country"))

    def price_signature(self, listing: Listing) -> tuple:
        """The card's own prices: the stored detail prices stand while these are unchanged."""
        return (listing.attributes.get("card_price"), listing.attributes.get("card_total"))

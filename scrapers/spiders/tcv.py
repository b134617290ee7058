"""TCV (https://www.tc-v.com): one list per kei truck model, then detail pages for new stock.

For each configured ``<make>/<model>`` the spider reads ``/used_car/<make>/<model>/`` (the model
lower case, spaces as ``%20``), then ``?pn=1``, ``?pn=2`` ... (page N is ``pn=N-1``) while a link
to the next page is shown, or, on a page without paging links, until a page has no vehicles. The
cards give the FOB price, registration, engine, mileage, steering, fuel and drive; the detail
page, read only for ``data-car-id``s the database does not know yet (or whose FOB price changed),
adds the model code, the masked VIN, the transmission, the seller (an exporter of TCV's
marketplace) and its location, and the total to the destination port when the page quotes one.
Known vehicles are completed from their stored raw fields. TCV answered datacenter IPs with 200
in the 2026-07 probe; a 403/429, a challenge or a page without TCV's list markup stops the source.
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import quote, urlencode

from keitrucks.core.config import source_defaults
from scrapers.items import Listing
from scrapers.parsers import tcv as parser
from scrapers.spiders.exporter import ExporterSpider


def list_path(make: str, model: str, page: int = 1) -> str:
    """``/used_car/suzuki/carry%20truck/`` and, for page N > 1, ``?pn=N-1``."""
    path = f"/used_car/{quote(make.lower(), safe='')}/{quote(model.lower(), safe='')}/"
    return path + (f"?{urlencode({'pn': page - 1})}" if page > 1 else "")


class TcvSpider(ExporterSpider):
    name = "tcv"
    hosts = {"www": "https://www.tc-v.com"}
    parser = parser
    request_budget = 60
    #: Every list page names its vehicles by ``data-car-id`` or says it found none ("used_car"
    #: is in its own links either way); detail pages hold the "Specific information" section.
    list_anchor = "used_car"
    detail_anchor = "Specific information"
    #: "<make>/<model>" as TCV's list URLs spell them; the kei truck slugs are inferred from
    #: ``nissan/datsun pickup`` and must be checked on the first live run.
    #: [sources.tcv] defaults; their one home is keitrucks.core.config.DEFAULT_CONFIG.
    default_config: ClassVar[dict[str, Any]] = source_defaults("tcv")

    def searches(self) -> list[dict[str, Any]]:
        out = []
        for entry in self.source_config.get("models", []):
            make, _, model = entry.partition("/")
            out.append({"make": make, "model": model})
        return out

    def search_label(self, search: dict[str, Any]) -> str:
        return f"{search['make']}/{search['model']}"

    def search_path(self, search: dict[str, Any], page: int) -> str:
        return list_path(search["make"], search["model"], page)

    def price_signature(self, listing: Listing) -> tuple:
        """The FOB price: the only price a TCV card shows."""
        return (listing.price_raw,)

"""Drop only what cannot be stored (no identity or URL); count everything else."""

from __future__ import annotations

from scrapy.exceptions import DropItem

from scrapers.items import Listing

REQUIRED = ("source", "listing_id", "url")
#: Raw fields whose absence is counted (keitrucks/field/<name>/missing), never dropped.
COUNTED = ("title", "price_raw", "year_raw", "location_raw")


def missing_identity(item: Listing) -> str | None:
    for name in REQUIRED:
        value = getattr(item, name, None)
        if value is None or str(value).strip() == "":
            return name
    return None


class ValidatePipeline:
    def __init__(self, crawler):
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_item(self, item: Listing) -> Listing:
        if not isinstance(item, Listing):
            self.stats.inc_value("keitrucks/validate/not_a_listing")
            raise DropItem(f"Not a Listing: {type(item).__name__}")
        absent = missing_identity(item)
        if absent:
            self.stats.inc_value(f"keitrucks/validate/{absent}/missing")
            raise DropItem(f"Missing {absent}: {item.url or item.title!r}")
        for name in COUNTED:
            if getattr(item, name) in (None, ""):
                self.stats.inc_value(f"keitrucks/field/{name}/missing")
        return item

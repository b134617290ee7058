"""Drop the second sighting of a listing within one run (a truck found by two queries)."""

from __future__ import annotations

from scrapy.exceptions import DropItem

from scrapers.items import Listing


class DedupePipeline:
    def __init__(self, crawler):
        self.stats = crawler.stats
        self.seen: set[tuple[str, str]] = set()

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_item(self, item: Listing) -> Listing:
        key = (item.source, str(item.listing_id))
        if key in self.seen:
            self.stats.inc_value("keitrucks/dedupe/duplicate")
            raise DropItem(f"Duplicate listing {key[0]}:{key[1]}", log_level="DEBUG")
        self.seen.add(key)
        return item

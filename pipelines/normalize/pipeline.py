"""``NormalizePipeline``: ``normalize_listing`` inside Scrapy, with counts of what it could not
read in the crawl stats."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from pipelines.normalize.listing import NON_VEHICLE_KINDS, normalize_listing
from scrapers.items import NORMALIZED_FIELDS

#: raw field whose presence makes a None result "unparsed" in the stats.
UNPARSED_RAW = {
    "make": "make_model_raw",
    "model": "make_model_raw",
    "year": "year_raw",
    "is_4wd": "drive_raw",
    "transmission": "transmission_raw",
    "mileage_mi": "mileage_raw",
    "price": "price_raw",
    "currency": "currency_raw",
}


class NormalizePipeline:
    """Fills a Listing's normalized fields from its raw ones with ``normalize_listing``.

    Stats: ``keitrucks/normalize/<field>/unparsed`` when the raw field is present but the result
    is None, and ``keitrucks/normalize/<field>/<reason>`` for each note (e.g. price/monthly).
    """

    def __init__(self, crawler=None, config: Mapping | None = None):
        self.crawler = crawler
        self.config = config

    @classmethod
    def from_crawler(cls, crawler):
        from keitrucks.core.config import load_config

        return cls(crawler, load_config(crawler.settings.get("KEITRUCKS_CONFIG")))

    def _inc(self, key: str) -> None:
        if self.crawler is not None and self.crawler.stats is not None:
            self.crawler.stats.inc_value(f"keitrucks/normalize/{key}")

    def process_item(self, item):
        # a shallow copy (normalize_listing only reads it): asdict() deep-copies every field
        raw = dict(vars(item)) if dataclasses.is_dataclass(item) else dict(item)
        result = normalize_listing(raw, config=self.config)
        for name in NORMALIZED_FIELDS:
            if dataclasses.is_dataclass(item):
                setattr(item, name, result[name])
            else:
                item[name] = result[name]
        vehicle = result["kind"] not in NON_VEHICLE_KINDS
        for name, raw_name in UNPARSED_RAW.items():
            if result[name] is None and raw.get(raw_name) and (vehicle or name == "price"):
                self._inc(f"{name}/unparsed")
        for note in result["normalize_notes"]:
            field, _, reason = note.partition(":")
            self._inc(f"{field}/{reason}")
        return item

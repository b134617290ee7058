"""``NormalizePipeline``: ``normalize_listing`` inside Scrapy, with counts of what it could not
read in the crawl stats, and re-crawls at write speed: a listing stored with the same norm key
(``pipelines.normalize.fingerprint``) gets its stored normalized and derived fields back instead
of being normalized again."""

from __future__ import annotations

import dataclasses
import logging
import operator
from collections.abc import Mapping
from typing import Any

from pipelines.listings import STORED_RESULT_FIELDS, read_normalized
from pipelines.normalize.fingerprint import KeyMaker, key_kind
from pipelines.normalize.listing import NON_VEHICLE_KINDS, normalize_listing
from pipelines.recrawl import mark
from scrapers.items import NORMALIZED_FIELDS

logger = logging.getLogger(__name__)

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


#: The normalized fields of a ``normalize_listing`` result, in NORMALIZED_FIELDS order.
_NORMALIZED_VALUES = operator.itemgetter(*NORMALIZED_FIELDS)


def _fill(item: Any, fields: dict[str, Any], names: tuple[str, ...], values: tuple) -> None:
    """Set the fields ``names`` of a dataclass item to ``values``: straight into its ``fields``
    (``vars(item)``) when its class sets attributes the plain way, else one by one."""
    if type(item).__setattr__ is object.__setattr__:
        fields.update(zip(names, values, strict=True))
    else:
        for name, value in zip(names, values, strict=True):
            setattr(item, name, value)


class NormalizePipeline:
    """Fills a Listing's normalized fields from its raw ones with ``normalize_listing``.

    In a crawl (``from_crawler``) it reads the norm keys and fields the database
    (``KEITRUCKS_DB_PATH``) holds of each source at its first listing; a listing whose key is
    unchanged gets those fields (its derived ones too) and is marked so that the landed cost and
    the storage skip it.

    Stats: ``keitrucks/normalize/<field>/unparsed`` when the raw field is present but the result
    is None, ``keitrucks/normalize/<field>/<reason>`` for each note (e.g. price/monthly), of the
    listings normalized; ``keitrucks/normalize/unchanged`` counts the listings copied.
    """

    def __init__(self, crawler=None, config: Mapping | None = None):
        self.crawler = crawler
        self.config = config
        self.keys = KeyMaker(config)
        self.db_path = crawler.settings.get("KEITRUCKS_DB_PATH") if crawler else None
        #: source -> listing_id -> (norm key, *STORED_RESULT_FIELDS), read at its first item.
        self.stored: dict[str, dict[str, tuple]] = {}
        self._inc_value = None

    @classmethod
    def from_crawler(cls, crawler):
        from keitrucks.core.config import load_config

        return cls(crawler, load_config(crawler.settings.get("KEITRUCKS_CONFIG")))

    def _stored(self, source: Any) -> dict[str, tuple]:
        """What the database holds of a source, read once, before this crawl wrote any of it
        (its first item comes before the storage's first write of that source)."""
        stored = self.stored.get(source)
        if stored is None:
            stored = self.stored[source] = (
                read_normalized(self.db_path, source) if self.db_path else {}
            )
            logger.debug("%d stored listings of %s may be copied", len(stored), source)
        return stored

    def _inc(self, key: str, count: int = 1) -> None:
        if self._inc_value is None:  # bound once: each look-up goes through Scrapy's wrappers
            stats = self.crawler.stats if self.crawler is not None else None
            if stats is None:
                return
            self._inc_value = stats.inc_value
        self._inc_value(f"keitrucks/normalize/{key}", count)

    def process_item(self, item):
        is_listing = dataclasses.is_dataclass(item)
        # the item's own fields, not a copy: the key and normalize_listing only read them (and
        # asdict() would deep-copy every field)
        raw = vars(item) if is_listing else dict(item)
        if is_listing and self.db_path:
            stored = self._stored(raw.get("source")).get(str(raw.get("listing_id")))
            if stored is not None and self.keys.key(raw, stored[0][0]) == stored[0]:
                _fill(item, raw, STORED_RESULT_FIELDS, stored[1:])
                mark(item, stored[0], True)
                self._inc("unchanged")
                return item
        result = normalize_listing(raw, config=self.config)
        if is_listing:
            _fill(item, raw, NORMALIZED_FIELDS, _NORMALIZED_VALUES(result))
            mark(item, self.keys.key(raw, key_kind(raw, result)), False)
        else:
            for name in NORMALIZED_FIELDS:
                item[name] = result[name]
        vehicle = result["kind"] not in NON_VEHICLE_KINDS
        for name, raw_name in UNPARSED_RAW.items():
            if result[name] is None and raw.get(raw_name) and (vehicle or name == "price"):
                self._inc(f"{name}/unparsed")
        for note in result["normalize_notes"]:
            field, _, reason = note.partition(":")
            self._inc(f"{field}/{reason}")
        return item

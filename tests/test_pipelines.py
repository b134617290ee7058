"""Validate and dedupe pipelines: drop only what cannot be stored, count the rest."""

from __future__ import annotations

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from pipelines.dedupe import DedupePipeline
from pipelines.validate import ValidatePipeline
from scrapers.items import Listing


@pytest.fixture
def crawler():
    crawler = get_crawler()
    crawler.stats.open_spider()
    return crawler


def listing(**kw) -> Listing:
    base = dict(source="craigslist", listing_id="1", url="https://x.test/1", title="1996 Carry")
    return Listing(**{**base, **kw})


def test_validate_keeps_a_listing_and_counts_missing_fields(crawler):
    item = listing()
    assert ValidatePipeline.from_crawler(crawler).process_item(item) is item
    assert crawler.stats.get_value("keitrucks/field/price_raw/missing") == 1
    assert crawler.stats.get_value("keitrucks/field/title/missing") is None


@pytest.mark.parametrize("field", ["listing_id", "url", "source"])
@pytest.mark.parametrize("value", [None, "", "  "])
def test_validate_drops_only_what_cannot_be_stored(crawler, field, value):
    with pytest.raises(DropItem, match=f"Missing {field}"):
        ValidatePipeline.from_crawler(crawler).process_item(listing(**{field: value}))
    assert crawler.stats.get_value(f"keitrucks/validate/{field}/missing") == 1


def test_validate_drops_what_is_not_a_listing(crawler):
    with pytest.raises(DropItem, match="Not a Listing: dict"):
        ValidatePipeline.from_crawler(crawler).process_item({"listing_id": "1"})


def test_dedupe_drops_the_second_sighting_in_a_run_at_debug_level(crawler):
    pipe = DedupePipeline.from_crawler(crawler)
    pipe.process_item(listing())
    pipe.process_item(listing(source="ebay"))
    with pytest.raises(DropItem) as info:
        pipe.process_item(listing(title="same id, found by another query"))
    assert info.value.log_level == "DEBUG"
    assert crawler.stats.get_value("keitrucks/dedupe/duplicate") == 1

"""scrapers.heap: the crawl's garbage collector settings are applied at spider open and given
back at close, whatever they were."""

from __future__ import annotations

import gc

import pytest
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from scrapers.heap import CrawlHeap


@pytest.fixture
def gc_state():
    """The process's collector as the test found it, restored whatever the test did."""
    before = gc.get_threshold()
    yield before
    gc.unfreeze()
    gc.set_threshold(*before)


@pytest.mark.parametrize(
    ("freeze", "threshold", "frozen", "first"),
    [
        (True, 10_000, True, 10_000),
        (True, 0, True, None),  # None: the threshold found
        (False, 5_000, False, 5_000),
    ],
)
def test_open_applies_the_settings_and_close_gives_them_back(
    gc_state, freeze, threshold, frozen, first
):
    gc.set_threshold(777, 11, 12)
    crawler = get_crawler(
        settings_dict={"KEITRUCKS_GC_FREEZE": freeze, "KEITRUCKS_GC_THRESHOLD": threshold}
    )
    heap = CrawlHeap.from_crawler(crawler)
    heap.spider_opened(None)
    assert (gc.get_freeze_count() > 0) is frozen
    assert gc.get_threshold() == (first or 777, 11, 12)
    heap.spider_closed(None, "finished")
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == (777, 11, 12)


def test_crawls_side_by_side_give_the_collector_back_when_the_last_closes(gc_state):
    gc.set_threshold(777, 11, 12)
    settings = {"KEITRUCKS_GC_FREEZE": True, "KEITRUCKS_GC_THRESHOLD": 9_000}
    first, second = (CrawlHeap.from_crawler(get_crawler(settings_dict=settings)) for _ in "ab")
    first.spider_opened(None)
    second.spider_opened(None)
    first.spider_closed(None, "finished")
    assert gc.get_threshold() == (9_000, 11, 12)
    assert gc.get_freeze_count() > 0
    second.spider_closed(None, "finished")
    assert gc.get_threshold() == (777, 11, 12)
    assert gc.get_freeze_count() == 0


def test_nothing_to_do_is_no_extension(gc_state):
    crawler = get_crawler(settings_dict={"KEITRUCKS_GC_FREEZE": False, "KEITRUCKS_GC_THRESHOLD": 0})
    with pytest.raises(NotConfigured):
        CrawlHeap.from_crawler(crawler)


def test_the_crawl_settings_turn_it_on():
    from scrapers import settings

    assert settings.EXTENSIONS["scrapers.heap.CrawlHeap"] is not None
    assert settings.KEITRUCKS_GC_FREEZE
    assert settings.KEITRUCKS_GC_THRESHOLD > 700

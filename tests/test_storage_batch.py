"""Storage within one batch: rows read off the items in the column plan's order, a later item
of the batch seeing what an earlier one wrote, the items left as they came, coverage counted."""

from __future__ import annotations

import pytest

from pipelines.listings import save_listings
from pipelines.recrawl import mark
from pipelines.run_health import COVERAGE_FIELDS, coverage_of_counts, field_coverage
from pipelines.runs import start_run
from pipelines.schema import open_db
from scrapers.items import Listing

NIGHT = "2026-11-24T06:00:00+00:00"


def truck(listing_id: str, price: int | None = 6500, **kw) -> Listing:
    return Listing(
        source="craigslist",
        listing_id=listing_id,
        url=f"https://example.test/{listing_id}",
        title=f"1996 Suzuki Carry {listing_id}",
        price=price,
        currency="USD" if price else None,
        price_usd=price,
        price_basis="asking",
        **kw,
    )


@pytest.fixture
def db(tmp_path):
    database = open_db(tmp_path / "t.db")
    yield database
    database.close()


def save(db, items):
    run_id = start_run(db, "craigslist", search_key="s", as_of=NIGHT, started_at=NIGHT)
    return save_listings(db, items, run_id=run_id, seen_at=NIGHT, search_key="s")


def test_a_repost_of_a_repost_in_the_same_batch_inherits_the_first_identity(db):
    save(db, [truck("100", repost_of="50"), truck("200", repost_of="100")])
    identities = {r["listing_id"]: r["identity"] for r in db.query("SELECT * FROM listings")}
    assert identities == {"100": "craigslist:50", "200": "craigslist:50"}


def test_the_same_listing_twice_in_a_batch_is_new_then_repriced(db):
    events = save(db, [truck("1", 6500), truck("1", 5900)])
    assert events == {"new": 1, "price_change": 1}
    assert [r["price"] for r in db.query("SELECT price FROM listings")] == [5900]
    events = [r["event"] for r in db.query("SELECT event FROM price_history ORDER BY id")]
    assert events == ["new", "price_change"]


def test_saving_leaves_the_items_as_they_came_and_stores_the_marked_norm_key(db):
    item = truck("7")
    item.listing_id = 7  # a number, stored as text
    item.image_urls = item.attributes = None  # absent JSON columns: stored as [] and {}
    mark(item, "u-key", False)
    save(db, [item, {**vars(truck("8")), "norm_key": "u-other"}])
    assert (item.listing_id, item.status, item.image_urls, item.attributes) == (7, None, None, None)
    rows = {
        r["listing_id"]: (r["status"], r["norm_key"], r["image_urls"], r["attributes"])
        for r in db.query("SELECT * FROM listings")
    }
    assert rows == {
        "7": ("active", "u-key", "[]", "{}"),
        "8": ("active", "u-other", "[]", "{}"),
    }


@pytest.mark.parametrize(
    ("filled", "items", "expected"),
    [
        ({}, 0, dict.fromkeys(COVERAGE_FIELDS, 0.0)),
        (
            {"year": 2, "model": 1},
            3,
            {"price_usd": 0.0, "year": 0.667, "model": 0.333, "is_4wd": 0.0, "mileage_mi": 0.0},
        ),
        (dict.fromkeys(COVERAGE_FIELDS, 4), 4, dict.fromkeys(COVERAGE_FIELDS, 1.0)),
    ],
)
def test_coverage_of_counts(filled, items, expected):
    assert coverage_of_counts(filled, items) == expected


def test_field_coverage_counts_filled_fields_only():
    items = [{"price_usd": 1, "year": 1990}, {"model": "Suzuki Carry"}, {"year": None}]
    assert field_coverage(items) == {
        "price_usd": 0.333,
        "year": 0.333,
        "model": 0.333,
        "is_4wd": 0.0,
        "mileage_mi": 0.0,
    }

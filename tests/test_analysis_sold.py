"""Sold and delisted trucks on the hand-built market of ``test_analysis_helpers``."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from test_analysis_helpers import build_market

from analysis import load
from analysis.identity import assign_truck_ids
from analysis.sold import SOLD_COLUMNS, ended_lids, infer_sold, likely_ended, truck_lids

START = dt.date(2026, 11, 2)


@pytest.fixture(scope="module")
def sold(tmp_path_factory):
    db = tmp_path_factory.mktemp("sold") / "m.db"
    build_market(db)
    return sold_as_of(db, "2026-11-12")


def sold_as_of(db, as_of, start=START):
    listings = assign_truck_ids(load.read_listings_as_of(db, as_of, since=start))
    window = load.read_history_window(db, start, as_of)
    lids = truck_lids(listings, ended_lids(window, start=start, as_of=as_of))
    history = load.read_history_of_lids(db, lids, before=load.as_of_end(as_of))
    return infer_sold(listings, history, start=start, as_of=as_of).set_index("truck_id")


def test_columns_and_the_trucks_that_left(sold):
    assert list(sold.reset_index().columns) == list(SOLD_COLUMNS)
    # B is still for sale as its repost G; A, C, D, F, X are still listed
    assert sorted(sold.index) == ["bringatrailer:S", "craigslist:E", "craigslist:H"]


def test_delisted_truck_days_on_market_and_drops(sold):
    e = sold.loc["craigslist:E"]
    assert e["outcome"] == "delisted"
    assert e["days_on_market"] == 3  # first seen Nov 2, last seen Nov 5
    assert (e["first_price_usd"], e["last_price_usd"]) == (6000, 5500)
    assert (e["n_drops"], e["total_drop_usd"], e["largest_drop_usd"]) == (1, 500, 500)
    assert e["total_drop_pct"] == pytest.approx(8.3)
    assert e["left_at"] == pd.Timestamp("2026-11-09T06:00:00Z")


def test_a_reposted_truck_is_joined_across_its_listings(sold):
    h = sold.loc["craigslist:H"]
    assert h["listings"] == "craigslist:H craigslist:H2"
    assert h["n_listings"] == 2
    assert h["first_seen_at"] == pd.Timestamp("2026-11-02T06:00:00Z")
    assert h["days_on_market"] == 3
    assert (h["first_price_usd"], h["last_price_usd"], h["n_drops"]) == (9400, 8700, 1)


def test_a_sold_auction_has_its_sold_price(sold):
    s = sold.loc["bringatrailer:S"]
    assert (s["outcome"], s["sold_price_usd"], s["price_basis"]) == ("sold", 9500, "sold")


def test_before_the_repost_left_the_truck_was_still_for_sale(tmp_path):
    db = tmp_path / "m.db"
    build_market(db, until="2026-11-05")
    assert "craigslist:H" not in sold_as_of(db, "2026-11-05").index  # H2 still listed


def test_the_window_limits_what_is_reported(tmp_path):
    db = tmp_path / "m.db"
    build_market(db)
    later = sold_as_of(db, "2026-11-12", start=dt.date(2026, 11, 10))
    assert list(later.index) == ["bringatrailer:S"]


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        # E (gone) and H with its repost H2 (both gone) were first seen Nov 2; B's repost G is
        # for sale, and so are A, C (with its twin X on eBay) and D; F, the exporter, too
        (dt.date(2026, 11, 4), ["E", "H"]),
        (dt.date(2026, 11, 6), ["E", "H", "H2"]),
        (dt.date(2026, 11, 2), []),  # nothing first seen before the window
    ],
)
def test_likely_ended_are_early_listings_of_trucks_no_longer_for_sale(tmp_path, start, expected):
    db = tmp_path / "m.db"
    build_market(db)
    listings = assign_truck_ids(load.read_listings_as_of(db, "2026-11-09", since=START))
    lids = likely_ended(listings, start=start)
    assert sorted(listings.set_index("lid").loc[lids, "listing_id"]) == expected


def test_nothing_left_gives_an_empty_table():
    empty = infer_sold(pd.DataFrame(), pd.DataFrame(), start=START, as_of="2026-11-12")
    assert list(empty.columns) == list(SOLD_COLUMNS)
    assert empty.empty
    assert (
        ended_lids(
            pd.DataFrame(
                {
                    "lid": np.array([], dtype=int),
                    "event": [],
                    "status": [],
                    "observed_at": pd.to_datetime([], utc=True),
                }
            ),
            start=START,
            as_of="2026-11-12",
        ).size
        == 0
    )


# -- hand-built edge cases (issue #18: the faster grouping must keep each truck's figures) -------


def _listing(lid, listing_id, truck, status, first, last, source="craigslist") -> dict:
    return {
        "lid": lid,
        "source": source,
        "listing_id": listing_id,
        "truck_id": truck,
        "status": status,
        "first_seen_at": pd.Timestamp(first, tz="UTC"),
        "last_seen_at": pd.Timestamp(last, tz="UTC"),
        "title": f"truck {listing_id}",
        "model": "Honda Acty",
        "family": "Honda Acty",
        "year": 1996,
        "is_4wd": True,
        "url": f"https://example.test/{listing_id}",
    }


def _row(lid, id_, when, event, price, basis="asking", status="active") -> dict:
    return {
        "lid": lid,
        "id": id_,
        "observed_at": pd.Timestamp(when, tz="UTC"),
        "event": event,
        "price_usd": price,
        "price_basis": basis,
        "status": status,
    }


def _sold(listings, history) -> pd.DataFrame:
    history = pd.DataFrame(history).astype({"price_usd": "Int64"})
    return infer_sold(pd.DataFrame(listings), history, start=START, as_of="2026-11-30")


def test_a_truck_without_a_known_price_is_counted_without_figures():
    out = _sold(
        [_listing(1, "p", "t-p", "gone", "2026-11-03", "2026-11-05")],
        [
            _row(1, 1, "2026-11-03", "new", None, basis=None),
            _row(1, 2, "2026-11-06", "gone", None, basis=None, status="gone"),
        ],
    )
    assert out["truck_id"].tolist() == ["t-p"]
    assert (
        out[["first_price_usd", "last_price_usd", "n_drops", "sold_price_usd"]]
        .isna()
        .all(axis=None)
    )
    assert pd.isna(out.loc[0, "price_basis"])
    assert out["n_drops"].dtype == "Int64"
    assert out["total_drop_pct"].dtype == "float64"
    assert out.loc[0, "days_on_market"] == 2


def test_listings_first_seen_together_are_joined_in_key_order_and_drops_follow_time():
    """Three listings of one truck, two first seen at the same time; rows come unsorted, the
    path is read in time order (then id) on the first asking basis, the bid is left out."""
    listings = [
        _listing(1, "z", "t", "gone", "2026-11-03", "2026-11-08", source="ebay"),
        _listing(2, "a", "t", "gone", "2026-11-03", "2026-11-06"),
        _listing(3, "m", "t", "ended", "2026-11-04", "2026-11-07", source="bringatrailer"),
    ]
    history = [
        _row(3, 7, "2026-11-04", "new", 7000, basis="bid"),
        _row(1, 5, "2026-11-05", "price_change", 8500),
        _row(2, 3, "2026-11-03", "new", 9000),
        _row(1, 4, "2026-11-05", "price_change", 8800),
        _row(1, 1, "2026-11-03", "new", 9500),
        _row(1, 9, "2026-11-09", "gone", 8500, status="gone"),
        _row(3, 8, "2026-11-08", "status_change", 7000, basis="bid", status="ended"),
    ]
    row = _sold(listings, history).iloc[0]
    assert row["listings"] == "craigslist:a ebay:z bringatrailer:m"
    assert row["sources"] == "bringatrailer craigslist ebay"
    assert row["n_listings"] == 3
    assert row["title"] == "truck m"
    assert row["outcome"] == "delisted"  # the last seen listing (z) went gone
    assert row["left_at"] == pd.Timestamp("2026-11-09", tz="UTC")
    assert row["price_basis"] == "asking"
    # asking path by time then id: 9500, 9000, 8800 (id 4), 8500 (id 5)
    assert (row["first_price_usd"], row["last_price_usd"]) == (9500, 8500)
    assert (row["n_drops"], row["largest_drop_usd"], row["total_drop_usd"]) == (3, 500, 1000)


@pytest.mark.parametrize(
    ("lids", "expected"),
    [
        ([1], [1, 3]),  # the other listing of its truck
        ([2], [2]),
        ([4], [4, 5]),  # no truck id: like pandas' isin, unknown goes with unknown
        ([6, 4], [4, 5, 6]),
        ([9], []),
        ([], []),
    ],
)
def test_truck_lids_are_every_listing_of_the_trucks(lids, expected):
    listings = pd.DataFrame(
        {"lid": [1, 2, 3, 4, 5, 6], "truck_id": ["a", "b", "a", None, None, "c"]}
    )
    assert truck_lids(listings, np.array(lids, dtype=np.int64)).tolist() == expected

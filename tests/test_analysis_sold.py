"""Sold and delisted trucks on the hand-built market of ``test_analysis_helpers``."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from test_analysis_helpers import build_market

from analysis import load
from analysis.identity import assign_truck_ids
from analysis.sold import SOLD_COLUMNS, ended_lids, infer_sold, truck_lids

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

"""Weekly trends and the band summary on the hand-built market of ``test_analysis_helpers``."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from test_analysis_helpers import build_market

from analysis import load
from analysis.identity import assign_truck_ids
from analysis.trends import TREND_COLUMNS, band_summary, group_quantiles, price_trends

START = dt.date(2026, 11, 2)


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    db = tmp_path_factory.mktemp("trends") / "m.db"
    build_market(db)
    return db


def frames(db, as_of):
    listings = assign_truck_ids(load.read_listings_as_of(db, as_of, since=START))
    history = load.read_history_window(db, START, as_of)
    return listings, history


def row(
    trends,
    week,
    series="asking",
    grouping="platform",
    family="Honda Acty",
    drive="4WD",
    year_bucket="all",
) -> pd.Series:
    found = trends.loc[
        (trends["week"] == week)
        & (trends["series"] == series)
        & (trends["grouping"] == grouping)
        & (trends["family"] == family)
        & (trends["drive"] == drive)
        & (trends["year_bucket"] == year_bucket)
    ]
    assert len(found) == 1, found
    return found.iloc[0]


def test_weekly_stock_counts_each_truck_once_with_quartiles(market):
    trends = price_trends(*frames(market, "2026-11-12"), start=START, as_of="2026-11-12")
    assert list(trends.columns) == list(TREND_COLUMNS)
    w45 = row(trends, "2026-W45")
    # end of W45: A 8000, B 7000, C 9000 (also on eBay: counted once), H2 8700
    assert w45["listings"] == 4
    assert (w45["median_usd"], w45["p25_usd"], w45["p75_usd"]) == (8350, 7750, 8775)
    assert w45["week_start"] == "2026-11-02"
    w46 = row(trends, "2026-W46")
    # end of W46: A 7500, C 9000, G (B reposted) 8800; H2 and E are gone
    assert w46["listings"] == 3
    assert w46["median_usd"] == 8800


def test_new_trucks_and_price_drops_per_week(market):
    trends = price_trends(*frames(market, "2026-11-12"), start=START, as_of="2026-11-12")
    w45, w46 = row(trends, "2026-W45"), row(trends, "2026-W46")
    # W45: A, B, C and H are new (X is C on eBay, H2 is H reposted: not new trucks)
    assert w45["new_listings"] == 4
    assert w46["new_listings"] == 0  # G is B reposted
    # W46: A dropped. Reposts (H2 lower, G higher) are new listings, not drops of a listing
    assert (w45["price_drops"], w46["price_drops"]) == (0, 1)
    assert row(trends, "2026-W45", drive="2WD")["price_drops"] == 1  # E 6000 -> 5500


def test_band_shares_and_rollups(market):
    trends = price_trends(
        *frames(market, "2026-11-12"),
        start=START,
        as_of="2026-11-12",
        config={"band": {"low": 5000, "high": 12000}},
    )
    overall = row(trends, "2026-W45", grouping="all", family="all", drive="all")
    # A, B, C, H2 inside; D (13000) above; E (5500) inside
    assert overall["listings"] == 6
    assert (overall["share_below"], overall["share_in"], overall["share_above"]) == (
        0.0,
        0.833,
        0.167,
    )
    carry = row(trends, "2026-W45", family="Suzuki Carry", drive="2WD", year_bucket="1990-1994")
    assert carry["listings"] == 1
    assert carry["share_above"] == 1.0
    badge = row(trends, "2026-W46", grouping="badge", family="Honda Acty", drive="all")
    assert badge["listings"] == 3


def test_price_bases_are_separate_series(market):
    trends = price_trends(*frames(market, "2026-11-12"), start=START, as_of="2026-11-12")
    fob = row(trends, "2026-W45", series="japan_fob")
    assert (fob["listings"], fob["median_usd"]) == (1, 3000)
    sold = trends.loc[trends["series"] == "sold"]
    assert set(sold["week"]) == {"2026-W46"}  # counted the week the auction closed
    assert (
        row(trends, "2026-W46", series="sold", grouping="all", family="all", drive="all")[
            "median_usd"
        ]
        == 9500
    )


def test_a_past_as_of_ignores_later_history(market):
    trends = price_trends(*frames(market, "2026-11-05"), start=START, as_of="2026-11-05")
    assert set(trends["week"]) == {"2026-W45"}
    assert row(trends, "2026-W45")["listings"] == 4


def test_band_summary_as_of(market):
    listings, _ = frames(market, "2026-11-12")
    summary = band_summary(listings, as_of="2026-11-12").set_index(["series", "family", "drive"])
    acty = summary.loc[("asking", "Honda Acty", "4WD")]
    assert (acty["listings"], acty["median_usd"], acty["as_of"]) == (3, 8800, "2026-11-12")
    assert summary.loc[("asking", "all", "all"), "listings"] == 4  # + D; E is gone
    assert ("sold", "all", "all") not in summary.index  # a sale is not stock for sale


def test_group_quantiles_match_pandas():
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 40, 3000)
    values = rng.normal(8000, 1500, 3000)
    values[::11] = np.nan
    got = group_quantiles(codes, values, (0.25, 0.5, 0.75), 41)
    series = pd.Series(values).groupby(codes)
    for q, result in zip((0.25, 0.5, 0.75), got, strict=True):
        expected = series.quantile(q).reindex(range(41)).to_numpy()
        np.testing.assert_allclose(result, expected)

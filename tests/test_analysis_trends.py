"""Weekly trends and the band summary on the hand-built market of ``test_analysis_helpers``."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from test_analysis_helpers import build_market, night, truck

from analysis import load, trends
from analysis.identity import assign_truck_ids
from analysis.report import MARGIN_DAYS, window_start
from analysis.trends import (
    BAND_COLUMNS,
    TREND_COLUMNS,
    band_summary,
    group_quantiles,
    price_trends,
)
from pipelines.schema import open_db

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


@pytest.mark.parametrize(
    ("prices", "dtype"),
    [
        ([8000, 12500.0, None], np.float32),  # whole dollars: float32 holds them exactly
        ([16_777_216, 0, -3], np.float32),
        ([None, None], np.float32),
        ([8000, 9999.99], np.float64),  # a cent a float32 would round: every price wide
        ([16_777_217, 8000], np.float64),  # past float32's whole numbers
        ([8000, 1e39], np.float64),  # past float32's range
    ],
)
def test_prices_are_narrow_only_when_every_one_is_exact(prices, dtype):
    got = trends._price(pd.Series(prices, dtype="Float64"))
    assert got.dtype == dtype
    expected = np.array([np.nan if p is None else p for p in prices], dtype=np.float64)
    np.testing.assert_array_equal(got.astype(np.float64), expected)


def test_quartiles_of_float32_prices_are_those_of_float64():
    # float32 arithmetic would round 16777215 + 0.25 back to 16777215 (and the median's .5)
    values = np.array([16_777_215, 16_777_216, 8001, 8000, 3, 4, 5, np.nan])
    gid = np.array([0, 0, 1, 1, 2, 2, 2, 2])
    qs = (0.25, 0.5, 0.75)
    wide = group_quantiles(gid, values, qs, 4)
    narrow = group_quantiles(gid, values.astype(np.float32), qs, 4)
    for w, n in zip(wide, narrow, strict=True):
        assert n.dtype == np.float64
        np.testing.assert_array_equal(n, w)
    assert wide[0][0] == 16_777_215.25


def test_weekly_states_are_held_narrow(market):
    # memory: the states of a million-row window are 1.2M rows; 11 bytes each, not 32
    listings, history = frames(market, "2026-11-12")
    labels = trends.describe(listings)
    weeks = trends.week_starts(START, "2026-11-12")
    hist = trends._kei_history(history, labels, weeks)
    states = trends.weekly_states(listings, labels, hist, weeks)
    assert len(states.week) > 0
    assert [c.dtype for c in states] == [np.int16, np.int8, np.int32, np.float32]
    columns = [*hist.rows, *hist[1:]]
    assert sum(c.dtype.itemsize for c in columns) == 16  # a history row, not 66 bytes


def test_concatenating_one_part_with_empty_ones_copies_nothing():
    rows = trends.Rows(
        np.arange(3, dtype=np.int16),
        np.zeros(3, np.int8),
        np.arange(3, dtype=np.int32),
        np.ones(3, np.float32),
    )
    assert trends._concat([trends._no_rows(), rows, trends._no_rows()]) is rows
    both = trends._concat([rows, rows])
    assert both.week.tolist() == [0, 1, 2, 0, 1, 2]
    assert [c.dtype for c in both] == [c.dtype for c in rows]
    assert len(trends._concat([]).week) == 0


# -- small markets the golden files lack: what each row must be, worked out by hand -------------


def _trends_of(tmp_path, nights, *, as_of="2026-11-12", weeks=3):
    """price_trends and band_summary of a database holding ``nights`` (day, source, trucks),
    over the ``weeks`` ISO weeks up to ``as_of``."""
    db = tmp_path / "small.db"
    open_db(db).close()
    for day, source, trucks in nights:
        night(db, day, source, trucks)
    start = window_start(as_of, weeks)
    since = start - dt.timedelta(days=MARGIN_DAYS)  # as the report reads them
    listings = assign_truck_ids(load.read_listings_as_of(db, as_of, since=since))
    history = load.read_history_window(db, start, as_of)
    return (
        price_trends(listings, history, start=start, as_of=as_of),
        band_summary(listings, as_of=as_of),
    )


def test_an_empty_database_has_no_trend_rows(tmp_path):
    trends, band = _trends_of(tmp_path, [])
    assert trends.empty
    assert list(trends.columns) == list(TREND_COLUMNS)
    assert band.empty
    assert list(band.columns) == list(BAND_COLUMNS)


def test_one_listing_in_a_one_week_window_is_every_group_of_that_week(tmp_path):
    nights = [("2026-11-10", "craigslist", [truck("craigslist", "a1", 8000)])]
    trends, band = _trends_of(tmp_path, nights, weeks=1)
    assert len(trends) == 7  # platform and badge by drive and years, by drive, alone; all
    assert set(trends["week"]) == {"2026-W46"}
    for _, got in trends.iterrows():
        assert (got["listings"], got["new_listings"], got["price_drops"]) == (1, 1, 0)
        assert (got["p25_usd"], got["median_usd"], got["p75_usd"]) == (8000, 8000, 8000)
        assert (got["share_below"], got["share_in"], got["share_above"]) == (0.0, 1.0, 0.0)
    assert band["listings"].tolist() == [1, 1, 1, 1]
    assert band["median_usd"].tolist() == [8000] * 4


def test_listings_without_a_price_are_counted_without_quartiles(tmp_path):
    trucks = [truck("craigslist", f"n{k}", None) for k in range(3)]
    nights = [(day, "craigslist", trucks) for day in ("2026-10-20", "2026-11-03", "2026-11-10")]
    trends, band = _trends_of(tmp_path, nights)
    assert sorted(set(trends["week"])) == ["2026-W44", "2026-W45", "2026-W46"]
    assert (trends["listings"] == 3).all()
    assert trends[["median_usd", "p25_usd", "p75_usd"]].isna().all().all()
    assert trends[["share_below", "share_in", "share_above"]].isna().all().all()
    assert (band["listings"] == 3).all()
    assert band["median_usd"].isna().all()


MIXED = [
    (
        "2026-10-20",
        "craigslist",
        [truck("craigslist", "a", 8000), truck("craigslist", "b", None, year=1999)],
    ),
    ("2026-10-20", "ebay", [truck("ebay", "e", 7000, is_4wd=False)]),
    ("2026-11-03", "craigslist", [truck("craigslist", "a", 7500)]),  # b gone, a drops
    ("2026-11-04", "ebay", []),  # e gone
    (
        "2026-11-10",
        "craigslist",
        [truck("craigslist", "a", 7500), truck("craigslist", "c", 12500, model="Suzuki Carry")],
    ),
    ("2026-11-11", "ebay", [truck("ebay", "e", 6900, is_4wd=False)]),  # relisted lower
]


@pytest.mark.parametrize(
    ("week", "listings", "new", "drops", "quartiles", "shares"),
    [
        # a 8000, b unpriced, e 7000 from before the window
        ("2026-W44", 3, 0, 0, (7250, 7500, 7750), (0.0, 1.0, 0.0)),
        # a alone, dropped to 7500
        ("2026-W45", 1, 0, 1, (7500, 7500, 7500), (0.0, 1.0, 0.0)),
        # a 7500, c new at 12500, e relisted (not new) and lower at 6900
        ("2026-W46", 3, 1, 1, (7200, 7500, 10000), (0.0, 0.667, 0.333)),
    ],
)
def test_weekly_totals_of_a_market_with_gone_relisted_and_unpriced_trucks(
    tmp_path, week, listings, new, drops, quartiles, shares
):
    trends, _ = _trends_of(tmp_path, MIXED)
    got = row(trends, week, grouping="all", family="all", drive="all")
    assert (got["listings"], got["new_listings"], got["price_drops"]) == (listings, new, drops)
    assert (got["p25_usd"], got["median_usd"], got["p75_usd"]) == quartiles
    assert (got["share_below"], got["share_in"], got["share_above"]) == shares


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_quartiles_of_counted_prices_are_those_of_every_state(dtype):
    """The trends' quartiles sort distinct (fine group, price) pairs with their counts
    (``_priced``), not each state: the same figures as from every state, repeats and all."""
    rng = np.random.default_rng(7)
    groups = 9
    fine = rng.integers(0, groups, 4000)
    price = rng.choice([2500, 3000, 4999, 7250.5, 16_777_215, np.nan], 4000).astype(dtype)
    price[fine == 4] = np.nan  # a group without a price
    qs = (0.25, 0.5, 0.75)
    expected = group_quantiles(fine, price, qs, groups + 1)
    pairs, prices, counts = trends._priced(fine, price, groups)
    assert counts.sum() == np.count_nonzero(~np.isnan(price))
    assert len(pairs) < 60
    coarse = np.arange(groups) % 3  # any grouping of the fine groups
    got = group_quantiles(pairs, prices, qs, groups + 1, by_value=True, counts=counts)
    coarse_expected = group_quantiles(coarse[fine], price, qs, 3)
    coarse_got = group_quantiles(coarse[pairs], prices, qs, 3, by_value=True, counts=counts)
    for want, have in zip([*expected, *coarse_expected], [*got, *coarse_got], strict=True):
        np.testing.assert_array_equal(have, want)


@pytest.mark.parametrize(
    "lids",
    [
        [5, 3, 9, 0],  # dense rowids: looked up in a table
        [7, 2_000_000_000, 11],  # sparse: searched
        [],
    ],
)
def test_positions_of_lids(lids):
    lids = np.array(lids, dtype=np.int64)
    wanted = np.array([9, -1, 3, 4, 2_000_000_000, 10**12, 0, 7, -5], dtype=np.int64)
    expected = [lids.tolist().index(w) if w in lids else -1 for w in wanted.tolist()]
    assert trends._positions(lids, wanted).tolist() == expected

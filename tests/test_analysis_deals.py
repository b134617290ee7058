"""Deal scores on small hand-built listing tables: comparables, unrated listings, weighting."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.deals import (
    DEAL_COLUMNS,
    buyable,
    project_trucks,
    score_deals,
    weighted_median,
    why_lines,
)

AS_OF = "2026-11-24"


def listing(listing_id, price, **kw) -> dict:
    row = {
        "source": "craigslist",
        "listing_id": listing_id,
        "kind": "kei_truck",
        "status": "active",
        "price_usd": price,
        "price_basis": "asking",
        "is_4wd": True,
        "year": 1996,
        "model": "Honda Acty",
        "last_seen_at": pd.Timestamp("2026-11-24T06:00:00Z"),
    }
    row.update(kw)
    return row


def scores(rows, **config) -> pd.DataFrame:
    out = score_deals(pd.DataFrame(rows), as_of=AS_OF, config={"deals": config} if config else None)
    return out.set_index("listing_id")


def test_weighted_median():
    assert weighted_median([1, 2, 3], [1, 1, 1]) == 2
    assert weighted_median([1, 2, 3, 4], [1, 1, 1, 1]) == 2.5
    assert weighted_median([1, 2, 3], [1, 1, 5]) == 3
    assert weighted_median([], []) is None


def test_fair_price_is_the_median_of_the_other_trucks_and_the_discount_is_against_it():
    rows = [listing("1", 8000), listing("2", 8400), listing("3", 9000), listing("cheap", 5000)]
    out = scores(rows)
    cheap = out.loc["cheap"]
    assert cheap["fair_price_usd"] == 8400
    assert cheap["discount_pct"] == pytest.approx(40.5)
    assert cheap["n_comparables"] == 3
    assert cheap["comparables"] == ["craigslist:1", "craigslist:2", "craigslist:3"]
    assert cheap["rated"]
    assert cheap["why"].startswith("40% under 3 comparable 4WD Honda Acty trucks (US asking)")
    assert out.index[0] == "cheap"  # best deal first
    assert score_deals(pd.DataFrame(rows), as_of=AS_OF).columns.tolist() == list(DEAL_COLUMNS)


def test_fewer_than_three_comparables_leaves_the_listing_unrated():
    out = scores([listing("1", 8000), listing("2", 8400), listing("lonely", 5000)])
    lonely = out.loc["lonely"]
    assert not lonely["rated"]
    assert lonely["n_comparables"] == 2
    assert pd.isna(lonely["fair_price_usd"])
    assert pd.isna(lonely["discount_pct"])
    assert lonely["why"].startswith("unrated: 2 comparable")


def test_comparables_share_platform_drive_basis_and_year_window():
    rows = [
        listing("me", 5000),
        listing("same", 8000),
        listing("rebadge-scrum-is-carry", 8000, model="Mazda Scrum"),
        listing("2wd", 8000, is_4wd=False),
        listing("fob", 3000, price_basis="fob"),
        listing("old", 8000, year=1990),
        listing("close-year", 8100, year=1998),
        listing("parts", 300, kind="parts"),
        listing("unknown-drive", 8000, is_4wd=None),
    ]
    out = scores(rows)
    assert out.loc["me", "comparables"] == ["craigslist:same", "craigslist:close-year"]
    # the Scrum is compared with Carry-platform trucks only
    assert out.loc["rebadge-scrum-is-carry", "n_comparables"] == 0


def test_rebadges_are_compared_on_their_platform():
    rows = [
        listing("carry1", 8000, model="Suzuki Carry"),
        listing("carry2", 8200, model="Suzuki Carry"),
        listing("carry3", 8400, model="Suzuki Carry"),
        listing("scrum", 6000, model="Mazda Scrum"),
    ]
    scrum = scores(rows).loc["scrum"]
    assert scrum["rated"]
    assert scrum["family"] == "Suzuki Carry"
    assert scrum["fair_price_usd"] == 8200


def test_the_same_truck_is_never_its_own_comparable_and_counts_once():
    rows = [
        listing("a", 5000, identity="craigslist:a"),
        listing("a-repost", 5000, identity="craigslist:a", status="gone"),
        listing("b", 8000, truck_id="truck-b"),
        listing("b-on-ebay", 8000, source="ebay", truck_id="truck-b"),
        listing("c", 8200),
        listing("d", 8400),
    ]
    out = scores(rows)
    assert out.loc["a", "comparables"] == ["craigslist:b", "craigslist:c", "craigslist:d"]
    # a and its repost count once, so do b and its eBay copy
    assert out.loc["c", "comparables"] == ["craigslist:a", "craigslist:b", "craigslist:d"]


def test_recent_comparables_weigh_more_and_stale_ones_are_dropped():
    fresh = pd.Timestamp("2026-11-24T06:00:00Z")
    rows = [
        listing("me", 5000),
        listing("new1", 9000, last_seen_at=fresh),
        listing("new2", 9200, last_seen_at=fresh),
        listing("old1", 7000, status="gone", last_seen_at=fresh - pd.Timedelta(days=60)),
        listing("old2", 7100, status="gone", last_seen_at=fresh - pd.Timedelta(days=60)),
        listing("stale", 1000, status="gone", last_seen_at=fresh - pd.Timedelta(days=200)),
    ]
    me = scores(rows).loc["me"]
    assert "craigslist:stale" not in me["comparables"]
    assert me["n_comparables"] == 4
    assert me["comparables_median_usd"] == 8050  # plain median
    assert me["fair_price_usd"] == 9000  # the recent asks weigh four times as much


def test_a_listing_without_price_gets_a_fair_price_but_no_rating():
    rows = [listing("1", 8000), listing("2", 8400), listing("3", 9000), listing("call", None)]
    call = scores(rows).loc["call"]
    assert not call["rated"]
    assert call["why"] == "no price"


def test_config_sets_the_minimum_number_of_comparables():
    rows = [listing("1", 8000), listing("2", 8400), listing("me", 5000)]
    out = score_deals(pd.DataFrame(rows), as_of=AS_OF, config={"alerts": {"min_comparables": 2}})
    assert out.set_index("listing_id").loc["me", "rated"]


def test_only_active_kei_trucks_are_scored():
    rows = [
        listing("1", 8000),
        listing("sold", 8000, status="gone"),
        listing("van", 1, kind="kei_van"),
    ]
    assert list(scores(rows).index) == ["1"]
    assert score_deals(pd.DataFrame(), as_of=AS_OF).columns.tolist() == list(DEAL_COLUMNS)


def test_live_auction_bids_are_never_rated():
    rows = [listing(str(n), 6000 + n, price_basis="bid") for n in range(4)] + [
        listing("low-bid", 2000, price_basis="bid")
    ]
    low = scores(rows).loc["low-bid"]
    assert low["n_comparables"] == 4
    assert not low["rated"]
    assert low["why"] == "unrated: a live auction's current bid is not a price"


# -- exporters: landed cost against US asking prices ---------------------------------------------


def exporter(listing_id, fob, landed, **kw) -> dict:
    """A BE FORWARD-style FOB listing with its landed cost (pipelines/landed.py's estimate)."""
    given = {
        "source": "beforward",
        "price_basis": "fob",
        "landed_usd": landed,
        "eligible_25y": True,
        **kw,
    }
    return listing(listing_id, fob, **given)


def test_an_exporter_is_valued_landed_and_compared_with_us_asking_prices_only():
    rows = [
        listing("1", 8000),
        listing("2", 8400),
        listing("3", 9000),
        listing("bat-sold", 5000, source="bringatrailer", price_basis="sold", status="sold"),
        exporter("fob-a", 3000, 7000),
        exporter("fob-b", 3100, 7100),
        exporter("fob-c", 3200, 7200),
        exporter("me", 2600, 6488),
    ]
    me = scores(rows).loc["me"]
    assert me["basis"] == "landed"
    assert me["price_basis"] == "fob"
    assert me["price_usd"] == 2600
    assert me["value_usd"] == 6488
    assert me["comparables"] == ["craigslist:1", "craigslist:2", "craigslist:3"]
    assert me["fair_price_usd"] == 8400
    assert me["discount_pct"] == pytest.approx(22.8)
    assert me["rated"]
    assert me["why"] == (
        "landed in the US ≈ $6,488 (Japan FOB $2,600): 23% under 3 comparable 4WD Honda Acty "
        "trucks asking in the US, fair $8,400, median $8,400, middle half $8,200-8,700"
    )


def test_us_asking_prices_are_never_compared_with_landed_or_fob_figures():
    rows = [
        listing("me", 5000),
        listing("other", 8000),
        exporter("fob-a", 3000, 7000),
        exporter("fob-b", 3100, 7100),
        exporter("fob-c", 3200, 7200),
    ]
    out = scores(rows)
    assert out.loc["me", "comparables"] == ["craigslist:other"]
    assert not out.loc["me", "rated"]
    assert out.loc["me", "basis"] == "asking"
    assert out.loc["me", "value_usd"] == 5000


def test_an_exporter_without_a_landed_cost_is_unrated_and_says_why():
    rows = [listing(str(n), 8000 + n) for n in range(3)]
    out = scores([*rows, exporter("no-estimate", 2600, None)])
    row = out.loc["no-estimate"]
    assert not row["rated"]
    assert pd.isna(row["value_usd"])
    assert pd.isna(row["discount_pct"])
    assert row["basis"] == "landed"
    assert row["why"] == "unrated: no landed cost estimate for its Japan FOB price"
    # a table without the column at all: every exporter is unrated the same way
    bare = pd.DataFrame([*rows, exporter("bare", 2600, 6488)]).drop(columns="landed_usd")
    bare_row = score_deals(bare, as_of=AS_OF).set_index("listing_id").loc["bare"]
    assert not bare_row["rated"]
    assert bare_row["why"] == "unrated: no landed cost estimate for its Japan FOB price"


def test_exporter_bases_are_labelled_and_a_young_truck_is_flagged():
    rows = [listing(str(n), 8000 + 200 * n) for n in range(3)] + [
        exporter("cnf", 4000, 6000, price_basis="cnf"),
        exporter("young", 2500, 6000, eligible_25y=False),
        exporter("alone", 2500, 6000, model="Subaru Sambar"),
    ]
    out = scores(rows)
    assert out.loc["cnf", "why"].startswith(
        "landed in the US ≈ $6,000 (Japan C&F $4,000): 27% under 3 "
    )
    assert out.loc["young", "why"].endswith("; under 25 years old: not importable to the US yet")
    assert out.loc["alone", "why"] == (
        "unrated: 0 comparable 4WD Subaru Sambar trucks asking in the US; "
        "landed in the US ≈ $6,000 (Japan FOB $2,500)"
    )


def test_sold_prices_keep_their_own_basis():
    rows = [listing(str(n), 9000 + n, price_basis="sold", status="sold") for n in range(3)]
    rows += [listing("ask", 6000), exporter("fob", 2500, 6000)]
    out = scores(rows)
    assert out.loc["ask", "n_comparables"] == 0
    assert out.loc["fob", "comparables"] == ["craigslist:ask"]


# -- only trucks a buyer can trust are scored or compared ---------------------------------------

#: Junk that sits next to good trucks: (listing id, what makes it junk). Each is priced as a
#: steal, so if it were scored it would be the best deal, and if it were a comparable it would
#: drag the good trucks' fair price down.
JUNK = [
    ("parts", {"kind": "parts"}),
    ("wanted", {"kind": "wanted"}),
    ("toy", {"kind": "toy"}),
    ("clone", {"kind": "other_vehicle"}),
    ("van", {"kind": "kei_van"}),
    ("no-kind", {"kind": None}),
    ("dead", {"runs": False}),
    ("salvage", {"title_status": "salvage"}),
    ("rebuilt", {"title_status": "rebuilt"}),
    ("no-title", {"title_status": "no_title"}),
    ("off-road", {"title_status": "offroad_only"}),
    ("pending", {"sale_pending": True}),
]


def good_and_junk() -> list[dict]:
    good = [listing(f"good-{n}", 8000 + 200 * n) for n in range(4)]
    good.append(listing("good-steal", 5000, runs=True, title_status="clean"))
    return good + [listing(name, 1500, **junk) for name, junk in JUNK]


@pytest.mark.parametrize(("name", "junk"), JUNK, ids=[name for name, _ in JUNK])
def test_junk_is_never_scored_nor_a_comparable(name, junk):
    out = scores(good_and_junk())
    assert name not in out.index
    every_comparable = {key for keys in out["comparables"] for key in keys}
    assert f"craigslist:{name}" not in every_comparable


def test_good_trucks_next_to_junk_are_still_scored_on_good_comparables_only():
    out = scores(good_and_junk())
    assert sorted(out.index) == [*(f"good-{n}" for n in range(4)), "good-steal"]
    steal = out.loc["good-steal"]
    assert steal["rated"]
    assert steal["n_comparables"] == 4
    assert steal["fair_price_usd"] == 8300
    assert (steal["comparables_low_usd"], steal["comparables_high_usd"]) == (8150, 8450)
    assert (steal["runs"], steal["title_status"]) == (True, "clean")
    assert out.index[0] == "good-steal"


@pytest.mark.parametrize(
    ("stated", "unlike"),
    [
        ({"body": "dump"}, {"body": "crawler"}),
        ({"cab": "jumbo"}, {"cab": "high_roof"}),
        ({"transmission": "manual"}, {"transmission": "automatic"}),
        ({"mileage_mi": 20000}, {"mileage_mi": 80000}),
    ],
)
def test_comparables_share_body_cab_transmission_and_mileage_band_where_both_state_them(
    stated, unlike
):
    (attr,) = stated
    rows = [
        listing("me", 5000, **stated),
        listing("like", 8000, **stated),
        listing("unstated", 8100),
        listing("unlike", 8200, **unlike),
    ]
    out = scores(rows)
    assert out.loc["me", "comparables"] == ["craigslist:like", "craigslist:unstated"]
    # unstated on the subject's side: nothing is excluded
    assert len(out.loc["unstated", "comparables"]) == 3
    assert out.loc["me", attr] == stated[attr] or attr == "mileage_mi"


def test_mileage_bands_follow_the_configured_edges():
    rows = [listing("me", 5000, mileage_mi=20000), listing("near", 8000, mileage_mi=40000)]
    assert scores(rows).loc["me", "comparables"] == []
    wide = scores(rows, mileage_bands_mi=(50000,))
    assert wide.loc["me", "comparables"] == ["craigslist:near"]


def test_project_trucks_are_listed_apart_with_their_own_median():
    rows = pd.DataFrame(good_and_junk())
    projects, median = project_trucks(rows)
    assert dict(zip(projects["listing_id"], projects["problem"], strict=True)) == {
        "dead": "does not run",
        "salvage": "salvage title",
        "rebuilt": "rebuilt title",
        "no-title": "no title",
        "off-road": "off-road only title",
    }
    assert median == 1500
    assert buyable(rows).sum() == 5


def test_a_misdated_truck_is_never_rated_nor_a_comparable():
    rows = [*good_and_junk(), listing("misdated", 1500, year=None)]
    out = scores(rows)
    assert not out.loc["misdated", "rated"]
    assert out.loc["misdated", "comparables"] == []
    assert "craigslist:misdated" not in {key for keys in out["comparables"] for key in keys}
    assert out.loc["good-steal", "rated"]


# -- many subjects at once (issue #18: scored together, each as if alone) -------------------------


def _straight_weighted_median(prices, weights) -> float:
    """The weighted median the plain way: the first price whose cumulative weight reaches half
    the total, the midpoint with the next one when it is exactly half."""
    pairs = sorted(zip(prices, weights, strict=True), key=lambda p: p[0])
    total, running = sum(w for _, w in pairs), 0.0
    for i, (price, weight) in enumerate(pairs):
        running += weight
        if abs(running - total / 2) <= 1e-12 * total and i + 1 < len(pairs):
            return (price + pairs[i + 1][0]) / 2
        if running >= total / 2:
            return price
    raise AssertionError("no weight")


@pytest.mark.parametrize(("limit", "window"), [(1, 0), (3, 1), (5, 2), (20, 2)])
def test_each_subject_is_scored_on_its_own_comparables_when_scored_together(limit, window):
    """Sixty trucks of mixed years, ages and prices scored in one call: each rated truck's fair
    price, median and middle half are those of its own comparables, computed one by one."""
    rng = np.random.default_rng(limit)
    seen = pd.Timestamp("2026-11-24T06:00:00Z")
    rows = [
        listing(
            f"t{n:02d}",
            int(rng.integers(40, 120)) * 100,
            year=int(rng.integers(1994, 2000)),
            last_seen_at=seen - pd.Timedelta(days=int(rng.integers(0, 60))),
            status="active" if n % 4 else "gone",
        )
        for n in range(60)
    ]
    out = scores(rows, max_comparables=limit, year_window=window, min_comparables=1)
    frame = pd.DataFrame(rows).assign(key=lambda f: "craigslist:" + f["listing_id"])
    by_key = frame.set_index("key")
    age = (pd.Timestamp("2026-11-25T00:00:00Z") - by_key["last_seen_at"]).dt.total_seconds()
    weight = 0.5 ** (age / 86400 / 30)
    assert out["rated"].sum() == (frame["status"] == "active").sum()
    for listing_id, row in out.iterrows():
        mine = by_key.loc[f"craigslist:{listing_id}"]
        comparables = row["comparables"]
        assert 1 <= len(comparables) <= limit
        assert f"craigslist:{listing_id}" not in comparables
        prices = by_key.loc[comparables, "price_usd"].tolist()
        assert all(abs(y - mine["year"]) <= window for y in by_key.loc[comparables, "year"])
        fair = _straight_weighted_median(prices, weight[comparables].tolist())
        assert row["fair_price_usd"] == round(fair)
        low, median, high = np.percentile(prices, [25, 50, 75])
        assert (row["comparables_low_usd"], row["comparables_median_usd"]) == (
            round(low),
            round(median),
        )
        assert row["comparables_high_usd"] == round(high)


def test_a_subject_skips_itself_only_when_it_is_among_the_nearest():
    """With two comparables kept, a subject among the two nearest skips itself and takes the
    next one; a subject behind them (same year, later key) takes the two nearest as they are."""
    rows = [
        listing("a", 8000, year=1996),
        listing("b", 8200, year=1996),
        listing("e", 8300, year=1996),
        listing("c", 8400, year=1997),
    ]
    out = scores(rows, max_comparables=2, min_comparables=1)
    assert out.loc["a", "comparables"] == ["craigslist:b", "craigslist:e"]
    assert out.loc["b", "comparables"] == ["craigslist:a", "craigslist:e"]
    assert out.loc["e", "comparables"] == ["craigslist:a", "craigslist:b"]
    assert out.loc["c", "comparables"] == ["craigslist:a", "craigslist:b"]
    assert out.loc["e", "fair_price_usd"] == 8100


@pytest.mark.parametrize(
    ("rows", "config"),
    [
        ([listing("alone", 8000)], {}),
        ([listing(str(n), None) for n in range(4)], {}),
        ([listing(str(n), 8000 + n) for n in range(4)], {"max_comparables": 0}),
        ([listing(str(n), 8000, is_4wd=None, year=None) for n in range(3)], {}),
    ],
    ids=["one-listing", "no-prices", "no-comparables-kept", "nothing-known"],
)
def test_markets_without_comparables_keep_the_result_columns_and_types(rows, config):
    out = scores(rows, **config)
    reference = scores([listing(str(n), 8000 + 100 * n) for n in range(4)])
    assert out["rated"].sum() == 0
    assert (out["n_comparables"] == 0).all()
    assert out["comparables"].map(len).eq(0).all()
    assert out["fair_price_usd"].isna().all()
    assert out["comparables_median_usd"].isna().all()
    for name in ("fair_price_usd", "n_comparables", "comparables_low_usd", "rated", "why"):
        assert out[name].dtype == reference[name].dtype


def scored(**kw) -> dict:
    """A scored row's fields the why line reads: a rated 4WD Acty asking $6,000, 25% under."""
    row = {
        "n_comparables": 7,
        "is_4wd": True,
        "family": "Honda Acty",
        "rated": True,
        "price_usd": 6000,
        "price_basis": "asking",
        "value_usd": 6000,
        "basis": "asking",
        "discount_pct": 25.0,
        "fair_price_usd": 8000,
        "comparables_median_usd": 7900,
        "comparables_low_usd": 7000,
        "comparables_high_usd": 9400,
        "eligible_25y": True,
    }
    row.update(kw)
    return row


LANDED_ROW = {"price_usd": 2600, "price_basis": "fob", "value_usd": 6488, "basis": "landed"}
WHY_CASES = [
    (
        {},
        "25% under 7 comparable 4WD Honda Acty trucks (US asking), fair $8,000, median $7,900,"
        " middle half $7,000-9,400",
    ),
    (
        {"discount_pct": -12.5, "is_4wd": False, "family": None},
        "12% over 7 comparable 2WD trucks (US asking), fair $8,000, median $7,900, middle half"
        " $7,000-9,400",
    ),
    (
        {"comparables_high_usd": None},
        "25% under 7 comparable 4WD Honda Acty trucks (US asking), fair $8,000, median $7,900,"
        " middle half unknown",
    ),
    (
        {"is_4wd": None, "rated": False, "n_comparables": 2},
        "unrated: 2 comparable Honda Acty trucks (US asking)",
    ),
    (
        {"rated": False, "basis": None, "price_basis": None},
        "unrated: 7 comparable 4WD Honda Acty trucks",
    ),
    (
        {"rated": False, "basis": "bid", "price_basis": "bid"},
        "unrated: a live auction's current bid is not a price",
    ),
    ({"price_usd": None, "value_usd": None}, "no price"),
    (
        {**LANDED_ROW, "value_usd": None, "rated": False},
        "unrated: no landed cost estimate for its Japan FOB price",
    ),
    (
        {**LANDED_ROW, "rated": False, "eligible_25y": False},
        "unrated: 7 comparable 4WD Honda Acty trucks asking in the US; landed in the US ≈ $6,488"
        " (Japan FOB $2,600); under 25 years old: not importable to the US yet",
    ),
    (
        LANDED_ROW,
        "landed in the US ≈ $6,488 (Japan FOB $2,600): 25% under 7 comparable 4WD Honda Acty"
        " trucks asking in the US, fair $8,000, median $7,900, middle half $7,000-9,400",
    ),
]


def test_why_lines_word_each_kind_of_row():
    """Every kind of why line, all in one frame (each figure is worded once per distinct value
    over the whole frame, so rows of different kinds share their words)."""
    frame = pd.DataFrame([scored(**kw) for kw, _ in WHY_CASES])
    for column in ("n_comparables", "value_usd", "fair_price_usd", "comparables_median_usd"):
        frame[column] = frame[column].astype("Int64")
    for column in ("comparables_low_usd", "comparables_high_usd"):
        frame[column] = frame[column].astype("Int64")
    frame["discount_pct"] = frame["discount_pct"].astype("Float64")
    frame["is_4wd"] = frame["is_4wd"].astype("boolean")
    lines = why_lines(frame)
    for (kw, expected), line in zip(WHY_CASES, lines, strict=True):
        assert line == expected, kw
    assert why_lines(frame.iloc[:0]) == []

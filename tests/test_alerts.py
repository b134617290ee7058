"""The alert rules and their selection, as pure functions on small hand-built DataFrames.

Listings are built the way ``analysis.load.read_listings_as_of`` types them; deal scores are a
stand-in frame with the columns of ``analysis.deals.score_deals`` (fair price, discount, number
of comparables, rated), so each rule is tested apart from the scoring.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pandas as pd
import pytest
from sqlite_utils import Database

import analysis.alerts as A  # noqa: N812
from analysis.alerts.delivery import _apprise_guard
from analysis.alerts.messages import echo_line
from analysis.deals import score_deals
from analysis.load import HEALTH_COLUMNS, read_source_health
from keitrucks.health import RunHealth, save_health
from pipelines.alert_store import AlertMemory
from pipelines.schema import ensure_schema

NIGHT = dt.date(2026, 11, 25)
CONFIG = {"band": {"low": 5000, "high": 12000}}


def listing(listing_id: str, **kw) -> dict:
    row = {
        "source": "craigslist",
        "listing_id": listing_id,
        "identity": f"craigslist:{listing_id}",
        "url": f"https://knoxville.craigslist.org/cto/d/{listing_id}.html",
        "title": f"1995 Honda Acty 4x4 #{listing_id}",
        "kind": "kei_truck",
        "status": "active",
        "make": "Honda",
        "model": "Honda Acty",
        "model_code": "HA4",
        "year": 1995,
        "is_4wd": True,
        "mileage_mi": 40000,
        "price_usd": 8000,
        "price_basis": "asking",
        "location_raw": "Knoxville, TN",
        "latitude": 35.96,
        "longitude": -83.92,
        "first_seen_at": "2026-11-24T06:00:00+00:00",
        "eligible_from": None,
        "eligibility_basis": None,
    }
    row.update(kw)
    return row


def frame(*rows: dict) -> pd.DataFrame:
    df = pd.DataFrame(list(rows))
    df = df.astype(
        {
            "year": "Int64",
            "mileage_mi": "Int64",
            "price_usd": "Int64",
            "is_4wd": "boolean",
            "latitude": "Float64",
            "longitude": "Float64",
        }
    )
    df["first_seen_at"] = pd.to_datetime(df["first_seen_at"], utc=True)
    return df


def scores(state: pd.DataFrame, fair: dict[str, tuple[int, int]], min_n: int = 3) -> pd.DataFrame:
    """A stand-in for score_deals: listing_id -> (fair price, number of comparables). An
    exporter's listing (fob/cnf/cif) is valued at its landed_usd, as score_deals does."""
    out = []
    for row in state.to_dict("records"):
        if row["listing_id"] not in fair:
            continue
        landed = row["price_basis"] in ("fob", "cnf", "cif")
        value = row.get("landed_usd") if landed else row["price_usd"]
        fair_usd, n = fair[row["listing_id"]]
        rated = n >= min_n and value is not None and not pd.isna(value)
        out.append(
            {
                "source": row["source"],
                "listing_id": row["listing_id"],
                "fair_price_usd": fair_usd if rated else pd.NA,
                "discount_pct": round(100 * (fair_usd - value) / fair_usd, 1) if rated else pd.NA,
                "n_comparables": n,
                "rated": rated,
                "family": "Honda Acty",
                "comparables_median_usd": fair_usd - 50,
                "comparables_low_usd": fair_usd - 300,
                "comparables_high_usd": fair_usd + 400,
                "basis": "landed" if landed else row["price_basis"],
                "value_usd": value,
            }
        )
    return pd.DataFrame(out)


def settings(**alerts) -> dict:
    return A.alert_settings({**CONFIG, "alerts": alerts})


def underpriced(state, fair=None, **alerts) -> pd.DataFrame:
    score = scores(state, fair) if fair is not None else None
    return A.underpriced_4wd(state, score, settings=settings(**alerts), band_low=5000)


# -- underpriced 4WD ----------------------------------------------------------------------------


def test_underpriced_against_comparables_says_why():
    state = frame(
        listing("1", price_usd=7000, runs=True, title_status="clean", mileage_mi=41234),
        listing("2", price_usd=8000),
    )
    found = underpriced(state, {"1": (8750, 7), "2": (8750, 7)})
    assert found["listing_id"].tolist() == ["1"]
    alert = found.iloc[0]
    assert alert["kind"] == "underpriced_4wd"
    assert alert["price_usd"] == 7000
    assert alert["reason"] == (
        "runs: yes, title: clean, 41k mi, 4WD, Honda Acty HA4 1995, US asking $7,000 vs fair "
        "$8,750 (7 comparables, middle half $8,450-9,150): 20% under"
    )


@pytest.mark.parametrize(
    ("unknown", "says"),
    [
        ({"runs": None}, "runs: not stated"),
        ({"title_status": None}, "title: not stated"),
        ({"mileage_mi": None}, "mileage: not stated"),
        ({"model": None, "model_code": None, "year": None}, "model: not stated"),
    ],
)
def test_an_unknown_flag_says_not_stated_so_the_buyer_asks(unknown, says):
    known = {"runs": False, "title_status": "clean", "mileage_mi": 900}
    flags = A.buyer_flags({**listing("1", **known), **unknown})
    parts = flags.split(", ")
    assert says in parts
    assert ("runs: no" in parts) is ("runs" not in unknown)
    assert ("900 mi" in parts) is ("mileage_mi" not in unknown)


@pytest.mark.parametrize(("price", "expected"), [(8000, True), (8500, True), (8510, False)])
def test_underpriced_threshold_is_inclusive(price, expected):
    # 15% under a fair price of $10,000 is $8,500 exactly; $8,510 is 14.9% under.
    state = frame(listing("1", price_usd=price))
    assert (not underpriced(state, {"1": (10000, 5)}).empty) is expected


def test_without_enough_comparables_the_band_floor_applies():
    state = frame(
        listing("cheap", price_usd=4500, eligible_25y=True),
        listing("fair", price_usd=6000, eligible_25y=True),
        listing("unscored", price_usd=4900, eligible_25y=True, runs=True),
    )
    found = underpriced(state, {"cheap": (9000, 2), "fair": (9000, 1)})
    assert sorted(found["listing_id"]) == ["cheap", "unscored"]
    reasons = dict(zip(found["listing_id"], found["reason"], strict=True))
    assert reasons["cheap"] == (
        "runs: not stated, title: not stated, 40k mi, 4WD, Honda Acty HA4 1995, US asking "
        "$4,500 is under the $5,000 band floor (only 2 comparables)"
    )
    assert reasons["unscored"].startswith("runs: yes, title: not stated, 40k mi, 4WD, ")
    assert reasons["unscored"].endswith(
        "US asking $4,900 is under the $5,000 band floor (only 0 comparables)"
    )


@pytest.mark.parametrize(
    "missing",
    [{"model": None}, {"year": None}, {"eligible_25y": None}, {"eligible_25y": False}],
    ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()),
)
def test_the_band_floor_needs_a_known_model_and_year_and_an_eligible_truck(missing):
    state = frame(listing("cheap", price_usd=4500, **{"eligible_25y": True, **missing}))
    assert underpriced(state, {"cheap": (9000, 2)}).empty
    assert not underpriced(frame(listing("cheap", price_usd=4500, eligible_25y=True)), {}).empty


def test_rated_by_scorer_but_below_min_comparables_counts_as_unrated():
    state = frame(listing("1", price_usd=6000))
    score = scores(state, {"1": (9000, 3)}).assign(n_comparables=2)
    found = A.underpriced_4wd(state, score, settings=settings(), band_low=5000)
    assert found.empty


def test_no_scores_at_all_means_band_floor_only():
    state = frame(
        listing("1", price_usd=4200, eligible_25y=True),
        listing("2", price_usd=6000, eligible_25y=True),
    )
    found = A.underpriced_4wd(state, None, settings=settings(), band_low=5000)
    assert found["listing_id"].tolist() == ["1"]


@pytest.mark.parametrize(
    "change",
    [
        {"kind": "parts"},
        {"kind": "wanted"},
        {"kind": "toy"},
        {"kind": "kei_van"},
        {"kind": "other_vehicle"},
        {"kind": None},
        {"is_4wd": False},
        {"is_4wd": None},
        {"price_usd": None},
        {"price_usd": 1},
        {"price_usd": 150},
        {"status": "sold"},
        {"status": "gone"},
        {"price_basis": "bid"},
        {"price_basis": "sold"},
        {"price_basis": None},
        {"runs": False},
        {"title_status": "salvage"},
        {"title_status": "rebuilt"},
        {"title_status": "no_title"},
        {"title_status": "offroad_only"},
        {"sale_pending": True},
    ],
    ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()),
)
def test_never_alerts_on(change):
    state = frame(listing("1", **{"price_usd": 3000, "eligible_25y": True, **change}))
    assert underpriced(state, {"1": (9000, 5)}).empty
    assert underpriced(state, {}).empty


def exporter(listing_id: str, **kw) -> dict:
    """A BE FORWARD FOB listing of an importable truck, with its landed cost."""
    return listing(
        listing_id,
        **{
            "source": "beforward",
            "identity": f"beforward:{listing_id}",
            "price_basis": "fob",
            "price_usd": 2600,
            "landed_usd": 6488,
            "eligible_25y": True,
            **kw,
        },
    )


def exporters(*rows: dict) -> pd.DataFrame:
    return frame(*rows).astype({"landed_usd": "Int64", "eligible_25y": "boolean"})


def test_an_exporter_alerts_on_its_landed_cost_and_says_so():
    state = exporters(exporter("fob"), exporter("cnf", price_basis="cnf", price_usd=4100))
    found = underpriced(state, {"fob": (8300, 7), "cnf": (8300, 7)})
    assert found.set_index("listing_id")["price_usd"].to_dict() == {"fob": 2600, "cnf": 4100}
    reasons = dict(zip(found["listing_id"], found["reason"], strict=True))
    assert reasons["fob"] == (
        "runs: not stated, title: not stated, 40k mi, 4WD, Honda Acty HA4 1995, landed in the US "
        "≈ $6,488 (Japan FOB $2,600) vs fair US asking $8,300 (7 comparables, middle half "
        "$8,000-8,700): 22% under"
    )
    assert (
        "landed in the US ≈ $6,488 (Japan C&F $4,100) vs fair US asking $8,300" in (reasons["cnf"])
    )


@pytest.mark.parametrize("eligible", [False, None])
def test_an_exporter_truck_that_cannot_be_imported_never_alerts(eligible):
    state = exporters(exporter("young", eligible_25y=eligible, landed_usd=4000))
    assert underpriced(state, {"young": (9000, 7)}).empty


def test_an_exporter_is_judged_on_landed_cost_not_on_its_fob_price():
    # FOB $2,600 is 69% under an $8,300 US asking price, but lands at $7,400: 11% under
    state = exporters(exporter("fob", landed_usd=7400))
    assert underpriced(state, {"fob": (8300, 7)}).empty
    assert not underpriced(state, {"fob": (8300, 7)}, underpriced_pct=10).empty


def test_exporter_prices_need_comparables_not_the_us_band_floor():
    state = exporters(
        exporter("no-comparables"), exporter("no-estimate", landed_usd=None), exporter("rated")
    )
    found = underpriced(state, {"no-estimate": (8300, 7), "rated": (8300, 4)})
    assert found["listing_id"].tolist() == ["rated"]


def test_landed_cost_with_the_real_deal_scores():
    us = [listing(f"us{n}", price_usd=8000 + 200 * n) for n in range(5)]
    # besides "importable": one too young to import, one dear once landed, and one whose only
    # peers are other exporters (never its comparables)
    carry = {"make": "Suzuki", "model": "Suzuki Carry", "model_code": "DA63T"}
    state = exporters(
        *us,
        exporter("importable"),
        exporter("young", eligible_25y=False),
        exporter("lands-dear", landed_usd=7900),
        exporter("fob-peers-only", **carry, landed_usd=4000),
        *(
            exporter(f"fob-peer-{n}", **carry, price_usd=6000 + n, landed_usd=11000)
            for n in range(3)
        ),
    ).assign(last_seen_at=pd.Timestamp("2026-11-25T06:00:00Z"))
    deals = score_deals(state, as_of=NIGHT, config=CONFIG)
    found = A.underpriced_4wd(state, deals, settings=settings(), band_low=5000)
    assert found["listing_id"].tolist() == ["importable"]
    assert found.iloc[0]["reason"] == (
        "runs: not stated, title: not stated, 40k mi, 4WD, Honda Acty HA4 1995, landed in the US "
        "≈ $6,488 (Japan FOB $2,600) vs fair US asking $8,400 (5 comparables, middle half "
        "$8,200-8,600): 23% under"
    )


def test_with_landed_costs_takes_the_estimate_of_the_price_as_of_the_night():
    state = frame(exporter("same"), exporter("dropped-since", price_usd=2900), listing("us")).drop(
        columns="landed_usd"
    )
    stored = pd.DataFrame(
        [
            {
                "source": "beforward",
                "listing_id": "same",
                "price_usd": 2600,
                "price_basis": "fob",
                "landed_usd": 6488,
            },
            {
                "source": "beforward",
                "listing_id": "dropped-since",
                "price_usd": 2600,
                "price_basis": "fob",
                "landed_usd": 6488,
            },
        ]
    )
    out = A.with_landed_costs(state, stored).set_index("listing_id")["landed_usd"]
    assert out["same"] == 6488
    assert pd.isna(out["dropped-since"])
    assert pd.isna(out["us"])
    empty = A.with_landed_costs(state, stored.iloc[:0])
    assert empty["landed_usd"].isna().all()


def test_one_alert_per_truck_identity_the_cheapest_listing():
    state = frame(
        listing("a", identity="craigslist:a", price_usd=6000),
        listing("b", identity="craigslist:a", price_usd=5800),
    )
    found = underpriced(state, {"a": (9000, 5), "b": (9000, 5)})
    assert found[["identity", "listing_id", "price_usd"]].to_dict("records") == [
        {"identity": "craigslist:a", "listing_id": "b", "price_usd": 5800}
    ]


def test_configured_percentage_is_used():
    state = frame(listing("1", price_usd=8000))
    assert underpriced(state, {"1": (9000, 5)}, underpriced_pct=15).empty
    assert not underpriced(state, {"1": (9000, 5)}, underpriced_pct=10).empty


# -- selection: once per truck and rule, refire, cap --------------------------------------------


def candidates(*rows: dict) -> pd.DataFrame:
    base = {c: None for c in A.ALERT_COLUMNS}
    df = pd.DataFrame([{**base, "rank": 0.0, "reason": "why", **r} for r in rows])
    return df.astype({"price_usd": "Int64"})


def test_an_alerted_truck_is_not_alerted_again_until_a_further_drop():
    memory = {("underpriced_4wd", "t1"): AlertMemory(1, 4100)}
    for price, expected in [(4100, False), (3900, False), (3851, False), (3850, True)]:
        found, _ = A.select_alerts(
            candidates({"kind": "underpriced_4wd", "identity": "t1", "price_usd": price}),
            memory,
            refire_drop_usd=250,
            cap=20,
        )
        assert (len(found) == 1) is expected, price
    found, _ = A.select_alerts(
        candidates({"kind": "underpriced_4wd", "identity": "t1", "price_usd": 3800}),
        memory,
        refire_drop_usd=250,
        cap=20,
    )
    assert found.loc[0, "reason"] == "why; down a further $300 since the alert at $4,100"


def test_once_only_rules_never_refire():
    memory = {
        ("new_match", "t1"): AlertMemory(1, 9000),
        ("newly_eligible", "t2"): AlertMemory(1, 9000),
    }
    found, _ = A.select_alerts(
        candidates(
            {"kind": "new_match", "identity": "t1", "price_usd": 5000},
            {"kind": "newly_eligible", "identity": "t2", "price_usd": 5000},
        ),
        memory,
        refire_drop_usd=250,
        cap=20,
    )
    assert found.empty


def test_a_truck_alerted_by_one_rule_can_be_alerted_by_another():
    memory = {("new_match", "t1"): AlertMemory(1, 9000)}
    found, _ = A.select_alerts(
        candidates({"kind": "underpriced_4wd", "identity": "t1", "price_usd": 9000}),
        memory,
        refire_drop_usd=250,
        cap=20,
    )
    assert found["kind"].tolist() == ["underpriced_4wd"]


def test_daily_cap_defers_the_rest_but_never_source_alerts():
    found, deferred = A.select_alerts(
        candidates(
            {"kind": "source_unhealthy", "identity": "craigslist/run/1"},
            {"kind": "underpriced_4wd", "identity": "t1", "price_usd": 4000},
            {"kind": "price_drop", "identity": "t2", "price_usd": 6000},
            {"kind": "new_match", "identity": "t3", "price_usd": 7000},
        ),
        {},
        refire_drop_usd=250,
        cap=2,
    )
    assert found["identity"].tolist() == ["craigslist/run/1", "t1", "t2"]
    assert deferred["identity"].tolist() == ["t3"]


# -- watched searches ---------------------------------------------------------------------------


def search(**kw) -> dict:
    return settings(watch=[{"name": "mine", **kw}])["watch"][0]


def test_match_search_criteria():
    state = frame(
        listing("acty-tn", price_usd=8000),
        listing("acty-2wd", is_4wd=False),
        listing("carry", model="Suzuki Carry", model_code="DA52T", year=1999),
        listing(
            "acty-ga",
            location_raw="Atlanta, GA",
            latitude=33.75,
            longitude=-84.39,
            url="https://atlanta.craigslist.org/cto/d/1.html",
        ),
        listing("acty-dear", price_usd=11000, mileage_mi=90000),
        listing("acty-noprice", price_usd=None),
        listing("acty-gone", status="gone"),
        listing("acty-parts", kind="parts"),
    )

    def ids(**kw):
        return sorted(state.loc[A.match_search(state, search(**kw)), "listing_id"])

    active = ["acty-2wd", "acty-dear", "acty-ga", "acty-noprice", "acty-tn", "carry"]
    assert ids() == active
    assert ids(model="acty") == [i for i in active if i != "carry"]
    assert ids(model=["carry", "hijet"]) == ["carry"]
    assert ids(model_code="da52t") == ["carry"]
    assert ids(is_4wd=False) == ["acty-2wd"]
    assert ids(max_price=9000) == ["acty-2wd", "acty-ga", "acty-tn", "carry"]
    assert ids(max_miles=50000) == [i for i in active if i != "acty-dear"]
    assert ids(min_year=1996) == ["carry"]
    assert ids(states=["ga"]) == ["acty-ga"]
    assert ids(areas=["atlanta"]) == ["acty-ga"]
    assert ids(sources=["beforward"]) == []
    # Knoxville to Atlanta is about 150 miles as the crow flies.
    assert ids(near=[35.96, -83.92], max_distance_mi=100) == [i for i in active if i != "acty-ga"]
    assert ids(near=[35.96, -83.92], max_distance_mi=200) == active
    assert ids(since="2026-11-25") == []


def test_a_watched_search_takes_an_exporters_truck_at_its_landed_cost_if_importable():
    state = exporters(
        exporter("lands-cheap", price_usd=2600, landed_usd=6488),
        # FOB $4,000 is under a $9,000 limit; landed it costs $9,800
        exporter("lands-dear", price_usd=4000, landed_usd=9800),
        exporter("no-estimate", price_usd=2000, landed_usd=None),
        # a 2018 truck: a US buyer cannot import it for years, at any price
        exporter("too-young", year=2018, eligible_25y=False, landed_usd=5000),
        exporter("unknown-age", year=None, eligible_25y=None, landed_usd=5000),
        listing("us", price_usd=8000, landed_usd=None, eligible_25y=None),
    )
    watch = [{"name": "w", "max_price": 9000}]
    found = A.new_matches(state, settings=settings(watch=watch))
    assert sorted(found["listing_id"]) == ["lands-cheap", "us"]
    found = A.new_matches(state, settings=settings(watch=[{"name": "any"}]))
    assert sorted(found["listing_id"]) == ["lands-cheap", "lands-dear", "no-estimate", "us"]
    past = history(
        *(("beforward", i, 20, 6000, "active", "fob") for i in ("lands-cheap", "too-young")),
        ("beforward", "too-young", 25, 2600, "active", "fob"),
    )
    drops = A.price_drops(state, past, settings=settings(watch=[{"name": "any"}]))
    assert drops["listing_id"].tolist() == ["lands-cheap"]


def test_postal_code_is_resolved_offline():
    pytest.importorskip("zipcodes")
    lat, lon = A.postal_code_center("37902")
    assert (round(lat, 1), round(lon, 1)) == (36.0, -83.9)
    with pytest.raises(A.AlertsConfigError, match="unknown US postal code"):
        A.postal_code_center("00000")


def test_distance_unknown_coordinates_never_match():
    state = frame(listing("nowhere", latitude=None, longitude=None))
    assert not A.match_search(state, search(near=[35.96, -83.92], max_distance_mi=5000)).any()


def history(*rows: tuple) -> pd.DataFrame:
    """(source, listing_id, observed_at day, price_usd, status[, basis]) rows."""
    df = pd.DataFrame(
        [
            {
                "source": r[0],
                "listing_id": r[1],
                "observed_at": f"2026-11-{r[2]}T06:00:00+00:00",
                "price_usd": r[3],
                "status": r[4],
                "price_basis": r[5] if len(r) > 5 else "asking",
            }
            for r in rows
        ]
    )
    df["observed_at"] = pd.to_datetime(df["observed_at"], utc=True)
    return df.astype({"price_usd": "Int64"})


def test_price_drop_across_a_repost_of_the_same_truck():
    state = frame(
        listing("old", identity="craigslist:old", status="gone", price_usd=9400),
        listing("new", identity="craigslist:old", price_usd=8700),
        listing("small", price_usd=7850),
        listing("up", price_usd=8200),
        listing("unwatched", model="Suzuki Carry", price_usd=5000),
    )
    past = history(
        ("craigslist", "old", 20, 9400, "active"),
        ("craigslist", "old", 24, 9400, "gone"),
        ("craigslist", "new", 25, 8700, "active"),
        ("craigslist", "small", 20, 8000, "active"),
        ("craigslist", "small", 25, 7850, "active"),
        ("craigslist", "up", 20, 7900, "active"),
        ("craigslist", "up", 25, 8200, "active"),
        ("craigslist", "unwatched", 20, 9000, "active"),
        ("craigslist", "unwatched", 25, 5000, "active"),
    )
    found = A.price_drops(
        state, past, settings=settings(watch=[{"name": "actys", "model": "acty"}])
    )
    assert found[["listing_id", "identity", "price_usd"]].to_dict("records") == [
        {"listing_id": "new", "identity": "craigslist:old", "price_usd": 8700}
    ]
    assert found.loc[0, "reason"] == "down $700 (7%) from $9,400 to $8,700, watched search 'actys'"


@pytest.mark.parametrize(
    ("drop_pct", "drop_usd", "expected"),
    [(5, 500, False), (1, 500, True), (5, 150, True), (5, 151, False)],
)
def test_price_drop_needs_either_the_percentage_or_the_amount(drop_pct, drop_usd, expected):
    state = frame(listing("1", price_usd=7850))
    past = history(("craigslist", "1", 20, 8000, "active"), ("craigslist", "1", 25, 7850, "active"))
    watch = [{"name": "w", "drop_pct": drop_pct, "drop_usd": drop_usd}]
    assert (not A.price_drops(state, past, settings=settings(watch=watch)).empty) is expected


def test_price_drop_compares_only_the_same_price_basis():
    state = frame(listing("1", price_usd=3000, price_basis="fob", source="beforward"))
    past = history(
        ("beforward", "1", 20, 4500, "active", "cif"), ("beforward", "1", 25, 3000, "active", "fob")
    )
    assert A.price_drops(state, past, settings=settings(watch=[{"name": "w"}])).empty


def test_new_match_names_every_search_it_matched():
    state = frame(listing("1"), listing("2", model="Suzuki Carry"))
    found = A.new_matches(
        state,
        settings=settings(
            watch=[{"name": "actys", "model": "acty"}, {"name": "4wd", "is_4wd": True}]
        ),
    )
    reasons = dict(zip(found["listing_id"], found["reason"], strict=True))
    assert reasons == {
        "1": "matches your searches 'actys', '4wd'",
        "2": "matches your search '4wd'",
    }


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({}, "matches your search 'w'"),
        ({"runs": False}, "does not run (as the ad says): matches your search 'w'"),
        ({"title_status": "salvage"}, "salvage title (as the ad says): matches your search 'w'"),
        (
            {"runs": False, "title_status": "no_title"},
            "does not run; no title (as the ad says): matches your search 'w'",
        ),
        ({"sale_pending": True}, "sale pending (as the ad says): matches your search 'w'"),
        ({"runs": None, "title_status": None}, "matches your search 'w'"),
    ],
)
def test_a_watched_search_says_first_what_the_ad_says_is_wrong(change, reason):
    state = frame(listing("1", **change))
    found = A.new_matches(state, settings=settings(watch=[{"name": "w"}]))
    assert found["reason"].tolist() == [reason]


def test_every_watched_rule_warns_of_a_project_truck_and_gives_an_exporters_landed_cost():
    state = exporters(
        listing(
            "dead",
            runs=False,
            price_usd=3000,
            eligible_from="2026-10",
            first_seen_at="2026-10-02T06:00:00+00:00",
        ),
        exporter("fob", eligible_from="2026-10", first_seen_at="2026-10-02T06:00:00+00:00"),
    )
    past = history(
        ("craigslist", "dead", 20, 4000, "active"), ("beforward", "fob", 20, 3000, "active", "fob")
    )
    watch = settings(watch=[{"name": "w"}])
    found = {
        (a["kind"], a["listing_id"]): a["reason"]
        for rule in (
            A.new_matches(state, settings=watch),
            A.price_drops(state, past, settings=watch),
            A.newly_eligible(state, settings=watch, as_of=NIGHT),
        )
        for a in rule.to_dict("records")
    }
    assert found == {
        ("new_match", "dead"): "does not run (as the ad says): matches your search 'w'",
        ("new_match", "fob"): "matches your search 'w'; landed in the US ≈ $6,488",
        ("price_drop", "dead"): "does not run (as the ad says): down $1,000 (25%) from $4,000 "
        "to $3,000, watched search 'w'",
        ("price_drop", "fob"): "down $400 (13%) from $3,000 to $2,600, watched search 'w'; "
        "landed in the US ≈ $6,488",
        ("newly_eligible", "dead"): "does not run (as the ad says): turned 25 in 2026-10: "
        "eligible for US import since 2026-11-01; watched search 'w'",
        ("newly_eligible", "fob"): "turned 25 in 2026-10: eligible for US import since "
        "2026-11-01; watched search 'w'; landed in the US ≈ $6,488",
    }


def test_search_rules_can_be_switched_off():
    state = frame(listing("1"))
    assert A.new_matches(
        state, settings=settings(watch=[{"name": "w", "rules": ["price_drop"]}])
    ).empty


@pytest.mark.parametrize(
    ("eligible_from", "first_seen", "since"),
    [
        # within its 25th month a truck may not be 25 yet (the day is unknown): not on the 25th
        ("2026-11", "2026-10-02", None),
        ("2026-10", "2026-09-02", "2026-11-01"),  # importable since this month
        ("2026-10", "2026-10-02", "2026-11-01"),  # listed in its 25th month, before importable
        ("2026-09", "2026-08-02", "2026-10-01"),  # since last month
        ("2026-08", "2026-07-02", None),  # long ago
        ("2026-10", "2026-11-01", None),  # first seen when already importable
        ("2026-12", "2026-10-02", None),
        (None, "2026-10-02", None),
    ],
)
def test_newly_eligible_when_the_truck_becomes_importable_while_listed(
    eligible_from, first_seen, since
):
    state = frame(
        listing(
            "1",
            eligible_from=eligible_from,
            eligibility_basis="build_month",
            first_seen_at=f"{first_seen}T06:00:00+00:00",
        )
    )
    found = A.newly_eligible(state, settings=settings(watch=[{"name": "w"}]), as_of=NIGHT)
    expected = (
        [
            f"turned 25 in {eligible_from} (by build month): eligible for US import since "
            f"{since}; watched search 'w'"
        ]
        if since
        else []
    )
    assert found["reason"].tolist() == expected
    assert A.newly_eligible(state, settings=settings(), as_of=NIGHT).empty


# -- source health ------------------------------------------------------------------------------

NIGHT_RUN, NIGHT_BEFORE = "2026-11-25T06:00:00+00:00", "2026-11-24T06:00:00+00:00"


def runs(*rows: dict) -> pd.DataFrame:
    base = {"search_key": "all", "status": "finished", "healthy": 1, "gone_marked": 0}
    df = pd.DataFrame([{**base, **r} for r in rows])
    df["started_at"] = pd.to_datetime(df["as_of"], utc=True)
    return df


def verdicts(folder: Path, *found: RunHealth) -> pd.DataFrame:
    """The health check's verdicts as ``read_source_health`` returns them: recorded with
    ``save_health`` into a database in ``folder``, read back by run id."""
    path = folder / "health.db"
    db = Database(path)
    ensure_schema(db)
    save_health(db, found, checked_at="2026-11-25T07:00:00+00:00")
    db.close()
    return read_source_health(path, [v.run_id for v in found])


def test_unhealthy_sources_are_the_recorded_verdicts_of_the_nights_runs(tmp_path):
    dead = {"failed_nights": 3, "state": "dead"}
    table = runs(
        {"id": 1, "source": "craigslist", "as_of": NIGHT_BEFORE, "gone_marked": 2},
        {"id": 4, "source": "craigslist", "as_of": NIGHT_RUN, "status": "blocked", "healthy": 0},
        {"id": 5, "source": "beforward", "as_of": NIGHT_RUN, "gone_marked": 3},
        {"id": 6, "source": "bringatrailer", "as_of": NIGHT_RUN, "gone_marked": 1},
        {"id": 7, "source": "ebay", "as_of": NIGHT_RUN, "healthy": 0},
    )
    health = verdicts(
        tmp_path,
        RunHealth(1, "craigslist", "2026-11-24", "unhealthy", ("no listings",)),
        RunHealth(4, "craigslist", "2026-11-25", "blocked", ("blocked (HTTP 403)",)),
        RunHealth(5, "beforward", "2026-11-25", "unhealthy", ("field coverage fell: x",)),
        RunHealth(6, "bringatrailer", "2026-11-25", "ok"),
        RunHealth(7, "ebay", "2026-11-25", "failed", ("did not finish (shutdown)",), **dead),
    )
    found = A.unhealthy_sources(table, health, as_of=NIGHT)
    assert dict(zip(found["identity"], found["reason"], strict=True)) == {
        "beforward/run/5": "beforward: field coverage fell: x",
        "craigslist/run/4": "craigslist: blocked (HTTP 403); nothing marked gone",
        "ebay/run/7": (
            "ebay: did not finish (shutdown); looks dead: 3 nights without a healthy run; "
            "nothing marked gone"
        ),
    }
    assert found.columns.tolist() == list(A.ALERT_COLUMNS)


def test_a_run_without_a_recorded_verdict_is_never_judged_here(caplog, tmp_path):
    table = runs(
        {"id": 4, "source": "craigslist", "as_of": NIGHT_RUN, "status": "blocked", "healthy": 0},
        {"id": 5, "source": "beforward", "as_of": NIGHT_RUN, "status": "failed", "healthy": 0},
    )
    health = verdicts(
        tmp_path, RunHealth(5, "beforward", "2026-11-25", "failed", ("did not finish",))
    )
    with caplog.at_level(logging.WARNING, logger="analysis.alerts"):
        found = A.unhealthy_sources(table, health, as_of=NIGHT)
    assert found["identity"].tolist() == ["beforward/run/5"]
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1
    assert warned[0].startswith("craigslist: no recorded health verdict for run 4")


def test_failing_nights_are_counted_in_the_reason():
    text = A.verdict_text(
        {"status": "unhealthy", "reasons": "[]", "state": "failing", "failed_nights": 2}, 0
    )
    assert text == "unhealthy; 2 nights in a row without a healthy run; nothing marked gone"


def test_old_and_running_runs_are_not_tonights_problem(tmp_path):
    table = runs(
        {"id": 1, "source": "craigslist", "as_of": "2026-11-20T06:00:00+00:00", "healthy": 0},
        {"id": 2, "source": "beforward", "as_of": NIGHT_RUN, "healthy": 0, "status": "running"},
    )
    health = verdicts(
        tmp_path, RunHealth(1, "craigslist", "2026-11-20", "failed", ("did not finish",))
    )
    assert A.night_runs(table, NIGHT).empty
    assert A.unhealthy_sources(table, health, as_of=NIGHT).empty


def test_no_health_table_reads_as_no_verdicts(tmp_path):
    path = tmp_path / "empty.db"
    Database(path)["runs"].insert({"id": 1})
    assert read_source_health(path, [1]).empty
    assert read_source_health(path, []).columns.tolist() == list(HEALTH_COLUMNS)


# -- configuration ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alerts", "message"),
    [
        ({"daily_cap": -1}, r"daily_cap: must be >= 0, not -1"),
        ({"underpriced_pct": "15%"}, "underpriced_pct: must be a number"),
        ({"watch": {"name": "x"}}, "watch: must be a list"),
        ({"watch": [{"name": "x", "max_milage": 5}]}, "max_milage: unknown key.*'max_miles'"),
        ({"watch": [{"name": "x", "max_price": "9k"}]}, "max_price: must be a number"),
        ({"watch": [{"name": "x", "max_distance_mi": 50}]}, "needs postal_code or near"),
        ({"watch": [{"name": "x", "rules": ["teleport"]}]}, "'teleport'.* is not one of"),
        ({"watch": [{"name": "x"}, {"name": "x"}]}, "names must be unique"),
        ({"watch": [{"name": "x", "near": [1]}]}, "near: has too few items"),
    ],
)
def test_bad_alert_settings_are_one_line_errors(alerts, message):
    with pytest.raises(A.AlertsConfigError, match=message):
        A.alert_settings({"alerts": alerts})


def test_notify_urls_from_config_and_environment():
    config = {"notify": {"urls": ["json://a.example/x"]}}
    env = {"KEITRUCKS_NOTIFY_URLS": "ntfy://topic1, json://a.example/x  mailto://u:p@b.example"}
    assert A.notify_urls(config, env) == [
        "json://a.example/x",
        "ntfy://topic1",
        "mailto://u:p@b.example",
    ]
    assert A.notify_urls({}, {}) == []


def test_channel_names_and_errors_never_show_the_secret():
    token = "s3cr3tT0ken"
    channels = A.build_channels([f"json://hooks.invalid/hook/{token}"])
    assert channels[0].name.startswith("json#")
    assert token not in channels[0].name
    assert token not in repr(channels[0])
    with pytest.raises(A.AlertsConfigError) as error:
        A.build_channels([f"nosuchscheme://{token}@host/x"])
    assert token not in str(error.value)
    assert "nosuchscheme://" in str(error.value)


def test_apprise_log_records_are_redacted(caplog):
    token = "tok-9f8e7d6c"
    secrets = A.secret_parts(f"json://h.example/{token}")
    with caplog.at_level(logging.DEBUG, logger="apprise"), _apprise_guard(secrets):
        logging.getLogger("apprise").warning("POST to http://h.example/%s failed", token)
    assert caplog.records
    assert all(token not in r.getMessage() for r in caplog.records)
    assert "***" in caplog.records[-1].getMessage()


# -- messages -----------------------------------------------------------------------------------


def test_message_shows_the_facts_and_escapes_scraped_text():
    alert = {
        "kind": "underpriced_4wd",
        "identity": "c:1",
        "source": "craigslist",
        "listing_id": "1",
        "price_usd": 4100,
        "reason": "47% under 5 comparable 4WD Honda Acty trucks",
        "title": "<script>alert(1)</script> **cheap** [click](javascript:x)",
        "year": 1995,
        "model": "Honda Acty",
        "model_code": "HA4",
        "is_4wd": True,
        "mileage_mi": 38900,
        "location": "Nashville, TN",
        "url": "https://nashville.craigslist.org/cto/d/1.html",
    }
    text = A.format_alert(alert)
    assert "$4,100 · 1995 Honda Acty HA4 · 4WD · 38,900 mi · Nashville, TN · Craigslist" in text
    # a source by its name, never its id ("dealer_jsonld" was written "dealer\_jsonld")
    for source, name in (("dealer_jsonld", "US dealer sites"), ("manual", "Tracked by hand")):
        assert A.format_alert({**alert, "source": source}).split("\n")[1].endswith(f" · {name}")
    assert "Why: 47% under 5 comparable 4WD Honda Acty trucks" in text
    assert "<https://nashville.craigslist.org/cto/d/1.html>" in text
    assert "<script>" not in text
    assert "&lt;script&gt;" in text
    assert "**cheap**" not in text
    assert "[click](" not in text
    unsafe = A.format_alert({**alert, "url": "javascript:alert(1)"})
    assert "javascript:alert" not in unsafe
    labelled = A.format_alert({**alert, "price_label": "Japan FOB", "price_usd": 2600})
    assert "  Japan FOB $2,600 · 1995 Honda Acty HA4 · " in labelled


def test_the_notification_title_and_console_line_say_what_the_price_is():
    alert = {
        "kind": "underpriced_4wd",
        "identity": "beforward:1",
        "source": "beforward",
        "listing_id": "CH1",
        "price_usd": 2530,
        "price_label": "Japan FOB",
        "reason": "landed in the US ≈ $5,945 (Japan FOB $2,530) vs fair US asking $7,800",
    }
    title, _ = A.render_message([alert], day=NIGHT)
    assert title == "Kei truck alert: Underpriced 4WD, Japan FOB $2,530"
    assert echo_line(alert).startswith("underpriced_4wd  beforward:CH1 Japan FOB $2,530: landed")
    unlabelled = {**alert, "price_label": None}
    assert A.render_message([unlabelled], day=NIGHT)[0].endswith("Underpriced 4WD, $2,530")


def test_candidate_alerts_say_what_their_price_is():
    state = exporters(exporter("fob"), listing("us", price_usd=4000))
    found = A.new_matches(state, settings=settings(watch=[{"name": "all", "model": "acty"}]))
    labels = dict(zip(found["listing_id"], found["price_label"], strict=True))
    assert labels == {"fob": "Japan FOB", "us": "US asking"}


def test_digest_groups_by_rule_in_priority_order():
    alerts = [
        {
            "kind": "new_match",
            "identity": "a",
            "source": "craigslist",
            "listing_id": "1",
            "price_usd": 9000,
            "reason": "matches your search 'w'",
            "title": "Acty",
        },
        {
            "kind": "source_unhealthy",
            "identity": "cl/run/1",
            "source": "craigslist",
            "listing_id": None,
            "price_usd": None,
            "reason": "craigslist: blocked",
        },
    ]
    text = A.render_digest(alerts, day=NIGHT)
    assert text.startswith("# Kei truck alerts, 2026-11-25\n")
    assert text.index("## Source unhealthy (1)") < text.index("## New match (1)")
    assert A.render_digest([], day=NIGHT).endswith("No new alerts tonight.\n")


#: Junk listed beside good trucks at steal prices: none may be alerted, with real deal scores.
JUNK = {
    "parts": {"kind": "parts"},
    "clone": {"kind": "other_vehicle"},
    "toy": {"kind": "toy"},
    "dead": {"runs": False},
    "salvage": {"title_status": "salvage"},
    "off-road": {"title_status": "offroad_only"},
    "pending": {"sale_pending": True},
    "misdated": {"year": None},
    "no-model": {"model": None, "model_code": None},
}


def test_junk_beside_good_trucks_is_never_alerted_and_the_good_steal_still_is():
    good = [listing(f"good{n}", price_usd=8000 + 200 * n, eligible_25y=True) for n in range(4)]
    steal = listing("steal", price_usd=5200, eligible_25y=True, runs=True, title_status="clean")
    junk = [
        listing(name, price_usd=3000, eligible_25y=True, **change) for name, change in JUNK.items()
    ]
    state = frame(*good, steal, *junk).assign(last_seen_at=pd.Timestamp("2026-11-25T06:00:00Z"))
    deals = score_deals(state, as_of=NIGHT, config=CONFIG)
    found = A.underpriced_4wd(state, deals, settings=settings(), band_low=5000)
    assert found["listing_id"].tolist() == ["steal"]
    assert found.iloc[0]["reason"].startswith("runs: yes, title: clean, 40k mi, 4WD, ")
    assert "(4 comparables, middle half $8,150-8,450)" in found.iloc[0]["reason"]

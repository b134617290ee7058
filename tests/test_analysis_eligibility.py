"""25-year eligibility as of a date: eligible now, the watch list by month, boundary months."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.eligibility import (
    ELIGIBILITY_COLUMNS,
    derive_eligible_from,
    eligibility_status,
    eligibility_upcoming,
    upcoming_counts,
)


@pytest.mark.parametrize(
    ("eligible_from", "as_of", "status"),
    [
        ("2026-10", "2026-11-24", "now"),
        # the boundary month: it turns 25 some day this month, so it is not counted as eligible yet
        ("2026-11", "2026-11-01", "2026-11"),
        ("2026-11", "2026-11-30", "2026-11"),
        ("2026-11", "2026-12-01", "now"),
        ("2027-03", "2026-11-24", "2027-03"),
        (None, "2026-11-24", None),
    ],
)
def test_eligibility_status(eligible_from, as_of, status):
    assert eligibility_status(eligible_from, as_of) == status


@pytest.mark.parametrize(
    ("year", "month", "expected"),
    [
        (2001, 11, ("2026-11", "build_month")),
        (2001, None, ("2026-12", "model_year_assumed_december")),
        (None, 5, (None, None)),
    ],
)
def test_derive_eligible_from(year, month, expected):
    assert derive_eligible_from(year, month) == expected


def vehicle(listing_id, **kw) -> dict:
    row = {
        "source": "beforward",
        "listing_id": listing_id,
        "kind": "kei_truck",
        "status": "active",
        "year": None,
        "build_month": None,
        "eligible_from": None,
        "eligibility_basis": None,
        "price_usd": 3000,
        "price_basis": "fob",
    }
    row.update(kw)
    return row


def test_watch_list_by_month_with_the_boundary_month_and_the_horizon():
    listings = pd.DataFrame(
        [
            vehicle("old", eligible_from="1996-04", year=1971),
            vehicle("this-month", eligible_from="2026-11", eligibility_basis="build_month"),
            vehicle("next-year", eligible_from="2027-11"),
            vehicle("too-far", eligible_from="2027-12"),
            vehicle("derived", year=2002, build_month=2),
            vehicle("van", kind="kei_van", eligible_from="2027-01"),
            vehicle("sold", status="sold", eligible_from="2027-01"),
            vehicle("parts", kind="parts", eligible_from="2027-01"),
            vehicle(
                "in-the-us", source="craigslist", price_basis="asking", eligible_from="2027-01"
            ),
            vehicle("unknown"),
        ]
    )
    out = eligibility_upcoming(listings, as_of="2026-11-24")
    assert list(out.columns) == list(ELIGIBILITY_COLUMNS)
    assert list(zip(out["month"], out["listing_id"], strict=True)) == [
        ("now", "old"),
        ("2026-11", "this-month"),
        ("2027-01", "van"),
        ("2027-02", "derived"),
        ("2027-11", "next-year"),
    ]
    assert out.set_index("listing_id").loc["derived", "eligibility_basis"] == "build_month"
    counts = upcoming_counts(out, as_of="2026-11-24").set_index("month")["listings"]
    assert counts["now"] == 1
    assert counts["2026-11"] == 1
    assert counts["2027-06"] == 0
    assert list(counts.index[-1:]) == ["2027-11"]


def test_next_month_the_boundary_truck_is_eligible_now():
    listings = pd.DataFrame([vehicle("this-month", eligible_from="2026-11")])
    out = eligibility_upcoming(listings, as_of="2026-12-01")
    assert out["month"].tolist() == ["now"]

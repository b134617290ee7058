"""US 25-year import eligibility as of a date: eligible now, and the importers' watch list.

A vehicle may be imported into the US without FMVSS conformance once it is 25 years old, to
the month of manufacture. ``eligible_from`` ("YYYY-MM", the month it turns 25) comes from
normalization; when it is missing but the year is known it is derived here, conservatively:
the build month when known, else December of the model year. Within its ``eligible_from``
month a truck may not be 25 yet (the day is unknown), so it is listed as becoming eligible that
month and counted eligible from the first day of the next month.
"""

from __future__ import annotations

import pandas as pd

from analysis.load import as_of_date

#: The columns of eligibility_upcoming.csv, in order.
ELIGIBILITY_COLUMNS = (
    "month",
    "source",
    "listing_id",
    "truck_id",
    "title",
    "kind",
    "model",
    "model_code",
    "year",
    "build_month",
    "eligible_from",
    "eligibility_basis",
    "price_usd",
    "price_basis",
    "location_raw",
    "url",
)
NOW = "now"
#: The vehicles importers watch.
KINDS = ("kei_truck", "kei_van")
#: Price bases of trucks still in Japan (exporter stock): the watch list is about importing
#: them; a truck already in the US is not "eligible for import".
IN_JAPAN_BASES = ("fob", "cnf", "cif")


def derive_eligible_from(year, build_month) -> tuple[str | None, str | None]:
    """(eligible_from, basis) from a year and optional build month; (None, None) if unknown."""
    if year is None or pd.isna(year):
        return None, None
    if build_month is not None and not pd.isna(build_month) and 1 <= int(build_month) <= 12:
        return f"{int(year) + 25:04d}-{int(build_month):02d}", "build_month"
    return f"{int(year) + 25:04d}-12", "model_year_assumed_december"


def month_index(month: str) -> int:
    """ "2026-11" -> a month number (year * 12 + month - 1), for comparisons."""
    year, mon = month.split("-")[:2]
    return int(year) * 12 + int(mon) - 1


def month_label(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def eligibility_status(eligible_from: str | None, as_of) -> str | None:
    """ "now" when eligible on ``as_of``, the "YYYY-MM" month it becomes eligible otherwise,
    None when unknown."""
    if not eligible_from or pd.isna(eligible_from):
        return None
    day = as_of_date(as_of)
    if month_index(eligible_from) < day.year * 12 + day.month - 1:
        return NOW
    return eligible_from[:7]


def eligibility_upcoming(listings: pd.DataFrame, *, as_of, months: int = 12) -> pd.DataFrame:
    """The rows of eligibility_upcoming.csv (``ELIGIBILITY_COLUMNS``): active kei trucks and
    vans for sale in Japan (exporter prices) eligible now (``month`` = "now") and those
    becoming eligible from the as-of month to ``months`` months after it (``month`` =
    "YYYY-MM"), soonest first."""
    day = as_of_date(as_of)
    current = day.year * 12 + day.month - 1
    in_japan = listings["price_basis"].isin(IN_JAPAN_BASES)
    read = dict.fromkeys([*ELIGIBILITY_COLUMNS, "eligibility_basis", "build_month"])
    active = listings.loc[
        ((listings["status"] == "active") & listings["kind"].isin(KINDS) & in_japan).fillna(False),
        [c for c in read if c in listings.columns],  # not every listing column: only these
    ].copy()
    if active.empty:
        return pd.DataFrame({c: pd.Series([], dtype="object") for c in ELIGIBILITY_COLUMNS})
    none = pd.Series(None, index=active.index, dtype="object")
    rows = zip(
        active.get("eligible_from", none),
        active.get("eligibility_basis", none),
        active["year"],
        active.get("build_month", none),
        strict=True,
    )
    # each worked out once per distinct value (many trucks share a year and month)
    keys = list(rows)
    pair_of = {key: _eligible_from(*key) for key in set(keys)}
    pairs = [pair_of[key] for key in keys]
    froms = [f for f, _ in pairs]
    active["eligible_from"] = froms
    active["eligibility_basis"] = [b for _, b in pairs]
    month_of = {f: eligibility_status(f, day) for f in set(froms)}
    months_of = [month_of[f] for f in froms]
    order_of = {
        m: None if m is None else (-1 if m == NOW else month_index(m)) for m in month_of.values()
    }
    order = [order_of[m] for m in months_of]
    active["month"] = months_of
    active["_o"] = order
    out = active.loc[active["_o"].notna() & (active["_o"] <= current + months)]
    for col in ELIGIBILITY_COLUMNS:
        if col not in out.columns:
            out = out.assign(**{col: None})
    return (
        out.sort_values(["_o", "eligible_from", "source", "listing_id"], kind="stable")
        .loc[:, list(ELIGIBILITY_COLUMNS)]
        .reset_index(drop=True)
    )


def _eligible_from(given, basis, year, build_month) -> tuple[str | None, str | None]:
    """(eligible_from, basis): the stored month when there is one, else derived."""
    if isinstance(given, str) and given:
        return given[:7], basis if isinstance(basis, str) else None
    return derive_eligible_from(year, build_month)


def upcoming_counts(upcoming: pd.DataFrame, *, as_of, months: int = 12) -> pd.DataFrame:
    """Count per month of the watch list (every month listed, zeros included) and "now"."""
    day = as_of_date(as_of)
    current = day.year * 12 + day.month - 1
    labels = [NOW] + [month_label(current + i) for i in range(months + 1)]
    counts = upcoming["month"].value_counts()
    return pd.DataFrame({"month": labels, "listings": [int(counts.get(m, 0)) for m in labels]})

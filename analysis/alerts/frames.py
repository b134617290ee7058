"""Small helpers over the listing DataFrames the rules read, and the shape of an alert.

Every rule returns candidate alerts with ``ALERT_COLUMNS`` (one per truck identity), built by
``candidates`` from listing rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

ALERT_COLUMNS = (
    "kind",
    "identity",
    "source",
    "listing_id",
    "price_usd",
    "reason",
    "rank",
    "title",
    "year",
    "model",
    "model_code",
    "is_4wd",
    "mileage_mi",
    "location",
    "url",
)


# -- helpers over DataFrames --------------------------------------------------------------------


def column(df: pd.DataFrame, name: str) -> pd.Series:
    if name in df.columns:
        return df[name]
    return pd.Series(pd.NA, index=df.index, dtype="object")


def flag(series: pd.Series) -> pd.Series:
    """A plain bool Series: True only where ``series`` is True (NA counts as False)."""
    return series.fillna(False).astype(bool)


def num(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce").astype("Float64")


def identity_of(df: pd.DataFrame) -> pd.Series:
    key = df["source"].astype(str) + ":" + df["listing_id"].astype(str)
    return column(df, "identity").astype("object").where(column(df, "identity").notna(), key)


def usd(value: Any) -> str:
    return f"${int(value):,}"


def empty_alerts() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype="object") for c in ALERT_COLUMNS})


def candidates(rows: pd.DataFrame, kind: str, reasons: Sequence[str], ranks) -> pd.DataFrame:
    """Alerts of one rule from listing rows: one per identity, the best (then cheapest) kept."""
    if rows.empty:
        return empty_alerts()
    out = pd.DataFrame(
        {
            "kind": kind,
            "identity": identity_of(rows),
            "source": rows["source"].astype(str),
            "listing_id": rows["listing_id"].astype(str),
            "price_usd": num(rows["price_usd"]).round().astype("Int64"),
            "reason": list(reasons),
            "rank": np.asarray(ranks, dtype="float64"),
            "title": column(rows, "title"),
            "year": column(rows, "year"),
            "model": column(rows, "model"),
            "model_code": column(rows, "model_code"),
            "is_4wd": column(rows, "is_4wd"),
            "mileage_mi": column(rows, "mileage_mi"),
            "location": column(rows, "location_raw"),
            "url": column(rows, "url"),
        },
        index=rows.index,
    )
    return (
        out.sort_values(
            ["rank", "price_usd", "identity"],
            ascending=[False, True, True],
            na_position="last",
            kind="stable",
        )
        .drop_duplicates(["kind", "identity"], keep="first")
        .reset_index(drop=True)
    )


def for_sale(state: pd.DataFrame) -> pd.Series:
    return flag(column(state, "status").eq("active")) & flag(column(state, "kind").eq("kei_truck"))


def present(value: Any) -> bool:
    return (
        value is not None
        and not (isinstance(value, float) and math.isnan(value))
        and value is not pd.NA
    )

"""The shape of an alert, and how the rules make candidate alerts from listing rows.

Every rule returns candidate alerts with ``ALERT_COLUMNS`` (one per truck identity), built by
``candidates`` from listing rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from analysis.frames import column, flag, identity_of, num
from pipelines.schema import PRICE_LABELS

ALERT_COLUMNS = (
    "kind",
    "identity",
    "source",
    "listing_id",
    "price_usd",
    #: what price_usd is, in words ("US asking", "Japan FOB" ...).
    "price_label",
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

#: The order of candidates: (columns, ascending): highest rank, then cheapest, then identity.
BEST_FIRST = (["rank", "price_usd", "identity"], [False, True, True])


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
            "price_label": column(rows, "price_basis").map(PRICE_LABELS).astype("object"),
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
    return best_per_identity(out)


def best_per_identity(alerts: pd.DataFrame) -> pd.DataFrame:
    """One alert per (kind, identity), the best kept: ``BEST_FIRST`` order, index reset."""
    by, ascending = BEST_FIRST
    return (
        alerts.sort_values(by, ascending=ascending, na_position="last", kind="stable")
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

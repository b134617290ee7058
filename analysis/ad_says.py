"""What an ad says of a truck's state (runs, title, odometer), in the words a buyer reads in
the alerts and in the report's deals: an unknown one says "not stated", so the buyer asks."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd


def present(value: Any) -> bool:
    """False for a missing value (None, NaN, <NA>)."""
    return (
        value is not None
        and not (isinstance(value, float) and math.isnan(value))
        and value is not pd.NA
    )


def miles_words(value: Any) -> str:
    """An odometer reading in miles, e.g. "41k mi", "600 mi"."""
    miles = int(value)
    return f"{miles:,} mi" if miles < 1000 else f"{round(miles / 1000):,}k mi"


def condition_words(row: Mapping[str, Any]) -> list[str]:
    """E.g. ["runs: yes", "title: clean", "41k mi"] from a row's runs, title_status and
    mileage_mi; ["runs: not stated", "title: not stated", "mileage: not stated"] when unknown."""
    runs = row.get("runs")
    title = row.get("title_status")
    miles = row.get("mileage_mi")
    return [
        "runs: " + ({True: "yes", False: "no"}[bool(runs)] if present(runs) else "not stated"),
        "title: " + (str(title).replace("_", " ") if present(title) else "not stated"),
        miles_words(miles) if present(miles) else "mileage: not stated",
    ]

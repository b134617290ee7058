"""The US 25-year import rule: whether a truck is eligible as of the night it was seen."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import NamedTuple

from keitrucks.core import tables


class Eligibility(NamedTuple):
    eligible_25y: bool | None
    eligible_from: str | None
    basis: str | None


_NO_ELIGIBILITY = Eligibility(None, None, None)
#: The basis of a year known only as the model year.
MODEL_YEAR = "model_year"


@lru_cache(maxsize=4096)
def normalize_eligibility(
    year: int | None, month: int | None, basis: str | None, as_of: dt.datetime | None
) -> Eligibility:
    """The US 25-year rule as of the UTC month of ``as_of``. With a month: eligible when
    (year + 25, month) <= (as-of year, month), and ``eligible_from`` is that month. With a year
    only: True when year + 25 < as-of year, False when greater, None in the boundary year; a
    model year (a year and nothing more) has ``eligible_from`` December of year + 25, the latest
    month the truck can turn 25, which the report's watch list uses too."""
    if year is None or as_of is None:
        return _NO_ELIGIBILITY
    due = year + 25
    if month:
        eligible = (due, month) <= (as_of.year, as_of.month)
        return Eligibility(eligible, f"{due:04d}-{month:02d}", basis)
    latest = f"{due:04d}-12" if basis == MODEL_YEAR else None
    if due == as_of.year:
        return Eligibility(None, latest, basis)
    return Eligibility(due < as_of.year, latest, basis)


def eligibility_from_code(code: str | None, as_of: dt.datetime | None) -> Eligibility:
    """Eligibility from a chassis code's production window when the year is unknown: True when
    the whole window is 25+ years old, False when it began less than 25 years ago."""
    info = tables.model_codes().get(code or "")
    if info is None or not info.window_trusted or as_of is None:
        return _NO_ELIGIBILITY
    now = (as_of.year, as_of.month)
    if info.end and (info.end[0] + 25, info.end[1]) <= now:
        return Eligibility(True, None, "model_code_window")
    if (info.start[0] + 25, info.start[1]) > now:
        return Eligibility(False, None, "model_code_window")
    return _NO_ELIGIBILITY

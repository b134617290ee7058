"""The crawl's notion of "now": an as-of time, ISO 8601 in UTC.

Every command's ``--as-of`` is read here (``normalize_as_of``), with one wording of the error.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, date, datetime, timedelta

#: What an as-of value may be, in the words of every error about one.
AS_OF_FORMS = "YYYY-MM-DD, an ISO 8601 time (2026-11-24T06:00:00Z), today or yesterday"
#: Days back from today of the words an as-of value may be.
RELATIVE_DAYS = {"today": 0, "yesterday": 1}
#: The time of day a bare date stands for (the nightly crawl's hour, UTC).
BARE_DATE_TIME = "T06:00:00+00:00"


def utc_iso(dt: datetime) -> str:
    return dt.astimezone(UTC).replace(microsecond=0).isoformat()


def as_of_error(value: object) -> str:
    """The one wording of a bad as-of value."""
    return f"{value!r} is not a date (use {AS_OF_FORMS})"


def normalize_as_of(value: str, *, today: date | None = None) -> str:
    """ISO 8601 UTC from "2026-11-24", "2026-11-24T06:00:00Z", "today" or "yesterday".

    A bare date (in any ISO form: "20261124" too) and a word mean 06:00 UTC of that day.
    Raises ValueError worded by ``as_of_error`` for anything else.
    """
    text = str(value).strip()
    word = text.lower()
    if word in RELATIVE_DAYS:
        day = (today or datetime.now(UTC).date()) - timedelta(days=RELATIVE_DAYS[word])
        text = day.isoformat()
    # a bare date in any ISO 8601 form (2026-11-24, 20261124, 2026-W48-2): the night's hour
    with suppress(ValueError):
        text = date.fromisoformat(text).isoformat() + BARE_DATE_TIME
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(as_of_error(value)) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return utc_iso(dt)


def now_iso() -> str:
    return utc_iso(datetime.now(UTC))

"""The crawl's notion of "now": an as-of time, ISO 8601 in UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_iso(dt: datetime) -> str:
    return dt.astimezone(UTC).replace(microsecond=0).isoformat()


def normalize_as_of(value: str) -> str:
    """ISO 8601 UTC from "2026-11-24" or "2026-11-24T06:00:00Z"; a bare date means 06:00 UTC.

    Raises ValueError with the bad value for anything else.
    """
    text = value.strip()
    if len(text) == 10:
        text += "T06:00:00+00:00"
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not a date or ISO 8601 time: {value!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return utc_iso(dt)


def now_iso() -> str:
    return utc_iso(datetime.now(UTC))

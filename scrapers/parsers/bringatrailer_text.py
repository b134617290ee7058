"""Bring a Trailer's wording: auction outcomes ("Sold for USD $X on M/D/YY"), title facts
("15k-Mile 1995 Daihatsu HiJet Pickup 4WD 5-Speed") and the JavaScript objects its pages embed.

Pure text helpers shared by the page parsers in ``scrapers/parsers/bringatrailer.py``.
"""

from __future__ import annotations

import html
import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import chompjs

logger = logging.getLogger(__name__)

_RESULT = re.compile(
    r"(?P<word>Sold for|Bid to|Current Bid:?)\s*(?P<amount>(?:[A-Z]{3}\s*)?[^\d\s]*\s*[\d,.]+)"
    r"(?:.*?\bon\s+(?P<date>\d{1,2}/\d{1,2}/\d{2,4}))?",
    re.I | re.S,
)


_BASIS = {
    "sold for": ("sold", "sold"),
    "bid to": ("bid_to", "ended"),
    "current bid": ("bid", "live"),
}


WITHDRAWN = re.compile(r"\s*withdrawn\b", re.I)


_CURRENCY = re.compile(r"^\s*([A-Z]{3})\b")


_TITLE_YEAR = re.compile(r"\b(19[0-9]{2}|20[0-9]{2})\b")


_TITLE_MILES = re.compile(r"^\s*([\d,.]+k?)-(Mile|Kilometer)\b", re.I)


#: Transmission and drive as BaT titles word them: "1995 Daihatsu HiJet Pickup 4WD 5-Speed".
TITLE_TRANSMISSION = re.compile(
    r"\b(\d-Speed(?:\s+(?:Manual|Automatic|Dual-Clutch))?|Automatic|Manual|PDK|Tiptronic|CVT)\b",
    re.I,
)


TITLE_DRIVE = re.compile(r"\b(4WD|AWD|2WD|RWD|FWD|4x4|4x2)\b", re.I)


_TAGS = re.compile(r"<[^>]+>")


_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Result:
    """An auction outcome as BaT words it: "Sold for USD $X on M/D/YY", "Bid to ...", ..."""

    price_basis: str
    status_raw: str
    amount: str
    date: str | None


def clean_text(value: Any) -> str | None:
    """Text without tags or entities, whitespace collapsed; None when empty."""
    if value is None:
        return None
    text = _SPACE.sub(" ", html.unescape(_TAGS.sub(" ", str(value)))).strip()
    return text or None


def parse_result_text(text: str | None) -> Result | None:
    """The outcome in a ``sold_text`` / ``.listing-available-info`` text, None if not worded so."""
    cleaned = clean_text(text)
    match = _RESULT.search(cleaned) if cleaned else None
    if not match:
        return None
    basis, status = _BASIS[match["word"].lower().rstrip(":")]
    return Result(basis, status, _SPACE.sub(" ", match["amount"]).strip(), match["date"])


def currency_of(amount: str | None) -> str | None:
    """The ISO code an amount opens with: "USD" from "USD $4,444"."""
    match = _CURRENCY.match(amount or "")
    return match[1] if match else None


def ended_at(timestamp: Any) -> str | None:
    """ISO 8601 UTC of a unix time stamp (int or digits), None when absent or not a number."""
    try:
        seconds = int(str(timestamp).strip())
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def extract_js_object(text: str, var_name: str) -> dict | None:
    """The object literal assigned by ``var <var_name> = {...}``, decoded from its first ``{``.

    The statement ends with ``;`` and a CDATA comment, so only a raw decoder (which stops at the
    end of the object) reads it reliably.
    """
    match = re.search(rf"\bvar\s+{re.escape(var_name)}\s*=\s*", text)
    if not match:
        return None
    start = text.find("{", match.end())
    if start < 0:
        return None
    try:
        value, _ = json.JSONDecoder().raw_decode(text, start)
    except json.JSONDecodeError:
        value = _js_object(text, start, var_name)
    return value if isinstance(value, dict) else None


def _js_object(text: str, start: int, var_name: str) -> Any:
    """A JavaScript object literal that is not strict JSON (unquoted keys, single quotes)."""
    try:
        return chompjs.parse_js_object(text[start:])
    except ValueError:
        logger.warning("%s is neither JSON nor a JavaScript object", var_name)
        return None


def int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def title_year(title: str | None) -> str | None:
    """The model year in a title, after any mileage prefix ("2000-Mile 1995 ..." -> "1995")."""
    match = _TITLE_YEAR.search(_TITLE_MILES.sub("", title or "", count=1))
    return match[1] if match else None


def title_mileage(title: str | None) -> str | None:
    """BaT titles often open with the mileage: "15k-Mile 2018 ..." -> "15k-Mile"."""
    match = _TITLE_MILES.match(title or "")
    return match[0].strip() if match else None


def title_match(pattern: re.Pattern, title: str | None) -> str | None:
    """The first wording of ``pattern`` in a title, as written ("5-Speed", "4WD")."""
    match = pattern.search(title or "")
    return match[1] if match else None


def end_attributes(timestamp: Any, iso_key: str) -> dict[str, str]:
    """``timestamp_end`` verbatim plus its ISO 8601 UTC form under ``iso_key``."""
    if timestamp in (None, "") or ended_at(timestamp) is None:
        return {}
    return {"timestamp_end": str(timestamp).strip(), iso_key: ended_at(timestamp)}


def float_or_none(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None

"""Craigslist helpers shared by its parsers: cleaning, the seller a category names, the removal
of phone numbers and e-mail addresses from what sellers write, the raw fields the attributes fill,
and the small readers of JSON values (numbers, times, nested keys).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from parsel import Selector

from scrapers.parsers import nodes

#: "by owner" / "by dealer" categories (``categoryAbbr``) whose seller type is certain.
CATEGORY_SELLER = {
    "cto": "owner",
    "ctd": "dealer",
    "fuo": "owner",
    "fud": "dealer",
    "mco": "owner",
    "mcd": "dealer",
    "hvo": "owner",
    "hvd": "dealer",
}


#: Raw fields and the attribute names that fill them, first found wins: the ``div.attr`` class
#: (or ``span.valu`` class in the important group), the detail API's key, the printed label.
_RAW_ATTRIBUTES = {
    "year_raw": ("year", "auto_year", "model year"),
    "make_model_raw": ("makemodel", "auto_make_model", "make / model"),
    "drive_raw": ("auto_drivetrain", "drive"),
    "transmission_raw": ("auto_transmission", "transmission"),
    "mileage_raw": ("auto_miles", "odometer"),
}
#: Attribute labels that are contact details, never kept.
CONTACT_LABELS = {"contact", "phone", "email", "e-mail"}

_CATEGORY_IN_URL = re.compile(r"/(cto|ctd)/")


_WORD_DIGIT = r"(?:zero|one|two|three|four|five|six|seven|eight|nine)"


# Sellers spell digits out ("453five") to dodge filters; spelled digits may be spaced.
_DIGIT = rf"(?:\d|{_WORD_DIGIT}(?:[ -](?={_WORD_DIGIT}|\d))?)"


_PHONE = re.compile(
    rf"(?:\+?1[\s.-]*)?\(?{_DIGIT}{{3}}\)?[\s.-]*{_DIGIT}{{3}}[\s.-]*{_DIGIT}{{4}}"
    r"|\b\d{3}[.-]\d{4}\b",
    re.I,
)


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def scrub_contacts(text: str | None) -> str | None:
    """``text`` without phone numbers and e-mail addresses (also "453five"-style spellings)."""
    if text is None:
        return None
    text = _EMAIL.sub("[email removed]", text)
    return _PHONE.sub("[phone removed]", text)


def clean(text: str | None) -> str | None:
    if text is None:
        return None
    text = " ".join(text.split())
    return text or None


def text(selection) -> str | None:
    """All text under an element or Selector, or under each of a list of them, cleaned (lxml
    itertext: no XPath call)."""
    if isinstance(selection, (Selector, nodes.Node, str)):
        selection = [selection]
    parts: list[str] = []
    for node in selection:
        root = node.root if isinstance(node, Selector) else node
        if isinstance(root, str):
            parts.append(root)
        else:
            parts.extend(root.itertext())
    return clean(" ".join(parts))


def category_of_url(url: str) -> str | None:
    """The by-owner / by-dealer category a result URL names ("cto" from ``.../cto/d/...``)."""
    match = _CATEGORY_IN_URL.search(url)
    return match.group(1) if match else None


def keep_attribute(
    labelled: dict[str, str], keyed: dict[str, str], name: str | None, key: str | None, value
) -> None:
    """Adds ``value`` under its ``name`` (and its ``key`` when it has one), unless it has no name
    or value or is a contact detail."""
    if not name or value is None or name.lower() in CONTACT_LABELS:
        return
    labelled[name] = value
    if key:
        keyed[key] = value


def raw_fields_from_attributes(
    labelled: dict[str, str], keyed: dict[str, str] | None = None
) -> dict[str, str | None]:
    """year_raw, make_model_raw, drive_raw, transmission_raw, mileage_raw from the attributes."""
    keyed = keyed or {}
    return {
        raw: next((v for n in names if (v := keyed.get(n) or labelled.get(n))), None)
        for raw, names in _RAW_ATTRIBUTES.items()
    }


def unix_iso(seconds: int | None) -> str | None:
    """Unix seconds -> ISO 8601 UTC; None for anything that is not an integer."""
    if not isinstance(seconds, int) or isinstance(seconds, bool):
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def as_int(value: Any) -> int | None:
    """``value`` when it is an integer (not a bool), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def as_float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def paragraphs(text: str) -> str | None:
    """Lines with their spaces collapsed, empty lines dropped; None when nothing is left."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return "\n".join(line for line in lines if line) or None

"""Craigslist text helpers shared by its parsers: cleaning, the seller a category names, and
the removal of phone numbers and e-mail addresses from what sellers write.
"""

from __future__ import annotations

import re

from parsel import Selector

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
    """All text under a Selector or SelectorList, cleaned (lxml itertext: no XPath call)."""
    selectors = [selection] if isinstance(selection, Selector) else selection
    parts: list[str] = []
    for sel in selectors:
        root = sel.root
        if isinstance(root, str):
            parts.append(root)
        else:
            parts.extend(root.itertext())
    return clean(" ".join(parts))


def category_of_url(url: str) -> str | None:
    """The by-owner / by-dealer category a result URL names ("cto" from ``.../cto/d/...``)."""
    match = _CATEGORY_IN_URL.search(url)
    return match.group(1) if match else None

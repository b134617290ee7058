"""eBay helpers shared by its parsers (Browse API, HTML search, item page): the answer types, the
readers of text, JSON values and item URLs, the raw fields the item specifics fill; and the facts
a listing shows outside its item specifics: the model year a title opens with, and the make and
model in eBay Motors' category path ("eBay Motors | Cars & Trucks | Honda | Acty").

Title and category facts fill ``year_raw`` and ``make_model_raw`` only where the listing left
them empty.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from parsel import Selector
from scrapy.http import TextResponse

from scrapers.items import Listing
from scrapers.parsers import nodes

SOURCE = "ebay"
WWW = "https://www.ebay.com"

#: Raw fields and the item-specifics names that fill them (eBay Motors names).
ASPECT_FIELDS = {
    "year_raw": "Year",
    "mileage_raw": "Mileage",
    "drive_raw": "Drive Type",
    "transmission_raw": "Transmission",
}
VIN_ASPECT = "VIN (Vehicle Identification Number)"
#: "For Sale By" item specific of Motors listings, and ``seller.sellerAccountType``.
SELLER_TYPES = {
    "dealer": "dealer",
    "private seller": "owner",
    "business": "dealer",
    "individual": "owner",
}

_ITEM_PATH = re.compile(r"/itm/(?:[^/?#]+/)?(\d+)")
SPACE = re.compile(r"\s+")

_LEADING_YEAR = re.compile(r"^\s*((?:19|20)\d{2})\b")
#: Categories whose children in eBay Motors' path are the make, then the model.
MAKE_PARENT_CATEGORIES = ("Cars & Trucks",)
NOT_A_MAKE = ("Other Makes", "Other")


def year_and_make(title: str | None, categories: str | None) -> dict[str, str]:
    """``year_raw`` from a title that opens with the model year ("1996 Suzuki Carry ..."), and
    ``make_model_raw`` from the category path under "Cars & Trucks" ("... | Honda | Acty")."""
    found = {}
    match = _LEADING_YEAR.match(title or "")
    if match:
        found["year_raw"] = match[1]
    path = [part.strip() for part in (categories or "").split("|")]
    for index, part in enumerate(path):
        if part in MAKE_PARENT_CATEGORIES:
            names = [name for name in path[index + 1 : index + 3] if name not in NOT_A_MAKE]
            if names:
                found["make_model_raw"] = " ".join(names)
    return found


def with_title_facts(listing: Listing) -> Listing:
    """The listing with the title's year and the category's make where its fields are empty."""
    found = year_and_make(listing.title, listing.attributes.get("categories"))
    missing = {name: value for name, value in found.items() if not getattr(listing, name)}
    return replace(listing, **missing) if missing else listing


class UnexpectedShapeError(ValueError):
    """The answer is not a layout this parser knows (a changed API answer or page template)."""


@dataclass
class SearchPage:
    listings: list[Listing]
    #: results the site reports for the whole search; None when the page does not say.
    total: int | None
    #: the next page as the site links it (absolute URL), None on the last page.
    next_url: str | None = None
    #: "api", "s-card", "s-item" or "empty" (an HTML page with no result cards).
    layout: str = "api"
    #: listings before a "Results matching fewer words" separator; None when there is none.
    exact_count: int | None = None
    #: the result-count heading as shown ("9,100+ results for kitchen accessories").
    count_text: str | None = None

    @property
    def exact_listings(self) -> list[Listing]:
        """The listings that match every word of the search."""
        if self.exact_count is None:
            return self.listings
        return self.listings[: self.exact_count]


def clean(text: Any) -> str | None:
    if text is None:
        return None
    text = SPACE.sub(" ", str(text)).strip()
    return text or None


def text(selection) -> str | None:
    """All text under an element or Selector, or under each of a list of them, cleaned."""
    if not isinstance(selection, list):  # a SelectorList is a list
        selection = [selection]
    return clean(" ".join(t for node in selection for t in nodes.element(node).itertext()))


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def item_url(listing_id: str, www: str = WWW) -> str:
    """The plain item page URL, ``https://www.ebay.com/itm/<id>``."""
    return f"{www}/itm/{listing_id}"


def item_id_from_url(url: str | None) -> str | None:
    match = _ITEM_PATH.search(urlsplit(url).path) if url else None
    return match.group(1) if match else None


def site(url: str | None) -> str:
    """``scheme://host`` of an eBay URL (ebay.com, ebay.co.uk ...), www.ebay.com if unknown."""
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else WWW


def load_json(response: TextResponse) -> Any:
    try:
        return json.loads(response.text)
    except ValueError as exc:
        raise UnexpectedShapeError(f"not JSON: {exc}") from None


def html_text(fragment: str | None) -> str | None:
    """A description's HTML as plain text, one line per block, without scripts and styles."""
    if not fragment or not isinstance(fragment, str):
        return None
    selector = Selector(text=f"<div>{fragment}</div>")
    blocks = selector.xpath(
        "//text()[not(ancestor::script) and not(ancestor::style)]"
        "|//br|//p|//div|//li|//tr|//h1|//h2|//h3|//h4"
    )
    parts: list[str] = []
    for node in blocks:
        if isinstance(node.root, str):
            parts.append(node.root)
        else:
            parts.append("\n")
    lines = [clean(line) for line in "".join(parts).splitlines()]
    return "\n".join(line for line in lines if line) or None


def images(*urls: Any) -> list[str]:
    out: list[str] = []
    for url in urls:
        if isinstance(url, str) and url.strip() and url.strip() not in out:
            out.append(url.strip())
    return out


def seller_type(aspects: dict[str, str], account_type: str | None = None) -> str | None:
    """ "dealer"/"owner" from the "For Sale By" item specific, else the seller's account type."""
    for word in (aspects.get("For Sale By"), account_type):
        found = SELLER_TYPES.get((word or "").strip().lower())
        if found:
            return found
    return None


def raw_fields_from_aspects(aspects: dict[str, str]) -> dict[str, str | None]:
    """Year, "Make Model", Mileage (miles on eBay Motors), Drive Type and Transmission."""
    out: dict[str, str | None] = {
        name: clean(aspects.get(label)) for name, label in ASPECT_FIELDS.items()
    }
    make_model = " ".join(v for v in (aspects.get("Make"), aspects.get("Model")) if v)
    out["make_model_raw"] = clean(make_model)
    return out

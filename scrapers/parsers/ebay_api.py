"""eBay's Browse API (``https://api.ebay.com/buy/browse/v1``): the OAuth token answer,
``item_summary/search`` (``itemSummaries`` plus ``total``/``next``/``limit``/``offset``) and
``getItem`` (``localizedAspects``, the description, ``itemEndDate`` and the availability).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from scrapy.http import TextResponse

from scrapers.items import Listing
from scrapers.parsers.common import dig as _dig
from scrapers.parsers.craigslist_text import scrub_contacts
from scrapers.parsers.ebay_facts import (
    SOURCE,
    SearchPage,
    UnexpectedShapeError,
    item_url,
    raw_fields_from_aspects,
    seller_type,
    with_title_facts,
)
from scrapers.parsers.ebay_facts import as_int as _int
from scrapers.parsers.ebay_facts import clean as _clean
from scrapers.parsers.ebay_facts import html_text as _html_text
from scrapers.parsers.ebay_facts import images as _images
from scrapers.parsers.ebay_facts import load_json as _json
from scrapers.parsers.ebay_facts import site as _site


@dataclass
class Token:
    access_token: str = field(repr=False)
    expires_in: int | None = None


def parse_token(response: TextResponse) -> Token:
    """The application token of a client-credentials answer. Never log it."""
    data = _json(response)
    token = data.get("access_token") if isinstance(data, dict) else None
    if not isinstance(token, str) or not token:
        raise UnexpectedShapeError("no access_token in the token answer")
    return Token(access_token=token, expires_in=_int(data.get("expires_in")))


def _api_location(location: Any) -> str | None:
    """``itemLocation`` as "city, state, postal code, country" (postal codes come masked)."""
    if not isinstance(location, dict):
        return None
    parts = [
        _clean(location.get(key)) for key in ("city", "stateOrProvince", "postalCode", "country")
    ]
    return ", ".join(p for p in parts if p) or None


def _api_price(item: dict) -> tuple[str | None, str | None, str | None]:
    """(price_raw, currency_raw, price_basis): the current bid of an auction with bids, else
    the price (the starting bid of an auction without bids)."""
    bids = _int(item.get("bidCount")) or 0
    current = item.get("currentBidPrice")
    if bids > 0 and isinstance(current, dict) and current.get("value") is not None:
        return str(current["value"]), current.get("currency"), "bid"
    for key in ("price", "currentBidPrice"):
        price = item.get(key)
        if isinstance(price, dict) and price.get("value") is not None:
            return str(price["value"]), price.get("currency"), "asking"
    return None, None, None


def _api_listing_id(item: dict) -> str | None:
    legacy = item.get("legacyItemId")
    if isinstance(legacy, str | int) and str(legacy).isdigit():
        return str(legacy)
    parts = str(item.get("itemId") or "").split("|")
    return parts[1] if len(parts) == 3 and parts[1].isdigit() else None


def _api_categories(item: dict) -> dict[str, str]:
    out = {}
    names = [
        c.get("categoryName")
        for c in item.get("categories") or []
        if isinstance(c, dict) and c.get("categoryName")
    ]
    if names:
        out["categories"] = " | ".join(names)
    if item.get("categoryPath"):
        out["categories"] = " | ".join(p.strip() for p in str(item["categoryPath"]).split("|"))
    leaf = item.get("leafCategoryIds") or ([item["categoryId"]] if item.get("categoryId") else [])
    if leaf:
        out["categoryId"] = ",".join(str(c) for c in leaf)
    return out


def _api_attributes(item: dict) -> dict[str, str]:
    """eBay's own field names for the facts that are not raw fields of their own."""
    attributes = {}
    if item.get("itemId"):
        attributes["itemId"] = str(item["itemId"])
    if item.get("condition"):
        attributes["condition"] = str(item["condition"])
    options = item.get("buyingOptions")
    if isinstance(options, list) and options:
        attributes["buyingOptions"] = ", ".join(str(o) for o in options)
    if _int(item.get("bidCount")) is not None:
        attributes["bidCount"] = str(item["bidCount"])
    for key in ("itemEndDate", "itemOriginDate"):
        if item.get(key):
            attributes[key] = str(item[key])
    attributes.update(_api_categories(item))
    return attributes


def _api_summary(item: Any, scraped_at: str | None) -> Listing | None:
    if not isinstance(item, dict):
        return None
    listing_id = _api_listing_id(item)
    if listing_id is None:
        return None
    price_raw, currency_raw, basis = _api_price(item)
    image = _dig(item, "image", "imageUrl")
    more = [_dig(i, "imageUrl") for i in item.get("additionalImages") or []]
    return Listing(
        source=SOURCE,
        listing_id=listing_id,
        url=item_url(listing_id, _site(item.get("itemWebUrl"))),
        scraped_at=scraped_at,
        title=scrub_contacts(_clean(item.get("title"))),
        price_raw=price_raw,
        currency_raw=currency_raw,
        location_raw=_api_location(item.get("itemLocation")),
        posted_raw=item.get("itemCreationDate") or None,
        attributes=_api_attributes(item),
        price_basis=basis,
        image_urls=_images(image, *more),
    )


def parse_api_search(response: TextResponse, scraped_at: str | None = None) -> SearchPage:
    """An ``item_summary/search`` answer: its summaries, ``total`` and the ``next`` page URL.

    A search without results has no ``itemSummaries`` at all (``total`` 0). Raises
    :class:`UnexpectedShapeError` when the answer is not a search answer.
    """
    data = _json(response)
    if not isinstance(data, dict) or "total" not in data:
        raise UnexpectedShapeError("no 'total' in the search answer")
    items = data.get("itemSummaries") or []
    if not isinstance(items, list):
        raise UnexpectedShapeError("itemSummaries is not a list")
    listings = [
        with_title_facts(x) for item in items if (x := _api_summary(item, scraped_at)) is not None
    ]
    return SearchPage(
        listings=listings,
        total=_int(data.get("total")),
        next_url=data.get("next") or None,
        layout="api",
    )


def api_item_count(response: TextResponse) -> int:
    """How many summaries the answer holds, parsed or not."""
    data = _json(response)
    items = data.get("itemSummaries") if isinstance(data, dict) else None
    return len(items) if isinstance(items, list) else 0


def _aspects(item: dict) -> dict[str, str]:
    out = {}
    for aspect in item.get("localizedAspects") or []:
        name, value = _dig(aspect, "name"), _dig(aspect, "value")
        if isinstance(name, str) and name.strip() and value not in (None, ""):
            out[name.strip()] = scrub_contacts(_clean(value))
    return out


def _availability(item: dict) -> str | None:
    for entry in item.get("estimatedAvailabilities") or []:
        status = _dig(entry, "estimatedAvailabilityStatus")
        if status:
            return str(status)
    return None


def parse_api_item(response: TextResponse, scraped_at: str | None = None) -> Listing:
    """A ``getItem`` answer: the summary's fields plus the item specifics and the description.

    ``attributes`` holds every ``localizedAspects`` pair by eBay's name ("Year", "Mileage",
    "Drive Type", "VIN (Vehicle Identification Number)" ...) beside ``condition``,
    ``buyingOptions``, ``itemEndDate`` and ``categories``. ``status_raw`` is the first
    ``estimatedAvailabilityStatus`` ("IN_STOCK", "OUT_OF_STOCK"). Raises
    :class:`UnexpectedShapeError` when the answer is not an item.
    """
    data = _json(response)
    if not isinstance(data, dict) or not data.get("itemId"):
        raise UnexpectedShapeError("no itemId in the item answer")
    summary = _api_summary(data, scraped_at)
    if summary is None:
        raise UnexpectedShapeError(f"no item number in itemId {data.get('itemId')!r}")
    aspects = _aspects(data)
    description = _html_text(data.get("description")) or _clean(data.get("shortDescription"))
    detail = replace(
        summary,
        description=scrub_contacts(description),
        attributes={**summary.attributes, **aspects},
        seller_type=seller_type(aspects, _dig(data, "seller", "sellerAccountType")),
        status_raw=_availability(data),
        **raw_fields_from_aspects(aspects),
    )
    return with_title_facts(detail)

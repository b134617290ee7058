"""eBay Motors (https://www.ebay.com): Browse API answers, HTML search pages and item pages.

Reads the official Browse API (``https://api.ebay.com/buy/browse/v1``): the OAuth token answer,
``item_summary/search`` (``itemSummaries`` plus ``total``/``next``/``limit``/``offset``) and
``getItem`` (``localizedAspects`` such as Year, Make, Model, Mileage, Drive Type, Transmission and
"VIN (Vehicle Identification Number)", the description, ``itemEndDate`` and the availability).
The HTML fallback reads the search page (``/sch/i.html``) in the current ``li.s-card`` layout and
the legacy ``li.s-item`` layout, scoped to ``ul.srp-results`` so the "Shop on eBay" placeholder
cards and the ``li.srp-river-answer`` rows (ads, separators, pagination) are never read as
listings, and fails loudly on any other layout; and the item page's "Item specifics"
(``dl.ux-labels-values``). Card rows are matched by their text, never by position. Seller
usernames and feedback are never kept, and phone numbers and e-mail addresses are removed from
titles and descriptions. ``listing_id`` is the legacy item number; ``url`` is always the plain
``https://www.ebay.com/itm/<id>`` form, without the per-search tracking parameters.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

from parsel import Selector
from scrapy.http import TextResponse

from scrapers.blocking import looks_like_json
from scrapers.items import RAW_FIELDS, Listing
from scrapers.parsers.craigslist import scrub_contacts
from scrapers.parsers.ebay_facts import with_title_facts
from scrapers.parsers.shape import Layout

SOURCE = "ebay"
WWW = "https://www.ebay.com"
#: Text every real search results page carries, an empty one too (``ul.srp-results``).
SEARCH_ANCHOR = "srp-results"
#: Text every item page carries (its sections are ``ux-layout-section`` blocks).
ITEM_ANCHOR = "ux-layout-section"
#: Text every Browse API search answer carries (``total`` is there even with no results).
API_SEARCH_ANCHOR = '"total"'
API_ITEM_ANCHOR = '"itemId"'
TOKEN_ANCHOR = "access_token"
#: The fake item number of the "Shop on eBay" placeholder card.
PLACEHOLDER_ITEM = "123456"

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
_BIDS = re.compile(r"\b(\d[\d,]*)\s+bids?\b", re.I)
_LOCATION_PREFIX = re.compile(r"^(?:Located in|from|発送元)\s*[:：]?\s*", re.I)
_CARD_ID = re.compile(r"^item([0-9a-f]+)$")
_COUNT = re.compile(r"^\d[\d,.]*$")
_SPACE = re.compile(r"\s+")
_TITLE_SUFFIX = re.compile(r"\s*\|\s*eBay(?:\s+\w+)?\s*$")

#: Card rows by their text: (attribute name, pattern). Seller rows ("name 99.1% positive (1.2K)")
#: are matched only so they can be dropped.
_ROW_KINDS = (
    ("seller", re.compile(r"\bpositive\b|\(\d[\d,.]*K?\)\s*\d+(?:\.\d+)?%", re.I)),
    # "aus Großbritannien" on ebay.de; the text is kept as written
    ("location", re.compile(r"^(?:Located in|from|aus)\s", re.I)),
    ("bids", _BIDS),
    ("timeLeft", re.compile(r"\d+[dhms]\b.*\bleft\b|^Ends?\b|残り", re.I)),
    ("format", re.compile(r"^(?:Buy It Now|Auction|今すぐ落札|オークション)$", re.I)),
    ("bestOffer", re.compile(r"best offer", re.I)),
    ("shipping", re.compile(r"delivery|shipping|postage|送料", re.I)),
    ("watchers", re.compile(r"\bwatch(?:ers|ing)\b|ウォッチ", re.I)),
    ("soldCount", re.compile(r"^\d[\d,+]*\+?\s+sold$", re.I)),
    ("returns", re.compile(r"\breturns?\b", re.I)),
)
#: Legacy ``s-item`` row classes and the attribute names they fill.
_LEGACY_ROWS = {
    "s-item__bids": "bids",
    "s-item__time-left": "timeLeft",
    "s-item__formatBuyItNow": "format",
    "s-item__formatBestOfferEnabled": "bestOffer",
    "s-item__purchaseOptions": "format",
    "s-item__shipping": "shipping",
    "s-item__watchCountTotal": "watchers",
    "s-item__quantitySold": "soldCount",
    "s-item__free-returns": "returns",
}


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


@dataclass
class Token:
    access_token: str = field(repr=False)
    expires_in: int | None = None


# --- shared helpers ----------------------------------------------------------------------------


def _clean(text: Any) -> str | None:
    if text is None:
        return None
    text = _SPACE.sub(" ", str(text)).strip()
    return text or None


def _text(selection) -> str | None:
    return _clean(" ".join(selection.xpath(".//text()").getall()))


def _dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _int(value: Any) -> int | None:
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


def _site(url: str | None) -> str:
    """``scheme://host`` of an eBay URL (ebay.com, ebay.co.uk ...), www.ebay.com if unknown."""
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else WWW


def _json(response: TextResponse) -> Any:
    try:
        return json.loads(response.text)
    except ValueError as exc:
        raise UnexpectedShapeError(f"not JSON: {exc}") from None


def _html_text(fragment: str | None) -> str | None:
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
    lines = [_clean(line) for line in "".join(parts).splitlines()]
    return "\n".join(line for line in lines if line) or None


def _images(*urls: Any) -> list[str]:
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
        name: _clean(aspects.get(label)) for name, label in ASPECT_FIELDS.items()
    }
    make_model = " ".join(v for v in (aspects.get("Make"), aspects.get("Model")) if v)
    out["make_model_raw"] = _clean(make_model)
    return out


# --- Browse API --------------------------------------------------------------------------------


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


# --- HTML search page --------------------------------------------------------------------------


def _row_kind(text: str) -> str | None:
    for kind, pattern in _ROW_KINDS:
        if pattern.search(text):
            return kind
    return None


def _count(response: TextResponse) -> tuple[int | None, str | None]:
    """Results reported by the count heading: the first bold part that is a number."""
    heading = response.css(".srp-controls__count-heading")
    if not heading:
        return None, None
    for bold in heading.css(".BOLD"):
        text = _text(bold) or ""
        if _COUNT.match(text):
            return int(re.sub(r"\D", "", text)), _joined(heading)
    return None, _joined(heading)


def _joined(selection) -> str | None:
    """Text of inline parts shown side by side ("9,100" + "+ results")."""
    return _clean("".join(selection.xpath(".//text()").getall()))


def _next_url(response: TextResponse) -> str | None:
    link = response.css("a.pagination__next")
    href = link.attrib.get("href") if link else None
    if not href or link.attrib.get("aria-disabled") == "true":
        return None
    return response.urljoin(href.strip())


def _card_id(card: Selector, href: str | None) -> str | None:
    listing_id = card.attrib.get("data-listingid") or item_id_from_url(href)
    if listing_id is None:
        match = _CARD_ID.match(card.attrib.get("id") or "")
        listing_id = str(int(match.group(1), 16)) if match else None
    return listing_id if listing_id and listing_id.isdigit() else None


def _status_and_basis(caption: str | None, bids: str | None, sold_search: bool):
    """(status_raw, price_basis) of a card: "Sold <date>" captions are sold prices."""
    if caption and caption.lower().startswith("sold"):
        return caption, "sold"
    if sold_search:
        return None, "sold"
    match = _BIDS.search(bids or "")
    if match and int(match.group(1).replace(",", "")) > 0:
        return None, "bid"
    return None, "asking"


def _scard_price(card: Selector) -> tuple[str | None, str | None]:
    """(price shown, struck-through original price); a range keeps its "to"."""
    price = _clean(" ".join(card.css(".s-card__price ::text").getall()))
    was = _text(card.css(".s-card__attribute-row .strikethrough"))
    return price, was


def _scard(card: Selector, base: str, scraped_at: str | None, sold_search: bool):
    href = card.css("a.s-card__link::attr(href)").get()
    listing_id = _card_id(card, href)
    if listing_id in (None, PLACEHOLDER_ITEM) or item_id_from_url(href) == PLACEHOLDER_ITEM:
        return None
    title = _text(card.css(".s-card__title span.su-styled-text")[:1]) or _text(
        card.css(".s-card__title").xpath("./span[not(contains(@class, 'clipped'))]")[:1]
    )
    price, was = _scard_price(card)
    attributes: dict[str, str] = {}
    subtitles = [t for s in card.css(".s-card__subtitle") if (t := _text(s))]
    if subtitles:
        attributes["condition"] = subtitles[-1]
        if len(subtitles) > 1:
            attributes["subtitle"] = " | ".join(subtitles[:-1])
    if was:
        attributes["originalPrice"] = was
    location = None
    for row in card.css(".s-card__attribute-row"):
        if row.css(".s-card__price"):
            continue
        text = _text(row)
        kind = _row_kind(text) if text else None
        if kind == "seller" or kind is None:
            continue
        if kind == "location":
            location = _LOCATION_PREFIX.sub("", text)
        else:
            attributes.setdefault(kind, text)
    caption = _text(card.css(".s-card__caption"))
    status_raw, basis = _status_and_basis(caption, attributes.get("bids"), sold_search)
    if caption and status_raw is None:
        attributes["caption"] = caption
    image = (
        card.css("img.s-card__image::attr(src)").get()
        or card.css("img.s-card__image::attr(data-defer-load)").get()
    )
    return Listing(
        source=SOURCE,
        listing_id=listing_id,
        url=item_url(listing_id, _site(href) if href else base),
        scraped_at=scraped_at,
        title=scrub_contacts(title),
        price_raw=price,
        location_raw=location,
        attributes=attributes,
        price_basis=basis if price else None,
        status_raw=status_raw,
        image_urls=_images(image),
    )


def _legacy_title(card: Selector) -> str | None:
    heading = card.css(".s-item__title")
    parts = heading.xpath(
        ".//text()[not(ancestor::*[contains(@class, 'LIGHT_HIGHLIGHT')])"
        " and not(ancestor::*[contains(@class, 'clipped')])]"
    ).getall()
    return _clean(" ".join(parts))


def _sitem(card: Selector, base: str, scraped_at: str | None, sold_search: bool):
    href = card.css("a.s-item__link::attr(href)").get()
    listing_id = _card_id(card, href)
    if listing_id in (None, PLACEHOLDER_ITEM):
        return None
    attributes: dict[str, str] = {}
    for row in card.css(".s-item__details [class*='s-item__']"):
        classes = row.attrib.get("class", "").split()
        kind = next((_LEGACY_ROWS[c] for c in classes if c in _LEGACY_ROWS), None)
        text = _text(row)
        if kind and text:
            attributes.setdefault(kind, text)
    condition = _text(card.css(".s-item__subtitle .SECONDARY_INFO")) or _text(
        card.css(".s-item__subtitle")
    )
    if condition:
        attributes["condition"] = condition
    was = _text(card.css(".s-item__trending-price .STRIKETHROUGH"))
    if was:
        attributes["originalPrice"] = was
    location = _text(card.css(".s-item__location"))
    caption = _text(card.css(".s-item__caption, .s-item__caption-section"))
    status_raw, basis = _status_and_basis(caption, attributes.get("bids"), sold_search)
    price = _text(card.css(".s-item__price"))
    image = card.css(".s-item__image img::attr(src)").get()
    return Listing(
        source=SOURCE,
        listing_id=listing_id,
        url=item_url(listing_id, _site(href) if href else base),
        scraped_at=scraped_at,
        title=scrub_contacts(_legacy_title(card)),
        price_raw=price,
        location_raw=_LOCATION_PREFIX.sub("", location) if location else None,
        attributes=attributes,
        price_basis=basis if price else None,
        status_raw=status_raw,
        image_urls=_images(image),
    )


def _is_sold_search(url: str) -> bool:
    query = parse_qs(urlsplit(url).query)
    return query.get("LH_Sold") == ["1"]


def parse_search_html(response: TextResponse, scraped_at: str | None = None) -> SearchPage:
    """A search results page (``/sch/i.html``) in the ``s-card`` or the legacy ``s-item`` layout.

    Only ``ul.srp-results`` is read. Cards after the "Results matching fewer words" separator
    (``li.srp-river-answer--REWRITE_START``) are returned but not counted in ``exact_count``.
    ``location_raw`` is the "Located in ..." text without that prefix. ``price_basis`` is
    "sold" on sold searches (``LH_Sold=1``) and for "Sold <date>" captions (kept as
    ``status_raw``), "bid" for auctions with bids, else "asking". Raises
    :class:`UnexpectedShapeError` when the page has no result list, or a list whose entries
    are neither cards nor river answers (an unknown layout).
    """
    results = response.css("ul.srp-results")
    if not results:
        raise UnexpectedShapeError(f"no ul.srp-results on {response.url}")
    entries = results[0].xpath("./li")
    cards = [e for e in entries if _has_class(e, "s-card") or _has_class(e, "s-item")]
    unknown = [e for e in entries if e not in cards and not _has_class(e, "srp-river-answer")]
    if unknown:
        classes = unknown[0].attrib.get("class")
        raise UnexpectedShapeError(f"unknown result entries ({classes!r}) on {response.url}")
    total, count_text = _count(response)
    base = _site(response.url)
    sold_search = _is_sold_search(response.url)
    listings: list[Listing] = []
    exact_count = None
    layout = "empty"
    for entry in entries:
        if _has_class(entry, "srp-river-answer--REWRITE_START") and exact_count is None:
            exact_count = len(listings)
        if _has_class(entry, "s-card"):
            layout, listing = "s-card", _scard(entry, base, scraped_at, sold_search)
        elif _has_class(entry, "s-item"):
            layout, listing = "s-item", _sitem(entry, base, scraped_at, sold_search)
        else:
            continue
        if listing is not None:
            listings.append(with_title_facts(listing))
    return SearchPage(
        listings=listings,
        total=total,
        next_url=_next_url(response),
        layout=layout,
        exact_count=exact_count,
        count_text=count_text,
    )


def _has_class(node: Selector, name: str) -> bool:
    return name in (node.attrib.get("class") or "").split()


def is_empty_result(page: SearchPage, response: TextResponse) -> bool:
    """Does the page say the search found nothing (rather than failing to show results)?"""
    if page.listings:
        return False
    return page.total == 0 or bool(response.css(".srp-save-null-search"))


# --- item page ---------------------------------------------------------------------------------


def _spec_value(values: Selector) -> str | None:
    """An item-specifics value; an expandable one is read from its full (hidden) text."""
    full = values.css(".ux-expandable-textual-display-block-inline.hide [data-testid=text]")
    node = full[0] if full else values
    parts = node.xpath(
        ".//text()[not(ancestor::button) and not(ancestor::a[contains(@class, 'ux-action')])"
        " and not(ancestor::*[contains(@class, 'clipped')])]"
    ).getall()
    return _clean(" ".join(parts))


def parse_item_specifics(response: TextResponse) -> dict[str, str]:
    """The "Item specifics" label -> value pairs (``dl.ux-labels-values``) of an item page."""
    specifics = {}
    section = response.css(".ux-layout-section--features") or response
    for pair in section.css("dl.ux-labels-values"):
        label = _text(pair.css(".ux-labels-values__labels-content"))
        value = _spec_value(pair.css(".ux-labels-values__values-content"))
        if label and value:
            specifics[label.rstrip(":")] = scrub_contacts(value)
    return specifics


def _breadcrumb(response: TextResponse) -> str | None:
    for raw in response.css('script[type="application/ld+json"]::text').getall():
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        if isinstance(data, dict) and data.get("@type") == "BreadcrumbList":
            names = [
                e.get("name")
                for e in data.get("itemListElement") or []
                if isinstance(e, dict) and e.get("name") and e.get("name") != "eBay"
            ]
            return " | ".join(names) or None
    return None


def _item_page_id(response: TextResponse) -> str | None:
    canonical = response.css('link[rel="canonical"]::attr(href)').get()
    found = item_id_from_url(canonical) or item_id_from_url(response.url)
    if found:
        return found
    number = _text(response.css(".ux-layout-section--itemId .ux-textspans--BOLD"))
    return number if number and number.isdigit() else None


def parse_item_page(response: TextResponse, scraped_at: str | None = None) -> Listing:
    """An item page ("vi-evo"): item number, title, price, photos and the item specifics.

    ``status_raw`` is the status banner of an ended listing ("This listing sold on ...").
    The description is a separate document (``iframe#desc_ifr``) and is not read. Raises
    :class:`UnexpectedShapeError` when the page shows no item number.
    """
    listing_id = _item_page_id(response)
    if listing_id is None:
        raise UnexpectedShapeError(f"no item number on {response.url}")
    specifics = parse_item_specifics(response)
    attributes = dict(specifics)
    categories = _breadcrumb(response)
    if categories:
        attributes["categories"] = categories
    title = _text(response.css("h1.x-item-title__mainTitle span")[:1]) or _clean(
        _TITLE_SUFFIX.sub("", response.css("title::text").get() or "")
    )
    price = _text(response.css(".x-price-primary > span")[:1]) or _text(
        response.css(".x-price-primary")
    )
    images = [
        img.attrib.get("data-zoom-src") or img.attrib.get("src")
        for img in response.css(".ux-image-carousel-item img")
    ]
    canonical = response.css('link[rel="canonical"]::attr(href)').get()
    listing = Listing(
        source=SOURCE,
        listing_id=listing_id,
        url=item_url(listing_id, _site(canonical or response.url)),
        scraped_at=scraped_at,
        title=scrub_contacts(title),
        price_raw=price,
        attributes=attributes,
        seller_type=seller_type(specifics),
        price_basis="asking" if price else None,
        status_raw=_text(response.css(".d-statusmessage")),
        image_urls=_images(*images),
        **raw_fields_from_aspects(specifics),
    )
    return with_title_facts(listing)


# --- combining and dispatch --------------------------------------------------------------------


def merge_detail(summary: Listing, detail: Listing) -> Listing:
    """A search result completed by its item (``getItem`` or item page).

    The item's raw fields win where it has them (a fuller location, more photos), except the
    price: the search result's price, currency and basis stay, since an item page shows no bid
    count and words prices differently ("US $8,995.00"). Identity and URL stay the search
    result's; attributes are merged, the item's winning.
    """
    kept = ("price_raw", "currency_raw", "price_basis") if summary.price_raw else ()
    updates: dict[str, Any] = {
        name: getattr(detail, name)
        for name in RAW_FIELDS
        if name not in kept and getattr(detail, name) not in (None, "", [], {})
    }
    updates["attributes"] = {**summary.attributes, **detail.attributes}
    return replace(summary, **updates)


def parse_page(response: TextResponse, scraped_at: str | None = None) -> list[Listing]:
    """Any saved eBay answer -> its listings (for ``keitrucks parse`` and debugging)."""
    if looks_like_json(response.body):
        data = _json(response)
        if isinstance(data, dict) and "access_token" in data:
            return []
        if isinstance(data, dict) and "total" in data:
            return parse_api_search(response, scraped_at).listings
        return [parse_api_item(response, scraped_at)]
    if response.css("ul.srp-results"):
        return parse_search_html(response, scraped_at).listings
    return [parse_item_page(response, scraped_at)]


def _parse_search(response: TextResponse, scraped_at: str | None = None) -> list[Listing]:
    if looks_like_json(response.body):
        return parse_api_search(response, scraped_at).listings
    return parse_search_html(response, scraped_at).listings


def _parse_detail(response: TextResponse, scraped_at: str | None = None) -> list[Listing]:
    if looks_like_json(response.body):
        return [parse_api_item(response, scraped_at)]
    return [parse_item_page(response, scraped_at)]


#: Page kinds for ``keitrucks parse --kind``: each takes (response, scraped_at) -> listings.
PAGE_PARSERS = {"search": _parse_search, "detail": _parse_detail}
#: The page layouts this parser knows, by their anchors (see scrapers/parsers/shape.py).
LAYOUTS = (
    Layout("OAuth token answer", text=TOKEN_ANCHOR, json=True, listings=False),
    Layout("Browse API search", text=API_SEARCH_ANCHOR, json=True),
    Layout("Browse API item", text=API_ITEM_ANCHOR, json=True),
    Layout("search with no results", css="li.srp-river-answer--NULL_SEARCH", listings=False),
    Layout("search results", css="ul.srp-results"),
    Layout("item page", css=".ux-layout-section, .x-item-title"),
)

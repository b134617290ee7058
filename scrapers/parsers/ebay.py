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
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

from scrapy.http import TextResponse

from scrapers.blocking import looks_like_json
from scrapers.items import RAW_FIELDS, Listing
from scrapers.parsers import nodes
from scrapers.parsers.common import json_or_html
from scrapers.parsers.craigslist_text import scrub_contacts
from scrapers.parsers.ebay_api import (
    Token,
    api_item_count,
    parse_api_item,
    parse_api_search,
    parse_token,
)
from scrapers.parsers.ebay_facts import (
    ASPECT_FIELDS,
    SELLER_TYPES,
    SOURCE,
    VIN_ASPECT,
    WWW,
    SearchPage,
    UnexpectedShapeError,
    item_id_from_url,
    item_url,
    raw_fields_from_aspects,
    seller_type,
    with_title_facts,
)
from scrapers.parsers.ebay_facts import clean as _clean
from scrapers.parsers.ebay_facts import images as _images
from scrapers.parsers.ebay_facts import load_json as _json
from scrapers.parsers.ebay_facts import site as _site
from scrapers.parsers.ebay_facts import text as _text
from scrapers.parsers.shape import Layout

#: Public names of the split-out modules, still importable from here.
__all__ = [
    "ASPECT_FIELDS",
    "ITEM_ANCHOR",
    "LAYOUTS",
    "PAGE_PARSERS",
    "SEARCH_ANCHOR",
    "SELLER_TYPES",
    "SOURCE",
    "VIN_ASPECT",
    "WWW",
    "SearchPage",
    "Token",
    "UnexpectedShapeError",
    "api_item_count",
    "is_empty_result",
    "item_id_from_url",
    "item_url",
    "merge_detail",
    "parse_api_item",
    "parse_api_search",
    "parse_item_page",
    "parse_item_specifics",
    "parse_page",
    "parse_search_html",
    "parse_token",
    "raw_fields_from_aspects",
    "seller_type",
]

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

_BIDS = re.compile(r"\b(\d[\d,]*)\s+bids?\b", re.I)
_LOCATION_PREFIX = re.compile(r"^(?:Located in|from|発送元)\s*[:：]?\s*", re.I)
_CARD_ID = re.compile(r"^item([0-9a-f]+)$")
_COUNT = re.compile(r"^\d[\d,.]*$")
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


# --- HTML search page --------------------------------------------------------------------------


def _row_kind(text: str) -> str | None:
    for kind, pattern in _ROW_KINDS:
        if pattern.search(text):
            return kind
    return None


def _count(response: TextResponse) -> tuple[int | None, str | None]:
    """Results reported by the count heading: the first bold part that is a number."""
    heading = nodes.select(response, ".srp-controls__count-heading")
    if not heading:
        return None, None
    for bold in nodes.select(heading, ".BOLD"):
        text = _text(bold) or ""
        if _COUNT.match(text):
            return int(re.sub(r"\D", "", text)), _joined(heading)
    return None, _joined(heading)


def _joined(selection) -> str | None:
    """Text of inline parts shown side by side ("9,100" + "+ results")."""
    return _clean("".join(t for node in selection for t in node.itertext()))


def _next_url(response: TextResponse) -> str | None:
    link = nodes.first(response, "a.pagination__next")
    href = link.get("href") if link is not None else None
    if not href or link.get("aria-disabled") == "true":
        return None
    return response.urljoin(href.strip())


def _card_id(card: nodes.Node, href: str | None) -> str | None:
    listing_id = card.get("data-listingid") or item_id_from_url(href)
    if listing_id is None:
        match = _CARD_ID.match(card.get("id") or "")
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


def _scard_price(card: nodes.Node) -> tuple[str | None, str | None]:
    """(price shown, struck-through original price); a range keeps its "to"."""
    price = _clean(" ".join(nodes.select(card, ".s-card__price ::text")))
    was = _text(nodes.select(card, ".s-card__attribute-row .strikethrough"))
    return price, was


def _scard(card: nodes.Node, base: str, scraped_at: str | None, sold_search: bool):
    href = nodes.get(card, "a.s-card__link::attr(href)")
    listing_id = _card_id(card, href)
    if listing_id in (None, PLACEHOLDER_ITEM) or item_id_from_url(href) == PLACEHOLDER_ITEM:
        return None
    title = _text(nodes.select(card, ".s-card__title span.su-styled-text")[:1]) or _text(
        nodes.select_xpath(
            nodes.select(card, ".s-card__title"), "./span[not(contains(@class, 'clipped'))]"
        )[:1]
    )
    price, was = _scard_price(card)
    attributes: dict[str, str] = {}
    subtitles = [t for s in nodes.select(card, ".s-card__subtitle") if (t := _text(s))]
    if subtitles:
        attributes["condition"] = subtitles[-1]
        if len(subtitles) > 1:
            attributes["subtitle"] = " | ".join(subtitles[:-1])
    if was:
        attributes["originalPrice"] = was
    location = None
    for row in nodes.select(card, ".s-card__attribute-row"):
        if nodes.select(row, ".s-card__price"):
            continue
        text = _text(row)
        kind = _row_kind(text) if text else None
        if kind == "seller" or kind is None:
            continue
        if kind == "location":
            location = _LOCATION_PREFIX.sub("", text)
        else:
            attributes.setdefault(kind, text)
    caption = _text(nodes.select(card, ".s-card__caption"))
    status_raw, basis = _status_and_basis(caption, attributes.get("bids"), sold_search)
    if caption and status_raw is None:
        attributes["caption"] = caption
    image = nodes.get(card, "img.s-card__image::attr(src)") or nodes.get(
        card, "img.s-card__image::attr(data-defer-load)"
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


def _legacy_title(card: nodes.Node) -> str | None:
    heading = nodes.select(card, ".s-item__title")
    parts = nodes.select_xpath(
        heading,
        ".//text()[not(ancestor::*[contains(@class, 'LIGHT_HIGHLIGHT')])"
        " and not(ancestor::*[contains(@class, 'clipped')])]",
    )
    return _clean(" ".join(parts))


def _sitem(card: nodes.Node, base: str, scraped_at: str | None, sold_search: bool):
    href = nodes.get(card, "a.s-item__link::attr(href)")
    listing_id = _card_id(card, href)
    if listing_id in (None, PLACEHOLDER_ITEM):
        return None
    attributes: dict[str, str] = {}
    for row in nodes.select(card, ".s-item__details [class*='s-item__']"):
        classes = row.get("class", "").split()
        kind = next((_LEGACY_ROWS[c] for c in classes if c in _LEGACY_ROWS), None)
        text = _text(row)
        if kind and text:
            attributes.setdefault(kind, text)
    condition = _text(nodes.select(card, ".s-item__subtitle .SECONDARY_INFO")) or _text(
        nodes.select(card, ".s-item__subtitle")
    )
    if condition:
        attributes["condition"] = condition
    was = _text(nodes.select(card, ".s-item__trending-price .STRIKETHROUGH"))
    if was:
        attributes["originalPrice"] = was
    location = _text(nodes.select(card, ".s-item__location"))
    caption = _text(nodes.select(card, ".s-item__caption, .s-item__caption-section"))
    status_raw, basis = _status_and_basis(caption, attributes.get("bids"), sold_search)
    price = _text(nodes.select(card, ".s-item__price"))
    image = nodes.get(card, ".s-item__image img::attr(src)")
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
    results = nodes.select(response, "ul.srp-results")
    if not results:
        raise UnexpectedShapeError(f"no ul.srp-results on {response.url}")
    entries = [child for child in nodes.elements(results[0]) if child.tag == "li"]
    cards = [e for e in entries if _has_class(e, "s-card") or _has_class(e, "s-item")]
    unknown = [e for e in entries if e not in cards and not _has_class(e, "srp-river-answer")]
    if unknown:
        classes = unknown[0].get("class")
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


def _has_class(node: nodes.Node, name: str) -> bool:
    return name in (node.get("class") or "").split()


def is_empty_result(page: SearchPage, response: TextResponse) -> bool:
    """Does the page say the search found nothing (rather than failing to show results)?"""
    if page.listings:
        return False
    return page.total == 0 or bool(nodes.select(response, ".srp-save-null-search"))


# --- item page ---------------------------------------------------------------------------------


def _spec_value(values: list[nodes.Node]) -> str | None:
    """An item-specifics value; an expandable one is read from its full (hidden) text."""
    full = nodes.select(
        values, ".ux-expandable-textual-display-block-inline.hide [data-testid=text]"
    )
    node = full[0] if full else values
    parts = nodes.select_xpath(
        node,
        ".//text()[not(ancestor::button) and not(ancestor::a[contains(@class, 'ux-action')])"
        " and not(ancestor::*[contains(@class, 'clipped')])]",
    )
    return _clean(" ".join(parts))


def parse_item_specifics(response: TextResponse) -> dict[str, str]:
    """The "Item specifics" label -> value pairs (``dl.ux-labels-values``) of an item page."""
    specifics = {}
    section = nodes.select(response, ".ux-layout-section--features") or response
    for pair in nodes.select(section, "dl.ux-labels-values"):
        label = _text(nodes.select(pair, ".ux-labels-values__labels-content"))
        value = _spec_value(nodes.select(pair, ".ux-labels-values__values-content"))
        if label and value:
            specifics[label.rstrip(":")] = scrub_contacts(value)
    return specifics


def _breadcrumb(response: TextResponse) -> str | None:
    for raw in nodes.select(response, 'script[type="application/ld+json"]::text'):
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
    canonical = nodes.get(response, 'link[rel="canonical"]::attr(href)')
    found = item_id_from_url(canonical) or item_id_from_url(response.url)
    if found:
        return found
    number = _text(nodes.select(response, ".ux-layout-section--itemId .ux-textspans--BOLD"))
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
    title = _text(nodes.select(response, "h1.x-item-title__mainTitle span")[:1]) or _clean(
        _TITLE_SUFFIX.sub("", nodes.get(response, "title::text") or "")
    )
    price = _text(nodes.select(response, ".x-price-primary > span")[:1]) or _text(
        nodes.select(response, ".x-price-primary")
    )
    images = [
        img.get("data-zoom-src") or img.get("src")
        for img in nodes.select(response, ".ux-image-carousel-item img")
    ]
    canonical = nodes.get(response, 'link[rel="canonical"]::attr(href)')
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
        status_raw=_text(nodes.select(response, ".d-statusmessage")),
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
    if nodes.select(response, "ul.srp-results"):
        return parse_search_html(response, scraped_at).listings
    return [parse_item_page(response, scraped_at)]


def _parse_search(response: TextResponse, scraped_at: str | None = None) -> list[Listing]:
    if looks_like_json(response.body):
        return parse_api_search(response, scraped_at).listings
    return parse_search_html(response, scraped_at).listings


#: Page kinds for ``keitrucks parse --kind``: each takes (response, scraped_at) -> listings.
PAGE_PARSERS = {"search": _parse_search, "detail": json_or_html(parse_api_item, parse_item_page)}
#: The page layouts this parser knows, by their anchors (see scrapers/parsers/shape.py).
LAYOUTS = (
    Layout("OAuth token answer", text=TOKEN_ANCHOR, json=True, listings=False),
    Layout("Browse API search", text=API_SEARCH_ANCHOR, json=True),
    Layout("Browse API item", text=API_ITEM_ANCHOR, json=True),
    Layout("search with no results", css="li.srp-river-answer--NULL_SEARCH", listings=False),
    Layout("search results", css="ul.srp-results"),
    Layout("item page", css=".ux-layout-section, .x-item-title"),
)

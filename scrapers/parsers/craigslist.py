"""Craigslist (https://www.craigslist.org): search API answers, posting pages and static search.

Reads the ``full`` and ``batch`` answers of the JSON search API the site's own results grid calls
(``https://sapi.craigslist.org/web/v8/postings/search/...``), the posting-detail API
(``/web/v8/postings/<uuid>``), the posting HTML page in both URL forms (``/view/d/<slug>/<uuid>``
and ``<site>.craigslist.org/<cat>/d/<slug>/<id>.html``: title, price, times, coordinates, place,
the ``attrgroup`` attributes such as year, make/model, drive, transmission, odometer and VIN,
images, the ``repost_of`` link) and the static no-JS search list used as a fallback. API items
are arrays whose layout varies from item to item, so they are read by tag and from the ends,
never by fixed position. Contact details are never kept: the "contact" attribute is dropped and
phone numbers and e-mail addresses are removed from every text.
"""

from __future__ import annotations

import json
import re
from dataclasses import fields
from typing import Any

from scrapy.http import TextResponse

from scrapers.blocking import looks_like_json
from scrapers.items import RAW_FIELDS, Listing
from scrapers.parsers import nodes
from scrapers.parsers.common import dig as _dig
from scrapers.parsers.common import json_or_html
from scrapers.parsers.craigslist_api import (
    SOURCE,
    WWW,
    PagingSetup,
    SearchPage,
    UnexpectedShapeError,
    image_url,
    json_payload,
    parse_paging_setup,
    parse_posting_api,
    parse_search_batch,
    parse_search_full,
    posting_url,
    purveyor_type,
)
from scrapers.parsers.craigslist_rendered import RENDERED_RESULT_CSS, parse_search_rendered
from scrapers.parsers.craigslist_text import (
    CATEGORY_SELLER,
    category_of_url,
    keep_attribute,
    raw_fields_from_attributes,
    scrub_contacts,
)
from scrapers.parsers.craigslist_text import as_float as _float
from scrapers.parsers.craigslist_text import clean as _clean
from scrapers.parsers.craigslist_text import paragraphs as _paragraphs
from scrapers.parsers.craigslist_text import text as _text
from scrapers.parsers.shape import Layout

#: Public names of the split-out modules, still importable from here.
__all__ = [
    "SOURCE",
    "WWW",
    "LAYOUTS",
    "PAGE_PARSERS",
    "PagingSetup",
    "SearchPage",
    "UnexpectedShapeError",
    "image_url",
    "listing_id_from_url",
    "merge_listings",
    "parse_attributes",
    "parse_page",
    "parse_paging_setup",
    "parse_posting",
    "parse_posting_api",
    "parse_search_batch",
    "parse_search_full",
    "parse_search_static",
    "posting_url",
    "raw_fields_from_attributes",
    "scrub_contacts",
]

#: Every Listing field, in order (a merged listing holds these, as ``replace`` would make it).
_LISTING_FIELDS = tuple(f.name for f in fields(Listing))
_OLD_FORM_ID = re.compile(r"/(\d{6,})\.html(?:$|[?#])")
_NEW_FORM_UUID = re.compile(r"/view/d/[^/]+/([\w-]{10,})/?(?:$|[?#])")
_INIT_NUMBER = r"'{key}'\s*:\s*(\d+)"
_INIT_STRING = r"'{key}'\s*:\s*\"([^\"]*)\""
_IMG_LIST = re.compile(r"var\s+imgList\s*=\s*(\[.*?\]);", re.S)
#: The normalized first text node of an element ("posted:" of a postinginfo).
_FIRST_OWN_TEXT = nodes.xpath("normalize-space(text())")
#: The place of a posting: an unmarked span of the title holder ("(Asheville, NC)").
_TITLE_HOLDER = '[contains(@class,"postingtitletext")]'
_UNMARKED_SPAN = "span[not(@class) and not(@id)]"
_UNMARKED_SPANS = nodes.xpath(_UNMARKED_SPAN)
#: The description: the posting body's texts but its print-only block's.
_BODY_TEXTS = nodes.xpath('.//text()[not(ancestor::*[contains(@class,"print-information")])]')


# --- posting HTML page -------------------------------------------------------------------------


def _cl_init(response: TextResponse, key: str, *, number: bool = True) -> str | None:
    pattern = (_INIT_NUMBER if number else _INIT_STRING).format(key=re.escape(key))
    match = re.search(pattern, response.text)
    return match.group(1) if match else None


def _ld_json(response: TextResponse, element_id: str, page: nodes.PageIndex | None = None) -> dict:
    if page is None:
        raw = nodes.get(response, f"script#{element_id}::text")
    else:  # what ``script#id::text`` gets: the first text of the first such script with one
        texts = (nodes.own_texts(s) for s in page.ids(element_id) if s.tag == "script")
        raw = next((found[0] for found in texts if found), None)
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _post_id(response: TextResponse, page: nodes.PageIndex) -> str | None:
    for info in page.classes("postinginfo"):
        match = re.search(r"post id:\s*(\d+)", _text(info) or "")
        if match:
            return match.group(1)
    return _cl_init(response, "pID")


def _extra_class(node, known: tuple[str, ...]) -> str | None:
    return next((c for c in node.get("class", "").split() if c not in known), None)


def parse_attributes(
    response: TextResponse, page: nodes.PageIndex | None = None
) -> tuple[dict[str, str], dict[str, str]]:
    """The ``attrgroup`` pairs by the site's label, and the same values by attribute key.

    The label is ``span.labl`` without its colon; the important group (year, make/model) has no
    labels, so its ``span.valu`` class names them; unlabelled flags use the ``div.attr`` class.
    The "contact" attribute is dropped.
    """
    labelled: dict[str, str] = {}
    keyed: dict[str, str] = {}
    page = page or nodes.PageIndex(response)
    for attr in page.inside(page.classes("attr"), page.classes("attrgroup")):
        key = _extra_class(attr, ("attr", "important"))
        parts = nodes.by_class(attr, "labl", "valu")
        label = _text(parts["labl"])
        label = label.rstrip(":").strip() if label else None
        for valu in parts["valu"]:
            value_key = _extra_class(valu, ("valu",)) or key
            name = label or value_key
            keep_attribute(labelled, keyed, name, value_key, scrub_contacts(_text(valu)))
    return labelled, keyed


def _datetime(times) -> str | None:
    """The first ``datetime`` of these ``time`` elements (``time::attr(datetime)``)."""
    return next((t.get("datetime") for t in times if t.get("datetime") is not None), None)


def _posting_times(page: nodes.PageIndex) -> dict[str, str]:
    """``posted``/``updated`` times of the ``postinginfos`` block, by their label."""
    times = {}
    for info in page.inside(page.classes("postinginfo"), page.classes("postinginfos")):
        label = _FIRST_OWN_TEXT(info).rstrip(":").strip().lower()
        when = _datetime(info.iter("time"))
        if label in ("posted", "updated") and when:
            times[label] = when.strip()
    if "posted" not in times:
        shown = _datetime(
            dict.fromkeys(
                t for box in page.ids("display-date") for t in box.iterdescendants("time")
            )
        )
        if shown:
            times["posted"] = shown.strip()
    return times


def _place(response: TextResponse, page: nodes.PageIndex, ld: dict) -> str | None:
    holders = page.class_contains("postingtitletext")
    if len(holders) == 1:  # its own unmarked spans; several holders: in document order below
        spans = _UNMARKED_SPANS(holders[0])
    else:
        spans = nodes.select_xpath(response, f"//*{_TITLE_HOLDER}/{_UNMARKED_SPAN}")
    for span in reversed(spans):
        text = _text(span)
        if text and text.startswith("(") and text.endswith(")"):
            return _clean(text[1:-1])
    address = _dig(ld, "offers", "availableAtOrFrom", "address") or ld.get("address")
    if isinstance(address, dict) and address.get("addressLocality"):
        return _clean(address["addressLocality"])
    return _clean(nodes.get(response, 'meta[name="geo.placename"]::attr(content)'))


def _coordinates(
    response: TextResponse, page: nodes.PageIndex, ld: dict
) -> tuple[float | None, float | None]:
    mapbox = next(iter(page.ids("map")), None)
    attrib = mapbox.attrib if mapbox is not None else {}
    lat, lon = attrib.get("data-latitude"), attrib.get("data-longitude")
    if lat is None:
        geo = nodes.get(response, 'meta[name="geo.position"]::attr(content)')
        if geo and ";" in geo:
            lat, lon = geo.split(";", 1)
    if lat is None:
        geo = _dig(ld, "offers", "availableAtOrFrom", "geo")
        lat, lon = _dig(geo, "latitude"), _dig(geo, "longitude")
    return _float(lat), _float(lon)


def _posting_images(response: TextResponse, page: nodes.PageIndex, ld: dict) -> list[str]:
    links = page.inside(page.classes("thumb"), page.ids("thumbs"), tag="a")
    thumbs = [href for a in links if (href := a.get("href")) is not None]
    if thumbs:
        return [response.urljoin(t.strip()) for t in thumbs]
    match = _IMG_LIST.search(response.text)
    if match:
        try:
            return [img["url"] for img in json.loads(match.group(1)) if img.get("url")]
        except (ValueError, AttributeError, TypeError):
            pass
    images = ld.get("image")
    return [i for i in images if isinstance(i, str)] if isinstance(images, list) else []


def _description(page: nodes.PageIndex) -> str | None:
    bodies = page.ids("postingbody")
    outermost = [b for b in bodies if not page.inside([b], bodies)]  # each text once
    parts = [part for body in outermost for part in _BODY_TEXTS(body)]
    return scrub_contacts(_paragraphs("".join(parts)))


def _posting_price(page: nodes.PageIndex, ld: dict) -> tuple[str | None, str | None]:
    shown = _text(page.inside(page.classes("price"), page.classes("postingtitletext")))
    offered = _dig(ld, "offers", "price")
    price = shown or (_clean(str(offered)) if offered else None)
    currency = _dig(ld, "offers", "priceCurrency") if price else None
    return price, currency


def _seller_type(response: TextResponse) -> str | None:
    category = _cl_init(response, "categoryAbbr", number=False)
    if category is None:
        category = category_of_url(response.url)
    return CATEGORY_SELLER.get(category) if category else None


def parse_posting(response: TextResponse, scraped_at: str | None = None) -> Listing:
    """A posting page (either URL form).

    ``posted_raw`` is the "posted:" time as the page gives it (``2026-05-23T13:11:38-0700``); an
    "updated:" time goes to ``attributes["updated"]``. ``attributes`` holds the attrgroup pairs
    by the site's label ("VIN", "drive", "odometer" ... plus "year" and "makemodel"). ``url`` is
    the page's own URL. Raises :class:`UnexpectedShapeError` when the page has no post id.
    """
    page = nodes.PageIndex(response)
    listing_id = _post_id(response, page)
    if listing_id is None:
        raise UnexpectedShapeError(f"no post id on {response.url}")
    ld = _ld_json(response, "ld_posting_data", page)
    attributes, keyed = parse_attributes(response, page)
    times = _posting_times(page)
    if "updated" in times:
        attributes["updated"] = times["updated"]
    price_raw, currency_raw = _posting_price(page, ld)
    latitude, longitude = _coordinates(response, page, ld)
    return Listing(
        source=SOURCE,
        listing_id=listing_id,
        url=response.url,
        scraped_at=scraped_at,
        title=scrub_contacts(_text(page.ids("titletextonly")) or _clean(ld.get("name"))),
        description=_description(page),
        price_raw=price_raw,
        currency_raw=currency_raw,
        location_raw=_place(response, page, ld),
        posted_raw=times.get("posted"),
        attributes=attributes,
        seller_type=_seller_type(response),
        price_basis="asking" if price_raw else None,
        image_urls=_posting_images(response, page, ld),
        latitude=latitude,
        longitude=longitude,
        repost_of=_cl_init(response, "repost_of"),
        **raw_fields_from_attributes(attributes, keyed),
    )


# --- static search page ------------------------------------------------------------------------


def _static_geo(response: TextResponse) -> dict[str, tuple[float | None, float | None]]:
    """Coordinates by title, only for titles that occur once in the JSON-LD list.

    The JSON-LD skips posts without photos, so it cannot be matched with the rows by position.
    """
    entries = _ld_json(response, "ld_searchpage_results").get("itemListElement") or []
    seen: dict[str, list] = {}
    for entry in entries:
        item = entry.get("item") if isinstance(entry, dict) else None
        if isinstance(item, dict) and item.get("name"):
            seen.setdefault(_clean(item["name"]), []).append(item)
    geo = {}
    for name, items in seen.items():
        if len(items) == 1:
            geo[name] = _item_geo(items[0])
    return geo


def _item_geo(item: dict) -> tuple[float | None, float | None]:
    """Coordinates of a JSON-LD result: on the item (housing), or in its geo or offer."""
    for holder in (item, item.get("geo"), _dig(item, "offers", "availableAtOrFrom", "geo")):
        if isinstance(holder, dict) and holder.get("latitude") is not None:
            return _float(holder.get("latitude")), _float(holder.get("longitude"))
    return None, None


def listing_id_from_url(url: str) -> str | None:
    """The posting id of an old-form URL, or the uuid of a new-form one."""
    match = _OLD_FORM_ID.search(url) or _NEW_FORM_UUID.search(url)
    return match.group(1) if match else None


def parse_search_static(
    response: TextResponse, scraped_at: str | None = None, *, purveyor: str | None = None
) -> SearchPage:
    """The static no-JS result list (``li.cl-static-search-result``), capped near 360 rows.

    ``listing_id`` is the posting id from old-form links; new-form links carry no id, so it is
    the 22-character uuid there and the posting page must be read for the id. Coordinates come
    from ``ld_searchpage_results`` where a title matches exactly one entry. Raises
    :class:`UnexpectedShapeError` when the page has no result list at all.
    """
    results = nodes.select(response, "ol.cl-static-search-results")
    if not results:
        raise UnexpectedShapeError(f"no cl-static-search-results list on {response.url}")
    rows = [row for ol in results for row in nodes.select(ol, "li.cl-static-search-result")]
    geo = _static_geo(response)
    listings = []
    for row in rows:
        href = nodes.get(row, "a::attr(href)")
        url = response.urljoin(href.strip()) if href else None
        listing_id = listing_id_from_url(url) if url else None
        if listing_id is None:
            continue
        title = _clean(row.get("title")) or _text(nodes.select(row, ".title"))
        price_raw = _text(nodes.select(row, ".details .price"))
        category = category_of_url(url)
        latitude, longitude = geo.get(title, (None, None))
        listings.append(
            Listing(
                source=SOURCE,
                listing_id=listing_id,
                url=url,
                scraped_at=scraped_at,
                title=scrub_contacts(title),
                price_raw=price_raw,
                location_raw=_text(nodes.select(row, ".details .location")),
                seller_type=purveyor_type(purveyor)
                or (CATEGORY_SELLER.get(category) if category else None),
                price_basis="asking" if price_raw else None,
                latitude=latitude,
                longitude=longitude,
            )
        )
    return SearchPage(listings=listings, total=None, item_count=len(rows))


# --- combining and dispatch --------------------------------------------------------------------


def merge_listings(search: Listing, posting: Listing) -> Listing:
    """The search result completed by its posting page: the page's raw fields win when present.

    Identity stays the search result's (its URL is the one the search gave), except that a
    static-page row known only by its uuid takes the page's posting id.
    """
    updates: dict[str, Any] = {}
    page = vars(posting)
    for name in RAW_FIELDS:
        value = page[name]
        if value not in (None, "", [], {}):
            updates[name] = value
    if search.attributes and posting.attributes:
        updates["attributes"] = {**search.attributes, **posting.attributes}
    if not search.listing_id.isdigit():
        updates["listing_id"] = posting.listing_id
    # what ``dataclasses.replace`` makes, without passing every field through ``__init__``
    merged = object.__new__(Listing)
    own = vars(search)
    vars(merged).update({name: own[name] for name in _LISTING_FIELDS}, **updates)
    return merged


def parse_page(response: TextResponse, scraped_at: str | None = None) -> list[Listing]:
    """Any saved Craigslist answer -> its listings (for ``keitrucks parse`` and debugging)."""
    if looks_like_json(response.body):
        data = json_payload(response)
        if "batch" in data:
            return parse_search_batch(response, scraped_at).listings
        items = data.get("items")
        if isinstance(items, list) and items and isinstance(items[0], dict):
            return [parse_posting_api(response, scraped_at)]
        return parse_search_full(response, scraped_at).listings
    if nodes.select(response, "ol.cl-static-search-results, " + RENDERED_RESULT_CSS):
        return _parse_search(response, scraped_at)
    return [parse_posting(response, scraped_at)]


def _parse_search(response: TextResponse, scraped_at: str | None = None) -> list[Listing]:
    if looks_like_json(response.body):
        if "batch" in json_payload(response):
            return parse_search_batch(response, scraped_at).listings
        return parse_search_full(response, scraped_at).listings
    if nodes.select(response, RENDERED_RESULT_CSS):
        return parse_search_rendered(response, scraped_at)
    return parse_search_static(response, scraped_at).listings


#: Page kinds for ``keitrucks parse --kind``: each takes (response, scraped_at) -> listings.
PAGE_PARSERS = {"search": _parse_search, "detail": json_or_html(parse_posting_api, parse_posting)}
#: The page layouts this parser knows, by their anchors (see scrapers/parsers/shape.py).
LAYOUTS = (
    Layout("search API batch", text='"batch"', json=True),
    Layout("search API first page", text='"decode"', json=True),
    Layout("posting API", text='"items"', json=True),
    Layout("browser-rendered search results", css=RENDERED_RESULT_CSS),
    Layout("static search results", css="ol.cl-static-search-results"),
    Layout(
        "pre-2023 search results",
        css="li.result-row",
        unsupported="Craigslist replaced li.result-row pages in 2023; save the page again",
    ),
    Layout("posting page", css=".postinginfo, #postingbody"),
)

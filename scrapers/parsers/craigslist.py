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
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from parsel import Selector
from scrapy.http import TextResponse

from scrapers.blocking import looks_like_json
from scrapers.items import RAW_FIELDS, Listing
from scrapers.parsers.craigslist_rendered import RENDERED_RESULT_CSS, parse_search_rendered
from scrapers.parsers.craigslist_text import (
    CATEGORY_SELLER,
    category_of_url,
    scrub_contacts,
)
from scrapers.parsers.craigslist_text import clean as _clean
from scrapers.parsers.craigslist_text import text as _text
from scrapers.parsers.shape import Layout

SOURCE = "craigslist"
WWW = "https://www.craigslist.org"
IMAGE_HOST = "https://images.craigslist.org"
IMAGE_SIZE = "600x450"

TAG_IMAGES = 4
TAG_SLUG = 6
TAG_ODOMETER = 9
TAG_PRICE = 10
TAG_UUID = 13
PURVEYOR_CODES = {145: "owner", 146: "dealer"}
#: Raw fields and the attribute names that fill them, first found wins: the ``div.attr`` class
#: (or ``span.valu`` class in the important group), the detail API's key, the printed label.
_RAW_ATTRIBUTES = {
    "year_raw": ("year", "auto_year", "model year"),
    "make_model_raw": ("makemodel", "auto_make_model", "make / model"),
    "drive_raw": ("auto_drivetrain", "drive"),
    "transmission_raw": ("auto_transmission", "transmission"),
    "mileage_raw": ("auto_miles", "odometer"),
}
_CONTACT_LABELS = {"contact", "phone", "email", "e-mail"}

_LOCATION = re.compile(r"^(\d+):(\d+)~(-?\d+(?:\.\d+)?)~(-?\d+(?:\.\d+)?)$")
_OLD_FORM_ID = re.compile(r"/(\d{6,})\.html(?:$|[?#])")
_NEW_FORM_UUID = re.compile(r"/view/d/[^/]+/([\w-]{10,})/?(?:$|[?#])")
_INIT_NUMBER = r"'{key}'\s*:\s*(\d+)"
_INIT_STRING = r"'{key}'\s*:\s*\"([^\"]*)\""
_IMG_LIST = re.compile(r"var\s+imgList\s*=\s*(\[.*?\]);", re.S)


class UnexpectedShapeError(ValueError):
    """The answer is not the layout this parser knows (a changed API or page template)."""


@dataclass
class SearchPage:
    listings: list[Listing]
    #: results the site reports for the whole search (``totalResultCount``); None when unknown.
    total: int | None
    #: items in this answer, parsed or not: a full first page means more pages exist.
    item_count: int
    #: ``cacheTs`` of a ``full`` answer, needed to set up paging.
    cache_ts: int | None = None


@dataclass
class PagingSetup:
    """What the paging set-up call (``full?batch=0-<cacheTs>-0-1-0``) answers."""

    cache_id: str
    max_posted_ts: int


# --- shared helpers ----------------------------------------------------------------------------


def _unix_iso(seconds: int | None) -> str | None:
    if not isinstance(seconds, int) or isinstance(seconds, bool):
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _dig(data: Any, *keys: str) -> Any:
    """``data[k1][k2]...``, or None as soon as a level is missing or not an object."""
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def image_url(image_id: str) -> str | None:
    """``"3:00h0h_4R4y4ghJzOC_0CI0t2"`` -> the 600x450 picture on images.craigslist.org."""
    code = image_id.split(":", 1)[-1] if isinstance(image_id, str) else None
    return f"{IMAGE_HOST}/{code}_{IMAGE_SIZE}.jpg" if code else None


def _image_urls(ids: list) -> list[str]:
    return [url for url in (image_url(i) for i in ids) if url]


def _paragraphs(text: str) -> str | None:
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return "\n".join(line for line in lines if line) or None


def _json_payload(response: TextResponse) -> dict:
    try:
        payload = json.loads(response.text)
    except ValueError as exc:
        raise UnexpectedShapeError(f"not JSON: {exc}") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), dict):
        raise UnexpectedShapeError("no 'data' object")
    return payload["data"]


# --- search API --------------------------------------------------------------------------------


def _tags(item: list) -> dict[int, list]:
    """Tagged members ``[tag, value, ...]`` of an API item, by tag."""
    return {
        member[0]: member[1:]
        for member in item
        if isinstance(member, list) and member and _int(member[0]) is not None
    }


def _leading_scalars(item: list) -> list:
    """The untagged members before the first list (the title, last, excluded)."""
    out = []
    for member in item[:-1]:
        if isinstance(member, list):
            break
        out.append(member)
    return out


def _tag_value(tags: dict[int, list], tag: int) -> Any:
    values = tags.get(tag)
    return values[0] if values else None


@dataclass
class _ApiContext:
    min_posting_id: int
    min_posted: int | None
    places: list
    locations: list
    areas: dict
    category: str | None
    purveyor: str | None
    www_base: str
    scraped_at: str | None


def _currency(ctx: _ApiContext, location_index: int | None) -> str | None:
    area_id = None
    if location_index is not None and 0 < location_index < len(ctx.locations):
        entry = ctx.locations[location_index]
        area_id = entry[0] if isinstance(entry, list) and entry else None
    area = ctx.areas.get(str(area_id)) if area_id is not None else None
    if area is None and len(ctx.areas) == 1:
        area = next(iter(ctx.areas.values()))
    return area.get("currency") if isinstance(area, dict) else None


def _hostname(ctx: _ApiContext, location_index: int | None) -> str:
    if location_index is not None and 0 < location_index < len(ctx.locations):
        entry = ctx.locations[location_index]
        if isinstance(entry, list) and len(entry) > 1 and isinstance(entry[1], str):
            return entry[1]
    return "www"


def posting_url(www_base: str, slug: str | None, uuid: str) -> str:
    """The current posting URL form, ``/view/d/<slug>/<uuid>``."""
    return f"{www_base}/view/d/{slug or 'posting'}/{uuid}"


def _listing_url(ctx, posting_id: int, slug: str | None, uuid: str | None, loc) -> str:
    if uuid:
        return posting_url(ctx.www_base, slug, uuid)
    # No token: the old form still resolves on the area's own host.
    category = ctx.category or "cta"
    host = _hostname(ctx, loc)
    return f"https://{host}.craigslist.org/{category}/d/{slug or 'posting'}/{posting_id}.html"


def _place_description(ctx: _ApiContext, index: int | None) -> str | None:
    """The seller's place text, ``decode.locationDescriptions[m]`` (entry 0 is a placeholder)."""
    if index is None or not 0 < index < len(ctx.places):
        return None
    text = ctx.places[index]
    return _clean(text) if isinstance(text, str) else None


def _price_raw(tags: dict[int, list], number: int | None) -> str | None:
    shown = _tag_value(tags, TAG_PRICE)
    if isinstance(shown, str) and shown.strip():
        return shown.strip()
    if number is not None and number >= 0:
        return str(number)
    return None


def _full_item(item: Any, ctx: _ApiContext) -> Listing | None:
    if not isinstance(item, list) or len(item) < 3 or _int(item[0]) is None:
        return None
    scalars = _leading_scalars(item)
    tags = _tags(item)
    rest = scalars[2:]
    seller = None
    if rest and _int(rest[0]) in PURVEYOR_CODES:
        seller = PURVEYOR_CODES[rest.pop(0)]
    number = _int(rest.pop(0)) if rest and _int(rest[0]) is not None else None
    place = next((m for s in rest if isinstance(s, str) and (m := _LOCATION.match(s))), None)
    loc_index = int(place.group(1)) if place else None
    posting_id = ctx.min_posting_id + item[0]
    offset = _int(scalars[1]) if len(scalars) > 1 else None
    posted = ctx.min_posted + offset if ctx.min_posted is not None and offset is not None else None
    slug, uuid = _tag_value(tags, TAG_SLUG), _tag_value(tags, TAG_UUID)
    price_raw = _price_raw(tags, number)
    odometer = _int(_tag_value(tags, TAG_ODOMETER))
    return Listing(
        source=SOURCE,
        listing_id=str(posting_id),
        url=_listing_url(ctx, posting_id, slug, uuid, loc_index),
        scraped_at=ctx.scraped_at,
        title=scrub_contacts(_clean(item[-1])) if isinstance(item[-1], str) else None,
        price_raw=price_raw,
        currency_raw=_currency(ctx, loc_index),
        location_raw=_place_description(ctx, int(place.group(2)) if place else None),
        posted_raw=_unix_iso(posted),
        mileage_raw=str(odometer) if odometer is not None else None,
        seller_type=seller or _purveyor(ctx.purveyor),
        price_basis="asking" if price_raw else None,
        image_urls=_image_urls(tags.get(TAG_IMAGES, [])),
        latitude=float(place.group(3)) if place else None,
        longitude=float(place.group(4)) if place else None,
    )


def _purveyor(purveyor: str | None) -> str | None:
    return purveyor if purveyor in ("owner", "dealer") else None


def parse_search_full(
    response: TextResponse,
    scraped_at: str | None = None,
    *,
    purveyor: str | None = None,
    www_base: str = WWW,
) -> SearchPage:
    """A ``search/full`` answer: the first page of results (up to 360) and the paging keys.

    Posting id is ``decode.minPostingId + item[0]``, posted time ``decode.minPostedDate +
    item[1]`` (``posted_raw`` as ISO 8601 UTC). ``purveyor`` (the request's) is the seller type
    of items that carry no purveyor code. ``www_base`` is where posting URLs are built.
    Raises :class:`UnexpectedShapeError` when the JSON is not a search answer.
    """
    data = _json_payload(response)
    items, decode = data.get("items"), data.get("decode")
    if not isinstance(items, list):
        raise UnexpectedShapeError("no data.items list")
    if items and not (isinstance(decode, dict) and _int(decode.get("minPostingId")) is not None):
        raise UnexpectedShapeError("items without decode.minPostingId")
    decode = decode if isinstance(decode, dict) else {}
    ctx = _ApiContext(
        min_posting_id=_int(decode.get("minPostingId")) or 0,
        min_posted=_int(decode.get("minPostedDate")),
        places=decode.get("locationDescriptions") or [],
        locations=decode.get("locations") or [],
        areas=data.get("areas") if isinstance(data.get("areas"), dict) else {},
        category=data.get("categoryAbbr") if isinstance(data.get("categoryAbbr"), str) else None,
        purveyor=purveyor,
        www_base=www_base,
        scraped_at=scraped_at,
    )
    listings = [listing for item in items if (listing := _full_item(item, ctx)) is not None]
    return SearchPage(
        listings=listings,
        total=_int(data.get("totalResultCount")),
        item_count=len(items),
        cache_ts=_int(data.get("cacheTs")),
    )


def parse_paging_setup(response: TextResponse) -> PagingSetup:
    """The ``cacheId`` and ``maxPostedTs`` the ``batch`` calls need."""
    data = _json_payload(response)
    cache_id, max_ts = data.get("cacheId"), _int(data.get("maxPostedTs"))
    if cache_id in (None, "") or max_ts is None:
        raise UnexpectedShapeError("no cacheId/maxPostedTs in the paging set-up answer")
    return PagingSetup(cache_id=str(cache_id), max_posted_ts=max_ts)


def _batch_item(item: Any, min_posting_id: int, ctx: _ApiContext) -> Listing | None:
    if not isinstance(item, list) or len(item) < 2 or _int(item[0]) is None:
        return None
    tags = _tags(item)
    title = next((m for m in item[1:] if isinstance(m, str)), None)
    images = next(
        (m for m in item[1:] if isinstance(m, list) and (not m or isinstance(m[0], str))), []
    )
    posting_id = min_posting_id + item[0]
    slug, uuid = _tag_value(tags, TAG_SLUG), _tag_value(tags, TAG_UUID)
    price_raw = _price_raw(tags, None)
    odometer = _int(_tag_value(tags, TAG_ODOMETER))
    return Listing(
        source=SOURCE,
        listing_id=str(posting_id),
        url=_listing_url(ctx, posting_id, slug, uuid, None),
        scraped_at=ctx.scraped_at,
        title=scrub_contacts(_clean(title)),
        price_raw=price_raw,
        mileage_raw=str(odometer) if odometer is not None else None,
        seller_type=_purveyor(ctx.purveyor),
        price_basis="asking" if price_raw else None,
        image_urls=_image_urls(images),
    )


def parse_search_batch(
    response: TextResponse,
    scraped_at: str | None = None,
    *,
    purveyor: str | None = None,
    www_base: str = WWW,
) -> SearchPage:
    """A ``search/batch`` answer (results past the first page).

    Batch items carry no purveyor code, place or time: the seller type is the request's
    ``purveyor``. Posting id is ``data.minPostingId + item[0]``.
    """
    data = _json_payload(response)
    batch, min_id = data.get("batch"), _int(data.get("minPostingId"))
    if not isinstance(batch, list):
        raise UnexpectedShapeError("no data.batch list")
    if batch and min_id is None:
        raise UnexpectedShapeError("batch without minPostingId")
    ctx = _ApiContext(0, None, [], [], {}, None, purveyor, www_base, scraped_at)
    listings = [
        listing for item in batch if (listing := _batch_item(item, min_id or 0, ctx)) is not None
    ]
    return SearchPage(listings=listings, total=None, item_count=len(batch))


def raw_fields_from_attributes(
    labelled: dict[str, str], keyed: dict[str, str] | None = None
) -> dict[str, str | None]:
    """year_raw, make_model_raw, drive_raw, transmission_raw, mileage_raw from the attributes."""
    keyed = keyed or {}
    return {
        raw: next((v for n in names if (v := keyed.get(n) or labelled.get(n))), None)
        for raw, names in _RAW_ATTRIBUTES.items()
    }


# --- posting-detail API ------------------------------------------------------------------------


def _html_text(html: str | None) -> str | None:
    if not html:
        return None
    html = re.sub(r"<br\s*/?>", "\n", html, flags=re.I)
    return _paragraphs("".join(Selector(text=f"<div>{html}</div>").xpath("//text()").getall()))


def _api_attributes(entries: list) -> tuple[dict[str, str], dict[str, str]]:
    """``attributes[]`` by label and by ``postingAttributeKey``, without contact entries."""
    labelled: dict[str, str] = {}
    keyed: dict[str, str] = {}
    for attr in entries:
        if not isinstance(attr, dict) or attr.get("value") in (None, ""):
            continue
        key = attr.get("postingAttributeKey")
        name = _clean(str(attr.get("label") or "")) or key
        value = scrub_contacts(_clean(str(attr["value"])))
        if not name or value is None or name.lower() in _CONTACT_LABELS:
            continue
        labelled[name] = value
        if key:
            keyed[key] = value
    return labelled, keyed


def parse_posting_api(response: TextResponse, scraped_at: str | None = None) -> Listing:
    """The posting-detail API (``/web/v8/postings/<uuid>``), ``data.items[0]``.

    ``attributes[]`` go to ``Listing.attributes`` by their ``label``; the ``auto_*`` keys fill the
    raw fields as on the posting page. ``body`` holds contact details: they are removed.
    """
    data = _json_payload(response)
    items = data.get("items")
    if not isinstance(items, list) or not items or not isinstance(items[0], dict):
        raise UnexpectedShapeError("no data.items[0]")
    post = items[0]
    if _int(post.get("postingId")) is None:
        raise UnexpectedShapeError("no postingId")
    attributes, by_key = _api_attributes(post.get("attributes") or [])
    location = post.get("location") if isinstance(post.get("location"), dict) else {}
    price_raw = _clean(post.get("priceString")) or (
        str(post["price"]) if _int(post.get("price")) is not None and post["price"] >= 0 else None
    )
    if _int(post.get("updatedDate")) is not None:
        attributes["updated"] = _unix_iso(post["updatedDate"])
    category = post.get("categoryAbbr")
    return Listing(
        source=SOURCE,
        listing_id=str(post["postingId"]),
        url=post.get("url") or posting_url(WWW, None, str(post.get("postingUuid"))),
        scraped_at=scraped_at,
        title=scrub_contacts(_clean(post.get("title"))),
        description=scrub_contacts(_html_text(post.get("body"))),
        price_raw=price_raw,
        location_raw=_clean(location.get("description")) or None,
        posted_raw=_unix_iso(post.get("postedDate")),
        attributes=attributes,
        seller_type=CATEGORY_SELLER.get(category) if isinstance(category, str) else None,
        price_basis="asking" if price_raw else None,
        image_urls=_image_urls(post.get("images") or []),
        latitude=_float(location.get("lat")),
        longitude=_float(location.get("lon")),
        **raw_fields_from_attributes(attributes, by_key),
    )


# --- posting HTML page -------------------------------------------------------------------------


def _cl_init(response: TextResponse, key: str, *, number: bool = True) -> str | None:
    pattern = (_INIT_NUMBER if number else _INIT_STRING).format(key=re.escape(key))
    match = re.search(pattern, response.text)
    return match.group(1) if match else None


def _ld_json(response: TextResponse, element_id: str) -> dict:
    raw = response.css(f"script#{element_id}::text").get()
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _post_id(response: TextResponse) -> str | None:
    for info in response.css(".postinginfo"):
        match = re.search(r"post id:\s*(\d+)", _text(info) or "")
        if match:
            return match.group(1)
    return _cl_init(response, "pID")


def _extra_class(node, known: tuple[str, ...]) -> str | None:
    return next((c for c in node.attrib.get("class", "").split() if c not in known), None)


def parse_attributes(response: TextResponse) -> tuple[dict[str, str], dict[str, str]]:
    """The ``attrgroup`` pairs by the site's label, and the same values by attribute key.

    The label is ``span.labl`` without its colon; the important group (year, make/model) has no
    labels, so its ``span.valu`` class names them; unlabelled flags use the ``div.attr`` class.
    The "contact" attribute is dropped.
    """
    labelled: dict[str, str] = {}
    keyed: dict[str, str] = {}
    for attr in response.css(".attrgroup .attr"):
        key = _extra_class(attr, ("attr", "important"))
        label = _text(attr.css(".labl"))
        label = label.rstrip(":").strip() if label else None
        for valu in attr.css(".valu"):
            value_key = _extra_class(valu, ("valu",)) or key
            name = label or value_key
            value = scrub_contacts(_text(valu))
            if not name or value is None or name.lower() in _CONTACT_LABELS:
                continue
            labelled[name] = value
            if value_key:
                keyed[value_key] = value
    return labelled, keyed


def _posting_times(response: TextResponse) -> dict[str, str]:
    """``posted``/``updated`` times of the ``postinginfos`` block, by their label."""
    times = {}
    for info in response.css(".postinginfos .postinginfo"):
        label = (info.xpath("normalize-space(text())").get() or "").rstrip(":").strip().lower()
        when = info.css("time::attr(datetime)").get()
        if label in ("posted", "updated") and when:
            times[label] = when.strip()
    if "posted" not in times:
        shown = response.css("#display-date time::attr(datetime)").get()
        if shown:
            times["posted"] = shown.strip()
    return times


def _place(response: TextResponse, ld: dict) -> str | None:
    spans = response.xpath(
        '//*[contains(@class,"postingtitletext")]/span[not(@class) and not(@id)]'
    )
    for span in reversed(spans):
        text = _text(span)
        if text and text.startswith("(") and text.endswith(")"):
            return _clean(text[1:-1])
    address = _dig(ld, "offers", "availableAtOrFrom", "address") or ld.get("address")
    if isinstance(address, dict) and address.get("addressLocality"):
        return _clean(address["addressLocality"])
    return _clean(response.css('meta[name="geo.placename"]::attr(content)').get())


def _coordinates(response: TextResponse, ld: dict) -> tuple[float | None, float | None]:
    mapbox = response.css("#map")
    lat, lon = mapbox.attrib.get("data-latitude"), mapbox.attrib.get("data-longitude")
    if lat is None:
        geo = response.css('meta[name="geo.position"]::attr(content)').get()
        if geo and ";" in geo:
            lat, lon = geo.split(";", 1)
    if lat is None:
        geo = _dig(ld, "offers", "availableAtOrFrom", "geo")
        lat, lon = _dig(geo, "latitude"), _dig(geo, "longitude")
    return _float(lat), _float(lon)


def _posting_images(response: TextResponse, ld: dict) -> list[str]:
    thumbs = response.css("#thumbs a.thumb::attr(href)").getall()
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


def _description(response: TextResponse) -> str | None:
    parts = response.xpath(
        '//*[@id="postingbody"]//text()[not(ancestor::*[contains(@class,"print-information")])]'
    ).getall()
    return scrub_contacts(_paragraphs("".join(parts)))


def _posting_price(response: TextResponse, ld: dict) -> tuple[str | None, str | None]:
    shown = _text(response.css(".postingtitletext .price"))
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
    listing_id = _post_id(response)
    if listing_id is None:
        raise UnexpectedShapeError(f"no post id on {response.url}")
    ld = _ld_json(response, "ld_posting_data")
    attributes, keyed = parse_attributes(response)
    times = _posting_times(response)
    if "updated" in times:
        attributes["updated"] = times["updated"]
    price_raw, currency_raw = _posting_price(response, ld)
    latitude, longitude = _coordinates(response, ld)
    return Listing(
        source=SOURCE,
        listing_id=listing_id,
        url=response.url,
        scraped_at=scraped_at,
        title=scrub_contacts(_text(response.css("#titletextonly")) or _clean(ld.get("name"))),
        description=_description(response),
        price_raw=price_raw,
        currency_raw=currency_raw,
        location_raw=_place(response, ld),
        posted_raw=times.get("posted"),
        attributes=attributes,
        seller_type=_seller_type(response),
        price_basis="asking" if price_raw else None,
        image_urls=_posting_images(response, ld),
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
    results = response.css("ol.cl-static-search-results")
    if not results:
        raise UnexpectedShapeError(f"no cl-static-search-results list on {response.url}")
    rows = results.css("li.cl-static-search-result")
    geo = _static_geo(response)
    listings = []
    for row in rows:
        href = row.css("a::attr(href)").get()
        url = response.urljoin(href.strip()) if href else None
        listing_id = listing_id_from_url(url) if url else None
        if listing_id is None:
            continue
        title = _clean(row.attrib.get("title")) or _text(row.css(".title"))
        price_raw = _text(row.css(".details .price"))
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
                location_raw=_text(row.css(".details .location")),
                seller_type=_purveyor(purveyor)
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
    for name in RAW_FIELDS:
        value = getattr(posting, name)
        if value not in (None, "", [], {}):
            updates[name] = value
    if search.attributes and posting.attributes:
        updates["attributes"] = {**search.attributes, **posting.attributes}
    if not search.listing_id.isdigit():
        updates["listing_id"] = posting.listing_id
    return replace(search, **updates)


def parse_page(response: TextResponse, scraped_at: str | None = None) -> list[Listing]:
    """Any saved Craigslist answer -> its listings (for ``keitrucks parse`` and debugging)."""
    if looks_like_json(response.body):
        data = _json_payload(response)
        if "batch" in data:
            return parse_search_batch(response, scraped_at).listings
        items = data.get("items")
        if isinstance(items, list) and items and isinstance(items[0], dict):
            return [parse_posting_api(response, scraped_at)]
        return parse_search_full(response, scraped_at).listings
    if response.css("ol.cl-static-search-results, " + RENDERED_RESULT_CSS):
        return _parse_search(response, scraped_at)
    return [parse_posting(response, scraped_at)]


def _parse_search(response: TextResponse, scraped_at: str | None = None) -> list[Listing]:
    if looks_like_json(response.body):
        if "batch" in _json_payload(response):
            return parse_search_batch(response, scraped_at).listings
        return parse_search_full(response, scraped_at).listings
    if response.css(RENDERED_RESULT_CSS):
        return parse_search_rendered(response, scraped_at)
    return parse_search_static(response, scraped_at).listings


def _parse_detail(response: TextResponse, scraped_at: str | None = None) -> list[Listing]:
    if looks_like_json(response.body):
        return [parse_posting_api(response, scraped_at)]
    return [parse_posting(response, scraped_at)]


#: Page kinds for ``keitrucks parse --kind``: each takes (response, scraped_at) -> listings.
PAGE_PARSERS = {"search": _parse_search, "detail": _parse_detail}
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

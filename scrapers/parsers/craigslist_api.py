"""Craigslist's JSON answers: the search API (``full``, the paging set-up and ``batch``) and
the posting-detail API (``/web/v8/postings/<uuid>``).

API items are arrays whose layout varies from item to item, so they are read by tag and from the
ends, never by fixed position. Contact details are removed from every text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from parsel import Selector
from scrapy.http import TextResponse

from scrapers.items import Listing
from scrapers.parsers.craigslist_text import (
    CATEGORY_SELLER,
    keep_attribute,
    raw_fields_from_attributes,
    scrub_contacts,
)
from scrapers.parsers.craigslist_text import as_float as _float
from scrapers.parsers.craigslist_text import as_int as _int
from scrapers.parsers.craigslist_text import clean as _clean
from scrapers.parsers.craigslist_text import paragraphs as _paragraphs
from scrapers.parsers.craigslist_text import unix_iso as _unix_iso

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

_LOCATION = re.compile(r"^(\d+):(\d+)~(-?\d+(?:\.\d+)?)~(-?\d+(?:\.\d+)?)$")


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


def image_url(image_id: str) -> str | None:
    """``"3:00h0h_4R4y4ghJzOC_0CI0t2"`` -> the 600x450 picture on images.craigslist.org."""
    code = image_id.split(":", 1)[-1] if isinstance(image_id, str) else None
    return f"{IMAGE_HOST}/{code}_{IMAGE_SIZE}.jpg" if code else None


def _image_urls(ids: list) -> list[str]:
    return [url for url in (image_url(i) for i in ids) if url]


def json_payload(response: TextResponse) -> dict:
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
    offset = _int(scalars[1]) if len(scalars) > 1 else None
    posted = ctx.min_posted + offset if ctx.min_posted is not None and offset is not None else None
    return _api_listing(
        ctx,
        ctx.min_posting_id + item[0],
        tags,
        item[-1] if isinstance(item[-1], str) else None,
        number=number,
        loc_index=loc_index,
        seller=seller,
        images=tags.get(TAG_IMAGES, []),
        currency_raw=_currency(ctx, loc_index),
        location_raw=_place_description(ctx, int(place.group(2)) if place else None),
        posted_raw=_unix_iso(posted),
        latitude=float(place.group(3)) if place else None,
        longitude=float(place.group(4)) if place else None,
    )


def _api_listing(
    ctx: _ApiContext,
    posting_id: int,
    tags: dict[int, list],
    title: str | None,
    *,
    images: list,
    number: int | None = None,
    loc_index: int | None = None,
    seller: str | None = None,
    **fields: Any,
) -> Listing:
    """The listing of a search API item: what its tags give, plus the item kind's own fields."""
    slug, uuid = _tag_value(tags, TAG_SLUG), _tag_value(tags, TAG_UUID)
    price_raw = _price_raw(tags, number)
    odometer = _int(_tag_value(tags, TAG_ODOMETER))
    return Listing(
        source=SOURCE,
        listing_id=str(posting_id),
        url=_listing_url(ctx, posting_id, slug, uuid, loc_index),
        scraped_at=ctx.scraped_at,
        title=scrub_contacts(_clean(title)),
        price_raw=price_raw,
        mileage_raw=str(odometer) if odometer is not None else None,
        seller_type=seller or purveyor_type(ctx.purveyor),
        price_basis="asking" if price_raw else None,
        image_urls=_image_urls(images),
        **fields,
    )


def purveyor_type(purveyor: str | None) -> str | None:
    """The request's purveyor as a seller type ("owner" or "dealer"), else None."""
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
    data = json_payload(response)
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
    data = json_payload(response)
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
    return _api_listing(ctx, min_posting_id + item[0], tags, title, images=images)


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
    data = json_payload(response)
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
        keep_attribute(labelled, keyed, name, key, scrub_contacts(_clean(str(attr["value"]))))
    return labelled, keyed


def parse_posting_api(response: TextResponse, scraped_at: str | None = None) -> Listing:
    """The posting-detail API (``/web/v8/postings/<uuid>``), ``data.items[0]``.

    ``attributes[]`` go to ``Listing.attributes`` by their ``label``; the ``auto_*`` keys fill the
    raw fields as on the posting page. ``body`` holds contact details: they are removed.
    """
    data = json_payload(response)
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

"""Sample Craigslist: search API answers and posting pages rendered from the catalog.

For each configured area, query and purveyor (``DEFAULT_CONFIG["sources"]["craigslist"]``) one
``search/full`` answer in the JSON shape of ``sapi.craigslist.org`` (``decode`` offsets, tagged
item arrays, ``locationDescriptions``, ``areas`` currency, ``totalResultCount``, ``cacheTs``),
holding the night's listings of that area whose title or description contains the query and
whose seller is that purveyor; and one posting page per listing in the posting template, on the
current ``/view/d/<slug>/<uuid>`` form (uuid derived from the listing id, so stable across
nights). Odometers are miles: a truck whose catalog mileage is in km shows it only in its text.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from html import escape
from urllib.parse import quote, urlencode

from keitrucks.core.config import DEFAULT_CONFIG
from keitrucks.sample.catalog import NIGHTS, SampleTruck, listings_on, night_date
from keitrucks.sample.site import Route

SOURCE = "craigslist"
API_PATH = "/web/v8/postings/search/full"
PAGE_SIZE = 360
PURVEYOR_CODES = {"owner": 145, "dealer": 146}
#: Sample area ids (the real ones are not needed: the spider never sends them).
_AREA_IDS = {
    "knoxville": 261,
    "nashville": 220,
    "asheville": 358,
    "atlanta": 14,
    "charlotte": 41,
    "raleigh": 36,
}
#: Local UTC offsets of the sample areas in November (Nashville is on Central time).
_UTC_OFFSETS = {"nashville": -6}
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


# --- identity, times and words per listing -----------------------------------------------------


def _digest(text: str) -> bytes:
    return hashlib.sha1(f"craigslist-sample:{text}".encode()).digest()


def _base62(data: bytes, length: int) -> str:
    number = int.from_bytes(data, "big")
    chars = []
    for _ in range(length):
        number, rest = divmod(number, 62)
        chars.append(_BASE62[rest])
    return "".join(chars)


def posting_uuid(listing_id: str) -> str:
    """The 22-character token of a listing, the same every night."""
    return _base62(_digest(listing_id), 22)


def area_of(truck: SampleTruck) -> str:
    """The Craigslist site of a truck's location: "Knoxville, TN" -> "knoxville"."""
    return re.sub(r"[^a-z]", "", truck.location.split(",")[0].lower())


def slug(truck: SampleTruck) -> str:
    words = re.findall(r"[a-z0-9]+", f"{truck.location.split(',')[0]} {truck.title}".lower())
    return "-".join(words[:6])


def _as_of(night: int, nights: int = len(NIGHTS)) -> datetime:
    return datetime.fromisoformat(night_date(night, nights)).replace(hour=6, tzinfo=UTC)


def _first_night(truck: SampleTruck) -> int:
    return next(n for n, state in enumerate(truck.nights) if state is not None)


def posted_at(truck: SampleTruck) -> datetime:
    """Between 1 and 22 hours before the as-of time of the first night that shows it."""
    hours = 1 + int(truck.listing_id) % 22
    return _as_of(_first_night(truck), len(truck.nights)) - timedelta(
        hours=hours, minutes=int(truck.listing_id) % 53
    )


def updated_at(truck: SampleTruck, night: int) -> datetime | None:
    """When the seller last changed the price, as of ``night`` (None when never)."""
    changed, last_price = None, None
    for n in range(_first_night(truck), night + 1):
        state = truck.nights[n]
        if state is None:
            continue
        if last_price is not None and state.price != last_price:
            changed = n
        last_price = state.price
    if changed is None:
        return None
    return _as_of(changed, len(truck.nights)) - timedelta(
        hours=2 + int(truck.listing_id) % 9, minutes=17
    )


def _local(truck: SampleTruck, moment: datetime) -> datetime:
    offset = _UTC_OFFSETS.get(area_of(truck), -5)
    return moment.astimezone(timezone(timedelta(hours=offset)))


def _page_time(truck: SampleTruck, moment: datetime) -> tuple[str, str]:
    local = _local(truck, moment)
    return local.strftime("%Y-%m-%dT%H:%M:%S%z"), local.strftime("%Y-%m-%d %H:%M")


def _image_ids(truck: SampleTruck) -> list[str]:
    """Photo ids ``"3:<code>"``; wanted ads and every ninth truck have none."""
    if truck.kind == "wanted" or int(truck.listing_id) % 9 == 0:
        return []
    ids = []
    for n in range(1 + int(truck.listing_id) % 4):
        digest = _digest(f"{truck.listing_id}/{n}")
        size = _BASE62[digest[0] % 62]
        ids.append(f"3:00{size}0{size}_{_base62(digest[1:], 11)}_0CI0t2")
    return ids


def _image_url(image_id: str, size: str = "600x450") -> str:
    return f"https://images.craigslist.org/{image_id.split(':', 1)[1]}_{size}.jpg"


def _drive(truck: SampleTruck) -> str | None:
    if truck.is_4wd is None:
        return None
    return "4wd" if truck.is_4wd else "rwd"


def _odometer(truck: SampleTruck) -> int | None:
    """The odometer field is miles; a seller who enters a km reading there shows it as miles."""
    shown = truck.mileage_unit == "mi" or "km_as_miles" in truck.tags
    return truck.mileage if truck.mileage is not None and shown else None


#: Craigslist's "title status" values and their search codes; other titles are not offered.
TITLE_STATUS = {"clean": 1, "salvage": 2, "rebuilt": 3, "parts only": 4, "lien": 5, "missing": 6}


def _category(truck: SampleTruck) -> str:
    return "ctd" if truck.seller_type == "dealer" else "cto"


def matches(truck: SampleTruck, query: str) -> bool:
    """Craigslist's keyword search, as the sample plays it: the words anywhere in the text."""
    text = f"{truck.title} {truck.description}"
    return re.search(rf"\b{re.escape(query)}\b", text, re.I) is not None


# --- search API --------------------------------------------------------------------------------


def search_target(area: str, query: str, purveyor: str) -> str:
    params = {
        "batch": f"0-0-{PAGE_SIZE}-0-0",
        "cat": "cta",
        "cc": "us",
        "lang": "en",
        "purveyor": purveyor,
        "query": query,
        "searchPath": f"area/{area}",
    }
    return f"/{SOURCE}/sapi{API_PATH}?{urlencode(params)}"


def _area_id(area: str) -> int:
    return _AREA_IDS.get(area, 500 + int.from_bytes(_digest(area)[:2], "big") % 400)


def _search_item(truck, night, min_id, min_posted, place_index, image_ids) -> list:
    state = truck.nights[night]
    item: list = [
        int(truck.listing_id) - min_id,
        int(posted_at(truck).timestamp()) - min_posted,
        PURVEYOR_CODES[truck.seller_type],
        state.price if state.price is not None else -1,
        f"1:{place_index}~{truck.latitude}~{truck.longitude}",
        image_ids[0].rsplit("_", 1)[1] if image_ids else 0,
    ]
    if not image_ids:
        item.append(-5)  # the real API adds a negative number after a missing photo suffix
    item.append([13, posting_uuid(truck.listing_id)])
    if image_ids:
        item.append([4, *image_ids])
    item.append([6, slug(truck)])
    if _odometer(truck) is not None:
        item.append([9, _odometer(truck)])
    if state.price is not None:
        item.append([10, f"${state.price:,}"])
    item.append(truck.title)
    return item


def search_answer(
    trucks: list[SampleTruck], night: int, area: str, query: str, purveyor: str, nights: int = 3
):
    """The ``search/full`` JSON of one search (``trucks`` already filtered for it); ``nights``:
    how many nights the catalog's trucks have (:func:`~keitrucks.sample.catalog.night_date`)."""
    as_of = int(_as_of(night, nights).timestamp())
    area_id = _area_id(area)
    trucks = sorted(trucks, key=lambda t: posted_at(t), reverse=True)
    min_id = min((int(t.listing_id) for t in trucks), default=0)
    posted = [int(posted_at(t).timestamp()) for t in trucks]
    min_posted = min(posted, default=as_of)
    places: list = [0]
    items = []
    for truck in trucks:
        if truck.location not in places:
            places.append(truck.location)
        items.append(
            _search_item(
                truck, night, min_id, min_posted, places.index(truck.location), _image_ids(truck)
            )
        )
    query_part = f"&query={quote(query)}"
    return {
        "apiVersion": 8,
        "configId": hashlib.sha256(b"keitrucks-sample-config").hexdigest(),
        "configTs": as_of - 5400,
        "data": {
            "areas": {
                str(area_id): {
                    "areaUnits": "ft",
                    "currency": "USD",
                    "distanceUnits": "mi",
                    "name": area,
                }
            },
            "bundleDups": 0,
            "cacheTs": as_of - 120,
            "canonicalUrl": f"//www.craigslist.org/search/area/{area}?cat=cta"
            f"&purveyor={purveyor}{query_part}",
            "categoryAbbr": "ctd" if purveyor == "dealer" else "cto",
            "decode": {
                "locationDescriptions": places,
                "locations": [0, [area_id, area]],
                "maxPostedDate": max(posted, default=as_of),
                "minDate": as_of + 30 * 86400,
                "minPostedDate": min_posted,
                "minPostingId": min_id,
                "neighborhoods": [0],
                "version": 2,
            },
            "detailsOrder": "date",
            "filters": [
                {"autocomplete": "search", "label": "query", "name": "query", "type": "text"},
                {
                    "label": "sold by",
                    "name": "purveyor",
                    "options": [
                        {"label": "all", "value": "all"},
                        {"label": "owner", "value": "owner"},
                        {"label": "dealer", "value": "dealer"},
                    ],
                    "type": "select",
                },
                {
                    "label": "drive",
                    "name": "auto_drivetrain",
                    "options": [
                        {"label": "fwd", "value": 1},
                        {"label": "rwd", "value": 2},
                        {"label": "4wd", "value": 3},
                    ],
                    "type": "multi",
                    "variant": "standard",
                },
            ],
            "hubLinks": [],
            "humanReadableParams": [
                {"key": "purveyor", "value": f"for sale by {purveyor}"},
                {"key": "query", "value": query},
            ],
            "items": items,
            "lang": "en_US",
            "location": {"areaId": area_id, "country": "US", "url": f"{area}.craigslist.org"},
            "pageTitle": f'{area} cars & trucks for sale by {purveyor} "{query}" - craigslist',
            "params": {"cat": "cta", "purveyor": purveyor, "query": query},
            "relatedSearches": [],
            "resultsOrder": "date",
            "totalResultCount": len(items),
            "updated": as_of - 120,
            "vicinity": None,
        },
        "errors": [],
    }


# --- posting page ------------------------------------------------------------------------------


def posting_path(truck: SampleTruck) -> str:
    return f"/view/d/{slug(truck)}/{posting_uuid(truck.listing_id)}"


def _ld_posting(truck: SampleTruck, night: int, images: list[str]) -> dict:
    city, _, region = truck.location.partition(",")
    offers: dict = {"@type": "Offer"}
    price = truck.nights[night].price
    if price is not None:
        offers.update(price=f"{price}.00", priceCurrency="USD")
    offers["availableAtOrFrom"] = {
        "@type": "Place",
        "address": {
            "@type": "PostalAddress",
            "addressCountry": "US",
            "addressLocality": city.strip(),
            "addressRegion": region.strip(),
            "postalCode": "",
            "streetAddress": "",
        },
        "geo": {
            "@type": "GeoCoordinates",
            "latitude": f"{truck.latitude:.6f}",
            "longitude": f"{truck.longitude:.6f}",
        },
    }
    description = truck.description if len(truck.description) < 300 else truck.description[:297]
    return {
        "@context": "http://schema.org",
        "@type": "Product",
        "name": truck.title,
        "description": description,
        "image": images,
        "offers": offers,
    }


def _attr(key: str, label: str, value: str, search: str | None = None) -> str:
    shown = escape(value)
    if search:
        shown = f'<a href="/search/cta?{search}">{shown}</a>'
    return (
        f'            <div class="attr {key}">\n'
        f'                <span class="labl">{escape(label)}:</span>\n'
        f'                <span class="valu">{shown}</span>\n'
        "            </div>\n"
    )


def _attr_groups(truck: SampleTruck) -> str:
    important = ""
    if truck.year is not None or truck.model is not None:
        parts = []
        if truck.year is not None:
            parts.append(f'<span class="valu year">{truck.year}</span>')
        if truck.model is not None:
            link = f"/search/cta?auto_make_model={quote(truck.model.lower())}"
            parts.append(
                f'<span class="valu makemodel"><a href="{link}">{escape(truck.model)}</a></span>'
            )
        important = (
            '    <div class="attrgroup">\n        <div class="attr important">\n            '
            + "\n            ".join(parts)
            + "\n        </div>\n    </div>\n"
        )
    rows = []
    drive = _drive(truck)
    if drive:
        code = {"fwd": 1, "rwd": 2, "4wd": 3}[drive]
        rows.append(_attr("auto_drivetrain", "drive", drive, f"auto_drivetrain={code}"))
    if _odometer(truck) is not None:
        rows.append(_attr("auto_miles", "odometer", f"{_odometer(truck):,}"))
    if truck.kind in ("kei_truck", "kei_van", "other_vehicle"):
        rows.append(_attr("auto_paint", "paint color", truck.color.lower()))
    if truck.transmission:
        code = {"manual": 1, "automatic": 2}.get(truck.transmission, 3)
        rows.append(
            _attr(
                "auto_transmission", "transmission", truck.transmission, f"auto_transmission={code}"
            )
        )
    if truck.title_status in TITLE_STATUS:
        status, code = truck.title_status, TITLE_STATUS[truck.title_status]
        rows.append(_attr("auto_title_status", "title status", status, f"auto_title_status={code}"))
    if truck.kind == "kei_truck" and truck.model is not None:
        rows.append(_attr("auto_bodytype", "type", "truck", "auto_bodytype=9"))
    if not rows:
        return important
    return important + '    <div class="attrgroup">\n' + "".join(rows) + "    </div>\n"


def _cl_init(truck: SampleTruck) -> str:
    lines = [
        f"'areaId': {_area_id(area_of(truck))},",
        f"'categoryAbbr': \"{_category(truck)}\",",
        "'defaultLocale': \"en_US\",",
        f"'pID': {truck.listing_id},",
    ]
    if truck.repost_of:
        lines.append(f"'repost_of': {truck.repost_of},")
    lines.append("'subareaId': 0")
    return "\n".join(lines)


def posting_page(truck: SampleTruck, night: int) -> str:
    """The posting page of ``truck`` as it reads on ``night``."""
    state = truck.nights[night]
    image_ids = _image_ids(truck)
    images = [_image_url(i) for i in image_ids]
    url = f"https://www.craigslist.org{posting_path(truck)}"
    city, _, region = truck.location.partition(",")
    seller = "dealer" if truck.seller_type == "dealer" else "owner"
    page_title = f"{truck.title} for sale by {seller} - {truck.location} - craigslist"
    posted_iso, posted_text = _page_time(truck, posted_at(truck))
    updated = updated_at(truck, night)
    price = f' - <span class="price">${state.price:,}</span>' if state.price is not None else ""
    thumbs = "".join(
        f'<a id="{n}_thumb" class="thumb" href="{u}" title="{n}">'
        f'<img src="{_image_url(i, "50x50c")}" alt="{escape(truck.title)} {n} thumbnail"></a>'
        for n, (i, u) in enumerate(zip(image_ids, images, strict=True), start=1)
    )
    gallery = (
        f'    <figure class="iw multiimage">\n    <div id="thumbs">{thumbs}</div>\n    </figure>\n'
        if images
        else ""
    )
    updated_line = ""
    if updated is not None:
        iso, text = _page_time(truck, updated)
        updated_line = (
            '                <p class="postinginfo reveal">updated: '
            f'<time class="date timeago" datetime="{iso}">{text}</time></p>\n'
        )
    ld = json.dumps(_ld_posting(truck, night, images), ensure_ascii=False)
    og_image = f'\t<meta property="og:image" content="{images[0]}">\n' if images else ""
    section = "for sale by dealer" if seller == "dealer" else "for sale by owner"
    description = escape(truck.description)
    return f"""<!DOCTYPE html>
<html>
<head>
\t<meta charset="UTF-8">
\t<meta name="viewport" content="width=device-width,initial-scale=1">
\t<meta property="og:site_name" content="craigslist">
\t<meta property="og:title" content="{escape(page_title)}">
\t<meta name="description" content="{escape(truck.description[:160])}">
\t<meta property="og:url" content="{url}">
{og_image}\t<meta name="geo.position" content="{truck.latitude:.6f};{truck.longitude:.6f}">
\t<meta name="geo.placename" content="{escape(city.strip())}">
\t<meta name="geo.region" content="US-{escape(region.strip())}">
\t<title>{escape(page_title)}</title>
\t<link rel="canonical" href="{url}">
<script type="application/ld+json" id="ld_posting_data" >
    {ld}
</script>
     <script>
         window.cl.init(
             'https://www.craigslist.org/static/www/',
             '',
             'www',
             'posting',
             {{
{_cl_init(truck)}
}},
             0
         );
     </script>
</head>
<body class="no-js show-curtain opaque posting">
<section class="page-container flexed-footer">
<header class="global-header wide">
    <nav class="breadcrumbs-container">
<ul class="breadcrumbs">
        <li class="crumb area"><p><a href="/search/area/{area_of(truck)}">{area_of(truck)}</a></p>\
</li>
        <li class="crumb section"><p><a href="/search/area/{area_of(truck)}?cat=sss">{section}</a>\
</p></li>
        <li class="crumb category"><p>\
<a href="/search/area/{area_of(truck)}?cat=cta&amp;purveyor={seller}">cars+trucks</a></p></li>
</ul>
    </nav>
</header>
<section class="body">
<header class="dateReplyBar">
            <p id="display-date" class="postinginfo reveal">
                    Posted
                    <time class="date timeago" datetime="{posted_iso}">
                        {posted_text}
                    </time>
            </p>
</header>
<h1 class="postingtitle">
    <span class="postingtitletext">
<span id="titletextonly">{escape(truck.title)}</span>{price}<span> ({escape(truck.location)})\
</span>    </span>
</h1>
<section class="userbody">
{gallery}    <div class="mapAndAttrs">
<div class="mapbox">
    <div id="map" class="viewposting" data-latitude="{truck.latitude:.6f}"\
 data-longitude="{truck.longitude:.6f}" data-accuracy="10"></div>
</div>
{_attr_groups(truck)}    </div>
    <section id="postingbody">
        <div class="print-information print-qrcode-container">
            <p class="print-qrcode-label">QR Code Link to This Post</p>
            <div class="print-qrcode" data-location="{url}"></div>
        </div>
{description}<br>
    </section>
<ul class="notices">
</ul>
    <div class="postinginfos">
            <p class="postinginfo">post id: {truck.listing_id}</p>
                <p class="postinginfo reveal">posted: \
<time class="date timeago" datetime="{posted_iso}">{posted_text}</time></p>
{updated_line}    </div>
</section>
</section>
<footer class="cl-footer-tx">
    <div class="copyright">&copy; 2026 craigslist</div>
</footer>
</section>
</body>
</html>
"""  # noqa: E501


# --- the night ---------------------------------------------------------------------------------


def render(catalog: list[SampleTruck], night: int) -> list[Route]:
    """Every search answer and posting page of ``night`` (0-2)."""
    config = DEFAULT_CONFIG["sources"][SOURCE]
    shown = listings_on(catalog, SOURCE, night)
    nights = len(catalog[0].nights) if catalog else len(NIGHTS)
    routes = []
    for area in config["areas"]:
        local = [t for t in shown if area_of(t) == area]
        for query in config["queries"]:
            for purveyor in config["purveyors"]:
                found = [t for t in local if t.seller_type == purveyor and matches(t, query)]
                body = json.dumps(
                    search_answer(found, night, area, query, purveyor, nights),
                    ensure_ascii=False,
                    separators=(",", ":"),
                )
                routes.append(
                    Route(
                        search_target(area, query, purveyor),
                        body.encode(),
                        "application/json; charset=utf-8",
                    )
                )
    for truck in shown:
        routes.append(
            Route(f"/{SOURCE}/www{posting_path(truck)}", posting_page(truck, night).encode())
        )
    return routes

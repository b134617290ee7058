"""Sample eBay Motors: Browse API answers and HTML pages rendered from the catalog.

For each configured query (``urls.EBAY_QUERIES``) the night's listings whose title holds
every word of the query, newest first, in two forms: ``item_summary/search`` answers (JSON shape
of the Browse API: ``total``, ``next``, ``limit``, ``offset``, ``itemSummaries``) and search
pages in the current ``li.s-card`` layout (count heading, "Shop on eBay" placeholder card before
``ul.srp-results``, ``a.pagination__next``; an empty search shows eBay's "No exact matches found"
block). The sample serves at most :data:`PAGE_SIZE` results per page whatever size is asked, so
paging is exercised. Per listing: a ``getItem`` answer (``localizedAspects`` Year, Make, Model,
Mileage, Drive Type, Transmission, VIN, Engine, For Sale By; the description; availability) and
an item page ("vi-evo" item specifics). Plus the OAuth token answer. Seller names appear in the
pages, as on eBay, and must never reach the database.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from html import escape
from urllib.parse import urlencode

from keitrucks.sample.catalog import NIGHTS, SampleTruck, listings_on, night_date
from keitrucks.sample.site import Route
from keitrucks.sample.urls import (
    EBAY_QUERIES,
    EBAY_TOKEN,
    ebay_api_item,
    ebay_api_search,
    ebay_html_search,
    ebay_item_page,
)

SOURCE = "ebay"
API = "https://api.ebay.com"
WWW = "https://www.ebay.com"
#: Results per page the sample serves (eBay would serve up to the size asked).
PAGE_SIZE = 5
JSON_TYPE = "application/json"
TOKEN = "v^1.1#i^1#r^0#sample-application-token"
#: Masked ZIP codes ("379**") of the sample cities, as the API gives them.
_ZIP3 = {
    "Knoxville": "379",
    "Charlotte": "282",
    "Jacksonville": "322",
    "Portland": "972",
    "Houston": "770",
    "Atlanta": "303",
    "Denver": "802",
    "Richmond": "232",
    "Lancaster": "176",
    "Seattle": "981",
    "Tampa": "336",
    "Nashville": "372",
    "Dallas": "752",
}
_SELLERS = {"dealer": "kei_import_depot", "owner": "farmhand_sales"}
_CATEGORIES = {
    "kei_truck": [("6472", "Other Makes"), ("6000", "eBay Motors"), ("6001", "Cars & Trucks")],
    "parts": [
        ("33637", "Other Car & Truck Parts & Accessories"),
        ("6000", "eBay Motors"),
        ("6028", "Parts & Accessories"),
    ],
}


# --- per listing -------------------------------------------------------------------------------


def _as_of(night: int, nights: int = len(NIGHTS)) -> datetime:
    return datetime.fromisoformat(night_date(night, nights)).replace(hour=6, tzinfo=UTC)


def _first_night(truck: SampleTruck) -> int:
    return next(n for n, state in enumerate(truck.nights) if state is not None)


def listed_at(truck: SampleTruck) -> datetime:
    """Between 2 and 40 hours before the as-of time of the first night that shows it."""
    hours = 2 + int(truck.listing_id) % 39
    return _as_of(_first_night(truck), len(truck.nights)) - timedelta(
        hours=hours, minutes=int(truck.listing_id) % 57
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _money(value: int) -> str:
    return f"{value:.2f}"


def _dollars(value: int) -> str:
    return f"${value:,.2f}"


def matches(truck: SampleTruck, query: str) -> bool:
    """eBay's keyword search as the sample plays it: every word of the query in the title."""
    return all(re.search(rf"\b{re.escape(w)}\b", truck.title, re.I) for w in query.split())


def results(catalog: list[SampleTruck], night: int, query: str) -> list[SampleTruck]:
    """The night's listings a query finds, newly listed first."""
    found = [t for t in listings_on(catalog, SOURCE, night) if matches(t, query)]
    return sorted(found, key=lambda t: (listed_at(t), t.listing_id), reverse=True)


def _city_state(truck: SampleTruck) -> tuple[str, str]:
    city, _, state = truck.location.partition(", ")
    return city, state


def _postal(truck: SampleTruck) -> str:
    return f"{_ZIP3[_city_state(truck)[0]]}**"


def _images(truck: SampleTruck) -> list[str]:
    if "no_photos" in truck.tags:
        return []
    digest = hashlib.sha1(f"ebay-sample:{truck.listing_id}".encode()).hexdigest()
    return [
        f"https://i.ebayimg.com/images/g/{digest[n * 8 : n * 8 + 16]}/s-l1600.jpg" for n in range(3)
    ]


def is_auction(truck: SampleTruck) -> bool:
    return "auction" in truck.tags


def bid_count(truck: SampleTruck, night: int) -> int:
    return 7 + 6 * (night - len(truck.nights) + len(NIGHTS))


def _time_left(truck: SampleTruck, night: int) -> str:
    left = int(truck.auction_end - _as_of(night, len(truck.nights)).timestamp())
    days, rest = divmod(max(left, 0), 86400)
    return f"{days}d {rest // 3600}h left" if days else f"{rest // 3600}h {rest % 3600 // 60}m left"


#: eBay Motors' "Vehicle Title" word for the catalog's title status (unstated shows "Clean").
VEHICLE_TITLE = {"clean": "Clean", "salvage": "Salvage", "rebuilt": "Rebuilt"}


def aspects(truck: SampleTruck) -> list[tuple[str, str]]:
    """The item specifics a seller fills in for this listing, in eBay Motors' names."""
    if truck.kind != "kei_truck":
        return [("Brand", "Suzuki"), ("Placement on Vehicle", "Rear"), ("Condition", "Used")]
    make, model = truck.model.split(" ", 1)
    serial = int(truck.listing_id) % 900000 + 100000
    return [
        ("Condition", "Used"),
        ("Year", str(truck.year)),
        ("Make", make),
        ("Model", model),
        ("Mileage", str(truck.mileage)),
        ("VIN (Vehicle Identification Number)", f"{truck.model_code}-{serial}"),
        ("Drive Type", "4WD" if truck.is_4wd else "RWD"),
        ("Transmission", "Manual" if truck.transmission == "manual" else "Automatic"),
        ("Engine", f"{truck.engine_cc}cc 3-Cylinder"),
        ("Fuel Type", "Gasoline"),
        ("Exterior Color", truck.color),
        ("Vehicle Title", VEHICLE_TITLE.get(truck.title_status, "Clean")),
        ("For Sale By", "Dealer" if truck.seller_type == "dealer" else "Private Seller"),
    ]


def _categories(truck: SampleTruck) -> list[dict[str, str]]:
    pairs = _CATEGORIES["parts" if truck.kind == "parts" else "kei_truck"]
    return [{"categoryId": cid, "categoryName": name} for cid, name in pairs]


# --- Browse API --------------------------------------------------------------------------------


def _price_fields(truck: SampleTruck, night: int) -> dict:
    price = {"value": _money(truck.nights[night].price), "currency": "USD"}
    if is_auction(truck):
        end = datetime.fromtimestamp(truck.auction_end, UTC)
        return {
            "currentBidPrice": price,
            "bidCount": bid_count(truck, night),
            "buyingOptions": ["AUCTION"],
            "itemEndDate": _iso(end),
        }
    return {"price": price, "buyingOptions": ["FIXED_PRICE", "BEST_OFFER"]}


def _seller(truck: SampleTruck) -> dict:
    return {
        "username": _SELLERS[truck.seller_type],
        "feedbackPercentage": "100.0",
        "feedbackScore": 412 if truck.seller_type == "dealer" else 37,
    }


def _item_web_url(listing_id: str, query: str) -> str:
    """The item page as a search links it: the keywords and the item number in hex."""
    keywords = query.replace(" ", "+")
    return f"{WWW}{ebay_item_page(listing_id)}?_skw={keywords}&hash=item{int(listing_id):x}"


def item_summary(truck: SampleTruck, night: int, query: str) -> dict:
    item_id = f"v1|{truck.listing_id}|0"
    images = _images(truck)
    summary = {
        "itemId": item_id,
        "title": truck.title,
        "leafCategoryIds": [_categories(truck)[0]["categoryId"]],
        "categories": _categories(truck),
        **({"image": {"imageUrl": images[0].replace("s-l1600", "s-l225")}} if images else {}),
        "itemHref": f"{API}{ebay_api_item(item_id)}",
        "seller": _seller(truck),
        "condition": "Used",
        "conditionId": "3000",
        "shippingOptions": [{"shippingCostType": "CALCULATED"}],
        "itemWebUrl": _item_web_url(truck.listing_id, query),
        "itemLocation": {"postalCode": _postal(truck), "country": "US"},
        "additionalImages": [{"imageUrl": i.replace("s-l1600", "s-l225")} for i in images[1:]],
        "adultOnly": False,
        "legacyItemId": truck.listing_id,
        "itemOriginDate": _iso(listed_at(truck)),
        "itemCreationDate": _iso(listed_at(truck)),
        "priorityListing": False,
        "listingMarketplaceId": "EBAY_US",
    }
    summary.update(_price_fields(truck, night))
    return summary


def api_search_answers(catalog, night: int, query: str) -> list[Route]:
    """The pages of one query: the first at the spider's path, the others at ``next``."""
    found = results(catalog, night, query)
    first = ebay_api_search(query)
    routes = []
    offsets = range(0, max(len(found), 1), PAGE_SIZE)
    for offset in offsets:
        path = first if offset == 0 else f"{first}&{urlencode({'offset': offset})}"
        answer: dict = {
            "href": f"{API}{first}&{urlencode({'offset': offset})}",
            "total": len(found),
            "limit": PAGE_SIZE,
            "offset": offset,
        }
        if offset + PAGE_SIZE < len(found):
            answer["next"] = f"{API}{first}&{urlencode({'offset': offset + PAGE_SIZE})}"
        page = found[offset : offset + PAGE_SIZE]
        if page:
            answer["itemSummaries"] = [item_summary(t, night, query) for t in page]
        routes.append(_json_route(f"/{SOURCE}/api{path}", answer))
    return routes


def get_item(truck: SampleTruck, night: int) -> dict:
    item = item_summary(truck, night, "")
    item.pop("itemHref")
    city, state = _city_state(truck)
    images = _images(truck)
    item.update(
        {
            "itemWebUrl": WWW + ebay_item_page(truck.listing_id),
            "shortDescription": truck.description[:80],
            "categoryPath": " | ".join(c["categoryName"] for c in reversed(_categories(truck))),
            "categoryIdPath": "|".join(c["categoryId"] for c in reversed(_categories(truck))),
            "itemLocation": {
                "city": city,
                "stateOrProvince": state,
                "postalCode": _postal(truck),
                "country": "US",
            },
            "seller": {
                **_seller(truck),
                "sellerAccountType": "BUSINESS" if truck.seller_type == "dealer" else "INDIVIDUAL",
            },
            "estimatedAvailabilities": [
                {
                    "deliveryOptions": ["SELLER_ARRANGED_LOCAL_PICKUP"],
                    "estimatedAvailabilityStatus": "IN_STOCK",
                    "estimatedAvailableQuantity": 1,
                    "estimatedSoldQuantity": 0,
                }
            ],
            "localizedAspects": [
                {"type": "STRING", "name": name, "value": value} for name, value in aspects(truck)
            ],
            "description": f'<div class="desc"><p>{escape(truck.description)}</p></div>',
            "enabledForGuestCheckout": False,
            "lotSize": 0,
        }
    )
    if images:
        item["image"] = {"imageUrl": images[0]}
        item["additionalImages"] = [{"imageUrl": i} for i in images[1:]]
    for key in ("leafCategoryIds", "categories"):
        item.pop(key)
    item["categoryId"] = _categories(truck)[0]["categoryId"]
    return item


def _json_route(target: str, data: dict) -> Route:
    body = json.dumps(data, indent=1, ensure_ascii=False).encode()
    return Route(target, body, JSON_TYPE)


# --- HTML search pages -------------------------------------------------------------------------

_PLACEHOLDER_CARD = (
    '<li class="s-card s-card--horizontal" id="" data-listingid="2500219655424533">'
    '<div class="su-card-container"><a class="s-card__link" '
    'href="https://ebay.com/itm/123456?itmmeta=01SAMPLE"><div class="s-card__title">'
    '<span class="su-styled-text primary default">Shop on eBay</span></div></a>'
    '<div class="s-card__attribute-row"><span class="su-styled-text primary bold large-1 '
    's-card__price">$20.00</span></div></div></li>'
)
#: eBay renders the placeholder twice, straight inside a clipped div before the result list.
_PLACEHOLDER = f'<div class="s-clipped">{_PLACEHOLDER_CARD * 2}</div>'


def _row(text: str, style: str = "secondary large") -> str:
    return (
        f'<div class="s-card__attribute-row"><span class="su-styled-text {style}">'
        f"{escape(text)}</span></div>"
    )


def search_card(truck: SampleTruck, night: int, query: str) -> str:
    listing_id = truck.listing_id
    href = escape(_item_web_url(listing_id, query))
    images = _images(truck)
    image = (
        f'<a class="s-card__link image-treatment" href="{href}" target="_blank">'
        f'<img class="s-card__image" src="{images[0].replace("s-l1600", "s-l500")}" '
        f'alt="{escape(truck.title)}"></a>'
        if images
        else ""
    )
    rows = [
        '<div class="s-card__attribute-row"><span class="su-styled-text primary bold large-1 '
        f's-card__price">{_dollars(truck.nights[night].price)}</span></div>'
    ]
    if is_auction(truck):
        rows += [_row(f"{bid_count(truck, night)} bids"), _row(_time_left(truck, night))]
    else:
        rows += [_row("Buy It Now"), _row("or Best Offer")]
    rows += [_row("Local pickup"), _row("Located in United States")]
    if truck.seller_type == "dealer":
        rows.append(_row("12 watchers", "primary bold large"))
    score = _seller(truck)["feedbackScore"]
    seller = (
        '<div class="su-card-container__attributes__secondary"><div class="s-card__attribute-row">'
        f'<span class="su-styled-text primary large">{_SELLERS[truck.seller_type]} </span>'
        f'<span class="su-styled-text primary large">100% positive ({score})</span></div></div>'
    )
    return (
        f'<li id="item{int(listing_id):x}" data-listingid="{listing_id}" '
        'class="s-card s-card--horizontal"><div class="su-card-container '
        'su-card-container--horizontal"><div class="su-card-container__media">'
        f'<div class="s-card__media-wrapper"><div class="su-image">{image}</div></div></div>'
        '<div class="su-card-container__content"><div class="su-card-container__header">'
        f'<a class="s-card__link" target="_blank" href="{href}"><div role="heading" '
        'aria-level="3" class="s-card__title"><span class="su-styled-text primary default">'
        f'{escape(truck.title)}</span><span class="clipped">Opens in a new window or tab</span>'
        '</div></a><div class="s-card__subtitle-row"><div class="s-card__subtitle">'
        '<span class="su-styled-text secondary default">Pre-Owned</span></div></div></div>'
        '<div class="su-card-container__attributes su-card-container__attributes--has-secondary">'
        f'<div class="su-card-container__attributes__primary">{"".join(rows)}</div>{seller}'
        "</div></div></div></li>"
    )


def _pagination(next_href: str | None, page: int) -> str:
    following = (
        f'<a href="{escape(next_href)}" type="next" class="pagination__next icon-link">'
        '<span class="clipped">Go to next search page</span></a>'
        if next_href
        else '<button type="next" class="pagination__next icon-btn" aria-disabled="true"></button>'
    )
    return (
        '<li class="srp-river-answer srp-river-answer--BASIC_PAGINATION_V2"><div '
        'class="s-pagination"><nav role="navigation" class="pagination"><h2 class="clipped">'
        f"Results Pagination - Page {page}</h2>{following}</nav></div></li>"
    )


def _null_search(query: str) -> str:
    return (
        '<li class="srp-river-answer srp-river-answer--NULL_SEARCH"><div '
        'class="srp-save-null-search"><h3 class="srp-save-null-search__heading">No exact '
        f'matches found</h3><p>Try fewer words or check the spelling of "{escape(query)}".</p>'
        "</div></li>"
    )


def search_page(query: str, cards: list[str], total: int, page: int, next_href: str | None) -> str:
    first = f"{WWW}{ebay_html_search(query)}"
    entries = "".join(cards) if cards else _null_search(query)
    word = "result" if total == 1 else "results"
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(query.title())} for sale | eBay</title>"
        f'<link rel="canonical" href="{escape(first)}"></head><body class="s-page srp-main">'
        '<div class="srp-controls"><h1 class="srp-controls__count-heading">'
        f'<span class="BOLD">{total:,}</span> {word} for <span class="BOLD">{escape(query)}'
        f"</span></h1></div>{_PLACEHOLDER}"
        '<div id="srp-river-results" class="srp-river-results clearfix">'
        f'<ul class="srp-results srp-list clearfix">{entries}'
        f"{_pagination(next_href, page) if cards else ''}</ul></div></body></html>"
    )


def html_search_pages(catalog, night: int, query: str) -> list[Route]:
    found = results(catalog, night, query)
    first = ebay_html_search(query)
    routes = []
    pages = range(0, max(len(found), 1), PAGE_SIZE)
    for index, offset in enumerate(pages):
        page = index + 1
        path = first if page == 1 else f"{first}&_pgn={page}"
        more = offset + PAGE_SIZE < len(found)
        next_href = f"{WWW}{first}&_pgn={page + 1}" if more else None
        cards = [search_card(t, night, query) for t in found[offset : offset + PAGE_SIZE]]
        body = search_page(query, cards, len(found), page, next_href)
        routes.append(Route(f"/{SOURCE}/www{path}", body.encode()))
    return routes


# --- HTML item page ----------------------------------------------------------------------------


def _specifics(truck: SampleTruck) -> str:
    pairs = []
    for name, value in aspects(truck):
        key = re.sub(r"[^A-Za-z]", "", name[:1].lower() + name[1:].title().replace(" ", ""))
        pairs.append(
            '<div class="ux-layout-section-evo__col"><dl data-testid="ux-labels-values" '
            f'class="ux-labels-values ux-labels-values--inline col-6 ux-labels-values--{key}">'
            '<dt class="ux-labels-values__labels"><div class="ux-labels-values__labels-content">'
            f'<div><span class="ux-textspans">{escape(name)}</span></div></div></dt>'
            '<dd class="ux-labels-values__values"><div class="ux-labels-values__values-content">'
            f'<div><span class="ux-textspans">{escape(value)}</span></div></div></dd></dl></div>'
        )
    rows = "".join(
        f'<div class="ux-layout-section-evo__row">{"".join(pairs[n : n + 2])}</div>'
        for n in range(0, len(pairs), 2)
    )
    return (
        '<div class="vim x-about-this-item"><div class="section-title"><h2 '
        'class="section-title__title"><span class="ux-textspans">Item specifics</span></h2></div>'
        '<div data-testid="ux-layout-section-evo" class="ux-layout-section-evo '
        'ux-layout-section--features"><div class="ux-layout-section-evo__item '
        f'ux-layout-section-evo__item--table-view">{rows}</div></div></div>'
    )


def item_page(truck: SampleTruck, night: int) -> str:
    listing_id = truck.listing_id
    images = "".join(
        f'<div class="ux-image-carousel-item image"><img src="{i.replace("s-l1600", "s-l500")}" '
        f'data-zoom-src="{i}" alt="{escape(truck.title)}"></div>'
        for i in _images(truck)
    )
    crumbs = [{"name": "eBay", "item": WWW}] + [
        {"name": c["categoryName"], "item": f"{WWW}/b/bn_{c['categoryId']}"}
        for c in reversed(_categories(truck))
    ]
    breadcrumb = {
        "@context": "https://schema.org",
        "@type": "BreadcrumbList",
        "itemListElement": [
            {"@type": "ListItem", "position": n + 1, **c} for n, c in enumerate(crumbs)
        ],
    }
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(truck.title)} | eBay</title>"
        f'<link rel="canonical" href="{WWW}{ebay_item_page(listing_id)}"></head>'
        '<body class="vi-body">'
        f'<div class="ux-image-carousel">{images}</div>'
        '<div class="vim x-item-title"><h1 class="x-item-title__mainTitle">'
        f'<span class="ux-textspans ux-textspans--BOLD">{escape(truck.title)}</span></h1></div>'
        '<div class="x-price-primary" data-testid="x-price-primary"><span class="ux-textspans">'
        f"US {_dollars(truck.nights[night].price)}</span></div>"
        '<div data-testid="ux-layout-section" class="ux-layout-section ux-layout-section--itemId">'
        '<div class="ux-layout-section__textual-display '
        'ux-layout-section__textual-display--itemId">'
        '<span class="ux-textspans ux-textspans--SECONDARY">eBay item number:</span>'
        f'<span class="ux-textspans ux-textspans--BOLD">{listing_id}</span></div></div>'
        f"{_specifics(truck)}"
        '<div class="vim x-breadcrumb"><script type="application/ld+json">'
        f"{json.dumps(breadcrumb)}</script></div>"
        '<div class="vim d-item-description"><iframe id="desc_ifr" title="Seller\'s description '
        f'of item" src="https://itm.ebaydesc.com/itmdesc/{listing_id}?t=0&amp;category='
        f'{_categories(truck)[0]["categoryId"]}" loading="lazy"></iframe></div></body></html>'
    )


# --- the night ---------------------------------------------------------------------------------


def render(catalog: list[SampleTruck], night: int) -> list[Route]:
    """Every route the eBay spider may request on ``night`` (0-2), in both modes."""
    token = {"access_token": TOKEN, "expires_in": 7200, "token_type": "Application Access Token"}
    routes = [_json_route(f"/{SOURCE}/auth{EBAY_TOKEN}", token)]
    for query in EBAY_QUERIES:
        routes += api_search_answers(catalog, night, query)
        routes += html_search_pages(catalog, night, query)
    for truck in listings_on(catalog, SOURCE, night):
        item_id = f"v1|{truck.listing_id}|0"
        routes.append(_json_route(f"/{SOURCE}/api{ebay_api_item(item_id)}", get_item(truck, night)))
        routes.append(
            Route(
                f"/{SOURCE}/www{ebay_item_page(truck.listing_id)}", item_page(truck, night).encode()
            )
        )
    return routes

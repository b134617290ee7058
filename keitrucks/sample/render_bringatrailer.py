"""Render the sample Bring a Trailer pages of one night from the catalog, in BaT's own markup.

One model page per configured kei model (``/suzuki/carry/`` ...): completed auctions of the night
(status sold or ended) in ``var auctionsCompletedInitialData = {...}`` inside the
``bat-theme-auctions-completed-initial-data`` script, live auctions (status active) as
``div.listing-card`` cards with the current bid, and the ``BAT_MODEL_LISTINGS_COMPLETED_TOOLBAR``
with a REST nonce. Trucks of a make without a BaT model page sit on the page of their platform
(Mazda Scrum and Nissan Clipper are Suzuki Carry twins); each truck appears on exactly one page.
Each listed truck also gets its listing page with the "BaT Essentials".
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from html import escape

from keitrucks.core.config import DEFAULT_CONFIG
from keitrucks.sample.catalog import SampleTruck, listings_on
from keitrucks.sample.site import Route

SOURCE = "bringatrailer"
HOST = "www"
PREFIX = f"/{SOURCE}/{HOST}"
ITEMS_PER_PAGE = 24
#: Badge-engineered twins that BaT files under the platform's model page.
PLATFORM_PAGES = {
    "Suzuki Carry": "suzuki/carry",
    "Mazda Scrum": "suzuki/carry",
    "Nissan Clipper": "suzuki/carry",
    "Nissan NT100 Clipper": "suzuki/carry",
    "Suzuki Every": "suzuki/every",
    "Honda Acty": "honda/acty",
    "Daihatsu Hijet": "daihatsu/hijet",
    "Subaru Sambar": "subaru/sambar",
    "Mitsubishi Minicab": "mitsubishi/minicab",
}
COUNTRIES = {"United States": ("US", "USA"), "Canada": ("CA", "CAN"), "Japan": ("JP", "JPN")}


def model_pages() -> list[str]:
    return list(DEFAULT_CONFIG["sources"][SOURCE]["models"])


def page_for(truck: SampleTruck, pages: list[str]) -> str:
    """The one model page a truck is listed on: its platform's, else the model word in its title."""
    if truck.model in PLATFORM_PAGES and PLATFORM_PAGES[truck.model] in pages:
        return PLATFORM_PAGES[truck.model]
    title = truck.title.lower()
    for page in pages:
        if re.search(rf"\b{re.escape(page.split('/')[1])}\b", title):
            return page
    raise ValueError(f"no Bring a Trailer model page for {truck.key} ({truck.title})")


def model_name(page: str) -> str:
    return " ".join(part.capitalize() for part in page.split("/"))


def slugs(catalog: list[SampleTruck]) -> dict[str, str]:
    """listing id -> BaT-style slug, unique with a -N suffix, stable across nights."""
    out: dict[str, str] = {}
    used: dict[str, int] = {}
    for truck in catalog:
        if truck.source != SOURCE:
            continue
        title = re.sub(r"^\d+k-mile\s+", "", truck.title.lower())
        base = re.sub(r"[^a-z0-9]+", "-", title).strip("-")
        used[base] = used.get(base, 0) + 1
        out[truck.listing_id] = base if used[base] == 1 else f"{base}-{used[base]}"
    return out


def js(value) -> str:
    """JSON as WordPress prints it in scripts: ASCII only, slashes escaped."""
    return json.dumps(value, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/")


def money(amount: int | None) -> str | None:
    return f"USD ${amount:,}" if amount is not None else None


def short_date(timestamp: int) -> str:
    day = datetime.fromtimestamp(timestamp, UTC)
    return f"{day.month}/{day.day}/{day.year % 100:02d}"


def listing_url(slug: str) -> str:
    return f"{PREFIX}/listing/{slug}/"


def image_url(slug: str) -> str:
    return f"{PREFIX}/wp-content/uploads/2026/11/{slug}-photo.jpg?resize=470%2C318"


def flag_html(location: str) -> str:
    code = COUNTRIES.get(location, ("US", "USA"))[0].lower()
    return (
        f'<img class="countries-flags" src="{PREFIX}/wp-content/themes/bringatrailer/assets/img/'
        f'countries/{code}.svg" alt="{escape(location)}" />'
    )


def result_text(truck: SampleTruck, night: int) -> str:
    state = truck.nights[night]
    word = "Sold for" if state.status == "sold" else "Bid to"
    return f"{word} {money(state.price)} <span> on {short_date(truck.auction_end)} </span>"


def completed_item(truck: SampleTruck, night: int, slug: str) -> dict:
    state = truck.nights[night]
    alpha2, alpha3 = COUNTRIES.get(truck.location, ("US", "USA"))
    lid = int(truck.listing_id)
    return {
        "active": False,
        "categories": None,
        "comments": "0",
        "current_bid": state.price,
        "current_bid_formatted": money(state.price),
        "current_bid_label": "Bid:",
        "country": None,
        "country_code": alpha2,
        "country_code_alpha3": alpha3,
        "country_flag": flag_html(truck.location),
        "currency": "USD",
        "era": None,
        "excerpt": truck.description,
        "in_subscription": None,
        "keyword_pages": None,
        "lat": None,
        "lon": None,
        "noreserve": False,
        "premium": False,
        "processing_type": None,
        "pusher": f"post;list;{lid}",
        "repeat": False,
        "searchable": None,
        "sold_text": result_text(truck, night),
        "thumbnail_url": image_url(slug),
        "timestamp_end": truck.auction_end,
        "title": truck.title,
        "url": listing_url(slug),
        "views": "0 Views",
        "watch_url": f"{PREFIX}/wp-admin/admin-ajax.php?action=bat"
        f"_listing_watch&listing={lid}&watch=yes",
        "watched": False,
        "watchers": "0 Watchers",
        "year": None,
        "id": lid,
        "pusher_stats": f"post;stats;{lid}",
    }


def keyword_pages(page: str) -> list[int]:
    digest = int(hashlib.sha1(page.encode()).hexdigest()[:6], 16)
    return [60000000 + digest, 60000000 + digest + 117]


def completed_data(page: str, items: list[dict]) -> dict:
    total = len(items)
    return {
        "base_filter": {"keyword_pages": keyword_pages(page)},
        "filter_options": {
            "filter_category_enabled": True,
            "filter_era_enabled": True,
            "filter_origin_enabled": True,
            "filter_subscribed_enabled": False,
            "filter_location_enabled": True,
        },
        "items": items[:ITEMS_PER_PAGE],
        "items_per_page": ITEMS_PER_PAGE,
        "items_per_page_mobile": 12,
        "items_total": total,
        "page_current": 1,
        "pages_total": -(-total // ITEMS_PER_PAGE),
        "stats_enabled": False,
        "stats": None,
        "s_placehoder": f"Search {model_name(page)} results...",
    }


def live_card(truck: SampleTruck, night: int, slug: str) -> str:
    state = truck.nights[night]
    title = escape(truck.title)
    alpha3 = COUNTRIES.get(truck.location, ("US", "USA"))[1]
    url = listing_url(slug)
    lid = truck.listing_id
    return f"""
<div class="listing-card listing-card-separate "
    data-listing_id="{lid}"
    data-watched="false"
    data-watch_url="{PREFIX}/wp-admin/admin-ajax.php?action=bat_listing_watch&#038;listing={lid}\
&#038;watch=yes"
    data-timestamp_end="{truck.auction_end}"
    data-pusher="post;list;{lid}"
    data-pusher_stats="post;stats;{lid}">

    <div class="thumbnail">
        <img src="{escape(image_url(slug))}" alt="{title}" />
        <a class="image-overlay" href="{url}" title="{title}"></a>
        <div class="icon-item-watch"></div>
        <progress max="120" value="0"></progress>
    </div>

    <div class="content">
        <div class="content-main">
            <div class="icon-live"></div>
            <h3><a href="{url}">{title}</a></h3>
            <div class="item-tags">
                <div class="item-tag item-tag-currency ">
                    {flag_html(truck.location)} <span class="show-country-name">{alpha3}</span>
                </div>
            </div>
            <div class="item-excerpt">{escape(truck.description)}</div>
            <div class="item-results"></div>
        </div>
        <div class="content-secondary">
            <div class="item-bidding">
                <span class="bidding-bid">
                    <span class="bid-label">Bid:</span>
                    <span class="bid-formatted bold">{money(state.price)}</span>
                </span>
                <span class="bidding-countdown">
                    <span class="icon-clock"></span>
                    <span class="countdown-text"></span>
                </span>
            </div>
        </div>
        <progress max="120" value="0"></progress>
    </div>
</div>
"""


def toolbar(night: int) -> dict:
    nonce = hashlib.sha1(f"bat-nonce-{night}".encode()).hexdigest()[:10]
    return {
        "restNonce": nonce,
        "restUrlListingsFilter": f"{PREFIX}/wp-json/bringatrailer/1.0/data/listings-filter",
        "userLoggedIn": "",
        "userAdmin": "",
    }


def model_page(page: str, night: int, completed: list[dict], live: list[str]) -> str:
    name = escape(model_name(page))
    live_section = ""
    if live:
        live_section = f"""
<div class="listings-live page-section">
    <h2 class="branded-text">{name} Live Auctions ({len(live)})</h2>
    <div id="keyword-page-listings-live" class="items-list-with-pagination"
        data-pagesize="18" data-pagesize-mobile="12">
        <div class="listings-container items-container auctions-grid">
{"".join(live)}
        </div>
    </div>
</div>
"""
    return f"""<!DOCTYPE html>
<html lang="en-US">
<head>
<meta charset="UTF-8" />
<title>{name} for sale on BaT Auctions | Bring a Trailer</title>
<script type="text/javascript" id="bat-model.listings-completed-toolbar-js-extra">
/* <![CDATA[ */
var BAT_MODEL_LISTINGS_COMPLETED_TOOLBAR = {js(toolbar(night))};
/* ]]> */
</script>
<link rel="canonical" href="{PREFIX}/{page}/" />
</head>
<body class="keyword_page-template-default single single-keyword_page">
<div class="container">
    <h1 class="header-title">{name}</h1>
{live_section}
<div class="auctions-completed page-section">
    <h2 id="results-anchor">{name} Auction Results</h2>
    <div class="auctions-container">
        <div id="auctions-completed-toolbar"></div>
        <div id="auctions-completed-container" class="auctions-completed-container">
            <div class="listings-container auctions-grid"></div>
        </div>
    </div>
    <script type='text/javascript' id='bat-theme-auctions-completed-initial-data'>
        /* <![CDATA[ */
        var auctionsCompletedInitialData = {js(completed_data(page, completed))};
        /* ]]> */
    </script>
</div>
</div>
</body>
</html>
"""


def detail_lines(truck: SampleTruck) -> list[str]:
    """The "Listing Details" lines of a truck, only from what the catalog knows."""
    lines = []
    if truck.model_code:
        lines.append(
            f'Chassis: <a href="{PREFIX}/search/?s={truck.model_code}">'
            f"{escape(truck.model_code)}</a>"
        )
    if truck.mileage is not None:
        unit = "Miles" if truck.mileage_unit == "mi" else "Kilometers"
        amount = f"{truck.mileage // 1000}k" if truck.mileage % 1000 == 0 else f"{truck.mileage:,}"
        lines.append(f"{amount} {unit} Shown")
    if truck.engine_cc:
        lines.append(f"{truck.engine_cc}cc Three-Cylinder")
    if truck.transmission == "manual":
        lines.append("Five-Speed Manual Transaxle")
    elif truck.transmission == "automatic":
        lines.append("Three-Speed Automatic Transmission")
    if truck.is_4wd is True:
        lines.append("Part-Time 4WD")
    elif truck.is_4wd is False:
        lines.append("Rear-Wheel Drive")
    if truck.kind in ("kei_truck", "kei_van", "other_vehicle") and truck.color:
        lines.append(f"{escape(truck.color)} Paint")
    return lines


def listing_page(truck: SampleTruck, night: int, slug: str) -> str:
    state = truck.nights[night]
    title = escape(truck.title)
    if state.status == "active":
        info = f"Current Bid: <strong>{money(state.price)}</strong>"
    else:
        word = "Sold for" if state.status == "sold" else "Bid to"
        info = (
            f'{word} <strong>{money(state.price)}</strong> <span class="date" '
            f'data-timestamp="{truck.auction_end}">on {short_date(truck.auction_end)}</span>'
        )
    lines = detail_lines(truck)
    details = ""
    if lines:
        items = "".join(f"<li>{line}</li>" for line in lines)
        details = f'<div class="item"><strong>Listing Details</strong><ul>{items}</ul></div>'
    seller = "Private Party" if truck.seller_type == "owner" else "Dealer"
    ld = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": truck.title,
        "image": image_url(slug),
        "description": truck.description,
        "offers": {"@type": "Offer", "price": state.price, "priceCurrency": "USD"},
    }
    return f"""<!DOCTYPE html>
<html lang="en-US">
<head>
<meta charset="UTF-8" />
<title>{title} for sale on BaT Auctions | Bring a Trailer</title>
<link rel="canonical" href="{listing_url(slug)}" />
<link rel='shortlink' href='{PREFIX}/?p={truck.listing_id}' />
<script type="application/ld+json">{js(ld)}</script>
</head>
<body class="listing-template-default single single-listing">
<div class="listing-intro">
    <h1 class="post-title listing-post-title">{title}</h1>
</div>
<div class="listing-available">
    <div class="listing-available-info">
        <span class="info-value noborder-tiny">{info}</span>
    </div>
</div>
<div class="column-group">
    <div class="column column-left">
        <div class="post-excerpt"><p>{escape(truck.description)}</p></div>
    </div>
    <div class="column column-right">
        <div class="essentials">
            <div class="item"><strong>Location</strong>: \
<a href="{PREFIX}/location/">{escape(truck.location)}</a></div>
            <div class="item"><strong>Private Party or Dealer</strong>: {seller}</div>
            <div class="item"><strong>Lot</strong> #{int(truck.listing_id) % 1_000_000:,}</div>
            {details}
        </div>
    </div>
</div>
</body>
</html>
"""


def render(catalog: list[SampleTruck], night: int) -> list[Route]:
    """The night's model pages and listing pages of every listed Bring a Trailer truck."""
    pages = model_pages()
    slug_of = slugs(catalog)
    listed = listings_on(catalog, SOURCE, night)
    by_page: dict[str, list[SampleTruck]] = {page: [] for page in pages}
    for truck in listed:
        by_page[page_for(truck, pages)].append(truck)
    routes = []
    for page, trucks in by_page.items():
        done = [t for t in trucks if t.nights[night].status in ("sold", "ended")]
        done.sort(key=lambda t: (-t.auction_end, t.listing_id))
        live = [t for t in trucks if t.nights[night].status == "active"]
        live.sort(key=lambda t: (t.auction_end, t.listing_id))
        body = model_page(
            page,
            night,
            [completed_item(t, night, slug_of[t.listing_id]) for t in done],
            [live_card(t, night, slug_of[t.listing_id]) for t in live],
        )
        routes.append(Route(f"{PREFIX}/{page}/", body.encode("utf-8")))
    for truck in listed:
        slug = slug_of[truck.listing_id]
        body = listing_page(truck, night, slug)
        routes.append(Route(listing_url(slug), body.encode("utf-8")))
    return routes

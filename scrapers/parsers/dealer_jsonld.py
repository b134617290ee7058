"""US dealer websites, any platform: schema.org Vehicle/Car/Product offers in JSON-LD or microdata.

Dealer sites (Dealer.com, DealerFire, dealr.cloud, Overfuel, ClassicCars-style listing pages ...)
describe each vehicle detail page (VDP), and sometimes each card of an inventory page, with a
schema.org ``Vehicle``/``Car`` node (``Product`` when it carries vehicle properties), read by
``scrapers.parsers.schemaorg``: JSON-LD first, microdata only when no JSON-LD vehicle is on the
page. Each vehicle becomes one raw ``Listing`` (see ``schemaorg.listing_from_node``); known
platform faults are then corrected from the platform's own data layer
(``scrapers.parsers.dealer_platforms``). ``listing_id`` is the VIN (often a Japanese frame number
such as ``DD51T-412233``), else ``<dealer domain>:<sku>``, else ``<dealer domain>:<URL path>``.

Inventory pages also yield the links to follow (a dealer's CSS selector and JSON-LD ``ItemList``
entries) and the next page. ``is_kei_listing``/``link_may_be_kei`` decide from the project's own
alias and chassis-code tables (``keitrucks.core.tables``) whether a vehicle or link is a kei truck,
so the spider can skip a lot's other inventory early. The parsers are pure: no clock, no network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any
from urllib.parse import urldefrag, urlsplit

from scrapy.http import TextResponse

from keitrucks.core import tables
from scrapers.items import Listing
from scrapers.parsers import nodes as html  # page nodes, not vehicle nodes
from scrapers.parsers.dealer_platforms import PLATFORM_ADAPTERS, platform_of
from scrapers.parsers.schemaorg import (
    VehicleNode,
    as_text,
    get,
    is_item_for_sale,
    is_vehicle,
    json_ld_data,
    listing_from_node,
    microdata,
    types_of,
    vehicle_nodes,
)
from scrapers.parsers.shape import Layout, unique_listings

#: The unit a US dealer means by an odometer shown without one, by the currency of its prices.
BARE_ODOMETER_UNIT = {"USD": "mi", None: "mi"}
_BARE_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
SOURCE = "dealer_jsonld"

_NO_RESULTS = re.compile(
    r"no (?:matching )?(?:vehicles|results|inventory|listings) (?:found|available|match)"
    r"|(?<![\d,])0 (?:vehicles|results|matches) found|no vehicles match",
    re.I,
)


@dataclass(frozen=True)
class DealerHints:
    """What the spider knows about the dealer whose page this is (all optional).

    ``domain`` prefixes ids that are not VINs (default: the page's host less ``www.``);
    ``platform`` picks a platform adapter (default: fingerprinted from the page); ``location``
    and ``seller_type`` fill a listing whose markup does not say.
    """

    domain: str | None = None
    platform: str | None = None
    location: str | None = None
    seller_type: str | None = None


@dataclass(frozen=True)
class Link:
    url: str
    #: the anchor's text or the ItemList entry's name, None when it has none.
    text: str | None = None


@dataclass
class InventoryPage:
    #: vehicles the page describes completely (with a sale price), every make, kei or not.
    listings: list[Listing]
    #: vehicle pages to read: the dealer's link selector and JSON-LD ItemList entries, absolute
    #: and without #fragment, each once, less the URLs of ``listings``.
    links: list[Link] = field(default_factory=list)
    #: absolute URL of the next inventory page, None on the last one.
    next_url: str | None = None
    #: True when the page says the inventory matched nothing (a legitimate empty page).
    no_results: bool = False


def dealer_domain(hints: DealerHints, url: str) -> str:
    if hints.domain:
        return hints.domain.lower()
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def dealer_listing(
    vehicle: VehicleNode, response: TextResponse, scraped_at: str | None, hints: DealerHints
) -> Listing:
    """One vehicle node as this source's listing; the hints fill what the markup does not say."""
    listing = listing_from_node(
        vehicle, response, scraped_at, source=SOURCE, domain=dealer_domain(hints, response.url)
    )
    return replace(
        listing,
        location_raw=listing.location_raw or hints.location,
        seller_type=listing.seller_type or hints.seller_type,
    )


# -- pages --------------------------------------------------------------------------------------


def _for_sale(nodes: list[VehicleNode]) -> list[VehicleNode]:
    return [v for v in nodes if is_item_for_sale(v)]


def _vehicles_for_sale(response: TextResponse) -> list[VehicleNode]:
    """The items for sale among the page's JSON-LD vehicles, else among its microdata ones (a
    page descriptor in JSON-LD hides nothing)."""
    found = _for_sale(vehicle_nodes(json_ld_data(response), "json-ld"))
    return found or _for_sale(vehicle_nodes(microdata(response), "microdata"))


def _listings(
    nodes: list[VehicleNode],
    response: TextResponse,
    scraped_at: str | None,
    hints: DealerHints,
) -> list[Listing]:
    listings = [dealer_listing(v, response, scraped_at, hints) for v in nodes]
    platform = platform_of(response, hints.platform)
    adapter = PLATFORM_ADAPTERS.get(platform or "")
    if adapter is not None:
        listings = adapter(response, listings)
    if platform:
        for listing in listings:
            listing.attributes["platform"] = platform
    return unique_listings(with_odometer_unit(listing) for listing in listings)


def with_odometer_unit(listing: Listing) -> Listing:
    """A bare odometer number ("26,775") with the unit the dealer means, in ``mileage_raw``
    (the field the normalizer reads): miles for a dealer pricing in US dollars (or not saying).
    Any other currency leaves the number bare, for the normalizer to judge."""
    mileage = (listing.mileage_raw or "").strip()
    if not _BARE_NUMBER.fullmatch(mileage):
        return listing
    unit = BARE_ODOMETER_UNIT.get(listing.currency_raw)
    return replace(listing, mileage_raw=f"{mileage} {unit}") if unit else listing


def parse_vehicles(
    response: TextResponse, scraped_at: str | None = None, hints: DealerHints | None = None
) -> list[Listing]:
    """Every vehicle the page offers for sale (a VDP has one), kei or not, after platform
    corrections; a vehicle node that only describes the page is none."""
    return _listings(_vehicles_for_sale(response), response, scraped_at, hints or DealerHints())


def _link_text(node) -> str | None:
    if isinstance(node, str):
        return None
    words = [*node.itertext(), *html.select(node, "img::attr(alt)")]
    return as_text(" ".join(words))


def _selector_links(response: TextResponse, css: str | None) -> list[Link]:
    if not css:
        return []
    out = []
    for found in html.select(response, css):
        href = found if isinstance(found, str) else found.get("href")
        if href and href.strip() and not href.strip().startswith(("#", "javascript:", "mailto:")):
            out.append(Link(urldefrag(response.urljoin(href.strip())).url, _link_text(found)))
    return out


def _item_list_links(data: list[Any], response: TextResponse) -> list[Link]:
    """ListItem entries of JSON-LD ItemLists that point at a page (not full vehicle nodes)."""
    out: list[Link] = []

    def visit(value: Any) -> None:
        if isinstance(value, list):
            for item in value:
                visit(item)
        elif isinstance(value, dict):
            if "listitem" in types_of(value) and not is_vehicle(get(value, "item")):
                item = get(value, "item")
                url = as_text(get(value, "url")) or (
                    item if isinstance(item, str) else as_text(get(item, "url") or get(item, "@id"))
                )
                name = as_text(get(value, "name")) or as_text(get(item, "name"))
                if url:
                    out.append(Link(urldefrag(response.urljoin(url)).url, name))
            for key, child in value.items():
                if key != "@context":
                    visit(child)

    visit(data)
    return out


def next_page_url(response: TextResponse, css: str | None = None) -> str | None:
    """``rel=next`` (link or anchor), else the dealer's next-page selector; None on the last."""
    candidates = html.select(response, "link[rel~=next]::attr(href), a[rel~=next]::attr(href)")
    if css:
        for found in html.select(response, css):
            candidates.append(found if isinstance(found, str) else found.get("href"))
    for href in candidates:
        if href and href.strip() and not href.strip().startswith(("#", "javascript:")):
            url = response.urljoin(href.strip())
            if url != response.url:
                return url
    return None


def parse_inventory(
    response: TextResponse,
    scraped_at: str | None = None,
    hints: DealerHints | None = None,
    *,
    link_css: str | None = None,
    next_css: str | None = None,
) -> InventoryPage:
    """An inventory (search results) page: vehicles complete enough to store, links to vehicle
    pages, the next page. A vehicle node without a price is not a listing here: its page is."""
    hints = hints or DealerHints()
    data = json_ld_data(response)
    nodes = vehicle_nodes(data, "json-ld") or vehicle_nodes(microdata(response), "microdata")
    every = _listings(nodes, response, scraped_at, hints)
    listings = [x for x in every if x.price_raw is not None]
    known = {x.url for x in listings}
    links = _selector_links(response, link_css) + _item_list_links(data, response)
    links += [Link(x.url, x.title) for x in every if x.price_raw is None and x.url != response.url]
    unique: dict[str, Link] = {}
    for link in links:
        if link.url in known or link.url == response.url:
            continue
        if link.url not in unique or (unique[link.url].text is None and link.text):
            unique[link.url] = link
    text = " ".join(html.select_xpath(response, "//body//text()[not(ancestor::script)]"))
    return InventoryPage(
        listings=listings,
        links=list(unique.values()),
        next_url=next_page_url(response, next_css),
        no_results=not listings and not unique and bool(_NO_RESULTS.search(text)),
    )


# -- kei filter ---------------------------------------------------------------------------------

#: Alias categories that name a kei truck or van (keitrucks/core/data/aliases.csv).
KEI_ALIAS_CATEGORIES = frozenset({"model", "model_typo", "nickname", "van_model", "badge"})
_GENERIC_KEI = re.compile(
    r"(?<![a-z0-9])(?:kei|mini[\s-]?trucks?|minitrucks?|japanese mini)(?![a-z0-9])", re.I
)
_TITLE_YEAR = re.compile(r"(?<!\d)(?:19[5-9]\d|20[0-4]\d)(?!\d)")


def _pattern(alias: str, how: str) -> re.Pattern:
    if how == "substring":
        return re.compile(re.escape(alias))
    return re.compile(r"(?<![a-z0-9])" + re.escape(alias.lower()) + r"(?![a-z0-9])", re.I)


@cache
def kei_lexicon() -> tuple[tuple, tuple, tuple]:
    """(kei model aliases, chassis codes, other makes) from the project's reference tables:
    ((pattern, make pattern or None), ...), (pattern, ...), (pattern, ...)."""
    aliases = tables.aliases()
    makes: dict[str, list[re.Pattern]] = {}
    for a in aliases:
        if a.category == "make":
            makes.setdefault(a.make, []).append(_pattern(a.alias, a.match))
    models = []
    for a in aliases:
        if a.category in KEI_ALIAS_CATEGORIES:
            needs = tuple(makes.get(a.make, ())) if a.needs_make else None
            models.append((_pattern(a.alias, a.match), needs))
    codes = tuple(
        _pattern(code, "word") for code, info in tables.model_codes().items() if info.text_match
    )
    others = tuple(_pattern(a.alias, a.match) for a in aliases if a.category == "other_make")
    return tuple(models), codes, others


def names_kei_model(text: str | None) -> bool:
    """True when the text names a kei model (with its make where the alias needs one, e.g.
    "Suzuki ... Carry") or a kei chassis code ("DD51T", "HA4")."""
    if not text:
        return False
    models, codes, _ = kei_lexicon()
    for pattern, needs in models:
        if pattern.search(text) and (needs is None or any(m.search(text) for m in needs)):
            return True
    return any(p.search(text) for p in codes)


def names_other_make(text: str | None) -> bool:
    _, _, others = kei_lexicon()
    return bool(text) and any(p.search(text) for p in others)


def is_kei_listing(listing: Listing) -> bool:
    """Is this vehicle a kei truck (or van)? Its make/model, title, VIN/frame number and model
    attributes name a kei model or chassis code; or, unless they name another make (Kubota,
    Polaris, Ford ...), the title or description says "kei" or "mini truck"."""
    structured = " ".join(
        filter(
            None,
            (
                listing.title,
                listing.make_model_raw,
                listing.listing_id,
                listing.attributes.get("vehicleConfiguration"),
                listing.attributes.get("model"),
            ),
        )
    )
    if names_kei_model(structured):
        return True
    if names_other_make(" ".join(filter(None, (listing.make_model_raw, listing.title)))):
        return False
    return bool(_GENERIC_KEI.search(" ".join(filter(None, (listing.title, listing.description)))))


def link_may_be_kei(link: Link) -> bool:
    """Worth requesting? True when the link text or URL words name a kei model, code or "mini
    truck"; False when they read like another vehicle's title (a year, or another make); True
    when they say nothing either way ("View details")."""
    slugs = [s for s in urlsplit(link.url).path.split("/") if re.search(r"[a-z]", s, re.I)]
    text = " ".join([link.text or "", *(re.sub(r"[-_.+]+", " ", s) for s in slugs)])
    if names_kei_model(text) or _GENERIC_KEI.search(text):
        return True
    return not (_TITLE_YEAR.search(text) or names_other_make(text))


# -- keitrucks parse ----------------------------------------------------------------------------


def _parse_search(response: TextResponse, scraped_at: str | None = None) -> list[Listing]:
    return parse_inventory(response, scraped_at).listings


def _parse_detail(response: TextResponse, scraped_at: str | None = None) -> list[Listing]:
    return parse_vehicles(response, scraped_at)


def parse_page(response: TextResponse, scraped_at: str | None = None) -> list[Listing]:
    """Any saved dealer page -> every vehicle it describes (for ``keitrucks parse``)."""
    return parse_vehicles(response, scraped_at)


#: Page kinds for ``keitrucks parse --kind``: each takes (response, scraped_at) -> listings.
PAGE_PARSERS = {"search": _parse_search, "detail": _parse_detail}
#: The page layouts this parser knows, by their anchors (see scrapers/parsers/shape.py).
LAYOUTS = (
    Layout("inventory with no results", css=".inventory-empty", listings=False),
    Layout("schema.org JSON-LD", css='script[type="application/ld+json"]'),
    Layout("schema.org microdata", css="[itemtype*='schema.org']"),
)

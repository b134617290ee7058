"""CAR FROM JAPAN (https://carfromjapan.com), a Japanese used-vehicle exporter.

Model and detail pages.

The model page (``/cheap-used-<make>-<model>-for-sale[?page=N]``) lists one
``[data-testid="car-item-list"]`` card per vehicle; the detail page
(``/cheap-used-<make>-<model>-<year>-for-sale-<24-hex id>``) holds the spec table, the prices, the
delivery port, the accessories and the gallery (shared/sources/carfromjapan.md §2). The markup is
Next.js with Tailwind utility classes, so specs are read by their label text ("Registration
year", "Model Code", "VIN / Chassis No." ...), never by utility class; only the semantic
``car-price`` class and ``data-testid`` hooks are used. The 24-hex id of the URL is the listing id
(the card does not always show the "Reference No.", which goes into ``attributes``).

Card and detail prices disagree on the real site (the card total is US$ 350 lower for every car;
some cards show a pre-discount price), so the card's prices are kept as ``card_price`` /
``card_total`` and the detail page's prices win when both were read. Drive comes from the
"Drive Type" row, else from a "4WD" accessory. No real CFJ page is saved yet; sold badges and the
empty-result text are read by their words. Both parsers are pure and return raw fields only.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from parsel import Selector
from scrapy.http import TextResponse

from scrapers.items import Listing
from scrapers.parsers import common, nodes
from scrapers.parsers.shape import Layout

SOURCE = "carfromjapan"
SITE = "https://carfromjapan.com"

#: Card spec labels (the card shows six: registration, mileage, model code, engine, grade, trans.).
CARD_LABELS = (
    "Registration year",
    "Mileage",
    "Model code",
    "Engine",
    "Grade",
    "Transmission",
    "Steering",
    "Drive type",
    "Delivery port",
)
#: Detail fields the detail page is trusted for over the card (see the module docstring).
DETAIL_PRICE_FIELDS = ("price_raw", "currency_raw", "total_price_raw", "destination_port")
DETAIL_PRICE_ATTRIBUTES = ("price_condition", "total_includes")
_ID = re.compile(r"-for-sale-([0-9a-f]{24})/?$")
_REFERENCE = re.compile(r"\b(CFJ\d+)\b")
_PHOTOS = re.compile(r"\((\d+)\)\s*View all", re.I)
_INCLUDES = re.compile(r"\bincludes?:?\s*(.+)$", re.I)
_DRIVE_WORDS = {"4wd", "4x4", "awd", "2wd", "4wheeldrive", "2wheeldrive"}
_THUMB = re.compile(r"_(?:100_100|259_170)$")


def listing_id_from_url(url: str | None) -> str | None:
    return common.path_match(_ID, url)


def _spec(specs: dict[str, str], label: str) -> str | None:
    """A spec value by folded label ("Model code" finds "Model Code")."""
    wanted = common.label_key(label)
    return next((v for k, v in specs.items() if common.label_key(k) == wanted), None)


def _spec_fields(specs: dict[str, str], attributes: dict[str, str]) -> dict:
    """The raw fields card and detail page read from their specs alike, and the attributes."""
    return {
        "year_raw": _spec(specs, "Registration year"),
        "mileage_raw": _spec(specs, "Mileage"),
        "drive_raw": _spec(specs, "Drive type"),
        "transmission_raw": _spec(specs, "Transmission"),
        "attributes": attributes,
    }


def _prices(scope) -> tuple[str | None, str | None, bool]:
    """(vehicle price, total, sold) from the ``.car-price`` elements; the bold one is the total."""
    price = total = None
    sold = False
    for element in nodes.select(scope, ".car-price"):
        text = common.text_of(element)
        if common.is_sold_mark(text):
            sold = True
        elif common.has_class(element, "font-bold"):
            total = total or common.value(text)
        else:
            price = price or common.value(text)
    return price, total, sold


def _price_box_text(scope) -> str:
    """The words of the box holding the prices (labels such as "Total price (C&F)")."""
    box = nodes.select_xpath(
        scope, "(.//*[contains(concat(' ', normalize-space(@class), ' '), ' car-price ')])[1]/.."
    )
    return common.text_of(next(iter(box), None)) or ""


# -- model (search) page --------------------------------------------------------------------------


def parse_search(response: TextResponse, scraped_at: str | None = None) -> common.SearchPage:
    """The cards of one model page, whether a next page is linked, and the empty-result flag."""
    cards = nodes.select(response, '[data-testid="car-item-list"]')
    return common.search_page(response, cards, parse_card, parse_has_next(response), scraped_at)


def parse_has_next(response: TextResponse) -> bool | None:
    """A ``page=N+1`` link in ``[data-testid="dynamic-pagination"]``; None without pagination."""
    pager = nodes.select(response, '[data-testid="dynamic-pagination"]')
    if not pager:
        return None
    current = int((parse_qs(urlsplit(response.url).query).get("page") or ["1"])[0])
    for href in (found for p in pager for found in nodes.select(p, "a::attr(href)")):
        page = parse_qs(urlsplit(href).query).get("page")
        if page and page[0].isdigit() and int(page[0]) == current + 1:
            return True
    return False


def parse_card(
    card: Selector | nodes.Node, response: TextResponse, scraped_at: str | None = None
) -> Listing | None:
    """One car card; None for a card without a detail link (an advert)."""
    card = nodes.element(card)
    links = nodes.select(card, "h3 a") or nodes.select_xpath(
        card, ".//a[contains(@href, '-for-sale-')]"
    )
    link = links[0] if links else None
    url = response.urljoin(link.get("href", "")) if link is not None else None
    listing_id = listing_id_from_url(url)
    if not listing_id:
        return None
    specs = common.sibling_pairs(card, CARD_LABELS)
    text = common.text_of(card) or ""
    price, total, sold = _prices(card)
    if sold or common.has_sold_mark(card):
        sold, price, total = True, None, None
    reference = _REFERENCE.search(text)
    photos = _PHOTOS.search(text)
    port = _spec(specs, "Delivery port") or common.value(common.first_text(card, ".max-w-35"))
    attributes = {k: v for k, v in specs.items() if common.label_key(k) != "deliveryport"}
    attributes.update(
        common.drop_none(
            {
                "Reference No.": reference.group(1) if reference else None,
                "card_price": price,
                "card_total": total,
                "price_condition": common.price_condition(_price_box_text(card)) if total else None,
                "photo_count": photos.group(1) if photos else None,
            }
        )
    )
    thumb = next(iter(nodes.select_xpath(card, ".//img[contains(@src, '/car_')]/@src")), None)
    return common.exporter_listing(
        SOURCE,
        price=price,
        sold=sold,
        listing_id=listing_id,
        url=url,
        scraped_at=scraped_at,
        title=common.text_of(link),
        image_urls=common.unique([common.image_url(thumb)]),
        total_price_raw=total,
        destination_port=port if total else None,
        **_spec_fields(specs, attributes),
    )


# -- detail page ----------------------------------------------------------------------------------


def parse_detail(response: TextResponse, scraped_at: str | None = None) -> Listing | None:
    """One car's detail page; None when the page shows no car (no title and no spec table).

    "Manufacture Year" is usually empty and then left out; the masked "VIN / Chassis No."
    ("S510P-0571***") is kept as displayed, never as a full VIN.
    """
    title = common.first_text(response, "h1")
    specs = parse_spec_table(response)
    canonical = nodes.get(response, 'link[rel="canonical"]::attr(href)')
    url = response.url if listing_id_from_url(response.url) else canonical
    listing_id = listing_id_from_url(url)
    if not listing_id or (not title and not specs):
        return None
    price, total, sold = _prices(response)
    box = _price_box_text(response)
    includes = _INCLUDES.search(box)
    accessories = parse_accessories(response)
    attributes = dict(specs)
    attributes.update(
        common.drop_none(
            {
                "price_condition": common.price_condition(box) if total else None,
                "total_includes": common.clean(includes.group(1)) if includes and total else None,
                "Accessories": "; ".join(f"{k}: {', '.join(v)}" for k, v in accessories.items())
                or None,
            }
        )
    )
    if sold:  # the attributes keep how the total was quoted; the fields say only "SOLD"
        price, total = None, None
    fields = _spec_fields(specs, attributes)
    fields["drive_raw"] = fields["drive_raw"] or accessory_drive(accessories)
    return common.exporter_listing(
        SOURCE,
        price=price,
        sold=sold,
        listing_id=listing_id,
        url=f"{SITE}/{urlsplit(url).path.rstrip('/').rsplit('/', 1)[-1]}",
        scraped_at=scraped_at,
        title=title,
        image_urls=parse_gallery(response),
        total_price_raw=total,
        destination_port=parse_port(response) if total else None,
        **fields,
    )


def parse_spec_table(response: TextResponse) -> dict[str, str]:
    """The spec table (``div.border-t-primary table``, else ``table.w-full.table-fixed``, else
    any table) read as label/value cell pairs."""
    tables = nodes.select(
        response, "div.border-t-primary table, table.table-fixed"
    ) or nodes.select(response, "table")
    specs: dict[str, str] = {}
    for table in tables:
        for label, text in common.table_pairs(table).items():
            specs.setdefault(label, text)
    return specs


def parse_port(response: TextResponse) -> str | None:
    """The text after the "Delivery ..." heading, e.g. "Mombasa (Port)"."""
    return common.value(
        common.text_of(
            next(
                iter(nodes.select_xpath(response, "//h2[contains(., 'Delivery')]/following::p[1]")),
                None,
            )
        )
    )


def parse_accessories(response: TextResponse) -> dict[str, list[str]]:
    """Accessory groups under the "Accessories" heading: {"Others": ["A/C", "4WD"], ...}.

    Each group is a block whose first text is the group name and the rest its items; items
    are kept as displayed (English and Japanese mixed).
    """
    groups: dict[str, list[str]] = {}
    headings = nodes.select_xpath(response, "//h2[normalize-space(.)='Accessories']")
    blocks = [b for h in headings for b in nodes.select_xpath(h, "following-sibling::*")]
    for block in blocks:
        texts = [common.clean(t) for t in block.itertext()]
        texts = [t for t in texts if t]
        if len(texts) >= 2:
            groups.setdefault(texts[0], []).extend(texts[1:])
    return groups


def accessory_drive(accessories: dict[str, list[str]]) -> str | None:
    """A drive word listed as an accessory ("4WD" under "Others"), when the table has none."""
    for items in accessories.values():
        for item in items:
            if common.label_key(item) in _DRIVE_WORDS:
                return item
    return None


def parse_gallery(response: TextResponse) -> list[str]:
    """Large images from the thumbnail strip (``_100_100`` -> ``_640_0``)."""
    sources = nodes.select(response, 'nav[aria-label="Thumbnail Navigation"] img::attr(src)')
    return common.unique(common.image_url(_THUMB.sub("_640_0", s.strip())) for s in sources)


# -- card + detail --------------------------------------------------------------------------------


def merge_detail(card: Listing, detail: Listing) -> Listing:
    """The card completed by its detail page, whose prices, total and port win (the card keeps
    its own as ``card_price`` / ``card_total``); the detail adds the spec table, chassis number,
    accessories and gallery."""
    return common.merge_listings(
        card, detail, secondary_wins=DETAIL_PRICE_FIELDS + DETAIL_PRICE_ATTRIBUTES
    )


#: Page kinds for ``keitrucks parse --kind``: each takes (response, scraped_at) -> listings.
PAGE_PARSERS = common.page_parsers(parse_search, parse_detail)


def parse_page(response: TextResponse, scraped_at: str | None = None) -> list[Listing]:
    """Any saved CAR FROM JAPAN page -> its listings (for ``keitrucks parse``)."""
    gallery = nodes.select(response, 'nav[aria-label="Thumbnail Navigation"]')
    kind = "detail" if gallery or parse_spec_table(response) else "search"
    return PAGE_PARSERS[kind](response, scraped_at)


#: The page layouts this parser knows, by their anchors (see scrapers/parsers/shape.py).
LAYOUTS = (
    Layout("search with no results", text="No cars found", listings=False),
    Layout(
        "search results", css='[data-testid="car-item-list"], [data-testid="dynamic-pagination"]'
    ),
    Layout(
        "vehicle page", css='nav[aria-label="Thumbnail Navigation"], div.border-t-primary table'
    ),
)

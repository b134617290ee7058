"""TCV (https://www.tc-v.com), a marketplace of many Japanese exporters: list and detail pages.

No TCV page is saved and no class name is verified (shared/sources/tcv.md), so this parser reads
words, not classes. On a list page (``/used_car/<make>/<model>/[?pn=N]``) each vehicle is the
outermost element carrying ``data-car-id``; its visible text reads like "STOCK 2014 SUZUKI CARRY
TRUCK FOB Price US$ 4,567 Registration Year 2014/03 Engine Capacity 660cc Mileage 64,100 km RHD
Gasoline/Petrol 4WD" and is read with the guide's patterns. On a detail page
(``/used_car/<make>/<model>/<id>/``) the "Specific information" labels ("Model Code",
"Registration Year / Month", "Manufacture Year / Month", "Drive Type", "VIN (Vehicle
Identification Number) /Serial No." ...) are paired with the element after each label, as are
the price labels ("FOB Price", "Total Price (C&F)", "Destination Port") and the seller block
("Seller", "Location"); seller phone numbers and e-mail addresses are never read. Both parsers are
pure and return raw fields only.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from parsel import Selector
from scrapy.http import TextResponse

from scrapers.items import Listing
from scrapers.parsers import common, nodes
from scrapers.parsers.shape import Layout

SOURCE = "tcv"
SITE = "https://www.tc-v.com"

#: Detail labels read as label/value pairs wherever they sit (besides every ``dt``/``th``).
#: Raw fields and the spec labels that fill them, on a search card and on a detail page.
CARD_FIELD_LABELS = {
    "year_raw": "Registration Year",
    "mileage_raw": "Mileage",
    "drive_raw": "Drive",
    "transmission_raw": "Transmission",
}
DETAIL_FIELD_LABELS = {
    "year_raw": "Registration Year / Month",
    "mileage_raw": "Mileage",
    "drive_raw": "Drive Type",
    "transmission_raw": "Transmission",
}
DETAIL_LABELS = (
    "VIN (Vehicle Identification Number) /Serial No.",
    "Model Code",
    "Registration Year / Month",
    "Manufacture Year / Month",
    "Mileage",
    "Transmission",
    "Engine Capacity (Displacement)",
    "Fuel",
    "BodyStyle1",
    "BodyStyle2",
    "Steering",
    "Drive Type",
    "ID",
    "FOB Price",
    "Total Price",
    "Destination Port",
    "Seller",
    "Location",
)
#: Labels whose values are contact details: never stored.
CONTACT_LABELS = {"tel", "telephone", "phone", "fax", "email", "e-mail", "whatsapp", "contact"}
_DETAIL_PATH = re.compile(r"/used_car/[^/]+/[^/]+/(\d{5,})/?$")
_CARD = {
    "price": re.compile(r"FOB Price\s*(US\$\s*[\d,]+)", re.I),
    "year": re.compile(r"Registration Year\s*((?:19|20)\d{2}(?:/\d{1,2})?)", re.I),
    "engine": re.compile(r"Engine Capacity\s*([\d,]+\s*cc)\b", re.I),
    "mileage": re.compile(r"Mileage\s*([\d,]+\s*km)\b", re.I),
    "steering": re.compile(r"\b(RHD|LHD)\b"),
    "fuel": re.compile(
        r"\b(?:RHD|LHD)\s+(Gasoline(?:/Petrol)?|Petrol|Diesel|Hybrid(?:\([^)]*\))?|Electric|LPG)",
        re.I,
    ),
    "drive": re.compile(r"\b(2WD|4WD|AWD)\b"),
    "transmission": re.compile(r"\bTransmission\s+(MT|AT|CVT|Manual|Automatic)\b", re.I),
    "title": re.compile(r"^(?:STOCK\s+)?((?:19|20)\d{2}\s+.+?)\s+FOB Price", re.I),
}
_SOLD = re.compile(r"\bSOLD(?:\s+OUT)?\b")
#: An e-mail address, or a phone number (a "+" country code, or three groups of digits).
_CONTACT_VALUE = re.compile(r"@|\+\d|\b\d{2,4}[-\s.]\d{2,4}[-\s.]\d{3,4}\b")


def listing_id_from_url(url: str | None) -> str | None:
    return common.path_match(_DETAIL_PATH, url)


def _find(pattern: re.Pattern, text: str) -> str | None:
    match = pattern.search(text)
    return common.clean(match.group(1)) if match else None


def _images(sources: list[str]) -> list[str]:
    return common.unique(common.image_url(src, SITE) for src in sources)


def _by_prefix(pairs: dict[str, str], prefix: str) -> tuple[str | None, str | None]:
    """(label, value) of the first pair whose folded label starts with ``prefix``."""
    for label, text in pairs.items():
        if common.label_key(label).startswith(prefix):
            return label, text
    return None, None


# -- list page ------------------------------------------------------------------------------------


#: The sources of the images under a node whose address names a vehicle (``id``).
_IMAGES_OF = nodes.xpath(".//img[contains(@src, $id)]/@src")


def parse_search(response: TextResponse, scraped_at: str | None = None) -> common.SearchPage:
    """The vehicles of one list page, whether a next page is linked, and the empty-result flag."""
    cards = nodes.select_xpath(response, "//*[@data-car-id][not(ancestor::*[@data-car-id])]")
    return common.search_page(response, cards, parse_card, parse_has_next(response), scraped_at)


def parse_has_next(response: TextResponse) -> bool | None:
    """A link to ``?pn=<current+1>`` of the same list (page N is ``pn=N-1``, page 1 has no
    ``pn``); None when the page links no other page of its list."""
    here = urlsplit(response.url)
    current = int((parse_qs(here.query).get("pn") or ["0"])[0])
    pages = set()
    for href in nodes.select(response, "a::attr(href)"):
        link = urlsplit(response.urljoin(href))
        if "/used_car/" not in link.path or not here.path.endswith(link.path):
            continue
        pn = (parse_qs(link.query).get("pn") or ["0"])[0]
        if pn.isdigit() and int(pn) != current:
            pages.add(int(pn))
    if not pages:
        return None
    return current + 1 in pages


def parse_card(
    card: Selector | nodes.Node, response: TextResponse, scraped_at: str | None = None
) -> Listing | None:
    """One vehicle of a list page; None without an id and a link to its detail page."""
    card = nodes.element(card)
    car_id = common.clean(card.get("data-car-id"))
    links = [
        a
        for a in nodes.select(card, "a[href]")
        if listing_id_from_url(response.urljoin(a.get("href"))) == car_id
    ]
    if not car_id or not links:
        return None
    url = response.urljoin(links[0].get("href"))
    text = common.text_of(card) or ""
    title = next((t for t in map(common.text_of, links) if t), None) or _find(_CARD["title"], text)
    sold = bool(_SOLD.search(text))
    price = None if sold else _find(_CARD["price"], text)
    specs = common.drop_none(
        {
            "Registration Year": _find(_CARD["year"], text),
            "Engine Capacity": _find(_CARD["engine"], text),
            "Mileage": _find(_CARD["mileage"], text),
            "Steering": _find(_CARD["steering"], text),
            "Fuel": _find(_CARD["fuel"], text),
            "Drive": _find(_CARD["drive"], text),
            "Transmission": _find(_CARD["transmission"], text),
        }
    )
    images = _IMAGES_OF(card, id=car_id)
    return common.exporter_listing(
        SOURCE,
        price=price,
        sold=sold,
        listing_id=car_id,
        url=url,
        scraped_at=scraped_at,
        title=title,
        attributes=specs,
        **common.spec_fields(specs, CARD_FIELD_LABELS),
        image_urls=_images(images[:1]),
    )


# -- detail page ----------------------------------------------------------------------------------


def parse_detail(response: TextResponse, scraped_at: str | None = None) -> Listing | None:
    """One vehicle's detail page; None when the page shows no vehicle (no title, no specs).

    "Manufacture Year / Month" is kept as displayed, "Confirm with the Seller" included (the
    normalizer finds no date in it); the masked VIN ("HF50-600***") is kept as displayed.
    """
    url = response.url if listing_id_from_url(response.url) else None
    url = url or nodes.get(response, 'link[rel="canonical"]::attr(href)')
    listing_id = listing_id_from_url(url)
    title = common.first_text(response, "h1")
    pairs = {
        label: text
        for label, text in common.sibling_pairs(response, DETAIL_LABELS).items()
        if not is_contact(label, text)
    }
    if not listing_id or not title or "Model Code" not in pairs and "FOB Price" not in pairs:
        return None
    sold = any(common.is_sold_mark(t) for t in pairs.values()) or bool(
        nodes.select_xpath(
            response, "//*[normalize-space(text())='SOLD' or normalize-space(text())='SOLD OUT']"
        )
    )
    _, fob = _by_prefix(pairs, "fobprice")
    total_label, total = _by_prefix(pairs, "totalprice")
    _, port = _by_prefix(pairs, "destinationport")
    price = None if sold else fob
    total = None if sold else total
    attributes = {k: v for k, v in pairs.items() if not _is_offer_label(k)}
    attributes.update(
        common.drop_none(
            {"price_condition": common.price_condition(total_label) if total else None}
        )
    )
    images = _IMAGES_OF(nodes.element(response), id=listing_id)
    path = urlsplit(url).path
    return common.exporter_listing(
        SOURCE,
        price=price,
        sold=sold,
        listing_id=listing_id,
        url=f"{SITE}{path[path.find('/used_car/') :]}",
        scraped_at=scraped_at,
        title=title,
        location_raw=pairs.get("Location"),
        attributes=attributes,
        **common.spec_fields(pairs, DETAIL_FIELD_LABELS),
        image_urls=_images(images),
        total_price_raw=total,
        destination_port=port if total else None,
    )


def is_contact(label: str, text: str) -> bool:
    """A phone, fax, e-mail or messenger row of the seller block (never stored)."""
    if common.label_key(label) in {common.label_key(c) for c in CONTACT_LABELS}:
        return True
    return bool(_CONTACT_VALUE.search(text))


def _is_offer_label(label: str) -> bool:
    key = common.label_key(label)
    return key.startswith(("fobprice", "totalprice", "destinationport"))


# -- card + detail --------------------------------------------------------------------------------


def merge_detail(card: Listing, detail: Listing) -> Listing:
    """The card completed by its detail page: model code, chassis, transmission, seller and its
    location, the total to the chosen port, and the gallery. The card's FOB price stands."""
    return common.merge_listings(card, detail)


#: Page kinds for ``keitrucks parse --kind``: each takes (response, scraped_at) -> listings.
PAGE_PARSERS = common.page_parsers(parse_search, parse_detail)


def parse_page(response: TextResponse, scraped_at: str | None = None) -> list[Listing]:
    """Any saved TCV page -> its listings (for ``keitrucks parse``)."""
    kind = "detail" if "Specific information" in response.text else "search"
    return PAGE_PARSERS[kind](response, scraped_at)


#: The page layouts this parser knows, by their anchors (see scrapers/parsers/shape.py).
LAYOUTS = (
    Layout("list with no results", css=".list-car__none", listings=False),
    Layout("vehicle page", text="Specific information"),
    Layout("list page", css="[data-car-id]"),
)

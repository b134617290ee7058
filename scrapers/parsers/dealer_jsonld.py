"""US dealer websites, any platform: schema.org Vehicle/Car/Product offers in JSON-LD or microdata.

Dealer sites (Dealer.com, DealerFire, dealr.cloud, Overfuel, ClassicCars-style listing pages ...)
describe each vehicle detail page (VDP), and sometimes each card of an inventory page, with a
schema.org ``Vehicle``/``Car`` node (``Product`` when it carries vehicle properties). This module
reads those nodes from every ``application/ld+json`` block, tolerating malformed JSON (control
characters, bad escapes, trailing commas: ``json`` then ``chompjs``), arrays, ``@graph`` and
``@id`` references, with types and property names matched case-insensitively; microdata (through
extruct) only when no JSON-LD vehicle is on the page. Each vehicle becomes one raw ``Listing``:
name, description, model year and the property it came from, brand + model, odometer with its
unit, drive, transmission, the first *sale* offer's price/currency/availability (lease and
finance offers skipped), seller location, images, and the flattened properties as attributes.
Known platform faults are corrected from the platform's own data layer (``PLATFORM_ADAPTERS``):
a finance payment or MSRP echoed as the Dealer.com price, DealerFire's price including dealer
fees, dealr.cloud's missing VIN. ``listing_id`` is the VIN (often a Japanese frame number such as
``DD51T-412233``), else ``<dealer domain>:<sku>``, else ``<dealer domain>:<URL path>``.

Inventory pages also yield the links to follow (a dealer's CSS selector and JSON-LD ``ItemList``
entries) and the next page. ``is_kei_listing``/``link_may_be_kei`` decide from the project's own
alias and chassis-code tables (``keitrucks.core.tables``) whether a vehicle or link is a kei truck,
so
the spider can skip a lot's other inventory early. The parsers are pure: no clock, no network.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any
from urllib.parse import urldefrag, urlsplit

import chompjs
import extruct
from scrapy.http import TextResponse
from w3lib.html import get_base_url

from keitrucks.core import tables
from scrapers.items import Listing

logger = logging.getLogger(__name__)

SOURCE = "dealer_jsonld"

#: schema.org types that are vehicles outright (compared lower-case, prefix stripped).
VEHICLE_TYPES = frozenset({"vehicle", "car", "busorcoach", "motorcycle", "motorizedbicycle"})
#: Types that are vehicles only when they carry one of ``VEHICLE_PROPERTIES``.
PRODUCT_TYPES = frozenset({"product", "individualproduct", "someproducts", "productmodel"})
VEHICLE_PROPERTIES = frozenset(
    {
        "vehicleidentificationnumber",
        "mileagefromodometer",
        "vehiclemodeldate",
        "vehicleengine",
        "vehicletransmission",
        "drivewheelconfiguration",
        "vehicleconfiguration",
        "datevehiclefirstregistered",
    }
)
OFFER_TYPES = frozenset({"offer", "aggregateoffer", "offerforpurchase"})
#: Where the model year may live, in order of preference (shared/sources/dealer_jsonld.md §2).
YEAR_PROPERTIES = ("vehicleModelDate", "modelDate", "productionDate", "dateVehicleFirstRegistered")
#: The oldest model year accepted: 1960s-90s kei trucks are the 25-year-rule target.
MIN_YEAR = 1955
#: Offer properties that mark a lease, subscription or finance offer rather than a sale.
_LEASE_WORDS = re.compile(
    r"\blease\b|leasing|subscription|per month|/\s?mo\b|monthly payment", re.I
)
#: Dealer.com: a JSON-LD "price" this low is a monthly payment, not the truck's price.
FINANCE_PAYMENT_BELOW = 1000
#: Properties kept out of ``attributes`` (they have fields of their own or are noise).
_NOT_ATTRIBUTES = frozenset(
    {
        "@context",
        "@type",
        "@id",
        "name",
        "description",
        "image",
        "offers",
        "url",
        "mainentityofpage",
        "potentialaction",
        "review",
        "aggregaterating",
        "isrelatedto",
        "issimilarto",
        "subjectof",
    }
)
#: UN/CEFACT unit codes schema.org pages use, as words normalizers read.
_UNIT_CODES = {"SMI": "mi", "KMT": "km", "CMQ": "cc", "LTR": "L", "KGM": "kg", "LBR": "lb"}
_SCHEMA_PREFIX = re.compile(r"^(?:https?://)?(?:www\.)?schema\.org/|^schema:", re.I)
_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BAD_ESCAPE = re.compile(r"\\(?![\"\\/bfnrtu])")
_WRAPPERS = re.compile(r"^\s*(?:<!--|//\s*<!\[CDATA\[|<!\[CDATA\[)|(?:-->|//\s*\]\]>|\]\]>)\s*$")
_VIN_PLACEHOLDERS = frozenset({"N/A", "NA", "NONE", "TBD", "UNKNOWN", "NULL", "0"})
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


# -- tolerant JSON ------------------------------------------------------------------------------


def load_json_ld(text: str) -> Any | None:
    """One ``<script type="application/ld+json">`` body as Python data, None when unreadable.

    Tries strict-less ``json`` first, then the same text with control characters blanked and
    invalid escapes (Dealer.com's ``\\-``) dropped, then ``chompjs`` (trailing commas, several
    concatenated objects -> a list).
    """
    body = _WRAPPERS.sub("", text.strip())
    if not body:
        return None
    try:
        return json.loads(body, strict=False)
    except ValueError:
        pass
    cleaned = _BAD_ESCAPE.sub("", _CONTROL.sub(" ", body))
    try:
        return json.loads(cleaned, strict=False)
    except ValueError:
        pass
    try:
        objects = list(chompjs.parse_js_objects(cleaned))
    except ValueError:
        return None
    if not objects:
        return None
    return objects[0] if len(objects) == 1 else objects


def _js_object_after(text: str, pattern: re.Pattern) -> Any | None:
    """The JavaScript object or array literal that follows ``pattern`` in a script, or None."""
    match = pattern.search(text)
    if match is None:
        return None
    tail = _BAD_ESCAPE.sub("", text[match.end() :])
    try:
        return chompjs.parse_js_object(tail)
    except ValueError:
        return None


def json_ld_data(response: TextResponse) -> list[Any]:
    """Every readable JSON-LD block of the page; unreadable ones are logged and skipped."""
    out = []
    for number, text in enumerate(
        response.xpath(
            '//script[contains(translate(@type, "ABCDEFGHIJKLMNOPQRSTUVWXYZ",'
            ' "abcdefghijklmnopqrstuvwxyz"), "ld+json")]/text()'
        ).getall(),
        start=1,
    ):
        data = load_json_ld(text)
        if data is None:
            if text.strip():
                logger.warning("Unreadable JSON-LD block %d on %s", number, response.url)
            continue
        out.append(data)
    return out


def microdata(response: TextResponse) -> list[Any]:
    """schema.org microdata items in JSON-LD shape (extruct), [] when the page has none."""
    if b"itemscope" not in response.body:
        return []
    found = extruct.extract(
        response.text,
        base_url=get_base_url(response.text, response.url),
        syntaxes=["microdata"],
        uniform=True,
    )
    return list(found.get("microdata") or [])


# -- schema.org helpers -------------------------------------------------------------------------


def clean_type(value: Any) -> str:
    """ "https://schema.org/Car" / "schema:Car" / "car" -> "car"."""
    return _SCHEMA_PREFIX.sub("", str(value)).strip().lower()


def types_of(node: dict) -> set[str]:
    raw = get(node, "@type")
    values = raw if isinstance(raw, list) else [raw]
    return {clean_type(v) for v in values if v}


def get(node: Any, name: str) -> Any:
    """A property by name, case-insensitively (``vehicleModelDate`` == ``vehiclemodeldate``)."""
    if not isinstance(node, dict):
        return None
    if name in node:
        return node[name]
    lowered = name.lower()
    return next((v for k, v in node.items() if k.lower() == lowered), None)


def _lower_keys(node: dict) -> set[str]:
    return {k.lower() for k in node}


def is_vehicle(node: Any) -> bool:
    if not isinstance(node, dict):
        return False
    kinds = types_of(node)
    if kinds & VEHICLE_TYPES:
        return True
    has_vehicle_props = bool(_lower_keys(node) & VEHICLE_PROPERTIES)
    return has_vehicle_props and (not kinds or bool(kinds & PRODUCT_TYPES))


def is_offer(node: Any) -> bool:
    return isinstance(node, dict) and bool(types_of(node) & OFFER_TYPES)


def _index_ids(data: Any, index: dict[str, dict]) -> None:
    """Every node with an ``@id`` and properties besides it, by id (to resolve references)."""
    if isinstance(data, list):
        for item in data:
            _index_ids(item, index)
    elif isinstance(data, dict):
        node_id = get(data, "@id")
        if isinstance(node_id, str) and len(data) > 1:
            index.setdefault(node_id, data)
        for key, value in data.items():
            if key != "@context":
                _index_ids(value, index)


def _deref(value: Any, index: dict[str, dict]) -> Any:
    if isinstance(value, dict) and set(value) <= {"@id"} and value.get("@id") in index:
        return index[value["@id"]]
    return value


@dataclass
class VehicleNode:
    node: dict
    #: the Offer this vehicle is the ``itemOffered`` of, when the page nests it that way.
    parent_offer: dict | None
    #: "json-ld" or "microdata".
    source_format: str
    index: dict[str, dict]


def _walk(value: Any, index: dict[str, dict], parent_offer: dict | None = None) -> Iterator:
    """(vehicle node, its parent offer) for every vehicle in ``value``; never inside a vehicle."""
    if isinstance(value, list):
        for item in value:
            yield from _walk(item, index, parent_offer)
        return
    if not isinstance(value, dict):
        return
    value = _deref(value, index) if parent_offer is not None else value
    if is_vehicle(value):
        yield value, parent_offer
        return
    for key, child in value.items():
        if key == "@context":
            continue
        offered = key.lower() == "itemoffered" and is_offer(value)
        yield from _walk(child, index, value if offered else None)


def vehicle_nodes(data: list[Any], source_format: str) -> list[VehicleNode]:
    """Each vehicle once, in page order; a node met both in the graph and as an offer's
    ``itemOffered`` keeps its offer."""
    index: dict[str, dict] = {}
    _index_ids(data, index)
    found: dict[int, VehicleNode] = {}
    for node, offer in _walk(data, index):
        if id(node) not in found or found[id(node)].parent_offer is None:
            found[id(node)] = VehicleNode(node, offer, source_format, index)
    return list(found.values())


def _text(value: Any) -> str | None:
    """A property value as display text: numbers without a spurious ``.0``, names of things,
    ``@value`` of typed literals, the first of a list; whitespace collapsed; None when empty."""
    if isinstance(value, list):
        return next((t for t in map(_text, value) if t), None)
    if isinstance(value, dict):
        for key in ("@value", "name", "value"):
            if get(value, key) is not None:
                return _text(get(value, key))
        return None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = " ".join(str(value).replace("\xa0", " ").split())
    return text or None


def _enum(value: Any) -> str | None:
    """A schema.org enumeration member without its URL: ".../FourWheelDriveConfiguration" ->
    "FourWheelDriveConfiguration"; other text as it is."""
    text = _text(value)
    return _SCHEMA_PREFIX.sub("", text) if text else None


def _quantity(value: Any) -> str | None:
    """A QuantitativeValue (or plain text) as "41200 mi": the value and its unit as a word."""
    if isinstance(value, list):
        return next((t for t in map(_quantity, value) if t), None)
    if not isinstance(value, dict):
        return _text(value)
    number = _text(get(value, "value"))
    if number is None:
        return _text(value)
    code = _text(get(value, "unitCode"))
    unit = _UNIT_CODES.get(code.upper(), code) if code else _text(get(value, "unitText"))
    return f"{number} {unit}" if unit else number


def _words_of_enum(value: str | None) -> str | None:
    """ "SoldOut" -> "Sold Out" (so status words match); "n/a" and other non-enums -> None."""
    if not value or not re.fullmatch(r"[A-Z][A-Za-z]+", value):
        return None
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", value)


# -- offers -------------------------------------------------------------------------------------


def _offers(vehicle: VehicleNode) -> list[dict]:
    raw = get(vehicle.node, "offers")
    items = raw if isinstance(raw, list) else [raw]
    if vehicle.parent_offer is not None:
        items.append(vehicle.parent_offer)
    out = []
    for item in items:
        item = _deref(item, vehicle.index)
        if not isinstance(item, dict):
            continue
        nested = get(item, "offers")  # AggregateOffer
        if nested:
            out.extend(o for o in (nested if isinstance(nested, list) else [nested]) if o)
        out.append(item)
    return [o for o in out if isinstance(o, dict)]


def _specs(offer: dict) -> list[dict]:
    raw = get(offer, "priceSpecification")
    return [s for s in (raw if isinstance(raw, list) else [raw]) if isinstance(s, dict)]


def _is_recurring(spec: dict) -> bool:
    return any(get(spec, k) for k in ("unitCode", "billingDuration", "referenceQuantity"))


def is_sale_offer(offer: dict) -> bool:
    """False for lease, subscription and finance offers (shared/sources/dealer_jsonld.md §2)."""
    if get(offer, "paymentFrequency") or get(offer, "leaseLength"):
        return False
    function = _text(get(offer, "businessFunction")) or ""
    if "lease" in function.lower() or "rent" in function.lower():
        return False
    if any(_is_recurring(s) for s in _specs(offer)):
        return False
    words = " ".join(filter(None, (_text(get(offer, k)) for k in ("name", "description", "@type"))))
    return not _LEASE_WORDS.search(words)


def offer_price(offer: dict) -> str | None:
    """The offer's price as given ("27995", "7900"); from a one-off priceSpecification when the
    offer has none."""
    price = _text(get(offer, "price"))
    if price is not None:
        return price
    for spec in _specs(offer):
        if not _is_recurring(spec) and (price := _text(get(spec, "price"))):
            return price
    return None


def offer_currency(offer: dict) -> str | None:
    currency = _text(get(offer, "priceCurrency"))
    if currency:
        return currency
    return next((c for s in _specs(offer) if (c := _text(get(s, "priceCurrency")))), None)


def sale_offer(vehicle: VehicleNode) -> dict | None:
    """The first sale offer with a price, else the first sale offer, else None."""
    sales = [o for o in _offers(vehicle) if is_sale_offer(o)]
    return next((o for o in sales if offer_price(o) is not None), sales[0] if sales else None)


# -- fields -------------------------------------------------------------------------------------


def year_property(node: dict, max_year: int | None) -> tuple[str | None, str | None]:
    """(raw value, property name) of the first date property holding a plausible model year:
    a 4-digit group from ``MIN_YEAR`` to ``max_year`` (the year after the crawl); else Nones."""
    for name in YEAR_PROPERTIES:
        raw = _text(get(node, name))
        match = _YEAR.search(raw or "")
        year = int(match.group(1)) if match else None
        if year and year >= MIN_YEAR and (max_year is None or year <= max_year):
            return raw, name
    return None, None


def _make(node: dict) -> str | None:
    for name in ("brand", "manufacturer"):
        if make := _text(get(node, name)):
            return make
    return None


def make_model(node: dict) -> str | None:
    """ "Suzuki Carry": brand (or manufacturer) and model, without repeating the brand."""
    make, model = _make(node), _text(get(node, "model"))
    if make and model and model.lower().startswith(make.lower()):
        return model
    return " ".join(p for p in (make, model) if p) or None


def _address(value: Any) -> str | None:
    """ "Hickory, NC" from a PostalAddress (or a place holding one, or plain text)."""
    if isinstance(value, list):
        return next((t for t in map(_address, value) if t), None)
    if isinstance(value, str):
        return _text(value)
    if not isinstance(value, dict):
        return None
    if (inner := get(value, "address")) is not None:
        return _address(inner)
    parts = [_text(get(value, k)) for k in ("addressLocality", "addressRegion")]
    return ", ".join(p for p in parts if p) or None


def _location(vehicle: VehicleNode, offer: dict | None) -> str | None:
    candidates = []
    if offer is not None:
        candidates += [get(offer, "availableAtOrFrom"), _deref(get(offer, "seller"), vehicle.index)]
    candidates += [get(vehicle.node, "address"), _deref(get(vehicle.node, "seller"), vehicle.index)]
    return next((a for c in candidates if c is not None and (a := _address(c))), None)


def _seller_type(vehicle: VehicleNode, offer: dict | None) -> str | None:
    seller = _deref(get(offer, "seller"), vehicle.index) if offer else None
    if not isinstance(seller, dict):
        return None
    kinds = types_of(seller)
    if "person" in kinds:
        return "owner"
    return "dealer" if kinds else None


def _images(node: dict, response: TextResponse) -> list[str]:
    raw = get(node, "image")
    out: list[str] = []
    for item in raw if isinstance(raw, list) else [raw]:
        url = _text(get(item, "url") or get(item, "contentUrl")) if isinstance(item, dict) else item
        if isinstance(url, str) and url.strip() and not url.startswith("data:"):
            absolute = response.urljoin(url.strip())
            if absolute not in out:
                out.append(absolute)
    return out


def _flatten(node: dict, index: dict, prefix: str = "", depth: int = 0) -> dict[str, str]:
    """Scalar properties as "dotted.name" -> text; quantities as "41200 mi"; names of things."""
    out: dict[str, str] = {}
    for key, value in node.items():
        if key.lower() in _NOT_ATTRIBUTES and not prefix:
            continue
        if key.startswith("@"):
            continue
        name = f"{prefix}{key}"
        value = _deref(value, index)
        if isinstance(value, dict) and get(value, "value") is not None:
            text = _quantity(value)
        elif isinstance(value, dict) and depth < 2 and not get(value, "name"):
            out.update(_flatten(value, index, f"{name}.", depth + 1))
            continue
        elif isinstance(value, list):
            parts = [_quantity(v) if isinstance(v, dict) else _enum(v) for v in value]
            text = "; ".join(p for p in parts if p) or None
        else:
            text = _enum(value)
        if text:
            out[name] = text
    return out


def vin_of(node: dict) -> str | None:
    """The VIN (or Japanese frame number), None for placeholders ("N/A", "TBD", "0")."""
    text = _text(get(node, "vehicleIdentificationNumber"))
    if not text:
        return None
    text = text.strip().upper()
    bare = re.sub(r"[^A-Z0-9]", "", text)
    if text in _VIN_PLACEHOLDERS or len(bare) < 5 or len(set(bare)) == 1:
        return None
    return text


def dealer_domain(hints: DealerHints, url: str) -> str:
    if hints.domain:
        return hints.domain.lower()
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def listing_id_for(vin: str | None, node: dict, url: str, domain: str) -> str:
    """The VIN; else ``<domain>:<sku>`` (sku, serialNumber, productID); else ``<domain>:<path>``."""
    if vin:
        return vin
    for name in ("sku", "serialNumber", "productID", "identifier"):
        if (value := _text(get(node, name))) and not value.startswith("http"):
            return f"{domain}:{value}"
    parts = urlsplit(url)
    path = parts.path.strip("/") + (f"?{parts.query}" if parts.query else "")
    return f"{domain}:{path or '/'}"


def _node_url(vehicle: VehicleNode, offer: dict | None, response: TextResponse) -> str | None:
    for value in (get(offer, "url") if offer else None, get(vehicle.node, "url")):
        text = _text(value)
        if text and not text.startswith("#"):
            return response.urljoin(text)
    node_id = _text(get(vehicle.node, "@id"))
    if node_id and node_id.startswith("http") and "#" not in node_id:
        return node_id
    return None


def listing_from_node(
    vehicle: VehicleNode,
    response: TextResponse,
    scraped_at: str | None,
    hints: DealerHints,
) -> Listing:
    node = vehicle.node
    offer = sale_offer(vehicle)
    max_year = int(scraped_at[:4]) + 1 if scraped_at and scraped_at[:4].isdigit() else None
    year_raw, year_from = year_property(node, max_year)
    url = _node_url(vehicle, offer, response) or response.url
    domain = dealer_domain(hints, response.url)
    price = offer_price(offer) if offer else None
    availability = _enum(get(offer, "availability")) if offer else None
    attributes = _flatten(node, vehicle.index)
    attributes["source_format"] = vehicle.source_format
    if year_from:
        attributes["year_property"] = year_from
    if availability:
        attributes["availability"] = availability
    return Listing(
        source=SOURCE,
        listing_id=listing_id_for(vin_of(node), node, url, domain),
        url=url,
        scraped_at=scraped_at,
        title=_text(get(node, "name")),
        description=_text(get(node, "description")),
        price_raw=price,
        currency_raw=offer_currency(offer) if offer else None,
        location_raw=_location(vehicle, offer) or hints.location,
        year_raw=year_raw,
        make_model_raw=make_model(node),
        mileage_raw=_quantity(get(node, "mileageFromOdometer")),
        drive_raw=_enum(get(node, "driveWheelConfiguration")),
        transmission_raw=_enum(get(node, "vehicleTransmission")),
        attributes=attributes,
        seller_type=_seller_type(vehicle, offer) or hints.seller_type,
        price_basis="asking" if price is not None else None,
        image_urls=_images(node, response),
        status_raw=_words_of_enum(availability),
    )


# -- platform adapters --------------------------------------------------------------------------

#: Page fingerprints of the platforms with an adapter (shared/sources/dealer_jsonld.md §4).
PLATFORM_FINGERPRINTS = {
    "dealercom": (b"static.dealer.com", b"DDC.dataLayer"),
    "dealerfire": (b"cdn-ds.com", b"Moff.modules"),
    "dealrcloud": (b"cdn.dealrcloud.com", b"vehicle-inquiry="),
}
_DDC_VEHICLES = re.compile(r"DDC\.dataLayer(?:\[\s*['\"]vehicles['\"]\s*\]|\.vehicles)\s*=\s*")
_DEALERFIRE_VEHICLE = re.compile(r"pushData\(\s*['\"]VehicleObject[^'\"]*['\"]\s*,\s*", re.I)


def platform_of(response: TextResponse, hint: str | None = None) -> str | None:
    """The dealer platform: the configured hint, else the first fingerprint found on the page."""
    if hint:
        return hint.lower()
    body = response.body
    return next(
        (name for name, marks in PLATFORM_FINGERPRINTS.items() if any(m in body for m in marks)),
        None,
    )


def _scripts(response: TextResponse) -> Iterator[str]:
    yield from response.xpath("//script[not(@src)]/text()").getall()


def _data_layer_entries(response: TextResponse, pattern: re.Pattern) -> list[dict]:
    out: list[dict] = []
    for script in _scripts(response):
        for match in pattern.finditer(script):
            data = _js_object_after(script[match.start() :], pattern)
            items = data if isinstance(data, list) else [data]
            out.extend(i for i in items if isinstance(i, dict))
    return out


def _entry_for(listing: Listing, entries: list[dict], only: bool) -> dict | None:
    """The data-layer entry of this vehicle: same VIN, else the only entry of a one-vehicle page."""
    for entry in entries:
        vin = _text(get(entry, "vin"))
        if vin and vin.upper() == listing.listing_id.upper():
            return entry
    return entries[0] if only and len(entries) == 1 else None


def has_vin(listing: Listing) -> bool:
    """Whether the id is a VIN/frame number (ids of other kinds are ``<domain>:...``)."""
    return ":" not in listing.listing_id


def _with_vin(listing: Listing, vin: str, source: str) -> Listing:
    """The listing known by a VIN the platform's own data gives (kept as attribute ``vin``)."""
    vin = vin.strip().upper()
    if vin in _VIN_PLACEHOLDERS:
        return listing
    attributes = {**listing.attributes, "vin": vin, "vin_source": source}
    return replace(listing, listing_id=vin, attributes=attributes)


def _price_text(value: Any) -> str | None:
    text = _text(value)
    return text if text and re.search(r"[1-9]", text) else None


def _corrected(listing: Listing, price: str, source: str) -> Listing:
    attributes = {**listing.attributes, "price_source": source}
    if listing.price_raw is not None and listing.price_raw != price:
        attributes["price_jsonld"] = listing.price_raw
    return replace(listing, price_raw=price, price_basis="asking", attributes=attributes)


def adapt_dealercom(response: TextResponse, listings: list[Listing]) -> list[Listing]:
    """Dealer.com: JSON-LD ``offers.price`` is sometimes a finance payment or an echo of MSRP;
    ``DDC.dataLayer['vehicles']`` holds the real internet/sale/asking price (and the VIN and
    odometer when the JSON-LD lacks them). Without a data layer, a "price" under
    ``FINANCE_PAYMENT_BELOW`` is dropped as a payment."""
    entries = _data_layer_entries(response, _DDC_VEHICLES)
    out = []
    for listing in listings:
        entry = _entry_for(listing, entries, only=len(listings) == 1)
        if entry is None:
            out.append(_drop_payment(listing))
            continue
        for key in ("internetPrice", "salePrice", "askingPrice"):
            if price := _price_text(get(entry, key)):
                listing = _corrected(listing, price, f"DDC.dataLayer {key}")
                break
        else:
            listing = _drop_payment(listing)
        if msrp := _price_text(get(entry, "msrp")):
            listing = replace(listing, attributes={**listing.attributes, "msrp": msrp})
        vin = _text(get(entry, "vin"))
        if vin and not has_vin(listing):
            listing = _with_vin(listing, vin, "DDC.dataLayer")
        if listing.mileage_raw is None and (odometer := _text(get(entry, "odometer"))):
            listing = replace(listing, mileage_raw=odometer)
        if listing.drive_raw is None and (drive := _text(get(entry, "driveLine"))):
            listing = replace(listing, drive_raw=drive)
        out.append(listing)
    return out


def _drop_payment(listing: Listing) -> Listing:
    number = re.search(r"\d+(?:\.\d+)?", (listing.price_raw or "").replace(",", ""))
    if number is None or float(number.group()) >= FINANCE_PAYMENT_BELOW:
        return listing
    attributes = {**listing.attributes, "price_jsonld": listing.price_raw}
    attributes["price_dropped"] = "finance payment, not a price"
    return replace(listing, price_raw=None, price_basis=None, attributes=attributes)


def adapt_dealerfire(response: TextResponse, listings: list[Listing]) -> list[Listing]:
    """DealerFire: the JSON-LD price includes dealer fees; the data layer's ``sellingPrice``
    (``Moff.modules.get('DataLayer').pushData('VehicleObject_…', {...})``) does not."""
    entries = _data_layer_entries(response, _DEALERFIRE_VEHICLE)
    out = []
    for listing in listings:
        entry = _entry_for(listing, entries, only=len(listings) == 1)
        price = _price_text(get(entry, "sellingPrice")) if entry else None
        out.append(_corrected(listing, price, "DataLayer sellingPrice") if price else listing)
    return out


def _inquiries(response: TextResponse) -> list[tuple[str, str, str, str]]:
    """dealr.cloud ``vehicle-inquiry="VIN|year|make|model"`` attributes, each once."""
    out = []
    for raw in response.css("[vehicle-inquiry]::attr(vehicle-inquiry)").getall():
        parts = [p.strip() for p in raw.split("|")] + ["", "", "", ""]
        entry = (parts[0], parts[1], parts[2], parts[3])
        if entry not in out:
            out.append(entry)
    return out


def _inquiry_matches(inquiry: tuple[str, str, str, str], listing: Listing) -> bool:
    """Year, make and model of a vehicle-inquiry agree with the listing (where both give one)."""
    _, year, make, model = inquiry
    text = " ".join(filter(None, (listing.title, listing.make_model_raw))).lower()
    found = _YEAR.search(listing.year_raw or "")
    return (
        any((year, make, model))
        and (not year or found is None or found.group(1) == year)
        and all(word.lower() in text for word in (make, model) if word)
    )


def adapt_dealrcloud(response: TextResponse, listings: list[Listing]) -> list[Listing]:
    """dealr.cloud: the VDP's Car JSON-LD has no VIN; the page's ``vehicle-inquiry`` attribute
    does. Taken only when exactly one inquiry agrees with the vehicle's year, make and model."""
    inquiries = [i for i in _inquiries(response) if i[0]]
    out = []
    for listing in listings:
        matching = {i[0].upper() for i in inquiries if _inquiry_matches(i, listing)}
        if len(matching) == 1 and not has_vin(listing):
            listing = _with_vin(listing, matching.pop(), "vehicle-inquiry")
        out.append(listing)
    return out


PLATFORM_ADAPTERS = {
    "dealercom": adapt_dealercom,
    "dealerfire": adapt_dealerfire,
    "dealrcloud": adapt_dealrcloud,
}


# -- pages --------------------------------------------------------------------------------------


def _vehicles(response: TextResponse) -> list[VehicleNode]:
    found = vehicle_nodes(json_ld_data(response), "json-ld")
    return found or vehicle_nodes(microdata(response), "microdata")


def _listings(
    nodes: list[VehicleNode],
    response: TextResponse,
    scraped_at: str | None,
    hints: DealerHints,
) -> list[Listing]:
    listings = [listing_from_node(v, response, scraped_at, hints) for v in nodes]
    platform = platform_of(response, hints.platform)
    adapter = PLATFORM_ADAPTERS.get(platform or "")
    if adapter is not None:
        listings = adapter(response, listings)
    if platform:
        for listing in listings:
            listing.attributes["platform"] = platform
    return _unique(listings)


def _unique(listings: Iterable[Listing]) -> list[Listing]:
    seen: set[str] = set()
    out = []
    for listing in listings:
        if listing.listing_id not in seen:
            seen.add(listing.listing_id)
            out.append(listing)
    return out


def parse_vehicles(
    response: TextResponse, scraped_at: str | None = None, hints: DealerHints | None = None
) -> list[Listing]:
    """Every vehicle the page describes (a VDP has one), kei or not, after platform corrections."""
    return _listings(_vehicles(response), response, scraped_at, hints or DealerHints())


def _link_text(sel) -> str | None:
    if isinstance(sel.root, str):
        return None
    words = sel.css("::text").getall() + sel.css("img::attr(alt)").getall()
    return _text(" ".join(words))


def _selector_links(response: TextResponse, css: str | None) -> list[Link]:
    if not css:
        return []
    out = []
    for sel in response.css(css):
        href = sel.root if isinstance(sel.root, str) else sel.attrib.get("href")
        if href and href.strip() and not href.strip().startswith(("#", "javascript:", "mailto:")):
            out.append(Link(urldefrag(response.urljoin(href.strip())).url, _link_text(sel)))
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
                url = _text(get(value, "url")) or (
                    item if isinstance(item, str) else _text(get(item, "url") or get(item, "@id"))
                )
                name = _text(get(value, "name")) or _text(get(item, "name"))
                if url:
                    out.append(Link(urldefrag(response.urljoin(url)).url, name))
            for key, child in value.items():
                if key != "@context":
                    visit(child)

    visit(data)
    return out


def next_page_url(response: TextResponse, css: str | None = None) -> str | None:
    """``rel=next`` (link or anchor), else the dealer's next-page selector; None on the last."""
    candidates = response.css("link[rel~=next]::attr(href), a[rel~=next]::attr(href)").getall()
    if css:
        for sel in response.css(css):
            candidates.append(sel.root if isinstance(sel.root, str) else sel.attrib.get("href"))
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
    text = " ".join(response.xpath("//body//text()[not(ancestor::script)]").getall())
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

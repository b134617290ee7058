"""A schema.org reader for any source: vehicles offered in JSON-LD or microdata.

Reads every ``application/ld+json`` block of a page, tolerating malformed JSON (control
characters, bad escapes, trailing commas, HTML comment or CDATA wrappers: ``json`` then
``chompjs``), and microdata in JSON-LD shape (through extruct). Types and property names are
matched case-insensitively, ``@graph`` arrays are walked and ``{"@id": ...}`` references
dereferenced. A ``Vehicle``/``Car`` node (a ``Product`` when it carries vehicle properties) is
found wherever it sits, also as an ``Offer``'s ``itemOffered``; its sale offer (lease, finance
and subscription offers skipped) gives the price, currency and availability. Only a vehicle
``is_item_for_sale`` is a listing: an offer with a price, or a VIN/stock id with a URL of its
own; a ``Car`` describing a search page is not. The field helpers read model years (the date
properties, else the name), quantities with their unit ("41200 mi"), enumerations without their URL,
addresses, images and the flattened properties; ``listing_from_node`` turns a vehicle into a raw
``Listing`` of the caller's source. Everything here is pure: no clock, no network.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import chompjs
from scrapy.http import TextResponse
from w3lib.html import get_base_url

from scrapers.items import Listing
from scrapers.parsers import nodes as html  # page nodes, not vehicle nodes

logger = logging.getLogger(__name__)

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
#: The seller's own ids of an item, in order of preference (``<domain>:<id>`` listing ids).
STOCK_ID_PROPERTIES = ("sku", "serialNumber", "productID", "identifier")
#: The oldest model year accepted: 1960s-90s kei trucks are the 25-year-rule target.
MIN_YEAR = 1955
#: Offer properties that mark a lease, subscription or finance offer rather than a sale.
_LEASE_WORDS = re.compile(
    r"\blease\b|leasing|subscription|per month|/\s?mo\b|monthly payment", re.I
)
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
YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BAD_ESCAPE = re.compile(r"\\(?![\"\\/bfnrtu])")
_WRAPPERS = re.compile(r"^\s*(?:<!--|//\s*<!\[CDATA\[|<!\[CDATA\[)|(?:-->|//\s*\]\]>|\]\]>)\s*$")
VIN_PLACEHOLDERS = frozenset({"N/A", "NA", "NONE", "TBD", "UNKNOWN", "NULL", "0"})


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


def js_object_after(text: str, pattern: re.Pattern) -> Any | None:
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
        html.select_xpath(
            response,
            '//script[contains(translate(@type, "ABCDEFGHIJKLMNOPQRSTUVWXYZ",'
            ' "abcdefghijklmnopqrstuvwxyz"), "ld+json")]/text()',
        ),
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
    # imported here: extruct costs a tenth of a second of CPU to import, and every crawl process
    # imports this module (Scrapy's spider loader imports every spider) while few pages are
    # microdata
    import extruct

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


def deref(value: Any, index: dict[str, dict]) -> Any:
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
    value = deref(value, index) if parent_offer is not None else value
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


def as_text(value: Any) -> str | None:
    """A property value as display text: numbers without a spurious ``.0``, names of things,
    ``@value`` of typed literals, the first of a list; whitespace collapsed; None when empty."""
    if isinstance(value, list):
        return next((t for t in map(as_text, value) if t), None)
    if isinstance(value, dict):
        for key in ("@value", "name", "value"):
            if get(value, key) is not None:
                return as_text(get(value, key))
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
    text = as_text(value)
    return _SCHEMA_PREFIX.sub("", text) if text else None


def _quantity(value: Any) -> str | None:
    """A QuantitativeValue (or plain text) as "41200 mi": the value and its unit as a word."""
    if isinstance(value, list):
        return next((t for t in map(_quantity, value) if t), None)
    if not isinstance(value, dict):
        return as_text(value)
    number = as_text(get(value, "value"))
    if number is None:
        return as_text(value)
    code = as_text(get(value, "unitCode"))
    unit = _UNIT_CODES.get(code.upper(), code) if code else as_text(get(value, "unitText"))
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
        item = deref(item, vehicle.index)
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
    function = as_text(get(offer, "businessFunction")) or ""
    if "lease" in function.lower() or "rent" in function.lower():
        return False
    if any(_is_recurring(s) for s in _specs(offer)):
        return False
    words = " ".join(
        filter(None, (as_text(get(offer, k)) for k in ("name", "description", "@type")))
    )
    return not _LEASE_WORDS.search(words)


def offer_price(offer: dict) -> str | None:
    """The offer's price as given ("27995", "7900"); from a one-off priceSpecification when the
    offer has none."""
    price = as_text(get(offer, "price"))
    if price is not None:
        return price
    for spec in _specs(offer):
        if not _is_recurring(spec) and (price := as_text(get(spec, "price"))):
            return price
    return None


def offer_currency(offer: dict) -> str | None:
    currency = as_text(get(offer, "priceCurrency"))
    if currency:
        return currency
    return next((c for s in _specs(offer) if (c := as_text(get(s, "priceCurrency")))), None)


def sale_offer(vehicle: VehicleNode) -> dict | None:
    """The first sale offer with a price, else the first sale offer, else None."""
    sales = [o for o in _offers(vehicle) if is_sale_offer(o)]
    return next((o for o in sales if offer_price(o) is not None), sales[0] if sales else None)


# -- fields -------------------------------------------------------------------------------------


def _plausible(year: int, max_year: int | None) -> bool:
    return year >= MIN_YEAR and (max_year is None or year <= max_year)


def year_property(node: dict, max_year: int | None) -> tuple[str | None, str | None]:
    """(raw value, property name) of the first date property holding a plausible model year:
    a 4-digit group from ``MIN_YEAR`` to ``max_year`` (the year after the crawl); else the first
    plausible year of the node's name, as (that year, "name"); else Nones."""
    for name in YEAR_PROPERTIES:
        raw = as_text(get(node, name))
        match = YEAR.search(raw or "")
        if match and _plausible(int(match.group(1)), max_year):
            return raw, name
    for match in YEAR.finditer(as_text(get(node, "name")) or ""):
        if _plausible(int(match.group(1)), max_year):
            return match.group(1), "name"
    return None, None


def _make(node: dict) -> str | None:
    for name in ("brand", "manufacturer"):
        if make := as_text(get(node, name)):
            return make
    return None


def make_model(node: dict) -> str | None:
    """ "Suzuki Carry": brand (or manufacturer) and model, without repeating the brand."""
    make, model = _make(node), as_text(get(node, "model"))
    if make and model and model.lower().startswith(make.lower()):
        return model
    return " ".join(p for p in (make, model) if p) or None


def _address(value: Any) -> str | None:
    """ "Hickory, NC" from a PostalAddress (or a place holding one, or plain text); the postal
    code when the address gives neither town nor region ("49601")."""
    if isinstance(value, list):
        return next((t for t in map(_address, value) if t), None)
    if isinstance(value, str):
        return as_text(value)
    if not isinstance(value, dict):
        return None
    if (inner := get(value, "address")) is not None:
        return _address(inner)
    parts = [as_text(get(value, k)) for k in ("addressLocality", "addressRegion")]
    return ", ".join(p for p in parts if p) or as_text(get(value, "postalCode"))


def _location(vehicle: VehicleNode, offer: dict | None) -> str | None:
    candidates = []
    if offer is not None:
        candidates += [get(offer, "availableAtOrFrom"), deref(get(offer, "seller"), vehicle.index)]
    candidates += [get(vehicle.node, "address"), deref(get(vehicle.node, "seller"), vehicle.index)]
    return next((a for c in candidates if c is not None and (a := _address(c))), None)


def _seller_type(vehicle: VehicleNode, offer: dict | None) -> str | None:
    seller = deref(get(offer, "seller"), vehicle.index) if offer else None
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
        url = (
            as_text(get(item, "url") or get(item, "contentUrl")) if isinstance(item, dict) else item
        )
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
        value = deref(value, index)
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
    text = as_text(get(node, "vehicleIdentificationNumber"))
    if not text:
        return None
    text = text.strip().upper()
    bare = re.sub(r"[^A-Z0-9]", "", text)
    if text in VIN_PLACEHOLDERS or len(bare) < 5 or len(set(bare)) == 1:
        return None
    return text


def stock_id(node: dict) -> str | None:
    """The seller's own id of the item: sku, serialNumber, productID or identifier (not a URL)."""
    for name in STOCK_ID_PROPERTIES:
        if (value := as_text(get(node, name))) and not value.startswith("http"):
            return value
    return None


def listing_id_for(vin: str | None, node: dict, url: str, domain: str) -> str:
    """The VIN; else ``<domain>:<stock id>``; else ``<domain>:<URL path>``."""
    if vin:
        return vin
    if stock := stock_id(node):
        return f"{domain}:{stock}"
    parts = urlsplit(url)
    path = parts.path.strip("/") + (f"?{parts.query}" if parts.query else "")
    return f"{domain}:{path or '/'}"


def own_url(vehicle: VehicleNode, offer: dict | None) -> str | None:
    """The vehicle's own page as the markup gives it (offer ``url``, node ``url``, or an
    ``@id`` that is a URL), possibly relative; None when the markup names none."""
    for value in (get(offer, "url") if offer else None, get(vehicle.node, "url")):
        text = as_text(value)
        if text and not text.startswith("#"):
            return text
    node_id = as_text(get(vehicle.node, "@id"))
    if node_id and node_id.startswith("http") and "#" not in node_id:
        return node_id
    return None


def is_item_for_sale(vehicle: VehicleNode) -> bool:
    """A vehicle offered for sale, not a page descriptor ("Used BMW Cars for Sale in Ontario"):
    a sale offer with a price, or a VIN or stock id together with a URL of its own."""
    offer = sale_offer(vehicle)
    if offer is not None and offer_price(offer) is not None:
        return True
    return bool((vin_of(vehicle.node) or stock_id(vehicle.node)) and own_url(vehicle, offer))


# -- listing ------------------------------------------------------------------------------------


def listing_from_node(
    vehicle: VehicleNode,
    response: TextResponse,
    scraped_at: str | None,
    *,
    source: str,
    domain: str,
) -> Listing:
    """The raw ``Listing`` of one vehicle node for ``source``; ids that are not VINs are
    ``<domain>:...`` (see ``listing_id_for``)."""
    node = vehicle.node
    offer = sale_offer(vehicle)
    max_year = int(scraped_at[:4]) + 1 if scraped_at and scraped_at[:4].isdigit() else None
    year_raw, year_from = year_property(node, max_year)
    own = own_url(vehicle, offer)
    url = response.urljoin(own) if own else response.url
    price = offer_price(offer) if offer else None
    availability = _enum(get(offer, "availability")) if offer else None
    attributes = _flatten(node, vehicle.index)
    attributes["source_format"] = vehicle.source_format
    if year_from:
        attributes["year_property"] = year_from
    if availability:
        attributes["availability"] = availability
    return Listing(
        source=source,
        listing_id=listing_id_for(vin_of(node), node, url, domain),
        url=url,
        scraped_at=scraped_at,
        title=as_text(get(node, "name")),
        description=as_text(get(node, "description")),
        price_raw=price,
        currency_raw=offer_currency(offer) if offer else None,
        location_raw=_location(vehicle, offer),
        year_raw=year_raw,
        make_model_raw=make_model(node),
        mileage_raw=_quantity(get(node, "mileageFromOdometer")),
        drive_raw=_enum(get(node, "driveWheelConfiguration")),
        transmission_raw=_enum(get(node, "vehicleTransmission")),
        attributes=attributes,
        seller_type=_seller_type(vehicle, offer),
        price_basis="asking" if price is not None else None,
        image_urls=_images(node, response),
        status_raw=_words_of_enum(availability),
    )

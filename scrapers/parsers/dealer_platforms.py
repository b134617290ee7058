"""Dealer-platform corrections: known faults of a platform's schema.org markup, fixed from the
platform's own data layer (shared/sources/dealer_jsonld.md §4).

``platform_of`` tells the platform from the dealer's configuration or a page fingerprint;
``PLATFORM_ADAPTERS`` then correct the listings read from the page's JSON-LD: a finance payment
or an MSRP echoed as the Dealer.com price (``DDC.dataLayer``), DealerFire's price including
dealer fees (its ``DataLayer`` ``sellingPrice``), dealr.cloud's missing VIN (the page's
``vehicle-inquiry`` attribute). Each adapter is pure: a response and listings in, listings out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from scrapy.http import TextResponse

from scrapers.items import Listing
from scrapers.parsers import nodes as html  # page nodes, not vehicle nodes
from scrapers.parsers.schemaorg import VIN_PLACEHOLDERS, YEAR, as_text, get, js_object_after

#: Dealer.com: a JSON-LD "price" this low is a monthly payment, not the truck's price.
FINANCE_PAYMENT_BELOW = 1000
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
    yield from html.select_xpath(response, "//script[not(@src)]/text()")


def _data_layer_entries(response: TextResponse, pattern: re.Pattern) -> list[dict]:
    out: list[dict] = []
    for script in _scripts(response):
        for match in pattern.finditer(script):
            data = js_object_after(script[match.start() :], pattern)
            items = data if isinstance(data, list) else [data]
            out.extend(i for i in items if isinstance(i, dict))
    return out


def _entry_for(listing: Listing, entries: list[dict], only: bool) -> dict | None:
    """The data-layer entry of this vehicle: same VIN, else the only entry of a one-vehicle page."""
    for entry in entries:
        vin = as_text(get(entry, "vin"))
        if vin and vin.upper() == listing.listing_id.upper():
            return entry
    return entries[0] if only and len(entries) == 1 else None


def has_vin(listing: Listing) -> bool:
    """Whether the id is a VIN/frame number (ids of other kinds are ``<domain>:...``)."""
    return ":" not in listing.listing_id


def _with_vin(listing: Listing, vin: str, source: str) -> Listing:
    """The listing known by a VIN the platform's own data gives (kept as attribute ``vin``)."""
    vin = vin.strip().upper()
    if vin in VIN_PLACEHOLDERS:
        return listing
    attributes = {**listing.attributes, "vin": vin, "vin_source": source}
    return replace(listing, listing_id=vin, attributes=attributes)


def _price_text(value: Any) -> str | None:
    text = as_text(value)
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
        vin = as_text(get(entry, "vin"))
        if vin and not has_vin(listing):
            listing = _with_vin(listing, vin, "DDC.dataLayer")
        if listing.mileage_raw is None and (odometer := as_text(get(entry, "odometer"))):
            listing = replace(listing, mileage_raw=odometer)
        if listing.drive_raw is None and (drive := as_text(get(entry, "driveLine"))):
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
    for raw in html.select(response, "[vehicle-inquiry]::attr(vehicle-inquiry)"):
        parts = [p.strip() for p in raw.split("|")] + ["", "", "", ""]
        entry = (parts[0], parts[1], parts[2], parts[3])
        if entry not in out:
            out.append(entry)
    return out


def _inquiry_matches(inquiry: tuple[str, str, str, str], listing: Listing) -> bool:
    """Year, make and model of a vehicle-inquiry agree with the listing (where both give one)."""
    _, year, make, model = inquiry
    text = " ".join(filter(None, (listing.title, listing.make_model_raw))).lower()
    found = YEAR.search(listing.year_raw or "")
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

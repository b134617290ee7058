"""The one item every spider yields: a used-vehicle listing, raw fields beside normalized ones.

Parsers fill identity and raw fields exactly as the page shows them; the pipelines fill the
normalized fields. Unknown is ``None``, never ``""`` and never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

#: Fields a parser fills (as displayed by the site).
RAW_FIELDS = (
    "title",
    "description",
    "price_raw",
    "currency_raw",
    "location_raw",
    "posted_raw",
    "year_raw",
    "make_model_raw",
    "mileage_raw",
    "drive_raw",
    "transmission_raw",
    "attributes",
    "seller_type",
    "price_basis",
    "image_urls",
    "latitude",
    "longitude",
    "repost_of",
    "status_raw",
    "total_price_raw",
    "destination_port",
)


@dataclass
class Listing:
    # identity
    source: str
    listing_id: str
    url: str
    #: UTC ISO 8601 time the page was read, passed in by the spider (the night's as-of time).
    scraped_at: str | None = None

    # raw, as displayed
    title: str | None = None
    description: str | None = None
    price_raw: str | None = None
    #: currency as the page states it ("USD", "$", "JPY"), when separate from price_raw.
    currency_raw: str | None = None
    location_raw: str | None = None
    posted_raw: str | None = None
    year_raw: str | None = None
    make_model_raw: str | None = None
    mileage_raw: str | None = None
    drive_raw: str | None = None
    transmission_raw: str | None = None
    #: the site's own label -> value pairs, verbatim.
    attributes: dict[str, str] = field(default_factory=dict)
    #: "owner" or "dealer" (or the exporter's own word), None when the site does not say.
    seller_type: str | None = None
    #: asking, fob, cnf, cif, sold, bid_to.
    price_basis: str | None = None
    image_urls: list[str] = field(default_factory=list)
    latitude: float | None = None
    longitude: float | None = None
    #: the site's id of the listing this one reposts (Craigslist ``repost_of``).
    repost_of: str | None = None
    #: the page's own status word ("SOLD", "live", "ended") when it shows one.
    status_raw: str | None = None
    #: exporter total (C&F/CIF) as displayed, and the port it is quoted to.
    total_price_raw: str | None = None
    destination_port: str | None = None

    # normalized, filled by pipelines
    #: the badge, e.g. "Honda".
    make: str | None = None
    #: canonical model, e.g. "Honda Acty".
    model: str | None = None
    #: chassis code without emissions prefix, upper case, e.g. "HA4".
    model_code: str | None = None
    year: int | None = None
    #: 1-12 when the page gives a month.
    build_month: int | None = None
    #: which date ``year``/``build_month`` are: build_month, registration_month, model_year.
    date_basis: str | None = None
    #: True / False / None (unknown: the listing does not say).
    is_4wd: bool | None = None
    #: "manual" / "automatic" / None.
    transmission: str | None = None
    engine_cc: int | None = None
    #: truck, dump, van, scissor_lift, ...
    body: str | None = None
    #: "jumbo" (extended cab) or "high_roof" when the listing says so.
    cab: str | None = None
    #: kei_truck, kei_van, other_vehicle, parts, wanted, toy.
    kind: str | None = None
    mileage_mi: int | None = None
    #: whole units of ``currency``.
    price: int | None = None
    #: ISO 4217, e.g. "USD".
    currency: str | None = None
    #: price converted to US dollars (whole dollars).
    price_usd: int | None = None
    #: estimated cost in US dollars of the truck landed in the US (exporter prices only):
    #: price + freight + insurance + duty + fees, see pipelines/landed.py.
    landed_usd: int | None = None
    #: "below", "in" or "above" the configured band.
    price_band: str | None = None
    eligible_25y: bool | None = None
    #: "YYYY-MM" the truck turns 25, when the month is known.
    eligible_from: str | None = None
    #: build_month, registration_month, model_year, model_code_window.
    eligibility_basis: str | None = None
    #: "active", "sold" or "ended" as seen on this page.
    status: str | None = None

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Listing:
        """Build from a dict, ignoring keys that are not fields."""
        names = set(cls.field_names())
        return cls(**{k: v for k, v in data.items() if k in names})

"""The one item every spider yields: a used-vehicle listing, raw fields beside normalized ones.

Parsers fill identity and raw fields exactly as the page shows them; the pipelines fill the
normalized fields. Unknown is ``None``, never ``""`` and never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

IDENTITY = "identity"
RAW = "raw"
NORMALIZED = "normalized"
DERIVED = "derived"
TRACKING = "tracking"
ROLES = (IDENTITY, RAW, NORMALIZED, DERIVED, TRACKING)


def _role(role: str, default: Any = None, *, factory: Any = None) -> Any:
    """A Listing field with its role declared in the field's metadata."""
    if factory is not None:
        return field(default_factory=factory, metadata={"role": role})
    return field(default=default, metadata={"role": role})


@dataclass
class Listing:
    # identity
    source: str = field(metadata={"role": IDENTITY})
    listing_id: str = field(metadata={"role": IDENTITY})
    url: str = field(metadata={"role": IDENTITY})
    #: UTC ISO 8601 time the page was read, passed in by the spider (the night's as-of time).
    scraped_at: str | None = _role(TRACKING)

    # raw, as displayed
    title: str | None = _role(RAW)
    description: str | None = _role(RAW)
    price_raw: str | None = _role(RAW)
    #: currency as the page states it ("USD", "$", "JPY"), when separate from price_raw.
    currency_raw: str | None = _role(RAW)
    location_raw: str | None = _role(RAW)
    posted_raw: str | None = _role(RAW)
    year_raw: str | None = _role(RAW)
    make_model_raw: str | None = _role(RAW)
    mileage_raw: str | None = _role(RAW)
    drive_raw: str | None = _role(RAW)
    transmission_raw: str | None = _role(RAW)
    #: the site's own label -> value pairs, verbatim.
    attributes: dict[str, str] = _role(RAW, factory=dict)
    #: "owner" or "dealer" (or the exporter's own word), None when the site does not say.
    seller_type: str | None = _role(RAW)
    #: asking, fob, cnf, cif, sold, bid_to.
    price_basis: str | None = _role(RAW)
    image_urls: list[str] = _role(RAW, factory=list)
    latitude: float | None = _role(RAW)
    longitude: float | None = _role(RAW)
    #: the site's id of the listing this one reposts (Craigslist ``repost_of``).
    repost_of: str | None = _role(RAW)
    #: the page's own status word ("SOLD", "live", "ended") when it shows one.
    status_raw: str | None = _role(RAW)
    #: exporter total (C&F/CIF) as displayed, and the port it is quoted to.
    total_price_raw: str | None = _role(RAW)
    destination_port: str | None = _role(RAW)

    # normalized, filled by pipelines
    #: the badge, e.g. "Honda".
    make: str | None = _role(NORMALIZED)
    #: canonical model, e.g. "Honda Acty".
    model: str | None = _role(NORMALIZED)
    #: chassis code without emissions prefix, upper case, e.g. "HA4".
    model_code: str | None = _role(NORMALIZED)
    year: int | None = _role(NORMALIZED)
    #: 1-12 when the page gives a month.
    build_month: int | None = _role(NORMALIZED)
    #: which date ``year``/``build_month`` are: build_month, registration_month, model_year.
    date_basis: str | None = _role(NORMALIZED)
    #: True / False / None (unknown: the listing does not say).
    is_4wd: bool | None = _role(NORMALIZED)
    #: "manual" / "automatic" / None.
    transmission: str | None = _role(NORMALIZED)
    engine_cc: int | None = _role(NORMALIZED)
    #: truck, dump, van, scissor_lift, ...
    body: str | None = _role(NORMALIZED)
    #: "jumbo" (extended cab) or "high_roof" when the listing says so.
    cab: str | None = _role(NORMALIZED)
    #: kei_truck, kei_van, other_vehicle, parts, wanted, toy.
    kind: str | None = _role(NORMALIZED)
    mileage_mi: int | None = _role(NORMALIZED)
    #: whole units of ``currency``.
    price: int | None = _role(NORMALIZED)
    #: ISO 4217, e.g. "USD".
    currency: str | None = _role(NORMALIZED)
    #: price converted to US dollars (whole dollars).
    price_usd: int | None = _role(NORMALIZED)
    #: estimated cost in US dollars of the truck landed in the US (exporter prices only):
    #: price + freight + insurance + duty + fees, see pipelines/landed.py.
    landed_usd: int | None = _role(DERIVED)
    #: "below", "in" or "above" the configured band.
    price_band: str | None = _role(NORMALIZED)
    eligible_25y: bool | None = _role(NORMALIZED)
    #: "YYYY-MM" the truck turns 25, when the month is known.
    eligible_from: str | None = _role(NORMALIZED)
    #: build_month, registration_month, model_year, model_code_window.
    eligibility_basis: str | None = _role(NORMALIZED)
    #: "active", "sold" or "ended" as seen on this page.
    status: str | None = _role(NORMALIZED)
    #: True when the seller says it runs, False when it does not (seized, project, 不動車).
    runs: bool | None = _role(NORMALIZED)
    #: clean, salvage, branded (a brand not named), rebuilt, no_title or offroad_only (the worst
    #: the listing states).
    title_status: str | None = _role(NORMALIZED)
    #: True when the seller says a sale is pending (deposit taken, on hold, 商談中), else None.
    sale_pending: bool | None = _role(NORMALIZED)
    #: two-letter US state of the listing (US sources only), None when it does not say.
    state: str | None = _role(NORMALIZED)
    #: where to put the listing on a map: the site's own pin (latitude/longitude), else the
    #: centre of its US ZIP code or city (approximate); None when it gives no such place.
    geo_latitude: float | None = _role(NORMALIZED)
    geo_longitude: float | None = _role(NORMALIZED)
    #: how geo_latitude/geo_longitude were found: site_pin, zip_centroid or city_centroid.
    geo_basis: str | None = _role(NORMALIZED)
    #: what the seller claims about road use, as short phrases joined by "; " ("street legal
    #: in TN; titled and tagged", "not street legal", "farm use"): claims, never facts.
    road_claims: str | None = _role(NORMALIZED)

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Listing:
        """Build from a dict, ignoring keys that are not fields."""
        names = set(cls.field_names())
        return cls(**{k: v for k, v in data.items() if k in names})


def fields_with_role(*roles: str) -> tuple[str, ...]:
    """The names of the Listing fields with any of these roles, in declaration order."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown field roles: {sorted(unknown)}")
    return tuple(f.name for f in fields(Listing) if f.metadata.get("role") in roles)


#: Fields a parser fills, exactly as the site displays them.
RAW_FIELDS = fields_with_role(RAW)
#: Fields the normalizers derive from the raw ones (``keitrucks renormalize`` rewrites these).
NORMALIZED_FIELDS = fields_with_role(NORMALIZED)
#: Fields computed from normalized ones with their own dated sources (landed cost).
DERIVED_FIELDS = fields_with_role(DERIVED)

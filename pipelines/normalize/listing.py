"""One raw listing in, its normalized fields out: ``normalize_listing`` reads the listing once
and settles each field from the most trusted evidence it gives.

Evidence is read in a fixed order of trust: the site's structured fields (``*_raw`` and
``attributes``, whose labels ``attribute_labels.csv`` groups by what they hold), then the title,
then the description, where sentences about other vehicles are skipped. What a source's fields
mean (registration dates, US dollars, miles) comes from ``sites.csv``. Nothing here reads the
clock: the as-of date is the listing's ``scraped_at``.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from keitrucks.core import tables
from keitrucks.core.config import DEFAULT_CONFIG
from keitrucks.core.states import state_of
from pipelines.normalize import geo
from pipelines.normalize.claims import road_claims_of
from pipelines.normalize.condition import Condition, condition_of
from pipelines.normalize.dates import (
    ERA_KANJI_DATE,
    KANJI_ERAS,
    NO_DATE,
    YearMonthValue,
    build_date_in_text,
    normalize_date,
    parse_scraped_at,
    year_before_model,
    year_in_text,
)
from pipelines.normalize.eligibility import eligibility_from_code, normalize_eligibility
from pipelines.normalize.mileage import (
    is_placeholder,
    km_figures,
    mileage_in_text,
    scan_mileage,
)
from pipelines.normalize.models import (
    MODEL_CODES,
    MODEL_INFO,
    find_model_codes,
    normalize_make_model,
    normalize_model_code,
)
from pipelines.normalize.price import (
    currency_of,
    normalize_price,
    normalize_price_band,
    price_in_text,
    status,
    to_usd,
)
from pipelines.normalize.text import (
    SENTENCE_SPLIT,
    Vocabulary,
    clean_text,
    fold_label,
    joined,
    relevant_text,
    term_rows,
    text_cache,
)
from pipelines.normalize.vehicle import (
    PARTS,
    body_in,
    cab_in,
    drive_features,
    engine_cc_in,
    kind_of,
    scan_drive,
    scan_transmission,
)
from scrapers.items import NORMALIZED_FIELDS

#: Kinds that are not a vehicle for sale: their vehicle fields stay None.
NON_VEHICLE_KINDS = frozenset({"parts", "wanted", "toy"})
#: Sources whose unit-less mileage_raw is defined in miles.
UNITLESS_MILES_SOURCES = tables.sources_where("unitless_mileage_raw")
#: Japanese exporters: their dates are first-registration dates.
EXPORTER_SOURCES = tables.sources_where("japanese_exporter")
#: Sources that only ever quote US dollars, used when a price carries no currency.
USD_SOURCES = tables.sources_where("usd_only")
#: Per source, the attribute labels whose unit-less numbers are miles.
_UNITLESS_MILES_KEYS = {
    name: site.unitless_mileage_labels
    for name, site in tables.sites().items()
    if site.unitless_mileage_labels
}

#: Defaults for config["normalize"]; a TOML [normalize] table overrides them.
NORMALIZE_DEFAULTS = {
    #: below this (USD equivalent) a vehicle price is a placeholder, not a price.
    "price_min_usd": 100,
    #: above this (USD equivalent) a price is implausible for a kei truck listing.
    "price_max_usd": 100_000,
    #: optional path of a user FX table (date, currency, usd_per_unit); None = keitrucks/core/data.
    "fx_table": None,
    #: a US dollar price at or above this reads as a whole truck when the title names a part and
    #: drive words but nothing else of a vehicle ("Acty 4x4 engine runs great $5,200"). Project
    #: judgement, not a sourced figure: under the usual $5,000-$12,000 of a running truck and
    #: above what a used engine or transmission is listed for in the sample and real pages.
    "whole_truck_min_usd": 3000,
}

#: The site labels the normalizer reads, by what they hold, most trusted label first.
_GROUP_OF_KEY = {
    key: (group, rank)
    for group, keys in tables.attribute_labels().items()
    for rank, key in enumerate(keys)
}


class _Raw:
    """One raw listing, read once: its text fields cleaned, the attributes the normalizer reads
    grouped by what they hold (other attributes are never touched), and the description without
    the sentences about other vehicles."""

    __slots__ = (
        "raw",
        "source",
        "title",
        "description_raw",
        "description",
        "groups",
        "attrs",
        "cleaned",
    )

    def __init__(self, raw: Mapping):
        self.raw = raw
        #: raw text fields already cleaned by ``get``.
        self.cleaned: dict[str, str | None] = {}
        self.source = _source_name(raw.get("source"))
        self.title = clean_text(raw.get("title"))
        self.description_raw = clean_text(raw.get("description"))
        #: the description without sentences about other vehicles.
        self.description = relevant_text(self.description_raw) if self.description_raw else None
        #: (rank, folded label, value) per group, most trusted first.
        self.groups: dict[str, list[tuple[int, str, str]]] = {}
        #: the most trusted attribute value per group ("drive", "mileage", ...).
        self.attrs: dict[str, str] = {}
        attributes = raw.get("attributes")
        if isinstance(attributes, Mapping) and attributes:
            groups = self.groups
            for label, value in attributes.items():
                slot = _label_slot(label)
                if slot and isinstance(value, _SCALARS) and (text := clean_text(value)):
                    group, rank, key = slot
                    if group in groups:
                        groups[group].append((rank, key, text))
                    else:
                        groups[group] = [(rank, key, text)]
            for group, items in groups.items():
                if len(items) > 1:
                    items.sort()
                self.attrs[group] = items[0][2]

    def get(self, name: str) -> str | None:
        """A raw text field, cleaned when it is first read (None when missing)."""
        cleaned = self.cleaned
        if name in cleaned:
            return cleaned[name]
        value = self.raw.get(name)
        text = cleaned[name] = None if value is None else clean_text(value)
        return text

    def attr_items(self, group: str) -> list[tuple[int, str, str]] | tuple:
        """(rank, folded label, value) of a group, most trusted first."""
        return self.groups.get(group, ())


_SCALARS = (str, int, float)


@lru_cache(maxsize=256, typed=True)
def _source_name(value: Any) -> str:
    return (clean_text(value) or "").lower()


@lru_cache(maxsize=4096)
def _label_slot(label: Any) -> tuple[str, int, str] | None:
    """(group, rank, folded label) of an attribute label the normalizer reads, else None."""
    key = fold_label(label)
    found = _GROUP_OF_KEY.get(key)
    return (found[0], found[1], key) if found else None


class _Result:
    __slots__ = ("fields", "notes")

    def __init__(self):
        self.fields: dict[str, Any] = dict(_EMPTY_FIELDS)
        self.notes: list[str] = []

    def note(self, field: str, reason: str) -> None:
        self.notes.append(f"{field}:{reason}")


#: A result before any field is known: every normalized Listing field, None.
_EMPTY_FIELDS = dict.fromkeys(NORMALIZED_FIELDS)


def _settings(config: Mapping | None) -> tuple[Mapping, Mapping]:
    if not config:
        return DEFAULT_CONFIG["band"], NORMALIZE_DEFAULTS
    band = config.get("band") or DEFAULT_CONFIG["band"]
    section = config.get("normalize")
    if not section:
        return band, NORMALIZE_DEFAULTS
    return band, {**NORMALIZE_DEFAULTS, **section}


def _make_model(r: _Raw, res: _Result) -> tuple[str | None, str | None]:
    """Badge and model from the structured make/model fields, else the title."""
    attrs = r.attrs
    structured = " ".join(
        [
            v
            for v in (
                r.get("make_model_raw"),
                attrs.get("makemodel"),
                attrs.get("make"),
                attrs.get("model"),
            )
            if v
        ]
    )
    make, model = normalize_make_model(structured, structured=True) if structured else _NO_NAME
    if model:
        return make, model
    title_make, title_model = normalize_make_model(r.title) if r.title else _NO_NAME
    if title_model:
        if make and _make_of(title_model) != make:
            res.note("make", "field_and_title_disagree")
        return _make_of(title_model), title_model
    return make or title_make, None


_NO_NAME = (None, None)


def _code_decides_name(model: str) -> bool:
    info = MODEL_INFO.get(model)
    return bool(info and info["code_decides_name"])


@lru_cache(maxsize=256)
def _make_of(model: str | None) -> str | None:
    info = MODEL_INFO.get(model or "")
    if info:
        return info["make"]
    alias = next((a for a in tables.aliases() if a.model == model), None)
    return alias.make if alias else None


def _description_model(r: _Raw, make: str | None) -> str | None:
    """A model named in the description, only when every mention there agrees."""
    text = r.description
    if not text:
        return None
    models = set()
    for sentence in SENTENCE_SPLIT.split(text):
        m_make, m_model = normalize_make_model(sentence)
        if m_model:
            models.add(m_model)
    if len(models) != 1:
        return None
    model = models.pop()
    return model if make is None or _make_of(model) == make else None


def _model_code(r: _Raw, make: str | None, res: _Result) -> str | None:
    """The chassis code: a model-code field, a frame number, then known codes in the title and
    the description that agree with the badge."""
    for _, _, value in r.attr_items("code"):
        if code := normalize_model_code(value):
            info = MODEL_CODES.get(code)
            if info and make and info.make != make:
                res.note("model_code", "make_conflict")
            return code
    for _, _, value in r.attr_items("frame"):
        code = normalize_model_code(value)
        if code and ("-" in value or code in MODEL_CODES):
            return code
    for text in (r.title, r.description):
        for code in find_model_codes(text) if text else ():
            if make is None or MODEL_CODES[code].make == make:
                return code
            res.note("model_code", "other_badge_in_text")
    return None


def _dates(r: _Raw) -> tuple[YearMonthValue, str | None]:
    """(year, month) and their basis, from the most trusted date the listing gives: a build
    date, a build month stated in prose, a registration date, a model year, the title."""
    for _, _, text in r.attr_items("build"):
        value = normalize_date(text)
        if value.year:
            if value.month == 1 and _PADDED_YEAR.search(text):
                value = YearMonthValue(value.year, None)  # a padded year, not a build month
            return value, "build_month" if value.month else "build_year"
    model_year = None
    for text in (r.attrs.get("model_year"), r.get("year_raw")):
        if text is not None and (value := normalize_date(text)).year:
            model_year = value
            break
    if r.description_raw:
        prose = build_date_in_text(r.description_raw)
        if prose.year and (model_year is None or abs(prose.year - model_year.year) <= 1):
            return prose, "build_month"
    for _, _, text in r.attr_items("registration"):
        value = normalize_date(text)
        if value.year:
            return value, "registration_month" if value.month else "registration_year"
    exporter = r.source in EXPORTER_SOURCES
    if model_year:
        if exporter:
            basis = "registration_month" if model_year.month else "registration_year"
            return model_year, basis
        return YearMonthValue(model_year.year, None), "model_year"
    if year := year_in_text(r.title):
        japanese = exporter or bool(ERA_KANJI_DATE.search(r.title or ""))
        return YearMonthValue(year, None), "registration_year" if japanese else "model_year"
    if year := year_before_model(r.description):
        return YearMonthValue(year, None), "registration_year" if exporter else "model_year"
    if m := _ERA_NENSHIKI.search(r.description_raw or ""):
        value = normalize_date(m.group())
        if value.year:
            return YearMonthValue(value.year, None), "registration_year"
    return NO_DATE, None


_PADDED_YEAR = re.compile(r"-01-01(?:T|$)")
_ERA_NENSHIKI = re.compile(rf"(?:{KANJI_ERAS})\s*(?:元|\d{{1,2}})\s*年式")


def _stated(r: _Raw, res: _Result, field: str, name: str, scan) -> Any:
    """What the ``<name>_raw`` field and the ``name`` attribute say, else the title, else the
    description (each read with ``scan``, per text); "conflict" (noted) when a text names both
    values."""
    structured = joined(r.get(f"{name}_raw"), r.attrs.get(name))
    value = scan(structured, True) if structured else None
    if value is None and r.title:
        value = scan(r.title, False)
    if value is None and r.description:
        value = scan(r.description, False)
    if value == "conflict":
        res.note(field, "conflict")
    return value


def _drive(r: _Raw, code: str | None, make: str | None, res: _Result) -> bool | None:
    """is_4wd from the drive fields, then the title, then the description, then drive-only
    features, then a chassis code whose drive is certain."""
    value = _stated(r, res, "is_4wd", "drive", scan_drive)
    if value == "conflict":
        return None
    if (
        value is True
        and r.description
        and scan_drive(r.description, False) is False
        and not joined(r.get("drive_raw"), r.attrs.get("drive"))
    ):
        # "4x4" in the title, "2wd truck" and no 4WD word in the description: a title keyword
        # a 2WD truck's seller added, or a mistake; either way not a known 4WD
        res.note("is_4wd", "conflict")
        return None
    if value is None and (drive_features(r.title) or drive_features(r.description)):
        value = True
    if value is None:
        info = MODEL_CODES.get(code or "")
        if info and (make is None or info.make == make):
            value = info.certain_4wd
    if value is True and _four_wd_broken(r.title, r.description):
        # "4x4 doesn't work": a 4WD truck that drives as a 2WD until repaired; not a known
        # working 4WD, so never compared with (nor alerted as) one
        res.note("is_4wd", "not_working")
        return None
    return value


def _transmission(r: _Raw, res: _Result) -> str | None:
    value = _stated(r, res, "transmission", "transmission", scan_transmission)
    return None if value == "conflict" else value


#: "4x4 doesn't work", "transfer case is bad": the ad says its 4WD does not work.
_FOUR_WD_BROKEN = Vocabulary(term_rows("drive_broken"))


def _four_wd_broken(*texts: str | None) -> bool:
    return any(_says_4wd_broken(text) for text in texts if text)


@text_cache(maxsize=1 << 14)
def _says_4wd_broken(text: str) -> bool:
    return _FOUR_WD_BROKEN.search(text)


_KM_ODOMETER = re.compile(
    r"(?:odometer|gauge|speedo\w*|cluster)\s+(?:is|reads|shows)\s+(?:in\s+)?(?:km|kilomet)", re.I
)


def _mileage(r: _Raw, res: _Result) -> int | None:
    """Miles from mileage_raw, then mileage attributes, then numbers with a unit in the title
    and the description. A field that says the mileage is unknown (TMU, 不明) ends the search."""
    candidates: list[tuple[str | None, bool]] = [
        (r.get("mileage_raw"), r.source in UNITLESS_MILES_SOURCES)
    ]
    miles_keys = _UNITLESS_MILES_KEYS.get(r.source, ())
    for _, key, value in r.attr_items("mileage"):
        if key == "mileagefromodometervalue":
            unit_code = (r.attrs.get("unit_code") or "").upper()
            value = f"{value} {dict(KMT='km', SMI='mi').get(unit_code, '')}"
        candidates.append((value, key in miles_keys))
    for value, unitless_miles in candidates:
        if value is None:
            continue
        found = scan_mileage(value, unitless_miles)
        if found.stated_unknown:
            return None
        if found.miles is None:
            continue
        if unitless_miles and is_placeholder(value):
            res.note("mileage_mi", "placeholder")
            continue
        if unitless_miles and _km_stated(r, found.miles):
            return scan_mileage(f"{found.miles} km").miles  # the seller gives the figure in km
        if unitless_miles and r.description_raw and _km_odometer(r.description_raw):
            stated = mileage_in_text(r.description)  # the seller says the gauge reads km
            if stated.miles is None:
                res.note("mileage_mi", "unit_conflict")
            return stated.miles
        return found.miles
    for text in (r.title, r.description):
        if not text:
            continue
        found = mileage_in_text(text)
        if found.stated_unknown:
            return None
        if found.miles is not None:
            return found.miles
    return None


@text_cache(maxsize=1 << 15)
def _km_odometer(description: str) -> bool:
    """Whether the seller says the odometer reads kilometres."""
    return _KM_ODOMETER.search(description) is not None


def _km_stated(r: _Raw, figure: int) -> bool:
    """Whether the title or the description gives ``figure`` in km."""
    return figure in km_figures(r.title) or figure in km_figures(r.description_raw)


def _engine(r: _Raw) -> int | None:
    for text in (r.attrs.get("engine"), r.title, r.description):
        if text and (cc := _engine_cc(text)):
            return cc
    return None


#: ``engine_cc_in`` kept per text (a title, an engine field).
_engine_cc = text_cache(maxsize=1 << 15)(engine_cc_in)


def _body(r: _Raw, kind: str | None) -> str | None:
    """The body named in the title or the body attribute, else in the description (where "van"
    and "canopy" are too loose), else what the kind implies."""
    body = body_in(joined(r.title, r.attrs.get("body")))
    if body is None and r.description:
        body = body_in(r.description)
        body = body if body not in ("van", "canopy") else None
    if body is None and kind in ("kei_truck", "kei_van"):
        body = "truck" if kind == "kei_truck" else "van"
    return body


def _priced_as_a_truck(r: _Raw, options: Mapping) -> bool:
    """Whether the listing's US dollar price is one of a whole truck, not of a part."""
    price_raw = r.get("price_raw")
    if not price_raw:
        return False
    value = normalize_price(price_raw, r.get("currency_raw"))
    currency = value.currency or currency_of(r.get("currency_raw"))
    if currency is None and r.source in USD_SOURCES:
        currency = "USD"
    return currency == "USD" and (value.price or 0) >= options["whole_truck_min_usd"]


def _price(r: _Raw, res: _Result, kind: str | None, as_of, config, options) -> None:
    """price, currency and price_usd: the price field, else a price stated in the title or
    description; no price (and a note) for placeholders and amounts outside the sane range."""
    out = res.fields
    hint = r.get("currency_raw")
    price_raw = r.get("price_raw")
    if price_raw:
        value = normalize_price(price_raw, hint)
    else:
        value = price_in_text(r.title, hint)
        if value.price is None and value.problem is None:
            value = price_in_text(r.description, hint, anchored_only=True)
    if value.problem:
        res.note("price", value.problem)
    price = value.price if kind != "wanted" else None
    currency = value.currency or currency_of(hint)
    if currency is None and r.source in USD_SOURCES:
        currency = "USD"
    usd = to_usd(price, currency, as_of.date() if as_of else None, config=config)
    if price is not None and usd is not None and kind not in NON_VEHICLE_KINDS:
        if usd < options["price_min_usd"]:
            res.note("price", "placeholder")
            price = None
        elif usd > options["price_max_usd"]:
            res.note("price", "implausible")
            price = None
    if price is not None and currency and usd is None:
        res.note("price_usd", "no_rate")
    out["price"] = price
    out["currency"] = currency if price is not None else None
    out["price_usd"] = usd if price is not None else None


def _condition(r: _Raw, res: _Result, vehicle: bool) -> None:
    """runs, title_status and road_claims (vehicles only) and sale_pending, from the title,
    the description, the page's status word and the site's title-status and condition fields."""
    title, description = r.title, r.description_raw
    said = _said(
        description,
        title,
        r.get("status_raw"),
        r.attrs.get("title_status") if vehicle else None,
        r.attrs.get("condition") if vehicle else None,
    )
    fields = res.fields
    if vehicle:
        fields["runs"] = said.runs
        fields["title_status"] = said.title_status
        fields["road_claims"] = _claims(description, title)
    fields["sale_pending"] = said.sale_pending


# kept per texts (a dealer's listings repeat them), but for a long description, which no other
# listing repeats (``text_cache`` keys on the first argument)
@text_cache(maxsize=1 << 15)
def _said(
    description: str | None,
    title: str | None,
    status_raw: str | None,
    title_field: str | None,
    condition_field: str | None,
) -> Condition:
    return condition_of(
        (title, description, status_raw),
        title_field=title_field,
        condition_field=condition_field,
    )


@text_cache(maxsize=1 << 15)
def _claims(description: str | None, title: str | None) -> str | None:
    return road_claims_of((title, description))


def _state(r: _Raw) -> str | None:
    """The listing's US state from its location, postal code or Craigslist area; None for the
    Japanese exporters and whenever the listing does not say (never a site's home state)."""
    if r.source in EXPORTER_SOURCES:
        return None
    location, postal = r.get("location_raw"), r.attrs.get("postal_code")
    if (location or postal) and (found := _state_of_place(location, postal)):
        return found
    url = r.raw.get("url")
    if r.source == "craigslist" and isinstance(url, str) and url.count("/") >= 2:
        return _state_of_host(url.split("/")[2].lower())
    return None


def _position(r: _Raw, state: str | None) -> dict[str, Any]:
    """geo_latitude, geo_longitude and geo_basis: the site's pin, else the centre of the
    listing's US ZIP code or city (``pipelines.normalize.geo``)."""
    latitude, longitude = r.raw.get("latitude"), r.raw.get("longitude")
    location, postal = r.get("location_raw"), r.attrs.get("postal_code")
    us = r.source not in EXPORTER_SOURCES
    if latitude is None and longitude is None:  # placed by its words: they repeat
        return _placed(location, postal, state, us)
    return _position_of(
        geo.position(latitude, longitude, location=location, postal_code=postal, state=state, us=us)
    )


def _position_of(found: geo.Position) -> dict[str, Any]:
    return {
        "geo_latitude": found.latitude,
        "geo_longitude": found.longitude,
        "geo_basis": found.basis,
    }


@lru_cache(maxsize=4096)
def _placed(location: str | None, postal: str | None, state: str | None, us: bool) -> dict:
    """``_position`` of a listing without a pin (one dict per place: callers only read it)."""
    found = geo.position(None, None, location=location, postal_code=postal, state=state, us=us)
    return _position_of(found)


@lru_cache(maxsize=1024)
def _parts_title(title_status: str) -> bool:
    """Whether a site's title-status field says the listing is parts ("parts only")."""
    return bool(PARTS.search(title_status))


@lru_cache(maxsize=4096)
def _state_of_place(location: str | None, postal: str | None) -> str | None:
    return state_of(location, postal_code=postal)


@lru_cache(maxsize=1024)
def _state_of_host(host: str) -> str | None:
    """The state of a Craigslist area's host name ("knoxville.craigslist.org")."""
    return state_of(None, url=f"https://{host}/", source="craigslist")


def normalize_listing(raw: Mapping, *, config: Mapping | None = None) -> dict[str, Any]:
    """Every normalized field of one raw listing (``scrapers.items.NORMALIZED_FIELDS``, ``cab``,
    ``runs``, ``title_status``, ``sale_pending``, ``state`` and ``road_claims`` among them), plus
    ``normalize_notes`` (problems such as "price:monthly" or "year:outside_code_window", for
    stats). ``config`` is the keitrucks
    configuration (band, fx, [normalize]); the defaults apply without it."""
    if not isinstance(raw, Mapping):
        raise TypeError(f"a raw listing must be a mapping, not {type(raw).__name__}")
    band, options = _settings(config)
    r = _Raw(raw)
    res = _Result()
    out = res.fields
    as_of = parse_scraped_at(raw.get("scraped_at"))
    if as_of is None:
        res.note("scraped_at", "missing")

    make, model = _make_model(r, res)
    if model is None and (model := _description_model(r, make)):
        make = _make_of(model)
    code = _model_code(r, make, res)
    code_info = MODEL_CODES.get(code or "")
    if code_info and (make is None or make == code_info.make):
        if model is None or model != code_info.model and _code_decides_name(code_info.model):
            model = code_info.model
        make = make or code_info.make
    date, basis = _dates(r)
    title_status = r.attrs.get("title_status")
    kind = "parts" if title_status and _parts_title(title_status) else None
    kind = kind or kind_of(
        r.title or r.description_raw or "",
        model=model,
        make=make,
        model_code=code,
        has_year=date.year is not None,
        whole_price=functools.partial(_priced_as_a_truck, r, options),
    )
    out["status"] = status(
        raw.get("status_raw"), raw.get("price_basis"), raw.get("price_raw"), r.title
    )
    out["state"] = _state(r)
    out.update(_position(r, out["state"]))
    _condition(r, res, kind not in NON_VEHICLE_KINDS)
    if kind in NON_VEHICLE_KINDS:
        out["kind"] = kind
        _price(r, res, kind, as_of, config, options)
        out["normalize_notes"] = res.notes
        return out

    out.update(make=make, model=model, model_code=code, kind=kind)
    year, month = date
    if year is not None and as_of is not None and not 1950 <= year <= as_of.year + 1:
        res.note("year", "implausible")
        year = month = basis = None
    misdated = False
    if year is not None and code_info and code_info.window_trusted:
        start, end = code_info.start, code_info.end
        if year < start[0] - 1 or (end and year > end[0] + 1):
            res.note("year", "outside_code_window")
            misdated = True
    out.update(year=year, build_month=month, date_basis=basis)
    out["is_4wd"] = _drive(r, code, make, res)
    out["transmission"] = _transmission(r, res)
    out["engine_cc"] = _engine(r)
    out["body"] = _body(r, kind)
    out["cab"] = cab_in(r.title) if kind in ("kei_truck", None) else None
    out["mileage_mi"] = _mileage(r, res)
    _price(r, res, kind, as_of, config, options)
    out["price_band"] = normalize_price_band(out["price_usd"], band)
    if year is not None and not misdated:
        eligibility = normalize_eligibility(year, month, basis, as_of)
    else:  # no year, or one its chassis code contradicts: the code's window dates it
        eligibility = eligibility_from_code(code, as_of)
    out.update(
        eligible_25y=eligibility.eligible_25y,
        eligible_from=eligibility.eligible_from,
        eligibility_basis=eligibility.basis,
    )
    if month and eligibility.eligible_from and as_of is not None:
        due_y, due_m = map(int, eligibility.eligible_from.split("-"))
        if abs((due_y * 12 + due_m) - (as_of.year * 12 + as_of.month)) <= 1:
            res.note("eligible_25y", "boundary_month")
    out["normalize_notes"] = res.notes
    return out


def clear_caches() -> None:
    """Forget every per-text result the normalizer's modules keep (for timing cold caches)."""
    package = __name__.rpartition(".")[0]
    for name, module in list(sys.modules.items()):
        if name == package or name.startswith(package + "."):
            for value in list(vars(module).values()):
                if getattr(value, "__module__", None) == name and hasattr(value, "cache_clear"):
                    value.cache_clear()

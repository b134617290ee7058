"""Mileage in miles: odometer fields (km converted, unit-less numbers only where the source
defines them in miles) and mileages stated in prose."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, NamedTuple

from pipelines.normalize.text import ASCII_LEFT, ASCII_RIGHT, clean_text, terms, text_cache

KM_TO_MI = 0.621371

_MILEAGE_UNKNOWN = re.compile(
    ASCII_LEFT + r"(?:tmu|unknown|not actual|exempt|n/?a)" + ASCII_RIGHT + r"|不明", re.I
)
NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d{1,3}(?:\.\d{3})+(?![\d,])|\d+(?:\.\d+)?"
_MILEAGE = re.compile(
    rf"(?<![\d.,])(?P<num>{NUMBER})\s*(?P<mult>k|万)?\s*-?\s*"
    r"(?P<unit>kilometers?|kilometres?|kms?|キロ|miles?|mi|マイル)?" + ASCII_RIGHT,
    re.IGNORECASE,
)
#: ``NUMBER`` without its first digit. A pattern that begins by taking a plain digit (and checks
#: what comes before it only then) lets CPython's re skip straight from digit to digit in prose.
_NUMBER_AFTER_DIGIT = r"\d{0,2}(?:,\d{3})+(?:\.\d+)?|\d{0,2}(?:\.\d{3})+(?![\d,])|\d*(?:\.\d+)?"
MILEAGE_IN_TEXT = re.compile(
    rf"(?P<num>\d(?<![\d.,$]\d)(?:{_NUMBER_AFTER_DIGIT}))\s*(?P<mult>k|万|thousand)?\s*-?\s*"
    r"(?:(?:" + terms("mileage", "between") + r")\s+)?"  # "9k original miles"
    r"(?P<unit>kilometers?|kilometres?|kms?|キロ|miles?|mi|マイル)"
    + ASCII_RIGHT
    + r"(?!\s*(?:/|per\b|an? hour|away|from|radius|round))",
    re.IGNORECASE,
)

#: The unit first, as a label, then the figure: "Low miles 30k", "Miles: 41,200", "km 48,000".
#: ("Mileage: 45,000" names no unit: an exporter's is in km, a US seller's in miles.)
MILEAGE_UNIT_FIRST = re.compile(
    ASCII_LEFT + r"(?P<unit>miles|kms?|kilometers?|kilometres?)\s*(?:[:=-]\s*)?"
    rf"(?P<num>{NUMBER})\s*(?P<mult>k)?" + ASCII_RIGHT,
    re.IGNORECASE,
)
#: A figure that is a year ("low miles 1995 Carry"), not an odometer.
_YEAR_FIGURE = re.compile(r"(?:19[5-9]\d|20[0-4]\d)")

_DOTTED_THOUSANDS = re.compile(r"\d{1,3}(?:\.\d{3})+")


def _to_miles(number: str, mult: str | None, unit: str | None) -> int | None:
    if not mult and _DOTTED_THOUSANDS.fullmatch(number):
        number = number.replace(".", "")  # 85.000 km: a thousands separator, not decimals
    try:
        value = Decimal(number.replace(",", ""))
    except InvalidOperation:
        return None
    if mult:
        value *= 10000 if mult == "万" else 1000
    unit = (unit or "").lower()
    if unit.startswith(("k", "キ")):
        miles = round(float(value) * KM_TO_MI)
    elif unit.startswith(("m", "マ")):
        miles = round(value)
    else:
        return None
    return int(miles) if 0 <= miles <= 1_500_000 else None


class MileageValue(NamedTuple):
    miles: int | None
    #: the field says the mileage is unknown (TMU, 不明): stop looking elsewhere.
    stated_unknown: bool


#: The usual odometer field, one whole figure with or without a unit ("45,812 mi", "62400km"):
#: read without the general patterns, to the value they give (``tests/test_normalize_pinned.py``).
_PLAIN_FIELD = re.compile(r"([0-9]{1,3}(?:,[0-9]{3})+|[0-9]+) ?(mi|miles?|kms?)?", re.IGNORECASE)


def scan_mileage(raw: Any, unitless_miles: bool = False) -> MileageValue:
    """Mileage of a mileage/odometer field in miles. A number without a unit is miles only when
    ``unitless_miles`` (the source defines the field in miles); km are converted."""
    if raw.__class__ is str and (plain := _PLAIN_FIELD.fullmatch(raw)):
        # the usual field, already clean: read at once (a cache of odometer readings, which
        # rarely repeat, would cost more than it saves)
        return MileageValue(_plain_miles(plain, unitless_miles), False)
    return _scan_mileage(raw, unitless_miles)


@lru_cache(maxsize=1 << 14)
def _scan_mileage(raw: Any, unitless_miles: bool) -> MileageValue:
    text = clean_text(raw)
    if not text:
        return MileageValue(None, False)
    if plain := _PLAIN_FIELD.fullmatch(text):
        return MileageValue(_plain_miles(plain, unitless_miles), False)
    return _scanned(text, unitless_miles)


def _plain_miles(m: re.Match, unitless_miles: bool) -> int | None:
    """Miles of a ``_PLAIN_FIELD`` match: what ``_to_miles`` gives for it."""
    unit = m.group(2)
    if unit is None and not unitless_miles:
        return None
    figure = int(m.group(1).replace(",", ""))
    miles = round(figure * KM_TO_MI) if unit and unit[0] in "kK" else figure
    return miles if miles <= 1_500_000 else None


def _scanned(text: str, unitless_miles: bool) -> MileageValue:
    """``scan_mileage`` of a cleaned text, by the general patterns."""
    if _MILEAGE_UNKNOWN.search(text):
        return MileageValue(None, True)
    m = _MILEAGE.search(text)
    if not m:
        return MileageValue(None, False)
    unit = m.group("unit") or ("mi" if unitless_miles else None)
    return MileageValue(_to_miles(m.group("num"), m.group("mult"), unit), False)


def normalize_mileage(raw: Any, *, unitless_miles: bool = False) -> int | None:
    """Miles from a mileage field: '45,812 mi', '62,400km', '33k Kilometers Shown', '1.2万km';
    None for 'TMU', '不明' or a bare number where the field is not defined in miles."""
    return scan_mileage(raw, unitless_miles).miles


#: Words before or after a figure that make it a service interval, a distance or the miles on
#: a part, not the odometer ("every 3,000 miles", "2,000 miles ago", "800 miles on the engine").
_NOT_ODOMETER_BEFORE = re.compile(
    ASCII_LEFT + "(?:" + terms("mileage", "before") + r")\s*$", re.IGNORECASE
)
_NOT_ODOMETER_AFTER = re.compile(r"\s*(?:" + terms("mileage", "after") + ")" + ASCII_RIGHT, re.I)
#: Unit-less odometer figures that are placeholders, not readings (0-9, 99999, 999,999...).
_PLACEHOLDER_FIGURE = re.compile(r"\d|9{5,}")


def is_placeholder(value: str) -> bool:
    """Whether a unit-less odometer field holds a placeholder (one digit, or all nines)."""
    return _PLACEHOLDER_FIGURE.fullmatch(value.replace(",", "").strip()) is not None


@text_cache(maxsize=1 << 15)
def km_figures(text: str | None) -> frozenset[int]:
    """The figures a text states in kilometres ("38,000 km" -> 38000), for a unit-less
    odometer field that the seller says elsewhere is in km."""
    if not text:
        return _NO_FIGURES
    lowered = text.lower()
    if "km" not in lowered and "kilomet" not in lowered and "キロ" not in text:
        return _NO_FIGURES
    out = set()
    for m in MILEAGE_IN_TEXT.finditer(text):
        if m.group("unit").lower().startswith(("k", "キ")):
            miles = _to_miles(m.group("num"), m.group("mult"), "mi")
            if miles is not None:
                out.add(miles)
    return frozenset(out) if out else _NO_FIGURES


_NO_FIGURES: frozenset[int] = frozenset()


def _odometer_reading(text: str, m: re.Match) -> bool:
    """Whether a figure with a unit in prose reads as the odometer, not an interval or a part."""
    start = m.start()
    if _NOT_ODOMETER_BEFORE.search(text, max(0, start - 12), start):
        return False
    return _NOT_ODOMETER_AFTER.match(text, m.end()) is None


_MILEAGE_STATED_UNKNOWN = re.compile(r"走行(?:距離)?\s*[:：]?\s*不明")
_MILEAGE_TRIGGERS = ("km", "kilomet", "mile", "キロ", "マイル", "走行")
#: "24k mi", "24,000mi": the short unit, which is too common a substring for the triggers above.
_MI_TRIGGER = re.compile(r"[\dk]\s?mi(?![a-z])")
_ODOMETER_BEFORE = re.compile(r"(?:odometer|odo|mileage|shows|reads|only|走行(?:距離)?)\W*$", re.I)


#: A unit right after a labelled figure ("Miles: 50,000 km"), read by ``MILEAGE_IN_TEXT``.
_UNIT_AFTER = re.compile(r"\s*(?:kilomet|kms?\b|miles?\b|mi\b)", re.IGNORECASE)


def _unit_first_miles(text: str) -> list[int]:
    """Miles of each "miles 30k", "km: 48,000" in ``text``: odometer-sized (600 or more) and
    not a bare year."""
    values = []
    for m in MILEAGE_UNIT_FIRST.finditer(text):
        number, mult = m.group("num"), m.group("mult")
        if not mult and _YEAR_FIGURE.fullmatch(number):
            continue
        if _UNIT_AFTER.match(text, m.end()):  # "MILES: 50,000 KM": the figure's own unit wins
            continue
        value = _to_miles(number, mult, m.group("unit"))
        if value is not None and value >= 600:
            values.append(value)
    return values


@text_cache(maxsize=1 << 14)
def mileage_in_text(text: str | None) -> MileageValue:
    """Miles from prose ("61,200 km on it", "12k-Mile 1995 ..."): only numbers with a unit, and
    small ones (a distance, not an odometer) only after "odometer", "mileage", "shows"... Two
    readings that disagree by more than 5% give None."""
    if not text:
        return MileageValue(None, False)
    lowered = text.lower()
    if not any(unit in lowered for unit in _MILEAGE_TRIGGERS) and not _MI_TRIGGER.search(lowered):
        return MileageValue(None, False)
    values = [
        v
        for m in MILEAGE_IN_TEXT.finditer(text)
        if (v := _to_miles(m.group("num"), m.group("mult"), m.group("unit"))) is not None
        and (v >= 600 or _ODOMETER_BEFORE.search(text[max(0, m.start() - 24) : m.start()]))
        and _odometer_reading(text, m)
    ]
    values += _unit_first_miles(text)
    if not values:
        if _MILEAGE_STATED_UNKNOWN.search(text):
            return MileageValue(None, True)
        return MileageValue(None, False)
    first = values[0]
    if any(abs(v - first) > 0.05 * max(first, 1) for v in values[1:]):
        return MileageValue(None, False)
    return MileageValue(first, False)

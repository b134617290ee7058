"""Years and months: date fields, Japanese era dates, years in titles, build months in prose.

Month names come from ``months.csv`` and the eras from ``eras.csv`` (``keitrucks.core.tables``).
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from typing import Any, NamedTuple

from keitrucks.core import tables
from pipelines.normalize.models import mentions
from pipelines.normalize.text import ASCII_LEFT, ASCII_RIGHT, clean_text, terms, text_cache

_MONTHS = tables.month_names()
#: Any month name, the longest first ("september" before "sept" and "sep"), then an optional dot.
_MONTH_WORD = (
    "(?P<mon>" + "|".join(sorted(map(re.escape, _MONTHS), key=len, reverse=True)) + r")\.?"
)
_ERA_BY_LETTER = {e.letter: e for e in tables.eras()}
_ERA_BY_KANJI = {e.kanji: e for e in tables.eras()}
KANJI_ERAS = "|".join(_ERA_BY_KANJI)
_ERA_LETTER_DATE = re.compile(
    r"^(?P<era>[MTSHR])\s*(?P<y>\d{1,2})(?:\s*[./\-]\s*(?P<m>\d{1,2})(?:\s*[./\-]\s*\d{1,2})?)?"
    r"\s*(?:年式?)?$",
    re.IGNORECASE,
)
ERA_KANJI_DATE = re.compile(
    rf"(?P<era>{KANJI_ERAS})\s*(?P<y>元|\d{{1,2}})\s*年(?:\s*(?P<m>\d{{1,2}})\s*月)?"
)
_YEAR_MONTH = re.compile(
    r"^(?P<y>(?:19|20)\d{2})\s*(?:[/.\-年]|\s)\s*(?P<m>\d{1,2})\s*月?"
    r"(?:\s*[/.\-]\s*(?P<d>\d{1,2})\s*日?)?(?:T.*)?$"
)
_YEAR_ONLY = re.compile(r"^(?P<y>(?:19|20)\d{2})\s*(?:年式?|年)?$")
_YEAR_MONTH_WORD = re.compile(rf"^(?P<y>(?:19|20)\d{{2}})\s*[/\-,]?\s*{_MONTH_WORD}$", re.I)
_MONTH_WORD_YEAR = re.compile(rf"^{_MONTH_WORD}\s*[/\-,]?\s*(?P<y>(?:19|20)\d{{2}})$", re.I)
_MONTH_YEAR = re.compile(r"^(?P<m>\d{1,2})\s*[/\-.]\s*(?P<y>(?:19|20)\d{2})$")
_APOSTROPHE_YEAR = re.compile(r"^['’‘`](?P<yy>\d{2})$")


class YearMonthValue(NamedTuple):
    year: int | None
    month: int | None


NO_DATE = YearMonthValue(None, None)


def _two_digit_year(yy: int) -> int | None:
    """'96 -> 1996, '05 -> 2005; 31-59 are not kei-truck years and stay unknown."""
    if yy >= 60:
        return 1900 + yy
    if yy <= 30:
        return 2000 + yy
    return None


def _era_date(era: tables.Era | None, y: str, m: str | None) -> YearMonthValue:
    if era is None:
        return NO_DATE
    era_year = 1 if y == "元" else int(y)
    if era_year < 1:
        return NO_DATE
    year = era.offset + era_year
    month = int(m) if m else None
    if month is not None and not 1 <= month <= 12:
        return NO_DATE
    if not era.contains(year, month):
        return NO_DATE
    return YearMonthValue(year, month)


def _month_ok(month: int) -> bool:
    return 1 <= month <= 12


@lru_cache(maxsize=1 << 14)
def normalize_date(raw: Any) -> YearMonthValue:
    """(year, month) from a date field: "1996", "1996/5", "1999年12月", "2020 / Nov", "10/2000",
    "H8", "H08.05", "R8.5.17", "平成8年5月", "平成元年", "'96". Japanese era dates are checked
    against the era's span (H31.5 does not exist). (None, None) when not a date."""
    text = clean_text(raw)
    if not text or len(text) > 40:
        return NO_DATE
    if m := ERA_KANJI_DATE.search(text):
        return _era_date(_ERA_BY_KANJI.get(m.group("era")), m.group("y"), m.group("m"))
    if m := _ERA_LETTER_DATE.match(text):
        return _era_date(_ERA_BY_LETTER.get(m.group("era").upper()), m.group("y"), m.group("m"))
    if m := _YEAR_ONLY.match(text):
        return YearMonthValue(int(m.group("y")), None)
    if m := _YEAR_MONTH.match(text):
        month = int(m.group("m"))
        return YearMonthValue(int(m.group("y")), month) if _month_ok(month) else NO_DATE
    if m := _YEAR_MONTH_WORD.match(text) or _MONTH_WORD_YEAR.match(text):
        return YearMonthValue(int(m.group("y")), _MONTHS[m.group("mon").lower().rstrip(".")])
    if m := _MONTH_YEAR.match(text):
        month = int(m.group("m"))
        return YearMonthValue(int(m.group("y")), month) if _month_ok(month) else NO_DATE
    if m := _APOSTROPHE_YEAR.match(text):
        return YearMonthValue(_two_digit_year(int(m.group("yy"))), None)
    return NO_DATE


def normalize_year(raw: Any) -> int | None:
    """The year of a date field (see ``normalize_date``)."""
    return normalize_date(raw).year


_TEXT_YEAR = re.compile(
    r"(?P<kanji>(?:" + KANJI_ERAS + r")\s*(?:元|\d{1,2})\s*年(?:\s*\d{1,2}\s*月)?)"
    r"|(?<![A-Za-z0-9])(?P<letter>[SHR]\s?\d{1,2}(?:\s*年|(?:\.\d{1,2}){1,2}(?![\d.])))"
    # an exporter's bare era year, in capitals: "H8 ACTY TRUCK", "ハイゼット 4WD H9 5MT" (Heisei
    # 1-31, Showa 50-64; not "S10", a Chevrolet, nor "R2", a Subaru)
    r"|(?<![A-Za-z0-9])(?P<bare>(?-i:H(?:[1-9]|[12]\d|3[01])|S[56]\d))(?![\w.\-/])"
    r"(?!\s*(?:bulbs?|head\s?lights?|lamps?|lights?|halogen|led)\b)"
    r"|(?<![A-Za-z0-9$.,:#/\-])(?P<four>(?:19[5-9]\d|20[0-4]\d))"
    r"(?![\d]|,\d|\s*(?:cc|km|kms|mi|miles?|lbs?|kg|hours?|hrs?)\b)"
    r"|(?<![\w'’])(?P<apos>['’‘`]\d{2})(?![\d\w])",
    re.IGNORECASE,
)
_LEADING_TWO_DIGITS = re.compile(r"^\s*(\d{2})\s+(?=\S)")
#: Right after a make or model: drive and body words ("4x4", "mini truck"), then a bare two-digit
#: year ("Suzki Cary 4x4 96 runs good"), unless a unit or a price word follows it ("45 mph")
#: or three digits do ("12 000 miles").
_SHORT_YEAR_AFTER_MODEL = re.compile(
    r"(?:[\s,/-]+(?:" + terms("drive") + "|" + terms("year", "between") + r"))*"
    r"[\s,-]+(?P<yy>\d{2})['’]?"
    r"(?=\s*$|\s*[,;:!|()\[\]]|\s+-|\s+(?!\d{3}(?!\w)|(?:"
    + terms("year", ("after", "after_short"))
    + ")"
    + ASCII_RIGHT
    + r"))",
    re.IGNORECASE,
)


@text_cache(maxsize=1 << 14)
def year_in_text(text: str | None) -> int | None:
    """The first year written in a title: "1996", "'94", "98 Mazda Scrum", "平成8年", "S63年式",
    "H8.5". Bare two-digit years count only at the start, before a make or model name."""
    text = clean_text(text)
    if not text:
        return None
    if (m := _LEADING_TWO_DIGITS.match(text)) and any(x.start == m.end() for x in mentions(text)):
        return _two_digit_year(int(m.group(1)))
    for m in _TEXT_YEAR.finditer(text):
        if m.group("four"):
            if _not_a_year(text, m):
                continue
            return int(m.group("four"))
        found = m.group().replace(" ", "")
        value = normalize_date(found if m.group("kanji") else found.rstrip("年"))
        if value.year:
            return value.year
    return _short_year_after_model(text)


def _short_year_after_model(text: str) -> int | None:
    """A bare two-digit year right after a make or model, past drive and body words: "Honda
    Acty 4x4 96", "Hijet jumbo 94'". Only 60-99 and 00-09 count: a bare "12" or "45" in a
    title is as often a measure or a count as a year, and an importable kei truck is old."""
    for mention in mentions(text):
        m = _SHORT_YEAR_AFTER_MODEL.match(text, mention.end)
        if m and (m.group("yy") >= "60" or m.group("yy").startswith("0")):
            return _two_digit_year(int(m.group("yy")))
    return None


#: Words that make a four-digit figure something other than the truck's year: the year it was
#: imported before it ("fresh import 2024"), a price word after it ("2000 obo").
_NOT_YEAR_BEFORE = re.compile(ASCII_LEFT + "(?:" + terms("year", "before") + r")\s*$", re.I)
_NOT_YEAR_AFTER = re.compile(r"\s*(?:" + terms("year", "after") + ")" + ASCII_RIGHT, re.I)


def _not_a_year(text: str, m: re.Match) -> bool:
    start = m.start()
    return bool(
        _NOT_YEAR_BEFORE.search(text, max(0, start - 24), start)
        or _NOT_YEAR_AFTER.match(text, m.end())
    )


@text_cache(maxsize=1 << 12)
def year_before_model(text: str | None) -> int | None:
    """A four-digit year written right before a make or model name in prose ("1997 Carry,
    4wd"), else None: in a description a bare year may be anything else."""
    if not text:
        return None
    starts = {x.start for x in mentions(text)}
    if not starts:
        return None
    for m in _TEXT_YEAR.finditer(text):
        next_word = len(text) - len(text[m.end() :].lstrip())
        if m.group("four") and next_word in starts and not _not_a_year(text, m):
            return int(m.group("four"))
    return None


_BUILD_PHRASE = re.compile(
    r"(?:build date|built(?: in| on)?|manufactured(?: in| on)?|manufacture date|"
    r"date of manufacture|production date|produced(?: in)?|製造年月|製造)\D{0,25}?"
    r"(?P<date>\d{1,2}\s*/\s*(?:19|20)\d{2}|(?:19|20)\d{2}\s*[/.\-]\s*\d{1,2}(?!\d)|"
    + _MONTH_WORD.replace("?P<mon>", "?:")
    + r"\s+(?:19|20)\d{2})",
    re.IGNORECASE,
)


_BUILD_TRIGGERS = ("build", "built", "manufactur", "production", "produced", "製造")


@text_cache(maxsize=1 << 12)
def build_date_in_text(text: str | None) -> YearMonthValue:
    """A build month stated in prose ("Build date on the plate: 10/2000"), else (None, None)."""
    if not text:
        return NO_DATE
    lowered = text.lower()
    if not any(word in lowered for word in _BUILD_TRIGGERS):
        return NO_DATE
    m = _BUILD_PHRASE.search(text)
    if not m:
        return NO_DATE
    value = normalize_date(m.group("date"))
    return value if value.month else NO_DATE


@lru_cache(maxsize=1 << 12)
def parse_scraped_at(raw: Any) -> dt.datetime | None:
    """``scraped_at`` as an aware UTC datetime (naive values are taken as UTC), or None."""
    text = clean_text(raw)
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T", 1))
    except ValueError:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)

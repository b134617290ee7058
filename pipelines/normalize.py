"""Turn a raw listing into canonical fields: badge and model, chassis code, year and month, 4WD,
transmission, engine size, body, what the listing is, mileage in miles, price in USD, price band,
US 25-year eligibility and status.

Pure ``normalize_*`` functions sit at the top, fed by the tables in ``keitrucks/core/data`` (see
``keitrucks.core.tables``); ``normalize_listing`` combines them for one listing; a thin
``NormalizePipeline`` at the bottom runs it inside Scrapy. Nothing here reads the clock: the
as-of date is the listing's ``scraped_at``. Unknown is ``None``, never a guess: a field is only
filled from words or codes that settle it, and conflicting evidence leaves it ``None`` with a note.

Evidence is read in a fixed order of trust: the site's structured fields (``*_raw`` and
``attributes``), then the title, then the description, where sentences about other vehicles
("trade for a 4x4 F-150") are skipped.

Speed (``bench/normalize.py``; the target is 20,000 listings/s on one core): a listing's text
is cleaned once (``_Raw``) and handed on as it is to the inner ``_*`` functions, which the public
``normalize_*`` ones wrap with cleaning and caching; each vocabulary is one regex whose
alternatives are bucketed by first character (``_bounded_alternation``); a short text (a title)
is scanned once for every word list and the result shared; per-text results are cached
(``_text_cache``). None of this changes a result: ``tests/test_normalize_golden.py`` pins the
output on every fixture listing and checks the fast regexes against their plain forms.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, NamedTuple

from price_parser import Price

from keitrucks.core import tables

logger = logging.getLogger(__name__)

#: The chassis-code and model tables (read once per process, see ``keitrucks.core.tables``).
_MODEL_CODES = tables.model_codes()
_MODEL_INFO = tables.model_info()

#: The normalized fields of ``scrapers.items.Listing`` this module fills.
NORMALIZED_FIELDS = (
    "make",
    "model",
    "model_code",
    "year",
    "build_month",
    "date_basis",
    "is_4wd",
    "transmission",
    "engine_cc",
    "body",
    "kind",
    "mileage_mi",
    "price",
    "currency",
    "price_usd",
    "price_band",
    "eligible_25y",
    "eligible_from",
    "eligibility_basis",
    "status",
)
#: Extra keys of ``normalize_listing``'s result that are not Listing fields.
EXTRA_FIELDS = ("cab", "normalize_notes")

#: Kinds that are not a vehicle for sale: their vehicle fields stay None.
NON_VEHICLE_KINDS = frozenset({"parts", "wanted", "toy"})
#: Sources whose unit-less odometer/mileage field is defined in miles.
UNITLESS_MILES_SOURCES = frozenset({"craigslist", "ebay"})
#: Japanese exporters: their dates are first-registration dates.
EXPORTER_SOURCES = frozenset(
    {"beforward", "sbtjapan", "tcv", "carfromjapan", "goonet_exchange", "japanesecartrade"}
)
#: Sources that only ever quote US dollars, used when a price carries no currency.
USD_SOURCES = frozenset(
    {"craigslist", "ebay", "bringatrailer", "carsandbids", "dealer_jsonld", "facebook"}
)
KM_TO_MI = 0.621371
ASCII_LEFT = r"(?<![A-Za-z0-9])"
ASCII_RIGHT = r"(?![A-Za-z0-9])"

#: Defaults for config["normalize"]; a TOML [normalize] table overrides them.
NORMALIZE_DEFAULTS = {
    #: below this (USD equivalent) a vehicle price is a placeholder, not a price.
    "price_min_usd": 100,
    #: above this (USD equivalent) a price is implausible for a kei truck listing.
    "price_max_usd": 100_000,
    #: optional path of a user FX table (date, currency, usd_per_unit); None = keitrucks/core/data.
    "fx_table": None,
}
DEFAULT_BAND = {"low": 5000, "high": 12000}


# --- text helpers -------------------------------------------------------------------------------


def _text_cache(maxsize: int, limit: int = 300):
    """``lru_cache`` for a function of a text, except that texts longer than ``limit``
    (descriptions, which no other listing repeats) are computed without being kept."""

    def decorate(func):
        cached = lru_cache(maxsize=maxsize)(func)

        @functools.wraps(func)
        def wrapper(text, *args, **kwargs):
            if text.__class__ is str and len(text) > limit:
                return func(text, *args, **kwargs)
            return cached(text, *args, **kwargs)

        wrapper.cache_clear = cached.cache_clear
        wrapper.cache_info = cached.cache_info
        return wrapper

    return decorate


_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_SPACES = re.compile(r"\s+")


def clean_text(value: Any) -> str | None:
    """Text as one NFKC line: full-width digits and letters folded to ASCII, zero-width
    characters dropped, whitespace collapsed. None for missing or blank values."""
    if value is None:
        return None
    if not isinstance(value, str):
        return _clean_other(value)
    if value.isascii() and not (
        "  " in value or "\n" in value or "\t" in value or "\r" in value
    ):  # already one line: nothing to fold or collapse, and cheaper than a cache lookup
        return value.strip() or None
    return _clean(value)


@_text_cache(maxsize=1 << 15)
def _clean(text: str) -> str | None:
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text.translate(_ZERO_WIDTH))
    text = _SPACES.sub(" ", text).strip()
    return text or None


@lru_cache(maxsize=1 << 12, typed=True)
def _clean_other(value: Any) -> str | None:
    """``clean_text`` of a number (or anything else that is not a string)."""
    return clean_text(str(value))


@lru_cache(maxsize=4096)
def _key(label: Any) -> str:
    """An attribute label folded for lookup 'Registration Year/month' -> 'registrationyearmonth'."""
    text = clean_text(label) or ""
    return re.sub(r"[\W_]+", "", text.lower())


def _first_chars(pattern: str) -> set[str] | None:
    """The characters a match of ``pattern`` can begin with, or None when any could."""
    from re import _constants as sre
    from re import _parser

    def first(items: list) -> tuple[set[str] | None, bool]:
        out: set[str] = set()
        for op, av in items:
            if op is sre.LITERAL:
                return out | {chr(av)}, False
            if op is sre.IN:
                chars = set()
                for kind, arg in av:
                    if kind is sre.LITERAL:
                        chars.add(chr(arg))
                    elif kind is sre.RANGE and arg[1] - arg[0] < 256:
                        chars.update(map(chr, range(arg[0], arg[1] + 1)))
                    elif kind is sre.CATEGORY and arg is sre.CATEGORY_DIGIT:
                        chars.update("0123456789")
                    elif kind is sre.CATEGORY and arg is sre.CATEGORY_SPACE:
                        chars.update(" \t\n\r\f\v")
                    else:
                        return None, False
                return out | chars, False
            if op in (sre.ASSERT, sre.ASSERT_NOT, sre.AT):
                continue
            if op in (sre.BRANCH, sre.SUBPATTERN, sre.MAX_REPEAT, sre.MIN_REPEAT):
                branches = av[1] if op is sre.BRANCH else [av[3] if op is sre.SUBPATTERN else av[2]]
                nullable = op is not sre.BRANCH and op is not sre.SUBPATTERN and av[0] == 0
                for branch in branches:
                    chars, empty = first(list(branch))
                    if chars is None:
                        return None, False
                    out |= chars
                    nullable |= empty
                if not nullable:
                    return out, False
                continue
            return None, False
        return out, True

    try:
        chars, nullable = first(list(_parser.parse(pattern)))
    except (AttributeError, TypeError, ValueError):  # re internals differ: skip the shortcut
        return None
    return None if nullable else chars


def _char_lookahead(chars: set[str] | None) -> str:
    """A lookahead for one of ``chars`` ("" for None: any character)."""
    if not chars:
        return ""
    return "(?=[" + "".join(re.escape(c) for c in sorted(chars)) + "])"


def _starts_with(pattern: str) -> str:
    """A lookahead for the first characters of ``pattern`` ("" when any could start it)."""
    return _char_lookahead(_first_chars(pattern))


def _syntax(pattern: str) -> Iterable[tuple[int, str, int]]:
    """(index, character, group depth after it) of each character of a pattern that is neither
    escaped nor inside a character class."""
    depth, in_class, i = 0, False, 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        else:
            depth += (char == "(") - (char == ")")
            yield i, char, depth
        i += 1


def _alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of a pattern, opening up non-capturing groups that make up a
    whole alternative: "(?:a|b)|c" -> ["a", "b", "c"] (the same matches, tried in the same
    order)."""
    cuts = [i for i, char, depth in _syntax(pattern) if char == "|" and depth == 0]
    out = []
    for start, end in zip([-1, *cuts], [*cuts, len(pattern)], strict=True):
        part = pattern[start + 1 : end]
        inner = _group_body(part)
        out.extend(_alternatives(inner) if inner is not None else [part])
    return out


def _group_body(pattern: str) -> str | None:
    """What is inside ``pattern`` when it is one whole non-capturing group "(?:...)", else None
    ("(?:a)(?:b)" is two groups side by side)."""
    if not (pattern.startswith("(?:") and pattern.endswith(")")):
        return None
    closes = [i for i, char, depth in _syntax(pattern) if char == ")" and depth == 0]
    return pattern[3:-1] if closes == [len(pattern) - 1] else None


#: First characters per dispatch bucket in a ``_bounded_alternation`` regex.
_BUCKET_CHARS = 8


def _bounded_alternation(alternatives: list[tuple[Any, str]]) -> tuple[re.Pattern, list]:
    """One regex for (value, pattern) alternatives between ASCII word boundaries, tried in
    order (the first that matches at a place wins), and the value of each group number:
    ``value_of[match.lastindex]`` tells which alternative matched.

    For speed each pattern's own alternatives are laid out flat, each closed by an empty group,
    and sorted into buckets by the characters they can begin with: at a word start CPython's re
    then tries only the alternatives that can begin with its character, still in their order,
    so the matches are those of the plain alternation."""
    flat = [
        (value, alternative, _first_chars(alternative))
        for value, pattern in alternatives
        for alternative in _alternatives(pattern)
    ]
    if any(chars is None for _, _, chars in flat):
        buckets = [(None, flat)]
    else:
        first = sorted(set().union(*(chars for _, _, chars in flat)))
        buckets = []
        for at in range(0, len(first), _BUCKET_CHARS):
            chars = set(first[at : at + _BUCKET_CHARS])
            buckets.append((chars, [alt for alt in flat if alt[2] & chars]))
    value_of: list = [None]
    parts = []
    for chars, members in buckets:
        for value, alternative, _ in members:
            # its own groups (if any), then the empty group that closes it
            value_of.extend([value] * (re.compile(alternative).groups + 1))
        inner = "|".join(f"{alternative}()" for _, alternative, _ in members)
        parts.append(f"{_char_lookahead(chars)}(?:{inner})")
    body = f"(?<![a-z0-9])(?:{'|'.join(parts)})(?![a-z0-9])"
    # Only try where some word can begin: in Japanese text every kana would otherwise be a
    # word start for the ASCII boundary.
    return re.compile(_starts_with(body) + body), value_of


class _Scanner:
    """One regex for a field's whole vocabulary, with ASCII word boundaries, matched without
    regard to case: ``found(text)`` lists the values named, in order. Earlier groups win where
    two would match at the same place."""

    def __init__(
        self,
        groups: Iterable[tuple[str, str]],
        *,
        reject_before: Mapping[str, re.Pattern] | None = None,
    ):
        #: value -> regex that, found right before a match, rejects it ("new tires").
        self.reject_before = dict(reject_before or {})
        # Patterns are written in lower case; matching lower-cased text without IGNORECASE is
        # about twice as fast in CPython's re.
        self.regex, self.value_of = _bounded_alternation(
            [(value, pattern.lower()) for value, pattern in groups if pattern]
        )

    def found(self, text: str | None) -> list[str]:
        if not text:
            return []
        lowered = text.lower()
        value_of = self.value_of
        if not self.reject_before:
            return [value_of[m.lastindex] for m in self.regex.finditer(lowered)]
        reject = self.reject_before
        out = []
        for m in self.regex.finditer(lowered):
            value = value_of[m.lastindex]
            if value in reject:
                start = m.start()
                if reject[value].search(lowered, max(0, start - 12), start):
                    continue
            out.append(value)
        return out


class _Words(_Scanner):
    """One vocabulary with ASCII word boundaries, matched case-insensitively."""

    def __init__(self, pattern: str):
        super().__init__([("yes", pattern)])

    def search(self, text: str | None) -> bool:
        return bool(text) and self.regex.search(text.lower()) is not None


def _terms(field: str, scope: str | tuple[str, ...] = "any") -> str:
    scopes = (scope,) if isinstance(scope, str) else scope
    parts = [t.pattern for t in tables.terms() if t.field == field and t.scope in scopes]
    return "|".join(f"(?:{p})" for p in parts)


def _terms_by_value(field: str, scope: str | tuple[str, ...] = "any") -> dict[str, str]:
    scopes = (scope,) if isinstance(scope, str) else scope
    out: dict[str, list[str]] = {}
    for t in tables.terms():
        if t.field == field and t.scope in scopes:
            out.setdefault(t.value, []).append(f"(?:{t.pattern})")
    return {value: "|".join(parts) for value, parts in out.items()}


def _bounded(pattern: str) -> _Words:
    return _Words(pattern)


#: A sentence about some other vehicle or a trade: its drive, mileage and year are not ours.
_NOISE_SENTENCE, _ = _bounded_alternation(
    [
        (
            "noise",
            r"trades?|trading|swap for|also (?:have|has|selling|got)|my other|my old|"
            r"f-?\d{3}|silverado|sierra|tacoma|tundra|ranger|atv|utv|side[\s-]by[\s-]side|"
            r"golf cart|tractor|mower|looking for|wanted|shipping|shipped|delivery|deliver|within|"
            r"away|radius|mpg",
        )
    ]
)
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?;])\s+|(?<=[。！？])\s*|\n+")


@_text_cache(maxsize=1 << 12)
def relevant_text(description: str | None) -> str | None:
    """The description without the sentences that talk about other vehicles or trades."""
    if not description:
        return None
    if not _NOISE_SENTENCE.search(description.lower()):
        return description
    sentences = _SENTENCE_SPLIT.split(description)
    kept = [s for s in sentences if s and not _NOISE_SENTENCE.search(s.lower())]
    return " ".join(kept) or None


# --- make and model -----------------------------------------------------------------------------


class Mention(NamedTuple):
    start: int
    end: int
    alias: tables.Alias


def _alias_tables() -> tuple[dict[tuple[str, ...], tables.Alias], list[tuple[str, tables.Alias]]]:
    words: dict[tuple[str, ...], tables.Alias] = {}
    substrings = []
    for alias in tables.aliases():
        if alias.match == "word":
            words[tuple(w for w in re.split(r"[^a-z0-9]+", alias.alias.lower()) if w)] = alias
        else:
            substrings.append((alias.alias.lower(), alias))
    substrings.sort(key=lambda item: -len(item[0]))
    return words, substrings


_WORD_ALIASES, _SUBSTRING_ALIASES = _alias_tables()


def _by_first_char(
    substrings: list[tuple[str, tables.Alias]],
) -> dict[str, list[tuple[int, str, tables.Alias]]]:
    """(index, alias text, alias) by the alias text's first character, in table order."""
    out: dict[str, list[tuple[int, str, tables.Alias]]] = {}
    for index, (needle, alias) in enumerate(substrings):
        out.setdefault(needle[0], []).append((index, needle, alias))
    return out


_SUBSTRINGS_BY_FIRST = _by_first_char(_SUBSTRING_ALIASES)
#: Every word alias between word boundaries, its words apart only by spaces or hyphens ("hi-jet",
#: "nt100 clipper"); the alias with the most words is tried first.
_WORD_ALIAS_RE, _WORD_ALIAS_OF = _bounded_alternation(
    [
        (_WORD_ALIASES[words], r"[\s\-]+".join(map(re.escape, words)))
        for words in sorted(_WORD_ALIASES, key=len, reverse=True)
        if words  # an alias without a Latin letter or digit never matches as a word
    ]
)
_MODEL_CATEGORIES = frozenset(
    {"model", "model_typo", "nickname", "van_model", "other_model", "badge"}
)
_NEGATED_BEFORE = re.compile(
    r"(?:\bnot|\bisn'?t|\bnon|\bnor|\bnever|ではない)\s*(?:an?\s+|the\s+)?(?:[a-z]+\s+)?$",
    re.IGNORECASE,
)
_VERB_BEFORE = re.compile(r"\b(?:will|can|could|would|to|'ll|it)\s+$", re.IGNORECASE)


@_text_cache(maxsize=1 << 14)
def mentions(text: str | None) -> tuple[Mention, ...]:
    """Every make/model alias in the text, in order (the longest alias wins at a place)."""
    if not text:
        return ()
    lowered = text.lower()
    found = [
        Mention(m.start(), m.end(), _WORD_ALIAS_OF[m.lastindex])
        for m in _WORD_ALIAS_RE.finditer(lowered)
    ]
    if not text.isascii():
        for _, needle, alias in _substrings_in(lowered):
            start = lowered.find(needle)
            while start != -1:
                found.append(Mention(start, start + len(needle), alias))
                start = lowered.find(needle, start + 1)
        found.sort(key=lambda m: (m.start, m.start - m.end))
        kept: list[Mention] = []
        for m in found:
            if not kept or m.start >= kept[-1].end:
                kept.append(m)
        found = kept
    return tuple(found)


def _substrings_in(lowered: str) -> list[tuple[int, str, tables.Alias]]:
    """The substring aliases whose first character the text holds, in table order."""
    chars = _SUBSTRINGS_BY_FIRST.keys() & set(lowered)
    if len(chars) == 1:
        return _SUBSTRINGS_BY_FIRST[chars.pop()]
    return sorted(item for char in chars for item in _SUBSTRINGS_BY_FIRST[char])


def _accepted(text: str, m: Mention, makes: set[str], kei_context: bool) -> bool:
    alias = m.alias
    if alias.needs_make and alias.make not in makes and not kei_context:
        return False
    before = text[max(0, m.start - 24) : m.start]
    if _NEGATED_BEFORE.search(before):
        return False
    return not (alias.needs_make and _VERB_BEFORE.search(before))


@_text_cache(maxsize=1 << 14)
def normalize_make_model(
    text: str | None, *, structured: bool = False
) -> tuple[str | None, str | None]:
    """(make, model) named first in ``text``: the badge shown ("Mazda", "Mazda Scrum"), not the
    platform. A model alias that is also an everyday word ("carry", "every", "clipper") counts
    only beside its make, in kei-truck context, or in a structured make/model field. Negated
    mentions ("not an Acty") are skipped. (None, None) when nothing is named."""
    text = clean_text(text)
    found = mentions(text)
    if not found:
        return None, None
    makes = {m.alias.make for m in found if m.alias.category in ("make", "badge")}
    kei_context = structured or (
        any(m.alias.needs_make for m in found)
        and not field_words(text, "kind").isdisjoint(_KEI_CONTEXT_WORDS)
    )
    model = None
    for m in found:
        category = m.alias.category
        if (
            category in _MODEL_CATEGORIES
            and category != "badge"
            and _accepted(text, m, makes, kei_context)
        ):
            model = m.alias
            break
    if model is None:
        first = next((m.alias for m in found if m.alias.category in ("make", "badge")), None)
        other = next((m.alias for m in found if m.alias.category == "other_make"), None)
        make_alias = first or other
        return (make_alias.make if make_alias else None), None
    model_name = model.model
    for m in found:
        badge = m.alias
        if (
            badge.category == "badge"
            and badge.make == model.make
            and badge.model != model_name
            and tables.platform_for(badge.model) == tables.platform_for(model_name)
        ):
            model_name = badge.model
    return model.make, model_name


# --- model code ---------------------------------------------------------------------------------

_CODE_SHAPE = re.compile(r"^[A-Z]{1,3}\d{1,3}[A-Z]{0,2}$")
_EMISSIONS_PREFIX = re.compile(r"^[A-Z0-9]{1,4}-(?=[A-Z]{1,3}\d)")
_FRAME = re.compile(r"^([A-Z]{1,3}\d{1,3}[A-Z]{0,2})-[\d*]{3,}$")
_SPLIT_CODE = re.compile(r"^([A-Z]{1,3})-(\d{1,3}[A-Z]{0,2})$")
_GRADE_SUFFIX = re.compile(r"^([A-Z]{1,3}\d{1,3}[A-Z]{0,2})-[A-Z]{1,4}$")
_CODE_LIST_SPLIT = re.compile(r"[,/;]")
_NO_VALUE = frozenset({"", "-", "--", "—", "N/A", "NA", "NONE", "UNKNOWN", "不明", "?"})


@lru_cache(maxsize=1 << 14)
def normalize_model_code(raw: Any) -> str | None:
    """A chassis code from a model-code or frame-number field: upper case, emissions prefix and
    frame serial removed ("EBD-DA63T" -> "DA63T", "DD51T-412345" -> "DD51T", "KS-4" -> "KS4").
    None for '-', a 17-character VIN, or anything not shaped like a code."""
    text = clean_text(raw)
    if not text:
        return None
    text = text.upper().replace(" ", "")
    if text in _NO_VALUE or (len(text) == 17 and text.isalnum()):
        return None
    text = _CODE_LIST_SPLIT.split(text)[0]
    for _ in range(2):
        text = _EMISSIONS_PREFIX.sub("", text)
    if m := _FRAME.match(text):
        text = m.group(1)
    elif m := _GRADE_SUFFIX.match(text):
        text = m.group(1)  # trailing grade suffix, e.g. S80P-TDK
    elif m := _SPLIT_CODE.match(text):
        text = m.group(1) + m.group(2)
    return text if _CODE_SHAPE.match(text) else None


_CODE_CANDIDATE = re.compile(
    r"(?=[A-Za-z])" + ASCII_LEFT + r"[A-Za-z]{1,3}-?\d{1,3}[A-Za-z]{0,2}" + ASCII_RIGHT
)
_TEXT_CODES = frozenset(c.code for c in tables.model_codes().values() if c.text_match)


@_text_cache(maxsize=1 << 14)
def find_model_codes(text: str | None) -> tuple[str, ...]:
    """Known chassis codes named in free text, in order ("dd51t", "KS-4", "V-HA4" count; a Showa
    year such as "S60年式" does not)."""
    if not text:
        return ()
    candidates = _CODE_CANDIDATE.findall(text)
    if not candidates:
        return ()
    codes = [c.upper().replace("-", "") for c in candidates]
    return tuple(code for code in codes if code in _TEXT_CODES)


# --- dates --------------------------------------------------------------------------------------

_MONTHS = {
    m: i
    for i, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for m in names
}
_MONTH_WORD = (
    r"(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_ERA_BY_LETTER = {e.letter: e for e in tables.eras()}
_ERA_BY_KANJI = {e.kanji: e for e in tables.eras()}
_KANJI_ERAS = "|".join(_ERA_BY_KANJI)
_ERA_LETTER_DATE = re.compile(
    r"^(?P<era>[MTSHR])\s*(?P<y>\d{1,2})(?:\s*[./\-]\s*(?P<m>\d{1,2})(?:\s*[./\-]\s*\d{1,2})?)?"
    r"\s*(?:年式?)?$",
    re.IGNORECASE,
)
_ERA_KANJI_DATE = re.compile(
    rf"(?P<era>{_KANJI_ERAS})\s*(?P<y>元|\d{{1,2}})\s*年(?:\s*(?P<m>\d{{1,2}})\s*月)?"
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


_NO_DATE = YearMonthValue(None, None)


def _two_digit_year(yy: int) -> int | None:
    """'96 -> 1996, '05 -> 2005; 31-59 are not kei-truck years and stay unknown."""
    if yy >= 60:
        return 1900 + yy
    if yy <= 30:
        return 2000 + yy
    return None


def _era_date(era: tables.Era | None, y: str, m: str | None) -> YearMonthValue:
    if era is None:
        return _NO_DATE
    era_year = 1 if y == "元" else int(y)
    if era_year < 1:
        return _NO_DATE
    year = era.offset + era_year
    month = int(m) if m else None
    if month is not None and not 1 <= month <= 12:
        return _NO_DATE
    if not era.contains(year, month):
        return _NO_DATE
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
        return _NO_DATE
    if m := _ERA_KANJI_DATE.search(text):
        return _era_date(_ERA_BY_KANJI.get(m.group("era")), m.group("y"), m.group("m"))
    if m := _ERA_LETTER_DATE.match(text):
        return _era_date(_ERA_BY_LETTER.get(m.group("era").upper()), m.group("y"), m.group("m"))
    if m := _YEAR_ONLY.match(text):
        return YearMonthValue(int(m.group("y")), None)
    if m := _YEAR_MONTH.match(text):
        month = int(m.group("m"))
        return YearMonthValue(int(m.group("y")), month) if _month_ok(month) else _NO_DATE
    if m := _YEAR_MONTH_WORD.match(text) or _MONTH_WORD_YEAR.match(text):
        return YearMonthValue(int(m.group("y")), _MONTHS[m.group("mon").lower().rstrip(".")])
    if m := _MONTH_YEAR.match(text):
        month = int(m.group("m"))
        return YearMonthValue(int(m.group("y")), month) if _month_ok(month) else _NO_DATE
    if m := _APOSTROPHE_YEAR.match(text):
        return YearMonthValue(_two_digit_year(int(m.group("yy"))), None)
    return _NO_DATE


def normalize_year(raw: Any) -> int | None:
    """The year of a date field (see ``normalize_date``)."""
    return normalize_date(raw).year


_TEXT_YEAR = re.compile(
    r"(?P<kanji>(?:" + _KANJI_ERAS + r")\s*(?:元|\d{1,2})\s*年(?:\s*\d{1,2}\s*月)?)"
    r"|(?<![A-Za-z0-9])(?P<letter>[SHR]\s?\d{1,2}(?:\s*年|(?:\.\d{1,2}){1,2}(?![\d.])))"
    r"|(?<![A-Za-z0-9$.,:#/\-])(?P<four>(?:19[5-9]\d|20[0-4]\d))"
    r"(?![\d]|,\d|\s*(?:cc|km|kms|mi|miles?|lbs?|kg|hours?|hrs?)\b)"
    r"|(?<![\w'’])(?P<apos>['’‘`]\d{2})(?![\d\w])",
    re.IGNORECASE,
)
_LEADING_TWO_DIGITS = re.compile(r"^\s*(\d{2})\s+(?=\S)")


@_text_cache(maxsize=1 << 14)
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
            return int(m.group("four"))
        found = m.group().replace(" ", "")
        value = normalize_date(found if m.group("kanji") else found.rstrip("年"))
        if value.year:
            return value.year
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


@_text_cache(maxsize=1 << 12)
def build_date_in_text(text: str | None) -> YearMonthValue:
    """A build month stated in prose ("Build date on the plate: 10/2000"), else (None, None)."""
    if not text:
        return _NO_DATE
    lowered = text.lower()
    if not any(word in lowered for word in _BUILD_TRIGGERS):
        return _NO_DATE
    m = _BUILD_PHRASE.search(text)
    if not m:
        return _NO_DATE
    value = normalize_date(m.group("date"))
    return value if value.month else _NO_DATE


# --- drive --------------------------------------------------------------------------------------

_DRIVE = _terms_by_value("drive")
_DRIVE_STRUCTURED = _terms_by_value("drive", ("any", "structured"))
_NEGATED_4WD = r"(?:not|isn'?t|is not|non|no|never|without)[\s-]+(?:an?\s+|been\s+)?(?:%s)"
_DRIVE_STRUCT = _Scanner(
    [
        ("2wd", _NEGATED_4WD % _DRIVE_STRUCTURED["4wd"]),
        ("4wd", _DRIVE_STRUCTURED["4wd"]),
        ("2wd", _DRIVE_STRUCTURED["2wd"]),
    ]
)
_DRIVE_SWITCH = re.compile(
    r"(?:2\s?wd|2h)\s*(?:/|-|to|and|or|&|<->|⇔)\s*(?:4\s?wd|4x4|4h)"
    r"|(?:4\s?wd|4x4|4h)\s*(?:/|-|to|and|or|&|<->|⇔)\s*(?:2\s?wd|2h)",
    re.IGNORECASE,
)
_SWITCH_WORDS = re.compile(
    ASCII_LEFT + r"(?:switch\w*|selector|select\w*|lever|shift\w*|engag\w*|button)"
    r"|切替|切り替え",
    re.IGNORECASE,
)


@_text_cache(maxsize=1 << 14)
def scan_drive(text: str | None, structured: bool = False) -> bool | str | None:
    """True (4WD words), False (2WD words or a negated 4WD), "conflict" (both), None (silent)."""
    return _scan_drive(text, structured)


def _scan_drive(text: str | None, structured: bool) -> bool | str | None:
    if not text:
        return None
    found = set(_DRIVE_STRUCT.found(text)) if structured else _drive_words(text)
    if len(found) == 2 and _SWITCH_WORDS.search(text) and _DRIVE_SWITCH.search(text):
        rest = _DRIVE_SWITCH.sub(" ", text)  # "2WD/4WD switch": a 4WD truck
        found = {"4wd"} | (set(_DRIVE_STRUCT.found(rest)) if structured else _drive_words(rest))
    if len(found) == 2:
        return "conflict"
    if "4wd" in found:
        return True
    return False if found else None


def normalize_drive(raw: Any) -> bool | None:
    """is_4wd from a drive field ('4WD', '4wheel drive', 'rwd', a schema.org drive URL):
    True, False, or None when silent or contradictory."""
    value = scan_drive(clean_text(raw), True)
    return value if isinstance(value, bool) else None


def drive_features(text: str | None) -> bool:
    """Whether the text names a feature only 4WD trucks have (hi/lo transfer, diff lock)."""
    return "4wd" in field_words(text, "feature")


# --- transmission -------------------------------------------------------------------------------

_TRANS = _terms_by_value("transmission")
_TRANS_STRUCTURED = _terms_by_value("transmission", ("any", "structured"))
_TRANS_STRUCT = _Scanner(
    [("automatic", _TRANS_STRUCTURED["automatic"]), ("manual", _TRANS_STRUCTURED["manual"])]
)


@_text_cache(maxsize=1 << 14)
def scan_transmission(text: str | None, structured: bool = False) -> str | None:
    """ "manual", "automatic", "conflict" (both named) or None. Automatic phrases are tried
    first, so "3 speed auto" is not also read as a "3 speed" manual."""
    return _scan_transmission(text, structured)


def _scan_transmission(text: str | None, structured: bool) -> str | None:
    if not text:
        return None
    found = set(_TRANS_STRUCT.found(text)) if structured else field_words(text, "trans")
    if len(found) == 2:
        return "conflict"
    return next(iter(found)) if found else None


def normalize_transmission(raw: Any) -> str | None:
    """ "manual" / "automatic" from a transmission field ('5MT', 'Five-Speed Manual', '3AT',
    'ECVT', 'マニュアル'), None when silent or contradictory."""
    value = scan_transmission(clean_text(raw), True)
    return None if value == "conflict" else value


# --- engine -------------------------------------------------------------------------------------

_CC = re.compile(
    r"(?<![\d.,])(?P<cc>\d{2,4})\s*(?:cc|cm3|cm³|c\.c\.)"
    + ASCII_RIGHT
    + r"|(?<![\d.])(?P<l>\d\.\d{1,2})\s*(?:l|liters?|litres?)"
    + ASCII_RIGHT,
    re.IGNORECASE,
)


_LITRES_HINT = re.compile(r"\d\s?l")


@_text_cache(maxsize=1 << 14)
def normalize_engine_cc(raw: Any) -> int | None:
    """Displacement in cc from text such as '660cc', '656cc E07A Inline-Three', '0.66L'."""
    return _engine_cc(clean_text(raw))


def _engine_cc(text: str | None) -> int | None:
    """``normalize_engine_cc`` of a text already cleaned."""
    if not text:
        return None
    lowered = text.lower()
    if "cc" not in lowered and "cm" not in lowered and not _LITRES_HINT.search(lowered):
        return None
    m = _CC.search(text)
    if not m:
        return None
    cc = int(m.group("cc")) if m.group("cc") else round(float(m.group("l")) * 1000)
    return cc if 40 <= cc <= 9000 else None


# --- body and kind ------------------------------------------------------------------------------

_BODY_ORDER = (
    "fire_truck",
    "scissor_lift",
    "crane",
    "refrigerated_box",
    "box",
    "deck_van",
    "dump",
    "crawler",
    "canopy",
    "van",
)


@_text_cache(maxsize=1 << 14)
def normalize_body(text: Any) -> str | None:
    """The most specific body named: fire_truck, scissor_lift, crane, refrigerated_box, box,
    deck_van, dump, crawler, canopy or van; None when the text names none."""
    return _body_in(clean_text(text))


def _body_in(text: str | None) -> str | None:
    """``normalize_body`` of a text already cleaned."""
    found = field_words(text, "body")
    return min(found, key=_BODY_ORDER.index) if found else None


@_text_cache(maxsize=1 << 14)
def normalize_cab(text: Any) -> str | None:
    """ "jumbo" (extended cab: Hijet Jumbo, Super Carry), "high_roof", or None."""
    return _cab_in(clean_text(text))


def _cab_in(text: str | None) -> str | None:
    """``normalize_cab`` of a text already cleaned."""
    found = field_words(text, "cab")
    if "jumbo" in found:
        return "jumbo"
    return "high_roof" if "high_roof" in found else None


_KIND = _terms_by_value("kind")
_WANTED_START = re.compile(
    r"^\W*(?:" + _terms_by_value("kind", "title_start")["wanted"] + ")" + ASCII_RIGHT, re.I
)
_PARTS_NOUN = _KIND["parts_noun"]
#: "new tires", "needs clutch": a vehicle described by a part, not a part for sale.
_NOT_FOR_SALE_BEFORE = re.compile(
    r"(?<![a-z])(?:new|with|w/|good|nice|clean|and|needs|need|bad|rebuilt|fresh|replaced|no)\s$"
)
_FIELD_GROUPS = {
    "drive": [
        ("drive:2wd", _NEGATED_4WD % _DRIVE["4wd"]),
        ("drive:4wd", _DRIVE["4wd"]),
        ("drive:2wd", _DRIVE["2wd"]),
    ],
    "feature": [("feature:4wd", _terms("drive_feature"))],
    "trans": [("trans:automatic", _TRANS["automatic"]), ("trans:manual", _TRANS["manual"])],
    "body": [(f"body:{v}", _terms_by_value("body").get(v)) for v in _BODY_ORDER],
    "cab": [(f"cab:{v}", p) for v, p in _terms_by_value("cab").items()],
    "kind": [
        ("kind:toy", _KIND["toy"]),
        ("kind:wanted", _KIND["wanted"]),
        ("kind:parts", _KIND["parts"]),
        ("kind:kei_truck", _KIND["kei_truck"]),
        ("kind:kei_van", _KIND["kei_van"]),
        ("kind:kei_truck_ambiguous", _KIND["kei_truck_ambiguous"]),
        ("kind:other_vehicle", _KIND["other_vehicle"]),
        ("kind:parts_noun", _PARTS_NOUN),
    ],
}
_REJECT = {"kind:parts_noun": _NOT_FOR_SALE_BEFORE}
_FIELD_SCANNERS = {
    field: _Scanner(groups, reject_before=_REJECT) for field, groups in _FIELD_GROUPS.items()
}
#: Every word list in one pass, for short texts (titles) that need them all. Where two could
#: match at the same place the earlier group wins ("3 speed auto" is automatic).
_ALL_FIELDS = _Scanner(
    [
        *_FIELD_GROUPS["drive"][:1],
        *_FIELD_GROUPS["kind"][:3],
        *_FIELD_GROUPS["drive"][1:],
        *_FIELD_GROUPS["feature"],
        *_FIELD_GROUPS["trans"],
        *_FIELD_GROUPS["body"],
        *_FIELD_GROUPS["cab"],
        *_FIELD_GROUPS["kind"][3:],
    ],
    reject_before=_REJECT,
)
#: Texts up to this length are read for every field at once; longer ones field by field.
_SHORT_TEXT = 100


def field_words(text: str | None, field: str) -> frozenset[str]:
    """The values of one field a text names, e.g. {"4wd"} for "drive", {"dump"} for "body".
    A short text (a title) is read for every field at once and the result kept; a long one
    (a description) only for the field asked."""
    if not text:
        return _NO_WORDS
    if len(text) <= _SHORT_TEXT:
        return _all_words(text).get(field, _NO_WORDS)
    return _one_field_words(text, field)


_NO_WORDS: frozenset[str] = frozenset()


@lru_cache(maxsize=1 << 15)
def _all_words(text: str) -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {}
    for word in _ALL_FIELDS.found(text):
        field, value = _FIELD_AND_VALUE[word]
        if field in out:
            out[field].add(value)
        else:
            out[field] = {value}
    return {field: frozenset(values) for field, values in out.items()}


#: "drive:4wd" -> ("drive", "4wd"), for every value ``_ALL_FIELDS`` can name.
_FIELD_AND_VALUE = {
    word: tuple(word.split(":", 1)) for word in _ALL_FIELDS.value_of if word is not None
}


@_text_cache(maxsize=1 << 15)
def _one_field_words(text: str, field: str) -> frozenset[str]:
    return frozenset(word.partition(":")[2] for word in _FIELD_SCANNERS[field].found(text))


def _drive_words(text: str) -> set[str]:
    return set(field_words(text, "drive"))


_PARTS_RE = _bounded(_KIND["parts"])
#: Makes whose own kei trucks are sold under that badge; "mini truck" with them means kei.
KEI_TRUCK_MAKES = frozenset({"Suzuki", "Honda", "Daihatsu", "Subaru"})


def normalize_kind(
    title: Any,
    *,
    model: str | None = None,
    make: str | None = None,
    model_code: str | None = None,
    has_year: bool = False,
) -> str | None:
    """What the listing is: toy, wanted, parts, kei_van, kei_truck or other_vehicle, from the
    title and the make/model/code already found. None when it cannot be told."""
    return _kind(
        clean_text(title) or "", model=model, make=make, model_code=model_code, has_year=has_year
    )


def _kind(
    text: str,
    *,
    model: str | None,
    make: str | None,
    model_code: str | None,
    has_year: bool,
) -> str | None:
    """``normalize_kind`` of a title already cleaned."""
    words = field_words(text, "kind")
    if "toy" in words:
        return "toy"
    if "wanted" in words or _WANTED_START.search(text):
        return "wanted"
    if "parts" in words or ("parts_noun" in words and not _vehicle_words(text, has_year)):
        return "parts"
    code = _MODEL_CODES.get(model_code or "")
    info = _MODEL_INFO.get(model or "")
    model_kind = info["kind"] if info else ("other" if model else None)
    if model_kind == "van" or (code and code.kind == "van"):
        return "kei_van"
    if model_kind == "truck" or (code and not model):
        van_word = (
            "kei_van" in words
            or _body_in(text) in ("van", "deck_van")
            or any(m.alias.category == "van_model" for m in mentions(text))
        )
        return "kei_van" if van_word else "kei_truck"
    if model_kind == "other":
        return "other_vehicle"
    if "kei_truck" in words:
        return "kei_truck"
    if "kei_van" in words:
        return "kei_van"
    if "kei_truck_ambiguous" in words and (make is None or make in KEI_TRUCK_MAKES):
        return "kei_truck"
    if "other_vehicle" in words or (make and make not in _KEI_MAKES):
        return "other_vehicle"
    return None


def _vehicle_words(text: str, has_year: bool) -> bool:
    """Whether a title reads as a whole vehicle: a year, drive words, a mileage, "kei truck"."""
    return (
        has_year
        or scan_drive(text) is not None
        or mileage_in_text(text).miles is not None
        or not field_words(text, "kind").isdisjoint(_KEI_CONTEXT_WORDS)
    )


_KEI_CONTEXT_WORDS = frozenset({"kei_truck", "kei_truck_ambiguous"})


_KEI_MAKES = frozenset(a.make for a in tables.aliases() if a.category in ("make", "badge"))


# --- mileage ------------------------------------------------------------------------------------

_MILEAGE_UNKNOWN = re.compile(
    ASCII_LEFT + r"(?:tmu|unknown|not actual|exempt|n/?a)" + ASCII_RIGHT + r"|不明", re.I
)
_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d{1,3}(?:\.\d{3})+(?![\d,])|\d+(?:\.\d+)?"
_MILEAGE = re.compile(
    rf"(?<![\d.,])(?P<num>{_NUMBER})\s*(?P<mult>k|万)?\s*-?\s*"
    r"(?P<unit>kilometers?|kilometres?|kms?|キロ|miles?|mi|マイル)?" + ASCII_RIGHT,
    re.IGNORECASE,
)
#: ``_NUMBER`` without its first digit. A pattern that begins by taking a plain digit (and checks
#: what comes before it only then) lets CPython's re skip straight from digit to digit in prose.
_NUMBER_AFTER_DIGIT = r"\d{0,2}(?:,\d{3})+(?:\.\d+)?|\d{0,2}(?:\.\d{3})+(?![\d,])|\d*(?:\.\d+)?"
_MILEAGE_IN_TEXT = re.compile(
    rf"(?P<num>\d(?<![\d.,$]\d)(?:{_NUMBER_AFTER_DIGIT}))\s*(?P<mult>k|万)?\s*-?\s*"
    r"(?P<unit>kilometers?|kilometres?|kms?|キロ|miles?|マイル)"
    + ASCII_RIGHT
    + r"(?!\s*(?:/|per\b|an? hour|away|from|radius|round))",
    re.IGNORECASE,
)


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


@lru_cache(maxsize=1 << 14)
def scan_mileage(raw: Any, unitless_miles: bool = False) -> MileageValue:
    """Mileage of a mileage/odometer field in miles. A number without a unit is miles only when
    ``unitless_miles`` (the source defines the field in miles); km are converted."""
    text = clean_text(raw)
    if not text:
        return MileageValue(None, False)
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


_MILEAGE_STATED_UNKNOWN = re.compile(r"走行(?:距離)?\s*[:：]?\s*不明")
_MILEAGE_TRIGGERS = ("km", "kilomet", "mile", "キロ", "マイル", "走行")
_ODOMETER_BEFORE = re.compile(r"(?:odometer|odo|mileage|shows|reads|only|走行(?:距離)?)\W*$", re.I)


@_text_cache(maxsize=1 << 14)
def mileage_in_text(text: str | None) -> MileageValue:
    """Miles from prose ("61,200 km on it", "12k-Mile 1995 ..."): only numbers with a unit, and
    small ones (a distance, not an odometer) only after "odometer", "mileage", "shows"... Two
    readings that disagree by more than 5% give None."""
    if not text:
        return MileageValue(None, False)
    lowered = text.lower()
    if not any(unit in lowered for unit in _MILEAGE_TRIGGERS):
        return MileageValue(None, False)
    values = [
        v
        for m in _MILEAGE_IN_TEXT.finditer(text)
        if (v := _to_miles(m.group("num"), m.group("mult"), m.group("unit"))) is not None
        and (v >= 600 or _ODOMETER_BEFORE.search(text[max(0, m.start() - 24) : m.start()]))
    ]
    if not values:
        if _MILEAGE_STATED_UNKNOWN.search(text):
            return MileageValue(None, True)
        return MileageValue(None, False)
    first = values[0]
    if any(abs(v - first) > 0.05 * max(first, 1) for v in values[1:]):
        return MileageValue(None, False)
    return MileageValue(first, False)


# --- price --------------------------------------------------------------------------------------

_PRICE_TERMS = _terms_by_value("price", ("any",))
_ON_REQUEST = _bounded(_PRICE_TERMS["on_request"])
_PRICE_AFTER = {
    t.value: re.compile(r"^\s*(?:" + t.pattern + ")" + ASCII_RIGHT, re.I)
    for t in tables.terms()
    if t.field == "price" and t.scope == "after"
}
_PRICE_BEFORE = {
    t.value: re.compile(r"(?:" + t.pattern + r")\s*[:：]?\s*$", re.I)
    for t in tables.terms()
    if t.field == "price" and t.scope == "before"
}
_CURRENCY_WORDS = {
    "$": "USD",
    "US$": "USD",
    "USD": "USD",
    "US": "USD",
    "U$S": "USD",
    "¥": "JPY",
    "円": "JPY",
    "JPY": "JPY",
    "YEN": "JPY",
    "€": "EUR",
    "EUR": "EUR",
    "£": "GBP",
    "GBP": "GBP",
    "C$": "CAD",
    "CAD": "CAD",
    "CA$": "CAD",
    "A$": "AUD",
    "AU$": "AUD",
    "AUD": "AUD",
    "DOLLAR": "USD",
    "DOLLARS": "USD",
}
_AMOUNT = re.compile(
    r"(?P<cur>US\s?\$|USD|JPY|¥|\$)?\s?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"\s?(?P<mult>k|万)?(?P<yen>\s?円)?" + ASCII_RIGHT,
    re.IGNORECASE,
)
_PLACEHOLDER_AMOUNTS = frozenset(
    {0, 1, 12, 123, 1234, 12345, 123456, 1234567, 12345678, 123456789, 1234567890}
)


class PriceValue(NamedTuple):
    price: int | None
    currency: str | None
    #: why there is no price: on_request, monthly, down, placeholder, implausible, unparsed.
    problem: str | None


_NO_PRICE = PriceValue(None, None, None)


def _currency_of(symbol: str | None) -> str | None:
    if not symbol:
        return None
    key = symbol.upper().replace(" ", "")
    return _CURRENCY_WORDS.get(key) or _CURRENCY_WORDS.get(key.rstrip("$") + "$")


def _is_placeholder(amount: int) -> bool:
    digits = str(amount)
    return amount in _PLACEHOLDER_AMOUNTS or (len(digits) >= 5 and len(set(digits)) == 1)


_DOLLARS_AFTER = re.compile(r"\s*(?:us\s+|american\s+)?dollars?\b", re.I)


@lru_cache(maxsize=1 << 14)
def normalize_price(raw: Any, currency_hint: str | None = None) -> PriceValue:
    """(price, currency, problem) of a price field, read with price-parser: "$5,500 OBO" -> 5500
    USD, "5.5k" -> 5500, "Sold for USD $9,250 on 3/14/25" -> 9250 USD, "28万円" -> 280000 JPY.
    No price for "call for price", "ASK", monthly payments ("$199/mo"), deposits ("$500 down")
    and placeholders ("$1", "$0", "$123456789"); ``problem`` then names the reason."""
    text = clean_text(raw)
    if not text:
        return _NO_PRICE
    amount_match = _AMOUNT.search(text)
    if amount_match is None:
        problem = "on_request" if _ON_REQUEST.search(text) else "unparsed"
        return PriceValue(None, None, problem)
    after = text[amount_match.end() :]
    before = text[: amount_match.start()]
    for reason in ("monthly", "down"):
        if _PRICE_AFTER[reason].search(after) or _PRICE_BEFORE[reason].search(before):
            return PriceValue(None, None, reason)
    parsed = Price.fromstring(text[max(0, amount_match.start() - 8) :])
    amount = parsed.amount
    if amount is None:
        return PriceValue(None, None, "unparsed")
    mult = amount_match.group("mult")
    if mult:
        amount *= 10000 if mult == "万" else 1000
    value = int(amount.to_integral_value())
    currency = (
        _currency_of(parsed.currency)
        or _currency_of(amount_match.group("cur"))
        or ("JPY" if amount_match.group("yen") or mult == "万" else None)
        or ("USD" if _DOLLARS_AFTER.match(after) else None)
        or _currency_of(clean_text(currency_hint))
    )
    if _is_placeholder(value):
        return PriceValue(None, currency, "placeholder")
    return PriceValue(value, currency, None)


_TITLE_PRICE = re.compile(
    r"(?:US\s?\$|\$)\s?\d[\d,]*(?:\.\d+)?\s?k?"
    + ASCII_RIGHT
    + r"|(?<![\w$.])\d+(?:\.\d+)?\s?k(?=\s*(?:firm|obo|o\.b\.o|or best|cash|neg))",
    re.IGNORECASE,
)
_ANCHORED_PRICE = re.compile(
    r"(?:asking|price(?:d)?(?: is| at)?|selling (?:it )?for|sell(?:ing)? for|want(?:ing)?|"
    r"firm at|now|本体価格|車両価格|価格)\s*[:：]?\s*"
    r"(?P<amount>(?:US\s?\$|\$|¥)?\s?\d[\d,]*(?:\.\d+)?\s?(?:k|万円|円)?)"
    + ASCII_RIGHT
    + r"|(?P<amount2>(?:US\s?\$|\$)?\s?\d[\d,]*(?:\.\d+)?\s?k?)"
    + r"\s*(?:obo|o\.b\.o|firm|or best offer)"
    + ASCII_RIGHT,
    re.IGNORECASE,
)


_MONEY_MARK = re.compile(r"\$|k\b|円|万|¥|,\d{3}", re.I)


@_text_cache(maxsize=1 << 12)
def price_in_text(
    text: str | None, currency_hint: str | None = None, anchored_only: bool = False
) -> PriceValue:
    """A price stated in a title or description when the page has no price field: "$4,950",
    "6k firm", "Asking 5.5k". With ``anchored_only`` (descriptions) only amounts next to
    "asking", "price", "OBO", "firm" count, so "$400 of new tires" is ignored; two different
    amounts give None."""
    if not text:
        return _NO_PRICE
    candidates = [m.group("amount") or m.group("amount2") for m in _ANCHORED_PRICE.finditer(text)]
    candidates = [c for c in candidates if c and _MONEY_MARK.search(c)]
    if not candidates and not anchored_only:
        candidates = [m.group() for m in _TITLE_PRICE.finditer(text)]
        for m in _TITLE_PRICE.finditer(text):
            after = text[m.end() :]
            if any(_PRICE_AFTER[r].search(after) for r in ("monthly", "down")):
                candidates.remove(m.group())
    values = {normalize_price(c, currency_hint) for c in candidates}
    values = {v for v in values if v.price is not None}
    if len({v.price for v in values}) != 1:
        if not candidates and _ON_REQUEST.search(text):
            return PriceValue(None, None, "on_request")
        return PriceValue(None, None, "ambiguous" if values else None)
    return values.pop()


def to_usd(
    price: int | None,
    currency: str | None,
    on: dt.date | None,
    *,
    config: Mapping | None = None,
) -> int | None:
    """Whole US dollars, using the dated FX table (user-editable) and config ``[fx]`` as the
    fallback. None when the currency or its rate is unknown."""
    if price is None or not currency:
        return None
    if currency == "USD":
        return price
    rate = _rate(currency, on, _fx_table_path(config), _fx_fallback_key(config))
    return round(price * rate) if rate else None


def _fx_table_path(config: Mapping | None) -> str | None:
    return ((config or {}).get("normalize") or {}).get("fx_table")


def _fx_fallback_key(config: Mapping | None) -> tuple:
    fx = (config or {}).get("fx") or {}
    return tuple(sorted((str(k).upper(), v) for k, v in fx.items()))


@lru_cache(maxsize=1 << 12)
def _rate(currency: str, on: dt.date | None, path: str | None, fallback: tuple) -> float | None:
    rates = tables.load_fx_rates(path) if path else None
    return tables.fx_rate(currency, on, rates=rates, fallback=dict(fallback))


def normalize_price_band(price_usd: int | None, band: Mapping | None = None) -> str | None:
    """ "below", "in" or "above" the configured band (inclusive ends), None without a price."""
    if price_usd is None:
        return None
    band = band or DEFAULT_BAND
    if price_usd < band["low"]:
        return "below"
    return "above" if price_usd > band["high"] else "in"


# --- status -------------------------------------------------------------------------------------

_STATUS = {value: _bounded(p) for value, p in _terms_by_value("status").items()}


_SOLD_FOR = re.compile(r"^\s*sold for\b", re.I)
_BID_TO = re.compile(r"^\s*bid to\b", re.I)


@lru_cache(maxsize=1 << 12)
def normalize_status(status_raw: Any = None, price_basis: Any = None, price_raw: Any = None) -> str:
    """ "sold", "ended" or "active": the page's own status word first ("SOLD", "live"), then the
    price basis (sold -> sold, bid_to -> ended), then a "Sold for"/"Bid to" price text."""
    return _status(status_raw, price_basis, price_raw)


def _status(status_raw: Any, price_basis: Any, price_raw: Any) -> str:
    status = _stated_status(status_raw, price_basis)
    price = clean_text(price_raw)
    if status:
        return status
    if price and _SOLD_FOR.match(price):
        return "sold"
    if price and _BID_TO.match(price):
        return "ended"
    return "active"


@lru_cache(maxsize=1 << 12)
def _stated_status(status_raw: Any, price_basis: Any) -> str | None:
    """The status the page's own status word or the price basis states, else None."""
    for text in (clean_text(status_raw), clean_text(price_basis)):
        if not text:
            continue
        lowered = text.lower()
        if lowered in ("bid_to", "bid to"):
            return "ended"
        for value in ("sold", "ended", "active"):
            if _STATUS[value].search(lowered):
                return value
    return None


# --- eligibility --------------------------------------------------------------------------------


class Eligibility(NamedTuple):
    eligible_25y: bool | None
    eligible_from: str | None
    basis: str | None


_NO_ELIGIBILITY = Eligibility(None, None, None)


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


def normalize_eligibility(
    year: int | None, month: int | None, basis: str | None, as_of: dt.datetime | None
) -> Eligibility:
    """The US 25-year rule as of the UTC month of ``as_of``. With a month: eligible when
    (year + 25, month) <= (as-of year, month), and ``eligible_from`` is that month. With a year
    only: True when year + 25 < as-of year, False when greater, None in the boundary year."""
    if year is None or as_of is None:
        return _NO_ELIGIBILITY
    due = year + 25
    if month:
        eligible = (due, month) <= (as_of.year, as_of.month)
        return Eligibility(eligible, f"{due:04d}-{month:02d}", basis)
    if due == as_of.year:
        return Eligibility(None, None, basis)
    return Eligibility(due < as_of.year, None, basis)


def eligibility_from_code(code: str | None, as_of: dt.datetime | None) -> Eligibility:
    """Eligibility from a chassis code's production window when the year is unknown: True when
    the whole window is 25+ years old, False when it began less than 25 years ago."""
    info = tables.model_codes().get(code or "")
    if info is None or not info.window_trusted or as_of is None:
        return _NO_ELIGIBILITY
    now = (as_of.year, as_of.month)
    if info.end and (info.end[0] + 25, info.end[1]) <= now:
        return Eligibility(True, None, "model_code_window")
    if (info.start[0] + 25, info.start[1]) > now:
        return Eligibility(False, None, "model_code_window")
    return _NO_ELIGIBILITY


# --- the listing --------------------------------------------------------------------------------

_MAKE_KEYS = ("make", "brand", "brandname", "manufacturer", "メーカー", "automake")
_MODEL_KEYS = ("model", "車名", "車種", "automodel")
_MAKEMODEL_KEYS = ("makemodel", "makeandmodel", "automakemodel", "vehicle")
_CODE_KEYS = ("modelcode", "型式", "chassiscode", "modelno", "typecode")
_FRAME_KEYS = (
    "chassis",
    "chassisno",
    "chassisnumber",
    "車台番号",
    "frame",
    "frameno",
    "framenumber",
    "vin",
    "vinvehicleidentificationnumber",
    "vehicleidentificationnumber",
    "autovin",
)
_BUILD_KEYS = (
    "manufactureyearmonth",
    "manufactureyear",
    "manufacturedate",
    "dateofmanufacture",
    "productiondate",
    "builddate",
    "製造年月",
    "製造年",
)
_REGISTRATION_KEYS = (
    "registrationyearmonth",
    "registrationyear",
    "firstregistration",
    "firstregistrationdate",
    "registrationdate",
    "初度登録年月",
    "初度検査年月",
    "datevehiclefirstregistered",
    "年式",
)
_MODEL_YEAR_KEYS = ("year", "modelyear", "vehiclemodeldate", "autoyear")
_MILEAGE_KEYS = (
    "mileage",
    "odometer",
    "走行距離",
    "mileagefromodometer",
    "mileagefromodometervalue",
    "automiles",
    "kilometers",
    "kilometres",
)
_UNITLESS_MILES_KEYS = {"craigslist": ("odometer", "automiles"), "ebay": ("mileage",)}
_DRIVE_KEYS = (
    "drive",
    "drivetype",
    "drivetrain",
    "drivewheelconfiguration",
    "駆動",
    "駆動方式",
    "autodrivetrain",
    "drivesystem",
)
_TRANSMISSION_KEYS = (
    "transmission",
    "vehicletransmission",
    "ミッション",
    "変速機",
    "transmissiontype",
    "autotransmission",
    "gearbox",
    "シフト",
)
_ENGINE_KEYS = (
    "enginesize",
    "engine",
    "enginecapacity",
    "displacement",
    "排気量",
    "enginedisplacement",
    "vehicleengineenginedisplacement",
    "vehicleengine",
)
_BODY_KEYS = ("type", "bodytype", "body", "bodystyle", "ボディタイプ", "autobodytype")


#: The site labels the normalizer reads, by what they hold, most trusted label first.
_ATTRIBUTE_GROUPS = {
    "make": _MAKE_KEYS,
    "model": _MODEL_KEYS,
    "makemodel": _MAKEMODEL_KEYS,
    "code": _CODE_KEYS,
    "frame": _FRAME_KEYS,
    "build": _BUILD_KEYS,
    "registration": _REGISTRATION_KEYS,
    "model_year": _MODEL_YEAR_KEYS,
    "mileage": _MILEAGE_KEYS,
    "unit_code": ("mileagefromodometerunitcode",),
    "drive": _DRIVE_KEYS,
    "transmission": _TRANSMISSION_KEYS,
    "engine": _ENGINE_KEYS,
    "body": _BODY_KEYS,
    "title_status": ("titlestatus",),
}
_GROUP_OF_KEY = {
    key: (group, rank) for group, keys in _ATTRIBUTE_GROUPS.items() for rank, key in enumerate(keys)
}


class _Raw:
    """One raw listing, read once: its text fields cleaned, the attributes the normalizer reads
    grouped by what they hold (other attributes are never touched), and the description without
    the sentences about other vehicles."""

    __slots__ = ("raw", "source", "title", "description_raw", "description", "groups", "attrs")

    def __init__(self, raw: Mapping):
        self.raw = raw
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
        """A raw text field, cleaned when it is read (None when missing)."""
        value = self.raw.get(name)
        return None if value is None else clean_text(value)

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
    key = _key(label)
    found = _GROUP_OF_KEY.get(key)
    return (found[0], found[1], key) if found else None


class _Result:
    __slots__ = ("fields", "notes")

    def __init__(self):
        self.fields: dict[str, Any] = dict(_EMPTY_FIELDS)
        self.notes: list[str] = []

    def note(self, field: str, reason: str) -> None:
        self.notes.append(f"{field}:{reason}")


#: A result before any field is known (the normalized fields, then ``cab``).
_EMPTY_FIELDS = dict.fromkeys((*NORMALIZED_FIELDS, "cab"))


def _settings(config: Mapping | None) -> tuple[Mapping, Mapping]:
    if not config:
        return DEFAULT_BAND, NORMALIZE_DEFAULTS
    band = config.get("band") or DEFAULT_BAND
    options = {**NORMALIZE_DEFAULTS, **(config.get("normalize") or {})}
    return band, options


def _joined(first: str | None, second: str | None) -> str | None:
    """Two optional texts as one, space-separated (None when neither is there)."""
    if first and second:
        return f"{first} {second}"
    return first or second


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
    info = _MODEL_INFO.get(model)
    return bool(info and info["code_decides_name"])


@lru_cache(maxsize=256)
def _make_of(model: str | None) -> str | None:
    info = _MODEL_INFO.get(model or "")
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
    for sentence in _SENTENCE_SPLIT.split(text):
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
            info = _MODEL_CODES.get(code)
            if info and make and info.make != make:
                res.note("model_code", "make_conflict")
            return code
    for _, _, value in r.attr_items("frame"):
        code = normalize_model_code(value)
        if code and ("-" in value or code in _MODEL_CODES):
            return code
    for text in (r.title, r.description):
        for code in find_model_codes(text) if text else ():
            if make is None or _MODEL_CODES[code].make == make:
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
        japanese = exporter or bool(_ERA_KANJI_DATE.search(r.title or ""))
        return YearMonthValue(year, None), "registration_year" if japanese else "model_year"
    if m := _ERA_NENSHIKI.search(r.description_raw or ""):
        value = normalize_date(m.group())
        if value.year:
            return YearMonthValue(value.year, None), "registration_year"
    return _NO_DATE, None


_PADDED_YEAR = re.compile(r"-01-01(?:T|$)")
_ERA_NENSHIKI = re.compile(rf"(?:{_KANJI_ERAS})\s*(?:元|\d{{1,2}})\s*年式")


def _drive(r: _Raw, code: str | None, make: str | None, res: _Result) -> bool | None:
    """is_4wd from the drive fields, then the title, then the description, then drive-only
    features, then a chassis code whose drive is certain."""
    structured = _joined(r.get("drive_raw"), r.attrs.get("drive"))
    value = scan_drive(structured, True) if structured else None
    if value is None and r.title:
        value = _scan_drive(r.title, False)
    if value is None and r.description:
        value = _scan_drive(r.description, False)
    if value == "conflict":
        res.note("is_4wd", "conflict")
        return None
    if value is not None:
        return value
    if drive_features(r.title) or drive_features(r.description):
        return True
    info = _MODEL_CODES.get(code or "")
    if info and (make is None or info.make == make):
        return info.certain_4wd
    return None


def _transmission(r: _Raw, res: _Result) -> str | None:
    structured = _joined(r.get("transmission_raw"), r.attrs.get("transmission"))
    value = scan_transmission(structured, True) if structured else None
    if value is None and r.title:
        value = _scan_transmission(r.title, False)
    if value is None and r.description:
        value = _scan_transmission(r.description, False)
    if value == "conflict":
        res.note("transmission", "conflict")
        return None
    return value


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
        if unitless_miles and _KM_ODOMETER.search(r.description_raw or ""):
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


def _engine(r: _Raw) -> int | None:
    for text in (r.attrs.get("engine"), r.title, r.description):
        if text and (cc := _engine_cc(text)):
            return cc
    return None


def _body(r: _Raw, kind: str | None) -> str | None:
    """The body named in the title or the body attribute, else in the description (where "van"
    and "canopy" are too loose), else what the kind implies."""
    body = _body_in(_joined(r.title, r.attrs.get("body")))
    if body is None and r.description:
        body = _body_in(r.description)
        body = body if body not in ("van", "canopy") else None
    if body is None and kind in ("kei_truck", "kei_van"):
        body = "truck" if kind == "kei_truck" else "van"
    return body


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
    currency = value.currency or _currency_of(hint)
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


def normalize_listing(raw: Mapping, *, config: Mapping | None = None) -> dict[str, Any]:
    """The normalized fields of one raw listing (names as in ``scrapers.items.Listing``), plus
    ``cab`` ("jumbo"/"high_roof"/None) and ``normalize_notes`` (problems such as
    "price:monthly" or "year:outside_code_window", for stats). ``config`` is the keitrucks
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
    code_info = _MODEL_CODES.get(code or "")
    if code_info and (make is None or make == code_info.make):
        if model is None or model != code_info.model and _code_decides_name(code_info.model):
            model = code_info.model
        make = make or code_info.make
    date, basis = _dates(r)
    title_status = r.attrs.get("title_status")
    kind = "parts" if title_status and _PARTS_RE.search(title_status) else None
    kind = kind or _kind(
        r.title or r.description_raw or "",
        model=model,
        make=make,
        model_code=code,
        has_year=date.year is not None,
    )
    out["status"] = _status(raw.get("status_raw"), raw.get("price_basis"), raw.get("price_raw"))
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
    if year is not None and code_info and code_info.window_trusted:
        start, end = code_info.start, code_info.end
        if year < start[0] - 1 or (end and year > end[0] + 1):
            res.note("year", "outside_code_window")
    out.update(year=year, build_month=month, date_basis=basis)
    out["is_4wd"] = _drive(r, code, make, res)
    out["transmission"] = _transmission(r, res)
    out["engine_cc"] = _engine(r)
    out["body"] = _body(r, kind)
    out["cab"] = _cab_in(r.title) if kind in ("kei_truck", None) else None
    out["mileage_mi"] = _mileage(r, res)
    _price(r, res, kind, as_of, config, options)
    out["price_band"] = normalize_price_band(out["price_usd"], band)
    if year is not None:
        eligibility = normalize_eligibility(year, month, basis, as_of)
    else:
        eligibility = eligibility_from_code(code, as_of)
    out.update(
        eligible_25y=eligibility.eligible_25y,
        eligible_from=eligibility.eligible_from,
        eligibility_basis=eligibility.basis,
    )
    if eligibility.eligible_from and as_of is not None:
        due_y, due_m = map(int, eligibility.eligible_from.split("-"))
        if abs((due_y * 12 + due_m) - (as_of.year * 12 + as_of.month)) <= 1:
            res.note("eligible_25y", "boundary_month")
    out["normalize_notes"] = res.notes
    return out


def clear_caches() -> None:
    """Forget every per-text result this module keeps (for timing cold caches)."""
    for value in list(globals().values()):
        if getattr(value, "__module__", None) == __name__ and hasattr(value, "cache_clear"):
            value.cache_clear()


# --- Scrapy pipeline ----------------------------------------------------------------------------

#: raw field whose presence makes a None result "unparsed" in the stats.
UNPARSED_RAW = {
    "make": "make_model_raw",
    "model": "make_model_raw",
    "year": "year_raw",
    "is_4wd": "drive_raw",
    "transmission": "transmission_raw",
    "mileage_mi": "mileage_raw",
    "price": "price_raw",
    "currency": "currency_raw",
}


class NormalizePipeline:
    """Fills a Listing's normalized fields from its raw ones with ``normalize_listing``.

    Stats: ``keitrucks/normalize/<field>/unparsed`` when the raw field is present but the result
    is None, and ``keitrucks/normalize/<field>/<reason>`` for each note (e.g. price/monthly).
    """

    def __init__(self, crawler=None, config: Mapping | None = None):
        self.crawler = crawler
        self.config = config

    @classmethod
    def from_crawler(cls, crawler):
        from keitrucks.core.config import load_config

        return cls(crawler, load_config(crawler.settings.get("KEITRUCKS_CONFIG")))

    def _inc(self, key: str) -> None:
        if self.crawler is not None and self.crawler.stats is not None:
            self.crawler.stats.inc_value(f"keitrucks/normalize/{key}")

    def process_item(self, item):
        # a shallow copy (normalize_listing only reads it): asdict() deep-copies every field
        raw = dict(vars(item)) if dataclasses.is_dataclass(item) else dict(item)
        result = normalize_listing(raw, config=self.config)
        for name in NORMALIZED_FIELDS:
            if dataclasses.is_dataclass(item):
                setattr(item, name, result[name])
            else:
                item[name] = result[name]
        vehicle = result["kind"] not in NON_VEHICLE_KINDS
        for name, raw_name in UNPARSED_RAW.items():
            if result[name] is None and raw.get(raw_name) and (vehicle or name == "price"):
                self._inc(f"{name}/unparsed")
        for note in result["normalize_notes"]:
            field, _, reason = note.partition(":")
            self._inc(f"{field}/{reason}")
        return item

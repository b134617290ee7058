"""Text helpers of the normalizer: cleaning, per-text caches, and vocabularies matched as words.

A vocabulary is one plain compiled regex: the alternatives of ``keitrucks/core/data/terms.csv``
(or any (value, pattern) pairs) in order, each in its own named group, between ASCII word
boundaries, so the first alternative that matches at a place wins. Patterns are lower case and
matched on lower-cased text (about twice as fast in CPython's re as IGNORECASE).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

import regex

from keitrucks.core import tables

ASCII_LEFT = r"(?<![A-Za-z0-9])"
ASCII_RIGHT = r"(?![A-Za-z0-9])"


def text_cache(maxsize: int, limit: int = 300):
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


@text_cache(maxsize=1 << 15)
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
def fold_label(label: Any) -> str:
    """An attribute label folded for lookup 'Registration Year/month' -> 'registrationyearmonth'."""
    text = clean_text(label) or ""
    return re.sub(r"[\W_]+", "", text.lower())


def joined(first: str | None, second: str | None) -> str | None:
    """Two optional texts as one, space-separated (None when neither is there)."""
    if first and second:
        return f"{first} {second}"
    return first or second


_ASCII = "".join(map(chr, range(128)))
#: Beyond ASCII, a match can only begin with a character the pattern names or one of a class:
#: these stand for the classes (a letter, a kanji, a digit, a space).
_OTHER_PROBES = "\u00e9\u4e00\u0660\u3000"
#: Any character beyond ASCII, as the inside of a character class.
_NON_ASCII = "\x80-\U0010ffff"


@lru_cache(maxsize=4096)
def first_chars(pattern: str) -> tuple[frozenset[str], bool]:
    """The ASCII characters a match of ``pattern`` can begin with, and whether it can begin
    with any other character: each candidate is tried as the start of a match with the
    ``regex`` library's partial matching."""
    compiled = regex.compile(pattern)

    def starts(char: str) -> bool:
        return compiled.fullmatch(char, partial=True) is not None

    others = {*_OTHER_PROBES, *(c for c in pattern if not c.isascii())}
    return frozenset(filter(starts, _ASCII)), any(map(starts, others))


#: First characters per bucket of a ``word_alternation`` (the ASCII ones; all others share one).
_BUCKET_CHARS = 8


def word_alternation(alternatives: Iterable[tuple[Any, str]]) -> tuple[re.Pattern, list]:
    """One regex for (value, pattern) alternatives between ASCII word boundaries, tried in
    order (the first that matches at a place wins), and the value of each group number:
    ``value_of[match.lastindex]`` tells which alternative matched. Patterns are lower case.

    For speed the alternatives are sorted into buckets by the characters they can begin with
    (``first_chars``; ASCII ones eight to a bucket, all others in one), each bucket behind a
    lookahead for its characters and keeping the order of its members: at a word start only
    the alternatives that can begin there are tried, in their order, so the matches are those
    of the plain alternation. Each alternative is closed by an empty group, which tells which
    one matched."""
    members = [(value, pattern, *first_chars(pattern)) for value, pattern in alternatives]
    ascii_first = sorted(set().union(*(m[2] for m in members)))
    buckets = []
    for at in range(0, len(ascii_first), _BUCKET_CHARS):
        chars = set(ascii_first[at : at + _BUCKET_CHARS])
        buckets.append((_class(chars), [m for m in members if m[2] & chars]))
    if others := [m for m in members if m[3]]:
        buckets.append((_NON_ASCII, others))
    value_of: list = [None]
    parts = []
    for chars, bucket in buckets:
        inner = []
        for value, pattern, _, _ in bucket:
            # its own groups (if any), then the empty group that closes it
            value_of.extend([value] * (re.compile(pattern).groups + 1))
            inner.append(f"(?:{pattern})()")
        parts.append(f"(?=[{chars}])(?:{'|'.join(inner)})")
    every = _class(ascii_first) + (_NON_ASCII if others else "")
    if not every:  # no alternatives: a regex that never matches
        return re.compile(r"(?!)"), value_of
    body = f"(?<![a-z0-9])(?:{'|'.join(parts)})(?![a-z0-9])"
    return re.compile(f"(?=[{every}])" + body), value_of


def _class(chars: Iterable[str]) -> str:
    """Characters as the inside of a character class."""
    return "".join(re.escape(c) for c in sorted(chars))


class Vocabulary:
    """A field's whole vocabulary, matched as words without regard to case: ``found(text)``
    lists the values named, in order. Earlier groups win where two would match at one place."""

    def __init__(
        self,
        groups: Iterable[tuple[str, str]],
        *,
        reject_before: Mapping[str, re.Pattern] | None = None,
    ):
        #: value -> regex that, found right before a match, rejects it ("new tires").
        self.reject_before = dict(reject_before or {})
        self.regex, self.value_of = word_alternation(
            (value, pattern.lower()) for value, pattern in groups if pattern
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

    def search(self, text: str | None) -> bool:
        """Whether the text names any of the vocabulary's words."""
        return bool(text) and self.regex.search(text.lower()) is not None


def terms(field: str, scope: str | tuple[str, ...] = "any") -> str:
    """One pattern for every ``terms.csv`` row of a field (and scope)."""
    scopes = (scope,) if isinstance(scope, str) else scope
    parts = [t.pattern for t in tables.terms() if t.field == field and t.scope in scopes]
    return "|".join(f"(?:{p})" for p in parts)


def terms_by_value(field: str, scope: str | tuple[str, ...] = "any") -> dict[str, str]:
    """One pattern per value of a field's ``terms.csv`` rows, values in table order."""
    scopes = (scope,) if isinstance(scope, str) else scope
    out: dict[str, list[str]] = {}
    for t in tables.terms():
        if t.field == field and t.scope in scopes:
            out.setdefault(t.value, []).append(f"(?:{t.pattern})")
    return {value: "|".join(parts) for value, parts in out.items()}


def term_rows(field: str, prefix: str = "") -> list[tuple[str, str]]:
    """(value, pattern) of every ``terms.csv`` row of a field with scope "any", in table order
    (one word or phrase per row), the value prefixed with ``prefix``."""
    return [
        (prefix + t.value, t.pattern)
        for t in tables.terms()
        if (t.field, t.scope) == (field, "any")
    ]


def words(pattern: str) -> Vocabulary:
    """A vocabulary of one pattern, for ``search``."""
    return Vocabulary([("yes", pattern)])


#: A sentence about some other vehicle or a trade: its drive, mileage and year are not ours.
_NOISE_SENTENCE = words(terms("noise"))
SENTENCE_SPLIT = re.compile(r"(?<=[.!?;])\s+|(?<=[。！？])\s*|\n+")


@text_cache(maxsize=1 << 12)
def relevant_text(description: str | None) -> str | None:
    """The description without the sentences that talk about other vehicles or trades."""
    if not description:
        return None
    if not _NOISE_SENTENCE.search(description):
        return description
    sentences = SENTENCE_SPLIT.split(description)
    kept = [s for s in sentences if s and not _NOISE_SENTENCE.search(s)]
    return " ".join(kept) or None


# --- the field vocabularies ---------------------------------------------------------------------

DRIVE = terms_by_value("drive")
TRANSMISSION = terms_by_value("transmission")
KIND = terms_by_value("kind")
#: Body values, most specific first: the order of the body rows in ``terms.csv``.
BODY_ORDER = tuple(terms_by_value("body"))
NEGATED_4WD = r"(?:not|isn'?t|is not|non|no|never|without)[\s-]+(?:an?\s+|been\s+)?(?:%s)"
#: "new tires", "needs clutch": a vehicle described by a part, not a part for sale.
_NOT_FOR_SALE_BEFORE = re.compile(
    r"(?<![a-z])(?:new|with|w/|good|nice|clean|and|needs|need|bad|rebuilt|fresh|replaced|no)\s$"
)
FIELD_GROUPS = {
    "drive": [
        ("drive:2wd", NEGATED_4WD % DRIVE["4wd"]),
        *[row for row in term_rows("drive", "drive:") if row[0] == "drive:4wd"],
        *[row for row in term_rows("drive", "drive:") if row[0] == "drive:2wd"],
    ],
    "feature": term_rows("drive_feature", "feature:"),
    "trans": [
        *[row for row in term_rows("transmission", "trans:") if row[0] == "trans:automatic"],
        *[row for row in term_rows("transmission", "trans:") if row[0] == "trans:manual"],
    ],
    "body": term_rows("body", "body:"),
    "cab": term_rows("cab", "cab:"),
    "kind": [
        row
        for value in (
            "toy",
            "wanted",
            "parts",
            "clone",
            "kei_truck",
            "kei_van",
            "kei_truck_ambiguous",
            "other_vehicle",
            "parts_noun",
            "parts_context",
        )
        for row in term_rows("kind", "kind:")
        if row[0] == f"kind:{value}"
    ],
}
#: "fun farm toy": toy slang for a truck (the ``negation`` row of ``toy`` in ``terms.csv``).
_NOT_A_TOY_BEFORE = re.compile(
    r"(?<![a-z])(?:" + terms_by_value("negation", "before")["toy"] + r")\s$"
)
_REJECT = {"kind:parts_noun": _NOT_FOR_SALE_BEFORE, "kind:toy": _NOT_A_TOY_BEFORE}
_FIELD_VOCABULARIES = {
    field: Vocabulary(groups, reject_before=_REJECT) for field, groups in FIELD_GROUPS.items()
}
#: Every field's words in one scan, for short texts (titles) that need them all. Where two could
#: match at the same place the earlier group wins ("3 speed auto" is automatic).
_FIRST_KINDS = ("kind:toy", "kind:wanted", "kind:parts")
ALL_FIELD_GROUPS = [
    *FIELD_GROUPS["drive"][:1],
    *[row for row in FIELD_GROUPS["kind"] if row[0] in _FIRST_KINDS],
    *FIELD_GROUPS["drive"][1:],
    *FIELD_GROUPS["feature"],
    *FIELD_GROUPS["trans"],
    *FIELD_GROUPS["body"],
    *FIELD_GROUPS["cab"],
    *[row for row in FIELD_GROUPS["kind"] if row[0] not in _FIRST_KINDS],
]
_ALL_FIELDS = Vocabulary(ALL_FIELD_GROUPS, reject_before=_REJECT)
#: Texts up to this length are read for every field at once; longer ones field by field.
_SHORT_TEXT = 100
_NO_WORDS: frozenset[str] = frozenset()


def field_words(text: str | None, field: str) -> frozenset[str]:
    """The values of one field a text names, e.g. {"4wd"} for "drive", {"dump"} for "body".
    A short text (a title) is read for every field at once and the result kept; a long one
    (a description) only for the field asked."""
    if not text:
        return _NO_WORDS
    if len(text) <= _SHORT_TEXT:
        return _all_words(text).get(field, _NO_WORDS)
    return _one_field_words(text, field)


@lru_cache(maxsize=1 << 15)
def _all_words(text: str) -> dict[str, frozenset[str]]:
    return _words_by_field(frozenset(_ALL_FIELDS.found(text)))


@functools.cache
def _words_by_field(words: frozenset[str]) -> dict[str, frozenset[str]]:
    """The "field:value" words of a text by field, one (read-only) dict per set of words: texts
    that say the same share it, so a cache of texts holds no new object per text for the
    garbage collector to walk (a first crawl's titles are mostly new)."""
    out: dict[str, set[str]] = {}
    for word in words:
        field, _, value = word.partition(":")
        if field in out:
            out[field].add(value)
        else:
            out[field] = {value}
    return {field: interned(frozenset(values)) for field, values in out.items()}


@text_cache(maxsize=1 << 15)
def _one_field_words(text: str, field: str) -> frozenset[str]:
    return interned(
        frozenset(word.partition(":")[2] for word in _FIELD_VOCABULARIES[field].found(text))
    )


_INTERNED: dict[frozenset, frozenset] = {}


def interned(values: frozenset) -> frozenset:
    """One object per set of vocabulary words (there are few), for the per-text caches."""
    return _INTERNED.setdefault(values, values)


#: Kind words that put a model name that is also an everyday word in kei-truck context.
KEI_CONTEXT_WORDS = frozenset({"kei_truck", "kei_truck_ambiguous"})

"""Make, model and chassis code: the badge a listing names, and the code that settles the truck.

Names come from ``aliases.csv`` (words and Japanese substrings), codes from ``model_codes.csv``
and the model generations from ``models.csv`` (see ``keitrucks.core.tables``).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, NamedTuple

from keitrucks.core import tables
from pipelines.normalize.text import (
    ASCII_LEFT,
    ASCII_RIGHT,
    KEI_CONTEXT_WORDS,
    clean_text,
    field_words,
    text_cache,
    word_alternation,
)

#: The chassis-code and model tables (read once per process, see ``keitrucks.core.tables``).
MODEL_CODES = tables.model_codes()
MODEL_INFO = tables.model_info()
#: Makes with a kei truck or van of their own (or a badge on one).
KEI_MAKES = frozenset(a.make for a in tables.aliases() if a.category in ("make", "badge"))


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


WORD_ALIASES, _SUBSTRING_ALIASES = _alias_tables()
#: Every word alias between word boundaries, its words apart only by spaces or hyphens ("hi-jet",
#: "nt100 clipper"); the alias with the most words is tried first.
_WORD_ALIAS_RE, _WORD_ALIAS_OF = word_alternation(
    (WORD_ALIASES[words], r"[\s\-]+".join(map(re.escape, words)))
    for words in sorted(WORD_ALIASES, key=len, reverse=True)
    if words  # an alias without a Latin letter or digit never matches as a word
)
_MODEL_CATEGORIES = frozenset(
    {"model", "model_typo", "nickname", "van_model", "other_model", "badge"}
)
_NEGATED_BEFORE = re.compile(
    r"(?:\bnot|\bisn'?t|\bnon|\bnor|\bnever|ではない)\s*(?:an?\s+|the\s+)?(?:[a-z]+\s+)?$",
    re.IGNORECASE,
)
#: A four-digit year right before a model name ("1995 Minicab").
_YEAR_BEFORE = re.compile(r"(?<![\w$])(?:19|20)\d{2}\s+$")
#: A truck word right after a model name ("Carry truck", "Carry 4x4"): the model, not the verb.
_TRUCK_AFTER = re.compile(r"\s+(?:truck|4x4|4wd|dump|jumbo)\b", re.IGNORECASE)
_VERB_BEFORE = re.compile(r"\b(?:will|can|could|would|to|'ll|it)\s+$", re.IGNORECASE)


@text_cache(maxsize=1 << 14)
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
        for needle, alias in _SUBSTRING_ALIASES:
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


def _accepted(text: str, m: Mention, makes: set[str], kei_context: bool) -> bool:
    alias = m.alias
    dated = bool(_YEAR_BEFORE.search(text, 0, m.start))  # "1994 Carry 4x4": a model, not a verb
    # "Carry truck 4wd $3,500": a truck model's name, not the verb ("every truck" is no Every)
    dated = dated or (alias.category == "model" and bool(_TRUCK_AFTER.match(text, m.end)))
    if alias.needs_make and alias.make not in makes and not kei_context and not dated:
        return False
    before = text[max(0, m.start - 24) : m.start]
    if _NEGATED_BEFORE.search(before):
        return False
    return not (alias.needs_make and _VERB_BEFORE.search(before))


@text_cache(maxsize=1 << 14)
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
        and not field_words(text, "kind").isdisjoint(KEI_CONTEXT_WORDS)
    )
    candidates = [
        m for m in found if m.alias.category in _MODEL_CATEGORIES and m.alias.category != "badge"
    ]
    if len(candidates) > 1 and len({m.alias.model for m in candidates}) > 1:
        # a keyword-stuffed title ("like Carry / Acty - 1995 Minicab"): the one with the year
        dated = [m for m in candidates if _YEAR_BEFORE.search(text, 0, m.start)]
        candidates = dated + [m for m in candidates if m not in dated]
    model = next((m.alias for m in candidates if _accepted(text, m, makes, kei_context)), None)
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


@text_cache(maxsize=1 << 14)
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

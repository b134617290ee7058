"""The normalizer's output pinned on realistic listings, and the invariants its fast paths rely on.

``tests/fixtures/normalize/fixture_listings.json`` holds every listing of the golden parser
fixtures (``tests/fixtures/*/*.expected.json``) as the parsers handed it over (fields that are
None left out), each with the normalized fields ``normalize_listing`` gave it when the file was
written. The inputs are frozen there, so a parser fixture changing later does not move this test;
``--update-golden`` re-reads the fixtures and rewrites the file (review the diff). The file was
first written by the normalizer as it was before it was sped up, so this test is what shows the
speed-ups changed no output.

The property tests compare each vocabulary's one compiled regex (its alternatives bucketed by
the characters they can begin with) with its patterns tried one by one, and the mileage pattern
built for speed (it starts with its first digit) with the plain form it replaces, and check that
``clean_text`` is idempotent: the listing code hands text it has already cleaned to the inner
functions without cleaning it again.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.normalize import clean_text, normalize_listing
from pipelines.normalize.mileage import MILEAGE_IN_TEXT, NUMBER
from pipelines.normalize.models import WORD_ALIASES
from pipelines.normalize.text import (
    ALL_FIELD_GROUPS,
    ASCII_RIGHT,
    FIELD_GROUPS,
    Vocabulary,
    first_chars,
)
from tests.conftest import FIXTURES

SNAPSHOT = FIXTURES / "normalize" / "fixture_listings.json"


def listings_in(node: Any):
    """Every Listing (a mapping with a source and a listing id) inside a golden file's JSON."""
    if isinstance(node, dict):
        if "source" in node and "listing_id" in node:
            yield node
        else:
            for value in node.values():
                yield from listings_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from listings_in(value)


def fixture_listings() -> list[tuple[str, dict]]:
    """(golden file, raw listing) for every listing of the parser fixtures, None fields left out."""
    out = []
    for path in sorted(FIXTURES.glob("*/*.expected.json")):
        for raw in listings_in(json.loads(path.read_text(encoding="utf-8"))):
            raw = {key: value for key, value in raw.items() if value is not None}
            out.append((path.relative_to(FIXTURES).as_posix(), raw))
    return out


def test_the_fixture_listings_normalize_as_recorded(update_golden):
    if update_golden:
        entries = [
            {"fixture": name, "raw": raw, "normalized": normalize_listing(raw)}
            for name, raw in fixture_listings()
        ]
        text = json.dumps(entries, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
        SNAPSHOT.write_text(text, encoding="utf-8")
        return
    entries = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert len(entries) >= 80, "the snapshot lost its listings; run pytest --update-golden"
    wrong = []
    for entry in entries:
        got = normalize_listing(entry["raw"])
        if got != entry["normalized"]:
            fields = {k: (entry["normalized"].get(k), v) for k, v in got.items()}
            changed = {k: pair for k, pair in fields.items() if pair[0] != pair[1]}
            wrong.append(f"{entry['fixture']} {entry['raw']['listing_id']}: {changed}")
    assert not wrong, "\n".join(wrong)


def test_the_snapshot_covers_every_source_with_golden_files():
    recorded = {entry["fixture"].split("/")[0] for entry in json.loads(SNAPSHOT.read_text("utf-8"))}
    assert {"beforward", "bringatrailer", "craigslist", "dealer_jsonld", "ebay"} <= recorded


# --- the fast paths find what the plain forms find ----------------------------------------------


def reference_found(groups: list[tuple[str, str]], text: str) -> list[str]:
    """What a vocabulary should find, the slow way: at each place, each pattern on its own
    between ASCII word boundaries, in order; the first that matches wins and the scan goes on
    after it."""
    patterns = [
        (value, re.compile(rf"(?<![a-z0-9])(?:{pattern.lower()})(?![a-z0-9])"))
        for value, pattern in groups
        if pattern
    ]
    lowered = text.lower()
    out, pos = [], 0
    while pos <= len(lowered):
        match = None
        for value, pattern in patterns:
            if match := pattern.match(lowered, pos):
                out.append(value)
                break
        pos = match.end() if match and match.end() > pos else pos + 1
    return out


VOCABULARIES = {
    **{f"field {field}": groups for field, groups in FIELD_GROUPS.items()},
    "all fields": ALL_FIELD_GROUPS,
    "word aliases": [
        (alias.alias, r"[\s\-]+".join(map(re.escape, words)))
        for words, alias in sorted(WORD_ALIASES.items(), key=lambda item: -len(item[0]))
        if words
    ],
}


def vocabulary_text(groups: list[tuple[str, str]]) -> st.SearchStrategy[str]:
    """Texts made of a vocabulary's own phrases (generated from its patterns), run together or
    apart, with a few other characters around them."""
    patterns = sorted({pattern.lower() for _, pattern in groups if pattern})
    phrases = st.sampled_from(patterns).flatmap(lambda p: st.from_regex(p, fullmatch=True))
    other = st.one_of(
        st.sampled_from([" ", "-", "/", ":", "'", ".", "4", "x", "١", "\u3000"]),
        st.text(max_size=2),
    )
    return st.lists(st.one_of(phrases, phrases, other), max_size=6).map("".join)


COMPILED = {name: Vocabulary(groups) for name, groups in VOCABULARIES.items()}
TEXTS = {name: vocabulary_text(groups) for name, groups in VOCABULARIES.items()}


@pytest.mark.parametrize("name", sorted(VOCABULARIES))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_vocabulary_finds_what_its_patterns_find_one_by_one(name, data):
    sample = data.draw(TEXTS[name], label="text")
    assert COMPILED[name].found(sample) == reference_found(VOCABULARIES[name], sample)


PLAIN_MILEAGE_IN_TEXT = re.compile(
    rf"(?<![\d.,$])(?P<num>{NUMBER})\s*(?P<mult>k|万)?\s*-?\s*"
    r"(?P<unit>kilometers?|kilometres?|kms?|キロ|miles?|mi|マイル)"
    + ASCII_RIGHT
    + r"(?!\s*(?:/|per\b|an? hour|away|from|radius|round))",
    re.IGNORECASE,
)
MILEAGE_TEXT = st.lists(
    st.sampled_from(
        [
            "1",
            "4",
            "12",
            "123",
            "1234",
            ",",
            ".",
            "$",
            " ",
            "k",
            "万",
            "km",
            "miles",
            "mi",
            "キロ",
            "マイル",
            "-",
            "/",
            " per",
            " away",
            "٣",
            "４",
            "a",
            "K",
        ]
    ),
    max_size=12,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(text=MILEAGE_TEXT)
def test_the_mileage_pattern_that_starts_with_a_digit_finds_what_the_plain_one_finds(text):
    def readings(pattern):
        return [(m.span(), m.groupdict()) for m in pattern.finditer(text)]

    assert readings(MILEAGE_IN_TEXT) == readings(PLAIN_MILEAGE_IN_TEXT)


@settings(max_examples=400, deadline=None)
@given(
    text=st.one_of(
        st.text(),
        st.lists(
            st.sampled_from(
                [
                    "Ａ",
                    "ｶ",
                    "ﾞ",
                    "\u200b",
                    "\u00ad",
                    "\u3000",
                    "\u00a0",
                    " ",
                    "  ",
                    "\n",
                    "\t",
                    "\x0b",
                    "é",
                    "e\u0301",
                    "İ",
                    "ß",
                    "①",
                    "Carry",
                    "4WD",
                ]
            ),
            max_size=10,
        ).map("".join),
    )
)
def test_clean_text_is_idempotent(text):
    once = clean_text(text)
    assert clean_text(once) == once


@pytest.mark.parametrize(
    ("pattern", "ascii_first", "other"),
    [
        ("(?<!owner's )manual", "m", False),
        (r"e?cvt", "ce", False),
        (r"\d速", "0123456789", True),
        ("軽トラ", "", True),
        (r"[2-6]\s?at", "23456", False),
    ],
)
def test_first_chars_are_the_characters_a_match_can_begin_with(pattern, ascii_first, other):
    assert first_chars(pattern) == (frozenset(ascii_first), other)

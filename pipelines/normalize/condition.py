"""What the seller says about the truck beyond its specification: whether it runs, the state of
its title, and whether a sale is pending.

The words are the ``runs``, ``title_status`` and ``sale_pending`` rows of ``terms.csv``, read in
one scan per text; the ``negation`` rows name what, found right before a word, takes it back
("never salvage", "not a project", "title pending"). Unknown is None: a listing that says
nothing about running, its title or a pending sale leaves the field None.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import NamedTuple

from keitrucks.core import tables
from pipelines.normalize.text import (
    Vocabulary,
    interned,
    term_rows,
    terms_by_value,
    text_cache,
)

#: Title statuses from the worst to the best: when a listing says several, the worst wins.
#: "branded": a brand the ad does not name (salvage, rebuilt, flood ...): a problem, of a kind
#: the seller did not say.
TITLE_ORDER = ("no_title", "salvage", "branded", "rebuilt", "offroad_only", "clean")

_FIELDS = ("runs", "title_status", "sale_pending")


def _negations() -> dict[str, re.Pattern]:
    """Per word value ("runs:false", "title_status:salvage"), what before it takes it back."""
    out = {}
    for t in tables.terms():
        if t.field == "negation" and t.scope == "before" and t.value in _FIELDS:
            pattern = re.compile(rf"(?<![a-z])(?:{t.pattern})\s+$")
            values = [v for v in terms_by_value(t.value) if t.value != "runs" or v == "false"]
            out.update({f"{t.value}:{value}": pattern for value in values})
    return out


#: Every condition word in one vocabulary, the values prefixed with their field.
_WORDS = Vocabulary(
    [row for field in _FIELDS for row in term_rows(field, f"{field}:")],
    reject_before=_negations(),
)
#: A site's own title-status value ("clean", "missing"), matched as the whole value.
_STRUCTURED_TITLE = [
    (value, re.compile(rf"(?:{pattern})\Z", re.IGNORECASE))
    for value, pattern in terms_by_value("title_status", "structured").items()
]


class Condition(NamedTuple):
    runs: bool | None
    title_status: str | None
    sale_pending: bool | None


_SILENT = Condition(None, None, None)
_NO_WORDS: frozenset[str] = frozenset()


@text_cache(maxsize=1 << 14)
def condition_words(text: str | None) -> frozenset[str]:
    """The condition words a text says, as "field:value" ("runs:false", "title_status:clean")."""
    return interned(frozenset(_WORDS.found(text))) if text else _NO_WORDS


def structured_title(value: str | None) -> str | None:
    """A site's title-status field ("clean", "salvage", "rebuilt", "missing") as a title status,
    else what its words say, else None ("lien", "parts only")."""
    if not value:
        return None
    text = value.strip()
    for status, pattern in _STRUCTURED_TITLE:
        if pattern.match(text):
            return status
    return worst_title(condition_words(text))


def worst_title(words: Iterable[str]) -> str | None:
    """The worst title status among condition words (no_title > salvage > ... > clean)."""
    found = {w.partition(":")[2] for w in words if w.startswith("title_status:")}
    return next((status for status in TITLE_ORDER if status in found), None)


def runs_from(words: Iterable[str]) -> bool | None:
    """False when any word says it does not run, True when one says it runs, else None."""
    words = set(words)
    if "runs:false" in words:
        return False
    return True if "runs:true" in words else None


def condition_of(
    texts: Iterable[str | None],
    *,
    title_field: str | None = None,
    condition_field: str | None = None,
) -> Condition:
    """Runs, title status and pending sale from the listing's texts (title, description, the
    page's status word), a site's title-status field and a site's condition field (eBay's
    "For parts or not working", read for running only)."""
    # each text's words are kept per text (a title or a status word repeats across listings);
    # no phrase, nor a negation before one, spans two texts, so their union is what one scan
    # of the texts joined would find
    found = [condition_words(text) for text in texts if text]
    if condition_field:
        found.append(_running_words(condition_field))
    words = found[0] if len(found) == 1 else frozenset().union(*found)
    if not words and not title_field:
        return _SILENT
    return _decided(words, title_field)


@lru_cache(maxsize=1 << 12)
def _running_words(condition_field: str) -> frozenset[str]:
    """The running words of a site's condition field."""
    return interned(frozenset(w for w in condition_words(condition_field) if w.startswith("runs:")))


@lru_cache(maxsize=1 << 12)
def _decided(words: frozenset[str], title_field: str | None) -> Condition:
    """What a listing's condition words and its site's title-status field settle."""
    titles = [w for w in words if w.startswith("title_status:")]
    if stated := structured_title(title_field):
        titles.append(f"title_status:{stated}")
    said = Condition(
        runs=runs_from(words),
        title_status=worst_title(titles),
        sale_pending=True if "sale_pending:true" in words else None,
    )
    return _CONDITIONS.setdefault(said, said)


#: One object per condition (there are few), for the callers' per-text caches.
_CONDITIONS: dict[Condition, Condition] = {}

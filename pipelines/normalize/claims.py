"""What the seller claims about road use and registration, as short phrases: "street legal in
TN", "titled and tagged", "farm use". Claims, never facts: the report and the alerts show them
as "seller says: ..." beside the state's rule.

The phrases are the ``road_claim`` rows of ``terms.csv`` (the value is the phrase shown). The
``negation`` row of ``road_claim`` names what, right before a claim, turns it around: "not
street legal", "isn't registered" are kept as "not street legal", "not registered". A claim
followed by "in <state>" ("street legal in Tennessee", "registered in NC") keeps the state as
its two-letter code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

from keitrucks.core import states
from pipelines.normalize.text import term_rows, terms_by_value, text_cache, word_alternation

#: Every claim phrase in one regex; ``_VALUE_OF[match.lastindex]`` is the phrase shown.
_CLAIMS, _VALUE_OF = word_alternation((v, p.lower()) for v, p in term_rows("road_claim"))
#: What right before a claim turns it around ("not", "isn't", "never been").
_NEGATION = re.compile(
    r"(?<![a-z])(?:" + terms_by_value("negation", "before")["road_claim"] + r")[\s-]+$"
)
#: How far before a claim a negation is looked for.
_LOOK_BACK = 24
#: "in Tennessee", "in NC", "in the state of North Carolina" right after a claim.
_IN_STATE = re.compile(
    r"[\s,]+in\s+(?:the\s+state\s+of\s+)?([A-Za-z]+)(?:\s+([A-Za-z]+))?", re.IGNORECASE
)
#: The separator of claims in the ``road_claims`` field.
SEPARATOR = "; "


@cache
def _codes_by_name() -> dict[str, str]:
    return {name.lower(): code for code, name in states.us_state_names().items()}


def _state_after(text: str, end: int) -> str | None:
    """The state named by "in <state>" at ``end`` of ``text``: a name ("north carolina") or a
    code written in capitals ("NC"; "in or out" is no Oregon)."""
    m = _IN_STATE.match(text, end)
    if m is None:
        return None
    names = _codes_by_name()
    first, second = m.group(1), m.group(2)
    if second and (code := names.get(f"{first} {second}".lower())):
        return code
    if code := names.get(first.lower()):
        return code
    if len(first) == 2 and first.isupper() and first in states.us_state_names():
        return first
    return None


@text_cache(maxsize=1 << 12)
def claims_in(text: str | None) -> tuple[str, ...]:
    """The road claims of one text, in order of appearance ("street legal in TN", ...)."""
    if not text:
        return ()
    lowered = text.lower()
    # positions of the lowered text are those of the text only when lowering kept its length
    original = text if len(lowered) == len(text) else lowered
    out = []
    for m in _CLAIMS.finditer(lowered):
        claim = _VALUE_OF[m.lastindex]
        start = m.start()
        if not claim.startswith("not ") and _NEGATION.search(
            lowered, max(0, start - _LOOK_BACK), start
        ):
            claim = f"not {claim}"
        if state := _state_after(original, m.end()):
            claim = f"{claim} in {state}"
        out.append(claim)
    return tuple(out)


def road_claims_of(texts: Iterable[str | None]) -> str | None:
    """Every road claim of the texts (title, description), each once, joined by "; "; None
    when the seller claims nothing."""
    found: dict[str, None] = {}
    for text in texts:
        found.update(dict.fromkeys(claims_in(text)))
    return SEPARATOR.join(found) or None

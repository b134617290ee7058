"""US states: where a listing is, and what that state's road rules say about kei trucks.

Two jobs, both pure and fed by tables in ``keitrucks/core/data/``:

- ``state_of(location, url=..., source=..., postal_code=...)`` reads a two-letter state from what
  a listing says about its place ("Knoxville, TN", "Chesapeake, Virginia, United States", a ZIP
  code, a Craigslist area). Unknown is None: a state is never guessed from a site's home state.
- ``rule_for(state, ...)`` gives the state's road rule (``state_rules.csv``, built from the
  team's dated, sourced reference) with the facts a buyer needs beside it: the status in words,
  the road limit, and whether the source is stale, undated or of low confidence. A user's own
  override (configuration ``[[buyer.rule_overrides]]``) replaces a row, with their own source.

The rules are guidance, not a legal determination: every place that shows one shows its source
and date, and a seller's "street legal" is only ever a claim.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any
from urllib.parse import urlsplit

DATA = files("keitrucks.core") / "data"

#: Road statuses, from most to least permissive, with the words a buyer reads.
ROAD_STATUS_WORDS = {
    "registrable": "can be titled and plated like an ordinary vehicle",
    "registrable_restricted": "can be plated only in a special class or on some roads",
    "local_option": "road use only where a county or city allows it",
    "offroad_only": "no road registration: off-road or private property only",
    "no_new_registrations": "no new registrations (earlier ones may renew)",
    "unclear": "unclear: no reliable source, or the sources conflict",
}
ROAD_STATUSES = tuple(ROAD_STATUS_WORDS)
#: Statuses under which a buyer can get a truck on some public road.
ROAD_USE_STATUSES = frozenset({"registrable", "registrable_restricted", "local_option"})
#: A source older than this many months is shown as stale.
DEFAULT_STALE_MONTHS = 12
CHECK_WITH_DMV = "check with your state DMV before buying"
#: The caution on a rule whose source shows no date.
UNDATED_SOURCE = "undated source"


@dataclass(frozen=True)
class StateRule:
    state: str
    road_status: str
    max_speed_road_mph: int | None
    #: "no" where a source bars interstates, "yes" only where one says so, None: not stated.
    interstate_allowed: str | None
    regime: str | None
    title_class: str | None
    grandfathering: str | None
    law_ref: str | None
    #: as the source states it, and the first date in it (None: none stated or not a date).
    effective_date: str | None
    effective_from: str | None
    source_url: str | None
    #: as the source shows it ("n.d." when the page has none), and the date read from it.
    source_date: str | None
    source_dated: str | None
    source_type: str | None
    #: high, medium or low.
    confidence: str
    #: "reference" for the shipped table, "user" for a row from the user's configuration.
    origin: str = "reference"


@dataclass(frozen=True)
class RuleView:
    """A rule as a buyer reads it on a given day."""

    rule: StateRule
    words: str
    #: "roads posted 55 mph or less, no interstates", or None when no limit is known.
    limit: str | None
    #: why the rule should not be read as a plain yes/no (empty when none applies).
    cautions: tuple[str, ...]
    #: the buyer can get such a truck on some public road (False for unclear rules too).
    road_use: bool

    def line(self) -> str:
        rule = self.rule
        parts = [f"{rule.state}: {self.words}"]
        if self.limit:
            parts.append(self.limit)
        parts.append(
            f"source {source_when(rule)} ({rule.source_type or 'unknown'}, {rule.confidence})"
        )
        # an undated source is said once, where its date would be
        cautions = [c for c in self.cautions if c != UNDATED_SOURCE]
        if cautions:
            parts.append("; ".join(cautions))
        return "; ".join(parts)


def source_when(rule: StateRule) -> str:
    """The source's date as it shows it ("2024-09-17"), or "undated" with what it shows
    instead ("n.d. (statute copy)" reads "undated (statute copy)")."""
    shown = rule.source_date or ""
    if rule.source_dated is not None:
        return shown
    note = shown.removeprefix("n.d.").strip()
    if note and not note.startswith("("):
        note = f"({note})"
    return f"undated {note}".strip()


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _int(value: Any) -> int | None:
    text = _text(value)
    return int(text) if text and text.isdigit() else None


def rule_from_row(row: Mapping[str, Any], origin: str = "reference") -> StateRule:
    """One rule from a CSV row or a configuration table; raises ValueError on a bad row."""
    state = (_text(row.get("state")) or "").upper()
    if state not in us_state_names():
        raise ValueError(f"not a US state code: {row.get('state')!r}")
    status = _text(row.get("road_status"))
    if status not in ROAD_STATUS_WORDS:
        raise ValueError(
            f"{state}: road_status must be one of {', '.join(ROAD_STATUSES)}, not {status!r}"
        )
    confidence = _text(row.get("confidence")) or "low"
    if confidence not in ("high", "medium", "low"):
        raise ValueError(f"{state}: confidence must be high, medium or low, not {confidence!r}")
    source_date = _text(row.get("source_date"))
    return StateRule(
        state=state,
        road_status=status,
        max_speed_road_mph=_int(row.get("max_speed_road_mph")),
        interstate_allowed=_text(row.get("interstate_allowed")),
        regime=_text(row.get("regime")),
        title_class=_text(row.get("title_class")),
        grandfathering=_text(row.get("grandfathering")),
        law_ref=_text(row.get("law_ref")),
        effective_date=_text(row.get("effective_date")),
        effective_from=_text(row.get("effective_from")) or leading_date(row.get("effective_date")),
        source_url=_text(row.get("source_url")),
        source_date=source_date,
        source_dated=_text(row.get("source_dated")) or leading_date(source_date),
        source_type=_text(row.get("source_type")),
        confidence=confidence,
        origin=origin,
    )


_LEADING_DATE = re.compile(r"^\s*(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?(?!\d)")


def leading_date(text: Any) -> str | None:
    """ "2024-09-17", "2014-08" or "2023" from the start of a date text; None for "n.d."."""
    match = _LEADING_DATE.match(str(text or ""))
    if not match:
        return None
    return "-".join(part for part in match.groups() if part)


def _as_date(text: str | None, *, end: bool = False) -> dt.date | None:
    """A date from "YYYY", "YYYY-MM" or "YYYY-MM-DD" (the period's first day, or last with end)."""
    if not text:
        return None
    parts = [int(p) for p in text.split("-")]
    year, month, day = (parts + [None, None])[:3]
    if month is None:
        return dt.date(year, 12, 31) if end else dt.date(year, 1, 1)
    if day is None:
        if end:
            following = dt.date(year + month // 12, month % 12 + 1, 1)
            return following - dt.timedelta(days=1)
        return dt.date(year, month, 1)
    return dt.date(year, month, day)


@cache
def us_state_names() -> dict[str, str]:
    """Two-letter code -> name, the 50 states and DC."""
    with (DATA / "us_states.csv").open(encoding="utf-8") as f:
        return {row["code"]: row["name"] for row in csv.DictReader(f)}


@cache
def tile_positions() -> dict[str, tuple[int, int]]:
    """Code -> (row, column) of the state's square on the report's tile-grid map of the US."""
    with (DATA / "us_states.csv").open(encoding="utf-8") as f:
        return {
            row["code"]: (int(row["tile_row"]), int(row["tile_col"])) for row in csv.DictReader(f)
        }


@cache
def _codes_by_name() -> dict[str, str]:
    return {name.lower(): code for code, name in us_state_names().items()}


@cache
def craigslist_areas() -> dict[str, str]:
    """Craigslist site name (``knoxville``) -> the state it lies in, for one-state areas."""
    with (DATA / "craigslist_areas.csv").open(encoding="utf-8") as f:
        return {row["area"]: row["state"] for row in csv.DictReader(f)}


@cache
def state_rules() -> dict[str, StateRule]:
    """The shipped rule of every state and DC, by code."""
    with (DATA / "state_rules.csv").open(encoding="utf-8") as f:
        return {rule.state: rule for rule in map(rule_from_row, csv.DictReader(f))}


def rules_with(overrides: Iterable[Mapping[str, Any]] = ()) -> dict[str, StateRule]:
    """The shipped rules with the user's own rows in their place."""
    rules = dict(state_rules())
    for row in overrides:
        rule = rule_from_row(row, origin="user")
        rules[rule.state] = rule
    return rules


def road_limit(rule: StateRule) -> str | None:
    parts = []
    if rule.max_speed_road_mph:
        parts.append(f"roads posted {rule.max_speed_road_mph} mph or less")
    if rule.interstate_allowed == "no":
        parts.append("no interstates")
    return ", ".join(parts) or None


def view(rule: StateRule, *, today: dt.date, stale_months: int = DEFAULT_STALE_MONTHS) -> RuleView:
    """How a buyer should read ``rule`` on ``today``: words, limit and cautions."""
    cautions = []
    if rule.confidence == "low":
        cautions.append("low confidence")
    dated = _as_date(rule.source_dated, end=True)
    if dated is None:
        cautions.append(UNDATED_SOURCE)
    elif _months_between(dated, today) > stale_months:
        cautions.append(f"source over {stale_months} months old")
    starts = _as_date(rule.effective_from)
    if starts is not None and starts > today:
        cautions.append(f"not in force until {rule.effective_from}")
    if rule.origin == "user":
        cautions.append("your own rule")
    return RuleView(
        rule=rule,
        words=ROAD_STATUS_WORDS[rule.road_status],
        limit=road_limit(rule),
        cautions=tuple(cautions),
        road_use=rule.road_status in ROAD_USE_STATUSES and (starts is None or starts <= today),
    )


def _months_between(earlier: dt.date, later: dt.date) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


def is_stale(rule: StateRule, *, today: dt.date, stale_months: int = DEFAULT_STALE_MONTHS) -> bool:
    """No date, or a source older than ``stale_months``: a row to re-check."""
    dated = _as_date(rule.source_dated, end=True)
    return dated is None or _months_between(dated, today) > stale_months


def rule_for(
    state: str | None,
    *,
    today: dt.date,
    overrides: Iterable[Mapping[str, Any]] = (),
    stale_months: int = DEFAULT_STALE_MONTHS,
) -> RuleView | None:
    """The rule of ``state`` as a buyer reads it on ``today``; None for no or an unknown state."""
    if not state:
        return None
    rule = rules_with(overrides).get(state.upper())
    return view(rule, today=today, stale_months=stale_months) if rule else None


# --- where a listing is -------------------------------------------------------------------

_ZIP = re.compile(r"(?<!\d)(\d{5})(?:-\d{4})?(?!\d)")
_CODE_AT_END = re.compile(r"(?:^|[\s,(])([A-Za-z]{2})\.?\s*(?:\d{5}(?:-\d{4})?)?\s*\)?$")
_NON_US = re.compile(
    r"\b(?:canada|mexico|japan|united kingdom|great britain|germany|australia|"
    r"großbritannien|deutschland|österreich|schweiz|frankreich|kanada|japon|japón)\b|"
    r"\b(?:ontario|quebec|british columbia|alberta|manitoba|saskatchewan|nova scotia)\b",
    re.IGNORECASE,
)
_COUNTRY_SUFFIX = re.compile(r",?\s*(?:united states(?: of america)?|usa|u\.s\.a?\.?|us)\s*$", re.I)


def state_of_zip(code: str) -> str | None:
    """The state of a US ZIP code, from the ``zipcodes`` package's table; None if unknown."""
    import zipcodes

    try:
        found = zipcodes.matching(code)
    except (TypeError, ValueError):
        return None
    states = {z["state"] for z in found}
    return states.pop() if len(states) == 1 else None


def _state_from_text(text: str) -> str | None:
    text = _COUNTRY_SUFFIX.sub("", text.strip()).strip(" ,")
    if not text:
        return None
    match = _CODE_AT_END.search(text)
    if match and match.group(1).upper() in us_state_names():
        # "Knoxville, TN", "Austin TX 78701"; a bare two-letter word needs a comma or to be
        # the whole text, so "Salem or Bend" is not Oregon.
        code = match.group(1).upper()
        before = text[: match.start(1)].rstrip()
        if not before or before.endswith(",") or match.group(1).isupper():
            return code
    names = _codes_by_name()
    pieces = [p.strip().lower() for p in text.split(",") if p.strip()]
    for piece in reversed(pieces):
        if piece in names:
            return names[piece]
    # "Knoxville Tennessee": a state name at the end of the text.
    lowered = text.lower()
    for name, code in sorted(names.items(), key=lambda item: -len(item[0])):
        if lowered == name or lowered.endswith(" " + name):
            return code
    return None


def state_of(
    location: str | None,
    *,
    url: str | None = None,
    source: str | None = None,
    postal_code: str | None = None,
) -> str | None:
    """The two-letter US state of a listing from what it says about its place, else None.

    Tried in order: a postal code given on its own, the location text (a state code or name,
    then a ZIP inside it), and for Craigslist the area in the URL (``knoxville.craigslist.org``),
    which is where the seller posted. A location outside the US gives None.
    """
    if location and _NON_US.search(location):
        return None
    match = _ZIP.fullmatch(str(postal_code or "").strip()[:10])
    if match and (found := state_of_zip(match.group(1))):
        return found
    if location:
        if found := _state_from_text(location):
            return found
        if (match := _ZIP.search(location)) and (found := state_of_zip(match.group(1))):
            return found
    if source == "craigslist" and url:
        host = urlsplit(url).hostname or ""
        if host.endswith(".craigslist.org"):
            return craigslist_areas().get(host.split(".")[0])
    return None


def rule_row(rule: StateRule) -> dict[str, Any]:
    """A rule as a flat row (for the database's ``state_rules`` table)."""
    return {name: getattr(rule, name) for name in StateRule.__dataclass_fields__} | {
        "road_status_words": ROAD_STATUS_WORDS[rule.road_status]
    }

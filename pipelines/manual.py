"""Listings a user found elsewhere and tracks by hand (``keitrucks track``): source ``manual``.

A listing entered by hand is written by the crawl's own code, never by a writer of its own:
each action is one run of the ``manual`` source over the listing's own search
(``manual:<listing id>``), recorded in ``runs`` like a crawl's; the item goes through
``NormalizePipeline`` and ``LandedCostPipeline``, and ``save_listings`` writes the listing and
its ``price_history`` row (``new``, ``price_change``, ``relisted``). Gone is ``mark_gone`` after
a run of that search that saw nothing, so the history reads exactly as a crawl's would.

A crawl marks gone only the listings of its own source and search, so a manual listing stays
active until the user says it is gone (``track gone``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from sqlite_utils import Database

from keitrucks.core.dates import now_iso
from pipelines.landed import LandedCostPipeline
from pipelines.listings import RENORMALIZE_INPUTS, mark_gone, save_listings
from pipelines.normalize import NormalizePipeline
from pipelines.run_health import RunVerdict
from pipelines.runs import finish_run, start_run
from pipelines.schema import JSON_FIELDS
from scrapers.items import Listing

#: The source of listings entered by hand (its ``sites.csv`` row says ``by_hand``).
MANUAL_SOURCE = "manual"
#: A title made from the text is cut at this length (the first sentence, usually).
TITLE_CHARS = 100
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


class ManualError(ValueError):
    """What the user gave cannot be tracked (an unknown URL, a price that is no price)."""


def listing_id_of(url: str) -> str:
    """A stable id of a URL (the same URL is the same listing)."""
    return hashlib.sha1(url.strip().encode("utf-8")).hexdigest()[:16]


def search_key_of(listing_id: str) -> str:
    """Each manual listing is its own search: only a run of that search marks it gone."""
    return f"{MANUAL_SOURCE}:{listing_id}"


def checked_url(url: str) -> str:
    """The URL stripped, or ManualError when it is no http(s) address."""
    text = (url or "").strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ManualError(f"not a web address: {url!r} (give the listing's http(s) URL)")
    return text


def title_from(title: str | None, text: str | None) -> str | None:
    """The title given, else the text's first sentence, cut at a word to ``TITLE_CHARS``."""
    if title and title.strip():
        return title.strip()
    lines = (text or "").strip().splitlines()
    if not lines:
        return None
    first = _SENTENCE_END.split(lines[0].strip(), maxsplit=1)[0]
    if len(first) > TITLE_CHARS:
        first = first[: TITLE_CHARS + 1].rsplit(" ", 1)[0].rstrip(" ,;:") + "..."
    return first or None


def find_listing(db: Database, url: str) -> dict[str, Any] | None:
    """The stored manual listing of ``url`` (identity, raw fields, status, last seen), or None."""
    columns = ", ".join(dict.fromkeys([*RENORMALIZE_INPUTS, "status", "last_seen_at"]))
    rows = list(
        db.query(
            f"SELECT {columns} FROM listings WHERE source = ? AND listing_id = ?",
            [MANUAL_SOURCE, listing_id_of(checked_url(url))],
        )
    )
    return rows[0] if rows else None


def tracked_listings(db: Database) -> list[dict[str, Any]]:
    """Every listing tracked by hand, the latest seen first."""
    return list(
        db.query(
            "SELECT url, title, price_usd, status, last_seen_at, road_claims FROM listings "
            "WHERE source = ? ORDER BY last_seen_at DESC, url",
            [MANUAL_SOURCE],
        )
    )


def _known(db: Database, url: str) -> dict[str, Any]:
    found = find_listing(db, url)
    if found is None:
        raise ManualError(f"no tracked listing with URL {url} (add it with `keitrucks track add`)")
    return found


def _not_before(found: Mapping[str, Any], seen_at: str) -> None:
    last = found.get("last_seen_at") or ""
    if seen_at < last:
        raise ManualError(
            f"--seen {seen_at[:10]} is before the listing was last seen ({last[:10]})"
        )


def _pipelines(config: Mapping | None) -> list:
    """The crawl's own item pipelines between the parser and storage."""
    return [NormalizePipeline(config=config), LandedCostPipeline(config=config)]


def _write(db: Database, listing_id: str, seen_at: str, item: Listing | None) -> dict[str, int]:
    """One run of the listing's search: save ``item`` (seen) or, without one, mark it gone."""
    search_key = search_key_of(listing_id)
    run_id = start_run(
        db, MANUAL_SOURCE, search_key=search_key, as_of=seen_at, started_at=now_iso()
    )
    events: dict[str, int] = {}
    gone = 0
    if item is not None:
        events = save_listings(db, [item], run_id=run_id, seen_at=seen_at, search_key=search_key)
    else:
        gone = mark_gone(db, source=MANUAL_SOURCE, search_key=search_key, run_id=run_id, at=seen_at)
        events = {"gone": gone} if gone else {}
    finish_run(
        db,
        run_id,
        finished_at=now_iso(),
        finish_reason="finished",
        verdict=RunVerdict(complete=True, healthy=True),
        stats={},
        items=0 if item is None else 1,
        coverage={},
        gone_marked=gone,
    )
    return events


def _normalized(item: Listing, config: Mapping | None) -> Listing:
    for pipeline in _pipelines(config):
        item = pipeline.process_item(item)
    if item.price is None:
        raise ManualError(
            f"cannot read a price from {item.price_raw!r} (give it like 6500 or $6,500)"
        )
    return item


def add_listing(
    db: Database,
    *,
    url: str,
    price: str,
    seen_at: str,
    title: str | None = None,
    text: str | None = None,
    location: str | None = None,
    config: Mapping | None = None,
) -> tuple[Listing, dict[str, int]]:
    """Track a listing found elsewhere: the listing as stored and the history events written.
    Adding a URL already tracked updates it (a new price is a price change)."""
    url = checked_url(url)
    if not (title or text):
        raise ManualError("give the listing's --title or --text (what the seller wrote)")
    listing_id = listing_id_of(url)
    if (found := find_listing(db, url)) is not None:
        _not_before(found, seen_at)
    item = Listing(
        source=MANUAL_SOURCE,
        listing_id=listing_id,
        url=url,
        scraped_at=seen_at,
        title=title_from(title, text),
        description=text.strip() if text and text.strip() else None,
        price_raw=str(price).strip(),
        location_raw=location.strip() if location and location.strip() else None,
        price_basis="asking",
    )
    item = _normalized(item, config)
    return item, _write(db, listing_id, seen_at, item)


def change_price(
    db: Database, *, url: str, price: str, seen_at: str, config: Mapping | None = None
) -> tuple[Listing, dict[str, int]]:
    """A new price seen on a tracked listing (a gone listing seen again is relisted)."""
    found = _known(db, url)
    _not_before(found, seen_at)
    raw = {k: v for k, v in found.items() if k not in ("status", "last_seen_at")}
    raw.update(price_raw=str(price).strip(), scraped_at=seen_at)
    for name in JSON_FIELDS:  # stored as JSON text; absent ones take the field's default
        if raw.get(name):
            raw[name] = json.loads(raw[name])
        else:
            raw.pop(name, None)
    item = _normalized(Listing.from_dict(raw), config)
    return item, _write(db, found["listing_id"], seen_at, item)


def mark_listing_gone(db: Database, *, url: str, seen_at: str) -> int:
    """The listing is no longer for sale: 1 when it went gone now, 0 when it already was."""
    found = _known(db, url)
    _not_before(found, seen_at)
    if found["status"] == "gone":
        return 0
    return _write(db, found["listing_id"], seen_at, None).get("gone", 0)

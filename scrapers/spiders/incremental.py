"""Base class of the incremental spiders: known listings, held listings, release on stop.

An incremental spider reads a detail (posting, item) page only for listings that are new or
changed since the database last saw them; a known, unchanged listing is completed from its stored
fields instead. The stored fields come through the hook the ``KEITRUCKS_KNOWN_LISTINGS`` setting
names (a dotted path, or a callable, ``(db_path, source) -> {listing_id: stored fields}``); an
empty setting, no database, or a reader that fails means every detail page is read.

A listing waiting for its detail page is *held* (one dict, by listing_id) until it is yielded.
When the source is stopped (a block or the spent budget), Scrapy drops the queued requests without
their callbacks or errbacks, so the errback that sees the stop calls ``release_on_stop`` and every
listing still held is yielded without its detail page: nothing the run read is lost. A detail page
that still comes after that finds ``release`` False and yields nothing twice.

Leaf hooks: ``restore(listing, stored)`` completes a listing from its stored fields (tonight's
listing as it is by default), ``without_detail(listing)`` yields a held listing whose page will
not come (restored by default), and ``usable_known(known)`` filters what the reader gave.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from scrapy.utils.misc import load_object

from scrapers.items import Listing
from scrapers.spiders.base import ListingSpider

#: listing_id -> the stored raw fields (and status) of a listing the database holds.
KnownListings = dict[str, dict[str, Any]]
#: Stats that mean the source was stopped: its queued requests are dropped.
STOP_STATS = ("keitrucks/stopped", "keitrucks/blocked")


def encode_known(known: KnownListings) -> str:
    """Known listings as one short line of text (JSON, zlib, base64) for a spider argument."""
    text = json.dumps(known, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return base64.b64encode(zlib.compress(text.encode(), 9)).decode("ascii")


def snapshot_arguments(text: str, part: int) -> dict[str, str]:
    """``encode_known``'s text as spider arguments of at most ``part`` characters each."""
    chunks = [text[i : i + part] for i in range(0, len(text), part)]
    return {
        ("known_listings" if n == 1 else f"known_listings_{n}"): chunk
        for n, chunk in enumerate(chunks, start=1)
    }


def decode_known(text: str) -> KnownListings:
    """``encode_known`` read back; ValueError when it is not one."""
    try:
        known = json.loads(zlib.decompress(base64.b64decode(text, validate=True)))
    except (binascii.Error, zlib.error, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a known-listings snapshot: {exc}") from None
    if not isinstance(known, dict):
        raise ValueError("not a known-listings snapshot")
    return known


class IncrementalSpider(ListingSpider):
    def __init__(self, *args: Any, known_listings: str | None = None, **kwargs: Any):
        parts = sorted(
            (int(key.rsplit("_", 1)[1]), kwargs.pop(key))
            for key in list(kwargs)
            if key.startswith("known_listings_") and key.rsplit("_", 1)[1].isdigit()
        )
        super().__init__(*args, **kwargs)
        #: ``-a known_listings=...`` (``encode_known``, cut in parts ``known_listings_2`` ...
        #: when long): a remote job's stand-in for the database.
        self.known_snapshot = (
            known_listings + "".join(part for _, part in parts) if known_listings else None
        )
        #: listing_id -> stored fields (the ``KEITRUCKS_KNOWN_LISTINGS`` reader); {} when unknown.
        self.known: KnownListings = {}
        #: Listings held back for their detail page, by listing_id, until yielded.
        self._held: dict[str, Listing] = {}
        #: Held listing_ids whose detail page has been requested.
        self._detail_requested: set[str] = set()
        #: listing_ids yielded from the held listings when the source stopped.
        self._released_on_stop: set[str] = set()

    # -- known listings ---------------------------------------------------------------------------

    def read_known(self) -> KnownListings:
        """What the database holds of this source, or {} (then every detail page is read).

        A remote job (no database on its host) gets them as the ``known_listings`` argument, a
        snapshot made by ``encode_known``; without one it reads every detail page."""
        if self.known_snapshot is not None:
            try:
                return self.usable_known(decode_known(self.known_snapshot))
            except ValueError as exc:
                self.logger.warning("Unreadable known listings (%s): reading every page", exc)
                return {}
        hook = self.settings.get("KEITRUCKS_KNOWN_LISTINGS")
        db_path = self.settings.get("KEITRUCKS_DB_PATH")
        if not hook or not db_path or not Path(db_path).is_file():
            return {}
        try:
            known = dict(load_object(hook)(str(db_path), self.name))
        except Exception as exc:  # a pluggable reader: any failure means "read every page"
            self.logger.warning("Could not read known listings (%s): reading every page", exc)
            return {}
        return self.usable_known(known)

    def usable_known(self, known: KnownListings) -> KnownListings:
        """The stored listings that can stand in for a detail page (all of them by default)."""
        return known

    # -- held listings ----------------------------------------------------------------------------

    @property
    def _awaiting_detail(self) -> list[Listing]:
        """Held listings whose detail page is not requested yet."""
        return [x for key, x in self._held.items() if key not in self._detail_requested]

    def hold(self, listing: Listing, *, requested: bool = False) -> None:
        self._held[listing.listing_id] = listing
        if requested:
            self._detail_requested.add(listing.listing_id)

    def release(self, listing: Listing) -> bool:
        """Take a listing out of the held ones; False when the stop already yielded it."""
        self._detail_requested.discard(listing.listing_id)
        self._held.pop(listing.listing_id, None)
        return listing.listing_id not in self._released_on_stop

    def stopped(self) -> bool:
        """Has a block or the spent budget stopped the source (queued requests are dropped)?"""
        stats = self.crawler.stats
        return any(stats.get_value(key) for key in STOP_STATS)

    def release_on_stop(self) -> Iterator[Listing]:
        """Once the source is stopped, yield every listing still held: their pages won't come."""
        if not self.stopped() or not self._held:
            return
        held, self._held = self._held, {}
        self._detail_requested.clear()
        self._released_on_stop.update(held)
        self.count("held_released_on_stop", len(held))
        self.logger.info("Source stopped: yielding %d listings held for detail pages", len(held))
        for listing in held.values():
            yield from self.without_detail(listing)

    def without_detail(self, listing: Listing) -> Iterator[Listing]:
        """A held listing whose detail page will not be read, as far as it is known."""
        yield self.restore(listing, self.known.get(listing.listing_id))

    def restore(self, listing: Listing, stored: dict[str, Any] | None) -> Listing:
        """Tonight's listing completed with its stored fields; override in leaf spiders."""
        return listing

"""Page layouts: which known layout a saved page has, and whether reading it gave what it should.

Every parser module declares ``LAYOUTS``, a table of the page layouts it knows, each named by an
anchor that every page of that layout carries (a CSS selector or a piece of text). The rule, the
same for every source: a page whose layout is unknown, a layout the parser names as unsupported,
or a page that has the anchors of a known listings layout but yields zero records is reported as
such, never passed on as a silent empty result. ``keitrucks parse`` prints these as shape
warnings; crawls count the same situations as ``empty_page`` (a layout-changed stop).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from scrapy.http import TextResponse

from scrapers.blocking import looks_like_json
from scrapers.items import Listing


@dataclass(frozen=True)
class Layout:
    """One page layout of a source, recognised by its anchors."""

    name: str
    #: a CSS selector that matches on every page of this layout.
    css: str | None = None
    #: text every page of this layout contains (JSON keys, a script variable ...).
    text: str | None = None
    #: does a page of this layout hold listings? (a models directory or a token answer does not)
    listings: bool = True
    #: why this layout is not read; None when the parser reads it.
    unsupported: str | None = None
    #: a JSON answer rather than an HTML page.
    json: bool = False

    def matches(self, response: TextResponse) -> bool:
        if looks_like_json(response.body) != self.json:
            return False
        if self.text is not None and self.text not in response.text:
            return False
        if self.css is not None and not _css_matches(response, self.css):
            return False
        return self.css is not None or self.text is not None


def _css_matches(response: TextResponse, css: str) -> bool:
    try:
        return bool(response.css(css))
    except ValueError:  # a JSON answer has no HTML to select from
        return False


class LayoutError(ValueError):
    """The page is not one the parser can read: unknown layout, or a layout it does not support."""


@dataclass
class Reading:
    """What a parser made of one saved page."""

    layout: Layout | None
    listings: list[Listing] = field(default_factory=list)
    #: a shape warning (unknown layout, known layout but no records); None when all is well.
    warning: str | None = None


def detect_layout(layouts: Sequence[Layout], response: TextResponse) -> Layout | None:
    """The first layout in ``layouts`` whose anchors the page carries; None when none does."""
    return next((layout for layout in layouts if layout.matches(response)), None)


def unknown_layout_message(layouts: Sequence[Layout]) -> str:
    names = ", ".join(layout.name for layout in layouts if layout.unsupported is None)
    return f"unknown page layout (none of the anchors of: {names})"


def shape_warning(layout: Layout | None, count: int, layouts: Sequence[Layout]) -> str | None:
    """The warning a reading deserves: unknown layout, or a listings layout read as empty."""
    if layout is None:
        return unknown_layout_message(layouts)
    if layout.listings and count == 0:
        return f"the page has the anchors of the {layout.name} layout but yielded zero listings"
    return None


def unique_listings(listings: Iterable[Listing]) -> list[Listing]:
    """One record per listing id, the first seen kept (a card repeated in a carousel, a card
    that is also in the page's JSON)."""
    seen: set[str] = set()
    unique = []
    for listing in listings:
        if listing.listing_id not in seen:
            seen.add(listing.listing_id)
            unique.append(listing)
    return unique


def read_page(
    layouts: Sequence[Layout],
    parse: Callable[[TextResponse, Any], list[Listing]],
    response: TextResponse,
    scraped_at: str | None = None,
    *,
    forced: bool = False,
) -> Reading:
    """Detect the layout, parse, and judge the result.

    Raises :class:`LayoutError` for a layout the parser names as unsupported, and for an unknown
    layout unless ``forced`` (the caller chose the page kind itself: then the parser is run and
    the unknown layout stays a warning).
    """
    layout = detect_layout(layouts, response)
    if layout is not None and layout.unsupported:
        raise LayoutError(f"the {layout.name} layout is not supported: {layout.unsupported}")
    if layout is None and not forced:
        raise LayoutError(unknown_layout_message(layouts))
    if layout is not None and not layout.listings:
        return Reading(layout)  # a directory, a token, a "no results" page: nothing to read
    listings = unique_listings(parse(response, scraped_at))
    return Reading(layout, listings, shape_warning(layout, len(listings), layouts))

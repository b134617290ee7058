"""Raw listings for ``keitrucks appraise`` from a saved page or a listing's URL.

A saved page goes through its source's own parser (``scrapers/parsers/<source>.py``) as
``keitrucks parse`` runs it. A URL is accepted only on a site the tracker reads
(``keitrucks/core/data/listing_hosts.csv``); it is fetched once, politely: the crawl's user agent,
its robots.txt asked first (a disallowed page is not fetched), one request, a timeout, and a
block page (403/429, a challenge) said as such. Any other site is refused with a hint to paste
the listing's text instead.
"""

from __future__ import annotations

import importlib
import urllib.error
import urllib.request
from dataclasses import asdict
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from protego import Protego

from keitrucks.core import tables

FETCH_TIMEOUT_S = 20
#: The most a listing page may weigh (bytes); more is not a listing page.
MAX_PAGE_BYTES = 8 * 1024 * 1024


class PageError(ValueError):
    """A page or URL that yields no listing; the message is one line for the user."""


@cache
def listing_hosts() -> dict[str, str]:
    """host -> source, from ``listing_hosts.csv``."""
    return {row["host"].lower(): row["source"] for row in tables.read_rows("listing_hosts.csv")}


def source_of_url(url: str) -> str | None:
    """The source whose parser reads ``url``'s pages (its host or a parent domain listed), or
    None for a site the tracker does not read."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return None
    host = (parts.hostname or "").lower()
    labels = host.split(".")
    for i in range(len(labels) - 1):
        found = listing_hosts().get(".".join(labels[i:]))
        if found:
            return found
    return None


def listings_from_page(
    source: str, body: bytes, url: str, scraped_at: str, *, what: str
) -> list[dict[str, Any]]:
    """The raw listings ``source``'s parser reads on a page (``what`` names it in errors)."""
    from scrapy.http import HtmlResponse, TextResponse

    from scrapers.blocking import block_reason, looks_like_json
    from scrapers.parsers.shape import LayoutError, read_page

    try:
        module = importlib.import_module(f"scrapers.parsers.{source}")
    except ImportError:
        raise PageError(f"no parser for {source}") from None
    blocked = block_reason(200, body, url)
    if blocked:
        raise PageError(f"{what} is a block page ({blocked.replace('_', ' ')}), not a listing")
    cls = TextResponse if looks_like_json(body) else HtmlResponse
    response = cls(url=url, body=body, encoding="utf-8")
    try:
        reading = read_page(module.LAYOUTS, module.parse_page, response, scraped_at)
    except LayoutError as exc:
        raise PageError(f"the {source} parser cannot read {what}: {exc}") from None
    except Exception as exc:  # a page the parser cannot read: one line
        raise PageError(f"the {source} parser failed on {what}: {exc!r}") from None
    if not reading.listings:
        raise PageError(f"the {source} parser found no listing in {what}")
    return [asdict(listing) for listing in reading.listings]


def _get(url: str, user_agent: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"User-Agent": user_agent})
    try:
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_S) as answer:  # noqa: S310
            return answer.status, answer.read(MAX_PAGE_BYTES + 1)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(MAX_PAGE_BYTES + 1) if exc.fp else b""


def robots_allow(url: str, user_agent: str) -> bool:
    """Whether the site's robots.txt lets ``user_agent`` fetch ``url`` (no robots.txt: yes;
    an unreadable one, 401/403: no, as Scrapy's robots middleware reads them)."""
    parts = urlsplit(url)
    status, body = _get(f"{parts.scheme}://{parts.netloc}/robots.txt", user_agent)
    if status in (401, 403):
        return False
    if status >= 400:
        return True
    robots = Protego.parse(body.decode("utf-8", errors="replace"))
    return robots.can_fetch(url, user_agent)


def fetch_listing(url: str, scraped_at: str, *, source: str | None = None) -> list[dict]:
    """The raw listings of a listing page on a supported site, fetched once; ``source`` forces
    the parser (tests serve a copy of a site on 127.0.0.1)."""
    from scrapers.blocking import block_reason
    from scrapers.settings import USER_AGENT

    source = source or source_of_url(url)
    if source is None:
        host = urlsplit(url).hostname or url
        raise PageError(
            f"{host} is not a site the tracker reads: paste the listing's text instead "
            '(keitrucks appraise "TEXT" or on stdin)'
        )
    if not robots_allow(url, USER_AGENT):
        raise PageError(f"robots.txt of {urlsplit(url).hostname} does not allow fetching {url}")
    try:
        status, body = _get(url, USER_AGENT)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise PageError(f"cannot fetch {url}: {reason}") from None
    if len(body) > MAX_PAGE_BYTES:
        raise PageError(f"{url} is larger than a listing page ({MAX_PAGE_BYTES:,} bytes)")
    blocked = block_reason(status, body, url)
    if blocked:
        raise PageError(
            f"{urlsplit(url).hostname} refused the request ({blocked.replace('_', ' ')}): "
            "save the page from your browser and use --source"
        )
    if status >= 400:
        raise PageError(f"{url} answered HTTP {status}")
    return listings_from_page(source, body, url, scraped_at, what=url)

"""Base class for every listing spider.

A leaf spider declares ``name``, ``hosts`` (the real site's base URLs by key) and its crawl
logic; parsing lives in ``scrapers/parsers/<name>.py``. Hooks and helpers:

- ``self.url("host_key", "/path?query")``: an absolute URL on the real site, or on the local
  sample marketplace when the spider runs with ``-a base_url=http://127.0.0.1:PORT`` (each host
  then lives under ``<base_url>/<name>/<host_key>``).
- ``self.scraped_at``: the night's as-of time (ISO 8601 UTC), from ``-a as_of=...``, the
  ``KEITRUCKS_AS_OF`` setting, or the clock at start. Parsers receive it; they never read the clock.
- ``self.search_key``: identifies what this run searched. Listings are only marked gone by a
  healthy, complete run over the same search key.
- ``self.source_config``: ``default_config`` overridden by this source's TOML table (or by the
  ``KEITRUCKS_SOURCE_CONFIG`` setting, that table as JSON, on a remote job's host).
- ``self.on_error``: an errback that counts a failed request; any failed request makes the run
  incomplete, so a broken crawl never marks listings gone.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, ClassVar

import scrapy

from keitrucks.core.config import load_config
from keitrucks.core.dates import normalize_as_of, now_iso


class ListingSpider(scrapy.Spider):
    #: real site base URLs by key, e.g. {"www": "https://www.example.com"}.
    hosts: ClassVar[dict[str, str]] = {}
    #: requests allowed per night; None falls back to KEITRUCKS_REQUEST_BUDGET.
    request_budget: int | None = None
    #: this source's configuration defaults; the TOML table [sources.<name>] overrides them.
    default_config: ClassVar[dict[str, Any]] = {}

    def __init__(self, *args: Any, base_url: str | None = None, as_of: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.base_url = base_url.rstrip("/") if base_url else None
        self._as_of_arg = as_of

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        as_of = spider._as_of_arg or crawler.settings.get("KEITRUCKS_AS_OF")
        spider.scraped_at = normalize_as_of(as_of) if as_of else now_iso()
        config = load_config(crawler.settings.get("KEITRUCKS_CONFIG"))
        spider.config = config
        # a remote job's host has no configuration file: the night's host sends this table
        table = crawler.settings.getdict("KEITRUCKS_SOURCE_CONFIG") or config["sources"].get(
            spider.name, {}
        )
        spider.source_config = {**spider.default_config, **table}
        return spider

    def url(self, host: str, path: str = "") -> str:
        if self.base_url:
            return f"{self.base_url}/{self.name}/{host}{path}"
        return f"{self.hosts[host]}{path}"

    @property
    def search_key(self) -> str:
        scope = {"base": self.base_url or "live", "search": self.search_scope()}
        digest = hashlib.sha1(json.dumps(scope, sort_keys=True).encode()).hexdigest()[:12]
        return f"{self.name}:{digest}"

    def search_scope(self) -> Any:
        """What this run searches (areas, queries ...): override in leaf spiders."""
        return self.source_config

    def count(self, key: str, n: int = 1) -> None:
        self.crawler.stats.inc_value(f"keitrucks/{key}", n)

    def on_error(self, failure) -> None:
        self.count("request_failed")
        self.logger.warning("Request failed: %s (%s)", failure.request.url, failure.value)

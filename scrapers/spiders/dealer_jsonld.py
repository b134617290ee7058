"""US dealer sites, any platform: one generic spider over a user-edited list of dealers.

Each dealer is a table of ``[[sources.dealer_jsonld.dealers]]`` in the configuration::

    [[sources.dealer_jsonld.dealers]]
    name = "Blue Ridge Kei Trucks"                    # required
    start_urls = ["https://www.example-dealer.com/used-inventory/index.htm"]   # required
    platform = "dealercom"      # optional: dealercom, dealerfire, dealrcloud (else fingerprinted)
    listing_links = ".vehicle-card-title a"   # optional CSS: the vehicle links of an inventory page
    next_page = ".pagination-next a"          # optional CSS, besides rel=next
    domain = "example-dealer.com"             # optional: prefixes non-VIN ids (default: the host)
    location = "Hickory, NC"                  # optional: when the markup gives no address
    anchor = "Example Dealer"                 # optional: text every page of the site carries
    max_pages = 10                            # inventory pages per start URL
    request_budget = 60                       # requests per night for this dealer

For every start URL the spider reads the inventory pages (following ``rel=next`` or
``next_page``), stores the vehicles an inventory page describes completely (JSON-LD with a sale
price), and reads the vehicle pages (VDPs) its links and JSON-LD ItemLists point to. Non-kei
inventory is skipped as early as possible: links whose text or URL reads like another vehicle are
not requested, and vehicles whose structured data is not a kei truck are not yielded. Without
dealers the spider does nothing and says so.

URLs under ``-a base_url=URL`` (the sample marketplace): each dealer lives at
``<base_url>/dealer_jsonld/<key>``. ``key`` is the first path segment of a *relative* start URL
(``/blueridge/used-inventory/index.htm`` -> key ``blueridge``, path ``/used-inventory/index.htm``)
or the host of an absolute one (``https://www.x.com/inv`` -> key ``www.x.com``, path ``/inv``).
Every site path the spider requests -- start URLs and the root-relative links real dealer pages
carry -- is re-rooted there, as ``ListingSpider.url(host_key, path)`` does for other sources.
Relative start URLs only work with ``base_url``; against real sites a dealer needs absolute ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import scrapy

from keitrucks.core.config import source_defaults
from scrapers.items import Listing
from scrapers.parsers import dealer_jsonld as parser
from scrapers.spiders.base import ListingSpider

#: Requests per dealer per night, and inventory pages per start URL, unless the dealer says.
DEALER_REQUEST_BUDGET = 60
DEALER_MAX_PAGES = 10


class DealerConfigError(ValueError):
    """A dealer table the spider cannot use, worded for the log."""


@dataclass(frozen=True)
class Dealer:
    name: str
    #: the host key under base_url (see the module docstring).
    key: str
    #: where site paths are requested: the real site's origin or <base_url>/dealer_jsonld/<key>.
    root: str
    #: the real site's host name; None for a sample dealer given by relative URLs.
    host: str | None
    start_paths: tuple[str, ...]
    domain: str
    platform: str | None = None
    listing_links: str | None = None
    next_page: str | None = None
    location: str | None = None
    anchor: str | None = None
    max_pages: int = DEALER_MAX_PAGES
    request_budget: int = DEALER_REQUEST_BUDGET

    @property
    def hints(self) -> parser.DealerHints:
        return parser.DealerHints(
            domain=self.domain, platform=self.platform, location=self.location, seller_type="dealer"
        )

    def site_url(self, url: str, base_url: str | None) -> str | None:
        """The URL to request for a link found on this dealer's pages; None when it leads off
        the dealer's site. Under ``base_url`` the link's path is re-rooted at ``root``."""
        parts = urlsplit(url)
        tail = urlunsplit(("", "", parts.path or "/", parts.query, ""))
        if base_url is None:
            same = _bare(parts.hostname) == _bare(self.host)
            return urlunsplit(parts._replace(fragment="")) if same else None
        if url == self.root or url.startswith(self.root + "/"):
            return urlunsplit(parts._replace(fragment=""))
        on_sample = url.startswith(base_url + "/")
        if on_sample or (self.host and _bare(parts.hostname) == _bare(self.host)):
            return self.root + tail
        return None


def _bare(host: str | None) -> str:
    return (host or "").lower().removeprefix("www.")


def _path_and_query(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(("", "", parts.path or "/", parts.query, ""))


def load_dealer(config: dict[str, Any], *, base_url: str | None, source: str) -> Dealer:
    """One dealer table -> Dealer; ``DealerConfigError`` says what is wrong with it."""
    if not isinstance(config, dict):
        raise DealerConfigError(f"a dealer must be a table, not {config!r}")
    name = config.get("name")
    urls = config.get("start_urls")
    if isinstance(urls, str):
        urls = [urls]
    if not name or not urls or not all(isinstance(u, str) and u.strip() for u in urls):
        raise DealerConfigError(f"dealer {name or config!r} needs a name and start_urls")
    keys, paths, hosts = set(), [], set()
    for raw in (u.strip() for u in urls):
        parts = urlsplit(raw)
        if parts.scheme in ("http", "https") and parts.hostname:
            hosts.add(parts.hostname.lower())
            keys.add(parts.hostname.lower())
            paths.append(_path_and_query(raw))
            origin = f"{parts.scheme}://{parts.netloc}"
        elif raw.startswith("/") and len(raw.split("/")) > 1 and raw.split("/")[1]:
            if base_url is None:
                raise DealerConfigError(
                    f"dealer {name!r}: relative start URL {raw!r} works only with -a base_url"
                )
            key, _, rest = raw.lstrip("/").partition("/")
            keys.add(key)
            paths.append(_path_and_query("/" + rest))
            origin = None
        else:
            raise DealerConfigError(f"dealer {name!r}: start URL {raw!r} is not a URL")
    if len(keys) != 1 or len(hosts) > 1:
        raise DealerConfigError(f"dealer {name!r}: start URLs must all be on one site")
    key = keys.pop()
    host = hosts.pop() if hosts else None
    root = f"{base_url}/{source}/{key}" if base_url else origin
    return Dealer(
        name=str(name),
        key=key,
        root=root,
        host=host,
        start_paths=tuple(paths),
        domain=str(config.get("domain") or _bare(host) or key).lower(),
        platform=config.get("platform") or None,
        listing_links=config.get("listing_links") or None,
        next_page=config.get("next_page") or None,
        location=config.get("location") or None,
        anchor=config.get("anchor") or None,
        max_pages=int(config.get("max_pages") or DEALER_MAX_PAGES),
        request_budget=int(config.get("request_budget") or DEALER_REQUEST_BUDGET),
    )


class DealerJsonldSpider(ListingSpider):
    name = "dealer_jsonld"
    # No ``hosts``: every configured dealer is its own host (see the module docstring).
    #: [sources.dealer_jsonld] defaults; their one home is keitrucks.core.config.DEFAULT_CONFIG.
    default_config = source_defaults("dealer_jsonld")

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.dealers: dict[str, Dealer] = {}
        self.seen_ids: set[str] = set()
        self.requested: set[str] = set()
        self.spent: dict[str, int] = {}

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.dealers = spider.load_dealers(spider.source_config.get("dealers") or [])
        # The middleware's nightly cap is the sum of the dealers' own budgets.
        spider.request_budget = sum(d.request_budget for d in spider.dealers.values())
        return spider

    def load_dealers(self, tables: list[Any]) -> dict[str, Dealer]:
        dealers: dict[str, Dealer] = {}
        for table in tables:
            try:
                dealer = load_dealer(table, base_url=self.base_url, source=self.name)
            except DealerConfigError as exc:
                self.logger.error("Dealer skipped: %s", exc)
                continue
            if dealer.key in dealers:
                self.logger.error("Dealer %r skipped: its site is already listed", dealer.name)
                continue
            dealers[dealer.key] = dealer
        return dealers

    async def start(self):
        if not self.dealers:
            self.logger.warning(
                "No dealers configured: nothing to crawl. Add [[sources.%s.dealers]] tables "
                "(name, start_urls, platform ...) to the configuration file.",
                self.name,
            )
            return
        for dealer in self.dealers.values():
            for path in dealer.start_paths:
                request = self.request_for(dealer, dealer.root + path, self.parse_inventory, page=1)
                if request is not None:
                    yield request

    def request_for(self, dealer: Dealer, url: str, callback, **cb_kwargs) -> scrapy.Request | None:
        """A request within the dealer's budget, each URL once a night; None otherwise."""
        if url in self.requested:
            return None
        if self.spent.get(dealer.key, 0) >= dealer.request_budget:
            self.count("dealer_budget_spent")
            # Not everything was seen: the run must not mark this dealer's trucks gone.
            self.crawler.stats.set_value("keitrucks/budget_exhausted", 1)
            self.logger.warning("Request budget of %s spent; %s not read", dealer.name, url)
            return None
        self.requested.add(url)
        self.spent[dealer.key] = self.spent.get(dealer.key, 0) + 1
        return scrapy.Request(
            url,
            callback=callback,
            errback=self.on_error,
            cb_kwargs={"dealer_key": dealer.key, **cb_kwargs},
            meta={"expect": "html", "anchor": dealer.anchor},
        )

    def parse_inventory(self, response, dealer_key: str, page: int) -> Iterator[Any]:
        dealer = self.dealers[dealer_key]
        result = parser.parse_inventory(
            response,
            self.scraped_at,
            dealer.hints,
            link_css=dealer.listing_links,
            next_css=dealer.next_page,
        )
        yield from self.take(result.listings, dealer)
        for link in result.links:
            url = dealer.site_url(link.url, self.base_url)
            if url is None:
                self.count("offsite_link")
            elif not parser.link_may_be_kei(link):
                self.count("skipped_not_kei_link")
            elif request := self.request_for(dealer, url, self.parse_vehicle):
                yield request
        if not result.listings and not result.links and not result.no_results:
            self.logger.error("No vehicles or vehicle links on %s: layout change?", response.url)
            self.count("empty_page")
        if result.next_url:
            yield from self.next_page(dealer, result.next_url, page)

    def next_page(self, dealer: Dealer, next_url: str, page: int) -> Iterator[scrapy.Request]:
        url = dealer.site_url(next_url, self.base_url)
        if url is None:
            self.logger.warning(
                "Next page %s of %s is off the site; not followed", next_url, dealer.name
            )
            return
        if page >= dealer.max_pages:
            self.count("max_pages_reached")
            self.crawler.stats.set_value("keitrucks/budget_exhausted", 1)
            self.logger.warning("%s: stopped after %d inventory pages", dealer.name, page)
            return
        if request := self.request_for(dealer, url, self.parse_inventory, page=page + 1):
            yield request

    def parse_vehicle(self, response, dealer_key: str) -> Iterator[Listing]:
        dealer = self.dealers[dealer_key]
        listings = parser.parse_vehicles(response, self.scraped_at, dealer.hints)
        if not listings:
            self.logger.error("No vehicle structured data on %s: layout change?", response.url)
            self.count("empty_page")
            return
        yield from self.take(listings, dealer)

    def take(self, listings: list[Listing], dealer: Dealer) -> Iterator[Listing]:
        """Kei trucks only, each once a night, with the dealer's name."""
        for listing in listings:
            if not parser.is_kei_listing(listing):
                self.count("skipped_not_kei")
                continue
            if listing.listing_id in self.seen_ids:
                self.count("duplicate_listing")
                continue
            self.seen_ids.add(listing.listing_id)
            yield replace(listing, attributes={**listing.attributes, "dealer": dealer.name})

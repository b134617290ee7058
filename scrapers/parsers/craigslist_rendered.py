"""Craigslist search results as a browser renders them ("Save page as" from a browser).

The JavaScript app replaces the no-JS list (``ol.cl-static-search-results``, left empty) with one
``div.cl-search-result[data-pid]`` per result: the posting id, the title (``a.posting-title
span.label``), a ``div.meta`` line (the posting time in the title of its first ``span``, then the
price or pay, the odometer ...) and, on some results, a bare ``div`` with the neighbourhood. The
spider never downloads this layout (it reads the no-JS page and the JSON API); it is read so that a
page a user saved from a browser can be checked with ``keitrucks parse``. Each result is read once,
whatever the number of times the page shows it.
"""

from __future__ import annotations

from scrapy.http import TextResponse

from scrapers.items import Listing
from scrapers.parsers import craigslist_text as cl
from scrapers.parsers import nodes
from scrapers.parsers.shape import unique_listings

SOURCE = "craigslist"
#: One result of a search page as a browser renders it.
RENDERED_RESULT_CSS = "div.cl-search-result[data-pid]"


def _own_texts(node: nodes.Node) -> list[str]:
    """The text pieces of ``node`` that are not inside a button."""
    texts = nodes.select_xpath(node, ".//text()[not(ancestor::button)]")
    return [text for text in (cl.clean(t) for t in texts) if text]


def parse_result(result: nodes.Node, response: TextResponse, scraped_at: str | None) -> Listing:
    listing_id = result.attrib["data-pid"]
    href = nodes.get(result, "a.posting-title::attr(href)") or nodes.get(result, "a::attr(href)")
    url = response.urljoin(href.strip()) if href else response.url
    title = cl.text(nodes.select(result, "a.posting-title .label")) or cl.clean(result.get("title"))
    meta = nodes.select(result, "div.meta")
    posted = next(
        (found for div in meta for found in nodes.select(div, "span[title]::attr(title)")), None
    )
    price = cl.text(nodes.select(result, ".priceinfo"))
    details = [t for t in _own_texts(meta[0]) if t != price] if meta else []
    places = nodes.select_xpath(
        result, "./div[@class='result-node']/div[@class='result-info']/div[not(@class)]"
    )
    category = cl.category_of_url(url)
    attributes = {"meta": " · ".join(details[1:])} if len(details) > 1 else {}
    images = [
        src
        for src in nodes.select(result, "img::attr(src)")
        if src and not src.endswith("/empty.png")
    ]
    return Listing(
        source=SOURCE,
        listing_id=listing_id,
        url=url,
        scraped_at=scraped_at,
        title=cl.scrub_contacts(title),
        price_raw=price,
        location_raw=cl.text(places),
        posted_raw=cl.clean(posted),
        attributes=attributes,
        seller_type=cl.CATEGORY_SELLER.get(category) if category else None,
        price_basis="asking" if price else None,
        image_urls=[response.urljoin(src) for src in images],
    )


def parse_search_rendered(response: TextResponse, scraped_at: str | None = None) -> list[Listing]:
    """Every ``div.cl-search-result[data-pid]`` of a browser-rendered results page, once each."""
    results = nodes.select(response, RENDERED_RESULT_CSS)
    return unique_listings(parse_result(r, response, scraped_at) for r in results)

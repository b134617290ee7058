"""Bring a Trailer (https://bringatrailer.com): auction results and live auctions of a model.

A model page (``/honda/acty/``) embeds its 24 most recent completed auctions as
``var auctionsCompletedInitialData = {...}`` (sold price or high bid, end time, excerpt) and shows
its live auctions as ``div.listing-card`` cards (current bid). Its
``BAT_MODEL_LISTINGS_COMPLETED_TOOLBAR`` holds the REST nonce and URL of the ``listings-filter``
endpoint, whose JSON answer pages through the whole history with the same item shape. A listing
page adds the "BaT Essentials" (chassis, miles, engine, transmission, drivetrain, seller type).
The models directory (``/models/``) links every model page.

Parsers do not judge whether an item is a kei truck (normalization does); they skip items
without an id. ``attributes["ended_at"]`` is the auction end as ISO 8601 UTC, from the unix
``timestamp_end`` (kept verbatim in ``attributes["timestamp_end"]``).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

from parsel import Selector

from scrapers.blocking import looks_like_json
from scrapers.items import Listing
from scrapers.parsers import nodes
from scrapers.parsers.bringatrailer_text import (
    TITLE_DRIVE,
    TITLE_TRANSMISSION,
    WITHDRAWN,
    Result,
    clean_text,
    currency_of,
    end_attributes,
    extract_js_object,
    float_or_none,
    int_or_none,
    parse_result_text,
    title_match,
    title_mileage,
    title_year,
)
from scrapers.parsers.shape import Layout, unique_listings

logger = logging.getLogger(__name__)

SOURCE = "bringatrailer"
#: Text every valid model page carries (the block detector's anchor).
MODEL_PAGE_ANCHOR = "auctionsCompletedInitialData"
COMPLETED_VAR = "auctionsCompletedInitialData"
#: The live auctions page (``/auctions/``) embeds every live auction on the site in this variable.
LIVE_VAR = "auctionsCurrentInitialData"
LIVE_PAGE_ANCHOR = LIVE_VAR
#: The model links of the makes & models directory (``/models/``).
MODELS_DIRECTORY_CSS = "div.previous-listing a.previous-listing-image-link"
TOOLBAR_VAR = "BAT_MODEL_LISTINGS_COMPLETED_TOOLBAR"


# "Listing Details" lines, tried in order; the first pattern that matches names the line.
_DETAIL_KINDS = (
    ("mileage", re.compile(r"\d[\d,.]*k?\s*(miles|kilometers|km)\b|\bTMU\b", re.I)),
    ("transmission", re.compile(r"\b(manual|automatic|transmission|transaxle|cvt)\b", re.I)),
    (
        "drive",
        re.compile(r"\b(4WD|AWD|2WD|RWD|FWD|4x4|4x2|(four|all|rear|front|two)-wheel)\b", re.I),
    ),
    ("engine", re.compile(r"\b(\d+cc|\d\.\d+L|cylinder|flat-|inline|v\d+|engine|turbo)", re.I)),
    ("paint", re.compile(r"\bpaint\b", re.I)),
    ("upholstery", re.compile(r"\b(upholstery|interior|vinyl|cloth|leather)\b", re.I)),
)


@dataclass
class Toolbar:
    """The completed-results toolbar: what a ``listings-filter`` POST needs."""

    rest_nonce: str | None
    rest_url: str | None


@dataclass
class ResultsPage:
    """One page of completed auctions (embedded in a model page or from ``listings-filter``)."""

    listings: list[Listing] = field(default_factory=list)
    items_total: int | None = None
    pages_total: int | None = None
    page_current: int | None = None
    #: the model's keyword page ids: the ``base_filter`` of a ``listings-filter`` request.
    keyword_pages: list[int] = field(default_factory=list)
    #: items dropped because they carry no id.
    skipped: int = 0


@dataclass
class ModelPage:
    #: None when the page has no decodable ``auctionsCompletedInitialData``.
    completed: ResultsPage | None
    live: list[Listing]
    toolbar: Toolbar | None


def _flag_country(flag_html: Any) -> str | None:
    if not isinstance(flag_html, str) or not flag_html:
        return None
    return clean_text(nodes.get(nodes.parse_html(flag_html), "img::attr(alt)"))


def _outcome(result: Result | None, active: bool, amount: str | None, text: str | None = None):
    """(price_raw, price_basis, status_raw): a worded result wins; a live item shows its bid."""
    if result is not None:
        return result.amount, result.price_basis, result.status_raw
    if active and amount:
        return amount, "bid", "live"
    if text and WITHDRAWN.match(text):
        return None, None, "withdrawn"
    return amount, None, "live" if active else None


def parse_result_item(item: dict, scraped_at: str | None, base_url: str) -> Listing | None:
    """One completed (or, in ``listings-filter`` answers, live) auction; None without an id."""
    if not isinstance(item, dict) or item.get("id") in (None, ""):
        return None
    listing_id = str(item["id"])
    title = clean_text(item.get("title"))
    sold_text = clean_text(item.get("sold_text"))
    result = parse_result_text(sold_text)
    bid = clean_text(item.get("current_bid_formatted")) if item.get("current_bid") else None
    price_raw, price_basis, status_raw = _outcome(result, bool(item.get("active")), bid, sold_text)
    attributes = {}
    if sold_text:
        attributes["sold_text"] = sold_text
    end_key = "ends_at" if status_raw == "live" else "ended_at"
    attributes.update(end_attributes(item.get("timestamp_end"), end_key))
    if result is not None and result.date:
        attributes["result_date"] = result.date
    if item.get("country_code"):
        attributes["country_code"] = str(item["country_code"])
    if item.get("noreserve"):
        attributes["no_reserve"] = "yes"
    url = item.get("url") or f"/?p={listing_id}"
    thumbnail = item.get("thumbnail_url")
    year = item.get("year")
    return Listing(
        source=SOURCE,
        listing_id=listing_id,
        url=urljoin(base_url, url),
        scraped_at=scraped_at,
        title=title,
        description=clean_text(item.get("excerpt")),
        price_raw=price_raw,
        currency_raw=clean_text(item.get("currency")) if price_raw else None,
        location_raw=clean_text(item.get("country"))
        or _flag_country(item.get("country_flag"))
        or clean_text(item.get("country_code_alpha3")),
        year_raw=str(year) if year not in (None, "") else title_year(title),
        mileage_raw=title_mileage(title),
        drive_raw=title_match(TITLE_DRIVE, title),
        transmission_raw=title_match(TITLE_TRANSMISSION, title),
        attributes=attributes,
        price_basis=price_basis,
        image_urls=[urljoin(base_url, thumbnail)] if thumbnail else [],
        latitude=float_or_none(item.get("lat")),
        longitude=float_or_none(item.get("lon")),
        status_raw=status_raw,
    )


def parse_results(data: dict, base_url: str, scraped_at: str | None) -> ResultsPage:
    """A results object (``items`` plus totals) as embedded or as ``listings-filter`` answers."""
    items = data.get("items")
    items = items if isinstance(items, list) else []
    listings = []
    skipped = 0
    for item in items:
        listing = parse_result_item(item, scraped_at, base_url)
        if listing is None:
            skipped += 1
        else:
            listings.append(listing)
    base_filter = data.get("base_filter")
    keyword_pages = base_filter.get("keyword_pages") if isinstance(base_filter, dict) else None
    keyword_pages = keyword_pages if isinstance(keyword_pages, list) else []
    return ResultsPage(
        listings=listings,
        items_total=int_or_none(data.get("items_total")),
        pages_total=int_or_none(data.get("pages_total")),
        page_current=int_or_none(data.get("page_current")),
        keyword_pages=[int(k) for k in keyword_pages if int_or_none(k) is not None],
        skipped=skipped,
    )


def parse_completed_data(response) -> dict | None:
    """The decoded ``auctionsCompletedInitialData`` object, or None when absent or broken."""
    script = nodes.get(response, "script#bat-theme-auctions-completed-initial-data::text")
    data = extract_js_object(script, COMPLETED_VAR) if script else None
    if data is None:
        data = extract_js_object(response.text, COMPLETED_VAR)
    return data


def parse_toolbar(response) -> Toolbar | None:
    """``restNonce`` and ``restUrlListingsFilter`` of the completed-results toolbar."""
    data = extract_js_object(response.text, TOOLBAR_VAR)
    if data is None:
        return None
    return Toolbar(
        rest_nonce=clean_text(data.get("restNonce")),
        rest_url=clean_text(data.get("restUrlListingsFilter")),
    )


def parse_live_card(
    card: Selector | nodes.Node, base_url: str, scraped_at: str | None
) -> Listing | None:
    """One ``div.listing-card`` of the live auctions grid (current bid, end time)."""
    card = nodes.element(card)
    listing_id = clean_text(card.get("data-listing_id"))
    if not listing_id:
        return None
    links = nodes.select(card, "h3 a")
    href = (links[0].get("href") if links else None) or nodes.get(
        card, "a.image-overlay::attr(href)"
    )
    title = clean_text(" ".join(text for link in links for text in link.itertext())) or clean_text(
        nodes.get(card, ".thumbnail img::attr(alt)")
    )
    bid = clean_text(nodes.get(card, ".bid-formatted::text"))
    results = clean_text(" ".join(nodes.select(card, ".item-results ::text")))
    result = parse_result_text(results)
    price_raw, price_basis, status_raw = _outcome(result, True, bid)
    attributes = end_attributes(card.get("data-timestamp_end"), "ends_at")
    if results:
        attributes["sold_text"] = results
    country = clean_text(nodes.get(card, ".show-country-name::text"))
    if country:
        attributes["country"] = country
    if nodes.select(card, ".item-tag-noreserve"):
        attributes["no_reserve"] = "yes"
    image = nodes.get(card, ".thumbnail img::attr(src)")
    return Listing(
        source=SOURCE,
        listing_id=listing_id,
        url=urljoin(base_url, href or f"/?p={listing_id}"),
        scraped_at=scraped_at,
        title=title,
        description=clean_text(" ".join(nodes.select(card, ".item-excerpt ::text"))),
        price_raw=price_raw,
        currency_raw=currency_of(price_raw),
        location_raw=clean_text(
            nodes.get(card, ".item-tag-currency img.countries-flags::attr(alt)")
        )
        or country,
        year_raw=title_year(title),
        mileage_raw=title_mileage(title),
        drive_raw=title_match(TITLE_DRIVE, title),
        transmission_raw=title_match(TITLE_TRANSMISSION, title),
        attributes=attributes,
        price_basis=price_basis,
        image_urls=[urljoin(base_url, image)] if image else [],
        status_raw=status_raw,
    )


def parse_live_cards(response, scraped_at: str | None) -> list[Listing]:
    cards = nodes.select(response, "div.listing-card[data-listing_id][data-timestamp_end]")
    listings = [parse_live_card(card, response.url, scraped_at) for card in cards]
    return [listing for listing in listings if listing is not None]


def parse_live_page(response, scraped_at: str | None) -> ResultsPage | None:
    """The live auctions page (``/auctions/``): every live auction in ``auctionsCurrentInitialData``
    (same item shape as the completed results), one record per auction even when a card on the
    page shows it again. None when the page has no decodable variable."""
    script = nodes.get(response, "script#bat-theme-auctions-current-initial-data::text")
    data = extract_js_object(script, LIVE_VAR) if script else None
    if data is None:
        data = extract_js_object(response.text, LIVE_VAR)
    if data is None:
        return None
    results = parse_results(data, response.url, scraped_at)
    cards = parse_live_cards(response, scraped_at)
    results.listings = unique_listings([*results.listings, *cards])
    return results


def parse_model_page(response, scraped_at: str | None) -> ModelPage:
    """Completed auctions (embedded JSON), live auction cards and a model page's REST toolbar"""
    data = parse_completed_data(response)
    completed = parse_results(data, response.url, scraped_at) if data is not None else None
    return ModelPage(
        completed=completed,
        live=parse_live_cards(response, scraped_at),
        toolbar=parse_toolbar(response),
    )


def parse_listings_filter(response, scraped_at: str | None) -> ResultsPage | None:
    """A ``listings-filter`` JSON answer; None when it is not a results object."""
    try:
        data = json.loads(response.text)
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        return None
    return parse_results(data, response.url, scraped_at)


def listings_filter_body(keyword_pages: list[int], page: int, per_page: int = 48) -> dict:
    """The POST body of a ``listings-filter`` request for one model, newest results first.

    The model filter must sit inside ``base_filter``: at the top level it is silently ignored and
    the endpoint answers with every listing on the site. ``per_page`` above 48 gives HTTP 400.
    """
    return {
        "page": page,
        "per_page": per_page,
        "get_items": 1,
        "sort": "td",
        "base_filter": {"keyword_pages": list(keyword_pages)},
    }


def _classify_detail(line: str) -> str | None:
    for kind, pattern in _DETAIL_KINDS:
        if pattern.search(line):
            return kind
    return None


def _strong_label(item: nodes.Node) -> str | None:
    """An Essentials item's label: the first text of a ``<strong>`` in it (``strong::text``)."""
    for strong in item.iter("strong"):
        for text in (strong.text, *(child.tail for child in strong)):
            if text:
                return clean_text(text)
    return None


def essentials(response) -> list[tuple[str | None, nodes.Node]]:
    """The BaT Essentials items with their labels, read once per page."""
    return [(_strong_label(item), item) for item in nodes.select(response, ".essentials .item")]


def parse_listing_details(response, items=None) -> dict[str, str]:
    """The "Listing Details" lines of the BaT Essentials, by kind (chassis, mileage, drive ...).

    Lines that fit no kind are kept, joined, under "other". ``items`` are ``essentials(response)``
    when the caller has them already.
    """
    details: dict[str, str] = {}
    others = []
    for label, item in items if items is not None else essentials(response):
        if label != "Listing Details":
            continue
        for li in nodes.select(item, "ul > li"):
            line = clean_text(" ".join(li.itertext()))
            if not line:
                continue
            if line.lower().startswith("chassis"):
                details["chassis"] = line.split(":", 1)[-1].strip()
                continue
            kind = _classify_detail(line)
            if kind and kind not in details:
                details[kind] = line
            else:
                others.append(line)
    if others:
        details["other"] = "; ".join(others)
    return details


def _essential(items: list[tuple[str | None, nodes.Node]], label: str) -> str | None:
    """The value after "<strong>Label</strong>:" in the BaT Essentials (``essentials()``)."""
    for found, item in items:
        if found == label:
            parts = nodes.markup(nodes.select_xpath(item, "./strong/following-sibling::node()"))
            return clean_text(" ".join(parts).lstrip().lstrip(":#"))
    return None


def _listing_stats(response) -> dict[str, str]:
    stats = {}
    for row in nodes.select(response, "table.listing-stats tr"):
        label = clean_text(" ".join(nodes.select(row, ".listing-stats-label ::text")))
        value = clean_text(" ".join(nodes.select(row, ".listing-stats-value ::text")))
        if label and value:
            stats[label] = value
    return stats


def _json_ld_images(response) -> list[str]:
    images: list[str] = []
    for script in nodes.select(response, 'script[type="application/ld+json"]::text'):
        try:
            data = json.loads(script)
        except json.JSONDecodeError:
            continue
        for node in data if isinstance(data, list) else [data]:
            if not isinstance(node, dict) or node.get("@type") != "Product":
                continue
            image = node.get("image")
            images.extend([image] if isinstance(image, str) else [i for i in image or [] if i])
    return [response.urljoin(i) for i in images]


def _shortlink_id(response) -> str | None:
    href = nodes.get(response, "link[rel=shortlink]::attr(href)")
    ids = parse_qs(urlsplit(href).query).get("p") if href else None
    return ids[0] if ids else None


def parse_listing_page(
    response, scraped_at: str | None, listing_id: str | None = None
) -> Listing | None:
    """One auction page: outcome, end time and the BaT Essentials facts.

    The id comes from the page's shortlink (``/?p=<id>``), else ``listing_id``; None without one.
    Missing essentials (no drivetrain line, say) stay None.
    """
    listing_id = _shortlink_id(response) or listing_id
    if not listing_id:
        return None
    info = clean_text(" ".join(nodes.select(response, ".listing-available-info ::text")))
    result = parse_result_text(info)
    items = essentials(response)
    details = parse_listing_details(response, items)
    attributes = {}
    if info:
        attributes["available_info"] = info
    timestamp = nodes.get(response, ".listing-available-info span.date::attr(data-timestamp)")
    timestamp = timestamp or nodes.get(response, "span.date[data-timestamp]::attr(data-timestamp)")
    attributes.update(end_attributes(timestamp, "ended_at"))
    if result is not None and result.date:
        attributes["result_date"] = result.date
    for key, label in (
        ("chassis", "Chassis"),
        ("engine", "Engine"),
        ("paint", "Paint"),
        ("upholstery", "Upholstery"),
        ("other", "Listing Details"),
    ):
        if key in details:
            attributes[label] = details[key]
    lot = _essential(items, "Lot")
    if lot:
        attributes["Lot"] = lot
    bids = _listing_stats(response).get("Bids")
    if bids:
        attributes["Bids"] = bids
    title = clean_text(" ".join(nodes.select(response, "h1.post-title ::text")))
    paragraphs = [
        clean_text(" ".join(p.itertext())) for p in nodes.select(response, ".post-excerpt p")
    ]
    return Listing(
        source=SOURCE,
        listing_id=listing_id,
        url=response.url,
        scraped_at=scraped_at,
        title=title,
        description="\n\n".join(p for p in paragraphs if p) or None,
        price_raw=result.amount if result else None,
        currency_raw=currency_of(result.amount) if result else None,
        location_raw=_essential(items, "Location"),
        year_raw=title_year(title),
        mileage_raw=details.get("mileage") or title_mileage(title),
        drive_raw=details.get("drive"),
        transmission_raw=details.get("transmission"),
        attributes=attributes,
        seller_type=_essential(items, "Private Party or Dealer"),
        price_basis=result.price_basis if result else None,
        image_urls=_json_ld_images(response),
        status_raw=result.status_raw if result else None,
    )


def merge_details(base: Listing, detail: Listing | None) -> Listing:
    """The model page's listing completed by its listing page: the page's facts win where given."""
    if detail is None:
        return base
    richer = {
        name: getattr(detail, name)
        for name in (
            "description",
            "location_raw",
            "mileage_raw",
            "drive_raw",
            "transmission_raw",
            "seller_type",
            "year_raw",
        )
        if getattr(detail, name) is not None
    }
    return replace(
        base,
        **richer,
        title=base.title or detail.title,
        price_raw=base.price_raw or detail.price_raw,
        currency_raw=base.currency_raw or detail.currency_raw,
        price_basis=base.price_basis or detail.price_basis,
        status_raw=base.status_raw or detail.status_raw,
        attributes={**detail.attributes, **base.attributes},
        image_urls=base.image_urls or detail.image_urls,
    )


def parse_models_directory(response) -> list[str]:
    """Absolute URLs of every model page linked from the makes & models directory, in page order."""
    hrefs = nodes.select(response, f"{MODELS_DIRECTORY_CSS}::attr(href)")
    urls = []
    for href in hrefs:
        url = response.urljoin(href.strip())
        if url not in urls:
            urls.append(url)
    return urls


def parse_listings(response, scraped_at: str | None) -> list[Listing]:
    """Every listing on any BaT page kind (for ``keitrucks parse``): JSON, model or listing page.

    JSON that is not a ``listings-filter`` results object holds no listings.
    """
    if looks_like_json(response.body):
        page = parse_listings_filter(response, scraped_at)
        return page.listings if page else []
    if LIVE_PAGE_ANCHOR in response.text or MODEL_PAGE_ANCHOR in response.text:
        return _parse_search(response, scraped_at)
    if nodes.select(response, MODELS_DIRECTORY_CSS):
        return []  # the directory links model pages; it shows no auction
    listing = parse_listing_page(response, scraped_at)
    return [listing] if listing else []


def _parse_search(response, scraped_at: str | None = None) -> list[Listing]:
    if looks_like_json(response.body):
        page = parse_listings_filter(response, scraped_at)
        return page.listings if page else []
    if LIVE_PAGE_ANCHOR in response.text:
        live = parse_live_page(response, scraped_at)
        return live.listings if live else []
    model = parse_model_page(response, scraped_at)
    return unique_listings([*(model.completed.listings if model.completed else []), *model.live])


def _parse_detail(response, scraped_at: str | None = None) -> list[Listing]:
    if looks_like_json(response.body):
        return []  # listing pages are HTML; a JSON answer holds no listing page
    listing = parse_listing_page(response, scraped_at)
    return [listing] if listing else []


parse_page = parse_listings
#: Page kinds for ``keitrucks parse --kind``: each takes (response, scraped_at) -> listings.
PAGE_PARSERS = {"search": _parse_search, "detail": _parse_detail}
#: The page layouts this parser knows, by their anchors (see scrapers/parsers/shape.py).
LAYOUTS = (
    Layout("listings-filter answer", text='"items"', json=True),
    Layout("live auctions page", text=LIVE_PAGE_ANCHOR),
    Layout("model page", text=MODEL_PAGE_ANCHOR),
    Layout("models directory", css=MODELS_DIRECTORY_CSS, listings=False),
    Layout("listing page", css=".essentials"),
)

"""Helpers shared by the Japanese exporter parsers (BE FORWARD, SBT Japan, CAR FROM JAPAN, TCV).

Exporter pages show specs as label/value pairs whose class names are often unreliable (Tailwind
utilities, or nothing verified at all), so these helpers read pairs by their label text: table
rows, ``th``/``dt`` cells and any element whose own text is a known label, each paired with the
element that follows it. Values the sites use for "not stated" ("-", "ASK", "—kg") become
``None``. Everything here is pure: selectors and strings in, strings out; no numbers are parsed
(that is the normalize pipeline's job) beyond what is needed to find the right text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from lxml import etree
from parsel import Selector
from scrapy.http import TextResponse

from scrapers.blocking import looks_like_json
from scrapers.items import RAW_FIELDS, Listing
from scrapers.parsers import nodes

#: Exporters sell as dealers.
SELLER_TYPE = "dealer"

#: Dashes with an optional unit ("-", "—kg", "- km") and words that mean "not stated".
_PLACEHOLDER = re.compile(r"^(?:[-—–]+\s*[a-z³]*|ask|n/?a|none|tba)$", re.I)
_CONDITION = re.compile(r"(?<![A-Za-z])(C\s*&\s*F|CNF|CFR|CIF)(?![A-Za-z])", re.I)
_SOLD = re.compile(r"^(?:sold|sold\s*out)$", re.I)
_NO_RESULTS = re.compile(
    r"\b(?:no\s+(?:matching\s+)?(?:vehicles?|cars?|results?|stock)\s+(?:were\s+)?found"
    r"|0\s+(?:vehicles?|cars?|results?)\b(?:\s+found)?)",
    re.I,
)
#: (mark, currency) pairs in the order they are looked for in a price.
CURRENCY_MARKS = (("US$", "USD"), ("USD", "USD"), ("¥", "JPY"), ("JPY", "JPY"), ("$", "USD"))
#: A page parser for ``keitrucks parse``: (response, scraped_at) -> listings.
PageParser = Callable[[TextResponse, str | None], list[Listing]]


@dataclass
class SearchPage:
    """One search-results page of an exporter."""

    listings: list[Listing]
    #: True when the page links a next page, False on the last page, None when the page shows
    #: no pagination at all (then only an empty page proves the end).
    has_next: bool | None
    #: True when the page says the search matched nothing (a legitimate empty result).
    no_results: bool = False
    #: absolute URL of the next page, where the parser reads it (BE FORWARD); else None.
    next_url: str | None = None


def clean(text: str | None) -> str | None:
    """Whitespace (no-break spaces too) collapsed; None when nothing is left."""
    return nodes.clean(text)


def value(text: str | None) -> str | None:
    """A displayed value, None for the sites' placeholders ("-", "ASK", "—kg", "N/A")."""
    text = clean(text)
    return None if text is None or _PLACEHOLDER.match(text) else text


def text_of(sel: Selector | nodes.Node | None) -> str | None:
    """All visible text of an element (scripts and styles left out), whitespace collapsed."""
    return nodes.visible_text(sel)


def first_text(scope, css: str) -> str | None:
    """The visible text of the first match of ``css`` under ``scope`` (a response, a Selector
    or an element)."""
    return nodes.visible_text(nodes.first(scope, css))


def own_text(sel: Selector | nodes.Node) -> str | None:
    """The element's own text nodes only (not its children's)."""
    return nodes.own_text(sel)


def label_key(label: str | None) -> str:
    """A label folded for matching: "Registration Year / Month" -> "registrationyearmonth"."""
    return re.sub(r"[\W_]+", "", (clean(label) or "").lower())


def has_class(sel: Selector | nodes.Node, name: str) -> bool:
    return nodes.has_class(sel, name)


def add_pair(pairs: dict[str, str], label: str | None, text: str | None) -> None:
    """Keep the first value of a label; drop empty labels and placeholder values."""
    label, text = clean(label), value(text)
    if label and text and label not in pairs:
        pairs[label] = text


def table_pairs(table: Selector | nodes.Node) -> dict[str, str]:
    """Label -> value of a spec table: ``th`` cells label the cell after them; rows of plain
    ``td`` cells alternate label, value, label, value."""
    pairs: dict[str, str] = {}
    for row in nodes.select_xpath(table, ".//tr"):
        cells = [cell for cell in nodes.elements(row) if cell.tag in ("th", "td")]
        if any(cell.tag == "th" for cell in cells):
            for n, cell in enumerate(cells):
                if cell.tag == "th" and n + 1 < len(cells):
                    add_pair(pairs, text_of(cell), text_of(cells[n + 1]))
        else:
            for n in range(0, len(cells) - 1, 2):
                add_pair(pairs, text_of(cells[n]), text_of(cells[n + 1]))
    return pairs


def sibling_pairs(scope, labels: Iterable[str] = ()) -> dict[str, str]:
    """Label -> value for every ``dt``/``th`` and every element whose whole text is one of
    ``labels`` (matched folded), each paired with the element right after it."""
    wanted = {_label_text(label) for label in labels}
    pairs: dict[str, str] = {}
    for element in nodes.element(scope).iterdescendants(etree.Element):
        following = nodes.next_element(element)
        if following is None or (element.tag not in ("dt", "th") and not wanted):
            continue
        label = text_of(element)
        if element.tag in ("dt", "th") or _label_text(label) in wanted:
            add_pair(pairs, label, text_of(following))
    return pairs


def _label_text(text: str | None) -> str:
    """A label as compared by ``sibling_pairs``: case and a trailing colon ignored."""
    return (clean(text) or "").rstrip(":").strip().casefold()


def currency_of(text: str | None, marks: Iterable[tuple[str, str]] = CURRENCY_MARKS) -> str | None:
    """ "US$ 6,834" -> "USD", "¥680,000" -> "JPY": the currency of the first of ``marks`` in the
    text; None when the text names none."""
    if not text:
        return None
    return next((code for mark, code in marks if mark in text), None)


def price_condition(text: str | None) -> str | None:
    """The quote type a total is given on: "C&F" (also written CNF/CFR) or "CIF"."""
    match = _CONDITION.search(text or "")
    if not match:
        return None
    word = re.sub(r"\s+", "", match.group(1)).upper()
    return "CIF" if word == "CIF" else "C&F"


def is_sold_mark(text: str | None) -> bool:
    """ "SOLD", "Sold out": a badge or price cell that says the vehicle is gone."""
    return bool(_SOLD.match(clean(text) or ""))


def has_sold_mark(scope) -> bool:
    """Any element of ``scope`` whose own text is a sold badge."""
    return any(
        is_sold_mark(nodes.own_text(e)) for e in nodes.element(scope).iterdescendants(etree.Element)
    )


def says_no_results(text: str | None) -> bool:
    """The site's own words for an empty search ("0 results", "No vehicles found")."""
    return bool(_NO_RESULTS.search(text or ""))


def image_url(src: str | None, base: str | None = None) -> str | None:
    """An absolute https image URL; None for data URIs and relative template placeholders."""
    src = (src or "").strip()
    if src.startswith("//"):
        return "https:" + src
    if src.startswith("http://"):
        return "https://" + src[len("http://") :]
    if src.startswith("https://"):
        return src
    if base and src.startswith("/") and not src.startswith("/html/template/"):
        return base.rstrip("/") + src
    return None


def unique(values: Iterable[str | None]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def spec_fields(pairs: dict[str, str], labels: dict[str, str]) -> dict[str, str | None]:
    """Raw fields read from spec pairs: ``labels`` maps each field to the label of its value."""
    return {name: pairs.get(label) for name, label in labels.items()}


def dig(data, *keys: str):
    """``data[k1][k2]...``, or None as soon as a level is missing or not an object."""
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def drop_none(mapping: dict[str, str | None]) -> dict[str, str]:
    return {key: val for key, val in mapping.items() if val}


def merge_listings(
    primary: Listing, secondary: Listing, *, secondary_wins: Iterable[str] = ()
) -> Listing:
    """``primary`` completed by ``secondary``: a raw field ``primary`` lacks is taken from
    ``secondary``; fields named in ``secondary_wins`` come from ``secondary`` when it has them.
    Attributes are united (``primary``'s win, except ``secondary_wins`` keys); images come
    from ``secondary`` when it has any (a detail gallery beats a card thumbnail)."""
    wins = set(secondary_wins)
    filled = {
        name: getattr(secondary, name)
        for name in RAW_FIELDS
        if name not in ("attributes", "image_urls")
        and getattr(secondary, name) is not None
        and (getattr(primary, name) is None or name in wins)
    }
    attributes = {**secondary.attributes, **primary.attributes}
    attributes.update({k: v for k, v in secondary.attributes.items() if k in wins})
    return replace(
        primary,
        **filled,
        attributes=attributes,
        image_urls=secondary.image_urls or primary.image_urls,
    )


# -- listings and pages ---------------------------------------------------------------------------


def exporter_listing(source: str, *, price: str | None, sold: bool = False, **fields) -> Listing:
    """A listing of an exporter, a dealer: its vehicle price is FOB, a sold vehicle says "SOLD"
    (pass ``price=None`` for it). ``fields`` are the other ``Listing`` fields; without a
    ``currency_raw`` the currency is the one the price's mark names."""
    fields.setdefault("currency_raw", currency_of(price))
    return Listing(
        source=source,
        price_raw=price,
        seller_type=SELLER_TYPE,
        price_basis="fob" if price else None,
        status_raw="SOLD" if sold else None,
        **fields,
    )


def path_match(pattern: re.Pattern, url: str | None) -> str | None:
    """Group 1 of ``pattern`` searched in the URL's path (a stock id, a listing id), or None."""
    match = pattern.search(urlsplit(url or "").path)
    return match.group(1) if match else None


def search_page(
    response: TextResponse,
    cards: Iterable[Selector],
    parse_card: Callable[[Selector, TextResponse, str | None], Listing | None],
    has_next: bool | None,
    scraped_at: str | None,
) -> SearchPage:
    """The listings of the cards that are vehicles (``parse_card`` gives None for adverts), and
    the empty-result flag from the page's own words when none is."""
    listings = [x for x in (parse_card(c, response, scraped_at) for c in cards) if x]
    return SearchPage(
        listings=listings,
        has_next=has_next,
        no_results=not listings and says_no_results(first_text(response, "body")),
    )


def page_parsers(
    parse_search: Callable[[TextResponse, str | None], SearchPage],
    parse_detail: Callable[[TextResponse, str | None], Listing | None],
) -> dict[str, PageParser]:
    """``PAGE_PARSERS`` of an exporter for ``keitrucks parse --kind``: a search page gives its
    listings, a detail page its one listing (none when it shows no vehicle)."""

    def search(response: TextResponse, scraped_at: str | None = None) -> list[Listing]:
        return parse_search(response, scraped_at).listings

    def detail(response: TextResponse, scraped_at: str | None = None) -> list[Listing]:
        listing = parse_detail(response, scraped_at)
        return [listing] if listing else []

    return {"search": search, "detail": detail}


def json_or_html(
    parse_json: Callable[[TextResponse, str | None], Listing],
    parse_html: Callable[[TextResponse, str | None], Listing],
) -> PageParser:
    """A detail-page parser for ``keitrucks parse --kind detail`` of a site that answers either
    JSON (its API) or HTML (its page): the one listing of whichever the response is."""

    def detail(response: TextResponse, scraped_at: str | None = None) -> list[Listing]:
        parse = parse_json if looks_like_json(response.body) else parse_html
        return [parse(response, scraped_at)]

    return detail

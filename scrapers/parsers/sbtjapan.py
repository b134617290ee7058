"""SBT Japan (https://www.sbtjapan.com), a Japanese used-vehicle exporter: search and detail pages.

The search page (``/used-cars/search?make_id=<id>&model[]=<MODEL>&isModel=1&page=N``) lists one
``li.search-result__item`` card per vehicle, with descriptive BEM classes (shared/sources/
sbtjapan.md §2.1): the title ("2016/4 HONDA ACTY TRUCK SDX", registration year/month first), the
stock id, the yard, the vehicle price in US dollars (a sale price in ``ins`` when discounted), the
total price, and spec spans told apart by modifier (``-model-code``, ``-mileage``, two
``-engine-capacity``: the size and the engine code, ...). The detail page (``/used-cars/<STOCK>``)
adds the status and info lists (label/value pairs), the estimate form, the gallery, the options
and the price breakdown (freight, inspection, insurance, vanning) with the total to the chosen
port. No real SBT page is saved yet: the class names are from public scraper code (2026-05/06);
the sold badge, the empty-result text and the quote type beside the total are read by their
words, since no capture shows them. Both parsers are pure and return raw fields only.
"""

from __future__ import annotations

import re

from parsel import Selector
from scrapy.http import TextResponse

from scrapers.items import Listing
from scrapers.parsers import common, nodes
from scrapers.parsers.shape import Layout

SOURCE = "sbtjapan"
SITE = "https://www.sbtjapan.com"

#: Card spec spans by BEM modifier -> our label. ``-engine-capacity`` comes twice (size, code).
STATUS_LABELS = {
    "-model-code": "Model Code",
    "-mileage": "Mileage",
    "-engine-capacity": "Engine",
    "-transmission": "Transmission",
    "-drive-type": "Drive",
    "-steering-type": "Steering",
    "-fuel-type": "Fuel",
    "-door": "Doors",
    "-seats": "Seats",
    "-body-color": "Body Color",
}
#: Estimate-form inputs kept as attributes (year/month go to ``year_raw``; model is the code).
FORM_FIELDS = {"grade": "Grade", "body_type": "Body Type", "make_id": "make_id"}
#: Price breakdown cells of the detail page by element id.
BREAKDOWN = {
    "vehicle_price": "Vehicle Price (breakdown)",
    "freight_amount": "Freight",
    "inspection_amount": "Inspection",
    "insurance_amount": "Insurance",
    "vanning_amount": "Vanning",
}
_STOCK_PATH = re.compile(r"/used-cars/([A-Za-z]{1,3}\d{3,})/?$")
_TITLE_DATE = re.compile(r"^((?:19|20)\d{2})(?:/(\d{1,2}))?\s+")
_ENGINE_SIZE = re.compile(r"^[\d,.]+\s*cc$", re.I)
_PORT = re.compile(r"\bto\s+(.+)$", re.I)
_TOTAL = ".card-product__total-price .card-product__price"


# -- shared bits ----------------------------------------------------------------------------------


def stock_id_from_url(url: str | None) -> str | None:
    stock = common.path_match(_STOCK_PATH, url)
    return stock.upper() if stock else None


def title_date(title: str | None) -> str | None:
    """ "2016/4 HONDA ACTY VAN SDX" -> "2016/4"; "2018 HONDA VEZEL" -> "2018"."""
    match = _TITLE_DATE.match(title or "")
    if not match:
        return None
    return f"{match.group(1)}/{match.group(2)}" if match.group(2) else match.group(1)


def make_model(title: str | None, grade: str | None) -> str | None:
    """The title less its date and its grade: "2016/4 HONDA ACTY VAN SDX" -> "HONDA ACTY VAN"."""
    text = _TITLE_DATE.sub("", title or "").strip()
    if grade and text.upper().endswith(" " + grade.upper()):
        text = text[: -len(grade) - 1].strip()
    return text or None


def form_date(form: dict[str, str]) -> str | None:
    """The estimate form's year and month as the title writes them ("2016/4", or "2016")."""
    year, month = form.get("year"), form.get("month")
    if not year:
        return None
    return f"{year}/{month}" if month else year


def form_values(scope) -> dict[str, str]:
    """The hidden estimate-form inputs (make, model, name, year, month, grade, ...)."""
    values: dict[str, str] = {}
    for field in nodes.select(scope, "input[type=hidden][name]"):
        text = common.clean(field.get("value"))
        if text:
            values.setdefault(field.attrib["name"], text)
    return values


def _form_attributes(form: dict[str, str]) -> dict[str, str]:
    return {label: form[name] for name, label in FORM_FIELDS.items() if form.get(name)}


def _vehicle_fields(title: str | None, form: dict[str, str], specs: dict[str, str]) -> dict:
    """The raw fields card and detail page read alike: year and make/model from the title (or
    the estimate form), mileage, drive and transmission from the specs."""
    return {
        "title": title,
        "year_raw": title_date(title) or form_date(form),
        "make_model_raw": make_model(title, form.get("grade")),
        "mileage_raw": specs.get("Mileage"),
        "drive_raw": specs.get("Drive"),
        "transmission_raw": specs.get("Transmission"),
    }


def total_terms(words: str | None) -> tuple[str | None, str | None]:
    """(quote type, port) from the words around a total: "Total Price (C&F to BALTIMORE)"."""
    words = common.clean((words or "").replace("(", " ").replace(")", " ")) or ""
    match = _PORT.search(words)
    return common.price_condition(words), common.value(match.group(1)) if match else None


def _words_beside(blocks, amount: str) -> str | None:
    """The text of the block holding a total, less the amount itself."""
    text = common.text_of(next(iter(blocks), None)) or ""
    return text.replace(amount, " ")


# -- search page ----------------------------------------------------------------------------------


def parse_search(response: TextResponse, scraped_at: str | None = None) -> common.SearchPage:
    """The cards of one search page, whether a next page is linked, and the empty-result flag."""
    cards = nodes.select(response, "li.search-result__item")
    return common.search_page(response, cards, parse_card, parse_has_next(response), scraped_at)


def parse_has_next(response: TextResponse) -> bool | None:
    """A live ``a.pagination__link.-next``; None when the page has no pagination links."""
    links = nodes.select(response, "a.pagination__link")
    if not links:
        return None
    return any(
        common.has_class(a, "-next") and not common.has_class(a, "-is-disabled") and a.get("href")
        for a in links
    )


def parse_card(
    card: Selector | nodes.Node, response: TextResponse, scraped_at: str | None = None
) -> Listing | None:
    """One search card; None for a card without a stock id or link (an advert)."""
    card = nodes.element(card)
    href = nodes.get(card, "a.card-product__wrap::attr(href)")
    url = response.urljoin(href) if href else None
    stock = common.first_text(card, ".card-product__stock-value") or stock_id_from_url(url)
    if not stock or not url:
        return None
    title = common.first_text(card, ".card-product__product")
    form = form_values(card)
    attributes = parse_card_status(card)
    attributes.update(_form_attributes(form))

    sold = common.has_sold_mark(card)
    price, original = (None, None) if sold else parse_card_price(card)
    total = None if sold else common.value(common.first_text(card, _TOTAL))
    condition, port = (None, None)
    if total:
        condition, port = total_terms(
            _words_beside(nodes.select(card, ".card-product__total-price"), total)
        )
    attributes.update(common.drop_none({"original_price": original, "price_condition": condition}))
    currency = common.first_text(card, ".card-product__vehicle-price .card-product__price-currency")

    return common.exporter_listing(
        SOURCE,
        price=price,
        sold=sold,
        listing_id=stock.upper(),
        url=url,
        scraped_at=scraped_at,
        currency_raw=currency if price else None,
        location_raw=common.value(common.first_text(card, ".card-product__location-value")),
        attributes=attributes,
        image_urls=common.unique(
            [common.image_url(nodes.get(card, ".card-product__image img::attr(src)"))]
        ),
        total_price_raw=total,
        destination_port=port,
        **_vehicle_fields(title, form, attributes),
    )


def parse_card_status(card: Selector | nodes.Node) -> dict[str, str]:
    """Spec spans by BEM modifier; of the two ``-engine-capacity`` spans the one in cc is the
    size ("Engine"), the other the engine code ("Engine Code")."""
    specs: dict[str, str] = {}
    for span in nodes.select(card, "span.card-product__status"):
        classes = (span.get("class") or "").split()
        label = next((STATUS_LABELS[c] for c in classes if c in STATUS_LABELS), None)
        text = common.value(common.text_of(span))
        if label is None or text is None:
            continue
        if label == "Engine" and not _ENGINE_SIZE.match(text):
            label = "Engine Code"
        specs.setdefault(label, text)
    return specs


def parse_card_price(card: Selector | nodes.Node) -> tuple[str | None, str | None]:
    """(price, price before the discount): the sale price in ``ins`` wins over the struck one."""
    block = nodes.first(card, ".card-product__vehicle-price")
    if block is None:
        return None, None
    sale = common.value(
        common.first_text(block, "ins.card-product__price-sale-value .card-product__price")
    )
    regular = [
        common.value(common.text_of(s))
        for s in nodes.select_xpath(
            block, ".//span[contains(concat(' ', @class, ' '), ' card-product__price ')]"
        )
        if not nodes.select_xpath(s, "ancestor::ins")
    ]
    regular = [r for r in regular if r]
    if sale:
        return sale, regular[0] if regular else None
    return (regular[0] if regular else None), None


# -- detail page ----------------------------------------------------------------------------------


def parse_detail(response: TextResponse, scraped_at: str | None = None) -> Listing | None:
    """One vehicle's detail page; None when the page shows no vehicle (no title, no stock id)."""
    title = common.first_text(response, "h1.product-detail__name")
    stock = common.first_text(response, ".product-detail__id-number") or stock_id_from_url(
        response.url
    )
    if not title or not stock:
        return None
    form_node = nodes.first(response, "form#get_estimate_id")
    form = form_values(response if form_node is None else form_node)
    items = [common.text_of(e) for e in nodes.select(response, "div.product-detail__detail-item")]
    attributes = common.drop_none({"Model Code": common.value(items[0]) if items else None})
    attributes.update(parse_pairs(response, "product-detail__status"))
    attributes.update(
        {
            k: v
            for k, v in parse_pairs(response, "product-detail__info").items()
            if k not in attributes
        }
    )
    attributes.update(_form_attributes(form))
    attributes.update(parse_breakdown(response))

    sold = any(
        common.has_sold_mark(block) for block in nodes.select(response, ".product-detail__price")
    )
    price = (
        None
        if sold
        else common.value(common.first_text(response, ".product-detail__base-price-range"))
    )
    total, condition, port = (None, None, None) if sold else parse_total(response)
    attributes.update(
        common.drop_none({"price_condition": condition, "options": parse_options(response)})
    )
    currency = common.first_text(response, ".product-detail__base-price-currency")

    return common.exporter_listing(
        SOURCE,
        price=price,
        sold=sold,
        listing_id=stock.upper(),
        url=f"{SITE}/used-cars/{stock.upper()}",
        scraped_at=scraped_at,
        currency_raw=currency if price else None,
        location_raw=common.value(common.first_text(response, ".product-detail__location-country")),
        attributes=attributes,
        image_urls=parse_gallery(response),
        total_price_raw=total,
        destination_port=port,
        **_vehicle_fields(title, form, attributes),
    )


def parse_pairs(response: TextResponse, block: str) -> dict[str, str]:
    """``<block>-item`` elements, each a ``<block>-label`` and a ``<block>-value``."""
    pairs: dict[str, str] = {}
    for item in nodes.select(response, f".{block}-item"):
        common.add_pair(
            pairs,
            common.first_text(item, f".{block}-label"),
            common.first_text(item, f".{block}-value"),
        )
    return pairs


def parse_breakdown(response: TextResponse) -> dict[str, str]:
    """The price calculator's lines (freight, inspection, insurance, vanning), as displayed."""
    return common.drop_none(
        {
            label: common.value(common.first_text(response, f"#{eid}"))
            for eid, label in BREAKDOWN.items()
        }
    )


def parse_total(response: TextResponse) -> tuple[str | None, str | None, str | None]:
    """(total, quote type, port) from the price calculator; the total is None while the page
    shows "ASK" or no destination is selected."""
    total = common.value(common.first_text(response, "#total_amount"))
    if not total:
        return None, None, None
    condition, port = total_terms(
        _words_beside(nodes.select_xpath(response, "//*[@id='total_amount']/.."), total)
    )
    selected = next(  # a selected option without a value is the "Select port" prompt
        iter(
            nodes.select_xpath(
                response,
                "//select[contains(@name, 'port') or contains(@id, 'port')]"
                "/option[@selected][normalize-space(@value)]/text()",
            )
        ),
        None,
    )
    return total, condition, common.value(selected) or port


def parse_options(response: TextResponse) -> str | None:
    """The options the vehicle has (``-available``), grouped: "Safety: ABS, Air Bag; ..."."""
    groups = []
    for block in nodes.select(response, ".product-detail__option-block"):
        name = common.first_text(block, ".product-detail__option-category")
        have = [
            common.text_of(i)
            for i in nodes.select(block, ".product-detail__option-item.-available")
        ]
        have = [h for h in have if h]
        if have:
            groups.append(f"{name}: {', '.join(have)}" if name else ", ".join(have))
    return "; ".join(groups) or None


def parse_gallery(response: TextResponse) -> list[str]:
    slides = nodes.select(response, ".product-detail__gallery-slider .swiper-slide img::attr(src)")
    return common.unique(common.image_url(src) for src in slides)


# -- card + detail --------------------------------------------------------------------------------


def merge_detail(card: Listing, detail: Listing) -> Listing:
    """The card completed by its detail page. The card wins where both have a value (its price
    and total are tonight's search result); the detail adds the breakdown, the info list, the
    options and the gallery, and the total when the card shows none."""
    return common.merge_listings(card, detail)


#: Page kinds for ``keitrucks parse --kind``: each takes (response, scraped_at) -> listings.
PAGE_PARSERS = common.page_parsers(parse_search, parse_detail)


def parse_page(response: TextResponse, scraped_at: str | None = None) -> list[Listing]:
    """Any saved SBT Japan page -> its listings (for ``keitrucks parse``)."""
    kind = "detail" if nodes.select(response, "h1.product-detail__name") else "search"
    return PAGE_PARSERS[kind](response, scraped_at)


#: The page layouts this parser knows, by their anchors (see scrapers/parsers/shape.py).
LAYOUTS = (
    Layout("search with no results", css=".search-result__empty", listings=False),
    Layout("search results", css="li.search-result__item, .search-result"),
    Layout("vehicle page", css="h1.product-detail__name, form#get_estimate_id"),
)

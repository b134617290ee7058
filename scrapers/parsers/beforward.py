"""BE FORWARD (https://www.beforward.jp), a Japanese used-vehicle exporter.

Stock-list and detail pages.

The stock list (``/stocklist/...``, a keyword search) is a server-rendered table: one
``tr.stocklist-row`` per vehicle with the title, Ref No., mileage, registration year(/month),
engine size, transmission, stock area, a small spec table (model code, drive, ...), the vehicle
price (FOB-style, in US dollars) and the total (C&F or CIF) quoted to the destination port of the
search. Banner rows share the row class and are skipped. The detail page adds the full spec table
(chassis number, manufacture date), the gallery and the feature list. Both parsers are pure: they
read a response and return raw fields; normalization happens in the pipelines.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from urllib.parse import urlsplit, urlunsplit

from parsel import Selector
from scrapy.http import TextResponse

from scrapers.items import Listing
from scrapers.parsers import common, nodes
from scrapers.parsers.common import clean as _clean
from scrapers.parsers.shape import Layout

SOURCE = "beforward"

#: Cell values the site shows for "not stated".
_PLACEHOLDERS = {"-", "--", "ASK", "N/A"}
_REF_NO = re.compile(r"Ref\.?\s*No\.?\s*([A-Z0-9]+)", re.I)
_DETAIL_PATH = re.compile(r"/([a-z0-9]+)/id/(\d+)/?$", re.I)
_LEADING_YEAR = re.compile(r"^(19|20)\d{2}\s+")
_PAGE_SEGMENT = re.compile(r"/page=(\d+)(?=/|$)")
_GALLERY_JS = re.compile(r"gallery_images\s*=\s*JSON\.parse\('(.*?)'\)", re.S)
#: Currency signs of the site's prices, as ``common.currency_of`` marks.
CURRENCY_SIGNS = (("$", "USD"), ("¥", "JPY"), ("€", "EUR"), ("£", "GBP"))


# -- text helpers ---------------------------------------------------------------------------------


_text = nodes.text
_first_text = nodes.first_text


def _next_td(cell: nodes.Node) -> nodes.Node | None:
    """The ``td`` after a label cell (``following-sibling::td[1]`` without an XPath call)."""
    return nodes.next_element(cell, "td")


def _value(text: str | None) -> str | None:
    """A displayed value, None for the site's placeholders ("-", "ASK")."""
    text = _clean(text)
    return None if text is None or text.upper() in _PLACEHOLDERS else text


def _currency_of(price: str | None) -> str | None:
    return common.currency_of(price, CURRENCY_SIGNS)


def _make_model(title_line: str | None) -> str | None:
    """ "2025 DAIHATSU HIJET TRUCK" -> "DAIHATSU HIJET TRUCK" (the grade is not part of it)."""
    if not title_line:
        return None
    return _clean(_LEADING_YEAR.sub("", title_line))


def _id_from_url(url: str | None) -> tuple[str | None, str | None]:
    """(Ref No., veh_id) from ``/<make>/<model>/<refno>/id/<veh_id>/``."""
    match = _DETAIL_PATH.search(urlsplit(url or "").path)
    if not match:
        return None, None
    return match.group(1).upper(), match.group(2)


# -- stock list -----------------------------------------------------------------------------------


def parse_stock_list(response: TextResponse, scraped_at: str | None = None) -> common.SearchPage:
    """Vehicle rows of one stock-list page (banner rows skipped) and the next page's URL."""
    rows = nodes.select(response, "table.stocklist-row-wrap tr.stocklist-row")
    listings = [parse_row(row, response, scraped_at) for row in rows if is_vehicle_row(row)]
    next_url = parse_next_url(response)
    return common.SearchPage(
        listings=listings,
        has_next=next_url is not None,
        next_url=next_url,
        no_results=bool(nodes.select(response, ".stocklist-no-result")),
    )


def is_vehicle_row(row: Selector | nodes.Node) -> bool:
    """Vehicle rows link their title; login and advertising banners do not."""
    return bool(nodes.select(row, "p.make-model a.vehicle-url-link"))


def parse_next_url(response: TextResponse) -> str | None:
    """The pagination link to page N+1 (``page=N+1/`` in the path), if the page has one."""
    match = _PAGE_SEGMENT.search(urlsplit(response.url).path)
    wanted = (int(match.group(1)) if match else 1) + 1
    for href in nodes.select(response, "div.results-pagination a::attr(href)"):
        found = _PAGE_SEGMENT.search(urlsplit(href).path)
        if found and int(found.group(1)) == wanted:
            return response.urljoin(href)
    return None


def parse_row(
    row: Selector | nodes.Node, response: TextResponse, scraped_at: str | None = None
) -> Listing:
    """One vehicle row; a SOLD row has no price and no total."""
    row = nodes.element(row)
    link = nodes.select(row, "p.make-model a.vehicle-url-link")[0]
    url = response.urljoin(link.get("href", ""))
    # the grade sits on a second line: "2015 TOYOTA SIENTA\n DICE-G"
    raw_lines = "\n".join(link.itertext()).splitlines()
    title_lines = [line for line in map(_clean, raw_lines) if line]
    url_ref, veh_id = _id_from_url(url)

    attributes = parse_row_specs(row)
    attributes.update(_row_extras(row))
    if veh_id:
        attributes["veh_id"] = veh_id

    sold = bool(nodes.select(row, "div.price-col-sold"))
    price = None if sold else _value(_first_text(row, "td.price-col span.price"))
    total, condition, port = (None, None, None) if sold else _parse_row_total(row)
    if condition:
        attributes["price_condition"] = condition[0]
        attributes["price_condition_text"] = condition[1]
    shipping = _clean((_first_text(row, "p.shipping-method") or "").strip("()"))
    if shipping and total:
        attributes["shipping_method"] = shipping

    return common.exporter_listing(
        SOURCE,
        price=price,
        sold=sold,
        listing_id=parse_ref_no(row) or url_ref,
        url=url,
        scraped_at=scraped_at,
        title=_clean(" ".join(title_lines)),
        currency_raw=_currency_of(price),
        location_raw=_value(_first_text(row, "p.val.stock-area span")),
        year_raw=_value(_first_text(row, "td.year p.val")),
        make_model_raw=_make_model(title_lines[0] if title_lines else None),
        mileage_raw=_value(_first_text(row, "td.mileage p.val")),
        drive_raw=attributes.get("Drive"),
        transmission_raw=_value(_first_text(row, "td.trans p.val")),
        attributes=attributes,
        image_urls=common.unique([common.image_url(nodes.get(row, "td.photo-col img::attr(src)"))]),
        total_price_raw=total,
        destination_port=port,
    )


def parse_ref_no(row: Selector | nodes.Node) -> str | None:
    """ "Ref No. CA866914" -> "CA866914"."""
    match = _REF_NO.search(_first_text(row, "p.veh-stock-no span") or "")
    return match.group(1).upper() if match else None


def parse_row_specs(row: Selector | nodes.Node) -> dict[str, str]:
    """Label -> value pairs of ``table.table-detailed-spec``, matched by label, not by column.

    Labels are the cells of class ``th`` (``td.th.th-1st`` ...); each is followed by its value
    cell. Placeholder values ("-") are left out.
    """
    specs: dict[str, str] = {}
    labels = nodes.select_xpath(
        row,
        ".//table[contains(concat(' ', normalize-space(@class), ' '), ' table-detailed-spec ')]"
        "//tr/*[self::th or contains(concat(' ', normalize-space(@class), ' '), ' th ')]",
    )
    for label_cell in labels:
        label = _text(label_cell)
        value = _value(_text(_next_td(label_cell)))
        if label and value:
            specs[label] = value
    return specs


def _row_extras(row: nodes.Node) -> dict[str, str]:
    """Engine size, discount, campaign badge, stock badges and accessories of a row."""
    extras = {
        "Engine": _value(_first_text(row, "td.engine p.val")),
        "save_rate": _value(_first_text(row, "p.save-rate")),
        "original_vehicle_price": _value(_first_text(row, "p.original-vehicle-price")),
        "special_price": _value(_first_text(row, "p.special-price")),
        "ref_icons": ", ".join(common.unique(nodes.select(row, "div.ref-icon-area img::attr(alt)")))
        or None,
        "accessories": ", ".join(
            common.unique(_clean(li) for li in nodes.select(row, "div.accessories li::text"))
        )
        or None,
    }
    return {key: value for key, value in extras.items() if value}


def _parse_row_total(row: nodes.Node) -> tuple[str | None, tuple[str, str] | None, str | None]:
    """(total as displayed, (quote type, condition text), destination port) of a row."""
    total = _value(_first_text(row, "p.total-price"))
    text = _first_text(row, "p.price-condition")
    condition = (text.split(" ", 1)[0], text) if text else None
    port = _value(_first_text(row, "p.destination-port"))
    return total, condition, port


# -- detail page ----------------------------------------------------------------------------------


def parse_detail(response: TextResponse, scraped_at: str | None = None) -> Listing | None:
    """One vehicle's detail page; None when the page shows no vehicle (no title, no spec table).

    ``total_price_raw`` is None while the site shows "ASK" (no destination chosen). Spec-table
    placeholders ("-") are left out of ``attributes``.
    """
    title = _first_text(response, "div.car-info-flex-box h1")
    specs = parse_spec_table(response)
    if not title and not specs:
        return None
    url_ref, url_veh_id = _id_from_url(response.url)
    specs_text = _first_text(response, "div.detail-specs-text")
    ref = specs.get("Ref. No.") or (specs_text.split()[-1] if specs_text else None) or url_ref

    attributes = dict(specs)
    price = _value(_first_text(response, "span.price.ip-usd-price"))
    if price is None:
        current = nodes.get(response, ".list-detail-box::attr(data-display-current-price)")
        price = f"${current}" if current and current.strip().isdigit() else None
    unadjusted = nodes.get(
        response, "#fob-price-not-adjustment::attr(data-fob-price-not-adjustment)"
    )
    features = common.unique(
        _clean(t) for t in nodes.select(response, "div.remarks li.attached_on::text")
    )
    total, port = _parse_detail_total(response)
    quote_type = _value(_first_text(response, "#fn-vehicle-price-quote-type"))
    extras = {
        "model_code_ref": specs_text,
        "fob_price_not_adjustment": _clean(unadjusted),
        "price_condition": quote_type if total else None,
        "features": ", ".join(features) or None,
        "veh_id": _clean(nodes.get(response, "input[name=veh_id]::attr(value)")) or url_veh_id,
    }
    attributes.update({key: value for key, value in extras.items() if value})
    currency = _clean(nodes.get(response, "#id-selected-currency::attr(value)"))

    return common.exporter_listing(
        SOURCE,
        price=price,
        listing_id=ref,
        url=_without_query(response.url),
        scraped_at=scraped_at,
        title=title,
        currency_raw=currency or _currency_of(price),
        location_raw=_value(_first_text(response, "span.specs-pickup-icon b"))
        or specs.get("Location"),
        year_raw=specs.get("Registration Year/month"),
        make_model_raw=_detail_make_model(title, specs.get("Version/Class")),
        mileage_raw=specs.get("Mileage"),
        drive_raw=specs.get("Drive"),
        transmission_raw=specs.get("Transmission"),
        attributes=attributes,
        image_urls=parse_gallery(response),
        total_price_raw=total,
        destination_port=port,
    )


def parse_spec_table(response: TextResponse) -> dict[str, str]:
    """``table.specification`` read as th/td pairs; labels whitespace-normalised.

    Labels hold ``<br>`` ("Registration<br>Year/month"), so text nodes are joined with a space.
    """
    specs: dict[str, str] = {}
    for th in nodes.select(response, "table.specification th"):
        label = _text(th)
        value = _value(_text(_next_td(th)))
        if label and value:
            specs[label] = value
    return specs


def parse_gallery(response: TextResponse) -> list[str]:
    """Large gallery images (``input.fn-images-pc[data-path]``), else the ``gallery_images`` JS."""
    urls = [
        common.image_url(p) for p in nodes.select(response, "input.fn-images-pc::attr(data-path)")
    ]
    if not any(urls):
        match = _GALLERY_JS.search(response.text)
        if match:
            urls = [common.image_url(u) for u in json.loads(match.group(1).replace("\\/", "/"))]
    return common.unique(urls)


def _parse_detail_total(response: TextResponse) -> tuple[str | None, str | None]:
    """(total as displayed, port); the total is None while the page shows "ASK"."""
    amount = _value(_first_text(response, "#fn-vehicle-price-total-price"))
    total = None
    if amount:
        prefix = _clean(nodes.get(response, ".fn-vehicle-price-total-price-currency-prefix::text"))
        total = amount if _currency_of(amount) or not prefix else prefix + amount
    port = None
    for text in nodes.select(response, "div.destination-wrap p.destination-port::text"):
        text = _clean(text)
        if text and not text.startswith("("):
            port = text
            break
    return total, port


def _detail_make_model(title: str | None, version: str | None) -> str | None:
    """ "2019 TOYOTA COROLLA AXIO HYBRID G" less its year and its grade ("HYBRID G")."""
    text = _make_model(title)
    if text and version and text.upper().endswith(" " + version.upper()):
        text = text[: -len(version) - 1].strip()
    return text or None


def _without_query(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


# -- row + detail ---------------------------------------------------------------------------------


def merge_detail(row: Listing, detail: Listing) -> Listing:
    """The stock-list row completed by its detail page.

    The row wins where both have a value: its price, total and port are quoted to the search's
    destination, while the detail page often shows "ASK". The detail adds the full spec table,
    features, manufacture date and the whole gallery.
    """
    return common.merge_listings(row, detail)


#: What tonight's stock-list row alone decides: its absence is news (a SOLD row has no price,
#: a discount ends), so it is never carried forward from an earlier night.
ROW_OWNED_FIELDS = (
    "price_raw",
    "currency_raw",
    "total_price_raw",
    "destination_port",
    "status_raw",
    "price_basis",
)
ROW_OWNED_ATTRIBUTES = (
    "save_rate",
    "original_vehicle_price",
    "special_price",
    "price_condition",
    "price_condition_text",
)


def carry_forward(row: Listing, stored: Listing) -> Listing:
    """Tonight's row of a vehicle already on record, keeping what its detail page added then."""
    kept = {k: v for k, v in stored.attributes.items() if k not in ROW_OWNED_ATTRIBUTES}
    merged = merge_detail(row, replace(stored, attributes=kept))
    return replace(merged, **{name: getattr(row, name) for name in ROW_OWNED_FIELDS})


#: Page kinds for ``keitrucks parse --kind``: each takes (response, scraped_at) -> listings.
PAGE_PARSERS = common.page_parsers(parse_stock_list, parse_detail)


def parse_page(response: TextResponse, scraped_at: str | None = None) -> list[Listing]:
    """Any saved BE FORWARD page -> its listings (for ``keitrucks parse``)."""
    kind = "search" if nodes.select(response, "tr.stocklist-row") else "detail"
    return PAGE_PARSERS[kind](response, scraped_at)


#: The page layouts this parser knows, by their anchors (see scrapers/parsers/shape.py).
LAYOUTS = (
    Layout("stock list with no results", css=".stocklist-no-result", listings=False),
    Layout("stock list", css="table.stocklist-row-wrap"),
    Layout("vehicle page", css="table.specification"),
)

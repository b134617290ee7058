"""Benchmark of the page parsers (``scrapers.parsers``) in pages per second, on one core.

Reads every HTML page of the bundled sample marketplace (``data/sample/night1..3``: Craigslist
posting pages, Bring a Trailer model and listing pages, BE FORWARD stock-list and detail pages)
and times, in the same run and on the same pages:

- the project's parsers, each page given to them as a fresh Scrapy ``HtmlResponse``, as a spider
  callback gets it;
- the ceiling: raw lxml (``etree.fromstring`` with lxml's HTML parser) and precompiled
  ``etree.XPath`` expressions extracting the same fields, with the same cleaning helpers;
- the usual peer: BeautifulSoup (``html.parser``, its default when lxml is not asked for) with
  soupsieve CSS selectors, extracting the same fields the same way.

Both baselines are checked before timing: for every page they must return exactly the fields the
parser returns (every raw field, attributes and images included), else the script stops, so no
baseline does less work than the parser. The pure helpers of the parser modules (text cleaning,
contact scrubbing, JSON items) are shared, so the comparison is the HTML access itself.

Prints pages/s per source and implementation, then ``ratio parse/raw_lxml <v>`` and
``ratio parse/bs4 <v>`` (parser pages/s over baseline pages/s: higher is better; targets >= 0.67
and >= 10) and the same per source, and raw lxml over BeautifulSoup: on pages this small (3-13 KB)
it is about 10, the most any parser built on lxml can reach against BeautifulSoup here.

    .venv/bin/python bench/parse.py              # best of 7 rounds (CPU time)
    .venv/bin/python bench/parse.py --rounds 9
    .venv/bin/python bench/parse.py --pages real # only the saved real pages (20-360 KB)
    .venv/bin/python bench/parse.py --every-source  # CPU ms per sample page of all 8 parsers
    .venv/bin/python bench/parse.py --trees      # building the tree alone: lxml, lexbor, bs4

By default it times the sample pages (``ratio parse/...``), then, when ``../shared/fixtures`` is
there, the saved real pages the baselines also read (``ratio parse_real/...``: Craigslist
postings, BE FORWARD stock lists and a detail page, a Bring a Trailer model page). On those, raw
lxml is about 8-9x BeautifulSoup, which bounds ``parse_real/bs4`` below 10.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import bs4  # noqa: E402
from lxml import etree  # noqa: E402
from parsel.csstranslator import css2xpath  # noqa: E402
from scrapy.http import HtmlResponse  # noqa: E402

from keitrucks.sample.site import SAMPLE_DIR, load_routes  # noqa: E402
from scrapers.items import RAW_FIELDS  # noqa: E402
from scrapers.parsers import beforward as bf  # noqa: E402
from scrapers.parsers import bringatrailer as bat  # noqa: E402
from scrapers.parsers import bringatrailer_text as bt  # noqa: E402
from scrapers.parsers import common  # noqa: E402
from scrapers.parsers import craigslist as cl  # noqa: E402
from scrapers.parsers import craigslist_text as ct  # noqa: E402

COMPARED = ("listing_id", "url", *RAW_FIELDS)

# -- the two baseline backends: one small selector API, two implementations ------------------


class LxmlBackend:
    """Raw lxml: one HTML parse, precompiled XPath (CSS translated once, as parsel would)."""

    name = "raw_lxml"

    def __init__(self) -> None:
        self.parser = etree.HTMLParser(encoding="utf-8")
        self._compiled: dict[str, etree.XPath] = {}
        self._texts = etree.XPath("descendant-or-self::text()")
        self._own_texts = etree.XPath("text()")
        self._next_td = etree.XPath("following-sibling::td[1]")

    def root(self, body: bytes):
        return etree.fromstring(body, self.parser)

    def _xpath(self, css: str) -> etree.XPath:
        compiled = self._compiled.get(css)
        if compiled is None:
            compiled = self._compiled[css] = etree.XPath(css2xpath(css))
        return compiled

    def all(self, node, css: str) -> list:
        return self._xpath(css)(node)

    def xpath(self, node, expression: str) -> list:
        compiled = self._compiled.get(expression)
        if compiled is None:
            compiled = self._compiled[expression] = etree.XPath(expression)
        return compiled(node)

    def first(self, node, css: str):
        found = self._xpath(css)(node)
        return found[0] if found else None

    def texts(self, node) -> list[str]:
        return [str(t) for t in self._texts(node)]

    def own_texts(self, node) -> list[str]:
        return [str(t) for t in self._own_texts(node)]

    def attr(self, node, name: str) -> str | None:
        return node.get(name)

    def next_td(self, node):
        found = self._next_td(node)
        return found[0] if found else None

    def siblings_after(self, node) -> list[str]:
        """Markup of the nodes after ``node`` (elements serialized, text as is)."""
        out = [node.tail] if node.tail else []
        for sibling in node.itersiblings():
            out.append(etree.tostring(sibling, method="html", encoding="unicode"))
        return out

    def fragment_attr(self, markup: str, css: str, name: str) -> str | None:
        found = self.all(etree.fromstring(markup, etree.HTMLParser()), css)
        return found[0].get(name) if found else None


class SoupBackend:
    """BeautifulSoup with Python's html.parser and soupsieve CSS selectors."""

    name = "bs4"
    _skip = (bs4.Comment, bs4.Declaration, bs4.Doctype, bs4.ProcessingInstruction)

    def root(self, body: bytes):
        return bs4.BeautifulSoup(body, "html.parser", from_encoding="utf-8")

    def all(self, node, css: str) -> list:
        return node.select(css)

    def first(self, node, css: str):
        return node.select_one(css)

    def texts(self, node) -> list[str]:
        if isinstance(node, bs4.NavigableString):
            return [str(node)]
        return [
            str(s)
            for s in node.descendants
            if isinstance(s, bs4.NavigableString) and not isinstance(s, self._skip)
        ]

    def own_texts(self, node) -> list[str]:
        return [
            str(s)
            for s in node.children
            if isinstance(s, bs4.NavigableString) and not isinstance(s, self._skip)
        ]

    def attr(self, node, name: str) -> str | None:
        value = node.get(name)
        return " ".join(value) if isinstance(value, list) else value

    def next_td(self, node):
        return node.find_next_sibling("td")

    def siblings_after(self, node) -> list[str]:
        return [str(s) for s in node.next_siblings if not isinstance(s, bs4.Comment)]

    def fragment_attr(self, markup: str, css: str, name: str) -> str | None:
        found = bs4.BeautifulSoup(markup, "html.parser").select_one(css)
        return self.attr(found, name) if found else None


def _text(b, node) -> str | None:
    return None if node is None else bf._clean(" ".join(b.texts(node)))


def _first_text(b, scope, css: str) -> str | None:
    return _text(b, b.first(scope, css))


def _listing(source: str, **fields) -> dict:
    """A parser result as a dict of the compared fields (absent raw fields are None)."""
    base = {name: None for name in COMPARED}
    base.update(attributes={}, image_urls=[])
    base.update(fields)
    return base


# -- BE FORWARD -------------------------------------------------------------------------------

_SPEC_CELLS = (
    ".//table[contains(concat(' ', normalize-space(@class), ' '), ' table-detailed-spec ')]"
    "//tr/*[self::th or contains(concat(' ', normalize-space(@class), ' '), ' th ')]"
)


def _bf_row_specs(b, row) -> dict[str, str]:
    specs: dict[str, str] = {}
    if isinstance(b, LxmlBackend):
        labels = b.xpath(row, _SPEC_CELLS)
    else:
        labels = [
            c
            for t in row.select("table.table-detailed-spec")
            for tr in t.select("tr")
            for c in tr.find_all(True, recursive=False)
            if c.name == "th" or "th" in (c.get("class") or [])
        ]
    for cell in labels:
        label = _text(b, cell)
        value = bf._value(_text(b, b.next_td(cell)))
        if label and value:
            specs[label] = value
    return specs


def _bf_row(b, row, url: str) -> dict:
    link = b.all(row, "p.make-model a.vehicle-url-link")[0]
    href = urljoin(url, b.attr(link, "href") or "")
    title_lines = [ln for ln in map(bf._clean, "\n".join(b.texts(link)).splitlines()) if ln]
    url_ref, veh_id = bf._id_from_url(href)
    attributes = _bf_row_specs(b, row)
    accessories = common.unique(
        bf._clean(t) for li in b.all(row, "div.accessories li") for t in b.own_texts(li)
    )
    extras = {
        "Engine": bf._value(_first_text(b, row, "td.engine p.val")),
        "save_rate": bf._value(_first_text(b, row, "p.save-rate")),
        "original_vehicle_price": bf._value(_first_text(b, row, "p.original-vehicle-price")),
        "special_price": bf._value(_first_text(b, row, "p.special-price")),
        "ref_icons": ", ".join(
            common.unique(b.attr(i, "alt") for i in b.all(row, "div.ref-icon-area img"))
        )
        or None,
        "accessories": ", ".join(accessories) or None,
    }
    attributes.update({k: v for k, v in extras.items() if v})
    if veh_id:
        attributes["veh_id"] = veh_id
    sold = b.first(row, "div.price-col-sold") is not None
    price = None if sold else bf._value(_first_text(b, row, "td.price-col span.price"))
    total = condition = port = None
    if not sold:
        total = bf._value(_first_text(b, row, "p.total-price"))
        text = _first_text(b, row, "p.price-condition")
        condition = (text.split(" ", 1)[0], text) if text else None
        port = bf._value(_first_text(b, row, "p.destination-port"))
    if condition:
        attributes["price_condition"] = condition[0]
        attributes["price_condition_text"] = condition[1]
    shipping = bf._clean((_first_text(b, row, "p.shipping-method") or "").strip("()"))
    if shipping and total:
        attributes["shipping_method"] = shipping
    ref = re.search(bf._REF_NO, _first_text(b, row, "p.veh-stock-no span") or "")
    image = b.first(row, "td.photo-col img")
    return _listing(
        "beforward",
        listing_id=ref.group(1).upper() if ref else url_ref,
        url=href,
        title=bf._clean(" ".join(title_lines)),
        price_raw=price,
        currency_raw=bf._currency_of(price),
        location_raw=bf._value(_first_text(b, row, "p.val.stock-area span")),
        year_raw=bf._value(_first_text(b, row, "td.year p.val")),
        make_model_raw=bf._make_model(title_lines[0] if title_lines else None),
        mileage_raw=bf._value(_first_text(b, row, "td.mileage p.val")),
        drive_raw=attributes.get("Drive"),
        transmission_raw=bf._value(_first_text(b, row, "td.trans p.val")),
        attributes=attributes,
        seller_type=common.SELLER_TYPE,
        price_basis="fob" if price else None,
        image_urls=common.unique(
            [common.image_url(b.attr(image, "src") if image is not None else None)]
        ),
        status_raw="SOLD" if sold else None,
        total_price_raw=total,
        destination_port=port,
    )


def bf_stock_list(b, body: bytes, url: str) -> list[dict]:
    root = b.root(body)
    rows = [
        r
        for r in b.all(root, "table.stocklist-row-wrap tr.stocklist-row")
        if b.first(r, "p.make-model a.vehicle-url-link") is not None
    ]
    listings = [_bf_row(b, row, url) for row in rows]
    wanted = (int(m.group(1)) if (m := bf._PAGE_SEGMENT.search(urlsplit(url).path)) else 1) + 1
    for link in b.all(root, "div.results-pagination a"):
        found = bf._PAGE_SEGMENT.search(urlsplit(b.attr(link, "href") or "").path)
        if found and int(found.group(1)) == wanted:
            break
    b.first(root, ".stocklist-no-result")
    return listings


def bf_detail(b, body: bytes, url: str) -> list[dict]:
    root = b.root(body)
    title = _first_text(b, root, "div.car-info-flex-box h1")
    specs: dict[str, str] = {}
    for th in b.all(root, "table.specification th"):
        label = _text(b, th)
        value = bf._value(_text(b, b.next_td(th)))
        if label and value:
            specs[label] = value
    if not title and not specs:
        return []
    url_ref, url_veh_id = bf._id_from_url(url)
    specs_text = _first_text(b, root, "div.detail-specs-text")
    ref = specs.get("Ref. No.") or (specs_text.split()[-1] if specs_text else None) or url_ref
    attributes = dict(specs)
    price = bf._value(_first_text(b, root, "span.price.ip-usd-price"))
    if price is None:
        box = b.first(root, ".list-detail-box")
        current = b.attr(box, "data-display-current-price") if box is not None else None
        price = f"${current}" if current and current.strip().isdigit() else None
    unadjusted = b.first(root, "#fob-price-not-adjustment")
    features = common.unique(
        bf._clean(t) for li in b.all(root, "div.remarks li.attached_on") for t in b.own_texts(li)
    )
    amount = bf._value(_first_text(b, root, "#fn-vehicle-price-total-price"))
    total = None
    if amount:
        prefix_node = b.first(root, ".fn-vehicle-price-total-price-currency-prefix")
        prefix = (
            bf._clean(b.own_texts(prefix_node)[0])
            if prefix_node is not None and b.own_texts(prefix_node)
            else None
        )
        total = amount if bf._currency_of(amount) or not prefix else prefix + amount
    port = None
    for p in b.all(root, "div.destination-wrap p.destination-port"):
        for text in b.own_texts(p):
            text = bf._clean(text)
            if text and not text.startswith("("):
                port = port or text
    quote_type = bf._value(_first_text(b, root, "#fn-vehicle-price-quote-type"))
    veh_input = b.first(root, "input[name=veh_id]")
    extras = {
        "model_code_ref": specs_text,
        "fob_price_not_adjustment": bf._clean(
            b.attr(unadjusted, "data-fob-price-not-adjustment") if unadjusted is not None else None
        ),
        "price_condition": quote_type if total else None,
        "features": ", ".join(features) or None,
        "veh_id": bf._clean(b.attr(veh_input, "value") if veh_input is not None else None)
        or url_veh_id,
    }
    attributes.update({k: v for k, v in extras.items() if v})
    currency_node = b.first(root, "#id-selected-currency")
    currency = bf._clean(b.attr(currency_node, "value") if currency_node is not None else None)
    images = [common.image_url(b.attr(i, "data-path")) for i in b.all(root, "input.fn-images-pc")]
    if not any(images):
        match = bf._GALLERY_JS.search(body.decode("utf-8"))
        if match:
            images = [common.image_url(u) for u in json.loads(match.group(1).replace("\\/", "/"))]
    return [
        _listing(
            "beforward",
            listing_id=ref,
            url=bf._without_query(url),
            title=title,
            price_raw=price,
            currency_raw=currency or bf._currency_of(price),
            location_raw=bf._value(_first_text(b, root, "span.specs-pickup-icon b"))
            or specs.get("Location"),
            year_raw=specs.get("Registration Year/month"),
            make_model_raw=bf._detail_make_model(title, specs.get("Version/Class")),
            mileage_raw=specs.get("Mileage"),
            drive_raw=specs.get("Drive"),
            transmission_raw=specs.get("Transmission"),
            attributes=attributes,
            seller_type=common.SELLER_TYPE,
            price_basis="fob" if price else None,
            image_urls=common.unique(images),
            total_price_raw=total,
            destination_port=port,
        )
    ]


# -- Craigslist posting page ------------------------------------------------------------------


def _cl_text(b, node) -> str | None:
    return None if node is None else ct.clean(" ".join(b.texts(node)))


def _cl_init(text: str, key: str, number: bool = True) -> str | None:
    pattern = (cl._INIT_NUMBER if number else cl._INIT_STRING).format(key=re.escape(key))
    match = re.search(pattern, text)
    return match.group(1) if match else None


def _cl_description(b, root) -> str | None:
    if isinstance(b, LxmlBackend):
        parts = b.xpath(
            root,
            '//*[@id="postingbody"]//text()'
            '[not(ancestor::*[contains(@class,"print-information")])]',
        )
        return cl.scrub_contacts(ct.paragraphs("".join(str(p) for p in parts)))
    body = root.find(id="postingbody")
    parts = (
        []
        if body is None
        else [
            str(s)
            for s in body.descendants
            if isinstance(s, bs4.NavigableString)
            and not isinstance(s, SoupBackend._skip)
            and not any(
                "print-information" in " ".join(p.get("class") or [])
                for p in s.parents
                if p is not None
            )
        ]
    )
    return cl.scrub_contacts(ct.paragraphs("".join(parts)))


def _cl_place(b, root, ld: dict) -> str | None:
    if isinstance(b, LxmlBackend):
        spans = b.xpath(
            root, '//*[contains(@class,"postingtitletext")]/span[not(@class) and not(@id)]'
        )
    else:
        spans = [
            s
            for t in root.select(".postingtitletext")
            for s in t.find_all("span", recursive=False)
            if s.get("class") is None and s.get("id") is None
        ]
    for span in reversed(spans):
        text = _cl_text(b, span)
        if text and text.startswith("(") and text.endswith(")"):
            return ct.clean(text[1:-1])
    address = common.dig(ld, "offers", "availableAtOrFrom", "address") or ld.get("address")
    if isinstance(address, dict) and address.get("addressLocality"):
        return ct.clean(address["addressLocality"])
    meta = b.first(root, 'meta[name="geo.placename"]')
    return ct.clean(b.attr(meta, "content") if meta is not None else None)


def cl_posting(b, body: bytes, url: str) -> list[dict]:
    root = b.root(body)
    text = body.decode("utf-8")
    listing_id = None
    for info in b.all(root, ".postinginfo"):
        match = re.search(r"post id:\s*(\d+)", _cl_text(b, info) or "")
        if match:
            listing_id = match.group(1)
            break
    listing_id = listing_id or _cl_init(text, "pID")
    script = b.first(root, "script#ld_posting_data")
    raw = "".join(b.texts(script)) if script is not None else None
    try:
        ld = json.loads(raw) if raw else {}
    except ValueError:
        ld = {}
    ld = ld if isinstance(ld, dict) else {}
    labelled: dict[str, str] = {}
    keyed: dict[str, str] = {}
    for attr in b.all(root, ".attrgroup .attr"):
        classes = (b.attr(attr, "class") or "").split()
        key = next((c for c in classes if c not in ("attr", "important")), None)
        label = _cl_text(b, b.first(attr, ".labl"))
        label = label.rstrip(":").strip() if label else None
        for valu in b.all(attr, ".valu"):
            value_classes = (b.attr(valu, "class") or "").split()
            value_key = next((c for c in value_classes if c != "valu"), None) or key
            name = label or value_key
            value = cl.scrub_contacts(_cl_text(b, valu))
            if not name or value is None or name.lower() in ct.CONTACT_LABELS:
                continue
            labelled[name] = value
            if value_key:
                keyed[value_key] = value
    times = {}
    for info in b.all(root, ".postinginfos .postinginfo"):
        own = b.own_texts(info)
        label = " ".join(own[0].split()).rstrip(":").strip().lower() if own else ""
        when = b.first(info, "time")
        when = b.attr(when, "datetime") if when is not None else None
        if label in ("posted", "updated") and when:
            times[label] = when.strip()
    if "posted" not in times:
        shown = b.first(root, "#display-date time")
        if shown is not None and b.attr(shown, "datetime"):
            times["posted"] = b.attr(shown, "datetime").strip()
    if "updated" in times:
        labelled["updated"] = times["updated"]
    shown_price = _cl_text(b, b.first(root, ".postingtitletext .price"))
    offered = common.dig(ld, "offers", "price")
    price = shown_price or (ct.clean(str(offered)) if offered else None)
    currency = common.dig(ld, "offers", "priceCurrency") if price else None
    mapbox = b.first(root, "#map")
    lat = b.attr(mapbox, "data-latitude") if mapbox is not None else None
    lon = b.attr(mapbox, "data-longitude") if mapbox is not None else None
    if lat is None:
        geo = b.first(root, 'meta[name="geo.position"]')
        geo = b.attr(geo, "content") if geo is not None else None
        if geo and ";" in geo:
            lat, lon = geo.split(";", 1)
    if lat is None:
        geo = common.dig(ld, "offers", "availableAtOrFrom", "geo")
        lat, lon = common.dig(geo, "latitude"), common.dig(geo, "longitude")
    thumbs = [b.attr(a, "href") for a in b.all(root, "#thumbs a.thumb")]
    if thumbs:
        images = [urljoin(url, t.strip()) for t in thumbs if t is not None]
    elif match := cl._IMG_LIST.search(text):
        images = [img["url"] for img in json.loads(match.group(1)) if img.get("url")]
    else:
        found = ld.get("image")
        images = [i for i in found if isinstance(i, str)] if isinstance(found, list) else []
    category = _cl_init(text, "categoryAbbr", number=False) or ct.category_of_url(url)
    title = cl.scrub_contacts(
        _cl_text(b, b.first(root, "#titletextonly")) or ct.clean(ld.get("name"))
    )
    return [
        _listing(
            "craigslist",
            listing_id=listing_id,
            url=url,
            title=title,
            description=_cl_description(b, root),
            price_raw=price,
            currency_raw=currency,
            location_raw=_cl_place(b, root, ld),
            posted_raw=times.get("posted"),
            attributes=labelled,
            seller_type=cl.CATEGORY_SELLER.get(category) if category else None,
            price_basis="asking" if price else None,
            image_urls=images,
            latitude=cl._float(lat),
            longitude=cl._float(lon),
            repost_of=_cl_init(text, "repost_of"),
            **cl.raw_fields_from_attributes(labelled, keyed),
        )
    ]


# -- Bring a Trailer --------------------------------------------------------------------------


def _bat_item(b, item: dict, url: str) -> dict | None:
    """``bat.parse_result_item`` with the flag image read by the backend."""
    if not isinstance(item, dict) or item.get("id") in (None, ""):
        return None
    listing_id = str(item["id"])
    title = bat.clean_text(item.get("title"))
    sold_text = bat.clean_text(item.get("sold_text"))
    result = bat.parse_result_text(sold_text)
    bid = bat.clean_text(item.get("current_bid_formatted")) if item.get("current_bid") else None
    price_raw, price_basis, status_raw = bat._outcome(
        result, bool(item.get("active")), bid, sold_text
    )
    attributes = {"sold_text": sold_text} if sold_text else {}
    end_key = "ends_at" if status_raw == "live" else "ended_at"
    attributes.update(bat.end_attributes(item.get("timestamp_end"), end_key))
    if result is not None and result.date:
        attributes["result_date"] = result.date
    if item.get("country_code"):
        attributes["country_code"] = str(item["country_code"])
    if item.get("noreserve"):
        attributes["no_reserve"] = "yes"
    flag = item.get("country_flag")
    location = bat.clean_text(item.get("country"))
    if not location and isinstance(flag, str) and flag:
        location = bat.clean_text(b.fragment_attr(flag, "img", "alt"))
    location = location or bat.clean_text(item.get("country_code_alpha3"))
    thumbnail, year = item.get("thumbnail_url"), item.get("year")
    return _listing(
        "bringatrailer",
        listing_id=listing_id,
        url=urljoin(url, item.get("url") or f"/?p={listing_id}"),
        title=title,
        description=bat.clean_text(item.get("excerpt")),
        price_raw=price_raw,
        currency_raw=bat.clean_text(item.get("currency")) if price_raw else None,
        location_raw=location,
        year_raw=str(year) if year not in (None, "") else bat.title_year(title),
        mileage_raw=bat.title_mileage(title),
        drive_raw=bt.title_match(bt.TITLE_DRIVE, title),
        transmission_raw=bt.title_match(bt.TITLE_TRANSMISSION, title),
        attributes=attributes,
        price_basis=price_basis,
        image_urls=[urljoin(url, thumbnail)] if thumbnail else [],
        latitude=bat.float_or_none(item.get("lat")),
        longitude=bat.float_or_none(item.get("lon")),
        status_raw=status_raw,
    )


def _bat_live_card(b, card, url: str) -> dict | None:
    listing_id = bat.clean_text(b.attr(card, "data-listing_id"))
    if not listing_id:
        return None
    link = b.first(card, "h3 a")
    overlay = b.first(card, "a.image-overlay")
    href = (b.attr(link, "href") if link is not None else None) or (
        b.attr(overlay, "href") if overlay is not None else None
    )
    thumb = b.first(card, ".thumbnail img")
    title = bat.clean_text(" ".join(b.texts(link)) if link is not None else None) or (
        bat.clean_text(b.attr(thumb, "alt")) if thumb is not None else None
    )
    bid_node = b.first(card, ".bid-formatted")
    bid = (
        bat.clean_text(b.own_texts(bid_node)[0])
        if bid_node is not None and b.own_texts(bid_node)
        else None
    )
    results = bat.clean_text(" ".join(t for n in b.all(card, ".item-results") for t in b.texts(n)))
    result = bat.parse_result_text(results)
    price_raw, price_basis, status_raw = bat._outcome(result, True, bid)
    attributes = bat.end_attributes(b.attr(card, "data-timestamp_end"), "ends_at")
    if results:
        attributes["sold_text"] = results
    country_node = b.first(card, ".show-country-name")
    country = (
        bat.clean_text(b.own_texts(country_node)[0])
        if country_node is not None and b.own_texts(country_node)
        else None
    )
    if country:
        attributes["country"] = country
    if b.first(card, ".item-tag-noreserve") is not None:
        attributes["no_reserve"] = "yes"
    flag = b.first(card, ".item-tag-currency img.countries-flags")
    image = b.attr(thumb, "src") if thumb is not None else None
    return _listing(
        "bringatrailer",
        listing_id=listing_id,
        url=urljoin(url, href or f"/?p={listing_id}"),
        title=title,
        description=bat.clean_text(
            " ".join(t for n in b.all(card, ".item-excerpt") for t in b.texts(n))
        ),
        price_raw=price_raw,
        currency_raw=bat.currency_of(price_raw),
        location_raw=bat.clean_text(b.attr(flag, "alt") if flag is not None else None) or country,
        year_raw=bat.title_year(title),
        mileage_raw=bat.title_mileage(title),
        drive_raw=bt.title_match(bt.TITLE_DRIVE, title),
        transmission_raw=bt.title_match(bt.TITLE_TRANSMISSION, title),
        attributes=attributes,
        price_basis=price_basis,
        image_urls=[urljoin(url, image)] if image else [],
        status_raw=status_raw,
    )


def bat_model_page(b, body: bytes, url: str) -> list[dict]:
    root = b.root(body)
    text = body.decode("utf-8")
    script = b.first(root, "script#bat-theme-auctions-completed-initial-data")
    data = (
        bat.extract_js_object("".join(b.texts(script)), bat.COMPLETED_VAR)
        if script is not None
        else None
    )
    if data is None:
        data = bat.extract_js_object(text, bat.COMPLETED_VAR)
    completed = (
        []
        if data is None
        else [
            x
            for x in (_bat_item(b, item, url) for item in data.get("items") or [])
            if x is not None
        ]
    )
    cards = b.all(root, "div.listing-card[data-listing_id][data-timestamp_end]")
    live = [x for x in (_bat_live_card(b, card, url) for card in cards) if x is not None]
    bat.extract_js_object(text, bat.TOOLBAR_VAR)
    return [*completed, *live]


def _bat_essential(b, root, label: str) -> str | None:
    for item in b.all(root, ".essentials .item"):
        strong = b.first(item, "strong")
        own = b.own_texts(strong) if strong is not None else []
        if own and bat.clean_text(own[0]) == label:
            direct = (
                strong
                if (strong.getparent() if isinstance(b, LxmlBackend) else strong.parent) is item
                else None
            )
            parts = b.siblings_after(direct) if direct is not None else []
            return bat.clean_text(" ".join(parts).lstrip().lstrip(":#"))
    return None


def _bat_details(b, root) -> dict[str, str]:
    details: dict[str, str] = {}
    others = []
    for item in b.all(root, ".essentials .item"):
        strong = b.first(item, "strong")
        own = b.own_texts(strong) if strong is not None else []
        if not own or bat.clean_text(own[0]) != "Listing Details":
            continue
        for li in b.all(item, "ul > li"):
            line = bat.clean_text(" ".join(b.texts(li)))
            if not line:
                continue
            if line.lower().startswith("chassis"):
                details["chassis"] = line.split(":", 1)[-1].strip()
                continue
            kind = bat._classify_detail(line)
            if kind and kind not in details:
                details[kind] = line
            else:
                others.append(line)
    if others:
        details["other"] = "; ".join(others)
    return details


def bat_listing_page(b, body: bytes, url: str) -> list[dict]:
    root = b.root(body)
    shortlink = b.first(root, "link[rel=shortlink]")
    href = b.attr(shortlink, "href") if shortlink is not None else None
    ids = parse_qs(urlsplit(href).query).get("p") if href else None
    listing_id = ids[0] if ids else None
    if not listing_id:
        return []
    info = bat.clean_text(
        " ".join(t for n in b.all(root, ".listing-available-info") for t in b.texts(n))
    )
    result = bat.parse_result_text(info)
    details = _bat_details(b, root)
    attributes = {"available_info": info} if info else {}
    stamp = b.first(root, ".listing-available-info span.date")
    timestamp = b.attr(stamp, "data-timestamp") if stamp is not None else None
    if not timestamp:
        stamp = b.first(root, "span.date[data-timestamp]")
        timestamp = b.attr(stamp, "data-timestamp") if stamp is not None else None
    attributes.update(bat.end_attributes(timestamp, "ended_at"))
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
    lot = _bat_essential(b, root, "Lot")
    if lot:
        attributes["Lot"] = lot
    stats = {}
    for row in b.all(root, "table.listing-stats tr"):
        label = bat.clean_text(
            " ".join(t for n in b.all(row, ".listing-stats-label") for t in b.texts(n))
        )
        value = bat.clean_text(
            " ".join(t for n in b.all(row, ".listing-stats-value") for t in b.texts(n))
        )
        if label and value:
            stats[label] = value
    if stats.get("Bids"):
        attributes["Bids"] = stats["Bids"]
    title = bat.clean_text(" ".join(t for n in b.all(root, "h1.post-title") for t in b.texts(n)))
    paragraphs = [bat.clean_text(" ".join(b.texts(p))) for p in b.all(root, ".post-excerpt p")]
    images: list[str] = []
    for script in b.all(root, 'script[type="application/ld+json"]'):
        try:
            data = json.loads("".join(b.texts(script)))
        except json.JSONDecodeError:
            continue
        for node in data if isinstance(data, list) else [data]:
            if isinstance(node, dict) and node.get("@type") == "Product":
                image = node.get("image")
                images.extend([image] if isinstance(image, str) else [i for i in image or [] if i])
    return [
        _listing(
            "bringatrailer",
            listing_id=listing_id,
            url=url,
            title=title,
            description="\n\n".join(p for p in paragraphs if p) or None,
            price_raw=result.amount if result else None,
            currency_raw=bat.currency_of(result.amount) if result else None,
            location_raw=_bat_essential(b, root, "Location"),
            year_raw=bat.title_year(title),
            mileage_raw=details.get("mileage") or bat.title_mileage(title),
            drive_raw=details.get("drive"),
            transmission_raw=details.get("transmission"),
            attributes=attributes,
            seller_type=_bat_essential(b, root, "Private Party or Dealer"),
            price_basis=result.price_basis if result else None,
            image_urls=[urljoin(url, i) for i in images],
            status_raw=result.status_raw if result else None,
        )
    ]


# -- the page kinds ---------------------------------------------------------------------------


def _ours(parse: Callable) -> Callable[[bytes, str], list]:
    def run(body: bytes, url: str) -> list:
        return parse(HtmlResponse(url=url, body=body, encoding="utf-8"))

    return run


#: (source, kind) -> (which sample targets, the project's parser, the baseline)
KINDS: dict[tuple[str, str], tuple[Callable[[str], bool], Callable, Callable]] = {
    ("beforward", "stock_list"): (
        lambda t: "/stocklist/" in t,
        lambda r: bf.parse_stock_list(r).listings,
        bf_stock_list,
    ),
    ("beforward", "detail"): (
        lambda t: "/id/" in t,
        lambda r: [x for x in [bf.parse_detail(r)] if x is not None],
        bf_detail,
    ),
    ("craigslist", "posting"): (
        lambda t: t.startswith("/craigslist/www/view/"),
        lambda r: [cl.parse_posting(r)],
        cl_posting,
    ),
    ("bringatrailer", "model_page"): (
        lambda t: t.count("/") == 5 and "/listing/" not in t,
        lambda r: bat.parse_listings(r, None),
        bat_model_page,
    ),
    ("bringatrailer", "listing_page"): (
        lambda t: "/listing/" in t,
        lambda r: [x for x in [bat.parse_listing_page(r, None)] if x is not None],
        bat_listing_page,
    ),
}


def sample_pages(root: Path = SAMPLE_DIR) -> dict[tuple[str, str], list[tuple[str, bytes]]]:
    """(source, kind) -> [(url, body)] over every night of the sample, HTML pages only."""
    pages: dict[tuple[str, str], list[tuple[str, bytes]]] = {key: [] for key in KINDS}
    for folder in sorted(root.glob("night*")):
        for target, route in load_routes(folder).items():
            if "html" not in route["type"] or route["status"] != 200:
                continue
            source = target.split("/")[1]
            for (src, kind), (wanted, _, _) in KINDS.items():
                if src == source and wanted(target):
                    url = "http://127.0.0.1:8000" + target
                    pages[(src, kind)].append((url, (folder / route["file"]).read_bytes()))
    return pages


#: The saved real pages (``../shared/fixtures``, real-size: 20-360 KB) the baselines read too:
#: (source, kind) -> [(file, the page's address)].
REAL_PAGES: dict[tuple[str, str], list[tuple[str, str]]] = {
    ("craigslist", "posting"): [
        (
            "craigslist/posting_apa_milwaukee_2026-05.html",
            "https://milwaukee.craigslist.org/apa/d/wauwatosa-wauwatosa-bdrm-bath-near-mcw/7936415355.html",
        ),
        (
            "craigslist/posting_apa_newyork_2026-06.html",
            "https://newyork.craigslist.org/mnh/apa/d/new-york-no-fee-bright-1br/7942602776.html",
        ),
        (
            "craigslist/posting_cto_2005_nissan_350z_losangeles_2026-05.html",
            "https://losangeles.craigslist.org/sfv/cto/d/valley-village-2005-nissan-350z/7936311079.html",
        ),
    ],
    ("beforward", "stock_list"): [
        (
            "beforward/stocklist_rows_mixed_incl_hijet_truck_2026-05-17.html",
            "https://www.beforward.jp/stocklist/",
        ),
        (
            "beforward/stocklist_toyota_corolla_axio_excerpt.html",
            "https://www.beforward.jp/stocklist/sortkey=n/keyword=Toyota%20Corolla%20Axio/kmode=and/",
        ),
    ],
    ("beforward", "detail"): [
        (
            "beforward/detail_toyota_corolla_axio_CE566767_excerpt.html",
            "https://www.beforward.jp/toyota/corolla-axio/ce566767/id/16468163/",
        ),
    ],
    ("bringatrailer", "model_page"): [
        (
            "bringatrailer/model_page_completed_porsche_911_gt3_2026-04.html",
            "https://bringatrailer.com/porsche/911-gt3/",
        ),
    ],
    ("bringatrailer", "listing_page"): [],
}
#: Where the saved real pages are (reference material beside the project, not part of it).
REAL_DIR = ROOT.parent / "shared" / "fixtures"


def real_pages(root: Path = REAL_DIR) -> dict[tuple[str, str], list[tuple[str, bytes]]]:
    """(source, kind) -> [(url, body)] of the saved real pages; SystemExit when absent."""
    if not root.is_dir():
        raise SystemExit(f"no saved real pages at {root} (../shared/fixtures)")
    return {
        key: [(url, (root / name).read_bytes()) for name, url in files]
        for key, files in REAL_PAGES.items()
    }


def project(listing: Any) -> dict:
    data = asdict(listing)
    return {name: data[name] for name in COMPARED}


def check_same_fields(pages, backends) -> int:
    """Every baseline returns exactly the parser's fields on every page; returns fields compared."""
    compared = 0
    for (source, kind), items in pages.items():
        _, ours, baseline = KINDS[(source, kind)]
        for url, body in items:
            expected = [
                project(x) for x in ours(HtmlResponse(url=url, body=body, encoding="utf-8"))
            ]
            for backend in backends:
                got = baseline(backend, body, url)
                if got != expected:
                    for want, have in zip(expected, got, strict=False):
                        diff = {k: (want[k], have[k]) for k in want if want[k] != have[k]}
                        print(f"MISMATCH {backend.name} {source} {kind} {url}: {diff}")
                    raise SystemExit(f"{backend.name} does not extract what the parser does")
                compared += sum(len(x) for x in expected)
    return compared


def best_times(runs: dict[str, Callable[[], Any]], rounds: int) -> dict[str, float]:
    """Least CPU seconds of each runner over ``rounds`` rounds, the runners interleaved so a
    busy machine slows them alike."""
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(rounds):
        for name, run in runs.items():
            start = time.process_time()
            run()
            best[name] = min(best[name], time.process_time() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds (best is kept)")
    parser.add_argument("--repeat", type=int, default=3, help="passes over the pages per round")
    parser.add_argument(
        "--pages",
        choices=("sample", "real", "both"),
        default="both",
        help="the sample marketplace's pages (3-13 KB), the saved real pages of "
        "../shared/fixtures (20-360 KB), or both (real ones only when that folder is there)",
    )
    parser.add_argument(
        "--every-source",
        action="store_true",
        help="only time each of the eight parsers (parse_page) on its sample pages, no baseline",
    )
    parser.add_argument(
        "--trees",
        action="store_true",
        help="only time building the tree of each page: lxml, parsel, lexbor (selectolax, when "
        "installed) and BeautifulSoup, on the sample and the saved real pages",
    )
    args = parser.parse_args(argv)
    if args.every_source:
        measure_every_source(args.rounds)
        return 0
    if args.trees:
        measure_trees(args.rounds)
        return 0
    if args.pages in ("sample", "both"):
        measure("parse", sample_pages(), args.rounds, args.repeat)
    if args.pages == "real" or (args.pages == "both" and REAL_DIR.is_dir()):
        measure("parse_real", real_pages(), args.rounds, args.repeat)
    return 0


def measure_every_source(rounds: int) -> None:
    """CPU ms per page of each source's ``parse_page`` over every sample page it reads (HTML
    and JSON), best of ``rounds``: the parsers the baselines do not cover included."""
    import importlib

    pages: dict[str, list[tuple[str, bytes]]] = {}
    for folder in sorted(SAMPLE_DIR.glob("night*")):
        for target, route in load_routes(folder).items():
            if route["status"] == 200:
                url = "http://127.0.0.1:8000" + target
                body = (folder / route["file"]).read_bytes()
                pages.setdefault(target.split("/")[1], []).append((url, body))
    for source in sorted(pages):
        module = importlib.import_module(f"scrapers.parsers.{source}")

        def run(items=pages[source], module=module) -> None:
            for url, body in items:
                module.parse_page(HtmlResponse(url=url, body=body, encoding="utf-8"), None)

        seconds = best_times({source: run}, rounds)[source]
        print(f"cpu ms/page parse_every_source_{source} {1000 * seconds / len(pages[source]):.3f}")


def measure_trees(rounds: int) -> None:
    """CPU ms per page of building the tree alone (no field read): what a parser on each
    library pays before its first query, so what bounds it against BeautifulSoup."""
    try:
        from selectolax import lexbor
    except ImportError:  # not a dependency of the project: measured only where installed
        lexbor = None
    parser = etree.HTMLParser(encoding="utf-8")
    builders: dict[str, Callable[[str, bytes], Any]] = {
        "lxml": lambda url, body: etree.fromstring(body, parser),
        "parsel": lambda url, body: HtmlResponse(url=url, body=body, encoding="utf-8").selector,
        "bs4": lambda url, body: bs4.BeautifulSoup(body, "html.parser", from_encoding="utf-8"),
    }
    if lexbor is not None:
        builders["lexbor"] = lambda url, body: lexbor.LexborHTMLParser(body).root
    sets = {"parse": sample_pages()}
    if REAL_DIR.is_dir():
        sets["parse_real"] = real_pages()
    for name, pages in sets.items():
        items = [page for found in pages.values() for page in found]

        def runner(build, items=items) -> Callable[[], None]:
            return lambda: [build(url, body) for url, body in items]

        seconds = best_times({k: runner(b) for k, b in builders.items()}, rounds)
        for builder, value in seconds.items():
            print(f"cpu ms/page tree_{name} {builder} {1000 * value / len(items):.3f}")
        for builder, value in seconds.items():
            print(f"ceiling tree_{name} bs4/{builder} {seconds['bs4'] / value:.1f}")


def measure(name: str, pages, rounds: int, repeat: int) -> None:
    """Check the baselines on ``pages``, time the three, print pages/s and ``ratio`` lines."""
    lxml_backend, soup_backend = LxmlBackend(), SoupBackend()
    fields = check_same_fields(pages, (lxml_backend, soup_backend))
    count = sum(len(v) for v in pages.values())
    print(
        f"{name}: pages {count} ({', '.join(f'{s}/{k} {len(v)}' for (s, k), v in pages.items())})"
    )
    print(f"{name}: checked: both baselines return the parsers' {fields} field values")

    def runner(impl: str, keys) -> Callable[[], None]:
        jobs = []
        for key in keys:
            _, ours, baseline = KINDS[key]
            for url, body in pages[key]:
                if impl == "parse":
                    jobs.append((_ours(ours), body, url))
                else:
                    backend = lxml_backend if impl == "raw_lxml" else soup_backend
                    jobs.append(
                        (lambda body, url, b=backend, f=baseline: f(b, body, url), body, url)
                    )

        def run() -> None:
            for _ in range(repeat):
                for fn, body, url in jobs:
                    fn(body, url)

        return run

    sources = sorted({s for s, _ in KINDS})
    totals = {"parse": 0.0, "raw_lxml": 0.0, "bs4": 0.0}
    ratios = []
    for source in sources:
        keys = [k for k in KINDS if k[0] == source]
        n = sum(len(pages[k]) for k in keys) * repeat
        seconds = best_times({impl: runner(impl, keys) for impl in totals}, rounds)
        for impl, value in seconds.items():
            totals[impl] += value
            print(f"pages/s {name}_{source} {impl} {n / value:,.0f}")
        ratios.append(
            f"ratio {name}_{source}/raw_lxml {seconds['raw_lxml'] / seconds['parse']:.2f}"
        )
        ratios.append(f"ratio {name}_{source}/bs4 {seconds['bs4'] / seconds['parse']:.2f}")
    n = count * repeat
    for impl, value in totals.items():
        print(f"pages/s {name} {impl} {n / value:,.0f}")
    for line in ratios:
        print(line)
    # parse/bs4 = parse/raw_lxml x raw_lxml/bs4: the second factor bounds it
    print(
        f"ceiling {name} raw_lxml/bs4 {totals['bs4'] / totals['raw_lxml']:.2f} (what {name}/bs4 "
        "would be at 1.00x raw lxml)"
    )
    print(f"ratio {name}/raw_lxml {totals['raw_lxml'] / totals['parse']:.2f}")
    print(f"ratio {name}/bs4 {totals['bs4'] / totals['parse']:.2f}")


if __name__ == "__main__":
    raise SystemExit(main())

"""Render the sample SBT Japan search and detail pages from the catalog, in SBT's BEM markup.

Each configured search (``make_id`` + ``model[]``) shows the night's SBT trucks of that make and
model, newest first, ``PAGE_SIZE`` cards a page: a search that spans several pages gets SBT's
``a.pagination__link`` pager (the last page's "-next" disabled); a one-page search has no pager,
so the spider asks for page 2 and finds the empty page rendered past the end. A search with no
trucks says "0 results". Cards carry the spec spans (two ``-engine-capacity`` ones: size and
engine code), the vehicle price (a sale price in ``ins`` beside the struck original for trucks on
sale), the C&F total to the truck's US port, and a SOLD badge instead of prices once sold. Every
truck has a detail page with the status and info lists, the options, the gallery, the estimate
form and the price calculator. ``card_html`` and ``detail_html`` take plain display values, so
tests can write pages from other values (the real records) in the same markup.
"""

from __future__ import annotations

from html import escape
from typing import Any

from keitrucks.sample.catalog import SampleTruck, listings_on
from keitrucks.sample.site import Route
from keitrucks.sample.trucks_sbtjapan import INSPECTION, ON_SALE, charges
from keitrucks.sample.urls import SBTJAPAN_SEARCHES, sbtjapan_detail, sbtjapan_search

SOURCE = "sbtjapan"
PREFIX = f"/{SOURCE}/www"
SITE = "https://www.sbtjapan.com"
#: Cards per sample page: small, so that a search with three trucks spans two pages.
PAGE_SIZE = 2
#: canonical model -> (make_id, model[] slug) of the search that finds it.
SEARCH_OF = {
    "Suzuki Carry": (9, "CARRY-TRUCK"),
    "Daihatsu Hijet": (8, "HIJET-TRUCK"),
    "Honda Acty": (4, "ACTY-TRUCK"),
    "Subaru Sambar": (7, "SAMBAR-TRUCK"),
    "Mitsubishi Minicab": (6, "MINICAB-TRUCK"),
    "Mazda Scrum": (5, "SCRUM-TRUCK"),
    "Nissan NT100 Clipper": (3, "CLIPPER-TRUCK"),
    "Toyota Pixis": (2, "PIXIS-TRUCK"),
}
_ENGINE_CODES = {
    "DA16T": "R06A",
    "S500P": "KF",
    "S510P": "KF",
    "HA8": "E07Z",
    "HA9": "E07Z",
    "TT1": "EN07",
    "TT2": "EN07",
    "DS16T": "R06A",
    "DG16T": "R06A",
    "DR16T": "R06A",
}
_OPTIONS = {
    "Comfort & Convenience": ("Air Conditioner", "Power Steering", "Power Window All"),
    "Safety": ("ABS", "Air Bag"),
    "Other": ("Back Tire",),
}


def render(catalog: list[SampleTruck], night: int) -> list[Route]:
    trucks = listings_on(catalog, SOURCE, night)
    routes: list[Route] = []
    for key in SBTJAPAN_SEARCHES:
        search = {"make_id": key[0], "model": key[1]}
        found = [t for t in reversed(trucks) if SEARCH_OF.get(t.model) == key]
        pages = [found[i : i + PAGE_SIZE] for i in range(0, len(found), PAGE_SIZE)] or [[]]
        for number, cards in enumerate([*pages, []], start=1):
            html = search_page(
                [card_html(card_values(t, night)) for t in cards],
                count=len(found),
                page=number,
                last_page=len(pages),
                search=search,
            )
            routes.append(Route(PREFIX + sbtjapan_search(*key, number), html.encode()))
    for truck in trucks:
        path = sbtjapan_detail(truck.listing_id)
        routes.append(Route(PREFIX + path, detail_html(detail_values(truck, night)).encode()))
    return routes


# -- values from the catalog ----------------------------------------------------------------------


def _money(value: int | None) -> str | None:
    return f"{value:,}" if value is not None else None


def _bare(code: str | None) -> str:
    return code.split("-", 1)[-1] if code else ""


def _grade(truck: SampleTruck) -> str:
    words = truck.title.split()
    return " ".join(words[4:])  # after "<date> <MAKE> <MODEL> TRUCK"


def _images(truck: SampleTruck, count: int) -> list[str]:
    names = ["f", "r", *map(str, range(2, count))][:count]
    return [
        f"https://img.sbtjapan.com/img/carphoto/{truck.listing_id}/normal/{n}.jpg?v=1795488000"
        for n in names
    ]


def _status(truck: SampleTruck) -> list[tuple[str, str]]:
    return [
        ("-model-code", truck.model_code or "-"),
        ("-mileage", f"{truck.mileage:,}km"),
        ("-engine-capacity", f"{truck.engine_cc:,}cc"),
        ("-engine-capacity", _ENGINE_CODES.get(_bare(truck.model_code), "-")),
        ("-transmission", "MT" if truck.transmission == "manual" else "AT"),
        ("-drive-type", "4WD" if truck.is_4wd else "2WD"),
        ("-steering-type", "RHD"),
        ("-fuel-type", "PETROL"),
        ("-door", "2"),
        ("-seats", "2"),
        ("-body-color", truck.color),
    ]


def _form(truck: SampleTruck) -> dict[str, str]:
    make, *model = truck.title.split()[1:4]
    return {
        "make": make,
        "model": truck.model_code or "",
        "name": " ".join(model),
        "year": str(truck.year),
        "month": str(truck.month or ""),
        "grade": _grade(truck),
        "make_id": str(SEARCH_OF[truck.model][0]),
        "body_type": "Truck",
        "mileage": str(truck.mileage),
    }


def _original(truck: SampleTruck, night: int) -> int | None:
    state = truck.nights[night]
    if truck.key in ON_SALE and state and state.price:
        return int(round(state.price * 1.08 / 10) * 10)
    return None


def card_values(truck: SampleTruck, night: int) -> dict[str, Any]:
    state = truck.nights[night]
    sold = state.status == "sold"
    return {
        "url": SITE + sbtjapan_detail(truck.listing_id),
        "image": _images(truck, 1)[0],
        "title": truck.title,
        "stock": truck.listing_id,
        "location": truck.location,
        "status": _status(truck),
        "currency": "USD",
        "price": None if sold else _money(state.price),
        "original": _money(_original(truck, night)),
        "total": None if sold else _money(truck.totals[night]),
        "terms": f"C&F to {truck.destination_port.upper()}",
        "sold": sold,
        "form": _form(truck),
    }


def detail_values(truck: SampleTruck, night: int) -> dict[str, Any]:
    state = truck.nights[night]
    sold = state.status == "sold"
    price = None if sold else state.price
    total = truck.totals[night] if not sold else None
    freight, insurance = charges(truck.listing_id)
    frame = f"{_bare(truck.model_code)}-{int(truck.listing_id[2:]) * 37 % 900000 + 100000}"
    options = {
        cat: [(o, i < 2 or (cat == "Other" and bool(truck.is_4wd))) for i, o in enumerate(opts)]
        for cat, opts in _OPTIONS.items()
    }
    return {
        "title": truck.title,
        "model_code": truck.model_code or "-",
        "year_text": f"{truck.year}/{truck.month}" if truck.month else str(truck.year),
        "body": "Truck",
        "stock": truck.listing_id,
        "location": truck.location,
        "images": _images(truck, 4),
        "currency": "USD",
        "price": _money(price),
        "sold": sold,
        "status": [
            ("Mileage", f"{truck.mileage:,}km"),
            ("Engine", f"{truck.engine_cc:,}cc"),
            ("Transmission", "MT" if truck.transmission == "manual" else "AT"),
            ("Drive", "4WD" if truck.is_4wd else "2WD"),
            ("Steering", "RHD"),
            ("Fuel", "PETROL"),
            ("Door", "2"),
            ("Seats", "2"),
        ],
        "info": [
            ("Chassis No.", frame),
            ("Body Color", truck.color),
            ("Dimension", "3.39m×1.47m×1.78m"),
            ("M3", "8.87"),
            ("Vehicle Weight", "700kg"),
            ("Gross Vehicle Weight", "1,000kg"),
            ("Max Loading Capacity", "350kg"),
        ],
        "options": options,
        "breakdown": {
            "vehicle_price": _money(price),
            "freight_amount": _money(freight) if total else None,
            "inspection_amount": _money(INSPECTION) if total else None,
            "insurance_amount": _money(insurance) if total else None,
            "vanning_amount": "0" if total else None,
        },
        "total": _money(total),
        "total_label": "Total Price (C&F)",
        "country": "UNITED STATES",
        "port": truck.destination_port.upper(),
        "form": _form(truck),
    }


# -- markup ---------------------------------------------------------------------------------------


def _e(text: Any) -> str:
    return escape(str(text), quote=True)


def _form_html(form: dict[str, str], form_id: str = "") -> str:
    inputs = "\n".join(
        f'<input type="hidden" name="{_e(k)}" value="{_e(v)}">' for k, v in form.items()
    )
    attr = f' id="{form_id}"' if form_id else ""
    return (
        f'<form{attr} class="estimate-form" action="{SITE}/estimate" method="post">\n{inputs}\n'
        "</form>"
    )


def card_html(c: dict[str, Any]) -> str:
    status = "\n".join(
        '<li class="card-product__status-item">'
        f'<span class="card-product__status {m}">{_e(t)}</span></li>'
        for m, t in c["status"]
    )
    if c["sold"]:
        prices = (
            '<div class="card-product__sold">'
            '<span class="card-product__sold-label">SOLD</span></div>'
        )
    else:
        if c.get("original"):
            amount = (
                '<del class="card-product__price-sale-origin">'
                f'<span class="card-product__price">{_e(c["original"])}</span></del>\n'
                '<ins class="card-product__price-sale-value">'
                f'<span class="card-product__price">{_e(c["price"])}</span></ins>'
            )
        else:
            amount = f'<span class="card-product__price">{_e(c["price"] or "ASK")}</span>'
        total = (
            f'<span class="card-product__price">{_e(c["total"])}</span>\n'
            f'<span class="card-product__total-price-terms">({_e(c["terms"])})</span>'
            if c.get("total")
            else '<span class="card-product__price">ASK</span>'
        )
        prices = CARD_PRICES.format(currency=_e(c["currency"]), amount=amount, total=total)
    return CARD.format(
        url=_e(c["url"]),
        image=_e(c["image"]),
        title=_e(c["title"]),
        stock=_e(c["stock"]),
        location=_e(c["location"]),
        status=status,
        prices=prices,
        form=_form_html(c["form"]),
    )


def search_page(cards: list[str], *, count: int, page: int, last_page: int, search: dict) -> str:
    if cards:
        results = '<ul class="search-result__list">\n' + "\n".join(cards) + "\n</ul>\n"
        results += pagination(search, page, last_page)
    elif count == 0:
        results = '<p class="search-result__empty">0 results: no vehicles match your search.</p>\n'
    else:
        results = '<ul class="search-result__list">\n</ul>\n'
    return SEARCH.format(model=_e(search["model"].replace("-", " ")), count=count, results=results)


def pagination(search: dict, page: int, last_page: int) -> str:
    if last_page <= 1:
        return ""
    items = []
    for n in range(1, last_page + 1):
        href = SITE + sbtjapan_search(search["make_id"], search["model"], n)
        active = " -is-active" if n == page else ""
        items.append(
            '<li class="pagination__item">'
            f'<a class="pagination__link{active}" href="{_e(href)}">{n}</a></li>'
        )
    nxt = SITE + sbtjapan_search(search["make_id"], search["model"], page + 1)
    if page < last_page:
        items.append(
            '<li class="pagination__item">'
            f'<a class="pagination__link -next" href="{_e(nxt)}">Next</a></li>'
        )
    else:
        items.append(
            '<li class="pagination__item">'
            '<a class="pagination__link -next -is-disabled">Next</a></li>'
        )
    return (
        '<nav class="pagination">\n<ul class="pagination__list">\n'
        + "\n".join(items)
        + "\n</ul>\n</nav>\n"
    )


def detail_html(d: dict[str, Any]) -> str:
    gallery = "\n".join(
        '<div class="swiper-slide"><div class="product-detail__main-image">'
        f'<img src="{_e(src)}" alt=""></div></div>'
        for src in d["images"]
    )
    status = "\n".join(
        '<div class="product-detail__status-item">'
        f'<div class="product-detail__status-label">{_e(k)}</div>'
        f'<div class="product-detail__status-value">{_e(v)}</div></div>'
        for k, v in d["status"]
    )
    info = "\n".join(
        '<li class="product-detail__info-item">'
        f'<div class="product-detail__info-label">{_e(k)}</div>'
        f'<div class="product-detail__info-value">{_e(v)}</div></li>'
        for k, v in d["info"]
    )
    options = "\n".join(
        '<div class="product-detail__option-block">\n'
        f'<div class="product-detail__option-category">{_e(cat)}</div>\n'
        + "\n".join(
            f'<div class="product-detail__option-item{" -available" if have else ""}">{_e(name)}'
            "</div>"
            for name, have in items
        )
        + "\n</div>"
        for cat, items in d["options"].items()
    )
    if d["sold"]:
        price = '<span class="product-detail__sold">SOLD</span>'
    else:
        price = (
            f'<span class="product-detail__base-price-currency">{_e(d["currency"])}</span>\n'
            f'<span class="product-detail__base-price-range">{_e(d["price"] or "ASK")}</span>'
        )
    lines = "\n".join(
        f'<div class="price-calculator__row"><div class="price-calculator__label">{label}</div>'
        f'<div id="{eid}" class="price-calculator__value">{_e(d["breakdown"].get(eid) or "-")}'
        "</div></div>"
        for eid, label in (
            ("vehicle_price", "Vehicle Price"),
            ("freight_amount", "Freight"),
            ("inspection_amount", "Inspection"),
            ("insurance_amount", "Insurance"),
            ("vanning_amount", "Vanning"),
        )
    )
    return DETAIL.format(
        title=_e(d["title"]),
        code=_e(d["model_code"]),
        year=_e(d["year_text"]),
        body=_e(d["body"]),
        stock=_e(d["stock"]),
        location=_e(d["location"]),
        gallery=gallery,
        price=price,
        status=status,
        info=info,
        options=options,
        lines=lines,
        total_label=_e(d["total_label"]),
        total=_e(d["total"] or "ASK"),
        country=_e(d["country"] or "Select country"),
        country_id="231" if d["country"] else "",
        port=_e(d["port"] or "Select port"),
        port_id=_e(d["port"].lower().replace(" ", "-")) if d["port"] else "",
        form=_form_html(d["form"], "get_estimate_id"),
    )


SEARCH = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Used {model} for Sale | SBT Japan</title>
</head>
<body>
<header class="header"><a class="header__logo" href="https://www.sbtjapan.com/">SBT Japan</a>\
</header>
<main class="search">
<h1 class="search__title">Used {model} for Sale</h1>
<div class="search-result">
<p class="search-result__count"><span class="search-result__count-number">{count}</span> results</p>
{results}</div>
</main>
</body>
</html>
"""

CARD = """<li class="search-result__item">
<div class="card-product">
<a class="card-product__wrap" href="{url}">
<div class="card-product__image"><img src="{image}" alt="{title}" loading="lazy"></div>
<div class="card-product__body">
<h2 class="card-product__product">{title}</h2>
<p class="card-product__stock"><span class="card-product__stock-label">Stock ID</span> \
<span class="card-product__stock-value">{stock}</span></p>
<p class="card-product__location"><span class="card-product__location-label">Location</span> \
<span class="card-product__location-value">{location}</span></p>
<ul class="card-product__status-list">
{status}
</ul>
</div>
</a>
{prices}
{form}
</div>
</li>"""

CARD_PRICES = """<div class="card-product__price-area">
<div class="card-product__vehicle-price">
<span class="card-product__price-label">Vehicle Price</span>
<span class="card-product__price-currency">{currency}</span>
{amount}
</div>
<div class="card-product__total-price">
<span class="card-product__price-label">Total Price</span>
<span class="card-product__price-currency">{currency}</span>
{total}
</div>
</div>"""

DETAIL = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} | SBT Japan</title>
</head>
<body>
<main class="product-detail">
<div class="product-detail__head">
<h1 class="product-detail__name">{title}</h1>
<div class="product-detail__detail">
<div class="product-detail__detail-item">{code}</div>
<div class="product-detail__detail-item">{year}</div>
<div class="product-detail__detail-item">{body}</div>
</div>
<div class="product-detail__id">Stock ID <span class="product-detail__id-number">{stock}</span>\
</div>
<div class="product-detail__location"><div class="product-detail__location-country">{location}\
</div></div>
</div>
<div class="product-detail__gallery-slider">
<div class="swiper-wrapper">
{gallery}
</div>
</div>
<div class="product-detail__price">
<span class="product-detail__price-label">Vehicle Price</span>
{price}
</div>
<div class="product-detail__status-area">
{status}
</div>
<div class="product-detail__info-block">
<ul class="product-detail__info-list">
{info}
</ul>
</div>
<div class="product-detail__options">
{options}
</div>
<div class="price-calculator" id="price_calculator">
<div class="price-calculator__destination">
<select name="country_id" id="country_id"><option value="{country_id}" selected>{country}</option>\
</select>
<select name="port_id" id="port_id"><option value="{port_id}" selected>{port}</option></select>
</div>
{lines}
<div class="price-calculator__total"><div class="price-calculator__label">{total_label}</div>\
<div id="total_amount" class="price-calculator__value">{total}</div></div>
</div>
{form}
</main>
</body>
</html>
"""

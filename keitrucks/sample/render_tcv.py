"""Render the sample TCV list and detail pages from the catalog, in the words TCV's pages use.

Nothing of TCV's markup is verified, so these pages carry exactly what the guide documents and
the parser relies on: list cards marked ``data-car-id`` whose text reads "STOCK <year> <MAKE
MODEL> FOB Price US$ … Registration Year YYYY/MM Engine Capacity 660cc Mileage … km RHD
Gasoline/Petrol 4WD", paged by ``?pn=N-1`` links; detail pages with the "Specific information"
label/value table, the FOB price, a C&F total to a US port (or "ASK"), and the seller block of
the exporter (company and location, plus a phone row the parser must never store). Each
configured model list shows the night's TCV trucks of that model, newest first, ``PAGE_SIZE`` a
page, with an empty page past the end. ``card_html`` and ``detail_html`` take plain display
values so tests can write pages in the same form.
"""

from __future__ import annotations

from html import escape
from typing import Any

from keitrucks.sample.catalog import SampleTruck, listings_on
from keitrucks.sample.site import Route
from keitrucks.sample.trucks_tcv import SLUGS, seller_of
from keitrucks.sample.urls import TCV_MODELS, tcv_detail, tcv_list

SOURCE = "tcv"
PREFIX = f"/{SOURCE}/www"
SITE = "https://www.tc-v.com"
PAGE_SIZE = 2


def render(catalog: list[SampleTruck], night: int) -> list[Route]:
    trucks = listings_on(catalog, SOURCE, night)
    routes: list[Route] = []
    for make, model in TCV_MODELS:
        found = [t for t in reversed(trucks) if SLUGS.get(t.model) == f"{make}/{model}"]
        pages = [found[i : i + PAGE_SIZE] for i in range(0, len(found), PAGE_SIZE)] or [[]]
        for number, cards in enumerate([*pages, []], start=1):
            html = list_page(
                [card_html(card_values(t, night)) for t in cards],
                name=f"{make} {model}".upper(),
                count=len(found),
                page=number,
                last_page=len(pages),
                make=make,
                model=model,
            )
            routes.append(Route(PREFIX + tcv_list(make, model, number), html.encode()))
    for truck in trucks:
        routes.append(
            Route(PREFIX + detail_path(truck), detail_html(detail_values(truck, night)).encode())
        )
    return routes


# -- values from the catalog ----------------------------------------------------------------------


def detail_path(truck: SampleTruck) -> str:
    make, _, model = SLUGS[truck.model].partition("/")
    return tcv_detail(make, model, truck.listing_id)


def _usd(value: int | None) -> str | None:
    return f"US$ {value:,}" if value is not None else None


def _image(truck: SampleTruck, n: int) -> str:
    return f"https://img.tc-v.com/usedcar/{truck.listing_id[:4]}/{truck.listing_id}/{n:02d}.jpg"


def card_values(truck: SampleTruck, night: int) -> dict[str, Any]:
    state = truck.nights[night]
    return {
        "id": truck.listing_id,
        "url": detail_path(truck),
        "image": _image(truck, 1),
        "title": truck.title,
        "price": _usd(state.price) if state.status != "sold" else None,
        "sold": state.status == "sold",
        "registration": f"{truck.year}/{truck.month:02d}",
        "engine": f"{truck.engine_cc:,}cc",
        "mileage": f"{truck.mileage:,} km",
        "tags": ["RHD", "Gasoline/Petrol", "4WD" if truck.is_4wd else "2WD"],
    }


def detail_values(truck: SampleTruck, night: int) -> dict[str, Any]:
    state = truck.nights[night]
    sold = state.status == "sold"
    seller, location, _ = seller_of(truck)
    bare = (truck.model_code or "").split("-", 1)[-1]
    return {
        "url": SITE + detail_path(truck),
        "title": truck.title,
        "images": [_image(truck, n) for n in range(1, 5)],
        "price": None if sold else _usd(state.price),
        "sold": sold,
        "total": None if sold else _usd(truck.totals[night]),
        "condition": "C&F",
        "port": truck.destination_port,
        "specs": [
            (
                "VIN (Vehicle Identification Number) /Serial No.",
                f"{bare}-{truck.listing_id[-3:]}***",
            ),
            ("Model Code", truck.model_code or "-"),
            ("Registration Year / Month", f"{truck.year}/{truck.month:02d}"),
            ("Manufacture Year / Month", "Confirm with the Seller"),
            ("Mileage", f"{truck.mileage:,} km"),
            ("Transmission", "Manual" if truck.transmission == "manual" else "Automatic"),
            ("Engine Capacity (Displacement)", f"{truck.engine_cc:,}cc"),
            ("Fuel", "Gasoline/Petrol"),
            ("BodyStyle1", "Truck"),
            ("BodyStyle2", "Kei Truck"),
            ("Steering", "Right"),
            ("Drive Type", "4wheel drive" if truck.is_4wd else "2wheel drive"),
            ("ID", f"{int(truck.listing_id) % 900000 + 100000}-{truck.listing_id[-6:]}"),
        ],
        "options": ["Power Steering", "Air Conditioner"]
        + (["Differential Lock"] if truck.is_4wd else []),
        "seller": seller,
        "location": location,
    }


# -- markup ---------------------------------------------------------------------------------------


def _e(text: Any) -> str:
    return escape(str(text), quote=True)


def card_html(c: dict[str, Any]) -> str:
    price = (
        '<dd class="is-soldout">SOLD OUT</dd>'
        if c["sold"]
        else f"<dd>{_e(c['price'] or 'ASK')}</dd>"
    )
    tags = "".join(f"<li>{_e(t)}</li>" for t in c["tags"])
    return CARD.format(
        id=_e(c["id"]),
        url=_e(c["url"]),
        image=_e(c["image"]),
        title=_e(c["title"]),
        price=price,
        registration=_e(c["registration"]),
        engine=_e(c["engine"]),
        mileage=_e(c["mileage"]),
        tags=tags,
    )


def list_page(
    cards: list[str], *, name: str, count: int, page: int, last_page: int, make: str, model: str
) -> str:
    if cards:
        results = (
            '<ul class="list-car">\n'
            + "\n".join(cards)
            + "\n</ul>\n"
            + pager(make, model, page, last_page)
        )
    elif count == 0:
        results = (
            '<p class="list-car__none">No vehicles found. Please change the search conditions.'
            "</p>\n"
        )
    else:
        results = '<ul class="list-car">\n</ul>\n'
    return LIST.format(
        name=_e(name), canonical=_e(SITE + tcv_list(make, model)), count=count, results=results
    )


def pager(make: str, model: str, page: int, last_page: int) -> str:
    if last_page <= 1:
        return ""
    links = []
    for n in range(1, last_page + 1):
        href = tcv_list(make, model, n)
        links.append(
            f'<span class="is-current">{n}</span>' if n == page else f'<a href="{_e(href)}">{n}</a>'
        )
    if page < last_page:
        links.append(
            f'<a class="pager__next" href="{_e(tcv_list(make, model, page + 1))}">Next &gt;</a>'
        )
    return '<div class="pager">' + " ".join(links) + "</div>\n"


def detail_html(d: dict[str, Any]) -> str:
    specs = d["specs"]
    rows = "\n".join(
        "<tr>" + "".join(f"<th>{_e(k)}</th><td>{_e(v)}</td>" for k, v in specs[i : i + 2]) + "</tr>"
        for i in range(0, len(specs), 2)
    )
    if d["sold"]:
        prices = '<dt>FOB Price</dt><dd class="is-soldout">SOLD OUT</dd>'
    else:
        prices = (
            f"<dt>FOB Price</dt><dd>{_e(d['price'] or 'ASK')}</dd>\n"
            f"<dt>Total Price ({_e(d['condition'])})</dt><dd>{_e(d['total'] or 'ASK')}</dd>\n"
            f"<dt>Destination Port</dt><dd>{_e(d['port'] or 'Select a port')}</dd>"
        )
    return DETAIL.format(
        title=_e(d["title"]),
        canonical=_e(d["url"]),
        gallery="\n".join(f'<li><img src="{_e(src)}" alt=""></li>' for src in d["images"]),
        prices=prices,
        rows=rows,
        options="".join(f"<li>{_e(o)}</li>" for o in d["options"]),
        seller=_e(d["seller"]),
        location=_e(d["location"]),
    )


LIST = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Used {name} for Sale | TCV</title>
<link rel="canonical" href="{canonical}">
</head>
<body>
<div id="wrapper">
<header id="header"><a href="/" class="logo">TCV</a> <a href="/used_car/all/all/">All used cars</a>\
</header>
<div id="contents">
<h1 class="ttl-main">{name}</h1>
<p class="search-result-num"><em>{count}</em> vehicles</p>
{results}</div>
</div>
</body>
</html>
"""

CARD = """<li class="list-car__item" data-car-id="{id}">
<div class="list-car__pic"><a href="{url}"><img src="{image}" alt=""></a></div>
<div class="list-car__body">
<p class="list-car__badge">STOCK</p>
<p class="list-car__name"><a href="{url}">{title}</a></p>
<dl class="list-car__price"><dt>FOB Price</dt>{price}</dl>
<dl class="list-car__spec"><dt>Registration Year</dt><dd>{registration}</dd><dt>Engine Capacity\
</dt><dd>{engine}</dd><dt>Mileage</dt><dd>{mileage}</dd></dl>
<ul class="list-car__tags">{tags}</ul>
</div>
</li>"""

DETAIL = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} | TCV</title>
<link rel="canonical" href="{canonical}">
</head>
<body>
<div id="wrapper">
<header id="header"><a href="/" class="logo">TCV</a> <a href="/used_car/all/all/">All used cars</a>\
</header>
<div id="contents">
<h1 class="ttl-car">{title}</h1>
<ul class="car-gallery">
{gallery}
</ul>
<div class="car-price">
<dl>
{prices}
</dl>
</div>
<section class="car-spec">
<h2>Specific information</h2>
<table class="tbl-spec">
{rows}
</table>
</section>
<section class="car-options">
<h2>Options</h2>
<ul>{options}</ul>
</section>
<section class="car-seller">
<h2>Seller Information</h2>
<dl>
<dt>Seller</dt><dd>{seller}</dd>
<dt>Location</dt><dd>{location}</dd>
<dt>TEL</dt><dd>+81-00-0000-0000</dd>
</dl>
</section>
</div>
</div>
</body>
</html>
"""

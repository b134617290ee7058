"""Render the sample CAR FROM JAPAN model pages and detail pages from the catalog, in CFJ's markup.

Next.js pages with Tailwind utility classes, as the real site writes them: ``[data-testid=
"car-item-list"]`` cards with label/value spec blocks, ``.car-price`` amounts (the bold one the
C&F total), the delivery port, a "Compare (CFJ…)" checkbox; detail pages with the spec table of
label/value cell pairs, the price box, the "Delivery" and "Accessories" sections and the
thumbnail strip. Each configured model slug shows the night's CFJ trucks of that model, newest
first, ``PAGE_SIZE`` cards a page, with the ``dynamic-pagination`` pager when there are several
pages, and an empty page past the end. Card prices differ from the detail prices the way the real
site's do (a list price above a discounted detail price; a total US$ 350 lower). ``card_html``
and ``detail_html`` take plain display values, so tests can write pages from other values (the
real scraped records) in the same markup.
"""

from __future__ import annotations

from html import escape
from typing import Any

from keitrucks.sample.catalog import SampleTruck, listings_on
from keitrucks.sample.site import Route
from keitrucks.sample.trucks_carfromjapan import (
    CARD_LIST_PRICE,
    CARD_TOTAL_GAP,
    DRIVE_AS_ACCESSORY,
    SLUGS,
)
from keitrucks.sample.urls import CARFROMJAPAN_MODELS, carfromjapan_detail, carfromjapan_model

SOURCE = "carfromjapan"
PREFIX = f"/{SOURCE}/www"
SITE = "https://carfromjapan.com"
PAGE_SIZE = 2
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def render(catalog: list[SampleTruck], night: int) -> list[Route]:
    trucks = listings_on(catalog, SOURCE, night)
    routes: list[Route] = []
    for slug in CARFROMJAPAN_MODELS:
        found = [t for t in reversed(trucks) if SLUGS.get(t.model) == slug]
        pages = [found[i : i + PAGE_SIZE] for i in range(0, len(found), PAGE_SIZE)] or [[]]
        for number, cards in enumerate([*pages, []], start=1):
            html = search_page(
                [card_html(card_values(t, night)) for t in cards],
                count=len(found),
                page=number,
                last_page=len(pages),
                slug=slug,
            )
            routes.append(Route(PREFIX + carfromjapan_model(slug, number), html.encode()))
    for truck in trucks:
        routes.append(
            Route(PREFIX + detail_path(truck), detail_html(detail_values(truck, night)).encode())
        )
    return routes


# -- values from the catalog ----------------------------------------------------------------------


def detail_path(truck: SampleTruck) -> str:
    return carfromjapan_detail(SLUGS[truck.model], truck.year, truck.listing_id)


def _usd(value: int | None) -> str | None:
    return f"US$ {value:,}" if value is not None else None


def _images(truck: SampleTruck, count: int, size: str) -> list[str]:
    tail = truck.listing_id
    return [
        f"https://static.carfromjapan.com/car_{tail[:8]}"
        f"-{tail[8:12]}-4{n:03d}-a{tail[12:15]}-{tail[12:]}_{size}"
        for n in range(count)
    ]


def _reference(truck: SampleTruck) -> str:
    return f"CFJ{int(truck.listing_id[:7], 16) % 3000000 + 1000000}"


def _card_price(truck: SampleTruck, night: int) -> int | None:
    state = truck.nights[night]
    if truck.key in CARD_LIST_PRICE:
        first = next(s.price for s in truck.nights if s is not None and s.price)
        return int(round(first * 1.3))
    return state.price


def card_values(truck: SampleTruck, night: int) -> dict[str, Any]:
    state = truck.nights[night]
    sold = state.status == "sold"
    total = truck.totals[night]
    return {
        "url": detail_path(truck),
        "title": truck.title,
        "reference": _reference(truck),
        "photo_count": 24 + len(truck.listing_id) % 7,
        "thumbnail": _images(truck, 1, "259_170")[0],
        "specs": [
            ("Registration year", f"{truck.year} / {MONTHS[truck.month - 1]}"),
            ("Mileage", f"{truck.mileage:,} km"),
            ("Model code", truck.model_code or "-"),
            ("Engine", f"{truck.engine_cc:,} cc"),
            ("Grade", "-"),
            ("Transmission", "Manual" if truck.transmission == "manual" else "Automatic"),
        ],
        "price": None if sold else _usd(_card_price(truck, night)),
        "total": None if sold or not total else _usd(total - CARD_TOTAL_GAP),
        "port": f"{truck.destination_port} (Port)",
        "sold": sold,
    }


def detail_values(truck: SampleTruck, night: int) -> dict[str, Any]:
    state = truck.nights[night]
    sold = state.status == "sold"
    drive = "4WD" if truck.is_4wd else "2WD"
    bare = (truck.model_code or "").split("-", 1)[-1]
    specs = [
        ("Reference No.", _reference(truck)),
        ("Model Code", truck.model_code or ""),
        ("Registration Year", f"{truck.year} / {MONTHS[truck.month - 1]}"),
        ("Manufacture Year", ""),
        ("Model Grade", ""),
        ("Transmission", "Manual" if truck.transmission == "manual" else "Automatic"),
        ("Mileage", f"{truck.mileage:,} km(Approx. {round(truck.mileage * 0.621371):,} miles)"),
        ("Engine Capacity", f"{truck.engine_cc} cc({truck.engine_cc / 1000:.2f} liters)"),
        ("Fuel Type", "Petrol"),
        ("No. of Seats", "2"),
        ("No. of Doors", "2"),
        ("Steering", "Right"),
        ("Drive Type", "" if truck.key in DRIVE_AS_ACCESSORY else drive),
        ("Dimension", "8.87 m3"),
        ("VIN / Chassis No.", f"{bare}-{int(truck.listing_id[-6:], 16) % 9000 + 1000}***"),
        ("Exterior Color", truck.color),
    ]
    others = ["A/C", "エアコン・"]
    if truck.key in DRIVE_AS_ACCESSORY:
        others.append(drive)
    return {
        "url": SITE + detail_path(truck),
        "title": truck.title,
        "images": _images(truck, 5, "100_100"),
        "price": None if sold else _usd(state.price),
        "total": None if sold else _usd(truck.totals[night]),
        "condition": "C&F",
        "includes": "Inspection, Insurance",
        "port": f"{truck.destination_port} (Port)",
        "specs": specs,
        "accessories": {"Comfort": ["Power Steering"], "Others": others, "Safety": ["ABS"]},
        "sold": sold,
    }


# -- markup ---------------------------------------------------------------------------------------


def _e(text: Any) -> str:
    return escape(str(text), quote=True)


def _spec_block(label: str, text: str) -> str:
    return (
        '<div class="flex-1 min-w-0">'
        f'<div class="text-xs text-gray-500">{_e(label)}</div>'
        f'<div class="text-sm text-gray-900 line-clamp-1">{_e(text)}</div></div>'
    )


def card_html(c: dict[str, Any]) -> str:
    specs = c["specs"]
    rows = "\n".join(
        '<div class="flex mt-2.5 gap-2">'
        + "".join(_spec_block(*p) for p in specs[i : i + 3])
        + "</div>"
        for i in range(0, len(specs), 3)
    )
    if c["sold"]:
        prices = '<span class="car-price text-lg font-semibold text-red-600">SOLD</span>'
        badge = (
            '<span class="absolute left-2 top-2 z-3 rounded'
            ' bg-red-600 px-2 text-xs font-bold text-white">SOLD'
            "</span>"
        )
    else:
        badge = ""
        prices = (
            '<div class="text-xs text-gray-500">Car Price</div>\n'
            f'<span class="car-price text-lg">{_e(c["price"] or "ASK")}</span>\n'
            '<div class="text-xs text-gray-500 mt-2">Delivery port</div>\n'
            f'<span class="max-w-35 line-clamp-1 text-xs">{_e(c["port"])}</span>\n'
            '<div class="text-xs text-gray-500 mt-2">Total'
            f" price ({_e(c.get('condition') or 'C&F')})"
            "</div>\n"
            f'<span class="car-price font-bold text-xl text-primary">{_e(c["total"] or "ASK")}'
            "</span>"
        )
    compare = (
        f'<label id="compare-{_e(c["url"][-24:])}" class="mt-2'
        ' flex items-center gap-1 text-xs text-gray-600">'
        f'<input type="checkbox" class="h-3 w-3"/>Compare ({_e(c["reference"])})</label>'
        if c.get("reference")
        else ""
    )
    return CARD.format(
        url=_e(c["url"]),
        alt=_e(f"{c.get('reference') or ''} {c['title']}".strip()),
        thumbnail=_e(c["thumbnail"]),
        photos=_e(c["photo_count"]),
        badge=badge,
        title=_e(c["title"]),
        rows=rows,
        compare=compare,
        prices=prices,
    )


def search_page(cards: list[str], *, count: int, page: int, last_page: int, slug: str) -> str:
    name = slug.replace("-", " ").title()
    if cards:
        results = '<div class="flex flex-col gap-4">\n' + "\n".join(cards) + "\n</div>\n"
        results += pagination(slug, page, last_page)
    elif count == 0:
        results = (
            '<p class="py-10 text-center text-gray-500">No cars found. Try changing the filters.'
            "</p>\n"
        )
    else:
        results = '<div class="flex flex-col gap-4">\n</div>\n'
    return SEARCH.format(
        name=_e(name), canonical=_e(SITE + carfromjapan_model(slug)), count=count, results=results
    )


def pagination(slug: str, page: int, last_page: int) -> str:
    if last_page <= 1:
        return ""
    links = []
    for n in range(1, last_page + 1):
        href = "?" if n == 1 else f"?page={n}"
        current = ' aria-current="page"' if n == page else ""
        links.append(
            f'<a href="{href}" class="flex h-8 w-8 items-center'
            f' justify-center rounded border"{current}>{n}</a>'
        )
    return (
        '<div data-testid="dynamic-pagination" class="mt-6 flex justify-center gap-1">'
        + "".join(links)
        + "</div>\n"
    )


def detail_html(d: dict[str, Any]) -> str:
    rows = []
    specs = d["specs"]
    for i in range(0, len(specs), 2):
        cells = "".join(
            f'<td class="bg-gray-100 p-2 font-medium">{_e(label)}'
            f'</td><td class="p-2">{_e(text)}</td>'
            for label, text in specs[i : i + 2]
        )
        rows.append(f'<tr class="border-b">{cells}</tr>')
    thumbs = "\n".join(
        '<button type="button" class="image-gallery-thumbnail" aria-label="Go to Slide">'
        '<span class="image-gallery-thumbnail-inner">'
        f'<img class="image-gallery-thumbnail-image" src="{_e(src)}" alt=""/></span></button>'
        for src in d["images"]
    )
    accessories = "\n".join(
        f'<div class="pt-4.5"><p class="text-sm font-bold">{_e(group)}'
        '</p><div class="flex flex-wrap gap-2">'
        + "".join(
            f'<span class="text-[13px] rounded bg-gray-100 px-2">{_e(i)}</span>' for i in items
        )
        + "</div></div>"
        for group, items in d["accessories"].items()
    )
    if d["sold"]:
        prices = '<span class="car-price text-2xl font-bold text-red-600">SOLD</span>'
    else:
        prices = (
            '<div class="text-sm text-gray-500">Car Price</div>\n'
            f'<span class="car-price text-2xl">{_e(d["price"] or "ASK")}</span>\n'
            f'<div class="text-sm text-gray-500 mt-3">Total price ({_e(d["condition"])})</div>\n'
            f'<span class="car-price font-bold text-2xl text-primary">{_e(d["total"] or "ASK")}'
            "</span>\n"
            f'<p class="mt-1 text-xs text-gray-500">Total price includes: {_e(d["includes"])}</p>'
        )
    return DETAIL.format(
        title=_e(d["title"]),
        canonical=_e(d["url"]),
        thumbs=thumbs,
        prices=prices,
        port=_e(d["port"]),
        rows="\n".join(rows),
        accessories=accessories,
    )


SEARCH = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charSet="utf-8"/>
<title>Cheap Used {name} for Sale | CAR FROM JAPAN</title>
<link rel="canonical" href="{canonical}"/>
</head>
<body>
<div id="__next">
<header class="sticky top-0 z-50 bg-white shadow">\
<a href="/" class="text-primary font-bold">CAR FROM JAPAN</a></header>
<main class="mx-auto max-w-7xl px-4">
<h1 class="mt-4 text-xl font-bold">Used {name} for sale</h1>
<p class="text-sm text-gray-500"><span class="font-bold">{count}</span> cars</p>
{results}</main>
</div>
</body>
</html>
"""

CARD = """<div data-testid="car-item-list" class="flex gap-4 rounded-lg border border-gray-200\
 bg-white p-4">
<div class="relative w-[259px] shrink-0">
<a href="{url}"><img alt="{alt}" src="{thumbnail}" width="259" height="170" loading="lazy"/></a>
{badge}<div class="absolute bottom-2 right-2 z-3 rounded bg-black/60 px-2 text-xs\
 text-white">({photos}) View all</div>
</div>
<div class="flex-1 min-w-0">
<h3 class="text-base font-bold line-clamp-2"><a href="{url}">{title}</a></h3>
{rows}
{compare}
</div>
<div class="relative w-61 shrink-0 text-right">
{prices}
</div>
</div>"""

DETAIL = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charSet="utf-8"/>
<title>{title} | CAR FROM JAPAN</title>
<link rel="canonical" href="{canonical}"/>
</head>
<body>
<div id="__next">
<header class="sticky top-0 z-50 bg-white shadow">\
<a href="/" class="text-primary font-bold">CAR FROM JAPAN</a></header>
<main class="mx-auto max-w-7xl px-4">
<h1 class="mt-4 text-2xl font-bold">{title}</h1>
<div class="mt-4 flex gap-6">
<div class="w-3/5">
<div class="image-gallery">
<div class="image-gallery-thumbnails-wrapper">
<nav aria-label="Thumbnail Navigation" class="image-gallery-thumbnails-container">
{thumbs}
</nav>
</div>
</div>
</div>
<div class="w-2/5 rounded-lg border p-4">
{prices}
</div>
</div>
<div class="w-full mt-6"><h2 class="text-lg font-bold">Delivery</h2><p class="text-sm">{port}</p>\
</div>
<div class="border-t-primary border-t-4 mt-6">
<h2 class="text-lg font-bold">Specification</h2>
<table class="w-full table-fixed text-sm">
<tbody>
{rows}
</tbody>
</table>
</div>
<div class="w-full mt-6">
<h2 class="text-lg font-bold">Accessories</h2>
{accessories}
</div>
</main>
</div>
</body>
</html>
"""

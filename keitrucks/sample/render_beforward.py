"""Render the sample BE FORWARD stock lists and detail pages from the catalog, in the site's markup.

For each configured keyword the site's keyword URL (``/stocklist/sortkey=n/keyword=<kw>/...``)
shows the catalog's BE FORWARD listings of the night whose title matches the keyword, newest
first, ``PAGE_SIZE`` rows a page (smaller than the ``view_cnt`` the spider asks for, so the sample
exercises pagination), then one empty page past the end. Keywords with no trucks get the empty
results page. Search noise as on the real site: the Hijet van shows under the Hijet keyword, the
Jimny and one NT100 Clipper (a rebadged Carry) under the Carry keyword. Rows carry a SOLD cell for
sold trucks, a discount for price drops, totals "C&F Inspect to <port>", login and parts banners.
Every listing also has a detail page (total "ASK", as the site shows before a port is chosen).
"""

from __future__ import annotations

import hashlib
from html import escape

from keitrucks.core.config import DEFAULT_CONFIG
from keitrucks.sample.catalog import SampleTruck, listings_on
from keitrucks.sample.site import Route
from keitrucks.sample.urls import beforward_detail, beforward_stocklist

SOURCE = "beforward"
PREFIX = f"/{SOURCE}/www"
SITE = "https://www.beforward.jp"
#: Rows per sample page: small, so that the larger keywords span several pages.
PAGE_SIZE = 4
#: Listings that also turn up under another keyword's search (catalog key -> keyword).
#: (The katakana van has no English in its title: the site's search still finds it.)
EXTRA_KEYWORDS = {
    "bf-jimny": "Suzuki Carry Truck",
    "bf-005": "Suzuki Carry Truck",
    "bf-van-kana": "Daihatsu Hijet Truck",
}
#: Listings with a standing site discount (shown with the original price on every night).
STANDING_DISCOUNT = {"bf-001", "bf-012"}
_ENGINE_CODES = {
    "DA16T": "R06A",
    "S510P": "KF",
    "HA9": "E07Z",
    "TT2": "EN07",
    "U62T": "3G83",
    "DR16T": "R06A",
    "DD51T": "F6A",
    "S110P": "EF",
    "S321V": "KF",
    "JA71V": "F5A",
}
_ACCESSORIES = (("Power Steering", "A/C"), ("A/C",), (), ("Power Steering", "A/C", "Airbag"))


def render(catalog: list[SampleTruck], night: int) -> list[Route]:
    config = DEFAULT_CONFIG["sources"][SOURCE]
    country = config.get("destination_country_id")
    trucks = listings_on(catalog, SOURCE, night)
    routes: list[Route] = []
    for keyword in config["keywords"]:
        found = [t for t in reversed(trucks) if keyword in keywords_for(t, config["keywords"])]
        pages = [found[i : i + PAGE_SIZE] for i in range(0, len(found), PAGE_SIZE)]
        for number, rows in enumerate([*pages, []], start=1):
            path = beforward_stocklist(keyword, number, country)
            body = stocklist_page(keyword, number, len(pages), rows, night, country)
            routes.append(Route(PREFIX + path, body.encode()))
    for truck in trucks:
        routes.append(Route(PREFIX + detail_path(truck), detail_page(truck, night).encode()))
    return routes


def keywords_for(truck: SampleTruck, keywords: list[str]) -> list[str]:
    """Keywords whose words (less "Truck") all appear in the title, plus the search noise."""
    words = set(truck.title.upper().split())
    found = [k for k in keywords if {w.upper() for w in k.split() if w != "Truck"} <= words]
    extra = EXTRA_KEYWORDS.get(truck.key)
    if extra in keywords and extra not in found:
        found.append(extra)
    return found


def veh_id(truck: SampleTruck) -> int:
    return 13_000_000 + int("".join(c for c in truck.listing_id if c.isdigit()))


def detail_path(truck: SampleTruck) -> str:
    words = [w for w in truck.title.split()[1:] if w.isascii()]  # less the year and kana
    words = words or [truck.make, *truck.model.split()[1:], truck.body]
    make, model = words[0].lower(), "-".join(words[1:]).lower()
    return beforward_detail(make, model, truck.listing_id, veh_id(truck))


def _digest(truck: SampleTruck, salt: str = "") -> str:
    return hashlib.sha1(f"{truck.listing_id}{salt}".encode()).hexdigest()[:6]


def _index(truck: SampleTruck) -> int:
    digits = "".join(c for c in truck.key if c.isdigit())
    return int(digits) if digits else 99


def _bare_code(truck: SampleTruck) -> str | None:
    return truck.model_code.split("-", 1)[-1] if truck.model_code else None


def _money(value: int) -> str:
    return f"{value:,}"


def _year(truck: SampleTruck) -> str:
    return f"{truck.year}/{truck.month}" if truck.month else str(truck.year)


def _original_price(truck: SampleTruck, night: int) -> int | None:
    """The pre-discount price shown beside a dropped (or standing-discount) price."""
    state = truck.nights[night]
    if state is None or state.price is None:
        return None
    earlier = [s.price for s in truck.nights[: night + 1] if s is not None and s.price]
    highest = max(earlier)
    if highest > state.price:
        return highest
    if truck.key in STANDING_DISCOUNT:
        return int(round(state.price * 1.08 / 10) * 10)
    return None


# -- stock list -----------------------------------------------------------------------------------


def stocklist_page(
    keyword: str, page: int, last_page: int, rows: list[SampleTruck], night: int, country
) -> str:
    body_rows: list[str] = []
    for n, truck in enumerate(rows, start=1):
        body_rows.append(stocklist_row(truck, night, keyword, country))
        if page == 1 and n == min(2, len(rows)):
            body_rows.append(LOGIN_BANNER)
    if len(rows) >= 3:
        body_rows.append(PARTS_BANNER)
    if rows:
        results = (
            '<table class="stocklist-row-wrap">\n<tbody>\n'
            + "\n".join(body_rows)
            + "\n</tbody>\n</table>\n"
            + pagination(keyword, page, last_page, country)
        )
    else:
        results = NO_RESULT.format(keyword=escape(keyword))
    return PAGE.format(
        title="BE FORWARD: Japanese Used Cars for Sale",
        keyword=escape(keyword, quote=True),
        results=results,
    )


def pagination(keyword: str, page: int, last_page: int, country) -> str:
    if last_page <= 1:
        return ""
    items = []
    for n in range(1, last_page + 1):
        href = SITE + beforward_stocklist(keyword, n, country)
        if n == page:
            items.append(f'<li class="active"><span>{n}</span></li>')
        else:
            items.append(f'<li><a href="{escape(href, quote=True)}">{n}</a></li>')
    if page < last_page:
        href = SITE + beforward_stocklist(keyword, page + 1, country)
        items.append(f'<li class="next"><a href="{escape(href, quote=True)}">Next &raquo;</a></li>')
    return '<div class="results-pagination">\n<ul>\n' + "\n".join(items) + "\n</ul>\n</div>\n"


def stocklist_row(truck: SampleTruck, night: int, keyword: str, country) -> str:
    state = truck.nights[night]
    sold = state.status == "sold"
    url = SITE + detail_path(truck)
    vid = veh_id(truck)
    image = (
        f"//image-cdn.beforward.jp/medium/202611/{vid}"
        f"/{truck.listing_id}_{_digest(truck)}.jpg?w=200"
    )
    img_class = ' class="sold-layer-img"' if sold else ""
    sold_layer = '\n<div class="sold-layer-text">SOLD</div>' if sold else ""
    icon = "BF STOCK" if _index(truck) % 3 == 0 else "3rd Party Seller"
    accessories = "".join(f"\n<li>{a}</li>" for a in _ACCESSORIES[_index(truck) % 4])
    accessories = f"\n<ul>{accessories}\n</ul>" if accessories else ""
    return ROW.format(
        url=escape(url, quote=True),
        image=escape(image, quote=True),
        alt=escape(truck.title, quote=True),
        img_class=img_class,
        sold_layer=sold_layer,
        vid=vid,
        ref=truck.listing_id,
        icon=icon,
        title=escape(truck.title),
        mileage=f"{truck.mileage:,} km",
        year=_year(truck),
        engine=f"{truck.engine_cc:,}cc",
        trans="MT" if truck.transmission == "manual" else "AT",
        area=escape(truck.stock_area or "-"),
        specs=spec_rows(truck),
        accessories=accessories,
        price_col=SOLD_CELL if sold else price_cell(truck, night, url, keyword, country),
    )


def spec_rows(truck: SampleTruck) -> str:
    """The two rows of ``table.table-detailed-spec``; the Drive pair is left out when unknown."""
    first = [
        ("Model code", truck.model_code or "-"),
        ("Steering", "Right"),
        ("Fuel", "Petrol"),
        ("Seats", "2"),
    ]
    second = [
        ("Engine code", _ENGINE_CODES.get(_bare_code(truck) or "", "-")),
        ("Color", truck.color),
    ]
    if truck.is_4wd is not None:
        second.append(("Drive", "4WD" if truck.is_4wd else "2WD"))
    second.append(("Doors", "2" if truck.body == "truck" else "4"))
    ordinals = ("1st", "2nd", "3rd", "4th")
    html = []
    for pairs in (first, second):
        cells = []
        for (label, value), nth in zip(pairs, ordinals, strict=False):
            cells.append(f'<td class="th th-{nth}">{label}</td>')
            if label == "Steering":
                cells.append("<!-- steering: ASK when blank -->")
            cells.append(f'<td class="td-{nth}">{escape(value)}</td>')
        html.append("<tr>\n" + "\n".join(cells) + "\n</tr>")
    return "\n".join(html)


def price_cell(truck: SampleTruck, night: int, url: str, keyword: str, country) -> str:
    state = truck.nights[night]
    original = _original_price(truck, night)
    discount = ""
    if original:
        rate = round((original - state.price) * 100 / original)
        discount = DISCOUNT.format(rate=rate, original=_money(original))
    total = truck.totals[night]
    order = (
        f"/order{detail_path(truck)}?tp_country_id={country}&amp;inspection=1&amp;"
        "after_inquiry_redirect=%2Fstocklist%2Fsortkey%3Dn%2Fkeyword%3D"
        f"{keyword.replace(' ', '+')}%2Fkmode%3Dand%2F&amp;popup_flg=1&amp;shipping_method=1"
    )
    return PRICE_CELL.format(
        url=escape(url, quote=True),
        price=_money(state.price),
        discount=discount,
        total=_money(total) if total else "ASK",
        port=escape(truck.destination_port or ""),
        order=order,
    )


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<title>{title}</title>
</head>
<body>
<header id="header">
<form action="https://www.beforward.jp/stocklist/" method="get" id="fn-header-search-form">
<input type="text" name="keyword" value="{keyword}">
<input type="hidden" name="kmode" value="and">
<button type="submit" class="bf-btn">Search</button>
</form>
</header>
<main id="main" role="main">
<div id="content">
<ul id="bread">
<li><a href="https://www.beforward.jp/">HOME</a> &raquo;</li>
<li><a href="https://www.beforward.jp/stocklist/">Search results</a></li>
</ul>
<div class="cars-box-stocklist-renewal">
{results}</div>
</div>
</main>
</body>
</html>
"""

NO_RESULT = """<div class="stocklist-no-result">
<p class="stocklist-no-result-title">No vehicles found for "{keyword}".</p>
<p>Please try other keywords, or widen your search conditions.</p>
</div>
"""

LOGIN_BANNER = """<tr class="stocklist-row login-banner-table">
<td colspan="3">
<div class="banner-area-wrap clearfix">
<div class="banner-icon"><i class="icon-basket"></i></div>
<p class="banner-text-area">
<span class="banner-text-message">Sign in for members-only Buy Now prices</span><br>
<span class="banner-text-discount">Save up to $300</span>
</p>
<a href="https://mypage.beforward.jp/clients/signin/" class="banner-button bf-btn bf-btn-small">\
<i class="icon-user"></i> SIGN IN</a>
</div>
</td>
</tr>"""

PARTS_BANNER = """<tr class="stocklist-row">
<td colspan="3" class="stocklist-banner-td">
<div class="stocklist-banner-inner">
<a href="https://autoparts.beforward.jp" target="_blank">
<img src="//cdn.beforward.jp/assets/images/stocklist/parts_banner.jpg" alt="Parts for your truck"\
 loading="lazy"></a>
</div>
</td>
</tr>"""

ROW = """<tr class="stocklist-row">
<td class="stocklist-col photo-col">
<a href="{url}">
<img src="{image}" alt="{alt}" width="200" height="100%"{img_class} loading="lazy">
</a>{sold_layer}
<div class="favorite-button-background">
<a class="bf-btn bf-btn-small favorite-button fn-add-bookmark" href="" aria-label="favorite"\
 data-veh-id="{vid}">
<i class="fa icon-bookmark" data-bookmark-veh-id="{vid}"></i>
</a>
</div>
<p class="veh-stock-no">
<a class="vehicle-url-link" href="{url}">
<span>Ref No. {ref}</span>
</a>
</p>
<div class="ref-icon-area">
<span class="fn-stocklist-focus-tip fn-focus-tip-revised">\
<img src="//cdn.beforward.jp/elements/promotion/icon.gif" class="ref-icon" alt="{icon}" width="85"\
 height="15"></span>
</div>
</td>
<td class="stocklist-col description-col">
<div class="description-title-wrap">
<p class="make-model">
<a class="vehicle-url-link" href="{url}">
{title}
</a>
</p>
</div>
<table class="basic-spec-row">
<tbody>
<tr>
<td class="basic-spec-col basic-spec-col-bordered mileage">
<p class="title">Mileage</p>
<p class="val">
{mileage}
</p>
</td>
<td class="basic-spec-col basic-spec-col-bordered year">
<p class="title">Year</p>
<p class="val">
{year}
</p>
</td>
<td class="basic-spec-col basic-spec-col-bordered engine">
<p class="title">Engine</p>
<p class="val">
{engine}
</p>
</td>
<td class="basic-spec-col basic-spec-col-bordered trans">
<p class="title">Trans.</p>
<p class="val">{trans}</p>
</td>
<td class="basic-spec-col location last">
<p class="title"><span class="title-location">Location</span></p>
<p class="val stock-area">
<i class="i-47"></i><span>{area}</span>
</p>
</td>
</tr>
</tbody>
</table>
<table class="table-detailed-spec">
<tbody>
<tr>
<th id="spec-header"></th>
</tr>
{specs}
</tbody>
</table>
<div class="accessories">{accessories}
</div>
</td>
<td class="stocklist-col price-col">
{price_col}
</td>
</tr>"""

SOLD_CELL = """<div class="price-col-sold">
<span>SOLD</span>
</div>"""

DISCOUNT = """
<div>
<p class="save-rate">{rate}%</p><p class="label-off">OFF</p>
<p class="original-vehicle-price">{original}</p>
</div>"""

PRICE_CELL = """<div class="price-col-total-price">
<a class="vehicle-url-link" href="{url}">
<div class="price-col-vehicle-link-area">
<div>
<p class="label-price">Price</p>
<p class="vehicle-price">
<span class="currency-label"></span><span class="price ">${price}</span>
</p>
</div>{discount}
<div>
<hr>
</div>
<div>
<p class="label-total-price">
Total Price
</p>
<p class="total-price">
<span class="currency-label"></span><span class="">${total}</span>
</p>
</div>
<div class="destination-wrap">
<p class="price-condition">
C&amp;F
Inspect
to </p>
<p class="destination-port">
{port}
</p>
<p class="shipping-method">
&nbsp;
(RORO)
</p>
</div>
</div><!-- /price-col-vehicle-link-area -->
</a>
<div class="inquiry-button-area">
<span class="inline-block">
<a class="bf-btn bf-btn-large bf-btn-primary inquiry-button" href="#" data-open-inquiry="{order}">\
<i class="icon-mail"></i>Inquiry</a>
</span>
</div>
</div>"""


# -- detail page ----------------------------------------------------------------------------------


def detail_page(truck: SampleTruck, night: int) -> str:
    state = truck.nights[night]
    vid = veh_id(truck)
    code = truck.model_code or "-"
    bare = _bare_code(truck) or "-"
    price = state.price if state and state.price else None
    images = [
        f"//image-cdn.beforward.jp/large/202611/{vid}"
        f"/{truck.listing_id}_{_digest(truck, str(i))}.jpg"
        for i in range(3)
    ]
    gallery = "\n".join(
        f'<input type="hidden" class="fn-images-pc" id="fn-image-pc-{i}" data-path="{src}">'
        f'\n<li class="gallery-li"><a class="fn-image-slider-pc detail-modal" href="https:{src}">'
        f'<img src="{src.replace("/large/", "/small/")}" alt="{escape(truck.title, quote=True)}">'
        "</a></li>"
        for i, src in enumerate(images)
    )
    specs = [
        ("Ref. No.", truck.listing_id),
        ("Mileage", f"{truck.mileage:,} km"),
        ("Chassis No.", f"{bare}-{int(_digest(truck, 'chassis'), 16) % 900000 + 100000}"),
        ("Engine Code", _ENGINE_CODES.get(bare, "-")),
        ("Model Code", code),
        ("Steering", "Right"),
        ("Engine Size", f"{truck.engine_cc:,}cc"),
        ("Ext. Color", truck.color),
        ("Location", (truck.stock_area or "-").upper()),
        ("Fuel", "Petrol"),
        ("Version/Class", "-"),
        ("Seats", "2"),
        ("Drive", {True: "4wheel drive", False: "2wheel drive", None: "-"}[truck.is_4wd]),
        ("Doors", "2" if truck.body == "truck" else "4"),
        ("Transmission", "Manual" if truck.transmission == "manual" else "Automatic"),
        ("M3", "4.6"),
    ]
    spec_html = []
    for i in range(0, len(specs), 2):
        (l1, v1), (l2, v2) = specs[i], specs[i + 1]
        spec_html.append(
            f'<tr>\n<th class="gray">{l1}</th>\n<td>{escape(v1)}</td>\n'
            f'<th class="gray-cell">{l2}</th>\n<td>{escape(v2)}</td>\n</tr>'
        )
    return DETAIL.format(
        title=escape(truck.title),
        year=truck.year,
        code=escape(code),
        ref=truck.listing_id,
        url=SITE + detail_path(truck),
        gallery=gallery,
        price_attr=price or 0,
        price=f"${_money(price)}" if price else "ASK",
        area=escape((truck.stock_area or "-").upper()),
        mileage=f"{truck.mileage:,} km",
        reg=_year(truck),
        engine=f"{truck.engine_cc:,}cc",
        trans="MT" if truck.transmission == "manual" else "AT",
        specs="\n".join(spec_html),
        vid=vid,
        features="\n".join(
            f'<li class="attached_{"on" if i < 2 or (i == 2 and truck.is_4wd) else "off"}">{f}</li>'
            for i, f in enumerate(("Power Steering", "A/C", "Back Tire", "Radio"))
        ),
    )


DETAIL = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<title>Used {title} {code} for Sale {ref} - BE FORWARD</title>
</head>
<body>
<main id="main" role="main">
<div id="body-wrap">
<div id="content">
<input type="hidden" class="fn-fob-adjust" value="0">
<div id="fob-price-not-adjustment" data-fob-price-not-adjustment="{price_attr}"\
 style="display:none;"></div>
<ul id="bread">
<li><a href="https://www.beforward.jp/">HOME</a> &raquo;</li>
<li><a href="https://www.beforward.jp/stocklist/keyword=kei%20truck/">Kei trucks</a> &raquo;</li>
<li><a href="{url}">{year} {code} {ref}</a></li>
</ul>
<div id="list-detail" class="detail-list-renewal cf">
<div class="list-detail-left list-detail-left-renewal">
<div id="gallery">
<ul class="cf fn-ul-chunks fn-ul-chunks-pc" id="fn-id-chunk-pc-0">
{gallery}
</ul>
</div>
</div>
<div class="list-detail-right list-detail-right-renewal">
<div class="car-info-area cf">
<div class="car-info-flex-area">
<div class="car-info-flex">
<div class="car-info-flex-box">
<h1>{title}</h1>
<div class="car-hybrid-image">
<div class="detail-specs-text">{code} {ref}</div>
</div>
</div>
</div>
</div>
<div class="car-info-area-bottom car-list-detail-box cf">
<input type="hidden" id="fn-selected-currency-prefix" value="$">
<div class="list-detail-box" data-display-current-price="{price_attr}">
<div>
<div class="price-col-vehicle-link-area">
<div>
<p class="label-price">Price</p>
<p class="vehicle-price">
<span class="currency-label"></span><span class="price ip-usd-price">{price}</span>
</p>
</div>
<div>
<hr>
</div>
<div>
<p class="label-total-price">
Total Price
</p>
<p class="total-price">
<span class="currency-label fn-vehicle-price-total-price-currency-label" style="display:none;">\
</span><span class="fn-vehicle-price-total-price-currency-prefix" style="display:none;">$</span>
<span class="label-select-final-country-and-port label-ask" id="fn-vehicle-price-total-price">ASK\
</span>
</p>
</div>
<div class="destination-wrap">
<p class="price-condition">
<span id="fn-vehicle-price-quote-type">C&amp;F</span>
to
</p>
<a href="{url}#anchor-vehicle-detail-step1"><p class="destination-port" style="display: none;">\
<br>()</p></a>
</div>
</div>
</div>
</div>
</div>
</div>
<div id="spec" class="cf specs-area">
<div class="sc headline">
<div><span class="text-middle specs-pickup-h-text">Specs</span></div>
<div class="specs-pickup-h-text">
<span class="specs-pickup-text">Location</span>
<span class="specs-pickup-icon"><i class="i-47"></i><b>{area}</b></span>
</div>
</div>
<div class="pickup-specification">
<table>
<tbody><tr>
<td class="specs-pickup-text">Mileage</td>
<td class="specs-pickup-text">Year</td>
<td class="specs-pickup-text">Engine</td>
<td class="specs-pickup-text">Trans.</td>
<td class="specs-pickup-text">Fuel</td>
</tr>
<tr>
<td class="pickup-specification-text">{mileage}</td>
<td class="pickup-specification-text">{reg}</td>
<td class="pickup-specification-text">{engine}</td>
<td class="pickup-specification-text">{trans}</td>
<td class="pickup-specification-text">Petrol</td>
</tr>
</tbody></table>
</div>
<table cellpadding="0" cellspacing="0" class="specification">
<tbody>
{specs}
<tr>
<th class="gray"><span class="orange">Registration<br>Year/month</span></th>
<td>{reg}</td>
<th class="gray-cell">Dimension</th>
<td>3.39&times;1.47&times;1.76&nbsp;m</td>
</tr>
<tr>
<th class="gray" rowspan="2"><span class="green">Manufacture<br>Year/month</span></th>
<td rowspan="2">-</td>
<th class="gray-cell">Weight</th>
<td>730 kg</td>
</tr>
<tr>
<th class="gray-cell">Max.Cap</th>
<td>350 kg</td>
</tr>
</tbody>
</table>
<div class="remarks">
<p class="list-title">FEATURES</p>
<ul>
{features}
</ul>
</div>
</div>
</div>
</div>
<div id="list-center">
<input type="hidden" id="id-selected-currency" value="USD">
<form action="https://www.beforward.jp/inquiry/inquiry_mail" method="post" id="inquiryForm"\
 name="inqfm">
<input type="hidden" name="veh_id" value="{vid}">
<span class="price-total">Total Price:</span><span class="price-quotation">C&amp;F</span>
<span id="selected_total_price" data-total-price-subtotal="0">ASK</span>
</form>
</div>
</div>
</div>
</main>
</body>
</html>
"""

"""Render the two sample dealer sites of ``dealer_jsonld`` from the catalog, in platform markup.

``SAMPLE_DEALERS`` is the dealer configuration that crawls them: pass it as the
``[[sources.dealer_jsonld.dealers]]`` tables (``sample_config()`` as a dict, ``dealers_toml()`` as
the text of a configuration file) when crawling the sample server.
Its start URLs are relative to the source's sample base ``<base_url>/dealer_jsonld``: the first
path segment is the dealer's host key, so ``/blueridge/used-inventory/index.htm`` is served at
``<base_url>/dealer_jsonld/blueridge/used-inventory/index.htm`` (see the spider's docstring).
Links on the pages are root-relative, as on real dealer sites; the spider re-roots them.

- Blue Ridge Kei Trucks, Dealer.com style: inventory ``/used-inventory/index.htm`` (``?start=N``
  pages of ``PAGE_SIZE`` cards, ``.pagination-next``), VDPs ``/used/<Make>/<slug>.htm`` with a
  JSON-LD ``@graph`` (AutoDealer + Vehicle; the seller by ``@id``; a lease offer beside the sale
  offer on one truck) and ``DDC.dataLayer['vehicles']`` (with Dealer.com's invalid ``\\-`` escape).
  Two trucks' JSON-LD price is wrong, as on real Dealer.com sites: an MSRP echo and a finance
  payment; the data layer's internet price is the catalog price.
- Piedmont Mini Trucks, dealr.cloud style: inventory ``/inventory`` (``?page=2``, ``rel=next``),
  image-link cards, VDPs ``/vehicle/<n>/<slug>`` whose Car JSON-LD has no VIN, a plain-string
  brand, a full-date ``vehicleModelDate``, a raw line break in the description and a trailing
  comma; the frame number is in ``vehicle-inquiry="VIN|year|make|model"``.

Each night shows exactly the catalog's trucks of that night (a sold truck stays listed, marked
sold), plus a few non-kei vehicles every lot also sells (``DECOYS``), which are not catalog
listings: the spider's kei filter must skip them (two by their link, one after reading its page).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from html import escape

from keitrucks.sample.catalog import SampleTruck, listings_on
from keitrucks.sample.site import Route
from keitrucks.sample.trucks_dealer_jsonld import DOMAINS, SOURCE, dealer_of, stock_number

PREFIX = f"/{SOURCE}"
#: Cards per inventory page: small, so both sites page.
PAGE_SIZE = 4

#: The dealer configuration for the sample sites (URLs relative to <base_url>/dealer_jsonld).
SAMPLE_DEALERS = [
    {
        "name": "Blue Ridge Kei Trucks",
        "start_urls": ["/blueridge/used-inventory/index.htm"],
        "platform": "dealercom",
        "listing_links": ".vehicle-card-title a",
        "next_page": ".pagination-next a",
        "domain": DOMAINS["dj-br"],
        "location": "Hickory, NC",
        "anchor": "Blue Ridge Kei Trucks",
    },
    {
        # no platform: the spider recognises dealr.cloud by its CDN
        "name": "Piedmont Mini Trucks",
        "start_urls": ["/piedmont/inventory"],
        "listing_links": "a.inventory-card__link",
        "domain": DOMAINS["dj-pm"],
        "location": "Greensboro, NC",
        "anchor": "Piedmont Mini Trucks",
    },
]
_ORIGIN = {
    "blueridge": f"https://www.{DOMAINS['dj-br']}",
    "piedmont": f"https://{DOMAINS['dj-pm']}",
}
_ADDRESS = {
    "blueridge": ("Hickory", "NC", "1450 Startown Rd"),
    "piedmont": ("Greensboro", "NC", "3100 Spring Garden St"),
}
#: Blue Ridge trucks whose JSON-LD price is wrong: catalog key -> how.
WRONG_JSONLD_PRICE = {"dj-br-01": "msrp", "dj-br-02": "finance"}
MSRP_MARKUP = 1000
FINANCE_PAYMENT = 149
#: Non-kei inventory: (dealer, stock, year, make, model, title, price, link text shown).
DECOYS = (
    ("blueridge", "BR2001", 2014, "Ford", "F-150", "2014 Ford F-150 XLT SuperCrew", 18900, True),
    ("blueridge", "BR2002", 2021, "Kubota", "RTV-X1100C", "2021 Kubota RTV-X1100C", 17400, True),
    ("piedmont", "PMT-1077", 2016, "Polaris", "Ranger 570", "2016 Polaris Ranger 570", 8900, False),
)


def sample_config() -> dict:
    """The ``sources.dealer_jsonld`` table that crawls the sample sites."""
    return {"enabled": True, "dealers": [dict(d) for d in SAMPLE_DEALERS]}


def dealers_toml(dealers: list[dict] = SAMPLE_DEALERS) -> str:
    """A configuration file's ``[sources.dealer_jsonld]`` table with these dealers, for
    ``scrapy crawl dealer_jsonld -s KEITRUCKS_CONFIG=<file>`` (JSON strings and lists of
    strings are valid TOML values)."""
    lines = [f"[sources.{SOURCE}]", "enabled = true"]
    for dealer in dealers:
        lines.append(f"[[sources.{SOURCE}.dealers]]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in dealer.items()]
    return "\n".join(lines) + "\n"


def render(catalog: list[SampleTruck], night: int) -> list[Route]:
    trucks = listings_on(catalog, SOURCE, night)
    routes: list[Route] = []
    for dealer, inventory, vdp in (
        ("blueridge", blueridge_inventory, blueridge_vdp),
        ("piedmont", piedmont_inventory, piedmont_vdp),
    ):
        cards = [_Card.of_truck(t, night) for t in trucks if dealer_of(t) == dealer]
        cards += [_Card.of_decoy(d) for d in DECOYS if d[0] == dealer]
        cards.sort(key=lambda c: c.stock)
        pages = [cards[i : i + PAGE_SIZE] for i in range(0, len(cards), PAGE_SIZE)] or [[]]
        for number, page in enumerate(pages):
            path, body = inventory(page, number, len(pages))
            routes.append(Route(f"{PREFIX}/{dealer}{path}", body.encode()))
        for card in cards:
            routes.append(Route(f"{PREFIX}/{dealer}{card.path}", vdp(card).encode()))
    return routes


@dataclass(frozen=True)
class _Card:
    """One vehicle on a sample lot: a catalog truck on a night, or a decoy."""

    truck: SampleTruck | None
    dealer: str
    stock: str
    vin: str | None
    year: int
    make: str
    model: str
    title: str
    price: int | None
    sold: bool
    #: the VDP's site path.
    path: str
    #: whether the inventory card's link carries the title (a decoy's may not).
    link_text: bool

    @classmethod
    def of_truck(cls, truck: SampleTruck, night: int) -> _Card:
        state = truck.nights[night]
        dealer = dealer_of(truck)
        make, model = truck.make, truck.model.removeprefix(f"{truck.make} ")
        stock = stock_number(truck.key)
        return cls(
            truck=truck,
            dealer=dealer,
            stock=stock,
            vin=None if ":" in truck.listing_id else truck.listing_id,
            year=truck.year,
            make=make,
            model=model.split(" / ")[0],
            title=truck.title,
            price=state.price,
            sold=state.status == "sold",
            path=_vdp_path(dealer, stock, truck.title, make),
            link_text=True,
        )

    @classmethod
    def of_decoy(cls, decoy: tuple) -> _Card:
        dealer, stock, year, make, model, title, price, link_text = decoy
        path = _vdp_path(dealer, stock, title, make) if link_text else f"/vehicle/{stock[-4:]}"
        return cls(
            truck=None,
            dealer=dealer,
            stock=stock,
            vin=None,
            year=year,
            make=make,
            model=model,
            title=title,
            price=price,
            sold=False,
            path=path,
            link_text=link_text,
        )


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:10]


def _slug(text: str, sep: str = "-") -> str:
    return sep.join("".join(c for c in w if c.isalnum()) for w in text.split() if w.strip("-"))


def _vdp_path(dealer: str, stock: str, title: str, make: str) -> str:
    if dealer == "blueridge":
        return f"/used/{make}/{_slug(title)}-{_digest(stock)}.htm"
    return f"/vehicle/{stock[-4:]}/{_slug(title).lower()}"


def _money(value: int | None) -> str:
    return f"${value:,}" if value is not None else "Call for price"


def _photos(card: _Card) -> list[str]:
    if card.dealer == "blueridge":
        return [
            f"https://pictures.dealer.com/b/blueridgekei/{_digest(card.stock + str(n))}.jpg"
            for n in range(3)
        ]
    if card.truck is not None and card.truck.key == "dj-pm-05":
        return []  # just arrived: no photos yet
    base = f"https://cdn.dealrcloud.com/piedmont/photos/{_digest(card.stock)}"
    return [f"{base}-{n}.jpg" for n in (1, 2)]


def _ld(data) -> str:
    return json.dumps(data, indent=1, ensure_ascii=False).replace("</", "<\\/")


def _dealer_node(dealer: str) -> dict:
    city, region, street = _ADDRESS[dealer]
    name = next(d["name"] for d in SAMPLE_DEALERS if d["start_urls"][0].startswith(f"/{dealer}/"))
    return {
        "@type": "AutoDealer",
        "@id": f"{_ORIGIN[dealer]}/#dealer",
        "name": name,
        "url": _ORIGIN[dealer] + "/",
        "address": {
            "@type": "PostalAddress",
            "streetAddress": street,
            "addressLocality": city,
            "addressRegion": region,
            "addressCountry": "US",
        },
    }


def _vehicle_facts(card: _Card) -> dict:
    """The schema.org vehicle properties a catalog truck (or a decoy) carries."""
    t = card.truck
    if t is None:
        return {"vehicleModelDate": str(card.year), "bodyType": "Utility"}
    drive = "FourWheelDriveConfiguration" if t.is_4wd else "RearWheelDriveConfiguration"
    facts = {
        "vehicleModelDate": str(t.year),
        "mileageFromOdometer": {
            "@type": "QuantitativeValue",
            "value": t.mileage,
            "unitCode": "SMI" if t.mileage_unit == "mi" else "KMT",
        },
        "driveWheelConfiguration": f"https://schema.org/{drive}",
        "vehicleTransmission": "5-Speed Manual" if t.transmission == "manual" else "Automatic",
        "vehicleEngine": {
            "@type": "EngineSpecification",
            "engineDisplacement": {
                "@type": "QuantitativeValue",
                "value": t.engine_cc,
                "unitCode": "CMQ",
            },
        },
        "bodyType": "Pickup Truck",
        "color": t.color,
        "itemCondition": "https://schema.org/UsedCondition",
        "steeringPosition": "https://schema.org/RightHandDriving",
    }
    if t.month:
        facts["productionDate"] = f"{t.year}-{t.month:02d}"
    return facts


def _availability(card: _Card) -> str:
    return "https://schema.org/SoldOut" if card.sold else "https://schema.org/InStock"


def _description(card: _Card) -> str:
    if card.truck is not None:
        return card.truck.description
    return f"{card.title}. Clean, serviced, ready to work."


# -- Blue Ridge: Dealer.com style --------------------------------------------------------------


def _ddc_head(title: str, extra: str = "") -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en-US" class="ddc-site"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title>"
        '<link rel="stylesheet" href="https://static.dealer.com/v9/components/ddc-bundle.css">'
        '<script src="https://static.dealer.com/v9/ddc-ws.js"></script>'
        f'{extra}</head>\n<body class="ddc-body"><header class="ddc-header">'
        '<a class="ddc-logo" href="/">Blue Ridge Kei Trucks</a>'
        '<nav><a href="/used-inventory/index.htm">Used Inventory</a> '
        '<a href="/contact.htm">Contact Us</a></nav></header>\n'
    )


def _ddc_inventory_path(number: int) -> str:
    return "/used-inventory/index.htm" + (f"?start={number * PAGE_SIZE}" if number else "")


def blueridge_inventory(cards: list[_Card], number: int, total: int) -> tuple[str, str]:
    items = []
    for card in cards:
        badge = '<span class="badge badge-sold">Sold</span>' if card.sold else ""
        items.append(
            f'<li class="vehicle-card vehicle-card-detailed" data-uuid="{_digest(card.stock)}">'
            f'<div class="vehicle-card-media"><img src="{_photos(card)[0]}" alt=""></div>'
            '<div class="vehicle-card-details-container">'
            f'<h2 class="vehicle-card-title"><a class="url" href="{card.path}">'
            f"{escape(card.title)}</a></h2>{badge}"
            f'<ul class="vehicle-highlights"><li>Stock #: {card.stock}</li></ul>'
            '<dl class="vehicle-card-pricing"><dt>Internet Price</dt>'
            f'<dd class="final-price"><span class="price-value">{_money(card.price)}</span></dd>'
            "</dl></div></li>"
        )
    pager = ""
    if number + 1 < total:
        pager = (
            '<ul class="pagination"><li class="pagination-next">'
            f'<a href="{_ddc_inventory_path(number + 1)}">Next</a></li></ul>'
        )
    body = (
        _ddc_head("Used Inventory | Blue Ridge Kei Trucks")
        + '<main class="ws-inv-listing"><ul class="vehicle-card-list">'
        + "\n".join(items)
        + f"</ul>{pager}</main></body></html>\n"
    )
    return _ddc_inventory_path(number), body


def _jsonld_price(card: _Card) -> int | None:
    how = WRONG_JSONLD_PRICE.get(card.truck.key) if card.truck else None
    if card.price is None or how is None:
        return card.price
    return card.price + MSRP_MARKUP if how == "msrp" else FINANCE_PAYMENT


def blueridge_vdp(card: _Card) -> str:
    origin = _ORIGIN["blueridge"]
    offers = [
        {
            "@type": "Offer",
            "price": _jsonld_price(card),
            "priceCurrency": "USD",
            "availability": _availability(card),
            "url": origin + card.path,
            "seller": {"@id": f"{origin}/#dealer"},
        }
    ]
    if card.truck is not None and card.truck.key == "dj-br-05":
        offers.append(
            {
                "@type": "Offer",
                "businessFunction": "http://purl.org/goodrelations/v1#LeaseOut",
                "priceSpecification": {
                    "@type": "UnitPriceSpecification",
                    "price": 129,
                    "priceCurrency": "USD",
                    "unitCode": "MON",
                },
            }
        )
    vehicle = {
        "@type": ["Vehicle", "Product"],
        "@id": f"{origin}{card.path}#vehicle",
        "name": card.title,
        "brand": {"@type": "Brand", "name": card.make},
        "model": card.model,
        "sku": card.stock,
        **({"vehicleIdentificationNumber": card.vin} if card.vin else {}),
        **_vehicle_facts(card),
        "description": _description(card),
        "image": _photos(card),
        "offers": offers,
    }
    graph = {"@context": "https://schema.org", "@graph": [_dealer_node("blueridge"), vehicle]}
    layer = {
        "vin": card.vin or "",
        "stockNumber": card.stock,
        "year": str(card.year),
        "make": card.make,
        "model": card.model,
        "newOrUsed": "Used",
        "internetPrice": str(card.price) if card.price is not None else "",
        "msrp": str(card.price + MSRP_MARKUP) if card.price is not None else "",
    }
    if card.truck is not None:
        layer["odometer"] = str(card.truck.mileage)
        layer["driveLine"] = "4WD" if card.truck.is_4wd else "RWD"
    layer["accountName"] = "Blue Ridge Kei Trucks - Hickory"
    # Dealer.com writes "\-" in its data layer strings, an escape JSON does not allow.
    layer_js = json.dumps([layer]).replace(" - Hickory", " \\- Hickory")
    status = '<p class="vehicle-status sold">This vehicle has been sold.</p>' if card.sold else ""
    return (
        _ddc_head(
            f"Used {card.title} | Blue Ridge Kei Trucks",
            f'<script type="application/ld+json">\n{_ld(graph)}\n</script>',
        )
        + '<main class="vdp"><h1 class="vehicle-title">'
        + escape(card.title)
        + f"</h1>{status}"
        + '<div class="price-block"><span class="price-label">Internet Price</span>'
        f'<span class="price-value">{_money(card.price)}</span></div>'
        + f'<p class="vehicle-description">{escape(_description(card))}</p></main>\n'
        + "<script>window.DDC = window.DDC || {}; DDC.dataLayer = DDC.dataLayer || {};\n"
        + f"DDC.dataLayer['vehicles'] = {layer_js};</script>\n</body></html>\n"
    )


# -- Piedmont: dealr.cloud style ---------------------------------------------------------------


def _dealr_head(title: str, extra: str = "") -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}'
        '</title><link rel="stylesheet" href="https://cdn.dealrcloud.com/themes/classic/site.css">'
        f'{extra}</head>\n<body><header class="site-header"><a class="brand" href="/">'
        "Piedmont Mini Trucks</a></header>\n"
    )


def _inquiry(card: _Card) -> str:
    return f"{card.vin or ''}|{card.year}|{card.make}|{card.model}"


def _dealr_inventory_path(number: int) -> str:
    return "/inventory" + (f"?page={number + 1}" if number else "")


def piedmont_inventory(cards: list[_Card], number: int, total: int) -> tuple[str, str]:
    items = []
    for card in cards:
        photos = _photos(card)
        image = f'<img class="inventory-card__photo" src="{photos[0]}"' if photos else "<img"
        alt = escape(card.title) if card.link_text else ""
        sold = '<span class="inventory-card__flag">SOLD</span>' if card.sold else ""
        items.append(
            f'<div class="inventory-card" data-stock="{card.stock}">'
            f'<a class="inventory-card__link" href="{card.path}">{image} alt="{alt}"></a>'
            f'<h3 class="inventory-card__title">{escape(card.title)}</h3>{sold}'
            f'<div class="inventory-card__price">{_money(card.price)}</div>'
            f'<button class="btn inventory-card__inquire" vehicle-inquiry="{_inquiry(card)}">'
            "Check availability</button></div>"
        )
    head_next = ""
    pager = ""
    if number + 1 < total:
        head_next = f'<link rel="next" href="{_dealr_inventory_path(number + 1)}">'
        pager = (
            f'<a class="pager__next" rel="next" href="{_dealr_inventory_path(number + 1)}">'
            "Next page</a>"
        )
    body = (
        _dealr_head("Inventory | Piedmont Mini Trucks", head_next)
        + '<main class="inventory"><div class="inventory-grid">'
        + "\n".join(items)
        + f'</div><nav class="pager">{pager}</nav></main></body></html>\n'
    )
    return _dealr_inventory_path(number), body


def piedmont_vdp(card: _Card) -> str:
    origin = _ORIGIN["piedmont"]
    car = {
        "@context": "https://schema.org",
        "@type": "Car",
        "name": card.title,
        "brand": card.make,
        "model": card.model,
        "sku": card.stock,
        **_vehicle_facts(card),
        "description": "@@DESCRIPTION@@",
        "image": _photos(card),
        "offers": {
            "@type": "Offer",
            "price": str(card.price) if card.price is not None else None,
            "priceCurrency": "USD",
            "availability": _availability(card),
            "url": origin + card.path,
            "seller": _dealer_node("piedmont"),
        },
    }
    car["vehicleModelDate"] = f"{card.year}-01-01"
    text = _ld(car)
    # dealr.cloud pastes the description raw (line break and all) and leaves a trailing comma.
    raw_description = json.dumps(_description(card), ensure_ascii=False)[1:-1]
    raw_description = raw_description.replace(". ", ".\n", 1)
    text = text.replace("@@DESCRIPTION@@", raw_description)
    text = text.rstrip().removesuffix("}").rstrip() + ",\n}"
    return (
        _dealr_head(
            f"{card.title} | Piedmont Mini Trucks",
            f'<script type="application/ld+json">\n{text}\n</script>',
        )
        + f'<main class="vehicle"><h1>{escape(card.title)}</h1>'
        + ('<span class="vehicle__flag">SOLD</span>' if card.sold else "")
        + f'<div class="vehicle__price">{_money(card.price)}</div>'
        + f'<p class="vehicle__description">{escape(_description(card))}</p>'
        + f'<button class="btn" vehicle-inquiry="{_inquiry(card)}">Check availability</button>'
        + "</main></body></html>\n"
    )

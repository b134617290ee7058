"""The sample sites' own URLs, written the way the real sites spell them.

Each scheme is copied from the source guides (``shared/sources/<source>.md``, section 1) and the
saved pages (``shared/fixtures/<source>/``), never from the spiders: the sample serves the pages
where the real site has them, so a spider that asks for a wrong URL gets a 404 from the demo
instead of a page built at its own mistaken address.

The search tables say which searches the sample serves: the kei truck searches the real sites
have and the demo crawl asks for.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

# -- BE FORWARD -----------------------------------------------------------------------------------

#: Rows per stock list page the crawl asks for (``view_cnt=25|50|100``).
BEFORWARD_VIEW_CNT = 50


def beforward_stocklist(keyword: str, page: int = 1, country_id: int | None = None) -> str:
    """``/stocklist/[page=N/]sortkey=n/keyword=Suzuki%20Carry%20Truck/kmode=and/...``.

    Every parameter is a path segment; ``page=N/`` comes right after ``/stocklist/``, the
    destination (``tp_country_id``) and the page size (``view_cnt``) close the path.
    """
    segments = [f"page={page}"] if page > 1 else []
    segments += ["sortkey=n", f"keyword={quote(keyword, safe='')}", "kmode=and"]
    if country_id is not None:
        segments.append(f"tp_country_id={country_id}")
    segments.append(f"view_cnt={BEFORWARD_VIEW_CNT}")
    return "/stocklist/" + "/".join(segments) + "/"


def beforward_detail(make: str, model: str, ref_no: str, veh_id: int) -> str:
    """``/daihatsu/hijet-truck/ca866914/id/12956635/``: slugs, Ref No in lower case, veh_id."""
    return f"/{make}/{model}/{ref_no.lower()}/id/{veh_id}/"


# -- CAR FROM JAPAN -------------------------------------------------------------------------------

#: ``cheap-used-<make>-<model>-for-sale`` model pages of the kei trucks.
CARFROMJAPAN_MODELS = (
    "suzuki-carry-truck",
    "daihatsu-hijet-truck",
    "honda-acty-truck",
    "subaru-sambar-truck",
    "mitsubishi-minicab-truck",
    "mazda-scrum-truck",
    "nissan-clipper-truck",
    "toyota-pixis-truck",
)


def carfromjapan_model(slug: str, page: int = 1) -> str:
    """``/cheap-used-daihatsu-hijet-truck-for-sale``, then ``?page=N``."""
    return f"/cheap-used-{slug}-for-sale" + (f"?page={page}" if page > 1 else "")


def carfromjapan_detail(slug: str, year: int, car_id: str) -> str:
    """``/cheap-used-daihatsu-hijet-truck-2021-for-sale-68a7c82cc49cc5ebcf1a4eae``."""
    return f"/cheap-used-{slug}-{year}-for-sale-{car_id}"


# -- eBay -----------------------------------------------------------------------------------------

#: The searches of the demo crawl, by keywords.
EBAY_QUERIES = (
    "kei truck",
    "mini truck",
    "suzuki carry",
    "honda acty",
    "daihatsu hijet",
    "subaru sambar",
    "mitsubishi minicab",
)
#: The client-credentials grant of the application token (host ``api.ebay.com``).
EBAY_TOKEN = "/identity/v1/oauth2/token"
#: Browse API search parameters besides ``q``: the most a page holds, newest first.
EBAY_API_SEARCH = {"limit": "200", "sort": "newlyListed"}
#: HTML search parameters besides ``_nkw``: "Time: newly listed" (``_sop=10`` in the saved
#: page's sort menu; 12 is Best Match), 60 results a page (60, 120 or 240).
EBAY_HTML_SEARCH = {"_sop": "10", "_ipg": "60"}


def ebay_api_search(query: str) -> str:
    """``/buy/browse/v1/item_summary/search?q=…&limit=…&sort=…`` (later pages: ``offset``)."""
    return "/buy/browse/v1/item_summary/search?" + urlencode({"q": query, **EBAY_API_SEARCH})


def ebay_api_item(item_id: str) -> str:
    """``getItem``: ``/buy/browse/v1/item/{itemId}``, the bars of "v1|<id>|0" escaped."""
    return "/buy/browse/v1/item/" + quote(item_id, safe="")


def ebay_item_page(legacy_id: str) -> str:
    """``/itm/<legacyItemId>`` on www.ebay.com."""
    return f"/itm/{legacy_id}"


def ebay_html_search(query: str) -> str:
    """``/sch/i.html?_nkw=kei+truck&_sop=10&_ipg=60`` (later pages: ``&_pgn=N``)."""
    return "/sch/i.html?" + urlencode({"_nkw": query, **EBAY_HTML_SEARCH})


# -- SBT Japan ------------------------------------------------------------------------------------

#: (make_id, model[]) of the kei truck searches; make ids as the saved records give them.
SBTJAPAN_SEARCHES = (
    (9, "CARRY-TRUCK"),
    (8, "HIJET-TRUCK"),
    (4, "ACTY-TRUCK"),
    (7, "SAMBAR-TRUCK"),
    (6, "MINICAB-TRUCK"),
    (5, "SCRUM-TRUCK"),
    (3, "CLIPPER-TRUCK"),
    (2, "PIXIS-TRUCK"),
)


def sbtjapan_search(make_id: int, model: str, page: int = 1) -> str:
    """``/used-cars/search?make_id=3&model%5B%5D=DATSUN-TRUCK&isModel=1``, then ``&page=N``."""
    query = [("make_id", str(make_id)), ("model[]", model), ("isModel", "1")]
    return "/used-cars/search?" + urlencode(query + ([("page", str(page))] if page > 1 else []))


def sbtjapan_detail(stock_id: str) -> str:
    """``/used-cars/AJ4108``."""
    return f"/used-cars/{stock_id}"


# -- TCV ------------------------------------------------------------------------------------------

#: (make, model) of the kei truck lists, as the list URLs spell them.
TCV_MODELS = (
    ("suzuki", "carry truck"),
    ("daihatsu", "hijet truck"),
    ("honda", "acty truck"),
    ("subaru", "sambar truck"),
    ("mitsubishi", "minicab truck"),
    ("mazda", "scrum truck"),
    ("nissan", "clipper truck"),
    ("toyota", "pixis truck"),
)


def tcv_list(make: str, model: str, page: int = 1) -> str:
    """``/used_car/nissan/datsun%20pickup/``, lower case with ``%20``; page N: ``?pn=N-1``."""
    path = f"/used_car/{quote(make.lower(), safe='')}/{quote(model.lower(), safe='')}/"
    return path + (f"?pn={page - 1}" if page > 1 else "")


def tcv_detail(make: str, model: str, car_id: str) -> str:
    """``/used_car/nissan/cima/43847281/``: the model's list path, then the id."""
    return tcv_list(make, model) + f"{car_id}/"

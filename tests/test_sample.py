"""The sample marketplace: its committed pages are what the catalog renders now, and its URLs are
the real sites' URLs (the examples the source guides verified), not the spiders'.
"""

from __future__ import annotations

import datetime as dt
import shutil
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from keitrucks.sample import urls
from keitrucks.sample.build import build, first_difference, sample_files
from keitrucks.sample.catalog import HISTORY, NIGHTS, TIMELINE, build_catalog, night_date
from keitrucks.sample.history import (
    ASKING_SOURCES,
    WEEKS_PER_DROP,
    history_catalog,
    market_index,
    weeks_listed,
)
from keitrucks.sample.site import NIGHT_CONTROL, SAMPLE_DIR, Route, SampleServer


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sample")
    build(root)
    return root


def test_the_committed_sample_pages_are_what_the_catalog_renders_now(rendered):
    changed = first_difference(SAMPLE_DIR, rendered)
    assert changed is None, (
        f"data/sample/{changed} differs from what the catalog renders now: "
        "run `python -m keitrucks.sample.build` and commit the pages"
    )


def test_a_build_writes_every_night_and_the_catalog(rendered):
    names = sample_files(rendered)
    assert "catalog.json" in names
    assert {name.split("/")[0] for name in names} == {"catalog.json", "night1", "night2", "night3"}
    assert all(f"night{n}/routes.json" in names for n in (1, 2, 3))


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("night2/routes.json", lambda path: path.write_text("{}\n")),
        ("catalog.json", Path.unlink),
        ("night3/stale.html", lambda path: path.write_bytes(b"<html></html>")),
    ],
    ids=["edited", "missing", "extra"],
)
def test_a_file_changed_by_hand_is_named(rendered, tmp_path, name, change):
    copy = tmp_path / "copy"
    shutil.copytree(rendered, copy)
    assert first_difference(rendered, copy) is None
    change(copy / name)
    assert first_difference(rendered, copy) == name


def test_the_first_of_several_differences_is_named(rendered, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(rendered, copy)
    page = sorted(name for name in sample_files(copy) if name.startswith("night1/"))[3]
    (copy / page).write_bytes((copy / page).read_bytes() + b" ")
    (copy / "night3" / "routes.json").write_text("{}\n")
    assert first_difference(rendered, copy) == page


#: (sample URL, the URL as the source guide shows it from the real site or its saved pages).
REAL_SITE_URLS = [
    (
        urls.beforward_stocklist("Toyota Corolla Axio")[: -len("view_cnt=50/")],
        "/stocklist/sortkey=n/keyword=Toyota%20Corolla%20Axio/kmode=and/",
    ),
    (
        urls.beforward_stocklist("Suzuki Carry Truck", 2, 90),
        "/stocklist/page=2/sortkey=n/keyword=Suzuki%20Carry%20Truck/kmode=and/tp_country_id=90"
        "/view_cnt=50/",
    ),
    (
        urls.carfromjapan_model("daihatsu-hijet-truck"),
        "/cheap-used-daihatsu-hijet-truck-for-sale",
    ),
    (
        urls.carfromjapan_model("nissan-datsun-pickup", 3),
        "/cheap-used-nissan-datsun-pickup-for-sale?page=3",
    ),
    (
        urls.ebay_html_search("kitchen accessories"),
        "/sch/i.html?_nkw=kitchen+accessories&_sop=10&_ipg=60",
    ),
    (
        urls.ebay_api_search("kei truck"),
        "/buy/browse/v1/item_summary/search?q=kei+truck&limit=200&sort=newlyListed",
    ),
    (urls.ebay_api_item("v1|110553296016|0"), "/buy/browse/v1/item/v1%7C110553296016%7C0"),
    (
        urls.sbtjapan_search(3, "DATSUN-TRUCK"),
        "/used-cars/search?make_id=3&model%5B%5D=DATSUN-TRUCK&isModel=1",
    ),
    (
        urls.sbtjapan_search(8, "HIJET-TRUCK", 2),
        "/used-cars/search?make_id=8&model%5B%5D=HIJET-TRUCK&isModel=1&page=2",
    ),
    (
        urls.beforward_detail("daihatsu", "hijet-truck", "CA866914", 12956635),
        "/daihatsu/hijet-truck/ca866914/id/12956635/",
    ),
    (
        urls.carfromjapan_detail("daihatsu-hijet-truck", 2021, "68a7c82cc49cc5ebcf1a4eae"),
        "/cheap-used-daihatsu-hijet-truck-2021-for-sale-68a7c82cc49cc5ebcf1a4eae",
    ),
    (urls.ebay_item_page("110553296016"), "/itm/110553296016"),
    (urls.sbtjapan_detail("AJ4108"), "/used-cars/AJ4108"),
    (urls.tcv_detail("nissan", "cima", "43847281"), "/used_car/nissan/cima/43847281/"),
    (urls.tcv_list("nissan", "datsun pickup"), "/used_car/nissan/datsun%20pickup/"),
    (urls.tcv_list("Nissan", "Skyline GT-R", 3), "/used_car/nissan/skyline%20gt-r/?pn=2"),
]


@pytest.mark.parametrize(("ours", "real"), REAL_SITE_URLS, ids=[r for _, r in REAL_SITE_URLS])
def test_the_sample_spells_urls_as_the_real_sites_do(ours, real):
    assert ours == real


# -- the months of history before the three nights (keitrucks.sample.history) ------------------

HISTORY_CATALOG = history_catalog()
BASE_CATALOG = build_catalog()
SOLD_BEFORE = [t for t in HISTORY_CATALOG if not any(t.nights[len(HISTORY) :])]


def test_the_history_runs_weekly_up_to_the_three_nights():
    days = [dt.date.fromisoformat(d) for d in TIMELINE]
    assert TIMELINE[-len(NIGHTS) :] == NIGHTS
    gaps = {(b - a).days for a, b in zip(days[: len(HISTORY)], days[1:], strict=False)}
    assert gaps == {7}
    assert (days[len(HISTORY)] - days[0]).days >= 150  # about six months
    assert [night_date(n) for n in range(len(NIGHTS))] == list(NIGHTS)
    assert night_date(0, len(TIMELINE)) == HISTORY[0]


def test_every_listing_has_a_state_per_night_and_keeps_the_catalogs_three_nights():
    assert all(len(t.nights) == len(TIMELINE) for t in HISTORY_CATALOG)
    assert all(len(t.totals) == len(TIMELINE) for t in HISTORY_CATALOG)
    by_key = {t.key: t for t in HISTORY_CATALOG}
    assert len(by_key) == len(HISTORY_CATALOG)
    assert len({(t.source, t.listing_id) for t in HISTORY_CATALOG}) == len(HISTORY_CATALOG)
    for truck in BASE_CATALOG:
        assert by_key[truck.key].nights[-len(NIGHTS) :] == truck.nights, truck.key


def test_trucks_come_and_sell_during_the_history():
    assert len(SOLD_BEFORE) >= 100
    stays = [sum(s is not None for s in t.nights) for t in SOLD_BEFORE]
    assert min(stays) >= 1
    assert max(stays) >= 8
    arrivals = {next(n for n, s in enumerate(t.nights) if s) for t in SOLD_BEFORE}
    assert len(arrivals) >= len(HISTORY) // 2
    # intended deals, auctions and what is no kei truck have no made-up past; project trucks do
    for truck in HISTORY_CATALOG:
        fresh = truck.intended_deal or truck.kind != "kei_truck" or "auction" in truck.tags
        if fresh:
            assert not any(truck.nights[: len(HISTORY)]) or truck.source == "bringatrailer"
    projects = [t for t in HISTORY_CATALOG if t.junk_reason in ("not_running", "title")]
    assert any(any(t.nights[: len(HISTORY)]) for t in projects)


@pytest.mark.parametrize("week", range(len(HISTORY)))
def test_every_asking_source_lists_something_every_week(week):
    shown = {t.source for t in HISTORY_CATALOG if t.nights[week] is not None}
    assert set(ASKING_SOURCES) <= shown


def test_asking_prices_drift_by_drive_and_the_band_share_moves():
    weeks = len(HISTORY)
    assert market_index("Suzuki Carry", True, 0) < market_index("Suzuki Carry", True, weeks // 2)
    assert market_index("Suzuki Carry", True, weeks) == 1.0
    assert market_index("Suzuki Sambar", False, 0) > 1.0 > market_index("Honda Acty", True, 0)

    def share_below(first: int, last: int) -> float:
        prices = [
            s.price
            for t in HISTORY_CATALOG
            if t.source in ("craigslist", "ebay", "dealer_jsonld") and t.kind == "kei_truck"
            for s in t.nights[first:last]
            if s is not None and s.price
        ]
        return sum(p < 5000 for p in prices) / len(prices)

    assert share_below(0, 6) > share_below(weeks - 6, weeks) + 0.05


def test_a_listing_of_the_first_night_was_listed_before_it_at_a_higher_price():
    by_key = {t.key: t for t in HISTORY_CATALOG}
    listed = [t for t in BASE_CATALOG if weeks_listed(t) >= WEEKS_PER_DROP]
    assert len(listed) >= 20
    for truck in listed:
        past = [s.price for s in by_key[truck.key].nights[: len(HISTORY)] if s is not None]
        assert len(past) == weeks_listed(truck)
        assert past == sorted(past, reverse=True)
        assert past[0] > truck.nights[0].price


def test_exporter_trucks_turn_25_during_the_months():
    start, end = (int(d[:4]) * 12 + int(d[5:7]) - 1 for d in (HISTORY[0], NIGHTS[-1]))
    turning = [
        t
        for t in HISTORY_CATALOG
        if t.location == "Japan"
        and t.month
        and start <= (t.year + 25) * 12 + t.month - 1 < end
        and t.nights[0] is None
        and t.nights[-1] is not None
        and any(t.nights[: len(HISTORY) // 2])
    ]
    assert len(turning) >= 2


def test_the_server_renders_nights_in_memory_and_turns_the_page_when_told():
    def render(night: int) -> list[Route]:
        return [Route("/x", f"night {night}".encode())]

    def get(url: str) -> str:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.read().decode()

    with SampleServer(render=render) as server:
        assert get(f"{server.base_url}/x") == "night 1"
        assert get(f"{server.base_url}{NIGHT_CONTROL}?n=7") == "night 7"
        assert get(f"{server.base_url}/x") == "night 7"
        with pytest.raises(urllib.error.HTTPError):
            get(f"{server.base_url}/missing")
        with pytest.raises(urllib.error.HTTPError):
            get(f"{server.base_url}{NIGHT_CONTROL}?n=soon")

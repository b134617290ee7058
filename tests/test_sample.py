"""The sample marketplace: its committed pages are what the catalog renders now, and its URLs are
the real sites' URLs (the examples the source guides verified), not the spiders'.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from keitrucks.sample import urls
from keitrucks.sample.build import build, first_difference, sample_files
from keitrucks.sample.site import SAMPLE_DIR


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

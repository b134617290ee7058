"""The report: its files and columns, HTML escaping, and reproducing a past night."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import re

import pandas as pd
import pytest
from test_analysis_helpers import build_market, night, truck

from analysis.charts import SPARK_SIZE, sparkline_svg
from analysis.deals import DEAL_COLUMNS
from analysis.eligibility import ELIGIBILITY_COLUMNS
from analysis.load import DatabaseMissing
from analysis.report import (
    CSV_FILES,
    ReportResult,
    change_count,
    change_prices,
    csv_columns,
    esc,
    link,
    price_words,
    window_start,
    with_price_label,
    write_report,
)
from analysis.sold import SOLD_COLUMNS
from analysis.trends import BAND_COLUMNS, TREND_COLUMNS
from tests.conftest import rows

PNG = b"\x89PNG\r\n\x1a\n"
EVIL_TITLE = '<script>alert("x")</script> 1996 Acty & "friends"'


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> ReportResult:
    root = tmp_path_factory.mktemp("report")
    db = root / "m.db"
    build_market(db)
    night(
        db,
        "2026-11-10",
        "craigslist",
        [
            truck("craigslist", "A", 7500),
            truck("craigslist", "C", 9000, mileage_mi=51234),
            truck("craigslist", "D", 13000, model="Suzuki Carry", year=1991, is_4wd=False),
            truck("craigslist", "G", 8800, repost_of="B"),
            truck(
                "craigslist",
                "evil",
                4000,
                title=EVIL_TITLE,
                url="javascript:alert(1)",
                location_raw="<b>Knoxville</b>",
            ),
            truck("craigslist", "dead", 2000, runs=False),
            truck("craigslist", "salvage", 3000, title_status="salvage"),
            truck("craigslist", "pending", 2500, sale_pending=True),
        ],
    )
    return write_report(db, root / "out", as_of="2026-11-10")


def header(path) -> list[str]:
    with path.open(encoding="utf-8") as f:
        return next(csv.reader(f))


def test_files_in_the_dated_folder(report):
    assert report.folder.name == "2026-11-10"
    names = [p.name for p in report.files]
    assert names == [
        *CSV_FILES,
        "trend_asking.png",
        "band_share.png",
        "eligibility.png",
        "states_map.png",
        "report.html",
    ]
    assert all(p.parent == report.folder and p.stat().st_size > 0 for p in report.files)
    assert (report.folder / "trend_asking.png").read_bytes().startswith(PNG)


@pytest.mark.parametrize(
    ("name", "columns"),
    [
        ("price_trends.csv", TREND_COLUMNS),
        ("band_summary.csv", BAND_COLUMNS),
        ("deals.csv", DEAL_COLUMNS),
        ("sold.csv", SOLD_COLUMNS),
        ("eligibility_upcoming.csv", ELIGIBILITY_COLUMNS),
    ],
)
def test_csv_columns_are_the_documented_ones(report, name, columns):
    assert header(report.folder / name) == csv_columns(columns)
    # every price says what it is, in words, right after its basis
    assert "price_label" in header(report.folder / name)


def test_price_labels_say_what_each_price_is():
    frame = pd.DataFrame({"price_usd": [1, 2, 3, 4], "price_basis": ["asking", "fob", "bid", "x"]})
    labelled = with_price_label(frame)
    assert labelled.columns.tolist() == ["price_usd", "price_basis", "price_label"]
    assert labelled["price_label"].tolist() == ["US asking", "Japan FOB", "current bid", "x"]
    series = with_price_label(pd.DataFrame({"series": ["japan_landed", "asking"]}))
    assert series["price_label"].tolist() == ["Japan C&F / Japan CIF", "US asking"]
    assert with_price_label(pd.DataFrame({"a": [1]})).columns.tolist() == ["a"]


def test_deals_csv_lists_comparables_and_the_best_deal_first(report):
    with (report.folder / "deals.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    best = rows[0]
    assert best["listing_id"] == "evil"
    assert best["rated"] == "True"
    # the three trucks for sale, then H2 (gone on Nov 9, seen less recently); B is G reposted
    assert best["comparables"].split() == [
        "craigslist:A",
        "craigslist:C",
        "craigslist:G",
        "craigslist:H2",
    ]


def test_sold_csv_times_are_iso_utc(report):
    with (report.folder / "sold.csv").open(encoding="utf-8") as f:
        rows = {r["truck_id"]: r for r in csv.DictReader(f)}
    assert rows["craigslist:E"]["left_at"] == "2026-11-09T06:00:00+00:00"
    assert rows["craigslist:E"]["first_seen_at"] == "2026-11-02T06:00:00+00:00"
    assert rows["craigslist:E"]["sold_price_usd"] == ""  # unknown is empty


def test_html_is_self_contained_and_escapes_scraped_text(report):
    page = (report.folder / "report.html").read_text(encoding="utf-8")
    assert "<script" not in page
    assert (
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; 1996 Acty &amp; &quot;friends&quot;"
        in page
    )
    assert "&lt;b&gt;Knoxville&lt;/b&gt;" in page
    assert "javascript:" not in page  # not a link, and the text is the title, not the URL
    assert 'href="https://craigslist.example/H2"' in page  # the sold table links the truck
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 2
    assert all(base64.b64decode(i).startswith(PNG) for i in images)
    assert "http" not in re.sub(r'href="https://[^"]+"', "", page).replace("data:image", "")


def test_headline_numbers(report):
    h = report.headline
    # for sale: one definition, the for_sale view's (a US price a buyer can pay; the project
    # trucks dead and salvage and the pending one are listed apart); the night is the market's
    # last, so the view (today's state) and the report (the night's) must agree
    db = report.folder.parents[1] / "m.db"
    view = {r["listing_id"] for r in rows(db, "SELECT listing_id FROM for_sale")}
    assert not view & {"dead", "salvage", "pending"}
    assert h["trucks_for_sale"] == len(view) == 6
    # each truck once, US asking only: A, C (= X on eBay), D, G (= B), evil, and the pending
    # one (its price is still the market's); the dead and salvage trucks are project trucks, a
    # market of their own, and F is an exporter price, not an asking price
    assert h["trucks_asking"] == 6
    # the evil listing, the auction S and the three above, first seen on Nov 10
    assert h["new"] == 5
    assert h["price_drops"] == 0
    assert h["deals_15pct"] == 1
    assert h["sold_or_delisted"] == 3


def test_a_past_night_is_reproduced_from_the_history(tmp_path):
    db = tmp_path / "m.db"
    build_market(db, until="2026-11-05")
    first = write_report(db, tmp_path / "then", as_of="2026-11-05")
    build_market(db)  # later nights arrive
    again = write_report(db, tmp_path / "again", as_of="2026-11-05")
    for name in CSV_FILES:
        assert (first.folder / name).read_text() == (again.folder / name).read_text(), name


def test_missing_database(tmp_path):
    with pytest.raises(DatabaseMissing):
        write_report(tmp_path / "nope.db", tmp_path / "out", as_of="2026-11-10")


@pytest.mark.parametrize(
    ("url", "text", "html"),
    [
        (
            "https://x.example/?a=1&b=2",
            "t",
            '<a href="https://x.example/?a=1&amp;b=2" rel="noopener noreferrer">t</a>',
        ),
        ("javascript:alert(1)", "<i>", "&lt;i&gt;"),
        (None, "plain", "plain"),
    ],
)
def test_link_and_esc(url, text, html):
    assert link(url, text) == html
    assert esc(None) == ""
    assert esc(float("nan")) == ""


def test_project_trucks_are_shown_apart_and_never_deals(report):
    with (report.folder / "deals.csv").open(encoding="utf-8") as f:
        scored = {row["listing_id"] for row in csv.DictReader(f)}
    assert not scored & {"dead", "salvage", "pending"}
    assert {"A", "C"} <= scored
    page = (report.folder / "report.html").read_text(encoding="utf-8")
    projects = page[page.index("<h2>Project trucks</h2>") : page.index("<h2>Price trends</h2>")]
    assert "2 trucks that do not run or have a title problem" in projects
    assert "median US asking $2,500" in projects
    assert "does not run" in projects
    assert "salvage title" in projects
    assert "pending" not in projects


def test_without_a_buyer_state_the_report_says_how_to_set_one(report):
    page = (report.folder / "report.html").read_text(encoding="utf-8")
    assert "<h2>Where can I drive it?</h2>" in page
    assert "Set <code>[buyer] state</code>" in page


def test_a_buyer_in_georgia_reads_georgias_rule_with_its_source_and_date(report, tmp_path):
    from analysis.report import write_report
    from keitrucks.core.config import load_config

    config = load_config(None)
    config["buyer"]["state"] = "GA"
    db = report.folder.parents[1] / "m.db"
    page = write_report(db, tmp_path, as_of="2026-11-10", config=config).folder / "report.html"
    text = page.read_text(encoding="utf-8")
    assert "Your state: <b>GA</b>: no road registration: off-road or private property only" in text
    assert "dated 2023 (bulletin MVD-2023-05), confidence high" in text
    assert "check with your state DMV before buying" in text


def test_the_header_says_when_the_trends_start(report):
    page = (report.folder / "report.html").read_text(encoding="utf-8")
    with (report.folder / "price_trends.csv").open(encoding="utf-8") as f:
        first = min(r["week_start"] for r in csv.DictReader(f))[:10]
    # the market's first week, not the start of the 26-week window
    assert first > window_start("2026-11-10", 26).isoformat()
    assert f"Trends from the week of {first};" in page


@pytest.mark.parametrize(
    ("change", "old", "now", "days", "was_now"),
    [
        ("new", None, 7500, 0, ("", "$7,500")),
        ("price_drop", 8000, 7500, 20, ("$8,000", "$7,500")),
        ("relisted", 8200, 7900, 30, ("$8,200", "$7,900")),
        # gone: its last price, and how long it was listed (never "$4,920 -> $4,920")
        ("gone", 4920, 4920, 50, ("$4,920", "gone after 50 days")),
        # an exporter's SOLD row shows no price: the price it was listed at
        ("sold", 3060, None, 121, ("$3,060", "sold after 121 days")),
        ("sold", None, 8200, 1, ("$8,200", "sold after 1 day")),
        # an auction's result: the last bid, and what it sold at
        ("sold", 8500, 11350, 2, ("$8,500", "sold at $11,350 after 2 days")),
        ("ended", 6000, 6000, None, ("$6,000", "ended")),
    ],
)
def test_what_changed_reads_right_for_trucks_that_left(change, old, now, days, was_now):
    row = {"change": change, "old_price_usd": old, "price_usd": now, "days_listed": days}
    assert change_prices(row) == was_now


@pytest.mark.parametrize(
    ("change", "n", "words"),
    [
        ("price_drop", 13, "13 price drops"),  # was "13 price drop"
        ("price_drop", 1, "1 price drop"),
        ("price_rise", 6, "6 price rises"),
        ("gone", 11, "11 gone"),
        ("new", 8, "8 new"),
        ("relisted", 1, "1 relisted"),
    ],
)
def test_the_changes_are_counted_in_plain_words(change, n, words):
    assert change_count(change, n) == words


def _section_rows(page: str, heading: str) -> list[list[str]]:
    start = page.index(f"<h2>{heading}")
    section = page[start : page.find("<h2>", start + 4)]
    return [
        [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        for row in re.findall(r"<tr>(<td.*?)</tr>", section)
    ]


def test_a_truck_that_left_reads_the_same_days_in_both_tables(report, tmp_path):
    """E (seen Nov 2 and 5, found gone Nov 9) read "gone after 7 days" under What changed
    beside 3 days listed under Recently sold: the nights unseen, up to the one it was found
    gone, counted as days listed; and H2, a repost of H first seen Nov 2, "gone after 4 days"
    beside its truck's 3."""
    db = report.folder.parent.parent / "m.db"
    night = write_report(db, tmp_path, as_of="2026-11-09")
    page = (night.folder / "report.html").read_text(encoding="utf-8")
    listed = {r[1]: r[3] for r in _section_rows(page, "Recently sold")}
    left = [
        (r[1], re.search(r"after (\d+) days?$", r[4])[1])
        for r in _section_rows(page, "What changed")
        if r[0] in ("sold", "gone", "ended") and r[1] in listed  # B: its truck is for sale
    ]
    assert len(left) >= 2
    assert [(title, listed[title]) for title, _ in left] == left


@pytest.mark.parametrize(
    ("points", "color", "words"),
    [
        ([("2026-11-01", 8000), ("2026-11-08", 7500)], "#1f6f3f", "$8,000 on Nov 1 to $7,500 now"),
        ([("2026-11-01", 7000), ("2026-11-08", 7400)], "#b05a00", "$7,000 on Nov 1 to $7,400 now"),
        ([("2026-11-09", 6000)], "#555", "$6,000 on Nov 9 to $6,000 now"),
        # two prices one day: the later holds, whatever their order of size
        ([("2026-11-01", 6000), ("2026-11-01", 9000)], "#555", "$9,000 on Nov 1 to $9,000"),
    ],
)
def test_a_sparkline_draws_the_price_held_to_today(points, color, words):
    days = [(dt.date.fromisoformat(d), p) for d, p in points]
    svg = sparkline_svg(days, dt.date(2026, 11, 10), since=dt.date(2026, 10, 1))
    assert svg.startswith("<svg class=spark")
    assert svg.endswith("</svg>")
    assert f'stroke="{color}"' in svg
    assert words in svg
    xs = [float(p.split(",")[0]) for p in re.search(r'points="([^"]+)"', svg)[1].split()]
    assert xs == sorted(xs)
    assert xs[0] > 3  # the axis starts at ``since``: listed later, drawn later
    assert xs[-1] == SPARK_SIZE[0] - 3  # held to today
    assert sparkline_svg([], dt.date(2026, 11, 10)) == ""


@pytest.mark.parametrize(
    ("basis", "left", "words"),
    [
        ("bid", False, "current bid"),
        ("bid", True, "last bid"),  # an auction that ended: its bid is no longer current
        ("asking", True, "US asking"),
        ("fob", True, "Japan FOB"),
        ("sold", True, "sold"),
    ],
)
def test_a_price_says_what_it_is(basis, left, words):
    assert price_words(basis, left=left) == words


def test_every_deal_has_its_price_history(report):
    page = (report.folder / "report.html").read_text(encoding="utf-8")
    deals = page[page.index("<h2>Best deals</h2>") : page.index("<h2>Project trucks</h2>")]
    assert deals.count("<tr>") - 1 == deals.count("<svg class=spark") >= 1


def test_on_a_phone_every_cell_says_its_column(report):
    page = (report.folder / "report.html").read_text(encoding="utf-8")
    assert '<meta name=viewport content="width=device-width,initial-scale=1">' in page
    assert "@media (max-width:40em)" in page
    tables = re.findall(r"<table class=cards>(.*?)</table>", page)
    assert len(tables) >= 4
    for table in tables:
        headers = re.findall(r"<th>([^<]*)</th>", table)
        for row in re.findall(r"<tr>(<td.*?)</tr>", table):
            assert re.findall(r'<td data-label="([^"]*)"', row) == headers
    deals = tables[0]
    # one decimal: a 14.9% discount shown as "15%" read as a deal that "Deals 15%+" and the
    # alerts leave out
    assert re.search(r'<td data-label="Under" class=key>\d+\.\d%</td>', deals)
    # what the ad says of the truck, as the alerts say it: "not stated" is a question to ask
    assert re.search(
        r'<td data-label="Ad says" class=key>runs: (yes|no|not stated), title: [^,<]+, '
        r"(\d+k? mi|mileage: not stated)</td>",
        deals,
    )
    # a card shows what its price is beside it (an exporter's landed cost is no asking price)
    assert re.search(r'<td data-label="Price is" class=key>US asking</td>', deals)
    # and the seller's claims under the title, not squeezed beside it: the first cell is a block
    phone = page[page.index("@media (max-width:40em)") :]
    assert re.search(r"table\.cards td:first-child\{[^}]*display:block", phone)


def test_without_links_the_titles_are_text(report, tmp_path):
    from keitrucks.core.config import load_config

    config = load_config(None)
    config["report"] = {"links": False}
    db = report.folder.parents[1] / "m.db"
    page = write_report(db, tmp_path, as_of="2026-11-10", config=config).folder / "report.html"
    text = page.read_text(encoding="utf-8")
    assert "craigslist.example" not in text
    assert "<a href" not in text
    assert "titles are not links" in text
    assert "1996 Acty &amp; &quot;friends&quot;" in text  # the title, as text

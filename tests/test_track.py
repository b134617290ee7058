"""``keitrucks track``: a listing found elsewhere, written as a crawl writes, read as any other.

The history rows of add -> price -> gone must be those a crawl writes (new, price_change, gone,
each with its run), the report and the alerts must read the manual listing like a crawled one,
and a crawl of another source, marking its own listings gone, must leave it active.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from analysis import load
from analysis.alerts import run_alerts
from analysis.report import compute_report
from keitrucks.cli import cli
from keitrucks.core import tables
from keitrucks.core.config import load_config
from keitrucks.sample.catalog import NIGHTS
from keitrucks.sample.site import SampleServer
from keitrucks.track_cli import NOT_A_TRUCK
from pipelines.listings import count_summary
from pipelines.manual import MANUAL_SOURCE, listing_id_of, title_from
from tests.conftest import rows

URL = "https://www.facebook.com/marketplace/item/1234567890/"
TEXT = (
    "1996 Suzuki Carry 4x4 DD51T kei truck. 5 speed, hi/lo, 41k miles, runs great. Clean TN title."
)


def track(db: Path, *args: str):
    return CliRunner().invoke(cli, ["track", *args, "--db", str(db)], obj={})


def add(db: Path, url: str = URL, price: str = "$6,500", seen: str = "2026-11-20", **kw):
    extra = [x for k, v in kw.items() for x in (f"--{k}", v)]
    return track(db, "add", url, "--price", price, "--text", TEXT, "--seen", seen, *extra)


def history(db: Path) -> list[tuple]:
    return [
        (r["event"], r["price_usd"], r["status"], r["observed_at"][:10], r["run_id"] is not None)
        for r in rows(db, "SELECT * FROM price_history WHERE source = 'manual' ORDER BY id")
    ]


@pytest.fixture
def tracked(tmp_path) -> Path:
    """A database where one truck was added on 11-20, repriced on 11-25 and went on 11-28."""
    db = tmp_path / "t.db"
    assert add(db, location="Knoxville, TN").exit_code == 0
    assert track(db, "price", URL, "5900", "--seen", "2026-11-25").exit_code == 0
    assert track(db, "gone", URL, "--seen", "2026-11-28").exit_code == 0
    return db


def test_manual_has_a_display_name_and_is_entered_by_hand():
    assert tables.source_names()[MANUAL_SOURCE] == "Tracked by hand"
    assert tables.sources_where("by_hand") == {MANUAL_SOURCE}


def test_add_stores_the_listing_normalized_like_a_crawled_one(tmp_path):
    db = tmp_path / "t.db"
    result = add(db, location="Knoxville, TN")
    assert result.exit_code == 0, result.output
    assert "$6,500 US asking: 1996 Suzuki Carry 4WD, TN" in result.output
    (row,) = rows(db, "SELECT * FROM listings")
    assert (row["source"], row["listing_id"], row["url"]) == (
        MANUAL_SOURCE,
        listing_id_of(URL),
        URL,
    )
    assert (row["model"], row["year"], row["is_4wd"], row["mileage_mi"]) == (
        "Suzuki Carry",
        1996,
        1,
        41000,
    )
    assert (row["price_usd"], row["price_basis"], row["state"]) == (6500, "asking", "TN")
    assert (row["runs"], row["title_status"], row["status"]) == (1, "clean", "active")
    assert row["first_seen_at"] == row["last_seen_at"] == "2026-11-20T06:00:00+00:00"


def test_add_price_gone_writes_the_history_a_crawl_writes(tracked):
    assert history(tracked) == [
        ("new", 6500, "active", "2026-11-20", True),
        ("price_change", 5900, "active", "2026-11-25", True),
        ("gone", 5900, "gone", "2026-11-28", True),
    ]
    (row,) = rows(tracked, "SELECT status, gone_at, price_usd FROM listings")
    assert row == {"status": "gone", "gone_at": "2026-11-28T06:00:00+00:00", "price_usd": 5900}
    runs = rows(tracked, "SELECT * FROM runs ORDER BY id")
    assert [(r["source"], r["status"], r["healthy"], r["gone_marked"]) for r in runs] == [
        ("manual", "finished", 1, 0),
        ("manual", "finished", 1, 0),
        ("manual", "finished", 1, 1),
    ]


def test_a_price_seen_again_after_gone_is_a_relisting(tracked):
    assert track(tracked, "price", URL, "5500", "--seen", "2026-12-01").exit_code == 0
    assert history(tracked)[-1] == ("relisted", 5500, "active", "2026-12-01", True)
    assert track(tracked, "gone", URL, "--seen", "2026-12-02").exit_code == 0
    assert track(tracked, "gone", URL, "--seen", "2026-12-03").output.endswith("already gone\n")
    assert [h[0] for h in history(tracked)][-2:] == ["relisted", "gone"]


@pytest.mark.parametrize(
    ("day", "status", "price"),
    [
        ("2026-11-19", None, None),
        ("2026-11-22", "active", 6500),
        ("2026-11-26", "active", 5900),
        ("2026-11-30", "gone", 5900),
    ],
)
def test_the_report_reads_the_listing_as_of_each_night(tracked, day, status, price):
    state = load.read_listings_as_of(tracked, day)
    mine = state.loc[state["source"] == MANUAL_SOURCE]
    if status is None:
        assert mine.empty
        return
    assert mine["status"].tolist() == [status]
    assert mine["price_usd"].tolist() == [price]


def test_the_report_counts_a_tracked_truck_by_state_and_source_name(tracked):
    assert track(tracked, "price", URL, "5500", "--seen", "2026-12-01").exit_code == 0
    data = compute_report(tracked, as_of="2026-12-01", config=load_config(None))
    assert data.by_state.set_index("state")["trucks"].to_dict() == {"TN": 1}
    mine = data.listings.loc[data.listings["source"] == MANUAL_SOURCE]
    assert mine[["status", "price_usd"]].values.tolist() == [["active", 5500]]


def _market(db: Path) -> None:
    """Four Carrys at about $8,000 and one at $4,500, all tracked by hand on one night."""
    for i in range(1, 5):
        text = f"199{i} Suzuki Carry 4x4 DA51T kei truck, 5 speed, runs great, 30k miles"
        result = track(
            db,
            "add",
            f"https://example.com/t/{i}",
            "--price",
            f"8{i}00",
            "--text",
            text,
            "--location",
            "Knoxville, TN",
            "--seen",
            "2026-11-24",
        )
        assert result.exit_code == 0, result.output
    cheap = "1995 Suzuki Carry 4x4 DA51T kei truck, runs great, 32k miles"
    result = track(
        db,
        "add",
        "https://example.com/t/cheap",
        "--price",
        "4500",
        "--text",
        cheap,
        "--location",
        "Nashville, TN",
        "--seen",
        "2026-11-24",
    )
    assert result.exit_code == 0, result.output


def test_a_tracked_truck_under_the_market_raises_an_alert(tmp_path):
    db = tmp_path / "m.db"
    _market(db)
    run = run_alerts(db, as_of="2026-11-24", config=load_config(None), dry_run=True)
    raised = {(a["kind"], a["listing_id"]) for a in run.raised}
    assert ("underpriced_4wd", listing_id_of("https://example.com/t/cheap")) in raised
    assert all(a["kind"] != "source_unhealthy" for a in run.raised)


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["price", "https://example.com/unknown", "5000"], 2, "no tracked listing"),
        (["gone", "https://example.com/unknown"], 2, "no tracked listing"),
        (["price", URL, "call me"], 2, "cannot read a price"),
        (["price", URL, "$1"], 2, "cannot read a price"),
        (["price", URL, "5000", "--seen", "2026-13-01"], 2, "is not a date"),
        (["price", URL, "5000", "--seen", "2026-11-01"], 2, "before the listing was last seen"),
        (["add", "not a url", "--price", "5000", "--text", "x"], 2, "not a web address"),
        (["add", "https://example.com/x", "--price", "5000"], 2, "--title or --text"),
        (["add", "https://example.com/x", "--price", "nope", "--text", TEXT], 2, "a price"),
        # a yen price was stored as "US asking" ($4,134) and alerted as 46% under
        (["price", URL, "¥650,000"], 2, "'¥650,000' is a price in JPY: track takes the US"),
        (["add", "https://example.com/y", "--price", "65万円", "--text", TEXT], 2, "in JPY"),
        (["add", "https://example.com/z", "--price", "$6,500 CAD", "--text", TEXT], 2, "in CAD"),
    ],
)
def test_errors_are_one_line_with_their_exit_code(tmp_path, args, code, words):
    db = tmp_path / "t.db"
    assert add(db).exit_code == 0
    result = track(db, *args)
    assert result.exit_code == code, result.output
    assert words in result.output
    assert result.output.count("\n") == 1
    assert result.output.startswith("Error: ")


def test_price_or_gone_without_a_database_is_a_database_error(tmp_path):
    result = track(tmp_path / "none.db", "gone", URL)
    assert result.exit_code == 4
    assert not (tmp_path / "none.db").exists()


@pytest.mark.slow
def test_a_crawl_marking_its_listings_gone_leaves_a_tracked_one_active(tmp_path, crawl):
    db = tmp_path / "crawl.db"
    assert add(db, seen=NIGHTS[0]).exit_code == 0
    with SampleServer(night=1) as server:
        assert crawl("carfromjapan", server, NIGHTS[0], db=db).returncode == 0
        server.night = 3
        assert crawl("carfromjapan", server, NIGHTS[2], db=db).returncode == 0
    gone = rows(db, "SELECT source FROM price_history WHERE event = 'gone'")
    assert gone
    assert {g["source"] for g in gone} == {"carfromjapan"}
    conn = sqlite3.connect(db)
    try:
        status = conn.execute("SELECT status FROM listings WHERE source = 'manual'").fetchall()
    finally:
        conn.close()
    assert status == [("active",)]


@pytest.mark.parametrize(
    ("title", "text", "expected"),
    [
        ("My title", TEXT, "My title"),
        (None, TEXT, "1996 Suzuki Carry 4x4 DD51T kei truck."),
        (None, "Carry 4x4 for sale\nsecond line", "Carry 4x4 for sale"),
        (None, "word " * 40, ("word " * 20).strip() + "..."),
        (None, "   ", None),
    ],
)
def test_a_title_is_the_one_given_else_the_first_sentence_of_the_text(title, text, expected):
    assert title_from(title, text) == expected


def test_a_text_that_is_no_kei_truck_is_stored_and_says_it_will_not_be_scored(tmp_path):
    db = tmp_path / "t.db"
    args = ["add", "https://example.com/x", "--price", "3000", "--text", "little truck"]
    result = track(db, *args)
    assert result.exit_code == 0, result.output
    assert NOT_A_TRUCK in result.output
    assert NOT_A_TRUCK not in add(db).output


def test_the_headline_counts_name_crawled_sources_only(tmp_path):
    db = tmp_path / "t.db"
    assert add(db).exit_code == 0
    totals = count_summary(db)
    assert (totals["listings"], totals["sources"]) == (1, 0)


def test_list_shows_each_tracked_listing_with_its_status(tracked):
    assert add(tracked, url="https://example.com/other", seen="2026-11-29").exit_code == 0
    lines = track(tracked, "list").output.splitlines()
    assert lines[0].split()[:3] == ["active", "$6,500", "2026-11-29"]
    assert lines[0].endswith("https://example.com/other")
    assert lines[1].split()[:3] == ["gone", "$5,900", "2026-11-25"]  # last seen, then gone
    assert lines[1].endswith(URL)
    assert lines[2] == "2 listing(s) tracked by hand"

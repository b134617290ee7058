"""A past report regenerated later is the report made that night, and a report says when its
data is not fresh (issue #20).

Histories are hand-built through the storage layer (``tests.test_analysis_helpers``): a later
night fills in a mileage, retitles a listing, moves its landed cost; renormalize rewrites a
model. Each time, the report of the earlier night, made again after, must be byte for byte the
one made then. The freshness banner is checked on runs that failed, were blocked or looked
wrong, and on a date after the last crawl.
"""

from __future__ import annotations

import datetime as dt
import filecmp
import html
import re
import shutil

import pandas as pd
import pytest
from click.testing import CliRunner

from analysis import freshness, load
from analysis.report import CSV_FILES, write_report
from keitrucks.cli import cli
from keitrucks.core.config import load_config
from keitrucks.night import run_night
from keitrucks.sample.catalog import NIGHTS, build_catalog
from keitrucks.sample.site import SampleServer
from pipelines.listings import CHANGE_FIELDS, HISTORY_FIELDS, renormalize_listings
from pipelines.run_health import RunVerdict
from pipelines.runs import finish_run, start_run
from pipelines.schema import open_db
from tests.conftest import refused_port, rows
from tests.test_analysis_helpers import BF, CL, at, build_market, night, truck
from tests.test_faults_crawl import BF_PAGE1, _copy

#: Columns the as-of read takes as stored because they never change after first sight, or
#: are rebuilt from history and runs as of the date (status, last seen, gone).
FIXED_OR_REBUILT = {"source", "listing_id", "identity", "first_seen_at", "last_seen_at", "gone_at"}
REPORT_FILES = (*CSV_FILES, "report.html")


def test_every_column_the_analysis_reads_is_known_as_of_a_date():
    """A column read as of a date is fixed at first sight, carried by history, or change-logged:
    otherwise a later night would leak into an earlier report."""
    unaccounted = set(load.REPORT_COLUMNS) - FIXED_OR_REBUILT - set(HISTORY_FIELDS)
    unaccounted -= set(CHANGE_FIELDS)
    assert unaccounted == set()
    assert {"description", "attributes"} <= set(CHANGE_FIELDS)  # read for frame numbers


def _report(db, out, day: str) -> dict[str, bytes]:
    folder = write_report(db, out, as_of=day).folder
    return {name: (folder / name).read_bytes() for name in REPORT_FILES}


def _changed_market(db) -> None:
    """The test market, then a night that learns more about listings already seen."""
    build_market(db)
    night(
        db,
        "2026-11-12",
        CL,
        [
            truck(CL, "A", 7500, mileage_mi=52000, title="1996 Honda Acty A 52k miles 4x4"),
            truck(CL, "C", 9000, mileage_mi=61000, location_raw="Maryville, TN", state="TN"),
            truck(CL, "D", 13000, model="Suzuki Carry", year=1991, is_4wd=False, runs=False),
            truck(CL, "G", 8800, repost_of="B"),
        ],
    )
    night(db, "2026-11-12", BF, [truck(BF, "F", 3000, price_basis="fob", landed_usd=6100)])


def test_a_later_night_does_not_change_an_earlier_report(tmp_path):
    db = tmp_path / "m.db"
    build_market(db)
    before = _report(db, tmp_path / "then", "2026-11-10")
    _changed_market(tmp_path / "later.db")
    after = _report(tmp_path / "later.db", tmp_path / "again", "2026-11-10")
    assert [n for n in REPORT_FILES if before[n] != after[n]] == []
    # the later night did change what is stored, and a report of it shows it
    stored = {r["listing_id"]: r for r in rows(tmp_path / "later.db", "SELECT * FROM listings")}
    assert (stored["A"]["mileage_mi"], stored["D"]["runs"], stored["F"]["landed_usd"]) == (
        52000,
        0,
        6100,
    )
    logged = rows(tmp_path / "later.db", "SELECT listing_id, field, old FROM listing_changes")
    assert {(r["listing_id"], r["field"], r["old"]) for r in logged} >= {
        ("A", "mileage_mi", None),
        ("A", "title", "1996 Honda Acty A"),
        ("C", "mileage_mi", 51234),
        ("C", "location_raw", "Knoxville, TN"),
        ("D", "runs", None),
        ("F", "landed_usd", None),
    }
    later = _report(tmp_path / "later.db", tmp_path / "later", "2026-11-12")
    assert b"52000" in later["deals.csv"]
    assert b"52000" not in after["deals.csv"]


def test_as_of_reads_the_value_known_then_and_the_latest_after(tmp_path):
    db = tmp_path / "m.db"
    _changed_market(db)
    then = load.read_listings_as_of(db, "2026-11-10").set_index("listing_id")
    now = load.read_listings_as_of(db, "2026-11-12").set_index("listing_id")
    assert pd.isna(then.loc["A", "mileage_mi"])
    assert now.loc["A", "mileage_mi"] == 52000
    assert then.loc["C", "location_raw"] == "Knoxville, TN"
    assert now.loc["C", "location_raw"] == "Maryville, TN"
    assert pd.isna(then.loc["D", "runs"])
    assert not now.loc["D", "runs"]
    assert then["mileage_mi"].dtype == now["mileage_mi"].dtype == "Int64"
    assert then["runs"].dtype == now["runs"].dtype == "boolean"


def test_renormalize_logs_what_it_replaced(tmp_path):
    db_path = tmp_path / "m.db"
    build_market(db_path)
    db = open_db(db_path)
    try:
        updated = renormalize_listings(
            db,
            lambda raw: {"model": "Honda Acty Truck", "kind": "kei_truck", "status": "active"},
            changed_at=at("2026-11-11"),
        )
    finally:
        db.close()
    assert updated == len(rows(db_path, "SELECT * FROM listings"))
    before = load.read_listings_as_of(db_path, "2026-11-10")
    after = load.read_listings_as_of(db_path, "2026-11-11")
    assert "Honda Acty Truck" not in set(before["model"])
    assert set(after["model"]) == {"Honda Acty Truck"}
    assert set(before.loc[before["source"] == CL, "model"]) == {"Honda Acty", "Suzuki Carry"}


def test_a_repost_seen_later_does_not_pull_its_old_listing_into_an_earlier_window(tmp_path):
    db = tmp_path / "m.db"
    night(db, "2026-01-05", CL, [truck(CL, "OLD", 7000)])
    night(db, "2026-06-01", CL, [truck(CL, "MID", 6000)])
    then = load.read_listings_as_of(db, "2026-06-01", since="2026-05-01")
    night(db, "2026-06-20", CL, [truck(CL, "NEW", 6900, repost_of="OLD")])
    again = load.read_listings_as_of(db, "2026-06-01", since="2026-05-01")
    assert then["listing_id"].tolist() == again["listing_id"].tolist() == ["MID"]


# -- freshness ----------------------------------------------------------------------------------


def _run(db_path, source: str, day: str, status: str, reason: str = "ok", items: int = 3) -> None:
    """One recorded run of ``source`` on ``day`` with the verdict ``status``."""
    db = open_db(db_path)
    try:
        run_id = start_run(db, source, search_key="s", as_of=at(day), started_at=at(day))
        verdict = RunVerdict(
            complete=status in ("ok", "unhealthy"),
            healthy=status == "ok",
            reason=reason,
            status=status,
        )
        finish_run(
            db,
            run_id,
            finished_at=at(day),
            finish_reason="finished" if verdict.complete else "shutdown",
            verdict=verdict,
            stats={"keitrucks/blocked": "http_429"} if status == "blocked" else {},
            items=items,
            coverage={},
        )
    finally:
        db.close()


NOV = ["2026-11-24", "2026-11-25"]


@pytest.mark.parametrize(
    ("night2", "as_of", "expected"),
    [
        ({CL: "ok", BF: "ok"}, NOV[1], []),
        (
            {CL: "failed", BF: "blocked"},
            NOV[1],
            [
                "No fresh data on 2026-11-25: every source crawled failed or was blocked "
                "(BE FORWARD: blocked, blocked (http_429); Craigslist: failed, did not finish "
                "(shutdown)). The listings and prices below are as of 2026-11-24, their last good "
                "crawl; nothing of theirs was marked gone, and tonight's new listings and price "
                "changes from them are unknown."
            ],
        ),
        (
            {CL: "ok", BF: "blocked"},
            NOV[1],
            [
                "No fresh data from BE FORWARD on 2026-11-25 (BE FORWARD: blocked, blocked "
                "(http_429)). Their listings and prices are as of 2026-11-24, their last good "
                "crawl; nothing of theirs was marked gone, and tonight's new listings and price "
                "changes from them are unknown."
            ],
        ),
        (
            {CL: "unhealthy", BF: "ok"},
            NOV[1],
            [
                "Incomplete crawl of Craigslist on 2026-11-25 (Craigslist: 1 listings, recent "
                "median 3): nothing of theirs was marked gone."
            ],
        ),
        (
            {CL: "ok", BF: "ok"},
            "2027-01-05",
            [
                "No crawl after 2026-11-25, and this report is dated 2027-01-05: the listings "
                "and prices below are as of 2026-11-25, not 2027-01-05."
            ],
        ),
        ({CL: "failed", BF: "failed"}, NOV[0], []),  # that night is not known on the first
    ],
    ids=["fresh", "all-failed", "one-blocked", "unhealthy", "no-crawl-since", "as-of-before"],
)
def test_the_banner_says_which_sources_failed_and_as_of_when(tmp_path, night2, as_of, expected):
    db = tmp_path / "k.db"
    for source in (CL, BF):
        _run(db, source, NOV[0], "ok")
    reasons = {
        "ok": "ok",
        "failed": "did not finish (shutdown)",
        "blocked": "blocked (http_429)",
        "unhealthy": "1 listings, recent median 3",
    }
    for source, status in night2.items():
        _run(db, source, NOV[1], status, reasons[status], items=1 if status != "ok" else 3)
    found = freshness.freshness(load.read_runs_until(db, as_of), dt.date.fromisoformat(as_of))
    assert freshness.warnings(found) == expected
    html = freshness.banner_html(found)
    assert bool(html) == bool(expected)
    for line in expected:
        assert line.replace("'", "&#x27;") in html


def test_a_source_never_crawled_well_says_never():
    runs = pd.DataFrame(
        {
            "id": [1, 2, 3],
            "source": [BF, CL, BF],
            "as_of": pd.to_datetime([at(NOV[0]), at(NOV[1]), at(NOV[1])], utc=True),
            "status": ["failed", "finished", "blocked"],
            "health_status": ["failed", "ok", "blocked"],
            "health_reason": ["x", "ok", "blocked (http_403)"],
            "healthy": [0, 1, 0],
        }
    )
    (line,) = freshness.warnings(freshness.freshness(runs, dt.date(2026, 11, 25)))
    assert "Their listings and prices are as of each one's last good crawl (BE FORWARD never)" in (
        line
    )


def test_a_report_after_a_night_where_every_source_failed_says_so_on_top(tmp_path):
    db = tmp_path / "k.db"
    build_market(db)
    for source in (CL, BF):
        _run(db, source, "2026-11-11", "failed", "did not finish (connection refused)")
    result = CliRunner().invoke(
        cli, ["report", "--db", str(db), "--out", str(tmp_path), "--as-of", "2026-11-11"], obj={}
    )
    assert result.exit_code == 0, result.output
    page = (tmp_path / "2026-11-11" / "report.html").read_text(encoding="utf-8")
    head = page[: page.index("<h2>")]
    assert "No fresh data on 2026-11-11: every source crawled failed" in head
    assert "as of each one's last good crawl (BE FORWARD 2026-11-02, Craigslist 2026-11-09)" in (
        html.unescape(head)
    )
    warned = [ln for ln in result.stderr.splitlines() if ln.startswith("Warning: ")]
    assert warned == [
        f"Warning: {line}" for line in write_report(db, tmp_path / "x", as_of="2026-11-11").warnings
    ]
    assert len(warned) == 1


def test_a_future_as_of_warns_on_the_console_and_in_the_report(tmp_path):
    db = tmp_path / "k.db"
    build_market(db)
    future = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=30)).isoformat()
    result = CliRunner().invoke(
        cli, ["report", "--db", str(db), "--out", str(tmp_path), "--as-of", future], obj={}
    )
    assert result.exit_code == 0, result.output
    err = result.stderr.splitlines()
    assert err[0].startswith(f"Warning: --as-of {future} is in the future")
    assert err[1] == (
        f"Warning: No crawl after 2026-11-10, and this report is dated {future}: the listings "
        f"and prices below are as of 2026-11-10, not {future}."
    )
    page = (tmp_path / future / "report.html").read_text(encoding="utf-8")
    assert "No crawl after 2026-11-10" in page[: page.index("<h2>")]


def test_a_past_report_with_its_banner_is_regenerated_exactly(tmp_path):
    db = tmp_path / "k.db"
    build_market(db)
    _run(db, BF, "2026-11-11", "blocked", "blocked (http_429)")
    then = _report(db, tmp_path / "then", "2026-11-11")
    shutil.copy(db, tmp_path / "later.db")
    night(tmp_path / "later.db", "2026-11-12", BF, [truck(BF, "F", 2900, price_basis="fob")])
    again = _report(tmp_path / "later.db", tmp_path / "again", "2026-11-11")
    assert b"No fresh data on 2026-11-11: every source crawled failed" in then["report.html"]
    assert filecmp.cmp(
        tmp_path / "then" / "2026-11-11" / "report.html",
        tmp_path / "again" / "2026-11-11" / "report.html",
        shallow=False,
    )
    assert then == again


# -- end to end: sample nights through the real crawls -------------------------------------------

#: Two sources keep it short: an exporter whose stock list shows the mileage every night, and a
#: US marketplace for the asking prices the exporter's trucks are compared with.
E2E_SOURCES = ["beforward", "craigslist"]
#: What night 3's stock list says of one truck instead of its real mileage.
LATER_MILEAGE = "12,345 km"


def _retold(page: str, listing_id: str) -> str:
    """The stock list with one truck's mileage changed (its row only)."""
    rows = page.split('<tr class="stocklist-row">')
    (at,) = [i for i, row in enumerate(rows) if f"Ref No. {listing_id}<" in row]
    rows[at] = re.sub(
        r'(mileage">\s*<p class="title">Mileage</p>\s*<p class="val">\s*)[^<]*?(\s*</p>)',
        rf"\g<1>{LATER_MILEAGE}\g<2>",
        rows[at],
        count=1,
    )
    assert LATER_MILEAGE in rows[at]
    return '<tr class="stocklist-row">'.join(rows)


def _unchanged_on_page1(server) -> str:
    """A BE FORWARD truck on night 3's first stock-list page, listed at the same price on
    night 2: night 3 writes no history for it, only its new mileage."""
    catalog = {t.listing_id: t for t in build_catalog() if t.source == "beforward"}
    _, _, body, _ = server.answer(BF_PAGE1)
    for listing_id in re.findall(r"Ref No\. (\w+)<", body.decode()):
        nights = catalog[listing_id].nights
        if nights[1] and nights[2] and nights[1] == nights[2] and nights[2].status == "active":
            return listing_id
    raise AssertionError("no truck unchanged from night 2 to 3 on the first stock-list page")


@pytest.fixture(scope="module")
def sample_nights(tmp_path_factory):
    """Nights 1 to 3 of the sample as ``keitrucks nightly`` runs them (crawl, report, alerts),
    night 3 telling a new mileage for a truck seen on night 2; then a fourth night on which
    every source fails. Returns (db, out, the truck, a copy of the database after night 3)."""
    folder = tmp_path_factory.mktemp("nights")
    db, out = folder / "k.db", folder / "reports"
    config = load_config(None)
    with SampleServer() as server:
        truck = None
        for index, day in enumerate(NIGHTS):
            server.night = index + 1
            if index == 2:
                truck = _unchanged_on_page1(server)
                status, content_type, body, _ = server.answer(BF_PAGE1)
                page = _retold(body.decode(), truck)
                server.override(BF_PAGE1, body=page.encode(), content_type=content_type)
            night = run_night(
                db, out, config=config, sources=E2E_SOURCES, as_of=day, base_url=server.base_url
            )
            assert night.ok, [o.line for o in night.outcomes] + list(night.errors.values())
    after3 = _copy(db, folder / "after3.db")
    with refused_port() as port:
        night = run_night(
            db,
            out,
            config=config,
            sources=E2E_SOURCES,
            as_of=NIGHT4,
            base_url=f"http://127.0.0.1:{port}",
        )
    assert not night.ok
    return db, out, truck, after3


NIGHT4 = "2026-11-27"


@pytest.mark.slow
def test_night_2_regenerated_after_night_3_is_the_report_made_that_night(sample_nights, tmp_path):
    _, out, truck, db = sample_nights
    result = CliRunner().invoke(
        cli, ["report", "--db", str(db), "--out", str(tmp_path), "--as-of", NIGHTS[1]], obj={}
    )
    assert result.exit_code == 0, result.output
    for name in REPORT_FILES:
        made, again = out / NIGHTS[1] / name, tmp_path / NIGHTS[1] / name
        assert filecmp.cmp(made, again, shallow=False), name
    (stored,) = rows(db, "SELECT mileage_mi FROM listings WHERE listing_id = ?", [truck])
    then = load.read_listings_as_of(db, NIGHTS[1]).set_index("listing_id").loc[truck]
    assert abs(stored["mileage_mi"] - 12345 * 0.621371) < 2  # night 3 did change what is stored
    assert then["mileage_mi"] != stored["mileage_mi"]
    # and the night-3 report, made again, is also the one of that night
    write_report(db, tmp_path / "3", as_of=NIGHTS[2])
    for name in REPORT_FILES:
        assert filecmp.cmp(
            out / NIGHTS[2] / name, tmp_path / "3" / NIGHTS[2] / name, shallow=False
        ), name


@pytest.mark.slow
def test_a_night_where_every_source_failed_reads_as_a_failure_not_an_empty_market(
    sample_nights, tmp_path
):
    db, out, _, _ = sample_nights
    page = (out / NIGHT4 / "report.html").read_text(encoding="utf-8")
    head = html.unescape(page[: page.index("<h2>")])
    assert (
        f"No fresh data on {NIGHT4}: every source crawled failed or was blocked (BE FORWARD: failed"
        in head
    )
    assert f"as of {NIGHTS[2]}, their last good crawl" in head
    result = CliRunner().invoke(
        cli, ["report", "--db", str(db), "--out", str(tmp_path), "--as-of", NIGHT4], obj={}
    )
    assert result.exit_code == 0, result.output
    assert f"Warning: No fresh data on {NIGHT4}: every source crawled failed" in result.stderr
    assert filecmp.cmp(
        out / NIGHT4 / "report.html", tmp_path / NIGHT4 / "report.html", shallow=False
    )

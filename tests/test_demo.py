"""The whole demo, end to end: months of weekly nights of the sample marketplace, then three
nights, into a fresh database.

The database must hold exactly what the sample catalog says each night showed: every listing,
its final status and price, and one price_history event per change, no more.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from keitrucks.cli import cli
from keitrucks.core.dates import normalize_as_of
from keitrucks.demo import DEMO_TRACKED, DemoCrawl, DemoCrawlError, set_aside, set_aside_text
from keitrucks.sample.build import sample_config_toml
from keitrucks.sample.catalog import HISTORY, NIGHTS, SOURCES
from keitrucks.sample.history import history_catalog
from keitrucks.sample.site import SampleServer
from tests.conftest import rows

pytestmark = pytest.mark.slow
#: every listing of the demo, one state per night of the history and the three nights.
CATALOG = history_catalog()
JUNK = [t for t in CATALOG if t.junk_reason is not None]
DEALS = [t for t in CATALOG if t.intended_deal]


def expected_events(truck) -> list[tuple[str, int | None, str]]:
    """(event, price, status) rows the history must hold for one sample listing."""
    events, seen, state = [], None, None
    for night in truck.nights:
        if night is None:
            if seen is not None and state == "active":
                events.append(("gone", seen.price, "gone"))
                state = "gone"
            continue
        if seen is None:
            events.append(("new", night.price, night.status))
        elif state == "gone":
            events.append(("relisted", night.price, night.status))
        elif night.status != seen.status:
            events.append(("status_change", night.price, night.status))
        elif night.price != seen.price:
            events.append(("price_change", night.price, night.status))
        seen, state = night, night.status
    return events


def final_status(truck) -> str:
    last = truck.nights[-1]
    return last.status if last is not None else "gone"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    db, out = folder / "demo.db", folder / "reports"
    result = CliRunner().invoke(cli, ["demo", "--db", str(db), "--out", str(out)], obj={})
    return db, out, result


def test_the_demo_command_succeeds_and_says_what_it_did(demo):
    db, out, result = demo
    assert result.exit_code == 0, result.output
    for index, night in enumerate(NIGHTS, start=1):
        for source in SOURCES:
            assert f"night {index}/3 {night} {source}" in result.output
    for week, night in enumerate(HISTORY, start=1):
        assert f"week {week}/{len(HISTORY)} {night} " in result.output
    assert "FAIL" not in result.output
    assert str(db) in result.output
    assert "Demo finished" in result.output


def test_every_sample_listing_is_stored_with_its_final_state(demo):
    db, _, _ = demo
    crawled = rows(db, "SELECT * FROM listings WHERE source != 'manual'")
    stored = {(r["source"], r["listing_id"]): r for r in crawled}
    assert set(stored) == {(t.source, t.listing_id) for t in CATALOG}
    for truck in CATALOG:
        row = stored[(truck.source, truck.listing_id)]
        assert row["status"] == final_status(truck), truck.key
        last_seen = [n for n in truck.nights if n is not None][-1]
        assert row["price"] == last_seen.price, truck.key
        assert row["title"] == truck.title, truck.key


def test_price_history_holds_one_event_per_change(demo):
    db, _, _ = demo
    for truck in CATALOG:
        got = [
            (h["event"], h["price"], h["status"])
            for h in rows(
                db,
                "SELECT * FROM price_history WHERE source = ? AND listing_id = ? ORDER BY id",
                (truck.source, truck.listing_id),
            )
        ]
        assert got == expected_events(truck), truck.key


def test_the_demo_meets_the_spine_targets(demo):
    db, _, _ = demo
    listings = rows(db, "SELECT source, kind FROM listings")
    trucks = [r for r in listings if r["kind"] == "kei_truck"]
    assert len(trucks) >= 80
    assert len({r["source"] for r in listings}) >= 3
    history = rows(db, "SELECT event FROM price_history")
    assert len(history) > len(listings)
    events = {h["event"] for h in history}
    assert {"new", "price_change", "gone", "relisted"} <= events
    runs = rows(db, "SELECT source, as_of, healthy, complete FROM runs WHERE source != 'manual'")
    # a week of history crawls the sources that list something that week; a night, all
    listed = {(t.source, HISTORY[w]) for t in CATALOG for w in range(len(HISTORY)) if t.nights[w]}
    assert sorted((r["source"], r["as_of"][:10]) for r in runs) == sorted(
        listed | {(s, n) for s in SOURCES for n in NIGHTS}
    )
    assert all(r["healthy"] and r["complete"] for r in runs)
    assert rows(db, "SELECT count(*) AS n FROM alerts")[0]["n"] >= 1


def test_the_truck_tracked_by_hand_stays_active_through_the_crawl_nights(demo):
    db, _, result = demo
    (truck,) = rows(db, "SELECT * FROM listings WHERE source = 'manual'")
    assert (truck["url"], truck["status"], truck["kind"]) == (
        DEMO_TRACKED["url"],
        "active",
        "kei_truck",
    )
    assert truck["road_claims"] == "titled and tagged; street legal in TN"
    events = rows(db, "SELECT event, observed_at FROM price_history WHERE source = 'manual'")
    assert [(e["event"], e["observed_at"][:10]) for e in events] == [("new", NIGHTS[0])]
    gone = rows(db, "SELECT DISTINCT source FROM price_history WHERE event = 'gone'")
    assert gone  # the crawls of the nights after it did mark their own listings gone
    assert "manual" not in {g["source"] for g in gone}
    assert f"tracked by hand  1996 Suzuki Carry, $6,200 US asking ({DEMO_TRACKED['url']}" in (
        result.output
    )


def test_the_repost_joins_its_predecessor(demo):
    db, _, _ = demo
    ids = {
        r["listing_id"]: r["identity"]
        for r in rows(db, "SELECT * FROM listings WHERE listing_id IN ('7968810101', '7968830202')")
    }
    assert ids == {"7968810101": "craigslist:7968810101", "7968830202": "craigslist:7968810101"}


def test_the_demo_writes_the_reports(demo):
    _, out, _ = demo
    last = out / NIGHTS[-1]
    assert (last / "report.html").is_file()
    assert (last / "deals.csv").is_file()


def readme_queries() -> list[str]:
    """The SQL of the README's `.venv/bin/sqlite-utils data/demo.db "..." --table` examples."""
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    return re.findall(
        r'^\.venv/bin/sqlite-utils data/demo\.db "(.+)" --table$', readme, flags=re.MULTILINE
    )


def test_the_readme_queries_run_on_the_demo_database(demo):
    db, _, _ = demo
    queries = readme_queries()
    assert len(queries) >= 3
    for sql in queries:
        assert rows(db, sql), sql
    # what a US buyer can act on: US asking prices and landed costs, never a FOB price
    for_sale = rows(db, "SELECT * FROM for_sale")
    assert {r["price_label"] for r in for_sale} <= {"US asking", "landed in the US"}
    assert [r["us_price_usd"] for r in for_sale] == sorted(r["us_price_usd"] for r in for_sale)
    landed = [r for r in for_sale if r["price_label"] == "landed in the US"]
    stored = {(r["source"], r["listing_id"]): r for r in rows(db, "SELECT * FROM listings")}
    for row in landed:
        truck = stored[(row["source"], row["listing_id"])]
        assert (truck["eligible_25y"], row["us_price_usd"]) == (1, truck["landed_usd"])
        assert row["quoted_label"].startswith("Japan ")


def underpriced_alerts(db) -> set[tuple[str, str]]:
    return {
        (r["source"], r["listing_id"])
        for r in rows(db, "SELECT source, listing_id FROM alerts WHERE kind = 'underpriced_4wd'")
    }


def test_the_catalog_holds_the_messy_market():
    reasons = {t.junk_reason for t in JUNK}
    assert {"parts", "not_running", "title", "pending", "clone", "misdated"} <= reasons
    assert not [t.key for t in DEALS if t.junk_reason is not None]
    assert all(t.is_4wd and t.kind == "kei_truck" for t in DEALS)
    assert len({t.source for t in JUNK}) >= 3


def test_no_junk_listing_is_alerted_as_underpriced(demo):
    db, _, _ = demo
    junk = {(t.source, t.listing_id): t.key for t in JUNK}
    assert sorted(junk[k] for k in underpriced_alerts(db) if k in junk) == []


def test_every_intended_deal_is_alerted_as_underpriced(demo):
    db, _, _ = demo
    alerted = underpriced_alerts(db)
    assert [t.key for t in DEALS if (t.source, t.listing_id) not in alerted] == []


def test_the_eligibility_watch_list_is_not_empty(demo):
    _, out, _ = demo
    with (out / NIGHTS[-1] / "eligibility_upcoming.csv").open(encoding="utf-8") as f:
        upcoming = [r for r in csv.DictReader(f) if r["month"] != "now"]
    last = NIGHTS[-1]
    now = int(last[:4]) * 12 + int(last[5:7]) - 1
    soon = {
        t.listing_id
        for t in CATALOG
        if t.month and t.nights[-1] and t.nights[-1].status == "active"
        if now <= (t.year + 25) * 12 + t.month - 1 <= now + 12
    }
    assert soon
    assert {r["listing_id"] for r in upcoming} >= soon


def test_the_summary_says_what_was_set_aside(demo):
    db, _, result = demo
    counts = set_aside(pd.DataFrame(rows(db, "SELECT * FROM listings")))
    assert counts
    assert f"set aside        {set_aside_text(counts)} from deal scoring" in result.output


def test_set_aside_counts_each_listing_once_by_its_first_reason():
    listings = pd.DataFrame(
        {
            "kind": ["parts", "kei_truck", "kei_truck", "other_vehicle", "kei_truck", "wanted"]
            + ["kei_truck", None],
            "runs": [0, 0, 1, None, 1, None, 1, None],
            "title_status": ["salvage", "missing", "rebuilt", None, "clean", None, "clean", None],
            "sale_pending": [0, 1, 1, 0, 0, None, 1, None],
        }
    )
    counts = set_aside(listings)
    assert counts == {
        "parts": 1,
        "wanted": 1,
        "not kei": 1,
        "not running": 1,
        "title problems": 1,
        "pending": 1,
    }
    assert set_aside_text(counts) == (
        "6 (1 parts, 1 wanted, 1 not kei, 1 not running, 1 title problems, 1 pending)"
    )
    assert set_aside(listings.drop(columns=["runs", "title_status", "sale_pending"])) == {
        "parts": 1,
        "wanted": 1,
        "not kei": 1,
    }
    assert set_aside_text({}) == "none"


def test_the_demo_report_shows_the_buyers_state_rule_and_trucks_by_state(demo):
    db, out, _ = demo
    page = (out / NIGHTS[-1] / "report.html").read_text(encoding="utf-8")
    assert "Your state: <b>TN</b>" in page
    assert "Seller&#x27;s state" in page or "Seller's state" in page
    located = rows(
        db,
        "SELECT source, listing_id, location_raw, state FROM listings "
        "WHERE source IN ('craigslist', 'ebay', 'dealer_jsonld') AND location_raw IS NOT NULL",
    )
    assert located
    # a place inside a state was given: the listing has that state ("United States" alone names
    # no state, and no state is guessed for it)
    within = [r for r in located if r["location_raw"].strip() != "United States"]
    assert within
    assert [r for r in within if r["state"] is None] == []


def test_the_last_nights_changes_say_how_long_a_truck_that_left_was_listed(demo):
    _, out, _ = demo
    page = (out / NIGHTS[-1] / "report.html").read_text(encoding="utf-8")
    changes = page[page.index("<h2>What changed on the last night</h2>") :]
    changes = changes[: changes.index("<h2>", 10)]
    left = re.findall(r"<tr><td[^>]*>(gone|sold)</td>(.*?)</tr>", changes)
    assert {change for change, _ in left} == {"gone", "sold"}
    for change, cells in left:
        was, now = re.findall(r"<td[^>]*>([^<]*)</td>", cells)[2:4]
        assert re.fullmatch(r"\$[\d,]+", was), cells
        assert re.fullmatch(rf"{change}( at \$[\d,]+)? after \d+ days?", now), cells


def test_for_sale_means_one_thing_in_the_summary_the_views_and_the_report(demo):
    db, out, result = demo
    view = rows(db, "SELECT count(*) AS n FROM for_sale")[0]["n"]
    flagged = rows(db, "SELECT count(*) AS n FROM active_trucks WHERE for_sale = 1")[0]["n"]
    active = rows(db, "SELECT count(*) AS n FROM active_trucks")[0]["n"]
    page = (out / NIGHTS[-1] / "report.html").read_text(encoding="utf-8")
    kpi = re.search(r"<div>For sale at a US price<b>(\d+)</b>", page)
    assert view == flagged == int(kpi[1]) < active
    assert f"for sale         {view} at a US price" in result.output
    assert f"of {active} active kei truck listings" in result.output


def test_the_demo_report_shows_months_of_trends_without_dead_links(demo):
    _, out, _ = demo
    page = (out / NIGHTS[-1] / "report.html").read_text(encoding="utf-8")
    # the trends start with the first week of history the window shows
    assert re.search(r"Trends from the week of 2026-0[56]-\d\d;", page)
    # the sample server is gone when the demo ends: no listing links to it, or anywhere
    assert "127.0.0.1" not in page
    assert "titles are not links" in page
    assert page.count("<svg class=spark") >= 5
    upcoming = page[page.index("<h2>Becoming eligible") : page.index("<h2>Recently sold")]
    assert re.search(r"<b>[1-9]\d*</b> trucks are 25 years old", upcoming)
    assert re.search(r"<b>[1-9]\d*</b> more turn 25", upcoming)


def test_a_demo_crawl_that_fails_says_why_in_one_line(tmp_path):
    config = tmp_path / "sample-sources.toml"
    config.write_text(sample_config_toml(), encoding="utf-8")
    plan = [{"night": 1, "as_of": normalize_as_of(HISTORY[0]), "sources": ["tcv"]}]
    with SampleServer(render=lambda night: []) as server:
        gone = server.base_url  # closed below: nothing answers there any more
    crawl = DemoCrawl(
        tmp_path / "d.db", plan, base_url=gone, config_path=config, log_dir=tmp_path / "logs"
    )
    failing = pytest.raises(DemoCrawlError, match="^the demo's crawl failed: .*Error")
    with failing as failed, crawl:
        assert list(crawl.nights()) == []
    assert "\n" not in str(failed.value)

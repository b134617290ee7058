"""The whole demo, end to end: three nights of the sample marketplace into a fresh database.

The database must hold exactly what the sample catalog says each night showed: every listing,
its final status and price, and one price_history event per change, no more.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from keitrucks.cli import cli
from keitrucks.sample.catalog import NIGHTS, SOURCES, build_catalog
from tests.conftest import rows

pytestmark = pytest.mark.slow
CATALOG = build_catalog()


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
    assert str(db) in result.output
    assert "Demo finished" in result.output


def test_every_sample_listing_is_stored_with_its_final_state(demo):
    db, _, _ = demo
    stored = {(r["source"], r["listing_id"]): r for r in rows(db, "SELECT * FROM listings")}
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
    runs = rows(db, "SELECT source, as_of, healthy, complete FROM runs")
    assert sorted((r["source"], r["as_of"][:10]) for r in runs) == sorted(
        (s, n) for s in SOURCES for n in NIGHTS
    )
    assert all(r["healthy"] and r["complete"] for r in runs)
    assert rows(db, "SELECT count(*) AS n FROM alerts")[0]["n"] >= 1


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
    """The SQL of the README's `sqlite3 data/demo.db "..."` examples."""
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    return re.findall(r'^sqlite3 data/demo\.db "(.+)"$', readme, flags=re.MULTILINE)


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

"""Seller road claims (#16) where a buyer reads them: "seller says: ..." beside the state's rule,
never as fact, in the report's deals and "Where can I drive it?", in alert text and in the views;
and ``renormalize`` fills them for rows stored before the field existed.

The market is built with ``keitrucks track`` (listings typed in by hand go through the same
normalizer as crawled ones).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from analysis.alerts import run_alerts
from analysis.report import write_report
from keitrucks.cli import cli
from keitrucks.core.config import load_config
from pipelines.listings import renormalize_listings
from pipelines.manual import listing_id_of
from pipelines.normalize import normalize_listing
from pipelines.schema import TRUCKS_I_CAN_REGISTER, open_db
from tests.conftest import rows

DAY = "2026-11-24"
CHEAP = "https://example.com/t/cheap"
CLAIMS = "street legal in TN; titled and tagged"
SAID = f"seller says: {CLAIMS} (their claim, not a fact)"


def _add(db: Path, url: str, price: str, text: str, location: str) -> None:
    args = ["track", "add", url, "--price", price, "--text", text, "--location", location]
    result = CliRunner().invoke(cli, [*args, "--seen", DAY, "--db", str(db)], obj={})
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def market(tmp_path_factory) -> Path:
    """Six Carrys near $8,000 that claim nothing, and one at $4,500 whose seller claims."""
    db = tmp_path_factory.mktemp("claims") / "m.db"
    for i in range(6):
        year = 1994 + i % 3
        text = f"{year} Suzuki Carry 4x4 DA51T kei truck, 5 speed, runs great, 30k miles"
        _add(db, f"https://example.com/t/{i}", f"{7900 + 50 * i}", text, "Knoxville, TN")
    cheap = (
        "1995 Suzuki Carry 4x4 DA51T kei truck, runs great, 32k miles. "
        "Street legal in Tennessee, titled and tagged."
    )
    _add(db, CHEAP, "4500", cheap, "Nashville, TN")
    return db


@pytest.fixture
def config() -> dict:
    config = load_config(None)
    config["buyer"]["state"] = "TN"
    return config


def test_the_claims_are_stored_normalized(market):
    (row,) = rows(market, "SELECT road_claims FROM listings WHERE url = ?", (CHEAP,))
    assert row["road_claims"] == CLAIMS


def test_the_alert_shows_what_the_seller_says_beside_the_state_rule(market, config, tmp_path):
    db = tmp_path / "alerts.db"
    with sqlite3.connect(market) as source, sqlite3.connect(db) as target:
        source.backup(target)
    run = run_alerts(db, as_of=DAY, config=config, digest_dir=tmp_path)
    assert listing_id_of(CHEAP) in {a["listing_id"] for a in run.raised}
    digest = run.digest_path.read_text(encoding="utf-8")
    (mine,) = [a for a in digest.split("\n- ") if CHEAP in a]
    assert "your state TN" in mine  # the rule, in the reason, right above the claim
    assert mine.index("your state TN") < mine.index("seller says")
    assert SAID in mine
    assert digest.count("seller says") == 1


def test_the_report_shows_claims_in_deals_and_where_can_i_drive_it(market, config, tmp_path):
    result = write_report(market, tmp_path, as_of=DAY, config=config)
    page = (result.folder / "report.html").read_text(encoding="utf-8")
    deals, _, rest = page.partition("<h2>Project trucks</h2>")
    assert SAID in deals
    drive = rest.partition("<h2>Where can I drive it?</h2>")[2].partition("<h2>")[0]
    assert "What its sellers say (claims, not facts)" in drive
    assert "street legal in TN (1), titled and tagged (1)" in drive


def test_the_buyer_views_name_the_claims_as_what_the_seller_says(market):
    open_db(market).close()  # the views as this version defines them
    for view in ("for_sale", "active_trucks"):
        said = rows(market, f"SELECT url, seller_says FROM {view} WHERE seller_says IS NOT NULL")
        assert said == [{"url": CHEAP, "seller_says": CLAIMS}], view


def test_trucks_i_can_register_shows_the_claim_beside_the_rule(market):
    conn = sqlite3.connect(market)
    conn.row_factory = sqlite3.Row
    try:
        found = [dict(r) for r in conn.execute(TRUCKS_I_CAN_REGISTER, {"state": "tn"})]
    finally:
        conn.close()
    said = {r["url"]: (r["your_state_rule"][:3], r["seller_says"]) for r in found}
    assert said[CHEAP] == ("TN:", CLAIMS)
    assert {v[1] for k, v in said.items() if k != CHEAP} == {None}


def test_renormalize_fills_the_claims_of_rows_stored_before_the_field(market, tmp_path):
    copy = tmp_path / "old.db"
    with sqlite3.connect(market) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    with sqlite3.connect(copy) as conn:
        conn.execute("UPDATE listings SET road_claims = NULL")
    db = open_db(copy)
    try:
        renormalize_listings(db, normalize_listing)
    finally:
        db.close()
    claims = [r["road_claims"] for r in rows(copy, "SELECT road_claims FROM listings")]
    assert sorted(claims, key=str) == sorted([CLAIMS] + [None] * 6, key=str)

"""A broken night raises no alert a healthy one would not: none twice, none about stale listings.

A failed or blocked run rightly marks nothing gone, so a truck that left the site stays
"active" in the database until a healthy run comes. The alerts of that night must not announce
it: nobody saw it that night, and the healthy night it would have been marked gone instead. The
listings go through the project's item pipelines (``tests.test_faults_text.run_pipelines``), two
nights, each followed by the health check (which records the verdict the unhealthy-source rule
reads), then ``analysis.alerts.run_alerts`` as ``keitrucks nightly`` runs it.
"""

from __future__ import annotations

from analysis.alerts import run_alerts
from keitrucks.core.config import load_config
from keitrucks.health import HealthRules, check_health
from keitrucks.sample.catalog import NIGHTS
from scrapers.items import Listing
from tests.conftest import rows
from tests.test_faults_text import run_pipelines

CONFIG = load_config(None)
NIGHT1, NIGHT2 = NIGHTS[0], NIGHTS[1]
#: The truck that leaves the site after night 1.
LEAVER = "7968700000"
#: A truck first listed on night 2 well under its comparables: the rule is alive.
BARGAIN = "7968700099"


def carry(listing_id: str, price: int, as_of: str) -> Listing:
    return Listing(
        source="craigslist",
        listing_id=listing_id,
        url=f"https://www.craigslist.org/{listing_id}",
        scraped_at=f"{as_of}T06:00:00+00:00",
        title="1995 Suzuki Carry 4x4 mini truck",
        description="4WD, 5 speed manual, runs great.",
        price_raw=f"${price:,}",
        location_raw="Knoxville, TN",
        year_raw="1995",
        make_model_raw="suzuki carry",
        drive_raw="4wd",
        transmission_raw="manual",
        mileage_raw="52,000",
        seller_type="owner",
        price_basis="asking",
    )


def night1() -> list[Listing]:
    """The leaver at $5,500 beside two trucks at $8,000: too few comparables to rate it, and
    above the band floor, so no alert."""
    return [carry(LEAVER, 5500, NIGHT1)] + [carry(f"79687000{n:02d}", 8000, NIGHT1) for n in (1, 2)]


def night2() -> list[Listing]:
    """Without the leaver: the two again, six new ones at $8,000, and a bargain at $5,900."""
    same = [carry(f"79687000{n:02d}", 8000, NIGHT2) for n in (1, 2)]
    new = [carry(f"79687000{n:02d}", 8000, NIGHT2) for n in range(11, 17)]
    return [*same, *new, carry(BARGAIN, 5900, NIGHT2)]


def two_nights(tmp_path, *, night2_failed: bool) -> list[dict]:
    db = tmp_path / "alerts.db"
    run_pipelines(db, night1(), as_of=f"{NIGHT1}T06:00:00+00:00")
    check_health(db, ["craigslist"], rules=HealthRules(), checked_at=f"{NIGHT1}T07:00:00+00:00")
    first = run_alerts(db, as_of=NIGHT1, config=CONFIG)
    assert not any(a["listing_id"] == LEAVER for a in first.raised)
    run_pipelines(db, night2(), as_of=f"{NIGHT2}T06:00:00+00:00", failed=night2_failed)
    check_health(db, ["craigslist"], rules=HealthRules(), checked_at=f"{NIGHT2}T07:00:00+00:00")
    second = run_alerts(db, as_of=NIGHT2, config=CONFIG)
    leaver = rows(db, "SELECT status, last_seen_at FROM listings WHERE listing_id = ?", [LEAVER])
    assert leaver[0]["status"] == ("active" if night2_failed else "gone")
    dupes = rows(
        db, "SELECT kind, identity, count(*) AS n FROM alerts GROUP BY kind, identity HAVING n > 1"
    )
    assert dupes == []
    return second.raised


def test_a_healthy_night_marks_the_leaver_gone_and_alerts_the_bargain(tmp_path):
    raised = two_nights(tmp_path, night2_failed=False)
    alerted = {a["listing_id"] for a in raised if a["kind"] == "underpriced_4wd"}
    assert alerted == {BARGAIN}


def test_a_failed_night_announces_no_listing_it_did_not_see(tmp_path):
    raised = two_nights(tmp_path, night2_failed=True)
    alerted = {a["listing_id"] for a in raised if a["kind"] == "underpriced_4wd"}
    unhealthy = [a for a in raised if a["kind"] == "source_unhealthy"]
    assert len(unhealthy) == 1
    assert alerted == {BARGAIN}

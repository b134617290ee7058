"""Alerts end to end: a database of the sample catalog's nights, delivered through Apprise to a
real webhook server on 127.0.0.1 that receives its JSON posts.

The database is written with the storage layer's own functions (runs, listings, history, gone),
with the normalized fields taken from the catalog's truth, so these tests stand on what the
demo's crawls store without starting Scrapy. Nights after the sample's three are made by
changing a truck's price, to see what a further drop does.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from analysis.alerts import run_alerts
from keitrucks.alerts_cli import alerts as alerts_command
from keitrucks.core import states
from keitrucks.core.config import load_config
from keitrucks.health import HealthRules, check_health
from keitrucks.sample.catalog import NIGHTS, SOURCES, build_catalog, listings_on
from pipelines import alert_store
from pipelines.landed import LandedCostPipeline
from pipelines.listings import mark_gone, save_listings
from pipelines.normalize import normalize_eligibility, parse_scraped_at
from pipelines.run_health import RunVerdict, judge_run
from pipelines.runs import finish_run, start_run
from pipelines.schema import open_db
from tests.conftest import rows

CATALOG = build_catalog()
TAGGED = {f"{t.source}:{t.listing_id}" for t in CATALOG if "underpriced" in t.tags}
LANDED = LandedCostPipeline(config=load_config(None))


class Webhook:
    """Records Apprise JSON posts per path; paths in ``failing`` answer HTTP 500."""

    def __init__(self):
        self.posts: list[tuple[str, dict]] = []
        self.failing: set[str] = set()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                path = self.path.split("?")[0]
                failing = path in hook.failing
                if not failing:
                    hook.posts.append((path, json.loads(body)))
                self.send_response(500 if failing else 200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str) -> str:
        return f"json://127.0.0.1:{self.server.server_address[1]}{path}"

    def messages(self, path: str) -> list[dict]:
        return [payload for p, payload in self.posts if p == path]


@pytest.fixture
def webhook():
    hook = Webhook()
    hook.thread.start()
    yield hook
    hook.server.shutdown()
    hook.server.server_close()


@pytest.fixture(autouse=True)
def _no_env_channels(monkeypatch):
    monkeypatch.delenv("KEITRUCKS_NOTIFY_URLS", raising=False)


def _item(truck, night: int, as_of: str, price: int | None = None) -> dict:
    state = truck.nights[night]
    price = state.price if price is None else price
    basis = {"craigslist": "asking", "beforward": "fob"}.get(truck.source)
    if truck.source == "bringatrailer":
        basis = {"sold": "sold", "ended": "bid_to"}.get(state.status, "bid")
    km = truck.mileage_unit == "km" and truck.mileage is not None
    eligible = normalize_eligibility(truck.year, None, "model_year", parse_scraped_at(as_of))
    item = {
        "source": truck.source,
        "listing_id": truck.listing_id,
        "scraped_at": as_of,
        "url": f"https://sample.test/{truck.source}/{truck.listing_id}",
        "title": truck.title,
        "kind": truck.kind,
        "make": truck.make,
        "model": truck.model,
        "model_code": truck.model_code.split("-", 1)[-1] if truck.model_code else None,
        "year": truck.year,
        "is_4wd": truck.is_4wd,
        "mileage_mi": round(truck.mileage * 0.621371) if km else truck.mileage,
        "price": price,
        "currency": "USD" if price else None,
        "price_usd": price,
        "price_basis": basis if price else None,
        "status": state.status,
        "location_raw": truck.location,
        "latitude": truck.latitude,
        "longitude": truck.longitude,
        "repost_of": truck.repost_of,
        "eligible_25y": eligible.eligible_25y,
        # the truth of the messy market, as the normalizer reads it from the pages
        "title_status": truck.title_status,
        "runs": False if truck.junk_reason == "not_running" else None,
        "sale_pending": True if truck.junk_reason == "pending" else None,
    }
    return LANDED.process_item(item)  # fills landed_usd of FOB prices, as the crawl does


def crawl_night(db_path: Path, night: int, *, day: str | None = None, prices=None, blocked=()):
    """Store one catalog night as healthy runs of every source (``blocked`` sources fail), and
    record the health check's verdicts on them."""
    as_of = f"{day or NIGHTS[night]}T06:00:00+00:00"
    db = open_db(db_path)
    for source in SOURCES:
        run = start_run(db, source, search_key="all", as_of=as_of, started_at=as_of)
        if source in blocked:
            stats = {"keitrucks/blocked": "HTTP 403"}
            verdict = judge_run({"status": "blocked", "stats": stats}, [])
            finish_run(
                db,
                run,
                finished_at=as_of,
                finish_reason="blocked",
                verdict=verdict,
                stats=stats,
                items=0,
                coverage={},
            )
            continue
        trucks = listings_on(CATALOG, source, night)
        items = [_item(t, night, as_of, (prices or {}).get(t.key)) for t in trucks]
        save_listings(db, items, run_id=run, seen_at=as_of, search_key="all")
        gone = mark_gone(db, source=source, search_key="all", run_id=run, at=as_of)
        finish_run(
            db,
            run,
            finished_at=as_of,
            finish_reason="finished",
            verdict=RunVerdict(True, True, "ok"),
            stats={},
            items=len(items),
            coverage={},
            gone_marked=gone,
        )
    db.close()
    # the night's health check records a verdict per run, which the unhealthy-source rule reads
    check_health(db_path, SOURCES, rules=HealthRules(), checked_at=as_of)


def config(*urls: str, **alerts) -> dict:
    cfg = load_config(None)
    cfg["notify"]["urls"] = list(urls)
    cfg["alerts"].update(alerts)
    return cfg


def alert_rows(db_path: Path, kind: str | None = None) -> list[dict]:
    where = "WHERE kind = ?" if kind else ""
    return rows(db_path, f"SELECT * FROM alerts {where} ORDER BY id", (kind,) if kind else ())


def _key(truck) -> str:
    return f"{truck.source}:{truck.listing_id}"


STEAL_1 = next(t for t in CATALOG if t.key == "cl-steal-1")


def test_three_nights_each_underpriced_truck_alerts_exactly_once(tmp_path, webhook):
    db, cfg = tmp_path / "k.db", config(webhook.url("/ok"))
    raised, nights_with_alerts = [], 0
    for night, day in enumerate(NIGHTS):
        crawl_night(db, night)
        run = run_alerts(db, as_of=day, config=cfg, digest_dir=tmp_path / "digest")
        assert run.failed == 0
        assert run.digest_path == tmp_path / "digest" / f"alerts-{day}.md"
        raised += run.raised
        nights_with_alerts += bool(run.raised)
    under = [a for a in raised if a["kind"] == "underpriced_4wd"]
    identities = [a["identity"] for a in under]
    assert len(identities) == len(set(identities))
    assert set(identities) >= TAGGED
    for alert in under:
        assert alert["is_4wd"] is True
        assert alert["source"] != "bringatrailer"  # sold prices and live bids never alert
    # what was raised is what is recorded and what the webhook received: one digest a night
    stored = alert_rows(db, "underpriced_4wd")
    assert [r["identity"] for r in stored] == identities
    assert {r["status"] for r in stored} == {"sent"}
    messages = webhook.messages("/ok")
    assert len(messages) == nights_with_alerts
    steal = next(a for a in under if a["listing_id"] == STEAL_1.listing_id)
    text = "\n".join(m["message"] for m in messages)
    assert steal["reason"] in text
    assert f"${STEAL_1.nights[1].price:,}" in text
    assert f"https://sample.test/craigslist/{STEAL_1.listing_id}" in text
    digest = (tmp_path / "digest" / f"alerts-{NIGHTS[1]}.md").read_text(encoding="utf-8")
    assert STEAL_1.title in digest


def test_exporter_trucks_alert_on_landed_cost_only_when_importable(tmp_path):
    db, cfg = tmp_path / "k.db", config()
    raised, echoed = [], []
    for night, day in enumerate(NIGHTS):
        crawl_night(db, night)
        raised += run_alerts(
            db, as_of=day, config=cfg, digest_dir=tmp_path / "digest", echo=echoed.append
        ).raised
    stored = {(r["source"], r["listing_id"]): r for r in rows(db, "SELECT * FROM listings")}
    exporters = [a for a in raised if a["source"] == "beforward"]
    assert exporters
    digests = "".join(p.read_text(encoding="utf-8") for p in (tmp_path / "digest").iterdir())
    for alert in exporters:
        truck = stored[("beforward", alert["listing_id"])]
        assert truck["eligible_25y"] == 1
        assert alert["price_usd"] == truck["price_usd"]
        assert (
            f", landed in the US ≈ ${truck['landed_usd']:,} "
            f"(Japan FOB ${truck['price_usd']:,}) vs fair US asking $"
        ) in alert["reason"]
        assert alert["reason"].startswith("runs: ")
        # the FOB price is never a bare dollar figure beside US asking prices: the digest (read
        # back from the alerts table) and the console line both say what it is
        fob = f"Japan FOB ${truck['price_usd']:,}"
        assert f"  {fob} · {alert['year']} " in digests
        assert f"beforward:{alert['listing_id']} {fob}: " in "\n".join(echoed)
    # a cheap FOB price of a truck under 25 years old is no alert for a US buyer
    young = [k for k, r in stored.items() if k[0] == "beforward" and r["eligible_25y"] == 0]
    assert young
    assert not {("beforward", a["listing_id"]) for a in exporters} & set(young)


def test_a_further_drop_alerts_again_a_small_one_does_not(tmp_path, webhook):
    db, cfg = tmp_path / "k.db", config(webhook.url("/ok"))
    for night, day in enumerate(NIGHTS):
        crawl_night(db, night)
        run_alerts(db, as_of=day, config=cfg)
    first = STEAL_1.nights[2].price
    crawl_night(db, 2, day="2026-11-27", prices={STEAL_1.key: first - 100})
    small = run_alerts(db, as_of="2026-11-27", config=cfg)
    assert _key(STEAL_1) not in {a["identity"] for a in small.raised}
    crawl_night(db, 2, day="2026-11-28", prices={STEAL_1.key: first - 400})
    again = run_alerts(db, as_of="2026-11-28", config=cfg)
    refired = [a for a in again.raised if a["identity"] == _key(STEAL_1)]
    assert [(a["kind"], a["price_usd"]) for a in refired] == [("underpriced_4wd", first - 400)]
    assert refired[0]["reason"].endswith(f"down a further $400 since the alert at ${first:,}")
    prices = [
        r["price_usd"] for r in alert_rows(db, "underpriced_4wd") if r["identity"] == _key(STEAL_1)
    ]
    assert prices == [first, first - 400]


def test_a_failing_channel_is_retried_the_next_night_without_duplicates(tmp_path, webhook):
    db = tmp_path / "k.db"
    cfg = config(webhook.url("/good"), webhook.url("/flaky"))
    webhook.failing.add("/flaky")
    crawl_night(db, 0)
    crawl_night(db, 1)
    night2 = run_alerts(db, as_of=NIGHTS[1], config=cfg)
    assert night2.raised
    assert (night2.sent, night2.failed, night2.retried) == (
        len(night2.raised),
        len(night2.raised),
        0,
    )
    failed = [r for r in alert_rows(db) if r["status"] == "failed"]
    assert len(failed) == len(night2.raised)
    assert all(r["error"] and "500" in r["error"] for r in failed)

    webhook.failing.clear()
    crawl_night(db, 2)
    night3 = run_alerts(db, as_of=NIGHTS[2], config=cfg)
    assert night3.retried == len(night2.raised)
    assert night3.failed == 0
    assert {r["status"] for r in alert_rows(db)} == {"sent"}
    good, flaky = webhook.messages("/good"), webhook.messages("/flaky")
    assert len(good) == 2
    assert len(flaky) == 1  # one digest: last night's alerts resent with tonight's
    every = [a["identity"] for a in night2.raised + night3.raised]
    for identity in every:
        listing_id = identity.split(":", 1)[1]
        assert sum(listing_id in m["message"] for m in good) == 1
        assert sum(listing_id in m["message"] for m in flaky) == 1
    assert "resent" in flaky[0]["title"]


def test_dry_run_sends_records_and_writes_nothing(tmp_path, webhook):
    db, cfg = tmp_path / "k.db", config(webhook.url("/ok"))
    crawl_night(db, 0)
    crawl_night(db, 1)
    lines: list[str] = []
    dry = run_alerts(
        db,
        as_of=NIGHTS[1],
        config=cfg,
        dry_run=True,
        digest_dir=tmp_path / "digest",
        echo=lines.append,
    )
    assert dry.raised
    assert (dry.sent, dry.failed, dry.digest_path) == (0, 0, None)
    assert webhook.posts == []
    assert alert_rows(db) == []
    assert not (tmp_path / "digest").exists()
    assert sum(line.startswith("would raise ") for line in lines) == len(dry.raised)
    real = run_alerts(db, as_of=NIGHTS[1], config=cfg)
    assert real.raised == dry.raised
    assert len(webhook.posts) == 1


def test_dry_run_does_not_retry_failed_sends(tmp_path, webhook):
    db, cfg = tmp_path / "k.db", config(webhook.url("/flaky"))
    webhook.failing.add("/flaky")
    crawl_night(db, 0)
    crawl_night(db, 1)
    run_alerts(db, as_of=NIGHTS[1], config=cfg)
    webhook.failing.clear()
    run_alerts(db, as_of=NIGHTS[2], config=cfg, dry_run=True)
    assert webhook.posts == []
    assert {r["status"] for r in alert_rows(db)} == {"failed"}


def test_rerunning_a_night_raises_nothing_new(tmp_path, webhook):
    db, cfg = tmp_path / "k.db", config(webhook.url("/ok"))
    crawl_night(db, 0)
    first = run_alerts(db, as_of=NIGHTS[0], config=cfg, digest_dir=tmp_path)
    again = run_alerts(db, as_of=NIGHTS[0], config=cfg, digest_dir=tmp_path)
    assert first.raised
    assert again.raised == []
    assert len(webhook.posts) == 1
    # the digest file still lists the night's alerts after the second run
    digest = (tmp_path / f"alerts-{NIGHTS[0]}.md").read_text(encoding="utf-8")
    assert digest.count("**Underpriced 4WD**") == len(first.raised)


def test_daily_cap_holds_the_rest_for_the_next_night(tmp_path, webhook):
    db, cfg = tmp_path / "k.db", config(webhook.url("/ok"), daily_cap=1)
    crawl_night(db, 0)
    crawl_night(db, 1)
    uncapped = run_alerts(db, as_of=NIGHTS[1], config=config(), dry_run=True)
    assert len(uncapped.raised) >= 2
    first = run_alerts(db, as_of=NIGHTS[1], config=cfg)
    assert (len(first.raised), first.deferred) == (1, len(uncapped.raised) - 1)
    assert first.raised[0] == uncapped.raised[0]  # the best deal goes first
    assert run_alerts(db, as_of=NIGHTS[1], config=cfg).raised == []  # the cap is per night
    nxt = run_alerts(db, as_of=NIGHTS[2], config=cfg)
    assert nxt.raised[0]["identity"] == uncapped.raised[1]["identity"]


def test_immediate_mode_sends_one_message_per_alert(tmp_path, webhook):
    db = tmp_path / "k.db"
    cfg = config(webhook.url("/ok"))
    cfg["notify"]["mode"] = "immediate"
    crawl_night(db, 0)
    crawl_night(db, 1)
    run = run_alerts(db, as_of=NIGHTS[1], config=cfg)
    assert len(run.raised) >= 2
    messages = webhook.messages("/ok")
    assert len(messages) == len(run.raised)
    assert all(m["title"].startswith("Kei truck alert: ") for m in messages)


def test_unhealthy_source_alerts_once_per_run(tmp_path, webhook):
    db, cfg = tmp_path / "k.db", config(webhook.url("/ok"))
    crawl_night(db, 0)
    crawl_night(db, 1, blocked=("beforward",))
    run = run_alerts(db, as_of=NIGHTS[1], config=cfg)
    health = [a for a in run.raised if a["kind"] == "source_unhealthy"]
    assert [a["source"] for a in health] == ["beforward"]
    assert health[0]["reason"] == "beforward: blocked (HTTP 403); nothing marked gone"
    assert run.raised[0]["kind"] == "source_unhealthy"
    assert run_alerts(db, as_of=NIGHTS[1], config=cfg).raised == []


def test_pending_rows_left_by_a_crash_are_delivered_next_run(tmp_path, webhook):
    db, cfg = tmp_path / "k.db", config(webhook.url("/ok"))
    crawl_night(db, 0)
    assert run_alerts(db, as_of=NIGHTS[0], config=cfg).raised
    channel = alert_rows(db)[0]["channel"]
    with alert_store.alert_db(db) as conn:  # as if killed between recording and sending
        alert_store.record_alerts(
            conn,
            [
                {
                    "kind": "new_match",
                    "identity": "x:1",
                    "source": "craigslist",
                    "listing_id": "1",
                    "price_usd": 5000,
                    "reason": "matches your search 'w'",
                }
            ],
            [channel],
            created_at=alert_store.night_stamp(dt.date(2026, 11, 24)),
        )
    run = run_alerts(db, as_of=NIGHTS[0], config=cfg)
    assert (run.raised, run.retried, run.sent) == ([], 1, 1)
    assert "matches your search" in webhook.messages("/ok")[-1]["message"]


def test_without_channels_nothing_is_sent_and_console_table_and_digest_agree(tmp_path, caplog):
    db = tmp_path / "k.db"
    crawl_night(db, 0)
    crawl_night(db, 1)
    lines: list[str] = []
    with caplog.at_level(logging.INFO, logger="analysis.alerts"):
        run = run_alerts(
            db, as_of=NIGHTS[1], config=config(), echo=lines.append, digest_dir=tmp_path / "d"
        )
    assert run.raised
    assert (run.sent, run.failed, run.channels) == (0, 0, 0)
    # the table says what the console says: recorded on no real channel, sent nowhere
    stored = alert_rows(db)
    assert {(r["channel"], r["status"], r["sent_at"]) for r in stored} == {
        ("local", "not_sent", None)
    }
    assert len(stored) == len(run.raised)
    assert lines[-1].startswith(
        f"alerts {NIGHTS[1]}: {len(run.raised)} raised, 0 held by the daily cap, "
        "sent nowhere (no notification channel configured)"
    )
    assert not any("delivered" in line for line in lines)
    # and a WARNING, for the console, says how to set a channel up
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.startswith(
        f"no notification channel configured: {len(run.raised)} alert(s) printed here"
    )
    assert "nothing sent anywhere" in warning
    assert "[notify] urls" in warning
    assert "$KEITRUCKS_NOTIFY_URLS" in warning
    digest = (tmp_path / "d" / f"alerts-{NIGHTS[1]}.md").read_text(encoding="utf-8")
    assert digest.count("Delivery: not sent anywhere (no notification channel configured)") == (
        len(run.raised)
    )
    assert " sent" not in digest.replace("not sent anywhere", "")
    # never retried once a channel is set: those alerts were owed to no channel
    assert alert_store.read_undelivered(sqlite3.connect(db), ["json#x"]) == []


@pytest.mark.parametrize(
    ("as_of", "warning"),
    [
        ("2026-11-24", None),
        ("2026-11-25", None),  # the next morning: the night's crawl is the last one
        (
            "2026-12-03",
            "no crawl since 2026-11-24 (9 days before 2026-12-03): these alerts read the listings "
            "as last seen then; run `keitrucks nightly` (or `keitrucks crawl`) for tonight's",
        ),
        ("2026-11-20", "no crawl on or before 2026-11-20: there are no listings to alert on"),
    ],
)
def test_alerts_of_a_night_without_a_crawl_say_so(tmp_path, caplog, as_of, warning):
    db = tmp_path / "k.db"
    crawl_night(db, 0)
    with caplog.at_level(logging.WARNING, logger="analysis.alerts"):
        run_alerts(db, as_of=as_of, config=config(), dry_run=True)
    said = [r.getMessage() for r in caplog.records if "crawl" in r.getMessage()]
    assert said == ([warning] if warning else [])


def test_with_a_channel_there_is_no_local_only_warning(tmp_path, webhook, caplog):
    db = tmp_path / "k.db"
    crawl_night(db, 0)
    lines: list[str] = []
    with caplog.at_level(logging.WARNING, logger="analysis.alerts"):
        run = run_alerts(db, as_of=NIGHTS[0], config=config(webhook.url("/ok")), echo=lines.append)
    assert run.raised
    assert run.channels == 1
    assert run.sent == len(run.raised)
    assert {r["status"] for r in alert_rows(db)} == {"sent"}
    assert f"{run.sent} delivered, 0 failed, 0 retried" in lines[-1]
    assert not [r for r in caplog.records if "no notification channel" in r.getMessage()]


def test_a_night_with_nothing_to_send_says_nothing_of_channels(tmp_path, caplog):
    """ "no notification channel configured: 0 alert(s) printed here": a warning about
    delivery on a night that had nothing to deliver."""
    db = tmp_path / "k.db"
    crawl_night(db, 0)
    run_alerts(db, as_of=NIGHTS[0], config=config())  # raises the night's alerts
    caplog.clear()
    lines: list[str] = []
    with caplog.at_level(logging.WARNING, logger="analysis.alerts"):
        again = run_alerts(db, as_of=NIGHTS[0], config=config(), echo=lines.append)
    assert again.raised == []
    assert lines == [f"alerts {NIGHTS[0]}: 0 raised, 0 held by the daily cap"]
    assert not [r for r in caplog.records if "channel" in r.getMessage()]


def test_a_digest_folder_that_cannot_be_written_stops_before_any_alert_is_recorded(tmp_path):
    """The digest failed after the alerts were recorded: the next run raised none of them
    (each truck is announced once), so the buyer never read them anywhere."""
    db = tmp_path / "k.db"
    crawl_night(db, 0)
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(NotADirectoryError, match="a-file"):
        run_alerts(db, as_of=NIGHTS[0], config=config(), digest_dir=tmp_path / "a-file" / "d")
    assert alert_rows(db) == []
    run = run_alerts(db, as_of=NIGHTS[0], config=config(), digest_dir=tmp_path / "d")
    assert run.raised
    assert [p.name for p in (tmp_path / "d").iterdir()] == [f"alerts-{NIGHTS[0]}.md"]


def test_local_rows_an_older_version_stored_as_sent_read_as_not_sent(tmp_path):
    db = tmp_path / "k.db"
    crawl_night(db, 0)
    with alert_store.alert_db(db) as conn:
        alert_store.record_alerts(
            conn,
            [{"kind": "new_match", "identity": "x:1", "source": "craigslist", "listing_id": "1"}],
            ["local"],
            created_at=alert_store.night_stamp(dt.date(2026, 11, 24)),
            status="sent",
            sent_at="2026-11-24T07:00:00+00:00",
        )
    with alert_store.alert_db(db):
        pass
    assert [(r["status"], r["sent_at"]) for r in alert_rows(db)] == [("not_sent", None)]


def test_channels_from_the_environment_and_no_secret_in_logs_or_table(
    tmp_path, webhook, monkeypatch, caplog
):
    token = "hunter2-t0ken"
    monkeypatch.setenv("KEITRUCKS_NOTIFY_URLS", f"{webhook.url('/ok')}, {webhook.url('/' + token)}")
    webhook.failing.add("/" + token)
    db = tmp_path / "k.db"
    crawl_night(db, 0)
    with caplog.at_level("DEBUG"):
        run = run_alerts(db, as_of=NIGHTS[0], config=config())
    assert run.failed == len(run.raised)
    assert len(webhook.messages("/ok")) == 1
    assert caplog.records
    assert all(token not in r.getMessage() for r in caplog.records)
    stored = json.dumps(alert_rows(db))
    assert token not in stored
    assert '"channel": "json#' in stored


# -- the command --------------------------------------------------------------------------------


def test_cli_help_and_user_errors(tmp_path):
    runner = CliRunner()
    result = runner.invoke(alerts_command, ["--help"])
    assert result.exit_code == 0
    assert "--dry-run" in result.output
    assert "Apprise" in result.output
    missing = runner.invoke(alerts_command, ["--db", str(tmp_path / "none.db")])
    assert missing.exit_code == 4  # a database problem
    assert "no database" in missing.output
    crawl_night(tmp_path / "k.db", 0)
    bad_date = runner.invoke(alerts_command, ["--db", str(tmp_path / "k.db"), "--as-of", "soon"])
    assert bad_date.exit_code == 2
    bad_config = tmp_path / "bad.toml"
    bad_config.write_text('[notify]\nmode = "hourly"\n', encoding="utf-8")
    result = runner.invoke(
        alerts_command, ["--db", str(tmp_path / "k.db"), "--config", str(bad_config)]
    )
    assert result.exit_code == 3  # bad configuration
    assert "mode: must be 'digest' or 'immediate'" in result.output


def test_cli_dry_run_then_real_run(tmp_path, monkeypatch):
    db = tmp_path / "k.db"
    crawl_night(db, 0)
    runner = CliRunner()
    args = ["--db", str(db), "--as-of", NIGHTS[0]]
    dry = runner.invoke(alerts_command, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would raise underpriced_4wd" in dry.output
    assert alert_rows(db) == []
    real = runner.invoke(alerts_command, args)
    assert real.exit_code == 0, real.output
    assert (tmp_path / "reports" / "alerts" / f"alerts-{NIGHTS[0]}.md").is_file()
    assert len(alert_rows(db)) == dry.output.count("would raise ")


# -- the buyer's state --------------------------------------------------------------------------


def _alerts_for(tmp_path, state, **alerts):
    db, cfg = tmp_path / f"{state}.db", config(**alerts)
    cfg["buyer"]["state"] = state
    crawl_night(db, 0)
    crawl_night(db, 1)
    return cfg, run_alerts(db, as_of=NIGHTS[1], config=cfg, dry_run=True).raised


def test_a_buyer_in_georgia_reads_on_each_truck_that_georgia_gives_no_road_registration(
    tmp_path,
):
    _, raised = _alerts_for(tmp_path, "GA")
    under = [a for a in raised if a["kind"] == "underpriced_4wd"]
    assert under
    for alert in under:
        assert (
            "your state GA: no road registration: off-road or private property only"
            in (alert["reason"])
        )
        assert "check with your state DMV before buying" in alert["reason"]


def test_a_buyer_in_tennessee_reads_tennessees_rule(tmp_path):
    _, raised = _alerts_for(tmp_path, "TN")
    under = [a for a in raised if a["kind"] == "underpriced_4wd"]
    assert under
    assert all("your state TN: can be plated only in a special class" in a["reason"] for a in under)
    # with its source, to check: the rule's own page, as the report links it
    source = states.state_rules()["TN"].source_url
    assert source.startswith("https://")
    assert all(
        a["reason"].endswith(f"check with your state DMV before buying (rule source: {source})")
        for a in under
    )


def test_requiring_a_registrable_state_raises_nothing_for_georgia(tmp_path):
    wanted = ["registrable", "registrable_restricted"]
    _, georgia = _alerts_for(tmp_path, "GA", road_status=wanted)
    assert not [a for a in georgia if a["kind"] == "underpriced_4wd"]
    _, tennessee = _alerts_for(tmp_path, "TN", road_status=wanted)
    assert [a for a in tennessee if a["kind"] == "underpriced_4wd"]


def test_a_watched_search_that_requires_a_registrable_state_is_silent_in_georgia(tmp_path):
    watch = [{"name": "any Acty", "model": "Acty", "road_status": ["registrable_restricted"]}]
    _, georgia = _alerts_for(tmp_path, "GA", watch=watch)
    assert not [a for a in georgia if a["kind"] in ("new_match", "price_drop")]
    _, tennessee = _alerts_for(tmp_path, "TN", watch=watch)
    assert [a for a in tennessee if a["kind"] == "new_match"]

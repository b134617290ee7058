"""Every fault against every source: the table of issue #20.

For each of the eight sources, night 1 of the sample is crawled cleanly (the baseline), then night
3 cleanly (the yardstick: it marks listings gone) and then once per entry of :data:`FAULTS`, each
from a copy of the baseline. The faulted page is the second one the clean crawl asked for (so the
run usually has listings in hand when the fault hits; faults grouped in one crawl take the
third, fourth ... page), except the layout change, which renames the markup of the first (the
source's entry page) so it shows no rows.

Every row must hold: nothing lost, nothing falsely marked gone, no alert twice or invented; a
fault the crawl recovers from ends exactly as the clean night, any other ends not healthy.
``bench/faults.py`` runs this module and prints the table (rows go to ``$KEITRUCKS_FAULT_TABLE``).

A source's eleven crawls run one after the other in one Scrapy process (``tests.crawl_worker``),
each on the exact settings and arguments ``run_crawl`` would give its own process: starting
Scrapy once per source instead of once per crawl is most of what this module used to cost.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

from analysis.alerts import run_alerts
from keitrucks.sample.catalog import NIGHTS
from keitrucks.sample.render_dealer_jsonld import dealers_toml
from keitrucks.sample.site import SampleServer, normalize_target
from tests.conftest import rows as db_rows
from tests.crawl_worker import CrawlWorker
from tests.test_faults_crawl import CONFIG, FAULT_NIGHT, SETTINGS, Night, _copy, _night
from tests.test_faults_crawl import _source_state as source_state

pytestmark = pytest.mark.slow

SOURCES = (
    "craigslist",
    "ebay",
    "bringatrailer",
    "beforward",
    "sbtjapan",
    "carfromjapan",
    "tcv",
    "dealer_jsonld",
)
#: fault id -> SampleServer.fault kwargs, one per page faulted in the same crawl ("swapped": json
#: or html by the page's type; None: the layout change). Faults that neither stop the source nor
#: let it recover share one crawl, each on its own page. Only "503-once" must be recovered from.
FAULTS = {
    "429": [{"kind": "status", "status": 429}],
    "429-retry-after": [{"kind": "status", "status": 429, "headers": {"Retry-After": "3600"}}],
    "503-once": [{"kind": "status", "status": 503, "times": 1}],
    "503+timeout+reset+truncated": [
        {"kind": "status", "status": 503},
        {"kind": "slow", "delay": 8.0},
        {"kind": "reset"},
        {"kind": "truncate"},
    ],
    "garbage": [{"kind": "garbage"}],
    "challenge": [{"kind": "challenge"}],
    "login-redirect": [{"kind": "login_redirect"}],
    "json-html-swapped": [{"kind": "swapped"}],
    "layout-0-rows": [None],
}
#: source -> (page, edits) for a source whose entry page is not the one to empty, or whose rows
#: renaming the markup leaves readable (Bring a Trailer's are JSON in a script).
LAYOUT = {"bringatrailer": ("/bringatrailer/www/suzuki/carry/", (('"items":', '"auctions":'),))}
RECOVERS = {"503-once"}


@dataclass
class Row:
    source: str
    fault: str
    target: str
    outcome: str
    kept: int
    lost: int
    false_gone: int
    duplicate_alerts: int
    seconds: float
    #: faulted pages the crawl never asked for (the fault was not played): must be 0.
    unplayed: int


def relabel(body: bytes, content_type: str) -> bytes:
    """The page after a redesign: every class, id, ``data-`` attribute and JSON key renamed,
    and JSON-LD no longer marked as such."""
    if "json" in content_type:

        def rename(value):
            if isinstance(value, dict):
                return {f"v2_{k}": rename(v) for k, v in value.items()}
            if isinstance(value, list):
                return [rename(v) for v in value]
            return value

        return json.dumps(rename(json.loads(body))).encode()
    text = body.decode("utf-8")
    text = re.sub(
        r'(?<=\s)(class|id)="([^"]*)"',
        lambda m: f'{m[1]}="v2-' + m[2].replace(" ", " v2-") + '"',
        text,
    )
    text = re.sub(r"\bdata-", "data-v2-", text)
    return text.replace('type="application/ld+json"', 'type="application/x-v2+json"').encode()


class Matrix:
    """One source's baseline, clean night and faulted nights on one sample server."""

    def __init__(self, server: SampleServer, worker: CrawlWorker, source: str, folder: Path):
        self.server, self.worker, self.source, self.folder = server, worker, source, folder
        self.config = folder / "keitrucks.toml"
        self.config.write_text(dealers_toml(), encoding="utf-8")
        self.baseline = folder / "night1.db"
        server.night = 1
        self._crawl(self.baseline, NIGHTS[0])
        run_alerts(self.baseline, as_of=NIGHTS[0], config=CONFIG)
        #: each listing as known before the night: (title, price as shown, status)
        self.known_before = {
            r["listing_id"]: (r["title"], r["price_raw"], r["status"])
            for r in db_rows(self.baseline, "SELECT * FROM listings WHERE source = ?", [source])
        }
        start = len(server.requests)
        self.clean, _ = self.night("clean")
        asked = [normalize_target(p) for p in server.requests[start:]]
        self.targets = [
            t for t in dict.fromkeys(asked) if t.startswith(f"/{source}/") and "robots" not in t
        ]

    def _crawl(self, db: Path, as_of: str):
        result = self.worker.crawl(
            self.source,
            db=db,
            base_url=self.server.base_url,
            as_of=as_of,
            settings=SETTINGS,
            config=self.config,
            log_path=db.with_suffix(".log"),
            timeout=120,
        )
        assert result.returncode == 0, result.stderr_tail
        return result

    def night(self, name: str) -> tuple[Night, float]:
        db = _copy(self.baseline, self.folder / f"{name}.db")
        before = source_state(db, self.source)
        self.server.night = FAULT_NIGHT + 1
        start = time.monotonic()
        result = self._crawl(db, NIGHTS[FAULT_NIGHT])
        return _night(db, self.source, result, before), time.monotonic() - start

    def faulted(self, fault: str) -> tuple[Row, Night]:
        server = self.server
        server.faults.clear()
        server.overrides.clear()
        server.night = FAULT_NIGHT + 1
        pages = []
        for n, spec in enumerate(FAULTS[fault]):
            if spec is None:
                target, edits = LAYOUT.get(self.source, (self.targets[0], ()))
            else:
                target, edits = self.targets[min(n + 1, len(self.targets) - 1)], ()
            _, content_type, body, _ = server.answer(target)
            if spec is None:
                text = relabel(body, content_type).decode("utf-8")
                for old, new in edits:
                    text = text.replace(old, new)
                server.override(target, body=text.encode(), content_type=content_type)
            elif spec["kind"] == "swapped":
                server.fault(target, "html" if "json" in content_type else "json")
            else:
                server.fault(target, **spec)
            pages.append(target)
        hits = {page: server.hits(page) for page in pages}
        try:
            night, seconds = self.night(fault)
        finally:
            server.faults.clear()
            server.overrides.clear()
        extra_gone = night.newly_gone - (self.clean.newly_gone if fault in RECOVERS else set())
        return Row(
            self.source,
            fault,
            " ".join(pages),
            night.line,
            len(night.stored),
            night.lost,
            len(extra_gone) + (0 if fault in RECOVERS else night.run["gone_marked"]),
            night.duplicate_alerts,
            round(seconds, 1),
            sum(server.hits(page) == n for page, n in hits.items()),
        ), night


@pytest.mark.parametrize("source", SOURCES)
def test_every_fault_against_every_source(source, tmp_path):
    with SampleServer() as server, CrawlWorker(tmp_path / "worker.stderr") as worker:
        matrix = Matrix(server, worker, source, tmp_path)
        clean = matrix.clean
        assert (clean.run["complete"], clean.run["healthy"]) == (1, 1), clean.line
        rows, broken = [], []
        for fault in FAULTS:
            row, night = matrix.faulted(fault)
            rows.append(row)
            listing_alerts = {a for a in night.alerts if a[0] != "source_unhealthy"}
            healthy = (night.run["complete"], night.run["healthy"]) == (1, 1)
            checks = {
                # every faulted page was asked for; where several pages are faulted at once,
                # one failing page can hide the pages found through it (which depends on the
                # order of requests), so there at least one was asked for and the run failed
                "played": row.unplayed == 0
                if len(FAULTS[fault]) == 1
                else row.unplayed < len(FAULTS[fault]) and not healthy,
                "lost": row.lost == 0,
                "false gone": row.false_gone == 0,
                "duplicate alerts": row.duplicate_alerts == 0,
                "invented alerts": listing_alerts <= clean.alerts,
                # a listing stored holds what a clean night reads of it, or what was known of
                # it before (a re-priced car whose page the fault kept unread), never a third
                "changed listings": all(
                    v in (clean.stored.get(i), matrix.known_before.get(i))
                    for i, v in night.stored.items()
                ),
                "health": healthy == (fault in RECOVERS),
            }
            if fault in RECOVERS:
                checks["as clean"] = night.stored == clean.stored
            broken += [f"{fault}: {name} ({row.outcome})" for name, ok in checks.items() if not ok]
    table = os.environ.get("KEITRUCKS_FAULT_TABLE")
    if table:
        Path(table).mkdir(parents=True, exist_ok=True)
        text = json.dumps([asdict(r) for r in rows], indent=1)
        (Path(table) / f"{source}.json").write_text(text, encoding="utf-8")
    assert broken == []

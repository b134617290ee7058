"""Months of market on the bundled sample marketplace, then the whole night three times:
offline and reproducible.

The demo first crawls the weekly nights of the sample's history
(:data:`keitrucks.sample.catalog.HISTORY`) in one Scrapy process (``keitrucks.demo_crawl``),
then the three nights of :data:`~keitrucks.sample.catalog.NIGHTS` as a real night runs them
(one crawl per source, then the report, the health check and the alerts). The pages of every
night are rendered in memory from :func:`keitrucks.sample.history.history_catalog`.
"""

from __future__ import annotations

import json
import logging
import shlex
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.load import read_listings
from keitrucks.common_cli import command_for
from keitrucks.core.dates import normalize_as_of
from keitrucks.crawl import CrawlResult, crawl_env, failure_line
from keitrucks.night import NightResult, SourceOutcome, describe, finish_night
from keitrucks.sample.build import render_night, sample_config_toml
from keitrucks.sample.catalog import HISTORY, NIGHTS, SOURCES
from keitrucks.sample.history import history_catalog
from keitrucks.sample.site import SampleServer
from pipelines.listings import count_summary
from pipelines.manual import add_listing
from pipelines.runs import last_run_id, read_runs_after
from pipelines.schema import open_db

logger = logging.getLogger(__name__)

#: Why a stored listing is kept out of deal scoring, first match wins: (words, column, test on
#: the column's values). Columns a database lacks (an older normalizer) set nothing aside.
SET_ASIDE = (
    ("parts", "kind", lambda v: v.eq("parts")),
    ("wanted", "kind", lambda v: v.eq("wanted")),
    ("not kei", "kind", lambda v: v.isin(("other_vehicle", "toy"))),
    ("not running", "runs", lambda v: v.eq(0)),
    ("title problems", "title_status", lambda v: v.notna() & v.ne("clean")),
    ("pending", "sale_pending", lambda v: v.eq(1)),
)


def set_aside(listings: pd.DataFrame) -> dict[str, int]:
    """How many stored listings each reason of :data:`SET_ASIDE` keeps out of deal scoring."""
    left = pd.Series(True, index=listings.index)
    counts: dict[str, int] = {}
    for words, column, test in SET_ASIDE:
        if column not in listings.columns:
            continue
        hit = left & test(listings[column].astype("object")).astype(bool)
        if hit.any():
            counts[words] = int(hit.sum())
        left &= ~hit
    return counts


def set_aside_text(counts: dict[str, int]) -> str:
    """ "7 (4 parts, 3 not running)", or "none" when nothing is set aside."""
    if not counts:
        return "none"
    detail = ", ".join(f"{n} {words}" for words, n in counts.items())
    return f"{sum(counts.values())} ({detail})"


@dataclass
class DemoSummary:
    db: Path
    out: Path
    nights: list[NightResult] = field(default_factory=list)
    totals: dict[str, Any] = field(default_factory=dict)
    #: listings kept out of deal scoring, by reason (:func:`set_aside`).
    set_aside: dict[str, int] = field(default_factory=dict)
    #: the truck the demo tracked by hand (:func:`track_demo_truck`), in words.
    by_hand: str = ""
    #: why the demo's crawl process failed; None when it did not.
    crawl_error: str | None = None

    @property
    def ok(self) -> bool:
        return (
            self.crawl_error is None
            and len(self.nights) == len(NIGHTS)
            and all(n.ok for n in self.nights)
        )

    def text(self, seconds: float, command: Callable[[str], str] = command_for) -> str:
        """The closing summary; ``command(name)`` is how the user types an installed program
        (``keitrucks``, ``sqlite-utils``), which may not be on their PATH."""
        t = self.totals
        db = shlex.quote(str(self.db))
        lines = [
            "",
            f"Demo finished in {seconds:.0f}s: {len(HISTORY)} weeks of history and "
            f"{len(self.nights)} nights, {t.get('sources', 0)} sources.",
            f"  listings         {t.get('listings', 0)} ({t.get('trucks', 0)} kei trucks)",
            f"  for sale         {t.get('for_sale', 0)} at a US price (US asking, or landed "
            f"cost when importable), of {t.get('active_trucks', 0)} active kei truck listings",
            f"  price changes    {t.get('price_changes', 0)}",
            f"  gone             {t.get('gone', 0)}",
            f"  relisted         {t.get('relisted', 0)}",
            f"  set aside        {set_aside_text(self.set_aside)} from deal scoring",
            *([f"  tracked by hand  {self.by_hand}"] if self.by_hand else []),
            f"  alerts           {t.get('alerts', 0)}",
            f"  database         {self.db}",
            f"  reports          {self.nights[-1].report_folder if self.nights else self.out}",
            "Explore it:",
            f"  {command('keitrucks')} serve --db {db}    (then open http://127.0.0.1:8001/)",
            f"  {command('sqlite-utils')} {db} 'select * from for_sale limit 5' --table",
        ]
        return "\n".join(lines)


#: The table and row that mark a database as the demo's own (the only kind it replaces).
META_TABLE = "keitrucks_meta"
DEMO_MARK = {"key": "created_by", "value": "demo"}


class NotADemoDatabaseError(Exception):
    """``--db`` names a file the demo did not create: replacing it needs ``--force``."""


def created_by_demo(db: Path) -> bool:
    """Whether ``db`` carries the demo's mark (a file that is not SQLite does not)."""
    try:
        with closing(sqlite3.connect(f"file:{db.resolve()}?mode=ro", uri=True)) as conn:
            found = conn.execute(
                f"SELECT 1 FROM {META_TABLE} WHERE key = ? AND value = ?",
                (DEMO_MARK["key"], DEMO_MARK["value"]),
            ).fetchone()
    except sqlite3.Error:
        return False
    return found is not None


def check_replaceable(db: Path, *, force: bool = False) -> None:
    """Raise ``NotADemoDatabaseError`` unless ``db`` is absent, the demo's own, or ``force``."""
    if force or not db.exists() or created_by_demo(db):
        return
    raise NotADemoDatabaseError(
        f"{db} was not created by the demo: not replacing it "
        "(choose another --db, or --force to replace it)"
    )


def _mark_as_demo(db: Path) -> None:
    database = open_db(db)
    try:
        database[META_TABLE].insert(DEMO_MARK, pk="key", replace=True)
    finally:
        database.close()


def _remove_db(db: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


#: The sample marketplace is around Knoxville: without a buyer state of the user's own, the
#: demo shows the road rules as a Tennessee buyer would read them.
DEMO_BUYER_STATE = "TN"


def with_demo_buyer(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` with the demo's buyer state unless the user set one."""
    if config["buyer"].get("state"):
        return config
    return {**config, "buyer": {**config["buyer"], "state": DEMO_BUYER_STATE}}


#: The truck the demo tracks by hand on its first night, as `keitrucks track add` would.
DEMO_TRACKED = {
    "url": "https://www.facebook.com/marketplace/item/demo-kei-truck/",
    "price": "$6,200",
    "text": "1996 Suzuki Carry 4x4 DA51T, 5 speed, hi/lo, 52k miles, runs and drives great. "
    "Titled and tagged, street legal in TN.",
    "location": "Maryville, TN",
}


def track_demo_truck(db: Path, as_of: str, config: dict[str, Any]) -> str:
    """Track ``DEMO_TRACKED`` by hand, seen ``as_of``; the summary's words for it."""
    database = open_db(db)
    try:
        item, _ = add_listing(database, seen_at=as_of, config=config, **DEMO_TRACKED)
    finally:
        database.close()
    claims = f", seller says: {item.road_claims}" if item.road_claims else ""
    return (
        f"{item.year} {item.model}, ${item.price_usd:,} US asking ({DEMO_TRACKED['url']}{claims})"
    )


def demo_config(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` as the demo runs it: the demo's buyer (:func:`with_demo_buyer`), and reports
    that show the sample's listings without links (its server is gone once the demo ends)."""
    config = with_demo_buyer(config)
    return {**config, "report": {**(config.get("report") or {}), "links": False}}


def _render_timeline(catalog, night: int):
    """The pages of server night ``night``: night ``night - 1`` of the timeline catalog."""
    return render_night(catalog, night - 1)


class DemoCrawlError(RuntimeError):
    """The demo's crawl process failed; worded for one line."""


def crawl_plan(catalog) -> list[dict[str, Any]]:
    """Every night the demo crawls, as ``keitrucks.demo_crawl`` reads them: server night number,
    as-of time and sources; first the weeks of :data:`HISTORY` (with the sources that list
    something that week: a source with nothing to show is not crawled), then the three nights
    of :data:`NIGHTS`, every source, each waiting for its report and alerts."""
    weeks = [
        {
            "night": week + 1,
            "as_of": normalize_as_of(date),
            "sources": [
                s for s in SOURCES if any(t.source == s and t.nights[week] for t in catalog)
            ],
        }
        for week, date in enumerate(HISTORY)
    ]
    nights = [
        {
            "night": len(HISTORY) + index,
            "as_of": normalize_as_of(date),
            "sources": list(SOURCES),
            "wait": True,
        }
        for index, date in enumerate(NIGHTS, start=1)
    ]
    return weeks + nights


def week_line(week: int, date: str, runs: list[dict[str, Any]]) -> str:
    """One line on a crawled week of history: "week 3/25 2026-06-16 7 sources, 41 listings"."""
    listings = sum(r["items"] or 0 for r in runs)
    gone = sum(r["gone_marked"] or 0 for r in runs)
    failed = [r["source"] for r in runs if not (r["healthy"] and r["complete"])]
    line = f"week {week}/{len(HISTORY)} {date} {len(runs)} sources, {listings} listings"
    line += f", {gone} gone" if gone else ""
    return line + (f"; FAIL: {', '.join(failed)}" if failed else "")


class DemoCrawl:
    """The one ``keitrucks.demo_crawl`` process of the demo: ``nights()`` yields each night's
    number and its new ``runs`` rows as the night is crawled; ``go_on()`` lets a waiting night
    continue. A context manager: leaving it stops the process."""

    def __init__(self, db: Path, plan: list[dict[str, Any]], *, base_url, config_path, log_dir):
        log_dir.mkdir(parents=True, exist_ok=True)
        plan_path = log_dir / "demo-plan.json"
        plan_path.write_text(json.dumps(plan), encoding="utf-8")
        self.db = db
        self.log_path = (log_dir / "demo-crawl.log").resolve()
        self.stderr_path = log_dir / "demo-crawl.stderr"
        self.cmd = [sys.executable, "-m", "keitrucks.demo_crawl", str(plan_path), base_url]
        self.cmd += [str(db), str(self.log_path), str(config_path)]
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> DemoCrawl:
        open_db(self.db).close()  # the schema, before the crawls write
        with self.stderr_path.open("wb") as stderr:
            self.proc = subprocess.Popen(
                self.cmd,
                env=crawl_env(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
        return self

    def nights(self):
        assert self.proc is not None
        assert self.proc.stdout is not None
        before = last_run_id(self.db)
        for line in self.proc.stdout:
            runs = read_runs_after(self.db, before)
            before = max((r["id"] for r in runs), default=before)
            yield int(line.split()[-1]), runs
        if self.proc.wait() != 0:
            tail = self.stderr_path.read_text(encoding="utf-8", errors="replace")
            why = failure_line(tail, "", self.proc.returncode)
            raise DemoCrawlError(f"the demo's crawl failed: {why} (log {self.log_path})")

    def go_on(self) -> None:
        assert self.proc is not None
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def __exit__(self, *exc) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:  # stopped early (Ctrl-C, an error): never leave it behind
            self.proc.terminate()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()
        self.proc.wait()


def night_outcomes(runs: list[dict[str, Any]], log_path: Path) -> list[SourceOutcome]:
    """Each source's outcome of one of the three nights, from the runs it recorded."""
    by_source = {r["source"]: r for r in runs}
    return [
        describe(source, CrawlResult(source, 0, log_path, ""), by_source.get(source))
        for source in SOURCES
    ]


def run_demo(
    db: Path,
    out: Path,
    *,
    config: dict[str, Any],
    echo: Callable[[str], None] = logger.info,
    force: bool = False,
) -> DemoSummary:
    """Crawl the sample's weeks of history, then its three nights, into a fresh ``db``; report
    and alert after each of the three nights.

    Replaces ``db`` only when the demo created it (``check_replaceable``), or with ``force``.
    """
    check_replaceable(db, force=force)
    config = demo_config(config)
    _remove_db(db)
    _mark_as_demo(db)
    summary = DemoSummary(db=db, out=out)
    sample_config = out / "sample-sources.toml"
    sample_config.parent.mkdir(parents=True, exist_ok=True)
    sample_config.write_text(sample_config_toml(), encoding="utf-8")
    catalog = history_catalog()
    # server night N is night N-1 of the timeline: the history's weeks, then the three nights
    pages = partial(_render_timeline, catalog)
    with SampleServer(render=pages) as server:
        echo(f"Sample marketplace on {server.base_url} (offline); database {db}")
        echo(f"{len(HISTORY)} weeks of history from {HISTORY[0]}, then {len(NIGHTS)} nights")
        crawl = DemoCrawl(
            db,
            crawl_plan(catalog),
            base_url=server.base_url,
            config_path=sample_config,
            log_dir=db.parent / "logs",
        )
        try:
            with crawl:
                for number, runs in crawl.nights():
                    if number <= len(HISTORY):
                        echo(week_line(number, HISTORY[number - 1], runs))
                        continue
                    index = number - len(HISTORY)
                    if index == 1:  # then two crawl nights mark their own listings gone, never it
                        as_of = normalize_as_of(NIGHTS[0])
                        summary.by_hand = track_demo_truck(db, as_of, config)
                    summary.nights.append(_finish(index, runs, crawl, db, out, config, echo))
                    crawl.go_on()
        except DemoCrawlError as exc:
            summary.crawl_error = str(exc)
            echo(f"crawl FAIL {exc}")
    summary.totals = count_summary(db)
    summary.set_aside = set_aside(read_listings(db))
    return summary


def _finish(index, runs, crawl, db, out, config, echo) -> NightResult:
    """One of the three nights once crawled: its sources' lines, report, health and alerts."""
    night = NIGHTS[index - 1]
    result = NightResult(as_of=normalize_as_of(night))
    result.outcomes = night_outcomes(runs, crawl.log_path)
    for outcome in result.outcomes:
        mark = "ok  " if outcome.ok else "FAIL"
        echo(
            f"night {index}/{len(NIGHTS)} {night} {outcome.source:<14} {mark} "
            f"{outcome.line.removeprefix('ok: ')}"
        )
    finish_night(result, db, out, config=config, sources=list(SOURCES), echo=echo)
    raised = len(result.alerts.raised) if result.alerts is not None else 0
    echo(f"night {index}/{len(NIGHTS)} {night} report {result.report_folder}, {raised} alert(s)")
    return result

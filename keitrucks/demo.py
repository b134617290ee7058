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
from keitrucks.core.dates import normalize_as_of
from keitrucks.crawl import crawl_env, failure_line
from keitrucks.night import NightResult, crawl_sources, finish_night
from keitrucks.sample.build import render_night, sample_config_toml
from keitrucks.sample.catalog import HISTORY, NIGHTS, SOURCES
from keitrucks.sample.history import history_catalog
from keitrucks.sample.site import SampleServer
from pipelines.listings import count_summary
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
    #: why the crawl of the weeks of history failed; None when it did not.
    history_error: str | None = None

    @property
    def ok(self) -> bool:
        return self.history_error is None and all(n.ok for n in self.nights)

    def text(self, seconds: float) -> str:
        t = self.totals
        lines = [
            "",
            f"Demo finished in {seconds:.0f}s: {len(self.nights)} nights, "
            f"{t.get('sources', 0)} sources.",
            f"  listings         {t.get('listings', 0)} ({t.get('trucks', 0)} kei trucks, "
            f"{t.get('active', 0)} still for sale)",
            f"  price changes    {t.get('price_changes', 0)}",
            f"  gone             {t.get('gone', 0)}",
            f"  relisted         {t.get('relisted', 0)}",
            f"  set aside        {set_aside_text(self.set_aside)} from deal scoring",
            f"  alerts           {t.get('alerts', 0)}",
            f"  database         {self.db}",
            f"  reports          {self.nights[-1].report_folder if self.nights else self.out}",
            f"Explore: sqlite3 {self.db} 'select * from active_trucks limit 5'"
            f"   or   keitrucks serve --db {self.db}",
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


def _render_timeline(catalog, night: int):
    """The pages of server night ``night``: night ``night - 1`` of the timeline catalog."""
    return render_night(catalog, night - 1)


class HistoryCrawlError(RuntimeError):
    """The crawl of the sample's history failed; worded for one line."""


def history_plan(catalog) -> list[dict[str, Any]]:
    """The nights of :data:`HISTORY` to crawl: server night number, as-of date, and the sources
    that list something that night (a source with nothing to show is not crawled)."""
    return [
        {
            "night": week + 1,
            "as_of": normalize_as_of(date),
            "sources": [
                s for s in SOURCES if any(t.source == s and t.nights[week] for t in catalog)
            ],
        }
        for week, date in enumerate(HISTORY)
    ]


def week_line(week: int, date: str, runs: list[dict[str, Any]]) -> str:
    """One line on a crawled week of history: "week 3/26 2026-06-09  41 listings, 6 gone"."""
    listings = sum(r["items"] or 0 for r in runs)
    gone = sum(r["gone_marked"] or 0 for r in runs)
    failed = [r["source"] for r in runs if not (r["healthy"] and r["complete"])]
    line = f"week {week}/{len(HISTORY)} {date} {len(runs)} sources, {listings} listings"
    line += f", {gone} gone" if gone else ""
    return line + (f"; FAILED: {', '.join(failed)}" if failed else "")


def crawl_history(
    db: Path,
    plan: list[dict[str, Any]],
    *,
    base_url: str,
    config_path: Path,
    log_dir: Path,
    echo: Callable[[str], None],
) -> None:
    """Crawl ``plan`` in one ``keitrucks.demo_crawl`` process, a line per week as it ends."""
    open_db(db).close()
    log_dir.mkdir(parents=True, exist_ok=True)
    plan_path = log_dir / "history-plan.json"
    plan_path.write_text(json.dumps(plan), encoding="utf-8")
    log_path = (log_dir / "history.log").resolve()
    cmd = [sys.executable, "-m", "keitrucks.demo_crawl", str(plan_path), base_url, str(db)]
    cmd += [str(log_path), str(config_path)]
    before = last_run_id(db)
    proc = subprocess.Popen(
        cmd, env=crawl_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            night = int(line.split()[-1])
            runs = read_runs_after(db, before)
            before = max((r["id"] for r in runs), default=before)
            echo(week_line(night, HISTORY[night - 1], runs))
        err = proc.stderr.read() if proc.stderr else ""
        proc.wait()
    except BaseException:  # Ctrl-C: never leave the crawl behind
        proc.terminate()
        proc.wait()
        raise
    if proc.returncode != 0:
        why = failure_line(err, "", proc.returncode)
        raise HistoryCrawlError(f"the crawl of the sample's history failed: {why} (log {log_path})")


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
    config = with_demo_buyer(config)
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
        echo(f"{len(HISTORY)} weeks of history from {HISTORY[0]}, crawled in one process ...")
        try:
            crawl_history(
                db,
                history_plan(catalog),
                base_url=server.base_url,
                config_path=sample_config,
                log_dir=db.parent / "logs",
                echo=echo,
            )
        except HistoryCrawlError as exc:
            summary.history_error = str(exc)
            echo(f"history FAIL {exc}")
        for index, night in enumerate(NIGHTS, start=1):
            server.night = len(HISTORY) + index
            as_of = normalize_as_of(night)
            result = NightResult(as_of=as_of)

            def progress(source, outcome, index=index, night=night):
                mark = "ok  " if outcome.ok else "FAIL"
                echo(
                    f"night {index}/{len(NIGHTS)} {night} {source:<14} {mark} "
                    f"{outcome.line.removeprefix('ok: ')}"
                )

            result.outcomes = crawl_sources(
                db,
                list(SOURCES),
                as_of=as_of,
                base_url=server.base_url,
                config_path=str(sample_config),
                log_dir=db.parent / "logs",
                progress=progress,
            )
            finish_night(result, db, out, config=config, sources=list(SOURCES), echo=echo)
            raised = len(result.alerts.raised) if result.alerts is not None else 0
            echo(
                f"night {index}/{len(NIGHTS)} {night} report {result.report_folder}, "
                f"{raised} alert(s)"
            )
            summary.nights.append(result)
    summary.totals = count_summary(db)
    summary.set_aside = set_aside(read_listings(db))
    return summary

"""Source health: is each source still giving us what it used to give?

The rules that judge one run live in ``pipelines.run_health`` (blocked, failed, too few items,
field coverage); the crawl records each run's verdict on its ``runs`` row when it ends. This
module is the app-level check on top: it reads those verdicts (judging only rows from before
they were recorded), adds the source's state across nights (dead after ``dead_after`` nights in
a row without a healthy run) and records one ``source_health`` row per run (the table is part
of ``pipelines.schema``). A night runs it before its alerts, so the "source unhealthy" alert can
read the recorded verdict.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from keitrucks.core import tables
from pipelines.run_health import (
    OK,
    UNHEALTHY,
    HealthRules,
    RunVerdict,
    coverage_of,
    judge_run,
    median_coverage,
    median_items,
    recorded_verdict,
)
from pipelines.schema import ensure_schema
from pipelines.storage import source_lock_held

logger = logging.getLogger(__name__)

#: Sources whose listings the user enters by hand: their runs are no crawls to judge.
HAND_SOURCES = tables.sources_where("by_hand")

#: A source's state after its latest run.
STATE_OK, STATE_FAILING, STATE_DEAD, STATE_NEVER = "ok", "failing", "dead", "never run"

#: What the operator can do about a run that was not ok, first match wins: (status, words in
#: its reasons or "" for any, what to do). ``{source}`` is the source's name.
ADVICE = (
    *(
        (
            "blocked",
            reason,
            "a page came back without its usual markup (empty, an error page, or a new "
            "layout), so the source was stopped: open the page in a browser; if it shows "
            "listings, save it and ask the parser (`keitrucks parse {source} page.html`)",
        )
        for reason in ("missing_anchor", "instead_of", "not_json")
    ),
    (
        "blocked",
        "",
        "the site refused the crawl (a block page, 403 or 429), not a broken spider: crawl "
        "from a home or office connection, or turn {source} off in [sources] for a while",
    ),
    (
        "failed",
        "shutdown",
        "the crawl was stopped before it ended (Ctrl-C, SIGTERM or its timeout): run it again "
        "with `keitrucks crawl --source {source}`; if it keeps timing out, raise [schedule] "
        "crawl_timeout_minutes",
    ),
    (
        "failed",
        "timed out",
        "the crawl ran over its time and was stopped: raise [schedule] crawl_timeout_minutes, "
        "or lower the source's request budget",
    ),
    (
        "failed",
        "ingest stopped",
        "storing the Scrapyd job's feed was stopped: store it again with `keitrucks ingest "
        "FEED` (what was stored stays, nothing is stored twice)",
    ),
    (
        "failed",
        "no run record",
        "the Scrapyd job stopped before it finished (cancelled, killed, or its server went "
        "down): what it scraped is stored and nothing was marked gone; the job's log on its "
        "Scrapyd server says why",
    ),
    (
        "failed",
        "killed",
        "the crawl's process died before it ended: run it again with "
        "`keitrucks crawl --source {source}`",
    ),
    (
        "failed",
        "layout change",
        "a page came back without listings: save one and ask the parser "
        "(`keitrucks parse {source} page.html`); README, 'A page the parser does not read?'",
    ),
    (
        "failed",
        "parser exceptions",
        "the parser failed on a page: the crawl's log (logs/ beside the database) names it",
    ),
    (
        "failed",
        "",
        "part of the crawl failed (the site or the network): the crawl's log (logs/ beside "
        "the database) says which requests",
    ),
    (
        "unhealthy",
        "field coverage",
        "the parser reads fewer fields than it did: save a page and ask the parser "
        "(`keitrucks parse {source} page.html`)",
    ),
    (
        "unhealthy",
        "",
        "fewer listings than usual: compare with the site; a changed search or layout shows "
        "in `keitrucks parse {source} page.html`",
    ),
)


def advice_for(source: str, status: str, reasons: Sequence[str]) -> str:
    """What to do about a run of ``source`` that was ``status`` for ``reasons``; "" when ok."""
    text = "; ".join(reasons)
    for when, words, advice in ADVICE:
        if status == when and words in text:
            return advice.format(source=source)
    return ""


@dataclass(frozen=True)
class RunHealth:
    """The verdict on one run."""

    run_id: int
    source: str
    night: str
    status: str
    reasons: tuple[str, ...] = ()
    items: int = 0
    median_items: float | None = None
    coverage: dict[str, float] = field(default_factory=dict)
    coverage_median: dict[str, float] = field(default_factory=dict)
    #: nights in a row, up to this run's, without a healthy run; and the resulting state.
    failed_nights: int = 0
    state: str = STATE_OK
    #: the first of those nights (None when the source is ok).
    since: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == OK

    @property
    def line(self) -> str:
        """One line a user can act on."""
        since = f" since {self.since}" if self.since else ""
        words = {
            STATE_DEAD: f"DEAD{since} ({self.failed_nights} nights without a healthy run)",
            STATE_FAILING: f"{self.status}{since} ({self.failed_nights} night(s) in a row)",
        }
        head = words.get(self.state, self.status)
        return head + (": " + "; ".join(self.reasons) if self.reasons else "")

    @property
    def advice(self) -> str:
        """What to do about it, in one line; "" when the run was ok."""
        return advice_for(self.source, self.status, self.reasons)


# -- judging a source's runs --------------------------------------------------------------------


def night_of(run: Mapping[str, Any]) -> str:
    return str(run.get("as_of") or run.get("started_at") or "")[:10]


def assess_run(
    run: Mapping[str, Any], recent: Sequence[Mapping[str, Any]], rules: HealthRules
) -> RunHealth:
    """One finished run's verdict: the one its crawl recorded, else (a row from before verdicts
    were recorded) ``judge_run`` against ``recent``, the source's earlier healthy runs over the
    same search, newest first."""
    verdict = recorded_verdict(run)
    if verdict is None:
        verdict = judge_run(run, recent, rules)
        if verdict.healthy and run.get("healthy") == 0:
            # The crawl's own verdict found a problem the rules do not name.
            reason = run.get("health_reason") or "judged unhealthy by the crawl"
            verdict = RunVerdict(True, False, reason, UNHEALTHY, (reason,))
    return RunHealth(
        run_id=int(run["id"]),
        source=str(run["source"]),
        night=night_of(run),
        status=verdict.status,
        reasons=verdict.reasons,
        items=int(run.get("items") or 0),
        median_items=median_items(recent),
        coverage=coverage_of(run),
        coverage_median=median_coverage(recent, rules.coverage_fields),
    )


#: Why a run still recorded as running is judged failed: no crawl of its source is writing.
GONE_REASON = "killed: its crawl is gone"
#: The stat naming the Scrapyd job whose feed a run stores (``keitrucks.remote_ingest``), on
#: its runs row from the start: an ingest killed halfway is told from a crawl killed halfway.
INGEST_JOB_STAT = "keitrucks/scrapyd_job"
#: Why such a run is judged failed; its advice is to store the feed again, not to crawl.
INGEST_GONE_REASON = "its ingest stopped (killed)"


def _ingest_job(run: Mapping[str, Any]) -> str | None:
    """The Scrapyd job whose feed ``run`` stores; None for a crawl of its own."""
    try:
        stats = json.loads(run.get("stats") or "{}")
    except (TypeError, ValueError):
        return None
    return stats.get(INGEST_JOB_STAT) if isinstance(stats, dict) else None


def gone_runs_as_abandoned(
    runs: Sequence[Mapping[str, Any]], crawling: Callable[[str], bool]
) -> list[Mapping[str, Any]]:
    """``runs`` with each run still ``running`` whose source nothing is crawling now
    (``crawling(source)`` false: a night killed with its crawls, the power cut) read as
    abandoned, so health shows the night that died; ``start_run`` records it so only at the
    source's next run. An ingest's run reads as its ingest stopped (store the feed again)."""
    out = []
    for run in runs:
        if run.get("status") == "running" and not crawling(str(run["source"])):
            run = {
                **run,
                "status": "abandoned",
                "finish_reason": INGEST_GONE_REASON if _ingest_job(run) else GONE_REASON,
                "complete": 0,
                "healthy": 0,
                "health_status": None,
            }
        out.append(run)
    return out


def _crawl_of(run: Mapping[str, Any]) -> tuple:
    return (run.get("search_key"), run.get("as_of"), run.get("started_at"))


def without_replayed_again(runs: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """``runs`` of one source, oldest first, less the abandoned ones whose crawl a later run
    stored again: a Scrapyd job's feed ingested anew after an ingest killed halfway replays the
    job's own start time, so both rows are one crawl and only the second says how it went."""
    ordered = sorted(runs, key=lambda r: r["id"])
    later: set[tuple] = set()
    kept = []
    for run in reversed(ordered):
        if not (run.get("status") == "abandoned" and _crawl_of(run) in later):
            kept.append(run)
        later.add(_crawl_of(run))
    return kept[::-1]


def assess_history(runs: Sequence[Mapping[str, Any]], rules: HealthRules) -> list[RunHealth]:
    """Every finished run of one source, oldest first, each judged against the healthy runs
    before it; with the count of failed nights and the source's state after each run. A run
    stored again later (``without_replayed_again``) is left out."""
    healthy: dict[Any, list[Mapping[str, Any]]] = {}
    night_ok: dict[str, bool] = {}
    out = []
    for run in without_replayed_again(runs):
        if run.get("status") == "running":
            continue
        same = healthy.setdefault(run.get("search_key"), [])
        verdict = assess_run(run, same[: rules.window], rules)
        if verdict.ok:
            same.insert(0, run)
        # A night counts as failed when none of its runs was healthy.
        night_ok[verdict.night] = night_ok.get(verdict.night, False) or verdict.ok
        failed, since = 0, None
        for night in sorted(night_ok, reverse=True):
            if night_ok[night]:
                break
            failed, since = failed + 1, night
        state = (
            STATE_OK
            if failed == 0
            else (STATE_DEAD if failed >= rules.dead_after else STATE_FAILING)
        )
        out.append(_replace(verdict, failed_nights=failed, state=state, since=since))
    return out


def _replace(verdict: RunHealth, **changes) -> RunHealth:
    return RunHealth(**{**asdict(verdict), **changes})


def latest_by_source(
    runs: Sequence[Mapping[str, Any]], rules: HealthRules
) -> dict[str, list[RunHealth]]:
    """source -> its judged runs, oldest first."""
    by_source: dict[str, list[Mapping[str, Any]]] = {}
    for run in runs:
        if run["source"] in HAND_SOURCES:  # `keitrucks track`: no crawl to judge
            continue
        by_source.setdefault(str(run["source"]), []).append(run)
    return {source: assess_history(rs, rules) for source, rs in sorted(by_source.items())}


# -- storage of verdicts ------------------------------------------------------------------------


def read_runs(db: Database) -> list[dict[str, Any]]:
    if not db["runs"].exists():
        return []
    return list(db.query("SELECT * FROM runs ORDER BY id"))


def save_health(db: Database, verdicts: Iterable[RunHealth], *, checked_at: str) -> int:
    """Upsert one row per judged run (the verdicts are recomputed from ``runs`` each check)."""
    rows = [
        [
            v.run_id,
            v.source,
            v.night,
            checked_at,
            v.status,
            v.state,
            v.failed_nights,
            json.dumps(list(v.reasons), ensure_ascii=False),
            v.items,
            v.median_items,
            json.dumps(v.coverage, sort_keys=True),
            json.dumps(v.coverage_median, sort_keys=True),
        ]
        for v in verdicts
    ]
    with db.conn:
        db.conn.executemany(
            "INSERT INTO source_health (run_id, source, night, checked_at, status, state, "
            "failed_nights, reasons, items, median_items, coverage, coverage_median) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(run_id) DO UPDATE SET "
            "source = excluded.source, night = excluded.night, checked_at = excluded.checked_at, "
            "status = excluded.status, state = excluded.state, "
            "failed_nights = excluded.failed_nights, reasons = excluded.reasons, "
            "items = excluded.items, median_items = excluded.median_items, "
            "coverage = excluded.coverage, coverage_median = excluded.coverage_median",
            rows,
        )
    return len(rows)


@dataclass
class SourceHealth:
    """A source's latest verdict (None when it never ran) and its recent runs, oldest first."""

    source: str
    latest: RunHealth | None
    recent: list[RunHealth]

    @property
    def state(self) -> str:
        return self.latest.state if self.latest else STATE_NEVER

    @property
    def ok(self) -> bool:
        return self.latest is not None and self.latest.ok


def summarize(
    judged: Mapping[str, list[RunHealth]], sources: Iterable[str], keep: int = 7
) -> list[SourceHealth]:
    """One SourceHealth per source named or judged, in that order (named first)."""
    names = list(dict.fromkeys([*sources, *judged]))
    return [
        SourceHealth(s, (judged.get(s) or [None])[-1], list(judged.get(s) or [])[-keep:])
        for s in names
    ]


def check_health(
    db_path: str | os.PathLike,
    sources: Sequence[str],
    *,
    rules: HealthRules,
    checked_at: str,
    record: bool = True,
) -> list[SourceHealth]:
    """Judge every source's runs, record the verdicts (unless ``record`` is false), and return
    each source's state; ``sources`` (the enabled ones) are listed even if they never ran."""
    if not Path(db_path).is_file():
        return summarize({}, sources)
    db = Database(db_path)
    try:
        db.execute("PRAGMA busy_timeout = 30000")
        runs = gone_runs_as_abandoned(read_runs(db), partial(source_lock_held, db_path))
        judged = latest_by_source(runs, rules)
        if record:
            ensure_schema(db)
            save_health(db, [v for vs in judged.values() for v in vs], checked_at=checked_at)
    finally:
        db.close()
    out = summarize(judged, sources)
    for health in out:
        latest = health.latest
        if latest is not None and latest.ok is False:
            if latest.state == STATE_DEAD:
                logger.warning("%s: %s", health.source, latest.line)
                logger.error("%s looks dead: %s", health.source, latest.advice)
            else:  # the night's log (cron's mail) says what to do as well
                what = f"; what to do: {latest.advice}" if latest.advice else ""
                logger.warning("%s: %s%s", health.source, latest.line, what)
    return out

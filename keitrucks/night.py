"""One night: crawl every enabled source, then the report, then the health check, then the alerts.

Shared by ``keitrucks nightly``, ``keitrucks demo`` and ``scheduler.py``. Each source is crawled
in its own subprocess (or as a Scrapyd job) with a timeout; one source failing never stops the
others, and a later step failing never stops the steps after it. Each source's outcome is one
line a user can act on. ``night_lock`` keeps two nights on one database from overlapping, also
across processes (the scheduler and a manual ``keitrucks nightly``).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keitrucks.common_cli import EXIT_FAILED, CliError
from keitrucks.core.dates import normalize_as_of, now_iso
from keitrucks.crawl import (
    DEFAULT_KILL_GRACE,
    DEFAULT_TIMEOUT,
    CrawlResult,
    clear_stop,
    request_stop,
    run_crawl,
    stop_requested,
)
from pipelines.runs import abandon_run, last_run_id, read_runs_after
from pipelines.schema import open_db
from pipelines.storage import SourceBusyError
from scrapers.blocking import UNREACHABLE_ERRORS

logger = logging.getLogger(__name__)

#: Sources crawled at once: each is a different site, so each keeps its own politeness.
DEFAULT_PARALLEL = 2

_NETWORK_ERRORS = {
    **UNREACHABLE_ERRORS,
    "TCPTimedOutError": "connection timed out",
    "TimeoutError": "timed out",
    "DownloadTimeoutError": "timed out",
    "DownloadFailedError": "download failed",
    "ResponseDataLossError": "response cut short",
    "ConnectionLost": "connection lost",
    "ResponseNeverReceived": "no response received",
}
#: Block reasons (``scrapers.blocking``) that are no refusal by the site: a page came back
#: without the markup every page of its kind has, which a new layout does too.
MARKUP_STOPS = ("missing_anchor", "html_instead_of_json", "json_instead_of_html", "not_json")
#: Crawl logs older than this many days are deleted at the start of a night.
KEEP_LOG_DAYS = 30


def crawl_timeout(config: dict[str, Any]) -> float:
    """Seconds one source's crawl may take: ``[schedule] crawl_timeout_minutes``."""
    minutes = (config.get("schedule") or {}).get("crawl_timeout_minutes")
    if isinstance(minutes, int | float) and not isinstance(minutes, bool) and minutes > 0:
        return float(minutes) * 60
    return float(DEFAULT_TIMEOUT)


# -- the night lock -----------------------------------------------------------------------------


class NightAlreadyRunningError(CliError, RuntimeError):
    """Another night holds the lock: one line for the user, exit status 1."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_FAILED)


#: The night locks this process holds now (``night_lock``), so a crawl inside a night takes
#: none of its own while a crawl on its own (``keitrucks crawl``) does.
_HELD: set[Path] = set()


def lock_path(db: str | os.PathLike) -> Path:
    """The lock file of the database ``db``: ``data/keitrucks.db`` -> ``data/keitrucks.lock``."""
    return Path(db).resolve().with_suffix(".lock")


@contextmanager
def night_lock(path: Path, holder: str = "night") -> Iterator[None]:
    """Hold an exclusive lock on ``path`` for the night, or raise NightAlreadyRunningError.

    The lock is an ``flock`` on the file, so it is released when the holder exits, even if it
    is killed; the file keeps who holds it (pid, what, since when) for the message.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            who = handle.read().strip() or "unknown holder"
            raise NightAlreadyRunningError(
                f"another night is running ({who}; lock {path}); try again when it ends"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, {holder}, since {now_iso()}")
        handle.flush()
        _HELD.add(path)
        try:
            yield
        finally:
            _HELD.discard(path)
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def crawl_lock(db: str | os.PathLike, holder: str = "keitrucks crawl") -> Iterator[None]:
    """The night lock of ``db`` for a crawl, unless this process holds it already (a night
    crawling): two crawls of one source at once each take the other's listings for gone."""
    path = lock_path(db)
    if path in _HELD:
        yield
        return
    with night_lock(path, holder=holder):
        yield


@contextmanager
def sigterm_stops_the_night() -> Iterator[None]:
    """While inside, SIGTERM stops the night cleanly: running crawls get SIGTERM too, no new
    source starts, and SystemExit(143) is raised in the main thread. Without it the crawl
    subprocess would be orphaned and go on writing after the night lock is released."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        logger.warning("SIGTERM: stopping the night (running crawls shut down cleanly)")
        request_stop()
        raise SystemExit(128 + signum)

    clear_stop()
    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# -- one source's outcome -----------------------------------------------------------------------


@dataclass
class SourceOutcome:
    source: str
    ok: bool
    line: str
    run: dict[str, Any] | None = None
    returncode: int = 0


@dataclass
class NightResult:
    as_of: str | None
    outcomes: list[SourceOutcome] = field(default_factory=list)
    report_folder: Path | None = None
    alerts: Any = None
    #: keitrucks.health.SourceHealth per source, from the night's last step.
    health: list[Any] = field(default_factory=list)
    #: step name -> the error that stopped it (the later steps still ran).
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outcomes) and not self.errors


def _stats(run: dict[str, Any]) -> dict[str, Any]:
    try:
        return json.loads(run.get("stats") or "{}")
    except ValueError:
        return {}


def _failure_cause(stats: dict[str, Any]) -> str | None:
    if stats.get("keitrucks/unreachable"):
        host = stats.get("keitrucks/unreachable_host")
        return (
            f"{stats['keitrucks/unreachable']} ({host})" if host else stats["keitrucks/unreachable"]
        )
    for key in stats:
        if key.startswith("downloader/exception_type_count/"):
            name = key.rsplit(".", 1)[-1]
            return _NETWORK_ERRORS.get(name, name)
    return None


def describe(source: str, crawl: CrawlResult, run: dict[str, Any] | None) -> SourceOutcome:
    """One line on how a source's crawl went, and whether it counts as a success."""
    over = f"timed out after {crawl.timeout:g}s" if crawl.timed_out else None
    if run is None:
        # "another crawl of S is writing ...": the sentence, not the exception's dotted name
        last = crawl.reason.split(f"{SourceBusyError.__name__}: ", 1)[-1]
        why = f"{over}, before it recorded a run" if over else last
        return SourceOutcome(source, False, f"did not start: {why}", None, crawl.returncode)
    stats = _stats(run)
    if run["status"] in ("running", "abandoned"):
        why = over or ("killed" if crawl.returncode < 0 else f"exit code {crawl.returncode}")
        return SourceOutcome(
            source, False, f"did not finish ({why}); nothing marked gone", run, crawl.returncode
        )
    if run["blocked_reason"]:
        reason, at = run["blocked_reason"], stats.get("keitrucks/blocked_url", "?")
        line = (
            f"stopped at a page without its usual markup ({reason}: an empty or error page, or "
            f"a new layout?) at {at}; nothing marked gone"
            if reason in MARKUP_STOPS
            else f"blocked ({reason}) at {at}; stopped the source, nothing marked gone"
        )
        return SourceOutcome(source, False, line, run, crawl.returncode)
    if not run["healthy"]:
        cause = _failure_cause(stats) if run["items"] == 0 else None
        why = over or cause or run["health_reason"] or run["finish_reason"]
        return SourceOutcome(
            source,
            False,
            f"failed: {why}; {run['items']} listings kept, nothing marked gone",
            run,
            crawl.returncode,
        )
    events = {
        k.rsplit("/", 1)[-1]: v for k, v in stats.items() if k.startswith("keitrucks/history/")
    }
    parts = [f"{run['items']} listings"]
    parts += [
        f"{events[k]} {k.replace('_', ' ')}"
        for k in ("new", "price_change", "relisted", "status_change")
        if events.get(k)
    ]
    if run["gone_marked"]:
        parts.append(f"{run['gone_marked']} gone")
    return SourceOutcome(source, True, "ok: " + ", ".join(parts), run, crawl.returncode)


def close_dead_run(db: Path, run: dict[str, Any], crawl: CrawlResult) -> dict[str, Any]:
    """Record a run whose process is gone but which never finished as abandoned (failed).

    Returns the run as now recorded.
    """
    if run.get("status") != "running":
        return run
    reason = (
        f"killed: timed out after {crawl.timeout:g}s"
        if crawl.timed_out
        else (
            f"killed by signal {-crawl.returncode}"
            if crawl.returncode < 0
            else f"exited with code {crawl.returncode} without finishing"
        )
    )
    return abandon_run(db, run["id"], reason)


def _outcome(db: Path, source: str, crawl: CrawlResult, before: int) -> SourceOutcome:
    runs = [r for r in read_runs_after(db, before) if r["source"] == source]
    run = close_dead_run(db, runs[-1], crawl) if runs else None
    outcome = describe(source, crawl, run)
    if not outcome.ok:
        logger.warning("%s: %s", source, outcome.line)
        if crawl.stderr_tail.strip() and run is None:
            logger.warning("%s: stderr tail:\n%s", source, crawl.stderr_tail[-2000:])
    return outcome


# -- the crawl step -----------------------------------------------------------------------------


def crawl_sources(
    db: Path,
    sources: list[str],
    *,
    as_of: str | None = None,
    base_url: str | None = None,
    config_path: str | None = None,
    log_dir: Path | None = None,
    progress: Callable[[str, SourceOutcome], None] | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    kill_grace: float = DEFAULT_KILL_GRACE,
    settings: dict[str, str] | None = None,
    scrapyd: Any = None,
    parallel: int = DEFAULT_PARALLEL,
    on_counts: Callable[[str, dict[str, Any] | None], None] | None = None,
) -> list[SourceOutcome]:
    """Crawl each source (a local subprocess each, ``parallel`` at a time, or a job each on
    ``scrapyd``, a ``keitrucks.scrapyd.ScrapydClient``) and describe how each went, in the
    order of ``sources``.

    ``progress(source, outcome)`` is called as each source ends. ``on_counts(source, counts)``
    follows a local crawl while it runs: ``{}`` when it starts, its counts (pages, items ...,
    ``scrapers.progress``) as they change, ``None`` when it ended (just before ``progress``).
    """
    with crawl_lock(db):
        return _crawl_sources(
            db,
            sources,
            as_of=as_of,
            base_url=base_url,
            config_path=config_path,
            log_dir=log_dir,
            progress=progress,
            timeout=timeout,
            kill_grace=kill_grace,
            settings=settings,
            scrapyd=scrapyd,
            parallel=parallel,
            on_counts=on_counts,
        )


def _crawl_sources(
    db,
    sources,
    *,
    as_of,
    base_url,
    config_path,
    log_dir,
    progress,
    timeout,
    kill_grace,
    settings,
    scrapyd,
    parallel,
    on_counts,
) -> list[SourceOutcome]:
    open_db(db).close()  # create the schema once, before crawls write concurrently with readers
    if scrapyd is not None:
        return _crawl_on_scrapyd(
            scrapyd,
            db,
            sources,
            as_of=as_of,
            base_url=base_url,
            config_path=config_path,
            progress=progress,
            timeout=timeout,
            kill_grace=kill_grace,
            settings=settings,
        )
    lock = threading.Lock()

    def crawl_one(source: str) -> SourceOutcome:
        if stop_requested():
            outcome = SourceOutcome(source, False, "not crawled: the night was stopped", None, -1)
        else:
            before = last_run_id(db)
            stamp = (as_of or "live").replace(":", "")[:10]
            log_path = log_dir / f"{stamp}-{source}.log" if log_dir else None
            counts = _counts_of(source, on_counts, lock)
            if counts:
                counts({})
            try:
                crawl = run_crawl(
                    source,
                    db=db,
                    base_url=base_url,
                    as_of=as_of,
                    config=config_path,
                    log_path=log_path,
                    timeout=timeout,
                    kill_grace=kill_grace,
                    settings=settings,
                    on_progress=counts,
                )
            except OSError as exc:  # could not even start the process
                crawl = CrawlResult(source, -1, log_path, f"{type(exc).__name__}: {exc}")
            finally:
                if counts:
                    counts(None)
            outcome = _outcome(db, source, crawl, before)
        if progress:
            with lock:
                progress(source, outcome)
        return outcome

    # Sources are different sites, so crawling two at once keeps each site's own politeness;
    # SQLite serializes their short write transactions (WAL, busy timeout).
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        return list(pool.map(crawl_one, sources))


def _counts_of(source: str, on_counts, lock: threading.Lock):
    """``on_counts`` for one source, called under ``lock`` (crawls run in threads)."""
    if on_counts is None:
        return None

    def counts(value: dict[str, Any] | None) -> None:
        with lock:
            on_counts(source, value)

    return counts


def _crawl_on_scrapyd(
    servers,
    db: Path,
    sources: list[str],
    *,
    as_of,
    base_url,
    config_path,
    progress,
    timeout,
    kill_grace,
    settings,
) -> list[SourceOutcome]:
    """Crawl on Scrapyd servers (a client, or (client, sources or None) pairs), storing each
    job's feed here through the pipelines as it ends (``keitrucks.remote_ingest``)."""
    from keitrucks.core.config import load_config
    from keitrucks.scrapyd import crawl_on_scrapyd, spread_sources

    pairs = list(servers) if isinstance(servers, list | tuple) else [(servers, None)]
    done: dict[str, SourceOutcome] = {}

    def on_done(job) -> None:
        done[job.source] = _store_job(
            db, job, as_of=as_of, config_path=config_path, settings=settings
        )
        if progress:
            progress(job.source, done[job.source])

    crawl_on_scrapyd(
        spread_sources(pairs, sources),
        db=Path(db).resolve(),
        as_of=as_of,
        base_url=base_url,
        config=load_config(config_path),
        settings=settings,
        timeout=timeout,
        kill_grace=kill_grace,
        on_done=on_done,
    )
    return [done[s] for s in sources]


def _store_job(db: Path, job, *, as_of, config_path, settings) -> SourceOutcome:
    """Ingest one ended Scrapyd job's feed and describe the run it made; a job without a feed
    (its server down, never scheduled) is recorded as a failed run, marking nothing gone."""
    from keitrucks.remote_ingest import ingest_feed, read_feed, record_lost_job

    crawl, server = job.result, getattr(job.client, "url", None)
    before = last_run_id(db)
    why = None
    if job.feed is not None:
        try:
            ingest_feed(
                db,
                read_feed(job.feed.splitlines()),
                job_id=job.jobid,
                source=job.source,
                as_of=as_of,
                server=server,
                config_path=config_path,
                settings=settings,
            )
            return _outcome(db, job.source, crawl, before)
        except Exception as exc:  # a feed that cannot be stored fails its source, not the night
            logger.exception("%s: could not ingest job %s", job.source, job.jobid)
            why = f"could not store its feed: {exc}"
    if why is None:  # not scheduled, lost or vanished: its first line says so; else the feed
        lost = job.jobid is None or crawl.returncode == -1
        why = (crawl.stderr_tail.splitlines() or [""])[0] if lost else job.feed_error
        why = why or job.feed_error or "no feed"
    run = record_lost_job(db, source=job.source, as_of=as_of, reason=why, server=server)
    line = f"failed on Scrapyd ({why}); nothing marked gone"
    logger.warning("%s: %s", job.source, line)
    return SourceOutcome(job.source, False, line, run, crawl.returncode)


def prune_logs(log_dir: Path, keep_days: int = KEEP_LOG_DAYS, now: float | None = None) -> int:
    """Delete crawl logs (``YYYY-MM-DD-<source>.log``) older than ``keep_days``; how many."""
    if not log_dir.is_dir():
        return 0
    cutoff = (now if now is not None else time.time()) - keep_days * 86400
    removed = 0
    for path in log_dir.glob("[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]-*.log"):
        if path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


# -- report, health, alerts ---------------------------------------------------------------------


def _step(result: NightResult, name: str, fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except Exception as exc:  # one broken step must not stop the steps after it
        logger.exception("night step %s failed", name)
        result.errors[name] = f"{type(exc).__name__}: {exc}"
        return None


def store_state_rules(db: Path, config: dict[str, Any]) -> None:
    """The state road rules in force for this user (shipped rows, their overrides) into the
    database, so Datasette and sqlite3 show what the report and the alerts use."""
    from keitrucks.core import states
    from pipelines.schema import open_db, save_state_rules

    database = open_db(db)
    try:
        save_state_rules(database, states.rules_with(config["buyer"]["rule_overrides"]).values())
    finally:
        database.close()


def store_deal_scores(db: Path, report: Any) -> bool:
    """The report's deal scores into the database (``deal_scores``), so Datasette's underpriced
    question shows the report's numbers. ``report`` is ``analysis.report.write_report``'s
    result. False when a newer night's scores are already stored."""
    from analysis.deals import score_rows
    from pipelines.deal_store import save_deal_scores
    from pipelines.schema import open_db

    database = open_db(db)
    try:
        return save_deal_scores(database, report.folder.name, score_rows(report.deals))
    finally:
        database.close()


def finish_night(
    result: NightResult,
    db: Path,
    out_dir: Path,
    *,
    config: dict[str, Any],
    sources: list[str],
    dry_run_alerts: bool = False,
    echo: Callable[[str], None] | None = None,
) -> NightResult:
    """After the crawl: the report, then the health check, then the alerts, each on its own.

    Health is recorded (``source_health``) before the alerts, which read its verdicts."""
    from analysis.alerts import run_alerts
    from analysis.report import write_report
    from keitrucks.health import HealthRules, check_health

    as_of = result.as_of or now_iso()
    _step(result, "state rules", lambda: store_state_rules(db, config))
    report = _step(
        result, "report", lambda: write_report(db, out_dir, as_of=as_of[:10], config=config)
    )
    result.report_folder = report.folder if report is not None else None
    if report is not None:
        _step(result, "deal scores", lambda: store_deal_scores(db, report))
    health = _step(
        result,
        "health",
        lambda: check_health(
            db,
            sources,
            rules=HealthRules.from_config(config),
            checked_at=now_iso(),
        ),
    )
    result.health = health or []
    for item in result.health:
        if echo:
            echo(f"health {item.source:<14} {item.latest.line if item.latest else item.state}")
    result.alerts = _step(
        result,
        "alerts",
        lambda: run_alerts(
            db,
            as_of=as_of[:10],
            config=config,
            dry_run=dry_run_alerts,
            digest_dir=result.report_folder,
            echo=echo,
        ),
    )
    for step, error in result.errors.items():
        if echo:
            echo(f"{step} FAILED: {error}")
    return result


def run_night(
    db: Path,
    out_dir: Path,
    *,
    config: dict[str, Any],
    sources: list[str],
    config_path: str | None = None,
    as_of: str | None = None,
    base_url: str | None = None,
    dry_run_alerts: bool = False,
    progress: Callable[[str, SourceOutcome], None] | None = None,
    echo: Callable[[str], None] | None = None,
    timeout: float | None = None,
    kill_grace: float = DEFAULT_KILL_GRACE,
    scrapyd: Any = None,
    on_counts: Callable[[str, dict[str, Any] | None], None] | None = None,
) -> NightResult:
    """Crawl every source, then report, alert and check health on what the database now holds.

    ``timeout`` (seconds per source) defaults to ``[schedule] crawl_timeout_minutes``.
    ``scrapyd`` (a ``keitrucks.scrapyd.ScrapydClient``, or (client, sources) pairs) runs the
    crawls as Scrapyd jobs; by default, on the ``[[scrapyd.servers]]`` of the configuration
    when it lists any.
    ``on_counts`` follows each local crawl as it runs (``crawl_sources``).
    """
    from keitrucks.health import HealthRules
    from keitrucks.scrapyd import servers_from_config

    if scrapyd is None:
        scrapyd = servers_from_config(config) or None

    stamp = normalize_as_of(as_of) if as_of else now_iso()
    result = NightResult(as_of=stamp)
    log_dir = db.parent / "logs"
    prune_logs(log_dir)
    rules = HealthRules.from_config(config)
    result.outcomes = crawl_sources(
        db,
        sources,
        as_of=stamp,
        base_url=base_url,
        config_path=config_path,
        log_dir=log_dir,
        progress=progress,
        timeout=timeout or crawl_timeout(config),
        kill_grace=kill_grace,
        scrapyd=scrapyd,
        settings={"KEITRUCKS_MIN_ITEMS_RATIO": str(rules.min_items_ratio)},
        on_counts=on_counts,
    )
    return finish_night(
        result,
        db,
        out_dir,
        config=config,
        sources=sources,
        dry_run_alerts=dry_run_alerts,
        echo=echo,
    )
